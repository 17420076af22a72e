"""Customer lifetime value.

* Historical LTV by acquisition cohort, LTV/CAC and payback: :func:`cohort_ltv`.
* "Buy till you die" models fitted by maximum likelihood on the data layer's
  customer summary: :class:`BGNBD`, :class:`MBGNBD`, :class:`ParetoNBD`,
  :class:`BGBB` (discrete opportunities) and the :class:`GammaGamma` spend model.
* Covariates: ``ParetoNBD().fit(summary, trans_covariates=[...], life_covariates=[...])``
  (also :class:`BGNBD`; :mod:`cxlab.ltv.covariates`), time-varying ones through
  :class:`TimeVaryingCovariates` (:mod:`cxlab.ltv.dyncov`), and
  :func:`membership_effects`: a loyalty programme's purchase-rate and lifetime
  multipliers with intervals and likelihood-ratio tests.
* Discounted CLV and bootstrap intervals: :func:`customer_lifetime_value`,
  :func:`prediction_intervals`.
* Holdout validation and diagnostic plots: :func:`holdout_validation`,
  :func:`tracking_data` and the ``plot_*`` functions.
* Contractual (subscription) LTV from survival curves: :mod:`cxlab.ltv.contractual`
  (``rmst_ltv``, ``sbg_ltv``, ...), re-exported here.

Typical use::

    from cxlab.data import customer_summary
    from cxlab.ltv import BGNBD, GammaGamma, customer_lifetime_value, holdout_validation

    cal = customer_summary(tx, unit="W", calibration_end="2024-06-30")
    bg = BGNBD().fit(cal)
    print(bg.summary())
    print(holdout_validation(bg, cal).summary())
    gg = GammaGamma().fit(cal)
    clv = customer_lifetime_value(bg, gg, cal, horizon_months=12, discount_rate=monthly_rate(0.10))
"""
from cxlab.ltv._base import BTYDModel, FitResult
from cxlab.ltv.clv import PredictionIntervals, customer_lifetime_value, monthly_rate, prediction_intervals
from cxlab.ltv.cohort import CohortLTV, cohort_acquisition_cost, cohort_ltv, plot_cohort_ltv
from cxlab.ltv.models import BGBB, BGNBD, MBGNBD, GammaGamma, ParetoNBD
from cxlab.ltv.covariates import CovariateFitResult
from cxlab.ltv.dyncov import TimeVaryingCovariates, membership_covariates
from cxlab.ltv.effects import MembershipEffects, membership_effects
from cxlab.ltv.validation import (
    HoldoutResult,
    holdout_validation,
    plot_calibration_holdout,
    plot_cumulative_tracking,
    plot_frequency_recency_matrix,
    plot_period_transactions,
    plot_probability_alive_matrix,
    tracking_data,
)

__all__ = [
    "BTYDModel", "FitResult", "BGNBD", "MBGNBD", "ParetoNBD", "BGBB", "GammaGamma",
    "CovariateFitResult", "TimeVaryingCovariates", "membership_covariates", "MembershipEffects",
    "membership_effects",
    "customer_lifetime_value", "monthly_rate", "prediction_intervals", "PredictionIntervals",
    "CohortLTV", "cohort_ltv", "cohort_acquisition_cost", "plot_cohort_ltv",
    "HoldoutResult", "holdout_validation", "tracking_data", "plot_calibration_holdout",
    "plot_cumulative_tracking", "plot_frequency_recency_matrix", "plot_period_transactions",
    "plot_probability_alive_matrix",
]

# Survival-based contractual LTV (cxlab.ltv.contractual, written separately).
from cxlab.ltv.contractual import (  # noqa: E402
    RmstLTV,
    customer_base_value,
    discounted_restricted_mean,
    rmst_ltv,
    sbg_del,
    sbg_derl,
    sbg_ltv,
)

__all__ += ["RmstLTV", "customer_base_value", "discounted_restricted_mean", "rmst_ltv", "sbg_del", "sbg_derl",
            "sbg_ltv"]
