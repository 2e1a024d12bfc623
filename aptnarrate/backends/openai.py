"""Chat transport through the official ``openai`` SDK (OpenAI, Azure OpenAI, compatible servers).

Transport retries only: 429, 5xx, timeouts and connection errors are retried here by
this module (the SDK's own retries are off), honouring ``Retry-After``, bounded by attempts
and total time. Schema and grounding re-asks belong to the caller. The SDK is imported
when a transport is built, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import json
import random
import threading
import time
from typing import TYPE_CHECKING, Any

from ..llm.chat import ChatRequest, ChatResponse
from ..errors import BackendError
from ..redact import redact, redact_url, register_secret, register_url

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    from ..llm.config import LLMSettings

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
RETRY_AFTER_CAP_S = 60.0  # a server asking for a longer wait is not waited for: give up at once
MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # a chat completion is kilobytes; more is a broken server
_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 8.0

# The wall-clock instant (time.monotonic) by which the current narration must be done; set
# by ``narration_deadline`` around all the calls (re-asks included) of one narration.
NARRATION_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("narration_deadline", default=None)


@contextlib.contextmanager
def narration_deadline(seconds: float):
    """Bound every transport call made inside the block to ``seconds`` from now, in all."""
    token = NARRATION_DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        NARRATION_DEADLINE.reset(token)


class AttemptDeadlineExceeded(Exception):
    """One request ran past its wall-clock budget (send to last byte)."""

    def __init__(self, budget: float) -> None:
        super().__init__(f"no complete answer within {budget:g} s")
        self.budget = budget


class OpenAITransport:
    """``ChatTransport`` over ``chat.completions``: ``parse`` (json_schema) or ``create`` (json_object)."""

    name = "openai"

    def __init__(
        self,
        settings: LLMSettings,
        response_model: type[BaseModel] | None = None,
        *,
        client: Any = None,
        sleep=time.sleep,
    ) -> None:
        settings.require_key()
        register_secret(settings.api_key)
        register_url(settings.base_url)
        register_url(settings.azure_endpoint)
        if response_model is None:
            from ..models import Narration

            response_model = Narration
        self.settings = settings
        self.response_model = response_model
        self.endpoint = _endpoint(settings)
        # the SDK client (and ``import openai``, about a second) is built on first use or by
        # ``warm`` in a background thread while the input is read (``warm_up_in_background``)
        self._built_client = client
        self._client_lock = threading.Lock()
        self._sleep = sleep

    @property
    def _client(self):
        if self._built_client is None:
            with self._client_lock:
                if self._built_client is None:
                    self._built_client = _build_client(self.settings)
        return self._built_client

    def warm(self) -> None:
        """Import the SDK and build the client now (from a warm-up thread)."""
        self._client  # noqa: B018

    def close(self) -> None:
        with self._client_lock:  # waits for a build in progress, never starts one
            if self._built_client is not None:
                self._built_client.close()

    # ------------------------------------------------------------------ sending

    def complete(self, request: ChatRequest) -> ChatResponse:
        import openai

        settings = self.settings
        started = time.monotonic()
        deadline = started + settings.max_transport_seconds
        outer = NARRATION_DEADLINE.get()
        if outer is not None:
            deadline = min(deadline, outer)
        retryable = (
            openai.RateLimitError,
            openai.InternalServerError,
            openai.APIConnectionError,  # includes APITimeoutError
            AttemptDeadlineExceeded,
        )
        attempts = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._out_of_time(attempts, time.monotonic() - started)
                attempts += 1
                try:
                    body = self._send(request, budget=min(settings.timeout_s, remaining))
                    break
                except retryable as exc:
                    if attempts >= settings.max_transport_attempts:
                        raise
                    wait = _wait_for_retry(exc, attempts)
                    if wait is None or time.monotonic() + wait >= deadline:
                        raise  # the server's Retry-After (or the backoff) would overrun the deadline
                    self._sleep(wait)
        except openai.APIStatusError as exc:
            raise self._status_error(exc, attempts, time.monotonic() - started) from None
        except (openai.APIConnectionError, AttemptDeadlineExceeded) as exc:
            raise self._connection_error(exc, attempts, time.monotonic() - started) from None
        except openai.OpenAIError as exc:
            raise BackendError(redact(f"{self.endpoint}: {type(exc).__name__}: {exc}")) from None
        return _to_response(body, request, attempts, time.monotonic() - started, self.endpoint)

    def _send(self, request: ChatRequest, budget: float) -> dict:
        """One request, bounded in wall-clock time by ``budget`` seconds from send to last byte.

        httpx's timeouts are per socket operation, so a server that drips one byte at a
        time never trips them. The request runs in a daemon worker thread that streams the
        body and stops itself at the deadline; the caller stops waiting at the deadline
        whatever the worker is blocked on (at worst one more read timeout, itself <= budget).
        """
        import openai

        settings = self.settings
        budget = max(budget, 0.05)
        deadline = time.monotonic() + budget
        kwargs = _request_kwargs(request, openai.Timeout(budget, connect=min(settings.connect_timeout_s, budget)))
        outcome: dict[str, Any] = {}
        stop = threading.Event()

        def work() -> None:
            try:
                outcome["text"] = self._fetch(request, kwargs, deadline, stop)
            except BaseException as exc:  # handed to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=work, name="aptnarrate-request", daemon=True)
        worker.start()
        worker.join(budget)
        if worker.is_alive() or outcome.get("text") is None and "error" not in outcome:
            stop.set()
            raise AttemptDeadlineExceeded(budget)
        if "error" in outcome:
            raise outcome["error"]
        text = outcome["text"]
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's stack
            raise BackendError(
                redact(f"{self.endpoint} answered with something that is not JSON: {text[:200]!r}"),
                hint="check that the base URL points at an OpenAI-compatible /v1 endpoint",
            ) from None
        return body

    def _fetch(self, request: ChatRequest, kwargs: dict, deadline: float, stop: threading.Event) -> str | None:
        """The response body as text (None once the deadline passed), read in chunks."""
        import httpx2
        import openai

        completions = self._client.chat.completions.with_streaming_response
        if request.mode == "structured":
            # the raw body, not the SDK's parsed object: broken or off-schema JSON, length
            # cut-offs and content filters reach the caller as text, not exceptions
            manager = completions.parse(response_format=self.response_model, **kwargs)
        else:
            manager = completions.create(response_format={"type": "json_object"}, **kwargs)
        with manager as response:
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_bytes():
                    if stop.is_set() or time.monotonic() > deadline:
                        return None
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise BackendError(
                            redact(f"{self.endpoint} sent more than {MAX_RESPONSE_BYTES} bytes; not a chat completion")
                        )
                    chunks.append(chunk)
            except httpx2.TimeoutException:
                raise openai.APITimeoutError(request=response.http_request) from None
            except httpx2.TransportError as exc:  # e.g. the connection dropped mid-body
                raise openai.APIConnectionError(
                    message=f"{type(exc).__name__}: {exc}", request=response.http_request
                ) from exc
        return b"".join(chunks).decode("utf-8", errors="replace")

    def _out_of_time(self, attempts: int, elapsed: float) -> BackendError:
        return BackendError(
            redact(f"{self.endpoint}: no time left for a request ({attempts} attempt(s) in {elapsed:.1f} s)"),
            hint="raise APTNARRATE_MAX_RETRY_SECONDS or APTNARRATE_MAX_NARRATION_SECONDS",
        )

    # ------------------------------------------------------------------ errors

    def _status_error(self, exc, attempts: int, elapsed: float) -> BackendError:
        status = exc.status_code
        message, code = _server_message(exc)
        model = self.settings.azure_deployment or self.settings.model
        what = redact(f"{self.endpoint} returned HTTP {status}: {message}")
        if status == 429 or status >= 500:
            waited = retry_after_seconds(exc.response.headers) if exc.response is not None else None
            if waited is not None and waited > RETRY_AFTER_CAP_S:
                what += f" (it asked to retry after {waited:.0f} s, more than aptnarrate waits)"
            return BackendError(
                f"{what} (gave up after {attempts} attempt(s) in {elapsed:.1f} s)",
                hint="try again later, or raise APTNARRATE_MAX_ATTEMPTS / APTNARRATE_MAX_RETRY_SECONDS",
            )
        if status == 401:
            hint = f"check {self.settings.key_variable}: the server rejected the key"
        elif status == 403:
            hint = f"the key has no access to model {model!r} (check the project, organisation or region)"
        elif status == 404:
            hint = f"check the model name ({model!r}) and the base URL ({self.endpoint})"
            if self.settings.provider == "azure":
                hint += ", the deployment name (APTNARRATE_AZURE_DEPLOYMENT) and OPENAI_API_VERSION"
        elif code == "content_filter":
            hint = "the provider's content filter rejected the prompt"
        elif status in (400, 422):
            hint = (
                "the server rejected the request; if it does not support json_schema response "
                "formats (Ollama, older vLLM, llama.cpp) set APTNARRATE_MODE=json"
            )
        elif status == 413:
            hint = "the prompt is too large: lower APTNARRATE_TOKEN_BUDGET"
        else:
            hint = None
        return BackendError(what, hint=hint)

    def _connection_error(self, exc, attempts: int, elapsed: float) -> BackendError:
        import openai

        tried = f"{attempts} attempt(s) in {elapsed:.1f} s"
        if isinstance(exc, (openai.APITimeoutError, AttemptDeadlineExceeded)):
            limit = min(getattr(exc, "budget", self.settings.timeout_s), self.settings.timeout_s)
            return BackendError(
                f"{self.endpoint} did not answer within {limit:.3g} s ({tried})",
                hint="raise APTNARRATE_TIMEOUT, or check that the server is up and not overloaded",
            )
        cause = exc.__cause__ or exc
        if "Connect" not in type(cause).__name__:  # connected, then the exchange broke
            return BackendError(
                redact(f"the connection to {self.endpoint} broke: {type(cause).__name__}: {cause} ({tried})"),
                hint="the server or a proxy closed the connection mid-answer; try again",
            )
        return BackendError(
            redact(f"cannot connect to {self.endpoint}: {type(cause).__name__}: {cause} ({tried})"),
            hint="check OPENAI_BASE_URL (or AZURE_OPENAI_ENDPOINT) and that the server is running",
        )


def warm_up_in_background(transport: Any) -> threading.Thread:
    """Start a daemon thread that does, while the caller reads its input, the work every
    model request needs first: ``import openai`` and the SDK client, and the o200k
    vocabulary (``tokens.counter``). Nothing here depends on the input; the
    caller joins the thread before it returns (never leave it running into a fork)."""

    def work() -> None:
        try:
            inner = transport
            while inner is not None and not hasattr(inner, "warm"):  # recording or caching wrappers
                inner = getattr(inner, "inner", None)
            if inner is not None:
                inner.warm()
            # only modules the input's reading never imports (the SDK, tiktoken): two threads
            # importing the same modules could trip the import system's deadlock detection
            from ..llm.tokens import counter

            counter()
        except Exception:  # noqa: BLE001 - a warm-up only; the request path builds and reports it again
            pass

    thread = threading.Thread(target=work, name="aptnarrate-warm-up", daemon=True)
    thread.start()
    return thread


def raise_for_finish(response: ChatResponse) -> ChatResponse:
    """Turn a refusal, a length cut-off or a content filter into a ``BackendError``."""
    if response.refusal:
        raise BackendError(
            f"the model refused to answer: {response.refusal[:300]}",
            hint="the refusal is the model's own; check the input or try another model",
        )
    if response.finish_reason == "length":
        raise BackendError(
            f"the model's answer was cut off at its token limit ({response.completion_tokens} "
            "completion tokens, finish_reason=length)",
            hint="lower APTNARRATE_TOKEN_BUDGET to send a smaller timeline, or use a model with a larger output limit",
        )
    if response.finish_reason == "content_filter":
        raise BackendError(
            "the provider's content filter blocked the answer (finish_reason=content_filter)",
            hint="audit-log text can trip content filters; try another model or deployment",
        )
    return response


# --------------------------------------------------------------------------- helpers


def _build_client(settings: LLMSettings, *, asynchronous: bool = False):
    """The SDK client for ``settings`` (the async one for ``batch``): SDK retries off, our
    timeouts, and base_url always explicit so the SDK does not read OPENAI_BASE_URL behind
    our back."""
    import openai

    timeout = openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
    if settings.provider == "azure":
        azure = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        return azure(
            api_key=settings.api_key,
            azure_endpoint=settings.azure_endpoint,
            api_version=settings.azure_api_version,
            azure_deployment=settings.azure_deployment,
            max_retries=0,
            timeout=timeout,
        )
    client = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return client(api_key=settings.api_key, base_url=settings.base_url or OPENAI_DEFAULT_URL, max_retries=0, timeout=timeout)


def _endpoint(settings: LLMSettings) -> str:
    """The endpoint as shown in messages: credentials in the URL are masked."""
    if settings.provider == "azure":
        return redact_url(settings.azure_endpoint or "<no AZURE_OPENAI_ENDPOINT>")
    return redact_url(settings.base_url or OPENAI_DEFAULT_URL)


def _wait_for_retry(exc: BaseException, attempt_number: int) -> float | None:
    """Seconds to wait before the next attempt: the server's Retry-After when it sends one
    (None when it asks for more than ``RETRY_AFTER_CAP_S``: give up rather than retry early),
    else exponential backoff with jitter."""
    response = getattr(exc, "response", None)
    if response is not None:
        hinted = retry_after_seconds(response.headers)
        if hinted is not None:
            return hinted if hinted <= RETRY_AFTER_CAP_S else None
    backoff = min(_BACKOFF_BASE_S * 2 ** (attempt_number - 1), _BACKOFF_CAP_S)
    return backoff * (0.75 + 0.25 * random.random())


def retry_after_seconds(headers) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), if valid."""
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(float(ms) / 1000.0, 0.0)
    except ValueError:
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _server_message(exc) -> tuple[str, str | None]:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or json.dumps(body)[:300]
        code = body.get("code")
        return str(message)[:500], str(code) if code is not None else None
    if body:
        return str(body)[:500], None
    text = getattr(exc.response, "text", "") or exc.message
    return str(text)[:500], None


