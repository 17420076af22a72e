"""Render one client's report: Papermill → HTML → ``reports/<client>/<run-id>/``.

Steps of :func:`render_report`:

1. read and validate ``data/<client>/client.yml`` with the ``-p`` overrides
   (a bad name, path or value stops here, before any kernel starts);
2. fingerprint the input files (sha256 of each, and of the list);
3. execute ``notebooks/report.ipynb`` with Papermill (kernel ``python3``,
   the same Python as the runner) into a temporary folder
   ``reports/<client>/.tmp-<run-id>-*``;
4. move the executive summary to the top, add the reproducibility footer,
   convert to HTML without code and check that the page loads nothing from
   outside the file;
5. write ``report.html``, ``metrics.json``, ``run.json`` and the executed
   ``report.ipynb`` into the temporary folder, then rename it to
   ``reports/<client>/<run-id>/`` in one ``os.replace`` and update
   ``reports/<client>/latest.json`` and ``latest.html`` (both atomically).

A crash at any step leaves either nothing or a folder whose name starts with
``.tmp-`` (or ends with ``.failed``, holding ``error.json`` and the partly
executed notebook); never a ``<run-id>/report.html`` that looks complete.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import html
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from cxlab.config import ClientConfig, ConfigError, find_root, load_client_config
from cxlab.report.context import atomic_path, write_json_atomic
from cxlab.report.formatting import Formatter

__all__ = ["ReportError", "RunResult", "data_fingerprint", "library_versions", "render_report", "render_report_safe"]

#: Libraries whose versions the footer records.
VERSIONED = ("pandas", "numpy", "scipy", "statsmodels", "lifelines", "matplotlib", "seaborn",
             "duckdb", "ibis-framework", "pyarrow", "papermill", "nbconvert", "ipykernel")

_FOOTER = {
    "en": {"title": "Reproducibility", "params": "Parameters", "data": "Input data",
           "fingerprint": "Data fingerprint (sha256 of the inputs)", "file": "File", "size": "Size, bytes",
           "versions": "Versions", "run": "Run", "run_id": "Run id", "started": "Started",
           "duration": "Duration", "template": "Template", "table": "Table", "param": "Parameter", "value": "Value",
           "none": "not set"},
    "ru": {"title": "Воспроизводимость", "params": "Параметры", "data": "Входные данные",
           "fingerprint": "Отпечаток данных (sha256 входных файлов)", "file": "Файл", "size": "Размер, байт",
           "versions": "Версии", "run": "Запуск", "run_id": "Идентификатор запуска", "started": "Начало",
           "duration": "Длительность", "template": "Шаблон", "table": "Таблица", "param": "Параметр",
           "value": "Значение", "none": "не задан"},
}


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
    """Outcome of one client's run (one row of the batch manifest)."""

    client: str
    status: str  # "ok" | "failed"
    duration_s: float
    run_id: str | None = None
    lang: str | None = None
    html: str | None = None
    metrics: str | None = None
    run_dir: str | None = None
    error: str | None = None
    stage: str | None = None
    failed_cell: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- facts for the footer
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_fingerprint(cfg: ClientConfig) -> dict[str, Any]:
    """sha256 of every input file and one combined digest over (table, sha256) pairs.

    The combined digest ignores file names and locations: the same bytes give
    the same fingerprint wherever the client folder lives.
    """
    files = {}
    combined = hashlib.sha256()
    for table in sorted(cfg.tables):
        source = cfg.tables[table]
        if source.engine is not None:
            entry = _engine_fingerprint(source, cfg.root)
        else:
            entry = {"path": _rel(source.path, cfg.root), "sha256": _sha256(source.path),
                     "bytes": source.path.stat().st_size}
        files[table] = entry
        combined.update(f"{table}:{entry['sha256']}\n".encode())
    return {"sha256": combined.hexdigest(), "files": files}


