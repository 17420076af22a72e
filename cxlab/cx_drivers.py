"""CX drivers and the money value of CX by touchpoint.

Built on the surveys' attribute ratings (``rating_<attribute>`` on the
contract's 1..5 scale, :data:`cxlab.data.contract.RATING_SCALE`) and on the
link between NPS groups and behaviour measured by
:func:`cxlab.survey.nps_behaviour`:

* :func:`touchpoint_metrics` -- NPS, CSAT and CES by touchpoint and journey
  stage (:func:`cxlab.survey.survey_metrics`).
* :func:`key_drivers` -- which attributes drive the recommendation answer:
  the Shapley decomposition of R² (LMG; Lindeman, Merenda & Gold 1980;
  Grömping 2007), or Johnson's (2000) relative weights when there are many
  attributes, with customer-cluster bootstrap intervals.
* :func:`csi_index` -- a customer satisfaction index: the attributes' mean
  ratings on a 0..100 scale, weighted by their derived importance.
* :func:`detractor_shift_value` -- the money value of moving a share of the
  detractors at each touchpoint to passives or promoters, with intervals
  propagated from the measured churn of each NPS group.

Definitions
-----------
Key-driver regression
    The answer ``nps`` (0..10) regressed by least squares on the attribute
    ratings of the same answer. ``R²(S)`` is the R² of the regression on a
    subset ``S`` of the attributes, computed from the correlation matrix:
    ``R²(S) = r_yS' R_SS⁻¹ r_yS``.
Shapley importance (LMG)
    ``I_j = Σ_{S ⊆ A∖{j}} |S|! (K-|S|-1)! / K! · (R²(S ∪ {j}) - R²(S))`` -- the
    increase in R² from adding attribute *j*, averaged over every order in
    which the *K* attributes can enter. The ``I_j`` are non-negative and sum
    to the full R²; ``share_j = I_j / R²``. Equal to the "general dominance"
    of Azen & Budescu (2003), the mean over model sizes ``k`` of the average
    increase at size ``k`` (:func:`shapley_r2` returns those levels too).
Relative weights (Johnson 2000)
    With ``R_xx = Q Λ Q'`` and the symmetric root ``Λ* = Q Λ^{1/2} Q'`` (the
    correlations of the attributes with their closest orthogonal
    counterparts), ``β* = Λ*⁻¹ r_xy`` and ``ε_j = Σ_k Λ*_jk² β*_k²``; the
    ``ε_j`` sum to R². They are close to the Shapley values and cost one
    eigen-decomposition instead of ``2^K`` regressions.
CSI
    ``CSI = 100 · Σ_j w_j (mean_j - lo) / (hi - lo)`` with the rating scale
    ``[lo, hi] = [1, 5]`` and the weights ``w_j = share_j`` (derived
    importance, summing to 1): 0 = every attribute rated worst, 100 = best.
Money value of moving detractors
    At touchpoint *t*, ``k_t`` = active (not churned) detractors whose
    group-defining answer (the first, as in :func:`cxlab.survey.nps_behaviour`)
    was given there. Moving a share ``s`` of them to group *g* is worth over
    the study's horizon ``h``:
    ``V_t = s · k_t · a_D · (F_D(h) - F_g(h)) · m`` where ``a_D`` is the
    annual revenue per active detractor, ``F`` the Kaplan-Meier churn
    probabilities of the groups and ``m`` the study's margin rate. The
    interval propagates the Greenwood standard errors of ``F_D`` and ``F_g``
    (independent groups), as the revenue at stake of
    :func:`cxlab.survey.nps_behaviour` does.  It assumes a moved detractor
    churns like the group it is moved to -- a correlation read as an effect,
    an upper bound when unhappy customers differ in other ways.

References
----------
* Lindeman, R. H., Merenda, P. F. & Gold, R. Z. (1980). *Introduction to
  Bivariate and Multivariate Analysis*. Scott, Foresman.
* Budescu, D. V. (1993). Dominance analysis: a new approach to the problem of
  relative importance of predictors in multiple regression. *Psychological
  Bulletin* 114(3), 542-551.
* Johnson, J. W. (2000). A heuristic method for estimating the relative
  weight of predictor variables in multiple regression. *Multivariate
  Behavioral Research* 35(1), 1-19.
* Azen, R. & Budescu, D. V. (2003). The dominance analysis approach for
  comparing predictors in multiple regression. *Psychological Methods* 8(2),
  129-148.
* Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*.
  Chapman & Hall (ch. 10, bias correction; ch. 13, percentile intervals).
* Grömping, U. (2007). Estimators of relative importance in linear regression
  based on variance decomposition. *The American Statistician* 61(2), 139-147.
* Fornell, C. (1992). A national customer satisfaction barometer: the Swedish
  experience. *Journal of Marketing* 56(1), 6-21 (satisfaction indices from
  weighted attribute ratings).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import Any, Sequence

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin
from cxlab.data.contract import RATING_PREFIX, RATING_SCALE
from cxlab.survey import _z, customer_nps_groups, survey_metrics, validate_surveys

__all__ = [
    "MAX_SHAPLEY_ATTRIBUTES",
    "rating_columns",
    "touchpoint_metrics",
    "shapley_r2",
    "relative_weights",
    "KeyDrivers",
    "key_drivers",
    "CSIndex",
    "csi_index",
    "DetractorShiftValue",
    "detractor_shift_value",
]

#: Above this many attributes the 2^K regressions of the Shapley decomposition are too many; use relative weights.
MAX_SHAPLEY_ATTRIBUTES = 12


def rating_columns(surveys: pd.DataFrame) -> list[str]:
    """The attribute-rating columns (``rating_<attribute>``) of a surveys table, sorted."""
    return sorted(c for c in surveys.columns if isinstance(c, str) and c.startswith(RATING_PREFIX)
                  and len(c) > len(RATING_PREFIX))


def touchpoint_metrics(surveys: pd.DataFrame, by: str | Sequence[str] = "touchpoint", *,
                       conf_level: float = 0.95, nps_method: str = "wald"):
    """NPS, CSAT and CES by touchpoint and / or journey stage.

    A thin call of :func:`cxlab.survey.survey_metrics` with ``by`` naming
    surveys columns (``"touchpoint"``, ``"journey_stage"`` or both); answers
    without a label form their own ``(missing)`` cell.
    """
    keys = [by] if isinstance(by, str) else list(by)
    absent = [k for k in keys if k not in surveys.columns]
    if absent:
        raise ValueError(f"the surveys table has no column(s) {absent}")
    return survey_metrics(surveys, by=keys, conf_level=conf_level, nps_method=nps_method)


# --------------------------------------------------------------------------- importance of correlated predictors
def _subset_r2(cov: np.ndarray) -> np.ndarray:
    """R² of the regression of variable 0 on every subset of variables 1..K, indexed by bitmask.

    ``cov`` may be a stack ``(..., K+1, K+1)`` (e.g. bootstrap draws): each subset is one batched solve.
    """
    corr = _as_correlation(cov)
    k = corr.shape[-1] - 1
    rxx, rxy = corr[..., 1:, 1:], corr[..., 1:, 0]
    r2 = np.zeros(corr.shape[:-2] + (1 << k,))
    for mask in range(1, 1 << k):
        idx = [j for j in range(k) if mask >> j & 1]
        r = rxy[..., idx]
        sub = rxx[..., idx, :][..., :, idx]
        try:
            coef = np.linalg.solve(sub, r[..., None])[..., 0]
        except np.linalg.LinAlgError:  # perfectly collinear ratings: the pseudo-inverse gives the same fit
            coef = (np.linalg.pinv(sub) @ r[..., None])[..., 0]
        r2[..., mask] = (r * coef).sum(axis=-1)
    return r2


@lru_cache(maxsize=None)
def _shapley_plan(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every (predictor j, subset S of the others): masks of S and of S + j, and the averaging matrix.

    ``gains @ average`` gives the ``K x K`` levels (flattened): the mean gain of j over the
    ``C(K-1, |S|)`` subsets of each size.
    """
    without, with_, cells = [], [], []
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            for s in combinations(others, size):
                without.append(_mask(s)), with_.append(_mask(s) | 1 << j), cells.append((size, j))
    average = np.zeros((len(cells), k * k))
    for row, (size, j) in enumerate(cells):
        average[row, size * k + j] = 1.0 / math.comb(k - 1, size)
    return np.array(without), np.array(with_), average


