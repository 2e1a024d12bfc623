"""The offline narrator: deterministic rules, no network, the same Narration an LLM fills.

Stages come from the rule families in :mod:`aptnarrate.rules.stages`; IoC context from the
knowledge base and each candidate's own reasons. The summary tells the story from the
log rows themselves: each sentence names the rows' actors, actions and objects, and its
times are the minutes of exactly those rows (``StoryLine.rows``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..arrays import distinct, factorize
from ..preprocess.condense import minute_text
from ..preprocess.knowledge import lookup
from ..models import APT_STAGES, LEVELS, IoCClaim, Narration, StageClaim
from ..llm.prompt_context import (
    ACTOR_KINDS,
    KB_KIND,
    ProcessAliases,
    benign_mechanism,
    benign_mechanisms,
    deletion_mechanisms,
    deletions_said,
    join_words,
    process_aliases,
)
from ..preprocess.rank import DELETES_RENAMES_WEIGHT, likelihood as rank_likelihood
from ..preprocess.row_index import entity_codes, ids_by_group, row_actor_ids
from ..grounding.semantic import RowEvent, description_event, distinct_descriptions, log_positions, row_event, row_events, row_table, support_table, supports
from ..rules.stages import StageEvidence, find_stages, installs_of
from ..rules.events import names_this_host
from . import NarrationResult
from ..wording import mid_sentence, quoted

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts
    from ..models import Candidate

MAX_NAMED_IN_SUMMARY = 4


class OfflineNarrator:
    name = "offline"

    def narrate(self, facts: Facts, context=None) -> NarrationResult:  # context: read after the narration (pipeline.attach_context)
        found = sorted(find_stages(facts), key=lambda s: APT_STAGES.index(s.stage))
        stages = [
            StageClaim(stage=s.stage, confidence=s.confidence, evidence=list(s.evidence), rationale=s.rationale)
            for s in found
        ]
        # the benign mechanisms of every named candidate judged at once (ioc_context, the
        # IoC's usage and the story's benign alternative each read them)
        benign_mechanisms([c for c in facts.table_candidates if c.type != "ip"], facts)
        iocs = [ioc_context(c, facts) for c in facts.table_candidates]
        narration = Narration(stages=stages, iocs=iocs, summary=summarise(facts, found))
        return NarrationResult(narration=narration, backend=self.name, notes=["rule-based narration (offline)"])


def legitimate_usage(candidate: Candidate, facts: Facts) -> str:
    """What the entity is (this host, declared internal host, public resolver, unknown public
    address, system binary, unknown file) and, from its strongest reason, why it is listed."""
    why = f" Listed because: {candidate.reasons[0]}." if candidate.reasons else ""
    if candidate.type == "ip" or candidate.kind == "flow":
        feature = set(candidate.features)
        cls, text = facts.address_class(candidate.value)
        if "this-host" in feature:
            what = "This host: the monitored machine's own address, recorded on inbound flows; not a remote indicator."
        elif "public-resolver" in feature:
            what = f"Public DNS resolver ({next((r for r in candidate.reasons if 'resolver' in r), 'well known')})."
        elif cls == "internal":
            what = f"Declared internal host ({text})."
        elif cls == "public":
            what = "Unknown public address: not in a declared internal network; what it serves cannot be told from the log."
        elif cls == "private":
            what = "Private-range host (no internal network declared for it)."
        else:
            what = f"Network endpoint ({text})."
        if "swept" in feature and "/" in candidate.value:
            hosts = [v for v in candidate.full_values if "/" not in v and "->" not in v and ":" not in v] or candidate.full_values
            inside = all(facts.address_class(h)[0] == "internal" for h in hosts)
            return (
                f"Hosts of {candidate.value} ({'declared internal' if inside else 'no internal network declared for them'}) "
                f"reached one after another by one process, the targets of a network sweep: {', '.join(hosts)}."
            )
        return what + why
    entry = lookup(candidate.value, KB_KIND.get(candidate.type, "file"))
    mechanism = benign_mechanism(candidate, facts)
    deletions = deletion_mechanisms(candidate, facts) if mechanism is None else ()
    benign = f" Here {mechanism.says}." if mechanism else f" Here {deletions_said(deletions)}." if deletions else ""
    if entry is None:
        return _UNKNOWN.get(candidate.type, f"Unknown {candidate.kind}: not in the knowledge base.") + benign + why
    # "program", not "system binary": the knowledge base's binaries include browsers, mail
    # clients and desktop applications, which an analyst must not read as the OS's own
    kind = "Known program" if entry.type == "binary" else "Known " + entry.type
    return f"{kind}: {entry.usage.rstrip('.')} ({entry.category})." + benign + why


# what an IoC the knowledge base does not know is, by its type (a task, a shell or another
# kind without a type of its own is named by its kind)
_UNKNOWN = {
    "process": "Unknown program: not a common binary in the knowledge base.",
    "file": "Unknown file: not a known system file or binary.",
    "module": "Unknown library: not a common module in the knowledge base.",
    "registry": "Unknown registry key: not a known system key in the knowledge base.",
    "directory": "Unknown directory: not a known system location.",
}


def ioc_context(candidate: Candidate, facts: Facts) -> IoCClaim:
    reasons = "; ".join(candidate.reasons) if candidate.reasons else "no suspicious feature beyond appearing in the subgraph"
    actions = ", ".join(candidate.actions[:6])
    rationale = f"Rank {candidate.rank} of {len(facts.candidates)} (score {candidate.score:g}): {reasons}."
    if actions:
        rationale += f" Observed: {actions}."
    likelihood = candidate.likelihood
    mechanism = benign_mechanism(candidate, facts) if candidate.type != "ip" else None
    if mechanism is not None and likelihood != "low":
        # a benign mechanism lowers the likelihood one step and says so; the row stays
        likelihood = "moderate" if likelihood == "high" else "low"
        rationale += f" Likelihood lowered: {mechanism.says}."
    elif mechanism is None and likelihood != "low" and (deletions := deletion_mechanisms(candidate, facts)):
        # files a benign mechanism explains are no sign when deleted (as Covering Tracks
        # reads them): the rank's weight for deleting them is taken back
        without = rank_likelihood(candidate.score - DELETES_RENAMES_WEIGHT)
        if LEVELS.index(without) < LEVELS.index(likelihood):
            likelihood = without
            rationale += f" Likelihood lowered: {deletions_said(deletions)}."
    return IoCClaim(
        ioc=candidate.value,
        legitimate_usage=legitimate_usage(candidate, facts),
        likelihood=likelihood,
        rationale=rationale,
    )


def summarise(facts: Facts, stages: list[StageEvidence]) -> str:
    """The story of the subgraph: what it most likely is, who acted, what they did in time
    order, the benign alternative when one fits, and where an analyst should look next."""
    if len(facts.timeline.log) == 0:
        return "The subgraph holds no events."
    return "\n\n".join(" ".join(line.text for line in paragraph) for paragraph in story(facts, stages) if paragraph)


@dataclass(frozen=True)
class StoryLine:
    """One sentence of the summary and the log rows it describes: every time it names is
    the minute of one of these rows (its first or its last)."""

    text: str
    rows: tuple[str, ...] = ()


@dataclass
class _Clause:
    actor: str
    verb: str
    objects: list[str] = field(default_factory=list)
    rows: list[_Rows] = field(default_factory=list)  # the log rows it tells, in pieces
    actors: list[str] = field(default_factory=list)  # the actors a merged clause stands for

    def positions(self) -> np.ndarray:
        return np.concatenate([r.positions for r in self.rows])

    def minutes(self) -> np.ndarray:
        return np.concatenate([r.minutes for r in self.rows])


@dataclass(frozen=True)
class _Rows:
    """Log rows as arrays (a stage may cite 100,000 of them): positions and their minutes."""

    positions: np.ndarray
    minutes: np.ndarray


def story(facts: Facts, stages: list[StageEvidence]) -> list[list[StoryLine]]:
    """The summary as paragraphs of ``StoryLine``s (see ``summarise``)."""
    aliases = process_aliases(facts)
    table = support_table()
    steps = []
    descriptions = row_table(facts).log_description
    for stage in stages:
        # the rules' own positions of the ids when they have them (a stage may cite 100,000 rows)
        positions = stage.positions if getattr(stage, "positions", None) is not None else log_positions(facts, stage.evidence)
        told_classes = table.story.get(stage.stage, ())
        narrated_codes = []  # judged per description: rows of one description share the verdict
        for code in distinct_descriptions(facts, positions):
            event = description_event(facts, code)
            if event.event_class in told_classes and supports(stage.stage, event, facts, table):
                narrated_codes.append(code)
        narrated = positions[np.isin(descriptions[positions], narrated_codes)]
        clauses = _clauses(facts, aliases, narrated if len(narrated) else positions)
        if clauses:
            steps.append((stage, clauses))
    steps.sort(key=lambda step: (min(int(c.minutes().min()) for c in step[1]), APT_STAGES.index(step[0].stage)))

    paragraphs = [[StoryLine(_assessment(facts, [stage for stage, _ in steps]))]]
    actors = _actors(facts, aliases, [c for _, clauses in steps for c in clauses])
    if actors:
        paragraphs.append([StoryLine(actors)])
    told, day = [], None
    for stage, clauses in steps:
        line, day = _step_line(facts, stage, clauses, day)
        told.append(line)
    if not steps:  # no stage: say what the subgraph's first actors did, with their rows' times
        first = log_positions(facts, facts.timeline.ids[:_QUIET_ROWS])
        quiet = [c for c in distinct_descriptions(facts, first) if description_event(facts, c).event_class in _QUIET]
        clauses = _clauses(facts, aliases, first[~np.isin(descriptions[first], quiet)])
        if clauses:
            line, day = _when_line(facts, clauses, None, "")
            told.append(line)
            later = _log_goes_on(facts, aliases, clauses, day)
            if later is not None:
                told.append(later)
    if told:
        paragraphs.append(told)
    # what the aliases stand for, where the actors or the story name one ("P1"; a thread
    # ended is named so too)
    described = aliases.describe() if _aliases_named(" ".join([actors or ""] + [line.text for line in told]), aliases) else ""
    if described:
        line = StoryLine(described[:1].upper() + described[1:])
        if actors:
            paragraphs[1].append(line)
        else:
            paragraphs.insert(1, [line])
    benign = _benign_alternative(facts, [stage for stage, _ in steps], [c for _, clauses in steps for c in clauses])
    if benign:
        paragraphs.append([StoryLine(benign)])
    told_text = " ".join(line.text for paragraph in paragraphs for line in paragraph)
    pivots = _pivots(facts, aliases, [stage for stage, _ in steps], told_text)
    if pivots:
        paragraphs.append([StoryLine(pivots)])
    return paragraphs


# what an event class says in a sentence: "<actor> <verb> <objects>"
_VERBS = {
    "network_out": "connected or sent to",
    "network_in": "received traffic from",
    "network_close": "closed connections to",
    "execute": "executed",
    "process_start": "started",
    "process_end": "ended",
    "process_access": "opened or modified the process",
    "module_load": "loaded",
    "file_read": "read",
    "file_write": "wrote",
    "file_create": "created",
    "file_delete": "deleted",
    "file_rename": "renamed",
    "file_attribute": "changed the attributes of",
    "file_truncate": "truncated",
    "task_create": "created the scheduled task",
    "task_modify": "modified the scheduled task",
    "task_delete": "deleted the scheduled task",
    "task_run": "started the scheduled task",
    "service_install": "installed the service",
    "service_start": "started the service",
    "service_delete": "deleted the service",
    "registry_write": "wrote the registry value",
    "registry_delete": "removed the registry value",
    "registry_read": "read the registry key",
    "remote_thread": "created a thread in",
    "thread_create": "created a thread",
    "shell_command": "ran a command in",
    "privilege_change": "changed its user identity",
    "logon": "logged on to",
    "memory_protect": "changed memory protection of",
    "ipc": "exchanged data through",
}
MAX_CLAUSES = 4
# without a stage, the story tells the first rows of the log, minus bookkeeping events
_QUIET_ROWS = 40
_QUIET = frozenset({"file_close", "network_close", "other", "process_end"})
MAX_OBJECTS = 3


def verb_of(row: RowEvent) -> str:
    if not row.object_name and row.object_kind and row.object_kind not in ACTOR_KINDS:
        # an unnamed object: the verb leaves its kind to the object ("wrote an unnamed
        # registry value", "received traffic on an unnamed flow")
        if row.object_kind == "flow" and row.event_class in _UNNAMED_FLOW_VERBS:
            return _UNNAMED_FLOW_VERBS[row.event_class]
        verb = _VERBS.get(row.event_class, row.action.lower())
        for noun in _VERB_NOUNS:
            if verb.endswith(f" the {noun}"):
                return verb[: -len(f" the {noun}")]
        return verb
    if row.event_class == "network_in" and names_this_host(row.action):
        # OpTC names the receiving host on an inbound flow: the address is this host's own
        return "received traffic at this host's own address"
    return _VERBS.get(row.event_class, row.action.lower())


# nouns that verbs name their object's kind with ("started the scheduled task `Updater`"):
# with an unnamed object the kind moves to the object ("started an unnamed scheduled task")
_OBJECT_NOUNS = ("scheduled task", "registry value", "registry key", "service")
# and "the process" is dropped before an object that is none (CADETS' MODIFY_PROCESS of a
# directory: "opened or modified an unnamed directory")
_VERB_NOUNS = _OBJECT_NOUNS + ("process",)
_UNNAMED_FLOW_VERBS = {"network_in": "received traffic on", "network_out": "connected or sent on", "network_close": "closed"}


def _unnamed_object(verb: str, target: str, row: RowEvent) -> tuple[str, str]:
    """The object of a clause whose object the log does not name, with the kind its verb
    named (``verb_of`` left it out): "wrote an unnamed registry value", not "wrote the
    registry value an unnamed registry"."""
    if row.object_name or not target.startswith("an unnamed ") or row.object_kind in ACTOR_KINDS:
        return verb, target
    full = _VERBS.get(row.event_class, "")
    for noun in _OBJECT_NOUNS:
        if full.endswith(f" the {noun}"):
            return verb, f"an unnamed {noun}"
    return verb, target


