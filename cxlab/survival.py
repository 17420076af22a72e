"""Survival analysis of customer lifetimes, built on lifelines.

* :func:`kaplan_meier` - Kaplan-Meier curves by segment with confidence bands,
  at-risk counts, median lifetime, restricted mean lifetime (RMST) with the
  Greenwood-type standard error, and a log-rank test between segments.
* :func:`restricted_mean` - RMST and its standard error from duration/event arrays.
* :func:`fit_cox` - Cox proportional hazards (Efron ties) with hazard ratios,
  confidence intervals and a Schoenfeld-residual proportional-hazards check;
  a fast path for a million customers.
* :func:`fit_time_varying_cox` / :class:`MembershipHazard` - loyalty
  membership as a time-varying covariate (a customer counts as a non-member
  until the join date), the correct way to estimate the program's retention
  effect without immortal-time bias.

Input is the per-customer duration/event table of the data layer
(:func:`cxlab.data.churn_durations`, or :func:`cxlab.churn.contractual_durations`).
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cxlab._base import Estimator, Result, Summary, to_builtin
from cxlab.units import unit_days

__all__ = [
    "CoxResult",
    "KaplanMeierResult",
    "MembershipHazard",
    "TimeVaryingCoxResult",
    "aggregate_durations",
    "fit_cox",
    "fit_time_varying_cox",
    "hazard_ratio_sentences",
    "kaplan_meier",
    "membership_intervals",
    "plot_hazard_ratios",
    "plot_survival",
    "restricted_mean",
]


# ---------------------------------------------------------------------------
# input checks and aggregation
# ---------------------------------------------------------------------------
def _durations_events(durations, events, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events)
    if d.ndim != 1 or e.shape != d.shape:
        raise ValueError("durations and events must be 1-D and of the same length")
    if d.size == 0:
        raise ValueError("durations is empty")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"durations has {int(np.sum(~np.isfinite(d)))} missing or infinite value(s)")
    if np.any(d < 0):
        raise ValueError(f"durations must be >= 0; {int(np.sum(d < 0))} negative value(s)")
    if e.dtype != bool:
        ef = e.astype(float)
        if not np.all(np.isin(ef, (0.0, 1.0))):
            raise ValueError("events must be boolean or 0/1")
        e = ef.astype(bool)
    if weights is None:
        w = np.ones(d.size)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != d.shape or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be non-negative, finite and as long as durations")
    return d, e, w


def aggregate_durations(durations, events, weights=None) -> pd.DataFrame:
    """Collapse durations to one row per distinct time: ``time, events, censored, at_risk``.

    ``at_risk`` is the number (sum of weights) still under observation just
    before ``time``.  Integer-valued durations (days, weeks) use ``bincount``,
    which is O(n) - this is what makes Kaplan-Meier on 10M customers fast.
    """
    d, e, w = _durations_events(durations, events, weights)
    dmax = d.max()
    if dmax <= 5e7 and np.array_equal(d, np.floor(d)):
        di = d.astype(np.int64)
        all_w = np.bincount(di, weights=w, minlength=int(dmax) + 1)
        ev_w = np.bincount(di, weights=w * e, minlength=int(dmax) + 1)
        times = np.flatnonzero(all_w)
        all_w, ev_w, times_f = all_w[times], ev_w[times], times.astype(float)
    else:
        times_f, inverse = np.unique(d, return_inverse=True)
        all_w = np.bincount(inverse, weights=w)
        ev_w = np.bincount(inverse, weights=w * e)
    at_risk = all_w[::-1].cumsum()[::-1]
    return pd.DataFrame({"time": times_f, "events": ev_w, "censored": all_w - ev_w, "at_risk": at_risk})


def _km_from_table(tab: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Product-limit survival after each distinct time (times, S, events, at_risk)."""
    t = tab["time"].to_numpy(float)
    dth = tab["events"].to_numpy(float)
    y = tab["at_risk"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(y > 0, 1 - dth / y, 1.0)
    return t, np.cumprod(factor), dth, y


# ---------------------------------------------------------------------------
# restricted mean survival time
# ---------------------------------------------------------------------------
def restricted_mean(durations, events, tau: float, weights=None) -> dict[str, float]:
    r"""Restricted mean survival time up to ``tau`` and its standard error.

    .. math::
        \hat\mu_\tau = \int_0^\tau \hat S(u)\,du, \qquad
        \widehat{\mathrm{Var}}(\hat\mu_\tau) = \sum_{t_i \le \tau}
            \frac{A_i^2\, d_i}{Y_i (Y_i - d_i)}, \quad A_i = \int_{t_i}^{\tau} \hat S(u)\,du,

    with :math:`\hat S` the Kaplan-Meier estimate, :math:`d_i` deaths and
    :math:`Y_i` at risk at event time :math:`t_i` (Klein & Moeschberger 2003,
    sec. 4.5; the estimator R's ``survival::print.survfit(rmean=)`` reports).
    This is the sampling variance of the estimate, not the variance of the
    lifetime distribution (what lifelines' ``restricted_mean_survival_time(...,
    return_variance=True)`` returns).  A term with :math:`Y_i = d_i` (the curve
    drops to 0) has :math:`A_i = 0` and contributes nothing.

    Returns
    -------
    dict with ``rmst``, ``se``, ``tau``.
    """
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number, got {tau!r}")
    tab = aggregate_durations(durations, events, weights)
    t, s, dth, y = _km_from_table(tab)
    keep = (t <= tau) & (dth > 0)
    t, s, dth, y = t[keep], s[keep], dth[keep], y[keep]
    # step function: S = 1 on [0, t_1), s_j on [t_j, t_{j+1}), last piece to tau
    edges = np.append(t, tau)
    area_pieces = s * np.diff(edges)  # area after each event time
    first = t[0] if t.size else tau
    rmst = float(first + area_pieces.sum())
    a = area_pieces[::-1].cumsum()[::-1]  # A_i = integral from t_i to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > dth, a**2 * dth / (y * (y - dth)), 0.0)
    return {"rmst": rmst, "se": float(np.sqrt(terms.sum())), "tau": float(tau)}


# ---------------------------------------------------------------------------
# Kaplan-Meier by segment
# ---------------------------------------------------------------------------
def _check_frame(data: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{what}: data must be a pandas DataFrame")
    missing = [c for c in cols if c is not None and c not in data.columns]
    if missing:
        raise ValueError(f"{what}: data has no column(s) {missing}; columns are {list(data.columns)}")


class KaplanMeierResult(Result):
    """Kaplan-Meier curves, medians, RMST and log-rank test by group.

    Attributes
    ----------
    fitters : dict
        group label -> fitted ``lifelines.KaplanMeierFitter`` (on aggregated data).
    survival : DataFrame
        Tidy curve: ``group, time, survival, ci_low, ci_high, at_risk, events``.
    table : DataFrame
        Per group: ``n, events, median, median_ci_low, median_ci_high, rmst, rmst_se,
        rmst_ci_low, rmst_ci_high``.
    logrank : dict or None
        ``test_statistic, df, p_value`` of the (multi-group) log-rank test.
    pairwise : DataFrame or None
        Pairwise log-rank tests (more than two groups): ``group_a, group_b,
        test_statistic, p_value, p_holm`` (Holm-adjusted).
    """

    def __init__(self, fitters, survival, table, logrank, pairwise, tau, alpha, unit):
        self.fitters = fitters
        self.survival = survival
        self.table = table
        self.logrank = logrank
        self.pairwise = pairwise
        self.tau = tau
        self.alpha = alpha
        self.unit = unit

    def summary(self) -> Summary:
        tables = [(f"Lifetime by group (time in {self.unit})", self.table)]
        notes = [f"RMST = mean lifetime restricted to the first {self.tau:g} {self.unit} "
                 f"(area under the Kaplan-Meier curve); {int(round(100 * (1 - self.alpha)))}% intervals."]
        if self.logrank is not None:
            lr = self.logrank
            tables.append(("Log-rank test", pd.DataFrame([lr])))
            notes.append("A small log-rank p-value means the groups' survival curves differ.")
        if self.pairwise is not None:
            tables.append(("Pairwise log-rank tests", self.pairwise))
        notes.append("The median is missing when the curve never falls below 50% within the data.")
        return Summary("Kaplan-Meier customer lifetime", tables, notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"unit": self.unit, "tau": self.tau, "alpha": self.alpha, "table": self.table,
                           "logrank": self.logrank,
                           "pairwise": self.pairwise if self.pairwise is not None else None})


def kaplan_meier(
    data: pd.DataFrame,
    *,
    duration_col: str = "duration",
    event_col: str = "event",
    group_col: str | None = None,
    weights_col: str | None = None,
    tau: float | None = None,
    alpha: float = 0.05,
    unit: str = "days",
    pairwise: bool = True,
) -> KaplanMeierResult:
    """Kaplan-Meier estimates of customer lifetime, overall or by segment.

    The product-limit estimator (Kaplan & Meier 1958) with Greenwood
    variance and lifelines' log(-log) confidence band; durations are
    aggregated to distinct times first so 10M customers take well under a second.

    Parameters
    ----------
    data : DataFrame
        One row per customer with ``duration_col`` (>= 0) and ``event_col``
        (True = churned, False = still active / censored), e.g.
        :func:`cxlab.data.churn_durations` output.
    group_col : str, optional
        Segment column; one curve per value and a log-rank test between them.
    weights_col : str, optional
        Frequency weights.
    tau : float, optional
        Horizon of the restricted mean; default the smallest group's largest
        observed time (so every group's RMST is estimable).
    alpha : float
        1 - confidence level.
    unit : str
        Label of the time unit for summaries.
    pairwise : bool
        With more than two groups, also test every pair (Holm-adjusted);
        False leaves ``pairwise`` as None (one log-rank test per pair is most
        of the run time with many groups).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test
    from lifelines.utils import median_survival_times

    _check_frame(data, [duration_col, event_col, group_col, weights_col], "kaplan_meier")
    if group_col is not None and data[group_col].isna().any():
        raise ValueError(f"kaplan_meier: group column {group_col!r} has missing values")
    groups = (
        [("all", data)] if group_col is None
        else [(str(k), sub) for k, sub in data.groupby(group_col, observed=True, sort=True)]
    )
    aggregated = {}
    for label, sub in groups:
        w = None if weights_col is None else sub[weights_col].to_numpy()
        aggregated[label] = aggregate_durations(sub[duration_col].to_numpy(), sub[event_col].to_numpy(), w)
    if tau is None:
        tau = float(min(a["time"].max() for a in aggregated.values()))
        if tau <= 0:
            tau = float(max(a["time"].max() for a in aggregated.values())) or 1.0

    fitters, curves, rows = {}, [], []
    z = stats.norm.ppf(1 - alpha / 2)
    for label, tab in aggregated.items():
        # one weighted row per (time, status): lifelines then works on a few thousand rows
        times = np.concatenate([tab["time"], tab["time"]])
        status = np.concatenate([np.ones(len(tab), bool), np.zeros(len(tab), bool)])
        wts = np.concatenate([tab["events"], tab["censored"]])
        keep = wts > 0
        kmf = KaplanMeierFitter(alpha=alpha, label=label)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kmf.fit(times[keep], status[keep], weights=wts[keep])
        fitters[label] = kmf
        ci = kmf.confidence_interval_survival_function_
        curve = pd.DataFrame({
            "group": label,
            "time": kmf.survival_function_.index.to_numpy(float),
            "survival": kmf.survival_function_.iloc[:, 0].to_numpy(float),
            "ci_low": ci.iloc[:, 0].to_numpy(float),
            "ci_high": ci.iloc[:, 1].to_numpy(float),
            "at_risk": kmf.event_table["at_risk"].to_numpy(float),
            "events": kmf.event_table["observed"].to_numpy(float),
        })
        curves.append(curve)
        med_ci = median_survival_times(kmf.confidence_interval_)
        rm = _rmst_from_aggregate(tab, tau)
        med = float(kmf.median_survival_time_)
        rows.append({
            "group": label, "n": float(tab["events"].sum() + tab["censored"].sum()),
            "events": float(tab["events"].sum()),
            "median": med if np.isfinite(med) else np.nan,
            "median_ci_low": _finite(med_ci.iloc[0, 0]), "median_ci_high": _finite(med_ci.iloc[0, 1]),
            "rmst": rm["rmst"], "rmst_se": rm["se"],
            "rmst_ci_low": rm["rmst"] - z * rm["se"], "rmst_ci_high": rm["rmst"] + z * rm["se"],
        })
    survival = pd.concat(curves, ignore_index=True)
    table = pd.DataFrame(rows).set_index("group")

    logrank = pairwise_tests = None
    if len(aggregated) >= 2:
        t_all, e_all, g_all, w_all = [], [], [], []
        for label, tab in aggregated.items():
            for status, col in ((True, "events"), (False, "censored")):
                m = tab[col].to_numpy() > 0
                t_all.append(tab["time"].to_numpy()[m]); w_all.append(tab[col].to_numpy()[m])
                e_all.append(np.full(m.sum(), status)); g_all.append(np.full(m.sum(), label, dtype=object))
        t_all, e_all, g_all, w_all = map(np.concatenate, (t_all, e_all, g_all, w_all))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = multivariate_logrank_test(t_all, g_all, e_all, weights=w_all)
        logrank = {"test_statistic": float(res.test_statistic), "df": int(len(aggregated) - 1),
                   "p_value": float(res.p_value)}
        if pairwise and len(aggregated) > 2:
            # lifelines' pairwise_logrank_test cannot pass weights through, so test each pair here
            labels = list(aggregated)
            pw_rows = []
            for i, a in enumerate(labels):
                for b in labels[i + 1:]:
                    m = (g_all == a) | (g_all == b)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        r2 = multivariate_logrank_test(t_all[m], g_all[m], e_all[m], weights=w_all[m])
                    pw_rows.append({"group_a": a, "group_b": b, "test_statistic": float(r2.test_statistic),
                                    "p_value": float(r2.p_value)})
            pairwise_tests = pd.DataFrame(pw_rows)
            pairwise_tests["p_holm"] = _holm(pairwise_tests["p_value"].to_numpy())
    return KaplanMeierResult(fitters, survival, table, logrank, pairwise_tests, tau, alpha, unit)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of p-values for multiple comparisons."""
    order = np.argsort(p)
    m = p.size
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def _finite(x) -> float:
    x = float(x)
    return x if np.isfinite(x) else np.nan


def _rmst_from_aggregate(tab: pd.DataFrame, tau: float) -> dict[str, float]:
    times = np.concatenate([tab["time"], tab["time"]])
    status = np.concatenate([np.ones(len(tab), bool), np.zeros(len(tab), bool)])
    wts = np.concatenate([tab["events"], tab["censored"]])
    return restricted_mean(times, status, tau, weights=wts)


def plot_survival(data, *, at_risk: bool = True, ci: bool = True, ax=None, at_risk_label: str = "At risk",
                  **kwargs):
    """Kaplan-Meier curves with confidence bands and at-risk counts under the axis.

    ``data``: a :class:`KaplanMeierResult`; ``at_risk_label``: the title of the
    at-risk rows (a translated report passes its own words).  Returns the Axes.
    """
    import matplotlib.pyplot as plt
    from lifelines.plotting import add_at_risk_counts

    if not isinstance(data, KaplanMeierResult):
        raise TypeError("plot_survival: data must be a KaplanMeierResult (from cxlab.survival.kaplan_meier)")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    for kmf in data.fitters.values():
        kmf.plot_survival_function(ax=ax, ci_show=ci, **kwargs)
    ax.set_xlabel(f"time since first purchase ({data.unit})")
    ax.set_ylabel("share of customers still active")
    ax.set_ylim(0, 1.02)
    if at_risk:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # lifelines formats each label into a format string: braces in a client's category must be doubled
            labels = [str(k).replace("{", "{{").replace("}", "}}") for k in data.fitters]
            add_at_risk_counts(*data.fitters.values(), ax=ax, rows_to_show=["At risk"], labels=labels)
        if at_risk_label != "At risk":  # lifelines writes the row title into the twin axis' tick labels
            for other in ax.figure.axes:
                labels = [t.get_text() for t in other.get_xticklabels()]
                if other is not ax and any("At risk" in lab for lab in labels):
                    other.set_xticks(other.get_xticks(), [lab.replace("At risk", at_risk_label) for lab in labels],
                                     ha="right")
    return ax


# ---------------------------------------------------------------------------
# Cox proportional hazards
# ---------------------------------------------------------------------------
def _design(data: pd.DataFrame, covariates: Sequence[str], reference: dict | None) -> tuple[pd.DataFrame, dict]:
    """Numeric design matrix: bools as 0/1, categoricals as dummies against a reference level."""
    reference = dict(reference or {})
    cols, refs = {}, {}
    for c in covariates:
        s = data[c]
        if s.isna().any():
            raise ValueError(f"covariate {c!r} has {int(s.isna().sum())} missing value(s); drop or impute them first")
        if pd.api.types.is_bool_dtype(s):
            cols[c] = s.astype(float).to_numpy()
        elif pd.api.types.is_numeric_dtype(s):
            cols[c] = s.astype(float).to_numpy()
        else:
            levels = pd.Series(s.astype(str))
            counts = levels.value_counts()
            ref = str(reference.get(c, counts.index[0]))
            if ref not in counts.index:
                raise ValueError(f"reference level {ref!r} of {c!r} not in the data; levels: {sorted(counts.index)}")
            refs[c] = ref
            for lev in sorted(counts.index):
                if lev != ref:
                    cols[f"{c}[{lev}]"] = (levels == lev).to_numpy(float)
    return pd.DataFrame(cols, index=data.index), refs


def hazard_ratio_sentences(hazard_ratios: pd.DataFrame, references: dict | None = None, *, alpha: float = 0.05,
                           lang: str = "en", fmt_pct=None, fmt_num=None, labels: dict | None = None) -> list[str]:
    """Hazard ratios in plain words, one sentence per term (English or Russian).

    ``hazard_ratios``: a table with ``hazard_ratio, hr_ci_low, hr_ci_high, p_value``
    indexed by term (``CoxResult.hazard_ratios``); ``references``: reference
    level per categorical covariate; ``labels``: optional display name per term;
    ``fmt_pct`` / ``fmt_num``: formatters of a share and of a ratio (default
    ``"31%"`` and ``"0.69"``; pass the report's locale formatters).
    """
    fmt_pct = fmt_pct or (lambda x: f"{100 * x:.0f}%")
    f2 = fmt_num or (lambda x: f"{x:.2f}")
    references = references or {}
    labels = labels or {}
    out = []
    for term, r in hazard_ratios.iterrows():
        hr, lo, hi, p = r["hazard_ratio"], r["hr_ci_low"], r["hr_ci_high"], r["p_value"]
        base = str(term).split("[")[0]
        ref = references.get(base)
        name = labels.get(term, term)
        change = hr - 1
        if lang == "ru":
            what = "выше" if change > 0 else "ниже"
            comp = f" (по сравнению с «{ref}»)" if ref else (" (на единицу признака)" if base != "member" else "")
            sig = "" if p < alpha else " — различие статистически не значимо"
            out.append(f"{name}: риск ухода {what} на {fmt_pct(abs(change))}{comp}, "
                       f"отношение рисков {f2(hr)} (ДИ {f2(lo)}–{f2(hi)}){sig}.")
        else:
            what = "higher" if change > 0 else "lower"
            comp = f" than '{ref}'" if ref else (" per unit" if base != "member" else " while a member")
            sig = "" if p < alpha else " - not statistically significant"
            out.append(f"{name}: churn risk {fmt_pct(abs(change))} {what}{comp} "
                       f"(hazard ratio {f2(hr)}, CI {f2(lo)}-{f2(hi)}){sig}.")
    return out


class CoxResult(Result):
    """Fitted Cox model: hazard ratios with CIs and a proportional-hazards check.

    Attributes
    ----------
    model : lifelines.CoxPHFitter
    hazard_ratios : DataFrame
        Per term: ``coef, se, hazard_ratio, hr_ci_low, hr_ci_high, p_value``.
    ph_test : DataFrame or None
        Schoenfeld-residual test per term (``test_statistic, p_value``), rank time transform.
    references : dict
        Reference level of each categorical covariate.
    """

    def __init__(self, model, hazard_ratios, ph_test, references, n, events, alpha, rows_fitted, fit_seconds):
        self.model = model
        self.hazard_ratios = hazard_ratios
        self.ph_test = ph_test
        self.references = references
        self.n = n
        self.events = events
        self.alpha = alpha
        self.rows_fitted = rows_fitted
        self.fit_seconds = fit_seconds

    @property
    def params_(self) -> pd.Series:
        return self.hazard_ratios["coef"]

    def plain_words(self, lang: str = "en", fmt_pct=None) -> list[str]:
        """One sentence per term: how much faster/slower customers churn (see :func:`hazard_ratio_sentences`)."""
        return hazard_ratio_sentences(self.hazard_ratios, self.references, alpha=self.alpha, lang=lang,
                                      fmt_pct=fmt_pct)

    def summary(self) -> Summary:
        tables = [("Hazard ratios", self.hazard_ratios)]
        notes = [f"Cox proportional hazards, Efron ties; {self.n:,.0f} customers, {self.events:,.0f} churned; "
                 f"{int(round(100 * (1 - self.alpha)))}% intervals. Hazard ratio < 1 = customers stay longer."]
        if self.references:
            notes.append("Reference levels: " + ", ".join(f"{k} = {v}" for k, v in self.references.items()))
        if self.ph_test is not None:
            tables.append(("Proportional-hazards check (Schoenfeld residuals)", self.ph_test))
            bad = self.ph_test.index[self.ph_test["p_value"] < 0.05].tolist()
            if bad:
                notes.append(f"Proportional hazards doubtful for {bad}: the effect changes over time; "
                             "read their hazard ratio as a time-average or stratify.")
        return Summary("Cox model of churn", tables, notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"n": self.n, "events": self.events, "alpha": self.alpha, "references": self.references,
                           "hazard_ratios": self.hazard_ratios,
                           "ph_test": self.ph_test if self.ph_test is not None else None})


