"""The ``cxlab`` command line.

    cxlab report demo                      # data/demo/client.yml -> reports/demo/<run-id>/report.html
    cxlab report demo -p lang=ru -p margin_rate=0.25
    cxlab report --all --jobs 2            # every client, in parallel; exit 1 if any failed
    cxlab clients                          # list data/<client>/client.yml
    cxlab params                           # parameters -p accepts, with types, defaults and ranges
    cxlab clean --keep 3 --dry-run         # prune old and failed runs and stale temporaries in reports/
    cxlab compare demo/latest-en demo/latest-ru   # two runs: figures, parameters, inputs that changed

Exit codes: 0 all reports written, 1 a report failed (or a client folder could not be used, or an
internal error: its traceback goes to a log file named in the message), 2 bad usage, configuration or
data.  Every failure prints one line naming the file, column and rows, or the path and the cause.
"""
from __future__ import annotations

import datetime as _dt
import functools
import os
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, List, Optional

import typer

from cxlab.config import (
    PARAMETERS,
    ConfigError,
    client_folders,
    find_root,
    load_client_config,
    parse_overrides,
)

app = typer.Typer(
    name="cxlab",
    help="cxlab: customer-experience economics research workbench.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_ROOT = typer.Option(None, "--root", envvar="CXLAB_ROOT",
                     help="Project root (the folder with data/ and reports/). Default: found from the working folder.")


@app.callback()
def _main() -> None:
    """cxlab: customer-experience economics research workbench."""


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {_one_line(message)}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _log_traceback(exc: BaseException) -> str:
    """Write the traceback to a log file; return its path (or why it could not be written)."""
    folder = Path(os.environ.get("CXLAB_LOG_DIR") or Path(tempfile.gettempdir()) / "cxlab-logs")
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"cxlab-{stamp}-{os.getpid()}.log"
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return str(path)
    except OSError as err:
        return f"(traceback not saved: {err.strerror or err})"


