"""Reading client files (CSV, Excel, Parquet) into the data contract.

Design
------
:func:`read_table` is the only door through which a client's file enters
cxlab.  It works in four steps, each of which either succeeds, records what it
did in a :class:`~cxlab.data.quality.QualityReport`, or raises a
:class:`~cxlab.data.validate.DataQualityError` that names the file, the column
and the rows.  The rule throughout: **never guess silently** — where a file can
be read two ways, the evidence decides or the load stops, showing the evidence
and the exact ``client.yml`` line that settles it (``decimal: ","``,
``dayfirst: true``, ``timezone: Europe/Moscow``, ``sheet: "Продажи"`` …).

1. **Open** — the path must be an existing, non-empty file with a supported
   extension (``.csv .txt .tsv .dat``, ``.xlsx .xlsm``, ``.parquet .pq``).
2. **Read raw** — text files are decoded on evidence (UTF-8 with or without
   BOM, UTF-16 with a BOM; otherwise the one single-byte encoding whose text
   reads as words; a few foreign lines in a UTF-8 file are re-read only when
   their words also occur in the rest of the file — a counted repair; text
   encoded twice is refused), the separator is detected (``;``, ``,``, tab,
   ``|``; whitespace-aligned columns such as CDNOW's as a last resort or with
   ``sep="whitespace"``; two separators that split alike stop the load) and
   every cell is read as text, so nothing is converted behind the user's back.
   Excel is read with openpyxl, from the sheet asked for or the first one when
   it is the only sheet with the table's columns; Parquet with pyarrow,
   keeping its types.  Headers are kept as written: a repeated header is
   labelled by position (``"amount (column 3)"``), never renamed to
   ``amount.1``.
3. **Map** — the client's headers are mapped onto contract names with
   ``columns={"Сумма": "amount", ...}``; headers already equal to contract
   names (ignoring case) map to themselves; other columns are ignored.  Two
   columns that could be one contract column stop the load.
4. **Parse and check** (:mod:`cxlab.data.validate`) — vectorised parsers
   per contract ``kind``; then required values, bounds, dates not in the
   future, implausible dates (flagged), exact duplicate rows (dropped and
   reported), the table's key (unique ``customer_id`` for customers), returns
   (negative amounts kept and flagged with ``is_return``).

:func:`load_client_data` reads a client's tables and adds the cross-table
checks (customer ids that do not meet across tables stop the load;
transactions before signup, ids unknown to the customers table, loyalty joins
before signup are flagged) and the value checks of :func:`check_values`
(rows after ``observation_end``, outlying amounts and the share of revenue
they hold, customers whose only rows are returns), also returned as data in
``ClientData.checks``.

Nothing is written to disk.  Errors carry row numbers in the file's own
convention: for CSV the line number (header = line 1, first data row = line
2); for Excel the sheet row number (header = row 1); for Parquet the 1-based
row number.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from cxlab.data.contract import TABLES, TableSpec
from cxlab.data.quality import OUTLIER_SHARE, OUTLIER_Z, QualityReport, ValueChecks, amount_outliers
from cxlab.data.validate import (
    DataFileError,
    DataQualityError,
    TableContext,
    check_timezone,
    client_yml_hint,
    yaml_line,
    check_unique_key,
    exact_duplicates,
    validate_frame,
)

__all__ = [
    "ClientData",
    "check_client_data",
    "check_values",
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
    customers, surveys, campaigns : pandas.DataFrame or None
    quality : QualityReport
        Issues of every table and of the cross-table checks.
    sources : dict
        Table name → :class:`SourceInfo` (empty for frames built by hand).
    checks : ValueChecks
        Outliers (and the share of revenue they hold: ``checks.dominates()``
        says a revenue headline should be qualified), returns-only customers,
        rows outside the study window, implausible dates.
    """

    transactions: Any
    customers: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    quality: QualityReport = field(default_factory=QualityReport)
    sources: dict[str, SourceInfo] = field(default_factory=dict)
    checks: ValueChecks = field(default_factory=ValueChecks)
    campaigns: pd.DataFrame | None = None


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


#: Single-byte encodings a non-UTF-8 file may be in, with the names users know them by.
_SINGLE_BYTE = (("cp1251", "Windows-1251 (Cyrillic)"), ("koi8_r", "KOI8-R (Cyrillic)"),
                ("cp1252", "Windows-1252 (Western European)"), ("cp1250", "Windows-1250 (Central European)"))
_NAMES = dict(_SINGLE_BYTE) | {"utf-8": "UTF-8"}
_WORD = re.compile(r"[^\W\d_]+")
#: How many times more word evidence the chosen reading must have than the next one.
_MARGIN = 3.0
#: Bytes of a large single-byte file's lines sampled as evidence.
_EVIDENCE_CHARS = 300_000


def _case_ok(word: str) -> bool:
    return word.islower() or word.isupper() or (word[:1].isupper() and word[1:].islower())


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _plausible(word: str) -> bool:
    """A real word of one script: all Cyrillic, or Latin with at least one ASCII letter; sane letter case.

    Mojibake fails one of these: "rйseaux" mixes scripts, "Êëèåíò" (Russian read as Windows-1252) has no
    plain Latin letter, "лМЙЕНФ" (KOI8-R read as Windows-1251) has a case pattern no word has.
    """
    if not _case_ok(word):
        return False
    if all(_is_cyrillic(c) for c in word):
        return True
    if any(_is_cyrillic(c) for c in word):
        return False
    return all(c.isascii() or "\u00c0" <= c <= "\u024f" for c in word) and any(c.isascii() for c in word)


def _evidence_words(text: str) -> set[str]:
    """Distinct words (2+ letters) holding a non-ASCII letter: what tells encodings apart."""
    return {w for w in _WORD.findall(text) if len(w) > 1 and not w.isascii()}


def _letters(word: str) -> int:
    return sum(not c.isascii() for c in word)


def _weight(word: str) -> float:
    """Evidence a word gives for the reading it comes from: its non-ASCII letters (a long Cyrillic word
    says more than one accent in a Latin word); 0 for mojibake."""
    return float(_letters(word)) if _plausible(word) else 0.0


#: Letter frequencies of Russian text (per cent, Lyashevskaya & Sharov's frequency dictionary): a text
#: misread through another Cyrillic code page (KOI8-R as Windows-1251) still looks like words, but its
#: letters are permuted, so its frequency profile is far from this one.
_RU_FREQ = dict(zip("оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё", (
    10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98, 2.81, 2.62, 2.01, 1.90,
    1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73, 0.64, 0.48, 0.36, 0.32, 0.26, 0.04, 0.04)))
_RU_NORM = sum(v * v for v in _RU_FREQ.values()) ** 0.5


def _russian_likeness(letters: str) -> float:
    """Cosine similarity of the letter counts to Russian frequencies: ~0.75–0.85 for real text, ~0.45–0.55
    for a text misread through another Cyrillic code page."""
    counts: dict[str, int] = {}
    for c in letters:
        if c in _RU_FREQ:
            counts[c] = counts.get(c, 0) + 1
    norm = sum(v * v for v in counts.values()) ** 0.5
    return sum(n * _RU_FREQ[c] for c, n in counts.items()) / (norm * _RU_NORM) if norm else 0.0


def _russian_word(word: str) -> bool:
    """A Cyrillic word whose letters are, on balance, more frequent in Russian than chance (log-likelihood
    against 33 equally likely letters above 0): "магазин" is, "НБЗБЪЙО" (KOI8-R read as Windows-1251) not."""
    import math

    return sum(math.log(max(_RU_FREQ.get(c, 0.04), 0.04) * 33 / 100) for c in word.lower()) > 0


def _score(words: set[str]) -> float:
    """Word evidence of a reading (see :func:`_weight`): real words for it, mojibake against it.

    Cyrillic words count only if their letters look Russian (:func:`_russian_word`), and a Cyrillic
    reading whose counted words hold 20+ letters is scaled by ``clip((cos - 0.35) / 0.4, 0, 1)²`` of its
    letter profile (:func:`_russian_likeness`: 1 for real text, under 0.1 for a misread code page).
    """
    counted = [w for w in words if _plausible(w) and (not _is_cyrillic(w[0]) or _russian_word(w))]
    score = float(sum(map(_weight, counted)))
    cyrillic = "".join(w for w in counted if _is_cyrillic(w[0])).lower()
    if len(cyrillic) >= 20:
        score *= min(max((_russian_likeness(cyrillic) - 0.35) / 0.4, 0.0), 1.0) ** 2
    # words a reading turns into mojibake count against it (at half weight: real files hold some oddities)
    rejected = sum(_letters(w) for w in words if w not in set(counted))
    return score - 0.5 * rejected


