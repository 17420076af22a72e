"""Treatment-effect estimators on arrays: regression adjustment, IPW, AIPW and matching.

Every function takes the outcome ``y``, the treatment ``d`` (bool) and a design
``X`` with the intercept in column 0, and returns an :class:`Estimate`
with the point estimate and the per-row influence function ``psi``
(``se = sd(psi) / √n``), which includes the estimation of the nuisance models
(propensity logit, outcome regressions), as in the R package ``DRDID``. The
cross-sectional :func:`cxlab.uplift.treatment_effect` and the loyalty pre/post
DiD (with ``y`` = post − pre change) both call these.

ATT (``estimand="ATT"``):

* regression: ``τ = mean_{D=1}(Y − X β₀)``, β₀ by OLS on the controls;
* IPW (Hájek, normalised): controls weighted ``e/(1 − e)``, weights summing to one;
* AIPW: the doubly robust ``mean_{D=1}(Y − m₀) − Σ w (Y − m₀) / Σ w`` over controls
  (Sant'Anna & Zhao 2020 with no pre-period), consistent when either model is right;
* matching: see :func:`match_estimate`.

ATE: regression (separate fits per arm), Hájek IPW with ``1/e`` and ``1/(1 − e)``,
the AIPW of Robins, Rotnitzky & Zhao (1994), matching both ways.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from cxlab.uplift._utils import single_thread_blas
from cxlab.uplift.core import LogitFit, fit_ols

__all__ = ["Estimate", "regression_estimate", "ipw_estimate", "aipw_estimate", "match_estimate", "Matches",
           "find_matches"]


@dataclass
class Estimate:
    """Point estimate, influence function and the weights the estimator puts on rows.

    ``weights``: the implied weight of every row in the treated and control means
    (for balance tables); ``extra``: method-specific numbers.
    """

    estimate: float
    psi: np.ndarray
    weights: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def se(self) -> float:
        n = len(self.psi)
        return float(np.std(self.psi, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def _check(estimand: str) -> None:
    if estimand not in ("ATT", "ATE"):
        raise ValueError(f"estimand must be 'ATT' or 'ATE', got {estimand!r}")


@single_thread_blas()
def regression_estimate(y, d, X, *, estimand: str = "ATT") -> Estimate:
    """Regression adjustment (linear outcome model per arm) with its influence function.

    The implied weights (Chattopadhyay & Zubizarreta 2023) reproduce the treated
    (ATT) or overall (ATE) covariate means exactly and may be negative.
    """
    _check(estimand)
    n = len(y)
    D = d.astype("float64")
    c = ~d
    fit0 = fit_ols(X[c], y[c])
    A0_inv = fit0.gram_inv / (c.sum() / n)  # (E[(1−D) X X'])⁻¹
    e0 = np.zeros(n)
    e0[c] = fit0.resid
    m0 = X @ fit0.coef
    if estimand == "ATT":
        pi = D.mean()
        xbar = X[d].mean(axis=0)
        tau = float(np.mean(y[d] - m0[d]))
        psi = D * (y - m0 - tau) / pi - ((1 - D) * e0)[:, None] * X @ (A0_inv @ xbar)
        w = np.where(d, 1.0 / d.sum(), 0.0)
        w[c] = X[c] @ (A0_inv @ xbar) / n
        return Estimate(tau, psi, w)
    fit1 = fit_ols(X[d], y[d])
    A1_inv = fit1.gram_inv / (d.sum() / n)
    e1 = np.zeros(n)
    e1[d] = fit1.resid
    m1 = X @ fit1.coef
    xbar = X.mean(axis=0)
    tau = float(np.mean(m1 - m0))
    psi = (m1 - m0 - tau) + (D * e1)[:, None] * X @ (A1_inv @ xbar) - ((1 - D) * e0)[:, None] * X @ (A0_inv @ xbar)
    w = np.where(d, X @ (A1_inv @ xbar) / n, X @ (A0_inv @ xbar) / n)
    return Estimate(tau, psi, w)


def _ps_influence(X, d, ps: LogitFit) -> np.ndarray:
    """Influence function of the logit coefficients: n · vcov · x_i (d_i − e_i), one row per unit."""
    n = len(d)
    return ((d.astype("float64") - ps.prob)[:, None] * X) @ (ps.vcov * n)


@single_thread_blas()
def ipw_estimate(y, d, X, ps: LogitFit, *, estimand: str = "ATT") -> Estimate:
    """Normalised (Hájek) inverse-probability weighting; the IF includes the logit's estimation."""
    _check(estimand)
    D = d.astype("float64")
    p = np.clip(ps.prob, 1e-12, 1 - 1e-12)
    lin_ps = _ps_influence(X, d, ps)
    if estimand == "ATT":
        w_t = D
        w_c = p * (1 - D) / (1 - p)
        mu1 = np.sum(w_t * y) / w_t.sum()
        mu0 = np.sum(w_c * y) / w_c.sum()
        inf_t = w_t * (y - mu1) / w_t.mean()
        M = ((w_c * (y - mu0))[:, None] * X).mean(axis=0)
        inf_c = (w_c * (y - mu0) + lin_ps @ M) / w_c.mean()
        weights = np.where(d, w_t / w_t.sum(), w_c / w_c.sum())
        return Estimate(float(mu1 - mu0), inf_t - inf_c, weights)
    a1 = D / p
    a0 = (1 - D) / (1 - p)
    mu1 = np.sum(a1 * y) / a1.sum()
    mu0 = np.sum(a0 * y) / a0.sum()
    M1 = ((-D * (1 - p) / p * (y - mu1))[:, None] * X).mean(axis=0)
    M0 = (((1 - D) * p / (1 - p) * (y - mu0))[:, None] * X).mean(axis=0)
    psi1 = (a1 * (y - mu1) + lin_ps @ M1) / a1.mean()
    psi0 = (a0 * (y - mu0) + lin_ps @ M0) / a0.mean()
    weights = np.where(d, a1 / a1.sum(), a0 / a0.sum())
    return Estimate(float(mu1 - mu0), psi1 - psi0, weights)


