"""Peers' environments and subprocess timing, shared by the benchmark scripts.

A peer whose pins conflict with cxlab's (``lifetimes``, PyMC-Marketing) or
that cxlab does not install (polars) runs in its own throw-away virtual
environment, created here on first use under ``benchmarks/_envs/<name>``
(git-ignored) with exact versions, and reused while the versions stay the same.

Every contender runs in a fresh subprocess that reports, as one JSON line, its
own wall time (``time.perf_counter`` from after its imports), CPU time (all
threads: ``time.process_time``) and peak resident memory (the process' own
high-water mark, ``VmHWM``), so a figure never includes the benchmark script's
own memory.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENVS = HERE / "_envs"

#: Exact versions of each peer's environment (pandas/numpy/pyarrow as in cxlab's constraints.txt where they
#: are shared, so frames pickled by a peer load in cxlab's environment for the equality checks).
PEERS: dict[str, list[str]] = {
    "polars": ["polars==2.1.0", "pyarrow==26.0.1", "pandas==2.3.3", "numpy==2.4.6"],
    "lifetimes": ["lifetimes==0.11.3", "autograd==1.9.1", "autograd-gamma==0.5.0", "dill==0.4.1",
                  "pandas==2.3.3", "numpy==2.4.6", "scipy==1.17.1"],
    "pymc": ["pymc-marketing==0.19.2", "pymc==5.28.5", "pytensor==2.38.3", "pandas==2.3.3", "numpy==2.4.6",
             "scipy==1.17.1"],
}

# The code every timed program starts with: report() prints the JSON line the parent reads. Peak RSS
# is the kernel's high-water mark of this process (VmHWM), not ru_maxrss: Linux carries ru_maxrss
# over from the parent through fork and exec, so a child would report the benchmark script's own peak.
PRELUDE = """
import json, resource, sys, time
def peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def report(t0, c0, **extra):
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                      "peak_rss_mib": peak_rss_mib(), **extra}), flush=True)
"""


def peer_python(name: str) -> Path:
    """The Python of peer ``name``'s environment, created (a few minutes, once) if missing or outdated."""
    requirements = PEERS[name]
    env = ENVS / name
    stamp = env / ".requirements"
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    python = env / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    print(f"(creating the {name} environment under {env}: {' '.join(requirements)})", flush=True)
    ENVS.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
                   check=True)
    stamp.write_text(digest)
    return python


def run(code: str, *args: object, python: str | os.PathLike | None = None, env: dict | None = None,
        timeout: float | None = None) -> dict:
    """Run ``PRELUDE + code`` in a fresh interpreter; return the last JSON line it printed."""
    out = subprocess.run(
        [str(python or sys.executable), "-c", PRELUDE + code, *map(str, args)],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(results: list[dict]) -> dict:
    """The fastest run by wall time (and the least CPU time of all runs), with the median peak RSS.

    Wall time on a shared machine only ever grows with others' work, so the minimum is the best
    estimate; an engine's peak memory varies by a few percent from run to run either way.
    """
    best = dict(min(results, key=lambda r: r["seconds"]))
    best["cpu_seconds"] = min(r["cpu_seconds"] for r in results)
    best["peak_rss_mib"] = float(sorted(r["peak_rss_mib"] for r in results)[len(results) // 2])
    best["runs"] = len(results)
    return best


def load_note() -> str:
    return f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work inflates wall times; CPU times less so)"
