"""The chronological log as columns: what ``Report.log`` holds.

A million-row input condenses to hundreds of thousands of log rows. One pydantic object
per row cost half of a report's time, so the log stays columns from condense to render:

* per row: ``ids`` (Arrow strings), ``minute_codes`` (into ``minute_texts``, one text per
  distinct minute), ``description_codes`` (into ``descriptions``, one record per distinct
  description: kinds, names, action, OCR-APT's text), ``counts``;
* the input lines and entity ids behind each row as flat arrays with offsets (row ``i``
  owns ``line_values[line_offsets[i]:line_offsets[i + 1]]``); entity ids are codes into
  ``entity_ids``, sorted within a row.

The lines and entity ids may be given as a function that computes them (``provenance``):
they are computed on first read, so a renderer that shows neither (Markdown) never pays
for them.

Renderers build their rows from the distinct pieces (a description's text is escaped and
worded once, a minute formatted once) and join them with vectorised string operations.
For code written against ``list[LogEntry]``, the table is also a sequence: ``len(log)``,
``log[i]``, ``for entry in log`` give ``LogEntry`` objects (built on demand, slowly).
It serialises to exactly the JSON a ``list[LogEntry]`` gives.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

    from ..models import LogEntry

DESCRIPTION_FIELDS = ("subject_kind", "subject_name", "action", "object_kind", "object_name", "text")
ENTRY_FIELDS = ("id", "minute", *DESCRIPTION_FIELDS[:5], "count", "text", "lines", "subject_ids", "object_ids")
# the columns of the input lines and entity ids behind each row (``provenance``)
PROVENANCE_FIELDS = (
    "line_offsets", "line_values", "entity_ids", "subject_offsets", "subject_values", "object_offsets", "object_values",
)  # fmt: skip


def _offsets(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


class LogTable(Sequence):
    """The log, column by column (see the module docstring)."""

    __slots__ = (
        "ids", "minute_codes", "minute_texts", "description_codes", "descriptions", "counts",
        *PROVENANCE_FIELDS, "_id_cache", "_provenance",
    )  # fmt: skip

    def __init__(
        self,
        ids: pa.Array | Sequence[str],
        minute_codes: np.ndarray,
        minute_texts: Sequence[str],
        description_codes: np.ndarray,
        descriptions: dict[str, Sequence[str]],
        counts: np.ndarray,
        line_offsets: np.ndarray | None = None,
        line_values: np.ndarray | None = None,
        entity_ids: Sequence[str] | None = None,
        subject_offsets: np.ndarray | None = None,
        subject_values: np.ndarray | None = None,
        object_offsets: np.ndarray | None = None,
        object_values: np.ndarray | None = None,
        *,
        provenance: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """``provenance``: instead of the seven line and entity-id columns, a function that
        returns them (a dict keyed by their names), called on first read of any of them."""
        import pyarrow as pa

        self.ids = ids if isinstance(ids, pa.Array) else pa.array(list(ids), type=pa.string())
        self.minute_codes = np.asarray(minute_codes, dtype=np.int64)
        self.minute_texts = list(minute_texts)
        self.description_codes = np.asarray(description_codes, dtype=np.int64)
        self.descriptions = {name: list(descriptions[name]) for name in DESCRIPTION_FIELDS}
        self.counts = np.asarray(counts, dtype=np.int64)
        self._id_cache: list[str] | None = None
        self._provenance = provenance
        given = (line_offsets, line_values, entity_ids, subject_offsets, subject_values, object_offsets, object_values)
        if provenance is None:
            self._set_provenance(dict(zip(PROVENANCE_FIELDS, given)))
        elif any(column is not None for column in given):
            raise TypeError("LogTable: give the line and entity-id columns or a provenance function, not both")

    def _set_provenance(self, columns: dict[str, Any]) -> None:
        for name in PROVENANCE_FIELDS:
            value = columns[name]
            setattr(self, name, list(value) if name == "entity_ids" else np.asarray(value, dtype=np.int64))

    def __getattr__(self, name: str) -> Any:
        # reached only for a slot not yet set: the provenance columns of a table given a
        # ``provenance`` function, computed now (set before the function is let go, so a
        # second thread reading meanwhile computes them again rather than failing)
        provenance = object.__getattribute__(self, "_provenance") if name in PROVENANCE_FIELDS else None
        if provenance is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self._set_provenance(provenance())
        self._provenance = None
        return object.__getattribute__(self, name)

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        # pickled (a forked batch worker's report) with its columns computed, not the function
        return None, {name: getattr(self, name) for name in self.__slots__ if name != "_provenance"} | {"_provenance": None}

    # ------------------------------------------------------------------ construction

    @classmethod
    def empty(cls) -> LogTable:
        none = np.zeros(0, dtype=np.int64)
        zero = np.zeros(1, dtype=np.int64)
        return cls([], none, [], none, {f: [] for f in DESCRIPTION_FIELDS}, none, zero, none, [], zero, none, zero, none)

    @classmethod
    def from_entries(cls, entries: Iterable[LogEntry | dict]) -> LogTable:
        """From ``LogEntry`` objects or their dicts (a report read back from JSON).

        Dicts whose every value already has its field's exact type (what a report written
        by ``render_json`` holds) are read column by column: validating them would return
        them unchanged, and one pydantic call per row was most of loading a large report.
        Any other row (a missing or extra key, ``"3"`` for a count) sends every row through
        ``LogEntry`` validation, with its coercions and its errors."""
        entries = entries if isinstance(entries, list) else list(entries)
        columns = _exact_columns(entries)
        if columns is None:
            from ..models import LogEntry

            rows = [e if isinstance(e, LogEntry) else LogEntry.model_validate(e) for e in entries]
            columns = {f: [getattr(r, f) for r in rows] for f in ENTRY_FIELDS}
            for f in (*_INT_LIST_FIELDS, *_STR_LIST_FIELDS):
                columns[f + "_flat"] = [x for row in columns[f] for x in row]
        return cls._from_columns(columns)

    @classmethod
    def _from_columns(cls, columns: dict[str, list]) -> LogTable:
        minutes: dict[str, int] = {}
        minute_codes = [minutes.setdefault(m, len(minutes)) for m in columns["minute"]]
        descs: dict[tuple, int] = {}
        description_codes = [descs.setdefault(d, len(descs)) for d in zip(*(columns[f] for f in DESCRIPTION_FIELDS))]
        subject_ids, object_ids, lines = columns["subject_ids"], columns["object_ids"], columns["lines"]
        # entity codes in sorted order, so a row's sorted ids are its sorted codes
        ordered = sorted({*columns["subject_ids_flat"], *columns["object_ids_flat"]})
        code = {value: i for i, value in enumerate(ordered)}
        desc_list = list(descs)
        return cls(
            ids=columns["id"],
            minute_codes=np.array(minute_codes, dtype=np.int64),
            minute_texts=list(minutes),
            description_codes=np.array(description_codes, dtype=np.int64),
            descriptions={f: [d[i] for d in desc_list] for i, f in enumerate(DESCRIPTION_FIELDS)},
            counts=np.array(columns["count"], dtype=np.int64),
            line_offsets=_offsets(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))),
            line_values=np.array(columns["lines_flat"], dtype=np.int64),
            entity_ids=ordered,
            # a row keeps its ids in the order given (LogEntry lists are sorted when we build them)
            subject_offsets=_offsets(np.fromiter(map(len, subject_ids), dtype=np.int64, count=len(subject_ids))),
            subject_values=np.array([code[x] for x in columns["subject_ids_flat"]], dtype=np.int64),
            object_offsets=_offsets(np.fromiter(map(len, object_ids), dtype=np.int64, count=len(object_ids))),
            object_values=np.array([code[x] for x in columns["object_ids_flat"]], dtype=np.int64),
        )

    @classmethod
    def coerce(cls, value: Any) -> LogTable:
        """Pydantic's validator for ``Report.log``: a LogTable as is, a list of entries or dicts converted."""
        if isinstance(value, LogTable):
            return value
        if isinstance(value, (list, tuple)):
            try:
                return cls.from_entries(value)
            except OverflowError:  # a hand-edited count or line number past int64: a schema error, not a crash
                raise ValueError("a log row's count or line number is larger than 2**63 - 1") from None
        # a ValueError, which pydantic reports as a schema error at ``log`` (a TypeError
        # escaped validation: a hand-edited report whose log is an object was an internal error)
        raise ValueError(f"the log must be a LogTable or a list of log entries, not {type(value).__name__}")

    # ------------------------------------------------------------------ sequence face

    def __len__(self) -> int:
        return len(self.counts)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self._entry(i) for i in range(*index.indices(len(self)))]
        try:
            i = operator.index(index)  # an int (or numpy integer), as a list takes: not 2.7, not "L3"
        except TypeError:
            hint = " (a row by its id: report.log[report.log.position_of()[id]])" if isinstance(index, str) else ""
            raise TypeError(f"log indices must be integers or slices, not {type(index).__name__}{hint}") from None
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("log row index out of range")
        return self._entry(i)

    def __iter__(self) -> Iterator[LogEntry]:
        for i in range(len(self)):
            yield self._entry(i)

    def _entry(self, i: int) -> LogEntry:
        from ..models import LogEntry

        d = int(self.description_codes[i])
        desc = self.descriptions
        return LogEntry.model_construct(
            id=self.id_list()[i],
            minute=self.minute_texts[self.minute_codes[i]],
            subject_kind=desc["subject_kind"][d],
            subject_name=desc["subject_name"][d],
            action=desc["action"][d],
            object_kind=desc["object_kind"][d],
            object_name=desc["object_name"][d],
            count=int(self.counts[i]),
            text=desc["text"][d],
            lines=self.line_values[self.line_offsets[i] : self.line_offsets[i + 1]].tolist(),
            subject_ids=[self.entity_ids[c] for c in self.subject_values[self.subject_offsets[i] : self.subject_offsets[i + 1]]],
            object_ids=[self.entity_ids[c] for c in self.object_values[self.object_offsets[i] : self.object_offsets[i + 1]]],
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LogTable):
            return len(self) == len(other) and self.to_records() == other.to_records()
        if isinstance(other, list):
            return self.to_records() == [e.model_dump() if hasattr(e, "model_dump") else e for e in other]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LogTable({len(self)} rows)"

    # ------------------------------------------------------------------ columns

    def id_list(self) -> list[str]:
        """The ids as Python strings (converted once, then cached)."""
        if self._id_cache is None:
            self._id_cache = self.ids.to_pylist()
        return self._id_cache

    def minutes(self) -> np.ndarray:
        """Each row's minute text (object array)."""
        return np.asarray(self.minute_texts, dtype=object)[self.minute_codes] if len(self) else np.zeros(0, dtype=object)

    def column(self, name: str) -> np.ndarray:
        """A description field (``subject_name``, ``action``, ``text``, ...) per row, as an object array."""
        return np.asarray(self.descriptions[name], dtype=object)[self.description_codes] if len(self) else np.zeros(0, dtype=object)

    def position_of(self) -> dict[str, int]:
        """Row position of each id."""
        return {log_id: i for i, log_id in enumerate(self.id_list())}

    def minute_of(self, log_ids: Iterable[str]) -> list[str]:
        """The minutes of the given ids (unknown ids are skipped). Ids are "L<position+1>"
        when we build the log; anything else falls back to a lookup."""
        out = []
        lookup = None
        ids = self.id_list()
        for log_id in log_ids:
            i = int(log_id[1:]) - 1 if log_id[:1] == "L" and log_id[1:].isdigit() else -1
            if not (0 <= i < len(ids) and ids[i] == log_id):
                lookup = lookup or self.position_of()
                i = lookup.get(log_id, -1)
            if i >= 0:
                out.append(self.minute_texts[self.minute_codes[i]])
        return out

    def to_records(self) -> list[dict]:
        """Every row as a plain dict with the ``LogEntry`` fields (slow: for small logs and tests)."""
        return [self._entry(i).__dict__.copy() for i in range(len(self))]

    def to_entries(self) -> list[LogEntry]:
        return [self._entry(i) for i in range(len(self))]

    def to_arrow(self) -> pa.Table:
        """A typed Arrow table: description fields and minutes dictionary-encoded, lines and
        entity ids as list columns."""
        import pyarrow as pa

        codes = pa.array(self.description_codes.astype(np.int32))
        columns: dict[str, pa.Array] = {
            "id": self.ids,
            "minute": pa.DictionaryArray.from_arrays(pa.array(self.minute_codes.astype(np.int32)), pa.array(self.minute_texts, pa.string())),
        }
        for name in DESCRIPTION_FIELDS[:5]:
            columns[name] = pa.DictionaryArray.from_arrays(codes, pa.array(self.descriptions[name], pa.string()))
        columns["count"] = pa.array(self.counts)
        columns["text"] = pa.DictionaryArray.from_arrays(codes, pa.array(self.descriptions["text"], pa.string()))
        columns["lines"] = pa.ListArray.from_arrays(pa.array(self.line_offsets.astype(np.int32)), pa.array(self.line_values))
        entity = pa.array(self.entity_ids, pa.string())
        columns["subject_ids"] = pa.ListArray.from_arrays(
            pa.array(self.subject_offsets.astype(np.int32)), entity.take(pa.array(self.subject_values))
        )
        columns["object_ids"] = pa.ListArray.from_arrays(
            pa.array(self.object_offsets.astype(np.int32)), entity.take(pa.array(self.object_values))
        )
        return pa.table(columns)

    def to_frame(self) -> pd.DataFrame:
        """The pandas face (``Report.timeline_frame``): one row per log row, lists as Python lists."""
        from ..arrays import pandas_module
        pd = pandas_module()

        frame = {
            "id": pd.Series(self.id_list(), dtype=object),
            "minute": self.minutes(),
            **{name: self.column(name) for name in DESCRIPTION_FIELDS[:5]},
            "count": self.counts,
            "text": self.column("text"),
        }
        frame["lines"] = _split(self.line_values.tolist(), self.line_offsets)
        entity = np.asarray(self.entity_ids, dtype=object)
        frame["subject_ids"] = _split(entity[self.subject_values].tolist(), self.subject_offsets)
        frame["object_ids"] = _split(entity[self.object_values].tolist(), self.object_offsets)
        if not len(self):
            return pd.DataFrame({name: [] for name in ENTRY_FIELDS})
        return pd.DataFrame(frame, columns=list(ENTRY_FIELDS))


