"""Which triples and entities stand behind each log row.

Facts about the log that later stages share: the prompt (process aliases and the rows
they act in) and the offline narration (who acted in the rows a sentence tells) both read
them. Each is built once per facts, with array operations over the events, and kept with
the facts (``Facts.derived``), never in a module global: a batch builds many inputs'
reports at once in threads.

* ``triple_entity_ids``: each triple's subject and object entity ids.
* ``entity_codes``: those ids as codes into the distinct ids, in order of first appearance.
* ``row_index``: the distinct triples behind every log position.
* ``row_entity_codes``: the entity codes of one side of the triples behind some log rows:
  the one per-row expansion that ``row_actor_ids`` and ``ids_by_group`` read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..arrays import distinct, factorize, in_order_distinct

if TYPE_CHECKING:  # pragma: no cover
    from .facts import Facts

_SIDE = {"subject": 0, "object": 1}  # a triple's entities are coded interleaved: triple * 2 + side


def triple_entity_ids(facts: Facts) -> dict[str, np.ndarray]:
    """Each triple's subject and object entity ids as Python strings, by role, converted
    from the table's columns once per facts."""
    triples = facts.timeline.table.triples
    return facts.derived("_triple_entity_ids", lambda: {role: triples[f"{role}_id"] for role in _SIDE})


def entity_codes(facts: Facts) -> tuple[np.ndarray, np.ndarray]:
    """Each triple's subject and object entity ids (interleaved: triple * 2 + side) as codes
    into the distinct ids in order of first appearance, and those ids; hashed once per
    facts (whatever groups by entity reads the codes)."""

    def compute():
        ids = triple_entity_ids(facts)
        codes, uniques = factorize(np.column_stack([ids["subject"], ids["object"]]).ravel())
        return codes, np.asarray(uniques, dtype=object)

    return facts.derived("_entity_codes", compute)


@dataclass(frozen=True)
class RowIndex:
    starts: np.ndarray  # triples of log position p: triples[starts[p]:starts[p + 1]]
    triples: np.ndarray


def row_index(facts: Facts) -> RowIndex:
    """The distinct triples behind every log position, built once per facts in one pass over
    the events (a scan per row would cost O(events) each)."""
    return facts.derived("_row_index", lambda: _build_row_index(facts))


def _build_row_index(facts: Facts) -> RowIndex:
    timeline = facts.timeline
    n_triples = max(len(timeline.table.triples), 1)
    keys = distinct(timeline.event_log.astype(np.int64) * n_triples + timeline.table.events["triple"].astype(np.int64))
    positions, triples = keys // n_triples, keys % n_triples
    return RowIndex(starts=np.searchsorted(positions, np.arange(len(timeline.log) + 1)), triples=triples)


