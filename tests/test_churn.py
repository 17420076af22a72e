"""Tests of cxlab.churn: threshold choice from inter-purchase gaps, duration/event tables."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from cxlab.churn import (
    ChurnThresholdAnalysis,
    churn_table,
    churn_threshold_analysis,
    contractual_durations,
    plot_churn_threshold,
)


def _gaps(seed: int = 0, n: int = 3000, mean_gap: float = 30.0, observation: float = 365.0) -> pd.DataFrame:
    """Customers buying with exponential gaps (mean 30 days), observed for a year, never churning."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        t = rng.uniform(0, observation / 2)
        while True:
            g = rng.exponential(mean_gap)
            if t + g > observation:
                rows.append((i, observation - t, True))
                break
            rows.append((i, g, False))
            t += g
    return pd.DataFrame(rows, columns=["customer_id", "gap", "censored"])


def test_threshold_is_the_km_percentile_of_gaps():
    gaps = _gaps()
    res = churn_threshold_analysis(gaps, quantiles=(0.9, 0.95))
    assert isinstance(res, ChurnThresholdAnalysis)
    # exponential gaps with mean 30: the 90% / 95% percentiles are 30 ln 10 and 30 ln 20
    assert res.threshold(0.9) == pytest.approx(30 * np.log(10), rel=0.05)
    assert res.threshold(0.95) == pytest.approx(30 * np.log(20), rel=0.06)
    rec = res.recommended.set_index("quantile")
    assert rec.loc[0.9, "false_churn_rate"] == pytest.approx(0.10, abs=0.01)
    # the same number from lifelines' KM on the gaps with the open gaps censored
    kmf = KaplanMeierFitter().fit(gaps["gap"], ~gaps["censored"])
    sf = kmf.survival_function_.iloc[:, 0]
    assert res.threshold(0.9) == pytest.approx(sf.index[sf.to_numpy() <= 0.1][0])


def test_ignoring_open_gaps_would_bias_the_threshold_down():
    gaps = _gaps(seed=1)
    res = churn_threshold_analysis(gaps)
    naive = np.percentile(gaps.loc[~gaps["censored"], "gap"], 90)
    assert naive < res.threshold(0.9)


def test_tradeoff_is_monotone_and_shares_are_correct():
    gaps = _gaps(seed=2, n=500)
    res = churn_threshold_analysis(gaps, candidates=[10, 30, 60, 90, 120])
    tr = res.tradeoff
    assert np.all(np.diff(tr["false_churn_rate"]) <= 0) and np.all(np.diff(tr["share_flagged"]) <= 0)
    open_gaps = gaps.loc[gaps["censored"], "gap"]
    assert tr.loc[tr["threshold"] == 60, "share_flagged"].item() == pytest.approx((open_gaps > 60).mean())
    assert "Choosing the churn threshold" in str(res)
    assert res.to_dict()["n_open"] == 500
    json.dumps(res.to_dict())
    ax = plot_churn_threshold(data=res)
    assert ax.get_ylabel() == "share"
    plt.close(ax.figure)


def test_threshold_input_errors():
    with pytest.raises(ValueError, match="missing column"):
        churn_threshold_analysis(pd.DataFrame({"customer_id": [1], "gap": [3.0]}))
    with pytest.raises(ValueError, match="no completed gap"):
        churn_threshold_analysis(pd.DataFrame({"customer_id": [1, 2], "gap": [3.0, 4.0], "censored": [True, True]}))
    with pytest.raises(ValueError, match="more than one censored"):
        churn_threshold_analysis(pd.DataFrame({"customer_id": [1, 1, 2], "gap": [3.0, 4.0, 1.0],
                                               "censored": [True, True, False]}))


def test_churn_table_and_gaps_through_the_data_layer():
    from cxlab.data import interpurchase_gaps

    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-05", "2024-05-01",
                                     "2024-03-01"]),
        "amount": [10.0, 12.0, 9.0, 20.0, 25.0, 5.0],
    })
    gaps = interpurchase_gaps(tx, unit="D", observation_end="2024-06-29")
    res = churn_threshold_analysis(gaps, candidates=[30, 100])
    assert res.n_customers == 3 and res.n_open == 3
    table = churn_table(tx, threshold=90, unit="D", observation_end="2024-06-29")
    assert bool(table.loc["a", "event"]) and table.loc["a", "duration"] == 30
    assert not bool(table.loc["b", "event"])
    with pytest.raises(ValueError, match="threshold"):
        churn_table(tx, threshold=0)


