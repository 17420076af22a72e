"""Report sections, in report order.

Each section is a module ``cxlab.report.sections.<name>`` exposing
``build(ctx) -> None`` and ``TEXTS = {"en": {...}, "ru": {...}}``. A section
whose module is not there (an analysis not written yet) is skipped quietly;
an error raised *inside* a section (or by an import inside it) is not
swallowed: it fails the report, with the failing cell named by the runner.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["SECTION_ORDER", "available_sections", "build", "get_section"]

#: Known sections in the order they appear in a report.
SECTION_ORDER: tuple[str, ...] = ("overview", "segments", "retention", "ltv", "loyalty", "survey")


def get_section(name: str) -> ModuleType | None:
    """The section module, or ``None`` if it does not exist (yet)."""
    if name not in SECTION_ORDER:
        raise ValueError(f"unknown report section {name!r}; known: {list(SECTION_ORDER)}")
    module_name = f"{__name__}.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # the section itself is absent; a missing dependency is an error
            return None
        raise
    if not callable(getattr(module, "build", None)):
        raise TypeError(f"{module_name} has no build(ctx) function")
    return module


def available_sections() -> list[str]:
    """Section names whose module exists, in report order."""
    return [name for name in SECTION_ORDER if get_section(name) is not None]


def build(name: str, ctx: Any) -> bool:
    """Render section ``name`` into ``ctx``; ``False`` if the section does not exist."""
    module = get_section(name)
    if module is None:
        return False
    ctx.begin_section(name, getattr(module, "TEXTS", None))
    try:
        module.build(ctx)
    finally:
        ctx.end_section()
    return True
