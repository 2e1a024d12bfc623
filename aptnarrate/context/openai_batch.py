"""Many subgraphs through the OpenAI Batch API: half the price, no rate-limit juggling.

``narrate_batch(jobs, settings, state_path)`` writes one JSONL request per subgraph (the
same request the synchronous path sends), uploads it, creates the batch, polls it with a
bounded wait, downloads the results and the errors, then validates and grounds each
answer as the synchronous path does (``ground.check`` / ``ground.prune``). An answer with
schema or grounding errors is re-asked in a follow-up batch round: one more JSONL batch
holding each such request's conversation (the request, the answer, the re-ask naming its
errors, as the synchronous path sends them), polled like the first, up to
``settings.max_reasks`` rounds; what still fails after the last round is pruned. With
``reask`` (a ``ChatTransport``, ``--reask-sync``) the re-asks are synchronous instead.

The state file (JSON) records the uploaded files, every batch with its round and every
answer of every round, so a run interrupted at any point resumes where it stopped: a
finished request is never submitted again, a batch already created (of any round) is
polled rather than re-created, and an expired batch's unfinished requests go into a new
batch of their own round.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ..backends import NarrationResult
    from ..llm.chat import ChatRequest, ChatTransport
    from ..llm.config import LLMSettings
    from ..models import ContextInfo
    from ..preprocess.facts import Facts

ENDPOINT = "/v1/chat/completions"
FINAL = {"completed", "failed", "expired", "cancelled"}
STATE_VERSION = 2  # 2: follow-up rounds (batches carry their round)


@dataclass(frozen=True)
class BatchJob:
    custom_id: str  # unique per subgraph, e.g. its file name
    facts: Facts
    context: ContextInfo | None = None  # --context: its rows go into the request (prompt v3)


@dataclass
class BatchOutcome:
    results: dict[str, NarrationResult] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # custom_id -> why (error file, schema)
    batches: list[str] = field(default_factory=list)  # batch ids used, in order
    submitted: int = 0  # requests sent in batches by this call (not counting resumed ones)


def request_line(custom_id: str, request: ChatRequest, response_model) -> dict:
    """One JSONL line: the body the synchronous path sends, for ``/v1/chat/completions``."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": role, "content": content} for role, content in request.messages],
    }
    for key in ("temperature", "seed", "max_tokens"):
        value = getattr(request, key)
        if value is not None:
            body[key] = value
    if request.mode == "structured":
        from openai.lib._parsing._completions import type_to_response_format_param

        body["response_format"] = type_to_response_format_param(response_model)
    else:
        body["response_format"] = {"type": "json_object"}
    return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}


class _State:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"version": STATE_VERSION, "answers": {}, "errors": {}, "batches": [],
                                     "followups": {}, "followup_errors": {}}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError) as exc:
                raise UsageError(f"cannot read the batch state file {path}: {exc}", hint="delete it to start afresh") from None
            if not isinstance(loaded, dict) or loaded.get("version") not in (1, STATE_VERSION):
                raise UsageError(f"batch state file {path} has another version", hint="delete it to start afresh")
            # version 1 had no follow-up rounds: its batches are all round 0
            self.data = {**self.data, **loaded, "version": STATE_VERSION}

    def save(self) -> None:
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(self.path)  # atomic: an interruption never leaves half a state

    @property
    def answers(self) -> dict[str, dict]:
        """Round 0: each request's first answer (a completion body)."""
        return self.data["answers"]

    @property
    def followups(self) -> dict[str, list[dict]]:
        """Each request's answers in follow-up rounds 1, 2, ..., in order."""
        return self.data["followups"]

    @property
    def open_batch(self) -> dict | None:
        batches = self.data["batches"]
        return batches[-1] if batches and not batches[-1].get("collected") else None


