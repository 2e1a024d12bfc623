"""``aptnarrate.compute`` calls Arrow's kernels as ``pyarrow.compute`` does: every call the
pipeline makes gives the same array (or raises the same error) both ways."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pyarrow_compute
import pytest

from aptnarrate import compute

TEXT = pa.array(["L12", " x ", "", None, "é\"q", "L0"], pa.string())
LARGE = pa.array(["a", "bb", "ccc"], pa.large_string())
NUMBERS = pa.array([3, -1, 2, None], pa.int64())
CHUNKED = pa.chunked_array([["b", "a"], ["b", "c"]])

CALLS = [
    ("cast", (pa.array(["1", "20"]), pa.int64()), {}),
    ("cast", (pa.array(["2024-01-02 03:04:05"]), pa.timestamp("ns")), {}),
    ("cast", (pa.array([1.5, 2.0]), pa.int64()), {"safe": False}),
    ("cast", (TEXT, pa.large_string()), {}),
    ("take", (TEXT, pa.array([5, 0, 0])), {}),
    ("take", (CHUNKED, [3, 0]), {}),
    ("filter", (TEXT, pa.array([True, None, False, True, True, False])), {}),
    ("filter", (CHUNKED, pa.array([True, False, True, True])), {}),
    ("fill_null", (TEXT, ""), {}),
    ("fill_null", (NUMBERS, -1), {}),
    ("match_substring_regex", (TEXT, r"^L[0-9]+$"), {}),
    ("utf8_slice_codeunits", (TEXT, 1), {}),
    ("utf8_rpad", (LARGE,), {"width": 7, "padding": " "}),
    ("utf8_rpad", (LARGE, 9, "0"), {}),
    ("index_in", (TEXT,), {"value_set": pa.array(["L0", " x "])}),
    ("unique", (NUMBERS,), {}),
    ("array_sort_indices", (TEXT,), {}),
    ("equal", (NUMBERS, 2), {}),
    ("if_else", (pa.array([True, False, None]), "yes", pa.scalar("no")), {}),
    ("binary_join_element_wise", (LARGE, LARGE, pa.scalar("-", pa.large_string())), {}),
    ("binary_join", (pa.array([["a", "b"], [], ["c"]]), ", "), {}),
    ("ascii_trim_whitespace", (TEXT,), {}),
    ("utf8_trim_whitespace", (TEXT,), {}),
    ("utf8_length", (TEXT,), {}),
    ("binary_length", (TEXT,), {}),
    ("extract_regex", (pa.array(["12.5", "x"]), r"^(?P<whole>-?\d+)(?:\.(?P<frac>\d*))?$"), {}),
    ("greater_equal", (pa.array([1.0, 9.3e18]), 9.2e18), {}),
    ("abs", (NUMBERS,), {}),
    ("starts_with", (TEXT, "L"), {}),
    ("not_equal", (TEXT, ""), {}),
]


@pytest.mark.parametrize("name, args, kwargs", CALLS, ids=[f"{i}-{c[0]}" for i, c in enumerate(CALLS)])
def test_each_call_gives_what_pyarrow_compute_gives(name, args, kwargs):
    ours = getattr(compute, name)(*args, **kwargs)
    theirs = getattr(pyarrow_compute, name)(*args, **kwargs)
    assert ours.type == theirs.type
    assert ours.equals(theirs)


def test_struct_field_and_dictionary_encode_as_pyarrow():
    parts = compute.extract_regex(pa.array(["12.5", "7"]), r"^(?P<whole>\d+)(?:\.(?P<frac>\d*))?$")
    assert compute.struct_field(parts, [1]).equals(pyarrow_compute.struct_field(parts, [1]))
    for encoding in ("mask", "encode"):
        ours = compute.dictionary_encode(TEXT, null_encoding=encoding)
        assert ours.equals(TEXT.dictionary_encode(null_encoding=encoding))
    assert compute.dictionary_encode(CHUNKED).equals(CHUNKED.dictionary_encode())


def test_errors_are_arrows_own():
    with pytest.raises(pa.ArrowInvalid):
        compute.cast(pa.array(["1.5"]), pa.int64())  # safe by default, as pc.cast
    with pytest.raises(pa.ArrowInvalid):
        compute.cast(pa.array([1.5]), pa.int64())
    with pytest.raises(IndexError):
        compute.take(TEXT, pa.array([99]))  # bounds checked
    with pytest.raises(TypeError, match="takes no options"):
        compute.unique(NUMBERS, "extra")


def test_an_unknown_kernel_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no compute kernel 'no_such_kernel'"):
        compute.no_such_kernel  # noqa: B018
    assert not hasattr(compute, "_private")
