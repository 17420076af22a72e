"""Report section: what the data cover, the study's definitions, and what loading changed.

The first section of every report: the window's totals (from the data layer,
customers whose only rows are returns included), the tables loaded, the
definitions every later section uses (window, churn rule, holdout split,
horizon, margin — read from the study, see :mod:`cxlab.study`), the
distribution of purchases per customer and the data-quality summary.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cxlab.report.html import Trusted


def build(ctx) -> None:
    """Render the data overview, the study's definitions and the data-quality summary."""
    study, fmt = ctx.study, ctx.fmt
    totals, summary = study.window_totals, study.customer_summary
    purchases = int(summary["n_purchases"].sum())
    ctx.how_to_read("how_to_read")
    ctx.text("intro", first=fmt.date(study.window_start), last=fmt.date(study.window_end),
             customers=fmt.int(totals["customers"]), purchases=fmt.int(purchases),
             revenue=fmt.money(totals["revenue"]))
    if totals["returned"] > 0:
        gross = totals["revenue"] + totals["returned"]
        ctx.text("returns", returns=fmt.money(totals["returned"]),
                 returns_share=fmt.pct(totals["returned"] / gross if gross > 0 else np.nan))
    returns_only = totals["customers"] - len(summary)
    if returns_only > 0:
        ctx.text("returns_only", n=fmt.int(returns_only))
    _outliers(ctx)

    ctx.metric("n_customers", int(totals["customers"]))
    ctx.metric("n_purchases", purchases)
    ctx.metric("revenue_total", float(totals["revenue"]))
    ctx.metric("period_start", study.window_start)
    ctx.metric("period_end", study.window_end)

    ctx.table(_tables_frame(ctx), caption=ctx.texts["tables_caption"])
    _definitions(ctx)
    _histogram(ctx, summary)
    ctx.caveat("caveat")
    _quality(ctx)


def _definitions(ctx) -> None:
    """The study's facts in words: what every later section means by churn, holdout, value."""
    study, fmt = ctx.study, ctx.fmt
    ctx.heading("study_title")
    ctx.how_to_read("study_how")
    ctx.text("study_window", start=fmt.date(study.window_start), end=fmt.date(study.window_end))
    churn = study.churn
    if churn.kind == "contractual":
        ctx.text("study_churn_contract")
    elif churn.kind == "unavailable":
        ctx.text("study_churn_unavailable", reason=churn.reason)
    elif churn.source == "parameter":
        ctx.text("study_churn_parameter", days=fmt.int(churn.threshold_days))
    else:
        ctx.text(f"study_churn_{churn.source}", days=fmt.int(churn.threshold_days),
                 quantile=fmt.pct(churn.choice.quantile, 0), plateau=fmt.pct(churn.choice.plateau, 0))
    cal = study.calibration
    if cal.available:
        ctx.text(f"study_calibration_{cal.source}", cal=fmt.date(cal.calibration_end),
                 weeks=fmt.int(round(cal.holdout_weeks)))
    else:
        ctx.text("study_calibration_none", reason=cal.reason)
    sleeping = study.sleeping
    if sleeping.available:
        ctx.text(f"study_sleeping_{sleeping.source.replace(' ', '_')}", days=fmt.int(sleeping.threshold_days),
                 window=fmt.int(sleeping.campaign_window_days))
    else:
        ctx.text("study_sleeping_none", reason=sleeping.reason)
    ctx.text("study_money", currency=study.currency, horizon=study.horizon_months,
             rate=fmt.pct(study.discount_rate), margin=fmt.pct(study.margin_rate),
             margin_source=Trusted(ctx.label("margin_sources", study.margin_source)))
    sample = study.sample
    if sample is not None:
        ctx.text("study_sample", size=fmt.int(sample.size), population=fmt.int(sample.population),
                 share=fmt.pct(sample.fraction))