def fit_cox(
    data: pd.DataFrame,
    *,
    duration_col: str = "duration",
    event_col: str = "event",
    covariates: Sequence[str] | None = None,
    reference: dict | None = None,
    weights_col: str | None = None,
    strata: str | list[str] | None = None,
    alpha: float = 0.05,
    penalizer: float = 0.0,
    aggregate: bool = False,
    check_ph: bool | None = None,
    entry_col: str | None = None,
) -> CoxResult:
    """Cox proportional-hazards model of churn (Cox 1972), Efron's tie handling.

    Hazard ratios are ``exp(coef)``: the factor by which a customer's churn
    hazard is multiplied per unit of the covariate (or versus the reference
    level of a categorical one).

    Speed.  lifelines picks between a per-row and a per-distinct-time ("batch")
    Newton step; with durations in whole days a million customers share a few
    thousand distinct times, where its default choice takes ~20 s and the batch
    step ~2 s.  We force the batch step when distinct times are < 10% of rows.
    ``aggregate=True`` additionally collapses identical
    (duration, event, covariates) rows into frequency weights; with tied events
    lifelines applies Efron's correction per weighted row, which differs from
    expanding the rows in the ~5th decimal, so it is opt-in.

    Parameters
    ----------
    data : DataFrame
        One row per customer: duration, event and covariates.
    covariates : list of str, optional
        Default: every column except duration, event, weights and strata.
        Bool and numeric columns enter as they are; others as dummies.
    reference : dict, optional
        ``{column: level}`` reference of a categorical covariate (default: its most frequent level).
    check_ph : bool, optional
        Run the Schoenfeld-residual test (Grambsch & Therneau 1994, rank time);
        default only when fewer than 200,000 rows are fitted (never with ``entry_col``).
    entry_col : str, optional
        Time (same scale as the duration) at which each customer enters the risk
        set: left truncation, e.g. follow-up that starts at a survey answer
        while the time scale is tenure.
    """
    import time

    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    _check_frame(data, [duration_col, event_col, weights_col, entry_col], "fit_cox")
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    _check_frame(data, strata_cols, "fit_cox")
    if covariates is None:
        skip = {duration_col, event_col, weights_col, entry_col, *strata_cols}
        covariates = [c for c in data.columns if c not in skip]
    covariates = list(covariates)
    _check_frame(data, covariates, "fit_cox")
    if not covariates:
        raise ValueError("fit_cox: no covariates given")
    d, e, w = _durations_events(data[duration_col], data[event_col],
                                None if weights_col is None else data[weights_col])
    if e.sum() == 0:
        raise ValueError("fit_cox: no events (nobody churned); hazard ratios are not estimable")
    X, refs = _design(data, covariates, reference)
    constant = [c for c in X.columns if np.ptp(X[c].to_numpy()) == 0]
    if constant:
        raise ValueError(f"fit_cox: covariate(s) {constant} do not vary; drop them")
    frame = X.copy()
    frame["_duration"], frame["_event"], frame["_w"] = d, e.astype(int), w
    if entry_col is not None:
        frame["_entry"] = data[entry_col].to_numpy(float)
        check_ph = False  # lifelines' residual test does not take delayed entry
    for s in strata_cols:
        frame[s] = data[s].to_numpy()
    if aggregate:
        keys = [c for c in frame.columns if c != "_w"]
        frame = frame.groupby(keys, sort=False, observed=True)["_w"].sum().reset_index()
    use_weights = aggregate or weights_col is not None
    n_times = len(np.unique(frame["_duration"].to_numpy()))
    batch = True if n_times < 0.1 * len(frame) else None
    cph = CoxPHFitter(alpha=alpha, penalizer=penalizer)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph.fit(frame if use_weights else frame.drop(columns="_w"), duration_col="_duration", event_col="_event",
                weights_col="_w" if use_weights else None, strata=strata_cols or None, batch_mode=batch,
                entry_col="_entry" if entry_col is not None else None)
    fit_seconds = time.perf_counter() - start
    s = cph.summary
    z = stats.norm.ppf(1 - alpha / 2)
    hr = pd.DataFrame({
        "coef": s["coef"], "se": s["se(coef)"], "hazard_ratio": s["exp(coef)"],
        "hr_ci_low": np.exp(s["coef"] - z * s["se(coef)"]),
        "hr_ci_high": np.exp(s["coef"] + z * s["se(coef)"]),
        "p_value": s["p"],
    })
    hr.index.name = "term"
    if check_ph is None:
        check_ph = len(frame) < 200_000
    ph = None
    if check_ph:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            test = proportional_hazard_test(cph, frame if use_weights else frame.drop(columns="_w"),
                                            time_transform="rank")
        ph = test.summary[["test_statistic", "p"]].rename(columns={"p": "p_value"})
        ph.index = [i[0] if isinstance(i, tuple) else i for i in ph.index]
        ph.index.name = "term"
    return CoxResult(cph, hr, ph, refs, float(w.sum()), float((w * e).sum()), alpha, len(frame), fit_seconds)


