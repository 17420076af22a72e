"""Benchmark: the data layer against hand-written DuckDB SQL and polars, on a 10,000,000-row Parquet log.

Goal (issue 17, item 2): every aggregation of ``cxlab.data`` — the per-customer summary with a
calibration/holdout split, cohort x month counts, the customer x month panel, inter-purchase gaps
and churn durations — within 1.1x of the equivalent hand-written DuckDB SQL on the same engine
(same DuckDB, same settings), faster than polars, at no more memory.

The peers at their best, measured in the same run on the same file:

* **DuckDB SQL**: one query per task, written by hand as a skilled user would (pre-aggregation to
  customer-days or customer-periods before joins, ``FILTER`` clauses, windows), fetched with
  ``.df()``; the same DuckDB and settings as cxlab (``preserve_insertion_order = false``).
* **polars**: lazy ``scan_parquet`` plans collected by the streaming engine, ``to_pandas()``, in
  their own virtual environment (``benchmarks/_envs/polars``).

Every peer produces exactly cxlab's frame (columns, dtypes, order, index), and the script checks it
(floats to 1e-9: sums are added in another order). Each contender runs in a fresh subprocess that
reports wall time from after its imports to the finished pandas frame, CPU time and peak RSS;
contenders alternate, ``--repeat`` times; each is shown by its fastest run (wall), its least CPU
time and its median peak RSS. Run: ``python benchmarks/bench_data.py [--rows N] [--repeat 3] [--tasks ...]``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _peers import best_of, load_note, peer_python, run  # noqa: E402

DATA = HERE / "_data"
CALIBRATION_END = "2024-06-30"
OBSERVATION_END = "2024-12-31"
LAST_MONTH = 2024 * 12 + 11  # the month ordinal (year * 12 + month - 1) of the observation end
THRESHOLD_DAYS = 90
TASKS = ("summary", "cohorts", "panel", "gaps", "durations")
RATIO_GOAL = 1.1


def make_log(rows: int) -> Path:
    """Write a synthetic log with DuckDB (hash-based pseudo-random columns), reused across runs.

    ``rows / 10`` customers with text ids, two years of timestamps, amounts from -100 to 4,900
    (2 % returns).
    """
    import duckdb

    path = DATA / f"tx_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    customers = max(rows // 10, 1)
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
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


# ----------------------------------------------------------------------------- cxlab
CXLAB = f"""
import pickle
task, path, out = sys.argv[1:4]
from cxlab.data import churn_durations, cohort_counts, customer_period_panel, customer_summary, interpurchase_gaps
import cxlab
t0, c0 = time.perf_counter(), time.process_time()
if task == "summary":
    result = customer_summary(path, unit="W", calibration_end="{CALIBRATION_END}", observation_end="{OBSERVATION_END}")
elif task == "cohorts":
    result = cohort_counts(path, period="M", observation_end="{OBSERVATION_END}")
elif task == "panel":
    result = customer_period_panel(path, period="M", end="{OBSERVATION_END}")
elif task == "gaps":
    result = interpurchase_gaps(path, unit="D", observation_end="{OBSERVATION_END}")
else:
    result = churn_durations(path, threshold={THRESHOLD_DAYS}, unit="D", observation_end="{OBSERVATION_END}")
report(t0, c0, rows=len(result), version="cxlab " + getattr(cxlab, "__version__", "?"))
with open(out, "wb") as f:
    pickle.dump(result, f)
