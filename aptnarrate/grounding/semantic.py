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
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .. import compute as pc
from ..data import load_data_yaml
from ..preprocess.condense import numbered_ids
from ..preprocess.knowledge import lookup
from ..rules.events import UNKNOWN, event_class, vocabulary

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts
    from .ground import GroundingIssue, Vocabulary
    from ..models import StageClaim

PERSISTENCE_LOCATION = "persistence_location"
COVERING_TOOL = "covering_tool"  # a tool whose running erases traces (a secure delete)
SYSTEM_PROGRAM = "system_program"  # a system tool, written over: replaced by another program
LOGGING_TOOL = "logging_tool"  # a row by (or starting) a tool that changes what the host records (auditpol)
TIMESTAMP_TOOL = "timestamp_tool"  # a row by the tool that sets a file's times (touch)
LOG_OVERWRITE = "log_overwrite"  # a log or login record written over by a shell or secure-delete tool
PLANTED_LIBRARY = "planted_library"  # a system library's name written by a shell or admin tool
WEB_SCRIPT = "web_script"  # a server-side script a web server, or what it started, wrote (a web shell)
SHELL_COPY = "shell_copy"  # a command shell's program read by a local copy tool (a setuid shell made)
STARTUP_SHORTCUT = "startup_shortcut"  # a shortcut the logon shell reads (its start-up folder's)
SECURITY_SETTING = "security_setting"  # a security product's own protection settings key (Defender's)
REMOTE_SHARE = "remote_share"  # a file on another host's administrative share (\\HOST\ADMIN$\...)
LOG_CATEGORIES = frozenset({"log file", "login records"})  # the knowledge base's categories LOG_OVERWRITE reads
_STARTS = frozenset({"process_start", "execute"})  # event classes that start their object
CONDITIONS = (PERSISTENCE_LOCATION, COVERING_TOOL, SYSTEM_PROGRAM, LOGGING_TOOL, TIMESTAMP_TOOL, LOG_OVERWRITE, PLANTED_LIBRARY, WEB_SCRIPT, SHELL_COPY, STARTUP_SHORTCUT, SECURITY_SETTING, REMOTE_SHARE)


class SupportTableError(ValueError):
    """The stage-support table is malformed (names the stage and entry)."""


