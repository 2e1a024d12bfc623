"""Pattern rules as data: a small engine over YAML files in the spirit of Sigma and capa.

A rule matches single log rows (a distinct subject, action, object). ``match`` is a list of
selections, any of which may match; a selection is a mapping of fields, all of which must
match; ``filter`` selections remove rows. Fields:

* ``event`` (classes from ``events.yaml``), ``action``, ``subject``, ``object``,
  ``subject_kind``, ``object_kind``, ``object_path`` (any full value behind the object),
  ``subject_category`` / ``object_category`` (the knowledge base's category for the name);
* optional modifiers after ``|``: ``contains``, ``startswith``, ``endswith``, ``re``
  (default: equal); all comparisons ignore case;
* ``object_is_subject: true|false``: whether the object has the subject's own name.

The engine names no technique, dataset or host: the rule files do. Names from the log are
only compared; a ``re`` pattern comes from the rule file, never from the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import chain, repeat
from operator import attrgetter, itemgetter, methodcaller
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

import numpy as np

from ..arrays import distinct
from ..data import data_file, load_data_yaml, parse_yaml
from ..errors import UsageError
from ..preprocess.knowledge import lookup
from ..labels import APT_STAGES, LEVELS, Level, Stage
from .events import event_class

FIELDS = ("event", "action", "subject", "object", "subject_kind", "object_kind", "object_path", "subject_category", "object_category")
MODIFIERS = ("equals", "contains", "startswith", "endswith", "re")
_MAX_VALUE = 4096  # names longer than this are compared only by their first 4 KiB


class RuleFileError(UsageError):
    """A rule file is malformed; the message names the file, the rule and the field."""


@dataclass(frozen=True, kw_only=True)
class Example:
    subject: str = ""
    action: str
    object_kind: str = "file"
    object: str = ""
    subject_kind: str = "process"
    object_path: str = ""


@dataclass(frozen=True)
class Examples:
    positive: list[Example]
    negative: list[Example]


@dataclass(frozen=True, kw_only=True)
class PatternRule:
    """One rule of a rule file, checked field by field (``from_mapping``). A plain
    dataclass, not a pydantic model: ``inspect`` scores candidates with the rules, and
    loading pydantic and building the models cost it about 0.2 s of a 2 s run."""

    id: str
    title: str
    stage: Stage | None
    tactic: str
    techniques: list[str]
    confidence: Level
    explanation: str
    benign: str = ""
    match: list[dict[str, Any]]
    filter: list[dict[str, Any]] = field(default_factory=list)
    examples: Examples
    # "attack chain": a row counts for the stage only when its subject is a process the log
    # shows in an attack chain (``rules/lineage.py``), and it still ranks IoCs without;
    # "acting for an attacker": in one, or running PowerShell inside it, and it gives the
    # rank nothing (``rank.ranks``: it matches what its ungated twin trusts)
    lineage: str | None = None
    # "connection from another host": the stage is claimed only when the subgraph also shows
    # an inbound connection from another host (cited with it); "public connection by its
    # process": only when a process of a matched row also sends to a public address (cited
    # with it); without, it still ranks IoCs
    needs: str | None = None
    # "process list": a row of a process opening another counts neither for the stage nor
    # for the rank when its process opens at least PROCESS_LIST_MIN distinct processes in
    # the subgraph (Task Manager and other process lists open every running process, LSASS
    # among them); for the stage it still counts when that process acts for an attacker.
    # "run against another host": a start of a tool that the subgraph shows talking over the
    # network (schtasks /S, sc \\host) changes that host, not this one. "planted for a
    # privileged run": a write by a process that starts a privileged program (su, pkexec)
    # in that minute or the next (an exploit's preload list for that one run; the stage
    # rules weigh it, the rank does not). One value or a list.
    unless: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, item: Any) -> PatternRule:
        """The rule a file's mapping describes; ``RuleFieldError`` names the first field
        that is missing, unknown or of the wrong form."""
        _known(item, _RULE_FIELDS, "")
        tactic = _text(item, "tactic")
        if not _TACTIC.fullmatch(tactic):
            raise RuleFieldError("tactic", f"{tactic!r} is not an ATT&CK tactic id such as TA0002")
        stage = _required(item, "stage")
        if stage is not None and stage not in APT_STAGES:
            raise RuleFieldError("stage", f"expected null or one of {', '.join(APT_STAGES)}")
        confidence = _required(item, "confidence")
        if confidence not in LEVELS:
            raise RuleFieldError("confidence", f"expected one of {', '.join(LEVELS)}")
        techniques = _texts(item, "techniques")
        for technique in techniques:
            if not _TECHNIQUE.fullmatch(technique):
                raise RuleFieldError("techniques", f"{technique!r} is not an ATT&CK technique id such as T1059 or T1059.001")
        selections = {}
        for name in ("match", "filter"):
            value = _list(item, name, required=name == "match")
            if name == "match" and not value:
                raise RuleFieldError(name, "expected at least one selection")
            try:
                selections[name] = cls._selections(value)
            except ValueError as exc:
                raise RuleFieldError(name, str(exc)) from None
        examples = _required(item, "examples")
        _known(examples, ("positive", "negative"), "examples.")
        sides = {}
        for side in ("positive", "negative"):
            listed = _list(examples, side, required=True, where="examples.")
            if not listed:
                raise RuleFieldError(f"examples.{side}", "expected at least one example")
            sides[side] = [_example(one, f"examples.{side}.{number}.") for number, one in enumerate(listed)]
        return cls(
            id=_text(item, "id"),
            title=_text(item, "title"),
            stage=stage,
            tactic=tactic,
            techniques=techniques,
            confidence=confidence,
            explanation=_text(item, "explanation"),
            benign=_text(item, "benign", default=""),
            match=selections["match"],
            filter=selections["filter"],
            examples=Examples(**sides),
            lineage=_lineage(item),
            needs=_needs(item),
            unless=_unless(item),
        )

    @classmethod
    def _selections(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for selection in value:
            if not isinstance(selection, dict) or not selection:
                raise ValueError("each selection must be a non-empty mapping of fields")
            for key, expected in selection.items():
                if not isinstance(key, str):
                    raise ValueError(f"field names are text; got {key!r}")
                if key == "object_is_subject":
                    if not isinstance(expected, bool):
                        raise ValueError("object_is_subject must be true or false")
                    continue
                name, _, modifier = key.partition("|")
                if name not in FIELDS:
                    raise ValueError(f"unknown field {name!r}; expected one of {', '.join(FIELDS)}")
                if modifier and modifier not in MODIFIERS:
                    raise ValueError(f"unknown modifier {modifier!r} on {name!r}; expected one of {', '.join(MODIFIERS)}")
                values = expected if isinstance(expected, list) else [expected]
                if not all(isinstance(v, (str, int, float)) for v in values):  # bool is an int
                    raise ValueError(f"{key}: expected a value or a list of values (text or numbers)")
                if modifier == "re":
                    for pattern in values:
                        try:
                            re.compile(str(pattern))
                        except re.error as exc:
                            raise ValueError(f"{name}|re: {pattern!r} is not a regular expression: {exc}") from None
        return [dict(selection) for selection in value]


_RULE_FIELDS = ("id", "title", "stage", "tactic", "techniques", "confidence", "explanation", "benign", "match", "filter", "examples", "lineage", "needs", "unless")
LINEAGES = ("attack chain", "acting for an attacker")
NEEDS = ("connection from another host", "public connection by its process")
UNLESS = (
    "process list", "removed in the subgraph", "run as a program", "run against another host", "dumps another process", "run only to remove",
    "planted for a privileged run", "restored from its backup", "written through a memory race", "injects only at its own privilege",
    "carries only a staged upload", "applied by Group Policy", "connects for a remote step", "made in the account console",
    "changes an account", "finds the process it dumps", "records a registration", "starts no shell", "checks its own elevation",
    "queued to run once",
)
# ("planted for a privileged run" and "applied by Group Policy" read the log's minutes,
# "carries only a staged upload" the Command and Control rule's channels, "connects for a
# remote step" the remote tools' hosts, "injects only at its own privilege" the processes
# the injector opened: only the stage rules weigh them; a row alone cannot tell, so
# ``unless_applies``, the IoC rank's, passes them over: ``VIEW_UNLESS``)

# what removes a task or service: one the subgraph creates and removes again ran a command
# once (PsExec's service, a remote one-shot task), and survives no reboot
REMOVALS = {"task": "task_delete", "service": "service_delete"}


def removed_objects(rows: Iterable[Row]) -> set[tuple[str, str]]:
    """The (object kind, case-folded name) of the tasks, services and files that ``rows``
    remove, for the rules that say ``unless: removed in the subgraph``."""
    found = set()
    for row in rows:  # the kind before the event class, a look-up per row
        if not row.object:
            continue
        if row.object_kind in REMOVALS and REMOVALS[row.object_kind] == row.event:
            found.add((row.object_kind, row.object.casefold()))
        elif row.object_kind == "registry" and row.event == "registry_delete":
            # a service's registry key carries its name (OpTC keeps a key's last part):
            # services.exe removing the key GdKvZQuk deleted the service GdKvZQuk
            found.add(("service", row.object.casefold()))
        elif row.object_kind == "file" and row.event == "file_delete":
            # a file written and removed again served one run (an exploit's preload list)
            found.add(("file", row.object.casefold()))
    return found


def root_only_stores() -> frozenset[str]:
    """The account databases only root may read (shadow, master.passwd, ...): the pattern
    rule ``credential-access-shadow-read``'s own objects, read from it, not copied."""
    rule = builtin_rule("credential-access-shadow-read")
    return frozenset(n.casefold() for block in rule.match for n in block.get("object") or ())


