"""Dates: order, zones, implausible values and the study window — counted, or the load stops."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ._corpus import rows

corpus = pytest.mark.corpus


def _log(n: int, start: str = "2023-01-02", step_days: int = 20) -> list[str]:
    days = pd.date_range(start, periods=n, freq=f"{step_days}D")
    return [f"{k % 7};{d:%Y-%m-%d};{100 + k}" for k, d in enumerate(days)]


@corpus("dates", "error")
def test_half_the_timestamps_with_a_zone(project):
    project.client(files={"tx.csv": rows("1;2024-03-01T23:30:00+03:00;5", "2;2024-03-01 23:30:00;5",
                                         "3;2024-03-02T10:00:00+03:00;5", "4;2024-03-02 09:00;5")})
    msg = project.error()
    assert "rows 3, 5" in msg and "2 values carry a time zone" in msg and "2 do not" in msg
    assert "add 'timezone: Europe/Moscow' under 'data.transactions:' in client.yml" in msg


@corpus("dates", "result")
def test_zone_setting_converts_zoned_and_keeps_local_times(project):
    project.client(files={"tx.csv": rows("1;2024-03-01T23:30:00+03:00;5", "2;2024-03-01 23:30:00;5",
                                         "3;2024-03-02T00:30:00Z;5")},
                   transactions={"path": "tx.csv", "timezone": "Europe/Moscow"})
    _, data = project.load()
    assert data.transactions["timestamp"].tolist() == [
        pd.Timestamp("2024-03-01 23:30"), pd.Timestamp("2024-03-01 23:30"), pd.Timestamp("2024-03-02 03:30")]
    (issue,) = data.quality.select(kind="timezone")
    assert issue.action == "repaired" and issue.rows_count == 2 and issue.example_rows == (2, 4)


@corpus("dates", "result")
def test_all_zoned_are_converted_to_utc_and_counted(project):
    project.client(files={"tx.csv": rows("1;2024-03-01T10:00:00+03:00;5", "2;2024-03-01T10:00:00+01:00;5")})
    _, data = project.load()
    assert data.transactions["timestamp"].tolist() == [pd.Timestamp("2024-03-01 07:00"),
                                                       pd.Timestamp("2024-03-01 09:00")]
    (issue,) = data.quality.select(kind="timezone")
    assert issue.rows_count == 2 and "converted to UTC" in issue.message and "timezone:" in issue.message


@corpus("dates", "error")
def test_day_month_order_undecided(project):
    project.client(files={"tx.csv": rows("1;01.02.2024;5", "2;03.04.2024;5")})
    msg = project.error()
    assert 'If "01.02.2024" is 1 February' in msg and "if it is January 2" in msg
    assert "add 'dayfirst: true' under 'data.transactions:' in client.yml" in msg and "'dayfirst: false'" in msg
    assert "dayfirst=" not in msg


@corpus("dates", "result")
def test_day_month_order_from_the_setting(project):
    project.client(files={"tx.csv": rows("1;01.02.2024;5", "2;03.04.2024;5")},
                   transactions={"path": "tx.csv", "dayfirst": True})
    _, data = project.load()
    assert data.transactions["timestamp"].tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-04-03")]


@corpus("dates", "error")
def test_both_day_orders_in_one_column(project):
    project.client(files={"tx.csv": rows("1;31/01/2024;5", "2;01/31/2024;5")})
    msg = project.error()
    assert "row 3" in msg and '"31/01/2024"' in msg and '"01/31/2024"' in msg and "one column cannot hold both" in msg


@corpus("dates", "error")
def test_unparseable_dates_are_named(project):
    project.client(files={"tx.csv": rows("1;2024-01-01;5", "2;yesterday;5", "3;2024-02-30;5")})
    msg = project.error()
    assert "rows 3, 4" in msg and '"yesterday"' in msg and "date_format" in msg


@corpus("dates", "error")
def test_future_dates_advise_client_yml_not_python(project):
    project.client(files={"tx.csv": rows("1;2024-01-01;5", "2;2099-01-01;5")})
    msg = project.error()
    assert "row 3" in msg and "future" in msg and "'dayfirst: true'" in msg
    assert "today=" not in msg and "pass " not in msg


@corpus("dates", "result")
def test_date_format_setting(project):
    project.client(files={"tx.csv": rows("1;05 01 2024;5", "2;31 12 2024;5")},
                   transactions={"path": "tx.csv", "date_format": "%d %m %Y"})
    _, data = project.load()
    assert data.transactions["timestamp"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-12-31")]


@corpus("dates", "result")
def test_placeholder_dates_are_flagged_with_rows_and_values(project):
    project.client(files={"tx.csv": rows("1;30.12.1899;5", "2;05.01.2024;5", "3;01.01.1900;5", "4;31.01.2024;5")})
    _, data = project.load()
    (issue,) = data.quality.select(kind="implausible_date")
    assert issue.action == "flagged" and issue.rows_count == 2 and issue.example_rows == (2, 4)
    assert '"30.12.1899" (row 2)' in issue.message and "before 1990-01-01" in issue.message
    assert data.checks.implausible_dates == {"transactions.timestamp": 2}


@corpus("dates", "result")
def test_stray_date_far_from_the_rest_is_flagged(project):
    lines = _log(30) + ["9;2009-06-01;100"]
    project.client(files={"tx.csv": rows(*lines)})
    _, data = project.load()
    (issue,) = data.quality.select(kind="implausible_date")
    assert issue.rows_count == 1 and issue.example_rows == (32,) and "far outside the range" in issue.message


@corpus("dates", "result")
def test_rows_after_observation_end_are_counted(project):
    project.client(config={"currency": "RUB", "data": {"transactions": "tx.csv"},
                           "parameters": {"observation_end": dt.date(2024, 6, 30)}},
                   files={"tx.csv": rows("1;2024-01-05;10", "1;2024-06-30;20", "2;2024-07-01;30", "3;2024-08-15;40")})
    _, data = project.load()
    (issue,) = data.quality.select(kind="out_of_window")
    assert issue.rows_count == 2 and issue.example_rows == (4, 5) and "2024-08-15" in issue.message
    assert data.checks.out_of_window == 2
    assert len(data.transactions) == 4  # kept; the analyses cut at observation_end


@corpus("dates", "error")
def test_observation_end_before_every_transaction(project):
    project.client(config={"currency": "RUB", "data": {"transactions": "tx.csv"},
                           "parameters": {"observation_end": "2020-12-31"}},
                   files={"tx.csv": rows("1;2024-01-05;10", "2;2024-02-05;10")})
    msg = project.error()
    assert "observation_end 2020-12-31 is before every transaction" in msg and "2024-01-05" in msg


@corpus("dates", "result")
def test_parquet_zoned_timestamps_are_converted_and_counted(project):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    def parquet(path):
        ts = pa.array([dt.datetime(2024, 1, 1, 21, tzinfo=dt.timezone.utc)] * 2, type=pa.timestamp("us", tz="UTC"))
        pq.write_table(pa.table({"customer_id": ["1", "2"], "timestamp": ts, "amount": [1.0, 2.0]}), path)

    project.client(files={"tx.parquet": parquet}, transactions={"path": "tx.parquet", "timezone": "Europe/Moscow"})
    _, data = project.load()
    assert data.transactions["timestamp"].tolist() == [pd.Timestamp("2024-01-02 00:00")] * 2
    assert data.quality.select(kind="timezone")[0].rows_count == 2


@corpus("dates", "error")
def test_unknown_time_zone_name(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10")}, transactions={"path": "tx.csv", "timezone": "Mars/Base"})
    msg = project.error()
    assert "data.transactions.timezone" in msg and "IANA" in msg and "Mars/Base" in msg


@corpus("dates", "error")
def test_two_digit_years_ask_for_a_layout(project):
    project.client(files={"tx.csv": rows("1;01.02.24;5", "2;15.03.24;5")})
    msg = project.error()
    assert "two-digit years" in msg and "add 'date_format: \"%d.%m.%y\"' under 'data.transactions:'" in msg


@corpus("dates", "result")
def test_two_digit_years_with_their_layout(project):
    project.client(files={"tx.csv": rows("1;01.02.24;5", "2;15.03.24;5")},
                   transactions={"path": "tx.csv", "date_format": "%d.%m.%y"})
    _, data = project.load()
    assert data.transactions["timestamp"].tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-15")]


@corpus("dates", "error")
def test_unix_time_is_named_as_such(project):
    project.client(files={"tx.csv": rows("1;1704067200;5")})
    assert "looks like Unix time" in project.error()


@corpus("dates", "error")
def test_zone_abbreviations_are_not_guessed(project):
    project.client(files={"tx.csv": rows("1;2024-01-01 10:00 MSK;5")})
    msg = project.error()
    assert "not an abbreviation" in msg and "'timezone: Europe/Moscow'" in msg
