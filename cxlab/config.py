"""Client configuration: one ``data/<client>/client.yml`` per client.

A client file names the client, its language and currency, where its data
files are and how their columns map onto the data contract
(:mod:`cxlab.data.contract`), and the study parameters of its report::

    display_name: Demo Retail            # shown in the report title
    language: en                         # en | ru
    currency: RUB                        # ISO 4217 code
    data:                                # paths relative to this file's folder
      transactions:
        path: transactions.csv
        columns: {client_header: contract_name}   # optional rename
        sep: ","                         # optional read_table options:
        encoding: utf-8                  #   encoding, sep, decimal, dayfirst, sheet
      customers: {path: customers.csv}   # optional table
      surveys: {path: surveys.csv}       # optional table
    parameters:                          # every key optional (defaults below)
      churn_threshold_days: 90           # default: chosen from the pauses between purchases
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
-p margin_rate=0.25``): :meth:`ClientConfig.with_overrides` parses the text by
the parameter's type and refuses unknown names with the list of valid ones.

Safety: client names match ``^[A-Za-z0-9_-]+$``; a client given as a path,
and every data file, must resolve (symlinks followed) inside ``<root>/data``;
reports go to ``<root>/reports/<client>`` only.
"""
from __future__ import annotations

import datetime as _dt
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
    "find_root",
    "list_clients",
    "load_client_config",
    "parse_overrides",
    "report_dir",
]

CLIENT_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
LANGUAGES = ("en", "ru")
TABLE_NAMES = ("transactions", "customers", "surveys")
#: read_table options a client file may set per table (besides ``path`` and ``columns``).
READ_OPTIONS = ("encoding", "sep", "decimal", "dayfirst", "sheet")
TOP_LEVEL_KEYS = ("name", "display_name", "language", "lang", "currency", "data", "parameters", "labels")


