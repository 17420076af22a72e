"""CDNOW fixtures for the LTV tests (data copied in tests/data/cdnow, see SOURCE.md there)."""
from pathlib import Path

import pandas as pd
import pytest

from cxlab.data import cohort_counts, customer_summary

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def cdnow_published_summary() -> pd.DataFrame:
    """FHL's (frequency, recency, T) of the 2,357 sample customers, 39-week calibration, weeks."""
    return pd.read_csv(DATA / "cdnow" / "cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["customer_id", "master_id", "date", "cds", "amount"], dtype={"customer_id": str})
    return pd.DataFrame({"customer_id": raw["customer_id"], "timestamp": pd.to_datetime(raw["date"].astype(str)),
                         "amount": raw["amount"].astype(float)})


@pytest.fixture(scope="session")
def cdnow_calibration(cdnow_transactions) -> pd.DataFrame:
    """39-week calibration (1997-01-01..1997-09-30) and 39-week holdout (to 1998-06-30), weeks."""
    return customer_summary(cdnow_transactions, unit="W", calibration_end="1997-09-30",
                            observation_end="1998-06-30")


@pytest.fixture(scope="session")
def cdnow_daily_cohorts(cdnow_transactions) -> pd.DataFrame:
    return cohort_counts(cdnow_transactions, period="D", observation_end="1998-06-30")


@pytest.fixture(scope="session")
def donations() -> pd.DataFrame:
    return pd.read_csv(DATA / "donations" / "donations.csv")


@pytest.fixture(scope="session")
def apparel_transactions() -> pd.DataFrame:
    tx = pd.read_csv(DATA / "apparel" / "apparelTrans.csv")
    return pd.DataFrame({"customer_id": tx["Id"].astype(str), "timestamp": pd.to_datetime(tx["Date"]),
                         "amount": tx["Price"].astype(float)})


@pytest.fixture(scope="session")
def apparel_summary(apparel_transactions) -> pd.DataFrame:
    """CLVTools' estimation period: 104 weeks from the first transaction (2005-01-02 .. 2006-12-31), weeks,
    with the static covariates Gender and Channel joined on."""
    summary = customer_summary(apparel_transactions, unit="W", calibration_end="2006-12-31")
    cov = pd.read_csv(DATA / "apparel" / "apparelStaticCov.csv")
    cov.index = cov["Id"].astype(str)
    return summary.join(cov[["Gender", "Channel"]])
