"""Hostile client data reaching the report: nothing survives as markup, tiny clients get notes not crashes.

Script and event-handler payloads go through every text column of the data contract (ids, channels,
stores, segments, regions, touchpoints ...), the client.yml display name and the client's own column
headers, then through a real report run (Papermill kernel, HTML export); the page must hold no script,
no event handler, no javascript: URL and no element made from client data, and still show the values as
text.
"""
from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parents[2]
PAYLOADS = ('x<script>alert(1)</script>', '<img src=x onerror=alert(2)>', '"><svg onload=alert(3)>',
            "[y](javascript:alert(4))", "**z** $x^2$ {w}", r"$5 off $\frac{1}{ orders")


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    from cxlab.report.runner import render_report

    root = tmp_path_factory.mktemp("hostile_report")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    (root / "reports").mkdir()
    folder = root / "data" / "evil"
    folder.mkdir(parents=True)
    demo = REPO / "data" / "demo"
    tx = pd.read_csv(demo / "transactions.csv", dtype={"customer_id": str})
    cust = pd.read_csv(demo / "customers.csv", dtype={"customer_id": str})
    surveys = pd.read_csv(demo / "surveys.csv", dtype={"customer_id": str})
    # every customer's id carries a payload, and so does every category value
    ids = {c: f"{c}{PAYLOADS[i % len(PAYLOADS)]}" for i, c in enumerate(cust["customer_id"])}
    for frame in (tx, cust, surveys):
        frame["customer_id"] = frame["customer_id"].map(ids)
    for frame, cols in ((tx, ("channel", "store")), (cust, ("region", "acquisition_channel")),
                        (surveys, ("touchpoint",))):
        for col in cols:
            frame[col] = frame[col].astype(str) + PAYLOADS[hash(col) % len(PAYLOADS)]
    cust["segment"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(cust))]
    # the client's own header for the amount column is hostile too
    tx = tx.rename(columns={"amount": "Сумма<script>x</script>"})
    tx.to_csv(folder / "tx.csv", index=False)
    cust.to_csv(folder / "customers.csv", index=False)
    surveys.to_csv(folder / "surveys.csv", index=False)
    config = yaml.safe_load((demo / "client.yml").read_text(encoding="utf-8"))
    config.update(display_name="Acme <script>alert('name')</script> & <b>Co</b>",
                  data={"transactions": {"path": "tx.csv", "columns": {"Сумма<script>x</script>": "amount"}},
                        "customers": {"path": "customers.csv"}, "surveys": {"path": "surveys.csv"}})
    (folder / "client.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = render_report("evil", root)
    return result, Path(result.html).read_text(encoding="utf-8")


def test_no_payload_survives_as_markup(hostile_report, assert_inert_svg):
    result, page = hostile_report
    assert result.status == "ok", result  # no section failed: "$...$" in a label is text, not TeX
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("script") is None
    assert soup.find("svg") is None  # figures are pictures (<img>), never inline markup
    images = soup.find_all("img")
    assert images and all(img["src"].startswith("data:image/svg+xml;base64,") for img in images)
    for img in images:  # the labels drawn from client data are glyph outlines, and escaped where kept as text
        outside_comments = assert_inert_svg(base64.b64decode(img["src"].split(",", 1)[1]))
        assert not any(payload in outside_comments for payload in PAYLOADS)
    assert not [(t.name, a) for t in soup.find_all(True) for a in t.attrs if a.lower().startswith("on")]
    assert not re.search(r"javascript:", " ".join(a.get("href", "") for a in soup.find_all("a")))
    meta = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert meta is not None and "default-src 'none'" in meta["content"] and "script-src" not in meta["content"]


def test_the_values_are_shown_as_text(hostile_report):
    _, page = hostile_report
    text = BeautifulSoup(page, "html.parser").get_text(" ")
    assert "Acme <script>alert('name')</script> & <b>Co</b>" in text  # the title, as the client wrote it
    assert "<img src=x onerror=alert(2)>" in text  # a category value, as text


@pytest.mark.parametrize("tx", [
    pd.DataFrame({"customer_id": ["a"], "amount": [10.0], "timestamp": pd.to_datetime(["2024-01-01"])}),
    pd.DataFrame({"customer_id": ["a"] * 3, "amount": [10.0, 5, 7],
                  "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-05-01"])}),
    pd.DataFrame({"customer_id": ["a", "b"], "amount": [10.0, 5],
                  "timestamp": pd.to_datetime(["2024-01-01", "2024-01-01"])}),
], ids=["one-transaction", "one-customer", "one-day"])
def test_tiny_clients_get_notes_not_failures(tx):
    from cxlab.data import ClientData
    from cxlab.report import sections
    from cxlab.report.context import ReportContext
    from cxlab.study import Study

    ctx = ReportContext(Study(ClientData(tx), {}), display=False)
    for name in sections.SECTION_ORDER:
        sections.build(name, ctx)
    assert not [n for n, s in ctx.sections.items() if s["status"] == "failed"], ctx.sections
    for name, status in ctx.sections.items():
        assert status["status"] == "ok" or status["reason"], name


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_headline_dominated_by_an_outlier_says_so(lang):
    """One amount of 1e15: revenue, value and ABC classes describe that row; the summary and the overview say it."""
    import numpy as np

    from cxlab.data import ClientData
    from cxlab.data.io import check_values  # the loader's own value checks
    from cxlab.report import sections
    from cxlab.report.context import ReportContext
    from cxlab.report.sections.summary import build_summary
    from cxlab.study import Study

    rng = np.random.default_rng(0)
    n = 300
    tx = pd.DataFrame({"customer_id": [f"c{i % 60}" for i in range(n)], "amount": rng.uniform(100, 1000, n),
                       "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")})
    tx.loc[7, "amount"] = 1e15
    quality, checks = check_values(tx)
    assert checks.dominates() and len(checks.outliers) == 1
    data = ClientData(tx, quality=quality, checks=checks)
    ctx = ReportContext(Study(data, {}, lang=lang), display=False)
    sections.build("overview", ctx)
    build_summary(ctx)
    from bs4 import BeautifulSoup

    text = BeautifulSoup(ctx.to_html(), "html.parser").get_text(" ")
    key = "1 outlying amounts hold 100.0% of gross revenue" if lang == "en" else "На 1 выбивающихся сумм приходится"
    assert text.count(key) == 2, text[:500]  # in the overview and at the top of the summary
