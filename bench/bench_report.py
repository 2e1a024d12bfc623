"""Time ``aptnarrate report`` (Markdown and JSON), ``inspect`` and the model prompt's
build against a pandas floor and a polars floor, and OCR-APT's own condensation, in one run.

For each input in ``bench/out`` (``generate.py``) and each layout, every configuration runs
as its own subprocess, ``--repeat`` times, interleaved (median wall time; peak RSS from
``os.wait4`` for that child alone). Wall time includes interpreter start and imports.
``user s``, ``sys s`` and ``faults k`` (medians, from the same ``wait4``): CPU in the process,
CPU in the kernel, and thousands of minor page faults (fresh 4 KiB pages touched). On a VM
whose fresh pages are slow to fault in (we measured ~12 µs each on some runs of the 2-core
machine, against well under 1 µs on bare metal), ``sys`` is mostly that, and a tool's wall time
follows the memory it touches as much as the work it does: read the ratios with these columns.

* ``report md`` / ``report json``: ``aptnarrate report FILE --backend offline [--format json]``
  to /dev/null (edge lists with ``--timezone America/Toronto``).
* ``inspect``: ``aptnarrate inspect FILE --format json``.
* ``prompt``: what a model run does before its request leaves: ingest, condense, facts,
  then ``prompt.build_request`` at the default 12,000-token budget (which runs the stage
  rules its hypotheses need; the offline narration comes after the request); it fails if
  the prompt is over budget. (``--prompt-only`` runs just this.)
* ``pandas floor``: ``pd.read_csv(engine="pyarrow")``, parse the times, floor them to the
  minute, count per (minute, description) (edge lists: per (minute, subject, predicate,
  object)). ``polars floor``: the same as one lazy polars query. The least work that
  yields the log's grouping, without wording, entity naming, ranking or output.
* ``OCR-APT prepare_document`` (OCR-APT layout only; ``--ocrapt-src PATH`` to a checkout of
  https://github.com/CoDS-GCS/OCR-APT): their function, read from
  ``src/ocrapt_llm_investigator.py`` (of a checkout or a bare git mirror) at run time and executed unchanged, with the names it
  takes from its module stubbed (``args.dataset``, ``rename_node_type`` -> no renaming,
  llama_index's ``Document`` -> a holder for the text). Their code is not in this
  repository. Without ``--ocrapt-src`` the row is skipped.

Usage: ``.venv/bin/python bench/bench_report.py [--rows 10000 100000 1000000] [--repeat 3]
[--formats ocrapt edges] [--ocrapt-src DIR] [--tools inspect 'polars floor']`` (``--tools``
runs a subset; the pandas floor always runs, for the ratios) [--cpus N] (every configuration,
floors included, pinned to the same N CPUs). polars comes with ``pip install -e '.[bench]'``.
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
from typing import NamedTuple

from benchlib import ensure_bytecode, inputs  # bench/ is the script's folder, first on sys.path

PYTHON = sys.executable
TIMEZONE = "America/Toronto"

PANDAS_FLOOR = {
    "ocrapt": (
        "import sys, pandas as pd\n"
        "df = pd.read_csv(sys.argv[1], engine='pyarrow')\n"
        "minute = pd.to_datetime(df['timestamp']).dt.floor('min')\n"
        "counts = df.groupby([minute, df['description']], observed=True).size()\n"
        "assert counts.sum() == len(df)\n"
    ),
    "edges": (
        "import sys, pandas as pd\n"
        "df = pd.read_csv(sys.argv[1], engine='pyarrow')\n"
        "minute = pd.to_datetime(df['timestamp'], unit='ns').dt.floor('min')\n"
        "counts = df.groupby([minute, df['subject_uuid'], df['predicate'], df['object_uuid']], observed=True).size()\n"
        "assert counts.sum() == len(df)\n"
    ),
}
POLARS_FLOOR = {
    "ocrapt": (
        "import sys, polars as pl\n"
        "counts = (pl.scan_csv(sys.argv[1])\n"
        "  .with_columns(pl.col('timestamp').str.to_datetime('%Y-%m-%d %H:%M:%S').dt.truncate('1m').alias('minute'))\n"
        "  .group_by(['minute', 'description']).len().collect())\n"
        "assert counts['len'].sum() > 0\n"
    ),
    "edges": (
        "import sys, polars as pl\n"
        "counts = (pl.scan_csv(sys.argv[1])\n"
        "  .with_columns(pl.from_epoch('timestamp', time_unit='ns').dt.truncate('1m').alias('minute'))\n"
        "  .group_by(['minute', 'subject_uuid', 'predicate', 'object_uuid']).len().collect())\n"
        "assert counts['len'].sum() > 0\n"
    ),
}
PROMPT = (
    "import sys\n"
    "from aptnarrate.pipeline import inspect_input\n"
    "from aptnarrate.llm.config import LLMSettings\n"
    "from aptnarrate.llm.prompt import build_request\n"
    "facts = inspect_input(sys.argv[1], timezone=sys.argv[2])\n"
    "settings = LLMSettings()\n"
    "build = build_request(facts, settings)\n"
    "assert build.tokens <= settings.token_budget, build.tokens\n"
    "sys.stderr.write(f'prompt tokens {build.tokens}\\n')\n"
)
# OCR-APT's prepare_document, taken from a checkout at run time (never copied here)
OCRAPT_PEER = (
    "import ast, re, sys, types, pandas as pd\n"
    "source = open(sys.argv[2], encoding='utf-8').read()\n"
    "tree = ast.parse(source)\n"
    "func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'prepare_document')\n"
    "class Document:\n"
    "    def __init__(self, text, doc_id=None, metadata=None):\n"
    "        self.text = text\n"
    "scope = {'pd': pd, 're': re, 'Document': Document, 'args': types.SimpleNamespace(dataset='cadets'),\n"
    "         'rename_node_type': lambda dataset: {}}\n"
    "exec(compile(ast.Module(body=[func], type_ignores=[]), sys.argv[2], 'exec'), scope)\n"
    "frame = pd.read_csv(sys.argv[1], engine='pyarrow')\n"
    "document, processed = scope['prepare_document']('bench', frame)\n"
    "assert len(processed) > 0\n"
)


def cli() -> list[str]:
    exe = shutil.which("aptnarrate", path=str(Path(PYTHON).parent)) or shutil.which("aptnarrate")
    return [exe] if exe else [PYTHON, "-m", "aptnarrate"]


# Every configuration, floors included, runs as the ``aptnarrate`` command runs itself
# (``cli.console``): without OpenBLAS's threads, which numpy starts at import and which spin
# about 0.1 s of CPU each. Set for all, it is no advantage of ours in the ratios.
CHILD_ENVIRONMENT = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}


class Sample(NamedTuple):
    wall: float  # seconds
    peak: float  # MiB of resident memory at most
    user: float  # CPU seconds in the process
    system: float  # CPU seconds in the kernel for it (mostly zeroing fresh pages)
    faults: int  # minor page faults: fresh pages touched


def measure(argv: list[str], cpus: set[int] | None = None) -> Sample:
    """Wall time, peak RSS, CPU split and minor page faults of one child process (stdout
    goes to /dev/null; the columns are explained in the module's docstring). ``cpus``: the
    child runs on these CPUs only (its threads included)."""
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    with open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE, preexec_fn=pin, env=CHILD_ENVIRONMENT)
        err = child.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(argv)}\n{err[-2000:]}")
    return Sample(wall, usage.ru_maxrss / 1024, usage.ru_utime, usage.ru_stime, usage.ru_minflt)  # Linux: KiB


def configurations(path: Path, fmt: str, args) -> dict[str, list[str]]:
    zone = TIMEZONE if fmt == "edges" else "UTC"
    tool = cli()
    todo: dict[str, list[str]] = {}
    if not args.prompt_only:
        todo["report md"] = [*tool, "report", str(path), "--backend", "offline", "--timezone", zone, "-o", os.devnull]
        todo["report json"] = [*tool, "report", str(path), "--backend", "offline", "--timezone", zone, "--format", "json", "-o", os.devnull]
        todo["inspect"] = [*tool, "inspect", str(path), "--format", "json", "--timezone", zone]
    todo["prompt"] = [PYTHON, "-c", PROMPT, str(path), zone]
    todo["pandas floor"] = [PYTHON, "-c", PANDAS_FLOOR[fmt], str(path)]
    if args.polars:
        todo["polars floor"] = [PYTHON, "-c", POLARS_FLOOR[fmt], str(path)]
    if args.ocrapt_file and fmt == "ocrapt" and not args.prompt_only:
        todo["OCR-APT prepare_document"] = [PYTHON, "-c", OCRAPT_PEER, str(path), str(args.ocrapt_file)]
    return todo


OCRAPT_FILE = "src/ocrapt_llm_investigator.py"


def ocrapt_source(where: Path | None) -> Path | None:
    """OCR-APT's investigator module from a checkout, or from a bare git mirror (written
    to a temporary file outside the repository)."""
    if where is None:
        return None
    if (where / OCRAPT_FILE).is_file():
        return where / OCRAPT_FILE
    shown = subprocess.run(["git", "--git-dir", str(where), "show", f"HEAD:{OCRAPT_FILE}"], capture_output=True)
    if shown.returncode != 0:
        raise SystemExit(f"--ocrapt-src {where}: neither a checkout nor a git directory with {OCRAPT_FILE}")
    import tempfile

    target = Path(tempfile.mkdtemp(prefix="ocrapt-")) / "ocrapt_llm_investigator.py"
    target.write_bytes(shown.stdout)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="aptnarrate report/inspect/prompt vs. pandas and polars floors")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["ocrapt", "edges"], choices=["ocrapt", "edges"])
    parser.add_argument("--ocrapt-src", type=Path, default=None, help="a checkout of CoDS-GCS/OCR-APT")
    parser.add_argument("--prompt-only", action="store_true")
    parser.add_argument(
        "--tools", nargs="+", default=None, metavar="NAME",
        help="run only these configurations, e.g. --tools inspect 'pandas floor' 'polars floor' (the floors are needed for the ratios)",
    )
    parser.add_argument(
        "--cpus", type=int, default=None, metavar="N",
        help="run every configuration, floors included, on the same N CPUs (1: single-core ratios, "
        "which do not depend on how much of the second core the machine gives the multi-threaded "
        "CSV readers at the moment)",
    )
    args = parser.parse_args(argv)
    cpus = None
    if args.cpus is not None:
        if not hasattr(os, "sched_setaffinity"):
            parser.error("--cpus needs CPU affinity (Linux)")
        available = sorted(os.sched_getaffinity(0))
        if not 1 <= args.cpus <= len(available):
            parser.error(f"--cpus takes 1 to {len(available)} on this machine")
        cpus = set(available[: args.cpus])
        print(f"every configuration pinned to CPU(s) {', '.join(map(str, sorted(cpus)))}")
    ensure_bytecode()  # as an installed copy runs (bench/benchlib.py)
    args.ocrapt_file = ocrapt_source(args.ocrapt_src)
    try:
        import polars  # noqa: F401
    except ImportError:
        print("polars not installed (pip install -e '.[bench]'): no polars floor")
        args.polars = False
    else:
        args.polars = True
    header = (
        f"{'rows':>9}  {'format':<7} {'tool':<26} {'wall s':>7} {'peak MiB':>9} {'x pandas':>9} {'x polars':>9}"
        f" {'user s':>7} {'sys s':>6} {'faults k':>9}"
    )
    print(header)
    print("-" * len(header))
    for rows, fmt, path in inputs(args.rows, args.formats):
        runs: dict[str, list[Sample]] = {}
        todo = configurations(path, fmt, args)
        if args.tools:
            todo = {name: command for name, command in todo.items() if name in args.tools or name == "pandas floor"}
        for _ in range(args.repeat):  # interleaved, so load drifts hit every tool alike
            for name, command in todo.items():
                runs.setdefault(name, []).append(measure(command, cpus))
        pandas_floor = statistics.median(s.wall for s in runs["pandas floor"])
        polars_floor = statistics.median(s.wall for s in runs["polars floor"]) if "polars floor" in runs else None
        for name, samples in runs.items():
            wall = statistics.median(s.wall for s in samples)
            peak = max(s.peak for s in samples)
            user = statistics.median(s.user for s in samples)
            system = statistics.median(s.system for s in samples)
            faults = statistics.median(s.faults for s in samples) / 1000
            vs_polars = f"{wall / polars_floor:>9.2f}" if polars_floor else f"{'-':>9}"
            print(
                f"{rows:>9}  {fmt:<7} {name:<26} {wall:>7.2f} {peak:>9.0f} {wall / pandas_floor:>9.2f} {vs_polars}"
                f" {user:>7.2f} {system:>6.2f} {faults:>9.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
