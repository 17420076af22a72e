"""The data contract: the tables cxlab reads and the columns each must have.

Every client's files are mapped onto these names (see ``columns:`` in the
client's ``client.yml``); every analysis reads only these names.

==============  ==========================================================
table           columns
==============  ==========================================================
transactions    **customer_id**, **timestamp**, **amount**; optional
                order_id, channel, store, discount, margin.
                The loader adds ``is_return`` (amount < 0).
customers       **customer_id**; optional signup_date, loyalty_join_date,
                end_date (contract end, for contractual businesses), tier,
                segment, region, acquisition_channel, acquisition_cost.
surveys         **customer_id**, **date**, **nps** (0..10); optional csat
                (1..5), ces (1..7), touchpoint, journey_stage, and any
                number of attribute ratings ``rating_<attribute>``
                (1..5, e.g. rating_staff, rating_speed, rating_price).
campaigns       **customer_id**, **sent_at**; optional campaign (one
                campaign when absent), group (``treatment`` or
                ``control``, any letter case; every row is ``treatment``
                when the column is absent), channel, cost (>= 0, in
                currency, per message).  One row per customer and
                campaign.
==============  ==========================================================

Besides its fixed columns a table may accept a *family* of columns that share
a name prefix, a kind and bounds (:class:`ColumnFamily`): the surveys'
attribute ratings are one.  A header such as ``Rating_Staff`` (or one mapped
onto ``rating_staff`` in ``client.yml``) becomes the contract column
``rating_staff`` and is parsed and range-checked like any fixed column.

Campaign customers absent from the transaction log are kept and flagged in
the quality report (an id format mismatch between the tables stops the load,
as for surveys); they bought nothing, so they cannot be sleeping customers and
:mod:`cxlab.reactivation` leaves them out of every evaluation, counting them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

__all__ = ["Column", "ColumnFamily", "TableSpec", "RATING_PREFIX", "RATING_SCALE", "TRANSACTIONS", "CUSTOMERS",
           "SURVEYS", "CAMPAIGNS", "TABLES"]


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    Parameters
    ----------
    name : str
        Contract name.
    kind : {"id", "datetime", "float", "category", "int"}
        How the loader parses and checks it.
    required : bool
        Whether the table is rejected without it.
    min, max : float, optional
        Inclusive bounds for numeric columns (checked on load).
    description : str
        Shown in error messages and the README.
    values : tuple of str, optional
        Category columns only: the allowed values (compared ignoring letter
        case and surrounding spaces, stored in lower case); any other value
        stops the load.
    """

    name: str
    kind: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    description: str = ""
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ColumnFamily:
    """Optional columns named ``<prefix><suffix>`` that share a kind and bounds.

    The suffix is the client's own word (an attribute such as ``staff``): it
    starts with a letter and holds letters, digits and underscores; it is
    lower-cased, so ``Rating_Staff`` and ``rating_staff`` are one column.

    Parameters
    ----------
    prefix : str
        Name prefix, e.g. ``"rating_"``.
    kind, min, max
        As for :class:`Column`, for every member.
    description : str
        With ``{suffix}`` where the member's suffix goes.
    """

    prefix: str
    kind: str
    min: float | None = None
    max: float | None = None
    description: str = ""

    def canonical(self, name: str) -> str | None:
        """The contract name of header ``name`` if it is a member, else None."""
        text = str(name).strip().casefold()
        if not text.startswith(self.prefix):
            return None
        suffix = text[len(self.prefix):]
        return self.prefix + suffix if _SUFFIX.fullmatch(suffix) else None

    def column(self, name: str) -> Column:
        """The :class:`Column` of member ``name`` (a contract name)."""
        suffix = name[len(self.prefix):]
        return Column(name, self.kind, False, self.min, self.max, self.description.format(suffix=suffix))


#: A family suffix: a letter, then letters, digits or underscores (any script: the client's words).
_SUFFIX = re.compile(r"[^\W\d_]\w*")


