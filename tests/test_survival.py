"""Tests of cxlab.survival: Kaplan-Meier, RMST, Cox (Rossi vs R), time-varying membership."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import CoxPHFitter, CoxTimeVaryingFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import restricted_mean_survival_time

from cxlab.survival import (
    CoxResult,
    KaplanMeierResult,
    MembershipHazard,
    _cox_counting_process,
    aggregate_durations,
    fit_cox,
    fit_time_varying_cox,
    kaplan_meier,
    membership_intervals,
    plot_hazard_ratios,
    plot_survival,
    restricted_mean,
)

DATA = Path(__file__).parent / "data" / "rossi"
COVARIATES = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
# R survival::coxph (Efron), Fox & Weisberg; see tests/data/rossi/SOURCE.md
R_COEF = {"fin": -0.3794, "age": -0.0574, "race": 0.3139, "wexp": -0.1498, "mar": -0.4337,
          "paro": -0.0849, "prio": 0.0915}
R_SE = {"fin": 0.1914, "age": 0.0220, "race": 0.3080, "wexp": 0.2122, "mar": 0.3819,
        "paro": 0.1958, "prio": 0.0286}


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    return pd.read_csv(DATA / "rossi.csv")


# ---------------------------------------------------------------------------
# Cox
# ---------------------------------------------------------------------------
def test_cox_reproduces_r_coefficients_on_rossi(rossi):
    res = fit_cox(rossi, duration_col="week", event_col="arrest", covariates=COVARIATES)
    assert isinstance(res, CoxResult)
    hr = res.hazard_ratios
    for name, coef in R_COEF.items():
        assert round(hr.loc[name, "coef"], 4) == pytest.approx(coef, abs=1e-12), name
        assert hr.loc[name, "se"] == pytest.approx(R_SE[name], abs=6e-5), name
        assert hr.loc[name, "hazard_ratio"] == pytest.approx(np.exp(hr.loc[name, "coef"]))
        # R's exp(coef) +/- 1.96 se bounds, from R's own coefficient and standard error (4 digits)
        assert hr.loc[name, "hr_ci_low"] == pytest.approx(np.exp(coef - 1.959964 * R_SE[name]), rel=3e-4), name
        assert hr.loc[name, "hr_ci_high"] == pytest.approx(np.exp(coef + 1.959964 * R_SE[name]), rel=3e-4), name
    # likelihood-ratio test against the null model: 33.27 on 7 df in R's print(coxph)
    lr = res.model.log_likelihood_ratio_test()
    assert lr.test_statistic == pytest.approx(33.27, abs=0.005)
    assert res.model.log_likelihood_ == pytest.approx(-658.75, abs=0.005)


def test_cox_ph_check_flags_age_and_work_experience(rossi):
    res = fit_cox(rossi, duration_col="week", event_col="arrest", covariates=COVARIATES, check_ph=True)
    p = res.ph_test["p_value"]
    # Fox & Weisberg: cox.zph shows non-proportionality for age and wexp only
    assert p["age"] < 0.05 and p["wexp"] < 0.05
    assert (p.drop(["age", "wexp"]) > 0.05).all()
    text = str(res)
    assert "Proportional hazards doubtful" in text and "Hazard ratios" in text
    assert res.to_dict()["hazard_ratios"][0]["term"] == "fin"
    json.dumps(res.to_dict())
    assert res.plain_words()[0].startswith("fin: churn risk 32% lower")
    assert "риск ухода ниже" in res.plain_words("ru")[0]


def test_aggregated_cox_matches_row_level_fit(rossi):
    plain = fit_cox(rossi, duration_col="week", event_col="arrest", covariates=["fin", "wexp", "paro"])
    agg = fit_cox(rossi, duration_col="week", event_col="arrest", covariates=["fin", "wexp", "paro"],
                  aggregate=True)
    assert agg.rows_fitted < len(rossi)
    np.testing.assert_allclose(agg.hazard_ratios["coef"], plain.hazard_ratios["coef"], atol=2e-3)
    np.testing.assert_allclose(agg.hazard_ratios["se"], plain.hazard_ratios["se"], rtol=1e-2)


def test_cox_categorical_covariates_use_a_reference_level():
    rng = np.random.default_rng(3)
    n = 3000
    channel = rng.choice(["store", "web", "app"], n, p=[0.5, 0.3, 0.2])
    hr = np.select([channel == "web", channel == "app"], [1.5, 0.7], 1.0)
    t = rng.exponential(100 / hr)
    c = rng.uniform(0, 150, n)
    df = pd.DataFrame({"duration": np.minimum(t, c), "event": t <= c, "channel": channel})
    res = fit_cox(df, covariates=["channel"], reference={"channel": "store"})
    assert res.references == {"channel": "store"}
    est = res.hazard_ratios["hazard_ratio"]
    assert est["channel[web]"] == pytest.approx(1.5, rel=0.12)
    assert est["channel[app]"] == pytest.approx(0.7, rel=0.12)


def test_cox_bad_input(rossi):
    with pytest.raises(ValueError, match="no column"):
        fit_cox(rossi, duration_col="weeks", event_col="arrest")
    bad = rossi.assign(age=rossi["age"].astype(float))
    bad.loc[3, "age"] = np.nan
    with pytest.raises(ValueError, match="'age' has 1 missing"):
        fit_cox(bad, duration_col="week", event_col="arrest", covariates=["age"])
    with pytest.raises(ValueError, match="do not vary"):
        fit_cox(rossi.assign(k=1), duration_col="week", event_col="arrest", covariates=["k", "age"])
    with pytest.raises(ValueError, match="durations must be >= 0"):
        fit_cox(rossi.assign(week=-rossi["week"]), duration_col="week", event_col="arrest", covariates=["age"])


def test_counting_process_solver_matches_lifelines(rossi):
    beta, cov, ll, ok = _cox_counting_process(np.zeros(len(rossi)), rossi["week"], rossi["arrest"] == 1,
                                              rossi[COVARIATES].to_numpy(float))
    ref = CoxPHFitter().fit(rossi, "week", "arrest")
    assert ok
    np.testing.assert_allclose(beta, ref.params_[COVARIATES].to_numpy(), atol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), ref.standard_errors_[COVARIATES].to_numpy(), rtol=1e-5)
    assert ll == pytest.approx(ref.log_likelihood_, abs=1e-6)


# ---------------------------------------------------------------------------
# time-varying membership
# ---------------------------------------------------------------------------
def _tv_frames():
    durations = pd.DataFrame(
        {"start": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-03-01"]),
         "duration": [100.0, 50.0, 80.0, 30.0], "event": [True, False, True, True]},
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "loyalty_join_date": pd.to_datetime(["2024-01-31", None, "2024-01-15", "2024-06-01"]),
        "segment": ["x", "y", "x", "y"]})
    return durations, customers


def test_membership_intervals_split_at_join_date():
    durations, customers = _tv_frames()
    long = membership_intervals(durations, customers, covariates=["segment"])
    a = long[long["customer_id"] == "a"]
    assert a[["start", "stop", "member", "event"]].values.tolist() == [[0.0, 30.0, 0, False], [30.0, 100.0, 1, True]]
    b = long[long["customer_id"] == "b"]
    assert b[["start", "stop", "member", "event"]].values.tolist() == [[0.0, 50.0, 0, False]]
    c = long[long["customer_id"] == "c"]  # joined before the start: member throughout
    assert c[["member", "event"]].values.tolist() == [[1, True]]
    d = long[long["customer_id"] == "d"]  # joined after churning: never a member
    assert d[["member", "event"]].values.tolist() == [[0, True]]
    assert set(long["segment"]) == {"x", "y"}
    with pytest.raises(ValueError, match="not in customers"):
        membership_intervals(durations, customers.iloc[:2])


def _simulate_membership(n: int, seed: int, hr_member: float = 0.6):
    """Exponential lifetimes whose hazard is multiplied by hr_member after a random join time."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    segment = rng.choice(["a", "b"], n)
    h = 0.01 * np.where(segment == "b", 1.5, 1.0)
    join = rng.exponential(60, n)
    e = rng.exponential(1, n)
    death = np.where(e < h * join, e / h, join + (e - h * join) / (h * hr_member))
    censor = rng.uniform(50, 250, n)
    durations = pd.DataFrame({"start": start, "duration": np.minimum(death, censor), "event": death <= censor},
                             index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"))
    customers = pd.DataFrame({"customer_id": durations.index,
                              "loyalty_join_date": start + pd.to_timedelta(np.round(join * 86400), unit="s"),
                              "segment": segment})
    return durations, customers


def test_time_varying_cox_matches_lifelines_time_varying_fitter():
    durations, customers = _simulate_membership(300, seed=5)
    ours = fit_time_varying_cox(durations, customers, covariates=["segment"])
    ref = fit_time_varying_cox(durations, customers, covariates=["segment"], engine="lifelines")
    assert isinstance(ref.model, CoxTimeVaryingFitter)
    np.testing.assert_allclose(ours.hazard_ratios["coef"], ref.hazard_ratios["coef"], atol=1e-5)
    np.testing.assert_allclose(ours.hazard_ratios["se"], ref.hazard_ratios["se"], rtol=1e-4)
    # the intervals: lifelines' own 95 % bounds of exp(coef), not ours recomputed from its coefficients
    own = ref.model.summary.reindex(ours.hazard_ratios.index)
    np.testing.assert_allclose(ours.hazard_ratios["hr_ci_low"], own["exp(coef) lower 95%"], rtol=1e-4)
    np.testing.assert_allclose(ours.hazard_ratios["hr_ci_high"], own["exp(coef) upper 95%"], rtol=1e-4)
    assert "time-varying" in str(ours) and ours.to_dict()["hazard_ratio"] == pytest.approx(ours.hazard_ratio)


def test_membership_hazard_estimator_recovers_effect():
    durations, customers = _simulate_membership(4000, seed=11, hr_member=0.6)
    est = MembershipHazard(covariates=["segment"]).fit(durations, customers)
    assert est.ci_[0] < 0.6 < est.ci_[1]
    assert est.hazard_ratio_ == pytest.approx(0.6, rel=0.15)
    # the immortal-time-biased static comparison overstates the benefit
    ever = customers.set_index("customer_id")["loyalty_join_date"] <= durations["start"] + pd.to_timedelta(
        durations["duration"], unit="D")
    static = fit_cox(durations.assign(member=ever.astype(float)).reset_index(drop=True),
                     covariates=["member"], check_ph=False)
    assert static.hazard_ratios.loc["member", "hazard_ratio"] < est.hazard_ratio_


@pytest.mark.slow
def test_synthetic_loyalty_hazard_ratio_is_covered_by_the_ci():
    """On make_demo_dataset(contractual=True) the true membership HR lies in the 95% CI (>= 17 of 20 seeds)."""
    from cxlab.churn import contractual_durations
    from cxlab.datasets import make_demo_dataset

    covered = 0
    for seed in range(20):
        ds = make_demo_dataset(4000, seed=seed, contractual=True, order_ids=False)
        customers = ds.customers.assign(nps_group=ds.truth.latent["nps_group"].astype(str).to_numpy())
        durations = contractual_durations(customers, observation_end=ds.truth.end, unit="W")
        res = fit_time_varying_cox(durations, customers, covariates=["acquisition_channel", "nps_group"],
                                   reference={"acquisition_channel": "organic", "nps_group": "promoter"}, unit="W")
        covered += res.ci_low <= ds.truth.loyalty_churn_hazard_ratio <= res.ci_high
    assert covered >= 17


# ---------------------------------------------------------------------------
# Kaplan-Meier, RMST, log-rank
# ---------------------------------------------------------------------------
def test_kaplan_meier_matches_lifelines_and_logrank(rossi):
    res = kaplan_meier(rossi, duration_col="week", event_col="arrest", group_col="fin", unit="weeks")
    assert isinstance(res, KaplanMeierResult)
    for label, sub in rossi.groupby("fin"):
        ref = KaplanMeierFitter().fit(sub["week"], sub["arrest"])
        ours = res.survival[res.survival["group"] == str(label)].set_index("time")["survival"]
        np.testing.assert_allclose(ours.loc[ref.survival_function_.index[1:]].to_numpy(),
                                   ref.survival_function_.iloc[1:, 0].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(res.fitters[str(label)].confidence_interval_.to_numpy(),
                                   ref.confidence_interval_.to_numpy(), rtol=1e-10)
    a, b = rossi[rossi["fin"] == 0], rossi[rossi["fin"] == 1]
    lr = logrank_test(a["week"], b["week"], a["arrest"], b["arrest"])
    assert res.logrank["test_statistic"] == pytest.approx(lr.test_statistic, rel=1e-10)
    assert res.logrank["test_statistic"] == pytest.approx(3.84, abs=0.01)  # R survdiff: Chisq = 3.8, p = 0.05
    assert res.tau == 52
    assert res.table.loc["0", "events"] == 66 and np.isnan(res.table.loc["0", "median"])
    assert "Log-rank test" in str(res) and res.to_dict()["logrank"]["df"] == 1
    json.dumps(res.to_dict())
    assert "<table" in res._repr_html_()


def test_kaplan_meier_median_pairwise_and_plot():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"duration": np.ceil(rng.exponential(np.repeat([30, 60, 90], 400))),
                       "event": rng.random(1200) < 0.8, "segment": np.repeat(["a", "b", "c"], 400)})
    res = kaplan_meier(df, group_col="segment")
    ref = KaplanMeierFitter().fit(df.loc[df.segment == "b", "duration"], df.loc[df.segment == "b", "event"])
    assert res.table.loc["b", "median"] == ref.median_survival_time_
    assert len(res.pairwise) == 3 and res.logrank["df"] == 2
    ab = df[df.segment.isin(["a", "b"])]
    lr = logrank_test(ab.loc[ab.segment == "a", "duration"], ab.loc[ab.segment == "b", "duration"],
                      ab.loc[ab.segment == "a", "event"], ab.loc[ab.segment == "b", "event"])
    first = res.pairwise.iloc[0]
    assert (first["group_a"], first["group_b"]) == ("a", "b")
    assert first["test_statistic"] == pytest.approx(lr.test_statistic, rel=1e-10)
    assert (res.pairwise["p_holm"] >= res.pairwise["p_value"]).all()
    ax = plot_survival(data=res)
    assert ax.get_ylabel() == "share of customers still active"
    plt.close(ax.figure)


