"""Process lineage: which processes the log shows in an attack chain.

Some evidence is routine by itself and an attack's only in context: one discovery tool run,
``sudo``, a service host reaching a few hosts of its site, an installer writing a Run key.
The rules that read such evidence ask whether its process is in an attack chain: started by
a launcher (an Office application, browser or mail client starting a shell; WMI's provider
host or PsExec's service starting one; an auto-elevating binary's shell), a program the
subgraph wrote and then ran (dropped), a process holding a command-and-control channel, or a
descendant of one of these in the log. The roles are
data (``aptnarrate/data/roles.yaml``); names are OCR-APT's (image names, no process ids),
so a chain is a set of names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from ..preprocess.knowledge import lookup

if TYPE_CHECKING:  # pragma: no cover
    from .stages import LogView

_PLACEHOLDERS = frozenset({"", ".", "..", "0", "-", "?"})
_MAX_DEPTH = 16  # generations followed from a chain's start (the log's names may form cycles)


@lru_cache(maxsize=1)
def roles() -> dict[str, Any]:
    text = resources.files("aptnarrate.data").joinpath("roles.yaml").read_text(encoding="utf-8")
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    chain = raw["attack_chain"]
    return {
        "launcher_categories": frozenset(chain["launchers"]["categories"]),
        "launcher_names": frozenset(n.casefold() for n in chain["launchers"]["names"]),
        "child_categories": frozenset(chain["children"]["categories"]),
        "child_names": frozenset(n.casefold() for n in chain["children"].get("names") or ()),
        "child_unknown": bool(chain["children"].get("unknown")),
        "fan_out_categories": frozenset(raw["routine_fan_out"]["categories"]),
        "channel_categories": frozenset(raw["routine_channels"]["categories"]),
    }


def _category(name: str) -> str | None:
    return getattr(lookup(name, "process"), "category", None) if name else None


def is_launcher(name: str) -> bool:
    r = roles()
    return name.casefold() in r["launcher_names"] or _category(name) in r["launcher_categories"]


def _is_chain_child(name: str) -> bool:
    r = roles()
    entry = lookup(name, "process")
    if name.casefold() in r["child_names"]:
        return True
    return (entry is None and r["child_unknown"]) or (entry is not None and entry.category in r["child_categories"])


def routine_channel(name: str) -> bool:
    """A process whose ordinary work keeps talking to one server (``routine_channels``)."""
    return _category(name) in roles()["channel_categories"]


def routine_fan_out(name: str) -> bool:
    """A process whose ordinary work reaches several hosts of its site (``routine_fan_out``)."""
    return _category(name) in roles()["fan_out_categories"]


@dataclass(frozen=True)
class Link:
    """How one process of an attack chain got there: ``how`` in words (its path back to the
    chain's start, from the log's rows) and ``rows``, the descriptions that show that path."""

    how: str
    rows: np.ndarray


def _starts(view: LogView) -> tuple[np.ndarray, dict[str, set[str]]]:
    """The descriptions where a named process starts or executes another, and each
    parent's children by name."""
    cached = view.__dict__.get("_starts")
    if cached is not None:
        return cached
    desc = view.desc
    event, subject, name = desc["event"], desc["subject_name"], desc["object_name"]
    starts = view.present & (((event == "process_start") & (desc["object_kind"] == "process")) | (event == "execute"))
    starts &= ~view.desc_in("object_name", _PLACEHOLDERS) & (subject != "")
    children: dict[str, set[str]] = {}
    for code in np.flatnonzero(starts).tolist():
        children.setdefault(subject[code], set()).add(name[code])
    view.__dict__["_starts"] = (starts, children)
    return starts, children


def descendants(view: LogView, parents: set[str]) -> set[str]:
    """The processes the log shows ``parents`` starting, and theirs in turn (by name),
    less ``parents`` themselves."""
    _, children = _starts(view)
    found: set[str] = set()
    frontier = set(parents)
    for _ in range(_MAX_DEPTH):
        grown = {c for p in frontier for c in children.get(p, ())} - found - set(parents)
        if not grown:
            break
        found |= grown
        frontier = grown
    return found


