"""Numbers, money, percentages and dates written the way each language writes them.

English: ``1,234.5``, ``RUB 1,235``, ``$1,235``, ``12.3%``, ``5 March 2024``.
Russian: ``1 234,5``, ``1 235 ₽``, ``12,3 %``, ``5 марта 2024 г.`` (the
group separator and the space before ``%``/``₽`` are no-break spaces, so a
number never wraps across lines).

Only the two report languages are needed, so the rules are written out here
(matching the CLDR conventions Babel uses) rather than adding a dependency;
``tests/report/test_formatting.py`` cross-checks them against Babel when it is
installed.
"""
from __future__ import annotations

import datetime as _dt
import math
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Formatter", "MISSING", "NBSP", "readable", "readable_summary"]

NBSP = "\u00a0"
MINUS = "\u2212"
MISSING = "—"

# Symbols readers recognise; anything else is written with its ISO code.
_SYMBOLS_EN = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "INR": "₹"}
_SYMBOLS_RU = {"RUB": "₽", "USD": "$", "EUR": "€", "GBP": "£", "KZT": "₸", "BYN": "Br", "UAH": "₴", "CNY": "CN¥"}

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
_MONTHS_RU_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                       "сентября", "октября", "ноября", "декабря")
_MONTHS_RU = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
              "сентябрь", "октябрь", "ноябрь", "декабрь")
_MONTHS_EN_SHORT = tuple(m[:3] for m in _MONTHS_EN)
_MONTHS_RU_SHORT = ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")

_SEPARATORS = {"en": (",", "."), "ru": (NBSP, ",")}
#: Scales of large amounts, in words: the same words in prose, tables and chart axes.
_SCALES = ((1e9, "billion", "млрд"), (1e6, "million", "млн"), (1e3, "thousand", "тыс."))


def _is_missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, (float, np.floating)) and math.isnan(x))
    except TypeError:
        return False


