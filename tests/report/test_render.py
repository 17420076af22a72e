"""End to end: `cxlab report --all` on demo (en), demo_ru (same data, Russian) and a broken client,
then `cxlab report demo -p lang=ru`; the HTML, metrics, manifest and index are checked.

One batch and one single run are shared by every test of this module (rendering takes seconds).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.report.formatting import NBSP
from cxlab.report.sections import SECTION_ORDER


@pytest.fixture(scope="module")
def rendered(demo_root: Path) -> dict:
    runner = CliRunner()
    batch = runner.invoke(app, ["report", "--all", "--root", str(demo_root), "--jobs", "2", "--no-progress"])
    manifest = json.loads((demo_root / "reports" / "manifest.json").read_text(encoding="utf-8"))
    single = runner.invoke(app, ["report", "demo", "-p", "lang=ru", "--root", str(demo_root)])
    rows = {r["client"]: r for r in manifest["clients"]}
    reports = demo_root / "reports"

    def load(client_row):
        html = (reports / client_row["html"]).read_text(encoding="utf-8")
        metrics = json.loads((reports / client_row["metrics"]).read_text(encoding="utf-8"))
        return html, metrics

    out = {"root": demo_root, "batch": batch, "single": single, "manifest": manifest, "rows": rows}
    for client in ("demo", "demo_ru"):
        if rows.get(client, {}).get("status") == "ok":
            out[client] = load(rows[client])
    latest = json.loads((reports / "demo" / "latest.json").read_text(encoding="utf-8"))
    out["demo_cli_ru"] = load({"html": f"demo/{latest['html']}", "metrics": f"demo/{latest['metrics']}"})
    out["latest"] = latest
    return out


def _require(rendered, key):
    if key not in rendered:
        pytest.fail(f"{key} was not rendered: {rendered['rows'].get(key)}\n{rendered['batch'].output}")
    return rendered[key]


def _assert_same_numbers(a: dict, b: dict) -> None:
    """Same names, same values: exact for counts, dates and text; floats to 1e-9 relative, since an
    optimiser may legitimately end a few ulps apart (what people read, the rounded text, is compared
    exactly by the callers)."""
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], float) or isinstance(b[name], float):
            assert a[name] == pytest.approx(b[name], rel=1e-9, abs=1e-12), name
        else:
            assert a[name] == b[name], name


# --------------------------------------------------------------------------- batch behaviour
def test_batch_isolates_the_broken_client_and_exits_non_zero(rendered):
    batch = rendered["batch"]
    assert batch.exit_code == 1, batch.output
    rows = rendered["rows"]
    assert rows["demo"]["status"] == "ok", rows["demo"]
    assert rows["demo_ru"]["status"] == "ok", rows["demo_ru"]
    broken = rows["broken"]
    assert broken["status"] == "failed"
    # a readable message naming the file, the column and what is expected, and the failing cell
    assert "DataQualityError" in broken["error"] and "amount" in broken["error"]
    assert "broken/transactions.csv" in broken["error"]
    assert "setup" in broken["failed_cell"]
    assert "Traceback" not in broken["error"]
    assert "FAILED  broken" in batch.output and "2 ok, 1 failed" in batch.output
    assert rendered["manifest"]["n_failed"] == 1 and rendered["manifest"]["jobs"] == 2


def test_manifest_csv_and_index(rendered):
    reports = rendered["root"] / "reports"
    csv = pd.read_csv(reports / "manifest.csv")
    assert list(csv["client"]) == ["broken", "demo", "demo_ru"]
    assert dict(zip(csv["client"], csv["status"])) == {"broken": "failed", "demo": "ok", "demo_ru": "ok"}
    assert {"error", "duration_s", "html", "metrics", "failed_cell"} <= set(csv.columns)
    index = BeautifulSoup((reports / "index.html").read_text(encoding="utf-8"), "html.parser")
    links = {a["href"] for a in index.find_all("a")}
    for client in ("demo", "demo_ru"):
        assert any(h.startswith(f"{client}/") and h.endswith("/report.html") for h in links)
    for href in links:
        assert (reports / href).is_file(), href
    text = index.get_text(" ")
    assert "broken" in text and "failed" in text and "amount" in text


def test_failed_client_leaves_no_complete_looking_report(rendered):
    reports = rendered["root"] / "reports"
    assert not list((reports / "broken").rglob("report.html"))
    assert not (reports / "broken" / "latest.json").exists()
    failed = list((reports / "broken").glob("*.failed"))
    assert len(failed) == 1
    error = json.loads((failed[0] / "error.json").read_text(encoding="utf-8"))
    assert error["stage"] == "execute" and "amount" in error["message"]
    assert not list(reports.rglob(".tmp-*")), "a temporary render folder was left behind"


# --------------------------------------------------------------------------- the HTML
def _soups(rendered):
    return {
        "en": _require(rendered, "demo")[0],
        "ru": _require(rendered, "demo_ru")[0],
        "ru_cli": rendered["demo_cli_ru"][0],
    }


@pytest.mark.parametrize("which", ["en", "ru", "ru_cli"])
def test_html_loads_nothing_from_the_network_and_has_no_code(rendered, which, assert_inert_svg):
    text = _soups(rendered)[which]
    soup = BeautifulSoup(text, "html.parser")
    assert soup.find("script") is None, "no script at all, inline or remote"
    for tag in soup.find_all(["link", "iframe", "embed", "object", "audio", "video", "source"]):
        pytest.fail(f"external resource tag {tag}")
    for img in soup.find_all("img"):
        assert img["src"].startswith(("data:image/png;base64,", "data:image/svg+xml;base64,")), img["src"][:60]
        if img["src"].startswith("data:image/svg+xml"):
            assert_inert_svg(base64.b64decode(img["src"].split(",", 1)[1]))
    css = " ".join(s.get_text() for s in soup.find_all("style"))
    css += " ".join(t.get("style", "") for t in soup.find_all(style=True))
    assert "@import" not in css and "@font-face" not in css
    assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", css))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "absolute URL found"
    # no code cells, prompts or template source
    assert not soup.select(".input, .input_area, .jp-InputArea, .prompt, .jp-InputPrompt")
    for source in ("sections.build", "open_report", "metrics_path", "import ", "build_summary"):
        assert source not in soup.get_text(), source
    assert "Traceback" not in text


@pytest.mark.parametrize("which", ["en", "ru"])
def test_sections_present_summary_first(rendered, which):
    html, metrics = _require(rendered, "demo" if which == "en" else "demo_ru")
    soup = BeautifulSoup(html, "html.parser")
    h2 = [h.get("id") for h in soup.find_all("h2") if h.get("id")]
    assert h2[0] == "section-summary" and "section-overview" in h2
    rendered_sections = [s["name"] for s in metrics["sections"]]
    # the demo has every input table, so every section renders
    assert rendered_sections == list(SECTION_ORDER)
    assert all(s["status"] == "ok" for s in metrics["sections"]), metrics["sections"]
    assert h2[1:] == [f"section-{s}" for s in rendered_sections]
    # every section explains how to read it
    for name in rendered_sections:
        heading = soup.find("h2", id=f"section-{name}")
        nxt = heading.find_next(class_=["cx-how-to-read"])
        following = heading.find_next("h2")
        assert nxt is not None and (following is None or nxt.sourceline <= following.sourceline), name
    assert soup.select(".cx-caveat"), "caveats are shown"
    assert soup.select("img"), "figures are embedded"
    summary = soup.find("h2", id="section-summary").find_parent(class_="cell") or soup
    # the executive summary states the key numbers in words
    for name, detail in metrics["details"].items():
        if detail["headline"] and metrics["metrics"][name] is not None:
            assert detail["text"] in summary.get_text(), name


def test_language_specific_text_and_numbers(rendered):
    en_html, en_metrics = _require(rendered, "demo")
    ru_html, ru_metrics = _require(rendered, "demo_ru")
    en, ru = BeautifulSoup(en_html, "html.parser"), BeautifulSoup(ru_html, "html.parser")
    assert en.html["lang"] == "en" and ru.html["lang"] == "ru"
    assert "Executive summary" in en.get_text() and "How to read this" in en.get_text()
    assert "Краткие выводы" in ru.get_text() and "Как читать" in ru.get_text() and "Обзор данных" in ru.get_text()
    assert "How to read this" not in ru.get_text() and "Caveat" not in ru.get_text()
    n = en_metrics["metrics"]["n_customers"]
    revenue = en_metrics["metrics"]["revenue_total"]
    assert f"{n:,}" in en.get_text()
    assert f"RUB{NBSP}{revenue:,.0f}" in en.get_text()
    assert f"{revenue:,.0f}".replace(",", NBSP) + f"{NBSP}₽" in ru.get_text()
    assert re.search(r"\d{1,2} (января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря) \d{4}",
                     ru.get_text())
    # the language changes the words, never the numbers
    _assert_same_numbers(en_metrics["metrics"], ru_metrics["metrics"])


def test_footer_reproducibility_facts(rendered):
    import pandas

    html, metrics = _require(rendered, "demo")
    footer = BeautifulSoup(html, "html.parser").find("footer", id="reproducibility")
    assert footer is not None
    text = footer.get_text(" ")
    assert metrics["data_fingerprint"] == footer.find(class_="cx-fingerprint").get_text()
    data = rendered["root"] / "data" / "demo"
    for name in ("transactions.csv", "customers.csv", "surveys.csv"):
        assert hashlib.sha256((data / name).read_bytes()).hexdigest() in text, name
    assert "churn_threshold_days" in text and "margin_rate" in text and "reward_rate" in text and "3.0%" in text
    assert "margin column" in text  # the study's margin, measured from the transactions, is stated
    assert f"pandas {pandas.__version__}" in text and "lifelines" in text and "cxlab 0." in text
    assert rendered["rows"]["demo"]["run_id"] in text
    assert footer.find("time") is not None and footer.find(class_="cx-duration").get_text()


def test_metrics_json_matches_the_data(rendered):
    _, metrics = _require(rendered, "demo")
    tx = pd.read_csv(rendered["root"] / "data" / "demo" / "transactions.csv")
    assert metrics["metrics"]["n_customers"] == tx["customer_id"].nunique()
    assert metrics["metrics"]["revenue_total"] == pytest.approx(tx["amount"].sum(), rel=1e-9)
    assert metrics["parameters"]["churn_threshold_days"] == 90 and metrics["lang"] == "en"
    assert metrics["currency"] == "RUB" and metrics["client"] == "demo"


def test_same_data_and_parameters_give_the_same_numbers(rendered):
    """demo_ru (batch) and `cxlab report demo -p lang=ru` (CLI): same files, same parameters."""
    assert rendered["single"].exit_code == 0, rendered["single"].output
    _, batch_metrics = _require(rendered, "demo_ru")
    _, cli_metrics = rendered["demo_cli_ru"]
    assert cli_metrics["lang"] == "ru"
    assert cli_metrics["data_fingerprint"] == batch_metrics["data_fingerprint"]
    drop = {"display_name"}
    assert {k: v for k, v in cli_metrics["parameters"].items() if k not in drop} == \
        {k: v for k, v in batch_metrics["parameters"].items() if k not in drop}
    _assert_same_numbers(cli_metrics["metrics"], batch_metrics["metrics"])
    assert {k: v["text"] for k, v in cli_metrics["details"].items()} == \
        {k: v["text"] for k, v in batch_metrics["details"].items()}


def test_latest_pointer_per_language(rendered):
    """The CLI's Russian run of an English client gets its own latest-ru.*; latest.html stays the client's
    own language (the batch's English report), and latest.json lists the latest run of each language."""
    reports = rendered["root"] / "reports" / "demo"
    latest = rendered["latest"]
    assert latest["lang"] == "ru"  # the CLI run came after the batch
    assert set(latest["by_lang"]) == {"en", "ru"}
    assert (reports / "latest-ru.html").read_bytes() == (reports / latest["by_lang"]["ru"]["html"]).read_bytes()
    assert (reports / "latest-en.html").read_bytes() == (reports / latest["by_lang"]["en"]["html"]).read_bytes()
    assert (reports / "latest.html").read_bytes() == (reports / latest["by_lang"]["en"]["html"]).read_bytes()
    assert "report:" in rendered["single"].output


def test_index_shows_display_names_languages_and_headline_figures(rendered):
    index = BeautifulSoup((rendered["root"] / "reports" / "index.html").read_text(encoding="utf-8"), "html.parser")
    rows = {tr.find("td").find("span").get_text(): tr for tr in index.find("tbody").find_all("tr")}
    demo = rows["demo"]
    assert demo.find("b").get_text() == "Demo Retail"
    links = {a.get_text(): a["href"] for a in demo.find_all("a")}
    assert {"English", "Русский", "PDF", "Excel"} <= set(links)
    for href in links.values():
        assert (rendered["root"] / "reports" / href).is_file(), href
    assert rows["demo_ru"].find("b").get_text() == "Демо-ритейл"
    figures = [li.get_text() for li in demo.find_all("td")[3].find_all("li")]
    assert "Customers: 2,000" in figures and any(f.startswith("Predicted value per customer") for f in figures)


# --------------------------------------------------------------------------- outputs beside the report
def test_outputs_beside_every_report(rendered):
    """report.pdf (A4), tables.xlsx with every table full length (the whole win-back list), figures/ as
    PNG at twice the page's resolution and SVG."""
    import openpyxl

    from cxlab.report.export import pdf_page_count

    reports = rendered["root"] / "reports"
    for client in ("demo", "demo_ru"):
        run = reports / rendered["rows"][client]["html"]
        folder = run.parent
        pdf = (folder / "report.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and 10 <= pdf_page_count(pdf) <= 40
        boxes = {tuple(round(float(v)) for v in m.split()) for m in re.findall(rb"/MediaBox \[([^\]]*)\]", pdf)}
        assert boxes == {(0, 0, 595, 842)}  # every page A4: 595 x 842 points
        html = BeautifulSoup(run.read_text(encoding="utf-8"), "html.parser")
        images = html.select("figure.cx-figure img")
        pngs = sorted((folder / "figures").glob("*.png"))
        assert len(pngs) == len(images) == len(sorted((folder / "figures").glob("*.svg"))) >= 12
        for img, png in zip(images, pngs):
            data = png.read_bytes()
            # the page shows the figure's SVG at the size the PNG (drawn at 2x) has at 1x
            assert abs(int.from_bytes(data[16:20], "big") / 2 - int(img["width"])) <= 1, png.name
            svg = png.with_suffix(".svg").read_bytes()
            assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
            assert img["src"] == "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"), png.name
        _, metrics = rendered[client]
        book = openpyxl.load_workbook(folder / "tables.xlsx", read_only=True)
        n_tables = len(html.select("table.cx-table"))
        assert len(book.sheetnames) >= n_tables + 2  # contents, key figures, every table (+ Excel-only ones)
        at_risk = metrics["metrics"]["customers_at_risk_valuable"]
        assert at_risk > 15
        risk_title = "Valuable customers at risk" if client == "demo" else "Ценные клиенты под угрозой"
        sheet = next(book[n] for n in book.sheetnames if risk_title in str(book[n]["A1"].value))
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == at_risk + 2  # caption, header, one row per customer
        assert isinstance(rows[2][1], float)  # numbers stay numbers
        caption = next(c for c in html.select("table.cx-table caption") if risk_title in c.get_text())
        assert len(caption.find_parent("table").find("tbody").find_all("tr")) == 15


def test_compare_two_runs(rendered):
    from cxlab.report.compare import compare_runs

    root = rendered["root"]
    result = compare_runs("demo/latest-en", "demo/latest-ru", root)
    assert list(result.parameters["parameter"]) == ["lang"]
    assert result.inputs.empty
    assert (result.metrics.dropna(subset=["difference"])["difference"].abs() < 1e-6).all()
    other = compare_runs("demo/latest-en", "demo_ru/latest-ru", root)
    assert set(other.parameters["parameter"]) == {"display_name", "lang"}
    out = CliRunner().invoke(app, ["compare", "demo/latest-en", "demo/latest-ru", "--root", str(root)])
    assert out.exit_code == 0 and "Parameters that differ" in out.output and "lang" in out.output
    assert "n_customers" in out.output
    bad = CliRunner().invoke(app, ["compare", "demo/nothing", "demo/latest-ru", "--root", str(root)])
    assert bad.exit_code == 2 and "no run" in bad.output


# --------------------------------------------------------------------------- in a real browser
_WIDE_TABLES = """Array.from(document.querySelectorAll('table')).filter(t => {
  const box = t.getBoundingClientRect(), main = document.querySelector('main').getBoundingClientRect();
  return box.right > main.right + 1 || t.scrollWidth > t.clientWidth + 1 ||
         (t.parentElement && t.parentElement.scrollWidth > t.parentElement.clientWidth + 1);
}).map(t => (t.querySelector('caption') || t.querySelector('th') || t).textContent.slice(0, 60))"""
_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _browser():
    import os

    from cxlab.report.browser import Browser, find_chromium

    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium in CI: make install-test installs Debian's chromium")
        pytest.skip("no Chromium on this machine (make install-test installs it)")
    return Browser()


@pytest.mark.parametrize("client", ["demo", "demo_ru"])
def test_report_in_a_real_browser(rendered, client):
    """Headless Chromium at 1280 px: nothing overflows sideways, no console error (a CSP violation
    would be one); printed on A4 (print stylesheet, A4's printable width) no table is wider than the page."""
    from cxlab.report.browser import A4_CONTENT_PX

    html = rendered["root"] / "reports" / rendered["rows"][client]["html"]
    with _browser() as browser:
        page = browser.open(html, width=1280)
        assert page.evaluate(_OVERFLOW) <= 0
        assert page.evaluate(_WIDE_TABLES) == []
        assert page.evaluate("document.images.length") >= 12
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert page.console_errors == []
        page.media("print")
        page.resize(A4_CONTENT_PX)
        assert page.evaluate(_WIDE_TABLES) == [], "tables clipped in the A4 print"
        assert page.evaluate(_OVERFLOW) <= 0


def test_the_browser_check_catches_what_it_looks_for(tmp_path):
    """The same checks on a page built to fail: a table too wide for A4 and an image the CSP refuses."""
    from cxlab.report.browser import A4_CONTENT_PX
    from cxlab.report.html import page as html_page

    cells = "".join(f'<td class="num">{"9" * 40}{k}</td>' for k in range(12))  # numbers never wrap
    bad = tmp_path / "bad.html"
    bad.write_text(html_page(f'<div class="cx-table-wrap"><table class="cx-table"><tr>{cells}</tr></table></div>'
                             '<img src="https://example.invalid/pixel.png">', title="bad", lang="en"))
    with _browser() as browser:
        page = browser.open(bad, width=1280)
        assert page.evaluate(_WIDE_TABLES) or page.evaluate(_OVERFLOW) > 0
        assert any("Content Security Policy" in e or "Refused" in e for e in page.console_errors), page.console_errors
        page.media("print")
        page.resize(A4_CONTENT_PX)
        assert page.evaluate(_WIDE_TABLES)


def test_russian_metrics_json_and_footer_speak_russian(rendered):
    """metrics.json's labels and definitions, and the footer's words, follow the report's language; the
    parameter names stay as client.yml and -p spell them (in <code>, beside their Russian names)."""
    html, metrics = _require(rendered, "demo_ru")
    latin = re.compile(r"[A-Za-z]{3,}")
    allowed = {"NPS", "CSAT", "CES", "RFM", "ABC", "XYZ", "ROI", "BG", "NBD"}
    for name, detail in metrics["details"].items():
        for key in ("label", "definition", "population"):
            words = set(latin.findall(detail[key])) - allowed
            assert not words, (name, key, detail[key])
    footer = BeautifulSoup(html, "html.parser").find("footer", id="reproducibility")
    for code in footer.find_all("code"):
        code.decompose()
    text = footer.get_text(" ")
    assert "окно наблюдения" in text and "нет покупок 90 дн." in text and "задан только для этого запуска" not in text
    # what is left in Latin script: versions of the libraries, file paths and digests, currency code
    words = set(latin.findall(footer.find("h3").find_next("table").get_text(" "))) - allowed
    assert words <= {"Demo", "Retail", "RUB"}, words
