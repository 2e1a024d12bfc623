"""``aptnarrate pivot``: the deterministic answer to "what touched this entity?".

From a saved report: its log rows and context rows that name the entity (as subject or
object). With ``--context``: the entity's rows in the wider log, within a window around
the report's time span, through the same query, ingest and condense as ``--context``.
No model is involved.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from dataclasses import dataclass, field
from collections.abc import Container, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InputError, UsageError
from ..render.escape import code, plain
from ..wording import file_name_text

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.ingest import IngestOptions
    from ..models import Report
    from .extract import ContextOptions

PATH_KINDS = frozenset({"process", "file", "module", "directory", "link"})
# An entity as common as a system service matches hundreds of thousands of wider-log rows
# in a window (707,293 of a generated 10M-row log: 110k condensed rows, 777 MB). The
# engine counts them all; only the earliest MAX_WIDER_FETCH are fetched, and at most
# MAX_WIDER_ROWS condensed rows of them listed, the rest counted in the notes.
MAX_WIDER_FETCH = 50_000
MAX_WIDER_ROWS = 500
# The saved report's own rows are listed the same way: a hub of a large report (a process
# behind most of a 1M-row subgraph's 237k log rows) is counted whole, but at most
# MAX_REPORT_ROWS rows of each of its sources (log, context) and MAX_NEIGHBOURS names
# (the most frequent) are listed, the rest counted in the notes.
MAX_REPORT_ROWS = 500
MAX_NEIGHBOURS = 50  # names listed per entity, here and in a context section (``extract`` reads it)


@dataclass(frozen=True)
class PivotRow:
    id: str  # L… (report log), C… (report context) or W… (wider log, this pivot)
    minute: str
    text: str
    count: int
    role: str  # "subject" or "object": the entity's side of the event
    source: str  # "report", "report context" or "wider log"
    subject: str = ""
    object: str = ""
    subject_kind: str = ""
    object_kind: str = ""
    action: str = ""


@dataclass(frozen=True)
class Pivot:
    entity: str
    kinds: tuple[str, ...]
    rows: tuple[PivotRow, ...]  # the rows listed (at most MAX_REPORT_ROWS / MAX_WIDER_ROWS per source)
    neighbours: tuple[str, ...]  # the names listed, most frequent first (at most MAX_NEIGHBOURS)
    notes: tuple[str, ...] = field(default=())
    found: tuple[tuple[str, int], ...] = field(default=())  # (source, rows naming it there), listed or not
    neighbours_found: int = 0  # names it touched or was touched by, listed or not

    def to_json(self) -> str:
        return json.dumps(
            {
                "entity": self.entity,
                "kinds": list(self.kinds),
                "neighbours": list(self.neighbours),
                "neighbours_found": self.neighbours_found,
                "rows": [r.__dict__ for r in self.rows],
                "rows_found": dict(self.found),
                "notes": list(self.notes),
            },
            indent=2,
        ) + "\n"

    def to_markdown(self) -> str:
        out = [f"# What touched {code(self.entity, in_table=False)}"]  # no table here: a `\|` would show its backslash
        if not self.rows:
            out.append("No row names it.")
        else:
            listed: dict[str, int] = {}
            for row in self.rows:
                listed[row.source] = listed.get(row.source, 0) + 1
            out.append(", ".join(
                f"{n} row(s) from the {s}" + (f" ({listed.get(s, 0)} listed)" if listed.get(s, 0) < n else "")
                for s, n in (self.found or tuple(listed.items())) if n
            ) + ".")
            if self.neighbours:
                more = self.neighbours_found - len(self.neighbours)
                out.append("Touched by or touching: " + ", ".join(code(n, in_table=False) for n in self.neighbours)
                           + (f", and {more} more name(s) (see the notes)" if more > 0 else "") + ".")
            table = ["| Row | Timestamp | Source | Action Description |", "|-----|-----------|--------|--------------------|"]
            table += [
                f"| {plain(r.id)} | {plain(r.minute)} | {r.source} | {plain(r.text)}{f' ({r.count} times)' if r.count > 1 else ''} |"
                for r in self.rows
            ]
            out.append("\n".join(table))
        out.extend(f"Note: {plain(n)}" for n in self.notes)
        return "\n\n".join(out) + "\n"


def _naming_rows(report: Report, entities: Container[str]) -> Iterator[tuple[str, Any, str, str, str, str]]:
    """The rows of the report's log, then of its context, that name one of ``entities``:
    (source, row, role, name, kind, other side's name), once per entity a row names, on the
    first side that names it. ``pivot`` and ``wider_rows`` read an entity's kinds and ids
    from the same rows. The log's rows are views of its columns: a row's entity ids are
    read only when it matches."""
    from ..render.views import log_rows

    sources = [("report", log_rows(report))]
    if report.context is not None:
        sources.append(("report context", report.context.rows))
    for source, rows in sources:
        for row in rows:
            seen = set()
            for role, name, kind, other in (
                ("subject", row.subject_name, row.subject_kind, row.object_name),
                ("object", row.object_name, row.object_kind, row.subject_name),
            ):
                if name in entities and name not in seen:
                    seen.add(name)
                    yield source, row, role, name, kind, other


def pivot(
    report: Report, entity: str, context: ContextOptions | None = None, ingest: IngestOptions | None = None, *, source: str | None = None
) -> Pivot:
    """Rows about ``entity`` (a name as the report shows it) from the report and the wider log.
    ``source``: the saved report's path, which an error about the report names."""
    if not entity.strip():
        raise UsageError("ENTITY is empty: give a name as the report shows it (a file, process or address)")
    # a byte that is not UTF-8 (argv keeps it as a lone surrogate) reads as U+FFFD, as every
    # name the tool shows does: the report's and the wider log's names hold U+FFFD there, so
    # it is also what matches them (the surrogate showed as a \udcff escape and, with
    # --context, made the engine refuse the query as if the log were broken)
    entity = file_name_text(entity)
    rows: list[PivotRow] = []
    kinds: list[str] = []
    ids: set[str] = set()
    neighbours: dict[str, int] = {}
    found: dict[str, int] = {}

    def note(kind: str, other: str, weight: int) -> None:
        if kind not in kinds:
            kinds.append(kind)
        if other and other != entity:
            neighbours[other] = neighbours.get(other, 0) + weight

    def add(source: str, row_id: str, minute: str, text: str, count: int, role: str, subject: str, obj: str,
            subject_kind: str, object_kind: str, action: str) -> None:
        # every row naming it is counted (and its neighbour weighed); the first
        # MAX_REPORT_ROWS of each source are listed
        found[source] = found.get(source, 0) + 1
        if found[source] <= MAX_REPORT_ROWS:
            rows.append(PivotRow(row_id, minute, text, count, role, source, subject, obj, subject_kind, object_kind, action))

    for source_name, row, role, _name, kind, other in _naming_rows(report, {entity}):
        add(source_name, row.id, row.minute, row.text, row.count, role, row.subject_name,
            row.object_name, row.subject_kind, row.object_kind, row.action)
        if source_name == "report":  # a context row's entity ids are the wider log's own
            ids.update(row.subject_ids if role == "subject" else row.object_ids)
        note(kind, other, row.count)
    notes = [f"{n} rows of the {source} name it; the first {MAX_REPORT_ROWS} are listed (the names it touched are "
             "counted over all of them)" for source, n in found.items() if n > MAX_REPORT_ROWS]
    if context is not None:
        wider, wider_notes, wider_found = _wider_rows(report, entity, kinds, sorted(ids), context, ingest, source)
        for row, kind, other in wider:
            rows.append(row)
            note(kind, other, row.count)
        notes.extend(wider_notes)
        if wider_found:
            found["wider log"] = wider_found
    ordered = sorted(neighbours, key=lambda n: (-neighbours[n], n))
    if len(ordered) > MAX_NEIGHBOURS:
        notes.append(f"{len(ordered)} names touched it or were touched by it; the {MAX_NEIGHBOURS} most frequent are listed")
    return Pivot(entity=entity, kinds=tuple(kinds), rows=tuple(rows), neighbours=tuple(ordered[:MAX_NEIGHBOURS]),
                 notes=tuple(notes), found=tuple(found.items()), neighbours_found=len(ordered))


def _report_span(report: Report, source: str | None) -> tuple[int, int]:
    """The saved report's span, first to last minute (wall-clock ns in its zone), to look
    around in the wider log. A hand-edited minute that is no time of the range ingest
    reads, or a zone this machine does not know, is an input error naming the report:
    both were internal errors (pandas' and zoneinfo's own exceptions)."""
    from ..preprocess.ingest import FIRST_NS, LAST_NS
    from ..render.views import log_columns

    epoch = datetime(1970, 1, 1)
    values = []
    for minute in sorted(set(log_columns(report, "minute")[0])):  # each distinct minute once
        try:
            value = (datetime.strptime(minute, "%Y-%m-%d %H:%M") - epoch) // timedelta(microseconds=1) * 1000
        except ValueError:
            value = None
        if value is None or not FIRST_NS <= value <= LAST_NS:
            raise InputError(
                f"the report's log minute {minute[:40]!r} is not a time from 1677-09-23 to 2262-04-09 (YYYY-MM-DD HH:MM)",
                path=source,
                hint="pivot searches the wider log around the report's span; regenerate the report",
            )
        values.append(value)
    zone = report.metadata.timezone
    if zone != "as written":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
            raise InputError(f"the report's time zone {zone[:60]!r} is not a zone this machine knows", path=source,
                             hint="pivot reads the report's minutes in its zone; regenerate the report") from None
    return min(values), max(values) + 59 * 10**9



def wider_rows(report: Report, entities: list[str], context: ContextOptions, ingest: IngestOptions | None = None, *,
               source: str | None = None) -> dict[str, list[PivotRow]]:
    """Each entity's wider-log rows, as ``pivot(report, entity, context)`` lists them, from
    one engine query for them all (``ask --context`` pivots up to five entities): one pass
    over the report for their kinds and ids, one query, one ingest of the rows fetched.
    Where the rows of them all are more than ``MAX_WIDER_FETCH``, the earliest of the union
    are not each one's earliest: then each is queried on its own, as ``pivot`` does."""
    shown = {e: file_name_text(e) for e in entities}  # each as pivot reads its ENTITY; the answer keyed as given
    entities = list(dict.fromkeys(shown.values()))
    kinds: dict[str, list[str]] = {e: [] for e in entities}
    ids: dict[str, set[str]] = {e: set() for e in entities}
    for source_name, row, role, name, kind, _other in _naming_rows(report, kinds):
        if kind not in kinds[name]:
            kinds[name].append(kind)
        if source_name == "report":
            ids[name].update(row.subject_ids if role == "subject" else row.object_ids)
    found = _wider_rows_of(report, [(e, kinds[e], sorted(ids[e])) for e in entities], context, ingest, source)
    return {given: [row for row, _, _ in found[name][0]] for given, name in shown.items()}


def _wider_rows(report, entity, kinds, ids, context, ingest, source=None):
    """The entity's condensed rows in the wider log, around the report's time span (at most
    MAX_WIDER_ROWS listed), the notes, and how many condensed rows were found."""
    return _wider_rows_of(report, [(entity, kinds, ids)], context, ingest, source)[entity]


def _wider_rows_of(report, targets, context, ingest, source=None) -> dict:
    """``_wider_rows`` of each (entity, kinds, ids) of ``targets``, from one query for them
    all; each target on its own query where the union's rows were cut at MAX_WIDER_FETCH."""
    import numpy as np

    from ..preprocess.ingest import IngestOptions, check_options, read_events
    from . import query as q
    from .extract import parse_window, query_rows

    ingest = ingest or IngestOptions()
    check_options(ingest)  # --input-timezone is read below, before any ingest would check it
    if not report.log:
        return {entity: ([], ["the report has no log rows: no time span to search around"], 0) for entity, _, _ in targets}
    first, last = _report_span(report, source)
    zone = report.metadata.timezone
    window = q.make_window(first, last, parse_window(context.window), zone, ingest.input_timezone)
    names = [(entity, not kinds or any(k in PATH_KINDS for k in kinds)) for entity, kinds, _ in targets]
    every_id = sorted({i for _, _, ids in targets for i in ids})
    # several targets: a union cut at the limit is queried again target by target, so its count is not needed
    frame, engine, total = query_rows(context, ingest, window, names, every_id, limit=MAX_WIDER_FETCH, count_more=len(targets) == 1)
    cut = len(frame) < total
    if cut and len(targets) > 1:
        return {target[0]: _wider_rows_of(report, [target], context, ingest, source)[target[0]] for target in targets}
    shown_source = file_name_text(context.events)
    if len(targets) > 1:
        first_note = f"{total} rows read from {shown_source} ({engine}), in one query for {len(targets)} entities"
    elif cut:
        first_note = (f"{total} rows of {shown_source} in the window may name it ({engine}); only the earliest "
                      f"{len(frame)} were read, to bound the work (the names it touched are those of the rows "
                      "listed): narrow --context-window to see later ones")
    else:
        first_note = f"{total} rows read from {shown_source} ({engine})"
    if len(frame) == 0:
        return {entity: ([], [first_note], 0) for entity, _, _ in targets}
    options = IngestOptions(input_format="edges", timezone=ingest.timezone if zone == "as written" else zone,
                            epoch_unit=ingest.epoch_unit, input_timezone=ingest.input_timezone)
    table = read_events(frame, options, name=f"context:{context.events}")
    triples = table.triples
    out = {}
    for entity, _, ids in targets:
        subject = (triples["subject_name"] == entity) | np.isin(triples["subject_id"], list(ids))
        obj = (triples["object_name"] == entity) | np.isin(triples["object_id"], list(ids))
        keep = (subject | obj)[table.events["triple"]]
        notes = [first_note]
        if not keep.any():
            out[entity] = ([], notes, 0)
            continue
        rows = read_events(frame.iloc[np.flatnonzero(keep)].reset_index(drop=True), options, name=f"context:{context.events}")
        listed, found = _condensed_rows(rows, entity, cut, notes)
        out[entity] = (listed, notes, found)
    return out


def _condensed_rows(table, entity: str, cut: bool, notes: list[str]):
    """The entity's rows of ``table`` condensed (at most MAX_WIDER_ROWS listed, a note when
    more) as (row, the entity's kind, the other side's name), and how many were found."""
    import numpy as np

    from ..preprocess.condense import condense, distinct_minute_text

    timeline = condense(table)
    log, descriptions = timeline.log, timeline.descriptions
    positions = np.arange(len(log))
    if cut:  # the last minute read may go on past the rows read: its counts would be short
        positions = positions[log["minute"] < log["minute"].max()]
    found = len(positions)
    if len(positions) > MAX_WIDER_ROWS:
        notes.append(f"{len(positions)} condensed rows found in the rows read; the first {MAX_WIDER_ROWS} are listed "
                     "(the names it touched are those of the rows listed)")
        positions = positions[:MAX_WIDER_ROWS]
    codes, texts = distinct_minute_text(log["minute"][positions])
    out = []
    for k, position in enumerate(positions.tolist()):
        d = int(log["description"][position])
        role = "subject" if descriptions["subject_name"][d] == entity else "object"
        other = descriptions["object_name" if role == "subject" else "subject_name"][d]
        row = PivotRow("W" + str(position + 1), texts[codes[k]], descriptions["text"][d],
                       int(log["count"][position]), role, "wider log", *(descriptions[c][d] for c in
                       ("subject_name", "object_name", "subject_kind", "object_kind", "action")))
        out.append((row, descriptions[f"{role}_kind"][d], other))
    return out, found