@dataclass(frozen=True)
class SupportTable:
    supports: dict[str, tuple[tuple[str, str | None], ...]]  # stage -> (class, condition)
    story: dict[str, tuple[str, ...]]  # stage -> classes its summary sentence narrates, in order
    persistence_names: frozenset[str]
    persistence_paths: re.Pattern
    persistence_writers: frozenset[str]
    persistence_suffixes: tuple[str, ...] = ()
    persistence_hosts: frozenset[str] = frozenset()
    persistence_keys: frozenset[str] = frozenset()  # registry keys, by their last component
    covering_tools: frozenset[str] = frozenset()
    system_program_categories: frozenset[str] = frozenset()
    logging_tools: frozenset[str] = frozenset()
    log_clearing_hosts: frozenset[str] = frozenset()
    timestamp_tools: frozenset[str] = frozenset()
    log_overwriter_categories: frozenset[str] = frozenset()
    shell_histories: frozenset[str] = frozenset()
    planted_library_categories: frozenset[str] = frozenset()
    library_planter_categories: frozenset[str] = frozenset()
    web_script_suffixes: tuple[str, ...] = ()
    logon_shells: frozenset[str] = frozenset()
    shortcut_suffixes: tuple[str, ...] = ()
    security_setting_keys: frozenset[str] = frozenset()  # registry keys, by their last component
    remote_share_paths: re.Pattern = re.compile(r"(?!)")  # a path on another host's administrative share

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
    shares = [str(p) for p in (raw.get("remote_shares") or {}).get("paths") or []]
    try:
        share_paths = re.compile("|".join(f"(?:{p})" for p in shares) or r"(?!)", re.IGNORECASE)
    except re.error as exc:
        raise SupportTableError(f"{source}: remote_shares.paths: {exc}") from None
    return SupportTable(
        supports=supports,
        story=story,
        persistence_names=frozenset(str(n).casefold() for n in locations.get("names") or []),
        persistence_paths=paths,
        persistence_writers=frozenset(str(n).casefold() for n in locations.get("writers") or []),
        persistence_suffixes=tuple(str(n).casefold() for n in locations.get("suffixes") or []),
        persistence_hosts=frozenset(str(n).casefold() for n in locations.get("hosts") or []),
        persistence_keys=frozenset(str(n).casefold() for n in locations.get("registry_keys") or []),
        covering_tools=frozenset(str(n).casefold() for n in (raw.get("covering_tools") or {}).get("names") or []),
        system_program_categories=frozenset(str(c) for c in (raw.get("system_programs") or {}).get("categories") or []),
        logging_tools=frozenset(str(n).casefold() for n in (raw.get("logging_tools") or {}).get("names") or []),
        log_clearing_hosts=frozenset(str(n).casefold() for n in (raw.get("logging_tools") or {}).get("clearing_hosts") or []),
        timestamp_tools=frozenset(str(n).casefold() for n in (raw.get("timestamp_tools") or {}).get("names") or []),
        log_overwriter_categories=frozenset(str(c) for c in (raw.get("log_overwrites") or {}).get("writer_categories") or []),
        shell_histories=frozenset(str(n).casefold() for n in (raw.get("log_overwrites") or {}).get("shell_histories") or []),
        planted_library_categories=frozenset(str(c) for c in (raw.get("planted_libraries") or {}).get("library_categories") or []),
        library_planter_categories=frozenset(str(c) for c in (raw.get("planted_libraries") or {}).get("writer_categories") or []),
        web_script_suffixes=tuple(str(n).casefold() for n in (raw.get("web_scripts") or {}).get("suffixes") or []),
        logon_shells=frozenset(str(n).casefold() for n in (raw.get("startup_shortcuts") or {}).get("logon_shells") or []),
        shortcut_suffixes=tuple(str(n).casefold() for n in (raw.get("startup_shortcuts") or {}).get("suffixes") or []),
        security_setting_keys=frozenset(str(n).casefold() for n in (raw.get("security_settings") or {}).get("registry_keys") or []),
        remote_share_paths=share_paths,
    )


@lru_cache(maxsize=1)
def support_table() -> SupportTable:
    return parse_support_table(load_data_yaml("stage_support.yaml"))


# --------------------------------------------------------------------------- rows


def row_events(facts: Facts, ids: list[str] | tuple[str, ...]) -> list[RowEvent]:
    """The log rows ``ids`` (ids that are not log rows are skipped), in the order given."""
    return [row_event(facts, position) for position in log_positions(facts, ids).tolist()]


def row_event(facts: Facts, position: int) -> RowEvent:
    """The log row at ``position``."""
    table = row_table(facts)
    event = description_event(facts, int(table.log_description[position]))
    # built field by field: ``dataclasses.replace`` re-reads the fields' definitions on
    # every call (half a second of a summary citing 60,000 rows)
    return RowEvent(
        id=table.ids[position],
        position=position,
        minute=int(table.log_minute[position]),
        subject_kind=event.subject_kind,
        subject_name=event.subject_name,
        action=event.action,
        object_kind=event.object_kind,
        object_name=event.object_name,
        event_class=event.event_class,
        description=event.description,
    )


def description_event(facts: Facts, code: int) -> RowEvent:
    """The event of description ``code`` (row of ``timeline.descriptions``) as the semantic
    check reads it: what it judges is the same for every log row of one description, so
    it is built once per description (no id, position or minute of its own)."""
    table = row_table(facts)
    event = table.events.get(code)
    if event is None:
        event = table.events[code] = RowEvent(
            id="",
            position=-1,
            minute=0,
            subject_kind=table.subject_kind[code],
            subject_name=table.subject_name[code],
            action=table.action[code],
            object_kind=table.object_kind[code],
            object_name=table.object_name[code],
            event_class=table.event_class[code],
            description=code,
        )
    return event


