"""The offline report's stage claims against an analyst's judgment of each corpus subgraph.

``tests/data/corpus_judgment.json`` records, per subgraph, the stages its own events support
(our judgment from reading the logs; OCR-APT's reports are not used). Per dataset family
(TC3, OpTC) and with and without the dataset profile declared, this asserts the issue's
target: at least 80% of the supported stages are named, and at most 2 claims are ones the
events do not support.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aptnarrate.backends.offline import OfflineNarrator
from aptnarrate.grounding.ground import prune
from aptnarrate.preprocess.condense import condense
from aptnarrate.preprocess.facts import compute_facts
from aptnarrate.preprocess.ingest import IngestOptions, read_events
from aptnarrate.rules.profiles import get_profile
from aptnarrate.rules.stages import find_stages

JUDGMENT = json.loads((Path(__file__).parent / "data" / "corpus_judgment.json").read_text(encoding="utf-8"))["cases"]


def _family(name: str) -> str:
    return "optc" if name.startswith("SysClient") else "tc3"


@pytest.fixture(scope="module")
def claims(corpus_dir):
    found = {}
    for path in sorted(corpus_dir.glob("*_subgraph_*.csv")):
        if path.name.endswith(".edges.csv"):
            continue
        case = path.stem
        timeline = condense(read_events(path, IngestOptions()))
        profile = get_profile("darpa-optc" if _family(case) == "optc" else "darpa-tc3")
        for declared in (False, True):
            facts = compute_facts(timeline, internal_networks=profile.internal_networks if declared else ())
            # scored on the report: the rules' claims after grounding
            kept, dropped = prune(OfflineNarrator().narrate(facts).narration, facts)
            found[(case, declared)] = {s.stage for s in kept.stages}
            dropped_of[(case, declared)] = dropped
            assert found[(case, declared)] <= {s.stage for s in find_stages(facts)}
    return found


dropped_of: dict = {}


def test_grounding_drops_nothing_the_offline_narrator_writes(claims):
    assert {key: dropped for key, dropped in dropped_of.items() if dropped} == {}


@pytest.mark.parametrize("family", ["tc3", "optc"])
@pytest.mark.parametrize("with_profile", [False, True])
def test_stage_claims_match_the_analyst_judgment(claims, family, with_profile):
    supported = named = 0
    false_claims = []
    for (case, declared), stages in claims.items():
        if _family(case) != family or declared != with_profile:
            continue
        truth = set(JUDGMENT.get(case, {}).get("stages", []))
        supported += len(truth)
        named += len(truth & stages)
        false_claims += [(case, stage) for stage in sorted(stages - truth)]
    assert supported > 0
    assert named / supported >= 0.8, f"{named} of {supported} supported stages named"
    assert len(false_claims) <= 2, false_claims
