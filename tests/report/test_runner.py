"""Runner failure handling: atomic output, offline guard, timeouts and dead kernels."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from cxlab.report import runner
from cxlab.report.html import ExternalResourceError, active_content, external_resources, notebook_to_html
from cxlab.report.runner import ReportError, render_report, render_report_safe


@pytest.fixture
def small_root(tmp_path: Path, demo_root: Path) -> Path:
    """A root with one client whose files exist (the kernel is replaced in most tests)."""
    (tmp_path / "data" / "acme").mkdir(parents=True)
    for name in ("transactions.csv", "client.yml"):
        shutil.copyfile(demo_root / "data" / "demo" / name, tmp_path / "data" / "acme" / name)
    cfg = yaml.safe_load((tmp_path / "data" / "acme" / "client.yml").read_text(encoding="utf-8"))
    cfg["data"] = {"transactions": {"path": "transactions.csv"}}
    (tmp_path / "data" / "acme" / "client.yml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return tmp_path


def _fake_notebook(html_output: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("ctx.html(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html_output, "text/plain": "x"})]
    cell.metadata["tags"] = ["setup"]
    nb.cells = [cell]
    return nb


def _fake_execute(html_output: str):
    def execute(template, out_nb, parameters, cwd, timeout, reuse_kernel=False):
        nb = _fake_notebook(html_output)
        nbformat.write(nb, str(out_nb))
        Path(parameters["metrics_path"]).write_text(json.dumps({"metrics": {"n": 1}, "sections": []}))
        return nb
    return execute


def test_a_run_without_chromium_still_writes_its_report(small_root, monkeypatch):
    monkeypatch.setattr(runner, "execute_notebook", _fake_execute("<p>hello</p>"))
    monkeypatch.setenv("CXLAB_CHROMIUM", str(small_root / "no-such-browser"))
    monkeypatch.setenv("PATH", str(small_root))
    result = render_report("acme", small_root)
    assert result.status == "ok" and not (Path(result.run_dir) / "report.pdf").exists()
    assert "no Chromium" in json.loads((Path(result.run_dir) / "run.json").read_text())["outputs"]["pdf"]["reason"]


def test_successful_fake_run_writes_a_complete_folder(small_root, monkeypatch):
    monkeypatch.setattr(runner, "execute_notebook", _fake_execute("<p>hello</p>"))
    result = render_report("acme", small_root)
    run_dir = Path(result.run_dir)
    # the fake kernel writes no tables.xlsx or figures/; the runner adds the PDF beside the HTML
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "metrics.json", "report.html", "report.ipynb",
                                                         "report.pdf", "run.json"]
    assert json.loads((run_dir / "run.json").read_text())["outputs"]["pdf"]["pages"] == 1
    # the kernel got the configuration the runner resolved, which reads back to the same configuration
    from cxlab.config import ClientConfig, load_client_config

    assert ClientConfig.from_resolved(run_dir / "config.json") == load_client_config("acme", small_root)
    assert json.loads((run_dir / "metrics.json").read_text())["metrics"] == {"n": 1}
    import os
    import stat

    umask = os.umask(0)
    os.umask(umask)
    # as readable as any file the user creates (mkdtemp/mkstemp alone would give 0700/0600)
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o777 & ~umask
    assert stat.S_IMODE((run_dir / "report.html").stat().st_mode) == 0o666 & ~umask
    latest = json.loads((run_dir.parent / "latest.json").read_text())
    assert latest["run_id"] == result.run_id == run_dir.name


def test_crash_during_execution_leaves_no_complete_looking_report(small_root, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(runner, "execute_notebook", crash)
    with pytest.raises(ReportError, match="kernel exploded") as info:
        render_report("acme", small_root)
    assert info.value.stage == "execute"
    reports = small_root / "reports" / "acme"
    assert not list(reports.rglob("report.html"))
    assert not (reports / "latest.json").exists()
    assert not list(reports.glob(".tmp-*"))
    (failed,) = reports.glob("*.failed")
    assert json.loads((failed / "error.json").read_text())["message"].endswith("kernel exploded")


def test_page_loading_from_the_network_is_refused(small_root, monkeypatch):
    monkeypatch.setattr(runner, "execute_notebook", _fake_execute('<script src="https://cdn.example.com/x.js"></script>'))
    result = render_report_safe("acme", small_root)
    assert result.status == "failed" and result.stage == "export"
    assert "ExternalResourceError" in result.error
    assert not list((small_root / "reports" / "acme").rglob("report.html"))


def test_config_errors_fail_before_any_kernel(small_root, monkeypatch):
    monkeypatch.setattr(runner, "execute_notebook", lambda *a, **k: pytest.fail("kernel started"))
    result = render_report_safe("../acme", small_root)
    assert result.status == "failed" and result.stage == "config"
    result = render_report_safe("acme", small_root, {"horizon_months": "-3"})
    assert result.status == "failed" and "horizon_months" in result.error
    assert not (small_root / "reports" / "..acme").exists()


def test_external_resources_detector():
    assert external_resources('<img src="data:image/png;base64,AAA"><a href="#x">x</a>') == []
    bad = ('<link rel="stylesheet" href="https://fonts.googleapis.com/css">'
           '<style>@import url(foo.css); body{background:url("http://x/y.png")}</style>'
           '<img src="//cdn/x.png"><script>1</script><script src="require.js"></script>')
    found = external_resources(bad)
    assert len(found) >= 5


def test_scripts_and_event_handlers_are_refused():
    assert active_content("<p>text about onerror= and <b>script</b></p>") == []
    found = active_content('<p>x</p><script>1</script><img src="data:x" onerror="alert(1)"><a href="javascript:x">')
    assert len(found) == 3
    from cxlab.report.html import ExternalResourceError as Err

    with pytest.raises(Err):
        notebook_to_html(_fake_notebook('<div onmouseover="x()">hi</div>'), title="t", lang="en")


def test_default_nbconvert_templates_would_fail_our_check():
    """Why the basic template: the lab template's page pulls scripts from CDNs."""
    from nbconvert import HTMLExporter

    nb = _fake_notebook("<p>x</p>")
    lab, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert external_resources(lab)
    ours = notebook_to_html(nb, title="t", lang="en")
    assert external_resources(ours) == []


