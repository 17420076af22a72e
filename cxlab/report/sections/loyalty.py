"""Report section: loyalty programme uplift — naive vs causal, event study, ROI waterfall, caveats.

``build(ctx)`` runs :func:`cxlab.uplift.analyze_loyalty` on the client's data
(monthly panel and churn durations from :mod:`cxlab.data`) and renders:

* the naive member vs non-member gap next to the causal estimates (matching,
  IPW, doubly robust DiD), the naive one labelled as biased;
* the effect by months since joining (event study) with placebo pre-periods;
* the retention effect (hazard ratio) and the split of the LTV uplift;
* the programme economics as a waterfall (incremental margin → net value), ROI;
* effects by pre-join segment, robustness checks, and the assumptions in plain words.

Not available when the customers table has no ``loyalty_join_date`` or nobody
joined in the window. Margin, horizon, churn durations and the programme's cost
assumptions (``program_cost``, ``reward_rate``, ``breakage``) are the study's.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def unmet(study, texts) -> str | None:
    if study.customers is None or "loyalty_join_date" not in study.customers.columns:
        return texts["unmet_no_table"]
    if study.loyalty_join is None or study.loyalty_join.empty:
        return texts["unmet_no_members"]
    return None


def build(ctx) -> None:
    """Render the loyalty section."""
    from cxlab.uplift import analyze_loyalty

    study, t, fmt = ctx.study, ctx.texts, ctx.fmt
    horizon = study.horizon_months
    ctx.how_to_read("how_to_read")
    ctx.sample_note()
    durations = study.durations if study.churn.available else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # per-customer models: on the study's customer sample when there is one (the engine
            # lays out only the sample's panel), the economics scaled back to every member
            durations = study.model_durations if durations is not None else None
            res = analyze_loyalty(study.model_panel(), study.model_customers.reset_index(drop=True),
                                  durations=durations, durations_unit=study.duration_unit,
                                  margin_rate=study.margin_rate, costs=study.program_costs, horizon_months=horizon,
                                  sample_fraction=study.sample.fraction if study.sample is not None else 1.0)
    except ValueError as exc:
        ctx.text("not_estimable", reason=str(exc))
        return

    est = res.prepost.estimates
    spend = est[est["outcome"] == "spend"].set_index("method")
    dr, naive = spend.loc["dr"], spend.loc["naive"]
    baseline = dr["member_post_mean"] - dr["att"]
    ctx.text("intro", naive=fmt.money(naive["att"]), naive_ratio=fmt.pct(naive["att"] / naive["member_post_mean"]),
             att=fmt.money(dr["att"]), lo=fmt.money(dr["ci_low"]), hi=fmt.money(dr["ci_high"]),
             rel=fmt.pct(dr["att"] / baseline),
             selection_share=fmt.pct(max(0.0, 1 - dr["att"] / naive["att"])) if naive["att"] > 0 else "—")
    ctx.metric("loyalty_uplift_month", float(dr["att"]), ci=(dr["ci_low"], dr["ci_high"]))
    ctx.metric("loyalty_uplift_pct", float(dr["att"] / baseline), ci=(dr["ci_low"] / baseline, dr["ci_high"] / baseline))
    ctx.metric("loyalty_naive_gap_month", float(naive["att"]))

    comp = res.comparison("spend").reset_index()
    comp["method"] = [ctx.label("methods", m) for m in comp["method"]]
    comp = comp.rename(columns={"method": t["col_method"], "att": t["col_att"], "ci_low": t["col_low"],
                                "ci_high": t["col_high"], "n_treated": t["col_members"]})
    ctx.table(comp[[t["col_method"], t["col_att"], t["col_low"], t["col_high"], t["col_members"]]],
              formats={t["col_att"]: "money", t["col_low"]: "money", t["col_high"]: "money", t["col_members"]: "int"},
              caption=t["compare_caption"].format(post=res.prepost.design["post"]), index=False)

    _sensitivity(ctx, res)
    _event_plot(ctx, t, res)
    _retention(ctx, t, res, horizon)
    _economics(ctx, t, res, horizon)
    _segments(ctx, t, res)
    _robustness(ctx, t, res)
    ctx.caveat("caveat")


def _event_plot(ctx, t, res) -> None:
    import matplotlib.pyplot as plt

    from cxlab.uplift import plot_event_study

    ctx.heading("event_title")
    ctx.how_to_read("event_how")
    from cxlab.report.charts import legend_outside, money_axis, number_axis

    fig, ax = plt.subplots(figsize=(8, 3.6))
    plot_event_study(res.event, ax=ax, color="C0", label=t["event_matched"])
    if res.staggered is not None:
        ev = res.staggered.event
        lo, hi = res.event["event_time"].min(), res.event["event_time"].max()
        plot_event_study(ev[(ev["event_time"] >= lo) & (ev["event_time"] <= hi)], ax=ax, color="0.55", label=t["event_cs"])
    number_axis(ctx.fmt, ax, t["event_x"], which="x", integer=True)
    money_axis(ctx.fmt, ax, t["event_y"])
    legend_outside(ax, where="below")
    ctx.figure(fig, caption=t["event_caption"], name="event-study")


def _sensitivity(ctx, res) -> None:
    """How strong a hidden confounder would have to be to explain the headline effect away."""
    sens = res.sensitivity
    if sens is None or not np.isfinite(sens.rv):
        return
    fmt = ctx.fmt
    ctx.text("sensitivity_text", rv=fmt.pct(sens.rv), rva=fmt.pct(sens.rv_alpha), r2=fmt.pct(sens.partial_r2, 2))
    ctx.metric("loyalty_robustness_value", float(sens.rv))


def _retention(ctx, t, res, horizon) -> None:
    from cxlab.report.sections.ltv import membership_effects

    if res.retention is None or res.decomposition is None:
        return
    fmt = ctx.fmt
    r = res.retention
    ctx.heading("retention_title")
    dec = res.decomposition
    ctx.text("retention_text", hr=fmt.num(r.hazard_ratio, 2), lo=fmt.num(r.ci_low, 2), hi=fmt.num(r.ci_high, 2),
             horizon=horizon, total=fmt.money(dec.loc["total", "ltv_uplift"]))
    ctx.metric("loyalty_churn_hr", float(r.hazard_ratio), ci=(r.ci_low, r.ci_high))
    effects = membership_effects(ctx)  # the LTV section's estimate, computed once
    if effects is not None and not isinstance(effects, str) and effects.converged:
        stay = effects.table.loc["expected lifetime"]
        # a lifetime multiplier m means a dropout-rate multiplier 1/m: the hazard ratio without a churn threshold
        ctx.text("retention_btyd", hr=fmt.num(1 / stay["multiplier"], 2), lo=fmt.num(1 / stay["ci_upper"], 2),
                 hi=fmt.num(1 / stay["ci_lower"], 2))
    table = pd.DataFrame({t["col_part"]: [ctx.label("parts", k) for k in dec.index],
                          t["col_ratio"]: dec["ratio"].to_numpy(float), t["col_ltv"]: dec["ltv_uplift"].to_numpy(float)})
    ctx.table(table, formats={t["col_ratio"]: "num", t["col_ltv"]: "money"}, digits={t["col_ratio"]: 3}, index=False,
              caption=t["decomposition_caption"].format(horizon=horizon))
    residual, total = dec.loc["residual", "ltv_uplift"], dec.loc["total", "ltv_uplift"]
    if np.isfinite(residual) and abs(residual) > 0.5 * abs(total):
        ctx.caveat("decomposition_caveat", residual=fmt.money(residual), total=fmt.money(total))


def _economics(ctx, t, res, horizon) -> None:
    import matplotlib.pyplot as plt

    from cxlab.uplift import plot_roi_waterfall

    e = res.economics
    if e is None:
        return
    fmt = ctx.fmt
    tab = e.table
    roi = tab.loc["roi", "estimate"]
    ctx.heading("economics_title")
    ctx.text("economics_text",
        horizon=horizon, members=fmt.int(e.inputs["members"]), margin=fmt.money(tab.loc["incremental_margin", "estimate"]),
        cost=fmt.money(tab.loc["program_cost", "estimate"]), subsidy=fmt.money(tab.loc["subsidy_to_baseline", "estimate"]),
        net=fmt.money(tab.loc["net_value", "estimate"]), net_lo=fmt.money(tab.loc["net_value", "ci_low"]),
        net_hi=fmt.money(tab.loc["net_value", "ci_high"]), roi=fmt.pct(roi) if np.isfinite(roi) else "—",
        prob=fmt.pct(tab.loc["probability_net_positive", "estimate"]),
    )
    ctx.metric("loyalty_net_value", float(tab.loc["net_value", "estimate"]),
               ci=(tab.loc["net_value", "ci_low"], tab.loc["net_value", "ci_high"]))
    ctx.metric("loyalty_roi", float(roi) if np.isfinite(roi) else None)
    ctx.metric("loyalty_probability_net_positive", float(tab.loc["probability_net_positive", "estimate"]))
    from cxlab.report.charts import money_axis

    # steps that are zero (no launch cost, no breakage given) say nothing: the chart leaves them out
    wf = e.waterfall
    shown = wf[(wf["amount"].abs() > 0.5) | wf["step"].isin(["incremental_margin", "net_value"])].reset_index(drop=True)
    divisor, word = fmt.scale(float(np.abs(np.cumsum(shown["amount"].to_numpy(float)[:-1])).max(initial=0.0)))
    fig, ax = plt.subplots(figsize=(9, 4))
    plot_roi_waterfall(shown, labels=t["steps"], ax=ax,
                       money=lambda x: fmt.num(x / divisor, 2 if divisor >= 1e6 else 1 if divisor > 1 else 0))
    money_axis(fmt, ax, t["waterfall_y"])
    ax.margins(y=0.18)  # room for the labels above the bars, inside the frame
    ax.tick_params(axis="x", labelsize=9)
    for label in ax.get_xticklabels():
        label.set_rotation(0)
        label.set_horizontalalignment("center")
    _wrap_ticklabels(ax, 13)
    omitted = [ctx.label("steps", s) for s in wf["step"] if s not in set(shown["step"])]
    caption = ctx.plain("waterfall_caption", horizon=horizon, unit=fmt.money_unit(word))
    if omitted:
        caption += " " + ctx.plain("waterfall_omitted", steps=", ".join(omitted))
    ctx.figure(fig, caption=caption, name="programme-economics")


def _wrap_ticklabels(ax, width: int) -> None:
    """Break long category names on the x axis onto two lines."""
    import textwrap

    ax.set_xticks(ax.get_xticks(), ["\n".join(textwrap.wrap(lab.get_text(), width)) or lab.get_text()
                                    for lab in ax.get_xticklabels()])


def _setting(ctx, check: str, text: str) -> str:
    """A robustness check's setting in the reader's words (the analysis names it in English)."""
    import re

    months = [int(m) for m in re.findall(r"\d+", str(text))]
    if check == "placebo" and months:
        return ctx.plain("setting_placebo", months=months[0])
    if check == "window" and months:
        return ctx.plain("setting_window", months=months[0])
    return str(text)


def _segments(ctx, t, res) -> None:
    seg = res.segments
    if seg is None or len(seg) == 0:
        return
    ctx.heading("segments_title")
    table = pd.DataFrame({t["col_segment"]: [ctx.label("segment_names", s) for s in seg["segment"]],
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
    table = pd.DataFrame({t["col_check"]: [ctx.label("checks", c) for c in rob["check"]],
                          t["col_setting"]: [_setting(ctx, c, text) for c, text in zip(rob["check"], rob["setting"])],
                          t["col_att"]: rob["att"].to_numpy(float), t["col_low"]: rob["ci_low"].to_numpy(float),
                          t["col_high"]: rob["ci_high"].to_numpy(float)})
    ctx.table(table, formats={t["col_att"]: "money", t["col_low"]: "money", t["col_high"]: "money"},
              caption=t["robust_caption"], index=False)
    placebo = rob[rob["check"] == "placebo"]
    if len(placebo) and (placebo["ci_low"].iloc[0] > 0 or placebo["ci_high"].iloc[0] < 0):
        r = placebo.iloc[0]
        ctx.caveat("placebo_warning", placebo=ctx.fmt.money(r["att"]), lo=ctx.fmt.money(r["ci_low"]),
                   hi=ctx.fmt.money(r["ci_high"]))
