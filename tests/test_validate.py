"""The re-ask loop, driven by a scripted transport (no network, no SDK)."""

from __future__ import annotations

import json

import pytest
from scripted import ScriptedTransport, answer, example_facts

from aptnarrate.backends.llm import ModelNarrator
from aptnarrate.llm.chat import ChatResponse
from aptnarrate.llm.config import LLMSettings
from aptnarrate.errors import BackendError, ValidationFailed
from aptnarrate.llm.validate import narrate_with_model


@pytest.fixture(scope="module")
def facts():
    return example_facts("dropper")


@pytest.fixture
def settings():
    return LLMSettings(max_reasks=2)


def _good(facts, extra_summary=""):
    top = facts.candidates[0]
    return answer(
        stages=[("Initial Compromise", top.evidence[:1], "The file was written and executed.")],
        iocs=[(top.value, "Not a known system file.", "Written, then executed.")],
        summary=f"{top.value} was written and executed.{extra_summary}",
    )


def test_a_grounded_answer_is_accepted_in_one_call_with_usage_and_cost(facts, settings):
    transport = ScriptedTransport(_good(facts))
    result = narrate_with_model(facts, transport, settings)
    assert [i.ioc for i in result.narration.iocs] == [facts.candidates[0].value]
    assert result.backend == "scripted" and result.model == "scripted-model"
    assert result.usage.calls == 1 and result.usage.reasks == 0
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1000, 200)
    assert result.usage.cost_usd is None  # "scripted-model" has no price
    assert result.dropped == []
    assert any(note.startswith("prompt tokens:") for note in result.notes)
    assert len(transport.requests) == 1 and transport.requests[0].schema_name == "narration"


def test_cost_comes_from_the_settings_price_table(facts):
    settings = LLMSettings(model="gpt-4o-mini")
    reply = ChatResponse(content=_good(facts), refusal=None, finish_reason="stop", model="gpt-4o-mini-2024-07-18",
                         prompt_tokens=1_000_000, completion_tokens=1_000_000, transport_retries=2)
    result = narrate_with_model(facts, ScriptedTransport(reply), settings)
    assert result.usage.cost_usd == pytest.approx(0.15 + 0.60)
    assert result.usage.transport_retries == 2


def test_invented_ioc_gets_a_reask_with_the_error_and_the_fixed_answer_is_used(facts, settings):
    invented = answer(iocs=[("mimikatz.exe", "none", "credential theft")], summary="Bad.")
    transport = ScriptedTransport(invented, _good(facts))
    result = narrate_with_model(facts, transport, settings)
    assert result.usage.calls == 2 and result.usage.reasks == 1
    assert [i.ioc for i in result.narration.iocs] == [facts.candidates[0].value]
    assert result.dropped == []
    second = transport.requests[1].messages
    assert second[:2] == transport.requests[0].messages
    assert second[2] == ("assistant", invented)
    role, text = second[3]
    assert role == "user" and "'mimikatz.exe'" in text and "not a candidate IoC" in text


def test_persistent_invented_ioc_ip_and_file_are_dropped_recorded_and_absent(facts, settings):
    top = facts.candidates[0]
    bad = answer(
        stages=[("Initial Compromise", top.evidence[:1], "The file was written and executed.")],
        iocs=[(top.value, "Not known.", "Written, then executed."), ("evil.exe", "none", "made up")],
        summary=f"{top.value} was written and executed. It beaconed to 45.77.1.9 and dropped stage2.bin.",
    )
    transport = ScriptedTransport(bad, bad, bad)
    result = narrate_with_model(facts, transport, settings)
    assert result.usage.calls == 3 and result.usage.reasks == 2
    text = result.narration.model_dump_json()
    for invented in ("evil.exe", "45.77.1.9", "stage2.bin"):
        assert invented not in text
        assert any(invented in d.item or invented in d.reason for d in result.dropped)
    assert [i.ioc for i in result.narration.iocs] == [top.value]
    assert result.narration.summary == f"{top.value} was written and executed."
    assert any("dropped" in note for note in result.notes)


def test_broken_json_gets_a_reask_with_the_parse_error_without_urls(facts, settings):
    transport = ScriptedTransport('{"stages": [', _good(facts))
    result = narrate_with_model(facts, transport, settings)
    assert result.usage.reasks == 1 and result.narration.iocs
    reask = transport.requests[1].messages[-1][1]
    assert "Invalid JSON" in reask and "json_invalid" in reask
    assert "http" not in reask