class Formatter:
    """Per-language formatting for report text and tables (``ctx.fmt``).

    Parameters
    ----------
    lang : {"en", "ru"}
        Language of the report.
    currency : str
        ISO 4217 code of the client's currency.
    """

    def __init__(self, lang: str = "en", currency: str = "RUB"):
        if lang not in _SEPARATORS:
            raise ValueError(f"lang must be 'en' or 'ru', got {lang!r}")
        self.lang = lang
        self.currency = str(currency).upper()
        self._group, self._decimal = _SEPARATORS[lang]

    def __repr__(self) -> str:
        return f"Formatter(lang={self.lang!r}, currency={self.currency!r})"

    # -- numbers -----------------------------------------------------------
    def num(self, x: Any, digits: int = 0) -> str:
        """A number with thousands separators and ``digits`` decimals (``—`` if missing)."""
        if _is_missing(x):
            return MISSING
        value = float(x)
        if math.isinf(value):
            return ("" if value > 0 else MINUS) + "∞"
        text = f"{abs(value):,.{digits}f}"
        if text.strip("0.,") == "":  # -0.0001 rounds to 0: no minus sign
            value = 0.0
        text = text.replace(",", "\x00").replace(".", self._decimal).replace("\x00", self._group)
        return (MINUS if value < 0 else "") + text

    def int(self, x: Any) -> str:
        """A whole number with thousands separators."""
        return self.num(x, 0)

    def pct(self, x: Any, digits: int = 1) -> str:
        """A fraction as a percentage: ``0.123`` → ``12.3%`` (en) / ``12,3 %`` (ru)."""
        if _is_missing(x):
            return MISSING
        body = self.num(float(x) * 100.0, digits)
        return f"{body}%" if self.lang == "en" else f"{body}{NBSP}%"

    def pp(self, x: Any, digits: int = 1) -> str:
        """A difference of two fractions in percentage points: ``0.02`` → ``+2.0 pp`` / ``+2,0 п.п.``."""
        if _is_missing(x):
            return MISSING
        body = self.num(float(x) * 100.0, digits)
        sign = "+" if float(x) > 0 and not body.startswith(MINUS) else ""
        unit = "pp" if self.lang == "en" else "п.п."
        return f"{sign}{body}{NBSP}{unit}"

    def money(self, x: Any, digits: int = 0, currency: str | None = None) -> str:
        """An amount in the client's currency: ``RUB 1,235`` / ``$1,235`` (en), ``1 235 ₽`` (ru)."""
        if _is_missing(x):
            return MISSING
        code = (currency or self.currency).upper()
        body = self.num(abs(float(x)), digits)
        sign = MINUS if float(x) < 0 and body.strip("0" + self._decimal + self._group) else ""
        if self.lang == "en":
            symbol = _SYMBOLS_EN.get(code)
            return f"{sign}{symbol}{body}" if symbol else f"{sign}{code}{NBSP}{body}"
        symbol = _SYMBOLS_RU.get(code, code)
        return f"{sign}{body}{NBSP}{symbol}"

    def compact_money(self, x: Any, digits: int = 1) -> str:
        """Large amounts in words for prose: ``RUB 12.3 million`` / ``12,3 млн ₽``."""
        if _is_missing(x):
            return MISSING
        value = float(x)
        for scale, en, ru in _SCALES:
            if abs(value) >= scale:
                body = self.num(value / scale, digits)
                code = self.currency
                if self.lang == "en":
                    symbol = _SYMBOLS_EN.get(code)
                    return f"{symbol}{body}{NBSP}{en}" if symbol else f"{code}{NBSP}{body}{NBSP}{en}"
                return f"{body}{NBSP}{ru}{NBSP}{_SYMBOLS_RU.get(code, code)}"
        return self.money(value)

    def scale(self, largest: Any) -> tuple[float, str]:
        """The divisor and its word for amounts up to ``largest``: ``(1e6, "million")`` / ``(1e6, "млн")``;
        ``(1.0, "")`` below ten thousand."""
        value = 0.0 if _is_missing(largest) else abs(float(largest))
        for divisor, en, ru in _SCALES:
            if value >= 10 * divisor or (divisor >= 1e6 and value >= divisor):
                return divisor, en if self.lang == "en" else ru
        return 1.0, ""

    def money_unit(self, scale_word: str = "") -> str:
        """The unit of a money axis or column: ``RUB``, ``RUB million`` / ``₽``, ``млн ₽``."""
        if self.lang == "en":
            code = _SYMBOLS_EN.get(self.currency) if self.currency in ("USD", "EUR", "GBP") else self.currency
            return f"{code} {scale_word}".strip()
        symbol = _SYMBOLS_RU.get(self.currency, self.currency)
        return f"{scale_word}{NBSP}{symbol}" if scale_word else symbol

    def percent_sign(self) -> str:
        """The percent sign as the language writes it after a number (``%`` / no-break space and ``%``)."""
        return "%" if self.lang == "en" else f"{NBSP}%"

    # -- dates -------------------------------------------------------------
    def date(self, d: Any, style: str = "long") -> str:
        """A date: ``5 March 2024`` / ``5 марта 2024 г.`` (``style="short"``: ``5 Mar 2024`` /
        ``05.03.2024``; ``style="month"``: ``March 2024`` / ``март 2024``; ``style="quarter"``:
        ``Q2 2024`` / ``II кв. 2024``; ``style="month_short"``: ``Jan 2025`` / ``янв 2025``)."""
        if _is_missing(d):
            return MISSING
        ts = pd.Timestamp(d)
        if pd.isna(ts):
            return MISSING
        day, month, year = ts.day, ts.month, ts.year
        if style == "quarter":
            q = (month - 1) // 3
            return f"Q{q + 1} {year}" if self.lang == "en" else f"{('I', 'II', 'III', 'IV')[q]}{NBSP}кв. {year}"
        if style == "month":
            names = _MONTHS_EN if self.lang == "en" else _MONTHS_RU
            return f"{names[month - 1]} {year}"
        if style == "month_short":
            names = _MONTHS_EN_SHORT if self.lang == "en" else _MONTHS_RU_SHORT
            return f"{names[month - 1]}{NBSP}{year}"
        if style == "short":
            if self.lang == "en":
                return f"{day} {_MONTHS_EN_SHORT[month - 1]} {year}"
            return f"{day:02d}.{month:02d}.{year}"
        if style != "long":
            raise ValueError(f"style must be 'long', 'short', 'month', 'month_short' or 'quarter', got {style!r}")
        if self.lang == "en":
            return f"{day} {_MONTHS_EN[month - 1]} {year}"
        return f"{day} {_MONTHS_RU_GENITIVE[month - 1]} {year}{NBSP}г."

    def datetime(self, d: Any) -> str:
        """Date and time (UTC stamps in footers): ``24 November 2026, 12:21 UTC``."""
        if _is_missing(d):
            return MISSING
        ts = pd.Timestamp(d)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC")
        return f"{self.date(ts)}, {ts:%H:%M} UTC"

    def duration(self, seconds: Any) -> str:
        """Seconds as ``1 min 5 s`` / ``1 мин 5 с``."""
        if _is_missing(seconds):
            return MISSING
        s = float(seconds)
        unit_min, unit_s = ("min", "s") if self.lang == "en" else ("мин", "с")
        if s < 60:
            return f"{self.num(s, 1)}{NBSP}{unit_s}"
        m, rest = divmod(round(s), 60)
        return f"{m}{NBSP}{unit_min} {rest}{NBSP}{unit_s}"

    # -- dispatch ------------------------------------------------------------
    def auto(self, x: Any, kind: str | None = None, digits: int | None = None) -> str:
        """Format by ``kind`` (``money``, ``pct``, ``pp``, ``num``, ``int``, ``date``, ``text``) or by type."""
        if kind is None:
            if isinstance(x, (bool, np.bool_)):
                kind = "text"
            elif isinstance(x, (pd.Timestamp, _dt.date, np.datetime64)):
                kind = "date"
            elif isinstance(x, (int, np.integer)):
                kind = "int"
            elif isinstance(x, Real):
                kind = "num"
            else:
                kind = "text"
        if kind == "text":
            if isinstance(x, (bool, np.bool_)):
                return self.yes_no(bool(x))
            return MISSING if _is_missing(x) else str(x)
        if kind == "date":
            return self.date(x)
        if kind == "int":
            return self.int(x)
        if kind == "money":
            return self.money(x) if digits is None else self.money(x, digits)
        if kind == "pct":
            return self.pct(x) if digits is None else self.pct(x, digits)
        if kind == "pp":
            return self.pp(x) if digits is None else self.pp(x, digits)
        if kind == "num":
            return self.num(x, _auto_digits(x) if digits is None else digits)
        raise ValueError(f"unknown format kind {kind!r}; use money, pct, pp, num, int, date or text")

    def yes_no(self, flag: bool) -> str:
        return ("yes" if flag else "no") if self.lang == "en" else ("да" if flag else "нет")