def narrate_batch(
    jobs: Sequence[BatchJob],
    settings: LLMSettings,
    state_path: str | Path,
    *,
    client: Any = None,
    reask: ChatTransport | None = None,
    poll_interval_s: float = 30.0,
    max_wait_s: float = 24 * 3600.0,
    progress: Callable[[str, int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchOutcome:
    """Narrate ``jobs`` through the Batch API; see the module docstring."""
    from ..models import Narration
    from ..llm.prompt import build_request

    if not (math.isfinite(poll_interval_s) and poll_interval_s > 0):  # sleep(-1) raised, 0 polls without a pause
        raise UsageError(f"--batch-poll must be a positive number of seconds, got {poll_interval_s!r}")
    if not (math.isfinite(max_wait_s) and max_wait_s >= 0):  # nan never ran out: an unbounded wait
        raise UsageError(f"--batch-max-wait must be a number of seconds (0 or more), got {max_wait_s!r}")
    ids = [job.custom_id for job in jobs]
    if len(set(ids)) != len(ids):
        raise UsageError("batch jobs need unique custom ids")
    state = _State(Path(state_path))
    client = client if client is not None else _client(settings)
    requests = {job.custom_id: build_request(job.facts, settings, job.context).request for job in jobs}
    review = _Review({job.custom_id: job for job in jobs}, requests, state, getattr(settings, "token_budget", None))
    # follow-up rounds: re-asks go into batches of their own unless they are synchronous
    rounds = 0 if reask is not None else max(0, int(settings.max_reasks))
    outcome = BatchOutcome()
    deadline = time.monotonic() + max_wait_s
    while True:
        batch = state.open_batch
        if batch is None:
            work = _next_round(ids, state, review, rounds)
            if work is None:
                break
            round_, pending = work
            lines = {i: review.conversation(i, round_) for i in pending}
            batch = _submit(client, pending, lines, Narration, state, round_)
            outcome.submitted += len(pending)
        status = _poll(client, batch, deadline, poll_interval_s, progress, sleep)
        _collect(client, batch, status, state)
    outcome.batches = [b["id"] for b in state.data["batches"]]
    for job in jobs:
        _finish(job, requests[job.custom_id], state, settings, reask, outcome, review)
    return outcome


def _next_round(ids: list[str], state: _State, review: _Review, rounds: int) -> tuple[int, list[str]] | None:
    """The round to submit next and its custom ids: first the requests without an answer
    (an expired batch's included), then, round by round up to ``rounds``, the answers
    whose last reply still has schema or grounding errors. None when nothing is left."""
    pending = [i for i in ids if i not in state.answers and i not in state.data["errors"]]
    if pending:
        return 0, pending
    followups, stopped = state.followups, state.data["followup_errors"]
    for round_ in range(1, rounds + 1):
        needing = [
            i for i in ids
            if i in state.answers and i not in stopped and len(followups.get(i, [])) == round_ - 1 and review.errors(i, round_ - 1)
            and review.conversation(i, round_) is not None  # a re-ask over the token budget is not sent
        ]
        if needing:
            return round_, needing
    return None


class _Review:
    """Each answer's parse and grounding, computed once per (custom id, round), and the
    conversation a follow-up round sends: the request, then per earlier round the model's
    answer and the re-ask naming its errors (the synchronous path's messages)."""

    def __init__(self, jobs: dict, requests: dict, state: _State, budget: int | None = None) -> None:
        self.jobs, self.requests, self.state, self.budget = jobs, requests, state, budget
        self._seen: dict[tuple[str, int], tuple] = {}
        self.unsent: dict[str, str] = {}  # custom id -> why its next re-ask was not sent (over the budget)
        self.fitted: dict[str, list[str]] = {}  # custom id -> notes of its re-asks cut to fit the budget

    def body(self, custom_id: str, round_: int) -> dict:
        return self.state.answers[custom_id] if round_ == 0 else self.state.followups[custom_id][round_ - 1]

    def vocabulary(self, custom_id: str):
        from ..grounding import ground

        job = self.jobs[custom_id]
        return ground.vocabulary_for(job.facts, job.context if job.context is not None and job.context.rows else None)

    def judged(self, custom_id: str, round_: int) -> tuple:
        """(content, narration or None, grounding issues, error texts) of one answer."""
        key = (custom_id, round_)
        if key not in self._seen:
            from pydantic import ValidationError

            from ..llm.validate import read_answer, schema_errors

            content = _content(self.body(custom_id, round_))
            try:  # harmless repeats merged, as on the synchronous path
                narration, issues, _ = read_answer(content, self.jobs[custom_id].facts, self.vocabulary(custom_id))
                errors = [i.message() for i in issues]
            except ValidationError as exc:
                narration, issues, errors = None, [], schema_errors(exc)
            self._seen[key] = (content, narration, issues, errors)
        return self._seen[key]

    def errors(self, custom_id: str, round_: int) -> list[str]:
        return self.judged(custom_id, round_)[3]

    def conversation(self, custom_id: str, round_: int):
        """The request of ``round_``, each re-ask fitted to the token budget as the
        synchronous path fits it (``reask_conversation``); None when one cannot fit (then
        that round is not sent, and ``unsent`` says why)."""
        from ..llm.validate import reask_conversation

        request = self.requests[custom_id]
        job = self.jobs[custom_id]
        with_context = job.context is not None and bool(job.context.rows)
        messages = list(request.messages)
        fitted_notes = []
        for earlier in range(round_):
            content, _narration, issues, errors = self.judged(custom_id, earlier)
            fitted, note = reask_conversation(request, messages, content, errors, bool(issues), with_context, self.budget)
            if fitted is None:
                self.unsent[custom_id] = note
                return None
            if note:  # "a re-ask listed 3 of the answer's 40 errors, to fit the token budget"
                fitted_notes.append(note)
            messages = fitted
        self.fitted[custom_id] = fitted_notes
        return request.with_messages(tuple(messages))


def _content(body: dict) -> str | None:
    """The answer's text; None when the body is not a chat completion (then a schema error)."""
    choices = body.get("choices") if isinstance(body, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else {}
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None


def _client(settings: LLMSettings):
    from ..backends.openai import _build_client

    settings.require_key()
    return _build_client(settings)


def _submit(client, pending: list[str], requests: dict, response_model, state: _State, round_: int = 0) -> dict:
    lines = "".join(json.dumps(request_line(i, requests[i], response_model), ensure_ascii=False) + "\n" for i in pending)
    uploaded = client.files.create(file=("aptnarrate-batch.jsonl", lines.encode("utf-8")), purpose="batch")
    created = client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
    batch = {"id": created.id, "input_file_id": uploaded.id, "custom_ids": pending, "collected": False, "round": round_}
    state.data["batches"].append(batch)
    state.save()  # from here on an interruption resumes by polling this batch
    return batch


def _poll(client, batch: dict, deadline: float, interval: float, progress, sleep):
    while True:
        status = client.batches.retrieve(batch["id"])
        counts = getattr(status, "request_counts", None)
        if progress is not None and counts is not None:
            progress(status.status, int(counts.completed or 0) + int(counts.failed or 0), int(counts.total or 0))
        if status.status in FINAL:
            return status
        if time.monotonic() + interval > deadline:
            raise BackendError(
                f"batch {batch['id']} still {status.status} after the maximum wait",
                hint="run the same command again later: the state file resumes it without re-submitting",
            )
        sleep(interval)


def _collect(client, batch: dict, status, state: _State) -> None:
    """The batch's output and error lines into the state: round 0's answers, or a follow-up
    round's (appended to each request's conversation). A follow-up line that fails ends that
    request's rounds: its last answer is pruned as it stands."""
    round_ = int(batch.get("round", 0))
    answers = state.answers if round_ == 0 else None
    errors = state.data["errors"] if round_ == 0 else state.data["followup_errors"]
    if status.status in ("failed", "cancelled") and not getattr(status, "output_file_id", None):
        for custom_id in batch["custom_ids"]:
            errors.setdefault(custom_id, f"batch {status.status}")
    for file_id in (getattr(status, "output_file_id", None), getattr(status, "error_file_id", None)):
        if not file_id:
            continue
        text = client.files.content(file_id).text
        for line in text.splitlines():
            if not line.strip():
                continue
            try:  # the provider's file is data: a line that is not a JSON object names no request
                item = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not isinstance(item, dict):
                continue
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or custom_id not in batch["custom_ids"]:
                continue
            response, error = item.get("response") or {}, item.get("error")
            if not isinstance(response, dict):  # a line of this request, malformed: it fails
                error = error or f"malformed response: {str(response)[:200]}"
                response = {}
            if error or response.get("status_code", 200) != 200:
                message = (error.get("message") if isinstance(error, dict) else str(error) if error else None) or json.dumps(response.get("body"))[:300]
                errors[custom_id] = f"failed line: {message}"
                continue
            if answers is not None:
                answers[custom_id] = response.get("body") or {}
            elif len(state.followups.setdefault(custom_id, [])) == round_ - 1:  # once per round, even if listed twice
                state.followups[custom_id].append(response.get("body") or {})
    if status.status != "expired":  # a line neither answered nor failed is not asked forever
        for custom_id in batch["custom_ids"]:
            answered = custom_id in state.answers if round_ == 0 else len(state.followups.get(custom_id, [])) >= round_
            if not answered:
                errors.setdefault(custom_id, "no answer in the batch output")
    batch["collected"] = True
    batch["status"] = status.status
    state.save()


def _finish(job: BatchJob, request, state: _State, settings, reask, outcome: BatchOutcome, review: _Review) -> None:
    """Validate and ground one answer, its last follow-up round's, as the synchronous path does."""
    from pydantic import ValidationError

    from ..grounding import ground
    from ..backends import NarrationResult
    from ..models import Usage
    from ..llm.validate import read_answer, reask_conversation, schema_errors

    custom_id = job.custom_id
    if custom_id in state.data["errors"] and custom_id not in state.answers:
        outcome.failed[custom_id] = state.data["errors"][custom_id]
        return
    if custom_id not in state.answers:
        outcome.failed[custom_id] = "no answer in the batch output"
        return
    rounds = len(state.followups.get(custom_id, []))
    bodies = [review.body(custom_id, r) for r in range(rounds + 1)]
    usage = [b.get("usage") or {} for b in bodies]
    calls = len(bodies)
    prompt_tokens = sum(int(u.get("prompt_tokens", 0)) for u in usage)
    completion_tokens = sum(int(u.get("completion_tokens", 0)) for u in usage)
    content, narration, issues, errors = review.judged(custom_id, rounds)
    vocabulary = review.vocabulary(custom_id)
    with_context = job.context is not None and bool(job.context.rows)
    reasks = rounds
    sync_reasks = 0
    # None when an earlier round no longer fits the budget (a run resumed with a smaller
    # --token-budget): ``unsent`` then says why and no re-ask follows
    conversation = review.conversation(custom_id, rounds)
    messages = list(conversation.messages) if conversation is not None else []
    unsent = review.unsent.get(custom_id, "")  # a follow-up round over the token budget was not sent
    fitted_notes = list(review.fitted.get(custom_id, ()))  # the follow-up rounds' re-asks, fitted as sent
    while not unsent and (narration is None or issues) and reask is not None and reasks < int(settings.max_reasks):
        fitted, note = reask_conversation(request, messages, content, errors, bool(issues), with_context, review.budget)
        if fitted is None:
            unsent = note
            break
        if note:
            fitted_notes.append(note)
        reasks += 1
        sync_reasks += 1
        messages = fitted
        response = reask.complete(request.with_messages(tuple(messages)))
        calls += 1
        prompt_tokens += response.prompt_tokens
        completion_tokens += response.completion_tokens
        content = response.content
        try:
            narration, issues, _ = read_answer(content, job.facts, vocabulary)
            errors = [i.message() for i in issues]
        except ValidationError as exc:
            narration, issues, errors = None, [], schema_errors(exc)
    if narration is None:
        outcome.failed[custom_id] = f"answer did not match the schema: {errors[0] if errors else 'empty'}" + (f"; {unsent}" if unsent else "")
        return
    dropped = []
    if issues:
        narration, dropped = ground.prune(narration, job.facts, vocabulary)
    usage_model = Usage(calls=calls, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_s=0.0, reasks=reasks)
    if reask is not None:
        notes = [f"answered through the Batch API ({sync_reasks} synchronous re-ask(s))"]
    else:
        notes = [f"answered through the Batch API ({rounds} follow-up batch round(s))"]
    if custom_id in state.data["followup_errors"]:
        notes.append(f"a follow-up round failed ({state.data['followup_errors'][custom_id]}); the last answer was grounded as it stands")
    notes += fitted_notes
    if unsent:
        notes.append(f"{unsent}; the last answer was grounded as it stands")
    outcome.results[custom_id] = NarrationResult(
        narration=narration, backend="openai-batch", model=bodies[-1].get("model") or settings.model,
        usage=usage_model, notes=notes, dropped=dropped,
    )
