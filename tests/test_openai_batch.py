"""The Batch API path against a loopback /files + /batches server: same narrations as the
synchronous path, failed lines reported, an expired batch finished in a second batch, and
an interrupted run resumed without re-submitting finished requests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from batch_server import FakeBatchServer

from aptnarrate.grounding import ground
from aptnarrate.llm.config import load_settings
from aptnarrate.context.openai_batch import BatchJob, narrate_batch
from aptnarrate.errors import BackendError
from aptnarrate.examples import path as example_path
from aptnarrate.pipeline import inspect_input
from aptnarrate.llm.validate import parse_narration

RESPONSES = Path(__file__).resolve().parents[1] / "fixtures" / "responses"
CASES = ("benign", "dropper", "exfil")
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")


@pytest.fixture(autouse=True)
def no_settings_from_the_shell(monkeypatch):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)


@pytest.fixture(scope="module")
def jobs():
    return [BatchJob(case, inspect_input(example_path(case))) for case in CASES]


def _answer(custom_id: str, body: dict) -> str:
    # the hand-written fixture answers (labelled "hand-written" in fixtures/responses)
    return json.dumps(json.loads((RESPONSES / f"{custom_id}.json").read_text(encoding="utf-8"))["response"])


def _run(server, jobs, state, **kw):
    settings = load_settings({"base_url": server.url, "api_key": "test-key"}, dotenv_path=None)
    return narrate_batch(jobs, settings, state, poll_interval_s=0.01, max_wait_s=kw.pop("max_wait_s", 10), **kw)


@pytest.fixture
def server_factory():
    started = []

    def make(**kw):
        server = FakeBatchServer(_answer, **kw).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def test_batch_gives_the_synchronous_narrations_and_reports_a_failed_line(jobs, server_factory, tmp_path):
    server = server_factory(fail={"exfil"})
    seen = []
    outcome = _run(server, jobs, tmp_path / "state.json", progress=lambda s, d, t: seen.append((s, d, t)))
    assert set(outcome.results) == {"benign", "dropper"}
    assert set(outcome.failed) == {"exfil"} and "injected failure" in outcome.failed["exfil"]
    for job in jobs[:2]:
        expected, _ = ground.prune(parse_narration(_answer(job.custom_id, {})), job.facts)  # what the sync path keeps
        assert outcome.results[job.custom_id].narration == expected
    assert seen[-1] == ("completed", 3, 3)
    line = json.loads(server.files["file-in-1"].splitlines()[0])
    assert line["url"] == "/v1/chat/completions" and line["body"]["response_format"]["type"] == "json_schema"


def test_malformed_lines_in_the_output_file_are_passed_over_or_fail_their_input(jobs, server_factory, tmp_path):
    """A provider's output file is data: a line that is not JSON, not an object, or whose
    ``response``/``error`` has the wrong type was an internal error (exit 1) for the whole
    batch. Lines naming no request of the batch are passed over; a request whose line is
    malformed fails with the reason, the others are narrated."""
    server = server_factory()
    server.garbage = ["not json", "[1, 2]", "[" * 100_000 + "]" * 100_000, '{"custom_id": "nobody", "response": "text"}', '"just a string"']
    server.raw_lines = {"exfil": '{"custom_id": "exfil", "response": "text", "error": "a string"}'}
    outcome = _run(server, jobs, tmp_path / "state.json")
    assert set(outcome.results) == {"benign", "dropper"}
    assert set(outcome.failed) == {"exfil"} and "a string" in outcome.failed["exfil"]
    # a body that is no chat completion: that request's answer does not match the schema
    server = server_factory()
    server.raw_lines = {"exfil": json.dumps({"custom_id": "exfil", "response": {"status_code": 200, "body": {"choices": "x"}}})}
    outcome = _run(server, jobs, tmp_path / "state2.json")
    assert set(outcome.results) == {"benign", "dropper"} and set(outcome.failed) == {"exfil"}


def test_an_expired_batch_resubmits_only_its_unfinished_requests(jobs, server_factory, tmp_path):
    server = server_factory(expire_after=1)
    outcome = _run(server, jobs, tmp_path / "state.json")
    assert set(outcome.results) == set(CASES) and not outcome.failed
    assert server.batches == [list(CASES), list(CASES[1:])]


def test_an_interrupted_run_resumes_without_resubmitting(jobs, server_factory, tmp_path):
    server = server_factory(polls_in_progress=1000)
    state = tmp_path / "state.json"
    with pytest.raises(BackendError, match="run the same command again"):
        _run(server, jobs, state, max_wait_s=0.05)
    assert server.uploads == 1 and len(server.batches) == 1
    server.polls_in_progress = 0  # the provider finishes while we are away
    outcome = _run(server, jobs, state)
    assert set(outcome.results) == set(CASES)
    assert server.uploads == 1 and len(server.batches) == 1 and outcome.submitted == 0
    again = _run(server, jobs, state)  # everything finished: nothing is sent at all
    assert server.uploads == 1 and again.submitted == 0 and set(again.results) == set(CASES)


UNGROUNDED_SENTENCE = " The process then sent the data to 100.64.77.77."


def _answer_grounded_in_round(good_round: int):
    """The fixture answer, with a sentence naming an address the inputs lack in every round
    before ``good_round`` (round r's line holds 2 + 2r messages)."""

    def answer(custom_id: str, body: dict) -> str:
        data = json.loads(_answer(custom_id, body))
        if (len(body["messages"]) - 2) // 2 < good_round:
            data["summary"] += UNGROUNDED_SENTENCE
        return json.dumps(data)

    return answer


def _expected(job):
    expected, _ = ground.prune(parse_narration(_answer(job.custom_id, {})), job.facts)
    return expected


def _rounds(jobs, tmp_path, grounded_in_round: int, max_reasks: int):
    """``narrate_batch`` against a server whose answers ground from round ``grounded_in_round``."""
    server = FakeBatchServer(_answer_grounded_in_round(grounded_in_round)).start()
    try:
        settings = load_settings({"base_url": server.url, "api_key": "test-key", "max_reasks": max_reasks}, dotenv_path=None)
        return server, narrate_batch(jobs, settings, tmp_path / "state.json", poll_interval_s=0.01, max_wait_s=10)
    finally:
        server.stop()


def test_reasks_go_in_follow_up_batch_rounds_with_the_conversation(jobs, tmp_path):
    server, outcome = _rounds(jobs, tmp_path, grounded_in_round=2, max_reasks=2)
    assert server.batches == [list(CASES)] * 3 and server.chat_requests == 0  # two follow-up rounds, no sync call
    for job in jobs:
        result = outcome.results[job.custom_id]
        assert result.narration == _expected(job) and not result.dropped
        assert result.usage.reasks == 2 and result.usage.calls == 3
    first = json.loads(server.files["file-in-1"].splitlines()[0])["body"]["messages"]
    third = json.loads(server.files["file-in-3"].splitlines()[0])["body"]["messages"]
    assert third[:2] == first and [m["role"] for m in third[2:]] == ["assistant", "user"] * 2
    assert "100.64.77.77" in third[2]["content"] and "100.64.77.77" in third[3]["content"]  # the answer, the re-ask
    assert third[3]["content"].startswith("Your answer has errors")


def test_what_the_last_round_still_gets_wrong_is_pruned(jobs, tmp_path):
    server, outcome = _rounds(jobs, tmp_path, grounded_in_round=99, max_reasks=1)
    assert len(server.batches) == 2
    for job in jobs:
        result = outcome.results[job.custom_id]
        assert result.narration == _expected(job)
        assert any("100.64.77.77" in d.item or "100.64.77.77" in d.reason for d in result.dropped)


def test_a_run_interrupted_between_rounds_resumes_without_resubmitting(jobs, tmp_path):
    server = FakeBatchServer(_answer_grounded_in_round(1)).start()
    state = tmp_path / "state.json"
    try:
        settings = load_settings({"base_url": server.url, "api_key": "test-key", "max_reasks": 2}, dotenv_path=None)
        server.hold = {"batch-2"}  # the follow-up round is still running when we stop waiting
        with pytest.raises(BackendError, match="run the same command again"):
            narrate_batch(jobs, settings, state, poll_interval_s=0.01, max_wait_s=0.5)
        saved = json.loads(state.read_text(encoding="utf-8"))
        assert [b.get("round") for b in saved["batches"]] == [0, 1] and saved["batches"][0]["collected"]
        assert server.uploads == 2
        server.hold.clear()
        outcome = narrate_batch(jobs, settings, state, poll_interval_s=0.01, max_wait_s=10)
        assert server.uploads == 2 and len(server.batches) == 2 and outcome.submitted == 0
        for job in jobs:
            assert outcome.results[job.custom_id].narration == _expected(job)
            assert outcome.results[job.custom_id].usage.reasks == 1
    finally:
        server.stop()


def test_no_follow_up_round_or_synchronous_reask_goes_out_over_the_token_budget(jobs, tmp_path):
    """A follow-up round's line appends the answer and its errors to the request, which
    ``build_request`` fitted to the budget; nothing fitted the follow-up (nor a synchronous
    re-ask): an answer naming 300 addresses the inputs lack was sent back whole, over the
    budget. Such a re-ask is not sent now, in a batch round or synchronously: the answer is
    pruned as after the last round, and its notes say why."""
    import sys

    from aptnarrate.llm.prompt import build_request
    from aptnarrate.llm.validate import request_tokens

    sys.path.insert(0, str(Path(__file__).parent))
    from scripted import ScriptedTransport

    invented = " ".join(f"It reached 100.64.{i // 250}.{i % 250}." for i in range(300))

    def long_answer(custom_id: str, body: dict) -> str:
        data = json.loads(_answer(custom_id, body))
        data["summary"] += " " + invented
        return json.dumps(data)

    jobs = [job for job in jobs if job.custom_id == "dropper"]  # the largest request: the budget is its size and a little
    plain = load_settings({"api_key": "test-key", "token_budget": 10**6}, dotenv_path=None)
    budget = max(request_tokens(build_request(job.facts, plain, job.context).request) for job in jobs) + 200
    for reask in (None, ScriptedTransport()):  # follow-up rounds; synchronous re-asks (none queued: none may be sent)
        server = FakeBatchServer(long_answer).start()
        try:
            settings = load_settings({"base_url": server.url, "api_key": "test-key", "max_reasks": 2, "token_budget": budget}, dotenv_path=None)
            outcome = narrate_batch(jobs, settings, tmp_path / f"state-{reask is None}.json", poll_interval_s=0.01, max_wait_s=10, reask=reask)
        finally:
            server.stop()
        assert server.batches == [["dropper"]] and server.chat_requests == 0
        for line in server.files["file-in-1"].splitlines():
            messages = json.loads(line)["body"]["messages"]
            assert len(messages) == 2
        for job in jobs:
            result = outcome.results[job.custom_id]
            assert result.usage.calls == 1 and result.narration == _expected(job)
            assert any("100.64.0.7" in d.item or "100.64.0.7" in d.reason for d in result.dropped)
            assert any(n.startswith("a re-ask was not sent") and f"token budget of {budget}" in n for n in result.notes), result.notes


def test_a_finished_run_resumed_with_a_smaller_token_budget_ends_without_a_traceback(jobs, tmp_path):
    """The saved rounds of a run made with a large budget no longer fit a smaller one: the
    last round's conversation cannot be rebuilt (``conversation`` is None) and the resumed
    run crashed with AttributeError. It now ends as a re-ask that does not fit does: the last
    answer pruned, a note saying why, no request sent."""
    from aptnarrate.llm.prompt import build_request
    from aptnarrate.llm.validate import request_tokens

    jobs = [job for job in jobs if job.custom_id == "dropper"]
    state = tmp_path / "state.json"
    server = FakeBatchServer(_answer_grounded_in_round(2)).start()
    try:
        large = load_settings({"base_url": server.url, "api_key": "test-key", "max_reasks": 2, "token_budget": 10**6}, dotenv_path=None)
        narrate_batch(jobs, large, state, poll_interval_s=0.01, max_wait_s=10)
        assert len(server.batches) == 3
        budget = request_tokens(build_request(jobs[0].facts, large, None).request) + 30
        small = load_settings({"base_url": server.url, "api_key": "test-key", "max_reasks": 2, "token_budget": budget}, dotenv_path=None)
        outcome = narrate_batch(jobs, small, state, poll_interval_s=0.01, max_wait_s=10)
    finally:
        server.stop()
    assert len(server.batches) == 3 and server.chat_requests == 0  # nothing more was sent
    result = outcome.results["dropper"]
    assert any(n.startswith("a re-ask was not sent") and f"token budget of {budget}" in n for n in result.notes), result.notes


def test_a_follow_up_round_fitted_to_the_budget_says_so_in_the_notes(jobs, tmp_path):
    """A re-ask that lists only the errors that fit says so on the synchronous path ("a
    re-ask listed k of the answer's n errors"); a follow-up batch round fitted the same way
    said nothing."""
    from aptnarrate.llm.prompt import build_request
    from aptnarrate.llm.tokens import counter
    from aptnarrate.llm.validate import request_tokens

    invented = " ".join(f"It reached 100.64.{i // 250}.{i % 250}." for i in range(300))

    def long_answer(custom_id: str, body: dict) -> str:
        data = json.loads(_answer(custom_id, body))
        data["summary"] += " " + invented
        return json.dumps(data)

    jobs = [job for job in jobs if job.custom_id == "dropper"]
    plain = load_settings({"api_key": "test-key", "token_budget": 10**6}, dotenv_path=None)
    request = build_request(jobs[0].facts, plain, jobs[0].context).request
    # room for the answer and some of its 300 errors, not all of them
    budget = request_tokens(request) + counter().count(long_answer("dropper", {"messages": []})) + 1500
    server = FakeBatchServer(long_answer).start()
    try:
        settings = load_settings({"base_url": server.url, "api_key": "test-key", "max_reasks": 1, "token_budget": budget}, dotenv_path=None)
        outcome = narrate_batch(jobs, settings, tmp_path / "state.json", poll_interval_s=0.01, max_wait_s=10)
    finally:
        server.stop()
    assert len(server.batches) == 2  # the follow-up round went out, fitted
    result = outcome.results["dropper"]
    assert any(n.startswith("a re-ask listed ") and "of the answer's" in n for n in result.notes), result.notes
