"""Time-invariant covariates in the Pareto/NBD and BG/NBD models.

``ParetoNBD().fit(summary, trans_covariates=[...], life_covariates=[...])``
(and the same for :class:`~cxlab.ltv.BGNBD`) lands here. The covariates are
numeric columns of the customer summary. The parameterisation is CLVTools'
(Meierer, Levin & Bachmann; R package CLVTools, ``pnbd``/``bgnbd`` with static
covariates, after Fader & Hardie 2007 "Incorporating time-invariant covariates
into the Pareto/NBD and BG/NBD models"):

* Pareto/NBD: ``alpha_i = alpha * exp(-gamma_trans' x_i)``,
  ``beta_i = beta * exp(-gamma_life' x_i)``. Since ``lambda_i ~ Gamma(r, alpha_i)``
  and ``mu_i ~ Gamma(s, beta_i)``, a unit of covariate ``k`` multiplies every
  customer's purchase rate by ``exp(gamma_trans_k)`` and the dropout rate by
  ``exp(gamma_life_k)``, i.e. the (whole distribution of the) lifetime by
  ``exp(-gamma_life_k)``.
* BG/NBD: ``alpha_i = alpha * exp(-gamma_trans' x_i)``,
  ``a_i = a * exp(gamma_life' x_i)``, ``b_i = b * exp(gamma_life' x_i)``
  (CLVTools' ``bgnbd_staticcov_a_i/b_i``). The life coefficients scale both
  Beta parameters, so they change the spread of the dropout probability, not
  its mean ``a/(a+b)``: they have no lifetime-multiplier reading.

Options as in CLVTools: equality constraints ``gamma_trans_k = gamma_life_k``
for chosen covariates (``constrain_equal``, CLVTools' ``names.cov.constr``) and
L2 penalties on the coefficients (``reg_lambdas={"trans": .., "life": ..}``,
CLVTools' ``reg.lambdas``: the objective is ``LL/N - lambda_trans |g_trans|^2
- lambda_life |g_life|^2``, a constrained coefficient counting in both).

Identical ``(x, t_x, T, covariates)`` rows are fitted once with a count. The
Pareto/NBD likelihood's integral term is evaluated by a peak-adapted
quadrature (:func:`cxlab.ltv._special.pnbd_integral`, checked against the
``2F1`` form :func:`log_integral` of Fader & Hardie 2005) whose nodes also give
its derivatives in every parameter: the gradient is analytic.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import betaln, digamma, gammaln

from cxlab._base import Result, Summary, to_builtin
from cxlab._mle import MLEFit, maximize, numerical_gradient, numerical_hessian
from cxlab.ltv._special import log_hyp2f1_a_b_ap1, pnbd_integral

__all__ = ["CovariateDesign", "CovariateFitResult", "log_integral", "pnbd_log_parts"]

_Z95 = stats.norm.ppf(0.975)
_COEF_BOUND = 30.0


# ---------------------------------------------------------------------------
# design: which covariate enters which process
# ---------------------------------------------------------------------------
@dataclass
class CovariateDesign:
    """Covariates of the purchase (``trans``) and lifetime (``life``) processes.

    Coefficient names follow CLVTools: ``trans.X``, ``life.X`` and, for a
    covariate constrained to the same effect in both, ``constr.X``.
    """

    trans: list[str]
    life: list[str]
    constrained: list[str] = field(default_factory=list)

    @property
    def coefficient_names(self) -> list[str]:
        return ([f"life.{c}" for c in self.life if c not in self.constrained]
                + [f"trans.{c}" for c in self.trans if c not in self.constrained]
                + [f"constr.{c}" for c in self.constrained])

    def expand(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Free coefficients -> (gamma_life per life covariate, gamma_trans per trans covariate)."""
        values = dict(zip(self.coefficient_names, coef))
        life = np.array([values[f"constr.{c}"] if c in self.constrained else values[f"life.{c}"]
                         for c in self.life], dtype=float)
        trans = np.array([values[f"constr.{c}"] if c in self.constrained else values[f"trans.{c}"]
                          for c in self.trans], dtype=float)
        return life, trans

    def jacobian(self) -> tuple[np.ndarray, np.ndarray]:
        """d gamma_life / d coef and d gamma_trans / d coef (0/1 matrices)."""
        names = self.coefficient_names
        Jl = np.zeros((len(self.life), len(names)))
        Jt = np.zeros((len(self.trans), len(names)))
        for i, c in enumerate(self.life):
            Jl[i, names.index(f"constr.{c}" if c in self.constrained else f"life.{c}")] = 1.0
        for i, c in enumerate(self.trans):
            Jt[i, names.index(f"constr.{c}" if c in self.constrained else f"trans.{c}")] = 1.0
        return Jl, Jt

    def without(self, name: str) -> "CovariateDesign":
        """The design with the coefficient ``name`` (e.g. ``"life.Gender"``) set to zero."""
        process, cov = name.split(".", 1)
        life = [c for c in self.life if not (c == cov and process in ("life", "constr"))]
        trans = [c for c in self.trans if not (c == cov and process in ("trans", "constr"))]
        return CovariateDesign(trans, life, [c for c in self.constrained if c != cov])

    @classmethod
    def from_arguments(cls, model_name: str, data: Any, trans: Any, life: Any, constrained: Any,
                       source: str = "the summary") -> "CovariateDesign":
        def as_list(v, arg):
            if v is None:
                return []
            if isinstance(v, str):
                return [v]
            try:
                out = [str(c) for c in v]
            except TypeError:
                raise TypeError(f"{model_name}: {arg} must be a list of column names, got {v!r}") from None
            if len(set(out)) != len(out):
                raise ValueError(f"{model_name}: {arg} lists a column twice: {out}")
            return out

        t, l, c = as_list(trans, "trans_covariates"), as_list(life, "life_covariates"), as_list(constrained,
                                                                                              "constrain_equal")
        bad = [x for x in c if x not in t or x not in l]
        if bad:
            raise ValueError(f"{model_name}: constrain_equal names {bad} must be in both trans_covariates {t} "
                             f"and life_covariates {l}")
        if not isinstance(data, pd.DataFrame):
            raise ValueError(f"{model_name}: covariates are columns of the summary: pass it as a DataFrame")
        missing = [x for x in dict.fromkeys(t + l) if x not in data.columns]
        if missing:
            columns = [c for c in data.columns if c not in ("customer_id", "day")] if source != "the summary" \
                else list(data.columns)
            raise ValueError(f"{model_name}: covariate column(s) {missing} not in {source}; its columns are "
                             f"{columns}")
        return cls(t, l, c)


