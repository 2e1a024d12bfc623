"""Record and replay of chat exchanges."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from llm_server import llm_server, ok, refusal  # noqa: F401
from test_openai_transport import NARRATION, make_request, transport

from aptnarrate.backends.replay import RecordingTransport, ReplayTransport, canonical_digest
from aptnarrate.llm.chat import ChatResponse
from aptnarrate.errors import BackendError, ConfigError

SERVED_FIELDS = ("content", "refusal", "finish_reason", "model", "prompt_tokens", "completion_tokens")


def served(response: ChatResponse) -> tuple:
    return tuple(getattr(response, name) for name in SERVED_FIELDS)


class CannedTransport:
    """Returns one fixed response: for tests that need no server."""

    name = "canned"

    def __init__(self, content: str = '{"summary": "x"}') -> None:
        self.calls = 0
        self.content = content

    def complete(self, request):
        self.calls += 1
        return ChatResponse(content=self.content, refusal=None, finish_reason="stop", model="m-1", prompt_tokens=5, completion_tokens=3)


def test_record_then_replay_gives_the_identical_response(llm_server, tmp_path):
    llm_server.enqueue(ok(NARRATION, prompt_tokens=1234, completion_tokens=56), refusal("no"))
    recorder = RecordingTransport(transport(llm_server), tmp_path)
    first, second = make_request(user="subgraph 1"), make_request(user="subgraph 2")
    live = [recorder.complete(first), recorder.complete(second)]

    replay = ReplayTransport(tmp_path)
    assert sorted(replay.fixtures) == sorted([first.digest(), second.digest()])
    assert [served(replay.complete(first)), served(replay.complete(second))] == [served(r) for r in live]
    assert replay.complete(second).refusal == "no"
    assert len(llm_server.requests) == 2  # replay never touched the server


def test_recording_holds_the_request_but_no_secret_or_header(llm_server, tmp_path):
    llm_server.enqueue(ok(NARRATION))
    request = make_request()
    RecordingTransport(transport(llm_server), tmp_path).complete(request)

    assert llm_server.requests[0].headers["authorization"] == "Bearer sk-test-SECRET"  # it was sent...
    (path,) = tmp_path.iterdir()  # ...but only one file was written, named by digest
    assert path.name == f"{request.digest()}.json"
    text = path.read_text(encoding="utf-8")
    for secret in ("sk-test-SECRET", "Bearer", "authorization", "x-stainless"):
        assert secret.lower() not in text.lower()
    record = json.loads(text)
    assert record["request"] == request.canonical()
    assert json.loads(record["response"]["content"]) == NARRATION
    assert record["response"]["usage"] == {"prompt_tokens": 100, "completion_tokens": 20}
    assert record["metadata"]["source"] == "recorded"
    assert record["metadata"]["recorded_at"].endswith("+00:00")
    assert canonical_digest(record["request"]) == request.digest()


def test_recording_creates_the_directory_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "new" / "dir"
    inner = CannedTransport()
    response = RecordingTransport(inner, target).complete(make_request())
    assert response.content == inner.content
    assert [p.name for p in target.iterdir()] == [f"{make_request().digest()}.json"]


def test_replay_miss_names_the_hash_and_the_difference(tmp_path):
    recorded = make_request(user="minute 10:01 nginx CONNECT 203.0.113.7\nminute 10:02 nginx READ /etc/passwd")
    RecordingTransport(CannedTransport(), tmp_path).complete(recorded)
    RecordingTransport(CannedTransport(), tmp_path).complete(make_request(user="something else entirely", model="gpt-4o"))
    replay = ReplayTransport(tmp_path)

    changed = make_request(user="minute 10:01 nginx CONNECT 203.0.113.7\nminute 10:02 nginx READ /etc/shadow")
    with pytest.raises(BackendError) as caught:
        replay.complete(changed)
    message = str(caught.value)
    assert changed.digest() in message
    assert f"nearest recorded request: {recorded.digest()}.json" in message
    assert "fields that differ: messages" in message
    assert "first differing message: #1 (user)" in message
    assert "-minute 10:02 nginx READ /etc/passwd" in message
    assert "+minute 10:02 nginx READ /etc/shadow" in message

    with pytest.raises(BackendError, match=r"model: recorded 'gpt-4o-mini', requested 'gpt-4.1-mini'"):
        replay.complete(replace(recorded, model="gpt-4.1-mini"))


def test_replay_miss_diff_is_truncated(tmp_path):
    RecordingTransport(CannedTransport(), tmp_path).complete(make_request(user="\n".join(f"a{i}" for i in range(500))))
    with pytest.raises(BackendError) as caught:
        ReplayTransport(tmp_path).complete(make_request(user="\n".join(f"b{i}" for i in range(500))))
    assert "more diff lines" in str(caught.value)
    assert len(str(caught.value)) < 5000


def test_replay_miss_in_an_empty_directory(tmp_path):
    with pytest.raises(BackendError, match="holds no fixtures"):
        ReplayTransport(tmp_path).complete(make_request())


def test_missing_fixture_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="fixtures directory not found"):
        ReplayTransport(tmp_path / "absent")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not readable JSON"),
        ("[]", "expected a JSON object"),
        ('{"request": {"messages": []}}', "'response'"),
        ('{"request": {"messages": []}, "response": {"content": "x"}}', "lacks refusal, finish_reason, model"),
        ('{"request": {"messages": []}, "response": {"content": 3, "refusal": null, "finish_reason": "stop", "model": "m"}}', "content must be a string"),
    ],
)
def test_malformed_fixture_names_the_file(tmp_path, text, needle):
    (tmp_path / "abc.json").write_text(text, encoding="utf-8")
    with pytest.raises(BackendError) as caught:
        ReplayTransport(tmp_path)
    assert "abc.json" in str(caught.value) and needle in str(caught.value)


def test_fixture_whose_name_does_not_match_its_request_is_rejected(tmp_path):
    request = make_request()
    RecordingTransport(CannedTransport(), tmp_path).complete(request)
    path = tmp_path / f"{request.digest()}.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["request"]["messages"][1]["content"] = "edited by hand"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(BackendError, match=f"{path.name}: its request hashes to {canonical_digest(record['request'])}"):
        ReplayTransport(tmp_path)


def test_hand_written_source_is_reported(tmp_path):
    request = make_request()
    record = {
        "request": request.canonical(),
        "response": {"content": "{}", "refusal": None, "finish_reason": "stop", "model": "gpt-4o-mini",
                     "usage": {"prompt_tokens": 10, "completion_tokens": 2}},
        "metadata": {"source": "hand-written"},
    }
    (tmp_path / f"{request.digest()}.json").write_text(json.dumps(record), encoding="utf-8")
    response = ReplayTransport(tmp_path).complete(request)
    assert response.extra["source"] == "hand-written"
    assert (response.content, response.prompt_tokens) == ("{}", 10)
