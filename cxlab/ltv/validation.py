"""Holdout validation of the transaction models and the standard diagnostic plots.

Calibration/holdout split: ``cxlab.data.customer_summary(..., calibration_end=...)``
gives the calibration RFM columns and ``frequency_holdout`` / ``duration_holdout``.
Fit the model on the calibration columns, then :func:`holdout_validation`
compares each customer's expected holdout purchases with the actual ones (and
the totals), and the plots reproduce the diagnostics of Fader, Hardie & Lee
(2005): calibration vs holdout by calibration frequency, weekly cumulative
tracking, period-transactions histogram, frequency/recency matrices.
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxlab._base import Result, Summary, to_builtin

__all__ = [
    "HoldoutResult", "holdout_validation", "tracking_data", "plot_calibration_holdout",
    "plot_cumulative_tracking", "plot_period_transactions", "plot_frequency_recency_matrix",
    "plot_probability_alive_matrix",
]


class HoldoutResult(Result):
    """Predicted vs actual holdout purchases.

    Attributes
    ----------
    customers : DataFrame
        Per customer: ``frequency`` (calibration), ``actual``, ``predicted``.
    by_frequency : DataFrame
        Mean actual and predicted holdout purchases by calibration frequency
        (the last bucket pools ``>= max_frequency``).
    mae, rmse : float
        Per-customer errors of the predicted holdout purchases.
    total_actual, total_predicted, total_error_pct : float
        Aggregate holdout purchases and the relative error of the total
        (``100 * (predicted - actual) / actual``).
    """

    def __init__(self, model_name: str, customers: pd.DataFrame, by_frequency: pd.DataFrame, duration: float):
        self.model_name = model_name
        self.customers = customers
        self.by_frequency = by_frequency
        self.duration = duration
        err = customers["predicted"] - customers["actual"]
        self.mae = float(err.abs().mean())
        self.rmse = float(np.sqrt((err ** 2).mean()))
        self.total_actual = float(customers["actual"].sum())
        self.total_predicted = float(customers["predicted"].sum())
        self.total_error_pct = (100.0 * (self.total_predicted - self.total_actual) / self.total_actual
                                if self.total_actual > 0 else float("nan"))

    def metrics(self) -> pd.Series:
        return pd.Series({"customers": float(len(self.customers)), "holdout_length": self.duration,
                          "MAE": self.mae, "RMSE": self.rmse, "total_actual": self.total_actual,
                          "total_predicted": self.total_predicted, "total_error_pct": self.total_error_pct})

    def summary(self) -> Summary:
        return Summary(f"{self.model_name} holdout validation",
                       [("Accuracy", self.metrics().to_frame("value")),
                        ("Mean holdout purchases by calibration frequency", self.by_frequency)],
                       ["MAE/RMSE are per customer; the total error compares summed holdout purchases."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"model": self.model_name, **self.metrics().to_dict(), "by_frequency": self.by_frequency})


def holdout_validation(model, data: pd.DataFrame, *, actual: str = "frequency_holdout",
                       duration: str = "duration_holdout", max_frequency: int = 7) -> HoldoutResult:
    """Compare a fitted model's expected holdout purchases with the actual ones.

    Parameters
    ----------
    model : fitted BGNBD / MBGNBD / ParetoNBD (fitted on the calibration columns)
    data : DataFrame
        ``customer_summary(..., calibration_end=...)`` output: ``frequency,
        recency, T`` (calibration) and the holdout columns.
    actual, duration : str
        Column names of the actual holdout purchases and the holdout length
        (in the unit of ``T``).
    max_frequency : int
        Calibration frequencies ``>= max_frequency`` are pooled in ``by_frequency``.
    """
    for col in (actual, duration):
        if col not in data.columns:
            raise ValueError(f"holdout_validation: column {col!r} missing; build the summary with "
                             "customer_summary(..., calibration_end=...)")
    dur = data[duration].to_numpy(float)
    predicted = np.empty(len(data))
    for d in np.unique(dur):  # the holdout length is usually the same for everyone
        rows = dur == d
        predicted[rows] = model.expected_purchases(float(d), data.loc[rows])
    customers = pd.DataFrame({"frequency": data["frequency"].to_numpy(), "actual": data[actual].to_numpy(float),
                              "predicted": predicted}, index=data.index)
    bucket = np.minimum(customers["frequency"], max_frequency)
    by = customers.groupby(bucket).agg(customers=("actual", "size"), actual=("actual", "mean"),
                                       predicted=("predicted", "mean"))
    by.index = [str(int(i)) if i < max_frequency else f"{max_frequency}+" for i in by.index]
    by.index.name = "calibration_frequency"
    return HoldoutResult(getattr(model, "_name", type(model).__name__), customers, by,
                         float(np.median(dur)) if len(dur) else float("nan"))


_NS_PER_DAY = 86_400 * 10**9


def tracking_data(model, summary: pd.DataFrame, cohorts: pd.DataFrame, *, unit: str = "W",
                  calibration_end: Any = None, start: Any = None) -> pd.DataFrame:
    """Weekly actual vs expected (cumulative) repeat purchases of the whole customer base.

    Parameters
    ----------
    model : fitted transaction model (time unit = ``unit``)
    summary : DataFrame
        ``customer_summary`` output (needs ``first_purchase``); its customers
        define the base whose expected purchases are summed.
    cohorts : DataFrame
        DAILY ``cxlab.data.cohort_counts(transactions, period="D")`` over the
        whole window (calibration and holdout). Its ``customers`` column counts
        purchase days, so repeat purchase occasions on a day are
        ``customers`` minus the cohort's first purchases (period 0) — the same
        same-day-merged occasions the models count.
    unit : {"W", "D"}
        Unit of the model's time scale.
    calibration_end : date, optional
        Marks the holdout weeks.
    start : date, optional
        First day of week 1 (default: the first acquisition day).

    Returns
    -------
    DataFrame ``week`` (1, 2, ...), ``week_start``, ``actual``, ``expected``
    (repeat purchases in the week), ``actual_cumulative``,
    ``expected_cumulative``, ``holdout`` (week starts after ``calibration_end``).
    """
    need = {"cohort", "period", "customers", "cohort_size"}
    if not need <= set(cohorts.columns):
        raise ValueError(f"tracking_data: cohorts needs columns {sorted(need)} (cohort_counts(period='D') output)")
    if "first_purchase" not in summary.columns:
        raise ValueError("tracking_data: summary needs 'first_purchase' (customer_summary output)")
    days_per_unit = {"W": 7.0, "D": 1.0}.get(unit)
    if days_per_unit is None:
        raise ValueError(f"tracking_data: unit must be 'W' or 'D', got {unit!r}")
    c = cohorts
    # integer nanoseconds and whole days (floored, as Timedelta.days) instead of Series of
    # Timedeltas: a daily cohort table has one row per cohort-day, hundreds of thousands of rows
    cohort = pd.to_datetime(c["cohort"])
    period = c["period"].to_numpy().astype(np.int64)
    day_ns = cohort.to_numpy("datetime64[ns]").astype(np.int64) + period * _NS_PER_DAY
    repeat = c["customers"].to_numpy(float) - np.where(period == 0, c["cohort_size"].to_numpy(), 0)
    start = pd.Timestamp(start) if start is not None else cohort.min()
    week = np.floor_divide(day_ns - start.as_unit("ns").value, _NS_PER_DAY) // 7 + 1
    keep = week >= 1
    if keep.any():
        weekly = np.bincount(week[keep], weights=repeat[keep])
        weeks = np.arange(1, len(weekly))
        actual = weekly[1:].astype(float)
    else:
        weeks, actual = np.arange(0), np.zeros(0)
    week_start = start + pd.to_timedelta(7 * (weeks - 1), unit="D")
    last_day = week_start + pd.Timedelta(days=6)
    births, counts = np.unique(pd.to_datetime(summary["first_purchase"]).to_numpy(), return_counts=True)
    # repeat purchases on days after the first, up to and including the week's last day: a customer's
    # age at a week's end is a whole number of days, so the model is evaluated once per distinct age
    last_ns = last_day.to_numpy("datetime64[ns]").astype(np.int64)
    birth_ns = births.astype("datetime64[ns]").astype(np.int64)
    expected_cum = np.zeros(len(weeks))
    if len(weeks) and len(births):
        max_age = int(np.floor_divide(last_ns.max() - birth_ns.min(), _NS_PER_DAY))
        if max_age > 0:
            table = np.zeros(max_age + 1)
            table[1:] = model.expected_purchases_new(np.arange(1, max_age + 1) / days_per_unit)
            for lo in range(0, len(births), 1024):
                age = np.floor_divide(last_ns[None, :] - birth_ns[lo:lo + 1024, None], _NS_PER_DAY)
                contrib = counts[lo:lo + 1024, None] * table[np.clip(age, 0, None)]
                # birth by birth, in order, as a running sum: the same additions as one loop per birth
                expected_cum = np.add.reduce(np.vstack([expected_cum[None, :], contrib]), axis=0)
    out = pd.DataFrame({"week": weeks, "week_start": week_start, "actual": actual})
    out["expected"] = np.diff(np.concatenate([[0.0], expected_cum]))
    out["actual_cumulative"] = out["actual"].cumsum()
    out["expected_cumulative"] = expected_cum
    out["holdout"] = (out["week_start"] > pd.Timestamp(calibration_end)) if calibration_end is not None else False
    return out


def plot_cumulative_tracking(data: pd.DataFrame, *, calibration_end: Any = None, cumulative: bool = True,
                             ax=None):
    """Actual vs expected (cumulative) weekly repeat purchases; ``data`` from :func:`tracking_data`."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    a, e = ("actual_cumulative", "expected_cumulative") if cumulative else ("actual", "expected")
    ax.plot(data["week"], data[a], label="actual", color="black")
    ax.plot(data["week"], data[e], label="model", color="tab:blue", linestyle="--")
    if calibration_end is not None:
        cal_week = data.loc[data["week_start"] <= pd.Timestamp(calibration_end), "week"].max()
        ax.axvline(cal_week, color="grey", linestyle=":", label="end of calibration")
    ax.set_xlabel("week")
    ax.set_ylabel("cumulative repeat purchases" if cumulative else "repeat purchases per week")
    ax.legend()
    return ax


