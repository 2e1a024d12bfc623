"""The one-hop neighbourhood query, written once with Ibis.

The same expression runs on DuckDB (embedded, the default) and on any engine Ibis
connects to (Spark, Trino, ClickHouse, ...). It selects the edges within a time window
that touch any of the IoCs: by entity id, or by an attribute that contains the IoC's
name (a path ending in a file name, a flow string holding an address). ``contains`` is
a superset of "the displayed name equals"; the exact match is made afterwards on the
few rows returned, with the same name rules as the subgraph (``ingest``).
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pandas as pd

from ..errors import InputError
from ..preprocess.ingest import EDGE_COLUMNS, FIRST_NS, LAST_NS

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir

_EPOCH_SCALE = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
SAMPLE_ROWS = 1000
# the magnitudes ingest reads as each epoch unit (per value, when the unit is auto)
EPOCH_MAGNITUDES = (("s", 0, 10**11), ("ms", 10**11, 10**14), ("us", 10**14, 10**17), ("ns", 10**17, 2**63))


@dataclass(frozen=True)
class Window:
    """The time window, as UTC instants (ns) and as wall-clock times for zone-less logs."""

    start_utc_ns: int
    end_utc_ns: int
    start_wall: pd.Timestamp  # in the zone the context log's zone-less times are written in
    end_wall: pd.Timestamp


def make_window(first_ns: int, last_ns: int, pad_ns: int, shown_zone: str, log_zone: str | None) -> Window:
    """Pad the subgraph's span (wall-clock ns in ``shown_zone``, or "as written").

    The padded window stops at the range of times ingest reads (1677-09-23 ..
    2262-04-09, ``ingest.FIRST_NS``/``LAST_NS``): no row outside it can be read, and a
    window reaching past it (a subgraph of 1678 with ``--context-window 3650d``)
    overflowed nanosecond timestamps: an internal error."""
    start, end = max(first_ns - pad_ns, FIRST_NS), min(last_ns + pad_ns, LAST_NS)
    if shown_zone == "as written":  # zone-less subgraph times: read them in the log's zone
        zone = ZoneInfo(log_zone or "UTC")
        wall = pd.DatetimeIndex([start, end])
        utc = wall.tz_localize(zone, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")
        return Window(int(utc.asi8[0]), int(utc.asi8[1]), wall[0], wall[1])
    wall = pd.DatetimeIndex([start, end]).tz_localize(ZoneInfo(shown_zone), ambiguous=True, nonexistent="shift_forward")
    utc = wall.tz_convert("UTC")
    local = utc.tz_convert(ZoneInfo(log_zone or "UTC")).tz_localize(None)
    return Window(int(utc.asi8[0]), int(utc.asi8[1]), local[0], local[1])


def timestamp_reading(table: ir.Table, column: str, epoch_unit: str, spec: str) -> tuple[str, str]:
    """How to read the time column: ('ts', ''), ('text', '') or ('int', unit).

    'ts' is a timestamp column, 'int' integer epochs (native, or text of digits), 'text'
    times the engine casts. For 'int', the unit is ``--epoch-unit``, or '' for auto: then,
    as ``ingest`` does, each value's unit is read from its magnitude (in the query itself,
    see ``epoch_ranges``). Only a text column needs a sample of its first rows (one small
    query) to tell digits from dates; the engine then reads every row the same way.
    """
    unit = "" if epoch_unit == "auto" else epoch_unit
    dtype = table[column].type()
    if dtype.is_timestamp():
        return "ts", ""
    if dtype.is_integer():
        return "int", unit
    values = [text for v in _sample(table, column) if v is not None and (text := str(v).strip())]
    if not values:
        raise InputError("the context log has no timestamps in its first rows", path=spec, column=column)
    if all(v.lstrip("-").isdigit() for v in values):
        return "int", unit
    return "text", ""


def epoch_ranges(window: Window, unit: str) -> list[tuple[int, int]]:
    """The integer ranges an epoch value must fall in to be inside ``window``.

    With a unit, one range. Without (auto), the value's magnitude gives its unit, exactly
    as ``ingest`` reads it (below 1e11 seconds, 1e14 ms, 1e17 us, else ns), so there is
    one range per unit, clipped to that unit's magnitudes. Floor/ceil: a coarse unit's
    border never loses an edge (the exact match on the returned rows follows).
    """
    ranges = []
    for name, low, high in EPOCH_MAGNITUDES:
        if unit and name != unit:
            continue
        scale = _EPOCH_SCALE[name]
        start, end = window.start_utc_ns // scale, -(-window.end_utc_ns // scale)
        if unit:
            ranges.append((start, end))
            continue
        for band_start, band_end in ((low, high - 1), (-(high - 1), -low)):
            clipped = (max(start, band_start), min(end, band_end))
            if clipped[0] <= clipped[1]:
                ranges.append(clipped)
    return ranges


def _sample(table: ir.Table, column: str) -> list:
    return table.select(value=table[column]).limit(SAMPLE_ROWS).to_pyarrow().column("value").to_pylist()


def neighbourhood(
    table: ir.Table,
    roles: dict[str, str],
    names: list[tuple[str, bool]],
    ids: list[str],
    window: Window,
    time_kind: str,
    unit: str,
) -> ir.Table:
    """Edges in the window that touch any name or id, every column as text (and the time
    to order by, ``ORDER``), unordered: ``fetch`` orders them."""
    import ibis

    t = table.select(**{role: table[column] for role, column in roles.items()})
    # the filter tests the columns as they are (a cast only where a column is not text):
    # a NULL never matches, so no COALESCE is needed there, and bare columns let the
    # engine push the predicates into its scan as it does for hand-written SQL
    text = {role: _as_text(t[role]) for role in EDGE_COLUMNS if role != "timestamp"}
    if time_kind == "int":
        stamp = t["timestamp"] if t["timestamp"].type().is_integer() else t["timestamp"].cast("int64")
        # an engine drops the ranges its column statistics exclude (DuckDB on Parquet does)
        in_window = _any([stamp.between(start, end) for start, end in epoch_ranges(window, unit)])
    else:
        stamp = t["timestamp"] if time_kind == "ts" else t["timestamp"].cast("timestamp")
        in_window = stamp.between(
            # to microseconds first (outward), which Python's datetime holds: no warning on stderr
            ibis.literal(window.start_wall.floor("us").to_pydatetime(), type="timestamp"),
            ibis.literal(window.end_wall.ceil("us").to_pydatetime(), type="timestamp"),
        )
    tests = [_names(text[role], name, path_like) for name, path_like in names for role in ("subject_attr", "object_attr")]
    if ids:
        tests += [text["subject_uuid"].isin(ids), text["object_uuid"].isin(ids)]
    touches = _any(tests)
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
        },
        **{ORDER: _instant(selected["timestamp"], time_kind, unit)},
    )
    # unordered: ``count`` needs no order; ``fetch`` puts the rows in time order
    return rows


ORDER = "_aptnarrate_order"  # the rows' time as the engine reads it, to order by; not fetched


def _instant(stamp, time_kind: str, unit: str):
    """A value that orders the rows by time: the timestamp, or an epoch scaled to
    nanoseconds as a double (its unit from ``unit``, or from its magnitude as ingest reads
    it); a double, because seconds near 1e11 overflow int64 as nanoseconds."""
    import ibis

    if time_kind != "int":
        return stamp if time_kind == "ts" else stamp.cast("timestamp")
    value = (stamp if stamp.type().is_integer() else stamp.cast("int64")).cast("float64")
    if unit:
        return value * _EPOCH_SCALE[unit]
    size = value.abs()
    return ibis.cases(
        *[(size < high, value * _EPOCH_SCALE[name]) for name, _, high in EPOCH_MAGNITUDES[:-1]], else_=value
    )


def _any(conditions: list):
    import ibis

    return functools.reduce(operator.or_, conditions) if conditions else ibis.literal(False)


def _as_text(column):
    return column if column.type().is_string() else column.cast("string")


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


def count(expr: ir.Table) -> int:
    """How many rows ``expr`` has, counted by the engine: nothing is fetched."""
    return int(expr.count().to_pyarrow().as_py())


class TooManyRows(Exception):
    """``fetch(max_rows=)``: the result has more rows than that; nothing is returned."""


def fetch(expr: ir.Table, limit: int | None = None, max_rows: int | None = None) -> pd.DataFrame:
    """Execute on the engine: the rows (the first ``limit``, when given) as a plain
    DataFrame of text columns. Only the rows fetched are held in memory here. With
    ``max_rows``, at most one more than that is fetched, and ``TooManyRows`` raised if it
    came: a result too large is never held whole."""
    # in time order (the text of an epoch sorts "9" after "10"), so that the first rows of a
    # limited fetch are the earliest ones; the engine keeps only those (a top-N)
    expr = expr.order_by([ORDER, *EDGE_COLUMNS])
    if limit is not None:
        expr = expr.limit(limit)
    if max_rows is not None and (limit is None or limit > max_rows):
        expr = expr.limit(max_rows + 1)  # one row past it says there are more
    frame = expr.drop(ORDER).to_pyarrow().to_pandas()
    if max_rows is not None and len(frame) > max_rows:
        raise TooManyRows(len(frame))
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
