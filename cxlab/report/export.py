"""Executed notebook → one self-contained HTML page.

nbconvert's ``basic`` template renders only the cells (no ``<head>``, so none
of the require.js / MathJax / web-font loads of the ``lab`` and ``classic``
templates); code cells and prompts are excluded and the page is wrapped here
with the inlined ``assets/report.css``. :func:`external_resources` lists
anything in a page that a browser would fetch from elsewhere; the runner
refuses to write a report for which it is not empty.
"""
from __future__ import annotations

import copy
import functools
import html
import re
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["ExternalResourceError", "external_resources", "notebook_to_html", "page", "report_css"]


class ExternalResourceError(RuntimeError):
    """The rendered page would load something from outside the file."""


@lru_cache(maxsize=1)
def report_css() -> str:
    return resources.files("cxlab.report").joinpath("assets/report.css").read_text(encoding="utf-8")


def page(body: str, *, title: str, lang: str) -> str:
    """Wrap an HTML fragment into a complete page with the inlined stylesheet."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{report_css()}</style>\n</head>\n"
        f'<body>\n<main class="cx-report">\n{body}\n</main>\n</body>\n</html>\n'
    )


@functools.lru_cache(maxsize=1)
def _exporter() -> Any:
    """One exporter per process: building one compiles its templates (~0.15 s a report)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_markdown=False,
    )


def notebook_to_html(nb: Any, *, title: str, lang: str, footer_html: str = "") -> str:
    """Render an executed notebook's outputs (no code, no prompts, no streams) as a page."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            # printed text and warnings are for the notebook, not for the client's report
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]
    body, _ = _exporter().from_notebook_node(nb)
    text = page(body + ("\n" + footer_html if footer_html else ""), title=title, lang=lang)
    found = external_resources(text)
    if found:
        raise ExternalResourceError(f"the report would load from outside the file: {found[:5]}")
    return text


_LOCAL = re.compile(r"^(data:|#|$)", re.I)
_ATTR = re.compile(r"""<(script|link|img|iframe|source|video|audio|embed|object|use|image)\b[^>]*?\b(src|href|data|xlink:href|srcset)\s*=\s*(["'])(.*?)\3""", re.I | re.S)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)""", re.I | re.S)
_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""", re.I)


def external_resources(text: str) -> list[str]:
    """Every reference in ``text`` a browser would fetch (script/link/img sources that are
    not ``data:`` URIs, CSS ``url(...)`` and ``@import``), plus any ``<script src>``."""
    found: list[str] = []
    for tag, attr, _, value in _ATTR.findall(text):
        if tag.lower() == "script" or not _LOCAL.match(value.strip()):
            found.append(f"<{tag} {attr}={value[:80]}>")
    for _, value in _CSS_URL.findall(text):
        if not _LOCAL.match(value.strip()):
            found.append(f"url({value[:80]})")
    for value in _IMPORT.findall(text):
        found.append(f"@import {value[:80]}")
    return found
