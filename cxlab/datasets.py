"""Synthetic customer data with a known truth, for demos and for testing estimators.

Two kinds of generators live here.

* :func:`make_demo_dataset` writes a whole client-like data set in the data
  contract's columns (transactions, customers, surveys) from an explicit
  structural model, and returns the true parameters and the true effect of
  the loyalty program alongside (:class:`DemoTruth`).
* ``simulate_*`` draw per-customer summaries straight from one of the
  buy-till-you-die / spend models (BG/NBD, Pareto/NBD, Gamma-Gamma, BG/BB),
  with the latent values of every customer, so estimators can be checked
  against the parameters that generated the data.

The demo model (all rates per week, times in continuous calendar time)
-----------------------------------------------------------------------
Acquisition
    Customer *i* is acquired at ``s_i`` ~ Uniform(start, end) through channel
    ``c_i`` (organic, search, social, referral, partner) with probabilities
    ``channel_shares``; acquisition cost ~ Gamma with a channel-specific mean
    (organic costs nothing). The first purchase is made at ``s_i`` and
    ``signup_date = s_i``.
Purchasing (Pareto/NBD, Schmittlein, Morrison & Colombo 1987)
    ``lambda_i = m_c * g_i`` with ``g_i ~ Gamma(shape=r, rate=alpha)`` and a
    channel multiplier ``m_c``; while alive, repeat purchases arrive as a
    Poisson process with rate ``lambda_i`` (``lambda_i * F`` while a loyalty
    member, ``F = loyalty_frequency_multiplier``).
Spend (Gamma-Gamma, Fader, Hardie & Lee 2005, "RFM and CLV")
    ``nu_i ~ Gamma(shape=q, rate=gamma)``, each transaction value
    ``z ~ Gamma(shape=p, rate=nu_i)`` (mean ``p / nu_i``), times a currency
    scale. A share ``return_rate`` of purchases is followed by a (partial)
    return, a negative row ``Exp(mean 10 days)`` later. Margin per row =
    amount x Uniform(margin_rate_range).
Lifetime (proportional hazards, no frailty)
    ``mu_i(t) = mu0 * HR_channel(c_i) * HR_nps(g_i) * HR_loyalty ** member_i(t)``.
    With ``E_i ~ Exp(1)`` the death time solves ``H_i(tau_i) = E_i`` for the
    piecewise-constant cumulative hazard (the rate changes once, at the join
    date). No unobserved heterogeneity enters the hazard, so a Cox model with
    channel, NPS group and time-varying membership recovers the hazard ratios.
Satisfaction
    Latent group (promoter / passive / detractor) with channel-specific
    probabilities; survey answers are drawn *within* the group (promoter
    9-10, passive 7-8, detractor 0-6), so the observed NPS group of a surveyed
    customer equals the latent group exactly.
Loyalty program (self-selection)
    From ``max(loyalty_program_start, s_i)`` on, a living customer joins with rate
    ``kappa_i = loyalty_join_rate * (lambda_i / E[lambda]) ** loyalty_join_elasticity``:
    heavy buyers join much sooner, so comparing members with non-members
    overstates the effect several times.

The selection mechanism, precisely (what a design has to cope with)
    * Joining depends on the **latent** purchase rate ``lambda_i`` only (and on
      being alive): not on the purchases actually made, the spend level ``nu_i``,
      the satisfaction group or the region. Given ``lambda_i`` the join time is
      independent of the Poisson purchase noise.
    * The join time is a random moment while alive (not at a purchase); a member
      is therefore known to be alive at the join date, a non-member is not.
    * No anticipation: the purchase rate changes exactly at the join date.
    * The dropout hazard does not depend on ``lambda_i``, so without the program
      every customer's expected purchases over a window are ``lambda_i`` times a
      factor that depends on the hazard only (channel, satisfaction group).

    Consequences, measured on this generator (``tests/uplift/test_synthetic.py``):
    a design that matches members with non-members on purchases in the months
    just before joining and takes the difference in money leaves the members
    heavier than their matches (the purchases are a noisy measure of
    ``lambda_i``; given them, members' ``lambda_i`` is higher: regression to the
    mean), so it overstates the effect and a placebo with join dates moved six
    months earlier finds an "effect" of about a third of the true one. The
    proportional design of :class:`cxlab.uplift.PrePostDiD` (members' own
    pre-join level times the growth of non-members weighted on history *before*
    the pre window) is unbiased for this selection, because ``lambda_i`` cancels in
    the ratio. Its remaining biases are of opposite signs and roughly cancel
    here with 6-month windows: members are known alive at the join date, controls
    only at their last purchase (up); the activity check inflates light buyers'
    baselines (up); controls who join during their post window carry part of the
    effect (down) — see :mod:`cxlab.uplift.design`.

The counterfactual (coupled paths)
----------------------------------
For every customer who joined, the "had not joined" path is built from the
same random numbers:

* death: ``tau_cf`` solves ``H_cf(tau) = E_i`` with the no-program hazard (the
  same ``E_i``, i.e. the same uniform draw);
* purchases before joining are the same;
* each realised purchase made as a member is kept with probability ``1/F``
  (Poisson thinning turns rate ``lambda*F`` into rate ``lambda``) and only if
  it falls before ``tau_cf``;
* if ``tau_cf`` is later than the realised death, the counterfactual customer
  buys at rate ``lambda_i`` with fresh draws between the two;
* returns follow their purchase (kept iff the purchase is kept and the return
  falls before the counterfactual death); fresh purchases get fresh returns.

The true effects in :class:`DemoTruth` are averages of realised minus
counterfactual outcomes over the members of *this* sample (a sample ATT), so
they include the sampling noise of the draw, exactly like the quantity an
estimator on this data targets.

A randomised winback campaign (``campaign=True``)
-------------------------------------------------
On ``campaign_sent`` (default: 120 days before ``end``) every customer acquired
before that day whose last purchase is ``campaign_sleeping_days`` or more
before it (a *sleeper*) is assigned to ``treatment`` with probability
``campaign_treated_share``, else to ``control`` (the ``campaigns`` table:
customer_id, campaign, sent_at, group, channel sms / email, cost per message,
zero for the held-out control). A sleeper *responds* to the message with
probability ``campaign_response_rate`` with one purchase ``Exp(mean
campaign_response_days)`` after sending, of a Gamma-Gamma value of their own
spend level, provided they are still alive then (the dead cannot respond, so
the effect is diluted by the sleepers already lost). Responses are drawn for
every sleeper (their potential outcome under treatment) and appended to the
transactions (order ids ``R…``) for the treated only; the customers' own
purchases are untouched, so the realised log of the control group is their
outcome without the campaign and the log without the appended rows is the
treated's. The truth (sample average over all sleepers of the potential
outcomes within ``campaign_window_days`` of sending: return rate, revenue and
margin with the campaign minus without it) is in :class:`DemoTruth`. The
campaign draws from its own random stream (``default_rng([seed, 7141])``), so
the other tables do not change with it.
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from cxlab.units import DAYS_PER_MONTH

__all__ = [
    "DemoTruth",
    "SyntheticDataset",
    "make_demo_dataset",
    "simulate_bgnbd",
    "simulate_pareto_nbd",
    "simulate_gamma_gamma",
    "simulate_bgbb",
    "write_demo_files",
    "reference_data",
    "MONTH_DAYS",
]

def reference_data(name: str = "") -> Path:
    """The folder of a public reference dataset the tests validate against (``tests/data/<name>``:
    cdnow, donations, apparel, lalonde, mpdta, rossi, darfur), found from any working folder.

    Each folder's ``SOURCE.md`` gives the origin and the published numbers.
    """
    from cxlab.config import find_root

    folder = find_root() / "tests" / "data" / name
    if not folder.is_dir():
        known = sorted(p.name for p in folder.parent.iterdir() if p.is_dir()) if folder.parent.is_dir() else []
        raise FileNotFoundError(f"no reference data {name!r} in {folder.parent}; known: {known}")
    return folder


#: Length of a month in days (365.25 / 12), the data layer's "M" unit.
MONTH_DAYS = DAYS_PER_MONTH
_WEEK_DAYS = 7.0
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_SECOND = 10**9

CHANNELS = ("organic", "search", "social", "referral", "partner")
NPS_GROUPS = ("promoter", "passive", "detractor")

#: Approximate value of 1 RUB in other currencies, so amounts look plausible.
_CURRENCY_SCALE = {"RUB": 1.0, "KZT": 5.5, "BYN": 0.035, "USD": 0.011, "EUR": 0.010, "GBP": 0.0085}

_DEFAULT_CHANNEL_SHARES = {"organic": 0.35, "search": 0.25, "social": 0.20, "referral": 0.10, "partner": 0.10}
_DEFAULT_CHANNEL_FREQUENCY = {"organic": 1.0, "search": 0.9, "social": 0.7, "referral": 1.2, "partner": 0.8}
_DEFAULT_CHANNEL_HAZARD = {"organic": 1.0, "search": 1.15, "social": 1.45, "referral": 0.8, "partner": 1.2}
_DEFAULT_CHANNEL_COST = {"organic": 0.0, "search": 1500.0, "social": 900.0, "referral": 500.0, "partner": 2200.0}
_DEFAULT_NPS_HAZARD = {"promoter": 1.0, "passive": 1.25, "detractor": 1.8}
_DEFAULT_NPS_PROBS = {
    "organic": (0.50, 0.32, 0.18),
    "search": (0.40, 0.35, 0.25),
    "social": (0.30, 0.35, 0.35),
    "referral": (0.60, 0.28, 0.12),
    "partner": (0.35, 0.35, 0.30),
}
_REGIONS = ("Moscow", "Saint Petersburg", "Kazan", "Novosibirsk", "Yekaterinburg")
_REGION_P = (0.40, 0.22, 0.13, 0.13, 0.12)
_TOUCHPOINTS = ("store", "web", "app", "call_center", "delivery")
_N_STORES = 12


# --------------------------------------------------------------------------- results
@dataclass
class DemoTruth:
    """The parameters that generated a demo data set and the true program effect.

    Rates are per week; hazard ratios multiply the baseline hazard ``mu0``.

    Attributes
    ----------
    r, alpha : float
        Purchase-rate heterogeneity, ``g_i ~ Gamma(shape=r, rate=alpha)``
        (per week) before the channel multiplier.
    p, q, gamma : float
        Gamma-Gamma spend: ``nu_i ~ Gamma(q, rate=gamma)``, transaction value
        ``~ Gamma(p, rate=nu_i)``, in RUB before ``currency_scale``.
    currency, currency_scale : str, float
        Amounts are RUB-scale values times ``currency_scale``.
    mu0 : float
        Baseline dropout hazard per week (organic promoter, not a member).
    channel_shares, channel_frequency_multipliers, channel_hazard_ratios,
    channel_mean_acquisition_cost : dict
        Per acquisition channel.
    nps_group_probabilities : dict
        Channel -> (promoter, passive, detractor) probabilities.
    nps_hazard_ratios : dict
        Satisfaction group -> hazard ratio (promoter = 1).
    loyalty : bool
        Whether the program exists in this data set.
    loyalty_program_start : Timestamp
    loyalty_frequency_multiplier : float
        Purchase rate multiplier while a member (``F``).
    loyalty_churn_hazard_ratio : float
        Hazard ratio while a member (time-varying from the join date).
    loyalty_join_rate, loyalty_join_elasticity : float
        Join hazard per week ``loyalty_join_rate * (lambda_i / E[lambda]) ** elasticity``.
    return_rate : float
        Probability that a purchase is followed by a (partial) return.
    margin_rate_range : tuple
        Margin / amount ~ Uniform(range).
    start, end : Timestamp
        Observation window; ``end`` is the observation end.
    att_by_month : DataFrame
        One row per ``months_since_join`` k = 0, 1, ...: ``members`` = members
        whose month k, ``[join + k*M, join + (k+1)*M)`` with M = 30.4375 days,
        ends on or before ``end``; ``transactions_realized``,
        ``transactions_counterfactual``, ``transactions_effect`` (purchases,
        returns not counted) and ``revenue_realized``,
        ``revenue_counterfactual``, ``revenue_effect`` (net amount, returns
        included) = averages over those members of the month's outcome with
        the program, without it (coupled path, see module docstring), and
        their difference. Members who died count with zeros. Only months
        with at least one member are listed.
    att_transactions_12m, att_revenue_12m : float
        Average over members with ``join + 12*M <= end`` ("full 12 months
        observed") of realised minus counterfactual purchases (revenue) in
        ``[join, join + 12*M)``. NaN when no member has 12 months.
    members_12m : int
        Number of members entering the 12-month averages.
    naive_member_spend_ratio : float
        Total net revenue of customers who joined by ``end`` divided by their
        total weeks from signup to ``end`` (at least one week each), over the
        same ratio for never-members: the biased comparison, for contrast.
    campaign_sent : Timestamp or None
        Day the winback campaign was sent (None without a campaign).
    campaign_window_days : int
        Days after sending over which the campaign truths are counted.
    campaign_sleeping_days : float
        The audience rule: no purchase for this many days before sending.
    campaign_response_rate : float
        Probability that a living treated sleeper responds.
    campaign_sleepers, campaign_treated : int
        Audience size and treated sleepers.
    campaign_incremental_return_rate : float
        Sample ATE over the audience: share returning (a purchase within the
        window) if treated minus share returning if not.
    campaign_incremental_revenue, campaign_incremental_margin : float
        Sample ATE per audience member of revenue (margin) within the window.
    campaign_latent : DataFrame
        Per sleeper (index ``customer_id``): ``group``, ``alive_at_send``,
        ``responds``, ``response_time`` (days after sending), ``response_amount``,
        ``response_margin``, ``returned_if_treated``, ``returned_if_control``,
        ``revenue_if_treated``, ``revenue_if_control``, ``margin_if_treated``,
        ``margin_if_control`` (within the window), ``pre_revenue`` (the 365 days
        before sending), ``days_asleep``.
    latent : DataFrame
        Per customer (index ``customer_id``): ``channel``, ``nps_group``,
        ``lam`` (weekly purchase rate, not a member), ``nu``, ``mean_spend``
        (= p/nu x scale), ``hazard`` (weekly, not a member), ``acquired``,
        ``join_time`` (NaT if never joined before ``end``), ``death_time``
        (may lie after ``end``), ``alive_at_end``, ``death_time_counterfactual``;
        with discount offers also ``discount_sensitive``.
    driver_loadings : dict
        Touchpoint -> attribute -> loading ``a`` of the attribute rating on the
        NPS answer (see :func:`_attribute_ratings`).
    driver_importance : DataFrame
        The population truth of the key-driver analysis: ``scope``
        (``"overall"`` or a touchpoint), ``attribute``, ``importance`` (Shapley
        part of the R² of the NPS answer on the four ratings), ``share`` (of
        R²) and ``mean_rating``. Exact (Gauss-Hermite quadrature over the
        halo, sums over the answer values) given the data set's distribution
        of NPS answers and the touchpoint probabilities.
    csi : float
        True customer satisfaction index (0..100): the population mean ratings
        weighted by the overall ``share`` (see :mod:`cxlab.cx_drivers`).
    discount_offers : bool
        Whether the data set has the promotion calendar and the ``discount`` column
        (see :func:`make_demo_dataset`, ``discount_offers``).
    discount_calendar : Series
        Offered depth (percent) per Monday-based week ordinal (the data layer's "W" period).
    discount_sensitive_share, discount_response_per_point : float
        Share of discount-sensitive customers; a sensitive customer buys at
        ``1 + response * d`` times their rate in a week of depth ``d`` percent.
    discount_incidence_multiplier : dict
        Depth -> the purchase rate in weeks of that depth over the rate without a
        discount, averaged over all customers with weights = their expected purchases
        from the week after the first purchase on (what a within-customer Poisson
        model of weekly purchases on the week's depth targets). A model that uses only
        the weeks between each customer's first and last purchase weighs responders, who
        buy more, a little more: about 1-2 % above this value at 20 % depth.
    discount_basket_multiplier : dict
        Depth -> the paid amount per purchase relative to no discount (1: baskets do not respond).
    discount_incremental_purchases : int
        Purchases made only because of a discount (the appended rows).
    discount_margin_given_away : float
        Sum of the discounts on purchases that would have been made anyway.
    discount_total, discount_incremental_revenue : float
        All discounts granted; the paid amounts of the incremental purchases.
    """

    r: float
    alpha: float
    p: float
    q: float
    gamma: float
    currency: str
    currency_scale: float
    mu0: float
    channel_shares: dict
    channel_frequency_multipliers: dict
    channel_hazard_ratios: dict
    channel_mean_acquisition_cost: dict
    nps_group_probabilities: dict
    nps_hazard_ratios: dict
    loyalty: bool
    loyalty_program_start: pd.Timestamp | None
    loyalty_frequency_multiplier: float
    loyalty_churn_hazard_ratio: float
    loyalty_join_rate: float
    loyalty_join_elasticity: float
    return_rate: float
    margin_rate_range: tuple
    start: pd.Timestamp
    end: pd.Timestamp
    att_by_month: pd.DataFrame = field(repr=False)
    att_transactions_12m: float = float("nan")
    att_revenue_12m: float = float("nan")
    members_12m: int = 0
    naive_member_spend_ratio: float = float("nan")
    latent: pd.DataFrame = field(default=None, repr=False)
    driver_loadings: dict = field(default_factory=dict)
    driver_importance: pd.DataFrame = field(default=None, repr=False)
    csi: float = float("nan")
    discount_offers: bool = False
    discount_calendar: pd.Series = field(default=None, repr=False)
    discount_sensitive_share: float = 0.0
    discount_response_per_point: float = 0.0
    discount_incidence_multiplier: dict = field(default_factory=dict)
    discount_basket_multiplier: dict = field(default_factory=dict)
    discount_incremental_purchases: int = 0
    discount_margin_given_away: float = 0.0
    discount_total: float = 0.0
    discount_incremental_revenue: float = 0.0
    campaign_sent: pd.Timestamp | None = None
    campaign_window_days: int = 0
    campaign_sleeping_days: float = float("nan")
    campaign_response_rate: float = float("nan")
    campaign_sleepers: int = 0
    campaign_treated: int = 0
    campaign_incremental_return_rate: float = float("nan")
    campaign_incremental_revenue: float = float("nan")
    campaign_incremental_margin: float = float("nan")
    campaign_latent: pd.DataFrame = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able parameters and effects (without the per-customer ``latent`` frames)."""
        from cxlab._base import to_builtin

        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("latent", "campaign_latent")}
        return to_builtin(d)


@dataclass
class SyntheticDataset:
    """Tables in the data contract's columns plus the truth that generated them."""

    transactions: pd.DataFrame
    customers: pd.DataFrame
    surveys: pd.DataFrame
    truth: DemoTruth
    params: dict = field(default_factory=dict)
    campaigns: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (
            f"SyntheticDataset({len(self.customers)} customers, {len(self.transactions)} transactions, "
            f"{len(self.surveys)} survey answers, seed={self.params.get('seed')})"
        )


# --------------------------------------------------------------------------- helpers
def _check_positive(**kwargs: float) -> None:
    for name, value in kwargs.items():
        if not np.all(np.isfinite(value)) or np.any(np.asarray(value) <= 0):
            raise ValueError(f"{name} must be positive and finite, got {value!r}")


def _poisson_times(rng: np.random.Generator, seg_start: np.ndarray, seg_len: np.ndarray,
                   rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Event times of independent Poisson processes, one per segment.

    Returns ``(segment_index, time)``; given the count, Poisson event times
    are i.i.d. uniform on the segment.
    """
    seg_len = np.maximum(seg_len, 0.0)
    counts = rng.poisson(rate * seg_len)
    idx = np.repeat(np.arange(len(seg_start)), counts)
    times = seg_start[idx] + rng.random(idx.size) * seg_len[idx]
    return idx, times


def _categorical(codes: np.ndarray, categories: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8 if len(categories) < 127 else np.int32),
                                     categories=list(categories))


def _ids(prefix: str, n: int, width: int | None = None) -> np.ndarray:
    """Zero-padded string ids as an object array (``C000001`` ...)."""
    width = width or max(6, len(str(max(n - 1, 0))))
    digits = np.char.zfill(np.arange(n).astype(f"U{width}"), width)   # vectorized, ~2x a str.format loop
    return np.char.add(prefix, digits).astype(object)


def _to_datetime(days: np.ndarray, origin_ns: int) -> np.ndarray:
    """Float days since origin -> datetime64[ns], floored to whole seconds (NaN -> NaT)."""
    days = np.asarray(days, dtype=float)
    out = np.full(days.shape, np.iinfo(np.int64).min, dtype=np.int64)
    ok = np.isfinite(days)
    seconds = np.floor(days[ok] * 86_400.0).astype(np.int64)
    out[ok] = origin_ns + seconds * _NS_PER_SECOND
    return out.view("datetime64[ns]")


# --------------------------------------------------------------------------- demo data
def make_demo_dataset(
    n_customers: int = 5000,
    seed: int | None = 0,
    start: str | pd.Timestamp = "2023-01-01",
    end: str | pd.Timestamp = "2025-12-31",
    currency: str = "RUB",
    contractual: bool = False,
    loyalty: bool = True,
    *,
    r: float = 0.75,
    alpha: float = 4.0,
    p: float = 6.0,
    q: float = 4.0,
    gamma: float = 1250.0,
    mu0: float = 0.012,
    channel_shares: dict | None = None,
    channel_frequency_multipliers: dict | None = None,
    channel_hazard_ratios: dict | None = None,
    channel_mean_acquisition_cost: dict | None = None,
    nps_group_probabilities: dict | None = None,
    nps_hazard_ratios: dict | None = None,
    loyalty_program_start: str | pd.Timestamp | None = None,
    loyalty_frequency_multiplier: float = 1.15,
    loyalty_churn_hazard_ratio: float = 0.8,
    loyalty_join_rate: float = 0.006,
    loyalty_join_elasticity: float = 1.5,
    return_rate: float = 0.02,
    margin_rate_range: tuple[float, float] = (0.25, 0.35),
    survey_share: float = 0.3,
    order_ids: bool = True,
    discount_offers: bool = False,
    discount_depths: dict | None = None,
    discount_sensitive_share: float = 0.3,
    discount_response: float = 0.05,
    campaign: bool = True,
    campaign_sent: str | pd.Timestamp | None = None,
    campaign_sleeping_days: float = 90.0,
    campaign_treated_share: float = 0.5,
    campaign_response_rate: float = 0.30,
    campaign_response_days: float = 14.0,
    campaign_window_days: int = 60,
    campaign_cost: float = 12.0,
) -> SyntheticDataset:
    """Simulate a retailer's customers, transactions and NPS surveys with a known truth.

    The model (Pareto/NBD purchasing, Gamma-Gamma spend, proportional-hazards
    dropout with channel, satisfaction and loyalty-membership effects,
    self-selected loyalty joining) and the coupled counterfactual behind the
    true effects are described in the module docstring.

    Parameters
    ----------
    n_customers : int
        Customers acquired between ``start`` and ``end``.
    seed : int or None
        Seed of the ``numpy.random.Generator``; the same seed gives identical tables.
    start, end : date-like
        Observation window (``end`` inclusive to the second 23:59:59).
    currency : str
        ISO code; amounts are RUB-scale values times an approximate exchange
        rate (RUB, KZT, BYN, USD, EUR, GBP; other codes keep the RUB scale).
    contractual : bool
        If True, ``customers.end_date`` is the true churn time (NaT when the
        customer is alive at ``end``).
    loyalty : bool
        If False there is no program: no joins, no ``loyalty_join_date`` column.
    r, alpha : float
        ``Gamma(shape=r, rate=alpha)`` of the weekly purchase rate.
    p, q, gamma : float
        Gamma-Gamma spend parameters (RUB scale).
    mu0 : float
        Baseline dropout hazard per week.
    channel_shares, channel_frequency_multipliers, channel_hazard_ratios,
    channel_mean_acquisition_cost : dict, optional
        Per-channel settings (keys: organic, search, social, referral, partner).
    nps_group_probabilities : dict, optional
        Channel -> (promoter, passive, detractor) probabilities.
    nps_hazard_ratios : dict, optional
        Group -> hazard ratio; promoter is the reference.
    loyalty_program_start : date-like, optional
        Default: ``start`` + 6 months (a pre-period without the program).
    loyalty_frequency_multiplier, loyalty_churn_hazard_ratio : float
        True effects of membership on the purchase rate and the dropout hazard.
    loyalty_join_rate, loyalty_join_elasticity : float
        Weekly join hazard of a customer with the average purchase rate, and
        its elasticity in the purchase rate.
    return_rate : float
        Share of purchases followed by a return.
    margin_rate_range : (float, float)
        Bounds of the uniform margin rate.
    survey_share : float
        Share of customers who answer at least one survey.
    order_ids : bool
        Whether to add ``order_id`` (string ids cost time for very large ``n``).
    discount_offers : bool
        If True, a promotion calendar: every Monday-based week offers one depth
        (percent, drawn from ``discount_depths``: depth -> probability, default
        0 / 5 / 10 / 20 % with 0.55 / 0.20 / 0.15 / 0.10). A share
        ``discount_sensitive_share`` of customers buys at ``1 + discount_response * d``
        times their current rate in a week of depth ``d``, from the week after
        their first purchase on: the extra purchases are appended rows (no
        returns; the rows of the model without discounts are unchanged). Every
        purchase in an offer week gets ``discount = amount * d / (100 - d)``
        (amount is what was paid), so purchases that would have been made anyway
        are discounted too: the margin given away. Paid baskets do not respond.
        Drawn from an own random stream ``default_rng([seed, 1404])``.
    campaign : bool
        Whether to run the randomised winback campaign (module docstring).
    campaign_sent : date-like, optional
        Day the campaign is sent; default ``end`` - 120 days.
    campaign_sleeping_days : float
        The audience: no purchase for this many days before sending.
    campaign_treated_share : float
        Probability that a sleeper is assigned to treatment.
    campaign_response_rate, campaign_response_days : float
        True effect: a living treated sleeper responds with this probability,
        with one purchase ``Exp(mean campaign_response_days)`` after sending.
    campaign_window_days : int
        Window of the campaign truths (days after sending).
    campaign_cost : float
        Cost of one SMS in RUB (times the currency scale); an e-mail costs a quarter.

    Returns
    -------
    SyntheticDataset
        ``transactions`` (customer_id, timestamp, amount, order_id, channel,
        store, margin, [discount]; sorted by timestamp), ``customers`` (customer_id,
        signup_date, [loyalty_join_date], [end_date], region,
        acquisition_channel, acquisition_cost), ``surveys`` (customer_id,
        date, nps, csat, ces, touchpoint; 30 % of customers by default, one
        or more answers dated while alive; NPS drawn within the latent group,
        so the observed group equals the latent one; csat 1..5 and ces 1..7
        (7 = most effort) vary with the group), ``campaigns`` (customer_id,
        campaign, sent_at, group, channel, cost; None without a campaign),
        ``truth`` (:class:`DemoTruth`) and ``params`` (the arguments).
    """
    params = {k: v for k, v in locals().items()}
    n = int(n_customers)
    if n < 1:
        raise ValueError(f"n_customers must be >= 1, got {n_customers!r}")
    _check_positive(r=r, alpha=alpha, p=p, q=q, gamma=gamma, mu0=mu0,
                    loyalty_frequency_multiplier=loyalty_frequency_multiplier,
                    loyalty_churn_hazard_ratio=loyalty_churn_hazard_ratio,
                    loyalty_join_rate=loyalty_join_rate)
    if not 0 <= return_rate < 1:
        raise ValueError(f"return_rate must be in [0, 1), got {return_rate!r}")
    if not 0 <= survey_share <= 1:
        raise ValueError(f"survey_share must be in [0, 1], got {survey_share!r}")
    start_ts = pd.Timestamp(start).normalize()
    end_ts = pd.Timestamp(end).normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    if end_ts <= start_ts:
        raise ValueError(f"end ({end}) must be after start ({start})")
    program_ts = (start_ts + pd.DateOffset(months=6)) if loyalty_program_start is None \
        else pd.Timestamp(loyalty_program_start)
    if loyalty and not (start_ts <= program_ts < end_ts):
        raise ValueError(f"loyalty_program_start {program_ts.date()} must lie within [start, end)")
    scale = _CURRENCY_SCALE.get(currency.upper(), 1.0)

    shares = dict(channel_shares or _DEFAULT_CHANNEL_SHARES)
    freq_mult = dict(channel_frequency_multipliers or _DEFAULT_CHANNEL_FREQUENCY)
    ch_hr = dict(channel_hazard_ratios or _DEFAULT_CHANNEL_HAZARD)
    ch_cost = dict(channel_mean_acquisition_cost or _DEFAULT_CHANNEL_COST)
    nps_probs = {k: tuple(v) for k, v in (nps_group_probabilities or _DEFAULT_NPS_PROBS).items()}
    nps_hr = dict(nps_hazard_ratios or _DEFAULT_NPS_HAZARD)
    for name, d in (("channel_shares", shares), ("channel_frequency_multipliers", freq_mult),
                    ("channel_hazard_ratios", ch_hr), ("channel_mean_acquisition_cost", ch_cost),
                    ("nps_group_probabilities", nps_probs)):
        if set(d) != set(CHANNELS):
            raise ValueError(f"{name} must have exactly the keys {CHANNELS}, got {sorted(d)}")
    if set(nps_hr) != set(NPS_GROUPS):
        raise ValueError(f"nps_hazard_ratios must have exactly the keys {NPS_GROUPS}, got {sorted(nps_hr)}")

    rng = np.random.default_rng(seed)
    origin_ns = start_ts.value
    horizon = (end_ts - start_ts).total_seconds() / 86_400.0  # days, end = horizon
    program_day = (program_ts - start_ts).total_seconds() / 86_400.0 if loyalty else np.inf

    # ---- customers: acquisition, latent traits --------------------------------------
    share_vec = np.array([shares[c] for c in CHANNELS], dtype=float)
    channel = rng.choice(len(CHANNELS), size=n, p=share_vec / share_vec.sum())
    acquired = np.sort(rng.random(n)) * horizon            # sorted: ids follow acquisition order
    cost_mean = np.array([ch_cost[c] for c in CHANNELS])[channel] * scale
    acquisition_cost = np.where(cost_mean > 0, rng.gamma(2.0, 1.0, n) * cost_mean / 2.0, 0.0)

    probs = np.array([nps_probs[c] for c in CHANNELS], dtype=float)
    probs /= probs.sum(axis=1, keepdims=True)
    u = rng.random(n)
    cum = probs[channel].cumsum(axis=1)
    nps_group = (u[:, None] > cum[:, :-1]).sum(axis=1)       # 0 promoter, 1 passive, 2 detractor

    lam_week = rng.gamma(r, 1.0 / alpha, n) * np.array([freq_mult[c] for c in CHANNELS])[channel]
    nu = rng.gamma(q, 1.0 / gamma, n)
    lam = lam_week / _WEEK_DAYS                                # per day
    hazard_week = mu0 * np.array([ch_hr[c] for c in CHANNELS])[channel] \
        * np.array([nps_hr[g] for g in NPS_GROUPS])[nps_group]
    h = hazard_week / _WEEK_DAYS

    # ---- loyalty joining and death (inverse of the piecewise cumulative hazard) -----
    E = rng.exponential(1.0, n)
    death_cf = acquired + E / h                                # no-program death = pre-join death
    if loyalty:
        mean_lam = r / alpha * float(np.dot(share_vec / share_vec.sum(), [freq_mult[c] for c in CHANNELS]))
        kappa = loyalty_join_rate / _WEEK_DAYS * (lam_week / mean_lam) ** loyalty_join_elasticity
        eligible_from = np.maximum(acquired, program_day)
        with np.errstate(divide="ignore"):
            join = eligible_from + rng.exponential(1.0, n) / kappa
        joined = join < death_cf                               # joins only while alive
        join = np.where(joined, join, np.inf)
        safe_join = np.where(joined, join, acquired)
        death = np.where(joined, safe_join + (E - h * (safe_join - acquired)) / (h * loyalty_churn_hazard_ratio),
                         death_cf)
    else:
        join = np.full(n, np.inf)
        joined = np.zeros(n, dtype=bool)
        death = death_cf
    stop = np.minimum(death, horizon)                          # end of observed life
    member_obs = joined & (join <= horizon)
    F = loyalty_frequency_multiplier

    # ---- realised purchases ---------------------------------------------------------
    pre_end = np.minimum(np.minimum(join, death), horizon)
    ia, ta = _poisson_times(rng, acquired, pre_end - acquired, lam)
    mem_len = np.where(member_obs, stop - np.where(member_obs, join, 0.0), 0.0)
    ib, tb = _poisson_times(rng, np.where(member_obs, join, 0.0), mem_len, lam * F)
    cust = np.concatenate([np.arange(n), ia, ib])
    t = np.concatenate([acquired, ta, tb])
    is_member_row = np.concatenate([np.zeros(n + ia.size, bool), np.ones(ib.size, bool)])
    value = rng.gamma(p, 1.0, cust.size) / nu[cust] * scale
    # counterfactual coupling of member-period purchases: thinning with 1/F, cut at tau_cf
    keep_cf = np.ones(cust.size, dtype=bool)
    if ib.size:
        keep_cf[is_member_row] = (rng.random(ib.size) < 1.0 / F) & (tb < death_cf[ib])
    # counterfactual-only purchases when tau_cf outlives the realised death (HR > 1)
    extra_len = np.where(member_obs, np.minimum(death_cf, horizon) - stop, 0.0)
    ic, tc = _poisson_times(rng, stop, np.maximum(extra_len, 0.0), lam)
    value_c = rng.gamma(p, 1.0, ic.size) / nu[ic] * scale

    # ---- returns ----------------------------------------------------------------------
    def returns(c_idx, t_buy, v_buy):
        has = rng.random(c_idx.size) < return_rate
        parent = np.flatnonzero(has)
        t_ret = t_buy[parent] + rng.exponential(10.0, parent.size)
        v_ret = -v_buy[parent] * rng.uniform(0.3, 1.0, parent.size)
        return parent, t_ret, v_ret

    rp, rt, rv = returns(cust, t, value)
    rc = cust[rp]
    ret_real = rt < stop[rc]
    ret_cf = keep_cf[rp] & (rt < np.minimum(death_cf[rc], horizon))
    cp, ct, cv = returns(ic, tc, value_c)
    cc = ic[cp]
    ret_c_keep = ct < np.minimum(death_cf[cc], horizon)

    # ---- true effect of the program (coupled paths) -------------------------------------
    att_by_month, att_tx12, att_rev12, members_12 = _program_effects(
        n=n, join=join, member_obs=member_obs, horizon=horizon,
        rows=[  # (customer, time, amount, is_purchase, realised?, counterfactual?)
            (cust, t, value, True, np.ones(cust.size, bool), keep_cf),
            (rc, rt, rv, False, ret_real, ret_cf),
            (ic, tc, value_c, True, np.zeros(ic.size, bool), np.ones(ic.size, bool)),
            (cc, ct, cv, False, np.zeros(cc.size, bool), ret_c_keep),
        ],
    )

    # ---- assemble the realised transaction table ----------------------------------------
    all_c = np.concatenate([cust, rc[ret_real]])
    all_t = np.concatenate([t, rt[ret_real]])
    all_v = np.concatenate([value, rv[ret_real]])
    order = np.argsort(all_t, kind="stable")
    all_c, all_t, all_v = all_c[order], all_t[order], all_v[order]
    all_v = np.round(all_v, 2)
    margin = np.round(all_v * rng.uniform(*margin_rate_range, all_v.size), 2)
    # sales channel: a customer-specific share of store visits, web and app split the rest
    p_store = rng.beta(3.0, 2.0, n)
    u = rng.random(all_c.size)
    ps = p_store[all_c]
    sales_channel = np.where(u < ps, 0, np.where(u < ps + (1 - ps) / 2, 1, 2))
    home_store = rng.integers(0, _N_STORES, n)
    store_code = np.where(sales_channel == 0, home_store[all_c], _N_STORES)

    customer_ids = _ids("C", n)
    tx = {
        "customer_id": customer_ids[all_c],
        "timestamp": _to_datetime(all_t, origin_ns),
        "amount": all_v.astype(np.float64),
    }
    if order_ids:
        tx["order_id"] = _ids("O", all_c.size, width=9)
    tx["channel"] = _categorical(sales_channel, ("store", "web", "app"))
    tx["store"] = _categorical(store_code, [f"S{k + 1:02d}" for k in range(_N_STORES)] + ["online"])
    tx["margin"] = margin.astype(np.float64)
    transactions = pd.DataFrame(tx)
    discount_truth: dict[str, Any] = {}
    log_c, log_t, log_v = all_c, all_t, all_v
    if discount_offers:
        depths = dict(discount_depths or _DEFAULT_DISCOUNT_DEPTHS)
        if not (0 in depths and all(0 <= d < 100 for d in depths) and all(v >= 0 for v in depths.values())):
            raise ValueError(f"discount_depths must map depths in [0, 100) including 0 to probabilities, got {depths}")
        if not 0 <= discount_sensitive_share <= 1 or discount_response < 0:
            raise ValueError("discount_sensitive_share must be in [0, 1] and discount_response >= 0")
        drng = np.random.default_rng(None if seed is None else [seed, _DISCOUNT_STREAM])
        discount_start_day = int((start_ts.normalize() - pd.Timestamp("1970-01-01")).days)
        (inc_c, inc_t, inc_v), disc_old, disc_inc, sensitive, discount_truth = _discount_offers(
            drng, n=n, depths=depths, sensitive_share=discount_sensitive_share, response=discount_response,
            lam=lam, F=F, acquired=acquired, join=join, member_obs=member_obs, stop=stop, horizon=horizon,
            start_day=discount_start_day,
            tx_c=all_c, tx_t=all_t, tx_v=all_v, is_purchase=all_v >= 0, nu=nu, p=p, scale=scale)
        u_inc = drng.random(inc_c.size)
        ps_inc = p_store[inc_c]
        channel_inc = np.where(u_inc < ps_inc, 0, np.where(u_inc < ps_inc + (1 - ps_inc) / 2, 1, 2))
        extra = {
            "customer_id": customer_ids[inc_c],
            "timestamp": _to_datetime(inc_t, origin_ns),
            "amount": inc_v.astype(np.float64),
        }
        if order_ids:
            extra["order_id"] = np.char.add("O", np.char.zfill(
                np.arange(all_c.size, all_c.size + inc_c.size).astype("U9"), 9)).astype(object)
        extra["channel"] = _categorical(channel_inc, ("store", "web", "app"))
        extra["store"] = _categorical(np.where(channel_inc == 0, home_store[inc_c], _N_STORES),
                                      list(transactions["store"].cat.categories))
        extra["margin"] = np.round(inc_v * drng.uniform(*margin_rate_range, inc_c.size), 2)
        transactions["discount"] = disc_old
        extra["discount"] = disc_inc
        transactions = pd.concat([transactions, pd.DataFrame(extra)], ignore_index=True)
        # appended rows take their place in time; the existing rows keep their order and values
        in_time = np.argsort(transactions["timestamp"].to_numpy(), kind="stable")
        transactions = transactions.iloc[in_time].reset_index(drop=True)
        # the log's rows as arrays, in the same order (what the campaign below sees)
        log_c, log_t, log_v = (np.concatenate(pair)[in_time] for pair in ((all_c, inc_c), (all_t, inc_t),
                                                                           (all_v, inc_v)))

    # ---- customers table ----------------------------------------------------------------
    cust_cols: dict[str, Any] = {
        "customer_id": customer_ids,
        "signup_date": _to_datetime(acquired, origin_ns),
    }
    if loyalty:
        cust_cols["loyalty_join_date"] = _to_datetime(np.where(member_obs, join, np.nan), origin_ns)
    if contractual:
        cust_cols["end_date"] = _to_datetime(np.where(death <= horizon, death, np.nan), origin_ns)
    cust_cols["region"] = _categorical(rng.choice(len(_REGIONS), n, p=_REGION_P), _REGIONS)
    cust_cols["acquisition_channel"] = _categorical(channel, CHANNELS)
    cust_cols["acquisition_cost"] = np.round(acquisition_cost, 2).astype(np.float64)
    customers = pd.DataFrame(cust_cols)

    # ---- winback campaign (own random stream; appended rows only) ----------------------------
    campaign_truth: dict[str, Any] = {}
    campaigns = None
    added_c, added_v = np.empty(0, dtype=np.int64), np.empty(0)
    if campaign:
        sent_ts = (end_ts.normalize() - pd.Timedelta(days=120)) if campaign_sent is None \
            else pd.Timestamp(campaign_sent).normalize()
        if not start_ts < sent_ts < end_ts:
            raise ValueError(f"campaign_sent {sent_ts.date()} must lie within (start, end)")
        if not 0 < campaign_treated_share < 1 or not 0 <= campaign_response_rate <= 1:
            raise ValueError("campaign_treated_share must be in (0, 1) and campaign_response_rate in [0, 1]")
        _check_positive(campaign_sleeping_days=campaign_sleeping_days, campaign_response_days=campaign_response_days,
                        campaign_window_days=campaign_window_days)
        transactions, campaigns, campaign_truth, added_c, added_v = _winback_campaign(
            None if seed is None else [seed, 7141], transactions=transactions, customer_ids=customer_ids,
            buyer=log_c, when=log_t, amount=log_v, acquired=acquired, death=death, horizon=horizon, nu=nu,
            p=p, scale=scale, p_store=p_store, home_store=home_store, origin_ns=origin_ns,
            sent_day=(sent_ts - start_ts).total_seconds() / 86_400.0 + 10.0 / 24.0, sent_ts=sent_ts,
            sleeping_days=float(campaign_sleeping_days), treated_share=float(campaign_treated_share),
            response_rate=float(campaign_response_rate), response_days=float(campaign_response_days),
            window_days=int(campaign_window_days), cost=float(campaign_cost) * scale,
            margin_rate_range=margin_rate_range, order_ids=order_ids)
        if discount_offers and added_c.size:
            # winback purchases in an offer week get its discount like every purchase; the campaign, not the
            # discount, caused them, so their discounts are margin given away
            fill = transactions["discount"].isna().to_numpy()
            days = (transactions.loc[fill, "timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64)
                    - origin_ns) / 86_400e9
            depth = discount_truth["discount_calendar"].reindex(_week_ordinal(days, discount_start_day))
            depth = depth.fillna(0.0).to_numpy(float)
            given = np.round(transactions.loc[fill, "amount"].to_numpy(float) * depth / (100.0 - depth), 2)
            transactions.loc[fill, "discount"] = given
            discount_truth["discount_margin_given_away"] += float(given.sum())
            discount_truth["discount_total"] += float(given.sum())

    # ---- surveys ----------------------------------------------------------------------------
    surveys = _surveys(rng, n, survey_share, acquired, stop, nps_group, customer_ids, origin_ns)

    # ---- attribute ratings and journey stages (own stream: the tables above are unchanged) ------
    drivers_rng = np.random.default_rng(None if seed is None else [seed, _DRIVERS_STREAM])
    surveys, driver_importance, driver_csi = _attribute_ratings(drivers_rng, surveys)

    # ---- truth --------------------------------------------------------------------------------
    naive = _naive_member_ratio(np.concatenate([log_c, added_c]), np.concatenate([log_v, added_v]), n, acquired,
                                join, member_obs, horizon)
    latent = pd.DataFrame(
        {
            "channel": _categorical(channel, CHANNELS),
            "nps_group": _categorical(nps_group, NPS_GROUPS),
            "lam": lam_week,
            "nu": nu,
            "mean_spend": p / nu * scale,
            "hazard": hazard_week,
            "acquired": _to_datetime(acquired, origin_ns),
            "join_time": _to_datetime(np.where(member_obs, join, np.nan), origin_ns),
            "death_time": _to_datetime(np.where(death < 1e9, death, np.nan), origin_ns),
            "alive_at_end": death > horizon,
            "death_time_counterfactual": _to_datetime(np.where(death_cf < 1e9, death_cf, np.nan), origin_ns),
        },
        index=pd.Index(customer_ids, name="customer_id"),
    )
    if discount_offers:
        latent["discount_sensitive"] = sensitive
    truth = DemoTruth(
        r=r, alpha=alpha, p=p, q=q, gamma=gamma, currency=currency.upper(), currency_scale=scale, mu0=mu0,
        channel_shares=shares, channel_frequency_multipliers=freq_mult, channel_hazard_ratios=ch_hr,
        channel_mean_acquisition_cost={k: v * scale for k, v in ch_cost.items()},
        nps_group_probabilities=nps_probs, nps_hazard_ratios=nps_hr, loyalty=loyalty,
        loyalty_program_start=program_ts if loyalty else None,
        loyalty_frequency_multiplier=F if loyalty else 1.0,
        loyalty_churn_hazard_ratio=loyalty_churn_hazard_ratio if loyalty else 1.0,
        loyalty_join_rate=loyalty_join_rate if loyalty else 0.0,
        loyalty_join_elasticity=loyalty_join_elasticity, return_rate=return_rate,
        margin_rate_range=tuple(margin_rate_range), start=start_ts, end=end_ts,
        att_by_month=att_by_month, att_transactions_12m=att_tx12, att_revenue_12m=att_rev12,
        members_12m=members_12, naive_member_spend_ratio=naive, latent=latent,
        driver_loadings={t: dict(zip(ATTRIBUTES, v)) for t, v in _DRIVER_LOADINGS.items()},
        driver_importance=driver_importance, csi=driver_csi,
        discount_offers=bool(discount_offers), **discount_truth,
        **campaign_truth,
    )
    params.pop("params", None)
    return SyntheticDataset(transactions, customers, surveys, truth, params, campaigns)


#: Days before sending over which a sleeper's pre-period spend (the CUPED covariate) is summed.
_PRE_PERIOD_DAYS = 365.0


def _winback_campaign(seed, *, transactions, customer_ids, buyer, when, amount, acquired, death, horizon, nu, p,
                      scale, p_store, home_store, origin_ns, sent_day, sent_ts, sleeping_days, treated_share,
                      response_rate, response_days, window_days, cost, margin_rate_range, order_ids):
    """The randomised winback campaign of the module docstring: table, appended rows and truths."""
    rng = np.random.default_rng(seed)
    n = len(customer_ids)
    bought = amount > 0
    before = bought & (when < sent_day)
    last = np.full(n, -np.inf)
    np.maximum.at(last, buyer[before], when[before])
    asleep = (acquired < sent_day) & (sent_day - last >= sleeping_days)
    audience = np.flatnonzero(asleep)
    k = audience.size
    treated = rng.random(k) < treated_share
    sms = rng.random(k) < 0.5
    alive = death[audience] > sent_day
    willing = rng.random(k) < response_rate
    delay = rng.exponential(response_days, k)
    responds = willing & (sent_day + delay < death[audience])  # a response comes only while alive
    value = np.round(rng.gamma(p, 1.0, k) / nu[audience] * scale, 2)
    value_margin = np.round(value * rng.uniform(*margin_rate_range, k), 2)
    window_end = sent_day + window_days
    in_window = responds & (delay <= window_days)

    # natural outcomes within the window (the customers' own purchases, identical under both arms)
    pos = np.full(n, -1)
    pos[audience] = np.arange(k)
    rows = pos[buyer] >= 0
    b, t, v = pos[buyer[rows]], when[rows], amount[rows]
    win = (t > sent_day) & (t <= window_end)
    returned0 = np.zeros(k, bool)
    returned0[b[win & (v > 0)]] = True
    revenue0 = np.bincount(b[win], weights=v[win], minlength=k)
    tx_margin = transactions["margin"].to_numpy()  # rows in the same (time) order as buyer/when/amount
    margin0 = np.bincount(b[win], weights=tx_margin[rows][win], minlength=k)
    pre = (t < sent_day) & (t >= sent_day - _PRE_PERIOD_DAYS)
    pre_revenue = np.bincount(b[pre], weights=v[pre], minlength=k)

    latent = pd.DataFrame({
        "group": np.where(treated, "treatment", "control"), "alive_at_send": alive, "responds": responds,
        "response_time": np.where(responds, delay, np.nan), "response_amount": np.where(responds, value, 0.0),
        "response_margin": np.where(responds, value_margin, 0.0),
        "returned_if_treated": returned0 | in_window, "returned_if_control": returned0,
        "revenue_if_treated": revenue0 + np.where(in_window, value, 0.0), "revenue_if_control": revenue0,
        "margin_if_treated": margin0 + np.where(in_window, value_margin, 0.0), "margin_if_control": margin0,
        "pre_revenue": pre_revenue, "days_asleep": sent_day - last[audience],
    }, index=pd.Index(customer_ids[audience], name="customer_id"))

    sent_at = _to_datetime(np.full(k, sent_day), origin_ns)  # at 10:00 of the day
    campaigns = pd.DataFrame({
        "customer_id": customer_ids[audience], "campaign": "winback", "sent_at": sent_at,
        "group": pd.Categorical(np.where(treated, "treatment", "control"), categories=["treatment", "control"]),
        "channel": pd.Categorical(np.where(sms, "sms", "email"), categories=["sms", "email"]),
        "cost": np.where(treated, np.round(np.where(sms, cost, cost / 4.0), 2), 0.0),
    })

    # the treated responders' purchases, appended; a stable sort keeps the other rows' order
    add = np.flatnonzero(treated & responds & (sent_day + delay <= horizon))
    if add.size:
        who = audience[add]
        sales = np.where(rng.random(add.size) < p_store[who], 0, np.where(rng.random(add.size) < 0.5, 1, 2))
        extra = {
            "customer_id": customer_ids[who], "timestamp": _to_datetime(sent_day + delay[add], origin_ns),
            "amount": value[add].astype(np.float64),
        }
        if order_ids:
            extra["order_id"] = _ids("R", add.size, width=9)
        extra["channel"] = pd.Categorical.from_codes(sales, categories=transactions["channel"].cat.categories)
        extra["store"] = pd.Categorical.from_codes(np.where(sales == 0, home_store[who], _N_STORES),
                                                   categories=transactions["store"].cat.categories)
        extra["margin"] = value_margin[add].astype(np.float64)
        extra_frame = pd.DataFrame(extra).reindex(columns=transactions.columns)  # a discount column stays empty here
        transactions = pd.concat([transactions, extra_frame], ignore_index=True)
        transactions = transactions.iloc[np.argsort(transactions["timestamp"].to_numpy(), kind="stable")]
        transactions = transactions.reset_index(drop=True)

    truth = {
        "campaign_sent": sent_ts + pd.Timedelta(hours=10), "campaign_window_days": int(window_days),
        "campaign_sleeping_days": float(sleeping_days), "campaign_response_rate": float(response_rate),
        "campaign_sleepers": int(k), "campaign_treated": int(treated.sum()),
        "campaign_incremental_return_rate": float(np.mean(latent["returned_if_treated"] & ~returned0)) if k else float("nan"),
        "campaign_incremental_revenue": float(np.mean(np.where(in_window, value, 0.0))) if k else float("nan"),
        "campaign_incremental_margin": float(np.mean(np.where(in_window, value_margin, 0.0))) if k else float("nan"),
        "campaign_latent": latent,
    }
    return transactions, campaigns, truth, audience[add], value[add]


# --------------------------------------------------------------------------- discount offers
#: Seed tag of the discount-offer stream: its draws never shift the other tables' random numbers.
_DISCOUNT_STREAM = 1404
_DEFAULT_DISCOUNT_DEPTHS = {0: 0.55, 5: 0.20, 10: 0.15, 20: 0.10}


def _week_ordinal(days: np.ndarray, start_day: int) -> np.ndarray:
    """Monday-based week ordinal (the data layer's "W" period) of float days since the start."""
    return (start_day + np.floor(days).astype(np.int64) + 3) // 7


def _discount_offers(rng, *, n, depths, sensitive_share, response, lam, F, acquired, join, member_obs, stop,
                     horizon, start_day, tx_c, tx_t, tx_v, is_purchase, nu, p, scale):
    """The promotion calendar, the incremental purchases it causes and the discount of every purchase.

    Each calendar week (Monday-based) offers one depth ``d`` (percent) drawn from ``depths``. A share
    ``sensitive_share`` of customers buys at ``(1 + response * d)`` times their current purchase rate in a
    week of depth ``d`` from the week after their first purchase on (the extra purchases are drawn by
    thinning a Poisson process of rate ``lambda * (m_max - 1)``); the others ignore promotions. Every
    purchase in an offer week gets the discount ``amount * d / (100 - d)`` (the amount is what was paid;
    the list price was ``amount + discount``), so habitual purchases are discounted too.
    """
    levels = np.array(sorted(depths), dtype=float)
    probs = np.array([depths[k] for k in sorted(depths)], dtype=float)
    first_week, last_week = _week_ordinal(np.array([0.0]), start_day)[0], _week_ordinal(np.array([horizon]), start_day)[0]
    calendar = levels[rng.choice(levels.size, size=last_week - first_week + 1, p=probs / probs.sum())]
    sensitive = rng.random(n) < sensitive_share
    multiplier_max = 1.0 + response * levels.max()
    # responses start on the Monday after the week of the first purchase
    respond_from = ((_week_ordinal(acquired, start_day) + 1) * 7 - 3 - start_day).astype(float)
    join_obs = np.where(member_obs, join, np.inf)
    pre_lo, pre_hi = respond_from, np.minimum(np.minimum(join_obs, stop), horizon)
    post_lo, post_hi = np.maximum(respond_from, np.where(member_obs, join, 0.0)), np.where(member_obs, stop, 0.0)
    base = lam * (multiplier_max - 1.0) * sensitive
    i1, t1 = _poisson_times(rng, pre_lo, pre_hi - pre_lo, base)
    i2, t2 = _poisson_times(rng, post_lo, post_hi - post_lo, base * F)
    inc_c, inc_t = np.concatenate([i1, i2]), np.concatenate([t1, t2])
    inc_depth = calendar[_week_ordinal(inc_t, start_day) - first_week]
    keep = rng.random(inc_c.size) < response * inc_depth / (multiplier_max - 1.0)   # thinning to the week's rate
    inc_c, inc_t = inc_c[keep], inc_t[keep]
    inc_v = np.round(rng.gamma(p, 1.0, inc_c.size) / nu[inc_c] * scale, 2)

    def discount(times, amounts, purchase):
        d = calendar[_week_ordinal(times, start_day) - first_week]
        return np.where(purchase, np.round(amounts * d / (100.0 - d), 2), 0.0), d

    disc_existing, depth_existing = discount(tx_t, tx_v, is_purchase)
    disc_inc, _ = discount(inc_t, inc_v, np.ones(inc_c.size, bool))
    # What the within-customer model targets: the purchase-weighted mean rate multiplier in weeks of
    # depth d over the customers' response periods (expected habitual purchases from respond_from on).
    exposure = lam * (np.clip(pre_hi - pre_lo, 0, None) + F * np.clip(post_hi - post_lo, 0, None))
    sensitive_weight = float(exposure[sensitive].sum() / exposure.sum()) if exposure.sum() > 0 else float("nan")
    truth = {
        "discount_calendar": pd.Series(calendar, index=pd.Index(np.arange(first_week, last_week + 1), name="week")),
        "discount_sensitive_share": sensitive_share,
        "discount_response_per_point": response,
        "discount_incidence_multiplier": {int(d): float(1.0 + sensitive_weight * response * d) for d in levels if d > 0},
        "discount_basket_multiplier": {int(d): 1.0 for d in levels if d > 0},
        "discount_incremental_purchases": int(inc_c.size),
        "discount_margin_given_away": float(disc_existing.sum()),
        "discount_total": float(disc_existing.sum() + disc_inc.sum()),
        "discount_incremental_revenue": float(inc_v.sum()),
    }
    return (inc_c, inc_t, inc_v), disc_existing, disc_inc, sensitive, truth


def _program_effects(n, join, member_obs, horizon, rows):
    """Sample ATT by month since joining and over the first 12 months (see DemoTruth)."""
    cols = ["months_since_join", "members", "transactions_realized", "transactions_counterfactual",
            "transactions_effect", "revenue_realized", "revenue_counterfactual", "revenue_effect"]
    members = np.flatnonzero(member_obs)
    if members.size == 0:
        return pd.DataFrame(columns=cols), float("nan"), float("nan"), 0
    # full months observed per member: month k is complete iff join + (k+1)*M <= horizon
    full_months = np.full(n, -1, dtype=np.int64)
    full_months[members] = np.floor((horizon - join[members]) / MONTH_DAYS).astype(np.int64)
    kmax = int(full_months.max())
    if kmax < 1:
        return pd.DataFrame(columns=cols), float("nan"), float("nan"), 0
    tx_r = np.zeros(kmax); tx_c = np.zeros(kmax); rev_r = np.zeros(kmax); rev_c = np.zeros(kmax)
    for c, t, v, is_purchase, real, cf in rows:
        sel = member_obs[c] & (t >= join[c])
        c, t, v, real, cf = c[sel], t[sel], v[sel], real[sel], cf[sel]
        k = np.floor((t - join[c]) / MONTH_DAYS).astype(np.int64)
        ok = k < full_months[c]                               # only complete months
        k, v, real, cf = k[ok], v[ok], real[ok], cf[ok]
        rev_r += np.bincount(k, weights=v * real, minlength=kmax)[:kmax]
        rev_c += np.bincount(k, weights=v * cf, minlength=kmax)[:kmax]
        if is_purchase:
            tx_r += np.bincount(k, weights=real.astype(float), minlength=kmax)[:kmax]
            tx_c += np.bincount(k, weights=cf.astype(float), minlength=kmax)[:kmax]
    # members observed in month k: full_months > k
    counts = np.bincount(full_months[members], minlength=kmax + 1)
    n_k = counts[::-1].cumsum()[::-1][1:kmax + 1]             # number with full_months >= k+1
    by_month = pd.DataFrame({
        "months_since_join": np.arange(kmax),
        "members": n_k,
        "transactions_realized": tx_r / n_k,
        "transactions_counterfactual": tx_c / n_k,
        "transactions_effect": (tx_r - tx_c) / n_k,
        "revenue_realized": rev_r / n_k,
        "revenue_counterfactual": rev_c / n_k,
        "revenue_effect": (rev_r - rev_c) / n_k,
    })
    # 12 months: restricted to members with >= 12 full months, so recompute on them only
    m12 = full_months >= 12
    n12 = int(m12[members].sum())
    if n12 == 0:
        return by_month, float("nan"), float("nan"), 0
    d_tx = 0.0
    d_rev = 0.0
    for c, t, v, is_purchase, real, cf in rows:
        sel = m12[c] & (t >= join[c]) & (t < join[c] + 12 * MONTH_DAYS)
        diff = real[sel].astype(float) - cf[sel].astype(float)
        d_rev += float(np.sum(v[sel] * diff))
        if is_purchase:
            d_tx += float(np.sum(diff))
    return by_month, d_tx / n12, d_rev / n12, n12


def _naive_member_ratio(all_c, all_v, n, acquired, join, member_obs, horizon):
    """Weekly revenue of members / non-members over their observed time (the biased contrast)."""
    revenue = np.bincount(all_c, weights=all_v, minlength=n)
    weeks = np.maximum(horizon - acquired, _WEEK_DAYS) / _WEEK_DAYS  # at least one week
    if member_obs.all() or not member_obs.any():
        return float("nan")
    return float(revenue[member_obs].sum() / weeks[member_obs].sum()
                 / (revenue[~member_obs].sum() / weeks[~member_obs].sum()))


_SURVEY_GAP_DAYS = 60.0


def _surveys(rng, n, share, acquired, stop, nps_group, customer_ids, origin_ns):
    """Survey answers of a random subset, dated while alive; NPS drawn within the latent group.

    Answers arrive as a Poisson process (mean gap ``_SURVEY_GAP_DAYS``) from acquisition and are
    observed only while the customer is alive and before the end of the data. Dating answers
    uniformly within each lifetime instead would leak the (future) churn date into the answer
    date and bias survival models that start the clock at the answer.
    """
    surveyed = np.flatnonzero(rng.random(n) < share)
    k = 1 + rng.poisson(1.0, surveyed.size)
    c = np.repeat(surveyed, k)
    # cumulative exponential gaps within each customer: the points of a Poisson process
    gaps = rng.exponential(_SURVEY_GAP_DAYS, c.size)
    first_of_customer = np.ones(c.size, dtype=bool)
    first_of_customer[1:] = c[1:] != c[:-1]
    group_start = np.flatnonzero(first_of_customer)
    cum = np.cumsum(gaps)
    offset = np.repeat(cum[group_start] - gaps[group_start], np.diff(np.r_[group_start, c.size]))
    date = acquired[c] + (cum - offset)
    alive = date < stop[c]
    c, date = c[alive], date[alive]
    g = nps_group[c]
    # within-group NPS: promoter 9-10, passive 7-8, detractor 0-6 (skewed towards 5-6)
    det_vals = np.array([0, 1, 2, 3, 4, 5, 6])
    det_p = np.array([0.04, 0.03, 0.05, 0.08, 0.15, 0.25, 0.40])
    nps = np.where(
        g == 0, 9 + (rng.random(c.size) < 0.55),
        np.where(g == 1, 7 + (rng.random(c.size) < 0.5), rng.choice(det_vals, c.size, p=det_p)),
    ).astype(np.int64)
    csat_mean = np.array([4.5, 3.7, 2.4])[g]
    csat = np.clip(np.rint(csat_mean + rng.normal(0, 0.7, c.size)), 1, 5).astype(np.float64)
    ces_mean = np.array([2.0, 3.3, 5.0])[g]                   # customer effort: 7 = most effort
    ces = np.clip(np.rint(ces_mean + rng.normal(0, 1.0, c.size)), 1, 7).astype(np.float64)
    touch = rng.choice(len(_TOUCHPOINTS), c.size, p=list(_TOUCHPOINT_P))
    order = np.lexsort((date, c))
    out = pd.DataFrame({
        "customer_id": customer_ids[c[order]],
        "date": _to_datetime(date[order], origin_ns),
        "nps": nps[order],
        "csat": csat[order],
        "ces": ces[order],
        "touchpoint": _categorical(touch[order], _TOUCHPOINTS),
    })
    return out


#: Seed-sequence key of the attribute ratings' own random stream (issue 14, item 5).
_DRIVERS_STREAM = 1405
#: Attributes rated 1..5 in the demo surveys (columns ``rating_<attribute>``).
ATTRIBUTES: tuple[str, ...] = ("staff", "speed", "price", "assortment")
_TOUCHPOINT_P = (0.35, 0.25, 0.2, 0.1, 0.1)
#: Touchpoint -> loading of each attribute (in ATTRIBUTES order) on the standardised NPS answer.
_DRIVER_LOADINGS: dict[str, tuple[float, ...]] = {
    "store": (0.70, 0.30, 0.35, 0.45),
    "web": (0.15, 0.45, 0.45, 0.60),
    "app": (0.10, 0.65, 0.35, 0.40),
    "call_center": (0.75, 0.50, 0.15, 0.10),
    "delivery": (0.30, 0.75, 0.20, 0.15),
}
_HALO = 0.3                                   # share of the residual variance common to all ratings
_RATING_CUTS = np.array([-1.6, -0.8, 0.0, 0.9])
_NPS_CENTRE, _NPS_SCALE = 7.0, 2.5
_JOURNEY_STAGE = {"store": "purchase", "web": "choice", "app": "choice", "call_center": "service",
                  "delivery": "delivery"}


def _attribute_ratings(rng, surveys: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Add ``rating_<attribute>`` (1..5) and ``journey_stage`` to the answers; return the drivers' truth.

    Each rating is drawn *given the answer already drawn* (so the NPS, CSAT, CES
    and touchpoint columns stay as they were): with ``z = (nps - 7) / 2.5`` and
    the answer's touchpoint *t*, the latent rating of attribute *j* is
    ``L_j = a_tj z + sqrt(1 - a_tj²) (sqrt(h) f + sqrt(1 - h) e_j)`` with a
    halo ``f`` common to the answer's ratings (``h = 0.3``) and ``f, e_j ~
    N(0, 1)``; the rating is ``1 +`` the number of cut points
    (-1.6, -0.8, 0, 0.9) below ``L_j``. The journey stage follows from the
    touchpoint. Returns the new table, the population key-driver importances
    and the true CSI (:func:`_driver_truth`).
    """
    touch = surveys["touchpoint"].astype(str).to_numpy()
    load = np.array([_DRIVER_LOADINGS[t] for t in touch]).reshape(len(touch), len(ATTRIBUTES))
    z = (surveys["nps"].to_numpy(float) - _NPS_CENTRE) / _NPS_SCALE
    halo = rng.standard_normal(len(surveys))
    own = rng.standard_normal((len(surveys), len(ATTRIBUTES)))
    latent = load * z[:, None] + np.sqrt(1 - load ** 2) * (math.sqrt(_HALO) * halo[:, None]
                                                           + math.sqrt(1 - _HALO) * own)
    ratings = 1 + (latent[:, :, None] > _RATING_CUTS).sum(axis=2)
    out = surveys.copy()
    out["journey_stage"] = pd.Categorical(surveys["touchpoint"].astype(str).map(_JOURNEY_STAGE),
                                          categories=list(dict.fromkeys(_JOURNEY_STAGE.values())))
    for j, name in enumerate(ATTRIBUTES):
        out[f"rating_{name}"] = ratings[:, j].astype(np.float64)
    if surveys["nps"].nunique() < 2:  # answers that never vary have no drivers to recover
        return out, pd.DataFrame(columns=["scope", "attribute", "importance", "share", "mean_rating"]), math.nan
    truth, csi = _driver_truth(surveys["nps"].to_numpy())
    return out, truth, csi


def _driver_truth(nps: np.ndarray, nodes: int = 60) -> tuple[pd.DataFrame, float]:
    """Population key-driver importances and CSI of the rating model, by exact moments.

    The second moments of (answer, ratings) are sums over the answer values
    (weighted by their frequencies in ``nps``) of the moments given the answer
    and the halo ``f`` (ratings independent given both), integrated over ``f``
    by Gauss-Hermite quadrature; then :func:`cxlab.cx_drivers.shapley_r2`.
    """
    from scipy.stats import norm

    from cxlab.cx_drivers import shapley_r2

    values, counts = np.unique(np.asarray(nps, dtype=float), return_counts=True)
    p_y = counts / counts.sum()
    f, w_f = np.polynomial.hermite_e.hermegauss(nodes)
    w_f = w_f / w_f.sum()
    z = (values - _NPS_CENTRE) / _NPS_SCALE
    k = len(ATTRIBUTES)

    def moments(loadings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """E[v] and E[v v'] of v = (answer, ratings) at one touchpoint."""
        a = loadings[None, None, :]
        mu = a * z[:, None, None] + np.sqrt(1 - a ** 2) * math.sqrt(_HALO) * f[None, :, None]
        sd = np.sqrt((1 - a ** 2) * (1 - _HALO))
        above = norm.cdf((mu[..., None] - _RATING_CUTS) / sd[..., None])       # P(L > c), (y, f, j, c)
        mean_r = 1 + above.sum(axis=-1)                                          # E[r | y, f]
        p_k = -np.diff(np.concatenate([np.ones(above.shape[:-1] + (1,)), above,
                                       np.zeros(above.shape[:-1] + (1,))], axis=-1), axis=-1)
        sq_r = (p_k * np.arange(1, 6) ** 2).sum(axis=-1)                          # E[r² | y, f]
        wt = p_y[:, None] * w_f[None, :]
        second = np.zeros((k + 1, k + 1))
        second[0, 0] = (p_y * values ** 2).sum()
        second[0, 1:] = second[1:, 0] = np.einsum("yf,y,yfj->j", wt, values, mean_r)
        second[1:, 1:] = np.einsum("yf,yfj,yfk->jk", wt, mean_r, mean_r)
        np.fill_diagonal(second[1:, 1:], np.einsum("yf,yfj->j", wt, sq_r))
        first = np.concatenate([[(p_y * values).sum()], np.einsum("yf,yfj->j", wt, mean_r)])
        return first, second

    rows, pooled_first, pooled_second = [], 0.0, 0.0
    scopes = {}
    for t, p_t in zip(_TOUCHPOINTS, _TOUCHPOINT_P):
        first, second = moments(np.array(_DRIVER_LOADINGS[t]))
        scopes[t] = (first, second)
        pooled_first, pooled_second = pooled_first + p_t * first, pooled_second + p_t * second
    scopes = {"overall": (pooled_first, pooled_second), **scopes}
    csi = float("nan")
    for scope, (first, second) in scopes.items():
        importance, _ = shapley_r2(second - np.outer(first, first))
        share = importance / importance.sum()
        for j, name in enumerate(ATTRIBUTES):
            rows.append({"scope": scope, "attribute": name, "importance": float(importance[j]),
                         "share": float(share[j]), "mean_rating": float(first[1 + j])})
        if scope == "overall":
            csi = float(100 * share @ ((first[1:] - 1) / 4))
    return pd.DataFrame(rows), csi


# --------------------------------------------------------------------------- model simulators
def _as_T(T, n: int, name: str = "T") -> np.ndarray:
    arr = np.asarray(T, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or an array of length n={n}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be positive and finite")
    return arr


def _summary_frame(data: dict, n: int, attrs: dict) -> pd.DataFrame:
    df = pd.DataFrame(data, index=pd.Index(_ids("C", n), name="customer_id"))
    df.attrs["params"] = attrs
    return df


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T=52.0,
                   seed: int | None = None) -> pd.DataFrame:
    """Customer summaries drawn from the BG/NBD model (Fader, Hardie & Lee 2005).

    ``lambda_i ~ Gamma(shape=r, rate=alpha)``, ``p_i ~ Beta(a, b)``; repeat
    purchases arrive at rate ``lambda_i``; after each repeat purchase the
    customer drops out with probability ``p_i``. With ``N`` the Poisson count
    in ``(0, T]`` and ``J ~ Geometric(p)`` the purchase after which the
    customer drops out, ``frequency = min(N, J)`` and, given ``N``, the
    x-th arrival time is ``T * Beta(x, N - x + 1)`` (uniform order statistics).

    Parameters
    ----------
    n : int
        Number of customers.
    r, alpha, a, b : float
        Model parameters (``alpha`` in the unit of ``T``).
    T : float or array of length n
        Time from first purchase to the end of calibration (staggered acquisition when an array).
    seed : int or None

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``frequency``, ``recency``, ``T`` (the
        data layer's ``customer_summary`` columns) and the latent
        ``true_lambda``, ``true_p``, ``true_alive`` (not yet dropped out at T).
        ``attrs["params"]`` holds the parameters.
    """
    _check_positive(n=n, r=r, alpha=alpha, a=a, b=b)
    rng = np.random.default_rng(seed)
    T = _as_T(T, n)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    count = rng.poisson(lam * T)
    dropout_after = rng.geometric(np.clip(p, 1e-300, 1.0))        # J >= 1
    x = np.minimum(count, dropout_after)
    recency = np.zeros(n)
    pos = x > 0
    recency[pos] = T[pos] * rng.beta(x[pos], count[pos] - x[pos] + 1)
    return _summary_frame(
        {"frequency": x.astype(np.int64), "recency": recency, "T": T,
         "true_lambda": lam, "true_p": p, "true_alive": dropout_after > count},
        n, {"model": "BG/NBD", "r": r, "alpha": alpha, "a": a, "b": b, "seed": seed},
    )


def simulate_pareto_nbd(n: int, r: float, alpha: float, s: float, beta: float, T=52.0,
                        seed: int | None = None) -> pd.DataFrame:
    """Customer summaries drawn from the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

    ``lambda_i ~ Gamma(r, rate=alpha)``, ``mu_i ~ Gamma(s, rate=beta)``,
    lifetime ``tau_i ~ Exp(mu_i)``; repeat purchases are Poisson(``lambda_i``)
    on ``(0, min(tau_i, T)]``, and the last of ``x`` uniform arrival times on
    ``(0, w]`` is ``w * U ** (1/x)``.

    Returns
    -------
    DataFrame
        ``frequency``, ``recency``, ``T`` and the latent ``true_lambda``,
        ``true_mu``, ``true_lifetime``, ``true_alive`` (``tau_i > T``).
    """
    _check_positive(n=n, r=r, alpha=alpha, s=s, beta=beta)
    rng = np.random.default_rng(seed)
    T = _as_T(T, n)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    tau = rng.exponential(1.0, n) / mu
    window = np.minimum(tau, T)
    x = rng.poisson(lam * window)
    recency = np.zeros(n)
    pos = x > 0
    recency[pos] = window[pos] * rng.random(pos.sum()) ** (1.0 / x[pos])
    return _summary_frame(
        {"frequency": x.astype(np.int64), "recency": recency, "T": T,
         "true_lambda": lam, "true_mu": mu, "true_lifetime": tau, "true_alive": tau > T},
        n, {"model": "Pareto/NBD", "r": r, "alpha": alpha, "s": s, "beta": beta, "seed": seed},
    )


def simulate_gamma_gamma(frequency, p: float, q: float, gamma: float,
                         seed: int | None = None) -> pd.DataFrame:
    """Mean spend per customer from the Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and CLV").

    ``nu_i ~ Gamma(q, rate=gamma)``; each of the ``x`` repeat transactions is
    ``Gamma(p, rate=nu_i)``, so their mean is ``Gamma(p*x, rate=nu_i*x)``.

    Parameters
    ----------
    frequency : array-like or Series of int
        Repeat transactions per customer (a Series keeps its index).
    p, q, gamma : float

    Returns
    -------
    DataFrame
        ``frequency``, ``monetary_value`` (0 when frequency == 0, as in
        ``customer_summary``), latent ``true_nu`` and ``true_mean_spend``
        (``p / nu``).
    """
    _check_positive(p=p, q=q, gamma=gamma)
    x = np.asarray(frequency)
    if x.ndim != 1 or not np.issubdtype(x.dtype, np.number) or np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("frequency must be a 1-d array of non-negative integers")
    x = x.astype(np.int64)
    n = x.size
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / gamma, n)
    pos = x > 0
    monetary = np.zeros(n)
    monetary[pos] = rng.gamma(p * x[pos], 1.0) / (nu[pos] * x[pos])
    df = _summary_frame(
        {"frequency": x, "monetary_value": monetary, "true_nu": nu, "true_mean_spend": p / nu},
        n, {"model": "Gamma-Gamma", "p": p, "q": q, "gamma": gamma, "seed": seed},
    )
    if isinstance(frequency, pd.Series):
        df.index = frequency.index
    return df


def simulate_bgbb(n: int, alpha: float, beta: float, gamma: float, delta: float,
                  n_opportunities=6, seed: int | None = None) -> pd.DataFrame:
    """Discrete-time summaries from the BG/BB model (Fader, Hardie & Shang 2010).

    ``p_i ~ Beta(alpha, beta)`` (transaction probability per opportunity),
    ``theta_i ~ Beta(gamma, delta)`` (dropout probability at the start of
    each opportunity). The customer is alive for ``L = min(D - 1, n)``
    opportunities, ``D ~ Geometric(theta)``; the last transaction is found by
    scanning backwards: the first success from the end is at ``G ~
    Geometric(p)``, so if ``G <= L``, ``recency = L - G + 1`` and
    ``frequency = 1 + Binomial(L - G, p)``; otherwise no transaction.

    Returns
    -------
    DataFrame
        ``frequency``, ``recency`` (opportunity of the last transaction, 0
        if none), ``T`` (= n_opportunities) and latent ``true_p``,
        ``true_theta``, ``true_alive`` (alive after the last opportunity).
    """
    _check_positive(n=n, alpha=alpha, beta=beta, gamma=gamma, delta=delta)
    rng = np.random.default_rng(seed)
    T = _as_T(n_opportunities, n, "n_opportunities")
    if np.any(T != np.floor(T)):
        raise ValueError("n_opportunities must be whole numbers")
    T = T.astype(np.int64)
    p = rng.beta(alpha, beta, n)
    theta = rng.beta(gamma, delta, n)
    death_at = rng.geometric(np.clip(theta, 1e-300, 1.0))         # dies at the start of opportunity D
    alive_opps = np.minimum(death_at - 1, T)
    g = rng.geometric(np.clip(p, 1e-300, 1.0))
    has = g <= alive_opps
    recency = np.where(has, alive_opps - g + 1, 0)
    rest = np.where(has, alive_opps - g, 0)
    x = np.where(has, 1 + rng.binomial(rest, p), 0)
    return _summary_frame(
        {"frequency": x.astype(np.int64), "recency": recency.astype(np.int64), "T": T,
         "true_p": p, "true_theta": theta, "true_alive": death_at > T},
        n, {"model": "BG/BB", "alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta, "seed": seed},
    )


# --------------------------------------------------------------------------- files and CLI
def write_demo_files(out: str | Path, n_customers: int = 2000, seed: int = 42, **kwargs: Any) -> dict[str, Path]:
    """Write ``transactions.csv``, ``customers.csv``, ``surveys.csv`` and, with a campaign,
    ``campaigns.csv`` (contract columns, UTF-8, ISO dates).

    The files have the promotion calendar and the ``discount`` column unless
    ``discount_offers=False`` is passed. Returns the paths written. Extra keyword arguments go to :func:`make_demo_dataset`.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("discount_offers", True)   # the demo client has a promotion calendar
    ds = make_demo_dataset(n_customers=n_customers, seed=seed, **kwargs)
    paths = {}
    for name, frame in (("transactions", ds.transactions), ("customers", ds.customers), ("surveys", ds.surveys),
                        ("campaigns", ds.campaigns)):
        if frame is None:
            continue
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, encoding="utf-8", date_format="%Y-%m-%dT%H:%M:%S", float_format="%.2f")
        paths[name] = path
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cxlab.datasets",
                                     description="Write the synthetic demo data set as CSV files.")
    parser.add_argument("--out", default="data/demo", help="output folder")
    parser.add_argument("--customers", type=int, default=2000, help="number of customers")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--currency", default="RUB")
    parser.add_argument("--contractual", action="store_true", help="add end_date (true churn date)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    paths = write_demo_files(args.out, args.customers, args.seed, currency=args.currency,
                             contractual=args.contractual)
    for name, path in paths.items():
        print(f"{path}  ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
