"""Story renderers: pure functions from a Story and the reports it was told from to text.

Each ``render_story_<format>(story, reports)`` takes the ``Story`` and the
``(subgraph name, Report)`` pairs behind it (the names the story uses) and reuses the
single-report pieces: views.py for the log, the entity graph and the ATT&CK mapping,
html.py's vendored assets and escaping, stix.py's bundle per subgraph, csv.py's rows.

* HTML: the story's sections, a timeline across subgraphs (subgraph as colour) and one
  entity graph of all subgraphs (a compound node per subgraph, node ids prefixed by the
  subgraph, an entity seen in several subgraphs linked across them).
* STIX: one bundle with each subgraph's report (and its objects) plus a story report
  referring to them; ids are deterministic (the subgraph bundles already are; the story's
  come from SHA-256 of the story's content).
* Navigator: techniques of every subgraph merged (highest score wins), comments citing
  ``subgraph:row``.
* CSV: every subgraph's IoC rows with its name in the ``subgraph`` column.
"""

from __future__ import annotations

import hashlib
import html
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import quote

from ..models import Report
from .views import entity_graph, inert_json, log_rows, stage_attack
from ..wording import capped_list

StoryReports = Sequence[tuple[str, Report]]

MAX_STORY_GRAPH_NODES = 300  # over all subgraphs
MAX_NODES_PER_SUBGRAPH = 60
_MIN_NODES_PER_SUBGRAPH = 10  # a subgraph drawn with fewer says too little
MAX_STORY_LOG_ROWS = 5000
MAX_CROSS_LINKS = 400
_TIMELINE_MARKS = 5000


# --------------------------------------------------------------------------- Markdown, JSON


def render_story_md(story, reports: StoryReports) -> str:
    return story.to_markdown()


def render_story_json(story, reports: StoryReports) -> str:
    return story.to_json()


# --------------------------------------------------------------------------- CSV


def render_story_csv(story, reports: StoryReports) -> str:
    from .csv import render_csv_rows

    return render_csv_rows(reports)


# --------------------------------------------------------------------------- Navigator


def render_story_navigator(story, reports: StoryReports) -> str:
    from .navigator import SCORE, _COMMENT_CHARS, _ROWS_CITED, layer_json

    techniques: dict[tuple[str, str], dict] = {}
    metadata: list[dict] = [{"name": "story", "value": story.title}]
    for name, report in reports:
        for finding, tactic, technique_ids in stage_attack(report):
            cited = [f"{name}:{r}" for r in finding.evidence]
            rows = capped_list(cited, _ROWS_CITED)
            metadata.append({"name": f"{tactic.id} {tactic.name}", "value": f"{finding.stage} in {name}, {finding.confidence} confidence; log rows {rows}"})
            comment = f"{finding.stage} in {name} ({finding.confidence} confidence): {finding.rationale} Log rows: {rows}."
            for technique in technique_ids:
                key = (technique, tactic.shortname)
                score = SCORE[finding.confidence]
                known = techniques.get(key)
                if known is None:
                    techniques[key] = {
                        "techniqueID": technique, "tactic": tactic.shortname, "score": score,
                        "comment": comment[:_COMMENT_CHARS], "enabled": True,
                        "metadata": [{"name": "log rows", "value": rows}], "showSubtechniques": False,
                    }
                    continue
                known["score"] = max(known["score"], score)  # merged by the highest confidence
                if len(known["comment"]) < _COMMENT_CHARS:
                    known["comment"] = (known["comment"] + " | " + comment)[:_COMMENT_CHARS]
                if len(known["metadata"]) < 50:
                    known["metadata"].append({"name": "log rows", "value": rows})
    stages = ", ".join(s.stage for s in story.stages) or "none"
    description = (
        f"{story.title}. {len(reports)} subgraph(s); stages in the order of the evidence: {stages}. "
        "Scores: the highest confidence any subgraph gives (low 33, moderate 67, high 100)."
    )
    return layer_json(f"aptnarrate story: {story.title}", description, list(techniques.values()), metadata)


# --------------------------------------------------------------------------- STIX


