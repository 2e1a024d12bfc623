"""Test helpers for the model pipeline: a scripted chat transport and small inputs.

``ScriptedTransport`` answers each ``complete`` with the next queued response and keeps
every request it was sent, so tests can assert on re-ask messages.
"""

from __future__ import annotations

import json
from importlib import resources

import pandas as pd

from aptnarrate.llm.chat import ChatRequest, ChatResponse
from aptnarrate.preprocess.condense import condense
from aptnarrate.preprocess.facts import compute_facts
from aptnarrate.preprocess.ingest import read_events


class ScriptedTransport:
    name = "scripted"

    def __init__(self, *answers: str | ChatResponse) -> None:
        self.queue = list(answers)
        self.requests: list[ChatRequest] = []

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        if not self.queue:
            raise AssertionError("ScriptedTransport: no answer left for this request")
        answer = self.queue.pop(0)
        if isinstance(answer, ChatResponse):
            return answer
        return ChatResponse(content=answer, refusal=None, finish_reason="stop", model="scripted-model",
                            prompt_tokens=1000, completion_tokens=200, latency_s=0.5)


def example_facts(name: str = "dropper"):
    path = resources.files("aptnarrate.examples").joinpath(f"{name}.csv")
    return compute_facts(condense(read_events(str(path))))


def edges_facts(rows: list[tuple[str, str, str, str, int]]):
    """Facts from edge rows ``(subject path, predicate, object type, object attr, second)``."""
    base = 1_747_228_320_000_000_000
    frame = pd.DataFrame(
        [
            {
                "subject_uuid": f"p-{subject}",
                "subject_type": "SUBJECT_PROCESS",
                "subject_attr": subject,
                "predicate": f"EVENT_{predicate}",
                "timestamp": base + second * 1_000_000_000,
                "object_uuid": f"o-{object_attr}",
                "object_type": object_type,
                "object_attr": object_attr,
            }
            for subject, predicate, object_type, object_attr, second in rows
        ]
    )
    return compute_facts(condense(read_events(frame)))


def answer(stages=(), iocs=(), summary="") -> str:
    return json.dumps(
        {
            "stages": [
                {"stage": s, "confidence": "high", "evidence": list(ev), "rationale": why} for s, ev, why in stages
            ],
            "iocs": [
                {"ioc": value, "legitimate_usage": usage, "likelihood": "high", "rationale": why}
                for value, usage, why in iocs
            ],
            "summary": summary,
        }
    )
