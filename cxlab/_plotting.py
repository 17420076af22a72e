"""Plotting helpers shared by the analysis modules' ``plot_*`` functions."""
from __future__ import annotations

from typing import Any

__all__ = ["heatmap"]


def _lay_out_ticks(fig: Any) -> None:
    """Put every Axes' tick labels where a draw would, without drawing: what seaborn's overlap test needs."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        ax.xaxis.get_tightbbox(renderer)  # places the ticks and their labels (public; no pixels drawn)
        ax.yaxis.get_tightbbox(renderer)


def heatmap(data: Any, **kwargs: Any) -> Any:
    """:func:`seaborn.heatmap` without the whole-figure draw it makes; returns the Axes.

    seaborn draws the entire figure inside ``heatmap`` only so that tick labels
    have positions for its overlap test (it turns overlapping labels). That
    draw renders every artist on the figure (hundreds of cell labels, any other
    panel) and is thrown away: 0.1 s a heatmap, half a second per report. Here
    the tick labels are laid out by :func:`_lay_out_ticks` instead, so the same
    test sees the same positions and turns the same labels. If a seaborn version
    no longer has the private hook, the plain function runs.
    """
    import seaborn as sns
    import seaborn.matrix as sns_matrix

    if not callable(getattr(sns_matrix, "_draw_figure", None)):
        return sns.heatmap(data, **kwargs)
    original = sns_matrix._draw_figure
    sns_matrix._draw_figure = _lay_out_ticks
    try:
        return sns.heatmap(data, **kwargs)
    finally:
        sns_matrix._draw_figure = original
