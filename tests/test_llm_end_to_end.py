"""The whole LLM pipeline through the real ``openai`` client against a loopback server.

``tests/llm_server.py`` is an OpenAI-compatible HTTP server on 127.0.0.1 that serves the
hand-written fixture answers and injects faults. Nothing here patches the SDK, and nothing
leaves the machine.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import cli_in_process
import pytest
from llm_server import llm_server, ok, refusal, status, truncated  # noqa: F401  (pytest fixture)
from llm_server import delay as slow

from aptnarrate import examples, narrate
from aptnarrate.llm.prompt import narration_schema

REPO = Path(__file__).resolve().parents[1]
RESPONSES = REPO / "fixtures" / "responses"
CASES = sorted(path.stem for path in RESPONSES.glob("*.json"))
SECRET = "test-key-9f3a"
PROMPT_TOKENS, COMPLETION_TOKENS = 4321, 765
LAYOUT = (
    "# Attack Report: ",
    "## Summary of Attack Behavior",
    "## Table of Indicators of Compromise (IoCs)",
    "## Chronological Log of Actions",
)
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")


@pytest.fixture(autouse=True)
def no_settings_from_the_shell(monkeypatch):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)


def case_record(case: str) -> dict:
    return json.loads((RESPONSES / f"{case}.json").read_text(encoding="utf-8"))


def case_input(case: str, request) -> Path:
    kind, _, name = case_record(case)["metadata"]["input"].partition(":")
    if kind == "example":
        return examples.path(name)
    return request.getfixturevalue("corpus_dir") / name  # skips when ../shared is absent


def good(case: str) -> dict:
    return case_record(case)["response"]


def served(answer: dict | str) -> object:
    return ok(answer, prompt_tokens=PROMPT_TOKENS, completion_tokens=COMPLETION_TOKENS)


def run_cli(*args: str, server=None, cwd: Path, env: dict | None = None, process: bool = False):
    """The CLI in this process (``cli_in_process.run_cli``); ``process``: as a real one."""
    environment = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": SECRET} if server is not None else {}
    environment.update(env or {})
    return cli_in_process.run_cli(*args, env=environment, cwd=cwd, process=process, timeout=60)


def llm(server, **extra) -> dict:
    return {"base_url": server.url, "api_key": SECRET, **extra}


def body_of(markdown: str) -> str:
    """The report without its metadata block (which names dropped claims as such)."""
    return markdown.split("<details>")[0]


def comparable(markdown: str) -> str:
    """A live report as its replay prints it: only the backend's name differs (the
    recorded latency is replayed)."""
    return re.sub(r"- Backend: \w+", "- Backend: X", markdown)


def assert_structured_request(server, count: int = 1) -> dict:
    assert len(server.requests) == count
    for received in server.requests:
        assert received.path == "/v1/chat/completions"
        assert received.headers["authorization"] == f"Bearer {SECRET}"
        response_format = received.body["response_format"]
        assert response_format["type"] == "json_schema"
        assert response_format["json_schema"]["strict"] is True
    return server.requests[0].body


def assert_report_from(report, answer: dict, facts_candidates: set[str]) -> None:
    assert [s.stage for s in report.stages] == [s["stage"] for s in answer["stages"]]
    assert [s.evidence for s in report.stages] == [s["evidence"] for s in answer["stages"]]
    by_value = {claim["ioc"]: claim for claim in answer["iocs"]}
    assert report.iocs, "the IoC table is empty"
    for entry in report.iocs:
        assert entry.value in facts_candidates  # IoC values are always ours
        claim = by_value[entry.value]
        assert (entry.legitimate_usage, entry.likelihood, entry.rationale) == (
            claim["legitimate_usage"],
            claim["likelihood"],
            claim["rationale"],
        )
    assert report.summary == answer["summary"]
    assert report.metadata.dropped == []
    usage = report.metadata.usage
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens, usage.reasks) == (1, PROMPT_TOKENS, COMPLETION_TOKENS, 0)


def assert_no_secret(directory: Path) -> None:
    files = list(directory.glob("*.json"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert SECRET not in text and "authorization" not in text.lower()


# --------------------------------------------------------------------------- 1. every fixture case


EXAMPLE_CASES = [c for c in CASES if case_record(c)["metadata"]["input"].startswith("example:")]


@pytest.mark.parametrize("case", EXAMPLE_CASES)
def test_example_case_through_the_cli_records_and_replays(case, llm_server, tmp_path):  # noqa: F811
    name = case_record(case)["metadata"]["input"].removeprefix("example:")
    answer = good(case)
    llm_server.enqueue(served(answer))
    recorded = tmp_path / "recorded"
    # one case through the installed entry point in a process of its own (its exit status,
    # its byte streams), the others in this process
    process = case == EXAMPLE_CASES[0]
    live = run_cli(
        "report", "--example", name, "--backend", "openai", "--format", "json", "--record", str(recorded),
        server=llm_server, cwd=tmp_path, process=process,
    )  # fmt: skip
    assert live.returncode == 0, live.stderr.decode()
    assert_structured_request(llm_server)
    assert f"aptnarrate: 1 call(s), {PROMPT_TOKENS}+{COMPLETION_TOKENS} tokens" in live.stderr.decode()
    from aptnarrate.models import Report
    from aptnarrate.pipeline import inspect_input

    report = Report.model_validate_json(live.stdout)
    assert report.metadata.backend == "openai"
    assert_report_from(report, answer, {c.value for c in inspect_input(examples.path(name)).candidates})
    assert_no_secret(recorded)

    replayed = run_cli("report", "--example", name, "--backend", "replay", "--fixtures", str(recorded), "--format", "json", cwd=tmp_path, process=process)
    assert replayed.returncode == 0, replayed.stderr.decode()
    assert len(llm_server.requests) == 1  # replay never touches the network
    again = Report.model_validate_json(replayed.stdout)
    assert comparable(again.to_markdown()) == comparable(report.to_markdown())
    assert again.model_dump(exclude={"metadata"}) == report.model_dump(exclude={"metadata"})


@pytest.mark.parametrize("case", [c for c in CASES if case_record(c)["metadata"]["input"].startswith("corpus:")])
def test_corpus_case_through_the_library_records_and_replays(case, llm_server, tmp_path, request):  # noqa: F811
    source = case_input(case, request)
    answer = good(case)
    llm_server.enqueue(served(answer))
    recorded = tmp_path / "recorded"
    report = narrate(source, backend="openai", llm=llm(llm_server), record=recorded, dotenv=None)
    body = assert_structured_request(llm_server)
    assert body["model"] == "gpt-4o-mini"
    markdown = report.to_markdown()
    assert all(heading in markdown for heading in LAYOUT)
    from aptnarrate.pipeline import inspect_input

    assert_report_from(report, answer, {c.value for c in inspect_input(source).candidates})
    assert_no_secret(recorded)
    replayed = narrate(source, backend="replay", fixtures=recorded, dotenv=None)
    assert len(llm_server.requests) == 1
    assert replayed.metadata.backend == "replay"
    assert comparable(replayed.to_markdown()) == comparable(markdown)


# --------------------------------------------------------------------------- 2. the seed case, as issue 3 states it


def test_seed_case_cadets_21_with_openai_base_url(llm_server, corpus_dir, tmp_path):  # noqa: F811
    llm_server.enqueue(served(good("cadets_subgraph_21")))
    result = run_cli("report", str(corpus_dir / "cadets_subgraph_21.csv"), "--backend", "openai", server=llm_server, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert_structured_request(llm_server)
    markdown = result.stdout.decode()
    positions = [markdown.index(heading) for heading in LAYOUT]
    assert positions == sorted(positions)
    for name in ("411.pkg-backup", "libarchive.so.7", "libbz2.so.4"):
        assert f"| `{name}` |" in markdown
    log = markdown.split("## Chronological Log of Actions")[1]
    assert len(re.findall(r"^\| 2018-04-11 23:58 \| ", log, re.MULTILINE)) == 8


# --------------------------------------------------------------------------- 3. grounding faults

INVENTED = {
    "ioc": ("mimikatz", "ioc 'mimikatz': not a candidate IoC computed from the input"),
    "ip": ("192.0.2.99", "mentions address 192.0.2.99, absent from the input"),
    "file": ("kworker-upd.bin", "mentions file name kworker-upd.bin, absent from the input"),
}


def with_invention(answer: dict, kind: str) -> dict:
    value = INVENTED[kind][0]
    bad = json.loads(json.dumps(answer))
    if kind == "ioc":
        bad["iocs"].append({"ioc": value, "legitimate_usage": "Credential dumping tool.", "likelihood": "high", "rationale": "Seen on the host."})
    elif kind == "ip":
        bad["summary"] += f" The beacon later moved to {value}."
    else:
        bad["summary"] += f" It also dropped {value} for later use."
    return bad


@pytest.mark.parametrize("kind", sorted(INVENTED))
def test_an_invented_claim_gets_a_reask_and_the_corrected_answer_is_used(kind, llm_server):  # noqa: F811
    answer = good("dropper")
    llm_server.enqueue(served(with_invention(answer, kind)), served(answer))
    report = narrate(examples.path("dropper"), backend="openai", llm=llm(llm_server), dotenv=None)
    assert_structured_request(llm_server, count=2)
    reask = llm_server.requests[1].body["messages"]
    assert [m["role"] for m in reask[-2:]] == ["assistant", "user"]
    assert INVENTED[kind][1] in reask[-1]["content"]
    assert report.summary == answer["summary"]
    assert report.metadata.dropped == []
    assert (report.metadata.usage.calls, report.metadata.usage.reasks) == (2, 1)


@pytest.mark.parametrize("kind", sorted(INVENTED))
def test_an_invented_claim_that_persists_is_dropped_recorded_and_never_printed(kind, llm_server):  # noqa: F811
    value = INVENTED[kind][0]
    bad = with_invention(good("dropper"), kind)
    llm_server.enqueue(*[served(bad)] * 3)  # the first answer and both re-asks
    report = narrate(examples.path("dropper"), backend="openai", llm=llm(llm_server), dotenv=None)
    assert len(llm_server.requests) == 3
    assert value not in body_of(report.to_markdown())
    document = json.loads(report.to_json())
    dropped = document["metadata"].pop("dropped")
    assert value not in json.dumps(document)
    reasons = [d["reason"] for d in dropped if value in d["item"]]
    assert reasons and all("absent from the input" in r or "not a candidate" in r for r in reasons)
    assert report.metadata.usage.reasks == 2
    # everything the data supports survives the pruning
    assert [s.stage for s in report.stages] == [s["stage"] for s in bad["stages"]]


def test_where_the_model_and_the_rules_disagree_on_a_stage_the_report_says_so(llm_server):  # noqa: F811
    """A stage the model claims that no rule found, and one the rules found that the model
    left out, each get a note in the report's metadata (they had none: the analyst could not
    tell a corroborated stage from the model's own reading). Agreement adds nothing."""
    answer = good("dropper")
    llm_server.enqueue(served(answer))
    agreed = narrate(examples.path("dropper"), backend="openai", llm=llm(llm_server), dotenv=None)
    assert not any("offline rule" in n for n in agreed.metadata.notes)

    changed = json.loads(json.dumps(answer))
    c2 = next(s for s in changed["stages"] if s["stage"] == "Command and Control")
    changed["stages"] = [s for s in changed["stages"] if s is not c2]
    changed["stages"].insert(2, {**c2, "stage": "Lateral Movement", "confidence": "low", "rationale": "The script reached another host."})
    # a summary that still said "command and control" would assert a stage it no longer claims
    changed["summary"] = changed["summary"].replace("delivery, command and control, discovery", "delivery, lateral movement, discovery")
    llm_server.enqueue(served(changed))
    report = narrate(examples.path("dropper"), backend="openai", llm=llm(llm_server), dotenv=None)
    assert "Lateral Movement" in [s.stage for s in report.stages]  # grounded: it stands, with a note
    notes = [n for n in report.metadata.notes if "offline rule" in n]
    assert len(notes) == 2, report.metadata.notes
    assert notes[0].startswith("Lateral Movement rests on the narrator's judgment alone") and c2["evidence"][0] in notes[0]
    assert notes[1].startswith("Command and Control was found by the offline rules (") and "not claimed by the narrator" in notes[1]
    assert "Note: Lateral Movement rests on" in report.to_markdown()
    # and the stage itself says so, where an analyst reads it, in every format
    assert {s.stage: s.found_by_rules for s in report.stages}["Lateral Movement"] is False
    assert all(s.found_by_rules for s in report.stages if s.stage != "Lateral Movement")
    assert all(s.found_by_rules for s in agreed.stages)
    from aptnarrate.render import render_chunks

    def rendered(fmt):
        return "".join(c if isinstance(c, str) else bytes(c).decode() for c in render_chunks(fmt, report))

    for fmt in ("md", "html", "navigator"):
        marked = [line for line in rendered(fmt).splitlines() if "judgment alone: no offline rule found it" in line]
        assert marked and all("Lateral Movement" in line for line in marked), fmt
    patterns = [o for o in json.loads(rendered("stix"))["objects"] if o["type"] == "attack-pattern" and o["id"].startswith("attack-pattern")]
    marked = [o["name"] for o in patterns if "judgment alone: no offline rule found it" in o.get("description", "")]
    assert len(marked) == 1 and marked[0].startswith("Lateral Movement"), marked
    bullet = next(line for line in report.to_markdown().splitlines() if line.startswith("- **Lateral Movement**"))
    assert "low confidence; the narrator's judgment alone: no offline rule found it; log rows" in bullet


