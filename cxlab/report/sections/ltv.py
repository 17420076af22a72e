"""Report section: customer lifetime value.

Observed value per acquired customer by cohort (:func:`cxlab.ltv.cohort_ltv`,
with payback when acquisition costs are known), predicted CLV from BG/NBD +
Gamma-Gamma (:mod:`cxlab.ltv`) by segment, the top-decile share, valuable
customers at risk, and a holdout check that shows how far to trust the model.
Horizon, discounting, margin and the calibration split are the study's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MIN_CUSTOMERS = 50
MIN_REPEAT_BUYERS = 20


def _size(summary: pd.DataFrame) -> tuple[int, int]:
    return len(summary), int((summary["frequency"] > 0).sum())


def unmet(study, texts) -> str | None:
    n, repeat = _size(study.customer_summary)
    if n < MIN_CUSTOMERS or repeat < MIN_REPEAT_BUYERS:
        return texts["unmet_small"].format(n=n, repeat=repeat)
    return None


def build(ctx) -> None:
    """Render cohort LTV, predicted CLV (segments, top decile, at-risk) and the holdout check."""
    _cohorts(ctx)
    _predicted(ctx)
    _members(ctx)
    _holdout(ctx)
    ctx.caveat("model_caveat")


def _cohorts(ctx) -> None:
    import matplotlib.pyplot as plt

    from cxlab.ltv import cohort_acquisition_cost, cohort_ltv, plot_cohort_ltv

    study, t, fmt = ctx.study, ctx.texts, ctx.fmt
    cust = study.customers
    cac = None
    if study.has("customers", "acquisition_cost"):
        cac = cohort_acquisition_cost(study.customer_summary, cust.reset_index(drop=True), period=study.period)
    res = cohort_ltv(study.cohorts(), margin_rate=study.margin_rate, cac=cac)
    if res.table.empty:
        return
    curve = res.average_curve()["ltv"]
    ctx.heading("cohort_title")
    ctx.how_to_read("cohort_how")
    if 11 in curve.index and 2 in curve.index:
        ctx.text("cohort_text", m3=fmt.money(curve.loc[2]), m12=fmt.money(curve.loc[11]))
        ctx.metric("ltv_12m_per_customer", float(curve.loc[11]))
    elif 2 in curve.index:
        ctx.text("cohort_text_short", m3=fmt.money(curve.loc[2]))
    from cxlab.report.charts import legend_outside, money_axis, number_axis

    recent = res.table[res.table["cohort"] >= res.table["cohort"].max() - pd.DateOffset(months=11)]
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    mean_cac = float(cac["cac"].mean()) if cac is not None else None
    plot_cohort_ltv(recent, cac=mean_cac, ax=ax)
    number_axis(fmt, ax, t["cohort_x"], which="x", integer=True)
    money_axis(fmt, ax, t["cohort_y"], values=recent["ltv"].to_numpy(float))

    cohorts = sorted(recent["cohort"].unique())
    # the plot labels cohorts by their first day (ISO); the legend names the month the reader's way
    names = {f"{c:%Y-%m-%d}": fmt.date(c, "month_short") for c in pd.DatetimeIndex(cohorts)}
    names["CAC"] = t["cac_label"]
    legend_outside(ax, names, where="right", title=t["cohort_legend"])
    caption = ctx.plain("cohort_caption", n=len(cohorts), first=fmt.date(cohorts[0], "month"),
                        last=fmt.date(cohorts[-1], "month"), margin=fmt.pct(study.margin_rate, 0))
    if mean_cac is not None:
        caption += " " + ctx.plain("cohort_caption_cac", cac=fmt.money(mean_cac))
    ctx.figure(fig, caption=caption, name="cohort-value")
    if res.payback is not None and mean_cac is not None and np.isfinite(mean_cac):
        pb = res.payback["payback_period"]
        paid = pb.notna().mean() >= 0.5
        when = ctx.tr("payback_month", m=int(pb.median()) + 1) if paid else ctx.tr("payback_never")
        months = int(min(12, curve.index.max() + 1))
        ratio = curve.loc[months - 1] / mean_cac if mean_cac > 0 else np.nan
        ctx.text("payback_text", cac=fmt.money(mean_cac), when=when, months=months, ratio=fmt.num(ratio, 2))
        if paid:
            ctx.metric("payback_month", int(pb.median()) + 1)


def _predicted(ctx) -> None:
    from cxlab.ltv import BGNBD, GammaGamma, customer_lifetime_value

    study, t, fmt = ctx.study, ctx.texts, ctx.fmt
    # fitted and predicted on the study's customer sample when there is one; totals scaled to every customer
    summary, sample = study.model_summary, study.sample
    bg = BGNBD().fit(summary)
    spend_ok = (summary.loc[summary["frequency"] > 0, "monetary_value"] > 0).all()
    gg = GammaGamma().fit(summary) if spend_ok else None
    if gg is not None and gg.params_["q"] <= 1:
        gg = None
    clv = customer_lifetime_value(bg, gg, summary, horizon_months=study.horizon_months,
                                  discount_rate=study.monthly_discount_rate, unit=study.unit,
                                  margin=study.margin_rate)
    top_n = max(1, int(round(0.1 * len(clv))))
    sample_total = float(clv["clv"].sum())
    top_share = float(clv["clv"].nlargest(top_n).sum() / sample_total) if sample_total > 0 else np.nan
    scale = 1.0 / sample.fraction if sample is not None else 1.0  # customers each model customer stands for
    total = sample_total * scale
    ctx.heading("predict_title")
    ctx.how_to_read("predict_how", h=study.horizon_months, rate=fmt.pct(study.discount_rate))
    ctx.sample_note()
    ctx.text("predict_text", total=fmt.money(total), h=study.horizon_months, mean=fmt.money(clv["clv"].mean()),
             top=fmt.pct(top_share))
    if sample is not None:
        mean, lo, hi = sample.mean_interval(clv["clv"])
        ctx.text("predict_sample", lo=fmt.money(lo * sample.population), hi=fmt.money(hi * sample.population),
                 mean_lo=fmt.money(lo), mean_hi=fmt.money(hi))
        ctx.metric("clv_per_customer", mean, ci=(lo, hi))
    else:
        ctx.metric("clv_per_customer", float(clv["clv"].mean()))
    if np.isfinite(top_share):
        ctx.metric("clv_top_decile_share", top_share)

    cust = study.customers
    if cust is not None and "segment" in cust.columns:
        frame = clv.assign(segment=clv.index.map(cust["segment"]).astype(object))
        frame = frame[frame["segment"].notna()]
        if frame["segment"].nunique() >= 2:
            g = frame.groupby("segment")
            table = pd.DataFrame({
                t["col_customers"]: (g.size() * scale).round().astype(np.int64),
                t["col_clv"]: g["clv"].mean(),
                t["col_total"]: g["clv"].sum() * scale,
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
    ctx.heading("risk_title")
    ctx.how_to_read("risk_how")
    n_at_risk = int(round(at_risk.sum() * scale))
    at_risk_value = float(value_if_alive[at_risk].sum()) * scale
    if sample is not None:
        _, lo, hi = sample.total_interval(at_risk.to_numpy(float))
        ctx.metric("customers_at_risk_valuable", n_at_risk, ci=(max(lo, 0.0), hi))
    else:
        ctx.metric("customers_at_risk_valuable", n_at_risk)
    if not at_risk.any():
        ctx.text("risk_none")
        return
    ctx.text("risk_text", n=fmt.int(n_at_risk), value=fmt.money(at_risk_value))
    if sample is not None:
        ctx.text("risk_sample", lo=fmt.int(max(lo, 0.0)), hi=fmt.int(hi), n=fmt.int(int(at_risk.sum())))
    ctx.metric("customers_at_risk_value", at_risk_value)
    # every customer at risk, most valuable first: the page shows the first 15, tables.xlsx all of them
    top = value_if_alive[at_risk].sort_values(ascending=False).index
    table = pd.DataFrame({
        t["col_id"]: top.astype(str),
        t["col_revenue"]: summary.loc[top, "revenue"].to_numpy(float),
        t["col_last"]: summary.loc[top, "last_purchase"].to_numpy(),
        t["col_p_alive"]: clv.loc[top, "p_alive"].to_numpy(float),
        t["col_value_if_alive"]: value_if_alive.loc[top].to_numpy(float),
    })
    ctx.table(table, formats={t["col_revenue"]: "money", t["col_last"]: "date", t["col_p_alive"]: "pct",
                              t["col_value_if_alive"]: "money"}, index=False, max_rows=15,
              caption=t["risk_caption"])
    if len(top) > 15:
        ctx.note("risk_more", n=fmt.int(len(top)))


def membership_effects(ctx):
    """Membership's multipliers of the purchase rate and of the lifetime (Pareto/NBD with membership as a
    time-varying covariate, :func:`cxlab.ltv.membership_effects`), once per report: the LTV and loyalty
    sections both show it. None when nobody joined; the reason when the model cannot estimate it."""
    from cxlab.ltv import membership_effects as estimate

    study = ctx.study

    def compute():
        if study.loyalty_join is None or study.loyalty_join.empty:
            return None
        try:
            # on the study's customer sample when there is one: its purchase days come from the engine
            return estimate(study.data.transactions, study.model_customers.reset_index(drop=True), unit=study.unit,
                            observation_end=study.window_end, summary=study.model_summary,
                            adjust_for=study.adjust_for or None, purchase_days=study.model_purchase_days())
        except ValueError as exc:  # e.g. no member in the purchase history
            return str(exc)

    return ctx.once("membership_effects", compute)


def _members(ctx) -> None:
    """Who buys more and stays longer: membership as a time-varying covariate of the purchase and dropout rates."""
    res = membership_effects(ctx)
    if res is None:
        return
    fmt, t = ctx.fmt, ctx.texts
    ctx.heading("members_title")
    if isinstance(res, str) or not res.converged:
        ctx.text("members_none", reason=res if isinstance(res, str) else res.message)
        return
    ctx.how_to_read("members_how")
    tab = res.table
    buy, stay = tab.loc["purchase rate"], tab.loc["expected lifetime"]
    ctx.text("members_text", buy=fmt.num(buy["multiplier"], 2), buy_lo=fmt.num(buy["ci_lower"], 2),
             buy_hi=fmt.num(buy["ci_upper"], 2), stay=fmt.num(stay["multiplier"], 2),
             stay_lo=fmt.num(stay["ci_lower"], 2), stay_hi=fmt.num(stay["ci_upper"], 2),
             members=fmt.int(res.n_members), customers=fmt.int(res.n_customers))
    ctx.metric("member_purchase_multiplier", float(buy["multiplier"]), ci=(buy["ci_lower"], buy["ci_upper"]))
    ctx.metric("member_lifetime_multiplier", float(stay["multiplier"]), ci=(stay["ci_lower"], stay["ci_upper"]))

    def p_text(p):
        return f"{fmt.num(p, 3)}" if p >= 0.001 else f"< {fmt.num(0.001, 3)}"

    table = pd.DataFrame({
        t["col_effect"]: [ctx.label("effects", "purchase rate"), ctx.label("effects", "expected lifetime")],
        t["col_multiplier"]: [buy["multiplier"], stay["multiplier"]],
        t["col_ci_low"]: [buy["ci_lower"], stay["ci_lower"]],
        t["col_ci_high"]: [buy["ci_upper"], stay["ci_upper"]],
        t["col_lr"]: [buy["lr_statistic"], stay["lr_statistic"]],
        t["col_p"]: [p_text(buy["p_value"]), p_text(stay["p_value"])],
    })
    ctx.table(table, formats={t["col_p"]: "text"}, digits={t["col_multiplier"]: 2, t["col_ci_low"]: 2,
                                                            t["col_ci_high"]: 2, t["col_lr"]: 1},
              caption=t["members_caption"], index=False)
    ctx.caveat("members_caveat", adjusted=ctx.tr("members_adjusted") if ctx.study.adjust_for else "")


def _holdout(ctx) -> None:
    import matplotlib.pyplot as plt

    from cxlab.ltv import BGNBD, holdout_validation, plot_cumulative_tracking, tracking_data

    study, t, fmt = ctx.study, ctx.texts, ctx.fmt
    split = study.calibration
    ctx.heading("holdout_title")
    if not split.available:
        ctx.text("holdout_none", reason=split.reason)
        return
    cal = split.calibration_end
    calib = study.model_calibration_summary  # the sample's customers, when there is a sample
    n, repeat = _size(calib)
    if n < MIN_CUSTOMERS or repeat < MIN_REPEAT_BUYERS:
        ctx.text("holdout_small", cal=fmt.date(cal), n=fmt.int(n), repeat=fmt.int(repeat))
        return
    model = BGNBD().fit(calib)
    h = holdout_validation(model, calib)
    ctx.how_to_read("holdout_how", cal=fmt.date(cal))
    err = h.total_error_pct / 100
    scale = _calibration_scale(study)
    ctx.text("holdout_text", weeks=int(round(split.holdout_weeks)), cal=fmt.date(cal),
             pred=fmt.int(round(h.total_predicted * scale)), act=fmt.int(round(h.total_actual * scale)),
             err=("+" if err > 0 else "") + fmt.pct(err), mae=fmt.num(h.mae, 2))
    ctx.text("trust_good" if abs(err) <= 0.10 else "trust_fair" if abs(err) <= 0.25 else "trust_poor")
    if np.isfinite(err):
        ctx.metric("clv_holdout_error", float(err))
    _holdout_plot(ctx, model, calib, cal, err)


def _calibration_scale(study) -> float:
    """Calibration customers each model customer stands for (1 without a sample): the holdout's totals and
    the tracking plot (the sample's predicted and actual purchases) are shown for the whole client."""
    if study.sample is None:
        return 1.0
    return study.calibration_customers / max(len(study.model_calibration_summary), 1)


def _holdout_plot(ctx, model, calib: pd.DataFrame, cal: pd.Timestamp, err: float) -> None:
    """Predicted and actual repeat purchases after the calibration end, cumulative week by week.

    The same quantities as the holdout text: every customer acquired by the calibration end,
    the model's prediction given each customer's history (not the curve of a new customer),
    counted from the day after the calibration end, so the last points are the text's totals.
    """
    import matplotlib.pyplot as plt

    from cxlab.ltv import tracking_data
    from cxlab.report.charts import count_axis, legend_outside, number_axis

    study, t, fmt = ctx.study, ctx.texts, ctx.fmt
    start = cal + pd.Timedelta(days=1)
    daily = study.model_cohorts("D")  # the model's customers (the sample's, when there is one)
    daily = daily[daily["cohort"] <= cal]
    track = tracking_data(model, calib, daily, calibration_end=cal, start=start)
    holdout_days = (study.window_end - cal).days
    track = track[track["week_start"] <= study.window_end]
    if track.empty:
        return
    # weeks end on the 7th day after the start; the last week may be cut by the window's end
    ends = np.minimum(track["week"].to_numpy(float) * 7.0, holdout_days) / 7.0
    scale = _calibration_scale(study)
    predicted = model.expected_purchases(ends, calib).sum(axis=1) * scale
    actual = track["actual"].to_numpy(float).cumsum() * scale
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.plot(ends, actual, color="black", lw=2, label="actual")
    ax.plot(ends, predicted, color="tab:blue", ls="--", lw=2, label="model")
    ax.set_xlim(0, max(ends.max(), 1))
    ax.set_ylim(bottom=0)
    number_axis(fmt, ax, t["holdout_x"], which="x", integer=True)
    count_axis(fmt, ax, t["holdout_y"])
    legend_outside(ax, {"actual": t["holdout_actual"], "model": t["holdout_model"]}, where="right")
    ctx.figure(fig, caption=ctx.plain("holdout_caption", cal=fmt.date(cal), pred=fmt.int(round(predicted[-1])),
                                      act=fmt.int(round(actual[-1]))), name="holdout-check")
