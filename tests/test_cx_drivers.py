"""CX drivers: the Shapley decomposition against a published table, recovery of the generator's drivers."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from cxlab import cx_drivers as cd
from cxlab import survey as sv
from cxlab.datasets import ATTRIBUTES, _attribute_ratings, make_demo_dataset

# Azen & Budescu (2003), Psychological Methods 8(2), 129-148, Table 2: correlations of y, x1..x4 and the
# average increase in R² from adding each predictor to models of 0, 1, 2, 3 others (3 decimals).
AZEN_BUDESCU_CORR = np.array([
    [1.0, 0.6, 0.3, 0.4, 0.5],
    [0.6, 1.0, 0.8, 0.1, 0.3],
    [0.3, 0.8, 1.0, 0.1, 0.1],
    [0.4, 0.1, 0.1, 1.0, 0.5],
    [0.5, 0.3, 0.1, 0.5, 1.0],
])
AZEN_BUDESCU_LEVELS = np.array([
    [0.360, 0.090, 0.160, 0.250],
    [0.300, 0.074, 0.095, 0.152],
    [0.263, 0.069, 0.063, 0.073],
    [0.246, 0.071, 0.061, 0.010],
])


def _ols_r2(corr: np.ndarray) -> float:
    r = corr[1:, 0]
    return float(r @ np.linalg.solve(corr[1:, 1:], r))


def test_shapley_reproduces_azen_budescu_2003():
    importance, levels = cd.shapley_r2(AZEN_BUDESCU_CORR)
    # published to 3 decimals: rounding error at most 0.0005
    np.testing.assert_allclose(levels, AZEN_BUDESCU_LEVELS, atol=0.0006)
    np.testing.assert_allclose(importance, AZEN_BUDESCU_LEVELS.mean(axis=0), atol=0.0006)
    assert importance.sum() == pytest.approx(_ols_r2(AZEN_BUDESCU_CORR), abs=1e-12)
    assert list(np.argsort(-importance)) == [0, 3, 2, 1]          # x1 > x4 > x3 > x2, as published


def test_shapley_is_equivariant_and_scale_free():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, 4)) @ rng.standard_normal((4, 4))
    y = x @ np.array([1.0, 0.5, 0.0, -0.3]) + rng.standard_normal(500)
    cov = np.cov(np.column_stack([y, x]), rowvar=False)
    imp = cd.shapley_r2(cov)[0]
    perm = [0, 3, 1, 4, 2]
    imp_perm = cd.shapley_r2(cov[np.ix_(perm, perm)])[0]
    np.testing.assert_allclose(imp_perm, imp[[2, 0, 3, 1]], atol=1e-12)
    scale = np.diag([10.0, 2.0, 0.1, 1.0, 5.0])
    np.testing.assert_allclose(cd.shapley_r2(scale @ cov @ scale)[0], imp, atol=1e-12)


def test_relative_weights_sum_to_r2_and_agree_with_shapley():
    w = cd.relative_weights(AZEN_BUDESCU_CORR)
    assert w.sum() == pytest.approx(_ols_r2(AZEN_BUDESCU_CORR), abs=1e-12)
    # Johnson (2000): relative weights are close to the general dominance weights
    np.testing.assert_allclose(w, cd.shapley_r2(AZEN_BUDESCU_CORR)[0], atol=0.005)
    # with uncorrelated predictors both are the squared correlations
    corr = np.eye(4)
    corr[0, 1:] = corr[1:, 0] = [0.5, 0.3, 0.1]
    np.testing.assert_allclose(cd.relative_weights(corr), [0.25, 0.09, 0.01], atol=1e-12)
    np.testing.assert_allclose(cd.shapley_r2(corr)[0], [0.25, 0.09, 0.01], atol=1e-12)


def test_bad_matrices_are_refused():
    with pytest.raises(ValueError, match="square"):
        cd.shapley_r2(np.ones((2, 3)))
    with pytest.raises(ValueError, match="positive variance"):
        cd.shapley_r2(np.diag([1.0, 0.0, 1.0]))


# --------------------------------------------------------------------------- the generator's truth
def test_driver_truth_matches_a_large_simulation():
    """The exact moments behind DemoTruth.driver_importance agree with 200 000 simulated answers."""
    rng = np.random.default_rng(11)
    n = 200_000
    nps = rng.choice(np.arange(11), n, p=np.r_[[0.02] * 5, 0.05, 0.08, 0.15, 0.15, 0.25, 0.22])
    mixed = rng.choice(["store", "web", "app", "call_center", "delivery"], n, p=[0.35, 0.25, 0.2, 0.1, 0.1])
    cols = ["nps", *(f"rating_{a}" for a in ATTRIBUTES)]
    for scope, touch in (("overall", mixed), ("delivery", np.full(n, "delivery"))):
        frame = pd.DataFrame({"nps": nps, "touchpoint": pd.Categorical(touch)})
        sim, truth, _ = _attribute_ratings(np.random.default_rng(12), frame)
        est = cd.shapley_r2(np.cov(sim[cols].to_numpy(float), rowvar=False))[0]
        true = truth[truth["scope"] == scope]
        # sampling error of an R² part at n = 200 000 is about 0.002
        np.testing.assert_allclose(est, true["importance"], atol=0.006)
        np.testing.assert_allclose(sim[cols[1:]].mean().to_numpy(), true["mean_rating"], atol=0.01)


def test_generator_adds_ratings_without_changing_the_answers():
    ds = make_demo_dataset(800, seed=5)
    assert list(ds.surveys.columns[:6]) == ["customer_id", "date", "nps", "csat", "ces", "touchpoint"]
    assert {f"rating_{a}" for a in ATTRIBUTES} | {"journey_stage"} <= set(ds.surveys.columns)
    assert ds.surveys[[f"rating_{a}" for a in ATTRIBUTES]].isin([1, 2, 3, 4, 5]).all().all()
    assert set(ds.truth.driver_importance["scope"]) == {"overall", "store", "web", "app", "call_center", "delivery"}
    # the attributes with the largest loading lead at their touchpoint
    truth = ds.truth.driver_importance.set_index(["scope", "attribute"])["share"]
    assert truth["delivery"].idxmax() == "speed" and truth["call_center"].idxmax() == "staff"


# --------------------------------------------------------------------------- recovery over seeds
N_SEEDS = 20


@pytest.fixture(scope="module")
def recoveries():
    """Key drivers and CSI on 20 generated data sets, beside their truths."""
    out = []
    for seed in range(N_SEEDS):
        ds = make_demo_dataset(2500, seed=100 + seed)
        kd = cd.key_drivers(ds.surveys, n_boot=200, seed=seed)
        csi = cd.csi_index(ds.surveys, n_boot=200, seed=seed)
        out.append((ds.truth, kd, csi))
    return out


def test_shapley_intervals_cover_the_true_importances(recoveries):
    """95 % bootstrap intervals of the 4 overall importances: coverage over 20 data sets (80 intervals)."""
    covered, total = 0, 0
    for truth, kd, _ in recoveries:
        true = truth.driver_importance.query("scope == 'overall'").set_index("attribute")["importance"]
        t = kd.table.set_index("attribute")
        covered += int(((t["ci_low"] <= true[t.index]) & (true[t.index] <= t["ci_high"])).sum())
        total += len(t)
    # Binomial(80, 0.95) falls below 70 with probability < 0.5 % (intervals of one data set are not independent,
    # so the spread is wider). Measured: 71/80 here; 381/400 (95.3 %) over 100 further data sets (seeds 200-299).
    assert covered >= 70, f"{covered}/{total} intervals cover the truth"


def test_importances_are_recovered_on_average(recoveries):
    errors = []
    for truth, kd, _ in recoveries:
        true = truth.driver_importance.query("scope == 'overall'").set_index("attribute")["share"]
        est = kd.table.set_index("attribute")["share"]
        errors.append((est - true[est.index]).to_numpy())
    errors = np.array(errors)
    # mean error of the shares over 20 data sets: no systematic bias beyond 3 standard errors
    se = errors.std(axis=0, ddof=1) / np.sqrt(N_SEEDS)
    assert np.all(np.abs(errors.mean(axis=0)) < 3 * se + 0.01)
    # the top driver overall (speed) is found in at least 17 of the 20 data sets
    assert sum(kd.table.set_index("attribute")["share"].idxmax() == "speed" for _, kd, _ in recoveries) >= 17


def test_csi_intervals_cover_the_true_index(recoveries):
    covered = sum(csi.ci_low <= truth.csi <= csi.ci_high for truth, _, csi in recoveries)
    # Binomial(20, 0.95) falls below 17 with probability < 2 %. Measured: 20/20 here and 100/100 over seeds
    # 200-299: conservative, since the truth is taken at the data set's own mix of NPS answers.
    assert covered >= 17, f"{covered}/{N_SEEDS}"


def test_key_drivers_by_touchpoint_find_each_touchpoints_leader():
    ds = make_demo_dataset(4000, seed=7)
    kd = cd.key_drivers(ds.surveys, by="touchpoint", n_boot=50, seed=1)
    leaders = kd.table.loc[kd.table.groupby("touchpoint")["importance"].idxmax()].set_index("touchpoint")
    assert leaders.loc["store", "attribute"] == "staff"
    assert leaders.loc["delivery", "attribute"] == "speed"
    assert leaders.loc["call_center", "attribute"] == "staff"
    assert set(kd.fit["touchpoint"]) == {"store", "web", "app", "call_center", "delivery"}
    assert np.allclose(kd.table.groupby("touchpoint")["share"].sum(), 1.0)


def test_key_drivers_is_fast_enough():
    ds = make_demo_dataset(2000, seed=2)
    t0 = time.perf_counter()
    cd.key_drivers(ds.surveys, n_boot=300)
    assert time.perf_counter() - t0 < 5


# --------------------------------------------------------------------------- inputs and the money value
def test_key_drivers_refuses_what_it_cannot_do():
    ds = make_demo_dataset(600, seed=4)
    with pytest.raises(ValueError, match="no attribute ratings"):
        cd.key_drivers(ds.surveys.drop(columns=[f"rating_{a}" for a in ATTRIBUTES]))
    with pytest.raises(ValueError, match=r"rating_colour"):
        cd.key_drivers(ds.surveys, ["colour"])
    with pytest.raises(ValueError, match="method"):
        cd.key_drivers(ds.surveys, method="lasso")
    wide = ds.surveys.assign(**{f"rating_x{k}": ds.surveys["rating_staff"] for k in range(12)})
    with pytest.raises(ValueError, match="relative_weights"):
        cd.key_drivers(wide)
    rw = cd.key_drivers(ds.surveys, method="relative_weights", n_boot=30)
    assert rw.table["importance"].sum() == pytest.approx(rw.fit["r2"].iloc[0])


def test_missing_ratings_are_left_out_and_counted():
    ds = make_demo_dataset(800, seed=6)
    s = ds.surveys.copy()
    s.loc[s.index[:10], "rating_price"] = np.nan
    kd = cd.key_drivers(s, n_boot=30)
    assert kd.fit["n"].iloc[0] == len(s) - 10
    assert any("10 answer(s)" in n for n in kd.notes)


def test_touchpoint_metrics_reuse_survey_metrics():
    ds = make_demo_dataset(800, seed=8)
    m = cd.touchpoint_metrics(ds.surveys, by=["journey_stage", "touchpoint"])
    nps = m.table[m.table["metric"] == "nps"]
    store = ds.surveys[ds.surveys["touchpoint"] == "store"]["nps"]
    expected = sv.nps_estimate(store).nps
    assert nps.set_index("touchpoint").loc["store", "estimate"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="journey"):
        cd.touchpoint_metrics(ds.surveys.drop(columns="journey_stage"), by="journey_stage")


@pytest.fixture(scope="module")
def behaviour():
    from cxlab.study import Study

    ds = make_demo_dataset(3000, seed=9)
    study = Study.from_frames(ds.transactions, ds.customers.set_index("customer_id", drop=False), ds.surveys)
    res = sv.nps_behaviour(study.surveys, study.durations, study.customer_summary, horizon=study.horizon_days,
                           unit=study.duration_unit, summary_unit=study.unit)
    return study, res


def test_detractor_shift_value_follows_the_formula(behaviour):
    study, res = behaviour
    v = cd.detractor_shift_value(study.surveys, res, share=0.2, to="promoter", margin_rate=0.3)
    ret = res.retention.set_index("nps_group")
    rs = res.revenue_at_stake
    per_year = rs["annual_revenue_active_detractors"] / rs["active_detractors"]
    excess = ret.loc["detractor", "churn_probability"] - ret.loc["promoter", "churn_probability"]
    se = np.hypot(ret.loc["detractor", "churn_se"], ret.loc["promoter", "churn_se"])
    t = v.table.set_index("touchpoint")
    assert t.loc["total", "active_detractors"] == rs["active_detractors"]
    assert t.drop("total")["active_detractors"].sum() == rs["active_detractors"]
    k = t.loc["store", "active_detractors"]
    assert t.loc["store", "value"] == pytest.approx(0.2 * k * per_year * excess * 0.3)
    assert t.loc["store", "ci_high"] - t.loc["store", "value"] == pytest.approx(0.2 * k * per_year * 0.3 * 1.959964 * se,
                                                                                 rel=1e-4)
    # the generator's detractors churn 1.8 times as fast as promoters: the value is positive
    assert t.loc["total", "value"] > 0
    to_passive = cd.detractor_shift_value(study.surveys, res, share=0.2, to="passive", margin_rate=0.3)
    excess_passive = ret.loc["detractor", "churn_probability"] - ret.loc["passive", "churn_probability"]
    assert to_passive.table["value"].iloc[-1] == pytest.approx(t.loc["total", "value"] * excess_passive / excess)


def test_detractor_shift_value_refuses_bad_inputs(behaviour):
    study, res = behaviour
    for kwargs, words in (({"share": 0}, "share"), ({"share": 1.5}, "share"), ({"to": "detractor"}, "to must"),
                          ({"margin_rate": 0}, "margin_rate"), ({"by": "channel"}, "no column")):
        with pytest.raises(ValueError, match=words):
            cd.detractor_shift_value(study.surveys, res, **kwargs)
