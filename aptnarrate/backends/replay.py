"""Record and replay chat exchanges, keyed by the digest of the canonical request.

A fixture file ``<digest>.json`` holds::

    {"request": <ChatRequest.canonical()>,
     "response": {"content", "refusal", "finish_reason", "model",
                  "usage": {"prompt_tokens", "completion_tokens"}},
     "metadata": {"source": "recorded" | "hand-written", "recorded_at", "aptnarrate_version"}}

Never a key, never a header. A replay miss is loud: it names the digest and shows how the
request differs from the nearest recorded one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from ..llm.chat import ChatRequest, ChatResponse, ChatTransport
from ..errors import BackendError, ConfigError

_RESPONSE_KEYS = ("content", "refusal", "finish_reason", "model")
_DIFF_LINES = 40
_DIFF_CHARS = 3000


def canonical_digest(canonical: dict) -> str:
    """Same digest as ``ChatRequest.digest`` computed from a stored canonical request."""
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def response_record(response: ChatResponse) -> dict:
    return {
        "content": response.content,
        "refusal": response.refusal,
        "finish_reason": response.finish_reason,
        "model": response.model,
        "usage": {"prompt_tokens": response.prompt_tokens, "completion_tokens": response.completion_tokens},
        "latency_s": response.latency_s,
    }


def _version() -> str:
    from .. import __version__

    return __version__


class RecordingTransport:
    """Wraps a transport and writes every exchange to ``directory`` (atomically)."""

    def __init__(self, inner: ChatTransport, directory: str | Path) -> None:
        self.inner = inner
        self.directory = Path(directory)
        self.name = inner.name

    def complete(self, request: ChatRequest) -> ChatResponse:
        response = self.inner.complete(request)
        record = {
            "request": request.canonical(),
            "response": response_record(response),
            "metadata": {
                "source": "recorded",
                "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "aptnarrate_version": _version(),
            },
        }
        self._write(self.directory / f"{request.digest()}.json", record)
        return response

    def _write(self, path: Path, record: dict) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            from ..redact import redact  # a provider that echoes the key must not put it on disk

            text = redact(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise BackendError(f"cannot write recording {path}: {exc}", hint="check --record DIR") from None


class ReplayTransport:
    """Serves recorded responses by request digest; fails loudly on a miss."""

    name = "replay"

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ConfigError(f"fixtures directory not found: {self.directory}", hint="pass --fixtures DIR")
        self.fixtures: dict[str, tuple[Path, dict]] = {}
        for path in sorted(self.directory.glob("*.json")):
            record = load_fixture(path)
            self.fixtures[path.stem] = (path, record)

    def complete(self, request: ChatRequest) -> ChatResponse:
        digest = request.digest()
        found = self.fixtures.get(digest)
        if found is None:
            raise BackendError(self.miss_message(request, digest))
        path, record = found
        response = record["response"]
        usage = response.get("usage") or {}
        return ChatResponse(
            content=response["content"],
            refusal=response["refusal"],
            finish_reason=response["finish_reason"],
            model=response["model"],
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            # the recorded latency (0 for hand-written fixtures), so replays are reproducible
            latency_s=float(response.get("latency_s") or 0.0),
            extra={"fixture": path.name, "source": record.get("metadata", {}).get("source", "unknown")},
        )

    def miss_message(self, request: ChatRequest, digest: str) -> str:
        head = (
            f"no recorded response for request {digest} in {self.directory} "
            "(record one with --record DIR, or update the fixture)"
        )
        if not self.fixtures:
            return head + " (the directory holds no fixtures)"
        wanted = request.canonical()
        _, (path, record) = min(
            self.fixtures.items(), key=lambda item: _distance(wanted, item[1][1]["request"])
        )
        return head + f"\nnearest recorded request: {path.name}\n" + describe_difference(record["request"], wanted)


def load_fixture(path: Path) -> dict:
    """Read and check one fixture file; any problem names the file."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BackendError(f"fixture {path}: not readable JSON: {exc}") from None
    problem = _fixture_problem(record)
    if problem:
        raise BackendError(f"fixture {path}: {problem}")
    expected = canonical_digest(record["request"])
    if path.stem != expected:
        raise BackendError(
            f"fixture {path}: its request hashes to {expected}, not to its file name",
            hint=f"rename it to {expected}.json, or restore the request it was recorded for",
        )
    return record


