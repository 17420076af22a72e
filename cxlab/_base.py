"""Shared bases for every estimator and result object in cxlab.

Two conventions, borrowed from the libraries analysts already know:

* **Estimators** follow scikit-learn: every parameter is set in ``__init__`` and
  stored unchanged under the same name, ``fit`` returns ``self``, and whatever
  is learned from data is stored in attributes ending in ``_``.
* **Results** follow statsmodels: ``summary()`` returns a :class:`Summary` that
  renders as plain text (``print``), in a notebook and in an HTML report
  (``_repr_html_``), and ``to_dict()`` gives plain Python numbers for JSON.
"""
from __future__ import annotations

import html
import inspect
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Estimator", "NotFittedError", "Result", "Summary", "to_builtin"]


class NotFittedError(RuntimeError):
    """Raised when a fitted attribute is asked for before ``fit`` was called."""


class Estimator:
    """Base class: parameters in ``__init__``, ``fit`` returns ``self``.

    Subclasses list their parameters as keyword arguments of ``__init__`` and
    assign each to an attribute of the same name; ``get_params`` and the
    ``repr`` are derived from that signature.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            name
            for name, p in sig.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self) -> dict[str, Any]:
        """Parameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "Estimator":
        """Set parameters by name (unknown names are an error); returns ``self``."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; valid: {sorted(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        shown = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = default is not inspect.Parameter.empty and bool(default == value)
            except Exception:  # arrays and frames compare elementwise
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def is_fitted(self) -> bool:
        """True once ``fit`` has set at least one attribute ending in ``_``."""
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call fit() first.")


@dataclass
class Summary:
    """A printable, notebook- and HTML-renderable summary of a result.

    Parameters
    ----------
    title : str
        Heading of the summary.
    tables : list of (caption, DataFrame)
        The tables to show, in order.
    notes : list of str
        Free-text notes shown under the tables (assumptions, warnings).
    """

    title: str
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_text(self) -> str:
        width = 78
        lines = [self.title, "=" * min(width, max(len(self.title), 10))]
        for caption, table in self.tables:
            if caption:
                lines += ["", caption, "-" * min(width, max(len(caption), 10))]
            with pd.option_context("display.width", 120, "display.max_columns", 50):
                lines.append(table.to_string(float_format=_fmt_float))
        if self.notes:
            lines.append("")
            lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_html(self) -> str:
        parts = [f'<div class="cxlab-summary"><h4>{html.escape(self.title)}</h4>']
        for caption, table in self.tables:
            if caption:
                parts.append(f"<p><b>{html.escape(caption)}</b></p>")
            parts.append(table.to_html(float_format=_fmt_float, border=0, classes="cxlab-table"))
        for note in self.notes:
            parts.append(f"<p><i>{html.escape(note)}</i></p>")
        parts.append("</div>")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()


def _fmt_float(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    ax = abs(x)
    if ax != 0 and (ax < 1e-3 or ax >= 1e7):
        return f"{x:.3e}"
    return f"{x:,.4f}"


class Result:
    """Base for result objects: subclasses implement ``summary`` and ``to_dict``."""

    def summary(self) -> Summary:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def to_builtin(obj: Any) -> Any:
    """Convert numpy/pandas scalars, arrays and frames to JSON-friendly builtins."""
    if isinstance(obj, dict):
        return {str(k): to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_builtin(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return [to_builtin(r) for r in obj.reset_index().to_dict(orient="records")]
    if isinstance(obj, pd.Series):
        return {str(k): to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [to_builtin(v) for v in obj.tolist()]
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(obj) else pd.Timestamp(obj).isoformat()
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if math.isnan(f) else f
    return obj
