"""Parsing and validation of client columns into the data contract.

Design
------
:func:`cxlab.data.io.read_table` reads a file into a *raw* frame (strings for
CSV, whatever types Excel or Parquet hold) whose index is the 0-based position
of each data row in the file.  This module turns each raw column into its
contract type and checks it, column by column:

* every parser is vectorised — bad rows are found with boolean masks (regular
  expressions and string kernels run in Arrow through pandas'
  ``string[pyarrow]`` dtype), never with a Python loop over rows, so a
  10-million-row table validates in seconds;
* a value that cannot be read is an **error**, not a silent ``NaN``:
  :class:`DataQualityError` names the file, the contract column and the
  client's column, the offending rows (as the user sees them in the file) with
  example values, and what was expected;
* decisions that are safe but worth telling (decimal comma detected, time
  zone removed, duplicates dropped) go into a
  :class:`cxlab.data.quality.QualityReport` instead.

Row numbers: :class:`TableContext` converts frame positions into file row
numbers.  For CSV and Excel the header is row 1, so the first data row is
row 2 (what a spreadsheet shows); for Parquet rows are 1-based data rows.  The
convention is written in every message.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from cxlab.data.contract import Column, TableSpec
from cxlab.data.quality import QualityReport

__all__ = [
    "DataQualityError",
    "DataFileError",
    "TableContext",
    "parse_column",
    "parse_ids",
    "parse_categories",
    "parse_numbers",
    "parse_datetimes",
    "check_required",
    "check_bounds",
    "check_not_future",
    "check_unique_key",
    "check_timezone",
    "client_yml_hint",
    "decimal_verdict",
    "exact_duplicates",
    "flag_implausible_dates",
    "implausible_dates",
    "yaml_line",
]

#: Row numbers shown in an error message before "…".
_SHOWN_ROWS = 8
#: Example bad values shown in an error message.
_SHOWN_VALUES = 5
#: Row numbers kept on a DataQualityError (the count is always exact).
_KEPT_ROWS = 10_000

_ARROW_STR = "string[pyarrow]"


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
class DataQualityError(ValueError):
    """A client file cannot be loaded into the contract without guessing.

    The message names the file, the contract column (and the client's own
    column name), the rows concerned — first few and the count — in the file's
    row convention, what was expected and example values found.

    Parameters
    ----------
    message : str, optional
        Free text; when omitted the message is composed from the other fields.
        When given together with ``path`` it is prefixed by the file name.
    path : str, optional
        File the problem is in.
    table : str, optional
        Contract table.
    column : str, optional
        Contract column.
    client_column : str, optional
        Column name in the client's file.
    rows : sequence of int, optional
        Row numbers in the file's convention (see ``row_note``).
    expected : str, optional
        What the column should hold, e.g. ``"a number"``.
    got : sequence, optional
        Example offending values.
    n_rows : int, optional
        Number of offending rows (defaults to ``len(rows)``).
    total_rows : int, optional
        Number of data rows in the file, shown as "(2 of 1,000 …)".
    row_note : str, optional
        The row-number convention, e.g. ``"header = row 1"``.
    fix : dict, optional
        The ``client.yml`` read options that would resolve the problem, when
        one setting does (e.g. ``{"decimal": ","}``); the same names are
        keyword arguments of :func:`cxlab.data.read_table`.

    Attributes
    ----------
    path, table, column, client_column, expected : str or None
    rows : list of int
        Offending rows (at most the first 10,000; ``n_rows`` is the count).
    n_rows : int
    examples : list
    fix : dict or None
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        path: Any = None,
        table: str | None = None,
        column: str | None = None,
        client_column: str | None = None,
        rows: Sequence[int] | np.ndarray = (),
        expected: str | None = None,
        got: Sequence[Any] = (),
        n_rows: int | None = None,
        total_rows: int | None = None,
        row_note: str | None = None,
        fix: Mapping[str, Any] | None = None,
    ) -> None:
        self.fix = None if fix is None else dict(fix)
        rows_arr = np.asarray(rows, dtype=np.int64).ravel()
        self.path = None if path is None else str(path)
        self.table = table
        self.column = column
        self.client_column = client_column
        self.rows = [int(r) for r in rows_arr[:_KEPT_ROWS]]
        self.n_rows = int(len(rows_arr) if n_rows is None else n_rows)
        self.expected = expected
        self.examples = list(got)
        self.total_rows = total_rows
        text = self._compose(message, row_note)
        super().__init__(text)

    def _compose(self, message: str | None, row_note: str | None) -> str:
        parts: list[str] = []
        if self.path is not None:
            parts.append(self.path)
        if self.column is not None:
            col = f'column "{self.column}"'
            if self.client_column is not None and self.client_column != self.column:
                col += f' (client column "{self.client_column}")'
            parts.append(col)
        if self.n_rows:
            parts.append(_format_rows(self.rows, self.n_rows, self.total_rows, row_note))
        head = ", ".join(parts)
        if message is None:
            body = f"expected {self.expected}" if self.expected else "invalid values"
            if self.examples:
                body += ", got " + ", ".join(_quote(v) for v in self.examples[:_SHOWN_VALUES])
        else:
            body = message
        body = " ".join(str(body).split())  # one line, whatever an underlying library put in its message
        return f"{head}: {body}" if head else body


class DataFileError(DataQualityError, FileNotFoundError):
    """The path given does not lead to a readable data file.

    Raised for a missing file or a directory; it is both a
    :class:`DataQualityError` (hence a ``ValueError``) and a
    ``FileNotFoundError``, so either ``except`` catches it.
    """


def _quote(v: Any) -> str:
    s = str(v)
    if len(s) > 40:
        s = s[:37] + "..."
    return f'"{s}"'


def _format_rows(rows: Sequence[int], n_rows: int, total: int | None, note: str | None) -> str:
    shown = ", ".join(str(r) for r in list(rows)[:_SHOWN_ROWS])
    if n_rows > _SHOWN_ROWS:
        shown += ", …"
    word = "row" if n_rows == 1 else "rows"
    detail = f"{n_rows:,}" + (f" of {total:,}" if total is not None else "")
    if note:
        detail += f"; {note}"
    return f"{word} {shown} ({detail})"


# ---------------------------------------------------------------------------
# advice in client.yml terms
# ---------------------------------------------------------------------------
_YAML_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_./+-]*$")
_YAML_RESERVED = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "none", "~"}