def render_story_stix(story, reports: StoryReports) -> str:
    import stix2

    from .stix import render_stix

    seed = hashlib.sha256(story.to_json().encode("utf-8")).hexdigest()

    def sid(kind: str, key: str) -> str:
        digest = hashlib.sha256(f"{seed}|{kind}|{key}".encode("utf-8")).digest()
        return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"

    objects: dict[str, dict] = {}
    subgraph_reports: list[str] = []
    created, published = [], []
    for name, report in reports:
        bundle = json.loads(render_stix(report))
        for obj in bundle["objects"]:
            if obj["type"] == "report":
                obj = {**obj, "name": f"{obj['name']} [{name}]"[:1000], "labels": [f"subgraph:{name}"]}
                subgraph_reports.append(obj["id"])
                created.append(obj["created"])
                published.append(obj["published"])
            objects.setdefault(obj["id"], obj)  # an observable seen in two subgraphs is one object
    first = min(created) if created else "1970-01-01T00:00:00.000Z"
    identity = stix2.Identity(
        id=sid("identity", "aptnarrate-story"), name="aptnarrate", identity_class="system",
        description="aptnarrate, the attack story of a host", created=first, modified=first,
    )
    summary = stix2.Report(
        id=sid("report", "story"),
        name=story.title,
        description=story.summary,
        report_types=["threat-report"],
        published=max(published) if published else first,
        object_refs=subgraph_reports or [identity.id],
        labels=[f"stage:{s.stage}" for s in story.stages] or None,
        created_by_ref=identity.id,
        created=first,
        modified=first,
    )
    story_objects = [json.loads(summary.serialize()), json.loads(identity.serialize())]
    bundle = {"type": "bundle", "id": sid("bundle", "story"), "objects": story_objects + list(objects.values())}
    return inert_json(bundle) + "\n"


# --------------------------------------------------------------------------- HTML


