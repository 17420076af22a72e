""""Buy till you die" models: BG/NBD, MBG/NBD, Pareto/NBD, BG/BB and Gamma-Gamma.

All are fitted by maximum likelihood on a customer summary (one row per
customer: ``frequency`` = number of repeat purchases, ``recency`` = time of the
last purchase since the first, ``T`` = time since the first purchase), with
identical customers collapsed to one weighted row (see :mod:`cxlab.ltv._base`).

Predictions take the same summary (or arrays) and return one value per row:

* ``expected_purchases(t, data)`` — E[repeat purchases in (T, T + t] | history];
* ``expected_purchases_new(t)`` — E[repeat purchases in (0, t]] of a new customer;
* ``probability_alive(data, future=0)`` — P(still active at T + future | history).

References
----------
Fader, Hardie & Lee (2005), "Counting your customers the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2) — BG/NBD.
Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of
models for customer base analysis", IJRM 24(3) — MBG/NBD.
Schmittlein, Morrison & Colombo (1987), Management Science 33(1), and Fader &
Hardie (2005), "A note on deriving the Pareto/NBD model and related
expressions" — Pareto/NBD.
Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time
noncontractual setting", Marketing Science 29(6) — BG/BB.
Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
base analysis", JMR 42(4), and Fader & Hardie (2013), "The Gamma-Gamma model of
monetary value" — Gamma-Gamma.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, expit, gammaln, logsumexp

from cxlab.ltv._base import BTYDModel, RFMData, _first_bad
from cxlab.ltv._special import beta_expectation, log_hyp2f1_a_b_ap1

__all__ = ["BGNBD", "MBGNBD", "ParetoNBD", "BGBB", "GammaGamma"]


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    # einsum, not BLAS: a threaded ddot is very slow on a busy machine
    return float(np.einsum("i,i->", u, v))


def _x_groups(d: RFMData) -> tuple[np.ndarray, np.ndarray]:
    """Unique frequencies and each row's index into them (cached per data set)."""
    if "x_groups" not in d.cache:
        d.cache["x_groups"] = np.unique(d.frequency, return_inverse=True)
    return d.cache["x_groups"]


