"""Benchmark: per-customer summary of a 10,000,000-row Parquet transaction log.

Goal (issue "Foundation", item 4): cxlab.data.customer_summary on a 10M-row Parquet log — purchases
on the same day merged, calibration/holdout split — in under 5 s including the read, faster than the
pandas read-and-groupby equivalent measured in the same run, with peak memory under 3 GiB.

Each contender runs in a fresh subprocess that reports its own wall time (from after its imports,
through reading the Parquet file, to the finished pandas frame) and peak RSS, so the numbers do not
include this script's memory. Run: ``python benchmarks/bench_summary.py [rows]``.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE / "_data"
CALIBRATION_END = "2024-06-30"
OBSERVATION_END = "2024-12-31"


def make_log(rows: int) -> Path:
    """Write a synthetic log with DuckDB (hash-based pseudo-random columns), reused across runs."""
    import duckdb

    path = DATA / f"tx_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    customers = max(rows // 10, 1)
    tmp = path.with_suffix(".tmp")
    duckdb.sql(
        f"""
        COPY (
          SELECT
            'C' || lpad(CAST(hash(i * 7 + 1) % {customers} AS VARCHAR), 8, '0') AS customer_id,
            TIMESTAMP '2023-01-01' + to_seconds(CAST(hash(i * 7 + 2) % (730 * 86400) AS BIGINT)) AS timestamp,
            round(CAST(hash(i * 7 + 3) % 500000 AS DOUBLE) / 100.0 - 100.0, 2) AS amount
          FROM range({rows}) t(i)
        ) TO '{tmp}' (FORMAT PARQUET, ROW_GROUP_SIZE 1000000)
        """
    )
    tmp.rename(path)
    return path


CXLAB = """
import json, resource, sys, time
t_import = time.perf_counter()
from cxlab.data import customer_summary
t0 = time.perf_counter()
imports = t0 - t_import
s = customer_summary(sys.argv[1], unit="W", calibration_end=sys.argv[2], observation_end=sys.argv[3])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "imports": imports, "customers": len(s), "frequency_sum": int(s.frequency.sum()),
                  "holdout_sum": int(s.frequency_holdout.sum()),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS = """
import json, resource, sys, time
import numpy as np, pandas as pd
t0 = time.perf_counter()
df = pd.read_parquet(sys.argv[1], columns=["customer_id", "timestamp", "amount"])
cal, obs = pd.Timestamp(sys.argv[2]), pd.Timestamp(sys.argv[3])
df["day"] = df["timestamp"].dt.normalize()
df = df[df["day"] <= obs]
buy = df[df["amount"] >= 0]
days = buy.groupby(["customer_id", "day"], sort=False, observed=True)["amount"].sum().reset_index()
calib = days[days["day"] <= cal]
g = calib.groupby("customer_id", sort=True)
first = g["day"].min(); last = g["day"].max(); n = g.size(); total = g["amount"].sum()
first_value = calib.sort_values("day").groupby("customer_id")["amount"].first()
hold = days[days["day"] > cal].groupby("customer_id").agg(f=("day", "size"), v=("amount", "sum"))
s = pd.DataFrame({"frequency": n - 1, "recency": (last - first).dt.days / 7, "T": (cal - first).dt.days / 7,
                  "monetary_value": np.where(n > 1, (total - first_value) / np.maximum(n - 1, 1), 0.0)})
s = s.join(hold, how="left").fillna({"f": 0, "v": 0.0})
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "customers": len(s), "frequency_sum": int(s.frequency.sum()),
                  "holdout_sum": int(s.f.sum()),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), CALIBRATION_END, OBSERVATION_END],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    t = time.perf_counter()
    path = make_log(rows)
    print(f"log: {path} ({rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB; prepared in {time.perf_counter() - t:.1f} s)")
    ours = run(CXLAB, path)
    base = run(PANDAS, path)
    assert ours["customers"] == base["customers"], (ours, base)
    assert ours["frequency_sum"] == base["frequency_sum"] and ours["holdout_sum"] == base["holdout_sum"], (ours, base)
    print(f"cxlab (DuckDB via Ibis): {ours['seconds']:.2f} s (+ {ours['imports']:.2f} s importing cxlab), peak RSS {ours['peak_rss_mib']:,.0f} MiB, "
          f"{ours['customers']:,} customers")
    print(f"pandas read + groupby  : {base['seconds']:.2f} s, peak RSS {base['peak_rss_mib']:,.0f} MiB")
    print(f"speed-up vs pandas: {base['seconds'] / ours['seconds']:.1f}x; memory ratio: "
          f"{ours['peak_rss_mib'] / base['peak_rss_mib']:.2f}")
    goal = ours["seconds"] < 5 and ours["peak_rss_mib"] < 3 * 1024 and ours["seconds"] < base["seconds"]
    print(f"goal (< 5 s, < 3 GiB, faster than pandas): {'met' if goal else 'NOT met'}")


if __name__ == "__main__":
    main()
