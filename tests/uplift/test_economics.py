"""Programme economics, LTV split, segment effects and the Qini curve."""
import numpy as np
import pandas as pd
import pytest

from cxlab.uplift import ProgramCosts, ltv_decomposition, plot_qini, plot_roi_waterfall, program_economics, qini_curve, segment_effects
from cxlab.uplift.design import PrePostData


def test_economics_by_hand():
    c = ProgramCosts(reward_rate=0.05, breakage=0.2, cost_per_member=1.0, fixed_cost=100.0, launch_cost=1000.0)
    res = program_economics(10.0, 0.0, baseline=100.0, members=50, horizon_months=12, margin_rate=0.4, costs=c)
    scale = 50 * 12
    margin = 0.4 * 10 * scale
    rewards = 0.05 * 10 * scale
    subsidy = 0.05 * 100 * scale
    breakage = 0.2 * (rewards + subsidy)
    operating = (1.0 * 50 + 100) * 12
    cost = rewards + subsidy - breakage + operating + 1000
    assert res["incremental_margin"] == pytest.approx(margin)
    assert res["subsidy_to_baseline"] == pytest.approx(subsidy)
    assert res["net_value"] == pytest.approx(margin - cost)
    assert res["roi"] == pytest.approx((margin - cost) / cost)
    monthly = (margin - cost + 1000) / 12
    assert res["payback_months"] == (np.ceil(1000 / monthly) if monthly > 0 else np.inf)
    wf = res.waterfall
    assert wf["amount"].iloc[:-1].sum() == pytest.approx(wf["amount"].iloc[-1])


def test_economics_interval_reflects_uplift_uncertainty():
    res = program_economics(5.0, 2.0, baseline=50.0, members=1000, margin_rate=0.3, costs=ProgramCosts(reward_rate=0.02))
    t = res.table
    assert t.loc["net_value", "ci_low"] < t.loc["net_value", "estimate"] < t.loc["net_value", "ci_high"]
    assert 0 < t.loc["probability_net_positive", "estimate"] < 1
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot_roi_waterfall(res)
    plt.close("all")


def test_economics_rejects_bad_inputs():
    with pytest.raises(ValueError, match="breakage"):
        ProgramCosts(breakage=1.5)
    with pytest.raises(ValueError, match="margin_rate"):
        program_economics(1.0, 0.1, baseline=1.0, members=1, margin_rate=0)


def test_ltv_split_adds_up():
    est = pd.DataFrame([
        {"outcome": "spend", "method": "dr", "att": 20.0, "member_post_mean": 120.0},
        {"outcome": "visits", "method": "dr", "att": 0.2, "member_post_mean": 1.2},
        {"outcome": "basket", "method": "dr", "att": 0.0, "member_post_mean": 100.0},
    ])
    dec = ltv_decomposition(est, hazard_ratio=0.8, baseline_churn=0.05, window_months=6, horizon_months=12)
    assert dec.loc["total", "ltv_uplift"] == pytest.approx(240.0)
    parts = dec.loc[["retention", "frequency", "basket", "residual"], "ltv_uplift"].sum()
    assert parts == pytest.approx(240.0)
    assert dec.loc["basket", "ltv_uplift"] == pytest.approx(0.0, abs=1e-9)
    assert dec.loc["retention", "ratio"] > 1  # HR < 1: members stay longer
    # visits ratio 1.2 = retention × frequency
    assert dec.loc["retention", "ratio"] * dec.loc["frequency", "ratio"] == pytest.approx(1.2)


def _heterogeneous_design(seed=0, n=8000):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-0.5 * x))
    d = rng.random(n) < p
    pre = np.exp(1 + 0.3 * x) * 10
    tau = np.where(x > 0, 8.0, 0.0)  # only the top half gains
    post = pre + rng.normal(0, 2, n) + d * tau
    early = pre * np.exp(rng.normal(0, 0.05, n))  # spend before the pre window: the same level, its own noise
    frame = pd.DataFrame({"customer_id": np.arange(n).astype(str), "member": d, "spend_pre": pre, "spend_post": post, "x": x,
                          "log_spend_early": np.log1p(early), "log_early_months": np.log1p(np.full(n, 6.0))})
    return PrePostData(frame=frame, covariate_columns=["x"], pre=6, post=6, history_columns=["x"]), tau


def test_qini_curve_ranks_gainers_first():
    data, _ = _heterogeneous_design()
    q = qini_curve(data, n_boot=100)
    assert q.qini_coefficient > 0 and q.qini_ci[0] > 0
    c = q.curve
    assert c["qini"].iloc[0] == 0
    mid = c.iloc[len(c) // 2]
    assert mid["qini"] > mid["random"]
    assert (c["ci_low"] <= c["qini"] + 1e-9).all() and (c["qini"] <= c["ci_high"] + 1e-9).all()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot_qini(q)
    plt.close("all")


def test_segment_effects_find_where_the_effect_is():
    data, _ = _heterogeneous_design(seed=1, n=12000)
    seg = segment_effects(data).set_index("segment")
    assert list(seg.index) == ["light", "medium", "heavy"]
    assert seg.loc["heavy", "att"] > seg.loc["light", "att"] + 3
