"""Helpers of the hostile-input corpus (see conftest.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cxlab.config import ConfigError, load_client_config
from cxlab.data.validate import DataQualityError

TX_HEADER = "customer_id;timestamp;amount"


class Project:
    """A throw-away cxlab project root with client folders written by the tests."""

    def __init__(self, root: Path):
        self.root = root
        (root / "data").mkdir(parents=True)
        (root / "reports").mkdir()
        (root / "pyproject.toml").write_text("", encoding="utf-8")

    def client(self, name: str = "acme", files: dict[str, Any] | None = None, config: dict | str | None = None,
               **tables: Any) -> Path:
        """Write ``data/<name>/`` with ``files`` (text is written as UTF-8, bytes as given) and client.yml.

        ``config`` is the whole client.yml (a dict or raw text); by default it is built from ``tables``
        (table name → entry), e.g. ``transactions={"path": "tx.csv", "decimal": ","}``.
        """
        folder = self.root / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        for fname, content in (files or {}).items():
            path = folder / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            if callable(content):
                content(path)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        if config is None:
            config = {"display_name": "Acme", "language": "en", "currency": "RUB",
                      "data": tables or {"transactions": {"path": "tx.csv"}}}
        text = config if isinstance(config, str) else yaml.safe_dump(config, allow_unicode=True)
        (folder / "client.yml").write_text(text, encoding="utf-8")
        return folder

    def load(self, name: str = "acme", overrides: dict | None = None):
        cfg = load_client_config(name, self.root, overrides)
        return cfg, cfg.load_data()

    def error(self, name: str = "acme", overrides: dict | None = None) -> str:
        """The one-line message a failing load gives (ConfigError or DataQualityError)."""
        with pytest.raises((ConfigError, DataQualityError)) as info:
            self.load(name, overrides)
        message = str(info.value)
        assert "\n" not in message, f"the message is not one line: {message!r}"
        assert "Traceback" not in message
        return message


def rows(*lines: str, header: str = TX_HEADER) -> str:
    """CSV text: the header and the lines, newline-terminated."""
    return "\n".join((header, *lines)) + "\n"
