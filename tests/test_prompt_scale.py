"""A prompt for any input size: rows are selected before rendering, within the budget.

The issue's figure is a 1M-row input (``bench/bench_report.py --prompt`` measures it); the
unit suite uses a 40,000-row generated input to stay within its time budget.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from llm_server import llm_server, ok, clear_model_settings  # noqa: F401  (pytest fixture)

from aptnarrate.llm import tokens
from aptnarrate.llm.compress import rule_evidence
from aptnarrate.llm.config import LLMSettings
from aptnarrate.errors import BudgetError
from aptnarrate.pipeline import inspect_input, run
from aptnarrate.llm.prompt import build_request, context_blocks, narration_schema
from aptnarrate.llm.prompt_context import COMPACT, FULL, MINIMAL

ROWS = 40_000
DEFAULT_BUDGET = LLMSettings().token_budget


def generated_input(rows: int, seed: int = 3) -> bytes:
    """An OCR-APT CSV: 25 processes loading 120 libraries and talking to 60 internal
    hosts, a few dropped scripts written and executed, a few public addresses; same-second
    repeats; it condenses to tens of thousands of log rows."""
    rng = np.random.default_rng(seed)
    processes = np.array([f"proc{i}" for i in range(25)], dtype=object)
    libraries = np.array([f"/usr/lib/libmod{i}.so.1" for i in range(120)], dtype=object)
    flows = np.array([f"10.0.0.5:4{i:03d}->10.0.1.{i}:445" for i in range(60)], dtype=object)
    lib_actions = np.array(["READ", "OPEN", "CLOSE", "MMAP"], dtype=object)
    subject = processes[rng.integers(0, len(processes), rows)]
    is_flow = rng.random(rows) < 0.2
    obj = np.where(is_flow, "the flow: " + flows[rng.integers(0, len(flows), rows)], "the file: " + libraries[rng.integers(0, len(libraries), rows)])
    action = np.where(is_flow, np.array(["CONNECT", "SENDTO"], dtype=object)[rng.integers(0, 2, rows)], lib_actions[rng.integers(0, 4, rows)])
    description = "The process: " + subject + " " + action + " " + obj
    # a little attack: scripts written, executed and deleted, beacons to public addresses
    rare = rng.choice(rows, 60, replace=False)
    for k, i in enumerate(rare):
        description[i] = [
            f"The process: proc{k % 3} WRITE the file: /tmp/stage{k % 5}.sh",
            f"The process: proc{k % 3} EXECUTE the file: /tmp/stage{k % 5}.sh",
            f"The process: proc{k % 3} CONNECT the flow: 10.0.0.5:5{k:03d}->198.51.100.{k % 4}:443",
            f"The process: proc{k % 3} UNLINK the file: /tmp/stage{k % 5}.sh",
        ][k % 4]
    seconds = np.sort(rng.integers(0, 2 * 86_400, rows)) + 1_523_404_800
    stamps = pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%d %H:%M:%S")
    return pd.DataFrame({"description": description, "timestamp": stamps}).to_csv(index=False).encode()


@pytest.fixture(scope="module")
def large_input(tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "large.csv"
    path.write_bytes(generated_input(ROWS))
    return path


@pytest.fixture(scope="module")
def large_facts(large_input):
    facts = inspect_input(large_input)
    rule_evidence(facts)  # the rules run once per input (``pipeline.run``'s offline baseline)
    return facts


def candidate_values(prompt: str) -> list[str]:
    block = prompt.split("<<<DATA candidates\n", 1)[1].split("\nDATA>>>", 1)[0]
    values = []
    for line in block.split("\n"):
        if not line:  # a subgraph without named entities has no candidate lines
            continue
        item = json.loads(line)
        values += [item["ioc"]] if "ioc" in item else item.get("in_table_iocs", [])
    return values


def test_a_large_log_gets_selected_rows_within_the_budget_in_bounded_time(large_facts):
    assert len(large_facts.timeline.log) > 10_000
    tokens.counter(), narration_schema()  # warm: the vocabulary and the openai import, paid once per process
    started = time.perf_counter()
    build = build_request(large_facts, LLMSettings())
    elapsed = time.perf_counter() - started
    assert elapsed < 5, elapsed
    assert build.tokens <= DEFAULT_BUDGET and build.steps[0] == "select-rows"
    prompt = build.request.messages[1][1]
    # measured independently of build.tokens
    assert tokens.counter().count_messages(build.request.messages) + tokens.counter().count(narration_schema()) == build.tokens
    shown = set(candidate_values(prompt))
    assert {c.value for c in large_facts.table_candidates} <= shown
    timeline = prompt.split("<<<DATA timeline\n", 1)[1].split("\nDATA>>>", 1)[0].split("\n")
    rows = [json.loads(line) for line in timeline if line.startswith('{"id"')]
    assert 50 < len(rows) < len(large_facts.timeline.log)
    # the prompt says plainly what it leaves out, with counts that add up
    left_out = [json.loads(line) for line in timeline if line.startswith('{"left_out"')]
    assert left_out and left_out[0]["rows"] == len(large_facts.timeline.log) - len(rows)
    assert "not shown" in left_out[0]["left_out"]
    groups = [json.loads(line) for line in timeline if line.startswith('{"left_out_group"')]
    assert groups and sum(g["rows"] for g in groups) <= left_out[0]["rows"]
    assert any(line.startswith('{"left_out_rows_per_hour"') for line in timeline)
    # the first and last sighting of the best-ranked table candidates are rows shown
    ids = {r["id"] for r in rows}
    top = large_facts.table_candidates[0]
    assert top.evidence[0] in ids and top.evidence[-1] in ids
    assert any("select-rows" in note for note in build.notes)
    assert not any("compact form" in note for note in build.notes)  # the default budget holds the full blocks


def test_budget_error_only_when_the_table_candidates_themselves_do_not_fit(large_facts):
    with pytest.raises(BudgetError) as caught:
        build_request(large_facts, LLMSettings(token_budget=1500))
    assert caught.value.exit_code == 5 and "IoC-table candidates" in str(caught.value)


def test_when_the_full_context_blocks_do_not_fit_they_go_compact_instead_of_exit_5(large_facts):
    """A budget between the smallest prompt with the full context blocks and the one with
    the compact blocks: the compact blocks, every IoC-table candidate, within the budget
    (it was exit 5 before the compact form existed)."""
    with pytest.raises(BudgetError) as caught:
        build_request(large_facts, LLMSettings(token_budget=1500))
    smallest = int(re.search(r"needs (\d+) tokens", str(caught.value)).group(1))  # the compact blocks' floor
    count = tokens.counter().count
    full, compact = (sum(count(text) for text in context_blocks(large_facts, limits).values()) for limits in (FULL, COMPACT))
    assert full - compact > 400
    budget = smallest + (full - compact) // 2
    build = build_request(large_facts, LLMSettings(token_budget=budget))
    assert build.tokens <= budget and any("compact form" in note for note in build.notes)
    prompt = build.request.messages[1][1]
    assert {c.value for c in large_facts.table_candidates} <= set(candidate_values(prompt))
    hypotheses = prompt.split("<<<DATA hypotheses\n", 1)[1].split("\nDATA>>>", 1)[0].split("\n")
    reasons = [json.loads(line)["rule_reason"] for line in hypotheses if '"rule_reason"' in line]
    assert reasons and all(len(r) <= COMPACT.reason_chars + 80 for r in reasons)


def test_every_budget_above_the_smallest_prompt_builds_one_within_it(large_facts):
    """From the smallest prompt (minimal context blocks, bare table values) up to the full
    blocks, every budget gets a prompt within it: a candidate block that fits but leaves the
    timeline no room gives way to a smaller context form (the 1M-row edge list's prompt ran
    12,030 tokens over a 12,000 budget: its compact blocks fit, its left-out counts did not)."""
    with pytest.raises(BudgetError) as caught:
        build_request(large_facts, LLMSettings(token_budget=1500))
    smallest = int(re.search(r"needs (\d+) tokens", str(caught.value)).group(1))
    count = tokens.counter().count
    full, minimal = (sum(count(text) for text in context_blocks(large_facts, limits).values()) for limits in (FULL, MINIMAL))
    forms = set()
    for budget in range(smallest + 150, smallest + full - minimal + 400, 61):
        build = build_request(large_facts, LLMSettings(token_budget=budget))
        assert build.tokens <= budget, budget
        forms |= {form for form in ("compact form", "minimal form") if any(form in note for note in build.notes)}
    assert forms == {"compact form", "minimal form"}


def test_a_large_input_reaches_the_model_in_one_request(large_input, large_facts, llm_server, monkeypatch):  # noqa: F811
    clear_model_settings(monkeypatch)
    llm_server.enqueue(ok({"stages": [], "iocs": [], "summary": "Processes read and wrote files."}))
    started = time.perf_counter()
    result = run(large_input, backend="openai", llm={"base_url": llm_server.url, "api_key": "k", "model": "gpt-4o-mini"})
    elapsed = time.perf_counter() - started
    assert len(llm_server.requests) == 1
    body = llm_server.requests[0].body
    messages = tuple((m["role"], m["content"]) for m in body["messages"])
    sent = tokens.counter().count_messages(messages) + tokens.counter().count(narration_schema())
    assert sent <= DEFAULT_BUDGET
    table = [c.value for c in large_facts.table_candidates]
    assert set(table) <= set(candidate_values(messages[1][1]))
    assert elapsed < 60, elapsed  # loose: shared CI machines; the 5 s figure is the benchmark's
    report = result.report
    assert report.metadata.backend == "openai" and len(report.log) == report.metadata.log_rows
    print(f"{ROWS} rows: one request of {sent} tokens after {elapsed:.1f} s (local work and a loopback reply)")


def test_every_corpus_case_fits_the_default_budget(corpus_dir):
    over = {}
    for path in sorted(corpus_dir.glob("*_subgraph_*.csv")):
        if path.name.endswith(".edges.csv"):
            continue
        facts = inspect_input(path)
        try:
            build = build_request(facts, LLMSettings())
        except BudgetError as exc:
            over[path.name] = str(exc)
            continue
        if build.tokens > DEFAULT_BUDGET:
            over[path.name] = build.tokens
        table = {c.value for c in facts.table_candidates}
        assert table <= set(candidate_values(build.request.messages[1][1])), path.name
    assert not over
