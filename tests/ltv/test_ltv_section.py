"""The LTV report section renders on the demo data in both languages."""
import pytest

from cxlab.datasets import make_demo_dataset
from cxlab.report import sections
from cxlab.report.context import ReportContext


@pytest.fixture(scope="module")
def demo_data():
    from cxlab.data.io import ClientData

    ds = make_demo_dataset(n_customers=1500, seed=3)
    return ClientData(transactions=ds.transactions, customers=ds.customers, surveys=ds.surveys)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_ltv_section_renders(demo_data, lang):
    ctx = ReportContext(demo_data, {"horizon_months": 12, "discount_rate": 0.1, "margin_rate": 0.3},
                       lang=lang, currency="RUB", display=False)
    assert sections.build("ltv", ctx)
    html = ctx.to_html()
    assert "ltv" in ctx.sections_rendered
    for name in ("clv_per_customer", "clv_top_decile_share", "customers_at_risk_valuable", "clv_holdout_error",
                 "ltv_12m_per_customer"):
        assert name in ctx.metrics, name
    assert 0 < ctx.metrics["clv_top_decile_share"].value < 1
    assert ("Пожизненная ценность" in html) == (lang == "ru")
    assert html.count("<img") >= 2


def test_ltv_section_skips_without_transactions():
    from cxlab.data.io import ClientData
    import pandas as pd

    empty = ClientData(transactions=pd.DataFrame(columns=["customer_id", "timestamp", "amount"]))
    ctx = ReportContext(empty, {}, display=False)
    sections.build("ltv", ctx)
    assert ctx.blocks == []


def test_texts_have_same_keys():
    from cxlab.report.sections.ltv import TEXTS
    assert set(TEXTS["en"]) == set(TEXTS["ru"])
