"""``ReportContext``: what a report section reads and writes through.

A section module exposes ``build(ctx)`` (and optionally ``unmet(study)``) and
uses only this API::

    ctx.study       # cxlab.study.Study: the data and every fact of the study, decided once
    ctx.lang        # "en" | "ru"
    ctx.fmt         # Formatter: money, pct, pp, num, int, date, ...
    ctx.texts       # the section's texts in ctx.lang (sections/<name>.yml)
    ctx.tr(key, **values)            # a filled template, to pass into another template
    ctx.heading(key, **values)       # a sub-heading (the section's title is added for it)
    ctx.text(key, **values); ctx.how_to_read(key, **values); ctx.caveat(key, **values)
    ctx.bullets(items)               # a list of plain sentences
    ctx.table(df, formats=None, caption=None, empty=None)   # all rows go to tables.xlsx
    ctx.figure(fig, caption=...)     # numbered, with its caption; PNG (2x) and SVG into figures/
    ctx.category(value)              # a client category in the reader's words (client.yml labels)
    ctx.metric(name, value, ci=None) # a headline figure defined in metrics.yml

Text reaches the page only through templates of the section's text file filled
with values that are escaped (:mod:`cxlab.report.html`), so client data (a
channel name, a display name) can never become markup. Each call renders
immediately in the notebook (IPython rich display, HTML only — no scripts)
and is kept in ``ctx.blocks`` so a report can be previewed or tested without a
kernel (``display=False``). Metrics accumulate in ``ctx.metrics`` and end up
in ``metrics.json`` and the executive summary.
"""
from __future__ import annotations

import base64
import datetime as _dt
import io
import math
import os
import string
import sys
import time
import traceback
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from cxlab.report.files import write_json_atomic
from cxlab.report.formatting import MISSING, Formatter
from cxlab.report.html import Trusted, escape, fill, markdown_to_html, render_text
from cxlab.report.texts import load_texts, ui_texts

__all__ = ["MetricDefinition", "MetricRecord", "ReportContext", "metric_definitions", "open_report"]


# --------------------------------------------------------------------------- resources of each stage
def _reset_peak_rss() -> None:
    """Start a new high-water mark of this process's memory (Linux ``clear_refs``; elsewhere a no-op,
    and the peaks are then the process's peak so far)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_gib() -> float:
    """Peak resident memory since the last :func:`_reset_peak_rss` (``VmHWM``), in GiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    import resource

    scale = 2**30 if sys.platform == "darwin" else 2**20  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale

KINDS = ("money", "pct", "pp", "num", "int", "days", "date", "text")


@dataclass(frozen=True)
class MetricDefinition:
    """One headline metric as ``metrics.yml`` defines it."""

    name: str
    kind: str
    section: str
    headline: bool
    interval: bool
    digits: int | None
    texts: Mapping[str, Mapping[str, str]]  # lang -> label, definition, population

    def label(self, lang: str) -> str:
        return self.texts[lang]["label"]


@lru_cache(maxsize=1)
def metric_definitions() -> dict[str, MetricDefinition]:
    """The metric registry (``cxlab/report/metrics.yml``), checked on load."""
    raw = yaml.safe_load(resources.files("cxlab.report").joinpath("metrics.yml").read_text(encoding="utf-8"))
    out = {}
    for name, d in raw.items():
        if d.get("kind") not in KINDS:
            raise ValueError(f"metrics.yml: {name}: kind must be one of {KINDS}, got {d.get('kind')!r}")
        texts = {lang: d[lang] for lang in ("en", "ru")}
        for lang, t in texts.items():
            missing = {"label", "definition", "population"} - set(t)
            if missing:
                raise ValueError(f"metrics.yml: {name}.{lang} lacks {sorted(missing)}")
        out[name] = MetricDefinition(name, d["kind"], d["section"], bool(d.get("headline", False)),
                                     bool(d.get("interval", False)), d.get("digits"), texts)
    return out


