"""Run the mutation check: each named bug of ``catalogue.yml`` in its own copy of the project.

For every mutant: copy the project (package, notebooks, tests, data; no .git, .venv or reports) to a
temporary folder, apply the one patch, and run its named tests and then
``tests/report/test_headlines.py`` with ``pytest -x`` from that folder, with the copy first on
``PYTHONPATH``. The report tests start their Papermill kernel through
:func:`cxlab.report.notebook.kernel_environment`, which puts the folder of the *imported* cxlab first
on the kernel's ``PYTHONPATH``, so the kernel runs the mutated copy too (checked before each run).

A mutant is *caught* when a test fails, *survived* when every test passes, and an *error* when the
patch no longer applies or the copy's cxlab is not the one imported. Prints one line per mutant and a
table (mutant → first failing test); exits 1 unless every mutant was caught.

    python tests/mutants/run.py                 # the whole catalogue, one mutant at a time
    python tests/mutants/run.py --jobs 2        # two mutants in parallel
    python tests/mutants/run.py -k survey       # mutants whose name contains "survey"
    python tests/mutants/run.py --list          # names, files and tests only
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = Path(__file__).with_name("catalogue.yml")
ALWAYS = "tests/report/test_headlines.py"
_SKIP = shutil.ignore_patterns(".git", ".venv", "reports", ".pytest_cache", ".hypothesis", "__pycache__",
                               "*.egg-info", ".ipynb_checkpoints", "benchmarks")


def load_catalogue(path: Path = CATALOGUE) -> list[dict]:
    mutants = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = [m["name"] for m in mutants]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"{path}: mutant names used twice: {duplicated}")
    for m in mutants:
        missing = {"name", "why", "file", "old", "new", "tests"} - set(m)
        if missing:
            raise ValueError(f"{path}: mutant {m.get('name')!r} lacks {sorted(missing)}")
    return mutants


def apply(mutant: dict, root: Path) -> None:
    """Replace ``old`` by ``new`` in ``root/file``; ``old`` must occur exactly once."""
    path = root / mutant["file"]
    text = path.read_text(encoding="utf-8")
    count = text.count(mutant["old"])
    if count != 1:
        raise ValueError(f"{mutant['name']}: the old text occurs {count} times in {mutant['file']} (must be once)")
    path.write_text(text.replace(mutant["old"], mutant["new"]), encoding="utf-8")


def _environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(copy), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _first_failure(junit: Path) -> str | None:
    if not junit.is_file():
        return None
    text = junit.read_text(encoding="utf-8", errors="replace")
    for case in re.finditer(r'<testcase classname="([^"]*)" name="([^"]*)"[^>]*?(/>|>(.*?)</testcase>)', text, re.S):
        body = case.group(4) or ""
        if "<failure" in body or "<error" in body:
            module = case.group(1).replace(".", "/")
            return f"{module}.py::{case.group(2)}"
    return None


def run_one(mutant: dict, *, timeout: float = 1800) -> dict:
    t0 = time.perf_counter()
    result = {"name": mutant["name"], "file": mutant["file"], "status": "error", "caught_by": None, "seconds": 0.0,
              "detail": ""}
    with tempfile.TemporaryDirectory(prefix=f"cxlab-mutant-{mutant['name']}-") as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(REPO, copy, ignore=_SKIP)
        try:
            apply(mutant, copy)
        except ValueError as exc:
            result["detail"] = str(exc)
            return result
        env = _environment(copy)
        where = subprocess.run([sys.executable, "-c", "import cxlab; print(cxlab.__file__)"], cwd=copy, env=env,
                               capture_output=True, text=True)
        if not where.stdout.strip().startswith(str(copy)):
            result["detail"] = f"the copy's cxlab is not the one imported: {where.stdout.strip() or where.stderr[-300:]}"
            return result
        tests = list(dict.fromkeys([*mutant["tests"], ALWAYS]))
        junit = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
               "--junitxml", str(junit), *tests]
        try:
            proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            result.update(status="error", detail=f"timed out after {timeout:.0f} s")
            return result
        result["seconds"] = round(time.perf_counter() - t0, 1)
        if proc.returncode == 0:
            result["status"] = "survived"
        elif proc.returncode == 1:
            result["status"] = "caught"
            result["caught_by"] = _first_failure(junit) or "?"
        else:  # collection errors, usage errors: the mutant broke the run rather than a test
            result["status"] = "caught" if proc.returncode in (2, 3) else "error"
            result["caught_by"] = _first_failure(junit) or f"pytest exit {proc.returncode}"
            result["detail"] = proc.stdout[-400:]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1, help="mutants run in parallel (default 1)")
    parser.add_argument("-k", default="", help="only mutants whose name contains this text")
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)

    mutants = [m for m in load_catalogue() if args.k in m["name"]]
    if args.list:
        for m in mutants:
            print(f"{m['name']:48s} {m['file']:36s} {', '.join(m['tests'])}")
        return 0
    t0 = time.perf_counter()
    results = []

    def one(m):
        r = run_one(m)
        print(f"{r['status']:9s} {r['name']:48s} {r['seconds']:7.1f} s  {r['caught_by'] or r['detail'][:120]}",
              flush=True)
        return r

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(one, mutants))
    elapsed = time.perf_counter() - t0
    caught = sum(r["status"] == "caught" for r in results)
    print("\n| mutant | file | first catching test |\n| --- | --- | --- |")
    for r in results:
        print(f"| {r['name']} | {r['file']} | {r['caught_by'] if r['status'] == 'caught' else r['status'].upper()} |")
    print(f"\n{caught} of {len(results)} mutants caught; {len(results) - caught} not; "
          f"{elapsed / 60:.1f} min with --jobs {args.jobs}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "seconds": round(elapsed, 1), "jobs": args.jobs},
                                        indent=1), encoding="utf-8")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
