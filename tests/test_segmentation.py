"""Tests of RFM, ABC, XYZ and repeat-purchase rate in ``cxlab.segmentation``."""
from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cxlab.segmentation import (  # noqa: E402
    RFM_GRID,
    RFM_SEGMENTS,
    abc_analysis,
    abc_xyz,
    plot_abc_xyz,
    plot_rfm_heatmap,
    quantile_scores,
    repeat_purchase_rate,
    rfm_scores,
    rfm_segments,
    xyz_analysis,
)


def summary_frame(rows: dict[str, tuple], unit_days: float = 1.0) -> pd.DataFrame:
    """A customer_summary-shaped frame from {id: (T, recency, n_purchases, revenue)}."""
    ids = list(rows)
    T, recency, n, revenue = (np.array(v, dtype=float) for v in zip(*rows.values()))
    end = pd.Timestamp("2025-01-01")
    first = end - pd.to_timedelta(T * unit_days, unit="D")
    return pd.DataFrame(
        {
            "first_purchase": first,
            "last_purchase": first + pd.to_timedelta(recency * unit_days, unit="D"),
            "frequency": (n - 1).astype(np.int64),
            "recency": recency,
            "T": T,
            "monetary_value": np.where(n > 1, revenue / n, 0.0),
            "n_purchases": n.astype(np.int64),
            "revenue": revenue,
        },
        index=pd.Index(ids, name="customer_id"),
    )


@pytest.fixture
def five():
    # days since last purchase = T - recency: c1 5, c2 10, c5 30, c3 200, c4 300
    return summary_frame({
        "c1": (100, 95, 10, 1000.0),
        "c2": (100, 90, 1, 50.0),
        "c3": (400, 200, 8, 900.0),
        "c4": (400, 100, 2, 100.0),
        "c5": (100, 70, 5, 500.0),
    })


# ---------------------------------------------------------------- RFM
def test_rfm_scores_and_segments_by_hand(five):
    scores = rfm_scores(five, recency_unit="D")
    assert scores["recency_days"].tolist() == [5, 10, 200, 300, 30]
    assert scores["R"].tolist() == [5, 4, 2, 1, 3]
    assert scores["F"].tolist() == [5, 1, 4, 2, 3]
    assert scores["M"].tolist() == [5, 1, 4, 2, 3]
    assert scores["rfm"].tolist() == ["555", "411", "244", "122", "333"]
    res = rfm_segments(scores)
    assert res.customers["segment"].astype(str).tolist() == [
        "Champions", "Promising", "At risk", "Lost", "Need attention"]
    seg = res.segments
    assert seg.loc["Champions", "customers"] == 1
    assert seg.loc["Champions", "revenue_share"] == pytest.approx(1000 / 2550)
    assert seg.loc["Loyal", "customers"] == 0
    assert seg["customer_share"].sum() == pytest.approx(1.0)
    assert list(seg.index) == list(RFM_SEGMENTS)


def test_rfm_recency_unit_and_mean_order_value(five):
    weekly = rfm_scores(five, recency_unit="W")
    assert weekly["recency_days"].tolist() == [35, 70, 1400, 2100, 210]
    mean = rfm_scores(five, recency_unit="D", monetary="mean")
    # mean order value: c1 100, c2 50, c3 112.5, c4 50, c5 100 -> ties share the lowest score
    assert mean["monetary"].tolist() == [100, 50, 112.5, 50, 100]
    assert mean["M"].tolist() == [3, 1, 5, 1, 3]


def test_quantile_scores_ties_share_the_lowest_score():
    values = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]
    assert quantile_scores(values, 5).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert quantile_scores(np.arange(10), 5).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quantile_scores([7, 7, 7], 5).tolist() == [1, 1, 1]


def test_grid_covers_the_eleven_segments_and_corners():
    assert set(RFM_GRID.to_numpy().ravel()) == set(RFM_SEGMENTS)
    assert RFM_GRID.loc[5, 1] == "New"
    assert RFM_GRID.loc[5, 5] == "Champions"
    assert RFM_GRID.loc[1, 5] == "Can't lose them"
    assert RFM_GRID.loc[1, 1] == "Lost"
    assert RFM_GRID.loc[2, 1] == "Hibernating"
    assert RFM_GRID.loc[3, 2] == "About to sleep"


def test_rfm_segments_with_three_bins():
    scores = pd.DataFrame({"R": [3, 1, 2], "F": [3, 3, 1], "M": [3, 3, 1], "revenue": [1.0, 2.0, 3.0],
                           "recency_days": [1.0, 2.0, 3.0], "frequency": [1, 2, 3], "monetary": [1.0, 2.0, 3.0]},
                          index=["a", "b", "c"])
    scores.attrs["bins"] = 3
    # 1 -> 1, 2 -> 3, 3 -> 5 on the 5-level grid
    res = rfm_segments(scores)
    assert res.customers["segment"].astype(str).tolist() == ["Champions", "Can't lose them", "About to sleep"]


