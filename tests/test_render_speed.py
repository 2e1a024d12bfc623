"""The end of ``report`` (assemble -> render -> write) works on columns and writes the log's
blocks of rows as the bytes Arrow built; every shortcut equals the plain computation
(issue 8)."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from aptnarrate import redact as redact_module
from aptnarrate.assemble import _cited_minutes
from aptnarrate.output import write_chunks


@pytest.fixture(scope="module")
def dropper_report():
    from aptnarrate.examples import path as example_path
    from aptnarrate.pipeline import narrate

    return narrate(example_path("dropper"), backend="offline")


def test_cited_minutes_equal_the_row_by_row_lookup(dropper_report):
    log = dropper_report.log
    ids = log.id_list()
    odd = ["C1", "L0", f"L{len(ids) + 1}", "L01", "L\u0663", "x", "", "L-1", "L" + "9" * 30, "l1"]
    rng = random.Random(8)
    for _ in range(200):
        evidence = [rng.choice(ids) for _ in range(rng.randint(0, 30))] + rng.sample(odd, rng.randint(0, 4))
        rng.shuffle(evidence)
        assert _cited_minutes(log, evidence, {}) == sorted(set(log.minute_of(evidence)))
    for finding in dropper_report.stages:  # what assemble wrote
        assert finding.minutes == sorted(set(log.minute_of(finding.evidence)))


def test_cited_minutes_of_the_rules_own_evidence_read_their_positions():
    """assemble reads the minutes of a stage the offline narrator cites as the rules found
    it from the rules' positions, which give what the ids give."""
    from aptnarrate.assemble import _log_entries, _rule_positions
    from aptnarrate.examples import names, path as example_path
    from aptnarrate.pipeline import inspect_input
    from aptnarrate.rules.stages import find_stages

    used = 0
    for name in names():
        facts = inspect_input(example_path(name))
        log = _log_entries(facts)
        for finding in find_stages(facts):
            positions = _rule_positions(facts, finding.stage, list(finding.evidence))
            assert positions is not None, (name, finding.stage)
            assert _cited_minutes(log, list(finding.evidence), {}, positions) == _cited_minutes(log, list(finding.evidence), {}), name
            assert _rule_positions(facts, finding.stage, list(finding.evidence)[1:]) is None  # other evidence: read by id
            used += 1
    assert used >= 5


def _as_bytes_blocks(text: str, size: int) -> list:
    """``text`` cut every ``size`` characters, every other piece as UTF-8 bytes in an Arrow buffer."""
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    return [memoryview(pa.py_buffer(p.encode("utf-8"))) if k % 2 else p for k, p in enumerate(pieces)]


def test_redact_encoded_equals_redact_of_the_whole_text(monkeypatch):
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    redact_module.register_secret("sk-test-SECRET-0123")
    lines = [
        "plain row | \u00e9t\u00e9 \u202e x",
        "key sk-test-SECRET-0123 here",
        "url http://user:pw@example.org/x",
        "ftp://a@b and sk-test-SECRET-0123",
        "://only@ a scheme-less credential",
        "",
        "no secret, no url: sk-test-SECRET-012 (one short)",
    ]
    text = "\n".join(lines * 3) + "\nsk-test-SECRET-0123"
    want = redact_module.redact(text)
    assert "SECRET-0123" not in want and "pw@" not in want and "a@b" not in want
    for size in (1, 2, 3, 7, 11, 40, 97, len(text)):
        pieces = _as_bytes_blocks(text, size)
        got = b"".join(bytes(p) for p in redact_module.redact_encoded(pieces))
        assert got.decode("utf-8") == want, size
    # a block of whole clean lines is passed on as it is, not copied
    block = memoryview(pa.py_buffer(b"a\nclean line\nb"))
    passed = list(redact_module.redact_encoded(["x", block, "y\n"]))
    assert any(isinstance(p, memoryview) and bytes(p) == b"clean line\n" for p in passed)
    assert b"".join(bytes(p) for p in passed) == b"xa\nclean line\nby\n"


