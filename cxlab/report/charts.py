"""Chart wording for reports: axes, legends and tick labels in the report's language and number style.

The plot functions of the analysis modules (:mod:`cxlab.retention`,
:mod:`cxlab.ltv`, :mod:`cxlab.uplift` ...) draw with English defaults for
researchers; a report section draws with them and then puts the reader's words
and conventions on the result with these helpers — a money axis with its
currency and scale written out ("млн ₽", "RUB million") instead of
matplotlib's "1e6" offset, percent and date ticks as the language writes them,
integer ticks where the axis counts months, legends outside the data.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["category_axis", "count_axis", "date_ticks", "legend_outside", "log_ratio_axis", "money_axis",
           "number_axis", "pct_axis", "relabel_legend", "style_axes"]


def _axis(ax, which: str):
    if which not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {which!r}")
    return ax.xaxis if which == "x" else ax.yaxis


def _largest(ax, which: str, values: Sequence[float] | None) -> float:
    if values is not None:
        arr = np.asarray(values, dtype=float)
        arr = arr[np.isfinite(arr)]
        return float(np.abs(arr).max()) if arr.size else 0.0
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    return float(max(abs(lo), abs(hi)))


def money_axis(fmt, ax, label: str, *, which: str = "y", values: Sequence[float] | None = None) -> str:
    """Money on an axis: ticks as plain numbers in the scale the data need, the unit in the label.

    ``label`` is the axis's words (e.g. "Value per customer"); the axis reads
    "Value per customer, RUB thousand" / "Ценность на клиента, тыс. ₽". Returns
    the unit written (for a caption). ``values`` (optional) decide the scale;
    by default the axis limits do.
    """
    from matplotlib.ticker import FuncFormatter

    divisor, word = fmt.scale(_largest(ax, which, values))
    axis = _axis(ax, which)
    # as many decimals as the ticks need to be told apart (0.25 million: two), and no more
    ticks = np.asarray(axis.get_ticklocs(), dtype=float) / divisor
    digits = next((d for d in range(3) if np.allclose(ticks, np.round(ticks, d), atol=1e-9)), 2)
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.num(v / divisor, digits)))
    unit = fmt.money_unit(word)
    axis.set_label_text(f"{label}, {unit}")
    return unit


def number_axis(fmt, ax, label: str | None = None, *, which: str = "y", digits: int = 0,
                integer: bool = False) -> None:
    """Plain numbers in the language's style; ``integer``: ticks only at whole numbers."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis = _axis(ax, which)
    if integer:
        axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.num(v, _tick_digits(axis, digits))))
    if label is not None:
        axis.set_label_text(label)


def _tick_digits(axis, digits: int, most: int = 4) -> int:
    """At least ``digits`` decimals, more where the ticks need them (0.05 steps on a 3.4-3.6 axis would
    otherwise all read "3.5")."""
    locs = np.asarray(axis.get_majorticklocs(), dtype=float)
    locs = locs[np.isfinite(locs)]
    for d in range(digits, most + 1):
        if np.allclose(np.round(locs, d), locs, rtol=0, atol=1e-9 * max(1.0, float(np.abs(locs).max(initial=0)))):
            return d
    return most


def count_axis(fmt, ax, label: str | None = None, *, which: str = "y") -> None:
    """Counts (people, purchases): whole-number ticks with thousands separators."""
    number_axis(fmt, ax, label, which=which, digits=0, integer=True)


def pct_axis(fmt, ax, label: str | None = None, *, which: str = "y", digits: int = 0) -> None:
    """Shares (0-1) as percentages in the language's style ("40%" / "40 %")."""
    from matplotlib.ticker import FuncFormatter

    _axis(ax, which).set_major_formatter(FuncFormatter(lambda v, _pos: fmt.pct(v, digits)))
    if label is not None:
        _axis(ax, which).set_label_text(label)


