"""Keep secrets out of everything aptnarrate shows or writes.

The API key and any password in a base URL are registered when settings are loaded or a
transport is built; ``redact`` masks every registered secret in a text, and credentials in
any ``scheme://user:password@host`` URL. Applied to error messages, notices, ``--debug``
tracebacks, recordings and written outputs, so a provider that echoes the key in an error,
or a key carried in the base URL, never reaches the terminal or a file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from urllib.parse import unquote, urlsplit

MASK = "***"
_MIN_SECRET_LENGTH = 4  # shorter values ("x", "1") would mask ordinary text and hide nothing
_SECRETS: set[str] = set()
_LOCK = threading.Lock()
# anchored on the literal "://" (not on the scheme's letters, which would backtrack over
# every long run of letters: quadratic on attacker-chosen names); userinfo stops at "/"
_URL_CREDENTIALS = re.compile(r"://(?P<userinfo>[^/\s@]+)@")


def register_secret(value: str | None) -> None:
    """Mask ``value`` (and its URL-encoded form) in every later ``redact``."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _LOCK:
        _SECRETS.add(value)
        decoded = unquote(value)
        if len(decoded) >= _MIN_SECRET_LENGTH:
            _SECRETS.add(decoded)


def register_url(url: str | None) -> None:
    """Register the password a URL carries, if any."""
    if not url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    # the password only: a user name ("analyst") is no secret, and masking it everywhere would
    # corrupt ordinary text (a recorded prompt saying "security analyst" would no longer
    # match its hash); in a URL the whole user part is masked by ``redact`` anyway
    register_secret(parts.password)


def redact(text: str) -> str:
    """``text`` with registered secrets and URL credentials masked."""
    if not text:
        return text
    if "://" in text:  # a plain search first: most texts hold no URL at all
        text = _URL_CREDENTIALS.sub(f"://{MASK}@", text)
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)  # longest first: no partial leftovers
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_url(url: str) -> str:
    """A URL fit to show: credentials masked."""
    return _URL_CREDENTIALS.sub(f"://{MASK}@", url)


def redact_chunks(chunks: Iterable[str]) -> Iterator[str]:
    """``redact`` over a text given in pieces, equal to ``redact("".join(chunks))`` without
    joining it: the text is cut only after a line break, which neither a URL's credentials
    nor (checked here) any registered secret can span, so each cut piece is redacted alone."""
    with _LOCK:
        spans_lines = any("\n" in secret for secret in _SECRETS)
    if spans_lines:  # pragma: no cover - a secret with a line break: redact the whole text
        yield redact("".join(chunks))
        return
    pending: list[str] = []  # the text since the last line break (a partial line: short)
    for chunk in chunks:
        cut = chunk.rfind("\n") + 1
        if not cut:
            pending.append(chunk)
            continue
        head = "".join(pending)
        text, cut = (head + chunk, cut + len(head)) if head else (chunk, cut)
        yield redact(text[:cut])  # the whole chunk, not a copy, when it ends a line
        pending = [text[cut:]] if cut < len(text) else []
    if pending:
        yield redact("".join(pending))


# ``redact_encoded``'s test of a block of UTF-8 bytes: it finds every place the text
# pattern matches (and more: ``\s`` is ASCII here), so a block it passes is unchanged by
# ``redact``
_URL_CREDENTIALS_BYTES = re.compile(rb"://[^/\s@]+@")


def redact_encoded(chunks: Iterable[str | bytes | memoryview]) -> Iterator[bytes | memoryview]:
    """``redact_chunks`` for a writer of bytes: the pieces are text, or UTF-8 bytes (the
    large blocks of rows a renderer takes straight from Arrow); the result, as UTF-8 bytes,
    is ``redact`` of the whole text. The whole lines inside a bytes piece are passed on as
    they are (not decoded, copied or encoded) when they hold no URL credentials and no
    registered secret; its first and last lines, which may continue the pieces around it,
    are redacted with them as text."""
    with _LOCK:
        secrets = list(_SECRETS)
    if any("\n" in secret for secret in secrets):  # pragma: no cover - see redact_chunks
        yield redact("".join(_text(chunk) for chunk in chunks)).encode("utf-8")
        return
    found = [s.encode("utf-8", "surrogatepass") for s in secrets]

    def cleared(lines: memoryview) -> bytes | memoryview:
        # URL credentials end in "@": a block without one (a log's rows, mostly) needs no
        # regex pass, which costs ten times the byte test
        credentials = _holds(lines, b"@") and _URL_CREDENTIALS_BYTES.search(lines)
        if credentials or any(_holds(lines, secret) for secret in found):
            return redact(str(lines, "utf-8")).encode("utf-8")
        return lines

    text_pieces: list[str] = []
    for chunk in chunks:
        if isinstance(chunk, str):
            text_pieces.append(chunk)
            continue
        block = memoryview(chunk)
        first = _line_break(block, last=False)
        if first < 0:
            text_pieces.append(str(block, "utf-8"))
            continue
        last = _line_break(block, last=True)
        text_pieces.append(str(block[: first + 1], "utf-8"))
        yield from _redact_text(text_pieces)
        if last > first:
            yield cleared(block[first + 1 : last + 1])
        text_pieces = [str(block[last + 1 :], "utf-8")]
    yield from _redact_text(text_pieces)


def _redact_text(pieces: list[str]) -> Iterator[bytes]:
    for piece in redact_chunks(pieces):
        yield piece.encode("utf-8")


def _holds(block: memoryview, needle: bytes) -> bool:
    """Whether ``block`` holds ``needle``, searched by ``bytes.find``'s fast search (a regex
    scans a literal four times slower) in windows copied out one at a time: the copy
    stays small and in cache (a copy of the whole block would be fresh memory)."""
    overlap = len(needle) - 1  # a needle cut by a window's end is whole in the next one
    return any(needle in bytes(block[start : start + _WINDOW + overlap]) for start in range(0, len(block), _WINDOW))


_WINDOW = 1 << 18


def _line_break(block: memoryview, *, last: bool) -> int:
    """Index of the first (or last) line break in ``block``, -1 if none. Only the bytes up
    to it are read, in growing windows: lines are short, but one may be long."""
    size = 1024
    while True:
        if last:
            start = max(len(block) - size, 0)
            at = bytes(block[start:]).rfind(b"\n")
            if at >= 0:
                return start + at
            if start == 0:
                return -1
        else:
            at = bytes(block[:size]).find(b"\n")
            if at >= 0:
                return at
            if size >= len(block):
                return -1
        size *= 4


def _text(chunk: str | bytes | memoryview) -> str:
    return chunk if isinstance(chunk, str) else str(chunk, "utf-8")
