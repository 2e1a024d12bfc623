"""Views of a Report that several renderers share: the log rows, full values by name,
the entity graph and the per-minute activity. Pure functions of the Report.

The log is read only through ``log_rows`` (iteration), so a columnar ``Report.log``
needs no change here.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..rules.attack import Tactic, is_technique_id, tactic_for_stage
from ..models import LogEntry, Report

LIKELIHOOD_ORDER = {"low": 1, "moderate": 2, "high": 3}
# how every format marks a stage only the narrator (a model) claims (``found_by_rules`` False)
NARRATOR_ALONE = "the narrator's judgment alone: no offline rule found it"


def inert_json(data, indent: int | None = 2) -> str:
    """JSON that stays inert wherever it is pasted: ASCII only (control and bidi characters
    become \\u escapes) and ``<``, ``>``, ``&`` escaped too, so it cannot end a <script>
    element or start markup. Parses back to exactly ``data``."""
    separators = None if indent else (",", ":")
    text = json.dumps(data, ensure_ascii=True, indent=indent, separators=separators)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def log_rows(report: Report) -> Iterator[LogEntry]:
    """Every log row in order (objects with LogEntry's attributes). From a columnar log,
    light views of its columns: a LogEntry per row (pydantic's model_construct and the
    row's lines and entity ids) cost 50 µs, 12 s of a 1M-event report's HTML page."""
    from ..preprocess.logtable import LogTable

    log = report.log
    return _row_views(log) if isinstance(log, LogTable) else iter(log)


class _RowView:
    """One row of a LogTable with LogEntry's attributes; its input lines and entity ids
    (which no renderer here reads) are taken from the table when asked for."""

    __slots__ = ("_log", "_at", "id", "minute", "subject_kind", "subject_name", "action", "object_kind", "object_name", "count", "text")

    def __init__(self, log, at, *values) -> None:
        self._log, self._at = log, at
        (self.id, self.minute, self.subject_kind, self.subject_name, self.action, self.object_kind,
         self.object_name, self.count, self.text) = values  # fmt: skip

    @property
    def lines(self) -> list[int]:
        return self._log[self._at].lines

    @property
    def subject_ids(self) -> list[str]:
        return self._log[self._at].subject_ids

    @property
    def object_ids(self) -> list[str]:
        return self._log[self._at].object_ids


def _row_views(log) -> Iterator[_RowView]:
    from ..preprocess.logtable import DESCRIPTION_FIELDS

    ids, minutes = log.id_list(), log.minute_texts
    subject_kinds, subject_names, actions, object_kinds, object_names, texts = (log.descriptions[f] for f in DESCRIPTION_FIELDS)
    counts = log.counts.tolist()
    for at, (m, d) in enumerate(zip(log.minute_codes.tolist(), log.description_codes.tolist())):
        yield _RowView(
            log, at, ids[at], minutes[m], subject_kinds[d], subject_names[d], actions[d], object_kinds[d], object_names[d], counts[at], texts[d]
        )


def log_columns(report: Report, *names: str) -> list[list[str]]:
    """Columns of the report's log (``id``, ``minute`` or a description field), one value
    per row: ``log_rows`` by column, for a caller that reads a few fields of every row (a
    1M-event subgraph's 238,000 LogEntry objects took 8 s, three passes per story)."""
    from ..preprocess.logtable import LogTable

    log = report.log
    if not isinstance(log, LogTable):  # a plain list of entries (a Report built by hand)
        return [[getattr(entry, name) for entry in log] for name in names]
    columns = []
    for name in names:
        if name == "id":
            columns.append(log.id_list())
        elif name == "minute":
            columns.append(log.minutes().tolist())
        else:
            columns.append(log.column(name).tolist())
    return columns


def full_value_index(report: Report) -> dict[str, list[str]]:
    """IoC name -> the full values (paths, ip:port, keys) behind it that differ from it."""
    index: dict[str, list[str]] = {}
    for entry in report.iocs:
        extra = [v for v in entry.full_values if v and v != entry.value]
        if extra:
            known = index.setdefault(entry.value, [])
            known.extend(v for v in extra if v not in known)
    return index


def stage_attack(report: Report) -> list[tuple[object, Tactic, list[str]]]:
    """(stage finding, its ATT&CK tactic, its valid technique ids) for every stage."""
    return [
        (finding, tactic_for_stage(finding.stage, finding.tactic), [t for t in finding.techniques if is_technique_id(t)])
        for finding in report.stages
    ]


# --------------------------------------------------------------------------- entity graph


@dataclass
class Node:
    id: str
    kind: str
    name: str  # "" for an unnamed entity
    rows: int = 0  # log rows it takes part in
    row_ids: list[str] = field(default_factory=list)  # the first ``ROW_IDS_KEPT`` of them
    likelihood: str | None = None  # set when the entity is a listed IoC
    full_values: list[str] = field(default_factory=list)
    first_row: str = ""

    @property
    def label(self) -> str:
        return self.name or f"(unnamed {self.kind})"


@dataclass
class Edge:
    source: str
    target: str
    action: str
    count: int = 0  # event-seconds
    rows: list[str] = field(default_factory=list)  # log row ids (the first ``ROW_IDS_KEPT``)
    row_count: int = 0


ROW_IDS_KEPT = 20


@dataclass
class EntityGraph:
    nodes: list[Node]
    edges: list[Edge]
    total_nodes: int
    total_edges: int

    @property
    def truncated(self) -> bool:
        return len(self.nodes) < self.total_nodes or len(self.edges) < self.total_edges

    def note(self) -> str:
        if not self.truncated:
            return ""
        return (
            f"showing {len(self.nodes)} of {self.total_nodes} entities and {len(self.edges)} of "
            f"{self.total_edges} links (listed IoCs first, then the most active entities)"
        )


def entity_graph(report: Report, max_nodes: int = 150, max_edges: int = 600) -> EntityGraph:
    """Entities (by kind and name) linked by their actions, bounded to ``max_nodes``
    entities: every listed IoC first, then the entities in the most log rows."""
    iocs = {entry.value: entry for entry in report.iocs}
    full = full_value_index(report)
    nodes: dict[tuple[str, str], Node] = {}
    edges: dict[tuple[str, str, str], Edge] = {}

    def node(kind: str, name: str, row_id: str) -> Node:
        key = (kind, name)
        found = nodes.get(key)
        if found is None:
            found = nodes[key] = Node(id=f"n{len(nodes)}", kind=kind, name=name, first_row=row_id)
            if name in iocs:
                found.likelihood = iocs[name].likelihood
                found.full_values = full.get(name, [])
        found.rows += 1
        if len(found.row_ids) < ROW_IDS_KEPT and (not found.row_ids or found.row_ids[-1] != row_id):
            found.row_ids.append(row_id)
        return found

    for row in log_rows(report):
        subject = node(row.subject_kind, row.subject_name, row.id)
        obj = node(row.object_kind, row.object_name, row.id)
        key = (subject.id, obj.id, row.action)
        edge = edges.get(key)
        if edge is None:
            edge = edges[key] = Edge(subject.id, obj.id, row.action)
        edge.count += row.count
        edge.row_count += 1
        if len(edge.rows) < ROW_IDS_KEPT:
            edge.rows.append(row.id)

    ranked = sorted(
        nodes.values(), key=lambda n: (-LIKELIHOOD_ORDER.get(n.likelihood or "", 0), -n.rows, int(n.id[1:]))
    )
    kept = {n.id for n in ranked[:max_nodes]}
    kept_edges = [e for e in edges.values() if e.source in kept and e.target in kept]
    kept_edges.sort(key=lambda e: -e.row_count)
    kept_edges = kept_edges[:max_edges]
    return EntityGraph(
        nodes=[n for n in nodes.values() if n.id in kept],
        edges=kept_edges,
        total_nodes=len(nodes),
        total_edges=len(edges),
    )


# --------------------------------------------------------------------------- activity


def action_counts_by_minute(report: Report) -> dict[tuple[str, str], int]:
    """(minute, action) -> event-seconds."""
    counts: Counter = Counter()
    for row in log_rows(report):
        counts[(row.minute, row.action)] += row.count
    return dict(counts)


def stage_minutes(report: Report) -> dict[str, set[str]]:
    """Stage name -> the minutes of the log rows it cites."""
    minute_of = {row.id: row.minute for row in log_rows(report)}
    out: dict[str, set[str]] = defaultdict(set)
    for finding in report.stages:
        out[finding.stage].update(minute_of[r] for r in finding.evidence if r in minute_of)
    return dict(out)
