"""Report section: customer segments.

The segmentations consultants already use, on the client's data via the data
layer (:func:`cxlab.data.customer_summary`, :func:`cxlab.data.customer_period_panel`)
and :mod:`cxlab.segmentation`:

- RFM named segments (Hughes 1994): quintile scores of recency, frequency and
  monetary value, a segment per cell of the R x FM grid; table and heatmaps;
- ABC analysis of revenue (A: the top customers bringing 80 % of revenue,
  B: the next 15 %, C: the last 5 %);
- XYZ analysis of the regularity of monthly purchases (coefficient of
  variation), crossed with ABC in the ABC x XYZ matrix;
- the repeat-purchase rate (share of customers with a second purchase day).

Internal segment names stay in English (they are the keys of
:data:`cxlab.segmentation.RFM_SEGMENTS`); ``TEXTS[lang]["segment_names"]``
gives the words shown to readers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Fewer customers than this and quintile scores say little (a fifth of 30 is 6 people).
MIN_CUSTOMERS = 30
#: Months of history a customer needs before their monthly purchases can be called regular.
XYZ_MIN_MONTHS = 3
#: The "valuable but drifting away" segments whose revenue share is a headline figure.
AT_RISK_SEGMENTS = ("At risk", "Can't lose them")

TEXTS = {
    "en": {
        "title": "Customer segments",
        "intro_how": (
            "Three standard ways to split the customer base, each answering its own question: **RFM** — who bought "
            "recently, often and for a lot, and who is drifting away; **ABC** — which customers bring most of the "
            "revenue; **XYZ** — who buys regularly. At the end: how many customers come back at all."
        ),
        "too_few": (
            "The data hold only **{n}** customers: too few for segments built from quantiles (at least {min} are "
            "needed), so only the repeat-purchase rate is shown."
        ),
        # RFM
        "rfm_title": "RFM segments",
        "rfm_how": (
            "Every customer gets three scores from 1 to 5, each splitting the base into fifths: **R** (recency) — "
            "how recently they last bought (5 = most recently), **F** (frequency) — on how many days they bought, "
            "**M** (monetary) — how much they spent in total. The segment follows from R and the average of F and M: "
            "for example, *Champions* bought recently, often and a lot; *Can't lose them* used to buy often and a lot "
            "but have not been back for a long time. In the charts, rows are the R score and columns the F score: "
            "the top right corner holds the best customers, the bottom right the valuable ones drifting away."
        ),
        "rfm_text": (
            "**Champions** are **{champions}** of customers and bring **{champions_revenue}** of revenue. "
            "Valuable customers drifting away (*At risk* and *Can't lose them*, {at_risk_customers} of customers) "
            "bring **{at_risk_revenue}** of revenue: they are the first candidates for a win-back campaign."
        ),
        "rfm_caption": "RFM segments, from the best to the least active",
        "col_segment": "Segment", "col_who": "Who they are", "col_customers": "Customers",
        "col_customer_share": "Share of customers", "col_revenue_share": "Share of revenue",
        "col_recency": "Days since last purchase (mean)", "col_frequency": "Purchases (mean)",
        "col_monetary": "Revenue per customer (mean)",
        "rfm_caveat": (
            "Scores are fifths of **this client's own** customers: a Champion is in the top of this base, not "
            "above any absolute standard, so segment sizes of two clients (or of one client at two dates) are not "
            "directly comparable. Customers with the same number of purchases share an F score, so when many "
            "bought only once some columns of the chart stay empty. Revenue is net of returns and counted over "
            "the whole history, which favours long-standing customers."
        ),
        "rfm_heatmap_customers": "Customers by R and F score",
        "rfm_heatmap_revenue": "Share of revenue by R and F score",
        "rfm_x": "F score (5 = most purchases)", "rfm_y": "R score (5 = most recent)",
        "cbar_customers": "customers", "cbar_revenue": "share of revenue",
        "rfm_alt": "Heatmaps of customers and revenue share by RFM recency and frequency scores",
        "segment_names": {
            "Champions": "Champions",
            "Loyal": "Loyal",
            "Potential loyalists": "Potential loyalists",
            "New": "New",
            "Promising": "Promising",
            "Need attention": "Need attention",
            "About to sleep": "About to sleep",
            "At risk": "At risk",
            "Can't lose them": "Can't lose them",
            "Hibernating": "Hibernating",
            "Lost": "Lost",
        },
        "segment_who": {
            "Champions": "bought recently, buy often, spend the most",
            "Loyal": "buy often and spend well; last purchase not quite as recent",
            "Potential loyalists": "recent customers with a few purchases",
            "New": "first purchase very recently",
            "Promising": "recent, but one small purchase so far",
            "Need attention": "average on every score",
            "About to sleep": "few small purchases, not lately",
            "At risk": "bought fairly often, but long ago",
            "Can't lose them": "used to buy often and a lot, long absent",
            "Hibernating": "few purchases, long ago",
            "Lost": "one or two small purchases, very long ago",
        },
        # ABC
        "abc_title": "ABC analysis: who brings the revenue",
        "abc_how": (
            "Customers are ranked by their total revenue. **A** is the smallest group at the top that together "
            "brings 80% of revenue, **B** the next 15%, **C** the last 5%. The smaller class A, the more the "
            "business depends on a few customers."
        ),
        "abc_text": "**{a_customers}** of customers (class A, {a_n}) bring **{a_revenue}** of revenue.",
        "abc_none": "No customer has a positive net revenue, so revenue shares (ABC) cannot be computed.",
        "col_class": "Class", "col_meaning": "Meaning", "col_revenue": "Revenue",
        "abc_meaning": {"A": "top customers, first 80% of revenue", "B": "next 15% of revenue",
                        "C": "last 5% of revenue"},
        "abc_caveat": (
            "Revenue is the total over the whole history, net of returns: long-standing customers had more time "
            "to accumulate it, and a new big spender may still be in B or C. Customers with zero or negative net "
            "revenue are in C."
        ),
        # XYZ
        "xyz_title": "XYZ analysis: who buys regularly",
        "xyz_how": (
            "For every customer we count purchases in each calendar month since the first one and measure how much "
            "the monthly numbers vary (the coefficient of variation, CV = standard deviation / mean): **X** "
            "(CV up to 0.5) buy steadily every month, **Y** (up to 1.0) with gaps, **Z** occasionally. The matrix "
            "crosses both views: **AX** customers are the reliable core of revenue, **AZ** bring a lot but "
            "irregularly, so their revenue is hard to plan."
        ),
        "xyz_caption": "XYZ classes (regularity of monthly purchases)",
        "col_mean_cv": "Mean CV",
        "xyz_meaning": {"X": "steady: buy (almost) every month", "Y": "buy with gaps",
                        "Z": "occasional, or too short a history"},
        "xyz_text": (
            "Class A customers who buy steadily or with gaps (AX, AY): **{ax_n}**, with **{ax_revenue}** of revenue; "
            "class A customers who buy occasionally (AZ): **{az_n}**, with **{az_revenue}** of revenue."
        ),
        "xyz_short": (
            "XYZ needs at least {min} complete months of purchases; the data cover {months}, so regularity "
            "cannot be judged yet."
        ),
        "xyz_caveat": (
            "XYZ needs several months of history: customers observed for fewer than {min} complete months "
            "({short_n} customers, {short_share}) are put in Z whatever they did. Most customers of a shop "
            "buy occasionally, so a large Z is normal and does not by itself mean a problem."
        ),
        "xyz_caveat_partial": " The unfinished month ({month}) is left out so it does not look like a drop.",
        "xyz_caveat_new": " Customers whose first purchase is in that month ({n}) are not in the XYZ tables.",
        "matrix_customers": "Customers by ABC and XYZ class",
        "matrix_revenue": "Share of revenue by ABC and XYZ class",
        "matrix_x": "XYZ (X = most regular)", "matrix_y": "ABC (A = top 80% of revenue)",
        "matrix_alt": "ABC x XYZ matrix: customers and revenue share per cell",
        # repeat purchases
        "repeat_title": "Repeat purchases",
        "repeat_how": (
            "The share of customers who came back: bought on at least two different days. It is the first step of "
            "loyalty; the retention section shows when they come back."
        ),
        "repeat_text": "**{rate}** of customers bought more than once ({n_repeat} of {n}).",
        "col_cohort": "Year of first purchase", "col_repeat": "Bought again", "col_repeat_rate": "Share bought again",
        "repeat_caveat": (
            "Several purchases on one day count as one. Customers acquired recently have had less time to come "
            "back, so the rate of the latest year is lower partly for that reason."
        ),
        # metrics
        "metric_repeat_purchase_rate": "Customers who bought more than once",
        "metric_champions_share": "Customers who are Champions (RFM)",
        "metric_champions_revenue_share": "Revenue share of Champions (RFM)",
        "metric_at_risk_revenue_share": "Revenue share of valuable customers drifting away (At risk, Can't lose them)",
        "metric_a_class_customer_share": "Customers bringing 80% of revenue (class A)",
        "metric_a_class_revenue_share": "Revenue share of class A customers",
        "metric_x_class_share": "Customers buying steadily every month (class X)",
    },
    "ru": {
        "title": "Сегменты клиентов",
        "intro_how": (
            "Три привычных способа разделить клиентскую базу, каждый отвечает на свой вопрос: **RFM** — кто "
            "покупал недавно, часто и на крупные суммы, а кто отдаляется; **ABC** — какие клиенты приносят основную "
            "выручку; **XYZ** — кто покупает регулярно. В конце — сколько клиентов вообще возвращается."
        ),
        "too_few": (
            "Число клиентов в данных — **{n}**: это слишком мало для сегментов на основе квантилей (нужно не меньше "
            "{min}), поэтому показана только доля повторных покупок."
        ),
        "rfm_title": "RFM-сегменты",
        "rfm_how": (
            "Каждый клиент получает три балла от 1 до 5, каждый делит базу на пятые части: **R** (давность) — как "
            "давно была последняя покупка (5 — совсем недавно), **F** (частота) — сколько дней с покупками было "
            "у клиента, **M** (сумма) — сколько он потратил всего. Сегмент определяется баллом R и средним из F и M: "
            "например, «Чемпионы» покупали недавно, часто и много, а «Нельзя потерять» раньше покупали часто и "
            "много, но давно не возвращались. На графиках строки — балл R, столбцы — балл F: в правом верхнем углу "
            "лучшие клиенты, в правом нижнем — ценные, но отдаляющиеся."
        ),
        "rfm_text": (
            "**Чемпионы** — **{champions}** клиентов, они приносят **{champions_revenue}** выручки. Ценные клиенты, "
            "которые отдаляются («Под угрозой» и «Нельзя потерять», {at_risk_customers} клиентов), приносят "
            "**{at_risk_revenue}** выручки: это первые кандидаты для кампании по возврату."
        ),
        "rfm_caption": "RFM-сегменты, от лучших к наименее активным",
        "col_segment": "Сегмент", "col_who": "Кто это", "col_customers": "Клиентов",
        "col_customer_share": "Доля клиентов", "col_revenue_share": "Доля выручки",
        "col_recency": "Дней с последней покупки (в среднем)", "col_frequency": "Покупок (в среднем)",
        "col_monetary": "Выручка на клиента (в среднем)",
        "rfm_caveat": (
            "Баллы — это пятые части **собственной** базы клиента: «Чемпион» входит в верхушку именно этой базы, "
            "а не проходит какую-то абсолютную планку, поэтому размеры сегментов у двух клиентов (или у одного "
            "клиента на две даты) напрямую не сравнимы. Клиенты с одинаковым числом покупок получают одинаковый "
            "балл F, поэтому, когда многие купили лишь один раз, часть столбцов графика пуста. Выручка — за вычетом "
            "возвратов и за всю историю, что даёт преимущество давним клиентам."
        ),
        "rfm_heatmap_customers": "Клиенты по баллам R и F",
        "rfm_heatmap_revenue": "Доля выручки по баллам R и F",
        "rfm_x": "балл F (5 — больше всего покупок)", "rfm_y": "балл R (5 — самые недавние)",
        "cbar_customers": "клиенты", "cbar_revenue": "доля выручки",
        "rfm_alt": "Тепловые карты числа клиентов и доли выручки по баллам давности и частоты RFM",
        "segment_names": {
            "Champions": "Чемпионы",
            "Loyal": "Лояльные",
            "Potential loyalists": "Потенциально лояльные",
            "New": "Новые",
            "Promising": "Перспективные",
            "Need attention": "Требуют внимания",
            "About to sleep": "Засыпающие",
            "At risk": "Под угрозой",
            "Can't lose them": "Нельзя потерять",
            "Hibernating": "Спящие",
            "Lost": "Потерянные",
        },
        "segment_who": {
            "Champions": "покупали недавно, покупают часто, тратят больше всех",
            "Loyal": "покупают часто и на хорошие суммы, но последняя покупка не такая свежая",
            "Potential loyalists": "недавние клиенты с несколькими покупками",
            "New": "первая покупка совсем недавно",
            "Promising": "недавние, но пока одна небольшая покупка",
            "Need attention": "средние по всем баллам",
            "About to sleep": "редкие небольшие покупки, в последнее время не заходят",
            "At risk": "покупали довольно часто, но давно",
            "Can't lose them": "раньше покупали часто и много, давно не возвращались",
            "Hibernating": "редкие покупки, последняя — давно",
            "Lost": "одна-две небольшие покупки, очень давно",
        },
        "abc_title": "ABC-анализ: кто приносит выручку",
        "abc_how": (
            "Клиенты упорядочены по сумме выручки. **A** — самая маленькая группа лидеров, которая вместе приносит "
            "80 % выручки, **B** — следующие 15 %, **C** — последние 5 %. Чем меньше класс A, тем сильнее бизнес "
            "зависит от немногих клиентов."
        ),
        "abc_text": "**{a_customers}** клиентов (класс A, {a_n}) приносят **{a_revenue}** выручки.",
        "abc_none": "Ни у одного клиента нет положительной чистой выручки, поэтому доли выручки (ABC) не считаются.",
        "col_class": "Класс", "col_meaning": "Что значит", "col_revenue": "Выручка",
        "abc_meaning": {"A": "лидеры, первые 80 % выручки", "B": "следующие 15 % выручки",
                        "C": "последние 5 % выручки"},
        "abc_caveat": (
            "Выручка — сумма за всю историю за вычетом возвратов: у давних клиентов было больше времени её "
            "накопить, а новый крупный покупатель может пока оставаться в B или C. Клиенты с нулевой или "
            "отрицательной чистой выручкой отнесены к C."
        ),
        "xyz_title": "XYZ-анализ: кто покупает регулярно",
        "xyz_how": (
            "Для каждого клиента считается число покупок в каждом календарном месяце начиная с первого и то, "
            "насколько эти месячные числа колеблются (коэффициент вариации, CV = стандартное отклонение / среднее): "
            "**X** (CV до 0,5) покупают стабильно каждый месяц, **Y** (до 1,0) — с перерывами, **Z** — от случая "
            "к случаю. Матрица совмещает оба взгляда: клиенты **AX** — надёжное ядро выручки, **AZ** приносят "
            "много, но нерегулярно, и их выручку трудно планировать."
        ),
        "xyz_caption": "XYZ-классы (регулярность покупок по месяцам)",
        "col_mean_cv": "Средний CV",
        "xyz_meaning": {"X": "стабильно: покупают (почти) каждый месяц", "Y": "покупают с перерывами",
                        "Z": "от случая к случаю или слишком короткая история"},
        "xyz_text": (
            "Клиентов класса A, которые покупают стабильно или с перерывами (AX, AY), — **{ax_n}**, на них "
            "приходится **{ax_revenue}** выручки; клиентов класса A, которые покупают от случая к случаю (AZ), — "
            "**{az_n}**, на них приходится **{az_revenue}** выручки."
        ),
        "xyz_short": (
            "Для XYZ-анализа нужно не меньше {min} полных месяцев покупок, а в данных их {months}, "
            "поэтому о регулярности судить пока рано."
        ),
        "xyz_caveat": (
            "XYZ-анализу нужна история в несколько месяцев: клиенты, которых мы видим меньше {min} полных месяцев "
            "(таких {short_n}, или {short_share}), отнесены к Z независимо от того, как они покупали. Большинство "
            "клиентов магазина покупают от случая к случаю, поэтому большой класс Z — норма и сам по себе не "
            "проблема."
        ),
        "xyz_caveat_partial": " Незавершённый месяц ({month}) не учитывается, чтобы он не выглядел как провал.",
        "xyz_caveat_new": " Клиенты, впервые купившие в этом месяце ({n}), в таблицы XYZ не попали.",
        "matrix_customers": "Клиенты по классам ABC и XYZ",
        "matrix_revenue": "Доля выручки по классам ABC и XYZ",
        "matrix_x": "XYZ (X — самые регулярные)", "matrix_y": "ABC (A — первые 80 % выручки)",
        "matrix_alt": "Матрица ABC × XYZ: число клиентов и доля выручки в каждой клетке",
        "repeat_title": "Повторные покупки",
        "repeat_how": (
            "Доля клиентов, которые вернулись, то есть покупали хотя бы в два разных дня. Это первый шаг к "
            "лояльности; когда именно клиенты возвращаются, показано в разделе об удержании."
        ),
        "repeat_text": "**{rate}** клиентов покупали больше одного раза ({n_repeat} из {n}).",
        "col_cohort": "Год первой покупки", "col_repeat": "Купили снова", "col_repeat_rate": "Доля купивших снова",
        "repeat_caveat": (
            "Несколько покупок за один день считаются одной. У недавно пришедших клиентов было меньше времени "
            "вернуться, поэтому у последнего года доля ниже отчасти и по этой причине."
        ),
        "metric_repeat_purchase_rate": "Клиенты, купившие больше одного раза",
        "metric_champions_share": "Доля «Чемпионов» среди клиентов (RFM)",
        "metric_champions_revenue_share": "Доля выручки «Чемпионов» (RFM)",
        "metric_at_risk_revenue_share": (
            "Доля выручки ценных клиентов, которые отдаляются («Под угрозой», «Нельзя потерять»)"
        ),
        "metric_a_class_customer_share": "Клиенты, приносящие 80 % выручки (класс A)",
        "metric_a_class_revenue_share": "Доля выручки клиентов класса A",
        "metric_x_class_share": "Клиенты, стабильно покупающие каждый месяц (класс X)",
    },
}


def build(ctx) -> None:
    """Render RFM segments, ABC and XYZ classes with their matrix, and the repeat-purchase rate."""
    from cxlab.data import customer_summary

    tx = getattr(ctx.data, "transactions", None)
    if tx is None or ctx.log_overview()["rows"] == 0:
        return
    summary = ctx.cached(customer_summary, unit="D", observation_end=_observation_end_param(ctx))
    # a customer seen only through returns has no purchase to score
    summary = summary[summary["n_purchases"] >= 1]
    if summary.empty:
        return
    t = TEXTS[ctx.lang]
    ctx.heading(t["title"])
    ctx.how_to_read(t["intro_how"])
    if len(summary) < MIN_CUSTOMERS:
        ctx.text(t["too_few"].format(n=ctx.fmt.int(len(summary)), min=MIN_CUSTOMERS))
        _repeat(ctx, t, summary)
        return
    _rfm(ctx, t, summary)
    abc = _abc(ctx, t, summary)
    _xyz(ctx, t, summary, abc)
    _repeat(ctx, t, summary)


def _observation_end_param(ctx) -> pd.Timestamp | None:
    value = ctx.params.get("observation_end")
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


# --------------------------------------------------------------------------- RFM
def _rfm(ctx, t, summary: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    from cxlab.segmentation import RFM_SEGMENTS, plot_rfm_heatmap, rfm_scores, rfm_segments

    res = rfm_segments(rfm_scores(summary, recency_unit="D"))
    seg = res.segments
    fmt = ctx.fmt
    champions = seg.loc["Champions"]
    at_risk = seg.loc[list(AT_RISK_SEGMENTS)]
    at_risk_revenue = float(at_risk["revenue_share"].sum())

    ctx.heading(t["rfm_title"], level=3)
    ctx.how_to_read(t["rfm_how"])
    ctx.text(t["rfm_text"].format(
        champions=fmt.pct(champions["customer_share"]), champions_revenue=fmt.pct(champions["revenue_share"]),
        at_risk_customers=fmt.pct(at_risk["customer_share"].sum()), at_risk_revenue=fmt.pct(at_risk_revenue),
    ))
    ctx.metric("champions_share", float(champions["customer_share"]), kind="pct")
    ctx.metric("champions_revenue_share", float(champions["revenue_share"]), kind="pct", headline=False)
    ctx.metric("at_risk_revenue_share", at_risk_revenue, kind="pct")

    shown = seg[seg["customers"] > 0]
    names = [str(s) for s in shown.index]
    order = [s for s in RFM_SEGMENTS if s in names] + [s for s in names if s not in RFM_SEGMENTS]
    shown = shown.loc[order]
    table = pd.DataFrame({
        t["col_segment"]: [t["segment_names"].get(s, s) for s in order],
        t["col_who"]: [t["segment_who"].get(s, "") for s in order],
        t["col_customers"]: shown["customers"].to_numpy(dtype=np.int64),
        t["col_customer_share"]: shown["customer_share"].to_numpy(dtype=float),
        t["col_revenue_share"]: shown["revenue_share"].to_numpy(dtype=float),
        t["col_recency"]: shown["mean_recency_days"].to_numpy(dtype=float),
        t["col_frequency"]: shown["mean_frequency"].to_numpy(dtype=float),
        t["col_monetary"]: shown["mean_monetary"].to_numpy(dtype=float),
    })
    ctx.table(
        table, caption=t["rfm_caption"],
        formats={t["col_customers"]: "int", t["col_customer_share"]: "pct", t["col_revenue_share"]: "pct",
                 t["col_recency"]: "num", t["col_frequency"]: "num", t["col_monetary"]: "money"},
        digits={t["col_recency"]: 0, t["col_frequency"]: 1, t["col_monetary"]: 0},
    )

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.3))
    plot_rfm_heatmap(res, value="customers", ax=left)
    plot_rfm_heatmap(res, value="revenue_share", ax=right)
    _relabel(ctx, left, t["rfm_heatmap_customers"], t["rfm_x"], t["rfm_y"], t["cbar_customers"], share=False)
    _relabel(ctx, right, t["rfm_heatmap_revenue"], t["rfm_x"], t["rfm_y"], t["cbar_revenue"], share=True)
    fig.tight_layout()
    ctx.figure(fig, alt=t["rfm_alt"])
    ctx.caveat(t["rfm_caveat"])


# --------------------------------------------------------------------------- ABC
def _abc(ctx, t, summary: pd.DataFrame):
    from cxlab.segmentation import abc_analysis

    ctx.heading(t["abc_title"], level=3)
    ctx.how_to_read(t["abc_how"])
    if not (summary["revenue"] > 0).any():
        ctx.text(t["abc_none"])
        return None
    abc = abc_analysis(summary)
    classes = abc.classes
    fmt = ctx.fmt
    a = classes.loc["A"]
    ctx.text(t["abc_text"].format(a_customers=fmt.pct(a["customer_share"]), a_n=fmt.int(a["customers"]),
                                  a_revenue=fmt.pct(a["revenue_share"])))
    ctx.metric("a_class_customer_share", float(a["customer_share"]), kind="pct")
    ctx.metric("a_class_revenue_share", float(a["revenue_share"]), kind="pct", headline=False)
    labels = [str(c) for c in classes.index]
    ctx.table(pd.DataFrame({
        t["col_class"]: labels,
        t["col_meaning"]: [t["abc_meaning"][c] for c in labels],
        t["col_customers"]: classes["customers"].to_numpy(dtype=np.int64),
        t["col_customer_share"]: classes["customer_share"].to_numpy(dtype=float),
        t["col_revenue"]: classes["revenue"].to_numpy(dtype=float),
        t["col_revenue_share"]: classes["revenue_share"].to_numpy(dtype=float),
    }), formats={t["col_customer_share"]: "pct", t["col_revenue"]: "money", t["col_revenue_share"]: "pct"})
    ctx.caveat(t["abc_caveat"])
    return abc


# --------------------------------------------------------------------------- XYZ and ABC x XYZ
def _last_complete_month_end(day: pd.Timestamp) -> pd.Timestamp:
    """``day`` if it is the last day of its month, else the last day of the month before."""
    day = pd.Timestamp(day).normalize()
    if (day + pd.Timedelta(days=1)).month == day.month:
        day = day.replace(day=1) - pd.Timedelta(days=1)
    return day


def _xyz(ctx, t, summary: pd.DataFrame, abc) -> None:
    import matplotlib.pyplot as plt

    from cxlab.data import customer_period_panel
    from cxlab.segmentation import abc_xyz, plot_abc_xyz, xyz_analysis

    fmt = ctx.fmt
    obs_end = _observation_end_param(ctx)
    if obs_end is None:
        obs_end = summary["last_purchase"].max()
    # an unfinished last month would look like a drop in every customer's purchases and inflate the CV
    panel_end = _last_complete_month_end(obs_end)
    panel = ctx.cached(customer_period_panel, period="M", end=panel_end)
    panel = panel[panel["customer_id"].isin(summary.index)]
    months = int(panel["period"].nunique()) if len(panel) else 0

    ctx.heading(t["xyz_title"], level=3)
    ctx.how_to_read(t["xyz_how"])
    if months < XYZ_MIN_MONTHS:
        ctx.text(t["xyz_short"].format(min=XYZ_MIN_MONTHS, months=fmt.int(months)))
        return
    xyz = xyz_analysis(panel, min_periods=XYZ_MIN_MONTHS)
    classes = xyz.classes
    ctx.metric("x_class_share", float(classes.loc["X", "customer_share"]), kind="pct", headline=False)

    matrix = abc_xyz(abc, xyz) if abc is not None else None
    labels = [str(c) for c in classes.index]
    frame = {
        t["col_class"]: labels,
        t["col_meaning"]: [t["xyz_meaning"][c] for c in labels],
        t["col_customers"]: classes["customers"].to_numpy(dtype=np.int64),
        t["col_customer_share"]: classes["customer_share"].to_numpy(dtype=float),
    }
    formats = {t["col_customer_share"]: "pct"}
    if matrix is not None:
        frame[t["col_revenue_share"]] = matrix.revenue_share.sum(axis=0).reindex(labels).to_numpy(dtype=float)
        formats[t["col_revenue_share"]] = "pct"
    frame[t["col_mean_cv"]] = classes["mean_cv"].to_numpy(dtype=float)
    ctx.table(pd.DataFrame(frame), formats=formats, digits={t["col_mean_cv"]: 2}, caption=t["xyz_caption"])

    if matrix is not None:
        share = matrix.revenue_share
        counts = matrix.counts
        ctx.text(t["xyz_text"].format(
            ax_n=fmt.int(counts.loc["A", ["X", "Y"]].sum()), ax_revenue=fmt.pct(share.loc["A", ["X", "Y"]].sum()),
            az_n=fmt.int(counts.loc["A", "Z"]), az_revenue=fmt.pct(share.loc["A", "Z"]),
        ))
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
        plot_abc_xyz(matrix, value="customers", ax=left)
        plot_abc_xyz(matrix, value="revenue_share", ax=right)
        _relabel(ctx, left, t["matrix_customers"], t["matrix_x"], t["matrix_y"], t["cbar_customers"], share=False)
        _relabel(ctx, right, t["matrix_revenue"], t["matrix_x"], t["matrix_y"], t["cbar_revenue"], share=True)
        fig.tight_layout()
        ctx.figure(fig, alt=t["matrix_alt"])

    short = xyz.customers["short_history"]
    caveat = t["xyz_caveat"].format(min=XYZ_MIN_MONTHS, short_n=fmt.int(short.sum()),
                                    short_share=fmt.pct(short.mean()))
    if panel_end < pd.Timestamp(obs_end).normalize():
        caveat += t["xyz_caveat_partial"].format(month=fmt.date(panel_end + pd.Timedelta(days=1), style="month"))
        newcomers = int((pd.to_datetime(summary["first_purchase"]).dt.normalize() > panel_end).sum())
        if newcomers:
            caveat += t["xyz_caveat_new"].format(n=fmt.int(newcomers))
    ctx.caveat(caveat)


# --------------------------------------------------------------------------- repeat purchases
def _repeat(ctx, t, summary: pd.DataFrame) -> None:
    from cxlab.segmentation import repeat_purchase_rate

    fmt = ctx.fmt
    rate = repeat_purchase_rate(summary)
    n_repeat = int((summary["frequency"] >= 1).sum())
    ctx.heading(t["repeat_title"], level=3)
    ctx.how_to_read(t["repeat_how"])
    ctx.text(t["repeat_text"].format(rate=fmt.pct(rate), n_repeat=fmt.int(n_repeat), n=fmt.int(len(summary))))
    ctx.metric("repeat_purchase_rate", float(rate), kind="pct")
    years = pd.to_datetime(summary["first_purchase"]).dt.year
    if years.nunique() >= 2:
        by_year = repeat_purchase_rate(summary, cohorts=years)
        ctx.table(pd.DataFrame({
            t["col_cohort"]: [str(y) for y in by_year.index],
            t["col_customers"]: by_year["customers"].to_numpy(dtype=np.int64),
            t["col_repeat"]: by_year["repeat_customers"].to_numpy(dtype=np.int64),
            t["col_repeat_rate"]: by_year["repeat_rate"].to_numpy(dtype=float),
        }), formats={t["col_repeat_rate"]: "pct"})
    ctx.caveat(t["repeat_caveat"])


# --------------------------------------------------------------------------- figure wording
def _relabel(ctx, ax, title: str, xlabel: str, ylabel: str, cbar_label: str, *, share: bool) -> None:
    """Put the report's words and number format on a heatmap drawn by :mod:`cxlab.segmentation`."""
    from matplotlib.ticker import FuncFormatter

    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    # the cell annotations were written with Python's format ("12.3%"); rewrite them the report's way
    for text in ax.texts:
        raw = text.get_text().strip()
        if not raw:
            continue
        try:
            value = float(raw.rstrip("%"))
        except ValueError:
            continue
        text.set_text(ctx.fmt.pct(value / 100.0) if raw.endswith("%") else ctx.fmt.int(value))
    colorbar = ax.collections[0].colorbar if ax.collections else None
    if colorbar is not None:
        colorbar.set_label(cbar_label)
        if share:
            colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: ctx.fmt.pct(v, 0)))
        else:
            colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: ctx.fmt.int(v)))
