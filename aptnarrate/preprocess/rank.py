"""Transparent, additive scoring of candidate IoCs.

Each rule adds a weight and says why in one human-readable reason; a candidate's score is
the sum, its likelihood follows from fixed thresholds, and its rank from the score. There
is no hidden model: every number in a report can be traced back to a reason string here.

Rules look at a :class:`Profile`, the per-candidate summary ``facts`` computes from distinct
triples (never from single events), so they cost nothing on large inputs.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Sequence

from ..errors import UsageError
from .knowledge import is_library, lookup
from ..wording import mid_sentence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MODERATE_AT = 3.0
# what deleting or renaming files adds to a process's score (a narrator takes it back where
# every such file is routine churn: ``prompt_context.deletion_mechanisms``)
DELETES_RENAMES_WEIGHT = 1.5
HIGH_AT = 6.0
TABLE_FILL = 5  # low-likelihood candidates are listed only while the table is shorter than this
# the IoC table lists at most this many candidates, in rank order: a table of thousands (a
# scan's every address) is read by no analyst, and each row costs every later stage (the
# narration, grounding, STIX) work; ``inspect`` lists every candidate
TABLE_MAX = 500

# TC3 and OpTC spellings (aptnarrate/data/events.yaml has the full vocabulary)
OUTBOUND = frozenset({"CONNECT", "SENDTO", "SENDMSG", "START_OUTBOUND", "MESSAGE_OUTBOUND", "OPEN_OUTBOUND"})
INBOUND = frozenset({"ACCEPT", "RECVFROM", "RECVMSG", "START_INBOUND", "MESSAGE_INBOUND", "OPEN_INBOUND"})
SENDS = frozenset({"SENDTO", "SENDMSG", "WRITE", "MESSAGE_OUTBOUND"})
WRITES = frozenset({"WRITE", "UPDATE", "CREATE_OBJECT", "TRUNCATE", "MODIFY", "CREATE"})
DELETES = frozenset({"UNLINK", "DELETE"})
RENAMES = frozenset({"RENAME", "LINK"})
ATTRIBUTES = frozenset({"MODIFY_FILE_ATTRIBUTES"})
EXECUTES = frozenset({"EXECUTE"})
STARTS = frozenset({"FORK", "CLONE", "EXECUTE"})
# binaries whose ordinary job is to download, write and delete files: that alone is routine
ROUTINE = frozenset({"package manager", "software updater"})
# knowledge-base categories of tools attackers bring (no system binaries): the rank weighs them,
# and a build that makes one (a public exploit compiled) is no ordinary build
ATTACK_TOOLS = frozenset({"credential tool", "exploit tool", "cryptominer"})
DUAL_USE = frozenset({"shell", "interpreter", "network tool", "privilege tool", "windows admin tool"})
LOADS = frozenset({"LOADLIBRARY", "LOAD"})

_TEMP_PATH = re.compile(r"(^|[/\\])(tmp|var[/\\]tmp|dev[/\\]shm|temp)([/\\]|$)|appdata[/\\]local[/\\]temp", re.I)
_SCRIPT_OR_BINARY = re.compile(r"\.(sh|bash|py|pl|rb|php|ps1|psm1|bat|cmd|vbs|vbe|jse|hta|exe|scr|elf|bin|jar|run|out)$", re.I)


@dataclass
class Profile:
    """What the data says about one candidate (all entities with one kind and display name)."""

    kind: str
    value: str
    full_values: list[str]
    counts: dict[tuple[str, str], int]  # (role "subject"/"object", action) -> distinct seconds
    first_time: dict[tuple[str, str], int]  # (role, action) -> earliest event time (ns)
    minutes: int  # distinct minutes the candidate appears in
    peers_out: set[tuple[str, str, str]] = field(default_factory=set)  # (action, object kind, object name)
    peers_in: set[tuple[str, str, str]] = field(default_factory=set)  # (action, subject kind, subject name)
    swept: str | None = None  # words on the network sweep that reached this address, if any

    def seconds(self, role: str, actions: frozenset[str] | set[str]) -> int:
        # a plain loop: the rules ask about five times per candidate, and a generator costs
        # more than the few (role, action) pairs it would walk
        total = 0
        for (r, a), n in self.counts.items():
            if r == role and a in actions:
                total += n
        return total

    def first(self, role: str, actions: frozenset[str]) -> int | None:
        times = [t for (r, a), t in self.first_time.items() if r == role and a in actions]
        return min(times) if times else None


@dataclass
class Score:
    total: float = 0.0
    reasons: list[tuple[float, str]] = field(default_factory=list)
    features: list[str] = field(default_factory=list)

    def add(self, weight: float, feature: str, reason: str) -> None:
        self.total += weight
        self.reasons.append((weight, reason))
        self.features.append(feature)

    def ranked_reasons(self) -> list[str]:
        # highest weight first; a reverse sort is still stable: equal weights keep their order
        return [reason for _, reason in sorted(self.reasons, key=itemgetter(0), reverse=True)]


# --------------------------------------------------------------------------- networks


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    """``--internal-net`` values as networks; a bad CIDR is a usage error."""
    networks = []
    for text in cidrs:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise UsageError(
                f"invalid --internal-net value {text!r}: expected a CIDR such as 10.0.0.0/8 or 128.55.12.0/24"
            ) from None
    return tuple(networks)


def address_class(value: str, internal: Sequence[Network]) -> tuple[str, str]:
    """(class, description) of a remote address.

    Classes: ``internal`` (in a declared network), ``loopback``, ``private``, ``local``
    (link-local, multicast, reserved, unspecified), ``public``, ``unknown`` (not an IP).
    Public addresses are described as "not in a declared internal network", never as an
    attacker: whether they are outside the organisation is for the analyst to say.
    """
    # each address is parsed once per set of networks: the scores, the candidates' types
    # and the rules ask about the same few hundred addresses many times (bounded: names
    # come from the log)
    return _address_class(value, tuple(internal))


@lru_cache(maxsize=1 << 17)  # above a sweep's tens of thousands of hosts, each asked twice
def _address_class(value: str, internal: tuple[Network, ...]) -> tuple[str, str]:
    try:
        ip = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return "unknown", "remote endpoint that is not an IP address"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        # a dual-stack socket's peer (::ffff:a.b.c.d) is the IPv4 host a.b.c.d
        ip = ip.ipv4_mapped
    for net in internal:
        if ip.version == net.version and ip in net:
            return "internal", f"in declared internal network {net}"
    if ip.is_loopback:
        return "loopback", "loopback address (traffic stays on the host)"
    if ip.is_unspecified or ip.is_link_local or ip.is_multicast or ip.is_reserved:
        return "local", "link-local, multicast or reserved address"
    if any(ip.version == net.version and ip in net for net in _DOCUMENTATION):
        # TEST-NET ranges stand in for Internet hosts in examples and exercises
        return "public", "documentation-range address standing for an Internet host, not in a declared internal network"
    if ip.is_private:
        return "private", "private address (not routable on the Internet)"
    return "public", "public address, not in a declared internal network"


# ipaddress counts these as private; they are examples of Internet addresses (RFC 5737, 3849)
_DOCUMENTATION = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


# --------------------------------------------------------------------------- rules


def score_all(profiles: Sequence[tuple[Profile, str]], internal: Sequence[Network], events: Sequence[list] | None = None) -> list[Score]:
    """``score`` for every (profile, candidate type) of a subgraph, with the pattern rules
    matched over all their events at once (one rule table instead of a test per event).
    ``events``: each profile's ``_pattern_rows`` when the caller has them (``facts`` builds
    them from the descriptions)."""
    from ..rules.patterns import gather_unless, matching_rules_many, unless_applies

    if events is None:
        events = [_pattern_rows(profile) for profile, _ in profiles]
    every_row = list(chain.from_iterable(events))  # walked by each whole-subgraph reading below
    matches = matching_rules_many(every_row, where=ranks)
    # a rule's ``unless`` reads the whole subgraph, not one event: only the kinds of the rules
    # that matched are read (most subgraphs ask for none, and then the matches stand)
    gathered = gather_unless(every_row, (kind for rules in matches.values() for rule in rules for kind in rule.unless))
    gathered = {kind: found for kind, found in gathered.items() if found}

    def kept(row) -> tuple:
        return tuple(rule for rule in matches[row] if not unless_applies(rule, row, gathered))

    matching = kept if gathered else matches.__getitem__
    return [score(profile, kind, internal, matching, rows) for (profile, kind), rows in zip(profiles, events)]


def score(profile: Profile, candidate_type: str, internal: Sequence[Network], matching=None, events=None) -> Score:
    """``matching``: a row's pattern rules (default ``rules.patterns.matching_rules``);
    ``events``: the candidate's pattern rows when already built."""
    result = Score()
    if candidate_type == "ip":
        _score_address(profile, internal, result)
    elif candidate_type == "process":
        _score_process(profile, internal, result)
    elif candidate_type in ("file", "module", "directory"):
        _score_file(profile, result)
    elif candidate_type == "registry":
        _score_registry(profile, result)
    else:
        _score_other(profile, result)
    _score_patterns(profile, result, matching, events)
    return result


