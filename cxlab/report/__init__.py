"""Per-client HTML reports rendered from the parameterised notebook ``notebooks/report.ipynb``.

* :mod:`~cxlab.report.runner` — one client → ``reports/<client>/<run-id>/report.html``
  (+ ``metrics.json``, ``run.json``, the executed notebook): :func:`render_report`.
* :mod:`~cxlab.report.notebook` — the kernel side: Papermill engines, kernel reuse.
* :mod:`~cxlab.report.provenance` — fingerprints, versions, the reproducibility footer.
* :mod:`~cxlab.report.html` — the one path by which text reaches the page; the page itself.
* :mod:`~cxlab.report.context` — :class:`ReportContext`, what a section reads and writes through.
* :mod:`~cxlab.report.sections` — one module per analysis, its texts (en, ru) beside it as YAML.
* :mod:`~cxlab.report.charts` — chart wording: axes, legends, ticks in the report's language and number style.
* :mod:`~cxlab.report.export` — ``tables.xlsx`` (every table, full length) and ``report.pdf`` (A4).
* :mod:`~cxlab.report.browser` — headless Chromium over the DevTools protocol (PDF, screenshots, layout checks).
* :mod:`~cxlab.report.compare` — two runs side by side (``cxlab compare``).
* :mod:`~cxlab.report.batch` — many clients in parallel processes, manifest and index page.

The runner and batch parts import Papermill and nbconvert, so they are loaded
on first use: a kernel rendering a report only needs the context.
"""
from cxlab.report.context import ReportContext, open_report
from cxlab.report.formatting import Formatter

__all__ = ["Formatter", "ReportContext", "ReportError", "RunResult", "open_report", "render_report", "run_batch"]

_LAZY = {
    "render_report": "cxlab.report.runner",
    "render_report_safe": "cxlab.report.runner",
    "ReportError": "cxlab.report.runner",
    "RunResult": "cxlab.report.runner",
    "run_batch": "cxlab.report.batch",
    "BatchResult": "cxlab.report.batch",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cxlab.report' has no attribute {name!r}")
