"""Grounding: claims the input does not support are found (check) and removed (prune)."""

from __future__ import annotations

import pytest
from scripted import example_facts

from aptnarrate.grounding import mentions
from aptnarrate.grounding.ground import Vocabulary, check, prune
from aptnarrate.models import IoCClaim, Narration, StageClaim


@pytest.fixture(scope="module")
def facts():
    return example_facts("dropper")


@pytest.fixture(scope="module")
def vocab(facts):
    return Vocabulary(facts)


def _first_minute(facts) -> str:
    from aptnarrate.preprocess.condense import minute_text

    return minute_text(facts.timeline.log["minute"][:1])[0]


def _narration(facts, summary="", iocs=None, stages=None) -> Narration:
    top = facts.candidates[0]
    return Narration(
        stages=stages
        if stages is not None
        else [StageClaim(stage="Initial Compromise", confidence="high", evidence=top.evidence[:2], rationale="It ran.")],
        iocs=iocs
        if iocs is not None
        else [IoCClaim(ioc=top.value, legitimate_usage="Not a known file.", likelihood="high", rationale="Written then run.")],
        summary=summary,
    )


def test_grounded_narration_passes_with_names_times_and_addresses_from_the_input(facts):
    top = facts.candidates[0]
    minute = _first_minute(facts)
    ip = next(c.value for c in facts.candidates if c.type == "ip")
    summary = (
        f"On {minute[:10]} at {minute[11:]}, {top.value} was written and executed. "
        f"It later contacted {ip}, e.g. via read/write calls over TCP/IP, version 2.5 of nothing."
    )
    narration = _narration(facts, summary)
    assert check(narration, facts) == []
    cleaned, dropped = prune(narration, facts)
    assert cleaned == narration and dropped == []


def test_invented_ioc_is_flagged_and_pruned(facts):
    narration = _narration(
        facts,
        iocs=[
            IoCClaim(ioc="mimikatz.exe", legitimate_usage="None.", likelihood="high", rationale="Credential theft."),
            IoCClaim(ioc=facts.candidates[0].value.upper(), legitimate_usage="x", likelihood="low", rationale="y"),
        ],
    )
    issues = check(narration, facts)
    assert [(i.kind, i.item) for i in issues] == [("ioc", "mimikatz.exe")]
    assert "mimikatz.exe" in issues[0].message()
    cleaned, dropped = prune(narration, facts)
    assert [c.ioc for c in cleaned.iocs] == [facts.candidates[0].value]  # case folded back to the input's
    assert dropped[0].kind == "ioc" and dropped[0].item == "mimikatz.exe"


def test_unknown_evidence_is_dropped_and_a_stage_without_evidence_goes(facts):
    ids = list(facts.timeline.log["id"])
    stages = [
        StageClaim(stage="Command and Control", confidence="high", evidence=[ids[0], "L99999"], rationale="ok"),
        StageClaim(stage="Data Exfiltration", confidence="low", evidence=["L0", "row 3"], rationale="ok"),
    ]
    cleaned, dropped = prune(_narration(facts, stages=stages), facts)
    assert [(s.stage, s.evidence) for s in cleaned.stages] == [("Command and Control", [ids[0]])]
    kinds = [(d.kind, d.item) for d in dropped]
    assert ("evidence", "Command and Control: L99999") in kinds
    assert ("stage", "Data Exfiltration") in kinds


def test_stage_outside_the_vocabulary_fails(facts):
    bogus = StageClaim.model_construct(stage="Reconnaissance", confidence="high", evidence=["L1"], rationale="x")
    narration = Narration.model_construct(stages=[bogus], iocs=[], summary="")
    issues = check(narration, facts)
    assert [(i.kind, i.item) for i in issues] == [("stage", "Reconnaissance")]


@pytest.mark.parametrize(
    "sentence, problem",
    [
        ("It then beaconed to 45.77.1.9 every minute.", "address 45.77.1.9"),
        ("It then beaconed to 2001:db8::dead:beef over IPv6.", "address 2001:db8::dead:beef"),
        ("The dropper wrote stage2.bin to disk.", "file name stage2.bin"),
        ("It read /etc/shadow afterwards.", "file name /etc/shadow"),
        ("It loaded C:\\Windows\\System32\\evil.dll next.", "file name C:\\Windows\\System32\\evil.dll"),
        ("It wrote the full path /tmp/update.sh too.", "file name /tmp/update.sh"),
        ("It loaded `payload` into memory.", "name payload"),
        ("At 23:17 it finished.", "time 23:17"),
        ("At 11:17 PM it finished.", "time 11:17 PM"),
        ("This was on 2018-04-11 as well.", "date 2018-04-11"),
        ("This was on April 11, 2018 as well.", "date April 11, 2018"),
    ],
)
def test_unsupported_mentions_in_the_summary_are_flagged_and_only_that_sentence_dropped(facts, sentence, problem):
    good = f"{facts.candidates[0].value} was written and executed."
    narration = _narration(facts, summary=f"{good} {sentence}")
    issues = check(narration, facts)
    assert len(issues) == 1 and issues[0].kind == "summary"
    assert problem in issues[0].reason
    cleaned, dropped = prune(narration, facts)
    assert cleaned.summary == good
    assert dropped[0].item == sentence


def test_ioc_context_with_an_invented_address_drops_that_ioc(facts):
    top = facts.candidates[0]
    claim = IoCClaim(ioc=top.value, legitimate_usage="none", likelihood="high", rationale="Downloaded from 8.8.4.4.")
    cleaned, dropped = prune(_narration(facts, iocs=[claim]), facts)
    assert cleaned.iocs == []
    assert dropped[0].kind == "ioc" and "8.8.4.4" in dropped[0].reason


@pytest.mark.parametrize(
    "prose",
    [
        "The activity, e.g. repeated read/write calls, i.e. normal I/O, looks benign.",
        "Connections over TCP/IP and UDP happened 2.5 times more often (v1.2 of the pattern, 3.14%).",
        "The U.S. team should check and/or escalate; the process may 12 times retry.",
        "Within minutes the process forked; 24/7 monitoring is advised... etc.",
        "It used MMAP/OPEN/CLOSE calls in a loop.",
    ],
)
def test_ordinary_prose_is_not_mistaken_for_names_times_or_files(vocab, prose):
    assert vocab.mentions(prose) == []


def test_mention_scanners_normalise_what_they_find():
    assert mentions.addresses("to 2001:DB8:0:0::1 and 10.0.0.1:443, not 23:58:07 or 1.2.3") == ["10.0.0.1", "2001:db8::1"]
    assert [c for _, c in mentions.clocks("at 9:05, 11:58 pm and 23:58:07")] == ["09:05", "23:58", "23:58"]
    assert [d for _, d in mentions.dates("April 11, 2018; 12th of May; 2018-04-11T23:58")] == [
        (4, 11, 2018),
        (4, 11, 2018),
        (5, 12, None),
    ]
    assert mentions.file_names("libc.so.7, ~/.bashrc and invoice.pdf.sh; not e.g. or 2.5 or http://x.org/a.html") == [
        "libc.so.7",
        "~/.bashrc",
        "invoice.pdf.sh",
    ]