class _ContinuousModel(BTYDModel):
    """Prediction API shared by the continuous-time transaction models.

    :class:`ParetoNBD` and :class:`BGNBD` also take time-invariant covariates
    (:mod:`cxlab.ltv.covariates`); their predictions then use each customer's
    own covariates from the summary passed to them.
    """

    _covariate_family: str | None = None  # "pnbd" / "bgnbd" where covariates are supported

    def fit(self, data: Any = None, *, weights: Any = None, initial_params: Any = None, inference: bool = True,
            trans_covariates: Any = None, life_covariates: Any = None, constrain_equal: Any = None,
            reg_lambdas: Any = None, time_varying: Any = None, **columns: Any) -> "_ContinuousModel":
        """Fit by maximum likelihood, optionally with time-invariant covariates.

        Parameters
        ----------
        data, weights, initial_params, inference, **columns
            As in :meth:`cxlab.ltv.BTYDModel.fit`.
        trans_covariates, life_covariates : list of str, optional
            Numeric columns of ``data`` that shift the purchase (``trans``) and
            the lifetime (``life``) process, CLVTools' parameterisation (see
            :mod:`cxlab.ltv.covariates`). Coefficients are named ``trans.X`` /
            ``life.X`` in ``params_``.
        constrain_equal : list of str, optional
            Covariates (in both lists) whose effect is the same in both
            processes (one coefficient ``constr.X``).
        reg_lambdas : float or dict, optional
            L2 penalties ``{"trans": .., "life": ..}`` on the coefficients.
        time_varying : TimeVaryingCovariates, optional
            Pareto/NBD only: the covariates named in ``trans_covariates`` /
            ``life_covariates`` are taken from this per-customer, per-period
            table instead of the summary (:mod:`cxlab.ltv.dyncov`; Bachmann,
            Meierer & Näf 2021). The summary needs ``first_purchase``.
        """
        self._forget_covariates()
        if any(v is not None for v in (trans_covariates, life_covariates, constrain_equal, reg_lambdas,
                                       time_varying)):
            if self._covariate_family is None:
                raise ValueError(f"{self._name} has no covariate version; ParetoNBD and BGNBD take covariates")
            from cxlab.ltv.covariates import CovariateDesign, fit_covariates

            if time_varying is not None:
                from cxlab.ltv.dyncov import TimeVaryingCovariates

                if self._covariate_family != "pnbd":
                    raise ValueError(f"{self._name}: time-varying covariates are implemented for ParetoNBD only")
                if not isinstance(time_varying, TimeVaryingCovariates):
                    raise TypeError("time_varying must be a cxlab.ltv.TimeVaryingCovariates, got "
                                    f"{type(time_varying).__name__}")
                design = CovariateDesign.from_arguments(self._name, time_varying.panel, trans_covariates,
                                                        life_covariates, constrain_equal,
                                                        source="the time-varying panel")
            else:
                design = CovariateDesign.from_arguments(self._name, data, trans_covariates, life_covariates,
                                                        constrain_equal)
            if not design.trans and not design.life:
                raise ValueError(f"{self._name}: reg_lambdas/constrain_equal need trans_covariates or "
                                 "life_covariates")
            self._check_keywords(columns)
            if time_varying is not None and columns:
                raise TypeError(f"{self._name}: column overrides {list(columns)} are not supported with "
                                "time-varying covariates; pass the summary")
            fit_covariates(self, data, design, weights=weights, initial_params=initial_params, inference=inference,
                           reg_lambdas=reg_lambdas, columns=columns, time_varying=time_varying)
            return self
        return super().fit(data, weights=weights, initial_params=initial_params, inference=inference, **columns)

    def _forget_covariates(self) -> None:
        for attr in ("covariates_", "reg_lambdas_", "time_varying_", "lr_tests_"):
            self.__dict__.pop(attr, None)

    @property
    def _with_covariates(self) -> bool:
        return getattr(self, "covariates_", None) is not None

    def _theta(self, params: Any = None) -> np.ndarray:
        if not self._with_covariates:
            return super()._theta(params)
        names = list(self.params_.index)
        if params is None:
            return self.params_.to_numpy(dtype=float)
        if isinstance(params, (dict, pd.Series)):
            return np.array([float(params[k]) for k in names])
        theta = np.asarray(params, dtype=float).ravel()
        if len(theta) != len(names):
            raise ValueError(f"{self._name}: expected parameters {names}, got {len(theta)} values")
        return theta

    def _rows(self, data: Any = None, **overrides: Any) -> RFMData:
        d = super()._rows(data, **overrides)
        if self._with_covariates:
            from cxlab.ltv.covariates import covariate_matrix

            design = self.covariates_
            if not isinstance(data, pd.DataFrame):
                raise ValueError(f"{self._name} was fitted with covariates {design.trans + design.life}: "
                                 "predictions need the summary frame with those columns")
            missing = [c for c in dict.fromkeys(design.trans + design.life) if c not in data.columns]
            if missing and getattr(self, "time_varying_", None) is None:
                raise ValueError(f"{self._name}: covariate column(s) {missing} missing from the data to predict "
                                 "for (the model was fitted with them)")
            if getattr(self, "time_varying_", None) is not None:
                from cxlab.ltv.dyncov import build_rows

                d.extra["dyn"] = build_rows(self, data, self.time_varying_, design, collapse=False)
                return d
            d.extra["X_trans"] = covariate_matrix(data, design.trans, self._name)
            d.extra["X_life"] = covariate_matrix(data, design.life, self._name)
        return d

    def _individual_params(self, theta: np.ndarray, d: RFMData):
        """The four model parameters, per customer (arrays) when fitted with covariates.

        With time-varying covariates these are the *effective* ``alpha``/``beta``
        for the future, covariates held at their value at ``T``:
        ``(alpha + B(T)) / a_T - T`` (and likewise ``beta``), so the
        time-invariant formulas for the future apply unchanged.
        """
        if "dyn" in d.extra:
            from cxlab.ltv.dyncov import dyn_parts

            gl, gt = self.covariates_.expand(theta[4:])
            p = dyn_parts(theta[:4], gl, gt, d.extra["dyn"])
            return (theta[0], (theta[1] + p["BT"]) / p["a_T"] - d.T, theta[2], (theta[3] + p["DT"]) / p["c_T"] - d.T)
        if not self._with_covariates or "X_trans" not in d.extra:
            return tuple(theta[:4])
        from cxlab.ltv.covariates import _individual

        gl, gt = self.covariates_.expand(theta[4:])
        return _individual(theta[:4], gl, gt, d.extra["X_life"], d.extra["X_trans"], self._covariate_family)

    def log_likelihood(self, data: Any = None, params: Any = None, weights: Any = None, **columns: Any) -> float:
        """Log-likelihood of ``data`` at ``params`` (default: the fitted ones)."""
        if not self._with_covariates:
            return super().log_likelihood(data, params, weights, **columns)
        from cxlab.ltv.covariates import _FAMILIES, prepare_rows

        theta = self._theta(params)
        z = np.r_[np.log(theta[:4]), theta[4:]]
        if getattr(self, "time_varying_", None) is not None:
            from cxlab.ltv.dyncov import build_rows, dyn_loglik

            return dyn_loglik(z, build_rows(self, data, self.time_varying_, self.covariates_, weights),
                              self.covariates_, False)[0]
        d = prepare_rows(self, data, self.covariates_, weights, columns)
        return _FAMILIES[self._covariate_family](z, d, self.covariates_, False)[0]

    def likelihood_ratio_tests(self, data: pd.DataFrame, *, weights: Any = None,
                               coefficients: Sequence[str] | None = None, **columns: Any) -> pd.DataFrame:
        """Likelihood-ratio test of each coefficient (refit without it); also shown in ``summary()``.

        ``data`` must be the summary the model was fitted on. Returns one row
        per coefficient: the log-likelihood without it, ``2 (LL - LL_without)``
        and its chi-square(1) p-value. ``coefficients`` limits the tests to
        those names (one refit each; default: every coefficient).
        """
        self._check_fitted()
        if not self._with_covariates:
            raise ValueError(f"{self._name} was fitted without covariates: nothing to test")
        from cxlab.ltv.covariates import lr_table

        design = self.covariates_
        names = list(design.coefficient_names) if coefficients is None else list(coefficients)
        unknown = sorted(set(names) - set(design.coefficient_names))
        if unknown:
            raise ValueError(f"{self._name}: no coefficient(s) {unknown}; the model has {design.coefficient_names}")
        reduced = {}
        for name in names:
            smaller = design.without(name)
            m = type(self)(**self.get_params())
            if smaller.trans or smaller.life:
                start = {k: v for k, v in self.params_.items() if k in list(self._model_params)
                         + smaller.coefficient_names}
                if smaller.constrained != design.constrained:  # a constrained coefficient split in two
                    start = dict(self.params_[list(self._model_params)])
                m.fit(data, weights=weights, inference=False, initial_params=start, trans_covariates=smaller.trans,
                      life_covariates=smaller.life, constrain_equal=smaller.constrained or None,
                      reg_lambdas=self.reg_lambdas_ if any(self.reg_lambdas_.values()) else None,
                      time_varying=getattr(self, "time_varying_", None), **columns)
            else:
                m.fit(None, weights=weights, inference=False, **{c: data[c] for c in self._columns}, **columns)
            reduced[name] = m.log_likelihood_
        table = lr_table(self.log_likelihood_, reduced)
        self.result_.lr_tests = table
        self.lr_tests_ = table
        return table

    def simulate(self, T: Any, *, params: Any = None, seed: int | None = None) -> pd.DataFrame:
        """Simulate customer summaries (frequency, recency, T) from the model (no covariates)."""
        if self._with_covariates:
            raise ValueError(f"{self._name}: simulate() draws from the model without covariates; this one was "
                             "fitted with covariates (use prediction_intervals(method='asymptotic'))")
        T = np.asarray(T, dtype=float).ravel()
        return self._simulate(self._theta(params), T, np.random.default_rng(seed))

    def expected_purchases(self, t: Any, data: Any = None, *, params: Any = None, **columns: Any) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + t]`` for each customer, given their history.

        ``t`` scalar: one value per customer; ``t`` 1-d array: shape ``(len(t), n_customers)``.
        """
        ts = np.atleast_1d(np.asarray(t, dtype=float))
        if ts.ndim != 1 or (ts < 0).any():
            raise ValueError(f"t must be a non-negative number or 1-d array, got {t!r}")
        out = self._expected(self._theta(params), ts, self._rows(data, **columns))
        return out[0] if np.ndim(t) == 0 else out

    def probability_alive(self, data: Any = None, *, future: float = 0.0, params: Any = None,
                          **columns: Any) -> np.ndarray:
        """P(customer is still active at ``T + future`` | history)."""
        if future < 0:
            raise ValueError(f"future must be >= 0, got {future}")
        return self._p_alive(self._theta(params), self._rows(data, **columns), float(future))

    def expected_purchases_new(self, t: Any, *, params: Any = None) -> np.ndarray:
        """E[number of repeat purchases in (0, t]] for a customer who just made a first purchase."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return self._expected_new(self._theta(params), t)

    def sample_future_purchases(self, t: float, data: Any = None, *, n_samples: int = 1, params: Any = None,
                                seed: int | None = None, **columns: Any) -> np.ndarray:
        """Draws of each customer's number of purchases in ``(T, T + t]`` from the posterior predictive.

        Given the history, the customer is alive with probability ``P(alive)``;
        if alive, the latent rates are drawn from their posterior and the
        future is simulated. Returns an array ``(n_samples, n_customers)``.
        """
        theta = self._theta(params)
        d = self._rows(data, **columns)
        rng = np.random.default_rng(seed)
        p_alive = self._p_alive(theta, d, 0.0)
        out = np.empty((n_samples, len(d.frequency)), dtype=np.int64)
        for i in range(n_samples):
            alive = rng.random(len(p_alive)) < p_alive
            out[i] = np.where(alive, self._future_given_alive(theta, d, float(t), rng), 0)
        return out



