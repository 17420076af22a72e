"""Customer equity (Gupta, Lehmann & Stuart 2004) and the revenue lost to churn."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxlab.customer_equity import (
    CustomerEquity,
    EquityInputs,
    churn_losses,
    equity_gradient,
    equity_value,
    estimate_retention,
    margin_multiple,
)
from cxlab.units import DAYS_PER_MONTH, DAYS_PER_YEAR

BASE = EquityInputs(retention=0.8, margin=50.0, acquisition_cost=120.0, discount_rate=0.12, horizon=24,
                    active=1000.0, new_per_period=80.0, first_margin=30.0)
DRIVERS = ("retention", "margin", "first_margin", "acquisition_cost", "discount_rate")


# --------------------------------------------------------------------------- the formula
def test_equity_against_a_hand_computation():
    p = replace(BASE, horizon=2)
    rho, delta = 0.8 ** (1 / 12), 1.12 ** (-1 / 12)
    x = rho * delta
    # current customers: two months of margin; cohort 1 earns one month, cohort 2 none; both pay c and
    # bring their first purchase's margin when acquired
    current = 50.0 * 1000 * (x + x ** 2)
    future = 80.0 * (50.0 * delta * x + (30.0 - 120.0) * (delta + delta ** 2))
    value = equity_value(p)
    assert value["current"] == pytest.approx(current, rel=1e-12)
    assert value["future"] == pytest.approx(future, rel=1e-12)
    assert value["equity"] == pytest.approx(current + future, rel=1e-12)
    assert value["per_new_customer"] == pytest.approx(30.0 + 50.0 * (x + x ** 2) - 120.0, rel=1e-12)


def test_long_horizon_tends_to_the_gls_margin_multiple():
    # GLS (2004) / Gupta & Lehmann (2003): m r / (1 + i - r) - c per period, r and i per period
    p = replace(BASE, horizon=4000, first_margin=0.0)
    rho = 0.8 ** (1 / 12)
    i_month = 1.12 ** (1 / 12) - 1
    expected = 50.0 * margin_multiple(rho, i_month) - 120.0
    assert equity_value(p)["per_new_customer"] == pytest.approx(expected, rel=1e-10)
    # the value of all cohorts: n * delta / (1 - delta) new customers (discounted) times that value
    delta = 1 / (1 + i_month)
    cohorts = 80.0 * delta / (1 - delta) * expected
    assert equity_value(p)["future"] == pytest.approx(cohorts, rel=1e-6)


def test_margin_multiple_on_the_gupta_lehmann_grid():
    # r / (1 + i - r) at the grid of Gupta & Lehmann's (2003) margin-multiple table, to two decimals
    table = {(0.6, 0.10): 1.20, (0.7, 0.10): 1.75, (0.8, 0.10): 2.67, (0.9, 0.10): 4.50,
             (0.6, 0.12): 1.15, (0.7, 0.12): 1.67, (0.8, 0.12): 2.50, (0.9, 0.12): 4.09,
             (0.6, 0.14): 1.11, (0.7, 0.14): 1.59, (0.8, 0.14): 2.35, (0.9, 0.14): 3.75,
             (0.6, 0.16): 1.07, (0.7, 0.16): 1.52, (0.8, 0.16): 2.22, (0.9, 0.16): 3.46}
    for (r, i), multiple in table.items():
        assert round(margin_multiple(r, i), 2) == multiple, (r, i)


@pytest.mark.parametrize("inputs", [BASE, replace(BASE, horizon=1), replace(BASE, retention=0.3, horizon=60),
                                    replace(BASE, acquisition_cost=0.0, discount_rate=0.0),
                                    replace(BASE, new_per_period=0.0, margin=-5.0)])
def test_analytic_derivatives_match_finite_differences(inputs):
    grad = equity_gradient(inputs)
    for name in DRIVERS:
        x0 = getattr(inputs, name)
        h = 1e-6 * max(abs(x0), 1e-2)
        if x0 - h < 0 and name in ("discount_rate", "acquisition_cost"):  # one-sided at the boundary 0
            numeric = (equity_value(replace(inputs, **{name: x0 + h}))["equity"]
                       - equity_value(inputs)["equity"]) / h
            assert grad[name] == pytest.approx(numeric, rel=1e-4, abs=1e-6), name
            continue
        up = equity_value(replace(inputs, **{name: x0 + h}))["equity"]
        down = equity_value(replace(inputs, **{name: x0 - h}))["equity"]
        assert grad[name] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-6), name


def test_retention_elasticity_dominates_at_the_papers_retention_levels():
    # GLS: a 1 % better retention moves value about five times more than a 1 % better margin. With
    # c = 0 and a long horizon the ratio is (1 + i_m) / (12 (1 + i_m - rho)) for annual retention r
    p = replace(BASE, retention=0.9, acquisition_cost=0.0, first_margin=0.0, horizon=2400)
    value = equity_value(p)["equity"]
    grad = equity_gradient(p)
    e_r = grad["retention"] * p.retention / value
    e_m = grad["margin"] * p.margin / value
    assert e_m == pytest.approx(1.0)  # CE is linear in m when c = 0
    rho, i_m = 0.9 ** (1 / 12), 1.12 ** (1 / 12) - 1
    assert e_r == pytest.approx((1 + i_m) / (12 * (1 + i_m - rho)), rel=1e-6)
    assert 4 < e_r / e_m < 6


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="retention"):
        replace(BASE, retention=1.0)
    with pytest.raises(ValueError, match="horizon"):
        replace(BASE, horizon=0)
    with pytest.raises(ValueError, match="acquisition_cost"):
        replace(BASE, acquisition_cost=-1.0)


# --------------------------------------------------------------------------- invariants
_inputs = st.builds(
    EquityInputs,
    retention=st.floats(0.05, 0.97), margin=st.floats(0.1, 1e4), acquisition_cost=st.floats(0.0, 1e4),
    discount_rate=st.floats(0.0, 0.5), horizon=st.integers(1, 120), active=st.floats(0.0, 1e5),
    new_per_period=st.floats(0.0, 1e3), first_margin=st.floats(0.0, 1e4),
)


@given(_inputs, st.floats(0.001, 0.02))
def test_equity_rises_with_retention_and_margin_and_falls_with_acquisition_cost(p, step):
    ce = equity_value(p)["equity"]
    assert equity_value(replace(p, retention=p.retention + step))["equity"] >= ce
    assert equity_value(replace(p, margin=p.margin * (1 + step)))["equity"] >= ce
    assert equity_value(replace(p, first_margin=p.first_margin + 100 * step))["equity"] >= ce
    assert equity_value(replace(p, acquisition_cost=p.acquisition_cost + 100 * step))["equity"] <= ce
    grad = equity_gradient(p)
    assert grad["retention"] >= 0 and grad["margin"] >= 0 and grad["first_margin"] >= 0
    assert grad["acquisition_cost"] <= 0


@given(_inputs, st.floats(0.001, 0.02))
def test_equity_falls_with_the_discount_rate_when_acquisition_is_free(p, step):
    # with a cost, late cohorts can be worth less than their cost, and discounting them more helps
    # (margins m, m0 >= 0 here)
    free = replace(p, acquisition_cost=0.0)
    assert equity_value(replace(free, discount_rate=free.discount_rate + step))["equity"] <= \
        equity_value(free)["equity"]
    assert equity_gradient(free)["discount_rate"] <= 0


# --------------------------------------------------------------------------- estimation
def test_retention_estimate_by_hand():
    durations = pd.DataFrame({"duration": [0.0, 2 * DAYS_PER_MONTH, 4 * DAYS_PER_MONTH, 6 * DAYS_PER_MONTH],
                              "event": [True, True, False, True]})
    est = estimate_retention(durations)
    lam = 3 / 12.0
    assert est.hazard == pytest.approx(lam)
    assert est.retention == pytest.approx(np.exp(-12 * lam))
    var = ((1 - 0) ** 2 + (1 - lam * 2) ** 2 + (0 - lam * 4) ** 2 + (1 - lam * 6) ** 2) / 12.0 ** 2
    assert est.se_log_hazard == pytest.approx(np.sqrt(var) / lam)
    assert est.ci[0] < est.retention < est.ci[1]
    with pytest.raises(ValueError, match="no retention"):
        estimate_retention(durations.assign(event=False))


_CHANNELS = ("organic", "search", "social", "referral", "partner")


def _homogeneous(seed: int, n: int = 1500, start: str = "2023-01-01", **params):
    """Demo retailer whose customers all churn at the baseline hazard, with contract end dates."""
    from cxlab.data import ClientData
    from cxlab.datasets import make_demo_dataset
    from cxlab.study import Study

    ds = make_demo_dataset(n, seed=seed, start=start, contractual=True, loyalty=False, survey_share=0.0,
                           order_ids=False, channel_hazard_ratios=dict.fromkeys(_CHANNELS, 1.0),
                           nps_hazard_ratios={"promoter": 1.0, "passive": 1.0, "detractor": 1.0})
    return ds, Study(ClientData(ds.transactions, ds.customers), params)


def test_retention_and_equity_intervals_cover_the_truth_over_seeds():
    # the true annual retention of the generator: exp(-mu0 per week * weeks per year)
    hits_r, hits_ce, estimates = 0, 0, []
    for seed in range(20):
        ds, study = _homogeneous(seed)
        assert study.churn.kind == "contractual"
        truth = float(np.exp(-ds.truth.mu0 * DAYS_PER_YEAR / 7))
        fit = CustomerEquity.from_study(study)
        lo, hi = fit.ci_["retention"]
        hits_r += lo <= truth <= hi
        true_ce = equity_value(replace(fit.inputs_, retention=truth))["equity"]
        hits_ce += fit.ci_["equity"][0] <= true_ce <= fit.ci_["equity"][1]
        estimates.append(fit.inputs_.retention)
    # 95 % intervals: P(Binomial(20, 0.95) <= 16) = 0.016
    assert hits_r >= 17 and hits_ce >= 17
    assert np.mean(estimates) == pytest.approx(np.exp(-0.012 * DAYS_PER_YEAR / 7), abs=0.01)


def test_current_customers_value_predicts_their_next_year_margin():
    # Four years of the homogeneous retailer, the study cut after three with no discounting: the value of
    # today's active customers over 12 months is the margin they should bring in the fourth year. The
    # end-of-month timing understates a continuously buying customer's margin by (1 - rho) / (lambda rho).
    ratios = []
    for seed in range(12):
        ds, study = _homogeneous(seed, n=2000, start="2022-01-01", observation_end="2024-12-31", discount_rate=0.0)
        fit = CustomerEquity.from_study(study)
        lam = fit.retention_.hazard
        timing = (1 - np.exp(-lam)) / (lam * np.exp(-lam))
        active = study.durations.index[~study.durations["event"]]
        tx = ds.transactions
        after = tx["timestamp"] >= pd.Timestamp("2025-01-01")
        next_year = tx[after & (tx["timestamp"] < pd.Timestamp("2026-01-01")) & tx["customer_id"].isin(active)]
        ratios.append(fit.equity_["current"] * timing / next_year["margin"].sum())
    # each seed's ratio has a spread of about 5 % (heavy-tailed spend): the mean of 12 within 4 %
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.04)
    assert sum(0.85 < r < 1.15 for r in ratios) >= 11


def test_study_facts_are_read_not_decided():
    ds, study = _homogeneous(0, n=600)
    fit = CustomerEquity.from_study(study)
    assert fit.margin_rate == study.margin_rate and fit.horizon_months == study.horizon_months
    assert fit.discount_rate == study.discount_rate
    d = study.durations
    exposure = d["duration"].sum() / DAYS_PER_MONTH
    summary = study.customer_summary.reindex(d.index).fillna(0)
    # m from the purchases after the first day; m0 from the first days of the last year's new customers
    repeat = (summary["revenue"] - summary["first_purchase_value"]).sum()
    assert fit.inputs_.margin == pytest.approx(study.margin_rate * repeat / exposure)
    assert fit.inputs_.active == (~d["event"]).sum()
    recent = d["start"] >= study.window_end + pd.Timedelta(days=1) - pd.DateOffset(months=12)
    assert fit.inputs_.new_per_period == pytest.approx(recent.sum() / 12)
    assert fit.inputs_.first_margin == pytest.approx(
        study.margin_rate * summary["first_purchase_value"][recent].mean())
    cost = study.customers["acquisition_cost"].reindex(d.index[recent]).mean()
    assert fit.acquisition_cost_known_ and fit.inputs_.acquisition_cost == pytest.approx(cost)
    # the one-point value is the exact difference at one more point of annual retention
    up = equity_value(replace(fit.inputs_, retention=fit.inputs_.retention + 0.01))["equity"]
    assert fit.point_value_ == pytest.approx(up - fit.equity_["equity"])
    assert fit.ci_["point_value"][0] <= fit.point_value_ <= fit.ci_["point_value"][1]
    assert "Customer equity" in str(fit) and fit.to_dict()["inputs"]["acquisition_cost_known"] is True


def test_unknown_acquisition_cost_is_stated_not_invented():
    ds, study = _homogeneous(1, n=600)
    fit = CustomerEquity(margin_rate=0.3).fit(study.durations, study.customer_summary["revenue"],
                                              window_end=study.window_end)
    assert not fit.acquisition_cost_known_ and fit.inputs_.acquisition_cost == 0.0
    assert np.isnan(fit.elasticities_["acquisition_cost"])
    assert "Acquisition cost unknown" in str(fit)


# --------------------------------------------------------------------------- revenue lost to churn
def test_churn_losses_by_hand():
    day = pd.Timestamp
    durations = pd.DataFrame({
        "start": [day("2024-01-05"), day("2024-01-10"), day("2024-02-01"), day("2024-03-03"), day("2024-01-02")],
        "duration": [45.0, 0.0, 100.0, 10.0, 30.0],
        "event": [True, True, False, True, True],
    }, index=pd.Index(list("abcde"), name="customer_id"))
    revenue = pd.Series({"a": 300.0, "b": 50.0, "c": 999.0, "d": 80.0, "e": 200.0})
    segments = pd.DataFrame({"channel": ["x", "y", "x", "y", "x"]}, index=durations.index)
    res = churn_losses(durations, revenue, margin_rate=0.25, window_start="2024-01-01", window_end="2024-06-30",
                       known_after_days=60, segments=segments)
    # churn dates: a 2024-02-19, b 2024-01-10, d 2024-03-13, e 2024-02-01; complete months end by 2024-05-01
    assert list(res.periods["period"]) == [day("2024-01-01"), day("2024-02-01"), day("2024-03-01"),
                                           day("2024-04-01")]
    per = res.periods.set_index("period")
    a = 300.0 / (45 / DAYS_PER_MONTH)
    assert per.loc["2024-01-01", "churned"] == 1 and per.loc["2024-01-01", "revenue_lost"] == pytest.approx(50.0)
    assert per.loc["2024-02-01", "churned"] == 2
    assert per.loc["2024-02-01", "revenue_lost"] == pytest.approx(a + 200.0)   # e: one month active
    assert per.loc["2024-02-01", "active_at_start"] == 2                       # a and e (b is gone)
    assert per.loc["2024-03-01", "revenue_lost"] == pytest.approx(80.0)
    assert per.loc["2024-03-01", "active_at_start"] == 1                       # only c: a, b, e are gone
    assert res.margin_lost_per_period == pytest.approx(0.25 * res.revenue_lost_per_period)
    assert res.revenue_lost_per_period == pytest.approx((50.0 + a + 200.0 + 80.0) / 4)
    by = res.by_segment["channel"]
    assert by.loc["x", "revenue_lost"] == pytest.approx((a + 200.0) / 4)
    assert by.loc["y", "revenue_lost"] == pytest.approx((50.0 + 80.0) / 4)
    assert by["share"].sum() == pytest.approx(1.0)
