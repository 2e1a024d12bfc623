"""What a model run does before its request leaves: only what the prompt needs.

The offline narration (the fallback and the IoC table's context) is written after the
request has left, and the SDK import, the client and the token vocabulary are loaded by a
warm-up thread while the input is read; that thread never outlives the run.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from llm_server import llm_server, ok, clear_model_settings  # noqa: F401  (pytest fixture)

from aptnarrate import examples
from aptnarrate.backends.offline import OfflineNarrator
from aptnarrate.errors import InputError
from aptnarrate.pipeline import run

RESPONSES = Path(__file__).resolve().parents[1] / "fixtures" / "responses"


@pytest.fixture(autouse=True)
def no_settings_from_the_shell(monkeypatch):
    clear_model_settings(monkeypatch)


def settings(server) -> dict:
    return {"base_url": server.url, "api_key": "test-key-order", "model": "gpt-4o-mini"}


def warm_up_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "aptnarrate-warm-up"]


def test_the_offline_narration_runs_after_the_request_and_the_warm_up_is_joined(llm_server, monkeypatch):  # noqa: F811
    answer = json.loads((RESPONSES / "exfil.json").read_text(encoding="utf-8"))["response"]  # hand-written fixture
    llm_server.enqueue(ok(answer))
    seen_before_offline: list[int] = []
    original = OfflineNarrator.narrate

    def narrate(self, facts, context=None):
        seen_before_offline.append(len(llm_server.requests))
        return original(self, facts)

    monkeypatch.setattr(OfflineNarrator, "narrate", narrate)
    result = run(examples.path("exfil"), backend="openai", dotenv=None, llm=settings(llm_server))
    assert seen_before_offline == [1]  # once, and only after the request arrived
    assert result.report.metadata.backend == "openai" and len(llm_server.requests) == 1
    assert [s.stage for s in result.report.stages] == [s["stage"] for s in answer["stages"]]
    assert not warm_up_threads()


def test_an_unreadable_input_leaves_no_warm_up_thread_behind(llm_server, tmp_path):  # noqa: F811
    missing = tmp_path / "missing.csv"
    with pytest.raises(InputError):
        run(missing, backend="openai", dotenv=None, llm=settings(llm_server))
    assert not warm_up_threads() and not llm_server.requests


def test_a_path_that_cannot_be_opened_is_reported_before_the_warm_up_starts(llm_server, tmp_path, monkeypatch):  # noqa: F811
    """A wrong path is a user's mistake, reported at once: not after the SDK import and the
    vocabulary load, which the run would otherwise wait for before it returns."""
    from aptnarrate.backends import openai as openai_backend

    started: list[int] = []
    real = openai_backend.warm_up_in_background
    monkeypatch.setattr(openai_backend, "warm_up_in_background", lambda transport: started.append(1) or real(transport))
    for wrong, message in [(tmp_path / "missing.csv", "file not found"), (tmp_path, "is a directory")]:
        with pytest.raises(InputError, match=message):
            run(wrong, backend="openai", dotenv=None, llm=settings(llm_server))
    assert started == [] and not llm_server.requests
    run(examples.path("exfil"), backend="openai", dotenv=None, llm=settings(llm_server), fallback="offline")
    assert started == [1]  # a readable input still warms up


def test_the_request_is_built_only_after_the_warm_up_finished(llm_server, monkeypatch):  # noqa: F811
    """The request path imports the SDK too (the schema): done while the warm-up thread is
    still importing it, the import system broke (``KeyError: 'openai'`` on small inputs)."""
    import time

    import aptnarrate.llm.validate as validate
    from aptnarrate.backends.openai import OpenAITransport

    answer = json.loads((RESPONSES / "exfil.json").read_text(encoding="utf-8"))["response"]  # hand-written fixture
    llm_server.enqueue(ok(answer))
    real_warm, real_build = OpenAITransport.warm, validate.build_request
    alive_at_build: list[bool] = []

    def slow_warm(self) -> None:
        time.sleep(0.5)  # longer than reading the small example
        real_warm(self)

    def build(*args, **kwargs):
        alive_at_build.append(bool(warm_up_threads()))
        return real_build(*args, **kwargs)

    monkeypatch.setattr(OpenAITransport, "warm", slow_warm)
    monkeypatch.setattr(validate, "build_request", build)
    result = run(examples.path("exfil"), backend="openai", dotenv=None, llm=settings(llm_server))
    assert alive_at_build == [False]
    assert result.report.metadata.backend == "openai" and len(llm_server.requests) == 1
