"""Shortcuts in escaping, JSON strings and redaction (issue 8, speed-output): each one
equals the plain computation it skips."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pyarrow as pa
import pytest

from aptnarrate import redact as redact_module
from aptnarrate.render.escape import _code, code

# every ASCII character, plus characters each shortcut must send to the plain path
_ASCII = [chr(i) for i in range(128)]
_AWKWARD = ["`", "``", "|", " ", "\t", "\x1f", "\x7f", "\u00e9", "\u202e", "\u200b", "\u2028", "\ud800", "\\"]


def _names(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = _ASCII + _AWKWARD
    names = ["", " ", "  ", "a", "svchost.exe", "/usr/bin/x y", "C:\\Windows\\a.dll", "`x`", "a|b", " a", "a "]
    names += [a + b for a, b in itertools.product(_ASCII, ["", "a", " ", "`"])]
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(count)]
    return names


def test_code_shortcut_equals_the_full_escape():
    for name in _names(1, 5000):
        for in_table in (True, False):
            assert code(name, in_table=in_table) == _code(name, in_table=in_table), repr(name)


@pytest.mark.parametrize("window", [1, 3, 1 << 22])
def test_json_escape_test_by_bytes_equals_the_regex_per_string(monkeypatch, window):
    import pyarrow.compute as pc

    from aptnarrate.render import json as json_module
    from aptnarrate.render.json import _needs_escape

    monkeypatch.setattr(json_module, "_WINDOW", window)

    names = [n for n in _names(2, 3000 if window > 3 else 300) if "\ud800" not in n]  # Arrow holds UTF-8 only
    text = pa.array(names, pa.large_string())
    for array in (text, text.slice(7, 500), text.slice(len(names) - 3), pa.array(["plain", "", "x"], pa.large_string())):
        want = pc.match_substring_regex(array, r'["\\\x00-\x1f]').to_numpy(zero_copy_only=False)
        got = _needs_escape(array)
        assert (np.zeros(len(array), bool) if got is None else got).tolist() == want.tolist()
    assert _needs_escape(pa.array([], pa.large_string())) is None
    assert _needs_escape(pa.array(["", ""], pa.large_string())) is None


@pytest.mark.parametrize("window", [1, 5, 1 << 20])
def test_redact_encoded_byte_test_finds_credentials_anywhere_in_a_block(monkeypatch, window):
    """A block is passed on unread only when it holds no "@": a credential in any window
    of it (the first, the last, across two windows) is still masked."""
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    monkeypatch.setattr(redact_module, "_WINDOW", window)
    for where in range(0, 40, 3):
        lines = ["row one", "row two with more text", "x" * where + " ftp://user:pw@host/a", "last row", ""]
        text = "\n".join(lines)
        block = memoryview(pa.py_buffer(("head\n" + text + "\ntail").encode("utf-8")))
        got = b"".join(bytes(p) for p in redact_module.redact_encoded(["", block, "\n"])).decode("utf-8")
        assert got == redact_module.redact("head\n" + text + "\ntail\n")
        assert "pw@" not in got
    clean = memoryview(pa.py_buffer(b"a\nno credentials: ://x and x@y\nb"))  # "@" without "://": regex says no
    passed = list(redact_module.redact_encoded([clean]))
    assert any(isinstance(p, memoryview) for p in passed)
    assert not redact_module._holds(memoryview(b""), b"@")


@pytest.mark.parametrize("window", [1, 4, 7, 1 << 18])
def test_redact_encoded_finds_a_registered_secret_anywhere_in_a_block(monkeypatch, window):
    """The secret search runs window by window: a secret in the first window, the last,
    or cut by a window's end is still masked, and a block without it passes unread."""
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    monkeypatch.setattr(redact_module, "_WINDOW", window)
    redact_module.register_secret("sk-\u00e9-SECRET")
    for where in range(0, 30, 2):
        text = "head\nrow one\n" + "x" * where + " sk-\u00e9-SECRET y\nlast row\ntail"
        block = memoryview(pa.py_buffer(text.encode("utf-8")))
        got = b"".join(bytes(p) for p in redact_module.redact_encoded([block, "\n"])).decode("utf-8")
        assert got == redact_module.redact(text + "\n") and "SECRET" not in got
        for start in range(len(text.encode("utf-8")) + 1):  # the search itself, at every cut
            assert redact_module._holds(block[start:], b"SECRET") == (b"SECRET" in bytes(block[start:]))
    clean = memoryview(pa.py_buffer(b"a\nsk-\xc3\xa9-SECRE\nb"))
    assert any(isinstance(p, memoryview) for p in redact_module.redact_encoded([clean]))


