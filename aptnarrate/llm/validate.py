"""The re-ask loop: ask a model, check its answer against the schema and the data, ask again.

One request per subgraph; on a schema or grounding error the model's answer and the errors,
verbatim, go back as a new user turn, at most ``settings.max_reasks`` times. Re-asks are
counted apart from the transport's own retries (429s, timeouts), which happen inside the
transport. When the last answer is valid JSON but still cites things the data lacks, those
claims are pruned and recorded; when it is not even valid, ``ValidationFailed``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ..grounding import ground
from ..backends import NarrationResult
from ..backends.openai import raise_for_finish
from ..errors import ValidationFailed
from ..models import Narration, Usage
from .prompt import build_request

if TYPE_CHECKING:  # pragma: no cover
    from .chat import ChatResponse, ChatTransport
    from .config import LLMSettings
    from ..preprocess.facts import Facts

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)
_URL_LINE = re.compile(r"^\s*For further information visit \S+\s*$", re.MULTILINE)

REASK_INTRO = "Your answer has errors. Fix every one and answer again with the complete JSON object."
REASK_GROUNDING = (
    "Use only log row ids from the timeline, IoC values copied exactly from the candidate list, "
    "and names, addresses, dates and times that occur in the data."
)


@dataclass
class _Tally:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    transport_retries: int = 0
    reasks: int = 0
    model: str | None = None

    def add(self, response: ChatResponse, elapsed: float) -> None:
        self.calls += 1
        self.prompt_tokens += response.prompt_tokens
        self.completion_tokens += response.completion_tokens
        self.latency_s += response.latency_s if response.latency_s is not None else elapsed
        self.transport_retries += response.transport_retries
        self.model = response.model or self.model

    def usage(self, settings: LLMSettings) -> Usage:
        cost_of = getattr(settings, "cost_usd", None)
        cost = cost_of(self.prompt_tokens, self.completion_tokens, self.model) if cost_of else None
        return Usage(
            calls=self.calls,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            latency_s=round(self.latency_s, 3),
            cost_usd=cost,
            transport_retries=self.transport_retries,
            reasks=self.reasks,
        )


def parse_narration(content: str | None) -> Narration:
    """The model's text as a ``Narration``; a ``ValidationError`` if it is not one.

    Invalid JSON raises ``ValidationError`` too (type ``json_invalid``). A JSON answer
    wrapped in a Markdown code fence, as some local models send it, is unwrapped.
    """
    text = (content or "").strip()
    match = _FENCE.match(text)
    if match:
        text = match.group(1)
    # a stage name outside the vocabulary is kept here and dropped by grounding
    return Narration.model_validate_json(text, context={"lenient_stages": True})


def schema_errors(exc: ValidationError) -> list[str]:
    """pydantic's own error text, one entry per error, without its documentation URLs."""
    text = _URL_LINE.sub("", str(exc)).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    header, body = lines[0], lines[1:]
    errors: list[str] = []
    for line in body:
        if line.startswith(" ") and errors:
            errors[-1] += "\n" + line
        else:
            errors.append(line.strip())
    return [f"{header}: {error}" if i == 0 else error for i, error in enumerate(errors)] or [header]


def reask_message(errors: list[str], grounding: bool) -> str:
    lines = [REASK_INTRO, ""]
    lines += [f"- {error}" for error in errors]
    if grounding:
        lines += ["", REASK_GROUNDING]
    return "\n".join(lines)


def narrate_with_model(facts: Facts, transport: ChatTransport, settings: LLMSettings) -> NarrationResult:
    """Ask ``transport`` for a Narration of ``facts``; re-ask on errors; prune what persists."""
    build = build_request(facts, settings)
    messages = list(build.request.messages)
    tally = _Tally()
    max_reasks = max(0, int(settings.max_reasks))
    narration: Narration | None = None
    issues: list[ground.GroundingIssue] = []
    errors: list[str] = []
    for attempt in range(max_reasks + 1):
        if attempt:
            tally.reasks += 1
        started = time.monotonic()
        response = transport.complete(build.request.with_messages(tuple(messages)))
        tally.add(response, time.monotonic() - started)
        raise_for_finish(response)
        try:
            narration = parse_narration(response.content)
        except ValidationError as exc:
            narration, issues = None, []
            errors = schema_errors(exc)
        else:
            # built after the first request left (not before it), once for every attempt,
            # the prune and the pipeline
            vocabulary = ground.vocabulary_for(facts)
            issues = ground.check(narration, facts, vocabulary)
            errors = [issue.message() for issue in issues]
            if not issues:
                break
        if attempt < max_reasks:
            messages += [("assistant", response.content or ""), ("user", reask_message(errors, bool(issues)))]

    attempts = tally.calls
    if narration is None:
        raise ValidationFailed(
            f"the model's answer did not match the schema in {attempts} attempt(s): {errors[0] if errors else 'empty answer'}",
            attempts=attempts,
            errors=errors,
            hint="try --mode json for servers without json_schema support, a stronger model, or more re-asks (APTNARRATE_MAX_REASKS)",
        )
    dropped = []
    if issues:
        narration, dropped = ground.prune(narration, facts, ground.vocabulary_for(facts))
    notes = list(build.notes)
    notes.append(f"model answered in {attempts} call(s) with {tally.reasks} re-ask(s)")
    if dropped:
        notes.append(f"{len(dropped)} unsupported claim(s) still present after the last re-ask were dropped")
    return NarrationResult(
        narration=narration,
        backend=transport.name,
        model=tally.model or settings.model,
        usage=tally.usage(settings),
        notes=notes,
        dropped=dropped,
        grounded=True,
    )
