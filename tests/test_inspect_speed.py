"""The shortcuts the `inspect` path takes for speed give the answers of the plain computation.

* facts judges network sweeps on one row per flow description (its first minute) instead of
  every log row: the subjects, subnets and hosts must be those the structural rule finds in
  the full log.
* the pattern engine compiles each rule once and tries a row only against the rules whose
  selections accept its event class: every rule must match exactly the rows a literal
  reading of the rule file matches (the reference below is the engine's documented
  semantics written out plainly).
"""

from __future__ import annotations

import json
import re

import numpy as np

import pytest
from test_facts import write_ocrapt_csv

from aptnarrate.preprocess.condense import condense
from aptnarrate.preprocess.facts import _swept_hosts
from aptnarrate.preprocess.ingest import IngestOptions, read_events
from aptnarrate.rules.patterns import Row, builtin_rules, example_row, matching_rules, rule_matches, _values
from aptnarrate.rules.stages import log_rows
from aptnarrate.rules.fanout import sweeps

# --------------------------------------------------------------------------- sweeps


def _sweeps_over_every_row(timeline) -> dict[str, tuple[str, str]]:
    """What ``_swept_hosts`` computed before: the structural rule over every log row."""
    found = {}
    for sweep in sweeps(log_rows(timeline)):
        who = f"`{sweep['subject']}`" if sweep["subject"] else "one process"
        words = f"one of {len(sweep['hosts'])} hosts of {sweep['subnet']} that {who} swept ({', '.join(sweep['hosts'])})"
        for host in sweep["hosts"]:
            found.setdefault(host, (sweep["subnet"], words))
    return found


def _flow(subject: str, action: str, host: str, when: str) -> tuple[str, str]:
    return (f"The subject_process: {subject} {action} the netflowobject: {host}", when)


def test_sweeps_from_first_contacts_equal_sweeps_over_every_row(tmp_path):
    rows = []
    # nmap reaches 5 hosts of 10.0.0.0/24 within 4 minutes, each many times, and comes back later
    for minute in range(4):
        for host in range(1, 6):
            rows.append(_flow("nmap", "CONNECT", f"10.0.0.{host}", f"2018-04-06 11:{minute:02d}:{host:02d}"))
    rows += [_flow("nmap", "CLOSE", f"10.0.0.{h}", f"2018-04-06 12:30:0{h}") for h in range(1, 6)]
    # a second subject sweeps one of the same hosts and three more: the host keeps the first
    # (sorted) subject's words, as before
    rows += [_flow("scan", "CONNECT", f"10.0.0.{h}", f"2018-04-06 11:0{h}:00") for h in (1, 7, 8, 9)]
    # too slow to be a sweep: 4 hosts of 10.0.1.0/24 first reached 20 minutes apart, then
    # reached again inside a few minutes (only first contacts count)
    rows += [_flow("slow", "CONNECT", f"10.0.1.{h}", f"2018-04-06 1{h}:00:00") for h in range(1, 5)]
    rows += [_flow("slow", "CONNECT", f"10.0.1.{h}", f"2018-04-06 15:0{h}:00") for h in range(1, 5)]
    # an unnamed subject, a non-network event, an IPv6 address and a name that is no address
    rows += [(f"A subject_process CONNECT the netflowobject: 10.0.2.{h}", f"2018-04-06 11:00:0{h}") for h in range(1, 6)]
    rows += [_flow("nmap", "READ", f"10.0.3.{h}", f"2018-04-06 11:00:0{h}") for h in range(1, 6)]
    rows += [_flow("nmap", "CONNECT", "fe80::1", "2018-04-06 11:00:00"), _flow("nmap", "CONNECT", "localhost", "2018-04-06 11:00:00")]
    timeline = condense(read_events(write_ocrapt_csv(tmp_path, rows)))
    expected = _sweeps_over_every_row(timeline)
    assert set(expected) >= {f"10.0.0.{h}" for h in range(1, 6)} | {f"10.0.2.{h}" for h in range(1, 6)}
    assert not any(host.startswith("10.0.1.") for host in expected)
    assert _swept_hosts(timeline) == expected


def test_sweeps_on_the_corpus_equal_sweeps_over_every_row(corpus_dir):
    compared = 0
    for path in sorted(corpus_dir.glob("*_subgraph_*.csv")):
        options = IngestOptions(timezone="America/Toronto") if path.name.endswith(".edges.csv") else IngestOptions()
        timeline = condense(read_events(path, options))
        expected = _sweeps_over_every_row(timeline)
        assert _swept_hosts(timeline) == expected, path.name
        compared += bool(expected)
    assert compared > 0, "the corpus should hold at least one sweep"