@dataclass(frozen=True)
class TableSpec:
    """A table of the contract: its name, fixed columns, column families and key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default_factory=tuple)
    families: tuple[ColumnFamily, ...] = field(default_factory=tuple)

    def member_name(self, name: str) -> str | None:
        """The contract name of family member ``name`` (None if no family accepts it)."""
        if any(c.name == str(name).strip().casefold() for c in self.columns):
            return None
        for family in self.families:
            member = family.canonical(name)
            if member is not None:
                return member
        return None

    def accepts(self, name: str) -> bool:
        """Whether ``name`` is a contract name of this table (fixed column or family member)."""
        return any(c.name == name for c in self.columns) or self.member_name(name) == name

    def columns_for(self, names: Iterable[str]) -> tuple[Column, ...]:
        """The fixed columns, then the family members among ``names`` (contract names), sorted."""
        members = sorted({m for m in (self.member_name(n) for n in names) if m is not None and m in names})
        return self.columns + tuple(self.column(m) for m in members)

    def valid_names(self) -> list[str]:
        """Fixed column names and family patterns, for messages."""
        return [c.name for c in self.columns] + [f"{f.prefix}<attribute>" for f in self.families]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def optional(self) -> list[str]:
        return [c.name for c in self.columns if not c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        for family in self.families:
            if family.canonical(name) == name:
                return family.column(name)
        raise KeyError(name)


TRANSACTIONS = TableSpec(
    "transactions",
    (
        Column("customer_id", "id", True, description="customer identifier"),
        Column("timestamp", "datetime", True, description="date or date-time of the purchase"),
        Column("amount", "float", True, description="purchase value in the client's currency; returns negative"),
        Column("order_id", "id", description="order or receipt number"),
        Column("channel", "category", description="sales channel (store, web, app, ...)"),
        Column("store", "category", description="store or branch"),
        Column("discount", "float", min=0, description="discount granted, in currency"),
        Column("margin", "float", description="gross margin of the purchase, in currency"),
    ),
)

CUSTOMERS = TableSpec(
    "customers",
    (
        Column("customer_id", "id", True, description="customer identifier"),
        Column("signup_date", "datetime", description="registration / contract start"),
        Column("loyalty_join_date", "datetime", description="date the customer joined the loyalty program"),
        Column("end_date", "datetime", description="contract end (contractual businesses); empty if active"),
        Column("tier", "category", description="loyalty tier"),
        Column("segment", "category", description="client's own segment"),
        Column("region", "category", description="region"),
        Column("acquisition_channel", "category", description="channel the customer was acquired through"),
        Column("acquisition_cost", "float", min=0, description="cost of acquiring the customer, in currency"),
    ),
    key=("customer_id",),
)

#: Attribute ratings in surveys: columns ``rating_<attribute>``, on one stated scale, 1 (worst) .. 5 (best).
#: Ratings asked on another scale (0..10, 1..7) must be rescaled on the client's side to 1..5.
RATING_PREFIX = "rating_"
RATING_SCALE: tuple[int, int] = (1, 5)

SURVEYS = TableSpec(
    "surveys",
    (
        Column("customer_id", "id", True, description="customer identifier"),
        Column("date", "datetime", True, description="date of the answer"),
        Column("nps", "int", True, min=0, max=10, description="likelihood to recommend, 0..10"),
        Column("csat", "float", min=1, max=5, description="satisfaction, 1..5"),
        Column("ces", "float", min=1, max=7, description="customer effort, 1..7"),
        Column("touchpoint", "category", description="where the survey was taken"),
        Column("journey_stage", "category", description="stage of the customer journey the answer is about"),
    ),
    families=(ColumnFamily(RATING_PREFIX, "float", min=RATING_SCALE[0], max=RATING_SCALE[1],
                           description="rating of the attribute '{suffix}', "
                                       f"{RATING_SCALE[0]}..{RATING_SCALE[1]} (higher is better)"),),
)

CAMPAIGNS = TableSpec(
    "campaigns",
    (
        Column("customer_id", "id", True, description="customer identifier"),
        Column("campaign", "category", description="campaign name (one campaign when absent)"),
        Column("sent_at", "datetime", True, description="date or date-time the message was sent (or would have "
                                                        "been, for the control group)"),
        Column("group", "category", values=("treatment", "control"),
               description="randomised arm: treatment (sent) or control (held out)"),
        Column("channel", "category", description="channel of the message (sms, e-mail, push, call, ...)"),
        Column("cost", "float", min=0, description="cost of the message to this customer, in currency"),
    ),
    key=("customer_id", "campaign"),
)

TABLES = {t.name: t for t in (TRANSACTIONS, CUSTOMERS, SURVEYS, CAMPAIGNS)}
