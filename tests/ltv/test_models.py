"""Model mechanics: weighting, input checks, predictions against closed forms and simulation."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import hyp2f1

from cxlab.ltv import BGBB, BGNBD, MBGNBD, GammaGamma, ParetoNBD
from cxlab.ltv._special import log_hyp2f1_a_b_ap1

BG_CDNOW = [0.243, 4.414, 0.793, 2.426]
PNBD_CDNOW = [0.553, 10.578, 0.606, 11.669]


def _series_2f1(a, b, z, n_terms=200_000):
    # Euler transform: 2F1(a,b;a+1;z) = (1-z)^(1-b) sum_k (a+1-b)_k/(a+1)_k z^k, all terms positive
    k = np.arange(n_terms)
    log_terms = np.cumsum(np.log((a + 1 - b + k) / (a + 1 + k)) + np.log(z))
    log_terms = np.concatenate([[0.0], log_terms[:-1]])
    return (1 - b) * np.log1p(-z) + np.log(np.exp(log_terms).sum())


@pytest.mark.parametrize("a,b,z", [(5.0, 1.6, 0.85), (40.0, 1.2, 0.95), (2.5, 3.0, 0.99), (120.0, 8.0, 0.9),
                                   (0.6, 1.1, 0.999), (30.0, 2.0, 0.9995), (3.0, 1.5, 0.99995),
                                   (250.0, 2.2, 0.9998)])
def test_log_hyp2f1_quadrature_branch_matches_series(a, b, z):
    assert log_hyp2f1_a_b_ap1(np.array([a]), np.array([b]), np.array([z]))[0] == pytest.approx(
        _series_2f1(a, b, z), abs=1e-7)


def test_log_hyp2f1_scipy_branch():
    a, b, z = np.array([3.0, 30.0]), np.array([1.5, 2.0]), np.array([0.3, 0.7])
    assert np.allclose(log_hyp2f1_a_b_ap1(a, b, z), np.log(hyp2f1(a, b, a + 1, z)), rtol=1e-12)


def test_identical_customers_are_weighted(cdnow_published_summary):
    df = cdnow_published_summary
    doubled = pd.concat([df, df])
    m1 = BGNBD().fit(df, weights=np.full(len(df), 2.0))
    m2 = BGNBD().fit(doubled)
    assert m1.result_.n_unique_rows == m2.result_.n_unique_rows < len(df)
    assert np.allclose(m1.params_, m2.params_, rtol=1e-6)
    assert m1.log_likelihood_ == pytest.approx(m2.log_likelihood_, rel=1e-10)
    # doubling the data halves the variance
    assert np.allclose(m2.standard_errors_ * np.sqrt(2), BGNBD().fit(df).standard_errors_, rtol=1e-3)


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_row_loglik_sums_to_total(model, cdnow_published_summary):
    m = model().fit(cdnow_published_summary)
    d = m._rows(cdnow_published_summary)
    assert m._loglik_rows(m.params_.to_numpy(), d).sum() == pytest.approx(m.log_likelihood_, abs=1e-6)


def test_bgnbd_analytic_gradient_matches_differences(cdnow_published_summary):
    m = BGNBD()
    d, _ = m._prepare(cdnow_published_summary)
    theta = np.array([0.3, 5.0, 0.7, 2.0])
    _, g = m._terms(theta, d, grad=True)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6 * theta[i]
        num = (m._total_loglik(theta + e, d) - m._total_loglik(theta - e, d)) / (2 * e[i])
        assert g[i] == pytest.approx(num, rel=1e-5)


@pytest.mark.parametrize("bad,match", [
    ({"frequency": [1.5]}, "whole numbers"),
    ({"recency": [50.0]}, "must not exceed 'T'"),
    ({"frequency": [-1]}, ">= 0"),
    ({"T": [np.nan]}, "missing"),
    ({"frequency": [0], "recency": [3.0]}, "frequency 0"),
])
def test_bad_input_is_named(bad, match):
    df = pd.DataFrame({"frequency": [2], "recency": [10.0], "T": [30.0]}, index=["cust-7"])
    for k, v in bad.items():
        df[k] = v
    with pytest.raises(ValueError, match=match):
        BGNBD().fit(df)


def test_missing_column_message():
    with pytest.raises(ValueError, match="column 'T' missing"):
        ParetoNBD().fit(pd.DataFrame({"frequency": [1], "recency": [2.0]}))


def test_not_fitted():
    from cxlab._base import NotFittedError
    with pytest.raises(NotFittedError):
        BGNBD().probability_alive(frequency=[1], recency=[1.0], T=[2.0])


def test_bgnbd_conditional_expectation_matches_fhl_eq10():
    # FHL (2005) eq. (10) with the Gauss hypergeometric function (fine for moderate t)
    r, alpha, a, b = BG_CDNOW
    x, tx, T, t = np.array([0, 2, 7]), np.array([0.0, 30.43, 35.0]), np.array([38.86, 38.86, 38.86]), 39.0
    m = BGNBD()
    z = t / (alpha + T + t)
    f = hyp2f1(r + x, b + x, a + b + x - 1, z)
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * f)
    den = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
    ours = m.expected_purchases(t, frequency=x, recency=tx, T=T, params=BG_CDNOW)
    assert np.allclose(ours, num / den, rtol=1e-8)
    # unconditional E[X(t)] (FHL eq. 9)
    tt = np.array([10.0, 39.0])
    closed = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + tt)) ** r * hyp2f1(r, b, a + b - 1, tt / (alpha + tt)))
    assert np.allclose(m.expected_purchases_new(tt, params=BG_CDNOW), closed, rtol=1e-8)


def test_gamma_gamma_conditional_spend_matches_fhl_eq5():
    """E[M | x, m] = (q - 1)/(p x + q - 1) * p gamma/(q - 1) + p x/(p x + q - 1) * m (Fader, Hardie & Lee 2005,
    "RFM and CLV", eq. 5), written out for CDNOW's published p, q, gamma (6.25, 3.74, 15.44)."""
    p, q, g = 6.25, 3.74, 15.44
    x, m = np.array([0, 1, 2, 10]), np.array([0.0, 25.0, 40.0, 12.5])
    by_hand = (q - 1) / (p * x + q - 1) * (p * g / (q - 1)) + p * x / (p * x + q - 1) * m
    ours = GammaGamma().conditional_expected_spend(frequency=x, monetary_value=m, params=(p, q, g))
    assert np.allclose(ours, by_hand, rtol=1e-12)
    assert ours[0] == pytest.approx(p * g / (q - 1))  # no repeat purchase: the population mean

