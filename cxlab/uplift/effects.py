"""Cross-sectional treatment effects from a customer table: :func:`treatment_effect`.

One call from a frame with a treatment column, an outcome and covariates to
an estimate a researcher can defend: the estimate with its standard error and
interval, a balance table (standardised differences before and after the
adjustment), an overlap summary with the trimming rule that was applied, and a
sensitivity analysis to unobserved confounding.

Example (LaLonde's NSW treated against the CPS-1 comparison group, the
Dehejia–Wahba specification)::

    from cxlab.uplift import treatment_effect
    res = treatment_effect(df, treatment="treat", outcome="re78", covariates=COV, method="aipw")
    res.summary()
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cxlab._base import Result, Summary, to_builtin
from cxlab.uplift._utils import as_float_array, as_treatment, require_columns, smd, z_value
from cxlab.uplift.core import LogitFit, SeparationError, design_frame, fit_logit, fit_ols, trim_sample
from cxlab.uplift.estimators import Estimate, aipw_estimate, ipw_estimate, match_estimate, regression_estimate
from cxlab.uplift.sensitivity import OVBSensitivity, RosenbaumBounds, ovb_sensitivity, rosenbaum_bounds

__all__ = ["treatment_effect", "TreatmentEffect", "METHODS"]

#: method name → description; "dr" is accepted for "aipw", "ra" for "regression"
METHODS = {
    "regression": "regression adjustment (linear outcome model, OLS)",
    "ipw": "inverse-probability weighting (normalised / Hájek, logit propensity)",
    "aipw": "doubly robust AIPW (logit propensity + linear outcome model)",
    "matching": "nearest-neighbour matching with replacement, ties averaged (Abadie & Imbens)",
}
_ALIASES = {"dr": "aipw", "ra": "regression"}
_DISTANCES = ("mahalanobis", "inverse_variance", "propensity")


class TreatmentEffect(Result):
    """The result of :func:`treatment_effect`.

    Attributes
    ----------
    method, estimand : str
    estimate, se, ci_low, ci_high, pvalue : float
        The effect, its standard error (influence function; Abadie–Imbens for
        matching), the (1 − alpha) normal interval and the two-sided p-value.
    n_treated, n_control : int
        Rows used after trimming (and, for matching, within the caliper).
    balance : DataFrame
        Per covariate (design column): ``smd_before``, ``smd_after`` — standardised mean
        differences (treated − control), the denominator from the unweighted samples —
        and the means of both groups before and after.
    overlap : Series
        Propensity quantiles by group, shares outside the other group's range,
        effective sample size of the weighted controls and the rows dropped by trimming.
    trim_rule : str
        The overlap rule in words (also the first note).
    propensity : LogitFit or None
    sensitivity : OVBSensitivity or RosenbaumBounds
        How strong a hidden confounder would have to be (Cinelli & Hazlett RV for
        regression/IPW/AIPW, on the linear regression of the outcome on treatment and
        covariates; Rosenbaum bounds for matching).
    notes : list of str
    """

    def __init__(self, **kw: Any):
        self.__dict__.update(kw)

    @property
    def sensitivity_sentence(self) -> dict[str, str]:
        """The sensitivity result in plain words: ``{"en": ..., "ru": ...}``."""
        return {lang: self.sensitivity.sentence(lang) for lang in ("en", "ru")} if self.sensitivity is not None else {}

    def summary(self) -> Summary:
        head = pd.DataFrame({"estimate": [self.estimate], "se": [self.se], "ci_low": [self.ci_low],
                             "ci_high": [self.ci_high], "p": [self.pvalue], "n_treated": [self.n_treated],
                             "n_control": [self.n_control]}, index=[f"{self.estimand} ({self.method})"])
        tables = [("", head), ("Balance: standardised mean differences before / after", self.balance[["smd_before", "smd_after"]]),
                  ("Overlap", self.overlap.to_frame("value"))]
        notes = [METHODS[self.method] + ".", *self.notes]
        if self.sensitivity is not None:
            notes.append(self.sensitivity.sentence("en"))
        return Summary(f"Treatment effect of {self.treatment!r} on {self.outcome!r}", tables, notes)

    def to_dict(self) -> dict[str, Any]:
        keys = ("method", "estimand", "treatment", "outcome", "estimate", "se", "ci_low", "ci_high", "pvalue",
                "alpha", "n_treated", "n_control", "trim_rule", "notes")
        out = {k: getattr(self, k) for k in keys}
        out["balance"] = self.balance
        out["overlap"] = self.overlap
        out["sensitivity"] = self.sensitivity.to_dict() if self.sensitivity is not None else None
        return to_builtin(out)


def _matching_coordinates(X: np.ndarray, distance: str, ps: LogitFit | None) -> np.ndarray:
    if distance == "propensity":
        p = np.clip(ps.prob, 1e-15, 1 - 1e-15)
        lg = np.log(p / (1 - p))
        return (lg / lg.std())[:, None]
    Xc = X[:, 1:]
    if distance == "inverse_variance":
        return Xc / Xc.std(axis=0)
    S = np.cov(Xc, rowvar=False)
    try:
        L = np.linalg.cholesky(np.atleast_2d(S))
    except np.linalg.LinAlgError:
        raise ValueError("the covariates are collinear: the Mahalanobis metric does not exist; "
                         "use distance='inverse_variance' or drop redundant columns") from None
    return np.linalg.solve(L, (Xc - Xc.mean(axis=0)).T).T


def _balance(X: np.ndarray, names: list[str], d: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    rows = {}
    for k, name in enumerate(names[1:], start=1):
        x = X[:, k]
        wt, wc = weights[d], weights[~d]
        rows[name] = {
            "smd_before": smd(x, d), "smd_after": smd(x, d, w_control=wc, w_treated=wt),
            "mean_treated": float(x[d].mean()), "mean_control": float(x[~d].mean()),
            "mean_treated_after": float(np.average(x[d], weights=wt)) if wt.sum() > 0 else float("nan"),
            "mean_control_after": float(np.average(x[~d], weights=wc)) if wc.sum() > 0 else float("nan"),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def overlap_table(p: np.ndarray, d: np.ndarray) -> dict[str, float]:
    """Propensity quantiles by group and how much of each group lies outside the other's range."""
    pt, pc = p[d], p[~d]
    w = pc / (1 - pc)
    return {
        "treated_min": float(pt.min()), "treated_p01": float(np.quantile(pt, 0.01)), "treated_median": float(np.median(pt)),
        "treated_max": float(pt.max()),
        "control_min": float(pc.min()), "control_median": float(np.median(pc)), "control_p99": float(np.quantile(pc, 0.99)),
        "control_max": float(pc.max()),
        "share_treated_above_control_max": float(np.mean(pt > pc.max())),
        "share_control_below_treated_min": float(np.mean(pc < pt.min())),
        "control_effective_n_att_weights": float(w.sum() ** 2 / np.sum(w**2)),
    }


