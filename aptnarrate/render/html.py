"""render_html(report) -> str: one self-contained HTML page with the report's sections
and two pictures: an activity timeline (Vega-Lite) and the entity graph (Cytoscape.js).

Self-contained and fetch-free: the vendored libraries (``assets/``, see VENDORED.md) are
inlined, the data travels in a ``<script type="application/json">`` block, and a
Content-Security-Policy with ``default-src 'none'`` lets only the page's own scripts run
(each by its SHA-256 hash), so the page opens from disk and loads nothing. Every string
from the report is HTML-escaped and wrapped in ``<bdi>`` (a bidi override in a name cannot
reorder the text around it); the JSON block escapes ``<``, ``>`` and ``&``. The page is
bounded for large logs: the timeline is aggregated per minute (coarser buckets when the
log spans many minutes), the graph keeps at most ``MAX_GRAPH_NODES`` entities and the log
table ``MAX_LOG_ROWS`` rows, each with a note when it is cut.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections import defaultdict
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources

from ..models import Report
from .escape import code_spans, show_invisible
from .views import LIKELIHOOD_ORDER, NARRATOR_ALONE, entity_graph, full_value_index, inert_json, log_rows, stage_attack

MAX_GRAPH_NODES = 150
MAX_GRAPH_EDGES = 400
MAX_LOG_ROWS = 5000
MAX_TIMELINE_BUCKETS = 360
MAX_TIMELINE_ENTITIES = 25
MAX_TIMELINE_MARKS = 5000  # per chart: SVG stays responsive
SAMPLE_ROWS = 3  # log rows quoted in a timeline tooltip
_BUCKETS_MIN = (1, 2, 5, 10, 15, 30, 60, 120, 360, 720, 1440)
VENDORED = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "vega-interpreter.js", "cytoscape.min.js")


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    return resources.files("aptnarrate.render").joinpath("assets", name).read_text(encoding="utf-8")


def _escaped(value: str) -> str:
    """A data string as inert HTML text whose every character shows: controls, zero-width
    and bidi characters are written as the visible escapes Markdown shows (``\\u202e``), so
    ``invoice\\u202egpj.exe`` cannot display as ``invoiceexe.jpg`` nor ``a\\u200bb`` as ``ab``."""
    return html.escape(show_invisible(value), quote=True)


def _text(value: str) -> str:
    """A data string as inert HTML text, its invisible characters shown, bidi-isolated."""
    return f"<bdi>{_escaped(value)}</bdi>"


def _prose(value: str) -> str:
    """Narrator prose: escaped (invisible characters shown), its code spans (the names it
    quotes, fenced by ``escape.code``) as literal <code>, and its own **bold** outside them
    as tags: a name's ``**`` or backticks are the name's, never markup."""
    parts, at = [], 0
    for start, end, content in code_spans(value):
        parts.append(_marked(value[at:start]))
        if content.startswith(" ") and content.endswith(" ") and content.strip():
            content = content[1:-1]  # the padding a fence adds around a name's edge backtick
        parts.append(f"<code><bdi>{html.escape(show_invisible(content), quote=True)}</bdi></code>")
        at = end
    parts.append(_marked(value[at:]))
    return "".join(parts)


def _marked(text: str) -> str:
    """Prose outside code spans: escaped, its **bold** as tags."""
    text = html.escape(show_invisible(text, keep_newlines=True), quote=True)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)


def _json_island(data) -> str:
    """JSON that cannot end its <script> element or start markup, its strings' invisible
    characters shown as in the page's text (the scripts draw them as canvas labels, SVG text
    and tooltips, where a bidi override would reorder a name just as in the page)."""
    return inert_json(_shown(data), indent=None)


def _shown(data):
    """``data`` with every string (keys too) passed through ``show_invisible``."""
    if isinstance(data, str):
        return show_invisible(data)
    if isinstance(data, dict):
        return {_shown(k): _shown(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_shown(v) for v in data]
    return data


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


@lru_cache(maxsize=1 << 16)  # a log repeats a few thousand minutes over many rows
def _epoch_ms(minute: str) -> int | None:
    try:
        moment = datetime.strptime(minute, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return int(moment.timestamp()) * 1000


def _timeline(report: Report, entity_rank: dict[str, int]) -> dict:
    """Per-bucket events by action, by entity, and the stages' evidence, for Vega-Lite.
    Times are the report's wall-clock minutes placed on a UTC axis (so shown as written)."""
    rows = [(row, _epoch_ms(row.minute)) for row in log_rows(report)]
    rows = [(row, t) for row, t in rows if t is not None]
    span_min = (max(t for _, t in rows) - min(t for _, t in rows)) // 60000 + 1 if rows else 1
    bucket = next((b for b in _BUCKETS_MIN if span_min / b <= MAX_TIMELINE_BUCKETS), _BUCKETS_MIN[-1])
    size = bucket * 60000

    by_action: dict[tuple[int, str], dict] = {}
    by_entity: dict[tuple[int, str, str], dict] = {}
    row_time: dict[str, int] = {}

    def add(table, key, row):
        cell = table.get(key)
        if cell is None:
            cell = table[key] = {"count": 0, "rows": 0, "sample": [], "minute": row.minute}
        cell["count"] += row.count
        cell["rows"] += 1
        if len(cell["sample"]) < SAMPLE_ROWS:
            cell["sample"].append(f"{row.id}: {row.text}"[:200])

    for row, t in rows:
        start = t - t % size
        row_time[row.id] = start
        add(by_action, (start, row.action), row)
        for name, kind in ((row.subject_name, row.subject_kind), (row.object_name, row.object_kind)):
            label = name or f"(unnamed {kind})"
            if label in entity_rank:
                add(by_entity, (start, label, row.action), row)

    def records(table, fields):
        out = []
        for key, cell in table.items():
            record = dict(zip(fields, key))
            record.update(count=cell["count"], rows=cell["rows"], sample=" | ".join(cell["sample"]), minute=cell["minute"])
            out.append(record)
        return out

    stages = []
    for finding, tactic, _ in stage_attack(report):
        times: dict[int, list[str]] = defaultdict(list)
        for row_id in finding.evidence:
            if row_id in row_time:
                times[row_time[row_id]].append(row_id)
        for start, ids in sorted(times.items()):
            stages.append(
                {
                    "t": start,
                    "stage": f"{finding.stage} ({tactic.id})",
                    "confidence": finding.confidence,
                    "rows": " ".join(ids[:12]) + (" ..." if len(ids) > 12 else ""),
                }
            )
    actions, entities = records(by_action, ("t", "action")), records(by_entity, ("t", "entity", "action"))
    dropped = 0
    for marks in (actions, entities):
        if len(marks) > MAX_TIMELINE_MARKS:  # keep the busiest marks; say how many are left out
            marks.sort(key=lambda m: (-m["count"], m["t"]))
            dropped += len(marks) - MAX_TIMELINE_MARKS
            del marks[MAX_TIMELINE_MARKS:]
    return {
        "bucket_minutes": bucket,
        "dropped_marks": dropped,
        "actions": actions,
        "entities": entities,
        "entity_order": sorted(entity_rank, key=entity_rank.get),
        "stages": stages,
    }


