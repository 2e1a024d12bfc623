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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from pydantic import ValidationError

from ..grounding import ground
from ..backends import NarrationResult
from ..backends.openai import raise_for_finish
from ..errors import BudgetError, ValidationFailed
from ..models import APT_STAGES, Narration, Usage
from .prompt import build_request

if TYPE_CHECKING:  # pragma: no cover
    from .chat import ChatRequest, ChatResponse, ChatTransport
    from .config import LLMSettings
    from ..models import ContextInfo
    from ..preprocess.facts import Facts

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)
_FENCED_BLOCK = re.compile(r"^```(?:json)?[ \t]*\n(.*?)\n```[ \t]*$", re.DOTALL | re.MULTILINE)
_URL_LINE = re.compile(r"^\s*For further information visit \S+\s*$", re.MULTILINE)

REASK_INTRO = "Your answer has errors. Fix every one and answer again with the complete JSON object."
REASK_GROUNDING = (
    "Use only log row ids from the timeline, IoC values copied exactly from the candidate list, "
    "and names, addresses, dates and times that occur in the data."
)
REASK_GROUNDING_CONTEXT = (  # prompt v3: the request has a --context block
    "Use only log row ids from the timeline or context row ids from the context block, IoC values "
    "copied exactly from the candidate list, and names, addresses, dates and times that occur in the data."
)


@dataclass
class Tally:
    """What a model's responses cost, added up over an exchange."""

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
    text = unfenced(content)
    # a stage name outside the vocabulary is kept here and dropped by grounding
    return Narration.model_validate_json(text, context={"lenient_stages": True})


def unfenced(content: str | None) -> str:
    """A model's text without the Markdown code fence some local models wrap JSON in,
    also when a line of prose comes before or after the fence ("Here is the JSON:"). Only
    a fence's content is kept: what is outside it is never read as part of the answer."""
    text = (content or "").strip()
    match = _FENCE.match(text)
    if match:
        return match.group(1)
    if not text.startswith(("{", "[")):
        blocks = _FENCED_BLOCK.findall(text)
        if len(blocks) == 1:  # several fenced blocks: which one is the answer would be a guess
            return blocks[0]
    return text


def merge_repeats(narration: Narration, vocabulary: ground.Vocabulary) -> tuple[Narration, list[str]]:
    """``narration`` with each IoC and each stage listed once, and a note per kind merged.

    A model that lists one candidate twice (the same value, or the same value in another
    letter case, with the same or another context) or one stage twice has not claimed
    anything unsupported, so this is merged, not re-asked. Of the copies, the one whose
    text mentions nothing absent from the input is kept (the first such; for stages the one
    citing most valid rows), at the place of the first copy; a stage keeps the evidence of
    every copy, its own first. A copy citing a row id the log lacks still fails grounding
    (the union keeps that id), and so does a group in which no copy is grounded."""
    iocs, merged_iocs = _merged(
        narration.iocs,
        key=lambda c: c.ioc if c.ioc in vocabulary.candidates else vocabulary.candidates_folded.get(c.ioc.casefold()),
        rank=lambda c: (not vocabulary.ioc_context_mentions(c), 0),
        combine=lambda kept, copies: kept,
    )
    stages, merged_stages = _merged(
        narration.stages,
        key=lambda c: c.stage if c.stage in APT_STAGES else None,
        rank=lambda c: (not vocabulary.mentions(c.rationale), sum(e in vocabulary.log_ids for e in dict.fromkeys(c.evidence))),
        combine=lambda kept, copies: kept.model_copy(
            update={"evidence": list(dict.fromkeys([*kept.evidence, *(e for c in copies for e in c.evidence)]))}
        ),
    )
    notes = []
    if merged_iocs:
        notes.append(f"merged {merged_iocs} repeated IoC entr{'y' if merged_iocs == 1 else 'ies'} of the model's answer (kept the grounded copy)")
    if merged_stages:
        notes.append(f"merged {merged_stages} repeated stage entr{'y' if merged_stages == 1 else 'ies'} of the model's answer (kept the grounded copy, evidence of every copy)")
    if not notes:
        return narration, []
    return narration.model_copy(update={"iocs": iocs, "stages": stages}), notes


