"""The cost of losing customers and customer equity (Gupta, Lehmann & Stuart 2004).

Two questions a CX consultant is asked about churn, answered with the study's
own facts (:class:`cxlab.study.Study`: the one churn rule, the margin, the
horizon and the discount rate — read here, never decided here):

* **What leaves with churned customers?** :func:`churn_losses` — per calendar
  period (the study's cohort period, a month) the churned customers, their
  share of the customers active at the period's start and the monthly revenue
  and margin they were bringing; the same by segment (RFM segment at the start
  of the last year, the client's ``segment``, the acquisition channel).
* **What are the customers worth, and what is one point of retention worth?**
  :class:`CustomerEquity` — customer equity (current customers plus the
  cohorts acquired over the horizon), its elasticities to retention, margin,
  acquisition cost and discount rate (analytic derivatives), and the value of
  one percentage point of annual retention, with 95 % intervals that carry the
  sampling uncertainty of the retention estimate.

Reference: S. Gupta, D. R. Lehmann and J. A. Stuart (2004), "Valuing
customers", *Journal of Marketing Research* 41(1), 7-18; the margin multiple
``r / (1 + i - r)`` of S. Gupta and D. R. Lehmann (2003), "Customers as
assets", *Journal of Interactive Marketing* 17(1), 9-24.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cxlab._base import Estimator, Result, Summary, to_builtin
from cxlab.units import DAYS_PER_MONTH

__all__ = [
    "ChurnLosses",
    "CustomerEquity",
    "EquityInputs",
    "RetentionEstimate",
    "churn_losses",
    "churn_losses_for_study",
    "complete_months",
    "equity_gradient",
    "equity_value",
    "estimate_retention",
    "margin_multiple",
    "segments_at",
]

#: Periods per year: the model runs in months, the study's cohort period.
PERIODS_PER_YEAR = 12
#: Months of the recent past that set the acquisition rate, the acquisition cost and the loss window.
RECENT_MONTHS = 12
#: The "one point" of retention: one percentage point of the annual retention rate.
ONE_POINT = 0.01
#: Label of customers whose first purchase came after the date their segment was taken at.
NEW_SEGMENT = "acquired_later"


# --------------------------------------------------------------------------- the formula
@dataclass(frozen=True)
class EquityInputs:
    """The inputs of the customer-equity formula (see :func:`equity_value`).

    Attributes
    ----------
    retention : float
        Annual retention rate ``r`` (share of active customers still active a year later), in (0, 1).
    margin : float
        Margin per active customer per month ``m`` (currency), from purchases after the first.
    acquisition_cost : float
        Cost of acquiring one new customer ``c`` (currency; 0 when unknown, see ``CustomerEquity``).
    discount_rate : float
        Annual discount rate ``i``.
    horizon : int
        Months ``H`` the value is counted over.
    active : float
        Customers active now ``N0``.
    new_per_period : float
        Customers acquired per month ``n`` over the horizon.
    first_margin : float
        Margin of a new customer's first purchase ``m0``, earned when they are acquired (0: GLS's form).
    """

    retention: float
    margin: float
    acquisition_cost: float
    discount_rate: float
    horizon: int
    active: float
    new_per_period: float
    first_margin: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.retention < 1:
            raise ValueError(f"retention must lie in (0, 1), got {self.retention!r}")
        if not 0 <= self.discount_rate < 1:
            raise ValueError(f"discount_rate must lie in [0, 1), got {self.discount_rate!r}")
        if int(self.horizon) != self.horizon or self.horizon < 1:
            raise ValueError(f"horizon must be a whole number of months >= 1, got {self.horizon!r}")
        for name in ("margin", "first_margin", "acquisition_cost", "active", "new_per_period"):
            value = getattr(self, name)
            signed = name in ("margin", "first_margin")  # returns can make a margin negative
            if not np.isfinite(value) or (not signed and value < 0):
                raise ValueError(f"{name} must be finite{'' if signed else ' and >= 0'}, got {value!r}")


def margin_multiple(retention: float, discount_rate: float) -> float:
    """Gupta & Lehmann's margin multiple ``r / (1 + i - r)``: lifetime value in margins per period.

    The value of a customer who pays margin ``m`` at the end of every period they
    are still active, retained with probability ``r`` per period, discounted at
    ``i`` per period, over an infinite horizon: ``m * sum_t (r/(1+i))**t = m * r / (1 + i - r)``.
    """
    return retention / (1.0 + discount_rate - retention)


def _sums(x: float, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``S(n) = sum_{t=1..n} x**t`` and ``S'(n) = sum_{t=1..n} t x**(t-1)`` for each n (n may be 0)."""
    top = int(n.max()) if n.size else 0
    t = np.arange(1, top + 1, dtype=float)
    powers = np.concatenate([[0.0], np.cumsum(x ** t)])
    slopes = np.concatenate([[0.0], np.cumsum(t * x ** (t - 1))])
    return powers[n], slopes[n]


