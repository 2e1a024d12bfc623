"""Array helpers the pipeline's hot paths share, and its tables without pandas.

``Columns``: the event, triple, description and log tables (numpy arrays by name).
``factorize`` / ``in_order_distinct``: ``pd.factorize`` / ``pd.unique`` by Arrow's hash.
``factorize_ordered_pairs``: the same numbering by a sort, for pairs whose second half is in order.
``defer_pandas`` / ``pandas_module``: the command line's report and inspect run without
importing pandas; the few paths that need it ask for it.

``distinct``: ``np.unique`` of an integer array by sorting. Since numpy 2.3 a plain
``np.unique`` hashes first, which on an array of many distinct values (a million log keys)
is several times slower than a sort: 0.35 s against 0.045 s for the million (position,
triple) keys of a 1M-row input. Same values, same order (ascending).
"""

from __future__ import annotations

import sys

import numpy as np


def distinct(values, *, in_place: bool = False) -> np.ndarray:
    """The sorted distinct values of ``values`` (as ``np.unique``); integers and booleans
    by a sort, any other dtype by ``np.unique`` itself. ``in_place``: sort ``values``
    itself, stably (a caller's temporary: no copy at a memory peak; timsort runs over keys
    already nearly in order in linear time)."""
    array = np.asarray(values)
    if array.dtype.kind not in "iub":
        return np.unique(array)
    if in_place and array.ndim == 1:
        array.sort(kind="stable")
        flat = array
    else:
        flat = np.sort(array, axis=None)
    if len(flat) < 2:
        return flat
    keep = np.empty(len(flat), dtype=bool)
    keep[0] = True
    np.not_equal(flat[1:], flat[:-1], out=keep[1:])
    return flat[keep]


