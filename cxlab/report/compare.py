"""Compare two report runs: ``cxlab compare RUN_A RUN_B``.

A run is named by its folder (``reports/demo/20261204T...-en-ab12cd``), its
``metrics.json``, ``<client>/<run-id>`` under ``reports/``, or ``<client>`` /
``<client>/latest[-<lang>]`` for the latest run. :func:`compare_runs` answers
what a consultant asks when a number moved: which headline figures changed and
by how much, which parameters differ, which input files changed (their
fingerprints).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RunComparison", "compare_runs", "resolve_run"]


def resolve_run(run: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """The folder of a run given as a path, ``client/run-id``, ``client`` or ``client/latest[-lang]``."""
    from cxlab.config import ConfigError, find_root

    path = Path(run).expanduser()
    if path.is_file() and path.name == "metrics.json":
        return path.parent
    if (path / "metrics.json").is_file():
        return path
    reports = find_root(root) / "reports"
    text = os.fspath(run).strip("/")
    client, _, rest = text.partition("/")
    folder = reports / client
    if not folder.is_dir():
        raise ConfigError(f"no run {run!r}: neither a run folder nor a client under {reports}")
    if rest and (folder / rest / "metrics.json").is_file():
        return folder / rest
    pointer = folder / f"{rest or 'latest'}.json"
    if rest.startswith("latest") or not rest:
        if pointer.is_file():
            info = json.loads(pointer.read_text(encoding="utf-8"))
            return (folder / info["metrics"]).parent
    raise ConfigError(f"no run {run!r} under {folder}; give a run folder, <client>/<run-id> or <client>/latest-<lang>")


@dataclass
class RunComparison:
    """Two runs side by side. ``metrics``: name, label, value in A and B, difference and relative
    difference; ``parameters``: those that differ; ``inputs``: tables whose fingerprint differs."""

    run_a: Path
    run_b: Path
    metrics: pd.DataFrame
    parameters: pd.DataFrame
    inputs: pd.DataFrame

    def to_text(self) -> str:
        def block(title: str, frame: pd.DataFrame, empty: str) -> str:
            if frame.empty:
                return f"{title}: {empty}"
            with pd.option_context("display.width", 160, "display.max_colwidth", 60, "display.max_rows", 500):
                return f"{title}:\n{frame.to_string(index=False)}"

        shown = self.metrics.copy()
        shown["label"] = [str(x) if len(str(x)) <= 48 else str(x)[:47] + "…" for x in shown["label"]]
        for col in ("A", "B", "difference"):
            shown[col] = [_num(v) for v in shown[col]]
        shown["relative"] = [("" if not isinstance(v, float) or not np.isfinite(v) else f"{v:+.1%}")
                             for v in shown["relative"]]
        return "\n\n".join([
            f"A: {self.run_a}\nB: {self.run_b}",
            block("Parameters that differ", self.parameters, "none"),
            block("Input data that differ (sha256)", self.inputs, "none: the same input files"),
            block("Headline figures", shown, "none recorded"),
        ])

    def to_dict(self) -> dict[str, Any]:
        from cxlab._base import to_builtin

        return to_builtin({"run_a": str(self.run_a), "run_b": str(self.run_b),
                           "metrics": self.metrics.to_dict("records"), "parameters": self.parameters.to_dict("records"),
                           "inputs": self.inputs.to_dict("records")})


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if float(v).is_integer() and abs(v) >= 1:
        return f"{v:,.0f}"
    return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"


def _load(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    run = json.loads((folder / "run.json").read_text(encoding="utf-8")) if (folder / "run.json").is_file() else {}
    return metrics, run


def compare_runs(run_a: str | os.PathLike, run_b: str | os.PathLike,
                 root: str | os.PathLike | None = None) -> RunComparison:
    """Headline figures, parameters and input fingerprints of two runs, side by side."""
    a, b = resolve_run(run_a, root), resolve_run(run_b, root)
    (ma, ra), (mb, rb) = _load(a), _load(b)
    names = list(dict.fromkeys([*ma.get("metrics", {}), *mb.get("metrics", {})]))
    rows = []
    for name in names:
        va, vb = ma.get("metrics", {}).get(name), mb.get("metrics", {}).get(name)
        label = (ma.get("details", {}).get(name) or mb.get("details", {}).get(name) or {}).get("label", name)
        diff = rel = None
        if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
            diff = vb - va
            rel = diff / abs(va) if va else float("nan")
        rows.append({"metric": name, "label": label, "A": va, "B": vb, "difference": diff, "relative": rel})
    metrics = pd.DataFrame(rows, columns=["metric", "label", "A", "B", "difference", "relative"])
    pa, pb = ma.get("parameters", {}), mb.get("parameters", {})
    params = [{"parameter": k, "A": pa.get(k), "B": pb.get(k)} for k in dict.fromkeys([*pa, *pb])
              if pa.get(k) != pb.get(k) and k != "data"]
    fa = (ra.get("inputs") or {}).get("files", {})
    fb = (rb.get("inputs") or {}).get("files", {})
    inputs = [{"table": t, "A": (fa.get(t) or {}).get("sha256", "—")[:16], "B": (fb.get(t) or {}).get("sha256", "—")[:16],
               "path A": (fa.get(t) or {}).get("path"), "path B": (fb.get(t) or {}).get("path")}
              for t in dict.fromkeys([*fa, *fb]) if (fa.get(t) or {}).get("sha256") != (fb.get(t) or {}).get("sha256")]
    return RunComparison(a, b, metrics, pd.DataFrame(params, columns=["parameter", "A", "B"]),
                         pd.DataFrame(inputs, columns=["table", "A", "B", "path A", "path B"]))