def _parts(p: EquityInputs) -> dict[str, float]:
    """The sums the value and its derivatives are made of."""
    per = PERIODS_PER_YEAR
    rho = p.retention ** (1.0 / per)                    # monthly retention
    delta = (1.0 + p.discount_rate) ** (-1.0 / per)     # monthly discount factor (the study's rule)
    x = rho * delta
    H = int(p.horizon)
    k = np.arange(1, H + 1)                             # cohorts acquired at the end of months 1..H
    S_H, dS_H = _sums(x, np.array([H]))
    S_k, dS_k = _sums(x, H - k)
    dk = delta ** k.astype(float)
    return {
        "rho": rho, "delta": delta, "x": x,
        "S_H": float(S_H[0]), "dS_H": float(dS_H[0]),
        "cohort_S": float(np.sum(dk * S_k)),                       # sum_k d^k S(H-k)
        "cohort_dS": float(np.sum(dk * dS_k)),                     # sum_k d^k S'(H-k)
        "cohort_kS": float(np.sum(k * delta ** (k - 1.0) * S_k)),  # sum_k k d^(k-1) S(H-k)
        "disc": float(np.sum(dk)),                                  # sum_k d^k
        "disc_k": float(np.sum(k * delta ** (k - 1.0))),            # sum_k k d^(k-1)
    }


def equity_value(p: EquityInputs) -> dict[str, float]:
    """Customer equity over a finite horizon, in Gupta, Lehmann & Stuart's (2004) form.

    The model runs in months. A customer active at the end of a month pays margin
    ``m`` for it; an active customer is still active a month later with
    probability ``rho = r ** (1/12)`` (``r`` = annual retention, constant over
    time and across customers); cash is discounted monthly by
    ``delta = (1 + i) ** (-1/12)`` (the study's monthly rule). With
    ``x = rho * delta`` and ``S(n) = sum_{t=1..n} x**t``:

    .. math::

        CE = m \\Big[N_0 S(H) + n \\sum_{k=1}^{H} \\delta^k S(H-k)\\Big]
             + (m_0 - c)\\, n \\sum_{k=1}^{H} \\delta^k

    The first term is the current customers (``N0`` active now, acquisition cost
    sunk); the others are GLS's "sum over cohorts": ``n`` customers acquired at
    the end of each month ``k = 1..H`` at cost ``c`` each, with the margin ``m0``
    of their first purchase then, earning ``m`` a month until the horizon's end.
    With ``m0 = 0`` and ``H -> inf``, ``S(H) -> x / (1 - x) = rho / (1 + i_m - rho)``,
    GLS's margin multiple (their equation for constant margin and retention), and
    the value of one new customer ``m S(H) - c`` becomes their ``m r / (1 + i - r) - c``.
    ``m0`` is kept apart because a first purchase is not repeated: folding it into
    ``m`` would credit today's customers with first purchases they will not make
    again.

    Timing follows GLS: a month's margin counts if the customer is still active
    at its end. Customers who buy continuously while active earn
    ``m (1 - rho) / lambda`` in expectation in a month they start active, so the
    end-of-month convention understates their margin by about ``lambda / 2``
    (2.5 % at a monthly churn rate of 5 %).

    Assumptions (GLS's, made explicit): customers are alike — one retention and one
    margin for all, constant over time (no growth of spend with tenure, no
    heterogeneity, so no selection of the loyal among survivors); churn is for
    good (no reactivation); new customers arrive at a constant pace ``n`` and cost
    ``c`` each; only the horizon's ``H`` months count.

    Returns
    -------
    dict
        ``equity``, ``current`` (value of the active customers), ``future``
        (the new cohorts' margin minus their acquisition cost) and ``per_new_customer``
        (``m0 + m S(H) - c``, a customer acquired today).
    """
    q = _parts(p)
    current = p.margin * p.active * q["S_H"]
    future = p.new_per_period * (p.margin * q["cohort_S"] + (p.first_margin - p.acquisition_cost) * q["disc"])
    return {"equity": current + future, "current": current, "future": future,
            "per_new_customer": p.first_margin + p.margin * q["S_H"] - p.acquisition_cost}


