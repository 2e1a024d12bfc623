"""Does the offline judgment generalise? Stage claims under perturbations that should not
matter, on hand-written subgraphs of attack shapes the corpus lacks, and the defects these
checks found (each test below the first three failed before its fix). The perturbations of
every hand-written case are in ``test_judgment_perturbations.py`` (OpTC) and
``test_judgment_perturbations_tc3.py`` (TC3): files of their own, so that the suite's workers
(one test file at a time each) can run them beside these.

The perturbations live in ``tests/judgment_perturb.py`` (also a script that prints every
flip over the whole corpus); the hand-written subgraphs and an analyst's stages for them in
``tests/data/handmade/`` (``cases.json`` says they are hand-written).
"""

from __future__ import annotations


import pandas as pd
import aptnarrate
import pytest

import judgment_perturb as jp
from judgment_perturb import CASES, HANDMADE

from aptnarrate.rules.profiles import get_profile

# the OpTC site's networks, as --profile darpa-optc declares them
OPTC_SITE = tuple(get_profile("darpa-optc").internal_networks)
# corpus cases with claims of different rules (C2 with a command loop, C2 + Initial
# Compromise + Covering Tracks, a mail client's drop); the script covers all 44
CORPUS_CASES = ("SysClient0501_subgraph_0", "cadets_subgraph_17", "trace_subgraph_20")


def _log(*lines: str, date: str = "2019-09-25") -> pd.DataFrame:
    """An OCR-APT subgraph from ``"HH:MM:SS description"`` lines."""
    return pd.DataFrame(
        [{"description": line[9:], "timestamp": f"{date} {line[:8]}"} for line in lines], columns=["description", "timestamp"]
    )


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("declared", [False, True], ids=["bare", "profile"])
def test_hand_written_attack_shapes_get_the_analysts_stages(case, declared):
    # scored on the report: the rules' claims after grounding (it once dropped three of them:
    # a "/16" read as a file name, and a systemd unit and a WMI consumer's start that the
    # stage-support screen did not count as persistence)
    expected = CASES[case]["stages"] if declared else CASES[case].get("stages_without_profile", CASES[case]["stages"])
    stages, dropped = jp.reported(jp.case_file(HANDMADE, case), jp.networks(case, declared))
    assert dropped == []
    assert stages == set(expected), CASES[case]["why"]


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_corpus_claims_survive_perturbations(corpus_dir, case):
    flips = jp.flips(corpus_dir / f"{case}.csv", drop_entities=1, declared=(True,))
    assert flips == []


# --------------------------------------------------------------------------- defects found


def test_powershell_policy_test_file_deleted_is_not_covering_tracks():
    """PowerShell creates and deletes a __PSScriptPolicyTest_ file each time it starts: that
    alone claimed Covering Tracks (every OpTC PowerShell subgraph has it). A payload deleted
    beside it still counts: the file's rows are set aside, the stage is not suppressed."""
    routine = _log(
        "10:12:05 The process: powershell.exe COMMAND a shell",
        "10:12:06 The process: powershell.exe CREATE the file: __PSScriptPolicyTest_q1w2e3r4.t5y.ps1",
        "10:12:07 The process: powershell.exe DELETE the file: __PSScriptPolicyTest_q1w2e3r4.t5y.ps1",
    )
    assert "Covering Tracks" not in jp.claims(routine).stages
    payload = pd.concat(
        [routine, _log(
            "10:13:01 The process: powershell.exe CREATE the file: stage2.exe",
            "10:14:01 The process: powershell.exe DELETE the file: stage2.exe",
        )],
        ignore_index=True,
    )
    assert "Covering Tracks" in jp.claims(payload).stages


@pytest.mark.parametrize(
    "line, claimed",
    [
        ("10:12:11 The process: powershell.exe EDIT the registry: Run", True),
        ("10:12:11 The process: powershell.exe ADD the registry: RunOnce", True),
        ("10:12:11 The process: explorer.exe OPEN the registry: Run", False),
        ("10:12:11 The process: explorer.exe EDIT the registry: RunMRU", False),
    ],
)
def test_run_key_in_ocrapt_wording_is_persistence(line, claimed):
    """OCR-APT keeps only a name's last component, so a Run key written reads `the registry:
    Run`; the rule matched only full key paths and missed it."""
    assert ("Maintain Persistence" in jp.claims(_log(line)).stages) is claimed


def test_command_and_control_does_not_depend_on_event_density():
    """A back-and-forth with a public address in two separate minutes: logged twice as
    densely (each exchange at two seconds of its minute) it is the same channel. The rule
    counted 3 event-seconds each way, so doubling turned C2 on."""
    frame = _log(
        "12:43:15 The subject_process: gtcache SENDMSG the netflowobject: 161.116.88.72",
        "12:43:16 The subject_process: gtcache RECVMSG the netflowobject: 161.116.88.72",
        "12:47:15 The subject_process: gtcache SENDMSG the netflowobject: 161.116.88.72",
        "12:47:16 The subject_process: gtcache RECVMSG the netflowobject: 161.116.88.72",
        date="2018-04-13",
    )
    single, doubled = jp.claims(frame).stages, jp.claims(jp.doubled_seconds(frame)).stages
    assert single == doubled == {"Command and Control"}
    # one minute of exchange, however dense, is not sustained
    one_minute = (
        f"12:43:{second:02d} The subject_process: gtcache {action} the netflowobject: 161.116.88.72"
        for second in range(10, 20)
        for action in ("SENDMSG", "RECVMSG")
    )
    assert jp.claims(_log(*one_minute, date="2018-04-13")).stages == set()


def _cited_descriptions(frame: pd.DataFrame, stage: str, networks=()) -> list[str]:
    from aptnarrate.preprocess.condense import condense
    from aptnarrate.preprocess.facts import compute_facts
    from aptnarrate.preprocess.ingest import read_events
    from aptnarrate.rules.stages import find_stages

    timeline = condense(read_events(frame, name="hand-written"))
    finding = next(f for f in find_stages(compute_facts(timeline, internal_networks=networks)) if f.stage == stage)
    codes = timeline.log["description"][finding.positions]
    desc = timeline.descriptions
    return [f"{s} {a} {o}" for s, a, o in zip(*(desc[c][codes].tolist() for c in ("subject_name", "action", "object_name")))]


def test_inferred_mail_client_drop_cites_the_client():
    """An unnamed writer is taken for the mail client when the subgraph names only mail
    clients; the claim cited only the file's rows, so dropping the client's rows (which no
    claim cited) lost the claim and a reader of the evidence could not see the client."""
    frame = _log(
        "14:00:01 A subject_process CLONE the subject_process: thunderbird",
        "14:01:01 A subject_process CREATE_OBJECT the file_object_file: invoice",
        "14:01:02 A subject_process UPDATE the file_object_file: invoice",
        date="2018-04-13",
    )
    cited = _cited_descriptions(frame, "Initial Compromise")
    assert " CLONE thunderbird" in cited and " CREATE_OBJECT invoice" in cited


def test_lateral_movement_by_site_cites_this_hosts_address():
    """The peer is internal because it shares this host's /16: the row showing this host's
    own address is part of the evidence (dropping it, uncited, flipped the claim to C2)."""
    cited = _cited_descriptions(jp.read_frame(HANDMADE / "optc_lateral_source_own_address.csv"), "Lateral Movement")
    assert "powershell.exe MESSAGE_INBOUND 142.20.57.246" in cited


@pytest.mark.parametrize("client", ["thunderbird", "icedove", "thunderbird-bin", "evolution", "firefox-esr", "chromium-browse"])
def test_other_builds_of_mail_clients_and_browsers_are_known(client):
    """Another host runs the same client under another name (a distribution's build, the
    launcher's binary, Linux's 15-character process name): renaming thunderbird to icedove
    lost trace_subgraph_20's Initial Compromise, the knowledge base knew one name only."""
    frame = _log(
        f"14:00:01 A subject_process CLONE the subject_process: {client}",
        "14:01:01 A subject_process CREATE_OBJECT the file_object_file: invoice",
        date="2018-04-13",
    )
    assert jp.claims(frame).stages == {"Initial Compromise"}


@pytest.mark.parametrize("declared", [False, True], ids=["bare", "profile"])
def test_mail_client_writing_its_mailboxes_is_not_initial_compromise(declared):
    """A mail client's mbox files have no extension (INBOX, Trash); an unknown name without
    a dot counts as an executable, so a client receiving mail 'created an executable'."""
    frame = _log(
        "14:00:01 The subject_process: thunderbird CONNECT the netflowobject: 128.55.12.110",
        "14:00:02 The subject_process: thunderbird RECVMSG the netflowobject: 128.55.12.110",
        "14:00:03 The subject_process: thunderbird WRITE the file_object_file: INBOX",
        "14:00:04 The subject_process: thunderbird WRITE the file_object_file: Trash",
        date="2018-04-13",
    )
    assert jp.claims(frame, ("128.55.12.0/24",) if declared else ()).stages == set()


@pytest.mark.parametrize("servicing", ["TiWorker.exe", "TrustedInstaller.exe", "msiexec.exe", "wuauclt.exe", "MsMpEng.exe"])
def test_windows_servicing_deleting_binaries_is_not_covering_tracks(servicing):
    """Windows servicing, installers and Defender replace, remove and quarantine DLLs and
    executables all day; two such deletions claimed Covering Tracks (high). The same
    deletions by an unknown program still count."""
    rows = [
        "14:00:01 The process: {who} CREATE the file: wuapi.dll",
        "14:00:03 The process: {who} DELETE the file: wuapi.dll",
        "14:00:04 The process: {who} DELETE the file: msvcp140.dll",
    ]
    assert jp.claims(_log(*(r.format(who=servicing) for r in rows))).stages == set()
    assert jp.claims(_log(*(r.format(who="upd64.exe") for r in rows))).stages == {"Covering Tracks"}


def test_command_loop_cites_the_replies_recorded_against_this_host():
    """OpTC records a reply against its receiver: the C2 reason said '0 inbound' and left out
    the inbound messages to this host's own address in the minutes the process sends."""
    frame = jp.read_frame(HANDMADE / "optc_command_loop_two_minutes.csv")
    cited = _cited_descriptions(frame, "Command and Control")
    assert "svchost.exe MESSAGE_INBOUND 142.20.57.246" in cited and "svchost.exe COMMAND " in cited
    finding = next(f for f in jp.find_stages(jp.compute_facts(jp.condense(jp.read_events(frame, name="x")))) if f.stage == "Command and Control")
    assert "name only this host's own address" in finding.rationale


def _beacon_after_reads(who: str, reads: list[str], address: str, optc: bool) -> frozenset:
    if optc:
        rows = [f"09:00:0{i} The process: {who} READ the file: {name}" for i, name in enumerate(reads)]
        rows += [f"09:0{m}:{s} The process: {who} MESSAGE_OUTBOUND the flow: {address}" for m in (0, 1, 2) for s in (10, 20)]
        return jp.claims(_log(*rows)).stages
    rows = [f"12:43:0{i} The subject_process: {who} READ the file_object_file: {name}" for i, name in enumerate(reads)]
    rows += [f"12:4{m}:{s} The subject_process: {who} SENDMSG the netflowobject: {address}" for m in (3, 4, 5) for s in (10, 20)]
    rows += [f"12:4{m}:11 The subject_process: {who} RECVMSG the netflowobject: {address}" for m in (3, 4, 5)]
    return jp.claims(_log(*rows, date="2018-04-13")).stages


@pytest.mark.parametrize(
    "who, reads, optc, exfiltration",
    [
        ("msupd.exe", ["kernel32.dll.mui", "UserNotPresentSession.etl"], True, False),
        ("tcexec", ["gai.conf", "libnss_files.so.2", "gconv-modules.cache"], False, False),
        ("msupd.exe", ["payroll.docx"], True, True),
        ("tcexec", ["notes.txt"], False, True),
    ],
)
def test_resources_every_process_reads_are_not_user_data(who, reads, optc, exfiltration):
    """A beaconing process that read a localized resource (.mui) and an ETW trace, or glibc's
    resolver configuration, a versioned shared object and a locale cache, claimed Data
    Exfiltration: any unknown name with a dot counted as user data. Documents still do."""
    stages = _beacon_after_reads(who, reads, "162.66.239.75", optc)
    assert "Command and Control" in stages
    assert ("Data Exfiltration" in stages) is exfiltration


def _write_then_delete(who: str, files: list[str], unnamed: bool) -> frozenset:
    subject = "A subject_process" if unnamed else f"The subject_process: {who}"
    rows = [f"13:59:00 A subject_process CLONE the subject_process: {who}"] if unnamed else []
    for i, name in enumerate(files):
        rows += [f"14:00:1{i} {subject} WRITE the file_object_file: {name}", f"14:01:1{i} {subject} UNLINK the file_object_file: {name}"]
    return jp.claims(_log(*rows, date="2018-04-13")).stages


@pytest.mark.parametrize("unnamed", [False, True], ids=["named", "unnamed"])
@pytest.mark.parametrize(
    "who, files, expected",
    [
        ("thunderbird", ["nsmail.tmp", "nsemail.eml"], set()),  # a draft's temporary copies
        ("firefox", ["8D3F2A1B0C4455667788", "places.sqlite-journal"], set()),  # a cache entry, a journal
        ("thunderbird", ["run.sh"], {"Initial Compromise", "Covering Tracks"}),  # a script it dropped, deleted
        ("upd", ["nsmail.tmp", "nsemail.eml"], {"Covering Tracks"}),  # an unknown program's files
    ],
)
def test_clients_deleting_their_working_files_is_not_covering_tracks(who, files, unnamed, expected):
    """A mail client composing mail or a browser caching pages writes files and deletes
    them: 'files the subgraph itself wrote were deleted' claimed Covering Tracks (and a
    browser's hash-named cache entry, having no dot, 'an executable': Initial Compromise).
    TRACE's unnamed subjects count as the client when the client is all the subgraph names."""
    assert _write_then_delete(who, files, unnamed) == expected


@pytest.mark.parametrize("who, name", [("chrome", "History"), ("chromium-browse", "Local State"), ("firefox", "index"), ("thunderbird", "lock")])
def test_client_profile_files_without_extension_are_not_executables(who, name):
    """Chromium's profile files (History, Cookies, Local State) and the Mozilla cache index and
    profile lock have no extension; a browser writing one 'created an executable'."""
    assert jp.claims(_log(f"14:00:10 The subject_process: {who} WRITE the file_object_file: {name}", date="2018-04-13")).stages == set()


@pytest.mark.parametrize("optc", [True, False], ids=["optc", "tc3"])
def test_connections_alone_carry_no_data_out(optc):
    """A process that read a document and then only opened connections to a public address
    (START_OUTBOUND, CONNECT: no message sent) was said to have sent data: Data Exfiltration
    with nothing shown leaving. A message sent on the same connections still is."""
    if optc:
        head = ["09:00:01 The process: upd.exe READ the file: payroll.docx"]
        line = "09:0{m}:{s} The process: upd.exe {action} the flow: 162.66.239.75"
        opened, sent, date = "START_OUTBOUND", "MESSAGE_OUTBOUND", "2019-09-25"
    else:
        head = ["09:00:01 The subject_process: upd READ the file_object_file: payroll.docx"]
        line = "09:0{m}:{s} The subject_process: upd {action} the netflowobject: 162.66.239.75"
        opened, sent, date = "CONNECT", "SENDTO", "2018-04-12"
    connects = [line.format(m=m, s=s, action=opened) for m in (1, 2, 3) for s in (10, 20)]
    assert jp.claims(_log(*head, *connects, date=date)).stages == {"Command and Control"}
    with_data = connects + [line.format(m=3, s=30, action=sent)]
    assert jp.claims(_log(*head, *with_data, date=date)).stages == {"Command and Control", "Data Exfiltration"}


# --------------------------------------------------------------------------- session 8: hosts we have never seen


@pytest.mark.parametrize(
    "who, stages",
    [("MsMpEng.exe", set()), ("MpCmdRun.exe", set()), ("scan64.exe", {"Command and Control", "Data Exfiltration"})],
)
def test_antivirus_reading_files_and_calling_its_cloud_is_not_exfiltration(who, stages):
    """Defender reads every file it scans and queries its cloud service every minute: that
    read documents and 'sent data' to a public address (Data Exfiltration) in a 'sustained
    exchange' (C2). Its rows are never evidence for those stages (``excludes`` now holds for
    every rule, not only Covering Tracks); an unknown program doing the same still is."""
    rows = [f"09:30:0{i} The process: {who} READ the file: {n}" for i, n in enumerate(["Q3-budget.xlsx", "resume.docx"])]
    rows += [f"09:3{m}:{s} The process: {who} MESSAGE_OUTBOUND the flow: 40.90.23.208" for m in range(3) for s in (20, 30)]
    assert jp.claims(_log(*rows)).stages == stages


def test_task_scheduler_recording_a_run_is_not_persistence():
    """The Task Scheduler service (svchost.exe) starts the OS's own tasks and MODIFYs each as
    it runs; every such modification claimed Maintain Persistence (high). A task created, or
    the task tools run, still is persistence beside it."""
    routine = _log(
        "03:00:01 The process: svchost.exe START the task: ProactiveScan",
        "03:00:02 The process: svchost.exe MODIFY the task: ProactiveScan",
        "03:00:03 The process: svchost.exe CREATE the process: defrag.exe",
    )
    assert jp.claims(routine).stages == set()
    created = pd.concat([routine, _log("03:01:01 The process: cmd.exe CREATE the process: schtasks.exe")], ignore_index=True)
    assert jp.claims(created).stages == {"Maintain Persistence"}
    assert jp.claims(_log("03:00:02 The process: updater.exe MODIFY the task: ProactiveScan")).stages == {"Maintain Persistence"}


def test_ssh_login_session_is_not_command_and_control():
    """Without the profile an SSH client's address reads as public: the daemon answering the
    session minute after minute was 'C2', and (its rows doubled) its reading shadow to
    authenticate and sending was 'exfiltration'."""
    frame = jp.read_frame(HANDMADE / "trace_sshd_session.csv")
    assert jp.claims(frame).stages == set()
    assert jp.claims(jp.doubled_seconds(frame)).stages == set()


def test_program_written_then_started_as_a_process_is_initial_compromise():
    """OpTC shows a program run as `CREATE the process: NAME`, never as an execve of the
    file: a downloaded executable started so was not 'written and then executed'."""
    rows = [
        "14:00:01 The process: gup.exe START_OUTBOUND the flow: 53.192.68.50",
        "14:00:03 The process: gup.exe CREATE the file: npp_update.exe",
        "14:00:06 The process: gup.exe CREATE the process: {started}",
    ]
    assert jp.claims(_log(*(r.format(started="npp_update.exe") for r in rows))).stages == {"Initial Compromise"}
    assert jp.claims(_log(*(r.format(started="notepad.exe") for r in rows))).stages == set()
    # Windows servicing installing its own binaries and starting them is not a download
    servicing = [r.replace("gup.exe", "TiWorker.exe").format(started="npp_update.exe") for r in rows]
    assert jp.claims(_log(*servicing)).stages == set()


def test_tool_copied_over_a_share_and_run_is_lateral_movement_not_persistence():
    """PsExec on the target: its service binary is written by System (the kernel's SMB
    server), installed as a service for one command and started. The service claimed
    Maintain Persistence (high), and the copied binary, once started, a download (Initial
    Compromise); it is remote execution."""
    frame = jp.read_frame(HANDMADE / "optc_psexec_target.csv")
    found = jp.find_stages(jp.compute_facts(jp.condense(jp.read_events(frame, name="x")), internal_networks=OPTC_SITE))
    lateral = next(f for f in found if f.stage == "Lateral Movement")
    assert "T1570" in lateral.techniques and "PSEXESVC.exe" in lateral.rationale
    assert not {"Maintain Persistence", "Initial Compromise"} & {f.stage for f in found}
    # another service installed is persistence still
    other = _log("12:20:04 The process: services.exe CREATE the service: UpdaterSvc")
    assert jp.claims(other).stages == {"Maintain Persistence"}


