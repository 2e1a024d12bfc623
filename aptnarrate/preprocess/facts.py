"""Facts: the entities of a subgraph, its ranked candidate IoCs, and the declared networks.

Everything here is computed from the timeline, once, and is what narrators may cite.
Work is done per distinct (entity, action, second) with vectorised pandas, and per
distinct triple in Python, never per event, so inputs of a million rows stay fast.

Every *named* entity is a candidate; entities with the same display name (a file seen
under two paths, a process with two ids, a process and the file it runs from) are one
candidate. Unnamed entities
are counted in ``entities`` but are never candidates: there is nothing to name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

import numpy as np
import pandas as pd

from .memory import release_freed_memory
from .condense import NS_PER_SECOND, Timeline, minute_text
from .rank import Network, Profile, address_class, likelihood, parse_networks, score_all, table_flags

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Candidate

__all__ = ["Facts", "compute_facts", "address_class", "candidate_type"]

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
        return tuple(Candidate.model_construct(**record) for record in self.candidate_records)

    @cached_property
    def entities(self) -> pd.DataFrame:
        """One row per entity id (computed on first use: ``inspect`` and reports do not need it)."""
        return _entity_frame(self._sides)

    def candidate(self, value: str) -> Candidate | None:
        """The best-ranked candidate named exactly ``value``, else case-insensitively."""
        for cand in self.candidates:
            if cand.value == value:
                return cand
        folded = value.casefold()
        return next((c for c in self.candidates if c.value.casefold() == folded), None)

    @property
    def table_candidates(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if c.in_table)

    def address_class(self, value: str) -> tuple[str, str]:
        return address_class(value, self.internal_networks)

    def derived(self, key: str, compute: Callable[[], _T]) -> _T:
        """What a later stage derives from these facts (stage findings, aliases, the
        grounding vocabulary), computed once and kept with them, as ``cached_property``
        keeps its values: Facts is frozen, its ``__dict__`` holds such caches."""
        value = self.__dict__.get(key)
        if value is None:
            value = self.__dict__[key] = compute()
        return value


def candidate_type(kind: str, name: str) -> str:
    if kind == "flow":
        return "ip" if address_class(name, ())[0] != "unknown" else "other"
    return _TYPE_OF_KIND.get(kind, "other")


def compute_facts(timeline: Timeline, internal_networks: Sequence[str] = ()) -> Facts:
    networks = parse_networks(internal_networks)
    sides = _Sides(timeline)
    records = _candidates(timeline, sides, networks)
    release_freed_memory()
    return Facts(timeline=timeline, internal_networks=networks, candidate_records=records, _sides=sides)


# --------------------------------------------------------------------------- per-side codes


class _Sides:
    """Entity and candidate-group codes for each triple's subject and object, plus per-triple
    event statistics. Everything per event is vectorised once here; the rest of this module
    works per triple (distinct subject, action, object) or per candidate."""

    def __init__(self, timeline: Timeline) -> None:
        table = timeline.table
        triples = table.triples
        self.triples = triples
        n = len(triples)
        self.action_codes, self.actions = pd.factorize(triples["action"], use_na_sentinel=False)
        self.actions = np.asarray(self.actions, dtype=object)
        self._event_stats(table.events, timeline.unit_rows, n)
        # integer codes per (subject, object) column pair; strings are looked up only for
        # the few distinct values, never converted per triple
        self.kind, self.kinds = _side_codes(triples, "kind")
        self.name, self.names = _side_codes(triples, "name")

        # placeholder names ("0", "..", "-") name nothing an analyst can look up
        named_name = np.array([bool(x) and str(x).strip() not in PLACEHOLDER_NAMES for x in self.names], dtype=bool)
        named = named_name[self.name] if len(self.names) else np.zeros(2 * n, dtype=bool)
        width = max(len(self.names), 1)
        group_codes, group_keys = pd.factorize(self.kind[named] * width + self.name[named])
        groups = np.full(2 * n, -1, dtype=np.int64)
        groups[named] = group_codes
        self.group = {"subject": groups[:n], "object": groups[n:]}
        self.group_keys = [(self.kinds[k // width], self.names[k % width]) for k in group_keys.tolist()]
        self.group_values = _distinct_by_code(groups[named], *_side_codes(triples, "value"), named)
        self.group_ids = _distinct_by_code(groups[named], *_side_codes(triples, "id"), named)

    @cached_property
    def entity(self) -> dict[str, np.ndarray]:
        """Entity codes (first-appearance order, subjects first) of each triple's two sides."""
        n = len(self.triples)
        id_codes, _ = _side_codes(self.triples, "id")
        codes, _ = pd.factorize(id_codes)
        return {"subject": codes[:n], "object": codes[n:]}

    @cached_property
    def entity_info(self) -> pd.DataFrame:
        """id, kind, name and value of each entity code, from its first appearance."""
        entity = np.concatenate([self.entity["subject"], self.entity["object"]])
        first = np.full(entity.max() + 1 if len(entity) else 0, len(entity), dtype=np.int64)
        np.minimum.at(first, entity, np.arange(len(entity)))
        columns = {}
        for column in ("id", "kind", "name", "value"):
            codes, uniques = _side_codes(self.triples, column)
            columns[column] = uniques[codes[first]]
        return pd.DataFrame(columns)

    def _event_stats(self, events: pd.DataFrame, unit_rows: np.ndarray, n: int) -> None:
        """Per triple: distinct seconds, first and last time; distinct (triple, minute) pairs.
        ``unit_rows``: the first event of each distinct (triple, second), from condense."""
        triple = events["triple"].to_numpy()
        time = events["time"].to_numpy()
        if len(triple) == 0:
            self.triple_seconds = np.zeros(n, dtype=np.int64)
            self.triple_first = np.zeros(n, dtype=np.int64)
            self.triple_last = np.zeros(n, dtype=np.int64)
            self.pair_triple = self.pair_minute = np.array([], dtype=np.int64)
            return
        # per distinct (triple, second) unit: the per-minute pairs come from far fewer rows
        unit_triple = triple[unit_rows].astype(np.int64)
        unit_minute = np.floor_divide(time[unit_rows], NS_PER_SECOND * 60)
        self.triple_seconds = np.bincount(unit_triple, minlength=n)
        self.triple_first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.triple_last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(self.triple_first, triple, time)
        np.maximum.at(self.triple_last, triple, time)
        m0, mspan = unit_minute.min(), unit_minute.max() - unit_minute.min() + 1
        pairs = pd.unique(unit_triple * mspan + (unit_minute - m0))
        self.pair_triple = pairs // mspan
        self.pair_minute = pairs % mspan + m0

    def action_table(self, codes: dict[str, np.ndarray]) -> pd.DataFrame:
        """Long table: code, role, action, seconds (distinct per triple, summed), min, max (ns)."""
        parts = []
        for role in ("subject", "object"):
            code = codes[role]
            keep = code >= 0
            # groupby(["code", "action"], sort=True).agg(sum, min, max) by one lexsort and
            # reduceat: the same table, without groupby's fixed cost per call (most subgraphs
            # are a few dozen triples) and linear in the triples for large ones
            group, action = code[keep], self.action_codes[keep]
            order = np.lexsort((action, group))
            group, action = group[order], action[order]
            seconds, first, last = (values[keep][order] for values in (self.triple_seconds, self.triple_first, self.triple_last))
            starts = np.flatnonzero(np.r_[True, (group[1:] != group[:-1]) | (action[1:] != action[:-1])]) if len(group) else np.array([], dtype=np.intp)
            reduce = (lambda ufunc, values: ufunc.reduceat(values, starts)) if len(starts) else (lambda ufunc, values: values[:0])
            stats = pd.DataFrame(
                {
                    "code": group[starts],
                    "action": action[starts],
                    "seconds": reduce(np.add, seconds),
                    "min": reduce(np.minimum, first),
                    "max": reduce(np.maximum, last),
                }
            )
            stats["role"] = role
            parts.append(stats)
        table = pd.concat(parts, ignore_index=True)
        table["action"] = np.asarray(self.actions, dtype=object)[table["action"].to_numpy()] if len(table) else []
        return table

    def minutes_per(self, codes: dict[str, np.ndarray]) -> pd.Series:
        parts = []
        for role in ("subject", "object"):
            code = codes[role][self.pair_triple]
            keep = code >= 0
            parts.append(code[keep] * (1 << 32) + (self.pair_minute[keep] - self.pair_minute.min()))
        keys = pd.unique(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)
        counts = np.bincount(keys >> 32) if len(keys) else np.array([], dtype=np.int64)
        return pd.Series(counts)