@single_thread_blas()
def aipw_estimate(y, d, X, ps: LogitFit, *, estimand: str = "ATT") -> Estimate:
    """Doubly robust estimate (OLS outcome model + logit propensity).

    ATT: the DR estimator of Sant'Anna & Zhao (2020) with its full influence function
    (equal to ``DRDID::drdid_panel`` with a zero pre-period, checked in the tests).
    ATE: AIPW (Robins, Rotnitzky & Zhao 1994), influence function
    ``m₁ − m₀ + D(Y − m₁)/e − (1 − D)(Y − m₀)/(1 − e) − τ`` (nuisance estimation
    does not change it to first order).
    """
    _check(estimand)
    n = len(y)
    D = d.astype("float64")
    p = np.clip(ps.prob, 1e-12, 1 - 1e-12)
    c = ~d
    fit0 = fit_ols(X[c], y[c])
    m0 = X @ fit0.coef
    if estimand == "ATT":
        XpX_inv = fit0.gram_inv / (c.sum() / n)
        resid = y - m0
        w_t = D
        w_c = p * (1 - D) / (1 - p)
        eta_t = np.sum(w_t * resid) / w_t.sum()
        eta_c = np.sum(w_c * resid) / w_c.sum()
        lin_ols = ((1 - D) * resid)[:, None] * X @ XpX_inv
        lin_ps = _ps_influence(X, d, ps)
        M1 = (w_t[:, None] * X).mean(axis=0)
        inf_t = (w_t * (resid - eta_t) - lin_ols @ M1) / w_t.mean()
        M2 = ((w_c * (resid - eta_c))[:, None] * X).mean(axis=0)
        M3 = (w_c[:, None] * X).mean(axis=0)
        inf_c = (w_c * (resid - eta_c) + lin_ps @ M2 - lin_ols @ M3) / w_c.mean()
        weights = np.where(d, w_t / w_t.sum(), w_c / w_c.sum())
        return Estimate(float(eta_t - eta_c), inf_t - inf_c, weights)
    fit1 = fit_ols(X[d], y[d])
    m1 = X @ fit1.coef
    s1 = m1 + D * (y - m1) / p
    s0 = m0 + (1 - D) * (y - m0) / (1 - p)
    tau = float(np.mean(s1 - s0))
    a1, a0 = D / p, (1 - D) / (1 - p)
    weights = np.where(d, a1 / a1.sum(), a0 / a0.sum())
    return Estimate(tau, s1 - s0 - tau, weights)


# --------------------------------------------------------------------------- matching
@dataclass
class Matches:
    """Nearest neighbours of each query point among the pool points, ties included.

    Stored flat as ``(q, j, w)`` triples: query position, pool position, weight
    ``1 / #matches`` of that query point (ties averaged). ``matched``: query points whose
    m-th match is inside the caliper; ``distance``: that m-th distance.
    """

    q: np.ndarray
    j: np.ndarray
    w: np.ndarray
    matched: np.ndarray
    distance: np.ndarray


