"""The loyalty report section renders from client data (English and Russian texts are complete)."""
from types import SimpleNamespace

import pytest

from cxlab.datasets import make_demo_dataset
from cxlab.report.context import ReportContext
from cxlab.report.sections import loyalty


def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict):
            out |= _keys(v, prefix + k + ".")
    return out


def test_texts_have_the_same_keys_in_both_languages():
    assert _keys(loyalty.TEXTS["en"]) == _keys(loyalty.TEXTS["ru"])


@pytest.mark.slow
def test_section_renders_with_metrics():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ds = make_demo_dataset(n_customers=10_000, seed=3)
    data = SimpleNamespace(transactions=ds.transactions, customers=ds.customers, surveys=None)
    ctx = ReportContext(data, {"churn_threshold_days": 180, "horizon_months": 12, "margin_rate": 0.3,
                               "program_cost": 120_000, "reward_rate": 0.03, "breakage": 0.2},
                        lang="ru", currency="RUB", display=False)
    loyalty.build(ctx)
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") == 2 and "caveat" in kinds and "table" in kinds
    html = "\n".join(h for _, h in ctx.blocks)
    assert "Программа лояльности" in html and "смещена" in html
    assert {"loyalty_uplift_month", "loyalty_naive_gap_month", "loyalty_net_value"} <= set(ctx.metrics)
    assert ctx.metrics["loyalty_naive_gap_month"].value > ctx.metrics["loyalty_uplift_month"].value


def test_section_is_silent_without_loyalty_data():
    ds = make_demo_dataset(n_customers=200, seed=1, loyalty=False)
    ctx = ReportContext(SimpleNamespace(transactions=ds.transactions, customers=ds.customers, surveys=None), {},
                        display=False)
    loyalty.build(ctx)
    assert ctx.blocks == []
