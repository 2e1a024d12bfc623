"""Fuzzing the command line from the outside (session 7): odd arguments and odd inputs to
every command end in a typed error with its documented exit code and a message that names
what is wrong, never an internal error (exit 1), a traceback, or an input destroyed.

Each case here failed before its fix: option values past a float's range, a base URL that
only looks like one, a context window of centuries, one column given two roles, an
over-long time zone name (reported as the input file's fault), ``index`` with an invalid
memory limit or a file as its output folder, hand-edited report JSON (nested deeper than
the parser's stack, a count past int64, a byte order mark, a zone name too long to be a
file name), terminal escape sequences from the data on stderr, eval's truth file and table,
damaged state files, outputs written over their own inputs, a stdout that cannot be
written, and wider-log times the engine cannot cast.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import pytest
from cli_in_process import refused, run_main
from llm_server import clear_model_settings

from aptnarrate.cli import main
from aptnarrate.examples import path as example_path

DROPPER = str(example_path("dropper"))
DROPPER_EDGES = str(example_path("dropper", "edges"))


@pytest.fixture(autouse=True)
def no_model_settings(monkeypatch):
    clear_model_settings(monkeypatch)


# --------------------------------------------------------------------------- option values


@pytest.mark.parametrize("value", ["1e400", "inf", "9" * 400])
def test_a_byte_count_past_a_floats_range_is_a_usage_error(value, tmp_path):
    refused(["report", DROPPER, "--max-input-bytes", value, "-o", str(tmp_path / "r.md")], 2, "byte count")


@pytest.mark.parametrize("url", ["http://[::1", "http://h:99999/v1", "http://h:port/v1", "http://:80/v1"])
def test_a_base_url_that_only_looks_like_one_is_a_configuration_error(url, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-fuzz")
    argv = ["report", DROPPER, "--backend", "openai", "--base-url", url, "--env-file", "", "-o", str(tmp_path / "r.md")]
    refused(argv, 4, "base_url", "http:// or https:// URL")


@pytest.mark.parametrize("window", ["99999999999d", "9" * 400 + "s"])
def test_a_context_window_of_centuries_is_a_usage_error(window, tmp_path):
    argv = ["report", DROPPER, "--backend", "offline", "--context", DROPPER_EDGES, "--context-window", window, "-o", str(tmp_path / "r.md")]
    refused(argv, 2, "longer than 100 years")


@pytest.mark.parametrize(
    "source, mapping", [(DROPPER, "timestamp=description"), (DROPPER, "description=timestamp"), (DROPPER_EDGES, "subject_attr=object_attr")]
)
def test_two_roles_read_from_one_column_is_a_usage_error(source, mapping, tmp_path):
    refused(["inspect", source, "--column", mapping, "-o", str(tmp_path / "t.txt")], 2, "onto the one column")


def test_an_empty_profile_is_an_unknown_profile_not_none(tmp_path):
    refused(["inspect", DROPPER, "--profile", "", "-o", str(tmp_path / "t.txt")], 2, "unknown --profile ''")


def test_an_over_long_time_zone_is_the_zones_fault_not_the_inputs(tmp_path):
    zone = "A" * 300  # longer than a file name may be: zoneinfo raises OSError, not "not found"
    err = refused(["report", DROPPER, "--timezone", zone, "-o", str(tmp_path / "r.md")], 2, "unknown time zone")
    assert "cannot read file" not in err


# --------------------------------------------------------------------------- index


def test_index_with_an_invalid_memory_limit_is_a_usage_error(tmp_path):
    refused(["index", DROPPER_EDGES, "-o", str(tmp_path / "idx"), "--memory-limit", "abc"], 2, "--memory-limit")
    assert not (tmp_path / "idx").exists()  # refused before anything was created


def test_index_into_a_file_is_a_usage_error(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep", encoding="utf-8")
    refused(["index", DROPPER_EDGES, "-o", str(target)], 2, "is not a folder")
    refused(["index", DROPPER_EDGES, "-o", str(target / "below")], 2, "cannot create the output folder")  # the output option's fault, as above
    assert target.read_text(encoding="utf-8") == "keep"


def test_index_names_the_input_file_it_could_not_read(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"subject_uuid,timestamp\nu1,1523505481\nu\xff\xfe,1\n")
    err = refused(["index", str(bad), "-o", str(tmp_path / "idx")], 3)
    assert err.startswith(f"aptnarrate: error: {bad}:"), err


# --------------------------------------------------------------------------- saved reports


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-render")
    code, _, err = run_main(["report", DROPPER, "--backend", "offline", "--format", "json", "-o", str(folder / "report.json")])
    assert code == 0, err
    return folder, json.loads((folder / "report.json").read_text(encoding="utf-8"))


def _edited(saved, name: str, edit) -> str:
    folder, document = saved
    changed = json.loads(json.dumps(document))
    edit(changed)
    target = folder / name
    target.write_text(json.dumps(changed), encoding="utf-8")
    return str(target)


@pytest.mark.parametrize("command", [["render"], ["render", "--format", "stix"], ["pivot"], ["story"]])
def test_a_log_count_past_int64_is_an_input_error(saved, command, tmp_path):
    target = _edited(saved, "huge.json", lambda d: d["log"][0].update(count=10**30))
    argv = [command[0], target, *command[1:], *(["thunderbird"] if command[0] == "pivot" else []), "-o", str(tmp_path / "out")]
    refused(argv, 3, "not an aptnarrate JSON report", "log")


@pytest.mark.parametrize("log", [{"L1": {}}, "L1", 3, None], ids=["object", "string", "number", "null"])
def test_a_log_that_is_not_a_list_is_an_input_error(saved, log, tmp_path):
    """The log's validator raised a TypeError, which pydantic lets through: a report whose
    log was hand-edited into an object was an internal error (exit 1)."""
    target = _edited(saved, "log.json", lambda d: d.update(log=log))
    refused(["render", target, "-o", str(tmp_path / "r.md")], 3, "not an aptnarrate JSON report", "log")


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_json_nested_deeper_than_the_parsers_stack_is_an_input_error(text, tmp_path):
    target = tmp_path / "deep.json"
    target.write_text(text, encoding="utf-8")
    refused(["render", str(target), "-o", str(tmp_path / "r.md")], 3, "not an aptnarrate JSON report")


def test_a_report_saved_with_a_byte_order_mark_renders(saved, tmp_path):
    folder, _ = saved
    target = tmp_path / "bom.json"
    target.write_bytes(b"\xef\xbb\xbf" + (folder / "report.json").read_bytes())
    code, _, err = run_main(["render", str(target), "-o", str(tmp_path / "r.md")])
    assert code == 0, err
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("# Attack Report: dropper.csv")


def test_render_parses_a_saved_report_once(saved, tmp_path, monkeypatch):
    """``render`` parsed the whole document with ``json.loads`` to see whether it is a
    story, then again to read the report: 2 s of a 128 MB report's 6 s."""
    import json as json_module

    import pydantic_core

    folder, _ = saved
    text = (folder / "report.json").read_text(encoding="utf-8")
    parsed = []
    for module, name in ((json_module, "loads"), (pydantic_core, "from_json")):
        original = getattr(module, name)

        def counting(data, *args, original=original, **kwargs):
            if len(data) == len(text):
                parsed.append(1)
            return original(data, *args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    code, _, err = run_main(["render", str(folder / "report.json"), "-o", str(tmp_path / "r.md")])
    assert code == 0, err
    assert len(parsed) == 1


def test_a_story_saved_with_a_byte_order_mark_renders(tmp_path):
    code, _, err = run_main(["batch", "--example", "host", "--backend", "offline", "--story", "-o", str(tmp_path / "out")])
    assert code == 0, err
    story = tmp_path / "out" / "story.json"
    story.write_bytes(b"\xef\xbb\xbf" + story.read_bytes())
    code, out, err = run_main(["render", str(story), "--format", "md"])
    assert code == 0, err
    assert out == (tmp_path / "out" / "story.md").read_text(encoding="utf-8")


def test_stix_of_a_report_whose_zone_is_too_long_for_a_file_name(saved, tmp_path):
    target = _edited(saved, "zone.json", lambda d: d["metadata"].update(timezone="A" * 5000))
    code, _, err = run_main(["render", target, "--format", "stix", "-o", str(tmp_path / "r.stix.json")])
    assert code == 0, err  # the minutes are read as UTC, as for an unknown zone


# --------------------------------------------------------------------------- stderr


EDGE_HEADER = "subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr"
OSC_TITLE = "\x1b]0;pwned\x07"  # a terminal escape sequence that sets the window title


def test_no_terminal_escape_from_the_data_reaches_stderr(tmp_path):
    """An unknown action is named in a notice on stderr, and a file name in an error: both
    came from the data as they were, so an action or a file name holding an escape
    sequence drove the analyst's terminal. Every message now shows such characters escaped."""
    source = tmp_path / "actions.csv"
    source.write_text(
        f"{EDGE_HEADER}\nu1,SUBJECT_PROCESS,/bin/a,EVENT_{OSC_TITLE}X\u202e,1523505481,u2,FILE_OBJECT_FILE,/tmp/b\n"
        "u1,SUBJECT_PROCESS,/bin/a,EVENT_WRITE,1523505482,u2,FILE_OBJECT_FILE,/tmp/b\n",
        encoding="utf-8",
    )
    bad = tmp_path / f"bad{OSC_TITLE}.csv"
    bad.write_bytes(b"description,timestamp\nx\xff,1\n")
    runs = [
        run_main(["report", str(source), "--backend", "offline", "-o", str(tmp_path / "r.md")]),
        run_main(["inspect", str(source), "-o", str(tmp_path / "t.txt")]),
        run_main(["report", str(bad), "--backend", "offline", "-o", str(tmp_path / "r.md")]),
        run_main(["batch", str(source), str(bad), "-o", str(tmp_path / "out"), "--backend", "offline"]),
    ]
    assert [code for code, _, _ in runs] == [0, 0, 3, 8]
    for _, _, err in runs:
        assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err, err
    assert "\\x1b]0;" in runs[0][2] and "\\u202e" in runs[0][2]  # the action, shown
    assert f"bad\\x1b]0;pwned\\x07.csv" in runs[2][2] and "failed" in runs[3][2]


# --------------------------------------------------------------------------- eval


def test_eval_reads_a_deeply_nested_truth_file_as_an_input_error(saved, tmp_path):
    folder, _ = saved
    truth = tmp_path / "truth.json"
    truth.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    refused(["eval", str(folder / "report.json"), "--truth", str(truth)], 3, "nested deeper")


def test_the_eval_table_shows_control_characters_of_names_escaped(saved, tmp_path):
    """The table is for a terminal: a ground-truth IoC the inputs hold (listed as missed)
    or an attack's name with an escape sequence was printed raw."""
    folder, _ = saved
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({f"APT{OSC_TITLE}\u202e": {"file": ["invoice.pdf.sh"], "ip": []}}), encoding="utf-8")
    code, out, err = run_main(["eval", str(folder / "report.json"), "--truth", str(truth), "--host", "h\x1b[31m"])
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "APT\\x1b]0;pwned\\x07\\u202e" in out and "h\\x1b[31m" in out