def test_schema_error_on_every_attempt_raises_validation_failed(facts, settings):
    wrong = json.dumps({"stages": [{"stage": "Recon", "confidence": "certain", "evidence": [], "rationale": ""}]})
    transport = ScriptedTransport(wrong, wrong, wrong)
    with pytest.raises(ValidationFailed) as caught:
        narrate_with_model(facts, transport, settings)
    error = caught.value
    assert error.exit_code == 7 and error.attempts == 3
    assert any("stages.0.confidence" in e for e in error.errors) and any("summary" in e for e in error.errors)
    # a stage name outside the vocabulary is not a schema error: grounding drops that claim
    assert not any("stages.0.stage" in e for e in error.errors)
    assert len(transport.requests) == 3


def test_max_reasks_zero_means_one_call(facts):
    transport = ScriptedTransport("not json")
    with pytest.raises(ValidationFailed) as caught:
        narrate_with_model(facts, transport, LLMSettings(max_reasks=0))
    assert caught.value.attempts == 1


def test_a_schema_error_after_a_grounding_error_still_fails(facts, settings):
    invented = answer(iocs=[("mimikatz.exe", "none", "x")])
    transport = ScriptedTransport(invented, "[]", "{}")
    with pytest.raises(ValidationFailed):
        narrate_with_model(facts, transport, settings)


def test_answer_in_a_markdown_code_fence_is_accepted(facts, settings):
    transport = ScriptedTransport("```json\n" + _good(facts) + "\n```")
    assert narrate_with_model(facts, transport, settings).usage.reasks == 0


def test_a_fenced_answer_with_prose_around_it_is_accepted_and_the_prose_never_read(facts, settings):
    chatty = "Here is the JSON you asked for (203.0.113.250 is the attacker):\n```json\n" + _good(facts) + "\n```\nDone."
    result = narrate_with_model(facts, ScriptedTransport(chatty), settings)
    assert result.usage.reasks == 0 and "203.0.113.250" not in result.narration.model_dump_json()


@pytest.mark.parametrize(
    "content",
    ["```json\n{}\n```\nor\n```json\n[]\n```", '{"stages": []} and then some text', "no JSON here at all"],
    ids=["two-fenced-blocks", "trailing-text", "prose-only"],
)
def test_answers_that_are_not_one_json_document_are_re_asked_then_fail(facts, settings, content):
    transport = ScriptedTransport(content, content, content)
    with pytest.raises(ValidationFailed):
        narrate_with_model(facts, transport, settings)


@pytest.mark.parametrize(
    "response, words",
    [
        (ChatResponse(content=None, refusal="I can't help with that.", finish_reason="stop", model="m"), "refused"),
        (ChatResponse(content='{"stages": [', refusal=None, finish_reason="length", model="m"), "cut off"),
        (ChatResponse(content=None, refusal=None, finish_reason="content_filter", model="m"), "content filter"),
    ],
)
def test_refusal_length_and_content_filter_are_backend_errors_not_reasks(facts, settings, response, words):
    transport = ScriptedTransport(response)
    with pytest.raises(BackendError, match=words):
        narrate_with_model(facts, transport, settings)
    assert len(transport.requests) == 1


def test_model_narrator_is_named_after_its_transport(facts, settings):
    narrator = ModelNarrator(ScriptedTransport(_good(facts)), settings)
    assert narrator.name == "scripted"
    result = narrator.narrate(facts)
    assert result.backend == "scripted" and result.narration.stages[0].stage == "Initial Compromise"


# --------------------------------------------------------------------------- re-asks within the token budget


def _over_budget(requests, budget: int) -> list[int]:
    """The token counts of the requests over ``budget``, counted as ``build_request`` counts."""
    from aptnarrate.llm.tokens import counter

    count = counter()
    sizes = [count.count_messages(r.messages) + (count.count(r.schema) if r.mode == "structured" else 0) for r in requests]
    return [n for n in sizes if n > budget]


def test_no_reask_goes_out_over_the_token_budget(facts):
    """A re-ask appends the model's answer and the errors to the request, which
    ``build_request`` fitted to the budget; nothing fitted the re-ask: a long answer
    inventing things sent a second request of 16,566 tokens under a budget of 13,017. A
    re-ask that cannot fit is not sent now: the answer is pruned as after the last re-ask
    and the notes say why; one that cannot fit after an answer off the schema is exit 7
    saying so. Every request stays within the budget."""
    from aptnarrate.llm.prompt import build_request

    first = build_request(facts, LLMSettings(token_budget=None)).tokens
    budget = first + 200  # the request fits (uncompressed); a long answer and its errors do not
    top = facts.candidates[0]
    invented = " ".join(f"It then reached 45.77.1.{i} and dropped stage{i}.bin." for i in range(60))
    bad = answer(
        stages=[("Initial Compromise", top.evidence[:1], "The file was written and executed.")],
        iocs=[(top.value, "Not known.", "Written, then executed.")],
        summary=f"{top.value} was written and executed. {invented}",
    )
    settings = LLMSettings(max_reasks=2, token_budget=budget)
    transport = ScriptedTransport(bad, _good(facts), _good(facts))
    result = narrate_with_model(facts, transport, settings)
    assert _over_budget(transport.requests, budget) == [] and len(transport.requests) == 1
    assert result.usage.reasks == 0 and result.narration.summary == f"{top.value} was written and executed."
    assert any(note.startswith("a re-ask was not sent") and f"token budget of {budget}" in note for note in result.notes)
    assert "45.77.1.7" not in result.narration.model_dump_json() and result.dropped
    transport = ScriptedTransport("{" + '"stages": [' * 400, _good(facts))
    with pytest.raises(ValidationFailed) as caught:
        narrate_with_model(facts, transport, settings)
    assert caught.value.exit_code == 7 and "a re-ask was not sent" in str(caught.value) and "token budget" in str(caught.value)
    assert len(transport.requests) == 1


