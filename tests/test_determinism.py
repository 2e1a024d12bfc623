"""Determinism (issue 6): the same input with the same fixtures gives byte-identical
Markdown and JSON, in this process and in another one with a different hash seed (set and
dict order must not leak into a report)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from llm_server import llm_server, ok, clear_model_settings  # noqa: F401  (pytest fixture)

from aptnarrate.cli import main

RESPONSES = Path(__file__).resolve().parents[1] / "fixtures" / "responses"

# writes every report of the run into $OUT: the offline narrator on two examples, and the
# recorded model exchange replayed
SCRIPT = """
import sys
from pathlib import Path
from aptnarrate import examples, narrate
out, fixtures = Path(sys.argv[1]), sys.argv[2]
runs = {
    "offline-dropper": dict(source=examples.path("dropper"), backend="offline"),
    "offline-exfil-edges": dict(source=examples.path("exfil").with_suffix("").with_suffix(".edges.csv"), backend="offline"),
    "replay-dropper": dict(source=examples.path("dropper"), backend="replay", fixtures=fixtures),
}
for name, kw in runs.items():
    report = narrate(kw.pop("source"), dotenv=None, **kw)
    (out / f"{name}.md").write_bytes(report.to_markdown().encode("utf-8"))
    (out / f"{name}.json").write_bytes(report.to_json().encode("utf-8"))
"""


def _write_reports_here(out: Path, fixtures: Path, monkeypatch) -> None:
    out.mkdir()
    monkeypatch.setattr(sys, "argv", ["determinism", str(out), str(fixtures)])
    exec(compile(SCRIPT, "<determinism>", "exec"), {"__name__": "determinism"})


def test_same_input_and_fixtures_give_byte_identical_markdown_and_json(llm_server, tmp_path, monkeypatch):  # noqa: F811
    clear_model_settings(monkeypatch)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-determinism")
    answer = json.loads((RESPONSES / "dropper.json").read_text(encoding="utf-8"))["response"]
    llm_server.enqueue(ok(answer))
    fixtures = tmp_path / "recorded"
    code = main(["report", "--example", "dropper", "--backend", "openai", "--base-url", llm_server.url,
                 "--env-file", "", "--record", str(fixtures), "-o", str(tmp_path / "live.md")])  # fmt: skip
    assert code == 0

    here, there = tmp_path / "here", tmp_path / "there"
    _write_reports_here(here, fixtures, monkeypatch)
    there.mkdir()
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}  # another process, another set order
    subprocess.run([sys.executable, "-c", SCRIPT, str(there), str(fixtures)], check=True, env=environment, timeout=120)

    produced = sorted(p.name for p in here.iterdir())
    assert len(produced) == 6
    assert sorted(p.name for p in there.iterdir()) == produced
    for name in produced:
        assert (here / name).read_bytes() == (there / name).read_bytes(), f"{name} differs between the two processes"
