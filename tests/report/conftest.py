"""A throw-away project root holding the demo client (and variants) for the report tests."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"


def _demo_files(dest: Path) -> None:
    """The repository's demo CSVs, or the same generator's output when they are not generated."""
    names = ("transactions.csv", "customers.csv", "surveys.csv", "campaigns.csv")
    if all((DEMO / n).is_file() for n in names):
        for n in names:
            shutil.copyfile(DEMO / n, dest / n)
    else:
        from cxlab.datasets import write_demo_files

        write_demo_files(dest, n_customers=2000, seed=42)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """``<tmp>/data/{demo, demo_ru, broken}``: demo as shipped, the same data in Russian, and a
    client whose transactions file lacks the required ``amount`` column."""
    root = tmp_path_factory.mktemp("cxlab_root")
    (root / "reports").mkdir()
    demo = root / "data" / "demo"
    demo.mkdir(parents=True)
    _demo_files(demo)
    shutil.copyfile(DEMO / "client.yml", demo / "client.yml")
    config = yaml.safe_load((DEMO / "client.yml").read_text(encoding="utf-8"))

    ru = root / "data" / "demo_ru"
    ru.mkdir()
    for v in config["data"].values():  # a client reads only files inside its own folder
        shutil.copyfile(demo / v["path"], ru / v["path"])
    ru_config = dict(config, language="ru", display_name="Демо-ритейл")
    (ru / "client.yml").write_text(yaml.safe_dump(ru_config, allow_unicode=True), encoding="utf-8")

    broken = root / "data" / "broken"
    broken.mkdir()
    pd.read_csv(demo / "transactions.csv").drop(columns=["amount"]).head(500).to_csv(
        broken / "transactions.csv", index=False)
    broken_config = dict(config, display_name="Broken Ltd", data={"transactions": {"path": "transactions.csv"}})
    (broken / "client.yml").write_text(yaml.safe_dump(broken_config), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def demo_dataset():
    """The demo generator's retailer, small enough for section tests (1,500 customers), with its
    promotion calendar (a discount column) as in the demo files."""
    from cxlab.datasets import make_demo_dataset

    return make_demo_dataset(1500, seed=3, discount_offers=True)

