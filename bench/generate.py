"""Scale the development corpus (or, without it, our own examples) to N-row benchmark inputs.

Writes ``bench/out/bench_<N>.csv`` (OCR-APT layout) and ``bench/out/bench_<N>.edges.csv``
(edge list) describing the same events. Scaling is meant to look like a long audit trail,
not one line repeated:

* every corpus case is replayed many times, each replay shifted to its own start over a
  span of days, and all replays are interleaved in time order;
* entities of a replay belong to one of a few hundred "instances" (fresh node uuids), and a
  fraction of replays rename their files and processes (``name-3``), so the distinct
  descriptions grow with N the way a real host's do;
* each event is followed by a burst of 0..n same-second repeats (heavy-tailed), the pattern
  the condense step folds into "(N times)".

Usage: ``.venv/bin/python bench/generate.py [--rows 10000 100000 1000000] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
CORPUS = HERE.parent.parent / "shared" / "corpus"
EXAMPLES = HERE.parent / "aptnarrate" / "examples"
ZONE = "America/Toronto"  # the wall clock OCR-APT's TC3 CSVs are written in (EDT = America/Nipigon)
NS = 1_000_000_000
SPAN_DAYS = 6
INSTANCES = 256  # distinct node-uuid instances per entity across all replays
RENAMED_SHARE = 0.15  # replays whose file and process names get a variant suffix
NAME_VARIANTS = 12
BURST = np.array([0, 1, 2, 3, 5, 8, 15])  # extra same-second repeats of one event
BURST_WEIGHT = np.array([0.55, 0.2, 0.1, 0.07, 0.04, 0.03, 0.01])


def epoch_ns(stamps: pd.Series) -> pd.Series:
    """Edge-list times as int64 ns since the epoch: TC3 lists write integers, OpTC lists ISO
    strings with an offset (``2019-09-24 11:32:02.730-04:00``); only offsets matter here."""
    numeric = pd.to_numeric(stamps, errors="coerce")
    if numeric.notna().all():
        return numeric.astype(np.int64)
    return pd.to_datetime(stamps, utc=True, format="ISO8601").dt.as_unit("ns").astype("int64")


def load_cases() -> tuple[list[pd.DataFrame], str]:
    """Edge lists of every case, from the corpus if present, else our shipped examples."""
    paths = sorted(glob.glob(str(CORPUS / "*_subgraph_*.edges.csv")))
    source = "corpus"
    if not paths:
        paths = sorted(glob.glob(str(EXAMPLES / "*.edges.csv")))
        source = "examples"
    if not paths:
        sys.exit(f"no input: neither {CORPUS} nor aptnarrate/examples has edge lists")
    cases = []
    for path in paths:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame["timestamp"] = epoch_ns(frame["timestamp"])
        frame["timestamp"] -= frame["timestamp"].min()  # offset within the case
        cases.append(frame)
    return cases, source


def scale(cases: list[pd.DataFrame], rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = pd.concat(cases, ignore_index=True)
    case_of_row = np.concatenate([np.full(len(c), i) for i, c in enumerate(cases)])
    starts = np.concatenate([[0], np.cumsum([len(c) for c in cases])])
    mean_burst = float((BURST * BURST_WEIGHT).sum() + 1)

    # pick replays (random cases) until their rows, bursts included, reach the target
    n_replays = int(1.1 * rows / mean_burst / (len(base) / len(cases))) + len(cases)
    replay_case = rng.integers(0, len(cases), n_replays)
    lengths = starts[replay_case + 1] - starts[replay_case]
    row_index = np.concatenate([np.arange(starts[c], starts[c + 1]) for c in replay_case])
    replay = np.repeat(np.arange(n_replays), lengths)

    span = SPAN_DAYS * 86_400 * NS
    first_case_start = 1_523_404_800 * NS  # 2018-04-11 00:00 UTC, the engagement's week
    replay_start = first_case_start + rng.integers(0, span, n_replays)
    instance = rng.integers(0, INSTANCES, n_replays)
    variant = np.where(rng.random(n_replays) < RENAMED_SHARE, rng.integers(1, NAME_VARIANTS + 1, n_replays), 0)

    times = replay_start[replay] + base["timestamp"].to_numpy()[row_index]
    extra = rng.choice(BURST, size=len(row_index), p=BURST_WEIGHT)
    copies = extra + 1
    row_index = np.repeat(row_index, copies)
    replay = np.repeat(replay, copies)
    second = np.repeat(times // NS, copies)
    times = second * NS + rng.integers(0, NS, len(second))  # repeats stay in their second
    order = np.argsort(times, kind="stable")[:rows]  # time order; trimming drops the latest tail
    row_index, replay, times = row_index[order], replay[order], times[order]

    frame = base.iloc[row_index].reset_index(drop=True)
    frame["timestamp"] = times
    suffix_instance = pd.Series(instance[replay]).astype(str).radd("-i").to_numpy()
    for role in ("subject", "object"):
        uuid = frame[f"{role}_uuid"].to_numpy(dtype=object)
        frame[f"{role}_uuid"] = np.where(uuid == "", uuid, uuid + suffix_instance)
        kind = frame[f"{role}_type"].str.lower().to_numpy(dtype=object)
        attr = frame[f"{role}_attr"].to_numpy(dtype=object)
        renamable = (attr != "") & (variant[replay] > 0) & (kind != "netflowobject")
        suffix = pd.Series(variant[replay]).astype(str).radd("-").to_numpy(dtype=object)
        frame[f"{role}_attr"] = np.where(renamable, attr + suffix, attr)
    return frame


def ocrapt_layout(edges: pd.DataFrame) -> pd.DataFrame:
    """The same events in OCR-APT's wording and wall clock."""
    parts = []
    for role, named, bare in (("subject", "The ", "A "), ("object", "the ", "a ")):
        kind = edges[f"{role}_type"].str.lower()
        attr = edges[f"{role}_attr"]
        parts.append(np.where(attr != "", named + kind + ": " + attr, bare + kind))
    action = edges["predicate"].str.removeprefix("EVENT_")
    description = pd.Series(parts[0]) + " " + action + " " + pd.Series(parts[1])
    wall = pd.DatetimeIndex(edges["timestamp"].to_numpy().astype("datetime64[ns]"), tz="UTC").tz_convert(ZONE)
    seconds = wall.tz_localize(None).to_numpy().astype("datetime64[s]")
    stamp = pd.Series(np.datetime_as_string(seconds)).str.replace("T", " ", regex=False)
    return pd.DataFrame({"description": description, "timestamp": stamp})


def write(frame: pd.DataFrame, path: Path) -> None:
    """Quote only where a field needs it, as pandas' ``to_csv`` (and so OCR-APT) does."""
    text = frame.select_dtypes(exclude="number")
    special = any(text[c].str.contains(r'[",\n\r]', regex=True).any() for c in text.columns)
    if special:
        frame.to_csv(path, index=False)
        return
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with open(path, "wb") as out:
        out.write((",".join(frame.columns) + "\n").encode())
        pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    cases, source = load_cases()
    OUT.mkdir(exist_ok=True)
    for rows in args.rows:
        started = time.perf_counter()
        edges = scale(cases, rows, args.seed)
        write(edges, OUT / f"bench_{rows}.edges.csv")
        write(ocrapt_layout(edges), OUT / f"bench_{rows}.csv")
        print(f"{rows:>9} rows from {len(cases)} {source} cases in {time.perf_counter() - started:.1f}s -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
