"""Membership effects on purchasing and lifetime (Pareto/NBD with membership as a time-varying covariate)."""
import numpy as np
import pandas as pd
import pytest

from cxlab.datasets import make_demo_dataset
from cxlab.ltv import MembershipEffects, membership_effects

# The demo generator (cxlab.datasets.make_demo_dataset): while a member, the purchase rate is multiplied by
# loyalty_frequency_multiplier (1.15) and the dropout hazard by loyalty_churn_hazard_ratio (0.8). In the
# Pareto/NBD's parameterisation: trans.member = log 1.15 (purchase-rate multiplier 1.15) and life.member =
# log 0.8, i.e. the remaining lifetime multiplied by 1 / 0.8 = 1.25. Heavy buyers join sooner (join hazard
# ~ lambda^1.5) and only living customers join: the self-selection the estimator adjusts for.
TRUE_PURCHASE, TRUE_LIFETIME = 1.15, 1 / 0.8


@pytest.fixture(scope="module")
def demo_effects():
    ds = make_demo_dataset(3000, seed=11)
    return ds, membership_effects(ds.transactions, ds.customers, unit="W")


def test_membership_effects_result(demo_effects):
    ds, res = demo_effects
    assert isinstance(res, MembershipEffects) and res.converged
    t = res.table
    assert list(t.index) == ["purchase rate", "expected lifetime"]
    g = res.model.params_
    assert t.loc["purchase rate", "multiplier"] == pytest.approx(np.exp(g["trans.member"]))
    assert t.loc["expected lifetime", "multiplier"] == pytest.approx(np.exp(-g["life.member"]))
    for effect in t.index:
        assert t.loc[effect, "ci_lower"] < t.loc[effect, "multiplier"] < t.loc[effect, "ci_upper"]
    # likelihood-ratio tests from refits; the purchase effect is strong at this sample size
    assert t.loc["purchase rate", "p_value"] < 1e-3 and t.loc["purchase rate", "lr_statistic"] > 10
    assert res.joint_test["df"] == 2 and res.joint_test["lr_statistic"] >= t["lr_statistic"].max() - 1e-6
    text = res.sentence()
    assert text.startswith("members buy ") and "x as often [" in text and "x as long [" in text
    assert "Membership effects" in res.summary().as_text()
    d = res.to_dict()
    assert d["sentence"] == text and d["n_members"] == res.n_members > 0


def test_membership_effects_bad_input(demo_effects):
    ds, _ = demo_effects
    with pytest.raises(ValueError, match="loyalty_join_date"):
        membership_effects(ds.transactions, ds.customers.drop(columns="loyalty_join_date"))
    none = ds.customers.assign(loyalty_join_date=pd.NaT)
    with pytest.raises(ValueError, match="not identified"):
        membership_effects(ds.transactions, none, lr_tests=False)
    with pytest.raises(ValueError, match="level"):
        membership_effects(ds.transactions, ds.customers, level=95)
    with pytest.raises(ValueError, match="adjust_for column 'chanel'"):
        membership_effects(ds.transactions, ds.customers, adjust_for=["chanel"], lr_tests=False)


@pytest.mark.slow
def test_membership_effects_recovered_on_the_demo_generator():
    # 95% intervals cover the true multipliers in >= 18 of 20 seeds (binomial: P(X <= 17 | 0.95) = 0.075).
    # The generator's acquisition channel multiplies both the purchase rate and the hazard, and heavy
    # buyers join sooner: channel is an observed confounder of joining, adjusted for as an analyst would.
    covered = {"purchase rate": 0, "expected lifetime": 0}
    truth = {"purchase rate": TRUE_PURCHASE, "expected lifetime": TRUE_LIFETIME}
    for seed in range(20):
        ds = make_demo_dataset(3000, seed=seed)
        res = membership_effects(ds.transactions, ds.customers, unit="W", lr_tests=False,
                                 adjust_for=["acquisition_channel"])
        assert res.converged, (seed, res.message)
        for effect, value in truth.items():
            lo, hi = res.table.loc[effect, ["ci_lower", "ci_upper"]]
            covered[effect] += lo <= value <= hi
    assert covered["purchase rate"] >= 18, covered
    assert covered["expected lifetime"] >= 18, covered