def _merged(claims, key, rank, combine) -> tuple[list, int]:
    """``claims`` with those of one key merged into one (see ``merge_repeats``); claims
    without a key (not a candidate, not a stage name) are left for grounding to judge."""
    groups: dict[object, list[int]] = {}
    for position, claim in enumerate(claims):
        k = key(claim)
        if k is not None:
            groups.setdefault(k, []).append(position)
    repeated = {positions[0]: positions for positions in groups.values() if len(positions) > 1}
    if not repeated:
        return list(claims), 0
    skipped = {p for positions in repeated.values() for p in positions[1:]}
    out, merged = [], 0
    for position, claim in enumerate(claims):
        if position in skipped:
            continue
        if position in repeated:
            positions = repeated[position]
            ranks = {p: rank(claims[p]) for p in positions}
            best = max(positions, key=lambda p: (ranks[p], -p))  # ties: the first copy
            claim = combine(claims[best], [claims[p] for p in positions if p != best])
            merged += len(positions) - 1
        out.append(claim)
    return out, merged


def read_answer(content: str | None, facts: Facts, vocabulary: ground.Vocabulary) -> tuple[Narration, list[ground.GroundingIssue], list[str]]:
    """A model's answer parsed, its harmless repeats merged and checked against the data:
    (narration, grounding issues, notes). ``ValidationError`` if it is not a Narration."""
    narration, notes = merge_repeats(parse_narration(content), vocabulary)
    return narration, ground.check(narration, facts, vocabulary), notes


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


def reask_message(errors: list[str], grounding: bool, context: bool = False) -> str:
    lines = [REASK_INTRO, ""]
    lines += [f"- {error}" for error in errors]
    if grounding:
        lines += ["", REASK_GROUNDING_CONTEXT if context else REASK_GROUNDING]
    return "\n".join(lines)


@dataclass
class Exchange:
    """How an exchange with a model ended (``ask_until_valid``)."""

    answer: Any  # the last answer as ``judge`` read it, None when it did not match the schema
    issues: list  # what ``judge`` found wrong in it (empty when nothing)
    errors: list[str]  # the reasons a re-ask of it gives (schema errors when it did not match)
    tally: Tally  # what every response cost
    notes: list[str] = field(default_factory=list)  # a re-ask cut or not sent to fit the token budget
    unsent: str = ""  # why a re-ask the answer needed was not sent (it would not fit the budget), or ""

    def schema_failure(self, what: str, hint: str | None = None) -> ValidationFailed:
        """The error for an exchange whose last answer (``what``: "answer", "story") did not
        match the schema: its first error, why a re-ask was not sent if one was not, and the
        hint to raise the budget then (else ``hint``)."""
        calls, errors = self.tally.calls, self.errors
        return ValidationFailed(
            f"the model's {what} did not match the schema in {calls} attempt(s): {errors[0] if errors else 'empty answer'}"
            + (f"; {self.unsent}" if self.unsent else ""),
            attempts=calls,
            errors=errors,
            hint="raise the token budget (APTNARRATE_TOKEN_BUDGET, --token-budget) so that a re-ask fits" if self.unsent else hint,
        )


def request_tokens(request: ChatRequest, count=None) -> int:
    """The prompt tokens ``request`` costs, counted as ``build_request`` and ``ask`` fit
    theirs (``llm.tokens``): its messages with the chat formatting, and in structured mode
    the schema, which travels as response_format."""
    from .tokens import counter

    count = count or counter()
    return count.count_messages(request.messages) + (count.count(request.schema) if request.mode == "structured" else 0)


