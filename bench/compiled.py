"""Benchmarks time aptnarrate as an installed copy runs: with its modules' bytecode on disk.

pip writes the bytecode when it installs a wheel. An editable checkout never gets it
written under ``PYTHONDONTWRITEBYTECODE=1``, as on the development VM. Every process then
compiles each module again, about 0.15 s at start. The floors' packages (pandas, polars)
come from wheels and have their bytecode already.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aptnarrate"


def ensure_bytecode() -> None:
    """Write the checkout's bytecode (py_compile writes it whatever the environment says)."""
    compileall.compile_dir(str(PACKAGE), quiet=1)
