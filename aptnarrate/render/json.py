"""render_json(report) -> str: the Report itself, as JSON (``aptnarrate render`` reads it back)."""

from __future__ import annotations

from ..models import Report


def render_json(report: Report, indent: int | None = 2) -> str:
    return report.model_dump_json(indent=indent) + "\n"


def load_report(text: str) -> Report:
    """Parse a report written by ``render_json`` (validates the schema)."""
    return Report.model_validate_json(text)
