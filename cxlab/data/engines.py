"""Connecting a transaction source: Parquet through DuckDB, Spark, PostgreSQL, any Ibis backend.

The aggregations of :mod:`cxlab.data.aggregate` build Ibis expressions, so the
same code runs wherever the transaction log lives:

* **DuckDB** (default, one machine): a Parquet file, folder or glob is read
  lazily and aggregated out of core; DuckDB spills to ``temp_directory`` when
  the work does not fit in ``memory_limit``.
* **Spark**: a table of the metastore (``db.tx``), a Parquet path read by
  Spark, or a ``pyspark.sql.DataFrame`` handed in by a notebook.
* **PostgreSQL** or any other engine Ibis speaks (Snowflake, BigQuery,
  Trino, ...) through a connection URL.

:func:`connect_source` turns the ``transactions:`` entry of a client's
``client.yml`` (a plain dict) into an Ibis table with the contract's column
names; every aggregation also accepts such a dict directly.

Notes
-----
On DuckDB (pandas frames, Parquet files), a date-time with a time zone is cut
into days by the wall clock of its own zone (the zone name pandas and pyarrow
keep in a Parquet file), and nanosecond, microsecond and millisecond
timestamps are read alike (:func:`wall_clock_sql`). Elsewhere, calendar days
are those of the engine's session time zone. Ibis sets Spark's
``spark.sql.session.timeZone`` to UTC, so a Spark ``TIMESTAMP`` column (an
instant) is cut into days at UTC midnight; store local wall-clock times
(``TIMESTAMP_NTZ``, or timestamps written from naive local times) to count
days in the shops' own time zone.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Mapping

import duckdb
import ibis
import ibis.expr.types as ir

__all__ = [
    "ENGINES",
    "SOURCE_KEYS",
    "connect_source",
    "duckdb_connection",
    "duckdb_raw_connection",
    "duckdb_memory_limit",
    "read_parquet",
    "spark_backend",
    "spark_dataframe_table",
    "is_spark_dataframe",
]

#: Engines a source spec may name; "ibis" takes any Ibis connection URL.
ENGINES = ("duckdb", "spark", "postgres", "ibis")
#: Keys a source spec may hold.
SOURCE_KEYS = ("engine", "path", "table", "query", "url", "columns", "memory_limit", "temp_directory", "threads")

MEMORY_LIMIT_ENV = "CXLAB_DUCKDB_MEMORY_LIMIT"
TEMP_DIRECTORY_ENV = "CXLAB_DUCKDB_TEMP_DIRECTORY"
# A default that leaves room for the pandas result and the rest of the process.
_DEFAULT_MEMORY_SHARE = 0.6
_DEFAULT_MEMORY_CAP_BYTES = 64 * 2**30

_TRANSACTION_COLUMNS = (
    "customer_id", "timestamp", "amount", "order_id", "channel", "store", "discount", "margin", "is_return",
)


# ----------------------------------------------------------------------------- DuckDB
def _total_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX
        return None


def duckdb_memory_limit() -> str:
    """DuckDB's ``memory_limit`` for cxlab's connections.

    ``$CXLAB_DUCKDB_MEMORY_LIMIT`` (e.g. ``"6GB"``) if set; otherwise 60 % of
    physical memory, at most 64 GiB. DuckDB spills joins, aggregations and
    sorts to disk above the limit, so the limit — not the size of the log —
    bounds the engine's memory.
    """
    env = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if env:
        return env
    total = _total_memory_bytes()
    if total is None:
        return "4GB"
    limit = min(int(total * _DEFAULT_MEMORY_SHARE), _DEFAULT_MEMORY_CAP_BYTES)
    return f"{max(limit // 2**20, 256)}MiB"


def duckdb_connection(
    *,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike | None = None,
    threads: int | None = None,
    database: str | os.PathLike = ":memory:",
):
    """An Ibis DuckDB connection set up to work out of core.

    Parameters
    ----------
    memory_limit : str, optional
        DuckDB size string ("6GB", "512MiB"). Default: :func:`duckdb_memory_limit`.
    temp_directory : path, optional
        Where DuckDB spills. Default: ``$CXLAB_DUCKDB_TEMP_DIRECTORY`` or
        ``<system temp>/cxlab_duckdb``.
    threads : int, optional
        Worker threads. Default: DuckDB's (all cores).
    database : path
        A DuckDB database file, or ``":memory:"``.
    """
    return quiet(ibis.duckdb.connect(str(database), **_duckdb_config(memory_limit, temp_directory, threads)))


def _duckdb_config(memory_limit: str | None, temp_directory: str | os.PathLike | None, threads: int | None) -> dict:
    limit = memory_limit or duckdb_memory_limit()
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*[A-Za-z]*\s*", str(limit)):
        raise ValueError(f"memory_limit must be a size such as '6GB' or '512MiB', got {limit!r}")
    spill = temp_directory or os.environ.get(TEMP_DIRECTORY_ENV) or Path(tempfile.gettempdir()) / "cxlab_duckdb"
    config = {"memory_limit": str(limit).strip(), "temp_directory": str(spill)}
    if threads is not None:
        config["threads"] = int(threads)
    # Insertion order is not needed by the aggregations; dropping it lets DuckDB stream and spill more.
    config["preserve_insertion_order"] = False
    return config


def quiet(con: Any) -> Any:
    """Switch off DuckDB's progress bar: it would print into logs, notebooks and reports."""
    if getattr(con, "name", None) == "duckdb" and not getattr(con, "_cxlab_quiet", False):
        try:
            con.raw_sql("SET enable_progress_bar = false")
        except Exception:  # noqa: BLE001 - in a Jupyter kernel DuckDB refuses (no ipywidgets) and shows none
            pass
        con._cxlab_quiet = True
    return con


