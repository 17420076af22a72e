"""The uncertainty cxlab.survey reports: the NPS standard error against an independent computation, and
the coverage of every interval the survey section shows, as rates over many simulated data sets.

Coverage tests draw N data sets with a known truth (fixed seeds), count how often the 95% interval
contains it and accept the count if it lies in the 99% band of Binomial(N, 0.95), Bonferroni-split
over the quantities one test checks (``assert_coverage``, tests/conftest.py).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cxlab import survey as sv

# answer probabilities over the scores 0..10: detractors 0-6, passives 7-8, promoters 9-10
SCORE_P = np.array([0.03, 0.02, 0.02, 0.03, 0.04, 0.05, 0.06, 0.12, 0.18, 0.20, 0.25])
P_PRO, P_DET = SCORE_P[9:].sum(), SCORE_P[:7].sum()          # 0.45, 0.25
TRUE_NPS = 100 * (P_PRO - P_DET)                             # 20


def _trinomial_se(scores) -> float:
    """SE of the NPS in points from the multinomial covariance of the three shares.

    NPS = c'p with c = (+1, 0, -1) over (promoter, passive, detractor) shares p, and
    Cov(p_hat) = (diag(p) - p p') / n, so Var(NPS_hat) = c' Cov c. Written without cxlab.
    """
    s = np.asarray(scores)
    p = np.array([(s >= 9).mean(), ((s >= 7) & (s <= 8)).mean(), (s <= 6).mean()])
    c = np.array([1.0, 0.0, -1.0])
    cov = (np.diag(p) - np.outer(p, p)) / s.size
    return 100 * math.sqrt(c @ cov @ c)


@pytest.mark.parametrize("n, seed", [(37, 1), (250, 2), (4000, 3)])
def test_nps_standard_error_matches_the_trinomial_variance(n, seed):
    """nps_estimate, survey_metrics (the report's table) and nps_difference against c' Cov c."""
    rng = np.random.default_rng(seed)
    a = rng.choice(11, n, p=SCORE_P)
    b = rng.choice(11, n + 13, p=SCORE_P[::-1])
    se_a, se_b = _trinomial_se(a), _trinomial_se(b)
    est = sv.nps_estimate(a)
    assert est.se == pytest.approx(se_a, rel=1e-12)
    assert est.ci_low == pytest.approx(est.nps - 1.959963984540054 * se_a, rel=1e-12)
    surveys = pd.DataFrame({"customer_id": np.arange(n), "date": pd.Timestamp("2024-03-01"), "nps": a})
    row = sv.survey_metrics(surveys).table.set_index("metric").loc["nps"]
    assert row["estimate"] == pytest.approx(est.nps) and row["se"] == pytest.approx(se_a, rel=1e-12)
    assert row["ci_low"] == pytest.approx(est.ci_low) and row["ci_high"] == pytest.approx(est.ci_high)
    diff = sv.nps_difference(a, b)
    assert diff.se == pytest.approx(math.hypot(se_a, se_b), rel=1e-12)


def _answers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": np.arange(n),
        "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, n), unit="D"),
        "nps": rng.choice(11, n, p=SCORE_P),
    })


@pytest.mark.slow
def test_nps_intervals_of_the_report_cover_the_true_score(assert_coverage):
    """600 surveys of 400 answers over 2024 (true NPS 20): the overall 95% interval and the four
    quarterly ones of the trend chart (~100 answers each), both from survey_metrics as the report calls it."""
    n_seeds = 600
    overall, quarterly = 0, np.zeros(4, int)
    for seed in range(n_seeds):
        surveys = _answers(400, 8000 + seed)
        row = sv.survey_metrics(surveys).table.set_index("metric").loc["nps"]
        overall += bool(row["ci_low"] < TRUE_NPS < row["ci_high"])
        q = sv.survey_metrics(surveys, period="Q").table.sort_values("period")
        assert len(q) == 4
        quarterly += ((q["ci_low"] < TRUE_NPS) & (TRUE_NPS < q["ci_high"])).to_numpy()
    assert_coverage(overall, n_seeds, level=1 - 0.01 / 5, what="NPS overall (n = 400)")
    for i, hits in enumerate(quarterly):
        assert_coverage(hits, n_seeds, level=1 - 0.01 / 5, what=f"NPS quarter {i + 1} (n ~ 100)")


# --------------------------------------------------------------------------- NPS and churn
HR = {"promoter": 1.0, "passive": 1.4, "detractor": 2.2}
MEAN_LIFE = 1200.0   # days, promoters
HORIZON = 365.0


def _behaviour(n: int, seed: int):
    """Exponential lifetimes on tenure, hazard 1/1200 per day x HR of the customer's NPS group.

    Customers start over 2022, are observed to 2024-06-30, and are surveyed at a uniform time in their
    first 400 days if still active then (surveys reach living customers: delayed entry). Revenue per
    customer grows with tenure. Returns (surveys, durations, summary) shaped as the data layer gives them.
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:05d}" for i in range(n)])
    group = rng.choice(["promoter", "passive", "detractor"], n, p=[0.45, 0.30, 0.25])
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    obs_end = pd.Timestamp("2024-06-30")
    max_fu = (obs_end - start).days.to_numpy().astype(float)
    life = rng.exponential(MEAN_LIFE, n) / pd.Series(group).map(HR).to_numpy()
    duration = np.minimum(life, max_fu)
    survey_t = rng.uniform(0, 400, n)
    answered = survey_t < duration
    score = np.select([group == "promoter", group == "passive"], [rng.choice([9, 10], n), rng.choice([7, 8], n)],
                      rng.integers(0, 7, n))
    index = pd.Index(ids, name="customer_id")
    durations = pd.DataFrame({"start": start, "duration": duration, "event": life < max_fu}, index=index)
    summary = pd.DataFrame({"revenue": rng.gamma(2.0, 50.0, n) * np.maximum(duration / 7, 1),
                            "T": max_fu / 7.0}, index=index)
    surveys = pd.DataFrame({"customer_id": ids[answered], "date": (start + pd.to_timedelta(survey_t, unit="D"))[answered],
                            "nps": score[answered]})
    return surveys, durations, summary


@pytest.mark.slow
def test_nps_churn_hazard_ratios_and_revenue_at_stake_cover(assert_coverage):
    """120 data sets of 700 customers through nps_behaviour (delayed-entry Cox, Greenwood), as the
    report calls it: the detractor and passive hazard ratios vs promoters, and the revenue-at-stake
    interval, whose target is A_D x (F_D(h) - F_P(h)) with the active detractors' annual revenue A_D
    taken as known (as the method states) and F_g(h) = 1 - exp(-h HR_g / 1200) (memoryless lifetimes:
    the churn probability within h days of the answer).

    120 seeds because each fit takes ~0.3 s (lifelines' delayed-entry Cox); the 99.67% band of
    Binomial(120, 0.95) is 106..120, so this catches gross miscalibration only.
    """
    n_seeds = 120
    excess = math.exp(-HORIZON / MEAN_LIFE) - math.exp(-HORIZON * HR["detractor"] / MEAN_LIFE)
    hits = {"detractor": 0, "passive": 0, "revenue_at_stake": 0}
    for seed in range(n_seeds):
        surveys, durations, summary = _behaviour(700, 9000 + seed)
        res = sv.nps_behaviour(surveys, durations, summary, horizon=HORIZON)
        hr = res.hazard_ratios.set_index("nps_group")
        for g in ("detractor", "passive"):
            hits[g] += bool(hr.loc[g, "ci_low"] < HR[g] < hr.loc[g, "ci_high"])
        rs = res.revenue_at_stake
        assert rs["active_detractors"] > 20        # the design keeps A_D away from 0
        target = rs["annual_revenue_active_detractors"] * excess
        hits["revenue_at_stake"] += bool(rs["ci_low"] < target < rs["ci_high"])
    for name, count in hits.items():
        assert_coverage(count, n_seeds, level=1 - 0.01 / len(hits), what=f"NPS behaviour {name}")
