"""ingest.read_events: description grammar, edge lists, timestamps, options and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aptnarrate.errors import InputError, UsageError
from aptnarrate.preprocess.ingest import WALL_CLOCK_BASIS, IngestOptions, read_events, read_events_bytes

EDGE_HEADER = "subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr"


def write(tmp_path: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def ocrapt(tmp_path: Path, *rows: str, options: IngestOptions | None = None):
    """Read an OCR-APT file of ``description,timestamp`` rows (each row given whole)."""
    return read_events(write(tmp_path, "description,timestamp\n" + "".join(r + "\n" for r in rows)), options)


def one_triple(table) -> dict:
    assert len(table.triples) == 1
    return table.triples.row(0)


def wall(text: str) -> int:
    return int(pd.Timestamp(text).value)


# --------------------------------------------------------------------------- description grammar

TC3_TYPES = {
    "subject_process": "process",
    "file_object_file": "file",
    "file_object_dir": "directory",
    "file_object_unix_socket": "socket",
    "file_object_block": "device",
    "file_object_char": "device",
    "file_object_link": "link",
    "netflowobject": "flow",
    "unnamedpipeobject": "pipe",
    "memoryobject": "memory",
    "srcsink_unknown": "srcsink",
    "subject_unit": "unit",
}
OPTC_TYPES = {
    "process": "process",
    "file": "file",
    "flow": "flow",
    "module": "module",
    "registry": "registry",
    "thread": "thread",
    "shell": "shell",
    "task": "task",
}
NODLINK_TYPES = {"process": "process", "net": "flow", "file": "file"}


@pytest.mark.parametrize(
    ("subject_word", "word", "kind"),
    [("subject_process", w, k) for w, k in TC3_TYPES.items()]
    + [("process", w, k) for w, k in OPTC_TYPES.items()]
    + [("process", w, k) for w, k in NODLINK_TYPES.items()],
)
def test_every_raw_type_word_named_and_unnamed(tmp_path, subject_word, word, kind):
    named = ocrapt(tmp_path, f"The {subject_word}: tool READ the {word}: thing,2018-04-12 10:00:01")
    t = one_triple(named)
    assert (t["subject_kind"], t["subject_name"], t["action"]) == ("process", "tool", "READ")
    assert (t["object_kind"], t["object_name"], t["object_value"]) == (kind, "thing", "thing")
    unnamed = ocrapt(tmp_path, f"A {subject_word} READ a {word},2018-04-12 10:00:01")
    t = one_triple(unnamed)
    assert (t["subject_kind"], t["subject_name"], t["object_kind"], t["object_name"]) == ("process", "", kind, "")
    assert t["subject_id"] != t["object_id"]


def test_article_an_and_subject_types_other_than_process(tmp_path):
    table = ocrapt(tmp_path, "An subject_unit FORK an unnamedpipeobject,2018-04-12 10:00:01")
    t = one_triple(table)
    assert (t["subject_kind"], t["action"], t["object_kind"]) == ("unit", "FORK", "pipe")


def test_optc_module_load(tmp_path):
    t = one_triple(ocrapt(tmp_path, "The process: svchost.exe LOAD the module: wininet.dll,2019-09-23 11:00:00"))
    assert (t["subject_name"], t["action"], t["object_kind"], t["object_name"]) == (
        "svchost.exe",
        "LOAD",
        "module",
        "wininet.dll",
    )


def test_names_with_spaces_colons_and_windows_paths(tmp_path):
    table = ocrapt(
        tmp_path,
        r'"The process: C:\Windows\System32\cmd.exe WRITE the file: C:\Users\Bob Smith\My Docs\a: b.txt",'
        "2019-09-23 11:00:00",
    )
    t = one_triple(table)
    assert t["subject_value"] == r"C:\Windows\System32\cmd.exe"
    assert t["subject_name"] == "cmd.exe"
    assert t["object_value"] == r"C:\Users\Bob Smith\My Docs\a: b.txt"
    assert t["object_name"] == "a: b.txt"


def test_a_name_ending_in_a_unicode_blank_is_another_name(tmp_path):
    # a no-break or ideographic space after ls is another file: trimming every Unicode blank
    # made the attacker's ls the system's, and a known program (a robustness probe's finding)
    table = ocrapt(
        tmp_path,
        "The subject_process: bash EXECUTE the file_object_file: /usr/bin/ls,2018-04-12 10:00:00\n"
        "The subject_process: dropper WRITE the file_object_file: /usr/bin/ls\u00a0,2018-04-12 10:00:01\n"
        "The subject_process: sshd\u3000 READ the file_object_file: passwd ,2018-04-12 10:00:02",
    )
    triples = table.triples
    assert set(triples["object_value"]) == {"/usr/bin/ls", "/usr/bin/ls\u00a0", "passwd"}  # ASCII padding still trimmed
    assert "sshd\u3000" in set(triples["subject_name"])
    from aptnarrate.preprocess.knowledge import lookup

    assert lookup("sshd\u3000", "process") is None and lookup("sshd", "process") is not None


def test_an_edge_list_name_ending_in_a_unicode_blank_is_another_name(tmp_path):
    path = write(
        tmp_path,
        f"{EDGE_HEADER}\n"
        "p1,SUBJECT_PROCESS,/bin/bash,EVENT_EXECUTE,1523505600000000000,f1,FILE_OBJECT_FILE,/usr/bin/ls\n"
        "p2,SUBJECT_PROCESS,/tmp/dropper,EVENT_WRITE,1523505601000000000,f2,FILE_OBJECT_FILE, /usr/bin/ls\u00a0\n",
        "in.edges.csv",
    )
    triples = read_events(path).triples
    assert set(triples["object_value"]) == {"/usr/bin/ls", "/usr/bin/ls\u00a0"}  # the ASCII space trimmed


def test_subject_name_with_spaces_and_upper_case_words(tmp_path):
    t = one_triple(
        ocrapt(tmp_path, "The subject_process: MY TOOL v2 READ the file_object_file: /etc/passwd,2018-04-12 10:00:00")
    )
    assert (t["subject_name"], t["action"], t["object_name"], t["object_value"]) == (
        "MY TOOL v2",
        "READ",
        "passwd",
        "/etc/passwd",
    )


@pytest.mark.parametrize(
    ("value", "remote"),
    [
        ("10.0.3.7:51000->198.51.100.23:443", "198.51.100.23"),
        ("198.51.100.23:443->127.0.0.1:8080", "198.51.100.23"),
        ("128.55.12.73", "128.55.12.73"),
    ],
)
def test_flow_named_by_remote_address(tmp_path, value, remote):
    t = one_triple(ocrapt(tmp_path, f"The process: curl CONNECT the net: {value},2018-04-12 10:00:00"))
    assert (t["object_kind"], t["object_name"], t["object_value"]) == ("flow", remote, value)


@pytest.mark.parametrize(
    "description",
    ["The subject_process: x", "something happened", "The subject_process: x read the file_object_file: y"],
)
def test_unparseable_description_is_skipped_with_line_and_column(tmp_path, description):
    table = ocrapt(
        tmp_path,
        "The subject_process: a READ the file_object_file: b,2018-04-12 10:00:00",
        f"{description},2018-04-12 10:00:01",
    )
    assert table.skipped_count == 1
    skip = table.skipped[0]
    assert (skip.line, skip.column, skip.reason) == (3, "description", "unparseable description")
    assert table.events["line"].tolist() == [2]


def test_a_file_of_lower_case_actions_says_what_the_wording_is(tmp_path):
    # every line rejected for its wording: the error says the expected form, once
    with pytest.raises(InputError) as err:
        ocrapt(
            tmp_path,
            "The subject_process: bash read the file_object_file: /etc/passwd,2018-04-12 10:00:00",
            "The subject_process: bash write the file_object_file: /tmp/x,2018-04-12 10:00:01",
        )
    message = str(err.value)
    assert "in.csv:2" in message and "every data line was rejected (2 line(s))" in message
    assert "ACTION in capitals" in message and "ACTION the <type>: <name>" in message


def test_unparseable_description_strict_raises(tmp_path):
    with pytest.raises(InputError) as err:
        ocrapt(
            tmp_path,
            "The subject_process: a READ the file_object_file: b,2018-04-12 10:00:00",
            "gibberish,2018-04-12 10:00:01",
            options=IngestOptions(strict=True),
        )
    assert err.value.line == 3 and err.value.column == "description"
    assert "in.csv:3" in str(err.value) and "unparseable description" in str(err.value)


# --------------------------------------------------------------------------- edge lists


@pytest.mark.parametrize(
    ("subject_type", "predicate", "object_type"),
    [
        ("SUBJECT_PROCESS", "EVENT_READ", "FILE_OBJECT_FILE"),
        ("SUBJECT_PROCESS", "READ", "FILE_OBJECT_FILE"),
        ("subject_process", "read", "file_object_file"),
        (
            "http://darpa.mil/tc3#SUBJECT_PROCESS",
            "https://ocr-apt.example/pred/EVENT_READ",
            "http://darpa.mil/tc3/FILE_OBJECT_FILE",
        ),
    ],
)
def test_edge_list_types_and_predicates(tmp_path, subject_type, predicate, object_type):
    text = (
        f"{EDGE_HEADER}\nS1,{subject_type},/usr/bin/cat,{predicate},1523541600000000000,O1,{object_type},/etc/passwd\n"
    )
    table = read_events(write(tmp_path, text))
    assert table.input_format == "edges"
    t = one_triple(table)
    assert (t["subject_id"], t["subject_kind"], t["subject_name"]) == ("S1", "process", "cat")
    assert (t["action"], t["object_id"], t["object_kind"], t["object_name"]) == ("READ", "O1", "file", "passwd")
    assert table.events["time"].tolist() == [wall("2018-04-12 14:00:00")]


def test_edge_list_unnamed_nodes_keep_their_uuid(tmp_path):
    text = f"{EDGE_HEADER}\nS1,SUBJECT_PROCESS,,EVENT_FORK,1523541600000000000,S2,SUBJECT_PROCESS,\n"
    t = one_triple(read_events(write(tmp_path, text)))
    assert (t["subject_id"], t["subject_name"], t["object_id"], t["object_name"]) == ("S1", "", "S2", "")


def test_edge_row_with_wrong_field_count_is_skipped(tmp_path):
    text = (
        f"{EDGE_HEADER}\n"
        "S1,SUBJECT_PROCESS,a,EVENT_READ,1523541600000000000,O1,FILE_OBJECT_FILE,x\n"
        "S1,SUBJECT_PROCESS,a,EVENT_READ,1523541601000000000,O1\n"
        "S1,SUBJECT_PROCESS,a,EVENT_WRITE,1523541602000000000,O1,FILE_OBJECT_FILE,x\n"
    )
    table = read_events(write(tmp_path, text))
    assert table.events["line"].tolist() == [2, 4]
    assert table.skipped_count == 1
    assert table.skipped[0].line == 3 and "expected 8 fields, found 6" in table.skipped[0].reason
    with pytest.raises(InputError) as err:
        read_events(write(tmp_path, text), IngestOptions(strict=True))
    assert err.value.line == 3 and "in.csv:3" in str(err.value)


def test_edge_row_missing_predicate_is_skipped(tmp_path):
    text = (
        f"{EDGE_HEADER}\n"
        "S1,SUBJECT_PROCESS,a,,1523541600000000000,O1,FILE_OBJECT_FILE,x\n"
        "S1,SUBJECT_PROCESS,a,EVENT_WRITE,1523541602000000000,O1,FILE_OBJECT_FILE,x\n"
    )
    table = read_events(write(tmp_path, text))
    assert table.events["line"].tolist() == [3]
    assert (table.skipped[0].line, table.skipped[0].column) == (2, "predicate")


def test_edge_rows_skipped_for_their_time_or_a_blank_part_keep_their_text_and_first_reason(tmp_path):
    # the text columns are freed before the edges are numbered: each skipped row's text,
    # timestamp as written included, is taken first; a row with a bad time and a blank
    # part is skipped for its time (the first reason checked), as before
    text = (
        f"{EDGE_HEADER}\n"
        "S1,SUBJECT_PROCESS,a,EVENT_READ,soon,O1,FILE_OBJECT_FILE,x\n"
        "S1,SUBJECT_PROCESS,a,EVENT_READ,1523541601000000000,O1, ,x\n"
        "S1,,a,EVENT_READ,later,O1,FILE_OBJECT_FILE,x\n"
        "S1,SUBJECT_PROCESS,a,EVENT_WRITE,1523541602000000000,O1,FILE_OBJECT_FILE,x\n"
    )
    table = read_events(write(tmp_path, text))
    assert table.events["line"].tolist() == [5]
    assert [(s.line, s.column, s.reason, s.text) for s in table.skipped] == [
        (2, "timestamp", "unparseable timestamp", "S1,SUBJECT_PROCESS,a,EVENT_READ,soon,O1,FILE_OBJECT_FILE,x"),
        (3, "predicate", "missing predicate or node type", "S1,SUBJECT_PROCESS,a,EVENT_READ,1523541601000000000,O1, ,x"),
        (4, "timestamp", "unparseable timestamp", "S1,,a,EVENT_READ,later,O1,FILE_OBJECT_FILE,x"),
    ]
    assert table.triples["action"].tolist() == ["WRITE"]


def test_an_edge_lists_text_columns_are_freed_before_its_edges_are_numbered(tmp_path, monkeypatch):
    """The parsed text columns (a third of the file, the timestamps half of that) were alive
    while the edges were numbered, the 10M-row edge list's ingest memory peak."""
    import weakref

    from aptnarrate.preprocess import ingest

    text = f"{EDGE_HEADER}\n" + "S1,SUBJECT_PROCESS,a,EVENT_READ,1523541601000000000,O1,FILE_OBJECT_FILE,x\n" * 3
    columns_seen, alive_when_numbered = [], []
    key_parts, triples = ingest._EdgeCodes.key_parts.__func__, ingest._EdgeCodes.triples

    def noting_columns(cls, columns):
        columns_seen.extend(weakref.ref(column) for column in columns.values())
        return key_parts(cls, columns)

    def noting_alive(self):
        alive_when_numbered.append(sum(ref() is not None for ref in columns_seen))
        return triples(self)

    monkeypatch.setattr(ingest._EdgeCodes, "key_parts", classmethod(noting_columns))
    monkeypatch.setattr(ingest._EdgeCodes, "triples", noting_alive)
    table = read_events(write(tmp_path, text))
    assert len(table.events) == 3 and len(columns_seen) == 8
    assert alive_when_numbered == [0]


