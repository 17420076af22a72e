"""Overview section (what the data cover, and what loading changed) and the executive summary.

``build(ctx)`` renders the data overview and the data-quality summary; it is
the first section of every report. ``build_summary(ctx)`` renders the
executive summary from the metrics every section recorded; the template runs
it last and the runner moves its output to the top of the report.
"""
from __future__ import annotations

import html
import os
from typing import Any

import numpy as np
import pandas as pd

TEXTS = {
    "en": {
        "title": "Data overview",
        "intro": (
            "Between **{first}** and **{last}**, **{customers}** customers made **{purchases}** purchases "
            "(counted as purchase days per customer) worth **{revenue}** net of returns."
        ),
        "returns": "Returns: {returns} ({returns_share} of gross sales).",
        "tables_caption": "Tables loaded",
        "col_table": "Table", "col_rows": "Rows", "col_customers": "Customers", "col_from": "From", "col_to": "To",
        "table_names": {"transactions": "transactions", "customers": "customers", "surveys": "surveys"},
        "how_to_read": (
            "These are the raw totals of the client's files after loading, up to the end of the observation "
            "window. Every later section starts from the same data, so if a total here looks wrong, "
            "the rest of the report is wrong too."
        ),
        "caveat": (
            "Purchases made on the same day by the same customer count as one purchase, as in the "
            "lifetime-value models. Revenue is net of returns and excludes anything after the observation end."
        ),
        "hist_title": "Purchases per customer",
        "hist_x": "purchases (days with a purchase)", "hist_y": "customers",
        "hist_alt": "Histogram of the number of purchase days per customer",
        "quality_title": "Data quality",
        "quality_how": (
            "What the loader did to the files: rows **dropped** (duplicates, empty lines), rows **flagged** "
            "but kept (e.g. returns), values **repaired** into the standard form, and **info** about the files."
        ),
        "quality_none": "Loading found nothing to drop, flag or repair.",
        "quality_counts": "Rows dropped: {dropped}; flagged: {flagged}; repaired: {repaired}.",
        "quality_caveat": "Messages come from the loader as written (in English) and name the file rows they refer to.",
        "col_column": "Column", "col_action": "Action", "col_message": "Message",
        "actions": {"dropped": "dropped", "flagged": "flagged", "repaired": "repaired", "info": "info"},
        "metric_n_customers": "Customers",
        "metric_n_purchases": "Purchases",
        "metric_revenue_total": "Revenue, net of returns",
        "metric_period_start": "First purchase",
        "metric_period_end": "Last purchase",
        # executive summary
        "summary_title": "Executive summary",
        "summary_intro": "{intro}",
        "summary_key": "Key figures",
        "summary_none": "No analysis produced a headline figure for this data.",
        "summary_quality": "While loading, {dropped} rows were dropped and {flagged} flagged (see *Data quality*).",
        "summary_how": (
            "The key figures of each section in plain words; every one is explained, with its caveats, "
            "in its section below. The parameters and the fingerprint of the input data are in the footer."
        ),
    },
    "ru": {
        "title": "Обзор данных",
        "intro": (
            "С **{first}** по **{last}** **{customers}** клиентов совершили **{purchases}** покупок "
            "(считаются дни с покупкой у каждого клиента) на **{revenue}** за вычетом возвратов."
        ),
        "returns": "Возвраты: {returns} ({returns_share} валовых продаж).",
        "tables_caption": "Загруженные таблицы",
        "col_table": "Таблица", "col_rows": "Строк", "col_customers": "Клиентов", "col_from": "С", "col_to": "По",
        "table_names": {"transactions": "транзакции", "customers": "клиенты", "surveys": "опросы"},
        "how_to_read": (
            "Это итоги по файлам клиента после загрузки, до конца окна наблюдения. Все следующие разделы "
            "считаются по тем же данным: если итог здесь выглядит неверно, неверен и весь отчёт."
        ),
        "caveat": (
            "Несколько покупок одного клиента за один день считаются одной покупкой, как в моделях "
            "пожизненной ценности. Выручка указана за вычетом возвратов и без операций после конца окна наблюдения."
        ),
        "hist_title": "Покупок на клиента",
        "hist_x": "покупки (дни с покупкой)", "hist_y": "клиенты",
        "hist_alt": "Гистограмма числа дней с покупкой на клиента",
        "quality_title": "Качество данных",
        "quality_how": (
            "Что загрузчик сделал с файлами: строки **удалены** (дубли, пустые строки), строки **помечены**, "
            "но оставлены (например, возвраты), значения **исправлены** к стандартному виду, **сведения** о файлах."
        ),
        "quality_none": "При загрузке ничего не пришлось удалять, помечать или исправлять.",
        "quality_counts": "Строк удалено: {dropped}; помечено: {flagged}; исправлено: {repaired}.",
        "quality_caveat": "Сообщения загрузчика приведены как есть (на английском) и указывают строки исходных файлов.",
        "col_column": "Столбец", "col_action": "Действие", "col_message": "Сообщение",
        "actions": {"dropped": "удалено", "flagged": "помечено", "repaired": "исправлено", "info": "сведения"},
        "metric_n_customers": "Клиентов",
        "metric_n_purchases": "Покупок",
        "metric_revenue_total": "Выручка за вычетом возвратов",
        "metric_period_start": "Первая покупка",
        "metric_period_end": "Последняя покупка",
        "summary_title": "Краткие выводы",
        "summary_intro": "{intro}",
        "summary_key": "Ключевые показатели",
        "summary_none": "Ни один раздел не дал ключевых показателей для этих данных.",
        "summary_quality": "При загрузке удалено строк: {dropped}, помечено: {flagged} (см. «Качество данных»).",
        "summary_how": (
            "Ключевые показатели разделов простыми словами; каждый подробно объяснён, с оговорками, "
            "в своём разделе ниже. Параметры и отпечаток входных данных — в подвале отчёта."
        ),
    },
}


