"""Tests of the synthetic data generators in ``cxlab.datasets``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import gammaln, hyp2f1

from cxlab.data.contract import TABLES
from cxlab.datasets import (
    main,
    make_demo_dataset,
    simulate_bgbb,
    simulate_bgnbd,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo():
    return make_demo_dataset(4000, seed=11, contractual=True)


@pytest.fixture(scope="module")
def large():
    return make_demo_dataset(30000, seed=3)


# ---------------------------------------------------------------- reproducibility and schema
def test_same_seed_gives_identical_tables():
    a = make_demo_dataset(600, seed=5)
    b = make_demo_dataset(600, seed=5)
    for name in ("transactions", "customers", "surveys"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_frame_equal(a.truth.att_by_month, b.truth.att_by_month)
    assert a.truth.att_revenue_12m == b.truth.att_revenue_12m


def test_different_seeds_differ():
    a = make_demo_dataset(600, seed=5)
    b = make_demo_dataset(600, seed=6)
    assert len(a.transactions) != len(b.transactions) or not np.allclose(
        a.transactions["amount"].to_numpy(), b.transactions["amount"].to_numpy()
    )
    assert not a.customers["signup_date"].equals(b.customers["signup_date"])


_KIND_CHECK = {
    "id": lambda s: s.dtype == object and s.map(type).eq(str).all(),
    "datetime": lambda s: s.dtype == "datetime64[ns]",
    "float": lambda s: s.dtype == np.float64,
    "int": lambda s: pd.api.types.is_integer_dtype(s.dtype),
    "category": lambda s: isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object,
}


@pytest.mark.parametrize("table", ["transactions", "customers", "surveys"])
def test_tables_follow_the_contract(demo, table):
    frame = getattr(demo, table)
    spec = TABLES[table]
    assert set(spec.required) <= set(frame.columns)
    for col in frame.columns:
        column = spec.column(col)  # KeyError = a column outside the contract
        assert _KIND_CHECK[column.kind](frame[col]), (table, col, frame[col].dtype)
        if column.min is not None:
            assert frame[col].min() >= column.min, (table, col)
        if column.max is not None:
            assert frame[col].max() <= column.max, (table, col)
    assert frame["customer_id"].str.fullmatch(r"C\d{6}").all()


def test_customer_table_layout(demo):
    c = demo.customers
    assert c["customer_id"].is_unique
    assert {"signup_date", "loyalty_join_date", "end_date", "acquisition_channel", "acquisition_cost"} <= set(c)
    assert set(c["acquisition_channel"].cat.categories) == {"organic", "search", "social", "referral", "partner"}
    # organic customers cost nothing; paid channels cost something
    cost = c.groupby("acquisition_channel", observed=True)["acquisition_cost"].mean()
    assert cost["organic"] == 0 and (cost.drop("organic") > 100).all()
    # signup_date is the first purchase
    first = demo.transactions.groupby("customer_id")["timestamp"].min()
    assert (first.reindex(c["customer_id"]).to_numpy() == c["signup_date"].to_numpy()).all()


def test_optional_features_switch_off():
    ds = make_demo_dataset(300, seed=1, loyalty=False, contractual=False, currency="USD")
    assert "loyalty_join_date" not in ds.customers and "end_date" not in ds.customers
    assert ds.truth.att_by_month.empty and np.isnan(ds.truth.att_revenue_12m)
    assert 5 < ds.transactions["amount"].median() < 100  # USD scale, not RUB


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="n_customers"):
        make_demo_dataset(0)
    with pytest.raises(ValueError, match="end"):
        make_demo_dataset(10, start="2024-01-01", end="2023-01-01")
    with pytest.raises(ValueError, match="loyalty_churn_hazard_ratio"):
        make_demo_dataset(10, loyalty_churn_hazard_ratio=-1)
    with pytest.raises(ValueError, match="T must be"):
        simulate_bgnbd(5, 1, 1, 1, 1, T=np.ones(3))


# ---------------------------------------------------------------- the structural model
def test_returns_margin_and_channels(large):
    tx = large.transactions
    share_returns = (tx["amount"] < 0).mean()
    assert 0.01 < share_returns < 0.03
    rate = tx["margin"] / tx["amount"]
    assert rate.between(0.2499, 0.3501).all()
    assert set(tx["channel"].cat.categories) == {"store", "web", "app"}
    online = tx["channel"] != "store"
    assert (tx.loc[online, "store"] == "online").all() and (tx.loc[~online, "store"] != "online").all()


def test_join_rate_increases_with_purchase_rate(large):
    lat = large.truth.latent
    quartile = pd.qcut(lat["lam"], 4, labels=False)
    joined = lat["join_time"].notna()
    share = joined.groupby(quartile).mean()
    assert share.is_monotonic_increasing
    assert share.iloc[-1] > 4 * share.iloc[0]


def test_naive_member_comparison_is_biased(large):
    """Members spend several times more per week than non-members, the true effect is only 1.15."""
    c = large.customers.set_index("customer_id")
    end = large.truth.end
    weeks = ((end - c["signup_date"]) / pd.Timedelta(days=7)).clip(lower=1)
    revenue = large.transactions.groupby("customer_id")["amount"].sum().reindex(c.index, fill_value=0)
    member = c["loyalty_join_date"].notna()
    ratio = (revenue[member].sum() / weeks[member].sum()) / (revenue[~member].sum() / weeks[~member].sum())
    assert ratio == pytest.approx(large.truth.naive_member_spend_ratio, rel=1e-4)
    assert ratio > 3 * large.truth.loyalty_frequency_multiplier


def test_true_effect_in_first_month_is_the_frequency_multiplier(large):
    """In month 0 after joining almost nobody dies, so realised/counterfactual ~ F."""
    m0 = large.truth.att_by_month.iloc[0]
    ratio = m0["transactions_realized"] / m0["transactions_counterfactual"]
    assert ratio == pytest.approx(large.truth.loyalty_frequency_multiplier, abs=0.04)
    att = large.truth.att_by_month
    assert (att["members"].diff().dropna() <= 0).all()
    assert large.truth.att_transactions_12m > 0 and large.truth.att_revenue_12m > 0
    # the 12-month effect is about (F - 1) x the counterfactual purchases, plus a retention gain
    first12 = att.iloc[:12]
    assert large.truth.att_transactions_12m > 0.5 * (0.15 * first12["transactions_counterfactual"].sum())


def test_member_dates_and_latent_consistency(demo):
    c = demo.customers.set_index("customer_id")
    lat = demo.truth.latent
    member = c["loyalty_join_date"].notna()
    assert (c.loc[member, "loyalty_join_date"] >= demo.truth.loyalty_program_start).all()
    assert (c.loc[member, "loyalty_join_date"] >= c.loc[member, "signup_date"]).all()
    churned = c["end_date"].notna()
    assert (c.loc[churned, "end_date"] <= demo.truth.end).all()
    assert (~lat.loc[churned[churned].index, "alive_at_end"]).all()
    # members joined while alive
    assert (c.loc[member & churned, "loyalty_join_date"] <= c.loc[member & churned, "end_date"]).all()


def test_observed_nps_group_equals_latent_group(demo):
    s = demo.surveys
    observed = pd.cut(s["nps"], [-1, 6, 8, 10], labels=["detractor", "passive", "promoter"]).astype(str)
    latent = demo.truth.latent.loc[s["customer_id"], "nps_group"].astype(str).to_numpy()
    assert (observed.to_numpy() == latent).all()


def test_channel_shares_match(large):
    share = large.customers["acquisition_channel"].value_counts(normalize=True)
    for ch, p in large.truth.channel_shares.items():
        assert share[ch] == pytest.approx(p, abs=0.01)


@pytest.mark.slow
def test_cox_recovers_loyalty_hazard_ratio():
    """CoxTimeVaryingFitter with membership as a time-varying covariate recovers HR_loyalty."""
    from lifelines import CoxTimeVaryingFitter

    ds = make_demo_dataset(20000, seed=0, contractual=True)
    c = ds.customers
    day = pd.Timedelta(days=1)
    stop = c["end_date"].fillna(ds.truth.end)
    base = pd.DataFrame({
        "id": np.arange(len(c)),
        # whole days: ties are handled by Efron's method and the fit is ~10x faster
        "dur": np.ceil(((stop - c["signup_date"]) / day).to_numpy()),
        "join": np.ceil(((c["loyalty_join_date"] - c["signup_date"]) / day).to_numpy()),
        "event": c["end_date"].notna().to_numpy(),
    })
    groups = pd.DataFrame({"channel": c["acquisition_channel"].astype(str),
                           "nps": ds.truth.latent["nps_group"].astype(str).to_numpy()})
    dummies = pd.get_dummies(groups, dtype=float).drop(columns=["channel_organic", "nps_promoter"])
    base = base.join(dummies)
    joined = base["join"].notna() & (base["join"] < base["dur"])
    pre = base.assign(start=0.0, stop=np.where(joined, base["join"], base["dur"]), member=0.0,
                      died=np.where(joined, False, base["event"]))
    post = base[joined].assign(start=base["join"][joined], stop=base["dur"][joined], member=1.0,
                               died=base["event"][joined])
    long = pd.concat([pre, post]).drop(columns=["dur", "join", "event"])
    long = long[long["stop"] > long["start"]]
    fit = CoxTimeVaryingFitter().fit(long, id_col="id", start_col="start", stop_col="stop", event_col="died")
    s = fit.summary
    for name, hr in [("member", ds.truth.loyalty_churn_hazard_ratio),
                     ("nps_detractor", ds.truth.nps_hazard_ratios["detractor"]),
                     ("channel_social", ds.truth.channel_hazard_ratios["social"])]:
        lo, hi = s.loc[name, "exp(coef) lower 95%"], s.loc[name, "exp(coef) upper 95%"]
        assert lo < hr < hi, (name, lo, hr, hi)


# ---------------------------------------------------------------- invariants (hypothesis)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), contractual=st.booleans(),
       loyalty=st.booleans(), hr=st.floats(0.5, 2.0))
def test_dataset_invariants(n, seed, contractual, loyalty, hr):
    ds = make_demo_dataset(n, seed=seed, contractual=contractual, loyalty=loyalty,
                           start="2024-01-01", end="2024-12-31", loyalty_churn_hazard_ratio=hr)
    tx, cust, sv, truth = ds.transactions, ds.customers, ds.surveys, ds.truth
    assert len(cust) == n and cust["customer_id"].is_unique
    assert np.isfinite(tx["amount"]).all() and (tx["amount"] != 0).all()
    assert tx["timestamp"].max() <= truth.end and tx["timestamp"].min() >= truth.start
    signup = cust.set_index("customer_id")["signup_date"]
    assert (tx["timestamp"].to_numpy() >= signup.loc[tx["customer_id"]].to_numpy()).all()
    death = truth.latent["death_time"]
    assert (tx["timestamp"].to_numpy() <= death.loc[tx["customer_id"]].to_numpy()).all()
    assert sv["customer_id"].isin(cust["customer_id"]).all()
    assert (sv["date"].to_numpy() <= death.loc[sv["customer_id"]].to_numpy()).all()
    assert (sv["date"].to_numpy() >= signup.loc[sv["customer_id"]].to_numpy()).all()
    assert (sv["date"] <= truth.end).all()
    if contractual:
        ended = cust["end_date"].notna()
        last = tx.groupby("customer_id")["timestamp"].max()
        ended_ids = cust.loc[ended, "customer_id"]
        assert (last.loc[ended_ids].to_numpy() <= cust.loc[ended, "end_date"].to_numpy()).all()
    att = truth.att_by_month
    if not att.empty:
        assert np.isfinite(att.drop(columns="months_since_join").to_numpy(dtype=float)).all()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 200), seed=st.integers(0, 2**32 - 1), T=st.floats(0.5, 100))
def test_simulator_invariants(n, seed, T):
    for df in (simulate_bgnbd(n, 0.5, 2.0, 0.8, 2.5, T, seed), simulate_pareto_nbd(n, 0.5, 2.0, 1.0, 10.0, T, seed)):
        assert (df["frequency"] >= 0).all()
        assert ((df["recency"] >= 0) & (df["recency"] <= df["T"])).all()
        assert (df.loc[df["frequency"] == 0, "recency"] == 0).all()
        assert (df.loc[df["frequency"] > 0, "recency"] > 0).all()
    bb = simulate_bgbb(n, 1.2, 0.75, 0.66, 2.8, int(T) + 1, seed)
    assert ((bb["frequency"] <= bb["recency"]) & (bb["recency"] <= bb["T"])).all()
    assert ((bb["frequency"] == 0) == (bb["recency"] == 0)).all()


# ---------------------------------------------------------------- the model simulators
def test_simulate_bgnbd_moments():
    """Mean frequency matches the BG/NBD E[X(t)] (Fader, Hardie & Lee 2005, eq. 9)."""
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426  # CDNOW estimates from the paper
    T = np.where(np.arange(200_000) % 2 == 0, 39.0, 20.0)  # staggered acquisition
    df = simulate_bgnbd(200_000, r, alpha, a, b, T, seed=1)
    assert df["true_lambda"].mean() == pytest.approx(r / alpha, rel=0.03)
    assert df["true_p"].mean() == pytest.approx(a / (a + b), rel=0.02)

    def expected(t):
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))

    for t in (39.0, 20.0):
        sel = df["T"] == t
        assert df.loc[sel, "frequency"].mean() == pytest.approx(expected(t), rel=0.03)
    assert list(df.columns[:3]) == ["frequency", "recency", "T"]
    assert df.index.name == "customer_id"


def test_simulate_pareto_nbd_moments():
    """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (Schmittlein et al. 1987)."""
    r, alpha, s, beta = 0.55, 10.6, 0.61, 11.7
    df = simulate_pareto_nbd(200_000, r, alpha, s, beta, 39.0, seed=2)
    t = 39.0
    expected = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    assert df["frequency"].mean() == pytest.approx(expected, rel=0.03)
    assert df["true_alive"].mean() == pytest.approx((beta / (beta + t)) ** s, rel=0.02)


def test_simulate_gamma_gamma_moments():
    p, q, gamma = 6.25, 3.74, 15.44  # CDNOW estimates (Fader, Hardie & Lee 2005)
    freq = pd.Series(np.repeat([0, 1, 5, 50], 50_000), index=[f"X{i}" for i in range(200_000)])
    df = simulate_gamma_gamma(freq, p, q, gamma, seed=3)
    assert (df.index == freq.index).all()
    assert (df.loc[df["frequency"] == 0, "monetary_value"] == 0).all()
    pos = df[df["frequency"] > 0]
    # E[mean spend] = p * gamma / (q - 1) for every frequency
    assert pos["monetary_value"].mean() == pytest.approx(p * gamma / (q - 1), rel=0.03)
    heavy = df[df["frequency"] == 50]
    assert np.corrcoef(heavy["monetary_value"], heavy["true_mean_spend"])[0, 1] > 0.97
    with pytest.raises(ValueError, match="frequency"):
        simulate_gamma_gamma([1.5, 2], p, q, gamma)


def test_simulate_bgbb_moments():
    """E[X(n)] of BG/BB (Fader, Hardie & Shang 2010, eq. 7)."""
    al, be, ga, de, n_opp = 1.204, 0.750, 0.657, 2.783, 6  # donation data estimates of the paper
    df = simulate_bgbb(200_000, al, be, ga, de, n_opp, seed=4)
    expected = al / (al + be) * de / (ga - 1) * (
        1 - np.exp(gammaln(ga + de) - gammaln(ga + de + n_opp) + gammaln(1 + de + n_opp) - gammaln(1 + de))
    )
    assert df["frequency"].mean() == pytest.approx(expected, rel=0.02)
    assert (df["T"] == n_opp).all()


# ---------------------------------------------------------------- files
def test_cli_writes_contract_csv(tmp_path):
    main(["--out", str(tmp_path), "--customers", "150", "--seed", "3"])
    tx = pd.read_csv(tmp_path / "transactions.csv", parse_dates=["timestamp"])
    assert list(tx.columns[:3]) == ["customer_id", "timestamp", "amount"]
    expected = make_demo_dataset(150, seed=3, discount_offers=True).transactions  # the files have discounts
    assert len(tx) == len(expected)
    assert np.allclose(tx["amount"], expected["amount"])
    assert (tx["timestamp"] == expected["timestamp"]).all()
    assert np.allclose(tx["discount"], expected["discount"])
    for name in ("customers", "surveys"):
        assert (tmp_path / f"{name}.csv").exists()


def test_demo_files_are_small_and_in_contract_columns():
    folder = ROOT / "data" / "demo"
    files = {name: folder / f"{name}.csv" for name in ("transactions", "customers", "surveys", "campaigns")}
    assert sum(p.stat().st_size for p in files.values()) < 3 * 2**20
    for name, path in files.items():
        head = pd.read_csv(path, nrows=5)
        assert set(TABLES[name].required) <= set(head.columns)
        assert all(TABLES[name].accepts(c) for c in head.columns), list(head.columns)
    customers = pd.read_csv(files["customers"])
    assert len(customers) == 2000


def test_coupled_counterfactual_is_exact_without_an_effect():
    """With F = 1 and HR = 1 the coupled counterfactual path equals the realised one: effect exactly 0."""
    ds = make_demo_dataset(3000, seed=9, loyalty_frequency_multiplier=1.0, loyalty_churn_hazard_ratio=1.0)
    att = ds.truth.att_by_month
    assert len(att) > 12
    assert np.abs(att["transactions_effect"]).max() == 0
    assert np.abs(att["revenue_effect"]).max() < 1e-6
    assert ds.truth.att_transactions_12m == 0


def test_retention_effect_alone_and_harmful_program():
    """F = 1: only the retention gain (HR < 1) remains, growing with months since joining;
    HR > 1: the counterfactual outlives the realised path and the effect is negative."""
    keep = make_demo_dataset(20000, seed=4, loyalty_frequency_multiplier=1.0, loyalty_churn_hazard_ratio=0.5)
    att = keep.truth.att_by_month
    assert 0 < att["transactions_effect"].iloc[0] < 0.1  # few members die within a month
    assert att["transactions_effect"].iloc[12:18].mean() > att["transactions_effect"].iloc[0:6].mean() > 0
    harm = make_demo_dataset(20000, seed=4, loyalty_frequency_multiplier=1.0, loyalty_churn_hazard_ratio=3.0)
    assert harm.truth.att_transactions_12m < 0 and harm.truth.att_revenue_12m < 0


def test_truth_to_dict_is_json():
    import json

    ds = make_demo_dataset(500, seed=1)
    d = json.loads(json.dumps(ds.truth.to_dict()))
    assert d["loyalty_frequency_multiplier"] == 1.15
    assert d["att_by_month"][0]["months_since_join"] == 0
    assert "latent" not in d
