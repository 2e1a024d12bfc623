"""Renderers for ``aptnarrate inspect``: the condensed timeline and ranked candidates.

Vectorised over the log (inputs may condense to hundreds of thousands of rows).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..condense import minute_text

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..facts import Facts


def _timeline_frame(facts: Facts, safe: bool = False) -> pd.DataFrame:
    timeline = facts.timeline
    log = timeline.log
    texts = timeline.descriptions["text"]
    if safe:  # escape once per distinct description, not once per row
        texts = texts.map(_safe)
    text = texts.to_numpy()[log["description"].to_numpy()]
    import pandas as pd

    return pd.DataFrame(
        {
            "id": log["id"],
            "minute": minute_text(log["minute"].to_numpy()) if len(log) else [],
            "text": text,
            "count": log["count"],
            "rows": log["rows"],
            "first_line": log["first_line"],
        }
    )


def _input_info(facts: Facts) -> dict:
    table = facts.timeline.table
    return {
        "name": table.source,
        "format": table.input_format,
        "timezone": table.timezone,
        "time_basis": table.time_basis,
        "rows_read": table.rows_read,
        "events": len(table.events),
        "log_rows": len(facts.timeline.log),
        "skipped_count": table.skipped_count,
        "skipped_lines": [{"line": s.line, "column": s.column, "reason": s.reason} for s in table.skipped],
        "internal_networks": [str(n) for n in facts.internal_networks],
    }


def _timeline_json(facts: Facts) -> str:
    """The timeline as a JSON array of records, built column-wise in Arrow: each distinct
    description is JSON-escaped once, and no per-row Python object is created."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    log = facts.timeline.log
    if len(log) == 0:
        return "[]"
    texts = pa.array([json.dumps(t, ensure_ascii=False) for t in facts.timeline.descriptions["text"]])
    codes, distinct = _distinct_minutes(log["minute"].to_numpy())
    minutes = pa.array(distinct).take(pa.array(codes))

    def number(column: str) -> pa.Array:
        return pc.cast(pa.array(log[column].to_numpy()), pa.string())

    records = pc.binary_join_element_wise(
        '{"id": "', pa.array(log["id"].to_numpy(dtype=object)),
        '", "minute": "', minutes,
        '", "text": ', texts.take(pa.array(log["description"].to_numpy())),
        ', "count": ', number("count"),
        ', "rows": ', number("rows"),
        ', "first_line": ', number("first_line"),
        "}, ",
        "",
    )
    # the records lie back to back in the array's data buffer: take them in one piece
    bounds = np.frombuffer(records.buffers()[1], dtype=np.int32, count=len(records) + 1, offset=records.offset * 4)
    body = records.buffers()[2].to_pybytes()[bounds[0] : bounds[-1] - 2].decode("utf-8")
    return "[" + body + "]"


def _distinct_minutes(minutes_ns):
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(np.asarray(minutes_ns, dtype=np.int64))
    return codes, list(pd.to_datetime(distinct, unit="ns").strftime("%Y-%m-%d %H:%M"))


class _CandidateList:
    """A TypeAdapter built on first use (pydantic's serializer is far faster than model_dump)."""

    _adapter = None

    def dump_json(self, items) -> bytes:
        if self._adapter is None:
            from pydantic import TypeAdapter

            from ..models import Candidate

            type(self)._adapter = TypeAdapter(list[Candidate])
        return self._adapter.dump_json(items)


_CANDIDATES = _CandidateList()


def render_inspect_json(facts: Facts) -> str:
    timeline_json = _timeline_json(facts)
    candidates = _CANDIDATES.dump_json(list(facts.candidates)).decode("utf-8")
    info = json.dumps(_input_info(facts), ensure_ascii=False)
    return f'{{"input": {info}, "candidates": {candidates}, "timeline": {timeline_json}}}\n'


def _safe(text: str) -> str:
    """Terminal output: control characters from names shown, not executed."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def render_inspect_table(facts: Facts) -> str:
    info = _input_info(facts)
    out = [
        f"input: {_safe(info['name'])} ({info['format']}), {info['rows_read']} rows, {info['events']} events, "
        f"{info['log_rows']} log rows, {info['skipped_count']} skipped; times {info['time_basis']}",
        "",
        f"candidate IoCs ({len(facts.candidates)}, ranked; * = in the report's table):",
    ]
    for c in facts.candidates:
        mark = "*" if c.in_table else " "
        out.append(f"{mark} {c.rank:>4}  {c.likelihood:<8}  {c.type:<8}  {_safe(c.value)}  [{c.score:.1f}]")
        if c.reasons:
            out.append("         " + _safe("; ".join(c.reasons)))
        out.append(f"         evidence: {', '.join(c.evidence[:12])}{' ...' if len(c.evidence) > 12 else ''}")
    out += ["", "chronological log:"]
    frame = _timeline_frame(facts, safe=True)
    if len(frame):
        counts = frame["count"].astype(int)
        times = (" (" + counts.astype(str) + " times)").where(counts > 1, "")
        lines = frame["id"].str.pad(7, side="right") + frame["minute"] + "  " + frame["text"] + times
        out.append("\n".join(lines.tolist()))
    return "\n".join(out) + "\n"
