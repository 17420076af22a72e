"""Lifetime value in a contractual setting (subscriptions, contracts, memberships).

Two routes:

* **Survival route, no model assumptions** - :func:`rmst_ltv`: the
  (optionally discounted) restricted mean lifetime up to a horizon, from the
  Kaplan-Meier curve, times the margin per period.  Standard errors by the
  Greenwood delta method (see :func:`cxlab.survival.restricted_mean`).

* **sBG route, projection beyond the data** - :func:`sbg_del`,
  :func:`sbg_derl`, :func:`sbg_ltv`, :func:`customer_base_value`: discounted
  expected lifetime (DEL) of a new customer and discounted expected residual
  lifetime (DERL) of an existing one under the shifted-beta-geometric model,
  following Fader & Hardie (2010), "Customer-base valuation in a contractual
  setting: the perils of ignoring heterogeneity", *Marketing Science* 29(1),
  85-93.  With per-customer churn probability :math:`\\theta \\sim
  \\mathrm{Beta}(\\alpha, \\beta)`, discount rate :math:`d` and payments at the
  start of each period:

  .. math::
      \\mathrm{DEL}(d) = \\sum_{t=0}^{\\infty} \\frac{S(t)}{(1+d)^t}
          = {}_2F_1\\!\\left(1, \\beta; \\alpha+\\beta; \\tfrac{1}{1+d}\\right),

      \\mathrm{DERL}(d \\mid n-1 \\text{ renewals}) =
          \\frac{\\beta+n-1}{\\alpha+\\beta+n-1}\\,
          {}_2F_1\\!\\left(1, \\beta+n; \\alpha+\\beta+n; \\tfrac{1}{1+d}\\right).

  DERL counts the customer's future payments, the next one (if they renew)
  undiscounted, for a customer who has just completed n periods (made n-1
  renewals) and is about to decide whether to renew.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from cxlab._base import Result, Summary, to_builtin
from cxlab.retention import ShiftedBetaGeometric
from cxlab.survival import _km_from_table, aggregate_durations

__all__ = [
    "RmstLTV",
    "customer_base_value",
    "discounted_restricted_mean",
    "rmst_ltv",
    "sbg_del",
    "sbg_derl",
    "sbg_ltv",
]


def _params(model_or_params) -> tuple[float, float]:
    if isinstance(model_or_params, ShiftedBetaGeometric):
        model_or_params._check_fitted()
        return model_or_params.params_["alpha"], model_or_params.params_["beta"]
    if isinstance(model_or_params, dict):
        try:
            return float(model_or_params["alpha"]), float(model_or_params["beta"])
        except KeyError as exc:
            raise ValueError("params dict needs keys 'alpha' and 'beta'") from exc
    a, b = model_or_params
    return float(a), float(b)


def _check_ab_d(alpha: float, beta: float, discount_rate) -> np.ndarray:
    if not (alpha > 0 and beta > 0):
        raise ValueError(f"sBG parameters must be positive, got alpha={alpha}, beta={beta}")
    d = np.asarray(discount_rate, dtype=float)
    if np.any(d <= 0):
        # with d = 0 the series is the undiscounted mean lifetime, infinite when alpha <= 1
        raise ValueError("discount_rate must be > 0 (per period)")
    return d


def sbg_del(alpha: float, beta: float, discount_rate) -> np.ndarray:
    """Discounted expected lifetime of a new customer (periods, first one undiscounted).

    DEL = 2F1(1, beta; alpha + beta; 1/(1+d)) (Fader & Hardie 2010, eq. 5).
    ``discount_rate`` is per period (e.g. 0.10 a year for yearly contracts).
    """
    d = _check_ab_d(alpha, beta, discount_rate)
    return special.hyp2f1(1.0, beta, alpha + beta, 1.0 / (1.0 + d))


def sbg_derl(alpha: float, beta: float, discount_rate, renewals) -> np.ndarray:
    """Discounted expected residual lifetime of a customer who has made ``renewals`` renewals.

    DERL = (beta + n - 1)/(alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n; 1/(1+d))
    with n - 1 = ``renewals`` (Fader & Hardie 2010, eq. 6).  The customer is at
    the end of period n, about to decide whether to renew; the next payment
    counts undiscounted.  Vectorised over ``renewals`` (integers >= 0).
    """
    d = _check_ab_d(alpha, beta, discount_rate)
    k = np.asarray(renewals, dtype=float)
    if np.any(k < 0) or np.any(k != np.floor(k)):
        raise ValueError("renewals must be whole numbers >= 0")
    b_post = beta + k  # posterior Beta(alpha, beta + renewals) of the churn probability
    return b_post / (alpha + b_post) * special.hyp2f1(1.0, b_post + 1.0, alpha + b_post + 1.0, 1.0 / (1.0 + d))


def sbg_ltv(model_or_params, *, margin_per_period: float, discount_rate: float, renewals=None) -> np.ndarray:
    """sBG-based LTV: margin per period x DEL (new customer) or x DERL (after ``renewals``).

    ``model_or_params``: a fitted :class:`cxlab.retention.ShiftedBetaGeometric`,
    a dict with alpha and beta, or an (alpha, beta) pair.
    """
    alpha, beta = _params(model_or_params)
    if renewals is None:
        return margin_per_period * sbg_del(alpha, beta, discount_rate)
    return margin_per_period * sbg_derl(alpha, beta, discount_rate, renewals)


def customer_base_value(model_or_params, active_by_renewals, *, margin_per_period: float,
                        discount_rate: float) -> pd.DataFrame:
    """Residual value of today's customer base (Fader & Hardie 2010).

    ``active_by_renewals``: mapping or Series ``renewals -> active customers``
    (e.g. {0: 631, 1: 468, ...}).  Returns per renewal class the customers,
    DERL and value (= customers x DERL x margin); the total is their sum.
    """
    alpha, beta = _params(model_or_params)
    s = pd.Series(active_by_renewals, dtype=float)
    if (s < 0).any():
        raise ValueError("active_by_renewals must hold non-negative customer counts")
    derl = sbg_derl(alpha, beta, discount_rate, s.index.to_numpy(dtype=float))
    out = pd.DataFrame({"renewals": s.index.astype(int), "customers": s.to_numpy(), "derl": derl})
    out["value"] = out["customers"] * out["derl"] * margin_per_period
    return out


# ---------------------------------------------------------------------------
# survival route
# ---------------------------------------------------------------------------
def discounted_restricted_mean(durations, events, tau: float, *, discount_rate: float = 0.0,
                               weights=None) -> dict[str, float]:
    r"""Discounted restricted mean lifetime and its standard error.

    .. math::
        \hat\mu = \int_0^\tau \hat S(u)\, v^{u}\,du, \quad v = (1 + d)^{-1},

    a linear functional of the Kaplan-Meier curve, so its delta-method
    variance has the RMST form :math:`\sum A_i^2 d_i / (Y_i(Y_i - d_i))` with
    :math:`A_i = \int_{t_i}^{\tau} \hat S(u) v^u du`.  ``discount_rate`` is per
    unit of duration; 0 gives the plain RMST.
    """
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number, got {tau!r}")
    if discount_rate < 0:
        raise ValueError("discount_rate must be >= 0")
    delta = np.log1p(discount_rate)

    def integral(a, b):  # of v^u from a to b
        if delta == 0:
            return b - a
        return (np.exp(-delta * a) - np.exp(-delta * b)) / delta

    tab = aggregate_durations(durations, events, weights)
    t, s, dth, y = _km_from_table(tab)
    keep = (t <= tau) & (dth > 0)
    t, s, dth, y = t[keep], s[keep], dth[keep], y[keep]
    edges = np.append(t, tau)
    pieces = s * integral(edges[:-1], edges[1:])
    first = t[0] if t.size else tau
    value = float(integral(0.0, first) + pieces.sum())
    a = pieces[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > dth, a**2 * dth / (y * (y - dth)), 0.0)
    return {"value": value, "se": float(np.sqrt(terms.sum())), "tau": float(tau)}


class RmstLTV(Result):
    """LTV = (discounted) restricted mean lifetime x margin per period, by group.

    Attributes
    ----------
    table : DataFrame
        Per group: ``customers, events, rmst, rmst_se, ltv, ltv_ci_low, ltv_ci_high``.
    """

    def __init__(self, table, tau, margin_per_period, discount_rate, alpha, unit):
        self.table = table
        self.tau = tau
        self.margin_per_period = margin_per_period
        self.discount_rate = discount_rate
        self.alpha = alpha
        self.unit = unit

    def summary(self) -> Summary:
        disc = f", discounted at {self.discount_rate:.2%} per {self.unit}" if self.discount_rate else ""
        margin = (", ".join(f"{k} {v:,.2f}" for k, v in self.margin_per_period.items())
                  if isinstance(self.margin_per_period, dict) else f"{self.margin_per_period:,.2f}")
        notes = [f"LTV over the first {self.tau:g} {self.unit}: restricted mean lifetime (area under the "
                 f"Kaplan-Meier curve{disc}) x margin per {self.unit} ({margin}); "
                 f"{int(round(100 * (1 - self.alpha)))}% intervals. Value after the horizon is not counted."]
        return Summary("Contractual LTV from restricted mean lifetime", [("LTV by group", self.table)], notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"tau": self.tau, "margin_per_period": self.margin_per_period,
                           "discount_rate": self.discount_rate, "alpha": self.alpha, "unit": self.unit,
                           "table": self.table})


def rmst_ltv(
    data: pd.DataFrame,
    *,
    tau: float,
    margin_per_period,
    duration_col: str = "duration",
    event_col: str = "event",
    group_col: str | None = None,
    discount_rate: float = 0.0,
    alpha: float = 0.05,
    unit: str = "period",
) -> RmstLTV:
    """Survival-based LTV for contractual data: restricted mean lifetime x margin per period.

    Parameters
    ----------
    data : DataFrame
        One row per customer: ``duration_col`` (in periods) and ``event_col``
        (True = contract ended), e.g. :func:`cxlab.churn.contractual_durations`.
    tau : float
        Horizon in periods (e.g. 36 months).  Must not exceed the follow-up:
        beyond the last observed time the curve is not identified.
    margin_per_period : float or dict
        Margin per customer per period; a dict gives one value per group.
    group_col : str, optional
        Segment column.
    discount_rate : float
        Per period (continuous-time discount ``(1+d)^-t``).
    """
    for c in (duration_col, event_col, group_col):
        if c is not None and c not in data.columns:
            raise ValueError(f"rmst_ltv: data has no column {c!r}")
    groups = [("all", data)] if group_col is None else list(data.groupby(group_col, observed=True))
    z = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for label, sub in groups:
        d = sub[duration_col].to_numpy(float)
        if tau > d.max():
            raise ValueError(f"rmst_ltv: tau={tau} exceeds the longest follow-up ({d.max():.4g}) of group "
                             f"{label!r}; the curve is unknown there")
        margin = margin_per_period[label] if isinstance(margin_per_period, dict) else margin_per_period
        r = discounted_restricted_mean(d, sub[event_col].to_numpy(), tau, discount_rate=discount_rate)
        rows.append({"group": str(label), "customers": len(sub), "events": int(sub[event_col].astype(bool).sum()),
                     "rmst": r["value"], "rmst_se": r["se"], "margin_per_period": float(margin),
                     "ltv": margin * r["value"], "ltv_ci_low": margin * (r["value"] - z * r["se"]),
                     "ltv_ci_high": margin * (r["value"] + z * r["se"])})
    table = pd.DataFrame(rows).set_index("group")
    return RmstLTV(table, float(tau), margin_per_period, discount_rate, alpha, unit)