def _invalid_utf8_lines(data: bytes, max_bad: int = 2000) -> tuple[list[int], bool, bool]:
    """Lines that are not valid UTF-8: (0-based line numbers, whether other lines hold UTF-8 text, complete).

    The decoder runs from one invalid line to the next (no per-line loop over a
    valid file); once ``max_bad`` invalid lines are found and no line was
    UTF-8 text, the file is evidently single-byte and the scan stops there.
    """
    import codecs

    view = memoryview(data)
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    pos, line, counted_to = start, 0, 0
    bad: list[int] = []
    utf8_text = False
    n = len(data)
    window = 1 << 16  # the decoder allocates for its whole input: decode in windows, not "the rest"
    while pos < n:
        try:
            text, consumed = codecs.utf_8_decode(view[pos:pos + window], "strict", pos + window >= n)
        except UnicodeDecodeError as e:
            err = pos + e.start
        else:
            utf8_text = utf8_text or not text.isascii()
            pos += max(consumed, 1)
            continue
        line_start = max(data.rfind(b"\n", pos, err) + 1, pos)
        utf8_text = utf8_text or not data[pos:line_start].isascii()
        line += data.count(b"\n", counted_to, line_start)
        counted_to = line_start
        bad.append(line)
        end = data.find(b"\n", err)
        pos = end + 1 if end >= 0 else len(data)
        if len(bad) >= max_bad and not utf8_text:
            return bad, False, False
    return bad, utf8_text, True


def _readings(chunk: bytes) -> dict[str, tuple[str, set[str], float]]:
    """Each single-byte encoding that can decode ``chunk``: (text, evidence words, plausibility)."""
    out = {}
    for enc, _ in _SINGLE_BYTE:
        try:
            text = chunk.decode(enc)
        except UnicodeDecodeError:
            continue
        words = _evidence_words(text)
        out[enc] = (text, words, _score(words))
    return out


def _verdict(readings: dict[str, tuple[str, set[str], float]]) -> str | None:
    """The encoding whose reading is made of words, by a clear margin over every other; else None.

    A reading wins when its word score (see :func:`_score`) is positive and
    at least :data:`_MARGIN` times the next reading's score (or the next one's
    is not positive).  Readings that give the same text are one reading.
    """
    if not readings:
        return None
    by_text: dict[str, list[str]] = {}
    for enc, (text, _, _) in readings.items():
        by_text.setdefault(text, []).append(enc)
    if len(by_text) == 1:
        # every candidate reads the bytes alike (e.g. only a no-break space in "1 234"): any will do — if
        # there is more than one candidate; a single one that decodes is no evidence by itself
        return next(iter(readings)) if len(readings) > 1 else None
    ranked = sorted(((readings[encs[0]][2], encs[0]) for encs in by_text.values()), reverse=True)
    best, enc = ranked[0]
    runner_up = max(ranked[1][0], 0.0) if len(ranked) > 1 else 0.0
    if best > 0 and best >= _MARGIN * runner_up:
        return enc
    return None


def _show_bytes(line: bytes, limit: int = 6) -> str:
    high = [f"{b:02x}" for b in line if b >= 0x80]
    return " ".join(high[:limit]) + (" …" if len(high) > limit else "")


def _describe_readings(line: bytes) -> str:
    parts = []
    for enc, name in _SINGLE_BYTE:
        try:
            text = line.decode(enc).strip()
        except UnicodeDecodeError as e:
            parts.append(f"{name.split(' ')[0]}: byte {line[e.start]:02x} is undefined")
            continue
        words = sorted(_evidence_words(text))[:3] or [text[:60]]
        parts.append(f"{name.split(' ')[0]}: " + ", ".join(f'"{w}"' for w in words))
    return "; ".join(parts)


def _decode(data: bytes, encoding: str | None, shown: str, table: str) -> tuple[str, str, list[dict]]:
    """Decode a text file; returns (text, encoding used, quality notes).

    Never a silent guess: without ``encoding`` the file is UTF-8 (with or
    without BOM) or UTF-16 with a BOM; a file that is not valid UTF-8 is read
    in the one single-byte encoding whose reading is made of real words (see
    :func:`_plausible`), and a UTF-8 file with a few lines in another encoding
    has those lines re-read only when that reading is plausible *and* its
    words occur in the rest of the file.  Anything else stops with the lines,
    the bytes and how each encoding would read them.  Text encoded twice
    ("РјР°РіР°Р·РёРЅ") is refused whatever the encoding.
    """
    def line_of(pos: int) -> int:
        return data.count(b"\n", 0, pos) + 1

    hint = client_yml_hint
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise DataQualityError(f"unknown encoding {encoding!r} (the encoding setting); use e.g. utf-8, "
                                   "cp1251 or cp1252.", path=shown) from None
        except UnicodeDecodeError as e:
            raise DataQualityError(
                f"cannot be read as {encoding} (the encoding setting): byte 0x{data[e.start]:02x} on line "
                f"{line_of(e.start)} is invalid there; remove 'encoding:' from the '{table}' entry of client.yml "
                "to have the encoding detected, or set the right one (e.g. 'encoding: cp1251').",
                path=shown) from None
        text = text.lstrip("\ufeff")
        _check_double_encoding(text, shown, encoding)
        return text, encoding, []
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a byte-order mark is conclusive: UTF-16 ("Unicode text")
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise DataQualityError(f"starts with a UTF-16 byte-order mark but is not valid UTF-16 (byte "
                                   f"{e.start}); save it as CSV in UTF-8.", path=shown) from None
        _check_double_encoding(text, shown, None)
        return text.lstrip("\ufeff"), "utf-16", [dict(action="info", rows=(), kind="encoding",
                                                     message="read as UTF-16 (the file starts with its byte-order mark).")]
    NUL = b"\x00"
    if NUL in data:
        raise DataQualityError(
            f"is not a text file: it contains NUL bytes (first on line {line_of(data.index(NUL))}); "
            "UTF-16 without a byte-order mark or a binary file? Save it as CSV in UTF-8.", path=shown)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        first_bad = e.start
    else:
        _check_double_encoding(text, shown, None)
        return text, "utf-8", []

    bad, utf8_text, _ = _invalid_utf8_lines(data)
    lines = data.split(b"\n")
    good_words: set[str] = set()
    if utf8_text:
        bad_set = set(bad)
        good_words = _evidence_words(b"\n".join(ln for k, ln in enumerate(lines) if k not in bad_set and
                                                not ln.isascii()).decode("utf-8-sig"))
        # Valid UTF-8 by accident (a Windows-1251 "ВЁ" is the bytes of "¨") is no UTF-8 text: no real words.
        utf8_text = _score(good_words) > 0
    if not utf8_text:
        # No line is UTF-8 with non-ASCII text: the file is in one single-byte encoding — if its words say which.
        # (A UTF-8 line further down would be garbled by that reading, and _check_double_encoding refuses it.)
        sample = b"\n".join(lines[k] for k in bad)[:_EVIDENCE_CHARS]
        readings = _readings(sample)
        enc = _verdict(readings)
        if enc is not None and enc in readings:
            text = data.decode(enc)
            _check_double_encoding(text, shown, enc)
            words = sorted(readings[enc][1], key=lambda w: (-len(w), w))[:3]
            shown_words = (" (e.g. " + ", ".join(f'"{w}"' for w in words) + ")") if words else ""
            note = (f"not valid UTF-8 (first invalid byte on line {line_of(first_bad)}); read as {_NAMES[enc]}, "
                    f"the only encoding in which its text reads as words{shown_words}.")
            return text, enc, [dict(action="info", rows=(), kind="encoding", message=note)]
        k = bad[0]
        raise DataQualityError(
            f"is not UTF-8 (first invalid byte on line {line_of(first_bad)}) and its text does not say which "
            f"encoding it is in: line {k + 1} (bytes {_show_bytes(lines[k])}) reads as "
            f"{_describe_readings(lines[k])}. Set the encoding: {hint(table, 'encoding', 'cp1251')} "
            "(Windows-1251, Cyrillic), or 'encoding: cp1252' (Western European), 'encoding: cp1250' (Central "
            "European); none of them for Windows-1251 means Windows-1251 is wrong too.", path=shown)

    # Mostly UTF-8 with some lines in another encoding.
    chunk = b"\n".join(lines[k] for k in bad)
    readings = _readings(chunk)
    enc = _verdict(readings)
    rows = [k + 1 for k in bad]
    where = ", ".join(map(str, rows[:8])) + (", …" if len(rows) > 8 else "")
    n = len(rows)
    if enc is not None and enc in readings and readings[enc][1]:
        shared = sorted(readings[enc][1] & good_words)
        if shared:
            text = "\n".join(ln.decode(enc) if k in bad_set else ln.decode("utf-8") for k, ln in enumerate(lines))
            text = text.lstrip("\ufeff")
            _check_double_encoding(text, shown, None)
            n_lines = sum(1 for ln in lines if ln.strip())
            note = (f"line{'s' if n > 1 else ''} {where} ({n:,} of {n_lines:,} lines) {'were' if n > 1 else 'was'} "
                    f"not UTF-8 like the rest of the file; read as {_NAMES[enc]}, in which {'they' if n > 1 else 'it'} "
                    "spell" + ("" if n > 1 else "s") + " words the UTF-8 lines also use (" +
                    ", ".join(f'"{w}"' for w in shared[:3]) + ").")
            return text, "utf-8", [dict(action="repaired", rows=rows, kind="encoding", message=note, count=n)]
    k = bad[0]
    raise DataQualityError(
        f"line{'s' if n > 1 else ''} {where} ({n:,} line{'s' if n > 1 else ''}) {'are' if n > 1 else 'is'} not "
        f"UTF-8 while the other lines with non-ASCII text are: line {k + 1} has bytes "
        f"{_show_bytes(lines[k])}, which read as {_describe_readings(lines[k])}. cxlab cannot tell which reading "
        "is right, and a wrong one would split categories into look-alike groups; correct "
        f"{'these lines' if n > 1 else 'this line'} and save the file as UTF-8.", path=shown)


def _double_encoding_chars() -> str:
    conts = set()
    for enc in ("cp1251", "cp1252", "latin-1"):
        conts |= set(bytes(range(0x80, 0xC0)).decode(enc, errors="ignore"))
    return "".join(sorted(conts))


#: A UTF-8 lead byte read as a single-byte character, followed by a continuation byte read the same way.
_MOJIBAKE = re.compile("[РСВГÂÃÐÑ][" + re.escape(_double_encoding_chars()) + "]")
_DELIMS = (" ", "\n", "\r", "\t", ";", ",", "|", '"', "'")


def _check_double_encoding(text: str, shown: str, encoding: str | None) -> None:
    """Refuse text that is UTF-8 read as a single-byte encoding ("РјР°РіР°Р·РёРЅ" for "магазин")."""
    if _MOJIBAKE.search(text) is None:
        return
    found: list[tuple[int, str, str, str]] = []
    seen: set[str] = set()
    for k, m in enumerate(_MOJIBAKE.finditer(text)):
        if k >= 2000 or len(found) >= 3:
            break
        lo = max(m.start() - 100, 0)
        start = max(text.rfind(d, lo, m.start()) for d in _DELIMS) + 1 or lo
        stop = min((i for i in (text.find(d, m.end(), m.end() + 100) for d in _DELIMS) if i >= 0),
                   default=min(m.end() + 100, len(text)))
        token = text[max(start, lo):stop]
        if token in seen:
            continue
        seen.add(token)
        for enc in ("cp1251", "cp1252", "latin-1"):
            try:
                fixed = token.encode(enc).decode("utf-8")
            except UnicodeError:
                continue
            words = _evidence_words(fixed)
            if fixed != token and words and all(map(_plausible, words)):
                found.append((m.start(), token, fixed, enc))
                break
    if not found:
        return
    pos, token, fixed, enc = found[0]
    line = text.count("\n", 0, pos) + 1
    examples = ", ".join(f'"{t}" for "{f}"' for _, t, f, _ in found)
    if encoding is not None and encoding.replace("_", "-").lower() in (enc, enc.replace("cp", "windows-")):
        advice = f"the file is UTF-8: remove 'encoding: {encoding}' from its entry in client.yml."
    else:
        advice = ("the text was encoded twice before it reached this file (UTF-8 read as "
                  f"{_NAMES.get(enc, enc)} and saved again); export it again from the source system.")
    raise DataQualityError(f"line {line} holds garbled text: {examples}; {advice}", path=shown)


def _split_counts(lines: Sequence[str], sep: str) -> list[int]:
    return [len(row) for row in csv.reader(lines, delimiter=sep)]


def _detect_sep(text: str, shown: str = "", table: str = "transactions") -> str:
    """Pick the separator whose field count is the same on the header and the first lines.

    Two separators that both split every sniffed line into the same number of
    fields (a header "Сумма, руб.;Дата" over values "100,50;2024-01-01") are a
    guess either way: the load stops and asks for ``sep:``.
    """
    lines = [ln for ln in text[:200_000].splitlines()[:_SNIFF_LINES] if ln.strip()]
    if not lines:
        return ","
    scored = []
    for sep in _SEPARATORS:
        try:
            counts = _split_counts(lines, sep)
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        body = counts[1:] or counts[:1]
        agree = sum(c == counts[0] for c in body) / len(body)
        scored.append(((agree, counts[0]), sep))
    scored.sort(key=lambda x: x[0], reverse=True)
    if scored and scored[0][0][0] >= 0.9:
        if len(scored) > 1 and scored[1][0] == scored[0][0] and len(lines) > 1:
            a, b = scored[0][1], scored[1][1]
            names = {"\t": "tab", ";": '";"', ",": '","', "|": '"|"'}
            raise DataQualityError(
                f"cannot tell the column separator: {names[a]} and {names[b]} both split every line into "
                f"{scored[0][0][1]} fields (line 1: \"{lines[0][:80]}\"). Set it: "
                f"{client_yml_hint(table, 'sep', a)} or '{yaml_line('sep', b)}'.", path=shown)
        return scored[0][1]
    ws = [len(ln.split()) for ln in lines]
    if ws[0] > 1 and all(c == ws[0] for c in ws):
        return "whitespace"
    return scored[0][1] if scored else ","


_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")


def _normalise_header(name: Any) -> str:
    """A header as matched: invisible characters removed, no-break spaces as spaces, outer spaces and quotes off."""
    text = _INVISIBLE_RE.sub("", str(name)).replace("\u00a0", " ")
    return text.strip().strip('"').strip()


def _default_names(n: int) -> list[str]:
    return [f"column_{k + 1}" for k in range(n)]


def _header_fields(text: str, sep: str, header: int) -> list[str] | None:
    """The header line's fields as written (pandas renames repeats to "amount.1"; cxlab must not)."""
    if sep == "whitespace":
        lines = text.splitlines()
        return lines[header].split() if header < len(lines) else None
    reader = csv.reader(io.StringIO(text[:1_000_000]), delimiter=sep)
    try:
        for k, row in enumerate(reader):
            if k == header:
                return row
    except csv.Error:
        return None
    return None


def _add_notes(report: QualityReport, table: str, shown: str, notes: Sequence[dict]) -> None:
    for n in notes:
        report.add(table, None, n["action"], n.get("count", 0), f"{shown}: {n['message']}", n.get("rows", ()),
                   kind=n.get("kind"))


# ---------------------------------------------------------------------------
# raw readers: return (raw frame with positional index, first_row, row_note, extra SourceInfo fields)
# ---------------------------------------------------------------------------
def _read_text(p: Path, shown: str, encoding: str | None, sep: str | None, header: int | None,
               names: Sequence[str] | None, report: QualityReport, table: str,
               columns: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, dict]:
    try:
        data = p.read_bytes()
    except OSError as e:  # permissions, a FIFO, a file vanishing mid-read
        raise DataQualityError(f"cannot be read ({type(e).__name__}: {e.strerror or e}).", path=shown) from None
    text, used, notes = _decode(data, encoding, shown, table)
    if not text.strip():
        raise DataQualityError("the file holds no data (only blank lines).", path=shown)
    _add_notes(report, table, shown, notes)
    if sep is None:
        sniff = text if not header else "\n".join(text[:1_000_000].splitlines()[header:])
        sep = _detect_sep(sniff, shown, table)
    if sep in ("\\s+", "tab", "\\t"):
        sep = {"\\s+": "whitespace", "tab": "\t", "\\t": "\t"}[sep]
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
        if header == 0 and names is None:
            found = _find_text_header(text, TABLES[table], columns)
            if found is not None and found[0] > 0:
                line = text.splitlines()[found[0]]
                raise _header_line_error(shown, TABLES[table], found[0] + 1, next(csv.reader([line], delimiter=found[1])))
        shown_sep = {"\t": "tab", "whitespace": "whitespace"}.get(sep, repr(sep))
        detail = " ".join(str(e).split())
        raise DataQualityError(
            f"cannot be split into columns with separator {shown_sep}: {detail}. A line with more fields than "
            "the header usually holds an unquoted separator inside a value; if the separator itself is wrong, "
            f"set it: {client_yml_hint(table, 'sep', ';')} (or ',', tab, '|', whitespace).",
            path=shown) from None
    if header is None and names is None:
        raw.columns = _default_names(raw.shape[1])
    elif names is None:
        fields = _header_fields(text.lstrip("\ufeff"), sep, header)
        if fields is not None and len(fields) == raw.shape[1]:
            raw.columns = fields  # as written: repeats stay visible (see _label_headers)
    # Trailing blank lines are not rows; blank lines inside the file are kept so line numbers stay true.
    empty = raw.isna().all(axis=1).to_numpy()
    last = np.flatnonzero(~empty)
    raw = raw.iloc[: (last[-1] + 1 if len(last) else 0)]
    first_row = 1 if header is None else header + 2
    note_ = "line numbers in the file" + ("" if header is None else f", header = line {header + 1}")
    return raw, dict(format="csv", encoding=used, sep=sep, first_row=first_row, row_note=note_, text=text)


#: Largest unpacked size of an .xlsx read (a zip bomb unpacks to far more).
MAX_XLSX_UNPACKED = 4 * 2**30

#: Lines (or sheet rows) searched for the header when the first one is not it.
_HEADER_SEARCH = 30


