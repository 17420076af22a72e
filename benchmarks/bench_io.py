"""Benchmark: cxlab.data.read_table against plain pandas readers, measured in the same run.

Goal (issue "Foundation", data loading item 7): validating a 10,000,000-row Parquet transaction log
with ``read_table`` (types, required values, bounds, future dates, exact duplicates, returns) should
cost about what ``pandas.read_parquet`` alone costs — every check is a vectorised mask, no Python
loop over rows.  Also times a 1,000,000-row Russian-style CSV (Windows-1251, ``;``, decimal commas,
day-first dates) against ``pandas.read_csv`` with ``decimal=","`` (which parses no dates at all).

Prints each wall time and the ratio read_table / pandas.  Run:
``python benchmarks/bench_io.py [parquet_rows] [csv_rows]``.  Data files are written once under
``benchmarks/_data/`` and reused.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
DATA = HERE / "_data"


def make_parquet(rows: int) -> Path:
    """A synthetic log with string ids (1 per 10 rows), timestamps, amounts with 3 % returns, channel."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA / f"io_tx_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    ids = np.char.add("C", rng.integers(0, max(rows // 10, 1), rows).astype("U8"))
    seconds = rng.integers(0, 730 * 86400, rows).astype("timedelta64[s]")
    amount = np.round(rng.gamma(2.0, 30.0, rows) * np.where(rng.random(rows) < 0.03, -1, 1), 2)
    channel = pa.array(rng.choice(["store", "web", "app"], rows)).dictionary_encode()
    table = pa.table({
        "customer_id": pa.array(ids),
        "timestamp": pa.array((np.datetime64("2023-01-01") + seconds).astype("datetime64[us]")),
        "amount": pa.array(amount),
        "channel": channel,
    })
    pq.write_table(table, path)
    return path


def make_csv(rows: int) -> Path:
    path = DATA / f"io_tx_{rows}_cp1251.csv"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 730 * 1440, rows), unit="min")
    frame = pd.DataFrame({
        "Клиент": pd.Series(rng.integers(0, max(rows // 10, 1), rows)).map("{:07d}".format),
        "Дата": ts.strftime("%d.%m.%Y %H:%M"),
        "Сумма": pd.Series(rng.gamma(2.0, 30.0, rows)).map("{:.2f}".format).str.replace(".", ",", regex=False),
        "Канал": rng.choice(["магазин", "сайт"], rows),
    })
    frame.to_csv(path, sep=";", index=False, encoding="cp1251")
    return path


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    from cxlab.data.io import read_table

    pq_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    csv_rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000

    path = make_parquet(pq_rows)
    base, frame = timed(lambda: pd.read_parquet(path))
    del frame
    ours, loaded = timed(lambda: read_table(path, today="2100-01-01"))
    print(f"Parquet {pq_rows:,} rows: pandas.read_parquet {base:.2f} s, read_table {ours:.2f} s, "
          f"ratio {ours / base:.2f}  ({loaded.quality.count('flagged'):,} returns flagged)")
    del loaded

    path = make_csv(csv_rows)
    mapping = {"Клиент": "customer_id", "Дата": "timestamp", "Сумма": "amount", "Канал": "channel"}
    base, _ = timed(lambda: pd.read_csv(path, sep=";", encoding="cp1251", decimal=",", dtype={"Клиент": str}))
    ours, _ = timed(lambda: read_table(path, columns=mapping, today="2100-01-01"))
    print(f"CSV {csv_rows:,} rows (cp1251, ';', decimal comma, day-first dates): pandas.read_csv {base:.2f} s "
          f"(no date parsing), read_table {ours:.2f} s, ratio {ours / base:.2f}")


if __name__ == "__main__":
    main()
