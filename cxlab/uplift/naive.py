"""The naive comparison: treated mean minus untreated mean.

Valid only when treatment is randomised (the LaLonde NSW experiment reproduces
its benchmark this way). For a loyalty programme members *choose* to join and
heavier buyers join sooner, so "members spend 2× more" mixes the effect with
who the members are (selection bias). cxlab shows this number only next to the
causal estimates, labelled as biased.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin
from cxlab.uplift._utils import as_float_array, as_treatment, require_columns, z_value

__all__ = ["NaiveDifference", "naive_difference"]


class NaiveDifference(Result):
    """Difference in means with Welch standard error."""

    def __init__(self, outcome: str, treated_mean: float, control_mean: float, se: float, n_treated: int, n_control: int, alpha: float):
        self.outcome = outcome
        self.treated_mean = treated_mean
        self.control_mean = control_mean
        self.difference = treated_mean - control_mean
        self.ratio = treated_mean / control_mean if control_mean != 0 else float("nan")
        self.se = se
        z = z_value(alpha)
        self.ci_low = self.difference - z * se
        self.ci_high = self.difference + z * se
        self.n_treated = n_treated
        self.n_control = n_control

    def summary(self) -> Summary:
        table = pd.DataFrame(
            {"treated mean": [self.treated_mean], "control mean": [self.control_mean], "difference": [self.difference],
             "ratio": [self.ratio], "se": [self.se], "ci_low": [self.ci_low], "ci_high": [self.ci_high]},
            index=[self.outcome],
        )
        return Summary("Naive difference (treated − untreated)", [("", table)],
                       ["Unbiased only under random assignment; with self-selection it includes selection bias."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({k: getattr(self, k) for k in ("outcome", "treated_mean", "control_mean", "difference", "ratio",
                                                          "se", "ci_low", "ci_high", "n_treated", "n_control")})


def naive_difference(data: pd.DataFrame, *, outcome: str, treatment: str, alpha: float = 0.05) -> NaiveDifference:
    """Mean of ``outcome`` among ``treatment == 1`` minus among ``treatment == 0``.

    Examples
    --------
    LaLonde's NSW experiment (Dehejia–Wahba sample): ``naive_difference(nsw, outcome="re78",
    treatment="treat").difference`` = 1794.34, the experimental benchmark.
    """
    require_columns(data, [outcome, treatment], "the data")
    y = as_float_array(data[outcome], outcome)
    d = as_treatment(data[treatment], treatment)
    if d.sum() < 2 or (~d).sum() < 2:
        raise ValueError(f"column {treatment!r} needs at least two treated and two untreated rows")
    se = float(np.sqrt(y[d].var(ddof=1) / d.sum() + y[~d].var(ddof=1) / (~d).sum()))
    return NaiveDifference(outcome, float(y[d].mean()), float(y[~d].mean()), se, int(d.sum()), int((~d).sum()), alpha)