@pytest.fixture(scope="module")
def dropper_report():
    from aptnarrate.examples import path as example_path
    from aptnarrate.pipeline import narrate

    return narrate(example_path("dropper"), backend="offline")


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 3, 5, 1 << 16])
@pytest.mark.parametrize("indent", [2, None])
def test_json_log_blocks_with_and_without_empty_lists_equal_pydantic(dropper_report, rows_per_chunk, indent):
    """Blocks whose rows all have lines and ids on both sides take the fixed-bracket
    layout, the others the general one; mixed in one log, both equal pydantic's text."""
    from aptnarrate.models import LogEntry
    from aptnarrate.preprocess.logtable import LogTable
    from aptnarrate.render.json import render_json_chunks

    entries = list(dropper_report.log)[:6]
    # rows 3 and 7 lack lines, subject ids or object ids; the rest are complete
    odd = [
        LogEntry(id="L90", minute="2018-04-11 23:58", subject_kind="process", subject_name='a"b\\c', action="WRITE",
                 object_kind="file", object_name="x\ny", count=2, text="t", lines=[3], subject_ids=["p:1"], object_ids=[]),
        LogEntry(id="L91", minute="2018-04-11 23:59", subject_kind="process", subject_name="", action="READ",
                 object_kind="file", object_name="f", count=1, text="u", lines=[], subject_ids=[], object_ids=["f:1"]),
    ]
    entries = entries[:3] + odd[:1] + entries[3:6] + odd[1:]
    report = dropper_report.model_copy(update={"log": LogTable.from_entries(entries)})
    pieces = render_json_chunks(report, indent, rows_per_chunk, encoded=True)
    got = "".join(p if isinstance(p, str) else str(p, "utf-8") for p in pieces)
    assert got == report.model_dump_json(indent=indent) + "\n"


def test_take_rows_equals_joining_each_rows_pieces():
    from aptnarrate.render.rows import take_rows

    rng = random.Random(3)
    alphabet = ["a", "\u00e9", "\u65e5", "\U0001f600", "|", "\n", '"', ""]
    word = lambda: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))  # noqa: E731
    for rows in (0, 1, 2, 7, 50):
        distinct = [word() for _ in range(rng.randint(1, 5))]
        codes = np.array([rng.randrange(len(distinct)) for _ in range(rows)], dtype=np.int64)
        own = [word() for _ in range(rows)]
        columns = ["<", (distinct, codes), pa.array(own, pa.string()), (pa.array(distinct, pa.large_string()), codes[::-1].copy()), ";"]
        want = "".join("<" + distinct[codes[i]] + own[i] + distinct[codes[::-1][i]] + ";" for i in range(rows))
        assert take_rows(columns, rows, trim=0) == want
        trimmed = want[:-1] if rows else ""
        assert take_rows(columns, rows, trim=1) == trimmed
        assert bytes(take_rows(columns, rows, trim=1, encoded=True)) == trimmed.encode("utf-8")