def test_a_reask_lists_the_errors_that_fit_and_counts_the_rest():
    """Fitting a re-ask: the whole one when it fits (byte for byte as before), else the
    leading errors that fit (as many as fit) and a count of the rest, else none at all."""
    from aptnarrate.llm.chat import ChatRequest
    from aptnarrate.llm.validate import reask_conversation, reask_message, request_tokens

    request = ChatRequest(messages=(("system", "Answer."), ("user", "data")), model="m", temperature=0, seed=None,
                          mode="json", schema_name="x", schema="{}")
    errors = [f"error {i}: the summary mentions 45.77.1.{i}, absent from the input" for i in range(40)]
    messages = list(request.messages)
    whole, note = reask_conversation(request, messages, "{}", errors, True, budget=None)
    assert whole == [*messages, ("assistant", "{}"), ("user", reask_message(errors, True))] and note == ""
    size = request_tokens(request.with_messages(tuple(whole)))
    assert reask_conversation(request, messages, "{}", errors, True, budget=size) == (whole, "")
    fitted, note = reask_conversation(request, messages, "{}", errors, True, budget=size // 2)
    listed = fitted[-1][1]
    shown = [e for e in errors if f"- {e}\n" in listed]
    assert 0 < len(shown) < 40 and shown == errors[: len(shown)]
    assert f"and {40 - len(shown)} more error(s)" in listed and f"listed {len(shown)} of the answer's 40 errors" in note
    assert request_tokens(request.with_messages(tuple(fitted))) <= size // 2
    k = len(shown)  # as many as fit: one more does not
    more = f"... and {40 - k - 1} more error(s) of the same answer, not listed to fit the token budget"
    assert more.replace(str(40 - k - 1), str(40 - k)) in listed
    bigger = [*messages, ("assistant", "{}"), ("user", reask_message([*errors[: k + 1], more], True))]
    assert request_tokens(request.with_messages(tuple(bigger))) > size // 2
    assert reask_conversation(request, messages, "{}" * 400, errors, True, budget=40)[0] is None


def test_a_first_request_over_the_budget_is_never_sent():
    """The builders fit the first request (``build_request``, ``ask.fit_rows``); the loop
    that sends it checks it as well, so no caller can send one over the budget."""
    from aptnarrate.errors import BudgetError
    from aptnarrate.llm.chat import ChatRequest
    from aptnarrate.llm.validate import ask_until_valid

    request = ChatRequest(messages=(("system", "Answer."), ("user", "data " * 100)), model="m", temperature=0, seed=None,
                          mode="json", schema_name="x", schema="{}")
    transport = ScriptedTransport("{}")
    with pytest.raises(BudgetError) as caught:
        ask_until_valid(transport, request, 2, lambda content: (content, [], []), budget=50)
    assert caught.value.exit_code == 5 and "budget is 50" in str(caught.value) and transport.requests == []
    assert ask_until_valid(transport, request, 2, lambda content: (content, [], []), budget=500).tally.calls == 1


def test_an_answer_over_the_budget_by_itself_is_counted_once_without_its_errors(monkeypatch):
    """A model's answer may be megabytes (a 15 MB answer of 120,000 sentences took 10 s to
    count, with every error after it, then again with one). The least a re-ask can be (the
    answer and its first error) is counted first; over the budget, that is the end."""
    from aptnarrate.llm import validate
    from aptnarrate.llm.chat import ChatRequest

    request = ChatRequest(messages=(("system", "Answer."), ("user", "data")), model="m", temperature=0, seed=None,
                          mode="json", schema_name="x", schema="{}")
    counted: list[int] = []
    real = validate.request_tokens
    monkeypatch.setattr(validate, "request_tokens", lambda r, count=None: counted.append(len(r.messages[-1][1])) or real(r, count))
    errors = [f"sentence {i}: mentions 10.0.{i % 250}.1, absent from the rows" for i in range(5000)]
    assert validate.reask_conversation(request, list(request.messages), "{}" * 50_000, errors, True, budget=1000)[0] is None
    assert len(counted) == 1 and counted[0] < 1000  # the re-ask listing one error, not 5,000
