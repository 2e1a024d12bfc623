"""Facts + a grounded narration -> Report. Pure: no I/O, no clock, no network.

The chronological log and the IoC values always come from the facts; a narrator only
contributes stage judgments, per-IoC context and the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import __version__
from .arrays import distinct
from .preprocess.logtable import DESCRIPTION_FIELDS, LogTable
from .models import (
    APT_STAGES,
    DroppedClaim,
    IoCClaim,
    IoCEntry,
    Metadata,
    Narration,
    Report,
    SkippedLineInfo,
    StageFinding,
    Usage,
)
from .wording import capped_list

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from .preprocess.facts import Facts


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

    attack = _attack_ids(facts)
    found = _found_stages(facts)
    lookup: dict[str, int] = {}  # filled on first need, shared by the stages
    stages = [
        StageFinding(
            stage=claim.stage,
            confidence=claim.confidence,
            evidence=list(claim.evidence),
            minutes=_cited_minutes(log, claim.evidence, lookup, _rule_positions(facts, claim.stage, claim.evidence)),
            rationale=claim.rationale,
            tactic=attack.get(claim.stage, (None, []))[0],
            techniques=list(attack.get(claim.stage, (None, []))[1]),
            found_by_rules=claim.stage in found,
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
    # the table reads top down: a candidate whose likelihood the narrator lowered (a benign
    # mechanism explains it) goes below those it did not; the rank keeps the order within
    iocs.sort(key=lambda entry: _LIKELIHOOD_ORDER.get(entry.likelihood, len(_LIKELIHOOD_ORDER)))
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
        notes=[*provenance.notes, *_rules_disagree(facts, stages)],
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


_LIKELIHOOD_ORDER = {"high": 0, "moderate": 1, "low": 2}


def _rules_disagree(facts: Facts, stages: list[StageFinding]) -> list[str]:
    """Where the narration and the offline rules differ on the stages, one note each: a
    stage claimed that no rule found rests on the narrator's judgment alone, and a stage a
    rule found with moderate or high confidence that the narration left out may be missed.
    The analyst weighs both; the offline narrator's stages are the rules', so it adds none.
    Built from stage names and log ids only, never from the narrator's text."""
    from .rules.stages import find_stages

    found = {item.stage: item for item in find_stages(facts)}
    claimed = {finding.stage for finding in stages}
    notes = [
        f"{finding.stage} rests on the narrator's judgment alone: no offline rule found evidence for it "
        f"(read its rows {capped_list(list(finding.evidence), 6)} before acting on it)"
        for finding in stages
        if finding.stage not in found
    ]
    notes += [
        f"{stage} was found by the offline rules ({item.confidence} confidence; rows {capped_list(list(item.evidence), 6)}) "
        "but not claimed by the narrator; --backend offline reports the rules' reading"
        for stage, item in sorted(found.items(), key=lambda pair: APT_STAGES.index(pair[0]))
        if stage not in claimed and item.confidence in ("high", "moderate")
    ]
    return notes


def _rule_positions(facts: Facts, stage: str, evidence: list[str]) -> np.ndarray | None:
    """The log positions of ``evidence`` when it is the rules' own evidence for ``stage``
    (the offline narrator cites it as found; the rules kept each id's position), else None."""
    from .rules.stages import find_stages

    finding = next((item for item in find_stages(facts) if item.stage == stage), None)
    if finding is None or finding.positions is None or len(finding.evidence) != len(evidence) or list(finding.evidence) != evidence:
        return None
    return finding.positions


def _found_stages(facts: Facts) -> set[str]:
    """The stages the offline rules find (computed once per facts and shared)."""
    from .rules.stages import find_stages

    return {item.stage for item in find_stages(facts)}


def _attack_ids(facts: Facts) -> dict[str, tuple[str | None, list[str]]]:
    """Stage -> (ATT&CK tactic, technique ids) from the rules' findings; a stage no rule
    found (a model's own claim) gets the stage's tactic and no technique."""
    from .rules.stages import default_tactic, find_stages

    found = {item.stage: (item.tactic, list(item.techniques)) for item in find_stages(facts)}
    return {stage: found.get(stage, (default_tactic(stage), [])) for stage in APT_STAGES}


def _base(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1] or source


