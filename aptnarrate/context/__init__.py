"""Beyond the subgraph: the top IoCs' one-hop neighbourhood in the host's wider log.

The neighbourhood query is written once with Ibis (``query``); it runs on DuckDB embedded
by default and unchanged on any engine Ibis connects to. ``extract`` turns its rows into
the report's context sections; ``aptnarrate.render.context`` writes them as Markdown (the
renderers sit below the host level and never import it). Names load on first use.
"""

from __future__ import annotations

_EXPORTS = {
    "CONTEXT_TYPES": "extract",
    "DEFAULT_TOP": "extract",
    "DEFAULT_WINDOW": "extract",
    "ContextOptions": "extract",
    "extract_context": "extract",
    "parse_window": "extract",
    "top_iocs": "extract",
    "top_iocs_across": "extract",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