def test_redact_encoded_finds_a_line_break_past_a_long_line():
    long_line = "x" * 100_000
    block = memoryview(pa.py_buffer(f"{long_line}\nmid\n{long_line}".encode()))
    assert redact_module._line_break(block, last=False) == 100_000
    assert redact_module._line_break(block, last=True) == 100_004
    assert redact_module._line_break(memoryview(b"none"), last=True) == -1
    assert redact_module._line_break(memoryview(b"none"), last=False) == -1


@pytest.mark.parametrize("rows_per_chunk", [1, 3, 1 << 16])
def test_encoded_renderers_write_the_same_bytes(dropper_report, tmp_path, monkeypatch, rows_per_chunk):
    from aptnarrate.render.json import render_json, render_json_chunks
    from aptnarrate.render.markdown import render_markdown, render_markdown_chunks

    monkeypatch.setattr(redact_module, "_SECRETS", set())
    first_ioc = dropper_report.iocs[0].value
    redact_module.register_secret(first_ioc)  # a "secret" that really occurs in the rows
    cases = [
        (render_json_chunks(dropper_report, 2, rows_per_chunk, encoded=True), render_json(dropper_report)),
        (render_json_chunks(dropper_report, None, rows_per_chunk, encoded=True), render_json(dropper_report, None)),
        (render_markdown_chunks(dropper_report, rows_per_chunk=rows_per_chunk, encoded=True), render_markdown(dropper_report)),
    ]
    for chunks, text in cases:
        chunks = list(chunks)
        assert any(isinstance(c, memoryview) for c in chunks)
        target = tmp_path / "out"
        write_chunks(chunks, target)
        written = target.read_bytes()
        assert written == redact_module.redact(text).encode("utf-8")
        assert first_ioc.encode() not in written


def test_json_strings_equal_pydantic_for_every_code_point():
    """``json_strings`` writes a string that needs no escape between quotes itself: true
    only if pydantic escapes nothing but '"', backslash and U+0000-U+001F."""
    from pydantic_core import to_json

    from aptnarrate.render.json import json_strings

    points = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF]
    values = points + ["", "plain name", 'a "quoted" \\ name\n', "\u202egpj.exe", "x" * 1000]
    # pydantic writes the list as "[" + its items joined by "," + "]"
    assert "[" + ",".join(json_strings(values).to_pylist()) + "]" == to_json(values).decode("utf-8")


def test_in_order_keeps_order_bounds_the_work_ahead_and_raises_a_block_failure():
    import threading

    from aptnarrate.render.rows import in_order

    made: list[int] = []
    taken: list[int] = []
    lock = threading.Lock()

    def make(start: int) -> int:
        with lock:
            made.append(start)
            # never more than two blocks made past the one the caller last took
            assert len(made) - len(taken) <= 3
        return start * 10

    for value in in_order(make, range(0, 50, 5), ahead=2):
        taken.append(value)
    assert taken == [start * 10 for start in range(0, 50, 5)]

    def fails(start: int) -> int:
        if start == 3:
            raise ValueError("block 3")
        return start

    with pytest.raises(ValueError, match="block 3"):
        list(in_order(fails, range(6)))


def test_sorted_codes_in_arrow_equal_pandas_factorize_in_code_point_order():
    import numpy as np
    import pandas as pd

    from aptnarrate.assemble import _sorted_codes, _sorted_codes_pandas

    # ASCII, accents, a BMP character above the surrogates and one past the BMP: UTF-8's
    # byte order must give Python's code point order for all of them
    names = ["b", "a", "é", "z", "\uffff", "\U00010000", "A", "", "a b", "ß"]
    rng = random.Random(3)
    subjects = pd.Series([rng.choice(names) for _ in range(200)], dtype=object)
    objects = pd.Series([rng.choice(names) for _ in range(150)], dtype="string[pyarrow]")
    codes, ids = _sorted_codes(subjects, objects)
    want_codes, want_ids = _sorted_codes_pandas(subjects, objects)
    assert ids == want_ids == sorted(set(names))
    assert all(np.array_equal(a, b) for a, b in zip(codes, want_codes))
    # ids that are not strings (a notebook's DataFrame) still get codes, through pandas
    codes, ids = _sorted_codes(pd.Series([3, 1, 2]), pd.Series([1, 5]))
    assert ids == ["1", "2", "3", "5"] and codes[0].tolist() == [2, 0, 1]