def _actor_label(facts: Facts, aliases: ProcessAliases, row: RowEvent, role: str = "subject", ids=None) -> str:
    """How the story names the ``role`` side of ``row``: the name, ``name (P3)`` for a
    shared name, ``P1`` when unnamed. ``ids``: the entity ids of the ``role`` side of the
    rows being told with ``row`` (the aliased ones at least); by default, ``row``'s own."""
    kind, name = (row.subject_kind, row.subject_name) if role == "subject" else (row.object_kind, row.object_name)
    if kind in ACTOR_KINDS:
        if ids is None:
            ids = row_actor_ids(facts, row.position, role)
        label = aliases.label(ids, name)
        if name:
            return quoted(name) + label[len(name):]
        return label
    return quoted(name) if name else f"an unnamed {kind}"


def _clauses(facts: Facts, aliases: ProcessAliases, positions: np.ndarray) -> list[_Clause]:
    """The log rows at ``positions`` grouped into "<actor> <verb> <objects>" clauses, in
    time order. Rows of one description are labelled together (one pass over their entity
    ids, not one per row), and grouped by array operations, not row by row."""
    table = row_table(facts)
    minutes = table.log_minute[positions]
    order = np.lexsort((positions, minutes))  # time order, then log order
    positions, minutes = positions[order], minutes[order]
    group_of, _ = factorize(table.log_description[positions])  # descriptions, first told first
    members = np.argsort(group_of, kind="stable")
    n_groups = int(group_of.max()) + 1 if len(group_of) else 0
    bounds = np.searchsorted(group_of[members], np.arange(n_groups + 1))
    # the aliased processes of every description's rows, both sides, in one pass each (what
    # ``ProcessAliases.label`` reads of ``row_actor_ids``: the other ids are named by their name)
    aliased = {role: ids_by_group(facts, aliases.order, positions, group_of, n_groups, role) for role in ("subject", "object")}
    by_key: dict[tuple[str, str], _Clause] = {}
    told: dict[tuple[str, str], set[str]] = {}  # each clause's objects, for a look-up (a scan made it quadratic)
    for number, (start, end) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
        group = members[start:end]
        rows = _Rows(positions[group], minutes[group])
        first = row_event(facts, int(rows.positions[0]))
        actor = _actor_label(facts, aliases, first, "subject", aliased["subject"][number])
        verb = verb_of(first)
        target = _actor_label(facts, aliases, first, "object", aliased["object"][number]) if first.object_kind else ""
        verb, target = _unnamed_object(verb, target, first)
        clause = by_key.setdefault((actor, verb), _Clause(actor, verb))
        objects = told.setdefault((actor, verb), set())
        if target and target not in objects:
            objects.add(target)
            clause.objects.append(target)
        clause.rows.append(rows)
    return _merge_runs(list(by_key.values()))[:MAX_CLAUSES]