def _summary(ctx) -> pd.DataFrame:
    from cxlab.data import customer_summary

    return ctx.cached(customer_summary, unit="D", observation_end=ctx.params.get("observation_end"))


def build(ctx) -> None:
    """Render the data overview and the data-quality summary."""
    t = TEXTS[ctx.lang]
    fmt = ctx.fmt
    summary = _summary(ctx)
    if summary.empty:
        raise ValueError("no transactions up to the observation end: nothing to report")
    first, last = summary["first_purchase"].min(), summary["last_purchase"].max()
    revenue = float(summary["revenue"].sum())
    returns = float(summary["returns"].sum()) if "returns" in summary else 0.0
    purchases = int(summary["n_purchases"].sum())

    ctx.heading(t["title"])
    ctx.how_to_read(t["how_to_read"])
    ctx.text(t["intro"].format(first=fmt.date(first), last=fmt.date(last), customers=fmt.int(len(summary)),
                               purchases=fmt.int(purchases), revenue=fmt.money(revenue)))
    if returns > 0:
        gross = revenue + returns
        ctx.text(t["returns"].format(returns=fmt.money(returns), returns_share=fmt.pct(returns / gross if gross else np.nan)))

    ctx.metric("n_customers", int(len(summary)), kind="int")
    ctx.metric("n_purchases", purchases, kind="int")
    ctx.metric("revenue_total", revenue, kind="money")
    ctx.metric("period_start", pd.Timestamp(first), kind="date", headline=False)
    ctx.metric("period_end", pd.Timestamp(last), kind="date", headline=False)

    ctx.table(_tables_frame(ctx, t), caption=t["tables_caption"])
    _histogram(ctx, summary, t)
    ctx.caveat(t["caveat"])
    _quality(ctx, t)


def _tables_frame(ctx, t) -> pd.DataFrame:
    rows = []
    for name, date_col in (("transactions", "timestamp"), ("customers", "signup_date"), ("surveys", "date")):
        frame = getattr(ctx.data, name, None)
        if frame is None:
            continue
        if name == "transactions":  # may be an engine's table: ask the engine
            log = ctx.log_overview()
            rows.append({
                t["col_table"]: t["table_names"][name],
                t["col_rows"]: log["rows"],
                t["col_customers"]: log["customers"],
                t["col_from"]: log["first"],
                t["col_to"]: log["last"],
            })
            continue
        dates = frame[date_col] if date_col in frame else pd.Series(dtype="datetime64[ns]")
        rows.append({
            t["col_table"]: t["table_names"][name],
            t["col_rows"]: int(len(frame)),
            t["col_customers"]: int(frame["customer_id"].nunique()),
            t["col_from"]: dates.min() if len(dates) else pd.NaT,
            t["col_to"]: dates.max() if len(dates) else pd.NaT,
        })
    out = pd.DataFrame(rows)
    for col in (t["col_from"], t["col_to"]):
        out[col] = pd.to_datetime(out[col])
    return out


def _histogram(ctx, summary: pd.DataFrame, t) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    # numpy float64 for seaborn (nullable dtypes break it); a long tail is cut at the 99th percentile
    counts = summary["n_purchases"].to_numpy(dtype="float64")
    cap = max(float(np.quantile(counts, 0.99)), 1.0)
    shown = np.minimum(counts, cap)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.histplot(x=shown, discrete=True, ax=ax, color="#3b6ea8")
    ax.set(title=t["hist_title"], xlabel=t["hist_x"], ylabel=t["hist_y"])
    sns.despine(ax=ax)
    ctx.figure(fig, alt=t["hist_alt"])