def equity_gradient(p: EquityInputs) -> dict[str, float]:
    """Analytic partial derivatives of customer equity (:func:`equity_value`).

    With ``S'(n) = sum_{t=1..n} t x**(t-1)``, ``x = rho * delta``:

    * ``dCE/dm = N0 S(H) + n sum_k d^k S(H-k)``;
    * ``dCE/dm0 = n sum_k d^k`` and ``dCE/dc = -n sum_k d^k``;
    * ``dCE/dr = m delta [N0 S'(H) + n sum_k d^k S'(H-k)] * rho / (12 r)``
      (chain rule through ``rho = r ** (1/12)``);
    * ``dCE/di = dCE/ddelta * (-delta / (12 (1 + i)))`` with
      ``dCE/ddelta = m [N0 rho S'(H) + n sum_k (k d^(k-1) S(H-k) + d^k rho S'(H-k))] + (m0 - c) n sum_k k d^(k-1)``.

    Returns
    -------
    dict with keys ``retention``, ``margin``, ``first_margin``, ``acquisition_cost``, ``discount_rate``.
    """
    q = _parts(p)
    m, n, N0, c = p.margin, p.new_per_period, p.active, p.acquisition_cost
    d_rho = m * q["delta"] * (N0 * q["dS_H"] + n * q["cohort_dS"])
    d_delta = (m * (N0 * q["rho"] * q["dS_H"] + n * (q["cohort_kS"] + q["rho"] * q["cohort_dS"]))
               + (p.first_margin - c) * n * q["disc_k"])
    return {
        "retention": d_rho * q["rho"] / (PERIODS_PER_YEAR * p.retention),
        "margin": N0 * q["S_H"] + n * q["cohort_S"],
        "first_margin": n * q["disc"],
        "acquisition_cost": -n * q["disc"],
        "discount_rate": d_delta * (-q["delta"] / (PERIODS_PER_YEAR * (1.0 + p.discount_rate))),
    }


#: What customer equity's elasticities are taken with respect to (the keys of ``elasticities_``).
ELASTICITY_DRIVERS = ("retention", "margin", "acquisition_cost", "discount_rate")


def _elasticities(p: EquityInputs, equity: float) -> dict[str, float]:
    """``dCE/dz * z / CE``: the % change of equity for a 1 % relative change of ``z`` (GLS's Table).

    ``margin`` is the elasticity to the margin *rate*, which scales ``m`` and ``m0`` together.
    """
    grad = equity_gradient(p)
    if equity == 0:
        return dict.fromkeys(ELASTICITY_DRIVERS, np.nan)
    return {"retention": grad["retention"] * p.retention / equity,
            "margin": (grad["margin"] * p.margin + grad["first_margin"] * p.first_margin) / equity,
            "acquisition_cost": grad["acquisition_cost"] * p.acquisition_cost / equity,
            "discount_rate": grad["discount_rate"] * p.discount_rate / equity}


def _point_value(p: EquityInputs) -> float:
    """Equity gained when annual retention rises by one percentage point (exact difference)."""
    if p.retention + ONE_POINT >= 1:
        return float("nan")
    return equity_value(replace(p, retention=p.retention + ONE_POINT))["equity"] - equity_value(p)["equity"]


