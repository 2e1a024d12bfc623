"""Narrator backends: each turns computed Facts into a Narration.

A backend has one job: ``narrate(facts) -> NarrationResult``. The offline narrator uses
rules; LLM backends build a prompt, call a model and validate its answer. Whatever a
backend returns is grounded (by the backend or else by the pipeline, once) before it
reaches a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts
    from ..models import DroppedClaim, Narration, Usage

BACKENDS = ("auto", "offline", "openai", "replay")


@dataclass
class NarrationResult:
    narration: Narration
    backend: str
    model: str | None = None
    usage: Usage | None = None
    notes: list[str] = field(default_factory=list)
    dropped: list[DroppedClaim] = field(default_factory=list)
    # the narrator already grounded ``narration`` against the same facts and recorded in
    # ``dropped`` what it removed: the pipeline does not prune (and list) it a second time
    grounded: bool = False


class Narrator(Protocol):
    name: str

    # ``context``: the --context rows a model may see and cite (C1...); None without them
    def narrate(self, facts: Facts, context: Any = None) -> NarrationResult: ...
