"""Sleeping customers and winback campaigns: who is asleep, what they are worth, did waking them work.

Three questions a CX consultant is asked about customers who stopped buying:

* **How many are asleep and what is at stake?** :func:`sleeping_customers` applies the
  study's sleeping rule (no purchase for ``sleeping_days``; by default the churn
  threshold, :attr:`cxlab.study.Study.sleeping`) at a date and values every sleeper:
  the revenue of their *last active year* (the 365 days up to their last purchase), its
  margin at the study's margin rate, and the value if reactivated — that margin spread
  evenly over the study's horizon and discounted monthly::

      V_i = Σ_{k=1..H} (m · R_i / 12) / (1 + d)^k

  with ``R_i`` the last-active-year revenue, ``m`` the margin rate, ``H`` the horizon
  in months and ``d`` the monthly discount rate: a woken customer is assumed to return
  to their own old habit for the horizon, no longer.
* **Did the campaign work?** :func:`evaluate_campaign` compares the customers a
  campaign reached with a randomised control group over ``campaign_window_days``
  after sending: return rate (a purchase in the window), time to the first purchase,
  average check of those who returned, revenue and margin per customer, and from them
  the incremental revenue, margin and ROI of the campaign with confidence intervals.
  Differences of means use CUPED (Deng, Xu, Kohavi & Walker 2013, "Improving the
  sensitivity of online controlled experiments by utilizing pre-experiment data",
  WSDM): ``Y* = Y − (X − X̄) θ`` with ``θ`` the least-squares slope pooled over both
  groups and ``X`` each customer's spend in the 365 days before sending and the log of
  their days asleep at sending (pre-experiment data, untouched by the campaign); under
  randomisation ``X`` is independent of the arm, so the difference of ``Y*`` is
  unbiased and its variance is ``(1 − R²)`` times the plain one. Intervals are the
  Neyman (Welch) normal intervals of the difference.
  Without a control group the campaign is compared with *matched sleepers*: customers
  asleep by the study's rule on the send date whom the campaign did not reach, through
  the causal core :func:`cxlab.uplift.treatment_effect` (bias-corrected matching by
  default, or doubly robust AIPW; ATT) on days asleep, pre-period spend and last-active-year
  spend — valid only if nothing else drove who was sent the message.
* **Whom to wake?** :func:`whom_to_wake` ranks today's sleepers by value if reactivated
  × estimated response, the response being the campaign's measured incremental return
  rate in the customer's band of days asleep.

Campaign rows of customers absent from the transaction log are left out of every
evaluation (counted in ``n_unknown``): they bought nothing, so they cannot be asleep.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cxlab._base import Result, Summary, to_builtin

__all__ = ["CampaignEvaluation", "SleepingCustomers", "WakeList", "cuped_difference", "evaluate_campaign",
           "cuped_covariates", "evaluate_study_campaigns", "plot_return_curves", "sleeping_customers", "validate_campaigns",
           "whom_to_wake", "PRE_PERIOD_DAYS", "ACTIVE_YEAR_DAYS"]

#: Days before sending whose spend is the CUPED covariate.
PRE_PERIOD_DAYS = 365.0
#: The "last active year": days up to a sleeper's last purchase whose revenue is at stake.
ACTIVE_YEAR_DAYS = 365.0
#: Fewer customers than this in an arm and a campaign is not evaluated on it.
MIN_ARM = 20
_GROUPS = ("treatment", "control")
#: Covariates of the matched-sleeper route (computed here from the data layer).
MATCH_COVARIATES = ("log_days_asleep", "pre_revenue", "active_revenue", "pre_active")


# --------------------------------------------------------------------------- table
def validate_campaigns(campaigns: pd.DataFrame) -> pd.DataFrame:
    """The campaigns table in contract form (a copy), by the contract's rules.

    ``customer_id`` and ``sent_at`` are required; a missing ``campaign`` column makes one
    campaign named ``"campaign"``, a missing ``group`` column makes every row ``treatment``;
    ``group`` values are ``treatment`` / ``control`` in any letter case (anything else is an
    error: the arm of a row is never guessed); ``cost`` must not be negative.
    """
    missing = [c for c in ("customer_id", "sent_at") if c not in campaigns.columns]
    if missing:
        raise ValueError(f"the campaigns table needs the column(s) {missing}; it has {list(campaigns.columns)}")
    out = campaigns.copy()
    out["sent_at"] = pd.to_datetime(out["sent_at"])
    if out["sent_at"].isna().any() or out["customer_id"].isna().any():
        raise ValueError("the campaigns table has rows without customer_id or sent_at")
    if "campaign" not in out.columns:
        out["campaign"] = "campaign"
    out["campaign"] = out["campaign"].astype(object).where(out["campaign"].notna(), "campaign").astype(str)
    if "group" not in out.columns:
        out["group"] = "treatment"
    raw = out["group"].astype(object)
    # a few distinct labels: normalise each once and map (no new string per row of a campaign of millions)
    spelled = {v: str(v).strip().lower() for v in pd.unique(raw.dropna())}
    group = raw.map(spelled).fillna("treatment")
    bad = ~group.isin(_GROUPS)
    if bad.any():
        raise ValueError(f"campaigns.group must be 'treatment' or 'control'; found {sorted(set(group[bad]))[:5]} "
                         f"(rows {list(np.flatnonzero(bad.to_numpy())[:5])})")
    out["group"] = group
    if "cost" in out.columns:
        cost = pd.to_numeric(out["cost"], errors="coerce")
        if (cost < 0).any():
            raise ValueError("campaigns.cost must not be negative")
        out["cost"] = cost.astype("float64")
    if out.duplicated(["customer_id", "campaign"]).any():
        raise ValueError("the campaigns table has more than one row for a customer in one campaign")
    return out


# --------------------------------------------------------------------------- sleeping customers
def _discounted_months(horizon_months: int, monthly_discount_rate: float) -> float:
    """``Σ_{k=1..H} (1 + d)^-k / 12``: years of an even annual stream over the horizon, discounted."""
    k = np.arange(1, int(horizon_months) + 1)
    return float(np.sum((1.0 + monthly_discount_rate) ** -k) / 12.0)


class SleepingCustomers(Result):
    """The result of :func:`sleeping_customers`.

    Attributes
    ----------
    as_of : Timestamp
    threshold_days : float
    customers : int
        Customers with a purchase before ``as_of``.
    table : DataFrame
        One row per sleeper (index ``customer_id``, longest asleep first): ``last_purchase``,
        ``days_asleep``, ``revenue_last_year`` (the 365 days before ``as_of``),
        ``active_revenue`` and ``active_margin`` (the last active year), ``value_if_reactivated``.
    totals : Series
        ``sleepers``, ``share``, ``revenue_last_year``, ``active_revenue``, ``active_margin``,
        ``value_if_reactivated`` (sums over sleepers).
    """

    def __init__(self, **kw: Any):
        self.__dict__.update(kw)

    def summary(self) -> Summary:
        return Summary(f"Sleeping customers on {self.as_of.date()} (no purchase for {self.threshold_days:g} days)",
                       [("", self.totals.to_frame("value"))],
                       [f"Value if reactivated: the last active year's margin over {self.horizon_months} months, "
                        "discounted monthly."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"as_of": self.as_of, "threshold_days": self.threshold_days, "customers": self.customers,
                           "horizon_months": self.horizon_months, "totals": self.totals})


def sleeping_customers(transactions: Any, *, as_of: Any, sleeping_days: float, margin_rate: float,
                       horizon_months: int = 12, monthly_discount_rate: float = 0.0,
                       customers: pd.Index | None = None) -> SleepingCustomers:
    """Customers with no purchase for ``sleeping_days`` before ``as_of``, and what they are worth.

    Parameters
    ----------
    transactions : transaction source (see :func:`cxlab.data.transactions_table`)
    as_of : date-like
        The day the rule is applied at (end of that day); rows after it are ignored.
    sleeping_days : float
        The sleeping rule (the study's :attr:`~cxlab.study.Study.sleeping`).
    margin_rate, horizon_months, monthly_discount_rate
        The study's margin, horizon and discounting (value if reactivated, module docstring).
    customers : Index, optional
        The customers with a purchase up to ``as_of`` (the study's ``customer_summary.index``, computed
        once per study); read from the data layer when not given.
    """
    from cxlab.data import activity_around

    as_of = pd.Timestamp(as_of).normalize()
    end = as_of + pd.Timedelta(days=1)
    if customers is None:
        customers = _customers_until(transactions, as_of)
    anchors = pd.DataFrame({"customer_id": np.asarray(customers), "anchor": end})
    act = activity_around(transactions, anchors, before_days=ACTIVE_YEAR_DAYS, after_days=0.0,
                          active_days=ACTIVE_YEAR_DAYS, observation_end=as_of)
    days_asleep = (end - act["last_purchase"]).dt.total_seconds() / 86_400.0
    asleep = (days_asleep >= sleeping_days).to_numpy()
    act = act[asleep]
    table = pd.DataFrame({
        "last_purchase": act["last_purchase"], "days_asleep": days_asleep[asleep].astype("float64"),
        "revenue_last_year": act["pre_revenue"], "active_revenue": act["active_revenue"],
        "active_margin": act["active_revenue"] * margin_rate,
    })
    table["value_if_reactivated"] = table["active_margin"].clip(lower=0.0) * _discounted_months(
        horizon_months, monthly_discount_rate)
    table = table.sort_values("days_asleep", ascending=False, kind="stable")
    n = len(customers)
    totals = pd.Series({
        "sleepers": float(len(table)), "share": len(table) / n if n else float("nan"),
        "revenue_last_year": float(table["revenue_last_year"].sum()),
        "active_revenue": float(table["active_revenue"].sum()),
        "active_margin": float(table["active_margin"].sum()),
        "value_if_reactivated": float(table["value_if_reactivated"].sum()),
    })
    return SleepingCustomers(as_of=as_of, threshold_days=float(sleeping_days), customers=n, table=table,
                             totals=totals, horizon_months=int(horizon_months), margin_rate=float(margin_rate))


def _customers_until(transactions: Any, as_of: Any) -> pd.Index:
    """Customers with a purchase up to ``as_of`` (the data layer's customer summary)."""
    from cxlab.data import customer_summary

    return customer_summary(transactions, unit="D", observation_end=as_of).index


# --------------------------------------------------------------------------- CUPED
def cuped_difference(y: np.ndarray, d: np.ndarray, x: np.ndarray | None = None, *, alpha: float = 0.05
                     ) -> dict[str, float]:
    """Difference of means treatment − control, CUPED-adjusted on ``x`` when given.

    ``Y* = Y − (X − X̄) θ``, ``θ`` the pooled least-squares slope of ``Y`` on ``X`` (one
    covariate: ``cov(Y, X) / var(X)``; several: Deng et al. 2013, section 3.3); the SE is
    Neyman's ``sqrt(s₁²/n₁ + s₀²/n₀)`` of the adjusted outcome (θ's estimation is ignored,
    an O(1/n) effect). Returns ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``pvalue``,
    ``theta`` (the first slope) and ``variance_ratio`` (adjusted / plain variance of the difference).
    """
    y = np.asarray(y, dtype="float64")
    d = np.asarray(d, dtype=bool)
    theta = np.zeros(1)
    y_adj = y
    if x is not None:
        x = np.asarray(x, dtype="float64")
        xc = (x - x.mean(axis=0)).reshape(len(y), -1)
        keep = xc.std(axis=0) > 0
        if keep.any():
            theta = np.linalg.lstsq(xc[:, keep], y - y.mean(), rcond=None)[0]
            y_adj = y - xc[:, keep] @ theta

    def var_of_diff(v):
        return v[d].var(ddof=1) / d.sum() + v[~d].var(ddof=1) / (~d).sum()

    est = float(y_adj[d].mean() - y_adj[~d].mean())
    var = float(var_of_diff(y_adj))
    se = float(np.sqrt(var))
    z = stats.norm.ppf(1 - alpha / 2)
    plain = float(var_of_diff(y))
    return {"estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se,
            "pvalue": float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else float("nan"), "theta": float(theta[0]),
            "variance_ratio": var / plain if plain > 0 else float("nan")}


# --------------------------------------------------------------------------- evaluation
class CampaignEvaluation(Result):
    """The result of :func:`evaluate_campaign`.

    Attributes
    ----------
    campaign : str
    design : {"randomised", "matched"}
    sent_first, sent_last : Timestamp
    window_days : int
    n_treated, n_control : int
        Customers compared (matched: the campaign's customers and the pool of sleepers not reached).
    n_unknown : int
        Campaign rows of customers absent from the transaction log (left out).
    n_incomplete : int
        Rows whose window runs past the study's end (left out).
    arms : DataFrame
        Per arm (index treatment, control): ``customers``, ``return_rate``, ``days_to_return``
        (mean, among those who returned), ``average_check`` (revenue per purchase day of those
        who returned), ``revenue`` and ``margin`` per customer.
    effects : DataFrame
        Per outcome (``return_rate``, ``revenue``, ``margin``, ``days_to_return``,
        ``average_check``): ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``pvalue``, ``plain``
        (unadjusted difference), ``variance_ratio`` (CUPED / plain; 1 where not adjusted),
        ``method``. The last two outcomes are descriptive: they compare those who returned,
        a group the campaign itself changed.
    economics : Series
        ``incremental_customers`` (returned because of the campaign), ``incremental_revenue``,
        ``incremental_margin`` (totals over the treated, with ``_low`` / ``_high``), ``cost``
        and ``roi`` = (incremental margin − cost) / cost with ``roi_low`` / ``roi_high`` (NaN without costs).
    customers : DataFrame
        Per compared customer: ``group``, ``returned``, ``days_to_return``, ``revenue``,
        ``margin``, ``pre_revenue``, ``days_asleep``.
    notes : list of str
    """

    def __init__(self, **kw: Any):
        self.__dict__.update(kw)

    def effect(self, outcome: str = "return_rate") -> pd.Series:
        return self.effects.loc[outcome]

    def summary(self) -> Summary:
        return Summary(f"Campaign {self.campaign!r} ({self.design}, {self.window_days} days after sending)",
                       [("Arms", self.arms), ("Effects (treatment − control)", self.effects),
                        ("Economics", self.economics.to_frame("value"))], list(self.notes))

    def to_dict(self) -> dict[str, Any]:
        keys = ("campaign", "design", "sent_first", "sent_last", "window_days", "n_treated", "n_control",
                "n_unknown", "n_incomplete", "arms", "effects", "economics", "notes")
        return to_builtin({k: getattr(self, k) for k in keys})


def _outcomes(transactions: Any, rows: pd.DataFrame, window_days: int, margin_rate: float,
              observation_end: Any) -> pd.DataFrame:
    """Per customer: pre-period spend, days asleep and the window's outcomes (through the data layer)."""
    from cxlab.data import activity_around

    act = activity_around(transactions, rows[["customer_id", "anchor"]], before_days=PRE_PERIOD_DAYS,
                          after_days=window_days, active_days=ACTIVE_YEAR_DAYS, observation_end=observation_end)
    # activity_around returns the anchors' rows in their order: the send times line up by position
    anchor = pd.Series(pd.to_datetime(rows["anchor"]).to_numpy(), index=act.index)
    out = pd.DataFrame(index=act.index)
    out["returned"] = (act["post_days"] > 0).to_numpy()
    out["days_to_return"] = ((act["first_after"] - anchor).dt.total_seconds() / 86_400.0).astype("float64")
    out["revenue"] = act["post_revenue"]
    out["margin"] = act["post_revenue"] * margin_rate
    out["purchase_days"] = act["post_days"]
    out["pre_revenue"] = act["pre_revenue"]
    out["active_revenue"] = act["active_revenue"]
    out["days_asleep"] = ((anchor - act["last_purchase"]).dt.total_seconds() / 86_400.0).astype("float64")
    return out


def _arm_table(frame: pd.DataFrame, d: np.ndarray) -> pd.DataFrame:
    rows = {}
    for name, m in (("treatment", d), ("control", ~d)):
        f = frame[m]
        back = f[f["returned"]]
        rows[name] = {"customers": float(len(f)), "return_rate": float(f["returned"].mean()),
                      "days_to_return": float(back["days_to_return"].mean()) if len(back) else float("nan"),
                      "average_check": float(back["revenue"].sum() / back["purchase_days"].sum())
                      if len(back) else float("nan"),
                      "revenue": float(f["revenue"].mean()), "margin": float(f["margin"].mean())}
    return pd.DataFrame.from_dict(rows, orient="index")


def _welch(a: np.ndarray, b: np.ndarray, alpha: float) -> dict[str, float]:
    est = float(np.mean(a) - np.mean(b))
    se = float(np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))) if min(len(a), len(b)) > 1 \
        else float("nan")
    z = stats.norm.ppf(1 - alpha / 2)
    return {"estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se,
            "pvalue": float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else float("nan"),
            "plain": est, "variance_ratio": 1.0, "method": "difference of those who returned (descriptive)"}


