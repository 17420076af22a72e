"""cxlab._plotting.heatmap: seaborn's heatmap without its throw-away draw, and the same picture."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from cxlab._plotting import heatmap  # noqa: E402


def _draw_counter(monkeypatch):
    calls = []
    real = FigureCanvasAgg.draw

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(FigureCanvasAgg, "draw", counting)
    return calls


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    plt.close(fig)
    return buf.getvalue()


@pytest.mark.parametrize("labels", [
    [f"label {i}" for i in range(4)],               # room to spare: labels stay as they are
    [f"a long tick label {i}" for i in range(30)],  # crowded: seaborn turns them
])
def test_heatmap_draws_nothing_and_makes_seaborns_picture(monkeypatch, labels):
    data = np.random.default_rng(3).random((len(labels), len(labels)))
    fig, ax = plt.subplots(figsize=(5, 4))
    calls = _draw_counter(monkeypatch)
    heatmap(data, ax=ax, annot=len(labels) < 10, xticklabels=labels, yticklabels=labels)
    assert calls == []  # seaborn alone draws the whole figure once here
    ours = _png(fig)
    rotations = [t.get_rotation() for t in ax.get_xticklabels()]

    fig, ax = plt.subplots(figsize=(5, 4))
    sns.heatmap(data, ax=ax, annot=len(labels) < 10, xticklabels=labels, yticklabels=labels)
    assert [t.get_rotation() for t in ax.get_xticklabels()] == rotations
    assert _png(fig) == ours
