"""render_markdown(report) -> str, in the layout of OCR-APT's reports.

Pure: reads only the report. Every name from the input goes through ``escape.code`` and
every narrator sentence through ``escape.prose``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from .context import render_context
from ..preprocess.logtable import DESCRIPTION_FIELDS, LogTable
from ..models import APT_STAGES, LogEntry, Report
from .escape import code, plain, prose
from .rows import coded, take_rows
from .views import NARRATOR_ALONE, full_value_index

_LIKELIHOOD = {"low": "Low", "moderate": "Moderate", "high": "High"}
_STAGE_PATTERN = re.compile(
    r"(?<!\*\*)\b(" + "|".join(re.escape(s) for s in APT_STAGES) + r")\b(?!\*\*)", re.IGNORECASE
)


def render_markdown(report: Report, *, diagram: bool = False) -> str:
    """The report in OCR-APT's layout; ``diagram`` adds a Mermaid graph of the entities."""
    return "".join(render_markdown_chunks(report, diagram=diagram))


def render_markdown_chunks(
    report: Report, *, diagram: bool = False, rows_per_chunk: int = 1 << 16, encoded: bool = False
) -> Iterator[str | memoryview]:
    """``render_markdown`` in pieces, the log ``rows_per_chunk`` rows at a time, so that a
    writer that streams them never holds the whole text. ``encoded``: the blocks of log
    rows come as UTF-8 bytes (``memoryview``, see ``output.write_chunks``), the rest as text."""
    before = [
        f"# Attack Report: {plain(report.input_name)}",
        "## Summary of Attack Behavior",
        *_summary(report),
        "## Table of Indicators of Compromise (IoCs)",
        *_ioc_table(report),
        "## Chronological Log of Actions",
    ]
    after = [
        *(_diagram(report) if diagram else []),
        *render_context(report.context),
        _closing(report),
        _metadata(report),
    ]
    log = report.log
    if not isinstance(log, LogTable) or not len(log):
        parts = [*before, *_log_table(report), *after]
        yield "\n\n".join(part for part in parts if part) + "\n"
        return
    yield "\n\n".join(part for part in [*before, _log_intro(report), _LOG_HEADER] if part)
    full = full_value_index(report)
    for rows in _log_row_chunks(log, full, rows_per_chunk, encoded=encoded):
        yield "\n"
        yield rows
    yield "\n\n" + "\n\n".join(part for part in after if part) + "\n"


def _bold_stages(text: str) -> str:
    canonical = {s.lower(): s for s in APT_STAGES}
    return _STAGE_PATTERN.sub(lambda m: f"**{canonical[m.group(1).lower()]}**", text)


def _summary(report: Report) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", report.summary) if p.strip()]
    out = [_bold_stages(prose(p)) for p in paragraphs]
    if report.stages:
        items = []
        for finding in report.stages:
            rows = _cited_rows(finding.evidence, report)
            attack = ", ".join(([finding.tactic] if finding.tactic else []) + list(finding.techniques))
            attack = f"ATT&CK {plain(attack)}; " if attack else ""
            alone = f"; {NARRATOR_ALONE}" if finding.found_by_rules is False else ""
            items.append(
                f"- **{finding.stage}** ({attack}{finding.confidence} confidence{alone}; {rows}): "
                f"{prose(finding.rationale, single_line=True)}"  # one line: no forged bullet
            )
        out.append("APT stages supported by the evidence:\n\n" + "\n".join(items))
    else:
        out.append("No APT stage is supported by the evidence in this subgraph.")
    return out


def _cited_rows(evidence: list[str], report: Report) -> str:
    """"log rows L1, L2" and, for rows of the host's wider log (--context), "context rows C3"."""
    context = {r.id for r in report.context.rows} if report.context is not None else set()
    parts = []
    # without context rows every id is a log row's: no pass over a stage's 100,000 ids
    split = ((evidence, []) if not context else ([e for e in evidence if e not in context], [e for e in evidence if e in context]))
    for label, ids in zip(("log rows", "context rows"), split):
        if ids:
            parts.append(f"{label} " + ", ".join(plain(e) for e in ids[:8]) + (" ..." if len(ids) > 8 else ""))
    return "; ".join(parts) or "log rows"


