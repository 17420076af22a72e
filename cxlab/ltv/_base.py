"""Shared machinery of the "buy till you die" (BTYD) models.

Every BTYD model in :mod:`cxlab.ltv` is a :class:`BTYDModel`: it declares its
parameter names and a per-row log-likelihood; this base does the rest.

* **Weighting of identical customers.** Customers with the same
  ``(frequency, recency, T)`` contribute the same likelihood term, so the data
  are collapsed to unique rows with a count and each row is evaluated once.
  On a transaction log summarised by day this turns a million customers into a
  few tens of thousands of rows.
* **Optimisation in log-parameter space.** All parameters are positive; the
  optimiser (L-BFGS-B, analytic gradient where the model provides one) works
  on ``log(theta)`` inside wide bounds, which keeps it away from the boundary
  and well scaled.
* **Optimisation, convergence and inference** go through the shared core
  :mod:`cxlab._mle` (one optimiser, one Newton polish, one finite-difference
  Hessian, a scale-free convergence test by the Newton decrement). The
  covariance of ``log(theta)`` is the inverse observed information there; the
  delta method gives that of ``theta``. Standard errors are the square roots
  of its diagonal; 95% intervals are computed on the log scale
  (``exp(log(theta) +- 1.96 se/theta)``) so they stay positive.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cxlab._base import Estimator, Result, Summary, to_builtin
from cxlab._mle import MLEFit, maximize, numerical_gradient, numerical_hessian

__all__ = ["BTYDModel", "FitResult", "RFMData"]

_Z95 = stats.norm.ppf(0.975)


@dataclass
class RFMData:
    """Unique (frequency, recency, T) rows with their counts (``weight``).

    ``T`` is the length of observation (``periods`` for the discrete BG/BB);
    ``extra`` holds any further model columns (``monetary_value``); ``cache``
    holds parameter-free helpers a model computes once per data set.
    """

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    extra: dict[str, np.ndarray]
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def n_customers(self) -> float:
        return float(self.weight.sum())


def _as_float_array(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype="float64").ravel()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {name!r} must be numeric: {exc}") from None
    return arr


def _first_bad(mask: np.ndarray, index: Any) -> str:
    pos = np.flatnonzero(mask)
    labels = [str(index[i]) for i in pos[:5]] if index is not None else [str(i) for i in pos[:5]]
    return f"{mask.sum()} row(s), e.g. {', '.join(labels)}"


def compress_rows(columns: dict[str, np.ndarray],
                  weight: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Collapse identical rows of several numeric columns, summing their weights.

    Returns the unique columns, their summed weights and, for each input row,
    the position of its unique row (to map per-row predictions back).
    """
    names = list(columns)
    n = len(weight)
    if n == 0:
        return {k: v[:0] for k, v in columns.items()}, weight[:0], np.zeros(0, dtype=np.int64)
    # Hash-factorise each column, then combine the codes into one integer key:
    # much faster than np.unique(axis=0) on a million rows.
    key = np.zeros(n, dtype=np.int64)
    for name in names:
        codes, uniques = pd.factorize(columns[name], sort=False)
        key = key * (len(uniques) + 1) + codes
    ukey, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    w = np.bincount(inverse, weights=weight, minlength=len(ukey))
    return {k: v[first] for k, v in columns.items()}, w, inverse


