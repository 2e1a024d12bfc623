"""batch: many inputs in one run, index, re-runs, failures, the cache, concurrency, fallback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from llm_server import llm_server, ok, status  # noqa: F401  (pytest fixture)
from llm_server import delay as slow

from aptnarrate import cli
from aptnarrate import examples
from aptnarrate.examples import host_example_dir
from aptnarrate.host.inputs import expand_inputs

SECRET = "test-key-host-51c2"
PLAIN_ANSWER = {"stages": [], "iocs": [], "summary": "The flagged activity is summarised by its log."}
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("APTNARRATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # no .env from the checkout


def use_server(monkeypatch, server) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


SMALL = ("host_subgraph_1", "host_subgraph_4")  # the two smallest: one attack, one benign


def host_inputs(tmp_path: Path, copies: int = 1, names=SMALL) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir(exist_ok=True)
    for source in sorted(host_example_dir("host").glob("*.csv")):
        if names and source.stem not in names:
            continue
        for n in range(copies):
            suffix = f"_{n}" if copies > 1 else ""
            shutil.copy(source, folder / f"{source.stem}{suffix}.csv")
    return folder


def temp_files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.name.endswith(".tmp"))


def test_offline_batch_writes_reports_index_and_story_and_a_rerun_skips_them(tmp_path, capsys):
    inputs = host_inputs(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["batch", str(inputs), "-o", str(out), "--story", "--backend", "offline"]) == 0
    names = sorted(p.stem for p in inputs.glob("*.csv"))
    for name in names:
        assert (out / f"{name}.md").read_text().startswith(f"# Attack Report: {name}.csv")
        assert json.loads((out / f"{name}.json").read_text())["input_name"] == f"{name}.csv"
    index = json.loads((out / "index.json").read_text())
    assert [r["name"] for r in index["inputs"]] == names
    assert {r["status"] for r in index["inputs"]} == {"written"}
    assert all(r["verdict"] and r["outputs"] == [f"{r['name']}.md", f"{r['name']}.json"] for r in index["inputs"])
    assert any(r["stages"] for r in index["inputs"]) and any(not r["stages"] for r in index["inputs"])
    assert "| `" in (out / "index.md").read_text()
    assert (out / "story.md").read_text().startswith("# Attack story")
    assert temp_files(out) == []
    before = {p: p.stat().st_mtime_ns for p in out.glob("host_*")}
    capsys.readouterr()

    assert cli.main(["batch", str(inputs), "-o", str(out), "--story", "--backend", "offline"]) == 0
    assert f"{len(names)} up to date" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in out.glob("host_*")} == before
    assert {r["status"] for r in json.loads((out / "index.json").read_text())["inputs"]} == {"skipped"}

    # a changed input or changed settings are redone
    changed = inputs / f"{names[0]}.csv"
    changed.write_text(changed.read_text() + changed.read_text().splitlines()[-1] + "\n")
    assert cli.main(["batch", str(inputs), "-o", str(out), "--backend", "offline"]) == 0
    statuses = {r["name"]: r["status"] for r in json.loads((out / "index.json").read_text())["inputs"]}
    assert statuses[names[0]] == "written" and statuses[names[1]] == "skipped"
    assert cli.main(["batch", str(inputs), "-o", str(out), "--backend", "offline", "--internal-net", "10.0.0.0/8"]) == 0
    assert {r["status"] for r in json.loads((out / "index.json").read_text())["inputs"]} == {"written"}


def test_one_failing_input_does_not_stop_the_others_and_exit_code_says_so(tmp_path, capsys):
    inputs = host_inputs(tmp_path)
    (inputs / "broken.csv").write_text("no,such,columns\n1,2,3\n")
    out = tmp_path / "out"
    code = cli.main(["batch", str(inputs / "*.csv"), "-o", str(out), "--formats", "md", "--backend", "offline"])
    err = capsys.readouterr().err
    assert code == 8
    assert "failed" in err and "broken.csv" in err
    index = json.loads((out / "index.json").read_text())
    broken = next(r for r in index["inputs"] if r["name"] == "broken")
    assert broken["status"] == "failed" and broken["reason"] and broken["outputs"] == []
    assert sum(r["status"] == "written" for r in index["inputs"]) == 2
    assert not list(out.glob("*.json"))[1:] or all(p.name == "index.json" for p in out.glob("*.json"))


def test_unknown_format_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["batch", str(host_inputs(tmp_path)), "-o", str(tmp_path / "o"), "--formats", "md,pdf", "--backend", "offline"]) == 2
    assert "unknown format 'pdf'" in capsys.readouterr().err


def test_folders_take_one_layout_per_subgraph_and_clashing_names_get_their_folder(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for folder in (a, b):
        (folder / "x.csv").write_text("description,timestamp\n")
        (folder / "x.edges.csv").write_text("")
    (a / "index.csv").write_text("")
    inputs, notices = expand_inputs([str(a), str(b / "x.csv"), str(b / "x.edges.csv")])
    assert [i.name for i in inputs] == ["index-input", "a_x", "b_x", "x.edges"]
    assert "edge list" in notices[0]


def test_a_glob_matching_both_layouts_takes_one_per_subgraph(tmp_path):
    """README's 'run1/*_subgraph_*.csv' matched NAME.csv and NAME.edges.csv alike, so each
    subgraph was reported twice; a pattern now takes one layout per subgraph, as a folder
    does, and says so; an edge list without its CSV twin, and a file named '[...]', stay."""
    run = tmp_path / "run1"
    run.mkdir()
    for name in ("h_subgraph_1.csv", "h_subgraph_1.edges.csv", "h_subgraph_2.edges.csv", "h_subgraph_[3].csv"):
        (run / name).write_text("description,timestamp\n")
    inputs, notices = expand_inputs([str(run / "*_subgraph_*.csv")])
    assert [i.name for i in inputs] == ["h_subgraph_1", "h_subgraph_2.edges", "h_subgraph_[3]"]
    assert len(notices) == 1 and "1 edge list(s)" in notices[0] and "*_subgraph_*.csv" in notices[0]
    inputs, _ = expand_inputs([str(run / "h_subgraph_[3].csv")])  # an existing file, not a pattern
    assert [i.name for i in inputs] == ["h_subgraph_[3]"]


def test_model_batch_is_concurrent_and_a_rerun_makes_no_call(tmp_path, llm_server, monkeypatch, capsys):  # noqa: F811
    use_server(monkeypatch, llm_server)
    inputs = host_inputs(tmp_path)
    llm_server.enqueue(*[slow(0.5, ok(PLAIN_ANSWER)) for _ in range(2)])
    from aptnarrate.host.batch import Batch
    from aptnarrate.pipeline import NarrateOptions

    items, _ = expand_inputs([str(inputs)])
    result = Batch(items, tmp_path / "out", NarrateOptions(backend="openai", cache=True, dotenv=None), concurrency=4).run()
    assert [o.status for o in result.outcomes] == ["written"] * 2
    assert result.model_calls == 2 == len(llm_server.requests)
    assert 1 <= result.peak_in_flight <= 4
    assert all(r.body["model"] for r in llm_server.requests)

    # re-run: up to date, nothing sent; forced re-run: every answer from the cache
    code = cli.main(["batch", str(inputs), "-o", str(tmp_path / "out"), "--backend", "openai"])
    assert code == 0 and len(llm_server.requests) == 2
    code = cli.main(["batch", str(inputs), "-o", str(tmp_path / "out"), "--backend", "openai", "--force"])
    assert code == 0 and len(llm_server.requests) == 2
    assert "0 model request(s), 2 answered from the cache" in capsys.readouterr().err
    cached = list((tmp_path / "cache").rglob("*.json"))
    assert len(cached) == 2
    assert not any(SECRET in p.read_text() for p in cached)
    # --no-cache asks again
    llm_server.enqueue(ok(PLAIN_ANSWER))
    assert cli.main(["batch", str(inputs / "host_subgraph_1.csv"), "-o", str(tmp_path / "out2"), "--backend", "openai", "--no-cache"]) == 0
    assert len(llm_server.requests) == 3


def test_model_batch_backs_off_on_429_with_retry_after(tmp_path, llm_server, monkeypatch):  # noqa: F811
    use_server(monkeypatch, llm_server)
    inputs = host_inputs(tmp_path, names=("host_subgraph_1",))
    llm_server.enqueue(status(429, retry_after="0.2"), ok(PLAIN_ANSWER))
    assert cli.main(["batch", str(inputs), "-o", str(tmp_path / "out"), "--backend", "openai", "--concurrency", "1"]) == 0
    assert len(llm_server.requests) == 2
    retried = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("host_*.json")]
    assert sum(r["metadata"]["usage"]["transport_retries"] for r in retried) == 1


def test_fallback_offline_writes_stamped_reports_with_exit_9_and_without_it_fails(tmp_path, llm_server, monkeypatch, capsys):  # noqa: F811
    use_server(monkeypatch, llm_server)  # nothing queued: every call answers HTTP 400
    inputs = host_inputs(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["batch", str(inputs), "-o", str(out), "--backend", "openai", "--fallback", "offline"]) == 9
    for path in out.glob("host_*.json"):
        report = json.loads(path.read_text())
        assert report["metadata"]["backend"] == "offline (fallback)"
        assert any(note.startswith("fallback: BackendError") and "HTTP 400" in note for note in report["metadata"]["notes"])
        assert report["summary"].startswith("Degraded report: the model path failed")
    assert "Degraded report" in (out / "host_subgraph_1.md").read_text()
    assert {r["status"] for r in json.loads((out / "index.json").read_text())["inputs"]} == {"degraded"}
    capsys.readouterr()

    single = tmp_path / "single.md"
    assert cli.main(["report", str(inputs / "host_subgraph_1.csv"), "--backend", "openai", "--fallback", "offline", "-o", str(single)]) == 9
    assert "Degraded report" in single.read_text()
    assert "wrote the offline report instead" in capsys.readouterr().err
    assert cli.main(["report", str(inputs / "host_subgraph_1.csv"), "--backend", "openai"]) == 6
    assert cli.main(["batch", str(inputs / "host_subgraph_1.csv"), "-o", str(tmp_path / "strict"), "--backend", "openai"]) == 8


def test_the_model_tells_the_story_in_one_grounded_call_and_what_stays_ungrounded_is_dropped(tmp_path, llm_server, monkeypatch, capsys):  # noqa: F811
    use_server(monkeypatch, llm_server)
    monkeypatch.setenv("APTNARRATE_MAX_REASKS", "1")
    inputs = host_inputs(tmp_path)
    good = "The host shows two flagged subgraphs."
    invented = "Data went to 192.0.2.99 at 23:59."
    story_answer = {"summary": f"{good} {invented}", "stages": [], "conclusions": ["Nothing more."], "next_steps": ["Review host_subgraph_1."]}
    llm_server.enqueue(ok(PLAIN_ANSWER), ok(PLAIN_ANSWER), ok(story_answer), ok(story_answer))
    out = tmp_path / "out"
    assert cli.main(["batch", str(inputs), "-o", str(out), "--backend", "openai", "--story"]) == 0
    assert len(llm_server.requests) == 4
    reask = llm_server.requests[3].body["messages"][-1]["content"]
    assert "192.0.2.99" in reask and "absent from the reports" in reask
    story = json.loads((out / "story.json").read_text())
    assert story["summary"] == good
    assert story["metadata"]["narrator"] == "openai" and story["metadata"]["usage"]["calls"] == 2
    assert [d["item"] for d in story["metadata"]["dropped"]] == [invented]
    body = (out / "story.md").read_text().split("<details>")[0]
    assert "192.0.2.99" not in body  # only in the metadata's list of dropped claims
    # a re-run tells the same story from the cache: no call
    assert cli.main(["batch", str(inputs), "-o", str(out), "--backend", "openai", "--story"]) == 0
    assert len(llm_server.requests) == 4
    assert "0 model request(s), 2 answered from the cache" in capsys.readouterr().err
    again = json.loads((out / "story.json").read_text())
    for document in (again, story):
        document["metadata"]["usage"]["latency_s"] = 0  # an answer from the cache takes no time
    assert again == story


def test_a_failed_model_story_falls_back_to_the_offline_story_only_when_asked(tmp_path, llm_server, monkeypatch):  # noqa: F811
    use_server(monkeypatch, llm_server)
    inputs = host_inputs(tmp_path)
    llm_server.enqueue(ok(PLAIN_ANSWER), ok(PLAIN_ANSWER))  # then every call answers HTTP 400
    out = tmp_path / "out"
    assert cli.main(["batch", str(inputs), "-o", str(out), "--backend", "openai", "--story", "--fallback", "offline"]) == 9
    story = json.loads((out / "story.json").read_text())
    assert story["summary"].startswith("Degraded story: the model's story failed")
    assert story["metadata"]["narrator"] == "offline (fallback)"
    assert json.loads((out / "index.json").read_text())["story_degraded"]
    assert cli.main(["batch", str(inputs), "-o", str(tmp_path / "strict"), "--backend", "openai", "--story"]) == 8
    assert not (tmp_path / "strict" / "story.md").exists()
    assert "the model's story failed" in json.loads((tmp_path / "strict" / "index.json").read_text())["story_error"]


def test_the_async_transport_keeps_at_most_concurrency_requests_in_flight(llm_server):  # noqa: F811
    import threading
    import time

    from aptnarrate.backends.openai_async import AsyncOpenAITransport
    from aptnarrate.llm.chat import ChatRequest
    from aptnarrate.llm.config import load_settings
    from aptnarrate.models import Narration

    settings = load_settings({"base_url": llm_server.url, "api_key": SECRET}, environ={}, dotenv_path=None)
    transport = AsyncOpenAITransport(settings, Narration, concurrency=2)
    request = ChatRequest(messages=(("user", "hi"),), model="m", temperature=0, seed=None, mode="json", schema_name="n", schema="{}")
    llm_server.enqueue(*[slow(0.4, ok(PLAIN_ANSWER)) for _ in range(4)])
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(transport.complete(request))) for _ in range(4)]
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        transport.close()
    elapsed = time.monotonic() - started
    assert len(answers) == 4 and all(a.finish_reason == "stop" for a in answers)
    assert transport.peak_in_flight == 2 and transport.sent == 4
    assert elapsed >= 0.8  # at most two at a time: four 0.4 s answers take two rounds


def test_forked_offline_batch_writes_the_same_bytes_as_one_process(tmp_path, monkeypatch):
    """Offline batches of many inputs run the first input in the parent, then fork one worker
    per core (Linux); the files must be those a single process writes."""
    import aptnarrate.host.batch as batch_module

    inputs = host_inputs(tmp_path, copies=2)  # 4 inputs
    forks = []
    real = batch_module.Batch._run_forked
    monkeypatch.setattr(batch_module, "_offline_processes", lambda inputs: 2)
    monkeypatch.setattr(batch_module.Batch, "_run_forked", lambda self, *a: forks.append(len(a[0])) or real(self, *a))
    assert cli.main(["batch", str(inputs), "-o", str(tmp_path / "forked"), "--story", "--backend", "offline"]) == 0
    assert forks == [3]  # the first input ran before the fork
    monkeypatch.setattr(batch_module, "_offline_processes", lambda inputs: 1)
    assert cli.main(["batch", str(inputs), "-o", str(tmp_path / "single"), "--story", "--backend", "offline"]) == 0
    forked = sorted(p.name for p in (tmp_path / "forked").iterdir() if p.is_file())
    single = sorted(p.name for p in (tmp_path / "single").iterdir() if p.is_file())
    assert forked == single and len(forked) == 4 * 2 + 4
    for name in forked:
        if name.startswith("index"):  # names the OUTDIR
            continue
        a, b = (tmp_path / "forked" / name).read_text(), (tmp_path / "single" / name).read_text()
        assert a.replace("forked", "single") == b, name


def test_model_batch_split_over_processes_writes_what_one_process_writes(tmp_path, llm_server, monkeypatch):  # noqa: F811
    """Many model inputs run in one forked process per core, each with its own async client
    and its share of --concurrency; the reports, the calls and the cache are those of one
    process."""
    import aptnarrate.host.batch as batch_module
    from aptnarrate.host.batch import Batch
    from aptnarrate.pipeline import NarrateOptions

    use_server(monkeypatch, llm_server)
    llm_server.respond = lambda body: slow(0.05, ok(PLAIN_ANSWER))
    items, _ = expand_inputs([str(host_inputs(tmp_path, copies=2))])  # 4 inputs, 2 of each kind
    options = NarrateOptions(backend="openai", cache=True, dotenv=None)
    monkeypatch.setattr(batch_module, "_model_processes", lambda inputs, concurrency: 2)
    split = Batch(items, tmp_path / "split", options, concurrency=4).run()
    assert [o.status for o in split.outcomes] == ["written"] * 4
    # two distinct prompts; each process sent its own copy of each, or found it in the shared cache
    assert split.model_calls + split.cache_hits == 4 and split.model_calls == len(llm_server.requests) >= 2
    assert 1 <= split.peak_in_flight <= 4
    monkeypatch.setattr(batch_module, "_model_processes", lambda inputs, concurrency: 1)
    one = Batch(items, tmp_path / "one", options, concurrency=4).run()
    assert one.model_calls == 0 and one.cache_hits == 4  # the split run's answers are in the cache
    import re

    def without_latency(text: str) -> str:  # a cache hit takes 0.0 s, a live call longer
        return re.sub(r'("latency_s": )[0-9.]+|(tokens, )[0-9.]+ s', r"\1\2", text)

    for outcome in one.outcomes:
        for name in outcome.outputs:
            split_text, one_text = ((tmp_path / run / name).read_text() for run in ("split", "one"))
            assert without_latency(split_text) == without_latency(one_text), name


class _Terminal:
    """A stderr that says it is a terminal, so the progress bar is drawn into it."""

    def __init__(self) -> None:
        import io

        self.buffer = io.StringIO()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise OSError("not a real terminal")


def test_progress_bar_on_a_terminal_starts_no_thread_so_the_batch_still_forks(tmp_path, monkeypatch):
    """The bar is drawn by the parent from the workers' results: it starts no refresh thread
    (a thread in the parent would keep the batch from forking over the cores)."""
    import threading

    import aptnarrate.host.batch as batch_module

    inputs = host_inputs(tmp_path, copies=2)  # 4 inputs
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    # threads another test left behind may end meanwhile: only new threads count
    before = set(threading.enumerate())
    threads_at_decision, forks = [], []
    real = batch_module.Batch._run_forked

    def processes(count: int) -> int:
        threads_at_decision.append(set(threading.enumerate()) - before)
        return 2

    monkeypatch.setattr(batch_module, "_offline_processes", processes)
    monkeypatch.setattr(batch_module.Batch, "_run_forked", lambda self, *a: forks.append(len(a[0])) or real(self, *a))
    assert cli.main(["batch", str(inputs), "-o", str(tmp_path / "out"), "--backend", "offline", "--formats", "json"]) == 0
    assert threads_at_decision and all(not new for new in threads_at_decision)  # the bar added no thread
    assert forks == [3]
    drawn = terminal.buffer.getvalue()
    assert "aptnarrate batch" in drawn and "4/4" in drawn  # the bar was drawn and reached the end
    assert sorted(p.name for p in (tmp_path / "out").glob("*.json")) == sorted(
        [f"{p.stem}.json" for p in inputs.glob("*.csv")] + ["index.json"]
    )


def test_the_storys_request_is_fitted_to_the_token_budget_and_says_what_it_left_out():
    """The story's one request held every subgraph's results whole, however many: 60
    subgraphs with long stage reasons made a request of about 50,000 tokens under a budget
    of 12,000. It is now cut level by level, the data saying what was left out, and refused
    (BudgetError, which batch turns into a failed or degraded story) when even the least
    does not fit. A request that fits is the request as before."""
    from aptnarrate import examples, narrate
    from aptnarrate.errors import BudgetError
    from aptnarrate.host.story import build_story
    from aptnarrate.host.story_model import render_story_messages, story_request
    from aptnarrate.llm.chat import ChatRequest
    from aptnarrate.llm.config import load_settings
    from aptnarrate.llm.validate import request_tokens

    base = narrate(examples.path("dropper"), backend="offline", dotenv=None)
    quiet = narrate(examples.path("benign"), backend="offline", dotenv=None)
    long_reason = "The subgraph shows the stage in many rows and at length. " * 30
    reports = [
        (f"host_subgraph_{n}", (base if n % 2 else quiet).model_copy(update={"stages": [s.model_copy(update={"rationale": long_reason}) for s in (base if n % 2 else quiet).stages]}))
        for n in range(60)
    ]
    story = build_story(reports, title="t")
    settings = load_settings({"api_key": "k", "token_budget": 12000}, environ={}, dotenv_path=None)
    whole = ChatRequest.for_settings(settings, render_story_messages(story, reports, settings), "story", "{}")
    assert request_tokens(whole) > 12000
    request = story_request(story, reports, settings)
    assert request_tokens(request) <= 12000
    text = request.messages[-1][1]
    assert '"left_out"' in text and "to fit the token budget" in text
    few = reports[:2]
    small = build_story(few, title="t")
    assert story_request(small, few, settings).messages == ChatRequest.for_settings(settings, render_story_messages(small, few, settings), "story", "{}").messages
    with pytest.raises(BudgetError):
        story_request(story, reports, load_settings({"api_key": "k", "token_budget": 300}, environ={}, dotenv_path=None))


def test_the_storys_vocabulary_knows_every_reports_ioc_paths_and_no_invented_program():
    """Each report's IoCs (with the full paths behind them) are names the story may use:
    they were only added for the last report, and only with context rows. A program named
    bare that no report shows is flagged, as in a subgraph's grounding, and so is a stage
    asserted that no report shows."""
    from aptnarrate import narrate
    from aptnarrate.host.story_model import StoryVocabulary

    first = narrate(examples.path("dropper").with_suffix("").with_suffix(".edges.csv"), backend="offline", dotenv=None)
    windows_path = "C:\\Users\\alice\\AppData\\update.sh"
    iocs = [ioc.model_copy(update={"full_values": [*ioc.full_values, windows_path]}) if ioc.value == "update.sh" else ioc for ioc in first.iocs]
    second = narrate(examples.path("benign"), backend="offline", dotenv=None)
    vocabulary = StoryVocabulary([("dropper", first.model_copy(update={"iocs": iocs})), ("benign", second)])
    assert vocabulary.mentions(f"It wrote {windows_path}, then a bash script ran.") == []
    assert vocabulary.mentions("Then mimikatz ran.") == ["program mimikatz"]
    # a stage the story says happened must be one some subgraph's report shows
    shown = sorted({s.stage for s in first.stages})
    assert vocabulary.mentions(f"It began with {shown[0]}.") == []
    assert vocabulary.mentions("It ended in Lateral Movement.") == ["stage Lateral Movement (no subgraph's report shows it)"]
    assert vocabulary.mentions("No subgraph shows Lateral Movement.") == []
    assert vocabulary.mentions("It ended in `Lateral Movement`.") == ["stage Lateral Movement (no subgraph's report shows it)"]
    # what the story quotes must be in the data: names, subgraphs, stages, minutes, likelihoods
    minute = first.log[0].minute
    assert vocabulary.mentions(f"In `dropper` at `{minute}`, `update.sh` (`high`) began `{shown[0]}`.") == []
    assert vocabulary.mentions("It installed `FAKE_TASK`.") == ["name FAKE_TASK"]
    # a quoted name of the reports is that name: not a date, an address or a stage it holds
    dated = "nightly-2017-01-01.log"
    second_named = second.model_copy(update={"iocs": [*second.iocs[:1], second.iocs[0].model_copy(update={"value": dated, "full_values": [dated]})]})
    named = StoryVocabulary([("dropper", first), ("benign", second_named)])
    assert named.mentions(f"It wrote `{dated}`.") == []
    assert named.mentions("It ran on 2017-01-01.") == ["date 2017-01-01"]


def test_the_storys_vocabulary_checks_everything_a_subgraphs_grounding_checks():
    """The story's grounding was a smaller copy of a subgraph's: a port, a URL's path, a
    domain, a hash, a CVE id, a registry key or an hour the reports never show reached
    the story. It is now the subgraph's ``Vocabulary`` over every report."""
    from aptnarrate import narrate
    from aptnarrate.host.story_model import StoryVocabulary

    dropper = narrate(examples.path("dropper"), backend="offline", dotenv=None)
    vocabulary = StoryVocabulary([("dropper", dropper)])
    invented = {
        "It sent the files over port 4444.": "port port 4444",
        "It staged them at evil.example.net.": "domain evil.example.net",
        "Its hash is d41d8cd98f00b204e9800998ecf8427e.": "hash d41d8cd98f00b204e9800998ecf8427e",
        "It exploited CVE-2021-44228.": "vulnerability id CVE-2021-44228",
        "It wrote HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd.": "registry key HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\upd",
        "At 3 pm it ran again.": "time 3 pm",
    }
    for text, problem in invented.items():
        assert problem in vocabulary.mentions(text), text
    # what the reports do show stays allowed: the subgraph's name, its IoCs, its minutes, an IoC type
    ioc = dropper.iocs[0]
    assert vocabulary.mentions(f"In `dropper`, `{ioc.value}` (`{ioc.type}`) acted at {dropper.log[0].minute}.") == []


def test_a_program_every_host_runs_links_subgraphs_only_where_both_reports_suspect_it(tmp_path):
    """Three Windows subgraphs shared only ``svchost.exe``, rated high in one and low in the
    others: the story listed every pair as linked and said the IoC tied them to one
    activity. A name the knowledge base knows as a program every host runs now links two
    subgraphs only where both rate it above low; a name it does not know (a dropped file,
    an address) links wherever it is named."""
    from aptnarrate import narrate
    from aptnarrate.host.story import _tying_iocs, build_story

    reports = []
    for n in range(3):
        path = tmp_path / f"part_{n}.csv"
        path.write_text(
            "description,timestamp\n"
            f"The process: svchost.exe LOAD the module: wininet.dll,2019-09-24 1{n}:32:05\n"
            f"The process: svchost.exe WRITE the file: own_{n}.dat,2019-09-24 1{n}:33:07\n"
            f"The process: svchost.exe READ the file: shared_note.txt,2019-09-24 1{n}:34:07\n"
        )
        reports.append((f"part_{n}", narrate(path, backend="offline", dotenv=None)))

    def rated(report, value, likelihood):
        entry = next((i for i in report.iocs if i.value == value), None)
        template = entry or report.iocs[0]
        changed = template.model_copy(update={"value": value, "likelihood": likelihood, "type": "process" if value.endswith(".exe") else "file"})
        return report.model_copy(update={"iocs": [changed, *(i for i in report.iocs if i.value != value)]})

    def linked(reports):
        return {(link.subgraphs[0], link.subgraphs[1]): link.shared_entities for link in build_story(reports).links}

    # svchost.exe: high in one, low in the others -> no link, no tie
    case = [(name, rated(r, "svchost.exe", "high" if name == "part_0" else "low")) for name, r in reports]
    case = [(name, r.model_copy(update={"iocs": [i for i in r.iocs if i.value != "shared_note.txt"]})) for name, r in case]
    assert linked(case) == {} and "svchost.exe" not in _tying_iocs(case)
    # suspected in two: those two are linked by it, and it ties them
    case[1] = (case[1][0], rated(case[1][1], "svchost.exe", "moderate"))
    assert linked(case) == {("part_0", "part_1"): ["svchost.exe"]} and "svchost.exe" in _tying_iocs(case)
    # a name the knowledge base does not know links wherever it is named, even rated low;
    # listed in two tables, it ties them
    case[2] = (case[2][0], rated(case[2][1], "shared_note.txt", "low"))
    assert linked(case)[("part_0", "part_2")] == ["shared_note.txt"] and "shared_note.txt" not in _tying_iocs(case)
    case[0] = (case[0][0], rated(case[0][1], "shared_note.txt", "low"))
    assert "shared_note.txt" in _tying_iocs(case)
    # so does an IoC no log names (a swept subnet) that two tables list
    subnet = [(name, r.model_copy(update={"iocs": [*r.iocs, r.iocs[0].model_copy(update={"value": "10.9.8.0/24", "type": "other", "likelihood": "low"})]}))
              for name, r in case]
    assert "10.9.8.0/24" in _tying_iocs(subnet)


def test_a_story_of_one_stage_tells_one_stage():
    """"The evidence shows 1 stage(s), starting with Command and Control at ... and reaching
    Command and Control by ...": one stage is now told as one, with its span."""
    from aptnarrate import narrate
    from aptnarrate.host.story import build_story

    dropper = narrate(examples.path("dropper"), backend="offline", dotenv=None)
    first = dropper.stages[0]
    story = build_story([("dropper", dropper.model_copy(update={"stages": [first]}))])
    stage = story.stages[0]
    assert story.conclusions[0] == (
        f"The evidence shows 1 stage, {first.stage}, from {stage.first_minute} to {stage.last_minute} (`dropper`)."
    )
    assert build_story([("dropper", dropper)]).conclusions[0].startswith(f"The evidence shows {len(dropper.stages)} stages, starting with")


def test_a_clipped_summary_in_the_story_ends_between_names_not_inside_one():
    """The story clips a benign subgraph's summary (400 characters) and a stage's rationale
    (300): the cut fell inside a name's code span, which showed as an escaped backtick and
    half a name (``\\`python...``). It now ends after the last sentence or clause that
    fits, else at a space outside any name."""
    from aptnarrate import narrate
    from aptnarrate.host.story import build_story
    from aptnarrate.host.story_render import render_story_markdown

    dropper = narrate(examples.path("dropper"), backend="offline", dotenv=None)
    names = "; ".join(f"`process_{n}.exe` (an unknown program)" for n in range(20))
    summary = f"No activity matches a rule. Who acted: {names}."
    markdown = render_story_markdown(build_story([("quiet", dropper.model_copy(update={"stages": [], "summary": summary}))]))
    line = next(line for line in markdown.splitlines() if line.startswith("- quiet ("))
    told = line.split("log rows): ", 1)[1]
    assert told.endswith(" ...") and "\\`" not in told and told.count("`") % 2 == 0, told
    assert told.startswith("No activity matches a rule. Who acted: `process_0.exe`")


def test_a_stages_subgraphs_of_one_minute_are_listed_in_the_order_of_their_numbers():
    """Eight TRACE subgraphs sweeping in the same minute were listed as subgraph_1,
    subgraph_10, subgraph_11, subgraph_2: the names now sort with their numbers read as
    numbers (a 6,000-digit one included: no int() of it)."""
    from aptnarrate import narrate
    from aptnarrate.host.story import build_story

    dropper = narrate(examples.path("dropper"), backend="offline", dotenv=None)
    names = ["part_10", "part_2", "part_1", "part_" + "9" * 6000]
    story = build_story([(name, dropper) for name in names])
    assert story.stages[0].subgraphs == ["part_1", "part_2", "part_10", names[3]]


def test_the_storys_vocabulary_reads_each_distinct_description_not_each_row(monkeypatch):
    """Built as a subgraph's vocabulary over every report's rows, the story's vocabulary read
    each row's fields (ids and text included): 1.1 s and 148 MiB more for three 1M-row
    reports, where it had taken 0.26 s. It now reads each distinct description and minute
    once (0.24 s), and knows the same names."""
    from aptnarrate import narrate
    from aptnarrate.host import story_model
    from aptnarrate.preprocess.logtable import LogTable
    from aptnarrate.render import views

    from aptnarrate.grounding.ground import ROW_FIELDS, Vocabulary

    dropper = narrate(examples.path("dropper"), backend="offline", dotenv=None)
    # what the vocabulary over every row knows
    every_row = Vocabulary.from_columns(dict(zip(ROW_FIELDS, views.log_columns(dropper, *ROW_FIELDS))), dropper.iocs, names=["dropper"])
    said = f"It wrote `{dropper.iocs[0].value}` at {dropper.log[0].minute}."

    def per_row(*_args, **_kwargs):
        raise AssertionError("read per row")

    monkeypatch.setattr(views, "log_columns", per_row)
    monkeypatch.setattr(LogTable, "id_list", per_row)
    monkeypatch.setattr(LogTable, "minutes", per_row)
    vocabulary = story_model.StoryVocabulary([("dropper", dropper)])
    known = vocabulary.known
    assert (known.names_folded, known.minutes, known.events_folded, known.kinds, known.actions) == (
        every_row.names_folded, every_row.minutes, every_row.events_folded, every_row.kinds, every_row.actions)
    assert vocabulary.mentions(said) == []


def test_the_storys_own_sentences_quote_names_as_code_spans(tmp_path):
    # a name with blank lines and ** made its own bold paragraph in the summary, the
    # conclusions and the next steps ("Analyst note: **no action needed**")
    from aptnarrate import narrate
    from aptnarrate.host.story import build_story
    from aptnarrate.render.story import render_story_md

    name = "!ALL CLEAR\n\nAnalyst note: **no action needed**."
    rows = "".join(
        f'"The subject_process: bash {action} the file_object_file: /tmp/{name}",2025-05-14 09:1{n}:00\n'
        for n, action in enumerate(("WRITE", "EXECUTE", "UNLINK"))
    )
    reports = []
    for part in ("sg1", "sg2"):
        path = tmp_path / f"{part}.csv"
        path.write_text("description,timestamp\n" + rows + '"The subject_process: bash CONNECT the netflowobject: 203.0.113.9",2025-05-14 09:11:30\n', encoding="utf-8")
        reports.append((part, narrate(str(path), backend="offline", dotenv=None)))
    story = build_story(reports)
    text = render_story_md(story, reports)
    assert "\nAnalyst note" not in text and "\n\nAnalyst" not in text
    assert sum("`!ALL CLEAR\\n\\nAnalyst note: **no action needed**.`" in line for line in [story.summary, *story.conclusions, *story.next_steps]) >= 2


def test_a_story_over_reports_in_different_zones_says_its_order_may_be_wrong():
    # each report's minutes are text in its own zone; the story compared them as written and
    # told Initial Compromise hours after Covering Tracks, without a word
    from aptnarrate import narrate
    from aptnarrate.host.story import build_story

    utc = narrate(examples.path("dropper"), backend="offline", dotenv=None)
    tokyo = utc.model_copy(update={"metadata": utc.metadata.model_copy(update={"timezone": "Asia/Tokyo"})})
    story = build_story([("a", utc), ("b", tokyo)])
    assert any("different zones" in note and "Asia/Tokyo" in note for note in story.metadata.notes)
    assert "different zones" in story.to_markdown()
    assert not any("different zones" in note for note in build_story([("a", utc), ("b", utc)]).metadata.notes)
