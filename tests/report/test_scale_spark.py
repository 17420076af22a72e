"""The whole report of one client gives the same metrics with its transactions on Spark as on DuckDB.

The same generated client (transactions, customers, surveys) is studied twice: transactions as a
pandas frame (the DuckDB SQL route of :mod:`cxlab.data.aggregate`) and as a ``pyspark.sql.DataFrame``
on a local Spark session (the Ibis route). The customer sample is switched on
(``customer_sample_size`` below half the customers), so the sample-restricted panel and purchase
days, the gap counts and the period moments are compared too. Every section is built and every
metric, with its interval, must agree to 1e-6 (relative).
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (extra `spark`)")

if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("no Java runtime (java not on PATH, JAVA_HOME unset): Spark cannot start", allow_module_level=True)

from report_helpers import render  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.slow]  # two whole reports and a Spark session: ~1 minute

SAMPLE = 250  # 800 customers: the sample of 250 is drawn


def _study(ds, transactions):
    from cxlab.data import ClientData
    from cxlab.study import Study

    params = {"customer_sample_size": SAMPLE, "churn_threshold_days": 90, "program_cost": 150000,
              "reward_rate": 0.03, "breakage": 0.2}
    return Study(ClientData(transactions, ds.customers, ds.surveys, campaigns=ds.campaigns), params, lang="en",
                 currency="RUB", client="scale", display_name="Scale")


def test_report_metrics_equal_on_spark_and_duckdb(spark):
    from cxlab.datasets import make_demo_dataset

    ds = make_demo_dataset(800, seed=5, discount_offers=True)  # every section has its data, campaigns included
    tx = ds.transactions[["customer_id", "timestamp", "amount", "discount"]]
    duck = render(_study(ds, tx))
    on_spark = render(_study(ds, spark.createDataFrame(tx)))

    assert duck.study.sample is not None and duck.study.sample.size == SAMPLE
    assert list(duck.study.sample.ids) == list(on_spark.study.sample.ids)
    assert duck.sections == on_spark.sections
    assert all(s["status"] == "ok" for s in duck.sections.values()), duck.sections
    assert duck.metrics.keys() == on_spark.metrics.keys()
    for name, rec in duck.metrics.items():
        other = on_spark.metrics[name]
        for a, b in [(rec.value, other.value), *zip(rec.ci or (), other.ci or ())]:
            if isinstance(a, (int, float, np.floating)) and not isinstance(a, bool):
                assert b == pytest.approx(a, rel=1e-6, abs=1e-9), name
            else:
                assert a == b, name
