"""Report section: CX drivers and the money value of CX by touchpoint.

``build(ctx)`` renders, when the surveys carry attribute ratings
(``rating_<attribute>``):

* NPS, CSAT and CES by touchpoint and by journey stage;
* the key drivers of the recommendation answer (Shapley decomposition of R²,
  :func:`cxlab.cx_drivers.key_drivers`) overall, with an importance-performance
  chart, and the leading driver at each touchpoint;
* the CSI (importance-weighted ratings on 0..100) overall and by touchpoint;
* what moving the study's ``cx_shift_share`` of each touchpoint's active
  detractors to passives or promoters is worth in margin
  (:func:`cxlab.cx_drivers.detractor_shift_value`, from the study's NPS-behaviour
  link, churn rule, horizon and margin).

The driver analyses and the CSI bootstrap customers: when the study has a
customer sample (a large client), they run on the answers of the sampled
customers and say so; the tables of NPS, CSAT and CES use every answer.

Not available without a surveys table, without answers in the window, or
without attribute ratings. Touchpoint, journey-stage and attribute names are
the client's words: they reach the report through ``ctx.category``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cxlab import cx_drivers as cd

#: Touchpoints (stages) with fewer answers are left out of the tables.
MIN_ANSWERS = 30
#: A touchpoint's own driver analysis needs at least this many complete answers.
MIN_DRIVER_ANSWERS = 100
#: Bootstrap draws of the intervals (fixed seed: the same report twice gives the same numbers).
N_BOOT = 300
SEED = 0


def unmet(study, texts) -> str | None:
    if study.surveys is None:
        return texts["unmet_no_table"]
    if study.surveys.empty:
        return texts["unmet_no_answers"]
    if not cd.rating_columns(study.surveys):
        return texts["unmet_no_ratings"]
    return None


def build(ctx) -> None:
    """Render the CX-drivers section."""
    surveys = ctx.study.surveys
    ctx.how_to_read("how_to_read")
    for dimension in ("touchpoint", "journey_stage"):
        _by_dimension(ctx, surveys, dimension)
    # The bootstrap of the drivers and the CSI redraws customers (n_boot × answers weights): on a large
    # client it runs on the sampled customers' answers, whose intervals then carry the sampling error.
    modelled = ctx.study.sampled(surveys)
    _drivers(ctx, modelled)
    if "touchpoint" in modelled.columns:
        _drivers_by_touchpoint(ctx, modelled)
    _csi(ctx, modelled)
    # the churn by NPS group is fitted on the sample (Study.nps_behaviour): its detractors are found in the
    # sampled customers' answers (the whole table would be sorted and grouped twice for nothing)
    _money(ctx, modelled)
    ctx.caveat("caveat")


def _named(ctx, values: pd.Series) -> pd.Series:
    """Client categories in the reader's words (missing labels as their own category)."""
    return values.astype(object).where(values.notna(), "(missing)").map(ctx.category)


# --------------------------------------------------------------------------- parts
def _by_dimension(ctx, surveys: pd.DataFrame, dimension: str) -> None:
    fmt, t = ctx.fmt, ctx.texts
    if dimension not in surveys.columns or surveys[dimension].nunique() < 2:
        return
    metrics = cd.touchpoint_metrics(surveys, by=dimension).table
    metrics = metrics[metrics["n"] >= MIN_ANSWERS]
    wide = metrics.pivot_table(index=dimension, columns="metric", values="estimate", sort=False)
    nps = metrics[metrics["metric"] == "nps"].set_index(dimension)
    if len(nps) < 2:
        return
    dim_name = ctx.label("dimension_names", dimension)
    ctx.heading("by_title", dimension=dim_name)
    shown = pd.DataFrame({
        t["col_group"]: _named(ctx, pd.Series(nps.index)).to_numpy(),
        t["col_answers"]: nps["n"].astype(int).to_numpy(),
        t["col_nps"]: nps["estimate"].to_numpy(float),
        t["col_nps_ci"]: [f"{fmt.num(lo, 0)}…{fmt.num(hi, 0)}" for lo, hi in zip(nps["ci_low"], nps["ci_high"])],
    })
    for metric, col in (("csat_top2", "col_csat"), ("ces_low_effort", "col_ces")):
        if metric in wide.columns:
            shown[t[col]] = [fmt.pct(v / 100) for v in wide.loc[nps.index, metric]]
    shown = shown.sort_values(t["col_answers"], ascending=False)
    ctx.table(shown, caption=t["by_caption"].format(dimension=dim_name, min_n=MIN_ANSWERS),
              digits={t["col_nps"]: 1})


