"""Run the CLI in this process, as the fuzz tests do: cheaper than a subprocess per case.

A subprocess pays the interpreter's start and every import again (two to eight seconds on
a loaded two-core machine); in this process a command costs its own work. Tests keep a
real process only for what only one can show: the entry point, signals, the exit status
of the process itself, stdin as a pipe (``run_cli(..., process=True)``).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_server import MODEL_SETTINGS

from aptnarrate.cli import main


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in this process: (exit code, stdout, stderr); argparse's exits included."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def refused(argv: list[str], code: int, *fragments: str) -> str:
    """Run ``argv``, which must end in exit ``code`` with a message (no internal error, no
    traceback) holding every one of ``fragments``; that stderr."""
    got, _, err = run_main(argv)
    assert got == code, err
    assert "internal error" not in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def run_cli(
    *args: str,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    process: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """``aptnarrate ARGS`` as a user runs it: the environment without model settings, plus
    ``env``; in ``cwd``; ``stdin`` as its input. Returns what ``subprocess.run`` would, with
    bytes. In this process unless ``process``; the environment, working folder and
    standard streams are restored afterwards."""
    if process:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(MODEL_SETTINGS)}
        environment.update(env or {})
        return subprocess.run([sys.executable, "-m", "aptnarrate", *args], input=stdin, capture_output=True, env=environment, cwd=cwd, timeout=timeout)
    out, err = io.BytesIO(), io.BytesIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith(MODEL_SETTINGS)]:
            patch.delenv(name)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        if cwd is not None:
            patch.chdir(cwd)
        # text streams over bytes, as a process's pipes are (UTF-8, "\n" kept as written)
        stdout = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        stderr = io.TextIOWrapper(err, encoding="utf-8", newline="", write_through=True)
        patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8"))
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's exits (--help, usage errors)
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            stdout.flush()
            stderr.flush()
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())
