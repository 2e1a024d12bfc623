"""aptnarrate ask: the local server plays a hallucinating model; only grounded sentences print."""

from __future__ import annotations

import json
import os

import pytest
from llm_server import llm_server, ok  # noqa: F401  (pytest fixture)

from aptnarrate.cli import main
from aptnarrate.pipeline import run

_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")


@pytest.fixture(autouse=True)
def no_settings_from_the_shell(monkeypatch):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)


@pytest.fixture(scope="module")
def saved_report(tmp_path_factory):
    from aptnarrate.examples import path

    report = run(path("dropper", "edges"), backend="offline").report
    target = tmp_path_factory.mktemp("ask") / "report.json"
    target.write_text(report.to_json(), encoding="utf-8")
    return report, target


def _args(target, question, server, *extra):
    return ["ask", str(target), question, "--base-url", server.url, "--env-file", "", "--max-reasks", "1", *extra]


def test_only_grounded_sentences_are_printed(saved_report, llm_server, monkeypatch, capsys):  # noqa: F811
    report, target = saved_report
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    row = next(e for e in report.log if e.subject_name and e.object_name)
    grounded = f"At {row.minute[11:]}, {row.subject_name} {row.action} {row.object_name}."
    hallucinating = {
        "supported": True,
        "sentences": [
            {"text": grounded, "evidence": [row.id]},
            {"text": "It then contacted 8.8.8.8 to fetch a second stage.", "evidence": [row.id]},
            {"text": "The attacker also ran mimikatz.exe.", "evidence": ["L99999"]},
            {"text": "This is certainly an APT.", "evidence": []},
        ],
    }
    llm_server.enqueue(ok(hallucinating), ok(hallucinating))  # the re-ask gets the same answer
    assert main(_args(target, f"What did {row.subject_name} do?", llm_server, "--format", "json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["text"] for s in out["sentences"]] == [grounded]
    assert out["reasks"] == 1 and len(out["dropped"]) == 3
    assert len(llm_server.requests) == 2
    reask = llm_server.requests[1].body["messages"][-1]["content"]
    assert "8.8.8.8" in reask and "L99999" in reask and "cites no row" in reask
    data = llm_server.requests[0].body["messages"][1]["content"]
    assert f'"id": "{row.id}"' in data


def test_an_unsupported_question_says_so(saved_report, llm_server, monkeypatch, capsys):  # noqa: F811
    _, target = saved_report
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    llm_server.enqueue(ok({"supported": False, "sentences": []}))
    assert main(_args(target, "Who is the attacker's employer?", llm_server)) == 0
    assert "do not support an answer" in capsys.readouterr().out


def test_offline_points_to_pivot(saved_report, capsys):
    _, target = saved_report
    assert main(["ask", str(target), "What happened?", "--env-file", ""]) == 4
    assert "aptnarrate pivot" in capsys.readouterr().err
