"""One maximum-likelihood core for cxlab's parametric models.

The BTYD models (:mod:`cxlab.ltv`), their covariate versions and the
shifted-beta-geometric retention model (:mod:`cxlab.retention`) all fit through
:func:`maximize`; :func:`numerical_gradient` and :func:`numerical_hessian` are
the only finite-difference derivatives in the package.

A model hands :func:`maximize` the log-likelihood (and its gradient) as a
function of unconstrained *coordinates* ``x`` — typically ``log`` of the
positive parameters and covariate coefficients as they are. The core

1. runs a quasi-Newton optimiser on ``-loglik / n_obs`` (L-BFGS-B, or TNC when
   the gradient is analytic and the data are small: TNC then needs several
   times less wall time), from the model's start and two shifted starts if the
   first does not stop inside the bounds;
2. *polishes* the answer with Newton steps on the Hessian (quasi-Newton methods
   stop early along the flat ridges these likelihoods have); the Hessian is
   re-taken only when the steps move far, and once more at the end point;
3. judges convergence by the **Newton decrement** ``lambda^2 = g' (-H)^{-1} g``
   at the final point, and returns the covariance ``(-H)^{-1}``.

Why the Newton decrement. ``lambda^2 / 2`` is the log-likelihood a Newton step
would still gain, and ``lambda`` is the distance from the point to the optimum
measured in standard errors (``delta' (-H) delta`` with ``delta = (-H)^{-1} g``).
Both are invariant to how the parameters are scaled or transformed and to the
number of customers, unlike a threshold on the raw gradient norm, which is
too strict for large data sets and too lax for small ones (Fader & Hardie's sBG
optimum has gradient norm 2.6e-4 yet sits 1e-4 standard errors from the
maximum). The default ``lambda^2 <= 1e-6`` means "within 0.001 standard errors
of the maximum, less than 5e-7 log-likelihood units to gain" — far inside any
statistical distinction. The Hessian must also be negative definite (a proper
maximum), and no coordinate may sit on a bound.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import optimize

__all__ = ["MLEFit", "maximize", "numerical_gradient", "numerical_hessian", "covariance_from_hessian",
           "newton_decrement"]

ValueGrad = Callable[[np.ndarray], "tuple[float, np.ndarray]"]

#: Newton decrement below which a fit counts as converged (see the module docstring).
DECREMENT_TOL = 1e-6


@dataclass
class MLEFit:
    """The optimum found by :func:`maximize` (all in the model's coordinates).

    Attributes
    ----------
    x : ndarray
        Coordinates at the optimum.
    log_likelihood : float
        Objective at ``x`` (penalised, if the model passed a penalised objective).
    gradient, hessian : ndarray
        Gradient and Hessian of the objective at ``x``.
    covariance : ndarray
        ``(-hessian)^{-1}``; NaN when the Hessian is not negative definite.
    newton_decrement : float
        ``g' (-H)^{-1} g`` (NaN when the Hessian is not negative definite).
    converged : bool
    message : str
        Why (not) converged, in words.
    n_evaluations : int
        Objective evaluations by the optimiser (the polish and Hessian excluded).
    """

    x: np.ndarray
    log_likelihood: float
    gradient: np.ndarray
    hessian: np.ndarray
    covariance: np.ndarray
    newton_decrement: float
    converged: bool
    message: str
    n_evaluations: int


def numerical_gradient(value: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``value`` at ``x`` (absolute step in the coordinates).

    Truncation error ~ step^2, rounding ~ eps |f| / step: 1e-5 balances them for
    log-likelihoods of size 1e3-1e6 in coordinates of order one.
    """
    x = np.asarray(x, dtype=float)
    g = np.empty(len(x))
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        g[i] = (value(up) - value(down)) / (2 * step)
    return g


def numerical_hessian(x: np.ndarray, *, gradient: Callable[[np.ndarray], np.ndarray] | None = None,
                      value: Callable[[np.ndarray], float] | None = None, step: float = 1e-4,
                      forward: bool = False) -> np.ndarray:
    """Hessian at ``x`` by central differences: of ``gradient`` if given (2k calls), else of ``value``.

    ``forward=True`` takes forward differences of the gradient instead (k + 1
    calls, error ~``step`` relative instead of ``step^2``: 1e-4, i.e. standard
    errors to ~5e-5) for likelihoods that are costly to evaluate. The
    value-only form uses the standard second differences (``1 + 2k + 2k(k-1)``
    calls). The result is symmetrised.
    """
    x = np.asarray(x, dtype=float)
    k = len(x)
    H = np.empty((k, k))
    if gradient is not None:
        g0 = np.asarray(gradient(x)) if forward else None
        for i in range(k):
            e = np.zeros(k)
            e[i] = step
            if forward:
                H[:, i] = (np.asarray(gradient(x + e)) - g0) / step
            else:
                H[:, i] = (np.asarray(gradient(x + e)) - np.asarray(gradient(x - e))) / (2 * step)
        return (H + H.T) / 2
    if value is None:
        raise ValueError("numerical_hessian needs gradient= or value=")
    f0 = value(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = step
        H[i, i] = (value(x + ei) - 2 * f0 + value(x - ei)) / step ** 2
        for j in range(i + 1, k):
            ej = np.zeros(k)
            ej[j] = step
            H[i, j] = H[j, i] = (value(x + ei + ej) - value(x + ei - ej) - value(x - ei + ej)
                                 + value(x - ei - ej)) / (4 * step * step)
    return H


def covariance_from_hessian(H: np.ndarray) -> np.ndarray:
    """``(-H)^{-1}`` when ``H`` is finite and negative definite, else all NaN."""
    k = H.shape[0]
    if not np.all(np.isfinite(H)):
        return np.full((k, k), np.nan)
    try:
        chol = np.linalg.cholesky(-H)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan)
    inv_chol = np.linalg.solve(chol, np.eye(k))
    return inv_chol.T @ inv_chol


def newton_decrement(g: np.ndarray, H: np.ndarray) -> float:
    """``g' (-H)^{-1} g``; NaN unless ``H`` is negative definite."""
    cov = covariance_from_hessian(H)
    if not np.all(np.isfinite(cov)) or not np.all(np.isfinite(g)):
        return float("nan")
    return float(g @ cov @ g)


def maximize(value_and_gradient: ValueGrad, x0: Sequence[float], *, n_obs: float,
             bounds: Sequence[tuple[float | None, float | None]] | None = None,
             hessian: Callable[[np.ndarray], np.ndarray] | None = None,
             method: str | None = None, max_iter: int = 1000, ftol: float = 1e-10,
             extra_starts: Sequence[Sequence[float]] = (), polish_steps: int = 6,
             decrement_tol: float = DECREMENT_TOL) -> MLEFit:
    """Maximise a log-likelihood given as ``x -> (value, gradient)``.

    Parameters
    ----------
    value_and_gradient : callable
        Log-likelihood (to be maximised) and its gradient in the coordinates.
        Non-finite values are treated as "outside the model" (a very low value).
    x0 : sequence
        Start.
    n_obs : float
        Number of observations (customers); the optimiser works on the mean
        log-likelihood so its tolerances do not depend on the sample size.
    bounds : sequence of (low, high), optional
        Box bounds per coordinate (``None`` = unbounded side).
    hessian : callable, optional
        ``x -> H``. Default: :func:`numerical_hessian` of the gradient.
    method : {"L-BFGS-B", "TNC"}, optional
        Default L-BFGS-B.
    max_iter, ftol : optimiser limits (ftol on the mean log-likelihood).
    extra_starts : further starts tried when a run does not stop in the interior.
    polish_steps : maximum Newton steps after the optimiser (0 = none).
    decrement_tol : Newton-decrement threshold for ``converged``.
    """
    x0 = np.asarray(x0, dtype=float)
    k = len(x0)
    bounds = list(bounds) if bounds is not None else [(None, None)] * k
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    n_obs = float(n_obs) if n_obs > 0 else 1.0
    calls = [0]

    def value_grad(x):
        with np.errstate(all="ignore"):
            f, g = value_and_gradient(x)
        return float(f), np.asarray(g, dtype=float)

    def objective(x):
        calls[0] += 1
        f, g = value_grad(x)
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e10, np.zeros_like(x)
        return -f / n_obs, -g / n_obs

    if hessian is None:
        def hessian(x):
            return numerical_hessian(x, gradient=lambda z: value_grad(z)[1])

    method = method or "L-BFGS-B"
    if method == "TNC":
        options = {"maxfun": max_iter, "ftol": ftol * 1e-4, "gtol": 1e-10}
    else:
        options = {"maxiter": max_iter, "ftol": ftol, "gtol": 1e-10, "maxcor": 20}
    best = None
    for start in [x0] + [np.asarray(s, dtype=float) for s in extra_starts]:
        res = optimize.minimize(objective, np.clip(start, lo, hi), jac=True, method=method,
                                bounds=bounds, options=options)
        if best is None or res.fun < best.fun - 1e-12:
            best = res
        if res.success and _interior(res.x, lo, hi):
            break
    x = np.asarray(best.x, dtype=float)
    f, g = value_grad(x)
    H = hessian(x)
    x_h = x.copy()  # where H was taken: Newton steps reuse it while they stay close
    for _ in range(polish_steps):
        step = _newton_step(g, H)
        if step is None:
            break
        improved = False
        for scale in (1.0, 0.5, 0.25):
            cand = np.clip(x + scale * step, lo, hi)
            fc, gc = value_grad(cand)
            if np.isfinite(fc) and fc >= f:
                x, f, g, improved = cand, fc, gc, True
                break
        if not improved or np.max(np.abs(step)) < 1e-10:
            break
        if np.max(np.abs(x - x_h)) > 0.05:
            H, x_h = hessian(x), x.copy()
    moved = x - x_h
    # the covariance at the final point: H is re-taken unless the steps moved less than 0.01 standard
    # errors (the Hessian then changes by a negligible fraction)
    if np.any(moved != 0) and not (float(moved @ (-H) @ moved) < 1e-4):
        H = hessian(x)
    cov = covariance_from_hessian(H)
    dec = newton_decrement(g, H)
    converged, message = _judge(f, dec, x, lo, hi, decrement_tol, best)
    return MLEFit(x=x, log_likelihood=f, gradient=g, hessian=H, covariance=cov, newton_decrement=dec,
                  converged=converged, message=message, n_evaluations=calls[0])


def _interior(x, lo, hi, margin: float = 0.5) -> bool:
    return bool(np.all((x > lo + margin) & (x < hi - margin)))


def _newton_step(g, H):
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(g))):
        return None
    try:
        np.linalg.cholesky(-H)  # a Newton step only where the surface is concave
        step = np.linalg.solve(-H, g)
    except np.linalg.LinAlgError:
        return None
    return step if np.all(np.isfinite(step)) else None


def _judge(f, dec, x, lo, hi, tol, res) -> tuple[bool, str]:
    if not np.isfinite(f):
        return False, "the log-likelihood is not finite at the end point"
    at_bound = (x <= lo + 1e-8) | (x >= hi - 1e-8)
    if at_bound.any():
        return False, f"coordinate(s) {np.flatnonzero(at_bound).tolist()} at their bound: no interior maximum"
    if not np.isfinite(dec):
        return False, "the Hessian is not negative definite at the end point (not a proper maximum)"
    if dec > tol:
        return False, (f"Newton decrement {dec:.2e} > {tol:.0e}: the estimate is {np.sqrt(dec):.2g} standard "
                       f"errors from the maximum (optimiser: {res.message})")
    return True, f"converged: Newton decrement {dec:.1e} (estimate within {np.sqrt(dec):.1g} SE of the maximum)"
