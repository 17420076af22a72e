"""The shared maximum-likelihood core (cxlab._mle) and the fits that go through it."""
import numpy as np
import pandas as pd
import pytest

from cxlab._mle import covariance_from_hessian, maximize, newton_decrement, numerical_gradient, numerical_hessian
from cxlab.ltv import BGNBD, MBGNBD, GammaGamma, ParetoNBD


def _gaussian_loglik(mu, sigma, y):
    return float(np.sum(-0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma)))


def test_numerical_derivatives_of_a_known_function():
    f = lambda x: float(-(x[0] - 1) ** 2 - 3 * x[0] * x[1] - 5 * x[1] ** 2 + np.sin(x[1]))  # noqa: E731
    x = np.array([0.3, -0.7])
    exact_g = np.array([-2 * (x[0] - 1) - 3 * x[1], -3 * x[0] - 10 * x[1] + np.cos(x[1])])
    exact_h = np.array([[-2.0, -3.0], [-3.0, -10.0 - np.sin(x[1])]])
    np.testing.assert_allclose(numerical_gradient(f, x), exact_g, rtol=1e-8)
    np.testing.assert_allclose(numerical_hessian(x, value=f), exact_h, rtol=1e-5)
    g = lambda z: np.array([-2 * (z[0] - 1) - 3 * z[1], -3 * z[0] - 10 * z[1] + np.cos(z[1])])  # noqa: E731
    np.testing.assert_allclose(numerical_hessian(x, gradient=g), exact_h, rtol=1e-7)


def test_maximize_normal_mean_and_log_sd_with_exact_standard_errors():
    y = np.random.default_rng(3).normal(2.0, 1.5, 400)

    def vg(x):
        mu, sigma = x[0], np.exp(x[1])
        r = (y - mu) / sigma
        return _gaussian_loglik(mu, sigma, y), np.array([np.sum(r) / sigma, np.sum(r ** 2) - len(y)])

    fit = maximize(vg, [0.0, 0.0], n_obs=len(y))
    assert fit.converged and fit.newton_decrement < 1e-12
    assert fit.x[0] == pytest.approx(y.mean(), abs=1e-10)
    assert np.exp(fit.x[1]) == pytest.approx(y.std(), rel=1e-10)
    # closed-form observed information: se(mu) = sigma/sqrt(n), se(log sigma) = 1/sqrt(2n)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.covariance)), [y.std() / 20, 1 / np.sqrt(800)], rtol=1e-6)


def test_newton_decrement_is_scale_free():
    # the same gradient and Hessian expressed in rescaled coordinates give the same decrement
    H = np.array([[-400.0, 30.0], [30.0, -90.0]])
    g = np.array([0.02, -0.05])
    D = np.diag([1e3, 1e-2])
    assert newton_decrement(g, H) == pytest.approx(newton_decrement(D @ g, D @ H @ D), rel=1e-10)
    assert np.isnan(newton_decrement(g, -H))  # not a maximum
    assert np.all(np.isnan(covariance_from_hessian(np.array([[1.0, 0], [0, -1.0]]))))


def test_maximum_on_a_bound_is_not_converged():
    fit = maximize(lambda x: (float(x[0]), np.array([1.0])), [0.0], n_obs=1, bounds=[(-1.0, 1.0)])
    assert not fit.converged and "bound" in fit.message


# Reference standard errors (inverse observed information), CDNOW sample, 39-week calibration:
# BG/NBD and MBG/NBD as `lifetimes` 0.11.3 computes them, Pareto/NBD from CLVTools' test suite
# (section "Reference standard errors" of the shared reference-data README, ../shared/data/README.md).
@pytest.mark.parametrize("model,reference,rtol", [
    (BGNBD, {"r": 0.01256, "alpha": 0.37822, "a": 0.18572, "b": 0.70535}, 5e-4),
    (MBGNBD, {"r": 0.08326, "alpha": 0.69560, "a": 0.15479, "b": 0.53747}, 5e-4),
    (ParetoNBD, {"r": 0.0476264, "alpha": 0.8427222, "s": 0.1872594, "beta": 6.2105448}, 1e-3),
])
def test_published_optima_converge_with_reference_standard_errors(model, reference, rtol, cdnow_published_summary):
    m = model().fit(cdnow_published_summary)
    assert m.converged_, m.mle_.message
    assert m.mle_.newton_decrement < 1e-6
    for name, se in reference.items():
        assert m.standard_errors_[name] == pytest.approx(se, rel=rtol), name


def test_gamma_gamma_converges(cdnow_calibration):
    m = GammaGamma().fit(cdnow_calibration)
    assert m.converged_ and "Newton decrement" in m.result_.message


def test_not_converged_fit_says_so_in_its_summary(cdnow_published_summary):
    m = BGNBD(max_iter=1).fit(cdnow_published_summary)
    # one optimiser iteration and the Newton polish may still reach the maximum; either way the
    # verdict and the message agree
    assert m.converged_ == ("converged" in m.result_.message and "Not" not in m.result_.message)
    assert isinstance(m.summary().as_text(), str)