def log_ratio_axis(fmt, ax, label: str | None = None, *, which: str = "x",
                   values: Sequence[float] | None = None) -> None:
    """A ratio on a log scale with readable ticks (0.5, 0.75, 1, 1.5, 2) instead of "6x10^-1"."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    axis = _axis(ax, which)
    lo, hi = ax.get_xlim() if which == "x" else ax.get_ylim()
    if values is not None:
        arr = np.asarray(values, dtype=float)
        arr = arr[np.isfinite(arr) & (arr > 0)]
        if arr.size:
            lo, hi = min(lo, arr.min()), max(hi, arr.max())
    # evenly spaced on a log scale, and far enough apart that their labels never touch
    candidates = [0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]
    ticks = [t for t in candidates if lo * 0.98 <= t <= hi * 1.02]
    if len(ticks) > 7:
        ticks = [t for t in ticks if t in (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)]
    if 1.0 not in ticks:
        ticks = sorted(set(ticks) | {1.0})
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_minor_locator(NullLocator())

    def tick_text(v: float, _pos: Any = None) -> str:
        digits = 0 if float(v).is_integer() else 1 if round(v, 1) == round(v, 2) else 2
        return fmt.num(v, digits)

    axis.set_major_formatter(FuncFormatter(tick_text))
    if label is not None:
        axis.set_label_text(label)


def date_ticks(fmt, ax, dates: Sequence[Any], *, which: str = "x", style: str = "month_short",
               max_ticks: int = 12, rotation: float = 0) -> None:
    """Categorical positions 0..n-1 labelled with ``dates`` in the language (every k-th when many)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    dates = list(dates)
    step = max(1, int(np.ceil(len(dates) / max_ticks)))
    positions = list(range(0, len(dates), step))
    axis = _axis(ax, which)
    axis.set_major_locator(FixedLocator(positions))
    axis.set_minor_locator(NullLocator())
    labels = [fmt.date(dates[i], style=style) for i in positions]
    if which == "x":
        ax.set_xticks(positions, labels, rotation=rotation, ha="right" if rotation else "center")
    else:
        ax.set_yticks(positions, labels)


def category_axis(ax, labels: Callable[[str], str], *, which: str = "y") -> None:
    """Rename the tick labels of a categorical axis (client categories in the reader's words)."""
    axis = _axis(ax, which)
    ticks = axis.get_ticklocs()
    texts = [t.get_text() for t in axis.get_ticklabels()]
    if which == "x":
        ax.set_xticks(ticks, [labels(t) for t in texts])
    else:
        ax.set_yticks(ticks, [labels(t) for t in texts])


def relabel_legend(ax, names: Mapping[str, str] | Callable[[str], str], **kwargs: Any) -> None:
    """Rename the legend's entries (a mapping or a function of the old label) and redraw it."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    rename = names if callable(names) else (lambda s: names.get(s, s))
    old = ax.get_legend()
    keep = {}
    if old is not None and not kwargs:
        keep = {"loc": old._loc}
    ax.legend(handles, [rename(lab) for lab in labels], **{**keep, **kwargs})


def legend_outside(ax, names: Mapping[str, str] | Callable[[str], str] | None = None, *, where: str = "right",
                   title: str | None = None, ncol: int | None = None) -> None:
    """The legend beside (``right``) or under (``below``) the plot, never over the data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if names is not None:
        rename = names if callable(names) else (lambda s: names.get(s, s))
        labels = [rename(lab) for lab in labels]
    if where == "right":
        legend = ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                           title=title, ncol=ncol or (1 if len(labels) <= 14 else 2), fontsize="small",
                           title_fontsize="small")
        _room_on_the_right(ax, legend)
    elif where == "below":
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False, title=title,
                  ncol=ncol or min(len(labels), 4), fontsize="small", title_fontsize="small")
    elif where == "above":
        ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, title=title,
                  ncol=ncol or min(len(labels), 4), fontsize="small", title_fontsize="small")
    else:
        raise ValueError(f"where must be 'right', 'below' or 'above', got {where!r}")


def _room_on_the_right(ax, legend) -> None:
    """Narrow the plot so the legend beside it lies inside the figure: the figure keeps the size it
    was given (readable at print size) and is drawn in one pass (see ``context._png_bytes``)."""
    fig = ax.figure
    if fig.get_layout_engine() is not None and not type(fig.get_layout_engine()).__name__.startswith("PlaceHolder"):
        return
    width_in = legend.get_window_extent(fig.canvas.get_renderer()).width / fig.dpi
    fig_w = fig.get_size_inches()[0]
    pos = ax.get_position()
    right = (fig_w - width_in - 0.1) / fig_w - 0.01 * pos.width
    if right < pos.x1 and right > pos.x0 + 0.3:
        fig.subplots_adjust(right=right)


def style_axes(ax, *, title: str | None = None, xlabel: str | None = None, ylabel: str | None = None) -> None:
    """Title and axis labels in one call (``None`` leaves one as it is)."""
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
