"""The corpus through ``batch`` with a model: one request per subgraph when the answers ground.

The loopback server (tests/llm_server.py) answers each request from its own prompt, as a
careful model would: the IoC-table candidates it lists (the first one twice, a harmless
repeat that must be merged, not re-asked), the stages of the rule hypotheses with row ids
the prompt shows (the first stage split into two entries), and a plain summary. These
answers are written by the test, not by a model. Skips when the corpus is absent.
"""

from __future__ import annotations

import json
import re

import pytest
from llm_server import llm_server, ok, clear_model_settings  # noqa: F401  (pytest fixture)

from aptnarrate.host.batch import Batch
from aptnarrate.host.inputs import expand_inputs
from aptnarrate.pipeline import NarrateOptions

_ID = re.compile(r"L(\d+)(?:-L(\d+))?")


def block(prompt: str, name: str) -> list[dict]:
    text = prompt.split(f"<<<DATA {name}\n", 1)[1].split("\nDATA>>>", 1)[0]
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def ids_in(text: str) -> list[str]:
    """The row ids an ``L1-L3, L7, and 5 more`` list names."""
    found = []
    for first, last in _ID.findall(text):
        found += [f"L{n}" for n in range(int(first), int(last or first) + 1)]
    return found


def answer_from(body: dict) -> dict:
    prompt = body["messages"][1]["content"]
    table = []
    for item in block(prompt, "candidates"):
        if item.get("in_table"):
            table.append(item["ioc"])
        table += item.get("in_table_iocs", [])
    iocs = [
        {"ioc": value, "legitimate_usage": "Named in the candidate list of this subgraph.", "likelihood": "moderate",
         "rationale": "Listed by the rules among the candidates."}
        for value in table[:6]
    ]  # fmt: skip
    if iocs:
        iocs.append({**iocs[0], "rationale": "Listed again: the same candidate."})
    stages = []
    for hypothesis in block(prompt, "hypotheses"):
        evidence = ids_in(hypothesis.get("evidence", ""))[:12]
        if "stage" in hypothesis and evidence:
            stages.append({"stage": hypothesis["stage"], "confidence": hypothesis["confidence"], "evidence": evidence,
                           "rationale": "The cited rows show this stage."})  # fmt: skip
    if stages and len(stages[0]["evidence"]) > 1:
        half = len(stages[0]["evidence"]) // 2
        stages.append({**stages[0], "evidence": stages[0]["evidence"][half:]})
        stages[0] = {**stages[0], "evidence": stages[0]["evidence"][:half]}
    return {"stages": stages, "iocs": iocs, "summary": "The flagged activity is summarised by its log."}


@pytest.fixture
def model_settings(monkeypatch, tmp_path, llm_server):  # noqa: F811
    clear_model_settings(monkeypatch)
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-batch-one")
    monkeypatch.chdir(tmp_path)  # no .env from the checkout


def test_the_corpus_through_batch_makes_one_request_per_subgraph(corpus_dir, llm_server, model_settings, tmp_path):  # noqa: F811
    llm_server.respond = lambda body: ok(answer_from(body))
    inputs = sorted(str(p) for p in corpus_dir.glob("*_subgraph_*.csv") if not p.name.endswith(".edges.csv"))
    items, _ = expand_inputs(inputs)
    result = Batch(items, tmp_path / "out", NarrateOptions(backend="openai", dotenv=None), formats=["json"], concurrency=8).run()
    assert [o.status for o in result.outcomes] == ["written"] * len(inputs), [o.reason for o in result.outcomes if o.reason]
    assert len(llm_server.requests) == len(inputs) == result.model_calls
    merged = 0
    for outcome in result.outcomes:
        metadata = outcome.report.metadata
        assert metadata.usage.calls == 1 and metadata.usage.reasks == 0, outcome.input.name
        assert not [d for d in metadata.dropped if d.kind != "summary"], (outcome.input.name, metadata.dropped)
        merged += any(note.startswith("merged") for note in metadata.notes)
    assert merged >= len(inputs) // 2  # the repeats were there, and merged
