"""QualityReport / QualityIssue: building, merging and rendering the data-quality findings."""
import json

import pandas as pd
import pytest

from cxlab._base import Result, Summary
from cxlab.data.quality import QualityIssue, QualityReport


def _report():
    rep = QualityReport()
    rep.add("transactions", "amount", "flagged", 3, "t.csv: 3 returns", [2, 5, 9])
    rep.add("transactions", None, "dropped", 2, "t.csv: 2 duplicates", [4, 7])
    rep.add("customers", None, "info", 0, "c.csv: read as Windows-1251")
    return rep


def test_counts_and_select():
    rep = _report()
    assert isinstance(rep, Result)
    assert len(rep) == 3
    assert rep.count("flagged") == 3
    assert rep.count("dropped") == 2
    assert rep.count(table="customers") == 0
    assert [i.action for i in rep.select(table="transactions")] == ["flagged", "dropped"]
    assert rep.select(column="amount")[0].example_rows == (2, 5, 9)


def test_merge_keeps_order_and_does_not_mutate():
    a, b = _report(), QualityReport()
    b.add("surveys", "nps", "repaired", 1, "s.csv: x")
    merged = a.merge(b)
    assert len(merged) == 4 and len(a) == 3 and len(b) == 1
    assert merged.issues[-1].table == "surveys"
    assert len(a.merge(None)) == 3
    with pytest.raises(TypeError):
        a.merge([1, 2])


def test_to_frame_to_dict_json():
    rep = _report()
    frame = rep.to_frame()
    assert list(frame.columns) == ["table", "column", "action", "rows_count", "message", "example_rows", "kind"]
    assert frame["rows_count"].tolist() == [3, 2, 0]
    d = rep.to_dict()
    json.dumps(d)  # JSON-able
    assert d["rows_by_action"] == {"dropped": 2, "flagged": 3, "info": 0}
    assert d["issues"][0]["example_rows"] == [2, 5, 9]
    empty = QualityReport().to_frame()
    assert len(empty) == 0 and "message" in empty.columns


def test_summary_text_and_html():
    rep = _report()
    s = rep.summary()
    assert isinstance(s, Summary)
    text = str(rep)
    # dropped issues come first in the summary
    assert text.index("2 duplicates") < text.index("3 returns")
    assert "2 rows were removed" in text
    assert "<table" in rep._repr_html_()
    assert "No data-quality issues" in str(QualityReport())


def test_issue_validation_and_truncation():
    with pytest.raises(ValueError, match="action"):
        QualityIssue("transactions", None, 1, "deleted", "x")
    issue = QualityIssue("transactions", None, 50, "dropped", "x", tuple(range(50)))
    assert len(issue.example_rows) == 10
    assert isinstance(pd.Series([issue.rows_count]).iloc[0].item(), int)


# ---------------------------------------------------------------------------
# value checks
# ---------------------------------------------------------------------------
import numpy as np  # noqa: E402

from cxlab.data.quality import ValueChecks, amount_outliers  # noqa: E402


def test_outlier_rule_is_silent_on_lognormal_amounts_over_many_seeds():
    # P(robust z > 6) of a normal log is ~1e-9: over 200 seeds x 2,000 amounts no flag is expected
    flagged = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        amounts = np.exp(rng.normal(np.log(900), 1.0, 2000)) * np.where(rng.random(2000) < 0.03, -1, 1)
        flagged += int(amount_outliers(amounts)[0].sum())
    assert flagged == 0


def test_outlier_rule_always_finds_a_planted_error_over_many_seeds():
    found = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        amounts = np.append(np.exp(rng.normal(np.log(900), 1.0, 500)), 1e12)
        mask, z, share = amount_outliers(amounts)
        found += int(mask[-1] and mask[:-1].sum() == 0 and share[-1] > 0.99)
    assert found == 200


def test_outlier_by_share_of_revenue_and_small_logs():
    amounts = np.full(1000, 100.0)
    amounts[0] = 100.0 * 150  # 15 % of revenue alone, 1.2 decades above the rest
    mask, z, share = amount_outliers(amounts)
    assert mask.tolist() == [True] + [False] * 999 and share[0] == pytest.approx(15000 / 114900)
    few = amount_outliers([10.0, 20.0, 1e15])  # under 8 amounts no robust scale: only the share rule, off too
    assert not few[0].any() and np.isnan(few[1]).all()


def test_value_checks_serialise_and_dominance():
    checks = ValueChecks()
    assert not checks.dominates() and json.dumps(checks.to_dict())
    checks.outliers = pd.DataFrame({"row": [5], "customer_id": ["7"], "timestamp": [pd.Timestamp("2024-01-01")],
                                    "amount": [1e15], "robust_z": [30.0], "revenue_share": [0.99]}, index=[3])
    checks.outlier_revenue_share = 0.99
    d = checks.to_dict()
    assert checks.dominates() and d["dominates"] and d["outliers"][0]["row"] == 5
    json.dumps(d)


def test_issue_kind_is_selectable_and_serialised():
    rep = QualityReport()
    rep.add("transactions", "amount", "flagged", 1, "t.csv: 1 extreme amount", [5], kind="outlier")
    assert rep.select(kind="outlier")[0].example_rows == (5,)
    assert rep.to_dict()["issues"][0]["kind"] == "outlier"
    assert rep.to_frame()["kind"].tolist() == ["outlier"]