def _find_header(rows: Sequence[Sequence[Any]], spec: TableSpec, columns: Mapping[str, str] | None) -> int | None:
    """0-based index of the first row whose cells hold the table's required columns, or None."""
    for k, cells in enumerate(rows[:_HEADER_SEARCH]):
        names = [("" if c is None else _normalise_header(c)) for c in cells]
        if len([c for c in names if c]) >= len(spec.required) and _fits(names, spec, columns):
            return k
    return None


def _find_text_header(text: str, spec: TableSpec, columns: Mapping[str, str] | None) -> tuple[int, str] | None:
    """(0-based line, separator) of the header in a text file with lines above it (a title, a period …)."""
    lines = text[:200_000].splitlines()[:_HEADER_SEARCH]
    for sep in _SEPARATORS:
        try:
            rows = list(csv.reader(lines, delimiter=sep))
        except csv.Error:
            continue
        k = _find_header(rows, spec, columns)
        if k is not None:
            return k, sep
    return None


def _header_line_error(shown: str, spec: TableSpec, line: int, cells: Sequence[Any], what: str = "line") -> DataQualityError:
    shown_cells = ", ".join(f'"{_normalise_header(c)}"' for c in list(cells)[:6] if c is not None)
    return DataQualityError(
        f"the columns' header is not on the first {what} but on {what} {line} ({shown_cells}); the {what}s above "
        f"it (a title, a period, notes) are not data. Say where it is: "
        f"{client_yml_hint(spec.name, 'header_line', line)}.", path=shown, table=spec.name, fix={"header_line": line})


def _workbook_sheets(p: Path, shown: str, header: int | None) -> list[tuple[str, list[str], bool, list]]:
    """(name, header cells as written, has a data row, first rows) of every sheet, read as pandas will."""
    import zipfile

    import openpyxl

    try:  # an .xlsx is a zip archive: its unpacked size is known before anything is unpacked
        with zipfile.ZipFile(p) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, OSError) as e:
        raise DataQualityError(f"cannot be read as an Excel workbook (not a valid .xlsx archive: {e}); if it "
                               "is a CSV or an old .xls saved under this name, save it again as .xlsx or CSV.",
                               path=shown) from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise DataQualityError(f"unpacks to {unpacked / 2**30:.1f} GiB, more than the {MAX_XLSX_UNPACKED / 2**30:.0f} "
                               "GiB cxlab reads from a workbook; save the sheet as CSV or Parquet.", path=shown)
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True, keep_links=False)
    except Exception as e:  # zipfile.BadZipFile, openpyxl InvalidFileException, …
        raise DataQualityError(f"cannot be read as an Excel workbook ({type(e).__name__}: {e}).",
                               path=shown) from None
    out = []
    try:
        h = 0 if header is None else header
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows(values_only=True):
                rows.append(row)
                if len(rows) > max(h + 1, _HEADER_SEARCH):
                    break
            cells = [("" if c is None else _normalise_header(c)) for c in (rows[h] if len(rows) > h else ())]
            while cells and cells[-1] == "":
                cells.pop()
            has_data = len(rows) > h + 1 and any(c is not None and str(c).strip() for c in rows[h + 1])
            out.append((ws.title, cells, has_data, rows))
    finally:
        wb.close()
    return out


def _pick_sheet(sheets: list[tuple[str, list[str], bool, list]], sheet: str | int | None, spec: TableSpec,
                columns: Mapping[str, str] | None, shown: str, header: int | None, names: Any,
                report: QualityReport) -> str:
    """The sheet to read: the one asked for, or the first when the evidence says it is the one."""
    titles = [t for t, *_ in sheets]
    listing = "; ".join(f'"{t}" ({"columns " + ", ".join(repr(c) for c in cells[:8]) if cells else "empty"}'
                        f'{", …" if len(cells) > 8 else ""})' for t, cells, *_ in sheets)
    if sheet is not None:
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if str(sheet) in titles:
                if 0 <= sheet < len(titles) and titles[sheet] != str(sheet):
                    raise DataQualityError(
                        f'sheet: {sheet} could mean the sheet named "{sheet}" or the sheet at position {sheet} '
                        f'("{titles[sheet]}", counting from 0); give the name in quotes, e.g. '
                        f"{client_yml_hint(spec.name, 'sheet', str(sheet))}.", path=shown, table=spec.name)
                return str(sheet)
            if 0 <= sheet < len(titles):
                return titles[sheet]
            raise DataQualityError(f"has no sheet number {sheet} (counting from 0); sheets: {listing}.",
                                   path=shown, table=spec.name)
        if str(sheet) not in titles:
            raise DataQualityError(f'has no sheet "{sheet}" (the sheet setting); sheets: {listing}.',
                                   path=shown, table=spec.name)
        return str(sheet)
    first = titles[0]
    if header is None or names is not None:
        return first
    fits = [t for t, cells, has_data, _ in sheets if has_data and _fits(cells, spec, columns)]
    if len(sheets) == 1 and (fits or header != 0):
        return first
    others = [t for t in titles if t != first]
    if fits == [first]:
        report.add(spec.name, None, "info", 0, f'{shown}: read sheet "{first}", the only one with the '
                   f"{spec.name} columns; other sheets ignored: " + ", ".join(f'"{t}"' for t in others) + ".",
                   kind="sheet")
        return first
    need = ", ".join(spec.required)
    if len(fits) > 1:
        raise DataQualityError(
            "several sheets hold the " + spec.name + " columns (" + ", ".join(f'"{t}"' for t in fits)
            + ") and cxlab reads one sheet per table; choose one with "
            + client_yml_hint(spec.name, "sheet", fits[0]) + ", or put all rows on one sheet. Sheets: "
            + listing + ".", path=shown, table=spec.name)
    if fits:
        raise DataQualityError(
            f'the first sheet ("{first}") does not hold the {spec.name} columns ({need}) but sheet '
            f'"{fits[0]}" does; {client_yml_hint(spec.name, "sheet", fits[0])}. Sheets: {listing}.',
            path=shown, table=spec.name, fix={"sheet": fits[0]})
    for t, _, _, rows in sheets:  # the header below a title row?
        k = _find_header(rows, spec, columns) if header == 0 else None
        if k:  # found, and not on the first row
            hint = "" if t == first else f"{client_yml_hint(spec.name, 'sheet', t)} and "
            raise DataQualityError(
                f'sheet "{t}" holds the {spec.name} columns on row {k + 1}, not row 1 ('
                + ", ".join(f'"{_normalise_header(c)}"' for c in rows[k][:6] if c is not None)
                + f"); the rows above it are not data. Say where they are: {hint}"
                + client_yml_hint(spec.name, "header_line", k + 1) + ".", path=shown, table=spec.name,
                fix={"header_line": k + 1} if t == first else {"sheet": t, "header_line": k + 1})
    if len(sheets) == 1:
        return first  # the column mapping names what is missing
    raise DataQualityError(
        f"no sheet holds the {spec.name} columns ({need}); sheets: {listing}. Choose the sheet with "
        f"{client_yml_hint(spec.name, 'sheet', first)} and map its headers with 'columns:' "
        f"(e.g. 'columns: {{\"Client header\": {spec.required[0]}}}').", path=shown, table=spec.name)


def _read_excel(p: Path, shown: str, sheet: str | int | None, header: int | None,
                names: Sequence[str] | None, spec: TableSpec, columns: Mapping[str, str] | None,
                report: QualityReport) -> tuple[pd.DataFrame, dict]:
    import openpyxl  # noqa: F401  (fail here with a clear message if missing)

    sheets = _workbook_sheets(p, shown, header)
    if not sheets:
        raise DataQualityError("is an Excel workbook without sheets.", path=shown)
    sheet_name = _pick_sheet(sheets, sheet, spec, columns, shown, header, names, report)
    try:
        # keep_default_na=False: "n/a" or "NULL" typed into a cell is reported, not silently blanked.
        raw = pd.read_excel(p, sheet_name=sheet_name, header=header, names=names, dtype=object,
                            keep_default_na=False, na_values=[""],
                            engine="openpyxl")
    except Exception as e:  # zipfile.BadZipFile, openpyxl InvalidFileException, …
        raise DataQualityError(f"cannot be read as an Excel workbook ({type(e).__name__}: {e}).",
                               path=shown) from None
    if header is None and names is None:
        raw.columns = _default_names(raw.shape[1])
    elif names is None:
        cells = next(c for t, c, *_ in sheets if t == sheet_name)
        if len(cells) == raw.shape[1]:  # as written (pandas renames a repeated header to "amount.1")
            raw.columns = [c if c else str(old) for c, old in zip(cells, raw.columns)]
    raw = raw.reset_index(drop=True)
    first_row = 1 if header is None else header + 2
    note_ = "sheet row numbers" + ("" if header is None else f", header = row {header + 1}")
    return raw, dict(format="excel", sheet=sheet_name, first_row=first_row, row_note=note_)