def _ioc_table(report: Report) -> list[str]:
    if not report.iocs:
        return ["No named entity in this subgraph qualifies as an indicator of compromise."]
    rows = ["| IoC | Security Context |", "|-----|------------------|"]
    full = full_value_index(report)
    for entry in report.iocs:
        context = (
            f"{prose(entry.legitimate_usage, in_table=True)} "
            f"Exploitation likelihood: **{_LIKELIHOOD[entry.likelihood]}**. "
            f"{prose(entry.rationale, in_table=True)}"
        )
        rows.append(f"| {code(entry.value)}{_full_values(full.get(entry.value, []))} | {context.strip()} |")
    out = ["\n".join(rows)]
    omitted = report.metadata.candidates_omitted
    if omitted:
        out.append(
            f"{omitted} further low-signal candidate(s) (for example loaded libraries) are not listed; "
            "`aptnarrate inspect` shows every candidate with its evidence."
        )
    return out


_FULL_VALUES_SHOWN = 3


def _full_values(values: list[str] | tuple[str, ...]) -> str:
    """`` (`/full/path`, ...)`` after a short name: the full values behind it, bounded."""
    if not values:
        return ""
    shown = ", ".join(code(v) for v in values[:_FULL_VALUES_SHOWN])
    more = f", +{len(values) - _FULL_VALUES_SHOWN} more" if len(values) > _FULL_VALUES_SHOWN else ""
    return f" ({shown}{more})"


def log_action(entry: LogEntry, full_values: dict[str, list[str]] | None = None) -> str:
    """One log row in OCR-APT's wording, names as code spans: ``A process CLOSE the file: `x`.``
    ``full_values`` (name -> full values, see ``views.full_value_index``) adds the full
    paths or flows behind a name after it."""
    times = f" ({entry.count} times)" if entry.count > 1 else ""
    full = full_values or {}
    event = _event_text(
        entry.subject_kind, entry.subject_name, entry.action, entry.object_kind, entry.object_name,
        tuple(full.get(entry.subject_name, ())), tuple(full.get(entry.object_name, ())),
    )
    return f"{event}{times}."


@lru_cache(maxsize=65536)
def _event_text(
    subject_kind: str, subject_name: str, action: str, object_kind: str, object_name: str,
    subject_full: tuple[str, ...] = (), object_full: tuple[str, ...] = (),
) -> str:
    # cached: a large log repeats a few thousand distinct events over many minutes
    # kinds and actions are input text too (an edge list's object_type and predicate are free
    # text): escaped like names, or "file<b>|x" split the table cell and left HTML in it
    subject_kind, action, object_kind = _plain_word(subject_kind), _plain_word(action), _plain_word(object_kind)
    subject = f"The {subject_kind} {code(subject_name)}{_full_values(subject_full)}" if subject_name else f"A {subject_kind}"
    obj = f"the {object_kind}: {code(object_name)}{_full_values(object_full)}" if object_name else f"a {object_kind}"
    return f"{subject} {action} {obj}"


# a log holds a few dozen distinct kinds and actions among thousands of descriptions
_plain_word = lru_cache(maxsize=4096)(plain)
_CANONICAL_MINUTE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}")


def _plain_minute(minute: str) -> str:
    """``plain`` of a minute: the ones we write need no escaping (the check is cheaper)."""
    return minute if _CANONICAL_MINUTE.fullmatch(minute) else plain(minute)


_LOG_HEADER = "| Timestamp | Action Description |\n|-----------|--------------------|"


def _log_intro(report: Report) -> str:
    zone = report.metadata.timezone
    where = "as written in the input (no time zone given)" if zone == "as written" else f"in {plain(zone)}"
    return f"Times are {where}; each row is one minute, repeated events counted once per second."


def _log_table(report: Report) -> list[str]:
    rows = [_LOG_HEADER]
    log = report.log
    full = full_value_index(report)
    if isinstance(log, LogTable):
        rows.extend(_log_row_chunks(log, full))
    else:  # a plain list of entries (a Report built by hand with model_construct)
        rows.extend(f"| {plain(entry.minute)} | {log_action(entry, full)} |" for entry in log)
    return [_log_intro(report), "\n".join(rows)]


