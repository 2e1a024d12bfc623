"""Grounding under attack (issue 6): mentions that hide from the scanners, names that
break them, scanners that an attacker can make slow, and stages argued from what the
input lacks."""

from __future__ import annotations

import time

import pytest
from scripted import example_facts

from aptnarrate import examples, narrate
from aptnarrate.grounding import mentions
from aptnarrate.backends.offline import OfflineNarrator
from aptnarrate.grounding.ground import Vocabulary, check, prune
from aptnarrate.models import IoCClaim, Narration, StageClaim

# dropper.csv: 203.0.113.45 and 198.51.100.23 are its addresses, 2025-05-14 09:12-09:43 its
# minutes; it holds no port, URL, domain, hash, CVE id or registry key
KNOWN_IP = "203.0.113.45"


@pytest.fixture(scope="module")
def facts():
    return example_facts("dropper")


@pytest.fixture(scope="module")
def vocab(facts):
    return Vocabulary(facts)


def _narration(facts, summary="", stages=None) -> Narration:
    top = facts.candidates[0]
    return Narration(
        stages=stages
        if stages is not None
        else [StageClaim(stage="Initial Compromise", confidence="high", evidence=top.evidence[:2], rationale="It ran.")],
        iocs=[IoCClaim(ioc=top.value, legitimate_usage="Not a known file.", likelihood="high", rationale="Written then run.")],
        summary=summary,
    )


# --------------------------------------------------------------------------- 1. stage rationales


def test_a_stage_whose_rationale_cites_an_absent_address_is_dropped_not_kept(facts):
    ids = list(facts.timeline.log["id"])
    stages = [
        StageClaim(stage="Command and Control", confidence="high", evidence=ids[:2], rationale=f"Beacons to {KNOWN_IP}."),
        StageClaim(stage="Data Exfiltration", confidence="high", evidence=ids[:2], rationale="Data sent to 198.51.100.77."),
    ]
    cleaned, dropped = prune(_narration(facts, stages=stages), facts)
    assert [s.stage for s in cleaned.stages] == ["Command and Control"]
    assert [(d.kind, d.item) for d in dropped] == [("stage", "Data Exfiltration")]
    assert "198.51.100.77" in dropped[0].reason


# --------------------------------------------------------------------------- 7. blind spots

