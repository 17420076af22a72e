"""Tests of cxlab.retention: cohort retention tables, average curve, CIs, plots, sBG."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from cxlab.retention import (
    CohortRetention,
    ShiftedBetaGeometric,
    average_retention_curve,
    binomial_ci,
    cohort_retention,
    last_active_periods,
    plot_retention_curves,
    plot_retention_heatmap,
    retention_matrix,
    retention_table,
)

# Fader & Hardie (2007), "How to project customer retention", regular cohort (see /work/shared/data/README.md)
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
REGULAR_HOLDOUT_ACTUAL = [223, 207, 194, 183, 173]  # observed survivors, years 8..12


def _cohorts() -> pd.DataFrame:
    """Two monthly cohorts in cohort_counts' layout; the latest period of each is incomplete."""
    rows = [
        # cohort, period, customers, revenue, cohort_size, complete
        ("2024-01-01", 0, 100, 1000.0, 100, True),
        ("2024-01-01", 1, 40, 500.0, 100, True),
        ("2024-01-01", 2, 30, 450.0, 100, True),
        ("2024-01-01", 3, 10, 100.0, 100, False),
        ("2024-02-01", 0, 50, 400.0, 50, True),
        ("2024-02-01", 1, 30, 240.0, 50, True),
        ("2024-02-01", 2, 5, 20.0, 50, False),
    ]
    df = pd.DataFrame(rows, columns=["cohort", "period", "customers", "revenue", "cohort_size", "complete"])
    df["cohort"] = pd.to_datetime(df["cohort"])
    df["transactions"] = df["customers"]
    return df


def test_retention_table_rates_and_revenue_retention():
    t = retention_table(_cohorts())
    jan = t[t["cohort"] == "2024-01-01"].set_index("period")
    assert jan.loc[1, "rate"] == pytest.approx(0.40)
    assert jan.loc[2, "revenue_retention"] == pytest.approx(0.45)
    assert list(jan["complete"]) == [True, True, True, False]
    feb = t[t["cohort"] == "2024-02-01"].set_index("period")
    assert feb.loc[1, "rate"] == pytest.approx(0.60)
    assert feb.loc[1, "revenue_retention"] == pytest.approx(0.60)


def test_wilson_and_exact_intervals_match_statsmodels():
    k, n = np.array([0, 3, 40, 97, 100]), np.array([100, 100, 100, 100, 100])
    for method, sm in (("wilson", "wilson"), ("clopper-pearson", "beta")):
        low, high = binomial_ci(k, n, method=method)
        sm_low, sm_high = proportion_confint(k, n, alpha=0.05, method=sm)
        np.testing.assert_allclose(low, sm_low, atol=1e-10)
        np.testing.assert_allclose(high, sm_high, atol=1e-10)


def test_average_curve_is_size_weighted_and_skips_incomplete_cells():
    avg = average_retention_curve(retention_table(_cohorts())).set_index("period")
    # period 1: both cohorts complete -> (40 + 30) / (100 + 50), not the mean of 0.4 and 0.6
    assert avg.loc[1, "rate"] == pytest.approx(70 / 150)
    assert avg.loc[1, "n_cohorts"] == 2
    # period 2: February's cell is incomplete -> January alone
    assert avg.loc[2, "rate"] == pytest.approx(0.30)
    assert avg.loc[2, "n_cohorts"] == 1
    assert 3 not in avg.index  # no complete cell at period 3
    low, high = binomial_ci(70, 150)
    assert avg.loc[1, "ci_low"] == pytest.approx(float(low))
    assert avg.loc[1, "ci_high"] == pytest.approx(float(high))
    assert avg.loc[1, "revenue_retention"] == pytest.approx((500 + 240) / (1000 + 400))


def test_missing_periods_are_filled_with_zero():
    c = _cohorts()
    c = c[~((c["cohort"] == "2024-01-01") & (c["period"] == 2))]  # nobody active in period 2
    t = retention_table(c).set_index(["cohort", "period"])
    row = t.loc[(pd.Timestamp("2024-01-01"), 2)]
    assert row["retained"] == 0 and row["rate"] == 0.0 and bool(row["complete"])


def test_matrix_masks_incomplete_cells():
    m = retention_matrix(retention_table(_cohorts()))
    assert np.isnan(m.loc[pd.Timestamp("2024-02-01"), 2])
    assert m.loc[pd.Timestamp("2024-01-01"), 1] == pytest.approx(0.4)
    full = retention_matrix(retention_table(_cohorts()), complete_only=False)
    assert full.loc[pd.Timestamp("2024-02-01"), 2] == pytest.approx(0.1)


