"""Headers, separators and empty files: which column is which must never be a guess."""
from __future__ import annotations

import datetime as dt

import pytest

from ._corpus import rows

corpus = pytest.mark.corpus


@corpus("headers", "error")
def test_repeated_header_names_both_positions_and_the_mapping(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100;30", "2;2024-01-06;250;75",
                                         header="customer_id;timestamp;amount;amount")})
    msg = project.error()
    assert 'the header "amount" appears 2 times' in msg
    assert 'column 3 holds "100", "250"' in msg and 'column 4 holds "30", "75"' in msg
    assert "'columns: {\"amount (column 3)\": amount}' under 'data.transactions:'" in msg
    assert "amount.1" not in msg


@corpus("headers", "result")
def test_repeated_header_resolved_by_the_suggested_mapping(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100;30", "2;2024-01-06;250;75",
                                         header="customer_id;timestamp;amount;amount")},
                   transactions={"path": "tx.csv", "columns": {"amount (column 4)": "amount"}})
    _, data = project.load()
    assert data.transactions["amount"].sum() == 105
    assert data.sources["transactions"].ignored_columns == ["amount (column 3)"]


@corpus("headers", "error")
def test_headers_equal_but_for_case_are_ambiguous(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100;30", header="customer_id;timestamp;Amount;amount")})
    msg = project.error()
    assert '"Amount"' in msg and '"amount"' in msg and "cannot tell which one is amount" in msg


@corpus("headers", "result")
def test_repeated_header_of_an_unused_column_is_harmless(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100;a;b", header="customer_id;timestamp;amount;note;note")})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [100.0]
    (issue,) = data.quality.select(kind="columns")
    assert '"note (column 4)", "note (column 5)"' in issue.message


@corpus("headers", "error")
def test_missing_required_column_lists_the_file_headers_and_yaml_mapping(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100", header="Клиент;Дата;Сумма")},
                   transactions={"path": "tx.csv", "columns": {"Клиент": "customer_id", "Дата": "timestamp"}})
    msg = project.error()
    assert "required transactions column(s) missing: amount" in msg and '"Сумма"' in msg
    assert "add '\"Client header\": amount' to the 'columns:' mapping under 'data.transactions:'" in msg
    assert "columns={" not in msg


@corpus("headers", "error")
def test_mapping_names_a_header_the_file_lacks(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100", header="Клиент;Дата;Сумма")},
                   transactions={"path": "tx.csv", "columns": {"Клиент": "customer_id", "Date": "timestamp",
                                                               "Сумма": "amount"}})
    msg = project.error()
    assert '"Date"' in msg and "not in the file" in msg and '"Дата"' in msg


@corpus("headers", "error")
def test_repeated_header_in_excel(project):
    openpyxl = pytest.importorskip("openpyxl")

    def book(path):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["customer_id", "timestamp", "amount", "amount"])
        ws.append(["1", dt.datetime(2024, 1, 5), 100, 30])
        wb.save(path)

    project.client(files={"tx.xlsx": book}, transactions={"path": "tx.xlsx"})
    msg = project.error()
    assert "tx.xlsx" in msg and 'the header "amount" appears 2 times' in msg and "(column 3)" in msg


@corpus("headers", "error")
def test_repeated_header_in_parquet(project):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    def parquet(path):
        tbl = pa.Table.from_arrays([pa.array(["1"]), pa.array(["2024-01-05"]), pa.array([100.0]), pa.array([30.0])],
                                   names=["customer_id", "timestamp", "amount", "amount"])
        pq.write_table(tbl, path)

    project.client(files={"tx.parquet": parquet}, transactions={"path": "tx.parquet"})
    msg = project.error()
    assert "tx.parquet" in msg and 'the header "amount" appears 2 times' in msg


@corpus("headers", "error")
@pytest.mark.parametrize("content, words", [
    ("", "0 bytes"),
    ("\n\n  \n", "no data"),
    (TX := "customer_id;timestamp;amount\n", "no data rows"),
    (b"\x00\x01\x02binary", "NUL"),
])
def test_empty_and_binary_files(project, content, words):
    project.client(files={"tx.csv": content})
    msg = project.error()
    assert "tx.csv" in msg and words in msg


@corpus("headers", "error")
def test_unquoted_separator_inside_a_value(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;100;ok", "2;2024-01-06;50;note; with a semicolon",
                                         header="customer_id;timestamp;amount;comment")})
    msg = project.error()
    assert "tx.csv" in msg and "Expected 4 fields in line 3, saw 5" in msg and "'sep: \";\"'" in msg