_PATTERN_WEIGHT = {"high": 2.5, "moderate": 2.0, "low": 1.5}
MAX_PEERS_FOR_PATTERNS = 200  # bounds the work per candidate on very large inputs


def ranks(rule) -> bool:
    """Whether a pattern rule weighs in the rank. A rule that counts only for a process
    acting for an attacker matches what its ungated twin trusts (a service host's remote
    threads, Defender opening LSASS, sc.exe): the rank, which knows no attack chain, would
    weigh every routine instance of it; the stage it claims in an attack still cites it."""
    return rule.lineage != "acting for an attacker"


def _pattern_rows(p: Profile) -> list:
    """The events this candidate takes part in, as the pattern rules read them."""
    from ..rules.patterns import Row

    paths = tuple(p.full_values[:20])
    rows = [Row(p.value, a, name, p.kind, kind) for a, kind, name in sorted(p.peers_out)[:MAX_PEERS_FOR_PATTERNS]]
    rows += [Row(name, a, p.value, kind, p.kind, paths) for a, kind, name in sorted(p.peers_in)[:MAX_PEERS_FOR_PATTERNS]]
    return rows


def _score_patterns(p: Profile, s: Score, matching=None, rows=None) -> None:
    """Pattern rules (data/rules/*.yaml) that match an event this candidate takes part in."""
    if matching is None:
        from ..rules.patterns import matching_rules as matching
    rows = _pattern_rows(p) if rows is None else rows
    matched = {rule.id: rule for row in rows for rule in matching(row) if ranks(rule)}
    for rule in matched.values():
        ids = ", ".join(rule.techniques)
        s.add(_PATTERN_WEIGHT[rule.confidence], f"rule:{rule.id}", f"{mid_sentence(rule.title)} (ATT&CK {ids})")


