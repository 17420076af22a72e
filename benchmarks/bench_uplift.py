"""Benchmark: the whole loyalty-uplift analysis on a 1M-customer synthetic data set.

Run: ``python benchmarks/bench_uplift.py [n_customers]`` (default 1,000,000).

Prints the time of each step, the total of the uplift analysis (from the data
layer's customer × month panel to the economics: target < 120 s), and, as the
baseline measured in the same run, the naive member vs non-member comparison
done with plain pandas on the same panel (ratio = analysis / naive). The data
generation and the DuckDB panel are the data layer's cost and are reported
separately. Finally the estimates are printed next to the generator's truth.

The propensity logit (``cxlab.uplift.core.fit_logit``: standardised design, damped Newton,
separation check) is timed on the loyalty design of the same data against
``statsmodels.Logit(...).fit(method="newton")`` at its best configuration in this run (default
BLAS threads or one thread, whichever is faster), with the largest coefficient difference.
"""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd


def main(n_customers: int = 1_000_000) -> None:
    from cxlab.data import churn_durations, customer_period_panel
    from cxlab.datasets import make_demo_dataset
    from cxlab.uplift import analyze_loyalty, member_panel

    t = time.perf_counter()
    ds = make_demo_dataset(n_customers=n_customers, seed=7)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    panel = customer_period_panel(ds.transactions, period="M")
    t_panel = time.perf_counter() - t
    t = time.perf_counter()
    durations = churn_durations(ds.transactions, threshold=180)
    t_dur = time.perf_counter() - t
    print(f"data: {n_customers:,} customers, {len(ds.transactions):,} transactions, panel {len(panel):,} rows")
    print(f"  generate {t_gen:.1f} s, customer_period_panel {t_panel:.1f} s, churn_durations {t_dur:.1f} s (data layer)")

    # baseline: the naive comparison in plain pandas (members vs non-members, mean monthly spend)
    t = time.perf_counter()
    members = ds.customers.set_index("customer_id")["loyalty_join_date"].notna()  # ids of the same type as the panel's
    per_customer = panel.groupby("customer_id", sort=False)["revenue"].mean()
    is_member = members.reindex(per_customer.index).fillna(False).to_numpy(dtype=bool)
    naive_ratio = per_customer[is_member].mean() / per_customer[~is_member].mean()
    t_naive = time.perf_counter() - t

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mp = member_panel(panel, ds.customers)
        t_mp = time.perf_counter() - t
        res = analyze_loyalty(mp, ds.customers, durations=durations)
    t_analysis = time.perf_counter() - t
    print(f"uplift analysis steps (s): member_panel {t_mp:.1f}, " + ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items() if k != "panel"))
    t_whole = t_panel + t_dur + t_analysis
    print(f"UPLIFT ANALYSIS: {t_analysis:.1f} s; with the data layer's panel and durations: {t_whole:.1f} s "
          f"(target < 120 s)  {'OK' if t_whole < 120 else 'TOO SLOW'}")
    print(f"baseline naive pandas comparison: {t_naive:.2f} s (member/non-member spend ratio {naive_ratio:.2f}); "
          f"ratio analysis / naive = {t_analysis / t_naive:.1f}x")

    bench_propensity(mp)

    truth = ds.truth
    post = res.prepost.design["post"]
    abm = truth.att_by_month
    for outcome, col in (("spend", "revenue_effect"), ("visits", "transactions_effect")):
        f = abm[col].to_numpy()[:post]
        true_val = (f.sum() - 0.5 * f[post - 1]) / post
        print(f"\n{outcome}: true effect per member-month over the post window (calendar-aligned) = {true_val:.4g}")
        est = res.prepost.estimates
        for _, r in est[est["outcome"] == outcome].iterrows():
            inside = r["ci_low"] <= true_val <= r["ci_high"]
            print(f"  {r['method']:<9} {r['att']:10.4g}  95% CI [{r['ci_low']:.4g}, {r['ci_high']:.4g}]  truth inside: {inside}")
    if res.retention is not None:
        print(f"\nmembership churn hazard ratio {res.retention.hazard_ratio:.3f} "
              f"[{res.retention.ci_low:.3f}, {res.retention.ci_high:.3f}] (generator: {truth.loyalty_churn_hazard_ratio}; "
              "observed 'churn' = 180 days without purchase, not the latent death)")
    if res.staggered is not None and res.staggered.window is not None:
        w = res.staggered.window
        print(f"Callaway-Sant'Anna, no covariates, months 0..{post - 1} after joining: {w['att']:.4g} "
              f"[{w['ci_low']:.4g}, {w['ci_high']:.4g}] (parallel trends in money fail under churn: biased, for contrast)")
    rob = res.robustness
    if rob is not None:
        for _, r in rob[rob["outcome"] == "spend"].iterrows():
            print(f"robustness {r['check']:<8} {r['setting']:<36} {r['att']:9.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]")
    e = res.economics.table
    print(f"economics (default costs: 3% rewards, 20% breakage): net value {e.loc['net_value', 'estimate']:.4g} "
          f"[{e.loc['net_value', 'ci_low']:.4g}, {e.loc['net_value', 'ci_high']:.4g}], ROI {e.loc['roi', 'estimate']:.3f}")


def bench_propensity(mp) -> None:
    """cxlab's logit against statsmodels on the loyalty propensity design (history covariates)."""
    import statsmodels.api as sm

    from cxlab.uplift import prepost_windows
    from cxlab.uplift._utils import design_matrix, single_thread_blas
    from cxlab.uplift.core import fit_logit

    data = prepost_windows(mp)
    X, names = design_matrix(data.frame[data.history_columns])
    d = data.treated
    t = time.perf_counter()
    mine = fit_logit(X, d, names=names)
    t_mine = time.perf_counter() - t
    times = {}
    for label in ("default threads", "one thread"):
        t = time.perf_counter()
        if label == "one thread":
            with single_thread_blas():
                ref = sm.Logit(d.astype(float), X).fit(disp=0, method="newton", maxiter=100, tol=1e-12)
        else:
            ref = sm.Logit(d.astype(float), X).fit(disp=0, method="newton", maxiter=100, tol=1e-12)
        times[label] = time.perf_counter() - t
    best = min(times, key=times.get)
    rel = np.max(np.abs(mine.coef - ref.params) / np.maximum(np.abs(ref.params), 1e-12))
    print(f"\npropensity logit on {X.shape[0]:,} rows x {X.shape[1]} columns: cxlab {t_mine:.2f} s "
          f"({mine.n_iter} Newton steps); statsmodels Logit newton {times[best]:.2f} s ({best}; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in times.items())
          + f"); ratio statsmodels / cxlab = {times[best] / t_mine:.1f}x; max relative coefficient difference {rel:.1e}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
