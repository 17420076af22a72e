"""Report section: sleeping customers and winback campaigns.

``build(ctx)`` renders, when the client has a campaigns table:

* the customers asleep at the window's end by the study's sleeping rule
  (:attr:`cxlab.study.Study.sleeping`), by how long they have slept, with the revenue
  of their last active year and the margin they would bring if reactivated
  (:func:`cxlab.reactivation.sleeping_customers`);
* each campaign against its randomised control group (CUPED) or, without one,
  against matched sleepers (:func:`cxlab.reactivation.evaluate_campaign`): return
  rate, time to return, average check, incremental revenue and margin, ROI, with
  95 % intervals, and the share of each group that has bought again day by day;
* whom to wake first: value if reactivated × the campaign's measured response
  (:func:`cxlab.reactivation.whom_to_wake`); the full list goes to tables.xlsx.

The headline metrics describe the campaign with the most customers. Every fact
(sleeping rule, campaign window, margin, horizon, discounting, window end) is the
study's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cxlab import reactivation as ra

#: Customers shown in the page's "whom to wake" table (the full list is in tables.xlsx).
TOP_WAKE = 20


def unmet(study, texts) -> str | None:
    if study.campaigns is None:
        return texts["unmet_no_table"]
    if study.campaigns.empty:
        return texts["unmet_no_rows"]
    if not study.sleeping.available:
        return texts["unmet_no_rule"]
    return None


def build(ctx) -> None:
    """Render sleepers, campaign evaluations and the list of whom to wake."""
    study = ctx.study
    ctx.how_to_read("how_to_read", days=ctx.fmt.int(study.sleeping.threshold_days),
                    window=ctx.fmt.int(study.sleeping.campaign_window_days))
    sleepers = sleeping(study)
    _sleepers(ctx, sleepers)
    evaluations = campaign_evaluations(study)
    main = main_campaign(evaluations)
    for number, (name, ev) in enumerate(evaluations.items(), start=1):
        if isinstance(ev, Exception):
            ctx.heading("campaign_title", campaign=ctx.category(name))
            ctx.note("campaign_too_few", min=ra.MIN_ARM, window=ctx.fmt.int(study.sleeping.campaign_window_days))
        else:
            _campaign(ctx, name, ev, number, headline=name == main)
    if main is not None:
        _wake(ctx, sleepers, evaluations[main])
    ctx.caveat("caveat")


# --------------------------------------------------------------------------- computations (shared with the test)
def sleeping(study) -> ra.SleepingCustomers:
    """The study's sleepers at the window's end."""
    return ra.sleeping_customers(study.data.transactions, as_of=study.window_end,
                                 sleeping_days=study.sleeping.threshold_days, margin_rate=study.margin_rate,
                                 horizon_months=study.horizon_months,
                                 monthly_discount_rate=study.monthly_discount_rate,
                                 customers=study.customer_summary.index)


def campaign_evaluations(study) -> dict:
    """Every campaign's evaluation (or the error that stopped it, e.g. too few customers)."""
    out = {}
    for name, rows in study.campaigns.groupby("campaign", sort=True):
        try:
            out[str(name)] = ra.evaluate_campaign(
                study.data.transactions, rows, window_days=study.sleeping.campaign_window_days,
                margin_rate=study.margin_rate, observation_end=study.window_end,
                sleeping_days=study.sleeping.threshold_days, customers=study.customer_summary.index)
        except ValueError as exc:
            out[str(name)] = exc
    return out


def main_campaign(evaluations: dict) -> str | None:
    """The campaign with the most customers compared (ties: the first name)."""
    done = {k: v for k, v in evaluations.items() if not isinstance(v, Exception)}
    if not done:
        return None
    return max(done, key=lambda k: (done[k].n_treated + done[k].n_control, [-ord(c) for c in k]))


def sleep_bands(threshold: float) -> np.ndarray:
    """Bands of days asleep: [T, 2T), [2T, 4T), [4T, ∞) for the sleeping threshold T."""
    return np.array([threshold, 2 * threshold, 4 * threshold, np.inf])


