"""Loyalty-programme uplift: how much of "members spend more" is caused by the programme.

Members self-select (heavier buyers join sooner), so the naive member vs
non-member gap is mostly selection. This package estimates the causal effect:

* :mod:`~cxlab.uplift.core` — the propensity / outcome-model core (standardised, step-controlled
  logit with a separation check; OLS; overlap rules) every estimator below uses;
* :mod:`~cxlab.uplift.effects` — :func:`treatment_effect`, cross-sectional effects
  (regression adjustment, IPW, AIPW, matching) with balance, overlap and sensitivity;
* :mod:`~cxlab.uplift.sensitivity` — Cinelli–Hazlett robustness values, Rosenbaum bounds;
* :mod:`~cxlab.uplift.naive` — the naive difference (biased; for contrast, and for
  randomised data such as LaLonde's NSW experiment);
* :mod:`~cxlab.uplift.panel`, :mod:`~cxlab.uplift.design` — customer × month arrays,
  pre/post windows around each join date, pseudo join dates for non-members;
* :mod:`~cxlab.uplift.matching` — propensity score, nearest-neighbour matching,
  ATT weights, balance table, love plot, overlap;
* :mod:`~cxlab.uplift.did` — IPW, matched and doubly robust DiD (Sant'Anna & Zhao 2020),
  event-time effects;
* :mod:`~cxlab.uplift.event_study` — Callaway & Sant'Anna (2021) staggered DiD;
* :mod:`~cxlab.uplift.retention` — membership hazard ratio and the LTV split;
* :mod:`~cxlab.uplift.economics` — ROI, payback, waterfall;
* :mod:`~cxlab.uplift.heterogeneity` — segment effects and the Qini curve;
* :mod:`~cxlab.uplift.robustness` — placebo join dates, window lengths;
* :mod:`~cxlab.uplift.analysis` — :func:`analyze_loyalty`, all of the above in one call.
"""
from cxlab.uplift.analysis import ASSUMPTIONS, LoyaltyAnalysis, analyze_loyalty
from cxlab.uplift.design import OUTCOMES, PrePostData, prepost_windows
from cxlab.uplift.did import PrePostDiD, PrePostResult, dr_did, event_time_effects, ipw_did, matched_did
from cxlab.uplift.effects import METHODS, TreatmentEffect, treatment_effect
from cxlab.uplift.economics import ProgramCosts, ProgramEconomics, plot_roi_waterfall, program_economics
from cxlab.uplift.event_study import (
    EventStudyResult,
    StaggeredDiD,
    TWFEResult,
    callaway_santanna,
    callaway_santanna_dr,
    loyalty_staggered,
    plot_event_study,
    twfe_event_study,
)
from cxlab.uplift.heterogeneity import QiniResult, plot_qini, qini_curve, segment_effects
from cxlab.uplift.matching import (
    PropensityModel,
    att_weights,
    balance_table,
    nearest_neighbor_match,
    overlap_summary,
    plot_love,
    plot_overlap,
)
from cxlab.uplift.naive import NaiveDifference, naive_difference
from cxlab.uplift.panel import MemberPanel, member_panel
from cxlab.uplift.retention import baseline_churn_rate, ltv_decomposition, membership_hazard_ratio
from cxlab.uplift.robustness import robustness_checks
from cxlab.uplift.sensitivity import OVBSensitivity, RosenbaumBounds, ovb_sensitivity, robustness_value, rosenbaum_bounds

__all__ = [
    "ASSUMPTIONS", "LoyaltyAnalysis", "analyze_loyalty", "OUTCOMES", "PrePostData", "prepost_windows",
    "PrePostDiD", "PrePostResult", "dr_did", "event_time_effects", "ipw_did", "matched_did",
    "ProgramCosts", "ProgramEconomics", "plot_roi_waterfall", "program_economics",
    "EventStudyResult", "StaggeredDiD", "TWFEResult", "callaway_santanna", "callaway_santanna_dr", "loyalty_staggered",
    "plot_event_study", "twfe_event_study",
    "QiniResult", "plot_qini", "qini_curve", "segment_effects",
    "PropensityModel", "att_weights", "balance_table", "nearest_neighbor_match", "overlap_summary", "plot_love", "plot_overlap",
    "NaiveDifference", "naive_difference", "MemberPanel", "member_panel",
    "METHODS", "TreatmentEffect", "treatment_effect",
    "OVBSensitivity", "RosenbaumBounds", "ovb_sensitivity", "robustness_value", "rosenbaum_bounds",
    "baseline_churn_rate", "ltv_decomposition", "membership_hazard_ratio", "robustness_checks",
]
