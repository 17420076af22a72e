"""The mutation catalogue cannot rot: every patch still applies exactly once to the current code.

(The mutants themselves run with ``make mutants``, :mod:`run`; this check is part of the normal suite.)
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
_spec = importlib.util.spec_from_file_location("cxlab_mutants_run", HERE / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)
MUTANTS = run.load_catalogue()


def test_the_catalogue_is_large_and_holds_the_four_mutants_of_issue_16():
    names = {m["name"] for m in MUTANTS}
    assert len(names) >= 36
    assert {"btyd_covariances_doubled", "dr_did_without_propensity_weights", "ltv_section_ignores_margin_rate",
            "nps_headline_is_lower_ci_bound"} <= names


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m["name"] for m in MUTANTS])
def test_patch_applies_exactly_once_and_changes_the_code(mutant, tmp_path):
    source = REPO / mutant["file"]
    assert source.is_file(), f"{mutant['name']}: no file {mutant['file']}"
    assert mutant["old"] != mutant["new"], mutant["name"]
    (tmp_path / mutant["file"]).parent.mkdir(parents=True)
    (tmp_path / mutant["file"]).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    run.apply(mutant, tmp_path)  # raises unless `old` occurs exactly once
    patched = (tmp_path / mutant["file"]).read_text(encoding="utf-8")
    compile(patched, mutant["file"], "exec")  # a mutant is a wrong number, never a syntax error
    for test in mutant["tests"]:
        assert (REPO / test.split("::")[0]).is_file(), f"{mutant['name']}: no test {test}"


def test_apply_refuses_an_old_text_that_is_not_unique(tmp_path):
    (tmp_path / "m.py").write_text("x = 1\nx = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="2 times"):
        run.apply({"name": "twice", "file": "m.py", "old": "x = 1\n", "new": "x = 2\n"}, tmp_path)
