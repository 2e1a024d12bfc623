"""Context extraction on a generated host log: the Ibis query against a hand-written
DuckDB SQL floor in the same run, PySpark local mode, and ``aptnarrate index`` throughput.

    .venv/bin/python bench/bench_context.py generate --rows 10000000   # bench/out-context/host_10000000.{parquet,csv}
    .venv/bin/python bench/bench_context.py generate --rows 100000000 --formats parquet
    .venv/bin/python bench/bench_context.py run --rows 10000000 [--repeat 3] [--spark] [--index] [--formats parquet csv]

The host log is the dropper example's edges, planted neighbourhoods around each of its
named nodes (tests/wide_log.py) and N rows of background. The IoCs are the 10
best-ranked addresses, processes and files of the subgraph. Each measurement runs in its
own process; wall time covers the query only (connection, scan, fetch), peak RSS is the
child's (os.wait4), DuckDB runs under a 1 GB memory limit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out-context"  # generated, git-ignored (bench/out is the report bench's inputs)
sys.path.insert(0, str(ROOT / "tests"))
MEMORY_LIMIT = "1GB"
N_IOCS = 10
CHUNK_ROWS = 10_000_000  # larger logs are generated and written a time slice at a time


def _paths(rows: int) -> dict[str, Path]:
    return {"parquet": OUT / f"host_{rows}.parquet", "csv": OUT / f"host_{rows}.csv"}


def generate(rows: int, formats: list[str]) -> None:
    """Up to CHUNK_ROWS in one table (tests/wide_log.py); beyond, the background is drawn
    one time slice at a time (each slice its own seed, sorted) and appended, so memory
    stays bounded and the file is still sorted by time."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from wide_log import DAY, background, wide_log

    from aptnarrate.examples import path

    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subgraph = pd.read_csv(path("dropper", "edges"), dtype=str, keep_default_na=False)
    paths = {f: p for f, p in _paths(rows).items() if f in formats}
    if rows <= CHUNK_ROWS:
        chunks = iter([wide_log(subgraph, rows)[0]])
    else:
        first = wide_log(subgraph, 0)[0]  # the subgraph's edges and the planted rows, sorted
        times = subgraph["timestamp"].astype("int64")
        start, end = int(times.min()) - 4 * DAY, int(times.max()) + DAY
        slices = -(-rows // CHUNK_ROWS)
        edges = np.linspace(start, end, slices + 1).astype(np.int64)
        own_times = first.column("timestamp").to_numpy()
        schema = first.schema

        def chunk(i: int):
            lo, hi = int(edges[i]), int(edges[i + 1])
            mine = first.filter(pa.array((own_times >= lo) & ((own_times < hi) | (i == slices - 1))))
            size = rows // slices + (1 if i < rows % slices else 0)
            return pa.concat_tables([mine, background(size, lo, hi, seed=7 + i).cast(schema)]).sort_by("timestamp")

        chunks = (chunk(i) for i in range(slices))
    writers = {}
    total = 0
    try:
        for table in chunks:
            if not writers:
                if "parquet" in paths:
                    writers["parquet"] = pq.ParquetWriter(paths["parquet"], table.schema)
                if "csv" in paths:
                    writers["csv"] = pacsv.CSVWriter(paths["csv"], table.schema)
            if "parquet" in writers:
                writers["parquet"].write_table(table, row_group_size=1 << 20)
            if "csv" in writers:
                writers["csv"].write_table(table)
            total += table.num_rows
            print(f"  {total} rows written ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        for writer in writers.values():
            writer.close()
    sizes = ", ".join(f"{p.stat().st_size >> 20} MB {f}" for f, p in paths.items())
    print(f"generated {total} rows in {time.perf_counter() - started:.1f} s: {sizes}")


def _setup():
    """The subgraph's facts, its 10 IoCs, the window: what every engine is asked."""
    from aptnarrate.context import extract
    from aptnarrate.context import query as q
    from aptnarrate.examples import path
    from aptnarrate.pipeline import inspect_input

    facts = inspect_input(path("dropper", "edges"))
    iocs = sorted((c for c in facts.candidates if c.type in extract.CONTEXT_TYPES), key=lambda c: c.rank)[:N_IOCS]
    times = facts.timeline.table.events["time"]
    window = q.make_window(int(times.min()), int(times.max()), extract.parse_window(extract.DEFAULT_WINDOW), "UTC", None)
    names = sorted({(c.value, c.type in extract._PATH_TYPES) for c in iocs})
    ids = sorted({i for c in iocs for i in c.entity_ids})
    return facts, iocs, window, names, ids


def _floor_sql(log: Path, fmt: str, names, ids, window) -> str:
    def lit(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def like(text: str) -> str:  # LIKE needs its own escapes
        return lit(text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))

    conditions = []
    for name, path_like in names:
        for column in ("subject_attr", "object_attr"):
            if path_like:
                conditions += [f"{column} = {lit(name)}", f"{column} LIKE {like('%/' + name)} ESCAPE '\\'",
                               f"{column} LIKE {like('%' + chr(92) + name)} ESCAPE '\\'",
                               f"contains({column}, {lit('/' + name + ' ')})", f"contains({column}, {lit(chr(92) + name + ' ')})"]
            else:
                conditions.append(f"contains({column}, {lit(name)})")
    id_list = ", ".join(lit(i) for i in ids)
    if ids:
        conditions += [f"subject_uuid IN ({id_list})", f"object_uuid IN ({id_list})"]
    source = f"read_parquet({lit(str(log))})" if fmt == "parquet" else f"read_csv({lit(str(log))}, header=true, all_varchar=true)"
    return (
        f"SELECT * FROM {source} WHERE CAST(timestamp AS BIGINT) BETWEEN {window.start_utc_ns} AND {window.end_utc_ns} "
        f"AND ({' OR '.join(conditions)}) ORDER BY CAST(timestamp AS BIGINT)"
    )


def measure(engine: str, log: Path) -> None:
    """One measurement, in this (child) process; prints a JSON line."""
    fmt = "parquet" if log.suffix == ".parquet" else "csv"
    facts, iocs, window, names, ids = _setup()
    from aptnarrate.preprocess.ingest import IngestOptions

    extra: dict[str, float] = {}
    started = time.perf_counter()
    if engine == "floor":
        import duckdb

        con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT})
        rows = len(con.execute(_floor_sql(log, fmt, names, ids, window)).to_arrow_table())
    elif engine in ("ibis-duckdb", "ibis-spark"):
        from aptnarrate.context.extract import ContextOptions, query_rows

        backend = None
        import ibis

        ibis.duckdb  # noqa: B018 - loads the backend and its SQL compilers: a fixed cost of the Ibis path
        extra["import_s"] = time.perf_counter() - started
        if engine == "ibis-spark":
            import ibis
            from pyspark.sql import SparkSession

            spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                     .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "2")
                     .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "1g").getOrCreate())
            spark.sparkContext.setLogLevel("ERROR")
            backend = ibis.pyspark.connect(spark)
            started = time.perf_counter()  # the session's start-up is not the query's
        options = ContextOptions(str(log), memory_limit=MEMORY_LIMIT, backend=backend)
        frame, _, _ = query_rows(options, IngestOptions(), window, names, ids)
        rows = len(frame)
    elif engine == "extract":  # the whole --context step: query, ingest, condense, sections
        from aptnarrate.context import ContextOptions, extract_context

        context = extract_context(facts, IngestOptions(), ContextOptions(str(log), top=4, memory_limit=MEMORY_LIMIT))
        rows = context.rows_read
    else:
        raise SystemExit(f"unknown engine {engine}")
    print(json.dumps({"engine": engine, "seconds": time.perf_counter() - started, "rows": rows, "iocs": len(iocs), **extra}))