def log_positions(facts: Facts, ids) -> np.ndarray:
    """The positions of the log rows ``ids`` (ids that are not log rows are skipped), in
    the order given. A log row's id is ``L<position + 1>``: one vectorised parse of all
    ids, no work per row in Python (a stage may cite 100,000 rows)."""
    table = row_table(facts)
    if not len(ids):
        return np.empty(0, dtype=np.int64)
    if table.canonical_ids and len(ids) > _FEW_IDS:
        try:
            written = pa.array(ids, type=pa.string())
        except (pa.ArrowException, TypeError):  # not all strings: judged one by one below
            written = None
        if written is not None and not written.null_count:
            # exactly the ids ``L1``..``L<n>`` as written (no sign, leading zero or
            # non-ASCII digit), so the parsed position's id is the id given
            valid = pc.fill_null(pc.match_substring_regex(written, _LOG_ID), False)
            numbers = pc.cast(pc.utf8_slice_codeunits(pc.filter(written, valid), 1), pa.int64())
            positions = numbers.to_numpy(zero_copy_only=False).astype(np.int64, copy=False) - 1
            return positions[positions < len(table.ids)]
    found = []
    for ident in ids:
        position = _position(ident, len(table.ids))
        if position is not None and table.ids[position] == ident:
            found.append(position)
    return np.asarray(found, dtype=np.int64)


_LOG_ID = r"^L[1-9][0-9]{0,17}$"
_FEW_IDS = 64  # fewer ids (a model's claim) are cheaper to check one by one


def distinct_descriptions(facts: Facts, positions: np.ndarray) -> list[int]:
    """The descriptions of the log rows at ``positions``, each once, first seen first."""
    from ..arrays import in_order_distinct

    return in_order_distinct(row_table(facts).log_description[positions]).tolist()


@dataclass(frozen=True)
class RowTable:
    """Per-description fields and per-row codes as plain arrays, built once per facts."""

    ids: np.ndarray  # log id of each position (object array)
    canonical_ids: bool  # ids are "L1".."L<n>" in order (as condense numbers them)
    log_description: np.ndarray  # description of each position
    log_minute: np.ndarray  # wall-clock ns of each position's minute
    subject_kind: list
    subject_name: list
    action: list
    object_kind: list
    object_name: list
    event_class: list
    events: dict = field(default_factory=dict)  # description -> RowEvent (description_event)


def row_table(facts: Facts) -> RowTable:
    return facts.derived("_semantic_row_table", lambda: _row_table(facts))


def _row_table(facts: Facts) -> RowTable:
    timeline = facts.timeline
    desc = timeline.descriptions
    columns = {c: [str(v) for v in desc[c].tolist()] for c in ("subject_kind", "subject_name", "action", "object_kind", "object_name")}
    ids = timeline.ids
    n = len(ids)
    canonical = _numbered_in_order(timeline.log.arrow("id")) if n else True  # Arrow: no copy of the strings
    return RowTable(
        ids=ids,
        canonical_ids=canonical,
        log_description=timeline.log["description"].astype(np.int64, copy=False),
        log_minute=timeline.log["minute"].astype(np.int64, copy=False),
        event_class=_event_classes(columns["action"], columns["object_kind"]),
        **columns,
    )


def _numbered_in_order(ids: pa.Array) -> bool:
    """Whether ``ids`` are exactly "L1".."L<n>", in order (as condense numbers them)."""
    expected = numbered_ids(len(ids))
    return pc.cast(ids, expected.type).equals(expected)


def _event_classes(actions: list[str], kinds: list[str]) -> list[str]:
    """``event_class`` of each (action, object kind), looked up once per distinct pair (a
    log's thousands of descriptions repeat a few dozen)."""
    known: dict[tuple[str, str], str] = {}
    return [known[pair] if pair in known else known.setdefault(pair, event_class(*pair)) for pair in zip(actions, kinds)]


