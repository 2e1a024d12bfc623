"""Renderers for ``aptnarrate inspect``: the condensed timeline and ranked candidates.

Vectorised over the log (inputs may condense to hundreds of thousands of rows).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..preprocess.condense import distinct_minute_text

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts


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


_BLOCK_ROWS = 16384  # log rows joined per block: the block's temporaries are small and reused


def _timeline_pieces(facts: Facts, head: str, tail: str) -> list[str]:
    """The JSON document as string pieces to join once: ``head``, the timeline array in
    blocks of ``_BLOCK_ROWS`` rows, and ``tail``. A row's pieces repeat per distinct
    description, minute and count, so the records reuse a few thousand strings (each
    distinct description is JSON-escaped once); they are joined a block at a time, so the
    per-row pieces (seven per row) and number texts exist for one block only, not for the
    whole log at once."""
    import numpy as np
    import pandas as pd

    log = facts.timeline.log
    n = len(log)
    if n == 0:
        return [head, "[]", tail]

    def shared(values: np.ndarray, text) -> tuple[np.ndarray, np.ndarray]:
        codes, distinct = pd.factorize(values)
        return codes, np.array([text(v) for v in distinct], dtype=object)

    texts = [f'", "text": {json.dumps(t, ensure_ascii=False)}, "count": ' for t in facts.timeline.descriptions["text"].tolist()]
    minute_codes, minutes = distinct_minute_text(log["minute"].to_numpy())
    columns = (
        (minute_codes, np.array([f'", "minute": "{m}' for m in minutes], dtype=object)),
        (log["description"].to_numpy(), np.array(texts, dtype=object)),
        shared(log["count"].to_numpy(), lambda v: f'{v}, "rows": '),
        shared(log["rows"].to_numpy(), lambda v: f'{v}, "first_line": '),
    )
    ids = facts.timeline.ids
    first_line = log["first_line"].to_numpy()
    # a row's last piece also opens the next record: seven pieces per row, not eight
    out = [head + '[{"id": "']
    pieces = np.empty((min(n, _BLOCK_ROWS), 7), dtype=object)
    pieces[:, 6] = '}, {"id": "'
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n)
        block = pieces[: stop - start]
        block[:, 0] = ids[start:stop]
        for column, (codes, strings) in enumerate(columns, start=1):
            block[:, column] = strings[codes[start:stop]]
        block[:, 5] = list(map(str, first_line[start:stop].tolist()))
        if stop == n:
            block[-1, 6] = "}]" + tail
        out.append("".join(block.ravel().tolist()))
    return out


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
    head = f'{{"input": {info}, "candidates": {candidates}, "timeline": '
    return "".join(_timeline_pieces(facts, head, "}\n"))


def _safe(text: str) -> str:
    """Terminal output: control characters from names shown, not executed."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def render_inspect_table(facts: Facts) -> str:
    info = _input_info(facts)
    out = [
        f"input: {_safe(info['name'])} ({info['format']}), {info['rows_read']} rows, {info['events']} events, "
        f"{info['log_rows']} log rows, {info['skipped_count']} skipped; times {info['time_basis']}",
        "",
        f"candidate IoCs ({len(facts.candidate_records)}, ranked; * = in the report's table):",
    ]
    # the records, not the ``Candidate`` models: the table needs no pydantic either
    for c in facts.candidate_records:
        mark = "*" if c["in_table"] else " "
        out.append(f"{mark} {c['rank']:>4}  {c['likelihood']:<8}  {c['type']:<8}  {_safe(c['value'])}  [{c['score']:.1f}]")
        if c["reasons"]:
            out.append("         " + _safe("; ".join(c["reasons"])))
        evidence = c["evidence"]
        out.append(f"         evidence: {', '.join(evidence[:12])}{' ...' if len(evidence) > 12 else ''}")
    out += ["", "chronological log:"]
    return "".join(["\n".join(out), *_table_log_blocks(facts), "\n"])


def _table_log_blocks(facts: Facts) -> list[str]:
    """The table's chronological log, one line per log row (``L7     2018-04-06 11:00  The
    process: ... (3 times)``), as in ``_timeline_pieces``: each distinct description is
    made safe once, each distinct minute and count written once, and the rows are joined a
    block at a time. Each line starts with the line break that ends the one before."""
    import numpy as np
    import pandas as pd

    log = facts.timeline.log
    n = len(log)
    if n == 0:
        return []
    minute_codes, minutes = distinct_minute_text(log["minute"].to_numpy())
    count_codes, counts = pd.factorize(log["count"].to_numpy())
    columns = (
        (minute_codes, np.array(minutes, dtype=object)),
        (log["description"].to_numpy(), np.array(["  " + _safe(t) for t in facts.timeline.descriptions["text"].tolist()], dtype=object)),
        (count_codes, np.array([f" ({c} times)" if c > 1 else "" for c in counts.tolist()], dtype=object)),
    )
    ids = facts.timeline.ids
    out = []
    pieces = np.empty((min(n, _BLOCK_ROWS), 5), dtype=object)
    pieces[:, 0] = "\n"
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n)
        block = pieces[: stop - start]
        block[:, 1] = [i.ljust(7) for i in ids[start:stop].tolist()]
        for column, (codes, strings) in enumerate(columns, start=2):
            block[:, column] = strings[codes[start:stop]]
        out.append("".join(block.ravel().tolist()))
    return out
