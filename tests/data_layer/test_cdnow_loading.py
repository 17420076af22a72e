"""CDNOW as a real client: whitespace-aligned text, YYYYMMDD dates, ids with leading zeros.

Counts from tests/data/cdnow/SOURCE.md (Fader & Hardie's CDNOW master file: 69,659 rows,
23,570 customers; the 1/10 sample: 6,919 rows, 2,357 customers).
"""
from pathlib import Path

import pandas as pd
import pytest

from cxlab.data.io import read_table

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow"
MAPPING = {"customer_id": "customer_id", "date": "timestamp", "dollar_value": "amount"}


@pytest.fixture(scope="module")
def master():
    return read_table(CDNOW / "CDNOW_master.txt", columns=MAPPING, sep="whitespace", date_format="%Y%m%d",
                      duplicates="keep")


def test_master_counts_and_values(master):
    f = master.frame
    assert len(f) == 69_659
    assert f["customer_id"].nunique() == 23_570
    assert f["amount"].sum() == pytest.approx(2_500_315.63, abs=0.005)
    assert f["customer_id"].dtype == object and f["customer_id"].iloc[0] == "00001"
    assert f["timestamp"].dtype == "datetime64[ns]"
    assert f["timestamp"].min() == pd.Timestamp("1997-01-01")
    assert f["timestamp"].max() == pd.Timestamp("1998-06-30")
    # first and last lines of the file: " 00001 19970101  1   11.77", " 23570 19970326  2   42.96"
    assert tuple(f.iloc[0][["customer_id", "timestamp", "amount"]]) == ("00001", pd.Timestamp("1997-01-01"), 11.77)
    assert tuple(f.iloc[-1][["customer_id", "timestamp", "amount"]]) == ("23570", pd.Timestamp("1997-03-26"), 42.96)
    cust2 = f[f["customer_id"] == "00002"]
    assert cust2["amount"].tolist() == [12.00, 77.00]
    assert master.source.row_numbers[-1] == 69_660  # header is line 1
    assert list(f.columns) == ["customer_id", "timestamp", "amount", "is_return"]
    assert not f["is_return"].any()
    assert master.source.ignored_columns == ["number_of_cds"]


def test_master_defaults_detect_layout_and_flag_repeated_lines():
    lt = read_table(CDNOW / "CDNOW_master.txt", columns=MAPPING)  # separator and date layout detected
    assert lt.source.sep == "whitespace"
    # no order id: the 255 repeated lines may be genuine second purchases, so they are kept and flagged
    (flagged,) = [i for i in lt.quality.select(action="flagged") if "repeat" in i.message]
    assert flagged.rows_count == 255 and len(lt.frame) == 69_659
    dropped = read_table(CDNOW / "CDNOW_master.txt", columns=MAPPING, duplicates="drop")
    assert len(dropped.frame) == 69_659 - 255


def test_sample_without_header():
    names = ["customer_id", "customer_id_in_master", "timestamp", "cds", "amount"]
    lt = read_table(CDNOW / "CDNOW_sample.txt", header=None, names=names, sep="whitespace",
                    date_format="%Y%m%d", duplicates="keep")
    f = lt.frame
    assert len(f) == 6_919 and f["customer_id"].nunique() == 2_357
    assert tuple(f.iloc[0][["customer_id", "timestamp", "amount"]]) == ("00004", pd.Timestamp("1997-01-01"), 29.33)
    assert lt.source.row_numbers[0] == 1 and "line numbers" in lt.source.row_note
