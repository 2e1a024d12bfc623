"""What a reader needs besides the log: who acted, what the events mean, which host this is,
what the rules think, and what the knowledge base says.

Shared by the offline summary (process aliases) and the model prompt (prompt v2):

* ``process_aliases``: stable names P1, P2... for processes without a name, or whose name
  several processes share, numbered by first appearance of their entity id in the input.
  Entity ids (uuids) are never shown; the alias stands for them.
* ``glossary``: every (action, object kind) in the log with its event class and meaning,
  from the event vocabulary (``aptnarrate/data/events.yaml``).
* ``host_context``: OS family inferred from the events, the host's own address when the
  flows show it, the declared internal networks, and the time zone of the times shown.
* ``hypotheses``: the offline rules' stage findings, for a model to confirm or reject.
* ``knowledge``: the knowledge-base text for candidates it knows.

Each builder returns plain values; ``prompt`` serialises them with ``data_line``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..arrays import factorize
from ..preprocess.knowledge import lookup
from ..preprocess.row_index import entity_codes, wanted_numbers
from ..grounding.mentions import addresses
from ..render.escape import code_spans
from ..rules.events import event_class, vocabulary

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts
    from ..models import Candidate

ACTOR_KINDS = frozenset({"process", "thread"})
MAX_ALIASES = 40  # aliases listed in a prompt; the rest are counted
MAX_ALIASES_NAMED = 4  # aliases a summary names for one label before "and N more"
MAX_ROW_REFS = 12  # log-row ranges listed per alias in a prompt
MAX_HYPOTHESIS_REFS = 12  # log-row ranges listed per rule hypothesis (the timeline has them all)


@dataclass(frozen=True)
class BlockLimits:
    """How much of each block a prompt lists. ``FULL`` is the prompt every input gets that
    its budget allows; ``COMPACT`` is for a prompt whose budget the IoC-table candidates of
    a huge input nearly fill (``select-rows``): its size no longer grows with the input;
    ``MINIMAL`` for one whose budget they fill even so."""

    aliases: int = MAX_ALIASES
    row_refs: int = MAX_ROW_REFS
    hypothesis_refs: int = MAX_HYPOTHESIS_REFS
    reason_chars: int | None = None  # a rule's reason cut at a sentence end within this many characters
    knowledge: int | None = None  # knowledge-base records listed; the rest counted


FULL = BlockLimits()
COMPACT = BlockLimits(aliases=10, row_refs=4, hypothesis_refs=4, reason_chars=320, knowledge=8)
# the last step before a prompt is refused: aliases and knowledge records only counted, each
# rule hypothesis its stage, two row references and its reason's first words
MINIMAL = BlockLimits(aliases=0, row_refs=2, hypothesis_refs=2, reason_chars=120, knowledge=0)
_WINDOWS_KINDS = frozenset({"registry", "task", "shell", "module", "service"})
_WINDOWS_NAME = re.compile(r"\.(exe|dll|sys|ps1|bat|cmd|msi)$|^[A-Za-z]:\\", re.I)
# the knowledge base's kind of an entity kind (or candidate type): others are looked up as files
KB_KIND = {"file": "file", "process": "process", "module": "module", "registry": "registry", "directory": "directory"}


# --------------------------------------------------------------------------- aliases


@dataclass(frozen=True)
class ProcessAliases:
    """Aliases of the processes that a name alone does not identify."""

    alias_of: dict[str, str]  # entity id -> "P1"
    name_of: dict[str, str]  # entity id -> name ("" when unnamed)
    order: tuple[str, ...]  # aliased entity ids, alias order
    first_row: dict[str, int] = field(default_factory=dict)  # entity id -> first log position
    # entity id -> its kind where it is not a process (an OpTC thread the log does not name)
    kind_of: dict[str, str] = field(default_factory=dict)

    def is_process(self, ident: str) -> bool:
        return self.kind_of.get(ident, "process") == "process"

    def label(self, ids: list[str] | tuple[str, ...], name: str) -> str:
        """How a summary names the process(es) ``ids`` called ``name``: the name when it is
        unique, ``name (P3)`` when several processes share it, ``P1`` when unnamed."""
        aliases = sorted(dict.fromkeys(self.alias_of[i] for i in ids if i in self.alias_of), key=self._numbers.__getitem__)
        if not aliases:
            return name or "an unnamed process"
        joined = _join_capped(aliases, MAX_ALIASES_NAMED)
        return f"{name} ({joined})" if name else joined

    @cached_property
    def _numbers(self) -> dict[str, int]:
        """Each alias's number (a label may sort thousands of aliases): ``P<n>`` is the
        n-th process of ``order``."""
        return {self.alias_of[ident]: n for n, ident in enumerate(self.order, start=1)}

    def describe(self) -> str:
        """One sentence saying what the aliases stand for (empty when there are none)."""
        if not self.order:
            return ""
        unnamed = [self.alias_of[i] for i in self.order if not self.name_of[i] and self.is_process(i)]
        threads = [self.alias_of[i] for i in self.order if not self.name_of[i] and not self.is_process(i)]
        shared = [self.alias_of[i] for i in self.order if self.name_of[i]]
        parts = []
        if unnamed:
            parts.append(f"{_join_capped(unnamed, 6)} {'is a process' if len(unnamed) == 1 else 'are processes'} the log does not name")
        if threads:
            parts.append(f"{_join_capped(threads, 6)} {'is a thread' if len(threads) == 1 else 'are threads'} the log does not name")
        if shared:
            parts.append(f"{_join_capped(shared, 6)} {'is one of the processes' if len(shared) == 1 else 'are processes'} sharing a name")
        return "; ".join(parts) + " (numbered by first appearance; the JSON report's log keeps their entity ids)."


def process_aliases(facts: Facts) -> ProcessAliases:
    """The aliases of ``facts``, computed once per facts (the prompt and the offline
    summary both name processes with them)."""
    return facts.derived("_process_aliases", lambda: _process_aliases(facts))


def _process_aliases(facts: Facts) -> ProcessAliases:
    triples = facts.timeline.table.triples
    if len(triples) == 0:
        return ProcessAliases({}, {}, ())

    def both(values: dict) -> np.ndarray:  # each triple's subject, then its object
        return np.column_stack([values["subject"], values["object"]]).ravel()

    # actors in order of first appearance, each with its name where it first appears
    is_actor = {role: np.isin(triples[f"{role}_kind"], list(ACTOR_KINDS)) for role in ("subject", "object")}
    actor = np.flatnonzero(both(is_actor))
    entity_of, entities = entity_codes(facts)
    codes, which = factorize(entity_of[actor])  # codes in first-appearance order among actors
    uniques = entities[which]
    first_at = np.full(len(uniques), len(actor), dtype=np.int64)
    np.minimum.at(first_at, codes, np.arange(len(actor)))
    at = actor[first_at]  # position in the (subject, object) sequence: triple * 2 + role
    subject_names = triples["subject_name"][at[at % 2 == 0] // 2]
    object_names = triples["object_name"][at[at % 2 == 1] // 2]
    names = np.empty(len(at), dtype=object)
    names[at % 2 == 0], names[at % 2 == 1] = subject_names, object_names
    names = names.tolist()
    kinds = np.empty(len(at), dtype=object)
    kinds[at % 2 == 0] = triples["subject_kind"][at[at % 2 == 0] // 2]
    kinds[at % 2 == 1] = triples["object_kind"][at[at % 2 == 1] // 2]
    kind_of_entity = dict(zip(uniques.tolist(), kinds.tolist()))
    first: dict[str, str] = dict(zip(uniques.tolist(), (str(name or "") for name in names)))
    per_name = Counter(first.values())
    aliased_at = [k for k, name in enumerate(first.values()) if not name or per_name[name] > 1]
    aliased = [uniques[k] for k in aliased_at]
    # numbered by first appearance in the log (report order), input order breaking ties
    positions = _first_positions(facts, aliased, which[aliased_at])
    aliased.sort(key=lambda i: positions.get(i, 1 << 62))
    alias_of = {ident: f"P{n}" for n, ident in enumerate(aliased, start=1)}
    kind_of = {i: str(kind_of_entity[i]) for i in aliased if kind_of_entity[i] != "process"}
    return ProcessAliases(alias_of, {i: first[i] for i in aliased}, tuple(aliased), positions, kind_of)


def _first_positions(facts: Facts, wanted: list[str], codes: np.ndarray) -> dict[str, int]:
    """Each wanted entity id's first log position (as subject or object), by id; ``codes``:
    their codes in ``entity_codes``. The first position of each triple, then the smallest
    over each entity's triples (no per-row lists: a host can have tens of thousands of
    aliased processes)."""
    if not wanted:
        return {}
    timeline = facts.timeline
    table = timeline.table.triples
    never = np.iinfo(np.int64).max
    first_of_triple = np.full(len(table), never, dtype=np.int64)
    np.minimum.at(first_of_triple, timeline.table.events["triple"], timeline.event_log.astype(np.int64))
    entity_of, entities = entity_codes(facts)
    first = np.full(len(entities), never, dtype=np.int64)
    np.minimum.at(first, entity_of, np.repeat(first_of_triple, 2))  # codes run subject, object per triple
    # looked up, never iterated: no need to sort tens of thousands of ids (0.11 s at 1M rows)
    return {ident: position for ident, position in zip(wanted, first[np.asarray(codes, dtype=np.int64)].tolist()) if position != never}


def _positions_of_entities(facts: Facts, wanted: list[str]) -> dict[str, dict[str, list[int]]]:
    """For each wanted entity id: the log positions it appears in, per role (sorted, no
    repeats). Vectorised, and over the events of the wanted entities' triples only: an
    alias can stand behind 100,000 rows, and a prompt lists a few dozen aliases."""
    wanted = list(dict.fromkeys(wanted))
    found: dict[str, dict[str, list[int]]] = {i: {"subject": [], "object": []} for i in wanted}
    if not wanted:
        return found
    timeline = facts.timeline
    triple_of_event = timeline.table.events["triple"]
    row_of_event = timeline.event_log.astype(np.int64)
    n_rows = max(len(timeline.log), 1)
    # each entity's index in ``wanted`` (-1: not wanted), read per triple through the
    # entities' codes: no lookup per triple
    entity_of, _ = entity_codes(facts)
    number = wanted_numbers(facts, wanted) - 1
    for side, role in enumerate(("subject", "object")):
        code_of_triple = number[entity_of[side::2]]
        if not (code_of_triple >= 0).any():
            continue
        code = code_of_triple[triple_of_event]
        hit = np.flatnonzero(code >= 0)
        code, rows = code[hit], row_of_event[hit]
        # distinct (entity, position) pairs as a mark per log position, a block of entities at
        # a time (no sort of a million pairs; at most _MARK_CELLS cells)
        block = max(1, _MARK_CELLS // n_rows)
        for start in range(0, len(wanted), block):
            stop = min(start + block, len(wanted))
            inside = (code >= start) & (code < stop)
            marks = np.zeros((stop - start, n_rows), dtype=bool)
            marks[code[inside] - start, rows[inside]] = True
            for k in range(start, stop):
                found[wanted[k]][role] = np.flatnonzero(marks[k - start]).tolist()
    return found


_MARK_CELLS = 1 << 25  # booleans a block of _positions_of_entities marks at most (32 MiB)


def capped_positions(ids, positions: list[int], limit: int) -> str:
    """``capped_ids`` of the log ids at ``positions`` (sorted, no repeats), without a string
    per row when the ids are ``L1``..``Ln`` (as ``condense`` numbers them)."""
    if len(ids) and ids[0] == "L1" and ids[-1] == f"L{len(ids)}":
        from .compress import number_ranges

        parts, total = number_ranges(np.asarray(positions, dtype=np.int64) + 1, limit)
        return ", ".join(parts + ([f"and {total - limit} more"] if total > limit else []))
    return capped_ids([ids[p] for p in positions], limit)


def capped_ids(ids: list[str], limit: int) -> str:
    """``L1-L3, L7`` style ranges, at most ``limit`` of them, then "and N more"."""
    from .compress import id_ranges

    parts, total = id_ranges(ids, limit) if ids else ([], 0)
    more = [f"and {total - limit} more"] if total > limit else []
    return ", ".join(parts + more)


def alias_lines(facts: Facts, aliases: ProcessAliases, limits: BlockLimits = FULL) -> list[dict]:
    """One record per alias for the prompt: name, first minute, the log rows it acts in."""
    if not aliases.order:
        return []
    from ..preprocess.condense import minute_text

    listed = list(aliases.order[: limits.aliases])
    # the rows of the most aliases any limits list, found once per facts
    kept = facts.derived("_alias_rows", dict)
    if kept.get("aliases") is not aliases or not set(listed) <= kept["rows"].keys():
        kept.update(aliases=aliases, rows=_positions_of_entities(facts, list(aliases.order[: max(MAX_ALIASES, len(listed))])))
    rows_of = kept["rows"]
    ids = facts.timeline.ids
    minutes = facts.timeline.log["minute"]
    records = []
    for ident in listed:
        rows = rows_of[ident]
        every = rows["subject"] + rows["object"]
        record: dict[str, object] = {"alias": aliases.alias_of[ident], "name": aliases.name_of[ident] or None}
        if every:
            record["first_minute"] = minute_text([minutes[min(every)]])[0]
        for role, key in (("subject", "acts_in"), ("object", "acted_on_in")):
            if rows[role]:
                record[key] = capped_positions(ids, rows[role], limits.row_refs)
        records.append(record)
    if len(aliases.order) > limits.aliases:
        records.append({"more_aliases_not_listed": len(aliases.order) - limits.aliases})
    return records


# --------------------------------------------------------------------------- glossary


def glossary(facts: Facts) -> list[dict]:
    """One record per event class in the log: its meaning and the (action on object kind)
    pairs of the log that belong to it."""
    classes = vocabulary().classes
    desc = facts.timeline.descriptions
    by_class: dict[str, list[str]] = {}
    for action, kind in sorted(set(zip(desc["action"].tolist(), desc["object_kind"].tolist()))):
        by_class.setdefault(event_class(action, kind), []).append(f"{action} on {kind}" if kind else action)
    return [
        {"class": cls, "meaning": classes.get(cls, "not in the event vocabulary"), "events": ", ".join(events)}
        for cls, events in sorted(by_class.items())
    ]


# --------------------------------------------------------------------------- host


def os_family(facts: Facts) -> tuple[str, str]:
    """(family, why): windows, freebsd, linux, linux or freebsd, or unknown."""
    desc = facts.timeline.descriptions
    kinds = set(desc["subject_kind"]) | set(desc["object_kind"])
    windows_kinds = sorted(kinds & _WINDOWS_KINDS)
    windows_names = [c.value for c in facts.candidates if _WINDOWS_NAME.search(c.value)]
    votes: Counter = Counter()
    for candidate in facts.candidates:
        entry = lookup(candidate.value, KB_KIND.get(candidate.kind, "file"))
        if entry is not None and entry.os and len(entry.os) < 3:
            votes[tuple(sorted(entry.os))] += 1
    if windows_kinds or len(windows_names) >= 2:
        why = []
        if windows_kinds:
            why.append(f"{', '.join(windows_kinds)} events")
        if windows_names:
            why.append(f"names such as {', '.join(windows_names[:3])}")
        return "windows", "; ".join(why)
    if votes[("freebsd",)]:
        named = [c.value for c in facts.candidates if (e := lookup(c.value, KB_KIND.get(c.kind, "file"))) and e.os == ("freebsd",)]
        return "freebsd", f"FreeBSD-only names: {', '.join(named[:3])}"
    freebsd_libs = [c.value for c in facts.candidates if re.search(r"\.so\.\d+$", c.value) and c.value.endswith((".so.7", ".so.5", ".so.8"))]
    linux_libs = [c.value for c in facts.candidates if c.value in ("libc.so.6", "ld-linux-x86-64.so.2", "libpthread.so.0")]
    if linux_libs and not freebsd_libs:
        return "linux", f"Linux libraries: {', '.join(linux_libs[:3])}"
    if freebsd_libs and not linux_libs:
        return "freebsd", f"FreeBSD library versions: {', '.join(freebsd_libs[:3])}"
    if votes[("freebsd", "linux")]:
        return "linux or freebsd", "Unix programs and files, no system-specific name"
    return "unknown", "no system-specific event or name"


def host_addresses(facts: Facts) -> tuple[list[str], str]:
    """The host's own address(es) as the flows show them, and how that was inferred."""
    triples = facts.timeline.table.triples
    flows = triples.take(triples["object_kind"] == "flow")
    local: Counter = Counter()
    for value in dict.fromkeys(str(v) for v in flows["object_value"].tolist()):
        if "->" in value:
            found = addresses(value.split("->")[0])
            local.update(found[:1])
    if len(local) == 1:
        return sorted(local), "the local side of every flow (local->remote)"
    is_inbound = np.fromiter((str(a).endswith("_INBOUND") for a in flows["action"].tolist()), dtype=bool, count=len(flows))
    outbound_names = set(flows["object_name"][~is_inbound].tolist())
    own = sorted({n for n in flows["object_name"][is_inbound].tolist() if n and n not in outbound_names})
    if len(own) == 1:
        return own, "the address of the inbound flows (OpTC records the receiving host's address on them)"
    return [], "not shown by the flows"


