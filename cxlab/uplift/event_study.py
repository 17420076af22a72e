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

__all__ = ["StaggeredDiD", "EventStudyResult", "callaway_santanna", "callaway_santanna_dr", "loyalty_staggered",
           "plot_event_study", "twfe_event_study", "TWFEResult"]


class EventStudyResult(Result):
    """Group-time ATTs and their aggregations (R ``did``'s ``aggte``: simple, dynamic, group, calendar).

    Attributes
    ----------
    att_gt : DataFrame
    event, group, calendar : DataFrame
        Effects by event time, by cohort (``g``) and by calendar period (``t``), with se and CI.
    simple, dynamic, group_overall, calendar_overall : dict
        The overall values of the four aggregations (att, se, ci_low, ci_high).
    twfe : TWFEResult or None
        The two-way fixed-effects event study on the same panel (biased reference).
    """

    def __init__(self, att_gt, event, simple, dynamic, n_units, n_never, alpha, outcome, group=None, calendar=None,
                 group_overall=None, calendar_overall=None, covariates=None):
        self.att_gt = att_gt
        self.event = event
        self.simple = simple
        self.dynamic = dynamic
        self.group = group
        self.calendar = calendar
        self.group_overall = group_overall
        self.calendar_overall = calendar_overall
        self.n_units = n_units
        self.n_never = n_never
        self.alpha = alpha
        self.outcome = outcome
        self.covariates = list(covariates or [])
        self.window = None
        self.twfe = None

    def summary(self) -> Summary:
        rows = [("simple ATT", self.simple), ("dynamic (e ≥ 0)", self.dynamic), ("group", self.group_overall),
                ("calendar", self.calendar_overall)]
        overall = pd.DataFrame([r for _, r in rows if r is not None], index=[k for k, r in rows if r is not None])
        tables = [("Overall", overall),
                  ("By event time (periods since treatment; e < 0 are placebo pre-trends)", self.event.set_index("event_time"))]
        if self.group is not None:
            tables.append(("By cohort (first treated period)", self.group.set_index("g")))
        if self.calendar is not None:
            tables.append(("By calendar period", self.calendar.set_index("t")))
        if self.twfe is not None:
            tables.append(("Two-way fixed effects event study (biased reference)", self.twfe.event.set_index("event_time")))
        return Summary(
            title=f"Staggered DiD (Callaway & Sant'Anna 2021): {self.outcome}"
                  + (f", doubly robust with covariates {', '.join(self.covariates)}" if self.covariates else ""),
            tables=tables,
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
                "group_overall": self.group_overall,
                "calendar_overall": self.calendar_overall,
                "event": self.event,
                "group": self.group,
                "calendar": self.calendar,
                "covariates": self.covariates,
                "twfe": self.twfe.to_dict() if self.twfe is not None else None,
                "att_gt": self.att_gt,
                "n_units": self.n_units,
                "n_never": self.n_never,
            }
        )


