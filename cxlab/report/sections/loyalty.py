"""Report section: loyalty programme uplift — naive vs causal, event study, ROI waterfall, caveats.

``build(ctx)`` runs :func:`cxlab.uplift.analyze_loyalty` on the client's data
(monthly panel and churn durations from :mod:`cxlab.data`) and renders:

* the naive member vs non-member gap next to the causal estimates (matching,
  IPW, doubly robust DiD), the naive one labelled as biased;
* the effect by months since joining (event study) with placebo pre-periods;
* the retention effect (hazard ratio) and the split of the LTV uplift;
* the programme economics as a waterfall (incremental margin → net value), ROI;
* effects by pre-join segment, robustness checks, and the assumptions in plain words.

Returns without output when the customers table has no ``loyalty_join_date``
or nobody joined. Cost inputs come from ``ctx.params``: ``margin_rate``,
``program_cost`` (per year, fixed), optional ``reward_rate`` and ``breakage``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

TEXTS = {
    "en": {
        "title": "Loyalty programme: what it really adds",
        "how_to_read": (
            "Members of a loyalty programme are not a random group: customers who already buy a lot join sooner. "
            "So \"members spend more\" mostly says *who* joins, not what the programme *does*. The **causal** "
            "estimates compare each member with non-members who looked the same before the member joined "
            "(spend, visits, basket, recency, tenure, channel) and measure how much more the member's spend "
            "**changed** after joining (difference-in-differences). The **naive** gap is shown only for contrast."
        ),
        "intro": (
            "Members spend **{naive}** more per month than non-members after joining (naive gap, {naive_ratio} of "
            "their spend). The programme itself adds about **{att}** per member per month "
            "(95% interval {lo} to {hi}, doubly robust estimate): **{rel}** on top of what members would have spent "
            "anyway. About **{selection_share}** of the naive gap is selection, not effect."
        ),
        "compare_caption": "Effect on spend per member per month, {post} months after joining",
        "methods": {
            "naive": "Naive member vs non-member gap (biased)",
            "matching": "Propensity matching + DiD",
            "ipw": "Inverse-probability weighting + DiD",
            "dr": "Doubly robust DiD (main estimate)",
            "staggered_cs": "Callaway–Sant'Anna, no covariates (contrast)",
        },
        "col_method": "Method", "col_att": "Effect", "col_low": "95% low", "col_high": "95% high",
        "col_members": "Members",
        "event_title": "Effect by months since joining",
        "event_how": (
            "Each point is the extra monthly spend of members *e* months after joining, against look-alike "
            "non-members at the same calendar month. Points left of the dotted line are **placebo** months before "
            "joining: they should hover around zero. The grey series ignores who joins (no covariates) and is shown "
            "to make the role of the matching visible."
        ),
        "event_alt": "Effect of membership on monthly spend by months since joining, with 95% intervals",
        "event_matched": "matched (doubly robust)",
        "event_cs": "Callaway–Sant'Anna, no covariates",
        "retention_title": "Retention and the lifetime-value uplift",
        "retention_text": (
            "While a member, a customer's churn hazard is **{hr}** times that of a non-member (95% interval {lo} to "
            "{hi}; membership counted from the join date only). Over {horizon} months the uplift per member of "
            "**{total}** splits into:"
        ),
        "parts": {"retention": "staying longer", "frequency": "buying more often", "basket": "bigger baskets",
                  "residual": "not attributed (estimates do not add up exactly)", "total": "total"},
        "col_part": "Source", "col_ratio": "With / without programme", "col_ltv": "Uplift per member",
        "economics_title": "Does it pay?",
        "economics_text": (
            "Over {horizon} months for {members} members the programme earns an incremental margin of **{margin}** "
            "and costs **{cost}**, of which **{subsidy}** are rewards to purchases members would have made anyway. "
            "Net value: **{net}** (95% interval {net_lo} to {net_hi}); ROI {roi}. Probability that the net value "
            "is positive: {prob}."
        ),
        "waterfall_alt": "Waterfall from incremental margin to net value of the programme",
        "steps": {"incremental_margin": "Incremental margin", "rewards_on_incremental": "Rewards on extra sales",
                  "subsidy_to_baseline": "Rewards on sales anyway", "breakage": "Unredeemed points",
                  "operating_cost": "Operating cost", "launch_cost": "Launch cost", "net_value": "Net value"},
        "segments_title": "Who gains most",
        "segments_caption": "Effect on monthly spend by spend before joining",
        "segment_names": {"light": "light buyers", "medium": "medium buyers", "heavy": "heavy buyers"},
        "col_segment": "Segment", "col_relative": "Relative to spend anyway",
        "robust_caption": "Robustness: placebo join dates and window lengths (doubly robust, spend)",
        "col_check": "Check", "col_setting": "Setting",
        "checks": {"placebo": "placebo (should be ≈ 0)", "window": "window length"},
        "caveat": (
            "**Assumptions, in plain words.** (1) Members are compared with customers who looked the same before the "
            "join date and had also bought in the month before it. (2) Without the programme, members' spend would "
            "have changed like that of those look-alikes. (3) Members did not change their behaviour before joining, "
            "and the programme did not change non-members' behaviour. (4) Nothing else happened to members exactly "
            "when they joined. Matching on past purchases cannot see how loyal a customer *is* beyond what they "
            "bought, so some selection may remain: a placebo effect clearly above zero is a warning that the estimate "
            "is too high. Customers who join later serve as controls before they join, which dilutes the estimate "
            "slightly. Cost figures other than the rewards are the inputs given for this report."
        ),
        "placebo_warning": (
            "The placebo check finds a non-zero \"effect\" before joining ({placebo}, 95% interval {lo} to {hi}): "
            "read the main estimate as an upper bound."
        ),
        "not_estimable": "The loyalty effect could not be estimated from these data: {reason}",
        "metric_loyalty_uplift_month": "Loyalty programme: extra spend per member per month (causal)",
        "metric_loyalty_uplift_pct": "Loyalty programme: uplift relative to spend anyway",
        "metric_loyalty_naive_gap_month": "Loyalty programme: naive member gap per month (biased)",
        "metric_loyalty_net_value": "Loyalty programme: net value over the horizon",
        "metric_loyalty_roi": "Loyalty programme: ROI",
        "metric_loyalty_churn_hr": "Loyalty programme: churn hazard ratio of members",
    },
    "ru": {
        "title": "Программа лояльности: что она даёт на самом деле",
        "how_to_read": (
            "Участники программы лояльности — не случайная группа: раньше вступают те, кто и так много покупает. "
            "Поэтому «участники тратят больше» в основном говорит о том, *кто* вступает, а не о том, что программа "
            "*даёт*. **Причинные** оценки сравнивают каждого участника с неучастниками, которые до его вступления "
            "выглядели так же (траты, визиты, средний чек, давность покупки, стаж, канал), и измеряют, насколько "
            "сильнее **изменились** траты участника после вступления (метод «разность разностей»). **Наивная** "
            "разница приведена только для сравнения."
        ),
        "intro": (
            "После вступления участники тратят в месяц на **{naive}** больше неучастников (наивная разница, "
            "{naive_ratio} их трат). Сама программа добавляет около **{att}** на участника в месяц (95%-й интервал "
            "от {lo} до {hi}, дважды робастная оценка): **{rel}** сверх того, что участники потратили бы и так. "
            "Примерно **{selection_share}** наивной разницы — это отбор, а не эффект."
        ),
        "compare_caption": "Эффект на траты участника в месяц, {post} мес. после вступления",
        "methods": {
            "naive": "Наивная разница участников и неучастников (смещена)",
            "matching": "Сопоставление по склонности + разность разностей",
            "ipw": "Взвешивание по обратной вероятности + разность разностей",
            "dr": "Дважды робастная разность разностей (основная оценка)",
            "staggered_cs": "Каллауэй–Сант-Анна без ковариат (для сравнения)",
        },
        "col_method": "Метод", "col_att": "Эффект", "col_low": "95%, от", "col_high": "95%, до",
        "col_members": "Участников",
        "event_title": "Эффект по месяцам после вступления",
        "event_how": (
            "Каждая точка — дополнительные траты участников в месяц через *e* месяцев после вступления по сравнению "
            "с похожими неучастниками в тот же календарный месяц. Точки левее пунктира — **плацебо**-месяцы до "
            "вступления: они должны быть около нуля. Серая линия не учитывает, кто вступает (без ковариат), и "
            "показана, чтобы была видна роль сопоставления."
        ),
        "event_alt": "Эффект участия на траты в месяц по месяцам после вступления, с 95%-ми интервалами",
        "event_matched": "сопоставление (дважды робастная)",
        "event_cs": "Каллауэй–Сант-Анна, без ковариат",
        "retention_title": "Удержание и прирост пожизненной ценности",
        "retention_text": (
            "Пока клиент — участник, его риск ухода в **{hr}** раза от риска неучастника (95%-й интервал от {lo} до "
            "{hi}; участие считается только с даты вступления). За {horizon} мес. прирост на участника "
            "**{total}** складывается так:"
        ),
        "parts": {"retention": "дольше остаются", "frequency": "покупают чаще", "basket": "больший чек",
                  "residual": "не распределено (оценки не складываются точно)", "total": "итого"},
        "col_part": "Источник", "col_ratio": "С программой / без", "col_ltv": "Прирост на участника",
        "economics_title": "Окупается ли программа?",
        "economics_text": (
            "За {horizon} мес. для {members} участников программа приносит дополнительную маржу **{margin}** и "
            "стоит **{cost}**, из которых **{subsidy}** — вознаграждения за покупки, которые участники сделали бы и "
            "так. Чистый эффект: **{net}** (95%-й интервал от {net_lo} до {net_hi}); ROI {roi}. Вероятность, что "
            "чистый эффект положителен: {prob}."
        ),
        "waterfall_alt": "Каскад от дополнительной маржи к чистому эффекту программы",
        "steps": {"incremental_margin": "Доп. маржа", "rewards_on_incremental": "Бонусы на доп. продажи",
                  "subsidy_to_baseline": "Бонусы на продажи «и так»", "breakage": "Несписанные баллы",
                  "operating_cost": "Операционные затраты", "launch_cost": "Запуск", "net_value": "Чистый эффект"},
        "segments_title": "Кто выигрывает больше",
        "segments_caption": "Эффект на траты в месяц по тратам до вступления",
        "segment_names": {"light": "мало покупали", "medium": "средне покупали", "heavy": "много покупали"},
        "col_segment": "Сегмент", "col_relative": "Относительно трат «и так»",
        "robust_caption": "Проверки устойчивости: плацебо-даты вступления и длина окон (дважды робастная, траты)",
        "col_check": "Проверка", "col_setting": "Вариант",
        "checks": {"placebo": "плацебо (должно быть ≈ 0)", "window": "длина окна"},
        "caveat": (
            "**Допущения простыми словами.** (1) Участников сравниваем с клиентами, которые до даты вступления "
            "выглядели так же и тоже покупали в предыдущем месяце. (2) Без программы траты участников менялись бы "
            "так же, как у этих похожих клиентов. (3) Участники не меняли поведение до вступления, а программа не "
            "меняла поведение неучастников. (4) В момент вступления с участниками не происходило ничего другого. "
            "Сопоставление по прошлым покупкам не видит, насколько клиент лоялен сверх того, что он купил, поэтому "
            "часть отбора может остаться: заметно положительный плацебо-эффект — сигнал, что оценка завышена. "
            "Клиенты, вступившие позже, служат контролем до своего вступления, что немного занижает оценку. "
            "Затраты, кроме вознаграждений, взяты из параметров отчёта."
        ),
        "placebo_warning": (
            "Плацебо-проверка находит ненулевой «эффект» до вступления ({placebo}, 95%-й интервал от {lo} до {hi}): "
            "основную оценку стоит читать как верхнюю границу."
        ),
        "not_estimable": "Оценить эффект программы лояльности по этим данным нельзя: {reason}",
        "metric_loyalty_uplift_month": "Программа лояльности: доп. траты участника в месяц (причинная оценка)",
        "metric_loyalty_uplift_pct": "Программа лояльности: прирост относительно трат «и так»",
        "metric_loyalty_naive_gap_month": "Программа лояльности: наивная разница в месяц (смещена)",
        "metric_loyalty_net_value": "Программа лояльности: чистый эффект за горизонт",
        "metric_loyalty_roi": "Программа лояльности: ROI",
        "metric_loyalty_churn_hr": "Программа лояльности: отношение рисков ухода участников",
    },
}


def build(ctx) -> None:
    """Render the loyalty section (nothing without loyalty join dates)."""
    customers = getattr(ctx.data, "customers", None)
    if customers is None or "loyalty_join_date" not in customers.columns or customers["loyalty_join_date"].notna().sum() == 0:
        return
    from cxlab.data import churn_durations, customer_period_panel
    from cxlab.uplift import ProgramCosts, analyze_loyalty

    t = TEXTS[ctx.lang]
    fmt = ctx.fmt
    p = ctx.params
    obs_end = p.get("observation_end")
    horizon = int(p.get("horizon_months") or 12)
    ctx.heading(t["title"])
    ctx.how_to_read(t["how_to_read"])
    try:
        panel = ctx.cached(customer_period_panel, period="M", end=obs_end)
        durations = None
        if p.get("churn_threshold_days"):
            durations = ctx.cached(churn_durations, threshold=float(p["churn_threshold_days"]), unit="D",
                                   observation_end=obs_end)
        costs = ProgramCosts(reward_rate=float(p.get("reward_rate") or 0.0), breakage=float(p.get("breakage") or 0.0),
                             fixed_cost=float(p.get("program_cost") or 0.0) / 12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = analyze_loyalty(panel, customers, durations=durations, margin_rate=float(p.get("margin_rate") or 0.3),
                                  costs=costs, horizon_months=horizon)
    except ValueError as exc:
        ctx.text(t["not_estimable"].format(reason=str(exc)))
        return

    est = res.prepost.estimates
    spend = est[est["outcome"] == "spend"].set_index("method")
    dr, naive = spend.loc["dr"], spend.loc["naive"]
    baseline = dr["member_post_mean"] - dr["att"]
    ctx.text(t["intro"].format(
        naive=fmt.money(naive["att"]), naive_ratio=fmt.pct(naive["att"] / naive["member_post_mean"]),
        att=fmt.money(dr["att"]), lo=fmt.money(dr["ci_low"]), hi=fmt.money(dr["ci_high"]),
        rel=fmt.pct(dr["att"] / baseline), selection_share=fmt.pct(max(0.0, 1 - dr["att"] / naive["att"])) if naive["att"] > 0 else "—",
    ))
    ctx.metric("loyalty_uplift_month", float(dr["att"]), kind="money")
    ctx.metric("loyalty_uplift_pct", float(dr["att"] / baseline), kind="pct")
    ctx.metric("loyalty_naive_gap_month", float(naive["att"]), kind="money", headline=False)

    comp = res.comparison("spend").reset_index()
    comp["method"] = comp["method"].map(t["methods"]).fillna(comp["method"])
    comp = comp.rename(columns={"method": t["col_method"], "att": t["col_att"], "ci_low": t["col_low"],
                                "ci_high": t["col_high"], "n_treated": t["col_members"]})
    ctx.table(comp[[t["col_method"], t["col_att"], t["col_low"], t["col_high"], t["col_members"]]],
              formats={t["col_att"]: "money", t["col_low"]: "money", t["col_high"]: "money", t["col_members"]: "int"},
              caption=t["compare_caption"].format(post=res.prepost.design["post"]), index=False)

    _event_plot(ctx, t, res)
    _retention(ctx, t, res, horizon)
    _economics(ctx, t, res, horizon)
    _segments(ctx, t, res)
    _robustness(ctx, t, res)
    ctx.caveat(t["caveat"])


def _event_plot(ctx, t, res) -> None:
    import matplotlib.pyplot as plt

    from cxlab.uplift import plot_event_study

    ctx.heading(t["event_title"], level=3)
    ctx.how_to_read(t["event_how"])
    fig, ax = plt.subplots(figsize=(7.5, 3.5))
    plot_event_study(res.event, ax=ax, color="C0", label=t["event_matched"])
    if res.staggered is not None:
        ev = res.staggered.event
        lo, hi = res.event["event_time"].min(), res.event["event_time"].max()
        plot_event_study(ev[(ev["event_time"] >= lo) & (ev["event_time"] <= hi)], ax=ax, color="0.55", label=t["event_cs"])
    ax.set_xlabel("e" if ctx.lang == "en" else "e, мес.")
    ax.set_ylabel(ctx.currency)
    ctx.figure(fig, alt=t["event_alt"])


def _retention(ctx, t, res, horizon) -> None:
    if res.retention is None or res.decomposition is None:
        return
    fmt = ctx.fmt
    r = res.retention
    ctx.heading(t["retention_title"], level=3)
    dec = res.decomposition
    ctx.text(t["retention_text"].format(hr=fmt.num(r.hazard_ratio, 2), lo=fmt.num(r.ci_low, 2), hi=fmt.num(r.ci_high, 2),
                                        horizon=horizon, total=fmt.money(dec.loc["total", "ltv_uplift"])))
    ctx.metric("loyalty_churn_hr", float(r.hazard_ratio), kind="num", digits=2, headline=False)
    table = pd.DataFrame({t["col_part"]: [t["parts"][k] for k in dec.index],
                          t["col_ratio"]: dec["ratio"].to_numpy(float), t["col_ltv"]: dec["ltv_uplift"].to_numpy(float)})
    ctx.table(table, formats={t["col_ratio"]: "num", t["col_ltv"]: "money"}, digits={t["col_ratio"]: 3}, index=False)


def _economics(ctx, t, res, horizon) -> None:
    import matplotlib.pyplot as plt

    from cxlab.uplift import plot_roi_waterfall

    e = res.economics
    if e is None:
        return
    fmt = ctx.fmt
    tab = e.table
    roi = tab.loc["roi", "estimate"]
    ctx.heading(t["economics_title"], level=3)
    ctx.text(t["economics_text"].format(
        horizon=horizon, members=fmt.int(e.inputs["members"]), margin=fmt.money(tab.loc["incremental_margin", "estimate"]),
        cost=fmt.money(tab.loc["program_cost", "estimate"]), subsidy=fmt.money(tab.loc["subsidy_to_baseline", "estimate"]),
        net=fmt.money(tab.loc["net_value", "estimate"]), net_lo=fmt.money(tab.loc["net_value", "ci_low"]),
        net_hi=fmt.money(tab.loc["net_value", "ci_high"]), roi=fmt.pct(roi) if np.isfinite(roi) else "—",
        prob=fmt.pct(tab.loc["probability_net_positive", "estimate"]),
    ))
    ctx.metric("loyalty_net_value", float(tab.loc["net_value", "estimate"]), kind="money")
    ctx.metric("loyalty_roi", float(roi) if np.isfinite(roi) else None, kind="pct", headline=False)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    plot_roi_waterfall(e, labels=t["steps"], ax=ax, money=lambda x: ctx.fmt.compact_money(x))
    ax.set_ylabel(ctx.currency)
    ctx.figure(fig, alt=t["waterfall_alt"])


def _segments(ctx, t, res) -> None:
    seg = res.segments
    if seg is None or len(seg) == 0:
        return
    ctx.heading(t["segments_title"], level=3)
    table = pd.DataFrame({t["col_segment"]: [t["segment_names"][s] for s in seg["segment"]],
                          t["col_att"]: seg["att"].to_numpy(float), t["col_low"]: seg["ci_low"].to_numpy(float),
                          t["col_high"]: seg["ci_high"].to_numpy(float), t["col_relative"]: seg["relative"].to_numpy(float),
                          t["col_members"]: seg["n_treated"].to_numpy(int)})
    ctx.table(table, formats={t["col_att"]: "money", t["col_low"]: "money", t["col_high"]: "money",
                              t["col_relative"]: "pct", t["col_members"]: "int"}, caption=t["segments_caption"], index=False)


def _robustness(ctx, t, res) -> None:
    rob = res.robustness
    if rob is None or len(rob) == 0:
        return
    rob = rob[rob["outcome"] == "spend"]
    if rob.empty:
        return
    table = pd.DataFrame({t["col_check"]: [t["checks"][c] for c in rob["check"]], t["col_setting"]: rob["setting"].to_numpy(),
                          t["col_att"]: rob["att"].to_numpy(float), t["col_low"]: rob["ci_low"].to_numpy(float),
                          t["col_high"]: rob["ci_high"].to_numpy(float)})
    ctx.table(table, formats={t["col_att"]: "money", t["col_low"]: "money", t["col_high"]: "money"},
              caption=t["robust_caption"], index=False)
    placebo = rob[rob["check"] == "placebo"]
    if len(placebo) and (placebo["ci_low"].iloc[0] > 0 or placebo["ci_high"].iloc[0] < 0):
        r = placebo.iloc[0]
        ctx.caveat(t["placebo_warning"].format(placebo=ctx.fmt.money(r["att"]), lo=ctx.fmt.money(r["ci_low"]),
                                               hi=ctx.fmt.money(r["ci_high"])))