# --------------------------------------------------------------------------- damaged state files


@pytest.mark.parametrize("damage", ["[]", '"x"', "null", "[" * 100_000 + "]" * 100_000], ids=["list", "string", "null", "deep"])
def test_a_damaged_batch_state_file_redoes_its_input(damage, tmp_path):
    """``OUTDIR/.aptnarrate/NAME.json`` decides whether a re-run skips an input; a state file
    that is valid JSON but not an object (or nested past the parser's stack) was an internal
    error for the whole batch instead of "not up to date"."""
    out = tmp_path / "out"
    argv = ["batch", DROPPER, "-o", str(out), "--backend", "offline"]
    assert run_main(argv)[0] == 0
    (out / ".aptnarrate" / "dropper.json").write_text(damage, encoding="utf-8")
    code, _, err = run_main(argv)
    assert code == 0 and "1 written" in err, err
    assert run_main(argv)[2].count("1 up to date") == 1  # and the state is whole again


@pytest.mark.parametrize("damage", ["[]", "[" * 100_000 + "]" * 100_000], ids=["list", "deep"])
def test_damaged_cache_and_batch_api_state_files_are_a_miss_or_a_usage_error(damage, tmp_path):
    from aptnarrate.context.openai_batch import _State
    from aptnarrate.errors import UsageError
    from aptnarrate.host.cache import RequestCache

    cache = RequestCache(tmp_path / "cache")
    key = "ab" + "0" * 62
    (tmp_path / "cache" / "ab").mkdir(parents=True)
    (tmp_path / "cache" / "ab" / f"{key}.json").write_text(damage, encoding="utf-8")
    assert cache.get(key) is None  # a miss, never an error
    state = tmp_path / "openai-batch.json"
    state.write_text(damage, encoding="utf-8")
    with pytest.raises(UsageError, match="delete it to start afresh"):
        _State(state)


