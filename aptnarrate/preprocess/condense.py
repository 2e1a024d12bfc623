"""Condense events into OCR-APT's chronological log.

OCR-APT's ``prepare_document`` reduction, exactly: identical events (same description)
within the same second count once; events are grouped by minute; each (minute,
description) becomes one log row whose count is the number of distinct seconds it
happened in, shown as "(N times)" when N > 1. Within a minute rows are ordered by count,
then by description, as pandas' ``value_counts`` orders them.

Unlike OCR-APT, every log row keeps the input lines and entity ids behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from ..arrays import Columns, factorize, factorize_ordered_pairs, first_appearances
from .ingest import EventTable
from .memory import release_freed_memory

NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND

DESCRIPTION_COLUMNS = ("subject_kind", "subject_name", "action", "object_kind", "object_name")


@dataclass(frozen=True)
class Timeline:
    """The condensed log of one subgraph.

    ``descriptions`` and ``log`` are ``Columns`` (numpy arrays by name; ``.to_pandas()``
    for a DataFrame).
    ``descriptions``: one row per distinct description (the log's unit of identity), with
    its columns ``DESCRIPTION_COLUMNS`` and ``text`` (OCR-APT's wording, plain text).
    ``log``: one row per log entry, in report order: ``id`` ("L1"...), ``minute`` (wall-clock
    ns), ``description`` (row of ``descriptions``), ``count`` (distinct seconds), ``rows``
    (input rows behind it, same-second repeats included), ``first_line``, ``first_time``,
    ``last_time``.
    ``event_log``: for every row of ``table.events``, the position of its log entry.
    ``triple_description``: for every row of ``table.triples``, its description.
    ``unit_rows``: the rows of ``table.events`` that are the first of their (triple,
    second), in row order (per-triple statistics in ``facts`` start from them).
    """

    table: EventTable
    descriptions: Columns
    triple_description: np.ndarray
    log: Columns
    event_log: np.ndarray
    unit_rows: np.ndarray

    @cached_property
    def ids(self) -> np.ndarray:
        """``log["id"]`` as an object array of Python strings, converted once for all users."""
        return np.asarray(self.log["id"], dtype=object)

    @cached_property
    def minute_texts(self) -> tuple[np.ndarray, tuple[str, ...]]:
        """``distinct_minute_text`` of the log's minutes (each row's code, read-only, and
        each distinct minute's text), computed once for grounding's vocabulary and the
        report's log."""
        codes, texts = distinct_minute_text(self.log["minute"])
        codes.flags.writeable = False
        return codes, tuple(texts)

    def lines_of(self, position: int) -> list[int]:
        """Input line numbers behind the log entry at ``position``."""
        lines = self.table.events["line"]
        return lines[self.event_log == position].tolist()

    def triples_of(self, position: int) -> Columns:
        """The distinct (subject, action, object) triples, with entity ids, behind a log entry."""
        triples = np.unique(self.table.events["triple"][self.event_log == position])
        return self.table.triples.take(triples)


def describe(subject_kind: str, subject_name: str, action: str, object_kind: str, object_name: str) -> str:
    """OCR-APT's wording for one event: ``The process: mail CONNECT a flow``."""
    subject = f"The {subject_kind}: {subject_name}" if subject_name else f"{_article(subject_kind).title()} {subject_kind}"
    obj = f"the {object_kind}: {object_name}" if object_name else f"{_article(object_kind)} {object_kind}"
    return f"{subject} {action} {obj}"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" else "a"


def distinct_minute_text(minutes_ns: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each value's code and the ``YYYY-MM-DD HH:MM`` text of each distinct minute."""
    # a log has far fewer distinct minutes than rows: each distinct one is formatted, by
    # numpy in one call (a datetime's strftime per minute cost 6-10 us, 0.05-0.09 s at 1M rows);
    # times are int64 nanoseconds, so years are 1677-2262 and always four digits
    codes, distinct = factorize(np.asarray(minutes_ns, dtype=np.int64))
    texts = np.datetime_as_string((distinct // NS_PER_MINUTE).astype("datetime64[m]"), unit="m")
    return codes, [text.replace("T", " ") for text in texts.tolist()]


def minute_text(minutes_ns: np.ndarray) -> list[str]:
    """Wall-clock minutes (ns) as ``YYYY-MM-DD HH:MM``."""
    codes, distinct = distinct_minute_text(minutes_ns)
    return np.asarray(distinct, dtype=object)[codes].tolist()


def _factorize_rows(frame: Columns, columns) -> tuple[np.ndarray, np.ndarray]:
    """Codes of each row's distinct ``columns`` values (first-appearance order) and the
    first row of each code; integer keys instead of tuples, which are much slower."""
    key, span = np.zeros(len(frame), dtype=np.int64), 1
    for column in columns:
        codes, uniques = factorize(frame.arrow(column))
        if span * (len(uniques) + 1) >= 1 << 62:  # renumber before the packed key overflows
            key, seen = factorize(key)
            span = len(seen)
        key, span = key * (len(uniques) + 1) + codes, span * (len(uniques) + 1)
    codes, _ = factorize(key)
    return codes, np.flatnonzero(first_appearances(codes))


def _factorize_keys(key: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """``factorize`` of integer keys in ``[0, bound)``, uniques as int64: hashed as
    uint32 when they fit, which takes less time than int64 keys (a smaller hash table);
    same codes, same first-appearance numbering."""
    if bound <= 1 << 32:
        codes, uniques = factorize(key.astype(np.uint32))
        return codes, uniques.astype(np.int64)
    codes, uniques = factorize(key)
    return codes, np.asarray(uniques, dtype=np.int64)


def _units(triple: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's unit (distinct (triple, second), numbered by first appearance), the first
    row of each unit (increasing), and each unit's triple and second."""
    second = np.floor_divide(time, NS_PER_SECOND)
    if len(second) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty, empty, empty
    ordered = factorize_ordered_pairs(triple, second)  # rows in time order (detectors' exports are)
    if ordered is not None:
        unit_of_row, unit_rows = ordered
        return unit_of_row, unit_rows, triple[unit_rows].astype(np.int64, copy=False), second[unit_rows]
    s0 = int(second.min())
    span = int(second.max()) - s0 + 1
    second -= s0
    key = triple.astype(np.int64)
    key *= span  # in place: ``astype(...) * span`` touched a second array of 8 bytes a row
    key += second
    del second
    unit_of_row, unit_keys = _factorize_keys(key, (int(triple.max()) + 1) * span)
    del key
    # factorize numbers by first appearance: a unit starts where the codes reach a new high
    return unit_of_row, np.flatnonzero(first_appearances(unit_of_row)), unit_keys // span, unit_keys % span + s0


def _report_order(minute: np.ndarray, count: np.ndarray, text_rank: np.ndarray) -> np.ndarray:
    """Positions sorted by minute, then count (descending), then text: ``np.lexsort``'s
    order, as one stable sort of a packed key where it fits in int64 (10x faster)."""
    if len(minute) == 0:
        return np.array([], dtype=np.int64)
    m0, top, ranks = int(minute.min()), int(count.max()), int(text_rank.max()) + 1
    if (int(minute.max()) - m0 + 1) * (top + 1) * ranks >= 1 << 62:
        return np.lexsort((text_rank, -count, minute))
    key = (minute - m0) * (top + 1)
    key += top - count
    key *= ranks
    key += text_rank
    return np.argsort(key, kind="stable")


def _log_ids(n: int) -> pa.Array | np.ndarray:
    """"L1" .. "L<n>" (``numbered_ids``), as Arrow strings: Python strings only for
    whoever reads them (a Python loop cost about 0.05 s per 200,000 rows)."""
    return numbered_ids(n) if n else np.array([], dtype=object)


_DIGITS = np.arange(ord("0"), ord("9") + 1, dtype=np.uint8)


def numbered_ids(n: int) -> pa.Array:
    """"L1" .. "L<n>" as an Arrow string array, its bytes laid out by numpy with no number
    formatted: the ids with as many digits are one block, a row per id ("L", then the
    digits), and each digit column is a repeating pattern (the units cycle 0-9, the tens
    hold each digit for ten ids ...; a block starts at a power of ten, so every pattern
    starts at 0). Formatting the numbers in Arrow and joining "L" on took 14 ms at 238,000
    ids, this about 2."""
    blocks = []  # (first number, count, width) of each run of ids with ``width`` digits
    width = 1
    while 10 ** (width - 1) <= n:
        first = 10 ** (width - 1)
        blocks.append((first, min(10**width - 1, n) - first + 1, width))
        width += 1
    size = sum(count * (width + 1) for _, count, width in blocks)
    offsets = np.empty(n + 1, dtype=np.int32 if size < 1 << 31 else np.int64)
    offsets[n] = size
    data = np.empty(size, dtype=np.uint8)
    start = 0
    for first, count, width in blocks:
        offsets[first - 1 : first - 1 + count] = np.arange(start, start + count * (width + 1), width + 1)
        block = data[start : start + count * (width + 1)].reshape(count, width + 1)
        start += count * (width + 1)
        block[:, 0] = ord("L")
        # the leading digit: 1 for the first ``first`` ids, 2 for the next ...
        block[:, 1] = np.repeat(_DIGITS[1:], np.clip(count - first * np.arange(9), 0, first))
        for place in range(width - 1):  # the others, units last: each digit for 10**place ids in turn
            cycle = np.repeat(_DIGITS, 10**place)
            block[:, width - place] = np.tile(cycle, -(-count // len(cycle)))[:count]
    kind = pa.string() if offsets.dtype == np.int32 else pa.large_string()
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def condense(table: EventTable) -> Timeline:
    timeline = _condense(table)
    release_freed_memory()  # its per-row temporaries, once freed (220 MB of heap at 10M rows)
    return timeline


def _condense(table: EventTable) -> Timeline:
    triples = table.triples
    desc_codes, first_triple = _factorize_rows(triples, DESCRIPTION_COLUMNS)
    descriptions = triples[list(DESCRIPTION_COLUMNS)].take(first_triple)
    texts = np.empty(len(descriptions), dtype=object)
    texts[:] = list(map(describe, *(descriptions[c].tolist() for c in DESCRIPTION_COLUMNS)))
    descriptions["text"] = texts
    n_desc = max(len(descriptions), 1)

    events = table.events
    time = events["time"]
    # One pass over the rows (a sort where they are in time order, else a hash): each distinct
    # (triple, second), a "unit". Everything the log needs per (minute, description) is a
    # function of the unit, so the grouping and the distinct-second counts work on the far
    # fewer units, and rows only gather their unit's group.
    unit_of_row, unit_rows, unit_triple, unit_second = _units(events["triple"], time)
    unit_desc = desc_codes[unit_triple].astype(np.int64, copy=False)
    # factorize numbers groups by first appearance; units are in order of their first row,
    # so a group's first unit holds its first row, and the numbering is that of the rows
    # keys from the first minute on, so that they mostly fit uint32
    unit_minute = np.floor_divide(unit_second, 60)
    ordered = factorize_ordered_pairs(unit_desc, unit_minute)
    if ordered is not None:
        group_of_unit, group_first_unit = ordered
        group_minute_number, group_desc = unit_minute[group_first_unit], unit_desc[group_first_unit]
    else:
        m0 = int(unit_minute.min()) if len(unit_minute) else 0
        group_of_unit, group_keys = _factorize_keys(
            (unit_minute - m0) * n_desc + unit_desc, (int(unit_minute.max(initial=m0)) - m0 + 1) * n_desc
        )
        group_minute_number, group_desc = np.floor_divide(group_keys, n_desc) + m0, np.mod(group_keys, n_desc)
    del unit_minute
    n_groups = len(group_desc)
    # count = distinct seconds per (minute, description) (a description may stand for several
    # triples, whose units share seconds): a group's seconds lie in one minute, so they are a
    # set of 60 bits, one OR per unit and a popcount per group (no hash of the units)
    seconds_of_group = np.zeros(n_groups, dtype=np.uint64)
    np.bitwise_or.at(seconds_of_group, group_of_unit, np.left_shift(np.uint64(1), (unit_second % 60).astype(np.uint64)))
    count = np.bitwise_count(seconds_of_group).astype(np.int64)
    del seconds_of_group
    group = group_of_unit[unit_of_row]
    del unit_of_row
    rows = np.bincount(group, minlength=n_groups)
    first_time = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    last_time = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first_time, group, time)
    np.maximum.at(last_time, group, time)
    # events are sorted by line; a group's first row is the first row of one of its units
    first_row = np.full(n_groups, len(group), dtype=np.int64)
    np.minimum.at(first_row, group_of_unit, unit_rows)

    group_minute = group_minute_number * NS_PER_MINUTE
    text_rank = np.unique(descriptions["text"], return_inverse=True)[1].astype(np.int64) if len(descriptions) else np.zeros(0, dtype=np.int64)
    order = _report_order(group_minute_number, count, text_rank[group_desc])
    # int32 per input row (half of int64's 80 MB at 10M rows) while the log fits in it
    position = np.empty(n_groups, dtype=np.int32 if n_groups < 1 << 31 else np.int64)
    position[order] = np.arange(n_groups)

    log = Columns(
        {
            "id": _log_ids(n_groups),
            "minute": group_minute[order],
            "description": group_desc[order],
            "count": count[order],
            "rows": rows[order],
            "first_line": events["line"][first_row[order]],
            "first_time": first_time[order],
            "last_time": last_time[order],
        },
        n_groups,
    )
    return Timeline(
        table=table,
        descriptions=descriptions,
        triple_description=desc_codes,
        log=log,
        event_log=position[group],
        unit_rows=unit_rows,
    )