# --------------------------------------------------------------------------- 4. transport faults


def test_429_then_500_then_success_gives_a_report_after_two_transport_retries(llm_server):  # noqa: F811
    answer = good("benign")
    llm_server.enqueue(status(429, "slow down", retry_after="0"), status(500, "boom"), served(answer))
    report = narrate(examples.path("benign"), backend="openai", llm=llm(llm_server), dotenv=None)
    assert len(llm_server.requests) == 3
    assert report.summary == answer["summary"]
    usage = report.metadata.usage
    assert (usage.calls, usage.transport_retries, usage.reasks) == (1, 2, 0)


def test_a_server_slower_than_the_timeout_is_a_clear_error_in_bounded_time(llm_server, tmp_path):  # noqa: F811
    llm_server.enqueue(slow(10), slow(10))
    result = run_cli(
        "report", "--example", "benign", "--backend", "openai", "--timeout", "1",
        server=llm_server, cwd=tmp_path, env={"APTNARRATE_MAX_ATTEMPTS": "2"},
    )  # fmt: skip
    finished = time.monotonic()
    stderr = result.stderr.decode()
    assert result.returncode == 6, stderr
    assert stderr.startswith("aptnarrate: error:") and "Traceback" not in stderr
    assert "did not answer within 1 s" in stderr and "2 attempt(s)" in stderr
    assert len(llm_server.requests) == 2
    # bounded by the timeouts, not by the server: from the first request to the exit is
    # less than one slow answer (10 s). Timed from the first request, not from the start,
    # so a loaded machine's slow interpreter start and imports do not count
    assert finished - llm_server.requests[0].arrived < 10


