"""The condensed log of every corpus case equals the log in OCR-APT's own report.

The corpus CSVs were rebuilt from the reports' "Chronological Log" rows, so ingest +
condense must give those rows back exactly: same minutes, events and "(N times)" counts.
Only the order within a minute is not compared (the LLM reordered rows). Leniency is
granted only where the case's manifest notes document an inference.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import corpus_manifest
from reference_log import RefRow, parse_reference_log

from aptnarrate.preprocess.condense import Timeline, condense, minute_text
from aptnarrate.preprocess.ingest import IngestOptions, read_events

MANIFEST = corpus_manifest()
CASES = [case["id"] for case in MANIFEST["cases"]] if MANIFEST else ["corpus-absent"]
# the edge lists hold UTC nanoseconds; the reports' clock is America/Nipigon (= Toronto)
FORMATS = {"csv": IngestOptions(), "edges": IngestOptions(timezone="America/Toronto")}

Row = tuple[str, tuple[str, str], str, tuple[str, str], int]


def _case(case_id: str) -> dict:
    return next(case for case in MANIFEST["cases"] if case["id"] == case_id)


def _notes(case: dict) -> str:
    return " ".join(case["notes"]).lower()


def _our_rows(timeline: Timeline) -> list[Row]:
    descriptions = timeline.descriptions
    rows = []
    for minute, position, count in zip(
        minute_text(timeline.log["minute"]), timeline.log["description"], timeline.log["count"], strict=True
    ):
        d = descriptions.row(position)
        rows.append((minute, (d["subject_kind"], d["subject_name"]), d["action"], (d["object_kind"], d["object_name"]), int(count)))
    return rows


def _reference_rows(case: dict, corpus: Path, prose: list[str] | None = None) -> list[RefRow]:
    """The reference's log rows. For an ``approximate`` case (a log partly in prose, mapped to
    events by verb when the corpus was built), rows the grammar cannot read go to ``prose``."""
    markdown = (corpus / case["files"]["reference"]).read_text(encoding="utf-8")
    if case.get("approximate") and prose is None:
        prose = []
    return parse_reference_log(markdown, default_date=case["first_minute"][:10], prose=prose)


def _expected(case: dict, reference: list[RefRow]) -> tuple[Counter, bool]:
    """Reference rows as a multiset, with each documented inference applied."""
    notes = _notes(case)
    fold_case = "capitalised subject folded" in notes
    rows: list[Row] = []
    for row in reference:
        subject = row.subject
        if subject is None:
            assert "omit the subject" in notes, f"{row.source!r} omits its subject, and no manifest note explains it"
            assert "unnamed process" in notes
            subject = ("process", "")
        rows.append((row.minute, subject, row.action, row.object, row.count))
    if "kept once" in notes:  # the builder kept a repeated identical row once
        rows = list(dict.fromkeys(rows))
    return Counter(_fold(r) if fold_case else r for r in rows), fold_case


def _fold(row: Row) -> Row:
    minute, (s_kind, s_name), action, (o_kind, o_name), count = row
    return (minute, (s_kind, s_name.lower()), action, (o_kind, o_name.lower()), count)


def _diff(expected: Counter, got: Counter) -> str:
    missing = sorted((expected - got).elements())
    extra = sorted((got - expected).elements())
    lines = [f"missing {len(missing)}, unexpected {len(extra)}"]
    lines += [f"  - {r}" for r in missing[:15]]
    lines += [f"  + {r}" for r in extra[:15]]
    return "\n".join(lines)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case_id", CASES)
def test_condensed_log_matches_reference(corpus_dir: Path, case_id: str, fmt: str) -> None:
    case = _case(case_id)
    prose: list[str] = []
    reference = _reference_rows(case, corpus_dir, prose)
    expected, fold_case = _expected(case, reference)
    timeline = condense(read_events(corpus_dir / case["files"][fmt], FORMATS[fmt]))
    ours = _our_rows(timeline)
    got = Counter(_fold(r) if fold_case else r for r in ours)
    if prose:
        # prose rows became events the grammar cannot recover: every structured row must be
        # ours, and the total must be the manifest's count of log rows
        assert not expected - got, f"{case_id} ({fmt}): {_diff(expected, got)}"
        assert len(ours) == case["n_log_rows"]
    else:
        assert got == expected, f"{case_id} ({fmt}): {_diff(expected, got)}"
    # OCR-APT's condensation never yields two rows for one (minute, event)
    assert len(ours) == len(set((m, s, a, o) for m, s, a, o, _ in ours))


@pytest.mark.parametrize("case_id", CASES)
def test_reference_parse_agrees_with_manifest(corpus_dir: Path, case_id: str) -> None:
    """Guards the helper: row and event totals equal the manifest's, so no row was dropped."""
    case = _case(case_id)
    prose: list[str] = []
    expected, _ = _expected(case, _reference_rows(case, corpus_dir, prose))
    if prose:
        assert case["approximate"], f"{case_id}: unreadable rows outside an approximate case: {prose[:3]}"
        pytest.skip(f"{case_id}: {len(prose)} prose row(s) in an approximate case; totals checked against our log instead")
    assert sum(expected.values()) == case["n_log_rows"]
    assert sum(row[-1] * n for row, n in expected.items()) == case["n_rows"]
    minutes = sorted(row[0] for row in expected)
    assert (minutes[0], minutes[-1]) == (case["first_minute"], case["last_minute"])
    assert len(set(minutes)) == case["n_minutes"]


@pytest.mark.parametrize("case_id", CASES)
def test_csv_and_edge_list_give_the_same_log(corpus_dir: Path, case_id: str) -> None:
    case = _case(case_id)
    logs = []
    for fmt in sorted(FORMATS):
        timeline = condense(read_events(corpus_dir / case["files"][fmt], FORMATS[fmt]))
        texts = timeline.descriptions["text"][timeline.log["description"]]
        logs.append(list(zip(minute_text(timeline.log["minute"]), texts, timeline.log["count"].tolist(), strict=True)))
    assert logs[0] == logs[1]


def test_prose_rows_are_collected_only_when_asked() -> None:
    markdown = (
        "## Chronological Log of Actions\n\n### 11:32\n"
        "- `svchost.exe LOAD the module: System.ni.dll`\n"
        "- svchost.exe loaded multiple modules and others\n"
    )
    prose: list[str] = []
    rows = parse_reference_log(markdown, default_date="2019-09-24", prose=prose)
    assert [(r.minute, r.action, r.object) for r in rows] == [("2019-09-24 11:32", "LOAD", ("module", "System.ni.dll"))]
    assert prose == ["- svchost.exe loaded multiple modules and others"]
    with pytest.raises(ValueError, match="unparseable"):
        parse_reference_log(markdown, default_date="2019-09-24")
