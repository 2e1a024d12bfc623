"""Facts and candidate IoCs: synthetic logs built here, plus the real corpus when present."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import ground_truth_iocs

from aptnarrate.preprocess.condense import condense
from aptnarrate.errors import UsageError
from aptnarrate.preprocess.facts import compute_facts
from aptnarrate.preprocess.ingest import IngestOptions, read_events
from aptnarrate.preprocess.knowledge import lookup

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
EDGE_HEADER = ["subject_uuid", "subject_type", "subject_attr", "predicate", "timestamp", "object_uuid", "object_type", "object_attr"]


def write_ocrapt_csv(folder, rows, name: str = "case.csv"):
    """rows: (description, 'YYYY-MM-DD HH:MM:SS'), written as an OCR-APT CSV in ``folder``."""
    path = folder / name
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["description", "timestamp"])
        writer.writerows(rows)
    return path


def facts_from(tmp_path, rows, internal=()):
    """rows: (description, 'YYYY-MM-DD HH:MM:SS') in OCR-APT's format."""
    return compute_facts(condense(read_events(write_ocrapt_csv(tmp_path, rows))), internal)


def edge_facts(tmp_path, rows, internal=()):
    """rows: (subject uuid, subject type, subject attr, predicate, ns, object uuid, object type, object attr)."""
    path = tmp_path / "case.edges.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EDGE_HEADER)
        writer.writerows(rows)
    return compute_facts(condense(read_events(path)), internal)


def proc(name, action, obj_type, obj_name, when):
    subject = f"The subject_process: {name}" if name else "A subject_process"
    obj = f"the {obj_type}: {obj_name}" if obj_name else f"a {obj_type}"
    return (f"{subject} {action} {obj}", when)


BEACON = [proc("agent", "CONNECT", "netflowobject", "93.184.216.34", f"2018-04-12 13:{m}:0{s}") for m in (10, 11, 12, 13) for s in (1, 2)]


# --------------------------------------------------------------------------- addresses


def test_public_address_is_moderate_or_more_and_described_without_guessing(tmp_path):
    rows = BEACON + [
        proc("agent", "CONNECT", "netflowobject", "127.0.0.1", "2018-04-12 13:10:05"),
        proc("agent", "CONNECT", "netflowobject", "10.0.0.5", "2018-04-12 13:10:06"),
    ]
    facts = facts_from(tmp_path, rows)
    public, loopback, private = facts.candidate("93.184.216.34"), facts.candidate("127.0.0.1"), facts.candidate("10.0.0.5")
    assert public.type == "ip" and public.likelihood in ("moderate", "high")
    assert "repeated-contact" in public.features and "outbound" in public.features
    assert any("not in a declared internal network" in r for r in public.reasons)
    assert not any("external" in r.lower() or "attacker" in r.lower() for r in public.reasons)
    assert loopback.likelihood == "low" and "loopback-ip" in loopback.features
    assert private.score < public.score
    assert public.rank < loopback.rank
    # CONNECT happened in 8 distinct seconds
    assert "CONNECT x8" in public.actions


def test_declared_internal_network_changes_the_description(tmp_path):
    facts = facts_from(tmp_path, BEACON, internal=["93.184.216.0/24"])
    cand = facts.candidate("93.184.216.34")
    assert "internal-ip" in cand.features and "public-ip" not in cand.features
    assert any("93.184.216.0/24" in r for r in cand.reasons)
    assert [str(n) for n in facts.internal_networks] == ["93.184.216.0/24"]


def test_public_resolver_ranks_low_and_says_so(tmp_path):
    rows = [proc("agent", "CONNECT", "netflowobject", "8.8.8.8", f"2018-04-12 13:{m}:01") for m in (10, 11, 12, 13)]
    cand = facts_from(tmp_path, rows).candidate("8.8.8.8")
    assert cand.likelihood == "low" and "public-resolver" in cand.features
    assert any("Google Public DNS" in r for r in cand.reasons)


