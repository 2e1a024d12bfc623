"""Time ``aptnarrate inspect FILE --format json`` against a plain-pandas floor, in one run.

For each input in ``bench/out`` (see ``generate.py``) and each layout, three subprocesses
are timed, each ``--repeat`` times (median reported):

* ``aptnarrate``: the CLI, ``aptnarrate inspect FILE --format json > /dev/null`` (edge lists
  with ``--timezone America/Toronto``); without a CLI, a driver calling read_events ->
  condense -> compute_facts;
* ``read+condense``: the same without facts and rendering (ingest and condense alone);
* ``floor``: the least work that yields the same grouping: ``pd.read_csv(engine="pyarrow")``
  then a count per (minute, description), or per (minute, subject_uuid, predicate,
  object_uuid) for edge lists.

Wall time is the whole process (interpreter start and imports included), peak RSS comes
from ``os.wait4`` for that child alone. Usage:
``.venv/bin/python bench/bench_inspect.py [--rows 10000 100000 1000000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import ensure_bytecode, inputs  # bench/ is the script's folder, first on sys.path

PYTHON = sys.executable
TIMEZONE = "America/Toronto"

FLOOR = {
    "ocrapt": (
        "import sys, numpy as np, pandas as pd\n"
        "df = pd.read_csv(sys.argv[1], engine='pyarrow')\n"
        "minute = pd.to_datetime(df['timestamp']).to_numpy().astype('datetime64[m]')\n"
        "counts = df.groupby([minute, df['description']], observed=True).size()\n"
        "assert counts.sum() == len(df)\n"
    ),
    "edges": (
        "import sys, pandas as pd\n"
        "df = pd.read_csv(sys.argv[1], engine='pyarrow')\n"
        "minute = df['timestamp'] // 60_000_000_000\n"
        "counts = df.groupby([minute, df['subject_uuid'], df['predicate'], df['object_uuid']], observed=True).size()\n"
        "assert counts.sum() == len(df)\n"
    ),
}

CONDENSE_ONLY = (
    "import sys\n"
    "from aptnarrate.preprocess.ingest import IngestOptions, read_events\n"
    "from aptnarrate.preprocess.condense import condense\n"
    "timeline = condense(read_events(sys.argv[1], IngestOptions(timezone=sys.argv[2])))\n"
)
DRIVER = CONDENSE_ONLY + (
    "try:\n"
    "    from aptnarrate.preprocess.facts import compute_facts\n"
    "except ImportError:\n"
    "    pass\n"
    "else:\n"
    "    compute_facts(timeline)\n"
)


def cli_command() -> list[str] | None:
    """The installed CLI if it has ``inspect``, else None (the driver is used)."""
    exe = shutil.which("aptnarrate", path=str(Path(PYTHON).parent)) or shutil.which("aptnarrate")
    if exe is None:
        return None
    probe = subprocess.run([exe, "inspect", "--help"], capture_output=True)
    return [exe] if probe.returncode == 0 else None


def measure(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process; stdout goes to /dev/null."""
    with open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err = child.stderr.read().decode(errors="replace")
        child.stderr.close()
    if child.returncode != 0:
        raise SystemExit(f"failed ({child.returncode}): {' '.join(argv)}\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def commands(path: Path, fmt: str, cli: list[str] | None) -> dict[str, list[str]]:
    zone = TIMEZONE if fmt == "edges" else "UTC"
    if cli:
        tool = [*cli, "inspect", str(path), "--format", "json", "--timezone", zone]
        name = "aptnarrate inspect"
    else:
        tool = [PYTHON, "-c", DRIVER, str(path), zone]
        name = "read+condense+facts"
    return {
        name: tool,
        "read+condense": [PYTHON, "-c", CONDENSE_ONLY, str(path), zone],  # our share of the work
        "pandas floor": [PYTHON, "-c", FLOOR[fmt], str(path)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="aptnarrate inspect vs. a pandas floor")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    ensure_bytecode()  # as an installed copy runs (bench/benchlib.py)
    cli = cli_command()
    header = f"{'rows':>9}  {'format':<7} {'tool':<20} {'wall s':>7} {'rows/s':>10} {'peak MiB':>9} {'x floor':>8}"
    print(header)
    print("-" * len(header))
    for rows, fmt, path in inputs(args.rows, ("ocrapt", "edges")):
        runs: dict[str, list[tuple[float, float]]] = {}
        todo = commands(path, fmt, cli)
        for _ in range(args.repeat):  # interleave tools so load drifts hit both alike
            for name, argv_ in todo.items():
                runs.setdefault(name, []).append(measure(argv_))
        floor = statistics.median(w for w, _ in runs["pandas floor"])
        for name, samples in runs.items():
            wall = statistics.median(w for w, _ in samples)
            peak = max(m for _, m in samples)
            print(f"{rows:>9}  {fmt:<7} {name:<20} {wall:>7.2f} {rows / wall:>10,.0f} {peak:>9.0f} {wall / floor:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
