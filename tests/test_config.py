"""Client configuration: parsing, validation messages, path safety, overrides."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import yaml

from cxlab.config import (
    PARAMETERS,
    ConfigError,
    find_root,
    list_clients,
    load_client_config,
    parse_overrides,
    report_dir,
)

REPO = Path(__file__).resolve().parents[1]


def make_client(root: Path, name: str = "acme", config: dict | None = None, files=("transactions.csv",)) -> Path:
    folder = root / "data" / name
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f).write_text("customer_id,timestamp,amount\nA,2024-01-01,10\n", encoding="utf-8")
    cfg = {"display_name": "Acme", "language": "en", "currency": "usd",
           "data": {"transactions": {"path": "transactions.csv"}}} if config is None else config
    (folder / "client.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "reports").mkdir()
    return tmp_path


def test_minimal_config_gets_defaults(root):
    make_client(root)
    cfg = load_client_config("acme", root)
    assert cfg.name == "acme" and cfg.display_name == "Acme" and cfg.lang == "en"
    assert cfg.currency == "USD"  # normalised to upper case
    assert cfg.params["churn_threshold_days"] == PARAMETERS["churn_threshold_days"].default
    assert cfg.params["observation_end"] is None
    assert cfg.tables["transactions"].path == (root / "data" / "acme" / "transactions.csv").resolve()
    assert cfg.load_spec() == {"transactions": {"path": str(cfg.tables["transactions"].path)}}
    assert cfg.report_dir == (root / "reports" / "acme").resolve()


def test_full_config_typed_values_and_read_options(root):
    make_client(root, config={
        "display_name": "Рога и копыта", "language": "ru", "currency": "RUB",
        "data": {
            "transactions": {"path": "transactions.csv", "columns": {"Клиент": "customer_id", "Сумма": "amount"},
                             "sep": ";", "decimal": ",", "dayfirst": True, "encoding": "cp1251"},
            "surveys": "surveys.csv",
        },
        "parameters": {"churn_threshold_days": 60, "discount_rate": 0.12, "observation_end": dt.date(2024, 12, 31),
                       "calibration_end": "2024-06-30", "program_cost": 1_000_000},
    }, files=("transactions.csv", "surveys.csv"))
    cfg = load_client_config("acme", root)
    assert cfg.lang == "ru" and cfg.display_name == "Рога и копыта"
    assert cfg.params["observation_end"] == dt.date(2024, 12, 31)
    assert cfg.params["calibration_end"] == dt.date(2024, 6, 30)
    assert cfg.params["program_cost"] == 1_000_000.0 and isinstance(cfg.params["program_cost"], float)
    spec = cfg.load_spec()["transactions"]
    assert spec["columns"] == {"Клиент": "customer_id", "Сумма": "amount"}
    assert spec["sep"] == ";" and spec["decimal"] == "," and spec["dayfirst"] is True and spec["encoding"] == "cp1251"
    assert set(cfg.tables) == {"transactions", "surveys"}


@pytest.mark.parametrize(
    "patch, key, words",
    [
        ({"currency": None}, "currency", "ISO"),
        ({"currency": "rubles"}, "currency", "3-letter"),
        ({"language": "de"}, "lang", "['en', 'ru']"),
        ({"colour": "red"}, "colour", "unknown key"),
        ({"data": {}}, "data", "transactions"),
        ({"data": {"transactions": {"path": "transactions.csv"}, "orders": "x.csv"}}, "data.orders", "unknown table"),
        ({"data": {"transactions": {"path": "missing.csv"}}}, "data.transactions.path", "file not found"),
        ({"data": {"transactions": {"path": "transactions.csv", "delimiter": ";"}}}, "data.transactions.delimiter", "unknown option"),
        ({"data": {"transactions": {"path": "transactions.csv", "columns": {"Sum": "amout"}}}}, "data.transactions.columns", "amout"),
        ({"parameters": {"churn_threshold": 30}}, "parameters.churn_threshold", "unknown parameter"),
        ({"parameters": {"discount_rate": 1.5}}, "discount_rate", "out of range"),
        ({"parameters": {"horizon_months": "twelve"}}, "horizon_months", "integer"),
        ({"parameters": {"observation_end": "31.12.2024"}}, "observation_end", "date"),
        ({"parameters": {"observation_end": "2024-01-01", "calibration_end": "2024-06-01"}}, "calibration_end", "before"),
        ({"name": "other"}, "name", "folder name"),
    ],
)
def test_invalid_config_names_file_and_key(root, patch, key, words):
    base = {"display_name": "Acme", "language": "en", "currency": "USD",
            "data": {"transactions": {"path": "transactions.csv"}}}
    base.update(patch)
    base = {k: v for k, v in base.items() if v is not None}
    make_client(root, config=base)
    with pytest.raises(ConfigError) as info:
        load_client_config("acme", root)
    message = str(info.value)
    assert "client.yml" in message, message
    assert key in message and words in message, message


def test_not_yaml_mapping(root):
    folder = make_client(root)
    (folder / "client.yml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="client.yml.*mapping"):
        load_client_config("acme", root)


@pytest.mark.parametrize("name", ["../etc", "a/b", "acme;rm", "", "..", "a b", "/etc/passwd"])
def test_client_names_that_escape_are_refused(root, name):
    make_client(root)
    with pytest.raises(ConfigError):
        load_client_config(name, root)


@pytest.mark.parametrize("name", ["..", "../x", "a/b", "x y", ""])
def test_report_dir_refuses_escaping_names(root, name):
    with pytest.raises(ConfigError):
        report_dir(root, name)


def test_client_given_as_path_inside_data(root, monkeypatch):
    folder = make_client(root)
    monkeypatch.chdir(root)
    assert load_client_config("data/acme", root).name == "acme"
    assert load_client_config(str(folder / "client.yml"), root).name == "acme"


def test_client_path_outside_data_refused(root, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "client.yml").write_text("currency: USD\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="outside"):
        load_client_config(str(elsewhere), root)


def test_data_path_escaping_data_refused(root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("secret") / "tx.csv"
    outside.write_text("customer_id,timestamp,amount\n", encoding="utf-8")
    for path in ("../../tx.csv", str(outside)):
        make_client(root, config={"currency": "USD", "data": {"transactions": {"path": path}}})
        with pytest.raises(ConfigError, match="outside"):
            load_client_config("acme", root)


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_symlink_escaping_data_refused(root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("secret2") / "tx.csv"
    outside.write_text("customer_id,timestamp,amount\n", encoding="utf-8")
    folder = make_client(root, config={"currency": "USD", "data": {"transactions": {"path": "link.csv"}}}, files=())
    (folder / "link.csv").symlink_to(outside)
    with pytest.raises(ConfigError, match="outside"):
        load_client_config("acme", root)


def test_path_to_another_clients_file_is_refused(root):
    # containment is per client: data/<client>/, not data/
    make_client(root, name="shared")
    make_client(root, config={"currency": "USD", "data": {"transactions": "../shared/transactions.csv"}}, files=())
    with pytest.raises(ConfigError, match=r"outside the client's folder .*data/acme"):
        load_client_config("acme", root)


def test_overrides_parsed_by_type(root):
    make_client(root)
    over = parse_overrides(["lang=ru", "churn_threshold_days=60", "discount_rate=8%", "margin_rate=0,25",
                            "observation_end=2024-12-31", "calibration_end=none", "display_name=Acme = Co"])
    assert over["display_name"] == "Acme = Co"  # only the first '=' splits
    cfg = load_client_config("acme", root, over)
    assert cfg.lang == "ru" and cfg.display_name == "Acme = Co"
    assert cfg.params["churn_threshold_days"] == 60
    assert cfg.params["discount_rate"] == pytest.approx(0.08)
    assert cfg.params["margin_rate"] == pytest.approx(0.25)
    assert cfg.params["observation_end"] == dt.date(2024, 12, 31)
    assert cfg.params["calibration_end"] is None
    # the original is untouched (frozen dataclass, copies)
    assert load_client_config("acme", root).lang == "en"


def test_unknown_override_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        parse_overrides(["churn=30"])
    for name in PARAMETERS:
        assert name in str(info.value)
    with pytest.raises(ConfigError, match="name=value"):
        parse_overrides(["lang"])


def test_bad_override_value(root):
    make_client(root)
    with pytest.raises(ConfigError, match="horizon_months"):
        load_client_config("acme", root, {"horizon_months": "0"})
    with pytest.raises(ConfigError, match="lang"):
        load_client_config("acme", root, {"lang": "fr"})


def test_find_root_env_and_walk(root, monkeypatch):
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    sub = root / "notebooks" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.delenv("CXLAB_ROOT", raising=False)
    monkeypatch.chdir(sub)
    assert find_root() == root.resolve()
    other = root / "other"
    (other / "data").mkdir(parents=True)
    monkeypatch.setenv("CXLAB_ROOT", str(other))
    assert find_root() == other.resolve()
    assert find_root(root) == root.resolve()  # explicit wins
    monkeypatch.setenv("CXLAB_ROOT", str(root / "nope"))
    with pytest.raises(ConfigError, match="data/"):
        find_root()


def test_list_clients(root):
    make_client(root, "b")
    make_client(root, "a")
    (root / "data" / "not_a_client").mkdir()
    assert list_clients(root) == ["a", "b"]


def test_repository_demo_config_is_valid():
    cfg = load_client_config("demo", REPO)  # data/demo is committed
    assert cfg.lang == "en" and cfg.currency == "RUB"
    assert {"transactions", "customers", "surveys"} <= set(cfg.tables)


# --------------------------------------------------------------------------- bounded YAML, options, folders
from cxlab.config import ClientFolder, client_folders, read_yaml, suggest_client_name  # noqa: E402


def test_read_yaml_limits(tmp_path):
    ok = tmp_path / "ok.yml"
    ok.write_text("base: &b {a: 1}\nother:\n  <<: *b\n  c: 2\n", encoding="utf-8")
    assert read_yaml(ok) == {"base": {"a": 1}, "other": {"a": 1, "c": 2}}  # merge keys are not "repeats"
    many = tmp_path / "many.yml"
    many.write_text("a: &a 1\nb: [" + ", ".join(["*a"] * 300) + "]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="more than 200 YAML aliases"):
        read_yaml(many)
    deep = tmp_path / "deep.yml"
    deep.write_text("a: " + "[" * 40 + "]" * 40 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="nested more than 32 levels"):
        read_yaml(deep)
    python = tmp_path / "python.yml"
    python.write_text("a: !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_yaml(python)
    assert read_yaml(_write(tmp_path / "empty.yml", "")) is None


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_read_options_are_checked_and_normalised(root):
    make_client(root, config={"currency": "RUB", "data": {"transactions": {
        "path": "transactions.csv", "sep": "tab", "timezone": "Europe/Moscow", "date_format": "%d.%m.%Y",
        "strip_leading_zeros": True, "sheet": "Data"}}})
    spec = load_client_config("acme", root).load_spec()["transactions"]
    assert spec["sep"] == "\t" and spec["timezone"] == "Europe/Moscow" and spec["strip_leading_zeros"] is True


def test_load_data_passes_the_study_window(root):
    make_client(root, config={"currency": "RUB", "data": {"transactions": "transactions.csv"},
                              "parameters": {"observation_end": "2023-12-31"}})
    (root / "data" / "acme" / "transactions.csv").write_text(
        "customer_id,timestamp,amount\nA,2023-06-01,10\nA,2024-01-01,10\n", encoding="utf-8")
    data = load_client_config("acme", root).load_data()
    assert data.checks.out_of_window == 1 and data.quality.select(kind="out_of_window")[0].example_rows == (3,)


def test_client_folders_report_unusable_names(root):
    make_client(root, "ok")
    make_client(root, "Рога и копыта")
    (root / "data" / ".hidden").mkdir()
    (root / "data" / ".hidden" / "client.yml").write_text("currency: RUB\n", encoding="utf-8")
    folders = client_folders(root)
    assert [f.name for f in folders] == ["ok", "Рога и копыта"]
    assert isinstance(folders[0], ClientFolder) and folders[0].problem is None
    assert "'roga-i-kopyta'" in folders[1].problem
    assert list_clients(root) == ["ok"]
    assert suggest_client_name("Ёлка №1") == "elka-no1" and suggest_client_name("???") == "client"


def test_unknown_parameter_suggests_the_closest():
    with pytest.raises(ConfigError, match="did you mean churn_threshold_days"):
        parse_overrides(["churn_treshold_days=30"])