def _merge_runs(clauses: list[_Clause]) -> list[_Clause]:
    """Actors that did the same thing to the same objects share one clause ("a, b and c read
    `passwd`"); a process that executes its own image "ran"."""
    merged: dict[tuple[str, tuple[str, ...]], _Clause] = {}
    for clause in clauses:
        if clause.verb == "executed" and clause.objects == [clause.actor]:
            clause = _Clause(clause.actor, "ran", [], clause.rows)
        key = (clause.verb, tuple(clause.objects))
        if key in merged:
            merged[key].actors.append(clause.actor)
            merged[key].rows.extend(clause.rows)
        else:
            merged[key] = _Clause(clause.actor, clause.verb, clause.objects, list(clause.rows), [clause.actor])
    for clause in merged.values():
        clause.actor = join_words(clause.actors)
    return list(merged.values())


def _clause_text(facts: Facts, clause: _Clause, first: int, last: int) -> str:
    shown = clause.objects[:MAX_OBJECTS]
    more = len(clause.objects) - len(shown)
    target = join_words(shown + [f"{more} more"]) if more > 0 else (join_words(shown) if shown else "")
    minutes = _minutes_in_window(facts, clause, first, last)
    repeat = f" in {minutes} different minutes" if minutes >= 3 else ""
    return f"{clause.actor} {clause.verb}{' ' + target if target else ''}{repeat}"


