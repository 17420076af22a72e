"""Suite-wide test settings: a headless plotting backend, two Hypothesis profiles and a throw-away PostgreSQL.

Hypothesis profiles (choose with ``pytest --hypothesis-profile=NAME``):

* ``cxlab`` (default): derandomized, so CI and a developer see the same examples for the same code.
* ``random``: fresh examples on every run (``make test`` runs the property tests once more with it).
  A failure prints the falsifying example and a ``@reproduce_failure`` blob to paste above the test.

Neither keeps an example database: what runs is decided by the profile alone, never by earlier runs.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("cxlab", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("random", derandomize=False, database=None, deadline=None, print_blob=True)
settings.load_profile("cxlab")  # the command line's --hypothesis-profile overrides this


# --------------------------------------------------------------------------- coverage rates
def binomial_band(n: int, p: float, level: float = 0.99) -> tuple[int, int]:
    """Fewest and most hits accepted: the central ``level`` range of Binomial(n, p)."""
    from scipy import stats

    tail = (1 - level) / 2
    return int(stats.binom.ppf(tail, n, p)), int(stats.binom.isf(tail, n, p))


def _assert_coverage(hits: int, n: int, nominal: float = 0.95, *, level: float = 0.99, one_sided: bool = False,
                     what: str = "") -> None:
    lo, hi = binomial_band(n, nominal, level)
    hits = int(hits)
    print(f"coverage {what}: {hits}/{n} = {hits / n:.3f} (accepted {lo}..{'' if one_sided else hi})")
    if one_sided:  # a conservative interval by construction: only under-coverage is a miscalibration
        assert hits >= lo, f"{what}: {hits}/{n} covered, at least {lo} needed ({level:.1%} band of {nominal:.0%})"
    else:
        assert lo <= hits <= hi, (f"{what}: {hits}/{n} covered, accepted {lo}..{hi} "
                                  f"({level:.1%} band of Binomial({n}, {nominal}))")


@pytest.fixture(scope="session")
def assert_coverage():
    """``assert_coverage(hits, n, nominal=0.95, level=0.99, one_sided=False, what="")``.

    The coverage tests count, over ``n`` simulated data sets with fixed seeds, how often an interval
    contains the true value; the count must lie in the two-sided ``level`` band of Binomial(n, nominal).
    A count above the band fails too: too-wide intervals (a doubled variance) are as wrong as too-narrow
    ones. A test that checks k parameters passes ``level = 1 - 0.01 / k`` (Bonferroni).
    """
    return _assert_coverage


# --------------------------------------------------------------------------- pictures in a report

def _assert_inert_svg(svg: bytes) -> str:
    """An SVG a report shows (as an ``<img>``, where browsers run nothing and fetch nothing anyway) holds,
    outside comments, no script, no event handler, no embedded HTML and no reference outside itself.
    Returns its text outside comments (what a check for client strings should search)."""
    import re

    text = re.sub(r"<!--.*?-->", "", svg.decode("utf-8"), flags=re.S)  # matplotlib notes each text in a comment
    assert not re.search(r"<\s*script|<\s*foreignObject|\son[a-z]+\s*=|javascript:", text, re.I), text[:200]
    refs = re.findall(r"""(?:xlink:)?href\s*=\s*["']([^"']*)""", text)
    assert all(ref.startswith(("#", "data:")) for ref in refs), [r for r in refs if not r.startswith("#")][:5]
    return text


@pytest.fixture(scope="session")
def assert_inert_svg():
    """``assert_inert_svg(svg_bytes)``: see :func:`_assert_inert_svg`."""
    return _assert_inert_svg


# --------------------------------------------------------------------------- PostgreSQL
def _pg_bin(name: str) -> str:
    """Path of a PostgreSQL server program: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:
        return candidates[-1]
    raise RuntimeError(
        f"PostgreSQL server program {name!r} not found (neither on PATH nor in /usr/lib/postgresql/*/bin): "
        "`make test` installs it with `apt-get install -y postgresql`; or set CXLAB_TEST_POSTGRES_URL"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a PostgreSQL server for the engine tests.

    ``CXLAB_TEST_POSTGRES_URL`` when set; otherwise a throw-away cluster: ``initdb`` into a temporary
    folder, started with ``pg_ctl`` on a free port of 127.0.0.1 (trust authentication, user ``cxlab``),
    stopped and deleted at the end of the session. PostgreSQL refuses to run as root, so under root the
    server programs run as the ``postgres`` user that Debian's package creates.
    """
    url = os.environ.get("CXLAB_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    run_as: dict = {}
    root = tempfile.mkdtemp(prefix="cxlab-pg-")
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError("running as root but there is no `postgres` user to run the server as "
                               "(Debian's postgresql package creates it)") from exc
        os.chown(root, pw.pw_uid, pw.pw_gid)
        run_as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    port = _free_port()

    def run(*args: str) -> None:
        res = subprocess.run(args, capture_output=True, text=True, cwd=root, timeout=120, **run_as)
        if res.returncode != 0:
            server_log = Path(log).read_text(errors="replace") if os.path.exists(log) else ""
            raise RuntimeError(f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}\n{server_log}")

    started = False
    try:
        run(initdb, "-D", data, "-U", "cxlab", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        run(pg_ctl, "-D", data, "-l", log, "-w", "-t", "60", "-o",
            f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c full_page_writes=off",
            "start")
        started = True
        yield f"postgres://cxlab@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True, cwd=root,
                           timeout=120, **run_as)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session (2 cores) for every Spark test of the worker, stopped at the end."""
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cxlab-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.adaptive.enabled", "false")  # tiny data: planning costs more than it saves
        .config("spark.sql.codegen.wholeStage", "false")  # and so does compiling generated code
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