def _story_graph(reports: StoryReports) -> tuple[dict, str]:
    """Cytoscape elements: a compound node per subgraph holding its entities (ids prefixed
    by the subgraph's position), and a dashed link between the same entity in two subgraphs."""
    elements: list[dict] = []
    by_entity: dict[tuple[str, str], list[str]] = defaultdict(list)
    per_subgraph = max(_MIN_NODES_PER_SUBGRAPH, min(MAX_NODES_PER_SUBGRAPH, MAX_STORY_GRAPH_NODES // max(1, len(reports))))
    notes = []
    # at most MAX_STORY_GRAPH_NODES entities in all: past that many subgraphs, those with a
    # supported stage first (in the story's order), the others not drawn (1,000 subgraphs
    # drew 11,400 elements, at least 10 entities each)
    room = max(1, MAX_STORY_GRAPH_NODES // per_subgraph)
    drawn = list(enumerate(reports))
    if len(drawn) > room:
        chosen = {index for index, _ in sorted(drawn, key=lambda item: (not item[1][1].stages, item[0]))[:room]}
        drawn = [item for item in drawn if item[0] in chosen]
        notes.append(f"{len(reports) - room} of {len(reports)} subgraphs are not drawn (the graph keeps {room}, those with a supported stage first)")
    for index, (name, report) in drawn:
        graph = entity_graph(report, max_nodes=per_subgraph, max_edges=per_subgraph * 3)
        parent = f"s{index}"
        elements.append({"data": {"id": parent, "label": name[:60], "name": name, "kind": "subgraph", "full": [], "rows": [], "rowCount": 0}, "classes": "subgraph"})
        if graph.truncated:
            notes.append(f"{name}: {graph.note()}")
        for n in graph.nodes:
            node_id = f"{parent}-{n.id}"
            by_entity[(n.kind, n.name)].append(node_id)
            kind_class = f"kind-{n.kind if n.kind in ('process', 'file', 'flow') else 'other'}"
            elements.append({
                "data": {
                    "id": node_id, "parent": parent, "label": n.label if len(n.label) <= 40 else n.label[:39] + "…",
                    "name": n.label, "kind": n.kind, "ioc": n.likelihood or "", "full": n.full_values[:5],
                    "rows": [f"{name}:{r}" for r in n.row_ids], "rowCount": n.rows,
                },
                "classes": " ".join(c for c in (kind_class, f"ioc-{n.likelihood}" if n.likelihood else "") if c),
            })
        for i, e in enumerate(graph.edges):
            elements.append({"data": {
                "id": f"{parent}-e{i}", "source": f"{parent}-{e.source}", "target": f"{parent}-{e.target}",
                "label": e.action[:30] + (f" x{e.count}" if e.count > 1 else ""), "action": e.action,
                "rows": [f"{name}:{r}" for r in e.rows], "rowCount": e.row_count,
            }})
    cross = 0
    for (kind, entity), ids in by_entity.items():
        if not entity:
            continue  # unnamed entities are not the same entity
        for a, b in zip(ids, ids[1:]):
            if cross >= MAX_CROSS_LINKS:
                break
            elements.append({"data": {"id": f"x{cross}", "source": a, "target": b, "label": "same entity",
                                      "action": "same entity", "rows": [], "rowCount": 0}, "classes": "shared"})
            cross += 1
    return {"elements": elements, "note": "; ".join(notes)}, "; ".join(notes)


def _story_timeline(reports: StoryReports) -> dict:
    from .html import _BUCKETS_MIN, MAX_TIMELINE_BUCKETS, _epoch_ms

    rows = [(name, row, _epoch_ms(row.minute)) for name, report in reports for row in log_rows(report)]
    rows = [r for r in rows if r[2] is not None]
    span = (max(t for *_, t in rows) - min(t for *_, t in rows)) // 60000 + 1 if rows else 1
    bucket = next((b for b in _BUCKETS_MIN if span / b <= MAX_TIMELINE_BUCKETS), _BUCKETS_MIN[-1])
    size = bucket * 60000
    cells: dict[tuple[int, str, str], dict] = {}
    row_time: dict[tuple[str, str], int] = {}
    for name, row, t in rows:
        start = t - t % size
        row_time[(name, row.id)] = start
        cell = cells.setdefault((start, name, row.action), {"count": 0, "rows": 0, "sample": [], "minute": row.minute})
        cell["count"] += row.count
        cell["rows"] += 1
        if len(cell["sample"]) < 3:
            cell["sample"].append(f"{name}:{row.id}: {row.text}"[:200])
    marks = [
        {"t": t, "subgraph": name, "action": action, "count": c["count"], "rows": c["rows"], "sample": " | ".join(c["sample"]), "minute": c["minute"]}
        for (t, name, action), c in cells.items()
    ]
    dropped = max(0, len(marks) - _TIMELINE_MARKS)
    if dropped:
        marks.sort(key=lambda m: (-m["count"], m["t"]))
        del marks[_TIMELINE_MARKS:]
    stages = []
    for name, report in reports:
        for finding, tactic, _ in stage_attack(report):
            times: dict[int, list[str]] = defaultdict(list)
            for row_id in finding.evidence:
                if (name, row_id) in row_time:
                    times[row_time[(name, row_id)]].append(row_id)
            for start, ids in sorted(times.items()):
                stages.append({"t": start, "stage": f"{finding.stage} ({tactic.id})", "subgraph": name, "confidence": finding.confidence,
                               "rows": " ".join(f"{name}:{i}" for i in ids[:12]) + (" ..." if len(ids) > 12 else "")})
    per = "minute" if bucket == 1 else f"{bucket} minutes"
    x = {"field": "t", "type": "temporal", "title": f"time (as in the reports; per {per})", "scale": {"type": "utc"}}
    order = [name for name, _ in reports]
    color = {"field": "subgraph", "type": "nominal", "sort": order, "legend": {"orient": "right", "labelLimit": 200}}
    return {
        "dropped": dropped,
        "spec": {
            "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
            "config": {"font": "sans-serif", "view": {"stroke": "#ddd"}},
            "vconcat": [
                {
                    "title": f"Events per {per} by subgraph", "width": 640, "height": 160,
                    "data": {"values": marks}, "mark": {"type": "bar"},
                    "encoding": {
                        "x": x, "y": {"aggregate": "sum", "field": "count", "type": "quantitative", "title": "event-seconds"},
                        "color": color,
                        "tooltip": [{"field": "subgraph"}, {"field": "minute", "title": "first minute"}, {"field": "action"},
                                    {"field": "count", "title": "event-seconds"}, {"field": "rows", "title": "log rows"}, {"field": "sample", "title": "rows"}],
                    },
                },
                {
                    "title": "Stage evidence by subgraph", "width": 640, "height": {"step": 18},
                    "data": {"values": stages}, "mark": {"type": "tick", "thickness": 3},
                    "encoding": {
                        "x": x, "y": {"field": "stage", "type": "nominal", "title": None}, "color": color,
                        "tooltip": [{"field": "stage"}, {"field": "subgraph"}, {"field": "confidence"}, {"field": "rows", "title": "log rows"}],
                    },
                },
            ],
            "resolve": {"scale": {"x": "shared"}},
        },
    }


def _rows_links(subgraph: str, ids: Sequence[str], limit: int = 10) -> str:
    from .html import _escaped

    # row anchors as the data block names them (invisible characters shown; ``_json_island``)
    links = " ".join(f'<a href="#row-{_escaped(subgraph + ":" + r)}">{_escaped(r)}</a>' for r in ids[:limit])
    return links + (f" +{len(ids) - limit} more" if len(ids) > limit else "")


def _story_sections(story) -> str:
    from .html import _escaped, _prose, _text

    links = {s.name: s.report for s in story.subgraphs}

    def sub(name: str) -> str:
        target = links.get(name)
        # percent-encoded as the Markdown story's links are: a name such as "javascript:x" stays a relative path
        return f'<a href="{html.escape(quote(target), quote=True)}">{_text(name)}</a>' if target else _text(name)

    parts = [f'<section id="summary"><h2>Summary of the Attack</h2><p>{_prose(story.summary)}</p></section>']
    stages = []
    for number, stage in enumerate(story.stages, 1):
        evidence = "".join(
            f"<li>{sub(e.subgraph)} ({_escaped(e.confidence)} confidence; log rows {_rows_links(e.subgraph, e.log_ids)}): {_prose(e.rationale[:300])}</li>"
            for e in stage.evidence
        )
        techniques = f"<br>Techniques: {_text(', '.join(stage.techniques))}" if stage.techniques else ""
        iocs = f"<br>IoCs at its evidence: {', '.join(f'<code>{_text(i)}</code>' for i in stage.iocs[:12])}" if stage.iocs else ""
        narrative = f"<p>{_prose(stage.narrative)}</p>" if stage.narrative else ""
        stages.append(
            f"<h3>{number}. {_escaped(stage.stage)}</h3>{narrative}<p>When: {_text(stage.first_minute or '?')} to "
            f"{_text(stage.last_minute or '?')}<br>Subgraphs: {', '.join(sub(n) for n in stage.subgraphs)}{techniques}{iocs}</p><ul>{evidence}</ul>"
        )
    parts.append('<section id="stages"><h2>Attack Stages in the Order of the Evidence</h2>'
                 + ("".join(stages) or "<p>No stage is supported by the evidence of any subgraph.</p>") + "</section>")
    if story.iocs:
        rows = "".join(
            f'<tr class="lk-{i.likelihood}"><td><code>{_text(i.value)}</code></td><td>{"<br>".join(_text(v) for v in i.full_values[:20])}</td>'
            f"<td>{_escaped(i.type)}</td><td>{_escaped(i.likelihood)}</td><td>{', '.join(sub(n) for n in i.subgraphs)}</td>"
            f"<td>{_text(i.first_seen)}</td><td>{_text(i.last_seen)}</td><td>{_escaped(', '.join(i.stages) or '-')}</td></tr>"
            for i in story.iocs
        )
        table = ("<table class=\"iocs\"><thead><tr><th>IoC</th><th>Full values</th><th>Type</th><th>Likelihood</th><th>Subgraphs</th>"
                 f"<th>First seen</th><th>Last seen</th><th>Stages</th></tr></thead><tbody>{rows}</tbody></table>")
    else:
        table = "<p>No IoC in any subgraph's table.</p>"
    parts.append(f'<section id="iocs"><h2>Table of Indicators of Compromise (IoCs)</h2>{table}</section>')
    linked = "".join(
        f"<tr><td>{sub(link.subgraphs[0])} / {sub(link.subgraphs[1])}</td><td>{', '.join(f'<code>{_text(e)}</code>' for e in link.shared_entities) or '-'}</td>"
        f"<td>{_text(', '.join(link.shared_minutes) or '-')}</td></tr>"
        for link in story.links
    )
    parts.append('<section id="links"><h2>Linked Subgraphs</h2>' + (
        f"<table><thead><tr><th>Subgraphs</th><th>Shared entities</th><th>Shared minutes</th></tr></thead><tbody>{linked}</tbody></table>"
        if linked else "<p>No two subgraphs share an entity or a minute.</p>") + "</section>")
    overview = "".join(
        f"<li>{_text(line.first_minute)} {sub(line.subgraph)}: {_escaped(', '.join(line.stages))}{';' if line.stages else ''} {_text(line.text)}</li>"
        for line in story.overview
    )
    parts.append(f'<section id="overview"><h2>Chronological Overview</h2><ul>{overview or "<li>No log rows.</li>"}</ul></section>')
    benign = "".join(
        f"<li>{sub(s.name)} ({s.log_rows} log rows): {_prose(s.summary[:400])}</li>" for s in story.subgraphs if s.name in set(story.benign)
    )
    parts.append(f'<section id="benign"><h2>Benign-looking Subgraphs</h2>{f"<ul>{benign}</ul>" if benign else "<p>None: every subgraph shows at least one stage.</p>"}</section>')
    parts.append("<section id=\"conclusions\"><h2>Conclusions</h2><ul>" + "".join(f"<li>{_prose(c)}</li>" for c in story.conclusions) + "</ul></section>")
    parts.append("<section id=\"next-steps\"><h2>Next Steps</h2><ol>" + "".join(f"<li>{_prose(s)}</li>" for s in story.next_steps) + "</ol></section>")
    return "\n".join(parts)


def _story_log(reports: StoryReports) -> tuple[str, int]:
    from .html import _escaped, _text

    out, total = [], 0
    for name, report in reports:
        for row in log_rows(report):
            total += 1
            if total > MAX_STORY_LOG_ROWS:
                continue
            key = f"{name}:{row.id}"
            out.append(f'<tr id="row-{_escaped(key)}"><td>{_text(name)}</td><td>{_escaped(row.id)}</td>'
                       f"<td>{_escaped(row.minute)}</td><td>{_text(row.text)}</td></tr>")
    return "\n".join(out), total


def render_story_html(story, reports: StoryReports) -> str:
    from .html import _escaped, _text, page

    graph, graph_note = _story_graph(reports)
    timeline = _story_timeline(reports)
    data = {"spec": timeline["spec"], "graph": graph}
    log_html, log_total = _story_log(reports)
    notes = ""
    if timeline["dropped"]:
        notes += f'<p class="note">The timeline is bounded: {timeline["dropped"]} of its quietest marks are left out.</p>'
    graph_html = f'<p class="note">The graph is bounded: {_escaped(graph_note)}.</p>' if graph_note else ""
    log_note = (f'<p class="note">The page shows the first {MAX_STORY_LOG_ROWS} of {log_total} log rows; the subgraph reports hold them all.</p>'
                if log_total > MAX_STORY_LOG_ROWS else "")
    body = f"""<header><h1>{_text(story.title)}</h1></header>
<main>
{_story_sections(story)}
<section id="timeline-section"><h2>Activity timeline across subgraphs</h2>
<p class="note">Times as written in each report. Colour: subgraph. Hover a mark for its log rows.</p>
{notes}
<div id="timeline" class="chart"></div>
</section>
<section id="graph-section"><h2>Entity graph of all subgraphs</h2>
<p class="note">One box per subgraph; processes (blue), files (grey), flows (green), others (purple); IoCs outlined in red; dashed links join the same entity in two subgraphs. Click an entity or a link to see its log rows.</p>
{graph_html}
<div id="graph" class="chart"></div>
<p id="selection" class="note">Nothing selected.</p>
</section>
<section id="log"><h2>Log rows of the subgraphs</h2>
{log_note}
<table class="log"><thead><tr><th>Subgraph</th><th>Row</th><th>Timestamp</th><th>Action</th></tr></thead><tbody>
{log_html}
</tbody></table>
</section>
</main>"""
    return page(story.title, story.metadata.generator, body, data)