def covariate_matrix(data: pd.DataFrame, names: Sequence[str], model_name: str) -> np.ndarray:
    """The named columns as a float matrix, with errors naming column and rows."""
    if not names:
        return np.zeros((len(data), 0))
    out = np.empty((len(data), len(names)))
    for j, name in enumerate(names):
        col = data[name]
        if col.dtype == bool:
            col = col.astype(float)
        try:
            v = pd.to_numeric(col, errors="raise").to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{model_name}: covariate {name!r} must be numeric (0/1 for a category); "
                             f"got values like {col.iloc[:3].tolist()}") from None
        bad = ~np.isfinite(v)
        if bad.any():
            rows = [str(i) for i in data.index[bad][:5]]
            raise ValueError(f"{model_name}: covariate {name!r} is missing or infinite in {bad.sum()} row(s), "
                             f"e.g. {', '.join(rows)}")
        out[:, j] = v
    return out


def check_reg_lambdas(model_name: str, reg_lambdas: Any) -> tuple[float, float]:
    if reg_lambdas is None:
        return 0.0, 0.0
    if isinstance(reg_lambdas, (int, float)):
        reg_lambdas = {"trans": float(reg_lambdas), "life": float(reg_lambdas)}
    if not isinstance(reg_lambdas, dict) or set(reg_lambdas) - {"trans", "life"}:
        raise ValueError(f"{model_name}: reg_lambdas must be a number or a dict with keys 'trans' and/or 'life', "
                         f"got {reg_lambdas!r}")
    lt, ll = float(reg_lambdas.get("trans", 0.0)), float(reg_lambdas.get("life", 0.0))
    if not (np.isfinite(lt) and np.isfinite(ll)) or lt < 0 or ll < 0:
        raise ValueError(f"{model_name}: reg_lambdas must be >= 0, got {reg_lambdas!r}")
    return lt, ll


