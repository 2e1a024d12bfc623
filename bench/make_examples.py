"""Write the synthetic example subgraphs shipped in ``aptnarrate/examples/``.

Each story below is hand-written: a list of scripted steps (wall-clock second, subject,
predicate, object, how many same-second repeats). Nothing comes from a real host or a
published data set. The script writes each story twice, as OCR-APT's ``description,timestamp``
CSV and as an edge list with CDM types and UTC nanosecond epochs, so both describe the same
events. Run it from the repository root: ``.venv/bin/python bench/make_examples.py``.
"""

from __future__ import annotations

import csv
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("America/Toronto")
OUT = Path(__file__).resolve().parent.parent / "aptnarrate" / "examples"
NAMESPACE = uuid.UUID("6f1c2a44-0d7e-4d6b-9a55-3c1f5b0e2a10")


@dataclass(frozen=True)
class Node:
    cdm_type: str  # e.g. SUBJECT_PROCESS, FILE_OBJECT_FILE, NetFlowObject
    attr: str  # full path or flow address; "" for an unnamed node
    short: str  # the name OCR-APT's CSV shows (basename / remote IP)
    key: str  # distinguishes unnamed nodes and instances

    @property
    def uuid(self) -> str:
        raw = str(uuid.uuid5(NAMESPACE, f"{self.cdm_type}|{self.attr}|{self.key}")).upper()
        return f"{raw}-{self.cdm_type.lower()}"


def proc(path: str, key: str = "") -> Node:
    return Node("SUBJECT_PROCESS", path, path.rsplit("/", 1)[-1], key or path)


def file(path: str) -> Node:
    return Node("FILE_OBJECT_FILE", path, path.rsplit("/", 1)[-1], path)


def flow(local: str, remote: str, port: int) -> Node:
    return Node("NetFlowObject", f"{local}->{remote}:{port}", remote, f"{remote}:{port}")


def win(kind: str, path: str, key: str = "") -> Node:
    """An OpTC (Windows) node: ``kind`` is its type word (process, file, module, registry,
    task); the name shown is the last part of a backslash path."""
    return Node(kind, path, path.rstrip("\\").rsplit("\\", 1)[-1], key or path)


def win_flow(local: str, remote: str, port: int) -> Node:
    return Node("flow", f"{local}->{remote}:{port}", remote, f"{remote}:{port}")


def unnamed(cdm_type: str, key: str) -> Node:
    return Node(cdm_type, "", "", key)


def describe(node: Node) -> str:
    word = node.cdm_type.lower()
    if node.short:
        return f"the {word}: {node.short}"
    return f"a {word}"  # OCR-APT writes "a" before every unnamed type, vowels included


