"""Host-level benchmark: ``aptnarrate batch`` against sequential, OCR-APT-shaped model calls.

Against the local OpenAI-compatible test server (tests/llm_server.py) answering every call
after a fixed latency:

* ``batch``: ``aptnarrate batch INPUTS -o OUT --story`` in one process (one call per
  subgraph, ``--concurrency`` in flight), then the same command again (the re-run: up to
  date, zero calls).
* ``sequential``: the same inputs through the same local pipeline, with the model calls
  OCR-APT makes, one after the other: two per subgraph (its report and its IoC pass) plus
  one comprehensive call for the host. The calls really go to the server; the wall time
  is measured, not computed.

Offline: ``batch`` over the corpus in one process vs a shell loop of ``aptnarrate report``.

Usage::

    .venv/bin/python bench/bench_host.py                       # corpus, 1 s per call
    .venv/bin/python bench/bench_host.py --scaled 200 --latency 0.25
    .venv/bin/python bench/bench_host.py --offline-only

The scaled set copies the corpus cases round-robin into bench/out/host_<N>/, each copy
with one extra row naming a distinct file, so no two requests are alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
CORPUS = REPO.parent / "shared" / "corpus"
ANSWER = {"stages": [], "iocs": [], "summary": "The flagged activity is summarised by its log."}
STORY_ANSWER = {"summary": "The host's flagged subgraphs are told in order.", "stages": [], "conclusions": ["See the stages."], "next_steps": ["Triage the IoCs."]}


def corpus_inputs() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*.csv") if not p.name.endswith(".edges.csv"))


def scaled_inputs(count: int) -> list[Path]:
    target = REPO / "bench" / "out" / f"host_{count}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    cases = corpus_inputs()
    for n in range(count):
        source = cases[n % len(cases)]
        text = source.read_text()
        last_time = text.rstrip().splitlines()[-1].rsplit(",", 1)[1]
        (target / f"{source.stem}_copy{n}.csv").write_text(text + f"A subject_process READ the file_object_file: bench_{n}.dat,{last_time}\n")
    return sorted(target.glob("*.csv"))


class Server:
    """The test server, answering every call after ``latency`` seconds."""

    def __init__(self, latency: float) -> None:
        from llm_server import FakeLLMServer, delay, ok

        self.latency = latency
        self.server = FakeLLMServer().start()
        self._reply = delay(latency, ok(ANSWER)) if latency else ok(ANSWER)
        self._story = delay(latency, ok(STORY_ANSWER)) if latency else ok(STORY_ANSWER)

        # the answer follows the request: the story's schema has next_steps, a subgraph's not
        # (a queue in call order breaks when identical subgraphs are answered from the cache)
        self.server.respond = lambda body: self._story if "next_steps" in json.dumps(body) else self._reply

    @property
    def calls(self) -> int:
        return len(self.server.requests)


def run_batch(inputs: list[Path], out: Path, server: Server, concurrency: int) -> tuple[float, float, int, int]:
    """(wall s, CPU s, calls, exit code) of ``aptnarrate batch`` in its own process, start-up
    included (in this process, the server's threads would keep batch from forking)."""
    before = server.calls
    started = time.perf_counter()
    times = os.times()
    command = [sys.executable, "-m", "aptnarrate", "batch", *map(str, inputs), "-o", str(out), "--story", "--backend", "openai", "--concurrency", str(concurrency)]
    code = subprocess.run(command, env=os.environ.copy(), stdin=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - times.children_user) + (after.children_system - times.children_system)
    return wall, cpu, server.calls - before, code


def run_sequential(inputs: list[Path], server: Server) -> tuple[float, int]:
    """OCR-APT's call structure: per subgraph two calls in a row, then one for the host."""
    import openai

    from aptnarrate.llm.config import load_settings
    from aptnarrate.pipeline import inspect_input, run
    from aptnarrate.llm.prompt import build_request

    settings = load_settings({}, dotenv_path=None)
    client = openai.OpenAI(base_url=server.server.url, api_key="bench", max_retries=0, timeout=60)
    before = server.calls
    started = time.perf_counter()
    for path in inputs:
        run(str(path), backend="offline")  # the same local work as batch
        request = build_request(inspect_input(str(path)), settings).request
        messages = [{"role": r, "content": c} for r, c in request.messages]
        for _ in range(2):
            client.chat.completions.create(model=settings.model, messages=messages)
    client.chat.completions.create(model=settings.model, messages=[{"role": "user", "content": "comprehensive report"}])
    return time.perf_counter() - started, server.calls - before


def offline(inputs: list[Path]) -> tuple[float, float, float]:
    """(batch in one process, its CPU seconds, shell loop of report) wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "APTNARRATE_"))}
        started = time.perf_counter()
        before = os.times()
        subprocess.run([sys.executable, "-m", "aptnarrate", "batch", *map(str, inputs), "-o", f"{tmp}/batch", "--backend", "offline", "--story"], check=True, env=env, capture_output=True)
        batch_wall = time.perf_counter() - started
        after = os.times()
        batch_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        loop = " ; ".join(f'{sys.executable} -m aptnarrate report "{p}" --backend offline -o "{tmp}/loop_{i}.md"' for i, p in enumerate(inputs))
        started = time.perf_counter()
        subprocess.run(["bash", "-c", loop], check=True, env=env, capture_output=True)
        loop_wall = time.perf_counter() - started
    return batch_wall, batch_cpu, loop_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds the server takes per call (default 1)")
    parser.add_argument("--scaled", type=int, metavar="N", help="also run a scaled set of N subgraphs")
    parser.add_argument("--scaled-latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--offline-only", action="store_true")
    parser.add_argument("--no-offline", action="store_true", help="skip the offline comparison")
    parser.add_argument("--no-sequential", action="store_true", help="skip the (slow) measured sequential baseline")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"corpus not found at {CORPUS}")
    for variable in [v for v in os.environ if v.startswith(("OPENAI_", "APTNARRATE_"))]:
        del os.environ[variable]
    cases = corpus_inputs()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    if not args.no_offline:  # no table of blanks when the offline comparison is skipped
        batch_wall, batch_cpu, loop_wall = offline(cases)
        print("\n| offline, corpus (%d cases) | wall s |\n|---|---|" % len(cases))
        print(f"| `aptnarrate batch` (one process, with --story) | {batch_wall:.1f} (CPU {batch_cpu:.1f}) |")
        print(f"| shell loop of `aptnarrate report` | {loop_wall:.1f} |")
        print(f"| ratio | {loop_wall / batch_wall:.1f}x |")
    if args.offline_only:
        return

    sets = [("corpus", cases, args.latency)]
    if args.scaled:
        sets.append((f"scaled {args.scaled}", scaled_inputs(args.scaled), args.scaled_latency))
    print("\n| set | latency/call | batch wall s | batch calls | re-run wall s | re-run calls | sequential wall s | sequential calls | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, inputs, latency in sets:
        server = Server(latency)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(OPENAI_BASE_URL=server.server.url, OPENAI_API_KEY="bench", APTNARRATE_CACHE_DIR=f"{tmp}/cache")
            wall, cpu, calls, code = run_batch(inputs, Path(tmp) / "out", server, args.concurrency)
            assert code == 0, f"batch exited {code}"
            rerun_wall, _cpu, rerun_calls, code = run_batch(inputs, Path(tmp) / "out", server, args.concurrency)
            assert code == 0, f"re-run exited {code}"
            if args.no_sequential:
                seq_wall, seq_calls, ratio = float("nan"), len(inputs) * 2 + 1, "-"
            else:
                seq_wall, seq_calls = run_sequential(inputs, server)
                ratio = f"{seq_wall / wall:.1f}x"
        server.server.stop()
        print(f"| {label} ({len(inputs)}) | {latency:g} s | {wall:.1f} (CPU {cpu:.1f}) | {calls} | {rerun_wall:.1f} | {rerun_calls} | {seq_wall:.1f} | {seq_calls} | {ratio} |")


if __name__ == "__main__":
    main()
