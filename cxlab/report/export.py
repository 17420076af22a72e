"""What a consultant takes away beside the HTML: the tables as Excel and the report as PDF.

* :func:`write_tables_xlsx` — every table of the report, full length (the HTML
  may show the first rows only), one sheet each, with a contents sheet and the
  headline figures; numbers stay numbers with the language's display formats.
* :func:`write_pdf` — the report printed by headless Chromium on A4 with the
  report's print stylesheet (:mod:`cxlab.report.browser`).
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from cxlab.report.files import atomic_path
from cxlab.report.texts import ui_texts

__all__ = ["write_pdf", "write_tables_xlsx"]

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(number: int | None, title: str, used: set[str]) -> str:
    """A valid, unused sheet name: ``NN title`` (``title`` alone without a number), at most 31 characters."""
    base = _BAD_SHEET_CHARS.sub(" ", title if number is None else f"{number:02d} {title}").strip()[:31].rstrip()
    name, k = base, 2
    while name.lower() in used:
        suffix = f" ({k})"
        name, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(name.lower())
    return name


def _number_formats(lang: str, currency: str) -> dict[str, str]:
    """Excel display formats; Excel itself applies the reader's separators."""
    symbol = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency)
    money = f'#,##0 "{symbol}"' if lang == "ru" else (f'"{symbol}"#,##0' if len(symbol) == 1 else f'"{symbol} "#,##0')
    return {"money": money, "pct": "0.0%", "pp": "0.0", "int": "#,##0", "num": "#,##0.00", "date": "dd.mm.yyyy"
            if lang == "ru" else "d mmm yyyy"}


def _cell_value(value: Any, kind: Any) -> Any:
    if callable(kind):
        return str(kind(value))
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, (int, float, str, _dt.date)):
        return value
    return str(value)


def _kind(series: pd.Series, kind: Any) -> str | None:
    if isinstance(kind, str):
        return "num" if kind == "days" else kind
    if callable(kind):
        return "text"
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "num"
    return None


#: Rows of an Excel sheet (Excel 2007+): a longer table continues on further sheets.
EXCEL_MAX_ROWS = 1_048_576


def _column_values(series: pd.Series, kind: Any) -> list[Any]:
    """A column as Excel cell values, converted once per column (a win-back list may have millions of rows)."""
    if callable(kind) or pd.api.types.is_bool_dtype(series) or not (
            pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)):
        return [_cell_value(v, kind) for v in series.tolist()]
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        return [None if v is pd.NaT else v.to_pydatetime() for v in values.astype(object).tolist()]
    if pd.api.types.is_integer_dtype(series) and not series.hasnans:
        return series.astype("int64").tolist()
    values = series.astype("float64").to_numpy()
    out = values.tolist()
    if not np.isfinite(values).all():
        for i in np.flatnonzero(~np.isfinite(values)):
            out[i] = None
    return out


