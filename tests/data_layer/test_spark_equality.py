"""The data layer's aggregations give the same answers on Spark as on DuckDB.

One local Spark session (``local[2]``) for the module; the transaction log is
handed to Spark as a ``pyspark.sql.DataFrame`` (and once as a Parquet folder
read by Spark, and once as a named table through a source spec), and every
aggregation is compared with the DuckDB result on the same pandas log.
Skipped, with the reason, when pyspark or a Java runtime is missing.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (extra `spark`)")

if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("no Java runtime (java not on PATH, JAVA_HOME unset): Spark cannot start", allow_module_level=True)

from cxlab.data import (  # noqa: E402
    churn_durations,
    cohort_counts,
    customer_period_panel,
    customer_summary,
    interpurchase_gaps,
)
from cxlab.data.engines import connect_source  # noqa: E402

pytestmark = pytest.mark.spark

OBS = "2025-09-30"


def edge_cases() -> pd.DataFrame:
    """Hand-made customers on the conventions' edges."""
    rows = [
        # day boundaries: 23:59:59.999 and 00:00:00 are different days; two receipts on one day merge
        ("edge-a", "2024-03-10 23:59:59.999", 10.0),
        ("edge-a", "2024-03-11 00:00:00", 5.0),
        ("edge-a", "2024-03-11 23:59:59", 7.5),
        ("edge-a", "2024-12-31 23:59:59", 1.0),  # a week/month/quarter/year boundary
        ("edge-a", "2025-01-01 00:00:00", 2.0),
        # a return before the first purchase (its sale predates the log), one on a purchase day
        ("edge-b", "2024-01-15 12:00", -20.0),
        ("edge-b", "2024-02-29 08:00", 30.0),  # leap day
        ("edge-b", "2024-02-29 18:00", -30.0),
        ("edge-b", "2025-06-30 23:00", 0.0),  # a zero-value purchase is an occasion
        # only returns: no purchase occasion, not a customer of the summaries
        ("edge-c", "2024-05-05", -3.0),
        # one purchase, on the observation end itself, and one after it (ignored)
        ("edge-d", f"{OBS} 22:30", 4.0),
        ("edge-d", "2025-10-02", 9.0),
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], format="ISO8601")
    return df


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    """A random log (5,000 rows, 300 customers, ~2 years, 5 % returns) plus the edge cases."""
    rng = np.random.default_rng(20240611)
    n = 5_000
    seconds = rng.integers(0, 640 * 86_400, n)
    amount = np.round(rng.gamma(2.0, 25.0, n), 2) * np.where(rng.random(n) < 0.05, -1.0, 1.0)
    df = pd.DataFrame(
        {
            "customer_id": (rng.zipf(1.6, n) % 300).astype(str),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(seconds, unit="s"),
            "amount": amount,
        }
    )
    return pd.concat([df, edge_cases()], ignore_index=True)


@pytest.fixture(scope="module")
def spark_log(spark, log):
    return spark.createDataFrame(log)


def assert_same(duck: pd.DataFrame, other: pd.DataFrame) -> None:
    """Equal up to row order and 1e-9 in floats (sums are added in a different order)."""
    assert len(duck) > 0
    keys = [c for c in ("customer_id", "cohort", "period", "gap", "censored") if c in duck.columns]
    if keys:
        duck = duck.sort_values(keys).reset_index(drop=True)
        other = other.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(duck, other, check_exact=False, rtol=1e-9, atol=1e-9)


CASES = {
    "summary": (customer_summary, {"unit": "D"}),  # observation end taken from the data (2025-10-02)
    "summary-holdout": (customer_summary, {"unit": "D", "calibration_end": "2024-12-31", "observation_end": OBS}),
    "cohorts-D": (cohort_counts, {"period": "D", "observation_end": OBS}),
    "cohorts-W": (cohort_counts, {"period": "W", "observation_end": OBS}),
    "cohorts-M": (cohort_counts, {"period": "M", "observation_end": OBS}),
    "cohorts-Q": (cohort_counts, {"period": "Q"}),  # observation end from the data
    "panel-M": (customer_period_panel, {"period": "M", "end": OBS}),
    "panel-W": (customer_period_panel, {"period": "W", "start": "2025-01-01", "end": OBS}),
    "gaps": (interpurchase_gaps, {"unit": "W", "observation_end": OBS}),
    "durations": (churn_durations, {"threshold": 60, "unit": "D", "observation_end": OBS}),
}