# --------------------------------------------------------------------------- timestamps


def test_wall_clock_strings_are_kept_as_written_whatever_the_timezone(tmp_path):
    row = "A subject_process READ a file_object_file,2018-04-12 14:27:20"
    for zone in ("UTC", "America/Toronto", "Asia/Tokyo"):
        table = ocrapt(tmp_path, row, options=IngestOptions(timezone=zone))
        assert table.events["time"].tolist() == [wall("2018-04-12 14:27:20")]
        assert table.time_basis == WALL_CLOCK_BASIS and table.timezone == "as written"


@pytest.mark.parametrize(
    "stamp",
    ["2018-04-12T18:27:20Z", "2018-04-12T18:27:20+00:00", "2018-04-12T20:27:20+02:00", "2018-04-12 14:27:20-0400"],
)
def test_iso_timestamps_with_offsets_are_converted(tmp_path, stamp):
    table = ocrapt(
        tmp_path,
        f"A subject_process READ a file_object_file,{stamp}",
        options=IngestOptions(timezone="America/Toronto"),
    )
    assert table.events["time"].tolist() == [wall("2018-04-12 14:27:20")]
    assert "America/Toronto" in table.time_basis


INSTANT = 1523557640  # 2018-04-12 18:27:20 UTC = 14:27:20 in Toronto (EDT)


