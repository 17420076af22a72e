"""Numerically careful special functions for the BTYD likelihoods."""
from __future__ import annotations

import numpy as np
from scipy.linalg import eigh_tridiagonal
from scipy.special import hyp2f1, roots_legendre

__all__ = ["log_hyp2f1_a_b_ap1", "beta_expectation"]

_GL_X, _GL_W = roots_legendre(200)
_SERIES_MAX_Z = 0.999


def log_hyp2f1_a_b_ap1(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``log 2F1(a, b; a + 1; z)`` for ``a > 0``, ``b >= 1``, ``0 <= z < 1``.

    This is the function in the Pareto/NBD likelihood (Fader & Hardie 2005,
    "A note on deriving the Pareto/NBD model and related expressions").
    For ``z <= 0.999`` scipy's ``hyp2f1`` (1.17) is accurate to ~1e-12 in the
    log (checked against the Euler-transformed series over a = 0.3..400,
    b = 0.1..60: 6e-15 up to z = 0.99, 2e-12 up to 0.9999) and 25x faster than
    the quadrature below; closer to 1 it returns NaN for large ``a``. There (and
    wherever scipy returns a non-finite value) we use the integral representation

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
        with np.errstate(all="ignore"):
            out[small] = np.log(hyp2f1(a[small], b[small], a[small] + 1.0, z[small]))
    big = ~small | ~np.isfinite(out)
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


_PEAK_NODES = 24
_PX, _PW = roots_legendre(_PEAK_NODES)
_QUAD_BLOCK = 4096  # rows per block of the quadrature (4096 x 24 nodes x 8 bytes = 768 KiB an array)
_PEAK_DROP = 46.0  # the integrand is cut where it is e^-46 (1e-20) below its peak


def pnbd_integral(p, q, A, C, t0, t1) -> dict:
    """``I = int_{t0}^{t1} (A+t)^-p (C+t)^-q dt`` and the derivatives of ``log I``, by peak-adapted quadrature.

    The integral of the Pareto/NBD likelihood (with ``p = r+x``, ``q = s+1``,
    ``A = alpha``, ``C = beta``; Fader & Hardie 2005 give it through ``2F1``,
    :func:`log_hyp2f1_a_b_ap1`). Here: substitute ``x = log((m+t)/(m+t0))`` with
    ``m`` the smaller of ``A``, ``C``; in ``x`` the integrand is log-concave
    (``l(x) = (1-P) x - Q log(K + e^x)``, ``K >= 0``) with its singularities at
    distance ``pi`` from the real axis, so after cutting where it has fallen
    ``e^-46`` below its peak (Newton steps on the concave ``l``, which
    converge monotonically) a 24-node Gauss-Legendre rule is accurate to ~1e-11
    in the log (1e-14 at 32 nodes)
    (tested against the ``2F1`` form). The same nodes give, without extra
    special functions, ``d log I / d A, C, p, q`` (``-p E[1/(A+t)]``,
    ``-q E[1/(C+t)]``, ``-E[log(A+t)]``, ``-E[log(C+t)]`` under the normalised
    integrand), which makes the covariate likelihoods' gradients analytic.

    Returns a dict of arrays ``log``, ``dA``, ``dC``, ``dp``, ``dq`` (``-inf`` and
    zeros where ``t0 == t1``).
    """
    p, q, A, C, t0, t1 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (p, q, A, C, t0, t1)))
    shape = p.shape
    p, q, A, C, t0, t1 = (v.ravel() for v in (p, q, A, C, t0, t1))
    swap = C < A
    P, Q = np.where(swap, q, p), np.where(swap, p, q)
    Am, Cm = np.where(swap, C, A), np.where(swap, A, C)
    b0 = Am + t0
    lb0 = np.log(b0)
    K = (Cm - Am) / b0
    with np.errstate(divide="ignore"):
        X = np.log(Am + t1) - lb0
    live = X > 0
    n = len(p)
    out = {"log": np.full(n, -np.inf), "dA": np.zeros(n), "dC": np.zeros(n), "dp": np.zeros(n), "dq": np.zeros(n)}
    if live.any():
        _peak_quadrature(P[live], Q[live], K[live], X[live], lb0[live], swap[live], live, out)
    return {k: v.reshape(shape) for k, v in out.items()}


