"""CX survey metrics: NPS, CSAT and CES with intervals, changes, and their link to behaviour.

Two halves:

* **Survey metrics** on the ``surveys`` table of the data contract
  (``customer_id, date, nps`` and optionally ``csat, ces, touchpoint``):
  :func:`nps_estimate` (the Net Promoter Score with its trinomial standard
  error), :func:`survey_metrics` (NPS, CSAT, CES by segment / touchpoint /
  period), :func:`period_changes` and :func:`group_differences` (significance of
  changes between periods or between groups, with Benjamini-Hochberg
  adjustment).
* **The link to behaviour** ("ROI of CX"): :func:`nps_behaviour` joins each
  customer's NPS group to the data layer's per-customer outputs
  (``cxlab.data.churn_durations`` and ``cxlab.data.customer_summary``) and
  estimates retention (Kaplan-Meier, log-rank test), the churn hazard ratio of
  detractors and passives against promoters (Cox proportional hazards), the
  value per customer over a horizon, and the revenue at stake from detractors.

Definitions used throughout
---------------------------
NPS
    Promoters answer 9-10, passives 7-8, detractors 0-6 (Reichheld 2003).
    ``NPS = 100 * (p_promoters - p_detractors)``, in points from -100 to 100.
CSAT
    ``csat_top2``: share of answers 4 or 5 on the 1-5 scale ("top-2-box"), in
    percent. ``csat_mean``: mean answer.
CES
    The contract's 1-7 effort scale is read as *1 = very low effort, 7 = very
    high effort* (the original CES wording, "How much effort did you personally
    have to put forth?"). ``ces_low_effort``: share of answers <= 3, in
    percent (higher is better); ``ces_mean``: mean answer (lower is better).
    A client that asks the CES 2.0 agreement question ("The company made it
    easy ...", 7 = easiest) must reverse it on load (``8 - answer``).

References
----------
* Reichheld, F. F. (2003). The one number you need to grow. *Harvard
  Business Review* 81(12), 46-54.
* Rocks, B. (2016). Interval estimation for the "Net Promoter Score".
  *The American Statistician* 70(4), 365-372 (trinomial variance; adjusted
  Wald interval).
* Agresti, A. & Coull, B. A. (1998). Approximate is better than "exact" for
  interval estimation of binomial proportions. *The American Statistician*
  52(2), 119-126.
* Wilson, E. B. (1927). Probable inference, the law of succession, and
  statistical inference. *JASA* 22(158), 209-212.
* Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate.
  *JRSS B* 57(1), 289-300.
* Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete
  observations. *JASA* 53(282), 457-481.
* Cox, D. R. (1972). Regression models and life-tables. *JRSS B* 34(2),
  187-220.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cxlab._base import Result, Summary, to_builtin
from cxlab.data.contract import RATING_PREFIX, RATING_SCALE
from cxlab.units import DAYS_PER_YEAR, unit_days

__all__ = [
    "NPS_GROUPS",
    "METRICS",
    "validate_surveys",
    "nps_group",
    "NPSEstimate",
    "nps_estimate",
    "nps_from_counts",
    "NPSDifference",
    "nps_difference",
    "SurveyMetrics",
    "survey_metrics",
    "ChangeTests",
    "period_changes",
    "group_differences",
    "customer_nps_groups",
    "NPSBehaviour",
    "nps_behaviour",
    "plot_nps_trend",
    "plot_nps_shares",
    "plot_survival_by_group",
]

#: NPS groups, best first (the order of every table and plot).
NPS_GROUPS: tuple[str, ...] = ("promoter", "passive", "detractor")

#: Metric name -> (source column, human label, "higher is better").
METRICS: dict[str, tuple[str, str, bool]] = {
    "nps": ("nps", "NPS (points)", True),
    "csat_top2": ("csat", "CSAT top-2-box (% of 4-5)", True),
    "csat_mean": ("csat", "CSAT mean (1-5)", True),
    "ces_low_effort": ("ces", "CES low effort (% of <= 3)", True),
    "ces_mean": ("ces", "CES mean (1-7, lower = easier)", False),
}

CSAT_TOP2_MIN = 4  # CSAT answers >= 4 count as satisfied ("top-2-box")
CES_LOW_EFFORT_MAX = 3  # CES answers <= 3 count as low effort

_REQUIRED = ("customer_id", "date", "nps")
_BOUNDS = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


# --------------------------------------------------------------------------- validation
def _rows(mask: pd.Series, limit: int = 10) -> str:
    """Row labels where ``mask`` is true, for error messages."""
    labels = list(mask[mask].index[:limit])
    more = int(mask.sum()) - len(labels)
    return ", ".join(map(str, labels)) + (f" and {more} more" if more > 0 else "")


def validate_surveys(surveys: pd.DataFrame) -> pd.DataFrame:
    """Check a surveys table against the data contract and return a clean copy.

    Parameters
    ----------
    surveys : DataFrame
        Columns ``customer_id, date, nps`` and optionally ``csat, ces,
        touchpoint, journey_stage`` and attribute ratings ``rating_<attribute>``
        (1..5; other columns are kept).

    Returns
    -------
    DataFrame
        A copy with ``date`` as datetime64, ``nps`` as int64 and ``csat``,
        ``ces`` as float64 (missing answers stay NaN: these questions are
        optional per answer).

    Raises
    ------
    ValueError
        Naming the column and the rows when a required column is missing, a
        customer id or date is missing or unparseable, ``nps`` is not an
        integer in 0..10, or ``csat`` / ``ces`` / ``rating_*`` fall outside
        1..5 / 1..7 / 1..5.
    """
    if not isinstance(surveys, pd.DataFrame):
        raise TypeError(f"surveys must be a pandas DataFrame, got {type(surveys).__name__}")
    missing = [c for c in _REQUIRED if c not in surveys.columns]
    if missing:
        raise ValueError(
            f"surveys table is missing required column(s) {missing}; "
            "expected customer_id, date, nps (0..10) and optionally csat, ces, touchpoint"
        )
    df = surveys.copy()
    bad_id = df["customer_id"].isna()
    if bad_id.any():
        raise ValueError(f"surveys column 'customer_id' is missing in rows {_rows(bad_id)}")
    try:
        dates = pd.to_datetime(df["date"], errors="coerce")
    except (TypeError, ValueError):  # e.g. mixed time zones
        raise ValueError("surveys column 'date' could not be read as dates") from None
    bad_date = dates.isna()
    if bad_date.any():
        raise ValueError(
            f"surveys column 'date' is missing or not a date in rows {_rows(bad_date)} "
            f"(values: {list(df.loc[bad_date, 'date'].head(5))})"
        )
    df["date"] = dates.astype("datetime64[ns]") if dates.dt.tz is None else dates

    nps = pd.to_numeric(df["nps"], errors="coerce").astype("float64")
    bad = nps.isna() | (nps < 0) | (nps > 10) | (nps != np.round(nps))
    if bad.any():
        raise ValueError(
            f"surveys column 'nps' must be an integer from 0 to 10; rows {_rows(bad)} have "
            f"{list(df.loc[bad, 'nps'].head(5))}"
        )
    df["nps"] = nps.astype("int64")

    ratings = [c for c in df.columns if isinstance(c, str) and c.startswith(RATING_PREFIX)]
    for col in ("csat", "ces", *ratings):
        if col not in df.columns:
            continue
        raw = df[col]
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        lo, hi = _BOUNDS.get(col, RATING_SCALE)
        unreadable = values.isna() & raw.notna()
        out_of_range = values.notna() & ((values < lo) | (values > hi))
        bad = unreadable | out_of_range
        if bad.any():
            raise ValueError(
                f"surveys column {col!r} must be a number from {lo} to {hi} (or empty); rows "
                f"{_rows(bad)} have {list(raw[bad].head(5))}"
            )
        df[col] = values
    return df


def nps_group(scores: Iterable[int] | pd.Series) -> pd.Series:
    """Classify 0..10 answers as ``promoter`` (9-10), ``passive`` (7-8) or ``detractor`` (0-6).

    Returns an ordered categorical Series with categories :data:`NPS_GROUPS`.
    """
    s = pd.Series(scores) if not isinstance(scores, pd.Series) else scores
    values = pd.to_numeric(s, errors="coerce").astype("float64")
    bad = values.isna() | (values < 0) | (values > 10) | (values != np.round(values))
    if bad.any():
        raise ValueError(f"NPS answers must be integers from 0 to 10; rows {_rows(bad)} are not")
    labels = np.where(values >= 9, "promoter", np.where(values >= 7, "passive", "detractor"))
    return pd.Series(pd.Categorical(labels, categories=list(NPS_GROUPS), ordered=True), index=s.index, name="nps_group")


# --------------------------------------------------------------------------- NPS interval
def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    return float(stats.norm.ppf(0.5 + conf_level / 2))


@dataclass
class NPSEstimate(Result):
    """The Net Promoter Score of one sample with its standard error and interval.

    ``nps``, ``se``, ``ci_low`` and ``ci_high`` are in NPS points (-100..100).
    """

    n_promoters: int
    n_passives: int
    n_detractors: int
    nps: float
    se: float
    ci_low: float
    ci_high: float
    conf_level: float
    method: str

    @property
    def n(self) -> int:
        return self.n_promoters + self.n_passives + self.n_detractors

    @property
    def shares(self) -> dict[str, float]:
        n = self.n
        if n == 0:
            return {g: math.nan for g in NPS_GROUPS}
        return {
            "promoter": self.n_promoters / n,
            "passive": self.n_passives / n,
            "detractor": self.n_detractors / n,
        }

    def summary(self) -> Summary:
        table = pd.DataFrame(
            {
                "n": [self.n],
                "promoters": [self.shares["promoter"]],
                "passives": [self.shares["passive"]],
                "detractors": [self.shares["detractor"]],
                "NPS": [self.nps],
                "SE": [self.se],
                f"{self.conf_level:.0%} low": [self.ci_low],
                f"{self.conf_level:.0%} high": [self.ci_high],
            }
        )
        return Summary(
            "Net Promoter Score",
            [("", table)],
            [f"Interval: {self.method} (trinomial variance [p_P + p_D - (p_P - p_D)^2] / n)."],
        )

    def to_dict(self) -> dict[str, Any]:
        return to_builtin(
            {
                "n": self.n,
                "n_promoters": self.n_promoters,
                "n_passives": self.n_passives,
                "n_detractors": self.n_detractors,
                "nps": self.nps,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "conf_level": self.conf_level,
                "method": self.method,
            }
        )


def _nps_interval(n_pro: float, n_pas: float, n_det: float, z: float, method: str) -> tuple[float, float, float, float]:
    """(nps, se, low, high) on the -1..1 scale.

    ``wald``: NPS-hat +/- z * sqrt([p_P + p_D - (p_P - p_D)^2] / n), the
    variance of the mean of the +1/0/-1 coded answers (trinomial).
    ``adjusted_wald``: Rocks (2016), after Agresti & Coull (1998): add 3
    pseudo-answers split 3/4 promoter, 3/2 passive, 3/4 detractor, and use the
    Wald formula on the adjusted counts (n + 3); it keeps a non-zero width when
    every answer falls in one group and covers better at small n.
    """
    n = n_pro + n_pas + n_det
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    nps = (n_pro - n_det) / n
    if method == "wald":
        n_adj, p_p, p_d = n, n_pro / n, n_det / n
    elif method == "adjusted_wald":
        n_adj = n + 3.0
        p_p, p_d = (n_pro + 0.75) / n_adj, (n_det + 0.75) / n_adj
    else:
        raise ValueError(f"method must be 'wald' or 'adjusted_wald', got {method!r}")
    centre = p_p - p_d
    se = math.sqrt(max(p_p + p_d - centre**2, 0.0) / n_adj)
    return nps, se, max(centre - z * se, -1.0), min(centre + z * se, 1.0)


def nps_from_counts(
    promoters: int, passives: int, detractors: int, *, conf_level: float = 0.95, method: str = "wald"
) -> NPSEstimate:
    """NPS with its confidence interval from the counts of the three groups.

    Parameters
    ----------
    promoters, passives, detractors : int
        Number of answers 9-10, 7-8 and 0-6.
    conf_level : float
        Confidence level of the interval.
    method : {"wald", "adjusted_wald"}
        ``"wald"``: normal interval with the trinomial standard error
        ``SE = sqrt([p_P + p_D - (p_P - p_D)^2] / n)``. ``"adjusted_wald"``:
        Rocks, B. (2016), "Interval estimation for the 'Net Promoter Score'",
        *The American Statistician* 70(4), 365-372 -- add 3/4 of a promoter,
        3/2 of a passive and 3/4 of a detractor before applying the Wald
        formula; recommended for small samples (n < ~100).

    Returns
    -------
    NPSEstimate
        In NPS points (x 100). ``nps`` is always the plain sample NPS; for
        ``adjusted_wald`` the interval is centred on the adjusted estimate.
    """
    counts = (promoters, passives, detractors)
    if any((not float(c).is_integer()) or c < 0 for c in counts):
        raise ValueError(f"counts must be non-negative integers, got {counts}")
    nps, se, lo, hi = _nps_interval(*map(float, counts), _z(conf_level), method)
    return NPSEstimate(int(promoters), int(passives), int(detractors), 100 * nps, 100 * se, 100 * lo, 100 * hi, conf_level, method)


def nps_estimate(scores: Iterable[int] | pd.Series, *, conf_level: float = 0.95, method: str = "wald") -> NPSEstimate:
    """NPS with its confidence interval from raw 0..10 answers (see :func:`nps_from_counts`)."""
    groups = nps_group(scores)
    counts = groups.value_counts().reindex(list(NPS_GROUPS), fill_value=0)
    return nps_from_counts(int(counts["promoter"]), int(counts["passive"]), int(counts["detractor"]), conf_level=conf_level, method=method)


@dataclass
class NPSDifference(Result):
    """Difference of two independent NPS (``b - a``), in points, with its z test."""

    a: NPSEstimate
    b: NPSEstimate
    difference: float
    se: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    conf_level: float

    def summary(self) -> Summary:
        table = pd.DataFrame(
            {"n": [self.a.n, self.b.n], "NPS": [self.a.nps, self.b.nps], "SE": [self.a.se, self.b.se]},
            index=["a", "b"],
        )
        test = pd.DataFrame(
            {
                "difference (b - a)": [self.difference],
                "SE": [self.se],
                "z": [self.z],
                "p-value": [self.p_value],
                f"{self.conf_level:.0%} low": [self.ci_low],
                f"{self.conf_level:.0%} high": [self.ci_high],
            }
        )
        return Summary(
            "Difference of two Net Promoter Scores",
            [("Samples", table), ("Two-sided z test", test)],
            ["SE of the difference = sqrt(SE_a^2 + SE_b^2): the samples must be independent (different respondents)."],
        )

    def to_dict(self) -> dict[str, Any]:
        return to_builtin(
            {
                "a": self.a.to_dict(),
                "b": self.b.to_dict(),
                "difference": self.difference,
                "se": self.se,
                "z": self.z,
                "p_value": self.p_value,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "conf_level": self.conf_level,
            }
        )


def nps_difference(
    a: Iterable[int] | NPSEstimate, b: Iterable[int] | NPSEstimate, *, conf_level: float = 0.95
) -> NPSDifference:
    """z test of the difference of two independent Net Promoter Scores.

    ``z = (NPS_b - NPS_a) / sqrt(SE_a^2 + SE_b^2)`` with the trinomial (Wald)
    standard errors; the two-sided p-value is ``2 * (1 - Phi(|z|))``. The
    samples must be independent (e.g. two periods with different respondents,
    two segments).

    Parameters
    ----------
    a, b : array-like of 0..10 answers, or NPSEstimate
        The two samples (estimates are re-derived from their counts with the
        Wald standard error).
    """
    est = []
    for x in (a, b):
        if isinstance(x, NPSEstimate):
            est.append(nps_from_counts(x.n_promoters, x.n_passives, x.n_detractors, conf_level=conf_level))
        else:
            est.append(nps_estimate(x, conf_level=conf_level))
    ea, eb = est
    diff = eb.nps - ea.nps
    se = math.hypot(ea.se, eb.se)
    z_stat = diff / se if se > 0 else math.nan
    p = float(2 * stats.norm.sf(abs(z_stat))) if se > 0 else math.nan
    z = _z(conf_level)
    return NPSDifference(ea, eb, diff, se, z_stat, p, diff - z * se, diff + z * se, conf_level)


# --------------------------------------------------------------------------- metric engine
def _metric_values(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """The per-answer values whose mean is the metric (NaN answers dropped).

    NPS answers are coded +1/0/-1 so that their mean is the NPS and their
    (population) variance is the trinomial variance p_P + p_D - NPS^2.
    """
    col = METRICS[metric][0]
    if col not in frame.columns:
        return np.array([], dtype=float)
    v = frame[col].to_numpy(dtype="float64")
    v = v[~np.isnan(v)]
    if metric == "nps":
        return np.where(v >= 9, 1.0, np.where(v >= 7, 0.0, -1.0))
    if metric == "csat_top2":
        return (v >= CSAT_TOP2_MIN).astype(float)
    if metric == "ces_low_effort":
        return (v <= CES_LOW_EFFORT_MAX).astype(float)
    return v


def _scale(metric: str) -> float:
    return 1.0 if metric.endswith("_mean") else 100.0


def _metric_stats(v: np.ndarray, metric: str, conf_level: float, nps_method: str) -> dict[str, float]:
    """n, estimate, se, ci_low, ci_high of one metric on one sample (in the metric's scale)."""
    n = len(v)
    out = {"n": n, "estimate": math.nan, "se": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    if n == 0:
        return out
    z = _z(conf_level)
    if metric == "nps":
        counts = (np.sum(v == 1), np.sum(v == 0), np.sum(v == -1))
        est, se, lo, hi = _nps_interval(*map(float, counts), z, nps_method)
    elif metric in ("csat_top2", "ces_low_effort"):
        from statsmodels.stats.proportion import proportion_confint

        # Wilson interval: stays inside [0, 1] and covers well for shares near 0 or 1.
        k = float(v.sum())
        est = k / n
        se = math.sqrt(est * (1 - est) / n)
        lo, hi = proportion_confint(k, n, alpha=1 - conf_level, method="wilson")
    else:
        est = float(v.mean())
        if n < 2:
            se = lo = hi = math.nan
        else:
            se = float(v.std(ddof=1) / math.sqrt(n))
            t = float(stats.t.ppf(0.5 + conf_level / 2, n - 1))
            lo, hi = est - t * se, est + t * se
    k = _scale(metric)
    out.update(estimate=k * est, se=k * se, ci_low=k * float(lo), ci_high=k * float(hi))
    return out


def _metric_difference(va: np.ndarray, vb: np.ndarray, metric: str, conf_level: float) -> dict[str, Any]:
    """Test of ``b - a`` for one metric between two independent samples.

    NPS and shares: two-sample z test with unpooled (summed) variances, so the
    interval and the test agree. Means: Welch's t test.
    """
    na, nb = len(va), len(vb)
    k = _scale(metric)
    out: dict[str, Any] = {
        "n_a": na,
        "n_b": nb,
        "estimate_a": k * float(va.mean()) if na else math.nan,
        "estimate_b": k * float(vb.mean()) if nb else math.nan,
        "difference": math.nan,
        "se": math.nan,
        "statistic": math.nan,
        "p_value": math.nan,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "test": "Welch t" if metric.endswith("_mean") else "z (unpooled)",
    }
    if na < 2 or nb < 2:
        return out
    diff = float(vb.mean() - va.mean())
    if metric.endswith("_mean"):
        se = math.sqrt(va.var(ddof=1) / na + vb.var(ddof=1) / nb)
        if se == 0:
            return out | {"difference": k * diff}
        res = stats.ttest_ind(vb, va, equal_var=False)
        ci = res.confidence_interval(conf_level)
        stat, p, lo, hi = float(res.statistic), float(res.pvalue), float(ci.low), float(ci.high)
    else:
        # ddof=0: the multinomial/binomial variance p(1-p) (NPS: p_P + p_D - NPS^2).
        se = math.sqrt(va.var() / na + vb.var() / nb)
        if se == 0:
            return out | {"difference": k * diff}
        stat = diff / se
        p = float(2 * stats.norm.sf(abs(stat)))
        z = _z(conf_level)
        lo, hi = diff - z * se, diff + z * se
    return out | {
        "difference": k * diff,
        "se": k * se,
        "statistic": stat,
        "p_value": p,
        "ci_low": k * lo,
        "ci_high": k * hi,
    }


def _prepare(
    surveys: pd.DataFrame,
    customers: pd.DataFrame | None,
    by: Sequence[str],
    period: str | None,
) -> pd.DataFrame:
    """Validated surveys with the ``by`` columns (from customers if needed) and ``period``."""
    df = validate_surveys(surveys)
    if "period" in by and period is None and "period" not in df.columns:
        raise ValueError("'period' is a cell only with period='M', 'Q' or 'Y'")
    need = [c for c in by if c not in df.columns and c != "period"]
    if need:
        if customers is None:
            raise ValueError(f"column(s) {need} are not in the surveys table and no customers table was given")
        if "customer_id" not in customers.columns:
            raise ValueError("customers table needs a 'customer_id' column")
        absent = [c for c in need if c not in customers.columns]
        if absent:
            raise ValueError(f"column(s) {absent} are in neither the surveys nor the customers table")
        dup = customers["customer_id"].duplicated()
        if dup.any():
            raise ValueError(f"customers table has duplicated customer_id in rows {_rows(dup)}")
        df = df.merge(customers[["customer_id", *need]], on="customer_id", how="left", validate="many_to_one")
    for c in by:
        if c == "period":
            continue
        # Missing labels become their own group rather than silently dropping answers.
        df[c] = df[c].astype(object).where(df[c].notna(), "(missing)").astype(str)
    if period is not None:
        try:
            df["period"] = df["date"].dt.to_period(period).dt.start_time
        except (ValueError, TypeError):
            raise ValueError(f"period={period!r} is not a pandas period alias such as 'M', 'Q' or 'Y'") from None
    return df


def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _available_metrics(df: pd.DataFrame, metrics: Sequence[str] | None) -> list[str]:
    if metrics is None:
        return [m for m, (col, _, _) in METRICS.items() if col in df.columns and df[col].notna().any()]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; expected some of {list(METRICS)}")
    absent = [m for m in metrics if METRICS[m][0] not in df.columns]
    if absent:
        raise ValueError(f"metric(s) {absent} need column(s) {[METRICS[m][0] for m in absent]} in the surveys table")
    return list(metrics)


def _groups(df: pd.DataFrame, keys: list[str]):
    if not keys:
        yield (), df
        return
    for key, sub in df.groupby(keys, sort=True, observed=True):
        yield (key if isinstance(key, tuple) else (key,)), sub


# --------------------------------------------------------------------------- survey metrics
@dataclass
class SurveyMetrics(Result):
    """NPS, CSAT and CES by cell (segment / touchpoint / period).

    Attributes
    ----------
    table : DataFrame
        Tidy: the ``by`` columns (and ``period``), ``metric``, ``n``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``. NPS, top-2-box and
        low-effort shares are in points / percent, means on their scale.
    shares : DataFrame
        The ``by`` columns, ``n`` and the shares of promoters, passives and
        detractors (0..1), for the stacked-bar plot.
    """

    table: pd.DataFrame
    shares: pd.DataFrame
    by: list[str]
    conf_level: float
    nps_method: str

    def summary(self) -> Summary:
        wide = self.table.pivot_table(
            index=self.by or None, columns="metric", values="estimate", sort=False
        ) if self.by else self.table.set_index("metric")[["n", "estimate", "ci_low", "ci_high"]]
        tables = [("Estimates" if self.by else "", wide)]
        if self.by:
            nps = self.table[self.table["metric"] == "nps"].set_index(self.by)[["n", "estimate", "ci_low", "ci_high"]]
            tables.append((f"NPS with {self.conf_level:.0%} interval", nps))
        notes = [
            f"NPS interval: {self.nps_method}; shares: Wilson interval; means: t interval.",
            f"CSAT top-2-box = share of answers >= {CSAT_TOP2_MIN}; CES low effort = share of answers <= {CES_LOW_EFFORT_MAX} (1 = least effort).",
        ]
        return Summary("Survey metrics", tables, notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin(
            {
                "by": self.by,
                "conf_level": self.conf_level,
                "nps_method": self.nps_method,
                "table": self.table.to_dict(orient="records"),
                "shares": self.shares.to_dict(orient="records"),
            }
        )


def survey_metrics(
    surveys: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    by: str | Sequence[str] | None = None,
    period: str | None = None,
    metrics: Sequence[str] | None = None,
    conf_level: float = 0.95,
    nps_method: str = "wald",
) -> SurveyMetrics:
    """NPS, CSAT and CES with confidence intervals, overall or by cell.

    Parameters
    ----------
    surveys : DataFrame
        Contract surveys table (validated with :func:`validate_surveys`).
    customers : DataFrame, optional
        Contract customers table; needed when ``by`` names a customer column
        such as ``segment`` or ``tier``.
    by : str or list of str, optional
        Columns of the surveys (e.g. ``touchpoint``) or customers table.
    period : {"M", "Q", "Y", ...}, optional
        Adds a ``period`` cell (start of the month / quarter / year of
        ``date``), e.g. for trends.
    metrics : list of str, optional
        Subset of :data:`METRICS`; default every metric whose column has answers.
    conf_level : float
        Confidence level of the intervals.
    nps_method : {"wald", "adjusted_wald"}
        NPS interval (see :func:`nps_from_counts`).

    Returns
    -------
    SurveyMetrics
    """
    keys = list(dict.fromkeys(_as_list(by) + (["period"] if period is not None else [])))
    df = _prepare(surveys, customers, _as_list(by), period)
    mets = _available_metrics(df, metrics)
    rows, share_rows = [], []
    for key, sub in _groups(df, keys):
        cell = dict(zip(keys, key))
        for m in mets:
            rows.append(cell | {"metric": m} | _metric_stats(_metric_values(sub, m), m, conf_level, nps_method))
        g = nps_group(sub["nps"]).value_counts(normalize=True).reindex(list(NPS_GROUPS), fill_value=0.0)
        share_rows.append(cell | {"n": len(sub)} | {f"{k}_share": float(v) for k, v in g.items()})
    table = pd.DataFrame(rows, columns=[*keys, "metric", "n", "estimate", "se", "ci_low", "ci_high"])
    shares = pd.DataFrame(share_rows, columns=[*keys, "n", *(f"{g}_share" for g in NPS_GROUPS)])
    return SurveyMetrics(table, shares, keys, conf_level, nps_method)


# --------------------------------------------------------------------------- changes
@dataclass
class ChangeTests(Result):
    """Significance tests of many changes at once, with multiplicity adjustment.

    ``table`` columns: the cell columns, ``metric``, ``baseline``, ``compared``
    (the two periods or groups), ``n_a, n_b, estimate_a, estimate_b,
    difference`` (compared - baseline), ``se, statistic, p_value, ci_low,
    ci_high, test``, ``p_adjusted`` and ``significant`` (``p_adjusted <
    alpha``).
    """

    table: pd.DataFrame
    dimension: str
    adjust: str | None
    alpha: float
    conf_level: float

    @property
    def n_tests(self) -> int:
        return int(self.table["p_value"].notna().sum())

    def summary(self) -> Summary:
        cols = [c for c in self.table.columns if c not in ("se", "statistic", "test", "n_a", "n_b")]
        adj = f"{self.adjust} (statsmodels multipletests)" if self.adjust else "none"
        return Summary(
            f"Changes by {self.dimension}",
            [("", self.table[cols])],
            [
                f"{self.n_tests} tests; p-values adjusted for multiple testing across the whole table: {adj}; "
                f"significant = adjusted p < {self.alpha}.",
                "NPS and shares: z test with summed variances; means: Welch t test. Samples are treated as independent.",
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        return to_builtin(
            {
                "dimension": self.dimension,
                "adjust": self.adjust,
                "alpha": self.alpha,
                "conf_level": self.conf_level,
                "n_tests": self.n_tests,
                "table": self.table.to_dict(orient="records"),
            }
        )


def _adjust(table: pd.DataFrame, adjust: str | None, alpha: float) -> pd.DataFrame:
    from statsmodels.stats.multitest import multipletests

    table = table.copy()
    table["p_adjusted"] = np.nan
    ok = table["p_value"].notna().to_numpy()
    if ok.any():
        if adjust:
            table.loc[ok, "p_adjusted"] = multipletests(table.loc[ok, "p_value"].to_numpy(), alpha=alpha, method=adjust)[1]
        else:
            table.loc[ok, "p_adjusted"] = table.loc[ok, "p_value"]
    table["significant"] = table["p_adjusted"] < alpha
    return table


_CHANGE_COLS = [
    "metric", "baseline", "compared", "n_a", "n_b", "estimate_a", "estimate_b", "difference",
    "se", "statistic", "p_value", "ci_low", "ci_high", "test",
]


def period_changes(
    surveys: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    period: str = "Q",
    by: str | Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    conf_level: float = 0.95,
    alpha: float = 0.05,
    adjust: str | None = "fdr_bh",
    min_n: int = 2,
) -> ChangeTests:
    """Test each period against the previous one, for every metric and cell.

    Consecutive periods with at least ``min_n`` answers in the cell are
    compared (a period without answers is skipped, so the comparison is with
    the last period that had answers). Respondents are assumed independent
    across periods (a customer answering in both periods makes the tests
    slightly conservative for positively correlated answers).

    Parameters
    ----------
    period : {"M", "Q", "Y", ...}
        Period alias for ``date``.
    by : str or list of str, optional
        Cells within which periods are compared (e.g. ``"segment"``).
    adjust : str or None
        ``multipletests`` method applied to all p-values of the table at once;
        default ``"fdr_bh"`` (Benjamini & Hochberg 1995). ``None`` keeps raw p.

    Returns
    -------
    ChangeTests
    """
    cells = _as_list(by)
    df = _prepare(surveys, customers, cells, period)
    mets = _available_metrics(df, metrics)
    rows = []
    for key, sub in _groups(df, cells):
        cell = dict(zip(cells, key))
        for m in mets:
            values = {p: _metric_values(g, m) for p, g in sub.groupby("period", sort=True)}
            usable = [p for p, v in values.items() if len(v) >= min_n]
            for p_a, p_b in zip(usable[:-1], usable[1:]):
                rows.append(cell | {"metric": m, "baseline": p_a, "compared": p_b} | _metric_difference(values[p_a], values[p_b], m, conf_level))
    table = pd.DataFrame(rows, columns=[*cells, *_CHANGE_COLS])
    return ChangeTests(_adjust(table, adjust, alpha), "period", adjust, alpha, conf_level)


def group_differences(
    surveys: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    by: str = "segment",
    reference: Any = None,
    within: str | Sequence[str] | None = None,
    period: str | None = None,
    metrics: Sequence[str] | None = None,
    conf_level: float = 0.95,
    alpha: float = 0.05,
    adjust: str | None = "fdr_bh",
    min_n: int = 2,
) -> ChangeTests:
    """Test each level of ``by`` against a reference level (segment vs segment).

    Parameters
    ----------
    by : str
        Column whose levels are compared (surveys or customers table).
    reference : optional
        Baseline level; default the level with the most answers.
    within : str or list of str, optional
        Cells within which the comparison is made (e.g. ``"touchpoint"``).
    period : str, optional
        Also compare within each period (adds ``period`` to the cells).
    adjust : str or None
        ``multipletests`` method over the whole table (default Benjamini-Hochberg).
    """
    cells = _as_list(within) + (["period"] if period is not None else [])
    df = _prepare(surveys, customers, [by, *_as_list(within)], period)
    mets = _available_metrics(df, metrics)
    if reference is None:
        reference = df[by].value_counts().idxmax()
    else:
        reference = str(reference)
        if reference not in set(df[by]):
            raise ValueError(f"reference {reference!r} is not a level of {by!r}; levels: {sorted(set(df[by]))}")
    rows = []
    for key, sub in _groups(df, cells):
        cell = dict(zip(cells, key))
        levels = dict(list(sub.groupby(by, sort=True)))
        if reference not in levels:
            continue
        for m in mets:
            v_ref = _metric_values(levels[reference], m)
            if len(v_ref) < min_n:
                continue
            for level, g in levels.items():
                if level == reference:
                    continue
                v = _metric_values(g, m)
                if len(v) < min_n:
                    continue
                rows.append(cell | {"metric": m, "baseline": reference, "compared": level} | _metric_difference(v_ref, v, m, conf_level))
    table = pd.DataFrame(rows, columns=[*cells, *_CHANGE_COLS])
    return ChangeTests(_adjust(table, adjust, alpha), by, adjust, alpha, conf_level)


# --------------------------------------------------------------------------- link to behaviour
def customer_nps_groups(surveys: pd.DataFrame, *, which: str = "first") -> pd.DataFrame:
    """Each customer's NPS answer and group, from their first or latest answer.

    Parameters
    ----------
    which : {"first", "latest"}
        ``"first"`` (default): the earliest answer, which precedes most of the
        follow-up and so is least contaminated by the behaviour it is meant to
        predict. ``"latest"``: the most recent answer (current sentiment). Ties
        on date keep the first / last row in file order.

    Returns
    -------
    DataFrame indexed by ``customer_id``: ``nps``, ``nps_group``, ``survey_date``
    and ``n_answers``.
    """
    if which not in ("first", "latest"):
        raise ValueError(f"which must be 'first' or 'latest', got {which!r}")
    df = validate_surveys(surveys)
    df = df.reset_index(drop=True).sort_values("date", kind="stable")
    pick = df.groupby("customer_id", sort=True).nth(0 if which == "first" else -1).set_index("customer_id")
    out = pd.DataFrame(
        {
            "nps": pick["nps"],
            "nps_group": nps_group(pick["nps"]),
            "survey_date": pick["date"],
            "n_answers": df.groupby("customer_id").size().reindex(pick.index),
        }
    )
    out.index.name = "customer_id"
    return out.sort_index()


def _index_by_customer(frame: pd.DataFrame, name: str, required: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    if "customer_id" in frame.columns:
        frame = frame.set_index("customer_id")
    elif frame.index.name != "customer_id":
        raise ValueError(f"{name} must be indexed by customer_id (or have a customer_id column)")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}; expected {list(required)}")
    dup = frame.index.duplicated()
    if dup.any():
        raise ValueError(f"{name} has duplicated customer_id {list(frame.index[dup][:5])}")
    return frame


def _cox_covariates(customers: pd.DataFrame | None, adjust_for: Sequence[str] | None, index: pd.Index) -> pd.DataFrame | None:
    """Design columns for the Cox adjustment (indicators for categorical columns)."""
    cols = _as_list(adjust_for)
    if not cols:
        return None
    if customers is None:
        raise ValueError(f"adjust_for={cols} needs the customers table (customers=...)")
    cust = _index_by_customer(customers, "customers", cols)
    parts = []
    for c in cols:
        x = cust[c].reindex(index)
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            parts.append(x.astype(float).rename(f"{c}"))
        else:
            lab = x.astype(object)
            dummies = pd.get_dummies(lab, prefix=c, prefix_sep="=", drop_first=True, dtype=float)
            dummies[lab.isna().to_numpy()] = np.nan  # keep "missing" visible so those rows are dropped
            parts.append(dummies)
    return pd.concat(parts, axis=1)


def _greenwood_at(kmf, t: float) -> tuple[float, float]:
    """Kaplan-Meier S(t) and its Greenwood variance S^2 * sum d / (n (n - d))."""
    et = kmf.event_table
    et = et[et.index <= t]
    d, n = et["observed"].to_numpy(float), et["at_risk"].to_numpy(float)
    ok = n > 0
    surv = float(np.prod(1 - d[ok] / n[ok]))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(ok & (n > d), d / (n * (n - d)), 0.0)
    return surv, surv**2 * float(terms.sum())


@dataclass
class NPSBehaviour(Result):
    """Retention, churn hazard and value of promoters, passives and detractors.

    Attributes
    ----------
    groups : DataFrame
        Per analysed customer: ``nps_group``, ``time`` (follow-up from the
        time origin), ``event``, ``entry`` and, with a summary, ``revenue``
        and ``tenure_years``.
    retention : DataFrame
        Per group: ``customers``, ``events``, ``survival`` at the horizon with
        its interval, ``churn_probability``, ``rmst`` (restricted mean
        follow-up up to the horizon, in duration units), ``max_followup``.
    logrank : dict
        Multivariate log-rank test across the three groups.
    hazard_ratios : DataFrame
        Cox model: hazard ratio of detractors and passives vs promoters with
        interval and p-value.
    value : DataFrame or None
        Per group: mean revenue per customer, revenue per customer-year, value
        per customer over the horizon.
    revenue_at_stake : dict or None
        Detractors' annual revenue x excess churn probability over the horizon.
    """

    groups: pd.DataFrame
    retention: pd.DataFrame
    logrank: dict[str, float]
    hazard_ratios: pd.DataFrame
    value: pd.DataFrame | None
    revenue_at_stake: dict[str, float] | None
    survival_curves: pd.DataFrame
    horizon: float
    unit: str
    time_origin: str
    which: str
    conf_level: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> Summary:
        tables = [
            (f"Retention over {self.horizon:g} {self.unit} after the {'survey' if self.time_origin == 'survey' else 'first purchase'}", self.retention.set_index("nps_group")),
            ("Churn hazard ratio vs promoters (Cox)", self.hazard_ratios.set_index("nps_group")),
            ("Log-rank test across groups", pd.DataFrame([self.logrank])),
        ]
        if self.value is not None:
            tables.append(("Value by group", self.value.set_index("nps_group")))
        if self.revenue_at_stake is not None:
            tables.append(("Revenue at stake from detractors", pd.DataFrame([self.revenue_at_stake])))
        notes = list(self.notes) + [
            "Associations, not causal effects: NPS groups differ in many ways besides their answer.",
        ]
        return Summary("NPS and customer behaviour", tables, notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin(
            {
                "horizon": self.horizon,
                "unit": self.unit,
                "time_origin": self.time_origin,
                "which": self.which,
                "conf_level": self.conf_level,
                "retention": self.retention.to_dict(orient="records"),
                "logrank": self.logrank,
                "hazard_ratios": self.hazard_ratios.to_dict(orient="records"),
                "value": None if self.value is None else self.value.to_dict(orient="records"),
                "revenue_at_stake": self.revenue_at_stake,
                "notes": self.notes,
            }
        )


def nps_behaviour(
    surveys: pd.DataFrame,
    durations: pd.DataFrame,
    summary: pd.DataFrame | None = None,
    *,
    customers: pd.DataFrame | None = None,
    adjust_for: Sequence[str] | None = None,
    which: str = "first",
    time_origin: str = "survey",
    unit: str = "D",
    horizon: float = 365.0,
    summary_unit: str = "W",
    conf_level: float = 0.95,
) -> NPSBehaviour:
    """Link NPS groups to retention, churn hazard, value and revenue at stake.

    Parameters
    ----------
    surveys : DataFrame
        Contract surveys table; each customer's group comes from
        :func:`customer_nps_groups` (``which``).
    durations : DataFrame
        Output of ``cxlab.data.churn_durations``: indexed by ``customer_id``,
        ``duration`` (in ``unit``, from the first purchase), ``event`` (True =
        churned) and ``start`` (first purchase; needed for
        ``time_origin="survey"``). For contractual businesses, durations from
        the contract ``end_date`` (true churn) are better than
        transaction-derived churn, which dates churn at the last purchase.
    summary : DataFrame, optional
        Output of ``cxlab.data.customer_summary``: indexed by ``customer_id``
        with ``revenue`` and ``T`` (tenure in ``summary_unit``). Enables the
        value table and the revenue at stake.
    customers : DataFrame, optional
        Contract customers table, the source of the ``adjust_for`` columns.
    adjust_for : list of str, optional
        Customer columns added to the Cox model as covariates (categorical
        columns as indicators against their first level), e.g.
        ``["acquisition_channel"]`` when satisfaction differs by channel and
        channels churn differently. The hazard ratios are then conditional on
        them. Kaplan-Meier, log-rank and value figures stay unadjusted.
    which : {"first", "latest"}
        Which answer defines a customer's group.
    time_origin : {"survey", "start"}
        ``"survey"`` (default): follow-up starts at the answer. Kaplan-Meier
        curves, the log-rank test, churn probabilities and RMST use the time
        since the answer; the Cox model uses tenure as its time scale with
        delayed entry at the answer (left truncation), which keeps its hazard
        ratios comparable with a proportional-hazards model on tenure.
        Customers whose follow-up ended before their answer are excluded.
        ``"start"``: everything on tenure from the first purchase (simpler,
        but it counts time before the answer, when a customer had to survive
        to be surveyed -- immortal-time bias).
    unit : {"D", "W", "M", "Y"}
        Unit of ``durations["duration"]`` (``churn_durations`` default ``"D"``).
    horizon : float
        Horizon in ``unit`` for survival, churn probability, RMST and value.
    summary_unit : str
        Unit of ``summary["T"]`` (``customer_summary`` default ``"W"``).
    conf_level : float
        Confidence level of all intervals.

    Notes
    -----
    * Cox model (Cox 1972) through :func:`cxlab.survival.fit_cox`, with
      indicators for detractors and passives; promoters are the reference, so
      ``exp(coef)`` is the hazard ratio vs promoters.
    * Kaplan-Meier curves, restricted means and the log-rank test across the
      groups through :func:`cxlab.survival.kaplan_meier`.
    * Churn probability ``F_g(h) = 1 - S_g(h)`` from the group's Kaplan-Meier
      curve with Greenwood variance; if the horizon exceeds a group's longest
      follow-up the curve is held flat (flagged in ``notes``).
    * Value per customer over the horizon = revenue per customer-year of the
      group (pooled: total revenue / total tenure years) x RMST(h) in years;
      undiscounted revenue, not margin.
    * Revenue at stake from detractors =
      ``A_D x (F_D(h) - F_P(h))``, where ``A_D`` is the annual revenue of the
      detractors still active (not churned): their number x their pooled
      revenue per customer-year. It is the annual revenue exposed to the
      *excess* churn of detractors over promoters. The interval propagates only
      the sampling error of the two churn probabilities (Greenwood, groups
      independent); ``A_D`` is treated as known. It assumes detractors would
      churn like promoters if converted -- a correlation, not a causal effect.
    """
    from lifelines.exceptions import ConvergenceError

    from cxlab.survival import fit_cox, kaplan_meier

    if time_origin not in ("survey", "start"):
        raise ValueError(f"time_origin must be 'survey' or 'start', got {time_origin!r}")
    days_per_unit = unit_days(unit)
    if not (isinstance(horizon, (int, float)) and horizon > 0):
        raise ValueError(f"horizon must be a positive number (in {unit}), got {horizon!r}")
    z = _z(conf_level)
    notes: list[str] = []

    groups = customer_nps_groups(surveys, which=which)
    need = ["duration", "event"] + (["start"] if time_origin == "survey" else [])
    dur = _index_by_customer(durations, "durations", need)
    d = pd.to_numeric(dur["duration"], errors="coerce")
    bad = d.isna() | (d < 0) | ~np.isfinite(d.fillna(0))
    if bad.any():
        raise ValueError(f"durations column 'duration' must be a non-negative number; customers {_rows(bad)} are not")
    if not dur["event"].isin([True, False, 0, 1]).all():
        raise ValueError("durations column 'event' must be boolean (True = churned)")

    df = groups.join(dur[need], how="inner")
    n_unmatched = len(groups) - len(df)
    if n_unmatched:
        notes.append(f"{n_unmatched} surveyed customer(s) have no purchase history and were left out.")
    df["duration"] = df["duration"].astype(float)
    df["event"] = df["event"].astype(bool)
    if time_origin == "survey":
        entry = (df["survey_date"] - pd.to_datetime(df["start"])) / pd.Timedelta(days=days_per_unit)
        # Answers before the first purchase (e.g. at sign-up) start follow-up at the first purchase.
        df["entry"] = entry.clip(lower=0.0).astype(float)
        late = df["entry"] >= df["duration"]
        if late.any():
            notes.append(
                f"{int(late.sum())} customer(s) answered after their follow-up ended (churned or censored before the "
                "answer) and were left out."
            )
            df = df[~late]
        df["time"] = df["duration"] - df["entry"]
    else:
        df["entry"] = 0.0
        df["time"] = df["duration"]
    if len(df) == 0:
        raise ValueError("no surveyed customer can be followed up: check that durations and surveys share customer_id")

    # --- Kaplan-Meier by group on the chosen origin (cxlab.survival), restricted means up to the horizon
    km = kaplan_meier(df.assign(nps_group=df["nps_group"].astype(str)), duration_col="time", group_col="nps_group",
                      tau=horizon, alpha=1 - conf_level, unit=unit, pairwise=False)
    ret_rows, curves = [], []
    for g in NPS_GROUPS:
        sub = df[df["nps_group"] == g]
        row: dict[str, Any] = {"nps_group": g, "customers": len(sub), "events": int(sub["event"].sum())}
        if len(sub) == 0:
            ret_rows.append(row | {k: math.nan for k in ("survival", "survival_low", "survival_high", "churn_probability", "churn_se", "rmst", "max_followup")})
            continue
        s, var = _greenwood_at(km.fitters[g], horizon)
        se = math.sqrt(var)
        max_fu = float(sub["time"].max())
        if max_fu < horizon:
            notes.append(f"Horizon {horizon:g} {unit} exceeds the longest follow-up of {g}s ({max_fu:.0f} {unit}): their curve is held flat beyond it.")
        ret_rows.append(
            row
            | {
                "survival": s,
                "survival_low": max(s - z * se, 0.0),
                "survival_high": min(s + z * se, 1.0),
                "churn_probability": 1 - s,
                "churn_se": se,
                "rmst": float(km.table.loc[g, "rmst"]),
                "max_followup": max_fu,
            }
        )
        curve = km.survival[km.survival["group"] == g]
        curves.append(pd.DataFrame({"nps_group": g, **{c: curve[c].to_numpy(float)
                                                        for c in ("time", "survival", "ci_low", "ci_high")}}))
    retention = pd.DataFrame(ret_rows)
    survival_curves = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["nps_group", "time", "survival", "ci_low", "ci_high"])

    present = [g for g in NPS_GROUPS if (df["nps_group"] == g).any()]
    if km.logrank is not None:
        logrank = {"statistic": km.logrank["test_statistic"], "df": km.logrank["df"], "p_value": km.logrank["p_value"]}
    else:
        logrank = {"statistic": math.nan, "df": 0, "p_value": math.nan}

    # --- Cox proportional hazards (cxlab.survival), promoters as reference, tenure time scale
    hr_rows = []
    others = [g for g in ("detractor", "passive") if g in present]
    if "promoter" in present and others and df["event"].any():
        cox_df = pd.DataFrame({"duration": df["duration"], "event": df["event"].astype(int), "entry": df["entry"]})
        covariates = _cox_covariates(customers, adjust_for, df.index)
        if covariates is not None:
            cox_df = cox_df.join(covariates)
            incomplete = cox_df.isna().any(axis=1)
            if incomplete.any():
                notes.append(f"{int(incomplete.sum())} customer(s) with missing {list(adjust_for)} were left out of the Cox model.")
                cox_df = cox_df[~incomplete]
        for g in others:
            cox_df[g] = (df["nps_group"] == g).astype(float)
        try:
            cox = fit_cox(cox_df, covariates=[c for c in cox_df.columns if c not in ("duration", "event", "entry")],
                          entry_col="entry" if time_origin == "survey" else None, alpha=1 - conf_level,
                          check_ph=False)
            hr = cox.hazard_ratios
            for g in others:
                hr_rows.append({"nps_group": g, "hazard_ratio": float(hr.loc[g, "hazard_ratio"]),
                                "ci_low": float(hr.loc[g, "hr_ci_low"]), "ci_high": float(hr.loc[g, "hr_ci_high"]),
                                "p_value": float(hr.loc[g, "p_value"])})
        except (ConvergenceError, ValueError) as exc:
            notes.append(f"Cox model could not be fitted ({exc}); hazard ratios not estimated.")
    else:
        notes.append("Cox model needs promoters, another group and at least one churn event; hazard ratios not estimated.")
    hazard_ratios = pd.DataFrame(hr_rows, columns=["nps_group", "hazard_ratio", "ci_low", "ci_high", "p_value"])

    # --- value and revenue at stake
    value, at_stake = None, None
    if summary is not None:
        sm = _index_by_customer(summary, "summary", ["revenue", "T"])
        days = unit_days(summary_unit, name="summary_unit")
        df = df.join(sm[["revenue", "T"]], how="left")
        no_rev = df["revenue"].isna()
        if no_rev.any():
            notes.append(f"{int(no_rev.sum())} analysed customer(s) are missing from the summary and are left out of the value figures.")
        # Tenure floored at one day so first-day customers do not divide by zero.
        df["tenure_years"] = np.maximum(df["T"].astype(float) * days, 1.0) / DAYS_PER_YEAR
        val_rows = []
        for g in NPS_GROUPS:
            sub = df[(df["nps_group"] == g) & df["revenue"].notna()]
            rate = float(sub["revenue"].sum() / sub["tenure_years"].sum()) if len(sub) else math.nan
            rmst = retention.set_index("nps_group").loc[g, "rmst"]
            val_rows.append(
                {
                    "nps_group": g,
                    "customers": len(sub),
                    "revenue_per_customer": float(sub["revenue"].mean()) if len(sub) else math.nan,
                    "revenue_per_customer_year": rate,
                    "value_over_horizon": rate * float(rmst) * days_per_unit / DAYS_PER_YEAR if len(sub) else math.nan,
                }
            )
        value = pd.DataFrame(val_rows)
        r = retention.set_index("nps_group")
        if {"detractor", "promoter"} <= set(present):
            active_d = df[(df["nps_group"] == "detractor") & ~df["event"] & df["revenue"].notna()]
            det = df[(df["nps_group"] == "detractor") & df["revenue"].notna()]
            rate_active = float(active_d["revenue"].sum() / active_d["tenure_years"].sum()) if len(active_d) else 0.0
            annual = rate_active * len(active_d)
            excess = float(r.loc["detractor", "churn_probability"] - r.loc["promoter", "churn_probability"])
            se_excess = math.hypot(r.loc["detractor", "churn_se"], r.loc["promoter", "churn_se"])
            at_stake = {
                "active_detractors": len(active_d),
                "annual_revenue_active_detractors": annual,
                "churn_probability_detractors": float(r.loc["detractor", "churn_probability"]),
                "churn_probability_promoters": float(r.loc["promoter", "churn_probability"]),
                "excess_churn_probability": excess,
                "revenue_at_stake": annual * excess,
                "ci_low": annual * (excess - z * se_excess),
                "ci_high": annual * (excess + z * se_excess),
            }
            if len(det) and excess < 0:
                notes.append("Detractors churn less than promoters over the horizon here: the revenue at stake is negative.")
    return NPSBehaviour(
        groups=df,
        retention=retention,
        logrank=logrank,
        hazard_ratios=hazard_ratios,
        value=value,
        revenue_at_stake=at_stake,
        survival_curves=survival_curves,
        horizon=float(horizon),
        unit=unit,
        time_origin=time_origin,
        which=which,
        conf_level=conf_level,
        notes=notes,
    )


# --------------------------------------------------------------------------- plots
_GROUP_COLORS = {"promoter": "#2a9d8f", "passive": "#b0b0b0", "detractor": "#e76f51"}


def _get_ax(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def _label(x: Any) -> str:
    if isinstance(x, pd.Timestamp):
        return x.strftime("%Y-%m") if x.day == 1 else x.strftime("%Y-%m-%d")
    return str(x)


def plot_nps_trend(
    data: SurveyMetrics | pd.DataFrame,
    *,
    x: str = "period",
    hue: str | None = None,
    metric: str = "nps",
    ax=None,
):
    """A metric by ``x`` (default period) with confidence-interval error bars.

    Parameters
    ----------
    data : SurveyMetrics or DataFrame
        A :class:`SurveyMetrics` or its tidy ``table`` (``metric``,
        ``estimate``, ``ci_low``, ``ci_high`` and the ``x`` / ``hue`` columns).
    x, hue : str
        Columns for the horizontal axis and for separate series.
    metric : str
        Which metric to plot (default NPS).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    table = data.table if isinstance(data, SurveyMetrics) else data
    for col in ("metric", "estimate", "ci_low", "ci_high", x) + ((hue,) if hue else ()):
        if col not in table.columns:
            raise ValueError(f"plot_nps_trend needs column {col!r} in data (have {list(table.columns)})")
    t = table[table["metric"] == metric]
    if t.empty:
        raise ValueError(f"no rows with metric == {metric!r} in data")
    ax = _get_ax(ax)
    xs = sorted(t[x].unique())
    pos = {v: i for i, v in enumerate(xs)}
    levels = sorted(t[hue].unique()) if hue else [None]
    width = 0.5
    for k, level in enumerate(levels):
        sub = t if level is None else t[t[hue] == level]
        offset = 0.0 if len(levels) == 1 else -width / 2 + width * k / (len(levels) - 1)
        xp = np.array([pos[v] for v in sub[x]], dtype=float) + offset
        est = sub["estimate"].to_numpy(float)
        err = np.vstack([est - sub["ci_low"].to_numpy(float), sub["ci_high"].to_numpy(float) - est])
        ax.errorbar(xp, est, yerr=err, fmt="o-", capsize=3, label=None if level is None else str(level))
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([_label(v) for v in xs], rotation=45 if len(xs) > 6 else 0, ha="right" if len(xs) > 6 else "center")
    ax.set_xlabel(x)
    ax.set_ylabel(METRICS.get(metric, (None, metric))[1])
    if metric == "nps":
        ax.axhline(0, color="grey", lw=0.8, ls=":")
    if hue:
        ax.legend(title=hue)
    return ax


def plot_nps_shares(data: SurveyMetrics | pd.DataFrame, *, y: str | None = None, ax=None):
    """Stacked horizontal bars of detractor / passive / promoter shares by ``y``.

    Parameters
    ----------
    data : SurveyMetrics or DataFrame
        A :class:`SurveyMetrics` or its ``shares`` table (``promoter_share``,
        ``passive_share``, ``detractor_share`` and the ``y`` column).
    y : str, optional
        Column for the bars; default the first cell column of ``data``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    shares = data.shares if isinstance(data, SurveyMetrics) else data
    need = [f"{g}_share" for g in NPS_GROUPS]
    missing = [c for c in need if c not in shares.columns]
    if missing:
        raise ValueError(f"plot_nps_shares needs columns {missing} in data")
    if y is None:
        keys = [c for c in shares.columns if c not in need and c != "n"]
        y = keys[0] if keys else None
    if y is not None and y not in shares.columns:
        raise ValueError(f"column {y!r} not in data (have {list(shares.columns)})")
    if y is not None and shares[y].duplicated().any():
        raise ValueError(f"data has several rows per {y!r}; compute shares with by={y!r} only")
    ax = _get_ax(ax)
    labels = [_label(v) for v in shares[y]] if y else ["all"]
    left = np.zeros(len(shares))
    for g in ("detractor", "passive", "promoter"):
        w = shares[f"{g}_share"].to_numpy(float)
        ax.barh(labels, w, left=left, color=_GROUP_COLORS[g], label=g + "s")
        for yi, (l, wi) in enumerate(zip(left, w)):
            if wi >= 0.06:
                ax.text(l + wi / 2, yi, f"{wi:.0%}", ha="center", va="center", fontsize=8)
        left += w
    nps = 100 * (shares["promoter_share"].to_numpy(float) - shares["detractor_share"].to_numpy(float))
    for yi, v in enumerate(nps):
        ax.text(1.01, yi, f"NPS {v:+.0f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("share of answers")
    if y:
        ax.set_ylabel(y)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    return ax


def plot_survival_by_group(data: NPSBehaviour | pd.DataFrame, *, ci: bool = True, ax=None):
    """Kaplan-Meier retention curves of promoters, passives and detractors.

    Parameters
    ----------
    data : NPSBehaviour or DataFrame
        A result of :func:`nps_behaviour` or its ``survival_curves`` frame
        (``nps_group``, ``time``, ``survival``, ``ci_low``, ``ci_high``).
    ci : bool
        Shade the pointwise confidence band.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    curves = data.survival_curves if isinstance(data, NPSBehaviour) else data
    for col in ("nps_group", "time", "survival") + (("ci_low", "ci_high") if ci else ()):
        if col not in curves.columns:
            raise ValueError(f"plot_survival_by_group needs column {col!r} in data")
    ax = _get_ax(ax)
    for g in NPS_GROUPS:
        c = curves[curves["nps_group"] == g].sort_values("time")
        if c.empty:
            continue
        ax.step(c["time"], c["survival"], where="post", color=_GROUP_COLORS[g], label=g + "s")
        if ci:
            ax.fill_between(c["time"], c["ci_low"], c["ci_high"], step="post", color=_GROUP_COLORS[g], alpha=0.2)
    if isinstance(data, NPSBehaviour):
        ax.axvline(data.horizon, color="grey", lw=0.8, ls=":")
        origin = "survey" if data.time_origin == "survey" else "first purchase"
        ax.set_xlabel(f"{data.unit} since {origin}")
    else:
        ax.set_xlabel("time")
    ax.set_ylabel("share still active")
    ax.set_ylim(0, 1.02)
    ax.legend()
    return ax
