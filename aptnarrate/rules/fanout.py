"""Network sweeps: one subject reaching several hosts of one /24 within minutes.

Its own module, free of the report's models: ``facts`` marks swept hosts on every input
with flows (``inspect`` too), and the structural rules report the sweep as Internal
Reconnaissance (``structural.sweep_rule``).
"""

from __future__ import annotations

import ipaddress

import pandas as pd

MINUTE_NS = 60 * 10**9
SWEEP_MIN_HOSTS = 4  # distinct hosts of one subnet reached by one subject ...
SWEEP_WINDOW_MIN = 10  # ... within this many minutes


def _ipv4(name: str):
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return None
    return ip if ip.version == 4 and not (ip.is_loopback or ip.is_unspecified or ip.is_multicast) else None


def _polled(rows: pd.DataFrame) -> set[tuple[str, str]]:
    """(subject, address) pairs whose data the subject received (not a connection it
    accepted) in two or more minutes by one action: ``minutes`` per row where the rows are
    one per description (its rows' count of minutes), else the rows' distinct minutes."""
    from .events import vocabulary

    received = rows[(rows["object_kind"] == "flow") & (rows["event"] == "network_in") & ~rows["action"].isin(list(vocabulary().accept_actions))]
    if received.empty:
        return set()
    keys = ["subject_name", "object_name", "action"]
    per = received.groupby(keys, sort=False)["minutes"].max() if "minutes" in received else received.groupby(keys, sort=False)["minute"].nunique()
    return {(subject, name) for (subject, name, _), minutes in zip(per.index.tolist(), per.tolist()) if minutes >= 2}


def sweeps(rows: pd.DataFrame, with_rows: bool = True) -> list[dict]:
    """Per subject: hosts of one /24 reached (connect/close/send) within a few minutes,
    unless most of them answered in two or more minutes (``_polled``: a poller's rounds).
    ``rows``: flow rows with ``subject_name``, ``object_kind``, ``object_name``, ``action``,
    ``event`` and ``minute`` (and ``minutes``, where they are one per description).
    ``with_rows``: each sweep's ``rows`` (its rows of ``rows``); a caller that takes them
    from elsewhere skips that selection, one pass over the flows per sweep."""
    flows = rows[(rows["object_kind"] == "flow") & rows["event"].isin(("network_out", "network_close"))]
    if flows["object_name"].nunique() < SWEEP_MIN_HOSTS:  # too few hosts for any sweep
        return []
    # per (subject, address), in order of first appearance: its first minute (one groupby,
    # not one per subject)
    firsts = flows.groupby(["subject_name", "object_name"], sort=False)["minute"].min()
    by_subject: dict[str, dict[str, dict[str, int]]] = {}
    subnet_of: dict[str, str | None] = {}  # each address parsed once, not once per row
    for (subject, name), minute in zip(firsts.index.tolist(), firsts.tolist()):
        if name not in subnet_of:
            ip = _ipv4(name)
            subnet_of[name] = None if ip is None else str(ipaddress.ip_network(f"{ip}/24", strict=False))
        net = subnet_of[name]
        if net is not None:
            by_subject.setdefault(subject, {}).setdefault(net, {})[name] = int(minute)
    polled = None
    found = []
    for subject in sorted(by_subject):
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
                sweep["rows"] = flows[(flows["subject_name"] == subject) & flows["object_name"].isin(hosts)]
            found.append(sweep)
    return found
