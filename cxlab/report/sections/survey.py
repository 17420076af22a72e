"""Report section: customer-experience survey metrics (NPS, CSAT, CES) and their link to behaviour.

``build(ctx)`` renders, when the client has a surveys table:

* the overall NPS with its confidence interval, and CSAT / CES where asked;
* the NPS trend by month or quarter, with the changes that are significant
  after the Benjamini-Hochberg adjustment;
* NPS by segment and by touchpoint (shares of promoters / passives /
  detractors and the significant differences);
* retention, churn hazard ratios, value per customer and the revenue at stake
  from detractors (:func:`cxlab.survey.nps_behaviour`).

Not available without a surveys table (or without answers in the window).
The answers, each customer's NPS group (first answer), the durations and
churn definition, the summary and the horizon are the study's.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cxlab import survey as sv

#: Periods (or groups) with fewer answers are left out of trends and comparisons.
MIN_ANSWERS = 30


def unmet(study, texts) -> str | None:
    if study.surveys is None:
        return texts["unmet_no_table"]
    if study.surveys.empty:
        return texts["unmet_no_answers"]
    return None


def build(ctx) -> None:
    """Render the survey section."""
    surveys = ctx.study.surveys
    ctx.how_to_read("how_to_read")
    _overall(ctx, surveys)
    _trend(ctx, surveys)
    for dimension in ("segment", "touchpoint"):
        _by_dimension(ctx, surveys, dimension)
    _behaviour(ctx, surveys)
    ctx.caveat("caveat")


# --------------------------------------------------------------------------- parts
def _overall(ctx, surveys: pd.DataFrame) -> None:
    fmt, t = ctx.fmt, ctx.texts
    overall = sv.survey_metrics(surveys)
    table = overall.table.set_index("metric")
    nps = table.loc["nps"]
    shares = overall.shares.iloc[0]
    ctx.text("intro", first=fmt.date(surveys["date"].min()), last=fmt.date(surveys["date"].max()),
             customers=fmt.int(surveys["customer_id"].nunique()), answers=fmt.int(len(surveys)),
             nps=fmt.num(nps["estimate"], 0), lo=fmt.num(nps["ci_low"], 0), hi=fmt.num(nps["ci_high"], 0),
             pro=fmt.pct(shares["promoter_share"]), pas=fmt.pct(shares["passive_share"]),
             det=fmt.pct(shares["detractor_share"]))
    ctx.metric("nps", float(nps["estimate"]), ci=(nps["ci_low"], nps["ci_high"]))
    ctx.metric("survey_answers", int(len(surveys)))
    for metric, name in (("csat_top2", "csat_top2_share"), ("ces_low_effort", "ces_low_effort_share")):
        if metric in table.index:
            row = table.loc[metric]
            ctx.metric(name, float(row["estimate"]) / 100, ci=(row["ci_low"] / 100, row["ci_high"] / 100))

    # Points and percentages with one decimal, means on a 1-5 / 1-7 scale with two.
    digits = [2 if m.endswith("_mean") else 1 for m in table.index]
    shown = pd.DataFrame({
        t["col_metric"]: [ctx.label("metric_names", m) for m in table.index],
        t["col_answers"]: table["n"].astype(int).to_numpy(),
        **{t[col]: [fmt.num(v, d) for v, d in zip(table[src], digits)]
           for col, src in (("col_estimate", "estimate"), ("col_low", "ci_low"), ("col_high", "ci_high"))},
    })
    ctx.table(shown, caption=t["overall_caption"], formats={t[c]: "text" for c in ("col_estimate", "col_low", "col_high")})


def _period_alias(surveys: pd.DataFrame) -> str:
    span_days = (surveys["date"].max() - surveys["date"].min()).days
    return "Q" if span_days > 270 else "M"


def _period_label(ctx, ts: pd.Timestamp, period: str) -> str:
    return ctx.fmt.date(ts, style="quarter" if period == "Q" else "month")


def _trend(ctx, surveys: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    fmt, t = ctx.fmt, ctx.texts
    period = _period_alias(surveys)
    pname = ctx.label("period_names", period)
    ctx.heading("trend_title")
    metrics = sv.survey_metrics(surveys, period=period, metrics=["nps"])
    table = metrics.table[metrics.table["n"] >= MIN_ANSWERS].copy()
    if len(table) < 2:
        ctx.text("too_few_periods", period=pname, min_n=MIN_ANSWERS)
        return
    ctx.how_to_read("trend_how", period=pname, min_n=MIN_ANSWERS)
    from cxlab.report.charts import number_axis

    # positions in time order, labelled in the reader's words afterwards (labels sort as text, not as time)
    table = table.sort_values("period").reset_index(drop=True)
    periods = list(table["period"])
    table["position"] = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    sv.plot_nps_trend(table, x="position", ax=ax)
    ax.set_xticks(range(len(periods)), [_period_label(ctx, p, period) for p in periods],
                  rotation=45 if len(periods) > 6 else 0, ha="right" if len(periods) > 6 else "center")
    ax.set_xlabel(pname)
    number_axis(fmt, ax, t["trend_y"])
    ctx.figure(fig, caption=ctx.plain("trend_caption", period=pname, min_n=MIN_ANSWERS), name="nps-trend")

    changes = sv.period_changes(surveys, period=period, min_n=MIN_ANSWERS).table
    sig = changes[changes["significant"]]
    if sig.empty:
        ctx.text("changes_none", period=pname)
        return
    ctx.text("changes_some", period=pname)
    shown = pd.DataFrame({
        t["col_metric"]: [ctx.label("metric_names", m) for m in sig["metric"]],
        t["col_from"]: [_period_label(ctx, p, period) for p in sig["baseline"]],
        t["col_to"]: [_period_label(ctx, p, period) for p in sig["compared"]],
        t["col_before"]: sig["estimate_a"].to_numpy(float),
        t["col_after"]: sig["estimate_b"].to_numpy(float),
        t["col_change"]: sig["difference"].to_numpy(float),
        t["col_p"]: [fmt.num(p, 3) if p >= 0.001 else "< " + fmt.num(0.001, 3) for p in sig["p_adjusted"]],
    })
    ctx.table(shown, caption=t["changes_caption"].format(period=pname),
              digits={t["col_before"]: 1, t["col_after"]: 1, t["col_change"]: 1})


def _by_dimension(ctx, surveys: pd.DataFrame, dimension: str) -> None:
    import matplotlib.pyplot as plt

    fmt, t = ctx.fmt, ctx.texts
    customers = ctx.study.customers
    if dimension in surveys.columns:
        source = surveys
    elif customers is not None and dimension in customers.columns:
        source = surveys.assign(**{dimension: surveys["customer_id"].map(customers[dimension])})
    else:
        return
    # the client's categories in the reader's words: bars, tables and comparisons all show these
    words = {v: ctx.category(v) for v in source[dimension].dropna().unique()}  # once a category, not once a row
    source = source.assign(**{dimension: source[dimension].map(words)})
    levels = source[dimension].dropna()
    if levels.nunique() < 2:
        return
    counts = levels.astype(str).value_counts()
    keep = counts[counts >= MIN_ANSWERS].index
    if len(keep) < 2:
        return
    data = source[source[dimension].astype(str).isin(keep)]
    dim_name = ctx.label("dimension_names", dimension)
    reference = str(counts.index[0])
    ctx.heading("by_title", dimension=dim_name)
    ctx.how_to_read("by_how", reference=reference)

    metrics = sv.survey_metrics(data, by=dimension)
    n_levels = len(metrics.shares)
    fig, ax = plt.subplots(figsize=(8, 0.5 * n_levels + 1.6))
    # barh draws the first row at the bottom: ascending n puts the largest group on top
    sv.plot_nps_shares(metrics.shares.sort_values("n"), y=dimension, ax=ax)
    from cxlab.report.charts import legend_outside, pct_axis

    ax.set_ylabel("")
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    pct_axis(fmt, ax, t["share_axis"], which="x")
    for text in ax.texts:  # shares inside the bars and the NPS beside them, in the report's number style
        raw = text.get_text()
        if raw.startswith("NPS "):
            value = float(raw[4:].replace("+", ""))
            text.set_text(f"NPS {'+' if value > 0 else ''}{fmt.num(value, 0)}")
        elif raw.endswith("%"):
            text.set_text(fmt.pct(float(raw.rstrip("%")) / 100, 0))
    names = {g + "s": ctx.label("groups", g) for g in sv.NPS_GROUPS}
    legend_outside(ax, names, where="above", ncol=3)
    ctx.figure(fig, caption=ctx.plain("by_caption_fig", dimension=dim_name), name=f"nps-by-{dimension}")

    diffs = sv.group_differences(data, by=dimension, reference=reference, min_n=MIN_ANSWERS).table
    nps = metrics.table[metrics.table["metric"] == "nps"].set_index(dimension)
    nps_diff = diffs[diffs["metric"] == "nps"].set_index("compared")
    diff_col = t["col_diff"].format(reference=reference)
    shown = pd.DataFrame({
        t["col_group"]: nps.index.astype(str),
        t["col_answers"]: nps["n"].astype(int).to_numpy(),
        t["col_nps"]: nps["estimate"].to_numpy(float),
        t["col_low"]: nps["ci_low"].to_numpy(float),
        t["col_high"]: nps["ci_high"].to_numpy(float),
        diff_col: [nps_diff.loc[g, "difference"] if g in nps_diff.index else np.nan for g in nps.index],
    }).sort_values(t["col_answers"], ascending=False)
    ctx.table(shown, caption=t["by_caption"].format(dimension=dim_name), digits={c: 1 for c in shown.columns[2:]})
    sig = diffs[diffs["significant"]]
    if sig.empty:
        ctx.text("by_none", dimension=dim_name, reference=reference)
    else:
        items = "; ".join(
            f"{row.compared} ({ctx.label('metric_names', row.metric)}: "
            f"{'+' if row.difference > 0 else ''}{fmt.num(row.difference, 1)})"
            for row in sig.itertuples())
        ctx.text("by_some", reference=reference, items=items)


def _behaviour(ctx, surveys: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    study, fmt, t = ctx.study, ctx.fmt, ctx.texts
    ctx.heading("behaviour_title")
    if not study.churn.available:
        ctx.text("behaviour_unavailable", reason=study.churn.reason)
        return
    horizon_text = ctx.tr("horizon", months=study.horizon_months)
    adjust = study.adjust_for or None
    try:
        res = study.nps_behaviour  # one estimate for this section and the CX-drivers section
    except ValueError as exc:  # e.g. no surveyed customer in the purchase history
        ctx.text("behaviour_unavailable", reason=str(exc))
        return
    ctx.how_to_read("behaviour_how", horizon=horizon_text)
    ctx.sample_note()
    churn_rule = (ctx.tr("behaviour_contract") if study.churn.kind == "contractual"
                  else ctx.tr("behaviour_transactions", days=fmt.int(study.churn.threshold_days)))
    ctx.text("behaviour_intro", rule=churn_rule, followed=ctx.tr(
        "followed", analysed=fmt.int(len(res.groups)), surveyed=fmt.int(surveys["customer_id"].nunique())))

    from cxlab.report.charts import count_axis, legend_outside, pct_axis

    fig, ax = plt.subplots(figsize=(8, 4))
    sv.plot_survival_by_group(res, ax=ax)
    names = {g + "s": ctx.label("groups", g) for g in sv.NPS_GROUPS}
    legend_outside(ax, names, where="right")
    count_axis(fmt, ax, t["km_x"], which="x")
    pct_axis(fmt, ax, t["km_y"])
    ctx.figure(fig, caption=ctx.plain("km_caption", horizon=horizon_text, days=_days(ctx)),
               name="survival-by-nps-group")

    ret = res.retention.set_index("nps_group")
    hr = res.hazard_ratios.set_index("nps_group")
    value = res.value.set_index("nps_group") if res.value is not None else None
    churn_col = t["col_churn"].format(horizon=horizon_text)
    value_col = t["col_value"].format(horizon=horizon_text)
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
        rows.append({
            t["col_group"]: ctx.label("groups", g),
            t["col_customers"]: int(ret.loc[g, "customers"]),
            churn_col: fmt.pct(ret.loc[g, "churn_probability"]),
            t["col_hr"]: fmt.num(hr_v, 2),
            t["col_hr_ci"]: hr_ci,
            t["col_rev_year"]: value.loc[g, "revenue_per_customer_year"] if value is not None else math.nan,
            value_col: value.loc[g, "value_over_horizon"] if value is not None else math.nan,
        })
    ctx.table(pd.DataFrame(rows), formats={t["col_rev_year"]: "money", value_col: "money"},
              caption=t["behaviour_caption"])

    if "detractor" in hr.index:
        d = hr.loc["detractor"]
        parts = [ctx.tr("hr_text", hr=fmt.num(d["hazard_ratio"], 2), lo=fmt.num(d["ci_low"], 2),
                        hi=fmt.num(d["ci_high"], 2), horizon=horizon_text,
                        det_churn=fmt.pct(ret.loc["detractor", "churn_probability"]),
                        pro_churn=fmt.pct(ret.loc["promoter", "churn_probability"]))]
        if adjust:
            parts.append(ctx.tr("hr_adjusted"))
        ctx.text(ctx.join(*parts))
        ctx.metric("detractor_churn_hazard_ratio", float(d["hazard_ratio"]), ci=(d["ci_low"], d["ci_high"]))
    rs = res.revenue_at_stake
    if rs is not None and np.isfinite(rs["revenue_at_stake"]):
        # a sample's totals stand for the whole client: scaled by customers per sampled customer (the
        # interval then carries the model's uncertainty; the sample's own variation of the detractors'
        # revenue is not in it)
        scale = 1.0 / study.sample.fraction if study.sample is not None else 1.0
        ctx.text("at_stake_text", value=fmt.money(rs["revenue_at_stake"] * scale), lo=fmt.money(rs["ci_low"] * scale),
                 hi=fmt.money(rs["ci_high"] * scale), n=fmt.int(round(rs["active_detractors"] * scale)),
                 annual=fmt.money(rs["annual_revenue_active_detractors"] * scale), horizon=horizon_text,
                 excess=fmt.pp(rs["excess_churn_probability"]))
        ctx.metric("detractor_revenue_at_stake", float(rs["revenue_at_stake"]) * scale,
                   ci=(rs["ci_low"] * scale, rs["ci_high"] * scale))
    ctx.caveat("behaviour_caveat")


def _days(ctx) -> str:
    """The study's no-purchase threshold in days, as text ("—" for contractual churn)."""
    days = ctx.study.churn.threshold_days
    return "—" if days is None else ctx.fmt.int(days)