def test_unbounded_convention_counts_active_in_n_or_later():
    # cohort Jan: customer a active in 0 and 2, b only 0, c in 0,1 ; cohort Feb: d in 0 and 1
    panel = pd.DataFrame({
        "customer_id": ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 2,
        "period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"] * 3 + ["2024-02-01", "2024-03-01"]),
        "transactions": [1, 0, 2, 1, 0, 0, 1, 1, 0, 1, 1],
    })
    cohorts = pd.DataFrame({
        "cohort": pd.to_datetime(["2024-01-01"] * 3 + ["2024-02-01"] * 2),
        "period": [0, 1, 2, 0, 1],
        "customers": [3, 1, 1, 1, 1],
        "revenue": [30.0, 10, 10, 5, 5],
        "cohort_size": [3, 3, 3, 1, 1],
        "complete": [True, True, True, True, True],
    })
    last = last_active_periods(panel, period="M").set_index("customer_id")
    assert last.loc["a", "last_period"] == 2 and last.loc["b", "last_period"] == 0
    returned = retention_table(cohorts).set_index(["cohort", "period"])["retained"]
    unbounded = retention_table(cohorts, convention="unbounded", last_active=last.reset_index())
    u = unbounded.set_index(["cohort", "period"])["retained"]
    jan = pd.Timestamp("2024-01-01")
    assert list(u.loc[jan]) == [3, 2, 1]  # period 1: a (later) and c; period 2: a
    assert list(returned.loc[jan]) == [3, 1, 1]
    assert (u >= returned).all()


def test_unbounded_needs_last_active():
    with pytest.raises(ValueError, match="last_active"):
        retention_table(_cohorts(), convention="unbounded")


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="missing column"):
        retention_table(_cohorts().drop(columns="cohort_size"))
    bad = _cohorts()
    bad.loc[1, "customers"] = 1000
    with pytest.raises(ValueError, match="exceeds cohort_size"):
        retention_table(bad)
    with pytest.raises(ValueError, match="convention"):
        retention_table(_cohorts(), convention="weekly")


def test_with_the_data_layer_end_to_end():
    from cxlab.data import cohort_counts, customer_period_panel

    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "c", "d"],
        "timestamp": pd.to_datetime(["2024-01-05", "2024-03-10", "2024-04-02", "2024-01-20",
                                     "2024-02-03", "2024-03-15", "2024-02-28"]),
        "amount": [10.0, 20, 5, 7, 8, 9, 4],
    })
    cc = cohort_counts(tx, period="M", observation_end="2024-04-30")
    last = last_active_periods(customer_period_panel(tx, period="M", end="2024-04-30"), period="M")
    res = cohort_retention(cc, convention="unbounded", last_active=last)
    u = res.table.set_index(["cohort", "period"])["retained"]
    jan, feb = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")
    # January: a (last active in period 3) and b (period 0)
    assert list(u.loc[jan]) == [2, 1, 1, 1]
    # February: c (last period 1), d (period 0)
    assert list(u.loc[feb]) == [2, 1, 0]
    assert isinstance(res, CohortRetention)
    assert "Average retention curve" in str(res)
    d = res.to_dict()
    assert d["convention"] == "unbounded" and isinstance(d["table"], list)
    json.dumps(d)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=40))
def test_unbounded_curve_never_increases_and_dominates(customers):
    """Property: 'N or later' retention is non-increasing in N and >= 'in N' retention."""
    # each customer: (first period offset within 2 cohorts, activity pattern)
    rows = []
    for i, (c, pattern) in enumerate(customers):
        cohort = pd.Timestamp("2024-01-01") + pd.DateOffset(months=c % 2)
        active = [0] + [p for p in range(1, 5) if (pattern >> (p - 1)) & 1]
        for p in active:
            rows.append((f"u{i}", cohort, p))
    act = pd.DataFrame(rows, columns=["customer_id", "cohort", "period"])
    size = act.groupby("cohort")["customer_id"].nunique()
    cc = act.groupby(["cohort", "period"])["customer_id"].nunique().rename("customers").reset_index()
    cc["cohort_size"] = cc["cohort"].map(size)
    cc["revenue"] = cc["customers"] * 1.0
    cc["complete"] = True
    last = act.groupby("customer_id").agg(cohort=("cohort", "first"), last_period=("period", "max")).reset_index()
    r = retention_table(cc)
    u = retention_table(cc, convention="unbounded", last_active=last)
    for _, sub in u.groupby("cohort"):
        assert np.all(np.diff(sub["rate"].to_numpy()) <= 1e-12)
    assert (u["retained"].to_numpy() >= r["retained"].to_numpy()).all()
    assert ((u["ci_low"] <= u["rate"]) & (u["rate"] <= u["ci_high"])).all()