def _fixture_problem(record: object) -> str | None:
    if not isinstance(record, dict):
        return "expected a JSON object with 'request', 'response' and 'metadata'"
    for key in ("request", "response"):
        if not isinstance(record.get(key), dict):
            return f"missing or invalid '{key}' object"
    response = record["response"]
    missing = [key for key in _RESPONSE_KEYS if key not in response]
    if missing:
        return f"response lacks {', '.join(missing)}"
    if not isinstance(response["finish_reason"], str):
        return "response.finish_reason must be a string"
    for key in ("content", "refusal"):
        if response[key] is not None and not isinstance(response[key], str):
            return f"response.{key} must be a string or null"
    usage = response.get("usage", {})
    if not isinstance(usage, dict) or any(not isinstance(usage.get(k, 0), int) for k in ("prompt_tokens", "completion_tokens")):
        return "response.usage must hold integer prompt_tokens and completion_tokens"
    if not isinstance(record["request"].get("messages"), list):
        return "request.messages must be a list"
    return None


def _distance(wanted: dict, recorded: dict) -> tuple[int, int, float]:
    """Fewer differing fields first, then more identical messages, then closer text."""
    fields = set(wanted) | set(recorded)
    differing = sum(wanted.get(key) != recorded.get(key) for key in fields)
    ours, theirs = wanted.get("messages") or [], recorded.get("messages") or []
    same = sum(a == b for a, b in zip(ours, theirs))
    first = _first_difference(ours, theirs)
    closeness = 0.0
    if first is not None and first < min(len(ours), len(theirs)):
        closeness = difflib.SequenceMatcher(
            None, str(ours[first].get("content")), str(theirs[first].get("content")), autojunk=True
        ).quick_ratio()
    return differing, -same, -closeness


def _first_difference(ours: list, theirs: list) -> int | None:
    for index, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            return index
    return None if len(ours) == len(theirs) else min(len(ours), len(theirs))


def describe_difference(recorded: dict, wanted: dict) -> str:
    """Which top-level fields differ, and a short diff of the first differing message."""
    fields = sorted(key for key in set(recorded) | set(wanted) if recorded.get(key) != wanted.get(key))
    lines = [f"fields that differ: {', '.join(fields) or 'none'}"]
    for key in fields:
        if key not in ("messages", "schema"):
            lines.append(f"  {key}: recorded {recorded.get(key)!r}, requested {wanted.get(key)!r}")
    if "schema" in fields:
        lines.append("  schema: the response schema changed")
    if "messages" in fields:
        ours, theirs = wanted.get("messages") or [], recorded.get("messages") or []
        index = _first_difference(ours, theirs)
        if len(ours) != len(theirs):
            lines.append(f"  messages: recorded {len(theirs)}, requested {len(ours)}")
        if index is not None and index < min(len(ours), len(theirs)):
            old, new = theirs[index], ours[index]
            lines.append(f"  first differing message: #{index} ({new.get('role')})")
            diff = difflib.unified_diff(
                str(old.get("content")).splitlines(),
                str(new.get("content")).splitlines(),
                fromfile="recorded",
                tofile="requested",
                lineterm="",
                n=1,
            )
            lines.extend(_truncate(list(diff)))
    return "\n".join(lines)


def _truncate(diff: list[str]) -> list[str]:
    kept, size = [], 0
    for line in diff[:_DIFF_LINES]:
        line = line if len(line) <= 200 else line[:200] + "..."
        size += len(line)
        if size > _DIFF_CHARS:
            break
        kept.append(line)
    if len(kept) < len(diff):
        kept.append(f"... ({len(diff) - len(kept)} more diff lines)")
    return kept
