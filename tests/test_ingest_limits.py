"""Issue 6, input half: out-of-range times, mixed epoch units, duplicate columns, input size
limits, --debug exit codes. Each test failed before its fix."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest

from aptnarrate.cli import main
from aptnarrate.errors import InputError
from aptnarrate.preprocess.ingest import IngestOptions, read_capped, read_events, read_events_bytes

WRITE = "The subject_process: bash WRITE the file_object_file: /etc/shadow"


def csv_bytes(*rows: str, header: str = "description,timestamp") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


@pytest.mark.parametrize("stamp", ["9999-12-31 23:59:59", "1500-01-01 00:00:00", "2262-04-12 00:00:00", "0001-01-01T00:00:00"])
def test_times_outside_the_nanosecond_range_skip_the_line(stamp):
    table = read_events_bytes(csv_bytes(f"{WRITE},2018-04-12 10:00:00", f"{WRITE},{stamp}"), "t.csv")
    assert len(table.events) == 1 and table.skipped_count == 1
    (skipped,) = table.skipped
    assert skipped.line == 3 and skipped.column == "timestamp" and "1677" in skipped.reason


def test_out_of_range_time_with_strict_is_an_input_error():
    with pytest.raises(InputError, match="line 3|:3") as caught:
        read_events_bytes(csv_bytes(f"{WRITE},2018-04-12 10:00:00", f"{WRITE},9999-12-31 23:59:59"), "t.csv", IngestOptions(strict=True))
    assert "1677" in str(caught.value)


def test_out_of_range_offset_time_skips_the_line():
    table = read_events_bytes(csv_bytes(f"{WRITE},2018-04-12T10:00:00Z", f"{WRITE},9999-12-31T23:59:59+00:00"), "t.csv")
    assert (len(table.events), table.skipped_count) == (1, 1)


def test_huge_epochs_skip_the_line():
    table = read_events_bytes(csv_bytes(f"{WRITE},1523505481", f"{WRITE},99999999999999999999", f"{WRITE},-99999999999999999999"), "t.csv")
    assert (len(table.events), table.skipped_count) == (1, 2)


def test_epoch_units_are_inferred_per_value():
    table = read_events_bytes(
        csv_bytes(f"{WRITE},1523505481", f"{WRITE},1523505482000", f"{WRITE},1523505483000000", f"{WRITE},1523505484000000000"),
        "t.csv",
    )
    seconds = table.events["time"] // 10**9
    assert list(seconds) == [1523505481, 1523505482, 1523505483, 1523505484]
    assert "per value" in table.time_basis


def test_an_explicit_epoch_unit_is_not_second_guessed():
    table = read_events_bytes(csv_bytes(f"{WRITE},1523505481", f"{WRITE},1523505482000"), "t.csv", IngestOptions(epoch_unit="ms"))
    assert list(table.events["time"] // 10**6) == [1523505481, 1523505482000]


@pytest.mark.parametrize(
    ("header", "positions"),
    [
        ("description,timestamp,description", "columns 1 and 3"),
        ("Description,timestamp,description ", "columns 1 and 3"),
        ("description,timestamp,timestamp", "columns 2 and 3"),
    ],
)
def test_a_duplicate_role_column_is_an_input_error(header, positions):
    row = f"{WRITE},1523505481,x"
    with pytest.raises(InputError, match="appears more than once") as caught:
        read_events_bytes(csv_bytes(row, header=header), "t.csv")
    assert positions in str(caught.value)


def test_duplicate_unrelated_columns_are_fine():
    table = read_events_bytes(csv_bytes(f"{WRITE},1523505481,a,b", header="description,timestamp,note,note"), "t.csv")
    assert len(table.events) == 1


# --------------------------------------------------------------------------- size limits


def test_dev_zero_as_a_path_is_refused_after_the_cap():
    started = time.monotonic()
    with pytest.raises(InputError, match="more than the limit of 1048576 bytes"):
        read_events("/dev/zero", IngestOptions(max_input_bytes=1 << 20))
    assert time.monotonic() - started < 5


def test_read_capped_never_reads_more_than_the_cap_plus_one():
    class Counting(io.RawIOBase):
        served = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            buffer[:] = b"a" * len(buffer)
            Counting.served += len(buffer)
            return len(buffer)

    with pytest.raises(InputError):
        read_capped(Counting(), "<stdin>", 1000)
    assert Counting.served <= 1001


def test_a_sparse_file_bigger_than_the_limit_is_refused_without_reading(tmp_path):
    sparse = tmp_path / "big.csv"
    with open(sparse, "wb") as handle:
        handle.truncate(2 * 1024**3)  # 2 GiB, no blocks on disk
    started = time.monotonic()
    with pytest.raises(InputError, match="2147483648 bytes"):
        read_events(sparse)  # the default limit, 1 GiB
    assert time.monotonic() - started < 1


def test_cli_dev_zero_on_stdin_is_a_clean_input_error(monkeypatch, capsys):
    class Stdin:
        buffer = open("/dev/zero", "rb")  # noqa: SIM115

    monkeypatch.setattr("sys.stdin", Stdin)
    try:
        code = main(["inspect", "-", "--max-input-bytes", "2M"])
    finally:
        Stdin.buffer.close()
    assert code == 3
    assert "more than the limit of 2097152 bytes" in capsys.readouterr().err


# --------------------------------------------------------------------------- --debug


def test_debug_keeps_the_traceback_and_the_errors_exit_code(tmp_path, capsys):
    missing = tmp_path / "absent.csv"
    assert main(["inspect", str(missing), "--debug"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "file not found" in err


def test_debug_on_a_usage_error_exits_2(capsys):
    assert main(["inspect", "--example", "benign", "--timezone", "Mars/Olympus", "--debug"]) == 2


# --------------------------------------------------------------------------- crafted names


def triples_of(*rows: str):
    table = read_events_bytes(csv_bytes(*rows), "t.csv")
    return table, table.triples.records()


def test_a_crafted_subject_name_cannot_turn_a_write_into_a_read():
    crafted = "The subject_process: backup READ the file_object_file: notes.txt WRITE the file_object_file: /etc/shadow"
    table, (triple,) = triples_of(f"{crafted},1523505481")
    assert triple["subject_value"] == "backup READ the file_object_file: notes.txt"
    assert (triple["action"], triple["object_value"]) == ("WRITE", "/etc/shadow")
    assert table.ambiguous_count == 1  # the other reading is well-formed too: flagged


def test_a_reading_with_an_unknown_type_word_or_action_loses():
    # "thing" is no type word and "LOOKS" no action: only one reading has known words throughout
    names = [
        "The subject_process: a LOOKS the thing: x WRITE the file_object_file: /etc/shadow",
        "The subject_process: sh READ the file_object_file: a LOOKS the thing: b",
    ]
    table, triples = triples_of(*(f"{n},1523505481" for n in names))
    assert [(t["action"], t["object_value"]) for t in triples] == [("WRITE", "/etc/shadow"), ("READ", "a LOOKS the thing: b")]
    assert table.ambiguous_count == 0


def test_plain_lines_are_not_flagged():
    table, (triple,) = triples_of("The subject_process: thunderbird RENAME the file_object_file: xulstore.json,1523505481")
    assert (triple["action"], triple["object_value"], table.ambiguous_count) == ("RENAME", "xulstore.json", 0)


def test_a_100k_character_name_parses_in_linear_time():
    name = "A READ the " * 10_000
    started = time.monotonic()
    table, (triple,) = triples_of(f"The subject_process: {name}x WRITE the file_object_file: /etc/shadow,1523505481")
    assert time.monotonic() - started < 3
    assert triple["action"] == "WRITE"


def test_ambiguous_lines_are_announced(tmp_path, capsys):
    crafted = "The subject_process: backup READ the file_object_file: notes.txt WRITE the file_object_file: /etc/shadow"
    path = tmp_path / "crafted.csv"
    path.write_bytes(csv_bytes(f"{crafted},1523505481"))
    assert main(["inspect", str(path)]) == 0
    captured = capsys.readouterr()
    assert "1 line(s) could be read more than one way" in captured.err and "first line 2" in captured.err
    assert "WRITE the file: shadow" in captured.out


@pytest.mark.parametrize("stamp", ["1677-09-21 00:12:43.145224193", "1677-09-22 12:00:00", "2262-04-11 23:47:16", "2262-04-10 12:00:00"])
def test_times_within_int64_but_at_its_very_edges_skip_the_line(stamp):
    """Such a time parsed (it is a valid nanosecond timestamp) and then broke: one in the
    range's first minute has no minute to floor to, and its minute wrapped round to
    2262-04-11 23:46; one near the end overflowed when converted from --input-timezone
    (an internal error, exit 1). The supported range keeps about two days from each end."""
    for options in (IngestOptions(), IngestOptions(input_timezone="America/Toronto")):
        table = read_events_bytes(csv_bytes(f"{WRITE},2018-04-12 10:00:00", f"{WRITE},{stamp}"), "t.csv", options)
        assert (len(table.events), table.skipped_count) == (1, 1)
        assert "outside the supported range" in table.skipped[0].reason


@pytest.mark.parametrize("stamp", ["1677-09-23 00:00:00", "2262-04-09 23:59:59"])
@pytest.mark.parametrize("source, shown", [("Etc/GMT+12", "Pacific/Kiritimati"), ("Pacific/Kiritimati", "Etc/GMT+12"), (None, "UTC")])
def test_the_ends_of_the_supported_range_convert_between_the_farthest_zones(stamp, source, shown):
    options = IngestOptions(input_timezone=source, timezone=shown)
    table = read_events_bytes(csv_bytes(f"{WRITE},2018-04-12 10:00:00", f"{WRITE},{stamp}"), "t.csv", options)
    assert (len(table.events), table.skipped_count) == (2, 0)
