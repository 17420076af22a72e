"""The whole loyalty-uplift analysis in one call: :func:`analyze_loyalty`.

Steps (each is a public function of :mod:`cxlab.uplift` and can be run alone):

1. :func:`member_panel` — customer × month arrays and join months;
2. :func:`prepost_windows` + :class:`PrePostDiD` — naive vs matching, IPW and
   doubly robust proportional DiD on spend, visits and basket, with balance and
   overlap (the same propensity / outcome-model core as :func:`treatment_effect`);
3. :func:`event_time_effects` — effect by months since joining (stacked DR DiD)
   and :func:`loyalty_staggered` — Callaway–Sant'Anna without covariates, for contrast;
4. :func:`segment_effects`, :func:`qini_curve` — who gains;
5. :func:`robustness_checks` — placebo join dates and window lengths;
6. retention (time-varying Cox) and the LTV split, when churn durations are given;
7. :func:`program_economics` — ROI, payback and the waterfall.
"""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin
from cxlab.uplift._utils import single_thread_blas
from cxlab.uplift.design import prepost_windows
from cxlab.uplift.did import PrePostDiD, PrePostResult, event_time_effects
from cxlab.uplift.economics import ProgramCosts, program_economics
from cxlab.uplift.event_study import loyalty_staggered
from cxlab.uplift.heterogeneity import qini_curve, segment_effects
from cxlab.uplift.panel import MemberPanel, member_panel
from cxlab.uplift.retention import baseline_churn_rate, ltv_decomposition, membership_hazard_ratio
from cxlab.uplift.robustness import robustness_checks
from cxlab.uplift.sensitivity import ovb_sensitivity
from cxlab.units import unit_days

__all__ = ["LoyaltyAnalysis", "analyze_loyalty", "ASSUMPTIONS"]

#: the identifying assumptions, in plain words (used by the report and the summary)
ASSUMPTIONS = [
    "Each member's spend without the programme is estimated as their own spend before joining times the change "
    "that comparable non-members (same purchase history before that, tenure, calendar month and channel, and a "
    "purchase in the month before the date) showed over the same months (proportional parallel trends).",
    "Members may be heavier buyers than non-members — that cancels in the ratio — but their spend would have "
    "changed in the same proportion as that of comparable non-members.",
    "Joining did not change behaviour before the join date (no anticipation), and the programme did not "
    "change the behaviour of non-members.",
    "Nothing else happened to members only at the moment they joined (e.g. a simultaneous personal offer).",
]