def attack_chain(view: LogView, channels: bool = True) -> dict[str, Link]:
    """Each process name of an attack chain the log shows, with how it got there:
    ``{"cmd.exe": Link("cmd.exe started by WINWORD.EXE", rows)}``. ``channels``: whether
    processes holding a command-and-control channel start chains (the Command and Control
    rule itself asks without them)."""
    key = "_attack_chain" if channels else "_attack_chain_without_channels"
    cached = view.__dict__.get(key)
    if cached is not None:
        return cached
    desc = view.desc
    subject, name = desc["subject_name"], desc["object_name"]
    starts, children = _starts(view)

    def started(parent: str, child: str) -> np.ndarray:
        return starts & (subject == parent) & (name == child)

    found: dict[str, Link] = {}
    compromised: dict[str, Link] = {}  # launchers that started a chain
    for parent in sorted(children):
        if is_launcher(parent):
            for child in sorted(children[parent]):
                if child != parent and _is_chain_child(child):
                    found.setdefault(child, Link(f"{child} started by {parent}", started(parent, child)))
                    compromised.setdefault(parent, Link(f"{parent}, which started {child}", started(parent, child)))
    for dropped, rows in sorted(_dropped(view, set(name[starts]) | set(subject[view.present])).items()):
        if dropped not in found:
            found[dropped] = Link(f"{dropped}, a program written in this subgraph and run", rows)
    for channel, rows in sorted(_command_channels(view).items()) if channels else ():
        if channel not in found:
            found[channel] = Link(f"{channel}, which holds a command-and-control channel", rows)
    frontier = sorted(found)
    for _ in range(_MAX_DEPTH):
        grown = {}
        for parent in frontier:
            for child in sorted(children.get(parent, ())):
                if child not in found and child not in grown:
                    link = found[parent]
                    grown[child] = Link(f"{child} started by {link.how}", link.rows | started(parent, child))
        if not grown:
            break
        found.update(grown)
        frontier = sorted(grown)
    view.__dict__[key] = found
    view.__dict__[key + "_launchers"] = compromised
    return found


def compromised_launchers(view: LogView) -> dict[str, Link]:
    """Launchers the log shows starting an attack chain (a browser that started a shell),
    and writers of the programs dropped and run that are launchers (a browser, a mail client
    that wrote one): such a client is not doing only its ordinary work."""
    attack_chain(view, channels=False)
    found = dict(view.__dict__["_attack_chain_without_channels_launchers"])
    for dropped, link in attack_chain(view, channels=False).items():
        if link.how.endswith("a program written in this subgraph and run"):
            writers = view.values("subject_name", link.rows & view.desc_in("event", ("file_write", "file_create")))
            for writer in sorted(w for w in writers if w and is_launcher(w)):
                found.setdefault(writer, Link(f"{writer}, which wrote {dropped} that then ran", link.rows))
    return found


def _dropped(view: LogView, run: set[str]) -> dict[str, np.ndarray]:
    """Programs the subgraph wrote (not a package manager, vendor updater or Windows
    servicing, whose ordinary work that is) that run as processes in it, each with the
    descriptions of its writes and its runs."""
    from .structural import ROUTINE_WRITERS, _mechanisms_for

    desc = view.desc
    written = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_kind", ("file", "link"))
    written &= view.desc_in("object_name", run - _PLACEHOLDERS)
    if not written.any():
        return {}
    routine = view.desc_where("subject_name", lambda s: _category(s) in ROUTINE_WRITERS, written)
    for mechanism in _mechanisms_for("Initial Compromise"):  # Windows servicing installing its binaries
        routine |= view.table.any_selection(mechanism._selections, written & ~routine)
    kept = written & ~routine
    running = view.present & (((desc["event"] == "process_start") & (desc["object_kind"] == "process")) | (desc["event"] == "execute"))
    found = {}
    for program in sorted(set(desc["object_name"][kept])):
        runs = running & (desc["object_name"] == program)
        if not runs.any():  # runs only as a subject: its earliest row shows it running
            own = np.flatnonzero(view.present & (desc["subject_name"] == program))
            runs = np.zeros(len(kept), dtype=bool)
            runs[own[np.argmin(view.first_minutes[own])]] = True
        found[program] = (kept & (desc["object_name"] == program)) | runs
    return found


def _command_channels(view: LogView) -> dict[str, np.ndarray]:
    """Processes the Command and Control rule finds holding a channel, each with the
    descriptions of its outbound rows that the finding cites."""
    from .structural import command_and_control

    found: dict[str, np.ndarray] = {}
    desc = view.desc
    for finding in command_and_control(view):
        if finding.positions is None or not len(finding.positions):
            continue
        codes = view._codes[finding.positions]
        codes = codes[desc["event"][codes] == "network_out"]
        for who in sorted(set(desc["subject_name"][codes]) - {""}):
            rows = found.setdefault(who, np.zeros(len(view.pattern_rows), dtype=bool))
            rows[codes[desc["subject_name"][codes] == who]] = True
    return found


def powershell_signs(view: LogView) -> np.ndarray:
    """Descriptions showing PowerShell running inside their subject (shell commands, its
    script-policy test files, its automation library loaded), by the rule
    ``execution-powershell``; starting ``powershell.exe`` is not running it inside."""
    from .patterns import builtin_rules

    rule = next(r for r in builtin_rules() if r.id == "execution-powershell")
    return view.table.rule(rule) & view.present & ~view.desc_in("event", ("process_start", "execute"))


def runs_powershell(view: LogView) -> set[str]:
    """Processes the log shows running PowerShell inside them (``powershell_signs``)."""
    return view.values("subject_name", powershell_signs(view)) - {""}


def acting_for_an_attacker(view: LogView, channels: bool = True) -> dict[str, Link]:
    """``attack_chain`` plus the processes running PowerShell inside them (said so, citing
    those rows)."""
    found = dict(attack_chain(view, channels))
    signs = powershell_signs(view)
    for name in sorted(runs_powershell(view)):
        if name not in found:
            found[name] = Link(f"{name} running PowerShell", signs & (view.desc["subject_name"] == name))
    return found
