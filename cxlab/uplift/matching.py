"""Propensity score, nearest-neighbour matching, ATT weights, balance and overlap.

* Propensity ``e(x) = P(member | pre-join behaviour x)`` by logistic regression
  (:func:`cxlab.uplift.core.fit_logit`: standardised design, step-controlled Newton,
  separation check; same numbers as ``statsmodels.Logit``).
* Matching: one control per member, nearest on the logit of the propensity,
  with replacement, within a caliper of 0.2 standard deviations of the logit
  (Austin 2011); members without a control inside the caliper are dropped and
  counted.
* Inverse-probability weights for the ATT: members weight 1, controls
  ``e/(1 − e)`` (Hirano, Imbens & Ridder 2003), normalised within group.
* Balance: standardized mean differences before and after adjustment
  (Austin 2009); the usual target is ``|SMD| < 0.1``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlab._base import Estimator, Result, Summary, to_builtin
from cxlab.uplift._utils import design_matrix, smd
from cxlab.uplift.core import LogitFit, fit_logit

__all__ = [
    "PropensityModel",
    "MatchResult",
    "nearest_neighbor_match",
    "att_weights",
    "balance_table",
    "overlap_summary",
    "plot_love",
    "plot_overlap",
]


class PropensityModel(Estimator):
    """Logistic propensity score of membership on pre-join covariates.

    Parameters
    ----------
    trim : float
        Propensities are clipped to ``[trim, 1 − trim]`` before being used as
        weights (guards against division by ~0; reported in the overlap check).

    Attributes
    ----------
    X_ : ndarray
        Design matrix (intercept first), ``names_`` its column names.
    fit_ : LogitFit
        Coefficients, fitted probabilities and inverse information matrix.
    propensity_ : ndarray
    logit_ : ndarray
    """

    def __init__(self, trim: float = 1e-6):
        self.trim = trim

    def fit(self, covariates: pd.DataFrame, treated: np.ndarray) -> "PropensityModel":
        X, names = design_matrix(covariates)
        fit = fit_logit(X, np.asarray(treated, dtype=bool), names=names)
        self.X_, self.names_, self.fit_ = X, names, fit
        self.propensity_ = np.clip(fit.prob, self.trim, 1 - self.trim)
        self.logit_ = np.log(self.propensity_ / (1 - self.propensity_))
        self.treated_ = np.asarray(treated, dtype=bool)
        return self

    @property
    def coef_(self) -> pd.Series:
        self._check_fitted()
        return pd.Series(self.fit_.coef, index=self.names_)


def att_weights(propensity: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """ATT weights: 1 for the treated, e/(1 − e) for controls (not normalised)."""
    treated = np.asarray(treated, dtype=bool)
    return np.where(treated, 1.0, propensity / (1 - propensity))


@dataclass
class MatchResult:
    """Nearest-neighbour matches: ``treated_index`` and ``control_index`` (row
    positions, one pair per matched member), the control usage counts
    ``control_weight`` (for balance), and how many members found no match."""

    treated_index: np.ndarray
    control_index: np.ndarray
    control_weight: np.ndarray
    n_unmatched: int
    caliper: float


def nearest_neighbor_match(logit: np.ndarray, treated: np.ndarray, *, caliper_sd: float = 0.2) -> MatchResult:
    """1:1 nearest-neighbour matching on the logit propensity, with replacement.

    Sorting the controls once makes this O(n log n): each member's nearest control
    is one of the two neighbours of its position in the sorted list.
    """
    treated = np.asarray(treated, dtype=bool)
    t_idx = np.flatnonzero(treated)
    c_idx = np.flatnonzero(~treated)
    if len(c_idx) == 0 or len(t_idx) == 0:
        raise ValueError("matching needs both members and non-members")
    caliper = caliper_sd * float(np.std(logit, ddof=1)) if caliper_sd is not None else np.inf
    order = np.argsort(logit[c_idx], kind="stable")
    sorted_c = logit[c_idx][order]
    pos = np.searchsorted(sorted_c, logit[t_idx])
    left = np.clip(pos - 1, 0, len(sorted_c) - 1)
    right = np.clip(pos, 0, len(sorted_c) - 1)
    dl = np.abs(logit[t_idx] - sorted_c[left])
    dr = np.abs(logit[t_idx] - sorted_c[right])
    best = np.where(dr < dl, right, left)
    dist = np.minimum(dl, dr)
    ok = dist <= caliper
    controls = c_idx[order[best[ok]]]
    weight = np.zeros(len(logit))
    np.add.at(weight, controls, 1.0)
    return MatchResult(treated_index=t_idx[ok], control_index=controls, control_weight=weight, n_unmatched=int((~ok).sum()), caliper=caliper)


class BalanceResult(Result):
    """Balance table: |SMD| per covariate before and after adjustment."""

    def __init__(self, table: pd.DataFrame, threshold: float):
        self.table = table
        self.threshold = threshold

    @property
    def balanced(self) -> pd.Series:
        """Per adjusted column: True when every covariate has |SMD| below the threshold."""
        cols = [c for c in self.table.columns if c != "unadjusted"]
        return (self.table[cols].abs() < self.threshold).all()

    def summary(self) -> Summary:
        return Summary(
            "Covariate balance (standardized mean differences, members − non-members)",
            [("", self.table)],
            [f"Target |SMD| < {self.threshold}. Balanced after adjustment: "
             + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in self.balanced.items())],
        )

    def to_dict(self):
        return to_builtin({"table": self.table, "threshold": self.threshold, "balanced": self.balanced})


def balance_table(
    covariates: pd.DataFrame,
    treated: np.ndarray,
    *,
    ipw: np.ndarray | None = None,
    match: MatchResult | None = None,
    threshold: float = 0.1,
    design: tuple[np.ndarray, list[str]] | None = None,
) -> BalanceResult:
    """SMD of each (one-hot encoded) covariate: unadjusted, IPW-weighted, matched.

    ``design``: ``design_matrix(covariates)`` when already built (a fitted
    :class:`PropensityModel`'s ``(X_, names_)``), so it is not built twice.
    """
    X, names = design if design is not None else design_matrix(covariates)
    treated = np.asarray(treated, dtype=bool)
    rows = {}
    for k, name in enumerate(names[1:], start=1):
        x = X[:, k]
        row = {"unadjusted": smd(x, treated)}
        if ipw is not None:
            row["ipw"] = smd(x, treated, w_control=ipw[~treated])
        if match is not None:
            wt = np.zeros(len(x))
            wt[match.treated_index] = 1.0
            row["matched"] = smd(x, treated, w_control=match.control_weight[~treated], w_treated=wt[treated])
        rows[name] = row
    return BalanceResult(pd.DataFrame.from_dict(rows, orient="index"), threshold)


def overlap_summary(propensity: np.ndarray, treated: np.ndarray) -> pd.Series:
    """Common-support check: share of members above the largest control propensity,
    the propensity quantiles in each group, and the effective sample size of the
    weighted controls (Kish), which collapses when overlap is poor."""
    treated = np.asarray(treated, dtype=bool)
    pt, pc = propensity[treated], propensity[~treated]
    w = pc / (1 - pc)
    return pd.Series(
        {
            "members": int(treated.sum()),
            "non_members": int((~treated).sum()),
            "share_members_outside_control_range": float(np.mean(pt > pc.max())),
            "members_p01": float(np.quantile(pt, 0.01)),
            "members_p99": float(np.quantile(pt, 0.99)),
            "non_members_p01": float(np.quantile(pc, 0.01)),
            "non_members_p99": float(np.quantile(pc, 0.99)),
            "max_propensity": float(propensity.max()),
            "control_effective_n": float(w.sum() ** 2 / np.sum(w**2)),
        }
    )


def plot_love(data, *, threshold: float = 0.1, ax=None):
    """Love plot: |SMD| per covariate, before and after adjustment (Ahmed et al. 2006)."""
    import matplotlib.pyplot as plt

    table = data.table if isinstance(data, BalanceResult) else data
    if not isinstance(table, pd.DataFrame) or "unadjusted" not in table.columns:
        raise ValueError("plot_love needs a BalanceResult or a DataFrame with an 'unadjusted' column")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(table) + 1.2))
    y = np.arange(len(table))
    markers = {"unadjusted": "o", "ipw": "s", "matched": "^"}
    for i, col in enumerate(table.columns):
        ax.scatter(table[col].abs().to_numpy(float), y, marker=markers.get(col, "o"), label=col, color=f"C{i}", zorder=3)
    ax.axvline(threshold, color="0.4", ls="--", lw=1)
    ax.set_yticks(y, table.index)
    ax.set_xlabel("|standardized mean difference|")
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_overlap(propensity: np.ndarray, treated: np.ndarray, *, ax=None, bins: int = 40):
    """Histograms of the propensity score for members and non-members (density)."""
    import matplotlib.pyplot as plt

    treated = np.asarray(treated, dtype=bool)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    edges = np.linspace(0, 1, bins + 1)
    ax.hist(propensity[~treated], bins=edges, density=True, alpha=0.5, label="non-members")
    ax.hist(propensity[treated], bins=edges, density=True, alpha=0.5, label="members")
    ax.set_xlabel("propensity score")
    ax.set_ylabel("density")
    ax.legend(frameon=False, fontsize=8)
    return ax
