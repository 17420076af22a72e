"""Time-varying covariates in the Pareto/NBD (Bachmann, Meierer & Näf 2021; CLVTools ``pnbd_dyncov``).

Model. While alive, customer *i* buys at rate ``lambda_i * exp(g_trans' x_i(t))``
and drops out at rate ``mu_i * exp(g_life' z_i(t))``, with ``lambda_i ~
Gamma(r, alpha)`` and ``mu_i ~ Gamma(s, beta)``; ``x_i(t)``, ``z_i(t)`` are
piecewise constant (a weekly panel, or exact change points such as a loyalty
join date). With the "effective times" ``B(t) = int_0^t exp(g_trans' x(u)) du``
and ``D(t) = int_0^t exp(g_life' z(u)) du`` (time 0 = the first purchase), the
likelihood of ``x`` repeat purchases at ``t_1..t_x`` in ``(0, T]`` is

.. math:: L = e^{g_{trans}' \\sum_j x(t_j)} \\frac{\\Gamma(r+x)\\alpha^r\\beta^s}{\\Gamma(r)}
          \\Big[(\\alpha+B(T))^{-(r+x)}(\\beta+D(T))^{-s}
          + s\\int_{t_x}^{T}(\\alpha+B(\\tau))^{-(r+x)} e^{g_{life}'z(\\tau)}(\\beta+D(\\tau))^{-(s+1)}d\\tau\\Big].

On each stretch where the covariates do not change, ``alpha + B`` and
``beta + D`` are linear in ``tau`` and the integral is the Pareto/NBD one with
shifted ``alpha``/``beta`` (a ``2F1`` expression, Fader & Hardie 2005; computed
with :func:`cxlab.ltv._special.pnbd_integral`, accurate to ~1e-13), so with
covariates constant in time the likelihood *is* the time-invariant model's
(same terms, tested to 1e-8). CLVTools sums
the same integral week by week ("walks", Bachmann et al. 2021, eq. 11-14);
here consecutive periods with equal covariates are merged first, which makes a
membership covariate cost two stretches per customer instead of 104 weeks.

Conventions (CLVTools'): a covariate row applies from its start date (the
start of that day, in the model's time unit from the customer's first
purchase) until the customer's next row; a purchase on a boundary day sees the
new value. ``T`` and the purchase days are those of the summary
(:func:`cxlab.data.customer_summary`: same-day purchases are one occasion).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from cxlab.data.aggregate import purchase_days
from cxlab.ltv._special import pnbd_integral
from cxlab.ltv.covariates import CovariateDesign
from cxlab.units import unit_days

__all__ = ["TimeVaryingCovariates", "membership_covariates"]


class TimeVaryingCovariates:
    """A per-customer table of covariates that change over time, with the purchase days it needs.

    Parameters
    ----------
    panel : DataFrame
        One row per customer and period (or per change): ``customer`` column,
        ``start`` column (date from which the row's values hold, until the
        customer's next row) and numeric covariate columns. A weekly panel
        such as CLVTools' ``apparelDynCov`` (``Id, Cov.Date, ...``) or the
        change points :func:`membership_covariates` builds.
    transactions : DataFrame or any source of :mod:`cxlab.data.aggregate`
        The transactions (``customer_id, timestamp, amount``; a frame, a
        Parquet folder or an engine table) — the covariates at the repeat-purchase days enter
        the likelihood.
    unit : {"D", "W", "M", "Y"}
        Time unit of the summary the model is fitted on.
    customer, start : str
        Column names in ``panel``.
    alive_at : Series, optional
        Per customer (index) a date on which the customer is known to have been
        active without a purchase — e.g. the loyalty join date, since only
        living customers join. Death is then after ``max(t_x, that date)``
        (dates after the end of the fitted window are ignored). Without it a
        member who stopped buying before joining would be allowed to have
        died before joining, which biases the lifetime effect.
    days : DataFrame, optional
        Ready purchase days (:func:`cxlab.data.purchase_days` output); default:
        read from ``transactions``.
    """

    def __init__(self, panel: pd.DataFrame, *, transactions: pd.DataFrame, unit: str = "W",
                 customer: str = "customer_id", start: str = "start", alive_at: pd.Series | None = None,
                 days: pd.DataFrame | None = None):
        if not isinstance(panel, pd.DataFrame):
            raise ValueError(f"panel must be a DataFrame, got {type(panel).__name__}")
        for col in (customer, start):
            if col not in panel.columns:
                raise ValueError(f"covariate panel: column {col!r} missing; columns are {list(panel.columns)}")
        missing = [c for c in ("customer_id", "timestamp", "amount") if c not in transactions.columns]
        if missing:
            raise ValueError(f"transactions: column(s) {missing} missing (the data contract's names; "
                             "cxlab.data.read_table gives them)")
        self.unit = unit
        self.days_per_unit = unit_days(unit)
        starts = pd.to_datetime(panel[start], errors="coerce")
        bad = starts.isna()
        if bad.any():
            raise ValueError(f"covariate panel: column {start!r} has missing or unreadable dates in rows "
                             f"{list(panel.index[bad][:5])}")
        frame = panel.drop(columns=[customer, start]).copy()
        frame.insert(0, "customer_id", panel[customer].astype(str).to_numpy())
        frame.insert(1, "day", ((starts.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days).to_numpy())
        dup = frame.duplicated(["customer_id", "day"])
        if dup.any():
            raise ValueError(f"covariate panel: {int(dup.sum())} customer(s) have two rows starting on the same "
                             f"day, e.g. customer {frame.loc[dup, 'customer_id'].iloc[0]!r}")
        self.panel = frame.sort_values(["customer_id", "day"]).reset_index(drop=True)
        # Through the data layer, so that a Parquet folder or an engine table works as a frame does;
        # ready purchase days (e.g. of a sample's customers only) need no pass over the log.
        days = purchase_days(transactions) if days is None else days.copy()
        days["customer_id"] = days["customer_id"].astype(str)
        self.purchase_days = days.sort_values(["customer_id", "day"], kind="stable").reset_index(drop=True)
        self.alive_at = None
        if alive_at is not None:
            dates = pd.to_datetime(pd.Series(alive_at), errors="coerce").dt.normalize()
            self.alive_at = pd.Series(((dates - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=float),
                                      index=pd.Index(dates.index).astype(str))

    @property
    def covariates(self) -> list[str]:
        return [c for c in self.panel.columns if c not in ("customer_id", "day")]

    def __repr__(self) -> str:
        return (f"TimeVaryingCovariates({self.panel['customer_id'].nunique()} customers, {len(self.panel)} rows, "
                f"covariates {self.covariates}, unit {self.unit!r})")


def membership_covariates(customers: pd.DataFrame, *, join_column: str = "loyalty_join_date",
                          end_column: str | None = None, name: str = "member",
                          customer: str = "customer_id") -> pd.DataFrame:
    """Membership as a time-varying covariate: 0 before the join date, 1 from it (0 again after ``end_column``).

    Returns the change-point panel ``customer_id, start, <name>`` for
    :class:`TimeVaryingCovariates`: a row at 1900-01-01 with 0 (the value
    before any join), a row at the join date with 1 and, with ``end_column``,
    a row at the end date with 0. Customers without a join date stay 0.
    """
    for col in (customer, join_column) + ((end_column,) if end_column else ()):
        if col not in customers.columns:
            raise ValueError(f"customers: column {col!r} missing; columns are {list(customers.columns)}")
    ids = customers[customer].astype(str).to_numpy()
    join = pd.to_datetime(customers[join_column], errors="coerce").dt.normalize()
    origin = pd.Timestamp("1900-01-01")
    parts = [pd.DataFrame({"customer_id": ids, "start": origin, name: 0.0})]
    joined = join.notna().to_numpy()
    parts.append(pd.DataFrame({"customer_id": ids[joined], "start": join[joined].to_numpy(), name: 1.0}))
    if end_column:
        end = pd.to_datetime(customers[end_column], errors="coerce").dt.normalize()
        left = (joined & end.notna().to_numpy())
        if (end[left] < join[left]).any():
            raise ValueError(f"customers: {end_column!r} before {join_column!r} for some customers")
        parts.append(pd.DataFrame({"customer_id": ids[left], "start": end[left].to_numpy(), name: 0.0}))
    out = pd.concat([part for part in parts if len(part)], ignore_index=True)
    return out.sort_values(["customer_id", "start"]).drop_duplicates(["customer_id", "start"], keep="last") \
        .reset_index(drop=True)


# ---------------------------------------------------------------------------
# the per-customer structure the likelihood needs
# ---------------------------------------------------------------------------
class DynamicRows:
    """Customers (collapsed where identical) with their covariate stretches in model time."""

    def __init__(self, x, tx, T, weight, S_trans, run_cust, run_lo, run_hi, run_Xt, run_Xl, ids=None,
                 t_start=None):
        self.frequency, self.recency, self.T, self.weight = x, tx, T, weight
        # known alive until t_start >= t_x (the last purchase, or a later sign of life): death is after it
        self.t_start = tx if t_start is None else t_start
        tx = self.t_start
        self.S_trans = S_trans
        self.run_cust, self.run_lo, self.run_hi = run_cust, run_lo, run_hi
        self.run_Xt, self.run_Xl = run_Xt, run_Xl
        self.ids = ids
        # stretches after t_x (the integral's range), a parameter-free subset of the runs
        seg = run_hi > tx[run_cust]
        self.seg_run = np.flatnonzero(seg)
        self.seg_lo = np.maximum(run_lo[seg], tx[run_cust[seg]])
        self.seg_len = run_hi[seg] - self.seg_lo
        self.last_run = _last_index(run_cust, len(x))

    @property
    def n_customers(self) -> float:
        return float(self.weight.sum())


def _last_index(groups: np.ndarray, n: int) -> np.ndarray:
    last = np.full(n, -1, dtype=np.int64)
    last[groups] = np.arange(len(groups))  # runs sorted by customer: the last write wins
    return last


def build_rows(model, summary: pd.DataFrame, tvc: TimeVaryingCovariates, design: CovariateDesign,
               weights: Any = None, collapse: bool = True) -> DynamicRows:
    """Align the summary with the covariate panel and lay out each customer's stretches."""
    name = model._name
    cols, index = model._columns_from(summary, {})
    model._validate(cols, index)
    if "first_purchase" not in summary.columns:
        raise ValueError(f"{name}: time-varying covariates need the summary's 'first_purchase' column "
                         "(cxlab.data.customer_summary gives it)")
    need = list(dict.fromkeys(design.trans + design.life))
    missing = [c for c in need if c not in tvc.covariates]
    if missing:
        raise ValueError(f"{name}: covariate(s) {missing} not in the time-varying panel; it has {tvc.covariates}")
    ids = summary.index.astype(str).to_numpy()
    n = len(ids)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
    first_day = ((pd.to_datetime(summary["first_purchase"]).dt.normalize() - pd.Timestamp("1970-01-01"))
                 .dt.days.to_numpy(dtype=np.int64))
    dpu = tvc.days_per_unit
    x, tx, T = cols["frequency"], cols["recency"], cols["T"]
    pos = pd.Series(np.arange(n), index=ids)
    panel = tvc.panel[tvc.panel["customer_id"].isin(pos.index)]
    absent = pd.Index(ids).difference(pd.Index(panel["customer_id"].unique())).to_numpy()
    if len(absent):
        raise ValueError(f"{name}: {len(absent)} customer(s) of the summary have no rows in the covariate panel, "
                         f"e.g. {', '.join(map(str, absent[:5]))}")
    cust = pos.loc[panel["customer_id"].to_numpy()].to_numpy()
    tau = (panel["day"].to_numpy(dtype=np.int64) - first_day[cust]) / dpu
    values = panel[need].to_numpy(dtype=float)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise ValueError(f"{name}: the covariate panel has missing values for customer "
                         f"{panel['customer_id'].to_numpy()[bad][0]!r} (columns {need})")
    nxt = np.r_[tau[1:], np.inf]
    nxt[np.r_[cust[1:] != cust[:-1], True]] = np.inf
    lo = np.maximum(tau, 0.0)
    hi = np.minimum(nxt, T[cust])
    first_tau = pd.Series(tau).groupby(cust).min().reindex(range(n)).to_numpy()
    late = first_tau > 1e-12
    if late.any():
        i = int(np.flatnonzero(late)[0])
        raise ValueError(f"{name}: the covariate panel starts after the first purchase for {int(late.sum())} "
                         f"customer(s), e.g. {ids[i]!r} (first purchase {pd.Timestamp(summary['first_purchase'].iloc[i]).date()}): "
                         "covariates must cover each customer's whole window")
    keep = hi > lo
    cust, lo, hi, values = cust[keep], lo[keep], hi[keep], values[keep]
    # merge consecutive stretches with equal values (e.g. 104 weeks of an unchanged membership)
    same = np.r_[False, (cust[1:] == cust[:-1]) & np.all(values[1:] == values[:-1], axis=1)
                 & (np.abs(lo[1:] - hi[:-1]) < 1e-12)]
    grp = np.cumsum(~same) - 1
    starts = np.flatnonzero(~same)
    ends = np.r_[starts[1:], len(cust)] - 1
    cust, lo, hi, values = cust[starts], lo[starts], hi[ends], values[starts]
    kt = [need.index(c) for c in design.trans]
    kl = [need.index(c) for c in design.life]
    del grp
    S = _purchase_sums(tvc, ids, first_day, T, dpu, need, pos)[:, kt] if design.trans else np.zeros((n, 0))
    Xt, Xl = values[:, kt], values[:, kl]
    t_start = tx.copy()
    if tvc.alive_at is not None:
        seen = tvc.alive_at.reindex(ids).to_numpy(dtype=float)
        tau_a = (seen - first_day) / dpu
        use = np.isfinite(tau_a) & (tau_a <= T) & (tau_a > tx)  # only signs of life inside the window
        t_start[use] = tau_a[use]
    if collapse:
        return _collapse(x, tx, T, w, S, cust, lo, hi, Xt, Xl, t_start)
    return DynamicRows(x, tx, T, w, S, cust, lo, hi, Xt, Xl, ids, t_start=t_start)


def _purchase_sums(tvc, ids, first_day, T, dpu, need, pos) -> np.ndarray:
    """Sum over each customer's repeat-purchase days in (0, T] of the covariates in force that day."""
    n = len(ids)
    days = tvc.purchase_days[tvc.purchase_days["customer_id"].isin(pos.index)]
    cust = pos.loc[days["customer_id"].to_numpy()].to_numpy()
    tau = (days["day"].to_numpy() - first_day[cust]) / dpu
    repeat = (tau > 1e-12) & (tau <= T[cust] + 1e-9)
    days = days[repeat]
    if days.empty:
        return np.zeros((n, len(need)))
    panel = tvc.panel
    left = days.assign(_pos=np.arange(len(days))).sort_values("day")
    right = panel[panel["customer_id"].isin(pos.index)].sort_values("day")
    matched = pd.merge_asof(left, right, on="day", by="customer_id", direction="backward")
    matched = matched.sort_values("_pos")
    vals = matched[need].to_numpy(dtype=float)
    if not np.isfinite(vals).all():
        bad = matched.loc[~np.isfinite(vals).all(axis=1), "customer_id"].iloc[0]
        raise ValueError(f"the covariate panel does not cover a repeat purchase of customer {bad!r}")
    out = np.zeros((n, len(need)))
    np.add.at(out, pos.loc[matched["customer_id"].to_numpy()].to_numpy(), vals)
    return out


def subset_rows(d: DynamicRows, take: np.ndarray) -> DynamicRows:
    """The customers ``take`` (sorted positions) with their stretches."""
    new_pos = -np.ones(len(d.frequency), dtype=np.int64)
    new_pos[take] = np.arange(len(take))
    sel = new_pos[d.run_cust] >= 0
    return DynamicRows(d.frequency[take], d.recency[take], d.T[take], d.weight[take], d.S_trans[take],
                       new_pos[d.run_cust[sel]], d.run_lo[sel], d.run_hi[sel], d.run_Xt[sel], d.run_Xl[sel],
                       t_start=d.t_start[take])


def _collapse(x, tx, T, w, S, cust, lo, hi, Xt, Xl, t_start) -> DynamicRows:
    """Fit identical customers (same x, t_x, T, purchase sums and stretches) once, with their count."""
    n = len(x)
    counts = np.bincount(cust, minlength=n)
    offsets = np.r_[0, np.cumsum(counts)]
    run_block = np.column_stack([lo, hi, Xt, Xl])
    keys = pd.Series([np.r_[x[i], tx[i], t_start[i], T[i], S[i], run_block[offsets[i]:offsets[i + 1]].ravel()].tobytes()
                      for i in range(n)])
    codes, uniques = pd.factorize(keys)
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(n)[::-1]
    weight = np.bincount(codes, weights=w, minlength=len(uniques))
    keep = weight > 0
    first = first[keep]
    new_pos = -np.ones(n, dtype=np.int64)
    new_pos[first] = np.arange(len(first))
    sel = new_pos[cust] >= 0
    return DynamicRows(x[first], tx[first], T[first], weight[keep], S[first], new_pos[cust[sel]], lo[sel], hi[sel],
                       Xt[sel], Xl[sel], t_start=t_start[first])


# ---------------------------------------------------------------------------
# likelihood
# ---------------------------------------------------------------------------
def effective_times(a: np.ndarray, c: np.ndarray, d: DynamicRows) -> dict[str, np.ndarray]:
    """Effective times of the purchase (``B``) and lifetime (``D``) processes.

    ``a``/``c`` are ``exp(g' x)`` per stretch. Returns per customer ``BT = B(T)``,
    ``DT = D(T)`` and per integral stretch (after ``t_x``) ``B0``, ``D0``: the
    effective times at the stretch's start — CLVTools' ``Bjsum + Bi + A_i t``
    and ``Di + C_i t`` of Bachmann et al. (2021).
    """
    n = len(d.frequency)
    dur = d.run_hi - d.run_lo
    Bcum, Dcum = _cumsum_by_group(a * dur, d.run_cust), _cumsum_by_group(c * dur, d.run_cust)
    has = d.last_run >= 0
    lr = np.maximum(d.last_run, 0)
    k = d.seg_run
    off = d.seg_lo - d.run_lo[k]
    return {"BT": np.where(has, Bcum[lr], 0.0) if n else np.zeros(0),
            "DT": np.where(has, Dcum[lr], 0.0) if n else np.zeros(0),
            "B0": (Bcum - a * dur)[k] + a[k] * off, "D0": (Dcum - c * dur)[k] + c[k] * off}


def dyn_parts(base: np.ndarray, gl: np.ndarray, gt: np.ndarray, d: DynamicRows) -> dict[str, np.ndarray]:
    """Per-customer pieces at the parameters: effective times, the bracket's two logs, the purchase term."""
    r, alpha, s, beta = base
    n = len(d.frequency)
    m = r + d.frequency
    a = np.exp(d.run_Xt @ gt) if len(gt) else np.ones(len(d.run_lo))
    c = np.exp(d.run_Xl @ gl) if len(gl) else np.ones(len(d.run_lo))
    eff = effective_times(a, c, d)
    BT, DT = eff["BT"], eff["DT"]
    has = d.last_run >= 0
    log_alive = -m * np.log(alpha + BT) - s * np.log(beta + DT)
    k = d.seg_run
    sc = d.run_cust[k]
    A0 = alpha + eff["B0"]
    C0 = beta + eff["D0"]
    ms = m[sc]
    # stretch integral = a^-m c^-s * int_0^len (A0/a + u)^-m (C0/c + u)^-(s+1) du
    lj = pnbd_integral(ms, s + 1.0, A0 / a[k], C0 / c[k], 0.0, d.seg_len)["log"]
    log_seg = lj - ms * np.log(a[k]) - s * np.log(c[k])
    log_int = _logsumexp_by_group(log_seg, sc, n)
    log_bracket = np.logaddexp(log_alive, np.log(s) + log_int)
    last_a = np.where(has, a[np.maximum(d.last_run, 0)], 1.0)
    last_c = np.where(has, c[np.maximum(d.last_run, 0)], 1.0)
    return {"BT": BT, "DT": DT, "log_alive": log_alive, "log_bracket": log_bracket, "a_T": last_a, "c_T": last_c,
            "purchase_term": d.S_trans @ gt if len(gt) else np.zeros(n)}


def dyn_rows_loglik(base, gl, gt, d: DynamicRows) -> np.ndarray:
    r, alpha, s, beta = base
    p = dyn_parts(base, gl, gt, d)
    return (p["purchase_term"] + gammaln(r + d.frequency) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
            + p["log_bracket"])


def dyn_loglik(z: np.ndarray, d: DynamicRows, design: CovariateDesign, grad: bool = True):
    """Total log-likelihood in the optimiser's coordinates (log base parameters, coefficients) and its gradient.

    The gradient is analytic: the quadrature of each stretch integral
    (:func:`cxlab.ltv._special.pnbd_integral`) also gives its derivatives in
    its shifted ``alpha``/``beta`` and exponents.
    """
    base = np.exp(z[:4])
    gl, gt = design.expand(z[4:])
    with np.errstate(all="ignore"):
        if not grad:
            return float(np.einsum("i,i->", d.weight, dyn_rows_loglik(base, gl, gt, d))), None
        f, g_nat = _dyn_value_and_gradient(base, gl, gt, d, design)
    g = np.empty(len(z))
    g[0], g[2] = g_nat["r"] * base[0], g_nat["s"] * base[2]
    g[1], g[3] = g_nat["alpha"] * base[1], g_nat["beta"] * base[3]
    Jl, Jt = design.jacobian()
    g[4:] = g_nat["life"] @ Jl + g_nat["trans"] @ Jt
    return f, g


def _dyn_value_and_gradient(base, gl, gt, d: DynamicRows, design: CovariateDesign):
    r, alpha, s, beta = base
    n = len(d.frequency)
    w = d.weight
    m = r + d.frequency
    a = np.exp(d.run_Xt @ gt) if len(gt) else np.ones(len(d.run_lo))
    c = np.exp(d.run_Xl @ gl) if len(gl) else np.ones(len(d.run_lo))
    dur = d.run_hi - d.run_lo
    grp = d.run_cust
    Bcum, Dcum = _cumsum_by_group(a * dur, grp), _cumsum_by_group(c * dur, grp)
    # d B / d g_trans accumulates a * dur * X (likewise D)
    GBcum = np.column_stack([_cumsum_by_group(a * dur * d.run_Xt[:, j], grp) for j in range(d.run_Xt.shape[1])]) \
        if d.run_Xt.shape[1] else np.zeros((len(a), 0))
    GDcum = np.column_stack([_cumsum_by_group(c * dur * d.run_Xl[:, j], grp) for j in range(d.run_Xl.shape[1])]) \
        if d.run_Xl.shape[1] else np.zeros((len(c), 0))
    has = d.last_run >= 0
    lr = np.maximum(d.last_run, 0)
    BT = np.where(has, Bcum[lr], 0.0)
    DT = np.where(has, Dcum[lr], 0.0)
    GBT = np.where(has[:, None], GBcum[lr], 0.0)
    GDT = np.where(has[:, None], GDcum[lr], 0.0)
    log_alive = -m * np.log(alpha + BT) - s * np.log(beta + DT)
    dA_alpha = -m / (alpha + BT)
    dA_beta = -s / (beta + DT)
    dA_gt = dA_alpha[:, None] * GBT
    dA_gl = dA_beta[:, None] * GDT

    k = d.seg_run
    sc = grp[k]
    off = d.seg_lo - d.run_lo[k]
    A0 = alpha + (Bcum - a * dur)[k] + a[k] * off
    C0 = beta + (Dcum - c * dur)[k] + c[k] * off
    GA0 = (GBcum - (a * dur)[:, None] * d.run_Xt)[k] + (a[k] * off)[:, None] * d.run_Xt[k]
    GC0 = (GDcum - (c * dur)[:, None] * d.run_Xl)[k] + (c[k] * off)[:, None] * d.run_Xl[k]
    Ap, Cp = A0 / a[k], C0 / c[k]
    ms = m[sc]

    integ = pnbd_integral(ms, s + 1.0, Ap, Cp, 0.0, d.seg_len)
    lj = integ["log"]
    log_seg = lj - ms * np.log(a[k]) - s * np.log(c[k])
    log_int = _logsumexp_by_group(log_seg, sc, n)
    dlogJ_dA, dlogJ_dC = integ["dA"], integ["dC"]
    # derivatives of each stretch's log integral, then weighted by its share of the customer's integral
    ds_alpha = dlogJ_dA / a[k]
    ds_beta = dlogJ_dC / c[k]
    ds_gt = (dlogJ_dA / a[k])[:, None] * (GA0 - A0[:, None] * d.run_Xt[k]) - ms[:, None] * d.run_Xt[k]
    ds_gl = (dlogJ_dC / c[k])[:, None] * (GC0 - C0[:, None] * d.run_Xl[k]) - s * d.run_Xl[k]
    share = np.exp(log_seg - log_int[sc])
    share = np.where(np.isfinite(share), share, 0.0)

    def by_customer(v):
        out = np.zeros((n,) + v.shape[1:])
        np.add.at(out, sc, share.reshape((-1,) + (1,) * (v.ndim - 1)) * v)
        return out

    dI_alpha, dI_beta = by_customer(ds_alpha), by_customer(ds_beta)
    dI_r = by_customer(integ["dp"] - np.log(a[k]))
    dI_s = by_customer(integ["dq"] - np.log(c[k]))
    dI_gt, dI_gl = by_customer(ds_gt), by_customer(ds_gl)
    log_b = np.logaddexp(log_alive, np.log(s) + log_int)
    pa = np.exp(log_alive - log_b)
    rows = (d.S_trans @ gt if len(gt) else 0.0) + gammaln(m) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) \
        + log_b
    f = float(np.einsum("i,i->", w, rows))
    g_r = np.sum(w * (digamma(m) - digamma(r) + np.log(alpha) - pa * np.log(alpha + BT) + (1 - pa) * dI_r))
    g_s = np.sum(w * (np.log(beta) - pa * np.log(beta + DT) + (1 - pa) * (1.0 / s + dI_s)))
    g_alpha = np.sum(w * (r / alpha + pa * dA_alpha + (1 - pa) * dI_alpha))
    g_beta = np.sum(w * (s / beta + pa * dA_beta + (1 - pa) * dI_beta))
    g_trans = w @ (d.S_trans + pa[:, None] * dA_gt + (1 - pa)[:, None] * dI_gt)
    g_life = w @ (pa[:, None] * dA_gl + (1 - pa)[:, None] * dI_gl)
    return f, {"r": g_r, "s": g_s, "alpha": g_alpha, "beta": g_beta, "trans": np.asarray(g_trans, float).ravel(),
               "life": np.asarray(g_life, float).ravel()}


def _cumsum_by_group(v: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each group (rows sorted by group)."""
    if len(v) == 0:
        return v.copy()
    cs = np.cumsum(v)
    start = np.r_[True, groups[1:] != groups[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(len(v)), 0))
    return cs - (cs[first] - v[first])


def _logsumexp_by_group(v: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    if len(v) == 0:
        return out
    mx = np.full(n, -np.inf)
    np.maximum.at(mx, groups, v)
    safe = np.where(np.isfinite(mx), mx, 0.0)
    acc = np.zeros(n)
    np.add.at(acc, groups, np.exp(v - safe[groups]))
    with np.errstate(divide="ignore"):
        return np.where(acc > 0, safe + np.log(acc), -np.inf)


def covariate_design_check(tvc: TimeVaryingCovariates, names: Sequence[str], model_name: str) -> None:
    missing = [c for c in names if c not in tvc.covariates]
    if missing:
        raise ValueError(f"{model_name}: covariate(s) {missing} not in the time-varying panel; "
                         f"it has {tvc.covariates}")