def _vega_lite_spec(timeline: dict) -> dict:
    bucket = timeline["bucket_minutes"]
    per = "minute" if bucket == 1 else f"{bucket} minutes"
    x = {"field": "t", "type": "temporal", "title": f"time (as in the report; per {per})", "scale": {"type": "utc"}}
    tooltip = [
        {"field": "minute", "title": "first minute"},
        {"field": "action"},
        {"field": "count", "title": "event-seconds"},
        {"field": "rows", "title": "log rows"},
        {"field": "sample", "title": "rows"},
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "config": {"font": "sans-serif", "view": {"stroke": "#ddd"}},
        "vconcat": [
            {
                "title": f"Events per {per} by action",
                "width": 640,
                "height": 160,
                "data": {"values": timeline["actions"]},
                "mark": {"type": "bar"},
                "encoding": {
                    "x": x,
                    "y": {"aggregate": "sum", "field": "count", "type": "quantitative", "title": "event-seconds"},
                    "color": {"field": "action", "type": "nominal", "legend": {"orient": "right"}},
                    "tooltip": tooltip,
                },
            },
            {
                "title": "Entities over time (IoCs and the most active entities)",
                "width": 640,
                "height": {"step": 16},
                "data": {"values": timeline["entities"]},
                "mark": {"type": "circle", "opacity": 0.8},
                "encoding": {
                    "x": x,
                    "y": {"field": "entity", "type": "nominal", "sort": timeline["entity_order"], "title": None},
                    "color": {"field": "action", "type": "nominal"},
                    "size": {"field": "count", "type": "quantitative", "title": "event-seconds"},
                    "tooltip": [{"field": "entity"}, *tooltip],
                },
            },
            {
                "title": "Stage evidence",
                "width": 640,
                "height": {"step": 18},
                "data": {"values": timeline["stages"]},
                "mark": {"type": "tick", "thickness": 3},
                "encoding": {
                    "x": x,
                    "y": {"field": "stage", "type": "nominal", "title": None},
                    "color": {
                        "field": "confidence",
                        "type": "ordinal",
                        "scale": {"domain": ["low", "moderate", "high"], "range": ["#f2c14e", "#f08a4b", "#c0392b"]},
                    },
                    "tooltip": [{"field": "stage"}, {"field": "confidence"}, {"field": "rows", "title": "log rows"}],
                },
            },
        ],
        "resolve": {"scale": {"x": "shared", "color": "independent"}},
    }