def _root_only_files() -> frozenset[str]:
    """The files only root may read: the account databases and sudo's policy. A program
    reading one after it changed its identity used the privilege it gained."""
    return root_only_stores() | {"sudoers"}


class PrivilegeUsers(NamedTuple):
    """``privilege_users``' reading: never empty, since that no process uses a privilege is
    itself what ``starts_no_shell`` takes rows out by."""

    names: frozenset[str]


def privilege_users(rows: Iterable[Row]) -> PrivilegeUsers:
    """The processes (by name) that ``rows`` show starting a shell or interpreter or reading
    a file only root may read (the account databases, sudo's policy), for the rules that say
    ``unless: starts no shell``."""
    root_only = _root_only_files()
    found = set()
    for row in rows:
        if not row.subject or not row.object:
            continue
        if row.event in ("execute", "process_start"):
            entry = lookup(row.object, "process")
            if entry is not None and entry.category in ("shell", "interpreter"):
                found.add(row.subject)
        elif row.event == "file_read" and row.object.casefold() in root_only:
            found.add(row.subject)
    return PrivilegeUsers(frozenset(found))


def starts_no_shell(row: Row, users: PrivilegeUsers) -> bool:
    """Whether ``row`` is a program the knowledge base knows (not a shell) changing its user
    identity that starts no shell or interpreter and reads no root-only file in the subgraph
    (``users``: ``privilege_users``): a setuid utility doing its own work (find compressing
    the user's reports) is no escalation; one that starts a shell is (GTFOBins)."""
    if row.event != "privilege_change" or not row.subject or row.subject in users.names:
        return False
    entry = lookup(row.subject, "process")
    return entry is not None and entry.category != "shell"


# the names a file's backup copy takes (passwd.bak, shadow-, sudoers.orig): a process that
# reads one and writes the file puts the file back as it was
BACKUP_SUFFIXES = (".bak", ".orig", ".old", ".save", ".backup", "~", "-")


def backup_restorers(rows: Iterable[Row]) -> set[tuple[str, str]]:
    """The (process, case-folded file name) pairs where the process read that file's backup
    (its name and a ``BACKUP_SUFFIXES`` suffix), for the rules that say ``unless: restored
    from its backup``."""
    found = set()
    for row in rows:
        if not row.subject or not row.object or row.event != "file_read":
            continue
        name = row.object.casefold()
        for suffix in BACKUP_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                found.add((row.subject, name[: -len(suffix)]))
    return found


