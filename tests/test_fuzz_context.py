"""Fuzzing the context path from the outside (session 9): ``index``, ``--context``,
``pivot`` and ``ask`` with hostile inputs. Each case here failed before its fix.
"""

from __future__ import annotations

import json
import shutil

import pytest
from cli_in_process import refused, run_main
from llm_server import clear_model_settings

from aptnarrate.examples import path as example_path

EDGES = str(example_path("dropper", "edges"))  # the shipped edge list, read as a host's wider log
OCRAPT = str(example_path("dropper"))  # the same subgraph in OCR-APT's per-subgraph layout


@pytest.fixture(autouse=True)
def no_model_settings(monkeypatch):
    clear_model_settings(monkeypatch)


def _ok(argv: list[str]) -> str:
    code, out, err = run_main(argv)
    assert code == 0, err
    return out


# --------------------------------------------------------------------------- index: what it takes


def test_index_refuses_an_ocrapt_subgraph_before_converting_any_file(tmp_path):
    """``index`` checked only for a timestamp column, so an OCR-APT subgraph
    (``description,timestamp``) was indexed, and ``--context`` failed on the index later
    ("no column 'subject_uuid'"). Every file is now checked as an edge list first."""
    from aptnarrate.context.index import index_events
    from aptnarrate.errors import InputError

    out = tmp_path / "idx"
    refused(["index", EDGES, OCRAPT, "-o", str(out)], 3, OCRAPT, "OCR-APT per-subgraph file", "edge list")
    assert list(tmp_path.iterdir()) == []  # no index, no temp folder
    done = []
    with pytest.raises(InputError):
        index_events([EDGES, OCRAPT], out, progress=lambda *a: done.append(a))
    assert done == [] and list(tmp_path.iterdir()) == []  # refused before the first file was converted


def test_context_given_an_ocrapt_subgraph_says_what_it_is(tmp_path):
    argv = ["report", EDGES, "--backend", "offline", "--context", OCRAPT, "-o", str(tmp_path / "r.md")]
    refused(argv, 3, OCRAPT, "OCR-APT per-subgraph file", "edge list")
    assert list(tmp_path.iterdir()) == []


def test_index_column_roles_are_the_edge_lists(tmp_path):
    """``index --column ROLE=NAME`` took any role and used only ``timestamp``: a typo or an
    OCR-APT role was ignored without a word. The mapping now names the edge list's columns,
    as it does for ``--context``."""
    refused(["index", EDGES, "--column", "descripton=x", "-o", str(tmp_path / "a")], 2, "unknown column role 'descripton'")
    refused(["index", EDGES, "--column", "description=x", "-o", str(tmp_path / "b")], 2, "unknown column role 'description'")
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(example_path("dropper", "edges").read_text(encoding="utf-8").replace("subject_attr", "exe", 1), encoding="utf-8")
    refused(["index", str(renamed), "-o", str(tmp_path / "c")], 3, str(renamed), "no column 'subject_attr'")
    _ok(["index", str(renamed), "--column", "subject_attr=exe", "-o", str(tmp_path / "d")])
    mapped = _ok(["report", str(renamed), "--backend", "offline", "--column", "subject_attr=exe", "--context", str(tmp_path / "d")])
    plain = _ok(["report", EDGES, "--backend", "offline", "--context", EDGES])
    assert "212 context rows read" in mapped and "212 context rows read" in plain



