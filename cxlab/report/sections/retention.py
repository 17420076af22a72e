"""Report section: retention and churn.

Cohort retention (:mod:`cxlab.retention`), the study's churn definition and the
evidence behind it (:mod:`cxlab.churn`), lifetime curves (Kaplan-Meier) and what
is associated with staying (Cox, membership as a time-varying covariate) from
:mod:`cxlab.survival`. Every duration and churn flag is the study's own
(:attr:`cxlab.study.Study.durations`); nothing is re-decided here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def unmet(study, texts) -> str | None:
    if not study.churn.available:
        return texts["unmet_churn"].format(reason=study.churn.reason)
    return None


def build(ctx) -> None:
    """Render cohort retention, the churn definition, lifetime curves and hazard ratios."""
    _cohorts(ctx)
    _churn(ctx)
    _lifetime(ctx)
    _drivers(ctx)


# --------------------------------------------------------------------------- cohorts
def _cohorts(ctx) -> None:
    import matplotlib.pyplot as plt

    from cxlab.retention import cohort_retention, plot_retention_curves, plot_retention_heatmap, retention_matrix

    t, fmt = ctx.texts, ctx.fmt
    res = cohort_retention(ctx.study.cohorts())
    avg = res.average.set_index("period")
    ctx.heading("cohorts_title")
    ctx.how_to_read("cohorts_how")
    if 1 in avg.index:
        m3 = fmt.pct(avg.loc[3, "rate"]) if 3 in avg.index else "—"
        ctx.text("retention_text", m1=fmt.pct(avg.loc[1, "rate"]), m3=m3)
        ctx.metric("retention_month_1", float(avg.loc[1, "rate"]), ci=(avg.loc[1, "ci_low"], avg.loc[1, "ci_high"]))
    later = res.table.loc[res.table["period"] > 0]
    matrix = retention_matrix(later, value="rate", complete_only=True)
    if matrix.empty:
        return
    cohorts = list(matrix.index)
    n_rows, n_cols = matrix.shape
    annotate = n_rows <= 24 and n_cols <= 24
    top = float(np.nanmax(matrix.to_numpy(dtype=float)))
    vmax = min(1.0, max(0.05, np.ceil(top * 20) / 20))  # the colour scale ends just above the highest rate
    fig, ax = plt.subplots(figsize=(10, min(2.2 + 0.24 * n_rows, 11)))
    # every tick labelled (they are thinned below): seaborn's "auto" would draw the figure once to measure them
    plot_retention_heatmap(data=later, ax=ax, annot=annotate, vmin=0.0, vmax=vmax, xticklabels=True,
                           yticklabels=True, cbar_kws={"label": t["heatmap_cbar"]})
    _localise_heatmap(ctx, ax, cohorts)
    if annotate:
        for text in ax.texts:
            raw = text.get_text().strip().rstrip("%")
            if raw:
                text.set_text(fmt.num(float(raw), 0))
    ctx.figure(fig, caption=ctx.plain("heatmap_caption", n=fmt.int(n_rows), first=fmt.date(cohorts[0], "month"),
                                      last=fmt.date(cohorts[-1], "month"), top=fmt.pct(top, 0),
                                      cells=ctx.tr("heatmap_cells") if annotate else ""), name="retention-heatmap")
    ctx.export_table(_matrix_frame(ctx, matrix), caption=t["matrix_caption"])

    fig, ax = plt.subplots(figsize=(8, 4.5))
    plot_retention_curves(data=later, ax=ax, max_cohorts=12)
    from cxlab.report.charts import legend_outside, number_axis, pct_axis

    number_axis(fmt, ax, t["months_axis"], which="x", integer=True)
    pct_axis(fmt, ax, t["curves_y"])
    ax.set_ylim(bottom=0)
    legend_outside(ax, {"weighted average": t["weighted_average"]}, where="right")
    ctx.figure(fig, caption=t["curves_caption"], name="retention-curves")
    ctx.caveat("cohorts_caveat")


def _localise_heatmap(ctx, ax, cohorts) -> None:
    """Cohorts as "янв 2025" / "Jan 2025", axes and colour bar in the report's words."""
    from matplotlib.ticker import FuncFormatter

    t, fmt = ctx.texts, ctx.fmt
    ticks = ax.get_yticks()
    step = max(1, int(np.ceil(len(cohorts) / 36)))
    keep = [(pos, cohorts[int(pos)]) for pos in ticks if int(pos) < len(cohorts)][::step]
    ax.set_yticks([p for p, _ in keep], [fmt.date(c, "month_short") for _, c in keep], rotation=0)
    ax.set_ylabel(t["heatmap_y"])
    ax.set_xlabel(t["months_axis"])
    xticks = ax.get_xticks()
    xlabels = [lab.get_text() for lab in ax.get_xticklabels()]
    every = 1 if len(xticks) <= 18 else 3
    ax.set_xticks(xticks[::every], xlabels[::every], rotation=0)
    ax.grid(False)
    colorbar = ax.collections[0].colorbar if ax.collections else None
    if colorbar is not None:
        colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.pct(v, 0)))