def _graph(report: Report) -> tuple[dict, dict[str, int]]:
    graph = entity_graph(report, max_nodes=MAX_GRAPH_NODES, max_edges=MAX_GRAPH_EDGES)
    nodes = [
        {
            "data": {
                "id": n.id,
                "label": (n.label if len(n.label) <= 40 else n.label[:39] + "…"),
                "name": n.label,
                "kind": n.kind,
                "ioc": n.likelihood or "",
                "full": n.full_values[:5],
                "rows": n.row_ids,
                "rowCount": n.rows,
            },
            "classes": " ".join(c for c in (f"kind-{n.kind if n.kind in ('process', 'file', 'flow') else 'other'}", f"ioc-{n.likelihood}" if n.likelihood else "") if c),
        }
        for n in graph.nodes
    ]
    edges = [
        {
            "data": {
                "id": f"e{i}",
                "source": e.source,
                "target": e.target,
                "label": e.action[:30] + (f" x{e.count}" if e.count > 1 else ""),
                "action": e.action,
                "rows": e.rows,
                "rowCount": e.row_count,
            }
        }
        for i, e in enumerate(graph.edges)
    ]
    ranked = sorted(graph.nodes, key=lambda n: (-LIKELIHOOD_ORDER.get(n.likelihood or "", 0), -n.rows, int(n.id[1:])))
    entity_rank = {n.label: i for i, n in enumerate(ranked[:MAX_TIMELINE_ENTITIES])}
    return {"elements": nodes + edges, "note": graph.note()}, entity_rank


def _ioc_rows(report: Report) -> str:
    full = full_value_index(report)
    out = []
    for entry in report.iocs:
        fulls = full.get(entry.value, [])
        full_html = "<br>".join(_text(v) for v in fulls[:5]) + (f"<br>+{len(fulls) - 5} more" if len(fulls) > 5 else "")
        rows = " ".join(f'<a href="#row-{_escaped(r)}">{_escaped(r)}</a>' for r in entry.evidence[:12])
        if len(entry.evidence) > 12:
            rows += f" +{len(entry.evidence) - 12} more"
        out.append(
            f'<tr class="lk-{entry.likelihood}"><td><code>{_text(entry.value)}</code></td><td>{full_html}</td>'
            f"<td>{_escaped(entry.type)}</td><td>{_escaped(entry.likelihood)}</td>"
            f"<td>{_prose(entry.legitimate_usage)} {_prose(entry.rationale)}</td><td>{rows}</td></tr>"
        )
    return "\n".join(out)