# ---------------------------------------------------------------------------
# the Pareto/NBD integral and per-row likelihood parts
# ---------------------------------------------------------------------------
def log_power_term(p, q, alpha, beta, t):
    """``log[2F1(a, b; a+1; |alpha-beta|/(max+t)) / (max+t)^a]`` with ``a = p+q-1``.

    ``b = q`` when ``alpha >= beta`` (else ``p``, with the roles swapped): minus
    ``a`` times the antiderivative of ``(alpha+t)^-p (beta+t)^-q`` in ``t``
    (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model", eq. 19-20,
    for ``p = r+x``, ``q = s+1``).
    """
    ge = alpha >= beta
    M = np.where(ge, alpha, beta)
    b = np.where(ge, q, p)
    a = p + q - 1.0
    return log_hyp2f1_a_b_ap1(a, b, np.abs(alpha - beta) / (M + t)) - a * np.log(M + t)


def log_integral(p, q, alpha, beta, t0, t1):
    """``log of the integral of (alpha+t)^-p (beta+t)^-q over [t0, t1]`` (``-inf`` where ``t0 == t1``)."""
    u0 = log_power_term(p, q, alpha, beta, t0)
    u1 = log_power_term(p, q, alpha, beta, t1)
    return _log_difference(u0, u1) - np.log(p + q - 1.0)


