"""Client configuration: one ``data/<client>/client.yml`` per client.

A client file names the client, its language and currency, where its data
files are and how their columns map onto the data contract
(:mod:`cxlab.data.contract`), and the study parameters of its report::

    display_name: Demo Retail            # shown in the report title
    language: en                         # en | ru
    currency: RUB                        # ISO 4217 code
    data:                                # paths relative to this folder, and inside it
      transactions:
        path: transactions.csv
        columns: {client_header: contract_name}   # optional rename; quote headers with , or :
        sep: ";"                         # optional read options (all detected or refused
        encoding: cp1251                 #   when the file cannot tell): encoding, sep,
        decimal: ","                     #   decimal, dayfirst, sheet, date_format,
        dayfirst: true                   #   timezone (IANA name), strip_leading_zeros
      customers: {path: customers.csv}   # optional table
      surveys: {path: surveys.csv}       # optional table
      campaigns: {path: campaigns.csv}   # optional table (winback campaigns, treatment / control)
    parameters:                          # every key optional (defaults below)
      churn_threshold_days: 90           # default: chosen from the pauses between purchases
      sleeping_days: 90                  # default: the churn threshold (winback audience)
      campaign_window_days: 60           # returns counted this long after a campaign is sent
      horizon_months: 12
      discount_rate: 0.10                # annual
      margin_rate: 0.30                  # default: from a margin column, else 30 % assumed
      program_cost: 0                    # loyalty programme fixed cost per year, in currency
      reward_rate: 0.03                  # loyalty rewards as a share of members' revenue
      breakage: 0.2                      # share of rewards never redeemed
      observation_end: 2024-12-31        # default: last transaction date
      calibration_end: null              # default: the last third of the window is held out
    labels:                              # optional: the client's words for its categories in reports
      call_center: Контакт-центр         #   one text for every language,
      S02: {en: Tverskaya store, ru: Магазин на Тверской}   # or one per language

The rules that turn these into the facts of a study (window, split, churn
definition, margin) live in one place, :mod:`cxlab.study`.

Every value can be overridden for one run (``cxlab report demo -p lang=ru
-p margin_rate=0.25``): :func:`parse_overrides` parses the text by the
parameter's type and checks its range at once, refusing unknown names with the
valid ones.  Every number is finite and bounded (``cxlab params`` lists the
ranges).

Safety:

* client names match ``^[A-Za-z0-9_-]+$``; folders under ``data/`` with other
  names are listed by :func:`client_folders` with the reason, never skipped in
  silence;
* ``client.yml`` is read by :func:`read_yaml`: safe constructors, at most
  256 KiB and 20,000 values once aliases are expanded (a "billion laughs" file
  is refused in milliseconds), no repeated keys, UTF-8, every error one line
  with the line, column and a hint;
* every file a configuration can reach — a data path, a symlink, each match
  of an engine glob, each entry of an engine folder, a DuckDB database — must
  resolve inside the client's own folder ``data/<client>/``; SQL that runs on
  this machine is refused;
* reports go to ``<root>/reports/<client>`` only.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import glob as _glob
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

__all__ = [
    "ConfigError",
    "ClientConfig",
    "Parameter",
    "PARAMETERS",
    "TableSource",
    "CLIENT_NAME_RE",
    "ClientFolder",
    "client_folders",
    "find_root",
    "list_clients",
    "load_client_config",
    "parse_overrides",
    "read_yaml",
    "report_dir",
    "suggest_client_name",
]

CLIENT_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
LANGUAGES = ("en", "ru")
TABLE_NAMES = ("transactions", "customers", "surveys", "campaigns")
#: read_table options a client file may set per table (besides ``path`` and ``columns``).
READ_OPTIONS = ("encoding", "sep", "decimal", "dayfirst", "sheet", "date_format", "timezone", "strip_leading_zeros",
                "header_line")
TOP_LEVEL_KEYS = ("name", "display_name", "language", "lang", "currency", "data", "parameters", "labels")


class ConfigError(ValueError):
    """A client configuration problem; the message names the file and the key."""

    def __init__(self, message: str, *, file: str | os.PathLike | None = None, key: str | None = None):
        self.file = None if file is None else str(file)
        self.key = key
        where = ": ".join(p for p in (self.file, key) if p)
        message = " ".join(str(message).split())  # one line
        super().__init__(f"{where}: {message}" if where else message)


# --------------------------------------------------------------------------- parameters
def _scalar(text: Any, what: str) -> Any:
    if isinstance(text, (list, tuple, dict, set)):
        raise ValueError(f"expected {what}, got a {'list' if isinstance(text, (list, tuple, set)) else 'mapping'}")
    return text


def _parse_int(text: Any) -> int:
    text = _scalar(text, "an integer")
    if isinstance(text, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        if math.isfinite(text) and text.is_integer():
            return int(text)
        raise ValueError("expected a whole number")
    s = str(text).strip().replace("_", "")
    if len(s) > 30:
        raise ValueError("too many digits")
    return int(s)


def _parse_float(text: Any) -> float:
    text = _scalar(text, "a number")
    if isinstance(text, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        s = str(text).strip().replace("_", "").replace(",", ".")
        if len(s) > 40:
            raise ValueError("too many characters for a number")
        value = float(s[:-1]) / 100.0 if s.endswith("%") else float(s)  # "10%" reads better than 0.1 on a command line
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def _parse_date(text: Any) -> _dt.date | None:
    text = _scalar(text, "a date")
    if text is None:
        return None
    if isinstance(text, _dt.datetime):
        return text.date()
    if isinstance(text, _dt.date):
        return text
    s = str(text).strip()
    if s.lower() in ("", "none", "null", "~"):
        return None
    return _dt.date.fromisoformat(s)


def _is_none(text: Any) -> bool:
    return text is None or (isinstance(text, str) and text.strip().lower() in ("", "none", "null", "~", "auto"))


def _parse_optional_int(text: Any) -> int | None:
    return None if _is_none(text) else _parse_int(text)


def _parse_optional_float(text: Any) -> float | None:
    return None if _is_none(text) else _parse_float(text)


#: Longest text parameter accepted (a display name is a line of a title).
MAX_TEXT = 200


def _parse_str(text: Any) -> str:
    if text is None:
        raise ValueError("expected text, got nothing")
    text = _scalar(text, "text")
    if not isinstance(text, str):
        raise ValueError(f"expected text, got the {type(text).__name__} {text!r}; put it in quotes")
    s = text.strip()
    if not s:
        raise ValueError("expected text, got an empty value")
    if len(s) > MAX_TEXT:
        raise ValueError(f"{len(s):,} characters; at most {MAX_TEXT}")
    if any(ord(ch) < 32 for ch in s):
        raise ValueError("control characters (a line break, a tab) are not allowed")
    return s


def _parse_lang(text: Any) -> str:
    s = _parse_str(str(_scalar(text, "en or ru"))).lower()
    if s not in LANGUAGES:
        raise ValueError(f"expected one of {list(LANGUAGES)}, got {text!r}")
    return s


def _parse_currency(text: Any) -> str:
    s = _parse_str(str(_scalar(text, "a currency code"))).upper()
    if not re.fullmatch(r"[A-Z]{3}", s):
        raise ValueError(f"expected a 3-letter ISO 4217 code such as RUB or USD, got {text!r}")
    return s


@dataclass(frozen=True)
class Parameter:
    """A parameter a client file or ``-p name=value`` can set."""

    name: str
    parse: Callable[[Any], Any]
    default: Any
    type_name: str
    description: str
    check: Callable[[Any], bool] | None = None
    check_text: str = ""

    def coerce(self, value: Any, *, file: str | None = None) -> Any:
        """Parse ``value`` (text or already typed) and check its range.

        Numbers must be finite; a parameter with a ``check`` refuses values
        outside it, naming the valid range.
        """
        try:
            parsed = self.parse(value)
        except (TypeError, ValueError, OverflowError) as exc:
            shown = _short_repr(value)
            raise ConfigError(f"cannot read {shown} as {self.type_name} ({exc})", file=file, key=self.name) from None
        if isinstance(parsed, float) and not math.isfinite(parsed):
            raise ConfigError(f"{parsed!r} is not a finite number", file=file, key=self.name)
        if parsed is not None and self.check is not None and not self.check(parsed):
            valid = f"expected {self.check_text}" if self.check_text else "out of range"
            raise ConfigError(f"{_short_repr(parsed)} is out of range: {valid}", file=file, key=self.name)
        return parsed


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _positive(x: float) -> bool:
    return x > 0


def _between(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> Callable[[Any], bool]:
    """A range check for :class:`Parameter` (finite values only)."""
    def check(x: Any) -> bool:
        return (math.isfinite(x) and (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi))
    return check


def _date_between(lo: _dt.date, hi: _dt.date) -> Callable[[Any], bool]:
    return lambda d: lo <= d <= hi


_FIRST_DATE, _LAST_DATE = _dt.date(1990, 1, 1), _dt.date(2100, 12, 31)


PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("display_name", _parse_str, None, "text", "client name shown in the report title"),
        Parameter("lang", _parse_lang, "en", "en|ru", "report language"),
        Parameter("currency", _parse_currency, "RUB", "ISO 4217 code", "currency of the amounts"),
        Parameter("churn_threshold_days", _parse_optional_int, None, "integer or none", "days without a purchase after which a customer counts as churned (default: chosen from the pauses between purchases; ignored when the customers table has contract end dates)", _between(1, 3650), "1 to 3650 days (ten years)"),
        Parameter("sleeping_days", _parse_optional_int, None, "integer or none", "days without a purchase after which a customer counts as sleeping, the audience of a winback campaign (default: the study's churn threshold)", _between(1, 3650), "1 to 3650 days (ten years)"),
        Parameter("campaign_window_days", _parse_int, 60, "integer", "days after a campaign is sent over which returns, purchases and revenue are counted", _between(1, 730), "1 to 730 days"),
        Parameter("horizon_months", _parse_int, 12, "integer", "forecast horizon for lifetime value, months", _between(1, 120), "1 to 120 months"),
        Parameter("discount_rate", _parse_float, 0.10, "number", "annual discount rate for lifetime value (0.10 = 10%)", _between(0, 1, hi_open=True), "0 <= rate < 1"),
        Parameter("margin_rate", _parse_optional_float, None, "number or none", "gross margin as a share of revenue (default: measured from the transactions' margin column, else 30 % assumed)", _between(0, 1, lo_open=True), "0 < margin <= 1"),
        Parameter("program_cost", _parse_float, 0.0, "number", "loyalty programme fixed cost per year, in the client's currency", _between(0, 1e13), "0 to 10 000 000 000 000"),
        Parameter("reward_rate", _parse_float, 0.0, "number", "loyalty rewards (points, discounts) as a share of members' revenue", _between(0, 1, hi_open=True), "0 <= rate < 1"),
        Parameter("breakage", _parse_float, 0.0, "number", "share of loyalty rewards never redeemed", _between(0, 1), "0 <= share <= 1"),
        Parameter("cx_shift_share", _parse_float, 0.10, "number", "share of a touchpoint's active detractors that the CX-value scenario moves to passives or promoters (0.10 = 10%)", _between(0, 1, lo_open=True), "0 < share <= 1"),
        Parameter("customer_sample_size", _parse_int, 50_000, "integer", "customers the per-customer models (Cox, lifetime value, membership effects, loyalty uplift) are fitted on when the client has more than twice as many: a simple random sample with a fixed seed, its sampling error shown (0 = always every customer)", _between(0, 10**9), "0 to 1 000 000 000"),
        Parameter("observation_end", _parse_date, None, "date (YYYY-MM-DD) or none", "end of the observation window (default: last transaction)", _date_between(_FIRST_DATE, _LAST_DATE), "a date from 1990-01-01 to 2100-12-31"),
        Parameter("calibration_end", _parse_date, None, "date (YYYY-MM-DD) or none", "end of the calibration period for hold-out checks (default: the last third of the window, at most 52 weeks, is held out)", _date_between(_FIRST_DATE, _LAST_DATE), "a date from 1990-01-01 to 2100-12-31"),
    )
}
#: Parameters stored at the top level of the config rather than in ``parameters``.
_IDENTITY_PARAMS = ("display_name", "lang", "currency")
STUDY_PARAMS = tuple(n for n in PARAMETERS if n not in _IDENTITY_PARAMS)


def valid_parameters_text() -> str:
    """One line per parameter: name, type, default, description (for ``--help`` and ``cxlab params``)."""
    lines = []
    for p in PARAMETERS.values():
        default = "" if p.default is None else f" (default {p.default})"
        lines.append(f"  {p.name} [{p.type_name}]{default}: {p.description}")
    return "\n".join(lines)


def _unknown_parameter(name: str) -> str:
    close = difflib.get_close_matches(name, list(PARAMETERS), n=1)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return (f"unknown parameter {name!r}{guess}; valid parameters: {', '.join(PARAMETERS)} "
            "(see `cxlab params`)")


def parse_overrides(items: list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """Turn ``["name=value", ...]`` from the command line into a dict (values still text).

    Each value is parsed by its parameter's type and checked against its
    range here, so ``-p program_cost=inf`` stops before any work starts.
    """
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"-p expects name=value, got {_short_repr(item)}")
        if name not in PARAMETERS:
            raise ConfigError(_unknown_parameter(name), key=name)
        PARAMETERS[name].coerce(value, file="-p")
        out[name] = value
    return out


# --------------------------------------------------------------------------- paths
def find_root(root: str | os.PathLike | None = None) -> Path:
    """The project root: ``root`` if given, else ``$CXLAB_ROOT``, else the nearest
    folder at or above the working directory holding ``data/`` next to
    ``pyproject.toml`` or ``reports/``, else the checkout cxlab is installed from."""
    if root is None:
        root = os.environ.get("CXLAB_ROOT") or None
    if root is not None:
        path = Path(root).expanduser().resolve()
        if not (path / "data").is_dir():
            raise ConfigError(f"project root {path} has no data/ folder")
        return path
    here = Path.cwd().resolve()
    # the working folder or a parent of it, then the checkout cxlab itself is installed from
    # (a notebook opened anywhere still finds the project it belongs to)
    source = Path(__file__).resolve().parent.parent
    for folder in (here, *here.parents, source):
        if (folder / "data").is_dir() and ((folder / "pyproject.toml").is_file() or (folder / "reports").is_dir()):
            return folder
    raise ConfigError(
        f"no cxlab project found at or above {here} (a folder with data/ and pyproject.toml); "
        "pass --root or set CXLAB_ROOT"
    )


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _check_client_name(name: str, *, file: str | None = None) -> str:
    if not isinstance(name, str) or not CLIENT_NAME_RE.fullmatch(name):
        raise ConfigError(f"client name {name!r} is not allowed: {_NAME_RULE}", file=file, key="name")
    return name


_NAME_RULE = "use ASCII letters (A-Z, a-z), digits, '_' and '-' only"
_TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
                      "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"]))


def suggest_client_name(name: str) -> str:
    """An allowed client id close to ``name`` ("ООО Ромашка" → "ooo-romashka")."""
    import unicodedata

    out = []
    for ch in name.lower():
        if ch in _TRANSLIT:
            out.append(_TRANSLIT[ch])
        else:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(base if base and (base.isalnum() or base in "_-") else "-")
    text = re.sub(r"-+", "-", "".join(out)).strip("-_").lower()
    return text or "client"


@dataclass(frozen=True)
class ClientFolder:
    """A folder ``data/<name>/`` holding a ``client.yml``; ``problem`` says why it cannot be used (None: it can)."""

    name: str
    path: Path
    problem: str | None = None


def client_folders(root: str | os.PathLike | None = None) -> list[ClientFolder]:
    """Every folder under ``data/`` with a ``client.yml``, usable or not, sorted by name.

    A folder whose name is not an allowed client id (``ООО Ромашка``,
    ``acme corp``) is listed with the reason and a suggested name instead of
    being skipped in silence: the id names report folders, links and the
    batch manifest, and non-ASCII names are normalised differently by macOS
    (NFD), Windows and browsers, so two folders can look alike and differ, or
    one name can fail to round-trip; ``display_name`` carries the human name.
    """
    data = find_root(root) / "data"
    out = []
    for entry in sorted(data.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or not (entry / "client.yml").is_file():
            continue
        problem = None
        if not CLIENT_NAME_RE.fullmatch(entry.name):
            problem = (f"the folder name {entry.name!r} cannot be a client id ({_NAME_RULE}, because the id names "
                       f"report folders and links); rename the folder, e.g. to {suggest_client_name(entry.name)!r}, "
                       "and keep the full name as display_name in its client.yml")
        out.append(ClientFolder(entry.name, entry, problem))
    return out


def report_dir(root: str | os.PathLike, client: str) -> Path:
    """``<root>/reports/<client>``, refusing any name that would land elsewhere."""
    _check_client_name(client)
    reports = (Path(root) / "reports").resolve()
    out = (reports / client).resolve()
    if not _inside(out, reports) or out == reports:
        raise ConfigError(f"report folder for {client!r} would escape {reports}")
    return out


def list_clients(root: str | os.PathLike | None = None) -> list[str]:
    """Names of every usable client (a ``data/<client>/client.yml`` with an allowed name), sorted.

    Folders whose names cannot be client ids are listed, with the reason, by
    :func:`client_folders`.
    """
    return [f.name for f in client_folders(root) if f.problem is None]


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TableSource:
    """Where one contract table comes from and how to read it."""

    table: str
    path: Path | None
    columns: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    engine: dict[str, Any] | None = None

    def read_spec(self) -> dict[str, Any]:
        """Keyword arguments for :func:`cxlab.data.read_table` (including ``path``),
        or, for a transaction log kept in an engine, its source spec."""
        if self.engine is not None:
            spec = dict(self.engine)
            if self.path is not None:
                spec["path"] = str(self.path)
            if self.columns:
                spec["columns"] = dict(self.columns)
            return spec
        spec: dict[str, Any] = {"path": str(self.path)}
        if self.columns:
            spec["columns"] = dict(self.columns)
        spec.update(self.options)
        return spec


@dataclass(frozen=True)
class ClientConfig:
    """A validated ``client.yml``.

    Attributes
    ----------
    name : str
        Client id (the folder name under ``data/``); names the report folder.
    display_name, lang, currency : str
        Shown in the report; ``lang`` is ``"en"`` or ``"ru"``.
    tables : dict of str -> TableSource
        ``transactions`` always, ``customers`` and ``surveys`` when given.
    params : dict
        Study parameters (see :data:`PARAMETERS`), every key present.
    root, path : Path
        Project root and the ``client.yml`` read.
    """

    name: str
    display_name: str
    lang: str
    currency: str
    tables: dict[str, TableSource]
    params: dict[str, Any]
    root: Path
    path: Path
    #: Names of the parameters set for this run only (``-p``), shown as such in the footer.
    overridden: frozenset = frozenset()
    #: The client's words for its own categories in reports: ``{value: text}`` or ``{value: {en: .., ru: ..}}``.
    labels: dict = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def report_dir(self) -> Path:
        return report_dir(self.root, self.name)

    def load_spec(self) -> dict[str, dict[str, Any]]:
        """The argument of :func:`cxlab.data.load_client_data`."""
        return {name: src.read_spec() for name, src in self.tables.items()}

    def load_data(self) -> Any:
        """The client's data: :func:`cxlab.data.load_client_data` of :meth:`load_spec`, with the
        study window (``observation_end``) so that rows outside it are counted."""
        from cxlab.data.io import load_client_data

        return load_client_data(self.load_spec(), observation_end=self.params.get("observation_end"))

    def all_params(self) -> dict[str, Any]:
        """Every parameter, identity ones included (what ``-p`` can override)."""
        return {"display_name": self.display_name, "lang": self.lang, "currency": self.currency, **self.params}

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "ClientConfig":
        """A copy with parameters replaced; values may be text (parsed by type) or typed."""
        if not overrides:
            return self
        params = dict(self.params)
        ident = {"display_name": self.display_name, "lang": self.lang, "currency": self.currency}
        for name, value in overrides.items():
            if name not in PARAMETERS:
                raise ConfigError(_unknown_parameter(name), key=name)
            parsed = PARAMETERS[name].coerce(value, file="-p")
            if name in ident:
                ident[name] = parsed
            else:
                params[name] = parsed
        _check_dates(params, file="-p")
        return replace(self, params=params, overridden=self.overridden | frozenset(overrides), **ident)

    def to_resolved(self) -> dict[str, Any]:
        """Everything a run needs, JSON-ready, with absolute paths: what the runner hands the kernel
        so that ``client.yml`` is read once per run (see :meth:`from_resolved`)."""
        return {
            "name": self.name, "display_name": self.display_name, "lang": self.lang, "currency": self.currency,
            "params": {k: (v.isoformat() if isinstance(v, _dt.date) else v) for k, v in self.params.items()},
            "tables": {name: {"path": None if src.path is None else str(src.path), "columns": dict(src.columns),
                              "options": dict(src.options), "engine": src.engine}
                       for name, src in self.tables.items()},
            "root": str(self.root), "path": str(self.path), "overridden": sorted(self.overridden),
            "labels": dict(self.labels),
        }

    @classmethod
    def from_resolved(cls, source: Mapping[str, Any] | str | os.PathLike) -> "ClientConfig":
        """The configuration :meth:`to_resolved` wrote (a mapping or the path of its JSON file).
        Parameter values are parsed by the same rules as in ``client.yml``."""
        if not isinstance(source, Mapping):
            import json

            source = json.loads(Path(source).read_text(encoding="utf-8"))
        params = {name: PARAMETERS[name].coerce(value) for name, value in source["params"].items()}
        tables = {name: TableSource(table=name, path=None if t["path"] is None else Path(t["path"]),
                                    columns=dict(t["columns"]), options=dict(t["options"]), engine=t["engine"])
                  for name, t in source["tables"].items()}
        return cls(name=source["name"], display_name=source["display_name"], lang=source["lang"],
                   currency=source["currency"], tables=tables, params=params, root=Path(source["root"]),
                   path=Path(source["path"]), overridden=frozenset(source.get("overridden", ())),
                   labels=dict(source.get("labels") or {}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view (dates as ISO text, paths relative to the root)."""
        return {
            "client": self.name,
            **{k: (v.isoformat() if isinstance(v, _dt.date) else v) for k, v in self.all_params().items()},
            "data": {
                name: {
                    **(src.engine or {}),
                    **({"path": _relative(src.path, self.root)} if src.path is not None else {}),
                    **({"columns": src.columns} if src.columns else {}),
                    **src.options,
                }
                for name, src in self.tables.items()
            },
        }


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _check_dates(params: dict[str, Any], *, file: str | None) -> None:
    cal, obs = params.get("calibration_end"), params.get("observation_end")
    if cal is not None and obs is not None and cal >= obs:
        raise ConfigError(
            f"calibration_end ({cal}) must be before observation_end ({obs})", file=file, key="calibration_end"
        )


