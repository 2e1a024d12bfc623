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
    """Entity and candidate-group codes for each triple's subject and object."""

    def __init__(self, timeline: Timeline) -> None:
        triples = timeline.table.triples
        events = timeline.table.events
        self.triples = triples
        self.event_triple = events["triple"].to_numpy()
        self.time = events["time"].to_numpy()
        self.second = np.floor_divide(self.time, NS_PER_SECOND)
        self.minute = np.floor_divide(self.time, NS_PER_MINUTE)
        self.action_codes, self.actions = pd.factorize(triples["action"])

        frames = []
        for role in ("subject", "object"):
            frames.append(
                pd.DataFrame(
                    {
                        "id": triples[f"{role}_id"].to_numpy(),
                        "kind": triples[f"{role}_kind"].to_numpy(),
                        "name": triples[f"{role}_name"].to_numpy(),
                        "value": triples[f"{role}_value"].to_numpy(),
                    }
                )
            )
        both = pd.concat(frames, ignore_index=True)
        n = len(triples)
        entity_codes, entity_ids = pd.factorize(both["id"])
        self.entity = {"subject": entity_codes[:n], "object": entity_codes[n:]}
        self.entity_info = both.drop_duplicates("id").set_index("id").loc[list(entity_ids)].reset_index()

        named = both["name"].astype(str).str.len().to_numpy() > 0
        keys = pd.MultiIndex.from_arrays([both["kind"], both["name"]])
        group_codes, group_keys = pd.factorize(keys[named]) if named.any() else (np.array([], int), [])
        groups = np.full(len(both), -1, dtype=np.int64)
        groups[named] = group_codes
        self.group = {"subject": groups[:n], "object": groups[n:]}
        self.group_keys = list(group_keys)
        values: dict[int, list[str]] = defaultdict(list)
        ids: dict[int, list[str]] = defaultdict(list)
        for code, value, entity_id in zip(groups[named], both["value"][named], both["id"][named]):
            if value not in values[code]:
                values[code].append(value)
            if entity_id not in ids[code]:
                ids[code].append(entity_id)
        self.group_values, self.group_ids = values, ids

    def action_table(self, codes: dict[str, np.ndarray]) -> pd.DataFrame:
        """Long table: code, role, action, seconds (distinct), first, last (ns)."""
        parts = []
        for role in ("subject", "object"):
            code = codes[role][self.event_triple]
            keep = code >= 0
            frame = pd.DataFrame(
                {
                    "code": code[keep],
                    "action": self.action_codes[self.event_triple][keep],
                    "second": self.second[keep],
                    "time": self.time[keep],
                }
            )
            grouped = frame.groupby(["code", "action"], sort=True)
            stats = grouped["time"].agg(["min", "max"])
            stats["seconds"] = frame.drop_duplicates(["code", "action", "second"]).groupby(["code", "action"]).size()
            stats = stats.reset_index()
            stats["role"] = role
            parts.append(stats)
        table = pd.concat(parts, ignore_index=True)
        table["action"] = np.asarray(self.actions)[table["action"].to_numpy()] if len(table) else []
        return table

    def minutes_per(self, codes: dict[str, np.ndarray]) -> pd.Series:
        parts = []
        for role in ("subject", "object"):
            code = codes[role][self.event_triple]
            keep = code >= 0
            parts.append(pd.DataFrame({"code": code[keep], "minute": self.minute[keep]}))
        frame = pd.concat(parts, ignore_index=True).drop_duplicates()
        return frame.groupby("code").size()


# --------------------------------------------------------------------------- entities


def _entity_frame(sides: _Sides) -> pd.DataFrame:
    info = sides.entity_info.copy()
    table = sides.action_table(sides.entity)
    frame = info[["id", "kind", "name", "value"]].copy()
    frame["first_seen"] = table.groupby("code")["min"].min().reindex(range(len(info))).to_numpy()
    frame["last_seen"] = table.groupby("code")["max"].max().reindex(range(len(info))).to_numpy()
    frame["minutes"] = sides.minutes_per(sides.entity).reindex(range(len(info)), fill_value=0).to_numpy()
    if len(table):
        table["column"] = table["role"] + "_" + table["action"]
        wide = table.pivot_table(index="code", columns="column", values="seconds", aggfunc="sum", fill_value=0)
        wide = wide.reindex(range(len(info)), fill_value=0)
        for column in sorted(wide.columns):
            frame[column] = wide[column].to_numpy().astype(np.int64)
    frame["named"] = frame["name"].astype(str).str.len() > 0
    frame["candidate_type"] = [candidate_type(k, n) for k, n in zip(frame["kind"], frame["name"])]
    return frame


# --------------------------------------------------------------------------- candidates


def _candidates(timeline: Timeline, sides: _Sides, networks: tuple[Network, ...]) -> tuple[Candidate, ...]:
    if not sides.group_keys:
        return ()
    table = sides.action_table(sides.group)
    minutes = sides.minutes_per(sides.group)
    evidence = _evidence(timeline, sides)
    peers_out, peers_in = _peers(sides)

    by_code = {int(code): part for code, part in table.groupby("code", sort=False)}
    rows = []
    for code, (kind, name) in enumerate(sides.group_keys):
        mine = by_code[code]
        counts = {(r, a): int(n) for r, a, n in zip(mine["role"], mine["action"], mine["seconds"])}
        firsts = {(r, a): int(t) for r, a, t in zip(mine["role"], mine["action"], mine["min"])}
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
        first_ns, last_ns = int(mine["min"].min()), int(mine["max"].max())
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
                evidence=_log_order(_union(evidence.get(c, []) for c in codes)),
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
    pairs = []
    for role in ("subject", "object"):
        group = sides.group[role]
        keep = group >= 0
        pairs.append(pd.DataFrame({"description": desc_of_triple[keep], "code": group[keep]}))
    pairs_frame = pd.concat(pairs, ignore_index=True).drop_duplicates()
    log = pd.DataFrame(
        {"description": timeline.log["description"].to_numpy(), "position": np.arange(len(timeline.log))}
    )
    joined = log.merge(pairs_frame, on="description").sort_values(["code", "position"], kind="stable")
    ids = timeline.log["id"].to_numpy()
    return {
        int(code): ids[positions].tolist()
        for code, positions in joined.groupby("code", sort=False)["position"].agg(lambda p: p.to_numpy()).items()
    }


def _peers(sides: _Sides) -> tuple[dict[int, set], dict[int, set]]:
    """Per candidate: (action, kind, name) of what it acts on, and of what acts on it."""
    triples = sides.triples
    out: dict[int, set] = defaultdict(set)
    inn: dict[int, set] = defaultdict(set)
    for s_group, o_group, action, s_kind, s_name, o_kind, o_name in zip(
        sides.group["subject"].tolist(),
        sides.group["object"].tolist(),
        triples["action"],
        triples["subject_kind"],
        triples["subject_name"],
        triples["object_kind"],
        triples["object_name"],
    ):
        if s_group >= 0:
            out[s_group].add((action, o_kind, o_name))
        if o_group >= 0:
            inn[o_group].add((action, s_kind, s_name))
    return out, inn
