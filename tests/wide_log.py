"""A generated host log around a subgraph, with planted neighbourhoods (tests and bench).

The log holds the subgraph's own edges, background noise from unrelated processes, files
and flows, and for every named node of the subgraph: planted neighbours inside the time
window (before and after the subgraph), neighbours outside it (days earlier) and decoys
whose names merely contain the node's name. Everything derives from the subgraph given,
nothing from a particular case; the planted names are returned so tests can look for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from aptnarrate.preprocess.ingest import EDGE_COLUMNS
from aptnarrate.preprocess.kinds import canonical_kind, display_name

MINUTE = 60 * 10**9
DAY = 86400 * 10**9


@dataclass(frozen=True)
class Planted:
    inside: dict[str, set[str]]  # node display name -> neighbour names planted in the window
    outside: dict[str, set[str]]  # node display name -> neighbour names planted days away
    decoys: set[str]  # names that contain a node's name but are other entities


def _uuid(prefix: str, i: int) -> str:
    return f"{prefix}-{i:08d}"


def plant(subgraph: pd.DataFrame) -> tuple[pd.DataFrame, Planted]:
    """Rows around each named node of ``subgraph`` (an edge list with epoch-ns times)."""
    times = subgraph["timestamp"].astype("int64")
    first, last = int(times.min()), int(times.max())
    rows, inside, outside, decoys = [], {}, {}, set()
    nodes = {}
    for side in ("subject", "object"):
        for uuid, kind, attr in subgraph[[f"{side}_uuid", f"{side}_type", f"{side}_attr"]].itertuples(index=False):
            if isinstance(attr, str) and attr.strip():
                nodes.setdefault((uuid, kind, attr), None)
    for n, (uuid, kind, attr) in enumerate(nodes):
        canon = canonical_kind(kind) or kind.lower()
        name = display_name(canon, attr)
        inside.setdefault(name, set())
        outside.setdefault(name, set())
        before, after, far = first - 7 * MINUTE - n * 1000, last + 9 * MINUTE + n * 1000, first - 3 * DAY
        p_uuid = _uuid("PLANTED-PROC", n)
        if canon == "flow":
            host = name
            client = f"/opt/planted/client{n}"
            rows.append((p_uuid, "SUBJECT_PROCESS", client, "EVENT_CONNECT", after, _uuid("PLANTED-FLOW", n), "NetFlowObject", f"10.200.0.9:4100->{host}:443"))
            rows.append((_uuid("FAR-PROC", n), "SUBJECT_PROCESS", f"/opt/far/client{n}", "EVENT_CONNECT", far, _uuid("FAR-FLOW", n), "NetFlowObject", f"10.200.0.9:4101->{host}:443"))
            inside[name].add(f"client{n}")
            outside[name].add(f"client{n}-far")
            rows[-1] = rows[-1][:2] + (f"/opt/far/client{n}-far",) + rows[-1][3:]
            continue
        if canon == "process":
            rows.append((uuid, kind, attr, "EVENT_CONNECT", after, _uuid("PLANTED-FLOW", n), "NetFlowObject", f"10.200.0.9:5{n % 1000:03d}->203.0.113.{n % 250 + 1}:8443"))
            rows.append((uuid, kind, attr, "EVENT_READ", before, _uuid("PLANTED-FILE", n), "FILE_OBJECT_FILE", f"/etc/planted/secret{n}.conf"))
            rows.append((uuid, kind, attr, "EVENT_READ", far, _uuid("FAR-FILE", n), "FILE_OBJECT_FILE", f"/etc/far/old{n}.conf"))
            inside[name] |= {f"203.0.113.{n % 250 + 1}", f"secret{n}.conf"}
            outside[name].add(f"old{n}.conf")
        else:
            rows.append((p_uuid, "SUBJECT_PROCESS", f"/tmp/.planted/reader{n}", "EVENT_READ", before, uuid, kind, attr))
            rows.append((_uuid("PLANTED-WRITER", n), "SUBJECT_PROCESS", f"/usr/bin/planted-writer{n}", "EVENT_WRITE", after, uuid, kind, attr))
            rows.append((_uuid("FAR-PROC", n), "SUBJECT_PROCESS", f"/usr/bin/far-reader{n}", "EVENT_READ", far, uuid, kind, attr))
            inside[name] |= {f"reader{n}", f"planted-writer{n}"}
            outside[name].add(f"far-reader{n}")
        # a decoy: another file whose name ends with this one's
        decoy = f"decoy{name}"
        rows.append((_uuid("DECOY-PROC", n), "SUBJECT_PROCESS", f"/usr/bin/decoy-user{n}", "EVENT_READ", after, _uuid("DECOY-FILE", n), "FILE_OBJECT_FILE", f"/var/decoy/{decoy}"))
        decoys |= {decoy, f"decoy-user{n}"}
    frame = pd.DataFrame(rows, columns=list(EDGE_COLUMNS))
    return frame, Planted(inside, outside, decoys)


def background(n: int, start: int, end: int, seed: int = 7) -> pa.Table:
    """``n`` unrelated edges with times uniform over [start, end), built without a Python loop."""
    rng = np.random.default_rng(seed)
    n_proc, n_file, n_flow = 2000, 50_000, 5000
    proc = rng.integers(0, n_proc, n)
    kind = rng.integers(0, 10, n)  # 0-6 files, 7-9 flows
    is_flow = kind >= 7
    obj = np.where(is_flow, rng.integers(0, n_flow, n), rng.integers(0, n_file, n))
    file_predicates = np.array(["EVENT_READ", "EVENT_WRITE", "EVENT_OPEN", "EVENT_CLOSE", "EVENT_MMAP", "EVENT_READ", "EVENT_OPEN"])
    flow_predicates = np.array(["EVENT_CONNECT", "EVENT_SENDTO", "EVENT_RECVFROM"])
    predicate_text = np.concatenate([file_predicates, flow_predicates])
    predicate_code = np.where(is_flow, 7 + rng.integers(0, 3, n), kind)
    times = np.sort(rng.integers(start, end, n, dtype=np.int64))

    def dictionary(codes: np.ndarray, values: list[str]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values, pa.string()))

    proc_uuid = [f"BG-PROC-{i:06d}" for i in range(n_proc)]
    proc_attr = [f"/usr/lib/bg/worker{i}" for i in range(n_proc)]
    file_uuid = [f"BG-FILE-{i:06d}" for i in range(n_file)]
    file_attr = [f"/var/lib/bg/d{i % 97}/data{i}.db" for i in range(n_file)]
    flow_uuid = [f"BG-FLOW-{i:06d}" for i in range(n_flow)]
    flow_attr = [f"10.1.{(i >> 8) & 255}.{i & 255}:{30000 + i % 1000}->192.0.2.{i % 200 + 1}:443" for i in range(n_flow)]
    obj_code = np.where(is_flow, n_file + obj, obj)
    return pa.table(
        {
            "subject_uuid": dictionary(proc, proc_uuid),
            "subject_type": dictionary(np.zeros(n, dtype=np.int64), ["SUBJECT_PROCESS"]),
            "subject_attr": dictionary(proc, proc_attr),
            "predicate": dictionary(predicate_code, predicate_text.tolist()),
            "timestamp": pa.array(times),
            "object_uuid": dictionary(obj_code, file_uuid + flow_uuid),
            "object_type": dictionary(is_flow.astype(np.int64), ["FILE_OBJECT_FILE", "NetFlowObject"]),
            "object_attr": dictionary(obj_code, file_attr + flow_attr),
        }
    )


def wide_log(subgraph: pd.DataFrame, n_background: int, seed: int = 7) -> tuple[pa.Table, Planted]:
    """The subgraph's edges + planted neighbourhoods + background, sorted by time."""
    planted, truth = plant(subgraph)
    times = subgraph["timestamp"].astype("int64")
    start, end = int(times.min()) - 4 * DAY, int(times.max()) + DAY
    own = pd.concat([subgraph[list(EDGE_COLUMNS)], planted], ignore_index=True)
    own["timestamp"] = own["timestamp"].astype("int64")
    own = own.fillna("")
    for column in EDGE_COLUMNS:
        if column != "timestamp":
            own[column] = own[column].astype(str)
    schema = pa.schema([(c, pa.int64() if c == "timestamp" else pa.string()) for c in EDGE_COLUMNS])
    table = pa.concat_tables(
        [pa.Table.from_pandas(own, preserve_index=False).cast(schema), background(n_background, start, end, seed).cast(schema)]
    )
    return table.sort_by("timestamp"), truth
