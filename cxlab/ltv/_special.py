"""Numerically careful special functions for the BTYD likelihoods."""
from __future__ import annotations

import numpy as np
from scipy.linalg import eigh_tridiagonal
from scipy.special import hyp2f1, roots_legendre

__all__ = ["log_hyp2f1_a_b_ap1", "beta_expectation"]

_GL_X, _GL_W = roots_legendre(200)
_SERIES_MAX_Z = 0.8


def log_hyp2f1_a_b_ap1(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``log 2F1(a, b; a + 1; z)`` for ``a > 0``, ``b >= 1``, ``0 <= z < 1``.

    This is the function in the Pareto/NBD likelihood (Fader & Hardie 2005,
    "A note on deriving the Pareto/NBD model and related expressions").
    For ``z <= 0.8`` scipy's ``hyp2f1`` is accurate to ~1e-13 (checked against
    mpmath over a = 0.01..300, b = 1..60); closer to 1 it loses accuracy or
    returns NaN for large ``a``. There we use the integral representation

    .. math:: {}_2F_1(a, b; a+1; z) = \\int_0^\\infty e^{-y}
              \\left(1 - z e^{-y/a}\\right)^{-b} dy

    (from Euler's integral with ``t = exp(-y/a)``), integrated by 200-node
    Gauss-Legendre in ``log y`` after a log-sum-exp shift, with
    ``1 - z e^{-y/a} = (1 - z) + z(1 - e^{-y/a})`` evaluated without
    cancellation. Accuracy ~1e-7 in the log even at ``1 - z = 1e-12``.
    """
    a, b, z = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(z, float))
    out = np.empty(a.shape)
    small = z <= _SERIES_MAX_Z
    if small.any():
        out[small] = np.log(hyp2f1(a[small], b[small], a[small] + 1.0, z[small]))
    big = ~small
    if big.any():
        ab, bb, zb = a[big], b[big], z[big]
        c = 1.0 - zb
        # the integrand (in zeta = log y) peaks near y ~ a(1-z)/(b-1); start well left of it
        zeta_peak = np.log(ab * c / np.maximum(bb - 1.0, 1e-3))
        lo = np.minimum(zeta_peak, 0.0) - 38.0
        hi = np.full_like(lo, 3.7)  # y = 40: e^{-y} below 1e-17
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        zeta = mid[:, None] + half[:, None] * _GL_X
        y = np.exp(zeta)
        base = c[:, None] + zb[:, None] * (-np.expm1(-y / ab[:, None]))
        lg = -bb[:, None] * np.log(base) + zeta - y
        m = lg.max(axis=1, keepdims=True)
        out[big] = m[:, 0] + np.log((np.exp(lg - m) * _GL_W).sum(axis=1) * half)
    return out


_JACOBI_CACHE: dict[tuple[float, float, int], tuple[np.ndarray, np.ndarray]] = {}


def beta_expectation(fun, a: float, b: float, n_nodes: int = 48):
    """``E[fun(p)]`` for ``p ~ Beta(a, b)`` by Gauss-Jacobi quadrature.

    ``fun`` takes an array of nodes with shape ``(n_nodes,)`` broadcast against
    whatever it needs and must return an array whose LAST axis is the nodes.
    """
    key = (float(a), float(b), n_nodes)
    if key not in _JACOBI_CACHE:
        # weight (1-u)^(b-1) (1+u)^(a-1) on [-1, 1]  <->  p^(a-1) (1-p)^(b-1) with p = (1+u)/2
        u, w = _gauss_jacobi(n_nodes, b - 1.0, a - 1.0)
        if len(_JACOBI_CACHE) > 4096:
            _JACOBI_CACHE.clear()
        _JACOBI_CACHE[key] = ((1.0 + u) / 2.0, w)
    p, w = _JACOBI_CACHE[key]
    return np.einsum("...i,i->...", fun(p), w)


def _gauss_jacobi(n: int, al: float, be: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Jacobi nodes and normalised weights by Golub-Welsch.

    scipy's ``roots_jacobi`` overflows in its normalising constant for large
    parameters (heavy buyers: ``b + x`` in the thousands); the weights here
    are normalised to sum to one, so that constant is never formed.
    """
    k = np.arange(n, dtype=float)
    s = 2 * k + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = (be ** 2 - al ** 2) / (s * (s + 2))
    diag[0] = (be - al) / (al + be + 2)
    kk = k[:-1] + 1
    s1 = 2 * kk + al + be
    off = np.sqrt(4 * kk * (kk + al) * (kk + be) * (kk + al + be) / ((s1 - 1) * s1 ** 2 * (s1 + 1)))
    nodes, vecs = eigh_tridiagonal(diag, off)
    w = vecs[0] ** 2
    return np.clip(nodes, -1.0, 1.0), w / w.sum()
