"""The speed and memory shortcuts of ingest and condense give what the plain computations give.

* condense hashes each row once into (triple, second) units and groups the units; here it is
  checked against OCR-APT's reduction written plainly with pandas (de-duplicate per
  description and second, group by minute and description), on generated logs that mix
  spellings of one description, same-second repeats and unsorted times, and on every corpus
  case.
* ingest validates UTF-8 in slices (a whole-file decode builds a str up to 4x the file): a
  character split across two slices is valid, and a bad byte is still located exactly.
* ingest hands the file's bytes over instead of keeping them through the build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import corpus_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aptnarrate.errors import InputError
from aptnarrate.preprocess import ingest
from aptnarrate.preprocess.condense import NS_PER_MINUTE, NS_PER_SECOND, condense
from aptnarrate.preprocess.ingest import IngestOptions, read_events, read_events_bytes

MANIFEST = corpus_manifest()


def plain_log(timeline) -> pd.DataFrame:
    """OCR-APT's reduction, row by row in pandas, from the events and each triple's description."""
    events = timeline.table.events
    frame = pd.DataFrame(
        {
            "row": np.arange(len(events)),
            "line": events["line"],
            "time": events["time"],
            "triple": events["triple"],
            "description": timeline.triple_description[events["triple"]],
        }
    )
    frame["second"] = frame["time"] // NS_PER_SECOND
    frame["minute"] = frame["second"] // 60 * NS_PER_MINUTE
    keys = ["minute", "description"]
    grouped = frame.groupby(keys, sort=False)
    log = grouped.agg(
        rows=("row", "size"),
        first_line=("line", "first"),
        first_time=("time", "min"),
        last_time=("time", "max"),
        first_row=("row", "min"),
    )
    log["count"] = frame.drop_duplicates(["description", "second"]).groupby(keys).size()
    text = timeline.descriptions["text"]
    log = log.reset_index()
    log["text"] = text[log["description"]]
    # within a minute: most seconds first, then the text; equal texts keep first appearance
    log = log.sort_values("first_row").sort_values(["minute", "count", "text"], ascending=[True, False, True], kind="stable")
    return log.reset_index(drop=True)


def assert_condensed_as_plain(timeline) -> None:
    expected = plain_log(timeline)
    log = timeline.log
    for column in ("minute", "description", "count", "rows", "first_line", "first_time", "last_time"):
        assert log[column].tolist() == expected[column].tolist(), column
    # every event points at its own log row; unit_rows are the first rows of each (triple, second)
    events = timeline.table.events
    position = {(m, d): i for i, (m, d) in enumerate(zip(log["minute"].tolist(), log["description"].tolist()))}
    seconds = events["time"] // NS_PER_SECOND
    descriptions = timeline.triple_description[events["triple"]]
    assert timeline.event_log.tolist() == [position[(s // 60 * NS_PER_MINUTE, d)] for s, d in zip(seconds.tolist(), descriptions.tolist())]
    first_units = ~pd.DataFrame({"t": events["triple"], "s": seconds}).duplicated().to_numpy()
    assert timeline.unit_rows.tolist() == np.flatnonzero(first_units).tolist()


# two spellings of one description (one triple each), a second process, and an unnamed node
DESCRIPTIONS = (
    "The subject_process: cat READ the file_object_file: /etc/passwd",
    "The subject_process : cat READ the file_object_file : /etc/passwd",
    "The subject_process: sh EXECUTE the file_object_file: /tmp/x.sh",
    "The subject_process: sh CONNECT the netflowobject: 198.51.100.7",
    "A subject_process CLOSE a file_object_file",
)
BASE = pd.Timestamp("2018-04-12 14:27:00")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(0, len(DESCRIPTIONS) - 1), st.integers(0, 200), st.integers(0, 999)),
        min_size=1,
        max_size=60,
    )
)
def test_condense_equals_the_plain_reduction(tmp_path, rows):
    """Same-second repeats, spellings sharing a description, minutes out of order."""
    lines = ["description,timestamp"]
    for description, second, millis in rows:
        stamp = BASE + pd.Timedelta(seconds=second, milliseconds=millis)
        lines.append(f"{DESCRIPTIONS[description]},{stamp.isoformat(sep=' ', timespec='milliseconds')}")
    path = tmp_path / "in.csv"
    path.write_text("\n".join(lines) + "\n")
    assert_condensed_as_plain(condense(read_events(path)))


@pytest.mark.skipif(MANIFEST is None, reason="corpus absent")
def test_condense_equals_the_plain_reduction_on_the_corpus(corpus_dir):
    options = {"csv": IngestOptions(), "edges": IngestOptions(timezone="America/Toronto")}
    checked = 0
    for case in MANIFEST["cases"]:
        for fmt, name in case["files"].items():
            if fmt in options:
                assert_condensed_as_plain(condense(read_events(Path(corpus_dir) / name, options[fmt])))
                checked += 1
    assert checked >= len(MANIFEST["cases"])


def _text_with_char_across_slices(slice_size: int) -> bytes:
    head = "description,timestamp\n"
    name = "a" * (slice_size - len(head) - len("The subject_process: ") - 1)
    # "é" is two bytes: its first byte is the last of the first slice
    line = f"The subject_process: {name}é READ the file_object_file: /etc/passwd,2018-04-12 14:27:20\n"
    data = (head + line + line).encode("utf-8")
    assert data[slice_size - 1 : slice_size + 1] == "é".encode("utf-8")
    return data


def test_utf8_checked_in_slices_accepts_a_character_split_across_them(monkeypatch):
    monkeypatch.setattr(ingest, "_READ_CHUNK", 64)
    table = read_events_bytes(_text_with_char_across_slices(64), "in.csv")
    assert len(table.events) == 2
    assert table.triples["subject_name"].tolist() == ["a" * 20 + "é"]


def test_utf8_checked_in_slices_locates_a_bad_byte_in_a_later_slice(monkeypatch):
    monkeypatch.setattr(ingest, "_READ_CHUNK", 64)
    # header, two good lines (the second past the first slice), then a bad byte on line 4
    bad = _text_with_char_across_slices(64) + b"The subject_process: \xff READ a file_object_file,2018-04-12 14:27:20\n"
    with pytest.raises(InputError) as error:
        read_events_bytes(bad, "in.csv")
    assert (error.value.line, error.value.column) == (4, len("The subject_process: ") + 1)
    assert "0xff" in str(error.value)


def test_read_events_keeps_no_reference_to_the_file_bytes(tmp_path, monkeypatch):
    """The bytes are owned by the reader from the CSV parse on, so they can be freed there."""
    path = tmp_path / "in.csv"
    path.write_text("description,timestamp\n" + f"{DESCRIPTIONS[0]},2018-04-12 14:27:20\n" * 3)
    counts = []
    locate = ingest._locate_lines

    def counting(data, *args):
        # getrefcount's argument, this frame's and the reader's own: nobody else holds them
        counts.append(sys.getrefcount(data))
        return locate(data, *args)

    monkeypatch.setattr(ingest, "_locate_lines", counting)
    read_events(path)
    by_path = counts.pop()
    read_events_bytes(path.read_bytes(), "in.csv")
    assert by_path < counts.pop()  # a caller's bytes stay the caller's