def test_broken_json_then_good_json_gives_a_report_with_one_reask(llm_server):  # noqa: F811
    answer = good("exfil")
    llm_server.enqueue(served('{"stages": [{"stage": "Data Exfil'), served(answer))
    report = narrate(examples.path("exfil"), backend="openai", llm=llm(llm_server), dotenv=None)
    assert len(llm_server.requests) == 2
    assert "Invalid JSON" in llm_server.requests[1].body["messages"][-1]["content"]
    assert [s.stage for s in report.stages] == [s["stage"] for s in answer["stages"]]
    assert report.metadata.usage.reasks == 1


def assert_cli_error(result, code: int, *fragments: str) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert stderr.startswith("aptnarrate: error:") and "Traceback" not in stderr
    assert result.stdout == b""
    for fragment in fragments:
        assert fragment in stderr, stderr


def test_broken_json_on_every_attempt_exits_7(llm_server, tmp_path):  # noqa: F811
    llm_server.enqueue(*[served("{not json")] * 3)
    result = run_cli("report", "--example", "benign", "--backend", "openai", server=llm_server, cwd=tmp_path)
    assert_cli_error(result, 7, "did not match the schema in 3 attempt(s)")
    assert len(llm_server.requests) == 3


def test_a_refusal_exits_6_naming_it(llm_server, tmp_path):  # noqa: F811
    llm_server.enqueue(refusal("I can't help with analysing this."))
    result = run_cli("report", "--example", "benign", "--backend", "openai", server=llm_server, cwd=tmp_path)
    assert_cli_error(result, 6, "refused", "I can't help with analysing this.")
    assert len(llm_server.requests) == 1