def _log_difference(u0, u1):
    """``log(exp(u0) - exp(u1))`` for ``u0 >= u1`` (``-inf`` when equal)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return u0 + np.log(-np.expm1(np.minimum(u1 - u0, 0.0)))


def pnbd_log_parts(r, s, alpha, beta, x, tx, T):
    """Per-row ``(log of the alive-at-T term, log of the whole bracket)`` of the Pareto/NBD likelihood.

    ``alpha``, ``beta`` may be per-row arrays (covariates). The likelihood is
    ``Gamma(r+x)/Gamma(r) alpha^r beta^s exp(log_bracket)``.
    """
    m = r + x
    log_alive = -m * np.log(alpha + T) - s * np.log(beta + T)
    log_int = pnbd_integral(m, s + 1.0, alpha, beta, tx, T)["log"]
    return log_alive, np.logaddexp(log_alive, np.log(s) + log_int)


# ---------------------------------------------------------------------------
# data: unique (x, t_x, T, covariates) rows
# ---------------------------------------------------------------------------
@dataclass
class CovariateRows:
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    X_trans: np.ndarray
    X_life: np.ndarray
    weight: np.ndarray
    cache: dict = field(default_factory=dict)

    @property
    def n_customers(self) -> float:
        return float(self.weight.sum())


def prepare_rows(model, data: pd.DataFrame, design: CovariateDesign, weights: Any, columns: dict) -> CovariateRows:
    """Validate and collapse the summary to unique (x, t_x, T, covariates) rows with counts."""
    from cxlab.ltv._base import _as_float_array, compress_rows

    cols, index = model._columns_from(data, columns)
    model._validate(cols, index)
    n = len(cols["frequency"])
    if n == 0:
        raise ValueError(f"{model._name}: no customers to fit")
    w = np.ones(n) if weights is None else _as_float_array(weights, "weights")
    if len(w) != n or (~np.isfinite(w)).any() or (w < 0).any():
        raise ValueError(f"{model._name}: weights must be {n} finite non-negative numbers")
    Xt = covariate_matrix(data, design.trans, model._name)
    Xl = covariate_matrix(data, design.life, model._name)
    allc = {"frequency": cols["frequency"], "recency": cols["recency"], "T": cols["T"]}
    for j in range(Xt.shape[1]):
        allc[f"t{j}"] = Xt[:, j]
    for j in range(Xl.shape[1]):
        allc[f"l{j}"] = Xl[:, j]
    u, uw, _ = compress_rows(allc, w)
    keep = uw > 0
    Xt_u = np.column_stack([u[f"t{j}"][keep] for j in range(Xt.shape[1])]) if Xt.shape[1] else np.zeros((keep.sum(), 0))
    Xl_u = np.column_stack([u[f"l{j}"][keep] for j in range(Xl.shape[1])]) if Xl.shape[1] else np.zeros((keep.sum(), 0))
    return CovariateRows(u["frequency"][keep], u["recency"][keep], u["T"][keep], Xt_u, Xl_u, uw[keep])


# ---------------------------------------------------------------------------
# likelihoods in the optimiser's coordinates z = (log base params, coefficients)
# ---------------------------------------------------------------------------
def _individual(base: np.ndarray, gl: np.ndarray, gt: np.ndarray, Xl: np.ndarray, Xt: np.ndarray, family: str):
    if family == "pnbd":
        r, alpha, s, beta = base
        return r, alpha * np.exp(-(Xt @ gt)), s, beta * np.exp(-(Xl @ gl))
    r, alpha, a, b = base
    scale = np.exp(Xl @ gl)
    return r, alpha * np.exp(-(Xt @ gt)), a * scale, b * scale


def pnbd_loglik(z: np.ndarray, d: CovariateRows, design: CovariateDesign, grad: bool = True):
    """Total log-likelihood and (optionally) its analytic gradient in ``z``.

    The integral term and its derivatives come from :func:`cxlab.ltv._special.pnbd_integral`
    (one quadrature per unique row gives the value and all derivatives).
    """
    base = np.exp(z[:4])
    gl, gt = design.expand(z[4:])
    r, alpha_i, s, beta_i = _individual(base, gl, gt, d.X_life, d.X_trans, "pnbd")
    x, tx, T, w = d.frequency, d.recency, d.T, d.weight
    m = r + x
    with np.errstate(all="ignore"):
        integ = pnbd_integral(m, s + 1.0, alpha_i, beta_i, tx, T)
        li = integ["log"]
        log_aT, log_bT = np.log(alpha_i + T), np.log(beta_i + T)
        log_alive = -m * log_aT - s * log_bT
        log_b = np.logaddexp(log_alive, np.log(s) + li)
        rows = gammaln(m) - gammaln(r) + r * np.log(alpha_i) + s * np.log(beta_i) + log_b
    total = float(np.einsum("i,i->", w, rows))
    if not grad:
        return total, None
    pa = np.exp(log_alive - log_b)
    pi = 1.0 - pa
    d_r = digamma(m) - digamma(r) + np.log(alpha_i) - pa * log_aT + pi * integ["dp"]
    d_s = np.log(beta_i) - pa * log_bT + pi * (1.0 / s + integ["dq"])
    d_alpha = r / alpha_i - pa * m / (alpha_i + T) + pi * integ["dA"]
    d_beta = s / beta_i - pa * s / (beta_i + T) + pi * integ["dC"]
    ga = w * d_alpha * alpha_i  # d LL_i / d log alpha_i, weighted
    gb = w * d_beta * beta_i
    g = np.empty(len(z))
    Jl, Jt = design.jacobian()
    g[0], g[2] = r * (w @ d_r), s * (w @ d_s)
    g[1], g[3] = ga.sum(), gb.sum()
    g[4:] = -(ga @ d.X_trans) @ Jt - (gb @ d.X_life) @ Jl
    return total, g


def bgnbd_rows(z: np.ndarray, d: CovariateRows, design: CovariateDesign) -> np.ndarray:
    """Per-row BG/NBD log-likelihood with CLVTools' covariate parameterisation."""
    base = np.exp(z[:4])
    gl, gt = design.expand(z[4:])
    r, alpha_i, a_i, b_i = _individual(base, gl, gt, d.X_life, d.X_trans, "bgnbd")
    x, tx, T = d.frequency, d.recency, d.T
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where(x > 0, np.log(a_i) - np.log(b_i + x - 1.0) - (r + x) * np.log(alpha_i + tx), -np.inf)
    return (gammaln(r + x) - gammaln(r) + r * np.log(alpha_i) + betaln(a_i, b_i + x) - betaln(a_i, b_i)
            + np.logaddexp(-(r + x) * np.log(alpha_i + T), drop))