def test_rmst_equals_lifelines_and_se_is_the_sampling_se(rossi):
    r = restricted_mean(rossi["week"], rossi["arrest"], tau=40)
    kmf = KaplanMeierFitter().fit(rossi["week"], rossi["arrest"])
    assert r["rmst"] == pytest.approx(restricted_mean_survival_time(kmf, t=40), rel=1e-10)
    # no censoring: RMST is the sample mean of min(T, tau) and the SE its plug-in SE
    t = np.random.default_rng(0).exponential(10, 400)
    u = restricted_mean(t, np.ones(400, bool), tau=12)
    x = np.minimum(t, 12)
    assert u["rmst"] == pytest.approx(x.mean(), rel=1e-12)
    assert u["se"] == pytest.approx(x.std() / np.sqrt(400), rel=1e-10)


def test_rmst_standard_error_matches_simulation_with_censoring():
    rng = np.random.default_rng(4)
    est, ses = [], []
    for _ in range(300):
        t = rng.exponential(20, 300)
        c = rng.uniform(0, 60, 300)
        r = restricted_mean(np.minimum(t, c), t <= c, tau=30)
        est.append(r["rmst"])
        ses.append(r["se"])
    assert np.mean(ses) == pytest.approx(np.std(est), rel=0.12)
    assert np.mean(est) == pytest.approx(20 * (1 - np.exp(-30 / 20)), rel=0.02)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=60))
