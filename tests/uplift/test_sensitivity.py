"""Sensitivity to unobserved confounding: sensemakr's published Darfur numbers, Rosenbaum bounds."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlab.uplift import ovb_sensitivity, robustness_value, rosenbaum_bounds
from cxlab.uplift.core import design_frame, fit_ols

DARFUR = Path(__file__).parents[1] / "data" / "darfur" / "darfur.csv"


def test_darfur_robustness_values_equal_sensemakr():
    """Cinelli & Hazlett (2020): directlyharmed 0.097 (SE 0.023), t 4.18, RV 13.9 %, RV_alpha=0.05 7.6 %."""
    df = pd.read_csv(DARFUR)
    cov = ["directlyharmed", "age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female", "village"]
    X, names = design_frame(df, cov)
    fit = fit_ols(X, df["peacefactor"].to_numpy(float))
    n, k = X.shape
    dof = n - k
    se = np.sqrt(fit.resid @ fit.resid / dof * fit.gram_inv[1, 1] / n)
    s = ovb_sensitivity(fit.coef[1], se, dof)
    assert dof == 783
    assert round(s.estimate, 3) == 0.097 and round(s.se, 3) == 0.023 and round(s.t_stat, 2) == 4.18
    assert round(s.partial_r2, 3) == 0.022
    assert round(s.rv, 3) == 0.139 and round(s.rv_alpha, 3) == 0.076
    # PySensemakr 0.0.8 (run in a throwaway venv): 0.138776, 0.076258
    assert s.rv == pytest.approx(0.138776, abs=1e-6) and s.rv_alpha == pytest.approx(0.076258, abs=1e-6)
    assert "13.9%" in s.sentence("en") and "13.9%" in s.sentence("ru")


def test_robustness_value_edge_cases():
    assert robustness_value(0.0, 100) == 0.0
    assert robustness_value(1.0, 100, alpha=0.05) == 0.0  # not significant: nothing to explain away
    assert robustness_value(50.0, 100) > robustness_value(5.0, 100)
    with pytest.raises(ValueError, match="degree"):
        robustness_value(2.0, 1)


def _exact_upper_p(diff, gamma):
    """Exact upper bound: each rank is positive independently with probability Γ/(1+Γ) (no ties)."""
    ranks = stats.rankdata(np.abs(diff)).astype(int)
    T = ranks[diff > 0].sum()
    p = gamma / (1 + gamma)
    dist = np.zeros(ranks.sum() + 1)
    dist[0] = 1.0
    for r in ranks:
        dist = np.concatenate([dist[:r] * (1 - p), dist[r:] * (1 - p) + dist[:-r] * p]) if r else dist
    return dist[T:].sum()


def test_rosenbaum_bounds_agree_with_the_exact_distribution_and_wilcoxon():
    rng = np.random.default_rng(0)
    diff = rng.normal(0.6, 1, 60)
    res = rosenbaum_bounds(diff, gammas=(1.0, 1.5, 2.0))
    w = stats.wilcoxon(diff, alternative="greater", method="approx", correction=False)
    assert res.table["p_upper"].iloc[0] == pytest.approx(w.pvalue, rel=1e-8)
    for g, p in zip(res.table["gamma"], res.table["p_upper"]):
        assert p == pytest.approx(_exact_upper_p(diff, g), abs=0.01)
    assert np.all(np.diff(res.table["p_upper"]) > 0)
    crit = res.gamma_critical
    assert 1 < crit < 10
    assert rosenbaum_bounds(diff, gammas=(crit,)).table["p_upper"].iloc[0] == pytest.approx(0.05, abs=1e-4)
    assert "Γ" in res.sentence("en") and "Γ" in res.sentence("ru")
    null = rosenbaum_bounds(rng.normal(0, 1, 60))
    assert "not significant" in null.sentence("en") or null.gamma_critical > 1


def test_loyalty_headline_carries_a_sensitivity_sentence():
    import warnings

    from cxlab.data import customer_period_panel
    from cxlab.datasets import make_demo_dataset
    from cxlab.uplift import analyze_loyalty

    ds = make_demo_dataset(4000, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze_loyalty(customer_period_panel(ds.transactions, period="M"), ds.customers, heterogeneity=False,
                              robustness=False, staggered=False)
    dr = res.prepost.estimate("spend", "dr")
    s = res.sensitivity
    assert s.estimate == pytest.approx(dr["att"]) and s.t_stat == pytest.approx(dr["att"] / dr["se"])
    assert 0 <= s.rv_alpha <= s.rv < 1
    assert "doubly robust" in s.sentence("en") and "робастной" in s.sentence("ru")
    assert res.to_dict()["sensitivity"]["rv"] == pytest.approx(s.rv)
