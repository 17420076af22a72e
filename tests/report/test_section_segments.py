"""The customer-segments report section: RFM, ABC, XYZ and repeat purchases, in both languages."""
from __future__ import annotations

import matplotlib.pyplot as plt  # the Agg backend is set by tests/conftest.py
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from cxlab import segmentation as seg
from cxlab.data import ClientData, customer_period_panel, customer_summary
from cxlab.report import sections
from cxlab.report.context import ReportContext, metric_definitions
from cxlab.report.formatting import NBSP
from cxlab.report.sections import segments
from cxlab.report.texts import load_texts
from cxlab.study import Study

TEXTS = load_texts("segments")

HEADLINE = ("repeat_purchase_rate", "champions_share", "at_risk_revenue_share", "a_class_customer_share")
ALL_METRICS = HEADLINE + ("champions_revenue_share", "a_class_revenue_share", "x_class_share")


@pytest.fixture(scope="module")
def demo():
    from cxlab.datasets import make_demo_dataset

    return make_demo_dataset(1500, seed=3)


def _render(data, params=None, lang="en") -> ReportContext:
    ctx = ReportContext(Study(data, params or {}, lang=lang, currency="RUB"), display=False)
    sections.build("segments", ctx)
    return ctx


def _text(ctx) -> str:
    return BeautifulSoup(ctx.to_html(), "html.parser").get_text(" ")


@pytest.fixture(scope="module", params=["en", "ru"])
def rendered(request, demo):
    data = ClientData(demo.transactions, demo.customers, demo.surveys)
    figures_before = plt.get_fignums()
    ctx = _render(data, {"observation_end": None}, lang=request.param)
    assert plt.get_fignums() == figures_before, "the section left figures open"
    return request.param, ctx


def test_section_renders_every_part(rendered):
    lang, ctx = rendered
    t = TEXTS[lang]
    assert ctx.sections == {"segments": {"status": "ok", "reason": ""}}
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") == 2  # RFM heatmaps, ABC x XYZ matrix
    assert kinds.count("table") == 4   # RFM segments, ABC, XYZ, repeat rate by year
    assert kinds[0] == "heading" and kinds[1] == "how_to_read"
    assert kinds.count("how_to_read") == 5 and kinds.count("caveat") == 4
    text = _text(ctx)
    for key in ("title", "rfm_title", "abc_title", "xyz_title", "repeat_title"):
        assert t[key] in text, key
    assert ('id="section-segments"' in ctx.to_html())


def test_metrics_match_a_direct_computation(rendered, demo):
    lang, ctx = rendered
    summary = customer_summary(demo.transactions, unit="D")
    rfm = seg.rfm_segments(seg.rfm_scores(summary, recency_unit="D")).segments
    abc = seg.abc_analysis(summary).classes
    xyz = seg.xyz_analysis(customer_period_panel(demo.transactions, period="M"), min_periods=3).classes
    expected = {
        "repeat_purchase_rate": seg.repeat_purchase_rate(summary),
        "champions_share": rfm.loc["Champions", "customer_share"],
        "champions_revenue_share": rfm.loc["Champions", "revenue_share"],
        "at_risk_revenue_share": rfm.loc[["At risk", "Can't lose them"], "revenue_share"].sum(),
        "a_class_customer_share": abc.loc["A", "customer_share"],
        "a_class_revenue_share": abc.loc["A", "revenue_share"],
        "x_class_share": xyz.loc["X", "customer_share"],
    }
    values = ctx.metrics_dict()
    for name in ALL_METRICS:
        assert 0 < values[name] < 1, name
        assert values[name] == pytest.approx(expected[name], rel=1e-12), name
        record = ctx.metrics[name]
        assert record.kind == "pct" and record.section == "segments"
        assert record.definition is metric_definitions()[name]
        assert record.headline is (name in HEADLINE), name
    # A is the smallest top group reaching 80 % of revenue; the demo's revenue is concentrated
    assert 0.8 <= values["a_class_revenue_share"] < 0.85
    assert values["a_class_customer_share"] < 0.5
    # the demo retailer's customers mostly come back (true purchase rates are well above one a year)
    assert 0.5 < values["repeat_purchase_rate"] < 0.9


def test_segment_names_and_number_format_follow_the_language(rendered):
    lang, ctx = rendered
    text = _text(ctx)
    english = ("Champions", "Loyal", "At risk", "Can't lose them", "Hibernating", "Lost")
    russian = ("Чемпионы", "Лояльные", "Под угрозой", "Нельзя потерять", "Спящие", "Потерянные")
    if lang == "en":
        assert all(name in text for name in english)
        assert not any(name in text for name in russian)
        assert "How to read this" in text and "RUB" + NBSP in text
    else:
        assert all(f" {name} " in f" {text} " for name in russian)
        # internal (English) segment names never reach a Russian reader
        assert not any(name in text for name in english)
        assert "Как читать" in text and "How to read" not in text
        assert f"{NBSP}%" in text and f"{NBSP}₽" in text
    # the segment table lists each segment once, in best-to-worst order
    names = TEXTS[lang]["segment_names"]
    soup = BeautifulSoup(ctx.to_html(), "html.parser")
    first_table = soup.find("table")
    shown = [tr.find("td").get_text() for tr in first_table.find("tbody").find_all("tr")]
    expected_order = [names[s] for s in seg.RFM_SEGMENTS if names[s] in shown]
    assert shown == expected_order and len(shown) == len(set(shown)) >= 8


