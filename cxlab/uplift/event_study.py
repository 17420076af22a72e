"""Staggered-adoption event study: Callaway & Sant'Anna (2021) group-time ATTs.

Customers join the loyalty programme in different months, so a two-way
fixed-effects regression would compare late joiners with early joiners that
are already treated and mix effects with negative weights (Goodman-Bacon 2021).
Callaway & Sant'Anna avoid this by estimating one 2×2 difference-in-differences
per (cohort g, period t) against the never-treated units only:

.. math::

    ATT(g, t) = E[Y_t - Y_{b} \\mid G = g] - E[Y_t - Y_{b} \\mid C = 1],
    \\quad b = g - 1 \\text{ if } t \\ge g \\text{ else } t - 1

(the "varying" base period of the R package ``did``: pre-treatment cells are
period-on-period placebo changes), and then aggregate them with the cohort
shares ``P(G = g)`` as weights:

* simple: the share-weighted mean of all post-treatment ATT(g, t);
* dynamic (event study): for each event time ``e = t − g`` the share-weighted
  mean of the cells with that ``e``; the dynamic overall is the mean over ``e ≥ 0``.

Standard errors are analytic, from the influence functions of the R package
``did`` (including the term for the estimated cohort shares, ``wif``). They
are computed without ever storing an ``n × cells`` matrix: every unit's
influence function is ``alpha[group] + beta[group] · Y_i``, so its sum of
squares needs only per-cohort sums and Gram matrices ``Y_gᵀY_g``.

Why our own implementation instead of ``csdid`` / ``differences``: measured on
this machine, ``csdid`` 0.4.3 reproduces the mpdta numbers but takes 1.6 s on a
20 000-unit × 5-period panel (it loops over cells in pandas and keeps an
``n × cells`` influence matrix — 10 GB for a million customers × 36 months),
while this closed form runs a million customers × 36 months in a few seconds.
Without covariates the estimator is the closed form above, so nothing is lost.

References
----------
Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences with
multiple time periods", *Journal of Econometrics* 225(2), 200-230.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cxlab._base import Estimator, Result, Summary, to_builtin
from cxlab.uplift._utils import as_float_array, require_columns, single_thread_blas, z_value

__all__ = ["StaggeredDiD", "EventStudyResult", "callaway_santanna", "loyalty_staggered", "plot_event_study"]


class EventStudyResult(Result):
    """Group-time ATTs and their aggregations (simple, dynamic)."""

    def __init__(self, att_gt, event, simple, dynamic, n_units, n_never, alpha, outcome):
        self.att_gt = att_gt
        self.event = event
        self.simple = simple
        self.dynamic = dynamic
        self.n_units = n_units
        self.n_never = n_never
        self.alpha = alpha
        self.outcome = outcome
        self.window = None

    def summary(self) -> Summary:
        overall = pd.DataFrame([self.simple, self.dynamic], index=["simple ATT", "dynamic (e ≥ 0)"])
        return Summary(
            title=f"Staggered DiD (Callaway & Sant'Anna 2021): {self.outcome}",
            tables=[
                ("Overall", overall),
                ("By event time (periods since treatment; e < 0 are placebo pre-trends)", self.event.set_index("event_time")),
            ],
            notes=[
                f"{self.n_units:,} units, {self.n_never:,} never treated.",
                "Assumes parallel trends with the comparison units and no anticipation; pre-period "
                "estimates near zero support (but do not prove) the first.",
                f"{100 * (1 - self.alpha):.0f}% pointwise intervals from analytic influence functions.",
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        return to_builtin(
            {
                "outcome": self.outcome,
                "simple": self.simple,
                "dynamic": self.dynamic,
                "event": self.event,
                "att_gt": self.att_gt,
                "n_units": self.n_units,
                "n_never": self.n_never,
            }
        )


@single_thread_blas()
def callaway_santanna(
    Y: np.ndarray, group: np.ndarray, *, control_group: str = "nevertreated", alpha: float = 0.05,
    max_event: int | None = None,
) -> dict[str, Any]:
    """Closed-form Callaway–Sant'Anna estimator on a balanced wide panel.

    Parameters
    ----------
    Y : array (n_units, n_periods)
        Outcome, one column per period in time order.
    group : int array (n_units,)
        Index of the first treated period; ``-1`` (or ``>= n_periods``) for
        never treated. Units treated in period 0 have no pre-period and are dropped
        (as the R package does).
    control_group : {"nevertreated", "notyettreated"}
        Comparison units of ATT(g, t): the never treated, or also the cohorts not
        yet treated by period t (R ``did``'s ``control_group`` argument).
    alpha : float
        1 − confidence level of the pointwise intervals.
    max_event : int, optional
        Also return ``window``: the mean of the event-time effects for
        ``0 ≤ e ≤ max_event`` (comparable with a pre/post window of
        ``max_event + 1`` periods), with its influence-function SE.

    Returns
    -------
    dict with ``att_gt`` (DataFrame g, t, base, event_time, att, se, post),
    ``event`` (DataFrame event_time, att, se, ci_low, ci_high, n_cells),
    ``simple`` and ``dynamic`` (dicts att, se, ci_low, ci_high), ``n_units``,
    ``n_never``.
    """
    Y = np.asarray(Y, dtype="float64")
    group = np.asarray(group, dtype="int64")
    n_all, T = Y.shape
    if T < 2:
        raise ValueError("need at least two periods for a difference-in-differences")
    z = z_value(alpha)
    if control_group not in ("nevertreated", "notyettreated"):
        raise ValueError(f"control_group must be 'nevertreated' or 'notyettreated', got {control_group!r}")
    group = np.where((group < 0) | (group >= T), -1, group)
    keep = group != 0  # treated before the first observed period: no pre-period
    if not keep.all():
        Y, group = Y[keep], group[keep]
    n = len(group)
    cohorts = np.unique(group[group > 0])
    if not (group == -1).any():
        raise ValueError("no never-treated units: the comparison group is empty")
    if len(cohorts) == 0:
        raise ValueError("no treated cohort with a pre-treatment period")

    # group h = 0 is the never treated, h = 1.. the cohorts
    code = np.zeros(n, dtype="int64")
    code[group > 0] = np.searchsorted(cohorts, group[group > 0]) + 1
    H = len(cohorts) + 1
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(H + 1))
    count = np.diff(bounds).astype("float64")
    S = np.zeros((H, T))
    G = np.zeros((H, T, T))
    for h in range(H):
        block = Y[order[bounds[h] : bounds[h + 1]]]
        S[h] = block.sum(axis=0)
        G[h] = block.T @ block
    M = S / count[:, None]

    # cells (cohort h ≥ 1, period t ≥ 1)
    hh, tt = np.meshgrid(np.arange(1, H), np.arange(1, T), indexing="ij")
    hh, tt = hh.ravel(), tt.ravel()
    gg = cohorts[hh - 1]
    post = tt >= gg
    bb = np.where(post, gg - 1, tt - 1)
    # comparison units of each cell: never treated, plus (not-yet-treated) cohorts first treated after t
    ctrl = np.zeros((len(hh), H), dtype=bool)
    ctrl[:, 0] = True
    if control_group == "notyettreated":
        ctrl[:, 1:] = (cohorts[None, :] > np.maximum(tt, bb)[:, None]) & (np.arange(1, H)[None, :] != hh[:, None])
    n_c = ctrl @ count
    S_c = ctrl @ S
    G_c = (ctrl @ G.reshape(H, T * T)).reshape(-1, T, T)
    cells_idx = np.arange(len(hh))
    mu1 = M[hh, tt] - M[hh, bb]
    mu0 = (S_c[cells_idx, tt] - S_c[cells_idx, bb]) / n_c
    att = mu1 - mu0
    var1 = (G[hh, tt, tt] + G[hh, bb, bb] - 2 * G[hh, tt, bb]) / count[hh] - mu1**2
    var0 = (G_c[cells_idx, tt, tt] + G_c[cells_idx, bb, bb] - 2 * G_c[cells_idx, tt, bb]) / n_c - mu0**2
    se_cell = np.sqrt(np.maximum(var1, 0) / count[hh] + np.maximum(var0, 0) / n_c)
    pg = count[hh] / n
    event_time = tt - gg

    # aggregations: column k of `weights` gives the cell weights, `keepers[k]` the cells
    events = np.unique(event_time)
    agg_masks = [post] + [event_time == e for e in events]
    K = len(agg_masks)
    alpha_ = np.zeros((H, K))
    beta_ = np.zeros((H, T, K))
    est = np.zeros(K)
    for k, mask in enumerate(agg_masks):
        cells = np.flatnonzero(mask)
        P = pg[cells].sum()
        w = pg[cells] / P
        est[k] = np.sum(w * att[cells])
        c1 = w * n / count[hh[cells]]
        c0 = w * n / n_c[cells]
        # treated units of the cell's cohort: + (Y_t − Y_b − mu1) n/n_g
        np.add.at(alpha_[:, k], hh[cells], -c1 * mu1[cells])
        np.add.at(beta_[:, :, k], (hh[cells], tt[cells]), c1)
        np.add.at(beta_[:, :, k], (hh[cells], bb[cells]), -c1)
        # comparison units: − (Y_t − Y_b − mu0) n/n_C
        cc = ctrl[cells].astype("float64")  # cells × H
        alpha_[:, k] += cc.T @ (c0 * mu0[cells])
        onehot_t = np.zeros((len(cells), T))
        onehot_t[np.arange(len(cells)), tt[cells]] = 1.0
        onehot_b = np.zeros((len(cells), T))
        onehot_b[np.arange(len(cells)), bb[cells]] = 1.0
        beta_[:, :, k] += cc.T @ (c0[:, None] * (onehot_b - onehot_t))
        # estimated cohort shares (R did: wif) = A_h / P − N_h B / P², B = Σ pg·att
        B = np.sum(pg[cells] * att[cells])
        A_h = np.bincount(hh[cells], weights=att[cells], minlength=H)
        N_h = np.bincount(hh[cells], minlength=H)
        alpha_[:, k] += A_h / P - N_h * B / P**2

    # dynamic overall = mean of the e ≥ 0 event-time aggregations (linear in their IFs)
    dyn_cols = 1 + np.flatnonzero(events >= 0)
    alpha_dyn = alpha_[:, dyn_cols].mean(axis=1, keepdims=True)
    beta_dyn = beta_[:, :, dyn_cols].mean(axis=2, keepdims=True)
    alpha_ = np.concatenate([alpha_, alpha_dyn], axis=1)
    beta_ = np.concatenate([beta_, beta_dyn], axis=2)
    est = np.append(est, est[dyn_cols].mean())
    if max_event is not None:
        win_cols = 1 + np.flatnonzero((events >= 0) & (events <= max_event))
        if len(win_cols) == 0:
            raise ValueError(f"no post-treatment event time in 0..{max_event}")
        alpha_ = np.concatenate([alpha_, alpha_[:, win_cols].mean(axis=1, keepdims=True)], axis=1)
        beta_ = np.concatenate([beta_, beta_[:, :, win_cols].mean(axis=2, keepdims=True)], axis=2)
        est = np.append(est, est[win_cols].mean())

    # Σ_i IF_i² = Σ_h n_h α² + 2 α (S_h·β) + βᵀ G_h β
    Sb = np.einsum("ht,htk->hk", S, beta_)
    quad = np.einsum("htk,hts,hsk->hk", beta_, G, beta_)
    sumsq = (count[:, None] * alpha_**2 + 2 * alpha_ * Sb + quad).sum(axis=0)
    se = np.sqrt(np.maximum(sumsq, 0)) / n

    def _row(k):
        return {"att": float(est[k]), "se": float(se[k]), "ci_low": float(est[k] - z * se[k]), "ci_high": float(est[k] + z * se[k])}

    att_gt = pd.DataFrame(
        {"g": gg, "t": tt, "base": bb, "event_time": event_time, "att": att, "se": se_cell,
         "ci_low": att - z * se_cell, "ci_high": att + z * se_cell, "post": post, "cohort_size": count[hh].astype(int)}
    )
    event = pd.DataFrame(
        {"event_time": events, "att": est[1 : 1 + len(events)], "se": se[1 : 1 + len(events)],
         "n_cells": [int(m.sum()) for m in agg_masks[1:]]}
    )
    event["ci_low"] = event["att"] - z * event["se"]
    event["ci_high"] = event["att"] + z * event["se"]
    out_window = _row(K + 1) if max_event is not None else None
    return {
        "window": out_window,
        "att_gt": att_gt,
        "event": event[["event_time", "att", "se", "ci_low", "ci_high", "n_cells"]],
        "simple": _row(0),
        "dynamic": _row(K),
        "n_units": int(n),
        "n_never": int(count[0]),
    }


class StaggeredDiD(Estimator):
    """Callaway–Sant'Anna staggered difference-in-differences on a long panel.

    Parameters
    ----------
    control_group : {"nevertreated", "notyettreated"}
        Comparison group of every ATT(g, t) (see :func:`callaway_santanna`).
    alpha : float
        1 − confidence level of the intervals (default 0.05).

    Attributes
    ----------
    result_ : EventStudyResult
    att_gt_ : DataFrame
        ATT(g, t) with the *labels* of groups and periods.
    event_ : DataFrame
        Effects by event time (e < 0: placebo pre-trend estimates).
    simple_, dynamic_ : dict
        Overall aggregations (att, se, ci_low, ci_high).

    Examples
    --------
    >>> StaggeredDiD().fit(mpdta, y="lemp", group="first.treat", time="year", unit="countyreal").simple_
    """

    def __init__(self, control_group: str = "nevertreated", alpha: float = 0.05):
        self.control_group = control_group
        self.alpha = alpha

    def fit(self, data: pd.DataFrame, *, y: str, group: str, time: str, unit: str) -> "StaggeredDiD":
        """Fit on a balanced long panel.

        ``group`` holds the first treated period (same units as ``time``);
        0 or missing means never treated, as in the R package ``did``. A group
        later than the last period counts as never treated within the panel.
        """
        require_columns(data, [y, group, time, unit], "the panel")
        units, unit_idx = np.unique(data[unit].to_numpy(), return_inverse=True)
        times = np.sort(pd.unique(data[time]))
        time_idx = np.searchsorted(times, data[time].to_numpy())
        n, T = len(units), len(times)
        if len(data) != n * T or pd.Series(unit_idx * T + time_idx).duplicated().any():
            raise ValueError(
                f"the panel must be balanced with one row per ({unit}, {time}): "
                f"{len(data)} rows for {n} units × {T} periods"
            )
        Yw = np.empty((n, T))
        Yw[unit_idx, time_idx] = as_float_array(data[y], y)
        g_raw = pd.to_numeric(data[group], errors="coerce").to_numpy()
        g_unit = np.full(n, np.nan)
        g_unit[unit_idx] = g_raw
        check = pd.DataFrame({"u": unit_idx, "g": np.nan_to_num(g_raw, nan=0.0)}).groupby("u")["g"].nunique()
        if (check > 1).any():
            bad = units[check.index[check > 1][0]]
            raise ValueError(f"column {group!r} must be constant within a unit; unit {bad!r} has several values")
        never = np.isnan(g_unit) | (g_unit <= 0) | (g_unit > times[-1])
        gi = np.searchsorted(times, np.where(never, times[0], g_unit))  # first period ≥ g
        gi = np.where(never, -1, gi)
        out = callaway_santanna(Yw, gi, control_group=self.control_group, alpha=self.alpha)
        att_gt = out["att_gt"].copy()
        att_gt["g"] = times[att_gt["g"].to_numpy()]
        att_gt["t"] = times[att_gt["t"].to_numpy()]
        att_gt["base"] = times[att_gt["base"].to_numpy()]
        self.att_gt_ = att_gt
        self.event_ = out["event"]
        self.simple_ = out["simple"]
        self.dynamic_ = out["dynamic"]
        self.result_ = EventStudyResult(att_gt, out["event"], out["simple"], out["dynamic"], out["n_units"], out["n_never"], self.alpha, y)
        return self


def plot_event_study(data, *, truth: pd.Series | None = None, ax=None, color="C0", label=None):
    """Event-study plot: effect by periods since treatment with 95% intervals.

    Parameters
    ----------
    data : EventStudyResult, StaggeredDiD or DataFrame with event_time, att, ci_low, ci_high
    truth : Series indexed by event time, optional
        A known effect (synthetic data) drawn as a dashed line.
    """
    import matplotlib.pyplot as plt

    if isinstance(data, StaggeredDiD):
        data._check_fitted()
        data = data.event_
    elif isinstance(data, EventStudyResult):
        data = data.event
    require_columns(data, ["event_time", "att", "ci_low", "ci_high"], "event-study data")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    e = data["event_time"].to_numpy(dtype=float)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.axvline(-0.5, color="0.5", lw=0.8, ls=":")
    ax.fill_between(e, data["ci_low"].to_numpy(float), data["ci_high"].to_numpy(float), color=color, alpha=0.2, lw=0)
    ax.plot(e, data["att"].to_numpy(float), "o-", color=color, ms=3, label=label or "estimate (95% CI)")
    if truth is not None:
        ax.plot(truth.index.to_numpy(float), truth.to_numpy(float), "k--", lw=1, label="true effect")
    ax.set_xlabel("periods since joining (negative: placebo pre-periods)")
    ax.set_ylabel("effect")
    ax.legend(frameon=False, fontsize=8)
    return ax


def loyalty_staggered(panel, *, outcome: str = "spend", start: int | None = None,
                      control_group: str = "notyettreated", alpha: float = 0.05,
                      max_event: int | None = None) -> EventStudyResult:
    """Callaway–Sant'Anna event study of loyalty membership on a customer × month panel.

    The panel is made balanced by keeping the customers who had made their first
    purchase by period ``start`` (default: the period before the first join) and
    dropping members who joined by then; periods before ``start`` are cut off.
    Cohort = month of joining; comparison = never / not-yet members.

    No covariates: this assumes members' spend would have moved *in parallel*
    (in money) with that of non-members. When members are heavier buyers and
    churn removes a share of every group each month, their counterfactual falls
    by more money than the non-members' and this estimator understates the effect
    more and more with time since joining — use it next to the matched design
    (:func:`cxlab.uplift.event_time_effects`), not instead of it.
    """
    from cxlab.uplift.panel import MemberPanel

    if not isinstance(panel, MemberPanel):
        raise ValueError("loyalty_staggered expects a MemberPanel (cxlab.uplift.member_panel)")
    if outcome not in ("spend", "visits"):
        raise ValueError("outcome must be 'spend' or 'visits'")
    T = len(panel.periods)
    members = panel.is_member
    if not members.any():
        raise ValueError("nobody joined the programme within the panel")
    if start is None:
        start = max(int(panel.join[members & (panel.join >= 0)].min()) - 1, 0) if (members & (panel.join >= 0)).any() else 0
    keep = (panel.first <= start) & (panel.join > start)
    if keep.sum() == 0:
        raise ValueError(f"no customer was acquired by period {start} and not yet a member then")
    Y = (panel.revenue if outcome == "spend" else panel.transactions)[keep][:, start:]
    g = np.where(panel.join[keep] < T, panel.join[keep] - start, -1)
    out = callaway_santanna(Y, g, control_group=control_group, alpha=alpha, max_event=max_event)
    res = EventStudyResult(out["att_gt"], out["event"], out["simple"], out["dynamic"], out["n_units"], out["n_never"], alpha, outcome)
    res.window = out["window"]  # mean effect over event times 0..max_event (None without max_event)
    return res
