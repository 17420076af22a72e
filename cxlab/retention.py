"""Cohort retention curves and projected retention (shifted-beta-geometric).

Two parts:

* **Observed retention** from the data layer's tidy cohort table
  (:func:`cxlab.data.cohort_counts`): acquisition cohort x period counts and
  rates, revenue retention, a size-weighted average curve over the complete
  cells only, per-cell and pooled binomial confidence intervals, a heatmap and a
  curve plot.  Nothing here reads raw transactions.

* **Projected retention**: :class:`ShiftedBetaGeometric`, the sBG model of
  Fader & Hardie (2007), "How to project customer retention", *Journal of
  Interactive Marketing* 21(1), 76-90.

Two conventions for "retained in period N" are supported:

``"returned"`` (bounded / classic)
    the share of the cohort active *in* period N.
``"unbounded"`` ("N or later")
    the share of the cohort active in period N *or any later period* - i.e.
    whose last active period is >= N.  This curve never increases, which makes
    it the right input for lifetime-style reasoning.  It needs each customer's
    last active period (see :func:`last_active_periods`, built from
    :func:`cxlab.data.customer_period_panel`).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import special, stats

from cxlab._base import Estimator, Result, Summary, to_builtin
from cxlab._mle import maximize
from cxlab._plotting import heatmap

__all__ = [
    "COHORT_COLUMNS",
    "CohortRetention",
    "ShiftedBetaGeometric",
    "average_retention_curve",
    "binomial_ci",
    "cohort_retention",
    "last_active_periods",
    "plot_retention_curves",
    "plot_retention_heatmap",
    "retention_matrix",
    "retention_table",
]

#: Columns :func:`cxlab.data.cohort_counts` returns and this module needs.
COHORT_COLUMNS = ("cohort", "period", "customers", "revenue", "cohort_size", "complete")

_CONVENTIONS = ("returned", "unbounded")


# ---------------------------------------------------------------------------
# confidence intervals
# ---------------------------------------------------------------------------
def binomial_ci(successes, trials, *, alpha: float = 0.05, method: str = "wilson"):
    """Two-sided confidence interval for a binomial proportion, elementwise.

    Parameters
    ----------
    successes, trials : array-like
        Counts (``0 <= successes <= trials``).  Cells with ``trials == 0`` give NaN.
    alpha : float
        1 - confidence level.
    method : {"wilson", "clopper-pearson"}
        Wilson score interval (Wilson 1927), or the exact Clopper-Pearson
        interval from beta quantiles (Clopper & Pearson 1934).

    Returns
    -------
    (low, high) : tuple of numpy arrays
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(k < 0) or np.any(k > n):
        raise ValueError("binomial_ci: need 0 <= successes <= trials in every cell")
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "wilson":
            z = stats.norm.ppf(1 - alpha / 2)
            p = k / n
            denom = 1 + z**2 / n
            centre = (p + z**2 / (2 * n)) / denom
            half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
            low, high = centre - half, centre + half
            # the bounds are exactly 0 and 1 at k = 0 and k = n; avoid rounding just inside them
            low = np.where(k == 0, 0.0, low)
            high = np.where(k == n, 1.0, high)
        elif method in ("clopper-pearson", "exact"):
            low = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
            high = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
        else:
            raise ValueError(f"binomial_ci: method must be 'wilson' or 'clopper-pearson', got {method!r}")
        low = np.where(n > 0, np.clip(low, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(high, 0, 1), np.nan)
    return low, high


# ---------------------------------------------------------------------------
# observed retention
# ---------------------------------------------------------------------------
def _check_cohorts(cohorts: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(cohorts, pd.DataFrame):
        raise TypeError("cohorts must be the DataFrame returned by cxlab.data.cohort_counts")
    missing = [c for c in COHORT_COLUMNS if c not in cohorts.columns]
    if missing:
        raise ValueError(
            f"cohorts is missing column(s) {missing}; expected the output of cxlab.data.cohort_counts "
            f"with columns {list(COHORT_COLUMNS)}"
        )
    out = cohorts.loc[:, [c for c in cohorts.columns]].copy()
    out["cohort"] = pd.to_datetime(out["cohort"])
    for col in ("period", "customers", "cohort_size"):
        values = pd.to_numeric(out[col], errors="coerce")
        if values.isna().any():
            raise ValueError(f"cohorts column {col!r} has missing or non-numeric values")
        out[col] = values.astype("int64")
    if (out["period"] < 0).any():
        raise ValueError("cohorts column 'period' must be >= 0 (periods since acquisition)")
    bad = out["customers"] > out["cohort_size"]
    if bad.any():
        row = out.loc[bad].iloc[0]
        raise ValueError(
            f"cohorts: customers ({row['customers']}) exceeds cohort_size ({row['cohort_size']}) "
            f"for cohort {row['cohort']:%Y-%m-%d}, period {row['period']}"
        )
    out["revenue"] = pd.to_numeric(out["revenue"], errors="coerce").astype(float).fillna(0.0)
    out["complete"] = out["complete"].astype(bool)
    if out.duplicated(["cohort", "period"]).any():
        raise ValueError("cohorts has duplicated (cohort, period) rows")
    return out


def _periods_between(start: pd.Series, end: pd.Series, period: str) -> np.ndarray:
    """Whole periods from ``start`` to ``end`` (both period starts)."""
    start = pd.to_datetime(start)
    end = pd.to_datetime(end)
    code = period.upper()
    if code.startswith("M"):
        return ((end.dt.year - start.dt.year) * 12 + (end.dt.month - start.dt.month)).to_numpy()
    days = (end - start).dt.days.to_numpy()
    if code.startswith("W"):
        return days // 7
    if code.startswith("D"):
        return days
    raise ValueError(f"period must be 'D', 'W' or 'M', got {period!r}")


def last_active_periods(panel: pd.DataFrame, *, period: str = "M") -> pd.DataFrame:
    """Each customer's acquisition cohort and last active period.

    Parameters
    ----------
    panel : DataFrame
        Output of :func:`cxlab.data.customer_period_panel` (``customer_id``,
        ``period`` as period-start Timestamps, ``transactions``), zero-filled.
    period : {"D", "W", "M"}
        The period length the panel was built with.

    Returns
    -------
    DataFrame with ``customer_id``, ``cohort`` (first active period start) and
    ``last_period`` (int: periods from acquisition to the last active period).
    This is the input the ``"unbounded"`` convention of :func:`retention_table` needs.
    """
    missing = [c for c in ("customer_id", "period", "transactions") if c not in panel.columns]
    if missing:
        raise ValueError(f"panel is missing column(s) {missing}; expected cxlab.data.customer_period_panel output")
    active = panel.loc[pd.to_numeric(panel["transactions"]) > 0, ["customer_id", "period"]]
    if active.empty:
        raise ValueError("panel has no active (transactions > 0) rows")
    grouped = active.groupby("customer_id")["period"]
    out = pd.DataFrame({"cohort": grouped.min(), "last": grouped.max()})
    out["last_period"] = _periods_between(out["cohort"], out["last"], period).astype("int64")
    return out.drop(columns="last").reset_index()


def _unbounded_counts(cohorts: pd.DataFrame, last_active: pd.DataFrame) -> pd.Series:
    """Customers per (cohort, period) whose last active period is >= period."""
    missing = [c for c in ("cohort", "last_period") if c not in last_active.columns]
    if missing:
        raise ValueError(
            f"last_active is missing column(s) {missing}; build it with cxlab.retention.last_active_periods"
        )
    la = last_active.assign(cohort=pd.to_datetime(last_active["cohort"]))
    # count of customers per (cohort, last_period), then a reverse cumulative sum
    # over periods gives "active in period N or later".
    counts = la.groupby(["cohort", "last_period"]).size()
    result = {}
    for cohort, sub in cohorts.groupby("cohort"):
        if cohort not in counts.index.get_level_values(0):
            raise ValueError(f"last_active has no customers of cohort {cohort:%Y-%m-%d}")
        c = counts.loc[cohort]
        horizon = int(max(sub["period"].max(), c.index.max()))
        dense = np.zeros(horizon + 1)
        dense[c.index.to_numpy()] = c.to_numpy()
        tail = dense[::-1].cumsum()[::-1]
        for p in sub["period"]:
            result[(cohort, int(p))] = tail[int(p)]
    return pd.Series(result)


def retention_table(
    cohorts: pd.DataFrame,
    *,
    convention: str = "returned",
    last_active: pd.DataFrame | None = None,
    alpha: float = 0.05,
    ci_method: str = "wilson",
) -> pd.DataFrame:
    """Tidy retention per acquisition cohort and period.

    Parameters
    ----------
    cohorts : DataFrame
        Output of :func:`cxlab.data.cohort_counts` (``cohort, period, customers,
        revenue, cohort_size, complete``).  Periods with no active customer may be
        absent; they are filled with zero.
    convention : {"returned", "unbounded"}
        ``"returned"``: share of the cohort active in period N.  ``"unbounded"``:
        share active in period N or later (needs ``last_active``).
    last_active : DataFrame, optional
        :func:`last_active_periods` output; required for ``"unbounded"``.
    alpha : float
        1 - confidence level of the per-cell interval.
    ci_method : {"wilson", "clopper-pearson"}

    Returns
    -------
    DataFrame, one row per (cohort, period), with ``cohort_size``, ``retained``
    (count under the convention), ``rate`` = retained / cohort_size, ``ci_low``,
    ``ci_high``, ``revenue``, ``revenue_retention`` = revenue / period-0
    revenue of the cohort, and ``complete``.
    """
    if convention not in _CONVENTIONS:
        raise ValueError(f"convention must be one of {_CONVENTIONS}, got {convention!r}")
    c = _check_cohorts(cohorts)
    sizes = c.groupby("cohort")["cohort_size"].agg(["min", "max"])
    if (sizes["min"] != sizes["max"]).any():
        raise ValueError("cohorts: cohort_size differs between rows of the same cohort")

    # Fill absent periods (nobody active) with zeros up to the cohort's last row,
    # so curves do not skip a period.  A filled cell lies before a period that
    # has activity, i.e. has already begun, so the filled period is complete.
    # (one reindex over all cohorts: a loop over cohorts costs milliseconds each)
    by_cohort = c.groupby("cohort")
    last = by_cohort["period"].max().astype("int64")
    if last.empty:
        raise ValueError("cohorts has no rows with a cohort date: no customer was acquired in the data window")
    grid = pd.MultiIndex.from_arrays(
        [np.repeat(last.index, last.to_numpy() + 1),
         np.concatenate([np.arange(n + 1) for n in last.to_numpy()])],
        names=["cohort", "period"])
    full = c.set_index(["cohort", "period"]).reindex(grid)
    full["cohort_size"] = grid.get_level_values("cohort").map(by_cohort["cohort_size"].first()).to_numpy()
    full[["customers", "revenue"]] = full[["customers", "revenue"]].fillna(0)
    full["complete"] = full["complete"].astype("boolean").fillna(True).astype(bool)
    c = full.reset_index()
    c["customers"] = c["customers"].astype("int64")

    if convention == "returned":
        c["retained"] = c["customers"]
    else:
        if last_active is None:
            raise ValueError(
                "convention='unbounded' needs last_active (each customer's last active period); "
                "build it with cxlab.retention.last_active_periods(cxlab.data.customer_period_panel(...))"
            )
        counts = _unbounded_counts(c, last_active)
        c["retained"] = [int(counts.get((k, int(p)), 0)) for k, p in zip(c["cohort"], c["period"])]
        if (c["retained"] > c["cohort_size"]).any():
            raise ValueError("last_active has more customers than cohort_size for some cohort")

    c["rate"] = c["retained"] / c["cohort_size"].where(c["cohort_size"] > 0)
    low, high = binomial_ci(c["retained"], c["cohort_size"], alpha=alpha, method=ci_method)
    c["ci_low"], c["ci_high"] = low, high
    base = c.loc[c["period"] == 0].set_index("cohort")["revenue"]
    base_rev = c["cohort"].map(base).astype(float)
    c["revenue_retention"] = c["revenue"] / base_rev.where(base_rev != 0)
    cols = ["cohort", "period", "cohort_size", "retained", "rate", "ci_low", "ci_high",
            "revenue", "revenue_retention", "complete"]
    return c[cols].sort_values(["cohort", "period"]).reset_index(drop=True)


def retention_matrix(table: pd.DataFrame, *, value: str = "rate", complete_only: bool = True) -> pd.DataFrame:
    """Cohort x period matrix of one column of :func:`retention_table`.

    ``value`` may be ``"rate"``, ``"retained"``, ``"revenue"``,
    ``"revenue_retention"``, ``"ci_low"`` or ``"ci_high"``.  Incomplete cells
    are NaN when ``complete_only`` (they would show a spurious drop).
    """
    if value not in table.columns:
        raise ValueError(f"retention_matrix: unknown value {value!r}; choose from {list(table.columns)}")
    t = table.copy()
    if complete_only:
        t.loc[~t["complete"].astype(bool), value] = np.nan
    m = t.pivot(index="cohort", columns="period", values=value).astype(float)
    m.index.name, m.columns.name = "cohort", "period"
    return m


def average_retention_curve(
    table: pd.DataFrame, *, alpha: float = 0.05, ci_method: str = "wilson"
) -> pd.DataFrame:
    """Cohort-size-weighted average retention curve over complete cells only.

    For period N the rate is ``sum(retained) / sum(cohort_size)`` over the
    cohorts whose period N is complete - i.e. the pooled proportion, which is
    the average of the cohorts' rates weighted by cohort size.  Incomplete
    (still running) periods are skipped, so the last periods rest on the oldest
    cohorts.  The interval is a binomial interval on the pooled counts.
    Revenue retention is pooled the same way: ``sum(revenue_N) / sum(revenue_0)``.
    """
    t = table.loc[table["complete"].astype(bool)]
    if t.empty:
        raise ValueError("average_retention_curve: no complete (cohort, period) cell")
    base = table.loc[table["period"] == 0].set_index("cohort")["revenue"]
    t = t.assign(base_revenue=t["cohort"].map(base).astype(float))
    g = t.groupby("period").agg(
        n_cohorts=("cohort", "nunique"),
        cohort_size=("cohort_size", "sum"),
        retained=("retained", "sum"),
        revenue=("revenue", "sum"),
        base_revenue=("base_revenue", "sum"),
    )
    g["rate"] = g["retained"] / g["cohort_size"]
    g["ci_low"], g["ci_high"] = binomial_ci(g["retained"], g["cohort_size"], alpha=alpha, method=ci_method)
    g["revenue_retention"] = g["revenue"] / g["base_revenue"].where(g["base_revenue"] != 0)
    return g.drop(columns="base_revenue").reset_index()


class CohortRetention(Result):
    """Retention per cohort and the size-weighted average curve.

    Attributes
    ----------
    table : DataFrame
        :func:`retention_table` output.
    average : DataFrame
        :func:`average_retention_curve` output.
    convention : str
    """

    def __init__(self, table: pd.DataFrame, average: pd.DataFrame, convention: str, alpha: float):
        self.table = table
        self.average = average
        self.convention = convention
        self.alpha = alpha

    def matrix(self, value: str = "rate", complete_only: bool = True) -> pd.DataFrame:
        """Cohort x period matrix (see :func:`retention_matrix`)."""
        return retention_matrix(self.table, value=value, complete_only=complete_only)

    def summary(self) -> Summary:
        avg = self.average.set_index("period")[
            ["n_cohorts", "cohort_size", "retained", "rate", "ci_low", "ci_high", "revenue_retention"]
        ]
        label = "active in period N" if self.convention == "returned" else "active in period N or later"
        level = int(round(100 * (1 - self.alpha)))
        notes = [
            f"Retention = share of the cohort {label}; average weighted by cohort size over complete periods only; "
            f"{level}% binomial confidence intervals on pooled counts.",
        ]
        return Summary(
            title=f"Cohort retention ({self.convention})",
            tables=[("Average retention curve", avg), ("Retention rate by cohort", self.matrix("rate"))],
            notes=notes,
        )

    def to_dict(self) -> dict[str, Any]:
        return to_builtin(
            {"convention": self.convention, "alpha": self.alpha, "average": self.average, "table": self.table}
        )


def cohort_retention(
    cohorts: pd.DataFrame,
    *,
    convention: str = "returned",
    last_active: pd.DataFrame | None = None,
    alpha: float = 0.05,
    ci_method: str = "wilson",
) -> CohortRetention:
    """Retention table + average curve in one result (see :func:`retention_table`)."""
    table = retention_table(
        cohorts, convention=convention, last_active=last_active, alpha=alpha, ci_method=ci_method
    )
    average = average_retention_curve(table, alpha=alpha, ci_method=ci_method)
    return CohortRetention(table, average, convention, alpha)


# ---------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------
def _table_from(data) -> pd.DataFrame:
    if isinstance(data, CohortRetention):
        return data.table
    if isinstance(data, pd.DataFrame):
        return data
    raise TypeError("data must be a retention_table DataFrame or a CohortRetention result")


def plot_retention_heatmap(
    data, *, value: str = "rate", complete_only: bool = True, annot: bool | None = None,
    date_format: str = "%Y-%m", ax=None, **kwargs,
):
    """Cohort x period heatmap (seaborn) of a :func:`retention_table` column.

    ``data``: retention table or :class:`CohortRetention`.  Extra keyword
    arguments go to :func:`seaborn.heatmap`.  Returns the Axes.
    """
    import matplotlib.pyplot as plt

    m = retention_matrix(_table_from(data), value=value, complete_only=complete_only)
    # seaborn needs plain float64 numpy data (fails on nullable dtypes)
    m = pd.DataFrame(m.to_numpy(dtype="float64"), index=[f"{d:{date_format}}" for d in m.index],
                     columns=m.columns.astype(int))
    if ax is None:
        _, ax = plt.subplots(figsize=(min(2 + 0.5 * m.shape[1], 14), min(1.5 + 0.35 * m.shape[0], 12)))
    if annot is None:
        annot = m.shape[1] <= 18 and m.shape[0] <= 24
    is_rate = value in ("rate", "revenue_retention", "ci_low", "ci_high")
    opts = dict(cmap="viridis", annot=annot, fmt=".0%" if is_rate else ".0f", cbar=True,
                annot_kws={"fontsize": 7})
    if value == "rate":
        opts.update(vmin=0.0, vmax=1.0)
    opts.update(kwargs)
    heatmap(m, ax=ax, **opts)
    # the cell labels lie inside the Axes: leaving them out of the tight-bbox search saves a pass
    # over hundreds of texts whenever the figure is saved with bbox_inches="tight"
    for text in ax.texts:
        text.set_in_layout(False)
    ax.set_xlabel("periods since acquisition")
    ax.set_ylabel("acquisition cohort")
    return ax


def plot_retention_curves(
    data, *, value: str = "rate", average: bool = True, complete_only: bool = True,
    max_cohorts: int | None = 12, ax=None, **kwargs,
):
    """Retention curves per cohort (thin lines) and the weighted average with its band.

    ``data``: retention table or :class:`CohortRetention`.  Returns the Axes.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = _table_from(data)
    t = table.loc[table["complete"].astype(bool)] if complete_only else table
    if max_cohorts is not None:
        keep = sorted(t["cohort"].unique())[-max_cohorts:]
        t_plot = t.loc[t["cohort"].isin(keep)]
    else:
        t_plot = t
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    frame = pd.DataFrame({
        "period": t_plot["period"].to_numpy(dtype="float64"),
        value: t_plot[value].to_numpy(dtype="float64"),
        "cohort": [f"{d:%Y-%m-%d}" for d in t_plot["cohort"]],
    })
    # one row per (cohort, period): nothing to aggregate, so no estimator (seaborn would compute a
    # mean and a bootstrap interval per point to draw the very same lines)
    opts = dict(alpha=0.45, linewidth=1, legend=False, palette="crest", estimator=None)
    opts.update(kwargs)
    sns.lineplot(data=frame, x="period", y=value, hue="cohort", ax=ax, **opts)
    if average:
        avg = average_retention_curve(table)
        col = value if value in avg.columns else "rate"
        ax.plot(avg["period"], avg[col], color="black", linewidth=2.5, label="weighted average")
        if col == "rate":
            ax.fill_between(avg["period"].to_numpy(float), avg["ci_low"].to_numpy(float),
                            avg["ci_high"].to_numpy(float), color="black", alpha=0.15, linewidth=0)
        ax.legend(loc="upper right")
    ax.set_xlabel("periods since acquisition")
    ax.set_ylabel("retention" if value == "rate" else value.replace("_", " "))
    ax.set_ylim(bottom=0)
    return ax


# ---------------------------------------------------------------------------
# shifted-beta-geometric
# ---------------------------------------------------------------------------
class ShiftedBetaGeometric(Estimator):
    r"""Shifted-beta-geometric (sBG) model of contractual retention.

    Fader & Hardie (2007), "How to project customer retention", *Journal of
    Interactive Marketing* 21(1).  Each customer renews each period with a
    constant probability :math:`1-\theta`; :math:`\theta` varies across
    customers as Beta(:math:`\alpha, \beta`).  Then for periods
    :math:`t = 1, 2, \ldots`

    .. math::
        P(T = t) = \frac{B(\alpha + 1, \beta + t - 1)}{B(\alpha, \beta)}, \qquad
        S(t) = \frac{B(\alpha, \beta + t)}{B(\alpha, \beta)}, \qquad
        r_t = \frac{S(t)}{S(t-1)} = \frac{\beta + t - 1}{\alpha + \beta + t - 1}.

    Parameters are estimated by maximum likelihood on log(alpha), log(beta)
    (so they stay positive) with the survivor counts as data: the customers
    lost in period t contribute :math:`\ln P(T=t)` each, those still active at
    the last period :math:`\ln S(t_{last})` each.

    Parameters
    ----------
    initial : (float, float)
        Starting values of (alpha, beta).
    alpha_ci : float
        1 - confidence level of the parameter intervals in ``summary``.

    Attributes
    ----------
    params_ : dict  {"alpha", "beta"}
    standard_errors_ : dict
        From the inverse Hessian of the log-likelihood (delta method from the
        log scale).
    log_likelihood_ : float
    survivors_ : ndarray
        The fitted survivor counts, ``survivors_[0]`` the cohort size.
    """

    def __init__(self, initial: tuple[float, float] = (1.0, 1.0), alpha_ci: float = 0.05):
        self.initial = initial
        self.alpha_ci = alpha_ci

    # -- likelihood -------------------------------------------------------
    @staticmethod
    def _check_survivors(survivors) -> np.ndarray:
        s = np.asarray(survivors, dtype=float)
        if s.ndim != 1 or s.size < 2:
            raise ValueError("survivors must be a 1-D sequence with the cohort size first and at least 2 values")
        if np.any(~np.isfinite(s)) or np.any(s < 0):
            raise ValueError("survivors must be finite and non-negative")
        if s[0] <= 0:
            raise ValueError("survivors[0] (the cohort size) must be positive")
        if np.any(np.diff(s) > 0):
            i = int(np.argmax(np.diff(s) > 0)) + 1
            raise ValueError(f"survivors must not increase: period {i} has {s[i]} > {s[i - 1]}")
        return s

    @staticmethod
    def _log_pmf(alpha: float, beta: float, t: np.ndarray) -> np.ndarray:
        return special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta)

    @staticmethod
    def _log_sf(alpha: float, beta: float, t: np.ndarray) -> np.ndarray:
        return special.betaln(alpha, beta + t) - special.betaln(alpha, beta)

    @classmethod
    def _loglik(cls, log_params: np.ndarray, survivors: np.ndarray) -> float:
        return cls._loglik_and_grad(log_params, survivors)[0]

    @staticmethod
    def _loglik_and_grad(log_params: np.ndarray, survivors: np.ndarray) -> tuple[float, np.ndarray]:
        """Log-likelihood and its analytic gradient in (log alpha, log beta).

        d/da ln B(a, b) = psi(a) - psi(a + b), d/db ln B(a, b) = psi(b) - psi(a + b).
        """
        alpha, beta = np.exp(log_params)
        t = np.arange(1, survivors.size)
        lost = survivors[:-1] - survivors[1:]
        last, n_last = t[-1], survivors[-1]
        psi = special.digamma
        log_pmf = special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta)
        log_sf = special.betaln(alpha, beta + last) - special.betaln(alpha, beta)
        ll = float(np.sum(lost * log_pmf) + n_last * log_sf)
        base_a, base_b = psi(alpha) - psi(alpha + beta), psi(beta) - psi(alpha + beta)
        g_a = np.sum(lost * (psi(alpha + 1) - psi(alpha + beta + t) - base_a)) + n_last * (
            psi(alpha + beta) - psi(alpha + beta + last))
        g_b = np.sum(lost * (psi(beta + t - 1) - psi(alpha + beta + t) - base_b)) + n_last * (
            psi(beta + last) - psi(alpha + beta + last) - base_b)
        return ll, np.array([g_a * alpha, g_b * beta])

    def fit(self, survivors) -> "ShiftedBetaGeometric":
        """Fit to survivor counts ``[n_0, n_1, ..., n_T]`` (customers active at the start of periods 0..T).

        Maximum likelihood through the shared core :func:`cxlab._mle.maximize`
        (analytic gradient in log-parameters, Newton polish, convergence by the
        Newton decrement; ``converged_`` and ``convergence_message_`` report it).
        """
        s = self._check_survivors(survivors)
        if s[-1] == s[0]:
            raise ValueError("survivors: nobody churned, so the sBG parameters are not identified")
        initial = np.asarray(self.initial, dtype=float)
        if initial.shape != (2,) or np.any(~np.isfinite(initial)) or np.any(initial <= 0):
            raise ValueError(f"initial must be two positive numbers (alpha, beta), got {self.initial!r}")
        x0 = np.log(initial)
        fit = maximize(lambda p: self._loglik_and_grad(p, s), x0, n_obs=s[0], bounds=[(-20.0, 20.0)] * 2,
                       method="TNC", extra_starts=[x0 + 1.0, x0 - 1.0])
        log_a, log_b = fit.x
        self.survivors_ = s
        self.params_ = {"alpha": float(np.exp(log_a)), "beta": float(np.exp(log_b))}
        self.log_likelihood_ = float(fit.log_likelihood)
        cov_log = fit.covariance  # observed information on the log scale; delta method below
        se_log = np.sqrt(np.clip(np.diag(cov_log), 0, None))
        self.covariance_log_ = cov_log
        self.standard_errors_ = {"alpha": float(se_log[0] * np.exp(log_a)), "beta": float(se_log[1] * np.exp(log_b))}
        self.converged_ = fit.converged
        self.convergence_message_ = fit.message
        return self

    # -- predictions ------------------------------------------------------
    def survival_function(self, t) -> np.ndarray:
        """S(t): probability a customer is still active at the start of period t (S(0) = 1)."""
        self._check_fitted()
        t = np.asarray(t, dtype=float)
        return np.exp(self._log_sf(self.params_["alpha"], self.params_["beta"], t))

    def retention_rate(self, t) -> np.ndarray:
        """r_t = S(t)/S(t-1) = (beta + t - 1)/(alpha + beta + t - 1), for t >= 1."""
        self._check_fitted()
        t = np.asarray(t, dtype=float)
        if np.any(t < 1):
            raise ValueError("retention_rate is defined for t >= 1")
        a, b = self.params_["alpha"], self.params_["beta"]
        return (b + t - 1) / (a + b + t - 1)

    def churn_probability(self, t) -> np.ndarray:
        """P(T = t): probability of churning at the end of period t (t >= 1)."""
        self._check_fitted()
        t = np.asarray(t, dtype=float)
        return np.exp(self._log_pmf(self.params_["alpha"], self.params_["beta"], t))

    def project(self, periods: int | Iterable[int]) -> pd.DataFrame:
        """Expected survivors, survival and retention rate for periods 0..periods.

        ``periods``: last period (int) or an iterable of periods.  Columns:
        ``period, survival, expected_survivors, retention_rate, observed``
        (observed survivors where the fit had data, else NaN).
        """
        self._check_fitted()
        t = np.arange(int(periods) + 1) if np.isscalar(periods) else np.asarray(list(periods), dtype=int)
        n0 = self.survivors_[0]
        surv = self.survival_function(t)
        rate = np.where(t >= 1, self.retention_rate(np.maximum(t, 1)), np.nan)
        observed = np.array([self.survivors_[i] if 0 <= i < self.survivors_.size else np.nan for i in t])
        return pd.DataFrame({"period": t, "survival": surv, "expected_survivors": n0 * surv,
                             "retention_rate": rate, "observed": observed})

    def expected_lifetime(self) -> float:
        """Mean number of periods a new customer stays, E[T] = (alpha + beta - 1)/(alpha - 1); inf if alpha <= 1."""
        self._check_fitted()
        a, b = self.params_["alpha"], self.params_["beta"]
        return float((a + b - 1) / (a - 1)) if a > 1 else float("inf")

    def summary(self) -> Summary:
        self._check_fitted()
        z = stats.norm.ppf(1 - self.alpha_ci / 2)
        rows = []
        for name in ("alpha", "beta"):
            est, se = self.params_[name], self.standard_errors_[name]
            idx = 0 if name == "alpha" else 1
            se_log = np.sqrt(self.covariance_log_[idx, idx])
            rows.append({"parameter": name, "estimate": est, "std_error": se,
                         "ci_low": est * np.exp(-z * se_log), "ci_high": est * np.exp(z * se_log)})
        params = pd.DataFrame(rows).set_index("parameter")
        proj = self.project(self.survivors_.size + 4).set_index("period")
        return Summary(
            title="Shifted-beta-geometric retention model (Fader & Hardie 2007)",
            tables=[("Parameters", params), ("Fit and projection", proj)],
            notes=[f"Log-likelihood {self.log_likelihood_:.2f} on {self.survivors_.size - 1} periods; "
                   "intervals are log-scale Wald intervals."],
        )

    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return to_builtin({"params": self.params_, "standard_errors": self.standard_errors_,
                           "log_likelihood": self.log_likelihood_, "survivors": self.survivors_})

    def __str__(self) -> str:
        return self.summary().as_text() if self.is_fitted else repr(self)

    def _repr_html_(self) -> str:
        return self.summary().as_html() if self.is_fitted else repr(self)

