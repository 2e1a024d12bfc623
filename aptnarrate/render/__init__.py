"""Renderers: pure functions from a Report to text.

``RENDERERS`` maps a format name to ``function(report) -> str``; each imports its module
only when called, so ``--help`` and the formats not used stay cheap. ``resolve_format``
picks the format from ``--format`` and the output file's extension.
"""

from __future__ import annotations

import os

from ..errors import UsageError


def _md(report) -> str:
    from .markdown import render_markdown

    return render_markdown(report)


def _json(report) -> str:
    from .json import render_json

    return render_json(report)


def _html(report) -> str:
    from .html import render_html

    return render_html(report)


def _stix(report) -> str:
    from .stix import render_stix

    return render_stix(report)


def _navigator(report) -> str:
    from .navigator import render_navigator

    return render_navigator(report)


def _csv(report) -> str:
    from .csv import render_csv

    return render_csv(report)


RENDERERS = {"md": _md, "json": _json, "html": _html, "stix": _stix, "navigator": _navigator, "csv": _csv}


def shows_log_provenance(fmt: str) -> bool:
    """Whether ``fmt`` lists each log row's input lines and entity ids (the JSON document
    does; ``pipeline.run(..., log_provenance_ahead=True)`` then computes them early)."""
    return fmt == "json"


def render_chunks(fmt: str, report, *, diagram: bool = False, encoded: bool = False):
    """The report in ``fmt`` as pieces of text, for a writer that streams them: Markdown and
    JSON, which hold the whole log, come a slice of rows at a time (never one huge string);
    the other formats in one piece. ``diagram``: Markdown's Mermaid graph. ``encoded``: the
    slices of rows as UTF-8 bytes, for ``output.write_chunks`` (no decode, no copy)."""
    if fmt == "md":
        from .markdown import render_markdown_chunks

        return render_markdown_chunks(report, diagram=diagram, encoded=encoded)
    if fmt == "json":
        from .json import render_json_chunks

        return render_json_chunks(report, encoded=encoded)
    return (RENDERERS[fmt](report),)

# output file ending -> the formats that may be written to it (first: the one it implies);
# longest ending wins, so "x.stix.json" is STIX while "x.json" is the Report document
EXTENSIONS: dict[str, tuple[str, ...]] = {
    ".stix.json": ("stix",),
    ".layer.json": ("navigator",),
    ".json": ("json", "stix", "navigator"),
    ".md": ("md",),
    ".markdown": ("md",),
    ".html": ("html",),
    ".htm": ("html",),
    ".csv": ("csv",),
}


def formats_for_path(path: str | os.PathLike[str]) -> tuple[str, ...] | None:
    """The formats an output file name implies, or None for an ending we do not know."""
    name = os.path.basename(str(path)).lower()
    for ending in sorted(EXTENSIONS, key=len, reverse=True):
        if name.endswith(ending) and len(name) > len(ending):
            return EXTENSIONS[ending]
    return None


def resolve_format(explicit: str | None, output: str | os.PathLike[str] | None, default: str = "md") -> str:
    """The format to write: ``explicit`` when given (it must fit the output's ending),
    else the one the output's ending implies, else ``default``."""
    implied = formats_for_path(output) if output not in (None, "-") else None
    if explicit is None:
        return implied[0] if implied else default
    if explicit not in RENDERERS:
        raise UsageError(f"unknown format {explicit!r}", hint=f"choose one of {', '.join(RENDERERS)}")
    if implied is not None and explicit not in implied:
        raise UsageError(
            f"--format {explicit} does not match the output file {os.fspath(output)!r}, which implies --format {implied[0]}",
            hint="change the file name's ending or drop --format",
        )
    return explicit


# the file ending each format is written with when a command names the file (batch)
FILE_ENDINGS = {"md": ".md", "json": ".json", "html": ".html", "stix": ".stix.json", "navigator": ".layer.json", "csv": ".csv"}


def renderer(name: str):
    """The render function and file ending of format ``name`` (``UsageError`` if unknown)."""
    if name not in RENDERERS:
        raise UsageError(f"unknown format {name!r}", hint=f"choose from {', '.join(RENDERERS)}")
    return RENDERERS[name], FILE_ENDINGS[name]


# --------------------------------------------------------------------------- the story

def _story(name: str):
    def render(story, reports) -> str:
        from . import story as module

        return getattr(module, f"render_story_{name}")(story, reports)

    render.__name__ = f"render_story_{name}"
    return render


# format -> ``function(story, reports) -> str``, where ``reports`` are the ``(subgraph
# name, Report)`` pairs the story was told from; same names and file endings as RENDERERS
STORY_RENDERERS = {name: _story(name) for name in RENDERERS}


def story_renderer(name: str):
    """The story render function and file ending of format ``name`` (``UsageError`` if unknown)."""
    if name not in STORY_RENDERERS:
        raise UsageError(f"unknown format {name!r}", hint=f"choose from {', '.join(STORY_RENDERERS)}")
    return STORY_RENDERERS[name], FILE_ENDINGS[name]
