"""The CLI end to end, as a user runs it: exit codes, one-line messages, no tracebacks. Run
in the test's process (``cli_in_process.run_cli``) except where only a process shows it
(``process=True``: a real exit status, stdin as a pipe, signals, imports at start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_in_process import run_cli
from llm_server import MODEL_SETTINGS

GOOD_CSV = (
    "description,timestamp\n"
    "The subject_process: thunderbird WRITE the file_object_file: invoice.sh,2018-04-11 23:58:01\n"
    "The subject_process: thunderbird WRITE the file_object_file: invoice.sh,2018-04-11 23:58:01\n"
    "The subject_process: invoice.sh CONNECT the netflowobject: 203.0.113.7,2018-04-11 23:58:30\n"
    "The subject_process: invoice.sh CONNECT the netflowobject: 203.0.113.7,2018-04-11 23:59:30\n"
    "The subject_process: invoice.sh UNLINK the file_object_file: invoice.sh,2018-04-11 23:59:40\n"
)


def assert_user_error(result, code: int, *fragments: str) -> str:
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert "Traceback" not in stderr
    assert stderr.startswith("aptnarrate: error:"), stderr
    for fragment in fragments:
        assert fragment in stderr, stderr
    assert result.stdout == b""
    return stderr


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "sub.csv"
    path.write_text(GOOD_CSV)
    return path


def test_missing_file(tmp_path):
    assert_user_error(run_cli("report", str(tmp_path / "nope.csv"), process=True), 3, "nope.csv", "file not found")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert_user_error(run_cli("report", str(path)), 3, "empty.csv", "empty")


def test_header_only(tmp_path):
    path = tmp_path / "head.csv"
    path.write_text("description,timestamp\n")
    assert_user_error(run_cli("report", str(path)), 3, "head.csv:1", "no events")


def test_unknown_header(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("what,when\nx,1\n")
    assert_user_error(run_cli("inspect", str(path)), 3, "odd.csv:1", "unrecognised header", "description,timestamp", "--column")


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(GOOD_CSV.encode() + "The subject_process: caf\xe9 READ a file_object_file,2018-04-11 23:59:50\n".encode("latin-1"))
    assert_user_error(run_cli("report", str(path)), 3, "latin.csv:7:", "UTF-8")


def test_unparseable_description_is_skipped_then_strict_fails(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(GOOD_CSV + "this is not an event,2018-04-11 23:59:51\n")
    ok = run_cli("report", str(path), "--format", "json", "--backend", "offline")
    assert ok.returncode == 0, ok.stderr.decode()
    report = json.loads(ok.stdout)
    assert report["metadata"]["skipped_count"] == 1
    assert report["metadata"]["skipped_lines"][0] == {"line": 7, "column": "description", "reason": "unparseable description"}
    assert_user_error(run_cli("report", str(path), "--strict"), 3, "bad.csv:7", "description", "unparseable description")


def test_unparseable_timestamp_strict(tmp_path):
    path = tmp_path / "ts.csv"
    path.write_text(GOOD_CSV + "A subject_process READ a file_object_file,yesterday\n")
    assert_user_error(run_cli("inspect", str(path), "--strict"), 3, "ts.csv:7", "timestamp", "unparseable timestamp")


def test_every_line_bad_is_an_error(tmp_path):
    path = tmp_path / "allbad.csv"
    path.write_text("description,timestamp\nnonsense,2018-04-11 23:58:01\n")
    assert_user_error(run_cli("report", str(path)), 3, "allbad.csv:2", "no usable event")


def test_unknown_timezone_is_usage_error(good):
    assert_user_error(run_cli("report", str(good), "--timezone", "Mars/Olympus"), 2, "time zone")


def test_bad_internal_net_is_usage_error(good):
    assert_user_error(run_cli("report", str(good), "--internal-net", "10.0.0.0/33"), 2, "10.0.0.0/33")


def test_missing_input_is_usage_error():
    assert_user_error(run_cli("report"), 2, "missing INPUT")


def test_argparse_errors_exit_2():
    result = run_cli("report", "x.csv", "--format", "pdf")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr.decode()


def test_openai_backend_without_key_names_the_variable(good, tmp_path):
    result = run_cli("report", str(good), "--backend", "openai", cwd=tmp_path)
    assert_user_error(result, 4, "OPENAI_API_KEY")


def test_replay_without_fixtures_is_usage_error(good, tmp_path):
    assert_user_error(run_cli("report", str(good), "--backend", "replay", cwd=tmp_path), 2, "--fixtures")


def test_auto_without_key_uses_offline_with_notice(good, tmp_path):
    result = run_cli("report", str(good), cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    stderr = result.stderr.decode().strip().splitlines()
    assert len(stderr) == 1 and "offline narrator" in stderr[0]
    text = result.stdout.decode()
    assert text.startswith("# Attack Report: sub.csv\n")
    assert "Backend: offline" in text


def test_report_from_stdin_and_to_file(good, tmp_path):
    out = tmp_path / "out" / "report.md"
    result = run_cli("report", "-", "-o", str(out), "--backend", "offline", stdin=good.read_bytes(), process=True)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b""
    text = out.read_text()
    assert "| 2018-04-11 23:58 | The process `thunderbird` WRITE the file: `invoice.sh`. |" in text
    assert "| 2018-04-11 23:59 | The process `invoice.sh` UNLINK the file: `invoice.sh`. |" in text


def test_json_report_round_trips_through_render(good, tmp_path):
    saved = tmp_path / "r.json"
    first = run_cli("report", str(good), "--format", "json", "-o", str(saved), "--backend", "offline")
    assert first.returncode == 0, first.stderr.decode()
    direct = run_cli("report", str(good), "--backend", "offline")
    rendered = run_cli("render", str(saved))
    assert rendered.returncode == 0, rendered.stderr.decode()
    assert rendered.stdout == direct.stdout


def test_render_rejects_non_report(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"title": 1}')
    assert_user_error(run_cli("render", str(path)), 3, "x.json", "not an aptnarrate JSON report")


def test_inspect_json_lists_candidates(good):
    result = run_cli("inspect", str(good), "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    values = {c["value"]: c["type"] for c in data["candidates"]}
    assert values.get("203.0.113.7") == "ip"
    assert values.get("invoice.sh") in {"file", "process"}
    assert [row["count"] for row in data["timeline"] if "CONNECT" in row["text"]] == [1, 1]


def test_help_is_fast_and_lazy():
    code = (
        "import sys, time; t=time.perf_counter(); from aptnarrate.cli import build_parser; build_parser(); "
        "print(time.perf_counter()-t, 'pandas' in sys.modules, 'openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
    assert out[1:] == ["False", "False"]
    for command in ([], ["report"], ["inspect"], ["render"]):
        result = run_cli(*command, "--help")
        assert result.returncode == 0
        assert b"usage: aptnarrate" in result.stdout


def test_readme_documents_every_option():
    """The README's CLI reference stays in step with the parser."""
    from aptnarrate.cli import build_parser

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    missing = []
    for name, sub in commands.items():
        assert f"aptnarrate {name}" in readme
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and option not in readme:
                    missing.append(f"{name} {option}")
    assert missing == []


