"""Rows of text built from pieces, in one Arrow ``take``.

A log's rows repeat a few thousand distinct pieces (a description's wording, a minute, a
count) between a few that are the row's own (its id, its lines). Every piece of every row
is one entry of one array (the distinct pieces once, the rows' own pieces after them), and
one ``take`` in row order writes the rows' bytes, end to end, straight into the result:
no array per piece is built and then joined (half the time of the Markdown log).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..arrays import distinct as distinct_values

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

T = TypeVar("T")


def in_order(make: Callable[[int], T], starts: Iterable[int], ahead: int = 2) -> Iterator[T]:
    """``map(make, starts)``, with up to ``ahead`` blocks made on two worker threads while
    the caller writes the one before. A block's work is mostly Arrow's (``take``, ``cast``,
    joins), which runs without the GIL: the first JSON rendering of a 1M-row edge list
    took 0.32-0.42 s against 0.55-0.61 s in one thread (bench/README.md, fifteenth stop).
    At most ``ahead + 1`` blocks are held at once. ``make`` must only read shared state."""
    from concurrent.futures import ThreadPoolExecutor

    starts = list(starts)
    if len(starts) < 2:
        yield from map(make, starts)
        return
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="aptnarrate-render") as pool:
        pending = deque(pool.submit(make, start) for start in starts[:ahead])
        for start in starts[ahead:]:
            done = pending.popleft().result()
            pending.append(pool.submit(make, start))
            yield done
        while pending:
            yield pending.popleft().result()


def take_rows(columns: Sequence[object], rows: int, *, trim: int = 0, encoded: bool = False) -> str | memoryview:
    """The ``rows`` rows, each its columns' pieces in order, one after another. A column is
    a fixed text (the same in every row), an array with one piece per row, or a pair of
    distinct pieces and each row's code into them. The last ``trim`` bytes (a separator the last piece ends each row with) are left out.
    ``encoded``: the UTF-8 bytes as they lie in Arrow's buffer (not copied or decoded).

    The work and memory are the block's: of a column's distinct pieces, only those its
    rows use are gathered (a caller renders a log in small blocks against the same,
    possibly large, sets of distinct pieces)."""
    import pyarrow as pa

    from .. import compute

    texts: list[pa.Array] = []
    codes = np.empty((rows, len(columns)), dtype=np.int64)
    base = 0
    for at, column in enumerate(columns):
        if isinstance(column, str):
            texts.append(pa.array([column], pa.large_string()))
            codes[:, at] = base
        elif isinstance(column, tuple):
            distinct, index = _used(*column)
            texts.append(distinct)
            np.add(index, base, out=codes[:, at])
        else:
            texts.append(_large(column))
            codes[:, at] = np.arange(base, base + rows, dtype=np.int64)
        base += len(texts[-1])
    if not rows:
        return memoryview(b"") if encoded else ""
    joined = compute.take(pa.concat_arrays(texts), pa.array(codes.ravel()))
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset : joined.offset + len(joined) + 1]
    data = memoryview(joined.buffers()[2])[int(offsets[0]) : int(offsets[-1]) - trim]
    return data if encoded else str(data, "utf-8")


def coded(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for integers: the sorted distinct values
    and each value's position among them, by a sort and a binary search (numpy's own
    hashes first, five times slower on a block's few thousand codes)."""
    values = np.asarray(values)
    used = distinct_values(values)
    return used, np.searchsorted(used, values)


def _used(distinct, index) -> tuple[pa.Array, np.ndarray]:
    """The distinct pieces as a ``large_string`` array and each row's code into it: all of
    them when they are no more than the rows, else only those the rows use."""
    import pyarrow as pa

    from .. import compute

    index = np.asarray(index)
    if len(distinct) <= len(index):
        return _large(distinct), index
    used, local = coded(index)
    if isinstance(distinct, (pa.Array, pa.ChunkedArray)):
        return _large(compute.take(distinct, pa.array(used))), local
    return pa.array([distinct[i] for i in used.tolist()], pa.large_string()), local


def _large(values) -> pa.Array:
    import pyarrow as pa

    from .. import compute

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == pa.large_string() else compute.cast(values, pa.large_string())
    return pa.array(list(values), pa.large_string())
