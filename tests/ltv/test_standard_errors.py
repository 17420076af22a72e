"""Standard errors and parameter correlations of the BTYD models against external references.

References (see tests/data/cdnow/SOURCE.md and tests/data/donations/SOURCE.md for how each was made):

* ``lifetimes`` 0.11.3 (BG/NBD, MBG/NBD, Gamma-Gamma, BG/BB): the inverse of the autograd Hessian of
  the log-likelihood at lifetimes' own optimum, on log parameters, mapped to the natural scale by the
  delta method (its ``standard_errors_``). The correlations come from the same inverse Hessian (a
  correlation is the same on the log and natural scale).
* CLVTools' test suite (Pareto/NBD on CDNOW): given to 7 digits, but the likelihood is nearly flat in
  beta, so two correct optimisers agree on the standard errors only to about 3 significant digits.

Tolerances: lifetimes and cxlab find the same optimum to ~1e-6 relative (both print the published
estimates), and the standard error moves with the optimum and with the Hessian's numerical error
(cxlab differences an analytic gradient or the likelihood with steps of 1e-4 x theta; the truncation
error of that is ~1e-8 relative, its rounding error ~1e-6). rel 1e-3 leaves room for another optimiser
or Hessian scheme and is 400 times tighter than the sqrt(2) of a doubled covariance. Correlations
agree to 1e-5 here; atol 1e-3 on the same argument.
"""
import numpy as np
import pytest

from cxlab.ltv import BGBB, BGNBD, MBGNBD, GammaGamma, ParetoNBD

SE_REL = 1e-3
CORR_ATOL = 1e-3

# lifetimes 0.11.3: BetaGeoFitter().fit(frequency, recency, T) on cdnow_customers_summary.csv
LIFETIMES_BGNBD_SE = {"r": 0.012557320698, "alpha": 0.378221457044, "a": 0.185719071912, "b": 0.705345343533}
LIFETIMES_BGNBD_CORR = [[1.0, 0.780382, -0.037665, 0.007412],
                        [0.780382, 1.0, -0.040795, 0.039443],
                        [-0.037665, -0.040795, 1.0, 0.940451],
                        [0.007412, 0.039443, 0.940451, 1.0]]
# lifetimes 0.11.3: ModifiedBetaGeoFitter().fit(frequency, recency, T), same data
LIFETIMES_MBGNBD_SE = {"r": 0.083263945298, "alpha": 0.695597191603, "a": 0.154785320699, "b": 0.537472350789}
LIFETIMES_MBGNBD_CORR = [[1.0, 0.836927, -0.582460, -0.839444],
                         [0.836927, 1.0, -0.494127, -0.631463],
                         [-0.582460, -0.494127, 1.0, 0.887071],
                         [-0.839444, -0.631463, 0.887071, 1.0]]
# lifetimes 0.11.3: GammaGammaFitter().fit(frequency, monetary_value) on the 946 repeat buyers of the
# CDNOW sample's calibration period (summary_data_from_transaction_data(..., freq="D"))
LIFETIMES_GG_SE = {"p": 1.190055346398, "q": 0.290133067594, "gamma": 4.159422802213}
LIFETIMES_GG_CORR = [[1.0, -0.671819, -0.970304],
                     [-0.671819, 1.0, 0.821994],
                     [-0.970304, 0.821994, 1.0]]
# lifetimes 0.11.3: BetaGeoBetaBinomFitter().fit(frequency, recency, periods, weights) on donations.csv
LIFETIMES_BGBB_SE = {"alpha": 0.069391362187, "beta": 0.029447716221, "gamma": 0.051009850333,
                     "delta": 0.320818939435}
LIFETIMES_BGBB_CORR = [[1.0, 0.887676, -0.480285, -0.607312],
                       [0.887676, 1.0, -0.381605, -0.469646],
                       [-0.480285, -0.381605, 1.0, 0.965048],
                       [-0.607312, -0.469646, 0.965048, 1.0]]