def _peak_quadrature(P, Q, K, X, lb0, swap, live, out):
    def ell(x):
        return (1.0 - P) * x - Q * np.log(K + np.exp(x))

    def slope(x):
        ex = np.exp(x)
        return (1.0 - P) - Q * ex / (K + ex)

    # mode of the concave l on [0, X]
    s0, sX = slope(np.zeros_like(X)), slope(X)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.log(K * (1.0 - P) / (Q - 1.0 + P))
    mode = np.where(s0 <= 0, 0.0, np.where(sX >= 0, X, np.clip(inner, 0.0, X)))
    mode = np.where(np.isfinite(mode), mode, 0.0)
    top = ell(mode)
    level = top - _PEAK_DROP

    def cut(start, toward):
        x = start.copy()
        need = ell(x) < level
        for _ in range(8):  # Newton on l(x) = level from outside the peak: monotone for concave l
            if not need.any():
                break
            g = ell(x) - level
            d = slope(x)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = -g / d
            new = np.where(need & np.isfinite(step), x + step, x)
            lo, hi = np.minimum(start, toward), np.maximum(start, toward)
            x = np.clip(new, lo, hi)
        return np.where(need, x, start)

    lo = cut(np.zeros_like(X), mode)
    hi = cut(X, mode)
    half = (hi - lo) / 2.0
    mid = (lo + hi) / 2.0
    log_i = np.empty_like(X)
    e_log_m, e_log_M, e_inv_m, e_inv_M = (np.empty_like(X) for _ in range(4))
    # the rows x nodes arrays are formed a block of rows at a time: blocks that stay in the CPU cache
    # make the quadrature about twice as fast on a million rows as whole-column arrays
    for i in range(0, len(X), _QUAD_BLOCK):
        b = slice(i, i + _QUAD_BLOCK)
        xs = mid[b, None] + half[b, None] * _PX
        ex = np.exp(xs)
        Ke = K[b, None] + ex
        log_Ke = np.log(Ke)
        wk = _PW * np.exp((1.0 - P[b])[:, None] * xs - Q[b, None] * log_Ke - top[b, None])
        total = wk.sum(axis=1)
        pi = wk / total[:, None]
        # E[log(m+t)], E[log(M+t)], E[1/(m+t)], E[1/(M+t)] with m+t = b0 e^x, M+t = b0 (K + e^x)
        e_log_m[b] = (pi * xs).sum(axis=1)
        e_log_M[b] = (pi * log_Ke).sum(axis=1)
        e_inv_m[b] = (pi / ex).sum(axis=1)
        e_inv_M[b] = (pi / Ke).sum(axis=1)
        log_i[b] = np.log(total * half[b])
    b0 = np.exp(lb0)
    e_log_m += lb0
    e_log_M += lb0
    e_inv_m /= b0
    e_inv_M /= b0
    log_i += (1.0 - P - Q) * lb0 + top
    # back to (A, p) and (C, q)
    e_log_A = np.where(swap, e_log_M, e_log_m)
    e_log_C = np.where(swap, e_log_m, e_log_M)
    e_inv_A = np.where(swap, e_inv_M, e_inv_m)
    e_inv_C = np.where(swap, e_inv_m, e_inv_M)
    p_ = np.where(swap, Q, P)
    q_ = np.where(swap, P, Q)
    out["log"][live] = log_i
    out["dA"][live] = -p_ * e_inv_A
    out["dC"][live] = -q_ * e_inv_C
    out["dp"][live] = -e_log_A
    out["dq"][live] = -e_log_C