def test_mbgnbd_unconditional_matches_batislam():
    r, alpha, a, b = 0.525, 6.183, 0.891, 1.614
    tt = np.array([5.0, 39.0, 78.0])
    closed = b / (a - 1) * (1 - (alpha / (alpha + tt)) ** r * hyp2f1(r, b + 1, a + b, tt / (alpha + tt)))
    assert np.allclose(MBGNBD().expected_purchases_new(tt, params=[r, alpha, a, b]), closed, rtol=1e-8)


def test_pareto_closed_forms_when_alpha_equals_beta():
    # with alpha == beta the 2F1 terms are 1: A0 = (alpha+tx)^-(r+s+x) - (alpha+T)^-(r+s+x)
    r, s, al = 0.8, 0.5, 7.0
    x, tx, T = np.array([0, 3]), np.array([0.0, 20.0]), np.array([30.0, 30.0])
    k = r + s + x
    a0 = (al + tx) ** -k - (al + T) ** -k
    alive = (al + T) ** -(r + x) * (al + T) ** -s
    p_alive = alive / (alive + s / k * a0)
    m = ParetoNBD()
    assert np.allclose(m.probability_alive(frequency=x, recency=tx, T=T, params=[r, al, s, al]), p_alive, rtol=1e-9)
    fut = m.probability_alive(frequency=x, recency=tx, T=T, params=[r, al, s, al], future=10.0)
    assert np.allclose(fut, p_alive * ((al + T) / (al + T + 10.0)) ** s, rtol=1e-9)


@pytest.mark.parametrize("model,params", [(BGNBD, BG_CDNOW), (MBGNBD, [0.525, 6.183, 0.891, 1.614]),
                                          (ParetoNBD, PNBD_CDNOW)])
def test_expected_new_matches_simulation(model, params):
    T = np.full(200_000, 39.0)
    sim = model().simulate(T, params=params, seed=11)
    mean, se = sim["frequency"].mean(), sim["frequency"].std() / np.sqrt(len(sim))
    assert abs(model().expected_purchases_new(39.0, params=params)[0] - mean) < 4 * se


