"""client.yml and -p: bounded parsing, one-line errors that say what to write, ranges for every number."""
from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from cxlab.cli import app
from cxlab.config import PARAMETERS, ConfigError, parse_overrides

from ._corpus import rows

corpus = pytest.mark.corpus
TX = {"tx.csv": rows("1;2024-01-05;10", "2;2024-01-06;20")}
BASE = "currency: RUB\ndata:\n  transactions: tx.csv\n"

BOMB = "\n".join(
    [f'{c}: &{c} [{",".join([f"*{p}"] * 9) if p else ",".join(["lol"] * 9)}]'
     for p, c in zip([None, *"abcdefgh"], "abcdefghi")]) + "\ndisplay_name: *i\n"


@corpus("config", "error")
def test_alias_bomb_is_refused_at_once(project):
    project.client(files=TX, config=BOMB + BASE)
    t0 = time.perf_counter()
    msg = project.error()
    assert time.perf_counter() - t0 < 2
    assert "client.yml" in msg and "expands to more than 20,000 values" in msg


@corpus("config", "error")
def test_self_referencing_alias(project):
    project.client(files=TX, config="display_name: &a [*a]\n" + BASE)
    assert "refers to itself" in project.error()


@corpus("config", "error")
def test_oversized_client_yml(project):
    project.client(files=TX, config=BASE + "# " + "x" * 300_000 + "\n")
    assert "a client file is at most 262,144" in project.error()


@corpus("config", "error")
def test_unquoted_header_with_a_comma_in_a_flow_mapping(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10", header="Клиент;Дата;Сумма, руб.")},
                   config="currency: RUB\ndata:\n  transactions:\n    path: tx.csv\n"
                   "    columns: {Клиент: customer_id, Дата: timestamp, Сумма, руб.: amount}\n")
    msg = project.error()
    assert "data.transactions.columns" in msg and "the header 'Сумма' has no contract name (an empty value)" in msg
    assert '{"Сумма, руб.": amount}' in msg


@corpus("config", "error")
@pytest.mark.parametrize("text, words", [
    ("currency: RUB\n\tlanguage: en\n", "line 2"),
    ('currency: RUB\ndisplay_name: "Acme\n', "a quote is not closed"),
    ("currency: RUB\ndisplay_name: Acme: the best\n", "a value holding ': ' must be quoted"),
    ("currency: RUB\ndata:\n  transactions:\n    path: tx.csv\n    decimal: ,\n", 'decimal: ","'),
    ("currency: RUB\ncurrency: USD\n", "the key 'currency' appears twice in one mapping (lines 1 and 2)"),
    ("currency: RUB\ndata: {transactions: tx.csv\n", "not valid YAML"),
    ("- a list\n- not a mapping\n", "expected a mapping of keys"),
])
def test_yaml_syntax_errors_are_one_line_with_the_place(project, text, words):
    project.client(files=TX, config=text)
    msg = project.error()
    assert "client.yml" in msg and words in msg


@corpus("config", "error")
def test_client_yml_not_in_utf8(project):
    folder = project.client(files=TX)
    (folder / "client.yml").write_bytes("display_name: Ромашка\ncurrency: RUB\n".encode("cp1251"))
    assert "is not UTF-8 (byte 0xd0 on line 1); save it as UTF-8" in project.error()


@corpus("config", "error")
@pytest.mark.parametrize("value, words", [
    ("[a, b]", "got a list"), ("{a: 1}", "got a mapping"), ("0123", "put it in quotes"), ('"  "', "empty"),
])
def test_display_name_must_be_text(project, value, words):
    project.client(files=TX, config=f"display_name: {value}\n" + BASE)
    msg = project.error()
    assert "display_name" in msg and words in msg


@corpus("config", "error")
def test_header_read_by_yaml_as_a_number(project):
    project.client(files={"tx.csv": rows("1;2024-01-05;10", header="customer_id;timestamp;2024")},
                   transactions={"path": "tx.csv", "columns": {2024: "amount"}})
    assert "was read by YAML as a int; quote it" in project.error()


@corpus("config", "error")
@pytest.mark.parametrize("option, value, words", [
    ("sep", "::", 'tab, "|" or whitespace'),
    ("decimal", ";", '"." or ","'),
    ("dayfirst", "yes please", "true or false"),
    ("date_format", "dd.mm.yyyy", "strftime layout"),
    ("strip_leading_zeros", 1, "true or false"),
    ("delimiter", ";", "unknown option"),
])
def test_bad_read_options_are_named(project, option, value, words):
    project.client(files=TX, transactions={"path": "tx.csv", option: value})
    msg = project.error()
    assert f"data.transactions.{option}" in msg and words in msg


@corpus("parameters", "error")
@pytest.mark.parametrize("item, words", [
    ("program_cost=inf", "finite"),
    ("program_cost=nan", "finite"),
    ("program_cost=1e300", "0 to 10 000 000 000 000"),
    ("churn_threshold_days=999999999", "expected 1 to 3650 days"),
    ("churn_threshold_days=0", "expected 1 to 3650 days"),
    ("horizon_months=100000", "1 to 120 months"),
    ("discount_rate=1", "0 <= rate < 1"),
    ("margin_rate=-0.1", "0 < margin <= 1"),
    ("observation_end=1899-12-30", "1990-01-01 to 2100-12-31"),
    ("horizon_months=" + "9" * 100, "too many digits"),
    ("lang=de", "['en', 'ru']"),
])
def test_overrides_are_refused_at_parse_time_with_the_range(item, words):
    with pytest.raises(ConfigError) as info:
        parse_overrides([item])
    assert item.split("=")[0] in str(info.value) and words in str(info.value)


@corpus("parameters", "error")
def test_cli_refuses_a_bad_parameter_in_one_line(project):
    project.client(files=TX)
    result = CliRunner().invoke(app, ["report", "acme", "-p", "program_cost=inf", "--root", str(project.root)])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "program_cost" in lines[0] and "finite" in lines[0]
    assert not any((project.root / "reports").iterdir())


@corpus("parameters", "error")
def test_parameters_in_client_yml_have_the_same_ranges(project):
    project.client(files=TX, config=BASE + "parameters:\n  churn_threshold_days: 999999999\n")
    msg = project.error()
    assert "client.yml: churn_threshold_days: 999999999 is out of range: expected 1 to 3650 days" in msg


def test_every_numeric_parameter_has_a_finite_range():
    for p in PARAMETERS.values():
        if p.type_name in ("integer", "number"):
            assert p.check is not None and p.check_text, f"{p.name} has no range"
            with pytest.raises(ConfigError):
                p.coerce("1e300" if p.type_name == "number" else "9" * 25)