@pytest.mark.parametrize(
    "stamp",
    [
        str(INSTANT),
        str(INSTANT * 10**3 + 250),
        str(INSTANT * 10**6 + 250_000),
        str(INSTANT * 10**9 + 250_000_000),
        f"{INSTANT}.25",
    ],
)
def test_epochs_unit_inferred_from_magnitude(tmp_path, stamp):
    table = ocrapt(
        tmp_path,
        f"A subject_process READ a file_object_file,{stamp}",
        options=IngestOptions(timezone="America/Toronto"),
    )
    expected = wall("2018-04-12 14:27:20") + (0 if stamp == str(INSTANT) else 250_000_000)
    assert table.events["time"].tolist() == [expected]


def test_epoch_unit_override(tmp_path):
    # 1523557640 read as milliseconds is 1970-01-18 15:12:37.640 UTC
    table = ocrapt(
        tmp_path, f"A subject_process READ a file_object_file,{INSTANT}", options=IngestOptions(epoch_unit="ms")
    )
    assert table.events["time"].tolist() == [wall("1970-01-18 15:12:37.640")]


def test_epochs_across_a_dst_change(tmp_path):
    # 2018-11-04 05:30 UTC is 01:30 EDT; 06:30 UTC is 01:30 EST: the wall clock repeats
    first, second = 1541309400, 1541313000
    table = ocrapt(
        tmp_path,
        f"A subject_process READ a file_object_file,{first}",
        f"A subject_process READ a file_object_file,{second}",
        options=IngestOptions(timezone="America/Toronto"),
    )
    assert table.events["time"].tolist() == [wall("2018-11-04 01:30:00")] * 2