def _split(values: list, offsets: np.ndarray) -> list[list]:
    bounds = offsets.tolist()
    return [values[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


# ---------------------------------------------------------------------- vectorised text


def join_items(values: pa.Array, offsets: np.ndarray, separator: str) -> pa.Array:
    """Per row: its values (``values[offsets[i]:offsets[i + 1]]``, large strings) joined by
    ``separator``, without brackets."""
    import pyarrow as pa
    from .. import compute as pc

    lists = pa.LargeListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int64)), values)
    return pc.binary_join(lists, pa.scalar(separator, pa.large_string()))


def join_lists(value_text: Sequence[str] | pa.Array, offsets: np.ndarray, separator: str, empty: str, open_: str, close: str):
    """Per row: ``open_ + sep.join(values of the row) + close``, or ``empty`` for a row with none."""
    import pyarrow as pa
    from .. import compute as pc

    values = value_text if isinstance(value_text, pa.Array) else pa.array(value_text, pa.large_string())
    if values.type != pa.large_string():
        values = pc.cast(values, pa.large_string())
    joined = join_items(values, offsets, separator)
    wrapped = pc.binary_join_element_wise(pa.scalar(open_, pa.large_string()), joined, pa.scalar(close, pa.large_string()), pa.scalar("", pa.large_string()))
    has_values = pa.array(np.diff(offsets) > 0)
    return pc.if_else(has_values, wrapped, pa.scalar(empty, pa.large_string()))


