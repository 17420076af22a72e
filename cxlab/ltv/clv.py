"""Discounted customer lifetime value and its prediction intervals.

The CLV of customer ``i`` over ``H`` months is

.. math:: \\mathrm{CLV}_i = \\sum_{m=1}^{H} \\frac{\\mathrm{margin}\\cdot \\bar s_i\\,
          \\left(E[X_i(m u)] - E[X_i((m-1) u)]\\right)}{(1 + d)^m},

where ``E[X_i(t)]`` is the transaction model's expected number of purchases
in the next ``t`` time units given the customer's history, ``u`` the number of
time units in a month (30.4375 days), ``d`` the monthly discount rate and
``s_i`` the Gamma-Gamma conditional expected spend per transaction. This is
the discounted-expected-transactions form of Fader, Hardie & Lee (2005), "RFM
and CLV", computed month by month as in ``lifetimes``'
``customer_lifetime_value`` (payments arrive at the end of each month).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin
from cxlab.units import DAYS_PER_MONTH, UNIT_DAYS, units_per_month
from cxlab.ltv.models import GammaGamma

__all__ = ["customer_lifetime_value", "monthly_rate", "prediction_intervals", "PredictionIntervals", "UNITS_PER_MONTH"]

#: Units of each time unit in one month (derived from :data:`cxlab.units.UNIT_DAYS`).
UNITS_PER_MONTH = {unit: DAYS_PER_MONTH / days for unit, days in UNIT_DAYS.items()}


def monthly_rate(annual_rate: float) -> float:
    """Monthly discount rate equivalent to an annual one: ``(1 + r)^(1/12) - 1``."""
    if annual_rate <= -1:
        raise ValueError(f"annual discount rate must be > -1, got {annual_rate}")
    return (1.0 + annual_rate) ** (1.0 / 12.0) - 1.0


def _units_per_month(unit: str) -> float:
    return units_per_month(unit)


def _discounted_purchases(model, data, params, horizon_months: int, discount_rate: float, unit: str) -> np.ndarray:
    u = _units_per_month(unit)
    months = np.arange(1, horizon_months + 1)
    cum = model.expected_purchases(months * u, data, params=params)  # (months, customers)
    per_month = np.diff(np.vstack([np.zeros((1, cum.shape[1])), cum]), axis=0)
    return (1.0 + discount_rate) ** -months.astype(float) @ per_month


def customer_lifetime_value(transaction_model, spend_model: GammaGamma | None, data: pd.DataFrame, *,
                            horizon_months: int = 12, discount_rate: float = 0.01, unit: str = "W",
                            margin: float = 1.0, params: Any = None, spend_params: Any = None) -> pd.DataFrame:
    """Per-customer discounted CLV (see the module docstring for the formula).

    Parameters
    ----------
    transaction_model : fitted BGNBD, MBGNBD or ParetoNBD
    spend_model : fitted GammaGamma or None
        ``None`` uses each customer's observed ``monetary_value`` (and the
        repeat buyers' mean for customers without repeats) instead of the
        Gamma-Gamma shrinkage.
    data : DataFrame
        Customer summary with ``frequency, recency, T, monetary_value`` in ``unit``.
    horizon_months : int
    discount_rate : float
        MONTHLY rate (use :func:`monthly_rate` to convert an annual one).
    unit : {"D", "W", "M"}
        Time unit of ``recency``/``T`` (as passed to ``customer_summary``).
    margin : float
        Share of revenue kept as margin (1 = revenue CLV).

    Returns
    -------
    DataFrame indexed like ``data``: ``expected_purchases`` (undiscounted, over
    the horizon), ``p_alive``, ``expected_spend``, ``clv``.
    """
    if horizon_months < 1 or int(horizon_months) != horizon_months:
        raise ValueError(f"horizon_months must be a positive integer, got {horizon_months}")
    if discount_rate <= -1:
        raise ValueError(f"discount_rate must be > -1, got {discount_rate}")
    if "monetary_value" not in data.columns:
        raise ValueError("data needs a 'monetary_value' column (cxlab.data.customer_summary gives it)")
    spend = _spend(spend_model, data, spend_params)
    disc = _discounted_purchases(transaction_model, data, params, int(horizon_months), discount_rate, unit)
    out = pd.DataFrame(index=data.index)
    out["expected_purchases"] = transaction_model.expected_purchases(horizon_months * _units_per_month(unit), data,
                                                                     params=params)
    out["p_alive"] = transaction_model.probability_alive(data, params=params)
    out["expected_spend"] = spend
    out["clv"] = margin * spend * disc
    return out


def _spend(spend_model, data, spend_params) -> np.ndarray:
    if spend_model is not None:
        return spend_model.conditional_expected_spend(data, params=spend_params)
    m = data["monetary_value"].to_numpy(float)
    x = data["frequency"].to_numpy(float)
    repeat = x > 0
    fallback = m[repeat].mean() if repeat.any() else 0.0
    return np.where(repeat, m, fallback)


class PredictionIntervals(Result):
    """Per-customer point predictions with bootstrap intervals."""

    def __init__(self, table: pd.DataFrame, level: float, n_draws: int, method: str):
        self.table = table
        self.level = level
        self.n_draws = n_draws
        self.method = method

    def summary(self) -> Summary:
        cols = [c for c in self.table.columns if c.endswith("_width")]
        desc = self.table.drop(columns=cols).describe().T[["mean", "25%", "50%", "75%"]]
        return Summary(f"Customer-level {self.level:.0%} prediction intervals ({self.method}, {self.n_draws} draws)",
                       [("Distribution over customers", desc)],
                       ["Intervals reflect uncertainty in the population parameters (parametric bootstrap)."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"level": self.level, "n_draws": self.n_draws, "method": self.method,
                           "table": self.table})


def prediction_intervals(transaction_model, data: pd.DataFrame, *, spend_model: GammaGamma | None = None,
                         horizon_months: int = 12, discount_rate: float = 0.01, unit: str = "W",
                         margin: float = 1.0, n_draws: int = 100, level: float = 0.9, method: str = "refit",
                         process_samples: int = 0, seed: int | None = 0) -> PredictionIntervals:
    """Per-customer intervals for expected purchases, P(alive) and (with a spend model) CLV.

    Parametric bootstrap: ``method="refit"`` simulates ``n_draws`` data sets
    of the same size and ``T`` from the fitted model(s), refits, and
    recomputes every customer's prediction from the refitted parameters;
    ``method="asymptotic"`` instead draws the parameters from their
    asymptotic normal distribution (log scale, see ``sample_params``), which
    is faster. The interval is the central ``level`` quantile range of the
    draws; the point estimate uses the fitted parameters. These intervals are
    for the *expected* values (parameter uncertainty).

    With ``process_samples > 0`` the table also gets ``purchases_lower`` /
    ``purchases_upper``: a predictive interval for the customer's actual
    number of purchases over the horizon, from ``process_samples`` posterior
    predictive draws (alive or not, latent rates, Poisson purchases) per
    parameter draw — parameter and process uncertainty together.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if method not in ("refit", "asymptotic"):
        raise ValueError(f"method must be 'refit' or 'asymptotic', got {method!r}")
    rng = np.random.default_rng(seed)
    t_draws, s_draws = _parameter_draws(transaction_model, spend_model, data, n_draws, method, rng)
    u = _units_per_month(unit)

    def predict(tp, sp):
        res = {
            "expected_purchases": transaction_model.expected_purchases(horizon_months * u, data, params=tp),
            "p_alive": transaction_model.probability_alive(data, params=tp),
        }
        if spend_model is not None:
            spend = spend_model.conditional_expected_spend(data, params=sp)
            res["clv"] = margin * spend * _discounted_purchases(transaction_model, data, tp, horizon_months,
                                                               discount_rate, unit)
        return res

    point = predict(None, None)
    boot = {k: np.empty((n_draws, len(data))) for k in point}
    future = []
    for i in range(n_draws):
        res = predict(t_draws[i], None if s_draws is None else s_draws[i])
        for k in res:
            boot[k][i] = res[k]
        if process_samples > 0:
            future.append(transaction_model.sample_future_purchases(
                horizon_months * u, data, n_samples=process_samples, params=t_draws[i],
                seed=int(rng.integers(2**31))))
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    table = pd.DataFrame(index=data.index)
    for k, v in point.items():
        table[k] = v
        table[f"{k}_lower"] = np.quantile(boot[k], lo_q, axis=0)
        table[f"{k}_upper"] = np.quantile(boot[k], hi_q, axis=0)
    if future:
        sims = np.vstack(future)
        table["purchases_lower"] = np.quantile(sims, lo_q, axis=0, method="lower")
        table["purchases_upper"] = np.quantile(sims, hi_q, axis=0, method="higher")
    return PredictionIntervals(table, level, n_draws, method)


def _parameter_draws(tm, sm, data, n_draws, method, rng):
    if method == "asymptotic":
        t = tm.sample_params(n_draws, seed=int(rng.integers(2**31)))
        s = None if sm is None else sm.sample_params(n_draws, seed=int(rng.integers(2**31)))
        return t, s
    T = data["T"].to_numpy(float)
    t_draws = np.empty((n_draws, len(tm.params_)))
    s_draws = None if sm is None else np.empty((n_draws, len(sm.params_)))
    for i in range(n_draws):
        sim = tm.simulate(T, seed=int(rng.integers(2**31)))
        refit = type(tm)(**tm.get_params()).fit(sim, initial_params=tm.params_, inference=False)
        t_draws[i] = refit.params_.to_numpy()
        if sm is not None:
            x = data["frequency"].to_numpy()
            ssim = sm.simulate(x, seed=int(rng.integers(2**31)))
            refit_spend = type(sm)(**sm.get_params()).fit(ssim, initial_params=sm.params_, inference=False)
            s_draws[i] = refit_spend.params_.to_numpy()
    return t_draws, s_draws