def test_plots_return_axes():
    res = cohort_retention(_cohorts())
    ax = plot_retention_heatmap(data=res)
    assert ax.get_xlabel() == "periods since acquisition"
    plt.close(ax.figure)
    fig, ax0 = plt.subplots()
    ax = plot_retention_curves(data=res.table, ax=ax0)
    assert ax is ax0 and len(ax.get_lines()) >= 1
    plt.close(fig)


# ---------------------------------------------------------------------------
# shifted-beta-geometric
# ---------------------------------------------------------------------------
def test_sbg_reproduces_fader_hardie_2007_regular_cohort():
    m = ShiftedBetaGeometric().fit(REGULAR)
    assert round(m.params_["alpha"], 3) == 0.704
    assert round(m.params_["beta"], 3) == 1.182
    assert m.log_likelihood_ == pytest.approx(-1680.27, abs=0.01)
    proj = m.project(12).set_index("period")
    # The published projection for years 8..12 is given in whole customers (220, 204, 191, 180, 170), so
    # atol 0.5. (1000 x S(t) at the *rounded* alpha=0.704, beta=1.182 is 220.1, 204.4, 191.2, 179.9, 170.1;
    # at the MLE it is 220.08 .. 170.04 -- the parameters' 4th decimal moves S(12) by 0.06 customers, so
    # those one-decimal figures cannot be a 0.05 target for the fitted model.) The 223, 207, 194, 183, 173
    # often quoted with it are the cohort's *observed* holdout survivors, which the model tracks within 3.5.
    np.testing.assert_allclose(proj.loc[8:12, "expected_survivors"], [220, 204, 191, 180, 170], atol=0.5)
    np.testing.assert_allclose(proj.loc[8:12, "expected_survivors"], REGULAR_HOLDOUT_ACTUAL, atol=3.5)
    np.testing.assert_allclose(proj.loc[0:7, "observed"], REGULAR)


def test_sbg_converges_at_the_published_optimum_through_the_shared_core():
    # issue 10: the old gradient-norm test (2.6e-4 > 1e-4) called this optimum "not converged"
    m = ShiftedBetaGeometric().fit(REGULAR)
    assert m.converged_, m.convergence_message_
    s = np.asarray(REGULAR, dtype=float)
    x = np.log([m.params_["alpha"], m.params_["beta"]])
    from cxlab._mle import numerical_gradient

    np.testing.assert_allclose(ShiftedBetaGeometric._loglik_and_grad(x + 0.1, s)[1],
                               numerical_gradient(lambda z: ShiftedBetaGeometric._loglik(z, s), x + 0.1), rtol=1e-6)
    with pytest.raises(TypeError):
        ShiftedBetaGeometric().fit(REGULAR, periods=7)
    with pytest.raises(ValueError, match="initial"):
        ShiftedBetaGeometric(initial=(-1.0, 1.0)).fit(REGULAR)


def test_sbg_formulas_and_standard_errors():
    m = ShiftedBetaGeometric().fit(REGULAR)
    a, b = m.params_["alpha"], m.params_["beta"]
    t = np.arange(1, 10)
    s = m.survival_function(np.arange(0, 10))
    np.testing.assert_allclose(m.retention_rate(t), s[1:] / s[:-1], rtol=1e-10)
    np.testing.assert_allclose(m.churn_probability(t), s[:-1] - s[1:], rtol=1e-10)
    assert m.retention_rate(1) == pytest.approx(b / (a + b))
    assert 0 < m.standard_errors_["alpha"] < 0.2 and 0 < m.standard_errors_["beta"] < 0.4
    assert "alpha" in str(m) and m.to_dict()["params"]["alpha"] == pytest.approx(a)


def test_sbg_recovers_simulated_parameters():
    rng = np.random.default_rng(7)
    theta = rng.beta(1.5, 3.0, 20000)
    lifetimes = rng.geometric(theta)  # periods until churn, >= 1
    survivors = [int((lifetimes > t).sum()) for t in range(10)]
    m = ShiftedBetaGeometric().fit(survivors)
    assert abs(m.params_["alpha"] - 1.5) < 3 * m.standard_errors_["alpha"] + 0.05
    assert abs(m.params_["beta"] - 3.0) < 3 * m.standard_errors_["beta"] + 0.1


def test_sbg_input_validation():
    with pytest.raises(ValueError, match="must not increase"):
        ShiftedBetaGeometric().fit([100, 80, 90])
    with pytest.raises(ValueError, match="nobody churned"):
        ShiftedBetaGeometric().fit([100, 100, 100])
    with pytest.raises(RuntimeError, match="not fitted"):
        ShiftedBetaGeometric().survival_function(3)