def host_context(facts: Facts) -> dict:
    family, why = os_family(facts)
    own, how = host_addresses(facts)
    return {
        "os_family": family,
        "os_evidence": why,
        "host_address": own[0] if len(own) == 1 else None,
        "host_address_basis": how,
        "internal_networks": [str(n) for n in getattr(facts, "internal_networks", ())] or "none declared",
        "timezone": facts.timeline.table.timezone,
    }


# --------------------------------------------------------------------------- hypotheses and knowledge


def hypotheses(facts: Facts, limits: BlockLimits = FULL) -> list[dict]:
    """The offline rules' stage findings, in kill-chain order, for the model to judge."""
    from ..models import APT_STAGES
    from ..rules.stages import find_stages  # computed once per facts (cached on them)

    found = sorted(find_stages(facts), key=lambda s: APT_STAGES.index(s.stage))
    records = []
    for item in found:
        record: dict[str, object] = {"stage": item.stage, "confidence": item.confidence}
        techniques = list(getattr(item, "techniques", ()) or ())
        if techniques:
            record["techniques"] = techniques
        record["evidence"] = capped_ids(list(item.evidence), limits.hypothesis_refs)
        record["rule_reason"] = shortened(item.rationale, limits.reason_chars)
        records.append(record)
    return records


def shortened(text: str, limit: int | None) -> str:
    """``text`` cut after its last sentence that ends within ``limit`` characters (a rule's
    reason lists one sentence per finding, so it grows with the input), saying how much
    was cut; a first sentence longer than ``limit`` is cut at a space."""
    if limit is None or len(text) <= limit:
        return text
    head = text[: limit + 1]
    spans = [(a, b) for a, b, _ in code_spans(text)] if "`" in text else []

    def inside(position: int) -> int | None:  # the start of the quoted name holding it
        return next((a for a, b in spans if a < position < b), None)

    end = head.rfind(". ")
    while end > 0 and inside(end) is not None:  # a ". " inside a quoted name ends no sentence
        end = head.rfind(". ", 0, end)
    if end > 0:
        kept = head[: end + 1]
    else:
        space = head.rfind(" ", 0, limit)
        cut = space if space > 0 else limit
        cut = inside(cut) if inside(cut) is not None else cut  # never half a quoted name
        kept = head[:cut].rstrip(",;: ") + " ..."
    return f"{kept} [{len(text) - len(kept)} more characters of the rule's reason not shown]"