def yaml_value(value: Any) -> str:
    """``value`` as a user would type it in client.yml (``true``, ``90``, ``","``, ``cp1251``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{yaml_value(k)}: {yaml_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _YAML_PLAIN.match(text) and text.lower() not in _YAML_RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def yaml_line(key: str, value: Any) -> str:
    """One client.yml line, e.g. ``decimal: ","``."""
    return f"{yaml_value(key)}: {yaml_value(value)}"


def client_yml_hint(table: str | None, key: str, value: Any) -> str:
    """Advice naming the exact line to add: ``add 'decimal: ","' under 'data.transactions:' in client.yml``."""
    where = f"data.{table}:" if table else "the table's entry under data:"
    return f"add '{yaml_line(key, value)}' under '{where}' in client.yml"


# ---------------------------------------------------------------------------
# context: file name, row numbering, client names
# ---------------------------------------------------------------------------
@dataclass
class TableContext:
    """What an error message needs to know about the table being loaded.

    Parameters
    ----------
    path : str
        File name as shown to the user.
    table : str
        Contract table name.
    first_row : int
        File row number of the first data row (2 for a CSV or sheet with a
        header, 1 without one or for Parquet).
    row_note : str
        The convention in words, repeated in every message.
    total_rows : int
        Number of data rows read.
    client_names : dict
        Contract column → client column.
    report : QualityReport
        Where issues are recorded.
    """

    path: str
    table: str
    first_row: int = 2
    row_note: str = "header = row 1"
    total_rows: int = 0
    client_names: dict[str, str] = field(default_factory=dict)
    report: QualityReport = field(default_factory=QualityReport)
    #: ``f(column) -> (mark, other column, reason)`` — a conclusive decimal mark found in another numeric
    #: column of the same file, consulted only when a column's own values are ambiguous.
    decimal_evidence: Any = None

    def file_rows(self, index: pd.Index | np.ndarray) -> np.ndarray:
        """File row numbers of frame positions (the raw frame's index)."""
        return np.asarray(index, dtype=np.int64) + self.first_row

    def error(self, column: str | None, mask: np.ndarray | pd.Series | None, values: pd.Series | None,
              expected: str, message: str | None = None, index: pd.Index | None = None,
              fix: Mapping[str, Any] | None = None) -> DataQualityError:
        """Build a :class:`DataQualityError` for the rows where ``mask`` is True.

        Row numbers come from the index of ``values`` (or ``index``): the raw
        frame's positions, which :meth:`file_rows` turns into file rows.
        """
        if mask is None:
            rows = np.empty(0, dtype=np.int64)
            got: list[Any] = []
        else:
            m = np.asarray(mask, dtype=bool)
            labels = values.index if values is not None else index
            idx = labels[m] if labels is not None else np.flatnonzero(m)
            rows = self.file_rows(idx)
            got = []
            if values is not None:
                bad = values[m]
                got = list(pd.unique(bad.astype(object).to_numpy())[:_SHOWN_VALUES])
        return DataQualityError(
            message,
            path=self.path,
            table=self.table,
            column=column,
            client_column=self.client_names.get(column) if column else None,
            rows=rows,
            expected=expected,
            got=got,
            total_rows=self.total_rows,
            row_note=self.row_note,
            fix=fix,
        )

    def hint(self, key: str, value: Any) -> str:
        """The client.yml line that sets read option ``key`` for this table (see :func:`client_yml_hint`)."""
        return client_yml_hint(self.table, key, value)

    def issue(self, column: str | None, action: str, message: str, index: Iterable[int] = (),
              rows_count: int | None = None, kind: str | None = None) -> None:
        """Record a quality issue; ``index`` holds raw-frame positions."""
        idx = np.asarray(list(index) if not isinstance(index, (np.ndarray, pd.Index)) else index,
                         dtype=np.int64)
        n = len(idx) if rows_count is None else rows_count
        rows = self.file_rows(idx[:10])
        self.report.add(self.table, column, action, n, f"{self.path}: {message}", rows, kind=kind)

    def where(self, index: Iterable[int], n: int) -> str:
        """"rows 2, 5, … (row convention)" phrase for issue messages."""
        rows = self.file_rows(np.asarray(list(index)[:_SHOWN_ROWS], dtype=np.int64))
        return _format_rows(list(rows), n, None, self.row_note)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _as_mask(s: pd.Series) -> np.ndarray:
    """Boolean numpy mask from a (possibly nullable) boolean series; NA → False."""
    if isinstance(s.dtype, np.dtype):
        return s.to_numpy(dtype=bool)
    return s.to_numpy(dtype=bool, na_value=False)


def _clean_strings(s: pd.Series) -> pd.Series:
    """Arrow-backed strings, whitespace-stripped, empty → NA (vectorised)."""
    out = s.astype(_ARROW_STR).str.strip()
    return out.mask(out == "")


def _to_object(s: pd.Series) -> pd.Series:
    """Object series of Python ``str`` with ``np.nan`` for missing values.

    Arrow strings are converted by Arrow itself (``Array.to_numpy``), several
    times faster than pandas' generic path; nulls are then set from the
    validity bitmap.
    """
    arrow = getattr(s.array, "__arrow_array__", None)
    if arrow is None:
        return pd.Series(s.to_numpy(dtype=object, na_value=np.nan), index=s.index, dtype=object)
    import pyarrow as pa

    arr = arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    values = arr.to_numpy(zero_copy_only=False)
    if arr.null_count:
        values[arr.is_null().to_numpy(zero_copy_only=False)] = np.nan
    return pd.Series(values, index=s.index, dtype=object)


def _is_text(s: pd.Series) -> bool:
    if s.dtype == object:
        return pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
    return pd.api.types.is_string_dtype(s.dtype)


def _numbers_to_text(s: pd.Series) -> pd.Series:
    """Numbers to text without a spurious ``.0`` (Excel stores 123 as 123.0)."""
    num = pd.to_numeric(s, errors="coerce")
    out = pd.Series(np.nan, index=s.index, dtype=object)
    present = num.notna().to_numpy()
    vals = num.to_numpy(dtype=float, na_value=np.nan)
    whole = present & np.isfinite(vals) & (vals == np.round(vals)) & (np.abs(vals) < 2**53)
    out[whole] = vals[whole].astype(np.int64).astype(str)
    rest = present & ~whole
    out[rest] = vals[rest].astype(str)
    return out


def _mixed_to_text(s: pd.Series) -> pd.Series:
    """Text of an object column mixing strings, numbers and dates (Excel).

    Excel columns are at most ~1M rows, so a per-type pass is acceptable here;
    CSV and Parquet columns never take this path.
    """
    is_num = s.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
    is_num = is_num.to_numpy(dtype=bool)
    out = s.astype(object).where(s.notna(), np.nan)
    if is_num.any():
        out = out.copy()
        out[is_num] = _numbers_to_text(s[is_num])
    rest = ~is_num & s.notna().to_numpy()
    out[rest] = s[rest].map(str)
    return out


def _as_text(s: pd.Series) -> pd.Series:
    """Any raw column as arrow-backed, stripped text with NA for empty cells."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return _clean_strings(s.astype(str).where(s.notna()))
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _clean_strings(_numbers_to_text(s))
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _clean_strings(s.astype(str).where(s.notna(), None))
    if _is_text(s):
        return _clean_strings(s)
    return _clean_strings(_mixed_to_text(s))


# ---------------------------------------------------------------------------
# parsers
# ---------------------------------------------------------------------------
def parse_ids(s: pd.Series, ctx: TableContext, column: Column) -> pd.Series:
    """Identifiers as text (object dtype), leading zeros kept, blanks → NaN.

    Numeric ids (Excel, Parquet) are written without a decimal part, so
    ``123.0`` becomes ``"123"``; text ids are kept verbatim except for
    surrounding whitespace, so ``"00001"`` stays ``"00001"``.
    """
    return _to_object(_as_text(s))


def parse_categories(s: pd.Series, ctx: TableContext, column: Column) -> pd.Series:
    """Category labels as text (object dtype), blanks → NaN."""
    return _to_object(_as_text(s))


_SPACES = "[\\s\u00a0\u202f\u2009\u2007'’]"
_THOUSANDS_COMMA = r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$"
_THOUSANDS_DOT = r"^[-+]?\d{1,3}(\.\d{3})+(,\d*)?$"
#: Values whose mark could only group thousands (one or more groups of three digits).
_GROUPS = {".": r"^[-+]?[1-9]\d{0,2}(\.\d{3})+$", ",": r"^[-+]?[1-9]\d{0,2}(,\d{3})+$"}
#: One mark followed by exactly three digits: "3.201" is 3 201 or 3.201 — the value alone cannot say.
_ONE_GROUP = {".": r"^[-+]?[1-9]\d{0,2}\.\d{3}$", ",": r"^[-+]?[1-9]\d{0,2},\d{3}$"}


@dataclass
class DecimalVerdict:
    """What a numeric text column says about its decimal mark.

    ``status`` is ``"none"`` (no value holds a mark), ``"conclusive"``
    (``mark`` is the decimal mark; ``reason`` quotes the deciding value),
    ``"ambiguous"`` (every value with a mark is a single three-digit group
    such as ``3.201``) or ``"conflict"`` (values decide both ways).  ``mask``
    marks the rows to cite in an error.
    """

    status: str
    mark: str | None = None
    reason: str = ""
    mask: np.ndarray | None = None
    examples: tuple[str, ...] = ()


def _first(text: pd.Series, mask: np.ndarray, k: int = 3) -> tuple[str, ...]:
    return tuple(str(v) for v in pd.unique(text[mask].astype(object).to_numpy())[:k])


def decimal_verdict(text: pd.Series) -> DecimalVerdict:
    """Read the decimal mark off a column of number texts (spaces already removed).

    Evidence, strongest first:

    1. a value holding both marks: the last one is the decimal ("1.234,50" → ",");
    2. a mark followed by other than exactly three digits, or after a leading
       zero ("12,5", "0.125", "1234.56"): that mark is the decimal;
    3. a mark repeated as groups ("1.234.567"): that mark groups thousands, so
       the decimal is the other one;
    4. otherwise every marked value looks like ``3.201``, which reads as 3 201
       or 3.201: **ambiguous** — the caller looks for evidence elsewhere in the
       file or stops.
    """
    has_c = _as_mask(text.str.contains(",", regex=False))
    has_d = _as_mask(text.str.contains(".", regex=False))
    if not (has_c.any() or has_d.any()):
        return DecimalVerdict("none")
    both = has_c & has_d
    if both.any():
        comma_last = np.zeros(len(text), dtype=bool)
        comma_last[np.flatnonzero(both)] = _as_mask(
            text[both].str.match(r"^[^,]*\.[^,]*,[^.]*$|^.*,[^.,]*$"))
        dot_last = both & ~comma_last
        if comma_last.any() and dot_last.any():
            mask = comma_last if comma_last.sum() < dot_last.sum() else dot_last
            return DecimalVerdict("conflict", mask=mask, reason="the column mixes '1,234.50' and '1.234,50' styles",
                                  examples=_first(text, comma_last, 1) + _first(text, dot_last, 1))
        mark = "," if comma_last.any() else "."
        return DecimalVerdict("conclusive", mark, f'"{_first(text, both, 1)[0]}"')
    info = {}
    none = np.zeros(len(text), dtype=bool)
    for m, has in ((",", has_c), (".", has_d)):
        if not has.any():
            info[m] = (has, none, none, none)
            continue
        grouped = none.copy()  # "3.201", "1.234.567": the mark could group thousands
        grouped[has] = _as_mask(text[has].str.match(_GROUPS[m]))
        multi = none.copy()
        if grouped.any():
            multi[grouped] = _as_mask(text[grouped].str.count(re.escape(m)) > 1)
        info[m] = (has, multi, grouped & ~multi, has & ~grouped)
    dec_c, dec_d = info[","][3], info["."][3]
    if dec_c.any() and dec_d.any():
        mask = dec_c if dec_c.sum() < dec_d.sum() else dec_d
        return DecimalVerdict("conflict", mask=mask,
                              reason="some values use a decimal comma and others a decimal dot",
                              examples=_first(text, dec_c, 1) + _first(text, dec_d, 1))
    for m, other in ((",", "."), (".", ",")):
        if info[m][3].any():  # a decimal use of m: the other mark, if any, can only group thousands
            return DecimalVerdict("conclusive", m, f'"{_first(text, info[m][3], 1)[0]}"')
    multi_c, multi_d = info[","][1], info["."][1]
    if multi_c.any() and multi_d.any():
        mask = multi_c if multi_c.sum() < multi_d.sum() else multi_d
        return DecimalVerdict("conflict", mask=mask, reason="some values group thousands with commas and others "
                              "with dots", examples=_first(text, multi_c, 1) + _first(text, multi_d, 1))
    if multi_d.any():
        return DecimalVerdict("conclusive", ",", f'"{_first(text, multi_d, 1)[0]}" groups thousands with dots')
    if multi_c.any():
        return DecimalVerdict("conclusive", ".", f'"{_first(text, multi_c, 1)[0]}" groups thousands with commas')
    if has_c.any() and has_d.any():
        mask = has_c if has_c.sum() < has_d.sum() else has_d
        return DecimalVerdict("conflict", mask=mask, reason="some values have a comma and others a dot, each "
                              "followed by three digits", examples=_first(text, has_c, 1) + _first(text, has_d, 1))
    mark = "," if has_c.any() else "."
    return DecimalVerdict("ambiguous", mark=None, mask=has_c | has_d, examples=_first(text, has_c | has_d, 3),
                          reason=mark)


def _number_text(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(stripped text, the same with space-like thousands separators made one space and Unicode minus)."""
    text = _clean_strings(s)
    cleaned = text.str.replace(_SPACES + "+", " ", regex=True).str.replace("\u2212", "-", regex=False)
    return text, cleaned


def _detect_decimal(text: pd.Series, ctx: TableContext, column: Column, sep: str | None = None,
                    raw_text: pd.Series | None = None) -> str:
    """Decide the decimal mark of a numeric text column (``"."`` or ``","``) — or stop.

    The column's own values decide when they can (see :func:`decimal_verdict`);
    when every marked value is a single three-digit group (``3.201``), a
    conclusive verdict of another numeric column of the same file decides
    (one file, one convention), recorded as an ``info`` issue; otherwise a
    :class:`DataQualityError` shows the values and the two client.yml lines.
    """
    shown = text if raw_text is None else raw_text
    v = decimal_verdict(text)
    if v.status == "none":
        return "."
    if v.status == "conclusive":
        return v.mark
    if v.status == "conflict":
        raise ctx.error(column.name, v.mask, shown, "one decimal mark for the whole column",
                        f"{v.reason} (e.g. " + ", ".join(f'"{e}"' for e in v.examples) + "); "
                        f"say which is the decimal mark: {ctx.hint('decimal', '.')} or "
                        f"'{yaml_line('decimal', ',')}'")
    mark = v.reason
    elsewhere = ctx.decimal_evidence(column.name) if ctx.decimal_evidence is not None else None
    if elsewhere is not None:
        dec, other_col, why = elsewhere
        if dec != mark:  # the other column uses the other mark as decimal: this one groups thousands
            ctx.issue(column.name, "info", f'column "{column.name}": values such as "{v.examples[0]}" read with '
                      f'"{mark}" grouping thousands, because column "{other_col}" uses a decimal "{dec}" ({why}).',
                      rows_count=0, kind="decimal")
        return dec
    ex = v.examples[0]
    sign = "-" if ex.startswith("-") else ""
    digits = ex.lstrip("+-")
    as_thousands = sign + f"{int(digits.replace(mark, '')):,}".replace(",", " ")
    as_decimal = sign + f"{float(digits.replace(',', '.')):g}"
    n = int(v.mask.sum())
    other = "," if mark == "." else "."
    examples = ", ".join(f'"{e}"' for e in v.examples)
    raise ctx.error(
        column.name, v.mask, shown, "an unambiguous decimal mark",
        f'every value with a "{mark}" has exactly three digits after it ({n:,} value{"s" if n != 1 else ""}, '
        f'e.g. {examples}) and no value in the file decides whether "{mark}" groups thousands '
        f'("{ex}" = {as_thousands}) or is the decimal mark ("{ex}" = {as_decimal}). '
        f"If it groups thousands, {ctx.hint('decimal', other)}; if it is the decimal mark, add "
        f"'{yaml_line('decimal', mark)}' instead")


_PLAIN_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"


def _only_dot_groups(text: pd.Series) -> bool:
    """True if some value is like "3.201" and every value with a dot is (the dot may group thousands)."""
    group = _as_mask(text.str.match(_ONE_GROUP["."]))
    if not group.any():
        return False
    dotted = _as_mask(text.str.contains(".", regex=False))
    return not (dotted & ~group).any()


def _arrow_floats(text: pd.Series) -> np.ndarray:
    """float64 values of arrow-backed strings already checked to be plain numbers (NA → NaN)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.replace_substring_regex(_arrow(text), r"^\+", "")
    try:
        values = pc.cast(arr, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a form Arrow's parser refuses
        return pd.to_numeric(text.astype(object), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return pc.fill_null(values, np.nan).to_numpy(zero_copy_only=False)


def parse_numbers(s: pd.Series, ctx: TableContext, column: Column, *, decimal: str | None = None,
                  sep: str | None = None) -> pd.Series:
    """Numbers as float64; decimal commas and thousands separators understood.

    Accepted: ``1234.5``, ``1 234,50`` (spaces, non-breaking or thin spaces,
    apostrophes as thousands separators), ``1.234,50``, ``1,234.50``,
    ``−12,5`` (Unicode minus).  ``decimal`` fixes the decimal mark; by default
    it is detected per column (see :func:`_detect_decimal`).

    Raises
    ------
    DataQualityError
        Naming the rows whose values are not numbers.
    """
    if pd.api.types.is_bool_dtype(s.dtype):
        raise ctx.error(column.name, s.notna().to_numpy(), s, "a number", "found true/false values")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64")
    if decimal not in (None, ".", ","):
        raise ValueError(f"decimal must be '.', ',' or None, got {decimal!r}")
    present = s.notna().to_numpy()
    if not _is_text(s):
        # Excel: number cells pass through, text cells are parsed as text (an Excel column
        # often mixes both); anything else (a date cell) is an error.
        is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        out = pd.Series(pd.to_numeric(s.where(~is_str), errors="coerce").to_numpy(dtype="float64", na_value=np.nan),
                        index=s.index)
        bad = present & ~is_str & np.isnan(out.to_numpy())
        if bad.any():
            raise ctx.error(column.name, bad, s, "a number")
        if is_str.any():
            out[is_str] = parse_numbers(s[is_str].astype(str), ctx, column, decimal=decimal, sep=sep).to_numpy()
        return out
    text = _clean_strings(s)
    present = text.notna().to_numpy()
    if decimal in (None, ".") and (_as_mask(text.str.match(_PLAIN_NUMBER)) == present).all():
        # Fast path: plain numbers ("1234.5", "-3") need no cleaning — unless every dotted value is a
        # single three-digit group ("3.201"), which may be a thousands mark (decided below).
        if decimal == "." or not _only_dot_groups(text):
            return _checked(_arrow_floats(text), present, text, ctx, column)
    # Space-like thousands separators (NBSP, thin space, apostrophe) become one plain space.
    cleaned = text.str.replace(_SPACES + "+", " ", regex=True).str.replace("\u2212", "-", regex=False)
    dec = decimal or _detect_decimal(cleaned.str.replace(" ", "", regex=False), ctx, column, sep, text)
    if dec == ",":
        form = r"^[-+]?(\d{1,3}([ .]\d{3})+|\d+)(,\d*)?$|^[-+]?,\d+$"
        thousands = r"[ .]"
        if decimal is None:
            ctx.issue(column.name, "info", f'column "{column.name}" read with a decimal comma.', rows_count=0,
                      kind="decimal")
    else:
        form = r"^[-+]?(\d{1,3}([ ,]\d{3})+|\d+)(\.\d*)?([eE][-+]?\d+)?$|^[-+]?\.\d+([eE][-+]?\d+)?$"
        thousands = r"[ ,]"
    # Only well-formed numbers survive: "1.2.3", "12abc", "12 34" are rejected, not reinterpreted.
    ok_form = _as_mask(cleaned.str.match(form))
    plain = cleaned.where(ok_form).str.replace(thousands, "", regex=True)
    if dec == ",":
        plain = plain.str.replace(",", ".", regex=False)
    bad = present & ~ok_form
    if bad.any():
        expected = "a number"
        if decimal is not None:
            expected += (f' with "{dec}" as the decimal mark (the decimal setting; remove it from client.yml to '
                         "have the mark detected)")
        raise ctx.error(column.name, bad, text, expected)
    return _checked(_arrow_floats(plain), present, text, ctx, column)


def _checked(values: np.ndarray, present: np.ndarray, text: pd.Series, ctx: TableContext,
             column: Column) -> pd.Series:
    """Refuse any present cell that did not become a finite number (belt and braces)."""
    bad = present & ~np.isfinite(values)
    if bad.any():
        raise ctx.error(column.name, bad, text, "a number")
    return pd.Series(values, index=text.index)


def parse_integers(s: pd.Series, ctx: TableContext, column: Column, *, decimal: str | None = None,
                   sep: str | None = None) -> pd.Series:
    """Whole numbers: int64 when complete, float64 (with NaN) when values are missing."""
    x = parse_numbers(s, ctx, column, decimal=decimal, sep=sep)
    v = x.to_numpy()
    frac = ~np.isnan(v) & (v != np.round(v))
    if frac.any():
        raise ctx.error(column.name, frac, s, "a whole number")
    if np.isnan(v).any():
        return x
    return x.astype("int64")


# date patterns (after stripping) -------------------------------------------
_ISO = r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}))?$"
_TZ = r"(?:Z|[+-]\d{2}:?\d{2})$"
_YMD_SLASH = r"^\d{4}[/.]\d{1,2}[/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?$"
# RE2 (Arrow's regex engine) has no back-references: both separators are captured and compared.
_DMY = (r"^(?P<a>\d{1,2})(?P<s1>[./-])(?P<b>\d{1,2})(?P<s2>[./-])(?P<y>\d{4})"
        r"(?:,?[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?)?$")
_COMPACT = r"^(?:1[89]|20|21)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def check_timezone(timezone: Any) -> str | None:
    """``timezone`` if it is an IANA zone name (``"Europe/Moscow"``, ``"UTC"``), else ValueError."""
    if timezone is None:
        return None
    import zoneinfo

    name = str(timezone).strip()
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"timezone must be an IANA time-zone name such as Europe/Moscow or UTC, got "
                         f"{timezone!r}") from None
    return name


def _naive(dt: pd.Series, ctx: TableContext, column: Column, timezone: str | None = None) -> pd.Series:
    """tz-naive datetime64[ns]; zoned values are converted to ``timezone`` (default UTC) — a counted repair."""
    if getattr(dt.dtype, "tz", None) is not None:
        target = timezone or "UTC"
        present = dt.notna().to_numpy()
        dt = dt.dt.tz_convert(target).dt.tz_localize(None)
        n = int(present.sum())
        advice = "" if timezone else (" Days are then counted in UTC; to count them in the client's own zone, "
                                      + ctx.hint("timezone", "Europe/Moscow") + " (its IANA name)")
        ctx.issue(column.name, "repaired", f'column "{column.name}": {n:,} date-times carried a time zone; '
                  f"converted to {target} and stored without a zone.{advice}", dt.index[present],
                  kind="timezone")
    return dt.astype("datetime64[ns]")


def _from_excel_serial(v: np.ndarray) -> np.ndarray:
    # Excel's day 0 is 1899-12-30 once its 1900 leap-year bug is accounted for.
    return (_EXCEL_EPOCH + pd.to_timedelta(np.round(v * 86400.0), unit="s")).to_numpy()


def _arrow(s: pd.Series) -> Any:
    """The Arrow array behind an arrow-backed string series (one chunk)."""
    import pyarrow as pa

    arr = s.array.__arrow_array__()
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _group_ints(parts: Any, name: str, default: int) -> np.ndarray:
    """An ``extract_regex`` group as int64 ("" → ``default``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    f = parts.field(name)
    f = pc.if_else(pc.equal(f, ""), pa.scalar(None, pa.string()), f)
    return pc.fill_null(pc.cast(f, pa.int64()), default).to_numpy(zero_copy_only=False)


def _assemble(year: np.ndarray, month: np.ndarray, day: np.ndarray, hour: np.ndarray, minute: np.ndarray,
              second: np.ndarray) -> np.ndarray:
    """datetime64[ns] from components; impossible dates (30 February, 25:00) become NaT."""
    ok = (month >= 1) & (month <= 12) & (year >= 1678) & (year <= 2261)
    m0 = np.where(ok, (year - 1970) * 12 + (month - 1), 0)
    start = m0.astype("datetime64[M]").astype("datetime64[D]")
    days_in_month = ((m0 + 1).astype("datetime64[M]").astype("datetime64[D]") - start).astype(np.int64)
    ok &= (day >= 1) & (day <= days_in_month) & (hour < 24) & (minute < 60) & (second < 60)
    out = (start.astype("datetime64[ns]") + (day - 1).astype("timedelta64[D]") + hour.astype("timedelta64[h]")
           + minute.astype("timedelta64[m]") + second.astype("timedelta64[s]"))
    out[~ok] = np.datetime64("NaT")
    return out


def _parse_dmy(text: pd.Series, mask: np.ndarray, ctx: TableContext, column: Column,
               dayfirst: bool | None) -> pd.Series:
    """Dates written ``31.12.2024``, ``12/31/2024 14:05`` …: decide day/month order, then build.

    The parts are cut out by Arrow's (RE2) ``extract_regex`` and assembled in
    numpy, so a column of millions of dates takes well under a second.
    """
    import pyarrow.compute as pc

    sub = text[mask]
    parts = pc.extract_regex(_arrow(sub), _DMY)
    first = _group_ints(parts, "a", 0)
    second = _group_ints(parts, "b", 0)
    day_evidence = first > 12
    month_evidence = second > 12
    if dayfirst is None:
        if day_evidence.any() and month_evidence.any():
            m = np.zeros(len(text), dtype=bool)
            m[np.flatnonzero(mask)[month_evidence]] = True
            d_ex, m_ex = sub[day_evidence].iloc[0], sub[month_evidence].iloc[0]
            raise ctx.error(column.name, m, text, "one date order for the whole column",
                            f'some dates are day-first (e.g. "{d_ex}") and others month-first (e.g. "{m_ex}"), '
                            "and one column cannot hold both; correct the file, or if one order is right for "
                            f"every row, {ctx.hint('dayfirst', True)} (or 'dayfirst: false')")
        if day_evidence.any():
            dayfirst = True
        elif month_evidence.any():
            dayfirst = False
        else:
            ex = str(sub.iloc[0])
            a, b = int(first[0]), int(second[0])
            raise ctx.error(column.name, None, None, "",
                            f'cannot tell day-first from month-first dates: no day is above 12 in '
                            f'{int(mask.sum()):,} dates (e.g. "{ex}"). If "{ex}" is {a} {_MONTHS[b - 1]}, '
                            f"{ctx.hint('dayfirst', True)}; if it is {_MONTHS[a - 1]} {b}, add "
                            f"'dayfirst: false' instead")
        ctx.issue(column.name, "info", f'column "{column.name}" read as '
                  f'{"day-first (DD.MM.YYYY)" if dayfirst else "month-first (MM/DD/YYYY)"} dates.',
                  rows_count=0, kind="date_order")
    day, month = (first, second) if dayfirst else (second, first)
    out = _assemble(_group_ints(parts, "y", 0), month, day, _group_ints(parts, "H", 0),
                    _group_ints(parts, "M", 0), _group_ints(parts, "S", 0))
    # "31.12/2024" mixes separators: left unparsed so that it is reported as a bad date.
    same_sep = pc.equal(parts.field("s1"), parts.field("s2")).to_numpy(zero_copy_only=False)
    out[~same_sep] = np.datetime64("NaT")
    return pd.Series(out, index=sub.index)


def _parse_date_text(text: pd.Series, ctx: TableContext, column: Column, dayfirst: bool | None,
                     date_format: str | None, timezone: str | None = None) -> pd.Series:
    """Parse arrow-backed date strings (NA where missing) into datetime64[ns].

    Each layout is recognised by a regular expression (run in Arrow) and
    parsed by its own vectorised routine; patterns already covering every
    value stop the search, so a uniform column costs one regex pass.
    """
    present = text.notna().to_numpy()
    expected = ("a date such as 2024-12-31, 31.12.2024 or 31/12/2024 14:05 (for another layout, "
                + ctx.hint("date_format", "%d %m %Y") + ", with the layout's strftime codes)")
    if date_format is not None:
        try:
            parsed = pd.to_datetime(text.astype(object), format=date_format, errors="coerce")
        except (ValueError, TypeError) as exc:  # mixed offsets under %z, a format pandas refuses
            raise ctx.error(column.name, None, None, "", f"date_format {yaml_value(date_format)} cannot be "
                            f"applied ({exc})") from None
        bad = present & parsed.isna().to_numpy()
        if bad.any():
            raise ctx.error(column.name, bad, text, f"a date in the format {yaml_value(date_format)} "
                            "(the date_format setting)")
        return _naive(parsed, ctx, column, timezone)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    remaining = present.copy()
    # Zoned and zoneless date-times in one column: the zoneless ones could be in any zone.
    iso = present & _as_mask(text.str.match(_ISO))
    zoned = iso & _as_mask(text.str.contains(_TZ, regex=True)) if iso.any() else iso
    if zoned.any() and timezone is None and (present & ~zoned).any():
        bare = present & ~zoned
        z_ex = text[zoned].iloc[0]
        z_row = int(ctx.file_rows(text.index[zoned][:1])[0])
        raise ctx.error(
            column.name, bare, text, "",
            f'{int(zoned.sum()):,} value{"s carry" if zoned.sum() > 1 else " carries"} a time zone (e.g. "{z_ex}" '
            f'on row {z_row}) and {int(bare.sum()):,} {"do" if bare.sum() > 1 else "does"} not (e.g. '
            f'"{text[bare].iloc[0]}"), so the zone of the latter is unknown. '
            f"Say which zone they were recorded in: {ctx.hint('timezone', 'Europe/Moscow')} (its IANA "
            "name); values with a zone are then converted to it")
    for layout in ("iso", "dmy", "compact", "ymd"):
        if not remaining.any():
            break
        pattern = {"iso": _ISO, "dmy": _DMY, "compact": _COMPACT, "ymd": _YMD_SLASH}[layout]
        mask = _as_mask(text.str.match(pattern)) & remaining
        if not mask.any():
            continue
        remaining &= ~mask
        if layout == "iso":
            with_zone, without = mask & zoned, mask & ~zoned
            if with_zone.any():
                parsed = pd.to_datetime(text[with_zone].astype(object), format="ISO8601", errors="coerce",
                                        utc=True)
                out[with_zone] = _naive(parsed, ctx, column, timezone).to_numpy()
            if without.any():
                out[without] = pd.to_datetime(text[without].astype(object), format="ISO8601",
                                              errors="coerce").to_numpy()
        elif layout == "dmy":
            out[mask] = _parse_dmy(text, mask, ctx, column, dayfirst).to_numpy()
        elif layout == "compact":
            out[mask] = pd.to_datetime(text[mask].astype(object), format="%Y%m%d", errors="coerce").to_numpy()
        else:
            vals = text[mask].str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", regex=True)
            out[mask] = pd.to_datetime(vals.astype(object), format="ISO8601", errors="coerce").to_numpy()
    bad = remaining | (present & out.isna().to_numpy())
    if bad.any():
        raise ctx.error(column.name, bad, text, _date_advice(str(text[bad].iloc[0]), ctx, expected))
    return out


def _date_advice(example: str, ctx: TableContext, expected: str) -> str:
    """What to tell about a date cxlab cannot read, from how the first such value looks."""
    import re as _re

    m = _re.fullmatch(r"\d{1,2}([./-])\d{1,2}\1(\d{2})", example)
    if m:
        sep = m.group(1)
        return (f"a date with a four-digit year; two-digit years are read only with a layout: "
                f"{ctx.hint('date_format', f'%d{sep}%m{sep}%y')} (or \"%m{sep}%d{sep}%y\" for month first)")
    if _re.fullmatch(r"\d{9,10}(\.\d+)?|\d{12,13}", example):
        return ("a date; this looks like Unix time (seconds or milliseconds since 1970), which cxlab does not "
                "convert: export the dates as text such as 2024-12-31 14:05")
    if _re.search(r"\b[A-Z]{3,4}$", example):
        return ("a date whose time zone is an offset such as +03:00 or Z, not an abbreviation; replace it, or "
                f"drop it and set the zone: {ctx.hint('timezone', 'Europe/Moscow')}")
    return expected


def parse_datetimes(s: pd.Series, ctx: TableContext, column: Column, *, dayfirst: bool | None = None,
                    date_format: str | None = None, excel: bool = False, timezone: str | None = None
                    ) -> pd.Series:
    """Dates and date-times as tz-naive ``datetime64[ns]``.

    Understood without options: ISO 8601 (``2024-12-31``, ``2024-12-31T14:05:00+03:00`` —
    offsets are converted to ``timezone``, default UTC, and counted as repairs;
    a column mixing zoned and zoneless values needs ``timezone``, the zone of
    the zoneless ones), ``2024/12/31``, day- or month-first dates with
    ``.``, ``/`` or ``-`` (``31.12.2024``, ``31/12/2024 14:05``), compact
    ``20241231``, native date cells of Excel and Parquet, and Excel serial day
    numbers (``excel=True``).

    The order of day-first dates is detected from the column: a first number
    above 12 means day-first, a second number above 12 month-first; when no
    value decides, ``dayfirst`` must be given, otherwise an error asks for it.

    Raises
    ------
    DataQualityError
        Naming the rows whose values are not dates.
    """
    if isinstance(date_format, dict):
        date_format = date_format.get(column.name)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _naive(s, ctx, column, timezone)
    if pd.api.types.is_bool_dtype(s.dtype):
        raise ctx.error(column.name, s.notna().to_numpy(), s, "a date", "found true/false values")
    if pd.api.types.is_numeric_dtype(s.dtype) and date_format is None:
        return _numeric_dates(s, ctx, column, excel)
    if _is_text(s) or pd.api.types.is_numeric_dtype(s.dtype):
        return _parse_date_text(_as_text(s), ctx, column, dayfirst, date_format, timezone)
    # Excel object column: native datetimes, serial numbers and text mixed.
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    kind = s.map(lambda v: "dt" if isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year")
                 else "num" if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                 else "text" if isinstance(v, str) else "none").to_numpy()
    if (kind == "dt").any():
        out[kind == "dt"] = pd.to_datetime(s[kind == "dt"].astype(object), errors="coerce").to_numpy()
    if (kind == "num").any():
        out[kind == "num"] = _numeric_dates(s[kind == "num"].astype("float64"), ctx, column, excel).to_numpy()
    if (kind == "text").any():
        out[kind == "text"] = _parse_date_text(_as_text(s[kind == "text"]), ctx, column, dayfirst,
                                               date_format, timezone).to_numpy()
    bad = s.notna().to_numpy() & out.isna().to_numpy()
    if bad.any():
        raise ctx.error(column.name, bad, s, "a date")
    return out


def _numeric_dates(s: pd.Series, ctx: TableContext, column: Column, excel: bool) -> pd.Series:
    v = s.to_numpy(dtype="float64", na_value=np.nan)
    present = ~np.isnan(v)
    compact = present & (v >= 18000101) & (v <= 21001231) & (v == np.round(v))
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if compact[present].all() and compact.any():
        out[:] = pd.to_datetime(pd.Series(v).where(compact).astype("Int64").astype(str).where(compact),
                                format="%Y%m%d", errors="coerce").to_numpy()
    elif excel:
        serial = present & (v >= 1) & (v < 2958466)
        out[serial] = _from_excel_serial(v[serial])
    bad = present & out.isna().to_numpy()
    if bad.any():
        raise ctx.error(column.name, bad, s, "a date (numbers are accepted only as YYYYMMDD"
                        + (" or Excel serial dates" if excel else "") + ")")
    return out


def parse_column(s: pd.Series, ctx: TableContext, column: Column, *, decimal: str | None = None,
                 dayfirst: bool | None = None, date_format: str | dict | None = None,
                 sep: str | None = None, excel: bool = False, timezone: str | None = None) -> pd.Series:
    """Parse one raw column according to its contract ``kind``."""
    if column.kind == "id":
        return parse_ids(s, ctx, column)
    if column.kind == "category":
        return parse_categories(s, ctx, column)
    if column.kind == "float":
        return parse_numbers(s, ctx, column, decimal=decimal, sep=sep)
    if column.kind == "int":
        return parse_integers(s, ctx, column, decimal=decimal, sep=sep)
    if column.kind == "datetime":
        return parse_datetimes(s, ctx, column, dayfirst=dayfirst, date_format=date_format, excel=excel,
                               timezone=timezone)
    raise ValueError(f"unknown column kind {column.kind!r} for {column.name}")


# ---------------------------------------------------------------------------
# checks on parsed columns
# ---------------------------------------------------------------------------
def check_required(parsed: pd.Series, ctx: TableContext, column: Column,
                   missing: np.ndarray | None = None) -> None:
    """A required column must have a value in every row (``missing`` may be given precomputed)."""
    missing = parsed.isna().to_numpy() if missing is None else missing
    if missing.any():
        where = np.flatnonzero(missing)
        tail = (" — the last rows of the file: a totals line? remove it from the file"
                if len(where) <= 3 and where[0] >= len(missing) - 3 and len(missing) > 3 else "")
        raise ctx.error(column.name, missing, None,
                        f"a value in every row ({column.description or column.name}); found empty cells{tail}",
                        index=parsed.index)


def check_bounds(parsed: pd.Series, ctx: TableContext, column: Column, raw: pd.Series | None = None) -> None:
    """Numeric values must lie within the contract's inclusive ``[min, max]``."""
    if column.min is None and column.max is None:
        return
    v = parsed.to_numpy(dtype="float64", na_value=np.nan)
    bad = np.zeros(len(v), dtype=bool)
    if column.min is not None:
        bad |= v < column.min
    if column.max is not None:
        bad |= v > column.max
    if bad.any():
        lo = "" if column.min is None else f"{column.min:g}"
        hi = "" if column.max is None else f"{column.max:g}"
        rng = f"between {lo} and {hi}" if lo and hi else (f"at least {lo}" if lo else f"at most {hi}")
        raise ctx.error(column.name, bad, parsed if raw is None else raw, f"a value {rng}")


def check_not_future(parsed: pd.Series, ctx: TableContext, column: Column, today: pd.Timestamp,
                     raw: pd.Series | None = None) -> None:
    """Dates after ``today`` are an error: they usually reveal a misread date format.

    ``raw`` (the cells as written in the file) supplies the example values.
    """
    limit = pd.Timestamp(today).normalize() + pd.Timedelta(days=1)
    bad = _as_mask(parsed >= limit)
    if bad.any():
        example = f"{parsed[bad].iloc[0]}"
        if raw is not None:
            example = f'"{raw[bad].iloc[0]}" read as {example}'
        raise ctx.error(column.name, bad, parsed if raw is None else raw,
                        f"dates up to {limit - pd.Timedelta(days=1):%Y-%m-%d} (today)",
                        f"expected dates up to {limit - pd.Timedelta(days=1):%Y-%m-%d} (today), found "
                        f"dates in the future, e.g. {example}; this usually means the day and month were "
                        f"swapped ({ctx.hint('dayfirst', True)} or 'dayfirst: false', or set the layout with "
                        "'date_format:') or the wrong column was mapped to this one (see 'columns:')")


def check_values_allowed(parsed: pd.Series, ctx: TableContext, column: Column, raw: pd.Series) -> pd.Series:
    """A category with a closed list of values (campaigns' ``group``): any other value stops the load.

    Letter case and surrounding spaces do not matter ("Treatment" is ``treatment``); the values are
    stored in lower case. Anything else ("test", "A", "контроль") could mean either arm, so it is
    never mapped by a guess: the message names the rows and the values to recode.
    """
    allowed = tuple(column.values or ())
    lowered = parsed.map(lambda v: v.strip().lower() if isinstance(v, str) else v)
    bad = (lowered.notna() & ~lowered.isin(allowed)).to_numpy()
    if bad.any():
        shown = " or ".join(f'"{v}"' for v in allowed)
        raise ctx.error(column.name, bad, raw.where(pd.notna(raw), parsed),
                        f"one of {shown}",
                        f"expected {shown} (letter case does not matter), found other values: "
                        + ", ".join(_quote(v) for v in pd.unique(parsed[bad].astype(object))[:_SHOWN_VALUES])
                        + "; recode them in the file (the arm of a row is never guessed)")
    return lowered


def check_unique_key(frame: pd.DataFrame, ctx: TableContext, key: Sequence[str]) -> None:
    """The table's key (customers: ``customer_id``; campaigns: customer and campaign) must not repeat.

    Optional key columns absent from the file are left out of the key (a campaigns table without a
    ``campaign`` column holds one campaign: one row per customer).
    """
    key = [k for k in key if k in frame.columns]
    if not key:
        return
    dup = frame.duplicated(subset=list(key), keep=False).to_numpy()
    if dup.any():
        ids = pd.unique(frame.loc[dup, key[0]].to_numpy())[:_SHOWN_VALUES]
        raise ctx.error(key[0], dup, frame[key[0]],
                        f"one row per {', '.join(key)}",
                        f"{', '.join(key)} is not unique: " + ", ".join(_quote(i) for i in ids)
                        + " appear more than once with different values")


def _row_keys(parsed: pd.DataFrame) -> np.ndarray | None:
    """A 64-bit key per row mixing the numeric and date columns (None if there are none).

    Equal rows get equal keys; unequal rows usually get different ones — the
    key is only a pre-filter, every candidate is then compared exactly.
    """
    key = None
    for name in parsed.columns:
        col = parsed[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            v = col.to_numpy().view(np.int64).astype(np.uint64)
        elif pd.api.types.is_float_dtype(col.dtype):
            f = col.to_numpy(dtype="float64") + 0.0  # -0.0 → 0.0
            f = np.where(np.isnan(f), np.inf, f)  # every NaN alike
            v = f.view(np.uint64)
        elif pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            v = col.to_numpy().astype(np.int64).view(np.uint64)
        else:
            continue
        # splitmix64-style mixing so that columns do not cancel each other
        v = (v ^ (v >> np.uint64(31))) * np.uint64(0x9E3779B97F4A7C15)
        key = v if key is None else (key * np.uint64(0xBF58476D1CE4E5B9)) ^ v
    return key


def exact_duplicates(raw: pd.DataFrame, arrow_table: Any = None, parsed: pd.DataFrame | None = None
                     ) -> np.ndarray:
    """Mask of rows identical in every column to an earlier row (first copy kept).

    Two rows identical in the file have identical parsed values, so rows whose
    parsed numbers and dates (``parsed``) are unique cannot be duplicates; the
    remaining candidates are grouped by all their raw columns in Arrow (a
    hash aggregation) and every row that is not the first of its group is a
    duplicate.  Missing values equal each other, as in ``DataFrame.duplicated``.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read (all file columns).
    arrow_table : pyarrow.Table, optional
        The same rows as an Arrow table (Parquet input), to skip a conversion.
    parsed : pandas.DataFrame, optional
        Parsed contract columns of the same rows, for the pre-filter.
    """
    n = len(raw)
    if n == 0:
        return np.zeros(0, dtype=bool)
    with np.errstate(over="ignore"):
        key = None if parsed is None else _row_keys(parsed)
    if key is not None:
        # Sorting 64-bit keys is several times faster than a hash table on 10M rows.
        ordered = np.sort(key)
        repeated = ordered[1:][ordered[1:] == ordered[:-1]]
        if len(repeated) == 0:
            return np.zeros(n, dtype=bool)
        pos = np.flatnonzero(np.isin(key, repeated))
    else:
        pos = np.arange(n)
    try:
        import pyarrow as pa

        if arrow_table is not None:
            tbl = arrow_table if len(pos) == n else arrow_table.take(pa.array(pos))
        else:
            tbl = pa.Table.from_pandas(raw.iloc[pos], preserve_index=False)
        names = [f"c{k}" for k in range(tbl.num_columns)]  # client headers may repeat or clash
        tbl = tbl.rename_columns(names).append_column("__row", pa.array(np.arange(len(pos), dtype=np.int64)))
        firsts = tbl.group_by(names).aggregate([("__row", "min")])["__row_min"].to_numpy()
        sub = np.ones(len(pos), dtype=bool)
        sub[firsts] = False
    except Exception:  # column types Arrow cannot group (lists, structs, mixed objects)
        sub = raw.iloc[pos].duplicated(keep="first").to_numpy()
    dup = np.zeros(n, dtype=bool)
    dup[pos[sub]] = True
    return dup


#: Dates before this day are flagged as implausible in any table (placeholders such as 1899-12-30,
#: 1900-01-01 or 1970-01-01 stand for "unknown" in many systems).
EARLIEST_PLAUSIBLE = pd.Timestamp("1990-01-01")


def implausible_dates(parsed: pd.Series) -> tuple[np.ndarray, str]:
    """Mask of implausible dates and the rule in words.

    A date is implausible if it lies before :data:`EARLIEST_PLAUSIBLE`, or
    (with at least 20 dates) more than three interquartile ranges (at least a
    year each) outside the middle half of the column's dates — a stray 2009 in
    a 2023–2024 log.  Quartiles, not extremes, so that the strays themselves
    do not widen the range they are judged by.
    """
    v = parsed.to_numpy(dtype="datetime64[ns]")
    present = ~np.isnat(v)
    early = present & (v < EARLIEST_PLAUSIBLE.to_datetime64())
    far = np.zeros(len(v), dtype=bool)
    core = v[present & ~early]
    rule = f"before {EARLIEST_PLAUSIBLE:%Y-%m-%d}"
    if len(core) >= 20:
        step = max(len(core) // 200_000, 1)  # quartiles of a systematic sample are plenty for a fence
        q25, q75 = np.quantile(core[::step].astype(np.int64), [0.25, 0.75])
        iqr = max(q75 - q25, 365 * 86400 * 10**9)
        lo, hi = q25 - 3 * iqr, q75 + 3 * iqr
        vi = v.astype(np.int64)
        far = present & ~early & ((vi < lo) | (vi > hi))
        if far.any():
            rule += (f" or far outside the range of the other dates (half of them lie between "
                     f"{pd.Timestamp(int(q25)):%Y-%m-%d} and {pd.Timestamp(int(q75)):%Y-%m-%d})")
    return early | far, rule


def flag_implausible_dates(parsed: pd.Series, ctx: TableContext, column: Column, raw: pd.Series | None = None
                           ) -> np.ndarray:
    """Flag (keep, count, cite) the implausible dates of a parsed column; returns their mask."""
    mask, rule = implausible_dates(parsed)
    if mask.any():
        n = int(mask.sum())
        shown = raw if raw is not None else parsed
        idx = parsed.index[mask]
        examples = ", ".join(f'"{shown.loc[i]}" (row {r})' for i, r in zip(idx[:5], ctx.file_rows(idx[:5])))
        ctx.issue(column.name, "flagged", f'column "{column.name}": {n:,} implausible date{"s" if n != 1 else ""} '
                  f"({rule}): {examples}{', …' if n > 5 else ''}; kept, but check them — a placeholder date "
                  "usually stands for an unknown one.", idx, kind="implausible_date")
    return mask


def validate_frame(raw: pd.DataFrame, spec: TableSpec, ctx: TableContext, *, decimal: str | None = None,
                   dayfirst: bool | None = None, date_format: str | dict | None = None,
                   sep: str | None = None, excel: bool = False, today: Any = None, timezone: str | None = None,
                   future_columns: Sequence[str] = ("timestamp", "date", "signup_date", "loyalty_join_date",
                                                   "sent_at")
                   ) -> pd.DataFrame:
    """Parse and check every contract column of a raw frame already renamed to contract names.

    Returns a frame with the same index as ``raw`` (file positions) holding the
    contract columns present, in contract order.  Implausible dates are
    flagged (see :func:`implausible_dates`), never changed.
    """
    today = pd.Timestamp.today() if today is None else pd.Timestamp(today)
    if decimal is None and ctx.decimal_evidence is None:
        ctx.decimal_evidence = _file_decimal_evidence(raw, spec)
    out = {}
    for column in spec.columns_for(raw.columns):
        if column.name not in raw.columns:
            continue
        if column.kind in ("id", "category"):
            # Missing values are read off the Arrow null bitmap, before the (slower) object conversion.
            text = _strip_invisible(_as_text(raw[column.name]), ctx, column, raw[column.name])
            if column.kind == "category":
                text = _merge_lookalikes(text, ctx, column)
            missing = text.isna().to_numpy()
            parsed = _to_object(text)
            if column.values is not None:
                parsed = check_values_allowed(parsed, ctx, column, raw[column.name])
        else:
            parsed = parse_column(raw[column.name], ctx, column, decimal=decimal, dayfirst=dayfirst,
                                  date_format=date_format, sep=sep, excel=excel, timezone=timezone)
            missing = None
        if column.required:
            check_required(parsed, ctx, column, missing)
        if column.kind in ("float", "int"):
            check_bounds(parsed, ctx, column, raw[column.name])
        if column.kind == "datetime":
            if column.name in future_columns:
                check_not_future(parsed, ctx, column, today, raw[column.name])
            flag_implausible_dates(parsed, ctx, column, raw[column.name])
        out[column.name] = parsed
    return pd.DataFrame(out, index=raw.index, copy=False)


#: Characters that print as nothing (zero-width spaces and joiners, word joiner, BOM, soft hyphen): a
#: "магазин" with one of them is a different category or customer that looks the same.
_INVISIBLE = "[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]"


def _strip_invisible(text: pd.Series, ctx: TableContext, column: Column, raw: pd.Series) -> pd.Series:
    """Remove invisible characters from ids and labels — a counted repair."""
    has = _as_mask(text.str.contains(_INVISIBLE, regex=True))
    if not has.any():
        return text
    out = text.str.replace(_INVISIBLE, "", regex=True)
    out = out.mask(out.str.strip() == "")
    n = int(has.sum())
    ctx.issue(column.name, "repaired", f'column "{column.name}": {n:,} value{"s" if n > 1 else ""} held invisible '
              f"characters (zero-width spaces, soft hyphens …), removed so that they match the same value "
              f'without them (e.g. {_quote(text[has].iloc[0])} → {_quote(out[has].iloc[0])}).', text.index[has],
              kind="invisible")
    return out


#: Cyrillic and Latin letters that look identical, mapped to one form (the Latin one).
_LOOKALIKE = str.maketrans("аеорсухАВЕКМНОРСТХ", "aeopcyxABEKMHOPCTX")


def _merge_lookalikes(values: pd.Series, ctx: TableContext, column: Column) -> pd.Series:
    """Merge category labels that look identical but mix Latin and Cyrillic letters ("сайт" / "caйт").

    Such labels cannot be told apart by a reader, yet would be separate groups in every breakdown. Each
    rarer spelling is rewritten to the most frequent one — a counted repair naming both.
    """
    counts = values.value_counts(dropna=True)
    if len(counts) < 2 or len(counts) > 100_000:
        return values
    labels = pd.Series(counts.index.astype(str), index=counts.index)
    mixed = labels.map(lambda v: not v.isascii())  # a label of ASCII only has no Cyrillic look-alike
    if not mixed.any():
        return values
    skeleton = labels.map(lambda v: v.translate(_LOOKALIKE))
    groups = skeleton.groupby(skeleton).size()
    clash = groups[groups > 1].index
    if len(clash) == 0:
        return values
    rename: dict[Any, Any] = {}
    for key in clash:
        members = skeleton.index[skeleton == key]  # value_counts order: the most frequent first
        for other in members[1:]:
            rename[other] = members[0]
    mask = _as_mask(values.isin(list(rename)))
    out = values.copy()
    out[mask] = values[mask].astype(object).map(rename).to_numpy()
    n = int(mask.sum())
    examples = "; ".join(f"{_quote(a)} → {_quote(b)}" for a, b in list(rename.items())[:3])
    ctx.issue(column.name, "repaired", f'column "{column.name}": {n:,} value{"s" if n > 1 else ""} spelled a label '
              "with look-alike Latin and Cyrillic letters; merged into its most frequent spelling "
              f"({examples}).", values.index[mask], kind="lookalike")
    return out


def _file_decimal_evidence(raw: pd.DataFrame, spec: TableSpec) -> Any:
    """A lookup of the decimal mark that the file's other numeric text columns prove (see :func:`_detect_decimal`)."""
    numeric = [c.name for c in spec.columns_for(raw.columns) if c.kind in ("float", "int") and c.name in raw.columns]
    cache: dict[str, Any] = {}

    def verdict(name: str) -> Any:
        if name not in cache:
            s = raw[name]
            if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
                cache[name] = None
            else:
                if not _is_text(s):
                    s = s[s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)]
                _, cleaned = _number_text(s)
                v = decimal_verdict(cleaned.str.replace(" ", "", regex=False))
                cache[name] = (v.mark, name, v.reason) if v.status == "conclusive" else None
        return cache[name]

    def evidence(current: str) -> Any:
        found = [e for e in (verdict(n) for n in numeric if n != current) if e is not None]
        marks = {e[0] for e in found}
        return found[0] if len(marks) == 1 else None

    return evidence