def test_notices_for_skipped_lines_and_a_zone_that_cannot_apply(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(GOOD_CSV + "garbage line,2018-04-11 23:59:59\n")
    result = run_cli("inspect", str(path), "--timezone", "Europe/Paris")
    assert result.returncode == 0
    notices = result.stderr.decode().strip().splitlines()
    assert notices == [
        "aptnarrate: the timestamps carry no time zone, so they are shown as written; --timezone Europe/Paris "
        "applies only to epoch times and times with an offset (give --input-timezone to convert them)",
        "aptnarrate: skipped 1 unusable line(s), first line 7: unparseable description "
        "(listed in the report's metadata; --strict makes this an error)",
    ]


def test_a_command_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    """main() collects less often while a command runs (a speed setting); a library caller
    that runs the CLI in-process gets its own thresholds back, after success or failure."""
    import gc

    from aptnarrate import cli, examples

    before = gc.get_threshold()
    try:
        gc.set_threshold(321, 9, 8)
        assert cli.main(["inspect", str(examples.path("dropper"))]) == 0
        assert gc.get_threshold() == (321, 9, 8)
        assert cli.main(["inspect", str(tmp_path / "missing.csv")]) != 0
        assert gc.get_threshold() == (321, 9, 8)
    finally:
        gc.set_threshold(*before)


def test_one_input_in_a_process_of_its_own_runs_without_the_collector(monkeypatch, tmp_path):
    """``report`` and ``inspect`` as the command line runs them (``own_process``) turn the
    cyclic collector off while they run (their garbage does not grow with the input; the
    collector's passes cost 0.9 s at 10M rows) and back on after, success or failure;
    other commands only collect less often."""
    import gc

    from aptnarrate import cli, examples

    seen = []
    real_inspect = cli.COMMANDS["inspect"]
    monkeypatch.setitem(cli.COMMANDS, "inspect", lambda args: seen.append(gc.isenabled()) or real_inspect(args))
    assert gc.isenabled()
    assert cli.main(["inspect", str(examples.path("dropper")), "-o", str(tmp_path / "a.txt")], own_process=True) == 0
    assert cli.main(["inspect", str(tmp_path / "missing.csv")], own_process=True) != 0
    assert cli.main(["inspect", str(examples.path("dropper")), "-o", str(tmp_path / "b.txt")]) == 0
    assert seen == [False, False, True] and gc.isenabled()


def test_sigterm_while_writing_exits_130_and_leaves_the_old_file(tmp_path):
    """The exit-code table: 130 for Ctrl-C or SIGTERM. A SIGTERM in the middle of
    `report -o` wrote half a temp file and killed the process (exit -15, the temp file
    left beside the output); now it ends like Ctrl-C. Needs a process of its own: the
    signal arrives while the first piece of the report is being written."""
    out = tmp_path / "r.md"
    out.write_text("old report\n")
    code = (
        "import os, signal, sys; from aptnarrate import cli, output\n"
        "write_all = output._write_all\n"
        "def killed(handle, data):\n"
        "    handle.write(b'half a report'); os.kill(os.getpid(), signal.SIGTERM); write_all(handle, data)\n"
        "output._write_all = killed\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(MODEL_SETTINGS)}
    result = subprocess.run(
        [sys.executable, "-c", code, "report", str(good_path(tmp_path)), "--backend", "offline", "-o", str(out)],
        capture_output=True, env=environment, timeout=120,
    )
    assert result.returncode == 130, result.stderr.decode()
    assert b"aptnarrate: interrupted" in result.stderr
    assert out.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md", "sub.csv"]  # no temp file left


def good_path(folder: Path) -> Path:
    path = folder / "sub.csv"
    path.write_text(GOOD_CSV)
    return path


def test_help_names_what_each_command_takes_and_writes():
    """`report --help` said "(Markdown or JSON)" while --format offers six formats, and
    `render --help` named only a JSON report although it re-renders a saved story.json."""
    from aptnarrate.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    report = " ".join(commands["report"].format_help().split())
    assert "Markdown or JSON" not in report
    assert all(word in report for word in ("HTML", "STIX 2.1", "Navigator", "CSV"))
    render = " ".join(commands["render"].format_help().split())
    assert "story.json" in render
    assert "default 60" in report and "default 12000" in report  # the model options' defaults


def test_pivot_and_ask_do_not_offer_context_top():
    """--context-top picks which IoCs `report`, `batch` and `story` look up; `pivot` looks up
    its ENTITY and `ask` the names in its question, so the option was accepted and ignored
    there while its help promised 'look up the N best-ranked addresses, processes and files'."""
    from aptnarrate.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    offered = {name: {o for a in sub._actions for o in a.option_strings} for name, sub in commands.items()}
    assert "--context-top" not in offered["pivot"] | offered["ask"]
    assert {"--context", "--context-window"} <= offered["pivot"] & offered["ask"]
    assert all("--context-top" in offered[name] for name in ("report", "batch", "story"))


@pytest.mark.parametrize("command", [["report", "--example", "dropper", "--backend", "offline"], ["batch", "--example", "host", "-o", "OUT"], ["ask", "REPORT", "why?"]])
def test_an_env_file_given_by_name_must_exist(command, tmp_path, capsys):
    """``--env-file`` naming a missing file is a usage error (exit 2), not silently no
    settings (a typo would run with the defaults); the default ``.env`` may be absent."""
    from aptnarrate import cli

    argv = [str(tmp_path / "out") if a == "OUT" else str(tmp_path / "r.json") if a == "REPORT" else a for a in command]
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--env-file", str(tmp_path / "missing.env")])
    assert exit_info.value.code == 2
    assert "--env-file" in capsys.readouterr().err


def test_without_env_file_a_missing_default_env_is_fine(tmp_path, monkeypatch, capsys):
    from aptnarrate import cli

    monkeypatch.chdir(tmp_path)  # no .env here
    assert cli.main(["report", "--example", "dropper", "--backend", "offline", "-o", str(tmp_path / "r.md")]) == 0


@pytest.mark.parametrize("kind", ["report", "story"])
@pytest.mark.parametrize("version", ["99", "2.0", "0.9"])
def test_render_refuses_a_schema_version_of_another_major(kind, version, tmp_path, capsys):
    """A report or story written by a later (or earlier, incompatible) aptnarrate is refused
    by name, exit 3, instead of rendered as if it were this version's; 1.x is read."""
    from aptnarrate import cli

    out = tmp_path / "batch"
    assert cli.main(["batch", "--example", "host", "-o", str(out), "--story", "--formats", "json"]) == 0
    source = out / ("story.json" if kind == "story" else "host_subgraph_1.json")
    data = json.loads(source.read_text())
    assert data["schema_version"].startswith("1.")
    capsys.readouterr()
    for written, code in ((version, 3), ("1.7", 0)):
        data["schema_version"] = written
        path = tmp_path / f"{kind}-{written}.json"
        path.write_text(json.dumps(data))
        assert cli.main(["render", str(path), "-o", str(tmp_path / "out.md")]) == code, written
        err = capsys.readouterr().err
        if code:
            assert "schema version" in err and repr(written) in err, err


def test_the_command_runs_without_openblas_threads_unless_the_user_asks_for_them(monkeypatch):
    """numpy's OpenBLAS starts a spinning thread per core at import (about 0.1 s of CPU
    each, on the core Arrow's CSV reader wants); no command does linear algebra, so the
    ``aptnarrate`` process asks for one thread, before numpy loads. A value the user set
    stands."""
    from aptnarrate import cli

    seen = []
    monkeypatch.setattr(cli, "main", lambda **_: seen.append(os.environ.get("OPENBLAS_NUM_THREADS")) or 0)
    monkeypatch.setattr(cli.gc, "freeze", lambda: None)  # the test process's objects stay collectable
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert cli.console() == 0
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    assert cli.console() == 0
    assert seen == ["1", "4"]


@pytest.mark.parametrize(
    "argv",
    [
        ["batch", "EXAMPLE", "-o", "", "--backend", "offline"],
        ["batch", "", "-o", "OUT", "--backend", "offline"],
        ["story", "", "--backend", "offline"],
        ["report", "EXAMPLE", "--backend", "offline", "-o", " "],
    ],
)
def test_an_empty_path_is_a_usage_error_not_the_current_folder(tmp_path, monkeypatch, argv):
    # the operating system reads "" as the current folder: a batch wrote over index.md there
    from aptnarrate.cli import main
    from aptnarrate.examples import path as example_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "index.md").write_text("my notes")
    argv = [str(example_path("dropper")) if a == "EXAMPLE" else str(tmp_path / "out") if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    assert (tmp_path / "index.md").read_text() == "my notes" and sorted(p.name for p in tmp_path.iterdir()) == ["index.md"]
