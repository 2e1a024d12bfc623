"""Fuzzing the host level from the outside (session 8): batch, the story, the library used
from a notebook. Each case here failed before its fix.
"""

from __future__ import annotations

import shutil

import pytest
from cli_in_process import run_main
from llm_server import clear_model_settings

from aptnarrate.examples import path as example_path


@pytest.fixture(autouse=True)
def no_model_settings(monkeypatch):
    clear_model_settings(monkeypatch)


# --------------------------------------------------------------------------- batch outputs


def test_an_input_named_story_csv_is_refused_only_when_the_story_would_replace_it(tmp_path):
    """``batch story.csv -o ITS_FOLDER --formats md,csv`` was refused ("writing story.csv
    would replace the input") although without --story no story.csv is written."""
    original = example_path("exfil").read_bytes()
    (tmp_path / "story.csv").write_bytes(original)
    argv = ["batch", str(tmp_path / "story.csv"), "-o", str(tmp_path), "--backend", "offline", "--formats", "md,csv"]
    code, _, err = run_main(argv)
    assert code == 0, err
    assert (tmp_path / "story.csv").read_bytes() == original
    assert (tmp_path / "story-input.csv").is_file() and not (tmp_path / "story.md").exists()
    code, _, err = run_main([*argv, "--story"])
    assert code == 2 and "story.csv" in err and "would replace the input" in err
    assert (tmp_path / "story.csv").read_bytes() == original


def test_a_batch_removes_only_its_own_leftover_temp_files_from_outdir(tmp_path):
    """A batch removed every file of OUTDIR whose name starts with a dot and ends in .tmp
    (``-o .`` deleted a user's ``.draft.tmp``); only the temp files ``write_text`` makes for
    the batch's own outputs (``.NAME.XXXXXXXX.tmp``) are leftovers of a killed run."""
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(example_path("dropper"), tmp_path / "dropper.csv")
    users = {".draft.tmp": "mine", ".notes.md.tmp": "mine too", ".other.md.abcdefgh.tmp": "not a batch output"}
    for name, text in users.items():
        (out / name).write_text(text)
    (out / ".dropper.md.k3j_x9q1.tmp").write_text("half a report")  # what a SIGKILL mid-write leaves
    (out / ".index.json.0a1b2c3d.tmp").write_text("half an index")
    code, _, err = run_main(["batch", str(tmp_path / "dropper.csv"), "-o", str(out), "--backend", "offline"])
    assert code == 0, err
    assert "removed 2 temp file(s)" in err
    assert {p.name: p.read_text() for p in out.iterdir() if p.name.endswith(".tmp")} == users


# --------------------------------------------------------------------------- the story's size


def test_the_story_lists_a_bounded_number_of_linked_pairs_and_says_how_many_share_something():
    """Every pair of subgraphs sharing an entity or a minute was listed: subgraphs of one
    busy hour all share minutes, so 1,000 subgraphs made 499,500 links, a 390 MB
    story.json (1.5 GB of memory). Now the 250 pairs sharing the most are listed, in pair
    order, and the conclusions and metadata give the number of pairs."""
    from outputs_support import example_report

    from aptnarrate.host.story import build_story

    report = example_report()
    reports = [(f"s{n:02d}", report) for n in range(24)]  # 276 pairs, all sharing everything
    story = build_story(reports)
    assert len(story.links) == 250
    assert story.links[0].subgraphs == ["s00", "s01"] and story.links[-1].subgraphs == ["s16", "s18"]  # ties: the first 250 pairs
    assert any("276 pair(s) of subgraphs share" in c and "the 250 sharing the most" in c for c in story.conclusions)
    assert any("276 pairs" in n for n in story.metadata.notes)
    table = story.to_markdown().split("## Linked Subgraphs")[1].split("\n## ")[0]
    assert table.count("\n| s") == 250
    few = build_story(reports[:5])  # under the bound: every pair, no note
    assert len(few.links) == 10 and not few.metadata.notes


def test_a_strongly_linked_pair_is_kept_over_pairs_that_share_only_minutes():
    from outputs_support import example_report, hostile_report

    from aptnarrate.host.story import build_story

    # the hostile report renames an IoC, so it shares one entity fewer with the others
    reports = [("h0", hostile_report()), *((f"s{n:02d}", example_report()) for n in range(23)), ("h1", hostile_report())]
    story = build_story(reports)
    pairs = [tuple(link.subgraphs) for link in story.links]
    assert ("h0", "h1") in pairs  # shares as much as any pair: kept although it is the last pair
    assert ("h0", "s00") not in pairs  # shares less: left out


