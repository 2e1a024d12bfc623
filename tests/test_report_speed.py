"""The report path after facts does per-value work once per distinct value, and streams
its largest outputs (issue 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aptnarrate.rules import structural


def test_where_tests_each_distinct_value_once():
    names = ["a", "b", "a", "c", "b", "a"] * 1000
    frame = pd.DataFrame({"object_name": pd.Series(names, dtype="string[pyarrow]")})
    seen: list[str] = []

    def test(value: str) -> bool:
        seen.append(value)
        return value != "b"

    mask = structural._where(frame, "object_name", test)
    assert sorted(seen) == ["a", "b", "c"]
    assert mask.dtype == bool
    assert mask.tolist() == [n != "b" for n in names]


def test_where_keeps_missing_values_and_empty_frames():
    frame = pd.DataFrame({"object_name": pd.Series(["x", None, "y", None], dtype=object)})
    mask = structural._where(frame, "object_name", lambda v: v is None or v == "y")
    assert mask.tolist() == [False, True, True, True]
    empty = structural._where(frame.iloc[:0], "object_name", lambda v: True)
    assert empty.dtype == bool and len(empty) == 0


def test_sweep_found_from_first_contacts():
    minute = 60 * 10**9
    hosts = [f"10.0.0.{i}" for i in range(1, 6)]
    rows = pd.DataFrame(
        {
            "subject_name": ["nmap"] * 10,
            "object_kind": ["flow"] * 10,
            "event": ["network_out"] * 10,
            # each host twice: the first contacts lie within a few minutes, the repeats far later
            "object_name": hosts + hosts,
            "minute": np.array([i * minute for i in range(5)] + [500 * minute + i for i in range(5)], dtype=np.int64),
        }
    )
    found = structural.sweeps(rows)
    assert [(s["subject"], s["subnet"], s["hosts"]) for s in found] == [("nmap", "10.0.0.0/24", hosts)]
    assert len(found[0]["rows"]) == 10