def _minutes_in_window(facts: Facts, clause: _Clause, first: int, last: int) -> int:
    """The distinct minutes from ``first`` to ``last`` (the line's window) in which the log
    has a row of the same act as the clause's rows. The line says "between <first> and
    <last>, X did Y in N different minutes": counting only the rows a stage cites would
    understate N where the stage cites some of a description's rows. A row of one of the
    clause's descriptions is the same act (rows of one description share the verdict) unless
    a process on it is not one of the cited rows' (an unnamed or shared name: ``P2`` is not
    ``P1``)."""
    table = row_table(facts)
    cited = clause.positions()
    # the log is in minute order (condense sorts it so): the window is one slice, and its
    # chosen rows' minutes come sorted (no sort to count them)
    start, stop = int(np.searchsorted(table.log_minute, first, "left")), int(np.searchsorted(table.log_minute, last, "right"))
    descriptions = table.log_description[start:stop]
    # a mask over the descriptions read at each row of the window (one take; isin sorts)
    of_cited = np.zeros(len(table.subject_kind), dtype=bool)
    of_cited[table.log_description[cited]] = True
    chosen = of_cited[descriptions]
    is_cited = np.zeros(stop - start, dtype=bool)
    is_cited[cited - start] = True
    extra = np.flatnonzero(chosen & ~is_cited)
    for role in ("subject", "object") if len(extra) else ():
        kinds = table.subject_kind if role == "subject" else table.object_kind
        actor_descriptions = np.array([kind in ACTOR_KINDS for kind in kinds], dtype=bool)
        actor_rows = extra[actor_descriptions[descriptions[extra]]]
        if not len(actor_rows) or _one_entity_each(facts, distinct(descriptions[actor_rows]), role):
            continue  # the usual case: every row of the description has the cited process
        chosen[actor_rows[~_acted_in(facts, actor_rows + start, cited, role)]] = False
    minutes = table.log_minute[start:stop][chosen]
    return int(np.count_nonzero(np.diff(minutes))) + 1 if len(minutes) else 0


