"""The executive summary, built after every section from what they recorded.

The template runs it last and the runner moves its output to the top of the
report. It opens with the window's totals and 3-6 *findings*: sentences that
each carry their number, its 95 % interval where it is an estimate, and what to
do about it (whom to win back and what they are worth, whether the loyalty
programme pays, where retention is lost, what detractors cost, how far the
forecasts can be trusted). Below them come the headline metrics of each section
(as :mod:`cxlab.report.metrics.yml <cxlab.report>` defines them, estimates with
their intervals) and every section that was not available or failed.

Findings are worded from recorded metrics only; which sentence applies (the
programme pays / does not / cannot tell yet) follows from the interval's sign.
"""
from __future__ import annotations

from cxlab.report.context import render_text_inline
from cxlab.report.html import escape
from cxlab.report.sections import SECTION_ORDER
from cxlab.report.texts import load_texts


def build_summary(ctx) -> None:
    """Render the executive summary from ``ctx.metrics`` and ``ctx.sections`` (run after every section)."""
    ctx.begin_section("summary")
    try:
        ctx.section_title("summary")
        _body(ctx)
    finally:
        ctx.end_section()
    ctx.sections.pop("summary", None)  # the summary is not an analysis section


def _body(ctx) -> None:
    fmt, m = ctx.fmt, ctx.metrics
    if {"n_customers", "n_purchases", "revenue_total", "period_start", "period_end"} <= set(m):
        ctx.text("intro", first=fmt.date(m["period_start"].value), last=fmt.date(m["period_end"].value),
                 customers=fmt.int(m["n_customers"].value), purchases=fmt.int(m["n_purchases"].value),
                 revenue=fmt.money(m["revenue_total"].value))
    from cxlab.report.sections.overview import dominating_outliers

    checks = dominating_outliers(ctx.study)
    if checks is not None:  # the headlines below describe a handful of rows: say so before them
        ctx.caveat("outliers", n=fmt.int(len(checks.outliers)), share=fmt.pct(checks.outlier_revenue_share))
    findings = _findings(ctx)
    if findings:
        ctx.heading("findings_title")
        body = "".join(f"<li>{render_text_inline(item)}</li>" for item in findings)
        ctx._emit("findings", f'<ol class="cx-findings">{body}</ol>', "findings")
    titles = {name: load_texts(name)[ctx.lang].get("title", name) for name in SECTION_ORDER}
    order = {name: k for k, name in enumerate(SECTION_ORDER)}
    by_section: dict[str, list] = {}
    for rec in m.values():
        if rec.headline and rec.value is not None:
            by_section.setdefault(rec.section, []).append(rec)
    if by_section:
        parts = [f'<p class="cx-box-title">{escape(ctx.texts["key"])}</p><dl class="cx-keyfigures">']
        for section in sorted(by_section, key=lambda s: order.get(s, len(order))):
            parts.append(f'<dt><a href="#section-{escape(section)}">{escape(titles.get(section, section))}</a></dt>')
            for rec in by_section[section]:
                label = rec.definition.label(ctx.lang)
                parts.append(f"<dd>{escape(label)}: <b>{escape(ctx.metric_text(rec.name))}</b></dd>")
        parts.append("</dl>")
        ctx._emit("summary", '<div class="cx-summary">' + "".join(parts) + "</div>", "key figures")
    else:
        ctx.text("none")
    for status, key in (("not_available", "skipped"), ("failed", "failed")):
        items = [ctx.tr("skipped_item", title=titles[name], reason=info["reason"])
                 for name, info in ctx.sections.items() if info["status"] == status]
        if items:
            ctx.text(key, items=_join(items))
    dropped, flagged = m.get("rows_dropped"), m.get("rows_flagged")
    if dropped is not None and (dropped.value or (flagged and flagged.value)):
        ctx.text("quality", dropped=fmt.int(dropped.value), flagged=fmt.int(flagged.value if flagged else 0))
    ctx.how_to_read("how")


