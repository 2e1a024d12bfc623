"""Many subgraphs through the OpenAI Batch API: half the price, no rate-limit juggling.

``narrate_batch(jobs, settings, state_path)`` writes one JSONL request per subgraph (the
same request the synchronous path sends), uploads it, creates the batch, polls it with a
bounded wait, downloads the results and the errors, then validates and grounds each
answer as the synchronous path does (``ground.check`` / ``ground.prune``). A subgraph
whose answer still has grounding issues is re-asked synchronously through ``reask``
(a ``ChatTransport``) when one is given, else its unsupported claims are pruned.

The state file (JSON) records the uploaded file, the batch and every finished answer,
so a run interrupted at any point resumes where it stopped: a finished request is never
submitted again, a batch already created is polled rather than re-created, and an
expired batch's unfinished requests go into a new batch of their own.
"""

from __future__ import annotations

import json
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
    from ..preprocess.facts import Facts

ENDPOINT = "/v1/chat/completions"
FINAL = {"completed", "failed", "expired", "cancelled"}
STATE_VERSION = 1


@dataclass(frozen=True)
class BatchJob:
    custom_id: str  # unique per subgraph, e.g. its file name
    facts: Facts


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
        self.data: dict[str, Any] = {"version": STATE_VERSION, "answers": {}, "errors": {}, "batches": []}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read the batch state file {path}: {exc}", hint="delete it to start afresh") from None
            if loaded.get("version") != STATE_VERSION:
                raise UsageError(f"batch state file {path} has another version", hint="delete it to start afresh")
            self.data = loaded

    def save(self) -> None:
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(self.path)  # atomic: an interruption never leaves half a state

    @property
    def answers(self) -> dict[str, dict]:
        return self.data["answers"]

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

    ids = [job.custom_id for job in jobs]
    if len(set(ids)) != len(ids):
        raise UsageError("batch jobs need unique custom ids")
    state = _State(Path(state_path))
    client = client if client is not None else _client(settings)
    requests = {job.custom_id: build_request(job.facts, settings).request for job in jobs}
    outcome = BatchOutcome()
    deadline = time.monotonic() + max_wait_s
    while True:
        batch = state.open_batch
        if batch is None:
            pending = [i for i in ids if i not in state.answers and i not in state.data["errors"]]
            if not pending:
                break
            batch = _submit(client, pending, requests, Narration, state)
            outcome.submitted += len(pending)
        status = _poll(client, batch, deadline, poll_interval_s, progress, sleep)
        _collect(client, batch, status, state)
        if status.status != "expired":
            break  # an expired batch's unfinished requests go into the next batch
    outcome.batches = [b["id"] for b in state.data["batches"]]
    for job in jobs:
        _finish(job, requests[job.custom_id], state, settings, reask, outcome)
    return outcome


def _client(settings: LLMSettings):
    from ..backends.openai import _build_client

    settings.require_key()
    return _build_client(settings)


def _submit(client, pending: list[str], requests: dict, response_model, state: _State) -> dict:
    lines = "".join(json.dumps(request_line(i, requests[i], response_model), ensure_ascii=False) + "\n" for i in pending)
    uploaded = client.files.create(file=("aptnarrate-batch.jsonl", lines.encode("utf-8")), purpose="batch")
    created = client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
    batch = {"id": created.id, "input_file_id": uploaded.id, "custom_ids": pending, "collected": False}
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
    if status.status in ("failed", "cancelled") and not getattr(status, "output_file_id", None):
        for custom_id in batch["custom_ids"]:
            state.data["errors"].setdefault(custom_id, f"batch {status.status}")
    for file_id in (getattr(status, "output_file_id", None), getattr(status, "error_file_id", None)):
        if not file_id:
            continue
        text = client.files.content(file_id).text
        for line in text.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            custom_id = item.get("custom_id")
            if custom_id not in batch["custom_ids"]:
                continue
            response = item.get("response") or {}
            error = item.get("error")
            if error or response.get("status_code", 200) != 200:
                message = (error or {}).get("message") or json.dumps(response.get("body"))[:300]
                state.data["errors"][custom_id] = f"failed line: {message}"
                continue
            state.answers[custom_id] = response.get("body") or {}
    batch["collected"] = True
    batch["status"] = status.status
    state.save()


def _finish(job: BatchJob, request, state: _State, settings, reask, outcome: BatchOutcome) -> None:
    """Validate and ground one answer as the synchronous path does."""
    from pydantic import ValidationError

    from ..grounding import ground
    from ..backends import NarrationResult
    from ..models import Usage
    from ..llm.validate import read_answer, reask_message, schema_errors

    custom_id = job.custom_id
    if custom_id in state.data["errors"] and custom_id not in state.answers:
        outcome.failed[custom_id] = state.data["errors"][custom_id]
        return
    body = state.answers.get(custom_id)
    if body is None:
        outcome.failed[custom_id] = "no answer in the batch output"
        return
    choice = (body.get("choices") or [{}])[0]
    content = (choice.get("message") or {}).get("content")
    usage = body.get("usage") or {}
    calls, prompt_tokens, completion_tokens = 1, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
    vocabulary = ground.Vocabulary(job.facts)
    try:
        narration, issues, _ = read_answer(content, job.facts, vocabulary)  # harmless repeats merged
        errors = [i.message() for i in issues]
    except ValidationError as exc:
        narration, issues, errors = None, [], schema_errors(exc)
    reasks = 0
    messages = list(request.messages)
    while (narration is None or issues) and reask is not None and reasks < int(settings.max_reasks):
        reasks += 1
        messages += [("assistant", content or ""), ("user", reask_message(errors, bool(issues)))]
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
        outcome.failed[custom_id] = f"answer did not match the schema: {errors[0] if errors else 'empty'}"
        return
    dropped = []
    if issues:
        narration, dropped = ground.prune(narration, job.facts, vocabulary)
    usage_model = Usage(calls=calls, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_s=0.0, reasks=reasks)
    notes = [f"answered through the Batch API ({reasks} synchronous re-ask(s))"]
    outcome.results[custom_id] = NarrationResult(
        narration=narration, backend="openai-batch", model=body.get("model") or settings.model,
        usage=usage_model, notes=notes, dropped=dropped,
    )
