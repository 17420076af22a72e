"""The `cxlab` command line: argument checks and exit codes (rendering itself: tests/report/test_render.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.config import PARAMETERS

runner = CliRunner()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    good = tmp_path / "data" / "good"
    good.mkdir(parents=True)
    (good / "tx.csv").write_text("customer_id,timestamp,amount\nA,2024-01-01,10\n", encoding="utf-8")
    (good / "client.yml").write_text(yaml.safe_dump(
        {"display_name": "Good Co", "language": "ru", "currency": "EUR", "data": {"transactions": "tx.csv"}}),
        encoding="utf-8")
    bad = tmp_path / "data" / "bad"
    bad.mkdir()
    (bad / "client.yml").write_text("currency: EUR\ndata: {transactions: nowhere.csv}\n", encoding="utf-8")
    return tmp_path


def test_params_lists_every_parameter():
    result = runner.invoke(app, ["params"])
    assert result.exit_code == 0
    for name in PARAMETERS:
        assert name in result.output


def test_clients_lists_valid_and_invalid(root):
    result = runner.invoke(app, ["clients", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert "good" in result.output and "Good Co" in result.output and "EUR" in result.output
    assert "bad" in result.output and "invalid" in result.output and "nowhere.csv" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give one CLIENT or --all"),
        (["good", "--all"], "give one CLIENT or --all"),
        (["../good"], "outside"),
        (["good;rm"], "not allowed"),
        (["nobody"], "known clients: bad, good"),
        (["good", "-p", "churn=30"], "valid parameters"),
        (["good", "-p", "lang"], "name=value"),
        (["good", "-p", "horizon_months=-1"], "horizon_months"),
        (["bad"], "nowhere.csv"),
    ],
)
def test_report_refuses_bad_input_before_rendering(root, args, message):
    result = runner.invoke(app, ["report", *args, "--root", str(root)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not any((root / "reports").rglob("*")) if (root / "reports").exists() else True


def test_root_from_environment(root, monkeypatch):
    monkeypatch.setenv("CXLAB_ROOT", str(root))
    result = runner.invoke(app, ["clients"])
    assert result.exit_code == 0 and "good" in result.output


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "cxlab.cli", "report", "--help"], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--all" in out.stdout and "--param" in out.stdout


def test_params_show_the_valid_ranges():
    result = runner.invoke(app, ["params"])
    assert "1 to 3650 days" in result.output and "0 <= rate < 1" in result.output


def test_clean_on_a_fresh_project(root):
    result = runner.invoke(app, ["clean", "--root", str(root)])
    assert result.exit_code == 0 and "removed 0 item(s)" in result.output
    result = runner.invoke(app, ["clean", "nobody", "--root", str(root)])
    assert result.exit_code == 2 and "no report folder for 'nobody'" in result.output
    result = runner.invoke(app, ["clean", "--keep", "0", "--root", str(root)])
    assert result.exit_code == 2  # at least the newest run of each language stays


def test_clients_lists_unusable_folder_names(root):
    (root / "data" / "ромашка").mkdir()
    (root / "data" / "ромашка" / "client.yml").write_text("currency: RUB\n", encoding="utf-8")
    result = runner.invoke(app, ["clients", "--root", str(root)])
    assert result.exit_code == 0 and "ромашка" in result.output and "'romashka'" in result.output