def _event_sentence(row) -> str:
    """One log or context row's event as escaped HTML: "The process <code>sh</code> READ ..."."""
    times = f" ({row.count} times)" if row.count > 1 else ""
    subject = f"The {_escaped(row.subject_kind)} <code>{_text(row.subject_name)}</code>" if row.subject_name else f"A {_escaped(row.subject_kind)}"
    obj = f"the {_escaped(row.object_kind)}: <code>{_text(row.object_name)}</code>" if row.object_name else f"a {_escaped(row.object_kind)}"
    return f"{subject} {_text(row.action)} {obj}{times}."


def _log_rows_html(report: Report) -> tuple[str, int]:
    out = []
    total = 0
    for row in log_rows(report):
        total += 1
        if total > MAX_LOG_ROWS:
            continue
        out.append(
            f'<tr id="row-{_escaped(row.id)}"><td>{_escaped(row.id)}</td><td>{_escaped(row.minute)}</td>'
            f"<td>{_event_sentence(row)}</td></tr>"
        )
    return "\n".join(out), total


def _context_html(report: Report) -> str:
    """The --context part: the window, one line per top IoC and its rows (``C1``..., the
    targets of the stages' context-row links). Every name is escaped."""
    context = report.context
    if context is None:
        return ""
    out = [
        '<section id="context"><h2>Context from the Host\'s Wider Log</h2>',
        f'<p class="note">The top IoCs looked up in <code>{_text(context.source)}</code> ({_escaped(context.engine)}), '
        f"from {_escaped(context.window_start)} to {_escaped(context.window_end)}: {context.rows_read} context rows read.</p>",
    ]
    for section in context.sections:
        missed = ", ".join(f"<code>{_text(n)}</code>" for n in section.missed_entities[:12])
        out.append(
            f"<p><strong>{_escaped(section.type)} <code>{_text(section.ioc)}</code></strong> (rank {section.rank}): "
            f"{section.before} row(s) before, {section.during} during, {section.after} after the subgraph"
            + (f"; not in the subgraph: {missed}" if missed else "") + "</p>"
        )
    rows = []
    for row in context.rows:
        rows.append(
            f'<tr id="row-{_escaped(row.id)}"><td>{_escaped(row.id)}</td><td>{_escaped(row.minute)}</td>'
            f"<td>{_escaped(row.when)}</td><td>{_event_sentence(row)}</td></tr>"
        )
    if rows:
        out.append('<table class="log"><thead><tr><th>Row</th><th>Timestamp</th><th>When</th><th>Action Description</th></tr></thead><tbody>'
                   + "\n".join(rows) + "</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def _stages_html(report: Report) -> str:
    if not report.stages:
        return "<p>No APT stage is supported by the evidence in this subgraph.</p>"
    items = []
    for finding, tactic, techniques in stage_attack(report):
        context = {r.id for r in report.context.rows} if report.context is not None else set()
        cited = []
        for label, ids in (("log rows", [e for e in finding.evidence if e not in context]), ("context rows", [e for e in finding.evidence if e in context])):
            if ids:
                links = " ".join(f'<a href="#row-{_escaped(r)}">{_escaped(r)}</a>' for r in ids[:10])
                cited.append(f"{label} {links}" + (f" +{len(ids) - 10} more" if len(ids) > 10 else ""))
        rows = "; ".join(cited) or "log rows"
        tech = f"; techniques {_escaped(', '.join(techniques))}" if techniques else ""
        items.append(
            f"<li><strong>{_escaped(finding.stage)}</strong> (ATT&amp;CK {_escaped(tactic.id)} "
            f"{_escaped(tactic.name)}{tech}; {_escaped(finding.confidence)} confidence"
            f"{'; <strong>' + NARRATOR_ALONE + '</strong>' if finding.found_by_rules is False else ''}; {rows}): "
            f"{_prose(finding.rationale)}</li>"
        )
    return "<p>APT stages supported by the evidence:</p><ul>" + "".join(items) + "</ul>"


def _metadata_html(report: Report) -> str:
    meta = report.metadata
    items = [
        f"Generator: {_text(meta.generator)}; schema version {_text(report.schema_version)}",
        f"Backend: {_text(meta.backend)}" + (f"; model: {_text(meta.model)}" if meta.model else ""),
        f"Time zone: {_text(meta.timezone)} ({_text(meta.time_basis)})",
        f"Input: {_text(meta.input_format)} format, {meta.rows_read} rows read, {meta.events} events, {meta.log_rows} log rows",
        f"Skipped lines: {meta.skipped_count}",
        f"Candidate IoCs: {meta.candidates_total} computed, {meta.candidates_total - meta.candidates_omitted} listed",
    ]
    items += [f"Dropped claim: {_text(d.kind)} {_text(d.item[:80])} ({_text(d.reason)})" for d in meta.dropped]
    items += [f"Note: {_text(n)}" for n in meta.notes]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def render_html(report: Report) -> str:
    graph, entity_rank = _graph(report)
    timeline = _timeline(report, entity_rank)
    data = {"spec": _vega_lite_spec(timeline), "graph": graph}
    log_html, log_total = _log_rows_html(report)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", report.summary) if p.strip()]
    zone = report.metadata.timezone
    where = "as written in the input (no time zone given)" if zone == "as written" else f"in {_escaped(zone)}"
    log_note = (
        f'<p class="note">The page shows the first {MAX_LOG_ROWS} of {log_total} log rows; the JSON and Markdown '
        "outputs hold them all.</p>" if log_total > MAX_LOG_ROWS else ""
    )
    timeline_note = (
        f'<p class="note">The timeline is bounded: {timeline["dropped_marks"]} of its quietest marks are left out.</p>'
        if timeline["dropped_marks"] else ""
    )
    graph_note = f'<p class="note">The graph is bounded: {_escaped(graph["note"])}.</p>' if graph["note"] else ""
    ioc_table = (
        '<table class="iocs"><thead><tr><th>IoC</th><th>Full values</th><th>Type</th><th>Likelihood</th>'
        f"<th>Security context</th><th>Log rows</th></tr></thead><tbody>{_ioc_rows(report)}</tbody></table>"
        if report.iocs else "<p>No named entity in this subgraph qualifies as an indicator of compromise.</p>"
    )
    body = f"""<header><h1>Attack Report: {_text(report.input_name)}</h1></header>
<main>
<section id="summary"><h2>Summary of Attack Behavior</h2>
{"".join(f"<p>{_prose(p)}</p>" for p in paragraphs)}
{_stages_html(report)}
</section>
<section id="timeline-section"><h2>Activity timeline</h2>
<p class="note">Times {where}. Hover a mark for its log rows.</p>
{timeline_note}
<div id="timeline" class="chart"></div>
</section>
<section id="graph-section"><h2>Entity graph</h2>
<p class="note">Processes (blue), files (grey), flows (green), others (purple); IoCs outlined in red. Click an entity or a link to see its log rows.</p>
{graph_note}
<div id="graph" class="chart"></div>
<p id="selection" class="note">Nothing selected.</p>
</section>
<section id="iocs"><h2>Table of Indicators of Compromise (IoCs)</h2>
{ioc_table}
</section>
<section id="log"><h2>Chronological Log of Actions</h2>
<p class="note">Times {where}; each row is one minute, repeated events counted once per second.</p>
{log_note}
<table class="log"><thead><tr><th>Row</th><th>Timestamp</th><th>Action Description</th></tr></thead><tbody>
{log_html}
</tbody></table>
</section>
{_context_html(report)}
<details id="metadata"><summary>Report metadata</summary>{_metadata_html(report)}</details>
</main>"""
    return page(report.title, report.metadata.generator, body, data)


def page(title: str, generator: str, body: str, data) -> str:
    """The self-contained page around ``body``: its policy, styles, inert data island and
    inline scripts (shared by the report and the story). The policy lets in exactly the
    inline scripts, by their hashes."""
    scripts = [_asset(name) for name in VENDORED] + [_asset("report.js")]
    csp = (
        "default-src 'none'; script-src " + " ".join(_sha256(s) for s in scripts)
        + "; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )
    script_tags = "\n".join(f"<script>{s}</script>" for s in scripts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{_escaped(generator)}">
<title>{_escaped(title)}</title>
<style>{_asset("report.css")}</style>
</head>
<body>
{body}
<script type="application/json" id="aptnarrate-data">{_json_island(data)}</script>
{script_tags}
</body>
</html>
"""
