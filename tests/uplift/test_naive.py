"""Naive difference: the LaLonde (NSW, Dehejia–Wahba) experimental benchmark."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlab.uplift import naive_difference

NSW = Path(__file__).parents[1] / "data" / "lalonde" / "nsw_dw.csv"


def test_lalonde_experimental_benchmark():
    nsw = pd.read_csv(NSW)
    res = naive_difference(nsw, outcome="re78", treatment="treat")
    assert (res.n_treated, res.n_control) == (185, 260)
    assert round(res.difference, 2) == 1794.34
    assert res.ci_low < 1794.34 < res.ci_high
    assert "1,794" in res.summary().as_text() or "1794" in res.summary().as_text()


def test_bad_treatment_column_is_explained():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4], "d": [0, 1, 2, 1]})
    with pytest.raises(ValueError, match="'d'.*0/1"):
        naive_difference(df, outcome="y", treatment="d")
    with pytest.raises(ValueError, match="missing column"):
        naive_difference(df, outcome="z", treatment="d")


def test_missing_outcome_values_are_rejected():
    df = pd.DataFrame({"y": [1.0, np.nan, 3, 4], "d": [0, 1, 0, 1]})
    with pytest.raises(ValueError, match="'y'.*missing"):
        naive_difference(df, outcome="y", treatment="d")
