"""The columnar log: same JSON and Markdown as a list of LogEntry, and a sequence face for old code."""

from __future__ import annotations

import json

import pytest

import aptnarrate
from aptnarrate import examples
from aptnarrate.preprocess.logtable import LogTable
from aptnarrate.models import LogEntry, Report
from aptnarrate.render.json import load_report, render_json
from aptnarrate.render.markdown import log_action, render_markdown


@pytest.fixture(scope="module")
def report() -> Report:
    return aptnarrate.narrate(examples.path("dropper"), backend="offline")


def _as_list_report(report: Report) -> Report:
    """The same report with its log as plain LogEntry objects (the slow, per-row path)."""
    return Report.model_construct(**{**report.__dict__, "log": list(report.log)})


def test_report_log_is_columnar_and_still_a_sequence_of_entries(report):
    log = report.log
    assert isinstance(log, LogTable) and len(log) == report.metadata.log_rows > 10
    first, last = log[0], log[-1]
    assert isinstance(first, LogEntry) and first.id == "L1" and last.id == f"L{len(log)}"
    entries = list(log)
    assert [e.id for e in entries] == log.id_list()
    assert log[1:3] == entries[1:3]
    # every row's lines are the input lines behind it, each input line in exactly one row
    lines = [line for e in entries for line in e.lines]
    assert len(lines) == len(set(lines)) == report.metadata.events
    assert all(e.subject_ids == sorted(set(e.subject_ids)) for e in entries)
    with pytest.raises(IndexError):
        log[len(log)]


def test_vectorised_json_is_byte_identical_to_pydantic(report):
    for indent in (2, None):
        expected = report.model_dump_json(indent=indent) + "\n"
        assert render_json(report, indent=indent) == expected
        assert render_json(_as_list_report(report), indent=indent) == expected


def test_vectorised_markdown_matches_the_per_entry_rows(report):
    markdown = render_markdown(report)
    for entry in report.log:
        assert f"| {entry.minute} | {log_action(entry)} |\n" in markdown
    assert render_markdown(_as_list_report(report)) == markdown


def test_json_round_trip_and_old_documents_load(report):
    text = render_json(report)
    again = load_report(text)
    assert isinstance(again.log, LogTable) and again == report and render_json(again) == text
    # a document whose log is a list of dicts (what schema 1.0 always was) reads the same
    document = json.loads(text)
    assert document["log"][0]["id"] == "L1"
    assert Report.model_validate(document) == report


