"""Coverage of the CLV prediction intervals (``cxlab.ltv.prediction_intervals``) over many seeds.

Each seed draws 2,000 customers from a BG/NBD with Gamma-Gamma spend (``cxlab.datasets``), fits both
models and asks ``prediction_intervals`` (default level 90%, ``method="asymptotic"``) for three fixed
customer histories and one customer of the simulated base:

* parameter-uncertainty intervals of the expected purchases over 12 months, P(alive) and the
  discounted CLV must contain the same quantity computed at the *true* parameters (for the three fixed
  histories: 9 rates);
* the predictive interval of the actual number of purchases (``process_samples``) must contain the
  simulated customer's future purchases, drawn from their latent rate and dropout probability. Its
  bounds are quantiles of a count taken outward (``lower``/``higher``), so the interval covers at least
  the nominal 90% when it is right: only under-coverage fails it (one-sided).

Each count must lie in the 99% band of Binomial(120, 0.90), Bonferroni-split over the 10 rates
(``assert_coverage``, tests/conftest.py). 120 seeds because each seed evaluates the models at 100
parameter draws; the band is wide (~97..117 of 120), so this catches gross miscalibration (intervals
at the wrong level, a spend or parameter uncertainty left out), not a few points. Measured over 400
seeds with 200 draws: 0.88-0.93 for the 9 parameter intervals, 0.96 for the predictive one.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlab.datasets import simulate_bgnbd, simulate_gamma_gamma
from cxlab.ltv import BGNBD, GammaGamma, prediction_intervals
from cxlab.ltv.clv import UNITS_PER_MONTH

TRUE_BG = dict(r=0.5, alpha=5.0, a=0.8, b=2.5)
TRUE_GG = dict(p=6.0, q=4.0, gamma=15.0)
HORIZON_MONTHS, MONTHLY_DISCOUNT = 12, 0.01
PROBES = pd.DataFrame({"frequency": [1, 4, 10], "recency": [10.0, 30.0, 38.0], "T": [39.0] * 3,
                       "monetary_value": [20.0, 35.0, 50.0]}, index=["x1", "x4", "x10"])


def _truth() -> dict[str, np.ndarray]:
    """The three quantities at the true parameters; the discounting written out month by month."""
    bg, gg = BGNBD(), GammaGamma()
    tb, tg = list(TRUE_BG.values()), list(TRUE_GG.values())
    weeks = UNITS_PER_MONTH["W"]
    months = np.arange(1, HORIZON_MONTHS + 1)
    cum = np.vstack([np.zeros(len(PROBES))] + [bg.expected_purchases(m * weeks, PROBES, params=tb) for m in months])
    discounted = sum(np.diff(cum, axis=0)[m - 1] / (1 + MONTHLY_DISCOUNT) ** m for m in months)
    return {
        "expected_purchases": bg.expected_purchases(HORIZON_MONTHS * weeks, PROBES, params=tb),
        "p_alive": bg.probability_alive(PROBES, params=tb),
        "clv": gg.conditional_expected_spend(PROBES, params=tg) * discounted,
    }


@pytest.mark.slow
def test_clv_prediction_intervals_cover(assert_coverage):
    n_seeds, level = 120, 0.9
    truth = _truth()
    hits = {(k, p): 0 for k in truth for p in PROBES.index}
    process_hits = 0
    weeks = HORIZON_MONTHS * UNITS_PER_MONTH["W"]
    for seed in range(n_seeds):
        sim = simulate_bgnbd(2_000, T=39.0, seed=20_000 + seed, **TRUE_BG)
        sim["monetary_value"] = simulate_gamma_gamma(sim["frequency"], seed=30_000 + seed, **TRUE_GG)["monetary_value"]
        bg, gg = BGNBD().fit(sim), GammaGamma().fit(sim)
        data = pd.concat([PROBES, sim.iloc[[0]][PROBES.columns]])
        table = prediction_intervals(bg, data, spend_model=gg, horizon_months=HORIZON_MONTHS,
                                     discount_rate=MONTHLY_DISCOUNT, n_draws=100, level=level,
                                     method="asymptotic", process_samples=5, seed=seed).table
        for k, values in truth.items():
            for i, p in enumerate(PROBES.index):
                hits[(k, p)] += bool(table.loc[p, f"{k}_lower"] <= values[i] <= table.loc[p, f"{k}_upper"])
        # the simulated customer's future: alive at T, purchases at rate lambda, dropping out after each
        # one with probability p (memoryless), i.e. min(Poisson(lambda t), Geometric(p)); else none
        c, rng = sim.iloc[0], np.random.default_rng(40_000 + seed)
        future = min(rng.poisson(c["true_lambda"] * weeks), rng.geometric(c["true_p"])) if c["true_alive"] else 0
        process_hits += bool(table.iloc[3]["purchases_lower"] <= future <= table.iloc[3]["purchases_upper"])
    band = 1 - 0.01 / (len(hits) + 1)
    for (k, p), count in hits.items():
        assert_coverage(count, n_seeds, level, level=band, what=f"{k} interval, history {p}")
    assert_coverage(process_hits, n_seeds, level, level=band, one_sided=True, what="predictive purchases interval")
