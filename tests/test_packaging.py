"""The two install routes (pip: pyproject.toml; conda: environment.yml) name the same packages."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[; ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {_name(d) for d in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pip_names |= {_name(d) for d in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    conda -= {"python", "pip", "openjdk"}  # the interpreter, the installer, Spark's Java runtime
    assert conda == pip_names, (
        f"only in environment.yml: {sorted(conda - pip_names)}; only in pyproject.toml: {sorted(pip_names - conda)}"
    )


def test_pins_are_consistent_with_pyproject():
    """constraints.txt pins every dependency, and pandas stays below 3 (lifelines needs it)."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.lower().replace("_", "-")] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        assert _name(dep) in pins, f"{_name(dep)} is not pinned in constraints.txt"
    assert int(pins["pandas"].split(".")[0]) < 3