def test_unparseable_timestamp_is_skipped_and_counted(tmp_path):
    table = ocrapt(
        tmp_path,
        "A subject_process READ a file_object_file,2018-04-12 14:27:20",
        "A subject_process READ a file_object_file,not a time",
        "A subject_process READ a file_object_file,",
        "A subject_process WRITE a file_object_file,2018-04-12 14:27:21",
    )
    assert table.events["line"].tolist() == [2, 5]
    assert table.skipped_count == 2
    assert [(s.line, s.column, s.reason) for s in table.skipped] == [
        (3, "timestamp", "unparseable timestamp"),
        (4, "timestamp", "unparseable timestamp"),
    ]


@pytest.mark.parametrize(
    "odd",
    [
        ["2018-04-12 14:27-1:15"],  # one offset form the offset check does not take
        ["2018-04-12T14:27:21+1", "2018-04-12 14:27:22-01"],  # two of them, different offsets
    ],
)
def test_an_offset_in_a_form_not_taken_among_zone_less_times_is_an_unparseable_line(tmp_path, odd):
    # pandas reads these with a UTC offset: they cannot join wall-clock times (it raised an
    # internal TypeError or ValueError instead of skipping the line)
    table = ocrapt(
        tmp_path,
        "A subject_process READ a file_object_file,2018-04-12 14:27:20",
        "A subject_process READ a file_object_file,2018-04-12T14:27:30",
        *[f"A subject_process WRITE a file_object_file,{t}" for t in odd],
    )
    assert table.events["line"].tolist() == [2, 3]
    assert [(s.column, s.reason) for s in table.skipped] == [("timestamp", "unparseable timestamp")] * len(odd)


