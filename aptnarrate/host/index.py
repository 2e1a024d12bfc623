"""index.json / index.md of a batch: every input with its status, verdict, stages, top IoCs."""

from __future__ import annotations

import json
from urllib.parse import quote

from ..render.escape import code, plain
from .batch import BatchResult, outcome_record

INDEX_FORMAT = 1


def index_document(result: BatchResult) -> dict:
    return {
        "format": INDEX_FORMAT,
        "inputs": [outcome_record(o) for o in result.outcomes],
        "counts": {
            status: sum(1 for o in result.outcomes if o.status == status) for status in ("written", "skipped", "degraded", "failed")
        },
        "story": result.story_files,
        "story_error": result.story_error,
        "story_degraded": result.story_degraded,
    }


def render_index_json(result: BatchResult) -> str:
    return json.dumps(index_document(result), indent=2, ensure_ascii=False) + "\n"


def render_index_markdown(result: BatchResult) -> str:
    document = index_document(result)
    counts = document["counts"]
    lines = ["# Batch index", ""]
    lines.append(
        f"{len(result.outcomes)} input(s): {counts['written']} written, {counts['skipped']} up to date, "
        f"{counts['degraded']} degraded (offline fallback), {counts['failed']} failed."
    )
    if result.story_files:
        lines += ["", "Attack story: " + ", ".join(f"[{plain(f)}]({quote(f)})" for f in result.story_files)]
    lines += ["", "| Input | Status | Verdict | Stages | Top IoCs | Reports |", "|---|---|---|---|---|---|"]
    for record in document["inputs"]:
        status = record["status"]
        if record["reason"]:
            status += ": " + plain(record["reason"][:300])
        reports = ", ".join(f"[{plain(f)}]({quote(f)})" for f in record["outputs"]) or "-"
        lines.append(
            f"| {code(record['input'])} | {status} | {plain(record['verdict'] or '-')} | "
            f"{', '.join(record['stages']) or '-'} | {', '.join(code(v) for v in record['top_iocs']) or '-'} | {reports} |"
        )
    return "\n".join(lines) + "\n"
