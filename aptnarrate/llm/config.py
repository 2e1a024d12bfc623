"""LLM settings: flags > process environment > ``.env`` file > defaults.

``load_settings`` reads a ``.env`` file with python-dotenv's ``dotenv_values`` and never
touches ``os.environ``. The API key is kept out of ``repr`` and out of every recording.

Environment variables (see ``.env.example``):

========================== ========================================================
``OPENAI_API_KEY``          API key (any non-empty value for a local server)
``OPENAI_BASE_URL``         OpenAI-compatible endpoint, e.g. ``http://localhost:11434/v1``
``APTNARRATE_PROVIDER``     ``openai`` or ``azure`` (default: azure if an Azure endpoint is set)
``APTNARRATE_MODEL``        model name (default ``gpt-4o-mini``)
``APTNARRATE_MODE``         ``structured`` (json_schema) or ``json`` (json_object + schema in prompt)
``APTNARRATE_TEMPERATURE``  sampling temperature (default 0)
``APTNARRATE_SEED``         integer seed sent to the model (optional)
``APTNARRATE_TIMEOUT``      wall-clock limit per request, send to last byte, seconds (default 60)
``APTNARRATE_CONNECT_TIMEOUT`` connect timeout, seconds (default 10)
``APTNARRATE_MAX_ATTEMPTS`` transport attempts per call, retries included (default 4)
``APTNARRATE_MAX_RETRY_SECONDS`` total time for one call and its retries and waits (default 120)
``APTNARRATE_MAX_NARRATION_SECONDS`` total time for all calls of one narration, re-asks included (default 300)
``APTNARRATE_MAX_REASKS``   re-asks after a schema or grounding error (default 2)
``APTNARRATE_TOKEN_BUDGET`` prompt token budget (default 12000)
``APTNARRATE_PROMPT_PRICE`` USD per 1M prompt tokens for the configured model
``APTNARRATE_COMPLETION_PRICE`` USD per 1M completion tokens for the configured model
``AZURE_OPENAI_API_KEY``    Azure key (falls back to ``OPENAI_API_KEY``)
``AZURE_OPENAI_ENDPOINT``   Azure resource endpoint, e.g. ``https://NAME.openai.azure.com``
``OPENAI_API_VERSION``      Azure API version (default ``2024-10-21``)
``APTNARRATE_AZURE_DEPLOYMENT`` Azure deployment name (default: the model name)
========================== ========================================================
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_AZURE_API_VERSION = "2024-10-21"

# USD per 1M tokens (prompt, completion), public list prices; override per model with
# APTNARRATE_PROMPT_PRICE / APTNARRATE_COMPLETION_PRICE or the ``prices`` override.
DEFAULT_PRICES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4o": (2.50, 10.00),
        "gpt-4.1-mini": (0.40, 1.60),
    }
)


@dataclass(frozen=True)
class LLMSettings:
    provider: str = "openai"  # "openai" | "azure"
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    temperature: float = 0.0
    seed: int | None = None
    timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    max_transport_attempts: int = 4
    max_transport_seconds: float = 120.0
    max_narration_seconds: float = 300.0
    max_reasks: int = 2
    mode: str = "structured"  # "structured" | "json"
    token_budget: int = 12000
    azure_endpoint: str | None = None
    azure_api_version: str = DEFAULT_AZURE_API_VERSION
    azure_deployment: str | None = None
    prices: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: DEFAULT_PRICES, repr=False, hash=False
    )

    def __repr__(self) -> str:
        from ..redact import redact_url

        def value(name: str) -> object:
            raw = getattr(self, name)
            return redact_url(raw) if name in ("base_url", "azure_endpoint") and raw else raw

        shown = ", ".join(f"{f.name}={value(f.name)!r}" for f in fields(self) if f.repr)
        key = "'***'" if self.api_key else "None"
        return f"LLMSettings(api_key={key}, {shown})"

    @property
    def key_variable(self) -> str:
        return "AZURE_OPENAI_API_KEY" if self.provider == "azure" else "OPENAI_API_KEY"

    @property
    def is_configured(self) -> bool:
        """True when a key or an endpoint is set: what ``--backend auto`` looks at."""
        return bool(self.api_key or self.base_url or self.azure_endpoint)

    def require_key(self) -> str:
        if not self.api_key:
            raise ConfigError(
                f"no API key: set {self.key_variable} in the environment or the .env file",
                hint="for a local OpenAI-compatible server (Ollama, vLLM, llama.cpp) any non-empty "
                "value works, e.g. OPENAI_API_KEY=local",
            )
        if self.provider == "azure" and not self.azure_endpoint:
            raise ConfigError(
                "provider is azure but no endpoint is set: set AZURE_OPENAI_ENDPOINT",
                hint="e.g. https://RESOURCE.openai.azure.com",
            )
        return self.api_key

    def price_of(self, model: str | None = None) -> tuple[float, float] | None:
        """(prompt, completion) USD per 1M tokens; dated snapshots match their base name."""
        name = model or self.model
        matches = [known for known in self.prices if name == known or name.startswith(known + "-")]
        return self.prices[max(matches, key=len)] if matches else None

    def cost_usd(self, prompt_tokens: int, completion_tokens: int, model: str | None = None) -> float | None:
        price = self.price_of(model)
        if price is None:
            return None
        return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000, 6)


# --------------------------------------------------------------------------- parsing


def _text(value: str) -> str:
    return value


def _positive_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError
    return number


def _temperature(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 2:
        raise ValueError
    return number


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip().lower()
        if value not in allowed:
            raise ValueError
        return value

    return parse


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError
    from urllib.parse import urlsplit

    parts = urlsplit(value)  # ValueError for a bracket left open ("http://[::1")
    if not parts.hostname:
        raise ValueError
    parts.port  # noqa: B018  (ValueError for a port that is not a number from 0 to 65535)
    return value.rstrip("/")


# field -> (environment variables, first found wins; parser; what is expected)
_SOURCES: dict[str, tuple[tuple[str, ...], Callable[[str], Any], str]] = {
    "provider": (("APTNARRATE_PROVIDER",), _choice("openai", "azure"), "'openai' or 'azure'"),
    "api_key": (("OPENAI_API_KEY",), _text, "a string"),
    "base_url": (("OPENAI_BASE_URL",), _url, "an http:// or https:// URL"),
    "model": (("APTNARRATE_MODEL",), _text, "a model name"),
    "temperature": (("APTNARRATE_TEMPERATURE",), _temperature, "a number from 0 to 2"),
    "seed": (("APTNARRATE_SEED",), int, "an integer"),
    "timeout_s": (("APTNARRATE_TIMEOUT",), _positive_float, "a positive number of seconds"),
    "connect_timeout_s": (("APTNARRATE_CONNECT_TIMEOUT",), _positive_float, "a positive number of seconds"),
    "max_transport_attempts": (("APTNARRATE_MAX_ATTEMPTS",), _positive_int, "an integer >= 1"),
    "max_transport_seconds": (("APTNARRATE_MAX_RETRY_SECONDS",), _positive_float, "a positive number of seconds"),
    "max_narration_seconds": (("APTNARRATE_MAX_NARRATION_SECONDS",), _positive_float, "a positive number of seconds"),
    "max_reasks": (("APTNARRATE_MAX_REASKS",), _non_negative_int, "an integer >= 0"),
    "mode": (("APTNARRATE_MODE",), _choice("structured", "json"), "'structured' or 'json'"),
    "token_budget": (("APTNARRATE_TOKEN_BUDGET",), _positive_int, "an integer >= 1"),
    "azure_endpoint": (("AZURE_OPENAI_ENDPOINT",), _url, "an http:// or https:// URL"),
    "azure_api_version": (("OPENAI_API_VERSION",), _text, "an API version such as 2024-10-21"),
    "azure_deployment": (("APTNARRATE_AZURE_DEPLOYMENT",), _text, "a deployment name"),
}
_PRICE_VARIABLES = (
    ("APTNARRATE_PROMPT_PRICE", "prompt_price"),
    ("APTNARRATE_COMPLETION_PRICE", "completion_price"),
)
_FIELD_NAMES = {f.name for f in fields(LLMSettings)}
_EXTRA_OVERRIDES = {"prompt_price", "completion_price"}


def _parse(name: str, raw: object, parser: Callable[[str], Any], expected: str, origin: str) -> Any:
    try:
        return parser(str(raw).strip())
    except (TypeError, ValueError):
        raise ConfigError(f"{origin} {name}={raw!r} is invalid: expected {expected}") from None


def load_settings(
    overrides: Mapping[str, object] | None = None,
    environ: Mapping[str, str] = os.environ,
    dotenv_path: Path | None = Path(".env"),
) -> LLMSettings:
    """Settings from flags (``overrides``, keyed by field name; ``None`` = not given),
    then ``environ``, then the ``.env`` file, then defaults. Empty values count as unset."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(overrides) - _FIELD_NAMES - _EXTRA_OVERRIDES
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    dotenv = _read_dotenv(dotenv_path)

    def lookup(variables: tuple[str, ...]) -> tuple[str, str, str] | None:
        for source, origin in ((environ, "environment variable"), (dotenv, f"{dotenv_path} entry")):
            for variable in variables:
                value = source.get(variable)
                if value is not None and str(value).strip() != "":
                    return variable, str(value), origin
        return None

    values: dict[str, Any] = {}
    for name, (variables, parser, expected) in _SOURCES.items():
        if name in overrides:
            raw = overrides[name]
            values[name] = _parse(name, raw, parser, expected, "option")
            continue
        if name == "api_key" and _azure_wanted(overrides, lookup):
            variables = ("AZURE_OPENAI_API_KEY", "OPENAI_API_KEY")
        found = lookup(variables)
        if found:
            variable, raw, origin = found
            values[name] = _parse(variable, raw, parser, expected, origin)

    if "provider" not in values and values.get("azure_endpoint"):
        values["provider"] = "azure"
    if "prices" in overrides:
        values["prices"] = MappingProxyType(dict(overrides["prices"]))  # type: ignore[arg-type]
    settings = LLMSettings(**values)
    from ..redact import register_secret, register_url

    register_secret(settings.api_key)
    register_url(settings.base_url)
    register_url(settings.azure_endpoint)
    return _apply_price_overrides(settings, overrides, lookup)


