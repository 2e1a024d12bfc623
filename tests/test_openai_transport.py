"""OpenAITransport through the real openai client against a loopback fake server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from llm_server import FakeLLMServer, Reply, content_filter, delay, llm_server, ok, refusal, status, truncated  # noqa: F401

from aptnarrate.backends.openai import RETRY_AFTER_CAP_S, OpenAITransport, raise_for_finish, retry_after_seconds
from aptnarrate.llm.chat import ChatRequest
from aptnarrate.llm.config import LLMSettings
from aptnarrate.errors import BackendError, ConfigError
from aptnarrate.models import Narration

NARRATION = {
    "stages": [
        {"stage": "Command and Control", "confidence": "high", "evidence": ["L2"], "rationale": "beacon"}
    ],
    "iocs": [{"ioc": "203.0.113.7", "legitimate_usage": "none", "likelihood": "high", "rationale": "C2"}],
    "summary": "A process connected to 203.0.113.7.",
}


def strict_schema() -> dict:
    from openai.lib._pydantic import to_strict_json_schema

    return to_strict_json_schema(Narration)


def make_request(mode: str = "structured", user: str = "timeline here", **kw) -> ChatRequest:
    return ChatRequest(
        messages=(("system", "You write attack reports."), ("user", user)),
        model=kw.pop("model", "gpt-4o-mini"),
        temperature=0.0,
        seed=7,
        mode=mode,  # type: ignore[arg-type]
        schema_name="Narration",
        schema=json.dumps(strict_schema(), sort_keys=True),
        **kw,
    )


class SleepRecorder:
    """Stands in for time.sleep: records the waits tenacity asks for, sleeps at most 50 ms."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(min(seconds, 0.05))


def transport(server: FakeLLMServer, sleep=None, **settings) -> OpenAITransport:
    values = {"api_key": "sk-test-SECRET", "base_url": server.url, "timeout_s": 5.0, **settings}
    return OpenAITransport(LLMSettings(**values), sleep=sleep or SleepRecorder())


# --------------------------------------------------------------------------- requests


def test_structured_request_carries_strict_json_schema(llm_server):
    llm_server.enqueue(ok(NARRATION))
    response = transport(llm_server).complete(make_request())

    assert json.loads(response.content) == NARRATION
    assert (response.finish_reason, response.transport_retries) == ("stop", 0)
    assert (response.prompt_tokens, response.completion_tokens) == (100, 20)
    (received,) = llm_server.requests
    assert received.path == "/v1/chat/completions"
    assert received.headers["x-stainless-helper-method"] == "chat.completions.parse"
    assert received.headers["x-stainless-retry-count"] == "0"
    body = received.body
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"] == "Narration"
    assert fmt["json_schema"]["schema"] == strict_schema()
    assert body["messages"] == [
        {"role": "system", "content": "You write attack reports."},
        {"role": "user", "content": "timeline here"},
    ]
    assert (body["model"], body["temperature"], body["seed"]) == ("gpt-4o-mini", 0.0, 7)


def test_json_mode_sends_json_object_without_schema(llm_server):
    llm_server.enqueue(ok(NARRATION))
    response = transport(llm_server).complete(make_request(mode="json", max_tokens=900))

    assert json.loads(response.content) == NARRATION
    body = llm_server.requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert body["max_tokens"] == 900
    assert "x-stainless-helper-method" not in llm_server.requests[0].headers


@pytest.mark.parametrize("content", ['{"stages": [', '{"stages": "not a list", "extra": 1}'])
def test_broken_or_off_schema_json_comes_back_as_text(llm_server, content):
    llm_server.enqueue(ok(content))
    response = transport(llm_server).complete(make_request())
    assert response.content == content  # the caller re-asks with the validation error


def test_model_reported_by_server_is_kept(llm_server):
    llm_server.enqueue(ok(NARRATION, model="gpt-4o-mini-2024-07-18"))
    assert transport(llm_server).complete(make_request()).model == "gpt-4o-mini-2024-07-18"


# --------------------------------------------------------------------------- retries


