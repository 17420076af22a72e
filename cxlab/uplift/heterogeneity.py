"""Who gains from the programme: effect by pre-join segment, and an uplift (Qini) curve.

* **Segments.** Members are split by their pre-join spend into light / medium /
  heavy buyers (terciles of the members' pre-window spend; controls get the
  same cut-offs) and the doubly robust DiD is run within each segment.
* **Uplift curve.** A T-learner scores each customer's expected gain from
  membership, ``τ(x) = m₁(x) − m₀(x)``, with ``m₁`` the linear regression of the
  spend change on pre-join covariates among members and ``m₀`` the same among
  non-members weighted by ``e/(1 − e)`` (the ATT weights). Scores are
  *cross-fitted* (two folds: a customer's score comes from the model fitted
  on the other half), so the curve is not flattered by over-fitting.
  The Qini curve (Radcliffe 2007) ranks customers by score and plots, for the
  top fraction φ, the incremental outcome ``Y_T(φ) − Y_C(φ)·N_T(φ)/N_C(φ)``
  (controls weighted), per member of the whole sample; a random ranking gives the
  straight line to ``φ·Q(1)``. Bands: pointwise 2.5–97.5% quantiles over
  bootstrap replicates (Poisson(1) weights, scores held fixed).
"""
from __future__ import annotations

import warnings

from typing import Any

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin
from cxlab.uplift.core import SeparationError
from cxlab.uplift.design import PrePostData
from cxlab.uplift.did import proportional_did
from cxlab.uplift._utils import single_thread_blas
from cxlab.uplift.matching import PropensityModel, att_weights

__all__ = ["segment_effects", "qini_curve", "QiniResult", "plot_qini"]

SEGMENTS = ("light", "medium", "heavy")


@single_thread_blas()
def segment_effects(data: PrePostData, *, outcome: str = "spend", alpha: float = 0.05) -> pd.DataFrame:
    """Proportional DR DiD within light / medium / heavy buyers.

    Segments are terciles of the members' monthly spend *before the pre window*
    (``log_spend_early``), not of the pre window itself: splitting on the baseline would
    regress each segment's baseline to the mean. Rows without such history (customers
    younger than the pre window) are left out of the split. ``pre_spend_from`` /
    ``pre_spend_to`` give the segment bounds in spend per month.
    """
    frame = data.frame
    d = data.treated
    if "log_spend_early" not in frame.columns:
        raise ValueError("this PrePostData has no history before the pre window; rebuild it with prepost_windows")
    early = np.expm1(frame["log_spend_early"].to_numpy(dtype="float64"))
    has = frame["log_early_months"].to_numpy(dtype="float64") > 0
    if (has & d).sum() < 15:
        return pd.DataFrame()
    cuts = np.quantile(early[has & d], [1 / 3, 2 / 3])
    seg = np.where(has, np.digitize(early, cuts), -1)  # 0 light, 1 medium, 2 heavy
    pre_v = frame[f"{outcome}_pre"].to_numpy(dtype="float64")
    post = frame[f"{outcome}_post"].to_numpy(dtype="float64")
    cols = data.history_columns
    rows = []
    for k, name in enumerate(SEGMENTS):
        m = (seg == k) & np.isfinite(pre_v) & np.isfinite(post)
        if d[m].sum() < 5 or (~d[m]).sum() < 5:
            continue
        try:
            ps = PropensityModel().fit(frame.loc[m, cols].reset_index(drop=True), d[m])
        except SeparationError as exc:  # a small segment where some covariate value has no members
            warnings.warn(f"segment {name!r} skipped: {exc}", stacklevel=2)
            continue
        est = proportional_did(post[m], pre_v[m], d[m], ps.fit_, ps.X_, method="dr", alpha=alpha)
        est["member_pre_mean"] = float(pre_v[m & d].mean())
        est["relative"] = est["att"] / (post[m & d].mean() - est["att"])
        rows.append({"segment": name, "pre_spend_from": float([-np.inf, *cuts][k]), "pre_spend_to": float([*cuts, np.inf][k]), **est})
    return pd.DataFrame(rows)


def _ols(X, y, w=None):
    if w is None:
        return np.linalg.lstsq(X, y, rcond=None)[0]
    sw = np.sqrt(w)
    return np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]


