"""Data-quality bookkeeping: what the loader repaired, flagged or dropped.

Design
------
Loading a client's file is never silent. Every decision the loader takes
that changes or qualifies the data is recorded as a :class:`QualityIssue`:

``repaired``
    a value was rewritten into the contract's form (e.g. time-zone offsets
    removed);
``flagged``
    rows are kept but marked (returns get ``is_return``; transactions before
    the customer's signup);
``dropped``
    rows were removed (exact duplicates, empty lines);
``info``
    a fact about the file worth telling the reader (encoding fell back to
    Windows-1251, columns ignored, date format detected).

Problems the loader cannot resolve without guessing are *errors*
(:class:`cxlab.data.validate.DataQualityError`), not issues.

A :class:`QualityReport` is the list of issues of one or several tables; it
is a :class:`cxlab._base.Result`, so it prints as text, renders in notebooks
and in the HTML report (its data-quality section), and serialises with
``to_dict``.  Reports of several tables are combined with :meth:`merge`.

Row numbers in ``example_rows`` follow the convention of the file they come
from and are stated in ``message``: for CSV and Excel the header is row 1
(the first data row is row 2, as a spreadsheet shows it); for Parquet they
are 1-based data rows.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin

__all__ = ["ACTIONS", "KINDS", "QualityIssue", "QualityReport", "ValueChecks", "amount_outliers"]

#: Allowed values of :attr:`QualityIssue.action`, in the order they are shown.
ACTIONS = ("dropped", "flagged", "repaired", "info")

#: Codes of :attr:`QualityIssue.kind` set by the loader (others may be added by callers).
KINDS = (
    "encoding", "columns", "empty_rows", "duplicates", "returns", "decimal", "date_order", "timezone",
    "implausible_date", "unknown_ids", "before_signup", "loyalty_before_signup", "out_of_window",
    "outlier", "returns_only", "sheet", "engine", "invisible", "lookalike", "header_line",
)

#: How many example row numbers an issue keeps.
MAX_EXAMPLE_ROWS = 10


@dataclass(frozen=True)
class QualityIssue:
    """One finding about a loaded table.

    Parameters
    ----------
    table : str
        Contract table (``"transactions"``, ``"customers"``, ``"surveys"``).
    column : str or None
        Contract column concerned, or None for a whole-row / whole-file issue.
    rows_count : int
        Number of rows concerned (0 for file-level facts).
    action : {"dropped", "flagged", "repaired", "info"}
        What the loader did (see the module docstring).
    message : str
        Sentence for the reader, naming the file and the row convention.
    example_rows : tuple of int
        Up to ten row numbers of the source file, in the file's convention.
    kind : str, optional
        A stable code for the finding, for code that looks for one kind
        (see :data:`KINDS`), e.g. ``"outlier"`` or ``"out_of_window"``.
    """

    table: str
    column: str | None
    rows_count: int
    action: str
    message: str
    example_rows: tuple[int, ...] = ()
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"QualityIssue.action must be one of {ACTIONS}, got {self.action!r}")
        # Normalise numpy integers and lists so issues compare and serialise cleanly.
        object.__setattr__(self, "rows_count", int(self.rows_count))
        object.__setattr__(
            self, "example_rows", tuple(int(r) for r in list(self.example_rows)[:MAX_EXAMPLE_ROWS])
        )

    def to_dict(self) -> dict[str, Any]:
        """The issue as JSON-able builtins."""
        d = asdict(self)
        d["example_rows"] = list(self.example_rows)
        return to_builtin(d)


@dataclass
class QualityReport(Result):
    """The data-quality findings of one or more loaded tables.

    Parameters
    ----------
    issues : list of QualityIssue
        Findings in the order they were made.

    Examples
    --------
    >>> rep = QualityReport()
    >>> rep.add("transactions", "amount", "flagged", 3, "3 returns (negative amount).")
    >>> rep.count("flagged")
    3
    """

    issues: list[QualityIssue] = field(default_factory=list)

    # -- building ---------------------------------------------------------
    def add(
        self,
        table: str,
        column: str | None,
        action: str,
        rows_count: int,
        message: str,
        example_rows: Iterable[int] = (),
        kind: str | None = None,
    ) -> QualityIssue:
        """Append an issue and return it."""
        issue = QualityIssue(table, column, rows_count, action, message, tuple(example_rows), kind)
        self.issues.append(issue)
        return issue

    def merge(self, other: "QualityReport | None") -> "QualityReport":
        """A new report with this report's issues followed by ``other``'s."""
        if other is None:
            return QualityReport(list(self.issues))
        if not isinstance(other, QualityReport):
            raise TypeError(f"can only merge a QualityReport, got {type(other).__name__}")
        return QualityReport(list(self.issues) + list(other.issues))

    # -- querying ---------------------------------------------------------
    def __iter__(self) -> Iterator[QualityIssue]:
        return iter(self.issues)

    def __len__(self) -> int:
        return len(self.issues)

    def select(self, action: str | None = None, table: str | None = None, column: str | None = None,
               kind: str | None = None) -> list[QualityIssue]:
        """Issues matching every criterion given."""
        return [
            i for i in self.issues
            if (action is None or i.action == action)
            and (table is None or i.table == table)
            and (column is None or i.column == column)
            and (kind is None or i.kind == kind)
        ]

    def count(self, action: str | None = None, table: str | None = None) -> int:
        """Total ``rows_count`` of the matching issues."""
        return sum(i.rows_count for i in self.select(action=action, table=table))

    # -- output -----------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per issue: table, column, action, rows_count, message, example_rows."""
        cols = ["table", "column", "action", "rows_count", "message", "example_rows", "kind"]
        if not self.issues:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "rows_count" else object) for c in cols})
        return pd.DataFrame(
            [{
                "table": i.table, "column": i.column, "action": i.action,
                "rows_count": i.rows_count, "message": i.message,
                "example_rows": list(i.example_rows), "kind": i.kind,
            } for i in self.issues],
            columns=cols,
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"issues": [...], "rows_by_action": {...}}`` as JSON-able builtins."""
        return {
            "issues": [i.to_dict() for i in self.issues],
            "rows_by_action": {a: self.count(a) for a in ACTIONS if self.select(action=a)},
        }

    def summary(self) -> Summary:
        """Issues grouped by action (dropped, flagged, repaired, info)."""
        notes: list[str] = []
        if not self.issues:
            return Summary("Data quality", [], ["No data-quality issues found."])
        frame = self.to_frame()
        order = {a: k for k, a in enumerate(ACTIONS)}
        frame = frame.assign(_o=frame["action"].map(order)).sort_values(["_o"], kind="stable")
        shown = frame[["table", "column", "action", "rows_count", "message"]].copy()
        shown["column"] = shown["column"].fillna("")
        shown = shown.reset_index(drop=True)
        dropped = self.count("dropped")
        if dropped:
            notes.append(f"{dropped:,} rows were removed while loading; see 'dropped'.")
        return Summary("Data quality", [("Issues found while loading", shown)], notes)


# ---------------------------------------------------------------------------
# value checks: what could dominate a headline
# ---------------------------------------------------------------------------
#: Robust z-score (log scale) above which an amount is an outlier.
OUTLIER_Z = 6.0
#: Share of gross revenue above which one transaction is an outlier (if also 50× a row's average share).
OUTLIER_SHARE = 0.05
#: Smallest robust scale of log10(amount) used (a factor of 10**0.25 ≈ 1.8), so that a log whose
#: amounts are nearly all equal does not flag every other amount.
MIN_LOG_SCALE = 0.25
#: Outliers holding at least this share of gross revenue dominate revenue-based headlines.
DOMINANCE_SHARE = 0.10


def amount_outliers(amount: Any, *, z: float = OUTLIER_Z, share: float = OUTLIER_SHARE
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flag transaction amounts that are extreme on a robust log scale or by their share of revenue.

    Amounts span orders of magnitude, so they are compared on ``log10|amount|``:
    ``robust_z = (log10|a| − median) / (1.4826 · MAD)`` (the MAD scaled to a
    normal standard deviation, floored at :data:`MIN_LOG_SCALE`), computed from
    at least eight non-zero amounts.  An amount is an outlier if its
    ``robust_z`` exceeds ``z`` (6 by default: 10⁻⁹ of a log-normal log), or if
    it alone holds more than ``share`` of the gross revenue (sum of positive
    amounts) and more than 50 times an average row's share.  Only large
    amounts are flagged: they are the ones that dominate totals.

    Returns
    -------
    mask, robust_z, revenue_share : numpy.ndarray
        Per amount; ``robust_z`` is NaN where undefined.
    """
    a = np.asarray(amount, dtype="float64")
    n = len(a)
    rz = np.full(n, np.nan)
    mask = np.zeros(n, dtype=bool)
    gross = float(np.nansum(np.where(a > 0, a, 0.0)))
    rev_share = np.where(a > 0, a, 0.0) / gross if gross > 0 else np.zeros(n)
    nonzero = np.isfinite(a) & (a != 0)
    if nonzero.sum() >= 8:
        logs = np.log10(np.abs(a[nonzero]))
        sample = logs[:: max(len(logs) // 500_000, 1)]  # median and MAD of a systematic sample: plenty
        med = np.median(sample)
        scale = max(1.4826 * np.median(np.abs(sample - med)), MIN_LOG_SCALE)
        rz[nonzero] = (logs - med) / scale
        mask |= np.nan_to_num(rz, nan=-np.inf) > z
    if n:
        mask |= (rev_share > share) & (rev_share > 50.0 / n)
    return mask, rz, rev_share


@dataclass
class ValueChecks:
    """Row-level sanity findings of a client's data, for figures that must say when they are dominated.

    The same findings are in the :class:`QualityReport` as ``flagged`` issues
    (kinds ``outlier``, ``returns_only``, ``out_of_window``,
    ``implausible_date``); this object holds them as data.

    Attributes
    ----------
    outliers : pandas.DataFrame
        One row per outlying transaction (index: position in the transactions
        frame): ``row`` (file row), ``customer_id``, ``timestamp``, ``amount``,
        ``robust_z``, ``revenue_share``.
    outlier_revenue_share : float
        Share of gross revenue (positive amounts) held by the outliers.
    returns_only : list of str
        Customers whose every transaction is a return.
    returns_only_rows : int
    out_of_window : int
        Transactions dated after ``observation_end`` (kept in the frame; the
        analyses leave them out).
    observation_end : pandas.Timestamp or None
    implausible_dates : dict
        ``"table.column"`` → number of implausible dates flagged.
    """

    outliers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["row", "customer_id", "timestamp", "amount", "robust_z", "revenue_share"]))
    outlier_revenue_share: float = 0.0
    returns_only: list[str] = field(default_factory=list)
    returns_only_rows: int = 0
    out_of_window: int = 0
    observation_end: Any = None
    implausible_dates: dict[str, int] = field(default_factory=dict)

    def dominates(self, share: float = DOMINANCE_SHARE) -> bool:
        """True when outliers hold at least ``share`` of gross revenue: revenue, LTV and ABC headlines
        then describe a handful of rows, and should say so."""
        return self.outlier_revenue_share >= share

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({
            "outliers": [{k: (None if pd.isna(v) else v) for k, v in rec.items()}
                         for rec in self.outliers.to_dict("records")],
            "outlier_revenue_share": self.outlier_revenue_share,
            "dominates": self.dominates(),
            "returns_only": list(self.returns_only),
            "returns_only_rows": self.returns_only_rows,
            "out_of_window": self.out_of_window,
            "observation_end": None if self.observation_end is None else str(self.observation_end),
            "implausible_dates": dict(self.implausible_dates),
        })