def test_bad_cidr_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not-a-net"):
        facts_from(tmp_path, BEACON, internal=["not-a-net"])


# --------------------------------------------------------------------------- files, processes, grouping


def test_written_then_executed_file_outranks_loaded_libraries(tmp_path):
    rows = [proc("", "WRITE", "file_object_file", "dropper", "2018-04-12 10:00:01"),
            proc("", "EXECUTE", "file_object_file", "dropper", "2018-04-12 10:01:01")]
    rows += [proc("", "MMAP", "file_object_file", f"libx{i}.so.{i}", "2018-04-12 10:02:01") for i in range(10)]
    facts = facts_from(tmp_path, rows)
    dropper = facts.candidates[0]
    assert dropper.value == "dropper" and dropper.likelihood == "high"
    assert "written-then-executed" in dropper.features
    libs = [c for c in facts.candidates if c.value.startswith("libx")]
    assert len(libs) == 10 and all(c.likelihood == "low" and "mapped-library" in c.features for c in libs)
    # the table is not padded with every library: 1 high + low ones until 5 entries
    assert len(facts.table_candidates) == 5
    assert [c.rank for c in facts.table_candidates] == [1, 2, 3, 4, 5]
    assert len(facts.candidates) == 11


def test_unnamed_entities_are_not_candidates_and_evidence_points_at_log_rows(tmp_path):
    rows = [proc("", "FORK", "subject_process", "", "2018-04-12 10:00:01"),
            proc("", "UNLINK", "file_object_file", "netlog", "2018-04-12 10:00:02"),
            proc("", "UNLINK", "file_object_file", "netlog", "2018-04-12 10:05:02")]
    facts = facts_from(tmp_path, rows)
    assert [c.value for c in facts.candidates] == ["netlog"]
    cand = facts.candidate("NETLOG")  # case-insensitive fallback
    log_ids = set(facts.timeline.log["id"])
    assert cand.evidence and set(cand.evidence) <= log_ids and len(cand.evidence) == 2
    assert cand.first_seen == "2018-04-12 10:00" and cand.last_seen == "2018-04-12 10:05"
    assert "deleted" in cand.features
    assert len(facts.entities) == 3  # unnamed subject, unnamed object process, netlog
    assert facts.entities.set_index("name").loc["netlog", "object_UNLINK"] == 2


def test_entities_with_one_display_name_are_one_candidate(tmp_path):
    base = 1523505481_000_000_000
    rows = [
        ("p1", "SUBJECT_PROCESS", "sh", "EVENT_WRITE", base, "f1", "FILE_OBJECT_FILE", "/tmp/payload"),
        ("p1", "SUBJECT_PROCESS", "sh", "EVENT_READ", base + 10**9, "f2", "FILE_OBJECT_FILE", "/home/u/payload"),
    ]
    facts = edge_facts(tmp_path, rows)
    cand = facts.candidate("payload")
    assert sorted(cand.full_values) == ["/home/u/payload", "/tmp/payload"]
    assert sorted(cand.entity_ids) == ["f1", "f2"]
    assert "temp-or-hidden" in cand.features
    sh = facts.candidate("sh")
    assert sh.type == "process" and "dual-use" in sh.features


def test_process_that_connects_out_to_public_address_is_listed(tmp_path):
    facts = facts_from(tmp_path, BEACON)
    agent = facts.candidate("agent")
    assert agent.type == "process" and agent.in_table
    assert {"connects-out", "talks-public", "unknown-binary"} <= set(agent.features)


# --------------------------------------------------------------------------- knowledge base


@pytest.mark.parametrize(
    ("name", "kind", "category"),
    [
        ("libbz2.so.4", "file", "compression library"),
        ("libarchive.so.7", "file", "compression library"),
        ("KERNEL32.DLL", "module", "windows system library"),
        ("PowerShell.exe", "process", "windows admin tool"),
        ("ifconfig", "process", "discovery tool"),
        ("shadow", "file", "credential store"),
        ("HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x", "registry", "persistence location"),
    ],
)
def test_knowledge_lookup(name, kind, category):
    entry = lookup(name, kind)
    assert entry is not None and entry.category == category and entry.usage


