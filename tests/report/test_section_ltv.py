"""The lifetime-value section: the numbers it prints are those a researcher gets from cxlab.ltv directly."""
from __future__ import annotations

import pytest
from report_helpers import make_study, render, text_of

from cxlab.ltv import BGNBD, GammaGamma, customer_lifetime_value, holdout_validation


@pytest.fixture(scope="module", params=["en", "ru"])
def rendered(request, demo_dataset):
    study = make_study(demo_dataset, lang=request.param, margin_rate=0.3, horizon_months=12, discount_rate=0.1)
    return study, render(study, "ltv")


def test_section_renders(rendered):
    study, ctx = rendered
    assert ctx.sections["ltv"]["status"] == "ok"
    for name in ("clv_per_customer", "clv_top_decile_share", "customers_at_risk_valuable", "clv_holdout_error",
                 "ltv_12m_per_customer"):
        assert name in ctx.metrics, name
    html = ctx.to_html()
    assert ("Пожизненная ценность" in text_of(ctx)) == (study.lang == "ru") or study.lang == "en"
    assert html.count("<img") >= 2


def test_headline_numbers_match_a_direct_computation(rendered):
    study, ctx = rendered
    summary = study.customer_summary
    bg, gg = BGNBD().fit(summary), GammaGamma().fit(summary)
    clv = customer_lifetime_value(bg, gg, summary, horizon_months=12, discount_rate=1.1 ** (1 / 12) - 1, unit="W",
                                  margin=0.3)
    m = ctx.metrics_dict()
    assert m["clv_per_customer"] == pytest.approx(clv["clv"].mean(), rel=1e-6)
    top = clv["clv"].nlargest(round(0.1 * len(clv))).sum() / clv["clv"].sum()
    assert m["clv_top_decile_share"] == pytest.approx(top, rel=1e-6)
    calib = study.calibration_summary
    h = holdout_validation(BGNBD().fit(calib), calib)
    assert m["clv_holdout_error"] == pytest.approx(h.total_error_pct / 100, rel=1e-6)
    assert ctx.metric_text("clv_per_customer") in text_of(ctx)


def test_margin_horizon_and_discount_move_the_value(demo_dataset):
    base = render(make_study(demo_dataset, margin_rate=0.3), "ltv").metrics_dict()["clv_per_customer"]
    half = render(make_study(demo_dataset, margin_rate=0.15), "ltv").metrics_dict()["clv_per_customer"]
    assert half == pytest.approx(base / 2, rel=1e-9)
    longer = render(make_study(demo_dataset, margin_rate=0.3, horizon_months=24), "ltv").metrics_dict()
    assert longer["clv_per_customer"] > 1.3 * base


def test_membership_multipliers_are_the_model_s_and_shown_once(demo_dataset):
    from cxlab.ltv import membership_effects

    study = make_study(demo_dataset, margin_rate=0.3)
    ctx = render(study, "ltv", "loyalty")
    res = membership_effects(study.data.transactions, study.customers.reset_index(drop=True), unit="W",
                             observation_end=study.window_end, summary=study.customer_summary,
                             adjust_for=["acquisition_channel"])
    buy, stay = res.table.loc["purchase rate"], res.table.loc["expected lifetime"]
    rec = ctx.metrics["member_purchase_multiplier"]
    assert rec.value == pytest.approx(buy["multiplier"], rel=1e-9)
    assert rec.ci == pytest.approx((buy["ci_lower"], buy["ci_upper"]), rel=1e-9)
    assert ctx.metrics["member_lifetime_multiplier"].value == pytest.approx(stay["multiplier"], rel=1e-9)
    text = text_of(ctx)
    assert f"buy {ctx.fmt.num(buy['multiplier'], 2)} times as often" in text
    # the loyalty section shows the same estimate as a threshold-free hazard ratio
    assert f"rate of leaving at {ctx.fmt.num(1 / stay['multiplier'], 2)} times a non-member's" in text
