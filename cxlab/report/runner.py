"""Render one client's report: configuration → Papermill → HTML → ``reports/<client>/<run-id>/``.

Steps of :func:`render_report`:

1. read and validate ``data/<client>/client.yml`` with the ``-p`` overrides
   (a bad name, path or value stops here, before any kernel starts) — the only
   time a run reads it;
2. fingerprint the input files (:mod:`cxlab.report.provenance`);
3. write the resolved configuration to ``config.json`` in a temporary folder
   ``reports/<client>/.tmp-<run-id>-*`` and execute ``notebooks/report.ipynb``
   with Papermill (:mod:`cxlab.report.notebook`), which reads it;
4. move the executive summary to the top, add the reproducibility footer,
   convert to HTML without code (:mod:`cxlab.report.html`) and check that the
   page loads nothing from outside the file and runs no script;
5. write ``report.html``, ``report.pdf``, ``metrics.json``, ``run.json`` and
   the executed ``report.ipynb`` into the temporary folder (the kernel has
   written ``tables.xlsx`` and ``figures/`` there), then rename it to
   ``reports/<client>/<run-id>/`` in one ``os.replace`` and update
   ``reports/<client>/latest-<lang>.{json,html}``, ``latest.json`` (the latest
   run per language) and ``latest.html`` (the client's own language), each atomically.

Beside ``report.html`` every run writes ``report.pdf`` (A4, printed by headless
Chromium, :mod:`cxlab.report.export`), ``tables.xlsx`` (every table, full
length) and ``figures/`` (each chart as PNG at twice the page's resolution and
as SVG, for slides).

A crash at any step leaves either nothing or a folder whose name starts with
``.tmp-`` (or ends with ``.failed``, holding ``error.json`` and the partly
executed notebook); never a ``<run-id>/report.html`` that looks complete. A
section that fails inside a finished report is shown as failed in it; the run's
status is then ``partial`` (see :class:`RunResult`).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import secrets
import sys
import shutil
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from cxlab.config import ConfigError, find_root, load_client_config
from cxlab.report.files import copy_atomic, write_json_atomic, write_text_atomic
from cxlab.report.notebook import NotebookError, discard_worker_kernel, execute_notebook, short, source_root
from cxlab.report.provenance import data_fingerprint, file_sha256, footer_html, library_versions

__all__ = ["ReportError", "RunResult", "default_template", "render_report", "render_report_safe"]


class ReportError(RuntimeError):
    """A report failed; ``stage``, ``cell`` and ``message`` say where and why."""

    def __init__(self, client: str, message: str, *, stage: str = "execute", cell: str | None = None,
                 run_dir: Path | None = None, details: str = ""):
        self.client, self.message, self.stage, self.cell = client, message, stage, cell
        self.run_dir, self.details = run_dir, details
        where = f" in {cell}" if cell else ""
        super().__init__(f"{client}: {stage} failed{where}: {message}")


@dataclass
class RunResult:
    """Outcome of one client's run (one row of the batch manifest).

    ``status`` is ``ok``, ``partial`` (the report was written but some sections
    failed: ``failed_sections``) or ``failed`` (no report).
    """

    client: str
    status: str
    duration_s: float
    run_id: str | None = None
    lang: str | None = None
    html: str | None = None
    metrics: str | None = None
    run_dir: str | None = None
    error: str | None = None
    stage: str | None = None
    failed_cell: str | None = None
    failed_sections: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_template(root: Path) -> Path:
    """``<root>/notebooks/report.ipynb``, else the template shipped next to the cxlab sources."""
    for candidate in (root / "notebooks" / "report.ipynb", source_root() / "notebooks" / "report.ipynb"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no report template: looked for notebooks/report.ipynb in {root} and {source_root()}")


def _reorder(nb: Any) -> Any:
    """Put the executive summary (run last, after every metric exists) right after the title."""
    def has(cell, tag):
        return tag in cell.get("metadata", {}).get("tags", [])

    cells = list(nb.cells)
    summary = [c for c in cells if has(c, "executive-summary")]
    if summary and any(has(c, "setup") for c in cells):
        rest = [c for c in cells if not has(c, "executive-summary")]
        setup = next(i for i, c in enumerate(rest) if has(c, "setup"))
        nb.cells = rest[: setup + 1] + summary + rest[setup + 1:]
    return nb


def _remove_stale_temporaries(folder: Path, older_than_s: float = 24 * 3600) -> None:
    """Delete ``.tmp-*`` folders left by runs that were killed (a day old: never a live run's)."""
    now = time.time()
    for tmp in folder.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if tmp.is_dir() and now - tmp.stat().st_mtime > older_than_s:
                shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _new_run_id(started: _dt.datetime, lang: str) -> str:
    return f"{started:%Y%m%dT%H%M%S}{started.microsecond // 1000:03d}Z-{lang}-{secrets.token_hex(3)}"


def _write_pdf(html: Path, pdf: Path, *, reuse_browser: bool) -> dict[str, Any]:
    """``report.pdf`` beside the HTML (A4, Chromium); without Chromium the run goes on and says so."""
    from cxlab.report.browser import BrowserError, find_chromium
    from cxlab.report.export import write_pdf

    if find_chromium() is None:
        return {"path": None, "reason": "no Chromium found (make install-test installs Debian's chromium)"}
    try:
        browser = worker_browser() if reuse_browser else None
        pages = write_pdf(html, pdf, browser=browser)
    except (BrowserError, OSError) as exc:
        if reuse_browser:
            discard_worker_browser()
        return {"path": None, "reason": f"Chromium could not print the report: {short(exc)}"}
    return {"path": "report.pdf", "pages": pages}


def _outputs(folder: Path, pdf: Mapping[str, Any]) -> dict[str, Any]:
    figures = sorted(p.name for p in (folder / "figures").glob("*")) if (folder / "figures").is_dir() else []
    return {"html": "report.html", "pdf": dict(pdf), "tables": "tables.xlsx" if (folder / "tables.xlsx").is_file()
            else None, "figures": figures, "metrics": "metrics.json", "notebook": "report.ipynb"}


def _publish_latest(out_base: Path, final: Path, cfg: Any, run_id: str) -> None:
    """Point ``latest-<lang>.{json,html}`` at the new run; ``latest.json`` lists the latest run per
    language, and ``latest.html`` is the latest report in the client's own language (a run with
    ``-p lang=..`` in another language never replaces it)."""
    entry = {"run_id": run_id, "lang": cfg.lang, "html": f"{run_id}/report.html", "metrics": f"{run_id}/metrics.json",
             "pdf": f"{run_id}/report.pdf" if (final / "report.pdf").is_file() else None,
             "tables": f"{run_id}/tables.xlsx" if (final / "tables.xlsx").is_file() else None,
             "finished": _dt.datetime.now(_dt.timezone.utc).isoformat()}
    write_json_atomic(out_base / f"latest-{cfg.lang}.json", entry)
    copy_atomic(final / "report.html", out_base / f"latest-{cfg.lang}.html")
    by_lang = {}
    for path in sorted(out_base.glob("latest-*.json")):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        by_lang[info.get("lang", path.stem[len("latest-"):])] = info
    write_json_atomic(out_base / "latest.json", {**entry, "by_lang": by_lang})
    if "lang" not in cfg.overridden:
        copy_atomic(final / "report.html", out_base / "latest.html")


_WORKER_BROWSER: Any = None


def worker_browser() -> Any:
    """The Chromium a batch worker keeps between clients for their PDFs (started on first use)."""
    global _WORKER_BROWSER
    if _WORKER_BROWSER is None:
        import atexit

        from cxlab.report.browser import Browser

        _WORKER_BROWSER = Browser()
        atexit.register(discard_worker_browser)
    return _WORKER_BROWSER


def discard_worker_browser() -> None:
    global _WORKER_BROWSER
    browser, _WORKER_BROWSER = _WORKER_BROWSER, None
    if browser is not None:
        browser.close()


def _resources(kernel: Mapping[str, Any], timings: Mapping[str, float]) -> dict[str, Any]:
    """Seconds and peak memory (GiB) of every stage of the run, in order: the kernel's stages (setup,
    each section, the tables), then the runner's own (page and PDF; its peak is the runner process's)."""
    import resource

    out = dict(kernel)
    runner_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**30 if sys.platform == "darwin" else 2**20)
    if "execute" in timings and "cells" in timings:
        out["kernel_start"] = {"seconds": round(timings["execute"] - timings["cells"], 3)}
    for key in ("html", "pdf"):
        if key in timings:
            out[key] = {"seconds": round(timings[key], 3), "peak_rss_gib": round(runner_peak, 3)}
    return out


