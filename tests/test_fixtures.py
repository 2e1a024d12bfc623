"""The hand-written fixtures: honest labels, grounded answers, goldens that replay byte for byte."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from cli_in_process import run_cli

from aptnarrate import examples
from aptnarrate.grounding import ground
from aptnarrate.backends.replay import canonical_digest
from aptnarrate.llm.config import load_settings
from aptnarrate.models import Narration
from aptnarrate.pipeline import inspect_input
from aptnarrate.llm.prompt import build_request

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
RESPONSES = sorted((FIXTURES / "responses").glob("*.json"))
EXCHANGES = sorted((FIXTURES / "exchanges").glob("*.json"))
REPORTS = sorted((FIXTURES / "reports").glob("*.md"))
EXIT_BACKEND = 6


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source_of(record: dict, corpus_dir_getter) -> Path:
    """The input a response was written for; corpus inputs only where ../shared exists."""
    kind, _, name = record["metadata"]["input"].partition(":")
    if kind == "example":
        return examples.path(name)
    assert kind == "corpus", record["metadata"]["input"]
    return corpus_dir_getter() / name


def load_refresh():
    spec = importlib.util.spec_from_file_location("fixtures_refresh", FIXTURES / "refresh.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fixture_set_covers_examples_seeds_and_six_more_corpus_cases():
    inputs = [load(path)["metadata"]["input"] for path in RESPONSES]
    assert {f"example:{name}" for name in examples.names()} <= set(inputs)
    corpus = {i for i in inputs if i.startswith("corpus:")}
    assert {"corpus:cadets_subgraph_21.csv", "corpus:theia_subgraph_4.csv"} <= corpus
    assert len(corpus) >= 8
    # our examples have exchanges and goldens; corpus cases never do (../shared is not committed)
    assert sorted(p.stem for p in REPORTS) == sorted(examples.names())
    assert len(EXCHANGES) == len(examples.names())


@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.stem)
def test_response_is_hand_written_valid_and_grounded(path, request):
    record = load(path)
    metadata = record["metadata"]
    assert metadata["source"] == "hand-written"
    assert metadata["case"] == path.stem
    assert "not the output of any model" in metadata["note"]
    narration = Narration.model_validate(record["response"])
    facts = inspect_input(source_of(record, lambda: request.getfixturevalue("corpus_dir")))
    assert [issue.message() for issue in ground.check(narration, facts)] == []
    pruned, dropped = ground.prune(narration, facts)
    assert dropped == [] and pruned == narration
    # every in-table candidate gets the model's own context, each value once
    values = [claim.ioc for claim in narration.iocs]
    assert len(values) == len(set(values))
    assert {c.value for c in facts.candidates if c.in_table} <= set(values)


@pytest.mark.parametrize("path", EXCHANGES, ids=lambda p: p.stem)
def test_exchange_is_keyed_by_its_request_and_carries_its_response_file(path):
    record = load(path)
    assert path.stem == canonical_digest(record["request"])
    assert record["metadata"]["source"] == "hand-written"
    response = load(FIXTURES / "responses" / f"{record['metadata']['case']}.json")
    assert json.loads(record["response"]["content"]) == response["response"]
    assert record["response"]["finish_reason"] == "stop" and record["response"]["refusal"] is None
    assert record["request"]["model"] == "gpt-4o-mini" and record["request"]["mode"] == "structured"
    text = path.read_text(encoding="utf-8").lower()
    assert "authorization" not in text and "api_key" not in text and "bearer" not in text


def test_exchanges_and_goldens_are_up_to_date_with_the_code():
    refresh = load_refresh()
    assert refresh.stale(refresh.expected_files()) == [], "run: python fixtures/refresh.py"


@pytest.mark.parametrize("name", examples.names())
def test_replaying_the_exchanges_through_the_cli_reproduces_the_golden_report(name, tmp_path):
    result = run_cli("report", "--example", name, "--backend", "replay", "--fixtures", str(FIXTURES / "exchanges"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == (FIXTURES / "reports" / f"{name}.md").read_bytes()
    assert re.search(rb"aptnarrate: 1 call\(s\), \d+\+\d+ tokens", result.stderr)


def test_a_request_the_fixtures_lack_fails_loudly_naming_its_hash(tmp_path):
    model = "gpt-4o-mini-2024-07-18"
    settings = load_settings({"model": model}, environ={}, dotenv_path=None)
    digest = build_request(inspect_input(examples.path("dropper")), settings).request.digest()
    assert f"{digest}.json" not in {p.name for p in EXCHANGES}
    result = run_cli(
        "report", "--example", "dropper", "--backend", "replay", "--fixtures", str(FIXTURES / "exchanges"), "--model", model, cwd=tmp_path
    )
    stderr = result.stderr.decode()
    assert result.returncode == EXIT_BACKEND, stderr
    assert result.stdout == b"" and "Traceback" not in stderr
    assert f"no recorded response for request {digest}" in stderr
    assert "nearest recorded request" in stderr
    assert f"model: recorded 'gpt-4o-mini', requested '{model}'" in stderr


def test_a_fixture_recorded_for_an_older_prompt_misses_and_shows_the_prompt_diff(tmp_path):
    """Simulate a prompt change: the stored request's task text differs from today's."""
    stale_dir = tmp_path / "stale"
    stale_dir.mkdir()
    settings = load_settings({}, environ={}, dotenv_path=None)
    current = build_request(inspect_input(examples.path("exfil")), settings).request
    record = next(r for r in map(load, EXCHANGES) if r["metadata"]["case"] == "exfil")
    assert canonical_digest(record["request"]) == current.digest()
    user = record["request"]["messages"][1]
    user["content"] = user["content"].replace("Analyse the flagged subgraph below.", "Analyse this subgraph.")
    old_digest = canonical_digest(record["request"])
    (stale_dir / f"{old_digest}.json").write_text(json.dumps(record), encoding="utf-8")

    result = run_cli("report", "--example", "exfil", "--backend", "replay", "--fixtures", str(stale_dir), cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == EXIT_BACKEND, stderr
    assert f"no recorded response for request {current.digest()}" in stderr
    assert f"nearest recorded request: {old_digest}.json" in stderr
    assert "first differing message: #1 (user)" in stderr
    assert "-Analyse this subgraph." in stderr and "+Analyse the flagged subgraph below." in stderr
