"""Hostile inputs (issue 6): every file under tests/hostile/ and a few special files give a
typed error with its exit code or a correct report, each within a time bound.

The files are made by ``tests/hostile/make_corpus.py`` (committed, reproducible); the
million-row file, the FIFO, the directory and /dev/zero are made here.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from aptnarrate.cli import main

HOSTILE = Path(__file__).resolve().parent / "hostile"
TIME_BOUND_S = 10.0  # generous for a loaded 2-core CI machine; typical runs take well under 1 s

# file -> (exit code, text the stderr must contain; for exit 0, the log must contain it)
EXPECTED: dict[str, tuple[int, str]] = {
    "empty.csv": (3, "file is empty"),
    "whitespace_only.csv": (3, "file is empty"),
    "header_only.csv": (3, "header only"),
    "header_only_no_newline.csv": (3, "header only"),
    "wrong_delimiter_semicolon.csv": (3, "separated by semicolons"),
    "wrong_delimiter_tab.csv": (3, "separated by tabs"),
    "unknown_header.csv": (3, "unrecognised header"),
    "bom.csv": (0, "x.sh"),
    "crlf.csv": (0, "203.0.113.7"),
    "bare_cr_line_ends.csv": (3, "line endings"),
    "quoted_newlines.csv": (0, "203.0.113.7"),
    "unbalanced_quote.csv": (3, "every data line was rejected"),
    "mixed_timestamp_formats.csv": (0, "x.sh"),
    "mixed_offsets.csv": (3, "mix times with and without a UTC offset"),
    "mixed_epoch_units.csv": (0, "2018-04-12"),
    "out_of_range_9999.csv": (0, "x.sh"),
    "out_of_range_year_1500.csv": (0, "x.sh"),
    "all_out_of_range.csv": (3, "outside the supported range"),
    "pre_1970.csv": (0, "1960-01-01"),
    "negative_epoch.csv": (0, "1969-12-31"),
    "huge_epoch.csv": (0, "x.sh"),
    "february_30.csv": (0, "203.0.113.7"),
    "garbage_timestamps.csv": (3, "unparseable timestamp"),
    "nul_bytes.csv": (0, "WRITE"),
    "nul_in_header.csv": (3, "unrecognised header"),
    "invalid_utf8.csv": (3, "not UTF-8"),
    "latin1.csv": (3, "not UTF-8"),
    "utf16_le_bom.csv": (3, "UTF-16"),
    "utf16_be_no_bom.csv": (3, "UTF-16"),
    "long_field_100k.csv": (0, "203.0.113.7"),
    "long_line_no_newline_1mb.csv": (3, "cannot parse the header"),
    "many_columns.csv": (0, "x.sh"),
    "duplicate_description_header.csv": (3, "appears more than once"),
    "duplicate_timestamp_header.csv": (3, "appears more than once"),
    "extra_columns.csv": (0, "x.sh"),
    "short_and_long_rows.csv": (0, "203.0.113.7"),
    "only_commas.csv": (3, "unrecognised header"),
    "unparseable_descriptions.csv": (3, "unparseable description"),
    "some_empty_descriptions.csv": (0, "x.sh"),
    "crafted_action_in_name.csv": (0, "WRITE the file: shadow"),
    "control_and_bidi_names.csv": (0, "203.0.113.7"),
    "markdown_html_names.csv": (0, "WRITE"),
    "edges_missing_predicate.csv": (0, "WRITE"),
    "edges_all_blank.csv": (3, "every data line was rejected"),
    "json_document.csv": (3, "unrecognised header"),
    "html_document.csv": (3, "unrecognised header"),
    "gzip_named_csv.csv": (3, "gzip-compressed"),
    "zip_named_csv.csv": (3, "zip archive"),
    "random_binary.csv": (3, "not UTF-8"),
    "elf_header.csv": (3, "executable (ELF)"),
}


def run_inspect(capsys, tmp_path: Path, *args: str) -> tuple[int, str, str, float]:
    out = tmp_path / "out.json"
    started = time.monotonic()
    code = main(["inspect", *args, "--format", "json", "-o", str(out)])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    assert "Traceback" not in err and "internal error" not in err, err
    assert out.exists() == (code == 0)
    return code, err, text, elapsed


def test_the_corpus_has_at_least_40_files_and_each_has_an_expectation():
    files = sorted(p.name for p in HOSTILE.glob("*.csv"))
    assert len(files) >= 40
    assert files == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file(name, capsys, tmp_path):
    code, err, text, elapsed = run_inspect(capsys, tmp_path, str(HOSTILE / name))
    expected_code, needle = EXPECTED[name]
    assert elapsed < TIME_BOUND_S
    assert code == expected_code, err
    if code:
        assert needle in err
    else:
        facts = json.loads(text)
        assert needle in json.dumps(facts["timeline"], ensure_ascii=False), text[:500]


def test_a_directory(capsys, tmp_path):
    code, err, _, _ = run_inspect(capsys, tmp_path, str(tmp_path))
    assert code == 3 and "is a directory" in err


def test_a_missing_file(capsys, tmp_path):
    code, err, _, _ = run_inspect(capsys, tmp_path, str(tmp_path / "nope.csv"))
    assert code == 3 and "file not found" in err


def test_dev_null(capsys, tmp_path):
    code, err, _, _ = run_inspect(capsys, tmp_path, "/dev/null")
    assert code == 3 and "file is empty" in err


def test_dev_zero_with_a_small_cap(capsys, tmp_path):
    code, err, _, elapsed = run_inspect(capsys, tmp_path, "/dev/zero", "--max-input-bytes", "4M")
    assert code == 3 and "more than the limit of 4194304 bytes" in err and elapsed < TIME_BOUND_S


def test_a_fifo(capsys, tmp_path):
    fifo = tmp_path / "subgraph.csv"
    os.mkfifo(fifo)
    data = (HOSTILE / "crlf.csv").read_bytes()
    writer = threading.Thread(target=fifo.write_bytes, args=(data,), daemon=True)
    writer.start()
    code, err, text, _ = run_inspect(capsys, tmp_path, str(fifo))
    writer.join(5)
    assert code == 0, err
    assert "203.0.113.7" in text


def test_a_million_identical_rows(capsys, tmp_path):
    line = b"The subject_process: bash WRITE the file_object_file: /tmp/x.sh,1523505481\n"
    big = tmp_path / "million.csv"
    big.write_bytes(b"description,timestamp\n" + line * 1_000_000)
    code, err, text, elapsed = run_inspect(capsys, tmp_path, str(big))
    assert code == 0, err
    assert elapsed < 3 * TIME_BOUND_S
    facts = json.loads(text)
    assert len(facts["timeline"]) == 1 and "1000000" in json.dumps(facts["timeline"][0])
