"""Historical (observed) LTV by acquisition cohort, LTV/CAC and payback month.

Input is the data layer's ``cohort_counts`` table (one row per acquisition
cohort and period since acquisition). Cumulative value per acquired customer
of cohort ``c`` after ``k`` periods is

.. math:: \\mathrm{LTV}_{c,k} = \\frac{\\sum_{j \\le k} \\mathrm{revenue}_{c,j}}{\\mathrm{cohort\\ size}_c}

(times a margin rate, or using a margin column when the log has one). With an
acquisition cost per customer (CAC) it adds ``ltv_to_cac`` and the payback
period: the first period whose cumulative margin per customer reaches the CAC.
Only fully observed periods (``complete``) are kept, so the last, partial
month does not bend the curves down.
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin

__all__ = ["CohortLTV", "cohort_ltv", "cohort_acquisition_cost", "plot_cohort_ltv"]


class CohortLTV(Result):
    """Cumulative value per acquired customer by cohort and period.

    Attributes
    ----------
    table : DataFrame
        Tidy: ``cohort, period, cohort_size, revenue, cumulative_revenue,
        ltv`` (cumulative value per acquired customer, margin applied),
        and with CAC ``cac, ltv_to_cac``.
    payback : DataFrame or None
        Per cohort: ``cac``, ``payback_period`` (NaN if not yet paid back),
        ``ltv_last``, ``periods_observed``.
    """

    def __init__(self, table: pd.DataFrame, payback: pd.DataFrame | None, margin_rate: float | None, period: str):
        self.table = table
        self.payback = payback
        self.margin_rate = margin_rate
        self.period = period

    def wide(self, value: str = "ltv") -> pd.DataFrame:
        """Cohort × period matrix of ``value``."""
        return self.table.pivot(index="cohort", columns="period", values=value)

    def average_curve(self) -> pd.DataFrame:
        """Customer-weighted mean LTV by period over the cohorts that observed it."""
        t = self.table
        g = t.assign(v=t["ltv"] * t["cohort_size"]).groupby("period")
        return pd.DataFrame({"ltv": g["v"].sum() / g["cohort_size"].sum(), "cohorts": g.size()})

    def summary(self) -> Summary:
        tables = [("LTV per acquired customer (cohort x period)", self.wide().round(2))]
        if self.payback is not None:
            tables.append(("Payback", self.payback))
        basis = "revenue" if self.margin_rate is None else f"margin ({self.margin_rate:.0%} of revenue)"
        return Summary("Cohort LTV", tables, [f"Cumulative {basis} per acquired customer; complete periods only."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"table": self.table, "payback": self.payback, "margin_rate": self.margin_rate,
                           "period": self.period})


def cohort_ltv(cohorts: pd.DataFrame, *, margin_rate: float | None = None, cac: Any = None,
               period: str = "M", complete_only: bool = True) -> CohortLTV:
    """Historical cumulative LTV per acquired customer by cohort and period.

    Parameters
    ----------
    cohorts : DataFrame
        ``cxlab.data.cohort_counts`` output (``cohort, period, revenue,
        cohort_size``, optionally ``complete`` and ``margin``).
    margin_rate : float, optional
        Margin as a share of revenue. Ignored when ``cohorts`` has a
        ``margin`` column (then margin is summed as given).
    cac : float, Series or DataFrame, optional
        Acquisition cost per customer: a scalar for all cohorts, a Series
        indexed by cohort, or :func:`cohort_acquisition_cost` output.
    period : str
        The period of ``cohorts`` (label only).
    complete_only : bool
        Drop periods not fully observed.
    """
    need = {"cohort", "period", "revenue", "cohort_size"}
    missing = need - set(cohorts.columns)
    if missing:
        raise ValueError(f"cohort_ltv: columns {sorted(missing)} missing; pass cxlab.data.cohort_counts output")
    if margin_rate is not None and not 0 < margin_rate <= 1:
        raise ValueError(f"margin_rate must be in (0, 1], got {margin_rate}")
    t = cohorts.copy()
    if complete_only and "complete" in t.columns:
        t = t[t["complete"].astype(bool)]
    t = t.sort_values(["cohort", "period"]).reset_index(drop=True)
    t["cumulative_revenue"] = t.groupby("cohort")["revenue"].cumsum()
    if "margin" in t.columns:
        value = t.groupby("cohort")["margin"].cumsum()
        margin_rate = None
    else:
        value = t["cumulative_revenue"] * (1.0 if margin_rate is None else margin_rate)
    t["ltv"] = value / t["cohort_size"].where(t["cohort_size"] > 0)
    payback = None
    if cac is not None:
        cac_by_cohort = _cac_series(cac, t["cohort"].unique())
        t["cac"] = t["cohort"].map(cac_by_cohort).astype(float)
        t["ltv_to_cac"] = t["ltv"] / t["cac"].where(t["cac"] > 0)
        rows = []
        for cohort, g in t.groupby("cohort", sort=True):
            paid = g.loc[g["ltv"] >= g["cac"], "period"]
            rows.append({"cohort": cohort, "cac": g["cac"].iloc[0],
                         "payback_period": float(paid.iloc[0]) if len(paid) else np.nan,
                         "ltv_last": g["ltv"].iloc[-1], "ltv_to_cac_last": g["ltv_to_cac"].iloc[-1],
                         "periods_observed": int(g["period"].max()) + 1})
        payback = pd.DataFrame(rows).set_index("cohort")
    cols = ["cohort", "period", "cohort_size", "revenue", "cumulative_revenue", "ltv"]
    cols += [c for c in ("cac", "ltv_to_cac") if c in t.columns]
    return CohortLTV(t[cols], payback, margin_rate, period)


def _cac_series(cac: Any, cohorts: np.ndarray) -> pd.Series:
    if isinstance(cac, pd.DataFrame):
        if "cac" not in cac.columns:
            raise ValueError("cac DataFrame needs a 'cac' column (cohort_acquisition_cost output)")
        cac = cac["cac"]
    if isinstance(cac, pd.Series):
        return cac
    value = float(cac)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"cac must be a non-negative number, got {cac!r}")
    return pd.Series(value, index=pd.Index(cohorts))


def cohort_acquisition_cost(summary: pd.DataFrame, customers: pd.DataFrame, *, period: str = "M") -> pd.DataFrame:
    """Mean acquisition cost per customer of each acquisition cohort.

    Parameters
    ----------
    summary : DataFrame
        ``customer_summary`` output (index ``customer_id``, ``first_purchase``).
    customers : DataFrame
        Customers table with ``customer_id`` and ``acquisition_cost``.
    period : {"M", "Q", "W"}
        Cohort period, as in ``cohort_counts``.

    Returns
    -------
    DataFrame indexed by cohort start: ``cac`` (mean over customers with a
    known cost), ``customers_with_cost``.
    """
    if "acquisition_cost" not in customers.columns or "customer_id" not in customers.columns:
        raise ValueError("customers needs 'customer_id' and 'acquisition_cost' columns")
    cost = customers.set_index(customers["customer_id"].astype(str))["acquisition_cost"].astype(float)
    first = pd.to_datetime(summary["first_purchase"])
    freq = {"M": "M", "Q": "Q", "W": "W-SUN"}.get(period)
    if freq is None:
        raise ValueError(f"period must be 'M', 'Q' or 'W', got {period!r}")
    cohort = first.dt.to_period(freq).dt.start_time
    frame = pd.DataFrame({"cohort": cohort.to_numpy(), "cost": cost.reindex(summary.index.astype(str)).to_numpy()})
    g = frame.groupby("cohort")["cost"]
    return pd.DataFrame({"cac": g.mean(), "customers_with_cost": g.count()})


def plot_cohort_ltv(data: CohortLTV | pd.DataFrame, *, value: str = "ltv", cac: float | None = None, ax=None):
    """LTV curves per cohort (lines) against periods since acquisition."""
    t = data.table if isinstance(data, CohortLTV) else data
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    cohorts = sorted(t["cohort"].unique())
    cmap = plt.get_cmap("viridis", max(len(cohorts), 2))
    for i, c in enumerate(cohorts):
        g = t[t["cohort"] == c]
        ax.plot(g["period"].to_numpy(), g[value].to_numpy(float), color=cmap(i), lw=1.2,
                label=pd.Timestamp(c).strftime("%Y-%m-%d"))
    if cac is not None:
        ax.axhline(cac, color="red", linestyle="--", label="CAC")
    ax.set_xlabel("periods since acquisition")
    ax.set_ylabel("cumulative value per acquired customer")
    if len(cohorts) <= 12:
        ax.legend(fontsize="small", ncol=2)
    return ax
