"""Markdown rendering: the seed layout, and names that try to break it."""

from __future__ import annotations

from aptnarrate.models import IoCEntry, LogEntry, Metadata, Report, StageFinding
from aptnarrate.render.escape import code, prose
from aptnarrate.render.json import load_report
from aptnarrate.render.markdown import log_action, render_markdown


def _entry(**overrides) -> LogEntry:
    base = dict(
        id="L1",
        minute="2018-04-11 23:58",
        subject_kind="process",
        subject_name="",
        action="CLOSE",
        object_kind="file",
        object_name="libbz2.so.4",
        count=1,
        text="A process CLOSE the file: libbz2.so.4",
        lines=[2],
        subject_ids=["process:<unnamed subject>"],
        object_ids=["file:libbz2.so.4"],
    )
    base.update(overrides)
    return LogEntry(**base)


def _report(log: list[LogEntry], iocs: list[IoCEntry] | None = None, summary: str = "Nothing.") -> Report:
    return Report(
        title="Attack Report: x.csv",
        input_name="x.csv",
        summary=summary,
        stages=[],
        iocs=iocs or [],
        log=log,
        metadata=Metadata(
            generator="aptnarrate test",
            backend="offline",
            timezone="UTC",
            time_basis="epoch converted to UTC",
            input_format="ocrapt",
            rows_read=1,
            events=1,
            log_rows=len(log),
        ),
    )


def test_log_row_in_seed_wording():
    assert log_action(_entry()) == "A process CLOSE the file: `libbz2.so.4`."
    named = _entry(subject_name="Mail", action="CONNECT", object_kind="flow", object_name="", count=6)
    assert log_action(named) == "The process `Mail` CONNECT a flow (6 times)."


def test_seed_layout_sections_in_order():
    text = render_markdown(_report([_entry()]))
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Attack Report: x.csv",
        "## Summary of Attack Behavior",
        "## Table of Indicators of Compromise (IoCs)",
        "## Chronological Log of Actions",
    ]
    assert "| 2018-04-11 23:58 | A process CLOSE the file: `libbz2.so.4`. |" in text
    assert "Times are in UTC" in text


def test_hostile_names_cannot_break_the_table_or_inject_html():
    hostile = "a|b`c\nd<script>alert(1)</script>"
    text = render_markdown(_report([_entry(object_name=hostile)]))
    row = next(line for line in text.splitlines() if line.startswith("| 2018-04-11 23:58"))
    # one row, two cells: every pipe inside the name is escaped
    unescaped_pipes = row.replace("\\|", "").count("|")
    assert unescaped_pipes == 3
    assert "\n" not in row and "\\n" in row
    # the name sits in a code span whose fence is longer than any backtick run in it
    assert "``a\\|b`c\\nd<script>alert(1)</script>``" in row
    assert "<script>" not in text.replace("``a\\|b`c\\nd<script>alert(1)</script>``", "")


def test_code_span_edge_cases():
    assert code("`x`") == "`` `x` ``"
    assert code("") == "`  `"
    assert code("a|b", in_table=False) == "`a|b`"


def test_narrator_prose_keeps_its_markup_but_not_html():
    out = prose("**bold** then `a<b>` and <img src=x onerror=alert(1)>")
    assert out.startswith("**bold** then `a<b>` and &lt;img")
    assert "<img" not in out


def test_stage_names_bold_and_ioc_context_escaped():
    ioc = IoCEntry(
        value="evil|name",
        type="file",
        rank=1,
        likelihood="high",
        legitimate_usage="Not a known file.\nSecond line | pipe",
        rationale="Written then executed.",
        reasons=["executed"],
        evidence=["L1"],
        first_seen="2018-04-11 23:58",
        last_seen="2018-04-11 23:58",
    )
    report = _report([_entry()], [ioc], summary="Activity consistent with command and control.")
    report = report.model_copy(
        update={
            "stages": [
                StageFinding(
                    stage="Command and Control",
                    confidence="high",
                    evidence=["L1"],
                    minutes=["2018-04-11 23:58"],
                    rationale="Beacons.",
                )
            ]
        }
    )
    text = render_markdown(report)
    assert "consistent with **Command and Control**." in text
    row = next(line for line in text.splitlines() if line.startswith("| `evil"))
    assert row.startswith("| `evil\\|name` | Not a known file. Second line \\| pipe Exploitation likelihood: **High**.")


def test_json_round_trip_is_identical():
    report = _report([_entry()])
    assert load_report(report.to_json()) == report
    assert load_report(report.to_json()).to_markdown() == report.to_markdown()


def test_prose_cannot_link_or_fake_a_heading():
    out = prose("see [report](http://evil.example/x) and ![img](http://evil.example/i.png)\n## Table of IoCs")
    assert "](http" not in out.replace("\\](http", "")
    assert "\\[report\\]" in out
    assert "\n\\## Table of IoCs" in out
