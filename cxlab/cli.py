"""The ``cxlab`` command line.

    cxlab report demo                      # data/demo/client.yml -> reports/demo/<run-id>/report.html
    cxlab report demo -p lang=ru -p margin_rate=0.25
    cxlab report --all --jobs 2            # every client, in parallel; exit 1 if any failed
    cxlab clients                          # list data/<client>/client.yml
    cxlab params                           # parameters -p accepts, with types and defaults
    cxlab compare demo/latest-en demo/latest-ru   # two runs: figures, parameters, inputs that changed

Exit codes: 0 all reports written, 1 a report failed, 2 bad usage or configuration.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cxlab.config import PARAMETERS, ConfigError, find_root, list_clients, load_client_config, parse_overrides

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


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@app.command()
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
    try:
        overrides = parse_overrides(param)
        root_path = find_root(root)
        if client:
            load_client_config(client, root_path, overrides)  # refuse bad names, paths and values before any work
    except ConfigError as exc:
        _fail(str(exc))

    if all_clients:
        from cxlab.report.batch import run_batch

        try:
            batch = run_batch(None, root_path, overrides, jobs=jobs, timeout=timeout, progress=progress,
                              template=template, reuse_kernels=not fresh_kernels)
        except ConfigError as exc:
            _fail(str(exc))
        for r in batch.results:
            if r.status == "ok":
                typer.echo(f"ok      {r.client:<24} {r.duration_s:6.1f} s  {r.html}")
            else:
                where = f" [{r.failed_cell}]" if r.failed_cell else ""
                typer.secho(f"FAILED  {r.client:<24} {r.stage}{where}: {r.error}", fg=typer.colors.RED)
        n_failed = len(batch.failed)
        typer.echo(f"{len(batch.results) - n_failed} ok, {n_failed} failed in {batch.duration_s:.1f} s; "
                   f"manifest {batch.manifest_json}; index {batch.index_html}")
        raise typer.Exit(1 if n_failed else 0)

    from cxlab.report.batch import write_index
    from cxlab.report.runner import render_report_safe

    result = render_report_safe(client, root_path, overrides, timeout=timeout, template=template)
    write_index(root_path, [result])
    if result.status != "ok":
        where = f" [{result.failed_cell}]" if result.failed_cell else ""
        typer.secho(f"FAILED {result.client}: {result.stage}{where}: {result.error}", err=True, fg=typer.colors.RED)
        if result.run_dir:
            typer.echo(f"partial notebook and error.json kept in {result.run_dir}", err=True)
        raise typer.Exit(1)
    typer.echo(f"report: {result.html}\nmetrics: {result.metrics}\n({result.duration_s:.1f} s)")


@app.command()
def clients(root: Optional[Path] = _ROOT) -> None:
    """List the clients (data/<client>/client.yml) and their language and currency."""
    try:
        root_path = find_root(root)
        names = list_clients(root_path)
    except ConfigError as exc:
        _fail(str(exc))
    for name in names:
        try:
            cfg = load_client_config(name, root_path)
            typer.echo(f"{name:<24} {cfg.lang}  {cfg.currency}  {cfg.display_name}")
        except ConfigError as exc:
            typer.secho(f"{name:<24} invalid: {exc}", fg=typer.colors.RED)


@app.command()
def params() -> None:
    """List the parameters a client file or -p NAME=VALUE can set."""
    for p in PARAMETERS.values():
        default = "none" if p.default is None else p.default
        typer.echo(f"{p.name:<22} {p.type_name:<26} default {default!s:<8} {p.description}")


@app.command()
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
