"""Report section: discount dependence.

``build(ctx)`` renders, when the transactions have a ``discount`` column
(:func:`cxlab.discounts.discount_analysis`):

* how many purchases were discounted, how deep, and what the discounts cost;
* discount-dependence segments of customers (only / mostly / sometimes / never with a discount)
  beside the share a customer would get by chance;
* the response within customers: purchase rate and paid basket by depth band, with intervals;
* what the discounts added (purchases, spend, margin) and the margin given away on purchases that
  would have been made anyway, against the naive comparison across customers.

The window, the promotion period (the study's unit) and the margin rate are the study's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cxlab.discounts import DEPENDENCE_SEGMENTS, discount_analysis

#: Segments counted as "depends on discounts" in the headline share.
DEPENDENT = DEPENDENCE_SEGMENTS[:2]


def unmet(study, texts) -> str | None:
    return None if study.has("transactions", "discount") else texts["unmet_no_column"]


def build(ctx) -> None:
    """Render the discount section."""
    study, fmt = ctx.study, ctx.fmt
    ctx.how_to_read("how_to_read", period=ctx.label("period_names", study.unit))
    analysis = discount_analysis(study)
    response, calendar = analysis.response, analysis.calendar
    # the headline counts are the whole log's (the calendar), whether or not the customers are a sample
    purchases = int(calendar["purchases"].sum())
    discounted = int(calendar["discounted"].sum())
    if discounted == 0:
        ctx.text("no_discounts")
        return
    spend = float(calendar["spend"].sum())
    ctx.text("intro", share=fmt.pct(discounted / purchases), discounted=fmt.int(discounted),
             purchases=fmt.int(purchases), total=fmt.money(response.discount_total_),
             depth=fmt.pct(response.discount_total_ / (spend + response.discount_total_)))
    ctx.metric("discount_purchase_share", discounted / purchases)
    ctx.metric("discount_total", response.discount_total_)
    if analysis.missing_discount:
        ctx.text("missing", n=fmt.int(analysis.missing_discount))
    ctx.sample_note("sample_what")
    _segments(ctx, analysis)
    _response(ctx, analysis)
    _economics(ctx, analysis)
    ctx.caveat("caveat", period=ctx.label("period_names", study.unit), rate=fmt.pct(study.margin_rate),
               source=ctx.label("margin_sources", study.margin_source))


def _segments(ctx, analysis) -> None:
    fmt, t = ctx.fmt, ctx.texts
    seg = analysis.segments
    ctx.heading("segments_title")
    ctx.how_to_read("segments_how", period=ctx.label("period_names", ctx.study.unit))
    dependent = float(seg.loc[list(DEPENDENT), "customers"].sum() / max(seg["customers"].sum(), 1))
    ctx.text("segments_text", dependent=fmt.pct(dependent),
             chance=fmt.pct(analysis.customers["chance_share"].mean()))
    ctx.metric("discount_dependent_share", dependent)
    table = pd.DataFrame({
        t["col_segment"]: [ctx.label("segment_names", s) for s in seg.index],
        t["col_customers"]: _count(seg["customers"]),
        t["col_share"]: seg["share"].to_numpy(dtype=float),
        t["col_purchases"]: _count(seg["purchases"]),
        t["col_discount_share"]: seg["mean_discount_share"].to_numpy(dtype=float),
        t["col_chance_share"]: seg["mean_chance_share"].to_numpy(dtype=float),
        t["col_discount"]: seg["discount"].to_numpy(dtype=float),
    })
    ctx.table(table, formats={t["col_share"]: "pct", t["col_discount_share"]: "pct", t["col_chance_share"]: "pct",
                              t["col_discount"]: "money"}, caption=t["segments_caption"])


def _count(values, scale: float = 1.0) -> np.ndarray:
    """Counts as whole numbers (a sample's, times ``scale``, are estimates for the client)."""
    return np.rint(np.asarray(values, dtype=float) * scale).astype(np.int64)


def _band_label(ctx, depth: float) -> str:
    return ctx.fmt.pct(depth, 0)


def _response(ctx, analysis) -> None:
    import matplotlib.pyplot as plt

    from cxlab.report.charts import number_axis

    fmt, t = ctx.fmt, ctx.texts
    inc, basket = analysis.response.incidence_, analysis.response.basket_
    ctx.heading("response_title")
    ctx.how_to_read("response_how", period=ctx.label("period_names", analysis.period))
    deepest = inc.index[-1]
    ctx.text("response_text", depth=_band_label(ctx, inc.loc[deepest, "depth"]),
             mult=fmt.num(inc.loc[deepest, "multiplier"], 2), lo=fmt.num(inc.loc[deepest, "lower"], 2),
             hi=fmt.num(inc.loc[deepest, "upper"], 2), basket=fmt.num(basket.loc[deepest, "multiplier"], 2),
             blo=fmt.num(basket.loc[deepest, "lower"], 2), bhi=fmt.num(basket.loc[deepest, "upper"], 2))
    ctx.metric("discount_incidence_multiplier_deepest", float(inc.loc[deepest, "multiplier"]),
               ci=(float(inc.loc[deepest, "lower"]), float(inc.loc[deepest, "upper"])))
    labels = [_band_label(ctx, d) for d in inc["depth"]]
    table = pd.DataFrame({
        t["col_depth"]: labels,
        t["col_periods"]: _count(inc["periods"], analysis.response.scale_),
        t["col_purchases"]: _count(inc["purchases"], analysis.response.scale_),
        t["col_incidence"]: inc["multiplier"].to_numpy(dtype=float),
        t["col_low"]: inc["lower"].to_numpy(dtype=float),
        t["col_high"]: inc["upper"].to_numpy(dtype=float),
        t["col_basket"]: basket["multiplier"].to_numpy(dtype=float),
        t["col_basket_low"]: basket["lower"].to_numpy(dtype=float),
        t["col_basket_high"]: basket["upper"].to_numpy(dtype=float),
    })
    two = {c: 2 for c in table.columns[3:]}
    ctx.table(table, formats={c: "num" for c in two}, digits=two, caption=t["response_caption"])

    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(inc), dtype=float)
    for shift, frame, key, colour in ((-0.1, inc, "legend_incidence", "#1f77b4"),
                                      (0.1, basket, "legend_basket", "#ff7f0e")):
        mid = frame["multiplier"].to_numpy(dtype=float)
        err = np.vstack([mid - frame["lower"].to_numpy(dtype=float), frame["upper"].to_numpy(dtype=float) - mid])
        ax.errorbar(x + shift, mid, yerr=err, fmt="o", capsize=4, color=colour, label=t[key])
    ax.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(x, labels)
    ax.set_xlabel(t["fig_x"])
    number_axis(fmt, ax, t["fig_y"], digits=2)
    ax.legend(loc="upper left", frameon=False)
    ctx.figure(fig, caption=ctx.plain("response_fig_caption"), name="discount-response")