def benign_mechanisms(candidates, facts: Facts) -> list:
    """For each candidate, the benign mechanism (``data/benign.yaml``) that explains its own
    name, or None (as the IoC table's context does): the first mechanism in file order that
    explains the candidate as the object of some process or as an actor. Each distinct
    (value, kind, paths) is judged once and kept with ``facts`` (the candidates'): the
    offline narrator asks for every table candidate more than once. The ones not yet
    judged are tested together over one rule table: each name and path once, not every
    mechanism's tests once per candidate."""
    from ..rules.benign import first_explaining, mechanisms

    known = facts.derived("_benign_mechanisms", dict)
    todo = [key for key in dict.fromkeys(map(_mechanism_key, candidates)) if key not in known]
    if todo:
        order = {id(m): n for n, m in enumerate(mechanisms())}
        from ..rules.stages import failing_conditions

        found = first_explaining([row for key in todo for row in _mechanism_rows(*key)], failing_conditions(facts))
        stems = _compiler_stems(facts)
        for n, key in enumerate(todo):
            # the first mechanism in file order that explains either of the candidate's rows
            either = [m for m in found[2 * n : 2 * n + 2] if m is not None]
            known[key] = min(either, key=lambda m: order[id(m)]) if either else None
            if known[key] is None and stems:
                known[key] = _compiler_output(key[0], stems)
    return [known[_mechanism_key(c)] for c in candidates]


