"""Containment: every file a client configuration can reach lies inside data/<client>/."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from ._corpus import rows

corpus = pytest.mark.corpus
pytestmark = pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402


def _parquet(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"customer_id": ["1", "2"], "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                             "amount": [1.0, 2.0]}), path)


@pytest.fixture
def outside(project):
    """A secret Parquet file and CSV outside data/, and another client's folder inside data/."""
    secret = project.root / "outside"
    _parquet(secret / "secret.parquet")
    (secret / "secret.csv").write_text(rows("1;2024-01-05;10"), encoding="utf-8")
    project.client("other", files={"tx.csv": rows("1;2024-01-05;10")})
    return secret


def _engine(path, **extra):
    return {"currency": "RUB", "data": {"transactions": {"engine": "duckdb", "path": path, **extra}}}


@corpus("containment", "error")
def test_dotdot_after_a_wildcard_in_an_engine_glob(project, outside):
    project.client(files={"sub1/x.parquet": _parquet}, config=_engine("sub*/../../../outside/*.parquet"))
    msg = project.error()
    assert "data.transactions.path" in msg and "'..' is not allowed in a path with wildcards" in msg


@corpus("containment", "error")
def test_glob_match_that_is_a_symlink_out(project, outside):
    folder = project.client(files={"tx/a.parquet": _parquet}, config=_engine("tx/*.parquet"))
    (folder / "tx" / "b.parquet").symlink_to(outside / "secret.parquet")
    msg = project.error()
    assert "b.parquet" in msg and "outside the client's folder" in msg


@corpus("containment", "error")
def test_hidden_glob_match_that_is_a_symlink_out(project, outside):
    folder = project.client(files={"tx/a.parquet": _parquet}, config=_engine("tx/*.parquet"))
    (folder / "tx" / ".hidden.parquet").symlink_to(outside / "secret.parquet")
    assert "outside the client's folder" in project.error()


@corpus("containment", "error")
def test_engine_folder_holding_a_symlinked_folder_out(project, outside):
    folder = project.client(files={"tx/a.parquet": _parquet}, config=_engine("tx/"))
    (folder / "tx" / "more").symlink_to(outside, target_is_directory=True)
    msg = project.error()
    assert "tx/more" in msg and "outside the client's folder" in msg


@corpus("containment", "error")
def test_engine_glob_anchored_outside(project, outside):
    project.client(config=_engine(str(outside / "*.parquet")))
    assert "outside the client's folder" in project.error()


@corpus("containment", "error")
def test_file_path_into_another_clients_folder(project, outside):
    project.client(config={"currency": "RUB", "data": {"transactions": "../other/tx.csv"}})
    msg = project.error()
    assert "data.transactions.path" in msg and "outside the client's folder" in msg and "data/acme" in msg


@corpus("containment", "error")
def test_absolute_path_outside(project, outside):
    project.client(config={"currency": "RUB", "data": {"transactions": str(outside / "secret.csv")}})
    assert "outside the client's folder" in project.error()


@corpus("containment", "error")
def test_symlinked_data_file_out(project, outside):
    folder = project.client(config={"currency": "RUB", "data": {"transactions": "tx.csv",
                                                                  "customers": "cu.csv"}},
                            files={"tx.csv": rows("1;2024-01-05;10")})
    (folder / "cu.csv").symlink_to(outside / "secret.csv")
    msg = project.error()
    assert "data.customers.path" in msg and "outside the client's folder" in msg


@corpus("containment", "error")
def test_duckdb_database_outside(project, outside):
    project.client(config={"currency": "RUB", "data": {"transactions": {
        "engine": "duckdb", "url": f"duckdb://{outside / 'x.duckdb'}", "table": "tx"}}})
    (outside / "x.duckdb").write_bytes(b"")
    msg = project.error()
    assert "data.transactions.url" in msg and "outside the client's folder" in msg


@corpus("containment", "error")
def test_local_sql_query_is_refused(project, outside):
    project.client(files={"db.duckdb": b""}, config={"currency": "RUB", "data": {"transactions": {
        "engine": "duckdb", "url": "db.duckdb", "query": f"select * from read_parquet('{outside}/secret.parquet')"}}})
    msg = project.error()
    assert "data.transactions.query" in msg and "can read any file" in msg


@corpus("containment", "error")
def test_spark_query_reading_a_path_is_refused(project, outside):
    project.client(config={"currency": "RUB", "data": {"transactions": {
        "engine": "spark", "query": f"select * from parquet.`{outside}/secret.parquet`"}}})
    assert "reads files by path" in project.error()


@corpus("containment", "error")
def test_spark_local_path_outside(project, outside):
    project.client(config={"currency": "RUB", "data": {"transactions": {
        "engine": "spark", "path": f"file://{outside}/secret.parquet"}}})
    assert "outside the client's folder" in project.error()


@corpus("containment", "error")
def test_spill_folder_is_not_a_client_setting(project):
    project.client(files={"tx/a.parquet": _parquet}, config=_engine("tx/", temp_directory="/etc"))
    assert "CXLAB_DUCKDB_TEMP_DIRECTORY" in project.error()


@corpus("containment", "result")
def test_globs_and_folders_inside_the_client_folder_work(project, outside):
    project.client(files={"tx/2024/a.parquet": _parquet, "tx/2025/b.parquet": _parquet},
                   config=_engine("tx/**/*.parquet"))
    cfg, data = project.load()
    from cxlab.data import log_overview

    assert log_overview(data.transactions)["rows"] == 4


@corpus("containment", "error")
def test_client_yml_that_is_a_link_out(project, outside):
    folder = project.client(files={"tx.csv": rows("1;2024-01-05;10")})
    (outside / "client.yml").write_text("currency: RUB\ndata: {transactions: tx.csv}\n", encoding="utf-8")
    (folder / "client.yml").unlink()
    (folder / "client.yml").symlink_to(outside / "client.yml")
    msg = project.error()
    assert "client.yml resolves to" in msg and "outside the client's folder" in msg


@corpus("containment", "error")
def test_data_path_that_is_a_folder(project):
    project.client(files={"tx/a.csv": rows("1;2024-01-05;10")}, transactions={"path": "tx"})
    assert "is a folder; give a file" in project.error()