def find_matches(Zq: np.ndarray, Zp: np.ndarray, *, m: int = 1, caliper: float | None = None, rtol: float = 1e-9) -> Matches:
    """``m`` nearest pool points (Euclidean on already-scaled coordinates) of each query point,
    with every pool point tied with the m-th one included (Abadie & Imbens 2006, "ties averaged")."""
    if Zp.shape[0] < m:
        raise ValueError(f"matching needs at least {m} candidate(s) in the other group, got {Zp.shape[0]}")
    tree = cKDTree(Zp)
    k = min(m + 4, Zp.shape[0])
    dist, idx = tree.query(Zq, k=k)
    dist = dist.reshape(len(Zq), k)
    idx = idx.reshape(len(Zq), k)
    dm = dist[:, m - 1]
    radius = dm * (1 + rtol) + 1e-12
    within = dist <= radius[:, None]
    full = within[:, -1] & (k < Zp.shape[0])  # maybe more tied points beyond the k returned
    qs, js = [], []
    rows = np.flatnonzero(~full)
    cnt = within[rows].sum(axis=1)
    qs.append(np.repeat(rows, cnt))
    js.append(idx[rows][within[rows]])
    for r in np.flatnonzero(full):
        hits = np.asarray(tree.query_ball_point(Zq[r], radius[r]), dtype="int64")
        qs.append(np.full(len(hits), r))
        js.append(hits)
    q = np.concatenate(qs)
    j = np.concatenate(js)
    order = np.argsort(q, kind="stable")
    q, j = q[order], j[order]
    counts = np.bincount(q, minlength=len(Zq))
    matched = np.ones(len(Zq), dtype=bool) if caliper is None else dm <= caliper
    keep = matched[q]
    q, j = q[keep], j[keep]
    w = 1.0 / counts[q]
    return Matches(q=q, j=j, w=w, matched=matched, distance=dm)


def _within_group_variance(Z: np.ndarray, y: np.ndarray, J: int) -> np.ndarray:
    """σ²(x_i) by matching within the unit's own group (Abadie & Imbens 2006, eq. 14):
    ``J/(J+1) · (y_i − mean of its J nearest same-group neighbours)²``."""
    n = len(y)
    if n <= J:
        return np.full(n, np.var(y, ddof=1) if n > 1 else 0.0)
    tree = cKDTree(Z)
    _, idx = tree.query(Z, k=J + 1)
    idx = idx.reshape(n, J + 1)
    # drop the unit itself (it may not come first among exact duplicates)
    self_pos = idx == np.arange(n)[:, None]
    has_self = self_pos.any(axis=1)
    drop = np.where(has_self, np.argmax(self_pos, axis=1), J)
    mask = np.ones_like(idx, dtype=bool)
    mask[np.arange(n), drop] = False
    nb = idx[mask].reshape(n, J)
    return J / (J + 1) * (y - y[nb].mean(axis=1)) ** 2


