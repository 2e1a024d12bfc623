"""Writing outputs: every file aptnarrate writes goes through ``write_text``.

One mechanism for ``report -o``, ``batch`` and every renderer, so the guarantees
(atomic replace, no temp file left behind, what happens to links, FIFOs and devices,
permissions) hold everywhere alike.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .errors import UsageError


def write_text(text: str, output: str | os.PathLike[str] | None) -> None:
    """Write ``text`` to ``output`` (stdout for None or ``-``), atomically for a file."""
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(output)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
