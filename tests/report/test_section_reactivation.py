"""The reactivation report section: sleepers, the winback campaign and whom to wake, in both languages.

The section's numbers are recomputed here from the transactions with pandas and numpy, without
cxlab.reactivation or the data layer, and compared."""
from __future__ import annotations

import matplotlib.pyplot as plt  # the Agg backend is set by tests/conftest.py
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from cxlab.data import ClientData
from cxlab.report import sections
from cxlab.report.context import ReportContext, metric_definitions
from cxlab.report.formatting import NBSP
from cxlab.report.texts import load_texts
from cxlab.study import Study

TEXTS = load_texts("reactivation")
METRICS = ("sleeping_customers", "sleeping_share", "sleeping_value_if_reactivated",
           "campaign_incremental_return_rate", "campaign_incremental_margin", "campaign_roi")
SLEEP, WINDOW = 90, 60


def _render(data, params=None, lang="en") -> ReportContext:
    ctx = ReportContext(Study(data, {"churn_threshold_days": SLEEP, **(params or {})}, lang=lang, currency="RUB"),
                        display=False)
    sections.build("reactivation", ctx)
    return ctx


def _text(ctx) -> str:
    return BeautifulSoup(ctx.to_html(), "html.parser").get_text(" ")


@pytest.fixture(scope="module", params=["en", "ru"])
def rendered(request, demo_dataset):
    ds = demo_dataset
    data = ClientData(ds.transactions, ds.customers, ds.surveys, campaigns=ds.campaigns)
    figures_before = plt.get_fignums()
    ctx = _render(data, lang=request.param)
    assert plt.get_fignums() == figures_before, "the section left figures open"
    return request.param, ctx


def _expected(ds) -> dict[str, float]:
    """The section's metrics, recomputed by hand."""
    tx = ds.transactions
    end = pd.Timestamp("2025-12-31")
    day_after = end + pd.Timedelta(days=1)
    margin_rate = tx["margin"].sum() / tx["amount"].sum()
    buys = tx[tx["amount"] > 0]
    last = buys.groupby("customer_id")["timestamp"].max()
    asleep = last[(day_after - last).dt.total_seconds() / 86_400 >= SLEEP]
    factor = sum((1.1 ** (1 / 12)) ** -k for k in range(1, 13)) / 12
    active = tx.merge(asleep.rename("last"), left_on="customer_id", right_index=True)
    active = active[(active["timestamp"] <= active["last"]) & (active["timestamp"] > active["last"] - pd.Timedelta(days=365))]
    per_customer = active.groupby("customer_id")["amount"].sum().reindex(asleep.index, fill_value=0.0)
    value = (per_customer.clip(lower=0) * margin_rate * factor).sum()

    camp = ds.campaigns.set_index("customer_id")
    sent = camp["sent_at"]
    t = tx.merge(sent.rename("sent"), left_on="customer_id", right_index=True)
    after = t[(t["timestamp"] > t["sent"]) & (t["timestamp"] <= t["sent"] + pd.Timedelta(days=WINDOW))]
    returned = after[after["amount"] > 0].groupby("customer_id").size().reindex(camp.index, fill_value=0) > 0
    revenue = after.groupby("customer_id")["amount"].sum().reindex(camp.index, fill_value=0.0)
    before = t[(t["timestamp"] < t["sent"]) & (t["timestamp"] >= t["sent"] - pd.Timedelta(days=365))]
    pre = before.groupby("customer_id")["amount"].sum().reindex(camp.index, fill_value=0.0)
    last_before = t[(t["timestamp"] < t["sent"]) & (t["amount"] > 0)].groupby("customer_id")["timestamp"].max()
    asleep_days = ((sent - last_before.reindex(camp.index)).dt.total_seconds() / 86_400).clip(lower=1)
    X = np.column_stack([pre, np.log(asleep_days)])
    Xc = X - X.mean(axis=0)
    d = (camp["group"] == "treatment").to_numpy()

    def cuped(y):
        theta = np.linalg.lstsq(Xc, y - y.mean(), rcond=None)[0]
        adj = y - Xc @ theta
        return adj[d].mean() - adj[~d].mean()

    lift = cuped(returned.to_numpy(dtype=float))
    margin_total = cuped(revenue.to_numpy() * margin_rate) * d.sum()
    cost = camp.loc[d, "cost"].sum()
    return {"sleeping_customers": len(asleep), "sleeping_share": len(asleep) / tx["customer_id"].nunique(),
            "sleeping_value_if_reactivated": value, "campaign_incremental_return_rate": lift,
            "campaign_incremental_margin": margin_total, "campaign_roi": (margin_total - cost) / cost}