def _matrix_frame(ctx, matrix: pd.DataFrame) -> pd.DataFrame:
    """The retention matrix as a table for Excel: a row per cohort, a column per month after the first."""
    frame = pd.DataFrame(matrix.to_numpy(dtype=float), columns=[str(int(c)) for c in matrix.columns])
    frame.insert(0, ctx.texts["heatmap_y"], [ctx.fmt.date(c, "month") for c in matrix.index])
    return frame


# --------------------------------------------------------------------------- churn definition
def _churn(ctx) -> None:
    study, fmt, t = ctx.study, ctx.fmt, ctx.texts
    churn, durations = study.churn, study.durations
    ctx.heading("threshold_title")
    churned = float(durations["event"].mean())
    ctx.metric("churned_share", churned)
    if churn.kind == "contractual":
        ctx.text("contract_text", churned=fmt.pct(churned))
        return
    choice = churn.choice
    values = dict(days=fmt.int(churn.threshold_days), flagged=fmt.pct(churned))
    if choice is not None:
        values.update(quantile=fmt.pct(choice.quantile, 0), plateau=fmt.pct(choice.plateau, 0))
    ctx.text(f"threshold_{churn.source}", **values)
    ctx.metric("churn_after_days", float(churn.threshold_days))
    if churn.source == "parameter" and choice is not None and round(choice.threshold) != round(churn.threshold_days):
        ctx.text("threshold_data_choice", days=fmt.int(choice.threshold))
    ctx.how_to_read("threshold_how")
    rec = study.gap_analysis.recommended
    # one reading on every row: the one that chose (or, for a given threshold, would choose) the study's rule
    rule = choice.rule if choice is not None else "km_quantile"
    threshold = rec[f"threshold_{rule}"]
    table = pd.DataFrame({
        t["col_quantile"]: rec["quantile"].to_numpy(float),
        t["col_threshold"]: [fmt.int(x) if np.isfinite(x) else t["not_reached"] for x in threshold],
        t["col_false"]: rec[f"false_churn_rate_{rule}"].to_numpy(float),
        t["col_flagged"]: rec[f"share_flagged_{rule}"].to_numpy(float),
    })
    ctx.table(table, formats={t["col_quantile"]: "pct", t["col_threshold"]: "text", t["col_false"]: "pct",
                              t["col_flagged"]: "pct"},
              caption=t["threshold_caption"].format(rule=ctx.label("rules", rule)))


# --------------------------------------------------------------------------- lifetime curves
def _lifetime(ctx) -> None:
    import matplotlib.pyplot as plt

    from cxlab.survival import kaplan_meier, plot_survival

    study, fmt, t = ctx.study, ctx.fmt, ctx.texts
    frame = study.durations[["duration", "event"]]
    contractual = study.churn.kind == "contractual"
    ctx.heading("km_title")
    ctx.how_to_read("km_how")
    if not contractual:
        # A one-time buyer's lifetime is the day of the first purchase itself (0 days): as half of a
        # retailer's customers, they would make the median lifetime "0 days". They are counted on
        # their own, and the curves follow the customers who came back.
        summary = study.customer_summary
        repeat = summary.index[summary["frequency"] > 0]
        settled = summary["first_purchase"] < study.window_end - pd.Timedelta(days=study.churn.threshold_days)
        one_time = float((summary.loc[settled, "frequency"] == 0).mean()) if settled.any() else np.nan
        if np.isfinite(one_time):
            ctx.text("one_time_text", share=fmt.pct(one_time), days=fmt.int(study.churn.threshold_days))
            ctx.metric("one_time_buyer_share", one_time)
        ctx.how_to_read("km_repeat_how")
        if frame.index.equals(summary.index):  # durations from the summary: same customers, same order
            frame = frame[summary["frequency"].to_numpy() > 0]
        else:
            frame = frame.loc[frame.index.intersection(repeat)]
    frame = frame.copy()
    group_col = None
    cust = study.customers
    if cust is not None and "acquisition_channel" in cust.columns:
        # the channels in the reader's words: legend, at-risk rows and table all show these
        frame["group"] = frame.index.map(cust["acquisition_channel"]).astype(object)
        if frame["group"].notna().all() and frame["group"].nunique() >= 2:
            group_col = "group"
            words = {g: ctx.category(g) for g in frame["group"].unique()}  # once a channel, not once a customer
            frame["group"] = frame["group"].map(words)
    overall = kaplan_meier(frame, unit="days")
    # the report shows the overall log-rank test only, so the pairwise tests are skipped
    res = kaplan_meier(frame, group_col=group_col, unit="days", pairwise=False) if group_col else overall
    median = overall.table.loc["all", "median"]
    if np.isfinite(median):
        ctx.text("km_text_contract" if contractual else "km_text", median=fmt.int(round(median)))
        ctx.metric("median_lifetime_days" if contractual else "median_lifetime_days_repeat", float(median))
    else:
        ctx.text("km_text_no_median")
    from cxlab.report.charts import legend_outside, number_axis, pct_axis

    fig, ax = plt.subplots(figsize=(8, 5))
    plot_survival(data=res, ax=ax, ci=True, at_risk_label=t["at_risk"])
    # the at-risk rows sit under the axis' own ticks: keep them, write them the report's way
    number_axis(fmt, ax, t["km_x"], which="x")
    pct_axis(fmt, ax, t["km_y"])
    legend_outside(ax, {"all": ctx.category("all")}, where="right", title=t["km_legend"] if group_col else None)
    fig.tight_layout()
    ctx.figure(fig, caption=ctx.plain("km_caption_contract" if contractual else "km_caption",
                                      days=_days(ctx)), name="lifetime-curves")
    tab = res.table.reset_index()
    if "all" in set(tab["group"]):
        tab["group"] = tab["group"].map(lambda g: ctx.category(g) if g == "all" else g)
    rmst_col = t["col_rmst"].format(tau=fmt.int(res.tau))
    ctx.table(pd.DataFrame({
        t["col_group"]: tab["group"], t["col_n"]: tab["n"].astype(int), t["col_events"]: tab["events"].astype(int),
        t["col_median"]: tab["median"], rmst_col: tab["rmst"],
    }), digits={t["col_median"]: 0, rmst_col: 0}, caption=t["km_table_caption"])
    ctx.text("km_rmst_note", tau=fmt.int(res.tau))
    if res.logrank is not None:
        p = res.logrank["p_value"]
        p_text = f"= {fmt.num(p, 3)}" if p >= 0.001 else f"< {fmt.num(0.001, 3)}"
        ctx.text("km_logrank", what=ctx.tr("km_groups"), sig=ctx.tr("km_sig" if p < 0.05 else "km_not_sig"),
                 p=p_text)