def _quality(ctx, t) -> None:
    quality = getattr(ctx.data, "quality", None)
    ctx.heading(t["quality_title"], level=3)
    ctx.how_to_read(t["quality_how"])
    issues = list(quality) if quality is not None else []
    if not issues:
        ctx.text(t["quality_none"])
        return
    counts = {a: sum(i.rows_count for i in issues if i.action == a) for a in ("dropped", "flagged", "repaired")}
    ctx.metric("rows_dropped", counts["dropped"], kind="int", headline=False)
    ctx.metric("rows_flagged", counts["flagged"], kind="int", headline=False)
    ctx.text(t["quality_counts"].format(**{k: ctx.fmt.int(v) for k, v in counts.items()}))
    # the loader names files by absolute path; the client's report shows them relative to the project
    root = getattr(getattr(ctx, "config", None), "root", None)
    prefix = f"{root}{os.sep}" if root is not None else None

    def message(text: str) -> str:
        return text.replace(prefix, "") if prefix else text

    frame = pd.DataFrame({
        t["col_table"]: [t["table_names"].get(i.table, i.table) for i in issues],
        t["col_column"]: [i.column or "" for i in issues],
        t["col_action"]: [t["actions"].get(i.action, i.action) for i in issues],
        t["col_rows"]: [int(i.rows_count) for i in issues],
        t["col_message"]: [message(i.message) for i in issues],
    })
    ctx.table(frame)
    if ctx.lang != "en":
        ctx.caveat(t["quality_caveat"])


# --------------------------------------------------------------------------- executive summary
def build_summary(ctx, section_titles: dict[str, str] | None = None) -> None:
    """Render the executive summary from ``ctx.metrics`` (run after every section).

    Parameters
    ----------
    ctx : ReportContext
    section_titles : dict, optional
        Section name -> title in ``ctx.lang`` (default: each module's ``TEXTS[lang]["title"]``).
    """
    from cxlab.report.sections import SECTION_ORDER, get_section

    t = TEXTS[ctx.lang]
    fmt = ctx.fmt
    ctx.begin_section("summary", TEXTS)
    try:
        ctx.heading(t["summary_title"])
        m = ctx.metrics
        if {"n_customers", "n_purchases", "revenue_total", "period_start", "period_end"} <= set(m):
            intro = t["intro"].format(
                first=fmt.date(m["period_start"].value), last=fmt.date(m["period_end"].value),
                customers=fmt.int(m["n_customers"].value), purchases=fmt.int(m["n_purchases"].value),
                revenue=fmt.money(m["revenue_total"].value),
            )
            ctx.text(t["summary_intro"].format(name=ctx.display_name, intro=intro))

        titles = dict(section_titles or {})
        for name in SECTION_ORDER:
            if name not in titles:
                module = get_section(name)
                texts = getattr(module, "TEXTS", {}) if module is not None else {}
                title = texts.get(ctx.lang, {}).get("title") if isinstance(texts, dict) else None
                titles[name] = title or name.capitalize()
        order = {name: k for k, name in enumerate(SECTION_ORDER)}
        by_section: dict[str, list[Any]] = {}
        for rec in m.values():
            if rec.headline and rec.section not in (None, "overview", "summary"):
                by_section.setdefault(rec.section, []).append(rec)
        if by_section:
            parts = [f'<p class="cx-box-title">{html.escape(t["summary_key"])}</p><dl class="cx-keyfigures">']
            for section in sorted(by_section, key=lambda s: order.get(s, len(order))):
                parts.append(
                    f'<dt><a href="#section-{html.escape(section)}">{html.escape(titles.get(section, section))}</a></dt>'
                )
                for rec in by_section[section]:
                    parts.append(
                        f"<dd>{html.escape(rec.label)}: <b>{html.escape(ctx.metric_text(rec.name))}</b></dd>"
                    )
            parts.append("</dl>")
            ctx.html('<div class="cx-summary">' + "".join(parts) + "</div>", kind="summary")
        else:
            ctx.text(t["summary_none"])
        dropped, flagged = m.get("rows_dropped"), m.get("rows_flagged")
        if dropped is not None and (dropped.value or (flagged and flagged.value)):
            ctx.text(t["summary_quality"].format(dropped=fmt.int(dropped.value), flagged=fmt.int(flagged.value if flagged else 0)))
        ctx.how_to_read(t["summary_how"])
    finally:
        ctx.end_section()
