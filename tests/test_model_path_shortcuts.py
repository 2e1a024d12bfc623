"""The model path's shortcuts equal the plain computations they replace.

* Prompts are counted line by line, each distinct line once (``TokenCounter.count_by_lines``):
  the sum must be the o200k count of the whole text, for prompts and for text built to sit
  on the tokenizer's boundaries (line breaks before whitespace, "/" and punctuation).
* Process aliases and their rows come from vectorised passes over the triples and events
  (``prompt_context``): they must equal a plain loop over every event.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from aptnarrate import examples
from aptnarrate.llm import prompt_context
from aptnarrate.llm.config import LLMSettings
from aptnarrate.llm.prompt import build_request
from aptnarrate.llm.prompt_context import ACTOR_KINDS, _positions_of_entities, process_aliases
from aptnarrate.llm.tokens import TokenCounter, counter
from aptnarrate.pipeline import inspect_input

# pieces that sit on the o200k pre-tokenizer's boundaries: line breaks next to whitespace
# (Unicode's and Python's own), "/" after punctuation, letters, digits, quotes, contractions
PIECES = [
    "\n", "\n\n", "\r\n", "\r", " ", "  ", "\t", "/", "//", "{", "}", '"', "a", "Ab", "ABC", "12", "34567",
    "\u00a0", "\u2028", "\u2029", "\u0085", "\u3000", "\x1c", "\x1f", "\u200b", "é", "'s", "'LL", ".", ":", "x/y",
    "\\n", "<", "L12", "-", "漢字", "🙂", "\ufeff",
]  # fmt: skip


def exact_counter() -> TokenCounter:
    count = counter()
    if not count.exact:
        pytest.skip("the vendored o200k vocabulary is unavailable; estimates are never counted in parts")
    return count


def test_counting_line_by_line_equals_counting_the_whole_text():
    count = exact_counter()
    rng = random.Random(8)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 60))) for _ in range(1500)]
    # the cut must be this careful: cutting at every line break changes some counts
    assert any(sum(count.count(part) for part in text.split("\n")) + text.count("\n") != count.count(text) for text in texts)
    for text in texts:
        count._parts.clear()  # each text counted from scratch, and again from the remembered parts
        assert count.count_by_lines(text) == count.count(text), repr(text)
        assert count.count_by_lines(text) == count.count(text), repr(text)


def test_the_prompts_of_the_examples_count_the_same_in_parts():
    count = exact_counter()
    for name in ("exfil", "dropper"):
        for layout in ("", ".edges"):
            path = examples.path(name)
            path = path.with_name(path.name.replace(".csv", f"{layout}.csv"))
            build = build_request(inspect_input(path), LLMSettings(token_budget=None))
            for _, text in build.request.messages:
                assert count.count_by_lines(text) == count.count(text), (name, layout)


def plain_aliases(facts):
    """The alias order and first rows, by a loop over every triple and every event."""
    triples = facts.timeline.table.triples
    first: dict[str, str] = {}
    for t in triples.to_pandas().itertuples(index=False):
        for ident, kind, name in ((t.subject_id, t.subject_kind, t.subject_name), (t.object_id, t.object_kind, t.object_name)):
            if kind in ACTOR_KINDS and ident not in first:
                first[ident] = str(name or "")
    per_name = Counter(first.values())
    aliased = [i for i, name in first.items() if not name or per_name[name] > 1]
    rows: dict[str, dict[str, set[int]]] = {i: {"subject": set(), "object": set()} for i in aliased}
    events = facts.timeline.table.events["triple"].tolist()
    ids = {role: triples[f"{role}_id"].tolist() for role in ("subject", "object")}
    for row, triple in zip(facts.timeline.event_log.tolist(), events):
        for role in ("subject", "object"):
            ident = ids[role][triple]
            if ident in rows:
                rows[ident][role].add(row)
    firsts = {i: min(r["subject"] | r["object"]) for i, r in rows.items() if r["subject"] | r["object"]}
    aliased.sort(key=lambda i: firsts.get(i, 1 << 62))
    return aliased, firsts, {i: {role: sorted(r[role]) for role in r} for i, r in rows.items()}


def check_aliases(facts) -> int:
    order, firsts, rows = plain_aliases(facts)
    aliases = process_aliases(facts)
    assert list(aliases.order) == order
    assert aliases.first_row == {i: firsts[i] for i in sorted(firsts)}
    assert _positions_of_entities(facts, order[:40]) == {i: rows[i] for i in order[:40]}
    return len(order)


def many_aliases_edge_list(events: int = 4000, seed: int = 5) -> bytes:
    """An edge list with 300 processes sharing four names (one of them empty), reading
    files and forking each other: hundreds of aliases, as subjects and as objects."""
    rng = random.Random(seed)
    names = ["/bin/sh", "/usr/bin/python3", "", "/bin/bash"]
    procs = [(f"{k:08X}-0000-0000-0000-000000000000-subject_process", names[k % 4]) for k in range(300)]
    lines = ["subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr"]
    t = 1_748_973_730_000_000_000
    for _ in range(events):
        t += rng.randint(1, 4) * 7_000_000_000
        uuid, name = rng.choice(procs)
        if rng.random() < 0.3:
            other, other_name = rng.choice(procs)
            lines.append(f"{uuid},SUBJECT_PROCESS,{name},EVENT_FORK,{t},{other},SUBJECT_PROCESS,{other_name}")
        else:
            f = rng.randint(0, 40)
            lines.append(f"{uuid},SUBJECT_PROCESS,{name},EVENT_READ,{t},F{f:07d}-file,FILE_OBJECT_FILE,/etc/conf{f}")
    return ("\n".join(lines) + "\n").encode()


def test_aliases_and_their_rows_equal_a_loop_over_every_event(corpus_dir, monkeypatch):
    facts = inspect_input(many_aliases_edge_list(), name="aliases.edges.csv")
    assert check_aliases(facts) > 200
    # the rows of many aliases are marked a block of aliases at a time
    monkeypatch.setattr(prompt_context, "_MARK_CELLS", 3 * len(facts.timeline.log))
    facts = inspect_input(many_aliases_edge_list(seed=6), name="aliases.edges.csv")
    assert check_aliases(facts) > 200
    monkeypatch.undo()
    for path in sorted(corpus_dir.glob("*_subgraph_*.csv"))[:8]:  # OCR-APT CSVs and edge lists
        check_aliases(inspect_input(path))


def test_per_description_costs_are_each_counters_own():
    """The costs a large prompt is fitted from were cached per process by text alone, so once
    the exact counter had counted an event, an estimating counter (vocabulary missing) was
    handed the exact figure instead of its own estimate."""
    from aptnarrate.llm import tokens
    from aptnarrate.llm.compress import event_tokens
    from aptnarrate.llm.prompt import data_line

    texts = ["bash READ the file_object_file: /etc/passwd", "sshd CONNECT the netflowobject: 10.0.0.7:22"] * 2
    exact, estimate = exact_counter(), tokens.estimate_counter()
    assert event_tokens(texts, exact) == [exact.count(data_line(t)) for t in texts]
    assert event_tokens(texts, estimate) == [estimate.count(data_line(t)) for t in texts]
    assert event_tokens(texts, estimate) != event_tokens(texts, exact)


def test_per_description_costs_survive_another_thread_clearing_the_cache():
    """A batch fits several prompts at once; a thread that clears the bounded cache while
    another reads it must cost a recount, never a KeyError."""
    from aptnarrate.llm.tokens import TokenCounter

    def clearing_count(text: str) -> int:  # the other thread's clear, between two lookups
        shared._texts.clear()
        return len(text)

    shared = TokenCounter("test counter (length of the text)", clearing_count)
    assert shared.count_many(["ab", "abc"]) == [2, 3]
    assert shared.count_many(["ab", "abcd", "ab"]) == [2, 4, 2]
