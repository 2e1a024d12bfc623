"""Network sweeps: one subject reaching several hosts of one /24 within minutes.

Its own module, free of the report's models: ``facts`` marks swept hosts on every input
with flows (``inspect`` too), and the structural rules report the sweep as Internal
Reconnaissance (``structural.sweep_rule``).
"""

from __future__ import annotations

import ipaddress

import numpy as np

MINUTE_NS = 60 * 10**9
SWEEP_MIN_HOSTS = 4  # distinct hosts of one subnet reached by one subject ...
SWEEP_WINDOW_MIN = 10  # ... within this many minutes


def _ipv4(name: str):
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return None
    return ip if ip.version == 4 and not (ip.is_loopback or ip.is_unspecified or ip.is_multicast) else None


def subnet_24(ip: ipaddress.IPv4Address) -> str:
    """``str(ip_network(f"{ip}/24", strict=False))`` without building the network (20 us
    each: a log of 20,000 addresses spent 0.4 s there)."""
    return f"{ipaddress.IPv4Address(int(ip) & 0xFFFFFF00)}/24"


def _polled(rows) -> set[tuple[str, str]]:
    """(subject, address) pairs whose data the subject received (not a connection it
    accepted) in two or more minutes by one action: ``minutes`` per row where the rows are
    one per description (its rows' count of minutes), else the rows' distinct minutes."""
    from .events import vocabulary

    received = np.flatnonzero(
        (rows["object_kind"] == "flow") & (rows["event"] == "network_in") & ~np.isin(rows["action"], list(vocabulary().accept_actions))
    )
    if not len(received):
        return set()
    keys = zip(*(rows[column][received].tolist() for column in ("subject_name", "object_name", "action")))
    if "minutes" in rows:  # one row per description: the most minutes of any of its descriptions
        most: dict[tuple, int] = {}
        for key, minutes in zip(keys, rows["minutes"][received].tolist()):
            most[key] = max(most.get(key, minutes), minutes)
    else:  # one row per log row: the distinct minutes
        seen: dict[tuple, set] = {}
        for key, minute in zip(keys, rows["minute"][received].tolist()):
            seen.setdefault(key, set()).add(minute)
        most = {key: len(minutes) for key, minutes in seen.items()}
    return {(subject, name) for (subject, name, _), minutes in most.items() if minutes >= 2}


def key_logins(subjects, objects, object_kinds, events) -> set[str]:
    """Remote-session clients (``session_clients``: ssh, scp) that read a private key: each
    host they reach is a login with that key, not a probe, however quickly they go from host
    to host (an implant's shell copying itself on with the user's key); the lateral
    movement rule judges those. Arguments: parallel sequences of the rows' subject names,
    object names, object kinds and event classes."""
    from .lineage import secret_credential, session_client

    clients = {s for s in set(subjects) if s and session_client(s)}
    if not clients:
        return set()
    return {
        s for s, o, kind, event in zip(subjects, objects, object_kinds, events)
        if s in clients and kind == "file" and event == "file_read" and secret_credential(o)
    }


def sweeps(rows, with_rows: bool = True, logins: frozenset[str] | set[str] = frozenset()) -> list[dict]:
    """Per subject: hosts of one /24 reached (connect/close/send) within a few minutes,
    unless most of them answered in two or more minutes (``_polled``: a poller's rounds),
    or the subject is one of ``logins`` (``key_logins``: clients logging in with a key).
    ``rows``: ``Columns`` (or a mapping of numpy arrays) of flow rows with ``subject_name``, ``object_kind``, ``object_name``, ``action``,
    ``event`` and ``minute`` (and ``minutes``, where they are one per description).
    ``with_rows``: each sweep's ``rows`` (its rows of ``rows``); a caller that takes them
    from elsewhere skips that selection, one pass over the flows per sweep."""
    flows = np.flatnonzero((rows["object_kind"] == "flow") & np.isin(rows["event"], ("network_out", "network_close")))
    flow_subjects, flow_names = rows["subject_name"][flows].tolist(), rows["object_name"][flows].tolist()
    if len(set(flow_names)) < SWEEP_MIN_HOSTS:  # too few hosts for any sweep
        return []
    # per (subject, address), in order of first appearance: its first minute (one pass,
    # not one per subject)
    firsts: dict[tuple[str, str], int] = {}
    for pair, minute in zip(zip(flow_subjects, flow_names), rows["minute"][flows].tolist()):
        firsts[pair] = min(firsts.get(pair, minute), minute)
    by_subject: dict[str, dict[str, dict[str, int]]] = {}
    subnet_of: dict[str, str | None] = {}  # each address parsed once, not once per row
    for (subject, name), minute in firsts.items():
        if name not in subnet_of:
            ip = _ipv4(name)
            subnet_of[name] = None if ip is None else subnet_24(ip)
        net = subnet_of[name]
        if net is not None:
            by_subject.setdefault(subject, {}).setdefault(net, {})[name] = int(minute)
    polled = None
    found = []
    for subject in sorted(by_subject.keys() - logins):
        for net, hosts in by_subject[subject].items():
            if len(hosts) < SWEEP_MIN_HOSTS:
                continue
            if polled is None:  # only once a subnet has enough hosts
                polled = _polled(rows)
            # a scan touches each host once; a poller (monitoring, backups) comes back and
            # hears answers: hosts that replied in two or more minutes make it a conversation
            if 2 * sum((subject, host) in polled for host in hosts) >= len(hosts):
                continue
            firsts_sorted = sorted(hosts.values())
            # the tightest window holding SWEEP_MIN_HOSTS first contacts
            spans = [firsts_sorted[i + SWEEP_MIN_HOSTS - 1] - firsts_sorted[i] for i in range(len(firsts_sorted) - SWEEP_MIN_HOSTS + 1)]
            if min(spans) > SWEEP_WINDOW_MIN * MINUTE_NS:
                continue
            sweep = {"subject": subject, "subnet": net, "hosts": sorted(hosts, key=lambda h: ipaddress.ip_address(h))}
            if with_rows:
                mine = [row for row, s, n in zip(flows.tolist(), flow_subjects, flow_names) if s == subject and n in hosts]
                sweep["rows"] = rows.take(np.array(mine, dtype=np.int64))
            found.append(sweep)
    return found
