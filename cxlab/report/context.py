"""``ReportContext``: what a report section sees and writes through.

A section module exposes ``build(ctx)`` and uses only this API::

    ctx.data        # cxlab.data.ClientData (transactions, customers, surveys, quality)
    ctx.params      # churn_threshold_days, horizon_months, discount_rate, margin_rate,
                    # program_cost, observation_end, calibration_end (Timestamps or None)
    ctx.lang        # "en" | "ru"
    ctx.currency    # ISO code
    ctx.fmt         # Formatter: money, pct, pp, num, int, date, ...
    ctx.heading(text); ctx.text(md); ctx.how_to_read(md); ctx.caveat(md)
    ctx.table(df, formats=None, caption=None); ctx.figure(fig, alt=None)
    ctx.metric(name, value, label=None, kind=None)

Each call renders immediately in the notebook (IPython rich display, HTML
only — no scripts) and is also kept in ``ctx.blocks`` so a report can be
previewed or tested without a kernel (``display=False``). Metrics accumulate
in ``ctx.metrics`` and end up in ``metrics.json`` and the executive summary.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import html
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from cxlab.report.formatting import MISSING, Formatter

__all__ = ["ReportContext", "MetricRecord", "markdown_to_html", "write_json_atomic"]

_UI = {
    "en": {"how_to_read": "How to read this", "caveat": "Caveat", "rows_shown": "First {n} of {total} rows shown."},
    "ru": {"how_to_read": "Как читать", "caveat": "Оговорка", "rows_shown": "Показаны первые {n} из {total} строк."},
}

_MD = None


def markdown_to_html(text: str) -> str:
    """Markdown → HTML (mistune, which nbconvert already depends on); tables allowed."""
    global _MD
    if _MD is None:
        import mistune

        _MD = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])
    return str(_MD(str(text))).strip()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    Readers never see half a file: the rename is atomic, and on any error the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    """Write JSON atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, indent=2, sort_keys=False, default=_json_default)
        fh.write("\n")


