"""Workbooks with several sheets, ids that differ in format across tables, and values that dominate totals."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ._corpus import rows

corpus = pytest.mark.corpus
openpyxl = pytest.importorskip("openpyxl")


def _book(*sheets: tuple[str, list[list]]):
    def write(path):
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for title, content in sheets:
            ws = wb.create_sheet(title)
            for row in content:
                ws.append(row)
        wb.save(path)
    return write


TX_SHEET = [["customer_id", "timestamp", "amount"], ["1", dt.datetime(2024, 1, 5), 10], ["2", dt.datetime(2024, 1, 6), 20]]


# --------------------------------------------------------------------------- sheets
@corpus("sheets", "error")
def test_data_on_the_second_sheet_lists_the_sheets(project):
    project.client(files={"tx.xlsx": _book(("Инструкция", [["Выгрузка за 2024 год"]]), ("Продажи", TX_SHEET))},
                   transactions={"path": "tx.xlsx"})
    msg = project.error()
    assert 'the first sheet ("Инструкция") does not hold the transactions columns' in msg
    assert "add 'sheet: \"Продажи\"' under 'data.transactions:' in client.yml" in msg
    assert "\"Инструкция\" (columns 'Выгрузка за 2024 год')" in msg


@corpus("sheets", "result")
def test_sheet_setting_reads_that_sheet(project):
    project.client(files={"tx.xlsx": _book(("Инструкция", [["Выгрузка за 2024 год"]]), ("Продажи", TX_SHEET))},
                   transactions={"path": "tx.xlsx", "sheet": "Продажи"})
    _, data = project.load()
    assert data.transactions["amount"].sum() == 30 and data.sources["transactions"].sheet == "Продажи"


@corpus("sheets", "error")
def test_two_sheets_with_the_columns_are_not_silently_one(project):
    project.client(files={"tx.xlsx": _book(("2023", TX_SHEET), ("2024", TX_SHEET))}, transactions={"path": "tx.xlsx"})
    msg = project.error()
    assert 'several sheets hold the transactions columns ("2023", "2024")' in msg and "sheet:" in msg


@corpus("sheets", "result")
def test_first_sheet_with_the_columns_and_an_unrelated_one(project):
    project.client(files={"tx.xlsx": _book(("Data", TX_SHEET), ("Notes", [["free text"]]))},
                   transactions={"path": "tx.xlsx"})
    _, data = project.load()
    assert data.transactions["amount"].sum() == 30
    assert 'other sheets ignored: "Notes"' in data.quality.select(kind="sheet")[0].message


@corpus("sheets", "error")
def test_missing_sheet_lists_the_sheets(project):
    project.client(files={"tx.xlsx": _book(("Data", TX_SHEET))}, transactions={"path": "tx.xlsx", "sheet": "Sales"})
    msg = project.error()
    assert 'has no sheet "Sales"' in msg and '"Data" (columns' in msg


@corpus("sheets", "error")
def test_a_sheet_number_that_is_also_a_sheet_name(project):
    project.client(files={"tx.xlsx": _book(("1", TX_SHEET), ("Data", TX_SHEET))},
                   transactions={"path": "tx.xlsx", "sheet": 1})
    msg = project.error()
    assert 'sheet: 1 could mean the sheet named "1" or the sheet at position 1' in msg


@corpus("sheets", "error")
def test_csv_saved_with_an_xlsx_name(project):
    project.client(files={"tx.xlsx": rows("1;2024-01-05;10")}, transactions={"path": "tx.xlsx"})
    msg = project.error()
    assert "tx.xlsx" in msg and "cannot be read as an Excel workbook" in msg


# --------------------------------------------------------------------------- ids across tables
def _customers_xlsx(ids):
    return _book(("Клиенты", [["customer_id", "signup_date"]] + [[i, dt.datetime(2023, 1, 1)] for i in ids]))


@corpus("ids", "error")
def test_zero_padded_csv_against_numeric_excel_ids(project):
    tx = rows(*[f"{k:05d};2024-01-{k % 28 + 1:02d};10" for k in range(1, 41)])
    project.client(files={"tx.csv": tx, "cu.xlsx": _customers_xlsx(list(range(1, 41)))},
                   transactions={"path": "tx.csv"}, customers={"path": "cu.xlsx"})
    msg = project.error()
    assert "customer_id formats differ" in msg and "only 0% of the 40 ids in transactions appear in customers" in msg
    assert "100% do once leading zeros are ignored" in msg and '"00001" (transactions) = "1" (customers)' in msg
    assert "add 'strip_leading_zeros: true' under 'data.transactions:' in client.yml" in msg


@corpus("ids", "result")
def test_strip_leading_zeros_joins_the_tables(project):
    tx = rows(*[f"{k:05d};2024-01-{k % 28 + 1:02d};10" for k in range(1, 41)])
    project.client(files={"tx.csv": tx, "cu.xlsx": _customers_xlsx(list(range(1, 41)))},
                   transactions={"path": "tx.csv", "strip_leading_zeros": True}, customers={"path": "cu.xlsx"})
    _, data = project.load()
    assert set(data.transactions["customer_id"]) == set(data.customers["customer_id"])
    assert not data.quality.select(kind="unknown_ids", action="flagged")
    assert data.quality.select(kind="unknown_ids", action="repaired")[0].rows_count == 40


@corpus("ids", "error")
def test_strip_leading_zeros_refuses_to_merge_customers(project):
    project.client(files={"tx.csv": rows("0123;2024-01-05;10", "123;2024-01-06;10")},
                   transactions={"path": "tx.csv", "strip_leading_zeros": True})
    msg = project.error()
    assert 'would merge different customers: "0123", "123" all become "123"' in msg


@corpus("ids", "error")
def test_tables_with_no_customer_in_common(project):
    project.client(files={"tx.csv": rows("A1;2024-01-05;10", "A2;2024-01-06;10"),
                          "cu.csv": "customer_id;segment\n100023;gold\n100024;silver\n"},
                   transactions={"path": "tx.csv"}, customers={"path": "cu.csv"})
    msg = project.error()
    assert "no customer_id of" in msg and "tx.csv" in msg and "cu.csv" in msg and '"A1"' in msg


@corpus("ids", "error")
def test_ids_that_differ_in_letter_case(project):
    tx = rows(*[f"ab{k};2024-01-05;10" for k in range(10)])
    project.client(files={"tx.csv": tx, "cu.csv": "customer_id\n" + "".join(f"AB{k}\n" for k in range(10))},
                   transactions={"path": "tx.csv"}, customers={"path": "cu.csv"})
    msg = project.error()
    assert "once letter case is ignored" in msg and '"ab0" (transactions) = "AB0" (customers)' in msg


@corpus("ids", "error")
def test_survey_ids_in_another_format_than_customers(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10", "2;2024-01-05;10"),
                          "cu.csv": "customer_id\n1\n2\n",
                          "sv.csv": "customer_id;date;nps\n0001;2024-02-01;9\n0002;2024-02-01;3\n"},
                   transactions={"path": "tx.csv"}, customers={"path": "cu.csv"}, surveys={"path": "sv.csv"})
    msg = project.error()
    assert "between" in msg and "sv.csv" in msg and "add 'strip_leading_zeros: true' under 'data.surveys:'" in msg


@corpus("ids", "error")
def test_repeated_customer_in_the_customers_table(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10"), "cu.csv": "customer_id;segment\n1;a\n2;b\n1;c\n"},
                   transactions={"path": "tx.csv"}, customers={"path": "cu.csv"})
    msg = project.error()
    assert "cu.csv" in msg and "rows 2, 4" in msg and 'customer_id is not unique: "1"' in msg


@corpus("ids", "result")
def test_a_few_unknown_ids_are_flagged_not_fatal(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10", "2;2024-01-05;10", "9;2024-01-05;10"),
                          "cu.csv": "customer_id\n1\n2\n"},
                   transactions={"path": "tx.csv"}, customers={"path": "cu.csv"})
    _, data = project.load()
    (issue,) = data.quality.select(kind="unknown_ids")
    assert issue.rows_count == 1 and issue.example_rows == (4,)


# --------------------------------------------------------------------------- values
def _typical(n: int, seed: int = 7) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(np.round(np.exp(rng.normal(np.log(800), 0.8, n)), 2))


@corpus("values", "result")
def test_one_huge_amount_is_flagged_and_dominates(project):
    amounts = _typical(200) + [1e15]
    lines = [f"{k % 50};2024-{k % 12 + 1:02d}-10;{a}" for k, a in enumerate(amounts)]
    project.client(files={"tx.csv": rows(*lines)})
    _, data = project.load()
    (issue,) = data.quality.select(kind="outlier")
    assert issue.action == "flagged" and issue.rows_count == 1 and issue.example_rows == (202,)
    assert "dominated" in issue.message and "1.000e+15 (row 202)" in issue.message
    assert data.checks.dominates() and data.checks.outlier_revenue_share > 0.999
    assert data.checks.outliers["row"].tolist() == [202] and data.checks.outliers["amount"].tolist() == [1e15]


@corpus("values", "result")
def test_a_large_but_ordinary_order_is_not_an_outlier(project):
    amounts = _typical(300) + [800 * 40]  # 40x the median: a big order, not an error
    lines = [f"{k % 50};2024-{k % 12 + 1:02d}-10;{a}" for k, a in enumerate(amounts)]
    project.client(files={"tx.csv": rows(*lines)})
    _, data = project.load()
    assert not data.quality.select(kind="outlier") and not data.checks.dominates()


@corpus("values", "result")
def test_customer_with_only_returns_is_flagged_and_counted(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100", "2;2024-01-06;-40", "2;2024-02-06;-10",
                                         "3;2024-01-07;50", "3;2024-01-08;-50")})
    _, data = project.load()
    (issue,) = data.quality.select(kind="returns_only")
    assert issue.rows_count == 2 and issue.example_rows == (3, 4) and '"2"' in issue.message
    assert data.checks.returns_only == ["2"] and data.checks.returns_only_rows == 2


@corpus("values", "result")
def test_engine_source_counts_window_and_dominance_in_the_engine(project):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    def parquet(path):
        path.mkdir()
        n = 100
        ts = pd.date_range("2024-01-01", periods=n, freq="D")
        amount = [100.0] * (n - 1) + [1e9]
        pq.write_table(pa.table({"customer_id": [str(k % 10) for k in range(n)], "timestamp": ts,
                                 "amount": amount}), path / "part-0.parquet")

    project.client(config={"currency": "RUB", "parameters": {"observation_end": "2024-03-31"},
                           "data": {"transactions": {"engine": "duckdb", "path": "tx/"}}},
                   files={"tx": parquet})
    _, data = project.load()
    assert data.checks.out_of_window == 100 - 91
    assert data.quality.select(kind="out_of_window")[0].rows_count == 9
    assert data.checks.dominates() and data.quality.select(kind="outlier")


@corpus("values", "result")
def test_invisible_characters_in_ids_and_labels_are_removed_and_counted(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10;магазин", "1\u200b;2024-01-06;10;магазин\u00ad",
                                         "2;2024-01-07;10;сайт", header="customer_id;timestamp;amount;channel")})
    _, data = project.load()
    assert data.transactions["customer_id"].tolist() == ["1", "1", "2"]
    assert data.transactions["channel"].tolist() == ["магазин", "магазин", "сайт"]
    issues = data.quality.select(kind="invisible")
    assert [(i.column, i.rows_count, i.example_rows) for i in issues] == [("customer_id", 1, (3,)),
                                                                         ("channel", 1, (3,))]


@corpus("values", "result")
def test_lookalike_latin_letters_in_a_category_are_merged_and_counted(project):
    # "caйт" starts with a Latin c: it looks like "сайт" but would be its own group in every breakdown
    project.client(files={"tx.csv": rows("1;2024-01-05;10;сайт", "2;2024-01-06;10;сайт", "3;2024-01-07;10;caйт",
                                         "4;2024-01-08;10;магазин", header="customer_id;timestamp;amount;channel")})
    _, data = project.load()
    assert data.transactions["channel"].tolist() == ["сайт", "сайт", "сайт", "магазин"]
    (issue,) = data.quality.select(kind="lookalike")
    assert issue.action == "repaired" and issue.rows_count == 1 and issue.example_rows == (4,)
    assert '"caйт" → "сайт"' in issue.message


@corpus("sheets", "error")
def test_workbook_that_unpacks_to_too_much(project, monkeypatch):
    monkeypatch.setattr("cxlab.data.io.MAX_XLSX_UNPACKED", 1000)
    project.client(files={"tx.xlsx": _book(("Data", TX_SHEET))}, transactions={"path": "tx.xlsx"})
    msg = project.error()
    assert "tx.xlsx" in msg and "unpacks to" in msg and "save the sheet as CSV or Parquet" in msg


@corpus("ids", "error")
def test_ids_written_as_decimal_numbers(project):
    tx = rows(*[f"{k}.0;2024-01-05;10" for k in range(1, 11)])
    project.client(files={"tx.csv": tx, "cu.csv": "customer_id\n" + "".join(f"{k}\n" for k in range(1, 11))},
                   transactions={"path": "tx.csv"}, customers={"path": "cu.csv"})
    msg = project.error()
    assert 'once a decimal part ".0" is dropped' in msg and '"1.0" (transactions) = "1" (customers)' in msg
    assert "export the ids as text" in msg
