"""Report wording, kept as data: one YAML file per section beside its module, plus the UI texts.

``cxlab/report/sections/<name>.yml`` holds ``en:`` and ``ru:`` mappings with the
same keys; a translator edits them without touching code. Values are Markdown
templates with ``{name}`` fields that sections fill through the report context
(which escapes every value, see :mod:`cxlab.report.html`), or nested mappings
(labels of categories, method names ...). ``cxlab/report/ui.yml`` holds the
words of the report frame (boxes, notes, "not available").
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["LANGUAGES", "load_texts", "ui_texts"]

LANGUAGES = ("en", "ru")


def _read(package: str, name: str) -> dict[str, Any]:
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    missing = [lang for lang in LANGUAGES if not isinstance(data.get(lang), dict)]
    if missing:
        raise ValueError(f"{package}/{name}: no texts for language(s) {missing}")
    return data


@lru_cache(maxsize=None)
def load_texts(section: str) -> dict[str, dict[str, Any]]:
    """``{"en": {...}, "ru": {...}}`` of ``sections/<section>.yml`` ({} when the section has none)."""
    try:
        return _read("cxlab.report.sections", f"{section}.yml")
    except FileNotFoundError:
        return {lang: {} for lang in LANGUAGES}


@lru_cache(maxsize=None)
def ui_texts() -> dict[str, dict[str, Any]]:
    """The report frame's own words (``cxlab/report/ui.yml``)."""
    return _read("cxlab.report", "ui.yml")