def _qini_points(score_order, d, y, w, grid, weights=None):
    """Qini values at fractions ``grid`` of the ranking ``score_order`` (optionally bootstrap-weighted)."""
    dd, yy, ww = d[score_order], y[score_order], w[score_order]
    bw = np.ones(len(dd)) if weights is None else weights[score_order]
    nt = np.cumsum(bw * dd)
    yt = np.cumsum(bw * dd * yy)
    nc = np.cumsum(bw * (~dd) * ww)
    yc = np.cumsum(bw * (~dd) * ww * yy)
    idx = np.clip((grid * len(dd)).astype(int) - 1, 0, len(dd) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = yt[idx] - np.where(nc[idx] > 0, yc[idx] * nt[idx] / nc[idx], 0.0)
    q = np.where(grid == 0, 0.0, q)
    return q / nt[-1]


class QiniResult(Result):
    """Qini curve with bootstrap band, random-targeting line and Qini coefficient."""

    def __init__(self, curve: pd.DataFrame, qini_coefficient: float, qini_ci: tuple[float, float], scores: np.ndarray, outcome: str):
        self.curve = curve
        self.qini_coefficient = qini_coefficient
        self.qini_ci = qini_ci
        self.scores = scores
        self.outcome = outcome

    def summary(self) -> Summary:
        return Summary(
            f"Uplift (Qini) curve: {self.outcome}",
            [("", self.curve.iloc[:: max(1, len(self.curve) // 10)].set_index("fraction"))],
            [f"Qini coefficient (area between the curve and random targeting) = {self.qini_coefficient:.4g} "
             f"(95% bootstrap {self.qini_ci[0]:.4g} to {self.qini_ci[1]:.4g}); > 0 means the score ranks gainers first."],
        )

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"curve": self.curve, "qini_coefficient": self.qini_coefficient, "qini_ci": list(self.qini_ci), "outcome": self.outcome})


@single_thread_blas()
def qini_curve(
    data: PrePostData,
    *,
    outcome: str = "spend",
    n_points: int = 21,
    n_boot: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
    max_rows: int | None = 200_000,
) -> QiniResult:
    """Cross-fitted T-learner scores and their Qini curve with bootstrap bands.

    ``max_rows`` caps the rows used (a random subsample) so the bootstrap stays
    quick on millions of customers; the curve's shape does not need more.
    """
    rng = np.random.default_rng(seed)
    frame = data.frame
    d = data.treated
    dy = data.change(outcome)
    ok = np.isfinite(dy)
    if max_rows is not None and ok.sum() > max_rows:
        keep = np.zeros(len(ok), bool)
        keep[rng.choice(np.flatnonzero(ok), max_rows, replace=False)] = True
        ok &= keep
    rows_idx = np.flatnonzero(ok)
    ps = PropensityModel().fit(frame.loc[ok, data.covariate_columns].reset_index(drop=True), d[ok])
    X, dd, yy = ps.X_, d[ok], dy[ok]
    w = att_weights(ps.propensity_, dd)
    fold = rng.integers(0, 2, len(dd))
    score = np.empty(len(dd))
    for f in (0, 1):
        fit, ev = fold != f, fold == f
        b1 = _ols(X[fit & dd], yy[fit & dd])
        b0 = _ols(X[fit & ~dd], yy[fit & ~dd], w[fit & ~dd])
        score[ev] = X[ev] @ (b1 - b0)
    order = np.argsort(-score, kind="stable")
    grid = np.linspace(0, 1, n_points)
    q = _qini_points(order, dd, yy, w, grid)
    boots = np.empty((n_boot, n_points))
    for b in range(n_boot):
        boots[b] = _qini_points(order, dd, yy, w, grid, rng.poisson(1.0, len(dd)).astype("float64"))
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2], axis=0)
    random_line = grid * q[-1]
    rand_boot = grid[None, :] * boots[:, -1:]
    area = np.trapezoid(q - random_line, grid)
    area_boot = np.trapezoid(boots - rand_boot, grid, axis=1)
    curve = pd.DataFrame({"fraction": grid, "qini": q, "ci_low": lo, "ci_high": hi, "random": random_line})
    full_scores = np.full(len(frame), np.nan)
    full_scores[rows_idx] = score
    return QiniResult(curve, float(area), (float(np.quantile(area_boot, alpha / 2)), float(np.quantile(area_boot, 1 - alpha / 2))), full_scores, outcome)


def plot_qini(data, *, ax=None):
    """Qini curve with its bootstrap band and the random-targeting line."""
    import matplotlib.pyplot as plt

    curve = data.curve if isinstance(data, QiniResult) else data
    if not isinstance(curve, pd.DataFrame) or not {"fraction", "qini", "ci_low", "ci_high", "random"} <= set(curve.columns):
        raise ValueError("plot_qini needs a QiniResult or its curve DataFrame")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    x = curve["fraction"].to_numpy(float)
    ax.fill_between(x, curve["ci_low"].to_numpy(float), curve["ci_high"].to_numpy(float), alpha=0.2, color="C0", lw=0)
    ax.plot(x, curve["qini"].to_numpy(float), color="C0", label="targeted by predicted uplift")
    ax.plot(x, curve["random"].to_numpy(float), "k--", lw=1, label="random targeting")
    ax.set_xlabel("share of customers invited (highest predicted uplift first)")
    ax.set_ylabel("incremental outcome per member")
    ax.legend(frameon=False, fontsize=8)
    return ax
