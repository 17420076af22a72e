"""The overview section: totals of the window (returns-only customers included), the study's definitions, quality."""
from __future__ import annotations

import pandas as pd
import pytest
from report_helpers import make_study, render, text_of

from cxlab.data import ClientData
from cxlab.study import Study


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_headline_numbers_match_a_direct_computation(demo_dataset, lang):
    study = make_study(demo_dataset, lang=lang, observation_end="2025-09-30", churn_threshold_days=90)
    ctx = render(study, "overview")
    tx = demo_dataset.transactions
    window = tx[tx["timestamp"] < pd.Timestamp("2025-10-01")]
    m = ctx.metrics_dict()
    assert m["n_customers"] == window["customer_id"].nunique()
    assert m["revenue_total"] == pytest.approx(window["amount"].sum(), rel=1e-12)
    purchases = window[window["amount"] >= 0].assign(day=window["timestamp"].dt.normalize())
    assert m["n_purchases"] == purchases[["customer_id", "day"]].drop_duplicates().shape[0]
    assert m["period_start"] == tx["timestamp"].min().date().isoformat() and m["period_end"] == "2025-09-30"
    text = text_of(ctx)
    assert ctx.metric_text("revenue_total") in text and ctx.metric_text("n_customers") in text


def test_customers_with_only_returns_count_in_revenue_and_returns():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "amount": [100.0, 50.0, -30.0, 20.0],
                       "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-10", "2024-03-01"])})
    ctx = render(Study(ClientData(tx), {}), "overview")
    m = ctx.metrics_dict()
    assert m["n_customers"] == 3 and m["revenue_total"] == pytest.approx(140.0)
    text = text_of(ctx)
    assert "1 customers have only returns" in text and "Returns: RUB\u00a030" in text


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_study_s_definitions_are_stated_once_at_the_start(demo_dataset, lang):
    chosen = render(make_study(demo_dataset, lang=lang), "overview")
    study = chosen.study
    text = text_of(chosen)
    days = chosen.fmt.int(study.churn.threshold_days)
    if lang == "en":
        assert f"counts as lost after {days} days without a purchase" in text
        assert f"last {round(study.calibration.holdout_weeks)} weeks of the window" in text
        assert "measured from the margin column" in text
    else:
        assert f"считается ушедшим после {days} дн. без покупок" in text
        assert "по столбцу маржи" in text
    given = text_of(render(make_study(demo_dataset, churn_threshold_days=45, margin_rate=0.2), "overview"))
    assert "after 45 days without a purchase (set for this report)" in given
    assert "margin is 20.0% of revenue (set for this report)" in given
