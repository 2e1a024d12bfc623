"""Shared helpers for the output-format tests: the example report and a hostile variant."""

from __future__ import annotations

from functools import lru_cache

import aptnarrate
from aptnarrate.examples import path as example_path
from aptnarrate.models import Report

# every kind of string that could break a format: markup, a Markdown table cell, a code
# span, a line, a spreadsheet formula (DDE), and a right-to-left override
HOSTILE = "<script>alert(1)</script>|`x`\nnext =cmd|' /C calc'!A0 \u202eexe.txt\u202c"
FORMULA = "=cmd|' /C calc'!A0"


@lru_cache(maxsize=1)
def example_report() -> Report:
    """The dropper example from its edge list (full paths and flows), offline narrator."""
    return aptnarrate.narrate(example_path("dropper", "edges"), backend="offline", timezone="America/Toronto")


@lru_cache(maxsize=1)
def hostile_report() -> Report:
    """The example with HOSTILE as the input name, in the summary and a stage rationale, as
    the first IoC's value and full value, and as names in the log rows that IoC cites."""
    report = example_report()
    first = report.iocs[0]
    iocs = [first.model_copy(update={"value": HOSTILE, "full_values": [f"/tmp/{HOSTILE}", FORMULA]}), *report.iocs[1:]]
    log = []
    for entry in report.log:
        update = {}
        if entry.object_name == first.value:
            update["object_name"] = HOSTILE
        if entry.subject_name == first.value:
            update["subject_name"] = HOSTILE
        log.append(entry.model_copy(update=update) if update else entry)
    stages = [report.stages[0].model_copy(update={"rationale": f"Rationale {HOSTILE}"}), *report.stages[1:]]
    return report.model_copy(
        update={
            "input_name": HOSTILE,
            "title": f"Attack Report: {HOSTILE}",
            "summary": f"{report.summary} {HOSTILE}",
            "iocs": iocs,
            "log": log,
            "stages": stages,
        }
    )
