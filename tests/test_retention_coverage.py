"""Uncertainty of cxlab.retention: sBG standard errors against a closed form, interval coverage over seeds.

Coverage tests count, over N independent simulated data sets with a fixed seed each, how often the
nominal 95% interval contains the true value, and accept the count if it lies in the two-sided 99%
band of Binomial(N, 0.95) -- a rate, never one lucky seed (``assert_coverage`` in tests/conftest.py).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from cxlab.retention import ShiftedBetaGeometric, binomial_ci

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007), "regular" cohort


# --------------------------------------------------------------------------- sBG standard errors
def _sbg_loglik_hessian(alpha: float, beta: float, survivors) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the sBG log-likelihood in (alpha, beta), in closed form.

    From the recursion of Fader & Hardie (2007): P(T=1) = a/(a+b), P(T=t) = P(T=t-1) (b+t-2)/(a+b+t-1),
    so ln P(T=t) = ln a + sum_{k<t} ln(b+k-1) - sum_{k<=t} ln(a+b+k-1) and
    ln S(t) = sum_{k<=t} [ln(b+k-1) - ln(a+b+k-1)]. Written here independently of cxlab.
    """
    s = np.asarray(survivors, float)
    lost = s[:-1] - s[1:]
    g, h = np.zeros(2), np.zeros((2, 2))
    for t in range(1, s.size):
        k_b = np.arange(1, t)             # ln(b + k - 1), k = 1..t-1, in ln P(T = t)
        k_ab = np.arange(1, t + 1)        # ln(a + b + k - 1), k = 1..t
        inv_b, inv_ab = 1 / (beta + k_b - 1), 1 / (alpha + beta + k_ab - 1)
        # ln P(T = t), weight: customers lost in period t
        g += lost[t - 1] * np.array([1 / alpha - inv_ab.sum(), inv_b.sum() - inv_ab.sum()])
        h += lost[t - 1] * np.array([[-1 / alpha**2 + (inv_ab**2).sum(), (inv_ab**2).sum()],
                                     [(inv_ab**2).sum(), -(inv_b**2).sum() + (inv_ab**2).sum()]])
    t = s.size - 1                        # ln S(t_last) for those still active
    inv_b, inv_ab = 1 / (beta + np.arange(1, t + 1) - 1), 1 / (alpha + beta + np.arange(1, t + 1) - 1)
    g += s[-1] * np.array([-inv_ab.sum(), inv_b.sum() - inv_ab.sum()])
    h += s[-1] * np.array([[(inv_ab**2).sum(), (inv_ab**2).sum()],
                           [(inv_ab**2).sum(), -(inv_b**2).sum() + (inv_ab**2).sum()]])
    return g, h


def test_sbg_closed_form_log_likelihood_matches_betaln():
    """The recursion above is the Beta-function form P(T=t) = B(a+1, b+t-1)/B(a, b) (guards the helper)."""
    a, b = 0.8, 1.3
    t = np.arange(1, 8)
    direct = special.betaln(a + 1, b + t - 1) - special.betaln(a, b)
    rec = [np.log(a / (a + b))]
    for k in range(2, 8):
        rec.append(rec[-1] + np.log((b + k - 2) / (a + b + k - 1)))
    np.testing.assert_allclose(rec, direct, rtol=1e-12)


def test_sbg_standard_errors_match_closed_form_information():
    """Fader & Hardie's regular cohort: SEs = sqrt(diag(inverse observed information)), closed form.

    The observed information is invariant to reparametrisation at the maximum, so cxlab's SEs (log-scale
    Hessian by differences, then the delta method) must equal the natural-scale closed form. Tolerance:
    rel 1e-4 covers the central-difference error of cxlab's Hessian (step 1e-4 on the log scale: ~1e-8)
    and its optimum (gradient ~1e-9); a doubled variance would be 41% off.
    """
    m = ShiftedBetaGeometric().fit(REGULAR)
    a, b = m.params_["alpha"], m.params_["beta"]
    grad, hess = _sbg_loglik_hessian(a, b, REGULAR)
    assert np.all(np.abs(grad) < 1e-3), grad                       # cxlab's estimate is the maximum
    se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    assert m.standard_errors_["alpha"] == pytest.approx(se[0], rel=1e-4)
    assert m.standard_errors_["beta"] == pytest.approx(se[1], rel=1e-4)
    # values for the record: alpha 0.0656, beta 0.1525
    assert se == pytest.approx([0.06560, 0.15248], abs=5e-5)
    params = dict(m.summary().tables)["Parameters"]
    assert params.loc["alpha", "std_error"] == pytest.approx(se[0], rel=1e-4)


# --------------------------------------------------------------------------- sBG coverage
@pytest.mark.slow
def test_sbg_parameter_intervals_cover_at_the_nominal_rate(assert_coverage):
    """400 cohorts of 1,000 customers, 8 periods, theta ~ Beta(0.7, 1.2) (the regular cohort's fit).

    The intervals are the summary's log-scale Wald intervals. Each parameter's count must be in the
    99.5% band (99% Bonferroni-split over the two parameters). Measured: alpha 376/400, beta 376/400
    (2,000 seeds: 1900 and 1905).
    """
    truth = {"alpha": 0.7, "beta": 1.2}
    n_seeds = 400
    hits = dict.fromkeys(truth, 0)
    for seed in range(n_seeds):
        rng = np.random.default_rng(5000 + seed)
        life = rng.geometric(rng.beta(truth["alpha"], truth["beta"], 1000))   # periods until churn, >= 1
        survivors = [int((life > t).sum()) for t in range(8)]
        params = dict(ShiftedBetaGeometric().fit(survivors).summary().tables)["Parameters"]
        for name, value in truth.items():
            hits[name] += bool(params.loc[name, "ci_low"] < value < params.loc[name, "ci_high"])
    for name in truth:
        assert_coverage(hits[name], n_seeds, level=1 - 0.01 / len(truth), what=f"sBG {name}")


# --------------------------------------------------------------------------- retention-curve interval
def test_wilson_interval_of_the_retention_curve_covers_at_the_nominal_rate(assert_coverage):
    """The average retention curve's 95% band is a Wilson interval on pooled counts (binomial_ci).

    2,000 binomial draws of 400 customers retained with probability 0.35: the count of covering
    intervals must be in the 99% band of Binomial(2000, 0.95). (The exact coverage of Wilson at
    n = 400, p = 0.35 is 0.9477, well inside.) Clopper-Pearson is conservative by construction:
    only under-coverage fails it.
    """
    rng = np.random.default_rng(11)
    n, p, draws = 400, 0.35, 2000
    k = rng.binomial(n, p, draws)
    lo, hi = binomial_ci(k, np.full(draws, n))
    assert_coverage(((lo <= p) & (p <= hi)).sum(), draws, what="Wilson, n = 400, p = 0.35")
    lo, hi = binomial_ci(k, np.full(draws, n), method="clopper-pearson")
    assert_coverage(((lo <= p) & (p <= hi)).sum(), draws, one_sided=True, what="Clopper-Pearson")
