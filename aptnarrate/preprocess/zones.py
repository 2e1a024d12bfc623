"""UTC instants to a zone's wall clock, from the zone's rules, without pandas.

An edge list's epoch times are shown on the wall clock of ``--timezone``. pandas converts
them (0.3 s to import it, on a path that needs nothing else of it); here the zone is asked
for its UTC offset only at the edges of each distinct day the data touches, and once more
to place a change of offset inside a day to the second.

Why two questions a day are enough: no zone changes its offset twice within a day. In the
tz database the closest two transitions of any zone are 95 hours apart (Africa/Freetown,
1942-1943; ``tests/test_zones.py`` checks the installed zones), so a day whose first and
last second share an offset has that offset throughout, and a day whose ends differ holds
exactly one transition, found by bisection. Offsets and transitions are whole seconds
(the TZif format stores nothing finer), so a row's offset follows from its second.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

import numpy as np

_NS = 1_000_000_000
_DAY = 86_400  # seconds
_CHUNK = 1 << 20  # rows converted at a time: the per-row temporaries stay small
_DAY_NS = _DAY * _NS  # numpy's // floors: a time before 1970 falls in its own day
_NEVER = np.iinfo(np.int64).max  # "no transition in this day"


def utc_to_wall(utc_ns: np.ndarray, zone: tzinfo) -> np.ndarray:
    """Wall-clock nanoseconds in ``zone`` for the UTC instants ``utc_ns`` (int64 ns),
    written over ``utc_ns`` where it is writable (else into a new array), a chunk at a time."""
    out = utc_ns if utc_ns.flags.writeable else np.empty_like(utc_ns)
    if not len(utc_ns):
        return out
    chunks = range(0, len(utc_ns), _CHUNK)  # per chunk: no temporary of 8 bytes a row
    first_day, last_day = int(utc_ns.min()) // _DAY_NS, int(utc_ns.max()) // _DAY_NS
    span = last_day - first_day + 1
    dense = span <= 2 * len(utc_ns) + 1024
    if dense:  # the usual log: a table over the days it spans, day -> its rules' position
        table = np.full(span, -1, dtype=np.int64)
        for start in chunks:
            table[utc_ns[start : start + _CHUNK] // _DAY_NS - first_day] = 0
        distinct = np.flatnonzero(table == 0) + first_day
        table[distinct - first_day] = np.arange(len(distinct))
    else:  # a few times spread over centuries: only the days that occur, searched
        distinct = np.unique(np.concatenate([np.unique(utc_ns[start : start + _CHUNK] // _DAY_NS) for start in chunks]))
    before, after, change = _day_rules(distinct, zone)
    for start in chunks:
        chunk = utc_ns[start : start + _CHUNK]
        seconds = chunk // _NS
        day = seconds // _DAY
        at = table[day - first_day] if dense else np.searchsorted(distinct, day)
        offset = np.where(seconds >= change[at], after[at], before[at])
        out[start : start + _CHUNK] = chunk + offset * _NS
    return out


def _day_rules(days: np.ndarray, zone: tzinfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per day (sorted, distinct): the offset at its first second, the offset at its last,
    and the second the offset changes (``_NEVER`` when it does not)."""
    before = np.empty(len(days), dtype=np.int64)
    after = np.empty(len(days), dtype=np.int64)
    change = np.full(len(days), _NEVER, dtype=np.int64)
    for i, day in enumerate(days.tolist()):
        first = day * _DAY
        start, end = _offset(first, zone), _offset(first + _DAY - 1, zone)
        before[i], after[i] = start, end
        if start != end:
            low, high = first, first + _DAY - 1  # offset(low) == start, offset(high) == end
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(middle, zone) == start:
                    low = middle
                else:
                    high = middle
            change[i] = high
    return before, after, change


def _offset(second: int, zone: tzinfo) -> int:
    """``zone``'s UTC offset, in seconds, at the UTC instant ``second``."""
    delta = datetime.fromtimestamp(second, zone).utcoffset()
    return delta.days * _DAY + delta.seconds
