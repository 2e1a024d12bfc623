"""Structural rules: behaviour a single log row cannot show (sweeps, beacons, sequences).

Each rule reads a :class:`~aptnarrate.rules.stages.LogView` and returns a list of
``StageEvidence``; each names its ATT&CK tactic and techniques. Network shape is judged
before address class: a fan-out sweep is reconnaissance whatever the addresses are.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..preprocess.knowledge import lookup
from .events import names_this_host
from .profiles import public_resolvers

if TYPE_CHECKING:  # pragma: no cover
    from .stages import LogView

from .stages import StageEvidence, _names

MINUTE_NS = 60 * 10**9
SWEEP_MIN_HOSTS = 4  # distinct hosts of one subnet reached by one subject ...
SWEEP_WINDOW_MIN = 10  # ... within this many minutes
C2_MIN_MINUTES = 3  # outbound exchange with one address in at least this many minutes, or
C2_MIN_EACH_WAY = 3  # this many distinct seconds each way
C2_MIN_SHARE = 0.5  # of the subject's traffic to non-internal addresses
PLACEHOLDERS = frozenset({"", ".", "..", "0", "-", "?"})
EXECUTABLE = re.compile(r"\.(exe|scr|com|pif|bat|cmd|ps1|psm1|vbs|vbe|jse|hta|jar|sh|bash|py|pl|elf|bin|run|dll|msi|lnk)$", re.I)
SCRIPT_OR_BINARY = re.compile(r"\.(exe|scr|com|bat|cmd|ps1|psm1|vbs|vbe|hta|jar|sh|bash|py|pl|php|rb|elf|bin|run|so|dll)$", re.I)
_COMPILER_TEMP = re.compile(r"^(?P<stem>.+?)\.(dll|pdb|out|err|tmp|0\.cs|cmdline)$", re.I)


def _where(frame: pd.DataFrame, column: str, test) -> np.ndarray:
    """A boolean mask from a per-value test, run once per distinct value: a million-row log
    repeats a few thousand names over hundreds of thousands of rows (also for empty frames,
    where .map loses the dtype)."""
    values = frame[column]
    if values.empty:
        return np.zeros(0, dtype=bool)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    flags = np.fromiter((bool(test(v)) for v in uniques), dtype=bool, count=len(uniques))
    if (codes < 0).any():  # missing values: tested as they are, like any other value
        flags = np.append(flags, bool(test(values.iloc[int(np.argmax(codes < 0))])))
    return flags[codes]


def _ids(frame: pd.DataFrame) -> tuple[str, ...]:
    return tuple(frame["id"].tolist())


def _ipv4(name: str):
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return None
    return ip if ip.version == 4 and not (ip.is_loopback or ip.is_unspecified or ip.is_multicast) else None


def this_host_addresses(view: LogView) -> set[str]:
    """Flow addresses seen only with actions that name the monitored host (OpTC inbound)."""
    cached = view.__dict__.get("_this_host")
    if cached is not None:
        return cached
    rows = view.rows
    flows = rows[(rows["object_kind"] == "flow") & (rows["object_name"] != "")]
    local = _where(flows, "action", names_this_host)
    view.__dict__["_this_host"] = set(flows.loc[local, "object_name"]) - set(flows.loc[~local, "object_name"])
    return view.__dict__["_this_host"]


# --------------------------------------------------------------------------- network shape


def sweeps(rows: pd.DataFrame) -> list[dict]:
    """Per subject: hosts of one /24 reached (connect/close/send) within a few minutes."""
    flows = rows[(rows["object_kind"] == "flow") & rows["event"].isin(("network_out", "network_close"))]
    found = []
    subnet_of: dict[str, str | None] = {}  # each address parsed once, not once per row
    for subject, group in flows.groupby("subject_name", sort=True):
        # per distinct address (in order of first appearance): its first minute
        codes, names = pd.factorize(group["object_name"])
        first_minutes = pd.Series(group["minute"].to_numpy()).groupby(codes).min().to_numpy()  # index: code
        nets: dict[str, dict[str, int]] = {}
        for code, name in enumerate(names):
            if name not in subnet_of:
                ip = _ipv4(name)
                subnet_of[name] = None if ip is None else str(ipaddress.ip_network(f"{ip}/24", strict=False))
            net = subnet_of[name]
            if net is not None:
                nets.setdefault(net, {})[name] = int(first_minutes[code])
        for net, hosts in nets.items():
            if len(hosts) < SWEEP_MIN_HOSTS:
                continue
            firsts = sorted(hosts.values())
            # the tightest window holding SWEEP_MIN_HOSTS first contacts
            spans = [firsts[i + SWEEP_MIN_HOSTS - 1] - firsts[i] for i in range(len(firsts) - SWEEP_MIN_HOSTS + 1)]
            if min(spans) > SWEEP_WINDOW_MIN * MINUTE_NS:
                continue
            mask = group["object_name"].isin(hosts)
            found.append({"subject": subject, "subnet": net, "hosts": sorted(hosts, key=lambda h: ipaddress.ip_address(h)), "rows": group[mask]})
    return found


def sweep_rule(view: LogView) -> list[StageEvidence]:
    out = []
    for sweep in view.sweeps:
        rows = sweep["rows"]
        who = f"`{sweep['subject']}`" if sweep["subject"] else "one process"
        span = (rows["minute"].max() - rows["minute"].min()) // MINUTE_NS + 1
        closes = rows["event"].eq("network_close").any()
        reason = (
            f"Network sweep: {who} reached {len(sweep['hosts'])} hosts of {sweep['subnet']} within {span} minute(s)"
            f"{' and closed each connection' if closes else ''}, the shape of a host or port scan, not of a conversation."
        )
        out.append(StageEvidence("Internal Reconnaissance", "high", _ids(rows), reason, "TA0007", ("T1046",)))
    return out


def neighbours_of_this_host(view: LogView, names) -> set[str]:
    """Addresses in the same /16 as an address the log shows to be this host's own: hosts of
    the same site, whatever networks were declared (said so wherever it matters)."""
    local = [ipaddress.ip_network(f"{a}/16", strict=False) for a in this_host_addresses(view) if _ipv4(a)]
    return {n for n in names if (ip := _ipv4(n)) is not None and any(ip in net for net in local)} - this_host_addresses(view)


def _excluded_address(view: LogView, name: str, local: set[str], neighbours: set[str] = frozenset()) -> bool:
    if name in local or name in public_resolvers() or name in neighbours:
        return True
    return view.address_class(name) in ("internal", "loopback", "local")


def command_and_control(view: LogView) -> list[StageEvidence]:
    rows = view.rows
    flows = rows[(rows["object_kind"] == "flow") & (rows["object_name"] != "") & rows["event"].isin(("network_out", "network_in"))]
    if flows.empty:
        return []
    local = this_host_addresses(view)
    neighbours = neighbours_of_this_host(view, set(flows["object_name"]))
    swept = {h for s in view.sweeps for h in s["hosts"]}
    shell_commands = rows[rows["event"] == "shell_command"]  # filtered once, not per address
    out = []
    for subject, group in flows.groupby("subject_name", sort=True):
        remote = group[~_where(group, "object_name", lambda n: _excluded_address(view, n, local, neighbours) or n in swept)]
        if remote.empty:
            continue
        total = remote["count"].sum()
        addresses = remote["object_name"].unique()
        entry = lookup(subject, "process") if subject else None
        if entry is not None and entry.category == "browser" and len(addresses) >= 3:
            continue  # a browser talking to many sites is browsing; the IoC table still lists them
        for address, pair in remote.groupby("object_name", sort=True):
            sent = pair.loc[pair["event"] == "network_out"]
            received = pair.loc[pair["event"] == "network_in"]
            out_minutes = sorted(sent["minute"].unique())
            sustained = len(out_minutes) >= C2_MIN_MINUTES or (
                sent["count"].sum() >= C2_MIN_EACH_WAY and received["count"].sum() >= C2_MIN_EACH_WAY and pair["minute"].nunique() >= 2
            )
            if not sustained or pair["count"].sum() < C2_MIN_SHARE * total or sent.empty:
                continue
            period = _period(out_minutes)
            who = f"`{subject}`" if subject else "one process"
            reason = (
                f"Sustained exchange between {who} and {address} (not internal): {int(sent['count'].sum())} outbound and "
                f"{int(received['count'].sum())} inbound event-seconds over {pair['minute'].nunique()} minute(s)"
            )
            reason += f", beacon-like about every {period} minute(s)." if period else "."
            confidence = "high" if period or (sent["count"].sum() >= 5 and received["count"].sum() >= 5) else "moderate"
            # commands paired minute by minute with the messages: a remotely driven shell
            commands = shell_commands[shell_commands["subject_name"] == subject]
            shared = set(commands["minute"]) & set(sent["minute"])
            techniques = ["T1071"]
            evidence = pair
            if len(shared) >= 2:
                reason += f" Shell commands run in {len(shared)} of the same minutes: a remotely driven command loop."
                techniques.append("T1059.001")
                evidence = pd.concat([pair, commands[commands["minute"].isin(shared)]])
                confidence = "high"
            out.append(StageEvidence("Command and Control", confidence, _ids(evidence), reason, "TA0011", tuple(techniques)))
    return out


def _period(minutes: list) -> int | None:
    """The spacing in minutes when contacts recur regularly (at least 3 of them)."""
    if len(minutes) < 3:
        return None
    gaps = np.diff(np.asarray(minutes, dtype=np.int64) // MINUTE_NS)
    return int(np.median(gaps)) if gaps.max() - gaps.min() <= 1 else None


# --------------------------------------------------------------------------- sequences


def ingress_then_run(view: LogView) -> list[StageEvidence]:
    """A file written, then chmod'ed or executed, in a subgraph with network traffic."""
    rows = view.rows
    network = rows["event"].isin(("network_out", "network_in"))
    if not network.any():
        return []
    named = ~rows["object_name"].isin(PLACEHOLDERS) & rows["object_kind"].isin(("file", "link"))
    written = rows[named & rows["event"].isin(("file_write", "file_create"))]
    routine = view.per_pattern_row(lambda r: getattr(lookup(r.subject, "process"), "category", None) == "package manager")
    first_write = written[~routine[written.index]].groupby("object_name")["minute"].min().to_dict()
    armed = rows[named & rows["event"].isin(("file_attribute", "execute"))]
    armed = armed[[name in first_write and first_write[name] <= minute for name, minute in zip(armed["object_name"], armed["minute"])]]
    if armed.empty:
        return []
    names = set(armed["object_name"])
    hits = rows[named & rows["object_name"].isin(names) & rows["event"].isin(("file_write", "file_create", "file_attribute", "execute"))]
    how = "made executable (chmod)" if armed["event"].eq("file_attribute").all() else "made executable or executed"
    talkers = set(rows.loc[network & (rows["subject_name"] != ""), "subject_name"])
    writers = set(written.loc[written["object_name"].isin(names), "subject_name"])
    # most specific: the process that talked to the network is the one that wrote the file
    confidence = "high" if writers & talkers else "moderate"
    reason = f"Files written and then {how} while the subgraph talks over the network: {_names(names)} (a downloaded tool)."
    if writers & talkers:
        reason += f" The writer ({_names(writers & talkers)}) is the process that talked to the network."
    return [StageEvidence("Initial Compromise", confidence, _ids(pd.concat([hits, rows[network].head(3)])), reason, "TA0001", ("T1105",))]


def client_drops_executable(view: LogView) -> list[StageEvidence]:
    """A mail client or browser creating an executable the knowledge base does not know."""
    rows = view.rows
    categories = {"mail client": "T1566.001", "browser": "T1189"}
    named_processes = set(rows.loc[rows["subject_name"] != "", "subject_name"]) | set(
        rows.loc[(rows["object_kind"] == "process") & (rows["object_name"] != ""), "object_name"]
    )
    kinds = {getattr(lookup(n, "process"), "category", None) for n in named_processes}
    # an unnamed writer counts when every named process of the subgraph is such a client
    inferred = bool(named_processes) and kinds <= set(categories)

    def client(name: str) -> str | None:
        category = getattr(lookup(name, "process"), "category", None) if name else None
        return category if category in categories else None

    created = rows[rows["event"].isin(("file_create", "file_write")) & ~rows["object_name"].isin(PLACEHOLDERS)]
    out = []
    for name, group in created.groupby("object_name", sort=True):
        if lookup(name, "file") is not None or name.startswith("."):
            continue
        if not (EXECUTABLE.search(name) or "." not in name):
            continue
        subjects = set(group["subject_name"])
        found = {client(s) for s in subjects} - {None}
        if found:
            category, confidence = sorted(found)[0], "moderate"
        elif "" in subjects and inferred:
            category, confidence = sorted(kinds - {None})[0], "low"
        else:
            continue
        reason = (
            f"A {category} {'probably ' if confidence == 'low' else ''}created {name}, an executable the knowledge base does not "
            f"know (a delivered attachment or download)."
        )
        out.append(StageEvidence("Initial Compromise", confidence, _ids(group), reason, "TA0001", (categories[category], "T1105")))
    return out


def covering_tracks(view: LogView) -> list[StageEvidence]:
    """Deleting what the subgraph wrote, executed or chmod'ed, binaries, scripts or logs."""
    rows = view.rows
    named = ~rows["object_name"].isin(PLACEHOLDERS) & rows["object_kind"].isin(("file", "link"))
    is_deleted = (named & rows["event"].isin(("file_delete",))).to_numpy()
    deleted = rows[is_deleted]
    truncated_logs = rows[named & rows["event"].eq("file_truncate")]
    if deleted.empty and truncated_logs.empty:
        return []
    produced = set(rows.loc[named & rows["event"].isin(("file_write", "file_create", "execute", "file_attribute")), "object_name"])
    stems = {m.group("stem").casefold() for n in rows["object_name"].unique() if (m := _COMPILER_TEMP.match(n)) and n.lower().endswith(".cmdline")}
    # both tests are read at the deleted rows only
    routine = view.per_pattern_row(lambda r: getattr(lookup(r.subject, "process"), "category", None) == "package manager", is_deleted)

    def is_log(name: str) -> bool:
        return getattr(lookup(name, "file"), "category", None) == "log file"

    def counts(name: str) -> bool:
        temp = _COMPILER_TEMP.match(name)
        if temp and temp.group("stem").casefold() in stems:
            return False  # the .NET compiler's own temporary files
        return name in produced or bool(SCRIPT_OR_BINARY.search(name)) or is_log(name)

    churn = view.per_pattern_row(lambda r: any(m.explains(r) for m in _mechanisms_for("Covering Tracks")), is_deleted)
    hits = deleted[_where(deleted, "object_name", counts) & ~routine[deleted.index].to_numpy() & ~churn[deleted.index].to_numpy()]
    logs = truncated_logs[_where(truncated_logs, "object_name", is_log)]
    if hits.empty and logs.empty:
        return []
    names = set(hits["object_name"]) | set(logs["object_name"])
    context = rows[named & rows["object_name"].isin(names) & rows["event"].isin(("file_write", "file_create", "execute", "file_attribute"))]
    parts = []
    own = {n for n in hits["object_name"] if n in produced}
    if own:
        parts.append(f"files the subgraph itself wrote, ran or chmod'ed were deleted ({_names(own)})")
    other = set(hits["object_name"]) - own
    if other:
        parts.append(f"binaries, scripts or logs were deleted ({_names(other)})")
    if not logs.empty:
        parts.append(f"log files were truncated ({_names(logs['object_name'])})")
    techniques = ("T1070.004",) + (("T1070.002",) if any(is_log(n) for n in names) else ())
    confidence = "high" if len(names) >= 2 or any(is_log(n) for n in names) else "moderate"
    reason = "; ".join(parts)
    reason = reason[:1].upper() + reason[1:] + "."
    return [StageEvidence("Covering Tracks", confidence, _ids(pd.concat([hits, logs, context])), reason, "TA0005", techniques)]


def _mechanisms_for(stage: str):
    from .benign import mechanisms

    return [m for m in mechanisms() if stage in m.suppresses]


RECON_FILES = frozenset(
    {
        "passwd", "group", "hosts", "os-release", "lsb-release", "issue", "redhat-release", "mounts", "mtab", "fstab",
        "cpuinfo", "meminfo", "version", "utx.active", "utx.lastlogin", "utmp", "wtmp", "lastlog", "resolv.conf",
        "services", "kmem", "mem", "environ", "hostname", "machine-id",
    }
)


def discovery(view: LogView) -> list[StageEvidence]:
    """Several discovery tools, or one with system-information reads."""
    rows = view.rows

    def is_tool(name: str) -> bool:
        return getattr(lookup(name, "process"), "category", None) == "discovery tool" if name else False

    tools_run = rows["event"].isin(("execute", "process_start")) & _where(rows, "object_name", is_tool)
    tools = set(rows.loc[tools_run, "object_name"])
    info = rows["event"].eq("file_read") & rows["object_name"].isin(RECON_FILES)
    files = set(rows.loc[info, "object_name"])
    if not (len(tools) >= 2 or (tools and len(files) >= 2)):
        return []
    reason = f"Discovery tools run: {_names(tools)}" + (f"; system information read: {_names(files)}." if files else ".")
    return [StageEvidence("Internal Reconnaissance", "moderate", _ids(rows[tools_run | info]), reason, "TA0007", ("T1082", "T1016", "T1049"))]


ADMIN_PORTS = frozenset({22, 23, 135, 139, 445, 3389, 5900, 5985, 5986})
_PORT = re.compile(r":(\d{1,5})$")


def lateral_movement(view: LogView) -> list[StageEvidence]:
    """Outbound connections to internal hosts on remote-administration ports (needs ports)."""
    rows = view.rows
    local = this_host_addresses(view)
    outbound = rows["event"].eq("network_out") & (rows["object_kind"] == "flow") & ~rows["object_name"].isin(PLACEHOLDERS | local)
    inside = outbound & _where(rows, "object_name", lambda n: view.address_class(n) in ("internal", "private"))

    def admin(name: str) -> bool:
        for value in view.values_of("flow", name):
            match = _PORT.search(value.split("->")[-1].strip())
            if match and int(match.group(1)) in ADMIN_PORTS:
                return True
        return False

    hits = rows[inside & _where(rows, "object_name", admin)]
    swept = {h for s in view.sweeps for h in s["hosts"]}
    hits = hits[~hits["object_name"].isin(swept)]
    out = []
    if not hits.empty:
        reason = f"Connections to internal hosts on remote-administration ports: {_names(hits['object_name'])}."
        out.append(StageEvidence("Lateral Movement", "moderate", _ids(hits), reason, "TA0008", ("T1021",)))
    # a command shell or script host (or a process running shell commands) that talks to a
    # host of the same site: remote execution or a remote session to that host
    neighbours = neighbours_of_this_host(view, set(rows.loc[outbound, "object_name"]))
    drivers = set(rows.loc[rows["event"] == "shell_command", "subject_name"]) | {
        n for n in set(rows["subject_name"]) if getattr(lookup(n, "process"), "category", None) in ("shell", "windows admin tool")
    }
    drivers.discard("")
    peer = outbound & rows["subject_name"].isin(drivers) & ~rows["object_name"].isin(swept)
    peer &= inside | rows["object_name"].isin(neighbours)
    if peer.any():
        hosts = set(rows.loc[peer, "object_name"])
        site = " (same /16 as this host's own address)" if hosts & neighbours else ""
        reason = f"A shell or script host ({_names(rows.loc[peer, 'subject_name'])}) sent traffic to internal host(s) {_names(hosts)}{site}: a remote session or remote execution."
        out.append(StageEvidence("Lateral Movement", "moderate", _ids(rows[peer]), reason, "TA0008", ("T1021",)))
    return out


def exfiltration(view: LogView) -> list[StageEvidence]:
    """Data sent to a non-internal address after reads of user data, or an archive staged."""
    rows = view.rows
    local = this_host_addresses(view)
    sends = (rows["object_kind"] == "flow") & rows["event"].eq("network_out") & ~rows["object_name"].isin(PLACEHOLDERS | local)
    sends &= _where(rows, "object_name", lambda n: view.address_class(n) in ("public", "unknown") and n not in public_resolvers())
    if not sends.any() or int(rows.loc[sends, "count"].sum()) < 5:
        return []

    def user_data(name: str) -> bool:
        if name in PLACEHOLDERS or "." not in name:
            return False
        entry = lookup(name, "file")
        return (entry is None and not SCRIPT_OR_BINARY.search(name)) or (entry is not None and entry.category in ("credential store", "application data"))

    reads = rows["event"].eq("file_read") & rows["object_kind"].eq("file") & _where(rows, "object_name", user_data)
    reads &= rows["minute"].le(rows.loc[sends, "minute"].max())
    if not reads.any():
        return []
    volume = int(rows.loc[sends, "count"].sum())
    reason = (
        f"Data sent to {_names(rows.loc[sends, 'object_name'])} in {volume} distinct seconds after reads of "
        f"{_names(rows.loc[reads, 'object_name'])}."
    )
    return [StageEvidence("Data Exfiltration", "moderate", _ids(rows[sends | reads]), reason, "TA0010", ("T1041",))]


RULES = (sweep_rule, command_and_control, ingress_then_run, client_drops_executable, covering_tracks, discovery, lateral_movement, exfiltration)