def test_a_length_cut_off_exits_6_saying_the_answer_was_cut_off(llm_server, tmp_path):  # noqa: F811
    llm_server.enqueue(truncated())
    result = run_cli("report", "--example", "benign", "--backend", "openai", server=llm_server, cwd=tmp_path)
    assert_cli_error(result, 6, "cut off", "finish_reason=length")
    assert len(llm_server.requests) == 1


# --------------------------------------------------------------------------- 5. JSON mode


def test_json_mode_sends_json_object_with_the_schema_in_the_prompt(llm_server, tmp_path):  # noqa: F811
    answer = good("exfil")
    llm_server.enqueue(served(answer))
    result = run_cli("report", "--example", "exfil", "--backend", "openai", "--mode", "json", server=llm_server, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert len(llm_server.requests) == 1
    body = llm_server.requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert narration_schema() in body["messages"][-1]["content"]
    markdown = result.stdout.decode()
    assert all(heading in markdown for heading in LAYOUT)
    assert answer["summary"] in markdown


# --------------------------------------------------------------------------- backend selection


def test_auto_uses_the_model_when_a_base_url_and_key_are_configured(llm_server, tmp_path):  # noqa: F811
    llm_server.enqueue(served(good("dropper")))
    result = run_cli("report", "--example", "dropper", server=llm_server, cwd=tmp_path)  # no --backend
    assert result.returncode == 0, result.stderr.decode()
    assert_structured_request(llm_server)
    assert "offline narrator" not in result.stderr.decode()
    assert "- Backend: openai; model: gpt-4o-mini" in result.stdout.decode()


def test_auto_reads_the_configuration_from_a_dotenv_file(llm_server, tmp_path):  # noqa: F811
    llm_server.enqueue(served(good("dropper")))
    (tmp_path / ".env").write_text(f"OPENAI_BASE_URL={llm_server.url}\nOPENAI_API_KEY={SECRET}\n")
    result = run_cli("report", "--example", "dropper", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert_structured_request(llm_server)
    assert "- Backend: openai" in result.stdout.decode()