# --------------------------------------------------------------------------- the library from a notebook

DROPPER = str(example_path("dropper"))


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda a: a.narrate(None), "one subgraph"),
        (lambda a: a.narrate([DROPPER], backend="offline"), "aptnarrate batch"),
        (lambda a: a.inspect_input(3), "one subgraph"),
        (lambda a: a.narrate(DROPPER, backend="offline", timezone=5), "timezone takes a str"),
        (lambda a: a.narrate(DROPPER, backend="offline", internal_networks=[10]), "list of CIDR strings"),
        (lambda a: a.narrate(DROPPER, backend="offline", columns=["predicate"]), "columns takes a mapping"),
        (lambda a: a.narrate(DROPPER, backend="offline", llm="gpt-4o"), "llm takes a mapping"),
        (lambda a: a.narrate(DROPPER, backend="offline", context=5), "context takes"),
        (lambda a: a.narrate(DROPPER, backend="offline", max_input_bytes=-1), "positive number of bytes"),
        (lambda a: __import__("aptnarrate.pipeline").pipeline.run(DROPPER, {"backend": "offline"}), "NarrateOptions"),
    ],
    ids=["none", "list", "int", "timezone-int", "networks-ints", "columns-list", "llm-str", "context-int", "max-bytes-negative", "options-dict"],
)
def test_wrong_library_arguments_are_usage_errors_that_name_them(call, fragment):
    """From a notebook these were a TypeError, ValueError or AttributeError from deep inside
    (``expected str, bytes or os.PathLike object, not NoneType``; ``'str' object has no
    attribute 'top'``), an InputError blaming the file (``more than the limit of -1
    bytes``), or a misleading message (``unknown option: replace() should be called on
    dataclass instances``)."""
    import aptnarrate
    from aptnarrate.errors import UsageError

    with pytest.raises(UsageError) as caught:
        call(aptnarrate)
    assert fragment in str(caught.value) + (caught.value.hint or "")
    assert caught.value.exit_code == 2


def test_a_string_of_internal_networks_is_one_network_and_a_context_path_is_the_event_log(tmp_path):
    """``internal_networks="203.0.113.0/24"`` was read character by character ("invalid
    --internal-net value '2'"); ``context="host-log/"`` failed with an AttributeError. Both
    now mean what the CLI's --internal-net and --context mean."""
    import aptnarrate
    from aptnarrate.errors import InputError

    report = aptnarrate.narrate(DROPPER, backend="offline", internal_networks="203.0.113.0/24")
    assert report.metadata.internal_networks == ["203.0.113.0/24"]
    with pytest.raises(InputError, match="context log not found"):
        aptnarrate.narrate(DROPPER, backend="offline", context=str(tmp_path / "missing"))


def test_the_story_page_draws_a_bounded_entity_graph_however_many_subgraphs():
    """``MAX_STORY_GRAPH_NODES`` (300 "over all subgraphs") was not a bound: each subgraph got
    at least 10 entities, so 1,000 subgraphs drew 11,400 graph elements (an 11.8 MB page).
    Past 30 subgraphs, those with a supported stage are drawn first and the page says how
    many are not drawn."""
    import json
    import re

    from outputs_support import example_report

    from aptnarrate.host.story import build_story
    from aptnarrate.render import STORY_RENDERERS

    report = example_report()
    reports = [("quiet", report.model_copy(update={"stages": []}))] + [(f"s{n:02d}", report) for n in range(40)]
    page = STORY_RENDERERS["html"](build_story(reports), reports)
    island = re.search(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.DOTALL).group(1)
    elements = json.loads(island)["graph"]["elements"]
    boxes = [e["data"]["name"] for e in elements if e.get("classes") == "subgraph"]
    entities = [e for e in elements if "parent" in e["data"]]
    assert boxes == [f"s{n:02d}" for n in range(30)]  # the quiet one (no stage) is left out first
    assert len(entities) <= 300
    assert "11 of 41 subgraphs are not drawn" in page


