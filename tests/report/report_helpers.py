"""Helpers of the report tests: a study of generated data, rendering sections, the CDNOW sample as a client."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make_study(ds, lang="en", **params):
    """A study of a generated dataset (its transactions, customers, surveys and campaigns)."""
    from cxlab.data import ClientData
    from cxlab.study import Study

    return Study(ClientData(ds.transactions, ds.customers, ds.surveys, campaigns=getattr(ds, "campaigns", None)),
                 params, lang=lang, currency="RUB",
                 client="demo", display_name="Demo")


def render(study, *names):
    """A ReportContext (recording only) with the named sections built (default: all, then the summary)."""
    from cxlab.report import sections
    from cxlab.report.context import ReportContext
    from cxlab.report.sections.summary import build_summary

    ctx = ReportContext(study, display=False)
    for name in names or sections.SECTION_ORDER:
        sections.build(name, ctx)
    if not names:
        build_summary(ctx)
    return ctx


def text_of(ctx) -> str:
    from bs4 import BeautifulSoup

    return squash(BeautifulSoup(ctx.to_html(), "html.parser").get_text(" "))


def squash(text: str) -> str:
    """Runs of ordinary white space as one space (no-break spaces, which keep numbers whole, stay)."""
    import re

    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def cdnow_sample_client(root: Path) -> Path:
    """The CDNOW 1/10 sample as a Russian client with only a transactions file (a header line added)."""
    folder = root / "data" / "cdnow"
    folder.mkdir(parents=True, exist_ok=True)
    sample = REPO / "tests" / "data" / "cdnow" / "CDNOW_sample.txt"
    (folder / "sample.txt").write_text(" customer_id_in_master customer_id date cds dollars\n"
                                       + sample.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "client.yml").write_text(
        "display_name: CDNOW (выборка)\nlanguage: ru\ncurrency: USD\ndata:\n  transactions:\n"
        "    path: sample.txt\n    columns: {customer_id: customer_id, date: timestamp, dollars: amount}\n",
        encoding="utf-8")
    return folder