def test_unparseable_timestamp_strict_names_first_bad_line(tmp_path):
    with pytest.raises(InputError) as err:
        ocrapt(
            tmp_path,
            "A subject_process READ a file_object_file,2018-04-12 14:27:20",
            "A subject_process READ a file_object_file,yesterday",
            "A subject_process READ a file_object_file,tomorrow",
            options=IngestOptions(strict=True),
        )
    assert (err.value.line, err.value.column) == (3, "timestamp")
    assert "2 bad lines" in str(err.value)


def test_mixed_aware_and_naive_timestamps_raise(tmp_path):
    with pytest.raises(InputError) as err:
        ocrapt(
            tmp_path,
            "A subject_process READ a file_object_file,2018-04-12 14:27:20",
            "A subject_process READ a file_object_file,2018-04-12T14:27:21Z",
        )
    message = str(err.value)
    assert "in.csv" in message and "line 2" in message and "line 3" in message
    assert err.value.column == "timestamp"


# --------------------------------------------------------------------------- options and sources


def test_column_mapping(tmp_path):
    path = write(tmp_path, "when,desc\n2018-04-12 14:27:20,A subject_process READ a file_object_file\n")
    table = read_events(path, IngestOptions(columns={"description": "desc", "timestamp": "when"}))
    assert table.input_format == "ocrapt"
    assert one_triple(table)["action"] == "READ"
    assert table.events["line"].tolist() == [2]