def restored_from_its_backup(row: Row, restorers: set[tuple[str, str]]) -> bool:
    """Whether ``row``'s process read the backup of the file it acts on (``restorers``:
    ``backup_restorers``): the Dirty COW exploit's passwd.bak copied back over passwd."""
    return (row.subject, row.object.casefold()) in restorers


def memory_racers(rows: Iterable[Row]) -> set[tuple[str, str]]:
    """The (process, case-folded file name) pairs where the process mapped that file into
    its memory and wrote a ``mem`` file (its own memory, through procfs), for the rules that
    say ``unless: written through a memory race``: the Dirty COW exploit maps the setuid
    root's ``passwd`` read-only and races writes through ``/proc/self/mem`` until the page
    cache takes them, its privilege escalation's step, not a file changed by hand."""
    mapped: dict[str, set[str]] = {}
    writers: set[str] = set()
    for row in rows:
        if not row.subject or not row.object:
            continue
        if row.event == "file_write" and row.object.casefold() == "mem":
            writers.add(row.subject)
        elif row.event == "module_load" and row.object_kind == "file" and row.action.upper() == "MMAP":
            mapped.setdefault(row.subject, set()).add(row.object.casefold())
    return {(subject, name) for subject in writers & mapped.keys() for name in mapped[subject]}


def written_through_a_memory_race(row: Row, racers: set[tuple[str, str]]) -> bool:
    """Whether ``row``'s process mapped the file it acts on and wrote its own memory through
    procfs (``racers``: ``memory_racers``)."""
    return (row.subject, row.object.casefold()) in racers


def removed_in_the_subgraph(row: Row, removed: set[tuple[str, str]]) -> bool:
    """Whether ``row`` names a task, service or file that the subgraph also removes
    (``removed``: ``removed_objects``)."""
    return (row.object_kind, row.object.casefold()) in removed


def _lineage(item: dict[str, Any]) -> str | None:
    value = item.get("lineage")
    if value is not None and value not in LINEAGES:
        raise RuleFieldError("lineage", f"expected one of {', '.join(LINEAGES)} (or no lineage field); got {value!r}")
    return value


def _needs(item: dict[str, Any]) -> str | None:
    value = item.get("needs")
    if value is not None and value not in NEEDS:
        raise RuleFieldError("needs", f"expected one of {', '.join(NEEDS)} (or no needs field); got {value!r}")
    return value


# a process that opens this many distinct processes in one subgraph is listing them (Task
# Manager, Process Explorer, an inventory agent): a credential dumper opens LSASS alone
PROCESS_LIST_MIN = 5


def process_lists(rows: Iterable[Row]) -> set[str]:
    """The processes (by name) that open at least ``PROCESS_LIST_MIN`` distinct processes
    among ``rows``, or any as a tool that only lists processes (roles.yaml's
    ``process_listing_tools``: a subgraph may hold two of tasklist's many opens): process
    lists, for the rules that say ``unless: process list``. Not the unnamed (the log gives
    many processes that one empty name), nor one that writes a memory dump (``*.dmp``):
    Task Manager's "Create dump file" on LSASS is a dump, whatever the file is called."""
    listing_tools = process_listing_tools()
    opened: dict[str, set[str]] = {}
    dumpers = set()
    for row in rows:
        if not row.subject or not row.object:
            continue
        # the kind and name first: the event class is a look-up per row (candidates' rows
        # run to hundreds of thousands at a million input rows)
        if row.object_kind == "process":
            if row.event == "process_access":
                opened.setdefault(row.subject, set()).add(row.object.lower())
        elif row.object[-4:].lower() == ".dmp" and row.event in ("file_write", "file_create"):
            dumpers.add(row.subject)
    return {
        subject
        for subject, targets in opened.items()
        if (len(targets) >= PROCESS_LIST_MIN or subject.casefold() in listing_tools) and subject not in dumpers
    }


def process_listing_tools() -> frozenset[str]:
    """Names (case-folded) of tools that only list processes (roles.yaml)."""
    from .lineage import roles  # lineage reads this module's rules: imported when first used

    return roles()["process_listing_tool_names"]


def registered_tasks(rows: Iterable[Row]) -> set[str]:
    """The (case-folded) names of the scheduled tasks ``rows`` show a process other than the
    Task Scheduler's service host creating or changing (schtasks, an installer, a script),
    for the rules that say ``unless: records a registration``."""
    return {
        row.object.casefold()
        for row in rows
        if row.object and row.object_kind == "task" and row.subject.casefold() != TASK_SERVICE_HOST and row.event in ("task_create", "task_modify")
    }


def records_a_registration(row: Row, registered: set[str]) -> bool:
    """Whether ``row`` is the Task Scheduler's service host writing the definition file of a
    task another process registered (``registered``: ``registered_tasks``): the record of that
    registration, whose own rows are the evidence (or not, where they are an installer's)."""
    return (
        row.subject.casefold() == TASK_SERVICE_HOST
        and row.object_kind == "file"
        and row.object.casefold() in registered
        and row.event in ("file_write", "file_create")
        and any("\\tasks\\" in path.casefold() for path in row.object_paths)
    )


def opened_by_process_list(row: Row, listers: set[str]) -> bool:
    """Whether ``row`` is a process list's opening of a process (``listers``: ``process_lists``)."""
    return row.subject in listers and row.object_kind == "process" and row.event == "process_access"


def programs_run(rows: Iterable[Row]) -> set[str]:
    """The names ``rows`` show running as programs: processes, and what is executed or
    started, for the rules that say ``unless: run as a program``."""
    found = set()
    for row in rows:
        if row.subject:
            found.add(row.subject)
        if row.object and row.event in ("execute", "process_start"):
            found.add(row.object)
    return found


def written_program(row: Row, ran: set[str]) -> bool:
    """Whether ``row`` writes a file that runs as a program in the subgraph (``ran``:
    ``programs_run``): a program named like a start-up file (THEIA's implant ``profile``)."""
    return row.object_kind == "file" and row.object in ran


