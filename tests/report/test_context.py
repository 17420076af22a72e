"""ReportContext (recording mode, no kernel) and the section registry."""
from __future__ import annotations

import json
import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from cxlab.report import ReportContext, sections  # noqa: E402
from cxlab.report.formatting import NBSP  # noqa: E402


def make_ctx(lang="en", **kw) -> ReportContext:
    data = types.SimpleNamespace(transactions=pd.DataFrame(), customers=None, surveys=None, quality=[])
    params = {"churn_threshold_days": 90, "observation_end": "2024-12-31", "calibration_end": None}
    return ReportContext(data, params, lang=lang, currency="RUB", client="acme", display=False, **kw)


def test_params_dates_become_timestamps():
    ctx = make_ctx()
    assert ctx.params["observation_end"] == pd.Timestamp("2024-12-31")
    assert ctx.params["calibration_end"] is None
    assert ctx.fmt.lang == "en" and ctx.currency == "RUB"


def test_text_boxes_are_localised_html():
    ctx = make_ctx("ru")
    ctx.heading("Удержание <клиентов>")
    ctx.text("Доля **растёт**")
    ctx.how_to_read("Кривая показывает...")
    ctx.caveat("Мало данных")
    soup = BeautifulSoup(ctx.to_html(), "html.parser")
    assert soup.h2.get_text() == "Удержание <клиентов>"  # escaped, not markup
    assert soup.find("strong").get_text() == "растёт"
    assert soup.select_one(".cx-how-to-read .cx-box-title").get_text() == "Как читать"
    assert soup.select_one(".cx-caveat .cx-box-title").get_text() == "Оговорка"
    assert [k for k, _ in ctx.blocks] == ["heading", "text", "how_to_read", "caveat"]


def test_table_formats_for_people():
    ctx = make_ctx("ru")
    df = pd.DataFrame({
        "Сегмент": ["A", "B"], "Клиентов": [12000, 345], "Выручка": [1234567.8, 9.5],
        "Доля": [0.25, 0.753], "С": pd.to_datetime(["2024-01-05", "2024-02-01"]), "Оценка": [1.23456, 22.5],
    })
    html = ctx.table_html(df, {"Выручка": "money", "Доля": "pct"}, caption="Итоги")
    soup = BeautifulSoup(html, "html.parser")
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in soup.tbody.find_all("tr")]
    assert rows[0] == ["A", f"12{NBSP}000", f"1{NBSP}234{NBSP}568{NBSP}₽", f"25,0{NBSP}%", f"5 января 2024{NBSP}г.", "1,2"]
    assert rows[1][3] == f"75,3{NBSP}%" and rows[1][5] == "22,5"
    assert soup.caption.get_text() == "Итоги"
    assert [th.get("class") for th in soup.thead.find_all("th")][1] == ["num"]
    assert "index" not in html  # an unnamed index is row numbers: not shown


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
    ctx.figure(fig, alt="a line")
    assert not plt.fignum_exists(fig.number)
    img = BeautifulSoup(ctx.to_html(), "html.parser").img
    assert img["src"].startswith("data:image/png;base64,") and img["alt"] == "a line"
    fig2, ax2 = plt.subplots()
    ctx.figure(ax2)  # an Axes is accepted too
    with pytest.raises(TypeError):
        ctx.figure("not a figure")


def test_same_figure_same_bytes():
    def draw():
        ctx = make_ctx()
        fig, ax = plt.subplots()
        ax.bar(["a", "b"], [3, 4])
        ctx.figure(fig)
        return ctx.to_html()

    assert draw() == draw()