def test_rfm_result_summary_and_json(five):
    res = rfm_segments(rfm_scores(five, recency_unit="D"))
    text = str(res.summary())
    assert "Champions" in text and "RFM segmentation" in text
    assert "<table" in res._repr_html_()
    d = json.loads(json.dumps(res.to_dict()))
    assert d["n_customers"] == 5 and len(d["segments"]) == len(RFM_SEGMENTS)


def test_rfm_bad_input_is_named():
    with pytest.raises(ValueError, match="n_purchases"):
        rfm_scores(pd.DataFrame({"recency": [1.0], "T": [2.0], "revenue": [1.0]}))
    bad = summary_frame({"a": (10, 5, 2, 10.0), "b": (10, 5, 2, np.nan)})
    with pytest.raises(ValueError, match="revenue.*\\['b'\\]"):
        rfm_scores(bad)
    bad = summary_frame({"a": (10, 50, 2, 10.0)})
    with pytest.raises(ValueError, match="recency must not exceed T"):
        rfm_scores(bad)
    with pytest.raises(ValueError, match="bins"):
        rfm_scores(summary_frame({"a": (10, 5, 2, 10.0)}), bins=1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(1, 20),
                          st.floats(-100, 1e5, allow_nan=False)), min_size=1, max_size=60),
       st.integers(2, 10))
def test_rfm_properties(rows, bins):
    data = {f"c{i}": (max(a, b), min(a, b), n, rev) for i, (a, b, n, rev) in enumerate(rows)}
    scores = rfm_scores(summary_frame(data), bins=bins, recency_unit="D")
    for col in ("R", "F", "M"):
        assert scores[col].between(1, bins).all()
    # monotone: a larger value never gets a smaller score; equal values equal scores
    for value, score in (("frequency", "F"), ("monetary", "M")):
        ordered = scores.sort_values([value, score])
        assert ordered[score].is_monotonic_increasing
    ordered = scores.sort_values(["recency_days", "R"], ascending=[True, False])
    assert ordered["R"].is_monotonic_decreasing
    res = rfm_segments(scores)
    assert res.customers["segment"].notna().all()
    assert res.segments["customers"].sum() == len(rows)


# ---------------------------------------------------------------- ABC
def test_abc_by_hand():
    revenue = pd.Series([4.0, 30.0, 10.0, 50.0, 6.0, 0.0, -5.0], index=list("abcdefg"))
    res = abc_analysis(revenue)
    cls = res.customers["abc"].astype(str)
    assert cls.to_dict() == {"d": "A", "b": "A", "c": "B", "e": "B", "a": "C", "f": "C", "g": "C"}
    assert res.classes.loc["A", "revenue_share"] == pytest.approx(0.80)
    assert res.classes.loc["B", "revenue_share"] == pytest.approx(0.16)
    assert res.classes["customers"].tolist() == [2, 2, 3]
    assert list(res.customers.index[:2]) == ["d", "b"]


def test_abc_from_summary_and_custom_thresholds(five):
    res = abc_analysis(five, thresholds=(0.5, 0.9))
    # revenue 1000, 900, 500, 100, 50 of 2550: before-shares 0, .39, .75, .94, .98
    assert res.customers["abc"].astype(str).tolist() == ["A", "A", "B", "C", "C"]
    assert json.loads(json.dumps(res.to_dict()))["thresholds"] == [0.5, 0.9]
    with pytest.raises(ValueError, match="thresholds"):
        abc_analysis(five, thresholds=(0.9, 0.5))
    with pytest.raises(ValueError, match="no positive revenue"):
        abc_analysis(pd.Series([0.0, -1.0]))
    with pytest.raises(ValueError, match="missing column"):
        abc_analysis(five.drop(columns="revenue"))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.01, 1e6, allow_nan=False), min_size=1, max_size=80),
       st.floats(0.05, 0.9), st.floats(0.01, 0.09))
