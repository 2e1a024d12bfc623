"""Synthetic example subgraphs shipped with aptnarrate (see ``examples.json`` here).

Each example exists in two layouts describing the same events: ``ocrapt`` (OCR-APT's
``description,timestamp`` CSV, wall-clock strings) and ``edges`` (an edge list with UTC
nanosecond epochs; read it with timezone ``America/Toronto`` to get the same clock).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..errors import UsageError

FORMATS = {"ocrapt": ".csv", "edges": ".edges.csv"}
TIMEZONE = "America/Toronto"  # the wall clock the ocrapt files are written in


def _files():
    return resources.files(__name__)


def manifest() -> dict:
    """The parsed ``examples.json``: one entry per example with its story."""
    return json.loads(_files().joinpath("examples.json").read_text(encoding="utf-8"))


def names() -> list[str]:
    return sorted(entry["name"] for entry in manifest()["examples"])


def path(name: str, fmt: str = "ocrapt") -> Path:
    """The file of example ``name`` in layout ``fmt`` ("ocrapt" or "edges")."""
    known = names()
    if name not in known:
        raise UsageError(f"unknown example {name!r}", hint=f"choose one of {', '.join(known)}")
    if fmt not in FORMATS:
        raise UsageError(f"unknown example format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
    # the package is installed as plain files (wheel or editable), so this is a real path
    return Path(str(_files().joinpath(name + FORMATS[fmt])))


def describe(name: str) -> str:
    """A one-line title of example ``name`` (its story is in ``manifest()``)."""
    for entry in manifest()["examples"]:
        if entry["name"] == name:
            return entry["title"]
    raise UsageError(f"unknown example {name!r}", hint=f"choose one of {', '.join(names())}")


HOST_EXAMPLES = {"host": "Four flagged subgraphs of one synthetic host on one day (for 'aptnarrate batch --example host')"}


def host_example_dir(name: str) -> Path:
    """The folder of a shipped set of subgraphs from one host (``batch --example``)."""
    if name not in HOST_EXAMPLES:
        raise UsageError(f"unknown host example {name!r}", hint=f"choose one of {', '.join(HOST_EXAMPLES)}")
    return Path(str(_files().joinpath(name)))