# --------------------------------------------------------------------------- parts
def _sleepers(ctx, res: ra.SleepingCustomers) -> None:
    t, fmt, study = ctx.texts, ctx.fmt, ctx.study
    tot = res.totals
    ctx.heading("sleepers_title")
    ctx.text("sleepers_text", date=fmt.date(res.as_of), n=fmt.int(tot["sleepers"]), share=fmt.pct(tot["share"]),
             days=fmt.int(res.threshold_days), revenue=fmt.money(tot["active_revenue"]),
             margin=fmt.money(tot["active_margin"]), value=fmt.money(tot["value_if_reactivated"]),
             horizon=fmt.int(study.horizon_months))
    ctx.metric("sleeping_customers", int(tot["sleepers"]))
    ctx.metric("sleeping_share", float(tot["share"]))
    ctx.metric("sleeping_value_if_reactivated", float(tot["value_if_reactivated"]))
    if tot["sleepers"] == 0:
        return
    edges = sleep_bands(res.threshold_days)
    band = np.searchsorted(edges, res.table["days_asleep"].to_numpy(), side="right") - 1
    rows = []
    for k in range(len(edges) - 1):
        part = res.table[band == k]
        name = (ctx.plain("band_open", lo=fmt.int(edges[k])) if not np.isfinite(edges[k + 1])
                else ctx.plain("band", lo=fmt.int(edges[k]), hi=fmt.int(edges[k + 1])))
        rows.append({t["col_band"]: name, t["col_customers"]: len(part),
                     t["col_active_revenue"]: float(part["active_revenue"].sum()),
                     t["col_last_year"]: float(part["revenue_last_year"].sum()),
                     t["col_value"]: float(part["value_if_reactivated"].sum())})
    ctx.table(pd.DataFrame(rows), caption=t["sleepers_caption"],
              formats={t["col_customers"]: "int", t["col_active_revenue"]: "money", t["col_last_year"]: "money",
                       t["col_value"]: "money"})


def _campaign(ctx, name: str, ev: ra.CampaignEvaluation, number: int, *, headline: bool) -> None:
    import matplotlib.pyplot as plt

    from cxlab.report.charts import legend_outside, number_axis, pct_axis

    t, fmt = ctx.texts, ctx.fmt
    shown = ctx.category(name)
    ctx.heading("campaign_title", campaign=shown)
    rate, rev, mar = ev.effect("return_rate"), ev.effect("revenue"), ev.effect("margin")
    econ = ev.economics
    first, last = ev.sent_first.normalize(), ev.sent_last.normalize()
    sent = (ctx.plain("sent_on", date=fmt.date(first)) if first == last
            else ctx.plain("sent_between", first=fmt.date(first), last=fmt.date(last)))
    ctx.text(f"campaign_intro_{ev.design}", campaign=shown, sent=sent, treated=fmt.int(ev.n_treated),
             control=fmt.int(ev.n_control), window=fmt.int(ev.window_days))
    ctx.text("campaign_effect", treated_rate=fmt.pct(ev.arms.loc["treatment", "return_rate"]),
             control_rate=fmt.pct(ev.arms.loc["control", "return_rate"]), lift=fmt.pp(rate["estimate"]),
             lo=fmt.pp(rate["ci_low"]), hi=fmt.pp(rate["ci_high"]),
             customers=fmt.int(round(econ["incremental_customers"])),
             revenue=fmt.money(econ["incremental_revenue"]), margin=fmt.money(econ["incremental_margin"]),
             margin_lo=fmt.money(econ["incremental_margin_low"]), margin_hi=fmt.money(econ["incremental_margin_high"]))
    if rate["ci_low"] <= 0 <= rate["ci_high"]:
        ctx.text("campaign_not_shown")
    if np.isfinite(econ["cost"]) and econ["cost"] > 0:
        ctx.text("campaign_roi", cost=fmt.money(econ["cost"]), roi=fmt.pct(econ["roi"], 0),
                 lo=fmt.pct(econ["roi_low"], 0), hi=fmt.pct(econ["roi_high"], 0))
    else:
        ctx.text("campaign_no_cost")
    if ev.design == "randomised":
        ctx.text("campaign_cuped", reduction=fmt.pct(1 - float(ev.effects.loc["return_rate", "variance_ratio"])))
    if headline:
        ctx.metric("campaign_incremental_return_rate", float(rate["estimate"]),
                   ci=(rate["ci_low"], rate["ci_high"]))
        ctx.metric("campaign_incremental_margin", float(econ["incremental_margin"]),
                   ci=(econ["incremental_margin_low"], econ["incremental_margin_high"]))
        if np.isfinite(econ["roi"]):
            ctx.metric("campaign_roi", float(econ["roi"]), ci=(econ["roi_low"], econ["roi_high"]))

    rows = [("return_rate", "pp"), ("days_to_return", "num"), ("average_check", "money"), ("revenue", "money"),
            ("margin", "money")]
    arm = ev.arms
    table = pd.DataFrame({
        t["col_measure"]: [ctx.label("measures", m) for m, _ in rows],
        t["col_treatment"]: [_cell(fmt, arm.loc["treatment", m], kind, rate=True) for m, kind in rows],
        t["col_control"]: [_cell(fmt, arm.loc["control", m], kind, rate=True) for m, kind in rows],
        t["col_difference"]: [_cell(fmt, ev.effects.loc[m, "estimate"], kind) if m in ev.effects.index else ""
                              for m, kind in rows],
        t["col_interval"]: [ctx.plain("interval", lo=_cell(fmt, ev.effects.loc[m, "ci_low"], kind),
                                      hi=_cell(fmt, ev.effects.loc[m, "ci_high"], kind))
                            if m in ev.effects.index else "" for m, kind in rows],
    })
    ctx.table(table, caption=ctx.plain("campaign_caption", campaign=shown, window=fmt.int(ev.window_days)),
              formats={c: "text" for c in table.columns})

    fig, ax = plt.subplots(figsize=(8, 4))
    ra.plot_return_curves(ev, ax=ax, labels={"treatment": t["treatment"], "control": t["control_arm"][ev.design]})
    pct_axis(fmt, ax, t["curve_y"])
    number_axis(fmt, ax, t["curve_x"], which="x")
    legend_outside(ax)
    ctx.figure(fig, caption=ctx.plain("curve_caption", campaign=shown, window=fmt.int(ev.window_days)),
               name=f"campaign-{number}-returns")