def plot_calibration_holdout(data: HoldoutResult | pd.DataFrame, *, ax=None):
    """Mean holdout purchases, actual vs predicted, by calibration frequency."""
    by = data.by_frequency if isinstance(data, HoldoutResult) else data
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    xs = np.arange(len(by))
    ax.plot(xs, by["actual"].to_numpy(float), marker="o", color="black", label="actual")
    ax.plot(xs, by["predicted"].to_numpy(float), marker="s", linestyle="--", color="tab:blue", label="model")
    ax.set_xticks(xs, list(by.index))
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("mean purchases in holdout")
    ax.legend()
    return ax


def plot_period_transactions(model, data: pd.DataFrame, *, max_frequency: int = 7, seed: int = 0, ax=None):
    """Histogram of calibration repeat purchases: actual vs simulated from the fitted model (same T)."""
    sim = model.simulate(data["T"].to_numpy(float), seed=seed)
    bins = np.arange(max_frequency + 1)
    act = np.bincount(np.minimum(data["frequency"].to_numpy(int), max_frequency), minlength=max_frequency + 1)
    mod = np.bincount(np.minimum(sim["frequency"].to_numpy(int), max_frequency), minlength=max_frequency + 1)
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    ax.bar(bins - 0.2, act, width=0.4, color="0.3", label="actual")
    ax.bar(bins + 0.2, mod, width=0.4, color="tab:blue", label="model")
    ax.set_xticks(bins, [str(b) for b in bins[:-1]] + [f"{max_frequency}+"])
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("customers")
    ax.legend()
    return ax