def is_this_host(p: Profile) -> bool:
    """An address seen only on flows whose recorded address is the monitored host (OpTC inbound)."""
    from ..rules.events import names_this_host

    actions = [a for (role, a) in p.counts if role == "object"]
    return bool(actions) and all(names_this_host(a) for a in actions)


def _score_address(p: Profile, internal: Sequence[Network], s: Score) -> None:
    from ..rules.profiles import public_resolvers

    cls, text = address_class(p.value, internal)
    resolver = public_resolvers().get(p.value)
    this_host = is_this_host(p)
    if this_host:
        s.add(1.0, "this-host", "this host's own address: the log records it as the local end of inbound flows")
    elif resolver and cls != "internal":
        s.add(0.0, "public-resolver", f"well-known public DNS resolver ({resolver})")
    else:
        weight = {"public": 3.0, "private": 1.0, "internal": 1.0, "unknown": 1.0}.get(cls, 0.0)
        s.add(weight, f"{cls}-ip", text)
    if p.swept:
        s.add(3.0, "swept", f"reached in a network sweep (ATT&CK T1046, network service discovery): {p.swept}")
    out = p.seconds("object", OUTBOUND)
    if out:
        s.add(1.0, "outbound", f"outbound connection or send from the subgraph ({_times(out)})")
    inbound = p.seconds("object", INBOUND)
    if inbound:
        s.add(0.5, "inbound", f"inbound connection or receive ({_times(inbound)})")
    # traffic to this host in many minutes says nothing of a beacon to an address
    if p.minutes >= 3 and (out or inbound) and not this_host:
        s.add(1.5, "repeated-contact", f"contacted in {p.minutes} different minutes (beacon-like)")
    sent = p.seconds("object", SENDS)
    if sent >= 5:
        s.add(1.0, "data-sent", f"data sent to it in {sent} distinct seconds")