def _position(ident: str, n: int) -> int | None:
    # isdecimal, not isdigit: int() refuses digits such as "\u00b9" that isdigit accepts
    if not ident.startswith("L") or not ident[1:].isdecimal():
        return None
    position = int(ident[1:]) - 1
    return position if 0 <= position < n else None


def is_persistence_location(row: RowEvent, facts: Facts, table: SupportTable | None = None) -> bool:
    """The row touches a persistence mechanism: it writes a persistence location, its
    subject is a persistence tool (its writes) or a persistence host (WMI's script
    consumer starting a program: a subscription firing), or it starts one of them."""
    table = table or support_table()
    subject = row.subject_name.casefold()
    if subject in table.persistence_writers or subject in table.persistence_hosts:
        return True
    name = row.object_name
    if not name:
        return False
    folded = name.casefold()
    if folded in table.persistence_names or folded.endswith(table.persistence_suffixes):
        return True
    if row.object_kind == "registry" and folded.rsplit("\\", 1)[-1] in table.persistence_keys:
        return True
    if row.event_class in _STARTS and (folded in table.persistence_writers or folded in table.persistence_hosts):
        return True
    entry = lookup(name, "registry" if row.object_kind == "registry" else "file")
    if entry is not None and entry.category == "persistence location":
        return True
    candidate = facts.candidate(name)
    values = candidate.full_values if candidate is not None else [name]
    if any(table.persistence_paths.search(v) for v in values):
        return True
    # a file the log shows acting as one: planted configuration that a daemon read before
    # running the program planted with it (a udev rule, a logrotate hook); a saved report's
    # IoCs (``_SavedIoCs``) come with no log to read it from
    if getattr(facts, "derived", None) is None:
        return False
    from ..rules.structural import triggered_configurations

    return folded in triggered_configurations(facts)


def supports(stage: str, row: RowEvent, facts: Facts, table: SupportTable | None = None) -> bool:
    table = table or support_table()
    for cls, condition in table.supports.get(stage, ()):
        if row.event_class != cls:
            continue
        if condition is None or _meets(condition, row, facts, table):
            return True
    return False


def _meets(condition: str, row: RowEvent, facts: Facts, table: SupportTable) -> bool:
    if condition == PERSISTENCE_LOCATION:
        return is_persistence_location(row, facts, table)
    if condition == COVERING_TOOL:
        return row.object_name.casefold() in table.covering_tools
    if condition == SYSTEM_PROGRAM:
        return is_system_program(row.object_name, table)
    if condition == LOGGING_TOOL:
        if row.event_class in _STARTS:  # the tool started (wevtutil cl runs; the service clears)
            return row.object_name.casefold() in table.logging_tools
        # (or PowerShell's Clear-EventLog, WMIC's cleareventlog: their write of an event log)
        if row.subject_name.casefold() in table.log_clearing_hosts and row.object_name.casefold().endswith(".evtx"):
            return True
        return row.subject_name.casefold() in table.logging_tools
    if condition == TIMESTAMP_TOOL:
        return row.subject_name.casefold() in table.timestamp_tools
    if condition == LOG_OVERWRITE:
        return is_log_overwrite(row.subject_name, row.object_name, table)
    if condition == PLANTED_LIBRARY:
        return is_planted_library(row.subject_name, row.object_name, table)
    if condition == WEB_SCRIPT:
        if is_web_script_written(row.subject_name, row.object_name, table):
            return True
        # or a page a tool a web server started wrote (IIS's cmd saving an .aspx), as the log
        # shows it (a saved report's IoCs come with no log to read it from)
        if not is_web_script(row.object_name, table) or getattr(facts, "derived", None) is None:
            return False
        from ..rules.structural import planted_server_page_pairs

        return (row.subject_name, row.object_name) in planted_server_page_pairs(facts)
    if condition == SHELL_COPY:
        return is_shell_copied(row.subject_name, row.object_name)
    if condition == STARTUP_SHORTCUT:
        return is_startup_shortcut_read(row.subject_name, row.object_name, table)
    if condition == SECURITY_SETTING:
        return row.object_name.rsplit("\\", 1)[-1].casefold() in table.security_setting_keys
    if condition == REMOTE_SHARE:
        candidate = facts.candidate(row.object_name) if row.object_name else None
        values = candidate.full_values if candidate is not None else [row.object_name]
        return any(table.remote_share_paths.search(v) for v in values)
    return False


