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


def _sheet_name(number: int, title: str, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", f"{number:02d} {title}").strip()[:31].rstrip()
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


def write_tables_xlsx(path: str | os.PathLike, tables: Sequence[Mapping[str, Any]], lang: str, currency: str, *,
                      section_titles: Mapping[str, str] | None = None,
                      metrics: Iterable[tuple[str, str]] = ()) -> None:
    """Write ``tables`` (``ReportContext.tables``) into an Excel workbook at ``path`` (atomically)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    words = ui_texts()[lang]["export"]
    formats = _number_formats(lang, currency)
    titles = dict(section_titles or {})
    wb = Workbook()
    contents = wb.active
    contents.title = words["contents"][:31]
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="F5F7FA")
    contents.append([words["sheet"], words["section"], words["table"], words["rows"]])
    for cell in contents[1]:
        cell.font = bold
    used = {contents.title.lower()}
    metrics = list(metrics)
    if metrics:
        sheet = wb.create_sheet(_sheet_name(0, words["metrics"], used))
        sheet.append([words["metric"], words["value"]])
        for cell in sheet[1]:
            cell.font = bold
        for label, text in metrics:
            sheet.append([label, text])
        sheet.column_dimensions["A"].width = 70
        sheet.column_dimensions["B"].width = 45
        contents.append([sheet.title, "", words["metrics"], len(metrics)])
    for number, table in enumerate(tables, start=1):
        frame: pd.DataFrame = table["frame"]
        section = titles.get(table.get("section") or "", table.get("section") or "")
        caption = table.get("caption") or section or words["table"]
        sheet = wb.create_sheet(_sheet_name(number, caption, used))
        sheet.append([caption])
        sheet["A1"].font = Font(bold=True, size=12)
        sheet.append([str(c) for c in frame.columns])
        for cell in sheet[2]:
            cell.font = bold
            cell.fill = head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        kinds = [_kind(frame[c], table.get("formats", {}).get(str(c))) for c in frame.columns]
        raw_kinds = [table.get("formats", {}).get(str(c)) for c in frame.columns]
        digits = table.get("digits", {})
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_cell_value(v, k) for v, k in zip(row, raw_kinds)])
        for j, (col, kind) in enumerate(zip(frame.columns, kinds), start=1):
            letter = get_column_letter(j)
            fmt = formats.get(kind) if kind else None
            if kind == "num" and str(col) in digits:
                d = int(digits[str(col)])
                fmt = "#,##0" + ("." + "0" * d if d else "")
            if kind == "money" and str(col) in digits and int(digits[str(col)]) > 0:
                fmt = fmt.replace("#,##0", "#,##0." + "0" * int(digits[str(col)]))
            if fmt:
                for cell in sheet[letter][2:]:
                    cell.number_format = fmt
            longest = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)])
            sheet.column_dimensions[letter].width = min(max(10, longest + 2), 60)
        sheet.freeze_panes = "A3"
        contents.append([sheet.title, section, caption, len(frame)])
    contents.column_dimensions["A"].width = 34
    contents.column_dimensions["B"].width = 30
    contents.column_dimensions["C"].width = 70
    with atomic_path(path) as tmp:
        wb.save(tmp)


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
