"""Report section: customer-experience survey metrics (NPS, CSAT, CES) and their link to behaviour.

``build(ctx)`` renders, when the client has a surveys table:

* the overall NPS with its confidence interval, and CSAT / CES where asked;
* the NPS trend by month or quarter, with the changes that are significant
  after the Benjamini-Hochberg adjustment;
* NPS by segment and by touchpoint (shares of promoters / passives /
  detractors and the significant differences);
* retention, churn hazard ratios, value per customer and the revenue at stake
  from detractors (:func:`cxlab.survey.nps_behaviour`).

Without a surveys table it returns without output.
"""
from __future__ import annotations

import math
import numpy as np
import pandas as pd

from cxlab import survey as sv
from cxlab.units import DAYS_PER_MONTH

TEXTS = {
    "en": {
        "title": "Customer experience: NPS, CSAT, CES",
        "how_to_read": (
            "**NPS** (Net Promoter Score) = share of *promoters* (answers 9–10 to \"How likely are you to recommend "
            "us?\") minus share of *detractors* (0–6), in points from −100 to +100; *passives* (7–8) count only in the "
            "total. **CSAT top-2-box** = share of satisfaction answers 4–5 on the 1–5 scale. **CES low effort** = "
            "share of effort answers 1–3 on the 1–7 scale (1 = least effort). Every figure comes with a 95% "
            "confidence interval: the range that the score of all customers very probably lies in, given how many "
            "answered. Two scores whose intervals overlap a lot are not reliably different."
        ),
        "intro": (
            "From **{first}** to **{last}**, **{customers}** customers gave **{answers}** answers. "
            "The NPS is **{nps}** (95% interval {lo} to {hi}): {pro} promoters, {pas} passives and {det} detractors."
        ),
        "overall_caption": "Survey metrics, all answers",
        "col_metric": "Metric", "col_answers": "Answers", "col_estimate": "Value",
        "col_low": "95% low", "col_high": "95% high",
        "metric_names": {
            "nps": "NPS, points",
            "csat_top2": "CSAT top-2-box, %",
            "csat_mean": "CSAT mean (1–5)",
            "ces_low_effort": "CES low effort, %",
            "ces_mean": "CES mean (1–7, lower = easier)",
        },
        "trend_title": "NPS over time",
        "trend_how": (
            "Each point is the NPS of one {period} with its 95% interval ({min_n} or more answers per {period}). "
            "A change is called significant when it is unlikely to be sampling noise after allowing for the many "
            "comparisons made at once (Benjamini–Hochberg false-discovery-rate adjustment)."
        ),
        "period_names": {"M": "month", "Q": "quarter"},
        "trend_alt": "NPS by period with 95% confidence intervals",
        "trend_x": "period",
        "changes_none": "No change between consecutive {period}s is significant after the adjustment.",
        "changes_some": "Significant changes between consecutive {period}s:",
        "changes_caption": "Significant changes (compared with the previous {period})",
        "col_from": "From", "col_to": "To", "col_before": "Before", "col_after": "After",
        "col_change": "Change", "col_p": "Adjusted p",
        "too_few_periods": "There are not enough answers for a trend (fewer than two {period}s with {min_n}+ answers).",
        "by_title": "NPS by {dimension}",
        "dimension_names": {"segment": "segment", "touchpoint": "touchpoint"},
        "by_how": (
            "Bars show the shares of detractors (red), passives (grey) and promoters (green); the NPS is on the right. "
            "The table compares every group with the largest one, **{reference}**."
        ),
        "by_alt": "Shares of promoters, passives and detractors by {dimension}",
        "col_group": "Group", "col_nps": "NPS", "col_diff": "Difference vs {reference}",
        "by_caption": "NPS by {dimension}",
        "by_none": "No {dimension} differs significantly from {reference} on any survey metric after the adjustment.",
        "by_some": "Significantly different from **{reference}** after the adjustment: {items}.",
        "behaviour_title": "What the answers say about behaviour",
        "behaviour_how": (
            "Each surveyed customer is put in the group of their **first** answer and followed from that answer. "
            "The curves show the share still active *t* days after answering. The **hazard ratio** says how many "
            "times faster a group churns than promoters at any moment (1 = the same); "
            "**value over {horizon}** = revenue per customer-year × expected active time within {horizon} of the answer."
        ),
        "km_alt": "Share of customers still active after the survey, by NPS group",
        "followed": (
            "{analysed} of the {surveyed} surveyed customers could be followed from their answer (the others have no "
            "purchases, or had already stopped buying when they answered)."
        ),
        "share_axis": "share of answers",
        "groups": {"promoter": "Promoters", "passive": "Passives", "detractor": "Detractors"},
        "col_customers": "Customers", "col_churn": "Churned within {horizon}", "col_hr": "Hazard ratio vs promoters",
        "col_hr_ci": "95% interval", "col_rev_year": "Revenue per customer-year", "col_value": "Value over {horizon}",
        "behaviour_caption": "Retention and value by NPS group",
        "hr_text": (
            "Detractors churn **{hr}** times as fast as promoters (95% interval {lo}–{hi}); within {horizon} of "
            "answering, {det_churn} of detractors and {pro_churn} of promoters stopped buying."
        ),
        "hr_adjusted": " The hazard ratios are adjusted for the acquisition channel.",
        "at_stake_text": (
            "**Revenue at stake from detractors: {value}** a year (95% interval {lo} to {hi}). "
            "It is the annual revenue of the {n} detractors still active ({annual}) times how much more likely they "
            "are than promoters to churn within {horizon} ({excess})."
        ),
        "behaviour_unavailable": "The link to behaviour could not be computed: {reason}",
        "behaviour_contract": "Churn is taken from the contract end dates in the customers table.",
        "behaviour_transactions": "A customer counts as churned after {days} days without a purchase.",
        "behaviour_caveat": (
            "These are **associations, not effects**: detractors may differ from promoters in many ways (what they "
            "buy, where they came from) that also drive churn. Turning a detractor into a promoter will not "
            "necessarily give back the whole revenue at stake. The revenue at stake treats the detractors' revenue as "
            "known and their churn gap to promoters as the only risk; its interval covers only the sampling error "
            "of the two churn probabilities."
        ),
        "caveat": (
            "Surveys reach only the customers who answered, who may be happier or angrier than the rest "
            "(response bias). Tests treat answers in different periods and groups as independent; customers who "
            "answer several times make intervals slightly too narrow. Periods or groups with few answers have wide "
            "intervals: read their changes with care."
        ),
        "horizon": "{months} months",
        "metric_nps": "NPS (points)",
        "metric_nps_ci_low": "NPS, 95% interval low",
        "metric_nps_ci_high": "NPS, 95% interval high",
        "metric_survey_answers": "Survey answers",
        "metric_csat_top2_share": "CSAT top-2-box (share of 4–5)",
        "metric_ces_low_effort_share": "CES low effort (share of 1–3)",
        "metric_detractor_churn_hazard_ratio": "Detractors' churn hazard vs promoters (times)",
        "metric_detractor_revenue_at_stake": "Annual revenue at stake from detractors",
    },
    "ru": {
        "title": "Клиентский опыт: NPS, CSAT, CES",
        "how_to_read": (
            "**NPS** (индекс потребительской лояльности) = доля *сторонников* (ответы 9–10 на вопрос «Насколько "
            "вероятно, что вы порекомендуете нас?») минус доля *критиков* (0–6), в пунктах от −100 до +100; "
            "*нейтральные* (7–8) входят только в общее число ответов. **CSAT top-2-box** = доля оценок "
            "удовлетворённости 4–5 по шкале 1–5. **CES «мало усилий»** = доля оценок усилий 1–3 по шкале 1–7 "
            "(1 = меньше всего усилий). У каждого показателя указан 95-процентный доверительный интервал: диапазон, "
            "в котором с высокой вероятностью лежит значение для всех клиентов при таком числе ответов. Если "
            "интервалы двух значений сильно перекрываются, надёжной разницы между ними нет."
        ),
        "intro": (
            "С **{first}** по **{last}** **{customers}** клиентов дали **{answers}** ответов. "
            "NPS равен **{nps}** (95-процентный интервал от {lo} до {hi}): сторонников {pro}, нейтральных {pas}, "
            "критиков {det}."
        ),
        "overall_caption": "Показатели опросов по всем ответам",
        "col_metric": "Показатель", "col_answers": "Ответов", "col_estimate": "Значение",
        "col_low": "95 %, от", "col_high": "95 %, до",
        "metric_names": {
            "nps": "NPS, пункты",
            "csat_top2": "CSAT top-2-box, %",
            "csat_mean": "CSAT, среднее (1–5)",
            "ces_low_effort": "CES «мало усилий», %",
            "ces_mean": "CES, среднее (1–7, меньше — проще)",
        },
        "trend_title": "NPS во времени",
        "trend_how": (
            "Каждая точка — NPS за {period} с 95-процентным интервалом (только периоды, где не меньше {min_n} "
            "ответов). Изменение названо значимым, если его трудно объяснить случайностью выборки с учётом того, что "
            "сравнений делается много сразу (поправка Бенджамини — Хохберга на долю ложных открытий)."
        ),
        "period_names": {"M": "месяц", "Q": "квартал"},
        "trend_alt": "NPS по периодам с 95-процентными доверительными интервалами",
        "trend_x": "период",
        "changes_none": "Ни одно изменение между соседними периодами (период — {period}) не значимо после поправки.",
        "changes_some": "Значимые изменения между соседними периодами (период — {period}):",
        "changes_caption": "Значимые изменения относительно предыдущего периода (период — {period})",
        "col_from": "С", "col_to": "На", "col_before": "Было", "col_after": "Стало",
        "col_change": "Изменение", "col_p": "p с поправкой",
        "too_few_periods": (
            "Ответов недостаточно для динамики: меньше двух периодов (период — {period}) с {min_n} и более ответами."
        ),
        "by_title": "NPS в разрезе: {dimension}",
        "dimension_names": {"segment": "сегмент", "touchpoint": "точка контакта"},
        "by_how": (
            "Столбцы показывают доли критиков (красный), нейтральных (серый) и сторонников (зелёный); справа — NPS. "
            "В таблице каждая группа сравнивается с самой большой — **{reference}**."
        ),
        "by_alt": "Доли сторонников, нейтральных и критиков в разрезе: {dimension}",
        "col_group": "Группа", "col_nps": "NPS", "col_diff": "Разница с {reference}",
        "by_caption": "NPS в разрезе: {dimension}",
        "by_none": "После поправки ни одна группа ({dimension}) значимо не отличается от {reference} ни по одному показателю.",
        "by_some": "После поправки значимо отличаются от **{reference}**: {items}.",
        "behaviour_title": "Что ответы говорят о поведении клиентов",
        "behaviour_how": (
            "Каждый опрошенный клиент отнесён к группе по своему **первому** ответу и прослежен с момента ответа. "
            "Кривые показывают долю клиентов, ещё активных через *t* дней после ответа. **Отношение рисков** "
            "показывает, во сколько раз быстрее группа уходит, чем сторонники, в любой момент времени (1 — так же); "
            "**ценность за {horizon}** = выручка на клиента в год × ожидаемое активное время в пределах {horizon} после ответа."
        ),
        "km_alt": "Доля клиентов, активных после опроса, по группам NPS",
        "followed": (
            "Из {surveyed} опрошенных клиентов с момента ответа удалось проследить {analysed} (у остальных нет "
            "покупок или они уже перестали покупать к моменту ответа)."
        ),
        "share_axis": "доля ответов",
        "groups": {"promoter": "Сторонники", "passive": "Нейтральные", "detractor": "Критики"},
        "col_customers": "Клиентов", "col_churn": "Ушли за {horizon}", "col_hr": "Отношение рисков к сторонникам",
        "col_hr_ci": "95-процентный интервал", "col_rev_year": "Выручка на клиента в год",
        "col_value": "Ценность за {horizon}",
        "behaviour_caption": "Удержание и ценность по группам NPS",
        "hr_text": (
            "Критики уходят в **{hr}** раза быстрее сторонников (95-процентный интервал {lo}–{hi}); за {horizon} после "
            "ответа перестали покупать {det_churn} критиков и {pro_churn} сторонников."
        ),
        "hr_adjusted": " Отношения рисков скорректированы на канал привлечения.",
        "at_stake_text": (
            "**Выручка под угрозой из-за критиков: {value}** в год (95-процентный интервал от {lo} до {hi}). "
            "Это годовая выручка {n} ещё активных критиков ({annual}), умноженная на то, насколько вероятность их "
            "ухода за {horizon} выше, чем у сторонников ({excess})."
        ),
        "behaviour_unavailable": "Связь с поведением рассчитать не удалось: {reason}",
        "behaviour_contract": "Уход клиента определяется по дате окончания договора из таблицы клиентов.",
        "behaviour_transactions": "Клиент считается ушедшим после {days} дней без покупок.",
        "behaviour_caveat": (
            "Это **связь, а не причинный эффект**: критики могут отличаться от сторонников многим (что покупают, "
            "откуда пришли), что тоже влияет на уход. Превратив критика в сторонника, компания не обязательно вернёт "
            "всю выручку под угрозой. Расчёт считает выручку критиков известной, а единственным риском — разницу "
            "в уходе со сторонниками; интервал учитывает только случайную ошибку двух вероятностей ухода."
        ),
        "caveat": (
            "Опросы отражают только ответивших клиентов, которые могут быть довольнее или недовольнее остальных "
            "(смещение из-за отклика). Тесты считают ответы разных периодов и групп независимыми; если клиенты "
            "отвечают по нескольку раз, интервалы немного уже, чем должны быть. У периодов и групп с малым числом "
            "ответов интервалы широкие: их изменения стоит читать осторожно."
        ),
        "horizon": "{months} мес.",
        "metric_nps": "NPS (пункты)",
        "metric_nps_ci_low": "NPS, нижняя граница 95-процентного интервала",
        "metric_nps_ci_high": "NPS, верхняя граница 95-процентного интервала",
        "metric_survey_answers": "Ответов в опросах",
        "metric_csat_top2_share": "CSAT top-2-box (доля оценок 4–5)",
        "metric_ces_low_effort_share": "CES «мало усилий» (доля оценок 1–3)",
        "metric_detractor_churn_hazard_ratio": "Риск ухода критиков относительно сторонников (раз)",
        "metric_detractor_revenue_at_stake": "Годовая выручка под угрозой из-за критиков",
    },
}