UNGROUNDED = [
    ("It beaconed to 203[.]0[.]113[.]99 as well.", "address 203.0.113.99"),
    ("It beaconed to 203(.)0(.)113(.)99 as well.", "address 203.0.113.99"),
    ("It beaconed to 203[dot]0[dot]113[dot]99 as well.", "address 203.0.113.99"),
    ("It beaconed to 203.000.113.099 as well.", "address 203.0.113.99"),
    ("It beaconed to 3405803875 as well.", "address 203.0.113.99"),
    ("It beaconed to 0xCB007163 as well.", "address 203.0.113.99"),
    ("It beaconed to \uff12\uff10\uff13.\uff10.\uff11\uff11\uff13.\uff19\uff19 as well.", "address 203.0.113.99"),
    ("It beaconed to \u0662\u0660\u0663.\u0660.\u0661\u0661\u0663.\u0669\u0669 as well.", "address 203.0.113.99"),
    ("It beaconed to 203.0\u200b.113.99 as well.", "address 203.0.113.99"),
    ("It beaconed to 2\u200d03.0.113.\u206099 as well.", "address 203.0.113.99"),
    ("It fetched hxxp://203.0.113.99/stage2 first.", "address 203.0.113.99"),
    ("It fetched http://update.evil-example.com/stage2 first.", "URL http://update.evil-example.com/stage2"),
    ("It fetched hxxps://update[.]evil-example[.]com/a first.", "URL https://update.evil-example.com/a"),
    ("It resolved c2.evil-example.com first.", "domain c2.evil-example.com"),
    ("Its MD5 is d41d8cd98f00b204e9800998ecf8427e here.", "hash d41d8cd98f00b204e9800998ecf8427e"),
    ("Its SHA-1 is da39a3ee5e6b4b0d3255bfef95601890afd80709 here.", "hash da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    (
        "Its SHA-256 is E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855 here.",
        "hash e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
    ("It exploited CVE-2021-44228 first.", "vulnerability id CVE-2021-44228"),
    ("It finished at 11pm that night.", "time 11pm"),
    ("It finished at 11 p.m.", "time 11 p.m."),
    ("This happened on 12/04/2018 too.", "date 12/04/2018"),
    ("This happened on 12.04.2018 too.", "date 12.04.2018"),
    ("It set HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater for persistence.", "registry key HKLM\\Software"),
    ("It listened on port 4444 afterwards.", "port port 4444"),
    (f"It connected to {KNOWN_IP}:4444 afterwards.", "port 203.0.113.45:4444"),
    # quoting a model may use: curly quotes, escaped backticks, Markdown's _emphasis_
    ("It dropped \u201cevil_fake.exe\u201d there.", "file name evil_fake.exe"),
    ("It dropped \u2018C:\\Temp\\fakelib.dll\u2019 there.", "file name C:\\Temp\\fakelib.dll"),
    ("It dropped \u00abevil_fake.exe\u00bb there.", "file name evil_fake.exe"),
    ("It dropped \\`evil_fake.exe\\` there.", "file name evil_fake.exe"),
    ("It beaconed to _203.0.113.99_ as well.", "address 203.0.113.99"),
    # programs named bare: no path, no ".exe", no quotes (data/program_names.yaml)
    ("The attacker then ran mimikatz.", "program mimikatz"),
    ("It was a PowerShell stager.", "program PowerShell"),
    ("It pivoted with PsExec and netcat.", "program PsExec; program netcat"),
    ("A python3 one-liner spawned it.", "program python3"),
]


@pytest.mark.parametrize("sentence, problem", UNGROUNDED, ids=[p for _, p in UNGROUNDED])
def test_each_disguised_ungrounded_mention_is_flagged_and_its_sentence_dropped(facts, sentence, problem):
    good = f"{facts.candidates[0].value} was written and executed."
    narration = _narration(facts, summary=f"{good} {sentence}")
    issues = check(narration, facts)
    assert [i.kind for i in issues] == ["summary"], issues
    assert problem in issues[0].reason
    cleaned, dropped = prune(narration, facts)
    assert cleaned.summary == good
    assert [d.item for d in dropped] == [sentence]


@pytest.mark.parametrize(
    "prose",
    [
        f"It beaconed to 203[.]0[.]113[.]45, i.e. {KNOWN_IP} written defanged.",
        "It beaconed to 203.000.113.045 and 3405803821 and 0xCB00712D (the same address).",
        "It beaconed to \uff12\uff10\uff13.\uff10.\uff11\uff11\uff13.\uff14\uff15 and 203.0\u200b.113.45.",
        "It started around 9am and ended by 9:43 a.m. on 05/14/2025 (14.05.2025).",
        "The activity, e.g. read/write calls over TCP/IP, used version 1.2.3 of nothing, 2.5 times per minute.",
        "Connections over TCP/IP and UDP happened 24/7; see RFC 1918 and ISO 8601 for the formats.",
        f"It wrote \u201cinvoice.pdf.sh\u201d, \\`update.sh\\` and _update.sh_, then beaconed to _{KNOWN_IP}_.",
        # programs the input shows: a name (thunderbird, crontab: "cron"), a script's extension
        # (update.sh: "bash"); prose words that are also programs are not read as programs
        "Thunderbird saved it and a bash script ran; a cron job followed, and sh ran whoami.",
        "The host found the date with a ping sweep, then the service at the last login sorted users.",
        # knowledge-base programs named by English words (VS Code, Zoom, Slack, Signal, Snap,
        # Acrobat, Aptitude, Caddy, UAC's consent): "program code" was flagged in a fixture's
        # narrative once VS Code's code.exe joined the knowledge base
        "The program code ran with no signal to zoom in on; slack checks, a snap decision, an"
        " acrobat's aptitude, the caddy's consent, a discord, a notion and a telegram.",
        # and Mozilla's updater: "the application's updater" is prose, as are the Linux
        # desktop's Steam, Totem, Empathy, Pidgin and duplicity
        "The application's updater replaced its files.",
        "The campaign gained steam: a totem of duplicity, without empathy, in pidgin English.",
        # Windows' kernel pseudo-processes (Registry, MemCompression) are not in the knowledge
        # base: "the registry" is prose
        "It read the registry, then the store, the broker and the photos.",
        # Puppet's agent and Postfix's master: "the puppet master" is prose
        "The attacker was the puppet master of the whole operation.",
        # PostgreSQL's old server name: "the postmaster" is a mail administrator
        "The phishing mail claimed to come from the site's postmaster.",
        # package managers named by words (RubyGems, Cargo, Yarn)
        "The cargo was a gem of a find, spun from a yarn about the campaign.",
        # Ubuntu's old init: "an upstart group" is prose
        "An upstart group ran the campaign.",
        "It talked to a host in this host's /16 (a /24 was not seen).",
    ],
)
def test_grounded_mentions_in_any_spelling_and_ordinary_prose_pass(vocab, prose):
    assert vocab.mentions(prose) == []


def test_scanners_read_through_defanging_digits_and_invisible_characters():
    assert mentions.normalise("hxxps://evil[.]example[dot]com") == "https://evil.example.com"
    assert mentions.addresses("\u0661\u0660.\u0660.\u0660.\u0661 and 10\u200b.0.0.2") == ["10.0.0.1", "10.0.0.2"]
    assert [h for _, h in mentions.hours("at 11pm, 9 AM and 12 a.m.")] == ["23", "09", "00"]
    assert [r for _, r in mentions.numeric_dates("12/04/2018 and 31/12/2018")] == [
        [(12, 4, 2018), (4, 12, 2018)],
        [(12, 31, 2018)],
    ]


# --------------------------------------------------------------------------- 8. names with spaces


def dropper_renamed(tmp_path_factory, name: str, new_path: str):
    """The dropper example (edge list) with its dropped file ``/tmp/invoice.pdf.sh`` renamed."""
    text = examples.path("dropper").with_suffix("").with_suffix(".edges.csv").read_text(encoding="utf-8")
    path = tmp_path_factory.mktemp(name) / f"{name}.edges.csv"
    path.write_text(text.replace("/tmp/invoice.pdf.sh", new_path), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def spaced_input(tmp_path_factory):
    """The dropper example with its dropped file renamed to ``/tmp/New Invoice.sh``."""
    return dropper_renamed(tmp_path_factory, "spaced", "/tmp/New Invoice.sh")


def test_a_file_name_with_a_space_stays_in_the_offline_summary(spaced_input):
    report = narrate(spaced_input, backend="offline", dotenv=None)
    assert report.metadata.dropped == []
    assert "New Invoice.sh" in report.summary
    assert "Initial Compromise" in [s.stage for s in report.stages]
    assert "`New Invoice.sh`" in report.to_markdown()


def test_a_spaced_name_is_matched_whole_but_an_unknown_tail_is_not(spaced_input):
    from aptnarrate.pipeline import inspect_input

    vocab = Vocabulary(inspect_input(spaced_input))
    assert vocab.mentions("It wrote /tmp/New Invoice.sh, then New Invoice.sh ran (New Invoice.sh).") == []
    assert vocab.mentions("It wrote Old Invoice.sh.") == ["file name Invoice.sh"]


# --------------------------------------------------------------------------- the offline narrator


@pytest.mark.parametrize("case", ["benign", "dropper", "exfil"])
@pytest.mark.parametrize("fmt", ["", ".edges"])
def test_the_offline_narration_of_every_example_grounds_with_zero_drops(case, fmt):
    # every corpus case is checked the same way in test_corpus_reports (metadata.dropped == [])
    from aptnarrate.pipeline import inspect_input

    facts = inspect_input(examples.path(case).with_suffix("").with_suffix(f"{fmt}.csv"))
    assert check(OfflineNarrator().narrate(facts).narration, facts) == []


# --------------------------------------------------------------------------- 2. linear scanners

HOSTILE_TEXTS = {
    "long name": "a" * 100_000 + ".sh",
    "long name with dots": "x." * 50_000 + "exe",
    "long path": "/a" * 50_000 + ".so.1",
    "shared objects": ".so.1" * 20_000,
    "digits and spaces": "1" + " " * 100_000,
    "colons": "1:" * 50_000,
    "dots and digits": "1." * 50_000,
    "hex": "a" * 100_000,
    "backticks": "`" * 1000 + "x" * 99_000,
    "brackets": "[.]" * 33_000,
    "registry": "HKLM" + "\\a" * 50_000,
    "stage names": "no Lateral Movement but " * 4_000,
    "program words": "mimikatz " * 10_000,
    "quoted file names": "".join(f"`f{i}.sh` " for i in range(10_000)),
}


def test_every_scanner_is_linear_on_hostile_text(vocab):
    slow = {}
    for name, text in HOSTILE_TEXTS.items():
        started = time.process_time()  # CPU time: a busy CI machine does not make it flaky
        vocab.checked(f"It ran `{text}` and {text}.")  # mentions and the stages it asserts
        slow[name] = round(time.process_time() - started, 2)
    assert all(seconds < 1.0 for seconds in slow.values()), f"grounding 100k-character texts is too slow: {slow}"


def test_a_100k_character_name_reports_in_well_under_5_seconds(tmp_path, capsys):
    from aptnarrate.cli import main

    long_name = "u" * 100_000  # no extension: the old file-name pattern backtracked on it for minutes
    text = examples.path("dropper").with_suffix("").with_suffix(".edges.csv").read_text(encoding="utf-8")
    path = tmp_path / "long.edges.csv"
    path.write_text(text.replace("/tmp/.cache/update.sh", f"/tmp/.cache/{long_name}"), encoding="utf-8")
    wall, cpu = time.perf_counter(), time.process_time()
    code = main(["report", str(path), "--backend", "offline", "--env-file", ""])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    markdown = capsys.readouterr().out
    assert code == 0 and long_name in markdown
    assert cpu < 5.0, f"a 100k-character name took {cpu:.1f} s of CPU ({wall:.1f} s wall)"


# --------------------------------------------------------------------------- names holding backticks


@pytest.fixture(scope="module")
def backtick_input(tmp_path_factory):
    """The dropper example with its dropped file renamed to one holding a backtick."""
    return dropper_renamed(tmp_path_factory, "backtick", "/tmp/in`voice.sh")


def test_a_name_fenced_by_a_longer_backtick_run_is_read_as_one_span(backtick_input):
    """Narrators write a name holding a backtick as ``in`voice.sh`` (a CommonMark code span
    with a longer fence). The grounding reads that span whole: the prose between two such
    spans is not taken for a quoted name, and an unknown name is named whole."""
    from aptnarrate.pipeline import inspect_input

    vocab = Vocabulary(inspect_input(backtick_input))
    assert vocab.mentions("It wrote ``/tmp/in`voice.sh``, then ``in`voice.sh`` ran.") == []
    assert "name in`other.sh" in vocab.mentions("It wrote ``in`other.sh`` there.")


def test_the_offline_report_of_a_name_holding_a_backtick_drops_nothing(backtick_input):
    report = narrate(backtick_input, backend="offline", dotenv=None)
    assert report.metadata.dropped == []
    assert "``/tmp/in`voice.sh``" in report.summary or "``in`voice.sh``" in report.summary


# --------------------------------------------------------------------------- program names


def test_an_iocs_general_usage_may_name_programs_its_rationale_may_not(facts):
    top = facts.candidates[0]
    usage = IoCClaim(ioc=top.value, legitimate_usage="A dropper like those PowerShell or mimikatz kits use.", likelihood="high", rationale="Written then run.")
    claim = IoCClaim(ioc=top.value, legitimate_usage="Not a known file.", likelihood="high", rationale="Run by PowerShell.")
    kept, dropped = prune(Narration(stages=[], iocs=[usage], summary=""), facts)
    assert dropped == [] and kept.iocs == [usage]
    kept, dropped = prune(Narration(stages=[], iocs=[claim], summary=""), facts)
    assert kept.iocs == [] and "program PowerShell" in dropped[0].reason


def test_a_program_is_known_from_a_name_it_begins_an_extension_or_our_own_text():
    from aptnarrate.grounding.ground import VocabularyRow

    def rows(*names):
        return [
            VocabularyRow(id=f"L{n}", minute="2019-09-24 11:32", text="x", subject_kind="process", subject_name=name,
                          action="WRITE", object_kind="file", object_name="")
            for n, name in enumerate(names, start=1)
        ]

    vocab = Vocabulary.from_rows(rows("sshd", "C:\\Users\\x\\run.ps1", "python3.8", "google-chrome"))
    assert vocab.mentions("An SSH login ran a PowerShell script, then Python and Chrome.") == []
    assert vocab.mentions("Then Perl ran.") == ["program Perl"]
    # the knowledge base's text about a candidate is ours: libpcap's does not name tcpdump
    assert Vocabulary.from_rows(rows("sshd")).mentions("It ran tcpdump.") == ["program tcpdump"]


def test_a_tunnelling_rules_reason_may_be_repeated_by_the_narrator(tmp_path):
    """The offline narrator writes a rule's reason, which names the class by examples
    ("a tunnelling client (plink, ngrok, chisel, socat)"): our text, so it grounds."""
    from aptnarrate.pipeline import inspect_input
    from aptnarrate.rules.stages import find_stages

    path = tmp_path / "plink.csv"
    path.write_text(
        "description,timestamp\n"
        "The process: powershell.exe START the process: plink.exe,2019-09-24 11:32:01\n"
        "The process: plink.exe MESSAGE_OUTBOUND the flow: 203.0.113.9,2019-09-24 11:32:05\n",
        encoding="utf-8",
    )
    facts = inspect_input(path)
    reasons = " ".join(f.rationale for f in find_stages(facts))
    assert "ngrok" in reasons
    assert Vocabulary(facts).mentions(reasons) == []


# --------------------------------------------------------------------------- stages the summary asserts


def test_a_summary_sentence_asserting_a_stage_no_kept_claim_supports_is_dropped(facts):
    """The model claims Data Exfiltration on rows that cannot support it; grounding drops the
    claim, and the summary's "then Data Exfiltration" went on saying it happened."""
    ids = list(facts.timeline.log["id"])
    stage = StageClaim(stage="Data Exfiltration", confidence="high", evidence=ids[:1], rationale="Data left.")
    negated = "There is no sign of Lateral Movement, and Covering Tracks is not supported either."
    quoted = "It ended in `Data Exfiltration`."  # a stage in a code span is still said to happen
    summary = f"The attacker moved on to Data Exfiltration. {quoted} {negated}"
    cleaned, dropped = prune(Narration(stages=[stage], iocs=[], summary=summary), facts)
    assert cleaned.stages == [] and cleaned.summary == negated
    assert ("summary", "The attacker moved on to Data Exfiltration.") in [(d.kind, d.item) for d in dropped]
    assert ("summary", quoted) in [(d.kind, d.item) for d in dropped]
    assert any("asserts Data Exfiltration, which no kept stage claim supports" in d.reason for d in dropped)
    # an IoC's rationale alike ("the endpoint of the Data Exfiltration"); its usage is general knowledge
    top = facts.candidates[0]
    asserting = IoCClaim(ioc=top.value, legitimate_usage="Not a known file.", likelihood="high", rationale="It staged the Data Exfiltration.")
    cleaned, dropped = prune(Narration(stages=[stage], iocs=[asserting], summary=""), facts)
    assert cleaned.iocs == [] and ("ioc", top.value) in [(d.kind, d.item) for d in dropped]


@pytest.mark.parametrize(
    "sentence, asserted",
    [
        ("It began with Initial Compromise, then command and control.", ["Initial Compromise", "Command and Control"]),
        ("No Lateral Movement was seen, but Data Exfiltration followed.", ["Data Exfiltration"]),
        ("There is no doubt that Data Exfiltration occurred.", ["Data Exfiltration"]),
        ("Neither Lateral Movement nor Covering Tracks is shown; the rows lack Data Exfiltration.", []),
        ("Privilege Escalation isn't supported by these rows.", []),
    ],
)
def test_which_stages_a_sentence_asserts(sentence, asserted):
    from aptnarrate.grounding.ground import asserted_stages

    assert asserted_stages(sentence) == asserted


def test_a_name_holding_a_sentence_end_is_never_split_out_of_its_code_span(tmp_path):
    """Summaries are grounded sentence by sentence; the split after ". " fell inside a name
    such as ``evil. Lateral Movement then Data Exfiltration.exe``: each half was dropped as
    an unknown file name, and the summary kept an unclosed backtick ("Who acted: `evil.")."""
    from aptnarrate.grounding.ground import sentences

    name = "evil. Lateral Movement then Data Exfiltration.exe"
    path = tmp_path / "sentence_end.csv"
    path.write_text(
        "description,timestamp\n"
        f'"The process: {name} CREATE the process: powershell.exe",2019-09-25 11:00:01\n'
        '"The process: powershell.exe MESSAGE_OUTBOUND the flow: 203.0.113.80",2019-09-25 11:00:02\n',
        encoding="utf-8",
    )
    report = narrate(path, backend="offline", dotenv=None)
    assert report.metadata.dropped == []
    assert f"`{name}`" in report.summary and report.summary.count("`") % 2 == 0
    assert sentences(f"It ran `{name}`. Then it stopped.") == [f"It ran `{name}`.", "Then it stopped."]
