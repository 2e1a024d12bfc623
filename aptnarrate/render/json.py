"""render_json(report) -> str: the Report itself, as JSON (``aptnarrate render`` reads it back).

The log, by far the largest part, is written column-wise: each distinct description,
minute and entity id is serialised once, and the rows are joined in Arrow. The result is
byte-for-byte what pydantic writes for a ``list[LogEntry]`` (tests compare the two).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..preprocess.logtable import DESCRIPTION_FIELDS, LogTable, join_items, join_lists
from ..models import Report
from .rows import coded, in_order, take_rows

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa


# rows per block of the log: a block's text (about 4 MB) and its temporaries are small
# enough that Arrow's allocator hands the same memory back block after block; fresh memory
# costs more than the copying (on a machine that zeroes each new page, most of the time)
ROWS_PER_BLOCK = 1 << 13


def render_json(report: Report, indent: int | None = 2) -> str:
    # one join: the log text is by far the largest piece, and every copy of it counts
    return "".join(render_json_chunks(report, indent))


def render_json_chunks(
    report: Report, indent: int | None = 2, rows_per_chunk: int = ROWS_PER_BLOCK, *, encoded: bool = False
) -> Iterator[str | memoryview]:
    """``render_json`` in pieces, the log ``rows_per_chunk`` rows at a time: a writer that
    streams them never holds the whole document (1.2 GB of text at 10M input rows).
    ``encoded``: the blocks of log rows and the rest of the report come as UTF-8 bytes
    (``memoryview``, see ``output.write_chunks``), the joints as text."""
    log = report.log
    if not isinstance(log, LogTable) or not (indent is None or isinstance(indent, int)):
        yield report.model_dump_json(indent=indent) + "\n"
        return
    # the rest of the report as pydantic writes it (``model_dump_json`` without the decode):
    # streamed as the UTF-8 bytes it is, it is never decoded, copied or encoded again (a
    # few MB at 1M rows, and every copy is fresh memory)
    written = report.__pydantic_serializer__.to_json(report, indent=indent, exclude={"log"})
    head = memoryview(written) if encoded else written.decode("utf-8")
    # "metadata" is the last field: the log goes right before it, at the top level
    key = '"metadata":' if indent is None else "\n" + " " * indent + '"metadata": '
    at = written.rindex(key.encode()) if encoded else head.rindex(key)
    if indent is None:
        at -= 1  # before the comma that precedes "metadata"
        log_key, after_log = ',"log":', ""
    else:
        log_key, after_log = "\n" + " " * indent + '"log": ', ","
    yield head[:at]
    yield log_key
    yield from _log_json_chunks(log, indent, rows_per_chunk, encoded=encoded)
    yield after_log
    yield head[at:]
    yield "\n"


def parse_document(text: str):
    """A saved document (report or story) parsed as JSON into Python values, a leading
    byte order mark (a file saved again by a Windows editor) left out; None when it is
    not JSON (``load_report`` then gives pydantic's own error)."""
    import pydantic_core

    try:
        return pydantic_core.from_json(text.removeprefix("\ufeff"))
    except ValueError:  # not JSON, or nested deeper than the parser's limit
        return None


_UNPARSED = object()  # ``load_report``'s document not given (None is a document that is not JSON)


def load_report(text: str, document=_UNPARSED) -> Report:
    """Parse a report written by ``render_json`` (validates the schema). A leading byte
    order mark (a report saved again by a Windows editor) is not part of the document.
    ``document``: ``parse_document(text)``, when the caller has it already (``render``
    looks at a document before knowing whether it is a report or a story), None included.

    The log, most of a large report, is read as columns: the document is parsed once
    into Python values and its log turned into a ``LogTable`` (``LogTable.from_entries``),
    and the rest validated as those values. Pydantic's own JSON path gave the log's
    function validator the same Python values, but built them at twice the cost. A
    document that path refuses (not JSON, a schema error) is read again by
    ``Report.model_validate_json``, so its error is the one it always was."""
    text = text.removeprefix("\ufeff")
    if document is _UNPARSED:
        document = parse_document(text)
    try:
        if isinstance(document, dict) and isinstance(document.get("log"), list):
            document["log"] = LogTable.coerce(document["log"])
            return Report.model_validate(document)
    except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
        pass
    return Report.model_validate_json(text)


def json_strings(values) -> pa.Array:
    """Each string of ``values`` (a list or an Arrow array) as pydantic writes it in JSON,
    as an Arrow ``large_string`` array: a string with no ``"``, backslash or control
    character below U+0020 is itself between quotes (the only characters pydantic escapes;
    a test checks every code point), so only the others go through ``to_json``."""
    import pyarrow as pa
    from .. import compute as pc

    try:
        text = pc.cast(values, pa.large_string()) if isinstance(values, pa.Array) else pa.array(values, pa.large_string())
    except (pa.ArrowException, UnicodeError):  # a lone surrogate: pydantic's own error below
        return pa.array([_dumps(v) for v in values], pa.large_string())
    quoted = _quoted(text)
    escaped = _needs_escape(text)
    if escaped is None:
        return quoted
    at = np.flatnonzero(escaped)
    written = pa.array([_dumps(v) for v in pc.take(text, pa.array(at)).to_pylist()], pa.large_string())
    return pc.replace_with_mask(quoted, pa.array(escaped), written)


def _quoted(text: pa.Array) -> pa.Array:
    """Each string of ``text`` (a ``large_string`` array) between double quotes, written
    by numpy into one new buffer (Arrow's element-wise join takes twice as long)."""
    import pyarrow as pa
    from .. import compute as pc

    if text.null_count:  # pragma: no cover - the strings we write are never null
        quote = pa.scalar('"', pa.large_string())
        return pc.binary_join_element_wise(quote, text, quote, pa.scalar("", pa.large_string()))
    count = len(text)
    _validity, offsets_buffer, data = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[text.offset : text.offset + count + 1]
    first = int(offsets[0])
    # each string moves right by two quotes per string before it, plus its opening quote
    quoted_offsets = offsets - first
    quoted_offsets += np.arange(0, 2 * count + 1, 2)
    out = np.empty(int(quoted_offsets[-1]), dtype=np.uint8)
    opening, closing = quoted_offsets[:-1], quoted_offsets[1:] - 1
    out[opening] = out[closing] = ord('"')
    if data is not None and int(offsets[-1]) > first:
        inside = np.ones(len(out), dtype=bool)
        inside[opening] = inside[closing] = False
        out[inside] = np.frombuffer(data, dtype=np.uint8)[first : int(offsets[-1])]
    return pa.Array.from_buffers(pa.large_string(), count, [None, pa.py_buffer(quoted_offsets), pa.py_buffer(out)])


def _needs_escape(text: pa.Array) -> np.ndarray | None:
    """Per string of ``text`` (a ``large_string`` array): whether it holds a '"', a
    backslash or a control character below U+0020; None when none does. Read from the
    UTF-8 bytes in one numpy pass (Arrow's regex kernel runs string by string, 0.07 s
    for a log's 235k ids): those characters are single bytes, and every byte of a
    multi-byte character is 0x80 or above, so a byte test is a character test."""
    if text.null_count:  # pragma: no cover - the strings we write are never null
        from .. import compute

        text = compute.fill_null(text, "")
    _validity, offsets_buffer, data = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[text.offset : text.offset + len(text) + 1]
    if data is None or offsets[-1] == offsets[0]:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    # the bad bytes' positions, a window at a time (the temporaries stay a few MB at 10M rows)
    found = [np.flatnonzero(_escaped_bytes(raw[at : at + _WINDOW])) + at for at in range(0, len(raw), _WINDOW)]
    positions = np.concatenate(found)
    if not len(positions):
        return None
    # the string holding each: the last one starting at or before it (an empty one holds none)
    holders = np.searchsorted(offsets - offsets[0], positions, side="right") - 1
    escaped = np.zeros(len(text), dtype=bool)
    escaped[holders] = True
    return escaped


def _escaped_bytes(raw: np.ndarray) -> np.ndarray:
    """Per byte: a control character, '"' or a backslash (three comparisons: ten times
    faster than a lookup table indexed by the bytes)."""
    return (raw < 0x20) | (raw == 0x22) | (raw == 0x5C)


_WINDOW = 1 << 20  # a 1 MB mask: numpy gives arrays of 4 MB and more huge pages, fresh ones


def _dumps(value) -> str:
    from pydantic_core import to_json

    return to_json(value).decode("utf-8")


def _log_json_chunks(
    log: LogTable, indent: int | None, rows_per_chunk: int = ROWS_PER_BLOCK, *, encoded: bool = False
) -> Iterator[str | memoryview]:
    """The ``log`` value as pydantic writes a ``list[LogEntry]`` at depth 1 of the report,
    in pieces of at most ``rows_per_chunk`` rows each (``encoded``: the blocks of rows as
    UTF-8 bytes)."""
    if not len(log):
        yield "[]"
        return
    if indent is None:
        nl = lambda depth: ""  # noqa: E731
        colon = ":"
    else:
        nl = lambda depth: "\n" + " " * (indent * depth)  # noqa: E731
        colon = ": "

    def key(name: str, depth: int = 3, first: bool = False) -> str:
        return ("" if first else ",") + nl(depth) + f'"{name}"{colon}'

    import pyarrow as pa
    from .. import compute as pc

    def concat(*pieces):  # Arrow arrays and str, element-wise
        large = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in pieces]
        return pc.binary_join_element_wise(*large, pa.scalar("", pa.large_string()))

    d = log.descriptions
    # per distinct description: the fields between "minute" and "count", and "text" up to "lines"
    fields = [piece for name in DESCRIPTION_FIELDS[:5] for piece in (key(name), json_strings(d[name]))]
    before_count = concat(*fields, key("count"))
    text_part = concat(key("text"), json_strings(d["text"]), key("lines"))
    minutes = concat(key("minute"), json_strings(log.minute_texts))
    after_plain_id = concat('"', minutes)  # an id that needs no escape: its closing quote, then the minute
    entity = json_strings(log.entity_ids)
    id_key = nl(2) + "{" + key("id", first=True)
    item_sep = "," + nl(4)
    then_subjects, then_objects, row_end = key("subject_ids"), key("object_ids"), nl(2) + "}"
    # the text between the pieces goes into them where it can (a row joined from fewer
    # pieces is faster to join): "lines": [ after the text, the brackets between lists
    text_open = concat(text_part, "[" + nl(4))
    close = nl(3) + "]"

    def listed(values: pa.Array, offsets: np.ndarray, then: str):  # a JSON list, then ``then``
        return join_lists(values, offsets - offsets[0], item_sep, "[]" + then, "[" + nl(4), close + then)

    def items(values: pa.Array, offsets: np.ndarray):  # each row's items, joined (no brackets)
        return join_items(values, offsets - offsets[0], item_sep)

    def values(codes: np.ndarray):
        return pc.take(entity, pa.array(codes)) if len(codes) else pa.array([], pa.large_string())

    def entity_items(codes: np.ndarray, offsets: np.ndarray):  # each row's ids (one or more), joined
        if len(codes) == len(offsets) - 1:  # one id a row: the ids themselves, taken with the row
            return (entity, codes)
        return items(values(codes), offsets)

    n = len(log)

    def block(start: int) -> str | memoryview:
        stop = min(start + rows_per_chunk, n)
        lines_at = log.line_offsets[start : stop + 1]
        subjects_at = log.subject_offsets[start : stop + 1]
        objects_at = log.object_offsets[start : stop + 1]
        line_text = pc.cast(pa.array(log.line_values[lines_at[0] : lines_at[-1]]), pa.large_string())
        subject_codes = log.subject_values[subjects_at[0] : subjects_at[-1]]
        object_codes = log.object_values[objects_at[0] : objects_at[-1]]
        descriptions = log.description_codes[start:stop]
        counts, count_codes = coded(log.counts[start:stop])  # per block: small temporaries
        ids = pc.cast(log.ids.slice(start, stop - start), pa.large_string())
        if _needs_escape(ids) is None:  # the ids' quotes go into the pieces around them
            id_columns = [id_key + '"', ids, (after_plain_id, log.minute_codes[start:stop])]
        else:
            id_columns = [id_key, json_strings(ids), (minutes, log.minute_codes[start:stop])]
        head = [
            *id_columns,
            (before_count, descriptions),
            ([str(count) for count in counts.tolist()], count_codes),
        ]
        if all((np.diff(at) > 0).all() for at in (lines_at, subjects_at, objects_at)):
            # every row has lines and ids on both sides (a log we build): the brackets
            # between the lists are fixed text
            columns = [
                *head,
                (text_open, descriptions),
                items(line_text, lines_at),
                close + then_subjects + "[" + nl(4),
                entity_items(subject_codes, subjects_at),
                close + then_objects + "[" + nl(4),
                entity_items(object_codes, objects_at),
                close + row_end + ",",
            ]
        else:
            columns = [
                *head,
                (text_part, descriptions),
                listed(line_text, lines_at, then_subjects),
                listed(values(subject_codes), subjects_at, then_objects),
                listed(values(object_codes), objects_at, row_end),
                ",",
            ]
        return take_rows(columns, stop - start, trim=1, encoded=encoded)  # the last row's "," trimmed

    yield "["
    for at, piece in enumerate(in_order(block, range(0, n, rows_per_chunk))):
        if at:
            yield ","
        yield piece
    yield nl(1) + "]"
