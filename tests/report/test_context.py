"""ReportContext (recording mode, no kernel): texts from templates, tables, figures, metrics, sections."""
from __future__ import annotations

import base64
import io
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from cxlab.data import ClientData  # noqa: E402
from cxlab.report import ReportContext  # noqa: E402
from cxlab.report.formatting import NBSP  # noqa: E402
from cxlab.report.html import Trusted  # noqa: E402
from cxlab.study import Study  # noqa: E402

HOSTILE = ('social<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '**bold** [x](javascript:alert(1))',
           '"><svg onload=alert(1)>', "line\nbreak # heading")


def make_ctx(lang="en", texts=None) -> ReportContext:
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "amount": [10.0, 20.0, 5.0, 7.0],
                       "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-10", "2024-03-01"])})
    study = Study(ClientData(tx), {"churn_threshold_days": 30}, lang=lang, currency="RUB", client="acme")
    ctx = ReportContext(study, display=False)
    ctx.section = "test"
    ctx.texts = texts or {
        "intro": "Channel **{name}** has {n} customers.", "title": "Title", "sub": "Sub {what}",
        "box": "Read {x}", "part_a": "First {a}.", "part_b": " Second {b}.",
    }
    return ctx


def test_text_comes_from_templates_and_every_value_is_escaped():
    for value in HOSTILE:
        ctx = make_ctx()
        ctx.text("intro", name=value, n=3)
        ctx.heading("sub", what=value)
        ctx.how_to_read("box", x=value)
        ctx.caveat("box", x=value)
        ctx.bullets([value])
        html = ctx.to_html()
        soup = BeautifulSoup(html, "html.parser")
        assert soup.find("script") is None and soup.find("img") is None and soup.find("svg") is None
        assert not any(attr.startswith("on") for tag in soup.find_all(True) for attr in tag.attrs), html
        assert soup.find("a") is None, "no link can be made from a value"
        # the value is shown as it is, as text (line breaks folded into spaces)
        shown = " ".join(value.split())
        assert shown in " ".join(soup.get_text(" ").split()), (value, soup.get_text())
    assert BeautifulSoup(make_ctx().to_html() or "<p></p>", "html.parser")


def test_templates_keep_their_markup_and_unknown_keys_are_errors():
    ctx = make_ctx("ru")
    ctx.text("intro", name="веб", n=ctx.fmt.int(12000))
    soup = BeautifulSoup(ctx.to_html(), "html.parser")
    assert soup.find("strong").get_text() == "веб"
    assert f"12{NBSP}000" in soup.get_text()
    with pytest.raises(KeyError, match="has no text 'missing'"):
        ctx.text("missing")
    with pytest.raises(KeyError, match=r"needs \['n'\]"):
        ctx.text("intro", name="x")


def test_filled_templates_pass_on_as_values_and_join():
    ctx = make_ctx()
    part = ctx.tr("part_a", a="<b>")
    assert isinstance(part, Trusted)
    ctx.text(ctx.join(part, ctx.tr("part_b", b="2")))
    text = BeautifulSoup(ctx.to_html(), "html.parser").get_text()
    assert text == "First <b>. Second 2."
    with pytest.raises(TypeError):
        ctx.join(part, "raw text")


def test_boxes_are_localised():
    ctx = make_ctx("ru")
    ctx.how_to_read("box", x="1")
    ctx.caveat("box", x="2")
    soup = BeautifulSoup(ctx.to_html(), "html.parser")
    assert soup.select_one(".cx-how-to-read .cx-box-title").get_text() == "Как читать"
    assert soup.select_one(".cx-caveat .cx-box-title").get_text() == "Оговорка"


def test_table_formats_for_people_and_escapes_cells():
    ctx = make_ctx("ru")
    df = pd.DataFrame({
        "Сегмент": ["<b>A</b>", "B"], "Клиентов": [12000, 345], "Выручка": [1234567.8, 9.5],
        "Доля": [0.25, 0.753], "С": pd.to_datetime(["2024-01-05", "2024-02-01"]), "Оценка": [1.23456, 22.5],
    })
    html = ctx.table_html(df, {"Выручка": "money", "Доля": "pct"}, caption="Итоги <i>")
    soup = BeautifulSoup(html, "html.parser")
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in soup.tbody.find_all("tr")]
    assert rows[0] == ["<b>A</b>", f"12{NBSP}000", f"1{NBSP}234{NBSP}568{NBSP}₽", f"25,0{NBSP}%",
                       f"5 января 2024{NBSP}г.", "1,2"]
    assert soup.find("b") is None and soup.caption.get_text() == "Итоги <i>"
    assert [th.get("class") for th in soup.thead.find_all("th")][1] == ["num"]


def test_empty_table_becomes_a_sentence_that_says_why():
    ctx = make_ctx()
    ctx.table(pd.DataFrame({"a": []}), caption="Thresholds", empty="no pause between purchases ended")
    ctx.table(pd.DataFrame({"a": []}))
    html = ctx.to_html()
    assert "<table" not in html
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    assert "Thresholds: no pause between purchases ended" in text
    assert "There is nothing to show in this table." in text


def test_table_shows_named_index_and_truncates():
    ctx = make_ctx()
    df = pd.DataFrame({"n": range(60)}, index=pd.Index([f"c{i}" for i in range(60)], name="cohort"))
    soup = BeautifulSoup(ctx.table_html(df, max_rows=10), "html.parser")
    assert soup.thead.find("th").get_text() == "cohort"
    assert len(soup.tbody.find_all("tr")) == 10
    assert "First 10 of 60 rows" in soup.get_text()
    with pytest.raises(ValueError, match="not in the table"):
        ctx.table(df, {"missing": "pct"})


