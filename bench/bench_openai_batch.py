"""HTTP requests to the provider: ``batch --openai-batch`` (Batch API) vs the concurrent path.

Both run ``aptnarrate batch`` in this process over the same inputs (default: the shared
corpus, else the shipped host example) against the local test servers: tests/llm_server.py
(chat completions) and tests/batch_server.py (/files, /batches), each answering every
subgraph with the same plain answer. Every HTTP request the client sends is counted.

Usage::

    .venv/bin/python bench/bench_openai_batch.py [INPUT...]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
CORPUS = REPO.parent / "shared" / "corpus"
ANSWER = {"stages": [], "iocs": [], "summary": "The flagged activity is summarised by its log."}


def main(argv: list[str]) -> int:
    if {"-h", "--help"} & set(argv):  # the rest of argv is inputs: "--help" was read as a missing file
        print(__doc__)
        return 0
    from batch_server import FakeBatchServer
    from llm_server import FakeLLMServer, ok

    from aptnarrate.cli import main as cli
    from aptnarrate.examples import host_example_dir
    from aptnarrate.host.inputs import expand_inputs

    inputs = argv or [str(CORPUS) if (CORPUS / "manifest.json").is_file() else str(host_example_dir("host"))]
    count = len(expand_inputs(inputs)[0])
    os.environ["OPENAI_API_KEY"] = "bench-key"
    with tempfile.TemporaryDirectory() as tmp:
        chat = FakeLLMServer().start()
        chat.enqueue(*[ok(ANSWER) for _ in range(count)])
        started = time.perf_counter()
        code = cli(["batch", *inputs, "-o", f"{tmp}/sync", "--backend", "openai", "--base-url", chat.url, "--no-cache"])
        sync_s = time.perf_counter() - started
        sync_requests = len(chat.requests)
        chat.stop()

        server = FakeBatchServer(lambda custom_id, body: json.dumps(ANSWER)).start()
        gets: list[str] = []
        retrieve = server._retrieve

        def counted_retrieve(batch_id):
            gets.append("poll")
            return retrieve(batch_id)

        server._retrieve = counted_retrieve
        started = time.perf_counter()
        code2 = cli(["batch", *inputs, "-o", f"{tmp}/batch", "--backend", "openai", "--base-url", server.url,
                     "--no-cache", "--openai-batch", "--batch-poll", "0.05"])
        batch_s = time.perf_counter() - started
        # result files the client downloads: each finished batch's output file and, when set, its error file
        downloads = sum(1 for st in server.batch_state.values() if st["final"] for k in ("output", "errors") if st["final"][k])
        batch_requests = server.uploads + len(server.batches) + len(gets) + downloads
        server.stop()
    print(f"inputs: {count} ({' '.join(inputs)}); exit codes {code}, {code2}")
    print("| path | HTTP requests | of which model answers asked | wall s (local servers, no latency) |")
    print("|---|---:|---:|---:|")
    print(f"| concurrent (`batch`) | {sync_requests} | {sync_requests} | {sync_s:.1f} |")
    print(f"| Batch API (`batch --openai-batch`) | {batch_requests} (upload {server.uploads}, create {len(server.batches)}, polls {len(gets)}, result files {downloads}) | {sum(len(b) for b in server.batches)} lines | {batch_s:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
