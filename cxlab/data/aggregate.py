"""Transaction log → the tables the analyses need, computed by an analytical engine.

This module is the only place in cxlab that reads transaction-level data.
Every function takes a *transaction source* — a pandas DataFrame in the
contract's columns, a path to a Parquet file/folder/glob, or an Ibis table on
any backend (DuckDB, PySpark, PostgreSQL, ...) — builds one Ibis expression and
returns a (small) pandas frame. The heavy work (scans, group-bys, windows) runs
inside the engine: DuckDB for local data, out of core; Spark or a warehouse for
a client's cluster, unchanged.

Conventions (Fader & Hardie; the ``lifetimes`` package):

* A *purchase occasion* is a customer's calendar day with at least one
  non-negative transaction (``merge_same_day=True``): several receipts on the
  same day count once and their amounts add up. Returns (negative amounts) do
  not create purchase occasions; they reduce ``revenue``.
* ``frequency`` is the number of *repeat* purchase occasions, ``recency`` the
  time from the first to the last purchase, ``T`` the time from the first
  purchase to the end of the calibration period, all in ``unit``.
* Days are counted between calendar dates: a customer first seen on
  1997-01-01 has ``T = 272 / 7`` weeks at a 1997-09-30 calibration end.
* ``customer_id`` keeps the type it has in the source: integer ids come back
  as integers, text as text.
* A date-time with a time zone is counted in the calendar of its zone (the
  wall clock); nanosecond, millisecond and microsecond timestamps give the
  same results.

Two routes to the engine give identical frames (tests compare them): local
data — a pandas frame, a Parquet path, any table on a DuckDB connection — is
aggregated by hand-written DuckDB SQL sent straight to DuckDB and fetched as
Arrow (no Ibis compilation, casts or pandas round trips, so it runs as fast as
a query a user would write); every other engine gets the same aggregation as
an Ibis expression.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from cxlab.data import engines
from cxlab.units import UNIT_DAYS, unit_days

__all__ = [
    "UNIT_DAYS",
    "PERIODS",
    "transactions_table",
    "log_overview",
    "customer_summary",
    "cohort_counts",
    "customer_period_panel",
    "customer_period_moments",
    "interpurchase_gaps",
    "interpurchase_gap_counts",
    "purchase_days",
    "churn_durations",
    "activity_around",
    "durations_from_summary",
    "transactions_of",
    "period_start",
    "discount_calendar",
    "discount_cells",
    "DISCOUNT_BAND_EDGES",
]

#: Length of each time unit in days ("M" is the mean Gregorian month).
#: Calendar periods for cohorts and panels: day, ISO week (Monday), month, quarter.
PERIODS = ("D", "W", "M", "Q")

_REQUIRED = ("customer_id", "timestamp", "amount")
_EPOCH = pd.Timestamp("1970-01-01")
# 1969-12-29 is the Monday before the epoch: week ordinals count Monday-based weeks from it.
_WEEK_ORIGIN = pd.Timestamp("1969-12-29")


# ----------------------------------------------------------------------------- sources
def transactions_table(source: Any) -> ir.Table:
    """Return the transaction source as an Ibis table with the contract's columns.

    Parameters
    ----------
    source : DataFrame, str, Path, dict, ibis Table, Spark DataFrame, or an object with ``.transactions``
        A pandas frame (registered with DuckDB, zero-copy through Arrow), a
        Parquet file, folder or glob (read lazily by DuckDB), a source spec
        for :func:`cxlab.data.engines.connect_source` (``{"engine": "spark",
        "table": "db.tx"}``), an Ibis table on any backend, a
        ``pyspark.sql.DataFrame`` (kept in Spark), or a
        :class:`cxlab.data.ClientData`.

    Raises
    ------
    ValueError
        If a required column (customer_id, timestamp, amount) is missing.
    """
    if hasattr(source, "transactions") and not isinstance(source, (pd.DataFrame, ir.Table)):
        source = source.transactions
    if isinstance(source, Mapping):  # a client.yml source spec: {"engine": ..., "path"/"table": ...}
        return engines.connect_source(source)
    if engines.is_spark_dataframe(source):  # stays in Spark, as a temporary view
        source = engines.spark_dataframe_table(source)
    if isinstance(source, ir.Table):
        table = source
        name = "the transaction table"
    elif isinstance(source, pd.DataFrame):
        _check_columns(list(source.columns), "the transactions frame")
        keep = [c for c in source.columns if c in (*_REQUIRED, "is_return", "margin", "discount")]
        table = ibis.memtable(source[keep])
        engines.quiet(ibis.get_backend())
        name = "the transactions frame"
    elif isinstance(source, (str, os.PathLike)):
        table = engines.read_parquet(source)  # DuckDB with a memory limit and a spill folder: out of core
        name = str(source)
    else:
        raise TypeError(
            "transactions must be a pandas DataFrame, a Parquet path, a source spec, an Ibis table "
            "or a Spark DataFrame, "
            f"not {type(source).__name__}"
        )
    _check_columns(list(table.columns), name)
    if not table.timestamp.type().is_temporal():
        raise ValueError(f"{name}: column 'timestamp' must hold dates or date-times, found {table.timestamp.type()}")
    if not table.amount.type().is_numeric():
        raise ValueError(f"{name}: column 'amount' must be numeric, found {table.amount.type()}")
    return table


def _check_columns(columns: list[str], name: str) -> None:
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise ValueError(
            f"{name}: missing required column(s) {missing}; found {columns}. "
            "Map the client's headers onto the contract with `columns:` in client.yml."
        )


# ----------------------------------------------------------------------------- helpers
def _day_number(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Days since 1970-01-01 of the calendar date of ``ts`` (portable across engines)."""
    return ts.date().delta(ibis.date(1970, 1, 1), unit="day")


def _to_day_number(value: Any, what: str) -> int | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{what} must be a date, got {value!r}") from None
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int((ts.normalize() - _EPOCH).days)


def _purchase_days(t: ir.Table) -> ir.Table:
    """One row per customer and purchase day: ``day`` (day number), ``value`` (day's spend).

    Returns are excluded here: they do not make a purchase occasion.
    """
    purchases = t.filter(t.amount >= 0)
    return purchases.group_by(customer_id=purchases.customer_id, day=_day_number(purchases.timestamp)).aggregate(
        value=purchases.amount.sum()
    )


def _count_true(condition: ir.BooleanColumn) -> ir.IntegerScalar:
    """Number of rows where ``condition`` holds (PostgreSQL cannot cast boolean to bigint)."""
    return ibis.ifelse(condition, 1, 0).sum()


def _observation_end_day(t: ir.Table, observation_end: Any) -> int:
    if observation_end is not None:
        return _to_day_number(observation_end, "observation_end")
    last = t.aggregate(last=_day_number(t.timestamp).max()).to_pandas()["last"].iloc[0]
    if pd.isna(last):
        raise ValueError("the transaction source is empty: nothing to summarise")
    return int(last)


def _days_to_timestamp(days: pd.Series) -> pd.Series:
    ns = np.asarray(days, dtype="int64") * np.int64(86_400_000_000_000)
    return pd.Series(ns.view("datetime64[ns]"), index=getattr(days, "index", None))


def _sorted_frame(expr: ir.Table, key: str) -> pd.DataFrame:
    """Execute and return a pandas frame sorted by ``key``.

    Engines return group-by results in no fixed order; sorting makes every
    downstream number reproducible. Arrow's sort is used because it is much
    faster than an engine-side ORDER BY or a pandas sort on string keys.
    """
    import pyarrow.compute as pc

    table = expr.to_pyarrow()
    return _pandas(table.take(pc.sort_indices(table, sort_keys=[(key, "ascending")])))


def _period_ordinal(ts: ir.TimestampValue, period: str) -> ir.IntegerValue:
    """Integer index of the calendar period containing ``ts`` (consecutive periods differ by 1)."""
    if period == "D":
        return _day_number(ts)
    if period == "W":
        return (_day_number(ts) + 3) // 7  # Monday-based weeks: day 0 is a Thursday
    if period == "M":
        return ts.year() * 12 + ts.month() - 1
    if period == "Q":
        return ts.year() * 4 + (ts.month() - 1) // 3
    raise ValueError(f"period must be one of {PERIODS}, got {period!r}")