def network_talkers(rows: Iterable[Row]) -> set[str]:
    """The processes (by name) that ``rows`` show sending or connecting out over a network
    flow, for the rules that say ``unless: run against another host``."""
    return {row.subject for row in rows if row.subject and row.object_kind == "flow" and row.event == "network_out"}


def run_against_another_host(row: Row, talkers: set[str]) -> bool:
    """Whether ``row`` starts a tool that talks over the network in the subgraph
    (``talkers``: ``network_talkers``): schtasks run with /S creates its task on that host."""
    return row.event in ("execute", "process_start") and row.object in talkers


# Windows' task tools: the files they delete or write are their tasks' definitions
# (System32\Tasks\NAME, which OpTC's logs keep under the task's name)
TASK_FILE_TOOLS = frozenset({"schtasks.exe", "at.exe"})


def removing_tools(rows: Iterable[Row]) -> set[str]:
    """The processes (by name) that ``rows`` show removing tasks or services and never
    creating or changing one, for the rules that say ``unless: run only to remove``; a task
    tool deleting a file removes its task's definition, writing one changes a task."""
    removes, changes = set(), set()
    # the Task Scheduler service's own writes of task definitions (OpTC logs the file a task
    # tool's request makes the service write or delete under the service's name, svchost.exe)
    tools_run, service_removes, service_changes = set(), False, False
    for row in rows:
        if row.subject and row.object_kind in REMOVALS:
            (removes if row.event == REMOVALS[row.object_kind] else changes).add(row.subject)
        elif row.subject and row.object_kind == "file" and row.subject.casefold() in TASK_FILE_TOOLS:
            if row.event == "file_delete":
                removes.add(row.subject)
            elif row.event in ("file_write", "file_create", "file_rename"):
                changes.add(row.subject)
        elif row.subject.casefold() == TASK_SERVICE_HOST and row.object_kind == "file" and task_definition_name(row.object):
            if row.event == "file_delete":
                service_removes = True
            elif row.event in ("file_write", "file_create", "file_rename"):
                service_changes = True
        if row.event in ("execute", "process_start") and row.object.casefold() in TASK_FILE_TOOLS:
            tools_run.add(row.object)
    # a task tool with no file of its own, where the service only deleted task definitions:
    # the tool asked for the deletion (schtasks /delete)
    if service_removes and not service_changes:
        removes |= tools_run
    return removes - changes


# the process the Task Scheduler service runs in
TASK_SERVICE_HOST = "svchost.exe"


def task_definition_name(name: str) -> bool:
    """A file name a task definition can have (System32\\Tasks\\NAME: no extension)."""
    base = re.split(r"[\\/]", name)[-1]
    return bool(base) and "." not in base


def run_only_to_remove(row: Row, removers: set[str]) -> bool:
    """Whether ``row`` starts a tool that the subgraph shows only removing tasks or services
    (``removers``: ``removing_tools``): schtasks deleting the intruder's task takes a
    foothold away."""
    return row.event in ("execute", "process_start") and row.object in removers


# the process whose memory holds the logged-on users' credentials
CREDENTIAL_PROCESS = "lsass.exe"
# Windows processes that run as SYSTEM and never start shells or talk to outside hosts in
# their own work: code another process put in one acts with SYSTEM's privilege (not the
# service host svchost.exe, whose scheduled tasks start shells; LSASS opened is the
# credential rule's)
SYSTEM_PROCESSES = frozenset({"winlogon.exe", "services.exe", "wininit.exe", "spoolsv.exe", "msdtc.exe"})


def other_process_dumpers(rows: Iterable[Row]) -> set[str]:
    """The processes (by name) that ``rows`` show opening other processes, none of them
    LSASS, for the rules that say ``unless: dumps another process``: procdump taking a
    crashed web worker's memory for its vendor is no credential dump. A process counts by
    what it and the programs it starts open (procdump.exe running its own procdump64.exe,
    which opens the worker), one level down."""
    opened: dict[str, set[str]] = {}
    started: dict[str, set[str]] = {}
    for row in rows:
        if not row.subject or not row.object:
            continue
        if row.object_kind == "process" and row.event == "process_access":
            opened.setdefault(row.subject, set()).add(row.object.casefold())
        elif row.event in ("process_start", "execute") and row.object != row.subject:
            started.setdefault(row.subject, set()).add(row.object)
    for parent, children in started.items():
        below = set().union(*(opened.get(child, set()) for child in children))
        if below:
            opened[parent] = opened.get(parent, set()) | below
    return {subject for subject, targets in opened.items() if CREDENTIAL_PROCESS not in targets}


def dumps_another_process(row: Row, dumpers: set[str]) -> bool:
    """Whether ``row`` starts a tool that the subgraph shows opening processes other than
    LSASS, and never LSASS (``dumpers``: ``other_process_dumpers``)."""
    return row.event in ("execute", "process_start") and row.object in dumpers


class RowUnless(NamedTuple):
    """An ``unless`` that a row can be judged by, given what the whole subgraph's rows show:
    ``gather(rows)`` reads them once (``removed_objects``: the tasks, services and files
    removed), ``takes_out(row, gathered)`` says whether that row is taken out."""

    gather: Callable[[Iterable[Row]], Any]
    takes_out: Callable[[Row, Any], bool]


# the ``unless`` kinds a row can be judged by, read alike by the IoC rank (``unless_applies``)
# and by the stage rules (``stages.unless_rows``); the others (``VIEW_UNLESS``) read the
# log's minutes or the other rules' findings, which the stage rules alone weigh
ROW_UNLESS: dict[str, RowUnless] = {
    "process list": RowUnless(process_lists, opened_by_process_list),
    "removed in the subgraph": RowUnless(removed_objects, removed_in_the_subgraph),
    "run as a program": RowUnless(programs_run, written_program),
    "run against another host": RowUnless(network_talkers, run_against_another_host),
    "dumps another process": RowUnless(other_process_dumpers, dumps_another_process),
    "run only to remove": RowUnless(removing_tools, run_only_to_remove),
    "restored from its backup": RowUnless(backup_restorers, restored_from_its_backup),
    "written through a memory race": RowUnless(memory_racers, written_through_a_memory_race),
    "records a registration": RowUnless(registered_tasks, records_a_registration),
    "starts no shell": RowUnless(privilege_users, starts_no_shell),
}
VIEW_UNLESS = ("planted for a privileged run", "carries only a staged upload", "applied by Group Policy", "connects for a remote step", "injects only at its own privilege", "made in the account console", "changes an account", "finds the process it dumps", "checks its own elevation", "queued to run once")
assert set(UNLESS) == set(ROW_UNLESS) | set(VIEW_UNLESS), "every unless kind is judged by a row or by the log"