def test_timeline_frame_is_the_pandas_face(report):
    frame = report.timeline_frame()
    assert list(frame.columns) == list(LogEntry.model_fields)
    assert len(frame) == len(report.log)
    row = frame.iloc[len(frame) // 2].to_dict()
    assert row == report.log[len(frame) // 2].model_dump()


def test_names_that_need_json_escaping_survive():
    entries = [
        LogEntry(id="L1", minute="2018-04-11 23:58", subject_kind="process", subject_name='a"b\\c\u2028',
                 action="WRITE", object_kind="file", object_name="x\ny\t\x01", count=2, text='A "quoted"\ttext',
                 lines=[3, 5], subject_ids=["p:\"1\"", "p:\\2"], object_ids=[]),
        LogEntry(id="L2", minute="2018-04-11 23:59", subject_kind="process", subject_name="日本語",
                 action="READ", object_kind="file", object_name="", count=1, text="t",
                 lines=[], subject_ids=[], object_ids=["f:1"]),
    ]
    table = LogTable.from_entries(entries)
    assert list(table) == entries
    base = aptnarrate.narrate(examples.path("dropper"), backend="offline")
    hostile = base.model_copy(update={"log": table})
    assert render_json(hostile) == hostile.model_dump_json(indent=2) + "\n"
    assert render_json(hostile, indent=None) == hostile.model_dump_json() + "\n"


def _columns(log: LogTable) -> dict:
    from aptnarrate.preprocess.logtable import PROVENANCE_FIELDS

    return {name: getattr(log, name) for name in ("minute_texts", "descriptions", "entity_ids")} | {
        name: getattr(log, name).tolist() for name in PROVENANCE_FIELDS if name != "entity_ids"
    }


def _deferred_copy(log: LogTable, calls: list) -> LogTable:
    """``log`` rebuilt with its lines and entity ids behind a ``provenance`` function that
    counts its calls."""
    from aptnarrate.preprocess.logtable import PROVENANCE_FIELDS

    eager = {name: getattr(log, name) for name in PROVENANCE_FIELDS}

    def provenance():
        calls.append(1)
        return eager

    return LogTable(
        log.ids, log.minute_codes, log.minute_texts, log.description_codes, log.descriptions, log.counts,
        provenance=provenance,
    )


def test_a_table_with_provenance_computes_it_once_on_first_read_and_reads_alike(report):
    calls: list = []
    deferred = _deferred_copy(report.log, calls)
    assert calls == [] and len(deferred) == len(report.log)
    assert deferred.to_records() == report.log.to_records() and calls == [1]
    assert _columns(deferred) == _columns(report.log) and calls == [1]
    with pytest.raises(AttributeError):
        deferred.not_a_column  # noqa: B018 - any other missing attribute still raises


def test_markdown_never_computes_the_provenance_and_json_does(report):
    calls: list = []
    deferred = report.model_copy(update={"log": _deferred_copy(report.log, calls)})
    assert render_markdown(deferred) == render_markdown(report) and calls == []
    assert render_json(deferred) == render_json(report) and calls == [1]


def test_a_table_with_provenance_pickles_with_its_columns(report):
    """A forked batch worker sends its reports back pickled: the function is not sent,
    the columns it computes are."""
    import pickle

    calls: list = []
    deferred = _deferred_copy(report.log, calls)
    again = pickle.loads(pickle.dumps(deferred))
    assert calls == [1] and again._provenance is None
    assert again.to_records() == report.log.to_records()


def test_columns_and_a_provenance_function_together_are_refused(report):
    """One source for the line and entity-id columns: given both, the columns were ignored."""
    log = report.log
    with pytest.raises(TypeError, match="not both"):
        LogTable(
            log.ids, log.minute_codes, log.minute_texts, log.description_codes, log.descriptions, log.counts,
            line_offsets=log.line_offsets, provenance=dict,
        )


def test_loading_a_saved_report_reads_its_log_as_columns_not_row_by_row(report, monkeypatch):
    """A saved report's log is read column by column: one ``LogEntry`` validation per row
    made loading a 128 MB report (237k rows) take 6 s, twice its writing."""
    calls = []
    validate = LogEntry.model_validate.__func__

    def counting(cls, *args, **kwargs):
        calls.append(1)
        return validate(cls, *args, **kwargs)

    monkeypatch.setattr(LogEntry, "model_validate", classmethod(counting))
    text = render_json(report)
    again = load_report(text)
    assert calls == [] and again == report and render_json(again) == text


def _variants(text: str) -> list[str]:
    """Hand-edited forms of a saved report: values pydantic coerces, values it refuses,
    keys added or missing, and documents that are not a report at all."""
    document = json.loads(text)
    out = []

    def edit(change):
        copy = json.loads(text)
        change(copy)
        out.append(json.dumps(copy))

    row = document["log"][1]
    for key, value in [
        ("count", "3"), ("count", True), ("count", 3.0), ("count", 2.5), ("count", 2**64), ("count", None),
        ("lines", [1.0, 2]), ("lines", ["7"]), ("lines", "7"), ("lines", [True]), ("subject_ids", "x"),
        ("subject_ids", [3]), ("object_ids", [None]), ("minute", 5), ("text", ["a"]), ("id", None),
    ]:  # fmt: skip
        edit(lambda d, key=key, value=value: d["log"][1].update({key: value}))
    edit(lambda d: d["log"][2].update({"extra": 1}))
    edit(lambda d: d["log"][0].pop("object_ids"))
    edit(lambda d: d["log"].insert(1, "L1"))
    edit(lambda d: d["log"].insert(1, None))
    edit(lambda d: d.update({"log": {"L1": row}}))
    edit(lambda d: d.update({"log": []}))
    edit(lambda d: d.pop("log"))
    edit(lambda d: d.update({"schema_version": "2.0"}))
    edit(lambda d: d.update({"title": 3}))
    edit(lambda d: d.update({"unknown": 1}))
    out += [text[: len(text) // 2], "[]", "null", '"x"', "{", "\ufeff" + text, text.replace('"count": ', '"count": NaN, "x": ', 1)]
    return out


def _outcome(load, text: str):
    from pydantic import ValidationError

    try:
        return ("ok", render_json(load(text)))
    except ValidationError as exc:
        return ("error", [(e["type"], e["loc"], e["msg"]) for e in exc.errors()])


def test_hand_edited_reports_load_exactly_as_pydantic_reads_them(report):
    """The columnar reading of a saved report accepts, converts and refuses exactly what
    ``Report.model_validate_json`` does, with the same errors."""
    for text in _variants(render_json(report)):
        assert _outcome(load_report, text) == _outcome(lambda t: Report.model_validate_json(t.removeprefix("\ufeff")), text), text[:80]
