"""The offline summary as a story: correct times, stable aliases, no uuids, grounded."""

from __future__ import annotations

import re

import pytest
from test_facts import edge_facts, facts_from, proc

from aptnarrate import examples
from aptnarrate.grounding import ground
from aptnarrate.backends.offline import OfflineNarrator, story, verb_of
from aptnarrate.preprocess.condense import minute_text
from aptnarrate.pipeline import inspect_input
from aptnarrate.llm.prompt_context import process_aliases
from aptnarrate.grounding.semantic import row_events
from aptnarrate.rules.stages import find_stages

CLOCK = re.compile(r"(?<![\d:])(?:(\d{4}-\d{2}-\d{2}) )?(\d{2}:\d{2})(?![\d:])")
CODE = re.compile(r"`([^`\n]+)`")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
EXAMPLES = ("dropper", "exfil", "benign")


def assert_story_times_match_their_rows(facts) -> list:
    """Every time in the summary is the first or last minute of the rows its sentence
    describes; every row it claims to describe shows up as actor, verb and object."""
    paragraphs = story(facts, find_stages(facts))
    lines = [line for paragraph in paragraphs for line in paragraph]
    for line in lines:
        times = CLOCK.findall(line.text)
        if not line.rows:
            assert not times, f"a time in a sentence that describes no rows: {line.text!r}"
            continue
        rows = row_events(facts, line.rows)
        assert [r.id for r in rows] == list(line.rows)
        minutes = minute_text([min(r.minute for r in rows), max(r.minute for r in rows)])
        stamps = [f"{day} {clock}" if day else clock for day, clock in times]
        assert stamps, f"no time in {line.text!r}"
        assert stamps[0] in (minutes[0], minutes[0][11:]), (line.text, minutes)
        assert stamps[-1] in (minutes[1], minutes[1][11:]), (line.text, minutes)
        for day, _ in times:
            assert not day or day in (minutes[0][:10], minutes[1][:10])
        names = {n for r in rows for n in (r.subject_name, r.object_name) if n}
        for quoted in CODE.findall(line.text):
            assert quoted in names, f"{quoted!r} is not an actor or object of the rows of {line.text!r}"
        for row in rows:
            verb = "ran" if row.event_class == "execute" and row.subject_name == row.object_name else verb_of(row)
            assert verb in line.text, (verb, line.text)
    return lines


def assert_no_entity_id(facts, text: str) -> None:
    """No entity id (a uuid in edge lists) appears, unless it is part of a name in the input
    (OpTC file names embed uuids)."""
    triples = facts.timeline.table.triples
    names = " ".join(set(triples["subject_value"]) | set(triples["object_value"]) | set(triples["subject_name"]) | set(triples["object_name"]))
    for ident in set(triples["subject_id"]) | set(triples["object_id"]):
        for uuid in UUID.findall(ident):
            assert uuid not in text or uuid in names, ident


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_time_in_an_example_summary_is_the_time_of_its_rows(name):
    facts = inspect_input(examples.path(name))
    assert_story_times_match_their_rows(facts)


def test_every_time_in_every_corpus_summary_is_the_time_of_its_rows(corpus_dir):
    cases = sorted(corpus_dir.glob("*_subgraph_*.csv"))
    assert cases
    for path in cases:
        facts = inspect_input(path)
        assert_story_times_match_their_rows(facts)
        narration = OfflineNarrator().narrate(facts).narration
        summary_issues = [i for i in ground.check(narration, facts) if i.kind == "summary"]
        assert summary_issues == [], path.name  # zero drops: every name, time and address it mentions
        assert_no_entity_id(facts, narration.summary)
        assert "log entries" not in narration.summary and "event-seconds" not in narration.summary


def test_deletions_are_told_at_the_minute_they_happen_not_when_the_stage_began():
    facts = inspect_input(examples.path("dropper"))
    log, desc = facts.timeline.log, facts.timeline.descriptions
    unlinks = [m for m, d in zip(log["minute"], log["description"]) if desc["action"][int(d)] == "UNLINK"]
    writes = [m for m, d in zip(log["minute"], log["description"]) if desc["action"][int(d)] == "WRITE"]
    deleted_at = minute_text([min(unlinks)])[0][11:]
    assert min(writes) < min(unlinks)  # the stage's evidence starts earlier than its deletions
    summary = OfflineNarrator().narrate(facts).narration.summary
    sentence = next(s for s in re.split(r"(?<=\.)\s+", summary) if "deleted" in s)
    assert CLOCK.findall(sentence)[0][1] == deleted_at, sentence
    assert "**Covering Tracks**" in sentence