def test_429_then_500_then_success(llm_server):
    sleep = SleepRecorder()
    llm_server.enqueue(status(429, "slow down", retry_after="0"), status(500, "boom"), ok(NARRATION))
    response = transport(llm_server, sleep=sleep).complete(make_request())

    assert json.loads(response.content) == NARRATION
    assert response.transport_retries == 2
    assert len(llm_server.requests) == 3
    assert sleep.waits[0] == 0.0  # Retry-After: 0 honoured
    assert 0.75 <= sleep.waits[1] <= 1.0  # second retry, no header: 0.5 s x 2, minus up to 25% jitter


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"retry-after": "0.3"}, 0.3), ({"retry-after-ms": "250"}, 0.25), ({"retry-after": str(RETRY_AFTER_CAP_S)}, RETRY_AFTER_CAP_S)],
)
def test_retry_after_is_honoured_up_to_the_cap(llm_server, headers, expected):
    sleep = SleepRecorder()
    llm_server.enqueue(Reply(status=429, error="rate limited", headers=headers), ok(NARRATION))
    response = transport(llm_server, sleep=sleep).complete(make_request())
    assert response.transport_retries == 1
    assert sleep.waits == [pytest.approx(expected)]


def test_retry_after_beyond_the_cap_gives_up_at_once(llm_server):
    # waiting the cap and retrying early would only earn another 429
    sleep = SleepRecorder()
    llm_server.enqueue(status(429, "come back in an hour", retry_after="3600"), ok(NARRATION))
    with pytest.raises(BackendError, match="retry after 3600 s"):
        transport(llm_server, sleep=sleep).complete(make_request())
    assert sleep.waits == [] and len(llm_server.requests) == 1


def test_retry_after_beyond_total_budget_is_not_waited_for(llm_server):
    llm_server.enqueue(status(429, "come back later", retry_after="30"), ok(NARRATION))
    with pytest.raises(BackendError, match="HTTP 429.*1 attempt"):
        transport(llm_server, max_transport_seconds=5.0).complete(make_request())
    assert len(llm_server.requests) == 1


def test_rate_limit_on_every_attempt_gives_up(llm_server):
    llm_server.enqueue(*[status(429, "quota", retry_after="0")] * 5)
    with pytest.raises(BackendError) as caught:
        transport(llm_server, max_transport_attempts=3).complete(make_request())
    assert "HTTP 429" in str(caught.value) and "3 attempt" in str(caught.value)
    assert "APTNARRATE_MAX_ATTEMPTS" in str(caught.value)
    assert len(llm_server.requests) == 3


def test_timeout_gives_clear_error_within_configured_time(llm_server):
    llm_server.enqueue(delay(8), delay(8))
    started = time.monotonic()
    with pytest.raises(BackendError, match="did not answer within 1 s") as caught:
        transport(llm_server, timeout_s=1.0, max_transport_attempts=2).complete(make_request())
    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 6.0  # two 1 s attempts and a short backoff, not the server's 8 s
    assert "APTNARRATE_TIMEOUT" in str(caught.value)
    assert len(llm_server.requests) == 2


def test_total_retry_time_is_bounded(llm_server):
    llm_server.enqueue(*[delay(8)] * 10)
    started = time.monotonic()
    with pytest.raises(BackendError, match="did not answer"):
        transport(llm_server, timeout_s=1.0, max_transport_attempts=10, max_transport_seconds=2.5).complete(
            make_request()
        )
    assert time.monotonic() - started < 6.0
    assert len(llm_server.requests) < 10


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleep = SleepRecorder()
    settings = LLMSettings(api_key="sk-x", base_url=f"http://127.0.0.1:{port}/v1", max_transport_attempts=2)
    with pytest.raises(BackendError, match="cannot connect to http://127.0.0.1") as caught:
        OpenAITransport(settings, sleep=sleep).complete(make_request())
    assert "OPENAI_BASE_URL" in str(caught.value)
    assert len(sleep.waits) == 1


# --------------------------------------------------------------------------- non-retryable errors


@pytest.mark.parametrize(
    ("code", "needle"),
    [(401, "OPENAI_API_KEY"), (403, "no access"), (404, "'gpt-4o-mini'"), (400, "APTNARRATE_MODE=json")],
)
def test_client_errors_fail_at_once_with_advice(llm_server, code, needle):
    llm_server.enqueue(status(code, f"server says {code}"), ok(NARRATION))
    backend, request = transport(llm_server), make_request()
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        backend.complete(request)
    message = str(caught.value)
    assert f"HTTP {code}" in message and f"server says {code}" in message and needle in message
    assert len(llm_server.requests) == 1
    assert time.monotonic() - started < 2.0


