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
