"""read_table / load_client_data on files written in tmp_path: formats, encodings, bad input."""
import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest

from cxlab.data.io import ClientData, LoadedTable, load_client_data, read_table
from cxlab.data.validate import DataFileError, DataQualityError

RU_COLUMNS = {"Клиент": "customer_id", "Дата": "timestamp", "Сумма": "amount", "Канал": "channel"}


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


def bad(callable_, *args, **kwargs) -> DataQualityError:
    with pytest.raises(DataQualityError) as info:
        callable_(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------------------
# formats and encodings
# ---------------------------------------------------------------------------
def test_russian_cp1251_semicolon_decimal_comma_dayfirst(tmp_path):
    text = (
        "Клиент;Дата;Сумма;Канал;Комментарий\n"
        "00012;31.12.2024 14:05;1\u00a0234,50;магазин;первый\n"
        "00013;01.02.2024;-12,00;сайт;возврат\n"
        "7;15.06.2024;0,99;магазин;\n"
    )
    p = write(tmp_path, "продажи.csv", text, "cp1251")
    before = sorted(os.listdir(tmp_path))
    lt = read_table(p, columns=RU_COLUMNS, today="2025-01-01")
    assert isinstance(lt, LoadedTable)
    f = lt.frame
    assert list(f.columns) == ["customer_id", "timestamp", "amount", "channel", "is_return"]
    assert f["customer_id"].tolist() == ["00012", "00013", "7"]
    assert f["timestamp"].tolist() == [pd.Timestamp("2024-12-31 14:05"), pd.Timestamp("2024-02-01"),
                                       pd.Timestamp("2024-06-15")]
    assert f["amount"].tolist() == [1234.5, -12.0, 0.99]
    assert f["channel"].tolist() == ["магазин", "сайт", "магазин"]
    assert f["is_return"].tolist() == [False, True, False]
    assert f["customer_id"].dtype == object and f["channel"].dtype == object
    assert f["timestamp"].dtype == "datetime64[ns]" and f["amount"].dtype == "float64"
    assert lt.source.encoding == "cp1251" and lt.source.sep == ";"
    assert lt.source.row_numbers.tolist() == [2, 3, 4]
    assert lt.source.ignored_columns == ["Комментарий"]
    messages = " | ".join(i.message for i in lt.quality)
    assert "Windows-1251" in messages
    returns = lt.quality.select(action="flagged", column="amount")
    assert returns and returns[0].rows_count == 1 and returns[0].example_rows == (3,)
    assert sorted(os.listdir(tmp_path)) == before  # loading writes nothing


@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_utf8_with_and_without_bom_comma_iso(tmp_path, bom):
    p = write(tmp_path, "t.csv", bom + "customer_id,timestamp,amount,order_id\n"
              "a1,2024-03-01,10.5,0001\na2,2024-03-02T10:11:12,\"1,234.50\",0002\n")
    lt = read_table(p, today="2025-01-01")
    assert lt.source.encoding == "utf-8" and lt.source.sep == ","
    assert lt.frame["amount"].tolist() == [10.5, 1234.5]
    assert lt.frame["order_id"].tolist() == ["0001", "0002"]
    assert lt.frame["timestamp"].iloc[1] == pd.Timestamp("2024-03-02 10:11:12")
    assert not lt.quality.select(action="info", column=None) or all(
        "Windows-1251" not in i.message for i in lt.quality)


def test_tab_separated_and_slash_dayfirst_with_time(tmp_path):
    p = write(tmp_path, "t.tsv", "customer_id\ttimestamp\tamount\n1\t31/12/2024 14:05\t5\n2\t01/12/2024\t6\n")
    lt = read_table(p, today="2025-01-01")
    assert lt.source.sep == "\t"
    assert lt.frame["timestamp"].tolist() == [pd.Timestamp("2024-12-31 14:05"), pd.Timestamp("2024-12-01")]


def test_month_first_detected_and_dayfirst_option(tmp_path):
    p = write(tmp_path, "us.csv", "customer_id,timestamp,amount\n1,12/31/2024,5\n2,01/02/2024,6\n")
    assert read_table(p, today="2025-01-01").frame["timestamp"].iloc[1] == pd.Timestamp("2024-01-02")
    p = write(tmp_path, "amb.csv", "customer_id,timestamp,amount\n1,01/02/2024,5\n2,03/04/2024,6\n")
    err = bad(read_table, p, today="2025-01-01")
    assert "dayfirst" in str(err) and "amb.csv" in str(err) and err.column == "timestamp"
    lt = read_table(p, dayfirst=True, today="2025-01-01")
    assert lt.frame["timestamp"].tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-04-03")]
    lt = read_table(p, dayfirst=False, today="2025-01-01")
    assert lt.frame["timestamp"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-03-04")]


def test_iso_with_offsets_converted_to_naive_utc(tmp_path):
    p = write(tmp_path, "tz.csv", "customer_id,timestamp,amount\n1,2024-03-01T10:00:00+03:00,5\n"
              "2,2024-03-01T10:00:00Z,5\n")
    lt = read_table(p, today="2025-01-01")
    assert lt.frame["timestamp"].dtype == "datetime64[ns]"
    assert lt.frame["timestamp"].tolist() == [pd.Timestamp("2024-03-01 07:00"), pd.Timestamp("2024-03-01 10:00")]
    assert lt.quality.select(action="repaired", column="timestamp")


def test_excel_russian_headers_dates_serials_and_ids(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Продажи"
    ws.append(["Клиент", "Дата", "Сумма", "Канал"])
    ws.append(["00012", dt.datetime(2024, 12, 31, 14, 5), 1234.5, "магазин"])
    ws.append([13, 45292, -12, "сайт"])  # 45292 = Excel serial of 2024-01-01
    ws.append(["14", "31.01.2024", "1 000,25", 3])
    wb.create_sheet("Пусто")
    p = tmp_path / "sales.xlsx"
    wb.save(p)
    lt = read_table(p, columns=RU_COLUMNS, today="2025-01-01")
    f = lt.frame
    assert f["customer_id"].tolist() == ["00012", "13", "14"]
    assert f["timestamp"].tolist() == [pd.Timestamp("2024-12-31 14:05"), pd.Timestamp("2024-01-01"),
                                       pd.Timestamp("2024-01-31")]
    assert f["amount"].tolist() == [1234.5, -12.0, 1000.25]
    assert f["channel"].tolist() == ["магазин", "сайт", "3"]
    assert f["timestamp"].dtype == "datetime64[ns]" and f["amount"].dtype == "float64"
    assert lt.source.format == "excel"
    err = bad(read_table, p, columns=RU_COLUMNS, sheet="Нет такого")
    assert "Продажи" in str(err) and "sales.xlsx" in str(err)


def test_excel_bad_cell_names_sheet_row(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["customer_id", "timestamp", "amount"])
    ws.append(["1", dt.datetime(2024, 1, 1), 5])
    ws.append(["2", dt.datetime(2024, 1, 2), "n/a"])
    p = tmp_path / "bad.xlsx"
    wb.save(p)
    err = bad(read_table, p, today="2025-01-01")
    assert err.rows == [3] and err.column == "amount" and "sheet row" in str(err) and "n/a" in str(err)


def test_parquet_types_kept(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    from decimal import Decimal

    tbl = pa.table({
        "Клиент": pa.array(["00001", "00002", "00003"]).dictionary_encode(),
        "ts": pa.array([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2, 12), dt.datetime(2024, 1, 3)],
                       type=pa.timestamp("ms")),
        "amount": pa.array([Decimal("1.50"), Decimal("-2.00"), Decimal("3.25")], type=pa.decimal128(10, 2)),
        "store": pa.array([1, 2, None], type=pa.int32()),
    })
    p = tmp_path / "t.parquet"
    pq.write_table(tbl, p)
    lt = read_table(p, columns={"Клиент": "customer_id", "ts": "timestamp"}, today="2025-01-01")
    f = lt.frame
    assert f["customer_id"].tolist() == ["00001", "00002", "00003"]
    assert f["timestamp"].dtype == "datetime64[ns]"
    assert f["timestamp"].iloc[1] == pd.Timestamp("2024-01-02 12:00")
    assert f["amount"].dtype == "float64" and f["amount"].tolist() == [1.5, -2.0, 3.25]
    assert f["store"].iloc[:2].tolist() == ["1", "2"] and pd.isna(f["store"].iloc[2])
    assert f["is_return"].tolist() == [False, True, False]
    assert lt.source.format == "parquet" and "1-based" in lt.source.row_note


def test_parquet_null_id_named_by_row(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"customer_id": ["a", None, "c"], "timestamp": ["2024-01-01"] * 3,
                             "amount": [1.0, 2.0, 3.0]}), tmp_path / "t.parquet")
    err = bad(read_table, tmp_path / "t.parquet", today="2025-01-01")
    assert err.rows == [2] and err.column == "customer_id" and "t.parquet" in str(err)


def test_not_a_parquet_file(tmp_path):
    p = write(tmp_path, "fake.parquet", "customer_id,timestamp\n")
    err = bad(read_table, p)
    assert "fake.parquet" in str(err) and "Parquet" in str(err)


# ---------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------
def test_missing_file(tmp_path):
    write(tmp_path, "sales.csv", "x")
    with pytest.raises(FileNotFoundError) as info:
        read_table(tmp_path / "sale.csv")
    err = info.value
    assert isinstance(err, DataFileError) and isinstance(err, ValueError)
    assert "sale.csv" in str(err) and "no such file" in str(err) and "sales.csv" in str(err)


def test_directory_and_bad_extensions(tmp_path):
    with pytest.raises(DataFileError, match="directory"):
        read_table(tmp_path)
    err = bad(read_table, write(tmp_path, "t.json", "{}"))
    assert "t.json" in str(err) and ".json" in str(err) and ".csv" in str(err)
    err = bad(read_table, write(tmp_path, "t.xls", b"\xd0\xcf\x11\xe0"))
    assert ".xlsx" in str(err)
    with pytest.raises(ValueError, match="table must be one of"):
        read_table(write(tmp_path, "t.csv", "a"), table="orders")


def test_empty_and_header_only(tmp_path):
    err = bad(read_table, write(tmp_path, "empty.csv", ""))
    assert "empty.csv" in str(err) and "0 bytes" in str(err)
    err = bad(read_table, write(tmp_path, "head.csv", "customer_id;timestamp;amount\n"))
    assert "head.csv" in str(err) and "no data rows" in str(err)
    err = bad(read_table, write(tmp_path, "blank.csv", "\n\n  \n"))
    assert "blank.csv" in str(err)


# ---------------------------------------------------------------------------
# encodings
# ---------------------------------------------------------------------------
def test_neither_utf8_nor_cp1251(tmp_path):
    # 0x98 is undefined in Windows-1251 and invalid as a UTF-8 start byte.
    p = write(tmp_path, "weird.csv", b"customer_id;timestamp;amount\n1;2024-01-01;\x98\n")
    err = bad(read_table, p)
    assert "weird.csv" in str(err) and "UTF-8" in str(err) and "Windows-1251" in str(err)
    assert "line 2" in str(err)
    # UTF-16 with its byte-order mark (Excel's "Unicode text") is conclusive; without it, it is refused
    p = write(tmp_path, "utf16.csv", "customer_id\ttimestamp\tamount\n1\t2024-01-01\t5\n".encode("utf-16"))
    lt = read_table(p, today="2025-01-01")
    assert lt.source.encoding == "utf-16" and lt.frame["amount"].tolist() == [5.0]
    p = write(tmp_path, "utf16le.csv", "customer_id;timestamp;amount\n".encode("utf-16-le"))
    err = bad(read_table, p)
    assert "NUL" in str(err) and "utf16le.csv" in str(err)


def test_explicit_wrong_encoding(tmp_path):
    p = write(tmp_path, "t.csv", "Клиент;Дата;Сумма\n1;2024-01-01;1\n", "cp1251")
    err = bad(read_table, p, encoding="utf-8")
    assert "t.csv" in str(err) and "line 1" in str(err)


# ---------------------------------------------------------------------------
# columns
# ---------------------------------------------------------------------------
def test_missing_required_column_lists_found_and_mapping(tmp_path):
    p = write(tmp_path, "t.csv", "Клиент;Когда;Сумма\n1;2024-01-01;5\n")
    err = bad(read_table, p, columns={"Клиент": "customer_id", "Сумма": "amount"})
    msg = str(err)
    assert "t.csv" in msg and "timestamp" in msg and '"Когда"' in msg and '"Клиент" → customer_id' in msg
    assert err.column == "timestamp"


def test_unknown_mapped_source_column(tmp_path):
    p = write(tmp_path, "t.csv", "Клиент;Дата;Сумма\n1;2024-01-01;5\n")
    err = bad(read_table, p, columns={"Клиент": "customer_id", "Date": "timestamp", "Сумма": "amount"})
    assert '"Date"' in str(err) and "not in the file" in str(err) and '"Дата"' in str(err)


def test_mapping_to_non_contract_name_and_twice(tmp_path):
    p = write(tmp_path, "t.csv", "Клиент;Дата;Сумма\n1;2024-01-01;5\n")
    err = bad(read_table, p, columns={"Клиент": "client", "Дата": "timestamp", "Сумма": "amount"})
    assert "'client'" in str(err) and "customer_id" in str(err)
    err = bad(read_table, p, columns={"Клиент": "customer_id", "Дата": "amount", "Сумма": "amount"})
    assert "'amount'" in str(err)


def test_headers_matched_ignoring_case_and_spaces(tmp_path):
    p = write(tmp_path, "t.csv", " Customer_ID ; TIMESTAMP ;Amount\n1;2024-01-01;5\n")
    assert read_table(p, today="2025-01-01").frame["amount"].tolist() == [5.0]


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
def test_unparseable_numbers_name_rows_and_values(tmp_path):
    rows = "\n".join(f"{i};2024-01-01;{v}" for i, v in enumerate(["1", "2", "3", "abc", "5", "6", "7", "1.2.3"]))
    p = write(tmp_path, "transactions.csv", "Клиент;Дата;Сумма\n" + rows + "\n")
    err = bad(read_table, p, columns={"Клиент": "customer_id", "Дата": "timestamp", "Сумма": "amount"})
    msg = str(err)
    assert err.rows == [5, 9] and err.column == "amount" and err.client_column == "Сумма"
    assert err.expected == "a number" and err.examples == ["abc", "1.2.3"]
    assert msg.startswith(str(p)) and 'column "amount" (client column "Сумма")' in msg
    assert "rows 5, 9 (2 of 8; line numbers in the file, header = line 1)" in msg
    assert '"abc", "1.2.3"' in msg


def test_unparseable_dates(tmp_path):
    p = write(tmp_path, "t.csv", "customer_id,timestamp,amount\n1,2024-01-01,5\n2,yesterday,5\n3,2024-02-30,5\n")
    err = bad(read_table, p, today="2025-01-01")
    assert err.rows == [3, 4] and err.column == "timestamp" and "yesterday" in str(err) and "t.csv" in str(err)


def test_missing_customer_id_rows(tmp_path):
    p = write(tmp_path, "t.csv", "customer_id;timestamp;amount\n1;2024-01-01;5\n ;2024-01-01;5\n;2024-01-02;7\n")
    err = bad(read_table, p, today="2025-01-01")
    assert err.rows == [3, 4] and err.column == "customer_id" and "rows 3, 4" in str(err)


def test_blank_line_inside_file_keeps_line_numbers(tmp_path):
    p = write(tmp_path, "t.csv", "customer_id;timestamp;amount\n1;2024-01-01;5\n\n2;2024-01-01;x\n\n")
    err = bad(read_table, p, today="2025-01-01")
    assert err.rows == [4]
    p = write(tmp_path, "ok.csv", "customer_id;timestamp;amount\n1;2024-01-01;5\n\n2;2024-01-01;6\n")
    lt = read_table(p, today="2025-01-01")
    assert len(lt.frame) == 2 and lt.source.row_numbers.tolist() == [2, 4]
    assert lt.quality.select(action="dropped")[0].example_rows == (3,)


@pytest.mark.parametrize("table,header,row,column,expected", [
    ("surveys", "customer_id;date;nps", "1;2024-01-01;11", "nps", "between 0 and 10"),
    ("surveys", "customer_id;date;nps", "1;2024-01-01;7,5", "nps", "a whole number"),
    ("surveys", "customer_id;date;nps;csat", "1;2024-01-01;7;6", "csat", "between 1 and 5"),
    ("transactions", "customer_id;timestamp;amount;discount", "1;2024-01-01;5;-1", "discount", "at least 0"),
    ("customers", "customer_id;acquisition_cost", "1;-3", "acquisition_cost", "at least 0"),
])
def test_bounds_from_contract(tmp_path, table, header, row, column, expected):
    good = {"surveys": "2;2024-01-01;5" + (";4" if "csat" in header else ""),
            "transactions": "2;2024-01-01;5;0", "customers": "2;0"}[table]
    p = write(tmp_path, f"{table}.csv", f"{header}\n{good}\n{row}\n")
    err = bad(read_table, p, table, today="2025-01-01")
    assert err.rows == [3] and err.column == column and expected in str(err) and f"{table}.csv" in str(err)


def test_nps_is_int64(tmp_path):
    p = write(tmp_path, "s.csv", "customer_id;date;nps;touchpoint\n1;2024-01-01;10;app\n2;02.01.2024;0;\n")
    f = read_table(p, "surveys", today="2025-01-01", dayfirst=True).frame
    assert f["nps"].dtype == "int64" and f["nps"].tolist() == [10, 0]
    assert f["touchpoint"].iloc[0] == "app" and pd.isna(f["touchpoint"].iloc[1])


def test_future_dates_are_an_error(tmp_path):
    p = write(tmp_path, "t.csv", "customer_id;timestamp;amount\n1;2024-12-31 23:59;5\n2;2025-01-02;5\n")
    err = bad(read_table, p, today="2025-01-01")
    assert err.rows == [3] and err.column == "timestamp" and "future" in str(err)
    assert len(read_table(p, today="2025-01-02").frame) == 2
    # default today is the real today: a date far in the future fails
    p = write(tmp_path, "f.csv", "customer_id;timestamp;amount\n1;2999-01-01;5\n")
    assert bad(read_table, p).rows == [2]


def test_mixed_decimal_styles_error(tmp_path):
    p = write(tmp_path, "t.csv", "customer_id;timestamp;amount\n1;2024-01-01;1.234,50\n2;2024-01-01;1,234.50\n"
              "3;2024-01-01;2.000,00\n")
    err = bad(read_table, p, today="2025-01-01")
    assert err.rows == [3] and "decimal" in str(err)
    lt = read_table(write(tmp_path, "u.csv", "customer_id;timestamp;amount\n1;2024-01-01;1.234.567\n"),
                    today="2025-01-01")
    assert lt.frame["amount"].tolist() == [1234567.0]


def test_duplicates_dropped_and_reported(tmp_path):
    p = write(tmp_path, "t.csv", "customer_id;timestamp;amount\n1;2024-01-01;5\n1;2024-01-01;5\n"
              "2;2024-01-01;5\n1;2024-01-01;5\n1;2024-01-01;6\n")
    lt = read_table(p, today="2025-01-01", duplicates="drop")
    assert len(lt.frame) == 3 and lt.source.row_numbers.tolist() == [2, 4, 6]
    (issue,) = lt.quality.select(action="dropped")
    assert issue.rows_count == 2 and issue.example_rows == (3, 5)
    # without an order id, a repeat may be a second equal purchase: kept and flagged by default
    kept = read_table(p, today="2025-01-01")
    assert len(kept.frame) == 5 and kept.quality.select(action="flagged")[0].rows_count == 2
    # with an order id, a repeated row is a double entry: dropped by default
    q = write(tmp_path, "o.csv", "customer_id;timestamp;amount;order_id\n1;2024-01-01;5;A\n1;2024-01-01;5;A\n"
              "1;2024-01-01;5;B\n")
    with_ids = read_table(q, today="2025-01-01")
    assert with_ids.frame["order_id"].tolist() == ["A", "B"]
    assert with_ids.quality.select(action="dropped")[0].rows_count == 1


def test_customers_key_unique(tmp_path):
    p = write(tmp_path, "c.csv", "customer_id;segment\n1;a\n2;b\n1;c\n3;d\n3;d\n")
    err = bad(read_table, p, "customers")
    assert err.rows == [2, 4] and err.column == "customer_id" and '"1"' in str(err) and "c.csv" in str(err)
    lt = read_table(write(tmp_path, "ok.csv", "customer_id;segment\n1;a\n3;d\n3;d\n"), "customers")
    assert lt.frame["customer_id"].tolist() == ["1", "3"]


def test_whitespace_separator_option(tmp_path):
    p = write(tmp_path, "w.dat", "  id  day   value\n 0001 20240101  1.5\n 0002 20240102 10.0\n")
    lt = read_table(p, columns={"id": "customer_id", "day": "timestamp", "value": "amount"}, sep="whitespace",
                    date_format="%Y%m%d", today="2025-01-01")
    assert lt.frame["customer_id"].tolist() == ["0001", "0002"]
    assert lt.frame["timestamp"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    err = bad(read_table, p, columns={"id": "customer_id", "day": "timestamp", "value": "amount"},
              sep="whitespace", date_format="%d.%m.%Y", today="2025-01-01")
    assert err.rows == [2, 3] and '"%d.%m.%Y"' in str(err) and "20240101" in str(err)


def test_ragged_rows_clear_error(tmp_path):
    p = write(tmp_path, "r.csv", "customer_id;timestamp;amount\n1;2024-01-01;5\n2;2024-01-01;5;9;9\n" * 1)
    err = bad(read_table, p, today="2025-01-01")
    assert "r.csv" in str(err) and "separator" in str(err)


# ---------------------------------------------------------------------------
# load_client_data
# ---------------------------------------------------------------------------
def test_load_client_data_cross_checks(tmp_path):
    tx = write(tmp_path, "tx.csv", "Клиент;Дата;Сумма;Канал\n1;05.01.2024;10,0;web\n1;20.01.2024;-3,0;web\n"
               "2;01.01.2024;7;app\n9;02.02.2024;4;app\n", "cp1251")
    cu = write(tmp_path, "cu.csv", "customer_id,signup_date,loyalty_join_date\n1,2024-01-10,2024-01-05\n"
               "2,2024-01-01,\n")
    sv = write(tmp_path, "sv.csv", "customer_id,date,nps\n1,2024-02-01,9\n7,2024-02-01,3\n")
    data = load_client_data({
        "transactions": {"path": tx, "columns": RU_COLUMNS, "today": "2025-01-01"},
        "customers": {"path": str(cu), "today": "2025-01-01"},
        "surveys": {"path": sv, "today": "2025-01-01"},
    })
    assert isinstance(data, ClientData)
    assert len(data.transactions) == 4 and len(data.customers) == 2 and len(data.surveys) == 2
    q = data.quality
    before = q.select(table="transactions", column="timestamp", action="flagged")
    assert before and before[0].rows_count == 1 and before[0].example_rows == (2,)
    unknown_tx = q.select(table="transactions", column="customer_id")
    assert unknown_tx[0].rows_count == 1 and unknown_tx[0].example_rows == (5,)
    unknown_sv = q.select(table="surveys", column="customer_id")
    assert unknown_sv[0].rows_count == 1 and unknown_sv[0].example_rows == (3,)
    loyal = q.select(table="customers", column="loyalty_join_date")
    assert loyal[0].rows_count == 1 and "cu.csv" in loyal[0].message
    returns = q.select(column="amount", action="flagged")
    assert returns[0].rows_count == 1
    assert set(data.sources) == {"transactions", "customers", "surveys"}


def test_load_client_data_bad_spec(tmp_path):
    tx = write(tmp_path, "tx.csv", "customer_id;timestamp;amount\n1;2024-01-01;5\n")
    with pytest.raises(DataQualityError, match="transactions table is required"):
        load_client_data({"customers": {"path": tx}})
    with pytest.raises(DataQualityError, match="orders"):
        load_client_data({"transactions": {"path": tx}, "orders": {"path": tx}})
    with pytest.raises(DataQualityError, match="no 'path'"):
        load_client_data({"transactions": {"sep": ";"}})
    data = load_client_data({"transactions": str(tx)})
    assert data.customers is None and data.surveys is None and len(data.transactions) == 1
    # a customers table with a repeated id is an error naming the rows
    cu = write(tmp_path, "cu.csv", "customer_id\n1\n1 \n")
    with pytest.raises(DataQualityError, match=r"rows 2, 3"):
        load_client_data({"transactions": tx, "customers": cu})


def test_unknown_numeric_values_excel_like_object_ids():
    # frame-level guarantee used by the report: no NaN ids sneak through as "nan"
    from cxlab.data.contract import TRANSACTIONS
    from cxlab.data.validate import TableContext, parse_ids

    s = pd.Series([1.0, np.nan, 12345678901.0, "007"], dtype=object)
    out = parse_ids(s, TableContext("x.xlsx", "transactions"), TRANSACTIONS.column("customer_id"))
    assert out.iloc[0] == "1" and pd.isna(out.iloc[1]) and out.iloc[2] == "12345678901" and out.iloc[3] == "007"


def test_parquet_tz_aware_and_text_timestamps(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    aware = pa.array([dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone.utc)], type=pa.timestamp("us", tz="Europe/Moscow"))
    pq.write_table(pa.table({"customer_id": [7], "timestamp": aware, "amount": [1.0]}), tmp_path / "a.parquet")
    lt = read_table(tmp_path / "a.parquet", today="2025-01-01")
    assert lt.frame["timestamp"].tolist() == [pd.Timestamp("2024-01-01 12:00")]
    assert lt.frame["customer_id"].tolist() == ["7"]
    assert lt.quality.select(action="repaired")
    pq.write_table(pa.table({"customer_id": ["7"], "timestamp": ["31.12.2024"], "amount": ["1,5"]}),
                   tmp_path / "t.parquet")
    lt = read_table(tmp_path / "t.parquet", today="2025-01-01")
    assert lt.frame["timestamp"].tolist() == [pd.Timestamp("2024-12-31")] and lt.frame["amount"].tolist() == [1.5]


def test_excel_header_only_and_fake_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "timestamp", "amount"])
    wb.save(tmp_path / "head.xlsx")
    err = bad(read_table, tmp_path / "head.xlsx")
    assert "head.xlsx" in str(err) and "no data rows" in str(err)
    err = bad(read_table, write(tmp_path, "fake.xlsx", "customer_id;timestamp;amount\n1;2024-01-01;5\n"))
    assert "fake.xlsx" in str(err) and "Excel" in str(err)