def test_index_puts_every_row_of_a_log_mixing_epoch_units_in_its_day(tmp_path):
    """``index`` took one epoch unit for a whole file from the median of its first 1,000
    rows, so in a log mixing milliseconds and nanoseconds the milliseconds were read as
    nanoseconds and filed under ``day=1970-01-01``, a day ``--context DIR`` then skipped:
    212 context rows read from the log, 142 from its index. Each value's unit now comes
    from its magnitude, as ingest and the context query read it."""
    lines = example_path("dropper", "edges").read_text(encoding="utf-8").splitlines()
    mixed = [lines[0]]
    for number, line in enumerate(lines[1:]):
        fields = line.split(",")
        if number % 3 == 0:  # a third of the rows in milliseconds, the rest in nanoseconds
            fields[4] = str(int(fields[4]) // 10**6)
        mixed.append(",".join(fields))
    log = tmp_path / "mixed.csv"
    log.write_text("\n".join(mixed) + "\n", encoding="utf-8")
    _ok(["index", str(log), "-o", str(tmp_path / "idx")])
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["day=2025-05-14"]
    want = _ok(["report", EDGES, "--backend", "offline", "--context", str(log)])
    got = _ok(["report", EDGES, "--backend", "offline", "--context", str(tmp_path / "idx")])
    assert "212 context rows read" in want and _sections(got) == _sections(want)


def test_index_refuses_files_whose_timestamps_take_different_forms(tmp_path):
    """One file of integer epochs and one of text times were indexed into one folder,
    which --context then could not read as one table (exit 3 at the first report:
    "Could not convert string ... to INT64"). Refused now, before any file is converted."""
    from datetime import datetime, timezone

    lines = example_path("dropper", "edges").read_text(encoding="utf-8").splitlines()
    epochs, texts = tmp_path / "epochs.csv", tmp_path / "texts.csv"
    epochs.write_text("\n".join([lines[0], *lines[1::2]]) + "\n", encoding="utf-8")
    rows = []
    for line in lines[2::2]:
        fields = line.split(",")
        fields[4] = datetime.fromtimestamp(int(fields[4]) / 1e9, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        rows.append(",".join(fields))
    texts.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    refused(["index", str(epochs), str(texts), "-o", str(tmp_path / "idx")], 3, str(texts), "text times", "integer epochs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epochs.csv", "texts.csv"]
    _ok(["index", str(texts), "-o", str(tmp_path / "idx")])  # each form alone is indexed
    assert "context rows read" in _ok(["report", EDGES, "--backend", "offline", "--context", str(tmp_path / "idx")])

# --------------------------------------------------------------------------- paths that are not UTF-8


def _sections(markdown: str) -> str:
    return markdown[markdown.index("## Context from the Host's Wider Log") : markdown.index("The top IoCs looked up in")]


def test_a_context_log_whose_path_is_not_utf8_is_read(tmp_path):
    """A file name holding a byte that is not UTF-8 (legal on Linux) reached DuckDB as a
    string with a surrogate, which it refuses: exit 3, "cannot read the context log"."""
    log = tmp_path / "log\udcff.csv"  # the byte 0xff in the file's name
    shutil.copyfile(EDGES, log)
    want = _ok(["report", EDGES, "--backend", "offline", "--context", EDGES])
    got = _ok(["report", EDGES, "--backend", "offline", "--context", str(log)])
    assert _sections(got) == _sections(want) and "log\ufffd.csv" in got
    # the JSON document names the source with U+FFFD (a surrogate cannot be written as JSON)
    document = json.loads(_ok(["report", EDGES, "--backend", "offline", "--format", "json", "--context", str(log)]))
    assert document["context"]["source"] == str(tmp_path / "log\ufffd.csv") and document["context"]["rows_read"] == 212


def test_index_from_and_into_paths_that_are_not_utf8(tmp_path):
    log, out = tmp_path / "log\udcff.csv", tmp_path / "idx\udcff"
    shutil.copyfile(EDGES, log)
    _ok(["index", str(log), "-o", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["day=2025-05-14"]
    want = _ok(["report", EDGES, "--backend", "offline", "--context", EDGES])
    assert _sections(_ok(["report", EDGES, "--backend", "offline", "--context", str(out)])) == _sections(want)


def test_index_refuses_a_log_with_its_own_day_column(tmp_path):
    """A log with a column named ``day`` was indexed into ``DIR/day_1=2025-05-14``
    (DuckDB renamed the second ``day``): "into 0 day(s)", and ``--context DIR`` could no
    longer skip the days outside its window."""
    log = tmp_path / "log.csv"
    lines = example_path("dropper", "edges").read_text(encoding="utf-8").splitlines()
    log.write_text("\n".join([lines[0] + ",Day", *(line + ",monday" for line in lines[1:])]) + "\n", encoding="utf-8")
    refused(["index", str(log), "-o", str(tmp_path / "idx")], 3, str(log), "column named 'Day'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


# --------------------------------------------------------------------------- ask: bounded work


@pytest.fixture(scope="module")
def dropper_report():
    from aptnarrate.pipeline import narrate

    return narrate(example_path("dropper", "edges"), backend="offline")


def _plain_evidence(rows: list[dict], question: str) -> list[dict]:
    """What ``evidence_rows`` computes, written plainly (rows naming what the question
    names first, then the others, cut to MAX_ROWS), with a deterministic name order."""
    from aptnarrate.context.ask import MAX_ROWS

    named = [n for n in {r[k] for r in rows for k in ("subject", "object")} if n and n.casefold() in question.casefold()]
    first = [r for r in rows if r["subject"] in named or r["object"] in named or any(n in r["event"] for n in named)]
    return (first + [r for r in rows if r not in first])[:MAX_ROWS]


def test_ask_takes_the_rows_naming_the_question_first_in_bounded_time(dropper_report):
    """Picking the rows for ``ask`` compared every row not naming the question with every
    row that did: a question naming a process of 17k rows in a saved 1M-row report did not
    finish in 5 minutes. One pass now, stopping at MAX_ROWS."""
    import itertools
    import time

    from aptnarrate.context.ask import MAX_ROWS, evidence_rows
    from aptnarrate.preprocess.logtable import LogTable

    rows = evidence_rows(dropper_report, "")
    for question in ["", "What did thunderbird do?", "UPDATE.SH and sh", "invoice.pdf.sh then 198.51.100.23", "nothing named"]:
        assert evidence_rows(dropper_report, question) == _plain_evidence(rows, question), question
    base = list(dropper_report.log)
    entries = [e.model_copy(update={"id": f"L{i + 1}"}) for i, e in enumerate(itertools.islice(itertools.cycle(base), 100_000))]
    large = dropper_report.model_copy(update={"log": LogTable.from_entries(entries)})
    started = time.perf_counter()
    got = evidence_rows(large, "what did thunderbird do?")
    assert time.perf_counter() - started < 5
    assert len(got) == MAX_ROWS and all("thunderbird" in (r["subject"], r["object"]) or "thunderbird" in r["event"] for r in got)


def test_a_row_too_large_for_the_budget_does_not_hide_the_rows_after_it(dropper_report):
    """``ask`` took rows while they fit and stopped at the first that did not: one row
    naming a file of a 100 KB name (~12,500 tokens) early in the list left the model only
    the rows before it (a crafted report of six rows: one, 477 of 12,000 tokens). Such a
    row is passed over now and the rows after it are taken while they fit."""
    from aptnarrate.context.ask import evidence_rows, fit_rows
    from aptnarrate.llm.config import LLMSettings
    from aptnarrate.preprocess.logtable import LogTable

    entries = list(dropper_report.log)
    at = next(i for i, e in enumerate(entries) if e.subject_name == "thunderbird" and e.object_kind == "file")
    huge = "A" * 100_000 + ".bin"
    entries[at] = entries[at].model_copy(update={"object_name": huge, "text": f"The process: thunderbird WRITE the file: {huge}"})
    report = dropper_report.model_copy(update={"log": LogTable.from_entries(entries)})
    found = evidence_rows(report, "What did thunderbird do?")
    assert any(huge in r["event"] for r in found[:3])  # among the first rows, those naming the question
    given, tokens, _ = fit_rows("What did thunderbird do?", found, LLMSettings(token_budget=12_000))
    assert tokens <= 12_000 and [r for r in found if huge not in r["event"]] == given


# --------------------------------------------------------------------------- time spans and zones


def test_a_context_window_reaching_past_the_range_of_times_is_cut_there(tmp_path):
    """A subgraph of 1678 with ``--context-window 3650d`` padded its span to before
    1677-09-21, past nanosecond timestamps: an internal error (OverflowError)."""
    subgraph, log = tmp_path / "old.csv", tmp_path / "log.csv"
    subgraph.write_text("description,timestamp\nThe process: a READ the file: b,1678-01-02 00:00:00\n", encoding="utf-8")
    log.write_text(
        "subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr\n"
        "u1,SUBJECT_PROCESS,/bin/a,EVENT_READ,1678-01-02 00:00:00,u2,FILE_OBJECT_FILE,/tmp/b\n",
        encoding="utf-8",
    )
    for window in ("3650d", "36000d"):
        out = _ok(["report", str(subgraph), "--backend", "offline", "--context", str(log), "--context-window", window])
        assert "from 1677-09-23 00:00 to " in out and "1 context rows read" in out


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-context")
    _ok(["report", EDGES, "--backend", "offline", "--format", "json", "-o", str(folder / "report.json")])
    return folder, json.loads((folder / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda d: d["log"][0].update(minute="garbage"), "log minute 'garbage'"),
        (lambda d: d["log"][0].update(minute="9999-12-31 23:59"), "log minute '9999-12-31 23:59'"),
        (lambda d: d["metadata"].update(timezone="Mars/Olympus"), "time zone 'Mars/Olympus'"),
        (lambda d: d["metadata"].update(timezone="A" * 5000), "time zone 'AAAA"),
        (lambda d: d["metadata"].update(timezone="../../etc/passwd"), "time zone '../../etc/passwd'"),
    ],
    ids=["minute-text", "minute-year-9999", "zone-unknown", "zone-too-long", "zone-path"],
)
def test_pivot_into_the_wider_log_from_a_hand_edited_report_is_an_input_error(saved, edit, fragment, tmp_path):
    """``pivot --context`` reads the saved report's minutes in its zone to place the
    window; a minute or zone edited into something else was an internal error (pandas'
    ValueError or OverflowError, zoneinfo's ZoneInfoNotFoundError or OSError)."""
    from aptnarrate.context import ContextOptions
    from aptnarrate.context.ask import evidence_rows
    from aptnarrate.errors import InputError
    from aptnarrate.render.json import load_report

    _, document = saved
    changed = json.loads(json.dumps(document))
    edit(changed)
    target = tmp_path / "edited.json"
    target.write_text(json.dumps(changed), encoding="utf-8")
    refused(["pivot", str(target), "thunderbird", "--context", EDGES, "-o", str(tmp_path / "p.md")], 3, str(target), fragment)
    assert not (tmp_path / "p.md").exists()
    # ask's rows from the wider log go through the same pivot
    with pytest.raises(InputError, match="edited.json"):
        evidence_rows(load_report(target.read_text(encoding="utf-8")), "thunderbird?", ContextOptions(EDGES), source=str(target))


def test_pivot_checks_its_input_timezone_before_using_it(saved, tmp_path):
    folder, _ = saved
    argv = ["pivot", str(folder / "report.json"), "thunderbird", "--context", EDGES, "--input-timezone", "Mars/X"]
    refused(argv, 2, "unknown time zone 'Mars/X'")


def test_an_answers_sentences_and_question_stay_one_line_each():
    """``ask``'s Markdown put a model's sentence in a list item as it came: a blank line
    and four spaces in it made the rest an indented code block (the citation inside it),
    detached from the item; the question likewise."""
    from aptnarrate.context.ask import AnswerSentence, AskResult

    sentence = AnswerSentence(text="It read the file.\n\n## Heading\n\n> quote\n\n    code block", evidence=["L3"])
    markdown = AskResult("what\n\n# did it do\n\n- x", (sentence, sentence), (), 1, 0).to_markdown()
    lines = markdown.splitlines()
    assert lines[0].startswith("**Question:** what") and "did it do" in lines[0] and lines[1] == ""
    assert lines[2:] == [lines[2]] * 2 and lines[2].startswith("- It read the file.") and lines[2].endswith("code block (L3)")


# --------------------------------------------------------------------------- pivot: names


def test_an_entity_that_is_not_utf8_reads_as_the_replacement_character(saved, tmp_path):
    """``pivot``'s ENTITY with a byte that is not UTF-8 (argv keeps it as a lone surrogate)
    was shown as a ``\\udcff`` escape in Markdown and JSON, where every other name the
    tool shows has U+FFFD (``wording.file_name_text``); with ``--context`` the engine then
    refused the query and the error blamed the log ("cannot read the context log")."""
    folder, _ = saved
    entity = b"thunder\xffbird".decode("utf-8", "surrogateescape")
    for fmt in ("md", "json"):
        out = _ok(["pivot", str(folder / "report.json"), entity, "--format", fmt])
        shown = json.loads(out)["entity"] if fmt == "json" else out
        assert "thunder\ufffdbird" in shown and "udcff" not in out, out
    log = tmp_path / "log.csv"
    log.write_bytes(
        b"subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr\n"
        + b"\n".join(line for line in example_path("dropper", "edges").read_bytes().splitlines()[1:])
        # the engine reads a log as UTF-8 (a byte that is not is its error): the name holds U+FFFD
        + "\nu9,SUBJECT_PROCESS,/usr/bin/thunder\ufffdbird,EVENT_READ,".encode()
        + example_path("dropper", "edges").read_bytes().splitlines()[1].split(b",")[4]
        + b",u8,FILE_OBJECT_FILE,/tmp/x\n"
    )
    found = json.loads(_ok(["pivot", str(folder / "report.json"), entity, "--format", "json", "--context", str(log)]))
    assert [r["subject"] for r in found["rows"]] == ["thunder\ufffdbird"], found


def test_pivot_lists_a_bounded_number_of_a_reports_rows_and_names_and_counts_them_all(dropper_report, tmp_path):
    """``pivot`` listed every row of the saved report naming the entity, and its JSON every
    name it touched: ``svchost.exe`` in the report of a generated 1M-row subgraph is in
    17,720 rows (a 7 MB JSON, 2 MB of Markdown). At most ``MAX_REPORT_ROWS`` rows of each
    source and ``MAX_NEIGHBOURS`` names (the most frequent) are listed now, and both
    formats say how many were found. A hub here: ``thunderbird`` writing 1,200 files."""
    from aptnarrate.context.pivot import MAX_NEIGHBOURS, MAX_REPORT_ROWS
    from aptnarrate.preprocess.logtable import LogTable

    base = next(e for e in dropper_report.log if e.subject_name == "thunderbird" and e.object_kind == "file")
    hub = [base.model_copy(update={"id": f"L{i + 1}", "object_name": f"f{i % 1200}", "text": f"thunderbird WRITE f{i % 1200}",
                                   "count": 1 + (i < 1200)})
           for i in range(2400)]
    report = dropper_report.model_copy(update={"log": LogTable.from_entries(hub)})
    target = tmp_path / "hub.json"
    target.write_text(report.to_json(), encoding="utf-8")
    found = json.loads(_ok(["pivot", str(target), "thunderbird", "--format", "json"]))
    assert len(found["rows"]) == MAX_REPORT_ROWS < 2400 and [r["id"] for r in found["rows"]] == [f"L{i + 1}" for i in range(MAX_REPORT_ROWS)]
    assert found["rows_found"] == {"report": 2400} and found["neighbours_found"] == 1200
    assert found["neighbours"] == sorted(f"f{i}" for i in range(1200))[:MAX_NEIGHBOURS]  # equal weights: by name
    assert f"2400 rows of the report name it; the first {MAX_REPORT_ROWS} are listed" in " ".join(found["notes"])
    assert f"1200 names touched it or were touched by it; the {MAX_NEIGHBOURS} most frequent are listed" in found["notes"]
    markdown = _ok(["pivot", str(target), "thunderbird"])
    assert f"2400 row(s) from the report ({MAX_REPORT_ROWS} listed)." in markdown
    assert f"and {1200 - MAX_NEIGHBOURS} more name(s)" in markdown
    assert markdown.count("| L") == MAX_REPORT_ROWS and len(markdown) < 100_000


def test_pivot_shows_a_name_with_a_pipe_as_it_is_outside_its_table(dropper_report, tmp_path):
    """``pivot``'s heading and its list of names wrote a name's ``|`` as ``\\|``, which a
    table cell needs; there, outside a table, the backslash showed inside the code span:
    ``a|b`` read as ``a\\|b``. The table's cells keep the escape."""
    from aptnarrate.preprocess.logtable import LogTable

    entries = list(dropper_report.log)
    at = next(i for i, e in enumerate(entries) if e.subject_name == "thunderbird" and e.object_kind == "file")
    entries[at] = entries[at].model_copy(update={"object_name": "a|b`c", "text": "The process: thunderbird WRITE the file: a|b`c"})
    target = tmp_path / "pipe.json"
    target.write_text(dropper_report.model_copy(update={"log": LogTable.from_entries(entries)}).to_json(), encoding="utf-8")
    lines = _ok(["pivot", str(target), "thunderbird"]).splitlines()
    assert "``a|b`c``" in next(line for line in lines if line.startswith("Touched by or touching: "))
    assert _ok(["pivot", str(target), "a|b`c"]).splitlines()[0] == "# What touched ``a|b`c``"
    assert any(line.startswith("| L") and "a\\|b" in line for line in lines)  # in the table, escaped


def test_pivot_fetches_a_bounded_number_of_wider_rows_and_counts_them_all(saved, monkeypatch):
    """``pivot --context`` loaded every wider-log row naming the entity into pandas and
    listed them all: a service in a generated 10M-row log matched 707,293 rows (110k
    condensed rows, a 45 MB JSON, 777 MB peak). The engine now counts the rows; only the
    earliest ``MAX_WIDER_FETCH`` are fetched and ``MAX_WIDER_ROWS`` condensed rows listed,
    each exactly as the whole fetch shows it (a minute that may go on past the rows read
    is left out, not listed short). Limits lowered here so the shipped log exceeds them."""
    from aptnarrate.context import ContextOptions, pivot as pivot_module, query
    from aptnarrate.render.json import load_report

    folder, _ = saved
    report = load_report((folder / "report.json").read_text(encoding="utf-8"))
    whole = pivot_module.pivot(report, "update.sh", ContextOptions(EDGES))
    wider = {r.id: r for r in whole.rows if r.source == "wider log"}
    total = int(whole.notes[0].split()[0])
    assert len(wider) > 10 and total > 60
    fetched: list[int] = []
    real_fetch = query.fetch

    def counting_fetch(expr, limit=None):
        frame = real_fetch(expr) if limit is None else real_fetch(expr, limit)
        fetched.append(len(frame))
        return frame

    monkeypatch.setattr(query, "fetch", counting_fetch)
    monkeypatch.setattr(pivot_module, "MAX_WIDER_FETCH", 60, raising=False)
    monkeypatch.setattr(pivot_module, "MAX_WIDER_ROWS", 5, raising=False)
    bounded = pivot_module.pivot(report, "update.sh", ContextOptions(EDGES))
    assert fetched == [61]  # the earliest 60, and one more that says there are more
    listed = [r for r in bounded.rows if r.source == "wider log"]
    assert 0 < len(listed) <= 5 and all(r == wider[r.id] for r in listed)
    assert bounded.notes[0].startswith(f"{total} rows of ") and "only the earliest 60 were read" in bounded.notes[0]
    assert any("the first 5 are listed" in n for n in bounded.notes) or len(listed) < 5


def test_pivot_and_ask_query_the_wider_log_once(saved, monkeypatch):
    """``pivot --context`` asked the engine twice for the same rows, a count and then the
    fetch, and ``ask --context`` did so for each entity the question names, up to five:
    ten engine queries for five (a generated 1M-row log, indexed). The fetch now takes one row past the limit
    and counts only when that row came; ``ask`` fetches the rows of all its entities in one
    query, and queries each on its own only when their union passes the limit. Each
    entity's rows are those ``pivot`` lists for it, either way."""
    from aptnarrate.context import ContextOptions, extract, pivot as pivot_module, query
    from aptnarrate.context.ask import evidence_rows
    from aptnarrate.render.json import load_report

    folder, _ = saved
    report = load_report((folder / "report.json").read_text(encoding="utf-8"))
    calls: list[str] = []
    real_count, real_query_rows = query.count, extract.query_rows
    monkeypatch.setattr(query, "count", lambda expr: calls.append("count") or real_count(expr))
    monkeypatch.setattr(extract, "query_rows", lambda *a, **k: calls.append("query") or real_query_rows(*a, **k))
    entities = ["update.sh", "thunderbird", "198.51.100.23"]
    separately = {e: [r for r in pivot_module.pivot(report, e, ContextOptions(EDGES)).rows if r.source == "wider log"] for e in entities}
    assert calls == ["query"] * 3 and all(separately.values())  # no count: each fetch held all its rows
    for limit in (50_000, 60):  # their union within the limit; past it (update.sh alone has more than 60 rows)
        monkeypatch.setattr(pivot_module, "MAX_WIDER_FETCH", limit)
        expected = {e: [r for r in pivot_module.pivot(report, e, ContextOptions(EDGES)).rows if r.source == "wider log"] for e in entities}
        calls.clear()
        assert pivot_module.wider_rows(report, entities, ContextOptions(EDGES)) == expected
        assert calls.count("query") == (1 if limit == 50_000 else 1 + len(entities))
    monkeypatch.setattr(pivot_module, "MAX_WIDER_FETCH", 50_000)
    calls.clear()
    question = "What did update.sh, thunderbird and 198.51.100.23 do?"
    rows = evidence_rows(report, question, ContextOptions(EDGES))
    assert calls == ["query"]
    # a name as a hand-edited report may hold it (a lone surrogate): read as pivot reads it, answered as given
    odd = "thunder\udcffbird"
    assert pivot_module.wider_rows(report, [odd, "thunderbird"], ContextOptions(EDGES)) == {odd: [], "thunderbird": separately["thunderbird"]}
    calls.clear()
    # the rows pivot lists for each of the (at most five, longest first) names the question holds, numbered W1...
    names = {n for e in report.log for n in (e.subject_name, e.object_name) if n and n.casefold() in question.casefold()}
    named = sorted(names, key=lambda n: (-len(n), n))[:5]
    listed = [r for e in named for r in pivot_module.pivot(report, e, ContextOptions(EDGES)).rows if r.source == "wider log"]
    wider = {r["id"]: (r["minute"], r["event"], r["count"]) for r in rows if r["id"].startswith("W")}
    assert wider and all(wider[f"W{i + 1}"] == (r.minute, r.text, r.count) for i, r in enumerate(listed) if f"W{i + 1}" in wider)


def test_context_fetches_no_more_rows_than_its_memory_limit_holds(tmp_path, monkeypatch):
    """``report --context`` loaded every matching wider-log row into pandas whatever
    ``--context-memory-limit`` said (a generated 10M-row log: 2,395,869 rows, a 2.07 GB
    peak under the default 1GB). The fetch now stops one row past what the limit holds
    (``BYTES_PER_FETCHED_ROW`` a row) and the run is an input error giving the engine's
    count and the options that help; below it the report is as before. The cost per row
    is raised here so that the shipped log (212 rows) exceeds the default limit."""
    from aptnarrate.context import extract, query

    fetched: list[int] = []
    real_fetch = query.fetch

    def counting_fetch(expr, limit=None, **kw):
        frame = real_fetch(expr, limit, **kw) if (limit is not None or kw) else real_fetch(expr)
        fetched.append(len(frame))
        return frame

    monkeypatch.setattr(query, "fetch", counting_fetch)
    monkeypatch.setattr(extract, "BYTES_PER_FETCHED_ROW", 10**7, raising=False)  # 1GB holds 100 rows
    out = tmp_path / "r.md"
    refused(["report", EDGES, "--backend", "offline", "--context", EDGES, "-o", str(out)], 3, EDGES,
            "212 rows of the context log", "--context-memory-limit 1GB holds 100", "narrow --context-window")
    assert fetched == [] and not out.exists()  # the fetch of 101 rows raised before returning
    report = _ok(["report", EDGES, "--backend", "offline", "--context", EDGES, "--context-memory-limit", "3GB"])
    assert "212 context rows read" in report and fetched == [212]


def test_a_context_log_that_is_not_utf8_is_said_to_be_so_with_the_fix(tmp_path):
    """DuckDB refuses a CSV holding a byte that is not UTF-8; the message showed only 'CSV
    Error on Line: 3', and where the fetch failed, a hint about timestamps that misled."""
    rows = example_path("dropper", "edges").read_bytes().split(b"\n")
    log = tmp_path / "wide.csv"
    log.write_bytes(b"\n".join([*rows[:2], rows[1].replace(b"thunderbird", b"thunder\xffbird"), *rows[2:]]))
    err = refused(["report", EDGES, "--backend", "offline", "--context", str(log)], 3, "not utf-8", "UTF-8 text: re-encode it")
    assert "timestamp" not in err and "thunder" not in err  # the row's text is the log's, never shown


@pytest.mark.parametrize(
    "limit, rows",
    [("1GB", 10**6), ("4G", 4 * 10**6), ("4gigabytes", 4 * 10**6), ("4GiB", 4 * 2**30 // 1000), ("512mb", 512_000), ("2 t", 2 * 10**9), (None, 10**6)],
)
def test_the_rows_a_context_may_fetch_follow_every_memory_limit_form_duckdb_reads(limit, rows):
    """DuckDB reads 4G and 4gigabytes as 4 GB; the row cap read them as the 1 GB default, so
    an analyst told to raise --context-memory-limit to 4G was refused again with the same
    count."""
    from aptnarrate.context import ContextOptions
    from aptnarrate.context.extract import BYTES_PER_FETCHED_ROW, most_rows

    assert BYTES_PER_FETCHED_ROW == 1000
    assert most_rows(ContextOptions(events="x.csv", memory_limit=limit)) == rows


def test_an_unreadable_context_row_spread_over_lines_is_not_shown_in_the_error(tmp_path):
    """DuckDB quotes the bad row below 'Original Line:'; a row with a quoted line break runs
    over two lines and its tail was shown as the reason (the log's text, which the message
    never shows), and the conversion reason quoted the value itself."""
    import duckdb

    from aptnarrate.context.source import unreadable_log

    path = str(tmp_path / "log.csv")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('a,b\n1,2\n"not-a\nSECRET-TEXT",3\n')
    with pytest.raises(duckdb.Error) as caught:
        duckdb.sql(f"select * from read_csv('{path}', columns={{'a': 'BIGINT', 'b': 'BIGINT'}}, header=true)").fetchall()
    message = str(unreadable_log(caught.value, path))
    assert "SECRET-TEXT" not in message and "not-a" not in message
    assert 'Error when converting column "a".' in message


def test_pivot_and_ask_read_an_entitys_kinds_from_the_same_side_of_a_context_row(dropper_report, monkeypatch):
    """A context row naming the entity on both sides (a process that opens a file of its
    own name) gave ``pivot`` the subject's kind only and ``wider_rows`` (``ask --context``)
    both kinds: the two queried the wider log differently for the same entity (path
    columns or not). Both now read the first side that names it, as for the log's rows."""
    from aptnarrate.context import ContextOptions, pivot as pivot_module
    from aptnarrate.models import ContextInfo, ContextRow

    row = ContextRow(id="C1", minute="2025-05-14 09:20", when="after", subject_kind="process", subject_name="twin.exe",
                     action="OPEN", object_kind="file", object_name="twin.exe", count=1, text="twin.exe OPEN twin.exe")
    report = dropper_report.model_copy(update={"context": ContextInfo(
        source="wider.csv", engine="duckdb", window_start="", window_end="", rows_read=1, rows=[row], sections=[])})
    asked = []
    monkeypatch.setattr(pivot_module, "_wider_rows_of", lambda report, targets, *a, **k: asked.append(targets)
                        or {target[0]: ([], [], 0) for target in targets})
    pivot_module.pivot(report, "twin.exe", ContextOptions(EDGES))
    pivot_module.wider_rows(report, ["twin.exe"], ContextOptions(EDGES))
    assert asked[0] == asked[1] == [("twin.exe", ["process"], [])]
