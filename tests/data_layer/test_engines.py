"""Tests of cxlab.data.engines: source specs → Ibis tables (DuckDB here; Spark in test_spark_equality)."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from cxlab.data import (
    churn_durations,
    cohort_counts,
    customer_period_panel,
    customer_summary,
    interpurchase_gaps,
    transactions_table,
)
from cxlab.data.engines import (
    connect_source,
    duckdb_connection,
    duckdb_memory_limit,
    is_spark_dataframe,
)


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 2_000
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 150, n).astype(str),
            "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400 * 1440, n), unit="min"),
            "amount": np.round(rng.gamma(2.0, 20.0, n), 2) * np.where(rng.random(n) < 0.05, -1, 1),
        }
    )


@pytest.fixture(scope="module")
def client_folder(tmp_path_factory, log) -> object:
    """The log as a client would deliver it: two Parquet files, own headers, extra columns."""
    root = tmp_path_factory.mktemp("client")
    folder = root / "tx"
    folder.mkdir()
    client = log.rename(columns={"customer_id": "card", "timestamp": "sold_at", "amount": "sum_rub"})
    client["cashier"] = "x"
    half = len(client) // 2
    client.iloc[:half].to_parquet(folder / "a.parquet")
    client.iloc[half:].to_parquet(folder / "b.parquet")
    return root


MAPPING = {"card": "customer_id", "sold_at": "timestamp", "sum_rub": "amount"}


def test_parquet_folder_with_mapping_gives_the_pandas_summary(client_folder, log):
    spec = {"engine": "duckdb", "path": "tx", "columns": MAPPING}
    table = connect_source(spec, base_dir=client_folder)
    assert list(table.columns) == ["customer_id", "timestamp", "amount"]  # the cashier column is not carried
    expected = customer_summary(log, calibration_end="2024-09-30")
    pd.testing.assert_frame_equal(customer_summary(table, calibration_end="2024-09-30"), expected)
    # a glob, an absolute path, and no engine (a path means DuckDB)
    glob = {"path": str(client_folder / "tx" / "*.parquet"), "columns": MAPPING}
    pd.testing.assert_frame_equal(customer_summary(connect_source(glob), calibration_end="2024-09-30"), expected)


def test_aggregations_accept_a_spec(client_folder, log):
    spec = {"engine": "duckdb", "path": str(client_folder / "tx"), "columns": MAPPING}
    pd.testing.assert_frame_equal(customer_summary(spec, unit="D"), customer_summary(log, unit="D"))


def test_duckdb_database_file_table_and_query(tmp_path, log):
    dbs = [tmp_path / "warehouse.duckdb", tmp_path / "warehouse2.duckdb"]
    for db in dbs:  # two files: DuckDB opens a file once per process with one configuration
        with duckdb.connect(str(db)) as con:
            con.execute("CREATE SCHEMA sales")
            con.execute("CREATE TABLE sales.receipts AS SELECT * FROM log")
    expected = customer_summary(log, unit="D")
    by_table = connect_source({"engine": "duckdb", "url": str(dbs[0]), "table": "sales.receipts"})
    pd.testing.assert_frame_equal(customer_summary(by_table, unit="D"), expected)
    # any Ibis URL; a query instead of a table (here: only purchases of customers below "5")
    db = dbs[1]
    query = "SELECT * FROM sales.receipts WHERE customer_id < '5'"
    by_query = connect_source({"engine": "ibis", "url": f"duckdb://{db}", "query": query})
    pd.testing.assert_frame_equal(
        customer_summary(by_query, unit="D"), customer_summary(log[log.customer_id < "5"], unit="D")
    )


def test_url_reads_environment_variables(tmp_path, log, monkeypatch):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE tx AS SELECT * FROM log")
    spec = {"engine": "ibis", "url": "duckdb://${CXLAB_TEST_DB}", "table": "tx"}
    monkeypatch.delenv("CXLAB_TEST_DB", raising=False)
    with pytest.raises(ValueError, match="CXLAB_TEST_DB"):
        connect_source(spec)
    monkeypatch.setenv("CXLAB_TEST_DB", str(db))
    assert connect_source(spec).count().execute() == len(log)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"engine": "oracle9", "table": "t"}, "engine must be one of"),
        ({"table": "t"}, "engine must be one of"),
        ({"engine": "duckdb", "path": "x", "paht": "y"}, r"unknown key\(s\) \['paht'\]"),
        ({"engine": "duckdb"}, "needs `path`"),
        ({"engine": "postgres", "table": "sales.tx"}, "needs `url`"),
        ({"engine": "postgres", "url": "mysql://h/db", "table": "tx"}, "postgres://"),
        ({"engine": "postgres", "url": "postgres://h/db"}, "needs `table` or `query`"),
        ({"engine": "ibis", "url": "duckdb://", "table": "a.b.c.d"}, "table must be"),
    ],
)
def test_bad_specs_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        connect_source(spec)


def test_missing_file_and_columns_are_named(client_folder):
    with pytest.raises(FileNotFoundError, match="nope"):
        connect_source({"engine": "duckdb", "path": "nope"}, base_dir=client_folder)
    with pytest.raises(ValueError, match=r"\['kard'\] not in the source"):
        connect_source({"path": "tx", "columns": {"kard": "customer_id"}}, base_dir=client_folder)
    # the client's headers, unmapped: the error names the missing contract columns
    with pytest.raises(ValueError, match=r"missing required column\(s\) \['customer_id', 'timestamp', 'amount'\]"):
        connect_source({"path": "tx"}, base_dir=client_folder)
    with pytest.raises(ValueError, match="must map client column"):
        connect_source({"path": "tx", "columns": ["card"]}, base_dir=client_folder)


def test_duckdb_memory_limit_and_spill_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CXLAB_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("CXLAB_DUCKDB_TEMP_DIRECTORY", str(tmp_path / "spill"))
    assert duckdb_memory_limit() == "300MB"
    con = duckdb_connection()
    limit, spill = con.raw_sql("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert limit.replace(" ", "") in ("286.1MiB", "300.0MB", "300MB")  # DuckDB reports it in MiB
    assert spill == str(tmp_path / "spill")
    monkeypatch.delenv("CXLAB_DUCKDB_MEMORY_LIMIT")
    default = duckdb_memory_limit()
    assert default.endswith("MiB") and int(default[:-3]) > 0
    with pytest.raises(ValueError, match="memory_limit"):
        duckdb_connection(memory_limit="lots")


def test_pandas_frames_are_not_spark_frames(log):
    assert not is_spark_dataframe(log)
    assert transactions_table(log).count().execute() == len(log)


def test_postgres_source_gives_the_duckdb_results(log, postgres_url):
    """Every aggregation on a PostgreSQL table equals the DuckDB result (writes schema cxlab_test).

    ``postgres_url`` (tests/conftest.py) is a throw-away local server, or CXLAB_TEST_POSTGRES_URL.
    """
    import psycopg

    with psycopg.connect(postgres_url.replace("postgres://", "postgresql://", 1), autocommit=True) as con:
        con.execute("DROP SCHEMA IF EXISTS cxlab_test CASCADE; CREATE SCHEMA cxlab_test")
        con.execute("CREATE TABLE cxlab_test.receipts (card text, sold_at timestamp, sum_rub double precision)")
        with con.cursor().copy("COPY cxlab_test.receipts FROM STDIN") as copy:
            for row in log.itertuples(index=False):
                copy.write_row((row.customer_id, row.timestamp.to_pydatetime(), float(row.amount)))
    table = connect_source({"engine": "postgres", "url": postgres_url, "table": "cxlab_test.receipts", "columns": MAPPING})
    obs = "2025-01-31"
    cases = [
        (customer_summary, {"unit": "W", "calibration_end": "2024-09-30", "observation_end": obs}),
        *[(cohort_counts, {"period": p, "observation_end": obs}) for p in ("D", "W", "M", "Q")],
        (customer_period_panel, {"period": "M"}),
        (interpurchase_gaps, {"observation_end": obs}),
        (churn_durations, {"threshold": 60, "observation_end": obs}),
    ]
    for func, kwargs in cases:
        expected, got = func(log, **kwargs), func(table, **kwargs)
        keys = [c for c in ("customer_id", "cohort", "period", "gap", "censored") if c in expected.columns]
        if keys:
            expected = expected.sort_values(keys).reset_index(drop=True)
            got = got.sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(expected, got, check_exact=False, rtol=1e-9, atol=1e-9)