def test_section_renders_every_part(rendered):
    lang, ctx = rendered
    t = TEXTS[lang]
    assert ctx.sections == {"reactivation": {"status": "ok", "reason": ""}}
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") == 1   # return curves of the one campaign
    assert kinds.count("table") == 3    # sleepers by band, the campaign, whom to wake
    assert kinds.count("how_to_read") == 2 and kinds.count("caveat") == 1
    text = _text(ctx)
    for key in ("title", "sleepers_title", "wake_title"):
        assert t[key] in text, key
    # the client's campaign name reaches the page through the category labels
    assert ("Winback" if lang == "en" else "возвращение спящих") in text
    # the full wake list goes to tables.xlsx, the page shows the top
    full = [tab for tab in ctx.tables if tab["caption"] == t["wake_full_caption"]]
    assert len(full) == 1 and len(full[0]["frame"]) == ctx.metrics_dict()["sleeping_customers"]


def test_metrics_match_a_direct_computation(rendered, demo_dataset):
    lang, ctx = rendered
    expected = _expected(demo_dataset)
    values = ctx.metrics_dict()
    assert set(values) == set(METRICS)
    for name in METRICS:
        assert values[name] == pytest.approx(expected[name], rel=1e-6, abs=1e-9), name
        record = ctx.metrics[name]
        assert record.section == "reactivation" and record.definition is metric_definitions()[name]
    # the demo campaign works: its interval lies above zero and holds the generator's truth ...
    low, high = ctx.metrics["campaign_incremental_return_rate"].ci
    truth = demo_dataset.truth.campaign_incremental_return_rate
    assert low < values["campaign_incremental_return_rate"] < high and low < truth < high
    # ... most sleepers of a three-year log are long gone
    assert 0.5 < values["sleeping_share"] < 0.9


def test_numbers_follow_the_language(rendered):
    lang, ctx = rendered
    text = _text(ctx)
    if lang == "en":
        assert "RUB" + NBSP in text and " pp" in text.replace(NBSP, " ")
    else:
        assert f"{NBSP}%" in text and f"{NBSP}₽" in text and "п.п." in text
        assert "How to read" not in text and "Sent the campaign" not in text


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_without_a_campaigns_table_the_section_says_what_it_needs(demo_dataset, lang):
    ds = demo_dataset
    ctx = _render(ClientData(ds.transactions, ds.customers, ds.surveys), lang=lang)
    assert ctx.sections["reactivation"] == {"status": "not_available", "reason": TEXTS[lang]["unmet_no_table"]}
    text = _text(ctx)
    assert TEXTS[lang]["title"] in text and TEXTS[lang]["unmet_no_table"] in text
    assert not ctx.metrics


def test_a_campaign_without_a_control_group_is_matched(demo_dataset):
    ds = demo_dataset
    treated = ds.campaigns[ds.campaigns["group"] == "treatment"].drop(columns=["group"])
    ctx = _render(ClientData(ds.transactions, ds.customers, ds.surveys, campaigns=treated))
    text = " ".join(_text(ctx).split())
    assert ctx.sections["reactivation"]["status"] == "ok"
    assert "with no control group" in text and "similar sleepers, not sent" not in text  # legend is in the chart
    assert "campaign_incremental_return_rate" in ctx.metrics


def test_texts_are_complete_in_both_languages():
    assert set(TEXTS["en"]) == set(TEXTS["ru"])
    for group in ("measures", "control_arm"):
        assert set(TEXTS["en"][group]) == set(TEXTS["ru"][group])
    assert sections.SECTION_ORDER.index("reactivation") > sections.SECTION_ORDER.index("survey")


def test_a_hostile_campaign_name_is_text(demo_dataset):
    ds = demo_dataset
    payload = '<img src=x onerror=alert(1)>{campaign}**bold**'
    campaigns = ds.campaigns.assign(campaign=payload)
    ctx = _render(ClientData(ds.transactions, ds.customers, ds.surveys, campaigns=campaigns))
    html = ctx.to_html()
    assert ctx.sections["reactivation"]["status"] == "ok"
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert payload in _text(ctx)