# --------------------------------------------------------------------------- retention from durations
class RetentionEstimate(Result):
    """The constant churn rate behind the study's durations, and its annual retention.

    Attributes
    ----------
    events : int
        Customers who churned (by the study's rule).
    exposure_months : float
        Months active, summed over customers (first purchase or signup to churn or window end).
    hazard : float
        Churn rate per active customer-month ``lambda = events / exposure``.
    se_log_hazard : float
        Standard error of ``log(lambda)``, robust (sandwich) form of the ratio estimator.
    retention, ci : float, (float, float)
        Annual retention ``exp(-12 lambda)`` and its interval.
    monthly_retention : float
    level : float
    """

    def __init__(self, events: int, exposure_months: float, hazard: float, se_log_hazard: float, level: float):
        self.events, self.exposure_months, self.hazard = int(events), float(exposure_months), float(hazard)
        self.se_log_hazard, self.level = float(se_log_hazard), float(level)
        z = stats.norm.ppf(0.5 + level / 2)
        lo, hi = hazard * np.exp(-z * se_log_hazard), hazard * np.exp(z * se_log_hazard)
        self.retention = float(np.exp(-PERIODS_PER_YEAR * hazard))
        self.monthly_retention = float(np.exp(-hazard))
        self.ci = (float(np.exp(-PERIODS_PER_YEAR * hi)), float(np.exp(-PERIODS_PER_YEAR * lo)))

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"events": self.events, "exposure_months": self.exposure_months, "hazard": self.hazard,
                           "se_log_hazard": self.se_log_hazard, "retention": self.retention,
                           "monthly_retention": self.monthly_retention, "ci": list(self.ci), "level": self.level})

    def summary(self) -> Summary:
        d = self.to_dict()
        table = pd.DataFrame({"value": [d["events"], d["exposure_months"], d["hazard"], d["monthly_retention"],
                                        d["retention"], self.ci[0], self.ci[1]]},
                             index=["churned customers", "active customer-months", "churn rate per month",
                                    "monthly retention", "annual retention", "annual retention, low",
                                    "annual retention, high"])
        return Summary("Retention from the study's churn durations", [("", table)],
                       [f"{self.level:.0%} interval from the robust standard error of log(churn rate)."])


def estimate_retention(durations: pd.DataFrame, *, unit_days: float = 1.0, level: float = 0.95) -> RetentionEstimate:
    """Constant monthly churn rate from per-customer durations (exponential model), with a robust interval.

    ``lambda = D / T`` (churned customers over active customer-months) is the
    maximum-likelihood churn rate when every active customer churns with the same
    constant rate, the continuous-time form of GLS's constant retention; the annual
    retention is ``exp(-12 lambda)``. Customers churn independently, but their rates
    may differ: ``var(lambda) = sum_j (d_j - lambda t_j)**2 / T**2`` (the ratio
    estimator's sandwich variance) does not assume they are equal. The interval is
    Wald on ``log(lambda)``.

    Parameters
    ----------
    durations : DataFrame
        ``duration`` (in units of ``unit_days`` days) and ``event`` (churned), one row per customer
        (:attr:`cxlab.study.Study.durations`).
    unit_days : float
        Days per unit of ``duration`` (the study's durations are in days).
    level : float
    """
    t = durations["duration"].to_numpy(dtype=float) * unit_days / DAYS_PER_MONTH
    d = durations["event"].to_numpy(dtype=bool).astype(float)
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError("durations: every duration must be a finite number >= 0")
    D, T = d.sum(), t.sum()
    if D == 0 or T <= 0:
        raise ValueError(f"no retention can be estimated: {int(D)} churned customers over {T:.1f} active months")
    lam = D / T
    var = np.sum((d - lam * t) ** 2) / T ** 2
    return RetentionEstimate(int(D), float(T), float(lam), float(np.sqrt(var) / lam), level)


