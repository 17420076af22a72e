"""The hostile-input corpus: bad, ambiguous and malicious client data and configuration.

Every case is a test marked ``@pytest.mark.corpus(group, outcome)``:

``outcome="error"``
    cxlab must stop with one readable message; the test asserts its key facts
    (file, column, rows, evidence, the client.yml line to add).
``outcome="result"``
    cxlab must load the data and get the numbers right; the test asserts them
    (totals, groups, counts in the data-quality report).

Cases go through the same door a report uses: ``load_client_config`` on a
throw-away project root, then ``cfg.load_data()``.  Run
``CXLAB_CORPUS_TABLE=1 pytest tests/hostile -p no:xdist`` to print the corpus table
(cases tried / clear error / correct result, per group).
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from ._corpus import Project


def pytest_configure(config):
    config.addinivalue_line("markers", "corpus(group, outcome): a hostile-input case (outcome: error | result)")


_TABLE: Counter = Counter()


def pytest_collection_modifyitems(config, items):
    for item in items:
        mark = item.get_closest_marker("corpus")
        if mark is not None:
            _TABLE[(mark.args[0], mark.args[1])] += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not os.environ.get("CXLAB_CORPUS_TABLE") or not _TABLE:
        return
    groups = sorted({g for g, _ in _TABLE})
    tr = terminalreporter
    tr.section("hostile-input corpus")
    tr.write_line(f"{'group':<14} {'tried':>5} {'clear error':>12} {'correct result':>15}")
    for g in groups:
        e, r = _TABLE[(g, "error")], _TABLE[(g, "result")]
        tr.write_line(f"{g:<14} {e + r:>5} {e:>12} {r:>15}")
    e = sum(v for (g, o), v in _TABLE.items() if o == "error")
    r = sum(v for (g, o), v in _TABLE.items() if o == "result")
    tr.write_line(f"{'total':<14} {e + r:>5} {e:>12} {r:>15}")


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "proj")
