"""Attribute ratings in surveys (``rating_<attribute>``, 1..5) and the journey stage: a family of columns."""
from __future__ import annotations

import pandas as pd
import pytest

from cxlab.data.contract import SURVEYS

from ._corpus import rows

corpus = pytest.mark.corpus

TX = rows("c1;2024-01-05;100", "c2;2024-01-06;250")
SV = "customer_id;date;nps"


def _client(project, header: str, *lines: str, columns: dict | None = None):
    entry = {"path": "sv.csv", **({"columns": columns} if columns else {})}
    project.client(files={"tx.csv": TX, "sv.csv": rows(*lines, header=header)},
                   transactions={"path": "tx.csv"}, surveys=entry)


@corpus("ratings", "result")
def test_rating_headers_in_any_case_become_contract_columns(project):
    _client(project, SV + ";Rating_Staff;rating_speed;Journey_Stage",
            "c1;2024-01-05;9;5;4;purchase", "c2;2024-01-06;3;2;1;delivery")
    _, data = project.load()
    s = data.surveys
    assert s["rating_staff"].tolist() == [5.0, 2.0] and s["rating_speed"].tolist() == [4.0, 1.0]
    assert s["journey_stage"].tolist() == ["purchase", "delivery"]
    assert str(s["rating_staff"].dtype) == "float64"


@corpus("ratings", "result")
def test_client_headers_map_onto_ratings_in_client_yml(project):
    _client(project, SV + ";Оценка персонала;Скорость", "c1;2024-01-05;9;5;4", "c2;2024-01-06;3;2;1",
            columns={"Оценка персонала": "rating_staff", "Скорость": "rating_speed"})
    _, data = project.load()
    assert data.surveys["rating_staff"].tolist() == [5.0, 2.0]
    assert data.surveys["rating_speed"].tolist() == [4.0, 1.0]


@corpus("ratings", "result")
def test_a_rating_named_in_the_clients_language_is_a_member(project):
    _client(project, SV + ";rating_персонал", "c1;2024-01-05;9;5", "c2;2024-01-06;3;2")
    _, data = project.load()
    assert data.surveys["rating_персонал"].tolist() == [5.0, 2.0]


@corpus("ratings", "error")
def test_rating_outside_the_scale_names_file_column_and_row(project):
    _client(project, SV + ";rating_staff;rating_speed", "c1;2024-01-05;9;5;4", "c2;2024-01-06;3;2;10")
    msg = project.error()
    assert "sv.csv" in msg and 'column "rating_speed"' in msg and "row 3" in msg
    assert "between 1 and 5" in msg and '"10"' in msg


@corpus("ratings", "error")
def test_a_zero_rating_is_outside_the_scale(project):
    _client(project, SV + ";rating_price", "c1;2024-01-05;9;0", "c2;2024-01-06;3;3")
    msg = project.error()
    assert 'column "rating_price"' in msg and "row 2" in msg and "between 1 and 5" in msg


@corpus("ratings", "error")
def test_a_rating_that_is_not_a_number(project):
    _client(project, SV + ";rating_staff", "c1;2024-01-05;9;good", "c2;2024-01-06;3;2")
    msg = project.error()
    assert 'column "rating_staff"' in msg and '"good"' in msg


@corpus("ratings", "error")
def test_two_headers_for_one_rating_are_ambiguous(project):
    _client(project, SV + ";Rating_Staff;rating_staff", "c1;2024-01-05;9;5;1", "c2;2024-01-06;3;2;4")
    msg = project.error()
    assert '"Rating_Staff"' in msg and '"rating_staff"' in msg and "cannot tell which one is rating_staff" in msg


@corpus("ratings", "error")
@pytest.mark.parametrize("target", ["rating_", "rating_1st", "Rating_Staff", "rating staff"])
def test_mapping_onto_a_malformed_rating_name_is_refused(project, target):
    _client(project, SV + ";Персонал", "c1;2024-01-05;9;5", columns={"Персонал": target})
    msg = project.error()
    assert "not surveys contract columns" in msg and "rating_<attribute>" in msg


@corpus("ratings", "result")
def test_malformed_rating_headers_are_ignored_and_listed(project):
    _client(project, SV + ";rating_;rating_2", "c1;2024-01-05;9;5;4", "c2;2024-01-06;3;2;4")
    _, data = project.load()
    assert [c for c in data.surveys.columns if c.startswith("rating")] == []
    assert data.sources["surveys"].ignored_columns == ["rating_", "rating_2"]


def test_family_names_and_columns():
    assert SURVEYS.member_name("Rating_Staff ") == "rating_staff"
    assert SURVEYS.member_name("nps") is None and SURVEYS.member_name("rating_") is None
    assert SURVEYS.member_name("rating__x") is None and SURVEYS.member_name("rating_9x") is None
    col = SURVEYS.column("rating_speed")
    assert (col.kind, col.min, col.max, col.required) == ("float", 1, 5, False)
    assert "'speed'" in col.description
    names = [c.name for c in SURVEYS.columns_for(["rating_speed", "nps", "rating_staff", "other"])]
    assert names[-2:] == ["rating_speed", "rating_staff"] and "other" not in names
    with pytest.raises(KeyError):
        SURVEYS.column("rating_")


def test_validate_surveys_checks_ratings_of_frames_too():
    from cxlab.survey import validate_surveys

    frame = pd.DataFrame({"customer_id": ["a", "b"], "date": ["2024-01-01", "2024-01-02"], "nps": [9, 3],
                          "rating_staff": [5, 6]})
    with pytest.raises(ValueError, match=r"'rating_staff' must be a number from 1 to 5.*rows 1"):
        validate_surveys(frame)