# --------------------------------------------------------------------------- outputs onto inputs


def test_an_output_onto_its_own_input_is_refused(tmp_path):
    """``report x.csv -o x.csv`` wrote the IoC watchlist (csv, from the ending) over the
    subgraph it was computed from; through a symbolic link too."""
    source = tmp_path / "x.csv"
    original = example_path("dropper").read_bytes()
    source.write_bytes(original)
    (tmp_path / "link.csv").symlink_to(source)
    for argv in (["report", str(source), "-o", str(source)], ["inspect", str(source), "-o", str(tmp_path / "link.csv")]):
        refused([*argv, "--strict"], 2, "is the input file")
    assert source.read_bytes() == original


def test_a_batch_whose_outputs_would_replace_its_inputs_is_refused(tmp_path):
    """``batch flagged/ -o flagged/ --formats md,csv`` replaced every subgraph NAME.csv with
    its watchlist NAME.csv (and story.csv an input of that name); refused before anything is
    written. Without csv the same folder is fine."""
    original = example_path("dropper").read_bytes()
    (tmp_path / "dropper.csv").write_bytes(original)
    refused(["batch", str(tmp_path), "-o", str(tmp_path), "--backend", "offline", "--formats", "md,csv"], 2, "would replace the input")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dropper.csv"] and (tmp_path / "dropper.csv").read_bytes() == original
    (tmp_path / "story.csv").write_bytes(example_path("exfil").read_bytes())
    code, _, err = run_main(["batch", str(tmp_path / "story.csv"), "-o", str(tmp_path), "--backend", "offline", "--story", "--formats", "md,csv"])
    assert code == 2 and "story.csv" in err
    assert run_main(["batch", str(tmp_path), "-o", str(tmp_path), "--backend", "offline", "--formats", "md,json"])[0] == 0
    assert (tmp_path / "dropper.csv").read_bytes() == original