def _one_entity_each(facts: Facts, descriptions: np.ndarray, role: str) -> bool:
    """Whether each of ``descriptions`` has one entity on its ``role`` side: then every row
    of it has that entity."""
    codes, _ = entity_codes(facts)
    triple_description = facts.timeline.triple_description
    triples = np.flatnonzero(np.isin(triple_description, descriptions))
    side = codes[triples * 2 + (0 if role == "subject" else 1)].astype(np.int64)
    pairs = distinct(triple_description[triples].astype(np.int64) * (int(codes.max(initial=0)) + 1) + side)
    return len(pairs) == len(descriptions)


def _acted_in(facts: Facts, rows: np.ndarray, cited: np.ndarray, role: str) -> np.ndarray:
    """For each log row of ``rows``: whether an entity on its ``role`` side is one on the
    ``role`` side of a ``cited`` row (that process acted in that row's minute). Read from
    the events of just these rows: one gather over the events, no per-row index."""
    timeline = facts.timeline
    codes, _ = entity_codes(facts)
    event_row = timeline.event_log
    picked = np.zeros(len(timeline.log), dtype=bool)
    picked[rows] = True
    picked[cited] = True
    events = np.flatnonzero(picked[event_row])
    event_row = event_row[events]
    entity = codes[timeline.table.events["triple"][events].astype(np.int64) * 2 + (0 if role == "subject" else 1)]
    is_cited = np.zeros(len(timeline.log), dtype=bool)
    is_cited[cited] = True
    acted = np.zeros(len(timeline.log), dtype=bool)
    acted[event_row[np.isin(entity, entity[is_cited[event_row]])]] = True
    return acted[rows]


def _step_line(facts: Facts, stage: StageEvidence, clauses: list[_Clause], day: str | None) -> tuple[StoryLine, str]:
    techniques = list(getattr(stage, "techniques", ()) or ())
    attack = f"; {'technique' if len(techniques) == 1 else 'techniques'} {', '.join(techniques)}" if techniques else ""
    return _when_line(facts, clauses, day, f": **{stage.stage}** ({stage.confidence} confidence{attack})")


def _when_line(facts: Facts, clauses: list[_Clause], day: str | None, tail: str) -> tuple[StoryLine, str]:
    """"<when>, <clauses><tail>." where <when> spans exactly the clauses' rows."""
    minutes = np.concatenate([c.minutes() for c in clauses])
    first, last = minute_text([int(minutes.min()), int(minutes.max())])
    if first == last:
        when = f"At {first[11:]}" if first[:10] == day else f"On {first[:10]} at {first[11:]}"
    elif first[:10] != last[:10]:
        when = f"Between {first} and {last}"
    elif first[:10] == day:
        when = f"Between {first[11:]} and {last[11:]}"
    else:
        when = f"On {first[:10]}, between {first[11:]} and {last[11:]}"
    what = "; ".join(_clause_text(facts, c, int(minutes.min()), int(minutes.max())) for c in clauses)
    text = f"{when}, {what}{tail}."
    positions = distinct(np.concatenate([c.positions() for c in clauses]))  # log order, each once
    ids = tuple(row_table(facts).ids[positions].tolist())
    return StoryLine(text, ids), last[:10]


