"""Array helpers the pipeline's hot paths share.

``distinct``: ``np.unique`` of an integer array by sorting. Since numpy 2.3 a plain
``np.unique`` hashes first, which on an array of many distinct values (a million log keys)
is several times slower than a sort: 0.35 s against 0.045 s for the million (position,
triple) keys of a 1M-row input. Same values, same order (ascending).
"""

from __future__ import annotations

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