def test_summary_leads_with_what_it_most_likely_is_and_ends_with_pivots():
    summary = OfflineNarrator().narrate(inspect_input(examples.path("dropper"))).narration.summary
    assert summary.startswith("Most likely an intrusion")
    assert "Who acted:" in summary and "Next pivots:" in summary
    assert "`thunderbird` (mail client)" in summary
    assert "`203.0.113.45`" in summary.split("Next pivots:")[1]


def test_unnamed_and_same_named_processes_get_stable_aliases_never_uuids(tmp_path):
    ns = 1_700_000_000_000_000_000
    first, second, third = (f"{c * 8}-aaaa-bbbb-cccc-{c * 12}" for c in "123")
    rows = [
        (first, "SUBJECT_PROCESS", "/bin/sh", "EVENT_EXECUTE", ns, "f1", "FILE_OBJECT_FILE", "/tmp/.x/stager", ),
        (second, "SUBJECT_PROCESS", "/usr/bin/sh", "EVENT_WRITE", ns + 61 * 10**9, "f1", "FILE_OBJECT_FILE", "/tmp/.x/stager"),
        (third, "SUBJECT_PROCESS", "", "EVENT_UNLINK", ns + 122 * 10**9, "f1", "FILE_OBJECT_FILE", "/tmp/.x/stager"),
        (third, "SUBJECT_PROCESS", "", "EVENT_WRITE", ns + 123 * 10**9, "f2", "FILE_OBJECT_FILE", "/tmp/.x/other"),
    ]
    facts = edge_facts(tmp_path, rows)
    aliases = process_aliases(facts)
    assert aliases.alias_of == {first: "P1", second: "P2", third: "P3"}
    again = edge_facts(tmp_path, rows)
    assert process_aliases(again).alias_of == aliases.alias_of  # stable: derived from the input
    assert aliases.label([first], "sh") == "sh (P1)" and aliases.label([first, second], "sh") == "sh (P1 and P2)"
    summary = OfflineNarrator().narrate(facts).narration.summary
    assert "P3 deleted `stager`" in summary
    assert not UUID.search(summary) and "aaaa" not in summary
    assert ground.check(OfflineNarrator().narrate(facts).narration, facts) == []


def test_an_unnamed_subject_in_an_ocrapt_log_is_an_alias(tmp_path):
    rows = [
        proc("", "WRITE", "file_object_file", "stager", "2018-04-12 10:00:01"),
        proc("", "EXECUTE", "file_object_file", "stager", "2018-04-12 10:01:05"),
        proc("", "UNLINK", "file_object_file", "stager", "2018-04-12 10:04:01"),
    ]
    facts = facts_from(tmp_path, rows)
    summary = OfflineNarrator().narrate(facts).narration.summary
    assert "On 2018-04-12 at 10:04, P1 deleted `stager`" in summary
    assert "A subject_process" not in summary and "A process" not in summary


def test_a_benign_mechanism_is_offered_as_the_alternative_and_this_host_is_no_pivot(corpus_dir):
    periodic = OfflineNarrator().narrate(inspect_input(corpus_dir / "cadets_subgraph_21.csv")).narration.summary
    assert "Benign alternative: `411.pkg-backup`: consistent with FreeBSD's periodic(8)" in periodic
    facts = inspect_input(corpus_dir / "SysClient0501_subgraph_0.csv")
    own = [c.value for c in facts.candidates if "this-host" in c.features]
    assert own  # OpTC records this host's address on inbound flows
    pivots = OfflineNarrator().narrate(facts).narration.summary.split("Next pivots:")[1]
    assert all(f"`{value}`" not in pivots for value in own)


def test_a_file_a_benign_mechanism_explains_is_no_pivot_to_recover(corpus_dir):
    """SysClient0501_subgraph_0 asked the analyst to recover and hash PowerShell's own
    ``__PSScriptPolicyTest_`` script, and subgraph 12 to check an AppX state file, which the
    benign mechanisms explain."""
    facts = inspect_input(corpus_dir / "SysClient0501_subgraph_0.csv")
    assert any(c.value.startswith("__PSScriptPolicyTest_") for c in facts.table_candidates)
    summary = OfflineNarrator().narrate(facts).narration.summary
    assert "__PSScriptPolicyTest_" not in summary.split("Next pivots:")[1]
    appx = OfflineNarrator().narrate(inspect_input(corpus_dir / "SysClient0501_subgraph_12.csv")).narration.summary
    assert ".rslc" not in appx.split("Next pivots:")[1]  # nor the first thing to check in the full log
    dropper = OfflineNarrator().narrate(inspect_input(examples.path("dropper"))).narration.summary
    assert "recover and hash `invoice" in dropper.split("Next pivots:")[1]  # a dropped program still is
