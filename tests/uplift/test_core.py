"""The propensity core: equal to statsmodels where it converges, never diverging, separation named."""
import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings, strategies as st

from cxlab.uplift._utils import single_thread_blas
from cxlab.uplift.core import SeparationError, design_frame, fit_logit, fit_ols, trim_sample

from lalonde_data import COVARIATES, lalonde


@pytest.mark.parametrize("group", ["psid1", "cps1"])
def test_logit_equals_statsmodels_on_lalonde(group):
    """The design that made plain Newton-Raphson diverge (-6165 -> -14332 -> -1.5e16 on CPS-1)."""
    df = lalonde(group)
    X, names = design_frame(df, COVARIATES)
    fit = fit_logit(X, df["treat"].to_numpy(), names=names)
    with single_thread_blas():
        ref = sm.Logit(df["treat"].to_numpy(float), X).fit(disp=0, method="newton", maxiter=200, tol=1e-12)
    assert ref.mle_retvals["converged"] and fit.converged
    np.testing.assert_allclose(fit.coef, ref.params, rtol=1e-6)
    np.testing.assert_allclose(fit.vcov, ref.cov_params(), rtol=1e-6)
    np.testing.assert_allclose(fit.prob, ref.predict(), atol=1e-9)
    assert fit.loglik == pytest.approx(ref.llf, abs=1e-6)
    # rows with a propensity of ~0 are not separation: the MLE exists and is returned
    assert fit.n_pinned > 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.sampled_from([1.0, 1e3, 1e6]), n=st.integers(60, 400))
def test_logit_equals_statsmodels_on_random_designs(seed, scale, n):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(0, 1, n) * scale, rng.binomial(1, 0.3, n), rng.gamma(1, 1, n) ** 2 * scale])
    eta = -0.3 + 0.8 * X[:, 1] / scale + 0.5 * X[:, 2] - 0.2 * X[:, 3] / scale
    d = rng.random(n) < 1 / (1 + np.exp(-eta))
    if d.sum() < 5 or (~d).sum() < 5:
        return
    try:
        fit = fit_logit(X, d)
    except SeparationError:
        with pytest.raises(Exception):  # statsmodels cannot fit it either
            r = sm.Logit(d.astype(float), X).fit(disp=0, method="newton", maxiter=200, tol=1e-12)
            assert r.mle_retvals["converged"] and np.abs(r.params).max() < 1e6
        return
    with single_thread_blas():
        ref = sm.Logit(d.astype(float), X).fit(disp=0, method="newton", maxiter=300, tol=1e-13)
    if not ref.mle_retvals["converged"]:
        return
    np.testing.assert_allclose(fit.coef, ref.params, rtol=1e-6, atol=1e-9 / scale)
    np.testing.assert_allclose(fit.prob, ref.predict(), atol=1e-6)


def test_complete_and_quasi_separation_are_named():
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    X = np.column_stack([np.ones(300), x])
    with pytest.raises(SeparationError, match="separates.*x1"):
        fit_logit(X, x > 0.3, names=["const", "x1"])
    big = (x > 1).astype(float)
    d = np.where(big == 1, True, rng.random(300) < 0.3)  # every 'big' row treated: quasi-complete
    X2 = np.column_stack([np.ones(300), rng.normal(size=300), big])
    with pytest.raises(SeparationError, match="big"):
        fit_logit(X2, d, names=["const", "noise", "big"])
    with pytest.warns(UserWarning, match="separates"):
        res = fit_logit(X2, d, names=["const", "noise", "big"], on_separation="warn")
    assert not res.converged


def test_logit_rejects_constant_treatment_and_bad_shapes():
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    with pytest.raises(ValueError, match="constant"):
        fit_logit(X, np.zeros(10))
    with pytest.raises(ValueError, match="rows"):
        fit_logit(X, np.zeros(9))
    with pytest.raises(ValueError, match="on_separation"):
        fit_logit(X, np.arange(10) % 2, on_separation="ignore")


def test_ols_equals_statsmodels_weighted_and_unweighted():
    rng = np.random.default_rng(3)
    n = 500
    X = np.column_stack([np.ones(n), rng.normal(0, 1e4, n), rng.binomial(1, 0.5, n)])
    y = X @ [1.0, 2e-4, -3.0] + rng.normal(size=n)
    w = rng.uniform(0.5, 2, n)
    np.testing.assert_allclose(fit_ols(X, y).coef, sm.OLS(y, X).fit().params, rtol=1e-9)
    np.testing.assert_allclose(fit_ols(X, y, weights=w).coef, sm.WLS(y, X, weights=w).fit().params, rtol=1e-9)
    np.testing.assert_allclose(fit_ols(X, y).gram_inv, np.linalg.inv(X.T @ X / n), rtol=1e-8)


def test_trimming_rules():
    e = np.array([0.01, 0.2, 0.5, 0.95, 0.3, 0.6, 0.97])
    d = np.array([False, False, False, False, True, True, True])
    keep, rule = trim_sample(e, d, "common_support")
    assert keep.tolist() == [False, False, True, True, True, True, False] and "Dehejia" in rule
    keep, rule = trim_sample(e, d, 0.05, estimand="ATE")
    assert keep.tolist() == [False, True, True, True, True, True, False]
    keep, _ = trim_sample(e, d, None)
    assert keep.all()
    with pytest.raises(ValueError, match="trim must be"):
        trim_sample(e, d, "everything")


def test_design_frame_names_bad_columns():
    import pandas as pd

    df = pd.DataFrame({"a": [1.0, 2, 3], "b": ["x", "y", "x"], "c": [1.0, 1, 1], "e": [1.0, None, 2]})
    X, names = design_frame(df, ["a", "b"])
    assert names == ["const", "a", "b_y"] and X.shape == (3, 3)
    with pytest.raises(ValueError, match="'c'"):
        design_frame(df, ["a", "c"])
    with pytest.raises(ValueError, match="'e'.*missing"):
        design_frame(df, ["e"])
    with pytest.raises(ValueError, match="missing column"):
        design_frame(df, ["zzz"])
