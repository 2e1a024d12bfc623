"""The one-hop neighbourhood query, written once with Ibis.

The same expression runs on DuckDB (embedded, the default) and on any engine Ibis
connects to (Spark, Trino, ClickHouse, ...). It selects the edges within a time window
that touch any of the IoCs: by entity id, or by an attribute that contains the IoC's
name (a path ending in a file name, a flow string holding an address). ``contains`` is
a superset of "the displayed name equals"; the exact match is made afterwards on the
few rows returned, with the same name rules as the subgraph (``ingest``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ..errors import InputError
from ..preprocess.ingest import EDGE_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir

_EPOCH_SCALE = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class Window:
    """The time window, as UTC instants (ns) and as wall-clock times for zone-less logs."""

    start_utc_ns: int
    end_utc_ns: int
    start_wall: pd.Timestamp  # in the zone the context log's zone-less times are written in
    end_wall: pd.Timestamp


def make_window(first_ns: int, last_ns: int, pad_ns: int, shown_zone: str, log_zone: str | None) -> Window:
    """Pad the subgraph's span (wall-clock ns in ``shown_zone``, or "as written")."""
    start, end = first_ns - pad_ns, last_ns + pad_ns
    if shown_zone == "as written":  # zone-less subgraph times: read them in the log's zone
        zone = ZoneInfo(log_zone or "UTC")
        wall = pd.DatetimeIndex([start, end])
        utc = wall.tz_localize(zone, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")
        return Window(int(utc.asi8[0]), int(utc.asi8[1]), wall[0], wall[1])
    wall = pd.DatetimeIndex([start, end]).tz_localize(ZoneInfo(shown_zone), ambiguous=True, nonexistent="shift_forward")
    utc = wall.tz_convert("UTC")
    local = utc.tz_convert(ZoneInfo(log_zone or "UTC")).tz_localize(None)
    return Window(int(utc.asi8[0]), int(utc.asi8[1]), local[0], local[1])


def timestamp_kind(table: ir.Table, column: str, epoch_unit: str, spec: str) -> str:
    """'int' (native integers), 'ts' (a timestamp column), or an epoch unit / 'text' for text.

    Decided from the column type, or for text from the first rows: the engine then casts
    every row the same way, whatever it inferred.
    """
    dtype = table[column].type()
    if dtype.is_timestamp():
        return "ts"
    if dtype.is_integer():
        return "int"
    sample = table.select(value=table[column]).limit(SAMPLE_ROWS).to_pyarrow().column("value").to_pylist()
    values = [str(v).strip() for v in sample if v is not None and str(v).strip()]
    if not values:
        raise InputError("the context log has no timestamps in its first rows", path=spec, column=column)
    if all(v.lstrip("-").isdigit() for v in values):
        return "int"
    return "text"


def epoch_unit_of(table: ir.Table, column: str, kind: str, epoch_unit: str) -> str:
    if epoch_unit != "auto":
        return epoch_unit
    sample = table.select(value=table[column].cast("int64")).limit(SAMPLE_ROWS).to_pyarrow().column("value")
    values = np.abs(np.asarray([v for v in sample.to_pylist() if v is not None], dtype=np.float64))
    typical = float(np.median(values)) if len(values) else 0.0
    return "s" if typical < 1e11 else "ms" if typical < 1e14 else "us" if typical < 1e17 else "ns"


def neighbourhood(
    table: ir.Table,
    roles: dict[str, str],
    names: list[tuple[str, bool]],
    ids: list[str],
    window: Window,
    time_kind: str,
    unit: str,
) -> ir.Table:
    """Edges in the window that touch any name or id, every column as text, in one order."""
    import ibis

    t = table.select(**{role: table[column] for role, column in roles.items()})
    text = {role: t[role].cast("string").fill_null("") for role in EDGE_COLUMNS if role != "timestamp"}
    if time_kind == "int":
        scale = _EPOCH_SCALE[unit]
        stamp = t["timestamp"].cast("int64")
        # floor/ceil so that the window never loses an edge at its border
        in_window = stamp.between(window.start_utc_ns // scale, -(-window.end_utc_ns // scale))
    else:
        stamp = t["timestamp"] if time_kind == "ts" else t["timestamp"].cast("timestamp")
        in_window = stamp.between(
            ibis.literal(window.start_wall.to_pydatetime(), type="timestamp"),
            ibis.literal(window.end_wall.to_pydatetime(), type="timestamp"),
        )
    touches = ibis.literal(False)
    for name, path_like in names:
        for role in ("subject_attr", "object_attr"):
            touches = touches | _names(text[role], name, path_like)
    if ids:
        touches = touches | text["subject_uuid"].isin(ids) | text["object_uuid"].isin(ids)
    selected = t.filter(in_window & touches)
    # text columns computed on the filtered rows only; integer times lose any padding
    rows = selected.select(
        **{
            role: (
                selected["timestamp"].cast("int64").cast("string")
                if role == "timestamp" and time_kind == "int"
                else selected[role].cast("string").fill_null("")
            )
            for role in EDGE_COLUMNS
        }
    )
    return rows.order_by(["timestamp", *[r for r in EDGE_COLUMNS if r != "timestamp"]])


def _names(attr, name: str, path_like: bool):
    """Attribute values whose displayed name may be ``name``: for paths, the value itself,
    a path ending in it, or a command line whose program it is; otherwise (addresses,
    flow strings) any value holding it."""
    if not path_like:
        return attr.contains(name)
    return (
        (attr == name)
        | attr.endswith("/" + name)
        | attr.endswith("\\" + name)
        | attr.contains("/" + name + " ")
        | attr.contains("\\" + name + " ")
    )


def fetch(expr: ir.Table) -> pd.DataFrame:
    """Execute on the engine; the result is small (the neighbourhood), a plain DataFrame."""
    frame = expr.to_pyarrow().to_pandas()
    return frame.astype({c: "string" for c in frame.columns}).fillna("")


def describe_engine(backend: Any) -> str:
    name = getattr(backend, "name", type(backend).__name__)
    if name == "duckdb":
        try:
            limit = backend.raw_sql("select current_setting('memory_limit')").fetchall()[0][0]
            return f"duckdb (memory limit {limit})"
        except Exception:  # pragma: no cover - only informative
            return "duckdb"
    return str(name)