def _azure_wanted(overrides: Mapping[str, object], lookup) -> bool:
    provider = overrides.get("provider")
    if provider is None:
        found = lookup(("APTNARRATE_PROVIDER",))
        provider = found[1] if found else None
    if provider is not None:
        return str(provider).strip().lower() == "azure"
    return bool(overrides.get("azure_endpoint") or lookup(("AZURE_OPENAI_ENDPOINT",)))


def _apply_price_overrides(settings: LLMSettings, overrides: Mapping[str, object], lookup) -> LLMSettings:
    given: dict[str, float] = {}
    for variable, key in _PRICE_VARIABLES:
        if key in overrides:
            given[key] = _parse(key, overrides[key], _non_negative_float, "a number >= 0 (USD per 1M tokens)", "option")
        elif found := lookup((variable,)):
            given[key] = _parse(found[0], found[1], _non_negative_float, "a number >= 0 (USD per 1M tokens)", found[2])
    if not given:
        return settings
    current = settings.price_of()
    if current is None and len(given) < 2:
        raise ConfigError(
            f"model {settings.model!r} has no default price: set both APTNARRATE_PROMPT_PRICE "
            "and APTNARRATE_COMPLETION_PRICE"
        )
    prompt = given.get("prompt_price", current[0] if current else 0.0)
    completion = given.get("completion_price", current[1] if current else 0.0)
    prices = dict(settings.prices)
    prices[settings.model] = (prompt, completion)
    return replace(settings, prices=MappingProxyType(prices))


def _read_dotenv(path: Path | None) -> dict[str, str]:
    if path is None or not Path(path).is_file():
        return {}
    from dotenv import dotenv_values  # local: only needed when a .env exists

    try:
        return {k: v for k, v in dotenv_values(path).items() if v is not None}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
