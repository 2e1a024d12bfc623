"""``--context`` for the host story: the top IoCs across all subgraphs of the story, looked
up once in the host's wider log (``context.extract_context`` over the subgraphs' facts;
the window spans them all). Deterministic; the story's narrative does not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..context import ContextOptions
    from ..preprocess.facts import Facts
    from ..preprocess.ingest import IngestOptions
    from .story import Story


def add_story_context(story: Story, subgraphs: Sequence[Facts], ingest: IngestOptions, options: ContextOptions) -> Story:
    """``story`` with a context section per top IoC across ``subgraphs`` (one per report of
    the story) and the count of context rows read in its metadata."""
    from ..context import extract_context

    stages = tuple(s.stage for s in story.stages)
    context = extract_context(list(subgraphs), ingest, options, stages)
    note = f"context: {context.rows_read} rows read from {context.source} ({context.engine})"
    metadata = story.metadata.model_copy(
        update={"context_rows_read": context.rows_read, "notes": [*story.metadata.notes, note]}
    )
    return story.model_copy(update={"context": context, "metadata": metadata})