def is_startup_shortcut_read(reader: str, name: str, table: SupportTable | None = None) -> bool:
    """Whether ``reader`` reading ``name`` is the logon shell reading a shortcut
    (``startup_shortcuts``: Explorer reading a .lnk, as it runs its start-up folder's)."""
    table = table or support_table()
    return bool(name) and reader.casefold() in table.logon_shells and name.casefold().endswith(table.shortcut_suffixes)


def is_shell_copied(copier: str, source: str) -> bool:
    """Whether ``copier`` reading ``source`` is a local copy tool (``local_copiers``: cp)
    reading a Unix command shell's program (bash): the first step of a setuid shell left
    behind (T1548.001)."""
    from ..rules.lineage import local_copier

    return bool(source) and getattr(lookup(source, "process"), "category", None) == "shell" and not source.casefold().endswith(".exe") and local_copier(copier)


def is_system_program(name: str, table: SupportTable | None = None) -> bool:
    """Whether ``name`` is one of the system's own programs (``system_programs``: a file the
    knowledge base files as a discovery tool, system utility, network tool, shell or
    privilege tool), which another program written in its place replaces."""
    table = table or support_table()
    return bool(name) and getattr(lookup(name, "file"), "category", None) in table.system_program_categories


def is_web_script(name: str, table: SupportTable | None = None) -> bool:
    """Whether ``name`` is a server-side script by its suffix (``web_scripts``: a site's
    ``Default.aspx``, a CMS's ``index.php``): a site's code."""
    table = table or support_table()
    return bool(name) and name.casefold().endswith(table.web_script_suffixes)


def is_web_script_written(writer: str, name: str, table: SupportTable | None = None) -> bool:
    """Whether ``writer`` writing ``name`` is a web server that runs a site's scripts saving a
    server-side script (``web_scripts``: apache2 writing thumb.php)."""
    from ..rules.lineage import script_web_server

    table = table or support_table()
    return bool(name) and name.casefold().endswith(table.web_script_suffixes) and script_web_server(writer)


def is_planted_library(writer: str, library: str, table: SupportTable | None = None) -> bool:
    """Whether ``writer`` writing ``library`` plants a library under a system library's name
    (``planted_libraries``: a shell writing version.dll)."""
    table = table or support_table()
    if not library or getattr(lookup(library, "module"), "category", None) not in table.planted_library_categories:
        return False
    return getattr(lookup(writer, "process"), "category", None) in table.library_planter_categories


def is_log_overwrite(subject: str, target: str, table: SupportTable | None = None) -> bool:
    """Whether ``subject`` writing ``target`` writes over a log or the login records (the
    knowledge base's ``log file`` and ``login records``): a secure-delete tool
    (``covering_tools``) doing it, or a shell (``writer_categories``) other than on a shell's
    own history."""
    table = table or support_table()
    folded = target.casefold()
    if not folded:
        return False
    if getattr(lookup(target, "file"), "category", None) not in LOG_CATEGORIES:
        return False
    if subject.casefold() in table.covering_tools:
        return True
    return folded not in table.shell_histories and getattr(lookup(subject, "process"), "category", None) in table.log_overwriter_categories


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