class Story:
    """``style``: "cdm" (DARPA TC3: CDM type words, ``EVENT_`` predicates, epoch ns in the edge
    list) or "optc" (DARPA OpTC, Windows: plain type words, bare predicates, ISO 8601 times
    with milliseconds and a UTC offset in the edge list)."""

    def __init__(self, name: str, start: str, seed: int, style: str = "cdm") -> None:
        self.name = name
        self.style = style
        self.clock = datetime.fromisoformat(start).replace(tzinfo=ZONE)
        self.random = random.Random(seed)
        self.rows: list[tuple[datetime, int, Node, str, Node]] = []

    def at(self, offset_s: int) -> datetime:
        return self.clock + timedelta(seconds=offset_s)

    def event(self, offset_s: int, subject: Node, predicate: str, obj: Node, repeat: int = 1) -> None:
        """``repeat`` events within the same second (an audit-log burst)."""
        when = self.at(offset_s)
        for _ in range(repeat):
            self.rows.append((when, self.random.randrange(1_000_000_000), subject, predicate, obj))

    def write(self) -> int:
        self.rows.sort(key=lambda r: (r[0], r[1]))
        with open(OUT / f"{self.name}.csv", "w", newline="") as ocrapt, open(
            OUT / f"{self.name}.edges.csv", "w", newline=""
        ) as edges:
            a, b = csv.writer(ocrapt, lineterminator="\n"), csv.writer(edges, lineterminator="\n")
            a.writerow(["description", "timestamp"])
            b.writerow(["subject_uuid", "subject_type", "subject_attr", "predicate", "timestamp",
                        "object_uuid", "object_type", "object_attr"])
            for when, nanos, subject, predicate, obj in self.rows:
                subject_text = (
                    f"The {subject.cdm_type.lower()}: {subject.short}" if subject.short else describe(subject).capitalize()
                )
                a.writerow([f"{subject_text} {predicate} {describe(obj)}", when.strftime("%Y-%m-%d %H:%M:%S")])
                if self.style == "optc":
                    stamp = (when + timedelta(microseconds=nanos // 1_000_000 * 1000)).isoformat(sep=" ", timespec="milliseconds")
                    b.writerow([subject.uuid, subject.cdm_type.upper(), subject.attr, predicate, stamp,
                                obj.uuid, obj.cdm_type.upper(), obj.attr])
                    continue
                epoch_ns = int(when.timestamp()) * 1_000_000_000 + nanos
                b.writerow([subject.uuid, subject.cdm_type, subject.attr, f"EVENT_{predicate}", epoch_ns,
                            obj.uuid, obj.cdm_type, obj.attr])
        return len(self.rows)


def dropper() -> Story:
    s = Story("dropper", "2025-05-14 09:12:03", seed=11)
    tb = proc("/usr/lib/thunderbird/thunderbird")
    imap = flow("10.0.3.7", "198.51.100.23", 993)
    inbox = file("/home/alice/.thunderbird/k3x9.default-release/ImapMail/mail.example.org/INBOX")
    attachment = file("/tmp/invoice.pdf.sh")
    sh = proc("/bin/sh")
    dropper_proc = proc("/tmp/invoice.pdf.sh")
    stage2 = file("/tmp/.cache/update.sh")
    implant = proc("/tmp/.cache/update.sh")
    c2 = flow("10.0.3.7", "203.0.113.45", 443)
    any_file = unnamed("FILE_OBJECT_FILE", "file")
    pipe = unnamed("UnnamedPipeObject", "pipe")
    # mail arrives from the public mail server; the attachment is saved to /tmp
    s.event(0, tb, "CONNECT", imap)
    for t in (1, 2, 5, 9, 14):
        s.event(t, tb, "RECVFROM", imap, repeat=1 + t % 3)
    for t in (3, 10, 15):
        s.event(t, tb, "WRITE", inbox, repeat=2)
    s.event(21, tb, "READ", inbox)
    for t in (40, 41, 42):
        s.event(t, tb, "WRITE", attachment, repeat=3)
    s.event(42, tb, "CLOSE", any_file)
    # a shell marks it executable and runs it
    s.event(61, tb, "FORK", sh)
    s.event(63, sh, "MODIFY_FILE_ATTRIBUTES", attachment)
    s.event(64, sh, "EXECUTE", attachment)
    s.event(64, sh, "CLOSE", any_file, repeat=2)
    # the dropper writes a second stage, makes it executable and starts it
    for t in (66, 67, 68):
        s.event(t, dropper_proc, "WRITE", stage2, repeat=2)
    s.event(69, dropper_proc, "MODIFY_FILE_ATTRIBUTES", stage2)
    s.event(70, dropper_proc, "EXECUTE", stage2)
    # the implant beacons to its C2 address every minute for half an hour
    for minute in range(30):
        t = 72 + 60 * minute
        s.event(t, implant, "CONNECT", c2)
        s.event(t, implant, "SENDTO", c2, repeat=2)
        s.event(t + 1, implant, "RECVFROM", c2)
        s.event(t + 1, implant, "CLOSE", c2)
    # discovery
    s.event(130, implant, "READ", file("/etc/passwd"), repeat=3)
    for offset, tool in enumerate(("/usr/bin/uname", "/usr/bin/whoami", "/sbin/ifconfig")):
        t = 135 + 4 * offset
        s.event(t, implant, "FORK", proc(tool))
        s.event(t, proc(tool), "EXECUTE", file(tool))
        s.event(t + 1, proc(tool), "WRITE", pipe, repeat=2)
        s.event(t + 1, implant, "READ", pipe, repeat=2)
    # persistence: a crontab entry that restarts the implant
    crontab = proc("/usr/bin/crontab")
    s.event(250, implant, "FORK", crontab)
    s.event(250, crontab, "EXECUTE", file("/usr/bin/crontab"))
    s.event(251, crontab, "WRITE", file("/var/spool/cron/crontabs/alice"), repeat=2)
    s.event(252, crontab, "CLOSE", any_file)
    # clean-up: remove the dropper and the second-stage file from disk
    s.event(1880, implant, "UNLINK", attachment)
    s.event(1880, implant, "UNLINK", stage2)
    return s


def exfil() -> Story:
    s = Story("exfil", "2025-06-03 14:02:10", seed=23)
    sshd = proc("/usr/sbin/sshd")
    peer = flow("10.0.4.20", "10.0.4.12", 22)
    bash = proc("/bin/bash")
    pipe = unnamed("UnnamedPipeObject", "pipe")
    any_file = unnamed("FILE_OBJECT_FILE", "file")
    # an interactive session from an internal peer
    s.event(0, sshd, "ACCEPT", peer)
    for t in range(1, 40, 5):
        s.event(t, sshd, "RECVFROM", peer, repeat=2)
        s.event(t, sshd, "WRITE", pipe)
    s.event(2, sshd, "FORK", bash)
    # discovery burst
    for offset, tool in enumerate(("/bin/ps", "/bin/netstat", "/usr/bin/lsof", "/usr/bin/whoami")):
        t = 8 + 6 * offset
        s.event(t, bash, "FORK", proc(tool))
        s.event(t, proc(tool), "EXECUTE", file(tool))
        s.event(t, proc(tool), "READ", any_file, repeat=3)
        s.event(t + 1, proc(tool), "READ", any_file, repeat=2)
        s.event(t + 1, proc(tool), "WRITE", pipe, repeat=2)
        s.event(t + 1, bash, "READ", pipe, repeat=2)
    # credential and document collection
    cat = proc("/bin/cat")
    s.event(45, bash, "FORK", cat)
    s.event(45, cat, "EXECUTE", file("/bin/cat"))
    s.event(46, cat, "READ", file("/home/bob/.ssh/id_rsa"), repeat=2)
    s.event(48, cat, "READ", file("/etc/shadow"), repeat=2)
    s.event(48, cat, "WRITE", pipe, repeat=2)
    tar = proc("/bin/tar")
    archive = file("/var/tmp/.b.tgz")
    docs = [file(f"/home/bob/Documents/{n}") for n in ("q2-budget.xlsx", "contracts.pdf", "board-minutes.docx")]
    s.event(70, bash, "FORK", tar)
    s.event(70, tar, "EXECUTE", file("/bin/tar"))
    for i, doc in enumerate(docs):
        for t in range(72 + 10 * i, 80 + 10 * i, 2):
            s.event(t, tar, "READ", doc, repeat=2)
            s.event(t, tar, "WRITE", archive)
    s.event(101, tar, "READ", file("/home/bob/.ssh/id_rsa"))
    s.event(101, tar, "WRITE", archive, repeat=2)
    s.event(102, tar, "CLOSE", any_file, repeat=4)
    # exfiltration: a large upload to a public address over three minutes
    curl = proc("/usr/bin/curl")
    drop = flow("10.0.4.20", "198.51.100.77", 443)
    s.event(120, bash, "FORK", curl)
    s.event(120, curl, "EXECUTE", file("/usr/bin/curl"))
    s.event(121, curl, "CONNECT", drop)
    for t in range(122, 300, 5):
        s.event(t, curl, "READ", archive)
        s.event(t, curl, "SENDTO", drop, repeat=3)
    s.event(300, curl, "RECVFROM", drop)
    s.event(301, curl, "CLOSE", drop)
    # clean-up
    rm = proc("/bin/rm")
    s.event(330, bash, "FORK", rm)
    s.event(330, rm, "EXECUTE", file("/bin/rm"))
    s.event(331, rm, "UNLINK", archive)
    return s


def benign() -> Story:
    s = Story("benign", "2025-05-20 03:00:05", seed=5)
    apt = proc("/usr/bin/apt-get")
    mirror = flow("10.0.3.7", "10.0.0.10", 80)
    deb = file("/var/cache/apt/archives/openssl_3.0.13-0ubuntu3.5_amd64.deb")
    dpkg = proc("/usr/bin/dpkg")
    any_file = unnamed("FILE_OBJECT_FILE", "file")
    # a nightly package update from the internal mirror
    s.event(0, apt, "CONNECT", mirror)
    for t in range(1, 100, 2):
        s.event(t, apt, "RECVFROM", mirror, repeat=2)
    for t in range(2, 100, 4):
        s.event(t, apt, "WRITE", deb, repeat=2)
    s.event(101, apt, "CLOSE", mirror)
    s.event(103, apt, "FORK", dpkg)
    s.event(103, dpkg, "EXECUTE", file("/usr/bin/dpkg"))
    for t in range(104, 140, 3):
        s.event(t, dpkg, "READ", deb, repeat=2)
        s.event(t, dpkg, "WRITE", file("/usr/lib/x86_64-linux-gnu/libssl.so.3"))
    s.event(141, dpkg, "WRITE", file("/var/lib/dpkg/status"), repeat=2)
    s.event(142, dpkg, "RENAME", file("/var/lib/dpkg/status-old"))
    s.event(142, dpkg, "CLOSE", any_file, repeat=3)
    s.event(200, apt, "UNLINK", deb)
    return s


def macro() -> Story:
    """Windows (DARPA OpTC's event vocabulary): a macro document from mail starts PowerShell,
    which fetches an implant that beacons, looks around, persists twice and injects."""
    s = Story("macro", "2025-07-08 10:14:05", seed=31, style="optc")
    office = "C:\\Program Files\\Microsoft Office\\root\\Office16\\"
    outlook = win("process", office + "OUTLOOK.EXE")
    mail = win_flow("10.0.5.21", "198.51.100.40", 443)
    document = win("file", "C:\\Users\\carol\\AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\7QX2M4KD\\invoice_0708.docm")
    word = win("process", office + "WINWORD.EXE")
    vba = win("module", "C:\\Program Files\\Common Files\\Microsoft Shared\\VBA\\VBA7.1\\VBE7.DLL")
    powershell = win("process", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
    shell = unnamed("shell", "shell")
    stager = win("file", "C:\\Users\\carol\\AppData\\Local\\Temp\\wct81F3.ps1")
    c2 = win_flow("10.0.5.21", "203.0.113.60", 443)
    implant_file = win("file", "C:\\Users\\carol\\AppData\\Roaming\\Microsoft\\Windows\\msupdate.exe")
    implant = win("process", "C:\\Users\\carol\\AppData\\Roaming\\Microsoft\\Windows\\msupdate.exe")
    # mail over the client's own connection to the mail service; the attachment is saved
    s.event(0, outlook, "START_OUTBOUND", mail)
    for t in (1, 3, 6, 10):
        s.event(t, outlook, "MESSAGE_OUTBOUND", mail, repeat=1 + t % 2)
    s.event(12, outlook, "CREATE", document)
    s.event(13, outlook, "WRITE", document, repeat=3)
    # the user opens it: Word loads the macro engine and the macro starts PowerShell
    s.event(40, outlook, "CREATE", word)
    s.event(41, word, "READ", document, repeat=2)
    s.event(42, word, "LOAD", vba)
    s.event(44, word, "CREATE", powershell)
    s.event(45, powershell, "COMMAND", shell, repeat=2)
    s.event(46, powershell, "CREATE", stager)
    s.event(46, powershell, "WRITE", stager, repeat=2)
    s.event(47, powershell, "READ", stager)
    # the stager downloads the implant and starts it
    s.event(48, powershell, "START_OUTBOUND", c2)
    for t in (49, 50, 51):
        s.event(t, powershell, "MESSAGE_OUTBOUND", c2, repeat=2)
    s.event(52, powershell, "CREATE", implant_file)
    for t in (52, 53, 54):
        s.event(t, powershell, "WRITE", implant_file, repeat=3)
    s.event(56, powershell, "CREATE", implant)
    # the implant beacons to its C2 address every minute for 25 minutes
    for minute in range(25):
        t = 60 + 60 * minute
        s.event(t, implant, "START_OUTBOUND", c2)
        s.event(t, implant, "MESSAGE_OUTBOUND", c2, repeat=2)
    # discovery through cmd.exe
    cmd = win("process", "C:\\Windows\\System32\\cmd.exe")
    s.event(95, implant, "CREATE", cmd)
    for offset, tool in enumerate(("whoami.exe", "ipconfig.exe", "net.exe", "systeminfo.exe")):
        t = 97 + 3 * offset
        s.event(t, cmd, "CREATE", win("process", "C:\\Windows\\System32\\" + tool))
        s.event(t + 1, cmd, "READ", win("file", "C:\\Windows\\System32\\" + tool), repeat=2)
    # persistence: a Run value and a scheduled task that start the implant
    s.event(140, implant, "ADD", win("registry", "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\MsUpdate"))
    schtasks = win("process", "C:\\Windows\\System32\\schtasks.exe")
    task = win("task", "\\Microsoft\\Windows\\Maintenance\\MsUpdateCheck")
    s.event(150, implant, "CREATE", schtasks)
    s.event(151, schtasks, "CREATE", task)
    s.event(152, schtasks, "START", task)
    # it injects into the logon process, which runs as SYSTEM (the user is a local administrator)
    winlogon = win("process", "C:\\Windows\\System32\\winlogon.exe")
    s.event(200, implant, "OPEN", winlogon, repeat=2)
    s.event(201, implant, "REMOTE_CREATE", unnamed("thread", "thread"), repeat=2)
    # clean-up: the document and the stager are deleted
    s.event(1500, implant, "DELETE", document)
    s.event(1500, implant, "DELETE", stager)
    return s


if __name__ == "__main__":
    for story in (dropper(), exfil(), benign(), macro()):
        print(story.name, story.write(), "rows")
