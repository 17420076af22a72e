"""Customer segmentation the consultants already use: RFM, ABC, XYZ, repeat-purchase rate.

Everything here works on the data layer's outputs, never on raw transactions:
:func:`cxlab.data.customer_summary` (RFM, ABC, repeat rate) and
:func:`cxlab.data.customer_period_panel` (XYZ).

RFM (Hughes 1994, *Strategic Database Marketing*)
    Recency = days since the last purchase, ``(T - recency) x days per unit``
    of the summary (both measured from the first purchase, so their
    difference is the time from the last purchase to the end of the
    window); Frequency = ``n_purchases`` (purchase days, first one
    included); Monetary = total ``revenue`` by default (``monetary="mean"``:
    revenue / n_purchases, the mean order value). Each is turned into a
    quantile score 1..bins (higher = better; for recency, more recent =
    higher) by

        ``score = 1 + floor(bins * (rank_min - 1) / n)``,

    where ``rank_min`` is the rank with ties given their lowest rank. Tied
    customers always share a score, and a block of ties (e.g. the many
    one-time buyers) gets the score of its lowest member, so scores never
    depend on row order. The segment comes from R and ``FM = ceil((F + M) / 2)``
    on the grid :data:`RFM_GRID` (rows R = 5..1, columns FM = 1..5)::

        R\\FM  1               2                    3                    4          5
        5     New             Potential loyalists  Potential loyalists  Champions  Champions
        4     Promising       Potential loyalists  Potential loyalists  Loyal      Loyal
        3     About to sleep  About to sleep       Need attention       Loyal      Loyal
        2     Hibernating     Hibernating          At risk              At risk    Can't lose them
        1     Lost            Lost                 At risk              At risk    Can't lose them

    With ``bins != 5`` scores are first mapped onto 1..5 by
    ``1 + round(4 (s - 1) / (bins - 1))``.
ABC (Pareto analysis of revenue)
    Customers sorted by revenue, descending (ties broken by customer id);
    with ``c_prev`` the share of total revenue of all customers ranked
    before a customer, the class is A if ``c_prev < 0.80``, B if
    ``c_prev < 0.95``, C otherwise. A is thus the smallest top group reaching
    80 % of revenue, B the next 15 %, C the last 5 %. Customers with zero or
    negative revenue (net returns) are always C; shares are of the positive
    revenue total.
XYZ (regularity of demand)
    Coefficient of variation ``CV = sd / mean`` (population sd, ddof=0) of a
    customer's per-period purchases over the zero-filled periods from the
    first purchase on. X if ``CV <= 0.5``, Y if ``CV <= 1.0``, Z otherwise.
    The inventory textbook cut points (0.1 / 0.25) are meant for product
    demand; a customer's monthly purchase count is sparse, and even a
    perfectly regular Poisson buyer with mean ``m`` per period has
    ``CV = 1 / sqrt(m)``, so 0.5 / 1.0 are the usual cut points for customer
    data (X: steady several-times-a-period buyers, Z: occasional ones).
    Customers observed for fewer than ``min_periods`` periods have too short
    a history to be called regular: they are put in Z and flagged
    ``short_history``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin
from cxlab._plotting import heatmap
from cxlab.units import unit_days

__all__ = [
    "RFM_SEGMENTS",
    "RFM_GRID",
    "RFMResult",
    "ABCResult",
    "XYZResult",
    "ABCXYZResult",
    "xyz_from_moments",
    "quantile_scores",
    "rfm_scores",
    "rfm_segments",
    "abc_analysis",
    "xyz_analysis",
    "abc_xyz",
    "repeat_purchase_rate",
    "plot_rfm_heatmap",
    "plot_abc_xyz",
]

#: The named RFM segments, from best to worst.
RFM_SEGMENTS = (
    "Champions",
    "Loyal",
    "Potential loyalists",
    "New",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
    "Lost",
)

#: Segment by R score (rows, 5..1) and FM score (columns, 1..5).
RFM_GRID = pd.DataFrame(
    [
        ["New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"],
        ["Promising", "Potential loyalists", "Potential loyalists", "Loyal", "Loyal"],
        ["About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"],
        ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"],
        ["Lost", "Lost", "At risk", "At risk", "Can't lose them"],
    ],
    index=pd.Index([5, 4, 3, 2, 1], name="R"),
    columns=pd.Index([1, 2, 3, 4, 5], name="FM"),
)

ABC_CLASSES = ("A", "B", "C")
XYZ_CLASSES = ("X", "Y", "Z")


# --------------------------------------------------------------------------- input checks
def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}; it has {list(frame.columns)}")


def _numeric(frame: pd.DataFrame, column: str, what: str, *, nonnegative: bool = False) -> np.ndarray:
    try:
        values = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: column {column!r} must be numeric ({exc})") from None
    bad = ~np.isfinite(values)
    if nonnegative:
        bad |= values < 0
    if bad.any():
        rows = list(frame.index[bad][:5])
        need = "finite non-negative numbers" if nonnegative else "finite numbers"
        raise ValueError(f"{what}: column {column!r} must hold {need}; bad rows (first 5): {rows}")
    return values


def quantile_scores(values: np.ndarray | pd.Series, bins: int = 5) -> np.ndarray:
    """Scores 1..bins, higher for larger values, ties sharing the lowest rank.

    ``score = 1 + floor(bins * (rank_min - 1) / n)``.
    """
    values = pd.Series(np.asarray(values, dtype=float))
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rank_min = values.rank(method="min").to_numpy()
    return (1 + np.floor(bins * (rank_min - 1) / n)).astype(np.int64)


# --------------------------------------------------------------------------- RFM
def rfm_scores(summary: pd.DataFrame, *, bins: int = 5, recency_unit: str = "W",
               monetary: str = "revenue") -> pd.DataFrame:
    """R, F and M quantile scores from a customer summary.

    Parameters
    ----------
    summary : DataFrame
        :func:`cxlab.data.customer_summary` output (index ``customer_id``;
        columns ``recency``, ``T``, ``n_purchases``, ``revenue``).
    bins : int
        Number of score levels (5 = quintiles).
    recency_unit : {"D", "W", "M"}
        Unit of the summary's ``recency`` and ``T`` (the ``unit`` it was made with).
    monetary : {"revenue", "mean"}
        Total revenue (default: value of the customer to the business) or mean
        order value ``revenue / n_purchases``.

    Returns
    -------
    DataFrame
        Index ``customer_id``; ``recency_days``, ``frequency``, ``monetary``,
        ``revenue``, the scores ``R``, ``F``, ``M``, ``FM = ceil((F+M)/2)`` and
        the code ``rfm`` (e.g. ``"534"``). ``attrs["bins"]`` holds ``bins``.
    """
    if not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    if monetary not in ("revenue", "mean"):
        raise ValueError(f"monetary must be 'revenue' or 'mean', got {monetary!r}")
    _require(summary, ["recency", "T", "n_purchases", "revenue"], "summary")
    recency = _numeric(summary, "recency", "summary", nonnegative=True)
    T = _numeric(summary, "T", "summary", nonnegative=True)
    n_purchases = _numeric(summary, "n_purchases", "summary", nonnegative=True)
    revenue = _numeric(summary, "revenue", "summary")
    if np.any(recency > T + 1e-9):
        rows = list(summary.index[recency > T + 1e-9][:5])
        raise ValueError(f"summary: recency must not exceed T (rows, first 5: {rows})")
    if np.any(n_purchases < 1):
        rows = list(summary.index[n_purchases < 1][:5])
        raise ValueError(f"summary: n_purchases must be >= 1 for every customer (rows, first 5: {rows})")
    # whole days: a summary in weeks gives 5/7 * 7 = 4.999..., which would split ties in the quintiles
    days_since = np.round((T - recency) * unit_days(recency_unit, name="recency_unit"), 6)
    money = revenue if monetary == "revenue" else revenue / n_purchases
    R = quantile_scores(-days_since, bins)          # fewer days since the last purchase = better
    F = quantile_scores(n_purchases, bins)
    M = quantile_scores(money, bins)
    FM = (F + M + 1) // 2                            # ceil of the mean
    out = pd.DataFrame(
        {
            "recency_days": days_since,
            "frequency": n_purchases.astype(np.int64),
            "monetary": money,
            "revenue": revenue,
            "R": R,
            "F": F,
            "M": M,
            "FM": FM,
        },
        index=summary.index.copy(),
    )
    out["rfm"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    out.attrs["bins"] = int(bins)
    out.attrs["monetary"] = monetary
    return out


def _to_grid_level(score: np.ndarray, bins: int) -> np.ndarray:
    if bins == 5:
        return score
    return (1 + np.floor(4 * (score - 1) / (bins - 1) + 0.5)).astype(np.int64)


@dataclass
class RFMResult(Result):
    """RFM scores with the named segment of every customer.

    Attributes
    ----------
    customers : DataFrame
        :func:`rfm_scores` columns plus ``segment`` (categorical in :data:`RFM_SEGMENTS` order).
    segments : DataFrame
        Per segment: ``customers``, ``customer_share``, ``revenue``,
        ``revenue_share``, ``mean_recency_days``, ``mean_frequency``,
        ``mean_monetary`` (segments without customers are listed with 0).
    bins : int
    grid : DataFrame
    """

    customers: pd.DataFrame
    segments: pd.DataFrame
    bins: int
    grid: pd.DataFrame = field(repr=False)

    def summary(self) -> Summary:
        notes = [
            f"Scores 1..{self.bins} from quantiles (ties share the lowest score); "
            "segment from R and FM = ceil((F+M)/2) on the standard grid.",
            f"{len(self.customers)} customers; revenue share of negative-revenue customers is counted as is.",
        ]
        return Summary("RFM segmentation", [("Segments", self.segments), ("Grid (R x FM)", self.grid)], notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({
            "bins": self.bins,
            "n_customers": len(self.customers),
            "segments": self.segments.reset_index().to_dict(orient="records"),
        })


def rfm_segments(scores: pd.DataFrame, *, grid: pd.DataFrame | None = None) -> RFMResult:
    """Assign the named RFM segments from :func:`rfm_scores` output.

    Parameters
    ----------
    scores : DataFrame
        With columns ``R``, ``F``, ``M`` (and ``revenue``, ``recency_days``,
        ``frequency``, ``monetary`` for the segment table).
    grid : DataFrame, optional
        Segment names by R (index 1..5) and FM (columns 1..5); default :data:`RFM_GRID`.

    Returns
    -------
    RFMResult
    """
    _require(scores, ["R", "F", "M", "revenue", "recency_days", "frequency", "monetary"], "scores")
    grid = RFM_GRID if grid is None else grid
    if set(grid.index) != {1, 2, 3, 4, 5} or set(grid.columns) != {1, 2, 3, 4, 5}:
        raise ValueError("grid must have index R = 1..5 and columns FM = 1..5")
    bins = int(scores.attrs.get("bins", max(5, int(np.nanmax(scores[["R", "F", "M"]].to_numpy())))))
    RFM = scores[["R", "F", "M"]].to_numpy()
    if len(scores) and (np.any(RFM < 1) or np.any(RFM > bins) or np.any(RFM != np.floor(RFM))):
        raise ValueError(f"scores: R, F, M must be whole numbers in 1..{bins}")
    R = _to_grid_level(RFM[:, 0].astype(np.int64), bins)
    F = _to_grid_level(RFM[:, 1].astype(np.int64), bins)
    M = _to_grid_level(RFM[:, 2].astype(np.int64), bins)
    FM = (F + M + 1) // 2
    table = grid.loc[[5, 4, 3, 2, 1], [1, 2, 3, 4, 5]].to_numpy()
    names = table[5 - R, FM - 1] if len(scores) else np.array([], dtype=object)
    order = list(RFM_SEGMENTS) + sorted(set(np.unique(table)) - set(RFM_SEGMENTS))
    customers = scores.copy()
    customers["segment"] = pd.Categorical(names, categories=order)

    revenue = customers["revenue"].astype(float)
    g = customers.groupby("segment", observed=False)
    segments = pd.DataFrame({
        "customers": g.size(),
        "revenue": g["revenue"].sum(),
        "mean_recency_days": g["recency_days"].mean(),
        "mean_frequency": g["frequency"].mean(),
        "mean_monetary": g["monetary"].mean(),
    })
    total = revenue.sum()
    segments.insert(1, "customer_share", segments["customers"] / max(len(customers), 1))
    segments.insert(3, "revenue_share", segments["revenue"] / total if total != 0 else np.nan)
    segments.index.name = "segment"
    return RFMResult(customers, segments, bins, grid.loc[[5, 4, 3, 2, 1], [1, 2, 3, 4, 5]])


# --------------------------------------------------------------------------- ABC
@dataclass
class ABCResult(Result):
    """ABC classes of customers by their share of revenue.

    Attributes
    ----------
    customers : DataFrame
        In rank order: ``revenue``, ``share`` (of the positive revenue total),
        ``cumulative_share`` (including the customer), ``abc`` (categorical A/B/C).
    classes : DataFrame
        Per class: ``customers``, ``customer_share``, ``revenue``, ``revenue_share``.
    thresholds : tuple
    """

    customers: pd.DataFrame
    classes: pd.DataFrame
    thresholds: tuple

    def summary(self) -> Summary:
        a, b = self.thresholds
        notes = [f"A: top customers up to {a:.0%} of revenue, B: the next {b - a:.0%}, C: the rest "
                 "(a customer is A/B when the revenue ranked before them is below the cut point)."]
        return Summary("ABC analysis of customer revenue", [("Classes", self.classes)], notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"thresholds": list(self.thresholds),
                           "classes": self.classes.reset_index().to_dict(orient="records")})


def abc_analysis(data: pd.DataFrame | pd.Series, thresholds: tuple[float, float] = (0.8, 0.95), *,
                 revenue: str = "revenue") -> ABCResult:
    """ABC classes by cumulative share of revenue (A 80 %, B 15 %, C 5 % by default).

    Parameters
    ----------
    data : DataFrame or Series
        Customer summary (uses column ``revenue``) or a Series of revenue per customer.
    thresholds : (float, float)
        Cumulative-share cut points ``0 < a < b < 1``.
    revenue : str
        Revenue column when ``data`` is a DataFrame.

    Returns
    -------
    ABCResult
    """
    a, b = (float(x) for x in thresholds)
    if not 0 < a < b <= 1:
        raise ValueError(f"thresholds must satisfy 0 < a < b <= 1, got {thresholds!r}")
    if isinstance(data, pd.Series):
        frame = data.to_frame(revenue)
    else:
        _require(data, [revenue], "data")
        frame = data[[revenue]]
    values = _numeric(frame, revenue, "data")
    positive_total = values[values > 0].sum()
    if len(values) and positive_total <= 0:
        raise ValueError(f"data: column {revenue!r} has no positive revenue; ABC shares are undefined")
    order = np.lexsort((np.asarray(frame.index.astype(str)), -values))   # revenue desc, id asc
    v = values[order]
    share = np.where(v > 0, v, 0.0) / (positive_total if positive_total > 0 else 1.0)
    cum = np.cumsum(share)
    before = cum - share
    cls = np.where(v <= 0, 2, np.where(before < a - 1e-12, 0, np.where(before < b - 1e-12, 1, 2)))
    customers = pd.DataFrame(
        {"revenue": v, "share": share, "cumulative_share": cum,
         "abc": pd.Categorical.from_codes(cls, categories=list(ABC_CLASSES))},
        index=frame.index[order],
    )
    g = customers.groupby("abc", observed=False)
    classes = pd.DataFrame({"customers": g.size(), "revenue": g["revenue"].sum()})
    classes.insert(1, "customer_share", classes["customers"] / max(len(customers), 1))
    classes["revenue_share"] = g["share"].sum()
    classes.index.name = "abc"
    return ABCResult(customers, classes, (a, b))


# --------------------------------------------------------------------------- XYZ
@dataclass
class XYZResult(Result):
    """XYZ classes of customers by regularity of their per-period purchases.

    Attributes
    ----------
    customers : DataFrame
        Index ``customer_id``: ``periods``, ``mean``, ``sd``, ``cv``,
        ``short_history`` (fewer than ``min_periods`` periods), ``xyz``.
    classes : DataFrame
        Per class: ``customers``, ``customer_share``, ``mean_cv``.
    thresholds : tuple
    value : str
    """

    customers: pd.DataFrame
    classes: pd.DataFrame
    thresholds: tuple
    value: str
    min_periods: int

    def summary(self) -> Summary:
        x, y = self.thresholds
        short = int(self.customers["short_history"].sum())
        notes = [f"CV of per-period {self.value}: X <= {x}, Y <= {y}, Z above.",
                 f"{short} customers with fewer than {self.min_periods} periods are put in Z (too short to be regular)."]
        return Summary("XYZ analysis of purchase regularity", [("Classes", self.classes)], notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"thresholds": list(self.thresholds), "value": self.value,
                           "min_periods": self.min_periods,
                           "classes": self.classes.reset_index().to_dict(orient="records")})


def xyz_analysis(panel: pd.DataFrame, thresholds: tuple[float, float] = (0.5, 1.0), *,
                 value: str = "transactions", min_periods: int = 3) -> XYZResult:
    """XYZ classes from the coefficient of variation of per-period purchases.

    Parameters
    ----------
    panel : DataFrame
        :func:`cxlab.data.customer_period_panel` output (``customer_id``,
        ``period``, ``transactions``, ``revenue``; zero-filled).
    thresholds : (float, float)
        CV cut points X/Y and Y/Z (see the module docstring for why 0.5 / 1.0).
    value : str
        Column to measure (``"transactions"`` or ``"revenue"``).
    min_periods : int
        Customers with fewer periods are classed Z and flagged ``short_history``.

    Returns
    -------
    XYZResult
    """
    x_cut, y_cut = (float(t) for t in thresholds)
    if not 0 < x_cut < y_cut:
        raise ValueError(f"thresholds must satisfy 0 < x < y, got {thresholds!r}")
    if int(min_periods) < 1:
        raise ValueError(f"min_periods must be >= 1, got {min_periods!r}")
    _require(panel, ["customer_id", "period", value], "panel")
    if panel.duplicated(["customer_id", "period"]).any():
        rows = list(panel.index[panel.duplicated(["customer_id", "period"])][:5])
        raise ValueError(f"panel: (customer_id, period) must be unique; duplicated rows (first 5): {rows}")
    v = _numeric(panel, value, "panel", nonnegative=True)
    g = pd.Series(v, index=pd.Index(panel["customer_id"].to_numpy(), name="customer_id")).groupby(level=0, sort=True)
    return _xyz_classes(g.size(), g.mean(), g.std(ddof=0), x_cut, y_cut, value, int(min_periods))


def xyz_from_moments(moments: pd.DataFrame, thresholds: tuple[float, float] = (0.5, 1.0), *,
                     min_periods: int = 3) -> XYZResult:
    """:func:`xyz_analysis` from each customer's number of periods, mean and standard deviation.

    ``moments``: :func:`cxlab.data.customer_period_moments` output (index
    ``customer_id``; ``periods``, ``mean``, ``sd`` of purchases per period, the
    population standard deviation) — the same classes without the panel, which
    has a row per customer and month (hundreds of millions for a large client).
    """
    x_cut, y_cut = (float(t) for t in thresholds)
    if not 0 < x_cut < y_cut:
        raise ValueError(f"thresholds must satisfy 0 < x < y, got {thresholds!r}")
    if int(min_periods) < 1:
        raise ValueError(f"min_periods must be >= 1, got {min_periods!r}")
    _require(moments, ["periods", "mean", "sd"], "moments")
    index = moments.index.rename("customer_id")
    return _xyz_classes(pd.Series(moments["periods"].to_numpy(), index=index),
                        pd.Series(moments["mean"].to_numpy(dtype=float), index=index),
                        pd.Series(moments["sd"].to_numpy(dtype=float), index=index),
                        x_cut, y_cut, "transactions", int(min_periods))


def _xyz_classes(periods: pd.Series, mean: pd.Series, sd: pd.Series, x_cut: float, y_cut: float, value: str,
                 min_periods: int) -> XYZResult:
    """Classes from the coefficient of variation ``sd / mean`` (see :func:`xyz_analysis`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = pd.Series(np.where(mean > 0, sd / mean, np.inf), index=mean.index)
    short = periods < int(min_periods)
    cls = np.where(short | (cv > y_cut), 2, np.where(cv > x_cut, 1, 0))
    customers = pd.DataFrame({
        "periods": periods.astype(np.int64), "mean": mean, "sd": sd, "cv": cv,
        "short_history": short,
        "xyz": pd.Categorical.from_codes(cls.astype(np.int8), categories=list(XYZ_CLASSES)),
    })
    gg = customers.groupby("xyz", observed=False)
    finite_cv = customers["cv"].where(np.isfinite(customers["cv"]) & ~customers["short_history"])
    classes = pd.DataFrame({"customers": gg.size(),
                            "mean_cv": finite_cv.groupby(customers["xyz"], observed=False).mean()})
    classes.insert(1, "customer_share", classes["customers"] / max(len(customers), 1))
    classes.index.name = "xyz"
    return XYZResult(customers, classes, (x_cut, y_cut), value, int(min_periods))


@dataclass
class ABCXYZResult(Result):
    """The ABC x XYZ matrix.

    Attributes
    ----------
    customers : DataFrame
        Index ``customer_id``: ``revenue``, ``abc``, ``xyz`` (customers present in both inputs).
    counts : DataFrame
        Customers per cell (rows A/B/C, columns X/Y/Z).
    revenue_share : DataFrame
        Share of total positive revenue per cell.
    """

    customers: pd.DataFrame
    counts: pd.DataFrame
    revenue_share: pd.DataFrame

    def summary(self) -> Summary:
        return Summary("ABC x XYZ matrix", [("Customers", self.counts), ("Revenue share", self.revenue_share)],
                       ["Rows: revenue class (A top 80 %); columns: regularity (X most regular)."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"counts": {k: v for k, v in self.counts.to_dict(orient="index").items()},
                           "revenue_share": self.revenue_share.to_dict(orient="index")})


def abc_xyz(abc: ABCResult, xyz: XYZResult) -> ABCXYZResult:
    """Cross ABC and XYZ classes (customers in both results)."""
    if not isinstance(abc, ABCResult) or not isinstance(xyz, XYZResult):
        raise TypeError("abc_xyz expects an ABCResult and an XYZResult")
    # the XYZ class of each ABC customer by one hash lookup (a join sorts both sides: ten times slower on
    # millions of text ids); ABC's order (revenue descending) is kept, as an inner join keeps it
    xyz_of = xyz.customers["xyz"].reindex(abc.customers.index)
    keep = xyz_of.notna().to_numpy()
    joined = abc.customers.loc[keep, ["revenue", "share", "abc"]].assign(xyz=xyz_of.array[keep])
    counts = pd.crosstab(joined["abc"], joined["xyz"], dropna=False).reindex(
        index=list(ABC_CLASSES), columns=list(XYZ_CLASSES), fill_value=0)
    share = joined.pivot_table(index="abc", columns="xyz", values="share", aggfunc="sum", observed=False,
                               fill_value=0.0).reindex(index=list(ABC_CLASSES), columns=list(XYZ_CLASSES),
                                                       fill_value=0.0)
    for frame in (counts, share):
        frame.index.name, frame.columns.name = "abc", "xyz"
    return ABCXYZResult(joined.drop(columns="share"), counts.astype(np.int64), share.astype(float))


# --------------------------------------------------------------------------- repeat purchase rate
def repeat_purchase_rate(summary: pd.DataFrame, cohorts: str | pd.Series | None = None) -> float | pd.DataFrame:
    """Share of customers with at least one repeat purchase (``frequency >= 1``).

    Parameters
    ----------
    summary : DataFrame
        Customer summary with ``frequency`` (repeat purchase days).
    cohorts : str or Series, optional
        A column of ``summary`` or a Series indexed by customer id with cohort labels.

    Returns
    -------
    float, or DataFrame
        Without cohorts the overall rate; with cohorts one row per cohort:
        ``customers``, ``repeat_customers``, ``repeat_rate``.
    """
    _require(summary, ["frequency"], "summary")
    freq = _numeric(summary, "frequency", "summary", nonnegative=True)
    repeat = pd.Series(freq >= 1, index=summary.index)
    if cohorts is None:
        if len(repeat) == 0:
            raise ValueError("summary has no customers")
        return float(repeat.mean())
    if isinstance(cohorts, str):
        _require(summary, [cohorts], "summary")
        labels = summary[cohorts]
    else:
        labels = pd.Series(cohorts).reindex(summary.index)
        if labels.isna().any():
            missing = list(summary.index[labels.isna().to_numpy()][:5])
            raise ValueError(f"cohorts: no label for customers (first 5): {missing}")
    g = repeat.groupby(labels.to_numpy(), sort=True)
    out = pd.DataFrame({"customers": g.size(), "repeat_customers": g.sum().astype(np.int64)})
    out["repeat_rate"] = out["repeat_customers"] / out["customers"]
    out.index.name = "cohort"
    return out


# --------------------------------------------------------------------------- plots
def plot_rfm_heatmap(data: RFMResult | pd.DataFrame, *, value: str = "customers", ax=None):
    """Heatmap of customers (or mean monetary value, or revenue share) by R and F score.

    Parameters
    ----------
    data : RFMResult or DataFrame
        :func:`rfm_segments` result, or :func:`rfm_scores` output.
    value : {"customers", "monetary", "revenue_share"}
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    frame = data.customers if isinstance(data, RFMResult) else data
    _require(frame, ["R", "F", "monetary", "revenue"], "data")
    if value not in ("customers", "monetary", "revenue_share"):
        raise ValueError(f"value must be 'customers', 'monetary' or 'revenue_share', got {value!r}")
    bins = int(frame.attrs.get("bins", max(5, int(frame[["R", "F"]].to_numpy().max()))))
    levels = list(range(1, bins + 1))
    tidy = pd.DataFrame({"R": frame["R"].to_numpy(dtype=np.int64), "F": frame["F"].to_numpy(dtype=np.int64),
                         "monetary": frame["monetary"].to_numpy(dtype=np.float64),
                         "revenue": frame["revenue"].to_numpy(dtype=np.float64)})
    g = tidy.groupby(["R", "F"])
    if value == "customers":
        cell = g.size().astype(np.float64)
        fmt = ".0f"
    elif value == "monetary":
        cell = g["monetary"].mean()
        fmt = ".0f"
    else:
        total = tidy["revenue"].sum()
        cell = g["revenue"].sum() / (total if total else np.nan)
        fmt = ".1%"
    matrix = cell.unstack("F").reindex(index=levels[::-1], columns=levels).astype(np.float64)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    heatmap(matrix.to_numpy(dtype=np.float64), annot=True, fmt=fmt, cmap="viridis", ax=ax,
            xticklabels=levels, yticklabels=levels[::-1], cbar_kws={"label": value})
    ax.set_xlabel("F score (purchases)")
    ax.set_ylabel("R score (recency)")
    ax.tick_params(axis="y", labelrotation=0)  # one digit or letter per row: read upright
    ax.set_title(f"RFM: {value.replace('_', ' ')} by R and F")
    return ax


def plot_abc_xyz(data: ABCXYZResult | pd.DataFrame, *, value: str = "customers", ax=None):
    """Heatmap of the ABC x XYZ matrix (customers or revenue share per cell).

    Parameters
    ----------
    data : ABCXYZResult or DataFrame
        :func:`abc_xyz` result, or a frame with columns ``abc``, ``xyz`` and
        ``revenue`` (one row per customer).
    value : {"customers", "revenue_share"}
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if value not in ("customers", "revenue_share"):
        raise ValueError(f"value must be 'customers' or 'revenue_share', got {value!r}")
    if isinstance(data, ABCXYZResult):
        matrix = data.counts if value == "customers" else data.revenue_share
    else:
        _require(data, ["abc", "xyz", "revenue"], "data")
        rev = data["revenue"].to_numpy(dtype=np.float64)
        tidy = pd.DataFrame({"abc": data["abc"].astype(str).to_numpy(), "xyz": data["xyz"].astype(str).to_numpy(),
                             "n": np.ones(len(data)), "rev": np.where(rev > 0, rev, 0.0)})
        col = "n" if value == "customers" else "rev"
        matrix = tidy.pivot_table(index="abc", columns="xyz", values=col, aggfunc="sum", fill_value=0.0)
        matrix = matrix.reindex(index=list(ABC_CLASSES), columns=list(XYZ_CLASSES), fill_value=0.0)
        if value == "revenue_share":
            total = matrix.to_numpy().sum()
            matrix = matrix / (total if total else np.nan)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    heatmap(matrix.to_numpy(dtype=np.float64), annot=True, fmt=".0f" if value == "customers" else ".1%",
            cmap="mako_r", ax=ax, xticklabels=list(XYZ_CLASSES), yticklabels=list(ABC_CLASSES),
            cbar_kws={"label": value.replace("_", " ")})
    ax.set_xlabel("XYZ (regularity; X = most regular)")
    ax.set_ylabel("ABC (revenue; A = top 80 %)")
    ax.tick_params(axis="y", labelrotation=0)  # one digit or letter per row: read upright
    ax.set_title(f"ABC x XYZ: {value.replace('_', ' ')}")
    return ax
