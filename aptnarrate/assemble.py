"""Facts + a grounded narration -> Report. Pure: no I/O, no clock, no network.

The chronological log and the IoC values always come from the facts; a narrator only
contributes stage judgments, per-IoC context and the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import __version__
from .condense import minute_text
from .models import (
    DroppedClaim,
    IoCClaim,
    IoCEntry,
    LogEntry,
    Metadata,
    Narration,
    Report,
    SkippedLineInfo,
    StageFinding,
    Usage,
)

if TYPE_CHECKING:  # pragma: no cover
    from .facts import Facts


@dataclass(frozen=True)
class Provenance:
    """Who narrated, and what happened on the way."""

    backend: str
    model: str | None = None
    usage: Usage | None = None
    notes: tuple[str, ...] = ()
    dropped: tuple[DroppedClaim, ...] = ()
    internal_networks: tuple[str, ...] = field(default_factory=tuple)


def assemble(facts: Facts, narration: Narration, fallback: Narration, provenance: Provenance) -> Report:
    """Build the report. ``fallback`` (the offline narrator's) supplies context for any table
    IoC the narrator left without one."""
    timeline = facts.timeline
    table = timeline.table
    log = _log_entries(facts)
    minutes_by_id = {entry.id: entry.minute for entry in log}

    stages = [
        StageFinding(
            stage=claim.stage,
            confidence=claim.confidence,
            evidence=list(claim.evidence),
            minutes=sorted({minutes_by_id[e] for e in claim.evidence if e in minutes_by_id}),
            rationale=claim.rationale,
        )
        for claim in narration.stages
    ]

    claims = {claim.ioc: claim for claim in narration.iocs}
    fallback_claims = {claim.ioc: claim for claim in fallback.iocs}
    iocs: list[IoCEntry] = []
    for candidate in facts.candidates:
        claim: IoCClaim | None = claims.get(candidate.value)
        if claim is None and candidate.in_table:
            claim = fallback_claims.get(candidate.value)
        if claim is None:
            continue
        iocs.append(
            IoCEntry(
                value=candidate.value,
                type=candidate.type,
                rank=candidate.rank,
                likelihood=claim.likelihood,
                legitimate_usage=claim.legitimate_usage,
                rationale=claim.rationale,
                reasons=list(candidate.reasons),
                evidence=list(candidate.evidence),
                first_seen=candidate.first_seen,
                last_seen=candidate.last_seen,
            )
        )
    listed = {entry.value for entry in iocs}
    metadata = Metadata(
        generator=f"aptnarrate {__version__}",
        backend=provenance.backend,
        model=provenance.model,
        timezone=table.timezone,
        time_basis=table.time_basis,
        input_format=table.input_format,
        rows_read=table.rows_read,
        events=len(table.events),
        log_rows=len(log),
        skipped_count=table.skipped_count,
        skipped_lines=[SkippedLineInfo(line=s.line, column=s.column, reason=s.reason) for s in table.skipped],
        internal_networks=list(provenance.internal_networks),
        candidates_total=len(facts.candidates),
        candidates_omitted=sum(1 for c in facts.candidates if c.value not in listed),
        dropped=list(provenance.dropped),
        usage=provenance.usage,
        notes=list(provenance.notes),
    )
    return Report(
        title=f"Attack Report: {_base(table.source)}",
        input_name=_base(table.source),
        summary=narration.summary,
        stages=stages,
        iocs=iocs,
        log=log,
        metadata=metadata,
    )


def _base(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1] or source


def _log_entries(facts: Facts) -> list[LogEntry]:
    timeline = facts.timeline
    table = timeline.table
    log = timeline.log
    if len(log) == 0:
        return []
    event_log = timeline.event_log
    order = np.argsort(event_log, kind="stable")
    bounds = np.searchsorted(event_log[order], np.arange(len(log) + 1))
    lines = table.events["line"].to_numpy()[order]
    triple_of_event = table.events["triple"].to_numpy()[order]
    subject_ids = table.triples["subject_id"].to_numpy()
    object_ids = table.triples["object_id"].to_numpy()
    descriptions = timeline.descriptions
    minutes = minute_text(log["minute"].to_numpy())
    entries = []
    for position, row in enumerate(log.itertuples(index=False)):
        start, stop = bounds[position], bounds[position + 1]
        triples = np.unique(triple_of_event[start:stop])
        desc = descriptions.iloc[row.description]
        entries.append(
            LogEntry(
                id=row.id,
                minute=minutes[position],
                subject_kind=desc.subject_kind,
                subject_name=desc.subject_name,
                action=desc.action,
                object_kind=desc.object_kind,
                object_name=desc.object_name,
                count=int(row.count),
                text=desc.text,
                lines=lines[start:stop].tolist(),
                subject_ids=sorted(set(subject_ids[triples].tolist())),
                object_ids=sorted(set(object_ids[triples].tolist())),
            )
        )
    return entries
