"""Fuzzing the host level from the outside (session 8): batch, the story, the library used
from a notebook. Each case here failed before its fix.
"""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest
from llm_server import clear_model_settings

from aptnarrate.cli import main
from aptnarrate.examples import path as example_path


def _run(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in this process: (exit code, stdout, stderr); argparse's exits included."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def no_model_settings(monkeypatch):
    clear_model_settings(monkeypatch)


# --------------------------------------------------------------------------- batch outputs


def test_an_input_named_story_csv_is_refused_only_when_the_story_would_replace_it(tmp_path):
    """``batch story.csv -o ITS_FOLDER --formats md,csv`` was refused ("writing story.csv
    would replace the input") although without --story no story.csv is written."""
    original = example_path("exfil").read_bytes()
    (tmp_path / "story.csv").write_bytes(original)
    argv = ["batch", str(tmp_path / "story.csv"), "-o", str(tmp_path), "--backend", "offline", "--formats", "md,csv"]
    code, _, err = _run(argv)
    assert code == 0, err
    assert (tmp_path / "story.csv").read_bytes() == original
    assert (tmp_path / "story-input.csv").is_file() and not (tmp_path / "story.md").exists()
    code, _, err = _run([*argv, "--story"])
    assert code == 2 and "story.csv" in err and "would replace the input" in err
    assert (tmp_path / "story.csv").read_bytes() == original


def test_a_batch_removes_only_its_own_leftover_temp_files_from_outdir(tmp_path):
    """A batch removed every file of OUTDIR whose name starts with a dot and ends in .tmp
    (``-o .`` deleted a user's ``.draft.tmp``); only the temp files ``write_text`` makes for
    the batch's own outputs (``.NAME.XXXXXXXX.tmp``) are leftovers of a killed run."""
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(example_path("dropper"), tmp_path / "dropper.csv")
    users = {".draft.tmp": "mine", ".notes.md.tmp": "mine too", ".other.md.abcdefgh.tmp": "not a batch output"}
    for name, text in users.items():
        (out / name).write_text(text)
    (out / ".dropper.md.k3j_x9q1.tmp").write_text("half a report")  # what a SIGKILL mid-write leaves
    (out / ".index.json.0a1b2c3d.tmp").write_text("half an index")
    code, _, err = _run(["batch", str(tmp_path / "dropper.csv"), "-o", str(out), "--backend", "offline"])
    assert code == 0, err
    assert "removed 2 temp file(s)" in err
    assert {p.name: p.read_text() for p in out.iterdir() if p.name.endswith(".tmp")} == users