def gather_unless(rows: list[Row], kinds: Iterable[str]) -> dict[str, Any]:
    """What each of the row-judged ``kinds`` (``ROW_UNLESS``) reads off ``rows``, the whole
    subgraph's, for ``unless_applies``; the kinds read by the log alone are passed over."""
    return {kind: ROW_UNLESS[kind].gather(rows) for kind in dict.fromkeys(kinds) if kind in ROW_UNLESS}


def unless_applies(rule: PatternRule, row: Row, gathered: dict[str, Any]) -> bool:
    """Whether ``rule``'s ``unless`` takes ``row`` out, given ``gather_unless``'s readings
    (a kind not gathered takes nothing out)."""
    return any(kind in gathered and ROW_UNLESS[kind].takes_out(row, gathered[kind]) for kind in rule.unless)


def _unless(item: dict[str, Any]) -> tuple[str, ...]:
    value = item.get("unless")
    values = value if isinstance(value, list) else [] if value is None else [value]
    for one in values:
        if one not in UNLESS:
            raise RuleFieldError("unless", f"expected one of {', '.join(UNLESS)}, or a list of them (or no unless field); got {one!r}")
    return tuple(values)


_EXAMPLE_FIELDS = ("subject", "action", "object_kind", "object", "subject_kind", "object_path")
_TACTIC = re.compile(r"TA\d{4}")
_TECHNIQUE = re.compile(r"T\d{4}(\.\d{3})?")
_MISSING = object()


class RuleFieldError(ValueError):
    """What is wrong with one field of a rule: ``field`` is its dotted place
    (``techniques``, ``examples.positive.0.action``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _known(item: Any, names: tuple[str, ...], where: str) -> None:
    if not isinstance(item, dict):
        raise RuleFieldError(where.rstrip(".") or "(rule)", "expected a mapping of fields")
    for key in item:
        if key not in names:
            raise RuleFieldError(f"{where}{key}", f"unknown field; expected one of {', '.join(names)}")


def _required(item: dict, name: str) -> Any:
    value = item.get(name, _MISSING)
    if value is _MISSING:
        raise RuleFieldError(name, "field required")
    return value


def _text(item: dict, name: str, where: str = "", default: Any = _MISSING) -> str:
    value = item.get(name, default)
    if value is _MISSING:
        raise RuleFieldError(f"{where}{name}", "field required")
    if not isinstance(value, str):
        raise RuleFieldError(f"{where}{name}", f"expected text, got {type(value).__name__}")
    return value


def _list(item: dict, name: str, required: bool = False, where: str = "") -> list:
    value = item.get(name, _MISSING)
    if value is _MISSING:
        if required:
            raise RuleFieldError(f"{where}{name}", "field required")
        return []
    if not isinstance(value, (list, tuple)):
        raise RuleFieldError(f"{where}{name}", f"expected a list, got {type(value).__name__}")
    return list(value)


def _texts(item: dict, name: str) -> list[str]:
    value = _list(item, name, required=True)
    if not value:
        raise RuleFieldError(name, "expected at least one item")
    for number, one in enumerate(value):
        if not isinstance(one, str):
            raise RuleFieldError(f"{name}.{number}", f"expected text, got {type(one).__name__}")
    return value


def _example(item: Any, where: str) -> Example:
    _known(item, _EXAMPLE_FIELDS, where)
    return Example(**{name: _text(item, name, where) for name in _EXAMPLE_FIELDS if name in item or name == "action"})


class Row(NamedTuple):
    """One distinct log event as the rules see it. A named tuple, not a dataclass: a
    subgraph's candidates build and hash thousands of rows (their pattern events), and a
    tuple's construction and hash run in C."""

    subject: str
    action: str
    object: str
    subject_kind: str = "process"
    object_kind: str = "file"
    object_paths: tuple[str, ...] = ()

    @property
    def event(self) -> str:
        return event_class(self.action, self.object_kind)


def make_rows(*columns: Iterable) -> list[Row]:
    """``list(map(Row, *columns))``: a ``Row`` per position of the columns (given in field
    order; missing trailing fields take their defaults), built in C. ``Row``'s generated
    ``__new__`` is a Python call per row, and a few thousand descriptions or candidate
    events cost milliseconds of it; ``tuple.__new__(Row, values)`` is what it does."""
    defaults = [repeat(Row._field_defaults[name]) for name in Row._fields[len(columns) :]]
    return list(map(tuple.__new__, repeat(Row), zip(*columns, *defaults)))


def _values(row: Row, name: str) -> list[str]:
    if name == "event":
        return [row.event]
    if name == "object_path":
        return list(row.object_paths)
    if name == "subject_category":
        entry = lookup(row.subject, "process") if row.subject else None
        return [entry.category] if entry else []
    if name == "object_category":
        kind = {"process": "process", "module": "module", "registry": "registry"}.get(row.object_kind, "file")
        entry = lookup(row.object, kind) if row.object else None
        return [entry.category] if entry else []
    return [getattr(row, name)]