def test_figure_embedded_png_and_closed():
    ctx = make_ctx()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ax.set_title("Falling <line>")
    ctx.figure(fig, caption='What a "line" <x> shows', alt='a "line" <x>')
    assert not plt.fignum_exists(fig.number)
    soup = BeautifulSoup(ctx.to_html(), "html.parser")
    img = soup.img
    assert img["src"].startswith("data:image/png;base64,") and img["alt"] == 'a "line" <x>'
    assert " ".join(soup.figcaption.get_text(" ").split()) == 'Figure 1. What a "line" <x> shows'
    png = base64.b64decode(img["src"].split(",", 1)[1])
    assert int.from_bytes(png[16:20], "big") // 2 == int(img["width"])  # drawn at 2x, shown at 1x
    assert "Falling <line>" in ctx.figures[0]["texts"] and ctx.figures[0]["number"] == 1
    fig2, ax2 = plt.subplots()
    ctx.figure(ax2, caption="An Axes is accepted too")
    assert ctx.figures[1]["number"] == 2
    with pytest.raises(TypeError):
        ctx.figure("not a figure", caption="x")
    with pytest.raises(ValueError, match="caption"):
        ctx.figure(plt.subplots()[0], caption=" ")


def test_figure_files_written_when_the_run_has_a_folder(tmp_path):
    ctx = make_ctx()
    ctx.output_dir = tmp_path
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    ctx.section = "overview"
    ctx.figure(fig, caption="A line", name="line")
    png = (tmp_path / "figures" / "01-overview-line.png").read_bytes()
    svg = (tmp_path / "figures" / "01-overview-line.svg").read_bytes()
    assert png[:4] == b"\x89PNG" and b"<svg" in svg
    # the page shows the vector picture, at the size the PNG (drawn at 2x) is shown at
    img = BeautifulSoup(ctx.to_html(), "html.parser").img
    assert img["src"] == "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    assert abs(int(img["width"]) - int.from_bytes(png[16:20], "big") / 2) <= 1
    assert abs(int(img["height"]) - int.from_bytes(png[20:24], "big") / 2) <= 1


def test_encode_png_round_trips_through_pillow():
    from PIL import Image

    from cxlab.report.context import encode_png

    rgb = np.random.default_rng(5).integers(0, 256, size=(23, 41, 3), dtype=np.uint8)
    data = encode_png(rgb, 220)
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGB" and image.size == (41, 23)
        assert np.array_equal(np.asarray(image), rgb)
        assert image.info["dpi"] == pytest.approx((220, 220), abs=0.05)  # whole pixels per metre
    with pytest.raises(ValueError, match="uint8"):
        encode_png(rgb.astype(np.float64), 220)


def test_same_figure_same_bytes():
    def draw():
        ctx = make_ctx()
        fig, ax = plt.subplots()
        ax.bar(["a", "b"], [3, 4])
        ctx.figure(fig, caption="Bars")
        return ctx.to_html()

    assert draw() == draw()


def test_seaborn_grid_is_accepted():
    import seaborn as sns

    ctx = make_ctx()
    grid = sns.FacetGrid(pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["a", "a", "b"]}), col="g")
    grid.map(plt.hist, "x")
    ctx.figure(grid, caption="A grid")
    assert "<img" in ctx.to_html()


def test_metrics_come_from_the_registry(tmp_path):
    ctx = make_ctx("ru")
    ctx.section = "retention"
    ctx.metric("retention_month_1", 0.2)
    ctx.metric("churn_hazard_ratio_loyalty_member", 0.8, ci=(0.7, 0.9))
    rec = ctx.metrics["retention_month_1"]
    assert rec.kind == "pct" and rec.section == "retention" and rec.headline
    assert ctx.metric_text("retention_month_1") == f"20,0{NBSP}%"
    assert ctx.metric_text("churn_hazard_ratio_loyalty_member") == f"0,80 (интервал 95{NBSP}%: от 0,70 до 0,90)"
    with pytest.raises(KeyError, match="not defined"):
        ctx.metric("made_up", 1)
    with pytest.raises(ValueError, match="belongs to section"):
        ctx.metric("nps", 10, ci=(5, 15))
    with pytest.raises(ValueError, match="already recorded"):
        ctx.metric("retention_month_1", 0.3)
    ctx.section = "survey"
    with pytest.raises(ValueError, match="95% interval"):
        ctx.metric("nps", 10)
    with pytest.raises(ValueError, match="infinite"):
        ctx.metric("survey_answers", float("inf"))
    ctx.end_section("ok")
    path = tmp_path / "m.json"
    ctx.write_metrics(path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["metrics"] == {"retention_month_1": 0.2, "churn_hazard_ratio_loyalty_member": 0.8}
    details = saved["details"]["churn_hazard_ratio_loyalty_member"]
    assert details["ci_low"] == 0.7 and details["ci_high"] == 0.9 and details["definition"] and details["population"]
    assert saved["sections"] == [{"name": "survey", "status": "ok", "reason": ""}]
    assert saved["study"]["churn"]["threshold_days"] == 30
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temp file


def test_every_registered_metric_is_complete_and_belongs_to_a_section():
    from cxlab.report.context import KINDS, metric_definitions
    from cxlab.report.sections import SECTION_ORDER

    defs = metric_definitions()
    assert len(defs) > 30
    for name, d in defs.items():
        assert d.kind in KINDS and d.section in SECTION_ORDER, name
        for lang in ("en", "ru"):
            assert all(d.texts[lang][k] for k in ("label", "definition", "population")), (name, lang)