def _engine_fingerprint(source: Any, root: Path) -> dict[str, Any]:
    """Fingerprint of a transaction log kept in an engine.

    Parquet files are hashed like any file. A Spark or warehouse table cannot be
    hashed byte by byte from here, so the engine computes a content checksum
    (rows, customers, amount total, first and last timestamp) that changes when
    the data does; the footer says which kind it is.
    """
    from cxlab.data import engines

    path = source.path
    if path is not None:
        matched = engines.parquet_files(path)
        h = hashlib.sha256()
        size = 0
        for f in matched:
            h.update(f"{_rel(f, root)}:{_sha256(f)}\n".encode())
            size += f.stat().st_size
        return {"path": _rel(path, root), "sha256": h.hexdigest(), "bytes": size, "files": len(matched)}
    import pandas as pd

    from cxlab.data import log_overview

    log = log_overview(source.read_spec())
    check = {"rows": log["rows"], "customers": log["customers"], "returns": log["returns"],
             "amount_total": round(log["revenue"], 6),
             **{k: None if pd.isna(log[k]) else log[k].isoformat() for k in ("first", "last")}}
    text = json.dumps({"source": {k: v for k, v in source.engine.items() if k != "url"}, **check}, sort_keys=True)
    return {"path": f"{source.engine.get('engine')}:{source.engine.get('table') or 'query'}",
            "sha256": hashlib.sha256(text.encode()).hexdigest(), "bytes": None, "checksum": check}


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def library_versions() -> dict[str, str]:
    """Python, cxlab and the versions of the libraries the analyses use."""
    from importlib import metadata

    import cxlab

    out = {"python": sys.version.split()[0], "cxlab": getattr(cxlab, "__version__", "unknown")}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def default_template(root: Path) -> Path:
    """``<root>/notebooks/report.ipynb``, else the template shipped next to the cxlab sources."""
    for candidate in (root / "notebooks" / "report.ipynb", _source_root() / "notebooks" / "report.ipynb"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no report template: looked for notebooks/report.ipynb in {root} and {_source_root()}")


def _source_root() -> Path:
    import cxlab

    return Path(cxlab.__file__).resolve().parent.parent


# --------------------------------------------------------------------------- kernel
_KERNEL_CHECKED = False


def ensure_python3_kernel() -> None:
    """Make the ``python3`` kernel start this very interpreter.

    jupyter_client starts ``sys.executable`` for a spec whose argv begins with
    plain ``python``; a spec pointing at another interpreter (e.g. a user-level
    kernelspec of a system Python) would run the report without cxlab's
    environment, so a spec for this interpreter is installed into
    ``sys.prefix`` and put first on ``JUPYTER_PATH``.
    """
    global _KERNEL_CHECKED
    if _KERNEL_CHECKED:
        return
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        exe = spec.argv[0] if spec.argv else ""
        names = {"python", f"python{sys.version_info[0]}", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
        ok = exe in names or Path(exe).resolve() == Path(sys.executable).resolve()
    except NoSuchKernel:
        ok = False
    if not ok:
        from ipykernel.kernelspec import install

        install(kernel_name="python3", prefix=sys.prefix)
        share = str(Path(sys.prefix) / "share" / "jupyter")
        os.environ["JUPYTER_PATH"] = os.pathsep.join([share, *filter(None, [os.environ.get("JUPYTER_PATH")])])
    _KERNEL_CHECKED = True


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _kernel_environment() -> Iterator[None]:
    """Environment the kernel inherits: this cxlab first on the path, Agg plots, fixed hash seed,
    and one BLAS/OpenMP thread unless the user chose otherwise — multi-threaded reductions change
    the last digits of a fit from run to run, and batch workers already use every core."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "MPLBACKEND", "PYTHONHASHSEED", *_THREAD_VARS)}
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    src = str(_source_root())
    paths = [p for p in (os.environ.get("PYTHONPATH") or "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *[p for p in paths if p != src]])
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["PYTHONHASHSEED"] = "0"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------- kernel reuse (batch workers)
_WORKER_KM: Any = None
#: The kernel's own start-up warnings (e.g. about local TCP sockets) would end up in every CLI run's output.
_KERNEL_ARGS = ("--IPKernelApp.log_level=ERROR",)
_RESET_CODE = (
    "%reset -f\n"
    "import gc as _gc, matplotlib.pyplot as _plt\n"
    "_plt.close('all')\n"
    "_gc.collect()\n"
    "del _gc, _plt"
)


def _worker_kernel_manager() -> Any:
    """The kernel manager a batch worker keeps between clients (started on first use)."""
    global _WORKER_KM
    if _WORKER_KM is None:
        import atexit

        from jupyter_client.manager import AsyncKernelManager

        _WORKER_KM = AsyncKernelManager(kernel_name="python3")
        atexit.register(discard_worker_kernel)
    return _WORKER_KM


def discard_worker_kernel() -> None:
    """Shut down the worker's kept kernel (after any failure, and at exit): the next client gets a fresh one."""
    global _WORKER_KM
    km, _WORKER_KM = _WORKER_KM, None
    if km is None:
        return
    from jupyter_core.utils import run_sync

    with contextlib.suppress(Exception):
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    with contextlib.suppress(Exception):
        run_sync(km.cleanup_resources)()


#: Seconds between Papermill's writes of the partly executed notebook (see :func:`_fewer_saves`).
_SAVE_EVERY_S = 20.0


@contextlib.contextmanager
def _fewer_saves(nb_man: Any, every: float = _SAVE_EVERY_S) -> Iterator[None]:
    """Let Papermill write the partly executed notebook at most every ``every`` seconds.

    Papermill writes (and validates) the whole notebook, every figure in it,
    when each cell starts and when it ends: two dozen writes of a growing
    megabyte-sized file per report. The notebook is only read back after a
    failure, and Papermill's final save, made after a failed cell, a timeout or
    a dead kernel as well, runs after this context has restored the real save,
    so the failed or running cell is still found in it.
    """
    real_save = nb_man.save

    def save(**kwargs: Any) -> None:
        if (nb_man.now() - nb_man.last_save_time).total_seconds() >= every:
            real_save(**kwargs)

    nb_man.save = save
    try:
        yield
    finally:
        nb_man.save = real_save


def _register_fresh_engine() -> str:
    """Papermill's nbclient engine (a fresh kernel per notebook) with :func:`_fewer_saves`."""
    from papermill.engines import NBClientEngine, papermill_engines

    name = "cxlab-fresh"
    if name in papermill_engines._engines:
        return name

    class _FreshEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            with _fewer_saves(nb_man):
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(name, _FreshEngine)
    return name


def _register_reuse_engine() -> str:
    """A Papermill engine that runs notebooks on the worker's kept kernel.

    Starting a kernel and importing pandas, DuckDB/Ibis, matplotlib, lifelines
    and statsmodels costs ~4 CPU-seconds, more than most sections; a batch
    worker therefore keeps one kernel and clears it between clients
    (``%reset -f``, figures closed). Any failure discards the kernel.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    name = "cxlab-reuse"
    if name in papermill_engines._engines:
        return name

    class _ReusingClient(PapermillNotebookClient):
        def papermill_execute_cells(self):
            from jupyter_core.utils import run_sync

            # straight through the client: execute_cell would write the cell into the notebook
            reply = run_sync(self.kc.execute_interactive)(
                _RESET_CODE, silent=True, store_history=False, timeout=60, output_hook=lambda msg: None)
            if reply["content"].get("status") != "ok":
                raise RuntimeError(f"could not clear the reused kernel: {reply['content'].get('evalue')}")
            super().papermill_execute_cells()

    class _ReusingEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            import logging

            client = _ReusingClient(
                nb_man, km=_worker_kernel_manager(), timeout=execution_timeout, startup_timeout=start_timeout,
                kernel_name=kernel_name, log=logging.getLogger("papermill"), log_output=log_output,
                stdout_file=stdout_file, stderr_file=stderr_file, extra_arguments=list(_KERNEL_ARGS),
            )
            try:
                with _fewer_saves(nb_man):
                    return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(name, _ReusingEngine)
    return name


def _cell_label(nb: Any, index: int | None) -> str | None:
    if nb is None or index is None or not (0 <= index < len(nb.cells)):
        return None
    tags = [t for t in nb.cells[index].get("metadata", {}).get("tags", []) if t != "section"]
    return f"cell {index}" + (f" ({', '.join(tags)})" if tags else "")


def _running_cell(nb: Any) -> int | None:
    """Index of the cell that failed or was running when execution stopped.

    Papermill marks a cell ``failed`` only for an exception raised in the
    cell; after a timeout or a dead kernel every cell reads ``completed``, so
    the last cell that was started (has a ``start_time``) is the culprit.
    """
    if nb is None:
        return None
    started = None
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("status") == "failed":
            return i
        if meta.get("start_time"):
            started = i
    return started


def _read_nb(path: Path) -> Any:
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except Exception:  # the notebook may not have been written at all
        return None


def _short(text: str, limit: int = 600) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _execute(template: Path, out_nb: Path, parameters: dict[str, Any], cwd: Path, timeout: float | None,
             client: str, reuse_kernel: bool = False) -> Any:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    ensure_python3_kernel()
    engine = ({"engine_name": _register_reuse_engine()} if reuse_kernel
              else {"engine_name": _register_fresh_engine(), "shutdown_kernel": "immediate"})
    engine["extra_arguments"] = list(_KERNEL_ARGS)
    try:
        with _kernel_environment():
            executed = pm.execute_notebook(
                str(template), str(out_nb), parameters=parameters, kernel_name="python3", cwd=str(cwd),
                progress_bar=False, log_output=False,
                # the engine gets the output path, so a timeout or dead kernel still leaves the notebook
                # (with the running cell marked) to name the cell; see _fewer_saves for how often it is written
                request_save_on_cell_execute=True,
                execution_timeout=timeout, start_timeout=120, **engine,
            )
    except PapermillExecutionError as exc:
        nb = _read_nb(out_nb)
        # papermill inserts an error banner cell at the top, so find the failed cell by its status
        cell = _cell_label(nb, _running_cell(nb)) or f"cell {exc.cell_index}"
        message = f"{exc.ename}: {_short(exc.evalue)}"
        raise ReportError(client, message, stage="execute", cell=cell,
                          details="\n".join(exc.traceback or [])) from None
    except Exception as exc:  # timeouts, dead kernels, kernel start failures: papermill does not mark these
        nb = _read_nb(out_nb)
        cell = _cell_label(nb, _running_cell(nb))
        name = type(exc).__name__
        message = f"{name}: {_short(exc)}" if str(exc) else name
        raise ReportError(client, message, stage="execute", cell=cell, details=traceback.format_exc()) from None
    if not out_nb.is_file():
        raise ReportError(client, f"Papermill wrote no notebook at {out_nb}", stage="execute")
    # the notebook Papermill has just written is the one it returns: no need to read and validate it again
    nb = executed if executed is not None else _read_nb(out_nb)
    if nb is None:
        raise ReportError(client, f"Papermill wrote no readable notebook at {out_nb}", stage="execute")
    return nb


# --------------------------------------------------------------------------- HTML assembly
def _reorder(nb: Any) -> Any:
    """Put the executive summary (run last, after every metric exists) right after the title."""
    def has(cell, tag):
        return tag in cell.get("metadata", {}).get("tags", [])

    cells = list(nb.cells)
    summary = [c for c in cells if has(c, "executive-summary")]
    setup = next((i for i, c in enumerate(cells) if has(c, "setup")), None)
    if summary and setup is not None:
        rest = [c for c in cells if not has(c, "executive-summary")]
        setup = next(i for i, c in enumerate(rest) if has(c, "setup"))
        nb.cells = rest[: setup + 1] + summary + rest[setup + 1:]
    return nb


def _param_text(fmt: Formatter, name: str, value: Any, none: str) -> str:
    if value is None:
        return none
    if isinstance(value, _dt.date):
        return fmt.date(value)
    if name in ("discount_rate", "margin_rate"):
        return fmt.pct(value, 1)
    if name == "program_cost":
        return fmt.money(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt.num(value, 0 if float(value).is_integer() else 2)
    return str(value)


def footer_html(cfg: ClientConfig, fingerprint: dict[str, Any], versions: Mapping[str, str], *,
                run_id: str, started: _dt.datetime, duration_s: float, template_sha: str) -> str:
    """The reproducibility footer: parameters, data fingerprint, versions, run time."""
    t = _FOOTER[cfg.lang]
    fmt = Formatter(cfg.lang, cfg.currency)
    e = html.escape
    params = "".join(
        f"<tr><td>{e(k)}</td><td>{e(_param_text(fmt, k, v, t['none']))}</td></tr>" for k, v in cfg.all_params().items()
    )
    files = "".join(
        f"<tr><td>{e(table)}</td><td>{e(f['path'])}</td><td>{e(fmt.int(f['bytes']))}</td><td><code>{e(f['sha256'])}</code></td></tr>"
        for table, f in fingerprint["files"].items()
    )
    vers = ", ".join(f"{e(k)} {e(v)}" for k, v in versions.items())
    return (
        f'<footer class="cx-footer" id="reproducibility"><h2>{e(t["title"])}</h2>'
        f'<h3>{e(t["params"])}</h3><table class="cx-params"><tr><th>{e(t["param"])}</th><th>{e(t["value"])}</th></tr>{params}</table>'
        f'<h3>{e(t["data"])}</h3><p>{e(t["fingerprint"])}: <code class="cx-fingerprint">{e(fingerprint["sha256"])}</code></p>'
        f'<table class="cx-files"><tr><th>{e(t["table"])}</th><th>{e(t["file"])}</th><th>{e(t["size"])}</th><th>sha256</th></tr>{files}</table>'
        f'<h3>{e(t["versions"])}</h3><p class="cx-versions">{vers}</p>'
        f'<h3>{e(t["run"])}</h3><p>{e(t["run_id"])}: <code>{e(run_id)}</code>; {e(t["started"])}: '
        f'<time datetime="{e(started.isoformat())}">{e(fmt.datetime(started))}</time>; '
        f'{e(t["duration"])}: <span class="cx-duration">{e(fmt.duration(duration_s))}</span>; '
        f'{e(t["template"])}: <code>{e(template_sha[:16])}</code></p></footer>'
    )


# --------------------------------------------------------------------------- files
def _write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _copy_atomic(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


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


def _typed_overrides(cfg: ClientConfig, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides as parsed values (dates as ISO text) for the notebook's JSON parameter."""
    values = cfg.all_params()
    out = {}
    for k in overrides:
        v = values[k]
        out[k] = v.isoformat() if isinstance(v, _dt.date) else v
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
        Run on this process's kept kernel (batch workers; see :func:`_register_reuse_engine`)
        instead of a fresh kernel that is shut down afterwards.

    Returns
    -------
    RunResult
        With ``status="ok"`` and the paths written.

    Raises
    ------
    ReportError
        With the stage (``config``, ``execute``, ``export``), the failing cell and a readable message.
    """
    t0 = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc)
    name = Path(os.fspath(client)).name if os.sep in os.fspath(client) else os.fspath(client)
    overrides = dict(overrides or {})
    try:
        root_path = find_root(root)
        cfg = load_client_config(client, root_path, overrides)
        template_path = Path(template) if template else default_template(root_path)
    except (ConfigError, FileNotFoundError) as exc:
        raise ReportError(name, str(exc), stage="config") from None
    name = cfg.name

    out_base = cfg.report_dir
    out_base.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out_base)
    run_id = _new_run_id(started, cfg.lang)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{run_id}-", dir=out_base))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp gives 0700; a report folder is as readable as any other
    stage = "fingerprint"
    try:
        fingerprint = data_fingerprint(cfg)
        template_sha = _sha256(template_path)
        stage = "execute"
        parameters = {
            "client": cfg.name,
            "root": str(root_path),
            "overrides": json.dumps(_typed_overrides(cfg, overrides), ensure_ascii=False),
            "metrics_path": str(tmp / "kernel-metrics.json"),
        }
        nb = _execute(template_path, tmp / "report.ipynb", parameters, root_path, timeout, cfg.name, reuse_kernel)
        stage = "export"
        kernel_metrics = json.loads((tmp / "kernel-metrics.json").read_text(encoding="utf-8"))
        (tmp / "kernel-metrics.json").unlink()
        versions = library_versions()
        duration = time.perf_counter() - t0
        footer = footer_html(cfg, fingerprint, versions, run_id=run_id, started=started,
                             duration_s=duration, template_sha=template_sha)
        from cxlab.report.export import notebook_to_html

        page = notebook_to_html(_reorder(nb), title=cfg.display_name, lang=cfg.lang, footer_html=footer)
        _write_text_atomic(tmp / "report.html", page)
        metrics = {
            "client": cfg.name,
            "display_name": cfg.display_name,
            "lang": cfg.lang,
            "currency": cfg.currency,
            "cxlab_version": versions["cxlab"],
            "parameters": {k: v for k, v in cfg.to_dict().items() if k not in ("client", "data")},
            "data_fingerprint": fingerprint["sha256"],
            "sections": kernel_metrics.get("sections", []),
            "metrics": kernel_metrics["metrics"],
            "details": kernel_metrics.get("details", {}),
        }
        write_json_atomic(tmp / "metrics.json", metrics)
        finished = _dt.datetime.now(_dt.timezone.utc)
        write_json_atomic(tmp / "run.json", {
            "run_id": run_id, "client": cfg.name, "status": "ok",
            "started": started.isoformat(), "finished": finished.isoformat(),
            "duration_s": round(time.perf_counter() - t0, 3),
            "config": cfg.to_dict(), "overrides": _typed_overrides(cfg, overrides),
            "inputs": fingerprint, "template": {"path": str(template_path), "sha256": template_sha},
            "versions": versions,
        })
        stage = "publish"
        final = out_base / run_id
        os.replace(tmp, final)  # one rename: the run folder appears complete or not at all
    except BaseException as exc:
        if reuse_kernel:
            discard_worker_kernel()  # a kernel that failed (or timed out mid-cell) is not trusted again
        err = exc if isinstance(exc, ReportError) else ReportError(
            name, f"{type(exc).__name__}: {_short(exc)}", stage=stage, details=traceback.format_exc())
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
    latest = {"run_id": run_id, "lang": cfg.lang, "html": f"{run_id}/report.html",
              "metrics": f"{run_id}/metrics.json", "finished": _dt.datetime.now(_dt.timezone.utc).isoformat()}
    write_json_atomic(out_base / "latest.json", latest)
    _copy_atomic(html_path, out_base / "latest.html")
    return RunResult(
        client=cfg.name, status="ok", duration_s=round(time.perf_counter() - t0, 3), run_id=run_id,
        lang=cfg.lang, html=str(html_path), metrics=str(final / "metrics.json"), run_dir=str(final),
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
                         error=f"{type(exc).__name__}: {_short(exc)}", stage="internal")
