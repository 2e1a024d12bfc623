"""The speed paths of ingest and condense give what the plain computations give.

* An edge list's triples are gathered by Arrow from the distinct node values; here they are
  checked against the triples built edge by edge in Python (first appearance of each
  distinct row, ``_entity`` per node, a non-empty uuid as the id), on every corpus edge list
  and on an edge list with padded values, missing uuids, unnamed nodes and unusable rows.
* condense hashes its packed keys as uint32 when they fit and orders the log by one stable
  sort of a packed key: both are checked against pandas' factorize and numpy's lexsort,
  including the int64 and lexsort fall-backs, and condense against the plain reduction on a
  log whose times span centuries (keys past uint32).
* The newline count (numpy, in slices) equals ``bytes.count``; epoch units by magnitude
  (a search of the class bounds) equal the plain comparison chain at every bound.
"""

from __future__ import annotations

from pathlib import Path

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import corpus_manifest
from test_preprocess_speed import assert_condensed_as_plain

from aptnarrate.preprocess import condense as condense_module
from aptnarrate.preprocess import ingest
from aptnarrate.preprocess.condense import condense
from aptnarrate.preprocess.ingest import EDGE_COLUMNS, TRIPLE_COLUMNS, IngestOptions, _entity, read_events
from aptnarrate.preprocess.kinds import canonical_action

MANIFEST = corpus_manifest()


def plain_edge_triples(path: Path) -> tuple[list[tuple], list[int]]:
    """Each usable row's triple, edge by edge in Python, and each row's triple number
    (triples numbered by first appearance of their distinct trimmed row)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    triples: dict[tuple, int] = {}
    codes = []
    for record in frame[[c for c in EDGE_COLUMNS if c != "timestamp"]].itertuples(index=False):
        values = dict(zip([c for c in EDGE_COLUMNS if c != "timestamp"], (v.strip() for v in record)))
        if not (values["predicate"] and values["subject_type"] and values["object_type"]):
            codes.append(-1)
            continue
        sides = []
        for role in ("subject", "object"):
            entity = list(_entity(values[f"{role}_type"], values[f"{role}_attr"], role))
            if values[f"{role}_uuid"]:
                entity[0] = values[f"{role}_uuid"]
            sides.append(entity)
        triple = (*sides[0], canonical_action(values["predicate"]), *sides[1])
        codes.append(triples.setdefault(triple, len(triples)))
    return list(triples), codes


def assert_edges_as_plain(path: Path) -> None:
    table = read_events(path, IngestOptions(input_format="edges"))
    expected, codes = plain_edge_triples(path)
    got = [tuple(row) for row in table.triples[list(TRIPLE_COLUMNS)].to_pandas().itertuples(index=False)]
    # distinct rows that differ only in a uuid share a triple in the plain build: compare
    # each kept row's triple, the table's numbering being by first appearance too
    kept = [c for c in codes if c >= 0]
    assert [got[t] for t in table.events["triple"].tolist()] == [expected[c] for c in kept]
    assert all(isinstance(value, str) for name in table.triples.columns for value in table.triples[name].tolist())
    assert len(table.events) == len(kept)


EDGE_LIST = """subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr
p1,SUBJECT_PROCESS,thunderbird,EVENT_READ,1523404844083203907,f1,FILE_OBJECT_FILE,/etc/passwd
 p1 , SUBJECT_PROCESS ,thunderbird , EVENT_READ ,1523404845083203907,f1 ,FILE_OBJECT_FILE, /etc/passwd
