"""Report section: retention and churn.

Cohort retention heatmap and curves (:mod:`cxlab.retention`), the churn
definition and how the threshold was chosen (:mod:`cxlab.churn`), customer
lifetime by acquisition channel (Kaplan-Meier, :mod:`cxlab.survival`) and what
drives churn (Cox hazard ratios, loyalty membership time-varying) in plain words.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TEXTS = {
    "en": {
        "title": "Retention and churn",
        "cohorts_title": "Cohort retention",
        "cohorts_how": (
            "Customers are grouped by the month of their first purchase (a *cohort*). Each cell is the share "
            "of the cohort that bought again in the N-th month after the first one. Read a row left to right "
            "to follow one cohort; compare rows to see whether newer customers come back more or less often. "
            "The black line is the average of all cohorts weighted by their size, with its 95% interval."
        ),
        "cohorts_caveat": (
            "The current, unfinished month is left out so it does not look like a drop. Late months rest on "
            "the oldest cohorts only."
        ),
        "retention_text": (
            "On average **{m1}** of new customers buy again in the month after their first purchase, "
            "**{m3}** in the third month."
        ),
        "heatmap_alt": "Heatmap of monthly retention by acquisition cohort",
        "curves_alt": "Retention curves by cohort and their weighted average",
        "threshold_title": "When is a customer lost?",
        "threshold_text": (
            "A shop never learns that a customer has left, so we call a customer **churned after {days} days "
            "without a purchase**. {reason} With this rule **{flagged}** of customers count as churned today."
        ),
        "threshold_reason_param": "This threshold was set for this report.",
        "threshold_reason_auto": (
            "90% of the pauses between two purchases are shorter than that, so a customer who will come back "
            "is wrongly called churned only about one time in ten."
        ),
        "threshold_how": (
            "A shorter threshold reacts faster but wrongly flags more customers who only pause; a longer one is "
            "safer but late. The table shows the trade-off at common choices."
        ),
        "col_quantile": "Pauses shorter than X", "col_threshold": "Threshold X, days",
        "col_false": "Returning customers wrongly flagged", "col_flagged": "Customers flagged today",
        "km_title": "How long customers stay",
        "km_how": (
            "Each curve shows the share of customers still active after a given number of days since their "
            "first purchase (Kaplan-Meier estimate, shaded 95% interval). Customers who have not yet been "
            "with us long enough are counted while we can see them, so the curves are not biased by new "
            "customers. The numbers under the plot are the customers still observed at each time."
        ),
        "km_text": "Half of the customers are lost within **{median}** days.",
        "km_text_no_median": "More than half of the customers are still active at the end of the data.",
        "km_logrank": "The difference between {what} is {sig} (log-rank test, p {p}).",
        "km_sig": "statistically significant", "km_not_sig": "not statistically significant",
        "km_groups": "acquisition channels",
        "col_group": "Group", "col_n": "Customers", "col_events": "Churned", "col_median": "Median lifetime, days",
        "col_rmst": "Mean days active in the first {tau:.0f}",
        "km_alt": "Kaplan-Meier curves of customer lifetime by group",
        "cox_title": "What makes customers stay",
        "cox_how": (
            "A *hazard ratio* compares the risk of leaving at any moment: 0.80 means a 20% lower risk than the "
            "reference group, 1.50 a 50% higher one. All factors are estimated together, so each is compared "
            "with everything else equal. Loyalty membership counts only from the day a customer joined."
        ),
        "cox_caveat": (
            "These are associations in the client's data, not experiments. Loyal customers also differ in ways "
            "the data do not show; the program's effect may be smaller than the hazard ratio suggests."
        ),
        "hr_alt": "Hazard ratios with 95% intervals",
        "labels": {"member": "Loyalty member", "acquisition_channel": "Channel", "nps_group": "NPS"},
        "not_surveyed": "not surveyed",
        "metric_retention_month_1": "Customers buying again in month 1",
        "metric_churn_threshold_days": "Days without a purchase that count as churn",
        "metric_median_lifetime_days": "Median customer lifetime, days",
        "metric_churn_hazard_ratio_loyalty_member": "Churn risk of loyalty members relative to non-members",
    },
    "ru": {
        "title": "Удержание и отток",
        "cohorts_title": "Удержание по когортам",
        "cohorts_how": (
            "Клиенты сгруппированы по месяцу первой покупки (*когорта*). В каждой клетке — доля когорты, "
            "купившая снова в N-й месяц после первого. Строка слева направо — судьба одной когорты; "
            "сравнение строк показывает, возвращаются ли новые клиенты чаще или реже прежних. Чёрная линия — "
            "среднее по когортам с весами по их размеру и 95-процентным интервалом."
        ),
        "cohorts_caveat": (
            "Текущий незавершённый месяц не показан, чтобы он не выглядел как провал. Дальние месяцы "
            "опираются только на самые старые когорты."
        ),
        "retention_text": (
            "В среднем **{m1}** новых клиентов покупают снова в следующем месяце после первой покупки, "
            "**{m3}** — в третьем."
        ),
        "heatmap_alt": "Тепловая карта помесячного удержания по когортам",
        "curves_alt": "Кривые удержания по когортам и их взвешенное среднее",
        "threshold_title": "Когда клиент считается ушедшим?",
        "threshold_text": (
            "Магазин не узнаёт об уходе клиента, поэтому клиент **считается ушедшим, если не покупал {days} дн. "
            "подряд**. {reason} По этому правилу сейчас ушедшими считаются **{flagged}** клиентов."
        ),
        "threshold_reason_param": "Этот порог задан для отчёта.",
        "threshold_reason_auto": (
            "90% перерывов между двумя покупками короче этого срока, так что клиента, который ещё вернётся, "
            "ошибочно сочтут ушедшим примерно в одном случае из десяти."
        ),
        "threshold_how": (
            "Короткий порог быстрее замечает уход, но чаще ошибочно записывает в ушедшие тех, кто просто "
            "сделал паузу; длинный надёжнее, но запаздывает. В таблице — этот выбор для типичных порогов."
        ),
        "col_quantile": "Доля перерывов короче X", "col_threshold": "Порог X, дней",
        "col_false": "Вернувшиеся, ошибочно отмеченные", "col_flagged": "Отмечены ушедшими сейчас",
        "km_title": "Как долго остаются клиенты",
        "km_how": (
            "Каждая кривая — доля клиентов, всё ещё активных через заданное число дней после первой покупки "
            "(оценка Каплана — Мейера, заливка — 95-процентный интервал). Клиенты, которые с нами недавно, "
            "учитываются, пока мы их видим, поэтому новые клиенты не искажают кривые. Числа под графиком — "
            "сколько клиентов ещё наблюдается в каждый момент."
        ),
        "km_text": "Половина клиентов уходит в течение **{median}** дн.",
        "km_text_no_median": "К концу данных больше половины клиентов всё ещё активны.",
        "km_logrank": "Различие между {what} {sig} (лог-ранговый критерий, p {p}).",
        "km_sig": "статистически значимо", "km_not_sig": "статистически не значимо",
        "km_groups": "каналами привлечения",
        "col_group": "Группа", "col_n": "Клиентов", "col_events": "Ушли", "col_median": "Медиана срока жизни, дней",
        "col_rmst": "Среднее число активных дней из первых {tau:.0f}",
        "km_alt": "Кривые Каплана — Мейера срока жизни клиентов по группам",
        "cox_title": "Что удерживает клиентов",
        "cox_how": (
            "*Отношение рисков* сравнивает риск ухода в любой момент: 0,80 — риск на 20% ниже, чем у "
            "базовой группы, 1,50 — на 50% выше. Все факторы оцениваются вместе, то есть каждый — при прочих "
            "равных. Участие в программе лояльности учитывается только с даты вступления."
        ),
        "cox_caveat": (
            "Это связи в данных клиента, а не эксперимент. Участники программы отличаются и тем, чего в данных "
            "нет; эффект программы может быть меньше, чем показывает отношение рисков."
        ),
        "hr_alt": "Отношения рисков с 95-процентными интервалами",
        "labels": {"member": "Участник программы лояльности", "acquisition_channel": "Канал", "nps_group": "NPS"},
        "not_surveyed": "не опрошен",
        "metric_retention_month_1": "Покупают снова в первый месяц",
        "metric_churn_threshold_days": "Дней без покупок до признания ухода",
        "metric_median_lifetime_days": "Медиана срока жизни клиента, дней",
        "metric_churn_hazard_ratio_loyalty_member": "Риск ухода участников программы относительно остальных",
    },
}

_NPS_RU = {"promoter": "сторонник", "passive": "нейтрал", "detractor": "критик"}


def build(ctx) -> None:
    """Render cohort retention, the churn threshold, lifetime curves and hazard ratios."""
    tx = getattr(ctx.data, "transactions", None)
    if tx is None or ctx.log_overview()["rows"] == 0:
        return
    t = TEXTS[ctx.lang]
    ctx.heading(t["title"])
    _cohorts(ctx, t)
    durations = _churn(ctx, t)
    _lifetime(ctx, t, durations)
    _drivers(ctx, t, durations)


# --------------------------------------------------------------------------- cohorts
def _cohorts(ctx, t) -> None:
    import matplotlib.pyplot as plt

    from cxlab.data import cohort_counts
    from cxlab.retention import cohort_retention, plot_retention_curves, plot_retention_heatmap

    cc = ctx.cached(cohort_counts, period="M", observation_end=ctx.params.get("observation_end"))
    res = cohort_retention(cc)
    avg = res.average.set_index("period")
    ctx.heading(t["cohorts_title"], level=3)
    ctx.how_to_read(t["cohorts_how"])
    if 1 in avg.index:
        m3 = ctx.fmt.pct(avg.loc[3, "rate"]) if 3 in avg.index else "—"
        ctx.text(t["retention_text"].format(m1=ctx.fmt.pct(avg.loc[1, "rate"]), m3=m3))
        ctx.metric("retention_month_1", float(avg.loc[1, "rate"]), kind="pct")
    recent = res.table[res.table["cohort"] >= res.table["cohort"].max() - pd.DateOffset(months=23)]
    fig, ax = plt.subplots(figsize=(10, 6))
    plot_retention_heatmap(data=recent.loc[recent["period"] > 0], ax=ax, annot=True)
    ctx.figure(fig, alt=t["heatmap_alt"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    plot_retention_curves(data=res.table.loc[res.table["period"] > 0], ax=ax)
    ctx.figure(fig, alt=t["curves_alt"])
    ctx.caveat(t["cohorts_caveat"])


# --------------------------------------------------------------------------- churn definition
def _contractual(ctx) -> bool:
    cust = getattr(ctx.data, "customers", None)
    return cust is not None and "end_date" in cust.columns and "signup_date" in cust.columns


def _churn(ctx, t) -> pd.DataFrame:
    from cxlab.churn import churn_threshold_analysis, contractual_durations
    from cxlab.data import churn_durations, interpurchase_gaps

    obs_end = ctx.params.get("observation_end")
    if _contractual(ctx):
        end = obs_end if obs_end is not None else ctx.log_overview()["last"]
        return contractual_durations(ctx.data.customers, observation_end=end, unit="D")
    gaps = ctx.cached(interpurchase_gaps, unit="D", observation_end=obs_end)
    analysis = churn_threshold_analysis(gaps, quantiles=(0.8, 0.9, 0.95))
    days = ctx.params.get("churn_threshold_days")
    if days is None or (isinstance(days, float) and np.isnan(days)):
        days = analysis.threshold(0.9)
        reason = t["threshold_reason_auto"]
    else:
        reason = t["threshold_reason_param"]
    days = float(days)
    if not np.isfinite(days) or days <= 0:
        raise ValueError(f"churn_threshold_days must be a positive number of days, got {days!r}")
    # churn_durations directly (what churn_table wraps): the loyalty and survey sections share the result
    durations = ctx.cached(churn_durations, threshold=days, unit="D", observation_end=obs_end)
    ctx.heading(t["threshold_title"], level=3)
    ctx.text(t["threshold_text"].format(days=ctx.fmt.int(round(days)), reason=reason,
                                        flagged=ctx.fmt.pct(durations["event"].mean())))
    ctx.metric("churn_threshold_days", int(round(days)), kind="int")
    ctx.how_to_read(t["threshold_how"])
    rec = analysis.recommended.dropna()
    table = pd.DataFrame({
        t["col_quantile"]: rec["quantile"].to_numpy(float),
        t["col_threshold"]: rec["threshold"].round().astype(int).to_numpy(),
        t["col_false"]: rec["false_churn_rate"].to_numpy(float),
        t["col_flagged"]: rec["share_flagged"].to_numpy(float),
    })
    ctx.table(table, formats={t["col_quantile"]: "pct", t["col_false"]: "pct", t["col_flagged"]: "pct"})
    return durations


# --------------------------------------------------------------------------- lifetime curves
def _lifetime(ctx, t, durations: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    from cxlab.survival import kaplan_meier, plot_survival

    frame = durations[["duration", "event"]].copy()
    group_col = None
    cust = getattr(ctx.data, "customers", None)
    if cust is not None and "acquisition_channel" in cust.columns:
        channel = cust.drop_duplicates("customer_id").set_index("customer_id")["acquisition_channel"]
        frame["group"] = frame.index.map(channel).astype(object)
        if frame["group"].notna().all() and frame["group"].nunique() >= 2:
            group_col = "group"
    overall = kaplan_meier(frame, unit="days")
    # the report shows the overall log-rank test only, so the pairwise tests are skipped
    res = kaplan_meier(frame, group_col=group_col, unit="days", pairwise=False) if group_col else overall
    ctx.heading(t["km_title"], level=3)
    ctx.how_to_read(t["km_how"])
    median = overall.table.loc["all", "median"]
    if np.isfinite(median):
        ctx.text(t["km_text"].format(median=ctx.fmt.int(round(median))))
        ctx.metric("median_lifetime_days", int(round(median)), kind="int")
    else:
        ctx.text(t["km_text_no_median"])
    fig, ax = plt.subplots(figsize=(8, 5))
    plot_survival(data=res, ax=ax, ci=True)
    fig.tight_layout()
    ctx.figure(fig, alt=t["km_alt"])
    tab = res.table.reset_index()
    ctx.table(pd.DataFrame({
        t["col_group"]: tab["group"], t["col_n"]: tab["n"].astype(int), t["col_events"]: tab["events"].astype(int),
        t["col_median"]: tab["median"], t["col_rmst"].format(tau=res.tau): tab["rmst"],
    }), digits={t["col_median"]: 0, t["col_rmst"].format(tau=res.tau): 0})
    if res.logrank is not None:
        p = res.logrank["p_value"]
        p_text = f"= {ctx.fmt.num(p, 3)}" if p >= 0.001 else f"< {ctx.fmt.num(0.001, 3)}"
        ctx.text(t["km_logrank"].format(what=t["km_groups"], sig=t["km_sig"] if p < 0.05 else t["km_not_sig"],
                                        p=p_text))


# --------------------------------------------------------------------------- drivers (Cox)
def _drivers(ctx, t, durations: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    from cxlab.survey import customer_nps_groups
    from cxlab.survival import fit_cox, fit_time_varying_cox, hazard_ratio_sentences, plot_hazard_ratios

    cust = getattr(ctx.data, "customers", None)
    if cust is None:
        return
    cust = cust.drop_duplicates("customer_id")
    cust = cust[cust["customer_id"].isin(durations.index)].copy()
    covariates, reference = [], {}
    if "acquisition_channel" in cust.columns and cust["acquisition_channel"].notna().all() \
            and cust["acquisition_channel"].nunique() >= 2:
        cust["acquisition_channel"] = cust["acquisition_channel"].astype(str)
        covariates.append("acquisition_channel")
    surveys = getattr(ctx.data, "surveys", None)
    if surveys is not None and len(surveys):
        # a customer's NPS group is that of their first answer (as in the survey section);
        # customers never surveyed get their own level
        first = customer_nps_groups(surveys)["nps_group"].astype(object)
        group = cust["customer_id"].map(first).fillna(t["not_surveyed"])
        if ctx.lang == "ru":
            group = group.replace(_NPS_RU)
        cust["nps_group"] = group.to_numpy()
        if cust["nps_group"].nunique() >= 2:
            covariates.append("nps_group")
            reference["nps_group"] = t["not_surveyed"] if (group == t["not_surveyed"]).any() else None
            if reference["nps_group"] is None:
                reference.pop("nps_group")
    has_loyalty = "loyalty_join_date" in cust.columns and cust["loyalty_join_date"].notna().any()
    if not covariates and not has_loyalty:
        return
    if has_loyalty:
        res = fit_time_varying_cox(durations, cust, covariates=covariates, reference=reference, unit="D")
        ctx.metric("churn_hazard_ratio_loyalty_member", round(res.hazard_ratio, 2), kind="num", digits=2)
    else:
        frame = durations[["duration", "event"]].join(cust.set_index("customer_id")[covariates])
        res = fit_cox(frame, covariates=covariates, reference=reference, check_ph=False)
    labels = {}
    for term in res.hazard_ratios.index:
        base, _, level = str(term).partition("[")
        name = t["labels"].get(base, base)
        labels[term] = f"{name}: {level.rstrip(']')}" if level else name
    ctx.heading(t["cox_title"], level=3)
    ctx.how_to_read(t["cox_how"])
    sentences = hazard_ratio_sentences(res.hazard_ratios, res.references, alpha=res.alpha, lang=ctx.lang,
                                       fmt_pct=lambda x: ctx.fmt.pct(x, 0), fmt_num=lambda x: ctx.fmt.num(x, 2),
                                       labels=labels)
    ctx.text("\n".join(f"- {s}" for s in sentences))
    hr = res.hazard_ratios.rename(index=labels)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(hr) + 1.5))
    plot_hazard_ratios(data=hr, ax=ax)
    fig.tight_layout()
    ctx.figure(fig, alt=t["hr_alt"])
    ctx.caveat(t["cox_caveat"])
