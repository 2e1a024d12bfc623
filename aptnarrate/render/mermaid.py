"""render_mermaid(report) -> str: the subgraph's entities and actions as a Mermaid
flowchart (GitHub and GitLab render ``mermaid`` code blocks).

Every label is written with Mermaid's entity codes for anything but letters, digits and a
few safe marks, so a name cannot close a label, start a link, inject HTML or end the code
fence; control characters are shown as ``\\n``-style text.
"""

from __future__ import annotations

import re

from .escape import show_invisible
from .views import entity_graph

MAX_NODES = 40
MAX_EDGES = 80
_SAFE = re.compile(r"[A-Za-z0-9 ._/:-]")
_SHAPES = {"process": ('["', '"]'), "flow": ('(["', '"])'), "file": ('[/"', '"/]')}


def _label(text: str, limit: int = 60) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    # invisible characters (bidi overrides, zero-width spaces, ESC) are shown as escapes
    # (after the cut, which would split one): Mermaid decodes an entity code back to the
    # live character
    text = show_invisible(text)
    out = []
    for char in text:
        if _SAFE.match(char):
            out.append(char)
        elif char in "\n\r\t":
            out.append({"\n": "#92;n", "\r": "#92;r", "\t": "#92;t"}[char])
        else:
            out.append(f"#{ord(char)};")
    return "".join(out)


def render_mermaid(report) -> tuple[str, str]:
    """The flowchart text and a note when the graph was bounded ("" otherwise)."""
    graph = entity_graph(report, max_nodes=MAX_NODES, max_edges=MAX_EDGES)
    lines = ["flowchart LR"]
    for node in graph.nodes:
        start, end = _SHAPES.get(node.kind, ('["', '"]'))
        lines.append(f"  {node.id}{start}{_label(node.kind)}: {_label(node.label)}{end}")
    for edge in graph.edges:
        times = f" x{edge.count}" if edge.count > 1 else ""
        lines.append(f'  {edge.source} -->|"{_label(edge.action, 30)}{times}"| {edge.target}')
    iocs = [n.id for n in graph.nodes if n.likelihood in ("moderate", "high")]
    if iocs:
        lines.append("  classDef ioc fill:#ffd6d6,stroke:#c00000,stroke-width:2px")
        lines.append(f"  class {','.join(iocs)} ioc")
    return "\n".join(lines), graph.note()
