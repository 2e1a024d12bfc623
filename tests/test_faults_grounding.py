"""Fault matrix, grounding rows: a model whose answers the input does not support.

Each test runs ``aptnarrate report`` in-process (``cli.main``) through the real ``openai``
client against the loopback server in ``tests/llm_server.py``, which plays the faulty
model, and records what it observed with ``fault_outcome`` for the README's fault table.
"""

from __future__ import annotations

import copy
import json
import os
import re

import pytest
from llm_server import llm_server, ok  # noqa: F401  (pytest fixture)

from aptnarrate.cli import main
from aptnarrate.render.json import load_report

RESPONSES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "responses")
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")


@pytest.fixture(autouse=True)
def no_settings_from_the_shell(monkeypatch):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-grounding")


def good() -> dict:
    """The hand-written fixture answer for the dropper example (every claim grounded)."""
    with open(os.path.join(RESPONSES, "dropper.json"), encoding="utf-8") as handle:
        return json.load(handle)["response"]


def report(server, tmp_path, *answers: dict):
    """Serve ``answers`` in turn to ``aptnarrate report --example dropper``; the exit code,
    the Report read back from its JSON, and its Markdown."""
    server.enqueue(*(ok(answer) for answer in answers))
    out = tmp_path / "report.json"
    code = main(
        ["report", "--example", "dropper", "--backend", "openai", "--base-url", server.url,
         "--env-file", "", "--format", "json", "-o", str(out)]
    )  # fmt: skip
    if code != 0:
        return code, None, None
    loaded = load_report(out.read_text(encoding="utf-8"))
    return code, loaded, loaded.to_markdown()


def body(markdown: str) -> str:
    """The report without its metadata block (which names dropped claims as such)."""
    return markdown.split("<details>")[0]


def persisting(bad: dict) -> tuple[dict, dict, dict]:
    return (bad, bad, bad)  # the first answer and both re-asks (APTNARRATE_MAX_REASKS=2)


def test_hallucinated_ioc(llm_server, tmp_path, fault_outcome):  # noqa: F811
    bad = good()
    bad["iocs"].append({"ioc": "mimikatz.exe", "legitimate_usage": "Credential dumper.", "likelihood": "high", "rationale": "Seen."})
    code, result, markdown = report(llm_server, tmp_path, *persisting(bad))
    assert code == 0 and len(llm_server.requests) == 3
    assert "mimikatz" not in body(markdown)
    assert [(d.kind, d.item) for d in result.metadata.dropped] == [("ioc", "mimikatz.exe")]
    assert {e.value for e in result.iocs} == {c["ioc"] for c in good()["iocs"]}
    fault_outcome("hallucinated IoC (not a candidate)", "re-asked twice, claim dropped, listed once in metadata.dropped; exit 0")


def test_hallucinated_ip_then_corrected(llm_server, tmp_path, fault_outcome):  # noqa: F811
    bad = good()
    bad["summary"] += " It later beaconed to 192.0.2.99."
    code, result, markdown = report(llm_server, tmp_path, bad, good())
    assert code == 0 and len(llm_server.requests) == 2
    reask = llm_server.requests[1].body["messages"][-1]["content"]
    assert "address 192.0.2.99" in reask
    assert result.summary == good()["summary"] and result.metadata.dropped == []
    fault_outcome("hallucinated IP in the summary, corrected on re-ask", "re-asked once, corrected answer used, nothing dropped; exit 0")


UNGROUNDED_SENTENCES = [
    ("hallucinated time in the summary", "At 23:17 it beaconed again.", "23:17"),
    ("hallucinated time given as an hour (11pm)", "It was back by 11pm.", "11pm"),
    ("defanged IP in the summary", "It also beaconed to 198[.]51[.]100[.]99.", "[.]99"),
    ("IP split by a zero-width space", "It also beaconed to 198.51\u200b.100.99.", "100.99"),
    ("IP in fullwidth digits", "It also beaconed to \uff11\uff19\uff18.51.100.98.", "100.98"),
    ("IP written as one integer", "It also beaconed to 3325256803.", "3325256803"),
    ("hallucinated URL in the summary", "It fetched hxxp://cdn.evil-example.com/stage2.", "cdn.evil"),
    ("hallucinated domain in the summary", "It resolved c2.evil-example.com.", "c2.evil"),
    ("hallucinated hash in the summary", "Its SHA-256 was 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.", "9f86d081"),
    ("hallucinated CVE id in the summary", "It exploited CVE-2021-4034.", "CVE-2021-4034"),
    ("hallucinated date (12/04/2018) in the summary", "It started on 12/04/2018.", "12/04/2018"),
    ("hallucinated registry key in the summary", "It set HKCU\\Software\\Run\\upd.", "HKCU"),
    ("hallucinated port in the summary", "It listened on port 4444.", "4444"),
]


def test_ungrounded_sentences_in_the_summary(llm_server, tmp_path, fault_outcome):  # noqa: F811
    # one answer holds every kind of ungrounded sentence (one run instead of 13); each
    # must be found on its own and dropped alone
    bad = good()
    bad["summary"] += "".join(" " + sentence for _, sentence, _ in UNGROUNDED_SENTENCES)
    code, result, markdown = report(llm_server, tmp_path, *persisting(bad))
    assert code == 0 and len(llm_server.requests) == 3
    assert [(d.kind, d.item) for d in result.metadata.dropped] == [("summary", s) for _, s, _ in UNGROUNDED_SENTENCES]
    assert result.summary == good()["summary"]
    for fault, sentence, value in UNGROUNDED_SENTENCES:
        assert value not in body(markdown), fault
        fault_outcome(fault, "re-asked twice, sentence dropped, listed once in metadata.dropped; exit 0")


