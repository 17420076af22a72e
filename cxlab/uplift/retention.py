"""Retention effect of membership and the split of the LTV uplift into retention, frequency and basket.

* **Hazard ratio.** Membership enters a Cox model as a *time-varying*
  covariate (a customer is a non-member until the join date), which avoids
  immortal-time bias: members cannot churn before joining, so a fixed
  "ever member" flag would flatter them. Fitted by
  :func:`cxlab.survival.fit_time_varying_cox` (Andersen & Gill counting process).
* **LTV split.** Per member-month, spend = (share still active) × (visits per
  active month) × (basket). With the ratios with/without the programme
  ``R_ret`` (from the hazard ratio and the baseline churn rate, averaged over the
  post window), ``R_freq = R_visits / R_ret`` (visits DiD relative to the
  counterfactual, net of retention), and ``R_basket`` (basket DiD), the uplift
  ``R₀ (R_ret R_freq R_basket − 1)`` is split by Shapley values (the average
  marginal contribution over the six orders of adding the factors — exact and
  order-free). What the separately estimated parts do not add up to against the
  spend DiD is shown as a residual, not hidden.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from cxlab.units import DAYS_PER_MONTH

__all__ = ["membership_hazard_ratio", "baseline_churn_rate", "ltv_decomposition"]


def membership_hazard_ratio(durations: pd.DataFrame, customers: pd.DataFrame, *, covariates=(), unit: str = "D",
                            alpha: float = 0.05, max_customers: int | None = 100_000, seed: int = 0):
    """Churn hazard ratio of membership (time-varying Cox), via :mod:`cxlab.survival`.

    ``durations`` is :func:`cxlab.data.churn_durations` output (indexed by
    customer_id with start, duration, event). Returns a
    :class:`cxlab.survival.TimeVaryingCoxResult` (``hazard_ratio``, ``ci_low``, ``ci_high``).

    ``max_customers``: the Cox fit uses a random sample of at most this many
    customers (the interval says how precise that is; on a million customers the
    full fit took 4 minutes here, a 100 000 sample about a tenth of that with a
    standard error ~3× larger, still ±0.02 on the hazard ratio). ``None`` uses everyone.
    """
    from cxlab.survival import fit_time_varying_cox  # lazy: survival pulls in lifelines

    cust = customers.copy()
    cust["customer_id"] = cust["customer_id"].astype(str)
    dur = durations.copy()
    dur.index = dur.index.astype(str)
    dur.index.name = "customer_id"
    if max_customers is not None and len(dur) > max_customers:
        dur = dur.iloc[np.sort(np.random.default_rng(seed).choice(len(dur), max_customers, replace=False))]
        cust = cust[cust["customer_id"].isin(dur.index)]
    return fit_time_varying_cox(dur, cust, covariates=list(covariates), unit=unit, alpha=alpha)


def baseline_churn_rate(durations: pd.DataFrame, customers: pd.DataFrame, *, unit_days: float = 1.0,
                        join_col: str = "loyalty_join_date") -> float:
    """Monthly churn hazard of non-members (exponential MLE: churn events / months at risk).

    Members contribute their time before joining, as non-members.
    """
    dur = durations.copy()
    dur.index = dur.index.astype(str)
    join = pd.to_datetime(customers.assign(customer_id=customers["customer_id"].astype(str)).set_index("customer_id")[join_col]).reindex(dur.index)
    months = dur["duration"].to_numpy(float) * unit_days / DAYS_PER_MONTH
    to_join = ((join - pd.to_datetime(dur["start"])).dt.total_seconds() / 86400 / DAYS_PER_MONTH).to_numpy()
    joined = np.isfinite(to_join) & (to_join < months)
    exposure = np.where(joined, np.maximum(to_join, 0), months).sum()
    events = (dur["event"].astype(bool).to_numpy() & ~joined).sum()
    if exposure <= 0:
        raise ValueError("no non-member exposure time: cannot estimate the baseline churn rate")
    return float(events / exposure)


def _survival_mean(rate: float, months: float) -> float:
    return 1.0 if rate * months < 1e-12 else (1 - math.exp(-rate * months)) / (rate * months)


def ltv_decomposition(
    estimates: pd.DataFrame,
    *,
    hazard_ratio: float,
    baseline_churn: float,
    window_months: int,
    horizon_months: int = 12,
    method: str = "dr",
) -> pd.DataFrame:
    """Split the LTV uplift per member over ``horizon_months`` into retention, frequency and basket parts.

    Parameters
    ----------
    estimates : DataFrame
        ``PrePostResult.estimates`` (needs spend, visits and basket rows of ``method``).
    hazard_ratio : float
        Churn hazard ratio of membership.
    baseline_churn : float
        Monthly churn hazard without the programme.
    window_months : int
        Length of the post window the DiD estimates refer to.

    Returns
    -------
    DataFrame indexed by part (retention, frequency, basket, residual, total) with
    ``ratio`` (with / without the programme) and ``ltv_uplift`` (money per member over the horizon).
    """
    est = estimates[estimates["method"] == method].set_index("outcome")
    missing = [o for o in ("spend", "visits", "basket") if o not in est.index]
    if missing:
        raise ValueError(f"estimates lack the {method!r} rows for {missing}")
    if hazard_ratio <= 0 or baseline_churn < 0:
        raise ValueError("hazard_ratio must be > 0 and baseline_churn >= 0")

    def ratio(o):
        post, att = est.loc[o, "member_post_mean"], est.loc[o, "att"]
        return float(post / (post - att))

    r_ret = _survival_mean(baseline_churn * hazard_ratio, window_months) / _survival_mean(baseline_churn, window_months)
    r_visits = ratio("visits")
    r = {"retention": r_ret, "frequency": r_visits / r_ret, "basket": ratio("basket")}
    spend_post, spend_att = est.loc["spend", "member_post_mean"], est.loc["spend", "att"]
    base = (spend_post - spend_att) * horizon_months  # counterfactual spend per member over the horizon
    names = list(r)
    shap = dict.fromkeys(names, 0.0)
    for order in itertools.permutations(names):
        acc = 1.0
        for k in order:
            shap[k] += base * acc * (r[k] - 1) / 6
            acc *= r[k]
    total = spend_att * horizon_months
    rows = {k: {"ratio": r[k], "ltv_uplift": shap[k]} for k in names}
    rows["residual"] = {"ratio": np.nan, "ltv_uplift": total - sum(shap.values())}
    rows["total"] = {"ratio": float(spend_post / (spend_post - spend_att)), "ltv_uplift": total}
    return pd.DataFrame.from_dict(rows, orient="index")