# --------------------------------------------------------------------------- drivers (Cox)
def _drivers(ctx) -> None:
    import matplotlib.pyplot as plt

    from cxlab.survival import fit_cox, fit_time_varying_cox, hazard_ratio_sentences, plot_hazard_ratios

    study, t = ctx.study, ctx.texts
    if study.customers is None:
        return
    # a per-customer model: on the study's customer sample when there is one (its note says so)
    durations = study.model_durations
    cust = study.model_customers.reset_index(drop=True)
    cust = cust[cust["customer_id"].isin(durations.index)].copy()
    covariates, reference = [], {}
    if "acquisition_channel" in cust.columns and cust["acquisition_channel"].notna().all() \
            and cust["acquisition_channel"].nunique() >= 2:
        cust["acquisition_channel"] = cust["acquisition_channel"].astype(str).map(ctx.category)
        covariates.append("acquisition_channel")
    if study.nps_groups is not None:
        # the study's NPS group of a customer (their first answer); customers never surveyed get their own level
        first = study.nps_groups["nps_group"].astype(object).map(lambda g: ctx.label("nps_groups", g))
        cust["nps_group"] = cust["customer_id"].map(first).fillna(t["not_surveyed"]).to_numpy()
        if cust["nps_group"].nunique() >= 2:
            covariates.append("nps_group")
            if (cust["nps_group"] == t["not_surveyed"]).any():
                reference["nps_group"] = t["not_surveyed"]
    has_loyalty = study.loyalty_join is not None and len(study.loyalty_join) > 0
    if not covariates and not has_loyalty:
        return
    if has_loyalty:
        res = fit_time_varying_cox(durations, cust, covariates=covariates, reference=reference, unit="D")
        ctx.metric("churn_hazard_ratio_loyalty_member", res.hazard_ratio, ci=(res.ci_low, res.ci_high))
    else:
        frame = durations[["duration", "event"]].join(cust.set_index("customer_id")[covariates])
        res = fit_cox(frame, covariates=covariates, reference=reference, check_ph=False)
    labels = {}
    for term in res.hazard_ratios.index:
        base, _, level = str(term).partition("[")
        name = ctx.label("labels", base)
        labels[term] = f"{name}: {level.rstrip(']')}" if level else name
    ctx.heading("cox_title")
    ctx.how_to_read("cox_how")
    ctx.sample_note()
    sentences = hazard_ratio_sentences(res.hazard_ratios, res.references, alpha=res.alpha, lang=ctx.lang,
                                       fmt_pct=lambda x: ctx.fmt.pct(x, 0), fmt_num=lambda x: ctx.fmt.num(x, 2),
                                       labels=labels)
    ctx.bullets(sentences)
    from cxlab.report.charts import log_ratio_axis

    hr = res.hazard_ratios.rename(index=labels)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(hr) + 1.5))
    plot_hazard_ratios(data=hr, ax=ax)
    log_ratio_axis(ctx.fmt, ax, t["hr_x"], values=np.r_[hr["hr_ci_low"].to_numpy(float), hr["hr_ci_high"].to_numpy(float)])
    fig.tight_layout()
    ctx.figure(fig, caption=t["hr_caption"], name="hazard-ratios")
    ctx.caveat("cox_caveat")


def _days(ctx) -> str:
    """The study's no-purchase threshold in days, as text ("—" for contractual churn)."""
    days = ctx.study.churn.threshold_days
    return "—" if days is None else ctx.fmt.int(days)