def test_aggregation_preserves_the_kaplan_meier_curve(rows):
    d = np.array([r[0] for r in rows], float)
    e = np.array([r[1] for r in rows])
    tab = aggregate_durations(d, e)
    assert tab["events"].sum() == e.sum() and tab["at_risk"].iloc[0] == len(d)
    if e.any():
        res = kaplan_meier(pd.DataFrame({"duration": d, "event": e}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = KaplanMeierFitter().fit(d, e)
        ours = res.survival.set_index("time")["survival"]
        np.testing.assert_allclose(ours.loc[ref.survival_function_.index].to_numpy(),
                                   ref.survival_function_.iloc[:, 0].to_numpy(), rtol=1e-12)


def test_non_integer_durations_and_weights():
    tab = aggregate_durations([0.5, 0.5, 1.25, 2.0], [True, False, True, False], weights=[2, 1, 1, 3])
    assert tab["time"].tolist() == [0.5, 1.25, 2.0]
    assert tab["at_risk"].tolist() == [7, 4, 3]
    assert tab["events"].tolist() == [2, 1, 0]
    with pytest.raises(ValueError, match="events must be boolean"):
        aggregate_durations([1, 2], [0, 2])


def test_hazard_ratio_plot(rossi):
    res = fit_cox(rossi, duration_col="week", event_col="arrest", covariates=COVARIATES, check_ph=False)
    ax = plot_hazard_ratios(data=res)
    assert len(ax.get_yticklabels()) == len(COVARIATES)
    plt.close(ax.figure)
