"""The request/response pair exchanged with a chat model, independent of any SDK.

A ``ChatRequest`` carries no secrets and no headers: its canonical form is what gets
hashed for the replay store and written by ``--record``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

Mode = Literal["structured", "json"]


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[tuple[str, str], ...]  # (role, content)
    model: str
    temperature: float | None
    seed: int | None
    mode: Mode  # structured: json_schema response format; json: json_object + schema in the prompt
    schema_name: str
    schema: str  # the JSON schema, serialised canonically (sorted keys)
    max_tokens: int | None = None

    @classmethod
    def for_settings(cls, settings, messages: tuple[tuple[str, str], ...], schema_name: str, schema: str) -> ChatRequest:
        """A request of ``messages`` with the model, sampling and mode of ``settings``
        (``LLMSettings``)."""
        return cls(
            messages=messages,
            model=settings.model,
            temperature=settings.temperature,
            seed=settings.seed,
            mode=settings.mode,
            schema_name=schema_name,
            schema=schema,
        )

    def canonical(self) -> dict:
        """A JSON-able form: what is hashed and recorded (never a key or header)."""
        return {
            "model": self.model,
            "temperature": self.temperature,
            "seed": self.seed,
            "mode": self.mode,
            "max_tokens": self.max_tokens,
            "schema_name": self.schema_name,
            "schema": json.loads(self.schema),
            "messages": [{"role": role, "content": content} for role, content in self.messages],
        }

    def digest(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]

    def with_messages(self, messages: tuple[tuple[str, str], ...]) -> ChatRequest:
        return replace(self, messages=messages)


@dataclass(frozen=True)
class ChatResponse:
    content: str | None  # the raw text the model returned (JSON, possibly broken)
    refusal: str | None
    finish_reason: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float | None = None  # None: the transport did not time it
    transport_retries: int = 0
    extra: dict = field(default_factory=dict)


class ChatTransport(Protocol):
    """Sends one request and returns the raw answer. Transport retries happen inside;
    refusals, length cut-offs and content filters come back in ``finish_reason``/``refusal``
    for the caller to turn into typed errors."""

    name: str

    def complete(self, request: ChatRequest) -> ChatResponse: ...