def test_abc_properties(values, a, gap):
    b = min(a + gap, 0.99)
    revenue = pd.Series(values, index=[f"c{i}" for i in range(len(values))])
    res = abc_analysis(revenue, thresholds=(a, b))
    cust = res.customers
    assert len(cust) == len(values) and cust.index.is_unique and cust["abc"].notna().all()
    assert cust["cumulative_share"].is_monotonic_increasing
    assert cust["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    codes = cust["abc"].cat.codes
    assert codes.is_monotonic_increasing  # A's before B's before C's in rank order
    # the A group is the smallest top group reaching share a
    share_a = cust.loc[cust["abc"] == "A", "share"]
    assert share_a.sum() >= a - 1e-9
    assert share_a.sum() - share_a.iloc[-1] < a
    assert cust.groupby("abc", observed=True)["revenue"].min().is_monotonic_decreasing


# ---------------------------------------------------------------- XYZ
@pytest.fixture
def panel():
    series = {
        "c1": [2, 2, 2, 2],   # cv 0 -> X
        "c2": [1, 0, 1, 2],   # cv 0.707 -> Y
        "c3": [4, 0, 0, 0],   # cv 1.732 -> Z
        "c4": [1, 1],         # 2 periods -> Z, short history
        "c5": [1, 1, 1, 0],   # cv 0.577 -> Y
        "c6": [3, 1, 3, 1],   # cv exactly 0.5 -> X
    }
    rows = [(cid, pd.Timestamp("2024-01-01") + pd.DateOffset(months=k), v, 100.0 * v)
            for cid, vals in series.items() for k, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["customer_id", "period", "transactions", "revenue"])


def test_xyz_by_hand(panel):
    res = xyz_analysis(panel)
    c = res.customers
    assert c["xyz"].astype(str).to_dict() == {"c1": "X", "c2": "Y", "c3": "Z", "c4": "Z", "c5": "Y", "c6": "X"}
    assert c.loc["c2", "cv"] == pytest.approx(np.sqrt(0.5))
    assert c.loc["c3", "cv"] == pytest.approx(np.sqrt(3))
    assert c["short_history"].tolist() == [False, False, False, True, False, False]
    assert res.classes["customers"].tolist() == [2, 2, 2]
    loose = xyz_analysis(panel, min_periods=1, thresholds=(0.6, 2.0))
    assert loose.customers["xyz"].astype(str).tolist() == ["X", "Y", "Y", "X", "X", "X"]
    assert "XYZ" in str(res.summary())
    json.dumps(res.to_dict())


def test_xyz_bad_input(panel):
    with pytest.raises(ValueError, match="unique"):
        xyz_analysis(pd.concat([panel, panel.iloc[:1]]))
    with pytest.raises(ValueError, match="missing column"):
        xyz_analysis(panel.drop(columns="transactions"))
    bad = panel.copy()
    bad.loc[0, "transactions"] = -1
    with pytest.raises(ValueError, match="non-negative"):
        xyz_analysis(bad)


def test_abc_xyz_matrix(panel):
    revenue = pd.Series({"c1": 800.0, "c2": 100.0, "c3": 50.0, "c4": 30.0, "c5": 15.0, "c6": 5.0})
    abc = abc_analysis(revenue)   # A: c1 (before-share 0); B: c2 (.8), c3 (.9); C: c4 (.95), c5, c6
    res = abc_xyz(abc, xyz_analysis(panel))
    assert res.counts.loc["A"].tolist() == [1, 0, 0]
    assert res.counts.loc["B"].tolist() == [0, 1, 1]
    assert res.counts.loc["C"].tolist() == [1, 1, 1]
    assert res.counts.to_numpy().sum() == 6
    assert res.revenue_share.loc["A", "X"] == pytest.approx(0.8)
    assert res.revenue_share.to_numpy().sum() == pytest.approx(1.0)
    json.dumps(res.to_dict())


# ---------------------------------------------------------------- repeat purchase rate
def test_repeat_purchase_rate(five):
    # frequency = n_purchases - 1: 9, 0, 7, 1, 4 -> 4 of 5 repeat
    assert repeat_purchase_rate(five) == pytest.approx(0.8)
    by = repeat_purchase_rate(five, pd.Series({"c1": "2024", "c2": "2024", "c3": "2023", "c4": "2023", "c5": "2024"}))
    assert by.loc["2024", "repeat_rate"] == pytest.approx(2 / 3)
    assert by.loc["2023", "repeat_customers"] == 2
    with pytest.raises(ValueError, match="no label"):
        repeat_purchase_rate(five, pd.Series({"c1": "x"}))


# ---------------------------------------------------------------- plots
def test_plots_return_axes(five, panel):
    res = rfm_segments(rfm_scores(five, recency_unit="D"))
    for value in ("customers", "monetary", "revenue_share"):
        ax = plot_rfm_heatmap(data=res, value=value)
        assert ax.get_ylabel().startswith("R score")
        plt.close(ax.figure)
    fig, ax = plt.subplots()
    assert plot_rfm_heatmap(data=res.customers, ax=ax) is ax
    plt.close(fig)
    revenue = pd.Series({"c1": 800.0, "c2": 100.0, "c3": 50.0, "c4": 30.0, "c5": 15.0, "c6": 5.0})
    m = abc_xyz(abc_analysis(revenue), xyz_analysis(panel))
    ax = plot_abc_xyz(data=m, value="revenue_share")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["X", "Y", "Z"]
    plt.close(ax.figure)
    ax = plot_abc_xyz(data=m.customers)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="value"):
        plot_abc_xyz(data=m, value="nope")


# ---------------------------------------------------------------- with the data layer
def test_pipeline_on_synthetic_data():
    from cxlab.data import customer_period_panel, customer_summary
    from cxlab.datasets import make_demo_dataset

    ds = make_demo_dataset(400, seed=2)
    summary = customer_summary(ds.transactions, unit="W")
    res = rfm_segments(rfm_scores(summary, recency_unit="W"))
    assert res.segments["customers"].sum() == len(summary)
    assert res.segments["revenue_share"].sum() == pytest.approx(1.0)
    # Champions buy more than Lost customers on average
    assert res.segments.loc["Champions", "mean_frequency"] > res.segments.loc["Lost", "mean_frequency"]
    abc = abc_analysis(summary)
    xyz = xyz_analysis(customer_period_panel(ds.transactions, period="M"))
    m = abc_xyz(abc, xyz)
    assert m.counts.to_numpy().sum() == len(summary)
