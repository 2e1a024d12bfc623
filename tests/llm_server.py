"""An OpenAI-compatible chat server on 127.0.0.1 for tests: scripted replies and faults.

    server.enqueue(ok('{"stages": []}'), status(429, retry_after="0"), delay(3))

Serves ``POST /v1/chat/completions`` and the Azure path
``/openai/deployments/{name}/chat/completions?api-version=...``. Every request (path,
query, headers, JSON body) is kept in ``server.requests`` for assertions. With nothing
queued it answers 400 so a test fails fast instead of retrying.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

_PATHS = re.compile(r"^(/v1/chat/completions|/openai/deployments/(?P<deployment>[^/]+)/chat/completions)$")


MODEL_SETTINGS = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")  # prefixes of the variables that configure a model run


def clear_model_settings(monkeypatch) -> None:
    """Remove the model, key and aptnarrate settings of the shell that runs the tests."""
    for variable in [v for v in os.environ if v.startswith(MODEL_SETTINGS)]:
        monkeypatch.delenv(variable)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    content: str | None = None
    finish_reason: str = "stop"
    refusal: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # message for an error body
    error_code: str | None = None
    raw_body: str | None = None  # sent as is (e.g. not JSON)
    delay_s: float = 0.0  # sleep before answering
    prompt_tokens: int = 100
    completion_tokens: int = 20
    model: str | None = None  # default: the model the request named
    drip_s: float = 0.0  # send the body one byte at a time, this many seconds apart
    drop_after: int | None = None  # close the connection after this many body bytes
    body_patch: dict | None = None  # top-level keys replaced in a normal completion body


def ok(content: str | dict | list, **kw) -> Reply:
    """A normal answer; dict/list content is serialised to a JSON string."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Reply(content=text, **kw)


def status(code: int, message: str = "scripted failure", retry_after: str | None = None, **kw) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(status=code, error=message, headers=headers, **kw)


def delay(seconds: float, then: Reply | None = None) -> Reply:
    """Sleep past the client's timeout, then (if the client is still there) answer."""
    base = then or ok("{}")
    return Reply(**{**base.__dict__, "delay_s": seconds})


def drip(seconds_per_byte: float = 0.25, then: Reply | None = None) -> Reply:
    """A server that answers, but one byte every ``seconds_per_byte`` (per-read timeouts never fire)."""
    base = then or ok("{}")
    return Reply(**{**base.__dict__, "drip_s": seconds_per_byte})


def dropped(after_bytes: int = 40, then: Reply | None = None) -> Reply:
    """Headers promise a full body; the connection closes after ``after_bytes`` of it."""
    base = then or ok("{}")
    return Reply(**{**base.__dict__, "drop_after": after_bytes})


def patched(**keys) -> Reply:
    """A normal completion with top-level keys replaced (``choices={}``, ``usage="many"``)."""
    return Reply(content="{}", body_patch=keys)


def truncated(content: str = '{"stages": [{"stage": "Init') -> Reply:
    return Reply(content=content, finish_reason="length")


def content_filter() -> Reply:
    return Reply(content=None, finish_reason="content_filter")


def refusal(text: str = "I'm sorry, I can't help with that.") -> Reply:
    return Reply(content=None, refusal=text)


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: dict | None
    deployment: str | None
    arrived: float = field(default_factory=time.monotonic)  # this process's clock: the server runs in a thread of it


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:  # a client that gave up: expected here
        pass


class FakeLLMServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._queue: deque[Reply] = deque()
        self.respond: Callable[[dict | None], Reply] | None = None  # the reply chosen by the request, instead of the queue
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def root(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The base URL an OpenAI client takes."""
        return self.root + "/v1"

    def enqueue(self, *replies: Reply) -> FakeLLMServer:
        with self._lock:
            self._queue.extend(replies)
        return self

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return status(400, "fake server: no scripted reply left")

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = -1  # one write per reply: no Nagle/delayed-ACK stall on loopback
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}}, {})

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                match = _PATHS.match(parts.path)
                with server._lock:
                    server.requests.append(
                        Received(
                            method="POST",
                            path=parts.path,
                            query=parse_qs(parts.query),
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            deployment=match.group("deployment") if match else None,
                        )
                    )
                if not match:
                    self._send(404, {"error": {"message": f"no route {parts.path}", "type": "invalid_request_error"}}, {})
                    return
                reply = server.respond(body) if server.respond is not None else server._next()
                if reply.delay_s and server._stopping.wait(reply.delay_s):
                    return
                self._answer(reply, body or {})

            def _answer(self, reply: Reply, request: dict) -> None:
                if reply.raw_body is not None:
                    self._send(reply.status, reply.raw_body, reply.headers, reply)
                elif reply.status != 200:
                    error = {"message": reply.error, "type": "scripted", "code": reply.error_code}
                    self._send(reply.status, {"error": error}, reply.headers)
                else:
                    body = completion(reply, request.get("model", "unknown"))
                    body.update(reply.body_patch or {})
                    self._send(200, body, reply.headers, reply)

            def _send(self, code: int, payload, headers: dict[str, str], reply: Reply | None = None) -> None:
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                if reply is not None and (reply.drip_s or reply.drop_after is not None):
                    self._send_slowly(code, data, headers, reply)
                    return
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): expected in fault tests

            def _send_slowly(self, code: int, data: bytes, headers: dict[str, str], reply: Reply) -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.flush()
                    limit = len(data) if reply.drop_after is None else min(reply.drop_after, len(data))
                    for index in range(limit):
                        if reply.drip_s and server._stopping.wait(reply.drip_s):
                            return
                        self.wfile.write(data[index : index + 1])
                        self.wfile.flush()
                    if reply.drop_after is not None:
                        self.close_connection = True
                        self.connection.shutdown(2)  # SHUT_RDWR: the client sees the body end early
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client gave up: expected in fault tests

        return Handler


def completion(reply: Reply, model: str) -> dict:
    """A ``chat.completion`` body as the OpenAI API sends it."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": reply.refusal},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


@pytest.fixture
def llm_server():
    """A started ``FakeLLMServer``; stopped (and any sleeping handler woken) after the test."""
    server = FakeLLMServer().start()
    try:
        yield server
    finally:
        server.stop()