def write_tables_xlsx(path: str | os.PathLike, tables: Sequence[Mapping[str, Any]], lang: str, currency: str, *,
                      section_titles: Mapping[str, str] | None = None,
                      metrics: Iterable[tuple[str, str]] = ()) -> None:
    """Write ``tables`` (``ReportContext.tables``) into an Excel workbook at ``path`` (atomically).

    XlsxWriter in constant-memory mode: rows go to disk as they are written, so a table of
    millions of rows costs seconds and little memory. A table longer than a sheet
    (:data:`EXCEL_MAX_ROWS` less the caption and header rows) continues on further sheets,
    each captioned "(part k/m)" and listed in the contents.
    """
    import xlsxwriter

    words = ui_texts()[lang]["export"]
    formats = _number_formats(lang, currency)
    titles = dict(section_titles or {})
    with atomic_path(path) as tmp, xlsxwriter.Workbook(
            str(tmp), {"constant_memory": True, "default_date_format": formats["date"]}) as wb:
        bold = wb.add_format({"bold": True})
        title_format = wb.add_format({"bold": True, "font_size": 12})
        head = wb.add_format({"bold": True, "bg_color": "#F5F7FA", "text_wrap": True, "valign": "top"})
        cell_formats: dict[str, Any] = {}

        def cell_format(code: str | None) -> Any:
            if code is None:
                return None
            if code not in cell_formats:
                cell_formats[code] = wb.add_format({"num_format": code})
            return cell_formats[code]

        used: set[str] = set()
        contents = wb.add_worksheet(_sheet_name(None, words["contents"], used))
        contents.write_row(0, 0, [words["sheet"], words["section"], words["table"], words["rows"]], bold)
        contents.set_column(0, 0, 34)
        contents.set_column(1, 1, 30)
        contents.set_column(2, 2, 70)
        listed = 1
        metrics = list(metrics)
        if metrics:
            name = _sheet_name(0, words["metrics"], used)
            sheet = wb.add_worksheet(name)
            sheet.write_row(0, 0, [words["metric"], words["value"]], bold)
            for r, (label, text) in enumerate(metrics, start=1):
                sheet.write_row(r, 0, [label, text])
            sheet.set_column(0, 0, 70)
            sheet.set_column(1, 1, 45)
            contents.write_row(listed, 0, [name, "", words["metrics"], len(metrics)])
            listed += 1
        per_sheet = EXCEL_MAX_ROWS - 2  # caption and header rows
        for number, table in enumerate(tables, start=1):
            frame: pd.DataFrame = table["frame"]
            section = titles.get(table.get("section") or "", table.get("section") or "")
            caption = table.get("caption") or section or words["table"]
            raw_kinds = [table.get("formats", {}).get(str(c)) for c in frame.columns]
            kinds = [_kind(frame[c], k) for c, k in zip(frame.columns, raw_kinds)]
            digits = table.get("digits", {})
            codes = []
            for col, kind in zip(frame.columns, kinds):
                code = formats.get(kind) if kind else None
                if kind == "num" and str(col) in digits:
                    d = int(digits[str(col)])
                    code = "#,##0" + ("." + "0" * d if d else "")
                if kind == "money" and str(col) in digits and int(digits[str(col)]) > 0:
                    code = code.replace("#,##0", "#,##0." + "0" * int(digits[str(col)]))
                codes.append(cell_format(code))
            widths = [min(max(10, max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)]) + 2), 60)
                      for col in frame.columns]
            columns = [_column_values(frame[c], k) for c, k in zip(frame.columns, raw_kinds)]
            # one writer per column, chosen once (XlsxWriter's `write` would inspect every value's type)
            writer_names = [_writer_name(values) for values in columns]
            parts = max(1, -(-len(frame) // per_sheet))
            for part in range(parts):
                lo, hi = part * per_sheet, min(len(frame), (part + 1) * per_sheet)
                title = caption if parts == 1 else f"{caption} ({words['part']} {part + 1}/{parts})"
                name = _sheet_name(number, title, used)
                sheet = wb.add_worksheet(name)
                sheet.write(0, 0, title, title_format)
                sheet.write_row(1, 0, [str(c) for c in frame.columns], head)
                for j, (width, fmt) in enumerate(zip(widths, codes)):
                    sheet.set_column(j, j, width, fmt)
                writers = [getattr(sheet, name) for name in writer_names]
                for r in range(lo, hi):
                    row = 2 + r - lo
                    for j, (values, write, fmt) in enumerate(zip(columns, writers, codes)):
                        value = values[r]
                        if value is not None:
                            write(row, j, value, fmt)
                sheet.freeze_panes(2, 0)
                contents.write_row(listed, 0, [name, section, title, hi - lo])
                listed += 1


_WRITER_BY_TYPE = {str: "write_string", float: "write_number", int: "write_number", bool: "write_boolean",
                   _dt.datetime: "write_datetime"}


def _writer_name(values: list[Any]) -> str:
    """The XlsxWriter worksheet method for a column whose values all have one type (else the generic one)."""
    types = {type(v) for v in values if v is not None}
    return _WRITER_BY_TYPE.get(types.pop(), "write") if len(types) == 1 else "write"


def write_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike, browser: Any = None) -> int:
    """Print ``html_path`` to ``pdf_path`` on A4 with headless Chromium; returns the number of pages.

    ``browser``: a running :class:`cxlab.report.browser.Browser` to reuse (a batch
    worker keeps one); otherwise one is started for this file.
    """
    from cxlab.report.browser import Browser

    own = browser is None
    browser = browser or Browser()
    try:
        page = browser.open(html_path, width=1280, media="print")
        try:
            data = page.pdf()
        finally:
            page.close()
    finally:
        if own:
            browser.close()
    with atomic_path(pdf_path) as tmp:
        Path(tmp).write_bytes(data)
    return pdf_page_count(data)


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF written by Chromium (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