# ---------------------------------------------------------------------------
# BG/NBD
# ---------------------------------------------------------------------------
class BGNBD(_ContinuousModel):
    """Beta-geometric/NBD model (Fader, Hardie & Lee 2005).

    Purchases follow a Poisson process with rate ``lambda ~ Gamma(r, alpha)``
    while the customer is active; after each repeat purchase the customer drops
    out with probability ``p ~ Beta(a, b)``. The likelihood of
    ``(x, t_x, T)`` is

    .. math:: L = \\frac{B(a, b+x)}{B(a, b)} \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)}
              \\left[(\\alpha+T)^{-(r+x)} + \\delta_{x>0}\\frac{a}{b+x-1}(\\alpha+t_x)^{-(r+x)}\\right],

    evaluated in logs with ``logaddexp`` for the bracket (no overflow for heavy
    buyers, Fader & Hardie 2013 "#NUM! error" note). The gradient is analytic;
    the terms that depend on ``x`` only are evaluated once per distinct ``x``.

    Parameters
    ----------
    penalizer, max_iter, tol : see :class:`cxlab.ltv._base.BTYDModel`.

    Attributes
    ----------
    params_ : Series ``r, alpha, a, b``
    standard_errors_, confidence_intervals_, covariance_, log_likelihood_, aic_, bic_, result_
    """

    _model_params = ("r", "alpha", "a", "b")
    _name = "BG/NBD"
    _covariate_family = "bgnbd"
    _mbg = False  # MBG/NBD: dropout also possible right after the first purchase

    def _initial(self, d: RFMData) -> np.ndarray:
        return np.array([1.0, max(float(np.average(d.T, weights=d.weight)), 1e-3), 1.0, 1.0])

    @staticmethod
    def _cache(d: RFMData) -> dict:
        """Parameter-free pieces: codes of distinct x, T and t_x (logs are taken per distinct value)."""
        if "bg" not in d.cache:
            ux, xinv = np.unique(d.frequency, return_inverse=True)
            cT, uT = pd.factorize(d.T)
            ctx, utx = pd.factorize(d.recency)
            w = d.weight
            d.cache["bg"] = dict(ux=ux, xinv=xinv, uT=np.asarray(uT, float), cT=cT, utx=np.asarray(utx, float),
                                 ctx=ctx, wx=np.bincount(xinv, weights=w, minlength=len(ux)), wxs=w * d.frequency)
        return d.cache["bg"]

    def _terms(self, theta, d: RFMData, grad: bool):
        """Total log-likelihood (and its gradient in the natural parameters).

        Rows enter only through ``x`` (per distinct value) and through
        ``log(alpha+T)``, ``log(alpha+t_x)`` (per distinct T, t_x), so the work
        on the (many) rows is a handful of vector operations.
        """
        r, alpha, a, b = theta
        c = self._cache(d)
        ux, xinv, w, N = c["ux"], c["xinv"], d.weight, d.n_customers
        s = 1.0 if self._mbg else 0.0  # MBG/NBD counts the first purchase as a dropout opportunity
        A = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        B = gammaln(a + b) + gammaln(b + ux + s) - gammaln(b) - gammaln(a + b + ux + s)
        has_drop = (ux > 0) | self._mbg
        with np.errstate(divide="ignore", invalid="ignore"):
            drop_const = np.where(has_drop, np.log(a) - np.log(b + ux + s - 1.0), -np.inf)
        rx = r + d.frequency
        log_aT = np.log(alpha + c["uT"])[c["cT"]]
        log_atx = np.log(alpha + c["utx"])[c["ctx"]]
        diff = log_aT - log_atx
        # log odds of "dropped out right after t_x" against "alive at T"
        log_odds = drop_const[xinv] + rx * diff
        wrx = r * w + c["wxs"]
        total = _dot(c["wx"], (A + B)) - _dot(wrx, log_aT) + _dot(w, np.logaddexp(0.0, log_odds))
        if not grad:
            return total, None
        p_drop = expit(log_odds)
        wp = w * p_drop
        inv_aT = (1.0 / (alpha + c["uT"]))[c["cT"]]
        inv_atx = (1.0 / (alpha + c["utx"]))[c["ctx"]]
        g_r = (_dot(c["wx"], digamma(r + ux) - digamma(r)) + N * np.log(alpha) - _dot(w, log_aT)
               + _dot(wp, diff))
        g_alpha = N * r / alpha - _dot(wrx, inv_aT) + _dot((wp * rx), (inv_aT - inv_atx))
        wp_x = np.bincount(xinv, weights=wp, minlength=len(ux))
        g_a = _dot(c["wx"], (digamma(a + b) - digamma(a + b + ux + s))) + wp_x.sum() / a
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_b = np.where(has_drop, 1.0 / (b + ux + s - 1.0), 0.0)
        dB_db = digamma(a + b) + digamma(b + ux + s) - digamma(b) - digamma(a + b + ux + s)
        g_b = _dot(c["wx"], dB_db) - _dot(wp_x, inv_b)
        return total, np.array([g_r, g_alpha, g_a, g_b])

    def _loglik_rows(self, theta, d):
        r, alpha, a, b = self._individual_params(theta, d)
        s = 1.0 if self._mbg else 0.0
        x, tx, T = d.frequency, d.recency, d.T
        with np.errstate(divide="ignore", invalid="ignore"):
            drop = np.where((x > 0) | self._mbg,
                            np.log(a) - np.log(b + x + s - 1.0) - (r + x) * np.log(alpha + tx), -np.inf)
        return (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + gammaln(b + x + s)
                - gammaln(b) - gammaln(a + b + x + s) + np.logaddexp(-(r + x) * np.log(alpha + T), drop))

    def _total_loglik(self, theta, d):
        return float(self._terms(theta, d, grad=False)[0])

    def _natural_gradient(self, theta, d):
        return self._terms(theta, d, grad=True)[1]

    def _loglik_and_grad(self, theta, d):
        total, g = self._terms(theta, d, grad=True)
        return float(total), g * theta  # chain rule to log-parameters

    # predictions -----------------------------------------------------------
    def _p_alive_now(self, theta, d: RFMData) -> np.ndarray:
        r, alpha, a, b = self._individual_params(theta, d)
        s = 1.0 if self._mbg else 0.0
        x = d.frequency
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = (np.log(a) - np.log(b + x + s - 1.0)
                        + (r + x) * (np.log(alpha + d.T) - np.log(alpha + d.recency)))
        log_odds = np.where((x > 0) | self._mbg, log_odds, -np.inf)
        return np.exp(-np.logaddexp(0.0, log_odds))

    def _posterior_alive_expect(self, theta, d: RFMData, fun, n_lead: int = 0) -> np.ndarray:
        """E[fun(p, m, c) | alive, history] over p ~ Beta(a, b+x(+1)), with m = r+x, c = alpha+T.

        ``fun`` already averages over lambda | alive ~ Gamma(r+x, alpha+T); it
        returns ``(..., rows, nodes)``; ``n_lead`` leading dimensions are kept.
        """
        r, alpha, a, b = self._individual_params(theta, d)
        s = 1.0 if self._mbg else 0.0
        n = len(d.frequency)
        alpha, a, b = (np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (alpha, a, b))
        # one quadrature per distinct (x, a, b): per distinct x without covariates
        groups = pd.MultiIndex.from_arrays([d.frequency, a, b]).factorize()[0] if n else np.zeros(0, int)
        ug, first = np.unique(groups, return_index=True)
        out = None
        for k, i0 in zip(ug, first):
            rows = groups == k
            xv = d.frequency[i0]
            c = (alpha[rows] + d.T[rows])[:, None]
            val = beta_expectation(lambda p: fun(p, r + xv, c), a[i0], b[i0] + xv + s)
            if out is None:
                out = np.empty(val.shape[:n_lead] + (n,))
            out[..., rows] = val
        return out if out is not None else np.empty((0,))

    def _p_alive(self, theta, d, future):
        p0 = self._p_alive_now(theta, d)
        if future == 0:
            return p0
        # surviving (T, T+tau] while alive: no dropout at the Poisson(lambda tau) purchases,
        # E[(1-p)^N] = exp(-lambda p tau); averaged over lambda: (c / (c + p tau))^m
        surv = self._posterior_alive_expect(theta, d, lambda p, m, c: (c / (c + p * future)) ** m)
        return p0 * surv

    def _expected(self, theta, ts, d):
        # E[Y(t) | alive, lambda, p] = (1 - exp(-lambda p t)) / p  (FHL 2005, eq. 10, written as an
        # expectation over the posterior and integrated by Gauss-Jacobi: no 2F1 near z = 1)
        tt = ts[:, None, None]

        def fun(p, m, c):
            return -np.expm1(m * np.log(c / (c + p * tt))) / p

        return self._p_alive_now(theta, d) * self._posterior_alive_expect(theta, d, fun, n_lead=1)

    def _expected_new(self, theta, t):
        r, alpha, a, b = theta[:4]  # a new customer with all covariates 0
        tt = t[:, None]
        if self._mbg:  # may drop out right after the first purchase: factor (1 - p)
            return beta_expectation(lambda p: (1 - p) * -np.expm1(r * np.log(alpha / (alpha + p * tt))) / p, a, b)
        return beta_expectation(lambda p: -np.expm1(r * np.log(alpha / (alpha + p * tt))) / p, a, b)

    def _future_given_alive(self, theta, d, t, rng):
        # given alive: lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x(+1)), independent
        r, alpha, a, b = self._individual_params(theta, d)
        s = 1.0 if self._mbg else 0.0
        lam = rng.gamma(r + d.frequency, 1.0 / (alpha + d.T))
        p = rng.beta(a, b + d.frequency + s)
        return np.minimum(rng.geometric(p), rng.poisson(lam * t))

    def _simulate(self, theta, T, rng):
        r, alpha, a, b = theta
        n = len(T)
        lam = rng.gamma(r, 1.0 / alpha, n)
        p = rng.beta(a, b, n)
        # number of repeat purchases made before dropping out (the last one included)
        n_alive = rng.geometric(p) - (1 if self._mbg else 0)
        m = rng.poisson(lam * T)
        x = np.minimum(n_alive, m)
        # the x-th of m uniform arrival times on (0, T) is T * Beta(x, m - x + 1)
        tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(m - x + 1, 1)), 0.0)
        return pd.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": T})


