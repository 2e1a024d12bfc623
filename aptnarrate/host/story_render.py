"""render_story_markdown(story) -> str. Pure; every name goes through ``escape``."""

from __future__ import annotations

from urllib.parse import quote

from ..render.escape import code, code_spans, plain, prose
from .story import Story

_LEVEL = {"low": "Low", "moderate": "Moderate", "high": "High"}
_SUMMARY_CHARS = 400


def _link(name: str, target: str | None) -> str:
    text = plain(name)
    return f"[{text}]({quote(target)})" if target else text


def _clip(text: str, limit: int = _SUMMARY_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, then " ...": after its last sentence
    that fits (or clause, if that keeps a third of it), else at a space; never inside a
    code span, which showed as an escaped backtick and half a name."""
    if len(text) <= limit:
        return text
    room = limit - 4
    spans = [(start, end) for start, end, _ in code_spans(text) if start < room]

    def outside(at: int) -> bool:
        return all(not start < at < end for start, end in spans)

    for separator, least in ((". ", room // 3), ("; ", room // 3), (" ", 1)):
        at = text.rfind(separator, 0, room)
        while at >= least and not outside(at):
            at = text.rfind(separator, 0, at)
        if at >= least:
            return text[: at + 1 if separator == ". " else at].rstrip() + " ..."
    inside = next((start for start, end in spans if start < room < end), 0)  # one name longer than the room
    return text[: inside or room].rstrip() + " ..."


def render_story_markdown(story: Story) -> str:
    links = {s.name: s.report for s in story.subgraphs}
    parts = [f"# {plain(story.title)}", "## Summary of the Attack", prose(story.summary)]

    parts.append("## Attack Stages in the Order of the Evidence")
    if not story.stages:
        parts.append("No stage is supported by the evidence of any subgraph.")
    for number, stage in enumerate(story.stages, 1):
        lines = [f"### {number}. {stage.stage}"]
        if stage.narrative:
            lines.append(prose(stage.narrative))
            lines.append("")
        lines.append(f"- **When**: {plain(stage.first_minute or '?')} to {plain(stage.last_minute or '?')}")
        lines.append("- **Subgraphs**: " + ", ".join(_link(n, links.get(n)) for n in stage.subgraphs))
        if stage.techniques:
            lines.append("- **Techniques**: " + ", ".join(plain(t) for t in stage.techniques))
        if stage.iocs:
            lines.append("- **IoCs at its evidence**: " + ", ".join(code(i, in_table=False) for i in stage.iocs[:12]) + (" ..." if len(stage.iocs) > 12 else ""))
        lines.append("- **Evidence**:")
        for item in stage.evidence:
            rows = ", ".join(item.log_ids[:10]) + (" ..." if len(item.log_ids) > 10 else "")
            lines.append(
                f"  - {_link(item.subgraph, links.get(item.subgraph))} ({_LEVEL[item.confidence].lower()} confidence; "
                f"log rows {plain(rows)}): {prose(_clip(item.rationale, 300))}"
            )
        parts.append("\n".join(lines))

    parts.append("## Table of Indicators of Compromise (IoCs)")
    if story.iocs:
        rows = ["| IoC | Type | Likelihood | Subgraphs | First seen | Last seen | Stages |", "|---|---|---|---|---|---|---|"]
        for ioc in story.iocs:
            subgraphs = ", ".join(_link(n, links.get(n)) for n in ioc.subgraphs)
            rows.append(
                f"| {code(ioc.value)}{_full_values(ioc.full_values)} | {plain(ioc.type)} | {_LEVEL[ioc.likelihood]} | {subgraphs} | "
                f"{plain(ioc.first_seen)} | {plain(ioc.last_seen)} | {', '.join(ioc.stages) or '-'} |"
            )
        parts.append("\n".join(rows))
    else:
        parts.append("No IoC in any subgraph's table.")

    parts.append("## Linked Subgraphs")
    if story.links:
        rows = ["| Subgraphs | Shared entities | Shared minutes |", "|---|---|---|"]
        for link in story.links:
            a, b = link.subgraphs
            rows.append(
                f"| {_link(a, links.get(a))} / {_link(b, links.get(b))} | "
                f"{', '.join(code(e) for e in link.shared_entities) or '-'} | {', '.join(plain(m) for m in link.shared_minutes) or '-'} |"
            )
        parts.append("\n".join(rows))
    else:
        parts.append("No two subgraphs share an entity or a minute.")

    parts.append("## Chronological Overview")
    day = None
    lines = []
    for line in story.overview:
        if line.hour[:10] != day:
            day = line.hour[:10]
            lines.append(f"\n**{plain(day)}**\n")
        span = line.first_minute[11:] + (f"-{line.last_minute[11:]}" if line.last_minute != line.first_minute else "")
        stages = f" **{', '.join(line.stages)}**;" if line.stages else ""
        lines.append(f"- {plain(span)} {_link(line.subgraph, line.report)}:{stages} {plain(line.text)}")
    parts.append("\n".join(lines).strip() or "No log rows.")

    parts.append("## Benign-looking Subgraphs")
    benign = [s for s in story.subgraphs if s.name in set(story.benign)]
    if benign:
        parts.append(
            "\n".join(
                f"- {_link(s.name, s.report)} ({plain(s.first_minute or '?')} to {plain(s.last_minute or '?')}, {s.log_rows} log rows): {prose(_clip(s.summary))}"
                for s in benign
            )
        )
    else:
        parts.append("None: every subgraph shows at least one stage.")

    parts.append("## Conclusions")
    parts.append("\n".join(f"- {prose(c)}" for c in story.conclusions))
    parts.append("## Next Steps")
    parts.append("\n".join(f"{i}. {prose(s)}" for i, s in enumerate(story.next_steps, 1)) or "None.")

    if story.context is not None:
        from ..render.context import render_context

        parts.extend(render_context(story.context))

    meta = story.metadata
    details = [f"- Generator: {plain(meta.generator)}", f"- Narrator: {plain(meta.narrator)}"]
    if meta.model:
        details.append(f"- Model: {plain(meta.model)}")
    if meta.usage:
        details.append(f"- Usage: {meta.usage.calls} call(s), {meta.usage.prompt_tokens}+{meta.usage.completion_tokens} tokens")
    details += [f"- Dropped {plain(d.kind)}: {plain(d.item)} ({plain(d.reason)})" for d in meta.dropped]
    if meta.context_rows_read is not None:
        details.append(f"- Context rows read: {meta.context_rows_read}")
    details += [f"- Note: {plain(n)}" for n in meta.notes]
    parts.append("<details><summary>Story metadata</summary>\n\n" + "\n".join(details) + "\n\n</details>")
    return "\n\n".join(parts) + "\n"


MAX_FULL_VALUES = 20


def _full_values(values: list[str]) -> str:
    """A row's full values (a sweep's hosts, a file's paths) after its short name."""
    if not values:
        return ""
    shown = ", ".join(code(v) for v in values[:MAX_FULL_VALUES])
    more = f" and {len(values) - MAX_FULL_VALUES} more" if len(values) > MAX_FULL_VALUES else ""
    return f" ({shown}{more})"