def test_knowledge_lookup_misses_unknown_and_case_on_unix_names():
    assert lookup("tcexec", "file") is None
    assert lookup("Mail", "process") is None  # Unix names are case-sensitive
    assert lookup("mail", "process") is not None


def test_knowledge_lookup_knows_numbered_instances_only_of_numbered_entries():
    """PDQ Deploy's runner runs as PDQDeployRunner-N.exe, one number per deployment: its
    entry says ``numbered``, so any N is the runner; a program whose entry does not say so
    keeps its exact name (svchost-1.exe is no svchost.exe)."""
    for name in ("PDQDeployRunner-1.exe", "pdqdeployrunner-27.exe", "PDQDeployRunner.exe"):
        assert lookup(name, "process").category == "management agent"
    assert lookup("PDQDeployRunner-1x.exe", "process") is None
    assert lookup("svchost-1.exe", "process") is None and lookup("svchost.exe", "process") is not None


def test_knowledge_lookup_knows_versioned_instances_only_of_versioned_entries():
    """Defender's definition updates arrive as AM_Delta_Patch_<version>.exe: the entry says
    ``versioned``, so any dotted version is that program; a bare number is no version, and a
    program whose entry does not say so keeps its exact name (svchost_1.2.exe is no svchost)."""
    for name in ("AM_Delta_Patch_1.301.1337.0.exe", "am_delta_patch_1.2.exe", "AM_Engine_Patch_1.1.17600.5.exe", "AM_Delta_Patch.exe"):
        assert lookup(name, "process").category == "software updater"
    assert lookup("AM_Delta_Patch_1.exe", "process") is None
    assert lookup("AM_Delta_Patch_1.2x.exe", "process") is None
    assert lookup("svchost_1.2.exe", "process") is None and lookup("svchost-1.2.exe", "process") is None


def test_no_name_is_listed_twice_in_the_knowledge_base():
    """The first entry of a name wins a lookup: a second one is dead data, or, added later
    under another category, silently shadows or is shadowed (Mozilla's maintenance service
    was listed as a software updater and again as a browser component)."""
    import json
    from collections import Counter
    from importlib import resources

    from aptnarrate.preprocess.knowledge import index_key

    entries = json.loads(resources.files("aptnarrate.data").joinpath("knowledge.json").read_text(encoding="utf-8"))["entries"]
    counts = Counter((e["type"], e["type"] == "registry" and n.lower() or index_key(n)) for e in entries for n in e["names"])
    assert [key for key, n in counts.items() if n > 1] == []


def test_knowledge_base_usage_names_nothing_the_grounding_needs_evidence_for():
    """An entry's usage is the offline narrator's IoC context, which the grounding checks
    like a model's: a vulnerability id, address, URL, domain or hash in it must appear in the
    input, so every report naming the program dropped its own context (msdt.exe's usage
    named the Follina exploit's CVE id, xdg-open's the freedesktop.org domain)."""
    import json
    from importlib import resources

    from aptnarrate.grounding import mentions

    entries = json.loads(resources.files("aptnarrate.data").joinpath("knowledge.json").read_text(encoding="utf-8"))["entries"]
    found = {
        e["names"][0]: hits
        for e in entries
        if (hits := [*mentions.cves(e["usage"]), *mentions.addresses(e["usage"]), *[u for u, _ in mentions.urls(e["usage"])], *mentions.domains(e["usage"]), *mentions.hashes(e["usage"])])
    }
    assert found == {}