def _log_entries(facts: Facts) -> LogTable:
    """The log as columns, with the input lines and entity ids behind each row.

    Built from arrays: a million-row input condenses to hundreds of thousands of rows, so
    nothing here may touch a row, or build an object per row. The lines and entity ids
    are computed when first read (``LogTable``'s ``provenance``): the Markdown report
    shows neither.
    """
    timeline = facts.timeline
    log = timeline.log
    if len(log) == 0:
        return LogTable.empty()
    desc = timeline.descriptions
    minute_codes, minute_texts = timeline.minute_texts
    return LogTable(
        ids=_arrow_strings(log.arrow("id")),
        minute_codes=minute_codes,
        minute_texts=minute_texts,
        description_codes=log["description"],
        descriptions={name: desc[name].tolist() for name in DESCRIPTION_FIELDS},
        counts=log["count"],
        provenance=facts.derived("_log_provenance", lambda: _provenance_of(facts)),
    )


def compute_log_provenance_ahead(facts: Facts) -> None:
    """Start computing the input lines and entity ids behind each log row (what the JSON
    report lists per row) on a thread of their own, for a caller that will render them:
    their work is numpy's and Arrow's (a sort, counts, a hash), which runs without the GIL
    while the narration is grounded and assembled in Python (a 1M-row edge list's JSON
    report about 0.1 s sooner, the medians of ten alternating runs). Called after the stage
    rules, whose per-row temporaries would otherwise meet these (started before them, a
    10M-row edge list's peak grew by 190 MB). The log assembled from these facts takes
    them from that thread."""
    if len(facts.timeline.log):
        facts.derived("_log_provenance", lambda: _on_a_thread(_provenance_of(facts)))


def _provenance_of(facts: Facts) -> Callable[[], dict]:
    """The function computing ``facts``' log provenance; it keeps the columns it reads,
    not the timeline."""
    timeline = facts.timeline
    table = timeline.table
    columns = (
        timeline.event_log, table.events["line"], table.events["triple"],
        timeline.unit_rows, table.triples.arrow("subject_id"), table.triples.arrow("object_id"),
    )  # fmt: skip
    n = len(timeline.log)
    return lambda: _provenance(n, *columns)


def _on_a_thread(function: Callable[[], dict]) -> Callable[[], dict]:
    """``function`` started now on a thread of its own; the returned callable waits for its
    result (and raises what it raised), as often as asked."""
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aptnarrate-log-provenance")
    future = executor.submit(function)
    executor.shutdown(wait=False)  # its one thread ends with the task
    return future.result