def evaluate_campaign(transactions: Any, campaign_rows: pd.DataFrame, *, window_days: int, margin_rate: float,
                      observation_end: Any, sleeping_days: float | None = None, cuped: bool = True,
                      method: str = "matching", alpha: float = 0.05,
                      customers: pd.Index | None = None) -> CampaignEvaluation:
    """Evaluate one campaign over ``window_days`` after sending (module docstring).

    Parameters
    ----------
    transactions : transaction source
    campaign_rows : DataFrame
        The campaign's rows of the campaigns table (:func:`validate_campaigns` form).
    window_days : int
        The study's ``campaign_window_days``.
    margin_rate : float
        The study's margin rate (margin = revenue × rate).
    observation_end : date-like
        The study window's end: rows whose window runs past it are left out.
    sleeping_days : float, optional
        The study's sleeping rule; needed for the matched route (the pool of sleepers the
        campaign did not reach, asleep on the send date).
    cuped : bool
        Adjust the randomised differences on pre-period spend (Deng et al. 2013).
    method : {"matching", "aipw", "regression", "ipw"}
        Estimator of the matched route (:func:`cxlab.uplift.treatment_effect`, ATT). Bias-corrected
        nearest-neighbour matching (Abadie & Imbens 2011) by default: the return rate falls
        steeply and non-linearly with days asleep, where a linear outcome model extrapolates.
    alpha : float
        1 − confidence level.
    customers : Index, optional
        The customers with a purchase up to ``observation_end`` (the study's, computed once); read
        from the data layer when not given.
    """
    rows = validate_campaigns(campaign_rows)
    if rows["campaign"].nunique() != 1:
        raise ValueError("evaluate_campaign takes the rows of one campaign; see evaluate_study_campaigns")
    name = str(rows["campaign"].iloc[0])
    end = pd.Timestamp(observation_end).normalize() + pd.Timedelta(days=1)
    known = _customers_until(transactions, observation_end) if customers is None else customers
    in_log = rows["customer_id"].isin(known).to_numpy()
    n_unknown = int((~in_log).sum())
    complete = (rows["sent_at"] + pd.Timedelta(days=window_days) <= end).to_numpy()
    n_incomplete = int((in_log & ~complete).sum())
    rows = rows[in_log & complete]
    notes = []
    if n_unknown:
        notes.append(f"{n_unknown} campaign customers are absent from the transaction log and left out.")
    if n_incomplete:
        notes.append(f"{n_incomplete} customers were sent the campaign less than {window_days} days before the "
                     "window's end and are left out.")
    d_rows = (rows["group"] == "treatment").to_numpy()
    if d_rows.sum() < MIN_ARM:
        raise ValueError(f"campaign {name!r}: fewer than {MIN_ARM} treated customers with a complete "
                         f"{window_days}-day window")
    anchors = pd.DataFrame({"customer_id": rows["customer_id"].to_numpy(), "anchor": rows["sent_at"].to_numpy()})
    design = "randomised" if (~d_rows).sum() >= MIN_ARM else "matched"
    if design == "matched":
        if sleeping_days is None:
            raise ValueError(f"campaign {name!r} has no control group: the matched route needs sleeping_days")
        anchors, d_rows, pool_note = _matched_pool(transactions, anchors, rows, sleeping_days)
        notes.append(pool_note)
    frame = _outcomes(transactions, anchors, window_days, margin_rate, observation_end)
    d = d_rows.copy()
    frame.insert(0, "group", np.where(d, "treatment", "control"))
    arms = _arm_table(frame, d)
    if design == "randomised":
        effects = _randomised_effects(frame, d, cuped, alpha)
    else:
        effects = _matched_effects(frame, d, method, alpha)
    for outcome in ("days_to_return", "average_check"):
        back = frame[frame["returned"]]
        dt = (back["group"] == "treatment").to_numpy()
        if dt.sum() >= 2 and (~dt).sum() >= 2:
            values = back[outcome] if outcome == "days_to_return" else back["revenue"] / back["purchase_days"]
            effects.loc[outcome] = pd.Series(_welch(values[dt].to_numpy(), values[~dt].to_numpy(), alpha))
    cost = float(rows.loc[rows["group"] == "treatment", "cost"].sum()) if "cost" in rows.columns \
        and rows["cost"].notna().any() else float("nan")
    economics = _economics(effects, int(d.sum()), cost)
    if design == "randomised" and cuped:
        notes.append("Differences in return rate, revenue and margin are CUPED-adjusted on each customer's spend "
                     f"in the {PRE_PERIOD_DAYS:g} days before sending and days asleep (Deng et al. 2013).")
    return CampaignEvaluation(campaign=name, design=design, sent_first=rows["sent_at"].min(),
                              sent_last=rows["sent_at"].max(), window_days=int(window_days),
                              n_treated=int(d.sum()), n_control=int((~d).sum()), n_unknown=n_unknown,
                              n_incomplete=n_incomplete, arms=arms, effects=effects, economics=economics,
                              customers=frame, notes=notes, alpha=alpha)


