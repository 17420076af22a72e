"""Small numerical helpers shared by the uplift estimators (not public API)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


def z_value(alpha: float) -> float:
    """Two-sided normal critical value for a (1 - alpha) interval."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return float(stats.norm.ppf(1 - alpha / 2))


def as_float_array(values, name: str) -> np.ndarray:
    """Column → float64 array; a clear error for non-numeric or missing values."""
    try:
        arr = np.asarray(pd.to_numeric(pd.Series(values), errors="raise"), dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {name!r} must be numeric: {exc}") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"column {name!r} has {int(bad.sum())} missing or infinite values "
            f"(first at row {int(np.flatnonzero(bad)[0])}); expected finite numbers"
        )
    return arr


def as_treatment(values, name: str) -> np.ndarray:
    """Column → bool treatment indicator (0/1 or bool); error for anything else."""
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr
    num = as_float_array(arr, name)
    if not np.isin(num, (0.0, 1.0)).all():
        raise ValueError(f"column {name!r} must be 0/1 or bool (the treatment indicator)")
    return num.astype(bool)


def require_columns(df: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}; it has {list(df.columns)}")


def design_matrix(covariates: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Numeric design matrix with an intercept; categorical columns one-hot
    (first level dropped), constant columns removed (they break the logit)."""
    if covariates.shape[1] == 0:
        return np.ones((len(covariates), 1)), ["const"]
    parts = []
    for col in covariates.columns:
        s = covariates[col]
        if (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)) and not isinstance(
            s.dtype, pd.CategoricalDtype
        ):
            parts.append(pd.DataFrame({col: as_float_array(s, col)}, index=covariates.index))
        else:
            dummies = pd.get_dummies(s.astype("string").fillna("(missing)"), prefix=col, drop_first=True, dtype="float64")
            parts.append(dummies)
    X = pd.concat(parts, axis=1)
    keep = X.std(axis=0).to_numpy() > 0
    X = X.loc[:, keep]
    names = ["const", *X.columns.astype(str)]
    return np.column_stack([np.ones(len(X)), X.to_numpy(dtype="float64")]), names


def smd(x: np.ndarray, d: np.ndarray, w_control: np.ndarray | None = None, w_treated: np.ndarray | None = None) -> float:
    """Standardized mean difference (Austin 2009): (mean_T − mean_C) / sqrt((var_T + var_C)/2),
    means optionally weighted, the denominator always from the unweighted samples so
    that "before" and "after" share one yardstick."""
    xt, xc = x[d], x[~d]
    for w in (w_treated, w_control):
        if w is not None and not np.sum(w) > 0:
            return float("nan")  # an empty (e.g. unmatched) sample has no mean to compare
    sd = np.sqrt((xt.var(ddof=1) + xc.var(ddof=1)) / 2) if len(xt) > 1 and len(xc) > 1 else np.nan
    mt = np.average(xt, weights=w_treated) if w_treated is not None else xt.mean()
    mc = np.average(xc, weights=w_control) if w_control is not None else xc.mean()
    if not np.isfinite(sd) or sd == 0:
        return 0.0 if mt == mc else np.inf
    return float((mt - mc) / sd)


# --------------------------------------------------------------------------- BLAS threads
import contextlib
import ctypes
import glob
import os


def _numpy_openblas():
    """numpy's bundled OpenBLAS (ctypes handle and its get/set thread-count functions), or None."""
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                                   ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
                                   ("openblas_get_num_threads", "openblas_set_num_threads")):
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                return getattr(lib, get_name), getattr(lib, set_name)
    return None


_BLAS = None


@contextlib.contextmanager
def single_thread_blas():
    """Run numpy's BLAS on one thread inside the block.

    The estimators multiply tall, thin matrices (customers × ~20 covariates);
    OpenBLAS splits those over all cores and, on a busy machine, its spinning
    threads made them 10–15× slower (measured here). One thread is as fast on
    an idle machine for these shapes. Without a recognisable OpenBLAS this does nothing.
    """
    global _BLAS
    if _BLAS is None:
        try:
            _BLAS = _numpy_openblas() or False
        except Exception:  # pragma: no cover - exotic builds
            _BLAS = False
    if not _BLAS:
        yield
        return
    get, set_ = _BLAS
    before = int(get())
    set_(1)
    try:
        yield
    finally:
        set_(before)




def __getattr__(name):
    # the logit lives in cxlab.uplift.core; old imports from here keep working
    if name in ("fit_logit", "LogitFit"):
        from cxlab.uplift import core

        return getattr(core, name)
    raise AttributeError(name)