def test_column_mapping_unknown_role_is_a_usage_error(tmp_path):
    path = write(tmp_path, "description,timestamp\nA subject_process READ a file_object_file,2018-04-12 14:27:20\n")
    with pytest.raises(UsageError):
        read_events(path, IngestOptions(columns={"descr": "x"}))


def test_format_override(tmp_path):
    # a file carrying both layouts' columns: auto picks edges, the override picks ocrapt
    text = (
        f"{EDGE_HEADER},description\n"
        "S1,SUBJECT_PROCESS,a,EVENT_READ,1523541600000000000,O1,FILE_OBJECT_FILE,x,"
        "The subject_process: b WRITE the file_object_file: y\n"
    )
    path = write(tmp_path, text)
    assert one_triple(read_events(path))["action"] == "READ"
    table = read_events(path, IngestOptions(input_format="ocrapt"))
    assert table.input_format == "ocrapt"
    assert (one_triple(table)["action"], one_triple(table)["subject_name"]) == ("WRITE", "b")
    with pytest.raises(InputError) as err:
        read_events(write(tmp_path, "description,timestamp\nx,1\n"), IngestOptions(input_format="edges"))
    assert err.value.line == 1 and "unrecognised header" in str(err.value)


def test_dataframe_input_matches_file_input(tmp_path):
    rows = [
        ("The subject_process: a READ the file_object_file: /x/b", "2018-04-12 14:27:20"),
        ("A subject_process CLOSE a file_object_file", "2018-04-12 14:27:21"),
    ]
    frame = pd.DataFrame(rows, columns=["description", "timestamp"])
    from_frame = read_events(frame)
    path = tmp_path / "f.csv"
    frame.to_csv(path, index=False)
    from_file = read_events(path)
    pd.testing.assert_frame_equal(from_frame.events.to_pandas(), from_file.events.to_pandas())
    pd.testing.assert_frame_equal(from_frame.triples.to_pandas(), from_file.triples.to_pandas())
    assert from_frame.events["line"].tolist() == [2, 3]


def test_byte_order_mark_is_ignored(tmp_path):
    table = read_events(
        write(tmp_path, b"\xef\xbb\xbfdescription,timestamp\nA subject_process READ a file_object_file,1\n")
    )
    assert len(table.events) == 1


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as err:
        read_events(tmp_path / "nope.csv")
    assert "nope.csv" in str(err.value) and "not found" in str(err.value)
    assert err.value.exit_code == 3


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(InputError, match="directory"):
        read_events(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"   \n"])
def test_empty_file(tmp_path, content):
    with pytest.raises(InputError) as err:
        read_events(write(tmp_path, content))
    assert "in.csv" in str(err.value) and "empty" in str(err.value)


@pytest.mark.parametrize("content", ["description,timestamp\n", "description,timestamp", EDGE_HEADER + "\n"])
def test_header_only(tmp_path, content):
    with pytest.raises(InputError) as err:
        read_events(write(tmp_path, content))
    assert err.value.path.endswith("in.csv") and err.value.line == 1
    assert "header only" in str(err.value)


def test_unknown_header(tmp_path):
    with pytest.raises(InputError) as err:
        read_events(write(tmp_path, "foo,bar\n1,2\n"))
    assert err.value.line == 1 and "in.csv:1" in str(err.value) and "foo,bar" in str(err.value)