def test_windows_programs_are_listed_for_windows():
    """An entry of Windows programs (every name ends in .exe) names Windows among its systems:
    ``prompt_context.os_family`` counts the systems of the log's known names (whoami.exe,
    net.exe and nltest.exe were listed for Linux and FreeBSD)."""
    import json
    from importlib import resources

    entries = json.loads(resources.files("aptnarrate.data").joinpath("knowledge.json").read_text(encoding="utf-8"))["entries"]
    windows_only = [e for e in entries if e["type"] == "binary" and all(n.lower().endswith(".exe") for n in e["names"])]
    assert windows_only
    assert [e["names"] for e in windows_only if "windows" not in e.get("os", [])] == []


# --------------------------------------------------------------------------- corpus


def corpus_cases():
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.glob("*_subgraph_*.csv"))


def corpus_facts(path: Path, internal_networks=()):
    options = IngestOptions(timezone="America/Toronto") if path.name.endswith(".edges.csv") else IngestOptions()
    return compute_facts(condense(read_events(path, options)), internal_networks=internal_networks)


def _profile_networks(host: str) -> tuple[str, ...]:
    from aptnarrate.rules.profiles import get_profile

    return get_profile("darpa-optc" if host.startswith("SysClient") else "darpa-tc3").internal_networks


def test_ground_truth_iocs_are_listed_in_every_corpus_case():
    """Every ground-truth IoC named in a case is in its IoC table, with and without the
    dataset profile declared: as a row of its own, or among the hosts (full values) of the
    one row that lists a sweep's targets."""
    cases = corpus_cases()
    if not cases:
        pytest.skip(f"corpus not found at {CORPUS}")
    checked, missing = 0, []
    for path in cases:
        host = path.name.split("_")[0]
        names = ground_truth_iocs(host, CORPUS)
        timeline = condense(read_events(path, IngestOptions(timezone="America/Toronto") if path.name.endswith(".edges.csv") else IngestOptions()))
        for networks in ((), _profile_networks(host)):
            facts = compute_facts(timeline, internal_networks=networks)
            for name in names:
                in_log = [c for c in facts.candidates if c.value.casefold() == name or name in {v.casefold() for v in c.full_values if "swept" in c.features}]
                if in_log:
                    checked += 1
                    if not any(c.in_table for c in in_log):
                        missing.append((path.name, networks, name))
    assert checked > 100, "the corpus should contain many ground-truth IoCs"
    assert missing == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("cadets_subgraph_21", {"411.pkg-backup", "libarchive.so.7", "libbz2.so.4"}),
        ("theia_subgraph_4", {"128.55.12.110", "Mail"}),
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".edges.csv"])
def test_seed_cases_table(case, expected, suffix):
    path = CORPUS / f"{case}{suffix}"
    if not path.is_file():
        pytest.skip(f"corpus case not found: {path}")
    facts = corpus_facts(path)
    assert expected <= {c.value for c in facts.table_candidates}


def test_a_process_named_like_an_address_stays_apart_from_that_address(tmp_path):
    """Candidates of one name merge (a process and the file it runs from), but a flow is an
    address: a process named "203.0.113.5" was merged into the address's candidate."""
    rows = [proc("203.0.113.5", "CONNECT", "netflowobject", "203.0.113.5", f"2018-04-12 10:0{m}:01") for m in range(4)]
    facts = facts_from(tmp_path, rows)
    kinds = sorted((c.value, c.type) for c in facts.candidates if c.value == "203.0.113.5")
    assert kinds == [("203.0.113.5", "ip"), ("203.0.113.5", "process")]


def test_an_ipv4_mapped_ipv6_address_is_classed_as_its_ipv4_host():
    from aptnarrate.preprocess.rank import address_class, parse_networks

    internal = parse_networks(["10.0.0.0/8"])
    assert address_class("::ffff:203.0.113.45", internal) == address_class("203.0.113.45", internal)
    assert address_class("::ffff:10.0.0.5", internal)[0] == "internal"
    assert address_class("[::ffff:8.8.4.4]", internal)[0] == "public"