def _log_row_chunks(
    log: LogTable, full: dict[str, list[str]], rows_per_chunk: int = 1 << 16, *, encoded: bool = False
) -> Iterator[str | memoryview]:
    """The rows as ``| minute | event (N times). |``, ``rows_per_chunk`` at a time, joined
    in Arrow: each distinct description is worded and escaped once, each minute and each
    count formatted once. ``encoded``: each block as UTF-8 bytes, not decoded (see
    ``rows.take_rows``)."""
    import pyarrow as pa

    d = log.descriptions
    # Arrow arrays once, not a list that every block's take would convert again
    events = pa.array(
        [
            _event_text(sk, sn, action, ok, on, tuple(full.get(sn, ())), tuple(full.get(on, ())))
            for sk, sn, action, ok, on in zip(*(d[name] for name in DESCRIPTION_FIELDS[:5]))
        ],
        pa.large_string(),
    )
    # a minute is text from the saved document, where a hand-edited one may hold a line break
    # or markup: escaped like any string (each distinct minute once)
    minutes = pa.array([f"| {_plain_minute(minute)} | " for minute in log.minute_texts], pa.large_string())
    for start in range(0, len(log), rows_per_chunk):
        stop = min(start + rows_per_chunk, len(log))
        # each distinct count of the block once (per block: the temporaries stay small);
        # each row ends with its line break, and the block's last one is trimmed
        counts, count_codes = coded(log.counts[start:stop])
        ends = [f" ({count} times). |\n" if count > 1 else ". |\n" for count in counts.tolist()]
        columns = [
            (minutes, log.minute_codes[start:stop]),
            (events, log.description_codes[start:stop]),
            (ends, count_codes),
        ]
        yield take_rows(columns, stop - start, trim=1, encoded=encoded)


def _diagram(report: Report) -> list[str]:
    from .mermaid import render_mermaid

    chart, note = render_mermaid(report)
    out = ["## Entity Graph", "```mermaid\n" + chart + "\n```"]
    if note:
        out.append(f"The diagram is bounded: {note}.")
    return out


def _closing(report: Report) -> str:
    if report.stages:
        stages = ", ".join(f"**{s.stage}**" for s in report.stages)
        return (
            f"This report reconstructs activity consistent with {stages} from the flagged subgraph; "
            "every row above points back to lines of the input for further investigation."
        )
    return (
        "This report lists the flagged subgraph's activity; no attack stage is supported by the evidence, "
        "and every row above points back to lines of the input for further investigation."
    )


def _metadata(report: Report) -> str:
    meta = report.metadata
    items = [
        f"- Generator: {plain(meta.generator)}; schema version {plain(report.schema_version)}",
        f"- Backend: {plain(meta.backend)}" + (f"; model: {plain(meta.model)}" if meta.model else ""),
        f"- Time zone: {plain(meta.timezone)} ({plain(meta.time_basis)})",
        f"- Input: {plain(meta.input_format)} format, {meta.rows_read} rows read, {meta.events} events, "
        f"{meta.log_rows} log rows",
        f"- Skipped lines: {meta.skipped_count}"
        + (
            " (" + ", ".join(f"line {s.line}: {plain(s.reason)}" for s in meta.skipped_lines[:20])
            + (", ..." if meta.skipped_count > 20 else "") + ")"
            if meta.skipped_count
            else ""
        ),
        f"- Candidate IoCs: {meta.candidates_total} computed, {meta.candidates_total - meta.candidates_omitted} listed",
    ]
    if meta.internal_networks:
        items.append("- Internal networks: " + ", ".join(plain(n) for n in meta.internal_networks))
    if meta.usage:
        u = meta.usage
        cost = f", estimated cost ${u.cost_usd:.4f}" if u.cost_usd is not None else ""
        items.append(
            f"- LLM usage: {u.calls} call(s), {u.prompt_tokens} prompt + {u.completion_tokens} completion tokens, "
            f"{u.latency_s:.1f} s{cost}; {u.transport_retries} transport retries, {u.reasks} re-asks"
        )
    if meta.dropped:
        items.append(
            "- Claims dropped as unsupported by the input: "
            + "; ".join(f"{plain(d.kind)} {plain(d.item[:80])} ({plain(d.reason)})" for d in meta.dropped)
        )
    items.extend(f"- Note: {plain(note)}" for note in meta.notes)
    return "<details>\n<summary>Report metadata</summary>\n\n" + "\n".join(items) + "\n\n</details>"