def _ordinal_of(value: Any, period: str) -> int:
    ts = pd.Timestamp(value)
    if period == "D":
        return int((ts.normalize() - _EPOCH).days)
    if period == "W":
        return int(((ts.normalize() - _EPOCH).days + 3) // 7)
    if period == "M":
        return ts.year * 12 + ts.month - 1
    if period == "Q":
        return ts.year * 4 + (ts.month - 1) // 3
    raise ValueError(f"period must be one of {PERIODS}, got {period!r}")


def period_start(ordinal: np.ndarray | pd.Series, period: str) -> pd.Series:
    """Inverse of the period ordinal: the first day of each period, as Timestamps."""
    o = pd.Series(np.asarray(ordinal, dtype="int64"))
    if period == "D":
        return _EPOCH + pd.to_timedelta(o, unit="D")
    if period == "W":
        return _WEEK_ORIGIN + pd.to_timedelta(o * 7, unit="D")
    if period in ("M", "Q"):
        months = o if period == "M" else o * 3
        years, month0 = np.divmod(months.to_numpy(), 12)
        return pd.Series(pd.to_datetime({"year": years, "month": month0 + 1, "day": 1}))
    raise ValueError(f"period must be one of {PERIODS}, got {period!r}")


def _period_end_day(ordinal: pd.Series, period: str) -> pd.Series:
    """Day number of the last day of each period."""
    nxt = period_start(ordinal + 1, period)
    return (nxt - _EPOCH).dt.days - 1


# ----------------------------------------------------------------------------- the DuckDB route
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT")
_NUMERIC_TYPES = (*_INTEGER_TYPES, "FLOAT", "REAL", "DOUBLE")


class _Duck:
    """Transactions as DuckDB SQL: ``sql`` selects ``customer_id``, ``ts`` and ``amount``.

    ``ts`` is a plain ``TIMESTAMP`` of wall-clock time (see
    :func:`cxlab.data.engines.wall_clock_sql`) and ``amount`` a ``DOUBLE``.
    Queries run on ``con`` and come back as Arrow tables.
    """

    def __init__(self, con: Any, sql: str, close: Any = None) -> None:
        self.con, self.sql, self._close = con, sql, close

    def arrow(self, query: str):
        return self.con.sql(query).to_arrow_table()

    def __enter__(self) -> "_Duck":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._close is not None:
            self._close()


def _duck(source: Any, extra: tuple[str, ...] = ()) -> _Duck | None:
    """The DuckDB route for ``source``, or None when it lives elsewhere (Spark, a warehouse, a memtable).

    ``extra`` names optional numeric contract columns (e.g. ``discount``) the query also needs: they are
    selected as ``DOUBLE`` beside the three required ones, and a source without them is an error.
    """
    if hasattr(source, "transactions") and not isinstance(source, (pd.DataFrame, ir.Table)):
        source = source.transactions
    if isinstance(source, pd.DataFrame):
        _check_columns(list(source.columns), "the transactions frame")
        cur = engines.duckdb_raw_connection().cursor()
        view = ibis.util.gen_name("cxlab_frame")
        # Scanned in place (no copy); only the contract's columns, so that other columns of types
        # DuckDB does not read (periods, intervals, mixed objects) cannot get in the way.
        _check_extra(list(source.columns), extra, "the transactions frame")
        cur.register(view, pd.DataFrame({c: source[c] for c in (*_REQUIRED, *extra)}, copy=False))
        zone = getattr(source["timestamp"].dtype, "tz", None)
        zones = {"timestamp": str(zone)} if zone is not None else {}
        try:
            return _Duck(cur, _normalised(cur, engines.sql_name(view), zones, "the transactions frame", extra=extra),
                         cur.close)
        except Exception:
            cur.close()
            raise
    if isinstance(source, (str, os.PathLike)):
        pattern = engines.parquet_pattern(source)
        cur = engines.duckdb_raw_connection().cursor()
        relation = f"read_parquet({engines.sql_string(pattern)})"
        try:
            return _Duck(cur, _normalised(cur, relation, None, str(source), pattern=pattern, extra=extra), cur.close)
        except Exception:
            cur.close()
            raise
    if isinstance(source, Mapping):
        source = engines.connect_source(source)
    if isinstance(source, ir.Table):
        try:
            backend = source._find_backend(use_default=False)
        except Exception:  # noqa: BLE001 - an unbound memtable: the Ibis route runs it
            return None
        if getattr(backend, "name", None) != "duckdb":
            return None
        _check_columns(list(source.columns), "the transaction table")
        _check_extra(list(source.columns), extra, "the transaction table")
        source = source.select("customer_id", "timestamp", "amount", *extra)
        backend._run_pre_execute_hooks(source)  # registers the memtables the expression uses
        dtype = source.timestamp.type()
        zones = {"timestamp": dtype.timezone} if dtype.is_timestamp() and dtype.timezone else {}
        relation = f"({ibis.to_sql(source, dialect='duckdb')})"
        return _Duck(backend.con, _normalised(backend.con, relation, zones, "the transaction table", extra=extra))
    return None


def _check_extra(columns: list[str], extra: tuple[str, ...], name: str) -> None:
    missing = [c for c in extra if c not in columns]
    if missing:
        raise ValueError(f"{name}: this analysis needs the optional column(s) {missing}; found {columns}. "
                         "Map the client's header onto it with `columns:` in client.yml.")


def _normalised(con: Any, relation: str, zones: dict | None, name: str, pattern: str | None = None,
                extra: tuple[str, ...] = ()) -> str:
    """SELECT of the contract's three columns (and the ``extra`` ones) from ``relation``, checked and normalised."""
    types = {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    _check_columns(list(types), name)
    _check_extra(list(types), extra, name)
    for column in extra:
        kind = types[column].upper()
        if not (kind in _NUMERIC_TYPES or kind.startswith("DECIMAL") or kind == '"NULL"'):
            raise ValueError(f"{name}: column {column!r} must be numeric, found {types[column]}")
    ts_type, amount_type = types["timestamp"].upper(), types["amount"].upper()
    if not (ts_type == "DATE" or ts_type.startswith("TIMESTAMP")):
        raise ValueError(f"{name}: column 'timestamp' must hold dates or date-times, found {types['timestamp']}")
    if not (amount_type in _NUMERIC_TYPES or amount_type.startswith("DECIMAL")):
        raise ValueError(f"{name}: column 'amount' must be numeric, found {types['amount']}")
    if zones is None:  # a Parquet path: zone names live in the files' Arrow schema
        zoned = "TIME ZONE" in ts_type or ts_type.startswith("TIMESTAMPTZ")
        zones = engines.parquet_time_zones(pattern) if zoned else {}
    ts = engines.wall_clock_sql("timestamp", ts_type, zones.get("timestamp"))
    if ts is None:
        ts = 'CAST("timestamp" AS TIMESTAMP)' if ts_type == "DATE" else '"timestamp"'
    cid = '"customer_id"'
    if types["customer_id"].upper().startswith("ENUM"):  # a pandas categorical: its categories' type
        cid = 'CAST("customer_id" AS VARCHAR)'
    more = "".join(f', CAST("{c}" AS DOUBLE) AS "{c}"' for c in extra)
    return f'SELECT {cid} AS customer_id, {ts} AS ts, CAST("amount" AS DOUBLE) AS amount{more} FROM {relation}'


def _date_sql(day: int) -> str:
    return f"DATE '{(_EPOCH + pd.Timedelta(days=int(day))).date().isoformat()}'"


def _float_sql(x: float) -> str:
    return f"CAST({float(x)!r} AS DOUBLE)"


_DAY_SQL = "CAST(ts AS DATE)"


def _ordinal_sql(period: str) -> str:
    """SQL of :func:`_period_ordinal` on ``ts``."""
    if period == "D":
        return f"({_DAY_SQL} - DATE '1970-01-01')"
    if period == "W":
        return f"CAST(fdiv(({_DAY_SQL} - DATE '1970-01-01') + 3, 7) AS BIGINT)"
    if period == "M":
        return "(year(ts) * 12 + month(ts) - 1)"
    if period == "Q":
        return "(year(ts) * 4 + (month(ts) - 1) // 3)"
    raise ValueError(f"period must be one of {PERIODS}, got {period!r}")


def _period_start_sql(ordinal: str, period: str) -> str:
    """SQL of :func:`period_start`: the first day (DATE) of period ``ordinal``."""
    if period == "D":
        return f"(DATE '1970-01-01' + CAST({ordinal} AS INTEGER))"
    if period == "W":
        return f"(DATE '1969-12-29' + CAST(7 * ({ordinal}) AS INTEGER))"
    months = f"({ordinal})" if period == "M" else f"(3 * ({ordinal}))"
    return f"make_date(CAST(fdiv({months}, 12) AS BIGINT), CAST({months} - 12 * fdiv({months}, 12) + 1 AS BIGINT), 1)"


def _last_day_sql(duck: _Duck) -> int:
    last = duck.con.sql(f"SELECT max({_DAY_SQL}) - DATE '1970-01-01' FROM ({duck.sql})").fetchall()[0][0]
    if last is None:
        raise ValueError("the transaction source is empty: nothing to summarise")
    return int(last)


def _frame(duck: _Duck, query: str, index: str | None = None) -> pd.DataFrame:
    """The result of ``query`` as pandas, ``index`` as its index.

    Fetched as Arrow and converted column by column, each Arrow buffer freed
    once converted (``self_destruct``; no consolidation copy), and without
    Arrow's de-duplication of strings, which only costs time on ids that are
    all different: as fast as DuckDB's own ``.df()`` at a lower peak.
    """
    df = _pandas(duck.arrow(query))
    if index is not None:
        values = df.pop(index)
        df.index = pd.Index(values.to_numpy(), name=index, dtype=values.dtype, copy=False)
    return df


def _pandas(table: Any) -> pd.DataFrame:
    return table.to_pandas(split_blocks=True, self_destruct=True, deduplicate_objects=False)


def _runs(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted Arrow id column and the length of each one's run of rows.

    ``np.repeat(values, lengths)`` gives the column back as numpy: the ids of
    long results (one row per gap) are made once per customer and repeated by
    reference, instead of one Python string per row.
    """
    import pyarrow.compute as pc

    n = len(column)
    if n == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    changed = pc.not_equal(column.slice(1), column.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(changed) + 1])
    return column.take(starts).to_pandas(deduplicate_objects=False).to_numpy(), np.diff(np.append(starts, n))


def _only_customers_sql(duck: _Duck, customers: Any) -> str:
    """`` AND customer_id IN (...)`` for a set of customer ids ("" for None): the ids are registered on
    the connection as a one-column view, so DuckDB semi-joins them while it scans (no id list in the SQL)."""
    if customers is None:
        return ""
    view = ibis.util.gen_name("cxlab_customers")
    duck.con.register(view, pd.DataFrame({"customer_id": pd.Index(customers).unique()}))
    return f" AND customer_id IN (SELECT customer_id FROM {engines.sql_name(view)})"


def _only_customers(t: ir.Table, customers: Any) -> ir.Table:
    """``t`` restricted to ``customers`` (the Ibis route of :func:`_only_customers_sql`)."""
    if customers is None:
        return t
    return t.filter(t.customer_id.isin(pd.Index(customers).unique().tolist()))


def transactions_of(transactions: Any, customers: Any) -> pd.DataFrame:
    """The transactions of ``customers`` (ids) as a pandas frame: ``customer_id``, ``timestamp``, ``amount``.

    One filtered scan by the engine; the frame is a transaction source like any
    other, so a sample's panels, summaries and cohorts are then computed from
    it (by DuckDB, in memory) instead of scanning the whole log once for each.
    Time stamps come back as the engine counts days: wall-clock time without a
    zone on DuckDB, the session's zone on other engines.
    """
    duck = _duck(transactions)
    if duck is None:
        t = _only_customers(transactions_table(transactions), customers)
        frame = _pandas(t.select("customer_id", "timestamp", "amount").to_pyarrow())
    else:
        with duck:
            frame = _frame(duck, f"SELECT customer_id, CAST(ts AS TIMESTAMP_NS) AS timestamp, amount "
                                 f"FROM ({duck.sql}) WHERE TRUE{_only_customers_sql(duck, customers)}")
    if isinstance(frame["timestamp"].dtype, pd.DatetimeTZDtype):  # an engine's instants, in its session zone
        frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    return frame


# ----------------------------------------------------------------------------- overview
def log_overview(transactions: Any, *, observation_end: Any = None) -> dict[str, Any]:
    """Size and span of a transaction log, computed by its engine.

    Parameters
    ----------
    observation_end : date, optional
        Count only transactions on or before this day (default: all).

    Returns
    -------
    dict with ``rows``, ``customers`` (with any row, returns-only customers
    included), ``returns`` (rows with a negative amount), ``returned`` (their
    total, as a positive amount), ``revenue`` (net of returns), ``first`` and
    ``last`` (Timestamps of the first and last transaction; NaT for an empty log); with a
    ``margin`` column also ``margin`` (its total) and ``margin_missing`` (rows without one).
    """
    if isinstance(transactions, pd.DataFrame) and transactions.empty:
        # an empty frame has no column types for an engine to read: nothing to ask it
        return {"rows": 0, "customers": 0, "returns": 0, "returned": 0.0, "revenue": 0.0,
                "first": pd.NaT, "last": pd.NaT}
    end = None if observation_end is None else _to_day_number(observation_end, "observation_end")
    duck = _duck(transactions)
    if duck is not None:
        where = "" if end is None else f" WHERE {_DAY_SQL} <= {_date_sql(end)}"
        with duck:
            row = duck.arrow(
                "SELECT count(*) AS rows, count(DISTINCT customer_id) AS customers, "
                "count(*) FILTER (WHERE amount < 0) AS returns, -sum(amount) FILTER (WHERE amount < 0) AS returned, "
                "sum(amount) AS revenue, "
                f"CAST(min(ts) AS TIMESTAMP_NS) AS first, CAST(max(ts) AS TIMESTAMP_NS) AS last "
                f"FROM ({duck.sql}){where}"
            ).to_pandas().iloc[0]
    else:
        t = transactions_table(transactions)
        if end is not None:
            t = t.filter(_day_number(t.timestamp) <= end)
        row = t.aggregate(
            rows=t.count(),
            customers=t.customer_id.nunique(),
            returns=_count_true(t.amount < 0),
            returned=(-t.amount).sum(where=t.amount < 0),
            revenue=t.amount.sum(),
            first=t.timestamp.min(),
            last=t.timestamp.max(),
        ).to_pandas().iloc[0]
    margin = _margin_total(transactions, end)
    return {
        **margin,
        "rows": int(row["rows"]),
        "customers": int(row["customers"]),
        "returns": int(row["returns"] or 0),
        "returned": float(row["returned"]) if pd.notna(row["returned"]) else 0.0,
        "revenue": float(row["revenue"]) if pd.notna(row["revenue"]) else 0.0,
        "first": pd.Timestamp(row["first"]) if pd.notna(row["first"]) else pd.NaT,
        "last": pd.Timestamp(row["last"]) if pd.notna(row["last"]) else pd.NaT,
    }


def _margin_total(transactions: Any, end_day: int | None) -> dict[str, Any]:
    """``margin`` (total) and ``margin_missing`` (rows without one) of the optional margin column, or {}."""
    if hasattr(transactions, "transactions") and not isinstance(transactions, (pd.DataFrame, ir.Table)):
        transactions = transactions.transactions
    if isinstance(transactions, pd.DataFrame):
        if "margin" not in transactions.columns:
            return {}
        frame = transactions
        if end_day is not None:
            frame = frame[frame["timestamp"] < _EPOCH + pd.Timedelta(days=end_day + 1)]
        return {"margin": float(frame["margin"].sum()), "margin_missing": int(frame["margin"].isna().sum())}
    t = transactions_table(transactions)
    if "margin" not in t.columns:
        return {}
    if end_day is not None:
        t = t.filter(_day_number(t.timestamp) <= end_day)
    row = t.aggregate(margin=t.margin.sum(), missing=_count_true(t.margin.isnull())).to_pandas().iloc[0]
    return {"margin": float(row["margin"]) if pd.notna(row["margin"]) else 0.0,
            "margin_missing": int(row["missing"] or 0)}


# ----------------------------------------------------------------------------- summaries
def customer_summary(
    transactions: Any,
    *,
    unit: str = "W",
    observation_end: Any = None,
    calibration_end: Any = None,
    merge_same_day: bool = True,
    customers: Any = None,
) -> pd.DataFrame:
    """Per-customer recency/frequency/monetary summary, with an optional holdout split.

    Parameters
    ----------
    transactions : transaction source
        See :func:`transactions_table`.
    unit : {"D", "W", "M", "Y"}
        Time unit of ``recency``, ``T`` and ``duration_holdout``.
    observation_end : date, optional
        Last day of observation (inclusive). Default: the last transaction day.
        Transactions after it are ignored.
    calibration_end : date, optional
        Last day of the calibration period (inclusive). When given, only
        customers whose first purchase is on or before it are kept, the RFM
        columns describe the calibration period, and holdout columns describe
        ``(calibration_end, observation_end]``.
    merge_same_day : bool
        Count several purchases on one calendar day as one occasion. Only
        ``True`` is supported: the published models are all fitted this way and
        merging is what makes ``frequency`` comparable across clients whose
        logs record receipts or order lines.
    customers : ids, optional
        Summarise only these customers (the engine filters while it scans:
        a sample's summary costs a fraction of the whole one).

    Returns
    -------
    DataFrame indexed by ``customer_id`` with ``first_purchase``,
    ``last_purchase``, ``frequency``, ``recency``, ``T``, ``monetary_value``
    (mean value of the repeat purchase occasions, 0 without repeats),
    ``first_purchase_value``, ``n_purchases`` (occasions including the first),
    ``revenue`` (net of returns, up to the end of calibration or observation),
    ``returns`` (absolute value of returned amounts, same window); with
    ``calibration_end`` also ``frequency_holdout``, ``monetary_value_holdout``
    and ``duration_holdout``.
    """
    if not merge_same_day:
        raise ValueError(
            "merge_same_day=False is not supported: the models in cxlab count purchase occasions per day"
        )
    days_per_unit = unit_days(unit)
    duck = _duck(transactions)
    if duck is None:
        t = transactions_table(transactions)
        obs = _observation_end_day(t, observation_end)
        cal = _calibration_day(calibration_end, obs)
        return _summary_ibis(_only_customers(t, customers), days_per_unit, obs, cal, calibration_end is not None)
    with duck:
        obs = _to_day_number(observation_end, "observation_end") if observation_end is not None else _last_day_sql(duck)
        cal = _calibration_day(calibration_end, obs)
        return _summary_sql(duck, days_per_unit, obs, cal, calibration_end is not None,
                            _only_customers_sql(duck, customers))


def _calibration_day(calibration_end: Any, obs: int) -> int:
    cal = _to_day_number(calibration_end, "calibration_end") if calibration_end is not None else obs
    if cal > obs:
        raise ValueError(
            f"calibration_end ({pd.Timestamp(calibration_end).date()}) is after observation_end "
            f"({(_EPOCH + pd.Timedelta(days=obs)).date()})"
        )
    return cal


def _summary_sql(duck: _Duck, days_per_unit: float, obs: int, cal: int, holdout: bool, only: str = "") -> pd.DataFrame:
    """customer_summary as one DuckDB query: customer-days, then customers; every column computed there."""
    u, cal_date = _float_sql(days_per_unit), _date_sql(cal)
    bought = f"value IS NOT NULL AND d <= {cal_date}"
    held = f"value IS NOT NULL AND d > {cal_date}"
    holdout_aggregates = (
        f", count(*) FILTER (WHERE {held}) AS fh, sum(value) FILTER (WHERE {held}) AS hv" if holdout else ""
    )
    holdout_columns = (
        ", fh AS frequency_holdout, CASE WHEN fh > 0 THEN hv / fh ELSE 0.0 END AS monetary_value_holdout, "
        f"{_float_sql((obs - cal) / days_per_unit)} AS duration_holdout" if holdout else ""
    )
    # `value` (the day's purchases) is NULL on a day with returns only, so it also marks purchase
    # days, and the returned amount is value - net: two sums over the full log instead of four.
    query = f"""
    WITH days AS (
        SELECT customer_id, {_DAY_SQL} AS d, sum(amount) FILTER (WHERE amount >= 0) AS value, sum(amount) AS net
        FROM ({duck.sql}) WHERE {_DAY_SQL} <= {_date_sql(obs)}{only} GROUP BY ALL
    ), per AS (
        SELECT customer_id,
            min(d) FILTER (WHERE {bought}) AS f, max(d) FILTER (WHERE {bought}) AS l,
            count(*) FILTER (WHERE {bought}) AS n, sum(value) FILTER (WHERE {bought}) AS total,
            arg_min(value, d) FILTER (WHERE {bought}) AS fpv,
            sum(net) FILTER (WHERE d <= {cal_date}) AS revenue,
            sum(coalesce(value, 0.0) - net) FILTER (WHERE d <= {cal_date}) AS returns{holdout_aggregates}
        FROM days GROUP BY ALL
    )
    SELECT customer_id, CAST(f AS TIMESTAMP_NS) AS first_purchase, CAST(l AS TIMESTAMP_NS) AS last_purchase,
        n - 1 AS frequency, (l - f) / {u} AS recency, ({cal_date} - f) / {u} AS "T",
        CASE WHEN n > 1 THEN (total - fpv) / (n - 1) ELSE 0.0 END AS monetary_value,
        fpv AS first_purchase_value, n AS n_purchases,
        coalesce(revenue, 0.0) AS revenue, coalesce(returns, 0.0) AS returns{holdout_columns}
    FROM per WHERE f IS NOT NULL ORDER BY customer_id
    """
    return _frame(duck, query, index="customer_id")


def _summary_ibis(t: ir.Table, days_per_unit: float, obs: int, cal: int, holdout: bool) -> pd.DataFrame:
    """customer_summary as an Ibis expression, for engines other than DuckDB (same result)."""
    # One scan, two aggregations, no joins: customer-days first (this merges same-day
    # purchases), then customers, with each statistic restricted to its window by a filter.
    # Grouping on the calendar date (cheaper to hash than a computed day number).
    t = t.mutate(date=t.timestamp.date())
    t = t.filter(t.date <= _EPOCH.date() + pd.Timedelta(days=obs))
    buy = t.amount >= 0
    # `value` is NULL on a day with returns only, so it also tells purchase days apart, and
    # the returned amount is value - net: two aggregates over the full log instead of four.
    days = t.group_by(["customer_id", "date"]).aggregate(
        value=t.amount.sum(where=buy),
        net=t.amount.sum(),
    )
    days = days.mutate(day=days.date.delta(ibis.date(1970, 1, 1), unit="day"))
    in_cal = days.day <= cal
    purchase_day = days.value.notnull()
    bought = purchase_day & in_cal
    aggregates = dict(
        first_day=days.day.min(where=bought),
        last_day=days.day.max(where=bought),
        n_purchases=days.day.count(where=bought),
        total_value=days.value.sum(where=bought),
        first_purchase_value=days.value.argmin(days.day, where=bought),
        revenue=days.net.sum(where=in_cal),
        returns=(ibis.coalesce(days.value, 0.0) - days.net).sum(where=in_cal),
    )
    if holdout:
        held = purchase_day & ~in_cal
        aggregates.update(frequency_holdout=days.day.count(where=held), holdout_value=days.value.sum(where=held))
    per = days.group_by("customer_id").aggregate(**aggregates)
    df = _sorted_frame(per.filter(per.first_day.notnull()), "customer_id").set_index("customer_id")

    n = df["n_purchases"].astype("int64")
    first_day = df["first_day"].astype("int64")
    last_day = df["last_day"].astype("int64")
    out = pd.DataFrame(index=df.index)
    out["first_purchase"] = _days_to_timestamp(first_day).to_numpy()
    out["last_purchase"] = _days_to_timestamp(last_day).to_numpy()
    out["frequency"] = (n - 1).to_numpy()
    out["recency"] = ((last_day - first_day) / days_per_unit).to_numpy("float64")
    out["T"] = ((cal - first_day) / days_per_unit).to_numpy("float64")
    repeat_value = df["total_value"].astype("float64") - df["first_purchase_value"].astype("float64")
    out["monetary_value"] = np.where(n > 1, repeat_value / np.maximum(n - 1, 1), 0.0)
    out["first_purchase_value"] = df["first_purchase_value"].astype("float64").to_numpy()
    out["n_purchases"] = n.to_numpy()
    out["revenue"] = df["revenue"].astype("float64").fillna(0.0).to_numpy()
    out["returns"] = df["returns"].astype("float64").fillna(0.0).to_numpy()
    if holdout:
        fh = df["frequency_holdout"].fillna(0).astype("int64")
        hv = df["holdout_value"].astype("float64").fillna(0.0)
        out["frequency_holdout"] = fh.to_numpy()
        out["monetary_value_holdout"] = np.where(fh > 0, hv / np.maximum(fh, 1), 0.0)
        out["duration_holdout"] = (obs - cal) / days_per_unit
    out.index.name = "customer_id"
    return out


def cohort_counts(
    transactions: Any,
    *,
    period: str = "M",
    observation_end: Any = None,
    customers: Any = None,
) -> pd.DataFrame:
    """Acquisition cohort × period activity, tidy.

    A customer's cohort is the calendar period of the first purchase; period
    ``k`` of a cohort is the k-th calendar period after it (period 0 is the
    acquisition period itself).

    Returns
    -------
    DataFrame with one row per cohort and period from 0 to the last observed
    period: ``cohort`` (Timestamp, first day of the cohort period), ``period``
    (int), ``customers`` (distinct customers with a purchase in the period),
    ``transactions`` (non-negative transaction rows), ``revenue`` (net of
    returns), ``cohort_size``, ``complete`` (the period ends on or before
    ``observation_end``). Cells without activity are present with zeros.
    ``customers`` (ids), if given: the cohorts of those customers only.
    """
    ordinal = _ordinal_sql(period)  # checks `period`
    duck = _duck(transactions)
    if duck is None:
        t = transactions_table(transactions)
        return _cohorts_ibis(_only_customers(t, customers), period, _observation_end_day(t, observation_end))
    with duck:
        obs = _to_day_number(observation_end, "observation_end") if observation_end is not None else _last_day_sql(duck)
        only = _only_customers_sql(duck, customers)
        last_p = _ordinal_of(_EPOCH + pd.Timedelta(days=obs), period)
        start = _period_start_sql("cohort", period)
        next_start = _period_start_sql("cohort + k + 1", period)
        # Customer-periods first (one row per customer and active period, so counting its rows with a
        # purchase counts distinct customers); the grid of every cohort and period is laid out here too.
        # A return dated before the customer's first purchase (its sale predates the log) is booked in
        # period 0, so that cohort revenue still adds up to the log's total.
        query = f"""
        WITH cp AS (
            SELECT customer_id, {ordinal} AS p, count(*) FILTER (WHERE amount >= 0) AS n, sum(amount) AS rev
            FROM ({duck.sql}) WHERE {_DAY_SQL} <= {_date_sql(obs)}{only} GROUP BY ALL
        ), first AS (
            SELECT customer_id, min(p) FILTER (WHERE n > 0) AS cohort FROM cp GROUP BY ALL
        ), cells AS (
            SELECT cohort, greatest(p - cohort, 0) AS k, count(*) FILTER (WHERE n > 0) AS customers,
                sum(n) AS transactions, sum(rev) AS revenue
            FROM cp JOIN first USING (customer_id) WHERE cohort IS NOT NULL GROUP BY ALL
        ), sizes AS (
            SELECT cohort, count(*) AS cohort_size FROM first WHERE cohort IS NOT NULL GROUP BY ALL
        ), grid AS (
            SELECT cohort, cohort_size, unnest(range(0, {last_p} - cohort + 1)) AS k FROM sizes
        )
        SELECT CAST({start} AS TIMESTAMP_NS) AS cohort, k AS period,
            coalesce(customers, 0) AS customers, CAST(coalesce(transactions, 0) AS BIGINT) AS transactions,
            coalesce(revenue, 0.0) AS revenue, cohort_size, {next_start} <= {_date_sql(obs + 1)} AS complete
        FROM grid LEFT JOIN cells USING (cohort, k) ORDER BY cohort, period
        """
        return _frame(duck, query)


def _cohorts_ibis(t: ir.Table, period: str, obs: int) -> pd.DataFrame:
    """cohort_counts as an Ibis expression, for engines other than DuckDB (same result)."""
    t = t.filter(_day_number(t.timestamp) <= obs)
    t = t.mutate(p=_period_ordinal(t.timestamp, period))
    purchases = t.filter(t.amount >= 0)
    first = purchases.group_by("customer_id").aggregate(cohort=purchases.p.min())
    tt = t.inner_join(first, "customer_id")
    # A return dated before the customer's first purchase (its sale predates the log)
    # is booked in period 0, so that cohort revenue still adds up to the log's total.
    k = ibis.greatest(tt.p - tt.cohort, 0)
    cells = tt.group_by(cohort=tt.cohort, k=k).aggregate(
        customers=tt.customer_id.nunique(where=tt.amount >= 0),
        transactions=_count_true(tt.amount >= 0),
        revenue=tt.amount.sum(),
    )
    sizes = first.group_by("cohort").aggregate(cohort_size=first.count())
    cells_df = cells.to_pandas()
    sizes_df = sizes.to_pandas()

    last_p = _ordinal_of(_EPOCH + pd.Timedelta(days=obs), period)
    grid = [(c, k) for c in sizes_df["cohort"].astype("int64") for k in range(0, last_p - int(c) + 1)]
    # dtype given: an empty grid (no purchase inside the window) must still be int64, as in SQL
    full = pd.DataFrame(grid, columns=["cohort", "k"], dtype="int64")
    cells_df["cohort"] = cells_df["cohort"].astype("int64")
    cells_df["k"] = cells_df["k"].astype("int64")
    full = full.merge(cells_df, on=["cohort", "k"], how="left").merge(
        sizes_df.astype({"cohort": "int64"}), on="cohort", how="left"
    )
    full[["customers", "transactions"]] = full[["customers", "transactions"]].fillna(0).astype("int64")
    full["revenue"] = full["revenue"].astype("float64").fillna(0.0)
    full["cohort_size"] = full["cohort_size"].astype("int64")
    ordinal = full["cohort"] + full["k"]
    full["complete"] = (_period_end_day(ordinal, period) <= obs).to_numpy()
    full["cohort"] = period_start(full["cohort"], period).to_numpy()
    full = full.rename(columns={"k": "period"})
    cols = ["cohort", "period", "customers", "transactions", "revenue", "cohort_size", "complete"]
    return full[cols].sort_values(["cohort", "period"]).reset_index(drop=True)


def customer_period_panel(
    transactions: Any,
    *,
    period: str = "M",
    start: Any = None,
    end: Any = None,
    customers: Any = None,
) -> pd.DataFrame:
    """Customer × calendar-period panel of transactions and revenue, zero-filled.

    Each customer has one row for every period from the period of the first
    purchase (or ``start``, if later) to ``end`` (default: the period of the
    last transaction), so "no purchase" is an explicit zero. ``customers``
    (ids), if given, keeps only those customers: the engine filters while it
    scans, so a sample's panel of a large log never holds the whole log.

    Returns
    -------
    DataFrame ``customer_id``, ``period`` (Timestamp, first day of the period),
    ``transactions`` (non-negative transaction rows), ``revenue`` (net),
    sorted by customer and period.
    """
    ordinal = _ordinal_sql(period)  # checks `period`
    start_p = _ordinal_of(start, period) if start is not None else None
    duck = _duck(transactions)
    if duck is None:
        return _panel_ibis(_only_customers(transactions_table(transactions), customers), period, start_p, end)
    with duck:
        end_day = _to_day_number(end, "end") if end is not None else _last_day_sql(duck)
        end_p = _ordinal_of(_EPOCH + pd.Timedelta(days=end_day), period)
        only = _only_customers_sql(duck, customers)
        # The engine returns only the sparse part, as integers: each customer-period with activity,
        # the customer's position in id order (`code`) and first period; the id itself only on the
        # customer's first-period row. The zero-filled grid is laid out in numpy: shipping every
        # empty customer-month (and an id string per row) back from the engine is many times slower.
        query = f"""
        WITH cp AS (
            SELECT customer_id, {ordinal} AS p, count(*) FILTER (WHERE amount >= 0) AS n, sum(amount) AS rev
            FROM ({duck.sql}) WHERE {ordinal} <= {end_p}{only} GROUP BY ALL
        ), first AS (
            SELECT customer_id, first_p, row_number() OVER (ORDER BY customer_id) - 1 AS code
            FROM (SELECT customer_id, min(p) FILTER (WHERE n > 0) AS first_p FROM cp GROUP BY ALL)
            WHERE first_p IS NOT NULL
        )
        SELECT code, first_p, p, n, rev, CASE WHEN p = first_p THEN customer_id END AS customer_id
        FROM cp JOIN first USING (customer_id)
        """
        act = duck.arrow(query)
    named = act["customer_id"].is_valid().to_numpy(zero_copy_only=False)
    code = np.asarray(act["code"].to_numpy(), dtype=np.int64)
    first_code = code[named]
    ids = act["customer_id"].filter(act["customer_id"].is_valid()).to_pandas(deduplicate_objects=False).to_numpy()
    order = np.empty(len(first_code), dtype=np.int64)
    order[first_code] = np.arange(len(first_code))
    first_p = np.asarray(act["first_p"].to_numpy(), dtype=np.int64)[named][order]
    p, n = np.asarray(act["p"].to_numpy(), dtype=np.int64), np.asarray(act["n"].to_numpy(), dtype=np.int64)
    rev = np.asarray(act["rev"].to_numpy(), dtype=np.float64)
    del act, named
    return _panel_grid(ids[order], first_p, code, p, n, rev, start_p, end_p, period)


def _panel_grid(ids: np.ndarray, first_p: np.ndarray, code: np.ndarray, p: np.ndarray, n: np.ndarray,
                rev: np.ndarray, start_p: int | None, end_p: int, period: str) -> pd.DataFrame:
    """The zero-filled panel from the sparse activity, with one temporary array of its length.

    ``ids`` and ``first_p``: one entry per customer, in output order; ``code``
    (the customer's position in ``ids``), ``p``, ``n``, ``rev``: one entry per
    customer-period with activity (unique per customer and period).
    """
    lo = first_p if start_p is None else np.maximum(first_p, start_p)
    length = np.clip(end_p - lo + 1, 0, None)
    total = int(length.sum())
    if total == 0:
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype=ids.dtype if len(ids) else object),
             "period": pd.Series(dtype="datetime64[ns]"),
             "transactions": pd.Series(dtype="int64"), "revenue": pd.Series(dtype="float64")}
        )
    offsets = np.cumsum(length) - length
    # Returns dated before the first purchase are booked in the first period (see cohort_counts):
    # they add to that cell, every other activity row has a cell of its own.
    moved = p < first_p[code]
    p = np.where(moved, first_p[code], p)
    keep = p >= lo[code]  # activity before `start` is outside the panel
    pos = offsets[code] + p - lo[code]
    transactions = np.zeros(total, dtype=np.int64)
    revenue = np.zeros(total, dtype=np.float64)
    own = keep & ~moved
    transactions[pos[own]] = n[own]
    revenue[pos[own]] = rev[own]
    extra = keep & moved
    np.add.at(transactions, pos[extra], n[extra].astype(np.int64))
    np.add.at(revenue, pos[extra], rev[extra])
    del moved, keep, pos, own, extra
    # Each customer's periods run from `lo` to `end_p`: +1 a row, and a jump where the next customer
    # starts; a cumulative sum turns that into the period of every row.
    p_min = int(lo[length > 0].min())
    step = np.ones(total, dtype=np.int32)
    starts_at = offsets[length > 0]
    jump = lo[length > 0] - end_p  # from the previous customer's end_p to this customer's lo
    jump[0] = lo[length > 0][0] - p_min
    step[starts_at] = jump
    np.cumsum(step, out=step)
    starts = period_start(np.arange(p_min, end_p + 1), period).to_numpy()
    return pd.DataFrame(
        {
            "customer_id": np.repeat(ids, length),
            "period": starts[step],
            "transactions": transactions,
            "revenue": revenue,
        },
        copy=False,
    )


def _panel_ibis(t: ir.Table, period: str, start_p: int | None, end: Any) -> pd.DataFrame:
    """customer_period_panel as Ibis expressions, for engines other than DuckDB (same result)."""
    import pyarrow.compute as pc

    t = t.mutate(p=_period_ordinal(t.timestamp, period))
    end_day = _observation_end_day(t, end)
    end_p = _ordinal_of(_EPOCH + pd.Timedelta(days=end_day), period)
    t = t.filter(t.p <= end_p)
    purchases = t.filter(t.amount >= 0)
    first = purchases.group_by("customer_id").aggregate(first_p=purchases.p.min())
    activity = t.group_by(["customer_id", "p"]).aggregate(transactions=_count_true(t.amount >= 0), revenue=t.amount.sum())
    activity = activity.inner_join(first.select("customer_id"), "customer_id")
    first_tab = first.to_pyarrow()
    first_tab = first_tab.take(pc.sort_indices(first_tab, sort_keys=[("customer_id", "ascending")]))
    act = activity.to_pyarrow()
    code = pc.index_in(act["customer_id"], value_set=first_tab["customer_id"].combine_chunks())
    return _panel_grid(
        first_tab["customer_id"].to_pandas().to_numpy(), first_tab["first_p"].to_numpy().astype(np.int64),
        code.to_numpy(zero_copy_only=False).astype(np.int64), act["p"].to_numpy().astype(np.int64),
        act["transactions"].to_numpy().astype(np.int64),
        act["revenue"].to_numpy(zero_copy_only=False).astype(np.float64), start_p, end_p, period,
    )


# ----------------------------------------------------------------------------- purchase days
def purchase_days(transactions: Any, *, observation_end: Any = None, customers: Any = None) -> pd.DataFrame:
    """The distinct purchase days of every customer, in customer and day order.

    The input of models that need each purchase's date (time-varying
    covariates, :class:`cxlab.ltv.TimeVaryingCovariates`) from a source of any
    size or engine: one row per customer and day with a purchase, returns
    excluded (they are not purchase occasions).

    Returns
    -------
    DataFrame ``customer_id`` (as the source holds it), ``day`` (int64, days
    since 1970-01-01), with purchases up to ``observation_end`` if given, of
    the ``customers`` (ids) only if given (filtered by the engine).
    """
    duck = _duck(transactions)
    if duck is None:
        t = _only_customers(transactions_table(transactions), customers)
        days = _purchase_days(t)
        if observation_end is not None:
            days = days.filter(days.day <= _to_day_number(observation_end, "observation_end"))
        import pyarrow.compute as pc

        table = days.select("customer_id", "day").to_pyarrow()
        table = table.take(pc.sort_indices(table, sort_keys=[("customer_id", "ascending"), ("day", "ascending")]))
    else:
        with duck:
            where = f" AND {_DAY_SQL} <= {_date_sql(_to_day_number(observation_end, 'observation_end'))}" \
                if observation_end is not None else ""
            where += _only_customers_sql(duck, customers)
            table = duck.arrow(f"""
            SELECT DISTINCT customer_id, {_DAY_SQL} - DATE '1970-01-01' AS day FROM ({duck.sql})
            WHERE amount >= 0{where} ORDER BY customer_id, day
            """)
    df = _pandas(table)
    df["day"] = df["day"].astype("int64")
    return df


# ----------------------------------------------------------------------------- churn inputs
def interpurchase_gaps(
    transactions: Any,
    *,
    unit: str = "D",
    observation_end: Any = None,
) -> pd.DataFrame:
    """Gaps between consecutive purchase days of each customer, the last one censored.

    Returns
    -------
    DataFrame ``customer_id``, ``gap`` (float, in ``unit``), ``censored``
    (True for the open gap from the last purchase to ``observation_end``,
    whose true length is only known to exceed the value).
    """
    days_per_unit = unit_days(unit)
    duck = _duck(transactions)
    if duck is None:
        t = transactions_table(transactions)
        return _gaps_ibis(t, days_per_unit, _observation_end_day(t, observation_end))
    with duck:
        obs = _to_day_number(observation_end, "observation_end") if observation_end is not None else _last_day_sql(duck)
        obs_date = _date_sql(obs)
        # Purchase days in customer and day order; each opens a gap that the next one closes, the
        # last stays open until the observation end (censored). Differencing the sorted days in numpy
        # costs half the CPU of a window function followed by the sort of its output.
        query = f"""
        SELECT DISTINCT customer_id, {_DAY_SQL} - DATE '1970-01-01' AS d FROM ({duck.sql})
        WHERE amount >= 0 AND {_DAY_SQL} <= {_date_sql(obs)} ORDER BY customer_id, d
        """
        table = duck.arrow(query)
    ids, lengths = _runs(table["customer_id"])
    day = np.asarray(table["d"].to_numpy(), dtype=np.int64)
    del table
    censored = np.zeros(len(day), dtype=bool)
    censored[np.cumsum(lengths) - 1] = True  # each customer's last purchase day
    gap = np.empty(len(day), dtype=np.float64)  # filled in place: no temporaries of the log's length
    np.subtract(day[1:], day[:-1], out=gap[:-1])
    gap[censored] = obs - day[censored]
    gap /= days_per_unit
    return pd.DataFrame({"customer_id": np.repeat(ids, lengths), "gap": gap, "censored": censored}, copy=False)


def _gaps_ibis(t: ir.Table, days_per_unit: float, obs: int) -> pd.DataFrame:
    """interpurchase_gaps as an Ibis expression, for engines other than DuckDB (same result)."""
    import pyarrow.compute as pc

    days = _purchase_days(t.filter(_day_number(t.timestamp) <= obs))
    w = ibis.window(group_by=days.customer_id, order_by=days.day)
    gaps = days.mutate(next=days.day.lead().over(w))
    gaps = gaps.select(
        "customer_id", "day", gap=ibis.coalesce(gaps.next, obs) - gaps.day, censored=gaps.next.isnull()
    )
    table = gaps.to_pyarrow()
    table = table.take(pc.sort_indices(table, sort_keys=[("customer_id", "ascending"), ("day", "ascending")]))
    df = table.select(["customer_id", "gap", "censored"]).to_pandas()
    df["gap"] = df["gap"].astype("float64") / days_per_unit
    df["censored"] = df["censored"].astype(bool)
    return df


def interpurchase_gap_counts(
    transactions: Any,
    *,
    unit: str = "D",
    observation_end: Any = None,
) -> pd.DataFrame:
    """:func:`interpurchase_gaps` counted by length: one row per distinct ``gap`` and ``censored``.

    What the churn-threshold analysis needs (the distribution of the pauses,
    see :func:`cxlab.churn.churn_threshold_analysis`), at the size of the
    distribution instead of the log: the engine computes every gap (a window
    over each customer's purchase days) and counts them, so a log of 100M rows
    comes back as a few thousand rows. Each customer has exactly one censored
    gap, so the censored counts add up to the number of customers.

    Returns
    -------
    DataFrame ``gap`` (float, in ``unit``), ``censored`` (bool), ``count``
    (int64), sorted by ``censored`` and ``gap``.
    """
    days_per_unit = unit_days(unit)
    duck = _duck(transactions)
    if duck is None:
        t = transactions_table(transactions)
        gaps = _gaps_ibis(t, days_per_unit, _observation_end_day(t, observation_end))
        counts = gaps.groupby(["censored", "gap"], sort=True).size().rename("count").reset_index()
        return counts[["gap", "censored", "count"]].astype({"count": "int64"})
    with duck:
        obs = _to_day_number(observation_end, "observation_end") if observation_end is not None else _last_day_sql(duck)
        query = f"""
        WITH days AS (
            SELECT DISTINCT customer_id, {_DAY_SQL} - DATE '1970-01-01' AS d FROM ({duck.sql})
            WHERE amount >= 0 AND {_DAY_SQL} <= {_date_sql(obs)}
        ), gaps AS (
            SELECT lead(d) OVER (PARTITION BY customer_id ORDER BY d) AS next, d FROM days
        )
        SELECT coalesce(next, {obs}) - d AS gap, next IS NULL AS censored, count(*) AS count
        FROM gaps GROUP BY ALL ORDER BY censored, gap
        """
        df = _frame(duck, query)
    df["gap"] = df["gap"].astype("float64") / days_per_unit
    df["censored"] = df["censored"].astype(bool)
    df["count"] = df["count"].astype("int64")
    return df


def customer_period_moments(
    transactions: Any,
    *,
    period: str = "M",
    end: Any = None,
    customers: Any = None,
) -> pd.DataFrame:
    """Per customer, the number of periods and the mean and spread of purchases per period.

    The moments of each customer's rows of :func:`customer_period_panel` (the
    zero-filled panel from the period of the first purchase to ``end``), for
    the ``transactions`` column, computed by the engine from the periods with
    activity — for the regularity of purchases (XYZ analysis) without laying
    out the panel: with ``k`` periods and ``s1``, ``s2`` the sum and the sum of
    squares of the per-period counts, ``mean = s1 / k`` and
    ``sd = sqrt(s2 / k - mean**2)`` (population standard deviation, as
    ``std(ddof=0)`` of the panel).

    Returns
    -------
    DataFrame indexed by ``customer_id`` (sorted): ``periods`` (int64),
    ``mean``, ``sd`` (float64); customers with a purchase up to ``end`` only.
    """
    ordinal = _ordinal_sql(period)  # checks `period`
    duck = _duck(transactions)
    if duck is None:
        t = _only_customers(transactions_table(transactions), customers)
        t = t.mutate(p=_period_ordinal(t.timestamp, period))
        end_p = _ordinal_of(_EPOCH + pd.Timedelta(days=_observation_end_day(t, end)), period)
        t = t.filter(t.p <= end_p)
        cp = t.group_by(["customer_id", "p"]).aggregate(n=_count_true(t.amount >= 0))
        per = cp.group_by("customer_id").aggregate(first_p=cp.p.min(where=cp.n > 0), s1=cp.n.sum(),
                                                  s2=(cp.n * cp.n).sum())
        per = per.filter(per.first_p.notnull())
        df = _sorted_frame(per.mutate(periods=end_p - per.first_p + 1).select("customer_id", "periods", "s1", "s2"),
                           "customer_id").set_index("customer_id")
    else:
        with duck:
            end_day = _to_day_number(end, "end") if end is not None else _last_day_sql(duck)
            end_p = _ordinal_of(_EPOCH + pd.Timedelta(days=end_day), period)
            only = _only_customers_sql(duck, customers)
            query = f"""
            WITH cp AS (
                SELECT customer_id, {ordinal} AS p, count(*) FILTER (WHERE amount >= 0) AS n
                FROM ({duck.sql}) WHERE {ordinal} <= {end_p}{only} GROUP BY ALL
            )
            SELECT customer_id, {end_p} - min(p) FILTER (WHERE n > 0) + 1 AS periods, sum(n) AS s1,
                sum(n * n) AS s2
            FROM cp GROUP BY ALL HAVING min(p) FILTER (WHERE n > 0) IS NOT NULL ORDER BY customer_id
            """
            df = _frame(duck, query, index="customer_id")
    k = df["periods"].to_numpy(dtype=np.float64)
    mean = df["s1"].to_numpy(dtype=np.float64) / k
    var = np.maximum(df["s2"].to_numpy(dtype=np.float64) / k - mean * mean, 0.0)
    return pd.DataFrame({"periods": df["periods"].to_numpy(dtype=np.int64), "mean": mean, "sd": np.sqrt(var)},
                        index=df.index)


def churn_durations(
    transactions: Any,
    *,
    threshold: float,
    unit: str = "D",
    observation_end: Any = None,
) -> pd.DataFrame:
    """Per-customer lifetime and churn flag under "no purchase for ``threshold``".

    A customer has churned (``event=True``) when more than ``threshold``
    (in ``unit``) passed between the last purchase and ``observation_end``;
    the lifetime then ends at the last purchase. Otherwise the lifetime is
    censored at ``observation_end``.

    Returns
    -------
    DataFrame indexed by ``customer_id``: ``start``, ``last_purchase``
    (Timestamps), ``duration`` (float, in ``unit``), ``event`` (bool).
    """
    if threshold is None or not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number of {unit!r} units, got {threshold!r}")
    days_per_unit = unit_days(unit)
    duck = _duck(transactions)
    if duck is None:
        t = transactions_table(transactions)
        return _durations_ibis(t, threshold, days_per_unit, _observation_end_day(t, observation_end))
    with duck:
        obs = _to_day_number(observation_end, "observation_end") if observation_end is not None else _last_day_sql(duck)
        obs_date, u = _date_sql(obs), _float_sql(days_per_unit)
        query = f"""
        WITH per AS (
            SELECT customer_id, min({_DAY_SQL}) AS f, max({_DAY_SQL}) AS l FROM ({duck.sql})
            WHERE amount >= 0 AND {_DAY_SQL} <= {obs_date} GROUP BY ALL
        ), churn AS (
            SELECT *, ({obs_date} - l) > {_float_sql(threshold * days_per_unit)} AS event FROM per
        )
        SELECT customer_id, CAST(f AS TIMESTAMP_NS) AS start, CAST(l AS TIMESTAMP_NS) AS last_purchase,
            (CASE WHEN event THEN l - f ELSE {obs_date} - f END) / {u} AS duration, event
        FROM churn ORDER BY customer_id
        """
        return _frame(duck, query, index="customer_id")


def durations_from_summary(summary: pd.DataFrame, *, threshold: float, observation_end: Any,
                           unit: str = "D") -> pd.DataFrame:
    """:func:`churn_durations` from a ready :func:`customer_summary` with the same ``observation_end``.

    The summary already holds each customer's first and last purchase day in
    the window, which is all the churn rule needs: this saves the engine a pass
    over the log (the same frame, without the ``calibration_end`` split).
    """
    if threshold is None or not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number of {unit!r} units, got {threshold!r}")
    days_per_unit = unit_days(unit)
    obs = _to_day_number(observation_end, "observation_end")
    first = summary["first_purchase"].to_numpy(dtype="datetime64[ns]")
    last = summary["last_purchase"].to_numpy(dtype="datetime64[ns]")
    day = np.timedelta64(1, "D")
    first_day = (first - np.datetime64("1970-01-01", "ns")) // day
    last_day = (last - np.datetime64("1970-01-01", "ns")) // day
    event = (obs - last_day) > threshold * days_per_unit
    duration = np.where(event, last_day - first_day, obs - first_day) / days_per_unit
    return pd.DataFrame({"start": first, "last_purchase": last, "duration": duration.astype("float64"),
                         "event": event}, index=summary.index.rename("customer_id"))


def _durations_ibis(t: ir.Table, threshold: float, days_per_unit: float, obs: int) -> pd.DataFrame:
    """churn_durations as an Ibis expression, for engines other than DuckDB (same result)."""
    t = t.filter(_day_number(t.timestamp) <= obs)
    # first and last purchase day need no day-level grouping: one pass over the rows
    purchases = t.filter(t.amount >= 0)
    day = _day_number(purchases.timestamp)
    per = purchases.group_by("customer_id").aggregate(first_day=day.min(), last_day=day.max())
    df = _sorted_frame(per, "customer_id").set_index("customer_id")
    first = df["first_day"].astype("int64")
    last = df["last_day"].astype("int64")
    event = (obs - last) > threshold * days_per_unit
    duration = np.where(event, last - first, obs - first) / days_per_unit
    out = pd.DataFrame(
        {
            "start": _days_to_timestamp(first).to_numpy(),
            "last_purchase": _days_to_timestamp(last).to_numpy(),
            "duration": duration.astype("float64"),
            "event": event.to_numpy(),
        },
        index=df.index,
    )
    out.index.name = "customer_id"
    return out


# ----------------------------------------------------------------------------- discounts
#: Default edges (percent) of the discount-depth bands: none < 0.5 <= small < 7.5 <= medium < 15 <= deep.
DISCOUNT_BAND_EDGES = (0.5, 7.5, 15.0)


def _discount_ctes(duck: _Duck, period: str, end_day: int, band_edges: tuple[float, ...],
                   per_customer: bool = False, customers: Any = None) -> str:
    """The CTEs of the discount queries: ``cal`` (p, purchases, spend, discount, discounted, missing_discount,
    depth, band) and, with ``per_customer``, ``cp``: the purchase sums of every customer and period, made in
    one scan of the log and read by the rest of the query (``MATERIALIZED``: the log is not scanned again for
    each reader). With ``customers`` (ids), ``cp`` holds only those customers while the calendar still
    sums every purchase: a period's depth is the whole client's, whoever is analysed.

    A period's depth is the discount share of the list value of all its purchases,
    ``sum(discount) / sum(amount + discount)``; its band counts the edges (percent) it reaches.
    """
    edges = [float(e) for e in band_edges]
    if not edges or any(b <= a for a, b in zip(edges, edges[1:])) or edges[0] <= 0:
        raise ValueError(f"band_edges must be positive and increasing (percent), got {band_edges!r}")
    band = " + ".join(f"CAST(100 * depth >= {_float_sql(e)} AS INTEGER)" for e in edges)
    tx = f"""
    tx AS (
        SELECT customer_id, {_ordinal_sql(period)} AS p, amount, coalesce(discount, 0.0) AS discount,
               discount IS NULL AS missing
        FROM ({duck.sql}) WHERE {_DAY_SQL} <= {_date_sql(end_day)} AND amount >= 0
    )"""
    from_rows = """SELECT p, count(*) AS purchases, sum(amount) AS spend, sum(discount) AS discount,
               count(*) FILTER (WHERE discount > 0) AS discounted,
               count(*) FILTER (WHERE missing) AS missing_discount,
               coalesce(sum(discount) / nullif(sum(amount + discount), 0), 0.0) AS depth
        FROM tx GROUP BY p"""
    if not per_customer:
        return f"""{tx}, depths AS ({from_rows}), cal AS (SELECT *, {band} AS band FROM depths)"""
    only = _only_customers_sql(duck, customers)
    cp = f"""cp AS MATERIALIZED (
        SELECT customer_id, p, count(*) AS purchases, count(*) FILTER (WHERE amount > 0) AS baskets,
               sum(amount) AS spend, coalesce(sum(ln(amount)) FILTER (WHERE amount > 0), 0.0) AS log_spend,
               sum(discount) AS discount, count(*) FILTER (WHERE discount > 0) AS discounted,
               count(*) FILTER (WHERE missing) AS missing_discount
        FROM tx WHERE TRUE{only} GROUP BY ALL
    )"""
    if customers is not None:
        # the calendar from every purchase (one more scan, by period only), the cells from the customers'
        return f"""{tx}, {cp}, depths AS ({from_rows}), cal AS (SELECT *, {band} AS band FROM depths)"""
    return f"""{tx}, {cp}, depths AS (
        SELECT p, sum(purchases) AS purchases, sum(spend) AS spend, sum(discount) AS discount,
               sum(discounted) AS discounted, sum(missing_discount) AS missing_discount,
               coalesce(sum(discount) / nullif(sum(spend) + sum(discount), 0), 0.0) AS depth
        FROM cp GROUP BY p
    ), cal AS (SELECT *, {band} AS band FROM depths)"""


def discount_calendar(transactions: Any, *, period: str = "W", observation_end: Any = None,
                      band_edges: tuple[float, ...] = DISCOUNT_BAND_EDGES) -> pd.DataFrame:
    """The promotion calendar read from the purchases: one row per period with a purchase.

    Returns
    -------
    DataFrame ``period`` (first day), ``purchases`` (non-negative rows), ``spend`` (their amounts),
    ``discount`` (their discounts; a missing discount counts as none), ``discounted`` (rows with a
    positive discount), ``missing_discount`` (rows without a discount value), ``depth`` (``discount /
    (spend + discount)``, the share of the list value given off) and ``band`` (0 = no discount, then
    one more for every edge of ``band_edges``, in percent, that the depth reaches), in period order.
    """
    duck = _duck(transactions, extra=("discount",))
    if duck is None:
        df = _discount_calendar_ibis(_discount_purchases_ibis(transactions, period, observation_end), band_edges)
    else:
        with duck:
            end_day = _to_day_number(observation_end, "observation_end") if observation_end is not None \
                else _last_day_sql(duck)
            df = _frame(duck, f"WITH {_discount_ctes(duck, period, end_day, band_edges)} "
                              "SELECT p, purchases, spend, discount, discounted, missing_discount, depth, band "
                              "FROM cal ORDER BY p")
    df.insert(0, "period", period_start(df.pop("p"), period).to_numpy())
    return df.astype({"purchases": "int64", "discounted": "int64", "missing_discount": "int64", "band": "int64"})


def discount_cells(transactions: Any, *, period: str = "W", observation_end: Any = None,
                   band_edges: tuple[float, ...] = DISCOUNT_BAND_EDGES, customers: Any = None) -> pd.DataFrame:
    """Customer × stage × discount band cells: the sufficient statistics of within-customer discount models.

    Each customer's periods from the first to the last purchase period carry the band of their
    depth (:func:`discount_calendar`; periods without any purchase by anyone are left out, their
    depth is unknown). ``stage`` tells the first-purchase period (``first``: a purchase in it is
    certain, not a response), the periods strictly between the first and the last purchase period
    (``between``: the customer is surely a customer then, and — for purchases arriving as a process
    with independent increments — what happens in them is independent of which period turned out
    to be the last) and the last purchase period (``last``, absent when it is the first). Periods
    after the last purchase are not counted: a customer who has left cannot respond. The cells are
    a few per customer whatever the size of the log, and computed by the engine (DuckDB SQL for
    local data; on other engines the engine sums the purchases and the periods per band are
    counted from the calendar).

    ``customers`` (ids), if given, keeps only those customers' cells (a customer sample); the calendar
    their periods are banded by is still the whole log's.

    Returns
    -------
    DataFrame ``customer_id``, ``stage``, ``band``, ``periods``, ``purchases`` (non-negative rows),
    ``baskets`` (rows with a positive amount), ``spend`` (sum of purchase amounts), ``log_spend``
    (sum of ``ln amount`` over baskets), ``discount`` (sum), ``discounted`` (rows with a positive
    discount) and ``missing_discount`` (purchase rows without a discount value, counted as none);
    cells with no period are dropped. Sorted by customer, stage, band.
    """
    duck = _duck(transactions, extra=("discount",))
    if duck is None:
        return _discount_cells_ibis(_discount_purchases_ibis(transactions, period, observation_end), band_edges,
                                    customers)
    n_bands = len(band_edges) + 1
    later = ", ".join(f"count(*) FILTER (WHERE band = {b}) OVER w AS n{b}" for b in range(n_bands))
    between = " UNION ALL ".join(
        f"SELECT customer_id, 'between' AS stage, {b} AS band, "
        f"f.n{b} - l.n{b} - CAST(l.band = {b} AS INTEGER) AS periods "
        f"FROM spans JOIN later f ON f.p = spans.fp JOIN later l ON l.p = spans.lp WHERE spans.lp > spans.fp"
        for b in range(n_bands))
    with duck:
        end_day = _to_day_number(observation_end, "observation_end") if observation_end is not None \
            else _last_day_sql(duck)
        query = f"""
        WITH {_discount_ctes(duck, period, end_day, band_edges, per_customer=True, customers=customers)},
        later AS (SELECT p, band, {later} FROM cal
                  WINDOW w AS (ORDER BY p ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)),
        spans AS (SELECT customer_id, min(p) AS fp, max(p) AS lp FROM cp GROUP BY ALL),
        exposure AS (
            {between}
            UNION ALL SELECT customer_id, 'first', cal.band, 1 FROM spans JOIN cal ON cal.p = spans.fp
            UNION ALL SELECT customer_id, 'last', cal.band, 1 FROM spans JOIN cal ON cal.p = spans.lp
                      WHERE spans.lp > spans.fp
        ), activity AS (
            SELECT customer_id, CASE WHEN p = fp THEN 'first' WHEN p = lp THEN 'last' ELSE 'between' END AS stage,
                   cal.band, sum(cp.purchases) AS purchases, sum(baskets) AS baskets, sum(cp.spend) AS spend,
                   sum(log_spend) AS log_spend, sum(cp.discount) AS discount, sum(cp.discounted) AS discounted,
                   sum(cp.missing_discount) AS missing_discount
            FROM cp JOIN spans USING (customer_id) JOIN cal USING (p) GROUP BY ALL
        )
        SELECT customer_id, stage, band, periods, coalesce(purchases, 0) AS purchases,
               coalesce(baskets, 0) AS baskets, coalesce(spend, 0.0) AS spend,
               coalesce(log_spend, 0.0) AS log_spend, coalesce(discount, 0.0) AS discount,
               coalesce(discounted, 0) AS discounted, coalesce(missing_discount, 0) AS missing_discount
        FROM exposure LEFT JOIN activity USING (customer_id, stage, band)
        WHERE periods > 0
        ORDER BY customer_id, CASE stage WHEN 'first' THEN 0 WHEN 'between' THEN 1 ELSE 2 END, band
        """
        df = _frame(duck, query)
    ints = ("band", "periods", "purchases", "baskets", "discounted", "missing_discount")
    df = df.astype({c: "int64" for c in ints})
    df["stage"] = pd.Categorical(df["stage"], categories=["first", "between", "last"])
    return df


_STAGES = ["first", "between", "last"]


def _discount_purchases_ibis(source: Any, period: str, observation_end: Any) -> ir.Table:
    """Purchases up to the window's end with ``p``, ``amt``, ``disc`` (missing = 0) and ``missing``, as Ibis."""
    t = transactions_table(source)
    _check_extra(list(t.columns), ("discount",), "the transaction table")
    end_day = _observation_end_day(t, observation_end)
    t = t.mutate(p=_period_ordinal(t.timestamp, period), amt=t.amount.cast("float64"),
                 raw=t.discount.cast("float64"))
    t = t.filter((_day_number(t.timestamp) <= end_day) & (t.amt >= 0))
    return t.mutate(missing=t.raw.isnull(), disc=t.raw.fill_null(0.0))


def _bands(depth: np.ndarray, band_edges: tuple[float, ...]) -> np.ndarray:
    edges = [float(e) for e in band_edges]
    if not edges or any(b <= a for a, b in zip(edges, edges[1:])) or edges[0] <= 0:
        raise ValueError(f"band_edges must be positive and increasing (percent), got {band_edges!r}")
    return sum((100 * depth >= e).astype(np.int64) for e in edges)


def _discount_calendar_ibis(t: ir.Table, band_edges: tuple[float, ...]) -> pd.DataFrame:
    """The calendar of :func:`discount_calendar` from the engine's per-period sums (a row per period)."""
    cal = t.group_by("p").aggregate(purchases=t.count(), spend=t.amt.sum(), discount=t.disc.sum(),
                                    discounted=_count_true(t.disc > 0),
                                    missing_discount=_count_true(t.missing)).to_pandas()
    cal = cal.sort_values("p", ignore_index=True)
    total = (cal["spend"] + cal["discount"]).to_numpy(dtype=float)
    cal["depth"] = np.divide(cal["discount"].to_numpy(dtype=float), total, out=np.zeros(len(cal)), where=total != 0)
    cal["band"] = _bands(cal["depth"].to_numpy(), band_edges)
    return cal[["p", "purchases", "spend", "discount", "discounted", "missing_discount", "depth", "band"]]


def _discount_cells_ibis(t: ir.Table, band_edges: tuple[float, ...], customers: Any = None) -> pd.DataFrame:
    """discount_cells for engines other than DuckDB: the engine sums purchases per customer × stage × band
    and gives each customer's first and last period; the periods per band are counted from the calendar
    (of every customer's purchases, also when ``customers`` keeps only some)."""
    cal = _discount_calendar_ibis(t, band_edges)
    t = _only_customers(t, customers)
    n_bands = len(band_edges) + 1
    spans = t.group_by("customer_id").aggregate(fp=t.p.min(), lp=t.p.max())
    staged = t.inner_join(spans, "customer_id").inner_join(ibis.memtable(cal[["p", "band"]]), "p")
    staged = staged.mutate(stage=ibis.ifelse(staged.p == staged.fp, "first",
                                             ibis.ifelse(staged.p == staged.lp, "last", "between")))
    activity = staged.group_by(["customer_id", "stage", "band"]).aggregate(
        purchases=staged.count(), baskets=_count_true(staged.amt > 0), spend=staged.amt.sum(),
        log_spend=ibis.ifelse(staged.amt > 0, staged.amt.ln(), 0.0).sum(), discount=staged.disc.sum(),
        discounted=_count_true(staged.disc > 0), missing_discount=_count_true(staged.missing),
    ).to_pandas()
    spans = spans.to_pandas()
    # periods of each band strictly after each calendar period: a reversed cumulative count
    p, band = cal["p"].to_numpy(), cal["band"].to_numpy()
    onehot = np.eye(n_bands, dtype=np.int64)[band]
    after = np.cumsum(onehot[::-1], axis=0)[::-1] - onehot
    fp = np.searchsorted(p, spans["fp"].to_numpy())
    lp = np.searchsorted(p, spans["lp"].to_numpy())
    two = lp > fp
    ids = spans["customer_id"].to_numpy()
    between = (after[fp] - after[lp] - onehot[lp])[two]
    parts = [
        pd.DataFrame({"customer_id": ids, "stage": "first", "band": band[fp], "periods": 1}),
        pd.DataFrame({"customer_id": np.repeat(ids[two], n_bands), "stage": "between",
                      "band": np.tile(np.arange(n_bands), int(two.sum())), "periods": between.ravel()}),
        pd.DataFrame({"customer_id": ids[two], "stage": "last", "band": band[lp][two], "periods": 1}),
    ]
    cells = pd.concat(parts, ignore_index=True)
    cells = cells[cells["periods"] > 0].merge(activity, on=["customer_id", "stage", "band"], how="left")
    ints = ("band", "periods", "purchases", "baskets", "discounted", "missing_discount")
    cells = cells.fillna({c: 0 for c in ("purchases", "baskets", "spend", "log_spend", "discount", "discounted",
                                         "missing_discount")})
    cells = cells.astype({c: "int64" for c in ints} | {"spend": "float64", "log_spend": "float64",
                                                         "discount": "float64"})
    cells["stage"] = pd.Categorical(cells["stage"], categories=_STAGES)
    cells = cells.sort_values(["customer_id", "stage", "band"], ignore_index=True)
    return cells[["customer_id", "stage", "band", "periods", "purchases", "baskets", "spend", "log_spend", "discount",
                  "discounted", "missing_discount"]]
# ----------------------------------------------------------------------------- around a date
def activity_around(
    transactions: Any,
    anchors: pd.DataFrame,
    *,
    before_days: float = 365.0,
    after_days: float = 60.0,
    active_days: float = 365.0,
    observation_end: Any = None,
) -> pd.DataFrame:
    """Each customer's purchases before and after their own date (a campaign's send time).

    Parameters
    ----------
    transactions : transaction source (see :func:`transactions_table`)
    anchors : DataFrame
        ``customer_id`` and ``anchor`` (timestamp), one row per customer.
    before_days, after_days, active_days : float
        Lengths, in days, of the pre-period ``[anchor - before_days, anchor)``, the
        post-period ``(anchor, anchor + after_days]`` and the customer's *last active
        period* ``(last_purchase - active_days, last_purchase]``.
    observation_end : date-like, optional
        Rows dated after this day are left out (the study window).

    Returns
    -------
    DataFrame indexed by ``customer_id`` in the order of ``anchors``:
    ``last_purchase`` (the last purchase before the anchor; NaT if none),
    ``pre_revenue``, ``pre_margin``; ``active_revenue``, ``active_margin`` (the last
    active period); ``first_after`` (first purchase in the post-period; NaT if
    none), ``post_days`` (purchase days in it), ``post_revenue``, ``post_margin``.
    Revenue is net of returns; a purchase is a row with a positive amount; margins
    are NaN without a margin column. Customers without any row get zeros and NaT.
    """
    t = transactions_table(transactions)
    if not {"customer_id", "anchor"} <= set(anchors.columns):
        raise ValueError("anchors needs the columns customer_id and anchor")
    if anchors["customer_id"].duplicated().any():
        raise ValueError("anchors must hold one row per customer")
    has_margin = "margin" in t.columns
    ids = anchors["customer_id"]
    frame = pd.DataFrame({"customer_id": ids.to_numpy(), "anchor": pd.to_datetime(anchors["anchor"]).to_numpy()})
    end = None if observation_end is None else pd.Timestamp(observation_end).normalize() + pd.Timedelta(days=1)
    seconds = {k: int(round(v * 86_400)) for k, v in
               (("before", before_days), ("after", after_days), ("active", active_days))}
    # zoned anchors are compared as instants by the Ibis route; the SQL route reads wall-clock time
    zoned = getattr(frame["anchor"].dtype, "tz", None) is not None
    duck = None if zoned else _duck(transactions, extra=("margin",) if has_margin else ())
    if duck is not None:
        with duck:
            out = _activity_around_sql(duck, frame, seconds, end, has_margin)
    else:
        out = _activity_around_ibis(t, frame, seconds, end, has_margin).reindex(pd.Index(ids.to_numpy()))
    out.index = pd.Index(ids.to_numpy(), name="customer_id")
    for c in ("pre_revenue", "pre_margin", "post_revenue", "post_margin", "active_revenue", "active_margin"):
        out[c] = out[c].astype("float64").fillna(0.0)
    out["post_days"] = out["post_days"].fillna(0).astype("int64")
    for c in ("last_purchase", "first_after"):
        out[c] = pd.to_datetime(out[c])
    if not has_margin:
        for c in ("pre_margin", "post_margin", "active_margin"):
            out[c] = np.nan
    order = ["last_purchase", "pre_revenue", "pre_margin", "active_revenue", "active_margin", "first_after",
             "post_days", "post_revenue", "post_margin"]
    return out[order]


def _activity_around_sql(duck: _Duck, anchors: pd.DataFrame, seconds: dict[str, int], end: Any,
                         has_margin: bool) -> pd.DataFrame:
    """The per-customer sums of :func:`activity_around` as hand-written DuckDB SQL: the anchors are registered
    as a view and joined while the log is scanned; the last active period is a second pass over the joined
    customers' rows before their last purchase."""
    view = ibis.util.gen_name("cxlab_anchors")
    # the anchors' row numbers travel with the sums, so the result is laid out in the anchors' order by position:
    # no id column comes back and no index of millions of ids is hashed to reorder it
    duck.con.register(view, anchors.assign(row=np.arange(len(anchors), dtype=np.int64)))
    margin = "margin" if has_margin else "CAST(NULL AS DOUBLE)"
    until = "" if end is None else f" AND t.ts < TIMESTAMP '{pd.Timestamp(end).isoformat(sep=' ')}'"
    before, after, active = (f"to_seconds({seconds[k]})" for k in ("before", "after", "active"))
    pre = f"ts < anchor AND ts >= anchor - {before}"
    post = f"ts > anchor AND ts <= anchor + {after}"
    query = f"""
    WITH j AS (
        SELECT a.row, t.ts, t.amount, {margin} AS margin, CAST(a.anchor AS TIMESTAMP) AS anchor
        FROM ({duck.sql}) t JOIN {engines.sql_name(view)} a ON t.customer_id = a.customer_id
        WHERE TRUE{until}
    ), per AS (
        SELECT row,
               max(ts) FILTER (WHERE ts < anchor AND amount > 0) AS last_purchase,
               sum(amount) FILTER (WHERE {pre}) AS pre_revenue, sum(margin) FILTER (WHERE {pre}) AS pre_margin,
               min(ts) FILTER (WHERE {post} AND amount > 0) AS first_after,
               count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE {post} AND amount > 0) AS post_days,
               sum(amount) FILTER (WHERE {post}) AS post_revenue, sum(margin) FILTER (WHERE {post}) AS post_margin
        FROM j GROUP BY row
    ), act AS (
        SELECT j.row, sum(j.amount) AS active_revenue, sum(j.margin) AS active_margin
        FROM j JOIN per ON j.row = per.row
        WHERE j.ts <= per.last_purchase AND j.ts > per.last_purchase - {active}
        GROUP BY j.row
    )
    SELECT per.*, act.active_revenue, act.active_margin FROM per LEFT JOIN act USING (row)
    """
    try:
        found = _pandas(duck.arrow(query))
    finally:
        duck.con.unregister(view)
    rows = found.pop("row").to_numpy()
    out = pd.DataFrame(index=pd.RangeIndex(len(anchors)))
    for column in list(found.columns):
        values = found.pop(column).to_numpy()       # each column freed once it is laid out
        missing = np.datetime64("NaT") if values.dtype.kind == "M" else np.nan
        full = np.full(len(anchors), missing, dtype=values.dtype if values.dtype.kind == "M" else "float64")
        full[rows] = values                              # anchors without a row stay missing (NaT / NaN)
        out[column] = full
    return out


def _activity_around_ibis(t: ir.Table, anchors: pd.DataFrame, seconds: dict[str, int], end: Any,
                          has_margin: bool) -> pd.DataFrame:
    """The per-customer sums of :func:`activity_around` as Ibis expressions (engines other than DuckDB)."""
    cols = ["customer_id", "timestamp", "amount"] + (["margin"] if has_margin else [])
    t = t.select(*cols)
    if end is not None:
        t = t.filter(t.timestamp < ibis.literal(pd.Timestamp(end).to_pydatetime()))
    key_type = t.schema()["customer_id"]
    a = ibis.memtable(anchors)
    a = a.mutate(customer_id=a.customer_id.cast(key_type))
    j = t.join(a, "customer_id")
    margin = j.margin if has_margin else j.amount * 0.0  # a column (a literal has no .sum); NaN below
    before = j.timestamp < j.anchor
    pre = before & (j.timestamp >= j.anchor - ibis.interval(seconds=seconds["before"]))
    post = (j.timestamp > j.anchor) & (j.timestamp <= j.anchor + ibis.interval(seconds=seconds["after"]))
    buy = j.amount > 0
    per = j.group_by("customer_id").aggregate(
        last_purchase=j.timestamp.max(where=before & buy),
        pre_revenue=j.amount.sum(where=pre), pre_margin=margin.sum(where=pre),
        first_after=j.timestamp.min(where=post & buy),
        post_days=j.timestamp.date().nunique(where=post & buy),
        post_revenue=j.amount.sum(where=post), post_margin=margin.sum(where=post),
    )
    last = per.select("customer_id", "last_purchase").filter(per.last_purchase.notnull())
    k = j.join(last, "customer_id")
    active = (k.timestamp <= k.last_purchase) & (
        k.timestamp > k.last_purchase - ibis.interval(seconds=seconds["active"]))
    k_margin = k.margin if has_margin else k.amount * 0.0
    act = k.group_by("customer_id").aggregate(active_revenue=k.amount.sum(where=active),
                                              active_margin=k_margin.sum(where=active))
    out = _pandas(per.to_pyarrow()).set_index("customer_id")
    return out.join(_pandas(act.to_pyarrow()).set_index("customer_id"), how="left")
