"""Facts: the entities of a subgraph, its ranked candidate IoCs, and the declared networks.

Everything here is computed from the timeline, once, and is what narrators may cite.
Work is done per distinct (entity, action, second) with vectorised pandas, and per
distinct triple in Python, never per event, so inputs of a million rows stay fast.

Every *named* entity is a candidate; entities with the same kind and display name (a
file seen under two paths, a process with two ids) are one candidate. Unnamed entities
are counted in ``entities`` but are never candidates: there is nothing to name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .condense import NS_PER_MINUTE, NS_PER_SECOND, Timeline, minute_text
from .models import Candidate
from .rank import Network, Profile, address_class, likelihood, parse_networks, score, table_flags

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
# the role in which an action reads naturally without saying "as subject/object"
_SUBJECT_KINDS = frozenset({"process", "thread", "unit", "shell", "task", "session"})


@dataclass(frozen=True)
class Facts:
    timeline: Timeline
    candidates: tuple[Candidate, ...]  # all named entities, rank order (1 = most suspicious)
    entities: pd.DataFrame  # one row per entity id
    internal_networks: tuple[Network, ...]

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


def candidate_type(kind: str, name: str) -> str:
    if kind == "flow":
        return "ip" if address_class(name, ())[0] != "unknown" else "other"
    return _TYPE_OF_KIND.get(kind, "other")


def compute_facts(timeline: Timeline, internal_networks: Sequence[str] = ()) -> Facts:
    networks = parse_networks(internal_networks)
    sides = _Sides(timeline)
    entities = _entity_frame(sides)
    candidates = _candidates(timeline, sides, networks)
    return Facts(timeline=timeline, candidates=candidates, entities=entities, internal_networks=networks)


# --------------------------------------------------------------------------- per-side codes


class _Sides:
    """Entity and candidate-group codes for each triple's subject and object, plus per-triple
    event statistics. Everything per event is vectorised once here; the rest of this module
    works per triple (distinct subject, action, object) or per candidate."""

    def __init__(self, timeline: Timeline) -> None:
        table = timeline.table
        triples = table.triples
        self.triples = triples
        self.columns = {c: triples[c].to_numpy(dtype=object) for c in triples.columns}
        n = len(triples)
        self.action_codes, self.actions = pd.factorize(self.columns["action"])
        self._event_stats(table.events, n)

        ids = np.concatenate([self.columns["subject_id"], self.columns["object_id"]])
        kinds = np.concatenate([self.columns["subject_kind"], self.columns["object_kind"]])
        names = np.concatenate([self.columns["subject_name"], self.columns["object_name"]])
        values = np.concatenate([self.columns["subject_value"], self.columns["object_value"]])
        entity_codes, entity_ids = pd.factorize(ids)
        self.entity = {"subject": entity_codes[:n], "object": entity_codes[n:]}
        first = np.full(len(entity_ids), len(ids), dtype=np.int64)
        np.minimum.at(first, entity_codes, np.arange(len(ids)))
        self.entity_info = pd.DataFrame(
            {"id": ids[first], "kind": kinds[first], "name": names[first], "value": values[first]}
        )

        named = np.array([bool(x) for x in names], dtype=bool)
        kind_codes, kind_keys = pd.factorize(kinds)
        name_codes, name_keys = pd.factorize(names)
        group_codes, group_keys = pd.factorize(kind_codes[named].astype(np.int64) * max(len(name_keys), 1) + name_codes[named])
        groups = np.full(len(ids), -1, dtype=np.int64)
        groups[named] = group_codes
        self.group = {"subject": groups[:n], "object": groups[n:]}
        width = max(len(name_keys), 1)
        self.group_keys = [(kind_keys[k // width], name_keys[k % width]) for k in group_keys.tolist()]
        members = pd.DataFrame({"code": groups[named], "value": values[named], "id": ids[named]})
        self.group_values = _lists_by_code(members.drop_duplicates(["code", "value"]), "value")
        self.group_ids = _lists_by_code(members.drop_duplicates(["code", "id"]), "id")

    def _event_stats(self, events: pd.DataFrame, n: int) -> None:
        """Per triple: distinct seconds, first and last time; distinct (triple, minute) pairs."""
        triple = events["triple"].to_numpy().astype(np.int64)
        time = events["time"].to_numpy()
        second = np.floor_divide(time, NS_PER_SECOND)
        minute = np.floor_divide(time, NS_PER_MINUTE)
        if len(triple) == 0:
            self.triple_seconds = np.zeros(n, dtype=np.int64)
            self.triple_first = np.zeros(n, dtype=np.int64)
            self.triple_last = np.zeros(n, dtype=np.int64)
            self.pair_triple = self.pair_minute = np.array([], dtype=np.int64)
            return
        s0, span = second.min(), second.max() - second.min() + 1
        fresh = ~pd.Series(triple * span + (second - s0)).duplicated().to_numpy()
        self.triple_seconds = np.bincount(triple[fresh], minlength=n)
        self.triple_first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        self.triple_last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(self.triple_first, triple, time)
        np.maximum.at(self.triple_last, triple, time)
        m0, mspan = minute.min(), minute.max() - minute.min() + 1
        pairs = pd.unique(triple * mspan + (minute - m0))
        self.pair_triple = pairs // mspan
        self.pair_minute = pairs % mspan + m0

    def action_table(self, codes: dict[str, np.ndarray]) -> pd.DataFrame:
        """Long table: code, role, action, seconds (distinct per triple, summed), min, max (ns)."""
        parts = []
        for role in ("subject", "object"):
            code = codes[role]
            keep = code >= 0
            frame = pd.DataFrame(
                {
                    "code": code[keep],
                    "action": self.action_codes[keep],
                    "seconds": self.triple_seconds[keep],
                    "min": self.triple_first[keep],
                    "max": self.triple_last[keep],
                }
            )
            stats = frame.groupby(["code", "action"], sort=True).agg(
                seconds=("seconds", "sum"), min=("min", "min"), max=("max", "max")
            )
            stats = stats.reset_index()
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


def _lists_by_code(frame: pd.DataFrame, column: str) -> dict[int, list[str]]:
    return _split_by_code(frame["code"].to_numpy(), frame[column].to_numpy(dtype=object))


def _split_by_code(codes: np.ndarray, values: np.ndarray) -> dict[int, list]:
    """{code: [values in input order]} by one stable sort (groupby.agg(list) is per group)."""
    if len(codes) == 0:
        return {}
    order = np.argsort(codes, kind="stable")
    ordered, items = codes[order], values[order]
    cuts = np.flatnonzero(np.diff(ordered)) + 1
    starts, stops = np.r_[0, cuts], np.r_[cuts, len(ordered)]
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


def _candidates(timeline: Timeline, sides: _Sides, networks: tuple[Network, ...]) -> tuple[Candidate, ...]:
    if not sides.group_keys:
        return ()
    table = sides.action_table(sides.group)
    minutes = sides.minutes_per(sides.group)
    evidence = _evidence(timeline, sides)
    peers_out, peers_in = _peers(sides)

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
    rows = []
    for code, (kind, name) in enumerate(sides.group_keys):
        counts = counts_of[code]
        firsts = firsts_of[code]
        profile = Profile(
            kind=kind,
            value=name,
            full_values=sides.group_values[code],
            counts=counts,
            first_time=firsts,
            minutes=int(minutes.get(code, 0)),
            peers_out=peers_out.get(code, set()),
            peers_in=peers_in.get(code, set()),
        )
        ctype = candidate_type(kind, name)
        result = score(profile, ctype, networks)
        first_ns, last_ns = min(firsts.values()), lasts_of[code]
        rows.append((result.total, first_ns, name, kind, ctype, result, counts, code, last_ns))

    groups = _merge_same_name(rows)
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
        candidates.append(
            Candidate(
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
                evidence=evidence.get(codes[0], [])
                if len(codes) == 1
                else _log_order(_union(evidence.get(c, []) for c in codes)),
                first_seen=stamps[rank - 1],
                last_seen=stamps[n + rank - 1],
                in_table=listed,
            )
        )
    return tuple(candidates)


def _merge_same_name(rows: list[tuple]) -> list[list[tuple]]:
    """One candidate per name: a process and the file it runs from (both ``update.sh``) are
    one indicator to an analyst. The highest-scoring kind leads; the others' reasons follow."""
    by_name: dict[str, list[tuple]] = {}
    for row in rows:
        by_name.setdefault(row[2], []).append(row)
    return [sorted(group, key=lambda r: (-r[0], r[3])) for group in by_name.values()]


