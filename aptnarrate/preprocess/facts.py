"""Facts: the entities of a subgraph, its ranked candidate IoCs, and the declared networks.

Everything here is computed from the timeline, once, and is what narrators may cite.
Work is done with arrays per distinct description and per log row, and in Python per
candidate, never per event or entity id, so inputs of a million rows stay fast.

Every *named* entity is a candidate; entities with the same display name (a file seen
under two paths, a process with two ids, a process and the file it runs from) are one
candidate. Unnamed entities
are counted in ``entities`` but are never candidates: there is nothing to name.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import chain
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

import numpy as np

from ..arrays import Columns, factorize, in_order_distinct, pandas_module

from .memory import release_freed_memory
from .condense import NS_PER_MINUTE, NS_PER_SECOND, Timeline, minute_text
from .rank import MAX_PEERS_FOR_PATTERNS, Network, Profile, address_class, likelihood, parse_networks, score_all, table_flags

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..models import Candidate

__all__ = ["Facts", "compute_facts", "address_class", "candidate_type", "network_sweeps"]

_TYPE_OF_KIND = {
    "file": "file",
    "process": "process",
    "thread": "process",
    "module": "module",
    "registry": "registry",
    "directory": "directory",
    "link": "file",
}
PLACEHOLDER_NAMES = frozenset({"", ".", "..", "0", "-", "?", "*"})
# the role in which an action reads naturally without saying "as subject/object"
_SUBJECT_KINDS = frozenset({"process", "thread", "unit", "shell", "task", "session"})


_T = TypeVar("_T")
_M = TypeVar("_M")  # a pydantic model class (``_trusted_models``)


@dataclass(frozen=True)
class Facts:
    timeline: Timeline
    internal_networks: tuple[Network, ...]
    # all named entities in rank order (1 = most suspicious), as plain dicts with the fields
    # of ``Candidate``: what ``inspect`` writes, without loading pydantic
    candidate_records: tuple[dict, ...] = ()
    _sides: _Sides | None = field(default=None, repr=False, compare=False)

    @cached_property
    def candidates(self) -> tuple[Candidate, ...]:
        """The candidates as ``Candidate`` models, built on first use."""
        from ..models import Candidate

        # the values are ours and already of the declared types: no re-validation
        return _trusted_models(Candidate, self.candidate_records)

    @cached_property
    def entities(self) -> pd.DataFrame:
        """One row per entity id (computed on first use: ``inspect`` and reports do not need it)."""
        return _entity_frame(self._sides)

    def candidate(self, value: str) -> Candidate | None:
        """The best-ranked candidate named exactly ``value``, else case-insensitively (from
        an index built once: a claim citing thousands of rows asks once per row)."""
        exact, folded = self._candidate_index
        found = exact.get(value)
        return found if found is not None else folded.get(value.casefold())

    @cached_property
    def _candidate_index(self) -> tuple[dict[str, Candidate], dict[str, Candidate]]:
        """Each candidate value, and each casefolded value, -> its best-ranked candidate."""
        exact: dict[str, Candidate] = {}
        folded: dict[str, Candidate] = {}
        for cand in self.candidates:  # in rank order: the first of a value is the best
            exact.setdefault(cand.value, cand)
            folded.setdefault(cand.value.casefold(), cand)
        return exact, folded

    @property
    def table_candidates(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.in_table)

    def address_class(self, value: str) -> tuple[str, str]:
        return address_class(value, self.internal_networks)

    @property
    def sweeps(self) -> tuple[dict, ...]:
        """The log's network sweeps (``network_sweeps``: subject, subnet, hosts), computed
        once: the candidates mark the swept hosts, the stage rules cite the sweeps."""
        return self.derived("_network_sweeps", lambda: network_sweeps(self.timeline))

    def derived(self, key: str, compute: Callable[[], _T]) -> _T:
        """What a later stage derives from these facts (stage findings, aliases, the
        grounding vocabulary), computed once and kept with them, as ``cached_property``
        keeps its values: Facts is frozen, its ``__dict__`` holds such caches (a None it
        computed too: "none here" is an answer, not a missing one)."""
        if key not in self.__dict__:
            self.__dict__[key] = compute()
        return self.__dict__[key]


def _trusted_models(model: type[_M], records: Sequence[dict]) -> tuple[_M, ...]:
    """``model.model_construct(**record)`` of each record (trusted values, not validated):
    the first constructed, the others copies of it with every field replaced (a copy costs
    about half a construction, which walks each field's aliases; a record with other keys
    is constructed)."""
    if not records:
        return ()
    first = model.model_construct(**records[0])
    fields = first.__dict__.keys()
    return (first,) + tuple(
        first.model_copy(update=record) if record.keys() == fields else model.model_construct(**record) for record in records[1:]
    )


def candidate_type(kind: str, name: str) -> str:
    if kind == "flow":
        return "ip" if address_class(name, ())[0] != "unknown" else "other"
    return _TYPE_OF_KIND.get(kind, "other")


def compute_facts(timeline: Timeline, internal_networks: Sequence[str] = ()) -> Facts:
    networks = parse_networks(internal_networks)
    sides = _Sides(timeline)
    sweeps = network_sweeps(timeline)
    records = _candidates(timeline, sides, networks, sweeps)
    release_freed_memory()
    facts = Facts(timeline=timeline, internal_networks=networks, candidate_records=records, _sides=sides)
    facts.derived("_network_sweeps", lambda: sweeps)  # the stage rules cite them (``Facts.sweeps``)
    return facts


# --------------------------------------------------------------------------- per-side codes


class _Sides:
    """Candidate-group codes for each description's subject and object (a group is one kind
    and display name, so it is a function of the description), the same per triple, and
    what the candidates need per description. Candidates are computed per description (a
    few thousand) and per log row, never per event or per entity id; the per-entity frame
    (``Facts.entities``, rarely used) computes its per-triple statistics on first use."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        triples = timeline.table.triples
        self.triples = triples
        descriptions = timeline.descriptions
        n_desc = len(descriptions)
        kind, kinds = _side_codes(descriptions, "kind")
        name, names = _side_codes(descriptions, "name")

        # placeholder names ("0", "..", "-") name nothing an analyst can look up
        named_name = np.array([bool(x) and str(x).strip() not in PLACEHOLDER_NAMES for x in names], dtype=bool)
        named = named_name[name] if len(names) else np.zeros(2 * n_desc, dtype=bool)
        width = max(len(names), 1)
        # numbered by first appearance over the subjects, then the objects: descriptions are
        # numbered by their first triple, so this is the numbering over the triples' sides
        group_codes, group_keys = factorize(kind[named] * width + name[named])
        groups = np.full(2 * n_desc, -1, dtype=np.int64)
        groups[named] = group_codes
        self.description_group = {"subject": groups[:n_desc], "object": groups[n_desc:]}
        self.group_keys = [(kinds[k // width], names[k % width]) for k in group_keys.tolist()]
        of_triple = timeline.triple_description
        triple_groups = np.concatenate([groups[:n_desc][of_triple], groups[n_desc:][of_triple]])
        named_triple = triple_groups >= 0
        self.group_values = distinct_by_code(triple_groups[named_triple], *_side_codes(triples, "value", named_triple))
        self.group_ids = distinct_by_code(triple_groups[named_triple], *_side_codes(triples, "id", named_triple))

    def group_table(self) -> dict[str, np.ndarray]:
        """``_action_table``'s columns for the candidate groups, from per-description statistics: a
        group's (role, action) rows are sums, minima and maxima over its descriptions, as
        they are over its triples."""
        timeline = self.timeline
        n_desc = len(timeline.descriptions)
        events = timeline.table.events
        # distinct seconds per triple, summed per description: one count per (triple, second) unit
        unit_triple = events["triple"][timeline.unit_rows]
        seconds = np.bincount(timeline.triple_description[unit_triple], minlength=n_desc)
        log = timeline.log
        description = log["description"]
        first = np.full(n_desc, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(n_desc, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(first, description, log["first_time"])
        np.maximum.at(last, description, log["last_time"])
        action_codes, actions = factorize(timeline.descriptions.arrow("action"))
        columns = _action_columns(self.description_group, action_codes, seconds, first, last)
        columns["action"] = np.asarray(actions, dtype=object)[columns["action"]]
        return columns

    def group_minutes(self) -> np.ndarray:
        """Distinct minutes per candidate group (indexed by code), from the log: a log row
        is one distinct (minute, description)."""
        log = self.timeline.log
        if not len(log):
            return np.array([], dtype=np.int64)
        description = log["description"]
        minute = log["minute"]
        minute = (minute - minute.min()) // NS_PER_MINUTE
        parts = []
        for role in ("subject", "object"):
            code = self.description_group[role][description]
            keep = code >= 0
            parts.append(code[keep] * (1 << 32) + minute[keep])
        keys = in_order_distinct(np.concatenate(parts))
        return np.bincount(keys >> 32) if len(keys) else np.array([], dtype=np.int64)

    # ----------------------------------------------------------------------- entities

    @cached_property
    def entity(self) -> dict[str, np.ndarray]:
        """Entity codes (first-appearance order, subjects first) of each triple's two sides."""
        n = len(self.triples)
        id_codes, _ = _side_codes(self.triples, "id")
        codes, _ = factorize(id_codes)
        return {"subject": codes[:n], "object": codes[n:]}

    @cached_property
    def entity_info(self) -> pd.DataFrame:
        """id, kind, name and value of each entity code, from its first appearance."""
        pd = pandas_module()  # the per-entity frame is for notebooks: pandas only here

        entity = np.concatenate([self.entity["subject"], self.entity["object"]])
        first = np.full(entity.max() + 1 if len(entity) else 0, len(entity), dtype=np.int64)
        np.minimum.at(first, entity, np.arange(len(entity)))
        columns = {}
        for column in ("id", "kind", "name", "value"):
            codes, uniques = _side_codes(self.triples, column)
            columns[column] = uniques[codes[first]]
        return pd.DataFrame(columns)

    @cached_property
    def _triple_stats(self) -> dict[str, np.ndarray]:
        """Per triple: distinct seconds, first and last time; distinct (triple, minute) pairs.
        ``unit_rows``: the first event of each distinct (triple, second), from condense."""
        timeline = self.timeline
        n = len(self.triples)
        events = timeline.table.events
        triple = events["triple"]
        time = events["time"]
        action_codes, actions = factorize(self.triples.arrow("action"))
        stats = {"action_codes": action_codes, "actions": np.asarray(actions, dtype=object)}
        if len(triple) == 0:
            empty = np.zeros(n, dtype=np.int64)
            return {**stats, "seconds": empty, "first": empty, "last": empty, "pair_triple": empty[:0], "pair_minute": empty[:0]}
        # per distinct (triple, second) unit: the per-minute pairs come from far fewer rows
        unit_rows = timeline.unit_rows
        unit_triple = triple[unit_rows].astype(np.int64)
        unit_minute = np.floor_divide(time[unit_rows], NS_PER_SECOND * 60)
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(first, triple, time)
        np.maximum.at(last, triple, time)
        m0, mspan = unit_minute.min(), unit_minute.max() - unit_minute.min() + 1
        pairs = in_order_distinct(unit_triple * mspan + (unit_minute - m0))
        return {
            **stats,
            "seconds": np.bincount(unit_triple, minlength=n),
            "first": first,
            "last": last,
            "pair_triple": pairs // mspan,
            "pair_minute": pairs % mspan + m0,
        }

    def entity_table(self) -> pd.DataFrame:
        """``_action_table`` of the entities (per triple)."""
        stats = self._triple_stats
        return _action_table(self.entity, stats["action_codes"], stats["actions"], stats["seconds"], stats["first"], stats["last"])

    def entity_minutes(self) -> pd.Series:
        stats = self._triple_stats
        pair_triple, pair_minute = stats["pair_triple"], stats["pair_minute"]
        parts = []
        for role in ("subject", "object"):
            code = self.entity[role][pair_triple]
            keep = code >= 0
            parts.append(code[keep] * (1 << 32) + (pair_minute[keep] - pair_minute.min()))
        pd = pandas_module()

        keys = in_order_distinct(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)
        counts = np.bincount(keys >> 32) if len(keys) else np.array([], dtype=np.int64)
        return pd.Series(counts)


def _action_table(
    codes: dict[str, np.ndarray], action_codes: np.ndarray, actions: np.ndarray,
    seconds: np.ndarray, first: np.ndarray, last: np.ndarray,
) -> pd.DataFrame:
    """Long table: code, role, action, seconds (summed), min, max (ns), over the rows
    (triples or descriptions) that ``codes`` number per side; rows with code -1 are left out."""
    pd = pandas_module()

    table = pd.DataFrame(_action_columns(codes, action_codes, seconds, first, last))
    table["action"] = actions[table["action"]] if len(table) else []
    return table[["code", "action", "seconds", "min", "max", "role"]]


def _action_columns(
    codes: dict[str, np.ndarray], action_codes: np.ndarray, seconds: np.ndarray, first: np.ndarray, last: np.ndarray,
) -> dict[str, np.ndarray]:
    """``_action_table``'s columns as arrays (``action`` as codes into the actions), subject
    rows first, each role's by code, then action."""
    parts = []
    for role in ("subject", "object"):
        code = codes[role]
        keep = code >= 0
        # groupby(["code", "action"], sort=True).agg(sum, min, max) by one lexsort and
        # reduceat: the same table, without groupby's fixed cost per call (most subgraphs
        # are a few dozen triples) and linear in the rows for large ones
        group, action = code[keep], action_codes[keep]
        order = np.lexsort((action, group))
        group, action = group[order], action[order]
        row_seconds, row_first, row_last = (values[keep][order] for values in (seconds, first, last))
        starts = np.flatnonzero(np.r_[True, (group[1:] != group[:-1]) | (action[1:] != action[:-1])]) if len(group) else np.array([], dtype=np.intp)
        reduce = (lambda ufunc, values: ufunc.reduceat(values, starts)) if len(starts) else (lambda ufunc, values: values[:0])
        parts.append(
            {
                "code": group[starts],
                "action": action[starts],
                "seconds": reduce(np.add, row_seconds),
                "min": reduce(np.minimum, row_first),
                "max": reduce(np.maximum, row_last),
                "role": np.full(len(starts), role, dtype=object),
            }
        )
    return {column: np.concatenate([part[column] for part in parts]) for column in parts[0]}


def _side_codes(frame: Columns, column: str, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``subject_<column>`` then ``object_<column>`` (2 x rows; only the sides
    ``keep`` marks, when given) into one shared array of distinct strings, numbered in
    order of first appearance. Encoded in Arrow, both sides in one pass (only the distinct
    strings kept become Python strings)."""
    subject, obj = frame.arrow(f"subject_{column}"), frame.arrow(f"object_{column}")
    found = _arrow_side_codes(subject, obj, keep)
    if found is not None:
        return found
    subject_codes, subject_uniques = factorize(subject)
    object_codes, object_uniques = factorize(obj)
    both = np.concatenate([np.asarray(subject_uniques, dtype=object), np.asarray(object_uniques, dtype=object)])
    merged, uniques = factorize(both)
    n_subject = len(subject_uniques)
    codes = np.concatenate([merged[:n_subject][subject_codes], merged[n_subject:][object_codes]]).astype(np.int64)
    uniques = np.asarray(uniques, dtype=object)
    if keep is None:
        return codes, uniques
    codes, used = factorize(codes[keep])  # renumbered over the kept sides
    return codes.astype(np.int64), uniques[used]


def _arrow_side_codes(subject, obj, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """``_side_codes`` by one Arrow dictionary encoding; None where that would not give the
    same strings (nulls, differing types)."""
    import pyarrow as pa

    from .. import compute

    chunks = []
    for side in (subject, obj):
        array = pa.array(side)
        chunks += array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    if len({chunk.type for chunk in chunks}) != 1 or any(chunk.null_count for chunk in chunks):
        return None
    both = pa.chunked_array(chunks)
    if keep is not None:
        both = compute.filter(both, pa.array(keep, type=pa.bool_()))
    encoded = compute.dictionary_encode(both)
    pieces = [chunk for chunk in encoded.chunks if len(chunk)]
    if not pieces:
        return np.zeros(0, dtype=np.int64), np.array([], dtype=object)
    dictionary = pieces[-1].dictionary
    if any(len(chunk.dictionary) != len(dictionary) for chunk in pieces):  # one shared dictionary only
        return None
    codes = np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in pieces]).astype(np.int64)
    return codes, dictionary.to_numpy(zero_copy_only=False)


def distinct_by_code(group: np.ndarray, codes: np.ndarray, uniques: np.ndarray) -> dict[int, list[str]]:
    """{group: its distinct values, in order of first appearance}; ``codes`` (into
    ``uniques``) are the values, one per ``group`` entry."""
    width = max(len(uniques), 1)
    pairs = in_order_distinct(group * width + codes)
    return _split_by_code(pairs // width, uniques[pairs % width])


def _split_by_code(codes: np.ndarray, values: np.ndarray) -> dict[int, list]:
    """{code: [values in input order]} by one stable sort (groupby.agg(list) is per group)."""
    if len(codes) == 0:
        return {}
    order = _stable_order(codes)
    ordered, items = codes[order], values[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    starts, stops = np.r_[0, cuts], np.r_[cuts, len(ordered)]
    flat = items.tolist()  # one conversion; each code's values are a slice of it
    return {code: flat[a:b] for code, a, b in zip(ordered[starts].tolist(), starts.tolist(), stops.tolist())}


# --------------------------------------------------------------------------- entities


def _entity_frame(sides: _Sides) -> pd.DataFrame:
    pd = pandas_module()

    info = sides.entity_info
    n = len(info)
    table = sides.entity_table()
    frame = info[["id", "kind", "name", "value"]].copy()
    by_code = table.groupby("code")
    frame["first_seen"] = by_code["min"].min().reindex(range(n)).to_numpy()
    frame["last_seen"] = by_code["max"].max().reindex(range(n)).to_numpy()
    frame["minutes"] = sides.entity_minutes().reindex(range(n), fill_value=0).to_numpy()
    if len(table):
        table["column"] = table["role"] + "_" + table["action"]
        wide = table.groupby(["code", "column"])["seconds"].sum().unstack(fill_value=0)
        wide = wide.reindex(range(n), fill_value=0)
        for column in sorted(wide.columns):
            frame[column] = wide[column].to_numpy().astype(np.int64)
    frame["named"] = frame["name"].astype(str).str.len() > 0
    # one type per distinct (kind, name): address parsing is the slow part
    pairs = pd.MultiIndex.from_arrays([frame["kind"], frame["name"]])
    codes, uniques = pd.factorize(pairs)
    types = np.array([candidate_type(k, n) for k, n in uniques], dtype=object)
    frame["candidate_type"] = types[codes] if len(codes) else []
    return frame


# --------------------------------------------------------------------------- candidates


def _candidates(timeline: Timeline, sides: _Sides, networks: tuple[Network, ...], sweeps: Sequence[dict]) -> tuple[dict, ...]:
    if not sides.group_keys:
        return ()
    table = sides.group_table()
    evidence = _Evidence(timeline, sides)
    minutes = evidence.group_minutes(timeline.log["minute"])  # indexed by code
    if minutes is None:
        minutes = sides.group_minutes()
    peers_out, peers_in, pattern_rows = _peers_and_rows(timeline, sides)
    swept = _swept_hosts(timeline, sweeps)

    n_groups = len(sides.group_keys)
    counts_of: list[dict] = [{} for _ in range(n_groups)]
    firsts_of: list[dict] = [{} for _ in range(n_groups)]
    role_actions = zip(table["role"].tolist(), table["action"].tolist())
    for code, role_action, seconds, first in zip(table["code"].tolist(), role_actions, table["seconds"].tolist(), table["min"].tolist()):
        counts_of[code][role_action] = seconds
        firsts_of[code][role_action] = first
    # every group has a row per (role, action) it takes part in: its first and last time
    group_code = table["code"]
    first_of = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    last_of = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first_of, group_code, table["min"])
    np.maximum.at(last_of, group_code, table["max"])
    first_of, last_of = first_of.tolist(), last_of.tolist()
    minutes = minutes.tolist()
    profiles = []
    for code, (kind, name) in enumerate(sides.group_keys):
        profile = Profile(
            kind=kind,
            value=name,
            full_values=sides.group_values[code],
            counts=counts_of[code],
            first_time=firsts_of[code],
            minutes=minutes[code] if code < len(minutes) else 0,
            peers_out=peers_out.get(code, set()),
            peers_in=peers_in.get(code, set()),
            swept=swept[name][1] if kind == "flow" and name in swept else None,
        )
        profiles.append((profile, candidate_type(kind, name)))
    rows = []
    for code, ((profile, ctype), result) in enumerate(zip(profiles, score_all(profiles, networks, pattern_rows))):
        rows.append((result.total, first_of[code], profile.value, profile.kind, ctype, result, profile.counts, code, last_of[code]))

    # a sweep's targets are one indicator: one row for the subnet, its hosts as full values
    groups = _merge_same_name(rows, {host: subnet for host, (subnet, _) in swept.items()})
    groups.sort(key=lambda g: (-g[0][0], min(r[1] for r in g), g[0][2], g[0][3]))
    levels = [likelihood(g[0][0]) for g in groups]
    in_table = table_flags(levels)
    n = len(groups)
    stamps = minute_text(
        np.array([min(r[1] for r in g) for g in groups] + [max(r[8] for r in g) for g in groups], dtype=np.int64)
    )
    candidates = []
    for rank, (group, level, listed) in enumerate(zip(groups, levels, in_table), start=1):
        total, _, name, kind, ctype, result, counts, _, _ = group[0]
        codes = [r[7] for r in group]
        others = group[1:]
        if kind == "flow" and name in swept:
            candidates.append(_sweep_candidate(group, swept, sides, evidence, rank, level, listed, stamps, n))
            continue
        if others:
            full_values = _union(sides.group_values[c] for c in codes)
            entity_ids = _union(sides.group_ids[c] for c in codes)
            reasons = _union([result.ranked_reasons()] + [[f"as a {r[3]}: {x}" for x in r[5].ranked_reasons()] for r in others])
            features = _union([result.features] + [r[5].features for r in others])
            actions = _action_texts(kind, counts) + [f"{text} ({r[3]})" for r in others for text in _action_texts(r[3], r[6])]
        else:  # most candidates are one group, whose values and ids are distinct already
            full_values, entity_ids = sides.group_values[codes[0]][:], sides.group_ids[codes[0]][:]
            reasons, features = list(dict.fromkeys(result.ranked_reasons())), list(dict.fromkeys(result.features))
            actions = _action_texts(kind, counts)
        candidates.append(
            dict(
                value=name,
                type=ctype,
                kind=kind,
                full_values=full_values,
                entity_ids=entity_ids,
                score=round(total, 2),
                rank=rank,
                likelihood=level,
                reasons=reasons,
                features=features,
                actions=actions,
                evidence=evidence.ids(codes),
                first_seen=stamps[rank - 1],
                last_seen=stamps[n + rank - 1],
                in_table=listed,
            )
        )
    return tuple(candidates)


def network_sweeps(timeline: Timeline) -> tuple[dict, ...]:
    """``fanout.sweeps`` of the log: each sweep's subject, subnet and hosts (no rows).

    A sweep is judged on each (subject, address) pair's first contact: one row per flow
    description that has log rows, at its first minute, yields the same subjects, subnets
    and hosts as every log row would, at a cost per distinct description instead of per log
    row. Facts marks the swept hosts; the stage rules cite the sweeps (``Facts.sweeps``
    computes them once for both)."""
    descriptions = timeline.descriptions
    flow = descriptions["object_kind"] == "flow"
    if not flow.any():
        return ()
    from ..rules.events import event_class
    from ..rules.fanout import SWEEP_MIN_HOSTS, key_logins, sweeps

    log = timeline.log
    codes = log["description"]
    flow = flow & (np.bincount(codes, minlength=len(descriptions)) > 0)  # descriptions with log rows
    if len(set(descriptions["object_name"][flow].tolist())) < SWEEP_MIN_HOSTS:
        return ()  # too few hosts for any sweep
    actions = descriptions["action"][flow]
    # one event class per distinct action of the flows, not one per description
    event_of = {action: event_class(action, "flow") for action in set(actions.tolist())}
    first_minute = np.full(len(descriptions), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_minute, codes, log["minute"])
    rows = Columns(
        {
            "subject_name": descriptions["subject_name"][flow],
            "object_kind": np.full(int(flow.sum()), "flow", dtype=object),
            "object_name": descriptions["object_name"][flow],
            "action": actions,
            "event": np.array([event_of[a] for a in actions.tolist()], dtype=object),
            "minute": first_minute[flow],
            # a description's log rows are one per minute: their count is its minutes
            "minutes": np.bincount(codes, minlength=len(descriptions))[flow],
        }
    )
    # the clients that read a private key, from the descriptions of the few session clients
    from ..rules.lineage import session_client

    subjects = descriptions["subject_name"]
    clients = np.flatnonzero(np.isin(subjects, [n for n in set(subjects.tolist()) if n and session_client(n)]))
    logins = set()
    if len(clients):
        kinds = descriptions["object_kind"][clients].tolist()
        logins = key_logins(
            descriptions["subject_name"][clients].tolist(), descriptions["object_name"][clients].tolist(), kinds,
            [event_class(a, k) for a, k in zip(descriptions["action"][clients].tolist(), kinds)],
        )
    return tuple(sweeps(rows, with_rows=False, logins=logins))


def _swept_hosts(timeline: Timeline, sweeps: Sequence[dict] | None = None) -> dict[str, tuple[str, str]]:
    """Address -> (subnet, words on the sweep that reached it: one subject, many hosts).
    ``sweeps``: the log's ``network_sweeps`` when already computed."""
    found = {}
    for sweep in network_sweeps(timeline) if sweeps is None else sweeps:
        who = f"`{sweep['subject']}`" if sweep["subject"] else "one process"
        words = f"one of {len(sweep['hosts'])} hosts of {sweep['subnet']} that {who} swept ({', '.join(sweep['hosts'])})"
        for host in sweep["hosts"]:
            found.setdefault(host, (sweep["subnet"], words))
    return found


def _sweep_candidate(group, swept, sides, evidence, rank, level, listed, stamps, n) -> dict:
    """One candidate for all hosts of a sweep: value is the subnet, full values the hosts."""
    import ipaddress

    lead = group[0]
    subnet, words = swept[lead[2]]
    hosts = sorted({r[2] for r in group}, key=ipaddress.ip_address)
    codes = [r[7] for r in group]
    counts: dict = defaultdict(int)
    for r in group:
        for key, value in r[6].items():
            counts[key] += value
    reasons = [f"{len(hosts)} hosts of {subnet} reached in a network sweep (ATT&CK T1046, network service discovery): {', '.join(hosts)}"]
    reasons += [r for r in lead[5].ranked_reasons() if not r.startswith("reached in a network sweep") and "times)" not in r and "(once)" not in r]
    return dict(
        value=subnet,
        type="ip",
        kind="flow",
        full_values=_union([hosts] + [sides.group_values[c] for c in codes]),
        entity_ids=_union(sides.group_ids[c] for c in codes),
        score=round(lead[0], 2),
        rank=rank,
        likelihood=level,
        reasons=reasons,
        features=_union([["swept"]] + [r[5].features for r in group]),
        actions=_action_texts("flow", dict(counts)),
        evidence=evidence.ids(codes),
        first_seen=stamps[rank - 1],
        last_seen=stamps[n + rank - 1],
        in_table=listed,
    )


def _merge_same_name(rows: list[tuple], alias: dict[str, str] | None = None) -> list[list[tuple]]:
    """One candidate per name: a process and the file it runs from (both ``update.sh``) are
    one indicator to an analyst. The highest-scoring kind leads; the others' reasons follow.
    ``alias`` maps flow names onto one shared key (a sweep's hosts onto their subnet)."""
    alias = alias or {}
    by_name: dict[tuple[bool, str], list[tuple]] = {}
    for row in rows:
        # an address is never the same indicator as a process or file that bears its text
        # (a process may be named "203.0.113.5"): flows merge only with flows
        key = (True, alias.get(row[2], row[2])) if row[3] == "flow" else (False, row[2])
        by_name.setdefault(key, []).append(row)
    return [sorted(group, key=lambda r: (-r[0], r[3])) for group in by_name.values()]


def _union(lists) -> list:
    """The items of ``lists`` in order, each once (chained in C: no Python step per item)."""
    return list(dict.fromkeys(chain.from_iterable(lists)))


def _action_texts(kind: str, counts: dict[tuple[str, str], int]) -> list[str]:
    natural = "subject" if kind in _SUBJECT_KINDS else "object"
    # sorted as tuples, not by a key function called per item: (role, action) pairs are
    # distinct and the flag tells the two roles apart, so the first three fields decide
    ordered = sorted([(role != natural, -n, action, role) for (role, action), n in counts.items()])
    return [f"{action} x{-negated}" + (f" (as {role})" if other else "") for other, negated, action, role in ordered]


class _Evidence:
    """Per candidate group: the log rows whose description names it (as subject or object)."""

    def __init__(self, timeline: Timeline, sides: _Sides) -> None:
        self._ids = timeline.ids
        codes, positions = _evidence_positions(timeline, sides)
        self._codes, self._positions = codes, positions
        # every group's ids in one list, taken and converted once; a group's ids are a slice
        # of it (a list slice costs less than a slice of the array and its ``tolist``)
        self._all_ids = self._ids[positions].tolist()
        cuts = np.flatnonzero(np.diff(codes)) + 1
        starts = np.r_[0, cuts].astype(np.int64) if len(codes) else np.array([], dtype=np.int64)
        stops = np.r_[cuts, len(codes)].astype(np.int64) if len(codes) else starts
        self._slices = dict(zip(codes[starts].tolist(), zip(starts.tolist(), stops.tolist())))

    def group_minutes(self, minute: np.ndarray) -> np.ndarray | None:
        """``_Sides.group_minutes`` from the evidence, when the log's ``minute`` never
        decreases (a report's log is in minute order): a group's log positions ascend, so
        its minutes do, and each run of one minute is one distinct minute. None otherwise."""
        if len(minute) > 1 and bool((minute[1:] < minute[:-1]).any()):
            return None
        codes = self._codes
        if not len(codes):
            return np.array([], dtype=np.int64)
        at = minute[self._positions]
        new = np.empty(len(codes), dtype=bool)
        new[0] = True
        np.not_equal(codes[1:], codes[:-1], out=new[1:])
        new[1:] |= at[1:] != at[:-1]
        return np.bincount(codes[new])

    def ids(self, codes: list[int]) -> list[str]:
        """The log ids naming any of ``codes``, each once, in log order (ids are numbered in
        log order: sorting positions, not id strings)."""
        if len(codes) == 1:
            start, stop = self._slices.get(codes[0], (0, 0))
            return self._all_ids[start:stop]
        slices = [self._slices[c] for c in codes if c in self._slices]
        if not slices:
            return []
        positions = np.concatenate([self._positions[a:b] for a, b in slices])
        if len(positions) * 8 < len(self._ids):
            positions = np.unique(positions)
        else:  # a large union (a sweep's hosts): a mask over the log instead of a sort
            named = np.zeros(len(self._ids), dtype=bool)
            named[positions] = True
            positions = np.flatnonzero(named)
        return self._ids[positions].tolist()


def _evidence_positions(timeline: Timeline, sides: _Sides) -> tuple[np.ndarray, np.ndarray]:
    """(group code, log position) of every log row whose description names the candidate
    group, ordered by code, then position (a description names a group once, so each
    position appears once per code)."""
    subject, obj = sides.description_group["subject"], sides.description_group["object"]
    # per description: its subject's group, then its object's unless the same (a row naming
    # one group on both sides is its evidence once); 32-bit, read at each log row at once
    pair = np.column_stack([subject, np.where(obj == subject, -1, obj)]).astype(np.int32)
    # each row's subject code, then its object code: row order
    codes = pair[timeline.log["description"]].ravel()
    positions = np.flatnonzero(codes >= 0)
    codes = codes[positions]
    positions >>= 1
    if not len(codes):
        return codes.astype(np.int64), positions
    order = _stable_order(codes)  # stable: each code's positions stay ascending
    return codes[order], positions[order]


def _stable_order(codes: np.ndarray) -> np.ndarray:
    """``argsort(codes, kind="stable")`` of non-empty codes; numpy's stable sort is a radix
    sort for 16-bit integers, so codes that fit are sorted as such."""
    return np.argsort(codes.astype(np.uint16) if 0 <= codes.min() and codes.max() < 1 << 16 else codes, kind="stable")


def _peers_and_rows(timeline: Timeline, sides: _Sides) -> tuple[dict[int, set], dict[int, set], list[list]]:
    """Per candidate group: (action, kind, name) of what it acts on and of what acts on it,
    and its events as the pattern rules read them (``rank._pattern_rows``: the acted-on
    sorted, then the acting, each capped), from the descriptions: a group's descriptions as
    subject are exactly its distinct (action, object kind, object name), and so on.

    One sort per side puts each group's descriptions together, in the order ``sorted``
    gives their peers (a group's peers are distinct, so that order is total); the peers and
    rows of every group are then slices, built in C, not one Python step per description."""
    from ..rules.patterns import make_rows

    descriptions = timeline.descriptions
    column = {name: descriptions[name] for name in ("subject_kind", "subject_name", "action", "object_kind", "object_name")}
    rank = {name: _string_ranks(values) for name, values in column.items()}
    n_groups = len(sides.group_keys)
    peers: dict[str, dict[int, set]] = {}
    rows: dict[str, tuple[list, np.ndarray]] = {}
    for role, other in (("subject", "object"), ("object", "subject")):
        group = sides.description_group[role]
        # by group, then by the peer (action, other kind, other name) as ``sorted`` orders it
        order = np.lexsort((rank[f"{other}_name"], rank[f"{other}_kind"], rank["action"], group))
        order = order[group[order] >= 0]
        of_group = group[order]
        bounds = np.searchsorted(of_group, np.arange(n_groups + 1))
        peer = list(zip(*(column[name][order].tolist() for name in ("action", f"{other}_kind", f"{other}_name"))))
        peers[role] = {g: set(peer[a:b]) for g, a, b in zip(range(n_groups), bounds[:-1].tolist(), bounds[1:].tolist()) if a < b}
        # the first MAX_PEERS_FOR_PATTERNS of each group become its pattern rows
        kept = np.arange(len(order)) - bounds[of_group] < MAX_PEERS_FOR_PATTERNS
        at = order[kept]
        fields = [column[name][at].tolist() for name in ("subject_name", "action", "object_name", "subject_kind", "object_kind")]
        if role == "object":  # the rows acting on a group carry its full values (paths)
            paths = [tuple(sides.group_values[g][:20]) for g in range(n_groups)]
            fields.append([paths[g] for g in of_group[kept].tolist()])
        rows[role] = (make_rows(*fields), np.searchsorted(of_group[kept], np.arange(n_groups + 1)).tolist())
    (rows_out, out_bounds), (rows_in, in_bounds) = rows["subject"], rows["object"]
    pattern_rows = [
        rows_out[out_bounds[g] : out_bounds[g + 1]] + rows_in[in_bounds[g] : in_bounds[g + 1]] for g in range(n_groups)
    ]
    return peers["subject"], peers["object"], pattern_rows


def _string_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank among the distinct values in ``sorted`` order (sorting the few
    distinct strings, not every row's)."""
    codes, uniques = factorize(values)
    ranks = np.empty(len(uniques), dtype=np.int64)
    ranks[np.argsort(np.asarray(uniques, dtype=object), kind="stable")] = np.arange(len(uniques))
    return ranks[codes]
