"""Where the host's wider log lives, and the Ibis table over it.

EVENTS is one file, a folder (every CSV, gzip CSV and Parquet file under it) or a glob; on
a remote engine (``--context-engine URL``) it may also name a table the engine already
holds. Files are read by the engine itself, so DuckDB streams inputs larger than memory.
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, InputError, UsageError
from ..preprocess.ingest import EDGE_COLUMNS, OCRAPT_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
DEFAULT_MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class EventSource:
    """Resolved EVENTS: the files of one format, or a table name on the engine."""

    spec: str
    files: tuple[str, ...] = ()
    file_format: str = ""  # "parquet" | "csv" | "" for a table on the engine
    table: str | None = None


def _format_of(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def resolve_events(spec: str, engine_url: str | None = None) -> EventSource:
    """Expand EVENTS into its files; all must share one format (CSV or Parquet)."""
    path = Path(spec)
    if path.is_dir():
        found = sorted(str(p) for p in path.rglob("*") if p.is_file() and _format_of(p.name))
        where = f"folder {spec}"
    elif any(ch in spec for ch in "*?[") and not path.is_file():  # a file named with "[" is that file
        found = sorted(p for p in glob.glob(spec, recursive=True) if Path(p).is_file() and _format_of(p))
        where = f"glob {spec!r}"
    elif path.is_file():
        if _format_of(path.name) is None:
            raise InputError(
                "unknown context log format", path=spec, hint="expected .csv, .csv.gz or .parquet files"
            )
        found = [spec]
        where = spec
    elif engine_url:
        return EventSource(spec=spec, table=spec)  # a table the engine holds
    else:
        raise InputError("context log not found", path=spec, hint="give a file, a folder or a glob of CSV/Parquet files")
    if not found:
        raise InputError(f"no CSV or Parquet file in {where}", path=spec)
    formats = {_format_of(f) for f in found}
    if len(formats) > 1:
        raise InputError(
            "the context log mixes CSV and Parquet files", path=spec, hint="convert it with 'aptnarrate index' first"
        )
    return EventSource(spec=spec, files=tuple(found), file_format=formats.pop())


def connect(engine_url: str | None = None, memory_limit: str | None = None) -> Any:
    """An Ibis backend: DuckDB embedded by default, else the engine at ``engine_url``."""
    try:
        import ibis
    except ImportError:  # pragma: no cover - a dependency, but say what to install
        raise ConfigError("--context needs ibis: pip install 'ibis-framework[duckdb]'") from None
    if engine_url is None:
        limit = memory_limit or DEFAULT_MEMORY_LIMIT
        try:
            return ibis.duckdb.connect(memory_limit=limit)
        except Exception as exc:  # duckdb rejects a malformed limit with its own error type
            raise UsageError(f"invalid --context-memory-limit {limit!r}: {exc}", hint="e.g. 512MB, 4GB") from None
    try:
        return ibis.connect(engine_url)
    except Exception as exc:  # a bad URL or a missing backend package: the user must act
        raise ConfigError(
            f"cannot connect to context engine {engine_url!r}: {type(exc).__name__}: {exc}",
            hint="an Ibis connection URL such as duckdb://, trino://user@host/catalog; install the ibis backend extra",
        ) from None


# what engines expand in a path they are given (DuckDB and Spark alike): a file whose name
# holds one is passed under a plain name instead
_GLOB_CHARACTERS = re.compile(r"[*?\[\]{}]")
_LINK_FOLDERS: list[tempfile.TemporaryDirectory] = []  # kept until exit: tables read lazily


def engine_readable(path: str) -> bool:
    """Whether an engine reads ``path`` as written: no glob character, which it would
    expand, and UTF-8 text, which is all it takes (a name with bytes that are not UTF-8,
    legal on Linux, is a ``str`` with surrogates that DuckDB refuses to convert)."""
    if _GLOB_CHARACTERS.search(path):
        return False
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plain_link(target: str, name: str) -> str:
    """A symlink to ``target`` under the plain ``name`` in a private temporary folder that
    lives until exit (an engine may read a table lazily)."""
    folder = tempfile.TemporaryDirectory(prefix="aptnarrate-paths-")
    _LINK_FOLDERS.append(folder)
    link = os.path.join(folder.name, name)
    os.symlink(os.path.abspath(target), link)
    return link


def literal_paths(files: tuple[str, ...] | list[str]) -> list[str]:
    """``files`` as paths an engine reads as written. DuckDB (and Spark) expand glob
    characters in every path they are given, so a file named ``day[1].csv`` would be read
    as ``day1.csv``, or as several other files, and DuckDB cannot take a name that is not
    UTF-8; such a file is passed as a symlink with a plain name (its format suffix kept)
    in a private temporary folder."""
    out = []
    for number, name in enumerate(files):
        if engine_readable(name):
            out.append(name)
            continue
        lower = name.lower()
        suffix = next((s for s in sorted(PARQUET_SUFFIXES + CSV_SUFFIXES, key=len, reverse=True) if lower.endswith(s)), "")
        out.append(plain_link(name, f"file{number}{suffix}"))
    return out


def open_table(backend: Any, source: EventSource) -> ir.Table:
    """The Ibis table over the source, as the engine reads it."""
    try:
        if source.table is not None:
            return backend.table(source.table)
        files = literal_paths(source.files)
        if _is_duckdb(backend):  # DuckDB reads a list of files as one scan
            if source.file_format == "parquet":
                return backend.read_parquet(files)
            # every column as text: types are decided in the query, the same way on every engine
            return backend.read_csv(files, all_varchar=True)
        # other engines' readers take one path each: one table per file, stacked
        if source.file_format == "parquet":
            parts = [backend.read_parquet(f) for f in files]
        else:
            parts = [backend.read_csv(f, header=True) for f in files]
        return parts[0].union(*parts[1:], distinct=False) if len(parts) > 1 else parts[0]
    except Exception as exc:  # the engine's own error for an unreadable file
        raise unreadable_log(exc, source.spec) from None


# how DuckDB's CSV errors state their reason, on the line below the row they quote
_DUCKDB_REASON = re.compile(r"(Error when converting column|Invalid unicode|Expected Number of Columns|Value with unterminated quote|Maximum line size)")


def unreadable_log(exc: Exception, path: str, hint: str | None = None) -> InputError:
    """The engine's error for a context log it cannot read, as an input error: its first
    line, and the reason DuckDB gives below the row it quotes for a CSV error (that row is
    the log's text, never shown). Text that is not UTF-8 is said so, with the fix."""
    lines = [line.strip() for line in str(exc).splitlines()]
    shown = lines[0][:300] if lines else ""
    at = next((i for i, line in enumerate(lines) if line.startswith("Original Line:")), None)
    # the quoted row may run over several lines (a quoted line break): the reason is the first
    # line in DuckDB's own words, cut before it quotes the value
    reason = next((line for line in lines[at + 1 :] if _DUCKDB_REASON.match(line)), "") if at is not None else ""
    if reason:
        shown += f" ({reason.split(' Could not convert string', 1)[0][:200]})"
    if "unicode" in shown.casefold() or "utf-8" in shown.casefold():
        hint = "the context log must be UTF-8 text: re-encode it (e.g. iconv -f LATIN1 -t UTF-8)"
    return InputError(f"cannot read the context log: {type(exc).__name__}: {shown}", path=path, hint=hint)


def _is_duckdb(backend: Any) -> bool:
    return getattr(backend, "name", "") == "duckdb"


def role_columns(table: ir.Table, columns: dict[str, str], spec: str) -> dict[str, str]:
    """Each edge-list role's column in the table (``--column`` mapping, case-insensitive)."""
    return edge_roles(table.columns, columns, spec)


def edge_roles(names: Sequence[str], columns: dict[str, str], spec: str) -> dict[str, str]:
    """Each edge-list role's column among ``names``, a file's or a table's columns
    (``--column`` mapping, case-insensitive). The wider log is an edge list: a file
    without one of its columns is an input error naming every column it lacks, and an
    OCR-APT per-subgraph file (``description,timestamp``: a flagged subgraph, not a
    host's log) is named as such."""
    present = {str(name).strip().lower(): str(name) for name in names}
    wanted = {role: columns.get(role, role) for role in EDGE_COLUMNS}
    missing = [role for role, name in wanted.items() if name.strip().lower() not in present]
    if missing:
        expected = f"an edge list ({','.join(EDGE_COLUMNS)})"
        if all(columns.get(role, role).strip().lower() in present for role in OCRAPT_COLUMNS):
            raise InputError(
                f"an OCR-APT per-subgraph file ({','.join(OCRAPT_COLUMNS)}), not a host's event log: the wider log must be {expected}",
                path=spec,
                hint="a flagged subgraph is a report's INPUT; --context and index take the host's events as an edge list",
            )
        shown = ", ".join(repr(wanted[r]) + ("" if wanted[r] == r else f" ({r})") for r in missing)
        raise InputError(
            f"the context log has no column {shown}; it must be {expected}",
            path=spec,
            hint="map other column names with --column ROLE=NAME",
        )
    return {role: present[wanted[role].strip().lower()] for role in EDGE_COLUMNS}
