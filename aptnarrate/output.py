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
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:  # any exit before the rename, Ctrl-C included: no temp file left
            try:
                os.unlink(tmp)
            except OSError:
                pass


TEMP_SUFFIX = ".tmp"


def remove_stale_temp_files(folder: str | os.PathLike[str]) -> int:
    """Remove temp files ``write_text`` left in ``folder`` when a process was killed
    (SIGKILL gives no chance to clean up). Returns how many were removed."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed
