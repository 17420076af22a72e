"""How strong would a hidden confounder have to be to explain an effect away?

* **Omitted-variable-bias robustness value** (Cinelli & Hazlett 2020) for
  regression-type estimates. With ``t`` the t-statistic of the treatment in the
  outcome regression and ``df`` its residual degrees of freedom, ``f = q|t|/√df``
  and

  .. math:: RV_q = \\tfrac12\\left(\\sqrt{f^4 + 4f^2} - f^2\\right),

  the share of the residual variance of *both* the treatment and the outcome
  that an unobserved confounder must explain to reduce the estimate by
  ``100·q`` %. ``RV_{q,α}`` uses ``f_q − f*_{α,df−1}`` instead of ``f`` (the
  confounder needed to make the estimate statistically insignificant at level α).
  Validated against the published example of the R package ``sensemakr``
  (Darfur: RV = 13.9 %, RV_α=0.05 = 7.6 %; ``tests/uplift/test_sensitivity.py``).
  The Python port ``PySensemakr`` 0.0.8 was evaluated: it gives the same numbers
  but breaks on pandas ≥ 3 and has not been released since 2024, while the
  statistics are the closed forms above — so they live here.
* **Rosenbaum bounds** for matched designs (Rosenbaum 2002, ch. 4): if two
  units with the same covariates could differ in their odds of treatment by a
  factor Γ because of a hidden variable, the one-sided p-value of Wilcoxon's
  signed-rank test on the matched differences is at most the upper bound
  computed here; ``gamma_critical`` is the Γ at which that bound reaches α.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from cxlab._base import Result, Summary, to_builtin

__all__ = ["robustness_value", "partial_r2", "OVBSensitivity", "ovb_sensitivity", "RosenbaumBounds", "rosenbaum_bounds"]


def partial_r2(t_stat: float, dof: float) -> float:
    """Partial R² of the treatment with the outcome given the covariates: t² / (t² + df)."""
    return float(t_stat**2 / (t_stat**2 + dof))


def robustness_value(t_stat: float, dof: float, *, q: float = 1.0, alpha: float | None = None) -> float:
    """Cinelli & Hazlett (2020) robustness value ``RV_q`` (``RV_{q,α}`` when ``alpha`` is given)."""
    if dof <= 1:
        raise ValueError(f"robustness value needs more than 1 residual degree of freedom, got {dof}")
    fq = q * abs(t_stat) / math.sqrt(dof)
    if alpha is not None:
        f_crit = abs(stats.t.ppf(alpha / 2, dof - 1)) / math.sqrt(dof - 1)
        fqa = fq - f_crit
        if fqa < 0:
            return 0.0
        if fq > 1 / f_crit:  # very large effects: the bound of sensemakr's robustness_value
            return float((fq**2 - f_crit**2) / (1 + fq**2))
        return float(0.5 * (math.sqrt(fqa**4 + 4 * fqa**2) - fqa**2))
    return float(0.5 * (math.sqrt(fq**4 + 4 * fq**2) - fq**2))


_OVB_TEXT = {
    "en": ("For the {what} {est:.4g}: to explain it away entirely, an unobserved confounder would have to explain at least "
           "{rv:.1%} of the residual variation of both the treatment and the outcome; to make it statistically "
           "insignificant at the {level:.0%} level, at least {rva:.1%} (the treatment itself explains {r2:.2%} of "
           "the outcome's residual variation)."),
    "ru": ("Для {what} {est:.4g}: чтобы целиком объяснить её, ненаблюдаемый фактор должен объяснять не менее {rv:.1%} "
           "остаточной вариации и участия, и результата; чтобы сделать его статистически незначимым на уровне "
           "{level:.0%} — не менее {rva:.1%} (само участие объясняет {r2:.2%} остаточной вариации результата)."),
}


_WHAT = {"regression": {"en": "regression estimate", "ru": "регрессионной оценки"},
         "dr": {"en": "doubly robust estimate", "ru": "двояко робастной оценки"}}


@dataclass
class OVBSensitivity(Result):
    """Omitted-variable-bias sensitivity of a regression coefficient (Cinelli & Hazlett 2020)."""

    estimate: float
    se: float
    t_stat: float
    dof: float
    partial_r2: float
    rv: float
    rv_alpha: float
    q: float = 1.0
    alpha: float = 0.05
    what: str = "regression"

    def sentence(self, lang: str = "en") -> str:
        """The result in one plain-language sentence (``lang`` "en" or "ru")."""
        if lang not in _OVB_TEXT:
            raise ValueError(f"lang must be one of {sorted(_OVB_TEXT)}, got {lang!r}")
        return _OVB_TEXT[lang].format(what=_WHAT[self.what][lang], est=self.estimate, rv=self.rv, rva=self.rv_alpha, level=self.alpha, r2=self.partial_r2)

    def summary(self) -> Summary:
        table = pd.DataFrame({"value": [self.estimate, self.se, self.t_stat, self.partial_r2, self.rv, self.rv_alpha]},
                             index=["estimate", "se", "t", "partial R² (treatment)", f"RV (q={self.q:g})",
                                    f"RV (q={self.q:g}, α={self.alpha:g})"])
        return Summary("Sensitivity to unobserved confounding (Cinelli & Hazlett 2020)", [("", table)], [self.sentence()])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({k: getattr(self, k) for k in ("estimate", "se", "t_stat", "dof", "partial_r2", "rv",
                                                          "rv_alpha", "q", "alpha", "what")} | {"sentence": self.sentence()})


def ovb_sensitivity(estimate: float, se: float, dof: float, *, q: float = 1.0, alpha: float = 0.05,
                    what: str = "regression") -> OVBSensitivity:
    """Robustness values of an OLS treatment coefficient from its estimate, (classical) SE and residual df.

    ``what`` ("regression" or "dr") names the estimate in the sentence; for a doubly robust
    estimate the values come from its t-statistic — exact for OLS, the usual approximation otherwise.
    """
    if what not in _WHAT:
        raise ValueError(f"what must be one of {sorted(_WHAT)}, got {what!r}")
    t = estimate / se
    return OVBSensitivity(estimate=float(estimate), se=float(se), t_stat=float(t), dof=float(dof),
                          partial_r2=partial_r2(t, dof), rv=robustness_value(t, dof, q=q),
                          rv_alpha=robustness_value(t, dof, q=q, alpha=alpha), q=q, alpha=alpha, what=what)


_ROS_TEXT = {
    "en": ("The matched comparison stays significant at the {level:.0%} level unless a hidden factor changes the odds "
           "of treatment of two otherwise identical units by a factor of {gamma:.2f} or more (Rosenbaum's Γ; 1 = no "
           "hidden bias, values below about 1.5 mean a weak hidden factor could explain the effect)."),
    "ru": ("Сопоставленное сравнение остаётся значимым на уровне {level:.0%}, пока скрытый фактор меняет шансы на "
           "участие у двух в остальном одинаковых единиц не более чем в {gamma:.2f} раза (Γ Розенбаума; 1 — скрытого "
           "смещения нет, значения ниже примерно 1,5 значат, что эффект мог бы объяснить и слабый скрытый фактор)."),
}


@dataclass
class RosenbaumBounds(Result):
    """Upper bounds of the one-sided signed-rank p-value for a range of Γ, and the critical Γ."""

    table: pd.DataFrame
    gamma_critical: float
    alpha: float
    n_pairs: int

    def sentence(self, lang: str = "en") -> str:
        if lang not in _ROS_TEXT:
            raise ValueError(f"lang must be one of {sorted(_ROS_TEXT)}, got {lang!r}")
        if not np.isfinite(self.gamma_critical) or self.gamma_critical <= 1:
            return {"en": "The matched comparison is not significant even without hidden bias (Γ = 1).",
                    "ru": "Сопоставленное сравнение незначимо даже без скрытого смещения (Γ = 1)."}[lang]
        return _ROS_TEXT[lang].format(level=self.alpha, gamma=self.gamma_critical)

    def summary(self) -> Summary:
        return Summary("Rosenbaum bounds (Wilcoxon signed-rank, matched differences)", [("", self.table.set_index("gamma"))],
                       [f"{self.n_pairs} matched differences; critical Γ = {self.gamma_critical:.3f}.", self.sentence()])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"table": self.table, "gamma_critical": self.gamma_critical, "alpha": self.alpha,
                           "n_pairs": self.n_pairs, "sentence": self.sentence()})


def _signed_rank_upper_p(diff: np.ndarray, gamma: float) -> float:
    """Large-sample upper bound of the one-sided p-value of the signed-rank statistic under Γ (Rosenbaum 2002, §4.3.3)."""
    d = diff[diff != 0]
    ranks = stats.rankdata(np.abs(d))
    T = ranks[d > 0].sum()
    p_plus = gamma / (1 + gamma)
    mean = p_plus * ranks.sum()
    var = p_plus * (1 - p_plus) * np.sum(ranks**2)
    return float(stats.norm.sf((T - mean) / math.sqrt(var))) if var > 0 else float("nan")


def rosenbaum_bounds(differences, *, gammas=(1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0), alpha: float = 0.05) -> RosenbaumBounds:
    """Rosenbaum bounds for matched treated-minus-control differences (positive effect tested).

    Parameters
    ----------
    differences : array
        One difference per matched treated unit (e.g. ``Y_i − Ŷ_i(0)`` of a matching estimator).
        For a negative estimate pass the negated differences.
    gammas : sequence of float
        Values of Γ for the table.
    alpha : float
        Level for the critical Γ.
    """
    diff = np.asarray(differences, dtype="float64")
    if diff.ndim != 1 or len(diff) < 2 or not np.isfinite(diff).all():
        raise ValueError("differences must be a 1-d array of at least 2 finite numbers")
    table = pd.DataFrame({"gamma": [float(g) for g in gammas]})
    table["p_upper"] = [_signed_rank_upper_p(diff, g) for g in table["gamma"]]
    f = lambda g: _signed_rank_upper_p(diff, g) - alpha  # noqa: E731
    if not f(1.0) < 0:
        crit = 1.0 if f(1.0) == 0 else float("nan")
    else:
        hi = 2.0
        while f(hi) < 0 and hi < 1e6:
            hi *= 2
        crit = float(optimize.brentq(f, 1.0, hi, xtol=1e-6)) if hi < 1e6 else float("inf")
    return RosenbaumBounds(table=table, gamma_critical=crit, alpha=alpha, n_pairs=int(np.sum(diff != 0)))
