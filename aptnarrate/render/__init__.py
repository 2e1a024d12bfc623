"""Renderers: pure functions from a Report to text.

``RENDERERS`` maps a format name to ``(render(report) -> str, file extension)``; ``batch
--formats`` and any command that writes several formats look names up here, so a new
renderer plugs in with one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Report


def _markdown(report: Report) -> str:
    from .markdown import render_markdown

    return render_markdown(report)


def _json(report: Report) -> str:
    from .json import render_json

    return render_json(report)


RENDERERS: dict[str, tuple[Callable[[Report], str], str]] = {
    "md": (_markdown, ".md"),
    "json": (_json, ".json"),
}


def renderer(name: str) -> tuple[Callable[[Report], str], str]:
    """The renderer and file extension of format ``name`` (``UsageError`` if unknown)."""
    from ..errors import UsageError

    try:
        return RENDERERS[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r}", hint=f"choose from {', '.join(RENDERERS)}") from None
