"""The context part of a report (and of a story) as Markdown: one section per top IoC, then its rows.

Pure, like ``render.markdown``: every name from the logs goes through ``escape.code``.
"""

from __future__ import annotations

from ..models import ContextInfo, ContextRow
from .escape import code, plain
from ..wording import capped_list

_TYPE = {"ip": "address", "process": "process", "file": "file"}
MAX_LISTED = 12


def _names(values: list[str]) -> str:
    return capped_list([code(v) for v in values], MAX_LISTED)


def _row(row: ContextRow) -> str:
    subject = f"The {row.subject_kind} {code(row.subject_name)}" if row.subject_name else f"A {row.subject_kind}"
    obj = f"the {row.object_kind}: {code(row.object_name)}" if row.object_name else f"a {row.object_kind}"
    times = f" ({row.count} times)" if row.count > 1 else ""
    return f"{subject} {row.action} {obj}{times}."


def render_context(context: ContextInfo | None) -> list[str]:
    """Markdown blocks for the report, or none when the report has no context."""
    if context is None:
        return []
    out = [
        "## Context from the Host's Wider Log",
        f"The top IoCs looked up in {code(context.source)} ({plain(context.engine)}), "
        f"from {context.window_start} to {context.window_end}: {context.rows_read} context rows read. "
        "Rows the subgraph already holds are not repeated; context rows are cited as C1, C2, ...",
    ]
    rows = {r.id: r for r in context.rows}
    for section in context.sections:
        lines = [f"### {_TYPE.get(section.type, section.type).title()} {code(section.ioc)} (rank {section.rank})"]
        total = section.before + section.during + section.after
        if not total:
            lines.append(
                "Nothing else in the wider log touched it in the window"
                + (f" ({section.in_subgraph} of its rows are already in the subgraph)." if section.in_subgraph else ".")
            )
            out.append("\n\n".join(lines))
            continue
        lines.append(
            f"{total} further row(s) touch it: {section.before} before the subgraph, {section.during} during it, "
            f"{section.after} after it ({section.in_subgraph} row(s) already in the subgraph)."
        )
        if section.neighbours:
            lines.append("What else touched it: " + _names(section.neighbours) + ".")
        missed = []
        if section.missed_entities:
            missed.append("entities " + _names(section.missed_entities))
        if section.missed_stages:
            missed.append("stages " + ", ".join(f"**{plain(s)}**" for s in section.missed_stages))
        lines.append("What the detector missed: " + ("; ".join(missed) if missed else "nothing the subgraph does not show") + ".")
        table = ["| Row | Timestamp | When | Action Description |", "|-----|-----------|------|--------------------|"]
        table += [f"| {rid} | {rows[rid].minute} | {rows[rid].when} | {_row(rows[rid])} |" for rid in section.rows if rid in rows]
        shown = len(section.rows)
        lines.append("\n".join(table))
        if shown < total:
            lines.append(f"{total - shown} further row(s) not listed (the counts above are complete).")
        out.append("\n\n".join(lines))
    out.extend(f"Note: {plain(n)}" for n in context.notes)
    return out
