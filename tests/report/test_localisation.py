"""The Russian report speaks Russian: every word a reader sees — page text and every text drawn in a
chart (titles, axes, ticks, legends, annotations, offset texts) — is Russian, apart from a short
allow-list of acronyms, units, model names and brand names. One style per language for percents."""
from __future__ import annotations

import re

import pytest
from report_helpers import make_study, render

from cxlab.report.formatting import NBSP

#: Latin-script words a Russian report may show: acronyms of the field, model and method names,
#: class letters of ABC/XYZ/RFM, Roman numerals of quarters, currency codes, brand names.
ALLOWED = {
    "NPS", "CSAT", "CES", "RFM", "ABC", "XYZ", "ROI", "LTV", "CLV", "CAC", "BG", "NBD", "RUB", "USD", "EUR",
    "A", "B", "C", "X", "Y", "Z", "R", "F", "M", "AX", "AY", "AZ", "BX", "BY", "BZ", "CX", "CY", "CZ",
    "I", "II", "III", "IV", "p", "Excel", "PDF", "Demo",
}
LATIN = re.compile(r"[A-Za-z][A-Za-z'_-]*")


def _latin_words(text: str) -> set[str]:
    # customer ids (C000123) and file names are the client's identifiers, not words
    text = re.sub(r"\b[A-Za-z]+\d[\w.-]*", " ", text)
    text = re.sub(r"\S+\.(csv|xlsx|parquet|txt)\b", " ", text)
    return {w.strip("-'_") for w in LATIN.findall(text)} - {""}


@pytest.fixture(scope="module")
def ru_report(demo_dataset):
    return render(make_study(demo_dataset, lang="ru", churn_threshold_days=90, program_cost=1_500_000,
                             reward_rate=0.03, breakage=0.2))


def test_every_section_rendered(ru_report):
    assert {s["status"] for s in ru_report.sections.values()} == {"ok"}, ru_report.sections
    assert len(ru_report.figures) >= 12


def test_page_text_has_no_english(ru_report):
    from bs4 import BeautifulSoup

    text = BeautifulSoup(ru_report.to_html(), "html.parser").get_text(" ")
    foreign = _latin_words(text) - ALLOWED
    assert not foreign, f"Latin-script words in the Russian report: {sorted(foreign)}"


def test_figure_text_has_no_english(ru_report):
    bad = {}
    for fig in ru_report.figures:
        words = set().union(*(_latin_words(t) for t in fig["texts"])) - ALLOWED
        if words:
            bad[f"{fig['number']} {fig['file']}"] = sorted(words)
    assert not bad, f"Latin-script words in the Russian charts: {bad}"


def test_charts_have_no_offset_text_or_scientific_ticks(ru_report):
    for fig in ru_report.figures:
        for text in fig["texts"]:
            assert not re.search(r"1e[+-]?\d|\d+\s*[x×]\s*10\^|\$10\^", text), (fig["file"], text)


def test_every_figure_is_captioned_and_numbered(ru_report):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(ru_report.to_html(), "html.parser")
    captions = [f.find("figcaption").get_text(" ") for f in soup.select("figure.cx-figure")]
    assert len(captions) == len(ru_report.figures)
    for k, caption in enumerate(captions, start=1):
        assert caption.startswith(f"Рисунок {k}.") and len(caption) > 40, caption


def test_one_percent_style(ru_report):
    from bs4 import BeautifulSoup

    text = BeautifulSoup(ru_report.to_html(), "html.parser").get_text(" ")
    texts = [text] + [t for f in ru_report.figures for t in f["texts"]]
    for t in texts:
        assert not re.search(r"\d%", t), re.search(r".{30}\d%.{10}", t, re.S)
        assert "%-" not in t and "процентн" not in t
        for m in re.finditer(r"\d(\s)%", t):
            assert m.group(1) == NBSP, t[max(0, m.start() - 30): m.end()]


def test_english_percent_style(demo_dataset):
    from bs4 import BeautifulSoup

    ctx = render(make_study(demo_dataset, lang="en"), "overview", "segments")
    text = BeautifulSoup(ctx.to_html(), "html.parser").get_text(" ")
    assert re.search(r"\d%", text) and not re.search(rf"\d[ {NBSP}]%", text)


def test_client_labels_name_categories(demo_dataset):
    """A client's own words for its categories (client.yml ``labels:``) win over the defaults."""
    from types import SimpleNamespace

    study = make_study(demo_dataset, lang="ru", churn_threshold_days=90)
    study.config = SimpleNamespace(labels={"social": "ВКонтакте и Телеграм", "search": {"en": "Search", "ru": "Поиск"}})
    ctx = render(study, "retention")
    assert ctx.category("social") == "ВКонтакте и Телеграм" and ctx.category("search") == "Поиск"
    assert ctx.category("organic") == "самостоятельно" and ctx.category("Пермь") == "Пермь"
    legend = [t for f in ctx.figures if f["file"].endswith("lifetime-curves") for t in f["texts"]]
    assert "ВКонтакте и Телеграм" in legend and "Поиск" in legend


def test_text_files_have_no_duplicate_keys():
    """YAML keeps the last of two equal keys silently: a text would vanish without a trace."""
    from importlib import resources

    import yaml

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        dup = {k for k in keys if keys.count(k) > 1}
        assert not dup, f"duplicate keys {sorted(dup)} at line {node.start_mark.line + 1}"
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    files = list(resources.files("cxlab.report.sections").iterdir()) + [resources.files("cxlab.report") / n
                                                                         for n in ("ui.yml", "metrics.yml")]
    for f in files:
        if f.name.endswith(".yml"):
            yaml.load(f.read_text(encoding="utf-8"), Loader=Strict)
