"""The customer-equity section: revenue lost to churn and customer equity, recomputed from the raw tables."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from report_helpers import make_study, render, text_of

from cxlab.data import ClientData
from cxlab.report.texts import load_texts
from cxlab.study import Study

TEXTS = load_texts("customer_equity")
MONTH = 365.25 / 12
METRICS = ("revenue_lost_to_churn_per_month", "margin_lost_to_churn_per_month", "customer_equity",
           "retention_point_value", "annual_retention_rate")


@pytest.fixture(scope="module")
def demo():
    from cxlab.datasets import make_demo_dataset

    return make_demo_dataset(1500, seed=3)


@pytest.fixture(scope="module", params=["en", "ru"])
def rendered(request, demo):
    study = make_study(demo, lang=request.param, churn_threshold_days=90)
    return request.param, study, render(study, "customer_equity")


def _direct(tx: pd.DataFrame, customers: pd.DataFrame, *, threshold: float, margin_rate: float,
            horizon: int = 12, discount: float = 0.10):
    """The section's numbers from the transactions by hand: durations, losses, retention and equity."""
    tx = tx.assign(day=tx["timestamp"].dt.normalize())
    end = tx["day"].max()
    buys = tx[tx["amount"] >= 0].groupby("customer_id")["day"].agg(["min", "max"])
    revenue = tx.groupby("customer_id")["amount"].sum().reindex(buys.index)
    on_first_day = tx[(tx["amount"] >= 0) & (tx["day"] == tx["customer_id"].map(buys["min"]))]
    first = on_first_day.groupby("customer_id")["amount"].sum().reindex(buys.index)
    churned = (end - buys["max"]).dt.days > threshold
    days = np.where(churned, (buys["max"] - buys["min"]).dt.days, (end - buys["min"]).dt.days).astype(float)
    lost_day = buys["max"]

    # losses: complete months end by end - threshold; the last 12 of them
    monthly = revenue / np.maximum(days / MONTH, 1.0)
    last_complete = (end - pd.Timedelta(days=threshold) + pd.Timedelta(days=1)).to_period("M") - 1
    months = pd.period_range(last_complete - 11, last_complete, freq="M")
    lost = [monthly[churned & (lost_day.dt.to_period("M") == m)].sum() for m in months]

    # retention: churned / active months; sandwich variance of the ratio
    t = days / MONTH
    d = churned.to_numpy(float)
    lam = d.sum() / t.sum()
    se = np.sqrt(np.sum((d - lam * t) ** 2)) / t.sum() / lam
    r = np.exp(-12 * lam)
    r_ci = (np.exp(-12 * lam * np.exp(1.959963984540054 * se)), np.exp(-12 * lam * np.exp(-1.959963984540054 * se)))
    m = margin_rate * (revenue - first).sum() / t.sum()
    recent = buys.index[buys["min"] >= end + pd.Timedelta(days=1) - pd.DateOffset(months=12)]
    m0 = margin_rate * first[recent].mean()
    n = len(recent) / 12
    c = customers.set_index("customer_id")["acquisition_cost"].reindex(recent).mean()
    active = (~churned).sum()

    def equity(ret):
        rho, delta = ret ** (1 / 12), (1 + discount) ** (-1 / 12)
        value = sum(active * m * (rho * delta) ** s for s in range(1, horizon + 1))
        for k in range(1, horizon + 1):  # a cohort acquired at the end of month k, earning months k+1 .. H
            value += n * delta ** k * (m0 + sum(m * (rho * delta) ** s for s in range(1, horizon - k + 1)) - c)
        return value

    return {"revenue_lost": float(np.mean(lost)), "retention": r, "retention_ci": r_ci, "equity": equity(r),
            "equity_ci": (equity(r_ci[0]), equity(r_ci[1])), "point": equity(r + 0.01) - equity(r),
            "acquisition_cost": c, "margin": m, "first_margin": m0}


def test_section_renders_every_part(rendered):
    lang, study, ctx = rendered
    t = TEXTS[lang]
    assert ctx.sections == {"customer_equity": {"status": "ok", "reason": ""}}
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") == 1
    assert kinds.count("table") == 4  # losses by month, by RFM segment, by channel, elasticities
    text = text_of(ctx)
    for key in ("title", "losses_title", "segments_title", "equity_title"):
        assert t[key] in text, key
    assert ("90 days" in text) if lang == "en" else ("90 дн." in text)
    json.dumps(ctx.metrics_dict())


