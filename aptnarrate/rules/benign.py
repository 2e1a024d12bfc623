"""Benign mechanisms (``aptnarrate/data/benign.yaml``): routine activity that looks like an
attack stage. They lower likelihood and say why in words; they never hide an IoC row."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Iterable

import numpy as np

from ..data import load_data_yaml
from .patterns import PatternRule, Row, RowTable, RuleFileError, _compile_selection, _Fields, _selection_key


@dataclass(frozen=True)
class Mechanism:
    id: str
    says: str
    suppresses: tuple[str, ...]
    match: tuple[dict[str, Any], ...]
    # stages its rows are never evidence for, while other rows of the subgraph still may be
    # (``suppresses`` drops the stage's claim for the whole subgraph)
    excludes: tuple[str, ...] = ()
    # ``excludes`` holds only for rows whose process is not in an attack chain the log
    # shows, nor runs PowerShell inside it (``rules/lineage.py``); ``suppresses`` only for
    # findings that cite no row of such a process
    unless_attack_chain: bool = False
    # also the rows, of the events its selections name, of the processes that the processes
    # its selections name start in the log (an installer's maintainer scripts and custom
    # actions), and theirs in turn
    descendants: bool = False
    # running scripts is its ordinary work (a management agent's PowerShell): PowerShell
    # inside its processes does not count as acting for an attacker, only an attack chain
    scripts_are_routine: bool = False
    # talking to its server for as long as it runs is its ordinary work (a log forwarder, an
    # antivirus agent): the channel, which the Command and Control rule finds and which puts
    # its holder in the attack chain, does not count as acting for an attacker
    channels_are_routine: bool = False
    # also the rows of the process the log does not name in the minutes its own rows hold
    # (TRACE leaves unnamed the commands a login's message-of-the-day scripts run)
    unnamed_beside: bool = False
    # also the rows of the processes that read or run a file its selections match (Ansible's
    # Python running an AnsiballZ module: the module's work is the mechanism's), and with
    # ``descendants`` those of the processes they start
    runners: bool = False
    # holds only where the processes named in ``by`` start programs in the log, and every
    # one of them (with what those start in turn) is among ``programs``: a remote session
    # that runs only the maintenance commands an administrator runs, not one whose commands
    # could be anyone's (``starts_only``; an empty ``by``: no such condition)
    starts_only_by: frozenset[str] = frozenset()
    starts_only: frozenset[str] = frozenset()

    @cached_property
    def _selections(self):
        return tuple(_compile_selection(_selection_key(selection)) for selection in self.match)

    @cached_property
    def _subject_selections(self):
        """Per selection: its tests of the subject alone, and the event classes it names."""
        found = []
        for selection in self.match:
            subject = {k: v for k, v in selection.items() if k.partition("|")[0] in ("subject", "subject_category", "subject_kind")}
            named = selection.get("event")
            # no event named: () (every event class), not ((),), which matched none
            events = tuple(named) if isinstance(named, list) else ((named,) if named else ())
            if subject:
                found.append((_compile_selection(_selection_key(subject)), events))
        return tuple(found)

    def names_subject(self, name: str) -> bool:
        """Whether one of its selections names this process (by name or category)."""
        fields = _fields_of(Row(name, "", ""))
        return any(all(test(fields) for test in tests) for tests, _ in self._subject_selections)

    def explains(self, row: Row) -> bool:
        fields = _fields_of(row)
        return any(all(test(fields) for test in selection) for selection in self._selections)


@lru_cache(maxsize=4096)
def _fields_of(row: Row) -> _Fields:
    """One row's field values, shared by every mechanism that reads them (callers test a
    row against each mechanism in turn)."""
    return _Fields(row)


_FLAGS = ("unless_attack_chain", "descendants", "scripts_are_routine", "channels_are_routine", "unnamed_beside", "runners")


@lru_cache(maxsize=1)
def mechanisms() -> tuple[Mechanism, ...]:
    raw = load_data_yaml("benign.yaml")
    found = []
    for item in raw["mechanisms"]:
        # validate the selections with the pattern rules' own checks
        PatternRule._selections(item["match"])
        only = _starts_only(item)
        found.append(
            Mechanism(
                item["id"], item["says"], tuple(item.get("suppresses") or ()), tuple(item["match"]), tuple(item.get("excludes") or ()),
                # the flags by name: a new one cannot shift the others
                **{flag: bool(item.get(flag, False)) for flag in _FLAGS},
                starts_only_by=frozenset(n.casefold() for n in only.get("by") or ()),
                starts_only=frozenset(n.casefold() for n in only.get("programs") or ()),
            )
        )
    return tuple(found)


def _starts_only(item: dict[str, Any]) -> dict[str, list[str]]:
    """A mechanism's ``starts_only`` condition, checked: both lists given and not empty (a
    misspelt key would leave a condition that never holds, silently)."""
    only = item.get("starts_only")
    if only is None:
        return {}
    if not isinstance(only, dict) or set(only) != {"by", "programs"} or not all(isinstance(only[k], list) and only[k] and all(isinstance(n, str) for n in only[k]) for k in only):
        raise RuleFileError(f"benign.yaml: mechanism {item.get('id')!r}, field starts_only: expected 'by' and 'programs', each a non-empty list of program names")
    return only


def mechanisms_for(stage: str) -> list[Mechanism]:
    """The mechanisms that suppress or exclude ``stage``, in file order."""
    return [m for m in mechanisms() if stage in m.suppresses or stage in m.excludes]


def explaining(rows: Iterable[Row]) -> list[Mechanism]:
    """The mechanisms that explain at least one of ``rows``, in file order."""
    table = rows if isinstance(rows, RowTable) else RowTable(rows)
    return [m for m in mechanisms() if table.any_selection(m._selections).any()]


def first_explaining(rows: list[Row], skip: frozenset[str] = frozenset()) -> list[Mechanism | None]:
    """For each row, the first mechanism in file order that explains it (None when none
    does), as ``explains`` tells row by row; tested over one ``RowTable``, so each field
    is tested once per distinct value and a row leaves the running once explained.
    ``skip``: the ids of mechanisms not to weigh (those whose condition on the log fails,
    ``stages.failing_conditions``)."""
    found: list[Mechanism | None] = [None] * len(rows)
    if not rows:
        return found
    table = RowTable(rows)
    open_rows = np.ones(len(rows), dtype=bool)
    for mechanism in mechanisms():
        if not open_rows.any():
            break
        if mechanism.id in skip:
            continue
        hits = table.any_selection(mechanism._selections, open_rows)
        for position in np.flatnonzero(hits).tolist():
            found[position] = mechanism
        open_rows &= ~hits
    return found