def reask_conversation(
    request: ChatRequest, messages: list, content: str | None, errors: list[str], grounding: bool, context: bool = False, budget: int | None = None
) -> tuple[list | None, str]:
    """The conversation of a re-ask: ``messages`` so far, the model's answer and the errors,
    fitted to ``budget`` (tokens, as ``request_tokens`` counts them); and a note when it
    had to be fitted. A re-ask that fits is the whole one, byte for byte. One that does not
    lists the leading errors that fit and counts the rest; when not even the answer and its
    first error fit, (None, why): that re-ask is never sent over the budget."""

    def conversation(shown: int) -> list:
        listed = errors[:shown]
        if shown < len(errors):
            listed = [*listed, f"... and {len(errors) - shown} more error(s) of the same answer, not listed to fit the token budget"]
        return [*messages, ("assistant", content or ""), ("user", reask_message(listed, grounding, context))]

    whole = conversation(len(errors))
    if budget is None:
        return whole, ""
    from .tokens import counter

    count = counter()

    def tokens(shown: int) -> int:
        return request_tokens(request.with_messages(tuple(conversation(shown))), count)

    # the least a re-ask can be first: an answer over the budget by itself (a model's answer
    # may be megabytes) is counted once, never with every error after it
    least = tokens(min(len(errors), 1))
    if least <= budget and tokens(len(errors)) <= budget:
        return whole, ""
    if len(errors) <= 1 or least > budget:
        return None, (
            f"a re-ask was not sent: the conversation so far, the model's answer ({len(content or '')} characters) and "
            f"{'its first error' if errors else 'the re-ask'} need {least} tokens ({count.method}), over the token budget of {budget}"
        )
    low, high = 1, len(errors) - 1  # the most leading errors that fit: low fits, more than high does not
    while low < high:
        middle = (low + high + 1) // 2
        if tokens(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return conversation(low), f"a re-ask listed {low} of the answer's {len(errors)} errors, to fit the token budget of {budget}"


def ask_until_valid(
    transport: ChatTransport,
    request: ChatRequest,
    max_reasks: int,
    judge: Callable[[str | None], tuple[Any, list, list[str]]],
    *,
    with_context: bool = False,
    budget: int | None = None,
) -> Exchange:
    """Ask ``transport`` for ``request``, then re-ask (at most ``max_reasks`` times) with the
    reasons while the answer does not match the schema or has issues. ``judge``: a
    response's text as (answer, issues, the reasons a re-ask gives); it raises pydantic's
    ``ValidationError`` for an answer that is not of the schema. A response cut short is
    an error (``raise_for_finish``), never judged.

    With ``budget`` (prompt tokens), no request goes out over it: the first must fit
    (``BudgetError`` otherwise: its builder fits it), and a re-ask, which appends the
    model's answer and the errors, is fitted (``reask_conversation``); one that cannot fit
    is not sent and the exchange ends with the answer as it stands, as after the last
    re-ask (``Exchange.unsent`` says why)."""
    max_reasks = max(0, int(max_reasks))
    messages = list(request.messages)
    if budget is not None and (first := request_tokens(request)) > budget:
        raise BudgetError(f"the request needs {first} prompt tokens; the budget is {budget}",
                          hint="raise the token budget (APTNARRATE_TOKEN_BUDGET, --token-budget)")
    tally = Tally()
    answer, issues, errors = None, [], []
    notes: list[str] = []
    unsent = ""
    for attempt in range(max_reasks + 1):
        started = time.monotonic()
        response = transport.complete(request.with_messages(tuple(messages)))
        tally.add(response, time.monotonic() - started)
        raise_for_finish(response)
        try:
            # every caller's answer is JSON: a Markdown fence around it is unwrapped here, once for all
            answer, issues, errors = judge(unfenced(response.content))
        except ValidationError as exc:
            answer, issues, errors = None, [], schema_errors(exc)
        else:
            if not issues:
                break
        if attempt < max_reasks:
            fitted, note = reask_conversation(request, messages, response.content, errors, bool(issues), with_context, budget)
            if fitted is None:
                unsent = note
                notes.append(note)
                break
            if note:
                notes.append(note)
            messages = fitted
    tally.reasks = tally.calls - 1
    return Exchange(answer, issues, errors, tally, notes, unsent)


def narrate_with_model(
    facts: Facts, transport: ChatTransport, settings: LLMSettings, context: ContextInfo | None = None
) -> NarrationResult:
    """Ask ``transport`` for a Narration of ``facts``; re-ask on errors; prune what persists.
    ``context``: rows of the host's wider log the model sees and may cite (``C1``...)."""
    build = build_request(facts, settings, context)
    with_context = context is not None and bool(context.rows)

    def judge(content: str | None):
        # the vocabulary is built after the first request left (not before it), once for
        # every attempt, the prune and the pipeline (vocabulary_for keeps it with facts)
        vocabulary = ground.vocabulary_for(facts, context if with_context else None)
        narration, issues, merged = read_answer(content, facts, vocabulary)
        return (narration, merged), issues, [issue.message() for issue in issues]

    exchange = ask_until_valid(transport, build.request, settings.max_reasks, judge, with_context=with_context,
                               budget=getattr(settings, "token_budget", None))
    tally, issues = exchange.tally, exchange.issues
    narration, merged = exchange.answer or (None, [])
    attempts = tally.calls
    if narration is None:
        raise exchange.schema_failure(
            "answer", "try --mode json for servers without json_schema support, a stronger model, or more re-asks (APTNARRATE_MAX_REASKS)"
        )
    dropped = []
    if issues:
        narration, dropped = ground.prune(narration, facts, ground.vocabulary_for(facts, context if with_context else None))
    notes = list(build.notes)
    notes.append(f"model answered in {attempts} call(s) with {tally.reasks} re-ask(s)")
    notes += exchange.notes
    notes += merged
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
