"""Report section: the cost of losing customers and customer equity.

``build(ctx)`` renders, from :mod:`cxlab.customer_equity` on the study's facts:

* revenue and margin lost to churn per complete month (the churned customers'
  monthly revenue), its average over the last year, and the same by segment
  (RFM segment at the start of that year, the client's ``segment``, the
  acquisition channel);
* customer equity over the study's horizon (Gupta, Lehmann & Stuart 2004): the
  inputs as measured, the value with its 95 % interval, the value of one
  percentage point of annual retention and the elasticities to retention,
  margin, acquisition cost and discount rate.

Not available when the study cannot define churn. Without acquisition costs the
equity is shown without acquisition spend, and the section says so and what
would complete it. The churn rule, durations, margin, horizon and discount rate
are the study's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cxlab import customer_equity as ce

#: Segmentations shown, in order (columns of :func:`cxlab.customer_equity.segments_at`).
SEGMENTATIONS = ("rfm", "segment", "acquisition_channel")


def unmet(study, texts) -> str | None:
    if not study.churn.available:
        return texts["unmet_churn"].format(reason=study.churn.reason)
    return None


def build(ctx) -> None:
    """Render the revenue lost to churn and customer equity."""
    ctx.how_to_read("how_to_read", rule=_rule(ctx))
    losses = ce.churn_losses_for_study(ctx.study)
    _losses(ctx, losses)
    _by_segment(ctx, losses)
    _equity(ctx)


def _rule(ctx):
    churn = ctx.study.churn
    if churn.kind == "contractual":
        return ctx.tr("rule_contract")
    return ctx.tr("rule_no_purchase", days=ctx.fmt.int(churn.threshold_days))


# --------------------------------------------------------------------------- losses per month
def _losses(ctx, losses: ce.ChurnLosses) -> None:
    import matplotlib.pyplot as plt

    from cxlab.report.charts import date_ticks, money_axis

    fmt, t = ctx.fmt, ctx.texts
    ctx.heading("losses_title")
    recent = losses.recent
    if recent.empty:
        ctx.text("losses_none", until=fmt.date(losses.complete_until))
        return
    ctx.text("losses_text", n=fmt.int(len(recent)), first=fmt.date(recent["period"].iloc[0], "month"),
             last=fmt.date(recent["period"].iloc[-1], "month"), churned=fmt.num(recent["churned"].mean(), 0),
             rate=fmt.pct(recent["churned"].sum() / recent["active_at_start"].sum()),
             revenue=fmt.money(losses.revenue_lost_per_period), margin=fmt.money(losses.margin_lost_per_period))
    ctx.metric("revenue_lost_to_churn_per_month", losses.revenue_lost_per_period)
    ctx.metric("margin_lost_to_churn_per_month", losses.margin_lost_per_period)

    periods = losses.periods
    fig, ax = plt.subplots(figsize=(9, 3.8))
    positions = np.arange(len(periods))
    in_recent = periods["period"] >= recent["period"].iloc[0]
    ax.bar(positions, periods["revenue_lost"].to_numpy(dtype=float),
           color=np.where(in_recent, "#c0392b", "#e6b0aa"), width=0.8)
    date_ticks(fmt, ax, list(periods["period"]), rotation=45 if len(periods) > 12 else 0)
    money_axis(fmt, ax, t["losses_y"], values=periods["revenue_lost"].to_numpy(dtype=float))
    ax.set_xlabel("")
    ctx.figure(fig, caption=ctx.plain("losses_caption", until=fmt.date(losses.complete_until)),
               name="revenue-lost-to-churn")

    def shown(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            t["col_month"]: [fmt.date(p, "month") for p in frame["period"]],
            t["col_active"]: frame["active_at_start"].to_numpy(dtype=np.int64),
            t["col_churned"]: frame["churned"].to_numpy(dtype=np.int64),
            t["col_rate"]: frame["churn_rate"].to_numpy(dtype=float),
            t["col_revenue"]: frame["revenue_lost"].to_numpy(dtype=float),
            t["col_margin"]: frame["margin_lost"].to_numpy(dtype=float),
        })

    formats = {t["col_rate"]: "pct", t["col_revenue"]: "money", t["col_margin"]: "money"}
    ctx.table(shown(recent), formats=formats, caption=t["losses_caption_table"])
    ctx.export_table(shown(periods), formats=formats, caption=t["losses_caption_all"])


# --------------------------------------------------------------------------- by segment
def _by_segment(ctx, losses: ce.ChurnLosses) -> None:
    from cxlab.report.texts import load_texts

    fmt, t = ctx.fmt, ctx.texts
    if not losses.by_segment:
        return
    rfm_names = load_texts("segments")[ctx.lang]["segment_names"]  # the segments section's words for RFM names
    ctx.heading("segments_title")
    ctx.how_to_read("segments_how", day=fmt.date(losses.segments_at))
    for name in SEGMENTATIONS:
        table = losses.by_segment.get(name)
        if table is None or table.empty:
            continue
        if name == "rfm":
            labels = [t["acquired_later"].format(day=fmt.date(losses.segments_at)) if v == ce.NEW_SEGMENT
                      else rfm_names.get(str(v), str(v)) for v in table.index]
        else:
            labels = [ctx.category(v) for v in table.index]
        dimension = ctx.label("dimension_names", name)
        frame = pd.DataFrame({
            dimension[:1].upper() + dimension[1:]: labels,
            t["col_customers"]: table["customers"].to_numpy(dtype=np.int64),
            t["col_churned"]: table["churned"].to_numpy(dtype=np.int64),
            t["col_revenue"]: table["revenue_lost"].to_numpy(dtype=float),
            t["col_margin"]: table["margin_lost"].to_numpy(dtype=float),
            t["col_share"]: table["share"].to_numpy(dtype=float),
        })
        ctx.table(frame, formats={t["col_revenue"]: "money", t["col_margin"]: "money", t["col_share"]: "pct"},
                  caption=ctx.plain("segments_caption", dimension=dimension, n=fmt.int(len(losses.recent))))
        top = table.iloc[0]
        ctx.text("segments_top", dimension=dimension, top=labels[0], share=fmt.pct(top["share"]),
                 customers=fmt.pct(top["customers"] / table["customers"].sum()))


# --------------------------------------------------------------------------- customer equity
def _equity(ctx) -> None:
    fmt, t, study = ctx.fmt, ctx.texts, ctx.study
    ctx.heading("equity_title")
    try:
        fit = ce.CustomerEquity.from_study(study)
    except ValueError as exc:  # e.g. nobody has churned yet: no retention can be estimated
        ctx.text("equity_unavailable", reason=str(exc))
        return
    p, ret = fit.inputs_, fit.retention_
    horizon = ctx.tr("horizon", months=study.horizon_months)
    ctx.how_to_read("equity_how", horizon=horizon)
    ctx.text("inputs_text", retention=fmt.pct(p.retention), lo=fmt.pct(ret.ci[0]), hi=fmt.pct(ret.ci[1]),
             monthly=fmt.pct(ret.monthly_retention), margin=fmt.money(p.margin), first=fmt.money(p.first_margin),
             active=fmt.int(p.active),
             new=fmt.num(p.new_per_period, 0), discount=fmt.pct(study.discount_rate))
    if fit.acquisition_cost_known_:
        ctx.text("cost_text", cost=fmt.money(p.acquisition_cost))
    else:
        ctx.note("cost_unknown")
    lo, hi = fit.ci_["equity"]
    ctx.text("equity_text", horizon=horizon, equity=fmt.money(fit.equity_["equity"]), lo=fmt.money(lo),
             hi=fmt.money(hi), current=fmt.money(fit.equity_["current"]), future=fmt.money(fit.equity_["future"]),
             per_new=fmt.money(fit.equity_["per_new_customer"]))
    ctx.metric("customer_equity", fit.equity_["equity"], ci=fit.ci_["equity"])
    ctx.metric("annual_retention_rate", p.retention, ci=ret.ci)
    if np.isfinite(fit.point_value_):
        plo, phi = fit.ci_["point_value"]
        ctx.text("point_text", value=fmt.money(fit.point_value_), lo=fmt.money(plo), hi=fmt.money(phi),
                 before=fmt.pct(p.retention, 0 if round(p.retention, 2) == p.retention else 1),
                 after=fmt.pct(p.retention + ce.ONE_POINT, 0 if round(p.retention, 2) == p.retention else 1),
                 horizon=horizon, share=fmt.pct(fit.point_value_ / fit.equity_["equity"]))
        ctx.metric("retention_point_value", fit.point_value_, ci=fit.ci_["point_value"])

    rows = []
    for driver in ce.ELASTICITY_DRIVERS:
        e = fit.elasticities_[driver]
        # a 1 % rise of the driver moves equity by e % (signed: costs and the discount rate lower it)
        change = (("+" if e >= 0 else "\u2212") + fmt.pct(abs(e) / 100, 2)) if np.isfinite(e) else t["not_known"]
        rows.append({t["col_driver"]: ctx.label("drivers", driver), t["col_elasticity"]: e,
                     t["col_meaning"]: change})
    ctx.table(pd.DataFrame(rows), formats={t["col_elasticity"]: "num"}, digits={t["col_elasticity"]: 2},
              caption=t["elasticity_caption"])
    e_r, e_m = fit.elasticities_["retention"], fit.elasticities_["margin"]
    if np.isfinite(e_r) and np.isfinite(e_m) and e_m > 0:
        if e_r >= e_m:
            ctx.text("elasticity_text", ratio=fmt.num(e_r / e_m, 1))
        else:
            ctx.text("elasticity_text_less", ratio=fmt.num(e_r / e_m, 2), retention=fmt.pct(p.retention),
                     horizon=horizon)
    ctx.caveat("equity_caveat")
