"""The pipeline's columns without pandas: ``arrays.factorize`` numbers values as
``pd.factorize`` does, and ``Columns`` holds a table's columns as numpy arrays (Arrow ones
converted only when read)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from aptnarrate.arrays import Columns, factorize, factorize_ordered_pairs, first_appearances, in_order_distinct


@pytest.mark.parametrize(
    "values",
    [
        np.array([5, 3, 5, 9, 3, 3, 0], dtype=np.int64),
        np.array([7, 7, 1], dtype=np.uint32),
        np.array(["b", "a", "b", "", "c", "a"], dtype=object),
        np.array([], dtype=np.int64),
    ],
)
def test_factorize_numbers_values_by_first_appearance_as_pandas_does(values):
    codes, uniques = factorize(values)
    want_codes, want_uniques = pd.factorize(values, use_na_sentinel=False)
    assert codes.dtype == np.int64
    assert codes.tolist() == want_codes.tolist()
    assert list(uniques) == list(want_uniques)
    assert in_order_distinct(values).tolist() == list(pd.unique(values))


def test_factorize_keeps_a_missing_value_as_a_value_and_reads_arrow_directly():
    codes, uniques = factorize(pa.chunked_array([pa.array(["x", None]), pa.array(["x", "y", None])]))
    assert codes.tolist() == [0, 1, 0, 2, 1]
    assert uniques.tolist() == ["x", None, "y"]


def test_first_appearances_marks_each_codes_first_position():
    codes, _ = factorize(np.array([4, 4, 2, 4, 8, 2]))
    assert first_appearances(codes).tolist() == [True, False, True, False, True, False]
    assert first_appearances(np.array([], dtype=np.int64)).tolist() == []


def test_columns_convert_an_arrow_column_once_when_read_and_keep_it_for_arrow_readers():
    ids = pa.array(["L1", "L2", "L3"])
    table = Columns({"id": ids, "count": np.array([3, 1, 2])})
    assert len(table) == 3 and table.columns == ["id", "count"] and "id" in table
    first = table["id"]
    assert first.dtype == object and first.tolist() == ["L1", "L2", "L3"]
    assert table["id"] is first  # converted once
    assert table.arrow("id") is ids  # the Arrow column itself, not a round trip
    assert table.arrow("count").to_pylist() == [3, 1, 2]


def test_columns_take_rows_by_position_or_mask_and_read_as_records():
    table = Columns({"name": pa.array(["a", "b", "c"]), "n": np.array([1, 2, 3])})
    taken = table.take(np.array([2, 0]))
    assert taken["name"].tolist() == ["c", "a"] and taken["n"].tolist() == [3, 1]
    assert isinstance(taken.arrow("name"), pa.Array)  # an unread Arrow column stays Arrow
    masked = table.take(table["n"] > 1)
    assert masked.records() == [{"name": "b", "n": 2}, {"name": "c", "n": 3}]
    assert table.row(1) == {"name": "b", "n": 2}
    assert table[["n"]].columns == ["n"]


def test_columns_refuse_a_column_of_another_length_or_a_scalar():
    table = Columns({"a": np.arange(3)})
    with pytest.raises(ValueError, match="column 'b' has 2 values; the others have 3"):
        table["b"] = np.arange(2)
    with pytest.raises(TypeError, match="expected an array"):
        table["c"] = "flow"


def test_columns_to_pandas_gives_string_columns_and_the_numbers():
    table = Columns({"name": np.array(["a", "b"], dtype=object), "n": np.array([1, 2]), "id": pa.array(["x", "y"])})
    frame = table.to_pandas()
    assert list(frame.columns) == ["name", "n", "id"]
    assert frame["name"].tolist() == ["a", "b"] and frame["id"].tolist() == ["x", "y"]
    assert pd.api.types.is_string_dtype(frame["name"]) and frame["n"].tolist() == [1, 2]
    assert len(Columns({}, 0).to_pandas()) == 0


def test_factorize_of_many_numbers_goes_through_pandas_with_the_same_codes(monkeypatch):
    from aptnarrate import arrays

    values = np.array([9, 4, 9, 1, 4, 4, 7], dtype=np.int64)
    by_arrow = factorize(values)
    monkeypatch.setattr(arrays, "PANDAS_FACTORIZE_FROM", 4)
    calls = []
    real = pd.factorize
    monkeypatch.setattr(pd, "factorize", lambda *a, **k: calls.append(1) or real(*a, **k))
    by_pandas = factorize(values)
    assert calls == [1]
    assert by_pandas[0].tolist() == by_arrow[0].tolist() == [0, 1, 0, 2, 1, 1, 3]
    assert by_pandas[1].tolist() == by_arrow[1].tolist() == [9, 4, 1, 7]
    assert by_pandas[0].dtype == np.int64


def _hashed_pairs(major, minor):
    codes, _ = factorize(major.astype(np.int64) * (int(minor.max()) + 1) + minor)
    return codes, np.flatnonzero(first_appearances(codes))


@pytest.mark.parametrize("top", [5, 70_000])  # a radix sort (16 bits) and a wider one
def test_factorize_ordered_pairs_numbers_the_pairs_as_hashing_them_does(top):
    rng = np.random.default_rng(3)
    major = rng.integers(0, top, 5_000)
    minor = np.sort(rng.integers(0, 40, 5_000))  # in order overall, so within each major too
    codes, firsts = factorize_ordered_pairs(major, minor)
    want_codes, want_firsts = _hashed_pairs(major, minor)
    assert codes.tolist() == want_codes.tolist() and firsts.tolist() == want_firsts.tolist()


def test_factorize_ordered_pairs_needs_order_only_within_a_major_value():
    major = np.array([1, 0, 1, 0, 1, 2])
    minor = np.array([5, 9, 5, 9, 6, 0])  # 0's minors after 1's: fine, each value's own are in order
    codes, firsts = factorize_ordered_pairs(major, minor)
    assert codes.tolist() == [0, 1, 0, 1, 2, 3] and firsts.tolist() == [0, 1, 4, 5]
    # one value's minor going back: the pairs are no longer runs, so the caller must hash
    assert factorize_ordered_pairs(np.array([1, 1, 1]), np.array([5, 4, 5])) is None
    empty_codes, empty_firsts = factorize_ordered_pairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert empty_codes.tolist() == [] and empty_firsts.tolist() == []
