"""The shipped synthetic examples: loadable, clean, and identical in both layouts."""

from __future__ import annotations

import pytest

from aptnarrate import examples
from aptnarrate.preprocess.condense import condense, minute_text
from aptnarrate.errors import UsageError
from aptnarrate.preprocess.ingest import IngestOptions, read_events
from aptnarrate.models import APT_STAGES

NAMES = examples.names()


def _log_rows(timeline):
    texts = timeline.descriptions["text"]
    log = timeline.log
    return [
        (minute, texts[desc], int(count), int(rows))
        for minute, desc, count, rows in zip(minute_text(log["minute"]), log["description"], log["count"], log["rows"])
    ]


def _read(name, fmt):
    options = IngestOptions(input_format=fmt, timezone=examples.TIMEZONE if fmt == "edges" else "UTC")
    return read_events(examples.path(name, fmt), options)


def test_at_least_two_examples_with_manifest_entries():
    assert {"dropper", "exfil"} <= set(NAMES)
    for entry in examples.manifest()["examples"]:
        assert set(entry["expected_stages"]) <= set(APT_STAGES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fmt", ["ocrapt", "edges"])
def test_example_parses_cleanly(name, fmt):
    table = _read(name, fmt)
    assert table.input_format == fmt
    assert table.skipped_count == 0
    assert 40 <= len(table.events) <= 300
    assert len(table.events) == table.rows_read


@pytest.mark.parametrize("name", NAMES)
def test_both_layouts_give_the_same_condensed_log(name):
    ocrapt = _log_rows(condense(_read(name, "ocrapt")))
    edges = _log_rows(condense(_read(name, "edges")))
    assert ocrapt == edges
    assert any(count > 1 for _, _, count, _ in ocrapt), "expected some '(N times)' rows"
    assert any(rows > count for _, _, count, rows in ocrapt), "expected same-second repeats"
    assert len({minute for minute, *_ in ocrapt}) >= 3, "expected a multi-minute span"


@pytest.mark.parametrize("name", NAMES)
def test_manifest_counts_match_files(name):
    entry = next(e for e in examples.manifest()["examples"] if e["name"] == name)
    timeline = condense(_read(name, "ocrapt"))
    assert entry["rows"] == len(timeline.table.events)
    assert entry["log_entries"] == len(timeline.log)
    minutes = minute_text(timeline.log["minute"])
    assert (entry["first_minute"], entry["last_minute"]) == (minutes[0], minutes[-1])


def test_edge_attrs_are_full_paths_shown_as_basenames():
    table = _read("dropper", "edges")
    triples = table.triples
    row = triples.take(triples["object_value"] == "/tmp/.cache/update.sh").row(0)
    assert row["object_name"] == "update.sh"


def test_dropper_story_is_in_the_log():
    texts = set(condense(_read("dropper", "ocrapt")).descriptions["text"])
    assert "The process: sh MODIFY_FILE_ATTRIBUTES the file: invoice.pdf.sh" in texts
    assert "The process: update.sh CONNECT the flow: 203.0.113.45" in texts


def test_the_windows_example_names_processes_by_their_image_in_both_layouts():
    # OpTC's vocabulary, ISO 8601 times with an offset in the edge list, and image paths
    # under "Program Files" (spaces in a path are not a command line)
    for fmt in ("ocrapt", "edges"):
        texts = set(condense(_read("macro", fmt)).descriptions["text"])
        assert "The process: WINWORD.EXE CREATE the process: powershell.exe" in texts
        assert "The process: msupdate.exe START_OUTBOUND the flow: 203.0.113.60" in texts
        assert "The process: schtasks.exe CREATE the task: MsUpdateCheck" in texts


def test_unknown_example_or_format_is_a_usage_error():
    with pytest.raises(UsageError, match="dropper"):
        examples.path("nope")
    with pytest.raises(UsageError, match="ocrapt"):
        examples.path("dropper", "xml")


def test_every_example_has_a_title():
    assert all(examples.describe(name) for name in NAMES)
    with pytest.raises(UsageError):
        examples.describe("nope")
