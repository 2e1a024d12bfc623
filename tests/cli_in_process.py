"""Run the CLI in this process, as the fuzz tests do: cheaper than a subprocess per case."""

from __future__ import annotations

import contextlib
import io

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
