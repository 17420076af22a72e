"""A client whose transaction log stays in an engine (here: a Parquet folder read by DuckDB).

Issue "Beyond one machine", item 5: the report runner can point a client at such a source via its
config. The same keys select Spark or a warehouse (tests/data_layer/test_spark_equality.py shows
the aggregations agree across engines).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd
import pytest
import yaml

from cxlab.config import ConfigError, load_client_config
from cxlab.data import customer_summary, load_client_data

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo"


def parquet_client(root: Path, name: str = "bigretail", transactions: dict | None = None) -> Path:
    """The demo data with its transactions as a folder of Parquet files, the client's own headers."""
    folder = root / "data" / name
    (folder / "tx").mkdir(parents=True)
    tx = pd.read_csv(DEMO / "transactions.csv", parse_dates=["timestamp"], dtype={"customer_id": str})
    tx = tx.rename(columns={"customer_id": "card_no", "timestamp": "sold_at", "amount": "total"})
    half = len(tx) // 2
    tx.iloc[:half].to_parquet(folder / "tx" / "part-0.parquet")
    tx.iloc[half:].to_parquet(folder / "tx" / "part-1.parquet")
    for table in ("customers", "surveys", "campaigns"):
        shutil.copy(DEMO / f"{table}.csv", folder / f"{table}.csv")
    demo = yaml.safe_load((DEMO / "client.yml").read_text(encoding="utf-8"))
    demo["display_name"] = "Big Retail"
    demo["data"] = {
        "transactions": transactions
        or {"engine": "duckdb", "path": "tx/", "columns": {"card_no": "customer_id", "sold_at": "timestamp", "total": "amount"}},
        "customers": {"path": "customers.csv"},
        "surveys": {"path": "surveys.csv"},
        "campaigns": {"path": "campaigns.csv"},
    }
    (folder / "client.yml").write_text(yaml.safe_dump(demo, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "reports").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    return tmp_path


def test_engine_source_is_loaded_in_place_and_summarises_like_the_csv(root):
    parquet_client(root)
    cfg = load_client_config("bigretail", root)
    data = load_client_data(cfg.load_spec())
    assert isinstance(data.transactions, ir.Table)  # not pulled into pandas
    assert any("duckdb source" in issue.message for issue in data.quality.issues)
    csv = load_client_data({"transactions": {"path": DEMO / "transactions.csv"}})
    pd.testing.assert_frame_equal(
        customer_summary(data.transactions, calibration_end="2025-06-30"),
        customer_summary(csv.transactions, calibration_end="2025-06-30"),
    )


@pytest.mark.parametrize(
    "transactions, key, words",
    [
        ({"engine": "duckdb", "path": "../../../etc/*.parquet"}, "data.transactions.path", "outside"),
        ({"engine": "oracle", "table": "t"}, "data.transactions.engine", "engine must be one of"),
        ({"engine": "spark", "table": "t", "password": "x"}, "data.transactions.password", "unknown option"),
        ({"engine": "duckdb", "path": "tx/", "columns": {"card_no": "client"}}, "data.transactions.columns", "contract"),
    ],
)
def test_bad_engine_sources_are_refused_naming_the_key(root, transactions, key, words):
    parquet_client(root, transactions=transactions)
    with pytest.raises(ConfigError) as err:
        load_client_config("bigretail", root)
    assert key in str(err.value) and words in str(err.value) and "client.yml" in str(err.value)


def test_only_transactions_may_come_from_an_engine(root):
    folder = parquet_client(root)
    cfg = yaml.safe_load((folder / "client.yml").read_text(encoding="utf-8"))
    cfg["data"]["customers"] = {"engine": "duckdb", "path": "tx/"}
    (folder / "client.yml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    with pytest.raises(ConfigError, match="only the transactions table"):
        load_client_config("bigretail", root)


def test_report_renders_from_a_parquet_folder(root):
    """End to end: the report on the engine source equals the report on the same data as CSV."""
    from cxlab.report.runner import render_report

    parquet_client(root)
    shutil.copytree(DEMO, root / "data" / "demo")
    big = render_report("bigretail", root=root)
    ref = render_report("demo", root=root)
    for run in (big, ref):
        assert run.status == "ok" and Path(run.html).exists(), run
    metrics = json.loads(Path(big.metrics).read_text())
    expected = json.loads(Path(ref.metrics).read_text())
    values = metrics["metrics"]
    ref_values = expected["metrics"]
    assert values.keys() == ref_values.keys()
    # the loader's row-level checks (flagged returns, dropped repeats) do not run on an engine's table
    quality_metrics = {name for name in ref_values if name.startswith("rows_")}
    for name, value in ref_values.items():
        if name in quality_metrics:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert values[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
        else:
            assert values[name] == value, name
    run_info = json.loads((Path(big.run_dir) / "run.json").read_text())
    files = run_info["inputs"]["files"]["transactions"]
    assert files["files"] == 2 and len(files["sha256"]) == 64


def test_warehouse_table_fingerprint_follows_the_data():
    """A table that cannot be hashed byte by byte is fingerprinted by an engine-computed checksum."""
    from types import SimpleNamespace

    from cxlab.report.provenance import _engine_fingerprint

    tx = pd.read_csv(DEMO / "transactions.csv", parse_dates=["timestamp"], dtype={"customer_id": str})

    def fingerprint(frame):
        source = SimpleNamespace(path=None, engine={"engine": "spark", "table": "sales.receipts"},
                                 read_spec=lambda: frame)
        return _engine_fingerprint(source, REPO)

    first = fingerprint(tx)
    assert first["path"] == "spark:sales.receipts" and first["checksum"]["rows"] == len(tx)
    assert fingerprint(tx)["sha256"] == first["sha256"]
    changed = tx.copy()
    changed.loc[0, "amount"] += 1
    assert fingerprint(changed)["sha256"] != first["sha256"]
