"""aptnarrate: attack reports from the anomalous subgraphs of provenance-based detectors.

    >>> import aptnarrate
    >>> report = aptnarrate.narrate("tc3_anomalous_subgraph_21.csv")
    >>> print(report.to_markdown())

Heavy modules (pandas, openai) load on first use, so ``import aptnarrate`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "narrate": "aptnarrate.pipeline",
    "inspect_input": "aptnarrate.pipeline",
    "NarrateOptions": "aptnarrate.pipeline",
    "read_events": "aptnarrate.preprocess.ingest",
    "IngestOptions": "aptnarrate.preprocess.ingest",
    "EventTable": "aptnarrate.preprocess.ingest",
    "condense": "aptnarrate.preprocess.condense",
    "Timeline": "aptnarrate.preprocess.condense",
    "compute_facts": "aptnarrate.preprocess.facts",
    "Facts": "aptnarrate.preprocess.facts",
    "Report": "aptnarrate.models",
    "Narration": "aptnarrate.models",
    "Candidate": "aptnarrate.models",
    "render_markdown": "aptnarrate.render.markdown",
    "render_json": "aptnarrate.render.json",
    "AptNarrateError": "aptnarrate.errors",
    "InputError": "aptnarrate.errors",
    "ConfigError": "aptnarrate.errors",
    "BackendError": "aptnarrate.errors",
    "ValidationFailed": "aptnarrate.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aptnarrate' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
