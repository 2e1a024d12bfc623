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


def render_inspect_json(facts: Facts) -> str:
    frame = _timeline_frame(facts)
    timeline_json = frame.to_json(orient="records", force_ascii=False) if len(frame) else "[]"
    candidates = json.dumps([c.model_dump() for c in facts.candidates], ensure_ascii=False)
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
