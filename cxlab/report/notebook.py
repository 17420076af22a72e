"""Kernel handling of a report run: the ``python3`` kernel, its environment, Papermill engines.

:func:`execute_notebook` runs the report template with Papermill on the ``python3``
kernel of this very interpreter (:func:`ensure_python3_kernel`), with a fixed
environment (:func:`kernel_environment`), either on a fresh kernel or on a batch
worker's kept kernel (:func:`discard_worker_kernel`). Papermill does not mark a
notebook as failed after a timeout or a dead kernel, so every exception is turned
into a :class:`NotebookError` naming the cell that was running.
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Iterator

__all__ = ["NotebookError", "discard_worker_kernel", "ensure_python3_kernel", "execute_notebook",
           "kernel_environment", "source_root"]


class NotebookError(RuntimeError):
    """The notebook failed: ``message``, the failing ``cell`` (its tag) and ``details`` (traceback)."""

    def __init__(self, message: str, cell: str | None = None, details: str = ""):
        self.message, self.cell, self.details = message, cell, details
        super().__init__(message)


def source_root() -> Path:
    """The folder holding the ``cxlab`` package the runner imports (put first on the kernel's path)."""
    import cxlab

    return Path(cxlab.__file__).resolve().parent.parent


def short(text: Any, limit: int = 600) -> str:
    """One line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
def kernel_environment() -> Iterator[None]:
    """Environment the kernel inherits: this cxlab first on the path, Agg plots, fixed hash seed,
    and one BLAS/OpenMP thread unless the user chose otherwise — multi-threaded reductions change
    the last digits of a fit from run to run, and batch workers already use every core."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "MPLBACKEND", "PYTHONHASHSEED", *_THREAD_VARS)}
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    src = str(source_root())
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
#: Clears the kept kernel between clients. What survives the reset (modules, caches) is then frozen
#: (``gc.freeze``): the collector no longer walks those ~250,000 objects in every full collection,
#: which took 0.1 s of a demo client's 6.3 s in the cells.
_RESET_CODE = (
    "%reset -f\n"
    "import gc as _gc, matplotlib.pyplot as _plt\n"
    "_plt.close('all')\n"
    "_gc.collect()\n"
    "_gc.freeze()\n"
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


def short(text: str, limit: int = 600) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def execute_notebook(template: Path, out_nb: Path, parameters: dict[str, Any], cwd: Path, timeout: float | None,
                     reuse_kernel: bool = False) -> Any:
    """Execute ``template`` into ``out_nb`` with ``parameters``; the executed notebook, or NotebookError."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    ensure_python3_kernel()
    engine = ({"engine_name": _register_reuse_engine()} if reuse_kernel
              else {"engine_name": _register_fresh_engine(), "shutdown_kernel": "immediate"})
    engine["extra_arguments"] = list(_KERNEL_ARGS)
    try:
        with kernel_environment():
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
        message = f"{exc.ename}: {short(exc.evalue)}"
        raise NotebookError(message, cell, "\n".join(exc.traceback or [])) from None
    except Exception as exc:  # timeouts, dead kernels, kernel start failures: papermill does not mark these
        nb = _read_nb(out_nb)
        cell = _cell_label(nb, _running_cell(nb))
        name = type(exc).__name__
        message = f"{name}: {short(exc)}" if str(exc) else name
        raise NotebookError(message, cell, traceback.format_exc()) from None
    if not out_nb.is_file():
        raise NotebookError(f"Papermill wrote no notebook at {out_nb}")
    # the notebook Papermill has just written is the one it returns: no need to read and validate it again
    nb = executed if executed is not None else _read_nb(out_nb)
    if nb is None:
        raise NotebookError(f"Papermill wrote no readable notebook at {out_nb}")
    return nb
