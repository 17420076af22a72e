"""The CX-drivers section: key drivers, CSI and the value of moving detractors, recomputed independently."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from report_helpers import make_study, render, text_of

from cxlab import survey as sv
from cxlab.report.texts import load_texts

TEXTS = load_texts("cx_drivers")
RATINGS = ["rating_assortment", "rating_price", "rating_speed", "rating_staff"]


@pytest.fixture(scope="module")
def demo():
    from cxlab.datasets import make_demo_dataset

    return make_demo_dataset(n_customers=1500, seed=1)


@pytest.fixture(scope="module", params=["en", "ru"])
def rendered(request, demo):
    study = make_study(demo, lang=request.param, churn_threshold_days=90, cx_shift_share=0.2)
    return request.param, study, render(study, "cx_drivers")


def _r2(y: np.ndarray, x: np.ndarray) -> float:
    """R² of least squares with an intercept, straight from the data."""
    design = np.column_stack([np.ones(len(y)), x])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))


def _shapley_by_orders(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Shapley values of R² by brute force: the mean gain of each column over all K! orders."""
    k = x.shape[1]
    gains = np.zeros(k)
    orders = list(itertools.permutations(range(k)))
    for order in orders:
        before = 0.0
        for pos, j in enumerate(order):
            after = _r2(y, x[:, list(order[:pos + 1])])
            gains[j] += after - before
            before = after
    return gains / len(orders)


def test_section_renders(rendered):
    lang, study, ctx = rendered
    assert ctx.sections["cx_drivers"]["status"] == "ok"
    kinds = [k for k, _ in ctx.blocks]
    assert kinds.count("figure") == 1 and kinds.count("table") == 6 and kinds.count("caveat") == 2
    text = text_of(ctx)
    t = TEXTS[lang]
    for key in ("drivers_title", "csi_title", "money_title", "by_touchpoint_title"):
        assert t[key] in text, key
    # touchpoints and attributes in the reader's words
    assert ("call centre" in text and "staff" in text) if lang == "en" else ("колл-центр" in text and "персонал" in text)
    json.dumps(ctx.metrics_dict())


def test_headline_numbers_match_a_direct_computation(rendered):
    lang, study, ctx = rendered
    s = study.surveys.dropna(subset=["nps", *RATINGS])
    y, x = s["nps"].to_numpy(float), s[RATINGS].to_numpy(float)
    r2 = _r2(y, x)
    shapley = _shapley_by_orders(y, x)
    share = shapley / shapley.sum()
    assert ctx.metrics["cx_drivers_r2"].value == pytest.approx(r2, rel=1e-9)
    assert ctx.metrics["cx_top_driver_share"].value == pytest.approx(share.max(), rel=1e-9)
    csi = 100 * share @ ((x.mean(axis=0) - 1) / 4)
    assert ctx.metrics["csi"].value == pytest.approx(csi, rel=1e-9)
    for name in ("cx_drivers_r2", "cx_top_driver_share", "csi", "cx_detractor_shift_value"):
        lo, hi = ctx.metrics[name].ci
        assert lo < ctx.metrics[name].value < hi, name


def test_money_value_matches_the_behavioural_link(rendered):
    lang, study, ctx = rendered
    res = sv.nps_behaviour(study.surveys, study.durations, study.customer_summary,
                           customers=study.customers.reset_index(drop=True), adjust_for=["acquisition_channel"],
                           horizon=study.horizon_days, unit="D", summary_unit="W")
    g = res.groups
    active = g[(g["nps_group"] == "detractor") & ~g["event"] & g["revenue"].notna()]
    per_year = active["revenue"].sum() / active["tenure_years"].sum()
    ret = res.retention.set_index("nps_group")
    excess = ret.loc["detractor", "churn_probability"] - ret.loc["promoter", "churn_probability"]
    expected = 0.2 * len(active) * per_year * excess * study.margin_rate
    assert study.cx_shift_share == 0.2
    assert ctx.metrics["cx_detractor_shift_value"].value == pytest.approx(expected, rel=1e-9)
    half = 1.959964 * 0.2 * len(active) * per_year * study.margin_rate * np.hypot(
        ret.loc["detractor", "churn_se"], ret.loc["promoter", "churn_se"])
    lo, hi = ctx.metrics["cx_detractor_shift_value"].ci
    assert (hi - lo) / 2 == pytest.approx(half, rel=1e-5)
    assert ctx.fmt.money(expected) in text_of(ctx)


def test_touchpoint_table_holds_each_touchpoints_nps(rendered):
    lang, study, ctx = rendered
    store = study.surveys.loc[study.surveys["touchpoint"] == "store", "nps"]
    est = sv.nps_estimate(store)
    assert ctx.fmt.num(est.nps, 1) in text_of(ctx)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_without_ratings_the_section_says_what_it_needs(demo, lang):
    surveys = demo.surveys.drop(columns=RATINGS)
    from cxlab.data import ClientData
    from cxlab.study import Study

    study = Study(ClientData(demo.transactions, demo.customers, surveys), {}, lang=lang, currency="RUB")
    ctx = render(study, "cx_drivers")
    assert ctx.sections["cx_drivers"] == {"status": "not_available", "reason": TEXTS[lang]["unmet_no_ratings"]}
    assert TEXTS[lang]["unmet_no_ratings"] in text_of(ctx)
    assert not ctx.metrics


def test_client_touchpoint_names_are_escaped(demo):
    hostile = "<script>alert(1)</script> & Co"
    surveys = demo.surveys.assign(touchpoint=demo.surveys["touchpoint"].astype(str).replace("store", hostile))
    from cxlab.data import ClientData
    from cxlab.study import Study

    study = Study(ClientData(demo.transactions, demo.customers, surveys), {"churn_threshold_days": 90},
                  lang="en", currency="RUB")
    ctx = render(study, "cx_drivers")
    html = ctx.to_html()
    assert ctx.sections["cx_drivers"]["status"] == "ok"
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
