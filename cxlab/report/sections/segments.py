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
:data:`cxlab.segmentation.RFM_SEGMENTS`); ``segment_names`` in ``segments.yml``
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

def build(ctx) -> None:
    """Render RFM segments, ABC and XYZ classes with their matrix, and the repeat-purchase rate."""
    summary = ctx.study.customer_summary
    ctx.how_to_read("intro_how")
    if len(summary) < MIN_CUSTOMERS:
        ctx.text("too_few", n=ctx.fmt.int(len(summary)), min=MIN_CUSTOMERS)
        _repeat(ctx, summary)
        return
    _rfm(ctx, summary)
    abc = _abc(ctx, summary)
    _xyz(ctx, summary, abc)
    _repeat(ctx, summary)


# --------------------------------------------------------------------------- RFM
def _rfm(ctx, summary: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    from cxlab.segmentation import RFM_SEGMENTS, plot_rfm_heatmap, rfm_scores, rfm_segments

    t, fmt = ctx.texts, ctx.fmt
    res = rfm_segments(rfm_scores(summary, recency_unit=ctx.study.unit))
    seg = res.segments
    champions = seg.loc["Champions"]
    at_risk = seg.loc[list(AT_RISK_SEGMENTS)]
    at_risk_revenue = float(at_risk["revenue_share"].sum())

    ctx.heading("rfm_title")
    ctx.how_to_read("rfm_how")
    ctx.text("rfm_text", champions=fmt.pct(champions["customer_share"]),
             champions_revenue=fmt.pct(champions["revenue_share"]),
             at_risk_customers=fmt.pct(at_risk["customer_share"].sum()), at_risk_revenue=fmt.pct(at_risk_revenue))
    ctx.metric("champions_share", float(champions["customer_share"]))
    ctx.metric("champions_revenue_share", float(champions["revenue_share"]))
    ctx.metric("at_risk_revenue_share", at_risk_revenue)

    shown = seg[seg["customers"] > 0]
    names = [str(s) for s in shown.index]
    order = [s for s in RFM_SEGMENTS if s in names] + [s for s in names if s not in RFM_SEGMENTS]
    shown = shown.loc[order]
    table = pd.DataFrame({
        t["col_segment"]: [ctx.label("segment_names", s) for s in order],
        t["col_who"]: [ctx.label("segment_who", s, "") for s in order],
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
    ctx.figure(fig, caption=t["rfm_figure_caption"], name="rfm")
    ctx.caveat("rfm_caveat")


# --------------------------------------------------------------------------- ABC
def _abc(ctx, summary: pd.DataFrame):
    from cxlab.segmentation import abc_analysis

    t, fmt = ctx.texts, ctx.fmt
    ctx.heading("abc_title")
    ctx.how_to_read("abc_how")
    if not (summary["revenue"] > 0).any():
        ctx.text("abc_none")
        return None
    abc = abc_analysis(summary)
    classes = abc.classes
    a = classes.loc["A"]
    ctx.text("abc_text", a_customers=fmt.pct(a["customer_share"]), a_n=fmt.int(a["customers"]),
             a_revenue=fmt.pct(a["revenue_share"]))
    ctx.metric("a_class_customer_share", float(a["customer_share"]))
    ctx.metric("a_class_revenue_share", float(a["revenue_share"]))
    labels = [str(c) for c in classes.index]
    ctx.table(pd.DataFrame({
        t["col_class"]: labels,
        t["col_meaning"]: [ctx.label("abc_meaning", c) for c in labels],
        t["col_customers"]: classes["customers"].to_numpy(dtype=np.int64),
        t["col_customer_share"]: classes["customer_share"].to_numpy(dtype=float),
        t["col_revenue"]: classes["revenue"].to_numpy(dtype=float),
        t["col_revenue_share"]: classes["revenue_share"].to_numpy(dtype=float),
    }), formats={t["col_customer_share"]: "pct", t["col_revenue"]: "money", t["col_revenue_share"]: "pct"},
        caption=t["abc_caption"])
    ctx.caveat("abc_caveat")
    return abc


# --------------------------------------------------------------------------- XYZ and ABC x XYZ
def _last_complete_month_end(day: pd.Timestamp) -> pd.Timestamp:
    """``day`` if it is the last day of its month, else the last day of the month before."""
    day = day.normalize()
    if (day + pd.Timedelta(days=1)).month == day.month:
        day = day.replace(day=1) - pd.Timedelta(days=1)
    return day


def _xyz(ctx, summary: pd.DataFrame, abc) -> None:
    import matplotlib.pyplot as plt

    from cxlab.segmentation import abc_xyz, plot_abc_xyz, xyz_from_moments

    t, fmt, study = ctx.texts, ctx.fmt, ctx.study
    # an unfinished last month would look like a drop in every customer's purchases and inflate the CV
    panel_end = _last_complete_month_end(study.window_end)
    # each customer's months and the mean and spread of purchases a month, from the engine: the panel
    # itself (a row per customer and month) is never laid out
    # (its customers bought by the panel's end, so all are in the window's summary)
    moments = study.period_moments(panel_end)
    # every customer's months run to the panel's end: the longest history spans all the months
    months = int(moments["periods"].max()) if len(moments) else 0

    ctx.heading("xyz_title")
    ctx.how_to_read("xyz_how")
    if months < XYZ_MIN_MONTHS:
        ctx.text("xyz_short", min=XYZ_MIN_MONTHS, months=fmt.int(months))
        return
    xyz = xyz_from_moments(moments, min_periods=XYZ_MIN_MONTHS)
    classes = xyz.classes
    ctx.metric("x_class_share", float(classes.loc["X", "customer_share"]))

    matrix = abc_xyz(abc, xyz) if abc is not None else None
    labels = [str(c) for c in classes.index]
    frame = {
        t["col_class"]: labels,
        t["col_meaning"]: [ctx.label("xyz_meaning", c) for c in labels],
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
        ctx.text("xyz_text", ax_n=fmt.int(counts.loc["A", ["X", "Y"]].sum()),
                 ax_revenue=fmt.pct(share.loc["A", ["X", "Y"]].sum()), az_n=fmt.int(counts.loc["A", "Z"]),
                 az_revenue=fmt.pct(share.loc["A", "Z"]))
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
        plot_abc_xyz(matrix, value="customers", ax=left)
        plot_abc_xyz(matrix, value="revenue_share", ax=right)
        _relabel(ctx, left, t["matrix_customers"], t["matrix_x"], t["matrix_y"], t["cbar_customers"], share=False)
        _relabel(ctx, right, t["matrix_revenue"], t["matrix_x"], t["matrix_y"], t["cbar_revenue"], share=True)
        fig.tight_layout()
        ctx.figure(fig, caption=t["matrix_caption"], name="abc-xyz")

    short = xyz.customers["short_history"]
    parts = [ctx.tr("xyz_caveat", min=XYZ_MIN_MONTHS, short_n=fmt.int(short.sum()), short_share=fmt.pct(short.mean()))]
    if panel_end < study.window_end:
        parts.append(ctx.tr("xyz_caveat_partial", month=fmt.date(panel_end + pd.Timedelta(days=1), style="month")))
        newcomers = int((summary["first_purchase"] > panel_end).sum())
        if newcomers:
            parts.append(ctx.tr("xyz_caveat_new", n=fmt.int(newcomers)))
    ctx.caveat(ctx.join(*parts))


# --------------------------------------------------------------------------- repeat purchases
def _repeat(ctx, summary: pd.DataFrame) -> None:
    from cxlab.segmentation import repeat_purchase_rate

    t, fmt = ctx.texts, ctx.fmt
    rate = repeat_purchase_rate(summary)
    n_repeat = int((summary["frequency"] >= 1).sum())
    ctx.heading("repeat_title")
    ctx.how_to_read("repeat_how")
    ctx.text("repeat_text", rate=fmt.pct(rate), n_repeat=fmt.int(n_repeat), n=fmt.int(len(summary)))
    ctx.metric("repeat_purchase_rate", float(rate))
    years = summary["first_purchase"].dt.year
    if years.nunique() >= 2:
        by_year = repeat_purchase_rate(summary, cohorts=years)
        ctx.table(pd.DataFrame({
            t["col_cohort"]: [str(y) for y in by_year.index],
            t["col_customers"]: by_year["customers"].to_numpy(dtype=np.int64),
            t["col_repeat"]: by_year["repeat_customers"].to_numpy(dtype=np.int64),
            t["col_repeat_rate"]: by_year["repeat_rate"].to_numpy(dtype=float),
        }), formats={t["col_repeat_rate"]: "pct"}, caption=t["repeat_caption"])
    ctx.caveat("repeat_caveat")


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
