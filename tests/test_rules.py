"""Each rule family with small examples of its own (no corpus): the YAML pattern rules run
their own positive/negative examples; the structural rules run on tiny hand-written logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from aptnarrate.pipeline import inspect_input
from aptnarrate.rules.patterns import RuleFileError, builtin_rules, example_row, parse_rule_file, rule_matches
from aptnarrate.rules.stages import find_stages

RULES = builtin_rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_pattern_rule_examples(rule):
    for example in rule.examples.positive:
        assert rule_matches(rule, example_row(example)), example
    for example in rule.examples.negative:
        assert not rule_matches(rule, example_row(example)), example


@pytest.mark.parametrize("rule", [r for r in RULES if r.stage], ids=[r.id for r in RULES if r.stage])
def test_a_rule_names_no_file_its_match_may_lack(rule):
    # a finding's rationale quotes the rule's title and explanation; grounding drops a claim
    # that names a file the input lacks, so a rule that names one (a path written as an
    # example, "/proc/PID/mem") lost its stage in every report it matched
    from aptnarrate.grounding.mentions import file_names

    for name in file_names(f"{rule.title} {rule.explanation}"):
        for example in rule.examples.positive:
            assert name.lower() in {example.subject.lower(), example.object.lower()}, (name, example)


def test_a_bad_rule_file_names_the_file_rule_and_field():
    text = "id: x\ntitle: t\nstage: null\ntactic: TA0002\ntechniques: [T59]\nconfidence: low\nexplanation: e\nmatch: [{event: [execute]}]\nexamples: {positive: [{action: X}], negative: [{action: Y}]}\n"
    with pytest.raises(RuleFileError, match=r"mine\.yaml: rule 'x', field techniques"):
        parse_rule_file(text, "mine.yaml")


_GOOD_RULE = {
    "id": "x", "title": "t", "stage": None, "tactic": "TA0002", "techniques": ["T1059"], "confidence": "low",
    "explanation": "e", "match": [{"event": ["execute"]}],
    "examples": {"positive": [{"action": "EXECUTE"}], "negative": [{"action": "READ"}]},
}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"colour": "red"}, "colour"),
        ({"title": None}, "title"),
        ({"stage": "Initial Access"}, "stage"),
        ({"tactic": "TA02"}, "tactic"),
        ({"techniques": []}, "techniques"),
        ({"techniques": ["T1059", 7]}, r"techniques\.1"),
        ({"confidence": "certain"}, "confidence"),
        ({"match": []}, "match"),
        ({"match": [{"verb": "x"}]}, "match"),
        ({"match": [{"object|like": "x"}]}, "match"),
        ({"match": [{"object|re": "("}]}, "match"),
        ({"filter": [{}]}, "filter"),
        ({"match": [{1: "x"}]}, "match"),
        ({"match": [{"object": {"a": 1}}]}, "match"),
        ({"match": [{"object": ["x", ["y"]]}]}, "match"),
        ({"examples": {"positive": ["x"], "negative": [{"action": "X"}]}}, r"examples\.positive\.0"),
        ({"examples": {"positive": [], "negative": [{"action": "X"}]}}, r"examples\.positive"),
        ({"examples": {"positive": [{"subject": "a"}], "negative": [{"action": "X"}]}}, r"examples\.positive\.0\.action"),
        ({"examples": {"positive": [{"action": "X", "path": "/"}], "negative": [{"action": "X"}]}}, r"examples\.positive\.0\.path"),
    ],
)
def test_each_malformed_field_is_named_with_its_file_and_rule(change, field):
    import yaml

    assert parse_rule_file(yaml.safe_dump(_GOOD_RULE), "mine.yaml")[0].techniques == ["T1059"]
    with pytest.raises(RuleFileError, match=rf"^mine\.yaml: rule 'x', field {field}: \S"):
        parse_rule_file(yaml.safe_dump({**_GOOD_RULE, **change}), "mine.yaml")
    missing = {k: v for k, v in _GOOD_RULE.items() if k != "tactic"}
    with pytest.raises(RuleFileError, match=r"^mine\.yaml: rule 'x', field tactic: field required"):
        parse_rule_file(yaml.safe_dump(missing), "mine.yaml")


def _stages(lines: list[str], **options) -> dict:
    data = ("description,timestamp\n" + "\n".join(lines) + "\n").encode()
    return {s.stage: s for s in find_stages(inspect_input(data, **options))}


def _sweep(host_count: int) -> list[str]:
    out = []
    for i in range(host_count):
        out.append(f"The subject_process: scanner CONNECT the netflowobject: 10.1.2.{i + 1},2020-01-01 10:0{i // 4}:{10 + i:02d}")
        out.append(f"The subject_process: scanner CLOSE the netflowobject: 10.1.2.{i + 1},2020-01-01 10:0{i // 4}:{11 + i:02d}")
    return out


def test_sweep_is_reconnaissance_not_c2_even_with_the_network_declared():
    for options in ({}, {"internal_networks": ["10.0.0.0/8"]}):
        found = _stages(_sweep(6), **options)
        assert set(found) == {"Internal Reconnaissance"}
        assert found["Internal Reconnaissance"].techniques == ("T1046",)
    assert _stages(_sweep(2)) == {}


def _exchange(address: str, minutes: int, subject: str = "implant") -> list[str]:
    out = []
    for m in range(minutes):
        out.append(f"The subject_process: {subject} SENDTO the netflowobject: {address},2020-01-01 10:{m:02d}:05")
        out.append(f"The subject_process: {subject} RECVFROM the netflowobject: {address},2020-01-01 10:{m:02d}:06")
    return out


def test_sustained_exchange_with_a_public_address_is_c2_with_its_period():
    found = _stages(_exchange("203.0.113.9", 4))
    assert found["Command and Control"].techniques == ("T1071",)
    assert "every 1 minute" in found["Command and Control"].rationale
    assert _stages(_exchange("203.0.113.9", 4), internal_networks=["203.0.113.0/24"]) == {}
    assert _stages(_exchange("8.8.8.8", 4)) == {}  # a public resolver
    assert _stages(_exchange("203.0.113.9", 1)[:1]) == {}  # one message is not sustained


def test_optc_inbound_address_is_this_host_and_shell_loop_is_c2():
    lines = []
    for m in range(3):
        lines += [
            f"The process: svchost.exe COMMAND a shell,2019-09-24 11:{m:02d}:01",
            f"The process: svchost.exe MESSAGE_OUTBOUND the flow: 203.0.113.7,2019-09-24 11:{m:02d}:02",
            f"The process: svchost.exe MESSAGE_INBOUND the flow: 142.20.57.9,2019-09-24 11:{m:02d}:03",
        ]
    found = _stages(lines)
    assert set(found["Command and Control"].techniques) == {"T1071", "T1059.001"}
    facts = inspect_input(("description,timestamp\n" + "\n".join(lines) + "\n").encode())
    ranks = {c.value: c for c in facts.candidates}
    assert "this-host" in ranks["142.20.57.9"].features
    assert ranks["203.0.113.7"].rank < ranks["142.20.57.9"].rank


def test_write_then_chmod_with_network_is_ingress_and_deleting_it_covers_tracks():
    lines = _exchange("203.0.113.9", 1) + [
        "A subject_process WRITE the file_object_file: dropper,2020-01-01 10:01:01",
        "A subject_process MODIFY_FILE_ATTRIBUTES the file_object_file: dropper,2020-01-01 10:01:02",
        "A subject_process UNLINK the file_object_file: dropper,2020-01-01 10:02:01",
    ]
    found = _stages(lines)
    assert found["Initial Compromise"].techniques == ("T1105",)
    assert found["Covering Tracks"].techniques == ("T1070.004",)
    # without network traffic a chmod is housekeeping; a safe-save rename is not hiding
    quiet = _stages(lines[2:4] + ["A subject_process RENAME the file_object_file: prefs.js,2020-01-01 10:02:01"])
    assert quiet == {}


def test_covering_tracks_ignores_compiler_temp_files_and_appx_churn():
    lines = [
        "The process: csc.exe WRITE the file: abc.cmdline,2020-01-01 10:00:01",
        "The process: csc.exe WRITE the file: abc.dll,2020-01-01 10:00:02",
        "The process: csc.exe DELETE the file: abc.dll,2020-01-01 10:00:03",
        "The process: svchost.exe WRITE the file: x_1.rslc,2020-01-01 10:00:04",
        "The process: svchost.exe DELETE the file: x_1.rslc,2020-01-01 10:00:05",
    ]
    assert "Covering Tracks" not in _stages(lines)


def test_mail_client_dropping_an_unknown_executable_is_initial_compromise():
    found = _stages(["The subject_process: thunderbird CREATE_OBJECT the file_object_file: invoice_viewer,2020-01-01 10:00:01"])
    assert "T1566.001" in found["Initial Compromise"].techniques
    assert _stages(["The subject_process: thunderbird CREATE_OBJECT the file_object_file: prefs-1.js,2020-01-01 10:00:01"]) == {}


def test_persistence_rules_reach_the_stage_with_their_technique():
    found = _stages(["The process: schtasks.exe CREATE the task: Updater,2020-01-01 10:00:01"])
    assert found["Maintain Persistence"].techniques == ("T1053.005",)
    found = _stages(["The subject_process: sh WRITE the file_object_file: authorized_keys,2020-01-01 10:00:01"])
    assert found["Maintain Persistence"].techniques == ("T1098.004",)


def test_periodic_jobs_are_not_reconnaissance():
    lines = [
        "A subject_process EXECUTE the file_object_file: netstat,2020-01-01 03:01:01",
        "A subject_process EXECUTE the file_object_file: ifconfig,2020-01-01 03:01:02",
        "A subject_process READ the file_object_file: hosts,2020-01-01 03:01:03",
    ]
    assert "Internal Reconnaissance" in _stages(lines)
    assert _stages(lines + ["A subject_process CLOSE the file_object_file: 500.ipfwdenied,2020-01-01 03:01:04"]) == {}


def test_no_placeholder_candidates():
    facts = inspect_input(b"description,timestamp\nA subject_process OPEN the file_object_file: ..,2020-01-01 10:00:01\nA subject_process OPEN the file_object_file: 0,2020-01-01 10:00:02\n")
    assert [c.value for c in facts.candidates] == []


def test_benign_mechanisms_words_name_no_file_address_or_time():
    """An IoC's context quotes the words of the mechanism that lowers it, and grounding
    reads them: a path or file name in them (``/etc/update-motd.d``) is absent from most
    inputs and drops the context."""
    from aptnarrate.grounding.ground import vocabulary_for
    from aptnarrate.rules.benign import mechanisms

    vocabulary = vocabulary_for(inspect_input(b"description,timestamp\nThe process: a.exe READ the file: b.txt,2020-01-01 10:00:01\n"))
    assert {m.id: found for m in mechanisms() if (found := vocabulary.mentions(m.says, programs=False))} == {}


def test_benign_mechanisms_lower_likelihood_in_words_and_keep_the_row():
    from aptnarrate.backends.offline import OfflineNarrator
    from aptnarrate.rules.benign import mechanisms

    assert all(m.says.startswith("consistent with") for m in mechanisms())
    lines = [f"The process: svchost.exe MODIFY the file: cache_{i}.rslc,2020-01-01 10:00:0{i}" for i in range(3)]
    lines += [f"The process: svchost.exe DELETE the file: cache_{i}.rslc,2020-01-01 10:01:0{i}" for i in range(3)]
    facts = inspect_input(("description,timestamp\n" + "\n".join(lines) + "\n").encode())
    narration = OfflineNarrator().narrate(facts).narration
    assert narration.stages == []  # churn, not covering tracks
    rows = {claim.ioc: claim for claim in narration.iocs}
    assert "cache_0.rslc" in rows  # never hidden
    assert "AppX state-repository churn" in rows["cache_0.rslc"].legitimate_usage


@pytest.mark.parametrize("commands, maintenance", [(("gpupdate.exe",), True), (("gpupdate.exe", "cmd.exe"), False), ((), False)])
def test_a_conditional_mechanism_is_offered_only_where_its_condition_holds(commands, maintenance):
    """The remote-maintenance mechanism holds only where PsExec's service runs nothing but
    maintenance commands: the IoC's context and the benign alternative quoted its words for a
    session that also ran a shell (the words cited a condition the log contradicts)."""
    from aptnarrate.backends.offline import OfflineNarrator

    lines = [
        "The process: System START_INBOUND the flow: 142.20.57.31,2019-09-25 09:14:02",
        "The process: System WRITE the file: C:\\Windows\\PSEXESVC.exe,2019-09-25 09:14:03",
        "The process: services.exe CREATE the process: PSEXESVC.exe,2019-09-25 09:14:05",
    ]
    lines += [f"The process: PSEXESVC.exe CREATE the process: {c},2019-09-25 09:14:{10 + n:02d}" for n, c in enumerate(commands)]
    facts = inspect_input(("description,timestamp\n" + "\n".join(lines) + "\n").encode())
    report = OfflineNarrator().narrate(facts).narration
    said = " ".join([report.summary] + [claim.legitimate_usage or "" for claim in report.iocs])
    assert ("runs only Windows' maintenance commands" in said) is maintenance


@pytest.mark.parametrize("only", [{"by": ["psexesvc.exe"], "program": ["gpupdate.exe"]}, {"by": ["psexesvc.exe"], "programs": []}, ["psexesvc.exe"]])
def test_a_malformed_starts_only_names_the_mechanism_and_field(only):
    """A misspelt or empty ``starts_only`` left a condition that never holds, silently."""
    from aptnarrate.rules.benign import _starts_only
    from aptnarrate.rules.patterns import RuleFileError

    with pytest.raises(RuleFileError, match=r"benign\.yaml: mechanism 'm', field starts_only: expected 'by' and 'programs'"):
        _starts_only({"id": "m", "starts_only": only})
    assert _starts_only({"id": "m"}) == {}
    assert _starts_only({"id": "m", "starts_only": {"by": ["a.exe"], "programs": ["b.exe"]}}) == {"by": ["a.exe"], "programs": ["b.exe"]}


def test_a_script_host_talking_to_a_neighbour_of_this_host_is_lateral_movement_not_c2():
    lines = []
    for m in range(3):
        lines += [
            f"The process: powershell.exe MESSAGE_OUTBOUND the flow: 142.20.58.20,2019-09-24 11:{m:02d}:02",
            f"The process: powershell.exe MESSAGE_INBOUND the flow: 142.20.57.9,2019-09-24 11:{m:02d}:03",
        ]
    for options in ({}, {"profile": "darpa-optc"}):
        found = _stages(lines, **options)
        assert set(found) == {"Lateral Movement"}, options
        assert found["Lateral Movement"].techniques == ("T1021",)
    # the same exchange by a browser is neither
    assert _stages([line.replace("powershell.exe", "chrome.exe") for line in lines]) == {}


@pytest.mark.parametrize(
    "selection, events",
    [({"subject": ["dpkg"]}, ()), ({"subject": ["dpkg"], "event": "file_write"}, ("file_write",)), ({"subject": ["dpkg"], "event": ["file_write", "execute"]}, ("file_write", "execute"))],
)
def test_a_mechanisms_subject_selection_names_the_event_classes_it_covers(selection, events):
    """A selection naming no event covers every event class of the processes it names
    (``()``, which ``descendant_rows`` reads as all): it gave ``((),)``, which matched none,
    so a ``descendants`` mechanism without an event key covered no descendant's rows."""
    from aptnarrate.rules.benign import Mechanism

    mechanism = Mechanism("m", "says", (), (selection,), descendants=True)
    ((_, named),) = mechanism._subject_selections
    assert named == events


@pytest.mark.parametrize("rule", [r for r in RULES if r.lineage], ids=[r.id for r in RULES if r.lineage])
def test_a_lineage_rules_title_asserts_no_attack_chain(rule):
    # the IoC rank gives a matching rule's title as a reason whatever the lineage (it cannot
    # see the chain): "privilege tool run by an attack chain" was said of an administrator's
    # sudo in a report claiming no stage; a claimed stage's rationale says the chain (the
    # explanation, and the chain's path)
    assert "attack chain" not in rule.title.lower() and "for an attacker" not in rule.title.lower()


def test_an_administrators_sudo_is_not_said_to_be_an_attack_chains():
    facts = inspect_input(Path(__file__).parent / "data" / "handmade" / "trace_admin_sudo.csv")
    reasons = " ".join(r for c in facts.candidates for r in c.reasons)
    assert "privilege tool run" in reasons and "attack chain" not in reasons


@pytest.mark.parametrize(
    "case, routine",
    [
        ("optc_service_host_remote_thread", "thread created in another process"),
        ("optc_h2_defender_scan_lsass", "credential material accessed"),
        ("optc_user_sc_query", "service control tool run"),
    ],
)
def test_a_rule_gated_on_acting_for_an_attacker_gives_no_rank_reason(case, routine):
    # such a rule matches exactly what its ungated twin trusts (a service host's remote
    # threads, Defender opening LSASS, a user's sc.exe); the rank, which knows no attack
    # chain, listed every routine instance with the rule's title and weight
    facts = inspect_input(Path(__file__).parent / "data" / "handmade" / f"{case}.csv")
    reasons = " ".join(r for c in facts.candidates for r in c.reasons).lower()
    assert routine not in reasons


def _miner_then_crontab(crontab_after: bool) -> list[str]:
    """A shell fetches and runs a program, and runs ``crontab`` after it (or an hour before)."""
    crontab_at = "10:30" if crontab_after else "09:00"
    return [
        "The subject_process: sh FORK the subject_process: wget,2020-01-01 10:00:01",
        "The subject_process: wget CONNECT the netflowobject: 198.51.100.7,2020-01-01 10:00:02",
        "The subject_process: wget RECVFROM the netflowobject: 198.51.100.7,2020-01-01 10:00:03",
        "The subject_process: wget WRITE the file_object_file: /tmp/.m/kthreadd2,2020-01-01 10:00:04",
        "The subject_process: sh FORK the subject_process: kthreadd2,2020-01-01 10:01:00",
        "The subject_process: kthreadd2 EXECUTE the file_object_file: /tmp/.m/kthreadd2,2020-01-01 10:01:01",
        f"The subject_process: sh FORK the subject_process: crontab,2020-01-01 {crontab_at}:00",
        f"The subject_process: crontab WRITE the file_object_file: /var/spool/cron/crontabs/tmp.77,2020-01-01 {crontab_at}:01",
    ]


def test_what_a_shell_starts_after_running_a_dropped_program_acts_for_the_attacker():
    # crontab(1) is how users schedule work (a benign mechanism), unless the log shows it
    # acting for an attacker: started by the shell that had just run a fetched program
    found = _stages(_miner_then_crontab(crontab_after=True))
    assert "Maintain Persistence" in found
    assert "`crontab` started by `sh` after it ran `kthreadd2`" in found["Maintain Persistence"].rationale
    # the same shell's crontab an hour before the payload ran is an ordinary edit
    assert "Maintain Persistence" not in _stages(_miner_then_crontab(crontab_after=False))


def test_a_shell_that_ran_a_dropped_program_taints_only_itself_where_processes_have_ids():
    # an edge list names each process: another sh's crontab stays an ordinary edit
    t = 1577872800 * 10**9  # 2020-01-01 10:00 UTC
    rows = [
        f"p1,SUBJECT_PROCESS,sh,EVENT_FORK,{t + 1},p2,SUBJECT_PROCESS,wget",
        f"p2,SUBJECT_PROCESS,wget,EVENT_CONNECT,{t + 2},n1,NetFlowObject,10.0.0.5->198.51.100.7:80",
        f"p2,SUBJECT_PROCESS,wget,EVENT_WRITE,{t + 4},f1,FILE_OBJECT_FILE,/tmp/.m/kthreadd2",
        f"p1,SUBJECT_PROCESS,sh,EVENT_EXECUTE,{t + 60 * 10**9},f1,FILE_OBJECT_FILE,/tmp/.m/kthreadd2",
        f"p9,SUBJECT_PROCESS,sh,EVENT_FORK,{t + 1800 * 10**9},p10,SUBJECT_PROCESS,crontab",
        f"p10,SUBJECT_PROCESS,crontab,EVENT_WRITE,{t + 1801 * 10**9},f2,FILE_OBJECT_FILE,/var/spool/cron/crontabs/tmp.77",
    ]
    header = "subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr\n"

    def stages(edges: list[str]) -> set[str]:
        return {s.stage for s in find_stages(inspect_input((header + "\n".join(edges) + "\n").encode()))}

    assert "Maintain Persistence" not in stages(rows)
    same_shell = [r.replace("p9,SUBJECT_PROCESS,sh", "p1,SUBJECT_PROCESS,sh") for r in rows]
    assert "Maintain Persistence" in stages(same_shell)


def _crontab_e(ran_from: str) -> list[str]:
    """crontab(1) editing a table through its temporary copy, then deleting the copy;
    ``ran_from``: the file the crontab process executed."""
    return [
        "The subject_process: bash FORK the subject_process: crontab,2020-01-01 10:00:01",
        f"The subject_process: crontab EXECUTE the file_object_file: {ran_from},2020-01-01 10:00:01",
        "The subject_process: crontab WRITE the file_object_file: /tmp/crontab.hT7kQz/crontab,2020-01-01 10:00:02",
        "The subject_process: crontab READ the file_object_file: /tmp/crontab.hT7kQz/crontab,2020-01-01 10:01:00",
        "The subject_process: crontab UNLINK the file_object_file: /tmp/crontab.hT7kQz/crontab,2020-01-01 10:01:01",
    ]


def test_a_deleted_file_that_only_shares_a_ran_programs_name_is_a_working_file():
    # the copy /tmp/crontab.X/crontab is not /usr/bin/crontab: the full paths tell them apart
    assert "Covering Tracks" not in _stages(_crontab_e("/usr/bin/crontab"))
    # a process deleting the very file it ran from still erases a program
    assert "Covering Tracks" in _stages(_crontab_e("/tmp/crontab.hT7kQz/crontab"))


def _ansible_push(intruder: bool) -> list[str]:
    """ansible-playbook's ssh reaching six hosts of the site; started by cron's shell, or by
    a shell that had just fetched and run a program (``intruder``)."""
    parent = "sh"
    lines = []
    if intruder:
        lines += [
            "The subject_process: sh FORK the subject_process: wget,2018-04-12 22:10:05",
            "The subject_process: wget CONNECT the netflowobject: 203.0.113.45,2018-04-12 22:10:06",
            "The subject_process: wget WRITE the file_object_file: /tmp/.k/kdev,2018-04-12 22:10:09",
            "The subject_process: sh FORK the subject_process: kdev,2018-04-12 22:10:15",
            "The subject_process: kdev EXECUTE the file_object_file: /tmp/.k/kdev,2018-04-12 22:10:15",
        ]
    lines.append(f"The subject_process: {parent} FORK the subject_process: ansible-playbook,2018-04-12 22:12:02")
    lines.append("The subject_process: ansible-playbook FORK the subject_process: ssh,2018-04-12 22:12:05")
    for i, host in enumerate((21, 34, 48, 52, 77, 90)):
        lines.append(f"The subject_process: ssh CONNECT the netflowobject: 128.55.12.{host},2018-04-12 22:12:{10 + i * 6:02d}")
        lines.append(f"The subject_process: ssh SENDTO the netflowobject: 128.55.12.{host},2018-04-12 22:12:{12 + i * 6:02d}")
    return lines


def test_a_configuration_push_is_no_sweep_unless_an_intruder_runs_it():
    assert "Internal Reconnaissance" not in _stages(_ansible_push(intruder=False), internal_networks=["128.55.12.0/24"])
    found = _stages(_ansible_push(intruder=True), internal_networks=["128.55.12.0/24"])
    assert "Internal Reconnaissance" in found
    assert "after it ran `kdev`" in found["Internal Reconnaissance"].rationale
    # and its ssh sent to each host it reached: sessions, so movement too, not only a sweep
    assert "Lateral Movement" in found
    assert "128.55.12.21" in found["Lateral Movement"].rationale


def _schtasks(task_event: str) -> list[str]:
    return [
        "The process: powershell.exe CREATE the process: schtasks.exe,2019-09-24 16:54:01",
        f"The process: schtasks.exe {task_event} the task: Updater,2019-09-24 16:54:08",
    ]


def test_schtasks_seen_only_deleting_a_task_is_no_persistence():
    assert "Maintain Persistence" not in _stages(_schtasks("DELETE"))
    # the tool creating one, or seen doing nothing else, still schedules work
    assert "Maintain Persistence" in _stages(_schtasks("CREATE"))
    assert "Maintain Persistence" in _stages(_schtasks("CREATE")[:1])


def _rundll32_beacon(loads_what_it_read: bool) -> list[str]:
    lines = [
        "The process: explorer.exe CREATE the process: rundll32.exe,2019-09-24 09:12:02",
        "The process: rundll32.exe READ the file: thumbcache_idx.dat,2019-09-24 09:12:05",
        "The process: rundll32.exe LOAD the module: winhttp.dll,2019-09-24 09:12:08",
        "The process: rundll32.exe START_OUTBOUND the flow: 91.215.85.17,2019-09-24 09:12:10",
    ]
    if loads_what_it_read:
        lines.append("The process: rundll32.exe LOAD the module: thumbcache_idx.dat,2019-09-24 09:12:06")
    for minute in (12, 14, 16, 18):
        lines.append(f"The process: rundll32.exe MESSAGE_OUTBOUND the flow: 91.215.85.17,2019-09-24 09:{minute}:11")
        lines.append(f"The process: rundll32.exe MESSAGE_INBOUND the flow: 91.215.85.17,2019-09-24 09:{minute}:12")
    return lines


def test_a_file_its_reader_loads_as_code_is_not_data_it_sends_off():
    assert "Data Exfiltration" not in _stages(_rundll32_beacon(loads_what_it_read=True))
    assert "Data Exfiltration" in _stages(_rundll32_beacon(loads_what_it_read=False))


def test_a_service_whose_registry_key_the_subgraph_removes_is_no_persistence():
    lines = [
        "The process: services.exe CREATE the service: hXqLmPtR,2019-09-25 11:02:09",
        "The process: services.exe ADD the registry: ImagePath,2019-09-25 11:02:11",
    ]
    assert "Maintain Persistence" in _stages(lines)
    removed = lines + ["The process: services.exe REMOVE the registry: hXqLmPtR,2019-09-25 11:02:25"]
    assert "Maintain Persistence" not in _stages(removed)


def _ssh_session_fetches_a_tool(source: str) -> list[str]:
    return [
        f"The subject_process: sshd ACCEPT the netflowobject: {source},2018-04-12 19:30:02",
        "The subject_process: sshd FORK the subject_process: bash,2018-04-12 19:30:06",
        "The subject_process: bash FORK the subject_process: curl,2018-04-12 19:31:10",
        "The subject_process: curl RECVFROM the netflowobject: 203.0.113.201,2018-04-12 19:31:12",
        "The subject_process: curl WRITE the file_object_file: /var/tmp/.sysupd,2018-04-12 19:31:13",
        "The subject_process: bash FORK the subject_process: .sysupd,2018-04-12 19:31:30",
        "The subject_process: .sysupd EXECUTE the file_object_file: /var/tmp/.sysupd,2018-04-12 19:31:30",
    ]


def test_a_tool_fetched_in_a_session_from_a_site_host_is_movement_not_the_entry():
    site = {"internal_networks": ["128.55.12.0/24"]}
    found = _stages(_ssh_session_fetches_a_tool("128.55.12.110"), **site)
    assert set(found) == {"Lateral Movement"}
    assert found["Lateral Movement"].techniques == ("T1021.004", "T1105")
    assert set(_stages(_ssh_session_fetches_a_tool("198.51.100.210"), **site)) == {"Initial Compromise"}


def test_a_browsers_cache_entry_is_no_delivered_program_where_the_path_shows_it():
    def wrote(path: str) -> dict:
        return _stages([
            "The subject_process: firefox RECVFROM the netflowobject: 151.101.1.69,2018-04-13 16:44:52",
            f"The subject_process: firefox WRITE the file_object_file: {path},2018-04-13 16:44:55",
        ])

    assert "Initial Compromise" not in wrote("/home/a/.cache/mozilla/firefox/x.default/cache2/entries/0B3D9F2A61")
    assert "Initial Compromise" in wrote("/tmp/0B3D9F2A61")


def _shell_fetch(parent_line: str | None) -> list[str]:
    """A bash runs wget, which fetches a program from a public address; bash runs it.
    ``parent_line``: a row starting that bash (or None: the log shows no parent)."""
    lines = [parent_line] if parent_line else []
    return lines + [
        "The subject_process: bash FORK the subject_process: wget,2020-01-01 10:00:01",
        "The subject_process: wget CONNECT the netflowobject: 198.51.100.7,2020-01-01 10:00:02",
        "The subject_process: wget RECVFROM the netflowobject: 198.51.100.7,2020-01-01 10:00:03",
        "The subject_process: wget WRITE the file_object_file: /tmp/.k/kdev,2020-01-01 10:00:04",
        "The subject_process: bash EXECUTE the file_object_file: /tmp/.k/kdev,2020-01-01 10:00:10",
    ]


def test_a_shells_fetch_is_ingress_tool_transfer_unless_the_log_shows_the_way_in():
    found = _stages(_shell_fetch(None))
    assert "Initial Compromise" not in found
    assert "Ingress Tool Transfer" in found["Command and Control"].rationale
    assert found["Command and Control"].techniques == ("T1105",)
    # a server that accepted a request started the shell: the fetch is the compromise's step
    server = ["The subject_process: java ACCEPT the netflowobject: 203.0.113.9,2020-01-01 09:59:50"]
    found = _stages(server + _shell_fetch("The subject_process: java FORK the subject_process: bash,2020-01-01 09:59:55"))
    assert "Initial Compromise" in found and "Command and Control" not in found
    # cron starting a bash of that name an hour later is no parent of the earlier fetch
    later = _shell_fetch(None) + ["The subject_process: cron FORK the subject_process: bash,2020-01-01 11:00:00"]
    assert "Initial Compromise" not in _stages(later)
    # cron starting it before the fetch shows how it ran: a scheduled job, not an operator
    earlier = _shell_fetch("The subject_process: cron FORK the subject_process: bash,2020-01-01 09:59:00")
    assert "Initial Compromise" in _stages(earlier)


def test_a_fetch_below_a_shown_entry_joins_it():
    # a macro's shell fetching the tool: the entry is another finding, the fetch its step
    macro = [
        "The process: WINWORD.EXE READ the file: Invoice.docm,2019-09-24 14:09:40",
        "The process: WINWORD.EXE CREATE the process: cmd.exe,2019-09-24 14:09:55",
        "The process: cmd.exe CREATE the process: certutil.exe,2019-09-24 14:10:01",
        "The process: certutil.exe START_OUTBOUND the flow: 185.220.101.4,2019-09-24 14:10:03",
        "The process: certutil.exe CREATE the file: wupd.exe,2019-09-24 14:10:07",
        "The process: cmd.exe CREATE the process: wupd.exe,2019-09-24 14:10:15",
    ]
    found = _stages(macro)
    assert "Command and Control" not in found
    assert "(a downloaded tool)" in found["Initial Compromise"].rationale
    found = _stages(macro[2:])
    assert "Initial Compromise" not in found and "Command and Control" in found


# the indicator kinds grounding reads in a claim's text and checks against the log: a rule
# explanation or mechanism wording that names one the log lacks gets its claim dropped (a
# CVE-named rule whose explanation gave two CVE ids as examples fired and reported nothing)
_INDICATOR_READERS = ("addresses", "ports", "dates", "numeric_dates", "clocks", "hours", "urls", "domains", "hashes", "cves")


def _indicators_named(text: str) -> dict[str, list]:
    from aptnarrate.grounding import mentions

    return {kind: found for kind in _INDICATOR_READERS if (found := getattr(mentions, kind)(text))}


def test_the_indicator_guard_reads_what_grounding_reads():
    assert _indicators_named("named after a CVE (cve-2017-16995, CVE-2021-4034) as exploits are") == {"cves": ["CVE-2017-16995", "CVE-2021-4034"]}
    assert _indicators_named("a beacon to 203.0.113.9 every minute")["addresses"] == ["203.0.113.9"]
    assert _indicators_named("a program named after a vulnerability's CVE identifier") == {}


def test_rule_explanations_and_mechanism_wording_name_no_indicator():
    from aptnarrate.rules.benign import mechanisms

    texts = [(rule.id, rule.explanation) for rule in builtin_rules()] + [(m.id, m.says) for m in mechanisms()]
    assert {name: found for name, text in texts if (found := _indicators_named(text))} == {}


def test_an_app_servers_planted_key_names_only_the_shells_that_server_started():
    """Jenkins' java heard an outside host and started sh, which wrote authorized_keys; a
    node service that heard nobody started bash, which wrote one too. The entry names sh,
    the shell the exploited server started, not bash (the reason named every key-writing
    shell of an interpreter, whoever's)."""
    lines = [
        "The subject_process: java ACCEPT the netflowobject: 91.214.124.77,2018-04-10 22:14:30",
        "The subject_process: java RECVFROM the netflowobject: 91.214.124.77,2018-04-10 22:14:30",
        "The subject_process: java EXECUTE the file_object_file: sh,2018-04-10 22:14:31",
        "The subject_process: sh WRITE the file_object_file: authorized_keys,2018-04-10 22:14:32",
        "The subject_process: node EXECUTE the file_object_file: bash,2018-04-10 22:15:01",
        "The subject_process: bash WRITE the file_object_file: authorized_keys,2018-04-10 22:15:02",
    ]
    entry = _stages(lines)["Initial Compromise"]
    assert "and then started `sh`, which wrote" in entry.rationale
    assert "`bash`" not in entry.rationale.split("which wrote")[0]
