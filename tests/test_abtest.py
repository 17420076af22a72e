"""A/B tests: Welch / proportion tests, CUPED, sample size."""
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from cxlab.abtest import ABTest, cuped_adjust, sample_size, sample_size_proportions


def _experiment(n=20000, rho=0.7, effect=1.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 10, n)
    noise = rng.normal(0, 10, n)
    y = 50 + rho * (x - 50) + math.sqrt(1 - rho**2) * noise
    group = np.where(rng.random(n) < 0.5, "control", "treatment")
    y = y + effect * (group == "treatment")
    return pd.DataFrame({"revenue": y, "pre_revenue": x, "group": group})


def test_welch_difference_matches_scipy():
    df = _experiment()
    res = ABTest(metric="revenue").fit(df).result_
    a = df.loc[df.group == "control", "revenue"]
    b = df.loc[df.group == "treatment", "revenue"]
    t = stats.ttest_ind(b, a, equal_var=False)
    row = res.table.loc["unadjusted"]
    assert row["difference"] == pytest.approx(b.mean() - a.mean())
    assert row["p_value"] == pytest.approx(t.pvalue, rel=1e-3)


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_cuped_variance_reduction_is_one_minus_rho_squared(rho):
    df = _experiment(n=40000, rho=rho, seed=int(rho * 10))
    res = ABTest(metric="revenue", covariate="pre_revenue").fit(df).result_
    assert res.info["variance_reduction"] == pytest.approx(rho**2, abs=0.02)
    se_ratio = res.table.loc["cuped", "se"] / res.table.loc["unadjusted", "se"]
    assert se_ratio == pytest.approx(math.sqrt(1 - rho**2), abs=0.02)
    assert res.table.loc["cuped", "ci_low"] < 1.0 < res.table.loc["cuped", "ci_high"]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-100, 100))
def test_cuped_theta_and_mean_preservation(seed, shift):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, 500) + shift
    y = 2 * x + rng.normal(0, 1, 500)
    y_adj, theta = cuped_adjust(y, x)
    assert theta == pytest.approx(np.cov(y, x)[0, 1] / np.var(x, ddof=1))
    assert y_adj.mean() == pytest.approx(y.mean(), abs=1e-8 * (1 + abs(y.mean())))


def test_conversion_test():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"converted": np.r_[rng.random(5000) < 0.10, rng.random(5000) < 0.12].astype(int),
                       "arm": ["A"] * 5000 + ["B"] * 5000})
    res = ABTest(metric="converted", group="arm", control="A", treatment="B", kind="proportion").fit(df).result_
    row = res.table.loc["unadjusted"]
    assert row["difference"] == pytest.approx(df[df.arm == "B"].converted.mean() - df[df.arm == "A"].converted.mean())
    assert row["ci_low"] < 0.02 < row["ci_high"]


def test_sample_size_matches_formula():
    # n = 2 (z_{1-a/2} + z_{power})^2 sigma^2 / delta^2
    n = sample_size(delta=1.0, sd=10.0)
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert n == math.ceil(2 * z**2 * 100)
    assert sample_size(delta=1.0, sd=10.0, rho=0.6) == math.ceil(2 * z**2 * 100 * (1 - 0.36))
    h = 2 * math.asin(math.sqrt(0.12)) - 2 * math.asin(math.sqrt(0.10))
    assert sample_size_proportions(0.10, 0.12) == math.ceil(2 * z**2 / h**2)


def test_bad_inputs_are_explained():
    df = _experiment(n=100)
    with pytest.raises(ValueError, match="missing column"):
        ABTest(metric="sales").fit(df)
    with pytest.raises(ValueError, match="'group'.*'ctrl'"):
        ABTest(control="ctrl").fit(df)
    with pytest.raises(ValueError, match="0/1"):
        ABTest(kind="proportion").fit(df)
    with pytest.raises(ValueError, match="equal"):
        sample_size_proportions(0.1, 0.1)
    with pytest.raises(ValueError, match="constant"):
        cuped_adjust(np.arange(5.0), np.ones(5))
