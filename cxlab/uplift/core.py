"""The propensity and outcome-model core shared by every uplift estimator.

One home for the nuisance models of the causal estimators — the cross-sectional
:func:`cxlab.uplift.treatment_effect` and the loyalty pre/post DiD alike:

* :func:`fit_logit` — maximum-likelihood logistic regression on a
  **standardised** design (columns centred and scaled, so ``re74²`` in dollars²
  and a 0/1 dummy have the same footing), by Newton–Raphson **with step
  halving** (a step is accepted only if the log-likelihood rises, Armijo rule)
  and a **separation check** (fitted probabilities pinned at 0 or 1 mean the
  maximum-likelihood estimate does not exist). Results are mapped back to the
  original scale and equal ``statsmodels.Logit`` to 1e-6 wherever that
  converges (tested on LaLonde and simulated designs).
* :func:`fit_ols` — least squares (QR on the standardised design), optionally
  weighted, with the inverse Gram matrix the influence functions need.
* :func:`trim_sample` — the overlap rules, stated in every result.

Why hand-written and not ``statsmodels.Logit``: the loyalty analysis fits the
propensity on up to a million customers; ``benchmarks/bench_uplift.py``
measures this fit against ``statsmodels.Logit(...).fit(method="newton")`` on
the same design (statsmodels copies the design several times per iteration
and runs the products on all cores, which on a shared machine is slower).
The numbers are the same (``tests/uplift/test_core.py``).

Plain Newton–Raphson without step control (what cxlab had before) diverges on
NSW treated + CPS-1 controls: the log-likelihood went −6165 → −14332 →
−1.5e16, because the design is badly scaled (earnings squared ~1e9) and the
first full Newton step from the intercept-only start overshoots. Both the
standardisation and the step halving are needed to make such failures
impossible rather than unlikely.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlab.uplift._utils import as_float_array, single_thread_blas

__all__ = ["LogitFit", "OLSFit", "SeparationError", "fit_logit", "fit_ols", "standardise", "trim_sample", "TRIM_RULES"]

#: fitted probabilities closer than this to 0 or 1 count as "pinned" (separation)
PINNED = 1e-8


class SeparationError(ValueError):
    """The propensity model separates treated from untreated (no finite MLE)."""


@dataclass
class LogitFit:
    """A fitted logistic regression.

    Attributes
    ----------
    coef : ndarray
        Coefficients on the original scale of the design (intercept first).
    prob : ndarray
        Fitted probabilities.
    vcov : ndarray
        Inverse of the information matrix (original scale): the usual
        maximum-likelihood covariance, as ``statsmodels.Logit.cov_params()``.
    loglik : float
    n_iter : int
        Newton iterations used; ``n_halvings`` step halvings in total.
    converged : bool
    names : list of str
        Column names (``"const"`` first) when known.
    n_pinned : int
        Rows with a fitted probability within 1e-8 of 0 or 1 (0 when the MLE exists).
    """

    coef: np.ndarray
    prob: np.ndarray
    vcov: np.ndarray
    loglik: float = float("nan")
    n_iter: int = 0
    n_halvings: int = 0
    converged: bool = True
    names: list[str] = field(default_factory=list)
    n_pinned: int = 0


@dataclass
class OLSFit:
    """Least squares: ``coef`` (original scale), ``fitted``, ``resid`` and ``gram_inv``
    = (X'WX / n)⁻¹ (what the influence functions multiply by)."""

    coef: np.ndarray
    fitted: np.ndarray
    resid: np.ndarray
    gram_inv: np.ndarray


def standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and scale every column except the intercept (column 0).

    Returns ``(Z, mean, scale)`` with ``Z[:, k] = (X[:, k] − mean[k]) / scale[k]``
    (``mean[0] = 0, scale[0] = 1``). Constant columns (scale 0) are an error:
    they duplicate the intercept.
    """
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    mean[0], scale[0] = 0.0, 1.0
    if np.any(scale[1:] == 0):
        raise ValueError(f"design column(s) {list(np.flatnonzero(scale == 0))} are constant (they duplicate the intercept)")
    return (X - mean) / scale, mean, scale


def _unstandardise(beta_z: np.ndarray, vcov_z: np.ndarray, mean: np.ndarray, scale: np.ndarray):
    """Map coefficients of the standardised design back: β_k = β^z_k / s_k, β_0 = β^z_0 − Σ β_k m_k."""
    A = np.diag(1.0 / scale)
    A[0, 1:] = -mean[1:] / scale[1:]
    return A @ beta_z, A @ vcov_z @ A.T


def _separating_direction(Z: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """A direction ``b`` with ``(2y − 1) z'b ≥ 0`` for every row and ``> 0`` for some — (quasi-)
    complete separation, the condition under which no finite MLE exists (Albert & Anderson 1984) —
    found by a linear program (Konis 2007), or None when the data overlap."""
    from scipy.optimize import linprog

    s = 2 * y - 1
    A = -(Z * s[:, None])
    # minimise −Σ s z'b = Σ A b subject to A b ≤ 0, |b| ≤ 1: zero unless a separating direction exists
    res = linprog(c=A.sum(axis=0), A_ub=A, b_ub=np.zeros(len(y)), bounds=[(-1, 1)] * Z.shape[1], method="highs")
    if res.status != 0 or res.fun > -1e-6 * np.sqrt(len(y)):
        return None
    return res.x


def _loglik(eta: np.ndarray, y: np.ndarray) -> float:
    # log L = Σ y η − log(1 + e^η), written stably
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _expit(eta: np.ndarray) -> np.ndarray:
    out = np.empty_like(eta)
    pos = eta >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-eta[pos]))
    e = np.exp(eta[~pos])
    out[~pos] = e / (1.0 + e)
    return out


@single_thread_blas()
def fit_logit(
    X: np.ndarray,
    d: np.ndarray,
    *,
    names: list[str] | None = None,
    max_iter: int = 100,
    tol: float = 1e-15,
    on_separation: str = "raise",
) -> LogitFit:
    """Maximum-likelihood logit by damped Newton–Raphson on the standardised design.

    Parameters
    ----------
    X : ndarray (n, k)
        Design with the intercept in column 0.
    d : array of bool / 0-1
        The treatment indicator.
    names : list of str, optional
        Column names, used in messages.
    max_iter, tol : int, float
        Stop when the Newton decrement ``gᵀH⁻¹g / 2`` (the log-likelihood gain
        the next full step promises) is below ``tol · (1 + |log L|)``, after
        taking that last full step (it squares the coefficients' remaining error).
    on_separation : {"raise", "warn"}
        What to do when fitted probabilities are pinned at 0 or 1 (complete or
        quasi-complete separation: some covariate pattern is only ever treated
        or only ever untreated, so the maximum-likelihood estimate is at
        infinity). ``"raise"`` stops with a :class:`SeparationError` naming the
        columns with the largest standardised coefficients; ``"warn"`` returns
        the last iterate with ``converged=False`` and ``n_pinned`` set.

    Notes
    -----
    Each iteration solves ``H s = g`` on the standardised design (Cholesky) and
    halves the step until the log-likelihood does not fall (at most 30 times).
    The log-likelihood is concave, so this converges from any start; it starts
    from the intercept-only MLE.
    """
    X = np.asarray(X, dtype="float64")
    y = np.asarray(d, dtype="float64")
    n, k = X.shape
    if y.shape != (n,):
        raise ValueError(f"propensity design has {n} rows but the treatment has {y.shape[0]}")
    names = list(names) if names is not None else [f"x{j}" for j in range(k)]
    n1 = y.sum()
    if n1 == 0 or n1 == n:
        raise ValueError("the treatment indicator is constant: need both treated and untreated rows")
    if on_separation not in ("raise", "warn"):
        raise ValueError(f"on_separation must be 'raise' or 'warn', got {on_separation!r}")
    Z, mean, scale = standardise(X)
    beta = np.zeros(k)
    beta[0] = np.log(n1 / (n - n1))
    eta = Z @ beta
    ll = _loglik(eta, y)
    converged = False
    halvings = 0
    it = 0
    for it in range(1, max_iter + 1):
        p = _expit(eta)
        g = Z.T @ (y - p)
        H = (Z * (p * (1 - p))[:, None]).T @ Z
        try:
            L = np.linalg.cholesky(H)
            step = np.linalg.solve(L.T, np.linalg.solve(L, g))
        except np.linalg.LinAlgError:  # singular information: collinear columns or separation
            step = np.linalg.lstsq(H, g, rcond=None)[0]
        decrement = float(g @ step) / 2
        if decrement < tol * (1 + abs(ll)):
            # the log-likelihood is flat to `tol`, but the coefficients are only within about
            # sqrt(decrement) of the optimum: Newton's last full step squares that error away
            new_beta = beta + step
            new_eta = Z @ new_beta
            new_ll = _loglik(new_eta, y)
            if np.isfinite(new_ll) and new_ll >= ll - 1e-12 * (1 + abs(ll)):
                beta, eta, ll = new_beta, new_eta, new_ll
            converged = True
            break
        t = 1.0
        for _ in range(30):
            new_beta = beta + t * step
            new_eta = Z @ new_beta
            new_ll = _loglik(new_eta, y)
            if new_ll >= ll + 1e-4 * t * 2 * decrement or new_ll >= ll and t < 1e-6:
                break
            t /= 2
            halvings += 1
        else:
            converged = True  # no ascent direction left: at the optimum to machine precision
            break
        beta, eta, ll = new_beta, new_eta, new_ll
    p = _expit(eta)
    pinned = int(np.sum((p < PINNED) | (p > 1 - PINNED)))
    # pinned probabilities alone are not separation (a very rich control in a job-training sample
    # has a propensity of 1e-9 and a finite MLE): the linear program decides
    direction = _separating_direction(Z, y) if (pinned or not converged) else None
    if direction is not None:
        order = np.argsort(-np.abs(direction[1:]))[:3] + 1
        msg = (f"the propensity model separates treated from untreated (a combination of covariates "
               f"predicts treatment perfectly for some rows; {pinned} row(s) have fitted probability within "
               f"{PINNED:g} of 0 or 1), so the maximum-likelihood estimate does not exist; the separating "
               f"direction loads on " + ", ".join(names[j] for j in order if abs(direction[j]) > 1e-9)
               + ". Drop or coarsen those covariates, or restrict the sample to common support.")
        if on_separation == "raise":
            raise SeparationError(msg)
        warnings.warn(msg, stacklevel=2)
        converged = False
    elif not converged:
        warnings.warn(f"propensity logit did not converge in {max_iter} iterations", stacklevel=2)
    H = (Z * (p * (1 - p))[:, None]).T @ Z
    try:
        vcov_z = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        vcov_z = np.linalg.pinv(H)
    coef, vcov = _unstandardise(beta, vcov_z, mean, scale)
    return LogitFit(coef=coef, prob=p, vcov=vcov, loglik=ll, n_iter=it, n_halvings=halvings,
                    converged=converged, names=names, n_pinned=pinned)


@single_thread_blas()
def fit_ols(X: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> OLSFit:
    """(Weighted) least squares on the standardised design, by QR.

    ``gram_inv`` is ``(X'WX / n)⁻¹`` on the original scale (pseudo-inverse when
    the design is rank deficient), with ``n`` the number of rows.
    """
    X = np.asarray(X, dtype="float64")
    y = np.asarray(y, dtype="float64")
    n, k = X.shape
    if n < k:
        raise ValueError(f"the outcome regression has {k} coefficients but only {n} rows")
    Z, mean, scale = standardise(X) if k > 1 else (X, np.zeros(1), np.ones(1))
    sw = np.sqrt(weights) if weights is not None else None
    Zw = Z * sw[:, None] if sw is not None else Z
    yw = y * sw if sw is not None else y
    beta_z, *_ = np.linalg.lstsq(Zw, yw, rcond=None)
    gram_z = Zw.T @ Zw / n
    gram_inv_z = np.linalg.pinv(gram_z)
    coef, gram_inv = _unstandardise(beta_z, gram_inv_z, mean, scale)
    fitted = X @ coef
    return OLSFit(coef=coef, fitted=fitted, resid=y - fitted, gram_inv=gram_inv)


#: the overlap rules :func:`trim_sample` knows, in the words the results print
TRIM_RULES = {
    None: "no trimming",
    "common_support": "common support (Dehejia & Wahba 1999): controls with a propensity below the smallest "
                      "treated propensity and treated above the largest control propensity are dropped",
    "crump": "Crump, Hotz, Imbens & Mitnik (2009): units with a propensity outside [{a:g}, {b:g}] are dropped",
}


def trim_sample(propensity: np.ndarray, treated: np.ndarray, rule: str | float | None, *, estimand: str = "ATT"):
    """Rows kept by an overlap rule, and the rule in words.

    Parameters
    ----------
    rule : None, "common_support", "crump" or float
        ``None``: keep all. ``"common_support"``: the Dehejia–Wahba rule. ``"crump"``:
        keep ``0.1 ≤ e ≤ 0.9``; a float ``a`` keeps ``a ≤ e ≤ 1 − a`` (for the ATT only
        the upper bound applies to the treated: ``e ≤ 1 − a``, and controls with
        ``e < a`` weigh almost nothing, so they are kept).

    Returns
    -------
    keep : bool ndarray, description : str
    """
    e = np.asarray(propensity, dtype="float64")
    t = np.asarray(treated, dtype=bool)
    if rule is None:
        return np.ones(len(e), dtype=bool), TRIM_RULES[None]
    if isinstance(rule, str) and rule == "common_support":
        lo, hi = e[t].min(), e[~t].max()
        keep = np.where(t, e <= hi, e >= lo)
        return keep, TRIM_RULES["common_support"]
    if isinstance(rule, str) and rule == "crump":
        rule = 0.1
    if isinstance(rule, (int, float)) and not isinstance(rule, bool) and 0 < rule < 0.5:
        a = float(rule)
        keep = e <= 1 - a if estimand == "ATT" else (e >= a) & (e <= 1 - a)
        if estimand == "ATT":
            return keep, f"units with a propensity above {1 - a:g} are dropped (Crump et al. 2009 rule for the ATT)"
        return keep, TRIM_RULES["crump"].format(a=a, b=1 - a)
    raise ValueError(f"trim must be None, 'common_support', 'crump' or a number in (0, 0.5), got {rule!r}")


def design_frame(data: pd.DataFrame, covariates, what: str = "the data") -> tuple[np.ndarray, list[str]]:
    """Design matrix (intercept first) from named columns: numbers as they are, bool as 0/1,
    categories one-hot with the first level dropped; constant columns are an error naming them."""
    from cxlab.uplift._utils import require_columns

    covariates = list(covariates)
    require_columns(data, covariates, what)
    parts, names = [], ["const"]
    for col in covariates:
        s = data[col]
        if (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) and not isinstance(s.dtype, pd.CategoricalDtype):
            parts.append(as_float_array(s, col)[:, None])
            names.append(str(col))
        else:
            if s.isna().any():
                raise ValueError(f"column {col!r} has {int(s.isna().sum())} missing values")
            dummies = pd.get_dummies(s.astype("string"), prefix=col, drop_first=True, dtype="float64")
            if dummies.shape[1] == 0:
                raise ValueError(f"covariate {col!r} has a single value; drop it")
            parts.append(dummies.to_numpy())
            names += list(dummies.columns.astype(str))
    X = np.column_stack([np.ones(len(data)), *parts]) if parts else np.ones((len(data), 1))
    const = [names[j] for j in range(1, X.shape[1]) if np.ptp(X[:, j]) == 0]
    if const:
        raise ValueError(f"covariate(s) {const} are constant in {what}; drop them")
    return X, names
