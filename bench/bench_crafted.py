"""How the work of ``report`` grows with crafted inputs: many distinct names, where an
attacker chooses the names (the brief's "bound the work they can cause").

    python bench/bench_crafted.py [--sizes 2500 5000 10000 20000] [--shapes dropped chain sweep distinct churn fanout downloads held exploits cronjobs readers tasks desktops jobtables spools partials documents pipes pastes closes callbacks cronfetch elevators logons collectors services]

Each shape is written at each size to ``bench/out/crafted/`` (git-ignored) and reported
offline (``aptnarrate report FILE --backend offline``, one subprocess each, wall time and
peak RSS). ``x prev`` is the time over the time at the size before: about 2 for each
doubling is linear; 4 is quadratic.

* ``dropped``: one shell writes and runs N different scripts, beside one outbound connection
  (N dropped programs: the attack chain's members).
* ``chain``: an edge list where process i writes and starts process i+1 (a chain N long).
* ``sweep``: one scanner connecting to N addresses.
* ``distinct``: N processes, each writing and running its own script and connecting to its
  own address.
* ``fanout``: one shell runs a script it wrote, then starts N different programs (N
  processes that join the attack chain as started by the hand that ran a dropped program).
* ``churn``: one shell deleting and writing one file again N times, and writing and deleting
  N other files (the deletions Covering Tracks weighs, replaced files among them).
* ``downloads``: a browser writing and starting N programs the knowledge base does not know,
  each writing and starting a vendor application's program (N downloads run, each shaped as
  a software install: the browser rules and the install rule weigh each one).
* ``held``: N processes, each connecting to its own outside address and exchanging messages
  the log records against an unnamed source/sink (TRACE's socket reads and writes), which the
  Command and Control rule attributes to each one's held connection.
* ``exploits``: a shell runs N programs, each starting sh, which reads shadow, beside a sed
  rewriting a log (the root-shell and log-edit rules weigh each one).
* ``cronjobs``: cron starts sh N times, and each sh starts its own hidden program (the cron
  rule weighs each job; the stage-support screen reads each cited row).
* ``readers``: a shell starts N programs, each reading its own document and sending to its
  own public address (the exfiltration rule weighs what each was handed by its launcher).
* ``tasks``: N scheduled tasks, each created and deleted in the same second (one-shot tasks).
* ``desktops``: N processes, each writing a hidden program that chmod makes executable and a
  desktop entry (the desktop-entry rule weighs each writer's pair).
* ``jobtables``: N shells, each writing a hidden program, changing its mode and running
  crontab, which writes the table (the job-table rule weighs each shell's pair).
* ``spools``: N processes, each writing a file that cron reads and then starts sh (the
  cron-spool rule weighs each table).
* ``partials``: a browser writing and renaming N downloads in progress (``setupN.part``),
  each then started from the file manager (the dropped-executable rule judges each under its
  completed name).
* ``documents``: rclone reading N documents and sending after each, beside N backups read by
  N copy processes and one write of passwd (the document-reader test of the Command and
  Control rule, and the backup-restore ``unless``).
* ``pipes``: N one-shot services whose ``cmd.exe`` writes to a file PowerShell created and
  reads (the named-pipe impersonation rule weighs each pipe).
* ``pastes``: a remote desktop session from a host of the site, in which Explorer writes N
  programs that a shell then starts (the download rule weighs each as pasted over the session).
* ``closes``: N unnamed connections each closed under another process's name, N uploaders
  reading a file in the minutes unnamed messages go out beside a browser's open connection, N
  updaters applying a package the browser saved, N units written and touched (the close,
  reader, package and touched-persistence readings of the forty-second stop).
* ``callbacks``: a mail server accepting N connections, each from its own outside address, in
  the minutes its shell connects back to each of them (the service callback rule's windows).
* ``cronfetch``: cron starting sh in N different minutes, each time curl fetching from one of
  200 outside addresses into a pipe sh reads (the cron fetch-and-run rule's jobs).
* ``elevators``: N programs each having reg.exe write the handler value `command`, starting
  fodhelper, which starts the program again (the UAC bypass rule's runs and planters).
* ``logons``: N programs each writing a program, a shortcut to it, a DLL and a COM class's
  server key, then a logon (userinit starting Explorer) for each, whose Explorer reads the
  shortcut, starts the program and loads the DLL (the start-up shortcut and COM hijack rules'
  logons and loads).
* ``services``: cmd.exe writing N DLLs and N programs, sc.exe run, the service control
  manager starting N programs and svchost, which loads the N DLLs and answers N addresses;
  beside it N net runs while LSASS writes account keys, and N programs each starting sh,
  which runs sudo, whose useradd rewrites the account database (the fifty-second stop's
  service-DLL, planted-service, account and net rules, and their escalations).
* ``collectors``: N processes each reading three documents, writing a file, reading it back,
  sending to its own outside address and deleting it, beside one process reading N documents
  and writing N files (the staged-file reading of the fifty-first stop).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "crafted"
START_NS = 1747228320 * 10**9  # 2025-05-14 13:12 UTC


def _stamp(second: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(START_NS // 10**9 + second))


def _ocrapt(lines: list[tuple[str, int]]) -> str:
    return "description,timestamp\n" + "".join(f"{text},{_stamp(second)}\n" for text, second in lines)


def _each(n: int, events: tuple[str, ...], head: tuple[str, ...] = (), tail: tuple[str, ...] = ()) -> str:
    """An OCR-APT CSV: the ``head`` rows at second 0, then for each i below ``n`` the
    ``events`` (``{i}`` filled in) at second i, then the ``tail`` rows at second ``n``."""
    lines = [(text, 0) for text in head]
    for i in range(n):
        lines += [(text.format(i=i), i) for text in events]
    return _ocrapt(lines + [(text, n) for text in tail])


def dropped(n: int) -> str:
    return _each(
        n,
        (
            "The subject_process: bash WRITE the file_object_file: /tmp/f{i}.sh",
            "The subject_process: bash EXECUTE the file_object_file: /tmp/f{i}.sh",
        ),
        head=(
            "The subject_process: bash CONNECT the netflowobject: 203.0.113.9",
        ),
    )


def sweep(n: int) -> str:
    return _ocrapt([(f"The subject_process: scanner CONNECT the netflowobject: 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", i) for i in range(n)])


def distinct(n: int) -> str:
    lines = []
    for i in range(n):
        lines.append((f"The subject_process: proc{i} WRITE the file_object_file: /tmp/f{i}.sh", i))
        lines.append((f"The subject_process: proc{i} EXECUTE the file_object_file: /tmp/f{i}.sh", i))
        lines.append((f"The subject_process: proc{i} CONNECT the netflowobject: 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", i))
    return _ocrapt(lines)


def churn(n: int) -> str:
    lines = []
    for i in range(n):
        lines.append(("The subject_process: bash UNLINK the file_object_file: /var/tmp/state", 2 * i))
        lines.append(("The subject_process: bash WRITE the file_object_file: /var/tmp/state", 2 * i + 1))
        lines.append((f"The subject_process: bash WRITE the file_object_file: /var/tmp/out{i}.dat", 2 * i))
        lines.append((f"The subject_process: bash UNLINK the file_object_file: /var/tmp/out{i}.dat", 2 * i + 1))
    return _ocrapt(lines)


def fanout(n: int) -> str:
    lines = [("The subject_process: bash CONNECT the netflowobject: 203.0.113.9", 0)]
    lines.append(("The subject_process: bash WRITE the file_object_file: /tmp/x.sh", 0))
    lines.append(("The subject_process: bash EXECUTE the file_object_file: /tmp/x.sh", 1))
    lines += [(f"The subject_process: bash FORK the subject_process: p{i}", 60 + i) for i in range(n)]
    return _ocrapt(lines)


def downloads(n: int) -> str:
    return _each(
        n,
        (
            "The process: firefox.exe CREATE the file: setup{i}.exe",
            "The process: firefox.exe CREATE the process: setup{i}.exe",
            "The process: setup{i}.exe CREATE the file: Zoom.exe",
            "The process: setup{i}.exe CREATE the process: Zoom.exe",
        ),
    )


def held(n: int) -> str:
    lines = []
    for i in range(n):
        lines.append((f"The subject_process: imp{i} CONNECT the netflowobject: 185.{86 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}", i))
        lines.append((f"The subject_process: imp{i} RECVMSG a srcsink_unknown", i + 60))
        lines.append((f"The subject_process: imp{i} WRITE a srcsink_unknown", i + 120))
        lines.append((f"The subject_process: imp{i} RECVMSG a srcsink_unknown", i + 180))
    return _ocrapt(lines)


def exploits(n: int) -> str:
    return _each(
        n,
        (
            "The subject_process: bash CLONE the subject_process: xpl{i}",
            "The subject_process: xpl{i} CLONE the subject_process: sh",
            "The subject_process: sh READ the file_object_file: shadow",
            "The subject_process: sed READ the file_object_file: auth.log",
            "The subject_process: sed WRITE the file_object_file: sedtmp{i}",
            "The subject_process: sed RENAME the file_object_file: sedtmp{i}",
        ),
    )


def cronjobs(n: int) -> str:
    return _each(
        n,
        (
            "The subject_process: cron CLONE the subject_process: sh",
            "The subject_process: sh CLONE the subject_process: .job{i}",
        ),
    )


def readers(n: int) -> str:
    lines = []
    for i in range(n):
        address = f"45.77.{i // 250 % 250}.{i % 250 + 1}"
        lines.append((f"The subject_process: bash CLONE the subject_process: rd{i}", i))
        lines.append((f"The subject_process: rd{i} READ the file_object_file: report{i}.docx", i))
        lines.append((f"The subject_process: rd{i} CONNECT the netflowobject: {address}", i))
        lines.append((f"The subject_process: rd{i} SENDMSG the netflowobject: {address}", i))
    return _ocrapt(lines)


def tasks(n: int) -> str:
    return _each(
        n,
        (
            "The process: svchost.exe CREATE the task: TaskNo{i}",
            "The process: svchost.exe DELETE the task: TaskNo{i}",
        ),
    )


def desktops(n: int) -> str:
    return _each(
        n,
        (
            "The subject_process: inst{i} WRITE the file_object_file: .agent{i}",
            "The subject_process: chmod MODIFY_FILE_ATTRIBUTES the file_object_file: .agent{i}",
            "The subject_process: inst{i} WRITE the file_object_file: agent{i}.desktop",
        ),
    )


def jobtables(n: int) -> str:
    return _each(
        n,
        (
            "The subject_process: sh{i} WRITE the file_object_file: .job{i}",
            "The subject_process: sh{i} MODIFY_FILE_ATTRIBUTES the file_object_file: .job{i}",
            "The subject_process: sh{i} CLONE the subject_process: crontab",
            "The subject_process: crontab WRITE the file_object_file: admin",
        ),
    )


def spools(n: int) -> str:
    return _each(
        n,
        (
            "The subject_process: srv{i} WRITE the file_object_file: tab{i}",
            "The subject_process: cron READ the file_object_file: tab{i}",
            "The subject_process: cron CLONE the subject_process: sh",
        ),
    )


def partials(n: int) -> str:
    return _each(
        n,
        (
            "The subject_process: firefox WRITE the file_object_file: setup{i}.part",
            "The subject_process: firefox RENAME the file_object_file: setup{i}.part",
            "The subject_process: nautilus CLONE the subject_process: setup{i}",
        ),
        head=(
            "The subject_process: firefox CONNECT the netflowobject: 81.49.200.166",
        ),
    )


def documents(n: int) -> str:
    return _each(
        n,
        (
            "The process: rclone.exe READ the file: report{i}.docx",
            "The process: rclone.exe MESSAGE_OUTBOUND the flow: 31.31.196.70",
            "The process: cp{i} READ the file: passwd{i}.bak",
        ),
        head=(
            "The process: rclone.exe START_OUTBOUND the flow: 31.31.196.70",
        ),
        tail=(
            "The process: cp0 WRITE the file: passwd",
        ),
    )


def chain(n: int) -> str:
    rows = ["subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr"]
    rows.append(f"p0,SUBJECT_PROCESS,/usr/bin/thunderbird,EVENT_CONNECT,{START_NS},n0,NetFlowObject,10.0.0.2->203.0.113.4:443")
    for i in range(n):
        t = START_NS + (i + 1) * 10**9
        rows.append(f"p{i},SUBJECT_PROCESS,/tmp/s{i}.sh,EVENT_WRITE,{t},f{i + 1},FILE_OBJECT_FILE,/tmp/s{i + 1}.sh")
        rows.append(f"p{i},SUBJECT_PROCESS,/tmp/s{i}.sh,EVENT_EXECUTE,{t + 1},p{i + 1},SUBJECT_PROCESS,/tmp/s{i + 1}.sh")
    return "\n".join(rows) + "\n"


def pipes(n: int) -> str:
    return _each(
        n,
        (
            "The process: powershell.exe CREATE the file: pipe{i}",
            "The process: services.exe CREATE the process: cmd.exe",
            "The process: cmd.exe WRITE the file: pipe{i}",
            "The process: powershell.exe READ the file: pipe{i}",
        ),
    )


def pastes(n: int) -> str:
    return _each(
        n,
        (
            "The process: explorer.exe WRITE the file: tool{i}.exe",
            "The process: cmd.exe CREATE the process: tool{i}.exe",
        ),
        head=(
            "The process: svchost.exe START_INBOUND the flow: 10.20.57.147",
            "The process: svchost.exe CREATE the process: rdpclip.exe",
            "The process: chrome.exe START_OUTBOUND the flow: 81.49.200.166",
        ),
    )


def closes(n: int) -> str:
    """N unnamed connections, each closed under its own closer's name (a process with no
    other event on that address), beside N uploaders each holding one connection and
    reading a file in every minute the unnamed messages go out, a browser holding one open
    all along, N updaters reading a package the browser saved and writing the browser's
    program, and N boot scripts written and touched."""
    lines = [("The subject_process: firefox CONNECT the netflowobject: 93.184.216.34", 0), ("The subject_process: firefox WRITE the file_object_file: update.mar", 0)]
    for i in range(n):
        address = f"185.{86 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}"
        lines.append((f"A subject_process CONNECT the netflowobject: {address}", i))
        lines.append(("A subject_process SENDMSG a srcsink_unknown", i + 1))
        lines.append((f"The subject_process: closer{i} CLOSE the netflowobject: {address}", i + 2))
        lines.append((f"The subject_process: up{i} CONNECT the netflowobject: 91.{86 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}", i))
        lines.append((f"The subject_process: up{i} READ the file_object_file: arch{i}.tgz", i + 61))
        lines.append((f"The subject_process: updater{i} READ the file_object_file: update.mar", i))
        lines.append((f"The subject_process: updater{i} WRITE the file_object_file: firefox", i + 1))
        lines.append((f"The subject_process: sh{i} WRITE the file_object_file: boot{i}.service", i))
        lines.append((f"The subject_process: touch MODIFY_FILE_ATTRIBUTES the file_object_file: boot{i}.service", i + 3))
    lines.sort(key=lambda line: line[1])
    return _ocrapt(lines)


def callbacks(n: int) -> str:
    def address(i: int) -> str:
        return f"45.{86 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}"

    lines = [("The subject_process: exim4 CLONE the subject_process: sh", 0), ("The subject_process: sh EXECUTE the file_object_file: bash", 1)]
    for i in range(n):
        lines.append((f"The subject_process: exim4 ACCEPT the netflowobject: {address(i)}", i % 60))
        lines.append((f"The subject_process: bash CONNECT the netflowobject: {address(i)}", (7 * i) % 180))
    lines.sort(key=lambda line: line[1])
    return _ocrapt(lines)


def cronfetch(n: int) -> str:
    lines = []
    for i in range(n):
        at = 60 * i  # one job a minute
        lines += [
            ("The subject_process: cron EXECUTE the file_object_file: sh", at + 1),
            (f"The subject_process: curl CONNECT the netflowobject: 103.224.{i % 200}.19", at + 3),
            ("The subject_process: curl WRITE a pipe", at + 4),
            ("The subject_process: sh READ a pipe", at + 5),
        ]
    return _ocrapt(lines)


def elevators(n: int) -> str:
    return _each(
        n,
        (
            "The process: impl{i}.exe CREATE the process: reg.exe",
            "The process: reg.exe EDIT the registry: command",
            "The process: impl{i}.exe CREATE the process: fodhelper.exe",
            "The process: fodhelper.exe CREATE the process: impl{i}.exe",
        ),
    )


def logons(n: int) -> str:
    return _each(
        n,
        (
            "The process: drop{i}.exe CREATE the file: agent{i}.exe",
            "The process: drop{i}.exe CREATE the file: Agent {i}.lnk",
            "The process: drop{i}.exe CREATE the file: ext{i}.dll",
            "The process: drop{i}.exe EDIT the registry: InprocServer32",
            "The process: userinit.exe CREATE the process: explorer.exe",
            "The process: explorer.exe READ the file: Agent {i}.lnk",
            "The process: explorer.exe CREATE the process: agent{i}.exe",
            "The process: explorer.exe LOAD the module: ext{i}.dll",
        ),
    )


def collectors(n: int) -> str:
    lines = []
    for i in range(n):
        address = f"45.78.{i // 250 % 250}.{i % 250 + 1}"
        for document in (f"a{i}.docx", f"b{i}.xlsx", f"c{i}.pdf"):
            lines.append((f"The subject_process: col{i} READ the file_object_file: {document}", i))
        lines += [
            (f"The subject_process: col{i} WRITE the file_object_file: pack{i}.dat", i),
            (f"The subject_process: col{i} READ the file_object_file: pack{i}.dat", i),
            (f"The subject_process: col{i} CONNECT the netflowobject: {address}", i),
            (f"The subject_process: col{i} SENDMSG the netflowobject: {address}", i),
            (f"The subject_process: col{i} UNLINK the file_object_file: pack{i}.dat", i),
            (f"The subject_process: hoarder READ the file_object_file: doc{i}.docx", i),
            (f"The subject_process: hoarder WRITE the file_object_file: part{i}.dat", i),
        ]
    return _ocrapt(lines)


def services(n: int) -> str:
    return _each(
        n,
        (
            "The process: cmd.exe CREATE the file: svc{i}.dll",
            "The process: cmd.exe WRITE the file: prog{i}.exe",
            "The process: cmd.exe CREATE the process: sc.exe",
            "The process: services.exe CREATE the process: prog{i}.exe",
            "The process: services.exe CREATE the process: svchost.exe",
            "The process: svchost.exe LOAD the module: svc{i}.dll",
            "The process: svchost.exe MESSAGE_INBOUND the flow: 45.79.{i}.1",
            "The process: svchost.exe MESSAGE_OUTBOUND the flow: 45.79.{i}.1",
            "The process: cmd.exe CREATE the process: net.exe",
            "The process: lsass.exe EDIT the registry: 000001F4",
            "The process: lsass.exe ADD the registry: 0000{i:04X}",
            "The process: imp{i} CREATE the process: sh",
            "The process: sh CREATE the process: sudo",
            "The process: sudo CREATE the process: useradd",
            "The process: useradd WRITE the file: passwd+",
        ),
    )


SHAPES = {"dropped": (dropped, "csv"), "chain": (chain, "edges.csv"), "sweep": (sweep, "csv"), "distinct": (distinct, "csv"), "churn": (churn, "csv"), "fanout": (fanout, "csv"), "downloads": (downloads, "csv"), "held": (held, "csv"), "exploits": (exploits, "csv"), "cronjobs": (cronjobs, "csv"), "readers": (readers, "csv"), "tasks": (tasks, "csv"), "desktops": (desktops, "csv"), "jobtables": (jobtables, "csv"), "spools": (spools, "csv"), "partials": (partials, "csv"), "documents": (documents, "csv"), "pipes": (pipes, "csv"), "pastes": (pastes, "csv"), "closes": (closes, "csv"), "callbacks": (callbacks, "csv"), "cronfetch": (cronfetch, "csv"), "elevators": (elevators, "csv"), "logons": (logons, "csv"), "collectors": (collectors, "csv"), "services": (services, "csv")}


def cli() -> list[str]:
    exe = shutil.which("aptnarrate", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "aptnarrate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 5000, 10000, 20000])
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=sorted(SHAPES))
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a run is stopped (shown as >)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"{'shape':<9} {'N':>7} {'rows':>8} {'wall s':>8} {'peak MiB':>9} {'x prev':>7}")
    for shape in args.shapes:
        make, suffix = SHAPES[shape]
        previous = None
        for n in args.sizes:
            path = OUT / f"{shape}_{n}.{suffix}"
            if not path.exists():
                path.write_text(make(n), encoding="utf-8")
            rows = sum(1 for _ in path.open(encoding="utf-8")) - 1
            started = time.perf_counter()
            process = subprocess.Popen([*cli(), "report", str(path), "--backend", "offline", "-o", os.devnull], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            usage = None
            while usage is None:  # poll: wait4 gives the child's peak RSS, but no timeout
                pid, _, found = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    usage = found
                elif time.perf_counter() - started > args.timeout:
                    process.kill()
                    process.wait()
                    break
                else:
                    time.sleep(0.05)
            wall = time.perf_counter() - started
            if usage is None:
                print(f"{shape:<9} {n:>7} {rows:>8} {'>' + format(args.timeout, '.0f'):>8}")
                break
            ratio = f"{wall / previous:>7.2f}" if previous else f"{'-':>7}"
            print(f"{shape:<9} {n:>7} {rows:>8} {wall:>8.2f} {usage.ru_maxrss / 1024:>9.0f} {ratio}", flush=True)
            previous = wall


if __name__ == "__main__":
    main()
