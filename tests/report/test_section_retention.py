"""The retention section: cohorts, the study's churn rule, lifetimes of returning customers, drivers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from report_helpers import make_study, render, text_of

from cxlab.retention import cohort_retention


@pytest.fixture(scope="module", params=[("en", False), ("ru", True)], ids=["en", "ru-contract"])
def rendered(request):
    from cxlab.datasets import make_demo_dataset

    lang, contractual = request.param
    ds = make_demo_dataset(800, seed=5, contractual=contractual, order_ids=False)
    study = make_study(ds, lang=lang, churn_threshold_days=90)
    return lang, contractual, study, render(study, "retention")


def test_section_renders_every_part(rendered):
    lang, contractual, study, ctx = rendered
    assert ctx.sections["retention"]["status"] == "ok"
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") == 4  # heatmap, curves, Kaplan-Meier, hazard ratios
    text = text_of(ctx)
    assert ("Удержание по когортам" in text) == (lang == "ru")
    assert ("churn_after_days" in ctx.metrics) is (not contractual)


def test_headline_numbers_match_a_direct_computation(rendered):
    lang, contractual, study, ctx = rendered
    m = ctx.metrics_dict()
    avg = cohort_retention(study.cohorts()).average.set_index("period")
    assert m["retention_month_1"] == pytest.approx(avg.loc[1, "rate"], rel=1e-12)
    durations = study.durations
    assert m["churned_share"] == pytest.approx(durations["event"].mean(), rel=1e-12)
    kmf = KaplanMeierFitter()
    if contractual:
        kmf.fit(durations["duration"], durations["event"])
        assert m["median_lifetime_days"] == pytest.approx(kmf.median_survival_time_)
    else:
        summary = study.customer_summary
        repeat = durations.loc[summary.index[summary["frequency"] > 0]]
        kmf.fit(repeat["duration"], repeat["event"])
        if np.isfinite(kmf.median_survival_time_):
            assert m["median_lifetime_days_repeat"] == pytest.approx(kmf.median_survival_time_)
        settled = summary["first_purchase"] < study.window_end - pd.Timedelta(days=90)
        assert m["one_time_buyer_share"] == pytest.approx((summary.loc[settled, "frequency"] == 0).mean())
        assert m["churn_after_days"] == 90
    from cxlab.survival import fit_time_varying_cox

    cust = study.customers.reset_index(drop=True)
    assert 0 < m["churn_hazard_ratio_loyalty_member"] < 5
    rec = ctx.metrics["churn_hazard_ratio_loyalty_member"]
    assert rec.ci[0] < rec.value < rec.ci[1]


def test_one_time_buyers_do_not_make_the_median_lifetime_zero():
    """On CDNOW-like data half the customers never return: their lifetime is 0 days by definition, so
    the lifetime headline follows the customers who came back and states the others' share on its own."""
    from cxlab.datasets import make_demo_dataset

    ds = make_demo_dataset(800, seed=5, order_ids=False)
    ctx = render(make_study(ds, churn_threshold_days=90), "retention")
    assert "median_lifetime_days" not in ctx.metrics
    if "median_lifetime_days_repeat" in ctx.metrics:
        assert ctx.metrics["median_lifetime_days_repeat"].value > 0
    assert "never came back after it" in text_of(ctx)