# --------------------------------------------------------------------------- customer equity
class CustomerEquity(Estimator):
    """Customer equity from the study's durations, revenue and customers, with elasticities and intervals.

    The inputs of :func:`equity_value`, measured:

    * ``r``: annual retention from :func:`estimate_retention` (the study's churn rule);
    * ``m``: ``margin_rate`` x net revenue after each customer's first purchase day /
      active customer-months (the rate the active customers earn at);
    * ``m0``: ``margin_rate`` x mean revenue of the first purchase day of the
      customers acquired in the last ``recent_months`` months;
    * ``N0``: customers not churned at the window's end;
    * ``n``: customers whose first purchase (or signup) falls in the last
      ``recent_months`` months, per month;
    * ``c``: mean ``acquisition_cost`` of those customers; unknown (no column, or
      no value for them) means ``c = 0``: the equity then **excludes acquisition
      spend** (an upper bound for the new cohorts) and ``acquisition_cost_known_``
      is False — it is never invented.

    Intervals carry the sampling uncertainty of ``r`` only (margin, acquisition
    rate and cost are taken as known): equity and the one-point value are
    evaluated over the retention interval (equity increases with ``r``; the
    one-point value is bracketed on a grid of the interval).

    Parameters
    ----------
    margin_rate : float
        Gross margin as a share of revenue (the study's ``margin_rate``).
    horizon_months : int
        The study's horizon.
    discount_rate : float
        The study's annual discount rate.
    recent_months : int
    level : float

    Attributes
    ----------
    retention_ : RetentionEstimate
    inputs_ : EquityInputs
    acquisition_cost_known_ : bool
    equity_, ci_ : dict, dict
        :func:`equity_value` and the (low, high) of ``equity`` and ``point_value``.
    elasticities_ : dict
        Elasticity of equity to annual retention, the margin rate (``m`` and ``m0`` together),
        acquisition cost (NaN when unknown) and the annual discount rate.
    point_value_ : float
        Equity gained by one percentage point more annual retention.
    """

    def __init__(self, margin_rate: float = 0.3, horizon_months: int = 12, discount_rate: float = 0.1,
                 recent_months: int = RECENT_MONTHS, level: float = 0.95):
        self.margin_rate = margin_rate
        self.horizon_months = horizon_months
        self.discount_rate = discount_rate
        self.recent_months = recent_months
        self.level = level

    def fit(self, durations: pd.DataFrame, revenue: pd.Series, *, window_end: Any,
            first_revenue: pd.Series | None = None, acquisition_cost: pd.Series | None = None) -> "CustomerEquity":
        """Measure the inputs and compute equity, elasticities and intervals.

        Parameters
        ----------
        durations : DataFrame
            Index customer_id; ``start``, ``duration`` (days), ``event`` (the study's durations).
        revenue : Series
            Net revenue in the window per customer_id (missing customers count 0).
        first_revenue : Series, optional
            Revenue of each customer's first purchase day (``first_purchase_value`` of
            :func:`cxlab.data.customer_summary`); without it ``m0 = 0`` and ``m`` includes first
            purchases (GLS's single margin).
        window_end : date-like
            Last day of the observation window.
        acquisition_cost : Series, optional
            Cost of acquiring each customer (index customer_id); NaN = unknown.
        """
        window_end = pd.Timestamp(window_end).normalize()
        self.retention_ = estimate_retention(durations, level=self.level)
        revenue = revenue.reindex(durations.index).fillna(0.0)
        first = (pd.Series(0.0, index=durations.index) if first_revenue is None
                 else first_revenue.reindex(durations.index).fillna(0.0))
        margin = self.margin_rate * float((revenue - first).sum()) / self.retention_.exposure_months
        since = window_end + pd.Timedelta(days=1) - pd.DateOffset(months=self.recent_months)
        start = pd.to_datetime(durations["start"])
        months = min(self.recent_months, max((window_end - start.min()).days + 1, 1) / DAYS_PER_MONTH)
        recent = durations.index[start >= since]
        self.new_per_period_ = len(recent) / months
        first_margin = self.margin_rate * float(first.loc[recent].mean()) if len(recent) else 0.0
        cost = None
        if acquisition_cost is not None:
            known = acquisition_cost.reindex(recent).dropna()
            cost = float(known.mean()) if len(known) else None
        self.acquisition_cost_known_ = cost is not None
        self.inputs_ = EquityInputs(
            retention=self.retention_.retention, margin=margin, acquisition_cost=cost or 0.0,
            discount_rate=float(self.discount_rate), horizon=int(self.horizon_months),
            active=float((~durations["event"].astype(bool)).sum()), new_per_period=self.new_per_period_,
            first_margin=first_margin)
        self.equity_ = equity_value(self.inputs_)
        self.elasticities_ = _elasticities(self.inputs_, self.equity_["equity"])
        if not self.acquisition_cost_known_:
            self.elasticities_["acquisition_cost"] = float("nan")
        self.gradient_ = equity_gradient(self.inputs_)
        self.point_value_ = _point_value(self.inputs_)
        self.ci_ = self._intervals()
        return self

    def _intervals(self) -> dict[str, tuple[float, float]]:
        lo, hi = self.retention_.ci
        hi = min(hi, 1.0 - 1e-9)
        grid = np.linspace(lo, hi, 61)
        at = [replace(self.inputs_, retention=float(r)) for r in grid]
        points = np.array([_point_value(p) for p in at])
        points = points[np.isfinite(points)]
        return {
            "retention": (lo, hi),
            "equity": (equity_value(at[0])["equity"], equity_value(at[-1])["equity"]),
            "per_new_customer": (equity_value(at[0])["per_new_customer"], equity_value(at[-1])["per_new_customer"]),
            "point_value": (float(points.min()), float(points.max())) if points.size else (np.nan, np.nan),
        }

    @classmethod
    def from_study(cls, study: Any) -> "CustomerEquity":
        """Fitted on a study: its durations (the one churn rule), margin, horizon and discount rate."""
        customers = study.customers
        cost = None
        if customers is not None and "acquisition_cost" in customers.columns:
            cost = pd.to_numeric(customers["acquisition_cost"], errors="coerce")
        summary = study.customer_summary
        return cls(margin_rate=study.margin_rate, horizon_months=study.horizon_months,
                   discount_rate=study.discount_rate).fit(
            study.durations, summary["revenue"], window_end=study.window_end,
            first_revenue=summary["first_purchase_value"], acquisition_cost=cost)

    # -- Result-like views
    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        p = self.inputs_
        return to_builtin({
            "inputs": {"retention": p.retention, "margin": p.margin, "acquisition_cost": p.acquisition_cost,
                       "acquisition_cost_known": self.acquisition_cost_known_, "discount_rate": p.discount_rate,
                       "horizon": p.horizon, "active": p.active, "new_per_period": p.new_per_period,
                       "first_margin": p.first_margin},
            "retention": self.retention_.to_dict(), **self.equity_, "elasticities": self.elasticities_,
            "point_value": self.point_value_, "ci": {k: list(v) for k, v in self.ci_.items()},
        })

    def summary(self) -> Summary:
        self._check_fitted()
        d = self.to_dict()
        shown = {k: v for k, v in d["inputs"].items() if k != "acquisition_cost_known"}
        inputs = pd.DataFrame({"value": np.array(list(shown.values()), dtype=float)}, index=list(shown))
        values = pd.DataFrame({
            "estimate": [self.equity_["equity"], self.equity_["per_new_customer"], self.point_value_],
            "low": [self.ci_["equity"][0], self.ci_["per_new_customer"][0], self.ci_["point_value"][0]],
            "high": [self.ci_["equity"][1], self.ci_["per_new_customer"][1], self.ci_["point_value"][1]],
        }, index=["customer equity", "value of a new customer", "one point of annual retention"])
        elasticities = pd.Series(self.elasticities_, name="elasticity").to_frame()
        notes = ["Gupta, Lehmann & Stuart (2004): current customers plus the cohorts acquired over the horizon; "
                 "intervals carry the uncertainty of the retention estimate only."]
        if not self.acquisition_cost_known_:
            notes.append("Acquisition cost unknown: equity excludes acquisition spend (an upper bound).")
        return Summary("Customer equity", [("inputs", inputs), ("values", values), ("elasticities", elasticities)],
                       notes)

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