"""

# ----------------------------------------------------------------------------- hand-written DuckDB SQL
CAL, OBS = f"DATE '{CALIBRATION_END}'", f"DATE '{OBSERVATION_END}'"
MONTH = 'year("timestamp") * 12 + month("timestamp") - 1'
SQL = {
    "summary": f"""
        WITH days AS (
          SELECT customer_id, CAST("timestamp" AS DATE) AS d,
                 sum(amount) FILTER (WHERE amount >= 0) AS value, sum(amount) AS net
          FROM read_parquet($path) WHERE CAST("timestamp" AS DATE) <= {OBS} GROUP BY ALL
        ), per AS (
          SELECT customer_id,
            min(d) FILTER (WHERE value IS NOT NULL AND d <= {CAL}) AS f,
            max(d) FILTER (WHERE value IS NOT NULL AND d <= {CAL}) AS l,
            count(*) FILTER (WHERE value IS NOT NULL AND d <= {CAL}) AS n,
            sum(value) FILTER (WHERE d <= {CAL}) AS total,
            arg_min(value, d) FILTER (WHERE value IS NOT NULL AND d <= {CAL}) AS fpv,
            sum(net) FILTER (WHERE d <= {CAL}) AS revenue,
            sum(coalesce(value, 0.0) - net) FILTER (WHERE d <= {CAL}) AS returns,
            count(*) FILTER (WHERE value IS NOT NULL AND d > {CAL}) AS fh,
            sum(value) FILTER (WHERE d > {CAL}) AS hv
          FROM days GROUP BY customer_id
        )
        SELECT customer_id, CAST(f AS TIMESTAMP_NS) AS first_purchase, CAST(l AS TIMESTAMP_NS) AS last_purchase,
          n - 1 AS frequency, (l - f) / 7.0 AS recency, ({CAL} - f) / 7.0 AS "T",
          CASE WHEN n > 1 THEN (total - fpv) / (n - 1) ELSE 0.0 END AS monetary_value,
          fpv AS first_purchase_value, n AS n_purchases, revenue, returns, fh AS frequency_holdout,
          CASE WHEN fh > 0 THEN hv / fh ELSE 0.0 END AS monetary_value_holdout,
          ({OBS} - {CAL}) / 7.0 AS duration_holdout
        FROM per WHERE f IS NOT NULL ORDER BY customer_id""",
    "cohorts": f"""
        WITH cp AS (
          SELECT customer_id, {MONTH} AS p, count(*) FILTER (WHERE amount >= 0) AS n, sum(amount) AS rev
          FROM read_parquet($path) WHERE CAST("timestamp" AS DATE) <= {OBS} GROUP BY ALL
        ), firsts AS (
          SELECT customer_id, min(p) FILTER (WHERE n > 0) AS cohort FROM cp GROUP BY ALL
        ), cells AS (
          SELECT cohort, greatest(p - cohort, 0) AS k, count(*) FILTER (WHERE n > 0) AS customers,
                 CAST(sum(n) AS BIGINT) AS transactions, sum(rev) AS revenue
          FROM cp JOIN firsts USING (customer_id) WHERE cohort IS NOT NULL GROUP BY ALL
        ), sizes AS (
          SELECT cohort, count(*) AS cohort_size FROM firsts WHERE cohort IS NOT NULL GROUP BY ALL
        ), grid AS (
          SELECT cohort, cohort_size, unnest(range(0, {LAST_MONTH} - cohort + 1)) AS k FROM sizes
        )
        SELECT CAST(make_date(cohort // 12, cohort % 12 + 1, 1) AS TIMESTAMP_NS) AS cohort, k AS period,
          coalesce(customers, 0) AS customers, coalesce(transactions, 0) AS transactions,
          coalesce(revenue, 0.0) AS revenue, cohort_size,
          make_date((cohort + k + 1) // 12, (cohort + k + 1) % 12 + 1, 1) <= {OBS} + 1 AS complete
        FROM grid LEFT JOIN cells USING (cohort, k) ORDER BY cohort, period""",
    "panel": f"""
        WITH cp AS (
          SELECT customer_id, {MONTH} AS p, count(*) FILTER (WHERE amount >= 0) AS n, sum(amount) AS rev
          FROM read_parquet($path) WHERE {MONTH} <= {LAST_MONTH} GROUP BY ALL
        ), firsts AS (
          SELECT customer_id, min(p) FILTER (WHERE n > 0) AS fp FROM cp GROUP BY ALL HAVING fp IS NOT NULL
        ), activity AS (
          SELECT customer_id, greatest(p, fp) AS p, sum(n) AS n, sum(rev) AS rev
          FROM cp JOIN firsts USING (customer_id) GROUP BY ALL
        ), grid AS (
          SELECT customer_id, unnest(range(fp, {LAST_MONTH} + 1)) AS p FROM firsts
        )
        SELECT customer_id, CAST(make_date(p // 12, p % 12 + 1, 1) AS TIMESTAMP_NS) AS period,
          CAST(coalesce(n, 0) AS BIGINT) AS transactions, coalesce(rev, 0.0) AS revenue
        FROM grid LEFT JOIN activity USING (customer_id, p) ORDER BY customer_id, p""",
    "gaps": f"""
        WITH days AS (
          SELECT DISTINCT customer_id, CAST("timestamp" AS DATE) AS d FROM read_parquet($path)
          WHERE amount >= 0 AND CAST("timestamp" AS DATE) <= {OBS}
        ), gaps AS (
          SELECT customer_id, d, lead(d) OVER (PARTITION BY customer_id ORDER BY d) AS next FROM days
        )
        SELECT customer_id, CAST(coalesce(next, {OBS}) - d AS DOUBLE) AS gap, next IS NULL AS censored
        FROM gaps ORDER BY customer_id, d""",
    "durations": f"""
        WITH per AS (
          SELECT customer_id, min(CAST("timestamp" AS DATE)) AS f, max(CAST("timestamp" AS DATE)) AS l
          FROM read_parquet($path) WHERE amount >= 0 AND CAST("timestamp" AS DATE) <= {OBS} GROUP BY ALL
        )
        SELECT customer_id, CAST(f AS TIMESTAMP_NS) AS start, CAST(l AS TIMESTAMP_NS) AS last_purchase,
          CAST(CASE WHEN {OBS} - l > {THRESHOLD_DAYS} THEN l - f ELSE {OBS} - f END AS DOUBLE) AS duration,
          {OBS} - l > {THRESHOLD_DAYS} AS event
        FROM per ORDER BY customer_id""",
}
DUCKDB_SQL = f"""
import pickle
task, path, out = sys.argv[1:4]
import duckdb
import pandas  # noqa: F401  (.df() would import it inside the timing)
SQL = {SQL!r}
t0, c0 = time.perf_counter(), time.process_time()
con = duckdb.connect(config={{"preserve_insertion_order": False}})  # timed: cxlab's first call makes its own
con.execute("SET enable_progress_bar = false")
result = con.sql(SQL[task], params={{"path": path}}).df()
if task in ("summary", "durations"):
    result = result.set_index("customer_id")
report(t0, c0, rows=len(result), version="duckdb " + duckdb.__version__)
with open(out, "wb") as f:
    pickle.dump(result, f)
"""

# ----------------------------------------------------------------------------- polars
POLARS = f"""
import datetime as dt, pickle
task, path, out = sys.argv[1:4]
import pandas as pd
import polars as pl
CAL, OBS = dt.date.fromisoformat("{CALIBRATION_END}"), dt.date.fromisoformat("{OBSERVATION_END}")
LAST = {LAST_MONTH}
c = pl.col
t0, c0 = time.perf_counter(), time.process_time()
tx = pl.scan_parquet(path)
buy = c("amount") >= 0
if task == "summary":
    days = (tx.with_columns(d=c("timestamp").dt.date()).filter(c("d") <= OBS)
            .group_by("customer_id", "d")
            .agg(value=pl.when(buy.any()).then(c("amount").filter(buy).sum()), net=c("amount").sum()))
    cal_buy = c("value").is_not_null() & (c("d") <= CAL)
    held = c("value").is_not_null() & (c("d") > CAL)
    per = days.group_by("customer_id").agg(
        f=c("d").filter(cal_buy).min(), l=c("d").filter(cal_buy).max(), n=cal_buy.sum().cast(pl.Int64),
        total=c("value").filter(cal_buy).sum(), fpv=c("value").filter(cal_buy).sort_by(c("d").filter(cal_buy)).first(),
        revenue=c("net").filter(c("d") <= CAL).sum(),
        returns=(c("value").fill_null(0.0) - c("net")).filter(c("d") <= CAL).sum(),
        fh=held.sum().cast(pl.Int64), hv=c("value").filter(held).sum())
    days_between = lambda a, b: (a - b).dt.total_days()
    q = (per.filter(c("f").is_not_null()).select(
        "customer_id", first_purchase=c("f").cast(pl.Datetime("ns")), last_purchase=c("l").cast(pl.Datetime("ns")),
        frequency=c("n") - 1, recency=days_between(c("l"), c("f")) / 7.0,
        T=days_between(pl.lit(CAL), c("f")) / 7.0,
        monetary_value=pl.when(c("n") > 1).then((c("total") - c("fpv")) / (c("n") - 1)).otherwise(0.0),
        first_purchase_value="fpv", n_purchases="n", revenue="revenue", returns="returns", frequency_holdout="fh",
        monetary_value_holdout=pl.when(c("fh") > 0).then(c("hv") / c("fh")).otherwise(0.0),
        duration_holdout=pl.lit((OBS - CAL).days / 7.0))
        .sort("customer_id"))
    result = q.collect(engine="streaming").to_pandas().set_index("customer_id")
elif task == "cohorts":
    cp = (tx.filter(c("timestamp").dt.date() <= OBS)
          .with_columns(p=c("timestamp").dt.year().cast(pl.Int64) * 12 + c("timestamp").dt.month().cast(pl.Int64) - 1)
          .group_by("customer_id", "p").agg(n=buy.sum().cast(pl.Int64), rev=c("amount").sum()))
    firsts = cp.group_by("customer_id").agg(cohort=c("p").filter(c("n") > 0).min()).filter(c("cohort").is_not_null())
    cells = (cp.join(firsts, on="customer_id").with_columns(k=pl.max_horizontal(c("p") - c("cohort"), pl.lit(0)))
             .group_by("cohort", "k").agg(customers=(c("n") > 0).sum().cast(pl.Int64), transactions=c("n").sum(),
                                          revenue=c("rev").sum()))
    sizes = firsts.group_by("cohort").agg(cohort_size=pl.len().cast(pl.Int64))
    grid = sizes.with_columns(k=pl.int_ranges(0, LAST - c("cohort") + 1)).explode("k")
    start = lambda o: pl.date(o // 12, o % 12 + 1, 1)
    q = (grid.join(cells, on=["cohort", "k"], how="left")
         .select(cohort=start(c("cohort")).cast(pl.Datetime("ns")), period=c("k").cast(pl.Int64),
                 customers=c("customers").fill_null(0), transactions=c("transactions").fill_null(0),
                 revenue=c("revenue").fill_null(0.0), cohort_size="cohort_size",
                 complete=start(c("cohort") + c("k") + 1) <= pl.lit(OBS + dt.timedelta(days=1)))
         .sort("cohort", "period"))
    result = q.collect(engine="streaming").to_pandas()
elif task == "panel":
    cp = (tx.with_columns(p=c("timestamp").dt.year().cast(pl.Int64) * 12 + c("timestamp").dt.month().cast(pl.Int64) - 1)
          .filter(c("p") <= LAST)
          .group_by("customer_id", "p").agg(n=buy.sum().cast(pl.Int64), rev=c("amount").sum()))
    firsts = cp.group_by("customer_id").agg(fp=c("p").filter(c("n") > 0).min()).filter(c("fp").is_not_null())
    activity = (cp.join(firsts, on="customer_id").with_columns(p=pl.max_horizontal("p", "fp"))
                .group_by("customer_id", "p").agg(c("n").sum(), c("rev").sum()))
    grid = firsts.with_columns(p=pl.int_ranges(c("fp"), LAST + 1)).explode("p").drop("fp")
    q = (grid.join(activity, on=["customer_id", "p"], how="left")
         .sort("customer_id", "p")
         .select("customer_id", period=pl.date(c("p") // 12, c("p") % 12 + 1, 1).cast(pl.Datetime("ns")),
                 transactions=c("n").fill_null(0), revenue=c("rev").fill_null(0.0)))
    result = q.collect(engine="streaming").to_pandas()
elif task == "gaps":
    days = (tx.filter(buy & (c("timestamp").dt.date() <= OBS)).select("customer_id", d=c("timestamp").dt.date())
            .unique().sort("customer_id", "d"))
    nxt = c("d").shift(-1).over("customer_id")
    q = days.select("customer_id", gap=(nxt.fill_null(pl.lit(OBS)) - c("d")).dt.total_days().cast(pl.Float64),
                    censored=nxt.is_null())
    result = q.collect(engine="streaming").to_pandas()
else:
    per = (tx.filter(buy & (c("timestamp").dt.date() <= OBS)).group_by("customer_id")
           .agg(f=c("timestamp").dt.date().min(), l=c("timestamp").dt.date().max()))
    event = (pl.lit(OBS) - c("l")).dt.total_days() > {THRESHOLD_DAYS}
    q = (per.select("customer_id", start=c("f").cast(pl.Datetime("ns")), last_purchase=c("l").cast(pl.Datetime("ns")),
                    duration=pl.when(event).then(c("l") - c("f")).otherwise(pl.lit(OBS) - c("f"))
                             .dt.total_days().cast(pl.Float64),
                    event=event)
         .sort("customer_id"))
    result = q.collect(engine="streaming").to_pandas().set_index("customer_id")
report(t0, c0, rows=len(result), version="polars " + pl.__version__)
with open(out, "wb") as f:
    pickle.dump(result, f)
"""


def same(ours, theirs, task: str, who: str) -> None:
    import pandas as pd

    try:
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9, atol=1e-9)
    except AssertionError as exc:
        raise AssertionError(f"{task}: {who} gives a different frame than cxlab:\n{exc}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender (the fastest is shown)")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--no-polars", action="store_true", help="skip polars (no environment to create)")
    args = parser.parse_args()
    import pickle

    t = time.perf_counter()
    path = make_log(args.rows)
    print(f"log: {path} ({args.rows:,} rows, ~{args.rows // 10:,} customers, {path.stat().st_size / 2**20:.0f} MiB; "
          f"ready in {time.perf_counter() - t:.1f} s)")
    contenders = {"cxlab": (CXLAB, None), "DuckDB SQL": (DUCKDB_SQL, None)}
    if not args.no_polars:
        contenders["polars"] = (POLARS, peer_python("polars"))
    print(f"machine: {load_note()}; {args.repeat} alternating runs each, the fastest shown")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            runs: dict[str, list[dict]] = {name: [] for name in contenders}
            for _ in range(args.repeat):
                for name, (code, python) in contenders.items():
                    out = Path(tmp) / f"{task}-{name.replace(' ', '_')}.pkl"
                    runs[name].append(run(code, task, path, out, python=python))
            results = {}
            for name in contenders:
                with open(Path(tmp) / f"{task}-{name.replace(' ', '_')}.pkl", "rb") as f:
                    results[name] = pickle.load(f)
            for name in contenders:
                if name != "cxlab":
                    same(results["cxlab"], results[name], task, name)
            best = {name: best_of(r) for name, r in runs.items()}
            rows.append((task, best, len(results["cxlab"])))
            print_task(task, best, len(results["cxlab"]))
            del results
    print_table(rows)


def print_task(task: str, best: dict, n: int) -> None:
    ours = best["cxlab"]
    parts = []
    for name, r in best.items():
        ratio = "" if name == "cxlab" else f", cxlab/{name} {ours['seconds'] / r['seconds']:.2f}x"
        parts.append(f"{name} {r['seconds']:.2f} s (CPU {r['cpu_seconds']:.1f} s), {r['peak_rss_mib'] / 1024:.2f} GiB{ratio}")
    print(f"{task} ({n:,} rows out; equal frames): " + "; ".join(parts), flush=True)


def print_table(rows: list) -> None:
    names = list(rows[0][1])
    peers = names[1:]
    versions = {name: rows[0][1][name].get("version", "?") for name in names}
    header = (["task"] + [f"{n}: s (CPU s), GiB" for n in names] + [f"time cxlab/{n} (CPU)" for n in peers]
              + [f"memory cxlab/{n}" for n in peers] + ["goal"])
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    all_met = {"seconds": True, "cpu_seconds": True}
    for task, best, _ in rows:
        ours = best["cxlab"]
        cells = [f"{best[n]['seconds']:.2f} ({best[n]['cpu_seconds']:.1f}), {best[n]['peak_rss_mib'] / 1024:.2f}"
                 for n in names]
        ratios = [f"{ours['seconds'] / best[n]['seconds']:.2f} ({ours['cpu_seconds'] / best[n]['cpu_seconds']:.2f})"
                  for n in peers]
        memory = [f"{ours['peak_rss_mib'] / best[n]['peak_rss_mib']:.2f}" for n in peers]
        memory_met = all(ours["peak_rss_mib"] <= best[n]["peak_rss_mib"] for n in peers)
        verdict = []
        for clock in ("seconds", "cpu_seconds"):
            met = memory_met
            if "DuckDB SQL" in best:
                met &= ours[clock] <= RATIO_GOAL * best["DuckDB SQL"][clock]
            if "polars" in best:
                met &= ours[clock] < best["polars"][clock]
            verdict.append("met" if met else "NOT met")
            all_met[clock] &= met
        print(f"| {task} | " + " | ".join(cells + ratios + memory) + f" | {verdict[0]} (CPU: {verdict[1]}) |")
    print("versions: " + "; ".join(versions.values()))
    print(f"goal (time <= {RATIO_GOAL}x DuckDB SQL and < polars, peak RSS <= both): "
          f"{'met' if all_met['seconds'] else 'NOT met'} by wall time, "
          f"{'met' if all_met['cpu_seconds'] else 'NOT met'} by CPU time "
          "(on a shared machine the CPU time is the steadier measure)")


if __name__ == "__main__":
    main()
