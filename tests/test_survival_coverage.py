"""Coverage of the intervals cxlab.survival reports, as rates over many simulated data sets.

The retention section shows Cox hazard ratios with 95% intervals (``fit_cox``, or
``fit_time_varying_cox`` when the client has a loyalty program) and Kaplan-Meier curves with a 95%
band. Each test draws N data sets from a model with a known truth (fixed seeds), counts how often the
interval contains it and accepts the count if it lies in the 99% band of Binomial(N, 0.95),
Bonferroni-split over the terms a test checks (``assert_coverage``, tests/conftest.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlab.survival import fit_cox, fit_time_varying_cox, kaplan_meier

# log hazard ratios of the simulated Cox model
COX_TRUTH = {"treated": np.log(1.5), "score": -0.3, "channel[b]": np.log(0.7), "channel[c]": np.log(1.3)}


def _cox_data(n: int, seed: int) -> pd.DataFrame:
    """Exponential lifetimes (baseline hazard 0.004/day) under COX_TRUTH, administrative censoring at
    100..400 days; durations in whole days (ties, as churn_durations gives them)."""
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < 0.4
    score = rng.normal(size=n)
    channel = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    lp = (COX_TRUTH["treated"] * treated + COX_TRUTH["score"] * score
          + np.select([channel == "b", channel == "c"], [COX_TRUTH["channel[b]"], COX_TRUTH["channel[c]"]], 0.0))
    life = rng.exponential(1 / (0.004 * np.exp(lp)))
    follow = rng.uniform(100, 400, n)
    return pd.DataFrame({"duration": np.ceil(np.minimum(life, follow)), "event": life < follow,
                         "treated": treated.astype(int), "score": score, "channel": channel})


@pytest.mark.slow
def test_cox_hazard_ratio_intervals_cover_at_the_nominal_rate(assert_coverage):
    """200 data sets of 500 customers (~65% churned): each term's 95% HR interval."""
    n_seeds = 200
    hits = dict.fromkeys(COX_TRUTH, 0)
    for seed in range(n_seeds):
        hr = fit_cox(_cox_data(500, 3000 + seed), covariates=["treated", "score", "channel"],
                     reference={"channel": "a"}, check_ph=False).hazard_ratios
        for term, beta in COX_TRUTH.items():
            hits[term] += bool(hr.loc[term, "hr_ci_low"] < np.exp(beta) < hr.loc[term, "hr_ci_high"])
    for term in COX_TRUTH:
        assert_coverage(hits[term], n_seeds, level=1 - 0.01 / len(COX_TRUTH), what=f"Cox HR {term}")


def _membership_data(n: int, seed: int, hr_member: float = 0.6, hr_segment: float = 1.5):
    """Exponential lifetimes whose hazard is multiplied by hr_member from a random join date on.

    Hazard 0.01/day x hr_segment for segment b; join time ~ Exp(mean 60 days) (never, for a third of
    the customers); death solves the piecewise-constant cumulative hazard = Exp(1); censoring
    uniform on 50..250 days.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    segment = rng.choice(["a", "b"], n)
    h = 0.01 * np.where(segment == "b", hr_segment, 1.0)
    never = rng.random(n) < 1 / 3
    join = np.where(never, 1e9, rng.exponential(60, n))   # 1e9 days: never within the follow-up
    e = rng.exponential(1, n)
    death = np.where(e < h * join, e / h, join + (e - h * join) / (h * hr_member))
    censor = rng.uniform(50, 250, n)
    durations = pd.DataFrame({"start": start, "duration": np.minimum(death, censor), "event": death <= censor},
                             index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"))
    join_date = start + pd.to_timedelta(np.where(never, np.nan, np.round(join * 86400)), unit="s")
    customers = pd.DataFrame({"customer_id": durations.index, "loyalty_join_date": join_date, "segment": segment})
    return durations, customers


@pytest.mark.slow
def test_time_varying_membership_hazard_ratio_intervals_cover(assert_coverage):
    """300 data sets of 600 customers, cxlab's counting-process Cox solver (the report's default)."""
    truth = {"member": 0.6, "segment[b]": 1.5}
    n_seeds = 300
    hits = dict.fromkeys(truth, 0)
    for seed in range(n_seeds):
        durations, customers = _membership_data(600, 4000 + seed)
        hr = fit_time_varying_cox(durations, customers, covariates=["segment"], reference={"segment": "a"}).hazard_ratios
        for term, value in truth.items():
            hits[term] += bool(hr.loc[term, "hr_ci_low"] < value < hr.loc[term, "hr_ci_high"])
    for term in truth:
        assert_coverage(hits[term], n_seeds, level=1 - 0.01 / len(truth), what=f"time-varying Cox HR {term}")


@pytest.mark.slow
def test_kaplan_meier_band_covers_the_true_survival(assert_coverage):
    """400 samples of 300 exponential lifetimes (mean 300 days), censored uniformly on 100..400 days:
    the pointwise 95% band at day 150 and day 300 covers S(t) = exp(-t/300)."""
    n_seeds = 400
    times = (150.0, 300.0)
    hits = dict.fromkeys(times, 0)
    for seed in range(n_seeds):
        rng = np.random.default_rng(6000 + seed)
        life, follow = rng.exponential(300.0, 300), rng.uniform(100, 400, 300)
        frame = pd.DataFrame({"duration": np.minimum(life, follow), "event": life < follow})
        curve = kaplan_meier(frame, duration_col="duration", event_col="event").survival
        for t in times:
            row = curve[curve["time"] <= t].iloc[-1]
            hits[t] += bool(row["ci_low"] < np.exp(-t / 300.0) < row["ci_high"])
    for t in times:
        assert_coverage(hits[t], n_seeds, level=1 - 0.01 / len(times), what=f"Kaplan-Meier S({t:.0f})")