def test_the_stage_rules_cite_the_sweeps_facts_computed(corpus_dir, monkeypatch):
    """The sweeps are computed once per log: the stage rules' ``LogView.sweeps`` takes the
    subjects, subnets and hosts facts found (``Facts.sweeps``) and adds the rows."""
    from aptnarrate.preprocess import facts as facts_module
    from aptnarrate.preprocess.facts import compute_facts
    from aptnarrate.rules.stages import LogView

    compared = 0
    for path in sorted(corpus_dir.glob("*_subgraph_*.csv"))[:40]:
        if path.name.endswith(".edges.csv"):
            continue
        facts = compute_facts(condense(read_events(path)))
        every_row = sweeps(log_rows(facts.timeline))
        if not every_row:
            continue
        with monkeypatch.context() as patch:
            patch.setattr(facts_module, "network_sweeps", lambda timeline: pytest.fail("sweeps computed twice"))
            view = LogView(facts)
            found = view.sweeps
        assert [(s["subject"], s["subnet"], s["hosts"]) for s in found] == [(s["subject"], s["subnet"], s["hosts"]) for s in every_row]
        assert [view.ids[s["positions"]].tolist() for s in found] == [s["rows"]["id"].tolist() for s in every_row]
        assert all("positions" not in s for s in facts.sweeps)  # the shared sweeps are not written to
        compared += 1
    assert compared > 0, "the corpus should hold at least one sweep"


# --------------------------------------------------------------------------- pattern rules


def _reference_field(actual: list[str], modifier: str, expected: list) -> bool:
    for value in actual:
        text = str(value)[:4096].casefold()
        for want in expected:
            if modifier == "re":
                if re.search(str(want), str(value)[:4096]):
                    return True
            elif modifier in ("", "equals") and text == str(want).casefold():
                return True
            elif modifier == "contains" and str(want).casefold() in text:
                return True
            elif modifier == "startswith" and text.startswith(str(want).casefold()):
                return True
            elif modifier == "endswith" and text.endswith(str(want).casefold()):
                return True
    return False


def _reference_selection(selection: dict, row: Row) -> bool:
    for key, expected in selection.items():
        if key == "object_is_subject":
            if (row.object.casefold() == row.subject.casefold() and bool(row.object)) != expected:
                return False
            continue
        name, _, modifier = key.partition("|")
        if not _reference_field(_values(row, name), modifier, expected if isinstance(expected, list) else [expected]):
            return False
    return True


def _reference_matches(rule, row: Row) -> bool:
    return any(_reference_selection(s, row) for s in rule.match) and not any(_reference_selection(s, row) for s in rule.filter)


def _rows() -> list[Row]:
    """Every rule's examples, each also with its object turned into the subject's own name and
    upper-cased, so each rule meets rows written for the other rules and near misses."""
    rows = []
    for rule in builtin_rules():
        for example in rule.examples.positive + rule.examples.negative:
            row = example_row(example)
            rows += [
                row,
                Row(row.subject, row.action, row.subject, row.subject_kind, row.object_kind, row.object_paths),
                Row(row.subject.upper(), row.action.lower(), row.object.upper(), row.subject_kind, row.object_kind, tuple(p.upper() for p in row.object_paths)),
            ]
    return list(dict.fromkeys(rows))


def test_compiled_rules_match_what_the_rule_files_say():
    rules = builtin_rules()
    rows = _rows()
    hits = 0
    for row in rows:
        expected = tuple(rule for rule in rules if _reference_matches(rule, row))
        assert matching_rules(row) == expected, row
        for rule in rules:
            assert rule_matches(rule, row) == (rule in expected), (rule.id, row)
        hits += len(expected)
    assert hits > len(rules), "the examples should match their rules"


# --------------------------------------------------------------------------- imports


