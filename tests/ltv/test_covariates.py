"""Time-invariant covariates in the Pareto/NBD and BG/NBD (CLVTools' parameterisation)."""
import numpy as np
import pandas as pd
import pytest

from cxlab._mle import covariance_from_hessian, newton_decrement, numerical_gradient, numerical_hessian
from cxlab.ltv import BGBB, BGNBD, MBGNBD, GammaGamma, ParetoNBD, customer_lifetime_value
from cxlab.ltv.covariates import bgnbd_loglik, pnbd_loglik, prepare_rows

COVS = ["Gender", "Channel"]
# CLVTools vignette (tests/data/apparel/SOURCE.md)
PUBLISHED = {"r": 1.8378, "alpha": 92.9123, "s": 0.5920, "beta": 49.6227, "life.Gender": -0.6430,
             "life.Channel": 0.7907, "trans.Gender": 0.2859, "trans.Channel": 0.6241}
PUBLISHED_SE = {"r": 0.3455, "alpha": 16.9670, "s": 0.2609, "beta": 36.2509, "life.Gender": 0.2955,
                "life.Channel": 0.3059, "trans.Gender": 0.1041, "trans.Channel": 0.1050}
PUBLISHED_LL = -5821.0627


@pytest.fixture(scope="module")
def apparel_fit(apparel_summary):
    return ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS)


def test_summary_matches_clvtools_data_preparation(apparel_summary):
    # CLVTools: same-day transactions summed, estimation end = first transaction + 104 weeks (inclusive)
    assert len(apparel_summary) == 600
    assert apparel_summary["first_purchase"].min() == pd.Timestamp("2005-01-02")
    assert ParetoNBD().fit(apparel_summary).log_likelihood_ == pytest.approx(-5848.10, abs=0.005)


def test_apparel_pareto_nbd_with_static_covariates_clvtools(apparel_fit, apparel_summary):
    m = apparel_fit
    assert m.converged_, m.mle_.message
    # the likelihood at the published precision: our maximum and the published point both give -5821.0627
    assert round(m.log_likelihood_, 4) == PUBLISHED_LL
    assert m.log_likelihood(apparel_summary, params=PUBLISHED) == pytest.approx(PUBLISHED_LL, abs=5e-5)
    assert m.log_likelihood_ >= m.log_likelihood(apparel_summary, params=PUBLISHED)
    # CLVTools' optimiser stopped 0.007 standard errors short of the maximum (its point has a Newton
    # decrement of 5e-5 here): every estimate agrees within 0.01 standard errors
    for name, value in PUBLISHED.items():
        assert abs(m.params_[name] - value) < 0.01 * PUBLISHED_SE[name], name
        assert m.standard_errors_[name] == pytest.approx(PUBLISHED_SE[name], rel=5e-3), name


def test_apparel_published_standard_errors_at_the_published_point(apparel_fit, apparel_summary):
    # the observed information at CLVTools' own estimates gives its standard errors to their 4 published
    # decimals (half a unit: 5e-5) plus 2e-4 relative, the precision of a numerical Hessian (beta, on a
    # flat ridge, to 3e-4 relative)
    m = apparel_fit
    d = prepare_rows(m, apparel_summary, m.covariates_, None, {})
    theta = np.array([PUBLISHED[k] for k in m.params_.index])
    z = np.r_[np.log(theta[:4]), theta[4:]]
    H = numerical_hessian(z, gradient=lambda zz: pnbd_loglik(zz, d, m.covariates_)[1])
    se = np.sqrt(np.diag(covariance_from_hessian(H))) * np.r_[theta[:4], np.ones(4)]
    for name, s in zip(m.params_.index, se):
        tol = 5e-5 + 2e-4 * PUBLISHED_SE[name] if name != "beta" else 3e-4 * PUBLISHED_SE[name]
        assert abs(s - PUBLISHED_SE[name]) <= tol, name
    g = pnbd_loglik(z, d, m.covariates_)[1]
    assert 1e-6 < newton_decrement(g, H) < 1e-4


def test_effects_and_lr_tests_in_the_summary(apparel_fit, apparel_summary):
    m = apparel_fit
    eff = m.result_.effects().set_index("coefficient")
    assert eff.loc["trans.Channel", "multiplier"] == pytest.approx(np.exp(m.params_["trans.Channel"]))
    assert eff.loc["life.Gender", "effect"] == "expected lifetime"
    assert eff.loc["life.Gender", "multiplier"] == pytest.approx(np.exp(-m.params_["life.Gender"]))
    lo, hi = m.confidence_intervals_.loc["life.Gender"]
    assert eff.loc["life.Gender", ["ci_lower_95", "ci_upper_95"]].tolist() == pytest.approx([np.exp(-hi), np.exp(-lo)])
    lr = m.likelihood_ratio_tests(apparel_summary)
    assert list(lr.index) == m.covariates_.coefficient_names
    # the LR statistic of trans.Channel: refit without it (a different optimum, not the Wald z^2)
    assert lr.loc["trans.Channel", "lr_statistic"] > 25 and lr.loc["trans.Channel", "p_value"] < 1e-6
    z2 = (m.params_ / m.standard_errors_) ** 2
    for name in lr.index:  # LR and Wald agree to first order
        assert lr.loc[name, "lr_statistic"] == pytest.approx(z2[name], rel=0.35)
    text = m.summary().as_text()
    assert "Likelihood-ratio test" in text and "expected lifetime" in text
    d = m.to_dict()
    assert d["params"]["trans.Gender"] == pytest.approx(m.params_["trans.Gender"]) and d["lr_tests"]