class MBGNBD(BGNBD):
    """Modified BG/NBD (Batislam, Denizel & Filiztekin 2007).

    As :class:`BGNBD`, but a customer can also drop out right after the first
    purchase, so customers without repeat purchases are not certainly alive:

    .. math:: L = \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)} \\left[
              \\frac{B(a, b+x+1)}{B(a,b)}(\\alpha+T)^{-(r+x)} +
              \\frac{B(a+1, b+x)}{B(a,b)}(\\alpha+t_x)^{-(r+x)}\\right].
    """

    _name = "MBG/NBD"
    _mbg = True
    _covariate_family = None  # CLVTools has no MBG/NBD with covariates to validate against


# ---------------------------------------------------------------------------
# Pareto/NBD
# ---------------------------------------------------------------------------
class ParetoNBD(_ContinuousModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

    Poisson purchasing with ``lambda ~ Gamma(r, alpha)`` and an exponential
    lifetime with ``mu ~ Gamma(s, beta)``. Likelihood (Fader & Hardie 2005 note,
    eq. 22):

    .. math:: L = \\frac{\\Gamma(r+x)\\alpha^r\\beta^s}{\\Gamma(r)} \\left[
              \\frac{1}{(\\alpha+T)^{r+x}(\\beta+T)^s} + \\frac{s}{r+s+x} A_0 \\right]

    with, for ``alpha >= beta`` (otherwise swap the roles of alpha/beta and
    ``s+1``/``r+x``),

    .. math:: A_0 = \\frac{F(\\frac{\\alpha-\\beta}{\\alpha+t_x})}{(\\alpha+t_x)^{r+s+x}}
              - \\frac{F(\\frac{\\alpha-\\beta}{\\alpha+T})}{(\\alpha+T)^{r+s+x}},\\quad
              F(z) = {}_2F_1(r+s+x, s+1; r+s+x+1; z).

    Everything is in logs; ``log F`` comes from
    :func:`cxlab.ltv._special.log_hyp2f1_a_b_ap1` (scipy below z = 0.8, a
    quadrature of Euler's integral above), evaluated once per distinct
    ``(x, t_x)`` and ``(x, T)`` pair, and the difference in ``A_0`` is taken as
    ``u1 + log(1 - exp(u2 - u1))``. The gradient is numerical.
    """

    _model_params = ("r", "alpha", "s", "beta")
    _name = "Pareto/NBD"
    _covariate_family = "pnbd"

    def _initial(self, d):
        Tm = max(float(np.average(d.T, weights=d.weight)), 1e-3)
        return np.array([1.0, Tm, 1.0, Tm])

    def _log_terms(self, theta, d: RFMData):
        """(log of the 'alive at T' term, log of the full bracket) per row, without the constant."""
        if "dyn" in d.extra:
            from cxlab.ltv.dyncov import dyn_parts

            gl, gt = self.covariates_.expand(theta[4:])
            p = dyn_parts(theta[:4], gl, gt, d.extra["dyn"])
            return p["log_alive"], p["log_bracket"]
        if self._with_covariates and "X_trans" in d.extra:
            from cxlab.ltv.covariates import pnbd_log_parts

            r, alpha, s, beta = self._individual_params(theta, d)
            return pnbd_log_parts(r, s, alpha, beta, d.frequency, d.recency, d.T)
        r, alpha, s, beta = theta
        x, tx, T = d.frequency, d.recency, d.T
        k = r + s + x
        log_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        if alpha >= beta:
            M, diff, e0, e_per_x = alpha, alpha - beta, s + 1.0, False
        else:
            M, diff, e0, e_per_x = beta, beta - alpha, r, True
        u1 = self._log_f_over_power(d, "recency", r + s, e0, e_per_x, M, diff)
        u2 = self._log_f_over_power(d, "T", r + s, e0, e_per_x, M, diff)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_a0 = u1 + np.log(-np.expm1(np.minimum(u2 - u1, 0.0)))
        log_bracket = np.logaddexp(log_alive, np.log(s) - np.log(k) + log_a0)
        return log_alive, log_bracket

    @staticmethod
    def _log_f_over_power(d: RFMData, which: str, rs: float, e0: float, e_per_x: bool, M: float, diff: float):
        """``log[2F1(k, e; k+1; diff/(M+t)) / (M+t)^k]`` with k = r+s+x, once per distinct (x, t)."""
        key = "pairs_" + which
        if key not in d.cache:
            t = getattr(d, which)
            cx, ux = pd.factorize(d.frequency)
            ct, ut = pd.factorize(t)
            uniq, first, codes = np.unique(cx.astype(np.int64) * (len(ut) + 1) + ct, return_index=True,
                                           return_inverse=True)
            d.cache[key] = (d.frequency[first], t[first], codes)
        ux, ut, codes = d.cache[key]
        kk = rs + ux
        ee = e0 + ux if e_per_x else np.full_like(ux, e0)
        vals = log_hyp2f1_a_b_ap1(kk, ee, diff / (M + ut)) - kk * np.log(M + ut)
        return vals[codes]

    def _loglik_rows(self, theta, d):
        if "dyn" in d.extra:
            from cxlab.ltv.dyncov import dyn_rows_loglik

            gl, gt = self.covariates_.expand(theta[4:])
            return dyn_rows_loglik(theta[:4], gl, gt, d.extra["dyn"])
        r, alpha, s, beta = self._individual_params(theta, d)
        x = d.frequency
        _, log_bracket = self._log_terms(theta, d)
        return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + log_bracket

    def _p_alive_now(self, theta, d):
        log_alive, log_bracket = self._log_terms(theta, d)
        return np.exp(log_alive - log_bracket)

    def _p_alive(self, theta, d, future):
        r, alpha, s, beta = self._individual_params(theta, d)
        # mu | alive, history ~ Gamma(s, beta + T): survival over tau is ((beta+T)/(beta+T+tau))^s
        return self._p_alive_now(theta, d) * np.exp(-s * np.log1p(future / (beta + d.T)))

    def _expected(self, theta, ts, d):
        r, alpha, s, beta = self._individual_params(theta, d)
        x, T = d.frequency, d.T
        # (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1), continuous through s = 1
        lg = np.log1p(ts[:, None] / (beta + T))
        h = lg if abs(s - 1) < 1e-10 else -np.expm1(-(s - 1) * lg) / (s - 1)
        return self._p_alive_now(theta, d) * (r + x) * (beta + T) / (alpha + T) * h

    def _expected_new(self, theta, t):
        r, alpha, s, beta = theta[:4]  # a new customer with all covariates 0
        lg = np.log1p(t / beta)
        h = lg if abs(s - 1) < 1e-10 else -np.expm1(-(s - 1) * lg) / (s - 1)
        return r * beta / alpha * h

    def _future_given_alive(self, theta, d, t, rng):
        # given alive: lambda ~ Gamma(r+x, alpha+T), mu ~ Gamma(s, beta+T); remaining life ~ Exp(mu)
        r, alpha, s, beta = self._individual_params(theta, d)
        lam = rng.gamma(r + d.frequency, 1.0 / (alpha + d.T))
        mu = rng.gamma(s, 1.0 / (beta + d.T))
        return rng.poisson(lam * np.minimum(rng.exponential(1.0 / mu), t))

    def _simulate(self, theta, T, rng):
        r, alpha, s, beta = theta
        n = len(T)
        lam = rng.gamma(r, 1.0 / alpha, n)
        mu = rng.gamma(s, 1.0 / beta, n)
        life = rng.exponential(1.0 / mu)
        active = np.minimum(life, T)
        x = rng.poisson(lam * active)
        tx = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1.0), 0.0)
        return pd.DataFrame({"frequency": x.astype(np.int64), "recency": tx, "T": T})


# ---------------------------------------------------------------------------
# BG/BB (discrete time)
# ---------------------------------------------------------------------------
class BGBB(BTYDModel):
    """Beta-geometric/beta-Bernoulli model for discrete purchase opportunities.

    Fader, Hardie & Shang (2010). At each of ``n`` opportunities an active
    customer buys with probability ``p ~ Beta(alpha, beta)`` and, before the
    next one, drops out with probability ``theta ~ Beta(gamma, delta)``.
    Data per customer: ``frequency`` x (transactions in the n opportunities),
    ``recency`` t_x (opportunity of the last transaction, 0 if none) and
    ``periods`` n. Likelihood (eq. 5 of the paper):

    .. math:: L = \\frac{B(\\alpha+x, \\beta+n-x)}{B(\\alpha,\\beta)}
              \\frac{B(\\gamma, \\delta+n)}{B(\\gamma,\\delta)} +
              \\sum_{i=0}^{n-t_x-1}\\frac{B(\\alpha+x, \\beta+t_x-x+i)}{B(\\alpha,\\beta)}
              \\frac{B(\\gamma+1, \\delta+t_x+i)}{B(\\gamma,\\delta)},

    computed with ``betaln`` and ``logsumexp``.
    """

    _model_params = ("alpha", "beta", "gamma", "delta")
    _name = "BG/BB"
    _columns = ("frequency", "recency", "periods")
    _column_aliases = ("T",)

    def _columns_from(self, data, overrides):
        # accept "T" as the name of the number of opportunities (cxlab.datasets.simulate_bgbb)
        if ("periods" not in overrides and isinstance(data, pd.DataFrame) and "periods" not in data.columns
                and "T" in data.columns):
            overrides = {**overrides, "periods": data["T"]}
        if "T" in overrides and "periods" not in overrides:
            overrides = {**overrides, "periods": overrides.pop("T")}
        return super()._columns_from(data, overrides)

    def _check_rows(self, cols, index):
        x, tx, n = cols["frequency"], cols["recency"], cols["periods"]
        for name, v in (("recency", tx), ("periods", n)):
            bad = v != np.round(v)
            if bad.any():
                raise ValueError(f"BG/BB: {name!r} must be whole numbers of opportunities; fractional in "
                                 f"{_first_bad(bad, index)}")
        bad = (x > tx) | (tx > n)
        if bad.any():
            raise ValueError(f"BG/BB: need frequency <= recency <= periods; violated in {_first_bad(bad, index)}")
        bad = (x == 0) & (tx > 0)
        if bad.any():
            raise ValueError(f"BG/BB: frequency 0 needs recency 0; violated in {_first_bad(bad, index)}")

    def _initial(self, d):
        return np.array([1.0, 1.0, 1.0, 1.0])

    def _log_parts(self, theta, d):
        al, be, ga, de = theta
        x, tx, n = d.frequency, d.recency, d.T
        log_alive = betaln(al + x, be + n - x) - betaln(al, be) + betaln(ga, de + n) - betaln(ga, de)
        imax = int(np.max(n - tx)) if len(n) else 0
        i = np.arange(imax)[None, :]
        valid = i < (n - tx)[:, None]
        with np.errstate(invalid="ignore"):
            terms = (betaln(al + x[:, None], be + tx[:, None] - x[:, None] + i) - betaln(al, be)
                     + betaln(ga + 1, de + tx[:, None] + i) - betaln(ga, de))
        terms = np.where(valid, terms, -np.inf)
        log_l = logsumexp(np.column_stack([log_alive, terms]), axis=1)
        return log_alive, log_l

    def _loglik_rows(self, theta, d):
        return self._log_parts(theta, d)[1]

    def probability_alive(self, data: Any = None, *, future: int = 0, params: Any = None, **columns) -> np.ndarray:
        """P(alive at opportunity ``n + future`` | history)."""
        theta = self._theta(params)
        d = self._rows(data, **columns)
        log_alive, log_l = self._log_parts(theta, d)
        ga, de = theta[2], theta[3]
        stay = betaln(ga, de + d.T + future) - betaln(ga, de + d.T)
        return np.exp(log_alive - log_l + stay)

    def expected_purchases(self, t: int, data: Any = None, *, params: Any = None, **columns) -> np.ndarray:
        """E[transactions in the next ``t`` opportunities | history] (paper eq. 13)."""
        al, be, ga, de = theta = self._theta(params)
        d = self._rows(data, **columns)
        x, n = d.frequency, d.T
        _, log_l = self._log_parts(theta, d)
        log_front = betaln(al + x + 1, be + n - x) - betaln(al, be) - log_l
        # delta/(gamma-1) * Gamma(g+d)/Gamma(1+d) * [Gamma(1+d+n)/Gamma(g+d+n) - Gamma(1+d+n+t)/Gamma(g+d+n+t)]
        log_c = gammaln(ga + de) - gammaln(1 + de)
        g1 = gammaln(1 + de + n) - gammaln(ga + de + n)
        g2 = gammaln(1 + de + n + t) - gammaln(ga + de + n + t)
        bracket = np.exp(g1 + log_c) * -np.expm1(g2 - g1)
        return np.exp(log_front) * de / (ga - 1) * bracket

    def expected_purchases_new(self, n: Any, *, params: Any = None) -> np.ndarray:
        """E[transactions in the first ``n`` opportunities] of a new customer (paper eq. 7)."""
        al, be, ga, de = self._theta(params)
        n = np.atleast_1d(np.asarray(n, dtype=float))
        ratio = np.exp(gammaln(ga + de) - gammaln(ga + de + n) + gammaln(1 + de + n) - gammaln(1 + de))
        return al / (al + be) * de / (ga - 1) * (1 - ratio)

    def simulate(self, periods: Any, *, params: Any = None, seed: int | None = None) -> pd.DataFrame:
        """Simulate (frequency, recency, periods) summaries."""
        al, be, ga, de = self._theta(params)
        n = np.asarray(periods, dtype=np.int64).ravel()
        rng = np.random.default_rng(seed)
        p = rng.beta(al, be, len(n))
        th = rng.beta(ga, de, len(n))
        alive = np.ones(len(n), bool)
        x = np.zeros(len(n), np.int64)
        tx = np.zeros(len(n), np.int64)
        for j in range(1, int(n.max(initial=0)) + 1):
            alive &= rng.random(len(n)) >= th  # may drop out before opportunity j
            buy = alive & (j <= n) & (rng.random(len(n)) < p)
            x += buy
            tx[buy] = j
        return pd.DataFrame({"frequency": x, "recency": tx, "periods": n})


# ---------------------------------------------------------------------------
# Gamma-Gamma spend model
# ---------------------------------------------------------------------------
class GammaGamma(BTYDModel):
    """Gamma-Gamma model of average spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

    A customer's transaction values are Gamma(p, nu) with ``nu ~ Gamma(q, gamma)``;
    the mean ``m`` of ``x`` repeat transactions has density

    .. math:: f(m \\mid x) = \\frac{\\Gamma(px+q)}{\\Gamma(px)\\Gamma(q)}
              \\frac{\\gamma^q m^{px-1} x^{px}}{(\\gamma + m x)^{px+q}}.

    Fitted on customers with ``frequency > 0`` (others carry no spend
    information and are dropped); ``monetary_value`` must then be positive.
    The model assumes spend is independent of purchase frequency — check
    ``corr(frequency, monetary_value)`` on the repeat buyers.
    """

    _model_params = ("p", "q", "gamma")
    _name = "Gamma-Gamma"
    _columns = ("frequency", "monetary_value")

    def _check_rows(self, cols, index):
        pass

    def _prepare(self, data=None, weights=None, **overrides):
        cols, index = self._columns_from(data, overrides)
        x, m = cols["frequency"], cols["monetary_value"]
        bad = ~np.isfinite(x) | ~np.isfinite(m)
        if bad.any():
            raise ValueError(f"Gamma-Gamma: frequency/monetary_value missing in {_first_bad(bad, index)}")
        repeat = x > 0
        bad = repeat & (m <= 0)
        if bad.any():
            raise ValueError("Gamma-Gamma: 'monetary_value' must be > 0 for customers with repeat purchases "
                             f"(net of returns); not so in {_first_bad(bad, index)}")
        if weights is not None:
            weights = np.asarray(weights, dtype=float)[repeat]
        kept = {k: v[repeat] for k, v in cols.items()}
        if not repeat.any():
            raise ValueError("Gamma-Gamma: no customer with frequency > 0 to fit")
        return super()._prepare(None, weights, **kept)

    def _initial(self, d):
        m = np.average(d.recency, weights=d.weight)
        return np.array([2.0, 2.0, max(m, 1e-3)])

    def _to_rfm(self, cols, weight):
        return RFMData(cols["frequency"], cols["monetary_value"], np.zeros(len(weight)), weight, {})

    def _loglik_rows(self, theta, d):
        p, q, g = theta
        x, m = d.frequency, d.recency
        px = p * x
        return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m)
                + px * np.log(x) - (px + q) * np.log(g + m * x))

    def _natural_gradient(self, theta, d):
        p, q, g = theta
        x, m, w = d.frequency, d.recency, d.weight
        px = p * x
        log_gmx = np.log(g + m * x)
        dig = digamma(px + q)
        g_p = _dot(w, x * (dig - digamma(px) + np.log(m) + np.log(x) - log_gmx))
        g_q = _dot(w, dig - digamma(q) + np.log(g) - log_gmx)
        g_g = _dot(w, q / g - (px + q) / (g + m * x))
        return np.array([g_p, g_q, g_g])

    def _loglik_and_grad(self, theta, d):
        return self._total_loglik(theta, d), self._natural_gradient(theta, d) * theta

    def conditional_expected_spend(self, data: Any = None, *, params: Any = None, **columns) -> np.ndarray:
        """E[spend per transaction | x, m] = w * p*gamma/(q-1) + (1-w) * m, w = (q-1)/(p*x+q-1).

        Customers with ``frequency == 0`` get the population mean ``p*gamma/(q-1)``.
        Requires ``q > 1`` (finite population mean).
        """
        p, q, g = self._theta(params)
        cols, _ = self._columns_from(data, columns)
        x, m = cols["frequency"], cols["monetary_value"]
        if q <= 1:
            raise ValueError(f"Gamma-Gamma: q = {q:.3f} <= 1, the mean spend is infinite")
        pop = p * g / (q - 1)
        w = (q - 1) / (p * x + q - 1)
        return np.where(x > 0, w * pop + (1 - w) * m, pop)

    def population_mean_spend(self, *, params: Any = None) -> float:
        p, q, g = self._theta(params)
        return float(p * g / (q - 1)) if q > 1 else float("inf")

    def simulate(self, frequency: Any, *, params: Any = None, seed: int | None = None) -> pd.DataFrame:
        """Simulate mean spend of ``frequency`` transactions per customer (0 spend for 0 transactions)."""
        p, q, g = self._theta(params)
        x = np.asarray(frequency, dtype=np.int64).ravel()
        rng = np.random.default_rng(seed)
        nu = rng.gamma(q, 1.0 / g, len(x))
        # the sum of x Gamma(p, nu) values is Gamma(p x, nu)
        total = np.where(x > 0, rng.gamma(np.maximum(p * x, 1e-12), 1.0 / nu), 0.0)
        return pd.DataFrame({"frequency": x, "monetary_value": np.where(x > 0, total / np.maximum(x, 1), 0.0)})