def test_undecodable_bytes_name_line_and_column(tmp_path):
    content = (
        b"description,timestamp\n"
        b"A subject_process READ a file_object_file,1\n"
        b"The subject_process: caf\xe9 READ a file_object_file,2\n"
    )
    with pytest.raises(InputError) as err:
        read_events(write(tmp_path, content))
    assert (err.value.line, err.value.column) == (3, 25)
    assert "in.csv:3:25" in str(err.value) and "0xe9" in str(err.value)


def test_unquoted_comma_in_description_is_recovered(tmp_path):
    table = ocrapt(
        tmp_path,
        "The subject_process: a READ the file_object_file: x,2018-04-12 14:27:20",
        "The subject_process: a WRITE the file_object_file: report, final.doc,2018-04-12 14:27:21",
        "The subject_process: a CLOSE the file_object_file: x,2018-04-12 14:27:22",
    )
    assert table.events["line"].tolist() == [2, 3, 4]
    assert table.skipped_count == 0
    by_action = table.triples.to_pandas().set_index("action")
    assert by_action.loc["WRITE", "object_value"] == "report, final.doc"
    times = dict(zip(table.events["line"], table.events["time"], strict=True))
    assert times[3] == wall("2018-04-12 14:27:21")


def test_quoted_newline_keeps_later_line_numbers_right(tmp_path):
    table = ocrapt(
        tmp_path,
        "The subject_process: a READ the file_object_file: x,2018-04-12 14:27:20",
        '"The subject_process: a WRITE the file_object_file: two\nlines",2018-04-12 14:27:21',
        "The subject_process: a CLOSE the file_object_file: x,2018-04-12 14:27:22",
        "bad row,2018-04-12 14:27:23",
    )
    assert table.events["line"].tolist() == [2, 3, 5]
    assert table.skipped[0].line == 6
    written = table.triples.to_pandas().set_index("action").loc["WRITE", "object_value"]
    assert written == "two\nlines"


def test_blank_lines_keep_line_numbers_physical(tmp_path):
    content = (
        "description,timestamp\n"
        "A subject_process READ a file_object_file,2018-04-12 14:27:20\n"
        "\n"
        "A subject_process WRITE a file_object_file,2018-04-12 14:27:21\n"
    )
    table = read_events(write(tmp_path, content))
    assert table.events["line"].tolist() == [2, 4]


def test_crlf_line_endings(tmp_path):
    content = (
        "description,timestamp\r\n"
        "A subject_process READ a file_object_file,2018-04-12 14:27:20\r\n"
        "A subject_process WRITE a file_object_file,2018-04-12 14:27:21\r\n"
    )
    table = read_events(write(tmp_path, content))
    assert table.events["line"].tolist() == [2, 3]
    assert sorted(table.triples["action"]) == ["READ", "WRITE"]


def test_every_line_bad_raises_with_first_line(tmp_path):
    with pytest.raises(InputError) as err:
        ocrapt(tmp_path, "nonsense,2018-04-12 14:27:20", "more nonsense,2018-04-12 14:27:21")
    assert err.value.line == 2 and "no usable event" in str(err.value)


def test_bytes_entry_point_names_the_source():
    with pytest.raises(InputError) as err:
        read_events_bytes(b"", "<stdin>")
    assert str(err.value).startswith("<stdin>")


def test_line_numbers_are_physical_in_a_large_file(tmp_path):
    rows = [
        f"The subject_process: p{i % 7} READ the file_object_file: f{i % 11},2018-04-12 14:{i // 60:02d}:{i % 60:02d}"
        for i in range(3000)
    ]
    rows[1234] = "garbage,2018-04-12 14:00:00"
    table = ocrapt(tmp_path, *rows)
    lines = table.events["line"]
    assert len(lines) == 2999 and table.skipped[0].line == 1236
    assert np.array_equal(lines, np.delete(np.arange(2, 3002), 1234))


def test_dataframe_missing_values_are_skipped_not_crashing():
    frame = pd.DataFrame(
        {
            "description": [
                "A subject_process READ a file_object_file",
                None,
                "A subject_process WRITE a file_object_file",
            ],
            "timestamp": ["2018-04-12 14:27:20", "2018-04-12 14:27:21", None],
        }
    )
    table = read_events(frame)
    assert table.events["line"].tolist() == [2]
    assert [(s.line, s.column) for s in table.skipped] == [(3, "description"), (4, "timestamp")]


