"""Renderers for ``aptnarrate inspect``: the condensed timeline and ranked candidates.

Vectorised over the log (inputs may condense to hundreds of thousands of rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from json.encoder import encode_basestring
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


# log rows per block: small enough that Arrow's allocator hands the same memory back block
# after block (16,384 left 7 MB more resident at 1M rows, as freed pages awaiting purge)
_BLOCK_ROWS = 1 << 13


def _log_pieces(columns: list, rows: int, separator: str = "", *, encoded: bool = False) -> Iterator[str | memoryview]:
    """The log's rows in a few large pieces (see ``rows.take_rows``), each row its
    ``columns``' pieces in order. A column is a fixed text; a pair of distinct pieces (an
    Arrow array) and every row's code into them; or a function of a block's first and
    end row giving that block's pieces (an Arrow array). The one mechanism both formats'
    logs go through: the rows are taken ``_BLOCK_ROWS`` at a time, so the codes and the
    block's bytes stay small and reused. Each row's last piece is ``separator``, which is
    left out after the log's last row (the pieces between blocks are that separator).
    ``encoded``: the blocks as the UTF-8 bytes Arrow wrote (``memoryview``, see
    ``output.write_chunks``), the separators as text."""
    from .rows import in_order, take_rows

    trim = len(separator.encode("utf-8"))

    def block(start: int) -> str | memoryview:
        stop = min(start + _BLOCK_ROWS, rows)
        pieces = [
            column if isinstance(column, str) else (column[0], column[1][start:stop]) if isinstance(column, tuple) else column(start, stop)
            for column in columns
        ]
        return take_rows(pieces, stop - start, trim=trim, encoded=encoded)

    for at, piece in enumerate(in_order(block, range(0, rows, _BLOCK_ROWS))):
        if at and separator:
            yield separator
        yield piece


def _log_columns(facts: Facts, minute, description, counts) -> list:
    """The pieces each row of a log (not empty) starts with, as ``_log_pieces`` columns:
    its id, then ``minute(text)`` of its minute, ``description(text)`` of its description
    and ``counts(count, rows)`` of its counts, each written once per distinct value."""
    import pyarrow as pa

    from .. import compute as pc
    from ..arrays import factorize

    log = facts.timeline.log
    ids = pc.cast(log.arrow("id"), pa.large_string())
    minute_codes, minutes = distinct_minute_text(log["minute"])
    # few distinct (count, rows) pairs (1,566 in the 238k log rows of 1M input rows)
    count_codes, count_values = factorize(log["count"])
    rows_codes, rows_values = factorize(log["rows"])
    pair_codes, pairs = factorize(count_codes * len(rows_values) + rows_codes)
    pair_counts = zip(count_values[pairs // len(rows_values)].tolist(), rows_values[pairs % len(rows_values)].tolist())

    def distinct(texts: list[str]) -> pa.Array:  # converted once, not per block
        return pa.array(texts, pa.large_string())

    return [
        lambda start, stop: ids.slice(start, stop - start),
        (distinct([minute(m) for m in minutes]), minute_codes),
        (distinct([description(t) for t in facts.timeline.descriptions["text"].tolist()]), log["description"]),
        (distinct([counts(c, r) for c, r in pair_counts]), pair_codes),
    ]


def _timeline_pieces(facts: Facts, *, encoded: bool = False) -> Iterator[str | memoryview]:
    """The JSON timeline array in pieces, one log row per line: a row's pieces are its id,
    minute, description and counts (each distinct description JSON-escaped once) and its
    first line. The line breaks let a writer stream the log (``output.write_chunks``
    redacts whole lines) instead of joining a document of tens of megabytes first."""
    import pyarrow as pa

    from .. import compute as pc

    log = facts.timeline.log
    if not len(log):
        yield "[]"
        return
    columns = _log_columns(
        facts,
        lambda minute: f'", "minute": "{minute}',
        # json.dumps(text, ensure_ascii=False) is this C function behind a Python call or two
        lambda text: f'", "text": {encode_basestring(text)}, "count": ',
        lambda count, rows: f'{count}, "rows": {rows}, "first_line": ',
    )
    first_line = log["first_line"]
    line_text = lambda start, stop: pc.cast(pa.array(first_line[start:stop]), pa.large_string())  # noqa: E731
    separator = '},\n{"id": "'
    yield '[\n{"id": "'
    yield from _log_pieces([*columns, line_text, separator], len(log), separator, encoded=encoded)
    yield "}\n]"


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
    return "".join(render_inspect_json_chunks(facts))


def render_inspect_json_chunks(facts: Facts, *, encoded: bool = False) -> Iterator[str | memoryview]:
    """``inspect --format json`` in pieces: the input and the candidates, then the timeline
    a block of rows at a time (one row per line). ``encoded``: the blocks of rows as the
    UTF-8 bytes Arrow wrote, for ``output.write_chunks``."""
    candidates = _candidates_json(facts.candidate_records)
    info = json.dumps(_input_info(facts), ensure_ascii=False)
    yield f'{{"input": {info}, "candidates": {candidates}, "timeline": '
    yield from _timeline_pieces(facts, encoded=encoded)
    yield "}\n"


def _safe(text: str) -> str:
    """Terminal output: control characters from names shown, not executed."""
    if text.isprintable():  # most texts: one test in C, not one per character
        return text
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


def render_inspect_table(facts: Facts) -> str:
    return "".join(render_inspect_table_chunks(facts))


def render_inspect_table_chunks(facts: Facts, *, encoded: bool = False) -> Iterator[str | memoryview]:
    """``render_inspect_table`` in pieces: the header, then the chronological log a block
    of rows at a time, so a writer that streams them (``output.write_chunks``) never
    holds the whole table. ``encoded``: the blocks of log rows as UTF-8 bytes (every line
    ends in a line break, so the writer passes them on without decoding them)."""
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
    out += ["", "chronological log:", ""]
    yield "\n".join(out)
    yield from _table_log_pieces(facts, encoded=encoded)


def _table_log_pieces(facts: Facts, *, encoded: bool = False) -> Iterator[str | memoryview]:
    """The table's chronological log, one line per log row:
    ``L7     2018-04-06 11:00  The process: ... (3 times)``, the id padded to seven
    characters, the minute, the description made safe (once per distinct description)
    and the count."""
    from .. import compute as pc

    log = facts.timeline.log
    if not len(log):
        return iter(())
    ids, *columns = _log_columns(facts, lambda minute: minute, lambda text: "  " + _safe(text), lambda count, rows: f" ({count} times)\n" if count > 1 else "\n")
    padded = lambda start, stop: pc.utf8_rpad(ids(start, stop), width=7, padding=" ")  # noqa: E731 - as str.ljust(7)
    return _log_pieces([padded, *columns], len(log), encoded=encoded)
