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
    "interpurchase_gaps",
    "churn_durations",
    "period_start",
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
        keep = [c for c in source.columns if c in (*_REQUIRED, "is_return", "margin")]
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
    table = table.take(pc.sort_indices(table, sort_keys=[(key, "ascending")]))
    df = table.to_pandas()
    df[key] = df[key].astype(str)
    return df


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
    t = transactions_table(transactions)
    if observation_end is not None:
        t = t.filter(_day_number(t.timestamp) <= _to_day_number(observation_end, "observation_end"))
    extra = {}
    if "margin" in t.columns:  # the optional margin column: its total and how many rows lack it
        extra = dict(margin=t.margin.sum(), margin_missing=_count_true(t.margin.isnull()))
    row = t.aggregate(
        rows=t.count(),
        customers=t.customer_id.nunique(),
        returns=_count_true(t.amount < 0),
        returned=(-t.amount).sum(where=t.amount < 0),
        revenue=t.amount.sum(),
        first=t.timestamp.min(),
        last=t.timestamp.max(),
        **extra,
    ).to_pandas().iloc[0]
    margin = {}
    if extra:
        margin = {"margin": float(row["margin"]) if pd.notna(row["margin"]) else 0.0,
                  "margin_missing": int(row["margin_missing"] or 0)}
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


# ----------------------------------------------------------------------------- summaries
def customer_summary(
    transactions: Any,
    *,
    unit: str = "W",
    observation_end: Any = None,
    calibration_end: Any = None,
    merge_same_day: bool = True,
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
    t = transactions_table(transactions)
    obs = _observation_end_day(t, observation_end)
    cal = _to_day_number(calibration_end, "calibration_end") if calibration_end is not None else obs
    if cal > obs:
        raise ValueError(
            f"calibration_end ({pd.Timestamp(calibration_end).date()}) is after observation_end "
            f"({(_EPOCH + pd.Timedelta(days=obs)).date()})"
        )

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
    if calibration_end is not None:
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
    if calibration_end is not None:
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
    """
    t = transactions_table(transactions)
    obs = _observation_end_day(t, observation_end)
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
    full = pd.DataFrame(grid, columns=["cohort", "k"])
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
) -> pd.DataFrame:
    """Customer × calendar-period panel of transactions and revenue, zero-filled.

    Each customer has one row for every period from the period of the first
    purchase (or ``start``, if later) to ``end`` (default: the period of the
    last transaction), so "no purchase" is an explicit zero.

    Returns
    -------
    DataFrame ``customer_id``, ``period`` (Timestamp, first day of the period),
    ``transactions`` (non-negative transaction rows), ``revenue`` (net),
    sorted by customer and period.
    """
    t = transactions_table(transactions)
    t = t.mutate(p=_period_ordinal(t.timestamp, period))
    end_day = _observation_end_day(t, end)
    end_p = _ordinal_of(_EPOCH + pd.Timedelta(days=end_day), period)
    t = t.filter(t.p <= end_p)
    purchases = t.filter(t.amount >= 0)
    first = purchases.group_by("customer_id").aggregate(first_p=purchases.p.min())
    # Returns dated before the first purchase are booked in the first period (see cohort_counts).
    t = t.inner_join(first, "customer_id")
    t = t.mutate(p=ibis.greatest(t.p, t.first_p))
    activity = t.group_by(["customer_id", "p"]).aggregate(
        transactions=_count_true(t.amount >= 0),
        revenue=t.amount.sum(),
    )
    start_p = _ordinal_of(start, period) if start is not None else None
    # The engine returns only the sparse part (periods with activity, one row per customer);
    # the zero-filled grid is laid out in numpy. Building it in the engine and shipping every
    # empty customer-month back as a row was 10x slower at a million customers.
    first_df = _sorted_frame(first, "customer_id")
    if first_df.empty:
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype=object), "period": pd.Series(dtype="datetime64[ns]"),
             "transactions": pd.Series(dtype="int64"), "revenue": pd.Series(dtype="float64")}
        )
    act = activity.to_pyarrow()
    ids = first_df["customer_id"].to_numpy(dtype=object)
    lo = first_df["first_p"].to_numpy(dtype="int64")
    if start_p is not None:
        lo = np.maximum(lo, start_p)
    length = np.clip(end_p - lo + 1, 0, None)
    offsets = np.concatenate([[0], np.cumsum(length)[:-1]])
    total = int(length.sum())
    code = np.repeat(np.arange(len(ids)), length)
    grid_p = np.arange(total) - np.repeat(offsets, length) + np.repeat(lo, length)

    import pyarrow as pa
    import pyarrow.compute as pc

    act_code = pc.index_in(act["customer_id"].cast(pa.string()), value_set=pa.array(ids, type=pa.string()))
    act_code = act_code.to_numpy(zero_copy_only=False)
    act_p = act["p"].to_numpy().astype("int64")
    keep = act_p >= lo[act_code]  # activity before `start` is outside the panel
    pos = offsets[act_code[keep]] + (act_p[keep] - lo[act_code[keep]])
    transactions_col = np.zeros(total, dtype="int64")
    revenue_col = np.zeros(total, dtype="float64")
    transactions_col[pos] = act["transactions"].to_numpy()[keep]
    revenue_col[pos] = act["revenue"].to_numpy(zero_copy_only=False).astype("float64")[keep]

    p_min = int(lo.min())
    starts = period_start(np.arange(p_min, end_p + 1), period).to_numpy()
    return pd.DataFrame(
        {
            "customer_id": ids[code],
            "period": starts[grid_p - p_min] if total else starts[:0],
            "transactions": transactions_col,
            "revenue": revenue_col,
        }
    )


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
    t = transactions_table(transactions)
    obs = _observation_end_day(t, observation_end)
    t = t.filter(_day_number(t.timestamp) <= obs)
    days = _purchase_days(t)
    w = ibis.window(group_by=days.customer_id, order_by=days.day)
    closed = days.mutate(prev=days.day.lag().over(w))
    closed = closed.filter(closed.prev.notnull()).select(
        "customer_id", gap=(closed.day - closed.prev), censored=ibis.literal(False)
    )
    last = days.group_by("customer_id").aggregate(last=days.day.max())
    open_gaps = last.select("customer_id", gap=(ibis.literal(obs) - last["last"]), censored=ibis.literal(True))
    df = closed.union(open_gaps).to_pandas()
    df["customer_id"] = df["customer_id"].astype(str)
    df["gap"] = df["gap"].astype("float64") / days_per_unit
    df["censored"] = df["censored"].astype(bool)
    return df.sort_values(["customer_id", "censored"]).reset_index(drop=True)


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
    t = transactions_table(transactions)
    obs = _observation_end_day(t, observation_end)
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
