"""zones.utc_to_wall: a zone's wall clock from its rules, equal to pandas' conversion."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from aptnarrate.preprocess.zones import utc_to_wall

ZONES = [
    "America/Toronto",  # DST both ways
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kathmandu",  # +05:45, and a change from +05:30 in 1986
    "Pacific/Apia",  # skipped a whole day (2011-12-30)
    "Africa/Casablanca",  # DST suspended for Ramadan: transitions weeks apart
    "America/Sao_Paulo",
    "Asia/Tokyo",  # no DST since 1951
]
NS = 1_000_000_000


def pandas_wall(utc_ns: np.ndarray, zone: str) -> np.ndarray:
    return pd.DatetimeIndex(utc_ns.view("datetime64[ns]"), tz="UTC").tz_convert(zone).tz_localize(None).asi8


def transitions_near(zone: str, years: range) -> list[int]:
    """Seconds around every offset change of ``zone`` in ``years`` (found hour by hour)."""
    tz = zoneinfo.ZoneInfo(zone)
    start = int(datetime(years.start, 1, 1, tzinfo=timezone.utc).timestamp())
    stop = int(datetime(years.stop, 1, 1, tzinfo=timezone.utc).timestamp())
    out = []
    previous = datetime.fromtimestamp(start, tz).utcoffset()
    for second in range(start, stop, 3600):
        offset = datetime.fromtimestamp(second, tz).utcoffset()
        if offset != previous:
            out.extend(second + d for d in range(-3700, 3700, 17))
        previous = offset
    return out


@pytest.mark.parametrize("zone", ZONES)
def test_equals_pandas_around_transitions_and_at_random(zone):
    rng = np.random.default_rng(7)
    edges = np.array(transitions_near(zone, range(1980, 1990)) + transitions_near(zone, range(2010, 2013)), dtype=np.int64)
    spread = rng.integers(-2_000_000_000, 4_000_000_000, 20_000)  # 1906-2096, any second
    utc_ns = np.concatenate([edges * NS + rng.integers(0, NS, len(edges)), spread * NS + rng.integers(0, NS, len(spread))])
    expected = pandas_wall(utc_ns.copy(), zone)
    assert (utc_to_wall(utc_ns.copy(), zoneinfo.ZoneInfo(zone)) == expected).all()


@pytest.mark.parametrize("chunk", [7, 1 << 20])
def test_sparse_times_over_centuries_and_one_dense_day(monkeypatch, chunk):
    monkeypatch.setattr("aptnarrate.preprocess.zones._CHUNK", chunk)  # several chunks, or one
    zone = zoneinfo.ZoneInfo("America/Toronto")
    sparse = np.array([-9_000_000_000_000_000_000, -1, 0, 1_500_000_000 * NS, 9_000_000_000_000_000_000], dtype=np.int64)
    assert (utc_to_wall(sparse.copy(), zone) == pandas_wall(sparse.copy(), "America/Toronto")).all()
    day = np.arange(1_520_740_800, 1_520_740_800 + 86_400, 7, dtype=np.int64) * NS  # 2018-03-11, clocks spring forward
    assert (utc_to_wall(day.copy(), zone) == pandas_wall(day.copy(), "America/Toronto")).all()


def test_written_over_a_writable_input_and_never_over_a_frozen_one():
    zone = zoneinfo.ZoneInfo("Europe/London")
    utc_ns = np.array([1_600_000_000 * NS], dtype=np.int64)
    assert utc_to_wall(utc_ns, zone) is utc_ns and utc_ns[0] == 1_600_003_600 * NS
    frozen = np.array([1_600_000_000 * NS], dtype=np.int64)
    frozen.flags.writeable = False
    assert utc_to_wall(frozen, zone)[0] == 1_600_003_600 * NS and frozen[0] == 1_600_000_000 * NS
    assert len(utc_to_wall(np.array([], dtype=np.int64), zone)) == 0


def test_no_installed_zone_changes_offset_twice_in_a_day():
    """What the conversion rests on (zones.py): two questions a day find every change."""
    pure = pytest.importorskip("zoneinfo._zoneinfo")  # the stdlib's Python implementation keeps the list
    keys = zoneinfo.available_timezones()
    if not keys:
        pytest.skip("no time zone data on this machine")
    closest = min(
        (b - a, key)
        for key in keys
        for transitions in [pure.ZoneInfo.no_cache(key)._trans_utc]
        for a, b in zip(transitions, transitions[1:])
    )
    assert closest[0] > 86_400, closest  # (the annual rules after the last listed change are months apart)