def _child(args: list[str]) -> tuple[dict, float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"child {args} failed with status {status}: {out}")
    result = json.loads(out.strip().splitlines()[-1])
    result["cpu"] = usage.ru_utime + usage.ru_stime  # the machine may be shared: CPU time is steadier
    return result, wall, usage.ru_maxrss / 1024


def run(rows: int, repeat: int, spark: bool, index: bool, formats: list[str]) -> None:
    """Each engine in its own process, the engines interleaved round by round, so a change
    in the machine's load hits every engine alike; then the ratios to the floor."""
    paths = {f: p for f, p in _paths(rows).items() if f in formats}
    engines = ["floor", "ibis-duckdb", "extract"] + (["ibis-spark"] if spark else [])
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"| log | engine | query s (median of {repeat}) | of which Ibis import s | process s | process CPU s | peak RSS MB | rows returned |")
    print("|-----|--------|------|------|------|------|------|------|")
    medians: dict[tuple[str, str], tuple[float, float]] = {}
    for fmt, log in paths.items():
        runs: dict[str, list] = {e: [] for e in engines if not (e == "ibis-spark" and fmt == "csv")}
        for round_ in range(repeat):
            for engine in runs:
                if engine == "ibis-spark" and round_ > 0:
                    continue  # minutes per run: once
                runs[engine].append(_child(["measure", engine, str(log)]))
        for engine, results in runs.items():
            seconds = statistics.median(r[0]["seconds"] for r in results)
            imported = statistics.median(r[0].get("import_s", 0.0) for r in results)
            wall = statistics.median(r[1] for r in results)
            peak = max(r[2] for r in results)
            cpu = statistics.median(r[0]["cpu"] for r in results)
            medians[fmt, engine] = (seconds, cpu)
            shown = f"{imported:.2f}" if engine.startswith("ibis") else "-"
            print(f"| {fmt} | {engine} | {seconds:.2f} | {shown} | {wall:.2f} | {cpu:.2f} | {peak:.0f} | {results[0][0]['rows']} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for fmt in paths:
        floor, floor_cpu = medians[fmt, "floor"]
        ibis_s, ibis_cpu = medians[fmt, "ibis-duckdb"]
        print(f"{fmt}: ibis-duckdb / floor = {ibis_s / floor:.2f}x query wall, {ibis_cpu / floor_cpu:.2f}x process CPU")
    if index:
        import shutil
        import tempfile

        target = Path(tempfile.mkdtemp(prefix="aptnarrate-index-"))
        shutil.rmtree(target)
        started = time.perf_counter()
        source = paths.get("csv", paths.get("parquet"))
        subprocess.run([str(Path(sys.executable).parent / "aptnarrate"), "index", str(source), "-o", str(target)],
                       check=True, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        print(f"\nindex {source.name}: {rows} rows in {seconds:.1f} s = {rows / seconds / 1e6:.2f} M rows/s (load {os.getloadavg()[0]:.1f})")
        shutil.rmtree(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("--rows", type=int, default=10_000_000)
    gen.add_argument("--formats", nargs="+", choices=["parquet", "csv"], default=["parquet", "csv"])
    bench = sub.add_parser("run")
    bench.add_argument("--rows", type=int, default=10_000_000)
    bench.add_argument("--repeat", type=int, default=3)
    bench.add_argument("--spark", action="store_true")
    bench.add_argument("--index", action="store_true")
    bench.add_argument("--formats", nargs="+", choices=["parquet", "csv"], default=["parquet", "csv"])
    one = sub.add_parser("measure")
    one.add_argument("engine")
    one.add_argument("log", type=Path)
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.rows, args.formats)
    elif args.command == "run":
        run(args.rows, args.repeat, args.spark, args.index, args.formats)
    else:
        measure(args.engine, args.log)


if __name__ == "__main__":
    main()
