"""The workspace templates' filters: values shown as text (never as HTML, but for search marks)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from markupsafe import Markup, escape

MARKS = ("\x02", "\x03")  # search marks: never in escaped text, turned into <mark> after escaping
#: Unicode's explicit bidirectional embeddings, overrides and isolates: in a file name, U+202E makes
#: "report\u202efdp.exe" show as "reportexe.pdf". Shown as their code point instead, everywhere.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def neutral(value: Any) -> Any:
    """Every value a template writes (Jinja's `finalize`): bidirectional controls made visible."""
    if isinstance(value, str) and BIDI_CONTROLS.search(value):
        shown = BIDI_CONTROLS.sub(lambda m: f"[U+{ord(m.group()):04X}]", value)
        return Markup(shown) if isinstance(value, Markup) else shown  # escaped HTML stays escaped HTML
    return value


def _label(value: Any) -> str:
    return "" if value is None else str(value).replace("_", " ")


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _edit(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _marked(text: str) -> Markup:
    """Escape a snippet, then turn the search marks into <mark> (only those tags are ever added)."""
    escaped = str(escape(text))
    return Markup(escaped.replace(MARKS[0], "<mark>").replace(MARKS[1], "</mark>"))


def _pct(value: Any) -> str:
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return ""


def _bars(value: Any) -> str:
    return ", ".join(v for v in str(value or "").split("|") if v)


def _basename(value: Any) -> str:
    return neutral(re.split(r"[\\/]", str(value or ""))[-1])


def _when(value: Any) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(value)))
    except (TypeError, ValueError):
        return ""


def _kappa(value: Any) -> str:
    return "—" if value is None else f"{value:.2f}"


def _size(value: Any) -> str:
    size = int(value or 0)
    return f"{size / 2**20:.1f} MB" if size > 2**20 else f"{size / 1024:.0f} kB" if size > 1024 else f"{size} B"


FILTERS = {"size": _size, "label": _label, "show": _show, "edit": _edit, "marked": _marked, "pct": _pct, "bars": _bars,
           "basename": _basename, "when": _when, "kappa": _kappa,
           "jsonv": lambda v: _show(json.loads(v)) if v else "—"}