def test_remote_execution_arriving_while_every_address_is_outside_is_the_way_in():
    """Blind analysts not told the site's networks read a remote execution (PsExec's copy
    over a share, WMI's shell) whose every address looks outside as the way in (Initial
    Compromise, T1133), 23 of 30 where their slices showed it; the tool said Lateral
    Movement whatever the addresses. With the site's networks declared, or a private address
    in the log, it stays movement; with no address at all too."""
    frame = jp.read_frame(HANDMADE / "optc_psexec_target.csv")
    bare = {f.stage: f for f in jp.find_stages(jp.compute_facts(jp.condense(jp.read_events(frame, name="x"))))}
    assert "Lateral Movement" not in bare and "T1133" in bare["Initial Compromise"].techniques
    assert "outside the site" in bare["Initial Compromise"].rationale and "PSEXESVC.exe" in bare["Initial Compromise"].rationale
    shell = ["12:10:03 The process: wmiprvse.exe CREATE the process: cmd.exe", "12:10:04 The process: cmd.exe READ the file: inventory.cfg"]
    public = _log("12:10:01 The process: svchost.exe START_INBOUND the flow: 142.20.56.202", *shell)
    assert jp.claims(public).stages == {"Initial Compromise"}
    assert jp.claims(public, networks=OPTC_SITE).stages == {"Lateral Movement"}
    beside_private = _log("12:10:01 The process: svchost.exe START_INBOUND the flow: 142.20.56.202", "12:10:02 The process: svchost.exe START_INBOUND the flow: 10.1.2.3", *shell)
    assert jp.claims(beside_private).stages == {"Lateral Movement"}


@pytest.mark.parametrize("launcher", ["fodhelper.exe", "eventvwr.exe", "sdclt.exe", "ComputerDefaults.exe"])
def test_auto_elevating_binary_starting_a_shell_is_privilege_escalation(launcher):
    """A UAC bypass: an auto-elevating Windows binary whose handler was hijacked starts a
    shell. Nothing was claimed."""
    assert jp.claims(_log(f"11:40:04 The process: {launcher} CREATE the process: powershell.exe")).stages == {"Privilege Escalation"}
    assert jp.claims(_log(f"11:40:04 The process: {launcher} CREATE the process: mmc.exe")).stages == set()


def test_a_session_servers_exchange_with_another_host_is_the_callers_session():
    """A remote WMI session in OpTC's wording (blind probe h128 ae09): WMI's provider host
    only exchanges messages with the caller, no accept, and every message received by a
    process that also sends read as a reply on a connection of its own, so no connection
    from another host showed and the remote execution claimed nothing. WMI's provider host
    and the remote-session hosts open no connections of their own: what they hear is the
    caller's session, in whatever order the seconds put it. A PowerShell beacon's replies
    stay replies."""
    shell = ["12:10:10 The process: WmiPrvSE.exe CREATE the process: cmd.exe", "12:10:11 The process: cmd.exe READ the file: inventory.cfg"]
    for first, second in (("OUTBOUND", "INBOUND"), ("INBOUND", "OUTBOUND")):
        exchange = [f"12:10:01 The process: WmiPrvSE.exe MESSAGE_{first} the flow: 142.20.57.61", f"12:10:03 The process: WmiPrvSE.exe MESSAGE_{second} the flow: 142.20.57.61"]
        assert jp.claims(_log(*exchange, *shell), networks=OPTC_SITE).stages == {"Lateral Movement"}
    beacon = ["12:10:01 The process: powershell.exe MESSAGE_OUTBOUND the flow: 142.20.57.61", "12:10:03 The process: powershell.exe MESSAGE_INBOUND the flow: 142.20.57.61"]
    assert "Lateral Movement" not in jp.claims(_log(*beacon, *shell), networks=OPTC_SITE).stages


def _cron_fetch_runs(minutes, into="a pipe"):
    rows = []
    for m in minutes:
        rows += [
            f"20:{m:02d}:01 The subject_process: cron EXECUTE the file_object_file: sh",
            f"20:{m:02d}:02 The subject_process: sh EXECUTE the file_object_file: curl",
            f"20:{m:02d}:03 The subject_process: curl CONNECT the netflowobject: 103.224.80.19",
            f"20:{m:02d}:04 The subject_process: curl RECVFROM the netflowobject: 103.224.80.19",
            f"20:{m:02d}:05 The subject_process: curl WRITE {into}",
            f"20:{m:02d}:06 The subject_process: sh READ a pipe",
        ]
    return _log(*rows, date="2018-04-12")


def test_a_cron_job_piping_code_from_outside_into_a_shell_is_persistence():
    """`curl URL | sh` run by cron every ten minutes (blind probes h107 i10, h129 af25): the
    table was written with crontab(1), which claims nothing, so only the channel was claimed.
    Two runs of the job fetching from a public address into a pipe a shell reads are a
    foothold that survives; one run, or a job saving what it fetched to a file, is not."""
    assert "Maintain Persistence" in jp.claims(_cron_fetch_runs((10, 20))).stages
    assert "Maintain Persistence" not in jp.claims(_cron_fetch_runs((10,))).stages
    assert "Maintain Persistence" not in jp.claims(_cron_fetch_runs((10, 20), into="the file_object_file: ping.log")).stages


@pytest.mark.parametrize("saved", ["renamed", "written"])
def test_a_script_from_a_downloaded_archive_run_by_its_host_is_the_way_in(saved):
    """Chrome saves Invoice.zip as Invoice.zip.crdownload and renames it into place; OCR-APT
    keeps the rename's source name only, so the archive Explorer read (Invoice.zip) was
    never seen written by the browser, and the .js it took out and wscript ran claimed
    nothing (blind probe h128 ae24). A download in progress is the archive it becomes."""
    name = "Invoice_88231.zip.crdownload" if saved == "renamed" else "Invoice_88231.zip"
    rows = [
        "09:41:01 The process: chrome.exe CREATE the file: Invoice_88231.zip.crdownload",
        f"09:41:02 The process: chrome.exe {'RENAME' if saved == 'renamed' else 'WRITE'} the file: {name}",
        "09:41:10 The process: explorer.exe READ the file: Invoice_88231.zip",
        "09:41:11 The process: explorer.exe CREATE the file: Invoice_88231.js",
        "09:41:12 The process: explorer.exe CREATE the process: wscript.exe",
        "09:41:13 The process: wscript.exe READ the file: Invoice_88231.js",
    ]
    found = {f.stage: f for f in _findings(_log(*rows))}
    assert "Initial Compromise" in found and "Invoice_88231.js" in found["Initial Compromise"].rationale
    # the archive opened but nothing taken out of it run: no way in shown
    assert "Initial Compromise" not in jp.claims(_log(*rows[:4])).stages


def test_a_services_shell_calling_back_to_the_address_it_accepted_is_an_exploit():
    """A mail server's request exploited (blind probe h129 af08): exim accepts a session from
    an outside address and forks sh, whose bash connects back to that address; only the
    channel and the discovery were claimed, web servers alone having such a rule. The
    service's shell reaching back to the sender is the way in; from a host of the site,
    movement; a delivery whose shell connects nowhere back (a pipe transport) is neither."""
    rows = [
        "19:33:01 The subject_process: exim4 ACCEPT the netflowobject: 5.188.10.156",
        "19:33:02 The subject_process: exim4 RECVFROM the netflowobject: 5.188.10.156",
        "19:33:05 The subject_process: exim4 CLONE the subject_process: sh",
        "19:33:06 The subject_process: sh EXECUTE the file_object_file: bash",
        "19:33:07 The subject_process: bash CONNECT the netflowobject: 5.188.10.156",
    ]
    found = {f.stage: f for f in _findings(_log(*rows, date="2018-04-11"))}
    assert "Initial Compromise" in found and "T1190" in found["Initial Compromise"].techniques
    site = [r.replace("5.188.10.156", "128.55.12.67") for r in rows]
    assert "Lateral Movement" in jp.claims(_log(*site, date="2018-04-11"), networks=("128.55.12.0/24",)).stages
    delivery = rows[:4] + ["19:33:07 The subject_process: bash WRITE the file_object_file: alice"]
    assert jp.claims(_log(*delivery, date="2018-04-11")).stages == set()


def test_a_short_powershell_remoting_session_to_site_hosts_is_movement():
    """An implant's PowerShell loads the WinRM client and opens a one-minute session with each
    of three hosts of the site (blind probe h130 ag15): a session needed traffic in two
    minutes or a remote command tool, so none was claimed. A process that loaded the WinRM
    client is remoting, however short its sessions; the same traffic without it is not."""
    rows = [
        "15:13:01 The process: updhelper.exe MESSAGE_OUTBOUND the flow: 23.254.229.10",
        "15:13:02 The process: updhelper.exe MESSAGE_INBOUND the flow: 23.254.229.10",
        "15:13:05 The process: updhelper.exe CREATE the process: powershell.exe",
        "15:13:06 The process: powershell.exe COMMAND a shell",
        "15:13:07 The process: powershell.exe LOAD the module: WsmSvc.dll",
    ]
    for i, host in enumerate(("142.20.58.71", "142.20.58.73")):
        rows += [f"15:1{4 + i}:01 The process: powershell.exe START_OUTBOUND the flow: {host}", f"15:1{4 + i}:02 The process: powershell.exe MESSAGE_OUTBOUND the flow: {host}"]
    assert "Lateral Movement" in jp.claims(_log(*rows), networks=OPTC_SITE).stages
    without = [r for r in rows if "WsmSvc" not in r]
    assert "Lateral Movement" not in jp.claims(_log(*without), networks=OPTC_SITE).stages


def test_a_preloaded_library_in_every_program_is_persistence_not_escalation():
    """A preload rootkit (blind probe h131 ah11): a shell writes a library and
    ld.so.preload, and from then on cron, ls, ps, bash and sudo all load it. sudo's load read
    as planted code run with its privilege (Privilege Escalation); it loads the library as
    every other program does, the list's persistence. Without the list written, sudo
    loading a library a shell planted stays an escalation."""
    plant = [
        "10:00:01 The subject_process: sh WRITE the file_object_file: libgdk-cache.so.0",
        "10:00:02 The subject_process: sh WRITE the file_object_file: ld.so.preload",
    ]
    loads = [f"10:0{1 + i}:05 The subject_process: {p} LOADLIBRARY the file_object_file: libgdk-cache.so.0" for i, p in enumerate(("cron", "ls", "ps", "bash"))]
    sudo = "10:06:05 The subject_process: sudo LOADLIBRARY the file_object_file: libgdk-cache.so.0"
    assert jp.claims(_log(*plant, *loads, sudo, date="2018-04-12")).stages == {"Maintain Persistence"}
    assert "Privilege Escalation" in jp.claims(_log(plant[0], *loads, sudo, date="2018-04-12")).stages


@pytest.mark.parametrize("planter", ["implant", "reg"])
def test_a_handler_planted_then_an_auto_elevating_binary_starting_any_program_is_privilege_escalation(planter):
    """fodhelper's UAC bypass relaunching the implant itself (blind probes h124 aa12, h131
    ah26): the handler value (`command`, OCR-APT keeps a key's last component) written by
    the implant or by reg.exe it started, then fodhelper started, which starts the implant
    again, not a shell: nothing was claimed. Without the planted handler, or with the
    binary starting only its own console, nothing is."""
    plant = (
        ["09:44:01 The process: ctfhost.exe MODIFY the registry: command"]
        if planter == "implant"
        else ["09:44:00 The process: ctfhost.exe CREATE the process: reg.exe", "09:44:01 The process: reg.exe EDIT the registry: command"]
    )
    run = ["09:44:03 The process: ctfhost.exe CREATE the process: fodhelper.exe", "09:44:04 The process: fodhelper.exe READ the registry: command"]
    relaunch = "09:44:05 The process: fodhelper.exe CREATE the process: ctfhost.exe"
    found = {f.stage: f for f in _findings(_log(*plant, *run, relaunch))}
    assert set(found) == {"Privilege Escalation"} and "T1548.002" in found["Privilege Escalation"].techniques
    assert "fodhelper.exe" in found["Privilege Escalation"].rationale
    assert jp.claims(_log(*run, relaunch)).stages == set()
    assert jp.claims(_log(*plant, *run, "09:44:05 The process: fodhelper.exe CREATE the process: conhost.exe")).stages == set()


def test_a_web_installers_own_download_is_the_install_not_a_channel():
    """A browser's download run from the desktop, a web installer's stub (Spotify's), fetches
    the application from its vendor, writes it, registers its start at logon and starts it
    (blind probe h130 ag07): its exchange read as Command and Control, its writes as a
    downloaded tool and the Run value as persistence, as the install was not recognised once
    the stub itself held the exchange. An exchange that goes on after its last write is no
    download of what it installed: the channel stays."""
    install = [
        "12:31:01 The process: chrome.exe CREATE the file: SpotifySetup.exe.crdownload",
        "12:31:02 The process: chrome.exe RENAME the file: SpotifySetup.exe",
        "12:31:10 The process: explorer.exe CREATE the process: SpotifySetup.exe",
    ] + [f"12:3{m}:{s:02d} The process: SpotifySetup.exe {d}_OUTBOUND the flow: 35.186.224.25".replace("START_OUTBOUND", "MESSAGE_OUTBOUND") for m in (1, 2) for s, d in ((20, "MESSAGE"), (40, "MESSAGE"))] + [
        f"12:3{m}:{s:02d} The process: SpotifySetup.exe MESSAGE_INBOUND the flow: 35.186.224.25" for m in (1, 2) for s in (21, 41)
    ] + [
        "12:32:50 The process: SpotifySetup.exe CREATE the file: Spotify.exe",
        "12:32:51 The process: SpotifySetup.exe WRITE the file: Spotify.exe",
        "12:33:01 The process: SpotifySetup.exe MODIFY the registry: Run",
        "12:33:02 The process: SpotifySetup.exe CREATE the process: Spotify.exe",
    ]
    assert jp.claims(_log(*install)).stages == set()
    later = [f"12:{m}:{s:02d} The process: SpotifySetup.exe MESSAGE_OUTBOUND the flow: 35.186.224.25" for m in range(40, 50) for s in (5, 35)]
    assert "Command and Control" in jp.claims(_log(*install, *later)).stages


@pytest.mark.parametrize("entry", ["f_0001a3", "data_1"])
def test_chromium_cache_entries_are_not_executables(entry):
    """Chromium's disk cache keeps entries as f_NNNNNN and data_N files (no extension): the
    browser writing one 'created an unknown executable' (Initial Compromise) and evicting it
    'deleted it' (Covering Tracks). The twin is a program by its extension: a file with none
    that only Windows programs wrote is no executable there (Windows runs programs by their
    extension), whatever its name."""
    rows = [f"10:01:30 The process: chrome.exe WRITE the file: {entry}", f"10:02:40 The process: chrome.exe DELETE the file: {entry}"]
    assert jp.claims(_log(*rows)).stages == set()
    assert jp.claims(_log(*(r.replace(entry, "svcupd") for r in rows))).stages == set()
    assert jp.claims(_log(*(r.replace(entry, "svcupd.exe") for r in rows))).stages == {"Initial Compromise", "Covering Tracks"}


@pytest.mark.parametrize("who, claimed", [("sshd", False), ("cron", False), ("login", False), ("su", False), ("ztmp", True)])
def test_login_programs_changing_identity_is_not_privilege_escalation(who, claimed):
    """The Linux privilege-change filter (untested before): sshd, cron, login and su change
    to the user they serve; an unknown program changing its identity is escalation."""
    frame = _log(f"10:10:03 The subject_process: {who} CHANGE_PRINCIPAL the subject_process: {who}", date="2018-04-12")
    assert ("Privilege Escalation" in jp.claims(frame).stages) is claimed


def test_pine_is_a_mail_client():
    """pine (and alpine), the mail reader on TC3 hosts, was unknown: an attachment it saved
    that no one ran yet claimed nothing."""
    frame = _log("14:10:03 The subject_process: pine WRITE the file_object_file: tcexec", date="2018-04-12")
    assert jp.claims(frame).stages == {"Initial Compromise"}


@pytest.mark.parametrize("updater, stages", [("GoogleUpdate.exe", set()), ("MicrosoftEdgeUpdate.exe", set()), ("gupd.exe", {"Initial Compromise", "Covering Tracks"})])
def test_software_updater_running_the_version_it_downloaded_is_routine(updater, stages):
    """Vendor update agents download a new version, write it and start its installer all
    day: on Windows logs (a process of the written file's name started) that read as a
    downloaded tool run, Initial Compromise (high), and removing the installer as Covering
    Tracks. An unknown program doing it still is both."""
    rows = [
        f"14:00:01 The process: {updater} START_OUTBOUND the flow: 142.250.64.78",
        f"14:00:02 The process: {updater} MESSAGE_OUTBOUND the flow: 142.250.64.78",
        f"14:00:03 The process: {updater} CREATE the file: setup_x64.exe",
        f"14:00:06 The process: {updater} CREATE the process: setup_x64.exe",
        f"14:01:06 The process: {updater} DELETE the file: setup_x64.exe",
    ]
    assert jp.claims(_log(*rows)).stages == stages


@pytest.mark.parametrize(
    "tools, claimed",
    [(["find", "ls", "date"], False), (["ls", "df"], False), (["env", "stat"], False), (["uname", "ifconfig"], True), (["id", "ps"], True)],
)
def test_file_listing_and_disk_tools_are_not_reconnaissance(tools, claimed):
    """A cron job's clean-up (find, ls) or a user's ls and df counted as 'several discovery
    tools' (Internal Reconnaissance): the knowledge base called every program that prints
    something about the system a discovery tool. Listing files, disk use, mounts, the
    environment and uptime is what scripts and users do all day; user, network and process
    discovery (id, uname, ifconfig, ps, ...) still counts."""
    rows = [f"03:00:0{i} The subject_process: sh EXECUTE the file_object_file: {tool}" for i, tool in enumerate(tools)]
    assert ("Internal Reconnaissance" in jp.claims(_log(*rows, date="2018-04-12")).stages) is claimed


@pytest.mark.parametrize("host", ["svchost.exe", "wmiprvse.exe"])
def test_lsass_opened_by_a_service_host_running_powershell_is_credential_access(host):
    """A service host opening LSASS is routine (the credential-access rule trusts it), but
    one the log shows running PowerShell is a script host dumping credentials under a
    trusted name: nothing was claimed. The same host without PowerShell still claims nothing."""
    rows = [f"10:00:01 The process: {host} OPEN the process: lsass.exe", f"10:00:02 The process: {host} OPEN the process: lsass.exe"]
    assert jp.claims(_log(*rows)).stages == set()
    scripted = rows + [f"10:00:03 The process: {host} COMMAND a shell"]
    assert jp.claims(_log(*scripted)).stages == {"Privilege Escalation"}


# --------------------------------------------------------------------------- session 9: lineage


def _flows(who: str, hosts: list[str], minute: str = "09:00") -> list[str]:
    return [f"{minute}:{10 + i:02d} The process: {who} START_OUTBOUND the flow: {host}" for i, host in enumerate(hosts)]


SITE = ["142.20.56.1", "142.20.56.2", "142.20.56.3", "142.20.56.10", "142.20.56.11"]


@pytest.mark.parametrize("declared", [False, True], ids=["bare", "profile"])
@pytest.mark.parametrize("who", ["svchost.exe", "services.exe", "chrome.exe"])
def test_service_host_reaching_hosts_of_its_site_is_not_a_sweep(who, declared):
    """A service host reaching the domain controllers, the file server and the gateway of its
    /24 (DNS, SMB, DHCP, ...) within minutes was 'a network sweep' (Internal Reconnaissance,
    high): any process reaching 4 hosts of a /24 in 10 minutes was. A service host the log
    shows running PowerShell inside it, and a shell or unknown program, still sweep."""
    networks = ("142.20.56.0/21",) if declared else ()
    assert jp.claims(_log(*_flows(who, SITE)), networks).stages == set()
    scripted = _log("08:59:30 The process: svchost.exe COMMAND a shell", *_flows("svchost.exe", SITE))
    assert jp.claims(scripted, networks).stages == {"Internal Reconnaissance"}
    for other in ("powershell.exe", "scan64.exe"):
        assert jp.claims(_log(*_flows(other, SITE)), networks).stages == {"Internal Reconnaissance"}