#: Periods (or groups) with fewer answers are left out of trends and comparisons.
MIN_ANSWERS = 30


def build(ctx) -> None:
    """Render the survey section (nothing when the client has no surveys table)."""
    surveys = getattr(ctx.data, "surveys", None)
    if surveys is None or len(surveys) == 0:
        return
    t = TEXTS[ctx.lang]
    customers = getattr(ctx.data, "customers", None)
    surveys = sv.validate_surveys(surveys)
    obs_end = ctx.params.get("observation_end")
    if obs_end is not None:
        # the observation end is a whole day: answers given during it count
        surveys = surveys[surveys["date"] < pd.Timestamp(obs_end).normalize() + pd.Timedelta(days=1)]
        if surveys.empty:
            return

    ctx.heading(t["title"])
    ctx.how_to_read(t["how_to_read"])
    _overall(ctx, t, surveys)
    _trend(ctx, t, surveys)
    for dimension in ("segment", "touchpoint"):
        _by_dimension(ctx, t, surveys, customers, dimension)
    _behaviour(ctx, t, surveys, customers)
    ctx.caveat(t["caveat"])


# --------------------------------------------------------------------------- parts
def _overall(ctx, t, surveys: pd.DataFrame) -> None:
    fmt = ctx.fmt
    overall = sv.survey_metrics(surveys)
    table = overall.table.set_index("metric")
    nps = table.loc["nps"]
    shares = overall.shares.iloc[0]
    ctx.text(
        t["intro"].format(
            first=fmt.date(surveys["date"].min()), last=fmt.date(surveys["date"].max()),
            customers=fmt.int(surveys["customer_id"].nunique()), answers=fmt.int(len(surveys)),
            nps=fmt.num(nps["estimate"], 0), lo=fmt.num(nps["ci_low"], 0), hi=fmt.num(nps["ci_high"], 0),
            pro=fmt.pct(shares["promoter_share"]), pas=fmt.pct(shares["passive_share"]),
            det=fmt.pct(shares["detractor_share"]),
        )
    )
    ctx.metric("nps", float(nps["estimate"]), kind="num", digits=0)
    ctx.metric("nps_ci_low", float(nps["ci_low"]), kind="num", digits=0, headline=False)
    ctx.metric("nps_ci_high", float(nps["ci_high"]), kind="num", digits=0, headline=False)
    ctx.metric("survey_answers", int(len(surveys)), kind="int", headline=False)
    if "csat_top2" in table.index:
        ctx.metric("csat_top2_share", float(table.loc["csat_top2", "estimate"]) / 100, kind="pct")
    if "ces_low_effort" in table.index:
        ctx.metric("ces_low_effort_share", float(table.loc["ces_low_effort", "estimate"]) / 100, kind="pct")

    # Points and percentages with one decimal, means on a 1-5 / 1-7 scale with two.
    digits = [2 if m.endswith("_mean") else 1 for m in table.index]
    shown = pd.DataFrame(
        {
            t["col_metric"]: [t["metric_names"][m] for m in table.index],
            t["col_answers"]: table["n"].astype(int).to_numpy(),
            **{
                t[col]: [fmt.num(v, d) for v, d in zip(table[src], digits)]
                for col, src in (("col_estimate", "estimate"), ("col_low", "ci_low"), ("col_high", "ci_high"))
            },
        }
    )
    ctx.table(shown, caption=t["overall_caption"], formats={t[c]: "text" for c in ("col_estimate", "col_low", "col_high")})


