"""The executive summary, built after every section from what they recorded.

The template runs it last and the runner moves its output to the top of the
report. It shows the window's totals, the headline metrics of each section
(as :mod:`cxlab.report.metrics.yml <cxlab.report>` defines them, estimates with
their intervals) and names every section that was not available or failed.
"""
from __future__ import annotations

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


def _join(items):
    from cxlab.report.html import Trusted

    return Trusted("; ".join(items))