def deletion_mechanisms(candidate: Candidate, facts: Facts) -> tuple:
    """For a candidate that deletes or renames files (``deletes-renames``), the benign
    mechanisms (``data/benign.yaml``, in file order) that explain every one of those events,
    as the Covering Tracks rule reads them; () when it deletes nothing or one of them is
    explained by none. A service host clearing its own caches is no sign; the rank's
    "deletes or renames files" is then taken back by the narrator."""
    if "deletes-renames" not in candidate.features:
        return ()
    return facts.derived("_deletion_mechanisms", lambda: _deletion_mechanisms(facts)).get(candidate.value, ())


def deletions_said(mechanisms) -> str:
    """``deletion_mechanisms`` in words, for the IoC's context."""
    return "the files it deletes or renames are all " + "; or ".join(m.says for m in mechanisms)


def _deletion_mechanisms(facts: Facts) -> dict[str, tuple]:
    """``deletion_mechanisms`` of every actor that deletes or renames, by name: the
    subgraph's deleting descriptions judged together over one rule table."""
    from ..preprocess.rank import DELETES, RENAMES
    from ..rules.benign import first_explaining, mechanisms
    from ..rules.patterns import Row

    descriptions = facts.timeline.descriptions
    chosen = np.flatnonzero(np.isin(descriptions["action"], list(DELETES | RENAMES)))
    if not len(chosen):
        return {}
    columns = ("subject_name", "action", "object_name", "subject_kind", "object_kind")
    paths = {c.value: tuple(c.full_values) for c in facts.candidates}  # as the stage rules' rows read them
    rows = [
        Row(subject, action, name, subject_kind, object_kind, paths.get(name) or ((name,) if name else ()))
        for subject, action, name, subject_kind, object_kind in zip(*(descriptions[c][chosen] for c in columns))
    ]
    by_actor: dict[str, set[int]] = {}  # the ids of the mechanisms explaining each actor's rows (None's too)
    from ..rules.stages import failing_conditions

    for row, mechanism in zip(rows, first_explaining(rows, failing_conditions(facts))):
        by_actor.setdefault(row.subject, set()).add(id(mechanism))
    return {
        actor: tuple(m for m in mechanisms() if id(m) in found)  # in file order
        for actor, found in by_actor.items()
        if id(None) not in found
    }