def _log_goes_on(facts: Facts, aliases: ProcessAliases, clauses: list[_Clause], day: str) -> StoryLine | None:
    """Where the summary tells only the first rows of a log with no stage, the log's last
    row, so that the span told is not read as the subgraph's."""
    log = facts.timeline.log
    told = int(np.concatenate([c.minutes() for c in clauses]).max())
    last = int(log["minute"][-1]) if len(log) else told
    if last <= told:
        return None
    last_id = facts.timeline.ids[-1]
    final = _clauses(facts, aliases, log_positions(facts, [last_id]))
    if not final:
        return None
    stamp = minute_text([last])[0]
    when = stamp[11:] if stamp[:10] == day else stamp
    return StoryLine(f"The log goes on until {when}, when {_clause_text(facts, final[0], last, last)}.", (str(last_id),))


def _assessment(facts: Facts, stages: list[StageEvidence]) -> str:
    """What the subgraph most likely is (no times: those belong to the lines that tell them)."""
    if not stages:
        return (
            "No activity in this subgraph matches a rule for an APT stage: most likely routine work, "
            "or an attack step the subgraph holds too little context to show."
        )
    names = [f"**{s.stage}**" for s in stages]
    strong = [s for s in stages if s.confidence in ("high", "moderate")]
    if not strong:
        return f"Weak signs of {join_words(names)} only: this subgraph may well be benign; the rows below say why it was flagged."
    if len(names) == 1:
        return f"Most likely one step of an intrusion: {names[0]}."
    return f"Most likely an intrusion in {len(names)} steps: {', then '.join(names)}."


def _actors(facts: Facts, aliases: ProcessAliases, clauses: list[_Clause]) -> str:
    actors = list(dict.fromkeys(a for c in clauses for a in (c.actors or [c.actor])))
    if not actors:  # no stage: the log's most active subjects
        log = facts.timeline.log
        rows = row_events(facts, log["id"][np.argsort(-log["count"], kind="stable")[:50]].tolist())
        actors = list(dict.fromkeys(_actor_label(facts, aliases, r) for r in rows if r.subject_name or r.subject_kind in ACTOR_KINDS))
    if not actors:
        return ""
    shown = actors[:6]
    described = []
    for actor in shown:
        name = actor.split("`")[1] if actor.startswith("`") else ""
        entry = lookup(name, "process") if name else None
        described.append(f"{actor} ({entry.category})" if entry else actor)
    more = f", and {len(actors) - len(shown)} more" if len(actors) > len(shown) else ""
    return f"Who acted: {'; '.join(described)}{more}."


_ROUTINE = frozenset({"package manager", "software updater", "system utility", "windows system process", "system service", "office application", "browser", "mail client"})


def _benign_alternative(facts: Facts, stages: list[StageEvidence], clauses: list[_Clause]) -> str:
    """A benign reading when one fits: a benign mechanism (data/benign.yaml) that explains
    listed entities, known programs doing their usual work, or weak signs only."""
    explained: dict[str, list[str]] = {}
    for candidate, mechanism in _named_mechanisms(facts):
        if mechanism is not None:
            explained.setdefault(mechanism.says, []).append(quoted(candidate.value))
    about = [f"{join_words(names[:3] + ([f'{len(names) - 3} more'] if len(names) > 3 else []))}: {says}" for says, names in explained.items()]
    # the stage rules left a user's software install out: say what it was
    about = [_install_reading(install) for install in installs_of(facts)] + about
    if about:
        return f"Benign alternative: {'; '.join(about)}."
    strong = any(s.confidence == "high" for s in stages)
    names = [a.split("`")[1] for c in clauses for a in (c.actors or [c.actor]) if a.startswith("`")]
    known = []
    for name in dict.fromkeys(names):
        entry = lookup(name, "process")
        if entry is not None and entry.category in _ROUTINE:
            known.append((name, entry))
    # a claim that the process is not what its name says (T1036: its image is another,
    # unknown executable) leaves no room for "the named program's ordinary work"
    masquerading = any("T1036" in s.techniques for s in stages)
    if known and not strong and not masquerading:
        about = "; ".join(f"{quoted(n)} is {mid_sentence(e.usage.rstrip('.'))} ({e.category})" for n, e in known[:3])
        return f"Benign alternative: {about}, and these rows may be its ordinary work."
    if stages and not strong:
        return "Benign alternative: every stage here rests on weak evidence, which ordinary programs also produce."
    return ""


