"""A content-addressed cache of model answers, so a re-run over unchanged inputs makes no call.

The key is the SHA-256 of the canonical request (every message, so the facts and the prompt
template's text and version; the response schema; model, temperature, seed, mode, max
tokens) plus the endpoint it was sent to. An entry holds the request digest and the answer,
never a key or a header. Entries are written atomically (temp file + rename in the same
folder), so two runs sharing the folder at worst both write the same answer. Only complete
answers (finish_reason "stop", no refusal) are kept.

Location: ``APTNARRATE_CACHE_DIR``, else the user cache dir (``platformdirs``), e.g.
``~/.cache/aptnarrate/requests`` on Linux.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..llm.chat import ChatRequest, ChatResponse
from ..output import write_text

if TYPE_CHECKING:  # pragma: no cover
    from ..llm.chat import ChatTransport
    from ..llm.config import LLMSettings

CACHE_ENV = "APTNARRATE_CACHE_DIR"
CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("aptnarrate")) / "requests"


class RequestCache:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    @classmethod
    def from_environment(cls) -> RequestCache:
        return cls(default_cache_dir())

    def key(self, request: ChatRequest, endpoint: str) -> str:
        canonical = {"format": CACHE_FORMAT, "endpoint": endpoint, "request": request.canonical()}
        text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> ChatResponse | None:
        try:
            record = json.loads(self._path(key).read_text(encoding="utf-8"))
            answer = record["response"]
            return ChatResponse(
                content=answer["content"],
                refusal=answer.get("refusal"),
                finish_reason=answer["finish_reason"],
                model=answer["model"],
                prompt_tokens=int(answer.get("prompt_tokens") or 0),
                completion_tokens=int(answer.get("completion_tokens") or 0),
                latency_s=0.0,
                transport_retries=0,
                extra={"cached": True},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None  # absent or unreadable: a miss, never an error

    def put(self, key: str, request: ChatRequest, response: ChatResponse) -> None:
        record = {
            "format": CACHE_FORMAT,
            "request_digest": request.digest(),
            "response": {
                "content": response.content,
                "refusal": response.refusal,
                "finish_reason": response.finish_reason,
                "model": response.model,
                "prompt_tokens": response.prompt_tokens,
                "completion_tokens": response.completion_tokens,
            },
        }
        try:
            write_text(json.dumps(record, ensure_ascii=False) + "\n", self._path(key))
        except Exception:  # noqa: BLE001 - a cache that cannot be written only costs a call next time
            pass


class CachingTransport:
    """Wraps a transport: answers from the cache when it can, stores complete answers."""

    def __init__(self, inner: ChatTransport, cache: RequestCache, settings: LLMSettings | None = None) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.endpoint = getattr(inner, "endpoint", None) or (settings.base_url if settings else None) or inner.name
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def complete(self, request: ChatRequest) -> ChatResponse:
        key = self.cache.key(request, self.endpoint)
        cached = self.cache.get(key)
        if cached is not None:
            with self._lock:
                self.hits += 1
            return cached
        response = self.inner.complete(request)
        with self._lock:
            self.misses += 1
        if response.finish_reason == "stop" and not response.refusal and response.content:
            self.cache.put(key, request, response)
        return response

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close:
            close()
