"""The discounts section: its numbers recomputed without cxlab's data layer or model, in both languages."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from report_helpers import make_study, render, text_of


@pytest.fixture(scope="module", params=["en", "ru"])
def rendered(request):
    from cxlab.datasets import make_demo_dataset

    ds = make_demo_dataset(n_customers=800, seed=6, discount_offers=True)
    study = make_study(ds, lang=request.param, churn_threshold_days=90)
    return request.param, ds, study, render(study, "discounts")


def _weekly_panel(tx: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchases with their week and the week's band; the customer × week panel strictly between the
    first and the last purchase week — in pandas, from the rule stated in cxlab.data.discount_cells."""
    buy = tx[tx["amount"] >= 0].copy()
    buy["week"] = ((buy["timestamp"].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days + 3) // 7
    by_week = buy.groupby("week")[["discount", "amount"]].sum()
    depth = by_week["discount"] / (by_week["amount"] + by_week["discount"])
    band = (100 * depth >= 0.5).astype(int) + (100 * depth >= 7.5) + (100 * depth >= 15)
    buy["band"] = band.reindex(buy["week"]).to_numpy()
    span = buy.groupby("customer_id")["week"].agg(["min", "max"])
    rows = [(c, w) for c, (lo, hi) in span.iterrows() for w in band.index[(band.index > lo) & (band.index < hi)]]
    panel = pd.DataFrame(rows, columns=["customer_id", "week"])
    counts = buy.groupby(["customer_id", "week"]).size().rename("y")
    panel = panel.join(counts, on=["customer_id", "week"]).fillna({"y": 0})
    panel["band"] = band.reindex(panel["week"]).to_numpy()
    buy = buy.join(span, on="customer_id")
    return buy, panel


def test_section_renders(rendered):
    lang, ds, study, ctx = rendered
    assert ctx.sections["discounts"]["status"] == "ok"
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") == 1 and kinds.count("table") == 2 and "caveat" in kinds
    text = text_of(ctx)
    assert ("margin given away" in text) if lang == "en" else ("отданная маржа" in text)
    json.dumps(ctx.metrics_dict())


def test_numbers_match_an_independent_computation(rendered):
    import warnings

    from statsmodels.discrete.conditional_models import ConditionalPoisson

    lang, ds, study, ctx = rendered
    tx = ds.transactions
    buy, panel = _weekly_panel(tx)
    assert ctx.metrics["discount_purchase_share"].value == pytest.approx((buy["discount"] > 0).mean(), rel=1e-12)
    assert ctx.metrics["discount_total"].value == pytest.approx(buy["discount"].sum(), rel=1e-9)
    per = buy.groupby("customer_id").agg(n=("amount", "size"), share=("discount", lambda d: (d > 0).mean()))
    dependent = ((per["n"] >= 3) & (per["share"] >= 0.5)).mean()
    assert ctx.metrics["discount_dependent_share"].value == pytest.approx(dependent, rel=1e-12)

    # the conditional Poisson of statsmodels on the customer × week panel gives the same band effects
    X = pd.get_dummies(panel["band"], prefix="band", dtype=float).drop(columns="band_0")
    with warnings.catch_warnings():  # customers in one band only carry no information: statsmodels says so
        warnings.simplefilter("ignore")
        fit = ConditionalPoisson(panel["y"].to_numpy(), X.to_numpy(), groups=panel["customer_id"].to_numpy()).fit(
            method="newton", tol=1e-12, maxiter=100, disp=0)
    beta = np.asarray(fit.params)
    rec = ctx.metrics["discount_incidence_multiplier_deepest"]
    assert rec.value == pytest.approx(np.exp(beta[-1]), rel=1e-6)
    assert rec.ci[0] < rec.value < rec.ci[1]

    # margin given away: discounts of later purchases in band k times exp(-beta_k), plus all the others
    later = buy[buy["week"] > buy["min"]]
    d_band = later.groupby("band")["discount"].sum().reindex([1, 2, 3], fill_value=0.0).to_numpy()
    given = buy["discount"].sum() - d_band.sum() + np.sum(d_band * np.exp(-beta))
    assert ctx.metrics["discount_margin_given_away"].value == pytest.approx(given, rel=1e-6)
    y_band = later.groupby("band").size().reindex([1, 2, 3], fill_value=0).to_numpy()
    extra = np.sum(y_band * (1 - np.exp(-beta)))
    assert ctx.metrics["discount_incremental_purchases"].value == pytest.approx(extra, rel=1e-6)
    s_band = later.groupby("band")["amount"].sum().reindex([1, 2, 3], fill_value=0.0).to_numpy()
    net = study.margin_rate * np.sum(s_band * (1 - np.exp(-beta))) - given
    assert ctx.metrics["discount_net_margin"].value == pytest.approx(net, rel=1e-6)


def test_not_available_without_a_discount_column():
    from cxlab.datasets import make_demo_dataset

    ds = make_demo_dataset(n_customers=200, seed=1)
    for lang, words in (("en", "needs") , ("ru", "нет столбца скидки")):
        ctx = render(make_study(ds, lang=lang, churn_threshold_days=90), "discounts")
        assert ctx.sections["discounts"]["status"] == "not_available"
        assert ("no discount column" in text_of(ctx)) if lang == "en" else (words in text_of(ctx))
