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

    attack = _attack_ids(facts)
    stages = [
        StageFinding(
            stage=claim.stage,
            confidence=claim.confidence,
            evidence=list(claim.evidence),
            minutes=sorted({minutes_by_id[e] for e in claim.evidence if e in minutes_by_id}),
            rationale=claim.rationale,
            tactic=attack.get(claim.stage, (None, []))[0],
            techniques=list(attack.get(claim.stage, (None, []))[1]),
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
                full_values=list(candidate.full_values),
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


def _attack_ids(facts: Facts) -> dict[str, tuple[str | None, list[str]]]:
    """Stage -> (ATT&CK tactic, technique ids) from the rules' findings; a stage no rule
    found (a model's own claim) gets the stage's tactic and no technique."""
    from .stages import STAGE_TACTIC, find_stages

    found = {item.stage: (item.tactic, list(item.techniques)) for item in find_stages(facts)}
    return {stage: found.get(stage, (tactic, [])) for stage, tactic in STAGE_TACTIC.items()}


def _base(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1] or source


def _log_entries(facts: Facts) -> list[LogEntry]:
    """One LogEntry per log row, with the input lines and entity ids behind it.

    Built from arrays: a million-row input condenses to hundreds of thousands of rows, so
    nothing here may touch a DataFrame row by row.
    """
    timeline = facts.timeline
    table = timeline.table
    log = timeline.log
    if len(log) == 0:
        return []
    n = len(log)
    event_log = timeline.event_log
    order = np.argsort(event_log, kind="stable")
    bounds = np.searchsorted(event_log[order], np.arange(n + 1))
    lines = table.events["line"].to_numpy()[order].tolist()
    # distinct (log row, triple) pairs -> the entity ids of each row
    n_triples = max(len(table.triples), 1)
    pairs = np.unique(event_log.astype(np.int64) * n_triples + table.events["triple"].to_numpy())
    pair_row, pair_triple = pairs // n_triples, pairs % n_triples
    pair_bounds = np.searchsorted(pair_row, np.arange(n + 1))
    subject_ids = table.triples["subject_id"].to_numpy(dtype=object)[pair_triple].tolist()
    object_ids = table.triples["object_id"].to_numpy(dtype=object)[pair_triple].tolist()

    desc = timeline.descriptions
    codes = log["description"].to_numpy()
    fields = {
        column: desc[column].to_numpy(dtype=object)[codes].tolist()
        for column in ("subject_kind", "subject_name", "action", "object_kind", "object_name", "text")
    }
    ids = log["id"].tolist()
    counts = log["count"].tolist()
    minutes = minute_text(log["minute"].to_numpy())
    bounds, pair_bounds = bounds.tolist(), pair_bounds.tolist()
    entries = []
    for i in range(n):
        a, b = pair_bounds[i], pair_bounds[i + 1]
        # our own computed values: construct without re-validating each of them
        entries.append(
            LogEntry.model_construct(
                id=ids[i],
                minute=minutes[i],
                subject_kind=fields["subject_kind"][i],
                subject_name=fields["subject_name"][i],
                action=fields["action"][i],
                object_kind=fields["object_kind"][i],
                object_name=fields["object_name"][i],
                count=int(counts[i]),
                text=fields["text"][i],
                lines=lines[bounds[i] : bounds[i + 1]],
                subject_ids=sorted(set(subject_ids[a:b])),
                object_ids=sorted(set(object_ids[a:b])),
            )
        )
    return entries
