"""Difference-in-differences on the matched pre/post design: IPW, matching and doubly robust.

With ``ΔY = Y_post − Y_pre`` per customer, ``D`` membership and ``X`` pre-join
covariates, all three estimate the ATT under *conditional* parallel trends
(the members' spend would have changed like that of non-members with the same
pre-join behaviour):

* **IPW DiD** (Abadie 2005, normalised form of Sant'Anna & Zhao 2020):
  ``mean(ΔY | D=1) − Σ w_i ΔY_i / Σ w_i`` over controls, ``w = e/(1 − e)``.
* **Matched DiD**: mean over matched members of ``ΔY_member − ΔY_control`` (bias-corrected).
* **Doubly robust DiD** (Sant'Anna & Zhao 2020, eq. 3.1, panel data):

  .. math::

      \\hat\\tau = \\frac{\\sum D_i (\\Delta Y_i - m(X_i))}{\\sum D_i}
      - \\frac{\\sum w_i (\\Delta Y_i - m(X_i))}{\\sum w_i},
      \\quad w_i = \\frac{(1-D_i)\\, e(X_i)}{1 - e(X_i)},

  with ``m(X)`` the linear regression of ΔY on X among controls: consistent
  if *either* the propensity or the outcome model is right.

All three are the cross-sectional estimators of :mod:`cxlab.uplift.estimators`
(the same core as :func:`cxlab.uplift.treatment_effect`) applied to ``ΔY``.
Standard errors of IPW and DR come from their influence functions including the
estimation of the propensity and outcome models (the formulas of the R package
``DRDID``). Matching (on the logit propensity, ties averaged, bias-corrected on
the covariates) uses the Abadie–Imbens (2006) variance, which treats the
propensity as known.

References
----------
Sant'Anna, P. H. C. and Zhao, J. (2020), "Doubly robust difference-in-differences
estimators", *Journal of Econometrics* 219(1), 101-122.
Abadie, A. (2005), "Semiparametric difference-in-differences estimators",
*Review of Economic Studies* 72(1), 1-19.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlab._base import Estimator, Result, Summary, to_builtin
from cxlab.uplift._utils import as_float_array, single_thread_blas, z_value
from cxlab.uplift.core import LogitFit
from cxlab.uplift.estimators import (
    aipw_estimate,
    find_matches,
    ipw_estimate,
    match_estimate,
    ratio_dr_estimate,
    ratio_ipw_estimate,
)
from cxlab.uplift.design import OUTCOMES, PrePostData
from cxlab.uplift.matching import (
    BalanceResult,
    MatchResult,
    PropensityModel,
    att_weights,
    balance_table,
    nearest_neighbor_match,
    overlap_summary,
)

__all__ = ["dr_did", "ipw_did", "matched_did", "proportional_did", "event_time_effects", "PrePostDiD", "PrePostResult"]


def _estimate(att: float, se: float, n_treated: int, n_control: int, alpha: float, **extra) -> dict[str, Any]:
    z = z_value(alpha)
    return {"att": float(att), "se": float(se), "ci_low": float(att - z * se), "ci_high": float(att + z * se),
            "n_treated": int(n_treated), "n_control": int(n_control), **extra}


def ipw_did(dy: np.ndarray, d: np.ndarray, ps: LogitFit, X: np.ndarray, *, alpha: float = 0.05) -> dict[str, Any]:
    """Normalised IPW DiD (Abadie 2005): :func:`cxlab.uplift.estimators.ipw_estimate` on ``ΔY``
    (the influence function of ``DRDID::std_ipw_did_panel``)."""
    est = ipw_estimate(dy, d, X, ps, estimand="ATT")
    return _estimate(est.estimate, est.se, d.sum(), (~d).sum(), alpha)


def dr_did(dy: np.ndarray, d: np.ndarray, ps: LogitFit, X: np.ndarray, *, alpha: float = 0.05) -> dict[str, Any]:
    """Doubly robust DiD for panel data (``DRDID::drdid_panel``): :func:`cxlab.uplift.estimators.aipw_estimate`
    on ``ΔY``, analytic influence-function SE."""
    est = aipw_estimate(dy, d, X, ps, estimand="ATT")
    return _estimate(est.estimate, est.se, d.sum(), (~d).sum(), alpha)


def matched_did(dy: np.ndarray, d: np.ndarray, ps: LogitFit, X: np.ndarray, *, caliper_sd: float | None = 0.2,
                alpha: float = 0.05) -> dict[str, Any]:
    """DiD on nearest-neighbour matches on the logit propensity (with replacement, ties averaged),
    bias-corrected on the covariates, Abadie–Imbens SE: :func:`cxlab.uplift.estimators.match_estimate`.

    The caliper is in standard deviations of the logit propensity (Austin 2011); members without a
    control inside it are left out and counted (``n_unmatched``).
    """
    p = np.clip(ps.prob, 1e-15, 1 - 1e-15)
    lg = np.log(p / (1 - p))
    Z = (lg / lg.std())[:, None]
    est = match_estimate(dy, d, Z, estimand="ATT", m=1, bias_X=X, caliper=caliper_sd)
    n_t = int(np.sum(est.weights[d] > 0))
    return _estimate(est.estimate, est.se, n_t, int(np.sum(est.weights[~d] > 0)), alpha,
                     n_unmatched=est.extra["n_unmatched"])


class PrePostResult(Result):
    """Estimates of the pre/post design for several outcomes and estimators."""

    def __init__(self, estimates: pd.DataFrame, balance: BalanceResult, overlap: pd.Series, notes: list[str], design: dict):
        self.estimates = estimates
        self.balance = balance
        self.overlap = overlap
        self.notes = notes
        self.design = design

    def estimate(self, outcome: str = "spend", method: str = "dr") -> dict[str, Any]:
        """One estimate as a dict (att, se, ci_low, ci_high, ...)."""
        row = self.estimates[(self.estimates["outcome"] == outcome) & (self.estimates["method"] == method)]
        if row.empty:
            raise ValueError(f"no estimate for outcome={outcome!r}, method={method!r}")
        return row.iloc[0].to_dict()

    def summary(self) -> Summary:
        return Summary(
            f"Loyalty uplift, matched pre/post DiD ({self.design['pre']} months before vs {self.design['post']} after joining)",
            [("Effect per member per month", self.estimates.set_index(["outcome", "method"])),
             ("Covariate balance |SMD|", self.balance.table),
             ("Overlap", self.overlap.to_frame("value"))],
            [*self.notes,
             "naive = members' minus non-members' post-window level: selection bias included, shown for contrast only."],
        )

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"estimates": self.estimates, "balance": self.balance.to_dict(),
                           "overlap": self.overlap, "notes": self.notes, "design": self.design})


class PrePostDiD(Estimator):
    """Matched / weighted pre-post difference-in-differences for customer-level opt-in.

    Parameters
    ----------
    outcomes : tuple of str
        Any of ``"spend"`` (revenue per month), ``"visits"`` (transactions per
        month), ``"basket"`` (revenue per transaction; customers with purchases
        in both windows only — conditional on buying, so read it as descriptive).
    methods : tuple of str
        Any of ``"naive"``, ``"matching"``, ``"ipw"``, ``"dr"``.
    design : {"proportional", "additive"}
        ``"proportional"`` (default): members' counterfactual post level = their own pre
        level × the growth of comparable non-members (parallel trends in logs of the
        means), with the comparison made comparable on history *before* the pre window
        (``PrePostData.history_columns``). When members self-select on their latent
        buying rate, this is unbiased: the rate cancels in the ratio, and the weights do
        not use the baseline window, so nothing regresses to the mean. ``"additive"``:
        parallel trends in money, weights on pre-window behaviour
        (``covariate_columns``): biased upward under that selection (a placebo finds an
        "effect" before joining) — kept for comparison.
    caliper_sd : float
        Matching caliper in standard deviations of the logit propensity.
    alpha : float
        1 − confidence level.

    Attributes
    ----------
    result_ : PrePostResult
    propensity_ : PropensityModel
    match_ : MatchResult
    """

    def __init__(self, outcomes=OUTCOMES, methods=("naive", "matching", "ipw", "dr"), design: str = "proportional",
                 caliper_sd: float = 0.2, alpha: float = 0.05):
        self.outcomes = outcomes
        self.methods = methods
        self.design = design
        self.caliper_sd = caliper_sd
        self.alpha = alpha

    def _columns(self, data: PrePostData) -> list[str]:
        if self.design == "proportional":
            if not data.history_columns:
                raise ValueError("this PrePostData has no history_columns; rebuild it with prepost_windows")
            return data.history_columns
        return data.covariate_columns

    @single_thread_blas()
    def fit(self, data: PrePostData) -> "PrePostDiD":
        if not isinstance(data, PrePostData):
            raise ValueError("PrePostDiD.fit expects a PrePostData from cxlab.uplift.prepost_windows")
        bad = [m for m in self.methods if m not in ("naive", "matching", "ipw", "dr")]
        if bad:
            raise ValueError(f"unknown method(s) {bad}; use naive, matching, ipw, dr")
        if self.design not in ("proportional", "additive"):
            raise ValueError(f"design must be 'proportional' or 'additive', got {self.design!r}")
        frame = data.frame
        d = data.treated
        if d.all() or not d.any():
            raise ValueError("the design needs both members and non-members")
        cols = self._columns(data)
        ps = PropensityModel().fit(frame[cols], d)
        match = nearest_neighbor_match(ps.logit_, d, caliper_sd=self.caliper_sd)
        w = att_weights(ps.propensity_, d)
        rows = []
        for outcome in self.outcomes:
            pre_v = frame[f"{outcome}_pre"].to_numpy(dtype="float64")
            post = frame[f"{outcome}_post"].to_numpy(dtype="float64")
            keep = np.isfinite(pre_v) & np.isfinite(post)
            if keep.all():
                X, fit_ps, dd, yy, pp = ps.X_, ps.fit_, d, pre_v, post
            else:  # basket: refit on customers with purchases in both windows
                sub = PropensityModel().fit(frame.loc[keep, cols], d[keep])
                X, fit_ps, dd, yy, pp = sub.X_, sub.fit_, d[keep], pre_v[keep], post[keep]
            if dd.all() or not dd.any():
                raise ValueError(f"outcome {outcome!r}: no members or no non-members with data in both windows")
            for method in self.methods:
                if method == "naive":
                    diff = pp[dd].mean() - pp[~dd].mean()
                    se = np.sqrt(pp[dd].var(ddof=1) / dd.sum() + pp[~dd].var(ddof=1) / (~dd).sum())
                    est = _estimate(diff, se, dd.sum(), (~dd).sum(), self.alpha)
                elif self.design == "proportional":
                    est = proportional_did(pp, yy, dd, fit_ps, X, method=method, caliper_sd=self.caliper_sd, alpha=self.alpha)
                elif method == "matching":
                    est = matched_did(pp - yy, dd, fit_ps, X, caliper_sd=self.caliper_sd, alpha=self.alpha)
                elif method == "ipw":
                    est = ipw_did(pp - yy, dd, fit_ps, X, alpha=self.alpha)
                else:
                    est = dr_did(pp - yy, dd, fit_ps, X, alpha=self.alpha)
                # counterfactual level of the members after joining, for relative effects
                est["member_post_mean"] = float(pp[dd].mean())
                rows.append({"outcome": outcome, "method": method, **est})
        estimates = pd.DataFrame(rows)
        estimates["relative"] = estimates["att"] / (estimates["member_post_mean"] - estimates["att"])
        balance = balance_table(frame[cols], d, ipw=w, match=match, design=(ps.X_, ps.names_))
        overlap = overlap_summary(ps.propensity_, d)
        notes = list(data.notes)
        if self.design == "proportional":
            notes.append("Proportional design: each member's counterfactual is their own pre-join level times the growth "
                         "of comparable non-members over the same months (weights from the history before the pre window).")
        if match.n_unmatched:
            notes.append(f"{match.n_unmatched:,} members had no non-member within the caliper and are left out of matching.")
        self.propensity_ = ps
        self.match_ = match
        self.weights_ = w
        self.result_ = PrePostResult(estimates, balance, overlap, notes, {"pre": data.pre, "post": data.post,
                                                                          "placebo_shift": data.placebo_shift,
                                                                          "design": self.design})
        return self


def proportional_did(y_post: np.ndarray, y_pre: np.ndarray, d: np.ndarray, ps: LogitFit, X: np.ndarray, *,
                     method: str = "dr", caliper_sd: float | None = 0.2, alpha: float = 0.05) -> dict[str, Any]:
    """Proportional pre/post DiD (ATT in the outcome's units): ``method`` "dr"
    (:func:`cxlab.uplift.estimators.ratio_dr_estimate`), "ipw" (:func:`~cxlab.uplift.estimators.ratio_ipw_estimate`)
    or "matching" (nearest neighbours on the logit propensity, ties averaged, their counts as control weights,
    bias-corrected with the ratio model)."""
    if method == "dr":
        est = ratio_dr_estimate(y_post, y_pre, d, X, ps)
    elif method == "ipw":
        est = ratio_ipw_estimate(y_post, y_pre, d, X, ps)
    elif method == "matching":
        p = np.clip(ps.prob, 1e-15, 1 - 1e-15)
        lg = np.log(p / (1 - p))
        Z = (lg / lg.std())[:, None]
        t_idx, c_idx = np.flatnonzero(d), np.flatnonzero(~d)
        mt = find_matches(Z[t_idx], Z[c_idx], m=1, caliper=caliper_sd)
        K = np.zeros(len(d))
        np.add.at(K, c_idx[mt.j], mt.w)
        keep = np.ones(len(d), dtype=bool)
        keep[t_idx[~mt.matched]] = False
        est = ratio_dr_estimate(y_post[keep], y_pre[keep], d[keep], X[keep], ps, weights_control=K[keep])
        return _estimate(est.estimate, est.se, int(d[keep].sum()), int(np.sum(K > 0)), alpha,
                         n_unmatched=int((~mt.matched).sum()))
    else:
        raise ValueError(f"method must be 'dr', 'ipw' or 'matching', got {method!r}")
    return _estimate(est.estimate, est.se, int(d.sum()), int((~d).sum()), alpha)


@single_thread_blas()
def event_time_effects(
    data: PrePostData,
    propensity: PropensityModel | None = None,
    *,
    outcome: str = "spend",
    method: str = "dr",
    design: str = "proportional",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Effect by months since joining on the matched pre/post design (a stacked DiD).

    Every member is compared with controls at the *same calendar date* (their
    pseudo join date), so no already-treated customer ever serves as a control
    — the problem of two-way fixed effects with staggered adoption (Goodman-Bacon
    2021) does not arise; this is the stacked design of Cengiz et al. (2019)
    with doubly robust weights. For event time ``e`` the outcome is
    ``Y_{j+e}`` against the baseline ``mean(Y_pre)`` (proportional design: the
    members' baseline times the controls' growth to month ``j+e``; additive: the
    change in money); pre-join event times (``e < 0``) are placebo
    periods that should be ≈ 0 (they test the shape of the pre-period, not the
    level, which the design uses as baseline). Averaged over ``e = 0 … post − 1``
    the IPW effects equal the pre/post IPW estimate; the DR ones are close to it (the
    proportional design's ratio model is refitted for every month).

    Parameters
    ----------
    data : PrePostData
    propensity : PropensityModel, optional
        Fitted on ``data`` (refitted when not given). Later event times use the
        rows still observed, with that propensity.
    outcome : {"spend", "visits"}
    method : {"dr", "ipw"}
    design : {"proportional", "additive"}
        As :class:`PrePostDiD`; ``propensity`` must have been fitted on that design's columns.
    """
    if outcome not in ("spend", "visits"):
        raise ValueError("event-time effects are available for 'spend' and 'visits'")
    if method not in ("dr", "ipw"):
        raise ValueError("method must be 'dr' or 'ipw'")
    if data.event_times is None:
        raise ValueError("this PrePostData has no event-time outcomes")
    if design not in ("proportional", "additive"):
        raise ValueError(f"design must be 'proportional' or 'additive', got {design!r}")
    d = data.treated
    cols = data.history_columns if design == "proportional" else data.covariate_columns
    ps = propensity if propensity is not None else PropensityModel().fit(data.frame[cols], d)
    base = data.frame[f"{outcome}_pre"].to_numpy(dtype="float64")
    Y = data.event_revenue if outcome == "spend" else data.event_transactions
    rows = []
    for k, e in enumerate(data.event_times):
        y = Y[:, k]
        ok = np.isfinite(y)
        if ok.sum() < 10 or d[ok].sum() < 2 or (~d[ok]).sum() < 2:
            continue
        fit = LogitFit(ps.fit_.coef, ps.fit_.prob[ok], ps.fit_.vcov)
        if design == "proportional":
            est = proportional_did(y[ok], base[ok], d[ok], fit, ps.X_[ok], method=method, alpha=alpha)
        else:
            f = dr_did if method == "dr" else ipw_did
            est = f(y[ok] - base[ok], d[ok], fit, ps.X_[ok], alpha=alpha)
        rows.append({"event_time": int(e), **est})
    return pd.DataFrame(rows)