def _compiler_stems(facts: Facts) -> frozenset[str]:
    """``rules.structural.compiler_stems`` of the subgraph's object names, once per facts."""
    from ..rules.structural import compiler_stems

    return facts.derived("_compiler_stems", lambda: compiler_stems(dict.fromkeys(facts.timeline.table.triples["object_name"].tolist())))


def _compiler_output(value: str, stems: frozenset[str]):
    """The .NET compile mechanism for a file of one of ``stems`` (its library, symbols,
    output and temporary file: ``r2te1030.dll``, ``.out``, ``.tmp``), as the Covering Tracks
    rule reads them; None otherwise. Its own selections name only the command-line and error
    files: the siblings are known by the stem alone."""
    from ..rules.benign import mechanisms
    from ..rules.structural import compiler_temporary

    if not compiler_temporary(value, stems):
        return None
    return next((m for m in mechanisms() if m.id == "dotnet-compile-temp"), None)


def benign_mechanism(candidate: Candidate, facts: Facts):
    """``benign_mechanisms`` of one candidate."""
    return benign_mechanisms((candidate,), facts)[0]


def _mechanism_key(candidate: Candidate) -> tuple:
    return (candidate.value, candidate.kind, tuple(candidate.full_values[:5]))


def _mechanism_rows(value: str, kind: str, paths: tuple[str, ...]) -> list:
    """The candidate as the mechanisms read it: the object of some process, and an actor."""
    from ..rules.patterns import Row

    return [Row("", "", value, "process", kind, paths), Row(value, "", "", kind, "")]