def _request_kwargs(request: ChatRequest, timeout) -> dict[str, Any]:
    """The chat-completion arguments of ``request`` (the sync and async transports' call)."""
    kwargs: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": role, "content": content} for role, content in request.messages],
        "timeout": timeout,
    }
    for key in ("temperature", "seed", "max_tokens"):
        value = getattr(request, key)
        if value is not None:
            kwargs[key] = value
    return kwargs


def _to_response(body: Any, request: ChatRequest, attempts: int, elapsed: float, endpoint: str = "") -> ChatResponse:
    """A ``ChatResponse`` from a chat.completion body, checking its shape: a malformed body
    (``choices`` not a list, ``content`` not a string, non-numeric ``usage``) is the
    provider's fault, a ``BackendError``, never an internal error."""

    def broken(what: str) -> BackendError:
        shown = json.dumps(body)[:200] if not isinstance(body, str) else body[:200]
        return BackendError(
            redact(f"{endpoint} sent a malformed chat completion: {what}: {shown}"),
            hint="the server is not OpenAI-compatible, or it failed; try again or check the server",
        )

    if not isinstance(body, dict):
        raise broken(f"expected a JSON object, got {type(body).__name__}")
    choices = body.get("choices")
    if not isinstance(choices, list):
        raise broken(f"'choices' is {type(choices).__name__}, expected a list")
    if not choices:
        raise broken("'choices' is empty")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise broken("choices[0] is not an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise broken("choices[0].message is missing or not an object")
    content, refusal = message.get("content"), message.get("refusal")
    if content is not None and not isinstance(content, str):
        raise broken(f"choices[0].message.content is {type(content).__name__}, expected a string")
    if refusal is not None and not isinstance(refusal, str):
        raise broken("choices[0].message.refusal is not a string")
    finish_reason = choice.get("finish_reason")
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise broken("choices[0].finish_reason is not a string")
    usage = body.get("usage")
    if usage is None:
        usage = {}
    if not isinstance(usage, dict):
        raise broken("'usage' is not an object")
    tokens = {}
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        if value is None:
            value = 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise broken(f"usage.{key} is {value!r}, expected a non-negative integer")
        tokens[key] = value
    model = body.get("model")
    extra = {"attempts": attempts}
    fingerprint = body.get("system_fingerprint")
    if isinstance(fingerprint, str) and fingerprint:
        extra["system_fingerprint"] = fingerprint
    return ChatResponse(
        content=content,
        refusal=refusal,
        finish_reason=finish_reason or "unknown",
        model=model if isinstance(model, str) and model else request.model,
        prompt_tokens=tokens["prompt_tokens"],
        completion_tokens=tokens["completion_tokens"],
        latency_s=round(elapsed, 3),
        transport_retries=attempts - 1,
        extra=extra,
    )
