"""The study: the facts of one client's analysis, decided once and read everywhere.

A number in a report is a claim a consultant signs, so every fact that more
than one analysis depends on is decided here, once, from the client's
configuration and data — never again inside a section or a notebook:

============================  ==================================================================
fact                          rule
============================  ==================================================================
observation window            first transaction day .. ``observation_end`` (default: the last
                              transaction day); every table is cut at its end
calibration / holdout split   ``calibration_end`` if given; otherwise the last third of the
                              window, at most 52 weeks, is held out (whole weeks, ending on the
                              window's last day); no split when the holdout would be shorter
                              than 8 weeks
time units                    models in weeks (:attr:`Study.unit`), cohorts and panels by calendar
                              month (:attr:`Study.period`), lifetimes and pauses in days
horizon, discounting          ``horizon_months``; ``discount_rate`` is annual, applied monthly as
                              ``(1 + r) ** (1/12) - 1``
margin                        ``margin_rate`` if given; otherwise measured from the transactions'
                              ``margin`` column over the window; otherwise an assumed 30 %
churn                         contract end dates when the customers table has ``signup_date`` and
                              ``end_date``; otherwise "no purchase for X days", X =
                              ``churn_threshold_days`` if given, else chosen from the censored
                              distribution of pauses between purchases by
                              :func:`cxlab.churn.choose_churn_threshold`
sleeping customers            no purchase for ``sleeping_days`` days (default: the churn
                              threshold of the no-purchase rule; with contract churn, the
                              threshold chosen from the pauses); campaigns are evaluated over
                              ``campaign_window_days`` after sending
NPS group of a customer       the group of the customer's first answer in the window
CX-value scenario             ``cx_shift_share`` of a touchpoint's active detractors (default 10 %)
                              are moved to passives or promoters (:mod:`cxlab.cx_drivers`)
loyalty members               customers whose ``loyalty_join_date`` falls in the window
observed confounders          the acquisition channel (when known for all, 2 to 12 levels): every
                              comparison of groups of customers adjusts for it
customer sample               with more than twice ``customer_sample_size`` customers (who bought
                              in the window), the per-customer models (Cox, membership effects,
                              loyalty uplift, BG/NBD and Gamma-Gamma fits and predictions) run on
                              a simple random sample of that many, drawn with a fixed seed
                              (:attr:`Study.sample`); the sections that use it say so and show
                              its sampling error. Counts, totals, cohorts, segments and
                              lifetime curves always use every customer
============================  ==================================================================

The per-customer durations and churn flags, the customer summaries, cohort
counts, panels and pauses are computed once, on first use, and the same objects
are handed to every reader (treat them as read-only; copy before changing).

A researcher gets the same object the report uses::

    import cxlab
    study = cxlab.open_study("demo")
    study.churn            # ChurnDefinition(kind='no_purchase', threshold_days=90.0, source='parameter')
    study.durations        # one row per customer: start, duration (days), event
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin
from cxlab.units import DAYS_PER_MONTH

__all__ = ["CalibrationSplit", "ChurnDefinition", "CustomerSample", "SleepingRule", "Study", "open_study"]

#: Holdout (weeks) the default calibration split needs; shorter windows get no split.
MIN_HOLDOUT_WEEKS = 8
#: The default split holds out at most this many weeks.
MAX_HOLDOUT_WEEKS = 52
#: Share of the window held out by default.
HOLDOUT_SHARE = 1 / 3
#: Margin rate assumed when neither the parameter nor a margin column gives one.
ASSUMED_MARGIN_RATE = 0.30
#: Quantile of the pause distribution the data-driven churn threshold is read at.
CHURN_QUANTILE = 0.9
#: Seed of the customer sample: the same client's data give the same sample in every run.
SAMPLE_SEED = 20_261_205
#: Two-sided 95 % normal quantile of the sampling errors shown.
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class ChurnDefinition:
    """How the study decides that a customer has churned.

    Attributes
    ----------
    kind : {"contractual", "no_purchase", "unavailable"}
        ``contractual``: the contract end date (customers table). ``no_purchase``:
        no purchase for ``threshold_days``. ``unavailable``: neither can be
        decided (``reason`` says why).
    threshold_days : float or None
    source : str
        ``contract``, ``parameter`` (churn_threshold_days), ``km_quantile`` or
        ``returning_quantile`` (chosen from the pauses, see
        :func:`cxlab.churn.choose_churn_threshold`), or ``none``.
    choice : ThresholdChoice or None
        The data-driven choice with its evidence (also when the parameter was given).
    reason : str
        Why churn is unavailable (empty otherwise).
    """

    kind: str
    threshold_days: float | None
    source: str
    choice: Any = None
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.kind != "unavailable"

    def to_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "threshold_days": self.threshold_days, "source": self.source}
        if self.choice is not None:
            out["data_choice"] = self.choice.to_dict()
        if self.reason:
            out["reason"] = self.reason
        return to_builtin(out)


@dataclass(frozen=True)
class SleepingRule:
    """When the study calls a customer asleep: no purchase for ``threshold_days`` days.

    Attributes
    ----------
    threshold_days : float or None
        None when the rule cannot be decided (``reason`` says why).
    source : {"parameter", "churn threshold", "pauses", "none"}
        ``sleeping_days`` given; the study's no-purchase churn threshold (the
        default: a customer the churn rule calls lost is the audience of a
        winback campaign); the threshold chosen from the pauses between
        purchases (churn read from contract end dates); or undecidable.
    campaign_window_days : int
        Days after a campaign is sent over which its effects are counted.
    reason : str
    """

    threshold_days: float | None
    source: str
    campaign_window_days: int
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.threshold_days is not None

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"threshold_days": self.threshold_days, "source": self.source,
                           "campaign_window_days": self.campaign_window_days, "reason": self.reason})


@dataclass(frozen=True)
class CalibrationSplit:
    """The calibration / holdout split of the study.

    Attributes
    ----------
    calibration_end : Timestamp or None
        Last day of the calibration period (inclusive); None: no split.
    source : {"parameter", "default", "none"}
    holdout_weeks : float
        Length of ``(calibration_end, window end]`` in weeks (0 without a split).
    reason : str
        Why there is no split (empty otherwise).
    """

    calibration_end: pd.Timestamp | None
    source: str
    holdout_weeks: float
    reason: str = ""

    @property
    def available(self) -> bool:
        return self.calibration_end is not None

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({
            "calibration_end": None if self.calibration_end is None else self.calibration_end.date().isoformat(),
            "source": self.source, "holdout_weeks": round(self.holdout_weeks, 3), "reason": self.reason,
        })


@dataclass(frozen=True)
class CustomerSample:
    """The study's simple random sample of customers for the per-customer models.

    Attributes
    ----------
    ids : Index
        The sampled customer ids, in id order.
    population : int
        Customers sampled from (every customer with a purchase in the window).
    seed : int
        Seed of the draw (:data:`SAMPLE_SEED`).
    """

    ids: pd.Index
    population: int
    seed: int

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def fraction(self) -> float:
        return self.size / self.population

    def mean_interval(self, values: Any) -> tuple[float, float, float]:
        """Mean of ``values`` (one per sampled customer) and its 95 % sampling interval.

        Simple random sampling without replacement: the standard error of the
        mean is ``s / sqrt(n) * sqrt(1 - n / N)`` (Cochran 1977, *Sampling
        Techniques*, eq. 2.12), ``s`` the sample standard deviation.
        """
        x = np.asarray(values, dtype=float)
        n = len(x)
        mean = float(x.mean()) if n else float("nan")
        se = float(x.std(ddof=1) / np.sqrt(n) * np.sqrt(1.0 - n / self.population)) if n > 1 else float("nan")
        return mean, mean - _Z95 * se, mean + _Z95 * se

    def total_interval(self, values: Any) -> tuple[float, float, float]:
        """The population total estimated from the sample (``N`` times the mean) and its 95 % interval."""
        return tuple(self.population * v for v in self.mean_interval(values))  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "population": self.population, "fraction": round(self.fraction, 6),
                "seed": self.seed, "method": "simple random sample without replacement"}


class Study(Result):
    """The resolved facts of one client's study (see the module docstring for the rules).

    Parameters
    ----------
    data : ClientData
        The client's tables, as :func:`cxlab.data.load_client_data` returns them.
    params : mapping, optional
        Study parameters (names of :data:`cxlab.config.PARAMETERS`); values are
        parsed and checked by the parameter's own rule, missing ones take its
        default. Unknown names are an error.
    lang, currency, client, display_name : str
        Report language, ISO currency code, client id and the name shown.
    config : ClientConfig, optional
        The configuration the study was built from (provenance).

    Attributes
    ----------
    window_start, window_end : Timestamp
        First and last day of the observation window (inclusive).
    calibration : CalibrationSplit
    unit : str
        Time unit of the lifetime-value models ("W").
    period : str
        Calendar period of cohorts and panels ("M").
    horizon_months : int
    discount_rate, monthly_discount_rate : float
    margin_rate : float
    margin_source : {"parameter", "margin column", "assumed"}
    churn : ChurnDefinition
    durations : DataFrame
        Per customer (index ``customer_id``): ``start``, ``duration`` (days), ``event`` (churned).
    """

    unit = "W"
    period = "M"
    duration_unit = "D"

    def __init__(self, data: Any, params: Mapping[str, Any] | None = None, *, lang: str = "en",
                 currency: str = "RUB", client: str = "", display_name: str = "", config: Any = None):
        from cxlab.config import PARAMETERS, STUDY_PARAMS, ConfigError

        params = dict(params or {})
        unknown = sorted(set(params) - set(STUDY_PARAMS))
        if unknown:
            raise ConfigError(f"unknown study parameter(s) {unknown}; valid: {list(STUDY_PARAMS)}")
        self.params: dict[str, Any] = {
            name: PARAMETERS[name].coerce(params[name]) if name in params else PARAMETERS[name].default
            for name in STUDY_PARAMS
        }
        self.data = data
        self.config = config
        self.lang = lang
        self.currency = str(currency).upper()
        self.client = client
        self.display_name = display_name or client
        self._memo: dict[tuple, Any] = {}
        self._resolve_window()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, cfg: Any, data: Any = None) -> "Study":
        """The study of a client configuration (data loaded from it unless given)."""
        if data is None:
            data = cfg.load_data()  # counts rows after observation_end, refuses an empty window
        return cls(data, cfg.params, lang=cfg.lang, currency=cfg.currency, client=cfg.name,
                   display_name=cfg.display_name, config=cfg)

    @classmethod
    def from_frames(cls, transactions: Any, customers: pd.DataFrame | None = None,
                    surveys: pd.DataFrame | None = None, campaigns: pd.DataFrame | None = None,
                    **params: Any) -> "Study":
        """A study of frames built by hand (contract columns), e.g. in a notebook or a test."""
        from cxlab.data import ClientData

        return cls(ClientData(transactions=transactions, customers=customers, surveys=surveys,
                              campaigns=campaigns), params)

    def _resolve_window(self) -> None:
        overview = self.overview
        if overview["rows"] == 0 or pd.isna(overview["last"]):
            raise ValueError("the transaction log is empty: there is nothing to study")
        self.window_start = pd.Timestamp(overview["first"]).normalize()
        end = self.params["observation_end"]
        self.window_end = (pd.Timestamp(end) if end is not None else pd.Timestamp(overview["last"])).normalize()
        if self.window_end < self.window_start:
            raise ValueError(f"observation_end {self.window_end.date()} is before the first transaction "
                             f"({self.window_start.date()})")
        self.horizon_months = int(self.params["horizon_months"])
        self.discount_rate = float(self.params["discount_rate"])
        self.monthly_discount_rate = (1.0 + self.discount_rate) ** (1.0 / 12.0) - 1.0

    # ------------------------------------------------------------------ facts
    @property
    def window_days(self) -> int:
        """Length of the window in days (both ends included)."""
        return int((self.window_end - self.window_start).days) + 1

    @property
    def horizon_days(self) -> float:
        return self.horizon_months * DAYS_PER_MONTH

    @cached_property
    def calibration(self) -> CalibrationSplit:
        given = self.params["calibration_end"]
        if given is not None:
            cal = pd.Timestamp(given).normalize()
            if not self.window_start <= cal < self.window_end:
                raise ValueError(f"calibration_end {cal.date()} must lie inside the observation window "
                                 f"{self.window_start.date()} .. {self.window_end.date()}")
            return CalibrationSplit(cal, "parameter", (self.window_end - cal).days / 7.0)
        weeks = min(MAX_HOLDOUT_WEEKS, int(self.window_days * HOLDOUT_SHARE // 7))
        if weeks < MIN_HOLDOUT_WEEKS:
            return CalibrationSplit(None, "none", 0.0,
                                    reason=f"the window is {self.window_days} days long; the default split needs "
                                           f"at least {MIN_HOLDOUT_WEEKS} weeks of holdout in its last third")
        return CalibrationSplit(self.window_end - pd.Timedelta(weeks=weeks), "default", float(weeks))

    @property
    def calibration_end(self) -> pd.Timestamp | None:
        return self.calibration.calibration_end

    @cached_property
    def margin(self) -> tuple[float, str]:
        given = self.params["margin_rate"]
        if given is not None:
            return float(given), "parameter"
        totals = self.window_totals  # from the data layer, whichever engine holds the log
        if "margin" in totals and totals["margin_missing"] == 0 and 0 < totals["margin"] <= totals["revenue"]:
            return totals["margin"] / totals["revenue"], "margin column"
        return ASSUMED_MARGIN_RATE, "assumed"

    @property
    def margin_rate(self) -> float:
        return self.margin[0]

    @property
    def margin_source(self) -> str:
        return self.margin[1]

    @cached_property
    def program_costs(self) -> Any:
        """The loyalty programme's cost assumptions per month (:class:`cxlab.uplift.ProgramCosts`)."""
        from cxlab.uplift import ProgramCosts

        return ProgramCosts(reward_rate=float(self.params["reward_rate"]), breakage=float(self.params["breakage"]),
                            fixed_cost=float(self.params["program_cost"]) / 12.0)

    # ------------------------------------------------------------------ tables
    def has(self, table: str, *columns: str) -> bool:
        """The client has ``table`` with every one of ``columns`` (and at least one value in each)."""
        frame = getattr(self.data, table, None)
        if frame is None:
            return False
        if table == "transactions" and not isinstance(frame, pd.DataFrame):
            return all(c in frame.columns for c in columns)
        return len(frame) > 0 and all(c in frame.columns and frame[c].notna().any() for c in columns)

    @cached_property
    def customers(self) -> pd.DataFrame | None:
        """The customers table, one row per customer, indexed by ``customer_id`` (None without one)."""
        cust = getattr(self.data, "customers", None)
        if cust is None:
            return None
        return cust.drop_duplicates("customer_id").set_index("customer_id", drop=False)

    @cached_property
    def surveys(self) -> pd.DataFrame | None:
        """Survey answers given up to the window's end (None without a surveys table)."""
        surveys = getattr(self.data, "surveys", None)
        if surveys is None:
            return None
        from cxlab.survey import validate_surveys

        surveys = validate_surveys(surveys)
        return surveys[surveys["date"] < self.window_end + pd.Timedelta(days=1)]

    @cached_property
    def campaigns(self) -> pd.DataFrame | None:
        """Campaign rows sent up to the window's end (None without a campaigns table).

        ``campaign`` and ``group`` are filled by the contract's rule when the client's
        table has no such column (one campaign; every row treated); see
        :func:`cxlab.reactivation.validate_campaigns`.
        """
        campaigns = getattr(self.data, "campaigns", None)
        if campaigns is None:
            return None
        from cxlab.reactivation import validate_campaigns

        campaigns = validate_campaigns(campaigns)
        return campaigns[campaigns["sent_at"] < self.window_end + pd.Timedelta(days=1)].reset_index(drop=True)

    @cached_property
    def nps_groups(self) -> pd.DataFrame | None:
        """Each surveyed customer's NPS answer and group: their first answer in the window."""
        if self.surveys is None or self.surveys.empty:
            return None
        from cxlab.survey import customer_nps_groups

        return customer_nps_groups(self.surveys, which="first")

    @cached_property
    def adjust_for(self) -> list[str]:
        """Customer columns every analysis adjusts for as observed confounders (one choice for the study).

        The acquisition channel, when the customers table has it for everybody with 2 to 12 levels: the
        channel a customer came through shifts how often they buy, how long they stay and whether they
        join the programme or answer a survey, so comparisons of members or NPS groups condition on it.
        """
        cust = self.customers
        if cust is None or "acquisition_channel" not in cust.columns:
            return []
        channel = cust["acquisition_channel"]
        return ["acquisition_channel"] if channel.notna().all() and 2 <= channel.nunique() <= 12 else []

    @cached_property
    def loyalty_join(self) -> pd.Series | None:
        """Join date of every customer who joined the loyalty programme within the window."""
        if self.customers is None or "loyalty_join_date" not in self.customers.columns:
            return None
        join = pd.to_datetime(self.customers["loyalty_join_date"])
        return join[join.notna() & (join < self.window_end + pd.Timedelta(days=1))]

    # ------------------------------------------------------------------ data-layer results
    def _once(self, key: tuple, compute) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @cached_property
    def overview(self) -> dict[str, Any]:
        """Rows, customers, returns, revenue and span of the whole transaction log."""
        from cxlab.data import log_overview

        return log_overview(self.data.transactions)

    @cached_property
    def window_totals(self) -> dict[str, Any]:
        """Rows, customers, returns and revenue of the transactions within the window
        (customers whose only rows are returns included)."""
        from cxlab.data import log_overview

        last = self.overview["last"]
        if pd.notna(last) and pd.Timestamp(last).normalize() <= self.window_end:
            return dict(self.overview)  # the window holds the whole log: the same counts, no second pass
        return log_overview(self.data.transactions, observation_end=self.window_end)

    @cached_property
    def customer_summary(self) -> pd.DataFrame:
        """Per-customer summary over the window (:func:`cxlab.data.customer_summary`, in :attr:`unit`)."""
        from cxlab.data import customer_summary

        return customer_summary(self.data.transactions, unit=self.unit, observation_end=self.window_end)

    @cached_property
    def calibration_summary(self) -> pd.DataFrame | None:
        """The summary split at :attr:`calibration_end` (None without a split)."""
        if not self.calibration.available:
            return None
        from cxlab.data import customer_summary

        return customer_summary(self.data.transactions, unit=self.unit, calibration_end=self.calibration_end,
                                observation_end=self.window_end)

    def cohorts(self, period: str | None = None) -> pd.DataFrame:
        """Cohort × period counts (:func:`cxlab.data.cohort_counts`) over the window."""
        from cxlab.data import cohort_counts

        period = period or self.period
        return self._once(("cohorts", period), lambda: cohort_counts(
            self.data.transactions, period=period, observation_end=self.window_end))

    def panel(self, period: str | None = None) -> pd.DataFrame:
        """Customer × period panel (:func:`cxlab.data.customer_period_panel`) over the window."""
        from cxlab.data import customer_period_panel

        period = period or self.period
        return self._once(("panel", period), lambda: customer_period_panel(
            self.data.transactions, period=period, end=self.window_end))

    @cached_property
    def gaps(self) -> pd.DataFrame:
        """Pauses between purchase days, in days (:func:`cxlab.data.interpurchase_gaps`)."""
        from cxlab.data import interpurchase_gaps

        return interpurchase_gaps(self.data.transactions, unit=self.duration_unit, observation_end=self.window_end)

    @cached_property
    def gap_analysis(self) -> Any:
        """:class:`cxlab.churn.ChurnThresholdAnalysis` of the pauses (None if no pause ended)."""
        from cxlab.churn import churn_threshold_analysis

        counts = self.gap_counts  # the pauses counted by length: the log's size never reaches pandas
        if not (~counts["censored"].astype(bool) & (counts["count"] > 0)).any():
            return None
        return churn_threshold_analysis(counts, quantiles=(0.8, CHURN_QUANTILE, 0.95), unit="days")

    @cached_property
    def gap_counts(self) -> pd.DataFrame:
        """The pauses between purchase days counted by length (:func:`cxlab.data.interpurchase_gap_counts`):
        what the churn threshold is read from, at the size of the distribution instead of the log."""
        from cxlab.data import interpurchase_gap_counts

        return interpurchase_gap_counts(self.data.transactions, unit=self.duration_unit,
                                        observation_end=self.window_end)

    def period_moments(self, end: Any = None) -> pd.DataFrame:
        """Each customer's periods, mean and spread of purchases per :attr:`period` up to ``end`` (default:
        the window's end): :func:`cxlab.data.customer_period_moments`, the panel's moments without the panel."""
        from cxlab.data import customer_period_moments

        end = pd.Timestamp(end if end is not None else self.window_end)
        return self._once(("moments", end), lambda: customer_period_moments(
            self.data.transactions, period=self.period, end=end))

    # ------------------------------------------------------------------ customer sample
    @cached_property
    def sample(self) -> CustomerSample | None:
        """The customer sample of the per-customer models (None: every customer is used).

        Drawn when more than twice ``customer_sample_size`` customers bought in the window:
        ``customer_sample_size`` ids out of the summary's, in id order, with :data:`SAMPLE_SEED`.
        """
        size = int(self.params["customer_sample_size"])
        ids = self.customer_summary.index
        if size <= 0 or len(ids) <= 2 * size:
            return None
        rng = np.random.default_rng(SAMPLE_SEED)
        chosen = np.sort(rng.choice(len(ids), size=size, replace=False))
        return CustomerSample(ids[chosen], len(ids), SAMPLE_SEED)

    @cached_property
    def sample_transactions(self) -> pd.DataFrame | None:
        """Every transaction of the sample's customers (:func:`cxlab.data.transactions_of`: one filtered
        scan by the engine), the source of the sample's panels, summaries and cohorts; None without a sample."""
        if self.sample is None:
            return None
        from cxlab.data import transactions_of

        return transactions_of(self.data.transactions, self.sample.ids)

    def sampled(self, frame: pd.DataFrame | None) -> pd.DataFrame | None:
        """``frame`` (indexed by ``customer_id``, or with that column) restricted to the sample's customers;
        the frame itself when there is no sample."""
        if frame is None or self.sample is None:
            return frame
        if "customer_id" in frame.columns and frame.index.name != "customer_id":
            return frame[frame["customer_id"].isin(self.sample.ids)]
        return frame[frame.index.isin(self.sample.ids)]

    @property
    def model_summary(self) -> pd.DataFrame:
        """:attr:`customer_summary` of the customers the per-customer models use (the sample, if any)."""
        return self._once(("model_summary",), lambda: self.sampled(self.customer_summary))

    @property
    def model_calibration_summary(self) -> pd.DataFrame | None:
        """:attr:`calibration_summary` of the customers the per-customer models use: with a sample, the
        engine summarises the sample's customers only (the whole split summary is never computed)."""
        if self.sample is None or not self.calibration.available:
            return self.calibration_summary
        from cxlab.data import customer_summary

        return self._once(("model_calibration_summary",), lambda: customer_summary(
            self.sample_transactions, unit=self.unit, calibration_end=self.calibration_end,
            observation_end=self.window_end))

    @property
    def calibration_customers(self) -> int:
        """Customers of the calibration period (first purchase on or before :attr:`calibration_end`)."""
        if not self.calibration.available:
            return 0
        return int((self.customer_summary["first_purchase"] <= self.calibration_end).sum())

    def model_cohorts(self, period: str | None = None) -> pd.DataFrame:
        """:meth:`cohorts` of the customers the per-customer models use (the sample's, by the engine)."""
        if self.sample is None:
            return self.cohorts(period)
        from cxlab.data import cohort_counts

        period = period or self.period
        return self._once(("model_cohorts", period), lambda: cohort_counts(
            self.sample_transactions, period=period, observation_end=self.window_end))

    @property
    def model_durations(self) -> pd.DataFrame:
        """:attr:`durations` of the customers the per-customer models use (the sample, if any)."""
        return self._once(("model_durations",), lambda: self.sampled(self.durations))

    @property
    def model_customers(self) -> pd.DataFrame | None:
        """:attr:`customers` of the customers the per-customer models use (the sample, if any;
        customers without a purchase in the window are then left out)."""
        return self._once(("model_customers",), lambda: self.sampled(self.customers))

    def model_panel(self, period: str | None = None) -> pd.DataFrame:
        """:meth:`panel` of the customers the per-customer models use: the engine filters the sample's
        customers while it scans the log, so a large client's panel is never laid out whole."""
        if self.sample is None:
            return self.panel(period)
        from cxlab.data import customer_period_panel

        period = period or self.period
        return self._once(("model_panel", period), lambda: customer_period_panel(
            self.sample_transactions, period=period, end=self.window_end))

    def model_purchase_days(self) -> pd.DataFrame | None:
        """Purchase days (:func:`cxlab.data.purchase_days`) of the sample's customers, read by the engine
        for them only; None without a sample (a model then reads every customer's days itself)."""
        if self.sample is None:
            return None
        from cxlab.data import purchase_days

        return self._once(("model_purchase_days",), lambda: purchase_days(self.sample_transactions))

    # ------------------------------------------------------------------ churn
    @cached_property
    def churn(self) -> ChurnDefinition:
        if self.has("customers", "signup_date") and self.customers is not None \
                and "end_date" in self.customers.columns:
            return ChurnDefinition("contractual", None, "contract")
        analysis = self.gap_analysis
        choice = analysis.choose(CHURN_QUANTILE) if analysis is not None else None
        given = self.params["churn_threshold_days"]
        if given is not None:
            return ChurnDefinition("no_purchase", float(given), "parameter", choice)
        if choice is None:
            return ChurnDefinition("unavailable", None, "none", None,
                                   reason="no customer bought twice, so no pause between purchases ended and "
                                          "no churn threshold can be read from the data")
        return ChurnDefinition("no_purchase", float(choice.threshold), choice.rule, choice)

    @cached_property
    def sleeping(self) -> SleepingRule:
        """The sleeping rule: no purchase for ``sleeping_days`` (default: the churn threshold)."""
        window = int(self.params["campaign_window_days"])
        given = self.params["sleeping_days"]
        if given is not None:
            return SleepingRule(float(given), "parameter", window)
        churn = self.churn
        if churn.kind == "no_purchase":
            return SleepingRule(float(churn.threshold_days), "churn threshold", window)
        choice = self.gap_analysis.choose(CHURN_QUANTILE) if self.gap_analysis is not None else None
        if choice is not None:
            return SleepingRule(float(choice.threshold), "pauses", window)
        return SleepingRule(None, "none", window, reason="no customer bought twice, so no pause between purchases "
                            "ended and no sleeping threshold can be read from the data; set sleeping_days")

    @cached_property
    def durations(self) -> pd.DataFrame:
        """Per-customer lifetime in days and churn flag, by the study's one churn definition.

        Index ``customer_id``; columns ``start`` (first purchase or signup), ``duration`` (days)
        and ``event`` (True = churned within the window).
        """
        churn = self.churn
        if churn.kind == "contractual":
            from cxlab.churn import contractual_durations

            return contractual_durations(self.customers.reset_index(drop=True), observation_end=self.window_end,
                                         unit=self.duration_unit)
        if churn.kind == "unavailable":
            raise ValueError(f"churn is not defined for this study: {churn.reason}")
        from cxlab.data import durations_from_summary

        # each customer's first and last purchase day are in the summary already: no second pass over the log
        return durations_from_summary(self.customer_summary, threshold=churn.threshold_days,
                                      unit=self.duration_unit, observation_end=self.window_end)

    @cached_property
    def nps_behaviour(self) -> Any:
        """NPS groups linked to churn and value (:func:`cxlab.survey.nps_behaviour`) under the study's churn
        rule, horizon, units and observed confounders; raises ValueError when it cannot be estimated."""
        from cxlab.survey import nps_behaviour

        if self.surveys is None or self.surveys.empty:
            raise ValueError("no survey answers in the window")
        if not self.churn.available:
            raise ValueError(f"churn is not defined for this study: {self.churn.reason}")
        # Kaplan-Meier and Cox by NPS group are per-customer models: on the customer sample when there is one
        surveys, customers = self.surveys, self.model_customers
        if self.sample is not None:
            surveys = surveys[surveys["customer_id"].isin(self.sample.ids)]
        return nps_behaviour(surveys, self.model_durations, self.model_summary,
                             customers=None if customers is None else customers.reset_index(drop=True),
                             adjust_for=self.adjust_for or None, horizon=self.horizon_days,
                             unit=self.duration_unit, summary_unit=self.unit)

    @property
    def cx_shift_share(self) -> float:
        """Share of a touchpoint's active detractors moved in the CX-value scenario."""
        return float(self.params["cx_shift_share"])

    # ------------------------------------------------------------------ Result
    def to_dict(self) -> dict[str, Any]:
        """The resolved facts, JSON-ready (what ``metrics.json`` records under ``study``)."""
        return to_builtin({
            "window_start": self.window_start.date().isoformat(),
            "window_end": self.window_end.date().isoformat(),
            "calibration": self.calibration.to_dict(),
            "unit": self.unit, "period": self.period, "duration_unit": self.duration_unit,
            "horizon_months": self.horizon_months,
            "discount_rate": self.discount_rate,
            "margin_rate": self.margin_rate, "margin_source": self.margin_source,
            "churn": self.churn.to_dict(),
            "sleeping": self.sleeping.to_dict(),
            "adjust_for": self.adjust_for,
            "sample": self.sample.to_dict() if self.sample is not None else None,
            "currency": self.currency, "lang": self.lang,
        })

    def summary(self) -> Summary:
        facts = self.to_dict()
        churn = self.churn
        churn_text = {"contractual": "contract end dates",
                      "no_purchase": f"no purchase for {churn.threshold_days:g} days ({churn.source})"
                      if churn.threshold_days is not None else "",
                      "unavailable": f"unavailable: {churn.reason}"}[churn.kind]
        cal = self.calibration
        rows = {
            "observation window": f"{facts['window_start']} .. {facts['window_end']}",
            "calibration end": (f"{cal.calibration_end.date()} ({cal.source}; {cal.holdout_weeks:g} weeks held out)"
                                if cal.available else f"none ({cal.reason})"),
            "model unit / cohort period": f"{self.unit} / {self.period}",
            "horizon": f"{self.horizon_months} months",
            "discount rate (annual)": f"{self.discount_rate:.2%}",
            "margin rate": f"{self.margin_rate:.2%} ({self.margin_source})",
            "churn": churn_text,
            "sleeping": (f"no purchase for {self.sleeping.threshold_days:g} days ({self.sleeping.source}); campaigns "
                         f"evaluated over {self.sleeping.campaign_window_days} days"
                         if self.sleeping.available else f"unavailable: {self.sleeping.reason}"),
        }
        table = pd.DataFrame({"value": list(rows.values())}, index=list(rows))
        return Summary(f"Study of {self.display_name or 'client data'}", [("", table)])

    def __repr__(self) -> str:
        return (f"Study(client={self.client!r}, window={self.window_start.date()}..{self.window_end.date()}, "
                f"churn={self.churn.kind})")


def open_study(client: str | os.PathLike, root: str | os.PathLike | None = None,
               overrides: Mapping[str, Any] | None = None) -> Study:
    """Open a client's study in a notebook: ``cxlab.open_study("demo")``.

    Reads ``data/<client>/client.yml`` (found from any working folder inside the
    project, or ``root``), loads the data through :mod:`cxlab.data` and resolves
    the study exactly as the report does.
    """
    from cxlab.config import load_client_config

    return Study.from_config(load_client_config(client, root, overrides))
