"""The offline narrator on our own examples, whose stories (examples.json) say what happened."""

from __future__ import annotations

import pytest

import aptnarrate
from aptnarrate.examples import manifest, path

EXAMPLES = {entry["name"]: entry for entry in manifest()["examples"]}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("fmt", ["ocrapt", "edges"])
def test_offline_finds_the_stages_each_story_holds(name, fmt):
    report = aptnarrate.narrate(path(name, fmt), backend="offline", timezone="America/Toronto")
    found = {s.stage for s in report.stages}
    expected = set(EXAMPLES[name]["expected_stages"])
    assert expected <= found, f"missing {expected - found}"
    # and nothing the story does not hold
    assert found - expected == set(), f"false claims {found - expected}"
    if not expected:
        assert found == set(), "a routine package update must not be narrated as an attack"
    # every stage cites rows that exist, and the summary names only what the input holds
    ids = {entry.id for entry in report.log}
    assert all(set(s.evidence) <= ids for s in report.stages)
    assert report.metadata.dropped == []
