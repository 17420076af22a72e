"""A/B tests of CX changes: two-group comparison, CUPED variance reduction, sample size.

* **Two-group test.** Difference in means with Welch's unequal-variance
  standard error (revenue per customer), or difference in proportions with the
  unpooled normal standard error (conversion); normal-approximation p-value
  and confidence interval, and the relative lift.
* **CUPED** (Deng, Xu, Kohavi & Walker 2013, "Improving the sensitivity of
  online controlled experiments by utilizing pre-experiment data"): with a
  pre-experiment covariate ``X`` (e.g. each customer's revenue in the weeks
  before the test), analyse ``Y − θ (X − mean X)`` with
  ``θ = cov(Y, X) / var(X)`` pooled over both groups. The mean difference is
  unchanged in expectation and the variance falls by the factor ``1 − ρ²``
  (``ρ`` = corr(Y, X)).
* **Sample size** per group for a two-sided test, via statsmodels'
  ``NormalIndPower`` with Cohen's ``d = δ/σ`` (means; ``σ`` may be the CUPED
  residual SD ``σ√(1 − ρ²)``) or Cohen's ``h`` (proportions,
  ``statsmodels.stats.proportion.proportion_effectsize``).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cxlab._base import Estimator, Result, Summary, to_builtin

__all__ = ["ABTest", "ABTestResult", "cuped_adjust", "sample_size", "sample_size_proportions"]


def _as_numeric(values, name: str) -> np.ndarray:
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"column {name!r} has {int(bad.sum())} missing or non-numeric values (first at row {int(np.flatnonzero(bad)[0])})")
    return arr


def cuped_adjust(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float]:
    """CUPED-adjusted outcome ``y − θ (x − mean x)`` and ``θ = cov(y, x)/var(x)``."""
    y = np.asarray(y, dtype="float64")
    x = np.asarray(x, dtype="float64")
    vx = x.var(ddof=1)
    if not np.isfinite(vx) or vx == 0:
        raise ValueError("the CUPED covariate is constant: it cannot reduce variance")
    theta = float(np.cov(y, x, ddof=1)[0, 1] / vx)
    return y - theta * (x - x.mean()), theta


class ABTestResult(Result):
    """Result of :class:`ABTest`: the difference (treatment − control), its SE, CI and p-value."""

    def __init__(self, table: pd.DataFrame, info: dict[str, Any]):
        self.table = table
        self.info = info

    @property
    def effect(self) -> float:
        return float(self.table["difference"].iloc[-1])

    @property
    def p_value(self) -> float:
        return float(self.table["p_value"].iloc[-1])

    def summary(self) -> Summary:
        notes = [f"Metric: {self.info['metric']} ({self.info['kind']}); {self.info['n_control']:,} control, {self.info['n_treatment']:,} treatment."]
        if "theta" in self.info:
            notes.append(
                f"CUPED on {self.info['covariate']}: theta = {self.info['theta']:.4g}, variance reduced by "
                f"{100 * self.info['variance_reduction']:.1f}% (1 − rho² = {1 - self.info['rho'] ** 2:.3f})."
            )
        return Summary("A/B test", [("Treatment minus control", self.table)], notes)

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"table": self.table, **self.info})


class ABTest(Estimator):
    """Two-group A/B test with optional CUPED adjustment.

    Parameters
    ----------
    metric : str
        Outcome column (revenue per customer, or 0/1 conversion).
    group : str
        Column with the arm of each unit.
    control, treatment : value
        Labels of the two arms in ``group``.
    kind : {"mean", "proportion"}
        Difference in means (Welch) or in proportions.
    covariate : str, optional
        Pre-experiment column for CUPED (means only).
    alpha : float
        1 − confidence level.

    Attributes
    ----------
    result_ : ABTestResult
    theta_ : float (with CUPED)
    """

    def __init__(self, metric: str = "revenue", group: str = "group", control="control", treatment="treatment",
                 kind: str = "mean", covariate: str | None = None, alpha: float = 0.05):
        self.metric = metric
        self.group = group
        self.control = control
        self.treatment = treatment
        self.kind = kind
        self.covariate = covariate
        self.alpha = alpha

    def fit(self, data: pd.DataFrame) -> "ABTest":
        if self.kind not in ("mean", "proportion"):
            raise ValueError(f"kind must be 'mean' or 'proportion', got {self.kind!r}")
        cols = [self.metric, self.group] + ([self.covariate] if self.covariate else [])
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise ValueError(f"A/B data is missing column(s) {missing}; it has {list(data.columns)}")
        arms = data[self.group]
        in_c, in_t = (arms == self.control).to_numpy(), (arms == self.treatment).to_numpy()
        if in_c.sum() < 2 or in_t.sum() < 2:
            raise ValueError(
                f"column {self.group!r} needs at least 2 rows labelled {self.control!r} and {self.treatment!r}; "
                f"found {int(in_c.sum())} and {int(in_t.sum())}"
            )
        keep = in_c | in_t
        y = _as_numeric(data.loc[keep, self.metric], self.metric)
        t = in_t[keep]
        if self.kind == "proportion" and not np.isin(y, (0.0, 1.0)).all():
            raise ValueError(f"column {self.metric!r} must be 0/1 for kind='proportion'")
        z = stats.norm.ppf(1 - self.alpha / 2)
        rows = {}

        def _row(values):
            a, b = values[~t], values[t]
            diff = b.mean() - a.mean()
            if self.kind == "proportion":
                se = math.sqrt(a.mean() * (1 - a.mean()) / len(a) + b.mean() * (1 - b.mean()) / len(b))
            else:
                se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
            p = 2 * stats.norm.sf(abs(diff) / se) if se > 0 else float("nan")
            return {"control_mean": a.mean(), "treatment_mean": b.mean(), "difference": diff,
                    "relative_lift": diff / a.mean() if a.mean() != 0 else float("nan"),
                    "se": se, "ci_low": diff - z * se, "ci_high": diff + z * se, "p_value": p}

        rows["unadjusted"] = _row(y)
        info: dict[str, Any] = {"metric": self.metric, "kind": self.kind, "n_control": int((~t).sum()), "n_treatment": int(t.sum())}
        if self.covariate:
            if self.kind != "mean":
                raise ValueError("CUPED is implemented for kind='mean' (revenue-type metrics)")
            x = _as_numeric(data.loc[keep, self.covariate], self.covariate)
            y_adj, theta = cuped_adjust(y, x)
            adj = _row(y_adj)
            # report the means on the original scale; the difference is the adjusted one
            adj["control_mean"], adj["treatment_mean"] = rows["unadjusted"]["control_mean"], rows["unadjusted"]["treatment_mean"]
            adj["relative_lift"] = adj["difference"] / adj["control_mean"] if adj["control_mean"] != 0 else float("nan")
            rows["cuped"] = adj
            rho = float(np.corrcoef(y, x)[0, 1])
            info.update(covariate=self.covariate, theta=theta, rho=rho,
                        variance_reduction=1 - y_adj.var(ddof=1) / y.var(ddof=1))
            self.theta_ = theta
        self.result_ = ABTestResult(pd.DataFrame.from_dict(rows, orient="index"), info)
        return self


def sample_size(delta: float, sd: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0, rho: float = 0.0) -> int:
    """Units per group (control; treatment = ``ratio`` × control) to detect a mean difference ``delta``.

    ``rho`` is the correlation with a CUPED covariate: the residual SD is
    ``sd √(1 − rho²)``, so the sample shrinks by ``1 − rho²``.
    """
    from statsmodels.stats.power import NormalIndPower

    if delta == 0 or sd <= 0:
        raise ValueError("need a non-zero effect delta and a positive sd")
    if not 0 <= abs(rho) < 1:
        raise ValueError("rho must be in [0, 1)")
    d = abs(delta) / (sd * math.sqrt(1 - rho**2))
    n = NormalIndPower().solve_power(effect_size=d, alpha=alpha, power=power, ratio=ratio, alternative="two-sided")
    return int(math.ceil(n))


def sample_size_proportions(p_control: float, p_treatment: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0) -> int:
    """Units per group to detect conversion ``p_control → p_treatment`` (Cohen's h, arcsine scale)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    for name, p in (("p_control", p_control), ("p_treatment", p_treatment)):
        if not 0 < p < 1:
            raise ValueError(f"{name} must be a probability in (0, 1), got {p!r}")
    if p_control == p_treatment:
        raise ValueError("the two conversion rates are equal: nothing to detect")
    h = abs(proportion_effectsize(p_treatment, p_control))
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio, alternative="two-sided")
    return int(math.ceil(n))
