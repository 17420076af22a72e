"""cxlab.discounts against the demo generator's known discount response.

The generator (``make_demo_dataset(discount_offers=True)``) draws a weekly promotion calendar, a
share of discount-sensitive customers whose purchase rate rises with the week's depth, and
discounts every purchase of an offer week; DemoTruth records the incidence multiplier the
within-customer model targets, the incremental purchases and the margin given away on purchases
that would have been made anyway. Coverage is a rate over fixed seeds, accepted inside the
binomial band (``assert_coverage``, tests/conftest.py).
"""
from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from cxlab.data import discount_calendar, discount_cells
from cxlab.datasets import make_demo_dataset
from cxlab.discounts import (DEPENDENCE_SEGMENTS, DiscountResponse, customer_discounts, discount_analysis,
                             naive_discount_comparison)
from cxlab.study import Study

SEEDS = range(200, 230)
DEPTHS = (5, 10, 20)  # the generator's depths; bands 1, 2, 3 of the default edges


@pytest.fixture(scope="module")
def fits():
    """One fit per seed: (truth, fitted response, naive comparison, cells)."""
    out = []
    for seed in SEEDS:
        ds = make_demo_dataset(1500, seed=seed, discount_offers=True)
        cells = discount_cells(ds.transactions)
        response = DiscountResponse(margin_rate=0.3).fit(cells, discount_calendar(ds.transactions))
        out.append((ds.truth, response, naive_discount_comparison(cells), cells))
    return out


