"""Pre/post windows around each member's join date, and pseudo join dates for non-members.

For a member who joined in month ``j`` the *pre* window is months
``j − pre … j − 1`` and the *post* window ``j … j + post − 1``. A non-member
gets a **pseudo join date** drawn from the join dates of members who could have
been observed the same way (Lu, Rosenbaum et al. 2001 "risk-set" idea, simplified):
the control then has windows at the same calendar time as the members it is
compared with, so seasonality and trends cancel in the difference-in-differences.
Covariates describe behaviour *before* the (pseudo) join date only — RFM,
tenure, calendar time and customer attributes such as the acquisition channel —
so they cannot be affected by membership.

Two sets of covariates are built: ``covariate_columns`` (RFM in the pre window,
lifetime rates, recency, tenure, calendar time, customer attributes) for the
additive design, and ``history_columns`` (rates over the months *before* the pre
window, months of such history, calendar time, customer attributes) for the
proportional design, which must not weight on the baseline window itself.

Known limits (measured on the demo generator; its selection mechanism is described
in :mod:`cxlab.datasets`):

* **Regression to the mean (additive design).** When joining depends on how heavy a
  buyer a customer *is* (a latent rate) and the match uses what they *bought* in a
  few months (a noisy measure of it), members are, at the same observed pre-join
  spend, heavier than their matches; a DiD in money then overstates the effect and
  a placebo finds an effect before joining. The proportional design avoids it.
* **Alive at the join date.** A member is alive when joining; a control only
  bought in the month before its pseudo date, so a few percent of controls have
  already lapsed (pushes the estimate up).
* **The activity check inflates the baseline of light buyers.** Requiring a
  purchase in the month before the date raises that month's purchases relatively
  more for light buyers (the controls), so their growth looks smaller (pushes the
  estimate up; ``gap`` keeps those months out of the baseline).
* **Dilution.** Risk-set controls who join during their post window carry part
  of the effect: on the generator 31 % of the weighted controls' post-window spend
  comes from months after they joined themselves (pulls the estimate down;
  ``control_horizon="post"`` avoids it but conditions on the future).
Each of the three is worth 15-40 % of the effect on the demo generator (measured
with its latent truth), and they do not simply add up; with 6-month windows and
``gap=0`` they roughly cancel there: the proportional DR estimate is within a few
percent of the true effect at 100,000 customers (mean of 9 seeds), 7 % low at
1,000,000 customers (one seed, ``benchmarks/bench_uplift.py``), its 95% interval
covers the truth in 19 of 20 seeds at 40,000 customers, and the placebo covers 0
in 19 of 20 (``tests/uplift/test_synthetic.py``). On another client's data the
balance of the three can differ: state them next to the estimate.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlab.uplift.panel import NEVER, MemberPanel

__all__ = ["PrePostData", "prepost_windows", "OUTCOMES"]

#: outcome name → (numerator array, denominator array or None); per-month means in each window
OUTCOMES = ("spend", "visits", "basket")


@dataclass
class PrePostData:
    """One row per member or pseudo-dated non-member.

    ``frame`` columns: ``customer_id``, ``member`` (bool), ``join_index``,
    ``join_period``, ``<outcome>_pre``/``<outcome>_post`` for spend (revenue per
    month), visits (transactions per month) and basket (revenue per transaction
    over the window; NaN without transactions), and the covariates listed in
    ``covariate_columns`` (pre-join behaviour including the pre window: the additive
    design's matching variables) and ``history_columns`` (behaviour *before* the pre
    window, its length, calendar time and customer attributes — nothing measured in
    the baseline window: the proportional design's, see :class:`cxlab.uplift.PrePostDiD`).
    """

    frame: pd.DataFrame
    covariate_columns: list[str]
    pre: int
    post: int
    placebo_shift: int = 0
    notes: list[str] = field(default_factory=list)
    event_times: np.ndarray | None = None
    event_revenue: np.ndarray | None = None
    event_transactions: np.ndarray | None = None
    history_columns: list[str] = field(default_factory=list)
    gap: int = 0

    @property
    def treated(self) -> np.ndarray:
        return self.frame["member"].to_numpy(dtype=bool)

    def change(self, outcome: str) -> np.ndarray:
        """Post minus pre per-month level of ``outcome``."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        return (self.frame[f"{outcome}_post"] - self.frame[f"{outcome}_pre"]).to_numpy(dtype="float64")


def prepost_windows(
    panel: MemberPanel,
    *,
    pre: int = 6,
    post: int = 6,
    placebo_shift: int = 0,
    control_horizon: str = "join",
    active_within: int | None = 1,
    event_horizon: int | None = None,
    gap: int = 0,
    seed: int = 0,
) -> PrePostData:
    """Build the matched pre/post design.

    Parameters
    ----------
    panel : MemberPanel
    pre, post : int
        Window lengths in periods (months).
    placebo_shift : int
        Move every join date this many periods *earlier* (placebo test). With
        ``placebo_shift >= post`` both windows end before the real join, so the
        estimated "effect" should be zero. Members are alive at their real join
        by definition, hence alive through both placebo windows; with
        ``active_within`` the controls must likewise have bought at or after
        ``pseudo + placebo_shift`` — outside the placebo windows, so the condition
        does not inflate the windows' purchases (the ``active_within`` check before the
        placebo date is not applied).
    control_horizon : {"join", "post"}
        ``"join"`` (default): a control must not be a member at its pseudo date
        (risk-set sampling; some controls join later, which slightly dilutes the
        estimate). ``"post"``: not a member until the end of the post window —
        conditions on the future and is biased upward when heavy buyers join fast;
        kept for comparison.
    active_within : int or None
        Keep only rows (members and controls alike) with a purchase in the last
        ``active_within`` periods before the (pseudo) join date. A member is
        alive when joining, a non-member at a random date may already have
        lapsed; comparing recently active customers only removes most of that
        difference (measured on synthetic data: without it the effect is
        overstated by about a third). ``None`` keeps everyone.
    event_horizon : int, optional
        Number of periods after joining kept for the event-time profile
        (default ``max(post, 12)``).
    gap : int
        Periods between the pre window and the join date (default 0): the pre window
        is ``j − gap − pre … j − gap − 1``. With ``gap = active_within`` the months of
        the activity check (which a purchase is required in, inflating them more for
        light than for heavy buyers) stay out of the baseline. Measured on the demo
        generator this removes an upward bias of about a sixth of the effect and
        exposes the dilution by later joiners (see Known limits), so the estimate
        falls below the truth; the default keeps the two in balance there.
    seed : int
        Seed of the pseudo-join-date draw.

    Notes
    -----
    Members are kept when both windows are inside the panel and they were
    customers for the whole pre window; members who joined before the panel
    starts are dropped. Controls are customers who were not members by the end
    of the post window (later joiners included, each with one pseudo date that
    ends before their real join), so a later member can appear twice: once as a
    control, once as a member. The standard errors treat rows as independent.
    """
    if pre < 1 or post < 1:
        raise ValueError(f"pre and post windows must be at least 1 period, got pre={pre}, post={post}")
    if placebo_shift < 0:
        raise ValueError("placebo_shift must be >= 0")
    if gap < 0:
        raise ValueError(f"gap must be >= 0, got {gap}")
    lead = pre + gap  # periods from the start of the pre window to the join date
    T = len(panel.periods)
    join = panel.join
    member = join < T
    j_eff = np.where(member, join - placebo_shift, NEVER)
    ok_member = member & (j_eff - lead >= 0) & (panel.first <= j_eff - lead) & (j_eff + post <= T)
    n_members_total = int(member.sum())
    if ok_member.sum() == 0:
        raise ValueError(
            f"no member has a full {pre}-month pre window (plus a {gap}-month gap) and {post}-month post window inside the panel "
            f"({n_members_total} members, {T} periods); shorten the windows"
        )
    member_dates = np.sort(j_eff[ok_member])
    # Controls are "not yet members" at the end of the post window (risk-set sampling): requiring
    # them to never join would condition on the future — an alive heavy buyer almost surely joins
    # eventually, so heavy never-members are mostly customers who died, and their spend collapses.
    # Pseudo join date: a member join date at which the customer had been a customer for `pre`
    # periods and was still not a member `post` periods later.
    rng = np.random.default_rng(seed)
    lo = np.searchsorted(member_dates, panel.first + lead, side="left")
    if control_horizon == "join":  # not yet a member at the pseudo date (or, placebo, at its real-join analogue)
        latest = np.where(member, np.minimum(join - 1 - placebo_shift, T - post), T - post)
    elif control_horizon == "post":  # not a member until the end of the post window
        latest = np.where(member, join - post, T - post)
    else:
        raise ValueError(f"control_horizon must be 'join' or 'post', got {control_horizon!r}")
    hi = np.searchsorted(member_dates, latest, side="right")
    avail = np.maximum(hi - lo, 0)
    u = rng.random(panel.n_customers)
    pick = np.minimum(lo + np.floor(u * avail).astype("int64"), max(len(member_dates) - 1, 0))
    pseudo = np.where(avail > 0, member_dates[pick], NEVER)
    control = pseudo < NEVER
    if active_within is not None:
        if active_within < 1:
            raise ValueError("active_within must be >= 1 period (or None)")
        # purchase in the last `active_within` periods before the (pseudo) date
        T_idx = np.arange(panel.n_customers)
        cs_tx_all = np.concatenate([np.zeros((panel.n_customers, 1)), np.cumsum(panel.transactions, axis=1)], axis=1)

        def _active(jj, ok):
            jj = np.where(ok, jj, active_within).clip(active_within, T)
            return ok & (cs_tx_all[T_idx, jj] - cs_tx_all[T_idx, jj - active_within] > 0)

        def _buys_from(jj, ok):
            """a purchase in period jj or later: alive then, without touching the windows before jj"""
            jj = np.where(ok, jj, 0).clip(0, T)
            return ok & (cs_tx_all[T_idx, T] - cs_tx_all[T_idx, jj] > 0)

        n_before = int(ok_member.sum())
        if placebo_shift:
            # members are necessarily alive when they really join, so alive through both placebo
            # windows; ask the same of the controls by a purchase at or after the matching date —
            # outside the placebo windows, so the condition selects on the buying rate (which the
            # proportional design cancels) and not on the windows' purchases
            ok_member = _buys_from(j_eff + placebo_shift, ok_member & (j_eff + placebo_shift <= T))
            control = _buys_from(pseudo + placebo_shift, control & (pseudo + placebo_shift <= T))
        else:
            ok_member = _active(j_eff, ok_member)
            control = _active(pseudo, control)
        if ok_member.sum() == 0:
            raise ValueError(f"no member bought in the {active_within} period(s) before joining; use active_within=None")
        del cs_tx_all
    ctrl_rows = np.flatnonzero(control)
    mem_rows = np.flatnonzero(ok_member)
    rows = np.concatenate([mem_rows, ctrl_rows])
    j = np.concatenate([j_eff[mem_rows], pseudo[ctrl_rows]])
    is_member_row = np.concatenate([np.ones(len(mem_rows), bool), np.zeros(len(ctrl_rows), bool)])

    rev = panel.revenue[rows]
    tx = panel.transactions[rows]
    horizon = max(post, 12) if event_horizon is None else int(event_horizon)
    rel = np.arange(-lead, horizon)
    cols = j[:, None] + rel[None, :]
    inside = (cols >= 0) & (cols < T)
    cols_c = cols.clip(0, T - 1)
    rr = np.arange(len(rows))[:, None]
    event_revenue = np.where(inside, rev[rr, cols_c], np.nan)
    event_transactions = np.where(inside, tx[rr, cols_c], np.nan)
    cs_rev = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(rev, axis=1)], axis=1)
    cs_tx = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(tx, axis=1)], axis=1)
    r = np.arange(len(rows))

    def window(cs, a, b):
        return cs[r, b] - cs[r, a]

    spend_pre, spend_post = window(cs_rev, j - lead, j - gap), window(cs_rev, j, j + post)
    visits_pre, visits_post = window(cs_tx, j - lead, j - gap), window(cs_tx, j, j + post)
    last3 = window(cs_rev, np.maximum(j - 3, 0), j) / np.minimum(3, j).clip(min=1)
    # whole history since the first purchase: the best pre-join estimate of the customer's rate
    life_months = np.maximum(j - panel.first[rows], 1).astype("float64")
    life_visits = window(cs_tx, panel.first[rows], j) / life_months
    life_spend = window(cs_rev, panel.first[rows], j) / life_months
    # recency: periods since the last period with a purchase before j (tenure if none)
    active_idx = np.where(tx > 0, np.arange(T)[None, :], -1)
    last_active = np.maximum.accumulate(active_idx, axis=1)
    last_before = last_active[r, j - 1]
    first = panel.first[rows]
    tenure = (j - first).astype("float64")
    recency = np.where(last_before >= 0, j - last_before, tenure).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        basket_pre = np.where(visits_pre > 0, spend_pre / visits_pre, np.nan)
        basket_post = np.where(visits_post > 0, spend_post / visits_post, np.nan)
    frame = pd.DataFrame(
        {
            "customer_id": panel.customer_id[rows],
            "member": is_member_row,
            "join_index": j,
            "join_period": panel.periods[j],
            "spend_pre": spend_pre / pre,
            "spend_post": spend_post / post,
            "visits_pre": visits_pre / pre,
            "visits_post": visits_post / post,
            "basket_pre": basket_pre,
            "basket_post": basket_post,
            # propensity covariates (pre-join behaviour only)
            "log_spend_pre": np.log1p(np.maximum(spend_pre / pre, 0)),
            "log_visits_pre": np.log1p(visits_pre / pre),
            "log_basket_pre": np.log1p(np.nan_to_num(np.maximum(basket_pre, 0))),
            "log_spend_last3": np.log1p(np.maximum(last3, 0)),
            "log_lifetime_visits": np.log1p(life_visits),
            "log_lifetime_spend": np.log1p(np.maximum(life_spend, 0)),
            "recency": recency,
            "log_tenure": np.log1p(tenure),
            "calendar_index": j.astype("float64"),
        }
    )
    # history before the pre window (months first .. j − gap − pre − 1): measures the buying rate with noise
    # independent of the baseline window's, so weighting on it does not regress the baseline to the mean
    early_months = np.maximum(j - lead - first, 0).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        early_visits = np.where(early_months > 0, window(cs_tx, np.minimum(first, j - lead), j - lead) / np.maximum(early_months, 1), 0.0)
        early_spend = np.where(early_months > 0, window(cs_rev, np.minimum(first, j - lead), j - lead) / np.maximum(early_months, 1), 0.0)
    frame["log_visits_early"] = np.log1p(early_visits)
    frame["log_spend_early"] = np.log1p(np.maximum(early_spend, 0))
    frame["log_early_months"] = np.log1p(early_months)
    history_columns = ["log_visits_early", "log_spend_early", "log_early_months", "calendar_index"]
    covariate_columns = ["log_spend_pre", "log_visits_pre", "log_basket_pre", "log_spend_last3",
                         "log_lifetime_visits", "log_lifetime_spend", "recency", "log_tenure", "calendar_index"]
    if panel.covariates.shape[1]:
        extra = panel.covariates.iloc[rows].reset_index(drop=True)
        for c in extra.columns:
            frame[c] = extra[c].to_numpy()
        covariate_columns += list(extra.columns)
        history_columns += list(extra.columns)
    notes = [
        f"{int(ok_member.sum()):,} of {n_members_total:,} members have full {pre}-month pre and {post}-month post windows"
        + (f" (the pre window ends {gap} month(s) before joining)." if gap else "."),
        f"{len(ctrl_rows):,} customers not (yet) members at the end of the post window serve as "
        f"controls with a pseudo join date ({int(np.isin(ctrl_rows, np.flatnonzero(member)).sum()):,} of them join later).",
    ]
    if active_within is not None:
        notes.append(f"Members and controls bought in the {active_within} period(s) before the (pseudo) join date "
                     f"({int(ok_member.sum()):,} of {n_before:,} eligible members did).")
    if placebo_shift:
        notes.append(f"Placebo: join dates moved {placebo_shift} periods earlier.")
    return PrePostData(
        frame=frame, covariate_columns=covariate_columns, pre=pre, post=post, placebo_shift=placebo_shift, notes=notes, gap=gap,
        event_times=rel, event_revenue=event_revenue, event_transactions=event_transactions,
        history_columns=history_columns,
    )