# --------------------------------------------------------------------------- revenue lost to churn
@dataclass
class ChurnLosses(Result):
    """Revenue and margin that left with churned customers.

    Attributes
    ----------
    periods : DataFrame
        One row per complete calendar month (``period``, its first day): ``active_at_start``
        (customers active at the month's start), ``churned`` (customers whose lifetime ended in the
        month), ``churn_rate`` (= churned / active_at_start, NaN without active customers),
        ``revenue_lost`` (the churned customers' monthly revenue: net revenue / months active, at
        least one month) and ``margin_lost`` (x margin rate).
    by_segment : dict of DataFrame
        Per segmentation (``rfm``, ``segment``, ``acquisition_channel``) over the last
        ``recent`` complete months: ``customers`` (with the label, active at the start of those
        months or acquired during them), ``churned``,
        ``revenue_lost`` and ``margin_lost`` per month on average, ``share`` of the revenue lost.
    recent : DataFrame
        The rows of ``periods`` the averages are taken over (up to 12 last complete months).
    revenue_lost_per_period, margin_lost_per_period : float
        Averages over ``recent``.
    complete_until : Timestamp
        Churn in a month is complete once the rule can see it: months ending after this day are left out.
    segments_at : Timestamp or None
        Day the RFM segments were taken at (the start of ``recent``).
    margin_rate : float
    """

    periods: pd.DataFrame
    by_segment: dict = field(default_factory=dict)
    recent: pd.DataFrame = field(default=None, repr=False)
    revenue_lost_per_period: float = float("nan")
    margin_lost_per_period: float = float("nan")
    complete_until: pd.Timestamp | None = None
    segments_at: pd.Timestamp | None = None
    margin_rate: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"periods": self.periods, "by_segment": self.by_segment,
                           "revenue_lost_per_period": self.revenue_lost_per_period,
                           "margin_lost_per_period": self.margin_lost_per_period,
                           "complete_until": self.complete_until, "segments_at": self.segments_at,
                           "margin_rate": self.margin_rate})

    def summary(self) -> Summary:
        tables = [("per month", self.periods.set_index("period"))]
        tables += [(f"by {name}, last {len(self.recent)} complete months", t) for name, t in self.by_segment.items()]
        return Summary("Revenue lost to churn", tables,
                       [f"Monthly revenue of churned customers: net revenue / months active (at least one); "
                        f"months ending after {self.complete_until.date()} are not complete yet."])


