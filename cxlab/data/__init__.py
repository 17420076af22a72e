"""The data layer: the only code in cxlab that reads client files and transaction-level data.

* :mod:`cxlab.data.contract` — the tables and columns cxlab understands.
* :mod:`cxlab.data.io` and :mod:`cxlab.data.validate` — reading CSV/Parquet/Excel
  into the contract, with validation and a data-quality report.
* :mod:`cxlab.data.aggregate` — transaction log → per-customer summaries, cohort
  counts, customer × period panels and churn durations, computed by DuckDB
  (or any Ibis backend) and returned as pandas frames.
"""
from cxlab.data.aggregate import (
    PERIODS,
    UNIT_DAYS,
    churn_durations,
    cohort_counts,
    customer_period_panel,
    customer_summary,
    interpurchase_gaps,
    period_start,
    transactions_table,
)
from cxlab.data.contract import CUSTOMERS, SURVEYS, TABLES, TRANSACTIONS

_IO_NAMES = {"read_table", "load_client_data", "ClientData", "LoadedTable", "DataQualityError"}
_QUALITY_NAMES = {"QualityReport", "QualityIssue"}


def __getattr__(name):  # the loading half is imported on first use
    if name in _IO_NAMES:
        from cxlab.data import io

        return getattr(io, name)
    if name in _QUALITY_NAMES:
        from cxlab.data import quality

        return getattr(quality, name)
    raise AttributeError(f"module 'cxlab.data' has no attribute {name!r}")
