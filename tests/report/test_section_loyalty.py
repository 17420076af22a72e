"""The loyalty section renders from the study (naive vs causal, event study, economics) in both languages."""
from __future__ import annotations

import warnings

import pandas as pd
import pytest
from report_helpers import make_study, render, text_of


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["ru"])
def test_section_renders_with_metrics_that_match_the_analysis(lang):
    from cxlab.datasets import make_demo_dataset
    from cxlab.uplift import analyze_loyalty

    ds = make_demo_dataset(n_customers=10_000, seed=3)
    study = make_study(ds, lang=lang, churn_threshold_days=180, margin_rate=0.3, program_cost=120_000,
                       reward_rate=0.03, breakage=0.2)
    ctx = render(study, "loyalty")
    assert ctx.sections["loyalty"]["status"] == "ok", ctx.sections
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") == 2 and "caveat" in kinds and "table" in kinds
    text = text_of(ctx)
    assert "Программа лояльности" in text and "смещена" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_loyalty(study.panel(), study.customers.reset_index(drop=True), durations=study.durations,
                              margin_rate=0.3, costs=study.program_costs, horizon_months=12)
    est = res.prepost.estimates
    dr = est[(est["outcome"] == "spend") & (est["method"] == "dr")].iloc[0]
    rec = ctx.metrics["loyalty_uplift_month"]
    assert rec.value == pytest.approx(dr["att"], rel=1e-9) and rec.ci == pytest.approx((dr["ci_low"], dr["ci_high"]))
    assert ctx.metrics["loyalty_naive_gap_month"].value > rec.value
    # the reward parameters reach the programme's costs
    tab = res.economics.table
    assert tab.loc["subsidy_to_baseline", "estimate"] > 0
    assert ctx.metrics["loyalty_net_value"].value == pytest.approx(tab.loc["net_value", "estimate"], rel=1e-9)
    # how strong a hidden confounder would have to be, in words (issue: every causal headline says it)
    assert ctx.metrics["loyalty_robustness_value"].value == pytest.approx(res.sensitivity.rv, rel=1e-9)
    assert "Насколько сильным должен быть скрытый фактор?" in text


def test_section_is_not_available_without_loyalty_data():
    from cxlab.datasets import make_demo_dataset

    ds = make_demo_dataset(n_customers=200, seed=1, loyalty=False)
    ctx = render(make_study(ds), "loyalty")
    assert ctx.sections["loyalty"] == {"status": "not_available",
                                       "reason": "the client has no customers table with loyalty join dates"}
    ds.customers["loyalty_join_date"] = pd.NaT
    ctx = render(make_study(ds), "loyalty")
    assert ctx.sections["loyalty"]["reason"] == ("nobody in the customers table joined the programme within the "
                                                 "observation window")


def test_section_survives_a_client_where_a_variant_matches_nobody():
    """Demo seed 1002 (a batch-benchmark client) once failed with 'Weights sum to zero'."""
    from cxlab.datasets import make_demo_dataset

    ds = make_demo_dataset(2000, seed=1002)
    ctx = render(make_study(ds, churn_threshold_days=90, margin_rate=0.3), "loyalty")
    assert ctx.sections["loyalty"]["status"] == "ok" and "loyalty_uplift_month" in ctx.metrics
