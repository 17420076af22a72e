"""Benchmark: `cxlab report --all` on 20 demo clients (goal: under 45 s with 2 workers on the 2-core machine),
every output included: HTML, PDF (Chromium), tables.xlsx and figures/ (PNG at 2x and SVG).

Builds a throw-away project root with N demo clients (the demo generator with a different
seed per client, half of them in Russian), then measures in the same run

* baseline: one client rendered alone (kernel start, every section, HTML export) — the
  sequential estimate for N clients is N times this;
* the batch: all N clients with ``run_batch(jobs=<cores>)``.

Prints the batch wall time, the goal check, the ratio batch / sequential estimate, and where a
client's time goes (kernel start, loading the data, each section, figures, Excel, HTML, PDF).

    python benchmarks/bench_report.py [--clients 20] [--jobs 2] [--customers 2000]

Measured 2026-12-05 on an idle machine (ten sections), final code: 95.0 s for 20 clients (goal NOT
met; 109.0 s before this change), 4.75 s per client; one client alone 12.4 s; cells 7.2 s per client
(LTV 2.0, retention 1.3, segments 0.9; PNG figures 1.9 and SVG 0.9 inside them), kernel start and
Papermill 0.4, HTML 0.3, PDF 1.0. Machine CPU per client ~8 s: figures alone (18 charts drawn twice,
PNG and SVG; matplotlib's draw does not get cheaper at lower resolution) ~2.8, the PDF ~0.9.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cxlab.datasets import write_demo_files  # noqa: E402
from cxlab.report.batch import run_batch  # noqa: E402
from cxlab.report.runner import render_report  # noqa: E402

GOAL_S = 45.0


def make_root(n_clients: int, n_customers: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="cxlab_bench_"))
    (root / "reports").mkdir()
    demo_cfg = yaml.safe_load((REPO / "data" / "demo" / "client.yml").read_text(encoding="utf-8"))
    for i in range(n_clients):
        name = f"client_{i:02d}"
        folder = root / "data" / name
        write_demo_files(folder, n_customers=n_customers, seed=1000 + i)
        cfg = dict(demo_cfg, display_name=f"Demo client {i:02d}", language="ru" if i % 2 else "en")
        (folder / "client.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return root


def print_cell_times(results) -> None:
    """Mean seconds per template cell (Papermill's timings): where a client's time goes."""
    import nbformat

    totals: dict[str, list[float]] = {}
    for r in results:
        if r.status != "ok":
            continue
        nb = nbformat.read(str(Path(r.run_dir) / "report.ipynb"), as_version=4)
        for cell in nb.cells:
            tags = [t for t in cell.metadata.get("tags", []) if t != "section"] or ["?"]
            duration = cell.metadata.get("papermill", {}).get("duration")
            if duration is not None:
                totals.setdefault(tags[0], []).append(float(duration))
    print("mean seconds per cell in the batch:")
    for tag, values in totals.items():
        if sum(values) / len(values) >= 0.05:
            print(f"  {tag:<28} {sum(values) / len(values):6.2f}")
    import json

    stages: dict[str, list[float]] = {}
    for r in results:
        if r.status != "ok":
            continue
        timings = json.loads((Path(r.run_dir) / "run.json").read_text(encoding="utf-8")).get("timings", {})
        if "execute" in timings and "cells" in timings:
            timings["kernel start and papermill"] = timings["execute"] - timings["cells"]
        for key, value in timings.items():
            stages.setdefault(key, []).append(float(value))
    print("mean seconds per client by stage (kernel_*: inside the cells above):")
    for key in ("config", "fingerprint", "kernel start and papermill", "cells", "kernel_figures_png",
                "kernel_figures_svg", "kernel_tables_xlsx", "html", "pdf"):
        if key in stages:
            print(f"  {key:<28} {sum(stages[key]) / len(stages[key]):6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--customers", type=int, default=2000, help="customers per demo client (data/demo has 2000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary root")
    args = parser.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores {os.cpu_count()}, jobs {args.jobs}, load average at start {load:.1f}")
    t = time.perf_counter()
    root = make_root(args.clients, args.customers)
    print(f"data for {args.clients} clients x {args.customers} customers written in {time.perf_counter() - t:.1f} s")
    try:
        # baseline: one client alone (papermill and nbconvert imported first, as in a batch worker)
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401

        t = time.perf_counter()
        render_report("client_00", root)
        single = time.perf_counter() - t
        sequential = single * args.clients
        print(f"baseline: one client alone {single:.1f} s -> sequential estimate {sequential:.1f} s")

        shutil.rmtree(root / "reports")
        (root / "reports").mkdir()
        t = time.perf_counter()
        batch = run_batch(None, root, jobs=args.jobs, progress=False)
        wall = time.perf_counter() - t
        failed = batch.failed
        print(f"batch: {len(batch.results)} clients in {wall:.1f} s with {args.jobs} jobs "
              f"({wall / len(batch.results):.2f} s per client); failed: {len(failed)}")
        for r in failed:
            print(f"  FAILED {r.client}: {r.failed_cell}: {r.error}")
        durations = sorted(r.duration_s for r in batch.results)
        print(f"per-client render time: median {durations[len(durations) // 2]:.1f} s, max {durations[-1]:.1f} s")
        print(f"ratio batch / sequential estimate: {wall / sequential:.2f}")
        print_cell_times(batch.results)
        print(f"goal {args.clients} clients < {GOAL_S:.0f} s: {'met' if wall < GOAL_S and not failed else 'NOT met'} "
              f"({wall:.1f} s)")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