@pytest.fixture(scope="module")
def on_spark(spark_log):
    """Spark results by case, computed once (each Spark query costs seconds)."""
    cache: dict[str, pd.DataFrame] = {}

    def result(case: str) -> pd.DataFrame:
        if case not in cache:
            func, kwargs = CASES[case]
            cache[case] = func(spark_log, **kwargs)
        return cache[case]

    return result


@pytest.mark.parametrize("case", list(CASES))
def test_spark_equals_duckdb(case, log, on_spark):
    func, kwargs = CASES[case]
    assert_same(func(log, **kwargs), on_spark(case))


def test_day_boundaries_on_spark(on_spark):
    s = on_spark("summary")  # unit "D", observation end 2025-10-02
    a = s.loc["edge-a"]
    # 03-10, 03-11 (two receipts), 12-31, 01-01: four occasions
    assert a["n_purchases"] == 4 and a["frequency"] == 3
    assert a["first_purchase"] == pd.Timestamp("2024-03-10")
    assert a["first_purchase_value"] == pytest.approx(10.0)
    assert a["monetary_value"] == pytest.approx((12.5 + 1.0 + 2.0) / 3)
    assert "edge-c" not in s.index  # only returns
    assert s.loc["edge-b", "revenue"] == pytest.approx(-20.0)
    # 2025-09-30 22:30 and 2025-10-02 (the last day of the log): two days apart
    assert s.loc["edge-d", "T"] == 2 and s.loc["edge-d", "frequency"] == 1
    assert s.loc["edge-d", "first_purchase"] == pd.Timestamp("2025-09-30")
    q = on_spark("cohorts-Q")
    assert set(q["cohort"].dt.month) == {1, 4, 7, 10} and (q["cohort"].dt.day == 1).all()
    held = on_spark("summary-holdout").loc["edge-a"]  # calibration ends 2024-12-31 23:59:59.999...
    assert held["frequency"] == 2 and held["frequency_holdout"] == 1


def test_spark_sources_from_specs(spark, log, tmp_path):
    """Parquet read by Spark and a named Spark table with the client's headers mapped."""
    folder = tmp_path / "tx"
    folder.mkdir()
    half = len(log) // 2
    micros = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}  # Spark reads µs, not ns
    log.iloc[:half].to_parquet(folder / "part-0.parquet", **micros)
    log.iloc[half:].to_parquet(folder / "part-1.parquet", **micros)
    from_parquet = connect_source({"engine": "spark", "path": str(folder)}, spark_session=spark)
    expected = customer_summary(log, unit="W", calibration_end="2024-12-31", observation_end=OBS)
    assert_same(expected, customer_summary(from_parquet, unit="W", calibration_end="2024-12-31", observation_end=OBS))

    client = log.rename(columns={"customer_id": "card_no", "timestamp": "sold_at", "amount": "total_rub"})
    spark.createDataFrame(client.assign(store="s1")).createOrReplaceTempView("cxlab_client_receipts")
    spec = {
        "engine": "spark",
        "table": "cxlab_client_receipts",
        "columns": {"card_no": "customer_id", "sold_at": "timestamp", "total_rub": "amount"},
    }
    table = connect_source(spec, spark_session=spark)
    assert list(table.columns) == ["customer_id", "timestamp", "amount", "store"]
    expected = churn_durations(log, threshold=90, observation_end=OBS)
    assert_same(expected.reset_index(), churn_durations(table, threshold=90, observation_end=OBS).reset_index())
