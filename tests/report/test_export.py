"""tables.xlsx: every table full length, numbers as numbers, a table longer than a sheet continued."""
from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cxlab.report import export


def _table(n: int) -> dict:
    frame = pd.DataFrame({
        "customer": [f"C{i:05d}" for i in range(n)],
        "value": np.linspace(0.0, 1000.0, n),
        "purchases": np.arange(n, dtype=np.int64),
        "last": pd.date_range("2025-01-01", periods=n, freq="h"),
        "share": np.where(np.arange(n) % 3 == 0, np.nan, 0.5),
        "flag": np.arange(n) % 2 == 0,
    })
    return {"frame": frame, "caption": "Sleeping customers", "section": "reactivation",
            "formats": {"value": "money", "share": "pct"}, "digits": {}}


def _sheets(path):
    book = openpyxl.load_workbook(path)  # not read-only: number formats are read too
    return book, {name: book[name] for name in book.sheetnames}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_tables_keep_their_values_and_formats(tmp_path, lang):
    path = tmp_path / "tables.xlsx"
    table = _table(7)
    export.write_tables_xlsx(path, [table], lang, "RUB", section_titles={"reactivation": "Win-back"},
                             metrics=[("Customers", "7")])
    book, sheets = _sheets(path)
    names = list(sheets)
    assert len(names) == 3  # contents, key figures, the table
    rows = list(sheets[names[2]].iter_rows(values_only=True))
    assert rows[0][0] == "Sleeping customers" and list(rows[1]) == list(table["frame"].columns)
    frame = table["frame"]
    for i, row in enumerate(rows[2:]):
        assert row[0] == frame["customer"][i]
        assert row[1] == pytest.approx(frame["value"][i]) and isinstance(row[1], (int, float))  # a number
        assert row[2] == frame["purchases"][i]
        assert row[3] == frame["last"][i].to_pydatetime()
        assert row[4] is None if i % 3 == 0 else row[4] == 0.5  # NaN: an empty cell, never the text "nan"
        assert row[5] is (i % 2 == 0)
    sheet = sheets[names[2]]
    assert "₽" in sheet["B3"].number_format and sheet["E4"].number_format == "0.0%"
    assert sheet["D3"].number_format == ("dd.mm.yyyy" if lang == "ru" else "d mmm yyyy")
    contents = list(sheets[names[0]].iter_rows(values_only=True))
    assert contents[-1] == (names[2], "Win-back", "Sleeping customers", 7)


def test_a_table_longer_than_a_sheet_continues_on_further_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 6)  # 4 data rows per sheet
    path = tmp_path / "tables.xlsx"
    table = _table(10)
    export.write_tables_xlsx(path, [table], "ru", "RUB")
    book, sheets = _sheets(path)
    names = list(sheets)[1:]
    assert len(names) == 3
    customers = []
    for k, name in enumerate(names, start=1):
        rows = list(sheets[name].iter_rows(values_only=True))
        assert rows[0][0] == f"Sleeping customers (часть {k}/3)" and rows[1][0] == "customer"
        customers += [r[0] for r in rows[2:]]
    assert customers == list(table["frame"]["customer"])  # every row, once, in order
    contents = list(sheets[list(sheets)[0]].iter_rows(values_only=True))[1:]
    assert [r[3] for r in contents] == [4, 4, 2]
