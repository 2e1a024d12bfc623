"""A CSV file is checked in one pass of fixed-size blocks and never held whole.

* ``_scan``'s counts and checks, block by block, equal the same computations on the whole
  bytes (newlines, quote, last byte, header line, blank input, the first byte that is not
  UTF-8 and its line and column) for every block size from 1 byte up, so a character, a
  quote, a CR LF or the header's newline split across two blocks changes nothing.
* Reading a file in tiny blocks gives what reading the same bytes whole gives: the same
  table, or the same error with the same line and column.
* Arrow parses exactly the bytes scanned (a file appended to meanwhile is read as scanned;
  one cut short is an error), and the reader's Python allocations stay far below the file's
  size (the old reader held the whole file as one bytes object).
"""

from __future__ import annotations

import os

import pandas as pd

import pytest

from aptnarrate.errors import InputError
from aptnarrate.preprocess import ingest
from aptnarrate.preprocess.ingest import IngestOptions, read_events, read_events_bytes

ROW = "The subject_process: café READ the file_object_file: /tmp/€uro,2018-04-12 14:27:20\n"
HEADER = "description,timestamp\n"
EDGE_HEADER = "subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr\n"

INPUTS = {
    "plain": (HEADER + ROW * 3).encode(),
    "no trailing newline": (HEADER + ROW * 2 + ROW.rstrip("\n")).encode(),
    "byte-order mark, CR LF": b"\xef\xbb\xbf" + (HEADER + ROW * 3).replace("\n", "\r\n").encode(),
    "quoted newline": (HEADER + ROW + '"The subject_process: a WRITE the file_object_file: two\nlines",2018-04-12 14:27:21\n' + ROW).encode(),
    "blank lines and a bad row": (HEADER + ROW + "\n  \n" + "no comma here\n" + ROW).encode(),
    "recovered comma": (HEADER + "The subject_process: a READ the file_object_file: x,y,2018-04-12 14:27:20\n" + ROW).encode(),
    "edge list": (EDGE_HEADER + "u1,subject_process,bash,EVENT_READ,1523505481,u2,file_object_file,/etc/ça\n" * 3).encode(),
    "bad byte late": (HEADER + ROW * 3).encode() + b"The subject_process: caf\xe9 READ a file_object_file,1\n",
    "cut 3-byte character": (HEADER + ROW).encode() + "€".encode()[:2] + b" READ a file_object_file,1\n",
    "character cut by the end": (HEADER + ROW).encode() + "€".encode()[:2],
    "bad continuation after a newline": (HEADER + ROW).encode() + b"\n\xe2\x28\xa1,1\n",
    "lone continuation byte on line 1": b"descr\x80iption,timestamp\n" + ROW.encode(),
    "header only": HEADER.encode() + b"  \n\n",
    "no newline at all": HEADER.rstrip("\n").encode(),
    "whitespace only": b" \r\n\t\n",
    "empty": b"",
    "utf-16": "description,timestamp\n".encode("utf-16"),
    "utf-16 without its mark": "description,timestamp\nx,1\n".encode("utf-16-le"),
    "gzip": b"\x1f\x8b\x08\x00" + b"\x00" * 40,
    "unknown header": b"foo;bar\n1;2\n",
}


