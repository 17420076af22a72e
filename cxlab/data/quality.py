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

import pandas as pd

from cxlab._base import Result, Summary, to_builtin

__all__ = ["ACTIONS", "QualityIssue", "QualityReport"]

#: Allowed values of :attr:`QualityIssue.action`, in the order they are shown.
ACTIONS = ("dropped", "flagged", "repaired", "info")

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
    """

    table: str
    column: str | None
    rows_count: int
    action: str
    message: str
    example_rows: tuple[int, ...] = ()

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
    ) -> QualityIssue:
        """Append an issue and return it."""
        issue = QualityIssue(table, column, rows_count, action, message, tuple(example_rows))
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

    def select(self, action: str | None = None, table: str | None = None, column: str | None = None
               ) -> list[QualityIssue]:
        """Issues matching every criterion given."""
        return [
            i for i in self.issues
            if (action is None or i.action == action)
            and (table is None or i.table == table)
            and (column is None or i.column == column)
        ]

    def count(self, action: str | None = None, table: str | None = None) -> int:
        """Total ``rows_count`` of the matching issues."""
        return sum(i.rows_count for i in self.select(action=action, table=table))

    # -- output -----------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per issue: table, column, action, rows_count, message, example_rows."""
        cols = ["table", "column", "action", "rows_count", "message", "example_rows"]
        if not self.issues:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "rows_count" else object) for c in cols})
        return pd.DataFrame(
            [{
                "table": i.table, "column": i.column, "action": i.action,
                "rows_count": i.rows_count, "message": i.message,
                "example_rows": list(i.example_rows),
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
