"""Chat transport through the official ``openai`` SDK (OpenAI, Azure OpenAI, compatible servers).

Transport retries only: 429, 5xx, timeouts and connection errors are retried here by
tenacity (the SDK's own retries are off), honouring ``Retry-After``, bounded by attempts
and total time. Schema and grounding re-asks belong to the caller. The SDK is imported
when a transport is built, so importing this module stays cheap.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from typing import TYPE_CHECKING, Any

from ..chat import ChatRequest, ChatResponse
from ..errors import BackendError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    from ..config import LLMSettings

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
RETRY_AFTER_CAP_S = 60.0  # never sleep longer than this on a server's say-so
_BACKOFF_BASE_S = 0.5
_BACKOFF_CAP_S = 8.0
_MIN_ATTEMPT_TIMEOUT_S = 1.0


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
        if response_model is None:
            from ..models import Narration

            response_model = Narration
        self.settings = settings
        self.response_model = response_model
        self.endpoint = _endpoint(settings)
        self._client = client if client is not None else _build_client(settings)
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ sending

    def complete(self, request: ChatRequest) -> ChatResponse:
        import openai
        import tenacity

        settings = self.settings
        started = time.monotonic()
        deadline = started + settings.max_transport_seconds
        retryable = (
            openai.RateLimitError,
            openai.InternalServerError,
            openai.APITimeoutError,
            openai.APIConnectionError,
        )
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(settings.max_transport_attempts)
            | tenacity.stop_before_delay(settings.max_transport_seconds),
            wait=_wait_for_retry,
            retry=tenacity.retry_if_exception_type(retryable),
            sleep=self._sleep,
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    body = self._send(request, remaining=deadline - time.monotonic())
        except openai.APIStatusError as exc:
            raise self._status_error(exc, attempts, time.monotonic() - started) from None
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            raise self._connection_error(exc, attempts, time.monotonic() - started) from None
        except openai.OpenAIError as exc:
            raise BackendError(f"{self.endpoint}: {type(exc).__name__}: {exc}") from None
        return _to_response(body, request, attempts, time.monotonic() - started)

    def _send(self, request: ChatRequest, remaining: float) -> dict:
        import openai

        settings = self.settings
        read = max(min(settings.timeout_s, remaining), _MIN_ATTEMPT_TIMEOUT_S)
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": role, "content": content} for role, content in request.messages],
            "timeout": openai.Timeout(read, connect=min(settings.connect_timeout_s, read)),
        }
        for key in ("temperature", "seed", "max_tokens"):
            value = getattr(request, key)
            if value is not None:
                kwargs[key] = value
        completions = self._client.chat.completions.with_raw_response
        if request.mode == "structured":
            # with_raw_response defers the SDK's own parsing, so broken or off-schema JSON,
            # length cut-offs and content filters reach the caller as text, not exceptions.
            raw = completions.parse(response_format=self.response_model, **kwargs)
        else:
            raw = completions.create(response_format={"type": "json_object"}, **kwargs)
        try:
            body = json.loads(raw.text)
        except ValueError:
            raise BackendError(
                f"{self.endpoint} answered with something that is not JSON: {raw.text[:200]!r}",
                hint="check that the base URL points at an OpenAI-compatible /v1 endpoint",
            ) from None
        if not isinstance(body, dict) or not body.get("choices"):
            raise BackendError(f"{self.endpoint} answered without choices: {raw.text[:200]!r}")
        return body

    # ------------------------------------------------------------------ errors

    def _status_error(self, exc, attempts: int, elapsed: float) -> BackendError:
        status = exc.status_code
        message, code = _server_message(exc)
        model = self.settings.azure_deployment or self.settings.model
        what = f"{self.endpoint} returned HTTP {status}: {message}"
        if status == 429 or status >= 500:
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
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(
                f"{self.endpoint} did not answer within {self.settings.timeout_s:g} s ({tried})",
                hint="raise APTNARRATE_TIMEOUT, or check that the server is up and not overloaded",
            )
        cause = exc.__cause__ or exc
        return BackendError(
            f"cannot connect to {self.endpoint}: {type(cause).__name__}: {cause} ({tried})",
            hint="check OPENAI_BASE_URL (or AZURE_OPENAI_ENDPOINT) and that the server is running",
        )


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


def _build_client(settings: LLMSettings):
    import openai

    timeout = openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
    if settings.provider == "azure":
        return openai.AzureOpenAI(
            api_key=settings.api_key,
            azure_endpoint=settings.azure_endpoint,
            api_version=settings.azure_api_version,
            azure_deployment=settings.azure_deployment,
            max_retries=0,
            timeout=timeout,
        )
    # base_url is always explicit so the SDK does not read OPENAI_BASE_URL behind our back.
    return openai.OpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url or OPENAI_DEFAULT_URL,
        max_retries=0,
        timeout=timeout,
    )


def _endpoint(settings: LLMSettings) -> str:
    if settings.provider == "azure":
        return settings.azure_endpoint or "<no AZURE_OPENAI_ENDPOINT>"
    return settings.base_url or OPENAI_DEFAULT_URL


def _wait_for_retry(retry_state) -> float:
    """Retry-After (capped) when the server sends one, else exponential backoff with jitter."""
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    response = getattr(exc, "response", None)
    if response is not None:
        hinted = retry_after_seconds(response.headers)
        if hinted is not None:
            return min(hinted, RETRY_AFTER_CAP_S)
    backoff = min(_BACKOFF_BASE_S * 2 ** (retry_state.attempt_number - 1), _BACKOFF_CAP_S)
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


def _to_response(body: dict, request: ChatRequest, attempts: int, elapsed: float) -> ChatResponse:
    choice = body["choices"][0]
    message = choice.get("message") or {}
    usage = body.get("usage") or {}
    extra = {"attempts": attempts}
    if body.get("system_fingerprint"):
        extra["system_fingerprint"] = body["system_fingerprint"]
    return ChatResponse(
        content=message.get("content"),
        refusal=message.get("refusal"),
        finish_reason=choice.get("finish_reason") or "unknown",
        model=body.get("model") or request.model,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        latency_s=round(elapsed, 3),
        transport_retries=attempts - 1,
        extra=extra,
    )
