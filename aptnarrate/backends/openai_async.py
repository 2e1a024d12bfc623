"""Concurrent chat transport over the SDK's ``AsyncOpenAI`` client, for batch runs.

One event loop runs in a background thread and owns one async client; at most
``concurrency`` requests are in flight (an ``asyncio.Semaphore``). ``complete`` is the
ordinary blocking ``ChatTransport`` call, so the re-ask loop and grounding run unchanged in
each batch worker while the requests of all workers share the loop and its connections.

Retries, errors and the overall deadline follow ``OpenAITransport`` (whose helpers and
error messages this reuses): 429, 5xx, timeouts and connection errors are retried with
``Retry-After`` honoured (capped), within ``max_transport_attempts`` and
``max_transport_seconds``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import random
import threading
import time
from typing import TYPE_CHECKING

from ..llm.chat import ChatRequest, ChatResponse
from ..errors import BackendError
from .openai import (
    _BACKOFF_BASE_S,
    _BACKOFF_CAP_S,
    _build_client,
    RETRY_AFTER_CAP_S,
    OpenAITransport,
    _request_kwargs,
    _to_response,
    retry_after_seconds,
)

_MIN_ATTEMPT_TIMEOUT_S = 1.0  # never give one attempt less than this

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    from ..llm.config import LLMSettings


_CLOSE_S = 5.0  # the longest a close waits for the client's connections to shut

# How long the caller's thread waits on the loop at a time. Linux hands a signal to any
# thread of the process: a Ctrl-C that lands on the loop's thread only sets Python's flag,
# and a thread blocked on a lock without a timeout never runs the handler (a batch went on
# waiting for a minute-long answer after SIGINT). Waking every slice runs it.
_WAIT_SLICE_S = 0.25


def _result(future: concurrent.futures.Future):
    """``future.result()``, waited for in slices so that a signal is acted on at once."""
    while True:
        try:
            return future.result(timeout=_WAIT_SLICE_S)
        except concurrent.futures.TimeoutError:
            if future.done():  # finished just now, or the coroutine's own TimeoutError (the same class)
                return future.result()


class AsyncOpenAITransport(OpenAITransport):
    """``ChatTransport`` whose requests run concurrently (bounded) on a shared event loop."""

    def __init__(
        self,
        settings: LLMSettings,
        response_model: type[BaseModel] | None = None,
        *,
        concurrency: int = 4,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self._loop = asyncio.new_event_loop()
        self._stopping = False
        self._loop.set_exception_handler(self._on_loop_error)
        self._thread = threading.Thread(target=self._loop.run_forever, name="aptnarrate-llm", daemon=True)
        self._thread.start()
        super().__init__(settings, response_model, client=self._on_loop(self._make_client(settings)))
        self._slots = self._on_loop(self._make_semaphore(concurrency))
        self.concurrency = concurrency
        self.in_flight = 0
        self.peak_in_flight = 0
        self.sent = 0
        self._count_lock = threading.Lock()

    @staticmethod
    async def _make_client(settings: LLMSettings):
        return _build_client(settings, asynchronous=True)

    @staticmethod
    async def _make_semaphore(n: int) -> asyncio.Semaphore:
        return asyncio.Semaphore(n)

    def _on_loop(self, coroutine):
        return _result(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """asyncio's report of an error no one awaited, as the loop's default handler gives
        it, unless the command is stopping: a request cancelled then (Ctrl-C, SIGTERM, a
        batch that ends) may still end in a connection error that nothing waits for, and
        asyncio printed it with a traceback after the command had said "interrupted"."""
        if not self._stopping:
            loop.default_exception_handler(context)

    def close(self) -> None:
        self._stopping = True
        if self._loop.is_closed():
            return
        try:
            # bounded: a close that waits on a request still winding down (an interrupt
            # landed mid-answer) must not keep an interrupted command alive
            asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result(timeout=_CLOSE_S)
        except concurrent.futures.TimeoutError:
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()

    def cancel_all(self) -> None:
        """Cancel every request in flight (the batch is stopping)."""
        self._stopping = True

        def cancel() -> None:
            for task in asyncio.all_tasks(self._loop):
                task.cancel()

        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(cancel)

    # ------------------------------------------------------------------ sending

    def complete(self, request: ChatRequest) -> ChatResponse:
        future = asyncio.run_coroutine_threadsafe(self.acomplete(request), self._loop)
        try:
            return _result(future)
        except BaseException:
            if not future.done():  # the caller stopped waiting (Ctrl-C): the command is stopping
                self._stopping = True
            future.cancel()  # do not leave the request running
            raise

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        import openai

        settings = self.settings
        started = time.monotonic()
        deadline = started + settings.max_transport_seconds
        retryable = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)
        attempts = 0
        while True:
            attempts += 1
            try:
                async with self._slots:
                    with self._count_lock:
                        self.in_flight += 1
                        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                        self.sent += 1
                    try:
                        body = await asyncio.wait_for(
                            self._asend(request, remaining=deadline - time.monotonic()),
                            timeout=max(deadline - time.monotonic(), _MIN_ATTEMPT_TIMEOUT_S),
                        )
                    finally:
                        with self._count_lock:
                            self.in_flight -= 1
                break
            except asyncio.TimeoutError:
                raise BackendError(
                    f"{self.endpoint} gave no complete answer within the overall deadline of "
                    f"{settings.max_transport_seconds:g} s ({attempts} attempt(s))",
                    hint="raise APTNARRATE_MAX_RETRY_SECONDS, or check that the server is up and not overloaded",
                ) from None
            except retryable as exc:
                wait = _retry_wait(exc, attempts)
                out_of_time = time.monotonic() + wait >= deadline
                if attempts >= settings.max_transport_attempts or out_of_time:
                    elapsed = time.monotonic() - started
                    if isinstance(exc, openai.APIStatusError):
                        raise self._status_error(exc, attempts, elapsed) from None
                    raise self._connection_error(exc, attempts, elapsed) from None
                await asyncio.sleep(wait)
            except openai.APIStatusError as exc:
                raise self._status_error(exc, attempts, time.monotonic() - started) from None
            except openai.OpenAIError as exc:
                raise BackendError(f"{self.endpoint}: {type(exc).__name__}: {exc}") from None
        return _to_response(body, request, attempts, time.monotonic() - started, self.endpoint)

    async def _asend(self, request: ChatRequest, remaining: float) -> dict:
        import openai

        settings = self.settings
        read = max(min(settings.timeout_s, remaining), _MIN_ATTEMPT_TIMEOUT_S)
        kwargs = _request_kwargs(request, openai.Timeout(read, connect=min(settings.connect_timeout_s, read)))
        completions = self._client.chat.completions.with_raw_response
        if request.mode == "structured":
            raw = await completions.parse(response_format=self.response_model, **kwargs)
        else:
            raw = await completions.create(response_format={"type": "json_object"}, **kwargs)
        try:
            body = json.loads(raw.text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's stack
            raise BackendError(
                f"{self.endpoint} answered with something that is not JSON: {raw.text[:200]!r}",
                hint="check that the base URL points at an OpenAI-compatible /v1 endpoint",
            ) from None
        if not isinstance(body, dict) or not body.get("choices"):
            raise BackendError(f"{self.endpoint} answered without choices: {raw.text[:200]!r}")
        return body


def _retry_wait(exc: BaseException, attempts: int) -> float:
    """Retry-After (capped) when the server sends one, else exponential backoff with jitter."""
    response = getattr(exc, "response", None)
    if response is not None:
        hinted = retry_after_seconds(response.headers)
        if hinted is not None:
            return min(hinted, RETRY_AFTER_CAP_S)
    backoff = min(_BACKOFF_BASE_S * 2 ** (attempts - 1), _BACKOFF_CAP_S)
    return backoff * (0.75 + 0.25 * random.random())