def _side_codes(triples: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``subject_<column>`` then ``object_<column>`` (2 x triples) into one shared
    array of distinct strings."""
    subject, subject_uniques = pd.factorize(triples[f"subject_{column}"], use_na_sentinel=False)
    obj, object_uniques = pd.factorize(triples[f"object_{column}"], use_na_sentinel=False)
    both = np.concatenate([np.asarray(subject_uniques, dtype=object), np.asarray(object_uniques, dtype=object)])
    merged, uniques = pd.factorize(both)
    n_subject = len(subject_uniques)
    codes = np.concatenate([merged[:n_subject][subject], merged[n_subject:][obj]]).astype(np.int64)
    return codes, np.asarray(uniques, dtype=object)


def _distinct_by_code(group: np.ndarray, codes: np.ndarray, uniques: np.ndarray, keep: np.ndarray) -> dict[int, list[str]]:
    """{group: its distinct values, in order of first appearance}."""
    width = max(len(uniques), 1)
    pairs = pd.unique(group * width + codes[keep])
    return _split_by_code(pairs // width, uniques[pairs % width])


def _split_by_code(codes: np.ndarray, values: np.ndarray, as_lists: bool = True) -> dict[int, list]:
    """{code: [values in input order]} by one stable sort (groupby.agg(list) is per group);
    with ``as_lists=False`` the values stay array slices."""
    if len(codes) == 0:
        return {}
    # numpy's stable sort is a radix sort for 16-bit integers
    order = np.argsort(codes.astype(np.uint16) if 0 <= codes.min() and codes.max() < 1 << 16 else codes, kind="stable")
    ordered, items = codes[order], values[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    starts, stops = np.r_[0, cuts], np.r_[cuts, len(ordered)]
    if not as_lists:
        return {int(ordered[a]): items[a:b] for a, b in zip(starts, stops)}
    return {int(ordered[a]): items[a:b].tolist() for a, b in zip(starts, stops)}


# --------------------------------------------------------------------------- entities


def _entity_frame(sides: _Sides) -> pd.DataFrame:
    info = sides.entity_info
    n = len(info)
    table = sides.action_table(sides.entity)
    frame = info[["id", "kind", "name", "value"]].copy()
    by_code = table.groupby("code")
    frame["first_seen"] = by_code["min"].min().reindex(range(n)).to_numpy()
    frame["last_seen"] = by_code["max"].max().reindex(range(n)).to_numpy()
    frame["minutes"] = sides.minutes_per(sides.entity).reindex(range(n), fill_value=0).to_numpy()
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


def _candidates(timeline: Timeline, sides: _Sides, networks: tuple[Network, ...]) -> tuple[dict, ...]:
    if not sides.group_keys:
        return ()
    table = sides.action_table(sides.group)
    minutes = sides.minutes_per(sides.group).to_numpy()  # indexed by code; a Series lookup per code is slow
    evidence = _Evidence(timeline, sides)
    peers_out, peers_in = _peers(sides)
    swept = _swept_hosts(timeline)

    counts_of: dict[int, dict] = defaultdict(dict)
    firsts_of: dict[int, dict] = defaultdict(dict)
    lasts_of: dict[int, int] = {}
    for code, role, action, seconds, first, last in zip(
        table["code"].tolist(), table["role"].tolist(), table["action"].tolist(),
        table["seconds"].tolist(), table["min"].tolist(), table["max"].tolist(),
    ):
        counts_of[code][(role, action)] = int(seconds)
        firsts_of[code][(role, action)] = int(first)
        lasts_of[code] = max(lasts_of.get(code, last), last)
    profiles = []
    for code, (kind, name) in enumerate(sides.group_keys):
        counts = counts_of[code]
        firsts = firsts_of[code]
        profile = Profile(
            kind=kind,
            value=name,
            full_values=sides.group_values[code],
            counts=counts,
            first_time=firsts,
            minutes=int(minutes[code]) if code < len(minutes) else 0,
            peers_out=peers_out.get(code, set()),
            peers_in=peers_in.get(code, set()),
            swept=swept[name][1] if kind == "flow" and name in swept else None,
        )
        profiles.append((profile, candidate_type(kind, name)))
    rows = []
    for code, ((profile, ctype), result) in enumerate(zip(profiles, score_all(profiles, networks))):
        first_ns, last_ns = min(profile.first_time.values()), lasts_of[code]
        rows.append((result.total, first_ns, profile.value, profile.kind, ctype, result, profile.counts, code, last_ns))

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
        candidates.append(
            dict(
                value=name,
                type=ctype,
                kind=kind,
                full_values=_union(sides.group_values[c] for c in codes),
                entity_ids=_union(sides.group_ids[c] for c in codes),
                score=round(total, 2),
                rank=rank,
                likelihood=level,
                reasons=_union([result.ranked_reasons()] + [[f"as a {r[3]}: {x}" for x in r[5].ranked_reasons()] for r in others]),
                features=_union([result.features] + [r[5].features for r in others]),
                actions=_action_texts(kind, counts)
                + [f"{text} ({r[3]})" for r in others for text in _action_texts(r[3], r[6])],
                evidence=evidence.ids(codes),
                first_seen=stamps[rank - 1],
                last_seen=stamps[n + rank - 1],
                in_table=listed,
            )
        )
    return tuple(candidates)


def _swept_hosts(timeline: Timeline) -> dict[str, tuple[str, str]]:
    """Address -> (subnet, words on the sweep that reached it: one subject, many hosts)."""
    # A sweep is judged on each (subject, address) pair's first contact: one row per flow
    # description at its first minute yields the same subjects, subnets and hosts as every
    # log row would, at a cost per distinct description instead of per log row.
    descriptions = timeline.descriptions
    flow = (descriptions["object_kind"] == "flow").to_numpy()
    if not flow.any():
        return {}
    from ..rules.events import event_class
    from ..rules.fanout import sweeps

    events = np.array(
        [event_class(a, "flow") if f else "" for a, f in zip(descriptions["action"].tolist(), flow)], dtype=object
    )
    log = timeline.log
    first_minute = np.full(len(descriptions), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_minute, log["description"].to_numpy(), log["minute"].to_numpy())
    rows = pd.DataFrame(
        {
            "subject_name": descriptions["subject_name"].to_numpy(dtype=object)[flow],
            "object_kind": "flow",
            "object_name": descriptions["object_name"].to_numpy(dtype=object)[flow],
            "event": events[flow],
            "minute": first_minute[flow],
        }
    )
    found = {}
    for sweep in sweeps(rows):
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
    reasons = [f"{len(hosts)} hosts of {subnet} reached in a network sweep (Internal Reconnaissance, ATT&CK T1046): {', '.join(hosts)}"]
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
    by_name: dict[str, list[tuple]] = {}
    for row in rows:
        key = alias.get(row[2], row[2]) if row[3] == "flow" else row[2]
        by_name.setdefault(key, []).append(row)
    return [sorted(group, key=lambda r: (-r[0], r[3])) for group in by_name.values()]


def _union(lists) -> list:
    return list(dict.fromkeys(item for items in lists for item in items))


def _action_texts(kind: str, counts: dict[tuple[str, str], int]) -> list[str]:
    natural = "subject" if kind in _SUBJECT_KINDS else "object"
    ordered = sorted(counts.items(), key=lambda item: (item[0][0] != natural, -item[1], item[0][1]))
    return [f"{action} x{n}" + ("" if role == natural else f" (as {role})") for (role, action), n in ordered]


class _Evidence:
    """Per candidate group: the log rows whose description names it (as subject or object)."""

    def __init__(self, timeline: Timeline, sides: _Sides) -> None:
        self._ids = timeline.ids
        self._positions = _evidence_positions(timeline, sides)

    def ids(self, codes: list[int]) -> list[str]:
        """The log ids naming any of ``codes``, each once, in log order (ids are numbered in
        log order: sorting positions, not id strings)."""
        empty = np.array([], dtype=np.int64)
        if len(codes) == 1:
            positions = self._positions.get(codes[0], empty)
        else:
            positions = np.unique(np.concatenate([self._positions.get(c, empty) for c in codes]))
        return self._ids[positions].tolist()


def _evidence_positions(timeline: Timeline, sides: _Sides) -> dict[int, np.ndarray]:
    """Log positions whose description names the candidate group, ascending (a description
    names a group once, so each position appears once)."""
    desc_of_triple = timeline.triple_description
    n_desc = max(len(timeline.descriptions), 1)
    pairs = []
    for role in ("subject", "object"):
        group = sides.group[role]
        keep = group >= 0
        pairs.append(group[keep] * n_desc + desc_of_triple[keep])
    keys = pd.unique(np.concatenate(pairs)) if pairs else np.array([], dtype=np.int64)
    # description -> the candidate codes it names (one or two)
    pair_code, pair_desc = keys // n_desc, keys % n_desc
    log_desc = timeline.log["description"].to_numpy()
    order = np.argsort(pair_desc, kind="stable")
    pair_code, pair_desc = pair_code[order], pair_desc[order]
    # pair_desc is sorted: each description's pairs start at the running count before it
    per_desc = np.bincount(pair_desc, minlength=n_desc)
    starts = np.cumsum(per_desc) - per_desc
    lo, width = starts[log_desc], per_desc[log_desc]
    positions = np.repeat(np.arange(len(log_desc)), width)
    codes = pair_code[np.repeat(lo, width) + (np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width))]
    return _split_by_code(codes, positions, as_lists=False)


def _peers(sides: _Sides) -> tuple[dict[int, set], dict[int, set]]:
    """Per candidate: (action, kind, name) of what it acts on, and of what acts on it."""
    n = len(sides.triples)
    action = sides.action_codes.astype(np.int64)
    result = []
    for role, other in ((slice(0, n), slice(n, 2 * n)), (slice(n, 2 * n), slice(0, n))):
        group = sides.group["subject" if role.start == 0 else "object"]
        keep = group >= 0
        frame = pd.DataFrame(
            {"g": group[keep], "a": action[keep], "k": sides.kind[other][keep], "n": sides.name[other][keep]}
        ).drop_duplicates()
        peers: dict[int, set] = defaultdict(set)
        actions, kinds, names = sides.actions, sides.kinds, sides.names
        for g, a, k, nm in zip(frame["g"].tolist(), frame["a"].tolist(), frame["k"].tolist(), frame["n"].tolist()):
            peers[g].add((actions[a], kinds[k], names[nm]))
        result.append(peers)
    return result[0], result[1]