def cuped_covariates(frame: pd.DataFrame) -> np.ndarray:
    """The pre-experiment covariates of CUPED: spend in the pre-period and log days asleep at sending."""
    return np.column_stack([frame["pre_revenue"].to_numpy(dtype="float64"),
                            np.log(frame["days_asleep"].clip(lower=1.0).fillna(1.0).to_numpy(dtype="float64"))])


def _randomised_effects(frame: pd.DataFrame, d: np.ndarray, cuped: bool, alpha: float) -> pd.DataFrame:
    x = cuped_covariates(frame) if cuped else None
    out = {}
    for outcome in ("return_rate", "revenue", "margin"):
        y = frame["returned" if outcome == "return_rate" else outcome].to_numpy(dtype="float64")
        res = cuped_difference(y, d, x, alpha=alpha)
        res["plain"] = float(y[d].mean() - y[~d].mean())
        res["method"] = "CUPED difference of means" if cuped else "difference of means"
        res.pop("theta")
        out[outcome] = res
    return pd.DataFrame.from_dict(out, orient="index")


def _matched_pool(transactions: Any, anchors: pd.DataFrame, rows: pd.DataFrame, sleeping_days: float
                  ) -> tuple[pd.DataFrame, np.ndarray, str]:
    """The campaign's customers plus the sleepers it did not reach, all anchored at the (median) send date."""
    sent = rows["sent_at"].median()
    asleep = sleeping_customers(transactions, as_of=sent - pd.Timedelta(days=1), sleeping_days=sleeping_days,
                                margin_rate=1.0).table.index
    pool = asleep[~asleep.isin(rows["customer_id"])]
    controls = pd.DataFrame({"customer_id": pool.to_numpy(), "anchor": sent})
    both = pd.concat([anchors, controls], ignore_index=True)
    d = np.r_[np.ones(len(anchors), bool), np.zeros(len(controls), bool)]
    note = (f"No control group: compared with {len(controls):,} customers asleep (no purchase for "
            f"{sleeping_days:g} days) on {pd.Timestamp(sent).date()} whom the campaign did not reach, adjusted "
            "for days asleep and spend before sending; valid only if nothing else decided who was sent it.")
    return both, d, note


