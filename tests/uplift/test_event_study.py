"""Callaway–Sant'Anna staggered DiD: the published mpdta numbers and invariances."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from cxlab.uplift import StaggeredDiD, callaway_santanna, loyalty_staggered, plot_event_study
from cxlab.uplift.panel import NEVER, MemberPanel

MPDTA = Path(__file__).parents[1] / "data" / "mpdta" / "mpdta.csv"


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(MPDTA)


@pytest.fixture(scope="module")
def fitted(mpdta):
    return StaggeredDiD().fit(mpdta, y="lemp", group="first.treat", time="year", unit="countyreal")


def test_mpdta_simple_att_and_se(fitted):
    # R package did, never-treated comparison, no covariates (Callaway & Sant'Anna 2021)
    assert round(fitted.simple_["att"], 4) == -0.0400
    assert round(fitted.simple_["se"], 4) == 0.0120  # analytic influence-function SE


def test_mpdta_dynamic_aggregate(fitted):
    assert round(fitted.dynamic_["att"], 4) == -0.0772


def test_mpdta_att_gt_cohort_2004(fitted):
    g = fitted.att_gt_[fitted.att_gt_["g"] == 2004].set_index("t")["att"]
    assert [round(g[t], 4) for t in (2004, 2005, 2006, 2007)] == [-0.0105, -0.0704, -0.1373, -0.1008]


def test_mpdta_not_yet_treated_matches_csdid(mpdta):
    # reference: csdid 0.4.3 ATTgt(control_group="notyettreated", est_method="dr", bstrap=False), measured here
    m = StaggeredDiD(control_group="notyettreated").fit(mpdta, y="lemp", group="first.treat", time="year", unit="countyreal")
    att = m.att_gt_.sort_values(["g", "t"])
    ref_att = [-0.019372, -0.078319, -0.136274, -0.100811, -0.002563, -0.001939, 0.004661, -0.041224,
               0.029759, -0.002411, -0.031087, -0.026054]
    ref_se = [0.02231011, 0.03039023, 0.03540338, 0.03435923, 0.02253024, 0.01904216, 0.01633558, 0.02022918,
              0.01453354, 0.0160313, 0.01787751, 0.01665544]
    np.testing.assert_allclose(att["att"], ref_att, atol=1e-6)
    np.testing.assert_allclose(att["se"], ref_se, rtol=1e-5)


def test_event_time_pre_periods_are_placebos(fitted):
    ev = fitted.event_.set_index("event_time")
    assert ev.index.min() == -3 and ev.index.max() == 3
    assert ev.loc[-1, "n_cells"] == 2


def test_unbalanced_panel_is_rejected(mpdta):
    with pytest.raises(ValueError, match="balanced"):
        StaggeredDiD().fit(mpdta.iloc[1:], y="lemp", group="first.treat", time="year", unit="countyreal")


def test_missing_column_is_named(mpdta):
    with pytest.raises(ValueError, match="lemp2"):
        StaggeredDiD().fit(mpdta, y="lemp2", group="first.treat", time="year", unit="countyreal")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), effect=st.floats(-5, 5))
def test_recovers_effect_under_parallel_trends_and_ignores_unit_and_time_effects(seed, effect):
    rng = np.random.default_rng(seed)
    n, T = 300, 6
    group = rng.choice([-1, 2, 3, 4], n)
    unit_fe = rng.normal(0, 10, n)[:, None]
    time_fe = rng.normal(0, 5, T)[None, :]
    treated = (group[:, None] >= 0) & (np.arange(T)[None, :] >= group[:, None])
    Y0 = unit_fe + time_fe
    out = callaway_santanna(Y0 + effect * treated, group)
    assert out["simple"]["att"] == pytest.approx(effect, abs=1e-8)
    assert out["dynamic"]["att"] == pytest.approx(effect, abs=1e-8)
    pre = out["event"][out["event"]["event_time"] < 0]
    np.testing.assert_allclose(pre["att"], 0, atol=1e-8)


def test_standard_errors_cover_at_nominal_rate():
    hits = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        n, T = 400, 5
        group = rng.choice([-1, 2, 3], n)
        treated = (group[:, None] >= 0) & (np.arange(T)[None, :] >= group[:, None])
        Y = rng.normal(0, 1, (n, T)) + 0.3 * treated
        s = callaway_santanna(Y, group)["simple"]
        hits += s["ci_low"] <= 0.3 <= s["ci_high"]
    assert hits >= 52  # 95% nominal: 57 expected of 60


def test_loyalty_staggered_on_hand_built_panel():
    rng = np.random.default_rng(1)
    n, T = 2000, 12
    join = np.where(rng.random(n) < 0.4, rng.integers(3, 10, n), NEVER)
    level = rng.gamma(2, 50, n)[:, None]
    member = (np.arange(T)[None, :] >= join[:, None]) & (join[:, None] < T)
    revenue = level + rng.normal(0, 5, (n, T)) + 20 * member
    mp = MemberPanel(np.arange(n).astype(str).astype(object), pd.date_range("2024-01-01", periods=T, freq="MS"),
                     revenue, np.ones((n, T)), np.zeros(n, dtype=int), join, pd.DataFrame(index=range(n)))
    res = loyalty_staggered(mp)
    assert res.simple["ci_low"] < 20 < res.simple["ci_high"]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_event_study(res)
    assert ax.get_xlabel()
    plt.close("all")


def test_window_aggregate_is_mean_of_event_times(mpdta):
    m = StaggeredDiD().fit(mpdta, y="lemp", group="first.treat", time="year", unit="countyreal")
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first().reindex(wide.index)
    gi = np.where(g == 0, -1, np.searchsorted(np.sort(mpdta.year.unique()), g))
    out = callaway_santanna(wide.to_numpy(), gi, max_event=3)
    assert out["window"]["att"] == pytest.approx(m.dynamic_["att"])
    assert out["window"]["se"] == pytest.approx(m.dynamic_["se"])


# ---- group and calendar aggregations, covariates, TWFE (issue 11, item 7) -------------------------
def test_mpdta_group_and_calendar_aggregations_equal_r_did(fitted):
    """R did's aggte(type = "group" / "calendar") on mpdta (did's README and reference page of aggte):
    group 2004/2006/2007 = -0.0797, -0.0229, -0.0261, overall -0.031; calendar 2004..2007 =
    -0.0105, -0.0704, -0.0488, -0.0371, overall -0.0417."""
    g = fitted.group_.set_index("g")["att"]
    assert [round(g[y], 4) for y in (2004, 2006, 2007)] == [-0.0797, -0.0229, -0.0261]
    assert round(fitted.group_overall_["att"], 3) == -0.031
    c = fitted.calendar_.set_index("t")["att"]
    assert [round(c[y], 4) for y in (2004, 2005, 2006, 2007)] == [-0.0105, -0.0704, -0.0488, -0.0371]
    assert round(fitted.calendar_overall_["att"], 4) == -0.0417
    # analytic standard errors: csdid 0.4.3 aggte(bstrap=False) (R prints multiplier-bootstrap SEs)
    np.testing.assert_allclose(fitted.group_["se"], [0.026368, 0.016703, 0.016655], atol=1e-6)
    np.testing.assert_allclose(fitted.calendar_["se"], [0.023251, 0.030985, 0.020126, 0.013747], atol=1e-6)
    assert fitted.group_overall_["se"] == pytest.approx(0.012446, abs=1e-6)
    assert fitted.calendar_overall_["se"] == pytest.approx(0.015972, abs=1e-6)


# csdid 0.4.3, ATTgt(xformla="lemp ~ lpop", est_method="dr", bstrap=False), run in a throwaway venv
CSDID_LPOP = {
    "nevertreated": {
        "att_gt": [-0.01453, -0.076422, -0.140448, -0.106904, -0.000472, -0.006203, 0.000961, -0.041294,
                   0.026728, -0.004577, -0.028447, -0.028781],
        "se_gt": [0.02212916, 0.02867131, 0.03537815, 0.03288649, 0.02222344, 0.0184957, 0.0194002, 0.01972114,
                  0.01406566, 0.01571776, 0.01818088, 0.01623895],
        "simple": (-0.041752, 0.011503), "group": (-0.03282, 0.011898), "calendar": (-0.044177, 0.015038),
        "dynamic": (-0.080354, 0.018958),
        "by_group": [-0.084576, -0.020167, -0.028781], "by_calendar": [-0.01453, -0.076422, -0.046176, -0.039582],
    },
    "notyettreated": {
        "att_gt": [-0.021183, -0.081603, -0.138192, -0.106904, -0.007455, -0.004563, 0.008661, -0.041294,
                   0.026933, -0.004201, -0.028447, -0.028781],
        "se_gt": [0.02164821, 0.02834154, 0.03422804, 0.03288649, 0.02183572, 0.01829139, 0.01683906, 0.01972114,
                  0.01391363, 0.01554837, 0.01818088, 0.01623895],
        "simple": (-0.041352, 0.011428), "group": (-0.032264, 0.011983), "calendar": (-0.045665, 0.014698),
        "dynamic": (-0.079993, 0.018494),
        "by_group": [-0.08697, -0.016317, -0.028781], "by_calendar": [-0.021183, -0.081603, -0.04029, -0.039582],
    },
}


@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
def test_mpdta_with_lpop_doubly_robust_equals_csdid(mpdta, control_group):
    ref = CSDID_LPOP[control_group]
    m = StaggeredDiD(control_group=control_group).fit(mpdta, y="lemp", group="first.treat", time="year",
                                                      unit="countyreal", covariates=["lpop"])
    att = m.att_gt_.sort_values(["g", "t"])
    np.testing.assert_allclose(att["att"], ref["att_gt"], atol=1e-6)
    np.testing.assert_allclose(att["se"], ref["se_gt"], rtol=1e-5)
    for key, got in (("simple", m.simple_), ("group", m.group_overall_), ("calendar", m.calendar_overall_),
                     ("dynamic", m.dynamic_)):
        assert got["att"] == pytest.approx(ref[key][0], abs=1e-6), key
        assert got["se"] == pytest.approx(ref[key][1], abs=1e-6), key
    np.testing.assert_allclose(m.group_["att"], ref["by_group"], atol=1e-6)
    np.testing.assert_allclose(m.calendar_["att"], ref["by_calendar"], atol=1e-6)


def test_covariate_path_without_covariates_equals_closed_form(mpdta):
    from cxlab.uplift import callaway_santanna_dr

    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first().reindex(wide.index)
    gi = np.where(g == 0, -1, np.searchsorted(np.sort(mpdta.year.unique()), g))
    a = callaway_santanna(wide.to_numpy(), gi, max_event=2)
    b = callaway_santanna_dr(wide.to_numpy(), gi, np.zeros((len(gi), 0)), max_event=2)
    for k in ("simple", "dynamic", "group_overall", "calendar_overall", "window"):
        assert b[k]["att"] == pytest.approx(a[k]["att"], abs=1e-12) and b[k]["se"] == pytest.approx(a[k]["se"], rel=1e-9)
    np.testing.assert_allclose(b["att_gt"]["se"], a["att_gt"]["se"], rtol=1e-9)


def test_twfe_event_study_equals_dummy_variable_regression(mpdta):
    import statsmodels.formula.api as smf

    from cxlab.uplift import twfe_event_study

    res = twfe_event_study(mpdta, y="lemp", group="first.treat", time="year", unit="countyreal")
    df = mpdta.copy()
    df["D"] = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).astype(float)
    ref = smf.ols("lemp ~ D + C(countyreal) + C(year)", data=df).fit(cov_type="cluster", cov_kwds={"groups": df["countyreal"]})
    assert res.static["att"] == pytest.approx(ref.params["D"], rel=1e-9)
    # statsmodels' small-sample factor (N−1)/(N−K) counts the 504 dummies; the absorbed version does not
    N, K_full = len(df), len(ref.params)
    assert res.static["se"] == pytest.approx(ref.bse["D"] * np.sqrt((N - K_full) / (N - 1)), rel=1e-6)
    ev = res.event.set_index("event_time")
    assert ev.loc[-1, "att"] == 0 and set(ev.index) == {-4, -3, -2, -1, 0, 1, 2, 3}
    # the static TWFE (-0.0365) differs from the CS simple ATT (-0.0400): the forbidden comparisons
    assert res.static["att"] == pytest.approx(-0.0365, abs=5e-4)
    assert "biased" in res.summary().as_text()


def test_twfe_is_biased_when_effects_grow_but_cs_is_not():
    rng = np.random.default_rng(5)
    n, T = 600, 8
    group = rng.choice([-1, 2, 4, 6], n)
    treated = (group[:, None] >= 0) & (np.arange(T)[None, :] >= group[:, None])
    e = np.where(treated, np.arange(T)[None, :] - group[:, None], 0)
    Y = rng.normal(0, 10, n)[:, None] + rng.normal(0, 1, T)[None, :] + treated * (1.0 + 0.5 * e) + rng.normal(0, 0.1, (n, T))
    long = pd.DataFrame({"u": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n), "y": Y.ravel(),
                         "g": np.repeat(np.where(group < 0, 0, group), T)})
    m = StaggeredDiD().fit(long, y="y", group="g", time="t", unit="u", twfe=True)
    truth = m.att_gt_.query("post")
    truth_simple = np.average(1.0 + 0.5 * truth["event_time"], weights=truth["cohort_size"])
    assert m.simple_["att"] == pytest.approx(truth_simple, abs=0.05)
    assert abs(m.result_.twfe.static["att"] - truth_simple) > 0.3