def test_analytic_gradient_matches_differences(apparel_summary):
    m = ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=["Gender"], inference=False)
    d = prepare_rows(m, apparel_summary, m.covariates_, None, {})
    z = np.r_[np.log([1.2, 80.0, 0.8, 30.0]), 0.3, -0.2, 0.5]
    g = pnbd_loglik(z, d, m.covariates_)[1]
    num = numerical_gradient(lambda zz: pnbd_loglik(zz, d, m.covariates_, False)[0], z)
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-5)


def test_zero_coefficients_reproduce_the_plain_models(apparel_summary):
    for model in (ParetoNBD, BGNBD):
        plain = model().fit(apparel_summary)
        cov = model().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS, inference=False)
        params = pd.concat([plain.params_, pd.Series(0.0, index=cov.covariates_.coefficient_names)])
        assert cov.log_likelihood(apparel_summary, params=params) == pytest.approx(plain.log_likelihood_, abs=1e-8)
        np.testing.assert_allclose(cov.expected_purchases(26, apparel_summary, params=params),
                                   plain.expected_purchases(26, apparel_summary), rtol=1e-9)
        np.testing.assert_allclose(cov.probability_alive(apparel_summary, params=params),
                                   plain.probability_alive(apparel_summary), rtol=1e-9)


def test_predictions_use_each_customers_own_covariates(apparel_fit, apparel_summary):
    m = apparel_fit
    p = m.params_
    for gender in (0, 1):
        for channel in (0, 1):
            rows = apparel_summary[(apparel_summary["Gender"] == gender) & (apparel_summary["Channel"] == channel)]
            own = [p["r"], p["alpha"] * np.exp(-p["trans.Gender"] * gender - p["trans.Channel"] * channel),
                   p["s"], p["beta"] * np.exp(-p["life.Gender"] * gender - p["life.Channel"] * channel)]
            plain = ParetoNBD()
            np.testing.assert_allclose(m.expected_purchases(52, rows), plain.expected_purchases(52, rows, params=own),
                                       rtol=1e-9)
            np.testing.assert_allclose(m.probability_alive(rows, future=10),
                                       plain.probability_alive(rows, future=10, params=own), rtol=1e-9)
    clv = customer_lifetime_value(m, None, apparel_summary, horizon_months=12, unit="W")
    np.testing.assert_allclose(clv["p_alive"], m.probability_alive(apparel_summary))
    assert (clv["clv"] >= 0).all() and clv["clv"].sum() > 0


def test_identical_rows_are_collapsed(apparel_summary):
    doubled = pd.concat([apparel_summary, apparel_summary])
    a = ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS,
                        weights=np.full(len(apparel_summary), 2.0))
    b = ParetoNBD().fit(doubled, trans_covariates=COVS, life_covariates=COVS)
    assert a.result_.n_unique_rows == b.result_.n_unique_rows < len(apparel_summary)
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-6)
    assert a.log_likelihood_ == pytest.approx(2 * ParetoNBD().fit(
        apparel_summary, trans_covariates=COVS, life_covariates=COVS).log_likelihood_, rel=1e-10)


def test_equality_constraint(apparel_summary):
    full = ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS, inference=False)
    con = ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS, constrain_equal=["Gender"])
    assert "constr.Gender" in con.params_ and "life.Gender" not in con.params_
    assert con.converged_ and con.log_likelihood_ <= full.log_likelihood_ + 1e-8
    expanded = dict(con.params_)
    expanded["life.Gender"] = expanded["trans.Gender"] = expanded.pop("constr.Gender")
    assert full.log_likelihood(apparel_summary, params=expanded) == pytest.approx(con.log_likelihood_, abs=1e-8)


def test_l2_penalty_as_clvtools_reg_lambdas(apparel_summary):
    lam = {"trans": 0.002, "life": 0.01}
    m = ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS, reg_lambdas=lam)
    assert m.converged_
    # first-order condition of LL/N - lam_t |g_t|^2 - lam_l |g_l|^2: dLL/dg = 2 N lam g
    d = prepare_rows(m, apparel_summary, m.covariates_, None, {})
    z = np.r_[np.log(m.params_.to_numpy()[:4]), m.params_.to_numpy()[4:]]
    g = pnbd_loglik(z, d, m.covariates_)[1]
    n = len(apparel_summary)
    expect = np.r_[np.zeros(4), [2 * n * lam["life"] * m.params_[c] for c in ("life.Gender", "life.Channel")],
                   [2 * n * lam["trans"] * m.params_[c] for c in ("trans.Gender", "trans.Channel")]]
    np.testing.assert_allclose(g, expect, atol=2e-3)
    free = ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS, inference=False)

    def penalty(fit):
        p = fit.params_
        return (lam["life"] * (p["life.Gender"] ** 2 + p["life.Channel"] ** 2)
                + lam["trans"] * (p["trans.Gender"] ** 2 + p["trans.Channel"] ** 2))

    assert penalty(m) < penalty(free) and m.log_likelihood_ < free.log_likelihood_
    huge = ParetoNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS, reg_lambdas=1e4,
                           inference=False)
    assert np.all(np.abs(huge.params_[4:]) < 1e-3)
    with pytest.raises(ValueError, match="reg_lambdas"):
        ParetoNBD().fit(apparel_summary, trans_covariates=COVS, reg_lambdas={"transaction": 1.0})