# --------------------------------------------------------------------------- a failing stdout


class _FullDisk(io.StringIO):
    def write(self, text):
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("argv", [["report", DROPPER, "--backend", "offline"], ["inspect", DROPPER], ["inspect", DROPPER, "--format", "json"], ["examples"]])
def test_a_stdout_that_cannot_be_written_is_a_typed_error(argv):
    """``aptnarrate report x.csv > /dev/full`` was an internal error (exit 1): stdout's
    OSError escaped as a bug. A reader that stops early (``| head``) still ends quietly."""
    err = io.StringIO()
    with contextlib.redirect_stdout(_FullDisk()), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 2 and "cannot write to standard output: No space left on device" in err.getvalue(), err.getvalue()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_stdout_in_a_real_process_exits_2_without_a_traceback():
    result = subprocess.run([sys.executable, "-m", "aptnarrate", "examples"], stdout=open("/dev/full", "w"), stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr


# --------------------------------------------------------------------------- --context


@pytest.mark.parametrize("stamp", ["not-a-time", "99999999999999999999"], ids=["text", "past-int64"])
def test_a_context_log_time_the_engine_cannot_cast_is_an_input_error(stamp, tmp_path):
    """The wider log's times are cast in the query; a value the engine cannot cast failed
    the query with the engine's own exception: an internal error (exit 1)."""
    log = tmp_path / "wider.csv"
    log.write_text(f"{EDGE_HEADER}\nu1,SUBJECT_PROCESS,/bin/a,EVENT_READ,{stamp},u2,FILE_OBJECT_FILE,/tmp/invoice.pdf.sh\n", encoding="utf-8")
    argv = ["report", DROPPER_EDGES, "--backend", "offline", "--context", str(log), "-o", str(tmp_path / "r.md")]
    refused(argv, 3, "cannot read the context log", str(log))


def test_a_context_window_in_nanoseconds_gives_no_warning(tmp_path):
    """The window's ends went to the engine through ``Timestamp.to_pydatetime``, which warns
    (on stderr, with a source line) when they carry nanoseconds, as epoch subgraphs do."""
    import warnings

    log = tmp_path / "wider.csv"
    log.write_text(f"{EDGE_HEADER}\nu1,SUBJECT_PROCESS,/bin/a,EVENT_READ,2025-05-14T09:20:00+02:00,u2,FILE_OBJECT_FILE,/tmp/invoice.pdf.sh\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        code, _, err = run_main(["report", DROPPER_EDGES, "--backend", "offline", "--context", str(log), "-o", str(tmp_path / "r.md")])
    assert code == 0, err