def test_sweep_by_a_service_host_running_powershell_cites_why():
    """The reason says what makes a service host's fan-out a sweep and cites that row."""
    frame = jp.read_frame(HANDMADE / "optc_service_host_sweep_scripted.csv")
    cited = _cited_descriptions(frame, "Internal Reconnaissance")
    assert any(c.startswith("svchost.exe COMMAND") or "System.Management.Automation" in c for c in cited)
    finding = next(f for f in jp.find_stages(jp.compute_facts(jp.condense(jp.read_events(frame, name="x")))) if f.stage == "Internal Reconnaissance")
    assert "`svchost.exe` running PowerShell" in finding.rationale


@pytest.mark.parametrize(
    "row",
    [
        "14:00:05 The process: msiexec.exe EDIT the registry: Run",
        "14:00:05 The process: msiexec.exe CREATE the service: VendorAgentSvc",
        "14:00:05 The process: TiWorker.exe EDIT the registry: RunOnce",
        "14:00:05 The process: GoogleUpdate.exe CREATE the task: GoogleUpdateTaskMachineUA",
        "14:00:05 The process: MicrosoftEdgeUpdate.exe MODIFY the task: MicrosoftEdgeUpdateTaskMachineCore",
    ],
)
def test_installers_registering_auto_start_is_not_persistence(row):
    """An installer, Windows servicing or a vendor updater writing a Run value, a service or
    its own update task claimed Maintain Persistence (high). The same row by an installer an
    Office document started, or by a program the subgraph dropped and ran, still does; so
    does one by an unknown program."""
    assert jp.claims(_log(row)).stages == set()
    who = row.split()[3]
    if who == "msiexec.exe":  # a macro running an installer package
        by_macro = _log(f"14:00:01 The process: WINWORD.EXE CREATE the process: {who}", row)
        assert jp.claims(by_macro).stages == {"Initial Compromise", "Maintain Persistence"}
    dropped = _log(f"14:00:01 The process: powershell.exe CREATE the file: {who}", f"14:00:02 The process: powershell.exe CREATE the process: {who}", row)
    assert jp.claims(dropped).stages == {"Maintain Persistence"}
    assert jp.claims(_log(row.replace(who, "agent64.exe"))).stages == {"Maintain Persistence"}


def test_persistence_kept_for_an_attack_chain_says_why():
    frame = jp.read_frame(HANDMADE / "optc_macro_msi_run_key.csv")
    finding = next(f for f in jp.find_stages(jp.compute_facts(jp.condense(jp.read_events(frame, name="x")))) if f.stage == "Maintain Persistence")
    assert "`msiexec.exe` started by `WINWORD.EXE`" in finding.rationale
    assert "WINWORD.EXE CREATE msiexec.exe" in _cited_descriptions(frame, "Maintain Persistence")


@pytest.mark.parametrize("tool", ["sudo", "su", "pkexec"])
def test_sudo_from_a_login_shell_is_not_privilege_escalation(tool):
    """Any shell running sudo (or su) claimed Privilege Escalation: an administrator's
    routine. It is escalation when the log shows the shell in an attack chain: started by a
    browser, mail client or document, or by a program the subgraph wrote and ran."""
    run = f"09:10:31 The subject_process: bash EXECUTE the file_object_file: {tool}"
    admin = _log("09:10:01 The subject_process: sshd CLONE the subject_process: bash", run, date="2018-04-12")
    assert jp.claims(admin).stages == set()
    assert jp.claims(_log(run, date="2018-04-12")).stages == set()
    from_browser = _log("09:10:01 The subject_process: firefox CLONE the subject_process: bash", run, date="2018-04-12")
    # the browser starting the shell is its exploit's entry (initial-access-browser-shell)
    assert jp.claims(from_browser).stages == {"Privilege Escalation", "Initial Compromise"}
    implant = _log(
        "09:10:01 The subject_process: sh WRITE the file_object_file: kworkerd",
        "09:10:02 The subject_process: sh EXECUTE the file_object_file: kworkerd",
        "09:10:03 The subject_process: kworkerd CLONE the subject_process: bash",
        run,
        date="2018-04-12",
    )
    assert "Privilege Escalation" in jp.claims(implant).stages
    # chmod is a privilege tool to the knowledge base, never escalation by itself
    chmod = _log("09:10:01 The subject_process: firefox CLONE the subject_process: bash", run.replace(tool, "chmod"), date="2018-04-12")
    assert jp.claims(chmod).stages == {"Initial Compromise"}  # the browser's shell only


@pytest.mark.parametrize(
    "head, stages",
    [
        ([], set()),
        (["10:30:01 The process: explorer.exe CREATE the process: cmd.exe"], set()),
        (["10:30:01 The process: svchost.exe CREATE the process: cmd.exe"], set()),
        (["10:30:01 The process: WINWORD.EXE CREATE the process: cmd.exe"], {"Initial Compromise", "Internal Reconnaissance"}),
        # WMI's shell is an attack chain's; Lateral Movement needs a connection from another host
        (["10:30:01 The process: wmiprvse.exe CREATE the process: cmd.exe"], {"Internal Reconnaissance"}),
        (["10:29:59 The process: svchost.exe START_INBOUND the flow: 10.20.56.202", "10:30:01 The process: wmiprvse.exe CREATE the process: cmd.exe"], {"Lateral Movement", "Internal Reconnaissance"}),
        (["10:27:01 The process: eventvwr.exe CREATE the process: cmd.exe"], {"Privilege Escalation", "Internal Reconnaissance"}),
        # whoami in the elevated shell's first minute is the bypass checking that it worked
        (["10:30:01 The process: eventvwr.exe CREATE the process: cmd.exe"], {"Privilege Escalation"}),
        (["10:29:01 The process: cmd.exe CREATE the file: tool.exe", "10:29:02 The process: cmd.exe CREATE the process: tool.exe", "10:30:01 The process: tool.exe CREATE the process: cmd.exe"], {"Internal Reconnaissance"}),
    ],
    ids=["alone", "explorer", "service-host", "macro", "wmi", "wmi-remote", "uac-bypass", "uac-bypass-own-check", "dropped"],
)
def test_one_discovery_tool_from_a_shell_needs_an_attack_chain(head, stages):
    """One whoami from a command shell claimed Internal Reconnaissance: a user at a console
    does that. It counts when the log shows the shell started by an attack (a macro, remote
    WMI execution, a UAC bypass, a dropped program); several tools count anyway, except in a
    console the user opened on their own desktop (Explorer's, no remote session in the log:
    the user's own checks, as the analysts of blind probes h180 ce25, h214 dm02 judged). The
    elevated shell's whoami in its first minute is the UAC bypass's own check (h157 bh25,
    h264 fk17)."""
    assert jp.claims(_log(*head, "10:30:09 The process: cmd.exe CREATE the process: whoami.exe")).stages == stages
    several = _log(*head, "10:30:09 The process: cmd.exe CREATE the process: whoami.exe", "10:30:10 The process: cmd.exe CREATE the process: ipconfig.exe")
    desktop = head == ["10:30:01 The process: explorer.exe CREATE the process: cmd.exe"]
    assert ("Internal Reconnaissance" in jp.claims(several).stages) is not desktop


@pytest.mark.parametrize("field, value", [("lineage", "any parent"), ("needs", "a network"), ("unless", "a list"), ("unless", ["process list", "a list"])])
def test_a_rule_with_an_unknown_lineage_need_or_unless_fails_with_its_field(field, value):
    from aptnarrate.rules.patterns import RuleFieldError, PatternRule

    rule = {
        "id": "x", "title": "x", "stage": None, "tactic": "TA0002", "techniques": ["T1059"], "confidence": "low", "explanation": "x",
        field: value, "match": [{"event": ["execute"]}],
        "examples": {"positive": [{"action": "EXECUTE", "object": "a"}], "negative": [{"action": "READ", "object": "a"}]},
    }
    with pytest.raises(RuleFieldError, match=field):
        PatternRule.from_mapping(rule)


def test_a_rule_takes_one_unless_or_a_list():
    from aptnarrate.rules.patterns import PatternRule

    rule = {
        "id": "x", "title": "x", "stage": None, "tactic": "TA0002", "techniques": ["T1059"], "confidence": "low", "explanation": "x",
        "match": [{"event": ["execute"]}],
        "examples": {"positive": [{"action": "EXECUTE", "object": "a"}], "negative": [{"action": "READ", "object": "a"}]},
    }
    assert PatternRule.from_mapping(rule).unless == ()
    assert PatternRule.from_mapping({**rule, "unless": "process list"}).unless == ("process list",)
    both = ["removed in the subgraph", "run against another host"]
    assert PatternRule.from_mapping({**rule, "unless": both}).unless == tuple(both)


def test_schtasks_run_against_another_host_schedules_nothing_here():
    """schtasks talking to a site host (/S) creates its task there: the source side claimed
    Maintain Persistence for this host. A task the Task Scheduler records here still counts."""
    remote = [
        "10:22:31 The process: cmd.exe CREATE the process: schtasks.exe",
        "10:22:32 The process: schtasks.exe START_OUTBOUND the flow: 142.20.60.58",
        "10:22:33 The process: schtasks.exe MESSAGE_OUTBOUND the flow: 142.20.60.58",
    ]
    assert "Maintain Persistence" not in jp.claims(_log(*remote)).stages
    local = _log(*remote, "10:22:40 The process: svchost.exe CREATE the task: SyncHelperTask")
    assert "Maintain Persistence" in jp.claims(local).stages
    assert "Maintain Persistence" in jp.claims(_log(remote[0])).stages  # no traffic: a local run


@pytest.mark.parametrize(
    "rows, stages",
    [
        (["17:00:01 The process: scrcons.exe CREATE the process: powershell.exe"], {"Maintain Persistence"}),
        (["17:00:01 The process: svchost.exe CREATE the process: scrcons.exe"], {"Maintain Persistence"}),
        (["17:00:01 The process: wmiprvse.exe LOAD the module: wbemcore.dll", "17:00:02 The process: wmiprvse.exe READ the file: cimwin32.dll"], set()),
    ],
)
def test_wmi_script_event_consumer_is_persistence(rows, stages):
    """A permanent WMI event subscription runs its script consumer in scrcons.exe whenever
    its trigger fires (T1546.003): nothing was claimed. WMI's provider host answering
    queries is not one."""
    assert jp.claims(_log(*rows)).stages == stages


def test_what_installers_start_registering_auto_start_is_not_persistence():
    """A package's maintainer script (a shell dpkg started) writing the package's systemd
    unit, and an installer's custom action (a shell msiexec started) adding a Run value with
    reg.exe, claimed Maintain Persistence (high): the installer mechanism covered the
    installer's own rows only. The same by an implant's shell, or under an installer the log
    shows a macro started, still is persistence."""
    unit = ["11:00:13 The subject_process: sh WRITE the file_object_file: nginx.service"]
    dpkg = ["11:00:10 The subject_process: apt-get CLONE the subject_process: dpkg", "11:00:12 The subject_process: dpkg CLONE the subject_process: sh"]
    assert jp.claims(_log(*dpkg, *unit, date="2018-04-12")).stages == set()
    implant = ["11:00:10 The subject_process: sh EXECUTE the file_object_file: ztmp", "11:00:12 The subject_process: ztmp CLONE the subject_process: sh"]
    assert jp.claims(_log(*implant, *unit, date="2018-04-12")).stages == {"Maintain Persistence"}
    action = [
        "14:30:04 The process: msiexec.exe CREATE the process: cmd.exe",
        "14:30:05 The process: cmd.exe CREATE the process: reg.exe",
        "14:30:06 The process: reg.exe EDIT the registry: Run",
    ]
    assert jp.claims(_log(*action)).stages == set()
    by_macro = _log("14:30:01 The process: WINWORD.EXE CREATE the process: msiexec.exe", *action)
    assert jp.claims(by_macro).stages == {"Initial Compromise", "Maintain Persistence"}
    assert jp.claims(_log(*(r.replace("msiexec.exe", "agent64.exe") for r in action))).stages == {"Maintain Persistence"}


def test_one_discovery_tool_from_the_shell_of_a_command_channel_is_reconnaissance():
    """PowerShell holding a C2 channel starts a shell that runs whoami: one tool, but from a
    shell of the C2 process. The lineage rule (session 9) lost it: a process holding a
    command-and-control channel now starts an attack chain, said so in the reason."""
    frame = jp.read_frame(HANDMADE / "optc_c2_shell_whoami.csv")
    found = jp.find_stages(jp.compute_facts(jp.condense(jp.read_events(frame, name="x"))))
    recon = next(f for f in found if f.stage == "Internal Reconnaissance")
    assert "`powershell.exe`, which holds a command-and-control channel" in recon.rationale
    assert "powershell.exe CREATE cmd.exe" in _cited_descriptions(frame, "Internal Reconnaissance")


@pytest.mark.parametrize("who", ["firefox", "thunderbird", "pine"])
@pytest.mark.parametrize("declared", [False, True], ids=["bare", "profile"])
def test_client_talking_to_its_server_for_minutes_is_not_command_and_control(who, declared):
    """A browser exchanging with one site, or a mail client with its server, minute after
    minute was 'a sustained exchange' (Command and Control, and with a file it read, Data
    Exfiltration): only a browser talking to 3 or more sites was spared. A client the log
    shows compromised (it wrote a program that a shell it started ran) still holds a channel;
    an unknown program doing the same still does."""
    rows = [f"15:0{m}:{s} The subject_process: {who} {a} the netflowobject: 151.101.1.69" for m in range(4) for s, a in ((10, "SENDMSG"), (11, "RECVMSG"))]
    read = [f"14:59:01 The subject_process: {who} READ the file_object_file: notes.txt"]
    networks = ("151.101.1.0/24",) if declared else ()
    assert jp.claims(_log(*read, *rows, date="2018-04-12"), networks).stages == set()
    dropped = [
        f"14:59:02 The subject_process: {who} WRITE the file_object_file: mozupd",
        f"14:59:03 The subject_process: {who} CLONE the subject_process: sh",
        "14:59:04 The subject_process: sh EXECUTE the file_object_file: mozupd",
    ]
    compromised = jp.claims(_log(*dropped, *rows, date="2018-04-12")).stages
    assert {"Initial Compromise", "Command and Control"} <= compromised
    other = jp.claims(_log(*(r.replace(who, "netsvc") for r in rows), date="2018-04-12")).stages
    assert other == {"Command and Control"}


def test_service_host_sending_every_minute_is_not_command_and_control():
    """svchost.exe sending to one public address every minute (telemetry, update checks) was
    C2; the same host running PowerShell inside it (OpTC's injected agents) still is."""
    rows = [f"18:0{m}:{s} The process: svchost.exe {a} the flow: 13.107.4.50" for m in range(5) for s, a in ((20, "START_OUTBOUND"), (21, "MESSAGE_OUTBOUND"))]
    assert jp.claims(_log(*rows)).stages == set()
    found = jp.find_stages(jp.compute_facts(jp.condense(jp.read_events(_log("17:59:01 The process: svchost.exe COMMAND a shell", *rows), name="x"))))
    c2 = next(f for f in found if f.stage == "Command and Control")
    assert "`svchost.exe` running PowerShell" in c2.rationale


# --------------------------------------------------------------------------- lineage by entity


def _findings(source):
    return jp.find_stages(jp.compute_facts(jp.condense(jp.read_events(source, name="x"))))


def test_a_users_shell_beside_a_macros_shell_is_told_apart_by_its_entity_id():
    """An attack chain was a set of names: a macro's cmd.exe made a user's own cmd.exe (another
    process, same name) part of it, so that shell's one whoami claimed Internal
    Reconnaissance. An edge list identifies processes: only the macro's shell is in the
    chain. Its whoami still counts, said so and with the rows that show the chain."""
    frame = jp.read_frame(HANDMADE / "optc_user_shell_beside_macro_chain.edges.csv")
    assert jp.claims(frame).stages == {"Initial Compromise"}
    # the same whoami started by the macro's own shell (its process id)
    user_shell, macro_shell = "4f1c0a2e-7b3d-4c55-9a10-0000000000b2-process", "4f1c0a2e-7b3d-4c55-9a10-0000000000a2-process"
    by_macro = frame.copy()
    whoami = by_macro["object_attr"] == "whoami.exe"
    by_macro.loc[whoami, "subject_uuid"] = macro_shell
    assert user_shell in set(frame["subject_uuid"])
    found = {f.stage: f for f in _findings(by_macro)}
    assert set(found) == {"Initial Compromise", "Internal Reconnaissance"}
    assert "`cmd.exe` started by `WINWORD.EXE`" in found["Internal Reconnaissance"].rationale


def test_names_only_still_make_one_process_of_one_name():
    """The OCR-APT CSV names processes without ids: the same two shells are one process there
    (today's behaviour, the README says so)."""
    frame = jp.read_frame(HANDMADE / "optc_user_shell_beside_macro_chain.edges.csv")
    lines = [
        f"The process: {r.subject_attr} {r.predicate} the {r.object_type.lower()}: {r.object_attr.rsplit(chr(92), 1)[-1]}" for r in frame.itertuples()
    ]
    csv = pd.DataFrame({"description": lines, "timestamp": frame["timestamp"].str.slice(0, 19)})
    assert jp.claims(csv).stages == {"Initial Compromise", "Internal Reconnaissance"}


def test_a_login_shell_beside_a_maintainer_script_shell_keeps_its_persistence():
    """The installer mechanism covers what a package manager starts, by name: a login shell
    named sh, like the shell dpkg started for a maintainer script, had its write of root's
    authorized_keys taken for the installer's (Maintain Persistence missed). By entity, only
    the shell dpkg started is the installer's; its own unit file still claims nothing."""
    frame = jp.read_frame(HANDMADE / "trace_package_sh_beside_login_sh.edges.csv")
    assert jp.claims(frame).stages == {"Maintain Persistence"}
    assert _cited_descriptions(frame, "Maintain Persistence") == ["sh WRITE authorized_keys"]
    # the same write by the maintainer script's shell (dpkg's child) is the installer's work
    script_shell = "9d2e61b0-3a44-4e0b-8c21-0000000000c3-subject_process"
    by_script = frame.copy()
    by_script.loc[by_script["object_attr"] == "/root/.ssh/authorized_keys", "subject_uuid"] = script_shell
    assert jp.claims(by_script).stages == set()


# --------------------------------------------------------------------------- remote execution on the target


def test_wmi_starting_a_shell_is_lateral_movement_only_beside_a_connection_from_another_host():
    """WMI's provider host starting a shell claimed Lateral Movement with no network row in the
    subgraph: WMI starts what Win32_Process.Create asks for whether the caller is local or
    remote, so the rows show remote execution only beside an inbound connection from another
    host (cited, and named in the reason); one from this host's loopback shows none. The
    shell still starts an attack chain: its discovery command counts."""
    shell = ["12:10:03 The process: wmiprvse.exe CREATE the process: cmd.exe", "12:10:04 The process: cmd.exe READ the file: inventory.cfg"]
    assert jp.claims(_log(*shell)).stages == set()
    loopback = "12:10:01 The process: svchost.exe START_INBOUND the flow: 127.0.0.1"
    assert jp.claims(_log(loopback, *shell)).stages == set()
    remote = "12:10:01 The process: svchost.exe START_INBOUND the flow: 10.20.56.202"
    found = {f.stage: f for f in _findings(_log(remote, *shell))}
    assert set(found) == {"Lateral Movement"}
    # OpTC's START_INBOUND names the receiver: the address is this host's, not the peer's
    assert "inbound connection from another host (received at this host's own address `10.20.56.202`)" in found["Lateral Movement"].rationale
    assert _cited_descriptions(_log(remote, *shell), "Lateral Movement") == ["svchost.exe START_INBOUND 10.20.56.202", "wmiprvse.exe CREATE cmd.exe"]
    whoami = "12:10:05 The process: cmd.exe CREATE the process: whoami.exe"
    assert jp.claims(_log(*shell, whoami)).stages == {"Internal Reconnaissance"}


def test_a_service_whose_program_an_installer_wrote_is_the_installers():
    """The service control manager (services.exe) creating a service claimed Maintain
    Persistence beside an installer installing that service: the installer mechanism covered
    the installer's own rows and what it starts, not the SCM's. The service is the
    installer's when every program the SCM starts in the log is a file the installer wrote;
    with no program started, or one the installer did not write, it stays evidence."""
    installer = ["14:00:01 The process: msiexec.exe CREATE the file: VendorAgent.exe", "14:00:05 The process: msiexec.exe EDIT the registry: Run"]
    service = "14:00:06 The process: services.exe CREATE the service: VendorAgentSvc"
    runs = "14:00:07 The process: services.exe CREATE the process: VendorAgent.exe"
    assert jp.claims(_log(*installer, service, runs)).stages == set()
    assert jp.claims(_log(*installer, service)).stages == {"Maintain Persistence"}
    assert jp.claims(_log(service, runs)).stages == {"Maintain Persistence"}
    other = ["14:00:02 The process: rundll32.exe CREATE the file: svchostx.exe", "14:00:08 The process: services.exe CREATE the process: svchostx.exe"]
    assert "Maintain Persistence" in jp.claims(_log(*installer, service, runs, *other)).stages


def test_implant_ssh_exfiltration_cites_only_its_own_reads_and_sends():
    """In an edge list a user's ssh session beside an implant's ssh is another process: the
    exfiltration finding named the user's key read (`id_rsa`) and session host as the data
    carried off, since senders and readers were matched by name."""
    timeline = jp.condense(jp.read_events(HANDMADE / "trace_implant_ssh_exfil_beside_user_ssh.edges.csv", jp.IngestOptions(), name="t"))
    found = {item.stage: item for item in jp.find_stages(jp.compute_facts(timeline))}
    reason = found["Data Exfiltration"].rationale
    assert "payroll.xlsx" in reason and "198.51.100.23" in reason
    assert "id_rsa" not in reason and "140.82.112.3" not in reason


@pytest.mark.parametrize(
    "started, peer, stage",
    [("plink.exe", "203.0.113.9", "Command and Control"), ("psexec.exe", "10.0.0.5", "Lateral Movement")],
)
def test_a_rule_finding_whose_rows_cannot_support_its_stage_is_not_claimed(started, peer, stage):
    """A tunnelling or remote-execution client started, with no flow in the subgraph: the
    rule matched, but the stage-support screen needs a network row, so the claim was made
    and then dropped, and the report listed our own rules' finding as unsupported."""
    alone = _log(f"11:00:01 The process: powershell.exe CREATE the process: {started}")
    assert jp.reported(alone) == (frozenset(), [])
    with_flow = _log(
        f"11:00:01 The process: powershell.exe CREATE the process: {started}",
        f"11:00:02 The process: {started} MESSAGE_OUTBOUND the flow: {peer}",
    )
    stages, dropped = jp.reported(with_flow)
    assert stage in stages and dropped == []


def test_a_chain_never_gives_an_unnamed_process_its_parents_name():
    """An unnamed process is known by its parent's name inside the lineage (a fork runs its
    parent's image), but the chain's words said "`invoice_0924.exe` started by
    `invoice_0924.exe`": the process is one the log does not name."""
    stages = jp.find_stages_of(HANDMADE / "optc_unnamed_implant_lsass.edges.csv")
    reason = next(s.rationale for s in stages if s.stage == "Privilege Escalation")
    assert "a process the log does not name, started by `invoice_0924.exe`" in reason
    assert "`invoice_0924.exe` started by `invoice_0924.exe`" not in reason


def _macro_writes_and_runs(program: str) -> pd.DataFrame:
    return _log(
        "10:02:01 The process: EXCEL.EXE READ the file: invoice_0925.xlsm",
        "10:02:30 The process: EXCEL.EXE CREATE the process: cmd.exe",
        "10:02:31 The process: cmd.exe CREATE the process: powershell.exe",
        "10:02:40 The process: powershell.exe START_OUTBOUND the flow: 185.62.190.12",
        "10:02:41 The process: powershell.exe MESSAGE_INBOUND the flow: 185.62.190.12",
        f"10:02:45 The process: powershell.exe CREATE the file: {program}",
        f"10:02:46 The process: powershell.exe WRITE the file: {program}",
        f"10:03:00 The process: powershell.exe CREATE the process: {program}",
        f"10:03:10 The process: {program} START_OUTBOUND the flow: 185.62.190.12",
    )


@pytest.mark.parametrize("program", ["kbupdate.exe", "windows-kb4512508-x64.exe"])
def test_a_payload_named_like_an_update_package_stays_evidence_when_an_attack_writes_it(program):
    """Windows servicing's mechanism knows an update package by its name alone, and says
    so only for processes outside an attack chain (``unless_attack_chain``). The rules that
    read mechanisms themselves (a downloaded program run, covering tracks) ignored that: a
    macro's PowerShell dropping and starting ``windows-kb....exe`` lost that evidence, which
    a payload under any other name keeps."""
    cited = _cited_descriptions(_macro_writes_and_runs(program), "Initial Compromise")
    assert f"powershell.exe WRITE {program}" in cited and f"powershell.exe CREATE {program}" in cited


_PROCESS_LIST = [
    f"10:02:0{i} The process: {{who}} OPEN the process: {target}"
    for i, target in enumerate(["lsass.exe", "svchost.exe", "chrome.exe", "explorer.exe", "winlogon.exe", "csrss.exe"])
]


@pytest.mark.parametrize(
    "head, who, stages",
    [
        (["10:01:05 The process: explorer.exe CREATE the process: Taskmgr.exe"], "Taskmgr.exe", set()),
        # the same list by a macro's PowerShell: a process acting for an attacker opening LSASS
        (
            ["10:01:01 The process: WINWORD.EXE READ the file: invoice.docm", "10:01:05 The process: WINWORD.EXE CREATE the process: powershell.exe"],
            "powershell.exe",
            {"Initial Compromise", "Privilege Escalation"},
        ),
    ],
    ids=["task-manager", "macro-powershell"],
)
def test_lsass_opened_as_one_of_many_processes_is_a_process_list(head, who, stages):
    """Task Manager opens every running process, LSASS among them: that read as credential
    dumping (Privilege Escalation) and ranked Task Manager at Moderate for "credential
    material accessed". A process that opens at least five distinct processes is a process
    list (``unless: process list``): no stage unless it acts for an attacker; the rank, which
    knows no attack chain, drops the rule's reason either way."""
    log = _log(*head, *(line.format(who=who) for line in _PROCESS_LIST))
    assert jp.claims(log).stages == stages
    facts = aptnarrate.inspect_input(log)
    reasons = " ".join(r for c in facts.candidates if c.value in (who, "lsass.exe") for r in c.reasons)
    assert "credential material accessed" not in reasons


def test_a_process_lists_lsass_access_in_an_attack_chain_says_why_it_stands():
    """The macro's PowerShell listing processes kept Privilege Escalation, and the reason
    said only that a process opened LSASS: not that this is a process list's access, routine
    by itself, nor the chain that makes it count (nor cited the row that shows it)."""
    log = _log(
        "10:01:01 The process: WINWORD.EXE READ the file: invoice.docm",
        "10:01:05 The process: WINWORD.EXE CREATE the process: powershell.exe",
        *(line.format(who="powershell.exe") for line in _PROCESS_LIST),
    )
    (finding,) = [f for f in jp.find_stages_of(log) if f.stage == "Privilege Escalation"]
    assert "as a process list such as Task Manager does" in finding.rationale
    assert "attack chain" in finding.rationale and "WINWORD.EXE" in finding.rationale
    assert "WINWORD.EXE CREATE powershell.exe" in _cited_descriptions(log, "Privilege Escalation")


def test_fewer_processes_opened_beside_lsass_are_no_process_list():
    """The threshold counts distinct processes: LSASS and three others stay evidence."""
    log = _log(*(line.format(who="tool.exe") for line in _PROCESS_LIST[:4]))
    assert jp.claims(log).stages == {"Privilege Escalation"}


def test_a_process_list_that_writes_a_memory_dump_is_dumping_lsass():
    """Task Manager's "Create dump file" on LSASS: the list, then a ``.dmp`` written. Under
    any file name (the dump's name is the user's choice) its LSASS handle stays evidence."""
    log = _log(
        "10:01:05 The process: explorer.exe CREATE the process: Taskmgr.exe",
        *(line.format(who="Taskmgr.exe") for line in _PROCESS_LIST),
        "10:03:01 The process: Taskmgr.exe CREATE the file: qxz.DMP",
    )
    assert jp.claims(log).stages == {"Privilege Escalation"}
    assert "Taskmgr.exe OPEN lsass.exe" in _cited_descriptions(log, "Privilege Escalation")


@pytest.mark.parametrize("server, stages", [("nginx", {"Initial Compromise", "Privilege Escalation"}), ("apache2", set())])
def test_a_shell_started_by_a_web_server_that_runs_no_programs_starts_an_attack_chain(server, stages):
    """nginx runs no programs of its own: the shell it starts is a web shell's or an
    exploit's (Initial Compromise), and that shell's sudo is an attack chain's. Apache starts
    sh for CGI scripts and PHP's mail(): its shell's sudo stays routine."""
    log = _log(
        f"10:00:01 The subject_process: {server} EXECUTE the file_object_file: sh",
        "10:00:05 The subject_process: sh EXECUTE the file_object_file: sudo",
        "10:00:06 The subject_process: sudo CHANGE_PRINCIPAL the subject_process: sudo",
        date="2018-04-12",
    )
    assert jp.claims(log).stages == stages


_MSBUILD_BEACON = [
    "09:10:01 The process: EXCEL.EXE READ the file: budget.xlsm",
    "09:10:03 The process: EXCEL.EXE CREATE the file: build.xml",
    "09:10:05 The process: EXCEL.EXE CREATE the process: MSBuild.exe",
    "09:10:06 The process: MSBuild.exe READ the file: build.xml",
    *(f"09:{minute}:{second:02d} The process: MSBuild.exe MESSAGE_OUTBOUND the flow: 45.77.12.9" for minute in (11, 12, 13) for second in (8, 38)),
]


@pytest.mark.parametrize(
    "more, exfiltration",
    [([], False), (["09:10:30 The process: MSBuild.exe READ the file: payroll.xlsx"], True)],
    ids=["its-project", "a-document"],
)
def test_a_code_runner_reading_the_file_its_launcher_wrote_reads_its_code_not_data(more, exfiltration):
    """Excel read the macro document, wrote an MSBuild project and started MSBuild, which read
    it and beaconed: the project read as data staged by a reader of user data, so six sends
    made Data Exfiltration (the perturbation doubling each second's events first showed it).
    A document MSBuild reads besides is still data carried off."""
    stages = jp.claims(_log(*_MSBUILD_BEACON, *more)).stages
    assert {"Initial Compromise", "Command and Control"} <= stages
    assert ("Data Exfiltration" in stages) is exfiltration


_FIREFOX_DROP = [
    "10:00:00 The subject_process: firefox WRITE the file_object_file: upd",
    "10:00:01 The subject_process: firefox EXECUTE the file_object_file: upd",
    *(f"10:{minute:02d}:{second:02d} The subject_process: upd SENDTO the netflowobject: 61.167.39.128" for minute in range(4) for second in (5, 35)),
    "10:05:00 The subject_process: upd UNLINK the file_object_file: upd",
]


@pytest.mark.parametrize(
    "beside, stage",
    [
        ("10:02:00 The subject_process: apt-get READ the file_object_file: sources.list", "Initial Compromise"),
        ("10:02:00 The subject_process: snapd READ the file_object_file: state.json", "Initial Compromise"),
        ("10:03:00 The subject_process: firefox UNLINK the file_object_file: goog-phish-proto.sbstore", "Covering Tracks"),
        ("10:03:00 The subject_process: svchost.exe UNLINK the file_object_file: resources.pri", "Covering Tracks"),
    ],
    ids=["apt-get", "snapd", "safe-browsing", "appx"],
)
def test_a_benign_mechanisms_row_elsewhere_in_the_subgraph_does_not_hide_an_attacks_stage(beside, stage):
    """The package-manager, safe-browsing, AppX and .NET-temporary mechanisms suppressed their
    stages for the whole subgraph whenever one of their rows was in it: one apt-get read
    beside a browser's drop hid its Initial Compromise, a safe-browsing list deleted beside
    the implant deleting itself hid Covering Tracks. They now exclude only their own rows
    (and a package manager's maintainer scripts)."""
    assert stage in jp.claims(_log(*_FIREFOX_DROP, date="2018-04-12")).stages
    assert stage in jp.claims(_log(*_FIREFOX_DROP, beside, date="2018-04-12")).stages


# --------------------------------------------------------------------------- session 51

_MSI_INSTALL = [
    "14:02:00 The process: services.exe CREATE the process: msiexec.exe",
    "14:02:10 The process: msiexec.exe CREATE the file: GoogleUpdateSetup.exe",
    "14:05:00 The process: msiexec.exe CREATE the process: GoogleUpdateSetup.exe",
    "14:05:10 The process: GoogleUpdateSetup.exe CREATE the process: GoogleUpdate.exe",
    "14:06:00 The process: GoogleUpdate.exe ADD the registry: gupdate",
    "14:06:05 The process: svchost.exe CREATE the task: GoogleUpdateTaskMachineCore",
    "14:07:00 The process: msiexec.exe TERMINATE the process: msiexec.exe",
]


@pytest.mark.parametrize(
    "beside, persistence",
    [
        ([], False),
        (["14:06:01 The process: cmd.exe CREATE the process: schtasks.exe"], True),
        (["14:06:02 The process: powershell.exe READ the file: task.ps1"], True),
    ],
    ids=["the-install-alone", "a-task-tool", "a-script-in-its-minute"],
)
def test_a_task_the_scheduler_records_during_an_install_is_the_installers(beside, persistence):
    """Windows Installer's updater registered its tasks through the scheduler's API, which the
    log keeps only as the Task Scheduler service's task creation: read as Maintain Persistence
    (h132 ai11). A task tool in the log, or another process at work in that minute, may be
    what registered it, and the task stays evidence."""
    stages = jp.claims(_log(*_MSI_INSTALL, *beside), networks=OPTC_SITE).stages
    assert ("Maintain Persistence" in stages) is persistence


@pytest.mark.parametrize("read, exfiltration", [("machine.config", False), ("Q3_budget.xlsx", True)], ids=["dotnet-config", "a-document"])
def test_a_dotnet_configuration_file_is_no_user_data(read, exfiltration):
    """PowerShell's runtime reads machine.config as it starts; a beacon after it read as Data
    Exfiltration of that file (h133 aj14). A document read before the beacon still is."""
    log = _log(
        f"10:00:01 The process: powershell.exe READ the file: {read}",
        *(f"10:{minute:02d}:{second:02d} The process: powershell.exe MESSAGE_OUTBOUND the flow: 91.207.57.115" for minute in range(1, 6) for second in (5, 35)),
    )
    stages = jp.claims(log, networks=OPTC_SITE).stages
    assert "Command and Control" in stages
    assert ("Data Exfiltration" in stages) is exfiltration


_SELF_COPY = [
    "10:00:00 The subject_process: colord-sessiond EXECUTE the file_object_file: colord-sessiond",
    "10:00:05 The subject_process: colord-sessiond CLONE the subject_process: scp",
    "10:00:06 The subject_process: scp READ the file_object_file: id_rsa",
    "10:00:07 The subject_process: scp READ the file_object_file: colord-sessiond",
    "10:00:08 The subject_process: scp CONNECT the netflowobject: {host}",
    "10:00:09 The subject_process: scp SENDTO the netflowobject: {host}",
    "10:01:00 The subject_process: colord-sessiond CLONE the subject_process: ssh",
    "10:01:02 The subject_process: ssh CONNECT the netflowobject: {host}",
    "10:01:03 The subject_process: ssh SENDTO the netflowobject: {host}",
]


@pytest.mark.parametrize("host", ["128.55.12.71", "203.0.113.50"], ids=["a-site-host", "an-outside-host"])
@pytest.mark.parametrize("declared", [False, True], ids=["bare", "profile"])
def test_a_program_copying_its_own_image_out_moves_wherever_the_host_lies(host, declared):
    """scp read the running program's own image and sent it, then ssh reached the same host:
    Lateral Movement toward a host of the site only, so without the site's networks the
    worm's copy read as nothing (h133 aj26). Copying itself to another host is spreading."""
    log = _log(*(line.format(host=host) for line in _SELF_COPY), date="2018-04-12")
    networks = tuple(get_profile("darpa-tc3").internal_networks) if declared else ()
    assert "Lateral Movement" in jp.claims(log, networks=networks).stages


@pytest.mark.parametrize("parent, movement", [("gpscript.exe", False), ("explorer.exe", True)], ids=["logon-script", "user-shell"])
def test_a_logon_scripts_powershell_reaching_the_file_server_is_no_movement(parent, movement):
    """Group Policy's logon script ran an inventory PowerShell that wrote its result to the
    file server: read as Lateral Movement, PowerShell loading WMI's client counting as an
    attacker at work (h132 ai05). The same PowerShell from the user's shell still is."""
    log = _log(
        f"08:12:00 The process: {parent} CREATE the process: cmd.exe",
        "08:12:01 The process: cmd.exe CREATE the process: powershell.exe",
        "08:12:02 The process: powershell.exe LOAD the module: System.Management.Automation.ni.dll",
        "08:12:03 The process: powershell.exe LOAD the module: wbemprox.dll",
        "08:12:04 The process: powershell.exe LOAD the module: fastprox.dll",
        "08:13:00 The process: powershell.exe CREATE the file: SYSCLIENT0412.csv",
        "08:13:01 The process: powershell.exe MESSAGE_OUTBOUND the flow: 142.20.56.10",
        date="2019-09-19",
    )
    assert ("Lateral Movement" in jp.claims(log, networks=OPTC_SITE).stages) is movement


_RDP_SURVEY = [
    "13:20:00 The process: svchost.exe START_INBOUND the flow: {source}",
    "13:20:01 The process: svchost.exe CREATE the process: rdpclip.exe",
    "13:20:02 The process: winlogon.exe CREATE the process: userinit.exe",
    "13:20:03 The process: userinit.exe CREATE the process: explorer.exe",
    "13:22:00 The process: explorer.exe CREATE the process: cmd.exe",
    "13:22:01 The process: cmd.exe CREATE the process: whoami.exe",
    "13:22:02 The process: cmd.exe CREATE the process: hostname.exe",
    "13:23:00 The process: cmd.exe CREATE the process: nltest.exe",
    "13:25:00 The process: svchost.exe MESSAGE_INBOUND the flow: {source}",
]


@pytest.mark.parametrize(
    "source, declared, stage",
    [
        ("142.20.57.31", True, "Lateral Movement"),
        ("142.20.57.31", False, "Initial Compromise"),
        ("10.20.1.5", False, "Lateral Movement"),
    ],
    ids=["site-host", "undeclared-public", "private"],
)
def test_a_remote_desktop_survey_from_outside_the_site_is_the_way_in(source, declared, stage):
    """A remote desktop session that at once ran discovery tools was movement only from a
    host of the site; from a public address, the site undeclared, it claimed nothing beyond
    the discovery (h132 ai09). A desktop reached from outside is Initial Compromise (T1133),
    as the other sessions opened onto the host read (``stages.arrival``)."""
    log = _log(*(line.format(source=source) for line in _RDP_SURVEY), date="2019-09-24")
    stages = jp.claims(log, networks=OPTC_SITE if declared else ()).stages
    assert {stage, "Internal Reconnaissance"} <= stages
    assert not ({"Initial Compromise", "Lateral Movement"} - {stage}) & stages


@pytest.mark.parametrize("reader, tracks", [("less", False), ("sh", True)], ids=["paged-through", "run"])
def test_a_download_only_looked_at_and_deleted_covers_no_tracks(reader, tracks):
    """wget fetched a script, the user paged through it with less and removed it: read as
    Covering Tracks (h133 aj29). One a shell ran and then removed still is."""
    log = _log(
        "09:20:00 The subject_process: bash CLONE the subject_process: wget",
        "09:20:01 The subject_process: wget CONNECT the netflowobject: 185.199.108.133",
        "09:20:02 The subject_process: wget RECVFROM the netflowobject: 185.199.108.133",
        "09:20:03 The subject_process: wget WRITE the file_object_file: privcheck.sh",
        f"09:22:00 The subject_process: bash CLONE the subject_process: {reader}",
        f"09:22:01 The subject_process: {reader} READ the file_object_file: privcheck.sh",
        "09:29:00 The subject_process: bash CLONE the subject_process: rm",
        "09:29:01 The subject_process: rm UNLINK the file_object_file: privcheck.sh",
        date="2018-04-12",
    )
    assert ("Covering Tracks" in jp.claims(log).stages) is tracks


@pytest.mark.parametrize(
    "loaded, persistence",
    [("16:58:05", True), (None, False), ("15:50:30", False)],
    ids=["loaded-at-the-next-logon", "never-loaded", "loaded-by-the-running-explorer"],
)
def test_an_unknown_program_pointing_a_com_class_at_its_dll_is_a_hijack_once_it_fires(loaded, persistence):
    """A dropped program wrote a DLL and a COM class's InprocServer32 key, and Explorer loaded
    the DLL at the next logon: nothing claimed, the rule weighing only shells, admin tools and
    processes acting for an attacker as hijackers (h134 ak14). The key and code alone, or the
    running Explorer loading the code at once, is what a setup registering its shell
    extension shows too."""
    lines = [
        "15:50:01 The process: dwmtrace.exe CREATE the file: UxThemeExt.dll",
        "15:50:02 The process: dwmtrace.exe WRITE the file: UxThemeExt.dll",
        "15:50:03 The process: dwmtrace.exe CREATE the registry: InprocServer32",
        "15:50:04 The process: dwmtrace.exe MODIFY the registry: InprocServer32",
        "16:58:00 The process: userinit.exe CREATE the process: explorer.exe",
    ]
    if loaded:
        lines.append(f"{loaded} The process: explorer.exe LOAD the module: UxThemeExt.dll")
    assert ("Maintain Persistence" in jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE).stages) is persistence


@pytest.mark.parametrize("at_logon, persistence", [(True, True), (False, False)], ids=["at-logon", "opened-later"])
def test_a_shortcut_a_dropper_wrote_that_the_logon_shell_runs_is_startup_persistence(at_logon, persistence):
    """A script wrote a program and a shortcut to it; at the next logon Explorer read the
    shortcut and started the program: start-up folder persistence, unseen (h134 ak15).
    Explorer opening the shortcut an hour into the session is the user's click."""
    when = "13:14:50" if at_logon else "14:20:00"
    lines = [
        "10:04:00 The process: explorer.exe CREATE the process: wscript.exe",
        "10:04:01 The process: wscript.exe READ the file: Invoice_88213.js",
        "10:04:10 The process: wscript.exe CREATE the file: msupdtr.exe",
        "10:04:11 The process: wscript.exe WRITE the file: msupdtr.exe",
        "10:04:19 The process: wscript.exe CREATE the file: Microsoft Update Helper.lnk",
        "13:14:40 The process: userinit.exe CREATE the process: explorer.exe",
        f"{when} The process: explorer.exe READ the file: Microsoft Update Helper.lnk",
        f"{when[:6]}55 The process: explorer.exe CREATE the process: msupdtr.exe",
    ]
    assert ("Maintain Persistence" in jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE).stages) is persistence


def test_an_ssh_client_below_a_sweeper_reaching_a_swept_host_is_movement():
    """An implant swept the site's /24, and the shell it started ran ssh to a host the sweep
    reached: a pivot, but only the sweep's launcher's descendants counted, and the log shows
    no launcher (h134 ak26)."""
    hosts = [f"128.55.12.{n}" for n in (1, 5, 10, 12, 20, 31, 44, 52, 60, 73, 81, 95, 107, 118, 126, 133, 141)]
    lines = [f"12:11:{i:02d} The subject_process: whoopsie-upl CONNECT the netflowobject: {host}" for i, host in enumerate(hosts)]
    lines += [f"12:11:{i:02d} The subject_process: whoopsie-upl CLOSE the netflowobject: {host}" for i, host in enumerate(hosts)]
    lines += [
        "12:10:00 The subject_process: whoopsie-upl EXECUTE the file_object_file: sh",
        "12:12:00 The subject_process: sh EXECUTE the file_object_file: ssh",
        "12:12:01 The subject_process: ssh READ the file_object_file: id_rsa",
        "12:13:00 The subject_process: ssh CONNECT the netflowobject: 128.55.12.141",
        "12:13:01 The subject_process: ssh SENDTO the netflowobject: 128.55.12.141",
        "12:13:02 The subject_process: ssh RECVFROM the netflowobject: 128.55.12.141",
    ]
    stages = jp.claims(_log(*sorted(lines), date="2018-04-13"), networks=tuple(get_profile("darpa-tc3").internal_networks)).stages
    assert {"Internal Reconnaissance", "Lateral Movement"} <= stages


@pytest.mark.parametrize("chunk", [".c0001", "mail.zip"], ids=["numbered-chunk", "named-archive"])
def test_chunks_a_collector_packed_and_sends_one_by_one_are_an_upload_not_a_channel(chunk):
    """A stealer read a mail client's folders, wrote them into chunks named like nothing, then
    sent each over its own connection: read as a channel besides the exfiltration, because
    only archives by name counted as staged (h135 al03). Data a collector packed is staged
    under any name."""
    reads = ["INBOX.msf", "abook.mab", "key3.db", "logins.json", "prefs.js"]
    lines = [f"15:10:{i:02d} The subject_process: xdg-cachesvc READ the file_object_file: {name}" for i, name in enumerate(reads)]
    lines.append(f"15:10:30 The subject_process: xdg-cachesvc WRITE the file_object_file: {chunk}")
    for minute in (12, 16, 20, 24):
        lines += [
            f"15:{minute}:00 The subject_process: xdg-cachesvc CONNECT the netflowobject: 193.29.57.146",
            f"15:{minute}:01 The subject_process: xdg-cachesvc READ the file_object_file: {chunk}",
            *(f"15:{minute}:{second:02d} The subject_process: xdg-cachesvc SENDTO the netflowobject: 193.29.57.146" for second in range(2, 12)),
            f"15:{minute}:12 The subject_process: xdg-cachesvc RECVFROM the netflowobject: 193.29.57.146",
            f"15:{minute}:13 The subject_process: xdg-cachesvc CLOSE the netflowobject: 193.29.57.146",
        ]
    stages = jp.claims(_log(*lines, date="2018-04-12")).stages
    assert "Data Exfiltration" in stages
    assert "Command and Control" not in stages


@pytest.mark.parametrize("relays, channel", [(("22:27", "22:45"), True), (("22:27",), False)], ids=["relayed-twice", "one-local-connection"])
def test_an_ssh_client_relaying_a_remote_forward_to_this_host_is_a_tunnel(relays, channel):
    """ssh, started under nohup, kept a session to an outside host and, as the far end spoke,
    connected to this host's own sshd: a reverse tunnel, read as nothing (h135 al12). One
    local connection beside an outside session may be the user's own."""
    lines = [
        "22:05:00 The subject_process: nohup EXECUTE the file_object_file: ssh",
        "22:05:01 The subject_process: ssh CONNECT the netflowobject: 45.33.49.119",
        "22:05:02 The subject_process: ssh SENDTO the netflowobject: 45.33.49.119",
        "22:05:03 The subject_process: ssh RECVFROM the netflowobject: 45.33.49.119",
    ]
    for minute in relays:
        lines += [
            f"{minute}:01 The subject_process: ssh RECVFROM the netflowobject: 45.33.49.119",
            f"{minute}:02 The subject_process: ssh CONNECT the netflowobject: 127.0.0.1",
            f"{minute}:03 The subject_process: sshd ACCEPT the netflowobject: 127.0.0.1",
            f"{minute}:04 The subject_process: ssh SENDTO the netflowobject: 127.0.0.1",
        ]
    assert ("Command and Control" in jp.claims(_log(*sorted(lines), date="2018-04-12")).stages) is channel


@pytest.mark.parametrize("talked_first, way_in", [(False, False), (True, True)], ids=["only-its-upload", "talked-before"])
def test_a_tool_an_implant_drops_before_its_upload_arrived_over_no_network(talked_first, way_in):
    """An implant dropped 7-Zip, packed documents with it and uploaded the archive, its first
    send in the minute of the drop: read as a downloaded tool, Initial Compromise, because the
    writer talked by the minute it wrote (h130 ag08, h134 ak11). Traffic that is only the
    upload of the archive it staged carried nothing in; an exchange before it may have."""
    lines = [f"16:20:{i * 4:02d} The process: SkypeBridge.exe READ the file: {name}" for i, name in enumerate(("budget.xlsx", "contracts.docx", "roster.xlsx", "minutes.docx"))]
    if talked_first:
        lines += [
            "16:20:30 The process: SkypeBridge.exe MESSAGE_OUTBOUND the flow: 185.141.27.93",
            "16:20:31 The process: SkypeBridge.exe MESSAGE_INBOUND the flow: 185.141.27.93",
        ]
    lines += [
        "16:21:02 The process: SkypeBridge.exe CREATE the file: 7za.exe",
        "16:21:03 The process: SkypeBridge.exe WRITE the file: 7za.exe",
        "16:21:10 The process: SkypeBridge.exe CREATE the process: 7za.exe",
        "16:21:12 The process: 7za.exe CREATE the file: sbc_0924.7z",
        "16:21:13 The process: 7za.exe READ the file: budget.xlsx",
        "16:21:14 The process: 7za.exe WRITE the file: sbc_0924.7z",
        "16:21:40 The process: SkypeBridge.exe READ the file: sbc_0924.7z",
        "16:21:47 The process: SkypeBridge.exe START_OUTBOUND the flow: 185.141.27.93",
        *(f"16:22:{second:02d} The process: SkypeBridge.exe MESSAGE_OUTBOUND the flow: 185.141.27.93" for second in range(0, 50, 5)),
        "16:24:30 The process: SkypeBridge.exe MESSAGE_INBOUND the flow: 185.141.27.93",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-24"), networks=OPTC_SITE).stages
    assert "Data Exfiltration" in stages
    assert ("Initial Compromise" in stages or "Command and Control" in stages) is way_in


# --------------------------------------------------------------------------- session 52


@pytest.mark.parametrize("caller, escalated", [("ldm-syncd", True), ("bash", False)], ids=["implant-sudo", "administrator-sudo"])
def test_an_account_added_with_an_escalations_privilege_is_persistence(caller, escalated):
    """An unknown program's shell fed sudo a password and the root shell it got added an
    account and gave it a password: analysts name the escalation and the account it was used
    for, a way back in (h123 a22, h129 af05, h107 i18: only the escalation was claimed). An
    administrator's shell running the same tools through sudo shows no escalation: nothing."""
    lines = [
        f"03:14:00 The subject_process: {caller} FORK the subject_process: sh",
        "03:14:01 The subject_process: sh EXECUTE the file_object_file: sh",
        "03:14:02 The subject_process: sh FORK the subject_process: sudo",
        "03:14:03 The subject_process: sudo EXECUTE the file_object_file: sudo",
        "03:14:04 The subject_process: sudo READ the file_object_file: sudoers",
        "03:14:05 The subject_process: sudo READ the file_object_file: shadow",
        "03:14:06 The subject_process: sudo CHANGE_PRINCIPAL the subject_process: sudo",
        "03:14:07 The subject_process: sudo FORK the subject_process: useradd",
        "03:14:08 The subject_process: useradd EXECUTE the file_object_file: useradd",
        "03:14:09 The subject_process: useradd WRITE the file_object_file: passwd+",
        "03:14:10 The subject_process: useradd RENAME the file_object_file: passwd+",
        "03:14:11 The subject_process: useradd WRITE the file_object_file: shadow+",
        "03:14:12 The subject_process: useradd RENAME the file_object_file: shadow+",
        "03:15:01 The subject_process: sudo FORK the subject_process: chpasswd",
        "03:15:02 The subject_process: chpasswd EXECUTE the file_object_file: chpasswd",
        "03:15:03 The subject_process: chpasswd WRITE the file_object_file: nshadow",
        "03:15:04 The subject_process: chpasswd RENAME the file_object_file: nshadow",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-12")).stages
    assert ("Privilege Escalation" in stages) is escalated
    assert ("Maintain Persistence" in stages) is escalated


@pytest.mark.parametrize("registered", [True, False], ids=["service-registered", "existing-service"])
def test_a_dll_a_shell_registers_as_a_service_is_persistence_and_its_host_a_channel(registered):
    """cmd.exe wrote a DLL, sc.exe and reg.exe made it a svchost service's DLL, the service
    control manager started svchost.exe, which loaded it and then beaconed out: a service
    (T1543.003) and its channel, read as an escalation before (h136 am25). Whoever registers
    services already holds the privilege. Without a service registered in the log, the DLL
    was put where an existing service loads it: the service runs it with its privilege."""
    lines = [
        "14:40:01 The process: cmd.exe CREATE the file: wmsyncsvc.dll",
        "14:40:02 The process: cmd.exe WRITE the file: wmsyncsvc.dll",
    ]
    if registered:
        lines += [
            "14:40:10 The process: cmd.exe CREATE the process: sc.exe",
            "14:40:11 The process: services.exe CREATE the registry: WmSyncSvc",
            "14:40:12 The process: cmd.exe CREATE the process: reg.exe",
            "14:40:13 The process: reg.exe MODIFY the registry: Parameters",
        ]
    lines += [
        "14:41:00 The process: services.exe CREATE the process: svchost.exe",
        "14:41:01 The process: svchost.exe LOAD the module: wmsyncsvc.dll",
        "14:41:02 The process: svchost.exe LOAD the module: winhttp.dll",
    ]
    for minute in range(41, 59, 2):
        lines += [
            f"14:{minute}:20 The process: svchost.exe START_OUTBOUND the flow: 193.29.57.161",
            f"14:{minute}:21 The process: svchost.exe MESSAGE_OUTBOUND the flow: 193.29.57.161",
            f"14:{minute}:22 The process: svchost.exe MESSAGE_INBOUND the flow: 193.29.57.161",
        ]
    stages = jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE).stages
    assert ("Maintain Persistence" in stages) is registered
    assert ("Privilege Escalation" in stages) is not registered
    if registered:
        assert "Command and Control" in stages


@pytest.mark.parametrize("runner, tracks", [("PDQDeployRunner-1.exe", False), ("wupdsvc.exe", True)], ids=["deployment-runner", "unknown-runner"])
def test_a_deployment_consoles_clean_up_of_its_runners_files_covers_no_tracks(runner, tracks):
    """A deployment console pushed its runner over the admin share, the runner wrote and ran
    its install script, and the file server removed the script with the runner: the console
    clearing its deployment, read as Covering Tracks (h137 an05). The same removal of what a
    program the knowledge base does not know wrote stays evidence."""
    lines = [
        f"11:05:00 The process: System CREATE the file: {runner}",
        f"11:05:01 The process: System WRITE the file: {runner}",
        "11:05:02 The process: services.exe ADD the registry: Runner",
        f"11:05:03 The process: services.exe CREATE the process: {runner}",
        f"11:05:04 The process: {runner} MESSAGE_INBOUND the flow: 142.20.56.40",
        f"11:05:05 The process: {runner} CREATE the file: install.bat",
        f"11:05:06 The process: {runner} CREATE the process: cmd.exe",
        "11:05:07 The process: cmd.exe READ the file: install.bat",
        "11:05:08 The process: cmd.exe CREATE the process: msiexec.exe",
        "11:06:00 The process: msiexec.exe WRITE the file: 7z.exe",
        f"11:07:00 The process: {runner} MESSAGE_OUTBOUND the flow: 142.20.56.40",
        "11:07:01 The process: System DELETE the file: install.bat",
        f"11:07:02 The process: System DELETE the file: {runner}",
        "11:07:03 The process: services.exe REMOVE the registry: Runner",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-25"), networks=OPTC_SITE).stages
    assert ("Covering Tracks" in stages) is tracks


@pytest.mark.parametrize("how, persistence", [("net", True), ("console", False)], ids=["net-from-a-shell", "computer-management"])
def test_an_account_changed_with_net_from_a_shell_is_persistence_not_one_made_in_the_console(how, persistence):
    """A shell ran net twice while the security account manager wrote the built-in
    Administrator's key (000001F4): the account reset and enabled to log in with, read as
    nothing (h138 ao27). An administrator opening Computer Management and creating an
    account there was read as persistence (h138 ao09)."""
    if how == "net":
        lines = [
            "02:13:01 A process CREATE the process: cmd.exe",
            "02:13:02 The process: cmd.exe CREATE the process: net.exe",
            "02:13:03 The process: net.exe CREATE the process: net1.exe",
            "02:13:04 The process: lsass.exe EDIT the registry: 000001F4",
            "02:13:20 The process: cmd.exe CREATE the process: net.exe",
            "02:13:21 The process: net.exe CREATE the process: net1.exe",
            "02:13:22 The process: lsass.exe EDIT the registry: 000001F4",
        ]
    else:
        lines = [
            "10:21:01 The process: explorer.exe CREATE the process: consent.exe",
            "10:21:05 The process: explorer.exe CREATE the process: mmc.exe",
            "10:21:06 The process: mmc.exe READ the file: compmgmt.msc",
            "10:21:07 The process: mmc.exe LOAD the module: localsec.dll",
            "10:22:30 The process: lsass.exe ADD the registry: 000003EA",
            "10:22:31 The process: lsass.exe EDIT the registry: 000003EA",
            "10:22:40 The process: lsass.exe EDIT the registry: 00000221",
        ]
    stages = jp.claims(_log(*lines, date="2019-09-25"), networks=OPTC_SITE).stages
    assert ("Maintain Persistence" in stages) is persistence


@pytest.mark.parametrize("installed_here", [True, False], ids=["fetched-and-installed", "installed-service"])
def test_a_remote_access_tool_a_script_installs_as_a_service_is_persistence_and_a_channel(installed_here):
    """PowerShell, started by rundll32, fetched AnyDesk, which copied itself into place and
    wrote its service's ImagePath; the service control manager started it and it kept a
    session out: a service and a channel, read as a downloaded tool and a hijacked service
    path (h139 ap08). The same tool's installed service keeping its session, as a help desk's
    does, is its ordinary traffic (h139 ap09)."""
    lines = []
    if installed_here:
        lines += [
            "20:12:00 The process: rundll32.exe CREATE the process: powershell.exe",
            "20:12:01 The process: powershell.exe START_OUTBOUND the flow: 104.17.231.41",
            "20:12:02 The process: powershell.exe MESSAGE_INBOUND the flow: 104.17.231.41",
            "20:12:03 The process: powershell.exe CREATE the file: AnyDesk.exe",
            "20:12:04 The process: powershell.exe WRITE the file: AnyDesk.exe",
            "20:12:05 The process: powershell.exe CREATE the process: AnyDesk.exe",
            "20:12:06 The process: AnyDesk.exe CREATE the file: AnyDesk.exe",
            "20:12:07 The process: AnyDesk.exe MODIFY the registry: AnyDesk",
            "20:12:08 The process: AnyDesk.exe MODIFY the registry: ImagePath",
            "20:12:09 The process: services.exe CREATE the process: AnyDesk.exe",
        ]
    for minute in range(13, 30):
        lines += [
            f"20:{minute}:10 The process: AnyDesk.exe MESSAGE_OUTBOUND the flow: 195.181.174.179",
            f"20:{minute}:11 The process: AnyDesk.exe MESSAGE_INBOUND the flow: 195.181.174.179",
        ]
    stages = jp.claims(_log(*lines, date="2019-09-24"), networks=OPTC_SITE).stages
    assert stages == ({"Command and Control", "Maintain Persistence"} if installed_here else set())


@pytest.mark.parametrize("service, agent, tracks", [("OcsService.exe", "OCSInventory.exe", False), ("wmsyncd.exe", "wmsync-inv.exe", True)], ids=["inventory-agent", "unknown-program"])
def test_an_inventory_agents_report_sent_and_deleted_covers_no_tracks(service, agent, tracks):
    """The OCS Inventory agent read the installed programs, wrote its report, posted it to
    its server and deleted it: read as Covering Tracks (h137 an26). Programs the knowledge
    base does not know doing the same stay evidence."""
    lines = [
        f"09:30:00 The process: {service} CREATE the process: {agent}",
        f"09:31:00 The process: {agent} READ the file: EXCEL.EXE",
        f"09:31:01 The process: {agent} READ the file: chrome.exe",
        f"09:33:00 The process: {agent} CREATE the file: SysClient0412.ocs",
        f"09:33:01 The process: {agent} WRITE the file: SysClient0412.ocs",
        f"09:33:02 The process: {agent} MESSAGE_OUTBOUND the flow: 142.20.61.50",
        f"09:33:03 The process: {agent} MESSAGE_INBOUND the flow: 142.20.61.50",
        f"09:34:00 The process: {agent} DELETE the file: SysClient0412.ocs",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-24"), networks=OPTC_SITE).stages
    assert ("Covering Tracks" in stages) is tracks


@pytest.mark.parametrize("host", ["powershell_ise.exe", "powershell.exe"])
@pytest.mark.parametrize("declared", [False, True], ids=["bare", "profile"])
def test_a_script_using_the_active_directory_module_talks_to_the_domain_controller(host, declared):
    """An administrator's PowerShell ISE ran a script with the ActiveDirectory module, whose
    cmdlets ask the domain controller's web services: read as a channel without the site's
    networks and as movement with them (h137 an12). The ISE runs the scripts it edits, as
    PowerShell does, and the module is a directory client as ADSI is."""
    lines = [
        f"15:33:00 The process: explorer.exe CREATE the process: {host}",
        f"15:34:00 The process: {host} LOAD the module: Microsoft.ActiveDirectory.Management.ni.dll",
        f"15:34:01 The process: {host} READ the file: Update-HelpdeskGroups.ps1",
        f"15:34:02 The process: {host} COMMAND a shell",
        f"15:34:03 The process: {host} MESSAGE_OUTBOUND the flow: 142.20.61.130",
        f"15:35:00 The process: {host} COMMAND a shell",
        f"15:35:01 The process: {host} MESSAGE_OUTBOUND the flow: 142.20.61.130",
        f"15:35:02 The process: {host} MESSAGE_INBOUND the flow: 142.20.61.130",
        f"15:35:03 The process: {host} MESSAGE_INBOUND the flow: 142.20.61.130",
    ]
    assert jp.claims(_log(*lines, date="2019-09-24"), networks=OPTC_SITE if declared else ()).stages == set()


@pytest.mark.parametrize("beacons", [True, False], ids=["beacon-beside-the-upload", "upload-only"])
def test_an_implants_beacon_stays_a_channel_beside_a_larger_upload_to_another_address(beacons):
    """An implant checked in with its server every minute or two, dropped 7-Zip, packed
    documents and uploaded the archive to another address in one burst: the burst, the
    larger share of its traffic, left the check-ins below the channel's share, so the
    channel and the tool it brought were read as a download, Initial Compromise (h138
    ao11). An upload's share is the exfiltration's, as a directory query's is the look's."""
    lines = []
    if beacons:
        for minute, second in ((55, 2), (55, 40), (56, 21), (57, 10), (60, 5), (60, 48), (61, 32)):
            at = f"{15 + minute // 60}:{minute % 60:02d}:{second:02d}"
            lines += [f"{at} The process: rtkaudsvc.exe MESSAGE_OUTBOUND the flow: 104.238.158.61", f"{at[:-2]}{second + 1:02d} The process: rtkaudsvc.exe MESSAGE_INBOUND the flow: 104.238.158.61"]
    lines += [
        "15:57:20 The process: rtkaudsvc.exe CREATE the file: 7za.exe",
        "15:57:21 The process: rtkaudsvc.exe WRITE the file: 7za.exe",
        "15:57:22 The process: rtkaudsvc.exe CREATE the process: cmd.exe",
        "15:57:23 The process: cmd.exe CREATE the process: 7za.exe",
        *(f"15:57:{24 + i} The process: 7za.exe READ the file: {name}" for i, name in enumerate(("Board_Minutes.docx", "Forecast.xlsx", "Contracts.pdf", "payroll.xlsx"))),
        "15:57:30 The process: 7za.exe CREATE the file: WinSAT_0924.7z",
        "15:57:31 The process: 7za.exe WRITE the file: WinSAT_0924.7z",
        "15:57:40 The process: rtkaudsvc.exe READ the file: WinSAT_0924.7z",
        "15:58:00 The process: rtkaudsvc.exe START_OUTBOUND the flow: 64.137.244.83",
        *(f"15:58:{second:02d} The process: rtkaudsvc.exe MESSAGE_OUTBOUND the flow: 64.137.244.83" for second in range(1, 45, 2)),
        "15:58:50 The process: rtkaudsvc.exe MESSAGE_INBOUND the flow: 64.137.244.83",
    ]
    stages = jp.claims(_log(*sorted(lines), date="2019-09-24"), networks=OPTC_SITE).stages
    assert stages == ({"Command and Control", "Data Exfiltration"} if beacons else {"Data Exfiltration"})


@pytest.mark.parametrize("client, driven", [("CcmExec.exe", False), ("GoogleUpdate.exe", True)], ids=["management-agent", "updater"])
def test_a_management_agent_running_its_servers_scripts_drives_no_shell(client, driven):
    """Configuration Manager's agent ran two compliance scripts with PowerShell (one ran net)
    while it reported to its management point: without the site's networks declared, read as
    a shell driven over an outside channel, so the net run was an attack's look around (h139
    ap05). Running the scripts its server sends is the agent's work; an updater's name
    running commands in the minutes it beacons stays a driven shell."""
    lines = []
    for minute in (0, 3):
        lines += [
            f"02:0{minute}:01 The process: {client} CREATE the file: ConfigurationItem_{minute}.ps1",
            f"02:0{minute}:02 The process: {client} CREATE the process: powershell.exe",
            f"02:0{minute}:03 The process: {client} MESSAGE_OUTBOUND the flow: 142.20.56.30",
            f"02:0{minute}:04 The process: {client} MESSAGE_INBOUND the flow: 142.20.56.30",
            f"02:0{minute}:05 The process: powershell.exe READ the file: ConfigurationItem_{minute}.ps1",
            f"02:0{minute}:06 The process: powershell.exe COMMAND a shell",
            f"02:0{minute}:30 The process: {client} DELETE the file: ConfigurationItem_{minute}.ps1",
        ]
    lines += [
        "02:00:10 The process: powershell.exe CREATE the process: net.exe",
        "02:00:11 The process: net.exe CREATE the process: net1.exe",
        f"02:06:00 The process: {client} MESSAGE_OUTBOUND the flow: 142.20.56.30",
    ]
    stages = jp.claims(_log(*sorted(lines), date="2019-09-25")).stages
    assert ("Command and Control" in stages or "Internal Reconnaissance" in stages) is driven


@pytest.mark.parametrize("look_too", [False, True], ids=["account-only", "and-a-look"])
def test_net_adding_an_account_is_no_look_around(look_too):
    """An implant's shell ran net to add an account and put it in the Administrators while
    LSASS wrote the account's keys: read as a look around too (h138 ao07). net run in a
    minute without an account change may be one (net group "domain admins")."""
    lines = [
        *(f"11:{minute:02d}:00 The process: msedgeupd.exe MESSAGE_OUTBOUND the flow: 23.254.226.90" for minute in range(0, 6)),
        *(f"11:{minute:02d}:01 The process: msedgeupd.exe MESSAGE_INBOUND the flow: 23.254.226.90" for minute in range(0, 6)),
        "11:02:02 The process: msedgeupd.exe CREATE the process: cmd.exe",
        "11:02:10 The process: cmd.exe CREATE the process: net.exe",
        "11:02:11 The process: net.exe CREATE the process: net1.exe",
        "11:02:12 The process: lsass.exe ADD the registry: 000003F9",
        "11:03:10 The process: cmd.exe CREATE the process: net.exe",
        "11:03:11 The process: net.exe CREATE the process: net1.exe",
        "11:03:12 The process: lsass.exe EDIT the registry: 00000220",
    ]
    if look_too:
        lines += ["11:05:10 The process: cmd.exe CREATE the process: net.exe", "11:05:11 The process: net.exe CREATE the process: net1.exe"]
    stages = jp.claims(_log(*sorted(lines), date="2019-09-25"), networks=OPTC_SITE).stages
    assert {"Command and Control", "Maintain Persistence"} <= stages
    assert ("Internal Reconnaissance" in stages) is look_too


def test_an_account_tool_copying_the_skeletons_start_up_files_is_no_persistence():
    """An administrator's sudo adduser copied the skeleton's .bashrc and .profile into the new
    home: read as a shell start-up file written, persistence (h138 ao08). It is the account's
    creation, by an administrator here."""
    lines = [
        "10:12:00 The subject_process: bash EXECUTE the file_object_file: sudo",
        "10:12:01 The subject_process: sudo READ the file_object_file: sudoers",
        "10:12:02 The subject_process: sudo CHANGE_PRINCIPAL the subject_process: sudo",
        "10:12:03 The subject_process: sudo EXECUTE the file_object_file: adduser",
        "10:13:00 The subject_process: adduser EXECUTE the file_object_file: useradd",
        "10:13:01 The subject_process: useradd WRITE the file_object_file: passwd+",
        "10:13:02 The subject_process: useradd RENAME the file_object_file: passwd+",
        "10:13:03 The subject_process: useradd WRITE the file_object_file: shadow+",
        "10:13:04 The subject_process: adduser READ the file_object_file: .bashrc",
        "10:13:05 The subject_process: adduser WRITE the file_object_file: .bashrc",
        "10:13:06 The subject_process: adduser READ the file_object_file: .profile",
        "10:13:07 The subject_process: adduser WRITE the file_object_file: .profile",
    ]
    assert jp.claims(_log(*lines, date="2018-04-10")).stages == set()


def test_a_sudoers_line_written_by_hand_is_an_escalation_not_persistence():
    """A root cron job ran a script a user had appended to, which wrote sudoers: the user's
    way to root, read as both an escalation and persistence (h138 ao10). A sudo rule gives
    root (T1548.003); an account database written by hand stays persistence."""
    lines = [
        "22:55:00 The subject_process: bash WRITE the file_object_file: db-backup.sh",
        "23:00:00 The subject_process: cron EXECUTE the file_object_file: sh",
        "23:00:01 The subject_process: sh EXECUTE the file_object_file: db-backup.sh",
        "23:00:02 The subject_process: db-backup.sh EXECUTE the file_object_file: mysqldump",
        "23:00:03 The subject_process: db-backup.sh OPEN the file_object_file: sudoers",
        "23:00:04 The subject_process: db-backup.sh WRITE the file_object_file: sudoers",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-11")).stages
    assert "Privilege Escalation" in stages and "Maintain Persistence" not in stages


@pytest.mark.parametrize("declared", [False, True], ids=["bare", "profile"])
def test_an_iis_web_shells_requests_are_the_servers_serving_not_a_channel_or_an_upload(declared):
    """IIS's worker saved a page an upload handler received, compiled it, and then, each time
    an outside address asked, started cmd.exe for a discovery command: its answers to that
    address were read as a channel it holds and, its site's pages and style sheets counted as
    user data, as exfiltration (h128 ae26, h139 ap07). The server answers requests; the pages
    it reads are its site's code."""
    lines = [
        "16:42:00 The process: w3wp.exe MESSAGE_INBOUND the flow: 142.20.60.7",
        "16:42:01 The process: w3wp.exe READ the file: Default.aspx",
        "16:42:02 The process: w3wp.exe READ the file: site.css",
        "16:42:03 The process: w3wp.exe MESSAGE_OUTBOUND the flow: 142.20.60.7",
        "16:46:00 The process: w3wp.exe MESSAGE_INBOUND the flow: 103.224.80.19",
        "16:46:01 The process: w3wp.exe READ the file: UploadHandler.ashx",
        "16:46:02 The process: w3wp.exe CREATE the file: errorfwd.aspx",
        "16:46:03 The process: w3wp.exe WRITE the file: errorfwd.aspx",
        "16:46:04 The process: w3wp.exe MESSAGE_OUTBOUND the flow: 103.224.80.19",
        "16:47:00 The process: w3wp.exe CREATE the process: csc.exe",
        "16:47:01 The process: csc.exe READ the file: errorfwd.aspx",
        "16:47:02 The process: csc.exe CREATE the file: App_Web_errorfwd.aspx.cdcab7d2.dll",
        "16:47:03 The process: w3wp.exe LOAD the module: App_Web_errorfwd.aspx.cdcab7d2.dll",
    ]
    for minute, tool in ((50, "whoami.exe"), (52, "ipconfig.exe"), (54, "systeminfo.exe"), (56, "tasklist.exe")):
        lines += [
            f"16:{minute}:00 The process: w3wp.exe MESSAGE_INBOUND the flow: 103.224.80.19",
            f"16:{minute}:01 The process: w3wp.exe CREATE the process: cmd.exe",
            f"16:{minute}:02 The process: cmd.exe CREATE the process: {tool}",
            f"16:{minute}:03 The process: w3wp.exe MESSAGE_OUTBOUND the flow: 103.224.80.19",
        ]
    stages = jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE if declared else ()).stages
    assert "Initial Compromise" in stages and "Internal Reconnaissance" in stages
    assert not stages & {"Command and Control", "Data Exfiltration"}


@pytest.mark.parametrize("writer, tracks", [("ctfmonn.exe", True), ("WINWORD.EXE", False)], ids=["collector-sends-it", "word-saves"])
def test_a_staged_archive_named_like_words_temporary_file_stays_tracks_covered(writer, tracks):
    """A collector packed ten documents into ~wrs3411.tmp, sent it out and deleted it: the
    name, Word's safe-save temporary file's, had the deletion read as Office's churn (h139
    ap12). Word writing and removing its own temporary file while the user saves stays so."""
    lines = [f"11:10:{i:02d} The process: {writer} READ the file: {name}" for i, name in enumerate(("Budget.xlsx", "Org_Chart.pptx", "Contract.pdf", "Minutes.docx"))]
    lines += [
        f"11:12:00 The process: {writer} CREATE the file: ~wrs3411.tmp",
        f"11:12:01 The process: {writer} WRITE the file: ~wrs3411.tmp",
    ]
    if tracks:
        lines += [
            f"11:13:00 The process: {writer} READ the file: ~wrs3411.tmp",
            f"11:13:01 The process: {writer} START_OUTBOUND the flow: 185.61.137.40",
            *(f"11:13:{second:02d} The process: {writer} MESSAGE_OUTBOUND the flow: 185.61.137.40" for second in range(2, 40, 3)),
            f"11:13:50 The process: {writer} MESSAGE_INBOUND the flow: 185.61.137.40",
        ]
    lines += [f"11:15:00 The process: {writer} DELETE the file: ~wrs3411.tmp"]
    stages = jp.claims(_log(*lines, date="2019-09-25")).stages
    assert ("Covering Tracks" in stages) is tracks


@pytest.mark.parametrize("asker, channel", [("powershell.exe", True), ("svchost.exe", False)], ids=["powershell", "dns-client-service"])
def test_powershell_conversing_with_a_public_resolver_itself_is_a_dns_channel(asker, channel):
    """PowerShell sent dozens of messages a minute straight to a public resolver for five
    minutes, with its commands in those minutes: a public resolver's address was never a
    channel's, so it read as nothing (h139 ap16). Windows programs ask the DNS Client
    service for names; the service host's own queries stay lookups."""
    lines = ["16:02:00 The process: cmd.exe CREATE the process: powershell.exe"]
    for minute in range(2, 7):
        lines += [f"16:{minute:02d}:{second:02d} The process: {asker} MESSAGE_OUTBOUND the flow: 8.8.4.4" for second in range(1, 50, 5)]
        lines += [f"16:{minute:02d}:{second:02d} The process: {asker} MESSAGE_INBOUND the flow: 8.8.4.4" for second in range(2, 50, 7)]
        lines += [f"16:{minute:02d}:55 The process: powershell.exe COMMAND a shell"]
    stages = jp.claims(_log(*sorted(lines), date="2019-09-24"), networks=OPTC_SITE).stages
    assert ("Command and Control" in stages) is channel


@pytest.mark.parametrize("address", ["185.61.137.40", "142.20.61.130"], ids=["outside", "site-host"])
def test_a_staged_archive_sent_to_a_site_host_and_deleted_covers_tracks(address):
    """A collector packed documents into a file named like Word's temporary one, sent it to a
    host of the site (staging it there) and deleted it: with the site's networks declared, the
    send was no exfiltration, and the deletion read as a temporary file's (h139 ap12). Staged
    data carried to another host, wherever it lies, and its staging erased covers tracks."""
    lines = [f"11:10:{i:02d} The process: ctfmonn.exe READ the file: {name}" for i, name in enumerate(("Budget.xlsx", "Org_Chart.pptx", "Contract.pdf", "Minutes.docx"))]
    lines += [
        "11:12:00 The process: ctfmonn.exe CREATE the file: ~wrs3411.tmp",
        "11:12:01 The process: ctfmonn.exe WRITE the file: ~wrs3411.tmp",
        "11:13:00 The process: ctfmonn.exe READ the file: ~wrs3411.tmp",
        f"11:13:01 The process: ctfmonn.exe START_OUTBOUND the flow: {address}",
        *(f"11:13:{second:02d} The process: ctfmonn.exe MESSAGE_OUTBOUND the flow: {address}" for second in range(2, 40, 3)),
        f"11:13:50 The process: ctfmonn.exe MESSAGE_INBOUND the flow: {address}",
        "11:15:00 The process: ctfmonn.exe DELETE the file: ~wrs3411.tmp",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-25"), networks=OPTC_SITE).stages
    assert "Covering Tracks" in stages


# --------------------------------------------------------------------------- session 53


@pytest.mark.parametrize("runs_copy, downloaded", [(False, False), (True, True)], ids=["copies-itself", "starts-its-copy"])
def test_a_program_copying_its_own_image_downloads_nothing(runs_copy, downloaded):
    """An unknown program Explorer started wrote a file of its own name (an implant copying
    itself into place) and talked to an outside host: the only start of that name the log
    shows is the copier's own, in the minute of the copy, so no tool arrived and ran (read as
    a downloaded tool before, h143 at09). The copy started by the program itself ran."""
    lines = [
        "10:12:09 The process: explorer.exe CREATE the process: wupdsvc.exe",
        "10:12:11 The process: wupdsvc.exe CREATE the file: wupdsvc.exe",
        "10:12:11 The process: wupdsvc.exe WRITE the file: wupdsvc.exe",
    ]
    if runs_copy:
        lines.append("10:13:02 The process: wupdsvc.exe CREATE the process: wupdsvc.exe")
    for minute in range(12, 18):
        lines += [
            f"10:{minute}:19 The process: wupdsvc.exe MESSAGE_OUTBOUND the flow: 45.153.241.9",
            f"10:{minute}:20 The process: wupdsvc.exe MESSAGE_INBOUND the flow: 45.153.241.9",
        ]
    claims = jp.claims(_log(*lines, date="2019-09-24"), networks=OPTC_SITE)
    assert ("Initial Compromise" in claims.stages) is downloaded
    assert "Command and Control" in claims.stages


@pytest.mark.parametrize("viewer, looks", [(False, False), (True, True)], ids=["job-and-resolver-reads", "printed-by-cat"])
def test_name_lookups_of_a_job_and_a_networked_program_are_no_survey(viewer, looks):
    """A cron job's piped script ran pgrep each minute; cron and crontab read passwd to find
    the job's user, curl read resolv.conf before it connected: their own lookups, no system
    information read, and one tool is no look around (h143 at13 claimed Internal
    Reconnaissance). cat printing the resolver's configuration and the account list is one."""
    lines = ["15:22:01 The subject_process: bash EXECUTE the file_object_file: crontab", "15:22:02 The subject_process: crontab READ the file_object_file: passwd"]
    for minute in (23, 24, 25):
        lines += [
            f"15:{minute}:01 The subject_process: cron EXECUTE the file_object_file: sh",
            f"15:{minute}:02 The subject_process: cron READ the file_object_file: passwd",
            f"15:{minute}:03 The subject_process: sh EXECUTE the file_object_file: curl",
            f"15:{minute}:04 The subject_process: curl READ the file_object_file: resolv.conf",
            f"15:{minute}:05 The subject_process: curl CONNECT the netflowobject: 185.244.25.164",
            f"15:{minute}:06 The subject_process: curl SENDTO the netflowobject: 185.244.25.164",
            f"15:{minute}:07 The subject_process: curl RECVFROM the netflowobject: 185.244.25.164",
            f"15:{minute}:08 The subject_process: bash EXECUTE the file_object_file: pgrep",
        ]
    if viewer:
        lines += ["15:25:30 The subject_process: bash EXECUTE the file_object_file: cat", "15:25:31 The subject_process: cat READ the file_object_file: resolv.conf", "15:25:32 The subject_process: cat READ the file_object_file: passwd"]
    stages = jp.claims(_log(*lines, date="2018-04-11")).stages
    assert ("Internal Reconnaissance" in stages) is looks


@pytest.mark.parametrize("hive, saved", [("SAM", True), ("Explorer", False)], ids=["credential-hive", "other-key"])
def test_the_registry_tool_saving_a_credential_hive_under_any_name_is_credential_access(hive, saved):
    """reg.exe read the SAM hive's key and in that minute wrote c.dat: ``reg save HKLM\\SAM``
    under a name no hive rule knows (h142 as09: missed). Reading another key and writing a
    file is an export."""
    lines = [
        "16:09:30 The process: AdobeARMhelper.exe CREATE the process: cmd.exe",
        "16:09:35 The process: cmd.exe CREATE the process: reg.exe",
        f"16:09:38 The process: reg.exe OPEN the registry: {hive}",
        f"16:09:38 The process: reg.exe READ the registry: {hive}",
        "16:09:39 The process: reg.exe CREATE the file: c.dat",
        "16:09:40 The process: reg.exe WRITE the file: c.dat",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-24"), networks=OPTC_SITE).stages
    assert ("Privilege Escalation" in stages) is saved


@pytest.mark.parametrize("dumps, looks", [(True, False), (False, True)], ids=["list-before-dump", "list-alone"])
def test_a_process_list_that_finds_the_dumps_target_is_the_dumps_step(dumps, looks):
    """A remotely started shell ran tasklist and, in that minute, rundll32 with comsvcs that
    opened LSASS: tasklist found the process id the minidump needs, a step of the credential
    dump, not a look around (h142 as01 claimed Internal Reconnaissance). Without the dump, the
    attack chain's process list is one."""
    lines = [
        "11:42:01 The process: svchost.exe START_INBOUND the flow: 142.20.57.14",
        "11:42:02 The process: WmiPrvSE.exe MESSAGE_INBOUND the flow: 142.20.57.14",
        "11:42:03 The process: WmiPrvSE.exe CREATE the process: cmd.exe",
        "11:42:05 The process: cmd.exe CREATE the process: tasklist.exe",
        "11:42:06 The process: tasklist.exe OPEN the process: csrss.exe",
    ]
    if dumps:
        lines += [
            "11:42:20 The process: cmd.exe CREATE the process: rundll32.exe",
            "11:42:21 The process: rundll32.exe LOAD the module: comsvcs.dll",
            "11:42:22 The process: rundll32.exe OPEN the process: lsass.exe",
            "11:42:23 The process: rundll32.exe CREATE the file: debug04.bin",
        ]
    stages = jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE).stages
    assert ("Internal Reconnaissance" in stages) is looks
    assert ("Privilege Escalation" in stages) is dumps


@pytest.mark.parametrize("library, injected", [("nvdxgiwrap.dll", True), ("shell32.dll", False)], ids=["unknown-library", "known-library"])
def test_a_dll_runner_injecting_into_the_spooler_makes_its_exchange_a_channel(library, injected):
    """rundll32 ran a library no one knows, started a thread in the print spooler, and the
    spooler then beaconed to an outside host and started cmd: code injected into a SYSTEM
    service, and its channel (h142 as13: the channel was read as the spooler's own routine).
    rundll32 running a Windows library injects nothing the rules can tell."""
    lines = [
        "11:02:01 The process: explorer.exe CREATE the process: rundll32.exe",
        f"11:02:02 The process: rundll32.exe LOAD the module: {library}",
        "11:02:03 The process: rundll32.exe OPEN the process: spoolsv.exe",
        "11:02:04 The process: rundll32.exe REMOTE_CREATE the thread: spoolsv.exe",
        "11:05:10 The process: spoolsv.exe CREATE the process: cmd.exe",
    ]
    for minute in range(2, 9):
        lines += [
            f"11:0{minute}:30 The process: spoolsv.exe MESSAGE_OUTBOUND the flow: 23.227.196.215",
            f"11:0{minute}:31 The process: spoolsv.exe MESSAGE_INBOUND the flow: 23.227.196.215",
        ]
    stages = jp.claims(_log(*lines), networks=OPTC_SITE).stages
    assert ("Command and Control" in stages) is injected


@pytest.mark.parametrize("starter, dropped", [("CcmExec.exe", False), ("powershell.exe", True)], ids=["management-agent", "shell"])
def test_a_package_the_management_agent_fetched_and_started_is_no_dropped_program(starter, dropped):
    """BITS (in its service host) fetched a deployment's program from the site's distribution
    point and Configuration Manager's agent started it (h144 au01: read as a downloaded tool,
    its installer's COM registration as a hijack). The same file started by PowerShell is a
    program written and run."""
    lines = [
        "10:14:01 The process: CcmExec.exe START_OUTBOUND the flow: 142.20.56.21",
        "10:14:02 The process: CcmExec.exe MESSAGE_OUTBOUND the flow: 142.20.56.21",
        "10:14:03 The process: svchost.exe MESSAGE_INBOUND the flow: 142.20.56.21",
        "10:15:01 The process: svchost.exe CREATE the file: Deploy-Application.exe",
        "10:15:02 The process: svchost.exe WRITE the file: Deploy-Application.exe",
        f"10:16:01 The process: {starter} CREATE the process: Deploy-Application.exe",
        "10:16:02 The process: Deploy-Application.exe CREATE the process: msiexec.exe",
        "10:17:01 The process: msiexec.exe ADD the registry: InprocServer32",
        "10:17:02 The process: msiexec.exe CREATE the file: 7z.dll",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE).stages
    assert ("Initial Compromise" in stages) is dropped


@pytest.mark.parametrize("read, sent", [("IO.pm", False), ("accounts.xlsx", True)], ids=["perl-modules", "a-document"])
def test_an_interpreters_modules_are_no_data_carried_off(read, sent):
    """perl read its IO and Socket modules and then sent to many hosts: code the interpreter
    loads, no data carried off (h144 au29 claimed Data Exfiltration). A document read and
    sent is."""
    lines = ["13:26:09 The subject_process: sh EXECUTE the file_object_file: perl", f"13:26:10 The subject_process: perl READ the file_object_file: {read}"]
    lines += [f"13:26:{20 + i} The subject_process: perl SENDTO the netflowobject: 61.167.39.{10 + i}" for i in range(6)]
    stages = jp.claims(_log(*lines, date="2018-04-11")).stages
    assert ("Data Exfiltration" in stages) is sent


@pytest.mark.parametrize("script, looks", [("configure", False), ("notes.txt", True)], ids=["build-script", "other-file"])
def test_a_build_scripts_platform_probes_are_no_look_around(script, looks):
    """A shell running a source package's configure compiled its checks with gcc and ran
    uname, hostname and id to learn the platform (h142 as26 claimed Internal Reconnaissance).
    The same tools from a shell that runs no build script are a look around."""
    lines = [
        "11:05:01 The subject_process: bash EXECUTE the file_object_file: sh",
        f"11:05:02 The subject_process: sh READ the file_object_file: {script}",
        "11:05:03 The subject_process: sh EXECUTE the file_object_file: gcc",
        "11:05:04 The subject_process: sh EXECUTE the file_object_file: uname",
        "11:05:05 The subject_process: sh EXECUTE the file_object_file: hostname",
        "11:05:06 The subject_process: sh EXECUTE the file_object_file: id",
        "11:05:07 The subject_process: id READ the file_object_file: passwd",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-10")).stages
    assert ("Internal Reconnaissance" in stages) is looks


@pytest.mark.parametrize(
    "archive, removed, address, carried",
    [(".cache.tgz", True, "162.66.239.75", True), ("thesis.tgz", False, "162.66.239.75", True), ("thesis.tgz", False, "10.20.3.8", False)],
    ids=["hidden-and-removed", "a-users-copy-outside", "a-users-copy-to-a-private-host"],
)
def test_a_shells_archive_carried_off_by_scp_is_exfiltration_where_it_goes_outside(archive, removed, address, carried):
    """A shell's tar packed documents (its gzip writing the archive) and scp's transport sent
    it to an outside host (h146 aw28: missed, CADETS records the programs as executed
    files): carried off, hidden and removed or not (session 56: analysts call a user's
    visible archive sent outside exfiltration too); the same copy to a private address is
    one kept inside."""
    lines = [
        "16:48:01 The subject_process: sh EXECUTE the file_object_file: tar",
        "16:48:02 The subject_process: tar FORK the subject_process: gzip",
        "16:48:03 The subject_process: tar READ the file_object_file: budget_FY18.ods",
        "16:48:04 The subject_process: tar READ the file_object_file: student_records.csv",
        "16:48:05 The subject_process: tar READ the file_object_file: patent_disclosure.odt",
        f"16:48:06 The subject_process: gzip WRITE the file_object_file: {archive}",
        "16:48:20 The subject_process: sh EXECUTE the file_object_file: scp",
        "16:48:21 The subject_process: scp FORK the subject_process: ssh",
        f"16:48:22 The subject_process: ssh CONNECT the netflowobject: {address}",
        f"16:49:01 The subject_process: scp READ the file_object_file: {archive}",
    ]
    lines += [f"16:49:{10 + i} The subject_process: ssh SENDTO the netflowobject: {address}" for i in range(10)]
    lines.append(f"16:49:30 The subject_process: ssh RECVFROM the netflowobject: {address}")
    if removed:
        lines.append(f"16:49:40 The subject_process: rm UNLINK the file_object_file: {archive}")
    stages = jp.claims(_log(*lines, date="2018-04-12")).stages
    assert ("Data Exfiltration" in stages) is carried


@pytest.mark.parametrize("runner, persists", [("AgentExecutor.exe", False), ("wupdsvc.exe", True)], ids=["management-agent", "unknown-program"])
def test_a_management_agents_script_registering_a_task_is_its_configuration(runner, persists):
    """Intune's AgentExecutor ran a remediation script in PowerShell, which registered a
    scheduled task (h146 aw15 claimed Maintain Persistence: PowerShell read as an attacker's).
    The same script run by a program no one knows places a task."""
    lines = [
        f"11:30:01 The process: {runner} CREATE the process: powershell.exe",
        "11:30:02 The process: powershell.exe LOAD the module: System.Management.Automation.ni.dll",
        "11:31:01 The process: powershell.exe CREATE the process: schtasks.exe",
        "11:31:02 The process: schtasks.exe CREATE the task: Intune-BitLockerKeyEscrow",
        "11:31:03 The process: svchost.exe WRITE the file: Intune-BitLockerKeyEscrow",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE).stages
    assert ("Maintain Persistence" in stages) is persists


def test_net_stopping_a_service_a_minute_before_it_ends_is_no_look_around():
    """A remote session ran net to stop the spooler at 13:05 and to start it at 13:06; the
    service control manager ended and started the spooler at 13:06, and hostname ran: net
    waits for the service, so its stop shows a minute later (h146 aw13 claimed Internal
    Reconnaissance). optc_s26_shell_net_queries_beside_service_start is the twin: a net that
    asks the domain controller a minute before is a query."""
    lines = [
        "13:05:10 The process: cmd.exe CREATE the process: net.exe",
        "13:05:11 The process: net.exe CREATE the process: net1.exe",
        "13:06:01 The process: services.exe TERMINATE the process: spoolsv.exe",
        "13:06:20 The process: cmd.exe CREATE the process: net.exe",
        "13:06:21 The process: net.exe CREATE the process: net1.exe",
        "13:06:22 The process: services.exe CREATE the process: spoolsv.exe",
        "13:07:01 The process: cmd.exe CREATE the process: hostname.exe",
    ]
    assert "Internal Reconnaissance" not in jp.claims(_log(*lines), networks=OPTC_SITE).stages


@pytest.mark.parametrize("races, escalated", [(True, True), (False, False)], ids=["memory-race", "plain-read"])
def test_opening_passwd_while_racing_memory_then_su_is_dirty_cow(races, escalated):
    """An unknown program opened passwd and wrote to memory, changing its protection again and
    again, and su then started a shell: Dirty COW, whose mapping the log records as anonymous
    memory (h148 ay19: missed). A program that only reads passwd before a user's su races
    nothing."""
    lines = [
        "21:40:01 The subject_process: kworkerd EXECUTE the file_object_file: sh",
        "21:40:02 The subject_process: sh EXECUTE the file_object_file: cow_x",
        "21:40:03 The subject_process: cow_x OPEN the file_object_file: passwd",
        "21:40:04 The subject_process: cow_x READ the file_object_file: passwd",
    ]
    if races:
        lines += [f"21:40:{10 + i} The subject_process: cow_x MPROTECT the memoryobject: 7ffb0c400000" for i in range(4)]
        lines += [f"21:40:{20 + i} The subject_process: cow_x WRITE the memoryobject: 7ffb0c400000" for i in range(4)]
    lines += [
        "21:41:01 The subject_process: sh EXECUTE the file_object_file: su",
        "21:41:02 The subject_process: su CHANGE_PRINCIPAL the subject_process: su",
        "21:41:03 The subject_process: su EXECUTE the file_object_file: sh",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-12")).stages
    assert ("Privilege Escalation" in stages) is escalated


@pytest.mark.parametrize("host, channel", [("WmiPrvSE.exe", False), ("ftpupd.exe", True)], ids=["wmi-provider", "unknown-program"])
def test_wmis_provider_hosts_exchange_with_the_remote_caller_is_no_channel(host, channel):
    """WMI's provider host started PowerShell after a connection from another host and
    exchanged with it in two minutes: the remote execution (without the site profile the
    host's address reads as public), not a command channel (h147 ax05). An unknown program's
    exchange of the same shape is one."""
    lines = [
        "09:20:01 The process: svchost.exe START_INBOUND the flow: 142.20.57.36",
        f"09:20:02 The process: {host} MESSAGE_INBOUND the flow: 142.20.57.36",
        f"09:20:03 The process: {host} MESSAGE_OUTBOUND the flow: 142.20.57.36",
        f"09:20:04 The process: {host} CREATE the process: powershell.exe",
        f"09:21:02 The process: {host} MESSAGE_INBOUND the flow: 142.20.57.36",
        f"09:21:03 The process: {host} MESSAGE_OUTBOUND the flow: 142.20.57.36",
        f"09:22:02 The process: {host} MESSAGE_INBOUND the flow: 142.20.57.36",
        f"09:22:03 The process: {host} MESSAGE_OUTBOUND the flow: 142.20.57.36",
    ]
    stages = jp.claims(_log(*lines)).stages
    assert ("Command and Control" in stages) is channel


@pytest.mark.parametrize("writer, claims", [("dockerd", False), ("python3", True)], ids=["container-engine", "script"])
def test_a_container_engine_unpacking_an_images_account_files_adds_no_account(writer, claims):
    """dockerd unpacked an image's layers, its passwd and shadow among them, and the
    container's nginx dropped to its user (h147 ax14 claimed Privilege Escalation and Maintain
    Persistence). A script writing passwd and shadow by hand adds an account."""
    lines = [
        "10:02:01 The subject_process: bash EXECUTE the file_object_file: docker",
        f"10:02:02 The subject_process: {writer} WRITE the file_object_file: passwd",
        f"10:02:03 The subject_process: {writer} WRITE the file_object_file: shadow",
        "10:03:01 The subject_process: runc EXECUTE the file_object_file: nginx",
        "10:03:02 The subject_process: nginx CHANGE_PRINCIPAL the subject_process: nginx",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-12")).stages
    assert ("Maintain Persistence" in stages) is claims
    assert ("Privilege Escalation" in stages) is claims


@pytest.mark.parametrize("loader, escalated", [("pkexec", True), ("less", False)], ids=["setuid-loader", "unprivileged-reader"])
def test_pkexec_reading_a_library_its_caller_just_wrote_is_pwnkit(loader, escalated):
    """An unknown program wrote gconv-modules and lib0.so and ran pkexec, which read them and
    started a shell: PwnKit, the log keeping only pkexec's read of the library (h147 ax26:
    missed). An unprivileged program reading the file runs nothing with more privilege."""
    lines = [
        "03:53:01 The subject_process: sd-pam-update WRITE the file_object_file: gconv-modules",
        "03:53:02 The subject_process: sd-pam-update WRITE the file_object_file: lib0.so",
        f"03:53:03 The subject_process: sd-pam-update EXECUTE the file_object_file: {loader}",
        f"03:53:04 The subject_process: {loader} READ the file_object_file: gconv-modules",
        f"03:53:05 The subject_process: {loader} READ the file_object_file: lib0.so",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-13")).stages
    assert ("Privilege Escalation" in stages) is escalated


@pytest.mark.parametrize("staged, carried", [(".cache-7f3a", True), (".bash_history", False)], ids=["hidden-archive", "a-known-dotfile"])
def test_a_hidden_archive_without_an_extension_carries_what_was_collected(staged, carried):
    """tar read documents and its gzip wrote .cache-7f3a, which python3 read while sending a
    burst to an outside host (h147 ax22: missed, a name without an extension read as no data).
    A dotfile the knowledge base knows (the shell's history) is no archive staged under a
    dot-name."""
    lines = [
        "17:34:01 The subject_process: python3 EXECUTE the file_object_file: sh",
        "17:34:02 The subject_process: sh EXECUTE the file_object_file: tar",
        "17:34:03 The subject_process: tar EXECUTE the file_object_file: gzip",
        "17:34:04 The subject_process: tar READ the file_object_file: MSA_v4.docx",
        "17:34:05 The subject_process: tar READ the file_object_file: budget_Q2.xlsx",
        "17:34:06 The subject_process: tar READ the file_object_file: payroll_march.xlsx",
        f"17:34:07 The subject_process: gzip WRITE the file_object_file: {staged}",
        f"17:35:01 The subject_process: python3 READ the file_object_file: {staged}",
    ]
    lines += [f"17:35:{10 + i} The subject_process: python3 SENDTO the netflowobject: 185.86.151.2" for i in range(12)]
    stages = jp.claims(_log(*lines, date="2018-04-13")).stages
    assert ("Data Exfiltration" in stages) is carried


@pytest.mark.parametrize("reader, armed", [("ssh", False), ("sh", True)], ids=["ssh-key", "script"])
def test_a_file_made_private_for_ssh_is_no_armed_tool(reader, armed):
    """A shell wrote k, chmod changed its mode, and ssh read it to log in to another host while
    the subgraph talked to the network: a key written out for ``ssh -i`` (h143 at18 read it as
    a downloaded tool). A file chmod'ed and read by a shell is a script armed (the tool
    brought in, here by an operator's shell with no way in shown: Ingress Tool Transfer)."""
    lines = [
        "14:05:01 The subject_process: curl CONNECT the netflowobject: 61.167.39.128",
        "14:05:02 The subject_process: curl RECVFROM the netflowobject: 61.167.39.128",
        "14:07:01 The subject_process: bash WRITE the file_object_file: k",
        "14:07:02 The subject_process: bash EXECUTE the file_object_file: chmod",
        "14:07:03 The subject_process: chmod MODIFY_FILE_ATTRIBUTES the file_object_file: k",
        f"14:07:04 The subject_process: bash EXECUTE the file_object_file: {reader}",
        f"14:07:05 The subject_process: {reader} READ the file_object_file: k",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-12")).stages
    assert bool(stages & {"Initial Compromise", "Command and Control"}) is armed


@pytest.mark.parametrize("server, operator", [("php-fpm7.0", True), ("cron", False)], ids=["web-worker", "job-scheduler"])
def test_a_web_workers_shell_starting_ssh_to_another_host_is_a_web_shell(server, operator):
    """PHP's worker started sh, whose ssh reached another host: an operator working through a
    web shell (h143 at18's foothold was found only through a wrong reading). A cron job's
    shell running ssh is a scheduled transfer."""
    lines = [
        f"14:05:01 The subject_process: {server} EXECUTE the file_object_file: sh",
        "14:06:01 The subject_process: sh EXECUTE the file_object_file: ssh",
        "14:06:02 The subject_process: ssh CONNECT the netflowobject: 128.55.12.67",
        "14:06:03 The subject_process: ssh SENDTO the netflowobject: 128.55.12.67",
        "14:06:04 The subject_process: ssh RECVFROM the netflowobject: 128.55.12.67",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-12"), networks=jp.profile_networks("trace_x")).stages
    assert ("Initial Compromise" in stages) is operator


@pytest.mark.parametrize("starter, channel", [("PDFConvert_Setup.exe", True), ("explorer.exe", False)], ids=["restarted-by-the-dropper", "started-by-the-user"])
def test_a_browser_a_dropper_restarted_is_weighed_address_by_address(starter, channel):
    """A setup Chrome downloaded forced an extension by policy and restarted Chrome, which
    then beaconed to one address every minute beside its browsing (h150 ba12: the beacon was
    read as browsing, the forced extension not at all). A user's Chrome talking to the same
    sites is browsing."""
    lines = [
        "11:20:01 The process: chrome.exe START_OUTBOUND the flow: 185.224.138.29",
        "11:20:02 The process: chrome.exe MESSAGE_INBOUND the flow: 185.224.138.29",
        "11:20:03 The process: chrome.exe CREATE the file: PDFConvert_Setup.exe",
        "11:21:01 The process: chrome.exe CREATE the process: PDFConvert_Setup.exe",
        "11:21:02 The process: PDFConvert_Setup.exe EDIT the registry: ExtensionInstallForcelist",
        "11:21:03 The process: PDFConvert_Setup.exe TERMINATE the process: chrome.exe",
        f"11:21:04 The process: {starter} CREATE the process: chrome.exe",
        "11:21:05 The process: chrome.exe START_OUTBOUND the flow: 172.217.7.4",
    ]
    for minute in range(21, 27):
        lines += [
            f"11:{minute}:30 The process: chrome.exe MESSAGE_OUTBOUND the flow: 194.165.16.77",
            f"11:{minute}:31 The process: chrome.exe MESSAGE_INBOUND the flow: 194.165.16.77",
        ]
    stages = jp.claims(_log(*lines, date="2019-09-26"), networks=OPTC_SITE).stages
    assert "Maintain Persistence" in stages
    assert ("Command and Control" in stages) is channel


@pytest.mark.parametrize("after, channel", [(0, False), (4, True)], ids=["delivery-only", "kept-after-the-run"])
def test_a_browsers_exchange_over_by_the_run_of_what_it_fetched_is_the_delivery(after, channel):
    """Firefox fetched an add-on and then gkhelper from one address in two minutes, wrote
    gkhelper and ran it: the delivery, not a channel (h150 ba21 claimed Command and Control).
    A browser that keeps exchanging with that address after the run holds one."""
    lines = [
        "14:07:43 The subject_process: firefox CONNECT the netflowobject: 193.29.187.52",
        "14:07:44 The subject_process: firefox SENDTO the netflowobject: 193.29.187.52",
        "14:07:45 The subject_process: firefox RECVFROM the netflowobject: 193.29.187.52",
        "14:08:21 The subject_process: firefox SENDTO the netflowobject: 193.29.187.52",
        "14:08:22 The subject_process: firefox RECVFROM the netflowobject: 193.29.187.52",
        "14:08:23 The subject_process: firefox WRITE the file_object_file: gkhelper",
        "14:08:24 The subject_process: firefox MODIFY_FILE_ATTRIBUTES the file_object_file: gkhelper",
        "14:08:26 The subject_process: firefox EXECUTE the file_object_file: gkhelper",
    ]
    for minute in range(9, 9 + after):
        lines += [
            f"14:{minute:02d}:21 The subject_process: firefox SENDTO the netflowobject: 193.29.187.52",
            f"14:{minute:02d}:22 The subject_process: firefox RECVFROM the netflowobject: 193.29.187.52",
        ]
    stages = jp.claims(_log(*lines, date="2018-04-12")).stages
    assert "Initial Compromise" in stages
    assert ("Command and Control" in stages) is channel


@pytest.mark.parametrize("server, fetched", [("node", True), ("rsync", False)], ids=["application-server", "no-server"])
def test_a_servers_shell_piping_fetched_code_into_a_shell_is_the_way_in(server, fetched):
    """Node.js, serving an outside address, started sh, whose curl fetched from another outside
    address into a pipe a shell read, and the script's crontab wrote the user's table (h151
    bb13: the foothold was found only as crontab's table read as a downloaded tool). The same
    pipe in a shell no server started has no way in shown."""
    lines = [
        f"16:44:01 The subject_process: {server} ACCEPT the netflowobject: 103.27.110.206",
        f"16:44:02 The subject_process: {server} RECVFROM the netflowobject: 103.27.110.206",
        f"16:44:03 The subject_process: {'node' if server == 'node' else 'bash'} EXECUTE the file_object_file: sh",
        "16:45:01 The subject_process: sh EXECUTE the file_object_file: curl",
        "16:45:02 The subject_process: curl CONNECT the netflowobject: 45.9.148.21",
        "16:45:03 The subject_process: curl RECVFROM the netflowobject: 45.9.148.21",
        "16:45:04 The subject_process: curl WRITE the pipe: pipe",
        "16:45:05 The subject_process: sh READ the pipe: pipe",
        "16:45:06 The subject_process: sh EXECUTE the file_object_file: crontab",
        "16:45:07 The subject_process: crontab WRITE the file_object_file: svcnode",
        "16:45:08 The subject_process: crontab MODIFY_FILE_ATTRIBUTES the file_object_file: svcnode",
    ]
    claims = jp.claims(_log(*lines, date="2018-04-12"))
    assert ("Initial Compromise" in claims.stages) is fetched
    assert "svcnode" not in claims.cited_names  # the user's cron table, no tool


def test_a_log_logrotate_recreates_with_its_mode_is_no_armed_tool():
    """logrotate created access.log anew and set its mode, nginx wrote it while serving: a
    log, not a program armed (h151 bb02 read it as a downloaded tool)."""
    lines = [
        "06:25:01 The subject_process: cron EXECUTE the file_object_file: sh",
        "06:25:02 The subject_process: sh EXECUTE the file_object_file: logrotate",
        "06:25:03 The subject_process: logrotate RENAME the file_object_file: access.log",
        "06:25:04 The subject_process: logrotate CREATE_OBJECT the file_object_file: access.log",
        "06:25:05 The subject_process: logrotate MODIFY_FILE_ATTRIBUTES the file_object_file: access.log",
        "06:25:06 The subject_process: nginx ACCEPT the netflowobject: 66.249.79.35",
        "06:25:07 The subject_process: nginx RECVFROM the netflowobject: 66.249.79.35",
        "06:25:08 The subject_process: nginx SENDTO the netflowobject: 66.249.79.35",
        "06:25:09 The subject_process: nginx WRITE the file_object_file: access.log",
    ]
    assert "Initial Compromise" not in jp.claims(_log(*lines, date="2018-04-05")).stages


@pytest.mark.parametrize("collector, claims", [("Velociraptor.exe", False), ("wupdsvc.exe", True)], ids=["forensic-agent", "unknown-program"])
def test_a_forensic_agents_collection_is_its_work(collector, claims):
    """Velociraptor, on its server's request, dropped autorunsc and ran it, read the hives and
    opened processes, zipped and uploaded the results and removed its files (h152 bc05: read
    as a downloaded tool, credential access, exfiltration and covering tracks). An unknown
    program doing the same is an intruder's collection."""
    lines = [
        f"10:00:01 The process: {collector} START_OUTBOUND the flow: 142.20.56.210",
        f"10:00:02 The process: {collector} MESSAGE_INBOUND the flow: 142.20.56.210",
        f"10:00:03 The process: {collector} CREATE the file: autorunsc64.exe",
        f"10:00:04 The process: {collector} CREATE the process: autorunsc64.exe",
        f"10:01:01 The process: {collector} READ the file: Amcache.hve",
        f"10:01:02 The process: {collector} CREATE the file: collection-WS0093.zip",
        f"10:01:03 The process: {collector} READ the file: collection-WS0093.zip",
    ]
    lines += [f"10:02:{10 + i} The process: {collector} MESSAGE_OUTBOUND the flow: 142.20.56.210" for i in range(6)]
    lines += [f"10:03:01 The process: {collector} DELETE the file: autorunsc64.exe", f"10:03:02 The process: {collector} DELETE the file: collection-WS0093.zip"]
    stages = jp.claims(_log(*lines), networks=OPTC_SITE).stages
    assert bool(stages) is claims


@pytest.mark.parametrize("exported, cleared", [(True, False), (False, True)], ids=["exported-first", "cleared-only"])
def test_event_logs_exported_before_they_are_cleared_are_archived(exported, cleared):
    """A scheduled PowerShell script exported Security and System with wevtutil (the service
    writing Security_SRV-FS02_20190925.evtx) and then cleared them: log management (h152 bc06
    claimed Covering Tracks). Cleared without an export, they are wiped."""
    lines = [
        "02:00:01 The process: svchost.exe CREATE the process: powershell.exe",
        "02:00:02 The process: powershell.exe CREATE the process: wevtutil.exe",
    ]
    if exported:
        lines += ["02:00:03 The process: svchost.exe WRITE the file: Security_SRV-FS02_20190925.evtx", "02:00:04 The process: svchost.exe WRITE the file: System_SRV-FS02_20190925.evtx"]
    lines += [
        "02:02:01 The process: powershell.exe CREATE the process: wevtutil.exe",
        "02:02:02 The process: svchost.exe MODIFY the file: Security.evtx",
        "02:02:03 The process: svchost.exe MODIFY the file: System.evtx",
    ]
    stages = jp.claims(_log(*lines), networks=OPTC_SITE).stages
    assert ("Covering Tracks" in stages) is cleared


@pytest.mark.parametrize(
    "starter, remote, looks",
    [("userinit.exe", False, False), ("explorer.exe", False, False), ("explorer.exe", True, True)],
    ids=["logon-script", "users-console", "remote-desktop-console"],
)
def test_the_domains_logon_script_asking_who_and_where_is_no_look_around(starter, remote, looks):
    """At logon userinit.exe ran cmd on logon.bat, which ran whoami, ipconfig, hostname and
    net use (h154 be07 claimed Internal Reconnaissance). The same commands from a console the
    user opened from Explorer are the user's own (since session 57: blind probes h180 ce25,
    h214 dm02); in a session another host opened (an inbound connection in the log, a remote
    desktop) they are a look around (optc_s32's RDP survey is the twin in the hand-made
    cases)."""
    lines = [
        *(["08:46:30 The process: svchost.exe START_INBOUND the flow: 142.20.58.90", "08:46:31 The process: svchost.exe MESSAGE_INBOUND the flow: 142.20.58.90"] if remote else []),
        "08:47:01 The process: winlogon.exe CREATE the process: userinit.exe",
        f"08:48:01 The process: {starter} CREATE the process: cmd.exe",
        "08:48:02 The process: cmd.exe READ the file: logon.bat",
        "08:48:03 The process: cmd.exe CREATE the process: whoami.exe",
        "08:48:04 The process: cmd.exe CREATE the process: ipconfig.exe",
        "08:48:05 The process: cmd.exe CREATE the process: hostname.exe",
        "08:48:06 The process: cmd.exe CREATE the process: net.exe",
        "08:48:07 The process: net.exe CREATE the process: net1.exe",
        "08:48:08 The process: net1.exe START_OUTBOUND the flow: 142.20.56.10",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE).stages
    assert ("Internal Reconnaissance" in stages) is looks


@pytest.mark.parametrize("collector, looks", [("uac", False), ("x", True)], ids=["live-response-collector", "unknown-script"])
def test_a_live_response_collector_run_by_sudo_is_no_look_around(collector, looks):
    """A responder ran the Unix-like Artifacts Collector (uac) with sudo; it ran ps, ss, lsof,
    who, last and uname and read the account and login records (h152 bc22 claimed Internal
    Reconnaissance). An unknown script doing the same is a survey."""
    lines = [f"16:00:24 The subject_process: sudo EXECUTE the file_object_file: {collector}"]
    lines += [f"16:00:{30 + i} The subject_process: {collector} EXECUTE the file_object_file: {tool}" for i, tool in enumerate(("ps", "ss", "lsof", "who", "last", "uname"))]
    lines += [f"16:01:{10 + i} The subject_process: {collector} READ the file_object_file: {f}" for i, f in enumerate(("passwd", "wtmp", "utmp"))]
    stages = jp.claims(_log(*lines, date="2018-04-12")).stages
    assert ("Internal Reconnaissance" in stages) is looks


@pytest.mark.parametrize("installer, claims", [("ccmsetup.exe", False), ("svcinst.exe", True)], ids=["client-push", "unknown-program"])
def test_configuration_managers_client_push_is_a_deployment(installer, claims):
    """The site server wrote ccmsetup.exe over the admin share, the service control manager
    created its service and started it, and it installed the client (h155 bf10: read as a
    tool copied for remote execution, a service installed and a downloaded tool). An unknown
    program pushed the same way is remote execution."""
    service = installer.removesuffix(".exe")
    lines = [
        "10:01:01 The process: System START_INBOUND the flow: 142.20.56.10",
        f"10:01:02 The process: System CREATE the file: {installer}",
        f"10:01:03 The process: System WRITE the file: {installer}",
        f"10:02:01 The process: services.exe CREATE the service: {service}",
        f"10:02:02 The process: services.exe CREATE the process: {installer}",
        f"10:02:03 The process: {installer} START_OUTBOUND the flow: 142.20.56.10",
        f"10:02:04 The process: {installer} MESSAGE_INBOUND the flow: 142.20.56.10",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-26"), networks=OPTC_SITE).stages
    assert bool(stages) is claims


@pytest.mark.parametrize("host, persists", [("gpscript.exe", False), ("cmd.exe", True)], ids=["policy-script-host", "a-shell"])
def test_a_run_value_the_policys_logon_script_sets_is_the_domains(host, persists):
    """Group Policy's script host read scripts.ini and logon.bat, and the script's reg.exe set
    a Run value for BGInfo (h153 bd20 claimed Maintain Persistence). The same reg.exe under a
    shell no policy started places a Run value."""
    lines = [
        "08:02:01 The process: svchost.exe CREATE the process: gpscript.exe",
        f"08:02:02 The process: {host} READ the file: scripts.ini",
        f"08:02:03 The process: {host} READ the file: logon.bat",
        f"08:02:04 The process: {host} CREATE the process: cmd.exe" if host != "cmd.exe" else "08:02:04 The process: explorer.exe CREATE the process: cmd.exe",
        "08:02:05 The process: cmd.exe CREATE the process: reg.exe",
        "08:02:06 The process: reg.exe EDIT the registry: Run",
    ]
    stages = jp.claims(_log(*lines, date="2019-09-23"), networks=OPTC_SITE).stages
    assert ("Maintain Persistence" in stages) is persists


@pytest.mark.parametrize("read, sent", [("package.json", False), ("customers.csv", True)], ids=["package-manifest", "a-document"])
def test_npm_reading_its_manifest_and_packages_carries_off_no_data(read, sent):
    """npm (node) read the project's package.json and install.js, wrote the packages it
    fetched and read them back while it talked to the registry (h154 be20 claimed Data
    Exfiltration). A document read and sent is data."""
    lines = [
        "10:00:01 The subject_process: bash EXECUTE the file_object_file: node",
        f"10:00:02 The subject_process: node READ the file_object_file: {read}",
        "10:00:03 The subject_process: node READ the file_object_file: install.js",
        "10:00:04 The subject_process: node CONNECT the netflowobject: 104.16.20.35",
    ]
    lines += [f"10:00:{10 + i} The subject_process: node SENDTO the netflowobject: 104.16.20.35" for i in range(6)]
    lines += ["10:00:20 The subject_process: node RECVFROM the netflowobject: 104.16.20.35"]
    stages = jp.claims(_log(*lines, date="2018-04-10")).stages
    assert ("Data Exfiltration" in stages) is sent


@pytest.mark.parametrize("writer, chained", [("newsyslog", False), ("sh", True)], ids=["log-rotator", "a-shell"])
def test_a_log_a_rotator_creates_under_a_programs_name_is_no_dropped_program(writer, chained):
    """newsyslog created FreeBSD's /var/log/cron, which base names show as `cron`, and the cron
    daemon ran periodic, whose awk read master.passwd (h145 av06, held out until the stop's
    end: the log read as a program written and run, its descendants as an attack chain). A
    shell writing a file of the daemon's name before it runs is a program dropped."""
    lines = [
        f"03:00:01 The subject_process: {writer} CREATE_OBJECT the file_object_file: cron",
        "03:00:02 The subject_process: cron EXECUTE the file_object_file: sh",
        "03:00:03 The subject_process: sh EXECUTE the file_object_file: periodic",
        "03:00:04 The subject_process: periodic EXECUTE the file_object_file: awk",
        "03:00:05 The subject_process: awk READ the file_object_file: master.passwd",
    ]
    stages = jp.claims(_log(*lines, date="2018-04-08")).stages
    assert ("Privilege Escalation" in stages) is chained


@pytest.mark.parametrize("sender, carried", [("bztransmit64.exe", False), ("upd64.exe", True)], ids=["backup-agent", "unknown-program"])
def test_backblazes_upload_of_changed_files_is_its_backup(sender, carried):
    """Backblaze's bzfilelist listed the changed documents and bztransmit64 uploaded them
    (h145 av12, held out until the stop's end, claimed Data Exfiltration). An unknown program
    reading and sending the same documents carries them off."""
    lines = [
        "14:00:01 The process: bzfilelist.exe READ the file: Budget_FY2020_draft.xlsx",
        "14:00:02 The process: bzfilelist.exe WRITE the file: bzdatelist.dat",
        f"14:01:01 The process: {sender} READ the file: bzdatelist.dat",
        f"14:01:02 The process: {sender} READ the file: Budget_FY2020_draft.xlsx",
        f"14:01:03 The process: {sender} READ the file: Outlook.pst",
        f"14:01:04 The process: {sender} START_OUTBOUND the flow: 206.190.215.16",
    ]
    lines += [f"14:0{2 + i // 4}:{10 + i} The process: {sender} MESSAGE_OUTBOUND the flow: 206.190.215.16" for i in range(12)]
    stages = jp.claims(_log(*lines, date="2019-09-24"), networks=OPTC_SITE).stages
    assert ("Data Exfiltration" in stages) is carried