def _install_reading(install) -> str:
    """A user's software install (``stages.installs_of``) as the summary gives it."""
    installed = sorted(install.installed)
    shown = [quoted(n) for n in installed[:3]] + ([f"{len(installed) - 3} more"] if len(installed) > 3 else [])
    # a program the user opened from the desktop comes with no download in the log
    delivered = f"{join_words([quoted(b) for b in sorted(install.browsers)])} delivered" if install.browsers else "the user opened from the desktop"
    return (
        f"a user installing software: {quoted(install.program)}, which {delivered}, put in place {join_words(shown)}, {'programs' if len(installed) > 1 else 'a program'} the knowledge base knows as vendor software; its {'download, ' if install.browsers else ''}"
        "files, runs and auto-start entries are the installation's"
    )


def _named_mechanisms(facts: Facts) -> list:
    """Each table candidate with a name (not an address), with the benign mechanism that
    explains it, or None (``benign_mechanisms``, judged once per facts)."""
    named = [c for c in facts.table_candidates if c.type != "ip"]
    return list(zip(named, benign_mechanisms(named, facts)))


def _aliases_named(text: str, aliases: ProcessAliases) -> set[str]:
    """The aliases (``P1``...) that ``text`` names."""
    return set(re.findall(r"\bP\d+\b", text)) & set(aliases.alias_of.values()) if aliases.order else set()


def _pivots(facts: Facts, aliases: ProcessAliases, stages: list[StageEvidence], told: str) -> str:
    """The next steps for the analyst. ``told``: the summary's text so far; an alias is
    named here only when it names a process the summary shows (a ``P1`` nowhere above, or
    a thread, which has no image to resolve, would be noise)."""
    pivots = []
    table = [c for c in facts.table_candidates if c.likelihood != "low"]
    addresses = [c.value for c in table if c.type == "ip" and "this-host" not in c.features][:2]
    if addresses:
        pivots.append(f"look up {join_words([quoted(a) for a in addresses])} in network logs (proxy, DNS, firewall) and on other hosts")
    unknown = [
        c for c in table if c.type in ("file", "process") and lookup(c.value, c.kind) is None and {"executed", "written"} & set(c.features)
    ]
    # a file a benign mechanism explains (PowerShell's own policy-test script, an app's
    # package state) is nothing to recover
    files = [c.value for c, mechanism in zip(unknown, benign_mechanisms(unknown, facts)) if mechanism is None][:3]
    if files:
        pivots.append(f"recover and hash {join_words([quoted(f) for f in files])}")
    if any(s.stage == "Maintain Persistence" for s in stages):
        pivots.append("read the persistence entries the log shows being written, to learn what they start")
    named = _aliases_named(told, aliases)
    shown = [aliases.alias_of[i] for i in aliases.order if aliases.alias_of[i] in named and aliases.is_process(i)][:3]
    if shown:
        pivots.append(f"resolve {join_words(shown)} to an image and command line in the host's full audit log by entity id")
    if not pivots:
        explained = {c.value for c, mechanism in _named_mechanisms(facts) if mechanism is not None}
        first = next((c for c in facts.table_candidates if c.value not in explained), None)
        if first is not None:
            pivots.append(f"check {quoted(first.value)} in the host's full audit log before and after this subgraph")
    if not pivots:
        return ""
    return "Next pivots: " + "; ".join(pivots[:4]) + "."