class LoyaltyAnalysis(Result):
    """Everything :func:`analyze_loyalty` computed (attributes may be None when skipped)."""

    def __init__(self, **parts: Any):
        self.prepost: PrePostResult = parts["prepost"]
        self.event: pd.DataFrame = parts["event"]
        self.staggered = parts.get("staggered")
        self.segments = parts.get("segments")
        self.qini = parts.get("qini")
        self.robustness = parts.get("robustness")
        self.retention = parts.get("retention")
        self.decomposition = parts.get("decomposition")
        self.economics = parts.get("economics")
        self.sensitivity = parts.get("sensitivity")
        self.timings: dict[str, float] = parts.get("timings", {})
        self.n_members = parts.get("n_members")

    def comparison(self, outcome: str = "spend") -> pd.DataFrame:
        """Naive vs causal estimates side by side (per member per month over the post window)."""
        est = self.prepost.estimates
        table = est[est["outcome"] == outcome].set_index("method")[["att", "se", "ci_low", "ci_high", "n_treated", "n_control"]].copy()
        if self.staggered is not None and outcome == self.staggered.outcome and self.staggered.window is not None:
            w = self.staggered.window  # mean over the same months since joining as the post window
            table.loc["staggered_cs", ["att", "se", "ci_low", "ci_high"]] = [w["att"], w["se"], w["ci_low"], w["ci_high"]]
            table.loc["staggered_cs", "n_treated"] = self.staggered.n_units - self.staggered.n_never
        return table

    def summary(self) -> Summary:
        tables = [("Naive vs causal: spend per member per month", self.comparison("spend")),
                  ("All estimates", self.prepost.estimates.set_index(["outcome", "method"]))]
        if self.segments is not None and len(self.segments):
            tables.append(("By pre-join segment (DR, spend)", self.segments.set_index("segment")))
        if self.robustness is not None:
            tables.append(("Robustness", self.robustness))
        if self.decomposition is not None:
            tables.append(("LTV uplift split", self.decomposition))
        if self.economics is not None:
            tables.append(("Economics", self.economics.table))
        notes = ["Assumptions: " + " ".join(ASSUMPTIONS), *self.prepost.notes]
        if self.sensitivity is not None:
            notes.append(self.sensitivity.sentence("en"))
        return Summary("Loyalty programme uplift", tables, notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({
            "prepost": self.prepost.to_dict(), "event": self.event,
            "staggered": self.staggered.to_dict() if self.staggered is not None else None,
            "segments": self.segments, "qini": self.qini.to_dict() if self.qini is not None else None,
            "robustness": self.robustness, "retention": self.retention.to_dict() if self.retention is not None else None,
            "decomposition": self.decomposition, "economics": self.economics.to_dict() if self.economics is not None else None,
            "sensitivity": self.sensitivity.to_dict() if self.sensitivity is not None else None,
            "timings": self.timings,
        })


@single_thread_blas()
def analyze_loyalty(
    panel: pd.DataFrame | MemberPanel,
    customers: pd.DataFrame | None = None,
    *,
    durations: pd.DataFrame | None = None,
    durations_unit: str = "D",
    pre: int = 6,
    post: int = 6,
    active_within: int | None = 1,
    margin_rate: float = 0.3,
    costs: ProgramCosts | None = None,
    horizon_months: int = 12,
    staggered: bool = True,
    heterogeneity: bool = True,
    robustness: bool = True,
    seed: int = 0,
    alpha: float = 0.05,
    sample_fraction: float = 1.0,
) -> LoyaltyAnalysis:
    """Run the loyalty-uplift analysis.

    Parameters
    ----------
    panel : DataFrame or MemberPanel
        Monthly :func:`cxlab.data.customer_period_panel` output (then ``customers``
        with ``loyalty_join_date`` is required), or a prepared :class:`MemberPanel`.
    durations : DataFrame, optional
        :func:`cxlab.data.churn_durations` output; enables the retention hazard
        ratio and the LTV split.
    pre, post : int
        Window lengths in months.
    margin_rate, costs, horizon_months
        Economics inputs (see :func:`program_economics`).
    sample_fraction : float
        Share of the client's customers the panel holds (a simple random
        sample's ``n / N``): the programme's economics are scaled to the
        estimated number of members of the whole client, ``members / sample_fraction``.
    """
    if not 0 < sample_fraction <= 1:
        raise ValueError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name):
        nonlocal t0
        now = time.perf_counter()
        timings[name] = now - t0
        t0 = now

    if isinstance(panel, MemberPanel):
        mp = panel
    else:
        if customers is None:
            raise ValueError("analyze_loyalty needs the customers table (with loyalty_join_date) next to the panel")
        mp = member_panel(panel, customers)
    lap("panel")
    data = prepost_windows(mp, pre=pre, post=post, active_within=active_within, seed=seed)
    did = PrePostDiD(alpha=alpha).fit(data)
    lap("prepost")
    event = event_time_effects(data, did.propensity_, outcome="spend", alpha=alpha)
    lap("event_time")
    stag = None
    if staggered:
        try:
            stag = loyalty_staggered(mp, outcome="spend", alpha=alpha, max_event=post - 1)
        except ValueError as exc:
            warnings.warn(f"staggered event study skipped: {exc}", stacklevel=2)
        lap("staggered")
    segments = qini = None
    if heterogeneity:
        segments = segment_effects(data, alpha=alpha)
        qini = qini_curve(data, seed=seed, alpha=alpha)
        lap("heterogeneity")
    rob = robustness_checks(mp, pre=pre, post=post, seed=seed, alpha=alpha) if robustness else None
    lap("robustness")
    retention = decomposition = None
    if durations is not None and customers is not None:
        retention = membership_hazard_ratio(durations, customers, unit=durations_unit, alpha=alpha)
        h0 = baseline_churn_rate(durations, customers, unit_days=unit_days(durations_unit, name="durations_unit"))
        decomposition = ltv_decomposition(did.result_.estimates, hazard_ratio=retention.hazard_ratio, baseline_churn=h0,
                                          window_months=post, horizon_months=horizon_months)
        lap("retention")
    spend = did.result_.estimate("spend", "dr")
    # Cinelli & Hazlett's robustness value from the headline's t-statistic (exact for OLS, the
    # usual reading for a doubly robust estimate): how much residual variance of membership and
    # spend a hidden confounder would have to explain to remove the effect
    n_rows = int(spend["n_treated"] + spend["n_control"])
    sensitivity = ovb_sensitivity(spend["att"], spend["se"], max(n_rows - did.propensity_.X_.shape[1] - 1, 2), alpha=alpha,
                                  what="dr")
    n_members = int(mp.is_member.sum())
    economics = program_economics(spend["att"], spend["se"], baseline=spend["member_post_mean"] - spend["att"],
                                  members=max(1, int(round(n_members / sample_fraction))),
                                  horizon_months=horizon_months, margin_rate=margin_rate,
                                  costs=costs, alpha=alpha, seed=seed)
    lap("economics")
    return LoyaltyAnalysis(prepost=did.result_, event=event, staggered=stag, segments=segments, qini=qini,
                           robustness=rob, retention=retention, decomposition=decomposition, economics=economics,
                           timings=timings, n_members=n_members, sensitivity=sensitivity)