def test_texts_are_complete_in_both_languages():
    assert set(TEXTS["en"]) == set(TEXTS["ru"])
    for lang in ("en", "ru"):
        t = TEXTS[lang]
        assert set(t["segment_names"]) == set(seg.RFM_SEGMENTS)
        assert set(t["segment_who"]) == set(seg.RFM_SEGMENTS)
        assert set(t["abc_meaning"]) == {"A", "B", "C"} and set(t["xyz_meaning"]) == {"X", "Y", "Z"}
    ru_names = TEXTS["ru"]["segment_names"]
    assert len(set(ru_names.values())) == len(ru_names)
    assert all(any("а" <= ch <= "я" for ch in name.lower()) for name in ru_names.values())


def test_observation_end_cuts_the_data_and_the_unfinished_month(demo):
    """Mid-month end: everything is computed up to it, and XYZ stops at the last complete month."""
    end = pd.Timestamp("2025-06-15")
    ctx = _render(ClientData(demo.transactions, demo.customers, demo.surveys), {"observation_end": end})
    summary = customer_summary(demo.transactions, unit="D", observation_end=end)
    rfm = seg.rfm_segments(seg.rfm_scores(summary, recency_unit="D")).segments
    panel = customer_period_panel(demo.transactions, period="M", end=pd.Timestamp("2025-05-31"))
    assert panel["period"].max() == pd.Timestamp("2025-05-01")
    xyz = seg.xyz_analysis(panel, min_periods=3).classes
    values = ctx.metrics_dict()
    assert values["repeat_purchase_rate"] == pytest.approx(seg.repeat_purchase_rate(summary), rel=1e-12)
    assert values["champions_share"] == pytest.approx(rfm.loc["Champions", "customer_share"], rel=1e-12)
    assert values["x_class_share"] == pytest.approx(xyz.loc["X", "customer_share"], rel=1e-12)
    text = _text(ctx)
    assert "June 2025" in text  # the caveat names the month left out
    newcomers = int((summary["first_purchase"] >= pd.Timestamp("2025-06-01")).sum())
    assert newcomers > 0 and f"({newcomers})" in text


def test_last_complete_month_end():
    f = segments._last_complete_month_end
    assert f(pd.Timestamp("2025-12-31 23:59")) == pd.Timestamp("2025-12-31")
    assert f(pd.Timestamp("2025-12-30")) == pd.Timestamp("2025-11-30")
    assert f(pd.Timestamp("2024-02-29")) == pd.Timestamp("2024-02-29")
    assert f(pd.Timestamp("2025-03-01")) == pd.Timestamp("2025-02-28")


def _tiny_transactions(n_customers: int, days: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_customers):
        for _ in range(int(rng.integers(1, 4))):
            rows.append({"customer_id": f"c{i:03d}",
                         "timestamp": pd.Timestamp("2024-03-01") + pd.Timedelta(days=int(rng.integers(0, days))),
                         "amount": float(rng.integers(100, 5000))})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_tiny_client_gets_a_note_not_a_crash(lang):
    tx = _tiny_transactions(3, days=20)
    ctx = _render(ClientData(tx), lang=lang)
    text = _text(ctx)
    assert TEXTS[lang]["title"] in text
    assert TEXTS[lang]["too_few"].split("**")[0] in text
    assert set(ctx.metrics) == {"repeat_purchase_rate"}
    summary = customer_summary(tx, unit="D")
    assert ctx.metrics_dict()["repeat_purchase_rate"] == pytest.approx(seg.repeat_purchase_rate(summary))
    assert not any(k == "figure" for k, _ in ctx.blocks)


def test_short_history_skips_xyz_but_keeps_rfm_and_abc():
    tx = _tiny_transactions(60, days=55, seed=1)  # March and April 2024 only: two months
    ctx = _render(ClientData(tx), {"observation_end": "2024-04-30"})
    text = _text(ctx)
    assert "XYZ needs at least 3 complete months" in text
    expected = {"champions_share", "at_risk_revenue_share", "a_class_customer_share", "repeat_purchase_rate"}
    assert expected <= set(ctx.metrics)
    assert "x_class_share" not in ctx.metrics
    assert [k for k, _ in ctx.blocks].count("figure") == 1  # the RFM heatmaps; no matrix