def _resolve_client_file(client: str | os.PathLike, root: Path) -> Path:
    data_root = (root / "data").resolve()
    text = os.fspath(client)
    if CLIENT_NAME_RE.fullmatch(text):
        candidate = data_root / text / "client.yml"
        if candidate.is_file():
            folder = (data_root / text).resolve()
            if not _inside(candidate.resolve(), folder):
                raise ConfigError(f"client.yml resolves to {candidate.resolve()}, outside the client's folder "
                                  f"{folder}: it must be a file there, not a link", file=str(candidate))
            return candidate
        if not Path(text).exists():
            known = list_clients(root)
            raise ConfigError(
                f"no client {text!r}: {candidate} does not exist; known clients: {', '.join(known) or 'none'}"
            )
    if "/" not in text and os.sep not in text and not text.endswith(".yml") and text not in (".", ".."):
        if (data_root / text / "client.yml").is_file():  # a real folder whose name cannot be an id
            folder = next((f for f in client_folders(root) if f.name == text), None)
            if folder is not None and folder.problem:
                raise ConfigError(folder.problem, file=str(data_root / text / "client.yml"), key="name")
        _check_client_name(text)  # a bare word that is not a valid name (spaces, ';', ...)
    # A path: to a client folder or to its client.yml; must stay inside data/.
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path.cwd() / path
    path = path.resolve()
    if not _inside(path, data_root):
        raise ConfigError(f"{client!r} is outside {data_root}: client files must live in data/<client>/")
    if path.is_dir():
        path = path / "client.yml"
    if not path.is_file():
        raise ConfigError(f"no client file at {path}")
    if path.parent.parent != data_root:
        raise ConfigError(f"{path}: a client file must be data/<client>/client.yml")
    return path