def test_an_input_named_openai_batch_keeps_its_state_apart_from_the_batch_api_state(tmp_path):
    """The state file of an input named openai-batch.csv was OUTDIR/.aptnarrate/openai-batch.json,
    the Batch API's own state file: with --openai-batch, writing one replaced the other (a
    resumed run lost the batch it was waiting for, or deleted the input's state)."""
    from aptnarrate.host.batch import STATE_DIR, Batch
    from aptnarrate.host.inputs import expand_inputs
    from aptnarrate.pipeline import NarrateOptions

    for name in ("openai-batch.csv", "index.csv", "story.csv"):
        shutil.copy(example_path("dropper"), tmp_path / name)
    inputs, _ = expand_inputs([str(tmp_path)])
    batch = Batch(inputs, tmp_path / "out", NarrateOptions(backend="offline"))
    own = {"openai-batch.json", "index.json", "story.json"}
    assert not own & {batch._state_path(item).name for item in inputs}
    assert not own & {item.name + ".json" for item in inputs}
    assert all(batch._state_path(item).parent.name == STATE_DIR for item in inputs)


# --------------------------------------------------------------------------- story from saved reports


def test_story_gives_each_saved_report_its_own_name_and_counts_a_report_named_twice_once(tmp_path):
    """``story a/x/r.json b/x/r.json`` named both subgraphs ``x_r``, so the story merged them
    (one IoC row listing "x_r" for IoCs of either, one anchor for two reports' rows); a
    report named twice (a folder and a file in it) was told as two subgraphs."""
    import json

    from outputs_support import example_report, hostile_report

    for folder, report in (("a", example_report()), ("b", hostile_report())):
        (tmp_path / folder / "x").mkdir(parents=True)
        (tmp_path / folder / "x" / "r.json").write_text(report.to_json())
    out = tmp_path / "story.json"
    argv = ["story", str(tmp_path / "a" / "x" / "r.json"), str(tmp_path / "b" / "x"), str(tmp_path / "a" / "x"), "--backend", "offline", "-o", str(out)]
    code, _, err = run_main(argv)
    assert code == 0, err
    story = json.loads(out.read_text())
    names = [s["name"] for s in story["subgraphs"]]
    assert len(names) == 2 and len(set(names)) == 2, names
    only_b = {i.value for i in hostile_report().iocs} - {i.value for i in example_report().iocs}
    assert only_b and all(i["subgraphs"] == [names[1]] for i in story["iocs"] if i["value"] in only_b)


# --------------------------------------------------------------------------- index


def test_an_index_that_fails_or_is_interrupted_half_way_leaves_no_partial_index(tmp_path):
    """``index good.csv bad.csv -o DIR`` wrote good.csv's days into DIR, then failed on
    bad.csv: DIR held part of the log, which ``--context DIR`` would read as the whole of
    it, and a re-run refused DIR as "not empty". Now DIR appears only once complete."""
    from aptnarrate.context.index import index_events
    from aptnarrate.errors import InputError

    good = str(example_path("dropper", "edges"))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    out = tmp_path / "idx"
    code, _, err = run_main(["index", good, str(bad), "-o", str(out)])
    assert code == 3 and "no column" in err and "timestamp" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # no DIR, no temp folder

    def interrupt(done, total, path):
        raise KeyboardInterrupt

    out.mkdir()  # an empty folder given as DIR stays usable
    with pytest.raises(KeyboardInterrupt):
        index_events([good, good], out, progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "idx"] and not any(out.iterdir())
    with pytest.raises(InputError):
        index_events([good, str(bad)], out)
    result = index_events([good], out)
    assert result.rows == 221 and result.days == ("2025-05-14",) and result.output == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "idx"] and (out.stat().st_mode & 0o777) != 0o700


def test_an_index_output_folder_that_cannot_be_used_is_a_usage_error(tmp_path):
    """A non-empty DIR, or one that cannot be created, was an input error (exit 3, "names
    file, line and column"), while a file given as DIR was a usage error (exit 2); the
    batch's OUTDIR that cannot be created is one too. All are the output option's fault."""
    good = str(example_path("dropper", "edges"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    (tmp_path / "file").write_text("x")
    for out, fragment in ((tmp_path / "full", "not empty"), (tmp_path / "file" / "sub", "cannot create"), (tmp_path / "file", "not a folder")):
        code, _, err = run_main(["index", good, "-o", str(out)])
        assert code == 2 and fragment in err, err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


# --------------------------------------------------------------------------- outputs onto inputs


def test_story_eval_pivot_and_ask_refuse_to_write_over_a_report_they_read(tmp_path):
    """``story r.json -o r.json``, ``eval out --truth t.json -o out/r.json`` and ``pivot
    r.json X -o r.json`` replaced the saved report with a story, a score table or a pivot
    (``report x.csv -o x.csv`` was already refused); ask too, and eval's truth file."""
    from outputs_support import example_report

    saved = tmp_path / "r.json"
    original = example_report().to_json()
    saved.write_text(original)
    truth = tmp_path / "truth.json"
    truth.write_text('{"A": {"file": ["update.sh"], "ip": []}}')
    (tmp_path / "link.json").symlink_to(saved)
    for argv in (
        ["story", str(saved), "-o", str(saved), "--backend", "offline"],
        ["story", str(tmp_path), "-o", str(tmp_path / "link.json"), "--backend", "offline"],
        ["eval", str(tmp_path), "--truth", str(truth), "-o", str(saved)],
        ["eval", str(saved), "--truth", str(truth), "-o", str(truth)],
        ["pivot", str(saved), "update.sh", "-o", str(saved), "--format", "json"],
        ["ask", str(saved), "what ran?", "-o", str(saved)],
    ):
        code, _, err = run_main(argv)
        assert code == 2 and "is the input file" in err, (argv, err)
    assert saved.read_text() == original and truth.read_text().startswith('{"A"')


# --------------------------------------------------------------------------- --openai-batch's waits


@pytest.mark.parametrize("option, value", [("--batch-poll", "-1"), ("--batch-poll", "0"), ("--batch-poll", "nan"), ("--batch-max-wait", "nan"), ("--batch-max-wait", "inf"), ("--batch-max-wait", "-1")])
def test_batch_api_waits_must_be_finite_positive_seconds(tmp_path, option, value):
    """``--batch-poll -1`` ended in time.sleep's ValueError (an internal error, exit 1) after
    every input's facts were computed and the batch submitted; ``0`` polled without a pause;
    ``--batch-max-wait nan`` never ran out (every comparison with nan is false)."""
    code, _, err = run_main(["batch", DROPPER, "-o", str(tmp_path / "out"), "--openai-batch", "--backend", "openai", option, value])
    assert code == 2 and option in err, err
    assert not (tmp_path / "out").exists()


def test_narrate_batch_refuses_waits_it_cannot_honour(tmp_path):
    from aptnarrate.context.openai_batch import narrate_batch
    from aptnarrate.errors import UsageError
    from aptnarrate.llm.config import load_settings

    settings = load_settings({"api_key": "k"}, environ={}, dotenv_path=None)
    for waits in ({"poll_interval_s": -1.0}, {"poll_interval_s": float("nan")}, {"max_wait_s": float("nan")}, {"max_wait_s": -5.0}):
        with pytest.raises(UsageError):
            narrate_batch([], settings, tmp_path / "state.json", client=object(), **waits)


def test_a_pattern_that_matches_the_output_folder_leaves_it_out_so_a_rerun_resumes(tmp_path):
    """``batch 'flagged/*' -o flagged/out`` worked once; run again, the pattern matched the
    output folder: with md,json the batch failed ("folder holds no .csv file", exit 3), with
    csv it took the first run's watchlists out/NAME.csv for inputs (two failures, exit 8)
    and renamed the real inputs flagged_NAME, so nothing was up to date."""
    for formats in ("md,json", "md,csv"):
        flagged = tmp_path / formats.replace(",", "-")
        flagged.mkdir()
        for name in ("dropper", "exfil"):
            shutil.copy(example_path(name), flagged / f"{name}.csv")
        out = flagged / "out"
        argv = ["batch", str(flagged / "*"), "-o", str(out), "--backend", "offline", "--formats", formats]
        assert run_main(argv)[0] == 0
        code, _, err = run_main(argv)
        assert code == 0, err
        assert "0 written, 2 up to date, 0 failed" in err and "matches the output folder" in err
        assert sorted(p.name for p in out.glob("*.md")) == ["dropper.md", "exfil.md", "index.md"]


def test_a_pattern_that_matches_a_folder_without_csv_files_leaves_it_out(tmp_path):
    """``batch 'flagged/*'`` over a folder holding a subfolder of notes failed as a whole
    ("folder holds no .csv file", exit 3); a folder named explicitly still must hold one."""
    flagged = tmp_path / "flagged"
    (flagged / "notes").mkdir(parents=True)
    (flagged / "notes" / "todo.txt").write_text("look at it")
    shutil.copy(example_path("dropper"), flagged / "dropper.csv")
    code, _, err = run_main(["batch", str(flagged / "*"), "-o", str(tmp_path / "out"), "--backend", "offline"])
    assert code == 0 and "holds no .csv file: left out" in err, err
    code, _, err = run_main(["batch", str(flagged / "notes"), "-o", str(tmp_path / "out"), "--backend", "offline"])
    assert code == 3 and "folder holds no .csv file" in err
    code, _, err = run_main(["batch", str(flagged / "n*"), "-o", str(tmp_path / "out"), "--backend", "offline"])
    assert code == 3 and "no .csv file among the inputs" in err


# --------------------------------------------------------------------------- Markdown from free-text fields


def _edges_with(tmp_path, predicate: str, object_type: str):
    import csv

    rows = list(csv.reader(example_path("dropper", "edges").read_text().splitlines()))
    for n, row in enumerate(rows[1:]):
        if n % 7 == 0:
            row[3], row[6] = predicate, object_type
    path = tmp_path / "odd.edges.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_an_object_type_or_action_with_markup_stays_inert_in_the_markdown_log(tmp_path):
    """An edge list's object_type and predicate are free text, written raw into the
    Markdown log: ``file<b>|x`` split the table cell and left HTML in the report (names
    were escaped; kinds and actions were not)."""
    import aptnarrate

    report = aptnarrate.narrate(_edges_with(tmp_path, "EVENT_WRITE*x*", "file<b>|x"), backend="offline")
    markdown = report.to_markdown()
    assert "file<b>" not in markdown and "file&lt;b&gt;\\|x" in markdown
    assert "WRITE\\*X\\* the file&lt;b&gt;" in markdown  # the action, upper-cased by ingest, escaped
    rows = [line for line in markdown.splitlines() if line.startswith("| 20")]
    assert rows and all(line.replace("\\|", "").count("|") == 3 for line in rows)  # two cells each


def test_a_hand_edited_report_cannot_forge_markdown_through_a_minute_or_row_id(tmp_path):
    """A saved report's log minutes (and, in pivot, row ids) were written into Markdown as
    they stood in the JSON document: a minute holding a line break and a heading forged a
    heading and raw HTML in ``render`` and ``pivot``."""
    import json

    from outputs_support import example_report

    document = json.loads(example_report().to_json())
    document["log"][0]["minute"] = "2025-05-14 09:12 | x\n# Forged <img src=x onerror=alert(1)>"
    document["log"][0]["id"] = "L1\n# Forged id <img src=x>"
    saved = tmp_path / "r.json"
    saved.write_text(json.dumps(document))
    subject = document["log"][0]["subject_name"]
    for argv in (["render", str(saved)], ["pivot", str(saved), subject]):
        code, out, err = run_main(argv)
        assert code == 0, err
        assert "<img" not in out and not [line for line in out.splitlines() if line.startswith("# Forged")], out


def test_a_file_name_with_a_line_break_cannot_forge_a_line_on_stderr(tmp_path):
    """Messages kept line breaks, so a failing input named ``x\\naptnarrate: 0 failed
    (all good).csv`` printed a line of its own that looked like aptnarrate's."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x\naptnarrate: 0 failed (all good).csv").write_text("a,b\n1,2\n")
    code, _, err = run_main(["batch", str(folder), "-o", str(tmp_path / "out"), "--backend", "offline"])
    assert code == 8
    assert not [line for line in err.splitlines() if line.startswith("aptnarrate: 0 failed")], err
    assert "x\\naptnarrate: 0 failed (all good).csv" in err


def test_an_unrecognised_argument_holding_an_escape_sequence_is_shown_not_obeyed():
    """argparse's "unrecognized arguments: ..." wrote the words as given: an argument holding
    ``ESC ] 0 ; ... BEL`` retitled the terminal and a line break forged a line."""
    code, _, err = run_main(["examples", "\x1b]0;pwned\x07x\nfake line"])
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err and not [line for line in err.splitlines() if line == "fake line"]
    assert "\\x1b]0;pwned\\x07x\\nfake line" in err


def test_the_story_reads_the_log_by_columns_and_tells_what_a_row_by_row_reading_tells(monkeypatch):
    """The story built a LogEntry per log row three times (entities, minutes, the overview):
    a 1M-event subgraph (238,000 rows) took 12 s of the story's time, 1,000 small ones 12 s
    in all; now 2 s and 3.8 s, with the same story."""
    from outputs_support import example_report, hostile_report

    from aptnarrate.host.story import build_story
    from aptnarrate.preprocess.logtable import LogTable

    reports = [("a", example_report()), ("b", hostile_report())]
    plain = [(name, report.model_copy(update={"log": list(report.log)})) for name, report in reports]  # row by row
    expected = build_story(plain).to_json()
    built = []
    real = LogTable._entry
    monkeypatch.setattr(LogTable, "_entry", lambda self, i: (built.append(i), real(self, i))[1])
    assert build_story(reports).to_json() == expected
    assert len(built) <= 4 * len(reports), len(built)  # the first and last row, not every row


@pytest.mark.parametrize("fmt", ["html", "stix"])
def test_the_drawn_formats_read_the_log_by_columns_and_draw_what_a_row_by_row_reading_draws(monkeypatch, fmt):
    """The HTML page and the STIX bundle built a LogEntry per log row in every pass (the
    timeline, the entity graph, the log table, the first and last minute) and parsed every
    row's minute, and the bundle's id seed serialised a LogEntry per row: a 1M-event report's
    page took 16.6 s (now 2.1 s), its bundle 12.3 s (now 1.4 s), its story page 14.6 s (now
    1.8 s), byte-identical."""
    from outputs_support import example_report

    from aptnarrate.preprocess.logtable import LogTable
    from aptnarrate.render import RENDERERS

    report = example_report()  # its log is a LogTable, as every report read or computed has
    assert isinstance(report.log, LogTable)
    expected = RENDERERS[fmt](report.model_copy(update={"log": list(report.log)}))  # row by row
    built = []
    real = LogTable._entry
    monkeypatch.setattr(LogTable, "_entry", lambda self, i: (built.append(i), real(self, i))[1])
    assert RENDERERS[fmt](report) == expected
    assert len(built) <= 4, len(built)


def test_pivot_reads_the_log_by_columns_and_finds_what_a_row_by_row_reading_finds(monkeypatch):
    """pivot built a LogEntry (with its lines and entity ids) for every log row to find the
    few that name the entity; now only the rows that match are read whole."""
    from outputs_support import example_report

    from aptnarrate.context.pivot import pivot
    from aptnarrate.preprocess.logtable import LogTable

    report = example_report()
    entity = report.iocs[0].value
    expected = pivot(report.model_copy(update={"log": list(report.log)}), entity)
    built = []
    real = LogTable._entry
    monkeypatch.setattr(LogTable, "_entry", lambda self, i: (built.append(i), real(self, i))[1])
    found = pivot(report, entity)
    assert found.to_json() == expected.to_json() and found.rows
    assert len(built) <= len(found.rows), (len(built), len(found.rows))


def test_a_saved_story_cannot_draw_reports_from_outside_its_folder(tmp_path):
    """``render story.json --format html|stix|navigator|csv`` read each subgraph's report
    from ``FOLDER/NAME.json``: a hand-edited story naming a subgraph ``../../x`` drew (and
    put into the output) any report JSON elsewhere on the machine."""
    import json

    from outputs_support import example_report

    from aptnarrate.host.story import build_story

    (tmp_path / "elsewhere.json").write_text(example_report().to_json())
    folder = tmp_path / "out" / "deep"
    folder.mkdir(parents=True)
    document = json.loads(build_story([("x", example_report())]).to_json())
    document["subgraphs"][0]["name"] = "../../elsewhere"
    (folder / "story.json").write_text(json.dumps(document))
    code, out, err = run_main(["render", str(folder / "story.json"), "--format", "csv"])
    assert code == 3 and "is not a file name" in err and not out


def test_the_log_takes_integer_indices_like_a_list_and_says_how_to_find_a_row_by_id():
    """``report.log["L3"]`` from a notebook was ``ValueError: invalid literal for int()``,
    and ``report.log[2.7]`` silently gave row 2; a list raises TypeError for both."""
    import numpy as np
    from outputs_support import example_report

    log = example_report().log
    assert log[np.int64(2)] == log[2] and log[-1] == log[len(log) - 1]
    with pytest.raises(TypeError, match="position_of"):
        log["L3"]
    with pytest.raises(TypeError, match="not float"):
        log[2.7]
    assert log[log.position_of()["L3"]].id == "L3"


def test_render_of_a_story_with_diagram_says_it_has_none(tmp_path):
    """``render story.json --diagram`` wrote the story without a diagram and said nothing
    (``--diagram`` with a format other than Markdown is a usage error already)."""
    from outputs_support import example_report

    from aptnarrate.host.story import build_story

    saved = tmp_path / "story.json"
    saved.write_text(build_story([("x", example_report())]).to_json())
    code, out, err = run_main(["render", str(saved), "--diagram"])
    assert code == 2 and "--diagram" in err and not out
    assert run_main(["render", str(saved)])[0] == 0


def test_an_input_whose_file_name_is_not_utf8_reports_in_every_format(tmp_path):
    """A file name holding a byte that is not UTF-8 (legal on Linux; Python keeps it as a
    lone surrogate) made ``report --format json`` and every batch an internal error (exit
    1): the surrogate reached the report's title and input name, index.json and the state
    file, and no JSON can hold one. The name is shown with U+FFFD; the state file keeps
    the path exactly, so a re-run finds the input up to date and ``story --context`` finds it."""
    import json
    import os

    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(os.fsencode(str(folder)) + b"/bad\xffname.csv")
    shutil.copy(example_path("dropper"), odd)
    out = tmp_path / "out"
    code, _, err = run_main(["report", odd, "--backend", "offline", "--format", "json", "-o", str(tmp_path / "r.json")])
    assert code == 0, err
    assert json.loads((tmp_path / "r.json").read_text())["input_name"] == "bad\ufffdname.csv"
    argv = ["batch", str(folder), "-o", str(out), "--backend", "offline", "--story", "--formats", "md,json,html,stix,navigator,csv"]
    code, _, err = run_main(argv)
    assert code == 0, err
    index = json.loads((out / "index.json").read_text())
    assert index["inputs"][0]["name"] == "bad\ufffdname" and (out / "bad\ufffdname.json").is_file()
    code, _, err = run_main(argv)
    assert code == 0 and "0 written, 1 up to date" in err, err
    code, _, err = run_main(["story", str(out), "--backend", "offline", "--context", str(example_path("dropper", "edges")), "-o", str(tmp_path / "s.md")])
    assert code == 0, err


def test_story_and_eval_take_a_saved_report_whose_file_name_is_not_utf8(tmp_path):
    """The subgraph name of a saved report is its file name: one holding a byte that is not
    UTF-8 made ``story`` an internal error (exit 1) on writing the story's JSON."""
    import json
    import os

    from outputs_support import example_report

    folder = tmp_path / "reports"
    folder.mkdir()
    with open(os.fsencode(str(folder)) + b"/r\xfe.json", "w") as handle:
        handle.write(example_report().to_json())
    truth = tmp_path / "truth.json"
    truth.write_text('{"A": {"file": ["update.sh"], "ip": []}}')
    code, _, err = run_main(["story", str(folder), "--backend", "offline", "--format", "json", "-o", str(tmp_path / "s.json")])
    assert code == 0, err
    assert [s["name"] for s in json.loads((tmp_path / "s.json").read_text())["subgraphs"]] == ["r\ufffd"]
    code, out, err = run_main(["eval", str(folder), "--truth", str(truth), "--format", "json"])
    assert code == 0 and json.loads(out), err


def test_an_entry_named_csv_that_is_no_regular_file_is_left_out_with_a_notice(tmp_path):
    """A pipe (or a broken link, or a folder) named *.csv in an input folder was skipped
    without a word: the analyst could not tell it was not reported."""
    import os

    from aptnarrate.host.inputs import expand_inputs

    shutil.copy(example_path("dropper"), tmp_path / "a.csv")
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "gone.csv").symlink_to(tmp_path / "missing.csv")
    inputs, notices = expand_inputs([str(tmp_path)])
    assert [i.name for i in inputs] == ["a"]
    (notice,) = notices
    assert "2 entries named *.csv that are no regular file" in notice and "'gone.csv'" in notice and "'pipe.csv'" in notice


def test_a_folder_whose_only_csv_entries_are_no_regular_files_says_so_in_its_error(tmp_path):
    """The notice naming them was appended and then lost: the error said the folder held no
    .csv file while the user could see pipe.csv in it."""
    import os

    from aptnarrate.errors import InputError
    from aptnarrate.host.inputs import expand_inputs

    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(InputError) as caught:
        expand_inputs([str(tmp_path)])
    assert "no .csv file that is a regular file" in str(caught.value) and "'pipe.csv'" in str(caught.value)