def test_the_ioc_table_is_bounded_and_says_how_many_it_left_out(tmp_path, monkeypatch):
    # 36,000 moderate candidates (a megabyte of writes) made a 36,000-row table that cost
    # every later stage time per row (13 s for a 1 MB input)
    from aptnarrate.pipeline import NarrateOptions, input_notices
    from aptnarrate.preprocess import rank

    monkeypatch.setattr(rank, "TABLE_MAX", 4)
    rows = [proc(f"p{n}", "WRITE", "file_object_file", f"/tmp/f{n}.sh", f"2018-04-12 13:10:{n:02d}") for n in range(10)]
    facts = facts_from(tmp_path, rows)
    moderate = [c for c in facts.candidates if c.likelihood != "low"]
    assert len(moderate) > 4
    assert [c.value for c in facts.table_candidates] == [c.value for c in facts.candidates[:4]]
    notice = next(n for n in input_notices(facts, NarrateOptions()) if "IoC table" in n)
    assert f"first 4 candidates in rank order; {len(moderate) - 4} more rated moderate or high" in notice
    # inspect lists every candidate: the notice (which sent the user to inspect) is a report's
    assert not [n for n in input_notices(facts, NarrateOptions(), report=False) if "IoC table" in n]
    from cli_in_process import run_main

    source = str(write_ocrapt_csv(tmp_path, rows))
    assert "IoC table" in run_main(["report", source, "--backend", "offline", "-o", str(tmp_path / "r.md")])[2]
    code, _, err = run_main(["inspect", source, "-o", str(tmp_path / "i.txt")])
    assert code == 0 and "IoC table" not in err


def test_a_linux_process_name_cut_to_15_bytes_is_known_as_the_one_program_it_begins():
    """Linux records a process's name in 15 bytes: TC3 names Firefox's plugin-container
    plugin-containe. Only a process's name is read so, only where one program begins so."""
    assert lookup("plugin-containe", "process").name == "plugin-container"
    assert lookup("plugin-containe", "file") is None  # a file's name is not cut
    assert lookup("plugin-contain", "process") is None  # 14 characters: a name of its own
    assert lookup("abcdefghijklmno", "process") is None


def test_a_log_reaching_a_profiles_network_without_a_declared_one_gets_a_hint(tmp_path):
    # without --profile, DARPA's site addresses (public ones) read as outside addresses and
    # lateral movement to them is not judged: the tool never applies a profile, but says so
    from aptnarrate.pipeline import NarrateOptions, input_notices, inspect_input

    csv = tmp_path / "optc.csv"
    csv.write_text(
        "description,timestamp\n"
        "The process: PsExec64.exe START_OUTBOUND the flow: 142.20.57.103,2019-09-25 12:07:59\n"
        "The process: PsExec64.exe MESSAGE_OUTBOUND the flow: 142.20.57.103,2019-09-25 12:08:04\n"
        "The process: svchost.exe START_OUTBOUND the flow: 10.0.0.5,2019-09-25 12:08:05\n",
        encoding="utf-8",
    )
    hints = [n for n in input_notices(inspect_input(csv), NarrateOptions()) if "--profile" in n]
    assert len(hints) == 1 and "142.20.57.103" in hints[0] and "--profile darpa-optc" in hints[0]
    assert "10.0.0.5" not in hints[0]  # a private address reads as the site's already
    for declared in ({"profile": "darpa-optc"}, {"internal_networks": ("142.20.56.0/21",)}):
        opts = NarrateOptions(**declared)
        assert not [n for n in input_notices(inspect_input(csv, opts), opts) if "--profile" in n]
    private = tmp_path / "private.csv"
    private.write_text("description,timestamp\nThe process: svchost.exe START_OUTBOUND the flow: 10.0.0.5,2019-09-25 12:08:05\n", encoding="utf-8")
    assert not [n for n in input_notices(inspect_input(private), NarrateOptions()) if "--profile" in n]