_ENTRY_KEYS = frozenset(ENTRY_FIELDS)
_STR_FIELDS = ("id", "minute", *DESCRIPTION_FIELDS)
_INT_LIST_FIELDS = ("lines",)
_STR_LIST_FIELDS = ("subject_ids", "object_ids")


def _exact_columns(entries: list) -> dict[str, list] | None:
    """The entries' fields as columns when every entry is a plain dict with exactly
    ``LogEntry``'s keys and every value has its field's exact type (``str``, ``int``, a
    list of those: ``type(v) is int`` leaves out ``True``, which validation would turn
    into 1), so validation would return every value unchanged; else None. The list
    fields come flattened too (``lines_flat``, ...), as the table stores them."""
    if not all(type(e) is dict and e.keys() == _ENTRY_KEYS for e in entries):
        return None
    columns = {f: [e[f] for e in entries] for f in ENTRY_FIELDS}
    if not {str} >= set().union(*(map(type, columns[f]) for f in _STR_FIELDS)) or not {int} >= set(map(type, columns["count"])):
        return None
    for fields, kind in ((_INT_LIST_FIELDS, int), (_STR_LIST_FIELDS, str)):
        for f in fields:
            if not {list} >= set(map(type, columns[f])):
                return None
            flat = [x for row in columns[f] for x in row]
            if not {kind} >= set(map(type, flat)):
                return None
            columns[f + "_flat"] = flat
    return columns