def unsupported_reason(stage: str, evidence: list[str], facts: Facts, context_rows=(), positions: np.ndarray | None = None) -> str | None:
    """Why the rows ``evidence`` cannot support ``stage``, or None when one of them can (or
    when a row's action is unknown to the vocabulary, so its class cannot be judged).
    ``context_rows``: the cited rows of the host's wider log (``ContextRow``), judged alike.
    ``positions``: ``log_positions(facts, evidence)`` when the caller has read them."""
    # the verdict reads each row's event only: judged once per description, in the order
    # the rows first show each one (the reason lists their classes in that order)
    codes = distinct_descriptions(facts, positions if positions is not None else log_positions(facts, evidence))
    rows = [description_event(facts, code) for code in codes] + context_row_events(context_rows)
    return _verdict(stage, rows, facts)


def rows_unsupported_reason(stage: str, rows, iocs=()) -> str | None:
    """``unsupported_reason`` for rows already condensed (a saved report's, ``ask``'s: items
    with ``id``, the sides' kinds and names and ``action``), where there are no facts: a
    name's full paths, which may show a persistence location, are those of ``iocs`` (a
    report's ``IoCEntry`` items)."""
    return _verdict(stage, context_row_events(rows), _SavedIoCs(iocs))


def _verdict(stage: str, rows: list[RowEvent], facts) -> str | None:
    """Why ``rows`` cannot support ``stage``, or None (see ``unsupported_reason``); ``facts``
    is read only for a candidate's full values (``is_persistence_location``)."""
    table = support_table()
    if not rows or any(r.event_class == UNKNOWN for r in rows):
        return None
    if any(supports(stage, r, facts, table) for r in rows):
        return None
    needed = ", ".join(_describe(cls, cond) for cls, cond in table.supports.get(stage, ()))
    held = ", ".join(dict.fromkeys(r.event_class for r in rows))
    return f"the cited rows hold no event that can support this stage (it needs one of: {needed}; they hold: {held})"


class _SavedIoCs:
    """A saved report's IoCs where ``is_persistence_location`` reads a candidate's full
    values from the facts (``Facts.candidate``: exact name first, then any case)."""

    def __init__(self, iocs) -> None:
        self._iocs = list(iocs)

    def candidate(self, name: str):
        folded = name.casefold()
        exact = next((i for i in self._iocs if i.value == name), None)
        return exact or next((i for i in self._iocs if i.value.casefold() == folded), None)


_CONDITION_WORDS = {PERSISTENCE_LOCATION: "to a persistence location", COVERING_TOOL: "of a tool that erases traces", SYSTEM_PROGRAM: "over a system program", LOGGING_TOOL: "by a tool that changes what the host records", TIMESTAMP_TOOL: "by a tool that sets a file's times", LOG_OVERWRITE: "over a log by a shell or a tool that erases traces", PLANTED_LIBRARY: "of a system library's name by a shell or admin tool", WEB_SCRIPT: "of a server-side script by a web server or what it started", SHELL_COPY: "of a command shell's program by a copy tool", STARTUP_SHORTCUT: "of a shortcut by the logon shell", SECURITY_SETTING: "to a security product's protection settings", REMOTE_SHARE: "to another host's administrative share"}


def _describe(cls: str, condition: str | None) -> str:
    return cls if condition is None else f"{cls} {_CONDITION_WORDS[condition]}"


def screen(stages: list[StageClaim], vocab: Vocabulary, issues: list[GroundingIssue], positions_of: list | None = None) -> list[StageClaim]:
    """``stages`` without the claims whose cited rows cannot support them; one issue each.
    ``positions_of``: each claim's ``log_positions`` of its evidence, or None, when read."""
    from .ground import GroundingIssue

    kept = []
    for number, claim in enumerate(stages):
        cited_context = [vocab.context_rows[e] for e in claim.evidence if e in vocab.context_rows] if vocab.context_rows else []
        positions = positions_of[number] if positions_of is not None else None
        reason = unsupported_reason(claim.stage, list(claim.evidence), vocab.facts, cited_context, positions)
        if reason is None:
            kept.append(claim)
        else:
            issues.append(GroundingIssue("stage", claim.stage, reason))
    return kept