def _drivers(ctx, surveys: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    fmt, t = ctx.fmt, ctx.texts
    ctx.heading("drivers_title")
    kd = cd.key_drivers(surveys, n_boot=N_BOOT, seed=SEED)
    if kd.table.empty:
        ctx.text("drivers_too_few", min_n=50)
        return
    ctx.sample_note("drivers_sample_what")
    table = kd.table.sort_values("importance", ascending=False).reset_index(drop=True)
    fit = kd.fit.iloc[0]
    names = [ctx.category(a) for a in table["attribute"]]
    ctx.how_to_read("drivers_how")
    top = table.iloc[0]
    ctx.text("drivers_text", top=names[0], share=fmt.pct(top["share"]), lo=fmt.pct(top["share_low"]),
             hi=fmt.pct(top["share_high"]), r2=fmt.pct(fit["r2"]), n=fmt.int(fit["n"]),
             k=fmt.int(len(table)))
    ctx.metric("cx_drivers_r2", float(fit["r2"]), ci=(fit["ci_low"], fit["ci_high"]))
    ctx.metric("cx_top_driver_share", float(top["share"]), ci=(top["share_low"], top["share_high"]))
    shown = pd.DataFrame({
        t["col_attribute"]: names,
        t["col_share"]: [fmt.pct(v) for v in table["share"]],
        t["col_share_ci"]: [f"{fmt.pct(lo)}…{fmt.pct(hi)}" for lo, hi in zip(table["share_low"], table["share_high"])],
        t["col_mean"]: table["mean_rating"].to_numpy(float),
    })
    ctx.table(shown, caption=t["drivers_caption"], digits={t["col_mean"]: 2},
              formats={t["col_share"]: "text", t["col_share_ci"]: "text"})

    from cxlab.report.charts import number_axis, pct_axis

    fig, ax = plt.subplots(figsize=(7, 4.2))
    x, y = table["share"].to_numpy(float), table["mean_rating"].to_numpy(float)
    ax.scatter(x, y, s=60, color="#2a6f97", zorder=3)
    for xi, yi, name in zip(x, y, names):
        ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(6, 4), fontsize=9)
    ax.axvline(1 / len(table), color="#999999", linestyle=":", linewidth=1)
    ax.axhline(float(np.mean(y)), color="#999999", linestyle=":", linewidth=1)
    ax.margins(x=0.2, y=0.2)
    pct_axis(fmt, ax, t["ipa_x"], which="x")
    number_axis(fmt, ax, t["ipa_y"], digits=1)
    ctx.figure(fig, caption=ctx.plain("ipa_caption"), name="cx-importance-performance")


def _drivers_by_touchpoint(ctx, surveys: pd.DataFrame) -> None:
    fmt, t = ctx.fmt, ctx.texts
    kd = cd.key_drivers(surveys, by="touchpoint", n_boot=N_BOOT, seed=SEED, min_answers=MIN_DRIVER_ANSWERS)
    if kd.fit["touchpoint"].nunique() < 2:
        return
    ctx.heading("by_touchpoint_title")
    ctx.how_to_read("by_touchpoint_how", min_n=MIN_DRIVER_ANSWERS)
    wide = kd.table.pivot_table(index="touchpoint", columns="attribute", values="share", sort=False)
    lead = kd.table.loc[kd.table.groupby("touchpoint")["importance"].idxmax()].set_index("touchpoint")
    fit = kd.fit.set_index("touchpoint")
    shown = pd.DataFrame({t["col_touchpoint"]: _named(ctx, pd.Series(wide.index)).to_numpy(),
                          t["col_answers"]: fit.loc[wide.index, "n"].astype(int).to_numpy()})
    for attribute in wide.columns:
        shown[ctx.category(attribute)] = [fmt.pct(v) for v in wide[attribute]]
    shown[t["col_leader"]] = [ctx.category(a) for a in lead.loc[wide.index, "attribute"]]
    shown = shown.sort_values(t["col_answers"], ascending=False)
    ctx.table(shown, caption=t["by_touchpoint_caption"],
              formats={ctx.category(a): "text" for a in wide.columns})