def file_mode() -> int:
    """Permissions of a newly created file under the current umask (mkstemp would give 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _json_default(obj: Any) -> Any:
    from cxlab._base import to_builtin

    out = to_builtin(obj)
    if out is obj:
        if isinstance(obj, (_dt.date, _dt.datetime)):
            return obj.isoformat()
        if isinstance(obj, Path):
            return str(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
    return out


@dataclass
class MetricRecord:
    """One headline figure: value plus how to word it in the executive summary."""

    name: str
    value: Any
    label: str
    kind: str
    section: str | None
    digits: int | None = None
    headline: bool = True


# Name fragments that say how a metric without an explicit ``kind`` should be shown.
_PCT_HINTS = ("rate", "share", "pct", "percent", "retention", "churn", "prob", "fraction", "uplift_pct")
_MONEY_HINTS = ("revenue", "ltv", "clv", "value", "cost", "profit", "spend", "money", "aov", "margin_total", "npv")


def _guess_kind(name: str, value: Any) -> str:
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        return "text"
    if isinstance(value, (pd.Timestamp, _dt.date, np.datetime64)):
        return "date"
    low = name.lower()
    if any(h in low for h in _PCT_HINTS):
        return "pct"
    if any(h in low for h in _MONEY_HINTS):
        return "money"
    if isinstance(value, (int, np.integer)) or low.startswith("n_") or low.endswith("_count"):
        return "int"
    return "num"


def _cache_value(value: Any) -> Any:
    """A hashable stand-in for an argument of :meth:`ReportContext.cached` (dates as Timestamps)."""
    if isinstance(value, (_dt.date, np.datetime64)) and not isinstance(value, pd.Timestamp):
        return pd.Timestamp(value)
    if isinstance(value, (list, tuple)):
        return tuple(_cache_value(v) for v in value)
    return value


def _as_param_value(name: str, value: Any) -> Any:
    if name in ("observation_end", "calibration_end") and value is not None:
        return pd.Timestamp(value)
    return value


class ReportContext:
    """Output channel and inputs of one client's report.

    Parameters
    ----------
    data : ClientData
        The client's tables as loaded by :func:`cxlab.data.load_client_data`.
    params : mapping
        Study parameters (see :mod:`cxlab.config`); dates become ``pd.Timestamp``.
    lang : {"en", "ru"}
    currency : str
        ISO 4217 code.
    client, display_name : str
        Client id and the name shown in titles.
    display : bool
        Render through IPython rich display (in a kernel). With ``False`` the
        output is only recorded in :attr:`blocks` (tests, previews).
    """

    def __init__(
        self,
        data: Any,
        params: Mapping[str, Any] | None = None,
        *,
        lang: str = "en",
        currency: str = "RUB",
        client: str = "",
        display_name: str = "",
        display: bool = True,
        config: Any = None,
    ):
        self.data = data
        self.params = {k: _as_param_value(k, v) for k, v in dict(params or {}).items()}
        self.lang = lang
        self.currency = str(currency).upper()
        self.fmt = Formatter(lang, self.currency)
        self.client = client
        self.display_name = display_name or client
        self.config = config
        self.metrics: dict[str, MetricRecord] = {}
        self.blocks: list[tuple[str, str]] = []  # (kind, html) in render order
        self.sections_rendered: list[str] = []
        self.section: str | None = None
        self._display = display
        self._texts: Mapping[str, Any] = {}
        self._anchored = False
        self._cache: dict[tuple, tuple[Any, Any]] = {}

    def __repr__(self) -> str:
        return f"ReportContext(client={self.client!r}, lang={self.lang!r}, currency={self.currency!r})"

    # -- low level -------------------------------------------------------------
    def _emit(self, kind: str, html_text: str, plain: str = "") -> None:
        self.blocks.append((kind, html_text))
        if self._display:
            from IPython.display import display

            display({"text/html": html_text, "text/plain": plain or kind}, raw=True)

    def html(self, html_text: str, kind: str = "html") -> None:
        """Raw HTML (no scripts please: the report must load nothing from the network)."""
        self._emit(kind, html_text)

    def ui(self, key: str) -> str:
        return _UI[self.lang][key]

    # -- shared data-layer results --------------------------------------------------
    def log_overview(self) -> dict[str, Any]:
        """Rows, customers, returns, revenue and first/last timestamp of the transaction log.

        Computed once by the log's engine (:func:`cxlab.data.log_overview`), so
        sections never need pandas operations on ``ctx.data.transactions``,
        which is an Ibis table when the client's log lives in Spark or a
        warehouse.
        """
        from cxlab.data import log_overview

        return dict(self.cached(log_overview))

    def cached(self, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        """``fn(ctx.data.transactions, **kwargs)``, computed once per report.

        Several sections need the same data-layer result (``customer_summary``,
        ``cohort_counts``, ``churn_durations``, ``customer_period_panel`` ... with
        the same arguments); the first call computes it, later calls get a copy
        of the stored frame, so a section that changes its copy cannot change
        another section's input. Arguments that cannot be hashed are passed
        through without caching.

        Parameters
        ----------
        fn : callable
            A data-layer function taking the transactions table first, e.g.
            :func:`cxlab.data.customer_summary`.
        **kwargs
            Its keyword arguments; dates are compared as ``pd.Timestamp``.
        """
        tx = self.data.transactions
        try:
            key = (getattr(fn, "__module__", None), getattr(fn, "__qualname__", repr(fn)), id(tx),
                   tuple(sorted((k, _cache_value(v)) for k, v in kwargs.items())))
            hash(key)
        except TypeError:
            return fn(tx, **kwargs)
        hit = self._cache.get(key)
        if hit is None or hit[0] is not tx:  # the id of a frame that is gone may be reused
            hit = (tx, fn(tx, **kwargs))
            self._cache[key] = hit
        value = hit[1]
        return value.copy() if isinstance(value, (pd.DataFrame, pd.Series)) else value

    # -- text --------------------------------------------------------------------
    def heading(self, text: str, level: int = 2) -> None:
        """A section heading (``level`` 2 for sections, 3 for sub-sections)."""
        level = min(max(int(level), 1), 6)
        anchor = ""
        if self.section and level == 2 and not self._anchored:  # the section's first heading is its link target
            anchor = f' id="section-{html.escape(self.section)}"'
            self._anchored = True
        self._emit("heading", f"<h{level}{anchor}>{html.escape(str(text))}</h{level}>", str(text))

    def text(self, markdown: str) -> None:
        """A paragraph of Markdown."""
        self._emit("text", f'<div class="cx-text">{markdown_to_html(markdown)}</div>', str(markdown))

    def how_to_read(self, markdown: str) -> None:
        """The short "how to read this" box of a section."""
        body = markdown_to_html(markdown)
        self._emit(
            "how_to_read",
            f'<div class="cx-how-to-read"><p class="cx-box-title">{html.escape(self.ui("how_to_read"))}</p>{body}</div>',
            str(markdown),
        )

    def caveat(self, markdown: str) -> None:
        """A caveat box: assumptions, data limits, what the number does not say."""
        body = markdown_to_html(markdown)
        self._emit(
            "caveat",
            f'<div class="cx-caveat"><p class="cx-box-title">{html.escape(self.ui("caveat"))}</p>{body}</div>',
            str(markdown),
        )

    # -- tables and figures ----------------------------------------------------------
    def table(
        self,
        df: pd.DataFrame | pd.Series,
        formats: Mapping[str, str | Callable[[Any], str]] | None = None,
        *,
        caption: str | None = None,
        index: bool | None = None,
        max_rows: int = 50,
        digits: Mapping[str, int] | None = None,
    ) -> None:
        """A table formatted for people.

        Parameters
        ----------
        df : DataFrame or Series
        formats : mapping column -> kind or callable, optional
            Kind is one of ``money``, ``pct``, ``pp``, ``num``, ``int``, ``date``,
            ``text``; a callable gets the cell value and returns text. Columns
            not listed are formatted by dtype (integers with separators, floats
            with as many decimals as their size needs, dates per language).
        caption : str, optional
        index : bool, optional
            Show the index as the first column(s); default: when it is not a
            plain 0..n-1 range.
        max_rows : int
            Longer tables are cut, with a note saying so.
        digits : mapping column -> int, optional
            Decimals for ``num``/``money``/``pct`` columns.
        """
        self._emit("table", self.table_html(df, formats, caption=caption, index=index, max_rows=max_rows, digits=digits),
                   caption or "table")

    def table_html(self, df, formats=None, *, caption=None, index=None, max_rows=50, digits=None) -> str:
        if isinstance(df, pd.Series):
            df = df.to_frame()
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"ctx.table expects a DataFrame or Series, got {type(df).__name__}")
        formats = dict(formats or {})
        digits = dict(digits or {})
        if index is None:
            # a named index carries information (a segment, a cohort); an unnamed one is row numbers
            index = any(name is not None for name in df.index.names)
        if index:
            df = df.reset_index()
        unknown = set(formats) - {str(c) for c in df.columns}
        if unknown:
            raise ValueError(f"ctx.table: formats name columns not in the table: {sorted(unknown)}")
        total = len(df)
        shown = df.head(max_rows)
        head_cells, body_rows = [], []
        columns = list(shown.columns)
        numeric = {}
        for col in columns:
            kind = formats.get(str(col))
            series = shown[col]
            is_num = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
            numeric[col] = is_num or kind in ("money", "pct", "pp", "num", "int")
            cls = ' class="num"' if numeric[col] else ""
            head_cells.append(f"<th{cls}>{html.escape(str(col))}</th>")
        for _, row in shown.iterrows():
            cells = []
            for col in columns:
                text = self._cell(row[col], shown[col], formats.get(str(col)), digits.get(str(col)))
                cls = ' class="num"' if numeric[col] else ""
                cells.append(f"<td{cls}>{html.escape(text)}</td>")
            body_rows.append("<tr>" + "".join(cells) + "</tr>")
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        note = ""
        if total > len(shown):
            note = f'<p class="cx-note">{html.escape(self.ui("rows_shown").format(n=len(shown), total=total))}</p>'
        return (
            f'<div class="cx-table-wrap"><table class="cx-table">{cap}<thead><tr>{"".join(head_cells)}</tr></thead>'
            f'<tbody>{"".join(body_rows)}</tbody></table>{note}</div>'
        )

    def _cell(self, value: Any, series: pd.Series, kind: Any, digits: int | None) -> str:
        if callable(kind):
            return str(kind(value))
        if kind is None:
            if pd.api.types.is_bool_dtype(series):
                kind = "text"
            elif pd.api.types.is_datetime64_any_dtype(series):
                kind = "date"
            elif pd.api.types.is_integer_dtype(series):
                kind = "int"
            elif pd.api.types.is_float_dtype(series):
                kind = "num"
                if digits is None:
                    digits = _column_digits(series)
        try:
            return self.fmt.auto(value, kind, digits)
        except (TypeError, ValueError):
            return MISSING if value is None else str(value)

    def figure(self, fig: Any, *, alt: str | None = None, close: bool = True, dpi: int = 110) -> None:
        """A matplotlib figure (or Axes / seaborn grid), embedded as a PNG; closed afterwards."""
        from matplotlib.axes import Axes
        from matplotlib.figure import Figure, SubFigure

        if isinstance(fig, Axes):
            fig = fig.figure
        elif not isinstance(fig, (Figure, SubFigure)) and isinstance(getattr(fig, "figure", None), Figure):
            fig = fig.figure  # seaborn FacetGrid / JointGrid / PairGrid
        if isinstance(fig, SubFigure):
            fig = fig.figure
        if not isinstance(fig, Figure):
            raise TypeError(f"ctx.figure expects a matplotlib Figure or Axes (or a seaborn grid), got {type(fig).__name__}")
        png = _png_bytes(fig, dpi)
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
        b64 = base64.b64encode(png).decode("ascii")
        alt_text = html.escape(alt or "")
        self._emit("figure", f'<figure class="cx-figure"><img alt="{alt_text}" src="data:image/png;base64,{b64}"/></figure>',
                   alt or "figure")

    # -- metrics -----------------------------------------------------------------------
    def metric(
        self,
        name: str,
        value: Any,
        *,
        label: str | None = None,
        kind: str | None = None,
        digits: int | None = None,
        headline: bool = True,
    ) -> None:
        """Record a headline figure for ``metrics.json`` and the executive summary.

        Parameters
        ----------
        name : str
            Stable identifier (``churn_rate_12m``); the same name from two
            sections is an error, so runs can be compared by name.
        value : number, date, text or None
        label : str, optional
            Words for the summary in ``ctx.lang``; default: ``TEXTS[lang]["metric_<name>"]``
            or ``TEXTS[lang][name]`` of the current section, else the name.
        kind : str, optional
            ``money``, ``pct``, ``pp``, ``num``, ``int``, ``date`` or ``text``;
            guessed from the name and type when omitted.
        headline : bool
            Show it in the executive summary (always written to metrics.json).
        """
        name = str(name)
        if not name:
            raise ValueError("ctx.metric needs a non-empty name")
        previous = self.metrics.get(name)
        if previous is not None and previous.section != self.section:
            raise ValueError(
                f"metric {name!r} was already recorded by section {previous.section!r}; use a distinct name"
            )
        if isinstance(value, (float, np.floating)) and math.isinf(float(value)):
            raise ValueError(f"metric {name!r} is infinite; record None if it cannot be computed")
        if label is None:
            label = self._texts.get(f"metric_{name}") or self._texts.get(name)
            if not isinstance(label, str):
                label = name.replace("_", " ").capitalize()
        self.metrics[name] = MetricRecord(
            name=name, value=value, label=label, kind=kind or _guess_kind(name, value),
            section=self.section, digits=digits, headline=headline,
        )

    def metric_text(self, name: str) -> str:
        """The formatted value of a recorded metric."""
        rec = self.metrics[name]
        return self.fmt.auto(rec.value, rec.kind, rec.digits)

    def metrics_dict(self) -> dict[str, Any]:
        """``{name: value}`` with JSON-able values (what ``metrics.json`` holds)."""
        from cxlab._base import to_builtin

        out = {}
        for name, rec in self.metrics.items():
            value = rec.value
            if isinstance(value, (pd.Timestamp, _dt.date, np.datetime64)):
                value = None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
            out[name] = to_builtin(value)
        return out

    def metric_details(self) -> dict[str, Any]:
        return {
            name: {"label": r.label, "kind": r.kind, "section": r.section, "headline": r.headline,
                   "text": self.metric_text(name)}
            for name, r in self.metrics.items()
        }

    def write_metrics(self, path: str | os.PathLike) -> None:
        """Write the metrics (values and how they were worded) atomically as JSON."""
        write_json_atomic(path, {
            "metrics": self.metrics_dict(),
            "details": self.metric_details(),
            "sections": list(self.sections_rendered),
        })

    # -- sections ---------------------------------------------------------------------
    def begin_section(self, name: str, texts: Mapping[str, Any] | None = None) -> None:
        """Called by the section registry around ``build(ctx)`` (anchors, metric labels)."""
        self.section = name
        self._texts = (texts or {}).get(self.lang, {}) if texts else {}
        self._blocks_at_start = len(self.blocks)
        self._anchored = False

    def end_section(self) -> None:
        if self.section and len(self.blocks) > getattr(self, "_blocks_at_start", 0):
            self.sections_rendered.append(self.section)
        self.section = None
        self._texts = {}

    def to_html(self) -> str:
        """Everything rendered so far, as an HTML fragment (previews and tests)."""
        return "\n".join(h for _, h in self.blocks)


#: Room (inches) added around a figure drawn by :func:`_png_bytes`, so labels that stick out
#: of it (seaborn's larger fonts often push the x label below the edge) are still drawn.
_FIGURE_MARGIN = 0.75


def _png_bytes(fig: Any, dpi: int) -> bytes:
    """The figure as PNG bytes cropped to its tight bounding box, as ``savefig(bbox_inches="tight")`` makes them.

    ``savefig(bbox_inches="tight")`` lays the whole figure out once without rendering,
    to find the box, and then draws it again at the cropped size: every text is laid
    out twice (an annotated heatmap has hundreds). Here the figure is drawn once, on a
    canvas :data:`_FIGURE_MARGIN` larger on every side with every Axes kept at the
    same place and size in inches, and the padded tight box (``savefig.pad_inches``)
    is cut out of the pixels: the same picture, up to a sub-pixel shift. Figures this
    cannot reproduce exactly — artists placed on the figure itself, a layout engine,
    Axes positioned by a locator, unusual ``savefig.*`` settings, or something
    reaching beyond the margin — go through ``savefig``. The figure gets its size,
    dpi and Axes positions back. ``metadata={"Software": None}``: the same figure
    gives the same bytes on every run.
    """
    import matplotlib as mpl
    import matplotlib.image as mimage
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba
    from matplotlib.transforms import Bbox

    rc = mpl.rcParams
    pad = rc["savefig.pad_inches"]
    canvas = fig.canvas
    background = to_rgba(fig.get_facecolor())
    simple = (
        type(canvas) is FigureCanvasAgg and getattr(canvas, "device_pixel_ratio", 1) == 1
        and isinstance(pad, (int, float)) and not rc["savefig.transparent"]
        and rc["savefig.facecolor"] == "auto" and rc["savefig.edgecolor"] == "auto" and background[3] == 1.0
        and _no_layout_engine(fig) and fig.patch.get_linewidth() == 0
        and not (fig.texts or fig.legends or fig.images or fig.lines or fig.patches or fig.artists or fig.subfigs)
        and all(_plain_locator(ax) for ax in fig.axes)
    )
    if simple:
        m = _FIGURE_MARGIN
        w, h = (float(v) for v in fig.get_size_inches())
        old_dpi = fig.dpi
        saved = [(ax, ax.get_position(original=True).frozen(), ax.get_position(original=False).frozen(),
                  ax.get_in_layout()) for ax in fig.axes]

        def moved(b):  # the same rectangle in inches, on the larger canvas
            return Bbox.from_bounds((b.x0 * w + m) / (w + 2 * m), (b.y0 * h + m) / (h + 2 * m),
                                    b.width * w / (w + 2 * m), b.height * h / (h + 2 * m))

        try:
            fig.set_size_inches(w + 2 * m, h + 2 * m, forward=False)
            fig.dpi = dpi
            for ax, original, _active, _ in saved:
                ax.set_position(moved(original), which="both")
            canvas.draw()
            tight = fig.get_tightbbox(canvas.get_renderer())
            full = fig.bbox_inches
            if tight.x0 >= full.x0 and tight.y0 >= full.y0 and tight.x1 <= full.x1 and tight.y1 <= full.y1:
                box = tight.padded(pad)
                rgba = np.asarray(canvas.buffer_rgba())
                height, width = rgba.shape[:2]
                # the size in pixels of savefig's cropped canvas
                out_w, out_h = int(box.width * dpi), int(box.height * dpi)
                left, top = math.floor(box.x0 * dpi), math.floor(height - box.y1 * dpi)
                out = np.empty((out_h, out_w, 4), dtype=np.uint8)
                out[...] = np.round(np.asarray(background) * 255).astype(np.uint8)
                r0, c0 = max(0, top), max(0, left)
                r1, c1 = min(height, top + out_h), min(width, left + out_w)
                out[r0 - top:r1 - top, c0 - left:c1 - left] = rgba[r0:r1, c0:c1]
                buf = io.BytesIO()
                mimage.imsave(buf, memoryview(out), format="png", origin="upper", dpi=dpi,
                              metadata={"Software": None})
                return buf.getvalue()
        finally:
            fig.set_size_inches(w, h, forward=False)
            fig.dpi = old_dpi
            for ax, original, active, in_layout in saved:
                ax.set_position(original, which="original")
                ax.set_position(active, which="active")
                ax.set_in_layout(in_layout)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _no_layout_engine(fig: Any) -> bool:
    """No layout engine would move the Axes at draw time (``tight_layout()`` leaves a placeholder)."""
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    engine = fig.get_layout_engine()
    return engine is None or isinstance(engine, PlaceHolderLayoutEngine)


def _plain_locator(ax: Any) -> bool:
    """The Axes is placed by its own position (a colorbar's locator only trims that position)."""
    locator = ax.get_axes_locator()
    return locator is None or (type(locator).__name__ == "_ColorbarAxesLocator"
                               and getattr(locator, "_orig_locator", True) is None)


def _column_digits(series: pd.Series) -> int:
    """One number of decimals for a whole float column, so the column lines up."""
    values = pd.to_numeric(series, errors="coerce").dropna()
    values = values[np.isfinite(values)]
    if values.empty:
        return 0
    if (values == values.round()).all():
        return 0
    biggest = values.abs().max()
    if biggest >= 1000:
        return 0
    if biggest >= 10:
        return 1
    if biggest >= 0.1:
        return 2
    return 3


# --------------------------------------------------------------------------- notebook entry points
_TITLE = {
    "en": "Customer-experience economics: retention, lifetime value, loyalty",
    "ru": "Экономика клиентского опыта: удержание, пожизненная ценность, лояльность",
}


def open_report(
    client: str,
    root: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | str | None = None,
    *,
    display: bool = True,
) -> ReportContext:
    """Set up a report in a notebook: read the client file, load the data, show the title.

    Parameters
    ----------
    client : str
        Client name (``data/<client>/client.yml``).
    root : path, optional
        Project root (see :func:`cxlab.config.find_root`).
    overrides : mapping or JSON text, optional
        Parameter overrides (``-p name=value`` of the CLI).
    display : bool
        Render in the notebook (False: record only, for tests).
    """
    from cxlab.config import load_client_config
    from cxlab.data import load_client_data

    if isinstance(overrides, str):
        overrides = json.loads(overrides) if overrides.strip() else {}
    cfg = load_client_config(client, root, overrides)

    import matplotlib

    matplotlib.use("Agg")  # figures reach the report only through ctx.figure, never by side effect
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    data = load_client_data(cfg.load_spec())
    ctx = ReportContext(
        data, cfg.params, lang=cfg.lang, currency=cfg.currency, client=cfg.name,
        display_name=cfg.display_name, display=display, config=cfg,
    )
    ctx._emit(
        "title",
        f'<header class="cx-title"><h1>{html.escape(cfg.display_name)}</h1>'
        f'<p class="cx-subtitle">{html.escape(_TITLE[cfg.lang])}</p></header>',
        cfg.display_name,
    )
    return ctx