def complete_months(window_start: Any, window_end: Any, known_after_days: float) -> tuple[pd.Timestamp, pd.PeriodIndex]:
    """The last day a loss can be dated by (``window_end - known_after_days``) and the calendar months
    of the window that end on or before it: the months whose losses can all be seen."""
    complete_until = pd.Timestamp(window_end).normalize() - pd.Timedelta(days=float(known_after_days))
    first = pd.Timestamp(window_start).to_period("M")
    last = (complete_until + pd.Timedelta(days=1)).to_period("M") - 1   # the last month ending by complete_until
    months = pd.period_range(first, last, freq="M") if last >= first else pd.PeriodIndex([], freq="M")
    return complete_until, months


def churn_losses(durations: pd.DataFrame, revenue: pd.Series, *, margin_rate: float, window_start: Any,
                 window_end: Any, known_after_days: float, segments: pd.DataFrame | None = None,
                 recent_months: int = RECENT_MONTHS) -> ChurnLosses:
    """Revenue and margin lost to churn per month and by segment.

    A customer's lifetime ends at ``start + duration`` (the study's durations:
    the last purchase under "no purchase for X days", the contract end under a
    contract); the month it ends in is the month the customer was lost. What
    leaves is their **monthly revenue**: net revenue in the window divided by
    the months they were active (at least one, so a one-time buyer's purchase
    counts as a month's revenue), times ``margin_rate`` for the margin. A month
    is complete when every churn in it can already be seen: it ends at least
    ``known_after_days`` before ``window_end`` (the rule's threshold; 0 for
    contracts).

    Parameters
    ----------
    durations : DataFrame
        Index customer_id; ``start``, ``duration`` (days), ``event``.
    revenue : Series
        Net revenue per customer_id in the window.
    margin_rate : float
    window_start, window_end : date-like
    known_after_days : float
    segments : DataFrame, optional
        Index customer_id, one column per segmentation (labels); customers missing from it are
        ``NaN`` (shown as not known).
    recent_months : int
        The last complete months the averages and the segment tables cover.
    """
    window_start = pd.Timestamp(window_start).normalize()
    window_end = pd.Timestamp(window_end).normalize()
    start = pd.to_datetime(durations["start"]).dt.normalize()
    end = start + pd.to_timedelta(durations["duration"].to_numpy(dtype=float), unit="D")
    churned = durations["event"].astype(bool).to_numpy()
    months_active = np.maximum(durations["duration"].to_numpy(dtype=float) / DAYS_PER_MONTH, 1.0)
    monthly = revenue.reindex(durations.index).fillna(0.0).to_numpy(dtype=float) / months_active

    complete_until, months = complete_months(window_start, window_end, known_after_days)
    # months as integers (year * 12 + month - 1): Period objects per customer cost seconds per million
    lost_in = (end.dt.year * 12 + end.dt.month - 1).to_numpy()
    start_day = start.to_numpy()
    end_day = end.to_numpy()
    # active at a month's start: started before it, less the churned whose lifetime ended before it (a lifetime
    # never ends before it starts, so those started before it too); sorted once, counted by binary search
    starts = np.sort(start_day)
    lost_ends = np.sort(end_day[churned])
    rows = []
    for month in months:
        begin = month.start_time
        code = month.year * 12 + month.month - 1
        b = np.datetime64(begin, "ns")
        active = int(np.searchsorted(starts, b, side="left") - np.searchsorted(lost_ends, b, side="left"))
        hit = churned & (lost_in == code)
        lost = float(monthly[hit].sum())
        rows.append({"period": begin, "active_at_start": active, "churned": int(hit.sum()),
                     "churn_rate": hit.sum() / active if active else np.nan,
                     "revenue_lost": lost, "margin_lost": lost * margin_rate})
    periods = pd.DataFrame(rows, columns=["period", "active_at_start", "churned", "churn_rate", "revenue_lost",
                                          "margin_lost"])
    recent = periods.tail(recent_months).reset_index(drop=True)
    result = ChurnLosses(periods=periods, recent=recent, complete_until=complete_until, margin_rate=margin_rate,
                         segments_at=recent["period"].iloc[0] if len(recent) else None)
    if recent.empty:
        return result
    result.revenue_lost_per_period = float(recent["revenue_lost"].mean())
    result.margin_lost_per_period = float(recent["margin_lost"].mean())
    if segments is not None:
        recent_codes = [p.year * 12 + p.month - 1 for p in pd.to_datetime(recent["period"])]
        in_recent = churned & np.isin(lost_in, recent_codes)
        # the customers the window could lose: active at its start or acquired during it
        cut = recent["period"].iloc[0]
        at_risk = ~churned | (end >= cut).to_numpy()
        frame = pd.DataFrame({"lost": np.where(in_recent, monthly, 0.0), "churned": in_recent},
                             index=durations.index)[at_risk]
        n = len(recent)
        for name in segments.columns:
            label = segments[name].reindex(frame.index).astype("object")
            grouped = frame.groupby(label, dropna=True, observed=True, sort=False)
            table = pd.DataFrame({
                "customers": grouped.size(),
                "churned": grouped["churned"].sum().astype(np.int64),
                "revenue_lost": grouped["lost"].sum() / n,
            })
            table["margin_lost"] = table["revenue_lost"] * margin_rate
            total = table["revenue_lost"].sum()
            table["share"] = table["revenue_lost"] / total if total else np.nan
            table.index.name = name
            result.by_segment[name] = table.sort_values("revenue_lost", ascending=False)
    return result