def _economics(ctx, analysis) -> None:
    fmt = ctx.fmt
    r = analysis.response
    ctx.heading("economics_title")
    given, extra, spend = r.margin_given_away_, r.incremental_purchases_, r.incremental_spend_
    ctx.text("economics_text", total=fmt.money(r.discount_total_), given=fmt.money(given.estimate),
             glo=fmt.money(given.lower), ghi=fmt.money(given.upper),
             given_share=fmt.pct(given.estimate / r.discount_total_) if r.discount_total_ > 0 else "—",
             extra=fmt.int(round(extra.estimate)), elo=fmt.int(round(extra.lower)), ehi=fmt.int(round(extra.upper)),
             spend=fmt.money(spend.estimate))
    ctx.metric("discount_margin_given_away", given.estimate, ci=(given.lower, given.upper))
    ctx.metric("discount_incremental_purchases", extra.estimate, ci=(extra.lower, extra.upper))
    net = r.net_margin_
    ctx.text("net_text", margin=fmt.money(r.incremental_margin_.estimate), rate=fmt.pct(r.margin_rate),
             net=fmt.money(net.estimate), lo=fmt.money(net.lower), hi=fmt.money(net.upper))
    ctx.metric("discount_net_margin", net.estimate, ci=(net.lower, net.upper))
    naive = analysis.naive
    if np.isfinite(naive["ratio"]):
        ctx.text("naive_text", ratio=fmt.num(naive["ratio"], 1),
                 within=fmt.pct(float(r.incidence_["multiplier"].max()) - 1.0, 0))