# values from which ``factorize`` hashes numbers with pandas: Arrow's hash table for millions
# of distinct int64 keys grew the process by 1 GB (10M-row edge list: the units of condense,
# 4.5M distinct), pandas' by 0.2 GB; below, Arrow spares the 0.23 s of importing pandas
PANDAS_FACTORIZE_FROM = 2_000_000


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, use_na_sentinel=False)`` without pandas where it can: each
    value's code (int64, numbered by first appearance) and the distinct values in that
    order. Arrow's hash, except for numeric arrays of ``PANDAS_FACTORIZE_FROM`` values or
    more (pandas' uses far less memory there, and its import is a small part of such a run)."""
    import pyarrow as pa

    if isinstance(values, np.ndarray) and values.dtype.kind in "iub" and len(values) >= PANDAS_FACTORIZE_FROM:
        codes, uniques = pandas_module().factorize(values, use_na_sentinel=False)
        return codes.astype(np.int64, copy=False), np.asarray(uniques)
    array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(np.asarray(values))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64), np.asarray(array.to_numpy(zero_copy_only=False))
    from . import compute

    encoded = compute.dictionary_encode(array, null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, encoded.dictionary.to_numpy(zero_copy_only=False)


def factorize_ordered_pairs(major: np.ndarray, minor: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``factorize`` of the pairs (``major``, ``minor``) without a hash, where ``minor``
    never decreases among the positions of one ``major`` value (rows in time order: the
    pairs of a value then come in runs); None where it does (the caller hashes).

    ``major``: non-negative integers (ids of a small table). Returns each position's code,
    numbered by first appearance as ``factorize`` numbers them, and the first position of
    each code (increasing). One stable sort of ``major`` (a radix sort when it fits 16 bits)
    and a few linear passes: 0.05 s at a million rows, where hashing the packed pairs cost
    0.1 s, most of it the hash table's fresh memory."""
    n = len(major)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    top = int(major.max())
    narrow = major.astype(np.uint16 if top < 1 << 16 else np.uint32 if top < 1 << 32 else np.int64, copy=False)
    order = np.argsort(narrow, kind="stable")  # each value's positions in position order
    sorted_major, sorted_minor = narrow[order], minor[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(sorted_major[1:], sorted_major[:-1], out=new[1:])
    if not np.all(new[1:] | (sorted_minor[1:] >= sorted_minor[:-1])):
        return None
    new[1:] |= sorted_minor[1:] != sorted_minor[:-1]  # a pair starts where either changes
    firsts = order[new]  # each pair's first position (stable sort), in sorted order
    is_first = np.zeros(n, dtype=bool)
    is_first[firsts] = True
    number = np.cumsum(is_first) - 1  # at a first position: its pair's first-appearance number
    codes = np.empty(n, dtype=np.int64)
    codes[order] = number[firsts][np.cumsum(new) - 1]
    return codes, np.flatnonzero(is_first)


def first_appearances(codes: np.ndarray) -> np.ndarray:
    """For codes numbered by first appearance (``factorize``'s): whether each position is
    its code's first (a code is new where the codes reach a new high)."""
    new = np.empty(len(codes), dtype=bool)
    new[:1] = True
    if len(codes) > 1:
        np.greater(codes[1:], np.maximum.accumulate(codes)[:-1], out=new[1:])
    return new


def in_order_distinct(values) -> np.ndarray:
    """``pd.unique``: the distinct values in order of first appearance."""
    return factorize(values)[1]


class Columns:
    """Named columns of one length, each a numpy array: the part of a DataFrame the
    pipeline's core uses, without importing pandas (about 0.23 s of every run's start on
    this project's machines). A column may be given as an Arrow array: it becomes a numpy
    array (text as an object array of ``str``) on first use, so a column nobody reads is
    never converted. ``to_pandas()`` gives the DataFrame, for notebooks."""

    __slots__ = ("_data", "_numpy", "_length")

    def __init__(self, data: dict | None = None, length: int | None = None) -> None:
        self._data: dict = {}  # as given: numpy or Arrow arrays
        self._numpy: dict = {}  # Arrow columns converted, once each
        self._length = length
        for name, values in (data or {}).items():
            self[name] = values

    def __len__(self) -> int:
        return self._length or 0

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __iter__(self):
        return iter(self._data)

    @property
    def columns(self) -> list[str]:
        return list(self._data)

    def __getitem__(self, name):
        if isinstance(name, (list, tuple)):
            return Columns({n: self._data[n] for n in name}, self._length)
        values = self._data[name]
        if isinstance(values, np.ndarray):
            return values
        converted = self._numpy.get(name)
        if converted is None:  # an Arrow array: converted once
            converted = values.to_numpy(zero_copy_only=False)
            if converted.dtype.kind in "OU":
                converted = converted.astype(object, copy=False)
            self._numpy[name] = converted
        return converted

    def __setitem__(self, name: str, values) -> None:
        if not hasattr(values, "__len__") or isinstance(values, str):
            raise TypeError(f"column {name!r}: expected an array, got {type(values).__name__}")
        if not _is_arrow(values):
            values = np.asarray(values, dtype=object if _is_text_list(values) else None)
        if self._length is None:
            self._length = len(values)
        elif len(values) != self._length:
            raise ValueError(f"column {name!r} has {len(values)} values; the others have {self._length}")
        self._data[name] = values
        self._numpy.pop(name, None)

    def arrow(self, name: str):
        """The column as an Arrow array (no conversion when it was given as one)."""
        import pyarrow as pa

        values = self._data[name]
        return values if _is_arrow(values) else pa.array(values)

    def row(self, position: int) -> dict:
        """One row as a dict of Python values."""
        return {name: self[name][[position]].tolist()[0] for name in self._data}

    def records(self) -> list[dict]:
        """Every row as a dict of column name -> value (``DataFrame.to_dict("records")``)."""
        names = list(self._data)
        return [dict(zip(names, values)) for values in zip(*(self[name].tolist() for name in names))]

    def take(self, positions) -> Columns:
        """The rows at ``positions`` (integers, or a boolean mask), in that order."""
        positions = np.asarray(positions)
        if positions.dtype == bool:
            positions = np.flatnonzero(positions)
        from . import compute

        taken = {}
        for name, values in self._data.items():
            if _is_arrow(values) and name not in self._numpy:  # stays Arrow: converted only if read
                taken[name] = compute.take(values, positions)
            else:
                taken[name] = self[name][positions]
        return Columns(taken, len(positions))

    def to_pandas(self):
        """A DataFrame of the columns (text columns as pandas' string dtype)."""
        pd = pandas_module()
        return pd.DataFrame({name: _pandas_column(pd, self._data[name]) for name in self._data}, index=pd.RangeIndex(len(self)))

    def __repr__(self) -> str:
        return f"Columns({len(self)} rows: {', '.join(self._data)})"


def _is_arrow(values) -> bool:
    return type(values).__module__.startswith("pyarrow")


def _is_text_list(values) -> bool:
    return isinstance(values, list) and any(isinstance(v, str) for v in values[:1])


def _pandas_column(pd, values):
    if _is_arrow(values) or (isinstance(values, np.ndarray) and values.dtype.kind == "O"):
        return pd.Series(values, dtype="str") if len(values) else pd.Series([], dtype="str")
    return values


def defer_pandas() -> None:
    """In a process whose work needs no pandas (the command line's ``report`` and
    ``inspect``): make ``import pandas`` fail, as if it were not installed, until this
    package asks for it (``pandas_module``).

    pandas is an optional dependency of pyarrow, which imports it (0.23 s, a fifth of a
    1M-row report) on its first conversion from or to numpy, only to recognise pandas
    objects; without pandas, pyarrow converts the same arrays the same way. Nothing is done
    when pandas is already imported."""
    if "pandas" not in sys.modules and not any(isinstance(f, _PandasDeferred) for f in sys.meta_path):
        sys.meta_path.insert(0, _PandasDeferred())


def pandas_module():
    """The pandas module, for the paths that need it (time zone rules, DataFrames for
    notebooks); lifts ``defer_pandas``' block first."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PandasDeferred)]
    import pandas

    return pandas


class _PandasDeferred:
    """A finder that refuses pandas (``defer_pandas``): an import of it raises
    ModuleNotFoundError, as where it is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r} (deferred: this command needs none)", name=name)
        return None
