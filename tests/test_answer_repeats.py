"""A model answer that lists one IoC or one stage twice is merged, not re-asked.

Through the real ``openai`` client against the loopback server (tests/llm_server.py): the
server holds exactly the answers a test expects to be asked for, so a re-ask nobody
expected gets the server's 400 and fails the run. The answers are the hand-written
fixture answers (fixtures/responses, "source": "hand-written") with entries repeated.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from llm_server import llm_server, ok, clear_model_settings  # noqa: F401  (pytest fixture)

from aptnarrate import examples, narrate
from aptnarrate.grounding.ground import vocabulary_for
from aptnarrate.llm.validate import merge_repeats
from aptnarrate.models import IoCClaim, Narration, StageClaim
from aptnarrate.pipeline import inspect_input

RESPONSES = Path(__file__).resolve().parents[1] / "fixtures" / "responses"
ABSENT = "203.0.113.250"  # an address the exfil example does not hold


@pytest.fixture(autouse=True)
def no_settings_from_the_shell(monkeypatch):
    clear_model_settings(monkeypatch)


def exfil_answer() -> dict:
    return copy.deepcopy(json.loads((RESPONSES / "exfil.json").read_text(encoding="utf-8"))["response"])


def report_for(answer: dict, server, *more: dict):
    server.enqueue(ok(answer), *(ok(a) for a in more))
    return narrate(examples.path("exfil"), backend="openai", dotenv=None,
                   llm={"base_url": server.url, "api_key": "test-key-repeats", "model": "gpt-4o-mini"})  # fmt: skip


def test_a_repeated_ioc_entry_is_merged_into_its_grounded_copy_without_a_reask(llm_server):  # noqa: F811
    answer = exfil_answer()
    curl = next(i for i in answer["iocs"] if i["ioc"] == "curl")
    # first an ungrounded copy (an address the input lacks), then the fixture's own entry;
    # then the same value in capitals with a grounded context of its own
    ungrounded = {**curl, "rationale": f"Sent the archive to {ABSENT}."}
    shouting = {**curl, "ioc": "CURL", "rationale": "Read the archive and sent it out."}
    answer["iocs"] = [ungrounded, *answer["iocs"], shouting]
    report = report_for(answer, llm_server)
    assert len(llm_server.requests) == 1
    entries = [e for e in report.iocs if e.value == "curl"]
    assert len(entries) == 1 and entries[0].rationale == curl["rationale"]
    assert not report.metadata.dropped  # nothing was unsupported: nothing dropped
    assert any("merged 2 repeated IoC entries" in note for note in report.metadata.notes)


def test_a_repeated_stage_is_merged_with_the_evidence_of_every_copy(llm_server):  # noqa: F811
    answer = exfil_answer()
    stage = next(s for s in answer["stages"] if s["stage"] == "Data Exfiltration")
    first, second = stage["evidence"][:6], stage["evidence"][6:]
    answer["stages"] += [{**stage, "evidence": second, "confidence": "moderate"}]
    stage["evidence"] = first
    report = report_for(answer, llm_server)
    assert len(llm_server.requests) == 1
    found = [s for s in report.stages if s.stage == "Data Exfiltration"]
    assert len(found) == 1 and found[0].evidence == first + second and found[0].confidence == "high"
    assert any("merged 1 repeated stage entry" in note for note in report.metadata.notes)


def test_a_repeat_with_no_grounded_copy_is_still_reasked(llm_server):  # noqa: F811
    answer = exfil_answer()
    curl = next(i for i in answer["iocs"] if i["ioc"] == "curl")
    bad = {**curl, "rationale": f"Sent the archive to {ABSENT}."}
    repeated = {**answer, "iocs": [bad, {**bad, "likelihood": "moderate"}, *[i for i in answer["iocs"] if i is not curl]]}
    report = report_for(repeated, llm_server, exfil_answer())
    assert len(llm_server.requests) == 2  # the merge never hides an unsupported claim
    assert ABSENT in llm_server.requests[1].body["messages"][-1]["content"]
    assert [e.rationale for e in report.iocs if e.value == "curl"] == [curl["rationale"]]


def test_a_repeat_citing_a_row_the_log_lacks_is_still_reasked():
    facts = inspect_input(examples.path("exfil"))
    vocabulary = vocabulary_for(facts)
    claim = StageClaim(stage="Data Exfiltration", confidence="high", evidence=["L27"], rationale="`curl` sent data.")
    narration = Narration(
        stages=[claim, claim.model_copy(update={"evidence": ["L999999"]})],
        iocs=[IoCClaim(ioc="curl", legitimate_usage="A transfer tool.", likelihood="high", rationale="Sent data.")],
        summary="Data left the host.",
    )
    merged, notes = merge_repeats(narration, vocabulary)
    assert len(merged.stages) == 1 and merged.stages[0].evidence == ["L27", "L999999"]  # the bad id stays, for grounding
    assert merge_repeats(merged, vocabulary) == (merged, [])  # nothing left to merge; the same answer again
    assert notes and merge_repeats(narration, vocabulary)[0] == merged  # deterministic
