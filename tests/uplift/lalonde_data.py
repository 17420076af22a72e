"""LaLonde's NSW treated (Dehejia-Wahba subset) against the PSID-1 / CPS-1 comparison groups."""
from pathlib import Path

import pandas as pd

DATA = Path(__file__).parents[1] / "data" / "lalonde"
#: the Dehejia-Wahba (1999) specification
COVARIATES = ["age", "age2", "educ", "educ2", "married", "nodegree", "black", "hisp",
              "re74", "re75", "re74_2", "re75_2", "u74", "u75"]
EXPERIMENTAL, EXPERIMENTAL_SE = 1794.34, 633.0


def lalonde(group: str) -> pd.DataFrame:
    nsw = pd.read_csv(DATA / "nsw_dw.csv")
    treated = nsw[nsw["treat"] == 1].drop(columns="data_id").rename(columns={"marr": "married"})
    df = pd.concat([treated, pd.read_csv(DATA / f"{group}.csv")], ignore_index=True)
    df["age2"], df["educ2"] = df["age"] ** 2, df["educ"] ** 2
    df["re74_2"], df["re75_2"] = df["re74"] ** 2, df["re75"] ** 2
    df["u74"], df["u75"] = (df["re74"] == 0).astype(float), (df["re75"] == 0).astype(float)
    return df
