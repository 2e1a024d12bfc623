"""render_csv(report) -> str: the listed IoCs as CSV, for SIEM watchlists.

One row per IoC and full value (a file name seen under two paths gives two rows), RFC 4180
quoting, and every cell a spreadsheet would read as a formula neutralised with a leading
apostrophe (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import csv
import io
import re

from ..models import Report
from .escape import INVISIBLE_CLASS

COLUMNS = (
    "value",
    "full_value",
    "type",
    "likelihood",
    "rank",
    "first_seen",
    "last_seen",
    "subgraph",
    "reasons",
    "log_rows",
)
# a cell starting with these (after any spaces) is a formula or DDE call in Excel,
# LibreOffice or Google Sheets; their full-width and small forms too (some apps fold them)
_FORMULA_START = (
    "=", "+", "-", "@", "\t", "\r", "\n",
    "\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66", "\ufe62", "\ufe63", "\ufe6b",
)  # fmt: skip
# what may come before them and be skipped or not shown: blanks of every kind (NBSP, the
# ideographic space) and every character a reader cannot see (zero-width, BOM, bidi
# controls, DEL, tags, Hangul fillers: ``escape.INVISIBLE_CLASS``)
_SKIPPABLE_LEAD = re.compile(f"[\\s{INVISIBLE_CLASS}]*")


def neutralise(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text: a leading apostrophe before a formula."""
    lead = _SKIPPABLE_LEAD.match(cell).end()  # one linear scan, however long the run
    if cell.startswith(_FORMULA_START) or cell[lead:].startswith(_FORMULA_START):
        return "'" + cell
    return cell


def render_csv(report: Report) -> str:
    return render_csv_rows([(report.input_name, report)])


def render_csv_rows(reports) -> str:
    """The IoC rows of several ``(subgraph name, report)`` pairs in one CSV (the story's)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for subgraph, report in reports:
        _write_iocs(writer, report, subgraph)
    return buffer.getvalue()


def _write_iocs(writer, report: Report, subgraph: str) -> None:
    for entry in report.iocs:
        for full in entry.full_values or [entry.value]:
            cells = (
                entry.value,
                full,
                entry.type,
                entry.likelihood,
                str(entry.rank),
                entry.first_seen,
                entry.last_seen,
                subgraph,
                "; ".join(entry.reasons),
                " ".join(entry.evidence),
            )
            writer.writerow([neutralise(c) for c in cells])