class _Fields:
    """One row's field values, each computed, cut to ``_MAX_VALUE`` and case-folded once for
    every rule and selection that reads it (event classes and knowledge-base look-ups are the
    costly part, and a row meets up to every rule)."""

    __slots__ = ("row", "_raw", "_folded")

    def __init__(self, row: Row) -> None:
        self.row = row
        self._raw: dict[str, list[str]] = {}
        self._folded: dict[str, list[str]] = {}

    def raw(self, name: str) -> list[str]:
        values = self._raw.get(name)
        if values is None:
            values = self._raw[name] = [str(v)[:_MAX_VALUE] for v in _values(self.row, name)]
        return values

    def folded(self, name: str) -> list[str]:
        values = self._folded.get(name)
        if values is None:
            values = self._folded[name] = [v.casefold() for v in self.raw(name)]
        return values


@dataclass(frozen=True)
class _Test:
    """One field of a selection, its expected values prepared once (case-folded, or compiled
    when ``re``)."""

    name: str
    modifier: str
    wants: tuple

    def __post_init__(self) -> None:
        # tests key the rule tables' caches: hash a test's (possibly long) values once
        object.__setattr__(self, "_hash", hash((self.name, self.modifier, self.wants)))

    def __hash__(self) -> int:
        return self._hash

    def __call__(self, fields: _Fields) -> bool:
        if self.name == "object_is_subject":
            row = fields.row
            return (row.object.casefold() == row.subject.casefold() and bool(row.object)) == self.wants[0]
        if self.modifier == "re":
            return any(pattern.search(value) for value in fields.raw(self.name) for pattern in self.wants)
        values = fields.folded(self.name)
        if self.modifier in ("", "equals"):
            return any(value in self.wants for value in values)
        if self.modifier == "contains":
            return any(want in value for value in values for want in self.wants)
        if self.modifier == "startswith":
            return any(value.startswith(self.wants) for value in values)
        return any(value.endswith(self.wants) for value in values)  # endswith


    def many(self, raw: np.ndarray, folded: np.ndarray) -> np.ndarray:
        """This test over many single values at once (``raw`` cut to ``_MAX_VALUE``,
        ``folded`` case-folded), as ``__call__`` gives for a field holding one value each;
        the loops run in C (``map``), not one Python call per value."""
        count = len(raw)
        if self.modifier == "re":
            found = np.zeros(count, dtype=bool)
            for pattern in self.wants:
                found |= np.fromiter(map(bool, map(pattern.search, raw)), dtype=bool, count=count)
            return found
        if self.modifier in ("", "equals"):
            return np.fromiter(map(self.wants.__contains__, folded), dtype=bool, count=count)
        if self.modifier == "contains":
            found = np.zeros(count, dtype=bool)
            for want in self.wants:
                found |= np.fromiter(map(methodcaller("__contains__", want), folded), dtype=bool, count=count)
            return found
        return np.fromiter(map(methodcaller(self.modifier, self.wants), folded), dtype=bool, count=count)


@lru_cache(maxsize=4096)
def _compile_selection(items: tuple[tuple[str, Any], ...]) -> tuple[_Test, ...]:
    tests = []
    for key, expected in items:
        if key == "object_is_subject":
            tests.append(_Test(key, "", (expected,)))
            continue
        name, _, modifier = key.partition("|")
        values = expected if isinstance(expected, (list, tuple)) else [expected]
        if modifier == "re":
            wants = tuple(re.compile(str(v)) for v in values)
        else:
            wants = tuple(str(v).casefold() for v in values)
            if modifier in ("", "equals"):
                wants = frozenset(wants)
        tests.append(_Test(name, modifier, wants))
    return tuple(tests)


def _selection_key(selection: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in selection.items())


def _selection_matches(selection: dict[str, Any], row: Row | _Fields) -> bool:
    fields = row if isinstance(row, _Fields) else _Fields(row)
    return all(test(fields) for test in _compile_selection(_selection_key(selection)))


def _is_event_test(test: _Test) -> bool:
    return test.name == "event" and test.modifier in ("", "equals")


def _for_event(selections: tuple[tuple[_Test, ...], ...], event: str) -> tuple[tuple[_Test, ...], ...]:
    """The selections a row of ``event`` can satisfy, without their (then passed) event tests."""
    kept = []
    for selection in selections:
        if any(event not in test.wants for test in selection if _is_event_test(test)):
            continue
        kept.append(tuple(test for test in selection if not _is_event_test(test)))
    return tuple(kept)


@dataclass(frozen=True)
class _CompiledRule:
    match: tuple[tuple[_Test, ...], ...]
    filter: tuple[tuple[_Test, ...], ...]

    def for_event(self, event: str) -> _CompiledRule | None:
        """This rule as it applies to rows of one (case-folded) event class; None when no
        selection accepts that class, so the rule is never tried on such rows."""
        match = _for_event(self.match, event)
        return _CompiledRule(match, _for_event(self.filter, event)) if match else None

    def matches(self, fields: _Fields) -> bool:
        if not any(all(test(fields) for test in selection) for selection in self.match):
            return False
        return not any(all(test(fields) for test in selection) for selection in self.filter)


def _compile_rule(rule: PatternRule) -> _CompiledRule:
    compiled = _builtin_compiled_by_id().get(id(rule))
    if compiled is not None and compiled[0] is rule:  # a built-in rule, compiled once
        return compiled[1]
    return _compile_rule_fields(rule)


def _compile_rule_fields(rule: PatternRule) -> _CompiledRule:
    return _CompiledRule(
        tuple(_compile_selection(_selection_key(s)) for s in rule.match),
        tuple(_compile_selection(_selection_key(s)) for s in rule.filter),
    )


@lru_cache(maxsize=1)
def _compiled_builtin() -> tuple[tuple[PatternRule, _CompiledRule], ...]:
    return tuple((rule, _compile_rule_fields(rule)) for rule in builtin_rules())


@lru_cache(maxsize=1)
def _builtin_compiled_by_id() -> dict[int, tuple[PatternRule, _CompiledRule]]:
    return {id(rule): (rule, compiled) for rule, compiled in _compiled_builtin()}


@lru_cache(maxsize=1024)
def _builtin_for_event(event: str) -> tuple[tuple[PatternRule, _CompiledRule], ...]:
    """The built-in rules a row of this (case-folded) event class may match, in file order,
    reduced to the selections that accept it."""
    found = []
    for rule, compiled in _compiled_builtin():
        reduced = compiled.for_event(event)
        if reduced is not None:
            found.append((rule, reduced))
    return tuple(found)