def _provenance(
    n: int, event_log: np.ndarray, lines: np.ndarray, triples: np.ndarray, unit_rows: np.ndarray, subject_ids, object_ids
) -> dict:
    """The input lines and entity ids behind each of the ``n`` log rows, as ``LogTable``'s
    columns: ``event_log`` is each event's log row, ``lines`` and ``triples`` each event's
    input line and triple, ``unit_rows`` the first event of each distinct (triple, second)
    (``Timeline.unit_rows``), ``subject_ids`` and ``object_ids`` each triple's entity ids."""
    order = np.argsort(event_log, kind="stable")
    line_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(event_log, minlength=n), out=line_offsets[1:])
    line_values = lines[order]
    del order
    # distinct (log row, triple) pairs -> the distinct entity ids of each row, sorted. By
    # hashing the keys in event order: sorting them in row order (``order``) is faster but
    # keeps ``order`` alive, 50 MB more at the 10M-row memory peak. The events of one unit
    # share its triple and its second, so its log row: one key a unit holds every pair
    # (at 10M rows the keys and their hash table were this report's memory peak)
    n_triples = max(len(subject_ids), 1)
    keys = event_log[unit_rows].astype(np.int64)
    keys *= n_triples
    keys += triples[unit_rows]
    pairs = _unique_hashed(keys)
    del keys
    pair_row, pair_triple = pairs // n_triples, pairs % n_triples
    del pairs
    entity_codes, entity_ids = _sorted_codes(subject_ids, object_ids)
    n_entities = max(len(entity_ids), 1)
    sides = []
    for side_codes in entity_codes:
        keys = distinct(pair_row * n_entities + side_codes[pair_triple], in_place=True)
        sides.append((np.searchsorted(keys // n_entities, np.arange(n + 1)), keys % n_entities))
    return {
        "line_offsets": line_offsets,
        "line_values": line_values,
        "entity_ids": entity_ids,
        "subject_offsets": sides[0][0],
        "subject_values": sides[0][1],
        "object_offsets": sides[1][0],
        "object_values": sides[1][1],
    }


def _cited_minutes(log: LogTable, evidence: list[str], lookup: dict[str, int], positions: np.ndarray | None = None) -> list[str]:
    """The distinct minutes of the log rows ``evidence`` cites, sorted; ids not in the log
    (a context row's ``C3``) are skipped. A stage may cite tens of thousands of rows: the
    ids are read in Arrow, not one by one. Ids are "L<position+1>" when we build the log;
    an id that is not (or names another row) is looked up in ``lookup`` (id -> last row
    with it, built on first need), as ``LogTable.minute_of`` does. ``positions``: the ids'
    log positions where the caller knows them (nothing to read)."""
    if not evidence or not len(log):
        return []
    if positions is not None:
        codes = np.unique(log.minute_codes[positions])
        return sorted({log.minute_texts[c] for c in codes.tolist()})
    import pyarrow as pa
    from . import compute as pc

    cited = pa.array(evidence, pa.string())
    numbered = pc.match_substring_regex(cited, r"^L[0-9]{1,18}$").to_numpy(zero_copy_only=False)
    positions = np.full(len(cited), -1, dtype=np.int64)
    if numbered.any():
        at = np.flatnonzero(numbered)
        guess = pc.cast(pc.utf8_slice_codeunits(pc.take(cited, pa.array(at)), 1), pa.int64()).to_numpy() - 1
        inside = (guess >= 0) & (guess < len(log))
        at, guess = at[inside], guess[inside]
        same = pc.equal(pc.take(log.ids, pa.array(guess)), pc.take(cited, pa.array(at))).to_numpy(zero_copy_only=False)
        positions[at[same]] = guess[same]
    missed = np.flatnonzero(positions < 0)
    if len(missed):
        if not lookup:
            lookup.update(log.position_of())
        for i in missed.tolist():
            positions[i] = lookup.get(evidence[i], -1)
    codes = np.unique(log.minute_codes[positions[positions >= 0]])
    return sorted({log.minute_texts[c] for c in codes.tolist()})


def _unique_hashed(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` by hashing first: far fewer distinct keys than rows are left to sort."""
    from .arrays import in_order_distinct

    return np.sort(in_order_distinct(keys))


def _sorted_codes(*columns) -> tuple[list[np.ndarray], list[str]]:
    """Codes of each column's values into one sorted list of their distinct values (code
    order = string order, so sorting codes sorts the strings). In Arrow: UTF-8's byte order
    is Python's code point order, and at 180k uuids it is twice as fast as pandas' factorize
    of Python strings; ids that are not all strings (a DataFrame built in a notebook) go
    through pandas."""
    import pyarrow as pa
    from . import compute as pc

    try:
        arrays = [pc.cast(column, pa.large_string()) if isinstance(column, pa.Array) else pa.array(column, pa.large_string(), from_pandas=True) for column in columns]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return _sorted_codes_pandas(*columns)
    values = pa.concat_arrays(arrays)
    if values.null_count:
        return _sorted_codes_pandas(*columns)
    distinct = pc.unique(values)
    distinct = pc.take(distinct, pc.array_sort_indices(distinct))
    codes = pc.index_in(values, value_set=distinct).to_numpy().astype(np.int64)
    return _split(codes, [len(part) for part in arrays]), distinct.to_pylist()


def _split(codes: np.ndarray, lengths: list[int]) -> list[np.ndarray]:
    """``codes`` cut back into the columns they were concatenated from."""
    return np.split(codes, np.cumsum(lengths)[:-1])


def _sorted_codes_pandas(*columns) -> tuple[list[np.ndarray], list[str]]:
    from .arrays import pandas_module
    pd = pandas_module()

    values = [np.asarray(column.to_pylist() if hasattr(column, "to_pylist") else column, dtype=object) for column in columns]
    codes, uniques = pd.factorize(np.concatenate(values), sort=True)
    return _split(codes.astype(np.int64), [len(part) for part in values]), [str(u) for u in uniques]


def _arrow_strings(series):
    import pyarrow as pa

    from . import compute

    if isinstance(series, pa.Array):
        return compute.cast(series, pa.string())
    try:
        return pa.array(series, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # pragma: no cover - ids are strings
        return pa.array([str(x) for x in series], type=pa.string())
