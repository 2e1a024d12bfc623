"""Context sections: the top IoCs of a subgraph, looked up in the host's wider log.

One neighbourhood query (``query.neighbourhood``) fetches every edge in the time window
that touches a top IoC; the rows go through the same ingest and condense as a subgraph,
so context rows read exactly like log rows (ids ``C1``...). Each IoC then gets what else
touched it before, during and after the subgraph's span, and what the detector missed:
the neighbours the subgraph does not name and the stages its context rows support that
the report does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..preprocess.condense import condense, distinct_minute_text
from ..errors import AptNarrateError, InputError, UsageError
from ..preprocess.ingest import IngestOptions, read_events
from ..wording import file_name_text
from . import query as q
from .pivot import MAX_NEIGHBOURS  # one cap for both lists of names
from .source import DEFAULT_MEMORY_LIMIT, connect, open_table, resolve_events, role_columns, unreadable_log

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts
    from ..models import Candidate, ContextInfo

CONTEXT_TYPES = ("ip", "process", "file")  # OCR-APT's IoC kinds: address, process, file
DEFAULT_TOP = 3
DEFAULT_WINDOW = "6h"
MAX_ROWS_PER_SECTION = 200  # a hub IoC may have thousands of rows; the counts stay exact
# What one wider-log row costs this process once fetched, read and condensed (2,395,869
# rows of a generated 10M-row log peaked at 2.07 GB, ~630 bytes a row past the engine's
# own scan): a context may fetch as many rows as --context-memory-limit holds at this cost.
BYTES_PER_FETCHED_ROW = 1000
# DuckDB's memory-limit forms: 4GB, 4GiB, and also 4G and 4gigabytes (decimal, as DuckDB reads them)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|[kmgt]|(?:kilo|mega|giga|tera)?bytes?|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "byte": 1, "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE_UNITS |= {short: _SIZE_UNITS[short + "b"] for short in "kmgt"}
_SIZE_UNITS |= {f"{word}{s}": _SIZE_UNITS[word[0] + "b"] for word in ("kilobyte", "megabyte", "gigabyte", "terabyte") for s in ("", "s")}
_PATH_TYPES = frozenset({"process", "file", "module", "directory"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_NS = {"s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}


@dataclass(frozen=True)
class ContextOptions:
    """``--context EVENTS`` and its settings. ``backend`` (library only) is an Ibis
    backend object to run on, e.g. ``ibis.pyspark.connect(session)``."""

    events: str
    top: int = DEFAULT_TOP
    window: str = DEFAULT_WINDOW
    engine: str | None = None  # an Ibis connection URL; None = DuckDB embedded
    memory_limit: str | None = None  # DuckDB's memory_limit, default 1GB
    backend: Any = None


MAX_WINDOW_NS = 100 * 365 * 86_400 * 10**9


def parse_window(text: str) -> int:
    """'90m', '6h', '2d', '3600' (seconds) -> nanoseconds."""
    match = _DURATION.match(text or "")
    if match is None:
        raise UsageError(f"invalid --context-window {text!r}", hint="a number with s, m, h or d, e.g. 30m or 6h")
    window = float(match.group(1)) * _UNIT_NS[match.group(2) or "s"]
    if not window <= MAX_WINDOW_NS:  # the padded span must stay within nanosecond timestamps' range
        raise UsageError(f"--context-window {text[:40]!r} is longer than 100 years", hint="a number with s, m, h or d, e.g. 30m or 6h")
    return int(window)


def top_iocs(facts: Facts, top: int) -> list[Candidate]:
    """The ``top`` best-ranked candidates of each context type, in rank order."""
    if top < 1:
        raise UsageError(f"--context-top must be at least 1, got {top}")
    chosen: list[Candidate] = []
    for kind in CONTEXT_TYPES:
        chosen += [c for c in facts.candidates if c.type == kind][:top]
    return sorted(chosen, key=lambda c: c.rank)


def top_iocs_across(subgraphs: Sequence[Facts], top: int) -> list[Candidate]:
    """For a host story over several subgraphs: the ``top`` highest-scoring distinct
    candidates of each context type across all of them, renumbered by score."""
    if top < 1:
        raise UsageError(f"--context-top must be at least 1, got {top}")
    chosen: list[Candidate] = []
    for kind in CONTEXT_TYPES:
        pool = sorted((c for f in subgraphs for c in f.candidates if c.type == kind), key=lambda c: (-c.score, c.rank, c.value))
        seen: set[str] = set()
        for candidate in pool:
            if candidate.value not in seen and len(seen) < top:
                seen.add(candidate.value)
                ids = sorted({i for f in subgraphs for c in f.candidates if c.value == candidate.value for i in c.entity_ids})
                chosen.append(candidate.model_copy(update={"entity_ids": ids}))
    chosen.sort(key=lambda c: (-c.score, c.value))
    return [c.model_copy(update={"rank": i + 1}) for i, c in enumerate(chosen)]


def extract_context(
    facts: Facts | Sequence[Facts], ingest: IngestOptions, options: ContextOptions, report_stages: tuple[str, ...] = ()
) -> ContextInfo:
    """Query the wider log for the top IoCs and build the report's context part.

    ``facts`` is one subgraph's, or (for a host story) a sequence of subgraphs' facts:
    then the top IoCs are taken across them and the window spans them all.
    """
    from ..models import ContextInfo

    subgraphs = list(facts) if isinstance(facts, (list, tuple)) else [facts]
    if not subgraphs:
        raise UsageError("no subgraph to take context for")
    iocs = top_iocs(subgraphs[0], options.top) if len(subgraphs) == 1 else top_iocs_across(subgraphs, options.top)
    pad = parse_window(options.window)
    table = subgraphs[0].timeline.table
    first = min(int(f.timeline.table.events["time"].min()) for f in subgraphs)
    last = max(int(f.timeline.table.events["time"].max()) for f in subgraphs)
    window = q.make_window(first, last, pad, table.timezone, ingest.input_timezone)
    shown = _wall_text(np.array([window.start_utc_ns, window.end_utc_ns]), table.timezone, window)
    if not iocs:
        info = dict(source=file_name_text(options.events), engine="not queried", window_start=shown[0], window_end=shown[1])
        return ContextInfo(**info, rows_read=0, rows=[], sections=[], notes=["no address, process or file IoC to look up"])
    names = sorted({(name, c.type in _PATH_TYPES) for c in iocs for name in pivot_names(c)})
    ids = sorted({i for c in iocs for i in c.entity_ids if i})
    frame, engine, _ = query_rows(options, ingest, window, names, ids)
    info = dict(source=file_name_text(options.events), engine=engine, window_start=shown[0], window_end=shown[1])
    if len(frame) == 0:
        sections = [_empty_section(c) for c in iocs]
        return ContextInfo(**info, rows_read=0, rows=[], sections=sections, notes=["no context row in the window"])
    return _build(subgraphs, ingest, iocs, frame, report_stages, info, first, last)


def query_rows(options: ContextOptions, ingest: IngestOptions, window: q.Window, names, ids, limit: int | None = None,
               count_more: bool = True):
    """The neighbourhood rows of ``names`` ((name, path-like) pairs) and ``ids`` in the
    window, as a DataFrame of edge-list columns, the engine's description and how many
    rows match. With ``limit``, only the earliest ``limit`` (and one more, which says there
    are more) are fetched, and the engine counts the rows only when there are more (an
    entity of millions of rows is not loaded to list a few hundred). ``count_more=False``:
    not even then (the count given is ``limit + 1``: "more than ``limit``")."""
    source = _days_needed(resolve_events(options.events, options.engine), window)
    backend = options.backend if options.backend is not None else connect(options.engine, options.memory_limit)
    wide = open_table(backend, source)
    roles = role_columns(wide, dict(ingest.columns), options.events)
    time_kind, unit = q.timestamp_reading(wide, roles["timestamp"], ingest.epoch_unit, options.events)
    try:
        expr = q.neighbourhood(wide, roles, names, ids, window, time_kind, unit)
        total = None
        if limit is None:  # every row is needed (the counts): no more than the memory limit holds
            try:
                frame = q.fetch(expr, max_rows=most_rows(options))
            except q.TooManyRows:
                total = q.count(expr)
                raise InputError(
                    f"{total} rows of the context log in the window may name the top IoCs; --context-memory-limit "
                    f"{options.memory_limit or DEFAULT_MEMORY_LIMIT} holds {most_rows(options)} "
                    f"(about {BYTES_PER_FETCHED_ROW} bytes a row)",
                    path=options.events,
                    hint="narrow --context-window, lower --context-top, or raise --context-memory-limit",
                ) from None
        else:
            # one query where it can serve: one row past the limit says whether there are
            # more; only then does the engine count them (a second scan)
            frame = q.fetch(expr, limit + 1)
            if len(frame) > limit:
                total = q.count(expr) if count_more else len(frame)
                frame = frame.iloc[:limit].reset_index(drop=True)
    except AptNarrateError:
        raise
    except Exception as exc:  # the engine's own error for a value it cannot cast ("not-a-time", a 20-digit epoch)
        raise unreadable_log(
            exc, options.events, hint="every row's timestamp must be an integer epoch or a time the engine can cast"
        ) from None
    return frame, q.describe_engine(backend), len(frame) if total is None else total


def most_rows(options: ContextOptions) -> int:
    """How many wider-log rows a context may fetch: what ``--context-memory-limit`` (DuckDB's
    syntax, default 1GB) holds at ``BYTES_PER_FETCHED_ROW``; the default's for a limit in
    another form (an engine of one's own may take other settings)."""
    match = _SIZE.match(options.memory_limit or "")
    text = match.group(1) if match else "1"
    unit = (match.group(2) or "b").lower() if match else "gb"
    return max(int(float(text) * _SIZE_UNITS[unit]) // BYTES_PER_FETCHED_ROW, 1)


def _days_needed(source, window: q.Window):
    """Of a day-partitioned log (``aptnarrate index``), only the days the window touches."""
    from .index import days_of

    days = days_of(source.files)
    if not days or len(days) != len(source.files):
        return source
    import pandas as pd

    first = (pd.Timestamp(window.start_utc_ns) - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    last = (pd.Timestamp(window.end_utc_ns) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    kept = tuple(f for f in source.files if first <= days[f] <= last)
    # no file in the window: keep one so the engine still sees the columns (it finds no row)
    return replace(source, files=kept or source.files[:1])


def _wall_text(utc_ns: np.ndarray, zone: str, window: q.Window) -> list[str]:
    if zone == "as written":
        return [window.start_wall.strftime("%Y-%m-%d %H:%M"), window.end_wall.strftime("%Y-%m-%d %H:%M")]
    import pandas as pd

    stamps = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]"), tz="UTC").tz_convert(zone)
    return [s.strftime("%Y-%m-%d %H:%M") for s in stamps]


def _empty_section(candidate: Candidate):
    from ..models import ContextSection

    return ContextSection(
        ioc=candidate.value, type=candidate.type, rank=candidate.rank, rows=[], before=0, during=0, after=0,
        in_subgraph=0, neighbours=[], missed_entities=[], missed_stages=[],
    )


def pivot_names(candidate: Candidate) -> list[str]:
    """The entity names to look up for an IoC: its own name, or, for a sweep's row (named
    after the subnet), the hosts it reached."""
    if "swept" in candidate.features:
        return [v for v in candidate.full_values if v]
    return [candidate.value] if candidate.value else []


def _touching(triples, candidate: Candidate) -> tuple[np.ndarray, np.ndarray]:
    """Masks over triples: the IoC is the subject / the object (by displayed name or id)."""
    ids = set(candidate.entity_ids)
    names = pivot_names(candidate)
    subject = np.isin(triples["subject_name"], list(names)) | np.isin(triples["subject_id"], list(ids))
    obj = np.isin(triples["object_name"], list(names)) | np.isin(triples["object_id"], list(ids))
    return subject, obj


def _build(subgraphs, ingest, iocs, frame, report_stages, info, first, last) -> ContextInfo:
    from ..backends.offline import OfflineNarrator
    from ..preprocess.facts import compute_facts
    from ..models import ContextInfo, ContextRow, ContextSection

    name = f"context:{info['source']}"
    options = replace(ingest, input_format="edges", columns={}, strict=False)
    parsed = read_events(frame, options, name=name)
    # exact match on the parsed rows: the query's substring test is a superset
    touches = np.zeros(len(parsed.triples), dtype=bool)
    for candidate in iocs:
        subject, obj = _touching(parsed.triples, candidate)
        touches |= subject | obj
    keep = touches[parsed.events["triple"]]
    rows_read = len(frame)
    if not keep.any():
        return ContextInfo(**info, rows_read=rows_read, rows=[], sections=[_empty_section(c) for c in iocs],
                           notes=["no context row names a top IoC"])
    parsed = read_events(frame.iloc[np.flatnonzero(keep)].reset_index(drop=True), options, name=name)
    timeline = condense(parsed)
    context_facts = compute_facts(timeline, internal_networks=subgraphs[0].internal_networks)
    context_stages = OfflineNarrator().narrate(context_facts).narration.stages

    log, descriptions = timeline.log, timeline.descriptions
    ids = np.array(["C" + i[1:] for i in timeline.ids.tolist()], dtype=object)  # L7 -> C7
    in_subgraph_keys: set = set()
    sub_names: set = set()
    for facts in subgraphs:
        sub_log = facts.timeline.log
        sub_text = facts.timeline.descriptions["text"][sub_log["description"]]
        in_subgraph_keys |= set(zip(sub_log["minute"].tolist(), sub_text.tolist()))
        sub_names |= set(facts.timeline.table.triples["subject_name"]) | set(facts.timeline.table.triples["object_name"])
    text = descriptions["text"][log["description"]]
    in_subgraph = np.array([(m, t) in in_subgraph_keys for m, t in zip(log["minute"].tolist(), text.tolist())], dtype=bool)
    start = log["first_time"]
    when = np.where(start < first - first % 60_000_000_000, "before", np.where(start > last, "after", "during"))
    stage_rows = {s.stage: {"C" + e[1:] for e in s.evidence} for s in context_stages}

    event_triple = parsed.events["triple"]
    event_entry = timeline.event_log
    triples = parsed.triples
    sections, cited = [], set()
    for candidate in iocs:
        subject, obj = _touching(triples, candidate)
        on_rows = (subject | obj)[event_triple]
        entries = np.unique(event_entry[on_rows])
        fresh = entries[~in_subgraph[entries]]
        listed = fresh[:MAX_ROWS_PER_SECTION]
        cited.update(listed.tolist())
        # neighbours: the other side of each edge, most frequent first
        other = np.concatenate([
            triples["object_name"][subject & ~obj],
            triples["subject_name"][obj & ~subject],
        ])
        weights = np.concatenate([
            np.bincount(event_triple[on_rows], minlength=len(triples))[subject & ~obj],
            np.bincount(event_triple[on_rows], minlength=len(triples))[obj & ~subject],
        ])
        counts: dict[str, int] = {}
        for value, weight in zip(other.tolist(), weights.tolist()):
            if value and value != candidate.value and weight:
                counts[value] = counts.get(value, 0) + weight
        neighbours = sorted(counts, key=lambda v: (-counts[v], v))
        row_ids = set(ids[fresh].tolist())
        missed_stages = [s for s, rows in stage_rows.items() if rows & row_ids and s not in report_stages]
        sections.append(ContextSection(
            ioc=candidate.value,
            type=candidate.type,
            rank=candidate.rank,
            rows=ids[listed].tolist(),
            before=int((when[fresh] == "before").sum()),
            during=int((when[fresh] == "during").sum()),
            after=int((when[fresh] == "after").sum()),
            in_subgraph=int(len(entries) - len(fresh)),
            neighbours=neighbours[:MAX_NEIGHBOURS],
            missed_entities=[n for n in neighbours if n not in sub_names][:MAX_NEIGHBOURS],
            missed_stages=missed_stages,
        ))
    order = sorted(cited)
    codes, minutes = distinct_minute_text(log["minute"][order])
    rows = [
        ContextRow(
            id=ids[p],
            minute=minutes[codes[k]],
            when=when[p],
            subject_kind=descriptions["subject_kind"][d],
            subject_name=descriptions["subject_name"][d],
            action=descriptions["action"][d],
            object_kind=descriptions["object_kind"][d],
            object_name=descriptions["object_name"][d],
            count=int(log["count"][p]),
            text=text[p],
        )
        for k, p in enumerate(order)
        for d in [int(log["description"][p])]
    ]
    notes = [f"{int(keep.sum())} of {rows_read} rows returned name a top IoC exactly"]
    return ContextInfo(**info, rows_read=rows_read, rows=rows, sections=sections, notes=notes)
