"""The report path after facts does per-value work once per distinct value, and streams
its largest outputs (issue 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aptnarrate.rules import fanout


def test_sweep_found_from_first_contacts():
    minute = 60 * 10**9
    hosts = [f"10.0.0.{i}" for i in range(1, 6)]
    rows = pd.DataFrame(
        {
            "subject_name": ["nmap"] * 10,
            "object_kind": ["flow"] * 10,
            "action": ["CONNECT"] * 10,
            "event": ["network_out"] * 10,
            # each host twice: the first contacts lie within a few minutes, the repeats far later
            "object_name": hosts + hosts,
            "minute": np.array([i * minute for i in range(5)] + [500 * minute + i for i in range(5)], dtype=np.int64),
        }
    )
    found = fanout.sweeps(rows)
    assert [(s["subject"], s["subnet"], s["hosts"]) for s in found] == [("nmap", "10.0.0.0/24", hosts)]
    assert len(found[0]["rows"]) == 10


# ---------------------------------------------------------------------- streamed output

import pytest  # noqa: E402

from aptnarrate import redact as redact_module  # noqa: E402
from aptnarrate.output import write_chunks  # noqa: E402


@pytest.fixture(scope="module")
def dropper_report():
    from aptnarrate.examples import path as example_path
    from aptnarrate.pipeline import narrate

    return narrate(example_path("dropper"), backend="offline")


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 5, 1 << 16])
def test_chunked_renderers_equal_the_whole_text(dropper_report, rows_per_chunk):
    from aptnarrate.render.json import render_json, render_json_chunks
    from aptnarrate.render.markdown import render_markdown, render_markdown_chunks

    for indent in (2, None):
        chunks = list(render_json_chunks(dropper_report, indent, rows_per_chunk))
        assert "".join(chunks) == render_json(dropper_report, indent) == dropper_report.model_dump_json(indent=indent) + "\n"
        if rows_per_chunk == 1:
            assert len(chunks) > len(dropper_report.log)  # the log really came in pieces
    for diagram in (False, True):
        chunks = list(render_markdown_chunks(dropper_report, diagram=diagram, rows_per_chunk=rows_per_chunk))
        assert "".join(chunks) == render_markdown(dropper_report, diagram=diagram)


def test_redact_chunks_masks_secrets_cut_across_pieces(monkeypatch):
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    redact_module.register_secret("sk-test-SECRET-0123")
    text = "a\nkey sk-test-SECRET-0123 here\nurl http://user:pw@example.org/x\nsk-test-SECRET-0123"
    want = redact_module.redact(text)
    assert "SECRET" not in want and "pw@" not in want
    for size in (1, 2, 3, 7, 11, len(text)):
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        assert "".join(redact_module.redact_chunks(pieces)) == want, size


def test_write_chunks_writes_atomically_and_redacts(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(redact_module, "_SECRETS", set())
    redact_module.register_secret("hunter2-secret")
    target = tmp_path / "out.md"
    target.write_text("old")
    write_chunks(["x hunter2-", "secret\n", "y\n"], target)
    assert target.read_text() == "x ***\ny\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]  # no temp file left

    def failing():
        yield "partial\n"
        raise RuntimeError("renderer failed")

    with pytest.raises(RuntimeError):
        write_chunks(failing(), target)
    assert target.read_text() == "x ***\ny\n"  # the old file, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]
    write_chunks(["to ", "stdout hunter2-secret\n"], "-")
    assert capsys.readouterr().out == "to stdout ***\n"


def test_a_pattern_row_test_limited_to_some_rows_runs_only_for_their_descriptions():
    """``LogView.pattern_mask(test, where)``: the test runs once per description under
    the mask (covering_tracks reads it at the deleted rows only), rows outside read False,
    and rows under it equal the unrestricted mask."""
    from aptnarrate.examples import path as example_path
    from aptnarrate.pipeline import inspect_input
    from aptnarrate.rules.stages import LogView

    view = LogView(inspect_input(example_path("dropper")))
    deleted = view.rows["event"] == "file_delete"
    assert deleted.any() and not deleted.all()
    seen = []

    def test(row) -> bool:
        seen.append(row)
        return True

    limited = view.pattern_mask(test, deleted)
    codes = set(view._codes[deleted].tolist())
    assert len(seen) == len(codes) < len(view.pattern_rows)
    assert limited.tolist() == deleted.tolist()
    by_subject = lambda r: r.subject.startswith(view.pattern_rows[view._codes[deleted][0]].subject)  # noqa: E731
    full = view.pattern_mask(by_subject)
    assert view.pattern_mask(by_subject, deleted)[deleted].tolist() == full[deleted].tolist()


@pytest.mark.parametrize("layout", [None, "edges"])
def test_log_provenance_computed_ahead_equals_on_demand(monkeypatch, layout):
    """``run(..., log_provenance_ahead=True)`` (the CLI's JSON report) computes the log's
    input lines and entity ids on a thread while the narration runs; the report renders
    byte for byte as when they are computed on first read."""
    from aptnarrate import assemble
    from aptnarrate.examples import path as example_path
    from aptnarrate.pipeline import run
    from aptnarrate.render.json import render_json

    import threading

    started = []
    computed_on = []
    real_provenance = assemble._provenance

    def on_a_thread(function):
        started.append(function)
        return real_on_a_thread(function)

    def provenance(*args):
        computed_on.append(threading.current_thread().name)
        return real_provenance(*args)

    real_on_a_thread = assemble._on_a_thread
    monkeypatch.setattr(assemble, "_on_a_thread", on_a_thread)
    monkeypatch.setattr(assemble, "_provenance", provenance)
    source = example_path("dropper", layout) if layout else example_path("dropper")
    plain = run(source, backend="offline").report
    plain_json = render_json(plain)
    assert not started and computed_on == [threading.current_thread().name]
    ahead = run(source, backend="offline", log_provenance_ahead=True).report
    assert len(started) == 1
    assert render_json(ahead) == plain_json
    assert len(computed_on) == 2 and computed_on[1].startswith("aptnarrate-log-provenance")


def test_log_provenance_failing_on_its_thread_fails_the_reader(monkeypatch):
    """An error computing the provenance ahead is raised where the log's lines are read
    (the renderer), not lost on the worker thread."""
    from aptnarrate import assemble
    from aptnarrate.examples import path as example_path
    from aptnarrate.pipeline import run
    from aptnarrate.render.json import render_json

    def broken(*args):
        raise RuntimeError("provenance failed")

    monkeypatch.setattr(assemble, "_provenance", broken)
    report = run(example_path("dropper"), backend="offline", log_provenance_ahead=True).report
    with pytest.raises(RuntimeError, match="provenance failed"):
        render_json(report)