def _matched_effects(frame: pd.DataFrame, d: np.ndarray, method: str, alpha: float) -> pd.DataFrame:
    from cxlab.uplift import treatment_effect

    data = frame.assign(
        treated=d, returned_f=frame["returned"].astype("float64"),
        log_days_asleep=np.log(frame["days_asleep"].clip(lower=1.0)),
        pre_active=(frame["pre_revenue"] > 0).astype("float64"))
    out = {}
    for outcome, col in (("return_rate", "returned_f"), ("revenue", "revenue"), ("margin", "margin")):
        res = treatment_effect(data, treatment="treated", outcome=col, covariates=list(MATCH_COVARIATES),
                               method=method, estimand="ATT", alpha=alpha)
        y = data[col].to_numpy(dtype="float64")
        out[outcome] = {"estimate": res.estimate, "se": res.se, "ci_low": res.ci_low, "ci_high": res.ci_high,
                        "pvalue": res.pvalue, "plain": float(y[d].mean() - y[~d].mean()), "variance_ratio": 1.0,
                        "method": f"matched sleepers, {res.method} (ATT)"}
    return pd.DataFrame.from_dict(out, orient="index")


def _economics(effects: pd.DataFrame, n_treated: int, cost: float) -> pd.Series:
    out = {}
    for name, outcome in (("incremental_customers", "return_rate"), ("incremental_revenue", "revenue"),
                          ("incremental_margin", "margin")):
        row = effects.loc[outcome]
        out[name] = row["estimate"] * n_treated
        out[name + "_low"] = row["ci_low"] * n_treated
        out[name + "_high"] = row["ci_high"] * n_treated
    out["cost"] = cost
    ok = np.isfinite(cost) and cost > 0
    for suffix in ("", "_low", "_high"):
        out["roi" + suffix] = (out["incremental_margin" + suffix] - cost) / cost if ok else float("nan")
    return pd.Series(out, dtype="float64")