def treatment_effect(
    data: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    covariates,
    method: str = "aipw",
    estimand: str = "ATT",
    trim: str | float | None = None,
    n_neighbors: int = 1,
    distance: str = "inverse_variance",
    bias_correction: bool = True,
    caliper: float | None = None,
    variance_neighbors: int = 2,
    alpha: float = 0.05,
) -> TreatmentEffect:
    """Average treatment effect (on the treated) from a cross-sectional table.

    Parameters
    ----------
    data : DataFrame
        One row per unit.
    treatment : str
        0/1 or bool column.
    outcome : str
        Numeric column.
    covariates : list of str
        Pre-treatment columns (numbers, bool, or categories — one-hot encoded).
        Transformations (squares, indicators) are columns the caller adds.
    method : {"aipw", "regression", "ipw", "matching"}
        ``"dr"`` = ``"aipw"``, ``"ra"`` = ``"regression"``; see :data:`METHODS`.
    estimand : {"ATT", "ATE"}
    trim : None, "common_support", "crump" or float
        Overlap rule applied before estimating (see :func:`cxlab.uplift.core.trim_sample`);
        the propensity is refitted on the kept rows. Stated in ``overlap``.
    n_neighbors : int
        Matching: matches per unit (M).
    distance : {"mahalanobis", "inverse_variance", "propensity"}
        Matching metric on the covariates (or the logit propensity).
    bias_correction : bool
        Matching: Abadie–Imbens (2011) regression bias correction on the covariates.
    caliper : float, optional
        Matching: maximum distance (in the metric's units; for "propensity" in
        standard deviations of the logit propensity).
    variance_neighbors : int
        Matching: J of the Abadie–Imbens conditional-variance estimate.
    alpha : float
        1 − confidence level.

    Returns
    -------
    TreatmentEffect
    """
    method = _ALIASES.get(method, method)
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS) + sorted(_ALIASES)}, got {method!r}")
    if estimand not in ("ATT", "ATE"):
        raise ValueError(f"estimand must be 'ATT' or 'ATE', got {estimand!r}")
    if distance not in _DISTANCES:
        raise ValueError(f"distance must be one of {_DISTANCES}, got {distance!r}")
    if not (isinstance(n_neighbors, (int, np.integer)) and n_neighbors >= 1):
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
    if isinstance(covariates, str):
        covariates = [covariates]
    z = z_value(alpha)
    require_columns(data, [treatment, outcome, *covariates], "the data")
    y = as_float_array(data[outcome], outcome)
    d = as_treatment(data[treatment], treatment)
    X, names = design_frame(data, covariates)
    if d.sum() < 2 or (~d).sum() < 2:
        raise ValueError(f"column {treatment!r} needs at least two treated and two untreated rows")
    needs_ps = method in ("ipw", "aipw") or trim is not None or distance == "propensity" and method == "matching"
    ps = fit_logit(X, d, names=names, on_separation="raise" if needs_ps else "warn")
    notes = []
    keep, rule = trim_sample(ps.prob, d, trim, estimand=estimand)
    n_dropped_t, n_dropped_c = int((~keep & d).sum()), int((~keep & ~d).sum())
    if not keep.all():
        y, d, X = y[keep], d[keep], X[keep]
        if d.sum() < 2 or (~d).sum() < 2:
            raise ValueError(f"after trimming ({rule}) fewer than two treated or untreated rows are left")
        try:
            ps = fit_logit(X, d, names=names, on_separation="raise" if needs_ps else "warn")
        except SeparationError as exc:
            raise SeparationError(f"after trimming ({rule}; {n_dropped_t} treated and {n_dropped_c} control rows "
                                  f"dropped): {exc}") from None
        notes.append(f"Trimmed: {n_dropped_t} treated and {n_dropped_c} control rows; the propensity was refitted.")
    if method == "regression":
        est = regression_estimate(y, d, X, estimand=estimand)
    elif method == "ipw":
        est = ipw_estimate(y, d, X, ps, estimand=estimand)
    elif method == "aipw":
        est = aipw_estimate(y, d, X, ps, estimand=estimand)
    else:
        Z = _matching_coordinates(X, distance, ps)
        cal = caliper
        est = match_estimate(y, d, Z, estimand=estimand, m=int(n_neighbors), bias_X=X if bias_correction else None,
                             caliper=cal, variance_neighbors=variance_neighbors)
        if est.extra["n_unmatched"]:
            notes.append(f"{est.extra['n_unmatched']} unit(s) had no match within the caliper and are left out.")
    se = est.se
    tau = est.estimate
    pvalue = float(2 * stats.norm.sf(abs(tau / se))) if se > 0 else float("nan")
    balance = _balance(X, names, d, est.weights)
    ov = overlap_table(ps.prob, d)
    ov.update({"trimmed_treated": n_dropped_t, "trimmed_control": n_dropped_c,
               "rows_with_propensity_near_0_or_1": ps.n_pinned})
    notes.insert(0, f"Overlap rule: {rule}.")
    if method in ("ipw", "aipw") and ov["share_treated_above_control_max"] > 0:
        notes.append(f"{ov['share_treated_above_control_max']:.1%} of the treated have a propensity above every control's: "
                     "their counterfactual is extrapolated (consider trim='common_support').")
    if method == "regression":
        neg = float(np.mean(est.weights[~d] < 0))
        notes.append(f"Regression adjustment balances the covariate means exactly through implied weights; "
                     f"{neg:.0%} of the control weights are negative (extrapolation).")
    if method == "matching":
        diffs = est.extra["differences"]
        sens = rosenbaum_bounds(diffs if tau >= 0 else -diffs, alpha=alpha)
    else:
        sens = _ovb(y, d, X, alpha)
    n_t = int(d.sum()) if method != "matching" else int(np.sum(est.weights[d] > 0))
    n_c = int((~d).sum()) if method != "matching" else int(np.sum(est.weights[~d] > 0))
    return TreatmentEffect(
        method=method, estimand=estimand, treatment=treatment, outcome=outcome, estimate=tau, se=se,
        ci_low=tau - z * se, ci_high=tau + z * se, pvalue=pvalue, alpha=alpha, n_treated=n_t, n_control=n_c,
        balance=balance, overlap=pd.Series(ov, dtype="float64"), trim_rule=rule, propensity=ps, sensitivity=sens, notes=notes,
        influence=est.psi,
    )


def _ovb(y, d, X, alpha) -> OVBSensitivity:
    """Robustness value from the OLS of the outcome on the treatment and the covariates (classical SE)."""
    W = np.column_stack([X[:, :1], d.astype("float64"), X[:, 1:]])
    fit = fit_ols(W, y)
    n, k = W.shape
    dof = n - k
    sigma2 = fit.resid @ fit.resid / dof
    se = float(np.sqrt(sigma2 * fit.gram_inv[1, 1] / n))
    return ovb_sensitivity(float(fit.coef[1]), se, dof, alpha=alpha)
