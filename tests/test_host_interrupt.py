"""Killing a batch midway (SIGINT, SIGKILL) leaves complete files only, and a re-run
finishes the rest. A subprocess is the only honest way to show it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from llm_server import llm_server, ok  # noqa: F401  (pytest fixture)
from llm_server import delay as slow

from aptnarrate.examples import host_example_dir
from aptnarrate.host.batch import STATE_DIR
from aptnarrate.models import Report

INPUTS = 4
ANSWER = {"stages": [], "iocs": [], "summary": "The flagged activity is summarised by its log."}
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")
# an answer the batch must not get before the signal: far longer than a loaded machine can
# starve the test's polling (5 s was not always: the test failed now and then under load);
# it costs nothing, the batch is signalled long before and the server wakes its sleepers
SLOW_S = 60.0


def distinct_inputs(folder: Path) -> Path:
    """Six small subgraphs that differ by one row, so no two requests are alike."""
    folder.mkdir()
    base = (host_example_dir("host") / "host_subgraph_1.csv").read_text()
    for n in range(INPUTS):
        extra = f"The subject_process: sh READ the file_object_file: note_{n}.txt,2025-05-14 09:14:5{n}\n"
        (folder / f"part_{n}.csv").write_text(base + extra)
    return folder


def start_batch(inputs: Path, out: Path, server, cache: Path) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS_PREFIXES)}
    environment.update(OPENAI_BASE_URL=server.url, OPENAI_API_KEY="k", APTNARRATE_CACHE_DIR=str(cache))
    # a batch that hangs is made to show where: SIGABRT then dumps every thread's stack (``interrupt``)
    environment["PYTHONFAULTHANDLER"] = "1"
    # A test run started in the background (`pytest &` in a non-interactive shell) ignores
    # SIGINT, and an ignored signal stays ignored across exec: the batch never saw the SIGINT
    # below and finished every input (exit 0). Start it as a terminal would, SIGINT at its default.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "aptnarrate", "batch", str(inputs), "-o", str(out), "--backend", "openai", "--concurrency", "1"],
            env=environment,
            cwd=inputs.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def finished(out: Path) -> set[str]:
    """Inputs the batch has finished: a report is done once its state is saved, after its
    files (a kill between the two leaves files the re-run writes again, rightly)."""
    return {path.stem for path in (out / STATE_DIR).glob("part_*.json")}


def wait_for_reports(out: Path, count: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(finished(out)) < count:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "batch made no progress"
        time.sleep(0.05)


def assert_only_complete_files(out: Path, temp_files_allowed: bool = False) -> set[str]:
    """Every report under its final name is complete; no temp file is left, except after a
    SIGKILL, which may land during a write and leave one for the re-run to remove."""
    if not temp_files_allowed:
        assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    done = set()
    for path in out.glob("part_*.json"):
        Report.model_validate_json(path.read_text())  # complete and valid
        done.add(path.stem)
    for path in out.glob("part_*.md"):
        assert path.read_text().rstrip().endswith("</details>"), path
    return done


def interrupt(inputs: Path, out: Path, server, cache: Path, how: signal.Signals, reports: int) -> tuple[int, str]:
    """Start a batch, let it finish ``reports`` reports, send ``how``.

    The answers the batch needs to reach ``reports`` come quickly; the rest take a minute, so
    the signal lands before the batch can finish everything even on a loaded machine (with
    equal short delays, a slow poll could see all reports written before it signalled)."""
    with server._lock:
        server._queue.clear()
    quick = max(1, reports - len(finished(out)))
    server.enqueue(*[slow(0.3 if n < quick else SLOW_S, ok(ANSWER)) for n in range(INPUTS)])
    process = start_batch(inputs, out, server, cache)
    try:
        wait_for_reports(out, reports, process)
        process.send_signal(how)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # rare under load (seen once in many runs): say where it hung
            process.send_signal(signal.SIGABRT)
            process.wait(timeout=30)
            raise AssertionError(f"the batch had not exited 30 s after {how.name}; its threads:\n{process.stderr.read().decode()}") from None
    finally:
        if process.poll() is None:
            process.kill()
    return code, process.stderr.read().decode()


def test_a_batch_killed_by_sigint_then_sigkill_leaves_complete_files_and_the_rerun_finishes(tmp_path, llm_server):  # noqa: F811
    inputs = distinct_inputs(tmp_path / "inputs")
    out, cache = tmp_path / "out", tmp_path / "cache"

    code, stderr = interrupt(inputs, out, llm_server, cache, signal.SIGINT, reports=1)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert_only_complete_files(out)
    after_sigint = finished(out)
    assert 1 <= len(after_sigint) < INPUTS
    assert not (out / "index.json").exists()

    code, stderr = interrupt(inputs, out, llm_server, cache, signal.SIGKILL, reports=len(after_sigint) + 1)
    assert code == -signal.SIGKILL, stderr
    assert_only_complete_files(out, temp_files_allowed=True)
    after_sigkill = finished(out)
    assert after_sigint < after_sigkill and len(after_sigkill) < INPUTS
    # what a kill during a write leaves behind (made sure of here): the re-run removes it
    (out / ".part_3.md.x1y2z3ab.tmp").write_text("half a rep")
    left = len([p for p in out.rglob("*") if p.name.endswith(".tmp")])

    with llm_server._lock:
        llm_server._queue.clear()
    sent_before = len(llm_server.requests)
    llm_server.enqueue(*[ok(ANSWER) for _ in range(INPUTS)])
    rerun = start_batch(inputs, out, llm_server, cache)
    _stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr.decode()
    assert sum(int(n) for n in re.findall(r"removed (\d+) temp file\(s\)", stderr.decode())) == left
    assert assert_only_complete_files(out) == {f"part_{n}" for n in range(INPUTS)}
    statuses = {r["name"]: r["status"] for r in json.loads((out / "index.json").read_text())["inputs"]}
    assert {statuses[name] for name in after_sigkill} == {"skipped"}
    assert set(statuses.values()) == {"skipped", "written"}
    # only the unfinished inputs were asked (one whose answer was cached before the kill not even that)
    assert len(llm_server.requests) - sent_before <= INPUTS - len(after_sigkill)
