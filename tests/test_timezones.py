"""--input-timezone: zone-less wall-clock times converted like epoch times are."""

from __future__ import annotations

import pytest
from conftest import corpus_manifest

from aptnarrate.preprocess.condense import condense, minute_text
from aptnarrate.preprocess.ingest import IngestOptions, read_events, read_events_bytes

MANIFEST = corpus_manifest()
CASES = [case["id"] for case in MANIFEST["cases"]] if MANIFEST else ["(corpus absent)"]


def _log(table):
    timeline = condense(table)
    log = timeline.log
    texts = timeline.descriptions["text"][log["description"]]
    return list(zip(minute_text(log["minute"]), texts, log["count"]))


@pytest.mark.parametrize("case", CASES)
def test_wall_clock_csv_converted_to_utc_matches_the_epoch_edge_list(corpus_dir, case):
    wall = read_events(corpus_dir / f"{case}.csv", IngestOptions(input_timezone="America/Toronto", timezone="UTC"))
    epoch = read_events(corpus_dir / f"{case}.edges.csv", IngestOptions(timezone="UTC"))
    assert wall.timezone == "UTC"
    assert wall.time_basis == "wall-clock times in America/Toronto, converted to UTC"
    assert _log(wall) == _log(epoch)


def test_dst_edges_are_resolved_not_dropped():
    data = (
        "description,timestamp\n"
        "A subject_process READ a file_object_file,2018-11-04 01:30:00\n"  # ambiguous in Toronto
        "A subject_process READ a file_object_file,2018-03-11 02:30:00\n"  # does not exist in Toronto
    ).encode()
    table = read_events_bytes(data, "dst.csv", IngestOptions(input_timezone="America/Toronto", timezone="UTC"))
    assert table.skipped_count == 0
    minutes = minute_text(table.events["time"])
    assert minutes == ["2018-11-04 05:30", "2018-03-11 07:00"]  # first (EDT) occurrence; shifted forward


def test_without_input_timezone_wall_clock_is_kept_as_written():
    data = b"description,timestamp\nA subject_process READ a file_object_file,2018-04-11 23:58:01\n"
    table = read_events_bytes(data, "x.csv", IngestOptions(timezone="UTC"))
    assert table.timezone == "as written"
    assert minute_text(table.events["time"]) == ["2018-04-11 23:58"]


MIXED = (
    "description,timestamp\n"
    "A subject_process READ a file_object_file,2018-04-11 23:58:01-04:00\n"
    "A subject_process WRITE a file_object_file,2018-04-11 23:59:30\n"  # no offset: written in --input-timezone
    "A subject_process READ a file_object_file,2018-04-12 04:00:05+00:00\n"
    "A subject_process CLOSE a file_object_file,\n"  # a blank time stays a skipped line
).encode()


def test_times_with_and_without_an_offset_are_each_read_by_their_form_given_input_timezone():
    table = read_events_bytes(MIXED, "mixed.csv", IngestOptions(input_timezone="America/Toronto", timezone="UTC"))
    assert minute_text(table.events["time"]) == ["2018-04-12 03:58", "2018-04-12 03:59", "2018-04-12 04:00"]
    assert table.time_basis == "times with an offset, and wall-clock times in America/Toronto, converted to UTC"
    assert [s.line for s in table.skipped] == [5]


def test_without_input_timezone_a_mix_of_forms_is_refused_with_the_lines_and_the_way_out():
    from aptnarrate.errors import InputError

    with pytest.raises(InputError) as caught:
        read_events_bytes(MIXED, "mixed.csv", IngestOptions(timezone="UTC"))
    assert "line 3 has none, line 2 has one" in str(caught.value)
    assert "--input-timezone" in str(caught.value)