def shapley_r2(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shapley decomposition of R² (LMG / general dominance) from a correlation matrix.

    Parameters
    ----------
    corr : (K+1, K+1) array, or a stack (..., K+1, K+1)
        Correlation (or covariance) matrix of the outcome (first) and the K
        predictors.

    Returns
    -------
    importance : (..., K) array
        ``I_j`` (see the module docstring), summing to the full R².
    levels : (..., K, K) array
        ``levels[k, j]``: the average increase in R² from adding predictor *j*
        to a model with ``k`` other predictors (Azen & Budescu 2003, "average
        contribution by level"); ``importance = levels.mean(axis=-2)``.
    """
    corr = np.asarray(corr, dtype=float)
    k = corr.shape[-1] - 1
    r2 = _subset_r2(corr)
    without, with_, average = _shapley_plan(k)
    levels = ((r2[..., with_] - r2[..., without]) @ average).reshape(corr.shape[:-2] + (k, k))
    return levels.mean(axis=-2), levels


def relative_weights(corr: np.ndarray) -> np.ndarray:
    """Johnson's (2000) relative weights ``ε_j`` (summing to R²) from a correlation matrix."""
    corr = _as_correlation(corr)
    rxx, rxy = corr[1:, 1:], corr[1:, 0]
    values, vectors = np.linalg.eigh(rxx)
    values = np.clip(values, 0.0, None)
    root = vectors @ np.diag(np.sqrt(values)) @ vectors.T          # Λ*: attributes on their orthogonal twins
    beta = np.linalg.lstsq(root, rxy, rcond=None)[0]                # outcome on the orthogonal twins
    return (root ** 2) @ (beta ** 2)


def _mask(indices: Sequence[int]) -> int:
    m = 0
    for i in indices:
        m |= 1 << i
    return m


def _as_correlation(matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=float)
    if m.ndim < 2 or m.shape[-1] != m.shape[-2] or m.shape[-1] < 2:
        raise ValueError(f"need a square (K+1)x(K+1) matrix with K >= 1, got shape {m.shape}")
    sd = np.sqrt(np.diagonal(m, axis1=-2, axis2=-1))
    if not np.all(np.isfinite(sd)) or np.any(sd <= 0):
        raise ValueError("every variable needs a positive variance (a constant rating explains nothing)")
    return m / (sd[..., :, None] * sd[..., None, :])


def _importance(cov: np.ndarray, method: str) -> np.ndarray:
    """Importances from one covariance matrix or a stack of them."""
    if method == "shapley":
        return shapley_r2(cov)[0]
    cov = np.asarray(cov, dtype=float)
    if cov.ndim == 2:
        return relative_weights(cov)
    return np.array([relative_weights(c) for c in cov])


def _weighted_cov(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Covariance matrices of the columns of ``x`` under each row-weight vector of ``w`` (bootstrap counts)."""
    w = np.atleast_2d(w)
    total = w.sum(axis=1)
    mean = (w @ x) / total[:, None]
    second = np.einsum("bn,ni,nj->bij", w, x, x) / total[:, None, None]
    return second - mean[:, :, None] * mean[:, None, :]


# --------------------------------------------------------------------------- key drivers
@dataclass
class KeyDrivers(Result):
    """Importance of the attributes for the recommendation answer, overall or by cell.

    Attributes
    ----------
    table : DataFrame
        One row per (cell and) attribute: ``attribute`` (without the
        ``rating_`` prefix), ``importance`` (its part of R²) with
        ``ci_low``/``ci_high``, ``share`` (of R², summing to 1) with
        ``share_low``/``share_high``, ``mean_rating`` and ``rank``.
    fit : DataFrame
        Per cell: ``n`` answers used, ``customers``, ``r2`` with its interval.
    """

    table: pd.DataFrame
    fit: pd.DataFrame
    outcome: str
    method: str
    by: str | None
    n_boot: int
    conf_level: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> Summary:
        cols = ["attribute", "importance", "ci_low", "ci_high", "share", "share_low", "share_high", "mean_rating"]
        keys = [self.by] if self.by else []
        name = "Shapley decomposition of R² (LMG)" if self.method == "shapley" else "Relative weights (Johnson 2000)"
        return Summary(f"Key drivers of {self.outcome}: {name}",
                       [("Importance", self.table.set_index(keys + ["attribute"])[cols[1:]]),
                        ("Fit", self.fit.set_index(keys) if keys else self.fit)],
                       list(self.notes) + [f"{self.conf_level:.0%} intervals: customer bootstrap, {self.n_boot} draws "
                                           "(percentile, shifted by the bootstrap bias)."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"outcome": self.outcome, "method": self.method, "by": self.by, "n_boot": self.n_boot,
                           "conf_level": self.conf_level, "table": self.table.to_dict(orient="records"),
                           "fit": self.fit.to_dict(orient="records"), "notes": self.notes})


def _complete_answers(surveys: pd.DataFrame, outcome: str, attributes: list[str],
                      notes: list[str]) -> pd.DataFrame:
    df = validate_surveys(surveys)
    if outcome not in df.columns:
        raise ValueError(f"the surveys table has no outcome column {outcome!r}")
    missing = df[[outcome, *attributes]].isna().any(axis=1)
    if missing.any():
        notes.append(f"{int(missing.sum())} answer(s) without the outcome or one of the ratings were left out.")
    return df[~missing].reset_index(drop=True)


def _attributes(surveys: pd.DataFrame, attributes: Sequence[str] | None) -> list[str]:
    found = rating_columns(surveys)
    if attributes is None:
        if not found:
            raise ValueError(f"the surveys table has no attribute ratings (columns {RATING_PREFIX}<attribute>)")
        return found
    names = [a if a.startswith(RATING_PREFIX) else RATING_PREFIX + a for a in attributes]
    absent = [a for a in names if a not in surveys.columns]
    if absent:
        raise ValueError(f"rating column(s) {absent} are not in the surveys table; it has {found}")
    return names


def _bias_corrected_interval(boot: np.ndarray, point: np.ndarray, alpha: float, lo: float, hi: float) -> np.ndarray:
    """(2, K) percentile interval shifted by the bootstrap estimate of bias, ``mean(boot) - point``.

    A sample R² (and so each of its Shapley parts) is biased upwards by about K/n, and so is every
    bootstrap R² around it: plain percentile intervals sit too high and under-cover. Shifting them by
    the bootstrap bias (Efron & Tibshirani 1993, ch. 10) removes most of it. Clipped to ``[lo, hi]``.
    """
    bias = boot.mean(axis=0) - point
    bounds = np.quantile(boot, [alpha, 1 - alpha], axis=0) - bias
    return np.clip(bounds, lo, hi)


def _cluster_weights(customers: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_answers) bootstrap weights: customers drawn with replacement, all their answers kept."""
    codes, n_customers = pd.factorize(customers)[0], len(np.unique(customers))
    draws = rng.multinomial(n_customers, np.full(n_customers, 1.0 / n_customers), size=n_boot)
    return draws[:, codes].astype(float)


def key_drivers(
    surveys: pd.DataFrame,
    attributes: Sequence[str] | None = None,
    *,
    outcome: str = "nps",
    by: str | None = None,
    method: str = "shapley",
    n_boot: int = 300,
    conf_level: float = 0.95,
    min_answers: int = 50,
    seed: int | None = 0,
) -> KeyDrivers:
    """Key-driver analysis: how much of the outcome each attribute rating explains.

    Parameters
    ----------
    surveys : DataFrame
        Contract surveys table with attribute ratings ``rating_<attribute>``.
    attributes : list of str, optional
        Rating columns (with or without the ``rating_`` prefix); default all.
    outcome : str
        The answer explained: ``"nps"`` (0..10, default) or ``"csat"``.
    by : str, optional
        A surveys column (``touchpoint``, ``journey_stage``): one analysis per
        cell with at least ``min_answers`` complete answers.
    method : {"shapley", "relative_weights"}
        Shapley decomposition of R² (exact, up to
        :data:`MAX_SHAPLEY_ATTRIBUTES` attributes) or Johnson's relative
        weights (see the module docstring).
    n_boot : int
        Bootstrap draws for the intervals. Customers are drawn with
        replacement and keep all their answers, since one customer's answers
        are not independent; percentile intervals are shifted by the
        bootstrap estimate of bias (a sample R² is biased upwards).
    conf_level : float
        Level of the percentile intervals.
    min_answers : int
        Cells with fewer complete answers are left out (named in ``notes``).
    seed : int or None
        Seed of the bootstrap.

    Returns
    -------
    KeyDrivers
    """
    if method not in ("shapley", "relative_weights"):
        raise ValueError(f"method must be 'shapley' or 'relative_weights', got {method!r}")
    if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 20):
        raise ValueError(f"n_boot must be an integer of at least 20, got {n_boot!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level!r}")
    names = _attributes(surveys, attributes)
    if method == "shapley" and len(names) > MAX_SHAPLEY_ATTRIBUTES:
        raise ValueError(f"{len(names)} attributes need 2^{len(names)} regressions each; use "
                         f"method='relative_weights' (Shapley is exact up to {MAX_SHAPLEY_ATTRIBUTES})")
    if by is not None and by not in surveys.columns:
        raise ValueError(f"the surveys table has no column {by!r}")
    notes: list[str] = []
    df = _complete_answers(surveys, outcome, names, notes)
    rng = np.random.default_rng(seed)
    alpha = (1 - conf_level) / 2
    cells = [(None, df)] if by is None else [
        (level, sub) for level, sub in df.assign(**{by: df[by].astype(object).where(df[by].notna(), "(missing)")})
        .groupby(by, sort=True, observed=True)]
    rows, fits, skipped = [], [], []
    for level, sub in cells:
        if len(sub) < max(min_answers, len(names) + 2):
            skipped.append(str(level))
            continue
        x = sub[[outcome, *names]].to_numpy(float)
        constant = [n for n, sd in zip(names, x[:, 1:].std(axis=0)) if sd == 0]
        if constant or x[:, 0].std() == 0:
            skipped.append(str(level))
            notes.append(f"{'overall' if level is None else level}: {constant or [outcome]} never vary; no analysis.")
            continue
        point = _importance(np.cov(x, rowvar=False), method)
        boot = _importance(_weighted_cov(x, _cluster_weights(sub["customer_id"].to_numpy(), n_boot, rng)), method)
        r2_boot = boot.sum(axis=1)
        share_boot = boot / r2_boot[:, None]
        r2 = float(point.sum())
        share = point / r2 if r2 > 0 else np.full(len(names), math.nan)
        r2_ci = _bias_corrected_interval(r2_boot[:, None], np.array([r2]), alpha, 0.0, 1.0)
        imp_ci = _bias_corrected_interval(boot, point, alpha, 0.0, 1.0)
        share_ci = _bias_corrected_interval(share_boot, share, alpha, 0.0, 1.0)
        cell = {} if by is None else {by: level}
        fits.append(cell | {"n": len(sub), "customers": int(sub["customer_id"].nunique()), "r2": r2,
                            "ci_low": float(r2_ci[0, 0]), "ci_high": float(r2_ci[1, 0])})
        order = np.argsort(-point)
        rank = np.empty(len(names), dtype=int)
        rank[order] = np.arange(1, len(names) + 1)
        for j, name in enumerate(names):
            rows.append(cell | {
                "attribute": name[len(RATING_PREFIX):], "importance": float(point[j]),
                "ci_low": float(imp_ci[0, j]), "ci_high": float(imp_ci[1, j]),
                "share": float(share[j]), "share_low": float(share_ci[0, j]), "share_high": float(share_ci[1, j]),
                "mean_rating": float(sub[name].mean()), "rank": int(rank[j]),
            })
    if skipped:
        notes.append(f"cells with fewer than {min_answers} complete answers (or without variation) were left out: "
                     + ", ".join(skipped) + ".")
    keys = [] if by is None else [by]
    table = pd.DataFrame(rows, columns=[*keys, "attribute", "importance", "ci_low", "ci_high", "share", "share_low",
                                        "share_high", "mean_rating", "rank"])
    fit = pd.DataFrame(fits, columns=[*keys, "n", "customers", "r2", "ci_low", "ci_high"])
    return KeyDrivers(table, fit, outcome, method, by, int(n_boot), conf_level, notes)


# --------------------------------------------------------------------------- CSI
@dataclass
class CSIndex(Result):
    """Customer satisfaction index from attribute ratings and derived importance weights.

    Attributes
    ----------
    csi, ci_low, ci_high : float
        Overall index (0..100) and its bootstrap interval.
    weights : DataFrame
        ``attribute``, ``weight`` (derived importance share, summing to 1),
        ``mean_rating``, ``score`` (the mean on 0..100).
    by_cell : DataFrame or None
        Per cell of ``by``: ``n``, ``csi``, ``ci_low``, ``ci_high`` (the
        overall weights applied to the cell's mean ratings).
    """

    csi: float
    ci_low: float
    ci_high: float
    n: int
    weights: pd.DataFrame
    by_cell: pd.DataFrame | None
    by: str | None
    scale: tuple[int, int]
    conf_level: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> Summary:
        tables = [("", pd.DataFrame([{"n": self.n, "csi": self.csi, "ci_low": self.ci_low, "ci_high": self.ci_high}])),
                  ("Weights (derived importance) and scores", self.weights.set_index("attribute"))]
        if self.by_cell is not None:
            tables.append((f"CSI by {self.by}", self.by_cell.set_index(self.by)))
        return Summary("Customer satisfaction index (0..100)", tables, list(self.notes) + [
            f"CSI = 100 x sum of weight x (mean rating - {self.scale[0]}) / {self.scale[1] - self.scale[0]}; "
            "weights = Shapley shares of the recommendation answer's R²."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"csi": self.csi, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n,
                           "weights": self.weights.to_dict(orient="records"), "by": self.by,
                           "by_cell": None if self.by_cell is None else self.by_cell.to_dict(orient="records"),
                           "scale": list(self.scale), "conf_level": self.conf_level, "notes": self.notes})


def csi_index(
    surveys: pd.DataFrame,
    attributes: Sequence[str] | None = None,
    *,
    outcome: str = "nps",
    by: str | None = None,
    method: str = "shapley",
    n_boot: int = 300,
    conf_level: float = 0.95,
    min_answers: int = 30,
    seed: int | None = 0,
) -> CSIndex:
    """Customer satisfaction index: importance-weighted attribute ratings on 0..100.

    The weights are derived, not asked: each attribute's share of the R² of
    ``outcome`` (:func:`key_drivers`). The interval re-derives the weights
    and the means in every bootstrap draw (customers resampled), so it
    carries the uncertainty of both. Cells of ``by`` use the overall weights,
    so their indices are comparable.
    """
    names = _attributes(surveys, attributes)
    if method == "shapley" and len(names) > MAX_SHAPLEY_ATTRIBUTES:
        method = "relative_weights"
    if by is not None and by not in surveys.columns:
        raise ValueError(f"the surveys table has no column {by!r}")
    notes: list[str] = []
    df = _complete_answers(surveys, outcome, names, notes)
    if len(df) < len(names) + 2:
        raise ValueError(f"only {len(df)} complete answer(s): too few to derive {len(names)} weights")
    lo, hi = RATING_SCALE
    x = df[[outcome, *names]].to_numpy(float)
    ratings = (x[:, 1:] - lo) / (hi - lo) * 100

    def weights_of(cov: np.ndarray) -> np.ndarray:
        imp = _importance(cov, method)
        return imp / imp.sum(axis=-1, keepdims=True)

    cells = None if by is None else df[by].astype(object).where(df[by].notna(), "(missing)").astype(str).to_numpy()
    levels = [] if cells is None else [lv for lv in sorted(set(cells)) if (cells == lv).sum() >= min_answers]

    def indices(w_rows: np.ndarray, w: np.ndarray) -> list[float]:
        means = [(w_rows @ ratings) / w_rows.sum()]
        for lv in levels:
            m = (cells == lv) * w_rows
            means.append((m @ ratings) / m.sum() if m.sum() > 0 else np.full(len(names), np.nan))
        return [float(mu @ w) for mu in means]

    ones = np.ones(len(df))
    w_point = weights_of(np.cov(x, rowvar=False))
    point = indices(ones, w_point)
    draws = _cluster_weights(df["customer_id"].to_numpy(), n_boot, np.random.default_rng(seed))
    boot = np.array([indices(wr, w) for wr, w in zip(draws, weights_of(_weighted_cov(x, draws)))])
    alpha = (1 - conf_level) / 2
    low, high = np.nanquantile(boot, alpha, axis=0), np.nanquantile(boot, 1 - alpha, axis=0)
    weights = pd.DataFrame({"attribute": [n[len(RATING_PREFIX):] for n in names], "weight": w_point,
                            "mean_rating": x[:, 1:].mean(axis=0), "score": ratings.mean(axis=0)})
    by_cell = None
    if by is not None:
        by_cell = pd.DataFrame({by: levels, "n": [int((cells == lv).sum()) for lv in levels], "csi": point[1:],
                                "ci_low": low[1:], "ci_high": high[1:]})
        small = sorted(set(cells) - set(levels))
        if small:
            notes.append(f"cells with fewer than {min_answers} answers are not shown: {', '.join(small)}.")
    return CSIndex(point[0], float(low[0]), float(high[0]), len(df), weights, by_cell, by, RATING_SCALE,
                   conf_level, notes)


# --------------------------------------------------------------------------- money value of moving detractors
@dataclass
class DetractorShiftValue(Result):
    """Money value of moving a share of each touchpoint's detractors to another NPS group.

    Attributes
    ----------
    table : DataFrame
        Per touchpoint (and a ``total`` row last): ``active_detractors``,
        ``moved`` (= share x active detractors), ``value`` over the horizon
        with ``ci_low``/``ci_high``.
    inputs : dict
        ``annual_revenue_per_detractor``, the churn probabilities over the
        horizon of detractors and of the target group with their standard
        errors, ``margin_rate``.
    """

    table: pd.DataFrame
    inputs: dict[str, float]
    share: float
    to: str
    by: str
    horizon: float
    unit: str
    conf_level: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> Summary:
        return Summary(f"Value of moving {self.share:.0%} of detractors to {self.to}s, by {self.by}",
                       [("", self.table.set_index(self.by)), ("Inputs", pd.DataFrame([self.inputs]))],
                       list(self.notes) + [f"Over {self.horizon:g} {self.unit}; margin, not revenue. An association "
                                           "read as an effect: moved detractors are assumed to churn like "
                                           f"{self.to}s."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"table": self.table.to_dict(orient="records"), "inputs": self.inputs,
                           "share": self.share, "to": self.to, "by": self.by, "horizon": self.horizon,
                           "unit": self.unit, "conf_level": self.conf_level, "notes": self.notes})


def detractor_shift_value(
    surveys: pd.DataFrame,
    behaviour,
    *,
    share: float = 0.1,
    to: str = "passive",
    by: str = "touchpoint",
    margin_rate: float = 1.0,
) -> DetractorShiftValue:
    """What moving a share of the detractors at each touchpoint is worth, with intervals.

    Parameters
    ----------
    surveys : DataFrame
        The surveys table ``behaviour`` was estimated on (with ``by``).
    behaviour : NPSBehaviour
        Output of :func:`cxlab.survey.nps_behaviour` with a summary (so that
        the revenue of detractors is known); its churn probabilities over the
        horizon, their standard errors and its analysed customers are used.
    share : float
        Share of the active detractors moved, in (0, 1].
    to : {"passive", "promoter"}
        The group they are moved to.
    by : str
        Surveys column of the touchpoint (or journey stage) of the answer.
    margin_rate : float
        Margin per unit of revenue (the study's ``margin_rate``); 1 gives revenue.

    Returns
    -------
    DetractorShiftValue
        See the module docstring for the formula and its assumption.
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    if to not in ("passive", "promoter"):
        raise ValueError(f"to must be 'passive' or 'promoter', got {to!r}")
    if not 0 < margin_rate <= 1:
        raise ValueError(f"margin_rate must be in (0, 1], got {margin_rate!r}")
    if by not in surveys.columns:
        raise ValueError(f"the surveys table has no column {by!r}")
    rs = behaviour.revenue_at_stake
    if rs is None:
        raise ValueError("the behaviour result has no revenue figures (nps_behaviour needs a summary) or no "
                         "detractors and promoters")
    ret = behaviour.retention.set_index("nps_group")
    if not ret.loc[to, "customers"] > 0:
        raise ValueError(f"no {to}s were followed up; their churn is unknown")
    # the touchpoint of each customer's group-defining answer (the first, as in nps_behaviour)
    first = customer_nps_groups(surveys, which=behaviour.which)
    df = validate_surveys(surveys).reset_index(drop=True).sort_values("date", kind="stable")
    pick = df.groupby("customer_id", sort=True).nth(0 if behaviour.which == "first" else -1).set_index("customer_id")
    where = pick[by].reindex(first.index).astype(object).where(lambda s: s.notna(), "(missing)").astype(str)
    g = behaviour.groups
    active = g[(g["nps_group"] == "detractor") & ~g["event"].astype(bool) & g["revenue"].notna()]
    counts = where.reindex(active.index).value_counts().sort_index()
    per_year = rs["annual_revenue_active_detractors"] / rs["active_detractors"] if rs["active_detractors"] else 0.0
    f_d, se_d = float(ret.loc["detractor", "churn_probability"]), float(ret.loc["detractor", "churn_se"])
    f_g, se_g = float(ret.loc[to, "churn_probability"]), float(ret.loc[to, "churn_se"])
    z = _z(behaviour.conf_level)
    excess, se_excess = f_d - f_g, math.hypot(se_d, se_g)
    rows = []
    for level, k in [*counts.items(), ("total", int(counts.sum()))]:
        moved = share * int(k)
        scale = moved * per_year * margin_rate
        rows.append({by: level, "active_detractors": int(k), "moved": moved, "value": scale * excess,
                     "ci_low": scale * (excess - z * se_excess), "ci_high": scale * (excess + z * se_excess)})
    notes = []
    if excess < 0:
        notes.append(f"Detractors churn less than {to}s over the horizon here: the value is negative.")
    inputs = {"annual_revenue_per_detractor": float(per_year), "churn_detractor": f_d, "churn_detractor_se": se_d,
              f"churn_{to}": f_g, f"churn_{to}_se": se_g, "margin_rate": float(margin_rate)}
    return DetractorShiftValue(pd.DataFrame(rows), inputs, float(share), to, by, behaviour.horizon, behaviour.unit,
                               behaviour.conf_level, notes)

