"""Pruning ``reports/``: old runs, failed runs and stale temporaries (``cxlab clean``).

What a client's report folder ``reports/<client>/`` holds (see
:mod:`cxlab.report.runner`):

``<run-id>/``
    a finished run (run ids start with the UTC start time, so they sort by
    time, and carry the language: ``20250101T120000123Z-en-a1b2c3``);
``<run-id>.failed/``
    a failed run: ``error.json`` and the partly executed notebook;
``.tmp-<run-id>-*/``
    a run in progress, or left by a process that was killed;
``.<name>.*.tmp``
    a file being written atomically (``latest.json``, ``latest.html``), or
    left by a killed process;
``latest.json``, ``latest.html``
    the newest run.

:func:`plan_cleanup` decides, :func:`apply_cleanup` deletes; :func:`clean_reports`
does both (or only plans, for ``--dry-run``).  Rules: keep the newest ``keep``
finished runs per client and language, and always the one ``latest.json``
names; keep the newest ``keep_failed`` failed runs per client and language;
remove temporaries older than ``temp_age_s`` (younger ones may belong to a
run in progress).  Nothing else is touched: entries are recognised by name,
symbolic links are never followed or removed, and every path removed is
checked to lie directly inside ``reports/<client>/``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from cxlab.config import CLIENT_NAME_RE, ConfigError, find_root, report_dir

__all__ = ["CleanupItem", "CleanupPlan", "apply_cleanup", "clean_reports", "plan_cleanup"]

#: A run folder's name: UTC start (to the millisecond), language, random suffix.
RUN_ID_RE = re.compile(r"^(?P<stamp>\d{8}T\d{9}Z)-(?P<lang>[a-z]{2})-(?P<tag>[0-9a-f]{6})$")
_TMP_DIR_RE = re.compile(r"^\.tmp-\d{8}T\d{9}Z-[a-z]{2}-[0-9a-f]{6}-.+$")
_TMP_FILE_RE = re.compile(r"^\.(latest\.json|latest\.html|metrics\.json|run\.json|report\.html|index\.html|"
                          r"manifest\.json|manifest\.csv)\..+\.tmp$")


@dataclass(frozen=True)
class CleanupItem:
    """One entry to remove, and why."""

    client: str
    path: Path
    kind: str  # "run" | "failed" | "temporary"
    reason: str
    bytes: int = 0


@dataclass
class CleanupPlan:
    """What :func:`plan_cleanup` found: entries to remove and finished runs kept."""

    items: list[CleanupItem] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    removed: list[CleanupItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(i.bytes for i in self.items)


def _size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += (Path(dirpath) / f).lstat().st_size
            except OSError:
                pass
    return total


def _latest_run(folder: Path) -> str | None:
    try:
        return str(json.loads((folder / "latest.json").read_text(encoding="utf-8")).get("run_id") or "") or None
    except (OSError, ValueError, AttributeError):
        return None


def _report_clients(root: Path) -> list[str]:
    reports = root / "reports"
    if not reports.is_dir():
        return []
    return sorted(p.name for p in reports.iterdir()
                  if p.is_dir() and not p.is_symlink() and CLIENT_NAME_RE.fullmatch(p.name))


def plan_cleanup(root: str | os.PathLike | None = None, clients: Iterable[str] | None = None, *,
                 keep: int = 5, keep_failed: int = 1, temp_age_s: float = 3600.0,
                 now: float | None = None) -> CleanupPlan:
    """Decide what to remove under ``reports/<client>/`` for each client (default: every client folder).

    Parameters
    ----------
    keep : int, default 5
        Finished runs kept per client and language (at least 1; the run
        ``latest.json`` names is always kept).
    keep_failed : int, default 1
        ``.failed`` runs kept per client and language (0 removes them all).
    temp_age_s : float, default 3600
        Temporaries younger than this are left alone (a run may be writing them).
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1 (the newest report of each language stays), got {keep}")
    if keep_failed < 0:
        raise ValueError(f"keep_failed must be 0 or more, got {keep_failed}")
    root_path = find_root(root)
    now = time.time() if now is None else now
    names = list(clients) if clients is not None else _report_clients(root_path)
    plan = CleanupPlan()
    for client in names:
        folder = report_dir(root_path, client)  # refuses names that would leave reports/
        if not folder.is_dir():
            if clients is not None:
                raise ConfigError(f"no report folder for {client!r} ({folder})")
            continue
        latest = _latest_run(folder)
        runs: dict[str, list[Path]] = {}
        failed: dict[str, list[Path]] = {}
        for entry in folder.iterdir():
            if entry.is_symlink():
                continue  # never follow, never remove: it may point anywhere
            name = entry.name
            if entry.is_dir():
                m = RUN_ID_RE.match(name.removesuffix(".failed"))
                if m and name.endswith(".failed"):
                    failed.setdefault(m["lang"], []).append(entry)
                elif m:
                    runs.setdefault(m["lang"], []).append(entry)
                elif _TMP_DIR_RE.match(name) and now - entry.stat().st_mtime > temp_age_s:
                    plan.items.append(CleanupItem(client, entry, "temporary", "folder of an unfinished run",
                                                  _size(entry)))
            elif entry.is_file() and _TMP_FILE_RE.match(name) and now - entry.stat().st_mtime > temp_age_s:
                plan.items.append(CleanupItem(client, entry, "temporary", "file left half-written", _size(entry)))
        for lang, group in runs.items():
            group.sort(key=lambda p: p.name, reverse=True)  # newest first
            for k, run in enumerate(group):
                if k < keep or run.name == latest:
                    plan.kept.append(run)
                else:
                    plan.items.append(CleanupItem(client, run, "run", f"older than the newest {keep} {lang} "
                                                  f"run{'s' if keep > 1 else ''}", _size(run)))
        for lang, group in failed.items():
            group.sort(key=lambda p: p.name, reverse=True)
            for run in group[keep_failed:]:
                plan.items.append(CleanupItem(client, run, "failed", "failed run"
                                              + (f" older than the newest {keep_failed}" if keep_failed else ""),
                                              _size(run)))
    plan.items.sort(key=lambda i: (i.client, i.kind, i.path.name))
    return plan


def apply_cleanup(plan: CleanupPlan, root: str | os.PathLike | None = None) -> CleanupPlan:
    """Remove the plan's entries; failures are collected in ``plan.errors``, never raised halfway."""
    root_path = find_root(root)
    for item in plan.items:
        folder = report_dir(root_path, item.client)
        path = item.path
        # Directly inside reports/<client>/, not a link: checked again right before removing.
        if path.parent.resolve() != folder or path.is_symlink() or not path.exists():
            plan.errors.append(f"{path}: skipped (no longer a plain entry of {folder})")
            continue
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            plan.removed.append(item)
        except OSError as exc:
            plan.errors.append(f"{path}: {exc.strerror or type(exc).__name__}")
    return plan


def clean_reports(root: str | os.PathLike | None = None, clients: Iterable[str] | None = None, *,
                  keep: int = 5, keep_failed: int = 1, temp_age_s: float = 3600.0,
                  dry_run: bool = False) -> CleanupPlan:
    """:func:`plan_cleanup`, then (unless ``dry_run``) :func:`apply_cleanup`."""
    plan = plan_cleanup(root, clients, keep=keep, keep_failed=keep_failed, temp_age_s=temp_age_s)
    return plan if dry_run else apply_cleanup(plan, root)
