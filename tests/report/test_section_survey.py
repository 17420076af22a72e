"""The survey section: NPS and its interval, trend, groups, and the link to behaviour, in both languages."""
from __future__ import annotations

import json

import pytest
from report_helpers import make_study, render, text_of

from cxlab import survey as sv


@pytest.fixture(scope="module", params=[("en", False), ("ru", True)], ids=["en", "ru-contract"])
def rendered(request):
    from cxlab.datasets import make_demo_dataset

    lang, contractual = request.param
    ds = make_demo_dataset(n_customers=1500, seed=1, contractual=contractual)
    study = make_study(ds, lang=lang, churn_threshold_days=90)
    return lang, contractual, study, render(study, "survey")


def test_section_renders(rendered):
    lang, contractual, study, ctx = rendered
    assert ctx.sections["survey"]["status"] == "ok"
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") >= 3 and "how_to_read" in kinds and "caveat" in kinds
    text = text_of(ctx)
    assert ("Net Promoter" in text) if lang == "en" else ("индекс потребительской лояльности" in text)
    # churn comes from contract end dates when the customers table has them, else from purchases
    if contractual:
        assert "Уход клиента определяется по дате окончания договора" in text
    else:
        assert "A customer counts as churned after 90 days without a purchase" in text
    json.dumps(ctx.metrics_dict())


def test_headline_numbers_match_a_direct_computation(rendered):
    lang, contractual, study, ctx = rendered
    overall = sv.survey_metrics(study.surveys).table.set_index("metric")
    rec = ctx.metrics["nps"]
    assert rec.value == pytest.approx(overall.loc["nps", "estimate"], rel=1e-12)
    assert rec.ci == pytest.approx((overall.loc["nps", "ci_low"], overall.loc["nps", "ci_high"]), rel=1e-12)
    assert ctx.metrics["csat_top2_share"].value == pytest.approx(overall.loc["csat_top2", "estimate"] / 100)
    res = sv.nps_behaviour(study.surveys, study.durations, study.customer_summary,
                           customers=study.customers.reset_index(drop=True), adjust_for=["acquisition_channel"],
                           horizon=study.horizon_days, unit="D", summary_unit="W")
    hr = res.hazard_ratios.set_index("nps_group").loc["detractor"]
    assert ctx.metrics["detractor_churn_hazard_ratio"].value == pytest.approx(hr["hazard_ratio"], rel=1e-9)
    assert ctx.metrics["detractor_revenue_at_stake"].value == pytest.approx(
        res.revenue_at_stake["revenue_at_stake"], rel=1e-9)
    # the NPS printed is the estimate (with its interval), not a bound
    assert ctx.metric_text("nps").startswith(ctx.fmt.num(overall.loc["nps", "estimate"], 0) + " (")