# CLVTools test suite, Pareto/NBD on the CDNOW sample (shared/data/README.md, "Reference standard errors")
CLVTOOLS_PNBD_SE = {"r": 0.0476264, "alpha": 0.8427222, "s": 0.1872594, "beta": 6.2105448}


def _correlation(model) -> np.ndarray:
    cov = model.covariance_.to_numpy()
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def _assert_se(model, reference: dict, rel: float = SE_REL):
    assert list(model.standard_errors_.index) == list(reference)
    for name, ref in reference.items():
        assert model.standard_errors_[name] == pytest.approx(ref, rel=rel), (name, model.standard_errors_[name], ref)
    # the standard errors are the square roots of the covariance diagonal
    np.testing.assert_allclose(np.sqrt(np.diag(model.covariance_.to_numpy())), model.standard_errors_.to_numpy(),
                               rtol=1e-12)


def _assert_log_scale_intervals(model):
    """The reported 95% intervals are theta * exp(+-1.96 SE / theta) (Wald on the log scale)."""
    theta, se = model.params_, model.standard_errors_
    ci = model.confidence_intervals_
    np.testing.assert_allclose(ci["lower"], theta * np.exp(-1.959963984540054 * se / theta), rtol=1e-9)
    np.testing.assert_allclose(ci["upper"], theta * np.exp(1.959963984540054 * se / theta), rtol=1e-9)


def test_bgnbd_standard_errors_match_lifetimes(cdnow_published_summary):
    m = BGNBD().fit(cdnow_published_summary)
    _assert_se(m, LIFETIMES_BGNBD_SE)
    np.testing.assert_allclose(_correlation(m), LIFETIMES_BGNBD_CORR, atol=CORR_ATOL)
    _assert_log_scale_intervals(m)


def test_mbgnbd_standard_errors_match_lifetimes(cdnow_published_summary):
    m = MBGNBD().fit(cdnow_published_summary)
    _assert_se(m, LIFETIMES_MBGNBD_SE)
    np.testing.assert_allclose(_correlation(m), LIFETIMES_MBGNBD_CORR, atol=CORR_ATOL)
    _assert_log_scale_intervals(m)


def test_pareto_nbd_standard_errors_match_clvtools(cdnow_published_summary):
    """3 significant digits: |ours - CLVTools| at most half a unit of the third significant digit."""
    m = ParetoNBD().fit(cdnow_published_summary)
    assert list(m.standard_errors_.index) == list(CLVTOOLS_PNBD_SE)
    for name, ref in CLVTOOLS_PNBD_SE.items():
        half_unit = 0.5 * 10.0 ** (np.floor(np.log10(ref)) - 2)
        assert abs(m.standard_errors_[name] - ref) <= half_unit, (name, m.standard_errors_[name], ref)
    _assert_log_scale_intervals(m)


def test_gamma_gamma_standard_errors_match_lifetimes(cdnow_calibration):
    m = GammaGamma().fit(cdnow_calibration)
    assert m.n_customers_ == 946
    _assert_se(m, LIFETIMES_GG_SE)
    np.testing.assert_allclose(_correlation(m), LIFETIMES_GG_CORR, atol=CORR_ATOL)
    _assert_log_scale_intervals(m)


def test_bgbb_standard_errors_match_lifetimes(donations):
    m = BGBB().fit(donations, weights=donations["weights"])
    _assert_se(m, LIFETIMES_BGBB_SE)
    np.testing.assert_allclose(_correlation(m), LIFETIMES_BGBB_CORR, atol=CORR_ATOL)
    _assert_log_scale_intervals(m)


def test_to_dict_reports_the_validated_standard_errors(cdnow_published_summary):
    """What a notebook or the report serialises carries the validated numbers."""
    d = BGNBD().fit(cdnow_published_summary).to_dict()
    for name, ref in LIFETIMES_BGNBD_SE.items():
        assert d["standard_errors"][name] == pytest.approx(ref, rel=SE_REL)
