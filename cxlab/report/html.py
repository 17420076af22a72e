"""HTML of a report: the one path by which any text reaches the page, and the page itself.

Client data is hostile until escaped. Everything a report shows goes through
this module:

* :func:`render_text` fills a trusted Markdown template (from a section's text
  file) with values; every value is escaped for Markdown and for HTML unless
  it is :class:`Trusted` (a template already filled this way). The Markdown is
  rendered with raw HTML escaped as well, so even a template cannot inject
  markup.
* :func:`escape` is for text placed in HTML built here (table cells, headings,
  captions, alt texts, the footer).
* :func:`page` wraps a report in a page with the inlined stylesheet and a
  Content-Security-Policy that forbids scripts and any load from outside the
  file; :func:`notebook_to_html` renders the executed notebook's outputs (no
  code) into it and refuses a page that would still reference anything
  outside (:func:`external_resources`) or carry a script or an event handler
  (:func:`active_content`).
"""
from __future__ import annotations

import copy
import functools
import html as _html
import re
import string
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

__all__ = [
    "ExternalResourceError", "Trusted", "active_content", "escape", "escape_markdown", "external_resources",
    "markdown_to_html", "notebook_to_html", "page", "render_text", "report_css",
]

#: Scripts, plugins and every load from outside the page are forbidden; images and fonts only as data: URIs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "base-uri 'none'; form-action 'none'"
)


class ExternalResourceError(RuntimeError):
    """The rendered page would load something from outside the file, or run a script."""


class Trusted(str):
    """Markdown that is safe to insert as it is: a template filled by :func:`fill`."""


def escape(text: Any) -> str:
    """``text`` as HTML text (``<``, ``>``, ``&`` and both quotes escaped)."""
    return _html.escape(str(text), quote=True)


_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")  # not NBSP: it keeps numbers whole
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~=:&\"'$^])")


def escape_markdown(text: Any) -> str:
    """``text`` with every ASCII punctuation Markdown could read as syntax backslash-escaped,
    and line breaks folded into spaces (a value is part of a sentence, never a block)."""
    return _MD_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)))


def fill(template: str, values: Mapping[str, Any]) -> Trusted:
    """``template`` (trusted Markdown with ``{name}`` fields) with escaped ``values``.

    Raises
    ------
    KeyError
        A field of the template has no value (a template and its caller disagree).
    """
    safe = {k: v if isinstance(v, Trusted) else escape_markdown(v) for k, v in values.items()}
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = sorted(names - set(safe))
    if missing:
        raise KeyError(f"text template needs {missing}: {template[:80]!r}")
    return Trusted(template.format_map(safe))


_MD = None


def markdown_to_html(text: str) -> str:
    """Markdown → HTML (mistune, which nbconvert already depends on), raw HTML escaped."""
    global _MD
    if _MD is None:
        import mistune

        _MD = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    return str(_MD(str(text))).strip()


def render_text(template: str, values: Mapping[str, Any] | None = None) -> str:
    """A trusted Markdown template filled with escaped values, as HTML."""
    return markdown_to_html(fill(template, values or {}))


# --------------------------------------------------------------------------- the page
@lru_cache(maxsize=1)
def report_css() -> str:
    return resources.files("cxlab.report").joinpath("assets/report.css").read_text(encoding="utf-8")


def page(body: str, *, title: str, lang: str) -> str:
    """Wrap an HTML fragment into a complete page with the inlined stylesheet and the CSP."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>\n{report_css()}</style>\n</head>\n"
        f'<body>\n<main class="cx-report">\n{body}\n</main>\n</body>\n</html>\n'
    )


@functools.lru_cache(maxsize=1)
def _exporter() -> Any:
    """One exporter per process: building one compiles its templates (~0.15 s a report).

    nbconvert's ``basic`` template renders only the cells (no ``<head>``, so none of the
    require.js / MathJax / web-font loads of the ``lab`` and ``classic`` templates).
    """
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
            # printed text, warnings and tracebacks are for the notebook, not for the client's report
            cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") not in ("stream", "error")]
    body, _ = _exporter().from_notebook_node(nb)
    text = page(body + ("\n" + footer_html if footer_html else ""), title=title, lang=lang)
    found = external_resources(text) + active_content(text)
    if found:
        raise ExternalResourceError(f"the report would load from outside the file or run code: {found[:5]}")
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


_SCRIPT = re.compile(r"<\s*script\b", re.I)
_HANDLER = re.compile(r"<[a-z][^>]*?\s(on[a-z]+)\s*=", re.I | re.S)
_JS_URL = re.compile(r"""\b(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I)


def active_content(text: str) -> list[str]:
    """Scripts, event-handler attributes (``onerror=`` ...) and ``javascript:`` URLs in ``text``."""
    found = [f"<script> at {m.start()}" for m in _SCRIPT.finditer(text)]
    found += [f"{m.group(1)}= at {m.start()}" for m in _HANDLER.finditer(text)]
    found += [f"javascript: URL at {m.start()}" for m in _JS_URL.finditer(text)]
    return found