class FitResult(Result):
    """Parameters, standard errors and fit statistics of a BTYD model."""

    def __init__(self, model_name: str, params: pd.Series, standard_errors: pd.Series,
                 confidence_intervals: pd.DataFrame, log_likelihood: float, aic: float, bic: float,
                 n_customers: float, n_unique_rows: int, converged: bool, message: str):
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

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({
            "estimate": self.params,
            "std_error": self.standard_errors,
            "ci_lower_95": self.confidence_intervals["lower"],
            "ci_upper_95": self.confidence_intervals["upper"],
        })

    def summary(self) -> Summary:
        stats_table = pd.DataFrame({"value": [self.log_likelihood, self.aic, self.bic, self.n_customers,
                                               float(self.n_unique_rows)]},
                                   index=["log-likelihood", "AIC", "BIC", "customers", "unique (x, t_x, T) rows"])
        notes = ["95% intervals on the log scale (delta method); standard errors from the observed information."]
        if not self.converged:
            notes.append(f"Not converged: {self.message}")
        return Summary(f"{self.model_name} maximum-likelihood fit",
                       [("Parameters", self.table()), ("Fit", stats_table)], notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({
            "model": self.model_name,
            "params": self.params.to_dict(),
            "standard_errors": self.standard_errors.to_dict(),
            "ci_lower_95": self.confidence_intervals["lower"].to_dict(),
            "ci_upper_95": self.confidence_intervals["upper"].to_dict(),
            "log_likelihood": self.log_likelihood,
            "aic": self.aic,
            "bic": self.bic,
            "n_customers": self.n_customers,
            "converged": self.converged,
        })


class BTYDModel(Estimator):
    """Base of the BTYD models: data handling, weighted ML fit, inference.

    Subclasses set ``_model_params`` (tuple of parameter names), ``_name`` and
    implement ``_loglik_rows(theta, data)`` (per-unique-row log-likelihood, for
    natural parameters ``theta``) and ``_initial(data)``; optionally
    ``_loglik_and_grad(theta, data)`` returning the weighted total and its
    gradient with respect to ``log(theta)``.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the log-parameters ``penalizer * sum(log(theta)**2)``
        (0 = plain maximum likelihood, which is what reproduces the papers).
    max_iter : int
        Maximum L-BFGS-B iterations.
    tol : float
        Convergence tolerance on the projected gradient of the mean
        log-likelihood.
    """

    _model_params: tuple[str, ...] = ()
    _name = "BTYD model"
    _columns = ("frequency", "recency", "T")
    _log_bounds = (-12.0, 12.0)

    def __init__(self, penalizer: float = 0.0, max_iter: int = 1000, tol: float = 1e-10):
        self.penalizer = penalizer
        self.max_iter = max_iter
        self.tol = tol

    # ------------------------------------------------------------------ data
    def _columns_from(self, data: Any, overrides: dict[str, Any]) -> tuple[dict[str, np.ndarray], Any]:
        self._check_keywords(overrides)
        index = None
        cols: dict[str, np.ndarray] = {}
        for name in self._columns:
            value = overrides.get(name)
            if value is None:
                if data is None:
                    raise ValueError(f"{self._name}: pass a summary frame or the array {name!r}")
                if not isinstance(data, pd.DataFrame):
                    raise ValueError(f"{self._name}: data must be a pandas DataFrame, got {type(data).__name__}")
                if name not in data.columns:
                    raise ValueError(
                        f"{self._name}: column {name!r} missing from the summary; expected columns "
                        f"{list(self._columns)} (cxlab.data.customer_summary gives them)")
                value = data[name]
                index = data.index
            cols[name] = _as_float_array(value, name)
        lengths = {len(v) for v in cols.values()}
        if len(lengths) != 1:
            raise ValueError(f"{self._name}: columns {list(cols)} have different lengths {sorted(lengths)}")
        return cols, index

    def _validate(self, cols: dict[str, np.ndarray], index: Any) -> None:
        for name, v in cols.items():
            bad = ~np.isfinite(v)
            if bad.any():
                raise ValueError(f"{self._name}: column {name!r} has missing or infinite values in "
                                 f"{_first_bad(bad, index)}")
            bad = v < 0
            if bad.any():
                raise ValueError(f"{self._name}: column {name!r} must be >= 0; negative in {_first_bad(bad, index)}")
        x = cols["frequency"]
        bad = x != np.round(x)
        if bad.any():
            raise ValueError(f"{self._name}: 'frequency' must be whole numbers of repeat purchases; "
                             f"fractional in {_first_bad(bad, index)}")
        self._check_rows(cols, index)

    def _check_rows(self, cols: dict[str, np.ndarray], index: Any) -> None:
        """Model-specific consistency checks (default: continuous-time RFM)."""
        x, tx, T = cols["frequency"], cols["recency"], cols["T"]
        bad = tx > T * (1 + 1e-9) + 1e-12
        if bad.any():
            raise ValueError(f"{self._name}: 'recency' must not exceed 'T'; violated in {_first_bad(bad, index)}")
        bad = (x == 0) & (tx > 0)
        if bad.any():
            raise ValueError(f"{self._name}: customers with frequency 0 must have recency 0; "
                             f"violated in {_first_bad(bad, index)}")
        bad = (x > 0) & (tx <= 0)
        if bad.any():
            raise ValueError(f"{self._name}: customers with repeat purchases must have recency > 0; "
                             f"violated in {_first_bad(bad, index)}")

    def _prepare(self, data: Any = None, weights: Any = None, **overrides: Any) -> tuple[RFMData, np.ndarray]:
        cols, index = self._columns_from(data, overrides)
        self._validate(cols, index)
        n = len(next(iter(cols.values())))
        if n == 0:
            raise ValueError(f"{self._name}: no customers to fit")
        w = np.ones(n) if weights is None else _as_float_array(weights, "weights")
        if len(w) != n or (~np.isfinite(w)).any() or (w < 0).any():
            raise ValueError(f"{self._name}: weights must be {n} finite non-negative numbers")
        ucols, uw, inverse = compress_rows(cols, w)
        keep = uw > 0
        ucols = {k: v[keep] for k, v in ucols.items()}
        return self._to_rfm(ucols, uw[keep]), inverse

    def _to_rfm(self, cols: dict[str, np.ndarray], weight: np.ndarray) -> RFMData:
        names = self._columns
        zeros = np.zeros(len(weight))
        return RFMData(cols[names[0]], cols[names[1]] if len(names) > 1 else zeros,
                       cols[names[2]] if len(names) > 2 else zeros, weight,
                       {k: v for k, v in cols.items() if k not in names[:3]})

    def _rows(self, data: Any = None, **overrides: Any) -> RFMData:
        """Per-customer (not compressed) rows for predictions."""
        cols, index = self._columns_from(data, overrides)
        self._validate(cols, index)
        return self._to_rfm(cols, np.ones(len(cols["frequency"])))

    # ------------------------------------------------------------ likelihood
    def _loglik_rows(self, theta: np.ndarray, data: RFMData) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _initial(self, data: RFMData) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _loglik_and_grad(self, theta: np.ndarray, data: RFMData):
        """Weighted total log-likelihood and its gradient in log-parameters.

        The default takes central differences (:func:`cxlab._mle.numerical_gradient`);
        models override it with an analytic gradient where one is practical.
        """
        f0 = self._total_loglik(theta, data)
        grad = numerical_gradient(lambda lt: self._total_loglik(np.exp(lt), data), np.log(theta))
        return f0, grad

    def _total_loglik(self, theta: np.ndarray, data: RFMData) -> float:
        rows = self._loglik_rows(theta, data)
        return float(np.einsum("i,i->", data.weight, rows))  # not BLAS: see models._dot

    def log_likelihood(self, data: Any = None, params: Any = None, weights: Any = None, **columns: Any) -> float:
        """Log-likelihood of ``data`` at ``params`` (default: the fitted ones)."""
        theta = self._theta(params)
        d, _ = self._prepare(data, weights, **columns)
        return self._total_loglik(theta, d)

    def _theta(self, params: Any = None) -> np.ndarray:
        if params is None:
            self._check_fitted()
            return self.params_.to_numpy(dtype=float)
        if isinstance(params, dict):
            return np.array([float(params[k]) for k in self._model_params])
        if isinstance(params, pd.Series):
            return params[list(self._model_params)].to_numpy(dtype=float)
        theta = np.asarray(params, dtype=float).ravel()
        if len(theta) != len(self._model_params):
            raise ValueError(f"{self._name}: expected parameters {self._model_params}, got {len(theta)} values")
        return theta

    # -------------------------------------------------------------------- fit
    def fit(self, data: Any = None, *, weights: Any = None, initial_params: Any = None, inference: bool = True,
            **columns: Any) -> "BTYDModel":
        """Fit by maximum likelihood.

        Parameters
        ----------
        data : DataFrame, optional
            A customer summary (e.g. :func:`cxlab.data.customer_summary`) with the
            model's columns (``frequency, recency, T`` for the continuous-time
            models; see the model's docstring).
        weights : array-like, optional
            Number of customers each row stands for (default 1 each).
        initial_params : sequence, optional
            Starting values in the natural parameters.
        inference : bool
            Compute the Hessian, standard errors and intervals at the optimum
            (False skips that last Hessian, e.g. inside a bootstrap loop; the
            standard errors are then NaN).
        **columns
            Arrays overriding / replacing columns of ``data``, by the model's
            column names only (e.g. ``frequency=..., recency=..., T=...``);
            any other keyword is an error.
        """
        d, _ = self._prepare(data, weights, **columns)
        pen = float(self.penalizer)

        def value_grad(logt: np.ndarray):
            ll, g = self._loglik_and_grad(np.exp(logt), d)
            return ll - pen * np.sum(logt ** 2), g - 2 * pen * logt

        analytic = hasattr(self, "_natural_gradient")
        if analytic:
            hessian = None  # the core differences the analytic gradient
        else:
            def hessian(logt):
                return numerical_hessian(logt, value=lambda z: value_grad(z)[0])
        x0 = np.log(self._initial(d) if initial_params is None else self._theta(initial_params))
        # L-BFGS-B needs the fewest likelihood evaluations (best when each is costly: many distinct
        # rows, or a numerical gradient); with an analytic gradient on small data its per-iteration
        # overhead dominates and TNC is several times faster.
        method = "L-BFGS-B" if (len(d.weight) > 20_000 or not analytic) else "TNC"
        fit = maximize(value_grad, x0, n_obs=d.n_customers, bounds=[self._log_bounds] * len(x0),
                       hessian=hessian, method=method, max_iter=self.max_iter, ftol=self.tol,
                       extra_starts=[x0 + 0.5, x0 - 0.5], polish_steps=6 if analytic else 3)
        self._set_fit(np.exp(fit.x), d, fit, inference)
        return self

    def _check_keywords(self, columns: dict[str, Any]) -> None:
        """Only the model's own column names may be passed as keywords."""
        valid = tuple(self._columns) + tuple(getattr(self, "_column_aliases", ()))
        unknown = [k for k in columns if k not in valid]
        if unknown:
            raise TypeError(f"{self._name}: unknown keyword argument(s) {unknown}; column overrides accepted: "
                            f"{list(valid)}")

    def _set_fit(self, theta: np.ndarray, d: RFMData, fit: MLEFit, inference: bool = True) -> None:
        names = list(self._model_params)
        ll = self._total_loglik(theta, d)
        if inference:
            # covariance of log(theta) from the core, then the delta method to the natural parameters
            cov = fit.covariance * np.outer(theta, theta)
        else:
            cov = np.full((len(theta), len(theta)), np.nan)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        self.params_ = pd.Series(theta, index=names, name="estimate")
        self.standard_errors_ = pd.Series(se, index=names, name="std_error")
        half = _Z95 * se / theta
        self.confidence_intervals_ = pd.DataFrame({"lower": theta * np.exp(-half), "upper": theta * np.exp(half)},
                                                  index=names)
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        self.log_likelihood_ = ll
        k = len(theta)
        self.aic_ = 2 * k - 2 * ll
        self.bic_ = k * np.log(d.n_customers) - 2 * ll
        self.n_customers_ = d.n_customers
        self.converged_ = fit.converged
        self.mle_ = fit
        self.result_ = FitResult(self._name, self.params_, self.standard_errors_, self.confidence_intervals_,
                                 ll, self.aic_, self.bic_, d.n_customers, len(d.weight), fit.converged, fit.message)

    def summary(self) -> Summary:
        """Parameter table with standard errors, log-likelihood and AIC."""
        self._check_fitted()
        return self.result_.summary()

    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return self.result_.to_dict()

    def _repr_html_(self) -> str:
        return self.summary().as_html() if self.is_fitted else f"<pre>{html_escape(repr(self))}</pre>"

    # -------------------------------------------------------- bootstrap draws
    def sample_params(self, n_draws: int, seed: int | None = None) -> np.ndarray:
        """Draws of the parameters from their asymptotic distribution.

        The draws are normal on the log scale with the delta-method covariance
        ``diag(1/theta) Cov diag(1/theta)``, so every draw is positive
        (covariate coefficients, when fitted, are drawn on their own scale).
        Returns an array ``(n_draws, n_params)``.
        """
        self._check_fitted()
        theta = self.params_.to_numpy()
        cov = self.covariance_.to_numpy()
        if not np.all(np.isfinite(cov)):
            raise ValueError(f"{self._name}: the covariance matrix is not finite; cannot bootstrap")
        # positive model parameters on the log scale; covariate coefficients (if any) as they are
        positive = np.array([name in self._model_params for name in self.params_.index])
        scale = np.where(positive, theta, 1.0)
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(np.where(positive, np.log(np.abs(theta)), theta),
                                        cov / np.outer(scale, scale), size=n_draws, method="eigh")
        draws[:, positive] = np.exp(draws[:, positive])
        return draws


def html_escape(text: str) -> str:
    import html

    return html.escape(text)
