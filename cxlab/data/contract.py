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
                (1..5), ces (1..7), touchpoint.
campaigns       **customer_id**, **sent_at**; optional campaign (one
                campaign when absent), group (``treatment`` or
                ``control``, any letter case; every row is ``treatment``
                when the column is absent), channel, cost (>= 0, in
                currency, per message).  One row per customer and
                campaign.
==============  ==========================================================

Campaign customers absent from the transaction log are kept and flagged in
the quality report (an id format mismatch between the tables stops the load,
as for surveys); they bought nothing, so they cannot be sleeping customers and
:mod:`cxlab.reactivation` leaves them out of every evaluation, counting them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Column", "TableSpec", "TRANSACTIONS", "CUSTOMERS", "SURVEYS", "CAMPAIGNS", "TABLES"]


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
class TableSpec:
    """A table of the contract: its name, columns and key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default_factory=tuple)

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

SURVEYS = TableSpec(
    "surveys",
    (
        Column("customer_id", "id", True, description="customer identifier"),
        Column("date", "datetime", True, description="date of the answer"),
        Column("nps", "int", True, min=0, max=10, description="likelihood to recommend, 0..10"),
        Column("csat", "float", min=1, max=5, description="satisfaction, 1..5"),
        Column("ces", "float", min=1, max=7, description="customer effort, 1..7"),
        Column("touchpoint", "category", description="where the survey was taken"),
    ),
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