def duckdb_raw_connection(
    *,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike | None = None,
    threads: int | None = None,
):
    """A plain ``duckdb`` connection with the settings of :func:`duckdb_connection`, one per process.

    The aggregations of :mod:`cxlab.data.aggregate` send their SQL to DuckDB
    through it (no Ibis in between) when the transactions are a pandas frame or
    a Parquet path. Each caller should work on its own ``.cursor()``: cursors
    share the connection's memory limit and buffer pool, and one cursor per
    call keeps threads apart. The session time zone is UTC, as in Ibis.
    """
    config = _duckdb_config(memory_limit, temp_directory, threads)
    key = tuple(sorted(config.items()))
    con = _RAW_CONNECTIONS.get(key)
    if con is None:
        con = duckdb.connect(":memory:", config=config)
        con.execute("SET TimeZone = 'UTC'")
        try:
            con.execute("SET enable_progress_bar = false")
        except Exception:  # noqa: BLE001 - see quiet()
            pass
        _RAW_CONNECTIONS[key] = con
    return con


_RAW_CONNECTIONS: dict[tuple, Any] = {}


def parquet_pattern(path: str | os.PathLike) -> str:
    """The pattern DuckDB reads for a Parquet file, folder (recursively) or glob.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path``.
    ValueError
        If ``path`` is a file that is not Parquet.
    """
    p = Path(path)
    if p.is_dir():
        return str(p / "**" / "*.parquet")
    if any(ch in str(p) for ch in "*?["):
        return str(p)
    if p.is_file():
        if p.suffix.lower() not in (".parquet", ".pq"):
            raise ValueError(f"{p}: only Parquet files are read lazily here; load CSV/Excel with cxlab.data.read_table")
        return str(p)
    raise FileNotFoundError(f"{p}: no such Parquet file or folder")


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_name(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def parquet_time_zones(pattern: str) -> dict[str, str]:
    """Time zone of each zoned timestamp column of the first file ``pattern`` names.

    Parquet keeps only "adjusted to UTC" for an instant; the zone name (what a
    pandas ``datetime64[ns, Europe/Moscow]`` column had) is in the Arrow
    schema that pandas and pyarrow store beside it. DuckDB reads such a column
    as an instant, so the zone is looked up here to give back the wall clock.
    """
    files = parquet_files(pattern)
    if not files:
        return {}
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(files[0])
    except Exception:  # noqa: BLE001 - an unreadable file is reported by DuckDB, with its name
        return {}
    return {f.name: f.type.tz for f in schema if pa.types.is_timestamp(f.type) and f.type.tz}


def wall_clock_sql(column: str, duckdb_type: str, zone: str | None) -> str | None:
    """SQL turning a DuckDB date-time column into a plain ``TIMESTAMP`` (microseconds) of wall-clock time.

    ``None`` when ``column`` is already a ``TIMESTAMP`` or a ``DATE``. Other
    units (``TIMESTAMP_NS``, ``_MS``, ``_S``) are cast: DuckDB 2.0 computes
    ``year()``/``month()`` of a nanosecond timestamp wrongly inside some joins
    (as if the value were microseconds), which emptied ``cohort_counts`` of a
    pandas-written Parquet file. A zoned instant becomes the wall clock of its
    zone (``zone``; UTC if unknown), the calendar day a shop's till shows.
    """
    t = duckdb_type.upper()
    name = sql_name(column)
    if "TIME ZONE" in t or t.startswith("TIMESTAMPTZ"):
        return f"timezone({sql_string(zone or 'UTC')}, CAST({name} AS TIMESTAMPTZ))"
    if t.startswith("TIMESTAMP_"):
        return f"CAST({name} AS TIMESTAMP)"
    return None


def read_parquet(path: str | os.PathLike, *, con: Any = None) -> ir.Table:
    """A Parquet file, folder (read recursively) or glob as a lazy DuckDB table.

    Date-time columns come back as plain timestamps (microseconds, wall-clock
    time of their zone), see :func:`wall_clock_sql`.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path``.
    ValueError
        If ``path`` is a file that is not Parquet.
    """
    pattern = parquet_pattern(path)
    con = con or duckdb_connection()
    source = f"read_parquet({sql_string(pattern)})"
    types = {r[0]: r[1] for r in con.raw_sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    zones = parquet_time_zones(pattern) if any("TIME ZONE" in t or "TIMESTAMPTZ" in t for t in types.values()) else {}
    fixes = {c: e for c, t in types.items() if (e := wall_clock_sql(c, t, zones.get(c))) is not None}
    if not fixes:
        return con.read_parquet(pattern)
    name = ibis.util.gen_name("cxlab_parquet")
    replace = ", ".join(f"{e} AS {sql_name(c)}" for c, e in fixes.items())
    con.raw_sql(f"CREATE TEMPORARY VIEW {sql_name(name)} AS SELECT * REPLACE ({replace}) FROM {source}")
    return con.table(name)


def parquet_files(path: str | os.PathLike) -> list[Path]:
    """The Parquet files a path, folder (recursively) or glob names, sorted (for fingerprints)."""
    p = Path(path)
    if p.is_dir():
        return sorted(f for f in p.rglob("*.parquet") if f.is_file())
    if any(ch in str(p) for ch in "*?["):
        import glob

        return sorted(Path(f) for f in glob.glob(str(p), recursive=True) if Path(f).is_file())
    return [p] if p.is_file() else []


# ----------------------------------------------------------------------------- Spark
_SPARK_BACKENDS: dict[int, Any] = {}


def is_spark_dataframe(obj: Any) -> bool:
    """True for a ``pyspark.sql.DataFrame`` (classic or Spark Connect), without importing pyspark."""
    module = type(obj).__module__ or ""
    return module.startswith("pyspark.sql") and hasattr(obj, "sparkSession") and hasattr(obj, "createOrReplaceTempView")


def spark_backend(session: Any = None):
    """The Ibis PySpark backend of ``session`` (default: the active or a new session).

    One backend per session is kept, because connecting resets the session's
    time zone to UTC (Ibis' convention) and registers nothing else.
    """
    if session is None:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    backend = _SPARK_BACKENDS.get(id(session))
    if backend is None or backend._session is not session:
        backend = ibis.pyspark.connect(session)
        _SPARK_BACKENDS[id(session)] = backend
    return backend


def spark_dataframe_table(df: Any) -> ir.Table:
    """A ``pyspark.sql.DataFrame`` as an Ibis table (a temporary view; nothing is collected)."""
    backend = spark_backend(df.sparkSession)
    name = ibis.util.gen_name("cxlab_transactions")
    df.createOrReplaceTempView(name)
    return backend.table(name)


# ----------------------------------------------------------------------------- specs
def _split_table_name(name: str) -> tuple[str, Any]:
    parts = [p.strip() for p in str(name).split(".")]
    if not all(parts) or len(parts) > 3:
        raise ValueError(f"table must be 'name', 'database.name' or 'catalog.database.name', got {name!r}")
    if len(parts) == 1:
        return parts[0], None
    if len(parts) == 2:
        return parts[1], parts[0]
    return parts[2], (parts[0], parts[1])


def _expand_env(text: str, key: str) -> str:
    """``${VAR}`` from the environment, so passwords stay out of client.yml."""

    def repl(m: re.Match) -> str:
        var = m.group(1)
        if var not in os.environ:
            raise ValueError(f"transactions.{key}: environment variable {var} is not set (used as ${{{var}}})")
        return os.environ[var]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", repl, text)


def _resolve_path(path: Any, base_dir: str | os.PathLike | None) -> str:
    text = os.path.expanduser(str(path))
    if "://" in text:  # s3://, hdfs://, abfss://: the engine resolves it
        return text
    p = Path(text)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return str(p)


def _from_backend(con: Any, spec: Mapping[str, Any], engine: str) -> ir.Table:
    if spec.get("query"):
        query = str(spec["query"])
        if getattr(con, "name", None) == "duckdb":
            # Ibis 12's con.sql() calls a method DuckDB 2 removed; a temporary view is equivalent.
            name = ibis.util.gen_name("cxlab_query")
            con.raw_sql(f'CREATE TEMPORARY VIEW "{name}" AS {query}')
            return con.table(name)
        return con.sql(query)
    name, database = _split_table_name(spec["table"])
    return con.table(name, database=database)


def connect_source(
    spec: Mapping[str, Any],
    *,
    base_dir: str | os.PathLike | None = None,
    spark_session: Any = None,
) -> ir.Table:
    """Turn a source spec (the ``transactions:`` entry of client.yml) into an Ibis table.

    Parameters
    ----------
    spec : mapping
        ``engine`` and where the data is::

            {"engine": "duckdb", "path": "data/acme/tx/*.parquet"}
            {"engine": "spark", "table": "sales.transactions"}
            {"engine": "spark", "path": "s3a://bucket/tx/"}          # Parquet read by Spark
            {"engine": "postgres", "url": "postgres://cx@db:5432/dwh", "table": "sales.tx"}
            {"engine": "ibis", "url": "snowflake://...", "query": "select ..."}

        Optional keys: ``query`` (SQL instead of ``table``), ``columns``
        (``{client_column: contract_name}``, as for files), and for DuckDB
        ``memory_limit``, ``temp_directory``, ``threads``. ``${VAR}`` in a
        ``url`` is read from the environment (keep passwords out of the file).
        Without ``engine``, a ``path`` means DuckDB.
    base_dir : path, optional
        Folder that relative paths are resolved against (the client folder).
    spark_session : SparkSession, optional
        For ``engine: spark``; default: the active session, or a new one
        configured by ``spark-submit`` / ``$SPARK_CONF_DIR``.

    Returns
    -------
    ibis.Table
        The contract's columns (those present), lazily; checked by
        :func:`cxlab.data.aggregate.transactions_table`. Numeric customer ids
        become text, as for files (the customers and surveys tables join on them).

    Raises
    ------
    ValueError
        For an unknown engine or key, a missing ``path``/``table``/``url``, or
        a table without the contract's required columns.
    """
    from cxlab.data.aggregate import transactions_table  # the column checks live there

    if not isinstance(spec, Mapping):
        raise ValueError(f"transactions source must be a mapping such as {{'engine': 'duckdb', 'path': ...}}, got {spec!r}")
    unknown = sorted(set(spec) - set(SOURCE_KEYS))
    if unknown:
        raise ValueError(f"transactions: unknown key(s) {unknown}; valid keys are {list(SOURCE_KEYS)}")
    engine = str(spec.get("engine") or ("duckdb" if spec.get("path") else "")).strip().lower()
    if engine in ("postgresql", "pg"):
        engine = "postgres"
    if engine not in ENGINES:
        raise ValueError(f"transactions.engine must be one of {list(ENGINES)}, got {spec.get('engine')!r}")
    has_table = bool(spec.get("table")) or bool(spec.get("query"))

    if engine == "duckdb":
        options = {k: spec.get(k) for k in ("memory_limit", "temp_directory", "threads")}
        if spec.get("path"):
            table = read_parquet(_resolve_path(spec["path"], base_dir), con=duckdb_connection(**options))
        elif spec.get("url") and has_table:  # a DuckDB database file
            database = _resolve_path(spec["url"].removeprefix("duckdb://"), base_dir)
            table = _from_backend(duckdb_connection(database=database, **options), spec, engine)
        else:
            raise ValueError("transactions: engine 'duckdb' needs `path` (Parquet file, folder or glob)")
    elif engine == "spark":
        backend = spark_backend(spark_session)
        if spec.get("path"):
            table = backend.read_parquet(_resolve_path(spec["path"], base_dir))
        elif has_table:
            table = _from_backend(backend, spec, engine)
        else:
            raise ValueError("transactions: engine 'spark' needs `table` (e.g. db.transactions), `query` or `path`")
    else:  # postgres or any Ibis URL
        url = spec.get("url")
        if not url:
            raise ValueError(f"transactions: engine {engine!r} needs `url` (e.g. postgres://user@host:5432/db)")
        url = _expand_env(str(url), "url")
        if engine == "postgres" and not re.match(r"postgres(ql)?://", url):
            raise ValueError(f"transactions.url must start with postgres:// for engine 'postgres', got {url.split('://')[0]}://...")
        if not has_table:
            raise ValueError(f"transactions: engine {engine!r} needs `table` or `query`")
        con = ibis.connect(url.replace("postgresql://", "postgres://", 1))
        table = _from_backend(con, spec, engine)

    mapping = spec.get("columns") or {}
    if not isinstance(mapping, Mapping):
        raise ValueError(f"transactions.columns must map client column -> contract name, got {mapping!r}")
    if mapping:
        absent = [c for c in mapping if c not in table.columns]
        if absent:
            raise ValueError(f"transactions.columns: {absent} not in the source; its columns are {list(table.columns)}")
        table = table.rename({contract: client for client, contract in mapping.items() if client != contract})
    keep = [c for c in _TRANSACTION_COLUMNS if c in table.columns]
    if all(c in keep for c in ("customer_id", "timestamp", "amount")):
        table = table.select(keep)  # engines prune the rest of a wide warehouse table
    if "customer_id" in table.columns:
        table = _ids_as_text(table)
    return transactions_table(table)


def _ids_as_text(table: ir.Table) -> ir.Table:
    """Customer ids as text, as :func:`cxlab.data.read_table` gives them for files.

    A source spec is client data: its transactions are joined with the
    client's customers and surveys tables, whose ids are text, so numeric ids
    (loyalty-card numbers stored as BIGINT) are written the same way (``123``;
    a whole float ``123.0`` too). A table or path handed to an aggregation
    directly keeps its id type.
    """
    dtype = table.customer_id.type()
    if dtype.is_integer():
        return table.mutate(customer_id=table.customer_id.cast("string"))
    if dtype.is_floating():
        return table.mutate(customer_id=table.customer_id.cast("int64").cast("string"))
    return table
