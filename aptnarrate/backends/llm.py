"""The model narrator: one prompt, one validated and grounded answer, over any chat transport.

``--backend openai`` wraps ``OpenAITransport``; ``--backend replay`` wraps
``ReplayTransport``; ``--record`` wraps either in ``RecordingTransport``. The narrator
itself never sees the network: the transport does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import NarrationResult

if TYPE_CHECKING:  # pragma: no cover
    from ..llm.chat import ChatTransport
    from ..llm.config import LLMSettings
    from ..models import ContextInfo
    from ..preprocess.facts import Facts


class ModelNarrator:
    def __init__(self, transport: ChatTransport, settings: LLMSettings) -> None:
        self.transport = transport
        self.settings = settings
        self.name = transport.name

    def narrate(self, facts: Facts, context: ContextInfo | None = None) -> NarrationResult:
        """``context``: the report's ``--context`` part, shown to the model and citable."""
        from ..llm.validate import narrate_with_model
        from .openai import narration_deadline

        # one wall-clock bound over every request of the narration, re-asks included
        with narration_deadline(self.settings.max_narration_seconds):
            return narrate_with_model(facts, self.transport, self.settings, context)