@lru_cache(maxsize=65536)
def matching_rules(row: Row) -> tuple[PatternRule, ...]:
    """The built-in rules that match ``row`` (memoised: rows repeat across candidates).
    Rules are indexed by the event classes their selections accept, so a row meets only
    the few rules that could match it."""
    fields = _Fields(row)
    return tuple(rule for rule, compiled in _builtin_for_event(fields.folded("event")[0]) if compiled.matches(fields))


def matching_rules_many(rows: Iterable[Row], where: Callable[[PatternRule], bool] | None = None) -> dict[Row, tuple[PatternRule, ...]]:
    """``matching_rules`` for many rows at once (every candidate's events): each built-in
    rule is tested over one ``RowTable``, so a field is tested once per distinct value
    instead of once per row; the same rules, in the same file order. ``where``: only the
    rules it accepts are tested."""
    distinct = list(dict.fromkeys(rows))
    found: list[list[PatternRule]] = [[] for _ in distinct]
    if distinct:
        table = RowTable(distinct)
        for rule, _ in _compiled_builtin():
            if where is not None and not where(rule):
                continue
            for position in np.flatnonzero(table.rule(rule)).tolist():
                found[position].append(rule)
    return dict(zip(distinct, map(tuple, found)))


# The Row attributes a field's values are computed from: rows that agree on them agree on
# every test of that field, so a table tests each distinct combination once.
_FIELD_SOURCES = {
    "event": ("action", "object_kind"),
    "object_path": ("object_paths",),
    "subject_category": ("subject",),
    "object_category": ("object", "object_kind"),
    "object_is_subject": ("object", "subject"),
}


_ONE_VALUE = frozenset({"event", "action", "subject", "object", "subject_kind", "object_kind"})  # one value per row
_CUT = itemgetter(slice(0, _MAX_VALUE))


