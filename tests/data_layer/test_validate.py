"""Column parsers and checks of cxlab.data.validate, called directly on Series."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxlab.data.contract import CUSTOMERS, SURVEYS, TRANSACTIONS
from cxlab.data.quality import QualityReport
from cxlab.data.validate import (
    DataQualityError,
    TableContext,
    check_bounds,
    exact_duplicates,
    parse_datetimes,
    parse_numbers,
)

AMOUNT = TRANSACTIONS.column("amount")
TS = TRANSACTIONS.column("timestamp")


def ctx(**kw):
    return TableContext("data.csv", "transactions", client_names={"amount": "Сумма"}, total_rows=1000, **kw)


def test_error_message_format_from_fields():
    err = DataQualityError(path="transactions.csv", table="transactions", column="amount",
                           client_column="Сумма", rows=[5, 9], expected="a number", got=["abc", "1.2.3"],
                           total_rows=1000, row_note="line numbers in the file, header = line 1")
    assert str(err) == ('transactions.csv, column "amount" (client column "Сумма"), rows 5, 9 '
                        '(2 of 1,000; line numbers in the file, header = line 1): expected a number, '
                        'got "abc", "1.2.3"')
    assert isinstance(err, ValueError)
    assert (err.path, err.table, err.column, err.rows, err.expected) == (
        "transactions.csv", "transactions", "amount", [5, 9], "a number")


def test_error_message_truncates_rows():
    err = DataQualityError(path="t.csv", column="amount", rows=range(2, 30), expected="a number")
    assert "rows 2, 3, 4, 5, 6, 7, 8, 9, …" in str(err) and "(28;" not in str(err) and "28" in str(err)
    assert err.n_rows == 28 and len(err.rows) == 28


@pytest.mark.parametrize("text,value", [
    ("1234.5", 1234.5), ("1 234,50", 1234.5), ("1\u00a0234,50", 1234.5), ("1\u202f234,5", 1234.5),
    ("1.234,50", 1234.5), ("1,234.50", 1234.5), ("\u221212,5", -12.5), ("-0,99", -0.99),
    ("1'234.5", 1234.5), (" 7 ", 7.0), ("1.234.567", 1234567.0),
])
def test_parse_numbers_styles(text, value):
    out = parse_numbers(pd.Series([text, "1"]), ctx(), AMOUNT)
    assert out.dtype == "float64" and out.iloc[0] == pytest.approx(value)


def test_single_three_digit_groups_are_ambiguous_whatever_the_separator():
    s = pd.Series(["1,500", "12,000"])
    for sep in (",", ";"):
        with pytest.raises(DataQualityError) as info:
            parse_numbers(s, ctx(), AMOUNT, sep=sep)
        msg = str(info.value)
        assert info.value.rows == [2, 3] and '"1,500" = 1 500' in msg and '"1,500" = 1.5' in msg
        assert "add 'decimal: \".\"' under 'data.transactions:' in client.yml" in msg
        assert "'decimal: \",\"'" in msg and "decimal=" not in msg
    assert parse_numbers(s, ctx(), AMOUNT, decimal=",").tolist() == [1.5, 12.0]
    assert parse_numbers(s, ctx(), AMOUNT, decimal=".").tolist() == [1500.0, 12000.0]
    # one value that is not a single group decides for the whole column
    assert parse_numbers(pd.Series(["1,500", "2,75"]), ctx(), AMOUNT).tolist() == [1.5, 2.75]
    assert parse_numbers(pd.Series(["1,500", "1,234,567"]), ctx(), AMOUNT).tolist() == [1500.0, 1234567.0]
    assert parse_numbers(pd.Series(["3.201", "0.5"]), ctx(), AMOUNT).tolist() == [3.201, 0.5]
    assert parse_numbers(pd.Series(["3.201", "1.234.567"]), ctx(), AMOUNT).tolist() == [3201.0, 1234567.0]


@pytest.mark.parametrize("junk", ["abc", "1.2.3", "12 34", "1,2,3", "inf", "5 руб", "--5"])
def test_parse_numbers_rejects_junk(junk):
    with pytest.raises(DataQualityError) as info:
        parse_numbers(pd.Series(["1", junk, "2"], index=[0, 1, 2]), ctx(), AMOUNT)
    assert info.value.rows == [3] and info.value.examples == [junk]


def test_blank_cells_are_missing_not_errors():
    out = parse_numbers(pd.Series(["1,5", "  ", None]), ctx(), AMOUNT)
    assert out.iloc[0] == 1.5 and out.iloc[1:].isna().all()


@pytest.mark.parametrize("text,expected", [
    ("2024-12-31", "2024-12-31"), ("2024-12-31 14:05:59", "2024-12-31 14:05:59"),
    ("2024-12-31T14:05", "2024-12-31 14:05"), ("31.12.2024", "2024-12-31"), ("31/12/2024 14:05", "2024-12-31 14:05"),
    ("31-12-2024", "2024-12-31"), ("2024/12/31", "2024-12-31"), ("20241231", "2024-12-31"),
    ("31.12.2024 9:05:07", "2024-12-31 09:05:07"),
])
def test_parse_dates_styles(text, expected):
    out = parse_datetimes(pd.Series([text]), ctx(), TS)
    assert out.dtype == "datetime64[ns]" and out.iloc[0] == pd.Timestamp(expected)


def test_excel_serial_numbers_only_for_excel():
    s = pd.Series([45292.0, 45292.5])
    out = parse_datetimes(s, ctx(), TS, excel=True)
    assert out.tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 12:00")]
    with pytest.raises(DataQualityError, match="YYYYMMDD"):
        parse_datetimes(s, ctx(), TS)
    ints = parse_datetimes(pd.Series([19970101, 19980630]), ctx(), TS)
    assert ints.tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30")]


def test_conflicting_date_orders_error():
    with pytest.raises(DataQualityError, match="day-first") as info:
        parse_datetimes(pd.Series(["31/01/2024", "01/31/2024"]), ctx(), TS)
    assert info.value.rows == [3]


def test_mixed_separators_rejected():
    with pytest.raises(DataQualityError) as info:
        parse_datetimes(pd.Series(["31.12.2024", "31.12/2024"]), ctx(), TS)
    assert info.value.rows == [3]


def test_check_bounds_messages():
    nps = SURVEYS.column("nps")
    with pytest.raises(DataQualityError, match="between 0 and 10") as info:
        check_bounds(pd.Series([0, 10, -1, 11]), ctx(), nps)
    assert info.value.rows == [4, 5]
    check_bounds(pd.Series([0.0, np.nan]), ctx(), CUSTOMERS.column("acquisition_cost"))


def test_issues_are_recorded_on_context_report():
    c = ctx(report=QualityReport())
    parse_numbers(pd.Series(["1,5"]), c, AMOUNT)
    assert c.report.select(column="amount", action="info")


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 2)), min_size=0, max_size=40))
def test_exact_duplicates_matches_pandas(rows):
    frame = pd.DataFrame(rows, columns=["x", "y"]).astype(str)
    assert exact_duplicates(frame).tolist() == frame.duplicated(keep="first").tolist()


@given(st.integers(-10**11, 10**11), st.sampled_from(["ru", "de", "us", "plain", "ch"]))
def test_number_styles_round_trip(cents, style):
    value = cents / 100
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    groups = f"{whole:,}"
    text = {
        "ru": sign + groups.replace(",", "\u00a0") + f",{frac:02d}",
        "de": sign + groups.replace(",", ".") + f",{frac:02d}",
        "us": sign + groups + f".{frac:02d}",
        "plain": f"{value:.2f}",
        "ch": sign + groups.replace(",", "'") + f".{frac:02d}",
    }[style]
    out = parse_numbers(pd.Series([text, "0,5" if style in ("ru", "de") else "0.5"]), ctx(), AMOUNT)
    assert out.iloc[0] == pytest.approx(value, rel=1e-12, abs=1e-9)


# ---------------------------------------------------------------------------
# evidence: decimal marks, implausible dates, zones, client.yml advice
# ---------------------------------------------------------------------------
from cxlab.data.validate import (  # noqa: E402
    check_timezone,
    client_yml_hint,
    decimal_verdict,
    implausible_dates,
    yaml_line,
)


@pytest.mark.parametrize("values, status, mark", [
    (["1", "2"], "none", None),
    (["3.201", "12.500"], "ambiguous", None),
    (["3,201", "-12,500"], "ambiguous", None),
    (["3.201", "0.5"], "conclusive", "."),
    (["3.201", "1234.567"], "conclusive", "."),
    (["3.201", "1.234.567"], "conclusive", ","),
    (["3,201", "12,5"], "conclusive", ","),
    (["1,500", "2.5"], "conclusive", "."),
    (["1.234,5", "7"], "conclusive", ","),
    (["1,5", "2.5"], "conflict", None),
    (["1,500", "2.300"], "conflict", None),
    (["1.234,50", "1,234.50"], "conflict", None),
])
def test_decimal_verdict(values, status, mark):
    v = decimal_verdict(pd.Series(values, dtype="string[pyarrow]"))
    assert (v.status, v.mark) == (status, mark)


def test_implausible_dates_rules():
    dates = pd.Series(pd.date_range("2023-01-01", periods=40, freq="10D").tolist()
                      + [pd.Timestamp("1899-12-30"), pd.Timestamp("2012-05-01"), pd.NaT])
    mask, rule = implausible_dates(dates)
    assert np.flatnonzero(mask).tolist() == [40, 41] and "before 1990-01-01" in rule and "far outside" in rule
    few = pd.Series([pd.Timestamp("2012-05-01"), pd.Timestamp("2024-01-01")])
    assert not implausible_dates(few)[0].any()  # too few dates for a range: only the 1990 rule applies


def test_timezone_names_and_yaml_advice():
    assert check_timezone("Europe/Moscow") == "Europe/Moscow" and check_timezone(None) is None
    with pytest.raises(ValueError, match="IANA"):
        check_timezone("+03:00")
    assert yaml_line("decimal", ",") == 'decimal: ","'
    assert yaml_line("dayfirst", True) == "dayfirst: true"
    assert yaml_line("encoding", "cp1251") == "encoding: cp1251"
    assert yaml_line("sheet", "2024") == 'sheet: "2024"' and yaml_line("sheet", "yes") == 'sheet: "yes"'
    assert yaml_line("columns", {"amount (column 3)": "amount"}) == 'columns: {"amount (column 3)": amount}'
    assert client_yml_hint("surveys", "dayfirst", False) == "add 'dayfirst: false' under 'data.surveys:' in client.yml"


def test_mixed_zones_need_a_timezone_and_it_is_applied():
    s = pd.Series(["2024-03-01T10:00:00+03:00", "2024-03-01 10:00"])
    with pytest.raises(DataQualityError, match="timezone: Europe/Moscow") as info:
        parse_datetimes(s, ctx(), TS)
    assert info.value.rows == [3]
    c = ctx(report=QualityReport())
    out = parse_datetimes(s, c, TS, timezone="Asia/Yekaterinburg")
    assert out.tolist() == [pd.Timestamp("2024-03-01 12:00"), pd.Timestamp("2024-03-01 10:00")]
    (issue,) = c.report.select(kind="timezone")
    assert issue.action == "repaired" and issue.rows_count == 1 and issue.example_rows == (2,)