class ConfigError(ValueError):
    """A client configuration problem; the message names the file and the key."""

    def __init__(self, message: str, *, file: str | os.PathLike | None = None, key: str | None = None):
        self.file = None if file is None else str(file)
        self.key = key
        where = ": ".join(p for p in (self.file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


# --------------------------------------------------------------------------- parameters
def _parse_int(text: Any) -> int:
    if isinstance(text, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(text, int):
        return text
    if isinstance(text, float) and text.is_integer():
        return int(text)
    return int(str(text).strip().replace("_", ""))


def _parse_float(text: Any) -> float:
    if isinstance(text, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip().replace("_", "").replace(",", ".")
    if s.endswith("%"):  # "10%" is friendlier than 0.1 on a command line
        return float(s[:-1]) / 100.0
    return float(s)


def _parse_date(text: Any) -> _dt.date | None:
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


def _parse_str(text: Any) -> str:
    if text is None:
        raise ValueError("expected text, got nothing")
    return str(text).strip()


def _parse_lang(text: Any) -> str:
    s = _parse_str(text).lower()
    if s not in LANGUAGES:
        raise ValueError(f"expected one of {list(LANGUAGES)}, got {text!r}")
    return s


def _parse_currency(text: Any) -> str:
    s = _parse_str(text).upper()
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
        """Parse ``value`` (text or already typed) and check its range."""
        try:
            parsed = self.parse(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"cannot read {value!r} as {self.type_name} ({exc})", file=file, key=self.name) from None
        if parsed is not None and self.check is not None and not self.check(parsed):
            raise ConfigError(f"{parsed!r} is out of range: expected {self.check_text}", file=file, key=self.name)
        return parsed


def _positive(x: float) -> bool:
    return x > 0


PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("display_name", _parse_str, None, "text", "client name shown in the report title"),
        Parameter("lang", _parse_lang, "en", "en|ru", "report language"),
        Parameter("currency", _parse_currency, "RUB", "ISO 4217 code", "currency of the amounts"),
        Parameter("churn_threshold_days", _parse_optional_int, None, "integer or none", "days without a purchase after which a customer counts as churned (default: chosen from the pauses between purchases; ignored when the customers table has contract end dates)", _positive, "> 0"),
        Parameter("horizon_months", _parse_int, 12, "integer", "forecast horizon for lifetime value, months", _positive, "> 0"),
        Parameter("discount_rate", _parse_float, 0.10, "number", "annual discount rate for lifetime value (0.10 = 10%)", lambda x: 0 <= x < 1, "0 <= rate < 1"),
        Parameter("margin_rate", _parse_optional_float, None, "number or none", "gross margin as a share of revenue (default: measured from the transactions' margin column, else 30 % assumed)", lambda x: 0 < x <= 1, "0 < margin <= 1"),
        Parameter("program_cost", _parse_float, 0.0, "number", "loyalty programme fixed cost per year, in the client's currency", lambda x: x >= 0, ">= 0"),
        Parameter("reward_rate", _parse_float, 0.0, "number", "loyalty rewards (points, discounts) as a share of members' revenue", lambda x: 0 <= x < 1, "0 <= rate < 1"),
        Parameter("breakage", _parse_float, 0.0, "number", "share of loyalty rewards never redeemed", lambda x: 0 <= x <= 1, "0 <= share <= 1"),
        Parameter("observation_end", _parse_date, None, "date (YYYY-MM-DD) or none", "end of the observation window (default: last transaction)"),
        Parameter("calibration_end", _parse_date, None, "date (YYYY-MM-DD) or none", "end of the calibration period for hold-out checks (default: the last third of the window, at most 52 weeks, is held out)"),
    )
}
#: Parameters stored at the top level of the config rather than in ``parameters``.
_IDENTITY_PARAMS = ("display_name", "lang", "currency")
STUDY_PARAMS = tuple(n for n in PARAMETERS if n not in _IDENTITY_PARAMS)


def valid_parameters_text() -> str:
    """One line per parameter: name, type, default, description (for error messages and ``--help``)."""
    lines = []
    for p in PARAMETERS.values():
        default = "" if p.default is None else f" (default {p.default})"
        lines.append(f"  {p.name} [{p.type_name}]{default}: {p.description}")
    return "\n".join(lines)


def parse_overrides(items: list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """Turn ``["name=value", ...]`` from the command line into a dict (values still text)."""
    out: dict[str, str] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"-p expects name=value, got {item!r}")
        if name not in PARAMETERS:
            raise ConfigError(
                f"unknown parameter {name!r}; valid parameters:\n{valid_parameters_text()}", key=name
            )
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
        raise ConfigError(
            f"client name {name!r} is not allowed: use letters, digits, '_' and '-' only", file=file, key="name"
        )
    return name


def report_dir(root: str | os.PathLike, client: str) -> Path:
    """``<root>/reports/<client>``, refusing any name that would land elsewhere."""
    _check_client_name(client)
    reports = (Path(root) / "reports").resolve()
    out = (reports / client).resolve()
    if not _inside(out, reports) or out == reports:
        raise ConfigError(f"report folder for {client!r} would escape {reports}")
    return out


def list_clients(root: str | os.PathLike | None = None) -> list[str]:
    """Names of every client with a ``data/<client>/client.yml``, sorted."""
    data = find_root(root) / "data"
    return sorted(
        p.parent.name for p in data.glob("*/client.yml") if CLIENT_NAME_RE.fullmatch(p.parent.name)
    )


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
                raise ConfigError(
                    f"unknown parameter {name!r}; valid parameters:\n{valid_parameters_text()}", key=name
                )
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
            return candidate
        if not Path(text).exists():
            known = list_clients(root)
            raise ConfigError(
                f"no client {text!r}: {candidate} does not exist; known clients: {', '.join(known) or 'none'}"
            )
    if "/" not in text and os.sep not in text and not text.endswith(".yml") and text not in (".", ".."):
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
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML ({exc})", file=file) from None
    if not isinstance(raw, dict):
        raise ConfigError("expected a mapping of keys (display_name, language, currency, data, parameters)", file=file)
    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
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
    params: dict[str, Any] = {}
    for pname in STUDY_PARAMS:
        p = PARAMETERS[pname]
        params[pname] = p.coerce(params_raw[pname], file=file) if pname in params_raw else p.default
    unknown = sorted(set(params_raw) - set(STUDY_PARAMS))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {unknown}; valid: {list(STUDY_PARAMS)}", file=file, key=f"parameters.{unknown[0]}"
        )
    _check_dates(params, file=file)

    cfg = ClientConfig(
        name=name, display_name=display_name, lang=lang, currency=currency,
        tables=tables, params=params, root=root_path, path=path, labels=_read_labels(raw.get("labels"), file),
    )
    return cfg.with_overrides(overrides)


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
        else:
            raise ConfigError(f"expected text, got {value!r}", file=file, key=f"labels.{key}")
    return out


def _read_tables(data: Any, folder: Path, root: Path, file: str) -> dict[str, TableSource]:
    if not isinstance(data, dict) or "transactions" not in data:
        raise ConfigError("missing: 'data' must list at least 'transactions' (with a path)", file=file, key="data")
    unknown = sorted(set(data) - set(TABLE_NAMES))
    if unknown:
        raise ConfigError(f"unknown table(s) {unknown}; valid: {list(TABLE_NAMES)}", file=file, key=f"data.{unknown[0]}")
    data_root = (root / "data").resolve()
    tables: dict[str, TableSource] = {}
    for table in TABLE_NAMES:
        if data.get(table) is None:
            continue
        entry = data[table]
        key = f"data.{table}"
        if isinstance(entry, str):
            entry = {"path": entry}
        if isinstance(entry, dict) and "engine" in entry:
            tables[table] = _engine_source(table, entry, folder, data_root, file, key)
            continue
        if not isinstance(entry, dict) or not entry.get("path"):
            raise ConfigError("expected a mapping with at least 'path'", file=file, key=key)
        bad = sorted(set(entry) - {"path", "columns", *READ_OPTIONS})
        if bad:
            raise ConfigError(f"unknown option(s) {bad}; valid: {['path', 'columns', *READ_OPTIONS]}", file=file, key=f"{key}.{bad[0]}")
        raw_path = Path(str(entry["path"])).expanduser()
        resolved = (raw_path if raw_path.is_absolute() else folder / raw_path).resolve()
        if not _inside(resolved, data_root):
            raise ConfigError(
                f"{entry['path']!r} resolves to {resolved}, outside {data_root}: data files must stay inside data/",
                file=file, key=f"{key}.path",
            )
        if not resolved.is_file():
            raise ConfigError(f"file not found: {resolved}", file=file, key=f"{key}.path")
        columns = entry.get("columns") or {}
        if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
            raise ConfigError("expected a mapping of the file's header -> contract column name", file=file, key=f"{key}.columns")
        _check_columns(table, columns, file, f"{key}.columns")
        options = {k: entry[k] for k in READ_OPTIONS if k in entry}
        tables[table] = TableSource(table=table, path=resolved, columns=dict(columns), options=options)
    return tables


def _engine_source(table: str, entry: dict, folder: Path, data_root: Path, file: str, key: str) -> TableSource:
    """A transaction log read in place by an engine (Parquet through DuckDB, Spark, a warehouse)."""
    from cxlab.data.engines import ENGINES, SOURCE_KEYS

    if table != "transactions":
        raise ConfigError("only the transactions table can come from an engine; give customers and surveys as files",
                          file=file, key=f"{key}.engine")
    bad = sorted(set(entry) - set(SOURCE_KEYS))
    if bad:
        raise ConfigError(f"unknown option(s) {bad}; valid: {list(SOURCE_KEYS)}", file=file, key=f"{key}.{bad[0]}")
    engine = str(entry["engine"]).strip().lower()
    if engine not in (*ENGINES, "postgresql", "pg"):
        raise ConfigError(f"engine must be one of {list(ENGINES)}, got {entry['engine']!r}", file=file, key=f"{key}.engine")
    path = None
    if entry.get("path"):
        raw_path = Path(str(entry["path"])).expanduser()
        resolved = raw_path if raw_path.is_absolute() else folder / raw_path
        # a glob's fixed part must stay inside data/ like any file
        parts = resolved.parts
        fixed = next((i for i, part in enumerate(parts) if any(ch in part for ch in "*?[")), len(parts))
        anchor = Path(*parts[:fixed]).resolve()
        if not _inside(anchor, data_root):
            raise ConfigError(
                f"{entry['path']!r} resolves to {anchor}, outside {data_root}: data files must stay inside data/",
                file=file, key=f"{key}.path",
            )
        path = resolved if any(ch in str(resolved) for ch in "*?[") else resolved.resolve()
    columns = entry.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise ConfigError("expected a mapping of the source's column -> contract column name", file=file, key=f"{key}.columns")
    _check_columns(table, columns, file, f"{key}.columns")
    spec = {k: v for k, v in entry.items() if k not in ("path", "columns")}
    return TableSource(table=table, path=path, columns=dict(columns), options={}, engine=spec)


def _check_columns(table: str, columns: dict[str, str], file: str, key: str) -> None:
    """Mapping targets must be contract names (typos caught before any data is read)."""
    try:
        from cxlab.data.contract import TABLES
    except ImportError:  # pragma: no cover - the contract ships with cxlab
        return
    valid = [c.name for c in TABLES[table].columns]
    bad = sorted(set(columns.values()) - set(valid))
    if bad:
        raise ConfigError(f"{bad} are not {table} contract columns; valid: {valid}", file=file, key=key)
