"""Transport faults through the real ``openai`` client against the loopback server.

One test per fault. Each runs ``aptnarrate report -o FILE`` in-process with short limits
and checks: the documented exit code, the time bound (the configured deadline plus start-up
slack), no partial output file and no temp file left, and that the key never shows. Each
records what it observed with ``fault_outcome``; ``pytest --fault-table FILE`` writes the
table the README shows.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from llm_server import Reply, content_filter, delay, drip, dropped, llm_server, ok, patched, refusal, status, truncated  # noqa: F401

from aptnarrate.cli import main

REPO = Path(__file__).resolve().parents[1]
SECRET = "sk-fault-SENTINEL-5b1e"
TIMEOUT_S = 1.0  # --timeout: wall-clock limit per request
RETRY_BUDGET_S = 2.5  # APTNARRATE_MAX_RETRY_SECONDS: one call, retries and waits included
NARRATION_BUDGET_S = 4.0  # APTNARRATE_MAX_NARRATION_SECONDS: every call of the narration
SLACK_S = 3.0  # ingest + assembly + a loaded CI machine
EXIT_NAMES = {0: "report", 6: "BackendError", 7: "ValidationFailed"}
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")


def good_answer() -> dict:
    """The hand-written fixture answer for the ``benign`` example (see its metadata)."""
    return json.loads((REPO / "fixtures" / "responses" / "benign.json").read_text(encoding="utf-8"))["response"]


@dataclass
class Outcome:
    code: int
    elapsed: float
    stderr: str
    output: Path
    leftovers: list[str]
    requests: int

    def describe(self) -> str:
        error = self.stderr.split("aptnarrate: error: ", 1)[-1].strip() if self.code else ""
        error = re.sub(r"https?://127\.0\.0\.1:\d+/v1", "<endpoint>", error.splitlines()[0] if error else "")
        error = re.split(r": '?\{| \((?:try|raise|check|the|lower|audit|gave)\b", error)[0].strip()
        error = re.sub(r"\d+\.\d s", "N s", error)[:110].replace("|", "\\|")
        kind = EXIT_NAMES.get(self.code, "?")
        requests = f"{self.requests} request(s)"
        return f"{kind}, exit {self.code}, {requests}" + (f": {error}" if error else "; no partial file")


@pytest.fixture(scope="module")
def warm():
    """Import pandas, pyarrow and the SDK before any clock starts: the bound is for the fault."""
    import openai  # noqa: F401

    from aptnarrate import examples, narrate

    narrate(examples.path("benign"), backend="offline")


@pytest.fixture
def report_with(warm, llm_server, monkeypatch, capsys, tmp_path, fault_outcome):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("APTNARRATE_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("APTNARRATE_MAX_RETRY_SECONDS", str(RETRY_BUDGET_S))
    monkeypatch.setenv("APTNARRATE_MAX_NARRATION_SECONDS", str(NARRATION_BUDGET_S))
    monkeypatch.setenv("APTNARRATE_MAX_REASKS", "1")
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def run(fault: str, *replies: Reply) -> Outcome:
        llm_server.enqueue(*replies)
        output = out_dir / "report.md"
        started = time.monotonic()
        code = main(
            ["report", "--example", "benign", "--backend", "openai", "--timeout", str(TIMEOUT_S),
             "-o", str(output), "--env-file", ""]
        )  # fmt: skip
        elapsed = time.monotonic() - started
        captured = capsys.readouterr()
        outcome = Outcome(
            code=code,
            elapsed=elapsed,
            stderr=captured.err,
            output=output,
            leftovers=sorted(p.name for p in out_dir.iterdir() if p != output),
            requests=len(llm_server.requests),
        )
        # every fault: bounded in time, no temp file, no key anywhere, a file only on success
        assert elapsed < NARRATION_BUDGET_S + SLACK_S, (elapsed, captured.err)
        assert outcome.leftovers == []
        assert output.exists() == (code == 0), captured.err
        assert "Traceback" not in captured.err
        written = output.read_text(encoding="utf-8") if output.exists() else ""
        assert SECRET not in captured.err + captured.out + written
        fault_outcome(f"transport: {fault}", outcome.describe())
        return outcome

    return run


# --------------------------------------------------------------------------- retried faults


def test_429_without_retry_after_is_retried_with_backoff(report_with):
    outcome = report_with("429 without Retry-After, then an answer", status(429, "slow down"), ok(good_answer()))
    assert (outcome.code, outcome.requests) == (0, 2)


def test_429_with_retry_after_is_honoured(report_with):
    outcome = report_with("429 with Retry-After: 0.2, then an answer", status(429, "slow down", retry_after="0.2"), ok(good_answer()))
    assert (outcome.code, outcome.requests) == (0, 2)
    assert outcome.elapsed >= 0.2


def test_429_with_a_huge_retry_after_gives_up_at_once(report_with):
    outcome = report_with("429 with Retry-After: 3600", status(429, "quota", retry_after="3600"), ok(good_answer()))
    assert (outcome.code, outcome.requests) == (6, 1)
    assert "retry after 3600 s" in outcome.stderr
    assert outcome.elapsed < 1.0 + SLACK_S  # no waiting at all


def test_500_on_every_attempt_is_a_backend_error(report_with):
    outcome = report_with("500 on every attempt", status(500, "boom"), status(500, "boom"))
    assert (outcome.code, outcome.requests) == (6, 2)
    assert "HTTP 500" in outcome.stderr and "2 attempt(s)" in outcome.stderr


def test_503_once_is_retried(report_with):
    outcome = report_with("503 once, then an answer", status(503, "overloaded"), ok(good_answer()))
    assert (outcome.code, outcome.requests) == (0, 2)


def test_read_timeout_is_bounded(report_with):
    outcome = report_with("read timeout (server silent for 5 s)", delay(5), delay(5))
    # the last attempt gets what is left of the call's budget, so its limit may be under 1 s
    assert outcome.code == 6 and re.search(r"did not answer within (1|0\.\d+) s", outcome.stderr)
    assert outcome.elapsed < RETRY_BUDGET_S + SLACK_S


def test_byte_dripping_server_is_cut_off_at_the_deadline(report_with, monkeypatch):
    # one byte every 0.25 s never trips a per-read timeout (the body would take minutes);
    # the wall-clock deadline does. One attempt: the retry path is the read-timeout test's.
    monkeypatch.setenv("APTNARRATE_MAX_ATTEMPTS", "1")
    outcome = report_with("byte-dripping server (1 byte / 0.25 s)", drip(0.25, ok(good_answer())))
    assert outcome.code == 6 and "did not answer within 1 s" in outcome.stderr
    assert outcome.elapsed < TIMEOUT_S + SLACK_S


def test_connection_dropped_mid_body(report_with):
    outcome = report_with("connection dropped mid-body", dropped(40, ok(good_answer())), dropped(40, ok(good_answer())))
    assert outcome.code == 6 and "connection" in outcome.stderr and "broke" in outcome.stderr


def test_re_asks_stop_at_the_narration_deadline(report_with, monkeypatch):
    # each answer is off-schema and slow: re-asks would go on for 4 x 0.9 s; the
    # narration deadline (1.5 s) ends them
    monkeypatch.setenv("APTNARRATE_MAX_REASKS", "3")
    monkeypatch.setenv("APTNARRATE_MAX_NARRATION_SECONDS", "1.5")
    slow_wrong = delay(0.9, ok({"stages": "none"}))
    outcome = report_with("re-asks past the narration deadline (4 slow off-schema answers)", *[slow_wrong] * 4)
    # two requests on a quiet machine (the re-ask is cut off by the deadline); one where the
    # local work after the first answer took past the deadline (a loaded CI machine): the
    # deadline ends the narration either way, never the four the re-asks would take
    assert outcome.code == 6 and outcome.requests in (1, 2), outcome
    assert "did not answer within" in outcome.stderr
    assert outcome.elapsed < 1.5 + SLACK_S


# --------------------------------------------------------------------------- malformed bodies


def test_empty_choices(report_with):
    outcome = report_with("empty `choices`", patched(choices=[]))
    assert outcome.code == 6 and "'choices' is empty" in outcome.stderr


def test_choices_not_a_list(report_with):
    outcome = report_with("`choices` an object, not a list", patched(choices={"0": {"message": {"content": "{}"}}}))
    assert outcome.code == 6 and "'choices' is dict" in outcome.stderr


def test_content_as_a_list(report_with):
    choice = {"index": 0, "message": {"role": "assistant", "content": [{"type": "text", "text": "{}"}]}, "finish_reason": "stop"}
    outcome = report_with("`content` a list", patched(choices=[choice]))
    assert outcome.code == 6 and "content is list" in outcome.stderr


def test_missing_message(report_with):
    outcome = report_with("choice without `message`", patched(choices=[{"index": 0, "finish_reason": "stop"}]))
    assert outcome.code == 6 and "message is missing" in outcome.stderr


def test_non_numeric_usage(report_with):
    good = ok(good_answer())
    outcome = report_with("non-numeric `usage`", Reply(**{**good.__dict__, "body_patch": {"usage": {"prompt_tokens": "many"}}}))
    assert outcome.code == 6 and "usage.prompt_tokens" in outcome.stderr


def test_truncated_json_body(report_with):
    outcome = report_with("truncated JSON body", Reply(raw_body='{"id": "chatcmpl-x", "choices": [{"message": {"content": "{'))
    assert outcome.code == 6 and "not JSON" in outcome.stderr


def test_truncated_json_content_is_reasked_then_rejected(report_with):
    broken = ok('{"stages": [{"stage": "Initial Comp')
    outcome = report_with("truncated JSON in `content` (finish_reason stop)", broken, broken)
    assert (outcome.code, outcome.requests) == (7, 2)


def test_json_violating_the_schema_is_reasked_then_rejected(report_with):
    wrong = ok({"stages": "none", "iocs": 3})
    outcome = report_with("JSON violating the schema", wrong, wrong)
    assert (outcome.code, outcome.requests) == (7, 2)


def test_refusal(report_with):
    outcome = report_with("refusal", refusal())
    assert outcome.code == 6 and "refused" in outcome.stderr


def test_length_cut_off(report_with):
    outcome = report_with("length cut-off (finish_reason length)", truncated())
    assert outcome.code == 6 and "cut off" in outcome.stderr


def test_content_filter(report_with):
    outcome = report_with("content filter (finish_reason content_filter)", content_filter())
    assert outcome.code == 6 and "content filter" in outcome.stderr