@single_thread_blas()
def match_estimate(
    y, d, Z, *, estimand: str = "ATT", m: int = 1, bias_X: np.ndarray | None = None, caliper: float | None = None,
    variance_neighbors: int = 2,
) -> Estimate:
    """Nearest-neighbour matching with replacement (Abadie & Imbens 2006, 2011).

    Parameters
    ----------
    Z : ndarray (n, p)
        Matching coordinates already scaled by the metric (Mahalanobis: whitened).
    m : int
        Matches per unit; all points tied with the m-th are used, each with weight 1/#matches.
    bias_X : ndarray, optional
        Design (intercept first) for the bias correction ``μ̂₀(X_i) − μ̂₀(X_j)`` (Abadie &
        Imbens 2011): ``μ̂`` by least squares on the units used as matches, weighted by
        how often they are used. None: no bias correction.
    caliper : float, optional
        Units whose m-th match is farther than this (in Z units) are left out and counted.
    variance_neighbors : int
        J of the conditional-variance estimate (matching within the group; Stata's
        ``teffects nnmatch`` default is 2).

    Notes
    -----
    Standard error: the Abadie–Imbens (2006, Theorem 7) estimator of the variance of the
    population ATT/ATE, ``[Σ (τ̂_i − τ̂)² + Σ (K_j² − K'_j) σ̂²_j] / N²``, with ``K_j`` the
    total weight of unit j as a match and ``K'_j`` the sum of its squared weights (with
    ties averaged, ``K(K−1)/M²`` generalises to ``K² − K'``). ``psi`` is set so that
    ``sd(psi)/√n`` reproduces it.
    """
    _check(estimand)
    n = len(y)
    t_idx, c_idx = np.flatnonzero(d), np.flatnonzero(~d)
    K = np.zeros(n)
    K2 = np.zeros(n)
    yhat_other = np.full(n, np.nan)  # imputed outcome under the other arm, for the units that are estimated
    use = np.zeros(n, dtype=bool)
    directions = [(t_idx, c_idx)] if estimand == "ATT" else [(t_idx, c_idx), (c_idx, t_idx)]
    n_unmatched = 0
    for q_rows, p_rows in directions:
        mt = find_matches(Z[q_rows], Z[p_rows], m=m, caliper=caliper)
        n_unmatched += int((~mt.matched).sum())
        qr, pr = q_rows[mt.q], p_rows[mt.j]
        np.add.at(K, pr, mt.w)
        np.add.at(K2, pr, mt.w**2)
        contrib = y[pr].copy()
        if bias_X is not None:
            used = np.unique(pr)
            wts = np.bincount(pr, weights=mt.w, minlength=n)[used]
            fit = fit_ols(bias_X[used], y[used], weights=wts)
            contrib = contrib + (bias_X[qr] - bias_X[pr]) @ fit.coef
        imp = np.bincount(mt.q, weights=mt.w * contrib, minlength=len(q_rows))
        ok = q_rows[mt.matched]
        yhat_other[ok] = imp[mt.matched]
        use[ok] = True
    if not use[d].any():
        raise ValueError("no treated unit found a match within the caliper")
    unit = np.where(d, y - yhat_other, yhat_other - y)  # τ̂_i
    sel = use if estimand == "ATE" else use & d
    N = int(sel.sum())
    tau = float(unit[sel].mean())
    sigma2 = np.zeros(n)
    for rows in (t_idx, c_idx):
        sigma2[rows] = _within_group_variance(Z[rows], y[rows], variance_neighbors)
    var = (np.sum((unit[sel] - tau) ** 2) + np.sum((K**2 - K2) * sigma2)) / N**2
    # psi with sd(psi)/√n = √var: centred, scaled
    psi = np.zeros(n)
    psi[sel] = unit[sel] - tau
    raw = np.std(psi, ddof=1) / np.sqrt(n)
    psi = psi * (np.sqrt(var) / raw) if raw > 0 else psi
    weights = np.where(d, sel.astype(float), 0.0) if estimand == "ATT" else sel.astype(float)
    weights = weights + K  # treated (or each unit) once, plus its use as a match
    diffs = unit[sel & d] if estimand == "ATT" else unit[sel]
    return Estimate(tau, psi, weights, extra={"n_unmatched": n_unmatched, "differences": diffs, "match_weight": K,
                                              "variance": float(var)})


# --------------------------------------------------------------------------- proportional (ratio) DiD
def _poisson_ratio_fit(X, y_post, y_pre, max_iter: int = 100):
    """θ of the ratio model ``E[Y_post | X] = E[Y_pre | X] · exp(Xθ)`` from the controls, by the
    moment ``Σ X (Y_post − Y_pre e^{Xθ}) = 0`` (Poisson pseudo-likelihood with offset log Y_pre, which
    keeps rows with Y_pre = 0). Damped Newton on the standardised design; returns θ (original scale)
    and ``A = mean(Y_pre e^{Xθ} X X')``."""
    from cxlab.uplift.core import _unstandardise, standardise

    Z, mean, scale = standardise(X) if X.shape[1] > 1 else (X, np.zeros(1), np.ones(1))
    tot_pre = max(float(np.sum(y_pre)), 1e-300)
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(max(float(np.sum(y_post)), 1e-300) / tot_pre)

    def q(b):
        eta = Z @ b
        return float(np.sum(y_post * eta - y_pre * np.exp(eta)))

    cur = q(beta)
    for _ in range(max_iter):
        m = y_pre * np.exp(Z @ beta)
        g = Z.T @ (y_post - m)
        H = (Z * m[:, None]).T @ Z
        step = np.linalg.lstsq(H, g, rcond=None)[0]
        dec = float(g @ step) / 2
        if dec < 1e-14 * (1 + abs(cur)):
            break
        t = 1.0
        for _ in range(30):
            new = q(beta + t * step)
            if new >= cur:
                break
            t /= 2
        beta, cur = beta + t * step, new
    n = len(y_pre)
    H = (Z * (y_pre * np.exp(Z @ beta))[:, None]).T @ Z / n
    theta, A_inv = _unstandardise(beta, np.linalg.pinv(H), mean, scale)
    return theta, A_inv