def _aggregation_specs(hh, tt, post, event_time, H):
    """The aggregations of R did's ``aggte`` as (cell mask, b) pairs: θ = Σ pg b att / Σ pg b over the
    mask. In order: simple, each event time, each group θ(g), each calendar period θ(t), and the
    group aggregation's overall value (b = 1/#post cells of the group: the mean of the θ(g))."""
    events = np.unique(event_time)
    periods_cal = np.unique(tt[post])
    groups_post = np.unique(hh[post])
    ones = np.ones(len(hh))
    n_cells_h = np.bincount(hh[post], minlength=H).astype("float64")
    aggs = [(post, ones)]
    aggs += [(event_time == e, ones) for e in events]
    aggs += [(post & (hh == h), ones) for h in groups_post]
    aggs += [(post & (tt == t), ones) for t in periods_cal]
    aggs += [(post, 1.0 / np.maximum(n_cells_h[hh], 1))]
    return aggs, events, periods_cal, groups_post


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

    # aggregations: each is Σ_c pg_c b_c att_c / Σ_c pg_c b_c over a set of cells (R did's aggte);
    # b_c = 1 except for the group aggregation's overall value, which averages the groups' own means
    aggs, events, periods_cal, groups_post = _aggregation_specs(hh, tt, post, event_time, H)
    K = len(aggs)
    alpha_ = np.zeros((H, K))
    beta_ = np.zeros((H, T, K))
    est = np.zeros(K)
    for k, (mask, bvec) in enumerate(aggs):
        cells = np.flatnonzero(mask)
        bc = bvec[cells]
        P = np.sum(pg[cells] * bc)
        w = pg[cells] * bc / P
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
        # estimated cohort shares (R did: wif): ∂θ/∂pg_h = Σ_{c∈h} b att / P − Σ_{c∈h} b · B / P²
        B = np.sum(pg[cells] * bc * att[cells])
        A_h = np.bincount(hh[cells], weights=bc * att[cells], minlength=H)
        N_h = np.bincount(hh[cells], weights=bc, minlength=H)
        alpha_[:, k] += A_h / P - N_h * B / P**2

    i_ev = 1 + np.arange(len(events))
    i_gr = i_ev[-1] + 1 + np.arange(len(groups_post))
    i_cal = (i_gr[-1] if len(i_gr) else i_ev[-1]) + 1 + np.arange(len(periods_cal))
    i_gov = K - 1

    def _append_mean(cols):
        """A new aggregation = the mean of existing ones (linear in their influence functions)."""
        nonlocal alpha_, beta_, est
        alpha_ = np.concatenate([alpha_, alpha_[:, cols].mean(axis=1, keepdims=True)], axis=1)
        beta_ = np.concatenate([beta_, beta_[:, :, cols].mean(axis=2, keepdims=True)], axis=2)
        est = np.append(est, est[cols].mean())
        return len(est) - 1

    # dynamic overall = mean of the e ≥ 0 event-time aggregations; calendar overall = mean over periods
    i_dyn = _append_mean(i_ev[events >= 0])
    i_cov = _append_mean(i_cal)
    i_win = None
    if max_event is not None:
        win_cols = i_ev[(events >= 0) & (events <= max_event)]
        if len(win_cols) == 0:
            raise ValueError(f"no post-treatment event time in 0..{max_event}")
        i_win = _append_mean(win_cols)

    # Σ_i IF_i² = Σ_h n_h α² + 2 α (S_h·β) + βᵀ G_h β
    Sb = np.einsum("ht,htk->hk", S, beta_)
    quad = np.einsum("htk,hts,hsk->hk", beta_, G, beta_)
    sumsq = (count[:, None] * alpha_**2 + 2 * alpha_ * Sb + quad).sum(axis=0)
    se = np.sqrt(np.maximum(sumsq, 0)) / n

    return _cs_output(est, se, z, att, se_cell, gg, tt, bb, event_time, post, count, hh, aggs, events, periods_cal,
                      groups_post, cohorts, i_ev, i_gr, i_cal, i_gov, i_dyn, i_cov, i_win, n)


def _cs_output(est, se, z, att, se_cell, gg, tt, bb, event_time, post, count, hh, aggs, events, periods_cal,
               groups_post, cohorts, i_ev, i_gr, i_cal, i_gov, i_dyn, i_cov, i_win, n):
    """The result dict of both Callaway–Sant'Anna paths."""
    def _row(k):
        return {"att": float(est[k]), "se": float(se[k]), "ci_low": float(est[k] - z * se[k]), "ci_high": float(est[k] + z * se[k])}

    def _table(col, labels, idx):
        tab = pd.DataFrame({col: labels, "att": est[idx], "se": se[idx]})
        tab["ci_low"] = tab["att"] - z * tab["se"]
        tab["ci_high"] = tab["att"] + z * tab["se"]
        return tab

    att_gt = pd.DataFrame(
        {"g": gg, "t": tt, "base": bb, "event_time": event_time, "att": att, "se": se_cell,
         "ci_low": att - z * se_cell, "ci_high": att + z * se_cell, "post": post, "cohort_size": count[hh].astype(int)}
    )
    event = _table("event_time", events, i_ev)
    event["n_cells"] = [int(m.sum()) for m, _ in aggs[1 : 1 + len(events)]]
    return {
        "window": _row(i_win) if i_win is not None else None,
        "att_gt": att_gt,
        "event": event[["event_time", "att", "se", "ci_low", "ci_high", "n_cells"]],
        "group": _table("g", cohorts[groups_post - 1], i_gr),
        "calendar": _table("t", periods_cal, i_cal),
        "simple": _row(0),
        "dynamic": _row(i_dyn),
        "group_overall": _row(i_gov),
        "calendar_overall": _row(i_cov),
        "n_units": int(n),
        "n_never": int(count[0]),
    }


