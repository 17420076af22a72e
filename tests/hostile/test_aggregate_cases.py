"""Hostile-data cases of the data layer's aggregations (issue 15).

* Integer customer ids come back as integers from every aggregation, so the
  result joins with the user's own integer-keyed table (they used to come back
  as strings, and such a join silently matched nothing). A client.yml source
  spec gives text ids, as the client's files do, so the report's joins with
  the customers table match.
* A Parquet file written by pandas (``timestamp[ns]``) read through
  ``engine: duckdb`` gave ``cohort_counts`` with 0 rows (DuckDB computes
  ``year()``/``month()`` of a nanosecond timestamp wrongly inside a join).
  Every aggregation now gives the same frame for nanosecond, microsecond and
  millisecond timestamps, with and without a time zone, through a plain path,
  an ``engine: duckdb`` source spec and an in-memory frame.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxlab.data import (
    aggregate,
    churn_durations,
    cohort_counts,
    customer_period_panel,
    customer_summary,
    interpurchase_gaps,
    log_overview,
)

OBS = "2024-11-30"
AGGREGATIONS = {
    "summary": (customer_summary, {"unit": "W", "calibration_end": "2024-08-31", "observation_end": OBS}),
    "cohorts-M": (cohort_counts, {"period": "M", "observation_end": OBS}),
    "cohorts-W": (cohort_counts, {"period": "W"}),
    "panel-M": (customer_period_panel, {"period": "M"}),
    "panel-Q": (customer_period_panel, {"period": "Q", "start": "2024-04-01", "end": OBS}),
    "gaps": (interpurchase_gaps, {"unit": "D", "observation_end": OBS}),
    "durations": (churn_durations, {"threshold": 30, "observation_end": OBS}),
}


def wall_clock_log(ids: str = "int") -> pd.DataFrame:
    """400 customers over 11 months; several purchases near midnight, a few returns."""
    rng = np.random.default_rng(15)
    n = 4_000
    minutes = rng.integers(0, 330 * 1440, n)
    minutes[:200] = (minutes[:200] // 1440) * 1440 + 1439  # 23:59: the day boundary matters
    customer = rng.integers(0, 400, n) + 100_000
    return pd.DataFrame({
        "customer_id": customer if ids == "int" else np.char.add("c", customer.astype(str)).astype(object),
        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, unit="min"),
        "amount": np.round(rng.gamma(2.0, 20.0, n), 2) * np.where(rng.random(n) < 0.05, -1, 1),
    })


def ibis_route(monkeypatch) -> None:
    """Make local data take the Ibis route that Spark and PostgreSQL take."""
    monkeypatch.setattr(aggregate, "_duck", lambda source: None)


# ----------------------------------------------------------------------------- integer ids
@pytest.mark.parametrize("route", ["frame", "parquet", "ibis"])
def test_integer_ids_stay_integers_and_join(route, tmp_path, monkeypatch):
    log = wall_clock_log("int")
    source = log
    if route == "parquet":
        log.to_parquet(tmp_path / "tx.parquet")
        source = str(tmp_path / "tx.parquet")
    if route == "ibis":
        ibis_route(monkeypatch)
    summary = customer_summary(source, observation_end=OBS)
    assert summary.index.dtype == np.int64
    # the user's own table, keyed by the same integers: every customer matches
    crm = pd.DataFrame({"customer_id": np.arange(100_000, 100_400), "segment": "gold"}).set_index("customer_id")
    joined = summary.join(crm)
    assert len(joined) == log.customer_id.nunique() and joined["segment"].notna().all()
    assert churn_durations(source, threshold=30, observation_end=OBS).index.dtype == np.int64
    assert interpurchase_gaps(source, observation_end=OBS)["customer_id"].dtype == np.int64
    panel = customer_period_panel(source, period="M")
    assert panel["customer_id"].dtype == np.int64
    assert set(panel["customer_id"]) == set(log.customer_id)


def test_client_source_spec_gives_text_ids_like_client_files(tmp_path):
    """client.yml's engine source joins the client's customers file, whose ids read_table gives as text."""
    from cxlab.data.io import read_table

    log = wall_clock_log("int")
    log.to_parquet(tmp_path / "tx.parquet")
    pd.DataFrame({"customer_id": np.arange(100_000, 100_400), "tier": "gold"}).to_csv(tmp_path / "c.csv", index=False)
    customers = read_table(tmp_path / "c.csv", "customers").frame
    summary = customer_summary({"engine": "duckdb", "path": str(tmp_path / "tx.parquet")}, observation_end=OBS)
    assert summary.index.dtype == object
    assert summary.join(customers.set_index("customer_id"))["tier"].notna().all()
    expected = customer_summary(log.assign(customer_id=log.customer_id.astype(str)), observation_end=OBS)
    pd.testing.assert_frame_equal(summary, expected)


def test_text_ids_stay_text():
    log = wall_clock_log("text")
    s = customer_summary(log, observation_end=OBS)
    assert s.index.dtype == object and s.index[0].startswith("c")
    assert interpurchase_gaps(log, observation_end=OBS)["customer_id"].map(type).eq(str).all()


# ----------------------------------------------------------------------------- timestamp units and zones
def write(log: pd.DataFrame, path, unit: str, zone: str | None) -> None:
    """The log as a Parquet file whose timestamps have ``unit`` and, with ``zone``, that time zone.

    The wall-clock times stay those of ``log`` (the zoned file holds the same local times).
    """
    frame = log.copy()
    if zone is not None:
        frame["timestamp"] = frame["timestamp"].dt.tz_localize(zone)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    i = table.schema.get_field_index("timestamp")
    table = table.set_column(i, "timestamp", table["timestamp"].cast(pa.timestamp(unit, tz=zone)))
    pq.write_table(table, path)


@pytest.fixture(scope="module")
def expected():
    log = wall_clock_log("text")
    return log, {name: func(log, **kwargs) for name, (func, kwargs) in AGGREGATIONS.items()}


@pytest.mark.parametrize("zone", [None, "UTC", "Europe/Moscow"])
@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
def test_every_aggregation_is_the_same_for_every_timestamp_unit_and_zone(unit, zone, tmp_path, expected):
    log, want = expected
    path = tmp_path / f"tx_{unit}.parquet"
    write(log, path, unit, zone)
    assert pq.read_schema(path).field("timestamp").type == pa.timestamp(unit, tz=zone)
    zoned = log.assign(timestamp=log["timestamp"].dt.tz_localize(zone)) if zone else log
    for route, source in [("path", str(path)), ("engine", {"engine": "duckdb", "path": str(path)}),
                          ("frame", zoned)]:
        for name, (func, kwargs) in AGGREGATIONS.items():
            got = func(source, **kwargs)
            assert len(got) > 0, (route, name)
            pd.testing.assert_frame_equal(got, want[name], check_exact=False, rtol=1e-12, obj=f"{route} {name}")


def test_pandas_written_parquet_through_engine_duckdb_has_cohorts(tmp_path):
    """The reported case: pandas writes timestamp[ns]; engine: duckdb read it."""
    log = wall_clock_log("text")
    log.to_parquet(tmp_path / "tx.parquet")  # pandas' default: nanoseconds
    assert pq.read_schema(tmp_path / "tx.parquet").field("timestamp").type == pa.timestamp("ns")
    spec = {"engine": "duckdb", "path": str(tmp_path / "tx.parquet")}
    cohorts = cohort_counts(spec, period="M")
    assert len(cohorts) > 0
    assert cohorts["cohort"].min() == pd.Timestamp("2024-01-01")
    assert cohorts.loc[cohorts.period == 0, "cohort_size"].sum() == log.loc[log.amount >= 0, "customer_id"].nunique()
    pd.testing.assert_frame_equal(cohorts, cohort_counts(log, period="M"))


def test_zoned_times_are_counted_in_their_own_calendar(tmp_path):
    """23:30 in Moscow on 31 January is a January purchase, though it is 20:30 UTC."""
    log = pd.DataFrame({
        "customer_id": [1, 1],
        "timestamp": pd.to_datetime(["2024-01-31 23:30", "2024-02-01 00:30"]).tz_localize("Europe/Moscow"),
        "amount": [10.0, 5.0],
    })
    log.to_parquet(tmp_path / "tx.parquet")
    for source in (log, str(tmp_path / "tx.parquet")):
        s = customer_summary(source, unit="D")
        assert s.loc[1, "first_purchase"] == pd.Timestamp("2024-01-31") and s.loc[1, "frequency"] == 1
        assert log_overview(source)["first"] == pd.Timestamp("2024-01-31 23:30")