def test_bgnbd_p_alive_matches_simulated_truth():
    # P(alive) for x = 0 is exactly 1 in the BG/NBD (dropout happens only after a repeat purchase)
    m = BGNBD()
    assert np.all(m.probability_alive(frequency=[0, 0], recency=[0.0, 0.0], T=[5.0, 50.0], params=BG_CDNOW) == 1)
    # calibrated: among simulated customers, the mean P(alive) equals the share truly alive
    from cxlab.datasets import simulate_bgnbd
    sim = simulate_bgnbd(100_000, *BG_CDNOW, T=39.0, seed=5)
    p = m.probability_alive(sim, params=BG_CDNOW)
    assert np.all((p >= 0) & (p <= 1))
    repeaters = sim["frequency"] > 0
    se = np.sqrt(0.25 / repeaters.sum())
    assert abs(p[repeaters].mean() - sim.loc[repeaters, "true_alive"].mean()) < 4 * se


@given(x=st.integers(0, 60), frac=st.floats(0.01, 1.0), T=st.floats(1.0, 200.0), t=st.floats(0.1, 100.0))
def test_prediction_invariants(x, frac, T, t):
    tx = frac * T if x > 0 else 0.0
    for model, params in ((BGNBD(), BG_CDNOW), (ParetoNBD(), PNBD_CDNOW), (MBGNBD(), [0.525, 6.183, 0.891, 1.614])):
        p0 = model.probability_alive(frequency=[x], recency=[tx], T=[T], params=params)[0]
        p1 = model.probability_alive(frequency=[x], recency=[tx], T=[T], params=params, future=t)[0]
        assert 0 <= p1 <= p0 <= 1
        e1, e2 = model.expected_purchases(np.array([t, 2 * t]), frequency=[x], recency=[tx], T=[T], params=params)[:, 0]
        assert 0 <= e1 <= e2 and np.isfinite(e2)


def test_heavy_buyers_do_not_overflow():
    x = np.array([0, 50, 300, 2000])
    tx = np.array([0.0, 38.0, 38.5, 38.8])
    T = np.full(4, 38.86)
    for model, params in ((BGNBD(), BG_CDNOW), (ParetoNBD(), PNBD_CDNOW), (MBGNBD(), [0.525, 6.183, 0.891, 1.614])):
        ll = model._loglik_rows(np.asarray(params, float), model._rows(frequency=x, recency=tx, T=T))
        assert np.all(np.isfinite(ll))
        assert np.all(np.isfinite(model.expected_purchases(10.0, frequency=x, recency=tx, T=T, params=params)))


def test_bgbb_predictions(donations):
    m = BGBB().fit(donations, weights=donations["weights"])
    # expected transactions over 1996-2001 of a new donor vs the data (FHS 2010 Figure 3 check)
    expected6 = m.expected_purchases_new(6)[0]
    observed = np.average(donations["frequency"], weights=donations["weights"])
    assert expected6 == pytest.approx(observed, rel=0.02)
    sim = m.simulate(np.full(300_000, 6), seed=3)
    assert sim["frequency"].mean() == pytest.approx(expected6, abs=4 * sim["frequency"].std() / np.sqrt(3e5))
    p = m.probability_alive(donations)
    assert np.all((p > 0) & (p <= 1))
    # more recent donors are more likely alive at the same frequency
    row = lambda x, tx: m.probability_alive(frequency=[x], recency=[tx], periods=[6])[0]  # noqa: E731
    assert row(3, 6) > row(3, 5) > row(3, 3)
    e = m.expected_purchases(5, donations)
    assert np.all(e >= 0) and np.isfinite(e).all()


def test_summary_and_to_dict(cdnow_published_summary):
    import json
    m = BGNBD().fit(cdnow_published_summary)
    text = str(m.summary())
    assert "BG/NBD" in text and "log-likelihood" in text
    assert "<table" in m.summary().as_html()
    d = m.to_dict()
    json.dumps(d)
    assert d["params"]["r"] == pytest.approx(m.params_["r"])
    assert repr(BGNBD(penalizer=0.1)) == "BGNBD(penalizer=0.1)"


def test_gamma_gamma_rejects_non_positive_spend():
    df = pd.DataFrame({"frequency": [2, 1], "monetary_value": [10.0, -3.0]}, index=["a", "b"])
    with pytest.raises(ValueError, match="monetary_value"):
        GammaGamma().fit(df)
