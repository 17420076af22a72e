"""Every exploratory notebook (notebooks/explore_*.ipynb) runs top to bottom on the demo data.

Executed with Papermill on the ``python3`` kernel from the notebooks/ folder, as JupyterLab
would run them; any cell raising fails the test with the cell and the error. The executed
copies go to a temporary folder, never over the committed notebooks.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("explore_*.ipynb"))
#: Every notebook runs from a folder outside the project (cxlab.open_study and cxlab.datasets.reference_data
#: find the project). These also show tables as people read them (no 2.506664e+05, inf or NaN).
READABLE = ("explore_retention", "explore_segmentation", "explore_survey", "explore_customer_equity",
            "explore_cx_drivers")


def test_report_template_is_a_valid_parameterised_notebook():
    import nbformat

    nb = nbformat.read(str(REPO / "notebooks" / "report.ipynb"), as_version=4)
    nbformat.validate(nb)
    tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
    assert tags[0] == "parameters" and "setup" in tags and "executive-summary" in tags
    from cxlab.report.sections import SECTION_ORDER

    assert [t[len("section-"):] for t in tags if t.startswith("section-")] == list(SECTION_ORDER)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the template without outputs"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_exploratory_notebook_runs(notebook: Path, tmp_path: Path):
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from cxlab.report.notebook import ensure_python3_kernel, kernel_environment

    # data/demo is committed: a missing file is a failure, not a reason to skip
    assert (REPO / "data" / "demo" / "transactions.csv").is_file(), "data/demo/transactions.csv is missing"
    ensure_python3_kernel()
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    try:
        with kernel_environment():
            executed = pm.execute_notebook(
                str(notebook), str(tmp_path / notebook.name), kernel_name="python3", cwd=str(cwd),
                progress_bar=False, execution_timeout=300, start_timeout=120,
            )
    except PapermillExecutionError as exc:
        pytest.fail(f"{notebook.name}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}", pytrace=False)
    if notebook.stem in READABLE:
        import re

        for k, cell in enumerate(executed.cells):
            for out in cell.get("outputs", []):
                shown = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/html", ""))
                bad = re.findall(r"\d\.\d+e[+-]\d\d|\binf\b|\bNaN\b|\bnan\b|<NA>|\bNaT\b", shown)
                assert not bad, f"{notebook.name} cell {k} shows {sorted(set(bad))}"
