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
