"""Robustness checks and the retention helpers."""
import numpy as np
import pandas as pd
import pytest

from cxlab.uplift import baseline_churn_rate, robustness_checks
from cxlab.uplift.panel import NEVER, MemberPanel


def _panel(seed=0, n=3000, T=24):
    rng = np.random.default_rng(seed)
    segment = rng.choice(["a", "b"], n)
    level = np.where(segment == "a", 0.6, 2.0)
    join = np.where(rng.random(n) < np.where(segment == "a", 0.1, 0.5), rng.integers(10, T - 4, n), NEVER)
    member = (np.arange(T)[None, :] >= join[:, None]) & (join[:, None] < T)
    tx = rng.poisson(level[:, None] * (1 + 0.3 * member)).astype(float)
    return MemberPanel(np.arange(n).astype(str).astype(object), pd.date_range("2023-01-01", periods=T, freq="MS"),
                       tx * 10, tx, np.zeros(n, dtype=int), join, pd.DataFrame({"segment": segment}))


def test_robustness_table_has_placebo_and_windows():
    rob = robustness_checks(_panel(), pre=4, post=4, windows=(3, 4, 20), outcomes=("spend",))
    assert list(rob["check"].unique()) == ["placebo", "window"]
    placebo = rob[rob["check"] == "placebo"].iloc[0]
    assert np.isfinite(placebo["att"]) and placebo["se"] > 0
    # 20-month windows do not fit a 24-month panel: reported, not raised
    assert rob["setting"].str.contains("not estimable").any()
    assert rob[rob["setting"].str.startswith("3 months")]["att"].notna().all()


def test_baseline_churn_rate_is_events_over_non_member_exposure():
    durations = pd.DataFrame(
        {"start": pd.to_datetime(["2024-01-01"] * 3), "duration": [304.375, 608.75, 304.375], "event": [True, False, True]},
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"],
                              "loyalty_join_date": [pd.NaT, pd.Timestamp("2024-01-01") + pd.Timedelta(days=304.375), pd.NaT]})
    # a: 10 months, churned; b: 10 months as non-member then member; c: 10 months, churned
    assert baseline_churn_rate(durations, customers) == pytest.approx(2 / 30)


def test_smd_of_an_empty_weighted_sample_is_nan_not_an_error():
    """A placebo or window variant where no member finds a match must not crash the balance table."""
    import numpy as np

    from cxlab.uplift._utils import smd

    x = np.array([1.0, 2.0, 3.0, 4.0])
    d = np.array([True, True, False, False])
    assert np.isnan(smd(x, d, w_treated=np.zeros(2)))
    assert np.isnan(smd(x, d, w_control=np.zeros(2)))
    assert smd(x, d) == smd(x, d, w_treated=np.ones(2), w_control=np.ones(2))