def _csi(ctx, surveys: pd.DataFrame) -> None:
    fmt, t = ctx.fmt, ctx.texts
    by = "touchpoint" if "touchpoint" in surveys.columns and surveys["touchpoint"].nunique() > 1 else None
    res = cd.csi_index(surveys, by=by, n_boot=N_BOOT, seed=SEED, min_answers=MIN_ANSWERS)
    ctx.heading("csi_title")
    ctx.how_to_read("csi_how")
    ctx.text("csi_text", csi=fmt.num(res.csi, 1), lo=fmt.num(res.ci_low, 1), hi=fmt.num(res.ci_high, 1),
             n=fmt.int(res.n))
    ctx.metric("csi", float(res.csi), ci=(res.ci_low, res.ci_high))
    if res.by_cell is not None and len(res.by_cell) > 1:
        cells = res.by_cell.sort_values("n", ascending=False)
        shown = pd.DataFrame({
            t["col_touchpoint"]: _named(ctx, cells["touchpoint"]).to_numpy(),
            t["col_answers"]: cells["n"].astype(int).to_numpy(),
            t["col_csi"]: cells["csi"].to_numpy(float),
            t["col_csi_ci"]: [f"{fmt.num(lo, 1)}…{fmt.num(hi, 1)}" for lo, hi in zip(cells["ci_low"], cells["ci_high"])],
        })
        ctx.table(shown, caption=t["csi_caption"], digits={t["col_csi"]: 1})


def _money(ctx, surveys: pd.DataFrame) -> None:
    study, fmt, t = ctx.study, ctx.fmt, ctx.texts
    ctx.heading("money_title")
    if "touchpoint" not in surveys.columns:
        ctx.text("money_unavailable", reason=t["no_touchpoint"])
        return
    try:
        behaviour = study.nps_behaviour
        share, margin = study.cx_shift_share, study.margin_rate
        values = {to: cd.detractor_shift_value(surveys, behaviour, share=share, to=to, margin_rate=margin)
                  for to in ("passive", "promoter")}
        if study.sample is not None:
            # churn by NPS group is a per-customer model fitted on the study's sample: its detractors and their
            # value stand for the whole client, customers per sampled customer
            scale = 1.0 / study.sample.fraction
            for v in values.values():
                v.table[["active_detractors", "moved", "value", "ci_low", "ci_high"]] *= scale
                v.table["active_detractors"] = v.table["active_detractors"].round().astype(int)
    except ValueError as exc:  # no churn rule, no detractors or promoters followed, no revenue figures
        ctx.text("money_unavailable", reason=str(exc))
        return
    horizon = ctx.tr("horizon", months=study.horizon_months)
    ctx.sample_note("money_sample_what")
    ctx.how_to_read("money_how", share=fmt.pct(share, 0), horizon=horizon,
                    margin=fmt.pct(margin), source=ctx.label("margin_sources", study.margin_source))
    pas, pro = (values[k].table.set_index("touchpoint") for k in ("passive", "promoter"))
    total = pro.loc["total"]
    ctx.text("money_text", share=fmt.pct(share, 0), n=fmt.int(total["active_detractors"]),
             pro=fmt.money(total["value"]), pro_lo=fmt.money(total["ci_low"]), pro_hi=fmt.money(total["ci_high"]),
             pas=fmt.money(pas.loc["total", "value"]), pas_lo=fmt.money(pas.loc["total", "ci_low"]),
             pas_hi=fmt.money(pas.loc["total", "ci_high"]), horizon=horizon)
    ctx.metric("cx_detractor_shift_value", float(total["value"]), ci=(total["ci_low"], total["ci_high"]))
    cells = pro.drop(index="total").sort_values("active_detractors", ascending=False)
    rows = []
    for level, row in cells.iterrows():
        rows.append({
            t["col_touchpoint"]: ctx.category(level),
            t["col_detractors"]: int(row["active_detractors"]),
            t["col_to_passive"]: pas.loc[level, "value"],
            t["col_to_passive_ci"]: f"{fmt.money(pas.loc[level, 'ci_low'])}…{fmt.money(pas.loc[level, 'ci_high'])}",
            t["col_to_promoter"]: row["value"],
            t["col_to_promoter_ci"]: f"{fmt.money(row['ci_low'])}…{fmt.money(row['ci_high'])}",
        })
    ctx.table(pd.DataFrame(rows), caption=t["money_caption"].format(share=fmt.pct(share, 0)),
              formats={t["col_to_passive"]: "money", t["col_to_promoter"]: "money",
                       t["col_to_passive_ci"]: "text", t["col_to_promoter_ci"]: "text"})
    ctx.caveat("money_caveat")
