"""Provenance of a report run: what made it, so that the same data and parameters give the same numbers.

* :func:`data_fingerprint` — sha256 of every input file (or an engine-computed
  checksum of a warehouse table) and one combined digest;
* :func:`library_versions` — Python, cxlab and the analysis libraries;
* :func:`footer_html` — the reproducibility footer of the report: parameters
  (those set for this run only marked), the study's resolved definitions,
  the fingerprint, versions and the run's time.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Mapping

from cxlab.report.formatting import Formatter
from cxlab.report.html import escape
from cxlab.report.texts import ui_texts

__all__ = ["VERSIONED", "data_fingerprint", "file_sha256", "footer_html", "library_versions"]

#: Libraries whose versions the footer records.
VERSIONED = ("pandas", "numpy", "scipy", "statsmodels", "lifelines", "matplotlib", "seaborn",
             "duckdb", "ibis-framework", "pyarrow", "papermill", "nbconvert", "ipykernel")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_fingerprint(cfg: Any) -> dict[str, Any]:
    """sha256 of every input file and one combined digest over (table, sha256) pairs.

    The combined digest ignores file names and locations: the same bytes give
    the same fingerprint wherever the client folder lives.
    """
    files = {}
    combined = hashlib.sha256()
    for table in sorted(cfg.tables):
        source = cfg.tables[table]
        if source.engine is not None:
            entry = _engine_fingerprint(source, cfg.root)
        else:
            entry = {"path": _rel(source.path, cfg.root), "sha256": file_sha256(source.path),
                     "bytes": source.path.stat().st_size}
        files[table] = entry
        combined.update(f"{table}:{entry['sha256']}\n".encode())
    return {"sha256": combined.hexdigest(), "files": files}


def _engine_fingerprint(source: Any, root: Path) -> dict[str, Any]:
    """Fingerprint of a transaction log kept in an engine.

    Parquet files are hashed like any file. A Spark or warehouse table cannot be
    hashed byte by byte from here, so the engine computes a content checksum
    (rows, customers, amount total, first and last timestamp) that changes when
    the data does; the footer says which kind it is.
    """
    from cxlab.data import engines

    path = source.path
    if path is not None:
        matched = engines.parquet_files(path)
        h = hashlib.sha256()
        size = 0
        for f in matched:
            h.update(f"{_rel(f, root)}:{file_sha256(f)}\n".encode())
            size += f.stat().st_size
        return {"path": _rel(path, root), "sha256": h.hexdigest(), "bytes": size, "files": len(matched)}
    import pandas as pd

    from cxlab.data import log_overview

    log = log_overview(source.read_spec())
    check = {"rows": log["rows"], "customers": log["customers"], "returns": log["returns"],
             "amount_total": round(log["revenue"], 6),
             **{k: None if pd.isna(log[k]) else log[k].isoformat() for k in ("first", "last")}}
    text = json.dumps({"source": {k: v for k, v in source.engine.items() if k != "url"}, **check}, sort_keys=True)
    return {"path": f"{source.engine.get('engine')}:{source.engine.get('table') or 'query'}",
            "sha256": hashlib.sha256(text.encode()).hexdigest(), "bytes": None, "checksum": check}


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def library_versions() -> dict[str, str]:
    """Python, cxlab and the versions of the libraries the analyses use."""
    from importlib import metadata

    import cxlab

    out = {"python": sys.version.split()[0], "cxlab": getattr(cxlab, "__version__", "unknown")}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# --------------------------------------------------------------------------- footer
def _param_text(fmt: Formatter, name: str, value: Any, none: str) -> str:
    if value is None:
        return none
    if isinstance(value, _dt.date):
        return fmt.date(value)
    if name in ("discount_rate", "margin_rate", "reward_rate", "breakage", "cx_shift_share"):
        return fmt.pct(value, 1)
    if name == "program_cost":
        return fmt.money(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt.num(value, 0 if float(value).is_integer() else 2)
    return str(value)


def _study_rows(study: Mapping[str, Any], t: Mapping[str, Any], fmt: Formatter) -> list[tuple[str, str]]:
    """The study's resolved facts as (name, value) rows in the report's language."""
    v, src = t["study_values"], t["sources"]

    def source(key: Any) -> str:
        return str(src.get(str(key), key))

    rows = [("window", v["window"].format(start=fmt.date(study["window_start"]), end=fmt.date(study["window_end"])))]
    cal = study["calibration"]
    rows.append(("calibration_end", v["calibration"].format(date=fmt.date(cal["calibration_end"]),
                                                            source=source(cal["source"]))
                 if cal["calibration_end"] else v["calibration_none"].format(reason=cal["reason"])))
    churn = study["churn"]
    if churn["kind"] == "no_purchase":
        rows.append(("churn", v["churn_no_purchase"].format(days=fmt.int(churn["threshold_days"]),
                                                            source=source(churn["source"]))))
    elif churn["kind"] == "contractual":
        rows.append(("churn", v["churn_contractual"]))
    else:
        rows.append(("churn", v["churn_unavailable"].format(reason=churn.get("reason", ""))))
    sleeping = study.get("sleeping")
    if sleeping is not None:
        rows.append(("sleeping", v["sleeping"].format(days=fmt.int(sleeping["threshold_days"]),
                                                      source=source(sleeping["source"]),
                                                      window=fmt.int(sleeping["campaign_window_days"]))
                     if sleeping["threshold_days"] is not None
                     else v["sleeping_unavailable"].format(reason=sleeping.get("reason", ""))))
    rows.append(("margin_rate", v["margin"].format(rate=fmt.pct(study["margin_rate"], 2),
                                                   source=source(study["margin_source"]))))
    rows.append(("units", v["units"]))
    if "sample" in study:
        sample = study["sample"]
        rows.append(("sample", v["sample"].format(n=fmt.int(sample["size"]), population=fmt.int(sample["population"]),
                                                  share=fmt.pct(sample["fraction"]), seed=sample["seed"])
                     if sample else v["sample_none"]))
    return rows


def footer_html(cfg: Any, fingerprint: dict[str, Any], versions: Mapping[str, str], *, run_id: str,
                started: _dt.datetime, duration_s: float, template_sha: str,
                study: Mapping[str, Any] | None = None) -> str:
    """The reproducibility footer: parameters, the study's definitions, data fingerprint, versions, run time."""
    t = ui_texts()[cfg.lang]["footer"]
    fmt = Formatter(cfg.lang, cfg.currency)
    e = escape
    overridden = set(getattr(cfg, "overridden", ()))
    names = t["param_names"]
    params = "".join(
        f"<tr><td>{e(names.get(k, k))} <code>{e(k)}</code></td><td>{e(_param_text(fmt, k, v, t['none']))}"
        + (f' <span class="cx-overridden">({e(t["overridden"])})</span>' if k in overridden else "")
        + "</td></tr>"
        for k, v in cfg.all_params().items()
    )
    study_html = ""
    if study:
        rows = "".join(f"<tr><td>{e(t['study_rows'].get(k, k))}</td><td>{e(v)}</td></tr>"
                       for k, v in _study_rows(study, t, fmt))
        study_html = f'<h3>{e(t["study"])}</h3><table class="cx-study">{rows}</table>'
    files = "".join(
        f"<tr><td>{e(table)}</td><td>{e(f['path'])}</td><td>{e(fmt.int(f['bytes']))}</td><td><code>{e(f['sha256'])}</code></td></tr>"
        for table, f in fingerprint["files"].items()
    )
    vers = ", ".join(f"{e(k)} {e(v)}" for k, v in versions.items())
    return (
        f'<footer class="cx-footer" id="reproducibility"><h2>{e(t["title"])}</h2>'
        f'<h3>{e(t["params"])}</h3><table class="cx-params"><tr><th>{e(t["param"])}</th><th>{e(t["value"])}</th></tr>{params}</table>'
        f'{study_html}'
        f'<h3>{e(t["data"])}</h3><p>{e(t["fingerprint"])}: <code class="cx-fingerprint">{e(fingerprint["sha256"])}</code></p>'
        f'<table class="cx-files"><tr><th>{e(t["table"])}</th><th>{e(t["file"])}</th><th>{e(t["size"])}</th><th>sha256</th></tr>{files}</table>'
        f'<h3>{e(t["versions"])}</h3><p class="cx-versions">{vers}</p>'
        f'<h3>{e(t["run"])}</h3><p>{e(t["run_id"])}: <code>{e(run_id)}</code>; {e(t["started"])}: '
        f'<time datetime="{e(started.isoformat())}">{e(fmt.datetime(started))}</time>; '
        f'{e(t["duration"])}: <span class="cx-duration">{e(fmt.duration(duration_s))}</span>; '
        f'{e(t["template"])}: <code>{e(template_sha[:16])}</code></p></footer>'
    )