,SUBJECT_PROCESS,sh,EVENT_CONNECT,1523404846083203907,,NetFlowObject,"tcp,198.51.100.7/80"
,SUBJECT_PROCESS,,EVENT_MPROTECT,1523404847083203907,m1,MemoryObject,
p2,SUBJECT_PROCESS,/usr/bin/python3 /tmp/x.py,EVENT_EXECUTE,1523404848083203907,,FILE_OBJECT_FILE,/tmp/x.py
p3,SUBJECT_PROCESS,cat,,1523404849083203907,f2,FILE_OBJECT_FILE,/etc/shadow
p3,,cat,EVENT_READ,1523404850083203907,f2,FILE_OBJECT_FILE,/etc/shadow
p1,SUBJECT_PROCESS,thunderbird,EVENT_READ,1523404851083203907,f1,FILE_OBJECT_FILE,/etc/passwd
p4,subject_process,NaN,http://darpa/EVENT_WRITE,1523404852083203907,f3,http://darpa/FILE_OBJECT_DIR,/var/log/
"""


def test_edge_triples_equal_the_plain_build(tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text(EDGE_LIST)
    assert_edges_as_plain(path)


@pytest.mark.skipif(MANIFEST is None, reason="corpus absent")
def test_edge_triples_equal_the_plain_build_on_the_corpus(corpus_dir):
    checked = 0
    for case in MANIFEST["cases"]:
        name = case["files"].get("edges")
        if name:
            assert_edges_as_plain(Path(corpus_dir) / name)
            checked += 1
    assert checked >= len(MANIFEST["cases"]) // 2


@pytest.mark.parametrize("bound", [1000, 1 << 32, (1 << 32) + 1, 1 << 40])
def test_factorize_keys_equals_pandas_factorize(bound):
    rng = np.random.default_rng(bound % 1000)
    keys = rng.integers(0, min(bound, 1 << 62), 5000, dtype=np.int64)
    keys[rng.integers(0, 5000, 2000)] = bound - 1  # the largest key, repeated
    codes, uniques = condense_module._factorize_keys(keys, bound)
    expected_codes, expected_uniques = pd.factorize(keys)
    assert codes.tolist() == expected_codes.tolist()
    assert uniques.dtype == np.int64 and uniques.tolist() == expected_uniques.tolist()


@pytest.mark.parametrize("minute_span", [50, 1 << 40])
def test_report_order_equals_lexsort(minute_span):
    """Many ties (same minute, count and text keep first appearance); a span too wide for
    the packed key takes numpy's lexsort itself."""
    rng = np.random.default_rng(minute_span % 97)
    n = 4000
    minute = rng.integers(0, minute_span, n, dtype=np.int64) * (1 if minute_span < 100 else 1 << 20)
    count = rng.integers(1, 30, n, dtype=np.int64)
    text_rank = rng.integers(1, 40, n, dtype=np.int64)
    order = condense_module._report_order(minute, count, text_rank)
    assert order.tolist() == np.lexsort((text_rank, -count, minute)).tolist()
    assert condense_module._report_order(minute[:0], count[:0], text_rank[:0]).tolist() == []


def test_condense_equals_the_plain_reduction_when_keys_pass_uint32(tmp_path):
    """Times two centuries apart: the (triple, second) keys no longer fit uint32."""
    stamps = ["1900-01-01 00:00:00", "2100-06-01 12:00:01", "1900-01-01 00:00:00", "2100-06-01 12:00:59", "1970-01-01 00:00:00"]
    descriptions = [
        "The subject_process: cat READ the file_object_file: /etc/passwd",
        "The subject_process: sh EXECUTE the file_object_file: /tmp/x.sh",
    ]
    lines = ["description,timestamp"]
    for i in range(60):
        lines.append(f"{descriptions[i % 2]},{stamps[i % len(stamps)]}")
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    timeline = condense(read_events(path))
    assert_condensed_as_plain(timeline)


def test_newlines_counted_in_slices_as_bytes_count(monkeypatch):
    """Slices smaller than the data, a newline on a slice edge, no newline at the end."""
    monkeypatch.setattr(ingest, "_READ_CHUNK", 7)
    for data in (b"", b"\n", b"ab\ncd\n\n\r\nxyz", b"123456\n" * 5 + b"tail", bytes(range(256)) * 3):
        assert ingest._count_newlines(data) == data.count(b"\n")


@pytest.mark.parametrize("unit", ["auto", "ms"])
def test_epoch_units_by_magnitude_at_the_class_bounds(unit):
    """Each value's unit from its digit count (1e11, 1e14, 1e17 start ms, us, ns), as the
    plain comparison chain reads it, negative values and int64's extremes included."""
    values = []
    for bound in (10**11, 10**14, 10**17):
        values += [bound - 1, bound, -(bound - 1), -bound]
    values += [0, 1, -1, 1523557640, 2**63 - 1, -(2**63)]
    as_int = np.array(values, dtype=np.int64)
    raw = pa.chunked_array([pa.array([str(v) for v in values])])
    every = np.ones(len(values), dtype=bool)
    zone = ZoneInfo("UTC")
    times, bad, out_of_range, units = ingest._epoch_times(raw, every, IngestOptions(epoch_unit=unit), zone, as_int=as_int)
    if unit == "auto":
        magnitude = np.abs(as_int)
        classes = np.select([magnitude < 10**11, magnitude < 10**14, magnitude < 10**17], [0, 1, 2], 3)
        scale = np.array([10**9, 10**6, 10**3, 1], dtype=np.int64)[classes]
    else:
        scale = np.full(len(values), 10**6, dtype=np.int64)
    limit = 9_200_000_000_000_000_000 // scale
    expected_out = (as_int > limit) | (as_int < -limit)
    assert out_of_range.tolist() == expected_out.tolist() and bad.tolist() == expected_out.tolist()
    assert times.tolist() == np.where(expected_out, 0, as_int * scale).tolist()
    if unit == "auto":
        assert units == tuple(("s", "ms", "us", "ns")[c] for c in np.unique(classes[~expected_out]))