def test_numbers_match_a_direct_computation(rendered, demo):
    lang, study, ctx = rendered
    direct = _direct(demo.transactions, demo.customers, threshold=90, margin_rate=study.margin_rate)
    values = ctx.metrics_dict()
    assert values["revenue_lost_to_churn_per_month"] == pytest.approx(direct["revenue_lost"], rel=1e-9)
    assert values["margin_lost_to_churn_per_month"] == pytest.approx(direct["revenue_lost"] * study.margin_rate,
                                                                     rel=1e-9)
    assert values["annual_retention_rate"] == pytest.approx(direct["retention"], rel=1e-9)
    assert ctx.metrics["annual_retention_rate"].ci == pytest.approx(direct["retention_ci"], rel=1e-9)
    assert values["customer_equity"] == pytest.approx(direct["equity"], rel=1e-9)
    assert ctx.metrics["customer_equity"].ci == pytest.approx(direct["equity_ci"], rel=1e-9)
    assert values["retention_point_value"] == pytest.approx(direct["point"], rel=1e-9)
    lo, hi = ctx.metrics["retention_point_value"].ci
    assert lo < values["retention_point_value"] < hi
    for name in METRICS:
        record = ctx.metrics[name]
        assert record.section == "customer_equity"
        assert record.headline is (name != "annual_retention_rate")
    # the sentences show the same numbers, in the report's style
    text = text_of(ctx)
    fmt = ctx.fmt
    assert fmt.money(direct["revenue_lost"]) in text and fmt.money(direct["equity"]) in text
    assert fmt.money(direct["point"]) in text and fmt.money(direct["acquisition_cost"]) in text
    assert fmt.money(direct["margin"]) in text and fmt.money(direct["first_margin"]) in text


def test_the_losses_by_channel_add_up_to_the_monthly_loss(rendered):
    from cxlab.customer_equity import churn_losses_for_study

    lang, study, ctx = rendered
    losses = churn_losses_for_study(study)
    for name in ("rfm", "acquisition_channel"):
        assert losses.by_segment[name]["revenue_lost"].sum() == pytest.approx(
            ctx.metrics_dict()["revenue_lost_to_churn_per_month"], rel=1e-9)


def test_without_acquisition_costs_the_section_says_what_it_assumes(demo):
    customers = demo.customers.drop(columns=["acquisition_cost"])
    for lang in ("en", "ru"):
        study = Study(ClientData(demo.transactions, customers), {"churn_threshold_days": 90}, lang=lang)
        ctx = render(study, "customer_equity")
        assert ctx.sections["customer_equity"]["status"] == "ok"
        text = text_of(ctx)
        assert ("does not subtract the cost of winning new customers" in text if lang == "en"
                else "не учитывает затраты на привлечение новых клиентов" in text)
        assert TEXTS[lang]["not_known"] in text
        # with no cost the equity equals the margin part alone: larger than with the costs
        with_cost = render(make_study(demo, churn_threshold_days=90), "customer_equity")
        assert ctx.metrics_dict()["customer_equity"] > with_cost.metrics_dict()["customer_equity"]


def test_contract_end_dates_are_the_churn_rule():
    from cxlab.datasets import make_demo_dataset

    ds = make_demo_dataset(800, seed=5, contractual=True)
    ctx = render(make_study(ds, lang="ru"), "customer_equity")
    assert ctx.sections["customer_equity"]["status"] == "ok"
    assert "в дату окончания договора" in text_of(ctx)


def test_without_a_churn_rule_the_section_is_not_available():
    tx = pd.DataFrame({"customer_id": ["a", "b", "c"], "amount": [10.0, 12.0, 5.0],
                       "timestamp": pd.to_datetime(["2024-01-01", "2024-02-15", "2024-03-01"])})
    ctx = render(Study(ClientData(tx), {}), "customer_equity")
    assert ctx.sections["customer_equity"]["status"] == "not_available"
    assert "no customer bought twice" in ctx.sections["customer_equity"]["reason"]


def test_the_clients_own_segments_get_their_table(demo):
    customers = demo.customers.assign(segment=np.where(demo.customers.index % 3 == 0, "VIP <b>", "mass"))
    study = Study(ClientData(demo.transactions, customers), {"churn_threshold_days": 90}, lang="en")
    ctx = render(study, "customer_equity")
    assert [k for k, _ in ctx.blocks].count("table") == 5  # + the client's segments
    html = ctx.to_html()
    assert "VIP &lt;b&gt;" in html and "VIP <b>" not in html  # client strings reach HTML escaped
    assert "client's segment" in text_of(ctx)