class RowTable:
    """Many rows (a log's distinct descriptions) matched against compiled selections: each
    test runs once per distinct value of the field it reads (a few thousand descriptions
    repeat a few hundred names and event classes), only for rows still in the running, and
    its results are kept for every rule and mechanism that repeats it. The masks equal
    testing every row on its own (tests/test_rule_table.py)."""

    def __init__(self, rows: Iterable[Row]) -> None:
        self.rows = list(rows)
        self._groups: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, dict[int, _Fields]]] = {}
        self._results: dict[_Test, np.ndarray] = {}
        self._passing: dict[_Test, np.ndarray] = {}  # per row, for tests run on every group
        self._passing_rows: dict[_Test, np.ndarray] = {}  # the rows a test passes, ascending
        self._event_classes: frozenset[str] | None = None
        self._text: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # keyed by the selections' identity (a tuple of tests hashes every test again on each
        # look-up); each entry holds its key, so no id is reused while the table lives
        self._orders: dict[int, tuple[tuple[_Test, ...], list[_Test]]] = {}
        self._possible_selections: dict[int, tuple[tuple, tuple[tuple[_Test, ...], ...]]] = {}
        self._all = np.arange(len(self.rows))

    def _grouping(self, name: str) -> tuple[np.ndarray, np.ndarray, dict[int, _Fields]]:
        """Each row's group code for field ``name``, each group's first row, and the fields
        of the groups tested so far."""
        sources = _FIELD_SOURCES.get(name, (name,))
        found = self._groups.get(sources)
        if found is None:
            # one dict numbers the distinct source values by first appearance: cheaper than a
            # Series and a factorize per source for a few rows, and as fast for thousands;
            # built and read by C loops (dict.fromkeys, map), Python steps only per distinct value
            keys = list(map(attrgetter(*sources), self.rows))
            index = {key: number for number, key in enumerate(dict.fromkeys(keys))}
            codes = np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys))
            # a code's first row is where the running maximum first reaches it
            first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0) if len(codes) else codes
            found = self._groups[sources] = (codes, first, {})
        return found

    def _size(self, test: _Test) -> int:
        return len(self._grouping(test.name)[1])

    def _texts(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Each group's value of a one-valued field, cut and case-folded as ``_Fields`` does."""
        found = self._text.get(name)
        if found is None:
            _, first, _ = self._grouping(name)
            values = map(attrgetter(name), map(self.rows.__getitem__, first.tolist()))
            raw = list(map(_CUT, map(str, values)))
            found = self._text[name] = (np.array(raw, dtype=object), np.array(list(map(str.casefold, raw)), dtype=object))
        return found

    def _test(self, test: _Test, positions: np.ndarray) -> np.ndarray:
        """``test`` at the rows ``positions``, run once per group among them."""
        passing = self._passing.get(test)
        if passing is not None:  # every group tested: its answer per row, read at once
            return passing[positions]
        codes, first, fields = self._grouping(test.name)
        known = self._results.get(test)
        if known is None:
            known = self._results[test] = np.full(len(first), -1, dtype=np.int8)  # -1: not tested yet
        at = codes[positions]
        untested = at[known[at] < 0]  # after a test's first use, mostly none
        todo = distinct(untested) if len(untested) else untested
        if len(todo) and test.name in _ONE_VALUE:
            raw, folded = self._texts(test.name)
            known[todo] = test.many(raw[todo], folded[todo])
        elif len(todo) and test.name == "object_path":
            # every path of every group to test in one flat list, then any per group
            paths = [self.rows[first[code]].object_paths for code in todo.tolist()]
            owner = np.repeat(np.arange(len(todo)), np.fromiter(map(len, paths), dtype=np.int64, count=len(paths)))
            raw = list(map(_CUT, map(str, chain.from_iterable(paths))))
            hits = test.many(np.array(raw, dtype=object), np.array(list(map(str.casefold, raw)), dtype=object))
            known[todo] = np.bincount(owner[hits], minlength=len(todo)) > 0
        elif len(todo):
            for code in todo.tolist():
                row_fields = fields.get(code)
                if row_fields is None:
                    row_fields = fields[code] = _Fields(self.rows[first[code]])
                known[code] = test(row_fields)
        if len(todo) and not (known < 0).any():
            # the last groups tested: later calls read the rows' answers (the same values)
            self._passing[test] = known[codes] == 1
        return known[at] == 1

    def selection(self, tests: tuple[_Test, ...], within: np.ndarray | None = None) -> np.ndarray:
        """Rows (a mask over the table) that pass every test of one selection; ``within``:
        only these rows are tested, the others read False. The test with the fewest
        distinct values goes first (an event class narrows the rows before a name test)."""
        known = self._orders.get(id(tests))
        if known is not None and known[0] is tests:
            order = known[1]
        else:
            order = sorted(tests, key=self._size)
            self._orders[id(tests)] = (tests, order)
        if order and order[0] in self._passing:
            # the first test known on every row: start from the rows it passes (an event
            # class a few rows have), not from a take over every row asked about
            positions = self._rows_passing(order[0])
            if within is not None:
                positions = positions[within[positions]]
            order = order[1:]
        else:
            positions = self._all if within is None else np.flatnonzero(within)
        for test in order:
            if not len(positions):
                break
            positions = positions[self._test(test, positions)]
        mask = np.zeros(len(self.rows), dtype=bool)
        mask[positions] = True
        return mask

    def _rows_passing(self, test: _Test) -> np.ndarray:
        """The rows (ascending positions) that pass ``test``, one already run on every group."""
        found = self._passing_rows.get(test)
        if found is None:
            found = self._passing_rows[test] = np.flatnonzero(self._passing[test])
        return found

    def _events(self) -> frozenset[str]:
        """The (case-folded) event classes of the rows, read once per table."""
        found = self._event_classes
        if found is None:
            found = self._event_classes = frozenset(self._texts("event")[1].tolist())
        return found

    def _possible(self, selections: tuple[tuple[_Test, ...], ...]) -> tuple[tuple[_Test, ...], ...]:
        """The selections whose event tests accept an event class some row has: most rules
        are about a few event classes, and a small log has few, so most selections are
        passed over without a test."""
        known = self._possible_selections.get(id(selections))
        if known is not None and known[0] is selections:
            return known[1]
        events = self._events()
        # an event class every event test accepts: a set intersection in C (the same as
        # trying each class against each test; no event test: any class will do)
        found = tuple(tests for tests in selections if events.intersection(*(t.wants for t in tests if _is_event_test(t))))
        self._possible_selections[id(selections)] = (selections, found)
        return found

    def any_selection(self, selections: tuple[tuple[_Test, ...], ...], within: np.ndarray | None = None) -> np.ndarray:
        mask = np.zeros(len(self.rows), dtype=bool)
        for tests in self._possible(selections):
            rest = ~mask if within is None else within & ~mask
            if not rest.any():
                break
            mask |= self.selection(tests, rest)
        return mask

    def rule(self, rule: PatternRule, within: np.ndarray | None = None) -> np.ndarray:
        """The rows ``rule`` matches (its selections, less its filters)."""
        compiled = _compile_rule(rule)
        matched = self.any_selection(compiled.match, within)
        if compiled.filter and matched.any():
            matched &= ~self.any_selection(compiled.filter, matched)
        return matched


def rule_matches(rule: PatternRule, row: Row) -> bool:
    fields = _Fields(row)
    compiled = _compile_rule(rule).for_event(fields.folded("event")[0])
    return compiled is not None and compiled.matches(fields)


def example_row(example: Example) -> Row:
    paths = (example.object_path,) if example.object_path else ((example.object,) if example.object else ())
    return Row(example.subject, example.action.upper(), example.object, example.subject_kind, example.object_kind, paths)


# --------------------------------------------------------------------------- loading


def parse_rule_file(text: str, source: str) -> list[PatternRule]:
    return rules_of_file(_parse_rule_yaml(text, source), source)


def _parse_rule_yaml(text: str, source: str) -> Any:
    import yaml  # here only: the built-in rules are read parsed (aptnarrate/data/parsed_yaml.json)

    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{source}: not valid YAML: {exc}") from None


def rules_of_file(raw: Any, source: str) -> list[PatternRule]:
    """The rules of a rule file's parsed content (one rule, or a mapping with ``rules``)."""
    items = raw.get("rules") if isinstance(raw, dict) and "rules" in raw else [raw]
    if not isinstance(items, list):
        raise RuleFileError(f"{source}: 'rules' must be a list of rules")
    rules = []
    for number, item in enumerate(items, start=1):
        label = item.get("id", f"rule {number}") if isinstance(item, dict) else f"rule {number}"
        try:
            rule = PatternRule.from_mapping(item)
        except RuleFieldError as exc:
            raise RuleFileError(f"{source}: rule {label!r}, field {exc.field}: {exc}") from None
        rules.append(rule)
    return rules


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[PatternRule, ...]:
    folder = data_file("rules")
    rules: list[PatternRule] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            source = f"aptnarrate/data/rules/{entry.name}"
            raw = load_data_yaml(f"rules/{entry.name}", parse=partial(_parse_rule_yaml, source=source))
            rules.extend(rules_of_file(raw, source))
    _check_unique(rules)
    return tuple(rules)


@lru_cache(maxsize=None)
def builtin_rule(rule_id: str) -> PatternRule:
    """The built-in rule with id ``rule_id``, for a structural rule that reads a pattern
    rule's matches (PowerShell's signs, the tunnelling clients)."""
    return next(r for r in builtin_rules() if r.id == rule_id)


def load_rules(extra_dirs: Iterable[str | Path] = ()) -> tuple[PatternRule, ...]:
    """The built-in rules plus every ``*.yaml`` in ``extra_dirs``."""
    rules = list(builtin_rules())
    for folder in extra_dirs:
        for path in sorted(Path(folder).glob("*.y*ml")):
            rules.extend(parse_rule_file(path.read_text(encoding="utf-8"), str(path)))
    _check_unique(rules)
    return tuple(rules)


def _check_unique(rules: list[PatternRule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleFileError(f"rule id {rule.id!r} is defined twice")
        seen.add(rule.id)