@dataclass
class MetricRecord:
    """One recorded headline figure: its value (and interval) and its definition."""

    definition: MetricDefinition
    value: Any
    ci: tuple[float, float] | None = None
    digits: int | None = None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def kind(self) -> str:
        return self.definition.kind

    @property
    def section(self) -> str:
        return self.definition.section

    @property
    def headline(self) -> bool:
        return self.definition.headline


def _json_value(value: Any) -> Any:
    from cxlab._base import to_builtin

    if isinstance(value, (pd.Timestamp, _dt.date, np.datetime64)):
        return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
    return to_builtin(value)


class ReportContext:
    """Output channel and inputs of one client's report.

    Parameters
    ----------
    study : Study
        The client's study (:class:`cxlab.study.Study`): data and resolved facts.
    display : bool
        Render through IPython rich display (in a kernel). With ``False`` the
        output is only recorded in :attr:`blocks` (tests, previews).
    """

    def __init__(self, study: Any, *, display: bool = True):
        self.study = study
        self.lang = study.lang
        self.currency = study.currency
        self.fmt = Formatter(self.lang, self.currency)
        self.client = study.client
        self.display_name = study.display_name
        self.metrics: dict[str, MetricRecord] = {}
        self.blocks: list[tuple[str, str]] = []  # (kind, html) in render order
        #: every section built so far: name -> {"status": ok|not_available|failed, "reason": text}
        self.sections: dict[str, dict[str, str]] = {}
        self.section: str | None = None
        self.texts: Mapping[str, Any] = {}
        self._display = display
        #: every table shown, full length: (section, caption, frame, formats) — what tables.xlsx holds
        self.tables: list[dict[str, Any]] = []
        #: every figure: section, number, caption and every text drawn in it (titles, ticks, legends)
        self.figures: list[dict[str, Any]] = []
        #: where figures/ (PNG at 2x, SVG) are written; None: not written (previews, tests)
        self.output_dir: Path | None = None
        #: seconds spent drawing figures (PNG for the page, SVG files) and writing tables.xlsx
        self.timings: dict[str, float] = {"figures_png": 0.0, "figures_svg": 0.0, "tables_xlsx": 0.0}
        #: seconds and peak memory of each stage of the kernel (setup, every section, the tables), in order
        self.resources: dict[str, dict[str, float]] = {}
        self._stage: tuple[str, float] | None = None
        self._shared: dict[str, Any] = {}
        config = getattr(study, "config", None)
        self._client_labels: Mapping[str, Any] = dict(getattr(config, "labels", None) or {})

    def __repr__(self) -> str:
        return f"ReportContext(client={self.client!r}, lang={self.lang!r}, currency={self.currency!r})"

    @property
    def data(self) -> Any:
        return self.study.data

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``key`` is asked for in this report, the same result afterwards:
        an analysis two sections show (e.g. membership effects in the LTV and loyalty sections)."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    # -- low level -------------------------------------------------------------
    def _emit(self, kind: str, html_text: str, plain: str = "") -> None:
        self.blocks.append((kind, html_text))
        if self._display:
            from IPython.display import display

            display({"text/html": html_text, "text/plain": plain or kind}, raw=True)

    def ui(self, key: str, **values: Any) -> str:
        """A text of the report frame (``ui.yml``), filled and rendered as inline HTML."""
        return render_text(ui_texts()[self.lang][key], values)

    # -- texts ------------------------------------------------------------------
    def template(self, key: str) -> str:
        """The raw template ``key`` of the current section (KeyError naming section and key)."""
        try:
            value = self.texts[key]
        except KeyError:
            raise KeyError(f"section {self.section!r} has no text {key!r} in {self.lang!r}") from None
        if not isinstance(value, str):
            raise TypeError(f"text {key!r} of section {self.section!r} is a {type(value).__name__}, not a template")
        return value

    def tr(self, key: str, **values: Any) -> Trusted:
        """Template ``key`` filled with escaped ``values``: Markdown to pass on as a value of another template."""
        return fill(self.template(key), values)

    def plain(self, key: str, **values: Any) -> str:
        """Template ``key`` filled as plain text: for captions, table cells and chart labels, which
        are escaped as text where they are placed (Markdown emphasis is dropped)."""
        template = self.template(key)
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        missing = sorted(names - set(values))
        if missing:
            raise KeyError(f"text {key!r} of section {self.section!r} needs {missing}")
        return template.format_map({k: str(v) for k, v in values.items()}).replace("**", "").replace("*", "")

    def label(self, group: str, key: Any, default: Any = None) -> str:
        """The reader's word for ``key`` in the mapping ``group`` of the section's texts (e.g. category names)."""
        mapping = self.texts.get(group) or {}
        return str(mapping.get(str(key), key if default is None else default))

    def category(self, value: Any) -> str:
        """A category of the client's data (a channel, a store, a segment) in the reader's words.

        The client's own ``labels:`` in ``client.yml`` come first (``{raw: shown}``
        or ``{raw: {en: ..., ru: ...}}``), then the report's defaults for common
        category names (``categories`` in ``ui.yml``), else the value as it is.
        """
        key = str(value)
        given = self._client_labels.get(key)
        if isinstance(given, Mapping):
            given = given.get(self.lang)
        if given:
            return str(given)
        defaults = ui_texts()[self.lang].get("categories") or {}
        return str(defaults.get(key, defaults.get(key.lower(), key)))

    def join(self, *parts: Trusted, sep: str = "") -> Trusted:
        """Filled templates (:meth:`tr`) joined into one, e.g. a sentence and its optional addition."""
        if not all(isinstance(p, Trusted) for p in parts):
            raise TypeError("ctx.join joins filled templates (ctx.tr) only")
        return Trusted(sep.join(parts))

    def _block(self, key: str | Trusted, values: Mapping[str, Any]) -> str:
        """HTML of template ``key`` filled with ``values``, or of a template already filled (:meth:`tr`)."""
        if isinstance(key, Trusted):
            if values:
                raise TypeError("a filled template takes no further values")
            return markdown_to_html(key)
        return render_text(self.template(key), values)

    # -- text --------------------------------------------------------------------
    def heading(self, key: str, level: int = 3, **values: Any) -> None:
        """A sub-heading from template ``key`` (the section's title is rendered by the registry)."""
        text = fill(self.template(key), values)
        self._heading(render_text_inline(text), level, str(text))

    def _heading(self, inner_html: str, level: int, plain: str, anchor: str = "") -> None:
        level = min(max(int(level), 1), 6)
        attr = f' id="{escape(anchor)}"' if anchor else ""
        self._emit("heading", f"<h{level}{attr}>{inner_html}</h{level}>", plain)

    def text(self, key: str, **values: Any) -> None:
        """A paragraph from template ``key`` with ``values`` escaped."""
        self._emit("text", f'<div class="cx-text">{self._block(key, values)}</div>', key)

    def how_to_read(self, key: str, **values: Any) -> None:
        """The short "how to read this" box of a section or sub-section."""
        self._box("how_to_read", "cx-how-to-read", self._block(key, values))

    def caveat(self, key: str, **values: Any) -> None:
        """A caveat box: assumptions, data limits, what the number does not say."""
        self._box("caveat", "cx-caveat", self._block(key, values))

    def _box(self, kind: str, css: str, body: str) -> None:
        title = escape(ui_texts()[self.lang][kind])
        self._emit(kind, f'<div class="{css}"><p class="cx-box-title">{title}</p>{body}</div>', kind)

    def note(self, key: str, **values: Any) -> None:
        """A short note in the muted style (e.g. why a part is missing)."""
        self._emit("note", f'<div class="cx-note">{self._block(key, values)}</div>', key)

    def sample_note(self, what_key: str = "sample_what") -> None:
        """The note that numbers of this part come from the study's customer sample (nothing without one):
        the section's text ``what_key`` names what was estimated."""
        sample = self.study.sample
        if sample is None:
            return
        what = Trusted(render_text_inline(self.template(what_key)))
        body = self.ui("sample_note", what=what, n=self.fmt.int(sample.size),
                       population=self.fmt.int(sample.population), share=self.fmt.pct(sample.fraction))
        self._emit("note", f'<div class="cx-note cx-sample">{body}</div>', "sample_note")

    def bullets(self, items: Sequence[Any]) -> None:
        """A bulleted list of plain sentences (escaped, no markup)."""
        if items:
            body = "".join(f"<li>{escape(item)}</li>" for item in items)
            self._emit("text", f'<div class="cx-text"><ul>{body}</ul></div>', "list")

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
        empty: str | None = None,
    ) -> None:
        """A table formatted for people.

        Parameters
        ----------
        df : DataFrame or Series
        formats : mapping column -> kind or callable, optional
            Kind is one of ``money``, ``pct``, ``pp``, ``num``, ``int``, ``days``, ``date``,
            ``text``; a callable gets the cell value and returns text. Columns
            not listed are formatted by dtype (integers with separators, floats
            with as many decimals as their size needs, dates per language).
        caption : str, optional
            Plain text (escaped).
        index : bool, optional
            Show the index as the first column(s); default: when it is named.
        max_rows : int
            Longer tables are cut, with a note saying so.
        digits : mapping column -> int, optional
            Decimals for ``num``/``money``/``pct`` columns.
        empty : str, optional
            Plain text shown instead of a table without rows: why there is nothing
            to show (default: a generic sentence).
        """
        frame = df.to_frame() if isinstance(df, pd.Series) else df
        if isinstance(frame, pd.DataFrame) and not frame.empty:
            shown_index = index if index is not None else any(n is not None for n in frame.index.names)
            self.tables.append({"section": self.section, "caption": caption, "formats": dict(formats or {}),
                                "digits": dict(digits or {}),
                                "frame": frame.reset_index() if shown_index else frame.reset_index(drop=True)})
        if isinstance(frame, pd.DataFrame) and frame.empty:
            reason = escape(empty) if empty else render_text_inline(ui_texts()[self.lang]["empty_table"])
            cap = f"{escape(caption)}: " if caption else ""
            self._emit("note", f'<p class="cx-note">{cap}{reason}</p>', "empty table")
            return
        self._emit("table", self.table_html(frame, formats, caption=caption, index=index, max_rows=max_rows,
                                            digits=digits), caption or "table")

    def export_table(self, df: pd.DataFrame, *, caption: str, formats: Mapping[str, Any] | None = None,
                     digits: Mapping[str, int] | None = None) -> None:
        """A table for ``tables.xlsx`` only (e.g. the full matrix behind a heatmap the page shows)."""
        if isinstance(df, pd.DataFrame) and not df.empty:
            self.tables.append({"section": self.section, "caption": caption, "formats": dict(formats or {}),
                                "digits": dict(digits or {}), "frame": df.reset_index(drop=True)})

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
            numeric[col] = is_num or kind in ("money", "pct", "pp", "num", "int", "days")
            cls = ' class="num"' if numeric[col] else ""
            head_cells.append(f"<th{cls}>{escape(col)}</th>")
        for _, row in shown.iterrows():
            cells = []
            for col in columns:
                text = self._cell(row[col], shown[col], formats.get(str(col)), digits.get(str(col)))
                cls = ' class="num"' if numeric[col] else ""
                cells.append(f"<td{cls}>{escape(text)}</td>")
            body_rows.append("<tr>" + "".join(cells) + "</tr>")
        cap = f"<caption>{escape(caption)}</caption>" if caption else ""
        note = ""
        if total > len(shown):
            note = f'<p class="cx-note">{escape(ui_texts()[self.lang]["rows_shown"].format(n=len(shown), total=total))}</p>'
        return (
            f'<div class="cx-table-wrap"><table class="cx-table{" cx-short" if len(shown) <= 20 else ""}">{cap}<thead><tr>{"".join(head_cells)}</tr></thead>'
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
        if kind == "days":
            kind, digits = "num", 0 if digits is None else digits
        try:
            return self.fmt.auto(value, kind, digits)
        except (TypeError, ValueError):
            return MISSING if value is None else str(value)

    def figure(self, fig: Any, *, caption: str, alt: str | None = None, name: str | None = None,
               close: bool = True, dpi: int = 110) -> None:
        """A matplotlib figure (or Axes / seaborn grid), numbered and captioned; closed afterwards.

        Parameters
        ----------
        caption : str
            Plain text (escaped) saying what the chart shows; written under it as
            "Figure N. ..." / "Рисунок N. ...".
        alt : str, optional
            Alternative text (default: the caption).
        name : str, optional
            File name stem in ``figures/`` (default: the section and number).
        dpi : int
            Resolution of the page's picture at its displayed size; the PNG is drawn
            at twice that (sharp on screens and in print) and shown at half its pixels.

        Every text of the figure (titles, axis labels, tick labels, legends, the
        offset text of an axis) is kept in :attr:`figures` after drawing, so a test
        can read what the reader sees. With :attr:`output_dir` set (a report run) the
        PNG and an SVG go to ``figures/`` and the page shows the SVG (vector, for
        screen and print); without it (a notebook) the page shows the PNG.
        """
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
        if not caption or not str(caption).strip():
            raise ValueError("ctx.figure needs a caption saying what the chart shows")
        number = len(self.figures) + 1
        t0 = time.perf_counter()
        tight: list = []
        png = _png_bytes(fig, 2 * dpi, tight)
        png_s = time.perf_counter() - t0
        self.timings["figures_png"] += png_s
        width, height = _png_size(png)
        texts = figure_texts(fig)
        stem = name or f"{number:02d}-{self.section or 'figure'}"
        stem = f"{number:02d}-{self.section}-{name}" if name and self.section else stem
        record = {"section": self.section, "number": number, "caption": str(caption), "texts": texts, "file": stem,
                  "seconds": {"png": png_s}}
        shown = ("image/png", png, width // 2, height // 2)  # drawn at 2x, shown at 1x
        if self.output_dir is not None:
            folder = Path(self.output_dir) / "figures"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stem}.png").write_bytes(png)
            t0 = time.perf_counter()
            buf = io.BytesIO()
            # the PNG's own crop when it has one (saves laying the figure out again)
            fig.savefig(buf, format="svg", bbox_inches=tight[0] if tight else "tight", metadata={"Date": None})
            svg = buf.getvalue()
            (folder / f"{stem}.svg").write_bytes(svg)
            record["seconds"]["svg"] = time.perf_counter() - t0
            self.timings["figures_svg"] += record["seconds"]["svg"]
            # A report shows the vector picture: sharp at any zoom, and Chromium prints the demo
            # report in 0.9 CPU-s instead of 1.4 with the PNGs (vectors instead of 2x images).
            shown = ("image/svg+xml", svg, *_svg_size(svg, dpi))
        self.figures.append(record)
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
        kind, data, shown_w, shown_h = shown
        b64 = base64.b64encode(data).decode("ascii")
        label = ui_texts()[self.lang]["figure"].format(n=number)
        self._emit("figure", f'<figure class="cx-figure"><img alt="{escape(alt or caption)}" '
                             f'width="{shown_w}" height="{shown_h}" '
                             f'src="data:{kind};base64,{b64}"/><figcaption><b>{escape(label)}</b> '
                             f'{escape(caption)}</figcaption></figure>', alt or str(caption))

    # -- metrics -----------------------------------------------------------------------
    def metric(self, name: str, value: Any, *, ci: tuple[float, float] | None = None,
               digits: int | None = None) -> None:
        """Record a headline figure defined in ``metrics.yml``.

        Parameters
        ----------
        name : str
            A name of the registry; the metric's section must be the current one.
        value : number, date, text or None
        ci : (low, high), optional
            The 95 % interval; required for metrics the registry marks ``interval``.
        digits : int, optional
            Decimals, overriding the registry's.
        """
        definitions = metric_definitions()
        if name not in definitions:
            raise KeyError(f"metric {name!r} is not defined in cxlab/report/metrics.yml")
        definition = definitions[name]
        if definition.section != self.section:
            raise ValueError(f"metric {name!r} belongs to section {definition.section!r}, "
                             f"not {self.section!r}")
        if name in self.metrics:
            raise ValueError(f"metric {name!r} was already recorded")
        if isinstance(value, (float, np.floating)) and math.isinf(float(value)):
            raise ValueError(f"metric {name!r} is infinite; record None if it cannot be computed")
        if definition.interval and value is not None and ci is None:
            raise ValueError(f"metric {name!r} is an estimate: record it with its 95% interval (ci=)")
        if ci is not None:
            ci = (float(ci[0]), float(ci[1]))
        self.metrics[name] = MetricRecord(definition, value, ci, digits)

    def metric_text(self, name: str, *, with_ci: bool = True) -> str:
        """The formatted value of a recorded metric, with its interval when it has one."""
        rec = self.metrics[name]
        digits = rec.digits if rec.digits is not None else rec.definition.digits
        kind = "num" if rec.kind == "days" else rec.kind
        if rec.kind == "days" and digits is None:
            digits = 0
        text = self.fmt.auto(rec.value, kind, digits)
        if with_ci and rec.ci is not None and all(np.isfinite(rec.ci)):
            lo, hi = (self.fmt.auto(v, kind, digits) for v in rec.ci)
            text += f" ({ui_texts()[self.lang].get('interval', '95%: {lo} … {hi}').format(lo=lo, hi=hi)})"
        return text

    def metrics_dict(self) -> dict[str, Any]:
        """``{name: value}`` with JSON-able values (what ``metrics.json`` holds)."""
        return {name: _json_value(rec.value) for name, rec in self.metrics.items()}

    def metric_details(self) -> dict[str, Any]:
        out = {}
        for name, rec in self.metrics.items():
            texts = rec.definition.texts[self.lang]
            out[name] = {"label": texts["label"], "definition": texts["definition"],
                         "population": texts["population"], "kind": rec.kind, "section": rec.section,
                         "headline": rec.headline, "text": self.metric_text(name),
                         **({"ci_low": rec.ci[0], "ci_high": rec.ci[1]} if rec.ci is not None else {})}
        return out

    def write_metrics(self, path: str | os.PathLike) -> None:
        """Write the metrics, the sections' status and the study's facts atomically as JSON."""
        write_json_atomic(path, {
            "metrics": self.metrics_dict(),
            "details": self.metric_details(),
            "sections": [{"name": name, **status} for name, status in self.sections.items()],
            "study": self.study.to_dict(),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "resources": self.resources,
        })

    def write_tables(self, path: str | os.PathLike) -> None:
        """Write every table of the report, full length, into one Excel workbook (atomically).

        See :func:`cxlab.report.export.write_tables_xlsx`: a contents sheet, then one
        sheet per table with its caption, the reader's column names, numbers kept as
        numbers (money, percent and date formats of the report's language).
        """
        from cxlab.report.export import write_tables_xlsx

        self.begin_stage("tables_xlsx")
        t0 = time.perf_counter()
        write_tables_xlsx(path, self.tables, self.lang, self.currency,
                          section_titles={name: load_texts(name)[self.lang].get("title", name)
                                          for name in {t["section"] for t in self.tables if t["section"]}},
                          metrics=[(rec.definition.label(self.lang), self.metric_text(name))
                                   for name, rec in self.metrics.items() if rec.value is not None])
        self.timings["tables_xlsx"] += time.perf_counter() - t0
        self.end_stage()

    # -- sections ---------------------------------------------------------------------
    def begin_stage(self, name: str) -> None:
        """Start measuring stage ``name`` (seconds, peak resident memory) for ``run.json``."""
        _reset_peak_rss()
        self._stage = (name, time.perf_counter())

    def end_stage(self) -> None:
        if self._stage is not None:
            name, t0 = self._stage
            self.resources[name] = {"seconds": round(time.perf_counter() - t0, 3),
                                    "peak_rss_gib": round(_peak_rss_gib(), 3)}
            self._stage = None
            if self.output_dir is not None:  # progress of a long run, readable while it runs (or if stopped)
                write_json_atomic(self.output_dir / "stages.json", self.resources)

    def begin_section(self, name: str) -> None:
        """Called by the section registry around ``build(ctx)``."""
        self.begin_stage(name)
        self.section = name
        self.texts = load_texts(name)[self.lang]

    def section_title(self, name: str) -> None:
        """The section's title heading (level 2, the link target of the summary)."""
        title = self.texts.get("title") or name.capitalize()
        self._heading(escape(title), 2, title, anchor=f"section-{name}")

    def not_available(self, reason: str) -> None:
        """The section's note when its data needs are not met (``reason`` is plain text)."""
        body = self.ui("not_available", reason=reason)
        enable = self.texts.get("enable")
        if enable:
            body += self.ui("enable", what=Trusted(enable))
        self._emit("not_available", f'<div class="cx-unavailable">{body}</div>', reason)

    def failed(self, error: BaseException) -> str:
        """The section's note when its computation raised; returns the short error text."""
        message = f"{type(error).__name__}: {error}"
        message = message if len(message) <= 300 else message[:299] + "…"
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
        self._emit("failed", f'<div class="cx-failed">{self.ui("failed", error=message)}</div>', message)
        return message

    def end_section(self, status: str = "ok", reason: str = "") -> None:
        self.end_stage()
        if self.section is not None:
            self.sections[self.section] = {"status": status, "reason": reason}
        self.section = None
        self.texts = {}

    def to_html(self) -> str:
        """Everything rendered so far, as an HTML fragment (previews and tests)."""
        return "\n".join(h for _, h in self.blocks)


def render_text_inline(markdown: str) -> str:
    """One line of trusted Markdown as inline HTML (no surrounding paragraph)."""
    out = markdown_to_html(markdown)
    if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1:
        out = out[3:-4]
    return out


#: Room (inches) added around a figure drawn by :func:`_png_bytes`, so labels that stick out
#: of it (seaborn's larger fonts often push the x label below the edge) are still drawn.
_FIGURE_MARGIN = 0.75


def _png_bytes(fig: Any, dpi: int, box: list | None = None) -> bytes:
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
    gives the same bytes on every run. When ``box`` (a list) is given and the fast
    path was taken, the padded tight box in the figure's own inches is appended to
    it, so an SVG of the same figure can be cut without laying it out again.
    The pixels are encoded by :func:`encode_png`.
    """
    import matplotlib as mpl
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
                box_ = tight.padded(pad)
                rgba = np.asarray(canvas.buffer_rgba())
                height, width = rgba.shape[:2]
                # the size in pixels of savefig's cropped canvas
                out_w, out_h = int(box_.width * dpi), int(box_.height * dpi)
                left, top = math.floor(box_.x0 * dpi), math.floor(height - box_.y1 * dpi)
                # opaque background (checked above): the alpha channel is 255 everywhere, so RGB it is
                out = np.empty((out_h, out_w, 3), dtype=np.uint8)
                out[...] = np.round(np.asarray(background[:3]) * 255).astype(np.uint8)
                r0, c0 = max(0, top), max(0, left)
                r1, c1 = min(height, top + out_h), min(width, left + out_w)
                out[r0 - top:r1 - top, c0 - left:c1 - left] = rgba[r0:r1, c0:c1, :3]
                if box is not None:
                    box.append(Bbox.from_extents(box_.x0 - m, box_.y0 - m, box_.x1 - m, box_.y1 - m))
                return encode_png(out, dpi)
        finally:
            fig.set_size_inches(w, h, forward=False)
            fig.dpi = old_dpi
            for ax, original, active, in_layout in saved:
                ax.set_position(original, which="original")
                ax.set_position(active, which="active")
                ax.set_in_layout(in_layout)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None},
                pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def encode_png(rgb: np.ndarray, dpi: float) -> bytes:
    """An RGB image (``uint8``, rows top to bottom) as PNG bytes, with its resolution (``pHYs``).

    Written here, not by Pillow, for speed: Pillow tries PNG's five row filters
    on every row and keeps the best, which for a chart (mostly flat colour)
    buys little and costs most of the time. Rows unfiltered (filter type 0) at
    zlib level 3 encode the demo report's 18 figures (2x) in 0.16 s and 2.3 MB,
    where Pillow at level 1 took 0.50 s for as many bytes; level 4 and above
    save a tenth of the bytes for twice the time (measured on this machine). No time or
    software chunks: the same pixels give the same bytes. The format is
    ISO/IEC 15948 (PNG, second edition), sections 5.3 (chunks) and 11.2.
    """
    import struct
    import zlib

    height, width, channels = rgb.shape
    if rgb.dtype != np.uint8 or channels != 3:
        raise ValueError(f"encode_png expects an (h, w, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    rows = np.empty((height, 1 + 3 * width), dtype=np.uint8)
    rows[:, 0] = 0  # filter type 0 (None) for every row
    rows[:, 1:] = rgb.reshape(height, 3 * width)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    per_metre = round(dpi / 0.0254)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),  # 8-bit RGB, no interlace
        chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),  # 1: pixels per metre
        chunk(b"IDAT", zlib.compress(rows.data, 3)),
        chunk(b"IEND", b""),
    ))


def _svg_size(svg: bytes, dpi: float) -> tuple[int, int]:
    """Width and height in CSS pixels at ``dpi`` of a matplotlib SVG (its root says them in points)."""
    import re

    head = svg[: svg.index(b">", svg.index(b"<svg")) + 1]
    sizes = [float(re.search(rb'\b%s="([0-9.]+)pt"' % key, head).group(1)) for key in (b"width", b"height")]
    return round(sizes[0] / 72 * dpi), round(sizes[1] / 72 * dpi)


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def figure_texts(fig: Any) -> list[str]:
    """Every visible, non-empty text a drawn figure shows: titles, labels, tick labels, legends,
    annotations, colour-bar labels and the axes' offset texts (a "1e6" above an axis)."""
    from matplotlib.text import Text

    out = []
    for artist in fig.findobj(Text):
        if not artist.get_visible():
            continue
        text = artist.get_text()
        if text and text.strip():
            out.append(text)
    return out


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


# --------------------------------------------------------------------------- notebook entry point
def open_report(client: str | None = None, root: str | os.PathLike | None = None,
                overrides: Mapping[str, Any] | None = None, *, config_path: str | os.PathLike | None = None,
                display: bool = True, output_dir: str | os.PathLike | None = None) -> ReportContext:
    """Set up a report in a notebook: the client's study, and the report's title.

    Parameters
    ----------
    client : str, optional
        Client name (``data/<client>/client.yml``), for previews by hand.
    root : path, optional
        Project root (see :func:`cxlab.config.find_root`).
    overrides : mapping, optional
        Parameter overrides (``-p name=value`` of the CLI).
    config_path : path, optional
        The configuration the runner resolved (``config.json`` of the run): a
        run reads ``client.yml`` once, in the runner, and the kernel receives
        the result.
    display : bool
        Render in the notebook (False: record only, for tests).
    output_dir : path, optional
        The run's folder: figures go to ``figures/`` there (PNG at 2x and SVG).
    """
    from cxlab.config import ClientConfig, load_client_config
    from cxlab.study import Study

    started = time.perf_counter()
    if config_path is not None:
        cfg = ClientConfig.from_resolved(Path(config_path))
    elif client is not None:
        cfg = load_client_config(client, root, overrides)
    else:
        raise ValueError("open_report needs a client name or the run's config_path")

    import matplotlib

    matplotlib.use("Agg")  # figures reach the report only through ctx.figure, never by side effect
    # client labels are text, never TeX: "$5 off $10" must not become math (or crash a figure)
    matplotlib.rcParams["text.parse_math"] = False
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    ctx = ReportContext(Study.from_config(cfg), display=display)
    # loading the client's tables and resolving the window (peak: the kernel's since it started)
    ctx.resources["setup"] = {"seconds": round(time.perf_counter() - started, 3),
                              "peak_rss_gib": round(_peak_rss_gib(), 3)}
    ctx.output_dir = Path(output_dir) if output_dir else None
    ctx._emit(
        "title",
        f'<header class="cx-title"><h1>{escape(cfg.display_name)}</h1>'
        f'<p class="cx-subtitle">{escape(ui_texts()[cfg.lang]["title"])}</p></header>',
        cfg.display_name,
    )
    return ctx