def _read_parquet(p: Path, shown: str) -> tuple[pd.DataFrame, dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        tbl = pq.ParquetFile(p).read()  # not the dataset reader: it refuses repeated column names
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
    raw.columns = list(tbl.schema.names)
    # The Arrow table is kept for the duplicate check (strings share its buffers: no copy).
    return raw, dict(format="parquet", first_row=1, row_note="1-based row numbers", arrow=tbl)


# ---------------------------------------------------------------------------
# column mapping
# ---------------------------------------------------------------------------
def _label_headers(headers: Sequence[Any]) -> tuple[list[str], dict[str, list[str]]]:
    """Unique labels for the file's headers, and the repeated ones.

    A header written twice ("amount", "amount") cannot be told apart by name,
    so each copy is labelled by position — ``"amount (column 3)"``,
    ``"amount (column 5)"`` — which is also how ``columns:`` can name one of
    them.  Blank headers become ``column_<k>``.
    """
    norm = [_normalise_header(h) for h in headers]
    counts: dict[str, int] = {}
    for h in norm:
        counts[h] = counts.get(h, 0) + 1
    labels: list[str] = []
    groups: dict[str, list[str]] = {}
    for k, h in enumerate(norm):
        if not h or h.startswith("Unnamed: "):
            labels.append(f"column_{k + 1}")
        elif counts[h] > 1:
            label = f"{h} (column {k + 1})"
            labels.append(label)
            groups.setdefault(h, []).append(label)
        else:
            labels.append(h)
    return labels, groups


def _resolve(labels: Sequence[str], groups: Mapping[str, list[str]], spec: TableSpec,
             columns: Mapping[str, str] | None) -> tuple[dict[str, str], list[str], dict[str, list[str]]]:
    """(contract → label, mapped names not in the file, contract → labels it could be) — never a pick."""
    given = {_normalise_header(k): str(v).strip() for k, v in (columns or {}).items()}
    result: dict[str, str] = {}
    missing: list[str] = []
    ambiguous: dict[str, list[str]] = {}

    def candidates(name: str, exclude: set[str]) -> list[str]:
        fold = name.casefold()
        found = [lab for lab in labels if lab.casefold() == fold and lab not in exclude]
        for g, members in groups.items():
            if g.casefold() == fold:
                found.extend(m for m in members if m not in exclude)
        return found

    for client, target in given.items():
        if client in labels:
            result[target] = client
            continue
        found = candidates(client, set())
        if len(found) == 1:
            result[target] = found[0]
        elif found:
            ambiguous[target] = found
        else:
            missing.append(client)
    used = set(result.values())
    # family members (rating_<attribute>) are named by the headers themselves, in their contract spelling
    members = [m for m in dict.fromkeys(spec.member_name(h) for h in [*labels, *groups]) if m]
    for name in [c.name for c in spec.columns] + members:
        if name in result or name in ambiguous or name in given.values():
            continue
        found = candidates(name, used)
        if len(found) == 1:
            result[name] = found[0]
            used.add(found[0])
        elif found:
            ambiguous[name] = found
    return result, missing, ambiguous


def _fits(cells: Sequence[str], spec: TableSpec, columns: Mapping[str, str] | None) -> bool:
    """Whether headers ``cells`` hold every required column of ``spec`` (under the mapping)."""
    labels, groups = _label_headers(cells)
    result, missing, ambiguous = _resolve(labels, groups, spec, columns)
    return not missing and all(c in result or c in ambiguous for c in spec.required)


def _column_number(label: str, labels: Sequence[str]) -> int:
    return labels.index(label) + 1


def _map_columns(headers: Sequence[str], spec: TableSpec, columns: Mapping[str, str] | None,
                 shown: str, raw: pd.DataFrame | None = None,
                 groups: Mapping[str, list[str]] | None = None) -> tuple[dict[str, str], list[str]]:
    """Contract → client column mapping, and the client columns left unused.

    ``headers`` are the labels of :func:`_label_headers`; ``groups`` its
    repeated headers.  Two columns that could be the same contract column (a
    repeated header, or "Amount" next to "amount") stop the load with both
    positions and example values: choosing one would be a guess.
    """
    groups = dict(groups or {})
    mapping_given = {_normalise_header(k): str(v).strip() for k, v in (columns or {}).items()}
    hint_where = f"'data.{spec.name}:'"

    def describe() -> str:
        found = ", ".join(f'"{h}"' for h in headers) or "(none)"
        used = ", ".join(f'"{k}" → {v}' for k, v in mapping_given.items()) or "(none: headers must be contract names)"
        return f"columns found in the file: {found}; mapping used (columns:): {used}"

    def map_hint(label: str, target: str) -> str:
        if mapping_given:
            return f"add '{yaml_line(label, target)}' to the 'columns:' mapping under {hint_where} in client.yml"
        return client_yml_hint(spec.name, "columns", {label: target})

    unknown_targets = sorted({v for v in mapping_given.values() if not spec.accepts(v)})
    if unknown_targets:
        raise DataQualityError(
            f"columns: maps to {', '.join(map(repr, unknown_targets))}, not columns of the "
            f"{spec.name} table; valid names: {', '.join(spec.valid_names())}.", path=shown, table=spec.name)
    targets = list(mapping_given.values())
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise DataQualityError(
            f"columns: maps several client columns onto {', '.join(map(repr, twice))}; map one each. "
            + describe(), path=shown, table=spec.name)
    result, missing_sources, ambiguous = _resolve(headers, groups, spec, columns)
    if missing_sources:
        raise DataQualityError(
            "columns: names client columns that are not in the file: "
            + ", ".join(f'"{c}"' for c in missing_sources) + ". " + describe(),
            path=shown, table=spec.name)
    if ambiguous:
        target, labels = next(iter(ambiguous.items()))
        parts = []
        for label in labels:
            values = ""
            if raw is not None and label in raw.columns:
                vals = raw[label].dropna().astype(str).head(3).tolist()
                values = " holds " + (", ".join(f'"{v}"' for v in vals) if vals else "nothing")
            parts.append(f"column {_column_number(label, headers)}{values}")
        repeated = [g for g, members in groups.items() if set(labels) <= set(members)]
        what = (f'the header "{repeated[0]}" appears {len(labels)} times' if repeated else
                "the headers " + ", ".join(f'"{lab}"' for lab in labels) + f" all match {target}")
        raise DataQualityError(
            f"{what} ({'; '.join(parts)}), and cxlab cannot tell which one is {target}. Say which: "
            f"{map_hint(labels[0], target)} (the other is then ignored), or rename the headers in the file.",
            path=shown, table=spec.name, column=target, fix={"columns": {**mapping_given, labels[0]: target}})
    used_twice = sorted({h for h in result.values() if list(result.values()).count(h) > 1})
    if used_twice:
        onto = [name for name, h in result.items() if h == used_twice[0]]
        raise DataQualityError(
            f'the header "{used_twice[0]}" is mapped onto {" and ".join(onto)} (columns: names it twice, e.g. '
            "in different letter case); map each file column once.", path=shown, table=spec.name)
    used_clients = set(result.values())
    missing = [c for c in spec.required if c not in result]
    if missing:
        raise DataQualityError(
            f"required {spec.name} column(s) missing: {', '.join(missing)}. " + describe()
            + f". Map the client's header onto each: {map_hint('Client header', missing[0])}.",
            path=shown, table=spec.name, column=missing[0])
    ordered = {c.name: result[c.name] for c in spec.columns_for(result) if c.name in result}
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
    timezone: str | None = None,
    strip_leading_zeros: bool = False,
    header_line: int | None = None,
) -> LoadedTable:
    """Read one client file into a contract table, validating every value.

    Parameters
    ----------
    path : str or Path
        CSV/text (``.csv .txt .tsv .dat``), Excel (``.xlsx .xlsm``) or Parquet
        (``.parquet .pq``) file.
    table : {"transactions", "customers", "surveys", "campaigns"}
        Contract table the file holds.
    columns : dict, optional
        Client header → contract name, e.g. ``{"Сумма": "amount"}``.  Headers
        equal to contract names (ignoring case) need no entry; unmapped
        columns are ignored (listed in ``source.ignored_columns``).
    encoding : str, optional
        Text files.  Detected by default, never guessed: UTF-8 (with or
        without BOM) or UTF-16 with a BOM; otherwise the one single-byte
        encoding (Windows-1251, -1252, -1250) in which the text reads as real
        words (an ``info`` issue).  A UTF-8 file with a few lines in another
        encoding has those lines re-read only when their words also occur in
        the UTF-8 lines (a ``repaired`` issue); else the load stops, showing
        the lines, their bytes and each reading.
    sep : str, optional
        Text files: ``";"``, ``","``, ``"\\t"`` (or ``"tab"``), ``"|"`` or
        ``"whitespace"`` (runs of spaces, as in CDNOW).  Detected by default;
        two separators that split every line alike stop the load.
    decimal : {".", ","}, optional
        Decimal mark of numeric columns; detected per column by default
        ("1 234,50" → comma; spaces, non-breaking spaces and apostrophes are
        thousands separators).  A column whose marked values are all single
        three-digit groups ("3.201": 3 201 or 3.201?) takes the mark another
        numeric column of the file proves, or stops the load.
    dayfirst : bool, optional
        Order of ``31.12.2024``-style dates when the values do not decide it.
    sheet : str or int, optional
        Excel sheet, by name (or 0-based position).  By default the first
        sheet, provided it is the only one holding the table's columns;
        otherwise the load stops, listing the sheets.
    today : date-like, optional
        Dates after this day are an error (default: today).
    date_format : str or dict, optional
        ``strftime`` format for all date columns, or contract column → format,
        e.g. ``"%Y%m%d"``.
    header : int or None, default 0
        Text and Excel: line (0-based) holding the column names; ``None`` when
        the file has no header (then give ``names`` or use ``column_1``,
        ``column_2``, …).
    header_line : int, optional
        The same as a 1-based line (or sheet row) number, as client.yml
        writes it (``header_line: 4`` when three title lines come first).
        When the header is not on the first line and this is not given, the
        load stops naming the line where the columns are.
    names : list of str, optional
        Column names to use instead of the file's header.
    timezone : str, optional
        IANA name of the zone date-times are counted in (``"Europe/Moscow"``).
        Values with an offset are converted to it (default UTC), each counted
        as ``repaired``; values without one are taken as already in it.  A
        column mixing both needs it (otherwise the load stops).
    strip_leading_zeros : bool, default False
        Remove leading zeros of ``customer_id`` ("00123" → "123"), for a table
        whose ids were zero-padded while another table's lost the zeros (an
        Excel number column); refused if two ids would become one.
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
    if decimal not in (None, ".", ","):
        raise ValueError(f"decimal must be '.', ',' or None, got {decimal!r}")
    if dayfirst is not None and not isinstance(dayfirst, (bool, np.bool_)):
        raise ValueError(f"dayfirst must be True, False or None, got {dayfirst!r}")
    timezone = check_timezone(timezone)
    if header_line is not None:
        if isinstance(header_line, bool) or not isinstance(header_line, (int, np.integer)) or header_line < 1:
            raise ValueError(f"header_line must be a line number from 1, got {header_line!r}")
        header = int(header_line) - 1
    spec = TABLES[table]
    p, shown = _check_path(path)
    report = QualityReport()
    suffix = p.suffix.lower()
    if suffix in TEXT_EXTENSIONS:
        raw, info = _read_text(p, shown, encoding, sep, header, names, report, table, columns)
    elif suffix in EXCEL_EXTENSIONS:
        raw, info = _read_excel(p, shown, sheet, header, names, spec, columns, report)
    else:
        raw, info = _read_parquet(p, shown)
    labels, groups = _label_headers(list(raw.columns))
    raw.columns = labels
    if len(raw) == 0:
        raise DataQualityError(
            "has a header but no data rows" + (f" (columns: {', '.join(raw.columns)})" if len(raw.columns) else "")
            + ".", path=shown, table=table)
    text = info.pop("text", None)
    try:
        mapping, ignored = _map_columns(labels, spec, columns, shown, raw, groups)
    except DataQualityError:
        if text is not None and header == 0 and names is None:
            found = _find_text_header(text, spec, columns)
            if found is not None and found[0] > 0:
                line = text.splitlines()[found[0]]
                raise _header_line_error(shown, spec, found[0] + 1,
                                         next(csv.reader([line], delimiter=found[1])), "line") from None
        raise
    ctx = TableContext(path=shown, table=table, first_row=info.pop("first_row"), row_note=info.pop("row_note"),
                       total_rows=len(raw), client_names=dict(mapping), report=report)
    if ignored:
        ctx.issue(None, "info", "columns not in the contract were ignored: "
                  + ", ".join(f'"{c}"' for c in ignored) + ".", rows_count=0, kind="columns")

    # Blank lines inside the file: dropped, but reported (their line numbers stay correct).
    arrow_table = info.pop("arrow", None)
    empty = raw.isna().all(axis=1).to_numpy()
    if empty.any():
        ctx.issue(None, "dropped", f"{int(empty.sum()):,} empty rows dropped.", raw.index[empty], kind="empty_rows")
        raw = raw[~empty]
        arrow_table = None if arrow_table is None else arrow_table.filter(~empty)

    renamed = raw[list(mapping.values())].copy()
    renamed.columns = list(mapping.keys())
    frame = validate_frame(renamed, spec, ctx, decimal=decimal, dayfirst=dayfirst, date_format=date_format,
                           sep=info.get("sep"), excel=info["format"] == "excel", today=today, timezone=timezone)
    if strip_leading_zeros:
        _strip_id_zeros(frame, ctx, raw)

    dup = exact_duplicates(raw, arrow_table, parsed=frame)
    if duplicates == "auto":
        duplicates = "keep" if table == "transactions" and "order_id" not in frame.columns else "drop"
    if dup.any():
        n = int(dup.sum())
        where = ctx.where(raw.index[dup], n)
        if duplicates == "drop":
            ctx.issue(None, "dropped", f"{n:,} exact duplicate rows dropped ({where}).", raw.index[dup],
                      kind="duplicates")
            frame = frame[~dup]
        else:
            ctx.issue(None, "flagged", f"{n:,} rows repeat an earlier row exactly; kept, as the log has no "
                      f"order id to tell a double entry from a second equal purchase ({where}).", raw.index[dup],
                      kind="duplicates")
    check_unique_key(frame, ctx, spec.key)

    if table == "transactions":
        is_return = (frame["amount"] < 0).to_numpy()
        frame["is_return"] = is_return
        if is_return.any():
            n = int(is_return.sum())
            ctx.issue("amount", "flagged", f"{n:,} returns (negative amount) kept and flagged in is_return "
                      f"({ctx.where(frame.index[is_return], n)}).", frame.index[is_return], kind="returns")

    rows = ctx.file_rows(frame.index)
    frame.index = pd.RangeIndex(len(frame))
    source = SourceInfo(path=shown, columns=dict(mapping), ignored_columns=ignored, row_numbers=rows,
                        row_note=ctx.row_note, rows_read=ctx.total_rows, **info)
    return LoadedTable(frame=frame, quality=report, source=source)


def _strip_id_zeros(frame: pd.DataFrame, ctx: TableContext, raw: pd.DataFrame) -> None:
    """``strip_leading_zeros``: "00123" → "123" in customer_id, refusing ids that would merge."""
    ids = frame["customer_id"]
    stripped = ids.str.replace(r"^0+(?=.)", "", regex=True)
    changed = (stripped != ids).to_numpy() & ids.notna().to_numpy()
    if not changed.any():
        return
    pairs = pd.DataFrame({"old": ids, "new": stripped}).dropna().drop_duplicates()
    merged = pairs[pairs.duplicated("new", keep=False)]
    if len(merged):
        first = merged["new"].iloc[0]
        olds = merged.loc[merged["new"] == first, "old"].tolist()
        mask = stripped.eq(first).to_numpy()
        raise ctx.error("customer_id", mask, ids, "", "strip_leading_zeros would merge different customers: "
                        + ", ".join(f'"{o}"' for o in olds[:4]) + f' all become "{first}"; remove '
                        "'strip_leading_zeros: true' and make the ids agree in the files instead")
    frame["customer_id"] = stripped
    n = int(changed.sum())
    ctx.issue("customer_id", "repaired", f'{n:,} customer_id values lost their leading zeros '
              f'(strip_leading_zeros), e.g. "{ids[changed].iloc[0]}" → "{stripped[changed].iloc[0]}".',
              frame.index[changed], kind="unknown_ids")


def _cross_issue(report: QualityReport, table: str, column: str, src: SourceInfo | None, mask: np.ndarray,
                 what: str, kind: str | None = None, action: str = "flagged") -> None:
    n = int(mask.sum())
    if n == 0:
        return
    if src is not None and len(src.row_numbers) == len(mask):
        rows = src.row_numbers[mask][:10]
        where = f" ({'row' if n == 1 else 'rows'} {', '.join(map(str, rows[:8]))}{', …' if n > 8 else ''}; {src.row_note})"
        prefix = f"{src.path}: "
    else:
        rows, where, prefix = (), "", ""
    report.add(table, column, action, n, f"{prefix}{n:,} {what}{where}.", rows, kind=kind)


#: Ways two tables' customer ids can be written differently, with the client.yml repair if there is one.
_ID_FORMS = (
    ("leading zeros are ignored", lambda x: x.lstrip("0") or "0"),
    ("letter case is ignored", str.casefold),
    ("spaces or dashes inside are ignored", lambda x: "".join(ch for ch in x if ch not in " -_\u00a0")),
    ("a decimal part \".0\" is dropped", lambda x: x[:-2] if x.endswith(".0") and x[:-2].isdigit() else x),
)


def _check_id_formats(a: str, a_ids: pd.Series, b: str, b_ids: pd.Series, sources: Mapping[str, SourceInfo]
                      ) -> None:
    """Stop when the customer ids of two tables do not meet — above all when they would after a format change.

    Zero-padded ids in a CSV ("00123") against an Excel number column that lost
    the zeros ("123") make every row of one table "absent" from the other; the
    analyses would then run on nothing, or blame something else.
    """
    ua = pd.unique(a_ids.dropna().astype(str))
    ub = pd.unique(b_ids.dropna().astype(str))
    if len(ua) == 0 or len(ub) == 0:
        return
    b_set = set(ub)
    met = float(np.mean([x in b_set for x in ua]))
    if met >= 0.5:
        return
    name = {k: (sources[k].path if k in sources else f"the {k} table") for k in (a, b)}
    for form, f in _ID_FORMS:
        fb = {f(x) for x in ub}
        met_after = float(np.mean([f(x) in fb for x in ua]))
        if met_after >= 0.5 and met_after >= met + 0.25:
            pairs = []
            by_form = {}
            for x in ub:
                by_form.setdefault(f(x), x)
            for x in ua:
                if x not in b_set and f(x) in by_form:
                    pairs.append(f'"{x}" ({a}) = "{by_form[f(x)]}" ({b})')
                if len(pairs) == 3:
                    break
            advice = "make the ids agree in the files"
            if form.startswith("a decimal part"):
                advice = ("export the ids as text (they were written as decimal numbers, \"123.0\"), so that "
                          "both tables write them alike")
            if form.startswith("leading zeros"):
                padded = [t for t, ids in ((a, ua), (b, ub))
                          if np.mean([len(x) > 1 and x.startswith("0") for x in ids]) > 0.0]
                advice = " and ".join(client_yml_hint(t, "strip_leading_zeros", True) for t in padded) + (
                    " (or keep the zeros in both files: store the ids as text, not numbers)")
            raise DataQualityError(
                f"customer_id formats differ between {name[a]} and {name[b]}: only {met:.0%} of the {len(ua):,} "
                f"ids in {a} appear in {b}, but {met_after:.0%} do once {form} — e.g. "
                + "; ".join(pairs) + f". Every analysis joining the two would silently lose those customers; "
                f"{advice}.", table=a, column="customer_id")
    if met == 0.0:
        raise DataQualityError(
            f"no customer_id of {name[a]} appears in {name[b]} (e.g. \"{ua[0]}\" in {a}, \"{ub[0]}\" in {b}): "
            "the two tables do not describe the same customers, or their columns: mappings point at different "
            "identifiers (a card number in one, a client number in the other).", table=a, column="customer_id")


def check_client_data(transactions: pd.DataFrame | None, customers: pd.DataFrame | None = None,
                      surveys: pd.DataFrame | None = None, sources: Mapping[str, SourceInfo] | None = None,
                      campaigns: pd.DataFrame | None = None) -> QualityReport:
    """Cross-table checks; problems are flagged (rows kept), never dropped.

    * the tables' customer ids must meet: ids that match only once leading
      zeros, letter case or inner spaces are ignored, or that do not meet at
      all, stop the load (:class:`DataQualityError`);
    * transactions dated (by calendar day) before the customer's ``signup_date``;
    * transaction and survey ``customer_id`` values absent from customers;
    * ``loyalty_join_date`` before ``signup_date``;
    * campaign customers absent from the transaction log (they bought
      nothing, so they cannot be sleeping customers: the reactivation
      analyses leave them out) or from the customers table.
    """
    sources = dict(sources or {})
    report = QualityReport()
    if campaigns is not None:
        _check_campaign_ids(report, transactions, customers, campaigns, sources)
    if customers is None:
        if transactions is not None and surveys is not None:
            _check_id_formats("surveys", surveys["customer_id"], "transactions", transactions["customer_id"],
                              sources)
        return report
    if transactions is not None:
        _check_id_formats("transactions", transactions["customer_id"], "customers", customers["customer_id"],
                          sources)
    if surveys is not None:
        _check_id_formats("surveys", surveys["customer_id"], "customers", customers["customer_id"], sources)
    ids = pd.Index(customers["customer_id"])
    if transactions is not None:  # None: the log lives in an engine (see load_client_data)
        tx_unknown = ~transactions["customer_id"].isin(ids).to_numpy()
        n_cust = transactions.loc[tx_unknown, "customer_id"].nunique()
        _cross_issue(report, "transactions", "customer_id", sources.get("transactions"), tx_unknown,
                     f"transactions of {n_cust:,} customer_id(s) absent from the customers table", "unknown_ids")
    if surveys is not None:
        sv_unknown = ~surveys["customer_id"].isin(ids).to_numpy()
        n_sv = surveys.loc[sv_unknown, "customer_id"].nunique()
        _cross_issue(report, "surveys", "customer_id", sources.get("surveys"), sv_unknown,
                     f"survey answers of {n_sv:,} customer_id(s) absent from the customers table", "unknown_ids")
    if "signup_date" in customers.columns:
        if transactions is not None:
            signup = customers.set_index("customer_id")["signup_date"]
            tx_signup = transactions["customer_id"].map(signup)
            before = (transactions["timestamp"].dt.normalize() < tx_signup.dt.normalize()).to_numpy()
            _cross_issue(report, "transactions", "timestamp", sources.get("transactions"), before,
                         "transactions dated before the customer's signup_date", "before_signup")
        if "loyalty_join_date" in customers.columns:
            early = (customers["loyalty_join_date"].dt.normalize()
                     < customers["signup_date"].dt.normalize()).to_numpy()
            _cross_issue(report, "customers", "loyalty_join_date", sources.get("customers"), early,
                         "customers joined the loyalty program before their signup_date", "loyalty_before_signup")
    return report


def _check_campaign_ids(report: QualityReport, transactions: pd.DataFrame | None, customers: pd.DataFrame | None,
                        campaigns: pd.DataFrame, sources: Mapping[str, SourceInfo]) -> None:
    ids = campaigns["customer_id"]
    for other, frame in (("transactions", transactions), ("customers", customers)):
        if frame is None:
            continue
        _check_id_formats("campaigns", ids, other, frame["customer_id"], sources)
        unknown = ~ids.isin(pd.Index(pd.unique(frame["customer_id"]))).to_numpy()
        what = ("campaign rows of {n:,} customer_id(s) absent from the transaction log: they bought nothing in "
                "it, so they cannot be sleeping customers and are left out of the campaign evaluation"
                if other == "transactions" else "campaign rows of {n:,} customer_id(s) absent from the customers table")
        _cross_issue(report, "campaigns", "customer_id", sources.get("campaigns"), unknown,
                     what.format(n=ids[unknown].nunique()), "unknown_ids")


def _money(v: float) -> str:
    return f"{v:,.2f}" if abs(v) < 1e15 else f"{v:.3e}"


def _returns_only_customers(ids: pd.Series, amount: np.ndarray, in_window: np.ndarray) -> list:
    """Customers with a return and no purchase in the window (hash lookups in Arrow, no group-by)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    neg = (amount < 0) & in_window
    if not neg.any():
        return []
    values = ids.to_numpy(dtype=object)
    neg_ids = pa.array(pd.unique(values[neg]), type=pa.string())
    pos_ids = pa.array(values[(amount > 0) & in_window], type=pa.string())
    bought = pc.unique(pos_ids.filter(pc.is_in(pos_ids, value_set=neg_ids)))
    return neg_ids.filter(pc.invert(pc.is_in(neg_ids, value_set=bought))).to_pylist()


