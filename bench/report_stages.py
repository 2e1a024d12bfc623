"""The offline report's stages timed in-process: the minimum of N runs of each.

    python bench/report_stages.py bench/out/bench_1000000.csv [--runs 4]
    # another build, from its tree: -S keeps the editable install's finder (which would
    # import this checkout whatever PYTHONPATH says) out, -P the working directory
    PYTHONPATH=OTHER_TREE:.venv/lib/python3.11/site-packages .venv/bin/python -S -P bench/report_stages.py FILE

The input is read once; then each run condenses, computes facts, finds stages, narrates
offline, builds the grounding vocabulary, prunes, assembles and renders Markdown on fresh
objects (nothing cached from the run before). Prints one line of milliseconds per stage.
Run two builds interleaved (A B A B ...) and compare their lines: a stage's minimum is
steadier than a process's wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchlib, also under python -P


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()

    from aptnarrate.pipeline import NarrateOptions
    from aptnarrate.preprocess.ingest import read_events
    from benchlib import offline_report_stages

    table = read_events(args.input, NarrateOptions().ingest_options())
    best: dict[str, float] = {}
    for _ in range(args.runs):
        marks = [("start", time.perf_counter())]

        def mark(name: str) -> None:
            marks.append((name, time.perf_counter()))

        offline_report_stages(table, mark)
        for (_, before), (name, after) in zip(marks, marks[1:]):
            best[name] = min(best.get(name, float("inf")), after - before)
        gc.collect()
    print(" ".join(f"{name}={seconds * 1000:.0f}" for name, seconds in best.items()), f"sum={sum(best.values()) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