def _cell(fmt, value, kind: str, rate: bool = False) -> str:
    """One table cell: a return rate as a percentage in an arm, in points as a difference."""
    if kind == "pp":
        return fmt.pct(value) if rate else fmt.pp(value)
    if kind == "money":
        return fmt.money(value)
    return fmt.num(value, 1)


def _wake(ctx, sleepers: ra.SleepingCustomers, ev: ra.CampaignEvaluation) -> None:
    t, fmt = ctx.texts, ctx.fmt
    if sleepers.table.empty:
        return
    wake = ra.whom_to_wake(sleepers, ev)
    ctx.heading("wake_title")
    ctx.how_to_read("wake_how", campaign=ctx.category(ev.campaign))
    top = wake.table.head(TOP_WAKE)
    ctx.text("wake_text", n=fmt.int(len(top)), value=fmt.money(top["expected_value"].sum()),
             total=fmt.money(wake.table["expected_value"].sum()), all=fmt.int(len(wake.table)))

    def frame(table: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            t["col_customer"]: table.index.astype(str),
            t["col_days_asleep"]: table["days_asleep"].to_numpy(dtype="float64"),
            t["col_active_revenue"]: table["active_revenue"].to_numpy(dtype="float64"),
            t["col_value"]: table["value_if_reactivated"].to_numpy(dtype="float64"),
            t["col_response"]: table["response"].to_numpy(dtype="float64"),
            t["col_expected"]: table["expected_value"].to_numpy(dtype="float64"),
        })

    formats = {t["col_days_asleep"]: "num", t["col_active_revenue"]: "money", t["col_value"]: "money",
               t["col_response"]: "pct", t["col_expected"]: "money"}
    ctx.table(frame(top), caption=ctx.plain("wake_caption", n=len(top)), formats=formats,
              digits={t["col_days_asleep"]: 0})
    ctx.export_table(frame(wake.table), caption=t["wake_full_caption"], formats=formats,
                     digits={t["col_days_asleep"]: 0})
