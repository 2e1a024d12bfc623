"""condense: OCR-APT's minute log (distinct seconds, ordering) with provenance kept."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from aptnarrate.arrays import factorize_ordered_pairs
from aptnarrate.preprocess.condense import condense, describe, minute_text, numbered_ids
from aptnarrate.preprocess.ingest import IngestOptions, read_events

EDGE_HEADER = "subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr"


def timeline_of(tmp_path: Path, rows: list[tuple[str, str]], options: IngestOptions | None = None):
    path = tmp_path / "in.csv"
    pd.DataFrame(rows, columns=["description", "timestamp"]).to_csv(path, index=False)
    return condense(read_events(path, options))


def log_rows(timeline) -> list[tuple[str, str, int]]:
    """(minute, text, count) in log order."""
    texts = timeline.descriptions["text"][timeline.log["description"]]
    return list(zip(minute_text(timeline.log["minute"]), texts, timeline.log["count"].tolist(), strict=True))


READ = "The subject_process: cat READ the file_object_file: /etc/passwd"
SEND = "The subject_process: cat SENDTO the netflowobject: 10.0.0.1:4->198.51.100.7:443"
CLOSE = "A subject_process CLOSE a file_object_file"


def test_same_second_duplicates_count_once(tmp_path):
    timeline = timeline_of(
        tmp_path,
        [(READ, "2018-04-12 14:27:20"), (READ, "2018-04-12 14:27:20"), (READ, "2018-04-12 14:27:20.900")],
    )
    assert log_rows(timeline) == [("2018-04-12 14:27", "The process: cat READ the file: passwd", 1)]
    assert timeline.log["rows"].tolist() == [3]


def test_count_is_distinct_seconds_per_minute(tmp_path):
    timeline = timeline_of(
        tmp_path,
        [
            (READ, "2018-04-12 14:27:01"),
            (READ, "2018-04-12 14:27:01"),
            (READ, "2018-04-12 14:27:02"),
            (READ, "2018-04-12 14:27:59"),
            (READ, "2018-04-12 14:28:00"),  # next minute: a row of its own
        ],
    )
    assert log_rows(timeline) == [
        ("2018-04-12 14:27", "The process: cat READ the file: passwd", 3),
        ("2018-04-12 14:28", "The process: cat READ the file: passwd", 1),
    ]
    assert timeline.log["rows"].tolist() == [4, 1]
    first, last = timeline.log["first_time"][0], timeline.log["last_time"][0]
    assert (first, last) == (pd.Timestamp("2018-04-12 14:27:01").value, pd.Timestamp("2018-04-12 14:27:59").value)


def test_counts_add_up_to_distinct_event_seconds(tmp_path):
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(400):
        text = (READ, SEND, CLOSE)[rng.integers(3)]
        rows.append((text, f"2018-04-12 14:{rng.integers(20, 24):02d}:{rng.integers(0, 60):02d}"))
    timeline = timeline_of(tmp_path, rows)
    distinct = {(text, stamp) for text, stamp in rows}
    assert timeline.log["count"].sum() == len(distinct)
    assert timeline.log["rows"].sum() == len(rows)
    # "(N times)": N = seconds within the minute, so never above 60
    assert ((timeline.log["count"] >= 1) & (timeline.log["count"] <= 60)).all()


def test_order_within_a_minute_is_count_then_text(tmp_path):
    rows = [
        (SEND, "2018-04-12 14:27:05"),
        (CLOSE, "2018-04-12 14:27:01"),
        (CLOSE, "2018-04-12 14:27:02"),
        (READ, "2018-04-12 14:27:03"),
        (CLOSE, "2018-04-12 14:26:59"),
    ]
    assert log_rows(timeline_of(tmp_path, rows)) == [
        ("2018-04-12 14:26", "A process CLOSE a file", 1),
        ("2018-04-12 14:27", "A process CLOSE a file", 2),
        ("2018-04-12 14:27", "The process: cat READ the file: passwd", 1),
        ("2018-04-12 14:27", "The process: cat SENDTO the flow: 198.51.100.7", 1),
    ]


def test_log_ids_and_event_positions(tmp_path):
    timeline = timeline_of(
        tmp_path, [(READ, "2018-04-12 14:27:01"), (CLOSE, "2018-04-12 14:27:02"), (READ, "2018-04-12 14:27:03")]
    )
    assert timeline.log["id"].tolist() == ["L1", "L2"]
    texts = timeline.descriptions["text"][timeline.log["description"]]
    # every event points at the log row describing it
    for event, position in enumerate(timeline.event_log):
        triple = timeline.table.events["triple"][event]
        assert texts[position] == timeline.descriptions["text"][timeline.triple_description[triple]]


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 12345, 100000, 100001])
def test_numbered_ids_are_the_formatted_numbers(n):
    ids = numbered_ids(n)
    ids.validate(full=True)
    assert ids.to_pylist() == [f"L{i}" for i in range(1, n + 1)]


def test_lines_of_returns_every_line_behind_a_row(tmp_path):
    timeline = timeline_of(
        tmp_path,
        [
            (READ, "2018-04-12 14:27:01"),  # line 2
            (CLOSE, "2018-04-12 14:27:01"),  # line 3
            (READ, "2018-04-12 14:27:01"),  # line 4: same-second repeat
            (READ, "2018-04-12 14:27:09"),  # line 5
            (READ, "2018-04-12 14:28:00"),  # line 6: next minute
        ],
    )
    rows = log_rows(timeline)
    read_27 = rows.index(("2018-04-12 14:27", "The process: cat READ the file: passwd", 2))
    assert timeline.lines_of(read_27) == [2, 4, 5]
    assert timeline.log["first_line"][read_27] == 2
    assert timeline.lines_of(rows.index(("2018-04-12 14:27", "A process CLOSE a file", 1))) == [3]
    assert timeline.lines_of(len(rows) - 1) == [6]


def test_triples_of_keeps_entity_ids(tmp_path):
    # two processes named bash (different uuids, different paths) read one file: one log row
    text = (
        f"{EDGE_HEADER}\n"
        "P1,SUBJECT_PROCESS,/bin/bash,EVENT_READ,1523557640000000000,F1,FILE_OBJECT_FILE,/etc/passwd\n"
        "P2,SUBJECT_PROCESS,/usr/local/bin/bash,EVENT_READ,1523557641000000000,F1,FILE_OBJECT_FILE,/etc/passwd\n"
        "P1,SUBJECT_PROCESS,/bin/bash,EVENT_READ,1523557642000000000,F1,FILE_OBJECT_FILE,/etc/passwd\n"
    )
    path = tmp_path / "e.csv"
    path.write_text(text)
    timeline = condense(read_events(path))
    assert log_rows(timeline) == [("2018-04-12 18:27", "The process: bash READ the file: passwd", 3)]
    triples = timeline.triples_of(0)
    assert sorted(triples["subject_id"]) == ["P1", "P2"]
    assert sorted(triples["subject_value"]) == ["/bin/bash", "/usr/local/bin/bash"]
    assert set(triples["object_id"]) == {"F1"}


def test_same_event_in_one_second_from_two_entities_counts_once(tmp_path):
    text = (
        f"{EDGE_HEADER}\n"
        "P1,SUBJECT_PROCESS,/bin/bash,EVENT_READ,1523557640000000000,F1,FILE_OBJECT_FILE,/etc/passwd\n"
        "P2,SUBJECT_PROCESS,/bin/bash,EVENT_READ,1523557640500000000,F1,FILE_OBJECT_FILE,/etc/passwd\n"
    )
    path = tmp_path / "e.csv"
    path.write_text(text)
    timeline = condense(read_events(path))
    assert timeline.log["count"].tolist() == [1] and timeline.log["rows"].tolist() == [2]
    assert len(timeline.triples_of(0)) == 2


def test_edges_with_timezone_equal_wall_clock_strings(tmp_path):
    zone = ZoneInfo("America/Toronto")
    rng = np.random.default_rng(3)
    events = [
        ("S", "subject_process", "/usr/bin/cat", "READ", "file_object_file", "/etc/passwd"),
        ("S", "subject_process", "/usr/bin/cat", "SENDTO", "netflowobject", "10.0.0.1:4->198.51.100.7:443"),
        ("U", "subject_process", "", "CLOSE", "file_object_file", ""),
    ]
    base = pd.Timestamp("2018-11-04 04:58:00", tz="UTC").value  # 00:58 EDT: spans the repeated DST hour
    ocr_rows, edge_rows = [], []
    for _ in range(300):
        s_id, s_type, s_attr, action, o_type, o_attr = events[rng.integers(len(events))]
        ns = int(base + rng.integers(0, 3 * 3600) * 10**9 + rng.integers(0, 10**9))
        local = pd.Timestamp(ns, tz="UTC").tz_convert(zone)
        subject = f"The {s_type}: {s_attr}" if s_attr else f"A {s_type}"
        obj = f"the {o_type}: {o_attr}" if o_attr else f"a {o_type}"
        ocr_rows.append((f"{subject} {action} {obj}", local.strftime("%Y-%m-%d %H:%M:%S")))
        edge_rows.append(
            (f"{s_id}-{s_attr}", s_type.upper(), s_attr, f"EVENT_{action}", ns, f"O-{o_attr}", o_type.upper(), o_attr)
        )
    edges_path = tmp_path / "e.csv"
    pd.DataFrame(edge_rows, columns=EDGE_HEADER.split(",")).to_csv(edges_path, index=False)
    from_edges = condense(read_events(edges_path, IngestOptions(timezone="America/Toronto")))
    from_text = timeline_of(tmp_path, ocr_rows)
    assert log_rows(from_edges) == log_rows(from_text)
    assert len(log_rows(from_text)) > 20


def test_describe_wording():
    assert describe("process", "mail", "CONNECT", "flow", "") == "The process: mail CONNECT a flow"
    assert describe("process", "", "MMAP", "memory", "") == "A process MMAP a memory"
    assert describe("unit", "", "READ", "file", "x") == "A unit READ the file: x"
    assert describe("process", "", "OPEN", "ipc", "") == "A process OPEN an ipc"


FIRST_MINUTE = pd.Timestamp.min.ceil("min").value  # 1677-09-21 00:13
LAST_MINUTE = pd.Timestamp.max.floor("min").value  # 2262-04-11 23:47


@pytest.mark.parametrize(
    "minutes",
    [
        [0],
        [1523557620 * 10**9, 1523557680 * 10**9],
        [FIRST_MINUTE, LAST_MINUTE, -60 * 10**9, 951782400 * 10**9],  # the range's ends, before 1970, a 29 February
        (np.random.default_rng(7).integers(FIRST_MINUTE // 60_000_000_000, LAST_MINUTE // 60_000_000_000, 2000) * 60_000_000_000).tolist(),
    ],
)
def test_minute_text(minutes):
    texts = minute_text(np.array(minutes, dtype=np.int64))
    assert texts == [pd.Timestamp(m).strftime("%Y-%m-%d %H:%M") for m in minutes]


def test_rows_out_of_time_order_condense_as_the_same_rows_in_order(tmp_path):
    # rows in time order take a sort, others a hash: the two must build the same log
    rng = np.random.default_rng(11)
    rows = [
        ((READ, SEND, CLOSE)[rng.integers(3)], f"2018-04-12 14:{rng.integers(20, 30):02d}:{rng.integers(0, 60):02d}")
        for _ in range(600)
    ]
    in_order = sorted(rows, key=lambda row: row[1])
    shuffled = timeline_of(tmp_path, rows)
    events = shuffled.table.events
    assert factorize_ordered_pairs(events["triple"], events["time"]) is None  # so this one hashed
    ordered = timeline_of(tmp_path, in_order)
    assert log_rows(shuffled) == log_rows(ordered)
    assert shuffled.log["rows"].tolist() == ordered.log["rows"].tolist()
    assert len(shuffled.unit_rows) == len(ordered.unit_rows) == len(set(rows))
