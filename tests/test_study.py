"""The study: every fact decided once (window, split, churn rule, margin), and read by every section."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlab.config import ConfigError
from cxlab.data import ClientData, churn_durations, customer_summary, interpurchase_gaps
from cxlab.study import MAX_HOLDOUT_WEEKS, Study, open_study

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    from cxlab.datasets import make_demo_dataset

    return make_demo_dataset(1500, seed=3)


def _study(demo, **params) -> Study:
    return Study(ClientData(demo.transactions, demo.customers, demo.surveys), params)


def test_window_defaults_to_the_data_and_cuts_every_table(demo):
    study = _study(demo)
    tx = demo.transactions
    assert study.window_start == tx["timestamp"].min().normalize()
    assert study.window_end == tx["timestamp"].max().normalize()
    end = pd.Timestamp("2025-03-31")
    cut = _study(demo, observation_end="2025-03-31")
    assert cut.window_end == end
    assert cut.customer_summary["last_purchase"].max() <= end
    assert cut.surveys["date"].max() < end + pd.Timedelta(days=1)
    assert (cut.loyalty_join <= end + pd.Timedelta(days=1)).all()
    expected = customer_summary(tx, unit="W", observation_end=end)
    pd.testing.assert_frame_equal(cut.customer_summary, expected)


def test_data_layer_results_are_computed_once_and_shared(demo):
    study = _study(demo, churn_threshold_days=90)
    assert study.customer_summary is study.customer_summary
    assert study.durations is study.durations
    assert study.cohorts() is study.cohorts("M")
    assert study.panel() is study.panel("M")
    pd.testing.assert_frame_equal(
        study.durations, churn_durations(demo.transactions, threshold=90, unit="D", observation_end=study.window_end))


def test_calibration_default_holds_out_the_last_third_of_the_window_at_most_a_year(demo):
    study = _study(demo)
    cal = study.calibration
    assert cal.source == "default"
    weeks = min(MAX_HOLDOUT_WEEKS, int(study.window_days / 3 // 7))
    assert cal.holdout_weeks == weeks
    assert cal.calibration_end == study.window_end - pd.Timedelta(weeks=weeks)
    given = _study(demo, calibration_end="2025-06-30").calibration
    assert given.source == "parameter" and given.calibration_end == pd.Timestamp("2025-06-30")
    assert _study(demo, calibration_end="2025-06-30").calibration_summary["duration_holdout"].iloc[0] == \
        pytest.approx((study.window_end - pd.Timestamp("2025-06-30")).days / 7)


def test_short_window_has_no_split_and_says_why():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [1.0, 2.0, 3.0],
                       "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-02-10"])})
    study = Study.from_frames(tx)
    assert not study.calibration.available
    assert "41 days" in study.calibration.reason and study.calibration_summary is None


def test_churn_rule_parameter_data_choice_and_contract(demo):
    given = _study(demo, churn_threshold_days=60).churn
    assert (given.kind, given.threshold_days, given.source) == ("no_purchase", 60.0, "parameter")
    assert given.choice is not None  # the data's own choice is kept as evidence
    chosen = _study(demo).churn
    assert chosen.kind == "no_purchase" and chosen.source in ("km_quantile", "returning_quantile")
    from cxlab.churn import churn_threshold_analysis

    end = demo.transactions["timestamp"].max().normalize()
    analysis = churn_threshold_analysis(interpurchase_gaps(demo.transactions, unit="D", observation_end=end))
    assert chosen.threshold_days == analysis.choose(0.9).threshold
    from cxlab.datasets import make_demo_dataset

    contract = make_demo_dataset(600, seed=5, contractual=True)
    study = Study(ClientData(contract.transactions, contract.customers, contract.surveys),
                  {"churn_threshold_days": 60})
    assert study.churn.kind == "contractual" and study.churn.threshold_days is None
    assert study.durations["event"].sum() == (contract.customers["end_date"] <= study.window_end).sum()


def test_churn_is_unavailable_when_nobody_bought_twice():
    tx = pd.DataFrame({"customer_id": list("abc"), "amount": [1.0, 2.0, 3.0],
                       "timestamp": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-05-01"])})
    study = Study.from_frames(tx)
    assert not study.churn.available and "bought twice" in study.churn.reason
    with pytest.raises(ValueError, match="churn is not defined"):
        study.durations


def test_margin_rate_parameter_then_margin_column_then_assumption(demo):
    assert _study(demo, margin_rate=0.25).margin == (0.25, "parameter")
    tx = demo.transactions
    measured = tx["margin"].sum() / tx["amount"].sum()
    rate, source = _study(demo).margin
    assert source == "margin column" and rate == pytest.approx(measured, rel=1e-12)
    no_column = Study.from_frames(tx.drop(columns="margin"))
    assert no_column.margin == (0.30, "assumed")


def test_parameters_are_parsed_once_by_their_own_rules_and_unknown_ones_refused(demo):
    study = _study(demo, horizon_months="24", discount_rate="12%", churn_threshold_days="auto")
    assert study.horizon_months == 24 and study.discount_rate == pytest.approx(0.12)
    assert study.monthly_discount_rate == pytest.approx(1.12 ** (1 / 12) - 1)
    assert study.params["churn_threshold_days"] is None
    with pytest.raises(ConfigError, match="unknown study parameter"):
        _study(demo, churn_treshold_days=60)
    with pytest.raises(ConfigError, match="horizon_months"):
        _study(demo, horizon_months=0)


def test_empty_log_is_refused():
    empty = pd.DataFrame({"customer_id": pd.Series(dtype=object), "timestamp": pd.Series(dtype="datetime64[ns]"),
                          "amount": pd.Series(dtype=float)})
    with pytest.raises(ValueError, match="empty"):
        Study.from_frames(empty)


def test_summary_and_to_dict(demo):
    study = _study(demo, churn_threshold_days=90)
    facts = study.to_dict()
    json.dumps(facts)
    assert facts["churn"]["threshold_days"] == 90 and facts["churn"]["source"] == "parameter"
    text = str(study)
    assert "observation window" in text and "no purchase for 90 days" in text


def test_open_study_reads_the_client_as_the_report_does():
    study = open_study("demo", root=REPO)
    assert study.client == "demo" and study.config.name == "demo"
    assert study.churn.threshold_days == study.config.params["churn_threshold_days"]


# --------------------------------------------------------------------------- one study, one truth
SECTIONS = REPO / "cxlab" / "report" / "sections"
#: What a section module must not contain: parsing dates, reading or defaulting study parameters.
FORBIDDEN = [
    (r"pd\.Timestamp\(|pd\.to_datetime\(|datetime\.(date|datetime)\(|fromisoformat", "parses a date"),
    (r"\bparams\b", "reads the parameters instead of the study"),
    (r"(?<!loc\[)[\"'](observation_end|calibration_end|churn_threshold_days|horizon_months|discount_rate|margin_rate|"
     r"program_cost|reward_rate|breakage)[\"']", "looks a study parameter up by name"),
    (r"\bor\s+\d+(\.\d+)?\b", "defaults a value"),
    (r"interpurchase_gaps|churn_durations|customer_summary\(|cohort_counts\(|customer_period_panel\(|"
     r"contractual_durations|choose_churn_threshold|churn_threshold_analysis", "derives a study fact itself"),
]


@pytest.mark.parametrize("module", sorted(p.name for p in SECTIONS.glob("*.py")))
def test_no_section_decides_a_study_fact(module):
    source = (SECTIONS / module).read_text(encoding="utf-8")
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    for pattern, what in FORBIDDEN:
        found = re.search(pattern, code)
        assert not found, f"{module} {what}: {found.group(0)!r}"


def test_the_forbidden_patterns_catch_what_they_should():
    bad = ['end = pd.Timestamp(x)', 'days = ctx.params.get("churn_threshold_days") or 90',
           'h = cfg["horizon_months"]',
           'd = churn_durations(tx, threshold=90)', 'margin = study.x or 0.3']
    for line in bad:
        assert any(re.search(p, line) for p, _ in FORBIDDEN), line