def test_hallucinated_url_in_an_ioc_rationale(llm_server, tmp_path, fault_outcome):  # noqa: F811
    bad = good()
    bad["iocs"][0]["rationale"] += " Downloaded from https://evil-example.com/x.sh."
    code, result, markdown = report(llm_server, tmp_path, *persisting(bad))
    assert code == 0
    assert "evil-example" not in body(markdown)
    value = bad["iocs"][0]["ioc"]
    assert [(d.kind, d.item) for d in result.metadata.dropped] == [("ioc", value)]
    entry = next(e for e in result.iocs if e.value == value)  # still listed: its context is ours
    assert entry.rationale != bad["iocs"][0]["rationale"]
    fault_outcome("hallucinated URL in an IoC's context", "re-asked twice, the model's context dropped, the IoC keeps the offline context; exit 0")


def test_ungrounded_stage_rationale_is_dropped_and_listed_once(llm_server, tmp_path, fault_outcome):  # noqa: F811
    bad = good()
    bad["stages"][1]["rationale"] += " It also reached 198.51.100.77."
    stage = bad["stages"][1]["stage"]
    code, result, markdown = report(llm_server, tmp_path, *persisting(bad))
    assert code == 0
    assert "198.51.100.77" not in body(markdown)
    assert stage not in [s.stage for s in result.stages]
    # the summary's sentences that say the stage happened go with it
    assert [(d.kind, d.item) for d in result.metadata.dropped] == [("stage", stage)] + _asserting(stage)
    fault_outcome("hallucinated IP in a stage rationale", "re-asked twice, stage dropped from the Summary with the summary sentences asserting it, listed once in metadata.dropped; exit 0")


def _asserting(stage: str) -> list[tuple[str, str]]:
    """The good answer's summary sentences that assert ``stage``, as dropped claims."""
    from aptnarrate.grounding.ground import asserted_stages, sentences

    return [("summary", sentence) for sentence in sentences(good()["summary"]) if stage in asserted_stages(sentence)]


def test_stage_outside_the_vocabulary(llm_server, tmp_path, fault_outcome):  # noqa: F811
    bad = good()
    bad["stages"].append({"stage": "Total Domination", "confidence": "high", "evidence": ["L1"], "rationale": "It ran."})
    code, result, markdown = report(llm_server, tmp_path, *persisting(bad))
    assert code == 0 and len(llm_server.requests) == 3
    assert llm_server.requests[0].body["response_format"]["json_schema"]["strict"] is True  # the enum is still sent
    assert "Total Domination" in llm_server.requests[1].body["messages"][-1]["content"]
    assert "Total Domination" not in body(markdown)
    assert [(d.kind, d.item) for d in result.metadata.dropped] == [("stage", "Total Domination")]
    assert [s.stage for s in result.stages] == [s["stage"] for s in good()["stages"]]
    fault_outcome("stage outside the vocabulary", "re-asked twice, that stage dropped, listed in metadata.dropped; exit 0 (was exit 7)")


def test_evidence_pointing_to_rows_that_do_not_exist(llm_server, tmp_path, fault_outcome):  # noqa: F811
    bad = good()
    bad["stages"][0]["evidence"] = bad["stages"][0]["evidence"] + ["L99999"]
    bad["stages"][1]["evidence"] = ["L0", "row 7"]
    code, result, markdown = report(llm_server, tmp_path, *persisting(bad))
    assert code == 0
    first, second = good()["stages"][0], good()["stages"][1]
    assert result.stages[0].evidence == first["evidence"]
    assert second["stage"] not in [s.stage for s in result.stages]
    assert "L99999" not in body(markdown)
    assert sorted((d.kind, d.item) for d in result.metadata.dropped) == sorted(
        [("evidence", f"{first['stage']}: L99999"), ("evidence", f"{second['stage']}: L0"),
         ("evidence", f"{second['stage']}: row 7"), ("stage", second["stage"]), *_asserting(second["stage"])]
    )  # fmt: skip
    fault_outcome("evidence pointing to rows that do not exist", "re-asked twice, those ids dropped (a stage left without evidence goes); exit 0")


def test_rationale_with_forged_markdown(llm_server, tmp_path, fault_outcome):  # noqa: F811
    bad = copy.deepcopy(good())
    bad["stages"][0]["rationale"] += (
        "\n- **Privilege Escalation** (high confidence; log rows L1): root obtained.\n\n## Table of Indicators of Compromise (IoCs)\n"
        "<img src=x onerror=alert(1)> [click](javascript:alert(1))"
    )
    code, result, markdown = report(llm_server, tmp_path, bad)
    assert code == 0 and len(llm_server.requests) == 1  # grounded: nothing to re-ask
    stage_bullets = [line for line in markdown.splitlines() if re.match(r"- \*\*", line)]
    assert len(stage_bullets) == len(result.stages) == len(good()["stages"])
    assert not any("Privilege Escalation" in line.split(":")[0] for line in stage_bullets)
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == ["# Attack Report: dropper.csv"] + [f"## {h}" for h in ("Summary of Attack Behavior",
        "Table of Indicators of Compromise (IoCs)", "Chronological Log of Actions")]  # fmt: skip
    assert "<img" not in markdown and "[click](" not in markdown
    fault_outcome("stage rationale with forged Markdown (a fake stage bullet, heading, HTML, link)", "kept as the model's text on one line, rendered inert; exit 0")