def test_metrics_labels_kinds_and_json(tmp_path):
    ctx = make_ctx("ru")
    ctx.begin_section("retention", {"ru": {"metric_churn_rate": "Доля ушедших"}, "en": {}})
    ctx.metric("churn_rate", 0.2)
    ctx.metric("ltv_mean", 12345.6)
    ctx.metric("n_cohorts", 12)
    ctx.metric("first_day", pd.Timestamp("2024-01-01"))
    ctx.text("x")
    ctx.end_section()
    m = ctx.metrics
    assert m["churn_rate"].label == "Доля ушедших" and m["churn_rate"].kind == "pct"
    assert m["ltv_mean"].kind == "money" and m["n_cohorts"].kind == "int" and m["first_day"].kind == "date"
    assert ctx.metric_text("churn_rate") == f"20,0{NBSP}%"
    assert m["ltv_mean"].section == "retention"
    path = tmp_path / "m.json"
    ctx.write_metrics(path)
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["metrics"] == {"churn_rate": 0.2, "ltv_mean": 12345.6, "n_cohorts": 12, "first_day": "2024-01-01"}
    assert saved["sections"] == ["retention"]
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temp file


def test_metric_name_clash_between_sections_is_an_error():
    ctx = make_ctx()
    ctx.begin_section("ltv")
    ctx.metric("value", 1.0)
    ctx.metric("value", 2.0)  # same section may update
    ctx.end_section()
    ctx.begin_section("loyalty")
    with pytest.raises(ValueError, match="already recorded by section 'ltv'"):
        ctx.metric("value", 3.0)
    with pytest.raises(ValueError, match="infinite"):
        ctx.metric("ratio", float("inf"))


def test_registry_order_and_missing_sections(monkeypatch):
    assert sections.SECTION_ORDER == ("overview", "segments", "retention", "ltv", "loyalty", "survey")
    assert sections.get_section("overview") is not None
    monkeypatch.setattr(sections, "SECTION_ORDER", sections.SECTION_ORDER + ("not_written_yet",))
    assert sections.get_section("not_written_yet") is None
    assert sections.build("not_written_yet", make_ctx()) is False
    with pytest.raises(ValueError, match="unknown report section"):
        sections.get_section("nonsense")


def _fake_section(monkeypatch, name, module):
    monkeypatch.setattr(sections, "SECTION_ORDER", sections.SECTION_ORDER + (name,))
    monkeypatch.setitem(sys.modules, f"cxlab.report.sections.{name}", module)


def test_errors_inside_a_section_are_not_swallowed(monkeypatch):
    boom = types.ModuleType("boom")

    def build(ctx):
        ctx.heading("Boom")
        raise RuntimeError("model did not converge")

    boom.build = build
    _fake_section(monkeypatch, "boom", boom)
    ctx = make_ctx()
    with pytest.raises(RuntimeError, match="converge"):
        sections.build("boom", ctx)
    assert ctx.section is None  # the context is left clean


def test_missing_dependency_inside_a_section_is_an_error(monkeypatch, tmp_path):
    (tmp_path / "needs_dep.py").write_text("import a_package_that_is_not_installed_xyz\n\ndef build(ctx):\n    pass\n")
    monkeypatch.setattr(sections, "SECTION_ORDER", sections.SECTION_ORDER + ("needs_dep",))
    monkeypatch.setattr(sections, "__path__", [*sections.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "cxlab.report.sections.needs_dep", raising=False)
    with pytest.raises(ModuleNotFoundError, match="a_package_that_is_not_installed_xyz"):
        sections.get_section("needs_dep")


def test_section_without_output_is_not_listed(monkeypatch):
    quiet = types.ModuleType("quiet")
    quiet.build = lambda ctx: None  # inputs absent: renders nothing
    _fake_section(monkeypatch, "quiet", quiet)
    ctx = make_ctx()
    assert sections.build("quiet", ctx) is True
    assert ctx.sections_rendered == [] and ctx.blocks == []


def test_seaborn_grid_is_accepted():
    import seaborn as sns

    ctx = make_ctx()
    grid = sns.FacetGrid(pd.DataFrame({"x": [1.0, 2.0, 3.0], "g": ["a", "b", "a"]}), col="g")
    grid.map(plt.hist, "x")
    ctx.figure(grid)
    assert not plt.fignum_exists(grid.figure.number)
    assert ctx.blocks[-1][0] == "figure"
