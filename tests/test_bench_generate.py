"""bench/generate.py reads every corpus edge-list time format (TC3 integers, OpTC ISO strings)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

_SPEC = importlib.util.spec_from_file_location("bench_generate", Path(__file__).resolve().parents[1] / "bench" / "generate.py")
generate = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(generate)


def test_epoch_ns_reads_integer_and_iso_times():
    assert generate.epoch_ns(pd.Series(["1523404800000000000", "1523404801000000000"])).tolist() == [
        1_523_404_800_000_000_000,
        1_523_404_801_000_000_000,
    ]
    # OpTC edge lists: ISO strings with milliseconds and an offset
    assert generate.epoch_ns(pd.Series(["2019-09-24 11:32:02.730-04:00", "2019-09-24 11:32:03-04:00"])).tolist() == [
        1_569_339_122_730_000_000,
        1_569_339_123_000_000_000,
    ]
