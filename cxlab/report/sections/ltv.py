"""Report section: customer lifetime value.

Observed value per acquired customer by cohort (:func:`cxlab.ltv.cohort_ltv`,
with payback when acquisition costs are known), predicted CLV from BG/NBD +
Gamma-Gamma (:mod:`cxlab.ltv`) by segment, the top-decile share, valuable
customers at risk, and a holdout check that shows how far to trust the model.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TEXTS = {
    "en": {
        "title": "Customer lifetime value",
        "cohort_title": "Value per acquired customer, by cohort",
        "cohort_how": (
            "Each line is one cohort (customers whose first purchase fell in that month): the cumulative "
            "{basis} it has brought per acquired customer, month by month since acquisition. Rising, parallel "
            "lines mean newer customers are worth as much as older ones; a flatter recent line is an early warning."
        ),
        "basis_revenue": "revenue", "basis_margin": "margin",
        "cohort_text": "An average customer brings **{m3}** in the first 3 months and **{m12}** in the first 12.",
        "cohort_text_short": "An average customer brings **{m3}** in the first 3 months.",
        "cohort_alt": "Cumulative value per acquired customer by cohort",
        "payback_text": (
            "With an average acquisition cost of **{cac}**, a customer pays back their acquisition "
            "{when}; value to cost after {months} months: **{ratio}**."
        ),
        "payback_month": "in month {m} after acquisition (median over cohorts)",
        "payback_never": "not yet within the observed period",
        "predict_title": "Predicted value of today's customers",
        "predict_how": (
            "For every customer a *buy-till-you-die* model (BG/NBD) estimates how often they buy and the "
            "chance that they are still active, from how many times and how recently they bought; a spend "
            "model (Gamma-Gamma) estimates what they spend per purchase. Together they give the expected "
            "{basis} over the next **{h} months**, discounted at **{rate}** a year."
        ),
        "predict_text": (
            "The customer base is expected to bring **{total}** over the next {h} months (**{mean}** per "
            "customer). The top 10% of customers account for **{top}** of it."
        ),
        "segment_caption": "Predicted value by segment",
        "col_segment": "Segment", "col_customers": "Customers", "col_clv": "Predicted value per customer",
        "col_total": "Total predicted value", "col_share": "Share of total", "col_alive": "Still active (mean)",
        "risk_title": "Valuable customers at risk",
        "risk_how": (
            "*Value if active* is what a customer would bring if still buying; customers in the top fifth by "
            "that value whose chance of still being active has fallen below 50% are worth a win-back contact now."
        ),
        "risk_text": "**{n}** valuable customers are at risk, with **{value}** of value if won back.",
        "risk_none": "No customer in the top fifth by value has a chance of being active below 50%.",
        "col_id": "Customer", "col_revenue": "Revenue to date", "col_p_alive": "Chance still active",
        "col_value_if_alive": "Value if active", "col_last": "Last purchase",
        "holdout_title": "How far to trust the prediction",
        "holdout_how": (
            "We fitted the same model on the data up to **{cal}** only and let it predict the purchases after "
            "that date, which we know. The lines compare predicted and actual cumulative repeat purchases; "
            "the dotted line is the end of the data the model saw."
        ),
        "holdout_text": (
            "Over the {weeks} weeks after {cal} the model predicted **{pred}** repeat purchases against "
            "**{act}** actual ({err}); per customer it is off by {mae} purchases on average."
        ),
        "trust_good": "The total is within 10%: the prediction can be used for budgeting.",
        "trust_fair": "The total is within 25%: use the prediction for ranking customers, not for exact budgets.",
        "trust_poor": "The total is off by more than 25%: treat the prediction with caution.",
        "holdout_alt": "Predicted and actual cumulative repeat purchases, calibration and holdout",
        "holdout_short": "Too little history for a holdout check (fewer than 8 weeks after calibration).",
        "model_caveat": (
            "The models assume customers buy at a steady personal rate until they silently leave; promotions, "
            "seasonality or a change in assortment are not in them. Predictions are for the customer base as "
            "it is today; new customers are not included."
        ),
        "metric_ltv_12m_per_customer": "Value per acquired customer in the first 12 months",
        "metric_clv_per_customer": "Predicted value per customer, next horizon",
        "metric_clv_top_decile_share": "Share of predicted value from the top 10% of customers",
        "metric_customers_at_risk_valuable": "Valuable customers at risk",
        "metric_clv_holdout_error": "Holdout error of predicted repeat purchases",
        "metric_payback_month": "Months to pay back acquisition cost",
    },
    "ru": {
        "title": "Пожизненная ценность клиента",
        "cohort_title": "Ценность привлечённого клиента по когортам",
        "cohort_how": (
            "Каждая линия — когорта (клиенты, впервые купившие в этом месяце): накопленная {basis} на одного "
            "привлечённого клиента по месяцам с момента привлечения. Растущие параллельные линии значат, что "
            "новые клиенты ценны не меньше прежних; более пологая линия у свежих когорт — ранний сигнал тревоги."
        ),
        "basis_revenue": "выручка", "basis_margin": "маржа",
        "cohort_text": "В среднем клиент приносит **{m3}** за первые 3 месяца и **{m12}** за первые 12.",
        "cohort_text_short": "В среднем клиент приносит **{m3}** за первые 3 месяца.",
        "cohort_alt": "Накопленная ценность привлечённого клиента по когортам",
        "payback_text": (
            "При средней стоимости привлечения **{cac}** клиент окупает её {when}; отношение ценности к "
            "стоимости привлечения через {months} мес.: **{ratio}**."
        ),
        "payback_month": "на {m}-й месяц после привлечения (медиана по когортам)",
        "payback_never": "пока не окупает в наблюдаемом периоде",
        "predict_title": "Прогноз ценности нынешних клиентов",
        "predict_how": (
            "Для каждого клиента модель «покупает, пока не уйдёт» (BG/NBD) оценивает, как часто он покупает "
            "и с какой вероятностью ещё остаётся клиентом, — по числу и давности его покупок; модель трат "
            "(гамма-гамма) оценивает средний чек. Вместе они дают ожидаемую {basis} за следующие **{h} мес.** "
            "с дисконтированием **{rate}** в год."
        ),
        "predict_text": (
            "Ожидается, что клиентская база принесёт **{total}** за следующие {h} мес. (**{mean}** на клиента). "
            "На 10% самых ценных клиентов приходится **{top}** этой суммы."
        ),
        "segment_caption": "Прогноз ценности по сегментам",
        "col_segment": "Сегмент", "col_customers": "Клиентов", "col_clv": "Прогноз ценности на клиента",
        "col_total": "Суммарная ценность", "col_share": "Доля в сумме", "col_alive": "Ещё активны (в среднем)",
        "risk_title": "Ценные клиенты под угрозой ухода",
        "risk_how": (
            "*Ценность при активности* — сколько клиент принёс бы, если он ещё покупает. Клиентам из верхней "
            "пятой части по этой ценности, у которых вероятность оставаться активными упала ниже 50%, стоит "
            "сделать предложение о возвращении уже сейчас."
        ),
        "risk_text": "Под угрозой **{n}** ценных клиентов; при возвращении они принесут **{value}**.",
        "risk_none": "Среди верхней пятой части клиентов по ценности нет никого с вероятностью активности ниже 50%.",
        "col_id": "Клиент", "col_revenue": "Выручка до сих пор", "col_p_alive": "Вероятность активности",
        "col_value_if_alive": "Ценность при активности", "col_last": "Последняя покупка",
        "holdout_title": "Насколько можно доверять прогнозу",
        "holdout_how": (
            "Мы обучили ту же модель только на данных до **{cal}** и попросили её предсказать покупки после "
            "этой даты, которые нам известны. Линии сравнивают предсказанное и фактическое накопленное число "
            "повторных покупок; пунктир — конец данных, которые видела модель."
        ),
        "holdout_text": (
            "За {weeks} нед. после {cal} модель предсказала **{pred}** повторных покупок при **{act}** "
            "фактических ({err}); по отдельному клиенту ошибка в среднем {mae} покупки."
        ),
        "trust_good": "Итог совпал с точностью до 10%: прогноз можно использовать для бюджета.",
        "trust_fair": (
            "Итог совпал с точностью до 25%: прогноз годится для ранжирования клиентов, но не для точного бюджета."
        ),
        "trust_poor": "Итог расходится больше чем на 25%: относитесь к прогнозу осторожно.",
        "holdout_alt": "Предсказанные и фактические накопленные повторные покупки: обучение и проверка",
        "holdout_short": "Слишком короткая история для проверки на отложенных данных (меньше 8 недель).",
        "model_caveat": (
            "Модели предполагают, что клиент покупает с постоянной личной частотой, пока незаметно не уйдёт; "
            "акции, сезонность и смена ассортимента в них не учтены. Прогноз относится к нынешней базе; новые "
            "клиенты в него не входят."
        ),
        "metric_ltv_12m_per_customer": "Ценность привлечённого клиента за первые 12 месяцев",
        "metric_clv_per_customer": "Прогноз ценности на клиента на горизонте",
        "metric_clv_top_decile_share": "Доля прогнозной ценности у 10% лучших клиентов",
        "metric_customers_at_risk_valuable": "Ценные клиенты под угрозой ухода",
        "metric_clv_holdout_error": "Ошибка прогноза повторных покупок на отложенных данных",
        "metric_payback_month": "Месяцев до окупаемости привлечения",
    },
}

_MIN_CUSTOMERS = 50
_MIN_REPEAT_BUYERS = 20


def build(ctx) -> None:
    """Render cohort LTV, predicted CLV (segments, top decile, at-risk) and the holdout check."""
    tx = getattr(ctx.data, "transactions", None)
    if tx is None or ctx.log_overview()["rows"] == 0:
        return
    from cxlab.data import customer_summary

    obs_end = ctx.params.get("observation_end")
    summary = ctx.cached(customer_summary, unit="W", observation_end=obs_end)
    if len(summary) < _MIN_CUSTOMERS:
        return
    t = TEXTS[ctx.lang]
    margin = _margin_rate(ctx)
    basis = t["basis_revenue"] if margin is None else t["basis_margin"]
    ctx.heading(t["title"])
    _cohorts(ctx, t, summary, margin, basis)
    _predicted(ctx, t, summary, margin, basis)
    _holdout(ctx, t, summary)
    ctx.caveat(t["model_caveat"])


def _margin_rate(ctx):
    m = ctx.params.get("margin_rate")
    try:
        m = float(m)
    except (TypeError, ValueError):
        return None
    return m if 0 < m <= 1 else None


def _cohorts(ctx, t, summary, margin, basis) -> None:
    import matplotlib.pyplot as plt

    from cxlab.data import cohort_counts
    from cxlab.ltv import cohort_acquisition_cost, cohort_ltv, plot_cohort_ltv

    cc = ctx.cached(cohort_counts, period="M", observation_end=ctx.params.get("observation_end"))
    cust = getattr(ctx.data, "customers", None)
    cac = None
    if cust is not None and "acquisition_cost" in cust.columns and cust["acquisition_cost"].notna().any():
        cac = cohort_acquisition_cost(summary, cust, period="M")
    res = cohort_ltv(cc, margin_rate=margin, cac=cac)
    if res.table.empty:
        return
    curve = res.average_curve()["ltv"]
    ctx.heading(t["cohort_title"], level=3)
    ctx.how_to_read(t["cohort_how"].format(basis=basis))
    if 11 in curve.index and 2 in curve.index:
        ctx.text(t["cohort_text"].format(m3=ctx.fmt.money(curve.loc[2]), m12=ctx.fmt.money(curve.loc[11])))
        ctx.metric("ltv_12m_per_customer", float(curve.loc[11]), kind="money")
    elif 2 in curve.index:
        ctx.text(t["cohort_text_short"].format(m3=ctx.fmt.money(curve.loc[2])))
    recent = res.table[res.table["cohort"] >= res.table["cohort"].max() - pd.DateOffset(months=11)]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    mean_cac = float(cac["cac"].mean()) if cac is not None else None
    plot_cohort_ltv(recent, cac=mean_cac, ax=ax)
    ctx.figure(fig, alt=t["cohort_alt"])
    if res.payback is not None and mean_cac is not None and np.isfinite(mean_cac):
        pb = res.payback["payback_period"]
        when = (t["payback_month"].format(m=int(pb.median()) + 1) if pb.notna().mean() >= 0.5
                else t["payback_never"])
        months = int(min(12, curve.index.max() + 1))
        ratio = curve.loc[months - 1] / mean_cac if mean_cac > 0 else np.nan
        ctx.text(t["payback_text"].format(cac=ctx.fmt.money(mean_cac), when=when, months=months,
                                          ratio=ctx.fmt.num(ratio, 2)))
        if pb.notna().mean() >= 0.5:
            ctx.metric("payback_month", int(pb.median()) + 1, kind="int")


def _predicted(ctx, t, summary, margin, basis) -> None:
    from cxlab.ltv import BGNBD, GammaGamma, customer_lifetime_value, monthly_rate

    if (summary["frequency"] > 0).sum() < _MIN_REPEAT_BUYERS:
        return
    horizon = int(ctx.params.get("horizon_months") or 12)
    annual = float(ctx.params.get("discount_rate") or 0.0)
    bg = BGNBD().fit(summary)
    spend_ok = (summary.loc[summary["frequency"] > 0, "monetary_value"] > 0).all()
    gg = GammaGamma().fit(summary) if spend_ok else None
    if gg is not None and gg.params_["q"] <= 1:
        gg = None
    clv = customer_lifetime_value(bg, gg, summary, horizon_months=horizon, discount_rate=monthly_rate(annual),
                                  unit="W", margin=1.0 if margin is None else margin)
    total = float(clv["clv"].sum())
    top_n = max(1, int(round(0.1 * len(clv))))
    top_share = float(clv["clv"].nlargest(top_n).sum() / total) if total > 0 else np.nan
    ctx.heading(t["predict_title"], level=3)
    ctx.how_to_read(t["predict_how"].format(basis=basis, h=horizon, rate=ctx.fmt.pct(annual)))
    ctx.text(t["predict_text"].format(total=ctx.fmt.money(total), h=horizon, mean=ctx.fmt.money(clv["clv"].mean()),
                                      top=ctx.fmt.pct(top_share)))
    ctx.metric("clv_per_customer", float(clv["clv"].mean()), kind="money")
    if np.isfinite(top_share):
        ctx.metric("clv_top_decile_share", top_share, kind="pct")

    cust = getattr(ctx.data, "customers", None)
    if cust is not None and "segment" in cust.columns:
        seg = cust.drop_duplicates("customer_id").set_index(cust["customer_id"].astype(str))["segment"]
        frame = clv.assign(segment=clv.index.map(seg).astype(object))
        frame = frame[frame["segment"].notna()]
        if frame["segment"].nunique() >= 2:
            g = frame.groupby("segment")
            table = pd.DataFrame({
                t["col_customers"]: g.size(),
                t["col_clv"]: g["clv"].mean(),
                t["col_total"]: g["clv"].sum(),
                t["col_share"]: g["clv"].sum() / frame["clv"].sum(),
                t["col_alive"]: g["p_alive"].mean(),
            }).sort_values(t["col_total"], ascending=False)
            table.index.name = t["col_segment"]
            ctx.table(table, formats={t["col_clv"]: "money", t["col_total"]: "money", t["col_share"]: "pct",
                                      t["col_alive"]: "pct"}, caption=t["segment_caption"])

    # value if still active: the CLV a customer would have with P(alive) = 1
    value_if_alive = clv["clv"] / clv["p_alive"].clip(lower=1e-6)
    valuable = value_if_alive >= value_if_alive.quantile(0.8)
    at_risk = valuable & (clv["p_alive"] < 0.5)
    ctx.heading(t["risk_title"], level=3)
    ctx.how_to_read(t["risk_how"])
    ctx.metric("customers_at_risk_valuable", int(at_risk.sum()), kind="int")
    if not at_risk.any():
        ctx.text(t["risk_none"])
        return
    ctx.text(t["risk_text"].format(n=ctx.fmt.int(int(at_risk.sum())),
                                   value=ctx.fmt.money(float(value_if_alive[at_risk].sum()))))
    top = value_if_alive[at_risk].nlargest(15).index
    table = pd.DataFrame({
        t["col_id"]: top.astype(str),
        t["col_revenue"]: summary.loc[top, "revenue"].to_numpy(float),
        t["col_last"]: summary.loc[top, "last_purchase"].to_numpy(),
        t["col_p_alive"]: clv.loc[top, "p_alive"].to_numpy(float),
        t["col_value_if_alive"]: value_if_alive.loc[top].to_numpy(float),
    })
    ctx.table(table, formats={t["col_revenue"]: "money", t["col_last"]: "date", t["col_p_alive"]: "pct",
                              t["col_value_if_alive"]: "money"}, index=False)


def _holdout(ctx, t, summary) -> None:
    import matplotlib.pyplot as plt

    from cxlab.data import cohort_counts, customer_summary
    from cxlab.ltv import BGNBD, holdout_validation, plot_cumulative_tracking, tracking_data

    first_day = pd.to_datetime(summary["first_purchase"]).min()
    end = ctx.params.get("observation_end")
    end = pd.Timestamp(end) if end is not None else pd.to_datetime(summary["last_purchase"]).max()
    cal = ctx.params.get("calibration_end")
    if cal is None:
        # hold out the last third of the history, at most a year
        span = (end - first_day).days
        cal = end - pd.Timedelta(days=int(min(365, span / 3)))
    cal = pd.Timestamp(cal).normalize()
    weeks = (end - cal).days / 7
    ctx.heading(t["holdout_title"], level=3)
    if weeks < 8:
        ctx.text(t["holdout_short"])
        return
    calib = ctx.cached(customer_summary, unit="W", calibration_end=cal, observation_end=end)
    if len(calib) < _MIN_CUSTOMERS or (calib["frequency"] > 0).sum() < _MIN_REPEAT_BUYERS:
        ctx.text(t["holdout_short"])
        return
    model = BGNBD().fit(calib)
    h = holdout_validation(model, calib)
    ctx.how_to_read(t["holdout_how"].format(cal=ctx.fmt.date(cal)))
    err = h.total_error_pct / 100
    ctx.text(t["holdout_text"].format(weeks=int(round(weeks)), cal=ctx.fmt.date(cal),
                                      pred=ctx.fmt.int(round(h.total_predicted)),
                                      act=ctx.fmt.int(round(h.total_actual)),
                                      err=("+" if err > 0 else "") + ctx.fmt.pct(err), mae=ctx.fmt.num(h.mae, 2)))
    ctx.text(t["trust_good"] if abs(err) <= 0.10 else t["trust_fair"] if abs(err) <= 0.25 else t["trust_poor"])
    if np.isfinite(err):
        ctx.metric("clv_holdout_error", float(err), kind="pct")
    daily = ctx.cached(cohort_counts, period="D", observation_end=end)
    daily = daily[pd.to_datetime(daily["cohort"]) <= cal]
    track = tracking_data(model, calib, daily, calibration_end=cal, start=first_day)
    fig, ax = plt.subplots(figsize=(8, 4))
    plot_cumulative_tracking(track, calibration_end=cal, ax=ax)
    ctx.figure(fig, alt=t["holdout_alt"])