# --------------------------------------------------------------------------- the generator
def test_discounts_are_additive_and_follow_the_calendar():
    plain = make_demo_dataset(400, seed=5)
    ds = make_demo_dataset(400, seed=5, discount_offers=True)
    tx, truth = ds.transactions, ds.truth
    old = tx[tx["order_id"].isin(plain.transactions["order_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(old.drop(columns="discount"), plain.transactions)   # rows unchanged
    pd.testing.assert_frame_equal(ds.customers, plain.customers)
    assert len(tx) - len(plain.transactions) == truth.discount_incremental_purchases > 0
    assert tx["timestamp"].is_monotonic_increasing
    # every purchase of a week gets that week's depth: discount = amount * d / (100 - d)
    week = (tx["timestamp"].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.add(3) // 7
    depth = truth.discount_calendar.reindex(week).to_numpy()
    expected = np.where(tx["amount"] >= 0, np.round(tx["amount"] * depth / (100 - depth), 2), 0.0)
    np.testing.assert_allclose(tx["discount"], expected, atol=0.011)
    # the appended purchases are the sensitive customers', made in offer weeks
    new = tx[~tx["order_id"].isin(plain.transactions["order_id"])]
    assert truth.latent.loc[new["customer_id"], "discount_sensitive"].all()
    assert (new["discount"] > 0).all()
    assert truth.discount_margin_given_away == pytest.approx(old["discount"].sum(), abs=0.01)
    assert truth.discount_total == pytest.approx(tx["discount"].sum(), abs=0.01)


# --------------------------------------------------------------------------- the data layer
def _cells_by_hand(tx: pd.DataFrame) -> pd.DataFrame:
    """Stage × band totals of discount_cells, computed in pandas without the data layer."""
    buy = tx[tx["amount"] >= 0].copy()
    buy["p"] = ((buy["timestamp"].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days + 3) // 7
    cal = buy.groupby("p").apply(lambda g: g["discount"].sum() / (g["amount"] + g["discount"]).sum(),
                                 include_groups=False)
    band = (100 * cal >= 0.5).astype(int) + (100 * cal >= 7.5) + (100 * cal >= 15)
    span = buy.groupby("customer_id")["p"].agg(["min", "max"])
    buy = buy.join(span, on="customer_id")
    buy["stage"] = np.where(buy["p"] == buy["min"], "first", np.where(buy["p"] == buy["max"], "last", "between"))
    buy["band"] = band.reindex(buy["p"]).to_numpy()
    purchases = buy.groupby(["stage", "band"]).agg(purchases=("amount", "size"), discount=("discount", "sum"))
    periods = {}
    for cid, (lo, hi) in span.iterrows():
        for p in band.index[(band.index > lo) & (band.index < hi)]:
            periods[("between", band[p])] = periods.get(("between", band[p]), 0) + 1
    periods = pd.Series(periods, name="periods")
    periods.index.names = ["stage", "band"]
    return purchases, periods


def test_discount_cells_match_a_computation_by_hand(tmp_path):
    ds = make_demo_dataset(300, seed=8, discount_offers=True)
    cells = discount_cells(ds.transactions)
    purchases, periods = _cells_by_hand(ds.transactions)
    got = cells.assign(stage=cells["stage"].astype(str)).groupby(["stage", "band"])[["purchases", "discount"]].sum()
    pd.testing.assert_frame_equal(got.sort_index(), purchases.sort_index(), check_names=False, check_dtype=False,
                                  check_index_type=False)
    between = cells[cells["stage"] == "between"].groupby("band")["periods"].sum()
    np.testing.assert_array_equal(between.to_numpy(), periods.sort_index().to_numpy())
    # a Parquet file gives the same cells as the frame
    path = tmp_path / "tx.parquet"
    ds.transactions.to_parquet(path)
    pd.testing.assert_frame_equal(discount_cells(path), cells)


def test_the_duckdb_sql_route_equals_the_ibis_route(monkeypatch):
    """Local data runs hand-written DuckDB SQL, other engines (Spark, warehouses) Ibis expressions: the same
    frames, also with missing discount values and a window that ends early."""
    from cxlab.data import aggregate

    tx = make_demo_dataset(300, seed=8, discount_offers=True).transactions.copy()
    tx.loc[tx.index[::37], "discount"] = np.nan
    kwargs = {"observation_end": "2025-06-30"}
    sql = discount_cells(tx, **kwargs), discount_calendar(tx, **kwargs)
    assert sql[0]["missing_discount"].sum() > 0
    monkeypatch.setattr(aggregate, "_duck", lambda source, extra=(): None)
    via_ibis = discount_cells(tx, **kwargs), discount_calendar(tx, **kwargs)
    for a, b in zip(sql, via_ibis):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def test_a_log_without_a_discount_column_is_a_clear_error():
    ds = make_demo_dataset(100, seed=1)
    with pytest.raises(ValueError, match="needs the optional column.*discount"):
        discount_cells(ds.transactions)
    with pytest.raises(ValueError, match="needs the optional column.*discount"):
        discount_calendar(ibis.memtable(ds.transactions))


# --------------------------------------------------------------------------- per customer
def test_segments_follow_the_stated_rule():
    cells = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "d", "e"],
        "stage": ["first", "between", "first", "between", "first", "first", "first"],
        "band": [1, 2, 0, 1, 1, 0, 1],
        "periods": [1, 3, 1, 4, 1, 1, 1],
        "purchases": [1, 3, 2, 2, 4, 5, 1],
        "spend": [90.0, 270, 200, 180, 360, 500, 90],
        "discount": [10.0, 30, 0, 20, 40, 0, 10],
        "discounted": [1, 3, 0, 1, 2, 0, 1],
    })
    out = customer_discounts(cells)
    assert list(out["segment"]) == ["only with a discount", "sometimes with a discount", "mostly with a discount",
                                    "never with a discount", "too few purchases"]
    assert out.loc["b", "discount_share"] == 0.25
    assert out.loc["a", "depth"] == pytest.approx(0.1)
    assert out.loc["b", "chance_share"] == pytest.approx(4 / 5)
    assert set(out["segment"].cat.categories) == set(DEPENDENCE_SEGMENTS)


def test_sensitive_customers_buy_more_with_discounts_than_chance_predicts(fits):
    gaps = []
    for truth, _, _, cells in fits[:5]:
        c = customer_discounts(cells)
        c = c[c["purchases"] >= 5]
        excess = c["discount_share"] - c["chance_share"]
        sensitive = truth.latent.loc[c.index, "discount_sensitive"].to_numpy()
        gaps.append(excess[sensitive].mean() - excess[~sensitive].mean())
    assert min(gaps) > 0.03


# --------------------------------------------------------------------------- recovery and coverage
def test_incidence_multipliers_are_recovered_with_coverage(fits, assert_coverage):
    est = np.array([r.incidence_["multiplier"].to_numpy() for _, r, _, _ in fits])
    true = np.array([[t.discount_incidence_multiplier[d] for d in DEPTHS] for t, _, _, _ in fits])
    # unbiased on average: the mean relative error per band is within 3 % (its Monte Carlo SE ~1 %)
    assert np.all(np.abs(est.mean(axis=0) / true.mean(axis=0) - 1) < 0.03)
    for j, depth in enumerate(DEPTHS):
        hits = sum(r.incidence_["lower"].iloc[j] <= t[j] <= r.incidence_["upper"].iloc[j]
                   for (_, r, _, _), t in zip(fits, true))
        assert_coverage(hits, len(fits), level=1 - 0.01 / 3, what=f"incidence multiplier at {depth} %")


def test_baskets_do_not_respond_and_the_intervals_say_so(fits, assert_coverage):
    for j, depth in enumerate(DEPTHS):
        hits = sum(r.basket_["lower"].iloc[j] <= 1.0 <= r.basket_["upper"].iloc[j] for _, r, _, _ in fits)
        assert_coverage(hits, len(fits), level=1 - 0.01 / 3, what=f"basket multiplier at {depth} %")


def test_margin_given_away_and_incremental_purchases_are_recovered(fits, assert_coverage):
    given = np.array([[r.margin_given_away_.estimate, t.discount_margin_given_away] for t, r, _, _ in fits])
    extra = np.array([[r.incremental_purchases_.estimate, t.discount_incremental_purchases] for t, r, _, _ in fits])
    assert abs(given[:, 0].mean() / given[:, 1].mean() - 1) < 0.02
    assert abs(extra[:, 0].mean() / extra[:, 1].mean() - 1) < 0.10
    hits = sum(r.margin_given_away_.covers(t.discount_margin_given_away) for t, r, _, _ in fits)
    assert_coverage(hits, len(fits), level=1 - 0.01 / 2, what="margin given away")
    hits = sum(r.incremental_purchases_.covers(t.discount_incremental_purchases) for t, r, _, _ in fits)
    assert_coverage(hits, len(fits), level=1 - 0.01 / 2, what="incremental purchases")
    # the incremental spend is the incremental purchases' paid amounts
    spend = np.array([[r.incremental_spend_.estimate, t.discount_incremental_revenue] for t, r, _, _ in fits])
    assert abs(spend[:, 0].mean() / spend[:, 1].mean() - 1) < 0.12


def test_the_naive_cross_customer_comparison_is_biased_and_the_within_one_is_not(fits):
    """Customers who ever bought with a discount buy many times more per period than those who never
    did — mostly because heavy buyers collect discounts by buying often. The within-customer
    estimate of what discounts add per period is close to the truth; the naive one is not."""
    naive, within, true = [], [], []
    for truth, r, nv, cells in fits:
        periods = cells.loc[cells["stage"] != "first", "periods"].sum()
        true.append(truth.discount_incremental_purchases / periods)
        within.append(r.incremental_purchases_.estimate / periods)
        naive.append(nv["difference_per_period"])
    true, within, naive = map(np.array, (true, within, naive))
    assert np.all(naive > 4 * true)                      # biased in every data set
    assert abs(within.mean() / true.mean() - 1) < 0.10   # unbiased on average


def test_discount_analysis_reads_the_study():
    ds = make_demo_dataset(600, seed=4, discount_offers=True)
    study = Study.from_frames(ds.transactions, ds.customers, margin_rate=0.25, observation_end="2025-06-30")
    analysis = discount_analysis(study)
    assert analysis.calendar["period"].max() <= pd.Timestamp("2025-06-30")
    assert analysis.response.margin_rate == 0.25
    assert analysis.response.net_margin_.estimate == pytest.approx(
        0.25 * analysis.response.incremental_spend_.estimate - analysis.response.margin_given_away_.estimate)
    assert analysis.segments["customers"].sum() == len(analysis.customers)
    assert "Discount dependence" in str(analysis.summary())


# --------------------------------------------------------------------------- on a customer sample
def test_cells_of_some_customers_are_their_cells_in_the_whole_log(monkeypatch):
    """A sample's cells are band by the whole log's calendar: the same rows as the full cells of those customers,
    on both routes (a calendar of the sample's purchases alone would band the periods differently)."""
    from cxlab.data import aggregate

    tx = make_demo_dataset(400, seed=8, discount_offers=True).transactions
    full = discount_cells(tx)
    some = pd.Index(sorted(tx["customer_id"].unique())[::7])
    expected = full[full["customer_id"].isin(some)].reset_index(drop=True)
    pd.testing.assert_frame_equal(discount_cells(tx, customers=some), expected)
    monkeypatch.setattr(aggregate, "_duck", lambda source, extra=(): None)
    pd.testing.assert_frame_equal(discount_cells(tx, customers=some), expected, check_exact=False, rtol=1e-12)


def test_the_calendar_counts_discounted_and_missing_rows():
    tx = make_demo_dataset(300, seed=8, discount_offers=True).transactions.copy()
    tx.loc[tx.index[::37], "discount"] = np.nan
    cal = discount_calendar(tx)
    bought = tx[tx["amount"] >= 0]
    assert cal["purchases"].sum() == len(bought)
    assert cal["discounted"].sum() == int((bought["discount"] > 0).sum()) > 0
    assert cal["missing_discount"].sum() == int(bought["discount"].isna().sum()) > 0


@pytest.fixture(scope="module")
def sampled_fits():
    """120 simple random samples of 10 % of a 12,000-customer client's customers: the fit on every customer and
    on each sample (the sample's cells are the full cells of its customers, tested above)."""
    ds = make_demo_dataset(12_000, seed=31, discount_offers=True)
    cells = discount_cells(ds.transactions)
    calendar = discount_calendar(ds.transactions)
    full = DiscountResponse(margin_rate=0.3).fit(cells, calendar)
    ids = pd.Index(ds.customers["customer_id"][ds.customers["customer_id"].isin(cells["customer_id"])])
    n = len(ids) // 10
    fits = []
    for seed in range(120):
        chosen = ids[np.sort(np.random.default_rng(seed).choice(len(ids), n, replace=False))]
        fits.append(DiscountResponse(margin_rate=0.3).fit(cells[cells["customer_id"].isin(chosen)], calendar,
                                                          population=len(ids), sampled=n))
    return full, fits


@pytest.mark.parametrize("name", ["incremental_purchases_", "margin_given_away_", "net_margin_"])
def test_a_sample_estimates_the_clients_totals_with_its_sampling_error(sampled_fits, name, assert_coverage):
    """Raised to the client, a sample's totals centre on the full data's; their standard errors match the spread
    of the totals over 120 samples (root mean square SE within 0.8-1.25 of the spread: the spread of 120 draws
    is known to about 7 %), and the intervals cover the full data's total at the 95 % rate. (300 samples gave
    spread / RMS SE 1.00, 1.00, 0.95 and coverage 93 %, 95 %, 97 %; the delta-method error of the model
    alone, without the sampling term, is a third of the margin given away's spread.)"""
    full, fits = sampled_fits
    truth = getattr(full, name).estimate
    values = np.array([getattr(f, name).estimate for f in fits])
    ses = np.array([getattr(f, name).se for f in fits])
    assert all(f.scale_ == pytest.approx(10, rel=1e-3) for f in fits)
    assert abs(values.mean() - truth) < 3 * values.std(ddof=1) / np.sqrt(len(values))
    assert 0.8 < values.std(ddof=1) / np.sqrt(np.mean(ses ** 2)) < 1.25, (values.std(ddof=1), ses)
    assert_coverage(sum(getattr(f, name).covers(truth) for f in fits), len(fits), level=1 - 0.01 / 3, what=name)


def test_the_discount_total_is_the_calendars_and_the_segments_are_raised(sampled_fits):
    full, fits = sampled_fits
    assert all(f.discount_total_ == full.discount_total_ for f in fits)   # the whole log's, not estimated
    # without a sample nothing is raised and there is no sampling term
    assert full.scale_ == 1.0


def test_a_study_with_a_sample_analyses_the_sampled_customers():
    ds = make_demo_dataset(900, seed=4, discount_offers=True)
    study = Study.from_frames(ds.transactions, ds.customers, margin_rate=0.25, customer_sample_size=200)
    analysis = discount_analysis(study)
    sample = study.sample
    assert sample is not None and set(analysis.customers.index) <= set(sample.ids)
    assert analysis.response.scale_ == pytest.approx(sample.population / sample.size)
    assert analysis.segments["customers"].sum() == pytest.approx(sample.population)
    assert analysis.calendar["purchases"].sum() == int((ds.transactions["amount"] >= 0).sum())
    assert analysis.sample is sample and any("random sample of 200" in n for n in analysis.notes)