def plot_hazard_ratios(data, *, ax=None, **kwargs):
    """Forest plot of hazard ratios with CIs (log scale). ``data``: CoxResult or its ``hazard_ratios``."""
    import matplotlib.pyplot as plt

    hr = data.hazard_ratios if isinstance(data, (CoxResult, TimeVaryingCoxResult)) else data
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.5 * len(hr) + 1.5))
    y = np.arange(len(hr))[::-1]
    ax.errorbar(hr["hazard_ratio"].to_numpy(float), y,
                xerr=[(hr["hazard_ratio"] - hr["hr_ci_low"]).to_numpy(float),
                      (hr["hr_ci_high"] - hr["hazard_ratio"]).to_numpy(float)],
                fmt="o", color=kwargs.pop("color", "C0"), capsize=3, **kwargs)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels([str(i) for i in hr.index])
    ax.set_xlabel("hazard ratio (< 1: customers stay longer)")
    return ax


# ---------------------------------------------------------------------------
# membership as a time-varying covariate
# ---------------------------------------------------------------------------
def membership_intervals(
    durations: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    join_col: str = "loyalty_join_date",
    start_col: str = "start",
    duration_col: str = "duration",
    event_col: str = "event",
    unit: str = "D",
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Split each customer's follow-up at the loyalty join date (counting-process form).

    A customer who joins at time ``j`` (in ``unit`` since ``start``) with
    follow-up ``T`` gives two rows, ``(0, j, member=0, event=0)`` and
    ``(j, T, member=1, event)``; joining at or before the start gives one
    member row; joining after ``T`` (or never) one non-member row.

    Parameters
    ----------
    durations : DataFrame
        Indexed by customer_id with ``start`` (Timestamp), ``duration`` and
        ``event`` - the :func:`cxlab.data.churn_durations` layout.
    customers : DataFrame
        Contract customers table with ``customer_id`` and ``join_col`` (NaT = never joined)
        and any static ``covariates``.
    unit : {"D", "W", "M"}
        Unit of ``duration`` (days, weeks = 7 days, months = 30.4375 days).

    Returns
    -------
    DataFrame ``customer_id, start, stop, member, event`` + covariates.
    """
    days_per_unit = unit_days(unit)
    _check_frame(durations, [start_col, duration_col, event_col], "membership_intervals(durations)")
    _check_frame(customers, ["customer_id", join_col, *covariates], "membership_intervals(customers)")
    dur = durations[[start_col, duration_col, event_col]].copy()
    if dur.index.name != "customer_id":
        if "customer_id" in durations.columns:
            dur.index = durations["customer_id"].to_numpy()
        else:
            raise ValueError("durations must be indexed by customer_id (or have a customer_id column)")
    dur.index.name = "customer_id"
    cust = customers.drop_duplicates("customer_id").set_index("customer_id")
    missing = dur.index.difference(cust.index)
    if len(missing):
        raise ValueError(f"{len(missing)} customer(s) in durations are not in customers, e.g. {list(missing[:3])}")
    cust = cust.reindex(dur.index)
    T = dur[duration_col].to_numpy(float)
    if np.any(~np.isfinite(T)) or np.any(T < 0):
        raise ValueError("durations: 'duration' must be finite and >= 0")
    e = dur[event_col].astype(bool).to_numpy()
    join = pd.to_datetime(cust[join_col])
    j = ((join - pd.to_datetime(dur[start_col])).dt.total_seconds() / 86400.0 / days_per_unit).to_numpy()
    never = np.isnan(j) | (j >= T)
    from_start = ~never & (j <= 0)
    split = ~never & ~from_start
    ids = dur.index.to_numpy()
    # a zero-length follow-up cannot enter a Cox risk set; give it a tiny length
    T = np.where(T > 0, T, 1e-6)
    parts = [
        pd.DataFrame({"customer_id": ids[never], "start": 0.0, "stop": T[never], "member": 0, "event": e[never]}),
        pd.DataFrame({"customer_id": ids[from_start], "start": 0.0, "stop": T[from_start], "member": 1,
                      "event": e[from_start]}),
        pd.DataFrame({"customer_id": ids[split], "start": 0.0, "stop": j[split], "member": 0, "event": False}),
        pd.DataFrame({"customer_id": ids[split], "start": j[split], "stop": T[split], "member": 1,
                      "event": e[split]}),
    ]
    long = pd.concat(parts, ignore_index=True)
    for c in covariates:
        long[c] = long["customer_id"].map(cust[c])
    long["event"] = long["event"].astype(bool)
    return long.sort_values(["customer_id", "start"]).reset_index(drop=True)


class TimeVaryingCoxResult(Result):
    """Cox model with loyalty membership as a time-varying covariate.

    Attributes
    ----------
    model : lifelines.CoxTimeVaryingFitter or None
        The lifelines model with ``engine="lifelines"``; None with the default engine.
    hazard_ratios : DataFrame (as :class:`CoxResult`)
    hazard_ratio, ci_low, ci_high, p_value : float
        For the ``member`` term: the churn hazard while a member relative to
        the same customer's hazard as a non-member.
    """

    def __init__(self, model, hazard_ratios, references, n_customers, n_members, events, alpha):
        self.model = model
        self.hazard_ratios = hazard_ratios
        self.references = references
        self.n_customers = n_customers
        self.n_members = n_members
        self.events = events
        self.alpha = alpha
        r = hazard_ratios.loc["member"]
        self.hazard_ratio = float(r["hazard_ratio"])
        self.ci_low = float(r["hr_ci_low"])
        self.ci_high = float(r["hr_ci_high"])
        self.p_value = float(r["p_value"])

    def plain_words(self, lang: str = "en", fmt_pct=None) -> list[str]:
        """One sentence per term (see :func:`hazard_ratio_sentences`)."""
        return hazard_ratio_sentences(self.hazard_ratios, self.references, alpha=self.alpha, lang=lang,
                                      fmt_pct=fmt_pct)

    def summary(self) -> Summary:
        level = int(round(100 * (1 - self.alpha)))
        notes = [
            f"Membership enters as a time-varying covariate: a customer counts as a non-member until the join date, "
            f"which avoids immortal-time bias. {self.n_customers:,} customers, {self.n_members:,} joined during "
            f"follow-up or before, {self.events:,} churned; {level}% intervals.",
            f"While a member, the churn hazard is {self.hazard_ratio:.2f} times the non-member hazard "
            f"(CI {self.ci_low:.2f}-{self.ci_high:.2f}).",
        ]
        return Summary("Loyalty membership and churn (time-varying Cox)", [("Hazard ratios", self.hazard_ratios)],
                       notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"hazard_ratio": self.hazard_ratio, "ci_low": self.ci_low, "ci_high": self.ci_high,
                           "p_value": self.p_value, "n_customers": self.n_customers, "n_members": self.n_members,
                           "events": self.events, "alpha": self.alpha, "hazard_ratios": self.hazard_ratios,
                           "references": self.references})


def fit_time_varying_cox(
    durations: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    join_col: str = "loyalty_join_date",
    covariates: Sequence[str] = (),
    reference: dict | None = None,
    start_col: str = "start",
    duration_col: str = "duration",
    event_col: str = "event",
    unit: str = "D",
    alpha: float = 0.05,
    penalizer: float = 0.0,
    engine: str = "cxlab",
) -> TimeVaryingCoxResult:
    """Hazard ratio of loyalty membership, membership time-varying from the join date.

    Fits :math:`h_i(t) = h_0(t)\\exp(\\beta\\,\\mathrm{member}_i(t) + \\gamma' x_i)`
    on the counting-process rows of :func:`membership_intervals` (Andersen & Gill 1982).
    ``exp(beta)`` is the retention effect of the program: < 1 means members churn
    more slowly.  Static ``covariates`` (columns of ``customers``; categoricals
    become dummies) adjust for who joins.

    Parameters
    ----------
    durations : DataFrame
        Indexed by customer_id with ``start``, ``duration``, ``event``
        (:func:`cxlab.data.churn_durations` or :func:`cxlab.churn.contractual_durations`).
    customers : DataFrame
        ``customer_id``, ``loyalty_join_date`` (NaT = never joined) and covariates.
    unit : {"D", "W", "M"}
        Unit of ``duration``.
    engine : {"cxlab", "lifelines"}
        ``"cxlab"`` (default): the O(n log n) Efron solver
        :func:`_cox_counting_process` (same estimates as lifelines, checked in
        the tests); ``"lifelines"``: ``CoxTimeVaryingFitter`` (slow beyond a few
        thousand customers; supports ``penalizer``).
    """
    long = membership_intervals(durations, customers, join_col=join_col, start_col=start_col,
                                duration_col=duration_col, event_col=event_col, unit=unit,
                                covariates=covariates)
    if long["member"].nunique() < 2:
        raise ValueError("fit_time_varying_cox: nobody (or everybody) is a member during follow-up; "
                         "the membership effect is not estimable")
    if not long["event"].any():
        raise ValueError("fit_time_varying_cox: no events (nobody churned)")
    X, refs = _design(long, list(covariates), reference) if covariates else (pd.DataFrame(index=long.index), {})
    design = pd.concat([long[["member"]].astype(float), X], axis=1)
    z = stats.norm.ppf(1 - alpha / 2)
    if engine == "cxlab":
        if penalizer:
            raise ValueError("penalizer is only supported with engine='lifelines'")
        beta, cov, _, converged = _cox_counting_process(long["start"], long["stop"], long["event"], design)
        if not converged:
            warnings.warn("fit_time_varying_cox: Newton-Raphson did not converge", RuntimeWarning, stacklevel=2)
        se = np.sqrt(np.diag(cov))
        pvals = 2 * stats.norm.sf(np.abs(beta / se))
        model = None
    elif engine == "lifelines":
        from lifelines import CoxTimeVaryingFitter

        frame = pd.concat([long[["customer_id", "start", "stop", "event"]], design], axis=1)
        frame["event"] = frame["event"].astype(int)
        model = CoxTimeVaryingFitter(alpha=alpha, penalizer=penalizer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(frame, id_col="customer_id", start_col="start", stop_col="stop", event_col="event")
        beta = model.summary["coef"].reindex(design.columns).to_numpy()
        se = model.summary["se(coef)"].reindex(design.columns).to_numpy()
        pvals = model.summary["p"].reindex(design.columns).to_numpy()
    else:
        raise ValueError(f"engine must be 'cxlab' or 'lifelines', got {engine!r}")
    hr = pd.DataFrame({
        "coef": beta, "se": se, "hazard_ratio": np.exp(beta),
        "hr_ci_low": np.exp(beta - z * se), "hr_ci_high": np.exp(beta + z * se), "p_value": pvals,
    }, index=design.columns)
    hr.index.name = "term"
    n_members = int(long.loc[long["member"] == 1, "customer_id"].nunique())
    events = int(long["event"].sum())
    return TimeVaryingCoxResult(model, hr, refs, int(long["customer_id"].nunique()), n_members, events, alpha)


class MembershipHazard(Estimator):
    """Estimator wrapper of :func:`fit_time_varying_cox` (scikit-learn style).

    ``MembershipHazard(covariates=["acquisition_channel"]).fit(durations, customers)``
    sets ``result_`` (:class:`TimeVaryingCoxResult`), ``hazard_ratio_`` and
    ``ci_`` = (low, high).
    """

    def __init__(self, join_col: str = "loyalty_join_date", covariates: Sequence[str] = (),
                 reference: dict | None = None, unit: str = "D", alpha: float = 0.05, penalizer: float = 0.0,
                 engine: str = "cxlab"):
        self.engine = engine
        self.join_col = join_col
        self.covariates = covariates
        self.reference = reference
        self.unit = unit
        self.alpha = alpha
        self.penalizer = penalizer

    def fit(self, durations: pd.DataFrame, customers: pd.DataFrame) -> "MembershipHazard":
        self.result_ = fit_time_varying_cox(durations, customers, join_col=self.join_col,
                                            covariates=self.covariates, reference=self.reference,
                                            unit=self.unit, alpha=self.alpha, penalizer=self.penalizer,
                                            engine=self.engine)
        self.hazard_ratio_ = self.result_.hazard_ratio
        self.ci_ = (self.result_.ci_low, self.result_.ci_high)
        return self

    def summary(self) -> Summary:
        self._check_fitted()
        return self.result_.summary()


# ---------------------------------------------------------------------------
# a compact Cox solver for counting-process (start, stop] data
# ---------------------------------------------------------------------------
def _cox_counting_process(start, stop, event, X, *, max_iter: int = 50, tol: float = 1e-9):
    r"""Newton-Raphson for the Cox partial likelihood on (start, stop] rows, Efron ties.

    The risk set at event time :math:`u` is every row with ``start < u <= stop``.
    Its sums :math:`S_0=\sum e^{\eta}`, :math:`S_1=\sum x e^{\eta}`,
    :math:`S_2=\sum x x' e^{\eta}` are reverse cumulative sums over the
    event-time grid of rows binned by ``stop``, minus those binned by ``start``
    (rows not yet at risk), so one Newton step is O(n log n) - unlike lifelines'
    ``CoxTimeVaryingFitter``, which recomputes every risk set (O(events x n);
    15 s for 5,000 customers).  Efron's approximation for ``d`` tied events
    with tie sums :math:`T_k`:

    .. math::
        \ell = \sum_{\text{events}} \eta - \sum_{l=0}^{d-1} \log(S_0 - \tfrac{l}{d} T_0),

    with gradient and information from the same terms (Therneau & Grambsch
    2000, ch. 3).  Returns ``(beta, covariance, log_likelihood, converged)``.
    """
    start = np.asarray(start, float)
    stop = np.asarray(stop, float)
    event = np.asarray(event, bool)
    X = np.asarray(X, float)
    n, p = X.shape
    times = np.unique(stop[event])
    k = times.size
    stop_bin = np.searchsorted(times, stop, side="right") - 1      # last grid time <= stop
    start_bin = np.searchsorted(times, start, side="right") - 1    # grid times <= start: not at risk
    ev_bin = stop_bin[event]
    d = np.bincount(ev_bin, minlength=k).astype(float)
    x_ev_sum = X[event].sum(axis=0)
    iu = np.triu_indices(p)
    # Efron's terms, one per event: (grid time, l/d) for l = 0..d-1 of the d events tied there.
    # Held as arrays rather than looped over l: a time with hundreds of tied events (customers
    # churning on their first day) would otherwise mean hundreds of Python passes per step.
    d_int = d.astype(np.int64)
    term_bin = np.repeat(np.arange(k), d_int)
    term_frac = (np.arange(term_bin.size) - np.repeat(np.cumsum(d_int) - d_int, d_int)) / d[term_bin]
    chunk = max(1, (1 << 22) // (1 + p + iu[0].size))  # terms per block: a few tens of MB at most

    def binned(values, bins):
        """Sum rows of ``values`` into grid bins (negative bin = never at risk)."""
        ok = bins >= 0
        out = np.empty((k, values.shape[1]))
        for j in range(values.shape[1]):
            out[:, j] = np.bincount(bins[ok], weights=values[ok, j], minlength=k)
        return out

    def pieces(beta):
        eta = X @ beta
        eta_max = eta.max()
        r = np.exp(eta - eta_max)   # scaled for stability; the scale cancels in ratios
        xx = (X[:, iu[0]] * X[:, iu[1]])
        v = np.column_stack([r, X * r[:, None], xx * r[:, None]])
        at_stop = binned(v, stop_bin)
        at_start = binned(v, start_bin)
        risk = at_stop[::-1].cumsum(axis=0)[::-1] - at_start[::-1].cumsum(axis=0)[::-1]
        ties = binned(v[event], ev_bin)
        ll = float(eta[event].sum()) - float(d.sum()) * eta_max
        grad = x_ev_sum.copy()
        info_u = np.zeros(iu[0].size)
        for lo in range(0, term_bin.size, chunk):
            rows = term_bin[lo:lo + chunk]
            c = term_frac[lo:lo + chunk, None]
            s = risk[rows] - c * ties[rows]   # S - (l/d) T for S0, S1 and S2 at once
            a, b, s2 = s[:, 0], s[:, 1:1 + p], s[:, 1 + p:]
            ll -= float(np.log(a).sum())
            grad -= (b / a[:, None]).sum(axis=0)
            info_u += (s2 / a[:, None]).sum(axis=0) - ((b[:, iu[0]] * b[:, iu[1]]) / (a**2)[:, None]).sum(axis=0)
        info = np.zeros((p, p))
        info[iu] = info_u
        info = info + info.T - np.diag(np.diag(info))
        return ll, grad, info

    beta = np.zeros(p)
    ll, grad, info = pieces(beta)
    converged = False
    for _ in range(max_iter):
        step = np.linalg.solve(info, grad)
        shrink = 1.0
        while True:
            new_beta = beta + shrink * step
            new_ll, new_grad, new_info = pieces(new_beta)
            if np.isfinite(new_ll) and new_ll >= ll - 1e-12:
                break
            shrink /= 2
            if shrink < 1e-8:
                raise RuntimeError("Cox Newton-Raphson could not improve the likelihood (separation?)")
        done = np.max(np.abs(new_beta - beta)) < tol or abs(new_ll - ll) < 1e-12
        beta, ll, grad, info = new_beta, new_ll, new_grad, new_info
        if done:
            converged = True
            break
    return beta, np.linalg.inv(info), ll, converged
