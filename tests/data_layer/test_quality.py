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
