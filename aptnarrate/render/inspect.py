"""Renderers for ``aptnarrate inspect``: the condensed timeline and ranked candidates.

Vectorised over the log (inputs may condense to hundreds of thousands of rows).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..preprocess.condense import distinct_minute_text, minute_text

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..preprocess.facts import Facts


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


def _document(facts: Facts, head: str, tail: str) -> str:
    """The JSON document: ``head``, the timeline array's records, ``tail``. Arrow joins the
    records from per-distinct pieces (each distinct description JSON-escaped once, each
    distinct minute formatted once) in one pass with no Python string per row; ``head``
    and ``tail`` ride on the first and last record, so the text is decoded once and never
    copied again."""
    import numpy as np
    import pyarrow as pa

    from ..preprocess.logtable import join_rows, take_text

    log = facts.timeline.log
    n = len(log)
    if n == 0:
        return head + "[]" + tail
    texts = [json.dumps(t, ensure_ascii=False) for t in facts.timeline.descriptions["text"].tolist()]
    codes, minutes = distinct_minute_text(log["minute"].to_numpy())

    def numbers(column: str) -> pa.Array:
        # pyarrow formats integers far faster than str() per value
        return pa.array(log[column].to_numpy()).cast(pa.string())

    def at_ends(first: str, middle: str, last: str) -> pa.Array:
        """``middle`` on every row, but ``first`` on the first and ``last`` on the last."""
        codes = np.ones(n, dtype=np.int64)
        codes[0], codes[-1] = (0, 2) if n > 1 else (0, 0)
        return take_text([first, middle, last], codes)

    opening = '{"id": "'
    return join_rows(
        [
            at_ends(head + "[" + opening, opening, opening),
            pa.array(log["id"]),  # Arrow's own strings, not copied
            '", "minute": "', take_text(minutes, codes),
            '", "text": ', take_text(texts, log["description"].to_numpy(dtype=np.int64)),
            ', "count": ', numbers("count"),
            ', "rows": ', numbers("rows"),
            ', "first_line": ', numbers("first_line"),
            at_ends("}", "}", "}]" + tail) if n > 1 else "}]" + tail,
        ],
        ", ",
    )


def _candidates_json(records) -> str:
    """The candidate records as pydantic's ``dump_json`` writes ``list[Candidate]`` (compact
    separators, UTF-8), without loading or validating the models. Evidence lists (log ids,
    about two per log row) are joined directly: the ids are ours and need no escaping."""
    if not records:
        return "[]"
    text = json.dumps([{**r, "evidence": None} for r in records], ensure_ascii=False, separators=(",", ":"))
    # a quote inside a JSON string is always escaped, so this marker only matches the field
    parts = text.split('"evidence":null')
    assert len(parts) == len(records) + 1
    out = [parts[0]]
    for record, part in zip(records, parts[1:]):
        ids = record["evidence"]
        out.append('"evidence":["' + '","'.join(ids) + '"]' if ids else '"evidence":[]')
        out.append(part)
    return "".join(out)


def render_inspect_json(facts: Facts) -> str:
    candidates = _candidates_json(facts.candidate_records)
    info = json.dumps(_input_info(facts), ensure_ascii=False)
    return _document(facts, f'{{"input": {info}, "candidates": {candidates}, "timeline": ', "}\n")


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
