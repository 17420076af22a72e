"""Numbers: decimal marks versus thousands marks, junk, returns — the totals must be right or the load stops."""
from __future__ import annotations

import pytest

from ._corpus import rows

corpus = pytest.mark.corpus


@corpus("numbers", "error")
def test_dot_thousands_in_semicolon_file_is_not_read_as_decimals(project):
    # "3.201" means 3 201 roubles; read as 3.201 the revenue would be ~1000x too low
    project.client(files={"tx.csv": rows("1;2024-01-05;3.201", "2;2024-01-06;12.500", "3;2024-01-07;450",
                                         "4;2024-01-08;1.050")})
    msg = project.error()
    assert "tx.csv" in msg and 'column "amount"' in msg and "rows 2, 3, 5" in msg
    assert '"3.201" = 3 201' in msg and '"3.201" = 3.201' in msg
    assert "add 'decimal: \",\"' under 'data.transactions:' in client.yml" in msg
    assert "'decimal: \".\"'" in msg and "decimal=" not in msg


@corpus("numbers", "result")
def test_dot_thousands_resolved_by_the_decimal_line(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;3.201", "2;2024-01-06;12.500", "3;2024-01-07;450")},
                   transactions={"path": "tx.csv", "decimal": ","})
    _, data = project.load()
    assert data.transactions["amount"].sum() == 3201 + 12500 + 450


@corpus("numbers", "result")
def test_dot_as_decimal_by_the_decimal_line(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;3.201", "2;2024-01-06;12.500")},
                   transactions={"path": "tx.csv", "decimal": "."})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [3.201, 12.5]


@corpus("numbers", "result")
def test_repeated_dot_groups_are_conclusive(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;1.234.567", "2;2024-01-06;3.201", "3;2024-01-07;12")})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [1234567.0, 3201.0, 12.0]


@corpus("numbers", "result")
def test_space_thousands_and_decimal_comma_are_conclusive(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;1\u00a0234,50", "2;2024-01-06;1 000", "3;2024-01-07;-12,5")})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [1234.5, 1000.0, -12.5]


@corpus("numbers", "result")
def test_another_column_of_the_file_decides_the_mark(project):
    # margin uses a decimal comma, so the dots in amount group thousands (one file, one convention)
    project.client(files={"tx.csv": rows("1;2024-01-05;3.201;12,5", "2;2024-01-06;12.500;300,25",
                                         header="customer_id;timestamp;amount;margin")})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [3201.0, 12500.0]
    assert data.transactions["margin"].tolist() == [12.5, 300.25]
    notes = [i.message for i in data.quality.select(kind="decimal")]
    assert any('column "margin" uses a decimal ","' in m for m in notes), notes


@corpus("numbers", "error")
def test_comma_groups_in_a_comma_file_are_ambiguous_too(project):
    project.client(files={"tx.csv": 'customer_id,timestamp,amount\n1,2024-01-05,"1,500"\n2,2024-01-06,"2,750"\n'})
    msg = project.error()
    assert '"1,500" = 1 500' in msg and '"1,500" = 1.5' in msg and "'decimal: \".\"'" in msg


@corpus("numbers", "error")
def test_mixed_decimal_styles_stop(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;1.234,50", "2;2024-01-06;1,234.50", "3;2024-01-07;2.000,00")})
    msg = project.error()
    assert "row 3" in msg and "mixes" in msg and "'decimal: \".\"'" in msg


@corpus("numbers", "error")
@pytest.mark.parametrize("junk", ["5 руб", "inf", "nan", "1e999", "12..5", "--3"])
def test_junk_amounts_are_named_with_their_row(project, junk):
    project.client(files={"tx.csv": rows("1;2024-01-05;10", f"2;2024-01-06;{junk}", "3;2024-01-07;7")})
    msg = project.error()
    assert "tx.csv" in msg and 'column "amount"' in msg and "row 3" in msg and junk in msg


@corpus("numbers", "result")
def test_unicode_minus_and_apostrophe_groups(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;\u221212.5", "2;2024-01-06;1'234.5", "3;2024-01-07;7.25")})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [-12.5, 1234.5, 7.25]


@corpus("numbers", "result")
def test_negative_amounts_are_kept_flagged_and_counted(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100", "1;2024-01-09;-30", "2;2024-01-06;50")})
    _, data = project.load()
    tx = data.transactions
    assert tx["amount"].sum() == 120 and tx["is_return"].tolist() == [False, True, False]
    (issue,) = data.quality.select(kind="returns")
    assert issue.rows_count == 1 and issue.example_rows == (3,)


@corpus("numbers", "error")
def test_excel_text_cells_with_dot_groups_are_ambiguous(project, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")

    def book(path):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["customer_id", "timestamp", "amount"])
        ws.append(["1", "2024-01-05", "3.201"])
        ws.append(["2", "2024-01-06", "12.500"])
        wb.save(path)

    project.client(files={"tx.xlsx": book}, transactions={"path": "tx.xlsx"})
    msg = project.error()
    assert "tx.xlsx" in msg and "sheet row numbers" in msg and "'decimal: \",\"'" in msg


@corpus("numbers", "error")
def test_discount_below_zero_names_the_bound(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100;5", "2;2024-01-06;50;-3",
                                         header="customer_id;timestamp;amount;discount")})
    msg = project.error()
    assert 'column "discount"' in msg and "row 3" in msg and "at least 0" in msg


@corpus("numbers", "error")
def test_decimal_setting_that_contradicts_the_values(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;1,234.50")}, transactions={"path": "tx.csv", "decimal": ","})
    msg = project.error()
    assert "row 2" in msg and 'with "," as the decimal mark (the decimal setting' in msg


@corpus("numbers", "error")
def test_currency_sign_in_amounts(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100 ₽", "2;2024-01-06;$20")})
    msg = project.error()
    assert "rows 2, 3" in msg and '"100 ₽", "$20"' in msg
