"""Writing outputs: every file aptnarrate writes goes through ``write_text``.

One mechanism for ``report -o``, ``batch`` and every renderer, so these guarantees hold
everywhere alike:

* a regular file (or a new path) is replaced atomically: the text goes to a temp file in
  the same directory, is fsync'ed, then renamed over the target. Readers see the old file
  or the new one, never half of one. Any failure or interrupt (Ctrl-C included) removes the
  temp file and leaves the old file as it was;
* registered secrets (see ``redact``) never reach stdout or a file;
* a new file gets the permissions the umask allows (0666 & ~umask, like ``>`` in a shell);
  an existing file keeps its mode;
* a symbolic link is followed: its target is written (replaced atomically as above), the
  link stays;
* a FIFO or character device (``/dev/stdout``, ``/dev/null``, a named pipe) is opened and
  written into, never replaced; any other non-regular file (a directory, a socket, a
  block device) is refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import UsageError
from .redact import redact_chunks, redact_encoded


def write_text(text: str, output: str | os.PathLike[str] | None) -> None:
    """Write ``text`` to ``output`` (stdout for None or ``-``), atomically for a file.

    Registered secrets (the API key, a password in the base URL) are masked first.
    """
    write_chunks((text,), output)


def write_chunks(chunks: Iterable[str | bytes | memoryview], output: str | os.PathLike[str] | None) -> None:
    """``write_text("".join(chunks), output)`` without ever holding the joined text: the
    pieces are redacted and written one by one (a 10M-row report's log is 1.2 GB of JSON).
    A piece may be text or UTF-8 bytes: a renderer's blocks of rows come as the bytes
    Arrow built, and reach a file without being decoded or copied (see
    ``redact.redact_encoded``). The same guarantees hold: a file is replaced atomically,
    or left as it was."""
    if output is None or str(output) == "-":
        binary = _utf8_stdout_bytes()
        try:
            if binary is not None:  # the bytes the text would encode to, written as they are
                sys.stdout.flush()  # what was printed before comes first
                for piece in redact_encoded(chunks):
                    binary.write(piece)
                binary.flush()
                return
            # stdout as text: its own encoding and error handling apply, as for print
            for piece in redact_chunks(piece if isinstance(piece, str) else str(piece, "utf-8") for piece in chunks):
                sys.stdout.write(piece)
            sys.stdout.flush()
        except BrokenPipeError:
            raise  # a reader that stopped reading (``| head``): the CLI ends quietly
        except OSError as exc:  # a full disk behind a redirect (> /dev/full), an I/O error
            _drop_stdout_buffer()
            raise UsageError(f"cannot write to standard output: {exc.strerror or exc}") from None
        return
    shown = str(output)
    target = Path(os.path.realpath(output))  # through symlinks: the link stays, its target changes
    data = redact_encoded(chunks)
    try:
        try:
            existing = os.stat(target)
        except FileNotFoundError:
            existing = None
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            _write_into_special(target, existing.st_mode, data, shown)
            return
        _replace_atomically(target, data, None if existing is None else stat.S_IMODE(existing.st_mode))
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {exc.strerror or exc}") from None


def _utf8_stdout_bytes():
    """stdout's byte stream, when writing UTF-8 bytes to it gives what writing the text
    would: a UTF-8 text stream without newline translation (POSIX). A renderer's blocks of
    rows are UTF-8 already; through the text layer each was decoded, searched for secrets
    as text and encoded again (0.1 s of a 1M-row ``inspect``). Else (another encoding, a
    stream without bytes underneath, such as a test's StringIO) None: the text path."""
    import codecs

    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if binary is None or os.linesep != "\n" or not isinstance(encoding, str):
        return None
    try:
        return binary if codecs.lookup(encoding).name == "utf-8" else None
    except LookupError:
        return None


def _drop_stdout_buffer() -> None:
    """Point stdout at /dev/null: what is still buffered for a stream that failed would fail
    again when Python flushes it at exit (and print a traceback there)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _write_all(handle, data: bytes | Iterable[bytes | memoryview]) -> None:
    for piece in (data,) if isinstance(data, bytes) else data:
        handle.write(piece)


def _write_into_special(target: Path, mode: int, data: bytes | Iterable[bytes], shown: str) -> None:
    if stat.S_ISDIR(mode):
        raise UsageError(f"cannot write {shown}: it is a directory", hint="give a file name")
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        raise UsageError(f"cannot write {shown}: not a regular file, FIFO or character device")
    # O_APPEND: /dev/stdout redirected to a file must not clobber what is already there
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "wb") as handle:
        _write_all(handle, data)


def _replace_atomically(target: Path, data: bytes | Iterable[bytes], keep_mode: int | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # the temp name starts with at most 200 bytes of the target's: a legal name of up to 255
    # bytes would otherwise make the temp name too long to create ("File name too long")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_temp_prefix(target.name), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), keep_mode if keep_mode is not None else 0o666 & ~current_umask())
            _write_all(handle, data)
            handle.flush()
            os.fsync(handle.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, target)
    except BaseException:  # an interrupt too: never leave a temp file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_directory(target.parent)


def current_umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, briefly, for every thread)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)  # elsewhere: set and restore
    os.umask(current)
    return current


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (best effort: some file systems cannot fsync a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


TEMP_SUFFIX = ".tmp"
# what ``tempfile.mkstemp`` puts between the prefix and the suffix: 8 of these characters
_TEMP_RANDOM = re.compile(r"\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + r"\Z")


def _temp_prefix(name: str) -> str:
    """The start of the temp file name ``write_text`` uses for a file called ``name``."""
    return "." + os.fsencode(name)[:200].decode("utf-8", "ignore") + "."


def remove_stale_temp_files(folder: str | os.PathLike[str], names: Iterable[str] | None = None) -> int:
    """Remove temp files ``write_text`` left in ``folder`` when a process was killed
    (SIGKILL gives no chance to clean up). Returns how many were removed.

    Only names of that exact shape (``.NAME.XXXXXXXX.tmp``, as ``mkstemp`` makes them) are
    touched, and with ``names`` only those of the files named (the outputs of a batch), so
    a file of the user's that merely starts with a dot and ends in ``.tmp`` stays."""
    prefixes = None if names is None else {_temp_prefix(name) for name in names}
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = _TEMP_RANDOM.search(entry.name)
        if match is None or not entry.name.startswith(".") or match.start() < 2:
            continue
        if prefixes is not None and entry.name[: match.start() + 1] not in prefixes:
            continue
        if entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed
