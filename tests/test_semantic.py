"""Semantic grounding: a stage claim must cite rows whose events can support the stage."""

from __future__ import annotations

import json
import os

import pytest
from llm_server import llm_server, ok  # noqa: F401  (pytest fixture)
from scripted import example_facts

from aptnarrate import examples, narrate
from aptnarrate.grounding import ground, semantic
from aptnarrate.models import APT_STAGES, Narration, StageClaim
from aptnarrate.rules.events import vocabulary
from aptnarrate.grounding.semantic import SupportTableError, parse_support_table, support_table

SECRET = "test-key-semantic"
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")


@pytest.fixture(autouse=True)
def no_settings_from_the_shell(monkeypatch):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)


@pytest.fixture(scope="module")
def dropper():
    return example_facts("dropper")


def rows_where(facts, test) -> list[str]:
    log, desc = facts.timeline.log, facts.timeline.descriptions
    found = []
    for ident, code in zip(log["id"], log["description"]):
        row = desc.row(int(code))
        if test(row["action"], row["object_kind"], row["object_name"], row["subject_name"]):
            found.append(ident)
    return found


def file_reads(facts) -> list[str]:
    return rows_where(facts, lambda action, kind, name, subject: action == "READ" and kind == "file")


def claim(stage: str, evidence: list[str]) -> StageClaim:
    return StageClaim(stage=stage, confidence="high", evidence=evidence, rationale="Claimed.")


# --------------------------------------------------------------------------- the table


def test_the_table_covers_every_stage_with_declared_event_classes():
    table = support_table()
    assert set(table.supports) == set(APT_STAGES)
    declared = set(vocabulary().classes)
    for stage in APT_STAGES:
        assert table.classes(stage) <= declared
        assert set(table.story[stage]) <= declared


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"stages": {"Command and Control": {"supports": ["network_outbound"]}}}, "not declared in events.yaml"),
        ({"stages": {"Beaconing": {"supports": ["network_out"]}}}, "not one of the APT stages"),
        ({"stages": {"Maintain Persistence": {"supports": ["file_write: somewhere"]}}}, "unknown condition"),
        ({"stages": {"Command and Control": {"supports": ["network_out"]}}}, "no entry for stage"),
    ],
)
def test_a_malformed_table_is_an_error_naming_what_is_wrong(raw, message):
    with pytest.raises(SupportTableError, match=message):
        parse_support_table(raw)


def test_remote_share_paths_are_the_tables_and_a_malformed_one_is_named():
    # the shipped patterns: another host's admin share, by UNC path or the redirector's
    paths = support_table().remote_share_paths
    assert paths.search("\\\\142.20.57.33\\C$\\Windows\\Temp\\tool.exe")
    assert paths.search("\\Device\\Mup\\host12.corp.local\\ADMIN$\\svc.exe")
    assert not paths.search("\\\\fs01\\public\\setup.exe") and not paths.search("C:\\Windows\\Temp\\tool.exe")
    stages = {stage: {"supports": ["network_out"]} for stage in APT_STAGES}
    with pytest.raises(SupportTableError, match="remote_shares.paths"):
        parse_support_table({"stages": stages, "remote_shares": {"paths": ["(unclosed"]}})


# --------------------------------------------------------------------------- the rule, per stage


def test_command_and_control_needs_network_rows(dropper):
    reads = file_reads(dropper)
    network = rows_where(dropper, lambda action, kind, name, subject: kind == "flow" and action in ("CONNECT", "SENDTO"))
    assert reads and network
    reason = semantic.unsupported_reason("Command and Control", reads, dropper)
    assert reason and "network_out" in reason and "file_read" in reason
    assert semantic.unsupported_reason("Command and Control", reads + network[:1], dropper) is None
    assert semantic.unsupported_reason("Data Exfiltration", reads, dropper) is not None
    assert semantic.unsupported_reason("Lateral Movement", reads, dropper) is not None


def test_covering_tracks_needs_a_delete_rename_or_truncate(dropper):
    writes = rows_where(dropper, lambda action, kind, name, subject: action == "WRITE" and name == "invoice.pdf.sh")
    unlinks = rows_where(dropper, lambda action, kind, name, subject: action == "UNLINK")
    assert writes and unlinks
    assert semantic.unsupported_reason("Covering Tracks", writes, dropper) is not None
    assert semantic.unsupported_reason("Covering Tracks", unlinks, dropper) is None


def test_maintain_persistence_needs_a_write_to_a_persistence_location(dropper):
    cron = rows_where(dropper, lambda action, kind, name, subject: action == "WRITE" and subject == "crontab")
    plain = rows_where(dropper, lambda action, kind, name, subject: action == "WRITE" and name == "invoice.pdf.sh")
    assert cron and plain
    assert semantic.unsupported_reason("Maintain Persistence", cron, dropper) is None
    reason = semantic.unsupported_reason("Maintain Persistence", plain, dropper)
    assert reason and "file_write to a persistence location" in reason


def test_planted_configuration_a_daemon_read_before_running_its_program_is_a_persistence_location(tmp_path):
    """A udev rule has no persistence name; the log shows it acting as one: planted with a
    program, read by udevd, which then runs that program. Written alone, it is no such place."""
    from test_facts import facts_from, proc

    def rows(read_then_run: bool):
        planted = [
            proc("implant", "WRITE", "file_object_file", "usbmon", "2018-04-12 13:10:01"),
            proc("implant", "WRITE", "file_object_file", "61-usbmon.rules", "2018-04-12 13:10:02"),
        ]
        trigger = [
            proc("systemd-udevd", "READ", "file_object_file", "61-usbmon.rules", "2018-04-12 13:20:01"),
            proc("systemd-udevd", "EXECUTE", "file_object_file", "usbmon", "2018-04-12 13:20:02"),
        ]
        return planted + (trigger if read_then_run else [])

    for read_then_run, path in ((True, tmp_path / "trigger"), (False, tmp_path / "planted")):
        path.mkdir()
        facts = facts_from(path, rows(read_then_run))
        rule_write = rows_where(facts, lambda action, kind, name, subject: action == "WRITE" and name == "61-usbmon.rules")
        assert len(rule_write) == 1
        reason = semantic.unsupported_reason("Maintain Persistence", rule_write, facts)
        assert (reason is None) is read_then_run, reason


def test_ground_drops_the_unsupported_claim_and_keeps_the_supported_one(dropper):
    unlinks = rows_where(dropper, lambda action, kind, name, subject: action == "UNLINK")
    narration = Narration(
        stages=[claim("Command and Control", file_reads(dropper)), claim("Covering Tracks", unlinks)],
        iocs=[],
        summary="",
    )
    cleaned, dropped = ground.prune(narration, dropper)
    assert [s.stage for s in cleaned.stages] == ["Covering Tracks"]
    assert [(d.kind, d.item) for d in dropped] == [("stage", "Command and Control")]
    assert "no event that can support" in dropped[0].reason


def test_rows_of_an_unknown_action_are_never_the_reason_for_a_drop(tmp_path):
    from test_facts import facts_from, proc

    facts = facts_from(tmp_path, [
        proc("agent", "FROBNICATE", "netflowobject", "8.8.8.8", "2018-04-12 13:10:01"),
        proc("agent", "READ", "file_object_file", "notes.txt", "2018-04-12 13:11:01"),
    ])
    unknown, read = facts.timeline.log["id"].tolist()
    assert semantic.unsupported_reason("Command and Control", [unknown], facts) is None
    assert semantic.unsupported_reason("Command and Control", [read], facts) is not None


# --------------------------------------------------------------------------- through the real client


def llm(server) -> dict:
    return {"base_url": server.url, "api_key": SECRET}


def good_answer() -> dict:
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "responses", "dropper.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["response"]


def with_c2_on_file_reads(answer: dict, reads: list[str]) -> dict:
    bad = json.loads(json.dumps(answer))
    for stage in bad["stages"]:
        if stage["stage"] == "Command and Control":
            stage["evidence"] = reads[:3]
            stage["rationale"] = "The process read files, which is how it talks to its controller."
    assert any(s["stage"] == "Command and Control" for s in bad["stages"])
    return bad


def test_c2_citing_only_file_reads_is_reasked_then_dropped_and_listed(llm_server, dropper):  # noqa: F811
    bad = with_c2_on_file_reads(good_answer(), file_reads(dropper))
    llm_server.enqueue(*[ok(bad)] * 3)  # the answer and both re-asks
    report = narrate(examples.path("dropper"), backend="openai", llm=llm(llm_server), dotenv=None)
    assert len(llm_server.requests) == 3
    reask = llm_server.requests[1].body["messages"][-1]["content"]
    assert "stage 'Command and Control'" in reask and "no event that can support this stage" in reask
    assert "Command and Control" not in [s.stage for s in report.stages]
    dropped = [d for d in report.metadata.dropped if d.item == "Command and Control"]
    assert dropped and dropped[0].kind == "stage" and "network_out" in dropped[0].reason
    # the other stages, which cite rows that can support them, survive
    assert [s.stage for s in report.stages] == [s["stage"] for s in bad["stages"] if s["stage"] != "Command and Control"]


def test_c2_citing_only_file_reads_is_reasked_and_the_correction_is_used(llm_server, dropper):  # noqa: F811
    answer = good_answer()
    llm_server.enqueue(ok(with_c2_on_file_reads(answer, file_reads(dropper))), ok(answer))
    report = narrate(examples.path("dropper"), backend="openai", llm=llm(llm_server), dotenv=None)
    assert len(llm_server.requests) == 2
    assert "Command and Control" in [s.stage for s in report.stages]
    assert report.metadata.dropped == []
    assert report.metadata.usage.reasks == 1


# --------------------------------------------------------------------------- rules and screen agree


class _PathsOf:
    """Facts that know one candidate's full paths (``is_persistence_location`` reads them)."""

    def __init__(self, paths):
        self.paths = paths

    def candidate(self, name):
        return type("Candidate", (), {"full_values": list(self.paths) or [name]})()


def _screened(stage: str, subject: str, action: str, object_kind: str, name: str, paths, subject_kind: str = "process") -> bool:
    """Whether the stage-support screen lets one event support ``stage``."""
    from aptnarrate.grounding.semantic import RowEvent, event_class, supports

    event = RowEvent(
        id="L1", position=0, minute=0, subject_kind=subject_kind, subject_name=subject, action=action.upper(),
        object_kind=object_kind, object_name=name, event_class=event_class(action.upper(), object_kind),
    )
    return supports(stage, event, _PathsOf(paths))


def _persistence_programs():
    """Every program a Maintain Persistence rule names as started (``object: [...]`` beside a
    process_start or execute event), not only those its examples show."""
    from aptnarrate.rules.patterns import builtin_rules

    found = []
    for rule in builtin_rules():
        if rule.stage != "Maintain Persistence":
            continue
        for selection in rule.match:
            events = selection.get("event") or []
            if {"execute", "process_start"} & set(events if isinstance(events, list) else [events]):
                found += [(rule.id, name) for name in selection.get("object") or []]
    return found


@pytest.mark.parametrize("rule_id, program", _persistence_programs(), ids=lambda v: v)
def test_every_program_a_persistence_rule_names_passes_the_screen(rule_id, program):
    """``at.exe`` started by a macro's shell matched the scheduled-task rule, then the
    screen, which knew ``at`` (Unix) and ``schtasks.exe`` but not ``at.exe``, dropped it."""
    assert _screened("Maintain Persistence", "cmd.exe", "CREATE", "process", program, [program]), (rule_id, program)


def _examples_outside_network_stages():
    """Every rule's positive examples, but for the stages whose claims need a network row
    (Command and Control, Lateral Movement, Data Exfiltration: a rule there cites one with
    its match, ``needs``, or claims nothing)."""
    from aptnarrate.rules.patterns import builtin_rules

    network = {"Command and Control", "Lateral Movement", "Data Exfiltration"}
    return [(rule.id, rule.stage, example) for rule in builtin_rules() if rule.stage and rule.stage not in network for example in rule.examples.positive]


@pytest.mark.parametrize("rule_id, stage, example", _examples_outside_network_stages(), ids=lambda v: v if isinstance(v, str) else v.object or v.subject)
def test_every_rules_positive_example_passes_its_stages_screen(rule_id, stage, example):
    """A rule's claim that the stage-support screen rejects never reaches the report: a
    systemd unit (``*.service``), a persistence tool started (schtasks.exe, sc.exe) and WMI's
    script consumer starting a program were claimed, then dropped; so were a dump written as
    ``lsass.dmp`` (created, no write in the subgraph), a hive saved as ``sam.hiv`` and a UAC
    bypass's handler written to the registry, for Privilege Escalation, whose screen knew
    neither file_create nor registry_write."""
    from aptnarrate.rules.patterns import example_row

    paths = example_row(example).object_paths
    assert _screened(stage, example.subject, example.action, example.object_kind, example.object, paths, example.subject_kind), rule_id


def test_every_condition_can_be_described_in_a_rejection():
    """A rejected claim says what its stage needs, condition by condition: a condition added
    to the table without words made every rejected Covering Tracks claim raise KeyError."""
    from aptnarrate.grounding import semantic

    assert set(semantic._CONDITION_WORDS) == set(semantic.CONDITIONS)
    table = semantic.support_table()
    for stage, entries in table.supports.items():
        for cls, condition in entries:
            assert semantic._describe(cls, condition).startswith(cls)


def test_the_autostart_rule_and_the_screen_read_the_same_keys():
    """``autostart_launches_attack_program`` claims a Run-key entry from a read of these
    keys, and the screen must accept that read as touching a persistence location: the
    rule's list and stage_support.yaml's registry_keys are one list kept in two places."""
    from aptnarrate.grounding import semantic
    from aptnarrate.rules import structural

    assert structural.AUTOSTART_KEYS == semantic.support_table().persistence_keys


def test_a_start_of_the_event_log_tool_supports_covering_tracks():
    """``wevtutil cl`` asks the event-log service to clear a log: its start is what the
    Covering Tracks finding (``event_logs_cleared_by_the_service``) rests on, beside the
    service's write. A start of another program, or a row by the service alone, does not
    support the stage."""
    assert _screened("Covering Tracks", "cmd.exe", "CREATE", "process", "wevtutil.exe", ())
    assert not _screened("Covering Tracks", "cmd.exe", "CREATE", "process", "notepad.exe", ())
    assert not _screened("Covering Tracks", "svchost.exe", "MODIFY", "file", "Security.evtx", ())


def test_the_cron_spool_rule_and_the_screen_read_the_same_schedulers():
    """``cron_reads_planted_table`` claims persistence from a scheduler's read and its job's
    start, and the screen must accept a scheduler's rows as persistence rows: the rule's
    ``CRON_DAEMONS`` and stage_support.yaml's hosts are one list kept in two places. A job
    scheduler's start of a program supports the stage; a shell's start of the same does not."""
    from aptnarrate.grounding import semantic
    from aptnarrate.rules import structural

    assert structural.CRON_DAEMONS <= semantic.support_table().persistence_hosts
    assert _screened("Maintain Persistence", "cron", "CLONE", "process", "sh", ())
    assert not _screened("Maintain Persistence", "bash", "CLONE", "process", "sh", ())


@pytest.mark.parametrize(
    ("subject", "name", "supported"),
    [
        ("shred", "auth.log", True),
        ("shred", "wtmp", True),
        ("sh", "syslog", True),
        ("bash", "lastlog", True),
        ("bash", ".bash_history", False),  # a shell saves its own history as it exits
        ("rsyslogd", "syslog", False),  # the logging daemon writes its logs
        ("sh", "notes.txt", False),
        ("shred", "notes.txt", False),
    ],
)
def test_covering_tracks_takes_a_log_written_over_by_a_shell_or_a_shredder(subject, name, supported):
    """A write can support Covering Tracks where a shell or a secure-delete tool writes over a
    log or the login records (the knowledge base's ``log file`` and ``login records``): the rules
    ``covering-tracks-log-shredded`` and ``-log-overwritten-by-shell`` cite such rows, and a
    model's claim citing them must survive the screen too; the logging daemon's own writes and
    a shell's history do not."""
    assert _screened("Covering Tracks", subject, "WRITE", "file", name, ()) is supported


def test_the_screen_and_the_log_overwrite_rules_read_one_list_of_login_records():
    """The login records were listed three times (stage_support.yaml's ``log_overwrites`` and
    both log-overwrite rules) beside the knowledge base's login-accounting entry, and the lists
    differed: ``utx.active`` (FreeBSD's current logins) was known but neither rule nor the
    screen took a shredder writing over it. Now every name of the knowledge base's ``login
    records`` is one the screen and both rules take, from that one list."""
    from aptnarrate.preprocess.knowledge import _index
    from aptnarrate.rules.patterns import Row, builtin_rules, rule_matches

    records = sorted(name for (kind, name), entry in _index().exact.items() if kind == "file" and entry.category == "login records")
    assert {"wtmp", "btmp", "lastlog", "utmp", "utx.active"} <= set(records)
    rules = {rule.id: rule for rule in builtin_rules()}
    for name in records:
        assert _screened("Covering Tracks", "shred", "WRITE", "file", name, ()), name
        assert rule_matches(rules["covering-tracks-log-shredded"], Row("shred", "WRITE", name)), name
        assert rule_matches(rules["covering-tracks-log-overwritten-by-shell"], Row("bash", "WRITE", name)), name
