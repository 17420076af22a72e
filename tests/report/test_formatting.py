"""Per-language number, money, percentage and date formatting."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxlab.report.formatting import MINUS, MISSING, NBSP, Formatter

en = Formatter("en", "RUB")
ru = Formatter("ru", "RUB")


def test_numbers():
    assert en.num(1234567.891, 2) == "1,234,567.89"
    assert ru.num(1234567.891, 2) == f"1{NBSP}234{NBSP}567,89"
    assert en.num(-1234.4) == f"{MINUS}1,234"
    assert en.num(-0.0004, 2) == "0.00"  # no "−0.00"
    assert en.int(np.int64(12345)) == "12,345"
    for missing in (None, float("nan"), np.nan, pd.NA, pd.NaT):
        assert en.num(missing) == MISSING


def test_money_per_language_and_currency():
    assert en.money(1234.5) == f"RUB{NBSP}1,234"
    assert ru.money(1234.5) == f"1{NBSP}234{NBSP}₽"
    assert Formatter("en", "USD").money(1234.5, 2) == "$1,234.50"
    assert Formatter("ru", "USD").money(-1234.5) == f"{MINUS}1{NBSP}234{NBSP}$"
    assert Formatter("ru", "CHF").money(10) == f"10{NBSP}CHF"
    assert en.compact_money(12_345_678) == f"RUB{NBSP}12.3{NBSP}million"
    assert ru.compact_money(12_345_678) == f"12,3{NBSP}млн{NBSP}₽"


def test_percentages():
    assert en.pct(0.1234) == "12.3%"
    assert ru.pct(0.1234) == f"12,3{NBSP}%"
    assert en.pct(0.5, 0) == "50%"
    assert en.pp(0.021) == f"+2.1{NBSP}pp"
    assert ru.pp(-0.021) == f"{MINUS}2,1{NBSP}п.п."


def test_dates():
    d = dt.date(2024, 3, 5)
    assert en.date(d) == "5 March 2024"
    assert ru.date(d) == f"5 марта 2024{NBSP}г."
    assert ru.date(pd.Timestamp("2024-05-01 13:00")) == f"1 мая 2024{NBSP}г."
    assert ru.date("2024-12-31", style="short") == "31.12.2024"
    assert en.date(np.datetime64("2024-12-31"), style="month") == "December 2024"
    assert ru.date(d, style="month") == "март 2024"
    assert en.date(None) == MISSING and en.date(pd.NaT) == MISSING
    with pytest.raises(ValueError):
        en.date(d, style="iso")


def test_auto_dispatch():
    assert en.auto(3) == "3"
    assert en.auto(0.1234) == "0.12"
    assert en.auto(1234.5678) == "1,235"
    assert en.auto(True) == "yes" and ru.auto(False) == "нет"
    assert en.auto(pd.Timestamp("2024-01-02")) == "2 January 2024"
    assert en.auto(0.25, "pct") == "25.0%"
    with pytest.raises(ValueError, match="unknown format kind"):
        en.auto(1, "currency")


def test_bad_language():
    with pytest.raises(ValueError, match="en' or 'ru"):
        Formatter("de")


def _parse(text: str, f: Formatter) -> float:
    body = text.replace(f._group, "").replace(f._decimal, ".").replace(MINUS, "-")
    return float(body)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False), st.integers(0, 4), st.sampled_from([en, ru]))
def test_num_round_trips(x, digits, f):
    text = f.num(x, digits)
    assert math.isclose(_parse(text, f), round(x, digits), abs_tol=10 ** -digits)
    # grouping: every group after the first has exactly three digits
    integer = text.replace(MINUS, "").split(f._decimal)[0]
    groups = integer.split(f._group)
    assert all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(0, 3))
def test_matches_babel(x, digits):
    babel_numbers = pytest.importorskip("babel.numbers")
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    for f, locale in ((en, "en"), (ru, "ru")):
        expected = babel_numbers.format_decimal(round(x, digits), format=pattern, locale=locale)
        got = f.num(x, digits).replace(MINUS, "-")
        if got.lstrip("-").strip("0,." + NBSP) == "":  # babel keeps "-0"; we drop the sign of a zero
            continue
        assert got == expected.replace("\u2212", "-")


def test_money_and_dates_match_babel():
    babel_numbers = pytest.importorskip("babel.numbers")
    babel_dates = pytest.importorskip("babel.dates")
    assert ru.money(1234.5, 2) == babel_numbers.format_currency(1234.5, "RUB", locale="ru")
    assert Formatter("en", "USD").money(1234.5, 2) == babel_numbers.format_currency(1234.5, "USD", locale="en")
    for d in (dt.date(2024, 1, 1), dt.date(2025, 8, 17), dt.date(2023, 12, 31)):
        assert ru.date(d) == babel_dates.format_date(d, format="long", locale="ru").replace("\u202f", NBSP)
        assert en.date(d) == babel_dates.format_date(d, format="d MMMM y", locale="en")