def test_prompt_content_filter_400_is_named(llm_server):
    llm_server.enqueue(status(400, "The response was filtered", error_code="content_filter"))
    with pytest.raises(BackendError, match="content filter rejected the prompt"):
        transport(llm_server).complete(make_request())


def test_non_json_body_is_a_clear_error(llm_server):
    llm_server.enqueue(Reply(raw_body="<html>proxy login</html>"))
    with pytest.raises(BackendError, match="not JSON.*proxy login"):
        transport(llm_server).complete(make_request())


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000], ids=["arrays", "objects"])
def test_a_body_nested_deeper_than_the_parsers_stack_is_a_clear_error(llm_server, body):
    """``json.loads`` raises RecursionError, not ValueError, for such a body: it was an
    internal error (exit 1) on the synchronous and the async (batch) transport alike."""
    from aptnarrate.backends.openai_async import AsyncOpenAITransport
    from aptnarrate.models import Narration

    llm_server.enqueue(Reply(raw_body=body))
    with pytest.raises(BackendError, match="not JSON"):
        transport(llm_server, max_transport_attempts=1).complete(make_request())
    llm_server.enqueue(Reply(raw_body=body))
    batch = AsyncOpenAITransport(LLMSettings(api_key="sk-test-SECRET", base_url=llm_server.url, timeout_s=5.0, max_transport_attempts=1), Narration, concurrency=1)
    try:
        with pytest.raises(BackendError, match="not JSON"):
            batch.complete(make_request())
    finally:
        batch.close()


def test_missing_key_is_a_config_error_naming_the_variable():
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAITransport(LLMSettings(base_url="http://127.0.0.1:9/v1"))


# --------------------------------------------------------------------------- finish reasons


def test_length_content_filter_and_refusal_are_surfaced(llm_server):
    llm_server.enqueue(truncated('{"stages": [{"sta'), content_filter(), refusal("I can't help with that."))
    backend = transport(llm_server)

    cut = backend.complete(make_request())
    assert (cut.finish_reason, cut.content) == ("length", '{"stages": [{"sta')
    with pytest.raises(BackendError, match="cut off at its token limit"):
        raise_for_finish(cut)

    filtered = backend.complete(make_request())
    assert filtered.finish_reason == "content_filter"
    with pytest.raises(BackendError, match="content filter blocked"):
        raise_for_finish(filtered)

    refused = backend.complete(make_request())
    assert refused.refusal == "I can't help with that." and refused.content is None
    with pytest.raises(BackendError, match="refused to answer: I can't help with that."):
        raise_for_finish(refused)


def test_raise_for_finish_passes_a_normal_answer(llm_server):
    llm_server.enqueue(ok(NARRATION))
    response = transport(llm_server).complete(make_request())
    assert raise_for_finish(response) is response


# --------------------------------------------------------------------------- azure, misc


def test_azure_uses_deployment_path_api_version_and_api_key_header(llm_server):
    llm_server.enqueue(ok(NARRATION))
    settings = LLMSettings(
        provider="azure",
        api_key="azure-SECRET",
        azure_endpoint=llm_server.root,
        azure_deployment="narrator-prod",
        azure_api_version="2024-10-21",
        timeout_s=5.0,
    )
    response = OpenAITransport(settings).complete(make_request())
    assert json.loads(response.content) == NARRATION
    (received,) = llm_server.requests
    assert received.deployment == "narrator-prod"
    assert received.query["api-version"] == ["2024-10-21"]
    assert received.headers["api-key"] == "azure-SECRET"
    assert received.body["response_format"]["type"] == "json_schema"


def test_azure_404_names_deployment_settings(llm_server):
    llm_server.enqueue(status(404, "DeploymentNotFound"))
    settings = LLMSettings(provider="azure", api_key="k", azure_endpoint=llm_server.root, azure_deployment="nope")
    with pytest.raises(BackendError, match="APTNARRATE_AZURE_DEPLOYMENT"):
        OpenAITransport(settings).complete(make_request())


def test_retry_after_parsing():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_importing_the_backend_does_not_import_the_sdk():
    code = "import sys, aptnarrate.backends.openai, aptnarrate.backends.replay, aptnarrate.llm.config; print('openai' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------- schema lint