def _matrix(model, values: str, T: float, max_frequency: int | None, n_recency: int = 40):
    max_frequency = int(max_frequency if max_frequency is not None else 20)
    freq = np.arange(max_frequency + 1)
    rec = np.linspace(0, T, n_recency + 1)[1:]
    F, R = np.meshgrid(freq, rec, indexing="ij")
    R = np.where(F == 0, 0.0, R)
    grid = pd.DataFrame({"frequency": F.ravel(), "recency": R.ravel(), "T": T})
    if values == "p_alive":
        z = model.probability_alive(grid)
    else:
        z = model.expected_purchases(1.0, grid)
    return freq, rec, z.reshape(F.shape)


def _plot_matrix(freq, rec, z, title, ax):
    ax = ax or plt.subplots(figsize=(6, 5))[1]
    im = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis",
                   extent=(rec[0] - (rec[1] - rec[0]) / 2, rec[-1] + (rec[1] - rec[0]) / 2, -0.5, freq[-1] + 0.5))
    ax.figure.colorbar(im, ax=ax, label=title)
    ax.set_xlabel("recency (time of last purchase)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(title)
    return ax


def plot_frequency_recency_matrix(model, *, T: float, max_frequency: int | None = None, ax=None):
    """Expected purchases in the next time unit by (frequency, recency) for a customer of age ``T``."""
    freq, rec, z = _matrix(model, "expected", T, max_frequency)
    return _plot_matrix(freq, rec, z, "expected purchases, next unit", ax)


def plot_probability_alive_matrix(model, *, T: float, max_frequency: int | None = None, ax=None):
    """P(alive) by (frequency, recency) for a customer of age ``T``."""
    freq, rec, z = _matrix(model, "p_alive", T, max_frequency)
    return _plot_matrix(freq, rec, z, "P(alive)", ax)