def _union(lists) -> list:
    return list(dict.fromkeys(item for items in lists for item in items))


def _log_order(ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda i: int(i[1:]))


def _action_texts(kind: str, counts: dict[tuple[str, str], int]) -> list[str]:
    natural = "subject" if kind in _SUBJECT_KINDS else "object"
    ordered = sorted(counts.items(), key=lambda item: (item[0][0] != natural, -item[1], item[0][1]))
    return [f"{action} x{n}" + ("" if role == natural else f" (as {role})") for (role, action), n in ordered]


def _evidence(timeline: Timeline, sides: _Sides) -> dict[int, list[str]]:
    """Log ids whose description names the candidate (as subject or object), in log order."""
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
    lo = np.searchsorted(pair_desc, log_desc, side="left")
    hi = np.searchsorted(pair_desc, log_desc, side="right")
    width = hi - lo
    positions = np.repeat(np.arange(len(log_desc)), width)
    codes = pair_code[np.repeat(lo, width) + (np.arange(width.sum()) - np.repeat(np.cumsum(width) - width, width))]
    return _split_by_code(codes, timeline.log["id"].to_numpy(dtype=object)[positions])


def _peers(sides: _Sides) -> tuple[dict[int, set], dict[int, set]]:
    """Per candidate: (action, kind, name) of what it acts on, and of what acts on it."""
    c = sides.columns
    frame = pd.DataFrame(
        {
            "s": sides.group["subject"], "o": sides.group["object"], "action": c["action"],
            "s_kind": c["subject_kind"], "s_name": c["subject_name"],
            "o_kind": c["object_kind"], "o_name": c["object_name"],
        }
    )
    out: dict[int, set] = defaultdict(set)
    inn: dict[int, set] = defaultdict(set)
    distinct_out = frame[frame["s"] >= 0].drop_duplicates(["s", "action", "o_kind", "o_name"])
    for group, action, kind, name in zip(distinct_out["s"].tolist(), distinct_out["action"].tolist(),
                                         distinct_out["o_kind"].tolist(), distinct_out["o_name"].tolist()):
        out[group].add((action, kind, name))
    distinct_in = frame[frame["o"] >= 0].drop_duplicates(["o", "action", "s_kind", "s_name"])
    for group, action, kind, name in zip(distinct_in["o"].tolist(), distinct_in["action"].tolist(),
                                         distinct_in["s_kind"].tolist(), distinct_in["s_name"].tolist()):
        inn[group].add((action, kind, name))
    return out, inn
