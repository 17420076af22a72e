"""Tests of cxlab.ltv.contractual: sBG DEL/DERL and RMST-based LTV."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from cxlab.ltv.contractual import (
    RmstLTV,
    customer_base_value,
    discounted_restricted_mean,
    rmst_ltv,
    sbg_del,
    sbg_derl,
    sbg_ltv,
)
from cxlab.retention import ShiftedBetaGeometric
from cxlab.survival import restricted_mean

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
A, B = 0.704, 1.182  # Fader & Hardie (2007) regular cohort


def _survival(a, b, t):
    return np.exp(betaln(a, b + t) - betaln(a, b))


def test_del_is_the_discounted_sum_of_the_survival_curve():
    t = np.arange(0, 3000)
    for d in (0.05, 0.10, 0.25):
        brute = np.sum(_survival(A, B, t) * np.exp(-t * np.log1p(d)))
        assert sbg_del(A, B, d) == pytest.approx(brute, rel=1e-8)


def test_derl_is_the_discounted_residual_lifetime_of_a_survivor():
    t = np.arange(0, 3000)
    s = _survival(A, B, t)
    d = 0.10
    for renewals in (0, 1, 4, 10):
        # survived to the end of period n = renewals + 1; next payment (if renewing) undiscounted
        n = renewals + 1
        brute = np.sum(s[n:] / s[n - 1] * np.exp(-np.arange(s.size - n) * np.log1p(d)))
        assert sbg_derl(A, B, d, renewals) == pytest.approx(brute, rel=1e-8)
    # survivors are better customers: DERL grows with the number of renewals
    assert np.all(np.diff(sbg_derl(A, B, d, np.arange(8))) > 0)
    # a new customer's DEL = first payment + P(renew) * (discounted DERL after 0 renewals)
    assert sbg_del(A, B, d) == pytest.approx(1 + sbg_derl(A, B, d, 0) / (1 + d), rel=1e-10)


def test_sbg_ltv_and_customer_base_value_from_a_fitted_model():
    m = ShiftedBetaGeometric().fit(REGULAR)
    new = sbg_ltv(m, margin_per_period=100.0, discount_rate=0.1)
    assert new == pytest.approx(100 * sbg_del(m.params_["alpha"], m.params_["beta"], 0.1))
    assert sbg_ltv((A, B), margin_per_period=50.0, discount_rate=0.1, renewals=3) == pytest.approx(
        50 * sbg_derl(A, B, 0.1, 3))
    # Fader & Hardie (2010): value the 241 customers who have made 7 renewals
    base = customer_base_value(m, {7: 241}, margin_per_period=100.0, discount_rate=0.1)
    assert base["value"].item() == pytest.approx(241 * 100 * sbg_derl(m.params_["alpha"], m.params_["beta"], 0.1, 7))
    with pytest.raises(ValueError, match="discount_rate"):
        sbg_del(A, B, 0.0)
    with pytest.raises(ValueError, match="renewals"):
        sbg_derl(A, B, 0.1, -1)


def test_discounted_rmst_reduces_to_rmst_and_discounts_correctly():
    rng = np.random.default_rng(0)
    t, c = rng.exponential(12, 500), rng.uniform(0, 40, 500)
    d, e = np.minimum(t, c), t <= c
    plain = discounted_restricted_mean(d, e, 24)
    ref = restricted_mean(d, e, 24)
    assert plain["value"] == pytest.approx(ref["rmst"]) and plain["se"] == pytest.approx(ref["se"])
    # uncensored: mean of integral_0^min(T, tau) v^u du, and its plug-in standard error
    t = rng.exponential(12, 400)
    r = discounted_restricted_mean(t, np.ones(400, bool), 24, discount_rate=0.02)
    delta = np.log(1.02)
    x = (1 - np.exp(-delta * np.minimum(t, 24))) / delta
    assert r["value"] == pytest.approx(x.mean(), rel=1e-10)
    assert r["se"] == pytest.approx(x.std() / np.sqrt(400), rel=1e-8)


def test_rmst_ltv_by_group():
    rng = np.random.default_rng(1)
    n = 2000
    plan = rng.choice(["basic", "premium"], n)
    t = rng.exponential(np.where(plan == "premium", 30, 15))
    c = rng.uniform(12, 48, n)
    df = pd.DataFrame({"duration": np.minimum(t, c), "event": t <= c, "plan": plan})
    res = rmst_ltv(df, tau=12, margin_per_period={"basic": 10.0, "premium": 25.0}, group_col="plan", unit="month")
    assert isinstance(res, RmstLTV)
    tab = res.table
    # exponential truth: RMST(12) = m (1 - exp(-12/m))
    assert tab.loc["basic", "rmst"] == pytest.approx(15 * (1 - np.exp(-12 / 15)), rel=0.03)
    assert tab.loc["premium", "ltv"] == pytest.approx(25 * 30 * (1 - np.exp(-12 / 30)), rel=0.03)
    assert (tab["ltv_ci_low"] < tab["ltv"]).all() and (tab["ltv"] < tab["ltv_ci_high"]).all()
    assert "restricted mean lifetime" in str(res) and res.to_dict()["tau"] == 12
    with pytest.raises(ValueError, match="exceeds the longest follow-up"):
        rmst_ltv(df, tau=500, margin_per_period=1.0)
