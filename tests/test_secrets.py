"""Item 5 of issue 6: a sentinel key never appears in anything a run shows or writes.

Each run goes through the CLI in-process against the loopback server, with ``--debug``
(tracebacks), ``--record`` (recordings) and ``-o`` (the report); then stdout, stderr and
every file under the run's directory are searched for the sentinels. The total number of
leaked bytes is recorded as a fault-table row, which is where the README's figure comes from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from llm_server import llm_server, ok, status  # noqa: F401

from aptnarrate.backends.openai import OpenAITransport
from aptnarrate.cli import main
from aptnarrate.llm.config import LLMSettings
from aptnarrate.errors import BackendError

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-SENTINEL-7c41d09e"
URL_PASSWORD = "urlpass-SENTINEL-3f8a"
SENTINELS = (KEY, URL_PASSWORD)
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")
_LEAKED: dict[str, int] = {}


def good_answer() -> dict:
    return json.loads((REPO / "fixtures" / "responses" / "benign.json").read_text(encoding="utf-8"))["response"]


def leaked_bytes(*texts: str, directory: Path) -> int:
    blobs = [t.encode() for t in texts] + [p.read_bytes() for p in directory.rglob("*") if p.is_file()]
    return sum(blob.count(s.encode()) * len(s) for blob in blobs for s in SENTINELS)


@pytest.fixture
def run(llm_server, monkeypatch, capsys, tmp_path, fault_outcome):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("APTNARRATE_MAX_ATTEMPTS", "1")
    monkeypatch.chdir(tmp_path)

    def go(name: str, *replies, base_url: str | None = None, expect: int) -> str:
        llm_server.enqueue(*replies)
        url = base_url or llm_server.url
        code = main(
            ["report", "--example", "benign", "--backend", "openai", "--base-url", url, "--timeout", "2",
             "--debug", "--record", str(tmp_path / "rec"), "-o", str(tmp_path / "report.md"),
             "--format", "md", "--env-file", ""]
        )  # fmt: skip
        captured = capsys.readouterr()
        assert code == expect, captured.err
        leaked = leaked_bytes(captured.out, captured.err, directory=tmp_path)
        _LEAKED[name] = leaked
        fault_outcome("secrets: bytes leaked over every secret run", f"{sum(_LEAKED.values())} ({len(_LEAKED)} runs)")
        assert leaked == 0, captured.err
        return captured.err

    return go


def test_a_model_echoing_the_key_in_its_answer_leaks_nothing(run, tmp_path):
    answer = good_answer()
    run("answer echoes key", ok(answer, model=f"gpt-4o-mini-{KEY}"), expect=0)
    assert list((tmp_path / "rec").glob("*.json"))  # a recording was written, and searched
    assert (tmp_path / "report.md").is_file()


def test_a_provider_error_echoing_the_key_leaks_nothing(run):
    err = run("401 echoes key", status(401, f"Incorrect API key provided: {KEY}. Find your key at ..."), expect=6)
    assert "Incorrect API key provided: ***" in err
    assert "Traceback" in err  # --debug output was searched too


def test_credentials_in_the_base_url_leak_nothing(run, llm_server):
    url = llm_server.url.replace("http://", f"http://analyst:{URL_PASSWORD}@")
    err = run("base URL credentials, 500", status(500, "boom"), base_url=url, expect=6)
    assert "http://***@127.0.0.1" in err


def test_credentials_in_an_unreachable_base_url_leak_nothing(run):
    err = run("base URL credentials, refused", base_url=f"http://analyst:{URL_PASSWORD}@127.0.0.1:9/v1", expect=6)
    assert "cannot connect" in err


def test_exception_messages_carry_no_key(llm_server):
    llm_server.enqueue(status(400, f"bad request for key {KEY}"))
    settings = LLMSettings(api_key=KEY, base_url=llm_server.url.replace("http://", f"http://u:{URL_PASSWORD}@"))
    from test_openai_transport import make_request

    with pytest.raises(BackendError) as caught:
        OpenAITransport(settings).complete(make_request())
    text = str(caught.value) + repr(caught.value) + repr(settings)
    assert all(secret not in text for secret in SENTINELS)


def test_redaction_is_linear_on_long_attacker_names():
    import time

    from aptnarrate.redact import redact

    started = time.monotonic()
    redact("A" * 200_000 + "://" * 50_000 + "b" * 200_000)
    assert time.monotonic() - started < 1.0


def test_a_base_url_user_name_is_not_a_secret():
    """A user name in a base URL is masked inside URLs but is no secret of its own: masking
    the word everywhere corrupted recordings whose prompt says "security analyst"."""
    from aptnarrate.redact import redact, register_url

    register_url("http://analyst:s3cret-password-value@127.0.0.1:9/v1")
    assert redact("You are a security analyst") == "You are a security analyst"
    assert redact("key s3cret-password-value") == "key ***"
    assert redact("http://analyst:x@host/v1") == "http://***@host/v1"