def _tables_frame(ctx) -> pd.DataFrame:
    t, study = ctx.texts, ctx.study
    log = study.overview  # may be an engine's table: the engine counted it
    rows = [{t["col_table"]: t["table_names"]["transactions"], t["col_rows"]: log["rows"],
             t["col_customers"]: log["customers"], t["col_from"]: log["first"], t["col_to"]: log["last"]}]
    for name, date_col in (("customers", "signup_date"), ("surveys", "date"), ("campaigns", "sent_at")):
        frame = getattr(study.data, name, None)
        if frame is None:
            continue
        dates = frame[date_col] if date_col in frame else pd.Series(dtype="datetime64[ns]")
        rows.append({t["col_table"]: t["table_names"][name], t["col_rows"]: int(len(frame)),
                     t["col_customers"]: int(frame["customer_id"].nunique()),
                     t["col_from"]: dates.min() if len(dates) else pd.NaT,
                     t["col_to"]: dates.max() if len(dates) else pd.NaT})
    out = pd.DataFrame(rows)
    for col in (t["col_from"], t["col_to"]):
        out[col] = out[col].astype("datetime64[ns]")
    return out


def _histogram(ctx, summary: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt
    import seaborn as sns

    t = ctx.texts
    # numpy float64 for seaborn (nullable dtypes break it); a long tail is cut at the 99th percentile
    counts = summary["n_purchases"].to_numpy(dtype="float64")
    cap = max(float(np.quantile(counts, 0.99)), 1.0)
    shown = np.minimum(counts, cap)
    from cxlab.report.charts import count_axis

    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.histplot(x=shown, discrete=True, ax=ax, color="#3b6ea8")
    ax.set(title=t["hist_title"])
    count_axis(ctx.fmt, ax, t["hist_x"], which="x")
    count_axis(ctx.fmt, ax, t["hist_y"], which="y")
    sns.despine(ax=ax)
    capped = int((counts > cap).sum())
    caption = ctx.plain("hist_caption", cap=ctx.fmt.int(cap), n=ctx.fmt.int(capped)) if capped \
        else ctx.plain("hist_caption_all")
    ctx.figure(fig, caption=caption, name="purchases-per-customer")


def _quality(ctx) -> None:
    t = ctx.texts
    quality = getattr(ctx.study.data, "quality", None)
    ctx.heading("quality_title")
    ctx.how_to_read("quality_how")
    issues = list(quality) if quality is not None else []
    if not issues:
        ctx.text("quality_none")
        return
    counts = {a: sum(i.rows_count for i in issues if i.action == a) for a in ("dropped", "flagged", "repaired")}
    ctx.metric("rows_dropped", counts["dropped"])
    ctx.metric("rows_flagged", counts["flagged"])
    ctx.metric("rows_repaired", counts["repaired"])
    ctx.text("quality_counts", **{k: ctx.fmt.int(v) for k, v in counts.items()})
    # the loader names files by absolute path; the client's report shows them relative to the project
    config = ctx.study.config
    prefix = f"{config.root}{os.sep}" if config is not None else None

    def message(text: str) -> str:
        return text.replace(prefix, "") if prefix else text

    def described(issue) -> str:
        # the loader writes its findings in English; other languages get the facts in their own words
        if ctx.lang == "en":
            return message(issue.message)
        rows = ", ".join(str(r) for r in issue.example_rows)
        return ctx.plain("quality_message", n=ctx.fmt.int(issue.rows_count),
                         action=ctx.label("actions_rows", issue.action), rows=rows or "—")

    frame = pd.DataFrame({
        t["col_table"]: [t["table_names"].get(i.table, i.table) for i in issues],
        t["col_column"]: [ctx.label("column_names", i.column) if i.column else "" for i in issues],
        t["col_action"]: [t["actions"].get(i.action, i.action) for i in issues],
        t["col_rows"]: [int(i.rows_count) for i in issues],
        t["col_message"]: [described(i) for i in issues],
    })
    ctx.table(frame, caption=t["quality_caption"])
    if ctx.lang != "en":
        ctx.caveat("quality_caveat")


def dominating_outliers(study):
    """The loader's outlying amounts when they hold so much revenue that the headlines describe them
    (:meth:`cxlab.data.quality.ValueChecks.dominates`), else None."""
    checks = getattr(study.data, "checks", None)
    if checks is None or checks.outliers.empty or not checks.dominates():
        return None
    return checks


def _outliers(ctx) -> None:
    checks = dominating_outliers(ctx.study)
    if checks is None:
        return
    fmt = ctx.fmt
    rows = ", ".join(str(int(r)) for r in checks.outliers["row"].head(5) if r == r)
    ctx.caveat("outliers_dominate", n=fmt.int(len(checks.outliers)), share=fmt.pct(checks.outlier_revenue_share),
               rows=rows or "—")
