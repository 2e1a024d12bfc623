"""LLM settings: precedence, validation, secrets, prices."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from aptnarrate.llm.config import _PRICE_VARIABLES, _SOURCES, LLMSettings, load_settings
from aptnarrate.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def load(overrides=None, environ=None, dotenv: str | None = None, tmp_path: Path | None = None) -> LLMSettings:
    path = None
    if dotenv is not None:
        path = tmp_path / ".env"
        path.write_text(dotenv, encoding="utf-8")
    return load_settings(overrides or {}, environ=environ or {}, dotenv_path=path)


def test_defaults():
    settings = load()
    assert (settings.provider, settings.model, settings.mode) == ("openai", "gpt-4o-mini", "structured")
    assert (settings.temperature, settings.seed, settings.timeout_s, settings.connect_timeout_s) == (0.0, None, 60.0, 10.0)
    assert (settings.max_transport_attempts, settings.max_transport_seconds, settings.max_reasks) == (4, 120.0, 2)
    assert settings.token_budget == 12000
    assert settings.api_key is None and not settings.is_configured


def test_precedence_flag_over_env_over_dotenv_over_default(tmp_path):
    dotenv = "APTNARRATE_MODEL=from-dotenv\nAPTNARRATE_TIMEOUT=30\nAPTNARRATE_SEED=5\n"
    env = {"APTNARRATE_MODEL": "from-env", "APTNARRATE_TIMEOUT": "20"}
    settings = load({"model": "from-flag"}, env, dotenv, tmp_path)
    assert settings.model == "from-flag"
    assert settings.timeout_s == 20.0  # env beats .env
    assert settings.seed == 5  # only .env sets it
    assert settings.max_reasks == 2  # nobody sets it
    assert load({}, env, dotenv, tmp_path).model == "from-env"
    assert load({}, {}, dotenv, tmp_path).model == "from-dotenv"


def test_none_and_empty_values_count_as_unset(tmp_path):
    settings = load({"model": None}, {"APTNARRATE_MODEL": "", "OPENAI_API_KEY": "  "}, "APTNARRATE_MODEL=m-dotenv\n", tmp_path)
    assert settings.model == "m-dotenv" and settings.api_key is None


def test_dotenv_does_not_touch_os_environ(tmp_path, monkeypatch):
    monkeypatch.delenv("APTNARRATE_TOKEN_BUDGET", raising=False)
    settings = load({}, {}, "APTNARRATE_TOKEN_BUDGET=3000\n", tmp_path)
    assert settings.token_budget == 3000
    assert "APTNARRATE_TOKEN_BUDGET" not in os.environ


def test_missing_dotenv_file_is_fine(tmp_path):
    assert load_settings({}, environ={}, dotenv_path=tmp_path / "absent.env").model == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("APTNARRATE_TIMEOUT", "soon", "a positive number of seconds"),
        ("APTNARRATE_TIMEOUT", "-1", "a positive number of seconds"),
        ("APTNARRATE_MODE", "xml", "'structured' or 'json'"),
        ("APTNARRATE_MAX_REASKS", "-1", "an integer >= 0"),
        ("APTNARRATE_TOKEN_BUDGET", "12k", "an integer >= 1"),
        ("APTNARRATE_TEMPERATURE", "3", "a number from 0 to 2"),
        ("OPENAI_BASE_URL", "localhost:11434", "an http:// or https:// URL"),
        ("APTNARRATE_PROVIDER", "anthropic", "'openai' or 'azure'"),
        ("APTNARRATE_SEED", "1.5", "an integer"),
    ],
)
def test_bad_environment_values_name_the_variable(variable, value, expected):
    with pytest.raises(ConfigError) as caught:
        load({}, {variable: value})
    message = str(caught.value)
    assert variable in message and repr(value) in message and expected in message


def test_bad_dotenv_value_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"\.env entry APTNARRATE_MAX_ATTEMPTS='0' is invalid: expected an integer >= 1"):
        load({}, {}, "APTNARRATE_MAX_ATTEMPTS=0\n", tmp_path)


def test_bad_flag_values_and_unknown_settings():
    with pytest.raises(ConfigError, match="option timeout_s=-5 is invalid"):
        load({"timeout_s": -5})
    with pytest.raises(ConfigError, match="unknown setting"):
        load({"modle": "x"})
    assert load({"timeout_s": 2, "seed": 3}).timeout_s == 2.0


def test_missing_key_names_the_variable():
    with pytest.raises(ConfigError) as caught:
        load({"base_url": "http://127.0.0.1:8000/v1"}).require_key()
    assert "OPENAI_API_KEY" in str(caught.value) and "any non-empty value" in str(caught.value)
    assert load({}, {"OPENAI_API_KEY": "sk-1"}).require_key() == "sk-1"


def test_key_is_hidden_from_repr():
    settings = load({}, {"OPENAI_API_KEY": "sk-very-secret"})
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings)
    assert "api_key='***'" in repr(settings)


@pytest.mark.parametrize(
    ("environ", "configured"),
    [({}, False), ({"OPENAI_API_KEY": "k"}, True), ({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}, True)],
)
def test_is_configured(environ, configured):
    assert load({}, environ).is_configured is configured


def test_azure_is_picked_from_its_endpoint_and_uses_its_key():
    settings = load({}, {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com/", "AZURE_OPENAI_API_KEY": "az",
                         "OPENAI_API_VERSION": "2025-01-01", "APTNARRATE_AZURE_DEPLOYMENT": "dep"})
    assert (settings.provider, settings.api_key, settings.azure_endpoint) == ("azure", "az", "https://r.openai.azure.com")
    assert (settings.azure_api_version, settings.azure_deployment) == ("2025-01-01", "dep")
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY"):
        load({}, {"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com"}).require_key()
    with pytest.raises(ConfigError, match="AZURE_OPENAI_ENDPOINT"):
        load({"provider": "azure", "api_key": "k"}).require_key()


def test_cost_from_the_price_table():
    settings = load()
    assert settings.cost_usd(1_000_000, 1_000_000) == pytest.approx(0.75)  # gpt-4o-mini 0.15 + 0.60
    assert settings.cost_usd(1000, 0, model="gpt-4o-2024-08-06") == pytest.approx(0.0025)  # snapshot -> gpt-4o
    assert settings.cost_usd(1000, 0, model="gpt-4o-mini-2024-07-18") == pytest.approx(0.00015)
    assert settings.cost_usd(1000, 1000, model="llama3.1:8b") is None


def test_prices_are_configurable():
    settings = load({}, {"APTNARRATE_MODEL": "llama3.1:8b", "APTNARRATE_PROMPT_PRICE": "1", "APTNARRATE_COMPLETION_PRICE": "2"})
    assert settings.cost_usd(1_000_000, 1_000_000) == pytest.approx(3.0)
    assert load({"prompt_price": 0}).cost_usd(1_000_000, 1_000_000) == pytest.approx(0.60)
    with pytest.raises(ConfigError, match="no default price"):
        load({"model": "mystery", "prompt_price": 1})
    assert load({"prices": {"x": (1.0, 1.0)}}).cost_usd(10, 10) is None


def test_env_example_documents_every_variable():
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    known = {name for variables, _, _ in _SOURCES.values() for name in variables}
    known |= {variable for variable, _ in _PRICE_VARIABLES} | {"AZURE_OPENAI_API_KEY"}
    assert documented == known
    lines = text.splitlines()
    for index, line in enumerate(lines):  # each variable has its own comment line above
        if re.match(r"^[A-Z][A-Z0-9_]+=", line):
            assert lines[index - 1].startswith("#"), line
    for line in lines:  # no value that looks like a secret
        assert not re.match(r"^(OPENAI_API_KEY|AZURE_OPENAI_API_KEY)=.+", line)


def test_env_example_defaults_load_cleanly(tmp_path):
    settings = load_settings({}, environ={}, dotenv_path=REPO / ".env.example")
    assert settings == LLMSettings()