def test_distinct_in_place_equals_numpy_unique():
    from aptnarrate.arrays import distinct

    rng = np.random.default_rng(4)
    cases = [np.zeros(0, np.int64), np.array([5], np.int64), np.array([3, 3, 3], np.int64)]
    cases += [rng.integers(0, 50, size=n) for n in (2, 10, 1000)]
    cases += [np.sort(rng.integers(0, 10**12, size=5000)) // 7 * 7 + rng.integers(0, 3, size=5000)]  # nearly in order
    for keys in cases:
        want = np.unique(keys).tolist()
        assert distinct(keys.copy(), in_place=True).tolist() == want


@pytest.mark.parametrize("case", ["dropper", "exfil", "benign"])
def test_log_lines_and_entity_ids_equal_the_plain_per_event_grouping(case):
    """``assemble._log_entries`` groups in arrays; here each event is added to its row by hand."""
    from aptnarrate import examples
    from aptnarrate.assemble import _log_entries
    from aptnarrate.pipeline import inspect_input

    for suffix in ("", ".edges"):
        facts = inspect_input(examples.path(case).with_suffix("").with_suffix(f"{suffix}.csv"))
        table = facts.timeline.table
        triples = table.triples
        rows = len(facts.timeline.log)
        lines: list[list[int]] = [[] for _ in range(rows)]
        subjects: list[set[str]] = [set() for _ in range(rows)]
        objects: list[set[str]] = [set() for _ in range(rows)]
        for row, line, triple in zip(facts.timeline.event_log.tolist(), table.events["line"].tolist(), table.events["triple"].tolist()):
            lines[row].append(line)
            subjects[row].add(str(triples["subject_id"][triple]))
            objects[row].add(str(triples["object_id"][triple]))
        log = _log_entries(facts)
        entries = list(log)
        assert [e.lines for e in entries] == lines
        assert [e.subject_ids for e in entries] == [sorted(s) for s in subjects]
        assert [e.object_ids for e in entries] == [sorted(o) for o in objects]


def test_json_strings_quote_slices_and_empty_strings_as_pydantic():
    """``json_strings`` writes the quotes itself into one buffer: an array sliced at any
    offset, empty strings, no strings at all, and strings that need escapes mixed in."""
    from pydantic_core import to_json

    from aptnarrate.render.json import json_strings

    values = ["", "a", "", "\u00e9\u65e5", 'q"uote', "", "back\\slash", "tab\there", "plain", ""]
    whole = pa.array(values, pa.large_string())
    for start in range(len(values) + 1):
        for length in range(len(values) - start + 1):
            got = json_strings(whole.slice(start, length)).to_pylist()
            assert got == [to_json(v).decode("utf-8") for v in values[start : start + length]]
    assert json_strings(pa.array(["", ""], pa.string())).to_pylist() == ['""', '""']
    assert json_strings([]).to_pylist() == []


def test_take_rows_gathers_only_the_pieces_a_block_uses():
    """A block with fewer rows than a column's distinct pieces gathers only those its rows
    use (list or Arrow pieces, codes in any order, repeated): same text as joining them."""
    from aptnarrate.render.rows import coded, take_rows

    rng = np.random.default_rng(5)
    distinct = [f"<{i}:\u00e9>" for i in range(3000)]
    arrow = pa.array(distinct, pa.string())
    for rows in (1, 2, 17, 2999, 3000, 4000):
        codes = rng.integers(0, len(distinct), size=rows)
        codes[: rows // 3] = codes[0]  # repeated codes
        other = rng.permutation(len(distinct))[: rows % len(distinct) or 1].repeat(rows)[:rows]
        columns = ["[", (distinct, codes), ",", (arrow, other), "]\n"]
        want = "".join(f"[{distinct[a]},{distinct[b]}]\n" for a, b in zip(codes.tolist(), other.tolist()))
        assert take_rows(columns, rows) == want
        assert bytes(take_rows(columns, rows, trim=1, encoded=True)) == want[:-1].encode("utf-8")
        used, local = coded(codes)
        want_used, want_local = np.unique(codes, return_inverse=True)
        assert used.tolist() == want_used.tolist() and local.tolist() == want_local.tolist()


@pytest.fixture(scope="module")
def many_row_report(dropper_report):
    """A report whose log spans several default blocks (ROWS_PER_BLOCK rows each), with more
    distinct descriptions and minutes than a block has rows, and names that need escapes
    (and ids, in the first block only: the others' ids are plain)."""
    from aptnarrate.models import LogEntry
    from aptnarrate.preprocess.logtable import LogTable
    from aptnarrate.render.json import ROWS_PER_BLOCK

    rng = random.Random(11)
    rows = 2 * ROWS_PER_BLOCK + 777
    names = [f"/srv/app{i}/bin" for i in range(ROWS_PER_BLOCK + 500)] + ['a"b', "c\\d", "e\nf", "\u00e9\u65e5"]
    entries = [
        LogEntry(
            id=f"L{i}" if i % 7 or i > 300 else f'L"{i}\\', minute=f"2024-01-{1 + i % 28:02d} {i // 60 % 24:02d}:{i % 60:02d}", subject_kind="process",
            subject_name=rng.choice(names), action=rng.choice(["READ", "WRITE", "EXECUTE"]), object_kind="file",
            object_name=names[i % len(names)], count=rng.choice([1, 1, 2, 7, 1000]), text=f"event {i % 9000}",
            lines=sorted(rng.sample(range(1, 10**6), rng.randint(1, 4))),
            subject_ids=[f"p:{rng.randint(1, 50)}"], object_ids=sorted({f"f:{rng.randint(1, 9000)}" for _ in range(2)}),
        )
        for i in range(rows)
    ]
    return dropper_report.model_copy(update={"log": LogTable.from_entries(entries)})


@pytest.mark.parametrize("indent", [2, None])
def test_json_log_in_default_blocks_equals_one_block_and_pydantic(many_row_report, indent):
    """Blocks of the default size equal the log rendered as one block, and pydantic's text;
    the rows and the report around them come as bytes."""
    from aptnarrate.render.json import ROWS_PER_BLOCK, render_json_chunks

    report = many_row_report
    assert len(report.log) > 2 * ROWS_PER_BLOCK
    pieces = list(render_json_chunks(report, indent, encoded=True))
    blocks = [p for p in pieces if isinstance(p, memoryview)]
    assert len(blocks) == 2 + 3  # the report before and after the log, three blocks of rows
    text = "".join(p if isinstance(p, str) else str(p, "utf-8") for p in pieces)
    one = "".join(render_json_chunks(report, indent, rows_per_chunk=len(report.log)))
    assert text == one == report.model_dump_json(indent=indent) + "\n"



def _stdout(monkeypatch, encoding: str):
    """A stand-in for sys.stdout: a text stream over bytes, counting its text writes."""
    import io

    class Counting(io.TextIOWrapper):
        text_writes = 0

        def write(self, text):
            Counting.text_writes += 1
            return super().write(text)

    raw = io.BytesIO()
    stream = Counting(raw, encoding=encoding, newline="\n")
    monkeypatch.setattr("sys.stdout", stream)
    return stream, raw


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "latin-1"])
def test_stdout_gets_the_bytes_of_the_text_with_secrets_masked(monkeypatch, encoding):
    """``write_chunks(..., None)`` on a UTF-8 stdout writes the renderer's bytes to its
    byte stream (no decode and encode of every row: 0.1 s of a 1M-row inspect); the bytes
    are those the text path writes, secrets masked; another encoding keeps the text path."""
    from aptnarrate.output import write_chunks

    monkeypatch.setattr(redact_module, "_SECRETS", set())
    redact_module.register_secret("hunter2-secret")
    pieces = ["before é\n", memoryview("rows hunter2-secret\nmore ü\n".encode()), "x://u:p@h\nend"]
    expected = "before é\nrows ***\nmore ü\nx://***@h\nend"
    stream, raw = _stdout(monkeypatch, encoding)
    stream.write("printed first\n")
    write_chunks(pieces, None)
    stream.flush()
    assert raw.getvalue() == ("printed first\n" + expected).encode(encoding)
    fast = encoding.lower().replace("-", "") == "utf8"
    assert (type(stream).text_writes == 1) is fast  # only the print went through the text layer