def segments_at(study: Any, day: Any) -> pd.DataFrame:
    """Each customer's segments as they stood on ``day``: RFM segment (scored on the data layer's
    summary up to the day before; customers whose first purchase came later are ``acquired_later``), the client's
    ``segment`` and the acquisition channel (customers table, when present)."""
    from cxlab.data import customer_summary
    from cxlab.segmentation import rfm_scores, rfm_segments

    day = pd.Timestamp(day).normalize()
    index = study.durations.index
    out = pd.DataFrame(index=index)
    before = customer_summary(study.data.transactions, unit=study.unit, observation_end=day - pd.Timedelta(days=1))
    rfm = pd.Series(NEW_SEGMENT, index=index, dtype="object")
    if len(before) >= 5:
        labels = rfm_segments(rfm_scores(before, recency_unit=study.unit)).customers["segment"].astype("object")
        rfm.loc[labels.index.intersection(index)] = labels.reindex(labels.index.intersection(index))
    out["rfm"] = rfm
    customers = study.customers
    for column in ("segment", "acquisition_channel"):
        if customers is not None and column in customers.columns and customers[column].notna().any():
            out[column] = customers[column].astype("object").reindex(index)
    return out


def churn_losses_for_study(study: Any, *, with_segments: bool = True) -> ChurnLosses:
    """:func:`churn_losses` with the study's durations, revenue, margin, window and churn rule.

    The losses are counted by calendar month, the study's cohort period; segments are taken at the
    start of the last ``RECENT_MONTHS`` complete months.
    """
    if study.period != "M":
        raise ValueError(f"losses are counted by calendar month; the study's period is {study.period!r}")
    churn = study.churn
    # a loss under "no purchase for X days" is seen X days after the last purchase; a contract end at once
    known_after = churn.threshold_days if churn.kind == "no_purchase" else 0.0
    _, months = complete_months(study.window_start, study.window_end, known_after)
    segments = None
    if with_segments and len(months):
        segments = segments_at(study, months[-RECENT_MONTHS:][0].start_time)
    return churn_losses(study.durations, study.customer_summary["revenue"], margin_rate=study.margin_rate,
                        window_start=study.window_start, window_end=study.window_end, known_after_days=known_after,
                        segments=segments)
