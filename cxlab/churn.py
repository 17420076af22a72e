"""Churn definitions: per-customer duration/event tables for survival analysis.

Non-contractual businesses (shops) never see a customer leave; a customer is
called churned after no purchase for a threshold X.  :func:`churn_threshold_analysis`
helps choose X from the distribution of gaps between purchases, estimated by
Kaplan-Meier with each customer's open last gap (last purchase to the end of
the data) treated as censored - ignoring the open gaps would understate how
long normal pauses last.

For a candidate X it reports

* ``false_churn_rate`` = P(gap > X) from the gap curve: the share of pauses of
  customers who *do* come back that are longer than X, i.e. the chance a
  still-active customer is wrongly flagged as churned;
* ``share_flagged`` = the share of customers whose current pause (observation
  end - last purchase) exceeds X, i.e. who would be called churned today.

A small X flags many loyal-but-slow customers; a large X reacts late.  A
common rule takes X as the q-th percentile (90% or 95%) of the gap distribution.

Contractual businesses know the end date: :func:`contractual_durations`
builds the same table from signup and end dates.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin
from cxlab.survival import aggregate_durations, _km_from_table
from cxlab.units import unit_days

__all__ = [
    "ChurnThresholdAnalysis",
    "ThresholdChoice",
    "choose_churn_threshold",
    "churn_table",
    "churn_threshold_analysis",
    "contractual_durations",
    "plot_churn_threshold",
]

class ChurnThresholdAnalysis(Result):
    """Gap distribution and the churn-threshold trade-off.

    Attributes
    ----------
    curve : DataFrame
        ``gap, survival`` - Kaplan-Meier P(gap > x) at each distinct gap.
    tradeoff : DataFrame
        Per candidate ``threshold``: ``false_churn_rate``, ``share_flagged``.
    recommended : DataFrame
        Per quantile q: ``threshold`` chosen by :func:`choose_churn_threshold` (the q-th KM
        percentile of gaps, or of the pauses that end when the curve levels off above 1 - q),
        ``rule``, ``false_churn_rate``, ``share_flagged``.
    unit : str
    n_customers, n_gaps, n_open : int
    """

    def __init__(self, curve, tradeoff, recommended, unit, n_customers, n_gaps, n_open, open_gaps=None):
        self.open_gaps = np.asarray(open_gaps if open_gaps is not None else [], dtype=float)
        self.curve = curve
        self.tradeoff = tradeoff
        self.recommended = recommended
        self.unit = unit
        self.n_customers = n_customers
        self.n_gaps = n_gaps
        self.n_open = n_open

    def threshold(self, quantile: float = 0.9) -> float:
        """X such that a fraction ``quantile`` of pauses end (the customer buys again) within X."""
        return _km_quantile(self.curve, quantile)

    def summary(self) -> Summary:
        notes = [
            f"{self.n_customers:,} customers, {self.n_gaps:,} completed gaps between purchases, "
            f"{self.n_open:,} open last gaps treated as censored (Kaplan-Meier). Time in {self.unit}.",
            "false_churn_rate: chance a customer who will buy again pauses longer than the threshold "
            "(wrongly flagged); share_flagged: customers whose current pause exceeds it.",
        ]
        return Summary("Choosing the churn threshold",
                       [("Recommended thresholds", self.recommended.set_index("quantile")),
                        ("Trade-off", self.tradeoff.set_index("threshold"))], notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"unit": self.unit, "n_customers": self.n_customers, "n_gaps": self.n_gaps,
                           "n_open": self.n_open, "recommended": self.recommended, "tradeoff": self.tradeoff})


    def choose(self, quantile: float = 0.9) -> "ThresholdChoice":
        """The no-purchase threshold by the stated rule (see :func:`choose_churn_threshold`)."""
        return choose_churn_threshold(self, quantile)


class ThresholdChoice(Result):
    """A churn threshold and the rule that chose it.

    Attributes
    ----------
    threshold : float
        Days (or the analysis' unit) without a purchase after which a customer counts as churned.
    rule : {"km_quantile", "returning_quantile"}
        ``km_quantile``: the ``quantile``-th percentile of the Kaplan-Meier gap
        distribution. ``returning_quantile``: that percentile was not reached
        (the curve levels off above ``1 - quantile``), so the threshold is the
        ``quantile``-th percentile of the pauses that end.
    quantile : float
    plateau : float
        The lowest value of the gap curve, P(pause > longest completed gap): the
        share of pauses not seen to end, mostly of customers who left.
    false_churn_rate : float
        Share of pauses of returning customers longer than the threshold (for
        ``km_quantile``: of all pauses, as the curve estimates them).
    share_flagged : float
        Share of customers whose current pause exceeds the threshold.
    """

    def __init__(self, threshold, rule, quantile, plateau, false_churn_rate, share_flagged, unit):
        self.threshold = float(threshold)
        self.rule = rule
        self.quantile = float(quantile)
        self.plateau = float(plateau)
        self.false_churn_rate = float(false_churn_rate)
        self.share_flagged = float(share_flagged)
        self.unit = unit

    def summary(self) -> Summary:
        table = pd.DataFrame({"value": [self.threshold, self.quantile, self.plateau, self.false_churn_rate,
                                        self.share_flagged]},
                             index=["threshold", "quantile", "plateau", "false_churn_rate", "share_flagged"])
        return Summary("Churn threshold", [("", table)], [f"Rule: {self.rule}; time in {self.unit}."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({k: getattr(self, k) for k in ("threshold", "rule", "quantile", "plateau",
                                                          "false_churn_rate", "share_flagged", "unit")})


def choose_churn_threshold(analysis: ChurnThresholdAnalysis, quantile: float = 0.9, *,
                           rule: str | None = None) -> ThresholdChoice:
    """Choose the no-purchase churn threshold from the gap distribution; always yields a value.

    Rule: X is the ``quantile``-th percentile of the Kaplan-Meier distribution of
    pauses between purchases (open last pauses censored): ``quantile`` of all
    pauses end within X. In non-contractual data some pauses never end (the
    customer has left), so the curve can level off above ``1 - quantile`` — on
    CDNOW it stays above 20 %. Then X is the ``quantile``-th percentile of the
    pauses that *do* end, estimated as the mixture-cure reading of the same
    curve: ``F(x) = (1 - S(x)) / (1 - S_min)`` with ``S_min`` the curve's last
    value (Maller & Zhou 1996, *Survival Analysis with Long-Term Survivors*).

    ``rule`` forces one reading (``"km_quantile"``: NaN threshold when the curve does not
    reach ``1 - quantile``; ``"returning_quantile"``) instead of the rule above.

    Raises
    ------
    ValueError
        When no pause ended (every customer bought once): no threshold can be
        read from the data.
    """
    if rule not in (None, "km_quantile", "returning_quantile"):
        raise ValueError(f"rule must be None, 'km_quantile' or 'returning_quantile', got {rule!r}")
    curve = analysis.curve
    if curve.empty:
        raise ValueError("no completed pause between two purchases: a churn threshold cannot be read from the data")
    s = curve["survival"].to_numpy(float)
    gap = curve["gap"].to_numpy(float)
    plateau = float(s.min())
    x = _km_quantile(curve, quantile)
    if rule == "km_quantile" or (rule is None and np.isfinite(x)):
        rule = "km_quantile"
        false_rate = float(_survival_at(curve, np.array([x]))[0]) if np.isfinite(x) else float("nan")
    else:
        returning = (1.0 - s) / (1.0 - plateau)
        x = float(gap[np.argmax(returning >= quantile - 1e-12)])
        rule = "returning_quantile"
        s_x = float(_survival_at(curve, np.array([x]))[0])
        false_rate = (s_x - plateau) / (1.0 - plateau)
    open_gaps = analysis.open_gaps
    flagged = float(np.mean(open_gaps > x)) if open_gaps.size and np.isfinite(x) else float("nan")
    return ThresholdChoice(x, rule, quantile, plateau, false_rate, flagged, analysis.unit)


def _km_quantile(curve: pd.DataFrame, q: float) -> float:
    """Smallest gap x with P(gap > x) <= 1 - q; NaN if the curve never gets that low."""
    if not 0 < q < 1:
        raise ValueError(f"quantile must be in (0, 1), got {q}")
    below = curve.loc[curve["survival"] <= 1 - q + 1e-12, "gap"]
    return float(below.iloc[0]) if len(below) else float("nan")


def _survival_at(curve: pd.DataFrame, x: np.ndarray) -> np.ndarray:
    """Right-continuous step function P(gap > x)."""
    idx = np.searchsorted(curve["gap"].to_numpy(), x, side="right") - 1
    s = curve["survival"].to_numpy()
    return np.where(idx >= 0, s[np.clip(idx, 0, None)], 1.0)


def churn_threshold_analysis(
    gaps: pd.DataFrame,
    *,
    candidates: Sequence[float] | None = None,
    quantiles: Sequence[float] = (0.8, 0.9, 0.95),
    unit: str = "days",
) -> ChurnThresholdAnalysis:
    """Help choose the no-purchase threshold X that defines churn.

    Parameters
    ----------
    gaps : DataFrame
        Output of :func:`cxlab.data.interpurchase_gaps`: ``customer_id``, ``gap``
        (>= 0, in the unit it was built with) and ``censored`` (True for each
        customer's open gap from the last purchase to observation end). Or the
        same pauses counted by length, :func:`cxlab.data.interpurchase_gap_counts`
        (``gap``, ``censored``, ``count``; one censored gap per customer), which
        gives the same analysis at the size of the distribution instead of the log.
    candidates : sequence of float, optional
        Thresholds to tabulate; default 20 evenly spaced values up to the 99th
        gap percentile, plus the recommended ones.
    quantiles : sequence of float
        Percentiles of the gap distribution to recommend as X.
    unit : str
        Label of the gap unit.
    """
    counted = "count" in getattr(gaps, "columns", []) and "customer_id" not in gaps.columns
    needed = ("gap", "censored", "count") if counted else ("customer_id", "gap", "censored")
    missing = [c for c in needed if c not in getattr(gaps, "columns", [])]
    if missing:
        raise ValueError(f"gaps is missing column(s) {missing}; expected cxlab.data.interpurchase_gaps output")
    g = pd.to_numeric(gaps["gap"], errors="coerce").to_numpy(float)
    if np.isnan(g).any():
        raise ValueError(f"gaps column 'gap' has {int(np.isnan(g).sum())} missing/non-numeric value(s)")
    if (g < 0).any():
        raise ValueError("gaps column 'gap' must be >= 0")
    censored = gaps["censored"].astype(bool).to_numpy()
    count = gaps["count"].to_numpy(dtype=np.int64) if counted else np.ones(len(g), dtype=np.int64)
    if not (~censored & (count > 0)).any():
        raise ValueError("gaps has no completed gap (every customer bought once); the gap distribution "
                         "is not estimable")
    if not counted:
        open_per_customer = pd.Series(censored).groupby(gaps["customer_id"].to_numpy()).sum()
        if (open_per_customer > 1).any():
            cid = open_per_customer.index[open_per_customer > 1][0]
            raise ValueError(f"customer {cid!r} has more than one censored (open) gap; expected exactly one")

    tab = aggregate_durations(g, ~censored, weights=count.astype(np.float64) if counted else None)
    t, s, _, _ = _km_from_table(tab)
    curve = pd.DataFrame({"gap": t, "survival": s})
    open_gaps = np.repeat(g[censored], count[censored])  # one a customer: the log's customers, not its rows

    partial = ChurnThresholdAnalysis(curve, None, None, unit, 0, 0, 0, open_gaps)
    rec_rows = []
    for q in quantiles:
        choice = choose_churn_threshold(partial, q)
        row = {"quantile": q, "threshold": choice.threshold, "rule": choice.rule,
               "false_churn_rate": choice.false_churn_rate, "share_flagged": choice.share_flagged}
        # both readings, so that a table can show one rule on every row (the two can cross)
        for rule in ("km_quantile", "returning_quantile"):
            alt = choose_churn_threshold(partial, q, rule=rule)
            row.update({f"threshold_{rule}": alt.threshold, f"false_churn_rate_{rule}": alt.false_churn_rate,
                        f"share_flagged_{rule}": alt.share_flagged})
        rec_rows.append(row)
    recommended = pd.DataFrame(rec_rows)
    if candidates is None:
        top = _percentile(g[~censored], count[~censored], 99)
        candidates = np.unique(np.concatenate([np.linspace(0, top, 21)[1:],
                                               recommended["threshold"].dropna().to_numpy()]))
    cand = np.asarray(sorted(candidates), dtype=float)
    tradeoff = pd.DataFrame({
        "threshold": cand,
        "false_churn_rate": _survival_at(curve, cand),
        "share_flagged": [float(np.mean(open_gaps > x)) if open_gaps.size else np.nan for x in cand],
    })
    n_customers = int(count[censored].sum()) if counted else int(gaps["customer_id"].nunique())
    return ChurnThresholdAnalysis(curve, tradeoff, recommended, unit, n_customers, int(count[~censored].sum()),
                                  int(count[censored].sum()), open_gaps)


def _percentile(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """``np.percentile(np.repeat(values, counts), q)`` (linear interpolation) without the repeated array."""
    order = np.argsort(values, kind="stable")
    v, c = values[order], counts[order]
    keep = c > 0
    v, ends = v[keep], np.cumsum(c[keep])  # sorted value k of the repeated array is v[searchsorted(ends, k, "right")]
    h = (ends[-1] - 1) * q / 100.0
    lo = int(np.floor(h))
    at = np.searchsorted(ends, [lo, min(lo + 1, ends[-1] - 1)], side="right")
    return float(v[at[0]] + (h - lo) * (v[at[1]] - v[at[0]]))


def plot_churn_threshold(data, *, ax=None, mark_quantiles: bool = True):
    """Trade-off plot: false-churn rate and share flagged against the threshold.

    ``data``: a :class:`ChurnThresholdAnalysis`.  Returns the Axes.
    """
    import matplotlib.pyplot as plt

    if not isinstance(data, ChurnThresholdAnalysis):
        raise TypeError("plot_churn_threshold: data must be a ChurnThresholdAnalysis")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    x = np.concatenate([[0.0], data.curve["gap"].to_numpy(float)])
    y = np.concatenate([[1.0], data.curve["survival"].to_numpy(float)])
    ax.step(x, y, where="post", label="false-churn rate  P(pause > X)")
    tr = data.tradeoff
    ax.plot(tr["threshold"].to_numpy(float), tr["share_flagged"].to_numpy(float), marker="o", markersize=3,
            label="share of customers flagged as churned")
    if mark_quantiles:
        for _, r in data.recommended.dropna().iterrows():
            ax.axvline(r["threshold"], color="grey", linestyle=":", linewidth=1)
            ax.annotate(f"{r['quantile']:.0%}", (r["threshold"], 0.95), fontsize=8, rotation=90,
                        ha="right", va="top", color="grey")
    xmax = tr["threshold"].max() if len(tr) else x.max()
    ax.set_xlim(0, xmax * 1.05)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"churn threshold X ({data.unit} without a purchase)")
    ax.set_ylabel("share")
    ax.legend(loc="upper right")
    return ax


def churn_table(transactions, *, threshold: float, unit: str = "D", observation_end=None) -> pd.DataFrame:
    """Per-customer duration/event table for non-contractual data (via the data layer).

    Thin wrapper of :func:`cxlab.data.churn_durations`: churned (``event``)
    when the customer's current pause exceeds ``threshold``; then ``duration``
    = last purchase - first purchase, else observation end - first purchase.
    """
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number of {unit!r} units, got {threshold!r}")
    from cxlab.data import churn_durations

    return churn_durations(transactions, threshold=threshold, unit=unit, observation_end=observation_end)


def contractual_durations(
    customers: pd.DataFrame,
    *,
    observation_end,
    unit: str = "D",
    start_col: str = "signup_date",
    end_col: str = "end_date",
) -> pd.DataFrame:
    """Per-customer duration/event table for contractual data from start and end dates.

    ``event`` is True when the contract ended on or before ``observation_end``;
    ``duration`` = end - start if ended, else observation_end - start (censored).
    Customers who started after ``observation_end`` are dropped.

    Returns
    -------
    DataFrame indexed by customer_id: ``start``, ``end``, ``duration`` (float,
    in ``unit``: "D", "W" = 7 days, "M" = 30.4375 days) and ``event`` (bool) -
    the layout of :func:`cxlab.data.churn_durations`.
    """
    days_per_unit = unit_days(unit)
    missing = [c for c in ("customer_id", start_col, end_col) if c not in customers.columns]
    if missing:
        raise ValueError(f"customers is missing column(s) {missing} needed for contractual durations")
    if customers["customer_id"].duplicated().any():
        raise ValueError("customers has duplicated customer_id values")
    obs_end = pd.Timestamp(observation_end)
    start = pd.to_datetime(customers[start_col])
    end = pd.to_datetime(customers[end_col])
    if start.isna().any():
        raise ValueError(f"customers column {start_col!r} has {int(start.isna().sum())} missing date(s)")
    bad = end.notna() & (end < start)
    if bad.any():
        cid = customers.loc[bad, "customer_id"].iloc[0]
        raise ValueError(f"customer {cid!r}: {end_col} is before {start_col}")
    keep = (start <= obs_end).to_numpy()
    start, end = start[keep], end[keep]
    event = (end.notna() & (end <= obs_end)).to_numpy()
    stop = np.where(event, end, obs_end).astype("datetime64[ns]")
    duration = (stop - start.to_numpy()) / np.timedelta64(1, "D") / days_per_unit
    out = pd.DataFrame({"start": start.to_numpy(), "end": end.where(pd.Series(event, index=end.index)).to_numpy(),
                        "duration": np.asarray(duration, float), "event": event},
                       index=pd.Index(customers.loc[keep, "customer_id"].to_numpy(), name="customer_id"))
    return out