def evaluate_study_campaigns(study: Any, **kwargs: Any) -> dict[str, CampaignEvaluation]:
    """Every campaign of a study, evaluated with the study's facts (window, margin, sleeping rule, end)."""
    if study.campaigns is None:
        return {}
    out = {}
    for name, rows in study.campaigns.groupby("campaign", sort=True):
        out[str(name)] = evaluate_campaign(
            study.data.transactions, rows, window_days=study.sleeping.campaign_window_days,
            margin_rate=study.margin_rate, observation_end=study.window_end,
            sleeping_days=study.sleeping.threshold_days, customers=study.customer_summary.index, **kwargs)
    return out


# --------------------------------------------------------------------------- whom to wake
class WakeList(Result):
    """The result of :func:`whom_to_wake`: sleepers ranked by expected incremental value.

    Attributes
    ----------
    table : DataFrame
        Index ``customer_id``: ``days_asleep``, ``active_revenue``, ``value_if_reactivated``,
        ``band``, ``response`` (estimated incremental return rate), ``expected_value``
        (= value × response); best first.
    bands : DataFrame
        Per band of days asleep: ``from_days``, ``to_days``, ``response`` and the customers it
        was measured on.
    """

    def __init__(self, **kw: Any):
        self.__dict__.update(kw)

    def summary(self) -> Summary:
        return Summary("Whom to wake: value if reactivated x estimated response",
                       [("Response by days asleep", self.bands), ("Top 20", self.table.head(20))])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"bands": self.bands, "top": self.table.head(20), "customers": len(self.table)})


