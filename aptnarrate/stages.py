"""Rule families that map the condensed log to APT stages.

Each rule reads the log (one row per minute and distinct event) and the ranked candidates,
and returns a :class:`StageEvidence` (the supporting log ids, a confidence and a rule-based
reason) or ``None`` when nothing fires. No stage is ever claimed without log rows behind
it; an empty result ("no stage supported by the evidence") is a valid answer.

Names from the log are compared with fixed names only; they are never interpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from .condense import minute_text
from .knowledge import lookup
from .rank import INBOUND, OUTBOUND, SENDS, WRITES

if TYPE_CHECKING:  # pragma: no cover
    from .facts import Facts

READS = frozenset({"READ", "OPEN", "MMAP", "LSEEK"})
DELETE_OR_RENAME = frozenset({"UNLINK", "DELETE", "RENAME"})
MODIFIES = WRITES | frozenset({"RENAME", "LINK", "MODIFY_FILE_ATTRIBUTES", "SET", "ADD"})
# files a discovery step reads: accounts, host and network identity, mounts, sessions, memory
RECON_FILES = frozenset(
    {
        "passwd", "group", "hosts", "os-release", "lsb-release", "issue", "redhat-release", "mounts", "mtab",
        "fstab", "maps", "cpuinfo", "meminfo", "version", "utx.active", "utx.lastlogin", "utmp", "wtmp",
        "lastlog", "resolv.conf", "services", "kmem", "mem", "environ", "cmdline", "hostname", "machine-id",
    }
)
PROC_PATH = re.compile(r"^/(proc|sys)/")
PRIVILEGE_TOOLS = frozenset({"sudo", "su", "doas", "pkexec", "runas.exe"})
PRIVILEGE_FILES = frozenset({"shadow", "master.passwd", "spwd.db", "sudoers", "gshadow", "SAM"})
PERSISTENCE_PATH = re.compile(
    r"(/etc/(cron|rc\.|init\.d|systemd/system|profile)|/var/spool/cron|/\.config/autostart|"
    r"LaunchAgents|LaunchDaemons|\\start menu\\programs\\startup|\\windows\\system32\\tasks\\)",
    re.I,
)
# tools whose writes install a scheduled task, service or start-up entry: with basenames only
# (OCR-APT's CSVs), the writer's name is the evidence that the path would otherwise give
PERSISTENCE_TOOLS = frozenset(
    {"crontab", "at", "atd", "batch", "systemctl", "launchctl", "schtasks.exe", "sc.exe", "reg.exe", "update-rc.d", "chkconfig"}
)
ADMIN_PORTS = frozenset({22, 23, 135, 139, 445, 3389, 5900, 5985, 5986})
_PORT = re.compile(r":(\d{1,5})$")
_TEMP = re.compile(r"(^|/)(tmp|var/tmp|dev/shm)/|\\temp\\", re.I)


@dataclass(frozen=True)
class StageEvidence:
    stage: str
    confidence: str
    evidence: tuple[str, ...]
    rationale: str


class LogView:
    """The log joined with its descriptions, plus per-name lookups the rules share."""

    def __init__(self, facts: Facts) -> None:
        timeline = facts.timeline
        log = timeline.log
        desc = timeline.descriptions.iloc[log["description"].to_numpy()].reset_index(drop=True)
        self.rows = pd.concat([log[["id", "minute", "count", "description"]].reset_index(drop=True), desc], axis=1)
        self.descriptions = timeline.descriptions
        self._codes = log["description"].to_numpy()
        self.rows["minute_text"] = minute_text(self.rows["minute"].to_numpy())
        self.facts = facts
        # one candidate per value (a process and its image file share one)
        self.candidates = {c.value: c for c in facts.candidates}
        self._records = self.descriptions.to_dict("records")  # plain dicts: iterrows is slow

    def per_description(self, test: Callable[[dict], bool]) -> pd.Series:
        """A row mask from a test run once per distinct description (not per log row)."""
        flags = np.array([bool(test(row)) for row in self._records], dtype=bool)
        return pd.Series(flags[self._codes] if len(flags) else np.zeros(len(self.rows), bool), index=self.rows.index)

    def object_test(self, test: Callable[[str], bool]) -> pd.Series:
        """A row mask from a test of the object name, run once per distinct description."""
        return self.per_description(lambda d: bool(d["object_name"]) and test(d["object_name"]))

    def values_of(self, kind: str, name: str) -> list[str]:
        cand = self.candidates.get(name)
        return cand.full_values if cand else []

    def address_class(self, name: str) -> str:
        return self.facts.address_class(name)[0]


def _ids(frame: pd.DataFrame) -> tuple[str, ...]:
    return tuple(frame["id"].tolist())


def _names(values) -> str:
    names = sorted({str(v) for v in values if v})
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


# --------------------------------------------------------------------------- rules


def command_and_control(view: LogView) -> StageEvidence | None:
    rows = view.rows
    flows = rows["object_kind"] == "flow"
    named_remote = flows & view.object_test(lambda n: view.address_class(n) in ("public", "unknown"))
    outbound = named_remote & rows["action"].isin(OUTBOUND)
    if outbound.any():
        talkers = set(rows.loc[outbound, "subject_name"])
        # the same subjects' connections whose address the log leaves out belong to the same story
        unnamed = flows & (rows["object_name"] == "") & rows["action"].isin(OUTBOUND) & rows["subject_name"].isin(talkers)
        hits = rows[outbound | unnamed]
        minutes = hits["minute"].nunique()
        addresses = set(rows.loc[outbound, "object_name"])
        sent = int(rows.loc[named_remote & rows["action"].isin(SENDS), "count"].sum())
        beacon = minutes >= 3
        confidence = "high" if beacon or sent >= 5 else "moderate"
        reason = f"Outbound connections to {_names(addresses)}, not in a declared internal network"
        reason += f", repeated across {minutes} minutes (beacon-like)." if beacon else "."
        return StageEvidence("Command and Control", confidence, _ids(hits), reason)
    inbound = named_remote & rows["action"].isin(INBOUND)
    if inbound.any() and rows.loc[inbound, "minute"].nunique() >= 3:
        hits = rows[inbound]
        return StageEvidence(
            "Command and Control",
            "low",
            _ids(hits),
            f"Repeated inbound traffic from {_names(hits['object_name'])} across "
            f"{hits['minute'].nunique()} minutes; the log shows no outbound connection.",
        )
    return None


def internal_reconnaissance(view: LogView) -> StageEvidence | None:
    rows = view.rows
    executed = rows["action"].eq("EXECUTE")
    tool_rows = executed & view.object_test(_is_discovery)
    tool_rows |= rows["subject_kind"].eq("process") & view.per_description(lambda d: _is_discovery(d["subject_name"]))
    info = rows["action"].isin(READS) & rows["object_kind"].isin(("file", "link")) & view.per_description(
        lambda d: d["object_name"] in RECON_FILES
        or any(PROC_PATH.match(v) for v in view.values_of(d["object_kind"], d["object_name"]))
    )
    tools = set(rows.loc[tool_rows, "object_name"]) | set(rows.loc[tool_rows & ~executed, "subject_name"])
    tools.discard("")
    files = set(rows.loc[info, "object_name"])
    if not tools and len(files) < 3:
        return None
    if tools:
        confidence = "high" if len(tools) >= 2 or files else "moderate"
        reason = f"Discovery tools run: {_names(tools)}"
        reason += f"; system information files read: {_names(files)}." if files else "."
    else:
        confidence = "low"
        reason = f"System information files read: {_names(files)} (also read by ordinary programs)."
    return StageEvidence("Internal Reconnaissance", confidence, _ids(rows[tool_rows | info]), reason)


def privilege_escalation(view: LogView) -> StageEvidence | None:
    rows = view.rows
    principal = rows["action"].eq("CHANGE_PRINCIPAL")
    tools = (rows["action"].eq("EXECUTE") & rows["object_name"].isin(PRIVILEGE_TOOLS)) | rows["subject_name"].isin(PRIVILEGE_TOOLS)
    secrets = rows["object_name"].isin(PRIVILEGE_FILES)
    hits = principal | tools | secrets
    if not hits.any():
        return None
    parts = []
    if principal.any():
        parts.append("a change of principal (CHANGE_PRINCIPAL)")
    if tools.any():
        parts.append(f"privilege tools ({_names(set(rows.loc[tools, 'object_name']) | set(rows.loc[tools, 'subject_name']) & PRIVILEGE_TOOLS)})")
    if secrets.any():
        parts.append(f"access to {_names(rows.loc[secrets, 'object_name'])}")
    written = secrets & rows["action"].isin(MODIFIES)
    confidence = "high" if principal.any() or written.any() else "moderate"
    return StageEvidence("Privilege Escalation", confidence, _ids(rows[hits]), "The log shows " + "; ".join(parts) + ".")


def maintain_persistence(view: LogView) -> StageEvidence | None:
    rows = view.rows
    modified = rows["action"].isin(MODIFIES)

    def persistent(kind: str, name: str) -> bool:
        if not name:
            return False
        entry = lookup(name, "registry" if kind == "registry" else "file")
        if entry is not None and entry.category == "persistence location":
            return True
        if name in ("authorized_keys", "authorized_keys2"):
            return True
        return any(PERSISTENCE_PATH.search(v) for v in view.values_of(kind, name))

    hits = modified & view.per_description(
        lambda d: persistent(d["object_kind"], d["object_name"]) or d["subject_name"].lower() in PERSISTENCE_TOOLS
    )
    if not hits.any():
        return None
    return StageEvidence(
        "Maintain Persistence",
        "high",
        _ids(rows[hits]),
        f"Start-up or access locations modified: {_names(rows.loc[hits, 'object_name'])}.",
    )


def covering_tracks(view: LogView) -> StageEvidence | None:
    rows = view.rows
    named_file = rows["object_name"].ne("") & rows["object_kind"].isin(("file", "link"))
    produced = set(rows.loc[named_file & rows["action"].isin(WRITES | {"EXECUTE"}), "object_name"])
    removed = named_file & rows["action"].isin(DELETE_OR_RENAME)
    # a package manager removing the packages it downloaded is housekeeping, not hiding
    routine = view.per_description(
        lambda d: getattr(lookup(d["subject_name"], "process"), "category", None) == "package manager"
    )
    own = removed & rows["object_name"].isin(produced) & ~routine
    logs = named_file & rows["action"].isin(DELETE_OR_RENAME | WRITES | {"TRUNCATE"}) & view.object_test(
        lambda n: getattr(lookup(n, "file"), "category", None) == "log file"
    )
    hits = own | logs
    if not hits.any():
        return None
    deleted = own & rows["action"].isin({"UNLINK", "DELETE"})
    parts = []
    if deleted.any():
        parts.append(f"files the subgraph wrote or executed were deleted ({_names(rows.loc[deleted, 'object_name'])})")
    if (own & ~deleted).any():
        parts.append(
            f"files the subgraph wrote were renamed ({_names(rows.loc[own & ~deleted, 'object_name'])}), "
            "which is also how programs save files safely"
        )
    if logs.any():
        parts.append(f"log or history files were modified or removed ({_names(rows.loc[logs, 'object_name'])})")
    if logs.any() or rows.loc[deleted, "object_name"].nunique() >= 2:
        confidence = "high"
    elif deleted.any():
        confidence = "moderate"
    else:
        confidence = "low"
    # show the writes/executions that make the deletion meaningful too
    context = named_file & rows["object_name"].isin(set(rows.loc[own, "object_name"])) & rows["action"].isin(WRITES | {"EXECUTE"})
    return StageEvidence("Covering Tracks", confidence, _ids(rows[hits | context]), _sentence("; ".join(parts)))


def initial_compromise(view: LogView) -> StageEvidence | None:
    rows = view.rows
    network = rows["object_kind"].eq("flow") & rows["action"].isin(OUTBOUND | INBOUND)
    facing = set(zip(rows.loc[network, "subject_kind"], rows.loc[network, "subject_name"]))
    if not facing:
        return None
    is_facing = view.per_description(lambda d: (d["subject_kind"], d["subject_name"]) in facing)
    writes = is_facing & rows["action"].isin(WRITES) & rows["object_kind"].eq("file") & rows["object_name"].ne("")
    executed_rows = rows["action"].eq("EXECUTE") & rows["object_name"].ne("")
    first_exec = rows.loc[executed_rows].groupby("object_name")["minute"].min()
    exec_minute = rows["object_name"].map(first_exec)
    staged = writes & exec_minute.notna() & (exec_minute >= rows["minute"])
    temp = writes & view.object_test(lambda n: any(_TEMP.search(v) for v in view.values_of("file", n)))
    if staged.any():
        names = set(rows.loc[staged, "object_name"])
        hits = staged | network & is_facing | executed_rows & rows["object_name"].isin(names)
        confidence = "high" if all(rows.loc[staged, "subject_name"] != "") else "moderate"
        return StageEvidence(
            "Initial Compromise",
            confidence,
            _ids(rows[hits]),
            f"A network-facing process wrote {_names(names)}, which was then executed.",
        )
    if temp.any():
        return StageEvidence(
            "Initial Compromise",
            "moderate",
            _ids(rows[temp | network & is_facing]),
            f"A network-facing process wrote {_names(rows.loc[temp, 'object_name'])} into a temporary directory.",
        )
    return None


def lateral_movement(view: LogView) -> StageEvidence | None:
    rows = view.rows
    outbound = rows["object_kind"].eq("flow") & rows["action"].isin(OUTBOUND) & rows["object_name"].ne("")
    inside = outbound & view.object_test(lambda n: view.address_class(n) in ("internal", "private"))
    if not inside.any():
        return None
    admin = inside & view.object_test(lambda n: any(_port(v) in ADMIN_PORTS for v in view.values_of("flow", n)))
    hosts = set(rows.loc[inside, "object_name"])
    if admin.any():
        return StageEvidence(
            "Lateral Movement",
            "moderate",
            _ids(rows[admin]),
            f"Connections to internal hosts on remote-administration ports: {_names(rows.loc[admin, 'object_name'])}.",
        )
    if len(hosts) >= 3:
        return StageEvidence(
            "Lateral Movement",
            "low",
            _ids(rows[inside]),
            f"Outbound connections to {len(hosts)} internal or private hosts ({_names(hosts)}); ports are not in the log.",
        )
    return None


def data_exfiltration(view: LogView) -> StageEvidence | None:
    rows = view.rows
    sends = rows["object_kind"].eq("flow") & rows["action"].isin(SENDS) & view.object_test(
        lambda n: view.address_class(n) in ("public", "unknown")
    )
    if not sends.any() or int(rows.loc[sends, "count"].sum()) < 5:
        return None
    first_send = rows.loc[sends, "minute"].min()

    def user_data(name: str) -> bool:
        entry = lookup(name, "file")
        return entry is None or entry.category in ("credential store", "application data")

    reads = rows["action"].eq("READ") & rows["object_kind"].eq("file") & rows["object_name"].ne("")
    reads &= rows["minute"].le(rows.loc[sends, "minute"].max()) & view.object_test(user_data)
    if not reads.any():
        return None
    volume = int(rows.loc[sends, "count"].sum())
    confidence = "high" if volume >= 20 and rows.loc[reads, "minute"].min() <= first_send else "moderate"
    return StageEvidence(
        "Data Exfiltration",
        confidence,
        _ids(rows[sends | reads]),
        f"Data sent to {_names(rows.loc[sends, 'object_name'])} in {volume} distinct seconds after reads of "
        f"{_names(rows.loc[reads, 'object_name'])}.",
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _is_discovery(name: str) -> bool:
    entry = lookup(name, "process") if name else None
    return entry is not None and entry.category == "discovery tool"


def _port(value: str) -> int | None:
    target = value.split("->")[-1].strip()
    match = _PORT.search(target)
    return int(match.group(1)) if match else None


RULES: tuple[Callable[[LogView], StageEvidence | None], ...] = (
    initial_compromise,
    internal_reconnaissance,
    command_and_control,
    privilege_escalation,
    lateral_movement,
    maintain_persistence,
    data_exfiltration,
    covering_tracks,
)


def find_stages(facts: Facts) -> list[StageEvidence]:
    view = LogView(facts)
    found = [rule(view) for rule in RULES]
    return [item for item in found if item is not None and item.evidence]