def bgnbd_loglik(z: np.ndarray, d: CovariateRows, design: CovariateDesign, grad: bool = True):
    def total(zz):
        return float(np.einsum("i,i->", d.weight, bgnbd_rows(zz, d, design)))

    f = total(z)
    return f, (numerical_gradient(total, z) if grad else None)


_FAMILIES = {"pnbd": pnbd_loglik, "bgnbd": bgnbd_loglik}


def fit_covariates(model, data: pd.DataFrame, design: CovariateDesign, *, weights: Any, initial_params: Any,
                   inference: bool, reg_lambdas: Any, columns: dict, time_varying: Any = None) -> None:
    """Fit ``model`` (ParetoNBD or BGNBD) with covariates; sets its fitted attributes.

    ``time_varying`` (a :class:`cxlab.ltv.dyncov.TimeVaryingCovariates`) switches
    to the Pareto/NBD with time-varying covariates.
    """
    family = model._covariate_family
    lam_t, lam_l = check_reg_lambdas(model._name, reg_lambdas)
    if time_varying is None:
        d = prepare_rows(model, data, design, weights, columns)
        _check_variation(model._name, d.X_trans, d.X_life, design)
        loglik = _FAMILIES[family]
    else:
        from cxlab.ltv.dyncov import build_rows, dyn_loglik

        d = build_rows(model, data, time_varying, design, weights)
        _check_variation(model._name, d.run_Xt, d.run_Xl, design)
        loglik = dyn_loglik
    names = list(model._model_params) + design.coefficient_names
    k0 = len(model._model_params)
    n = d.n_customers
    Jl, Jt = design.jacobian()

    def penalised(z):
        f, g = loglik(z, d, design, True)
        gl, gt = design.expand(z[k0:])
        f -= n * (lam_t * gt @ gt + lam_l * gl @ gl)
        g = g.copy()
        g[k0:] -= n * (2 * lam_t * gt @ Jt + 2 * lam_l * gl @ Jl)
        return f, g

    x0 = _start(model, data, design, initial_params, columns, weights, names)
    lo, hi = model._log_bounds
    bounds = [(lo, hi)] * k0 + [(-_COEF_BOUND, _COEF_BOUND)] * len(design.coefficient_names)

    large = len(d.weight) > _LARGE_ROWS

    def hessian(z):
        # on large data forward differences of the gradient halve the cost (standard errors to ~5e-5)
        return numerical_hessian(z, gradient=lambda zz: penalised(zz)[1], forward=large)

    if large and initial_params is None:
        x0 = _presolve(loglik, d, design, x0, bounds, k0, lam_t, lam_l, model)
    fit = maximize(penalised, x0, n_obs=n, bounds=bounds, hessian=hessian, method="L-BFGS-B",
                   max_iter=model.max_iter, ftol=model.tol, extra_starts=[np.r_[x0[:k0] + 0.5, x0[k0:]]],
                   polish_steps=4)
    ll = loglik(fit.x, d, design, False)[0]
    fit = _flag_drifting(fit, names, k0)
    _set_covariate_fit(model, fit, names, k0, ll, d, design, inference, (lam_t, lam_l))
    model.time_varying_ = time_varying


_LARGE_ROWS = 150_000  # unique rows above which a subsample fit provides the start