def whom_to_wake(sleepers: SleepingCustomers, evaluation: CampaignEvaluation, *, n_bands: int = 3) -> WakeList:
    """Rank sleepers by value if reactivated × the campaign's incremental return rate in their band.

    The bands are quantiles of days asleep among the campaign's customers; in each the
    response is the difference in return rate treatment − control (randomised) or the
    overall effect (matched), floored at zero. A customer asleep longer or shorter than
    every campaign customer takes the nearest band's response.
    """
    frame = evaluation.customers
    edges = np.unique(np.quantile(frame["days_asleep"].dropna(), np.linspace(0, 1, n_bands + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    bands = []
    overall = float(evaluation.effects.loc["return_rate", "estimate"])
    for k in range(len(edges) - 1):
        m = ((frame["days_asleep"] >= edges[k]) & (frame["days_asleep"] < edges[k + 1])).to_numpy()
        d = (frame["group"] == "treatment").to_numpy()
        if evaluation.design == "randomised" and (m & d).sum() >= 2 and (m & ~d).sum() >= 2:
            resp = float(frame.loc[m & d, "returned"].mean() - frame.loc[m & ~d, "returned"].mean())
        else:
            resp = overall
        bands.append({"from_days": edges[k], "to_days": edges[k + 1], "customers": int(m.sum()),
                      "response": max(resp, 0.0)})
    bands = pd.DataFrame(bands)
    table = sleepers.table[["days_asleep", "active_revenue", "value_if_reactivated"]].copy()
    band = np.searchsorted(edges[1:-1], table["days_asleep"].to_numpy(), side="right")
    table["band"] = band
    table["response"] = bands["response"].to_numpy()[band]
    table["expected_value"] = table["value_if_reactivated"] * table["response"]
    table = table.sort_values(["expected_value", "value_if_reactivated"], ascending=False, kind="stable")
    return WakeList(table=table, bands=bands)


# --------------------------------------------------------------------------- figure
def plot_return_curves(evaluation: CampaignEvaluation, ax=None, *, labels: dict | None = None):
    """Cumulative share of each arm that has bought again, by days since sending."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    labels = labels or {"treatment": "treatment", "control": "control"}
    frame = evaluation.customers
    grid = np.arange(0, evaluation.window_days + 1, dtype="float64")
    for group, style in (("treatment", "-"), ("control", "--")):
        f = frame[frame["group"] == group]
        days = np.sort(f["days_to_return"].dropna().to_numpy(dtype="float64"))
        share = np.searchsorted(days, grid, side="right") / max(len(f), 1)
        ax.step(grid, share, where="post", linestyle=style, label=labels[group])
    ax.set_xlim(0, evaluation.window_days)
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax
