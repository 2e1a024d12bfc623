"""What a run holds on to after it returns.

A run's facts (the per-row tables behind its log: 350 MB at 10M input rows) must go when
``run`` returns, by reference counting alone: the CLI makes the cyclic garbage collector
run rarely (``cli.main``), so facts caught in a reference cycle lived on through the
rendering, where they set the 10M-row JSON report's memory peak.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from aptnarrate import examples, pipeline

EXCHANGES = Path(__file__).resolve().parents[1] / "fixtures" / "exchanges"  # replayed model answers


@pytest.mark.parametrize(
    "settings",
    [
        dict(backend="offline"),
        dict(backend="replay", fixtures=str(EXCHANGES), dotenv=None),
    ],
    ids=["offline", "replay"],
)
def test_a_runs_facts_are_freed_when_it_returns_without_the_cyclic_collector(settings, monkeypatch):
    seen = []
    inspect = pipeline.inspect_input

    def noting(*args, **kwargs):
        facts = inspect(*args, **kwargs)
        seen.append(weakref.ref(facts))
        return facts

    monkeypatch.setattr(pipeline, "inspect_input", noting)
    enabled = gc.isenabled()
    gc.disable()
    try:
        result = pipeline.run(examples.path("dropper"), **settings)
        assert len(seen) == 1
        assert seen[0]() is None, "the facts outlived the run (a reference cycle?)"
        assert result.report.log.line_offsets is not None  # the report's log keeps what it needs
    finally:
        if enabled:
            gc.enable()