def _score_process(p: Profile, internal: Sequence[Network], s: Score) -> None:
    entry = lookup(p.value, "process")
    # processes are the actors of an attack: any named one in the subgraph is worth a look
    s.add(1.0, "process", "a named process in the flagged subgraph")
    if p.seconds("subject", OUTBOUND):
        classes = {address_class(name, internal)[0] for action, kind, name in p.peers_out if kind == "flow" and name}
        if classes and classes <= {"private", "internal", "loopback", "local"}:
            s.add(1.0, "connects-out", "makes outbound network connections, to private or internal addresses only")
        else:
            s.add(2.0, "connects-out", "makes outbound network connections")
        if "public" in classes:
            s.add(1.0, "talks-public", "talks to a public address not in a declared internal network")
    if p.seconds("subject", INBOUND):
        s.add(1.0, "receives", "accepts or receives network traffic")
    if p.seconds("subject", frozenset({"CHANGE_PRINCIPAL"})):
        s.add(3.0, "changes-principal", "changes its user identity (CHANGE_PRINCIPAL)")
    if p.seconds("subject", EXECUTES):
        s.add(2.0, "executes", "executes programs")
    if p.seconds("subject", frozenset({"FORK", "CLONE"})):
        s.add(1.0, "forks", "forks or clones processes")
    if p.seconds("subject", DELETES | RENAMES):
        s.add(DELETES_RENAMES_WEIGHT, "deletes-renames", "deletes or renames files")
    if p.seconds("subject", frozenset({"MPROTECT"})):
        s.add(1.0, "mprotect", "changes memory protection (MPROTECT), as code loaders and injectors do")
    if p.seconds("subject", LOADS):
        s.add(0.5, "loads-modules", "loads modules")
    started = sorted({a for (role, a) in p.counts if role == "object" and a in STARTS})
    if started:
        s.add(1.5, "started", f"started inside the flagged subgraph ({', '.join(started)})")
    if p.seconds("object", frozenset({"EXIT"})):
        s.add(1.0, "exited", "its exit is recorded in the flagged subgraph")
    if entry is None:
        s.add(2.0, "unknown-binary", "not a common binary in the knowledge base")
    elif entry.category in DUAL_USE:
        s.add(1.0, "dual-use", f"{_article(entry.category)} {entry.category}, often used by attackers")
    elif entry.category in ROUTINE:
        s.add(-2.0, "routine-binary", f"{_article(entry.category)} {entry.category}: downloading, writing and deleting files is its job")


# the object actions ``_score_file`` asks about, in disjoint sets: each action adds its
# seconds to one slot, so a file's counts are read once, not once per question
_FILE_ACTION_SETS = (EXECUTES, WRITES, DELETES, RENAMES, ATTRIBUTES, frozenset({"MMAP"}) | LOADS)
_EXECUTED, _WRITTEN, _DELETED, _RENAMED, _ATTRIBUTES, _MAPPED = range(len(_FILE_ACTION_SETS))
_FILE_ACTION_SLOT = {action: slot for slot, actions in enumerate(_FILE_ACTION_SETS) for action in actions}


def _file_seconds(p: Profile) -> list[int]:
    """``p.seconds("object", actions)`` of each of ``_FILE_ACTION_SETS``, in one pass."""
    totals = [0] * len(_FILE_ACTION_SETS)
    slot_of = _FILE_ACTION_SLOT.get
    for (role, action), n in p.counts.items():
        if role == "object":
            slot = slot_of(action)
            if slot is not None:
                totals[slot] += n
    return totals