def plain_epoch_times(as_int: np.ndarray, unit: str, zone: ZoneInfo):
    """Each value's wall-clock ns by its own class's scale (or the unit's), converted all at once."""
    if unit == "auto":
        magnitude = np.abs(as_int)
        classes = np.select([magnitude < 10**11, magnitude < 10**14, magnitude < 10**17], [0, 1, 2], 3)
    else:
        classes = np.full(len(as_int), ("s", "ms", "us", "ns").index(unit))
    scale = np.array([10**9, 10**6, 10**3, 1], dtype=np.int64)[classes]
    limit = 9_200_000_000_000_000_000 // scale
    out = (as_int > limit) | (as_int < -limit)
    utc = np.where(out, 0, as_int) * scale
    wall = pd.DatetimeIndex(utc.astype("datetime64[ns]"), tz="UTC").tz_convert(zone).tz_localize(None).asi8
    return wall.tolist(), out.tolist(), tuple(("s", "ms", "us", "ns")[c] for c in np.unique(classes))


@pytest.mark.parametrize(
    "values",
    [
        [1523505481, 1523557640, 1541311200],  # seconds across a DST change
        [1523505481000, 1541311200000, -1523505481000],  # milliseconds, one negative
        [-5, 0, 7, 99_999_999_999],  # both signs, one class
        [10**17, 2**63 - 1, 9 * 10**18],  # nanoseconds, some past the range
        [1523505481, 1523505481000],  # two classes: the per-row path
        [-(2**63), -(10**18)],  # int64's minimum: the per-row path
    ],
)
@pytest.mark.parametrize("unit", ["auto", "ms"])
def test_epoch_times_of_one_class_and_in_chunks_equal_the_per_row_computation(values, unit, monkeypatch):
    """A column in one magnitude class takes one scale (no per-row arrays), and the zone is
    converted in chunks: both equal the per-row computation converted at once."""
    monkeypatch.setattr(ingest, "_CONVERT_CHUNK", 2)
    as_int = np.array(values * 3, dtype=np.int64)
    raw = pa.chunked_array([pa.array([str(v) for v in as_int.tolist()])])
    zone = ZoneInfo("America/Toronto")
    every = np.ones(len(as_int), dtype=bool)
    times, bad, out_of_range, units = ingest._epoch_times(raw, every, IngestOptions(epoch_unit=unit), zone, as_int=as_int)
    wall, out, plain_units = plain_epoch_times(as_int, unit, zone)
    assert times.tolist() == wall and out_of_range.tolist() == out and bad.tolist() == out
    assert units == plain_units


def test_wall_clock_times_converted_between_zones_in_chunks_equal_one_conversion(monkeypatch):
    """``--input-timezone``: converted a chunk at a time (across both DST edges, with a
    missing time), the same as all at once; a read-only input array is not written to."""
    wall = np.array(
        ["2018-03-11T01:59:00", "2018-03-11T02:30:00", "2018-04-12T14:30:00", "NaT", "2018-11-04T01:30:00", "2018-11-04T02:00:00", "2018-12-31T23:59:59"],
        dtype="datetime64[ns]",
    ).view(np.int64)
    source, target = ZoneInfo("America/Toronto"), ZoneInfo("Asia/Tokyo")
    whole = ingest._wall_to_wall(wall.copy(), source, target).tolist()
    monkeypatch.setattr(ingest, "_CONVERT_CHUNK", 2)
    frozen = wall.copy()
    frozen.flags.writeable = False
    assert ingest._wall_to_wall(frozen, source, target).tolist() == whole
    assert frozen.tolist() == wall.tolist()
    assert ingest._wall_to_wall(wall.copy(), source, target).tolist() == whole
