"""Many small subgraphs in one process: the per-subgraph cost of each offline stage.

    python bench/bench_small.py [FOLDER ...] [--passes 3]
    # another build, from its tree (see report_stages.py for why -S -P):
    PYTHONPATH=OTHER_TREE:.venv/lib/python3.11/site-packages .venv/bin/python -S -P bench/bench_small.py

Detectors flag subgraphs of tens to hundreds of rows, and a host's folder holds dozens:
there the fixed cost of each stage, not its cost per row, decides how long ``batch`` takes
(and how long the suite's judgment checks take). Default inputs: the hand-made cases
(``tests/data/handmade``) and the shipped examples. Each pass runs every input through
ingest, condense, facts, stage rules, offline narration with grounding, and assembly with
Markdown rendering, on fresh objects; the table gives each stage's milliseconds of CPU per
subgraph (the best pass of ``--passes``), so runs on a busy machine compare.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchlib, also under python -P

ROOT = Path(__file__).resolve().parent.parent
# the table's columns, from offline_report_stages' marks
COLUMNS = {
    "ingest": "ingest", "condense": "condense", "facts": "facts", "find_stages": "stage rules",
    "narrate": "narrate+ground", "vocabulary": "narrate+ground", "prune": "narrate+ground",
    "assemble": "assemble+md", "render": "assemble+md",
}  # fmt: skip
STAGES = tuple(dict.fromkeys(COLUMNS.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[ROOT / "tests" / "data" / "handmade", ROOT / "aptnarrate" / "examples"])
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()

    from aptnarrate.pipeline import NarrateOptions
    from aptnarrate.preprocess.ingest import read_events
    from benchlib import offline_report_stages

    inputs = sorted(p for folder in args.folders for p in folder.rglob("*.csv"))
    if not inputs:
        raise SystemExit(f"no CSV files under {', '.join(map(str, args.folders))}")
    options = NarrateOptions().ingest_options()
    best = dict.fromkeys(STAGES, float("inf"))
    for _ in range(args.passes):
        spent = dict.fromkeys(STAGES, 0.0)
        for path in inputs:
            clock = time.process_time()

            def lap(stage: str) -> None:
                nonlocal clock
                now = time.process_time()
                spent[COLUMNS[stage]] += now - clock
                clock = now

            table = read_events(path, options)
            lap("ingest")
            offline_report_stages(table, lap)
        for stage in STAGES:
            best[stage] = min(best[stage], spent[stage])
    print(f"{len(inputs)} subgraphs, best of {args.passes} passes, CPU ms per subgraph")
    print("  ".join(f"{stage:>14}" for stage in (*STAGES, "total")))
    per = [1000 * best[stage] / len(inputs) for stage in STAGES]
    print("  ".join(f"{value:14.1f}" for value in (*per, sum(per))))


if __name__ == "__main__":
    main()