def test_narration_schema_is_strict_structured_output_safe():
    """What OpenAI strict mode rejects with a 400: defaults, open objects, untyped nodes, oneOf."""
    schema = strict_schema()
    problems: list[str] = []

    def walk(node, where: str) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]")
            return
        if not isinstance(node, dict):
            return
        if "default" in node:
            problems.append(f"{where}: default {node['default']!r}")
        if "oneOf" in node or "prefixItems" in node:
            problems.append(f"{where}: oneOf/prefixItems")
        if node.get("type") == "object" and node.get("additionalProperties") is not False:
            problems.append(f"{where}: object without additionalProperties: false (dict field?)")
        if node.get("type") == "object" and set(node.get("required", [])) != set(node.get("properties", {})):
            problems.append(f"{where}: not every property is required")
        if not ({"type", "anyOf", "$ref", "enum", "const"} & set(node)):
            problems.append(f"{where}: untyped node (Any?)")
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, child in value.items():
                    walk(child, f"{where}/{key}/{name}")
            elif key in ("items", "anyOf", "allOf"):
                walk(value, f"{where}/{key}")

    walk(schema, "#")
    assert problems == []
    assert schema["additionalProperties"] is False and set(schema["required"]) == {"stages", "iocs", "summary"}


def test_closing_the_async_transport_is_bounded_when_the_client_will_not_close(monkeypatch):
    """An interrupted batch closes its transport on the way out; a client close that waits
    on a request still winding down kept the interrupted command alive (close waited with
    no timeout)."""
    import asyncio
    import time

    from aptnarrate.backends import openai_async
    from aptnarrate.backends.openai_async import AsyncOpenAITransport
    from aptnarrate.models import Narration

    monkeypatch.setattr(openai_async, "_CLOSE_S", 0.5, raising=False)
    batch = AsyncOpenAITransport(LLMSettings(api_key="k", base_url="http://127.0.0.1:9/v1", timeout_s=5.0), Narration, concurrency=1)

    async def stuck() -> None:
        await asyncio.sleep(8)

    batch._client.close = stuck
    started = time.monotonic()
    batch.close()
    assert time.monotonic() - started < 5
    assert batch._loop.is_closed()


def test_an_error_no_one_awaits_is_not_printed_once_the_batch_is_stopping(caplog):
    """An interrupted batch printed a traceback after "interrupted" (seen under load): a
    request cancelled on Ctrl-C ended in a connection error that nothing awaited, and
    asyncio's default handler logged "Task exception was never retrieved" with it. The
    transport's loop reports such errors as before while it runs, not once it is stopping."""
    import logging

    from aptnarrate.backends.openai_async import AsyncOpenAITransport
    from aptnarrate.models import Narration

    batch = AsyncOpenAITransport(LLMSettings(api_key="k", base_url="http://127.0.0.1:9/v1", timeout_s=5.0), Narration, concurrency=1)
    context = {"message": "Task exception was never retrieved", "exception": ConnectionError("Connection error.")}
    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            batch._loop.call_exception_handler(context)
            assert "never retrieved" in caplog.text  # while it runs: reported
            caplog.clear()
            batch.cancel_all()  # the batch is stopping
            batch._loop.call_exception_handler(context)
            assert caplog.text == ""
    finally:
        batch.close()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        batch._loop.call_exception_handler(context)  # a task collected after the close
    assert caplog.text == ""


def test_a_wait_on_the_batch_loop_acts_on_a_signal_another_thread_received():
    """Linux hands a process's signal to any of its threads. One that lands on another thread
    only sets Python's flag; a caller blocked on the loop's answer without a timeout never ran
    the handler, and a batch waited a minute for a slow answer after SIGINT (seen in CI)."""
    import concurrent.futures
    import signal
    import threading

    from aptnarrate.backends.openai_async import _result

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can be set from the main thread only")

    class Interrupted(Exception):
        pass

    def interrupted(signum, frame):
        raise Interrupted

    future: concurrent.futures.Future = concurrent.futures.Future()

    def other_thread():
        time.sleep(0.2)
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # to this thread, not the waiting one
        time.sleep(5)
        if not future.done():
            future.set_result("the wait was not interrupted")

    previous = signal.signal(signal.SIGUSR1, interrupted)
    helper = threading.Thread(target=other_thread, daemon=True)
    started = time.monotonic()
    try:
        helper.start()
        with pytest.raises(Interrupted):
            _result(future)
        assert time.monotonic() - started < 2
    finally:
        future.cancel()
        signal.signal(signal.SIGUSR1, previous)