def plain_scan(data: bytes) -> dict:
    """What the scan should find, computed on the whole bytes (after a byte-order mark)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    header_end = data.find(b"\n")
    expected = {
        "size": len(data),
        "newlines": data.count(b"\n"),
        "last_byte": data[-1] if data else -1,
        "has_quote": b'"' in data,
        "non_blank": bool(data.strip()),
        "head": data[:4096],
        "header": data if header_end < 0 else data[:header_end],
        "header_end": header_end,
        "events_follow": header_end >= 0 and bool(data[header_end + 1 :].strip()),
        "bad_utf8": None,
    }
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        expected["bad_utf8"] = (exc.start, data[exc.start], data.count(b"\n", 0, exc.start) + 1, exc.start - line_start + 1)
    return expected


def scanned(data: bytes, block: int) -> dict:
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    scan = ingest._scan(data[i : i + block] for i in range(start, len(data), block))
    return {key: getattr(scan, key) for key in plain_scan(b"")}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_scan_in_blocks_equals_the_whole_bytes_computation(name):
    data = INPUTS[name]
    expected = plain_scan(data)
    for block in [*range(1, 12), 64, len(data) + 1]:
        got = scanned(data, block)
        if expected["bad_utf8"] is not None:
            # the scan stops at the first bad byte (once it has seen the head): only what
            # is reported then must match
            assert (got["bad_utf8"], got["non_blank"], got["head"]) == (
                expected["bad_utf8"],
                expected["non_blank"],
                expected["head"],
            ), block
        else:
            assert got == expected, block


def test_scan_reuses_one_buffer_for_a_file(tmp_path):
    """Blocks from a file come in one reused buffer: the scan must not keep a view of it."""
    data = (HEADER + ROW * 40).encode() + b"caf\xe9"
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    for block in (1, 2, 3, 7, 50):
        with open(path, "rb") as handle:
            original = ingest._READ_CHUNK
            ingest._READ_CHUNK = block
            try:
                scan = ingest._scan(ingest._file_blocks(handle, "in.csv", 1 << 20))
            finally:
                ingest._READ_CHUNK = original
        got = {key: getattr(scan, key) for key in plain_scan(b"")}
        expected = plain_scan(data)
        assert (got["bad_utf8"], got["head"], got["header"]) == (expected["bad_utf8"], expected["head"], expected["header"])


def outcome(read):
    """A table's content, or the error's message, line and column."""
    try:
        table = read()
    except InputError as exc:
        return ("error", str(exc), exc.line, exc.column)
    return (
        "table",
        {name: table.events[name].tolist() for name in table.events.columns},
        {name: table.triples[name].tolist() for name in table.triples.columns},
        table.skipped,
        table.skipped_count,
        table.rows_read,
        table.time_basis,
    )


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_a_file_read_in_tiny_blocks_gives_what_the_whole_bytes_give(name, tmp_path, monkeypatch):
    data = INPUTS[name]
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    whole = outcome(lambda: read_events_bytes(data, str(path)))
    for block in (1, 2, 3, 5, 64):
        monkeypatch.setattr(ingest, "_READ_CHUNK", block)
        assert outcome(lambda: read_events(path)) == whole, block


def test_an_invalid_sequence_split_across_two_blocks_is_located_as_in_the_whole_file(tmp_path, monkeypatch):
    good = (HEADER + ROW).encode()
    data = good + b"The subject_process: x\xe2\x82\x28 READ a file_object_file,1\n"
    at = data.index(b"\xe2")
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    for block in (at + 1, at + 2, at + 3):  # the cut after each byte of the sequence
        monkeypatch.setattr(ingest, "_READ_CHUNK", block)
        with pytest.raises(InputError) as error:
            read_events(path)
        assert (error.value.line, error.value.column) == (3, len("The subject_process: x") + 1)
        assert "undecodable byte 0xe2" in str(error.value)


def test_a_quote_in_the_last_block_turns_on_quoted_newlines(tmp_path, monkeypatch):
    rows = HEADER + ROW * 5 + '"The subject_process: a WRITE the file_object_file: two\nlines",2018-04-12 14:27:21\n'
    path = tmp_path / "in.csv"
    path.write_bytes(rows.encode())
    monkeypatch.setattr(ingest, "_READ_CHUNK", 16)
    table = read_events(path)
    assert table.events["line"].tolist() == [2, 3, 4, 5, 6, 7]
    assert "two\nlines" in table.triples["object_value"].tolist()


def test_arrow_reads_the_bytes_scanned_when_the_file_grows_meanwhile(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + ROW * 3).encode())
    expected = outcome(lambda: read_events(path))
    scan = ingest._scan

    def then_append(blocks):
        result = scan(blocks)
        with open(path, "ab") as handle:
            handle.write(b"The subject_process: late WRITE the file_object_file: x,2018-04-12 14:30:00\n")
        return result

    monkeypatch.setattr(ingest, "_scan", then_append)
    assert outcome(lambda: read_events(path)) == expected


def test_a_file_cut_short_while_it_is_read_is_an_input_error(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + ROW * 3).encode())
    scan = ingest._scan

    def then_truncate(blocks):
        result = scan(blocks)
        with open(path, "r+b") as handle:
            handle.truncate(len(HEADER) + 10)
        return result

    monkeypatch.setattr(ingest, "_scan", then_truncate)
    with pytest.raises(InputError, match="changed while it was read"):
        read_events(path)


def test_a_regular_file_whose_size_under_reports_is_read_whole(tmp_path, monkeypatch):
    # procfs-like filesystems report st_size 0 for regular files that hold bytes: the size
    # cannot say the file was cut short, so it must not refuse the file either
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + ROW * 3).encode())
    expected = outcome(lambda: read_events(path))
    real_fstat = os.fstat
    watched = set()
    real_open = open

    def fstat(fd):
        info = real_fstat(fd)
        if fd in watched:
            return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, info.st_uid, info.st_gid, 0, info.st_atime, info.st_mtime, info.st_ctime))
        return info

    def opening(file, *args, **kwargs):
        handle = real_open(file, *args, **kwargs)
        if str(file) == str(path):
            watched.add(handle.fileno())
        return handle

    monkeypatch.setattr(ingest.os, "fstat", fstat)
    monkeypatch.setattr(ingest, "open", opening, raising=False)
    assert outcome(lambda: read_events(path)) == expected
    assert watched  # the fake size was seen by the reader


def test_a_file_that_grows_past_the_limit_while_scanned_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + ROW * 3).encode())
    blocks = ingest._file_blocks

    def growing(handle, name, limit):
        with open(path, "ab") as more:
            more.write(ROW.encode() * 10)
        yield from blocks(handle, name, limit)

    monkeypatch.setattr(ingest, "_file_blocks", growing)
    with pytest.raises(InputError, match=r"input is at least \d+ bytes, more than the limit"):
        read_events(path, IngestOptions(max_input_bytes=path.stat().st_size + 10))


# Measured in a child that starts tracing before it imports anything and never stops it:
# on CPython before 3.12.9 and 3.13.2, ``tracemalloc.stop()`` races an Arrow thread that
# takes the GIL to release a Python-owned buffer (python/cpython#128679), and the worker
# died of a segfault about once in ten suite runs. The child leaves with ``os._exit`` so
# interpreter shutdown never stops tracing either.
_PEAK_CHILD = """
import json, os, sys, tracemalloc
tracemalloc.start()
from aptnarrate.preprocess.ingest import read_events
read_events(sys.argv[2])  # the modules a read imports on first use are not the read's cost
before, _ = tracemalloc.get_traced_memory()
tracemalloc.reset_peak()
table = read_events(sys.argv[1])
_, peak = tracemalloc.get_traced_memory()
print(json.dumps({"rows": len(table.events), "peak": peak - before}), flush=True)
os._exit(0)
"""


def test_a_file_is_never_held_whole(tmp_path):
    """Python's allocations while reading an 8 MB file stay under half its size (the file's
    bytes, held whole, would be all of it; Arrow's own buffers are not Python's)."""
    import json
    import subprocess
    import sys

    path = tmp_path / "big.csv"
    name = "x" * 400
    rows = [f"The subject_process: p{i % 7} READ the file_object_file: /{name}/{i % 13},2018-04-12 14:27:{i % 60:02d}\n" for i in range(20_000)]
    path.write_text(HEADER + "".join(rows))
    size = path.stat().st_size
    assert size > 8_000_000
    small = tmp_path / "small.csv"
    small.write_text(HEADER + rows[0])
    child = subprocess.run([sys.executable, "-c", _PEAK_CHILD, str(path), str(small)], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    measured = json.loads(child.stdout)
    assert measured["rows"] == 20_000
    assert measured["peak"] < size / 2, (measured, size)
    table = read_events(path)
    pd.testing.assert_frame_equal(table.events.to_pandas(), read_events_bytes(path.read_bytes(), str(path)).events.to_pandas())


@pytest.mark.parametrize("via", ["file", "bytes"])
def test_the_parsed_records_are_freed_before_memory_is_given_back(via, tmp_path, monkeypatch):
    """The parsed Arrow table (half a file's size) is gone when ingest returns freed memory
    to the OS; a caller's frame that kept it alive made the 10M-row edge list hold 640 MB
    more through condense."""
    import weakref

    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + ROW * 3).encode())
    refs = []
    locate = ingest._locate_lines

    def noting(*args):
        records, lines, skipped = locate(*args)
        refs.append(weakref.ref(records))
        return records, lines, skipped

    alive_at_release = []
    monkeypatch.setattr(ingest, "_locate_lines", noting)
    monkeypatch.setattr(ingest, "release_freed_memory", lambda: alive_at_release.append(refs[-1]() is not None))
    if via == "file":
        read_events(path)
    else:
        read_events_bytes(path.read_bytes(), "in.csv")
    assert alive_at_release == [False]


def test_without_proc_arrow_opens_the_path(tmp_path, monkeypatch):
    """Where /proc/self/fd cannot be opened (macOS, a sandbox), the file is opened by its path."""
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + ROW * 3).encode())
    expected = outcome(lambda: read_events(path))
    opened = []
    real = ingest.pa.OSFile

    def no_proc(where, *args):
        opened.append(where)
        if str(where).startswith("/proc/"):
            raise FileNotFoundError(where)
        return real(where, *args)

    monkeypatch.setattr(ingest.pa, "OSFile", no_proc)
    assert outcome(lambda: read_events(path)) == expected
    assert opened[-1] == str(path)


def test_an_os_error_while_building_is_not_blamed_on_the_input_file(tmp_path, monkeypatch):
    """Only opening and reading the file are the input path's errors: an OSError raised
    while the parsed records are built (here, when memory is given back) propagates as it
    is, instead of reaching the user as "file not found: check the path"."""
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + ROW * 3).encode())

    def failing():
        raise FileNotFoundError(2, "an internal file went missing")

    monkeypatch.setattr(ingest, "release_freed_memory", failing)
    with pytest.raises(FileNotFoundError, match="an internal file went missing"):
        read_events(path)


def test_a_stream_over_the_limit_says_how_much_was_read():
    """Standard input or a pipe is read up to the limit + 1 byte; the error said "input is
    unbounded or larger, more than the limit of N bytes"."""
    import io

    with pytest.raises(InputError, match=r"^<stdin>: input is at least 11 bytes, more than the limit of 10 bytes"):
        ingest.read_capped(io.BytesIO(b"x" * 100), "<stdin>", 10)