def knowledge(facts: Facts, candidates: list[Candidate] | tuple[Candidate, ...], limit: int | None = None) -> list[dict]:
    """Knowledge-base text for the candidates (of ``facts``) it knows (what the entity
    normally is), the first ``limit`` of them in rank order, the rest counted."""
    listed: list[tuple[Candidate, object]] = []
    known = 0
    for candidate in candidates:
        entry = lookup(candidate.value, KB_KIND.get(candidate.kind, "file"))
        if entry is None:
            continue
        known += 1
        if limit is None or len(listed) < limit:
            listed.append((candidate, entry))
    records: list[dict] = []
    for (candidate, entry), mechanism in zip(listed, benign_mechanisms([c for c, _ in listed], facts)):
        record: dict[str, object] = {"ioc": candidate.value, "category": entry.category, "usage": entry.usage}
        if mechanism is not None:
            record["benign_context"] = mechanism.says
        elif deletions := deletion_mechanisms(candidate, facts):
            record["benign_context"] = deletions_said(deletions)
        records.append(record)
    if known > len(records):
        records.append({"more_known_candidates_not_listed": known - len(records)})
    return records


def _join_capped(items: list[str], limit: int) -> str:
    return join_words(items) if len(items) <= limit else join_words(items[:limit] + [f"{len(items) - limit} more"])


