"""``aptnarrate index``: a wide log as Parquet partitioned by day, the recommended layout.

One DuckDB ``COPY ... (FORMAT parquet, PARTITION_BY (day))`` per input file, so memory
stays bounded by DuckDB's limit whatever the input size. The columns are kept as they
are (integer epochs stay integers), plus ``day`` (UTC, ``YYYY-MM-DD``) in the folder
names: ``DIR/day=2018-04-11/….parquet``. ``--context DIR`` then reads only the days its
window needs, and Parquet's per-row-group statistics let the engine skip the rest.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, UsageError
from ..output import current_umask
from ..preprocess.ingest import EDGE_COLUMNS
from .query import EPOCH_MAGNITUDES
from .source import DEFAULT_MEMORY_LIMIT, EventSource, edge_roles, engine_readable, literal_paths, plain_link, resolve_events

_TO_MS = {"s": "* 1000", "ms": "// 1", "us": "// 1000", "ns": "// 1000000"}
DAY_FOLDER = re.compile(r"(?:^|[/\\])day=(\d{4}-\d{2}-\d{2})(?:[/\\]|$)")


@dataclass(frozen=True)
class IndexResult:
    rows: int
    files: int  # input files converted
    days: tuple[str, ...]
    output: str


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def index_events(
    events: Sequence[str],
    output: str | Path,
    columns: dict[str, str] | None = None,
    epoch_unit: str = "auto",
    memory_limit: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> IndexResult:
    """Convert every file of ``events`` into day partitions under ``output``.

    ``progress(done, total, path)`` is called after each input file (the CLI draws a bar).
    """
    import duckdb

    for role in columns or {}:
        if role not in EDGE_COLUMNS:
            raise UsageError(f"unknown column role {role!r} in --column", hint=f"the wider log is an edge list: roles are {', '.join(EDGE_COLUMNS)}")
    sources: list[EventSource] = [resolve_events(spec) for spec in events]
    files = [f for s in sources for f in s.files]
    if not files:
        raise UsageError("index needs at least one EVENTS file, folder or glob")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {str(out)!r} is not a folder", hint="give a new or empty folder")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"-o {str(out)!r}: output folder is not empty", hint="give a new or empty folder")
    limit = memory_limit or DEFAULT_MEMORY_LIMIT
    try:
        con = duckdb.connect(config={"memory_limit": limit})
    except duckdb.Error as exc:
        raise UsageError(f"invalid --memory-limit {limit!r}: {str(exc).splitlines()[0][:200]}", hint="e.g. 512MB, 4GB") from None
    # built in a temp folder beside DIR and renamed to DIR once every file is in: a run that
    # fails or is interrupted half-way leaves no partial index that --context would read as
    # the whole log (and that a re-run would refuse as "not empty")
    try:
        out.absolute().parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=out.absolute().parent, prefix=f".{out.name[:200]}.", suffix=".tmp"))
        os.chmod(building, 0o777 & ~current_umask())  # mkdtemp's 0700 is for secrets; a new folder as mkdir makes it
    except OSError as exc:  # a file where a parent folder should be, no permission
        con.close()
        raise UsageError(f"cannot create the output folder {str(out)!r}: {exc.strerror or exc}") from None
    try:
        result = _index_files(con, files, building, str(out), columns, epoch_unit, progress)
        try:
            os.replace(building, out)  # DIR is absent or an empty folder
        except OSError as exc:
            raise UsageError(f"cannot create the output folder {str(out)!r}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return IndexResult(rows=result.rows, files=result.files, days=result.days, output=str(out))


def _index_files(con, files: Sequence[str], out: Path, shown: str, columns, epoch_unit: str, progress) -> IndexResult:
    """Every file's rows into day partitions under ``out`` (one COPY per file); errors
    name the output folder as ``shown``."""
    import duckdb

    total_rows = 0
    path = shown  # the file being indexed, named by an error
    try:
        # every file's columns and timestamp form first: the index is the wider log --context
        # reads as one table, an edge list with one kind of time, so a file that does not fit
        # is refused before any file is converted
        readers = []
        for path in files:
            readable = literal_paths([path])[0]  # DuckDB would expand "[", "*", "?" in the name
            reader = f"read_parquet({_quote(readable)})" if path.lower().endswith((".parquet", ".pq")) else f"read_csv({_quote(readable)}, header=true, all_varchar=true)"
            names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
            timestamp = edge_roles(names, columns or {}, path)["timestamp"]
            clash = next((n for n in names if n.strip().lower() == "day"), None)
            if clash is not None:  # DuckDB would rename one of the two: the partitions become day_1=...
                raise InputError(
                    f"a column named {clash!r} clashes with the index's day partitions (DIR/day=YYYY-MM-DD)",
                    path=path,
                    hint="rename that column first; the index adds each row's UTC day itself",
                )
            day, kind = _day_expression(con, reader, _ident(timestamp), epoch_unit, path)
            if readers and kind != readers[0][4]:
                # --context reads the index as one table with one time column: epochs in one
                # file and times in another failed there ("Could not convert string ... to INT64")
                raise InputError(
                    f"its timestamps are {_KINDS[kind]}, those of {readers[0][0]!r} {_KINDS[readers[0][4]]}",
                    path=path,
                    hint="index the files of one timestamp form together; --context reads one index as one table",
                )
            readers.append((path, reader, timestamp, day, kind))
        # DuckDB takes only UTF-8 paths: a folder whose path is not UTF-8 is written through a link
        target = str(out) if engine_readable(str(out)) else plain_link(str(out), "index")
        for done, (path, reader, column, day, kind) in enumerate(readers, start=1):
            # text columns stay as written; integer epochs become integers, so filters on them are cheap
            star = f"* REPLACE (CAST({_ident(column)} AS BIGINT) AS {_ident(column)})" if kind == "epoch" else "*"
            copied = con.execute(
                f"COPY (SELECT {star}, {day} AS day FROM {reader}) TO {_quote(target)} "
                f"(FORMAT parquet, PARTITION_BY (day), APPEND, FILENAME_PATTERN 'part{done:05d}_{{uuid}}')"
            ).fetchall()
            total_rows += int(copied[0][0]) if copied else 0
            if progress:
                progress(done, len(files), path)
    except duckdb.Error as exc:
        raise InputError(f"cannot index into {shown!r}: {str(exc).splitlines()[0][:300]}", path=path) from None
    finally:
        con.close()
    days = tuple(sorted({m.group(1) for p in out.rglob("*.parquet") if (m := DAY_FOLDER.search(str(p.parent)))}))
    return IndexResult(rows=total_rows, files=len(files), days=days, output=str(out))


_KINDS = {"epoch": "integer epochs", "timestamp": "a timestamp column", "text": "text times"}


def _day_expression(con, reader: str, column: str, epoch_unit: str, path: str) -> tuple[str, str]:
    """SQL for the UTC day of each row, by the timestamp column's type or text, and the
    column's kind: "epoch" (integer epochs), "timestamp" (a timestamp column) or "text"."""
    kind = con.execute(f"SELECT typeof({column}) FROM {reader} LIMIT 1").fetchall()
    if not kind:
        raise InputError("no rows", path=path)
    type_name = kind[0][0].upper()
    if "TIMESTAMP" in type_name or type_name == "DATE":
        return f"strftime(CAST({column} AS TIMESTAMP), '%Y-%m-%d')", "timestamp"
    integral = "INT" in type_name
    if not integral:  # text: integer epochs written as text, or times DuckDB can cast
        sample = [r[0] for r in con.execute(f"SELECT {column} FROM {reader} WHERE {column} IS NOT NULL LIMIT 1000").fetchall()]
        integral = bool(sample) and all(str(v).strip().lstrip("-").isdigit() for v in sample)
        if not integral:
            return f"strftime(CAST({column} AS TIMESTAMP), '%Y-%m-%d')", "text"
    value = f"CAST({column} AS BIGINT)"
    if epoch_unit != "auto":
        return f"strftime(epoch_ms({value} {_TO_MS[epoch_unit]}), '%Y-%m-%d')", "epoch"
    # auto: each value's unit from its magnitude, as ingest and the context query read it
    # (one unit from the first rows' median put a log mixing seconds and milliseconds
    # partly in the wrong day, which --context DIR then skipped: rows lost)
    bands = " ".join(f"WHEN abs({value}) < {high} THEN {value} {_TO_MS[unit]}" for unit, _low, high in EPOCH_MAGNITUDES[:-1])
    return f"strftime(epoch_ms(CASE {bands} ELSE {value} {_TO_MS['ns']} END), '%Y-%m-%d')", "epoch"


def days_of(files: Sequence[str]) -> dict[str, str]:
    """The ``day=`` partition of each file that has one."""
    return {f: m.group(1) for f in files if (m := DAY_FOLDER.search(f))}