def test_bgnbd_static_covariates_likelihood_and_gradient(apparel_summary):
    m = BGNBD().fit(apparel_summary, trans_covariates=COVS, life_covariates=COVS, inference=False)
    d = prepare_rows(m, apparel_summary, m.covariates_, None, {})
    z = np.r_[np.log([0.7, 40.0, 1.2, 3.0]), 0.2, -0.4, 0.3, 0.1]
    # by hand: CLVTools' a_i = a exp(g_life x), b_i = b exp(g_life x), alpha_i = alpha exp(-g_trans x)
    x = apparel_summary
    gl = np.array([0.2, -0.4])
    gt = np.array([0.3, 0.1])
    scale = np.exp(x[COVS].to_numpy() @ gl)
    plain = BGNBD()
    rows = [plain._loglik_rows(np.array([0.7, 40.0 * np.exp(-x[COVS].iloc[i].to_numpy() @ gt), 1.2 * scale[i],
                                         3.0 * scale[i]]), plain._rows(x.iloc[[i]]))[0] for i in range(len(x))]
    assert bgnbd_loglik(z, d, m.covariates_, False)[0] == pytest.approx(sum(rows), abs=1e-8)


@pytest.mark.parametrize("model", [ParetoNBD, BGNBD, MBGNBD, BGBB, GammaGamma])
def test_unknown_keywords_raise(model, apparel_summary, cdnow_published_summary):
    # issue 12: fit(**columns) used to swallow misspelt arguments and fit the plain model
    data = apparel_summary if model is not BGBB else None
    with pytest.raises(TypeError, match="unknown keyword"):
        if model is BGBB:
            model().fit(frequency=[1, 0], recency=[2, 0], periods=[3, 3], trans_covarites=["Gender"])
        else:
            model().fit(data, trans_covarites=COVS)
    if model in (ParetoNBD, BGNBD, MBGNBD):
        m = model().fit(cdnow_published_summary)
        with pytest.raises(TypeError, match="unknown keyword"):
            m.expected_purchases(10, cdnow_published_summary, horizon=5)
        with pytest.raises(TypeError, match="unknown keyword"):
            m.probability_alive(cdnow_published_summary, futur=3)


def test_covariates_only_where_supported(apparel_summary):
    for model in (MBGNBD, BGBB, GammaGamma):
        with pytest.raises((ValueError, TypeError)):
            model().fit(apparel_summary, trans_covariates=COVS)


def test_bad_covariate_input_names_column_and_rows(apparel_summary):
    with pytest.raises(ValueError, match="'Gendr'.*not in the summary"):
        ParetoNBD().fit(apparel_summary, trans_covariates=["Gendr"])
    bad = apparel_summary.copy()
    bad.loc[bad.index[3], "Gender"] = np.nan
    with pytest.raises(ValueError, match=f"'Gender' is missing.*{bad.index[3]}"):
        ParetoNBD().fit(bad, trans_covariates=["Gender"])
    const = apparel_summary.assign(one=1.0)
    with pytest.raises(ValueError, match="same value for every customer"):
        ParetoNBD().fit(const, life_covariates=["one"])
    with pytest.raises(ValueError, match="constrain_equal"):
        ParetoNBD().fit(apparel_summary, trans_covariates=["Gender"], life_covariates=["Channel"],
                        constrain_equal=["Gender"])
    m = ParetoNBD().fit(apparel_summary, trans_covariates=["Gender"], inference=False)
    with pytest.raises(ValueError, match="covariate column"):
        m.expected_purchases(5, apparel_summary.drop(columns="Gender"))


def test_asymptotic_prediction_intervals_with_covariates(apparel_fit, apparel_summary):
    from cxlab.ltv import prediction_intervals

    draws = apparel_fit.sample_params(400, seed=1)
    assert np.all(draws[:, :4] > 0)
    np.testing.assert_allclose(draws.mean(axis=0)[4:], apparel_fit.params_[4:], atol=0.05)
    pi = prediction_intervals(apparel_fit, apparel_summary.head(50), n_draws=30, method="asymptotic", unit="W")
    t = pi.table
    assert ((t["p_alive_lower"] <= t["p_alive"] + 1e-12) & (t["p_alive"] <= t["p_alive_upper"] + 1e-12)).all()
    with pytest.raises(ValueError, match="asymptotic"):
        prediction_intervals(apparel_fit, apparel_summary.head(5), n_draws=2, method="refit", unit="W")
