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
    activity_around,
    churn_durations,
    cohort_counts,
    customer_period_moments,
    customer_period_panel,
    customer_summary,
    discount_calendar,
    discount_cells,
    durations_from_summary,
    interpurchase_gap_counts,
    interpurchase_gaps,
    log_overview,
    period_start,
    purchase_days,
    transactions_of,
    transactions_table,
)
from cxlab.data.contract import CAMPAIGNS, CUSTOMERS, SURVEYS, TABLES, TRANSACTIONS
from cxlab.data.engines import connect_source

from cxlab.data.io import ClientData, LoadedTable, SourceInfo, check_client_data, load_client_data, read_table
from cxlab.data.quality import QualityIssue, QualityReport
from cxlab.data.validate import DataFileError, DataQualityError