def _guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """One readable line for every failure: bad input exits 2, anything else 1 with the traceback in a log."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from cxlab.data.validate import DataQualityError

        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            typer.secho("interrupted", err=True, fg=typer.colors.RED)
            raise typer.Exit(130) from None
        except (ConfigError, DataQualityError) as exc:
            _fail(str(exc), 2)
        except Exception as exc:  # noqa: BLE001 - the point: no raw traceback on a user's terminal
            where = _log_traceback(exc)
            _fail(f"{type(exc).__name__}: {_one_line(exc)} — details in {where}", 1)
    return run


@app.command()
@_guarded
def report(
    client: Optional[str] = typer.Argument(None, help="Client name (data/<client>/client.yml) or its folder."),
    all_clients: bool = typer.Option(False, "--all", help="Render every client under data/."),
    param: List[str] = typer.Option([], "--param", "-p", metavar="NAME=VALUE",
                                    help="Override a parameter for this run (repeatable); see `cxlab params`."),
    root: Optional[Path] = _ROOT,
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="Parallel processes for --all (default: CPU cores)."),
    timeout: float = typer.Option(900, "--timeout", min=1, help="Seconds allowed per notebook cell."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar for --all."),
    template: Optional[Path] = typer.Option(None, "--template", help="Report notebook (default notebooks/report.ipynb)."),
    fresh_kernels: bool = typer.Option(False, "--fresh-kernels",
                                       help="--all: a new kernel per client (default: each worker reuses one, "
                                            "cleared between clients and replaced after a failure)."),
) -> None:
    """Render a client's HTML report (or every client's with --all) into reports/<client>/."""
    if bool(client) == all_clients:
        _fail("give one CLIENT or --all (not both)")
    overrides = parse_overrides(param)
    root_path = find_root(root)
    if client:
        load_client_config(client, root_path, overrides)  # refuse bad names, paths and values before any work

    if all_clients:
        from cxlab.report.batch import run_batch

        unusable = [f for f in client_folders(root_path) if f.problem]
        batch = run_batch(None, root_path, overrides, jobs=jobs, timeout=timeout, progress=progress,
                          template=template, reuse_kernels=not fresh_kernels)
        for r in batch.results:
            if r.status == "ok":
                typer.echo(f"ok      {r.client:<24} {r.duration_s:6.1f} s  {r.html}")
            else:
                where = f" [{r.failed_cell}]" if r.failed_cell else ""
                details = f" (details: {Path(r.run_dir) / 'error.json'})" if r.run_dir else ""
                typer.secho(f"FAILED  {r.client:<24} {r.stage}{where}: {_one_line(r.error)}{details}",
                            fg=typer.colors.RED)
        for f in unusable:
            typer.secho(f"SKIPPED {f.name:<24} {f.problem}", fg=typer.colors.RED)
        n_failed = len(batch.failed)
        typer.echo(f"{len(batch.results) - n_failed} ok, {n_failed} failed"
                   + (f", {len(unusable)} skipped" if unusable else "")
                   + f" in {batch.duration_s:.1f} s; manifest {batch.manifest_json}; index {batch.index_html}")
        raise typer.Exit(1 if n_failed or unusable else 0)

    from cxlab.report.batch import write_index
    from cxlab.report.runner import render_report_safe

    result = render_report_safe(client, root_path, overrides, timeout=timeout, template=template)
    try:
        write_index(root_path, [result])
    except Exception as exc:  # noqa: BLE001 - the report itself is written (or its failure reported) below
        where = _log_traceback(exc)
        typer.secho(f"warning: reports/index.html not updated: {type(exc).__name__}: {_one_line(exc)} "
                    f"(details in {where})", err=True, fg=typer.colors.YELLOW)
    if result.status != "ok":
        where = f" [{result.failed_cell}]" if result.failed_cell else ""
        typer.secho(f"FAILED {result.client}: {result.stage}{where}: {_one_line(result.error)}", err=True,
                    fg=typer.colors.RED)
        if result.run_dir:
            typer.echo(f"details: {Path(result.run_dir) / 'error.json'} (and the partly run notebook beside it)",
                       err=True)
        raise typer.Exit(1)
    typer.echo(f"report: {result.html}\nmetrics: {result.metrics}\n({result.duration_s:.1f} s)")


@app.command()
@_guarded
def clients(root: Optional[Path] = _ROOT) -> None:
    """List the clients (data/<client>/client.yml) and their language and currency."""
    root_path = find_root(root)
    for folder in client_folders(root_path):
        if folder.problem:
            typer.secho(f"{folder.name:<24} unusable: {folder.problem}", fg=typer.colors.RED)
            continue
        try:
            cfg = load_client_config(folder.name, root_path)
            typer.echo(f"{folder.name:<24} {cfg.lang}  {cfg.currency}  {cfg.display_name}")
        except ConfigError as exc:
            typer.secho(f"{folder.name:<24} invalid: {_one_line(exc)}", fg=typer.colors.RED)


@app.command()
@_guarded
def params() -> None:
    """List the parameters a client file or -p NAME=VALUE can set."""
    for p in PARAMETERS.values():
        default = "none" if p.default is None else p.default
        valid = f" ({p.check_text})" if p.check_text else ""
        typer.echo(f"{p.name:<22} {p.type_name:<26} default {default!s:<8} {p.description}{valid}")


@app.command()
@_guarded
def clean(
    client: List[str] = typer.Argument(None, help="Clients to clean (default: every folder under reports/)."),
    keep: int = typer.Option(5, "--keep", min=1, help="Finished runs kept per client and language."),
    keep_failed: int = typer.Option(1, "--keep-failed", min=0, help="Failed runs kept per client and language."),
    temp_age: float = typer.Option(60, "--temp-age", min=0,
                                   help="Minutes after which an unfinished run's temporaries count as stale."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be removed."),
    root: Optional[Path] = _ROOT,
) -> None:
    """Remove old runs, failed runs and stale temporaries under reports/<client>/ (nothing else)."""
    from cxlab.report.cleanup import clean_reports

    root_path = find_root(root)
    plan = clean_reports(root_path, client or None, keep=keep, keep_failed=keep_failed,
                         temp_age_s=temp_age * 60, dry_run=dry_run)
    done = plan.items if dry_run else plan.removed
    verb = "would remove" if dry_run else "removed"
    for item in done:
        typer.echo(f"{verb:<12} {item.client:<20} {item.kind:<9} {item.path.name}  ({item.reason})")
    for err in plan.errors:
        typer.secho(f"not removed  {err}", err=True, fg=typer.colors.YELLOW)
    size = sum(i.bytes for i in done) / 2**20
    typer.echo(f"{verb} {len(done)} item(s), {size:.1f} MiB; kept {len(plan.kept)} finished run(s)")
    raise typer.Exit(1 if plan.errors else 0)


@app.command()
@_guarded
def compare(
    run_a: str = typer.Argument(..., help="A run: its folder, <client>/<run-id>, <client> or <client>/latest-<lang>."),
    run_b: str = typer.Argument(..., help="The run to compare it with (same forms)."),
    root: Optional[Path] = _ROOT,
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Compare two report runs: headline figures side by side with their differences, the parameters
    that changed and the input files whose fingerprint changed."""
    from cxlab.report.compare import compare_runs

    try:
        result = compare_runs(run_a, run_b, root)
    except (ConfigError, OSError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        import json

        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(result.to_text())


if __name__ == "__main__":  # python -m cxlab.cli
    app()
