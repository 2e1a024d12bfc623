"""Semantic grounding: a stage claim must cite rows whose events can support that stage.

Grounding (``ground``) checks that a claim cites log rows that exist; this module checks
that those rows are the right *kind* of event. Command and Control needs network rows,
Covering Tracks a delete, rename or truncate, Maintain Persistence a write to a persistence
location, task, service or registry, and so on. Which event classes support which stage is
data (``aptnarrate/data/stage_support.yaml``); the event class of a row comes from the event
vocabulary (``aptnarrate/data/events.yaml``).

A claim that fails is reported as a grounding issue of kind ``stage``: the model is re-asked
with the reason, and a claim that persists is dropped and listed in the report's metadata,
exactly like a claim citing a row that does not exist.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import yaml

from ..preprocess.knowledge import lookup
from ..rules.events import UNKNOWN, event_class, vocabulary

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts
    from .ground import GroundingIssue, Vocabulary
    from ..models import StageClaim

PERSISTENCE_LOCATION = "persistence_location"
CONDITIONS = (PERSISTENCE_LOCATION,)


class SupportTableError(ValueError):
    """The stage-support table is malformed (names the stage and entry)."""


@dataclass(frozen=True)
class SupportTable:
    supports: dict[str, tuple[tuple[str, str | None], ...]]  # stage -> (class, condition)
    story: dict[str, tuple[str, ...]]  # stage -> classes its summary sentence narrates, in order
    persistence_names: frozenset[str]
    persistence_paths: re.Pattern
    persistence_writers: frozenset[str]

    def classes(self, stage: str) -> set[str]:
        return {cls for cls, _ in self.supports.get(stage, ())}


@dataclass(frozen=True)
class RowEvent:
    """One log row as the semantic check and the summary see it."""

    id: str
    position: int
    minute: int  # wall-clock ns of the row's minute
    subject_kind: str
    subject_name: str
    action: str
    object_kind: str
    object_name: str
    event_class: str
    description: int = -1  # row of ``timeline.descriptions``


def parse_support_table(raw: dict, source: str = "stage_support.yaml") -> SupportTable:
    from ..models import APT_STAGES

    if not isinstance(raw, dict) or not isinstance(raw.get("stages"), dict):
        raise SupportTableError(f"{source}: expected a top-level 'stages' mapping")
    known = set(vocabulary().classes)
    supports: dict[str, tuple[tuple[str, str | None], ...]] = {}
    story: dict[str, tuple[str, ...]] = {}
    for stage, entry in raw["stages"].items():
        where = f"{source}: stage {stage!r}"
        if stage not in APT_STAGES:
            raise SupportTableError(f"{where}: not one of the APT stages ({', '.join(APT_STAGES)})")
        if not isinstance(entry, dict) or not isinstance(entry.get("supports"), list) or not entry["supports"]:
            raise SupportTableError(f"{where}: 'supports' must be a non-empty list of event classes")
        pairs = []
        for item in entry["supports"]:
            cls, _, condition = str(item).partition(":")
            cls, condition = cls.strip(), condition.strip() or None
            if cls not in known:
                raise SupportTableError(f"{where}: event class {cls!r} is not declared in events.yaml")
            if condition is not None and condition not in CONDITIONS:
                raise SupportTableError(f"{where}: unknown condition {condition!r} (expected one of {', '.join(CONDITIONS)})")
            pairs.append((cls, condition))
        supports[stage] = tuple(pairs)
        narrated = [str(c) for c in entry.get("story") or [cls for cls, _ in pairs]]
        unknown = [c for c in narrated if c not in known]
        if unknown:
            raise SupportTableError(f"{where}: story class(es) {', '.join(unknown)} not declared in events.yaml")
        story[stage] = tuple(narrated)
    missing = [s for s in APT_STAGES if s not in supports]
    if missing:
        raise SupportTableError(f"{source}: no entry for stage(s) {', '.join(missing)}")
    locations = raw.get("persistence_locations") or {}
    patterns = [str(p) for p in locations.get("paths") or []]
    try:
        paths = re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!)", re.IGNORECASE)
    except re.error as exc:
        raise SupportTableError(f"{source}: persistence_locations.paths: {exc}") from None
    return SupportTable(
        supports=supports,
        story=story,
        persistence_names=frozenset(str(n).casefold() for n in locations.get("names") or []),
        persistence_paths=paths,
        persistence_writers=frozenset(str(n).casefold() for n in locations.get("writers") or []),
    )


@lru_cache(maxsize=1)
def support_table() -> SupportTable:
    text = resources.files("aptnarrate.data").joinpath("stage_support.yaml").read_text(encoding="utf-8")
    return parse_support_table(yaml.safe_load(text))


# --------------------------------------------------------------------------- rows


def row_events(facts: Facts, ids: list[str] | tuple[str, ...]) -> list[RowEvent]:
    """The log rows ``ids`` (ids that are not log rows are skipped), in the order given."""
    table = _row_table(facts)
    rows = []
    for ident in ids:
        position = _position(ident, len(table.ids))
        if position is None or table.ids[position] != ident:
            continue
        code = int(table.log_description[position])
        rows.append(
            RowEvent(
                id=ident,
                position=position,
                minute=int(table.log_minute[position]),
                subject_kind=table.subject_kind[code],
                subject_name=table.subject_name[code],
                action=table.action[code],
                object_kind=table.object_kind[code],
                object_name=table.object_name[code],
                event_class=table.event_class[code],
                description=code,
            )
        )
    return rows


@dataclass(frozen=True)
class _RowTable:
    """Per-description fields and per-row codes as plain arrays, built once per facts."""

    ids: list
    log_description: list
    log_minute: list
    subject_kind: list
    subject_name: list
    action: list
    object_kind: list
    object_name: list
    event_class: list


_LAST_TABLE: tuple[weakref.ref, _RowTable] | None = None


def _row_table(facts: Facts) -> _RowTable:
    global _LAST_TABLE
    if _LAST_TABLE is not None and _LAST_TABLE[0]() is facts:
        return _LAST_TABLE[1]
    timeline = facts.timeline
    desc = timeline.descriptions
    columns = {c: [str(v) for v in desc[c].tolist()] for c in ("subject_kind", "subject_name", "action", "object_kind", "object_name")}
    table = _RowTable(
        ids=timeline.ids.tolist(),
        log_description=timeline.log["description"].tolist(),
        log_minute=timeline.log["minute"].tolist(),
        event_class=[event_class(a, k) for a, k in zip(columns["action"], columns["object_kind"])],
        **columns,
    )
    _LAST_TABLE = (weakref.ref(facts), table)
    return table


def _position(ident: str, n: int) -> int | None:
    if not ident.startswith("L") or not ident[1:].isdigit():
        return None
    position = int(ident[1:]) - 1
    return position if 0 <= position < n else None


def is_persistence_location(row: RowEvent, facts: Facts, table: SupportTable | None = None) -> bool:
    """The row writes a persistence location, or its writer is a persistence tool."""
    table = table or support_table()
    if row.subject_name.casefold() in table.persistence_writers:
        return True
    name = row.object_name
    if not name:
        return False
    if name.casefold() in table.persistence_names:
        return True
    entry = lookup(name, "registry" if row.object_kind == "registry" else "file")
    if entry is not None and entry.category == "persistence location":
        return True
    candidate = facts.candidate(name)
    values = candidate.full_values if candidate is not None else [name]
    return any(table.persistence_paths.search(v) for v in values)


def supports(stage: str, row: RowEvent, facts: Facts, table: SupportTable | None = None) -> bool:
    table = table or support_table()
    for cls, condition in table.supports.get(stage, ()):
        if row.event_class != cls:
            continue
        if condition is None or (condition == PERSISTENCE_LOCATION and is_persistence_location(row, facts, table)):
            return True
    return False


def context_row_events(rows) -> list[RowEvent]:
    """Context rows (``ContextRow``, ids ``C1``...) as the semantic check sees log rows."""
    return [
        RowEvent(
            id=row.id, position=-1, minute=0, subject_kind=row.subject_kind, subject_name=row.subject_name,
            action=row.action, object_kind=row.object_kind, object_name=row.object_name,
            event_class=event_class(row.action, row.object_kind),
        )
        for row in rows
    ]


def unsupported_reason(stage: str, evidence: list[str], facts: Facts, context_rows=()) -> str | None:
    """Why the rows ``evidence`` cannot support ``stage``, or None when one of them can (or
    when a row's action is unknown to the vocabulary, so its class cannot be judged).
    ``context_rows``: the cited rows of the host's wider log (``ContextRow``), judged alike."""
    table = support_table()
    rows = row_events(facts, evidence) + context_row_events(context_rows)
    if not rows or any(r.event_class == UNKNOWN for r in rows):
        return None
    if any(supports(stage, r, facts, table) for r in rows):
        return None
    needed = ", ".join(_describe(cls, cond) for cls, cond in table.supports.get(stage, ()))
    held = ", ".join(dict.fromkeys(r.event_class for r in rows))
    return f"the cited rows hold no event that can support this stage (it needs one of: {needed}; they hold: {held})"


def _describe(cls: str, condition: str | None) -> str:
    return cls if condition is None else f"{cls} to a persistence location"


def screen(stages: list[StageClaim], vocab: Vocabulary, issues: list[GroundingIssue]) -> list[StageClaim]:
    """``stages`` without the claims whose cited rows cannot support them; one issue each."""
    from .ground import GroundingIssue

    kept = []
    for claim in stages:
        cited_context = [vocab.context_rows[e] for e in claim.evidence if e in vocab.context_rows]
        reason = unsupported_reason(claim.stage, list(claim.evidence), vocab.facts, cited_context)
        if reason is None:
            kept.append(claim)
        else:
            issues.append(GroundingIssue("stage", claim.stage, reason))
    return kept