@single_thread_blas()
def callaway_santanna_dr(
    Y: np.ndarray, group: np.ndarray, X: np.ndarray, *, control_group: str = "nevertreated", alpha: float = 0.05,
    max_event: int | None = None, names: list[str] | None = None,
) -> dict[str, Any]:
    """Callaway–Sant'Anna with covariates: a doubly robust 2×2 DiD per (g, t) cell.

    Each ATT(g, t) is the DR DiD of Sant'Anna & Zhao (2020) (``DRDID::drdid_panel``,
    :func:`cxlab.uplift.estimators.aipw_estimate` on ``Y_t − Y_b``) of cohort g against
    the comparison units, with a logit propensity and a linear outcome model in the
    unit-level covariates ``X`` (R ``did``'s ``est_method = "dr"``, ``xformla = ~ X``). The
    aggregations and their influence functions (including the estimated cohort shares)
    are those of :func:`callaway_santanna`; this path keeps an ``n × cells`` influence
    matrix, so it is meant for panels of up to some ten thousand units.

    Parameters
    ----------
    X : ndarray (n_units, p)
        Time-invariant covariates (no intercept column; it is added).
    Other parameters as :func:`callaway_santanna`, same return value.
    """
    from cxlab.uplift.core import fit_logit
    from cxlab.uplift.estimators import aipw_estimate

    Y = np.asarray(Y, dtype="float64")
    group = np.asarray(group, dtype="int64")
    X = np.asarray(X, dtype="float64")
    if X.ndim == 1:
        X = X[:, None]
    n_all, T = Y.shape
    if X.shape[0] != n_all:
        raise ValueError(f"covariates have {X.shape[0]} rows for {n_all} units")
    if control_group not in ("nevertreated", "notyettreated"):
        raise ValueError(f"control_group must be 'nevertreated' or 'notyettreated', got {control_group!r}")
    z = z_value(alpha)
    group = np.where((group < 0) | (group >= T), -1, group)
    keep = group != 0
    Y, group, X = Y[keep], group[keep], X[keep]
    n = len(group)
    cohorts = np.unique(group[group > 0])
    if not (group == -1).any() or len(cohorts) == 0:
        raise ValueError("need never-treated units and at least one cohort with a pre-treatment period")
    code = np.zeros(n, dtype="int64")
    code[group > 0] = np.searchsorted(cohorts, group[group > 0]) + 1
    H = len(cohorts) + 1
    count = np.bincount(code, minlength=H).astype("float64")
    design = np.column_stack([np.ones(n), X])
    names = ["const", *(names or [f"x{j}" for j in range(X.shape[1])])]
    hh, tt = np.meshgrid(np.arange(1, H), np.arange(1, T), indexing="ij")
    hh, tt = hh.ravel(), tt.ravel()
    gg = cohorts[hh - 1]
    post = tt >= gg
    bb = np.where(post, gg - 1, tt - 1)
    C = len(hh)
    att = np.zeros(C)
    Psi = np.zeros((n, C))
    for c in range(C):
        treated = code == hh[c]
        comp = code == 0
        if control_group == "notyettreated":
            comp |= (group > max(tt[c], bb[c])) & ~treated
        rows = np.flatnonzero(treated | comp)
        d = treated[rows]
        dy = Y[rows, tt[c]] - Y[rows, bb[c]]
        ps = fit_logit(design[rows], d, names=names)
        est = aipw_estimate(dy, d, design[rows], ps, estimand="ATT")
        att[c] = est.estimate
        Psi[rows, c] = est.psi * n / len(rows)
    se_cell = np.sqrt((Psi**2).sum(axis=0)) / n
    pg = count[hh] / n
    event_time = tt - gg
    aggs, events, periods_cal, groups_post = _aggregation_specs(hh, tt, post, event_time, H)
    W = np.zeros((C, len(aggs)))
    coef = np.zeros((H, len(aggs)))
    for k, (mask, bvec) in enumerate(aggs):
        cells = np.flatnonzero(mask)
        bc = bvec[cells]
        P = np.sum(pg[cells] * bc)
        W[cells, k] = pg[cells] * bc / P
        B = np.sum(pg[cells] * bc * att[cells])
        coef[:, k] = (np.bincount(hh[cells], weights=bc * att[cells], minlength=H) / P
                      - np.bincount(hh[cells], weights=bc, minlength=H) * B / P**2)
    i_ev = 1 + np.arange(len(events))
    i_gr = i_ev[-1] + 1 + np.arange(len(groups_post))
    i_cal = (i_gr[-1] if len(i_gr) else i_ev[-1]) + 1 + np.arange(len(periods_cal))
    extra = [i_ev[events >= 0], i_cal]
    if max_event is not None:
        win = i_ev[(events >= 0) & (events <= max_event)]
        if len(win) == 0:
            raise ValueError(f"no post-treatment event time in 0..{max_event}")
        extra.append(win)
    for cols in extra:
        W = np.column_stack([W, W[:, cols].mean(axis=1)])
        coef = np.column_stack([coef, coef[:, cols].mean(axis=1)])
    est = att @ W
    pgh = count / n
    IF = Psi @ W + coef[code] - (pgh @ coef)[None, :]
    se = np.sqrt((IF**2).sum(axis=0)) / n
    return _cs_output(est, se, z, att, se_cell, gg, tt, bb, event_time, post, count, hh, aggs, events, periods_cal,
                      groups_post, cohorts, i_ev, i_gr, i_cal, len(aggs) - 1, len(aggs), len(aggs) + 1,
                      len(aggs) + 2 if max_event is not None else None, n)


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
    group_, calendar_ : DataFrame
        Effects by cohort and by calendar period (R ``aggte(type="group" / "calendar")``).
    simple_, dynamic_, group_overall_, calendar_overall_ : dict
        Overall aggregations (att, se, ci_low, ci_high).

    Examples
    --------
    >>> StaggeredDiD().fit(mpdta, y="lemp", group="first.treat", time="year", unit="countyreal").simple_
    """

    def __init__(self, control_group: str = "nevertreated", alpha: float = 0.05):
        self.control_group = control_group
        self.alpha = alpha

    def fit(self, data: pd.DataFrame, *, y: str, group: str, time: str, unit: str, covariates=None,
            twfe: bool = False) -> "StaggeredDiD":
        """Fit on a balanced long panel.

        ``group`` holds the first treated period (same units as ``time``);
        0 or missing means never treated, as in the R package ``did``. A group
        later than the last period counts as never treated within the panel.
        ``covariates``: time-invariant unit columns (their first-period values are
        used); then every ATT(g, t) is doubly robust (:func:`callaway_santanna_dr`,
        R ``did``'s ``est_method = "dr"``). ``twfe=True`` adds the two-way fixed-effects
        event study (:func:`twfe_event_study`) as ``result_.twfe``.
        """
        covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
        require_columns(data, [y, group, time, unit, *covariates], "the panel")
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
        if covariates:
            Xw = np.empty((n, len(covariates)))
            first = data[time].to_numpy() == times[0]
            for j, c in enumerate(covariates):
                Xw[unit_idx[first], j] = as_float_array(data.loc[first, c], c)
            out = callaway_santanna_dr(Yw, gi, Xw, control_group=self.control_group, alpha=self.alpha, names=covariates)
        else:
            out = callaway_santanna(Yw, gi, control_group=self.control_group, alpha=self.alpha)
        att_gt = out["att_gt"].copy()
        att_gt["g"] = times[att_gt["g"].to_numpy()]
        att_gt["t"] = times[att_gt["t"].to_numpy()]
        att_gt["base"] = times[att_gt["base"].to_numpy()]
        self.att_gt_ = att_gt
        self.event_ = out["event"]
        self.simple_ = out["simple"]
        self.dynamic_ = out["dynamic"]
        group_tab = out["group"].assign(g=lambda f: times[f["g"].to_numpy()])
        cal_tab = out["calendar"].assign(t=lambda f: times[f["t"].to_numpy()])
        self.group_, self.calendar_ = group_tab, cal_tab
        self.group_overall_, self.calendar_overall_ = out["group_overall"], out["calendar_overall"]
        self.result_ = EventStudyResult(att_gt, out["event"], out["simple"], out["dynamic"], out["n_units"], out["n_never"],
                                        self.alpha, y, group=group_tab, calendar=cal_tab, group_overall=out["group_overall"],
                                        calendar_overall=out["calendar_overall"], covariates=covariates)
        if twfe:
            self.result_.twfe = twfe_event_study(data, y=y, group=group, time=time, unit=unit, alpha=self.alpha)
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
    res = EventStudyResult(out["att_gt"], out["event"], out["simple"], out["dynamic"], out["n_units"], out["n_never"], alpha,
                           outcome, group=out["group"], calendar=out["calendar"], group_overall=out["group_overall"],
                           calendar_overall=out["calendar_overall"])
    res.window = out["window"]  # mean effect over event times 0..max_event (None without max_event)
    return res


class TWFEResult(Result):
    """Two-way fixed-effects event study: relative-period coefficients (e = −1 omitted) and the static
    TWFE coefficient, with unit-clustered standard errors."""

    def __init__(self, event: pd.DataFrame, static: dict, n_units: int, alpha: float):
        self.event = event
        self.static = static
        self.n_units = n_units
        self.alpha = alpha

    def summary(self) -> Summary:
        return Summary("Two-way fixed-effects event study (biased under staggered adoption with dynamic effects)",
                       [("Static TWFE", pd.DataFrame([self.static], index=["treated × post"])),
                        ("By event time (e = −1 is the reference)", self.event.set_index("event_time"))],
                       [f"Unit and period fixed effects, standard errors clustered by unit ({self.n_units} clusters). "
                        "Already-treated units serve as controls for later cohorts, so with effects that change "
                        "over time the coefficients mix effects with negative weights (Goodman-Bacon 2021; "
                        "Sun & Abraham 2021): compare with the Callaway–Sant'Anna estimates."])

    def to_dict(self) -> dict[str, Any]:
        return to_builtin({"event": self.event, "static": self.static, "n_units": self.n_units})


def twfe_event_study(data: pd.DataFrame, *, y: str, group: str, time: str, unit: str, alpha: float = 0.05) -> TWFEResult:
    """The two-way fixed-effects event study, the biased reference for :class:`StaggeredDiD`.

    ``y_it = a_i + b_t + Σ_{e ≠ −1} δ_e 1{t − g_i = e} + u_it`` (never treated: all dummies 0),
    and the static ``y_it = a_i + b_t + τ D_it + u_it``, by OLS on the two-way demeaned balanced
    panel (equal to the dummy-variable regression, Frisch–Waugh–Lovell) with standard errors
    clustered by unit (statsmodels; the small-sample factor counts the fixed effects as absorbed,
    as Stata's ``xtreg, fe`` and ``fixest`` do).
    """
    import statsmodels.api as sm

    require_columns(data, [y, group, time, unit], "the panel")
    units, ui = np.unique(data[unit].to_numpy(), return_inverse=True)
    times, ti = np.unique(data[time].to_numpy(), return_inverse=True)
    n, T = len(units), len(times)
    if len(data) != n * T:
        raise ValueError(f"the panel must be balanced: {len(data)} rows for {n} units × {T} periods")
    yv = as_float_array(data[y], y)
    g = pd.to_numeric(data[group], errors="coerce").to_numpy()
    treated = np.isfinite(g) & (g > 0)
    t_val = data[time].to_numpy()
    # event time in periods: positions in the sorted period list
    g_pos = np.where(treated, np.searchsorted(times, np.where(treated, g, times[0])), 0)
    e = np.where(treated, ti - g_pos, np.iinfo(np.int64).min)
    events = np.unique(e[treated])
    events = events[events != -1]

    def demean(v):
        m = v.reshape(-1) if v.ndim == 1 else v
        unit_mean = np.bincount(ui, weights=m, minlength=n)[ui] / T
        time_mean = np.bincount(ti, weights=m, minlength=T)[ti] / n
        return m - unit_mean - time_mean + m.mean()

    ydm = demean(yv)
    D = np.column_stack([demean((e == k).astype(float)) for k in events])
    z = z_value(alpha)
    fit = sm.OLS(ydm, D).fit(cov_type="cluster", cov_kwds={"groups": ui})
    event = pd.DataFrame({"event_time": events, "att": fit.params, "se": fit.bse})
    event = pd.concat([event, pd.DataFrame({"event_time": [-1], "att": [0.0], "se": [0.0]})]).sort_values("event_time")
    event["ci_low"] = event["att"] - z * event["se"]
    event["ci_high"] = event["att"] + z * event["se"]
    static_d = demean((treated & (t_val >= np.where(treated, g, np.inf))).astype(float))
    fs = sm.OLS(ydm, static_d[:, None]).fit(cov_type="cluster", cov_kwds={"groups": ui})
    static = {"att": float(fs.params[0]), "se": float(fs.bse[0]), "ci_low": float(fs.params[0] - z * fs.bse[0]),
              "ci_high": float(fs.params[0] + z * fs.bse[0])}
    return TWFEResult(event.reset_index(drop=True), static, n, alpha)