@corpus("headers", "error")
def test_two_separators_that_split_alike_stop(project):
    # every line has one ';' and one ','; either could separate the two columns
    project.client(files={"tx.csv": "Сумма, руб.;id\n100,50;1\n200,00;2\n"})
    msg = project.error()
    assert "cannot tell the column separator" in msg and "'sep: \";\"'" in msg and "'sep: \",\"'" in msg


@corpus("headers", "result")
def test_bom_and_padded_headers_still_map(project):
    project.client(files={"tx.csv": "\ufeff Customer_ID ;\"timestamp\"; AMOUNT \n1;2024-01-05;10\n"})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [10.0]


@corpus("headers", "error")
def test_title_lines_above_the_header(project):
    project.client(files={"tx.csv": "Выгрузка из 1С\nПериод: 2024\n\n" + rows("1;2024-01-05;10")})
    msg = project.error()
    assert "not on the first line but on line 4" in msg and "add 'header_line: 4' under 'data.transactions:'" in msg


@corpus("headers", "result")
def test_title_lines_skipped_with_header_line(project):
    project.client(files={"tx.csv": "Выгрузка из 1С\nПериод: 2024\n\n" + rows("1;2024-01-05;10", "2;2024-01-06;5")},
                   transactions={"path": "tx.csv", "header_line": 4})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [10.0, 5.0]
    assert data.sources["transactions"].row_numbers.tolist() == [5, 6]


@corpus("headers", "error")
def test_title_rows_above_the_header_in_excel(project):
    openpyxl = pytest.importorskip("openpyxl")

    def book(path):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["Отчёт о продажах за 2024"])
        ws.append([])
        ws.append(["customer_id", "timestamp", "amount"])
        ws.append(["1", dt.datetime(2024, 1, 5), 10])
        wb.save(path)

    project.client(files={"tx.xlsx": book}, transactions={"path": "tx.xlsx"})
    msg = project.error()
    assert "on row 3, not row 1" in msg and "'header_line: 3'" in msg


@corpus("headers", "error")
def test_totals_line_at_the_end(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10", "2;2024-01-06;5", "3;2024-01-07;5", ";;20")})
    msg = project.error()
    assert 'column "customer_id", row 5' in msg and "a totals line?" in msg


@corpus("headers", "result")
def test_invisible_characters_in_headers(project):
    project.client(files={"tx.csv": "customer_id;\u200btimestamp;amount\u00a0\n1;2024-01-05;10\n"})
    _, data = project.load()
    assert data.transactions["amount"].tolist() == [10.0]


def test_errors_carry_the_fix_as_data(project):
    from cxlab.config import load_client_config
    from cxlab.data.validate import DataQualityError

    project.client(files={"tx.csv": "Отчёт\n" + rows("1;2024-01-05;10")})
    with pytest.raises(DataQualityError) as info:
        load_client_config("acme", project.root).load_data()
    assert info.value.fix == {"header_line": 2}


@corpus("headers", "error")
def test_one_header_mapped_onto_two_columns(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10", header="customer_id;timestamp;Сумма")},
                   transactions={"path": "tx.csv", "columns": {"Сумма": "amount", "сумма": "margin"}})
    assert 'the header "Сумма" is mapped onto amount and margin' in project.error()