def check_values(transactions: pd.DataFrame | None, surveys: pd.DataFrame | None = None,
                 sources: Mapping[str, SourceInfo] | None = None, observation_end: Any = None,
                 quality: QualityReport | None = None, campaigns: pd.DataFrame | None = None
                 ) -> tuple[QualityReport, ValueChecks]:
    """Sanity checks on values that could dominate or distort a headline; rows are flagged, never dropped.

    * transactions (survey answers, campaign messages) dated after ``observation_end``:
      counted, since every analysis leaves them out; none inside the window
      at all is an error;
    * outlying amounts (:func:`cxlab.data.quality.amount_outliers`), with
      their share of gross revenue;
    * customers whose only transactions are returns.

    ``quality`` (the tables' own issues) supplies the implausible-date counts.
    Returns the new issues and a :class:`ValueChecks`.
    """
    sources = dict(sources or {})
    report = QualityReport()
    checks = ValueChecks()
    obs = None if observation_end is None else pd.Timestamp(observation_end).normalize()
    checks.observation_end = obs
    if quality is not None:
        for issue in quality.select(kind="implausible_date"):
            key = f"{issue.table}.{issue.column}"
            checks.implausible_dates[key] = checks.implausible_dates.get(key, 0) + issue.rows_count
    if transactions is None:
        return report, checks
    src = sources.get("transactions")
    in_window = np.ones(len(transactions), dtype=bool)
    if obs is not None and len(transactions):
        day = transactions["timestamp"].dt.normalize()
        late = (day > obs).to_numpy()
        if late.all():
            raise DataQualityError(
                f"observation_end {obs:%Y-%m-%d} is before every transaction (the first is dated "
                f"{transactions['timestamp'].min():%Y-%m-%d}): the study window holds no data. Set "
                "observation_end under 'parameters:' in client.yml to a date within the log.",
                path=src.path if src else None, table="transactions", column="timestamp")
        if late.any():
            last = transactions.loc[late, "timestamp"].max()
            _cross_issue(report, "transactions", "timestamp", src, late,
                         f"transactions dated after observation_end {obs:%Y-%m-%d} (the latest {last:%Y-%m-%d}) "
                         "are outside the study window: kept in the table, left out of every analysis",
                         "out_of_window")
            checks.out_of_window = int(late.sum())
        in_window = ~late
        if surveys is not None and len(surveys):
            s_late = (surveys["date"].dt.normalize() > obs).to_numpy()
            _cross_issue(report, "surveys", "date", sources.get("surveys"), s_late,
                         f"survey answers dated after observation_end {obs:%Y-%m-%d} are outside the study window",
                         "out_of_window")
        if campaigns is not None and len(campaigns):
            c_late = (campaigns["sent_at"].dt.normalize() > obs).to_numpy()
            _cross_issue(report, "campaigns", "sent_at", sources.get("campaigns"), c_late,
                         f"campaign messages sent after observation_end {obs:%Y-%m-%d} are outside the study window",
                         "out_of_window")
    amount = transactions["amount"].to_numpy(dtype="float64")
    mask, rz, share = amount_outliers(amount)
    if mask.any():
        rows = src.row_numbers if src is not None and len(src.row_numbers) == len(amount) else \
            np.arange(len(amount)) + 1
        idx = np.flatnonzero(mask)
        checks.outliers = pd.DataFrame({
            "row": rows[idx], "customer_id": transactions["customer_id"].to_numpy()[idx],
            "timestamp": transactions["timestamp"].to_numpy()[idx], "amount": amount[idx],
            "robust_z": rz[idx], "revenue_share": share[idx]}, index=idx)
        checks.outlier_revenue_share = float(share[idx].sum())
        order = idx[np.argsort(-amount[idx])]
        examples = ", ".join(f"{_money(amount[i])} (row {rows[i]})" for i in order[:5])
        dominated = checks.dominates()
        _cross_issue(report, "transactions", "amount", src, mask,
                     f"extreme amount{'s' if len(idx) > 1 else ''} ({examples}{', …' if len(idx) > 5 else ''}; "
                     f"more than {OUTLIER_Z:g} robust deviations above the typical amount on a log scale, or over "
                     f"{OUTLIER_SHARE:.0%} of revenue each), holding {checks.outlier_revenue_share:.1%} of gross "
                     "revenue" + ("; revenue, lifetime value and ABC figures are dominated by them — check these "
                                  "values" if dominated else ""), "outlier")
    if len(transactions):
        only = _returns_only_customers(transactions["customer_id"], amount, in_window)
        if len(only):
            rows_mask = (amount <= 0) & in_window  # only returns (or zero rows) can be theirs
            rows_mask[rows_mask] = transactions["customer_id"][rows_mask].isin(only).to_numpy()
            checks.returns_only = [str(x) for x in only]
            checks.returns_only_rows = int(rows_mask.sum())
            ex = ", ".join(f'"{x}"' for x in checks.returns_only[:5])
            _cross_issue(report, "transactions", "customer_id", src, rows_mask,
                         f"transactions of {len(only):,} customer{'s' if len(only) > 1 else ''} whose only "
                         f"transactions are returns ({ex}{', …' if len(only) > 5 else ''}): no purchase of "
                         "theirs is in the log (bought before it began?); their returns reduce revenue",
                         "returns_only")
    return report, checks