# --------------------------------------------------------------------------- entry points
def render_report(
    client: str | os.PathLike,
    root: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = 900,
    template: str | os.PathLike | None = None,
    reuse_kernel: bool = False,
) -> RunResult:
    """Render one client's report (see the module docstring for the steps).

    Parameters
    ----------
    client : str or path
        Client name or the path of its folder / ``client.yml`` inside ``data/``.
    root : path, optional
        Project root (default: ``CXLAB_ROOT`` or the folder with ``data/``).
    overrides : mapping, optional
        Parameter overrides (values as text or typed), e.g. ``{"lang": "ru"}``.
    timeout : float or None
        Seconds allowed per notebook cell.
    template : path, optional
        Report notebook (default ``notebooks/report.ipynb``).
    reuse_kernel : bool
        Run on this process's kept kernel (batch workers) instead of a fresh
        kernel that is shut down afterwards.

    Returns
    -------
    RunResult
        With ``status="ok"`` (or ``"partial"``) and the paths written.

    Raises
    ------
    ReportError
        With the stage (``config``, ``execute``, ``export``), the failing cell and a readable message.
    """
    t0 = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc)
    name = Path(os.fspath(client)).name if os.sep in os.fspath(client) else os.fspath(client)
    try:
        root_path = find_root(root)
        cfg = load_client_config(client, root_path, overrides)
        template_path = Path(template) if template else default_template(root_path)
    except (ConfigError, FileNotFoundError) as exc:
        raise ReportError(name, str(exc), stage="config") from None
    name = cfg.name

    out_base = cfg.report_dir
    run_id = _new_run_id(started, cfg.lang)
    try:
        out_base.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(out_base)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{run_id}-", dir=out_base))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp gives 0700; a report folder is as readable as any other
    except OSError as exc:  # a read-only reports/, a full disk: say which folder and why, nothing else
        raise ReportError(name, f"cannot write the report folder {out_base}: {exc.strerror or exc}",
                          stage="output") from None
    stage = "fingerprint"
    timings: dict[str, float] = {"config": time.perf_counter() - t0}
    try:
        mark = time.perf_counter()
        fingerprint = data_fingerprint(cfg)
        template_sha = file_sha256(template_path)
        write_json_atomic(tmp / "config.json", cfg.to_resolved())
        timings["fingerprint"] = time.perf_counter() - mark
        stage = "execute"
        mark = time.perf_counter()
        parameters = {"client": cfg.name, "config_path": str(tmp / "config.json"),
                      "metrics_path": str(tmp / "kernel-metrics.json"), "output_dir": str(tmp)}
        try:
            nb = execute_notebook(template_path, tmp / "report.ipynb", parameters, root_path, timeout, reuse_kernel)
        except NotebookError as exc:
            raise ReportError(cfg.name, exc.message, stage="execute", cell=exc.cell, details=exc.details) from None
        timings["execute"] = time.perf_counter() - mark
        timings["cells"] = sum(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0) for c in nb.cells)
        stage = "export"
        mark = time.perf_counter()
        kernel_metrics = json.loads((tmp / "kernel-metrics.json").read_text(encoding="utf-8"))
        (tmp / "kernel-metrics.json").unlink()
        (tmp / "stages.json").unlink(missing_ok=True)  # the progress file: run.json has the stages now
        versions = library_versions()
        footer = footer_html(cfg, fingerprint, versions, run_id=run_id, started=started,
                             duration_s=time.perf_counter() - t0, template_sha=template_sha,
                             study=kernel_metrics.get("study"))
        from cxlab.report.html import notebook_to_html

        page = notebook_to_html(_reorder(nb), title=cfg.display_name, lang=cfg.lang, footer_html=footer)
        write_text_atomic(tmp / "report.html", page)
        timings["html"] = time.perf_counter() - mark
        stage = "pdf"
        mark = time.perf_counter()
        pdf = _write_pdf(tmp / "report.html", tmp / "report.pdf", reuse_browser=reuse_kernel)
        timings["pdf"] = time.perf_counter() - mark
        timings.update({f"kernel_{k}": v for k, v in kernel_metrics.get("timings", {}).items()})
        sections = kernel_metrics.get("sections", [])
        failed_sections = [s["name"] for s in sections if s.get("status") == "failed"]
        metrics = {
            "client": cfg.name,
            "display_name": cfg.display_name,
            "lang": cfg.lang,
            "currency": cfg.currency,
            "cxlab_version": versions["cxlab"],
            "parameters": {k: v for k, v in cfg.to_dict().items() if k not in ("client", "data")},
            "overridden": sorted(cfg.overridden),
            "study": kernel_metrics.get("study", {}),
            "data_fingerprint": fingerprint["sha256"],
            "sections": sections,
            "metrics": kernel_metrics["metrics"],
            "details": kernel_metrics.get("details", {}),
        }
        write_json_atomic(tmp / "metrics.json", metrics)
        status = "partial" if failed_sections else "ok"
        finished = _dt.datetime.now(_dt.timezone.utc)
        write_json_atomic(tmp / "run.json", {
            "run_id": run_id, "client": cfg.name, "status": status, "failed_sections": failed_sections,
            "started": started.isoformat(), "finished": finished.isoformat(),
            "duration_s": round(time.perf_counter() - t0, 3),
            "config": cfg.to_dict(), "overridden": sorted(cfg.overridden),
            "inputs": fingerprint, "template": {"path": str(template_path), "sha256": template_sha},
            "versions": versions, "outputs": _outputs(tmp, pdf),
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "resources": _resources(kernel_metrics.get("resources", {}), timings),
        })
        stage = "publish"
        final = out_base / run_id
        os.replace(tmp, final)  # one rename: the run folder appears complete or not at all
    except BaseException as exc:
        if reuse_kernel:
            discard_worker_kernel()  # a kernel that failed (or timed out mid-cell) is not trusted again
        err = exc if isinstance(exc, ReportError) else ReportError(
            name, f"{type(exc).__name__}: {short(exc)}", stage=stage, details=traceback.format_exc())
        failed_dir = out_base / f"{run_id}.failed"
        with contextlib.suppress(Exception):
            (tmp / "report.html").unlink(missing_ok=True)  # never leave a page that looks complete
            write_json_atomic(tmp / "error.json", {
                "client": name, "run_id": run_id, "stage": err.stage, "cell": err.cell,
                "message": err.message, "details": err.details,
            })
            os.replace(tmp, failed_dir)
            err.run_dir = failed_dir
        if isinstance(exc, Exception):
            raise err from None
        raise  # KeyboardInterrupt / SystemExit: stop, after leaving the .failed folder

    html_path = final / "report.html"
    _publish_latest(out_base, final, cfg, run_id)
    return RunResult(
        client=cfg.name, status=status, duration_s=round(time.perf_counter() - t0, 3), run_id=run_id,
        lang=cfg.lang, html=str(html_path), metrics=str(final / "metrics.json"), run_dir=str(final),
        failed_sections=failed_sections,
        error=f"sections that failed: {', '.join(failed_sections)}" if failed_sections else None,
    )


def render_report_safe(client: str, root: str | os.PathLike | None = None,
                       overrides: Mapping[str, Any] | None = None, *, timeout: float | None = 900,
                       template: str | os.PathLike | None = None, reuse_kernel: bool = False) -> RunResult:
    """:func:`render_report` that never raises: a failure becomes ``status="failed"`` with the message."""
    t0 = time.perf_counter()
    try:
        return render_report(client, root, overrides, timeout=timeout, template=template, reuse_kernel=reuse_kernel)
    except ReportError as exc:
        return RunResult(client=exc.client, status="failed", duration_s=round(time.perf_counter() - t0, 3),
                         error=exc.message, stage=exc.stage, failed_cell=exc.cell,
                         run_dir=str(exc.run_dir) if exc.run_dir else None)
    except BaseException as exc:  # noqa: BLE001 - isolation is the point; KeyboardInterrupt included
        if isinstance(exc, KeyboardInterrupt):
            raise
        return RunResult(client=str(client), status="failed", duration_s=round(time.perf_counter() - t0, 3),
                         error=f"{type(exc).__name__}: {short(exc)}", stage="internal")