def load_client_config(
    client: str | os.PathLike,
    root: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ClientConfig:
    """Read and validate a client's ``client.yml``.

    Parameters
    ----------
    client : str or path
        A client name (``demo`` reads ``<root>/data/demo/client.yml``) or a path
        to the client folder or its ``client.yml`` inside ``<root>/data``.
    root : path, optional
        Project root (see :func:`find_root`).
    overrides : mapping, optional
        Parameter overrides, as for :meth:`ClientConfig.with_overrides`.

    Raises
    ------
    ConfigError
        With the file and the key at fault.
    """
    root_path = find_root(root)
    path = _resolve_client_file(client, root_path)
    file = str(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError("expected a mapping of keys (display_name, language, currency, data, parameters)", file=file)
    unknown = sorted(map(str, set(raw) - set(TOP_LEVEL_KEYS)))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown}; valid keys: {list(TOP_LEVEL_KEYS)}", file=file, key=unknown[0])

    name = path.parent.name
    _check_client_name(name, file=file)
    if raw.get("name") is not None and str(raw["name"]) != name:
        raise ConfigError(f"name {raw['name']!r} differs from the folder name {name!r}", file=file, key="name")

    display_name = PARAMETERS["display_name"].coerce(raw.get("display_name") or name, file=file)
    if "language" in raw and "lang" in raw:
        raise ConfigError("give either 'language' or 'lang', not both", file=file, key="language")
    lang = PARAMETERS["lang"].coerce(raw.get("language", raw.get("lang", "en")), file=file)
    if "currency" not in raw:
        raise ConfigError("missing: the ISO code of the client's currency (e.g. RUB)", file=file, key="currency")
    currency = PARAMETERS["currency"].coerce(raw["currency"], file=file)

    tables = _read_tables(raw.get("data"), path.parent, root_path, file)

    params_raw = raw.get("parameters") or {}
    if not isinstance(params_raw, dict):
        raise ConfigError("expected a mapping of parameter names to values", file=file, key="parameters")
    unknown = sorted(map(str, set(params_raw) - set(STUDY_PARAMS)))
    if unknown:
        raise ConfigError(f"unknown parameter(s) {unknown}; valid: {list(STUDY_PARAMS)}", file=file,
                          key=f"parameters.{unknown[0]}")
    params: dict[str, Any] = {}
    for pname in STUDY_PARAMS:
        p = PARAMETERS[pname]
        params[pname] = p.coerce(params_raw[pname], file=file) if pname in params_raw else p.default
    _check_dates(params, file=file)

    cfg = ClientConfig(
        name=name, display_name=display_name, lang=lang, currency=currency,
        tables=tables, params=params, root=root_path, path=path, labels=_read_labels(raw.get("labels"), file),
    )
    return cfg.with_overrides(overrides)


# --------------------------------------------------------------------------- bounded YAML
#: Largest client.yml read (a real one is a few kilobytes).
MAX_CONFIG_BYTES = 256 * 1024
#: Values a client.yml may hold once its aliases are expanded, aliases it may use, and its nesting depth.
MAX_CONFIG_NODES = 20_000
MAX_CONFIG_ALIASES = 200
MAX_CONFIG_DEPTH = 32

_YAML_HINTS = (
    ("found character '\\t'", "indent with spaces, not tabs"),
    ("mapping values are not allowed here", "a value holding ': ' must be quoted, e.g. "
     "display_name: \"Acme: retail\""),
    ("expected the node content, but found", "a value starting with , [ ] { } # & * ! | > % @ or ` must be "
     "quoted, e.g. decimal: \",\""),
    ("found unexpected end of stream", "a quote is not closed"),
    ("while scanning a quoted scalar", "a quote is not closed"),
    ("expected <block end>", "the indentation is inconsistent: keys of one mapping must line up"),
    ("could not find expected ':'", "a key has no ':' after it, or a quote is not closed"),
    ("found undefined alias", "'*name' refers to no '&name' anchor"),
    ("while parsing a flow mapping", "a {…} mapping is not closed, or a header holding a comma is not quoted: "
     "{\"Сумма, руб.\": amount}"),
)


def _yaml_error(exc: yaml.YAMLError, text: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = ""
    if mark is not None:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        where = f" at line {mark.line + 1}, column {mark.column + 1} (\"{line.strip()[:80]}\")"
    full = f"{getattr(exc, 'context', '') or ''} {problem}"
    hint = next((h for key, h in _YAML_HINTS if key in full or key in str(exc)), "")
    return f"not valid YAML{where}: {' '.join(str(problem).split())}" + (f" — {hint}" if hint else "")


def _check_nodes(root: yaml.Node, file: str) -> None:
    """Bound the document: expanded size, alias uses, depth; refuse repeated keys and recursion."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    aliases = 0

    def size(node: yaml.Node, depth: int) -> int:
        nonlocal aliases
        key = id(node)
        if key in active:
            raise ConfigError(f"a YAML alias at line {node.start_mark.line + 1} refers to itself", file=file)
        if key in sizes:
            aliases += 1
            if aliases > MAX_CONFIG_ALIASES:
                raise ConfigError(f"uses more than {MAX_CONFIG_ALIASES} YAML aliases ('*name'); a client file needs "
                                  "few or none", file=file)
            return sizes[key]
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError(f"is nested more than {MAX_CONFIG_DEPTH} levels deep (line "
                              f"{node.start_mark.line + 1})", file=file)
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        raise ConfigError(f"the key {k.value!r} appears twice in one mapping (lines {seen[k.value]} "
                                          f"and {k.start_mark.line + 1}); YAML would silently keep the last one",
                                          file=file, key=str(k.value))
                    seen[k.value] = k.start_mark.line + 1
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > MAX_CONFIG_NODES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                total += size(v, depth + 1)
                if total > MAX_CONFIG_NODES:
                    break
        active.discard(key)
        if total > MAX_CONFIG_NODES:
            raise ConfigError(f"expands to more than {MAX_CONFIG_NODES:,} values once its YAML aliases are "
                              "followed ('&name' … '*name' repeating a part of the file); refused", file=file)
        sizes[key] = total
        return total

    size(root, 0)


def read_yaml(path: str | os.PathLike) -> Any:
    """A client.yml read safely: size, alias, depth and repeated-key limits, every error one line.

    Safe constructors only (no Python objects); at most
    :data:`MAX_CONFIG_BYTES` bytes and :data:`MAX_CONFIG_NODES` values after
    alias expansion, so a 'billion laughs' file is refused in milliseconds.
    """
    file = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"is {size:,} bytes; a client file is at most {MAX_CONFIG_BYTES:,}", file=file)
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror or type(exc).__name__})", file=file) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); save it as UTF-8", file=file
                          ) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, file)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_error(exc, text), file=file) from None
    except RecursionError:
        raise ConfigError("is nested too deeply to read", file=file) from None
    finally:
        loader.dispose()


def _check_option(name: str, value: Any, file: str, key: str) -> Any:
    """A read option's value, checked (and normalised) before any file is opened."""
    from cxlab.data.validate import check_timezone

    def fail(expected: str) -> ConfigError:
        return ConfigError(f"expected {expected}, got {_short_repr(value)}", file=file, key=key)

    if name in ("dayfirst", "strip_leading_zeros"):
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if name == "decimal":
        if value not in (".", ","):
            raise fail('"." or "," (quoted)')
        return value
    if name == "sep":
        seps = {";": ";", ",": ",", "\t": "\t", "\\t": "\t", "tab": "\t", "|": "|", "whitespace": "whitespace"}
        if not isinstance(value, str) or value not in seps:
            raise fail('";", ",", tab, "|" or whitespace')
        return seps[value]
    if name == "encoding":
        import codecs

        if not isinstance(value, str):
            raise fail("an encoding name such as utf-8 or cp1251")
        try:
            codecs.lookup(value)
        except LookupError:
            raise fail("an encoding name such as utf-8, cp1251 or cp1252") from None
        return value
    if name == "sheet":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise fail("a sheet name")
        return value
    if name == "header_line":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
            raise fail("the line number of the columns' header, from 1")
        return value
    if name == "date_format":
        if not isinstance(value, str) or "%" not in value or len(value) > 64:
            raise fail('a strftime layout in quotes, such as "%d.%m.%Y"')
        return value
    if name == "timezone":
        try:
            return check_timezone(value)
        except ValueError:
            raise fail("an IANA time-zone name such as Europe/Moscow or UTC") from None
    return value


def _check_column_mapping(columns: Any, table: str, file: str, key: str) -> dict[str, str]:
    """``columns:`` as {client header: contract name}, with a pointed message for YAML's traps."""
    if columns is None:
        return {}
    if not isinstance(columns, dict):
        raise ConfigError("expected a mapping of the file's header -> contract column name, e.g. "
                          "{Клиент: customer_id, \"Сумма, руб.\": amount}", file=file, key=key)
    items = list(columns.items())
    for k, (header, target) in enumerate(items):
        if target is None or target == "":
            after = items[k + 1][0] if k + 1 < len(items) else None
            joined = f'"{header}, {after}"' if after is not None else f'"{header}"'
            raise ConfigError(
                f"the header {header!r} has no contract name (an empty value). Inside {{…}} an unquoted comma "
                f"ends an entry, so a header holding a comma must be quoted: {{{joined}: "
                f"{items[k + 1][1] if after is not None else 'amount'}}}", file=file, key=key)
        if not isinstance(header, str):
            raise ConfigError(f"the header {header!r} was read by YAML as a {type(header).__name__}; quote it: "
                              f"\"{header}\": {target}", file=file, key=key)
        if not isinstance(target, str):
            raise ConfigError(f"the header {header!r} maps to {target!r}, not a contract column name", file=file,
                              key=key)
    _check_columns(table, columns, file, key)
    return dict(columns)


def _client_folder_path(value: Any, folder: Path, file: str, key: str) -> tuple[Path, bool]:
    """(the path written in client.yml, made absolute against the client folder; whether it is a glob)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"expected a file path, got {_short_repr(value)}", file=file, key=key)
    text = value.strip()
    if "\x00" in text:
        raise ConfigError("a path cannot hold a NUL character", file=file, key=key)
    raw = Path(text).expanduser()
    path = raw if raw.is_absolute() else folder / raw
    return path, any(ch in text for ch in "*?[")


def _outside(what: str, resolved: Path, folder: Path, file: str, key: str) -> ConfigError:
    return ConfigError(f"{what} resolves to {resolved}, outside the client's folder {folder}: a client's files "
                       "must stay inside data/<client>/ (copy the file there instead of pointing at it)",
                       file=file, key=key)


def _contained_file(value: Any, folder: Path, file: str, key: str) -> Path:
    """A data file path: resolved (symlinks followed) and inside the client folder, else ConfigError."""
    path, is_glob = _client_folder_path(value, folder, file, key)
    resolved = path.resolve()
    if not _inside(resolved, folder):
        raise _outside(repr(value), resolved, folder, file, key)
    if resolved.is_dir():
        raise ConfigError(f"{value!r} is a folder; give a file (a folder of Parquet files is read with "
                          "'engine: duckdb')", file=file, key=key)
    if not resolved.is_file():
        if is_glob:
            raise ConfigError(f"{value!r}: wildcards are read only by an engine source (engine: duckdb); "
                              "give one file", file=file, key=key)
        raise ConfigError(f"file not found: {resolved}", file=file, key=key)
    return resolved


def _contained_tree(value: Any, folder: Path, file: str, key: str) -> Path:
    """An engine path (file, folder or glob): every file it can reach must lie inside the client folder.

    A glob is expanded (hidden files included, ``**`` recursive) and every
    match resolved; ``..`` is refused in a glob (a wildcard before it could
    climb out through a symlinked folder the way the reader, not Python,
    expands it); a folder is walked and every symlink in it resolved.
    """
    path, is_glob = _client_folder_path(value, folder, file, key)
    if is_glob:
        if ".." in path.parts:
            raise ConfigError(f"{value!r}: '..' is not allowed in a path with wildcards (after a wildcard it can lead "
                              "outside the client's folder); write the path from the client's folder down",
                              file=file, key=key)
        parts = path.parts
        fixed = next(i for i, part in enumerate(parts) if any(ch in part for ch in "*?["))
        anchor = Path(*parts[:fixed]).resolve()
        if not _inside(anchor, folder):
            raise _outside(repr(value), anchor, folder, file, key)
        matches = [Path(m) for m in _glob.glob(str(path), recursive=True, include_hidden=True)]
        if not matches:
            raise ConfigError(f"{value!r} matches no file", file=file, key=key)
        for m in matches:
            _check_reachable(m, folder, value, file, key)
        return path
    resolved = path.resolve()
    if not _inside(resolved, folder):
        raise _outside(repr(value), resolved, folder, file, key)
    if not resolved.exists():
        raise ConfigError(f"not found: {resolved}", file=file, key=key)
    _check_reachable(resolved, folder, value, file, key)
    return resolved


def _check_reachable(path: Path, folder: Path, value: Any, file: str, key: str) -> None:
    resolved = path.resolve()
    if not _inside(resolved, folder):
        raise _outside(f"{value!r} reaches {path}, which", resolved, folder, file, key)
    if resolved.is_dir():
        for dirpath, dirnames, filenames in os.walk(resolved):
            for name in (*dirnames, *filenames):
                entry = Path(dirpath) / name
                if entry.is_symlink() and not _inside(entry.resolve(), folder):
                    raise _outside(f"{value!r} reaches {entry}, which", entry.resolve(), folder, file, key)


def _read_labels(raw: Any, file: str) -> dict[str, Any]:
    """``labels:``: the client's words for its category values, ``{value: text}`` or ``{value: {en: .., ru: ..}}``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("expected a mapping of category value -> text (or -> {en: text, ru: text})",
                          file=file, key="labels")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            bad = sorted(set(value) - set(LANGUAGES))
            if bad or not all(isinstance(v, (str, int, float)) for v in value.values()):
                raise ConfigError(f"expected text per language {list(LANGUAGES)}, got {value!r}", file=file,
                                  key=f"labels.{key}")
            out[str(key)] = {lang: str(v) for lang, v in value.items()}
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            out[str(key)] = str(value)
        for text in (out.get(str(key)).values() if isinstance(out.get(str(key)), dict) else [out.get(str(key))]):
            if text is not None and len(text) > MAX_TEXT:
                raise ConfigError(f"a label is at most {MAX_TEXT} characters", file=file, key=f"labels.{key}")
        else:
            raise ConfigError(f"expected text, got {value!r}", file=file, key=f"labels.{key}")
    return out


def _read_tables(data: Any, folder: Path, root: Path, file: str) -> dict[str, TableSource]:
    if not isinstance(data, dict) or "transactions" not in data:
        raise ConfigError("missing: 'data' must list at least 'transactions' (with a path)", file=file, key="data")
    unknown = sorted(map(str, set(data) - set(TABLE_NAMES)))
    if unknown:
        raise ConfigError(f"unknown table(s) {unknown}; valid: {list(TABLE_NAMES)}", file=file, key=f"data.{unknown[0]}")
    client_root = folder.resolve()
    tables: dict[str, TableSource] = {}
    for table in TABLE_NAMES:
        if data.get(table) is None:
            continue
        entry = data[table]
        key = f"data.{table}"
        if isinstance(entry, str):
            entry = {"path": entry}
        if isinstance(entry, dict) and "engine" in entry:
            tables[table] = _engine_source(table, entry, client_root, file, key)
            continue
        if not isinstance(entry, dict) or not entry.get("path"):
            raise ConfigError("expected a mapping with at least 'path'", file=file, key=key)
        bad = sorted(map(str, set(entry) - {"path", "columns", *READ_OPTIONS}))
        if bad:
            close = difflib.get_close_matches(bad[0], ["path", "columns", *READ_OPTIONS], n=1)
            guess = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"unknown option(s) {bad}{guess}; valid: {['path', 'columns', *READ_OPTIONS]}",
                              file=file, key=f"{key}.{bad[0]}")
        resolved = _contained_file(entry["path"], client_root, file, f"{key}.path")
        columns = _check_column_mapping(entry.get("columns"), table, file, f"{key}.columns")
        options = {k: _check_option(k, entry[k], file, f"{key}.{k}") for k in READ_OPTIONS if k in entry}
        tables[table] = TableSource(table=table, path=resolved, columns=columns, options=options)
    return tables


