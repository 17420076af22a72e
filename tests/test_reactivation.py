"""Sleeping customers and winback campaigns: recovery of the generator's true campaign effect."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cxlab import reactivation as ra
from cxlab.data import ClientData
from cxlab.datasets import make_demo_dataset
from cxlab.study import Study

SEEDS = range(20)
WINDOW = 60


@pytest.fixture(scope="module")
def campaigns_over_seeds():
    """The randomised winback campaign of 20 demo retailers, evaluated with CUPED."""
    out = []
    for seed in SEEDS:
        ds = make_demo_dataset(2000, seed=seed)
        ev = ra.evaluate_campaign(ds.transactions, ds.campaigns, window_days=WINDOW, margin_rate=0.3,
                                  observation_end=ds.truth.end)
        out.append((ds.truth, ev))
    return out


def _covered(row: pd.Series, truth: float) -> bool:
    return bool(row["ci_low"] <= truth <= row["ci_high"])


def test_the_generator_records_a_known_effect():
    ds = make_demo_dataset(2000, seed=42)
    t, latent = ds.truth, ds.truth.campaign_latent
    assert t.campaign_sleepers == len(ds.campaigns) == len(latent) > 500
    assert t.campaign_treated == int((ds.campaigns["group"] == "treatment").sum())
    # the dead cannot respond; the living respond at the stated rate
    assert not latent.loc[~latent["alive_at_send"], "responds"].any()
    rate = latent.loc[latent["alive_at_send"], "responds"].mean()
    assert abs(rate - t.campaign_response_rate) < 4 * np.sqrt(0.3 * 0.7 / latent["alive_at_send"].sum()) + 0.05
    lift = latent["returned_if_treated"].astype(float) - latent["returned_if_control"]
    assert t.campaign_incremental_return_rate == pytest.approx(lift.mean()) and lift.min() >= 0
    # appended rows are the treated responders' only: the log without them is the campaign-free log
    plain = make_demo_dataset(2000, seed=42, campaign=False).transactions
    own = ds.transactions[~ds.transactions["order_id"].str.startswith("R")].reset_index(drop=True)
    pd.testing.assert_frame_equal(own, plain)
    added = ds.transactions[ds.transactions["order_id"].str.startswith("R")]
    treated = set(ds.campaigns.loc[ds.campaigns["group"] == "treatment", "customer_id"])
    assert set(added["customer_id"]) <= treated and len(added) > 0


def test_the_data_layer_reads_the_truths_outcomes_exactly():
    ds = make_demo_dataset(1500, seed=7)
    ev = ra.evaluate_campaign(ds.transactions, ds.campaigns, window_days=WINDOW, margin_rate=0.3,
                              observation_end=ds.truth.end)
    latent = ds.truth.campaign_latent.loc[ev.customers.index]
    treated = latent["group"] == "treatment"
    returned = latent["returned_if_treated"].where(treated, latent["returned_if_control"])
    revenue = latent["revenue_if_treated"].where(treated, latent["revenue_if_control"])
    assert (ev.customers["returned"] == returned).all()
    np.testing.assert_allclose(ev.customers["revenue"], revenue, atol=0.02)
    np.testing.assert_allclose(ev.customers["pre_revenue"], latent["pre_revenue"], atol=0.02)
    np.testing.assert_allclose(ev.customers["days_asleep"], latent["days_asleep"], atol=1e-4)


def test_randomised_intervals_cover_the_true_effect_over_seeds(campaigns_over_seeds):
    """95 % intervals: at least 17 of 20 must cover (P(X <= 16) = 1.6 % at the nominal rate)."""
    assert stats.binom.cdf(16, 20, 0.95) < 0.02
    covered = {"return_rate": 0, "revenue": 0, "margin": 0}
    errors = []
    for truth, ev in campaigns_over_seeds:
        assert ev.design == "randomised"
        covered["return_rate"] += _covered(ev.effect("return_rate"), truth.campaign_incremental_return_rate)
        covered["revenue"] += _covered(ev.effect("revenue"), truth.campaign_incremental_revenue)
        # margin = revenue x the study's rate (0.3, the middle of the generator's 0.25..0.35)
        covered["margin"] += _covered(ev.effect("margin"), truth.campaign_incremental_margin)
        errors.append((ev.effect("return_rate")["estimate"] - truth.campaign_incremental_return_rate,
                       ev.effect("return_rate")["se"]))
    assert min(covered.values()) >= 17, covered
    # no bias: the mean error is within 3 standard errors of its mean
    err, se = np.array(errors).T
    assert abs(err.mean()) < 3 * np.sqrt(np.mean(se**2) / len(err))


def test_economics_follow_from_the_effects(campaigns_over_seeds):
    _, ev = campaigns_over_seeds[0]
    e, n = ev.economics, ev.n_treated
    assert e["incremental_revenue"] == pytest.approx(ev.effect("revenue")["estimate"] * n)
    cost = e["cost"]
    assert cost > 0
    assert e["roi"] == pytest.approx((e["incremental_margin"] - cost) / cost)
    assert e["roi_low"] < e["roi"] < e["roi_high"]
    # time to return: the treated come back sooner (the responders' purchases fall early in the window)
    assert ev.arms.loc["treatment", "days_to_return"] < ev.arms.loc["control", "days_to_return"]


def test_cuped_reduces_the_variance_of_the_difference():
    """Re-randomise the arms of one audience many times (potential outcomes from the truth):
    the CUPED difference varies less than the plain one, as much less as the data say."""
    latent = make_demo_dataset(2000, seed=11).truth.campaign_latent
    x = ra.cuped_covariates(latent)
    rng = np.random.default_rng(0)
    plain, adjusted, ratios = [], [], []
    for _ in range(300):
        d = rng.random(len(latent)) < 0.5
        y = np.where(d, latent["revenue_if_treated"], latent["revenue_if_control"])
        plain.append(y[d].mean() - y[~d].mean())
        res = ra.cuped_difference(y, d, x)
        adjusted.append(res["estimate"])
        ratios.append(res["variance_ratio"])
    mc_ratio = np.var(adjusted) / np.var(plain)
    assert mc_ratio < 0.97
    assert max(ratios) < 1.0
    # the ratio one experiment reports is what re-randomisation shows (F-test-sized tolerance for 300 draws)
    assert np.mean(ratios) == pytest.approx(mc_ratio, abs=0.1)


def _confounded(seed: int):
    """A campaign sent mostly to the recently asleep (who come back more anyway), without a control group."""
    ds = make_demo_dataset(2500, seed=seed)
    latent = ds.truth.campaign_latent
    rng = np.random.default_rng([seed, 5])
    treated = (latent["group"] == "treatment").to_numpy()
    p_keep = 1 / (1 + np.exp(2 * (np.log(latent["days_asleep"].to_numpy()) - np.log(200))))
    keep = treated & (rng.random(len(latent)) < p_keep)
    dropped = latent.index[treated & ~keep]  # never sent: their responses are removed from the log
    tx = ds.transactions
    tx = tx[~(tx["customer_id"].isin(dropped) & tx["order_id"].str.startswith("R"))]
    campaign = ds.campaigns[ds.campaigns["customer_id"].isin(latent.index[keep])]
    lift = (latent["returned_if_treated"].astype(float) - latent["returned_if_control"])[keep].mean()
    return tx, campaign, lift, ds.truth.end


def test_matched_sleepers_recover_a_confounded_campaign():
    estimates, truths, naive, covered = [], [], [], 0
    for seed in range(10):
        tx, campaign, lift, end = _confounded(seed)
        ev = ra.evaluate_campaign(tx, campaign, window_days=WINDOW, margin_rate=0.3, observation_end=end,
                                  sleeping_days=90)
        assert ev.design == "matched" and ev.n_control > 3 * ev.n_treated
        row = ev.effect("return_rate")
        estimates.append(row["estimate"])
        naive.append(row["plain"])
        truths.append(lift)
        covered += _covered(row, lift)
    assert covered >= 8, covered  # P(X <= 7 | 10, 0.95) = 1.2 %
    bias = np.mean(estimates) - np.mean(truths)
    naive_bias = np.mean(naive) - np.mean(truths)
    assert naive_bias > 0.03  # the recently asleep return more on their own
    assert abs(bias) < naive_bias / 3


def test_sleeping_customers_match_a_direct_count():
    ds = make_demo_dataset(1500, seed=5)
    tx = ds.transactions
    as_of = pd.Timestamp("2025-10-31")
    res = ra.sleeping_customers(tx, as_of=as_of, sleeping_days=120, margin_rate=0.25, horizon_months=12,
                                monthly_discount_rate=0.01)
    seen = tx[tx["timestamp"] < as_of + pd.Timedelta(days=1)]
    last = seen[seen["amount"] > 0].groupby("customer_id")["timestamp"].max()
    days = (as_of + pd.Timedelta(days=1) - last).dt.total_seconds() / 86_400
    asleep = days[days >= 120].index
    assert set(res.table.index) == set(asleep) and res.customers == seen["customer_id"].nunique()
    one = asleep[0]
    rows = seen[(seen["customer_id"] == one) & (seen["timestamp"] <= last[one])
                & (seen["timestamp"] > last[one] - pd.Timedelta(days=365))]
    assert res.table.loc[one, "active_revenue"] == pytest.approx(rows["amount"].sum())
    factor = sum(1.01 ** -k for k in range(1, 13)) / 12
    expected = max(rows["amount"].sum(), 0) * 0.25 * factor
    assert res.table.loc[one, "value_if_reactivated"] == pytest.approx(expected)
    assert res.totals["sleepers"] == len(asleep)


def test_study_states_the_sleeping_rule_and_exposes_campaigns():
    ds = make_demo_dataset(800, seed=2)
    data = ClientData(ds.transactions, ds.customers, ds.surveys, campaigns=ds.campaigns)
    study = Study(data, {"churn_threshold_days": 75})
    assert study.sleeping.threshold_days == 75 and study.sleeping.source == "churn threshold"
    assert study.has("campaigns") and len(study.campaigns) == len(ds.campaigns)
    assert Study(data, {"churn_threshold_days": 75, "sleeping_days": 120}).sleeping.source == "parameter"
    assert not Study(ClientData(ds.transactions, ds.customers)).has("campaigns")
    assert study.to_dict()["sleeping"]["campaign_window_days"] == 60
    evaluations = ra.evaluate_study_campaigns(study)
    assert list(evaluations) == ["winback"] and evaluations["winback"].design == "randomised"


def test_whom_to_wake_ranks_by_value_times_response(campaigns_over_seeds):
    ds = make_demo_dataset(2000, seed=0)
    _, ev = campaigns_over_seeds[0]
    sleepers = ra.sleeping_customers(ds.transactions, as_of=ds.truth.end, sleeping_days=90, margin_rate=0.3)
    wake = ra.whom_to_wake(sleepers, ev)
    t = wake.table
    assert len(t) == len(sleepers.table)
    assert t["expected_value"].is_monotonic_decreasing
    np.testing.assert_allclose(t["expected_value"], t["value_if_reactivated"] * t["response"])
    assert (wake.bands["response"] >= 0).all()
    # the recently asleep respond more (the long asleep are mostly gone)
    assert wake.bands["response"].iloc[0] > wake.bands["response"].iloc[-1]


def test_one_arm_without_a_sleeping_rule_is_refused():
    ds = make_demo_dataset(800, seed=1)
    treated = ds.campaigns[ds.campaigns["group"] == "treatment"]
    with pytest.raises(ValueError, match="no control group"):
        ra.evaluate_campaign(ds.transactions, treated, window_days=WINDOW, margin_rate=0.3,
                             observation_end=ds.truth.end)


# --------------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(n=st.integers(8, 60), shift=st.floats(-1e3, 1e3), scale=st.floats(0.1, 100), seed=st.integers(0, 2**16))
def test_cuped_is_invariant_to_shifting_and_scaling_the_covariate(n, shift, scale, seed):
    rng = np.random.default_rng(seed)
    d = np.arange(n) % 2 == 0
    x = rng.normal(size=n)
    y = 2 * x + rng.normal(size=n) + d
    a = ra.cuped_difference(y, d, x)
    b = ra.cuped_difference(y, d, shift + scale * x)
    assert a["estimate"] == pytest.approx(b["estimate"], abs=1e-8)
    # theta is the pooled least-squares slope, so it can only shrink the pooled variance of the outcome;
    # the variance of the difference (Neyman's, group by group) shrinks only on average: with 9 customers
    # it can grow (seed 1078: ratio 1.32), so the exact property is asserted on the pooled variance
    y_adj = y - (x - x.mean()) * a["theta"]
    assert y_adj.var() <= y.var() * (1 + 1e-12)
    # a constant covariate changes nothing
    c = ra.cuped_difference(y, d, np.full(n, 3.0))
    assert c["estimate"] == pytest.approx(y[d].mean() - y[~d].mean())


@settings(max_examples=30, deadline=None)
@given(groups=st.lists(st.sampled_from(["treatment", "Treatment", " CONTROL ", "control"]), min_size=1,
                       max_size=20))
def test_validate_campaigns_normalises_arms_and_is_idempotent(groups):
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(groups))], "sent_at": "2024-01-01",
                          "group": groups})
    once = ra.validate_campaigns(frame)
    assert set(once["group"]) <= {"treatment", "control"} and (once["campaign"] == "campaign").all()
    pd.testing.assert_frame_equal(ra.validate_campaigns(once), once)
