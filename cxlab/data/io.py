"""Reading client files (CSV, Excel, Parquet) into the data contract.

Design
------
:func:`read_table` is the only door through which a client's file enters
cxlab.  It works in four steps, each of which either succeeds, records what it
did in a :class:`~cxlab.data.quality.QualityReport`, or raises a
:class:`~cxlab.data.validate.DataQualityError` that names the file, the column
and the rows:

1. **Open** — the path must be an existing, non-empty file with a supported
   extension (``.csv .txt .tsv .dat``, ``.xlsx .xlsm``, ``.parquet .pq``).
2. **Read raw** — text files are decoded (UTF-8 with or without BOM; when
   that fails, Windows-1251, recorded as an ``info`` issue), the separator is
   detected (``;``, ``,``, tab, ``|``; whitespace-aligned columns such as
   CDNOW's as a last resort or with ``sep="whitespace"``) and every cell is
   read as text, so nothing is converted behind the user's back.  Excel is
   read cell by cell with openpyxl; Parquet with pyarrow, keeping its types.
3. **Map** — the client's headers are mapped onto contract names with
   ``columns={"Сумма": "amount", ...}``; headers already equal to contract
   names (ignoring case) map to themselves; other columns are ignored.
4. **Parse and check** (:mod:`cxlab.data.validate`) — vectorised parsers
   per contract ``kind``; then required values, bounds, dates not in the
   future, exact duplicate rows (dropped and reported), the table's key
   (unique ``customer_id`` for customers), returns (negative amounts kept and
   flagged with ``is_return``).

:func:`load_client_data` reads a client's tables and adds the cross-table
checks (transactions before signup, ids unknown to the customers table,
loyalty joins before signup).

Nothing is written to disk.  Errors carry row numbers in the file's own
convention: for CSV the line number (header = line 1, first data row = line
2); for Excel the sheet row number (header = row 1); for Parquet the 1-based
row number.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from cxlab.data.contract import TABLES, TableSpec
from cxlab.data.quality import QualityReport
from cxlab.data.validate import (
    DataFileError,
    DataQualityError,
    TableContext,
    check_unique_key,
    exact_duplicates,
    validate_frame,
)

__all__ = [
    "ClientData",
    "DataFileError",
    "DataQualityError",
    "LoadedTable",
    "SourceInfo",
    "load_client_data",
    "read_table",
]

TEXT_EXTENSIONS = (".csv", ".txt", ".tsv", ".dat")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm")
PARQUET_EXTENSIONS = (".parquet", ".pq")
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS + EXCEL_EXTENSIONS + PARQUET_EXTENSIONS

#: Separators tried, in order of preference on ties.
_SEPARATORS = (";", ",", "\t", "|")
_SNIFF_LINES = 50


@dataclass
class SourceInfo:
    """How a table was read: enough to reproduce the load and to cite rows.

    Attributes
    ----------
    path : str
        File read.
    format : {"csv", "excel", "parquet"}
    encoding, sep : str or None
        Text files only: the encoding and separator used (``"whitespace"`` for
        whitespace-aligned columns).
    sheet : str or int or None
        Excel only.
    columns : dict
        Contract column → client column actually used.
    ignored_columns : list of str
        Client columns not mapped to the contract.
    row_numbers : numpy.ndarray
        For each row of the loaded frame, its row number in the file.
    row_note : str
        The row-number convention in words (e.g. "line numbers, header = line 1").
    rows_read : int
        Data rows in the file.
    """

    path: str
    format: str
    encoding: str | None = None
    sep: str | None = None
    sheet: str | int | None = None
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    row_numbers: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    row_note: str = ""
    rows_read: int = 0


@dataclass
class LoadedTable:
    """A contract table read from a file.

    Attributes
    ----------
    frame : pandas.DataFrame
        Contract columns only (plus ``is_return`` for transactions), in
        contract order, with a fresh ``RangeIndex``.  ``customer_id`` and other
        ids are text (leading zeros kept), dates ``datetime64[ns]`` without a
        time zone, amounts ``float64``, categories text, ``nps`` ``int64``.
    quality : QualityReport
        What was dropped, flagged, repaired or worth knowing.
    source : SourceInfo
        How the file was read and the file row number of every frame row.
    """

    frame: pd.DataFrame
    quality: QualityReport
    source: SourceInfo


@dataclass
class ClientData:
    """A client's tables in the contract, plus their combined quality report.

    Attributes
    ----------
    transactions : pandas.DataFrame or ibis Table
        An Ibis table when the client's log lives in an engine (Spark, a
        warehouse, a Parquet folder); the aggregations of
        :mod:`cxlab.data.aggregate` accept both.
    customers, surveys : pandas.DataFrame or None
    quality : QualityReport
        Issues of every table and of the cross-table checks.
    sources : dict
        Table name → :class:`SourceInfo` (empty for frames built by hand).
    """

    transactions: Any
    customers: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    quality: QualityReport = field(default_factory=QualityReport)
    sources: dict[str, SourceInfo] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# opening and decoding
# ---------------------------------------------------------------------------
def _check_path(path: Any) -> tuple[Path, str]:
    if isinstance(path, (bytes, bytearray)):
        path = path.decode()
    try:
        p = Path(path).expanduser()
    except TypeError:
        raise DataQualityError(f"path must be a file name, got {type(path).__name__}: {path!r}") from None
    shown = str(p)
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            near = sorted(q.name for q in p.parent.iterdir() if q.suffix.lower() in SUPPORTED_EXTENSIONS)
            if near:
                hint = " Data files in that folder: " + ", ".join(near[:10]) + ("…" if len(near) > 10 else "")
        else:
            hint = f" (the folder {p.parent} does not exist either)"
        raise DataFileError(f"no such file.{hint}", path=shown)
    if p.is_dir():
        inside = sorted(q.name for q in p.iterdir() if q.suffix.lower() in SUPPORTED_EXTENSIONS)
        hint = (" It contains: " + ", ".join(inside[:10])) if inside else ""
        raise DataFileError(f"is a directory, not a file; give the path of a data file.{hint}", path=shown)
    suffix = p.suffix.lower()
    if suffix == ".xls":
        raise DataQualityError("old Excel format (.xls) is not supported; save the sheet as .xlsx or CSV.",
                               path=shown)
    if suffix not in SUPPORTED_EXTENSIONS:
        raise DataQualityError(
            f"unsupported file type {p.suffix or '(no extension)'!r}; supported: "
            + ", ".join(SUPPORTED_EXTENSIONS), path=shown)
    if p.stat().st_size == 0:
        raise DataQualityError("the file is empty (0 bytes).", path=shown)
    return p, shown


def _decode(data: bytes, encoding: str | None, shown: str) -> tuple[str, str, str | None]:
    """Decode bytes; returns (text, encoding used, note for the quality report or None)."""
    def line_of(pos: int) -> int:
        return data.count(b"\n", 0, pos) + 1

    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise DataQualityError(f"unknown encoding {encoding!r}.", path=shown) from None
        except UnicodeDecodeError as e:
            raise DataQualityError(
                f"cannot be read as {encoding}: byte 0x{data[e.start]:02x} on line {line_of(e.start)} "
                "is invalid; pass encoding=None to detect it, or the right encoding (e.g. 'cp1251').",
                path=shown) from None
        return text.lstrip("\ufeff"), encoding, None
    if b"\x00" in data:
        raise DataQualityError(
            "is neither UTF-8 nor Windows-1251 text: it contains NUL bytes (UTF-16 or a binary file?). "
            "Save it as CSV in UTF-8, or pass encoding=.", path=shown)
    try:
        return data.decode("utf-8-sig"), "utf-8", None
    except UnicodeDecodeError as e:
        first_bad = e.start
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError as e:
        raise DataQualityError(
            f"is neither UTF-8 (invalid byte on line {line_of(first_bad)}) nor Windows-1251 (byte "
            f"0x{data[e.start]:02x} on line {line_of(e.start)} is undefined there); pass encoding=.",
            path=shown) from None
    note = (f"not valid UTF-8 (first invalid byte on line {line_of(first_bad)}); read as Windows-1251 "
            "(cp1251).")
    return text, "cp1251", note


def _split_counts(lines: Sequence[str], sep: str) -> list[int]:
    return [len(row) for row in csv.reader(lines, delimiter=sep)]


def _detect_sep(text: str) -> str:
    """Pick the separator whose field count is the same on the header and the first lines."""
    lines = [ln for ln in text[:200_000].splitlines()[:_SNIFF_LINES] if ln.strip()]
    if not lines:
        return ","
    best, best_score = None, None
    for sep in _SEPARATORS:
        try:
            counts = _split_counts(lines, sep)
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        body = counts[1:] or counts[:1]
        agree = sum(c == counts[0] for c in body) / len(body)
        score = (agree, counts[0])
        if best_score is None or score > best_score:
            best, best_score = sep, score
    if best is not None and best_score[0] >= 0.9:
        return best
    ws = [len(ln.split()) for ln in lines]
    if ws[0] > 1 and all(c == ws[0] for c in ws):
        return "whitespace"
    return best or ","


def _normalise_header(name: Any) -> str:
    return str(name).replace("\ufeff", "").strip().strip('"').strip()


def _default_names(n: int) -> list[str]:
    return [f"column_{k + 1}" for k in range(n)]


# ---------------------------------------------------------------------------
# raw readers: return (raw frame with positional index, first_row, row_note, extra SourceInfo fields)
# ---------------------------------------------------------------------------
def _read_text(p: Path, shown: str, encoding: str | None, sep: str | None, header: int | None,
               names: Sequence[str] | None, report: QualityReport, table: str) -> tuple[pd.DataFrame, dict]:
    try:
        data = p.read_bytes()
    except OSError as e:  # permissions, a FIFO, a file vanishing mid-read
        raise DataQualityError(f"cannot be read ({type(e).__name__}: {e.strerror or e}).", path=shown) from None
    text, used, note = _decode(data, encoding, shown)
    if not text.strip():
        raise DataQualityError("the file holds no data (only blank lines).", path=shown)
    if note:
        report.add(table, None, "info", 0, f"{shown}: {note}")
    if sep is None:
        sep = _detect_sep(text)
    if sep == "\\s+":
        sep = "whitespace"
    kwargs: dict[str, Any] = dict(
        sep=r"\s+" if sep == "whitespace" else sep,
        dtype=str, keep_default_na=False, na_values=[""], skip_blank_lines=False,
        header=header, engine="c",
    )
    if names is not None:
        kwargs["names"] = list(names)
        if header is not None:
            kwargs["header"] = header  # the given names replace the file's header line
    try:
        raw = pd.read_csv(io.StringIO(text), **kwargs)
    except pd.errors.EmptyDataError:
        raise DataQualityError("the file holds no data.", path=shown) from None
    except (pd.errors.ParserError, ValueError) as e:
        shown_sep = {"\t": "tab", "whitespace": "whitespace"}.get(sep, repr(sep))
        raise DataQualityError(
            f"cannot be split into columns with separator {shown_sep}: {e}. "
            "If the separator was detected wrongly, pass sep=';', ',', '\\t' or 'whitespace'.",
            path=shown) from None
    if header is None and names is None:
        raw.columns = _default_names(raw.shape[1])
    # Trailing blank lines are not rows; blank lines inside the file are kept so line numbers stay true.
    empty = raw.isna().all(axis=1).to_numpy()
    last = np.flatnonzero(~empty)
    raw = raw.iloc[: (last[-1] + 1 if len(last) else 0)]
    first_row = 1 if header is None else header + 2
    note_ = "line numbers in the file" + ("" if header is None else f", header = line {header + 1}")
    return raw, dict(format="csv", encoding=used, sep=sep, first_row=first_row, row_note=note_)


def _read_excel(p: Path, shown: str, sheet: str | int | None, header: int | None,
                names: Sequence[str] | None) -> tuple[pd.DataFrame, dict]:
    import openpyxl  # noqa: F401  (fail here with a clear message if missing)

    sheet_name = 0 if sheet is None else sheet
    try:
        # keep_default_na=False: "n/a" or "NULL" typed into a cell is reported, not silently blanked.
        raw = pd.read_excel(p, sheet_name=sheet_name, header=header, names=names, dtype=object,
                            keep_default_na=False, na_values=[""],
                            engine="openpyxl")
    except (KeyError, ValueError, IndexError) as e:
        try:
            wb = openpyxl.load_workbook(p, read_only=True)
            sheets = wb.sheetnames
            wb.close()
        except Exception:
            raise DataQualityError(f"cannot be read as an Excel workbook: {e}", path=shown) from None
        raise DataQualityError(f"has no sheet {sheet_name!r}; sheets: {', '.join(map(repr, sheets))}.",
                               path=shown) from None
    except Exception as e:  # zipfile.BadZipFile, openpyxl InvalidFileException, …
        raise DataQualityError(f"cannot be read as an Excel workbook ({type(e).__name__}: {e}).",
                               path=shown) from None
    if header is None and names is None:
        raw.columns = _default_names(raw.shape[1])
    raw = raw.reset_index(drop=True)
    first_row = 1 if header is None else header + 2
    note_ = "sheet row numbers" + ("" if header is None else f", header = row {header + 1}")
    return raw, dict(format="excel", sheet=sheet_name, first_row=first_row, row_note=note_)


def _read_parquet(p: Path, shown: str) -> tuple[pd.DataFrame, dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        tbl = pq.read_table(p)
    except Exception as e:  # pyarrow.ArrowInvalid and friends
        raise DataQualityError(f"cannot be read as Parquet ({type(e).__name__}: {e}).", path=shown) from None
    # Decode dictionary and decimal columns in Arrow (vectorised) before pandas sees them.
    fields = []
    for f in tbl.schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_decimal(t):
            t = pa.float64()
        fields.append(pa.field(f.name, t))
    target = pa.schema(fields)
    if target != tbl.schema:
        tbl = tbl.cast(target)

    def mapper(t: Any) -> Any:
        if t in (pa.string(), pa.large_string()):
            return pd.StringDtype("pyarrow")
        return None

    try:
        raw = tbl.to_pandas(types_mapper=mapper, date_as_object=False, coerce_temporal_nanoseconds=True,
                            split_blocks=True)
    except (pa.ArrowException, ValueError, OverflowError) as e:  # e.g. dates beyond year 2262
        raise DataQualityError(f"cannot be converted to a table ({type(e).__name__}: {e}).", path=shown) from None
    raw.index = pd.RangeIndex(len(raw))
    # The Arrow table is kept for the duplicate check (strings share its buffers: no copy).
    return raw, dict(format="parquet", first_row=1, row_note="1-based row numbers", arrow=tbl)


# ---------------------------------------------------------------------------
# column mapping
# ---------------------------------------------------------------------------
def _map_columns(headers: Sequence[str], spec: TableSpec, columns: Mapping[str, str] | None,
                 shown: str) -> tuple[dict[str, str], list[str]]:
    """Contract → client column mapping, and the client columns left unused."""
    contract = [c.name for c in spec.columns]
    mapping_given = {_normalise_header(k): str(v).strip() for k, v in (columns or {}).items()}

    def describe() -> str:
        found = ", ".join(f'"{h}"' for h in headers) or "(none)"
        used = ", ".join(f'"{k}" → {v}' for k, v in mapping_given.items()) or "(none: headers must be contract names)"
        return f"columns found in the file: {found}; mapping used (columns=): {used}"

    unknown_targets = sorted({v for v in mapping_given.values() if v not in contract})
    if unknown_targets:
        raise DataQualityError(
            f"columns= maps to {', '.join(map(repr, unknown_targets))}, not columns of the "
            f"{spec.name} table; valid names: {', '.join(contract)}.", path=shown, table=spec.name)
    targets = list(mapping_given.values())
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise DataQualityError(
            f"columns= maps several client columns onto {', '.join(map(repr, twice))}; map one each. "
            + describe(), path=shown, table=spec.name)
    by_fold: dict[str, str] = {}
    for h in headers:
        by_fold.setdefault(h.casefold(), h)
    result: dict[str, str] = {}
    missing_sources = []
    for client, name in mapping_given.items():
        actual = client if client in headers else by_fold.get(client.casefold())
        if actual is None:
            missing_sources.append(client)
        else:
            result[name] = actual
    if missing_sources:
        raise DataQualityError(
            "columns= names client columns that are not in the file: "
            + ", ".join(f'"{c}"' for c in missing_sources) + ". " + describe(),
            path=shown, table=spec.name)
    used_clients = set(result.values())
    for name in contract:
        if name in result:
            continue
        h = by_fold.get(name.casefold())
        if h is not None and h not in used_clients:
            result[name] = h
            used_clients.add(h)
    missing = [c for c in spec.required if c not in result]
    if missing:
        raise DataQualityError(
            f"required {spec.name} column(s) missing: {', '.join(missing)}. " + describe()
            + ". Map the client's header onto each, e.g. columns={'Client header': '" + missing[0] + "'}.",
            path=shown, table=spec.name, column=missing[0])
    ordered = {name: result[name] for name in contract if name in result}
    ignored = [h for h in headers if h not in used_clients]
    return ordered, ignored


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
def read_table(
    path: str | Path,
    table: str = "transactions",
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    dayfirst: bool | None = None,
    sheet: str | int | None = None,
    today: Any = None,
    date_format: str | Mapping[str, str] | None = None,
    header: int | None = 0,
    names: Sequence[str] | None = None,
    duplicates: str = "auto",
) -> LoadedTable:
    """Read one client file into a contract table, validating every value.

    Parameters
    ----------
    path : str or Path
        CSV/text (``.csv .txt .tsv .dat``), Excel (``.xlsx .xlsm``) or Parquet
        (``.parquet .pq``) file.
    table : {"transactions", "customers", "surveys"}
        Contract table the file holds.
    columns : dict, optional
        Client header → contract name, e.g. ``{"Сумма": "amount"}``.  Headers
        equal to contract names (ignoring case) need no entry; unmapped
        columns are ignored (listed in ``source.ignored_columns``).
    encoding : str, optional
        Text files: by default UTF-8 (with or without BOM), falling back to
        Windows-1251 with an ``info`` issue.
    sep : str, optional
        Text files: ``";"``, ``","``, ``"\\t"``, ``"|"`` or ``"whitespace"``
        (runs of spaces, as in CDNOW).  Detected by default.
    decimal : {".", ","}, optional
        Decimal mark of numeric columns; detected per column by default
        ("1 234,50" → comma; spaces, non-breaking spaces and apostrophes are
        thousands separators).
    dayfirst : bool, optional
        Order of ``31.12.2024``-style dates when the values do not decide it.
    sheet : str or int, optional
        Excel sheet (default: the first).
    today : date-like, optional
        Dates after this day are an error (default: today).
    date_format : str or dict, optional
        ``strftime`` format for all date columns, or contract column → format,
        e.g. ``"%Y%m%d"``.
    header : int or None, default 0
        Text and Excel: line (0-based) holding the column names; ``None`` when
        the file has no header (then give ``names`` or use ``column_1``,
        ``column_2``, …).
    names : list of str, optional
        Column names to use instead of the file's header.
    duplicates : {"auto", "drop", "keep"}, default "auto"
        What to do with rows identical in every column to an earlier row:
        drop them (reported as ``dropped``) or keep them (reported as
        ``flagged``). ``"auto"`` drops them when the rows carry an identifier
        that makes a repeat meaningless (an ``order_id`` in transactions; the
        customers and surveys tables) and keeps-and-flags them in a
        transaction log without order ids, where two equal purchases on one
        day can be genuine (CDNOW has 255 such rows).

    Returns
    -------
    LoadedTable
        ``frame`` (contract columns, typed), ``quality`` and ``source``.

    Raises
    ------
    DataFileError
        The path does not exist or is a directory (also a ``FileNotFoundError``).
    DataQualityError
        Anything that would otherwise need a guess: unsupported or empty file,
        undecodable text, missing or unknown columns, unparseable values,
        empty required values, values outside the contract's bounds, dates in
        the future, a repeated key.  The message names the file, the column
        and the rows.

    Examples
    --------
    >>> loaded = read_table("sales.csv", columns={"Клиент": "customer_id",
    ...     "Дата": "timestamp", "Сумма": "amount"})          # doctest: +SKIP
    >>> loaded.frame.dtypes                                   # doctest: +SKIP
    """
    if table not in TABLES:
        raise ValueError(f"table must be one of {', '.join(TABLES)}, got {table!r}")
    if duplicates not in ("auto", "drop", "keep"):
        raise ValueError(f"duplicates must be 'auto', 'drop' or 'keep', got {duplicates!r}")
    if sep is not None and sep not in (";", ",", "\t", "|", "whitespace", r"\s+") and len(sep) != 1:
        raise ValueError(f"sep must be one character or 'whitespace', got {sep!r}")
    spec = TABLES[table]
    p, shown = _check_path(path)
    report = QualityReport()
    suffix = p.suffix.lower()
    if suffix in TEXT_EXTENSIONS:
        raw, info = _read_text(p, shown, encoding, sep, header, names, report, table)
    elif suffix in EXCEL_EXTENSIONS:
        raw, info = _read_excel(p, shown, sheet, header, names)
    else:
        raw, info = _read_parquet(p, shown)
    raw.columns = [_normalise_header(c) for c in raw.columns]
    if len(raw) == 0:
        raise DataQualityError(
            "has a header but no data rows" + (f" (columns: {', '.join(raw.columns)})" if len(raw.columns) else "")
            + ".", path=shown, table=table)
    mapping, ignored = _map_columns(list(raw.columns), spec, columns, shown)
    ctx = TableContext(path=shown, table=table, first_row=info.pop("first_row"), row_note=info.pop("row_note"),
                       total_rows=len(raw), client_names=dict(mapping), report=report)
    if ignored:
        ctx.issue(None, "info", "columns not in the contract were ignored: "
                  + ", ".join(f'"{c}"' for c in ignored) + ".", rows_count=0)

    # Blank lines inside the file: dropped, but reported (their line numbers stay correct).
    arrow_table = info.pop("arrow", None)
    empty = raw.isna().all(axis=1).to_numpy()
    if empty.any():
        ctx.issue(None, "dropped", f"{int(empty.sum()):,} empty rows dropped.", raw.index[empty])
        raw = raw[~empty]
        arrow_table = None if arrow_table is None else arrow_table.filter(~empty)

    renamed = raw[list(mapping.values())].copy()
    renamed.columns = list(mapping.keys())
    frame = validate_frame(renamed, spec, ctx, decimal=decimal, dayfirst=dayfirst, date_format=date_format,
                           sep=info.get("sep"), excel=info["format"] == "excel", today=today)

    dup = exact_duplicates(raw, arrow_table, parsed=frame)
    if duplicates == "auto":
        duplicates = "keep" if table == "transactions" and "order_id" not in frame.columns else "drop"
    if dup.any():
        n = int(dup.sum())
        where = ctx.where(raw.index[dup], n)
        if duplicates == "drop":
            ctx.issue(None, "dropped", f"{n:,} exact duplicate rows dropped ({where}).", raw.index[dup])
            frame = frame[~dup]
        else:
            ctx.issue(None, "flagged", f"{n:,} rows repeat an earlier row exactly; kept, as the log has no "
                      f"order id to tell a double entry from a second equal purchase ({where}).", raw.index[dup])
    check_unique_key(frame, ctx, spec.key)

    if table == "transactions":
        is_return = (frame["amount"] < 0).to_numpy()
        frame["is_return"] = is_return
        if is_return.any():
            n = int(is_return.sum())
            ctx.issue("amount", "flagged", f"{n:,} returns (negative amount) kept and flagged in is_return "
                      f"({ctx.where(frame.index[is_return], n)}).", frame.index[is_return])

    rows = ctx.file_rows(frame.index)
    frame.index = pd.RangeIndex(len(frame))
    source = SourceInfo(path=shown, columns=dict(mapping), ignored_columns=ignored, row_numbers=rows,
                        row_note=ctx.row_note, rows_read=ctx.total_rows, **info)
    return LoadedTable(frame=frame, quality=report, source=source)


def _cross_issue(report: QualityReport, table: str, column: str, src: SourceInfo | None, mask: np.ndarray,
                 what: str) -> None:
    n = int(mask.sum())
    if n == 0:
        return
    if src is not None and len(src.row_numbers) == len(mask):
        rows = src.row_numbers[mask][:10]
        where = f" ({'row' if n == 1 else 'rows'} {', '.join(map(str, rows[:8]))}{', …' if n > 8 else ''}; {src.row_note})"
        prefix = f"{src.path}: "
    else:
        rows, where, prefix = (), "", ""
    report.add(table, column, "flagged", n, f"{prefix}{n:,} {what}{where}.", rows)


def check_client_data(transactions: pd.DataFrame | None, customers: pd.DataFrame | None = None,
                      surveys: pd.DataFrame | None = None, sources: Mapping[str, SourceInfo] | None = None
                      ) -> QualityReport:
    """Cross-table checks; problems are flagged (rows kept), never dropped.

    * transactions dated (by calendar day) before the customer's ``signup_date``;
    * transaction and survey ``customer_id`` values absent from customers;
    * ``loyalty_join_date`` before ``signup_date``.
    """
    sources = dict(sources or {})
    report = QualityReport()
    if customers is None:
        return report
    ids = pd.Index(customers["customer_id"])
    if transactions is not None:  # None: the log lives in an engine (see load_client_data)
        tx_unknown = ~transactions["customer_id"].isin(ids).to_numpy()
        n_cust = transactions.loc[tx_unknown, "customer_id"].nunique()
        _cross_issue(report, "transactions", "customer_id", sources.get("transactions"), tx_unknown,
                     f"transactions of {n_cust:,} customer_id(s) absent from the customers table")
    if surveys is not None:
        sv_unknown = ~surveys["customer_id"].isin(ids).to_numpy()
        n_sv = surveys.loc[sv_unknown, "customer_id"].nunique()
        _cross_issue(report, "surveys", "customer_id", sources.get("surveys"), sv_unknown,
                     f"survey answers of {n_sv:,} customer_id(s) absent from the customers table")
    if "signup_date" in customers.columns:
        if transactions is not None:
            signup = customers.set_index("customer_id")["signup_date"]
            tx_signup = transactions["customer_id"].map(signup)
            before = (transactions["timestamp"].dt.normalize() < tx_signup.dt.normalize()).to_numpy()
            _cross_issue(report, "transactions", "timestamp", sources.get("transactions"), before,
                         "transactions dated before the customer's signup_date")
        if "loyalty_join_date" in customers.columns:
            early = (customers["loyalty_join_date"].dt.normalize()
                     < customers["signup_date"].dt.normalize()).to_numpy()
            _cross_issue(report, "customers", "loyalty_join_date", sources.get("customers"), early,
                         "customers joined the loyalty program before their signup_date")
    return report


def load_client_data(tables: Mapping[str, Mapping[str, Any] | str | Path]) -> ClientData:
    """Read a client's tables and check them against each other.

    Parameters
    ----------
    tables : dict
        ``{"transactions": {...}, "customers": {...}, "surveys": {...}}``; each
        value holds :func:`read_table` keyword arguments including ``path``
        (a bare path is accepted too).  ``transactions`` is required; it may
        instead be a source spec with an ``engine`` key (see
        :func:`cxlab.data.engines.connect_source`), which stays in its engine
        and comes back as an Ibis table.

    Returns
    -------
    ClientData
        The frames and one :class:`QualityReport` with every table's issues
        followed by the cross-table ones (see :func:`check_client_data`).

    Raises
    ------
    DataQualityError
        From :func:`read_table`, or for an unknown table name.
    """
    unknown = [k for k in tables if k not in TABLES]
    if unknown:
        raise DataQualityError(f"unknown table(s) {', '.join(map(repr, unknown))}; expected "
                               f"{', '.join(TABLES)}.")
    if "transactions" not in tables:
        raise DataQualityError("a transactions table is required (tables has: "
                               f"{', '.join(tables) or 'nothing'}).")
    loaded: dict[str, LoadedTable] = {}
    engine_tx = None
    for name in TABLES:
        if name not in tables or tables[name] is None:
            continue
        spec = tables[name]
        if name == "transactions" and isinstance(spec, Mapping) and "engine" in spec:
            # A warehouse, Spark or Parquet-folder source: it stays in its engine (cxlab.data.engines);
            # only the aggregations of cxlab.data.aggregate read it.
            from cxlab.data.engines import connect_source

            engine_tx = connect_source(spec)
            continue
        kwargs = {"path": spec} if isinstance(spec, (str, Path)) else dict(spec)
        if "path" not in kwargs:
            raise DataQualityError(f"the {name} entry has no 'path' (keys: {', '.join(kwargs)}).")
        kwargs.pop("table", None)
        loaded[name] = read_table(kwargs.pop("path"), name, **kwargs)
    quality = QualityReport()
    for lt in loaded.values():
        quality = quality.merge(lt.quality)
    sources = {k: v.source for k, v in loaded.items()}
    frames = {k: v.frame for k, v in loaded.items()}
    if engine_tx is not None:
        engine = tables["transactions"].get("engine")
        quality.add("transactions", None, "info", 0,
                    f"transactions are read from a {engine} source and aggregated there: their columns were "
                    "checked, row-level checks (dates, duplicates, returns, signup) were not run.")
        quality = quality.merge(check_client_data(None, frames.get("customers"), frames.get("surveys"), sources))
        return ClientData(transactions=engine_tx, customers=frames.get("customers"),
                          surveys=frames.get("surveys"), quality=quality, sources=sources)
    quality = quality.merge(check_client_data(frames["transactions"], frames.get("customers"),
                                              frames.get("surveys"), sources))
    return ClientData(transactions=frames["transactions"], customers=frames.get("customers"),
                      surveys=frames.get("surveys"), quality=quality, sources=sources)