def _findings(ctx) -> list:
    """The findings that the recorded metrics support, most actionable first (at most six)."""
    fmt, m = ctx.fmt, ctx.metrics

    def has(*names):
        return all(n in m and m[n].value is not None for n in names)

    def money(x):  # millions in words, smaller amounts in full
        return fmt.compact_money(x, 2) if abs(x) >= 1e6 else fmt.money(x)

    def ci(name, kind="money"):
        lo, hi = m[name].ci
        write = {"money": money, "pct": fmt.pct, "num": lambda v: fmt.num(v, 2)}[kind]
        return write(lo), write(hi)

    out = []
    if has("customers_at_risk_valuable", "customers_at_risk_value") and m["customers_at_risk_valuable"].value > 0:
        out.append(ctx.tr("finding_win_back", n=fmt.int(m["customers_at_risk_valuable"].value),
                          value=money(m["customers_at_risk_value"].value), h=ctx.study.horizon_months))
    if has("loyalty_net_value") and m["loyalty_net_value"].ci is not None:
        lo, hi = m["loyalty_net_value"].ci
        key = "finding_programme_loses" if hi < 0 else "finding_programme_pays" if lo > 0 else "finding_programme_unclear"
        lo_t, hi_t = ci("loyalty_net_value")
        extra = ""
        if has("loyalty_uplift_month") and m["loyalty_uplift_month"].ci is not None:
            u_lo, u_hi = ci("loyalty_uplift_month")
            low, high = m["loyalty_uplift_month"].ci
            # an effect whose interval holds zero is not claimed: the sentence says it cannot be told apart from none
            which = "finding_programme_uplift" if low > 0 or high < 0 else "finding_programme_uplift_unclear"
            extra = ctx.tr(which, att=money(m["loyalty_uplift_month"].value), lo=u_lo, hi=u_hi)
        out.append(ctx.join(ctx.tr(key, net=money(m["loyalty_net_value"].value), lo=lo_t, hi=hi_t,
                                   h=ctx.study.horizon_months), extra, sep=" " if extra else ""))
    if has("one_time_buyer_share", "retention_month_1"):
        rec = m["retention_month_1"]
        lo, hi = ci("retention_month_1", "pct") if rec.ci is not None else ("—", "—")
        out.append(ctx.tr("finding_retention", once=fmt.pct(m["one_time_buyer_share"].value, 0),
                          m1=fmt.pct(rec.value), lo=lo, hi=hi))
    if has("detractor_revenue_at_stake", "detractor_churn_hazard_ratio"):
        lo, hi = ci("detractor_revenue_at_stake")
        hr_lo, hr_hi = ci("detractor_churn_hazard_ratio", "num")
        key = "finding_detractors" if m["detractor_churn_hazard_ratio"].ci[0] > 1 else "finding_detractors_unclear"
        out.append(ctx.tr(key, hr=fmt.num(m["detractor_churn_hazard_ratio"].value, 2), hr_lo=hr_lo, hr_hi=hr_hi,
                          value=money(m["detractor_revenue_at_stake"].value), lo=lo, hi=hi))
    if has("at_risk_revenue_share", "champions_share"):
        out.append(ctx.tr("finding_segments", champions=fmt.pct(m["champions_share"].value, 0),
                          champions_revenue=fmt.pct(m["champions_revenue_share"].value, 0)
                          if has("champions_revenue_share") else "—",
                          at_risk=fmt.pct(m["at_risk_revenue_share"].value, 0)))
    if has("clv_holdout_error", "clv_per_customer"):
        err = m["clv_holdout_error"].value
        key = "finding_forecast_good" if abs(err) <= 0.10 else "finding_forecast_rough"
        out.append(ctx.tr(key, err=("+" if err > 0 else "") + fmt.pct(err), clv=fmt.money(m["clv_per_customer"].value),
                          h=ctx.study.horizon_months))
    return out[:6]


def _join(items):
    from cxlab.report.html import Trusted

    return Trusted("; ".join(items))
