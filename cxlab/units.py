"""Time units: the one table of how many days each unit of a study holds.

Every analysis in cxlab measures time in one of these units. A month is a
twelfth of the Julian year (365.25 / 12 = 30.4375 days), so that durations in
months do not depend on which calendar months they span; a quarter is three
such months. The data layer, the models and the report all convert through
:func:`unit_days`, never through a number of their own.
"""
from __future__ import annotations

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_YEAR", "UNIT_DAYS", "UNIT_NAMES", "unit_days", "units_per_month"]

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0  # 30.4375

#: Days in one unit: D(ay), W(eek), M(onth), Q(uarter), Y(ear).
UNIT_DAYS: dict[str, float] = {
    "D": 1.0,
    "W": 7.0,
    "M": DAYS_PER_MONTH,
    "Q": 3.0 * DAYS_PER_MONTH,
    "Y": DAYS_PER_YEAR,
}

#: Plain names of the units (for messages).
UNIT_NAMES: dict[str, str] = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}


def unit_days(unit: str, *, name: str = "unit") -> float:
    """Days in one ``unit`` (``"D"``, ``"W"``, ``"M"``, ``"Q"`` or ``"Y"``).

    Raises
    ------
    ValueError
        Naming the argument (``name``) and the valid units.
    """
    try:
        return UNIT_DAYS[unit]
    except (KeyError, TypeError):
        raise ValueError(f"{name}={unit!r} is not a known unit; expected one of {list(UNIT_DAYS)}") from None


def units_per_month(unit: str, *, name: str = "unit") -> float:
    """How many ``unit`` make one month (4.348... weeks, 30.4375 days)."""
    return DAYS_PER_MONTH / unit_days(unit, name=name)
