"""The study's customer sample: a study fact, its sampling error, and sections that agree with full data.

A client with more than twice ``customer_sample_size`` customers gets its per-customer models
(Cox, BG/NBD and Gamma-Gamma, membership effects, loyalty uplift) fitted on a simple random
sample (:attr:`cxlab.study.Study.sample`). Checked here:

* the sample is drawn once, reproducibly, only above the threshold, and recorded in the study's facts;
* its 95 % interval for a mean covers the population mean at the nominal rate over many samples;
* on a 150,000-customer client, the sampled report's headline estimates agree with the same
  report on every customer within the sampling error it shows;
* the data layer's scale aggregations (gap counts, period moments) equal the full-log ones, and
  ``run.json``-style resources are recorded per stage.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_helpers import make_study, render


@pytest.fixture(scope="module")
def small():
    from cxlab.datasets import make_demo_dataset

    return make_demo_dataset(2500, seed=21)


def test_sample_is_drawn_once_above_the_threshold_and_recorded(small):
    study = make_study(small, customer_sample_size=600)
    sample = study.sample
    n = len(study.customer_summary)
    assert n > 1200 and sample.size == 600 and sample.population == n
    assert sample.ids.is_monotonic_increasing and sample.ids.isin(study.customer_summary.index).all()
    assert list(make_study(small, customer_sample_size=600).sample.ids) == list(sample.ids)  # fixed seed
    assert study.to_dict()["sample"] == sample.to_dict()
    assert len(study.model_summary) == 600 and study.model_summary.index.equals(sample.ids)
    assert set(study.model_durations.index) == set(sample.ids)
    assert set(study.model_customers.index) <= set(sample.ids)
    panel = study.model_panel()
    assert set(panel["customer_id"]) <= set(sample.ids)
    full = study.panel()
    pd.testing.assert_frame_equal(panel.reset_index(drop=True),
                                  full[full["customer_id"].isin(sample.ids)].reset_index(drop=True))
    cal = study.calibration_summary
    pd.testing.assert_frame_equal(study.model_calibration_summary, cal[cal.index.isin(sample.ids)])
    assert study.calibration_customers == len(cal)
    from cxlab.data import cohort_counts

    tx = small.transactions
    pd.testing.assert_frame_equal(study.model_cohorts("D"), cohort_counts(
        tx[tx["customer_id"].isin(sample.ids)], period="D", observation_end=study.window_end))
    # at or below twice the size (or with 0): every customer, and the frames are the study's own
    for size in (n // 2, 0):
        other = make_study(small, customer_sample_size=size)
        assert other.sample is None and other.to_dict()["sample"] is None
        assert other.model_summary is other.customer_summary


def test_sample_interval_covers_the_population_mean():
    """40 samples of 2,000 from a skewed population of 150,000: the 95% interval covers the mean in at
    least 33 (P(fewer) = 0.4% at the nominal rate)."""
    from cxlab.study import CustomerSample

    rng = np.random.default_rng(7)
    population = rng.gamma(0.4, 2500.0, 150_000)  # lifetime values: most small, a long tail
    ids = pd.Index(np.arange(len(population)))
    covered = 0
    for seed in range(40):
        chosen = np.sort(np.random.default_rng(seed).choice(len(population), 2000, replace=False))
        sample = CustomerSample(ids[chosen], len(population), seed)
        mean, lo, hi = sample.mean_interval(population[chosen])
        covered += lo <= population.mean() <= hi
        total, tlo, thi = sample.total_interval(population[chosen])
        assert (total, tlo, thi) == pytest.approx((mean * 150_000, lo * 150_000, hi * 150_000))
    assert covered >= 33, covered


def test_scale_aggregations_equal_the_full_log(small):
    from cxlab.churn import churn_threshold_analysis
    from cxlab.data import (churn_durations, customer_period_moments, customer_period_panel, customer_summary,
                            durations_from_summary, interpurchase_gap_counts, interpurchase_gaps)
    from cxlab.segmentation import xyz_analysis, xyz_from_moments

    tx, end = small.transactions, "2025-11-30"
    full = churn_threshold_analysis(interpurchase_gaps(tx, observation_end=end))
    counted = churn_threshold_analysis(interpurchase_gap_counts(tx, observation_end=end))
    for name in ("curve", "recommended", "tradeoff"):
        pd.testing.assert_frame_equal(getattr(full, name), getattr(counted, name))
    assert (full.n_customers, full.n_gaps, full.n_open) == (counted.n_customers, counted.n_gaps, counted.n_open)

    panel = customer_period_panel(tx, end=end)
    by_panel = xyz_analysis(panel, min_periods=3)
    by_moments = xyz_from_moments(customer_period_moments(tx, end=end), min_periods=3)
    pd.testing.assert_frame_equal(by_panel.classes, by_moments.classes, rtol=1e-9)
    pd.testing.assert_series_equal(by_panel.customers["xyz"], by_moments.customers["xyz"])

    pd.testing.assert_frame_equal(
        churn_durations(tx, threshold=90, observation_end=end),
        durations_from_summary(customer_summary(tx, observation_end=end), threshold=90, observation_end=end))


def test_every_section_records_its_seconds_and_peak_memory(small):
    ctx = render(make_study(small, customer_sample_size=600), "overview", "retention")
    assert list(ctx.resources) == ["overview", "retention"]
    for stage, rec in ctx.resources.items():
        assert rec["seconds"] > 0 and 0 < rec["peak_rss_gib"] < 64, stage
    # a section that uses the sample says so, once (the Cox model's)
    notes = [html for kind, html in ctx.blocks if kind == "note" and "cx-sample" in html]
    assert len(notes) == 1 and "600" in notes[0]


def test_cx_drivers_bootstrap_the_sampled_customers_answers(small):
    """The driver and CSI bootstraps (n_boot × answers weights) run on the sample's answers and say so;
    the tables of NPS by touchpoint keep every answer."""
    from cxlab import cx_drivers as cd
    from cxlab.report.sections.cx_drivers import N_BOOT, SEED

    study = make_study(small, customer_sample_size=600)
    ctx = render(study, "cx_drivers")
    notes = [html for kind, html in ctx.blocks if kind == "note" and "cx-sample" in html]
    assert len(notes) == 2 and all("600" in n for n in notes)  # the drivers' and the money's
    answers = study.sampled(study.surveys)
    assert 0 < len(answers) < len(study.surveys) and answers["customer_id"].isin(study.sample.ids).all()
    kd = cd.key_drivers(answers, n_boot=N_BOOT, seed=SEED)
    fit = kd.fit.iloc[0]
    assert ctx.metrics["cx_drivers_r2"].value == pytest.approx(fit["r2"], rel=1e-12)
    csi = cd.csi_index(answers, by="touchpoint", n_boot=N_BOOT, seed=SEED, min_answers=30)
    assert ctx.metrics["csi"].value == pytest.approx(csi.csi, rel=1e-12)
    # without a sample: every answer
    whole = render(make_study(small), "cx_drivers")
    assert whole.metrics["csi"].value == pytest.approx(cd.csi_index(
        whole.study.surveys, by="touchpoint", n_boot=N_BOOT, seed=SEED, min_answers=30).csi, rel=1e-12)


@pytest.fixture(scope="module")
def large():
    """A 150,000-customer client: the default sample (50,000) is drawn."""
    from cxlab.datasets import make_demo_dataset

    return make_demo_dataset(150_000, seed=8)


def _clv(study, summary):
    from cxlab.ltv import BGNBD, GammaGamma, customer_lifetime_value

    return customer_lifetime_value(BGNBD().fit(summary), GammaGamma().fit(summary), summary,
                                   horizon_months=study.horizon_months, discount_rate=study.monthly_discount_rate,
                                   unit=study.unit, margin=study.margin_rate)["clv"]


def test_sampled_models_agree_with_every_customer_within_the_sampling_error(large):
    """The LTV and Cox estimates the sampled report shows, against the same models on all 150,000."""
    from cxlab.survival import fit_cox

    study = make_study(large, churn_threshold_days=90)
    sample = study.sample
    assert sample.size == 50_000 and sample.population == len(study.customer_summary)

    full_clv = _clv(study, study.customer_summary)
    mean, lo, hi = sample.mean_interval(_clv(study, study.model_summary))
    assert lo <= full_clv.mean() <= hi, (full_clv.mean(), lo, hi)
    assert (hi - lo) / mean < 0.1  # an interval that says something

    def cox(durations):
        frame = durations[["duration", "event"]].join(study.customers["acquisition_channel"].astype(str))
        return fit_cox(frame, covariates=["acquisition_channel"], check_ph=False).hazard_ratios

    full, sampled = cox(study.durations), cox(study.model_durations)
    inside = (sampled["hr_ci_low"] <= full["hazard_ratio"]) & (full["hazard_ratio"] <= sampled["hr_ci_high"])
    assert inside.all(), pd.concat([full["hazard_ratio"], sampled[["hr_ci_low", "hr_ci_high"]]], axis=1)


def test_the_sample_is_stated_in_both_languages(small):
    from report_helpers import text_of
    from test_localisation import ALLOWED, _latin_words

    en = text_of(render(make_study(small, customer_sample_size=600), "overview"))
    assert "Customer sample." in en and "600" in en
    ru_ctx = render(make_study(small, lang="ru", customer_sample_size=600), "overview", "retention")
    ru = text_of(ru_ctx)
    assert "Выборка клиентов." in ru and "Выборка." in ru
    assert not _latin_words(ru) - ALLOWED, _latin_words(ru) - ALLOWED
