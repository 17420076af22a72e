"""Render many clients at once: parallel processes, isolated failures, a manifest and an index page.

:func:`run_batch` runs :func:`cxlab.report.runner.render_report_safe` for
each client in a :class:`~concurrent.futures.ProcessPoolExecutor` (one
Papermill kernel per client, ``jobs`` at a time), so one client's bad data,
crashed kernel or timeout never stops the others. When every client is done
it writes, each atomically,

* ``reports/manifest.json`` and ``reports/manifest.csv`` — one row per client:
  ``client, status, error, failed_cell, stage, duration_s, run_id, lang,
  html, metrics`` (paths relative to ``reports/``);
* ``reports/index.html`` — a page linking the latest report of every client
  under ``reports/`` and showing this batch's failures with their messages.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from cxlab.config import ConfigError, find_root, list_clients
from cxlab.report.files import write_json_atomic, write_text_atomic
from cxlab.report.runner import RunResult, render_report_safe

__all__ = ["BatchResult", "run_batch", "write_index"]

MANIFEST_COLUMNS = ("client", "status", "error", "failed_cell", "stage", "duration_s", "run_id", "lang",
                    "html", "metrics")


@dataclass
class BatchResult:
    """What a batch did: one :class:`RunResult` per client, and where the summaries are."""

    results: list[RunResult]
    duration_s: float
    manifest_json: Path
    manifest_csv: Path
    index_html: Path

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.results if r.status != "ok"]

    @property
    def ok(self) -> bool:
        return not self.failed


def _warm_worker() -> None:
    # Papermill and nbconvert take seconds to import: pay it once per worker, not per client.
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401


def run_batch(
    clients: Iterable[str] | None = None,
    root: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    jobs: int | None = None,
    timeout: float | None = 900,
    progress: bool = True,
    template: str | os.PathLike | None = None,
    reuse_kernels: bool = True,
) -> BatchResult:
    """Render every client (default: all ``data/*/client.yml``) in parallel processes.

    Parameters
    ----------
    clients : iterable of str, optional
        Client names; default every client under ``data/``.
    root : path, optional
        Project root.
    overrides : mapping, optional
        Parameter overrides applied to every client.
    jobs : int, optional
        Parallel processes (default: number of CPU cores).
    timeout : float or None
        Seconds allowed per notebook cell.
    progress : bool
        Show a tqdm progress bar (on stderr).
    template : path, optional
        Report notebook.
    reuse_kernels : bool
        Each worker keeps one kernel for its clients, cleared between them and
        discarded after any failure (saves ~4 CPU-seconds of imports per client).
        False starts a fresh kernel per client.

    Returns
    -------
    BatchResult
        ``ok`` is False when any client failed (the CLI then exits non-zero).
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc)
    root_path = find_root(root)
    names = list(dict.fromkeys(clients)) if clients is not None else list_clients(root_path)
    if not names:
        raise ConfigError(f"no clients to render: no data/<client>/client.yml under {root_path}")
    jobs = max(1, min(int(jobs or os.cpu_count() or 1), len(names)))
    overrides = dict(overrides or {})

    results: dict[str, RunResult] = {}
    # "spawn": workers start clean (no inherited threads or sockets from the parent)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_warm_worker) as pool:
        futures = {
            pool.submit(render_report_safe, name, str(root_path), overrides, timeout=timeout, template=template,
                        reuse_kernel=reuse_kernels): name
            for name in names
        }
        with tqdm(total=len(names), desc="cxlab report", unit="client", disable=not progress) as bar:
            for future in as_completed(futures):
                name = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # the worker process itself died (killed, out of memory)
                    result = RunResult(client=name, status="failed", duration_s=0.0, stage="worker",
                                       error=f"worker process died: {type(exc).__name__}: {exc}")
                results[name] = result
                bar.set_postfix_str(f"{name}: {result.status}", refresh=False)
                bar.update()

    ordered = [results[n] for n in names]
    duration = round(time.perf_counter() - t0, 3)
    reports = root_path / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    rows = [_manifest_row(r, reports) for r in ordered]
    manifest_json = reports / "manifest.json"
    write_json_atomic(manifest_json, {
        "started": started.isoformat(),
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "duration_s": duration,
        "jobs": jobs,
        "overrides": {k: str(v) for k, v in overrides.items()},
        "n_ok": sum(r["status"] == "ok" for r in rows),
        "n_failed": sum(r["status"] != "ok" for r in rows),
        "clients": rows,
    })
    manifest_csv = reports / "manifest.csv"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(manifest_csv, buf.getvalue())
    index = write_index(root_path, ordered)
    return BatchResult(results=ordered, duration_s=duration, manifest_json=manifest_json,
                       manifest_csv=manifest_csv, index_html=index)


def _manifest_row(result: RunResult, reports: Path) -> dict[str, Any]:
    row = {k: getattr(result, k) for k in MANIFEST_COLUMNS}
    for key in ("html", "metrics"):
        if row[key]:
            try:
                row[key] = Path(row[key]).resolve().relative_to(reports.resolve()).as_posix()
            except ValueError:
                pass
    return row


def _latest_failure(folder: Path) -> dict[str, Any] | None:
    """The newest ``<run-id>.failed/error.json`` of a client (run ids sort by time)."""
    failed = sorted(folder.glob("*.failed"))
    if not failed:
        return None
    try:
        return json.loads((failed[-1] / "error.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"run_id": failed[-1].name[: -len(".failed")], "message": "failed (no error.json)"}


#: Headline figures the index shows for each client (from the latest run's metrics.json).
INDEX_METRICS = ("n_customers", "revenue_total", "repeat_purchase_rate", "clv_per_customer",
                 "customers_at_risk_valuable", "loyalty_net_value", "nps")


def _latest_runs(folder: Path) -> dict[str, dict[str, Any]]:
    """The latest run per language of one client folder (``latest-<lang>.json``, or an older ``latest.json``)."""
    runs: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("latest-*.json")) + [folder / "latest.json"]:
        if not path.is_file():
            continue
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        lang = info.get("lang")
        if lang and lang not in runs and info.get("html"):
            runs[lang] = info
    return runs


LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def _headline_cells(folder: Path, info: Mapping[str, Any]) -> tuple[str, list[str]]:
    """(display name, headline figures as lines of text) from a run's metrics.json."""
    from cxlab.report.context import metric_definitions
    from cxlab.report.formatting import Formatter

    try:
        metrics = json.loads((folder / info["metrics"]).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return "", []
    fmt = Formatter("en", metrics.get("currency", "RUB"))
    definitions = metric_definitions()
    parts = []
    for name in INDEX_METRICS:
        value = metrics.get("metrics", {}).get(name)
        if value is None or name not in definitions:
            continue
        d = definitions[name]
        kind = "num" if d.kind == "days" else d.kind
        text = fmt.auto(value, kind, d.digits if d.digits is not None else (0 if kind == "num" else None))
        detail = metrics.get("details", {}).get(name, {})
        if "ci_low" in detail and "ci_high" in detail:
            text += f" ({fmt.auto(detail['ci_low'], kind, d.digits)} to {fmt.auto(detail['ci_high'], kind, d.digits)})"
        parts.append(f"{d.label('en')}: {text}")
    return str(metrics.get("display_name", "")), parts


def write_index(root: str | os.PathLike | None = None, results: Iterable[RunResult] | None = None) -> Path:
    """Write ``reports/index.html``: every client by display name, the latest report in each language
    (HTML, PDF, Excel) with the headline figures, and the failure when the last run failed (a later
    failure than the latest good report, or a failure in ``results``)."""
    from cxlab.report.html import escape, page

    root_path = find_root(root)
    reports = root_path / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    latest: dict[str, dict[str, dict[str, Any]]] = {}
    failures: dict[str, str] = {}
    for folder in sorted(p for p in reports.iterdir() if p.is_dir()):
        runs = _latest_runs(folder)
        if runs:
            latest[folder.name] = runs
        newest = max((str(r.get("run_id", "")) for r in runs.values()), default="")
        failure = _latest_failure(folder)
        if failure and str(failure.get("run_id", "")) > newest:
            cell = f" [{failure['cell']}]" if failure.get("cell") else ""
            failures[folder.name] = f"{failure.get('stage', 'execute')}{cell}: {failure.get('message', '')}"
    for r in results or []:
        if r.status != "ok":
            where = f" [{r.failed_cell}]" if r.failed_cell else ""
            failures[r.client] = f"{r.stage}{where}: {r.error}"
        else:
            failures.pop(r.client, None)
    e = escape
    rows = []
    for client in sorted(set(latest) | set(failures)):
        runs = latest.get(client, {})
        reports_cell, display, figures = [], client, []
        for lang in sorted(runs):
            info = runs[lang]
            links = [f'<a href="{e(client)}/{e(info["html"])}">{e(LANGUAGE_NAMES.get(lang, lang))}</a>']
            for key, word in (("pdf", "PDF"), ("tables", "Excel")):
                if info.get(key):
                    links.append(f'<a href="{e(client)}/{e(info[key])}">{word}</a>')
            finished = str(info.get("finished", ""))[:16].replace("T", " ")
            reports_cell.append(f"{' · '.join(links)}<br><span class=\"cx-note\">{e(finished)} UTC</span>")
        if runs:
            first = runs[sorted(runs)[0]]
            name, figures = _headline_cells(reports / client, first)
            display = name or client
        if client in failures:
            status = '<span class="cx-status-failed">failed</span>'
            note = e(failures[client]) + (" (links: last good reports)" if runs else "")
        else:
            status, note = '<span class="cx-status-ok">ok</span>', ""
        figure_list = "".join(f"<li>{e(f)}</li>" for f in figures)
        rows.append(f"<tr><td><b>{e(display)}</b><br><span class=\"cx-note\">{e(client)}</span></td><td>{status}</td>"
                    f"<td>{'<br>'.join(reports_cell) or '—'}</td><td><ul class=\"cx-index-figures\">{figure_list}</ul></td>"
                    f"<td>{note}</td></tr>")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        f"<h1>cxlab reports</h1><p>Updated {e(stamp)}. {len(latest)} client(s) with a report"
        f"{'; last run failed for ' + str(len(failures)) if failures else ''}.</p>"
        '<table class="cx-index"><thead><tr><th>Client</th><th>Status</th><th>Latest report per language</th>'
        f"<th>Headline figures</th><th>Error</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    out = reports / "index.html"
    write_text_atomic(out, page(body, title="cxlab reports", lang="en"))
    return out
