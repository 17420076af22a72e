"""Chart axes in the report's number style (cxlab.report.charts)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from cxlab.report.charts import number_axis  # noqa: E402
from cxlab.report.formatting import Formatter  # noqa: E402


def _labels(low, high, lang, digits):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [low, high])
    number_axis(Formatter(lang), ax, "y", digits=digits)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    plt.close(fig)
    return labels


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_number_axis_gives_every_tick_its_own_label(lang):
    # mean ratings 3.48-3.62: with one decimal every tick would read 3.5 or 3.6
    labels = _labels(3.48, 3.62, lang, digits=1)
    assert len(set(labels)) == len(labels) > 3
    assert all(len(lab.split("," if lang == "ru" else ".")[1]) == 2 for lab in labels)


def test_number_axis_keeps_the_asked_digits_where_they_suffice():
    assert _labels(0, 250, "en", digits=0)[1:3] == ["0", "50"]
    assert _labels(0, 1, "en", digits=1)[1:4] == ["0.0", "0.2", "0.4"]
