"""batch --openai-batch: every input through the Batch API (tests/batch_server.py), the same
reports as the concurrent path, resumable, failed lines reported per input."""

from __future__ import annotations

import json
import os

import pytest
from batch_server import FakeBatchServer
from llm_server import llm_server, ok  # noqa: F401  (pytest fixture)

from aptnarrate import cli
from aptnarrate.examples import host_example_dir

PLAIN_ANSWER = {"stages": [], "iocs": [], "summary": "The flagged activity is summarised by its log."}
_SETTINGS_PREFIXES = ("OPENAI_", "APTNARRATE_", "AZURE_OPENAI")
_RUN_SPECIFIC = ("backend", "usage", "notes")  # how the answer came, not what it says


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for variable in [v for v in os.environ if v.startswith(_SETTINGS_PREFIXES)]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("APTNARRATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-batch")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def batch_server():
    servers = []

    def make(**kw):
        server = FakeBatchServer(lambda custom_id, body: json.dumps(PLAIN_ANSWER), **kw).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def _through_batch_api(server, out, *extra, inputs=("--example", "host")):
    return cli.main(["batch", *inputs, "-o", str(out), "--backend", "openai", "--base-url", server.url,
                     "--openai-batch", "--batch-poll", "0.01", "--batch-max-wait", "10", "--no-cache", *extra])


def _comparable(path):
    report = json.loads(path.read_text(encoding="utf-8"))
    for key in _RUN_SPECIFIC:
        report["metadata"].pop(key, None)
    return report


def test_batch_api_gives_the_reports_of_the_concurrent_path(batch_server, llm_server, tmp_path, capsys):  # noqa: F811
    inputs = sorted(host_example_dir("host").glob("*.csv"))
    llm_server.enqueue(*[ok(PLAIN_ANSWER) for _ in inputs])
    assert cli.main(["batch", "--example", "host", "-o", str(tmp_path / "sync"), "--backend", "openai",
                     "--base-url", llm_server.url, "--no-cache"]) == 0
    server = batch_server()
    assert _through_batch_api(server, tmp_path / "batch") == 0
    assert server.uploads == 1 and len(server.batches) == 1 and len(server.batches[0]) == len(inputs)
    for source in inputs:
        via_batch = tmp_path / "batch" / f"{source.stem}.json"
        assert _comparable(via_batch) == _comparable(tmp_path / "sync" / f"{source.stem}.json"), source.name
        assert json.loads(via_batch.read_text(encoding="utf-8"))["metadata"]["backend"] == "openai-batch"
    assert f"{len(inputs)} model request(s)" in capsys.readouterr().err
    assert not (tmp_path / "batch" / ".aptnarrate" / "openai-batch.json").exists()  # done: no state left


SMALL = ("host_subgraph_1", "host_subgraph_4")  # the two smallest shipped inputs, to stay fast


def _small() -> list[str]:
    return [str(host_example_dir("host") / f"{name}.csv") for name in SMALL]


def test_a_failed_line_is_reported_per_input_and_in_the_exit_code(batch_server, tmp_path, capsys):
    inputs = [host_example_dir("host") / f"{name}.csv" for name in SMALL]
    failing = inputs[1].stem
    server = batch_server(fail=())
    server.fail = _FailByPrefix(failing)
    code = _through_batch_api(server, tmp_path / "out", inputs=_small())
    assert code == 8
    index = (tmp_path / "out" / "index.md").read_text(encoding="utf-8")
    assert failing in index and "failed line" in index
    assert "failed line" in capsys.readouterr().err
    assert sorted(p.stem for p in (tmp_path / "out").glob("host_subgraph_*.json")) == sorted(i.stem for i in inputs if i.stem != failing)
    # with --fallback offline the failed input gets its stamped offline report (exit 9)
    assert _through_batch_api(server, tmp_path / "out2", "--fallback", "offline", inputs=_small()) == 9
    assert "Degraded report" in (tmp_path / "out2" / f"{failing}.md").read_text(encoding="utf-8")


class _FailByPrefix(set):
    """The server's ``fail`` set holds custom ids; ours carry the input's hash after its name."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __contains__(self, custom_id) -> bool:
        return str(custom_id).startswith(self.name + ":")


def test_an_interrupted_run_resumes_without_resubmitting(batch_server, tmp_path):
    """The wait runs out while the batch is in progress (as if the run were killed); the next
    run polls the same batch instead of submitting the requests again."""
    server = batch_server(polls_in_progress=1000)
    code = cli.main(["batch", *_small(), "-o", str(tmp_path / "out"), "--backend", "openai",
                     "--base-url", server.url, "--openai-batch", "--batch-poll", "0.01", "--batch-max-wait", "0.05", "--no-cache"])
    assert code != 0
    assert (tmp_path / "out" / ".aptnarrate" / "openai-batch.json").is_file()
    assert len(server.batches) == 1
    server.polls_in_progress = 0
    assert _through_batch_api(server, tmp_path / "out", inputs=_small()) == 0
    assert len(server.batches) == 1 and server.uploads == 1  # nothing paid twice
    assert sorted(p.stem for p in (tmp_path / "out").glob("host_subgraph_*.json")) == sorted(SMALL)


UNGROUNDED = {"stages": [], "iocs": [], "summary": "The process sent data to 198.51.100.77 at 03:14."}


def test_reask_sync_reasks_an_ungrounded_batch_answer_synchronously(tmp_path):
    """The Batch API's answer names an address and a time the input lacks: with --reask-sync
    it is re-asked over /chat/completions and the grounded answer is used; without, the
    ungrounded sentence is dropped. Nothing ungrounded reaches the report either way."""
    answer = lambda custom_id, body: json.dumps(UNGROUNDED if custom_id else PLAIN_ANSWER)  # noqa: E731
    server = FakeBatchServer(answer).start()
    try:
        assert _through_batch_api(server, tmp_path / "sync", "--reask-sync", inputs=_small()[:1]) == 0
        assert server.chat_requests == 1
        report = json.loads((tmp_path / "sync" / f"{SMALL[0]}.json").read_text(encoding="utf-8"))
        assert report["metadata"]["usage"]["reasks"] == 1
        assert "198.51.100.77" not in json.dumps(report)
        assert _through_batch_api(server, tmp_path / "pruned", inputs=_small()[:1]) == 0
        assert server.chat_requests == 1  # no synchronous call without --reask-sync
        report = json.loads((tmp_path / "pruned" / f"{SMALL[0]}.json").read_text(encoding="utf-8"))
        assert "198.51.100.77" not in report["summary"]
        assert any("198.51.100.77" in d["item"] or d["kind"] == "summary" for d in report["metadata"]["dropped"])
    finally:
        server.stop()
