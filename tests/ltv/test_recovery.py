"""On synthetic data from cxlab.datasets the true parameters fall inside the 95% intervals."""
import numpy as np
import pytest

from cxlab.datasets import simulate_bgbb, simulate_bgnbd, simulate_gamma_gamma, simulate_pareto_nbd
from cxlab.ltv import BGBB, BGNBD, GammaGamma, ParetoNBD


def _covers(model, truth: dict):
    ci = model.confidence_intervals_
    for name, value in truth.items():
        assert ci.loc[name, "lower"] < value < ci.loc[name, "upper"], (name, value, ci.loc[name].to_dict())


def test_bgnbd_recovery():
    truth = dict(r=0.5, alpha=5.0, a=0.8, b=2.5)
    T = np.random.default_rng(1).uniform(20, 60, 20_000)
    _covers(BGNBD().fit(simulate_bgnbd(20_000, T=T, seed=2, **truth)), truth)


def test_pareto_nbd_recovery():
    truth = dict(r=0.6, alpha=8.0, s=0.8, beta=12.0)
    # T on a daily grid (as customer_summary gives it): identical rows collapse and the fit stays fast
    T = np.round(np.random.default_rng(3).uniform(20, 60, 10_000) * 7) / 7
    _covers(ParetoNBD().fit(simulate_pareto_nbd(10_000, T=T, seed=8, **truth)), truth)


def test_gamma_gamma_recovery():
    truth = dict(p=6.0, q=4.0, gamma=15.0)
    x = np.random.default_rng(5).integers(1, 10, 5_000)
    _covers(GammaGamma().fit(simulate_gamma_gamma(x, seed=6, **truth)), truth)


def test_bgbb_recovery():
    truth = dict(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    sim = simulate_bgbb(20_000, n_opportunities=6, seed=0, **truth)
    _covers(BGBB().fit(sim), truth)


@pytest.mark.slow
def test_coverage_rate_bgbb():
    # single seeds miss now and then (seed 7 at n = 20,000 puts alpha 2 SE high); the rate is the point
    truth = dict(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8)
    hits = []
    for seed in range(20):
        m = BGBB().fit(simulate_bgbb(3_000, n_opportunities=6, seed=200 + seed, **truth))
        ci = m.confidence_intervals_
        hits.append(all(ci.loc[k, "lower"] < v < ci.loc[k, "upper"] for k, v in truth.items()))
    assert np.mean(hits) >= 0.8


def test_coverage_rate_bgnbd():
    # across repeated small samples the 95% intervals cover r about 95% of the time
    truth = dict(r=0.5, alpha=5.0, a=0.8, b=2.5)
    hits = []
    for seed in range(40):
        m = BGNBD().fit(simulate_bgnbd(1_500, T=39.0, seed=100 + seed, **truth))
        ci = m.confidence_intervals_
        hits.append(all(ci.loc[k, "lower"] < v < ci.loc[k, "upper"] for k, v in truth.items()))
    assert np.mean(hits) >= 0.8
