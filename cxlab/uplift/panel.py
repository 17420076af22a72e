"""Customer × month arrays for the loyalty analyses.

The data layer (:func:`cxlab.data.customer_period_panel`) gives a long, tidy
panel; the uplift estimators work on dense ``customers × periods`` arrays
(a million customers × 36 months is 36 M cells, fine as float64), built once
here together with each customer's join period.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxlab.uplift._utils import require_columns

__all__ = ["MemberPanel", "member_panel", "NEVER"]

#: join index of customers who never joined within the panel
NEVER = np.iinfo(np.int64).max // 2


@dataclass
class MemberPanel:
    """Dense customer × period arrays plus join and first-purchase periods.

    Attributes
    ----------
    customer_id : ndarray of str
    periods : DatetimeIndex
        Period starts, in order.
    revenue, transactions : ndarray (n_customers, n_periods)
        Zero before the customer's first purchase period.
    first : int ndarray
        Index of the first purchase period.
    join : int ndarray
        Index of the period of joining (may be negative: joined before the
        panel starts); :data:`NEVER` when not a member by the end of the panel.
    covariates : DataFrame
        Extra pre-treatment columns of the customers table (channel, region, …),
        indexed like the arrays.
    """

    customer_id: np.ndarray
    periods: pd.DatetimeIndex
    revenue: np.ndarray
    transactions: np.ndarray
    first: np.ndarray
    join: np.ndarray
    covariates: pd.DataFrame

    @property
    def n_customers(self) -> int:
        return len(self.customer_id)

    @property
    def is_member(self) -> np.ndarray:
        return self.join < len(self.periods)


_CUSTOMER_COVARIATES = ("acquisition_channel", "region", "segment")


def _codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of customer ids. The data layer returns each customer's rows together, so the
    codes come from the change points (no hashing of 18 M strings); otherwise ``pd.factorize``."""
    if len(ids) > 1:
        change = np.empty(len(ids), dtype=bool)
        change[0] = True
        change[1:] = ids[1:] != ids[:-1]
        uniq = ids[change]
        if pd.Index(uniq).is_unique:
            return np.cumsum(change) - 1, uniq
    codes, uniq = pd.factorize(ids)
    return codes, np.asarray(uniq, dtype=object)


def member_panel(
    panel: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    join_column: str = "loyalty_join_date",
    covariate_columns: tuple[str, ...] | None = None,
) -> MemberPanel:
    """Dense arrays from a data-layer panel and the customers table.

    Parameters
    ----------
    panel : DataFrame
        ``customer_id, period, transactions, revenue`` as returned by
        :func:`cxlab.data.customer_period_panel` (monthly for the loyalty analyses).
    customers : DataFrame
        Contract customers table with ``customer_id`` and ``join_column``
        (NaT: not a member).
    join_column : str
        Date of joining the programme.
    covariate_columns : tuple of str, optional
        Pre-treatment customer attributes used by the propensity model; default:
        those of ``acquisition_channel, region, segment`` that exist. (``tier``
        is left out on purpose: it is usually a consequence of membership.)
    """
    require_columns(panel, ["customer_id", "period", "transactions", "revenue"], "the customer × period panel")
    require_columns(customers, ["customer_id", join_column], "the customers table")
    if len(panel) == 0:
        raise ValueError("the customer × period panel is empty")
    ids = panel["customer_id"]
    ids = (ids if pd.api.types.is_string_dtype(ids) else ids.astype(str)).to_numpy()
    period_values = pd.to_datetime(panel["period"]).to_numpy()
    periods = np.sort(pd.unique(period_values))
    t_idx = np.searchsorted(periods, period_values)
    codes, uniq = _codes(ids)
    n, T = len(uniq), len(periods)
    revenue = np.zeros((n, T))
    transactions = np.zeros((n, T))
    revenue[codes, t_idx] = pd.to_numeric(panel["revenue"], errors="coerce").to_numpy(dtype="float64")
    transactions[codes, t_idx] = pd.to_numeric(panel["transactions"], errors="coerce").to_numpy(dtype="float64")
    if not (np.isfinite(revenue).all() and np.isfinite(transactions).all()):
        raise ValueError("the panel's 'revenue' and 'transactions' must be numbers without gaps")
    first = np.full(n, T, dtype="int64")
    np.minimum.at(first, codes, t_idx)

    cust = customers.copy()
    cust["customer_id"] = cust["customer_id"].astype(str)
    if cust["customer_id"].duplicated().any():
        dup = cust.loc[cust["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise ValueError(f"the customers table has customer_id {dup!r} more than once")
    cust = cust.set_index("customer_id").reindex(uniq)
    try:
        join_dates = pd.to_datetime(cust[join_column])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {join_column!r} of the customers table must hold dates: {exc}") from None
    jd = join_dates.to_numpy(dtype="datetime64[ns]")
    has = ~np.isnat(jd)
    join = np.full(n, NEVER, dtype="int64")
    # the period containing the join date; before the first period → −1
    pos = np.searchsorted(periods, jd[has], side="right") - 1
    # a join date after the panel's last period is "not (yet) a member"
    after = jd[has] >= (pd.Timestamp(periods[-1]) + (pd.Timestamp(periods[-1]) - pd.Timestamp(periods[-2]) if T > 1 else pd.Timedelta(days=31))).to_datetime64()
    join[has] = np.where(after, NEVER, pos)
    if covariate_columns is None:
        covariate_columns = tuple(c for c in _CUSTOMER_COVARIATES if c in cust.columns)
    missing = [c for c in covariate_columns if c not in cust.columns]
    if missing:
        raise ValueError(f"covariate column(s) {missing} are not in the customers table")
    covs = cust[list(covariate_columns)].reset_index(drop=True)
    return MemberPanel(
        customer_id=np.asarray(uniq, dtype=object),
        periods=pd.DatetimeIndex(periods),
        revenue=revenue,
        transactions=transactions,
        first=first,
        join=join,
        covariates=covs,
    )