def _auto_digits(x: Any) -> int:
    """Decimals a reader needs: none for big or whole numbers, more for small ones."""
    if _is_missing(x):
        return 0
    ax = abs(float(x))
    if ax == 0 or float(x).is_integer() or ax >= 1000:
        return 0
    if ax >= 10:
        return 1
    if ax >= 0.1:
        return 2
    return 3


def readable(data: Any, *, lang: str = "en", currency: str | None = None, digits: dict[str, int] | None = None,
             money: tuple[str, ...] = (), pct: tuple[str, ...] = ()) -> pd.DataFrame:
    """A table as people read it, for notebooks: ``2.506664e+05`` → ``250,666``, ``inf`` → ``∞``,
    ``NaN`` → ``—``, dates as dates; every column of one number of decimals.

    Parameters
    ----------
    data : DataFrame or Series (or a Result with a ``summary()`` of one table)
    lang : {"en", "ru"}
    currency : str, optional
        Written on the ``money`` columns.
    digits : mapping column -> decimals, optional
    money, pct : column names written as money / as percentages of a share (0.25 → 25%)

    Columns named ``p``, ``p_value``, ``p_holm`` ... are p-values: ``< 0.001`` below a thousandth.
    """
    if hasattr(data, "to_frame") and not isinstance(data, pd.DataFrame):
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"readable expects a DataFrame or Series, got {type(data).__name__}")
    fmt = Formatter(lang, currency or "RUB")
    digits = dict(digits or {})
    out = {}
    for col in data.columns:
        series = data[col]
        name = str(col)
        if name in money:
            out[col] = [fmt.money(v, digits.get(name, 0)) for v in series]
        elif name in pct:
            out[col] = [fmt.pct(v, digits.get(name, 1)) for v in series]
        elif pd.api.types.is_bool_dtype(series):
            out[col] = [MISSING if _is_missing(v) else fmt.yes_no(bool(v)) for v in series]
        elif pd.api.types.is_datetime64_any_dtype(series):
            out[col] = [fmt.date(v, "short") for v in series]
        elif pd.api.types.is_integer_dtype(series):
            out[col] = [fmt.int(v) for v in series]
        elif pd.api.types.is_float_dtype(series) and (name in ("p", "pvalue") or name.startswith(("p_", "p-"))):
            small = fmt.num(0.001, 3)
            out[col] = [MISSING if _is_missing(v) else f"< {small}" if float(v) < 0.001 else fmt.num(v, 3)
                        for v in series]
        elif pd.api.types.is_float_dtype(series):
            d = digits.get(name)
            if d is None:
                values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
                finite = values[np.isfinite(values)]
                if finite.size == 0 or np.all(finite == np.round(finite)):
                    d = 0
                else:
                    biggest = float(np.abs(finite).max())
                    d = 0 if biggest >= 1000 else 1 if biggest >= 10 else 2 if biggest >= 0.1 else 3
            out[col] = [fmt.num(v, d) for v in series]
        else:
            out[col] = [MISSING if _is_missing(v) else str(v) for v in series]
    return pd.DataFrame(out, index=data.index)


def readable_summary(result: Any, *, lang: str = "en", currency: str | None = None) -> Any:
    """A result's ``summary()`` with every table made :func:`readable` (renders in a notebook)."""
    from cxlab._base import Summary

    summary = result if isinstance(result, Summary) else result.summary()
    return Summary(summary.title, [(caption, readable(table, lang=lang, currency=currency))
                                   for caption, table in summary.tables], list(summary.notes))