def join_words(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: a list in a sentence (empty for none)."""
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- all blocks

def blocks(facts: Facts, limits: BlockLimits = FULL) -> dict[str, list[dict]]:
    """Every prompt-v2 block for ``facts``: host, glossary, aliases, knowledge, hypotheses.
    Computed once per facts and limits (the prompt is rendered once per compression level),
    in a cache on the facts themselves: a batch builds several inputs' prompts at once."""
    by_limits: dict[BlockLimits, dict[str, list[dict]]] = facts.derived("_prompt_blocks", dict)
    cached = by_limits.get(limits)
    if cached is not None:
        return cached
    aliases = process_aliases(facts)
    shared = next(iter(by_limits.values()), None)  # host and glossary do not depend on the limits
    result = {
        "host": shared["host"] if shared else [host_context(facts)],
        "glossary": shared["glossary"] if shared else glossary(facts),
        "aliases": alias_lines(facts, aliases, limits) or [{"aliases": "none: every process in the log has a name of its own"}],
        "knowledge": knowledge(facts, facts.table_candidates, limits.knowledge)
        or [{"knowledge": "none of the listed candidates is in the knowledge base"}],
        "hypotheses": hypotheses(facts, limits) or [{"hypotheses": "none: no rule found evidence for an APT stage"}],
    }
    by_limits[limits] = result
    return result


# --------------------------------------------------------------------------- context rows

CONTEXT_SHARE = 0.25  # of the token budget, at most, for the --context block
MAX_CONTEXT_ENTITIES = 10  # missed entities named per IoC in the block


@dataclass(frozen=True)
class ContextBlock:
    """The ``--context`` rows chosen for a prompt, as plain values, and what was left out."""

    items: list[dict]
    shown: list[str]  # context row ids in the block
    left_out: int
    notes: list[str] = field(default_factory=list)


def context_block(context, count, budget: int | None) -> ContextBlock:
    """The context block of a report's ``ContextInfo``: one line per top IoC (its counts and
    the neighbours the subgraph does not name), then its rows, chosen in turn across the
    IoCs (best-ranked first) until ``budget`` tokens are spent, in id order, and a line
    counting what was left out per IoC. ``budget`` None: every row."""
    rows = {row.id: row for row in context.rows}
    sections = sorted(context.sections, key=lambda s: s.rank)
    heads = [
        {
            "ioc": s.ioc, "type": s.type, "rank": s.rank,
            "rows_before": s.before, "rows_during": s.during, "rows_after": s.after, "rows_in_subgraph": s.in_subgraph,
            "missed_entities": s.missed_entities[:MAX_CONTEXT_ENTITIES],
            **({"more_missed_entities": len(s.missed_entities) - MAX_CONTEXT_ENTITIES} if len(s.missed_entities) > MAX_CONTEXT_ENTITIES else {}),
        }
        for s in sections
    ]
    from .prompt import data_line  # the one serialiser of prompt data

    spent = sum(count.count(data_line(h)) + 1 for h in heads)
    queues = [[r for r in s.rows if r in rows] for s in sections]
    chosen: dict[str, dict] = {}
    reserve = 64  # for the line counting what is left out
    position = [0] * len(queues)
    full = budget is None
    while any(position[i] < len(q) for i, q in enumerate(queues)) and not full:
        for i, queue in enumerate(queues):  # one row per IoC in turn: each keeps a share
            while position[i] < len(queue) and queue[position[i]] in chosen:
                position[i] += 1
            if position[i] >= len(queue):
                continue
            row = rows[queue[position[i]]]
            item = {"id": row.id, "minute": row.minute, "when": row.when, "event": row.text, "count": row.count}
            cost = count.count(data_line(item)) + 1
            if budget is not None and spent + cost + reserve > budget:
                full = True
                break
            chosen[row.id] = item
            spent += cost
            position[i] += 1
    if budget is None:
        chosen = {r.id: {"id": r.id, "minute": r.minute, "when": r.when, "event": r.text, "count": r.count} for r in context.rows}
    ordered = [chosen[r.id] for r in context.rows if r.id in chosen]
    left_out = len(rows) - len(ordered)
    items = heads + ordered
    notes = []
    if left_out:
        per_ioc = {s.ioc: sum(1 for r in s.rows if r in rows and r not in chosen) for s in sections}
        items.append({"left_out_context_rows": left_out, "per_ioc": {k: v for k, v in per_ioc.items() if v},
                      "note": "context rows not shown (token budget); cite only the ids listed"})
        notes.append(f"context: {len(ordered)} of {len(rows)} context rows shown (token budget share {CONTEXT_SHARE:.0%})")
    return ContextBlock(items=items, shown=[item["id"] for item in ordered], left_out=left_out, notes=notes)