def test_dataframe_with_aware_datetimes_is_converted():
    stamps = pd.to_datetime(["2018-04-12 18:27:20", "2018-04-12 18:27:21"]).tz_localize("UTC")
    frame = pd.DataFrame({"description": ["A subject_process READ a file_object_file"] * 2, "timestamp": stamps})
    table = read_events(frame, IngestOptions(timezone="America/Toronto"))
    assert table.events["time"].tolist() == [wall("2018-04-12 14:27:20"), wall("2018-04-12 14:27:21")]


@pytest.mark.parametrize(
    ("stamp", "unit", "expected"),
    [
        (f"{INSTANT}.999999999", "auto", "2018-04-12 14:27:20.999999999"),  # a float would round into :21
        (f"{INSTANT}.5", "auto", "2018-04-12 14:27:20.5"),
        (f"{INSTANT}250.5", "ms", "2018-04-12 14:27:20.2505"),
    ],
)
def test_fractional_epochs_are_exact(tmp_path, stamp, unit, expected):
    table = ocrapt(
        tmp_path,
        f"A subject_process READ a file_object_file,{stamp}",
        f"A subject_process READ a file_object_file,{INSTANT}",
        options=IngestOptions(timezone="America/Toronto", epoch_unit=unit),
    )
    assert table.skipped_count == 0
    assert table.events["time"].tolist()[0] == wall(expected)


def test_non_numeric_stamp_among_epochs_is_skipped(tmp_path):
    table = ocrapt(
        tmp_path,
        f"A subject_process READ a file_object_file,{INSTANT}",
        "A subject_process READ a file_object_file,soon",
        f"A subject_process READ a file_object_file,{INSTANT + 1}",
    )
    assert table.events["line"].tolist() == [2, 4]
    assert (table.skipped[0].line, table.skipped[0].column) == (3, "timestamp")


@pytest.mark.parametrize(
    "stamp", ["99999999999999999999", "99999999999999999999.5", "9999999999999999999", "99999999999"]
)
def test_epoch_out_of_range_is_skipped_not_wrapped(tmp_path, stamp):
    table = ocrapt(
        tmp_path,
        f"A subject_process READ a file_object_file,{stamp}",
        f"A subject_process READ a file_object_file,{INSTANT}",
        options=IngestOptions(epoch_unit="s") if stamp == "99999999999" else None,
    )
    assert table.events["line"].tolist() == [3]
    assert (table.skipped[0].line, table.skipped[0].column) == (2, "timestamp")
    assert table.events["time"].tolist() == [wall("2018-04-12 18:27:20")]


def test_bare_carriage_returns_are_an_input_error(tmp_path):
    with pytest.raises(InputError) as err:
        read_events(write(tmp_path, "description,timestamp\rA subject_process READ a file_object_file,1\r"))
    assert err.value.line == 1 and "in.csv:1" in str(err.value)


def test_row_without_a_comma_is_skipped(tmp_path):
    table = ocrapt(tmp_path, "A subject_process READ a file_object_file,2018-04-12 14:27:20", "lonely")
    assert [(s.line, s.reason) for s in table.skipped] == [(3, "expected 2 fields, found 1")]


@pytest.mark.parametrize("word", ["now", "today", " Now"])
def test_a_word_for_the_current_time_is_an_unparseable_timestamp_not_the_clock(tmp_path, word):
    # pandas' ISO 8601 reader takes "now" and "today" for the clock's time: invented, and
    # different on every run
    table = ocrapt(
        tmp_path,
        "The subject_process: bash EXECUTE the file_object_file: x,2025-05-14T09:12:03",
        f"The subject_process: bash WRITE the file_object_file: y,{word}",
    )
    assert len(table.events) == 1 and table.skipped_count == 1
    assert table.skipped[0].line == 3 and table.skipped[0].reason == "unparseable timestamp"
