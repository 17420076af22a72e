"""The command line: client folders it cannot use, one-line failures without tracebacks, `cxlab clean`."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.config import ConfigError, client_folders, list_clients
from cxlab.report.cleanup import clean_reports, plan_cleanup
from cxlab.report.runner import RunResult

from ._corpus import rows

corpus = pytest.mark.corpus
runner = CliRunner()


def _lines(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.strip()]


# --------------------------------------------------------------------------- client folders
@corpus("clients", "error")
def test_non_ascii_client_folder_is_listed_with_the_reason(project):
    project.client("good", files={"tx.csv": rows("1;2024-01-05;10")})
    project.client("ООО Ромашка", files={"tx.csv": rows("1;2024-01-05;10")})
    assert list_clients(project.root) == ["good"]
    (bad,) = [f for f in client_folders(project.root) if f.problem]
    assert "'ooo-romashka'" in bad.problem and "display_name" in bad.problem
    result = runner.invoke(app, ["clients", "--root", str(project.root)])
    assert result.exit_code == 0
    assert any(ln.startswith("good") for ln in _lines(result.output))
    assert any(ln.startswith("ООО Ромашка") and "unusable" in ln and "ooo-romashka" in ln
               for ln in _lines(result.output))


@corpus("clients", "error")
def test_report_on_a_non_ascii_folder_says_how_to_fix_it(project):
    project.client("Ромашка", files={"tx.csv": rows("1;2024-01-05;10")})
    result = runner.invoke(app, ["report", "Ромашка", "--root", str(project.root)])
    assert result.exit_code == 2
    (line,) = _lines(result.output)
    assert "rename the folder, e.g. to 'romashka'" in line


@corpus("clients", "error")
def test_report_all_names_the_folders_it_skipped(project, monkeypatch):
    project.client("good", files={"tx.csv": rows("1;2024-01-05;10")})
    project.client("Ромашка", files={"tx.csv": rows("1;2024-01-05;10")})
    seen = {}

    class Batch:
        results = [RunResult(client="good", status="ok", duration_s=1.0, html="reports/good/x/report.html")]
        failed: list = []
        duration_s = 1.0
        manifest_json = "reports/manifest.json"
        index_html = "reports/index.html"

    def fake_batch(clients, root, overrides, **kw):
        seen["clients"] = list_clients(root)
        return Batch()

    monkeypatch.setattr("cxlab.report.batch.run_batch", fake_batch)
    result = runner.invoke(app, ["report", "--all", "--root", str(project.root)])
    assert seen["clients"] == ["good"]
    assert result.exit_code == 1
    assert any(ln.startswith("SKIPPED Ромашка") and "romashka" in ln for ln in _lines(result.output))
    assert "1 ok, 0 failed, 1 skipped" in result.output


# --------------------------------------------------------------------------- one line, no traceback
@corpus("cli", "error")
def test_data_failure_in_a_report_run_is_one_line_plus_where_the_details_are(project, monkeypatch):
    project.client(files={"tx.csv": rows("1;2024-01-05;10")})
    run_dir = project.root / "reports" / "acme" / "20250101T000000000Z-en-abcdef.failed"

    def fake_render(client, root, overrides, **kw):
        return RunResult(client="acme", status="failed", duration_s=1.0, stage="execute", failed_cell="setup",
                         error="DataQualityError: tx.csv, column \"amount\", row 3: expected a number, got \"x\"",
                         run_dir=str(run_dir))

    monkeypatch.setattr("cxlab.report.runner.render_report_safe", fake_render)
    monkeypatch.setattr("cxlab.report.batch.write_index", lambda *a, **k: None)
    result = runner.invoke(app, ["report", "acme", "--root", str(project.root)])
    assert result.exit_code == 1
    lines = _lines(result.output)
    assert len(lines) == 2 and "Traceback" not in result.output
    assert lines[0].startswith("FAILED acme: execute [setup]: DataQualityError: tx.csv") and "row 3" in lines[0]
    assert lines[1].startswith(f"details: {run_dir / 'error.json'}")


@corpus("cli", "error")
def test_unexpected_crash_is_one_line_and_a_log_file(project, monkeypatch, tmp_path):
    project.client(files={"tx.csv": rows("1;2024-01-05;10")})
    monkeypatch.setenv("CXLAB_LOG_DIR", str(tmp_path / "logs"))

    def boom(*a, **k):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("cxlab.report.runner.render_report_safe", boom)
    result = runner.invoke(app, ["report", "acme", "--root", str(project.root)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = _lines(result.output)
    assert "RuntimeError: disk on fire second line" in line and "details in" in line
    (log,) = (tmp_path / "logs").iterdir()
    assert "Traceback" in log.read_text() and str(log) in line


@corpus("cli", "error")
def test_index_that_cannot_be_written_is_a_warning_not_a_traceback(project, monkeypatch, tmp_path):
    project.client(files={"tx.csv": rows("1;2024-01-05;10")})
    monkeypatch.setenv("CXLAB_LOG_DIR", str(tmp_path / "logs"))
    ok = RunResult(client="acme", status="ok", duration_s=1.0, html="r.html", metrics="m.json")
    monkeypatch.setattr("cxlab.report.runner.render_report_safe", lambda *a, **k: ok)

    def read_only(*a, **k):
        raise PermissionError(13, "Permission denied", str(project.root / "reports" / "index.html"))

    monkeypatch.setattr("cxlab.report.batch.write_index", read_only)
    result = runner.invoke(app, ["report", "acme", "--root", str(project.root)])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert "warning: reports/index.html not updated: PermissionError" in result.output
    assert "Permission denied" in result.output and "report: r.html" in result.output


@corpus("cli", "error")
def test_bad_root_is_one_line(tmp_path):
    result = runner.invoke(app, ["clients", "--root", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    (line,) = _lines(result.output)
    assert "has no data/ folder" in line


# --------------------------------------------------------------------------- cxlab clean
def _run(folder: Path, run_id: str, age_s: float = 0, failed: bool = False) -> Path:
    path = folder / (run_id + (".failed" if failed else ""))
    path.mkdir(parents=True)
    (path / ("error.json" if failed else "report.html")).write_text("x" * 100)
    if age_s:
        t = time.time() - age_s
        os.utime(path, (t, t))
    return path


def _id(day: int, lang: str = "en") -> str:
    return f"202501{day:02d}T120000000Z-{lang}-{day:06x}"


@pytest.fixture
def reports(project):
    folder = project.root / "reports" / "acme"
    runs = {d: _run(folder, _id(d)) for d in range(1, 8)}  # 7 English runs
    ru = {d: _run(folder, _id(d, "ru")) for d in (2, 4)}
    failed = {d: _run(folder, _id(d), failed=True) for d in (3, 5, 9)}
    (folder / "latest.json").write_text(json.dumps({"run_id": _id(7)}))
    stale = _run(folder, ".tmp-" + _id(8) + "-k2j3", age_s=7200)
    fresh = _run(folder, ".tmp-" + _id(9) + "-zzzz")
    tmp_file = folder / ".latest.json.abc123.tmp"
    tmp_file.write_text("{")
    t = time.time() - 7200
    os.utime(tmp_file, (t, t))
    (folder / "notes.txt").write_text("mine")
    return dict(folder=folder, runs=runs, ru=ru, failed=failed, stale=stale, fresh=fresh, tmp_file=tmp_file)


@corpus("clean", "result")
def test_clean_keeps_the_newest_runs_per_language_and_prunes_the_rest(project, reports):
    result = runner.invoke(app, ["clean", "--keep", "3", "--root", str(project.root)])
    assert result.exit_code == 0, result.output
    left = sorted(p.name for p in reports["folder"].iterdir())
    assert left == sorted([_id(5), _id(6), _id(7), _id(2, "ru"), _id(4, "ru"), _id(9) + ".failed",
                           reports["fresh"].name, "latest.json", "notes.txt"])
    assert "removed 8 item(s)" in result.output


@corpus("clean", "result")
def test_clean_dry_run_removes_nothing(project, reports):
    before = sorted(p.name for p in reports["folder"].iterdir())
    result = runner.invoke(app, ["clean", "--dry-run", "--keep", "1", "--keep-failed", "0", "--root",
                                 str(project.root)])
    assert result.exit_code == 0
    assert sorted(p.name for p in reports["folder"].iterdir()) == before
    assert "would remove 12 item(s)" in result.output and "kept 2 finished run(s)" in result.output


@corpus("clean", "result")
def test_clean_never_follows_links_or_leaves_reports(project, reports, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("keep")
    link = reports["folder"] / _id(1, "de")  # a link named like an old run
    link.symlink_to(precious, target_is_directory=True)
    (project.root / "reports" / "evil").symlink_to(precious, target_is_directory=True)
    plan = clean_reports(project.root, keep=1, keep_failed=0)
    assert (precious / "keep.txt").read_text() == "keep" and link.is_symlink()
    assert all(item.path.parent == reports["folder"] for item in plan.removed)
    with pytest.raises(ConfigError):
        plan_cleanup(project.root, ["evil"])
    with pytest.raises(ConfigError):
        plan_cleanup(project.root, ["../outside"])


@corpus("clean", "result")
def test_latest_run_is_kept_even_if_not_among_the_newest(project, reports):
    (reports["folder"] / "latest.json").write_text(json.dumps({"run_id": _id(1)}))
    clean_reports(project.root, keep=1, keep_failed=0)
    assert reports["runs"][1].is_dir() and reports["runs"][7].is_dir() and not reports["runs"][4].exists()