def _template(tmp_path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('client = "x"\nconfig_path = None\nmetrics_path = None')
    params.metadata["tags"] = ["parameters"]
    work = nbformat.v4.new_code_cell(body)
    work.metadata["tags"] = ["section", "section-slow"]
    nb.cells = [params, work]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "template.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_timeout_and_dead_kernel_are_reported_with_the_cell(small_root, tmp_path):
    slow = render_report_safe("acme", small_root, timeout=2, template=_template(tmp_path, "import time\ntime.sleep(60)"))
    assert slow.status == "failed" and slow.stage == "execute"
    assert "section-slow" in (slow.failed_cell or "") and "Timeout" in slow.error
    dead = render_report_safe("acme", small_root, template=_template(tmp_path, "import os\nos._exit(3)"))
    assert dead.status == "failed" and "DeadKernel" in dead.error
    assert "section-slow" in (dead.failed_cell or "")
    assert not list((small_root / "reports" / "acme").rglob("report.html"))


def test_stale_temporary_folders_are_cleaned(small_root, monkeypatch):
    import os
    import time

    monkeypatch.setattr(runner, "execute_notebook", _fake_execute("<p>hello</p>"))
    reports = small_root / "reports" / "acme"
    (reports / ".tmp-old").mkdir(parents=True)
    (reports / ".tmp-live").mkdir()
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(reports / ".tmp-old", (day_ago, day_ago))
    render_report("acme", small_root)
    assert not (reports / ".tmp-old").exists()
    assert (reports / ".tmp-live").exists()  # could be a run in progress


def test_a_report_folder_that_cannot_be_written_is_one_message(small_root, monkeypatch):
    import os

    if os.geteuid() == 0:  # root writes anywhere: make the folder a file instead
        (small_root / "reports" / "acme").parent.mkdir(exist_ok=True)
        (small_root / "reports" / "acme").write_text("not a folder")
    else:
        (small_root / "reports").chmod(0o500)
    monkeypatch.setattr(runner, "execute_notebook", lambda *a, **k: pytest.fail("kernel started"))
    result = render_report_safe("acme", small_root)
    assert result.status == "failed" and result.stage == "output"
    assert "cannot write the report folder" in result.error and "acme" in result.error
    assert "Traceback" not in result.error
