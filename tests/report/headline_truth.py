"""Every headline metric of the demo report, recomputed from the demo CSV files the way a researcher would.

pandas for counts, shares and cohorts, lifelines for Kaplan-Meier and Cox models, statsmodels for
logits and binomial intervals, scipy for the ratio model, and cxlab's model classes (BG/NBD,
Gamma-Gamma, Pareto/NBD with time-varying covariates) fitted directly on summaries built here —
never a report section's own helper. The newer sections the same way: customer equity by Gupta,
Lehmann & Stuart's month-by-month sums and churn losses by calendar month with pandas; CUPED with
statsmodels' OLS slope; the discounts' fixed-effects Poisson by its conditional likelihood (scipy)
with a clustered sandwich; Shapley R² by brute force over every subset of the ratings (numpy least
squares) with an own customer-cluster bootstrap. :func:`recompute` returns ``{metric: Truth}``; the tolerances
are stated where each number is made (:data:`SUM`, :data:`MLE`, ...).

The study's facts are read from ``client.yml`` (window end, calibration end, churn threshold,
horizon, discount rate, programme costs); the margin rate is the margin column's total over the
revenue (the demo's client.yml sets no margin_rate).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import optimize, stats

#: Relative tolerances: sums and shares of counts are exact up to floating point; maximum-likelihood
#: fits by two optimisers agree to about 1e-6 relative (both stop on a gradient / decrement test);
#: the Cox fits of cxlab's own Efron solver and lifelines agree to 1e-6 as well.
SUM = 1e-9
MLE = 1e-6
#: Monte Carlo quantiles (4,000 normal draws) against their exact normal values: a few per cent of the width.
MONTE_CARLO = 0.05

DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_YEAR = 365.25
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7


@dataclass
class Truth:
    value: float
    rel: float = SUM
    ci: tuple[float, float] | None = None
    ci_rel: float | None = None
    abs: float = 0.0


# --------------------------------------------------------------------------- the demo data, by hand
def load(folder: Path) -> dict:
    config = yaml.safe_load((folder / "client.yml").read_text(encoding="utf-8"))
    p = config["parameters"]
    tx = pd.read_csv(folder / "transactions.csv", parse_dates=["timestamp"])
    cust = pd.read_csv(folder / "customers.csv", parse_dates=["signup_date", "loyalty_join_date"])
    surveys = pd.read_csv(folder / "surveys.csv", parse_dates=["date"])
    end = pd.Timestamp(p["observation_end"])
    cal = pd.Timestamp(p["calibration_end"])
    tx = tx[tx["timestamp"] < end + pd.Timedelta(days=1)].copy()
    tx["day"] = tx["timestamp"].dt.normalize()
    return {"p": p, "tx": tx, "cust": cust, "surveys": surveys[surveys["date"] < end + pd.Timedelta(days=1)],
            "end": end, "cal": cal, "folder": Path(folder)}


def summary_by_hand(tx: pd.DataFrame, end: pd.Timestamp, cal: pd.Timestamp | None = None) -> pd.DataFrame:
    """Fader & Hardie's (frequency, recency, T) in weeks: a purchase day is a day with a non-negative row;
    returns reduce revenue but make no occasion; spend of repeat days only."""
    cut = end if cal is None else cal
    buys = tx[tx["amount"] >= 0]
    value = buys.groupby(["customer_id", "day"])["amount"].sum().reset_index()  # one row per purchase day
    before = value[value["day"] <= cut].sort_values(["customer_id", "day"])
    g = before.groupby("customer_id")
    out = pd.DataFrame({"first": g["day"].min(), "last": g["day"].max(), "n": g.size(),
                        "total": g["amount"].sum(), "first_value": g["amount"].first()})
    out["frequency"] = out["n"] - 1
    out["recency"] = (out["last"] - out["first"]).dt.days / 7.0
    out["T"] = (cut - out["first"]).dt.days / 7.0
    out["monetary_value"] = np.where(out["n"] > 1, (out["total"] - out["first_value"]) / (out["n"] - 1).clip(lower=1),
                                     0.0)
    out["revenue"] = tx[tx["day"] <= cut].groupby("customer_id")["amount"].sum().reindex(out.index)
    if cal is not None:
        held = value[value["day"] > cal]
        out["frequency_holdout"] = held.groupby("customer_id").size().reindex(out.index).fillna(0)
        out["duration_holdout"] = (end - cal).days / 7.0
    return out


# --------------------------------------------------------------------------- sections
def overview(d: dict) -> dict:
    tx, end = d["tx"], d["end"]
    summ = summary_by_hand(tx, end)
    return {
        "n_customers": Truth(tx["customer_id"].nunique()),
        "n_purchases": Truth(int(summ["n"].sum())),
        "revenue_total": Truth(float(tx["amount"].sum())),
        "rows_dropped": Truth(int(tx.duplicated(["order_id", "customer_id", "timestamp", "amount"]).sum())),
    }, summ


def _quintile(values) -> np.ndarray:
    """1 + floor(5 (rank - 1) / n), ties sharing the lowest rank (scores of the RFM literature)."""
    r = pd.Series(np.asarray(values, float)).rank(method="min").to_numpy()
    return (1 + np.floor(5 * (r - 1) / len(r))).astype(int)


def segments(d: dict, summ: pd.DataFrame) -> dict:
    from cxlab.segmentation import RFM_GRID  # the named-segment grid is a definition (Hughes 1994), not a computation

    end = d["end"]
    days_since = (end - summ["last"]).dt.days.to_numpy(float)
    R, F, M = _quintile(-days_since), _quintile(summ["n"]), _quintile(summ["revenue"])
    FM = np.ceil((F + M) / 2).astype(int)
    names = np.array([RFM_GRID.loc[r, fm] for r, fm in zip(R, FM)])
    revenue = summ["revenue"].to_numpy(float)
    champions = names == "Champions"
    at_risk = np.isin(names, ["At risk", "Can't lose them"])

    # ABC: the customers who, in order of revenue, are reached before 80 % of the positive revenue is
    rev = summ["revenue"].sort_index().sort_values(ascending=False, kind="stable")
    share = rev.clip(lower=0) / rev[rev > 0].sum()
    before = share.cumsum() - share
    a = (rev > 0) & (before < 0.8 - 1e-12)

    # XYZ: monthly counts of purchase rows, zero-filled from the first month; CV (population sd) <= 0.5
    tx = d["tx"][d["tx"]["customer_id"].isin(summ.index)]
    month = tx["timestamp"].dt.year * 12 + tx["timestamp"].dt.month - 1
    last = end.year * 12 + end.month - 1
    first_month = month.groupby(tx["customer_id"]).min()
    counts = (tx["amount"] >= 0).groupby([tx["customer_id"], month]).sum()
    n_months = (last - first_month + 1).astype(float)
    ids = counts.index.get_level_values(0)
    mean = counts.groupby(ids).sum().reindex(first_month.index).fillna(0) / n_months
    square = (counts**2).groupby(ids).sum().reindex(first_month.index).fillna(0) / n_months
    sd = np.sqrt(np.maximum(square - mean**2, 0))
    x = int(((n_months >= 3) & (mean > 0) & (sd <= 0.5 * mean)).sum())

    return {
        "repeat_purchase_rate": Truth(float((summ["n"] >= 2).mean())),
        "champions_share": Truth(float(champions.mean())),
        "champions_revenue_share": Truth(float(revenue[champions].sum() / revenue.sum())),
        "at_risk_revenue_share": Truth(float(revenue[at_risk].sum() / revenue.sum())),
        "a_class_customer_share": Truth(float(a.sum() / len(summ))),
        "a_class_revenue_share": Truth(float(share[a].sum())),
        "x_class_share": Truth(x / len(first_month)),
    }


def durations_by_hand(d: dict, threshold: float) -> pd.DataFrame:
    buys = d["tx"][d["tx"]["amount"] >= 0]
    g = buys.groupby("customer_id")["day"]
    f, last = g.min(), g.max()
    gap = (d["end"] - last).dt.days
    event = gap > threshold
    duration = np.where(event, (last - f).dt.days, (d["end"] - f).dt.days).astype(float)
    return pd.DataFrame({"start": f, "duration": duration, "event": event})


def _first_answers(surveys: pd.DataFrame) -> pd.DataFrame:
    first = surveys.reset_index(drop=True).sort_values("date", kind="stable").groupby("customer_id").head(1)
    first = first.set_index("customer_id")
    first["group"] = np.where(first["nps"] >= 9, "promoter", np.where(first["nps"] >= 7, "passive", "detractor"))
    return first


def _membership_long(dur: pd.DataFrame, join: pd.Series) -> pd.DataFrame:
    """Andersen-Gill rows: follow-up split at the join date (fractional days since the first purchase)."""
    j = ((join.reindex(dur.index) - dur["start"]).dt.total_seconds() / 86400.0).to_numpy()
    T = np.where(dur["duration"].to_numpy(float) > 0, dur["duration"].to_numpy(float), 1e-6)
    e = dur["event"].to_numpy(bool)
    rows = []
    for cid, jj, tt, ee in zip(dur.index, j, T, e):
        if np.isnan(jj) or jj >= tt:
            rows.append((cid, 0.0, tt, 0.0, ee))
        elif jj <= 0:
            rows.append((cid, 0.0, tt, 1.0, ee))
        else:
            rows.append((cid, 0.0, jj, 0.0, False))
            rows.append((cid, jj, tt, 1.0, ee))
    return pd.DataFrame(rows, columns=["customer_id", "start", "stop", "member", "event"])


def _tv_cox(long: pd.DataFrame, extra: pd.DataFrame | None = None):
    import warnings

    from lifelines import CoxTimeVaryingFitter

    frame = long.copy()
    if extra is not None:
        frame = frame.join(extra, on="customer_id")
    frame["event"] = frame["event"].astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxTimeVaryingFitter().fit(frame, id_col="customer_id", start_col="start", stop_col="stop",
                                         event_col="event")
    row = fit.summary.loc["member"]
    b, se = float(row["coef"]), float(row["se(coef)"])
    z = stats.norm.ppf(0.975)
    return math.exp(b), (math.exp(b - z * se), math.exp(b + z * se))


def retention(d: dict, summ: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    from lifelines import KaplanMeierFitter
    from statsmodels.stats.proportion import proportion_confint

    end, threshold = d["end"], float(d["p"]["churn_threshold_days"])
    buys = d["tx"][d["tx"]["amount"] >= 0]
    months = buys.assign(m=buys["timestamp"].dt.to_period("M"))[["customer_id", "m"]].drop_duplicates()
    cohort = months.groupby("customer_id")["m"].min()
    # cohorts whose next calendar month has ended by the window's end
    complete = cohort[(cohort + 1).map(lambda p: p.end_time.normalize() <= end)]
    active = months.assign(c=months["customer_id"].map(cohort))
    again = active[(active["m"] == active["c"] + 1) & active["customer_id"].isin(complete.index)]
    k, n = again["customer_id"].nunique(), len(complete)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")

    dur = durations_by_hand(d, threshold)
    settled = summ["first"] < end - pd.Timedelta(days=threshold)
    repeat = dur.loc[summ.index[summ["n"] > 1]]
    km = KaplanMeierFitter().fit(repeat["duration"], repeat["event"])

    # time-varying Cox: membership from the join date, adjusted for channel and the first NPS group
    cust = d["cust"].drop_duplicates("customer_id").set_index("customer_id")
    join = cust["loyalty_join_date"].where(cust["loyalty_join_date"] < end + pd.Timedelta(days=1))
    first = _first_answers(d["surveys"])
    covs = pd.DataFrame(index=cust.index)
    channel = pd.get_dummies(cust["acquisition_channel"], prefix="ch", drop_first=True, dtype=float)
    nps = first["group"].reindex(cust.index).fillna("not surveyed")
    nps_dummies = pd.get_dummies(nps, prefix="nps", dtype=float).drop(columns="nps_not surveyed")
    covs = covs.join(channel).join(nps_dummies)
    hr, ci = _tv_cox(_membership_long(dur, join), covs)
    return {
        "retention_month_1": Truth(k / n, ci=(lo, hi), ci_rel=SUM),
        "churn_after_days": Truth(threshold),
        "churned_share": Truth(float(dur["event"].mean())),
        "one_time_buyer_share": Truth(float((summ.loc[settled, "n"] == 1).mean())),
        "median_lifetime_days_repeat": Truth(float(km.median_survival_time_)),
        "churn_hazard_ratio_loyalty_member": Truth(hr, rel=MLE, ci=ci, ci_rel=MLE),
    }, dur


def ltv(d: dict, summ: pd.DataFrame) -> dict:
    from cxlab.ltv import BGNBD, GammaGamma

    tx, end, p = d["tx"], d["end"], d["p"]
    margin_rate = float(tx["margin"].sum() / tx["amount"].sum())
    out = {}

    # cohort value: cumulative revenue x margin per acquired customer; month 12 = period 11, complete cohorts only
    buys = tx[tx["amount"] >= 0]
    cohort = buys.groupby("customer_id")["timestamp"].min().dt.to_period("M")
    size = cohort.value_counts()
    t = tx.assign(c=tx["customer_id"].map(cohort), m=tx["timestamp"].dt.to_period("M"))
    t = t[t["c"].notna()]
    t["k"] = [max((m - c).n, 0) for m, c in zip(t["m"], t["c"])]
    rev = t.groupby(["c", "k"])["amount"].sum()
    last_month = pd.Period(end, "M") if (end + pd.Timedelta(days=1)).month != end.month else pd.Period(end, "M") - 1
    per_cohort = {}
    for c, n in size.items():
        n_months = (last_month - c).n + 1
        cum = np.cumsum([rev.get((c, k), 0.0) for k in range(n_months)]) * margin_rate / n
        per_cohort[c] = cum
    old = [c for c, cum in per_cohort.items() if len(cum) >= 12]
    out["ltv_12m_per_customer"] = Truth(sum(per_cohort[c][11] * size[c] for c in old) / sum(size[c] for c in old))

    cost = d["cust"].set_index("customer_id")["acquisition_cost"]
    cac = cost.reindex(cohort.index).groupby(cohort.to_numpy()).mean()
    paid = [int(np.argmax(per_cohort[c] >= cac[c])) if (per_cohort[c] >= cac[c]).any() else np.nan for c in per_cohort]
    out["payback_month"] = Truth(int(np.nanmedian(paid)) + 1)

    # predicted value: BG/NBD + Gamma-Gamma on the summary built here, discounted month by month
    bg = BGNBD().fit(summ)
    gg = GammaGamma().fit(summ)
    monthly = (1 + float(p["discount_rate"])) ** (1 / 12) - 1
    h = int(p["horizon_months"])
    cum = np.vstack([np.zeros(len(summ))] + [bg.expected_purchases(m * WEEKS_PER_MONTH, summ) for m in range(1, h + 1)])
    discounted = ((1 + monthly) ** -np.arange(1, h + 1.0)) @ np.diff(cum, axis=0)
    pp, qq, vv = gg.params_["p"], gg.params_["q"], gg.params_["gamma"]
    x, mx = summ["frequency"].to_numpy(float), summ["monetary_value"].to_numpy(float)
    # E[M | x, m] = (q - 1)/(p x + q - 1) * v p/(q - 1) + p x/(p x + q - 1) * m   (Fader, Hardie & Lee 2005, eq. 5)
    spend = (qq - 1) / (pp * x + qq - 1) * (vv * pp / (qq - 1)) + (pp * x) / (pp * x + qq - 1) * mx
    clv = pd.Series(margin_rate * spend * discounted, index=summ.index)
    out["clv_per_customer"] = Truth(float(clv.mean()), rel=MLE)
    total = clv.sum()
    out["clv_top_decile_share"] = Truth(float(clv.nlargest(int(round(0.1 * len(clv)))).sum() / total), rel=MLE)
    # P(alive | x, t_x, T) of the BG/NBD (Fader, Hardie & Lee 2005, eq. 11): 1 for customers without repeats
    r, alpha, a, b = (bg.params_[k] for k in ("r", "alpha", "a", "b"))
    t_x, T = summ["recency"].to_numpy(float), summ["T"].to_numpy(float)
    odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    alive = pd.Series(1 / (1 + odds), index=summ.index)
    if_alive = clv / np.clip(alive, 1e-6, None)
    at_risk = (if_alive >= if_alive.quantile(0.8)) & (alive < 0.5)
    out["customers_at_risk_valuable"] = Truth(int(at_risk.sum()))
    out["customers_at_risk_value"] = Truth(float(if_alive[at_risk].sum()), rel=MLE)

    # holdout: a model fitted on the calibration period, its predicted repeat purchases against the actual ones
    calib = summary_by_hand(tx, end, d["cal"])
    bg_cal = BGNBD().fit(calib)
    predicted = bg_cal.expected_purchases(float(calib["duration_holdout"].iloc[0]), calib).sum()
    actual = calib["frequency_holdout"].sum()
    out["clv_holdout_error"] = Truth(float((predicted - actual) / actual), rel=MLE)
    out.update(members(d, summ))
    return out


def members(d: dict, summ: pd.DataFrame) -> dict:
    """Membership's multipliers: cxlab's Pareto/NBD with membership as a time-varying covariate, fitted directly
    (selection terms: joiners' own purchase rate and log tenure at joining; channel as a static confounder)."""
    from cxlab.ltv import ParetoNBD
    from cxlab.ltv.dyncov import TimeVaryingCovariates, membership_covariates

    cust, end = d["cust"].copy(), d["end"]
    cust["customer_id"] = cust["customer_id"].astype(str)
    join = cust.set_index("customer_id")["loyalty_join_date"].dt.normalize()
    joins = join.notna() & (join <= end)
    panel = membership_covariates(cust)
    panel["joins"] = joins.reindex(panel["customer_id"]).fillna(False).to_numpy(float)
    tenure = ((join[joins] - summ["first"].reindex(join[joins].index)).dt.days / 7.0).clip(lower=0)
    panel["join_tenure"] = np.log1p(tenure.reindex(panel["customer_id"]).fillna(0.0).to_numpy(float))
    channel = cust.set_index("customer_id")["acquisition_channel"].astype(str)
    for level in channel.value_counts().index[1:]:
        panel[f"ch={level}"] = (channel == level).reindex(panel["customer_id"]).to_numpy(float)
    extra = [c for c in panel.columns if c.startswith("ch=")]
    tvc = TimeVaryingCovariates(panel, transactions=d["tx"][["customer_id", "timestamp", "amount"]], unit="W",
                                alive_at=join[joins])
    data = summ[["frequency", "recency", "T"]].assign(first_purchase=summ["first"])
    model = ParetoNBD().fit(data, trans_covariates=["member", "joins", "join_tenure", *extra],
                            life_covariates=["member", *extra], time_varying=tvc)
    z = stats.norm.ppf(0.975)
    out = {}
    for metric, name, sign in (("member_purchase_multiplier", "trans.member", 1.0),
                               ("member_lifetime_multiplier", "life.member", -1.0)):
        g, se = float(model.params_[name]), float(model.standard_errors_[name])
        lo, hi = sorted((math.exp(sign * (g - z * se)), math.exp(sign * (g + z * se))))
        out[metric] = Truth(math.exp(sign * g), rel=1e-4, ci=(lo, hi), ci_rel=1e-3)
    return out


def loyalty(d: dict, dur: pd.DataFrame) -> dict:
    """The doubly robust proportional pre/post DiD written out: a statsmodels logit for joining on the history
    before the pre window, a multiplicative growth model of the controls (Poisson pseudo-likelihood, scipy),
    weights e/(1-e); its standard error from the stacked estimating equations (M-estimation sandwich with a
    numerical Jacobian), so every nuisance fit's uncertainty is in it."""
    import statsmodels.api as sm

    from cxlab.data import customer_period_panel
    from cxlab.uplift import member_panel, prepost_windows

    p, end = d["p"], d["end"]
    panel = customer_period_panel(d["tx"][["customer_id", "timestamp", "amount"]], period="M", end=end)
    design = prepost_windows(member_panel(panel, d["cust"]), pre=6, post=6, active_within=1, seed=0)
    frame = design.frame
    D = design.treated.astype(bool)
    X = pd.get_dummies(frame[design.history_columns], drop_first=True, dtype=float)
    X = sm.add_constant(X.loc[:, X.std() > 0]).to_numpy(float)
    n, k = X.shape
    y_post, y_pre = frame["spend_post"].to_numpy(float), frame["spend_pre"].to_numpy(float)

    beta = sm.Logit(D.astype(float), X).fit(disp=0, method="newton", tol=1e-12, maxiter=200).params
    c = ~D
    Xs = X[c][:, 1:]
    mu, sd = Xs.mean(axis=0), Xs.std(axis=0)
    Z = np.column_stack([np.ones(c.sum()), (Xs - mu) / sd])

    def negq(b):
        eta = Z @ b
        return -(y_post[c] @ eta - y_pre[c] @ np.exp(eta)), -(Z.T @ (y_post[c] - y_pre[c] * np.exp(eta)))

    def hess(b):
        return (Z * (y_pre[c] * np.exp(Z @ b))[:, None]).T @ Z

    b = optimize.minimize(negq, np.r_[math.log(y_post[c].sum() / y_pre[c].sum()), np.zeros(k - 1)], jac=True,
                          hess=hess, method="trust-exact", options={"gtol": 1e-10}).x
    theta = np.r_[b[0] - np.sum(b[1:] * mu / sd), b[1:] / sd]  # the ratio model on X's own scale

    def moments(par):
        """Per-row estimating functions of (logit, ratio model, members' and weighted controls' mean of u)."""
        bt, th, eta_t, eta_c = par[:k], par[k:2 * k], par[2 * k], par[2 * k + 1]
        e = 1 / (1 + np.exp(-X @ bt))
        u = y_post - y_pre * np.exp(X @ th)
        w = np.where(c, e / (1 - e), 0.0)
        return np.column_stack([X * (D - e)[:, None], X * (c * (y_post - y_pre * np.exp(X @ th)))[:, None],
                                D * (u - eta_t), w * (u - eta_c)])

    u = y_post - y_pre * np.exp(X @ theta)
    e = 1 / (1 + np.exp(-X @ beta))
    w = np.where(c, e / (1 - e), 0.0)
    par = np.r_[beta, theta, u[D].mean(), np.sum(w * u) / w.sum()]
    att = par[-2] - par[-1]
    A = np.empty((len(par), len(par)))
    for j in range(len(par)):
        h = 1e-6 * max(1.0, abs(par[j]))
        up, down = par.copy(), par.copy()
        up[j] += h
        down[j] -= h
        A[:, j] = (moments(up).mean(axis=0) - moments(down).mean(axis=0)) / (2 * h)
    grad = np.zeros(len(par))
    grad[-2:] = (1.0, -1.0)
    influence = -moments(par) @ np.linalg.solve(A.T, grad)  # IF of the parameters: -A^{-1} psi_i
    se = float(np.std(influence, ddof=1) / math.sqrt(n))
    z = stats.norm.ppf(0.975)
    member_post = y_post[D].mean()
    baseline = member_post - att
    out = {
        "loyalty_uplift_month": Truth(att, rel=1e-5, ci=(att - z * se, att + z * se), ci_rel=1e-5),
        "loyalty_uplift_pct": Truth(att / baseline, rel=1e-5, ci=((att - z * se) / baseline, (att + z * se) / baseline),
                                    ci_rel=1e-5),
        "loyalty_naive_gap_month": Truth(float(member_post - y_post[~D].mean())),
        "_se": Truth(se, rel=1e-5),
    }
    # robustness value (Cinelli & Hazlett 2020, eq. 19) from the headline's t statistic and its residual df
    f = abs(att / se) / math.sqrt(n - k - 1)
    out["loyalty_robustness_value"] = Truth(0.5 * (math.sqrt(f**4 + 4 * f**2) - f**2), rel=1e-5)

    # economics over the horizon, for all members of the programme (joined in the window)
    cust = d["cust"]
    members_n = int((cust["loyalty_join_date"].notna() & (cust["loyalty_join_date"] < end + pd.Timedelta(days=1))).sum())
    h, margin_rate = int(p["horizon_months"]), float(d["tx"]["margin"].sum() / d["tx"]["amount"].sum())
    r, brk, fixed = float(p["reward_rate"]), float(p["breakage"]), float(p["program_cost"])

    def net(delta):
        scale = members_n * h
        rewards = r * delta * scale + r * baseline * scale
        cost = rewards * (1 - brk) + fixed / 12 * h
        return margin_rate * delta * scale - cost, cost

    value, cost = net(att)
    # the net value is linear in the uplift: its interval and the probability that it is positive are normal;
    # the report draws 4,000 normal uplifts instead (Monte Carlo error: a few per cent of the width, 0.02 in P)
    slope = net(att + 1.0)[0] - value
    lo, hi = sorted((net(att - z * se)[0], net(att + z * se)[0]))
    out["loyalty_net_value"] = Truth(value, rel=1e-5, ci=(lo, hi), ci_rel=None)
    out["_net_value_ci"] = Truth(0.0, ci=(lo, hi), abs=MONTE_CARLO * (hi - lo))
    out["loyalty_roi"] = Truth(value / cost, rel=1e-5)
    out["loyalty_probability_net_positive"] = Truth(float(stats.norm.sf(-value / (abs(slope) * se))), abs=0.02)

    # churn hazard ratio of membership, without covariates
    cust_i = cust.drop_duplicates("customer_id").set_index("customer_id")
    hr, ci = _tv_cox(_membership_long(dur, cust_i["loyalty_join_date"]))
    out["loyalty_churn_hr"] = Truth(hr, rel=MLE, ci=ci, ci_rel=MLE)
    return out


def survey(d: dict, dur: pd.DataFrame, summ: pd.DataFrame) -> dict:
    import warnings

    from lifelines import CoxPHFitter, KaplanMeierFitter
    from statsmodels.stats.proportion import proportion_confint

    s = d["surveys"]
    z = stats.norm.ppf(0.975)
    n = len(s)
    pro, det = (s["nps"] >= 9).mean(), (s["nps"] <= 6).mean()
    nps = pro - det
    se = math.sqrt((pro + det - nps**2) / n)  # variance of the mean of +1/0/-1 answers (trinomial)
    out = {"nps": Truth(100 * nps, ci=(100 * (nps - z * se), 100 * (nps + z * se)), ci_rel=SUM),
           "survey_answers": Truth(n)}
    for metric, col, hit in (("csat_top2_share", "csat", lambda v: v >= 4), ("ces_low_effort_share", "ces", lambda v: v <= 3)):
        v = s[col].dropna()
        k = int(hit(v).sum())
        out[metric] = Truth(k / len(v), ci=proportion_confint(k, len(v), method="wilson"), ci_rel=SUM)

    # followed from the first answer: Cox on tenure with delayed entry, detractors and passives against promoters
    first = _first_answers(s)
    df = first.join(dur, how="inner")
    df["entry"] = ((df["date"] - df["start"]) / pd.Timedelta(days=1)).clip(lower=0)
    df = df[df["entry"] < df["duration"]]
    df["time"] = df["duration"] - df["entry"]
    channel = d["cust"].set_index("customer_id")["acquisition_channel"]
    cox = pd.DataFrame({"duration": df["duration"], "event": df["event"].astype(int), "entry": df["entry"],
                        "detractor": (df["group"] == "detractor").astype(float),
                        "passive": (df["group"] == "passive").astype(float)})
    cox = cox.join(pd.get_dummies(channel.reindex(df.index), prefix="ch", drop_first=True, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxPHFitter().fit(cox, duration_col="duration", event_col="event", entry_col="entry")
    b, se_b = float(fit.params_["detractor"]), float(fit.standard_errors_["detractor"])
    out["detractor_churn_hazard_ratio"] = Truth(math.exp(b), rel=MLE,
                                                ci=(math.exp(b - z * se_b), math.exp(b + z * se_b)), ci_rel=MLE)

    # revenue at stake: active detractors' annual revenue x their excess churn probability over the horizon
    horizon = int(d["p"]["horizon_months"]) * DAYS_PER_MONTH
    churn = {}
    for g in ("detractor", "promoter"):
        sub = df[df["group"] == g]
        km = KaplanMeierFitter().fit(sub["time"], sub["event"])
        surv = float(km.survival_function_at_times(horizon).iloc[0])
        et = km.event_table[km.event_table.index <= horizon]
        dd, nn = et["observed"].to_numpy(float), et["at_risk"].to_numpy(float)
        var = surv**2 * np.sum(np.where(nn > dd, dd / (nn * (nn - dd)), 0.0))  # Greenwood
        churn[g] = (1 - surv, var)
    dfv = df.join(summ[["revenue", "T"]])
    dfv["years"] = np.maximum(dfv["T"] * 7.0, 1.0) / DAYS_PER_YEAR
    active = dfv[(dfv["group"] == "detractor") & ~dfv["event"].astype(bool)]
    annual = active["revenue"].sum() / active["years"].sum() * len(active)
    excess = churn["detractor"][0] - churn["promoter"][0]
    se_x = math.sqrt(churn["detractor"][1] + churn["promoter"][1])
    out["detractor_revenue_at_stake"] = Truth(annual * excess, rel=1e-9,
                                              ci=(annual * (excess - z * se_x), annual * (excess + z * se_x)),
                                              ci_rel=1e-9)
    return out


# --------------------------------------------------------------------------- the four newer sections
#: Monte Carlo tolerance of the bootstrap intervals (300 customer-cluster draws, against an independent
#: bootstrap of 300 draws with another seed): the bounds of two such runs differ by a few hundredths of
#: the interval's width; 0.25 of the width is far beyond that and far below the effect of a planted bug.
BOOTSTRAP = 0.25
#: The fixed-effects Poisson by scipy's BFGS against cxlab's Newton iterations: both stop on a gradient
#: test; the estimate and its delta-method economics agree to about 1e-9 relative; 1e-7 is stated.
FE_POISSON = 1e-7


def _margin_rate(d: dict) -> float:
    return float(d["tx"]["margin"].sum() / d["tx"]["amount"].sum())


def customer_equity_truth(d: dict, summ: pd.DataFrame, dur: pd.DataFrame) -> dict:
    """Revenue lost to churn by calendar month, and Gupta, Lehmann & Stuart's customer equity by its sums."""
    z = stats.norm.ppf(0.975)
    m_rate, end = _margin_rate(d), d["end"]
    threshold = float(d["p"]["churn_threshold_days"])
    revenue = summ["revenue"].reindex(dur.index).fillna(0.0)
    # losses: the month each churned customer's last purchase falls in, complete once `threshold` days have passed
    lost_day = dur["start"] + pd.to_timedelta(dur["duration"], unit="D")
    monthly = revenue / np.maximum(dur["duration"] / DAYS_PER_MONTH, 1.0)
    complete_until = end - pd.Timedelta(days=threshold)
    last_month = (complete_until + pd.Timedelta(days=1)).to_period("M") - 1
    months = pd.period_range(d["tx"]["timestamp"].min().to_period("M"), last_month, freq="M")[-12:]
    lost = pd.Series(monthly[dur["event"]].to_numpy(), index=lost_day[dur["event"]].dt.to_period("M").to_numpy())
    per_month = lost.groupby(level=0).sum().reindex(months, fill_value=0.0)
    out = {"revenue_lost_to_churn_per_month": Truth(float(per_month.mean())),
           "margin_lost_to_churn_per_month": Truth(float(per_month.mean()) * m_rate)}

    # retention: one constant churn rate per active month (exponential MLE), sandwich SE of the ratio D / T
    t = dur["duration"].to_numpy(float) / DAYS_PER_MONTH
    e = dur["event"].to_numpy(float)
    lam = e.sum() / t.sum()
    se_log = math.sqrt(np.sum((e - lam * t) ** 2)) / t.sum() / lam
    r = math.exp(-12 * lam)
    r_ci = (math.exp(-12 * lam * math.exp(z * se_log)), math.exp(-12 * lam * math.exp(-z * se_log)))
    out["annual_retention_rate"] = Truth(r, ci=r_ci, ci_rel=SUM)

    # the inputs, measured as the module docstring says
    first = summ["first_value"].reindex(dur.index).fillna(0.0)
    margin = m_rate * float((revenue - first).sum()) / t.sum()
    since = end + pd.Timedelta(days=1) - pd.DateOffset(months=12)
    span = min(12.0, ((end - dur["start"].min()).days + 1) / DAYS_PER_MONTH)
    recent = dur.index[dur["start"] >= since]
    n_new = len(recent) / span
    m0 = m_rate * float(first.loc[recent].mean())
    cost = float(d["cust"].drop_duplicates("customer_id").set_index("customer_id")["acquisition_cost"]
                 .reindex(recent).dropna().mean())
    N0 = float((~dur["event"]).sum())
    H, i = int(d["p"]["horizon_months"]), float(d["p"]["discount_rate"])

    def equity(ret: float) -> float:
        """Month by month: today's customers, then one cohort acquired at the end of every month k = 1..H."""
        rho, delta = ret ** (1 / 12), (1 + i) ** (-1 / 12)
        value = sum(margin * N0 * rho**s * delta**s for s in range(1, H + 1))
        for k in range(1, H + 1):
            value += n_new * delta**k * (m0 - cost)
            value += sum(n_new * margin * rho**s * delta**(k + s) for s in range(1, H - k + 1))
        return value

    ce = equity(r)
    out["customer_equity"] = Truth(ce, rel=1e-9, ci=(equity(r_ci[0]), equity(r_ci[1])), ci_rel=1e-9)
    point = equity(r + 0.01) - ce
    grid = [equity(x + 0.01) - equity(x) for x in np.linspace(r_ci[0], r_ci[1], 61)]
    out["retention_point_value"] = Truth(point, rel=1e-7, ci=(min(grid), max(grid)), ci_rel=1e-7)
    return out


def reactivation_truth(d: dict, summ: pd.DataFrame) -> dict:
    """Sleepers at the window's end and the winback campaign by CUPED (statsmodels OLS for theta)."""
    import statsmodels.api as sm

    tx, end, p = d["tx"], d["end"], d["p"]
    sleeping_days = float(p.get("sleeping_days") or p["churn_threshold_days"])
    window = int(p.get("campaign_window_days") or 60)
    m_rate, H = _margin_rate(d), int(p["horizon_months"])
    monthly_i = (1 + float(p["discount_rate"])) ** (1 / 12) - 1
    buys = tx[tx["amount"] > 0]
    anchor = end + pd.Timedelta(days=1)
    last = buys.groupby("customer_id")["timestamp"].max().reindex(summ.index)
    asleep = (anchor - last).dt.total_seconds() / 86400.0 >= sleeping_days
    sleepers = last[asleep]
    t = tx[tx["customer_id"].isin(sleepers.index)]
    lp = t["customer_id"].map(sleepers)
    active = t[(t["timestamp"] > lp - pd.Timedelta(days=365)) & (t["timestamp"] <= lp)]
    active_rev = active.groupby("customer_id")["amount"].sum().reindex(sleepers.index, fill_value=0.0)
    years = sum((1 + monthly_i) ** -k for k in range(1, H + 1)) / 12
    out = {"sleeping_customers": Truth(int(asleep.sum())), "sleeping_share": Truth(float(asleep.mean())),
           "sleeping_value_if_reactivated": Truth(float((m_rate * active_rev).clip(lower=0).sum() * years))}

    camp = pd.read_csv(d["folder"] / "campaigns.csv", parse_dates=["sent_at"])
    camp = camp[camp["customer_id"].isin(summ.index)
                & (camp["sent_at"] + pd.Timedelta(days=window) <= anchor)]
    name = camp["campaign"].value_counts().index[0]
    c = camp[camp["campaign"] == name].reset_index(drop=True)
    rows = []
    for cid, sent in zip(c["customer_id"], c["sent_at"]):
        mine = tx[(tx["customer_id"] == cid)]
        before = mine[mine["timestamp"] < sent]
        post = mine[(mine["timestamp"] > sent) & (mine["timestamp"] <= sent + pd.Timedelta(days=window))]
        pre = before[before["timestamp"] >= sent - pd.Timedelta(days=365)]["amount"].sum()
        lastb = before.loc[before["amount"] > 0, "timestamp"].max()
        asleep_days = (sent - lastb).total_seconds() / 86400.0 if pd.notna(lastb) else np.nan
        rows.append({"returned": float((post["amount"] > 0).any()), "revenue": post["amount"].sum(),
                     "pre": pre, "log_asleep": math.log(max(asleep_days, 1.0)) if np.isfinite(asleep_days) else 0.0})
    f = pd.DataFrame(rows)
    f["margin"] = f["revenue"] * m_rate
    treated = (c["group"].str.lower() == "treatment").to_numpy()
    X = sm.add_constant(f[["pre", "log_asleep"]].to_numpy(float))
    z = stats.norm.ppf(0.975)

    def cuped(y: np.ndarray) -> tuple[float, float]:
        theta = sm.OLS(y, X).fit().params[1:]          # the pooled slopes on the pre-experiment covariates
        xc = f[["pre", "log_asleep"]].to_numpy(float)
        adj = y - (xc - xc.mean(axis=0)) @ theta
        a, b = adj[treated], adj[~treated]
        return a.mean() - b.mean(), math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))

    est, se = cuped(f["returned"].to_numpy(float))
    out["campaign_incremental_return_rate"] = Truth(est, ci=(est - z * se, est + z * se), ci_rel=1e-9)
    est, se = cuped(f["margin"].to_numpy(float))
    n1 = int(treated.sum())
    inc = (est * n1, (est - z * se) * n1, (est + z * se) * n1)
    out["campaign_incremental_margin"] = Truth(inc[0], ci=inc[1:], ci_rel=1e-9)
    cost = float(c.loc[treated, "cost"].sum())
    out["campaign_roi"] = Truth((inc[0] - cost) / cost, ci=((inc[1] - cost) / cost, (inc[2] - cost) / cost),
                                ci_rel=1e-9)
    return out


def discounts_truth(d: dict) -> dict:
    """Discount shares by pandas; the promotion calendar by Monday weeks; the within-customer response by the
    conditional likelihood on the customer x band sums of the weekly panel (periods strictly between a
    customer's first and last purchase week), clustered sandwich; the economics by the delta method."""
    tx = d["tx"]
    buys = tx[tx["amount"] >= 0].copy()
    buys["discount"] = buys["discount"].fillna(0.0)
    buys["week"] = buys["timestamp"].dt.to_period("W-SUN")          # weeks from Monday
    cal = buys.groupby("week").agg(spend=("amount", "sum"), disc=("discount", "sum"))
    depth = cal["disc"] / (cal["spend"] + cal["disc"])
    band = sum((100 * depth >= edge).astype(int) for edge in (0.5, 7.5, 15.0))
    buys["band"] = buys["week"].map(band)
    per_cust = buys.groupby("customer_id").agg(n=("amount", "size"), k=("discount", lambda v: (v > 0).sum()))
    out = {"discount_purchase_share": Truth(float((buys["discount"] > 0).mean())),
           "discount_total": Truth(float(buys["discount"].sum())),
           "discount_dependent_share": Truth(float(((per_cust["n"] >= 3) & (per_cust["k"] >= 0.5 * per_cust["n"])).mean()))}

    weeks = cal.index.sort_values()
    pos = pd.Series(np.arange(len(weeks)), index=weeks)
    span = buys.groupby("customer_id")["week"].agg(["min", "max"])
    cum = np.vstack([np.zeros(4, int), np.cumsum(np.eye(4, dtype=int)[band.reindex(weeks).to_numpy()], axis=0)])
    fp, lp = pos[span["min"]].to_numpy(), pos[span["max"]].to_numpy()
    expo = np.where((lp > fp)[:, None], cum[np.maximum(lp, fp + 1)] - cum[fp + 1], 0)   # weeks strictly between
    buys["w"] = buys["week"].map(pos)
    buys["fp"], buys["lp"] = buys["customer_id"].map(span["min"].map(pos)), buys["customer_id"].map(span["max"].map(pos))
    between = buys[(buys["w"] > buys["fp"]) & (buys["w"] < buys["lp"])]
    Y = between.groupby(["customer_id", "band"]).size().unstack(fill_value=0).reindex(
        index=span.index, columns=range(4), fill_value=0).to_numpy()
    W = expo
    bands = [b for b in range(4) if W[:, b].sum() > 0]
    W, Y = W[:, bands].astype(float), Y[:, bands].astype(float)
    n = Y.sum(axis=1)
    keep = (n > 0) & ((W > 0).sum(axis=1) > 1)              # the others carry no information on beta
    W, Y, n = W[keep], Y[keep], n[keep]

    # Hausman, Hall & Griliches' (1984) conditional likelihood: given a customer's n_i purchases, the bands get
    # them multinomially with p_ik = W_ik e^b_k / sum_j W_ij e^b_j; maximised by scipy's BFGS.
    # (statsmodels' ConditionalPoisson drops customers whose counts are equal across bands, although unequal
    # exposures make them informative; a GLM with one dummy per customer gives the same beta in minutes.)
    def probabilities(b: np.ndarray) -> np.ndarray:
        w = W * np.exp(np.r_[0.0, b])
        return w / w.sum(axis=1, keepdims=True)

    def minus_loglik(b: np.ndarray) -> tuple[float, np.ndarray]:
        p = probabilities(b)
        value = -float(np.sum(Y * np.log(np.where(Y > 0, p, 1.0))))
        return value, -(Y[:, 1:] - n[:, None] * p[:, 1:]).sum(axis=0)   # the multinomial score

    beta = optimize.minimize(minus_loglik, np.zeros(len(bands) - 1), jac=True, method="BFGS",
                             options={"gtol": 1e-8}).x
    # the sandwich clustered by customer, with the small-sample factor G / (G - 1) of clustered covariances
    P = probabilities(beta)[:, 1:]
    scores = Y[:, 1:] - n[:, None] * P
    info = np.diag((n[:, None] * P).sum(axis=0)) - (n[:, None] * P).T @ P
    inv = np.linalg.inv(info)
    G = len(n)
    cov = inv @ (scores.T @ scores) @ inv * G / (G - 1)
    z = stats.norm.ppf(0.975)
    se = np.sqrt(np.diag(cov))
    out["discount_incidence_multiplier_deepest"] = Truth(
        math.exp(beta[-1]), rel=FE_POISSON, ci=(math.exp(beta[-1] - z * se[-1]), math.exp(beta[-1] + z * se[-1])),
        ci_rel=FE_POISSON)

    later = buys[buys["w"] > buys["fp"]]
    Yk = later.groupby("band").size().reindex(bands[1:], fill_value=0).to_numpy(float)
    Sk = later.groupby("band")["amount"].sum().reindex(bands[1:], fill_value=0).to_numpy(float)
    Dk = later.groupby("band")["discount"].sum().reindex(bands[1:], fill_value=0).to_numpy(float)
    keep = np.exp(-beta)

    def with_ci(value: float, grad: np.ndarray) -> Truth:
        s = math.sqrt(grad @ cov @ grad)
        return Truth(value, rel=FE_POISSON, ci=(value - z * s, value + z * s), ci_rel=FE_POISSON)

    m = _margin_rate(d)
    given = buys["discount"].sum() - Dk.sum() + np.sum(Dk * keep)
    out["discount_incremental_purchases"] = with_ci(float(np.sum(Yk * (1 - keep))), Yk * keep)
    out["discount_margin_given_away"] = with_ci(float(given), -Dk * keep)
    out["discount_net_margin"] = with_ci(float(m * np.sum(Sk * (1 - keep)) - given), m * Sk * keep + Dk * keep)
    return out


def cx_drivers_truth(d: dict, survey_out: dict) -> dict:
    """Shapley R^2 by brute force over the 2^K subsets (numpy least squares), CSI from the shares, and the
    detractor scenario as share x margin x the survey section's revenue at stake (the same formula per group)."""
    from itertools import combinations

    s = d["surveys"]
    names = [c for c in s.columns if c.startswith("rating_")]
    a = s.dropna(subset=["nps", *names]).reset_index(drop=True)
    K = len(names)
    customers = a["customer_id"].to_numpy()

    def shapley(frame: pd.DataFrame) -> np.ndarray:
        """I_j = sum over subsets S of the others of |S|! (K-|S|-1)! / K! (R2(S + j) - R2(S))."""
        yy = frame["nps"].to_numpy(float)
        fits = {}
        for size in range(K + 1):
            for S in combinations(names, size):
                X = np.column_stack([np.ones(len(frame))] + [frame[c].to_numpy(float) for c in S])
                resid = yy - X @ np.linalg.lstsq(X, yy, rcond=None)[0]
                fits[S] = 1 - resid @ resid / np.sum((yy - yy.mean()) ** 2)
        out = np.zeros(K)
        for j, name in enumerate(names):
            others = [c for c in names if c != name]
            for size in range(K):
                weight = math.factorial(size) * math.factorial(K - size - 1) / math.factorial(K)
                for S in combinations(others, size):
                    with_j = tuple(c for c in names if c in S or c == name)   # subsets keyed in column order
                    out[j] += weight * (fits[with_j] - fits[S])
        return out

    def figures(frame: pd.DataFrame, top: int) -> np.ndarray:
        """R2, the Shapley share of attribute ``top``, CSI (shares x mean ratings on 0-100)."""
        imp = shapley(frame)
        share = imp / imp.sum()
        score = ((frame[names].to_numpy(float) - 1) / 4 * 100).mean(axis=0)
        return np.array([imp.sum(), share[top], share @ score])

    top = int(np.argmax(shapley(a)))  # the strongest driver of the sample; its share's spread over the draws
    point = figures(a, top)
    # customers resampled with all their answers, an own seed: 300 draws as the report, other random numbers
    rng = np.random.default_rng(20261205)
    ids = np.unique(customers)
    rows = {cid: np.flatnonzero(customers == cid) for cid in ids}
    boot = np.array([figures(a.iloc[np.concatenate([rows[c] for c in rng.choice(ids, len(ids))])], top)
                     for _ in range(300)])
    # R2 and the share: percentile interval shifted by the bootstrap bias (a sample R2 is biased upwards); CSI plain
    shift = np.r_[boot[:, :2].mean(axis=0) - point[:2], 0.0]
    low, high = np.quantile(boot, 0.025, axis=0) - shift, np.quantile(boot, 0.975, axis=0) - shift
    out = {name: Truth(float(point[j]), ci=(float(low[j]), float(high[j])), ci_rel=None)
           for j, name in enumerate(("cx_drivers_r2", "cx_top_driver_share", "csi"))}
    share_moved = float(d["p"].get("cx_shift_share") or 0.10)
    at_stake = survey_out["detractor_revenue_at_stake"]
    scale = share_moved * _margin_rate(d)
    out["cx_detractor_shift_value"] = Truth(scale * at_stake.value, rel=1e-9,
                                            ci=tuple(scale * b for b in at_stake.ci), ci_rel=1e-9)
    return out


def recompute(folder: Path) -> dict:
    d = load(folder)
    out, summ = overview(d)
    out.update(segments(d, summ))
    ret, dur = retention(d, summ)
    out.update(ret)
    out.update(ltv(d, summ))
    out.update(loyalty(d, dur))
    out.update(survey(d, dur, summ))
    out.update(customer_equity_truth(d, summ, dur))
    out.update(reactivation_truth(d, summ))
    out.update(discounts_truth(d))
    out.update(cx_drivers_truth(d, out))
    return out