def _period_alias(surveys: pd.DataFrame) -> str:
    span_days = (surveys["date"].max() - surveys["date"].min()).days
    return "Q" if span_days > 270 else "M"


def _period_label(ts: pd.Timestamp, period: str) -> str:
    return f"{ts.year} Q{ts.quarter}" if period == "Q" else ts.strftime("%Y-%m")


def _trend(ctx, t, surveys: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    fmt = ctx.fmt
    period = _period_alias(surveys)
    pname = t["period_names"][period]
    ctx.heading(t["trend_title"], level=3)
    metrics = sv.survey_metrics(surveys, period=period, metrics=["nps"])
    table = metrics.table[metrics.table["n"] >= MIN_ANSWERS].copy()
    if len(table) < 2:
        ctx.text(t["too_few_periods"].format(period=pname, min_n=MIN_ANSWERS))
        return
    ctx.how_to_read(t["trend_how"].format(period=pname, min_n=MIN_ANSWERS))
    table["period"] = [_period_label(p, period) for p in table["period"]]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    sv.plot_nps_trend(table, x="period", ax=ax)
    ax.set_xlabel(t["trend_x"])
    ax.set_ylabel("NPS")
    ctx.figure(fig, alt=t["trend_alt"])

    changes = sv.period_changes(surveys, period=period, min_n=MIN_ANSWERS).table
    sig = changes[changes["significant"]]
    if sig.empty:
        ctx.text(t["changes_none"].format(period=pname))
        return
    ctx.text(t["changes_some"].format(period=pname))
    shown = pd.DataFrame(
        {
            t["col_metric"]: [t["metric_names"][m] for m in sig["metric"]],
            t["col_from"]: [_period_label(p, period) for p in sig["baseline"]],
            t["col_to"]: [_period_label(p, period) for p in sig["compared"]],
            t["col_before"]: sig["estimate_a"].to_numpy(float),
            t["col_after"]: sig["estimate_b"].to_numpy(float),
            t["col_change"]: sig["difference"].to_numpy(float),
            t["col_p"]: [fmt.num(p, 3) if p >= 0.001 else "< " + fmt.num(0.001, 3) for p in sig["p_adjusted"]],
        }
    )
    ctx.table(shown, caption=t["changes_caption"].format(period=pname),
              digits={t["col_before"]: 1, t["col_after"]: 1, t["col_change"]: 1})


def _by_dimension(ctx, t, surveys: pd.DataFrame, customers, dimension: str) -> None:
    import matplotlib.pyplot as plt

    fmt = ctx.fmt
    if dimension in surveys.columns:
        source = surveys
    elif customers is not None and dimension in customers.columns:
        source = surveys.merge(customers[["customer_id", dimension]].drop_duplicates("customer_id"), on="customer_id", how="left")
    else:
        return
    levels = source[dimension].dropna()
    if levels.nunique() < 2:
        return
    counts = levels.astype(str).value_counts()
    keep = counts[counts >= MIN_ANSWERS].index
    if len(keep) < 2:
        return
    data = source[source[dimension].astype(str).isin(keep)]
    dim_name = t["dimension_names"][dimension]
    reference = str(counts.index[0])
    ctx.heading(t["by_title"].format(dimension=dim_name), level=3)
    ctx.how_to_read(t["by_how"].format(reference=reference))

    metrics = sv.survey_metrics(data, by=dimension)
    n_levels = len(metrics.shares)
    fig, ax = plt.subplots(figsize=(8, 0.5 * n_levels + 1.6))
    # barh draws the first row at the bottom: ascending n puts the largest group on top
    sv.plot_nps_shares(metrics.shares.sort_values("n"), y=dimension, ax=ax)
    ax.set_ylabel("")
    ax.set_xlabel(t["share_axis"])
    handles, labels = ax.get_legend_handles_labels()
    names = {g + "s": t["groups"][g] for g in sv.NPS_GROUPS}
    ax.legend(handles, [names.get(lab, lab) for lab in labels], loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=3, frameon=False)
    ctx.figure(fig, alt=t["by_alt"].format(dimension=dim_name))

    diffs = sv.group_differences(data, by=dimension, reference=reference, min_n=MIN_ANSWERS).table
    nps = metrics.table[metrics.table["metric"] == "nps"].set_index(dimension)
    nps_diff = diffs[diffs["metric"] == "nps"].set_index("compared")
    shown = pd.DataFrame(
        {
            t["col_group"]: nps.index.astype(str),
            t["col_answers"]: nps["n"].astype(int).to_numpy(),
            t["col_nps"]: nps["estimate"].to_numpy(float),
            t["col_low"]: nps["ci_low"].to_numpy(float),
            t["col_high"]: nps["ci_high"].to_numpy(float),
            t["col_diff"].format(reference=reference): [
                nps_diff.loc[g, "difference"] if g in nps_diff.index else np.nan for g in nps.index
            ],
        }
    ).sort_values(t["col_answers"], ascending=False)
    ctx.table(shown, caption=t["by_caption"].format(dimension=dim_name),
              digits={c: 1 for c in shown.columns[2:]})
    sig = diffs[diffs["significant"]]
    if sig.empty:
        ctx.text(t["by_none"].format(dimension=dim_name, reference=reference))
    else:
        items = [
            f"{row.compared} ({t['metric_names'][row.metric]}: {'+' if row.difference > 0 else ''}{fmt.num(row.difference, 1)})"
            for row in sig.itertuples()
        ]
        ctx.text(t["by_some"].format(reference=reference, items="; ".join(items)))


def _durations(ctx, customers) -> tuple[pd.DataFrame, bool]:
    """Per-customer durations: from contract end dates when present, else from purchases."""
    obs_end = ctx.params.get("observation_end")
    if (
        customers is not None
        and {"end_date", "signup_date"} <= set(customers.columns)
        and customers["end_date"].notna().any()
    ):
        c = customers.drop_duplicates("customer_id").set_index("customer_id")
        start = pd.to_datetime(c["signup_date"])
        end_date = pd.to_datetime(c["end_date"])
        end = pd.Timestamp(obs_end) if obs_end is not None else ctx.log_overview()["last"]
        ok = start.notna() & (start <= end)
        start, end_date = start[ok], end_date[ok]
        churned = end_date.notna() & (end_date <= end)
        stop = end_date.where(churned, end)
        frame = pd.DataFrame(
            {"start": start, "duration": (stop - start).dt.total_seconds() / 86400.0, "event": churned}
        )
        return frame, True
    from cxlab.data import churn_durations

    threshold = float(ctx.params.get("churn_threshold_days") or 90)
    return ctx.cached(churn_durations, threshold=threshold, unit="D", observation_end=obs_end), False


def _behaviour(ctx, t, surveys: pd.DataFrame, customers) -> None:
    import matplotlib.pyplot as plt

    if getattr(ctx.data, "transactions", None) is None or ctx.log_overview()["rows"] == 0:
        return
    from cxlab.data import customer_summary

    fmt = ctx.fmt
    months = int(ctx.params.get("horizon_months") or 12)
    horizon_text = t["horizon"].format(months=months)
    ctx.heading(t["behaviour_title"], level=3)
    durations, contractual = _durations(ctx, customers)
    summary = ctx.cached(customer_summary, unit="W", observation_end=ctx.params.get("observation_end"))
    adjust = None
    if customers is not None and "acquisition_channel" in customers.columns:
        n_channels = customers["acquisition_channel"].nunique()
        if 2 <= n_channels <= 12:
            adjust = ["acquisition_channel"]
    try:
        res = sv.nps_behaviour(
            surveys, durations, summary, customers=customers, adjust_for=adjust,
            horizon=months * DAYS_PER_MONTH, unit="D", summary_unit="W",
        )
    except ValueError as exc:  # e.g. no surveyed customer in the purchase history
        ctx.text(t["behaviour_unavailable"].format(reason=str(exc)))
        return
    ctx.how_to_read(t["behaviour_how"].format(horizon=horizon_text))
    ctx.text(
        (t["behaviour_contract"] if contractual else
         t["behaviour_transactions"].format(days=fmt.int(ctx.params.get("churn_threshold_days") or 90)))
        + " " + t["followed"].format(analysed=fmt.int(len(res.groups)), surveyed=fmt.int(surveys["customer_id"].nunique()))
    )

    fig, ax = plt.subplots(figsize=(8, 4))
    sv.plot_survival_by_group(res, ax=ax)
    handles, labels = ax.get_legend_handles_labels()
    names = {g + "s": t["groups"][g] for g in sv.NPS_GROUPS}
    ax.legend(handles, [names.get(lab, lab) for lab in labels])
    ax.set_xlabel("days" if ctx.lang == "en" else "дни")
    ax.set_ylabel("share still active" if ctx.lang == "en" else "доля активных")
    ctx.figure(fig, alt=t["km_alt"])

    ret = res.retention.set_index("nps_group")
    hr = res.hazard_ratios.set_index("nps_group")
    value = res.value.set_index("nps_group") if res.value is not None else None
    rows = []
    for g in sv.NPS_GROUPS:
        if ret.loc[g, "customers"] == 0:
            continue
        if g == "promoter":
            hr_v, hr_ci = 1.0, "—"
        elif g in hr.index:
            hr_v, hr_ci = hr.loc[g, "hazard_ratio"], f"{fmt.num(hr.loc[g, 'ci_low'], 2)}–{fmt.num(hr.loc[g, 'ci_high'], 2)}"
        else:
            hr_v, hr_ci = math.nan, "—"
        rows.append(
            {
                t["col_group"]: t["groups"][g],
                t["col_customers"]: int(ret.loc[g, "customers"]),
                t["col_churn"].format(horizon=horizon_text): fmt.pct(ret.loc[g, "churn_probability"]),
                t["col_hr"]: fmt.num(hr_v, 2),
                t["col_hr_ci"]: hr_ci,
                t["col_rev_year"]: value.loc[g, "revenue_per_customer_year"] if value is not None else math.nan,
                t["col_value"].format(horizon=horizon_text): value.loc[g, "value_over_horizon"] if value is not None else math.nan,
            }
        )
    shown = pd.DataFrame(rows)
    money_cols = {t["col_rev_year"]: "money", t["col_value"].format(horizon=horizon_text): "money"}
    ctx.table(shown, formats=money_cols, caption=t["behaviour_caption"])

    if "detractor" in hr.index:
        text = t["hr_text"].format(
            hr=fmt.num(hr.loc["detractor", "hazard_ratio"], 2), lo=fmt.num(hr.loc["detractor", "ci_low"], 2),
            hi=fmt.num(hr.loc["detractor", "ci_high"], 2), horizon=horizon_text,
            det_churn=fmt.pct(ret.loc["detractor", "churn_probability"]),
            pro_churn=fmt.pct(ret.loc["promoter", "churn_probability"]),
        )
        ctx.text(text + (t["hr_adjusted"] if adjust else ""))
        ctx.metric("detractor_churn_hazard_ratio", float(hr.loc["detractor", "hazard_ratio"]), kind="num", digits=2)
    rs = res.revenue_at_stake
    if rs is not None and np.isfinite(rs["revenue_at_stake"]):
        ctx.text(
            t["at_stake_text"].format(
                value=fmt.money(rs["revenue_at_stake"]), lo=fmt.money(rs["ci_low"]), hi=fmt.money(rs["ci_high"]),
                n=fmt.int(rs["active_detractors"]), annual=fmt.money(rs["annual_revenue_active_detractors"]),
                horizon=horizon_text, excess=fmt.pp(rs["excess_churn_probability"]),
            )
        )
        ctx.metric("detractor_revenue_at_stake", float(rs["revenue_at_stake"]), kind="money")
    ctx.caveat(t["behaviour_caveat"])