@single_thread_blas()
def ratio_ipw_estimate(y_post, y_pre, d, X, ps: LogitFit, *, weights_control: np.ndarray | None = None) -> Estimate:
    """Proportional DiD with weighted controls (ATT, in the outcome's units).

    ``τ = mean_T(Y_post) − mean_T(Y_pre) · R``, ``R = Σ_C w Y_post / Σ_C w Y_pre``: the members'
    counterfactual post level is their own pre level times the growth of comparable non-members
    (parallel trends in logs of the means; Wooldridge 2023). ``w = e/(1 − e)`` from ``ps`` (the
    influence function includes the logit's estimation), or fixed ``weights_control`` (matching
    counts; then treated as known).
    """
    n = len(y_post)
    D = d.astype("float64")
    pi = D.mean()
    if weights_control is None:
        p = np.clip(ps.prob, 1e-12, 1 - 1e-12)
        w = p * (1 - D) / (1 - p)
    else:
        w = np.where(d, 0.0, weights_control)
    mu_post, mu_pre = y_post[d].mean(), y_pre[d].mean()
    R = np.sum(w * y_post) / np.sum(w * y_pre)
    tau = float(mu_post - mu_pre * R)
    resid_c = w * (y_post - R * y_pre)
    inf_R = resid_c.copy()
    if weights_control is None:
        M = ((w * (y_post - R * y_pre))[:, None] * X).mean(axis=0)
        inf_R = inf_R + _ps_influence(X, d, ps) @ M
    inf_R = inf_R / np.mean(w * y_pre)
    psi = D * ((y_post - mu_post) - R * (y_pre - mu_pre)) / pi - mu_pre * inf_R
    weights = np.where(d, D / D.sum(), w / w.sum())
    return Estimate(tau, psi, weights, extra={"ratio": float(R), "member_pre_mean": float(mu_pre)})


@single_thread_blas()
def ratio_dr_estimate(y_post, y_pre, d, X, ps: LogitFit, *, weights_control: np.ndarray | None = None) -> Estimate:
    """Doubly robust proportional DiD (ATT, outcome units).

    Ratio model ``r(X) = exp(Xθ)`` for the counterfactual growth ``E[Y_post(0) | X] / E[Y_pre | X]``,
    fitted on the controls (:func:`_poisson_ratio_fit`), and propensity weights ``e/(1 − e)``:
    with ``u = Y_post − Y_pre r(X)``, ``τ = mean_T(u) − Σ_C w u / Σ_C w`` — consistent when either
    the ratio model or the propensity is right (the structure of Sant'Anna & Zhao 2020 with the
    multiplicative outcome model). The influence function includes both nuisance fits.
    ``weights_control``: fixed control weights instead of ``e/(1 − e)`` (matching counts: then
    this is bias-corrected matching with the ratio model as the correction, Abadie & Imbens 2011).
    """
    n = len(y_post)
    D = d.astype("float64")
    c = ~d
    p = np.clip(ps.prob, 1e-12, 1 - 1e-12)
    theta, A_inv = _poisson_ratio_fit(X[c], y_post[c], y_pre[c])
    A_inv = A_inv / (c.sum() / n)                      # (E[(1−D) Y_pre m X X'])⁻¹
    m = np.exp(X @ theta)
    u = y_post - y_pre * m
    w_t = D
    w_c = p * (1 - D) / (1 - p) if weights_control is None else np.where(d, 0.0, weights_control)
    eta_t = np.sum(w_t * u) / w_t.sum()
    eta_c = np.sum(w_c * u) / w_c.sum()
    lin_theta = ((1 - D) * u)[:, None] * X @ A_inv     # IF of θ
    dtau = -((w_t * y_pre * m)[:, None] * X).mean(axis=0) / w_t.mean() + ((w_c * y_pre * m)[:, None] * X).mean(axis=0) / w_c.mean()
    ps_term = 0.0
    if weights_control is None:
        M2 = ((w_c * (u - eta_c))[:, None] * X).mean(axis=0)
        ps_term = _ps_influence(X, d, ps) @ M2
    psi = (w_t * (u - eta_t)) / w_t.mean() - (w_c * (u - eta_c) + ps_term) / w_c.mean() + lin_theta @ dtau
    weights = np.where(d, w_t / w_t.sum(), w_c / w_c.sum())
    return Estimate(float(eta_t - eta_c), psi, weights, extra={"member_pre_mean": float(y_pre[d].mean())})
