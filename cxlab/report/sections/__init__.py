"""Report sections, in report order.

Each section is a module ``cxlab.report.sections.<name>`` with its texts beside it
in ``<name>.yml`` (``en:`` and ``ru:``). The module exposes

* ``build(ctx) -> None`` — the section's wording, tables and figures, reading
  every fact from ``ctx.study`` (a section decides nothing about the study);
* ``unmet(study) -> str | None`` (optional) — the plain-language reason, in the
  study's language, why the client's data cannot support the section, or None.

No section vanishes: :func:`build` always renders the section's title; a section
whose needs are unmet shows why and what data would enable it (``enable`` in its
texts), and a section that raises shows that it failed (the traceback goes to
the notebook, not to the report). Every section's status — ``ok``,
``not_available`` or ``failed`` — and reason are recorded in ``ctx.sections``
(and ``metrics.json``); the executive summary names the sections that were
skipped or failed.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["SECTION_ORDER", "build", "get_section"]

#: Sections in the order they appear in a report.
SECTION_ORDER: tuple[str, ...] = ("overview", "segments", "retention", "ltv", "loyalty", "survey",
                                  "cx_drivers", "reactivation", "discounts", "customer_equity")


def get_section(name: str) -> ModuleType:
    """The section module (an unknown name is an error)."""
    if name not in SECTION_ORDER:
        raise ValueError(f"unknown report section {name!r}; known: {list(SECTION_ORDER)}")
    module = importlib.import_module(f"{__name__}.{name}")
    if not callable(getattr(module, "build", None)):
        raise TypeError(f"{module.__name__} has no build(ctx) function")
    return module


def build(name: str, ctx: Any) -> str:
    """Render section ``name`` into ``ctx``; returns its status (``ok``, ``not_available``, ``failed``)."""
    module = get_section(name)
    ctx.begin_section(name)
    status, reason = "ok", ""
    try:
        ctx.section_title(name)
        unmet = getattr(module, "unmet", None)
        reason = unmet(ctx.study, ctx.texts) if unmet is not None else None
        if reason:
            status = "not_available"
            ctx.not_available(reason)
        else:
            reason = ""
            module.build(ctx)
    except Exception as exc:  # noqa: BLE001 - one failed analysis must not take the report down silently
        status, reason = "failed", ctx.failed(exc)
    finally:
        ctx.end_section(status, reason)
    return status