def _score_file(p: Profile, s: Score) -> None:
    entry = lookup(p.value, "module" if p.kind == "module" else "file")
    seconds = _file_seconds(p)
    executed, written = seconds[_EXECUTED], seconds[_WRITTEN]
    deleted, renamed, attributes = seconds[_DELETED], seconds[_RENAMED], seconds[_ATTRIBUTES]
    if executed:
        s.add(2.0, "executed", f"executed ({_times(executed)})")
    if written:
        s.add(1.5, "written", f"written or created ({_times(written)})")
    if executed and written:
        first_write, first_exec = p.first("object", WRITES), p.first("object", EXECUTES)
        if first_write is not None and first_exec is not None and first_write <= first_exec:
            s.add(3.0, "written-then-executed", "written, then executed")
    if deleted:
        s.add(2.0, "deleted", "deleted (UNLINK)")
    if renamed:
        s.add(1.5, "renamed", "renamed or linked")
    if attributes:
        s.add(1.5, "chmod", "attributes changed (chmod/chown)")
    if seconds[_MAPPED] and is_library(p.value):  # the name is read only for a mapped file
        s.add(0.5, "mapped-library", "memory-mapped or loaded library (low signal on its own)")
    if entry is not None and entry.sensitive:
        s.add(2.0, "sensitive", f"sensitive system file ({entry.category})")
        if written or deleted or renamed or attributes:
            s.add(2.0, "sensitive-modified", f"{_article(entry.category)} {entry.category} was modified")
    elif entry is not None and entry.type == "binary" and entry.category in ATTACK_TOOLS and (written or deleted or attributes):
        # no system binary: a tool attackers bring, written onto the host
        s.add(2.0, "binary-modified", f"a known attack tool ({entry.category}) written or changed")
    elif entry is not None and entry.type == "binary" and (written or deleted or attributes):
        s.add(2.0, "binary-modified", f"a known system binary ({entry.category}) was modified")
    if executed and entry is not None and entry.category == "discovery tool":
        s.add(1.0, "discovery-tool", "a discovery tool: reveals system or network information")
    elif executed and entry is not None and entry.category in DUAL_USE:
        s.add(1.0, "dual-use", f"{_article(entry.category)} {entry.category}, often used by attackers")
    if any(_TEMP_PATH.search(v) for v in p.full_values) or (p.value.startswith(".") and p.value.strip(".")):
        s.add(1.0, "temp-or-hidden", "in a temporary or hidden location")
    if _SCRIPT_OR_BINARY.search(p.value):
        s.add(1.0, "script-or-binary", "script or executable by its extension")
    if entry is None:
        s.add(1.0, "unknown-file", "not a known system file or binary")


def _score_registry(p: Profile, s: Score) -> None:
    entry = lookup(p.value, "registry") or next(
        (lookup(v, "registry") for v in p.full_values if lookup(v, "registry")), None
    )
    if entry is not None and entry.category == "persistence location":
        s.add(3.0, "persistence-key", f"persistence location: {entry.usage.rstrip('.')}")
    if p.seconds("object", WRITES | frozenset({"SET", "ADD", "EDIT"})):
        s.add(1.5, "written", "registry value written")
    if p.seconds("object", DELETES | frozenset({"REMOVE"})):
        s.add(1.5, "deleted", "registry value deleted")


def _score_other(p: Profile, s: Score) -> None:
    if p.seconds("object", WRITES | SENDS):
        s.add(0.5, "written", "written to")


def likelihood(total: float) -> str:
    if total >= HIGH_AT:
        return "high"
    if total >= MODERATE_AT:
        return "moderate"
    return "low"


def table_flags(likelihoods: Sequence[str]) -> list[bool]:
    """The IoC table: every moderate or high candidate, plus low ones (in rank order) only
    while the table is shorter than ``TABLE_FILL``, so it is never padded with every library;
    at most ``TABLE_MAX`` in all."""
    flags, listed = [], 0
    for level in likelihoods:
        keep = (level != "low" or listed < TABLE_FILL) and listed < TABLE_MAX
        flags.append(keep)
        listed += keep
    return flags


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