def row_entity_codes(facts: Facts, positions: np.ndarray, role: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``entity_codes`` of the ``role`` side of the distinct triples behind each log
    position of ``positions`` (repeats allowed), row after row, and how many each row has."""
    index = row_index(facts)
    lengths = index.starts[positions + 1] - index.starts[positions]
    # the offsets into index.triples of every row's run, concatenated, without a loop
    offsets = np.repeat(index.starts[positions] - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    codes, _ = entity_codes(facts)
    return codes[index.triples[offsets] * 2 + _SIDE[role]], lengths


def row_actor_ids(facts: Facts, position: int | list[int], role: str = "subject") -> list[str]:
    """Entity ids of the ``role`` side of the log row(s) at ``position``, first seen first."""
    codes, _ = row_entity_codes(facts, np.atleast_1d(np.asarray(position, dtype=np.int64)), role)
    # distinct entities by their codes (integers), first seen first, then their ids
    return entity_codes(facts)[1][in_order_distinct(codes)].tolist()


def ids_by_group(
    facts: Facts, wanted: Sequence[str], positions: np.ndarray, group_of: np.ndarray, n_groups: int, role: str
) -> list[list[str]]:
    """For each group 0..n_groups-1 of the log rows at ``positions`` (``group_of``: each
    row's group), the entity ids of ``wanted`` (distinct ids) among the ``role`` sides of
    its rows, in ``wanted``'s order: what ``row_actor_ids`` of the group's rows holds of
    them, found for every group at once instead of one group at a time.

    A group that holds every row of one description (a stage usually cites whole
    descriptions) has the entities of that description's triples; the rows of the other
    groups are read from their events. When a row is given twice, every group is read
    from the per-row index (``row_entity_codes``), as one row may then be in two groups."""
    out: list[list[str]] = [[] for _ in range(n_groups)]
    if not len(wanted) or not len(positions):
        return out
    span = len(wanted) + 1
    numbers_of_entity = wanted_numbers(facts, wanted)
    group_of = np.asarray(group_of, dtype=np.int64)
    if len(distinct(positions)) != len(positions):
        codes, lengths = row_entity_codes(facts, positions, role)
        numbers = numbers_of_entity[codes]
        row_group = np.repeat(group_of, lengths)
        held = numbers > 0
        keys = [row_group[held] * span + numbers[held]]
    else:
        timeline = facts.timeline
        triple_numbers = numbers_of_entity[entity_codes(facts)[0][_SIDE[role] :: 2]]
        log_description = timeline.log["description"].astype(np.int64, copy=False)
        descriptions = log_description[positions]
        first = np.full(n_groups, -1, dtype=np.int64)
        groups, first_rows = np.unique(group_of, return_index=True)  # each group's first row
        first[groups] = descriptions[first_rows]  # (a repeated index in one assignment: numpy promises no winner)
        single = np.bincount(group_of[descriptions != first[group_of]], minlength=n_groups) == 0
        rows_of_description = facts.derived("_rows_per_description", lambda: np.bincount(log_description, minlength=len(timeline.descriptions)))
        whole = single & (np.bincount(group_of, minlength=n_groups) == rows_of_description[np.maximum(first, 0)])
        keys = []
        if whole.any():  # a description's triples are exactly those of the events of its rows
            group_of_description = np.full(len(timeline.descriptions), -1, dtype=np.int64)
            group_of_description[first[whole]] = np.flatnonzero(whole)
            triples = np.flatnonzero((triple_numbers > 0) & (group_of_description[timeline.triple_description] >= 0))
            keys.append(group_of_description[timeline.triple_description[triples]] * span + triple_numbers[triples])
        partial = ~whole[group_of]
        if partial.any():
            row_group = np.full(len(timeline.log), -1, dtype=np.int64)
            row_group[positions[partial]] = group_of[partial]
            events = np.flatnonzero(row_group[timeline.event_log] >= 0)
            numbers = triple_numbers[timeline.table.events["triple"][events]]
            held = numbers > 0
            keys.append(row_group[timeline.event_log[events[held]]] * span + numbers[held])
    for key in distinct(np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)).tolist():
        group, number = divmod(key, span)
        out[group].append(wanted[number - 1])
    return out


def entity_index(facts: Facts) -> dict[str, int]:
    """Each entity id -> its code in ``entity_codes`` (the ids are distinct), once per facts."""
    return facts.derived("_entity_index", lambda: {entity: i for i, entity in enumerate(entity_codes(facts)[1].tolist())})


def wanted_numbers(facts: Facts, wanted: Sequence[str]) -> np.ndarray:
    """Each entity code's number in ``wanted`` (``wanted[n - 1]`` is number n), 0 for an
    entity not wanted; kept with the facts for the last ``wanted`` asked (the story asks
    with the same aliases for every sentence)."""
    kept = facts.derived("_wanted_numbers", dict)
    if kept.get("wanted") is not wanted:
        _, entities = entity_codes(facts)
        numbers = np.zeros(len(entities), dtype=np.int64)
        number_of = entity_index(facts)
        at = np.array([number_of.get(w, -1) for w in wanted], dtype=np.int64)  # -1: not an entity of these facts
        numbers[at[at >= 0]] = np.flatnonzero(at >= 0) + 1
        kept.update(wanted=wanted, numbers=numbers)
    return kept["numbers"]
