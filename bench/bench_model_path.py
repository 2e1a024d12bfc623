"""Time the model path on a huge input: from process start to the request's arrival.

``aptnarrate report FILE --backend openai -o /dev/null`` runs as its own process against a
local OpenAI-compatible server started here (127.0.0.1, stdlib ``http.server``). The server
notes the moment each request arrives (its request line and headers read, before the body)
and answers at once with a small valid narration (no stages, no IoCs, a plain summary), so
the report is written and the process exits 0 after one request. Printed per input:

* ``to request``: seconds from just before the child is spawned to the request's arrival:
  interpreter start, imports, ingest, condense, facts, the stage rules, the prompt build
  and the client, all the local work a model run does before it can send anything;
* ``total``: the child's whole wall time (the report after the answer included); ``cpu``:
  the child's CPU seconds (user + system, ``os.wait4``), steadier than wall time on a
  shared machine;
* ``tokens``: what the request carried, counted here with the vendored o200k vocabulary
  (messages plus the schema, as ``build_request`` counts them), against the default
  budget (``LLMSettings().token_budget``), and the number of requests (must be 1);
* a stage breakdown from a second child (``--breakdown``): the same CLI command, in-process,
  with timers wrapped around the library functions the model path calls (cumulative
  seconds each; the wrapped steps are listed in ``STEPS``).

Usage: ``.venv/bin/python bench/bench_model_path.py [--rows 1000000] [--formats ocrapt edges]
[--repeat 1] [--breakdown] [--compare OTHER/bin/aptnarrate]`` (``--compare``: another build,
e.g. main's, run on the same inputs just before ours; a failed run is printed with its
exit code and last stderr line). Inputs come from ``bench/generate.py`` (``bench/out``).
Measure side by side in one run and read the load average printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchlib import ensure_bytecode, inputs  # bench/ is the script's folder, first on sys.path

PYTHON = sys.executable
TIMEZONE = {"ocrapt": "UTC", "edges": "America/Toronto"}
ANSWER = {"stages": [], "iocs": [], "summary": "Processes read and wrote files and exchanged network messages."}


class ArrivalServer:
    """Answers every chat completion at once with ``ANSWER``; keeps each arrival time
    (``time.perf_counter``, this process's clock) and request body."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                arrived = time.perf_counter()  # request line and headers read; the body follows
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.arrivals.append(arrived)
                    server.bodies.append(json.loads(raw or b"{}"))
                content = json.dumps(ANSWER)
                body = json.dumps(
                    {
                        "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                                     "logprobs": None, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                    }
                ).encode()  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reset(self) -> None:
        with self._lock:
            self.arrivals.clear()
            self.bodies.clear()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def cli() -> list[str]:
    exe = shutil.which("aptnarrate", path=str(Path(PYTHON).parent)) or shutil.which("aptnarrate")
    return [exe] if exe else [PYTHON, "-m", "aptnarrate"]


def child_env(url: str) -> dict[str, str]:
    """The environment with only our local server configured (no key or endpoint of the user's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "APTNARRATE_", "AZURE_OPENAI"))}
    env.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="bench-local")
    return env


def report_argv(path: Path, fmt: str) -> list[str]:
    return ["report", str(path), "--backend", "openai", "--timezone", TIMEZONE[fmt], "-o", os.devnull]


def one_run(server: ArrivalServer, path: Path, fmt: str, workdir: str, tool: list[str] | None = None) -> dict:
    server.reset()
    argv = [*(tool or cli()), *report_argv(path, fmt)]
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_env(server.url), cwd=workdir)
    err = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    total = time.perf_counter() - started
    child.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not server.arrivals:
        if tool is None:
            raise SystemExit(f"failed (exit {code}, {len(server.arrivals)} request(s)): {' '.join(argv)}\n{err[-3000:]}")
        return {"failed": f"exit {code} after {total:.2f} s, {len(server.arrivals)} request(s): {err.strip().splitlines()[-1][:160] if err.strip() else ''}"}
    return {
        "to_request": server.arrivals[0] - started,
        "total": total,
        "requests": len(server.arrivals),
        "body": server.bodies[0],
        "peak_mib": usage.ru_maxrss / 1024,
        "cpu": usage.ru_utime + usage.ru_stime,  # the whole child's CPU seconds: steadier than wall under load
    }


def tokens_sent(body: dict) -> tuple[int, int]:
    """(tokens the request carried, the default budget), counted as ``build_request`` does."""
    from aptnarrate.llm.config import LLMSettings
    from aptnarrate.llm.prompt import narration_schema
    from aptnarrate.llm.tokens import counter

    count = counter()
    messages = tuple((m["role"], m["content"]) for m in body["messages"])
    schema = count.count(narration_schema()) if "response_format" in body and body["response_format"].get("type") == "json_schema" else 0
    return count.count_messages(messages) + schema, LLMSettings().token_budget


# ----------------------------------------------------------------------------- breakdown

STEPS = (
    # (dotted name of a library function, label): cumulative wall seconds inside each call
    ("aptnarrate.pipeline.inspect_input", "ingest + condense + facts"),
    ("aptnarrate.rules.stages._find_stages", "stage rules (find_stages)"),
    ("aptnarrate.llm.tokens.load_o200k", "o200k vocabulary load"),
    ("aptnarrate.backends.openai._build_client", "openai client (import + build)"),
    ("aptnarrate.llm.prompt.build_request", "prompt build (build_request)"),
    ("aptnarrate.llm.prompt.context_blocks", "  of which: context blocks"),
    ("aptnarrate.llm.prompt._selected_messages", "  of which: select-rows"),
    ("aptnarrate.backends.openai.OpenAITransport.complete", "request (loopback answer)"),
    ("aptnarrate.backends.offline.OfflineNarrator.narrate", "offline narration (baseline)"),
    ("aptnarrate.grounding.ground.vocabulary_for", "grounding vocabulary"),
    ("aptnarrate.grounding.ground.prune", "grounding prune"),
    ("aptnarrate.assemble.assemble", "assemble"),
    ("aptnarrate.render.markdown.render_markdown", "render Markdown"),
)

BREAKDOWN = r"""
import importlib, sys, threading, time
T0 = time.perf_counter()
steps = json_steps = __import__("json").loads(sys.argv[1])
argv = __import__("json").loads(sys.argv[2])
marks, spent, first_sent = {}, {}, []
for dotted, _ in steps:  # import every module the steps live in, then wrap the functions
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        break
    marks[dotted] = (owner, parts[-1])
IMPORTED = time.perf_counter()

def wrap(dotted, original):
    def timed(*args, **kwargs):
        if dotted.endswith("OpenAITransport.complete") and not first_sent:
            first_sent.append(time.perf_counter())
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[dotted] = spent.get(dotted, 0.0) + time.perf_counter() - started
    timed.__wrapped__ = original
    return timed

for dotted, (owner, name) in marks.items():
    original = getattr(owner, name)
    timed = wrap(dotted, original)
    setattr(owner, name, timed)
    for module in list(sys.modules.values()):  # names imported with "from x import f"
        if getattr(module, "__name__", "").startswith("aptnarrate") and getattr(module, name, None) is original:
            setattr(module, name, timed)
from aptnarrate.cli import main
START = time.perf_counter()
code = main(argv)
END = time.perf_counter()
out = {"imports (wrapped modules)": IMPORTED - T0, "cli main": END - START,
       "cli start -> request sent": (first_sent[0] - START) if first_sent else None}
for dotted, label in steps:
    out[label] = spent.get(dotted)
build, rules = spent.get("aptnarrate.llm.prompt.build_request"), spent.get("aptnarrate.rules.stages._find_stages")
if build is not None and rules is not None:  # the hypotheses block runs the stage rules inside the build
    out["  of which: not the stage rules"] = build - rules
sys.stderr.write("BREAKDOWN " + __import__("json").dumps(out) + "\n")
sys.exit(code)
"""


def breakdown(server: ArrivalServer, path: Path, fmt: str, workdir: str) -> dict:
    server.reset()
    argv = [PYTHON, "-c", BREAKDOWN, json.dumps(STEPS), json.dumps(report_argv(path, fmt))]
    done = subprocess.run(argv, capture_output=True, env=child_env(server.url), cwd=workdir)
    lines = [line for line in done.stderr.decode(errors="replace").splitlines() if line.startswith("BREAKDOWN ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"breakdown failed (exit {done.returncode}):\n{done.stderr.decode(errors='replace')[-3000:]}")
    return json.loads(lines[-1][len("BREAKDOWN ") :])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="aptnarrate's model path on a huge input: seconds to the request")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--formats", nargs="+", default=["ocrapt", "edges"], choices=["ocrapt", "edges"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--breakdown", action="store_true", help="also time the stages in a second child")
    parser.add_argument("--compare", metavar="EXE", action="append", default=[],
                        help="another aptnarrate executable (e.g. main's) to run on the same inputs, before ours")
    args = parser.parse_args(argv)
    ensure_bytecode()  # as an installed copy runs (bench/benchlib.py)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    server = ArrivalServer()
    header = f"{'rows':>9}  {'format':<7} {'to request s':>12} {'total s':>8} {'cpu s':>6} {'peak MiB':>9} {'tokens':>7} {'budget':>7} {'requests':>8}"
    print(header)
    print("-" * len(header))
    try:
        with tempfile.TemporaryDirectory(prefix="aptnarrate-bench-") as workdir:  # no .env of the user's
            for rows, fmt, path in inputs(args.rows, args.formats):
                for exe in args.compare:  # side by side: the other build first, then ours
                    other = [one_run(server, path, fmt, workdir, [exe]) for _ in range(args.repeat)]
                    if any("failed" in r for r in other):
                        print(f"{rows:>9}  {fmt:<7} {exe}: {next(r['failed'] for r in other if 'failed' in r)}")
                    else:
                        sent, budget = tokens_sent(other[0]["body"])
                        print(f"{rows:>9}  {fmt:<7} {statistics.median(r['to_request'] for r in other):>12.2f} "
                              f"{statistics.median(r['total'] for r in other):>8.2f} {statistics.median(r['cpu'] for r in other):>6.2f} "
                              f"{max(r['peak_mib'] for r in other):>9.0f} "
                              f"{sent:>7} {budget:>7} {max(r['requests'] for r in other):>8}  ({exe})")  # fmt: skip
                runs = [one_run(server, path, fmt, workdir) for _ in range(args.repeat)]
                sent, budget = tokens_sent(runs[0]["body"])
                print(
                    f"{rows:>9}  {fmt:<7} {statistics.median(r['to_request'] for r in runs):>12.2f} "
                    f"{statistics.median(r['total'] for r in runs):>8.2f} {statistics.median(r['cpu'] for r in runs):>6.2f} "
                    f"{max(r['peak_mib'] for r in runs):>9.0f} "
                    f"{sent:>7} {budget:>7} {max(r['requests'] for r in runs):>8}",
                    flush=True,
                )
                if args.breakdown:
                    stages = breakdown(server, path, fmt, workdir)
                    for label, seconds in stages.items():
                        shown = "-" if seconds is None else f"{seconds:.2f}"
                        print(f"{'':>20}{label:<36} {shown:>7}")
    finally:
        server.stop()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