def _presolve(loglik, d, design, x0, bounds, k0, lam_t, lam_l, model) -> np.ndarray:
    """Fit a random tenth of the unique rows (rough tolerance, no polish) to start the full fit close by."""
    rng = np.random.default_rng(0)
    take = np.sort(rng.choice(len(d.weight), size=max(len(d.weight) // 10, 20_000), replace=False))
    sub = _subset_rows(d, take)
    n = sub.n_customers
    Jl, Jt = design.jacobian()

    def penalised(z):
        f, g = loglik(z, sub, design, True)
        gl, gt = design.expand(z[k0:])
        return (f - n * (lam_t * gt @ gt + lam_l * gl @ gl),
                g - np.r_[np.zeros(k0), n * (2 * lam_t * gt @ Jt + 2 * lam_l * gl @ Jl)])

    fit = maximize(penalised, x0, n_obs=n, bounds=bounds, method="L-BFGS-B", max_iter=model.max_iter, ftol=1e-9,
                   polish_steps=0, hessian=lambda z: np.full((len(z), len(z)), np.nan))
    return fit.x if np.all(np.isfinite(fit.x)) else x0


def _subset_rows(d, take):
    if isinstance(d, CovariateRows):
        return CovariateRows(d.frequency[take], d.recency[take], d.T[take], d.X_trans[take], d.X_life[take],
                             d.weight[take])
    from cxlab.ltv.dyncov import subset_rows

    return subset_rows(d, take)


def _flag_drifting(fit: MLEFit, names, k0) -> MLEFit:
    """A coefficient beyond +-10 (a multiplier of e^10) whose standard error exceeds it has no finite maximum.

    The likelihood then keeps rising, ever more slowly, as the coefficient goes
    to infinity (a covariate that separates the data, like complete separation
    in a logistic regression): the Newton decrement is tiny there only because
    the curvature is, so such a fit is reported as not converged.
    """
    coef = fit.x[k0:]
    se = np.sqrt(np.clip(np.diag(fit.covariance), 0, None))[k0:]
    drifting = (np.abs(coef) > 10) & ~(se < np.abs(coef))
    if not drifting.any():
        return fit
    bad = [names[k0 + i] for i in np.flatnonzero(drifting)]
    return dataclasses.replace(fit, converged=False, message=(
        f"no finite maximum in {bad}: the estimate drifts towards +-infinity (|coefficient| > 10 with a "
        "larger standard error); drop the covariate from that process or penalise it (reg_lambdas)"))


def _start(model, data, design, initial_params, columns, weights, names) -> np.ndarray:
    k0 = len(model._model_params)
    if initial_params is not None:
        if isinstance(initial_params, dict):
            unknown = set(initial_params) - set(names)
            if unknown:
                raise ValueError(f"{model._name}: initial_params has unknown names {sorted(unknown)}; valid: {names}")
            vals = [float(initial_params.get(nm, 0.0 if i >= k0 else np.nan)) for i, nm in enumerate(names)]
        else:
            vals = list(np.asarray(initial_params, dtype=float).ravel())
            if len(vals) == k0:
                vals += [0.0] * (len(names) - k0)
        if len(vals) != len(names) or not np.all(np.isfinite(vals[k0:])) or not all(v > 0 for v in vals[:k0]):
            raise ValueError(f"{model._name}: initial_params must give positive {list(model._model_params)} "
                             f"(and optionally the coefficients {names[k0:]})")
        return np.r_[np.log(vals[:k0]), vals[k0:]]
    if model._covariate_family == "bgnbd":
        # the BG/NBD without covariates is cheap (analytic gradient) and starts the fit near its optimum
        plain = type(model)(max_iter=model.max_iter, tol=model.tol)
        cols = {c: data[c] for c in model._columns}
        cols.update(columns)
        plain.fit(None, weights=weights, inference=False, **cols)
        return np.r_[np.log(plain.params_.to_numpy()), np.zeros(len(names) - k0)]
    # Pareto/NBD: the plain model's numerical gradient costs more than the covariate model's analytic one,
    # so start from its heuristic values with every coefficient at 0
    cols, _ = model._columns_from(data, columns)
    T = cols["T"]
    Tm = max(float(np.mean(T)), 1e-3)
    return np.r_[np.log([1.0, Tm, 1.0, Tm]), np.zeros(len(names) - k0)]


def _check_variation(name: str, X_trans: np.ndarray, X_life: np.ndarray, design: CovariateDesign) -> None:
    for X, cols in ((X_trans, design.trans), (X_life, design.life)):
        for j, c in enumerate(cols):
            if np.ptp(X[:, j]) == 0:
                raise ValueError(f"{name}: covariate {c!r} has the same value for every customer, so its effect "
                                 "is not identified (drop it or centre nothing: a constant is the base parameter)")


def _set_covariate_fit(model, fit: MLEFit, names, k0, ll, d, design, inference, lambdas) -> None:
    z = fit.x
    base = np.exp(z[:k0])
    est = np.r_[base, z[k0:]]
    if inference:
        jac = np.r_[base, np.ones(len(z) - k0)]
        cov = fit.covariance * np.outer(jac, jac)  # delta method for the log-scale base parameters
    else:
        cov = np.full((len(z), len(z)), np.nan)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    half_log = _Z95 * np.sqrt(np.clip(np.diag(fit.covariance), 0, None)) if inference else np.full(len(z), np.nan)
    lower = np.r_[base * np.exp(-half_log[:k0]), z[k0:] - half_log[k0:]]
    upper = np.r_[base * np.exp(half_log[:k0]), z[k0:] + half_log[k0:]]
    model.params_ = pd.Series(est, index=names, name="estimate")
    model.standard_errors_ = pd.Series(se, index=names, name="std_error")
    model.confidence_intervals_ = pd.DataFrame({"lower": lower, "upper": upper}, index=names)
    model.covariance_ = pd.DataFrame(cov, index=names, columns=names)
    model.log_likelihood_ = float(ll)
    k = len(z)
    model.aic_ = 2 * k - 2 * ll
    model.bic_ = k * np.log(d.n_customers) - 2 * ll
    model.n_customers_ = d.n_customers
    model.converged_ = fit.converged
    model.mle_ = fit
    model.covariates_ = design
    model.reg_lambdas_ = {"trans": lambdas[0], "life": lambdas[1]}
    model.result_ = CovariateFitResult(model._name, model.params_, model.standard_errors_,
                                       model.confidence_intervals_, float(ll), model.aic_, model.bic_,
                                       d.n_customers, len(d.weight), fit.converged, fit.message, design,
                                       model._covariate_family, model.reg_lambdas_)


# ---------------------------------------------------------------------------
# results: estimates, multipliers, likelihood-ratio tests
# ---------------------------------------------------------------------------
class CovariateFitResult(Result):
    """Estimates of a covariate model, with the effects as multipliers and (once run) LR tests."""

    def __init__(self, model_name, params, standard_errors, confidence_intervals, log_likelihood, aic, bic,
                 n_customers, n_unique_rows, converged, message, design, family, reg_lambdas):
        self.model_name = model_name
        self.params = params
        self.standard_errors = standard_errors
        self.confidence_intervals = confidence_intervals
        self.log_likelihood = log_likelihood
        self.aic = aic
        self.bic = bic
        self.n_customers = n_customers
        self.n_unique_rows = n_unique_rows
        self.converged = converged
        self.message = message
        self.design = design
        self.family = family
        self.reg_lambdas = reg_lambdas
        self.lr_tests: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        coef = self.design.coefficient_names
        z = pd.Series(np.nan, index=self.params.index)
        z[coef] = self.params[coef] / self.standard_errors[coef]
        p = pd.Series(np.nan, index=self.params.index)
        p[coef] = 2 * stats.norm.sf(np.abs(z[coef]))
        return pd.DataFrame({"estimate": self.params, "std_error": self.standard_errors,
                             "ci_lower_95": self.confidence_intervals["lower"],
                             "ci_upper_95": self.confidence_intervals["upper"], "z": z, "p_value": p})

    def effects(self) -> pd.DataFrame:
        """Each coefficient as a multiplier of the purchase rate and (Pareto/NBD) of the expected lifetime.

        A unit of covariate multiplies the purchase rate by ``exp(g_trans)`` and,
        in the Pareto/NBD, the dropout rate by ``exp(g_life)``, i.e. the
        lifetime (mean, median, every quantile) by ``exp(-g_life)``. Intervals
        are the Wald intervals of the coefficient, transformed.
        """
        rows = []
        for name in self.design.coefficient_names:
            process, cov = name.split(".", 1)
            g, lo, hi = self.params[name], self.confidence_intervals.loc[name, "lower"], \
                self.confidence_intervals.loc[name, "upper"]
            if process in ("trans", "constr"):
                rows.append({"covariate": cov, "coefficient": name, "effect": "purchase rate",
                             "multiplier": np.exp(g), "ci_lower_95": np.exp(lo), "ci_upper_95": np.exp(hi)})
            if process in ("life", "constr"):
                if self.family == "pnbd":
                    with np.errstate(over="ignore"):
                        rows.append({"covariate": cov, "coefficient": name, "effect": "expected lifetime",
                                     "multiplier": np.exp(-g), "ci_lower_95": np.exp(-hi), "ci_upper_95": np.exp(-lo)})
                else:
                    rows.append({"covariate": cov, "coefficient": name, "effect": "scale of Beta(a, b) dropout",
                                 "multiplier": np.exp(g), "ci_lower_95": np.exp(lo), "ci_upper_95": np.exp(hi)})
        return pd.DataFrame(rows)

    def summary(self) -> Summary:
        fit = pd.DataFrame({"value": [self.log_likelihood, self.aic, self.bic, self.n_customers,
                                      float(self.n_unique_rows)]},
                           index=["log-likelihood", "AIC", "BIC", "customers", "unique rows"])
        tables = [("Parameters", self.table()), ("Effects as multipliers (per unit of covariate)", self.effects())]
        if self.lr_tests is not None:
            tables.append(("Likelihood-ratio test of each coefficient", self.lr_tests))
        tables.append(("Fit", fit))
        notes = ["Coefficients: CLVTools' parameterisation (purchase rate x exp(g_trans), dropout rate x "
                 "exp(g_life)); p-values are Wald tests of g = 0; intervals of the positive parameters on the "
                 "log scale."]
        if self.design.constrained:
            notes.append(f"Constrained equal in both processes: {self.design.constrained}.")
        if any(self.reg_lambdas.values()):
            notes.append(f"L2-penalised coefficients (reg_lambdas {self.reg_lambdas}): estimates shrink to 0 and "
                         "the standard errors are those of the penalised objective.")
        if not self.converged:
            notes.append(f"Not converged: {self.message}")
        return Summary(f"{self.model_name} with covariates, maximum-likelihood fit", tables, notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({
            "model": self.model_name, "params": self.params.to_dict(),
            "standard_errors": self.standard_errors.to_dict(),
            "ci_lower_95": self.confidence_intervals["lower"].to_dict(),
            "ci_upper_95": self.confidence_intervals["upper"].to_dict(),
            "effects": self.effects(), "lr_tests": self.lr_tests, "log_likelihood": self.log_likelihood,
            "aic": self.aic, "bic": self.bic, "n_customers": self.n_customers, "converged": self.converged,
            "trans_covariates": self.design.trans, "life_covariates": self.design.life,
            "constrain_equal": self.design.constrained, "reg_lambdas": self.reg_lambdas,
        })


def lr_table(full_ll: float, reduced: dict[str, float]) -> pd.DataFrame:
    """Likelihood-ratio statistics ``2 (LL_full - LL_without)`` with chi-square(1) p-values."""
    rows = []
    for name, ll0 in reduced.items():
        stat = max(2.0 * (full_ll - ll0), 0.0)
        rows.append({"coefficient": name, "log_likelihood_without": ll0, "lr_statistic": stat, "df": 1,
                     "p_value": float(stats.chi2.sf(stat, 1))})
    return pd.DataFrame(rows).set_index("coefficient")
