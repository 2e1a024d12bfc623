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
    pending = ""
    for chunk in chunks:
        pending += chunk
        cut = pending.rfind("\n") + 1
        if cut:
            yield redact(pending[:cut])
            pending = pending[cut:]
    if pending:
        yield redact(pending)
