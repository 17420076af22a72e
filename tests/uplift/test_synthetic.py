"""Validation on cxlab's synthetic generator: known effect inside the causal CIs, naive far outside."""
import warnings

import numpy as np
import pytest

from cxlab.data import customer_period_panel
from cxlab.datasets import make_demo_dataset
from cxlab.uplift import PrePostDiD, member_panel, prepost_windows

PRE = POST = 6


def calendar_window_truth(att_by_month, column, post=POST):
    """True effect per member-month over a post window of whole *calendar* months starting with the join month.

    The generator's months are counted from the exact join date; the window starts on the 1st of the join
    month, on average half a month before joining, so it covers months-since-join 0 … post−1 minus, on
    average, half of the last one.
    """
    f = att_by_month[column].to_numpy()[:post]
    return (f.sum() - 0.5 * f[post - 1]) / post


@pytest.fixture(scope="module")
def demo():
    ds = make_demo_dataset(n_customers=50_000, seed=2)
    panel = customer_period_panel(ds.transactions, period="M")
    mp = member_panel(panel, ds.customers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = PrePostDiD().fit(prepost_windows(mp, pre=PRE, post=POST)).result_
    return ds, res


@pytest.mark.slow
@pytest.mark.parametrize("outcome,column", [("spend", "revenue_effect"), ("visits", "transactions_effect")])
def test_truth_inside_causal_cis_and_naive_far_outside(demo, outcome, column):
    ds, res = demo
    truth = calendar_window_truth(ds.truth.att_by_month, column)
    for method in ("matching", "ipw", "dr"):
        e = res.estimate(outcome, method)
        assert e["ci_low"] < truth < e["ci_high"], (outcome, method, e, truth)
    naive = res.estimate(outcome, "naive")
    assert naive["ci_low"] > truth
    assert naive["att"] > 2.5 * truth  # "several times the true effect"


@pytest.mark.slow
def test_matching_and_weighting_balance_the_covariates(demo):
    _, res = demo
    assert (res.balance.table["unadjusted"].abs().max()) > 0.5
    assert (res.balance.table[["ipw", "matched"]].abs() < 0.1).all().all()
    assert res.overlap["share_members_outside_control_range"] < 0.02


@pytest.mark.slow
def test_main_design_and_placebo_over_20_seeds():
    """Issue 11, item 4: over 20 seeds of the generator (40,000 customers each; seeds 0..19, not chosen),
    the doubly robust 95% CI of the proportional design covers the true effect in at least 18, and the
    placebo (join dates moved 6 months earlier) covers 0 in at least 18. Measured when written: 19 and 19.
    With the additive design the placebo found 200-350 (above 0 in most seeds): selection on the latent
    buying rate regresses a matched baseline to the mean."""
    covered = placebo_zero = 0
    for seed in range(20):
        ds = make_demo_dataset(n_customers=40_000, seed=seed)
        mp = member_panel(customer_period_panel(ds.transactions, period="M"), ds.customers)
        truth = calendar_window_truth(ds.truth.att_by_month, "revenue_effect")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            main = PrePostDiD(outcomes=("spend",), methods=("dr",)).fit(prepost_windows(mp, pre=PRE, post=POST)).result_
            plac = PrePostDiD(outcomes=("spend",), methods=("dr",)).fit(
                prepost_windows(mp, pre=PRE, post=POST, placebo_shift=POST)).result_
        e, p = main.estimate("spend", "dr"), plac.estimate("spend", "dr")
        covered += e["ci_low"] <= truth <= e["ci_high"]
        placebo_zero += p["ci_low"] <= 0 <= p["ci_high"]
    assert covered >= 18 and placebo_zero >= 18, (covered, placebo_zero)