def test_contractual_durations():
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "signup_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01", "2025-02-01"]),
        "end_date": pd.to_datetime(["2024-01-31", None, "2025-06-01", None]),
    })
    d = contractual_durations(customers, observation_end="2024-12-31", unit="D")
    assert list(d.index) == ["a", "b", "c"]  # d starts after the observation end
    assert d.loc["a", "duration"] == 30 and bool(d.loc["a", "event"])
    assert d.loc["b", "duration"] == 365 and not bool(d.loc["b", "event"])
    assert not bool(d.loc["c", "event"]) and pd.isna(d.loc["c", "end"])  # ends after observation end
    w = contractual_durations(customers, observation_end="2024-12-31", unit="W")
    assert w.loc["a", "duration"] == pytest.approx(30 / 7)
    bad = customers.assign(end_date=pd.to_datetime(["2023-01-01", None, None, None]))
    with pytest.raises(ValueError, match="end_date is before signup_date"):
        contractual_durations(bad, observation_end="2024-12-31")
    with pytest.raises(ValueError, match="missing column"):
        contractual_durations(customers.drop(columns="end_date"), observation_end="2024-12-31")


def test_threshold_when_the_gap_curve_levels_off_is_the_percentile_of_pauses_that_end():
    # After each purchase a customer leaves for good with probability 0.3 (the open pause never
    # ends); otherwise the next purchase follows an exponential pause of mean 30 days. About 30 %
    # of pauses never end, so the gap curve levels off far above 10 % and the 90 % percentile of
    # all pauses does not exist; the rule then takes the 90 % percentile of the pauses that
    # end: 30 ln 10.
    rng = np.random.default_rng(3)
    rows = []
    observation = 720.0
    for i in range(3000):
        t = rng.uniform(0, observation / 2)
        while True:
            if rng.random() < 0.3:
                rows.append((i, observation - t, True))
                break
            g = rng.exponential(30.0)
            if t + g > observation:
                rows.append((i, observation - t, True))
                break
            rows.append((i, g, False))
            t += g
    gaps = pd.DataFrame(rows, columns=["customer_id", "gap", "censored"])
    res = churn_threshold_analysis(gaps, quantiles=(0.9,))
    assert np.isnan(res.threshold(0.9))
    choice = res.choose(0.9)
    assert choice.rule == "returning_quantile"
    assert choice.plateau > 0.1
    assert choice.threshold == pytest.approx(30 * np.log(10), rel=0.08)
    assert choice.false_churn_rate == pytest.approx(0.10, abs=0.01)
    rec = res.recommended.set_index("quantile")
    assert rec.loc[0.9, "threshold"] == choice.threshold and rec.loc[0.9, "rule"] == "returning_quantile"
    json.dumps(choice.to_dict())


def test_threshold_rule_prefers_the_km_percentile_when_it_is_reached():
    res = churn_threshold_analysis(_gaps(), quantiles=(0.9,))
    choice = res.choose(0.9)
    assert choice.rule == "km_quantile" and choice.threshold == res.threshold(0.9)


def test_each_reading_is_monotone_in_the_quantile_so_a_table_can_show_one():
    """The two readings can cross (a 95 % 'pauses that end' below a 90 % 'all pauses'); each alone is monotone."""
    res = churn_threshold_analysis(_gaps(seed=4), quantiles=(0.5, 0.8, 0.9, 0.95, 0.99))
    rec = res.recommended
    for rule in ("km_quantile", "returning_quantile"):
        x = rec[f"threshold_{rule}"].dropna().to_numpy()
        assert np.all(np.diff(x) >= 0), rule
    assert (rec["threshold_returning_quantile"] <= rec["threshold_km_quantile"].fillna(np.inf)).all()