#: URL schemes whose "database" is a file on this machine (contained like any data file).
_LOCAL_SCHEMES = ("duckdb", "sqlite", "file")
#: Spark SQL that reads files by path (`parquet`.`/some/path`, read_files(), LOAD DATA, ADD JAR …).
_FILE_SQL = re.compile(r"\b(parquet|csv|json|orc|text|avro|delta|binaryfile)\s*\.\s*`|\bread_files\s*\(|"
                       r"\b(load\s+data|add\s+(jar|file|archive))\b", re.IGNORECASE)


def _engine_source(table: str, entry: dict, folder: Path, file: str, key: str) -> TableSource:
    """A transaction log read in place by an engine (Parquet through DuckDB, Spark, a warehouse).

    Every local file it can reach is contained like a data file: ``path``
    (file, folder or glob, each match checked), a DuckDB/SQLite database named
    by ``url``; SQL that could read a file by its path is refused.
    """
    from cxlab.data.engines import ENGINES, SOURCE_KEYS

    if table != "transactions":
        raise ConfigError("only the transactions table can come from an engine; give the other tables as files",
                          file=file, key=f"{key}.engine")
    bad = sorted(map(str, set(entry) - set(SOURCE_KEYS)))
    if bad:
        raise ConfigError(f"unknown option(s) {bad}; valid: {list(SOURCE_KEYS)}", file=file, key=f"{key}.{bad[0]}")
    engine = str(entry["engine"]).strip().lower()
    if engine not in (*ENGINES, "postgresql", "pg"):
        raise ConfigError(f"engine must be one of {list(ENGINES)}, got {entry['engine']!r}", file=file, key=f"{key}.engine")
    if entry.get("temp_directory") is not None:
        raise ConfigError("DuckDB's spill folder is a setting of the machine, not of a client: set "
                          "$CXLAB_DUCKDB_TEMP_DIRECTORY instead", file=file, key=f"{key}.temp_directory")
    threads = entry.get("threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 1024):
        raise ConfigError(f"expected a whole number of threads from 1 to 1024, got {threads!r}", file=file,
                          key=f"{key}.threads")
    spec = {k: v for k, v in entry.items() if k not in ("path", "columns")}
    path = None
    local = engine == "duckdb"
    if entry.get("path"):
        text = str(entry["path"])
        scheme = text.split("://", 1)[0].lower() if "://" in text else None
        if scheme is None or scheme == "file":
            path = _contained_tree(text.removeprefix("file://"), folder, file, f"{key}.path")
            local = True
        elif engine == "duckdb":
            raise ConfigError(f"{text!r}: engine duckdb reads Parquet files inside the client's folder; for remote "
                              "storage use engine: spark", file=file, key=f"{key}.path")
    url = entry.get("url")
    if url is not None:
        text = str(url)
        scheme = text.split("://", 1)[0].lower() if "://" in text else ("duckdb" if engine == "duckdb" else None)
        if scheme in _LOCAL_SCHEMES:
            target = text.split("://", 1)[1] if "://" in text else text
            spec["url"] = (f"{scheme}://" if "://" in text else "") + str(
                _contained_file(target, folder, file, f"{key}.url"))
            local = True
    query = entry.get("query")
    if query is not None and local:
        raise ConfigError("a SQL query run on this machine can read any file it names; give 'table:' of the "
                          "database file, or 'path:' of Parquet files inside the client's folder", file=file,
                          key=f"{key}.query")
    if query is not None and engine == "spark" and _FILE_SQL.search(str(query)):
        raise ConfigError("the query reads files by path (`parquet`.`…`, read_files(), LOAD DATA, ADD JAR); "
                          "query tables of the metastore, or give 'path:'", file=file, key=f"{key}.query")
    columns = _check_column_mapping(entry.get("columns"), table, file, f"{key}.columns")
    return TableSource(table=table, path=path, columns=columns, options={}, engine=spec)


def _check_columns(table: str, columns: dict[str, str], file: str, key: str) -> None:
    """Mapping targets must be contract names (typos caught before any data is read)."""
    try:
        from cxlab.data.contract import TABLES
    except ImportError:  # pragma: no cover - the contract ships with cxlab
        return
    spec = TABLES[table]
    bad = sorted(v for v in set(columns.values()) if not spec.accepts(v))
    if bad:
        raise ConfigError(f"{bad} are not {table} contract columns; valid: {spec.valid_names()}", file=file, key=key)