def load_client_data(tables: Mapping[str, Mapping[str, Any] | str | Path], *,
                     observation_end: Any = None) -> ClientData:
    """Read a client's tables and check them against each other.

    Parameters
    ----------
    tables : dict
        ``{"transactions": {...}, "customers": {...}, "surveys": {...},
        "campaigns": {...}}``; each
        value holds :func:`read_table` keyword arguments including ``path``
        (a bare path is accepted too).  ``transactions`` is required; it may
        instead be a source spec with an ``engine`` key (see
        :func:`cxlab.data.engines.connect_source`), which stays in its engine
        and comes back as an Ibis table.
    observation_end : date-like, optional
        End of the study window (the ``observation_end`` parameter): rows
        dated after it are counted in the quality report (the analyses leave
        them out), and a window holding no transaction is an error.

    Returns
    -------
    ClientData
        The frames, one :class:`QualityReport` with every table's issues
        followed by the cross-table and value checks (see
        :func:`check_client_data`, :func:`check_values`), and the value
        findings as data in ``checks``.

    Raises
    ------
    DataQualityError
        From :func:`read_table`, for an unknown table name, for customer ids
        that do not meet across tables, or for an empty study window.
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

            try:
                engine_tx = connect_source(spec)
            except Exception as exc:  # noqa: BLE001 - an engine's errors reach the user as one data message
                where = spec.get("path") or spec.get("table") or spec.get("url") or "the source"
                raise DataQualityError(f"the transactions source ({spec.get('engine')}: {where}) cannot be read: "
                                       f"{type(exc).__name__}: {exc}", table="transactions") from None
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
                    "checked and the engine counted rows outside the window, implausible dates and the "
                    "largest amount's share of revenue; the other row-level checks (duplicates, returns, signup, "
                    "outliers by robust scale) were not run.", kind="engine")
        quality = quality.merge(check_client_data(None, frames.get("customers"), frames.get("surveys"), sources,
                                                  frames.get("campaigns")))
        extra, checks = check_values(None, frames.get("surveys"), sources, observation_end, quality)
        quality = quality.merge(extra).merge(_engine_checks(engine_tx, observation_end, checks))
        return ClientData(transactions=engine_tx, customers=frames.get("customers"),
                          surveys=frames.get("surveys"), quality=quality, sources=sources, checks=checks,
                          campaigns=frames.get("campaigns"))
    quality = quality.merge(check_client_data(frames["transactions"], frames.get("customers"),
                                              frames.get("surveys"), sources, frames.get("campaigns")))
    extra, checks = check_values(frames["transactions"], frames.get("surveys"), sources, observation_end, quality,
                                 frames.get("campaigns"))
    quality = quality.merge(extra)
    return ClientData(transactions=frames["transactions"], customers=frames.get("customers"),
                      surveys=frames.get("surveys"), quality=quality, sources=sources, checks=checks,
                      campaigns=frames.get("campaigns"))


def _engine_checks(table: Any, observation_end: Any, checks: ValueChecks) -> QualityReport:
    """The value checks an engine can run in one aggregation: window, implausible dates, the largest amount."""
    import ibis

    from cxlab.data.validate import EARLIEST_PLAUSIBLE

    report = QualityReport()
    ts, amount = table["timestamp"], table["amount"]
    metrics = {
        "rows": table.count(), "first": ts.min(), "last": ts.max(),
        "early": (ts < ibis.literal(EARLIEST_PLAUSIBLE.to_pydatetime())).sum(),
        "top": amount.max(), "gross": ibis.ifelse(amount > 0, amount, 0).sum(),
    }
    obs = None if observation_end is None else pd.Timestamp(observation_end).normalize()
    if obs is not None:
        metrics["late"] = (ts.date() > ibis.literal(obs.date())).sum()
    try:
        row = table.aggregate(**metrics).to_pandas().iloc[0]
    except Exception as exc:  # noqa: BLE001 - an engine's own failure is reported, not raised here
        report.add("transactions", None, "info", 0, f"the value checks could not run in the engine "
                   f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}).", kind="engine")
        return report
    rows = int(row["rows"] or 0)
    if obs is not None and rows:
        late = int(row["late"] or 0)
        if late == rows:
            raise DataQualityError(
                f"observation_end {obs:%Y-%m-%d} is before every transaction (the first is dated "
                f"{pd.Timestamp(row['first']):%Y-%m-%d}): the study window holds no data. Set observation_end "
                "under 'parameters:' in client.yml to a date within the log.", table="transactions",
                column="timestamp")
        if late:
            checks.out_of_window = late
            report.add("transactions", "timestamp", "flagged", late, f"{late:,} transactions dated after "
                       f"observation_end {obs:%Y-%m-%d} (the latest {pd.Timestamp(row['last']):%Y-%m-%d}) are "
                       "outside the study window and left out of every analysis.", kind="out_of_window")
    early = int(row["early"] or 0)
    if early:
        checks.implausible_dates["transactions.timestamp"] = early
        report.add("transactions", "timestamp", "flagged", early, f"{early:,} transactions dated before "
                   f"{EARLIEST_PLAUSIBLE:%Y-%m-%d} (the first {pd.Timestamp(row['first']):%Y-%m-%d}): implausible "
                   "dates, kept; a placeholder date usually stands for an unknown one.", kind="implausible_date")
    gross = float(row["gross"] or 0.0)
    top = float(row["top"] or 0.0)
    if gross > 0 and rows and top / gross > OUTLIER_SHARE and top / gross > 50.0 / rows:
        checks.outlier_revenue_share = top / gross
        report.add("transactions", "amount", "flagged", 1, f"the largest amount ({_money(top)}) alone holds "
                   f"{top / gross:.1%} of gross revenue" + ("; revenue, lifetime value and ABC figures are "
                   "dominated by it — check it" if checks.dominates() else "") + ".", kind="outlier")
    return report