def test_inspect_does_not_load_the_report_models_or_pydantic():
    """``inspect`` needs the pattern rules (which check stage names), not the report models:
    building the report's pydantic models costs about 0.15 s of a command's start, and
    loading pydantic for the rule files about 0.2 s more."""
    import subprocess
    import sys

    from aptnarrate import examples

    source = str(examples.path(examples.names()[0]))
    code = (
        "import os, sys; from aptnarrate.cli import main; "
        f"codes = [main(['inspect', {source!r}, '--format', f, '-o', os.devnull]) for f in ('json', 'table')]; "
        "print(*codes, 'aptnarrate.models' in sys.modules, 'pydantic' in sys.modules, 'aptnarrate.rules.patterns' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["0", "0", "False", "False", "True"], out.stderr


def _table_from_the_models(facts) -> str:
    """``inspect``'s table as it was written: the candidates from the ``Candidate`` models,
    the log from a pandas frame of every row."""
    import pandas as pd

    from aptnarrate.preprocess.condense import minute_text
    from aptnarrate.render.inspect import _input_info, _safe

    info = _input_info(facts)
    out = [
        f"input: {_safe(info['name'])} ({info['format']}), {info['rows_read']} rows, {info['events']} events, "
        f"{info['log_rows']} log rows, {info['skipped_count']} skipped; times {info['time_basis']}",
        "",
        f"candidate IoCs ({len(facts.candidates)}, ranked; * = in the report's table):",
    ]
    for c in facts.candidates:
        out.append(f"{'*' if c.in_table else ' '} {c.rank:>4}  {c.likelihood:<8}  {c.type:<8}  {_safe(c.value)}  [{c.score:.1f}]")
        if c.reasons:
            out.append("         " + _safe("; ".join(c.reasons)))
        out.append(f"         evidence: {', '.join(c.evidence[:12])}{' ...' if len(c.evidence) > 12 else ''}")
    out += ["", "chronological log:"]
    log = facts.timeline.log
    if len(log):
        texts = np.array([_safe(t) for t in facts.timeline.descriptions["text"].tolist()], dtype=object)[log["description"]]
        frame = pd.DataFrame({"id": log["id"], "minute": minute_text(log["minute"]), "text": texts, "count": log["count"]})
        counts = frame["count"].astype(int)
        times = (" (" + counts.astype(str) + " times)").where(counts > 1, "")
        lines = frame["id"].str.pad(7, side="right") + frame["minute"] + "  " + frame["text"] + times
        out.append("\n".join(lines.tolist()))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("block_rows", [2, 16384])
def test_inspect_table_equals_the_table_written_from_the_models_and_a_frame(corpus_dir, tmp_path, block_rows, monkeypatch):
    from pathlib import Path

    from aptnarrate import examples
    from aptnarrate.pipeline import inspect_input
    from aptnarrate.render import inspect as inspect_render

    monkeypatch.setattr(inspect_render, "_BLOCK_ROWS", block_rows)
    one_row = write_ocrapt_csv(tmp_path, [("The subject_process: a\x1b[31m WRITE the file_object_file: x", "2018-04-06 11:00:00")], "one.csv")
    hostile = Path(__file__).resolve().parent / "hostile"
    sources = [examples.path(name) for name in examples.names()] + sorted(corpus_dir.glob("*_subgraph_*.csv"))[:8]
    sources += [one_row, hostile / "control_and_bidi_names.csv", hostile / "markdown_html_names.csv"]
    long_evidence = repeated = 0
    for source in sources:
        facts = inspect_input(source)
        assert inspect_render.render_inspect_table(facts) == _table_from_the_models(facts), source.name
        long_evidence += any(len(c.evidence) > 12 for c in facts.candidates)
        repeated += bool((facts.timeline.log["count"] > 1).any())
    assert long_evidence and repeated  # the cut after 12 ids and "(N times)" are exercised


# --------------------------------------------------------------------------- hostile names


def _safe_per_character(text: str) -> str:
    """``_safe`` as it was written: every character tested on its own."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def test_safe_returns_printable_texts_as_they_are_and_escapes_the_others_per_character():
    """``_safe`` takes a text with only printable characters (every printable code point
    here) as it is, one test for the whole text; a text with any other character equals
    the per-character escape."""
    from aptnarrate.render.inspect import _safe

    printable = "".join(ch for ch in map(chr, range(0x110000)) if ch.isprintable())
    assert _safe(printable) is printable and printable == _safe_per_character(printable)
    for text in ("", " ", "a\x00", "\x7f", "\x85", "\u202e", "name\u00a0", "\ud800", "\U000e0001tag", "\U0010ffff", "x" * 100_000 + "\x1b" + "y"):
        assert _safe(text) == _safe_per_character(text), repr(text[-3:])


_HOSTILE_NAMES = [
    "red\x1b[31m\x1b[0m",  # terminal escapes
    "tab\there\rcr\x7fdel\x85nel\x9bcsi",  # C0, DEL and C1 controls
    "invoice\u202egpj.exe",  # right-to-left override
    "\u2066isolate\u2069\u200bzero\u2028line\u2029para\u00a0nbsp\ufeffbom",
    'quote " and \\ backslash',
    "x" * 5000 + "\x1b" + "\u202e" * 50 + "y" * 5000,  # a very long name
    "名前\U0001f600",
]


@pytest.mark.parametrize("block_rows", [1, 3, 16384])
def test_inspect_formats_equal_the_plain_renderings_for_hostile_names(tmp_path, block_rows, monkeypatch):
    """Control characters, bidi overrides, quotes and very long names, each in several log
    rows (blocks end between them): the table equals the table written from the models and
    the JSON the document written row by row."""
    from test_facts_speed import _plain_document

    from aptnarrate.pipeline import inspect_input
    from aptnarrate.render import inspect as inspect_render

    monkeypatch.setattr(inspect_render, "_BLOCK_ROWS", block_rows)
    rows = [
        (f"The subject_process: {name} WRITE the file_object_file: {other}", f"2018-04-06 11:{minute:02d}:{second:02d}")
        for minute, (name, other) in enumerate(zip(_HOSTILE_NAMES, reversed(_HOSTILE_NAMES)))
        for second in range(minute % 3 + 1)
    ]
    facts = inspect_input(write_ocrapt_csv(tmp_path, rows, "hostile.csv"))
    assert len(facts.timeline.log) == len(_HOSTILE_NAMES)
    table = inspect_render.render_inspect_table(facts)
    assert table == _table_from_the_models(facts)
    assert "\x1b" not in table and "\u202e" not in table and "\\x1b" in table and "\\x202e" in table
    document = inspect_render.render_inspect_json(facts)
    assert document == _plain_document(facts)
    assert "\x1b" not in document and "\\u001b" in document


def test_inspect_formats_equal_the_plain_renderings_on_every_hostile_input_that_reads():
    """Every input of ``tests/hostile`` that reads (the others are refused before any
    rendering): both formats equal the plain renderings."""
    from pathlib import Path

    from test_facts_speed import _plain_document

    from aptnarrate.errors import InputError
    from aptnarrate.pipeline import inspect_input
    from aptnarrate.render.inspect import render_inspect_json, render_inspect_table

    rendered = 0
    for source in sorted((Path(__file__).resolve().parent / "hostile").glob("*.csv")):
        try:
            facts = inspect_input(source)
        except InputError:
            continue
        assert render_inspect_table(facts) == _table_from_the_models(facts), source.name
        assert render_inspect_json(facts) == _plain_document(facts), source.name
        rendered += 1
    assert rendered >= 20


def test_inspect_table_pads_log_ids_to_seven_characters_and_keeps_longer_ones(tmp_path):
    """The table's ids are padded as ``str.ljust(7)``: a log of ten million rows and more
    has ids of eight characters and more, which are written whole (given here by renaming
    a small log's ids)."""
    from dataclasses import replace

    from aptnarrate.pipeline import inspect_input
    from aptnarrate.render.inspect import render_inspect_table

    rows = [(f"The subject_process: p{i} READ the file_object_file: f", f"2018-04-06 11:0{i}:00") for i in range(4)]
    facts = inspect_input(write_ocrapt_csv(tmp_path, rows, "ids.csv"))
    timeline = facts.timeline
    log = timeline.log.take(np.arange(len(timeline.log)))
    log["id"] = np.array(["L1", "L12345", "L1234567", "L12345678"], dtype=object)
    facts = replace(facts, timeline=replace(timeline, log=log))
    table = render_inspect_table(facts)
    assert table == _table_from_the_models(facts)
    assert all(f"\n{line}2018" in table for line in ("L1     ", "L12345 ", "L1234567", "L12345678"))


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("block_rows", [2, 16384])
def test_inspect_streamed_by_the_cli_equals_the_joined_document_redacted(tmp_path, block_rows, fmt, monkeypatch, capsys):
    """``aptnarrate inspect`` streams the log a block of rows at a time as UTF-8 bytes (the
    table, and the JSON document one row per line): to a file and to stdout it writes
    ``redact`` of the joined document, byte for byte (URL credentials in a name masked,
    wherever the blocks end)."""
    from aptnarrate import cli
    from aptnarrate.pipeline import inspect_input
    from aptnarrate.redact import redact
    from aptnarrate.render import inspect as inspect_render

    monkeypatch.setattr(inspect_render, "_BLOCK_ROWS", block_rows)
    flows = ["203.0.113.1:443", "https://user:hunter2@example.com/x", "name\x1bescape", "\u202eevil", "203.0.113.5:80"]
    rows = [(f"The subject_process: curl{i} CONNECT the netflowobject: {flow}", f"2018-04-06 11:0{i}:00") for i, flow in enumerate(flows)]
    source = write_ocrapt_csv(tmp_path, rows, "streamed.csv")
    render = inspect_render.render_inspect_json if fmt == "json" else inspect_render.render_inspect_table
    expected = redact(render(inspect_input(source)))
    assert "hunter2" not in expected and "https://***@example.com/x" in expected
    assert ("\\u001b" if fmt == "json" else "\\x1b") in expected
    if fmt == "json":
        assert [row["id"] for row in json.loads(expected)["timeline"]] == [f"L{i}" for i in range(1, len(flows) + 1)]
    assert cli.main(["inspect", str(source), "--format", fmt, "-o", str(tmp_path / "out.txt")]) == 0
    assert (tmp_path / "out.txt").read_bytes() == expected.encode("utf-8")
    capsys.readouterr()
    assert cli.main(["inspect", str(source), "--format", fmt]) == 0
    assert capsys.readouterr().out == expected
