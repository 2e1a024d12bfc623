"""The offline narration's shortcuts give the answers of the plain computations they replace.

* ``arrays.distinct`` (a sort) equals ``np.unique`` (numpy >= 2.3 hashes there, slowly).
* ``benign.first_explaining`` tests many rows against every mechanism over one rule table,
  and ``prompt_context.benign_mechanisms`` judges many candidates at once: they must give
  what ``Mechanism.explains`` gives one row, and the first mechanism explaining one
  candidate's rows, at a time.
* ``_LogOrder.sorted_union`` must equal the union sorted by each id's position in the log.
* A finding keeps the log positions of the ids it cites (``StageEvidence.positions``), and
  a stage's findings are merged by them: they must be the positions the ids name, and the
  merged evidence the union of the ids in log order.
"""

from __future__ import annotations

import numpy as np
import pytest

from aptnarrate.arrays import distinct
from aptnarrate.llm.prompt_context import _mechanism_key, _mechanism_rows, benign_mechanism, benign_mechanisms
from aptnarrate.rules.benign import first_explaining, mechanisms
from aptnarrate.rules.patterns import Row
from aptnarrate.rules.stages import LogView, _LogOrder, pattern_findings


@pytest.fixture(scope="module")
def corpus_facts(corpus_dir):
    """Facts of every corpus case (OCR-APT layout) and shipped example."""
    from aptnarrate.examples import names, path as example_path
    from aptnarrate.pipeline import inspect_input

    sources = sorted(p for p in corpus_dir.glob("*.csv") if not p.name.endswith(".edges.csv"))
    sources += [example_path(name) for name in names()]
    return {str(source): inspect_input(source) for source in sources}


@pytest.fixture(scope="module")
def corpus_findings(corpus_facts):
    """Per source: its LogView and every rule's findings (before merging)."""
    from aptnarrate.rules import structural

    found = {}
    for source, facts in corpus_facts.items():
        view = LogView(facts)
        found[source] = (view, pattern_findings(view) + [item for rule in structural.RULES for item in rule(view)])
    return found


@pytest.mark.parametrize(
    "values",
    [
        np.array([], dtype=np.int64),
        np.array([7], dtype=np.int32),
        np.array([3, 1, 3, 2, 1, 1], dtype=np.int64),
        np.array([5, 5, 5], dtype=np.uint8),
        np.array([True, False, True]),
        np.array([[4, 2], [2, 9]], dtype=np.int16),  # flattened, as np.unique does
        np.array([1.5, np.nan, 1.5, np.nan, -0.0, 0.0]),  # not integers: np.unique itself
        np.random.default_rng(3).integers(-(1 << 40), 1 << 40, 20_000),
    ],
)
def test_distinct_equals_np_unique(values):
    found, expected = distinct(values), np.unique(values)
    assert found.dtype == expected.dtype
    np.testing.assert_array_equal(found, expected)


def _first_by_explains(row: Row):
    return next((m for m in mechanisms() if m.explains(row)), None)


def test_first_explaining_equals_asking_each_row(corpus_facts):
    explained = 0
    for source, facts in corpus_facts.items():
        rows = LogView(facts).pattern_rows
        # and the candidates as the IoC context reads them (objects with paths, and actors)
        rows += [row for c in facts.candidates for row in (Row("", "", c.value, "process", c.kind, tuple(c.full_values[:5])), Row(c.value, "", "", c.kind, ""))]
        found = first_explaining(rows)
        assert found == [_first_by_explains(row) for row in rows], source
        explained += sum(m is not None for m in found)
    assert explained >= 5  # mechanisms do explain rows here: the comparison is not vacuous
    assert first_explaining([]) == []


def test_benign_mechanisms_at_once_equal_one_candidate_at_a_time(corpus_facts):
    explained = 0
    for source, facts in corpus_facts.items():
        candidates = list(facts.candidates)
        facts.__dict__.pop("_benign_mechanisms", None)  # judged afresh, all together
        together = benign_mechanisms(candidates, facts)
        # the plain computation: every mechanism in file order against the candidate's rows
        alone = [
            next((m for m in mechanisms() if any(m.explains(r) for r in _mechanism_rows(*_mechanism_key(c)))), None)
            for c in candidates
        ]
        assert together == alone, source
        facts.__dict__.pop("_benign_mechanisms", None)  # and judged afresh one at a time
        assert [benign_mechanism(c, facts) for c in candidates] == alone, source
        explained += sum(m is not None for m in alone)
    assert explained >= 3


def test_sorted_union_equals_the_union_in_log_order(corpus_facts, corpus_findings):
    merged = 0
    for source, facts in corpus_facts.items():
        view, found = corpus_findings[source]
        by_stage: dict[str, list] = {}
        for item in found:
            if item.evidence:
                by_stage.setdefault(item.stage, []).append(item.evidence)
        by_stage["every finding"] = [e for evidence in by_stage.values() for e in evidence]  # a bigger union
        plain = _LogOrder(facts.timeline.log.arrow("id"))  # a search of the log's ids
        log_position = {log_id: at for at, log_id in enumerate(view.ids.tolist())}  # a dict over the log
        for evidence in by_stage.values():
            union = list({e for ids in evidence for e in ids})
            position = {e: log_position.get(e, 0) for e in union}
            expected = tuple(sorted(union, key=position.__getitem__))
            assert plain.sorted_union(evidence) == expected, source
            merged += len(evidence) > 1
    assert merged >= 3  # unions of several findings' evidence are compared, not only single ones


def test_findings_keep_the_positions_of_their_ids_and_merge_by_them(corpus_facts, corpus_findings):
    from aptnarrate.grounding.semantic import log_positions
    from aptnarrate.rules.stages import _merge, find_stages

    merged = 0
    # the merged findings of the sources with the most findings (find_stages runs the rules again)
    busiest = sorted(corpus_findings, key=lambda source: -len(corpus_findings[source][1]))[:3]
    for source, facts in corpus_facts.items():
        view, found = corpus_findings[source]
        found = [item for item in found if item.evidence]
        for item in found + (find_stages(facts) if source in busiest else []):
            assert item.positions is not None, (source, item.stage)
            np.testing.assert_array_equal(item.positions, log_positions(facts, item.evidence))
            assert view.ids[item.positions].tolist() == list(item.evidence), (source, item.stage)
        plain = _LogOrder(facts.timeline.log.arrow("id"))  # a search of the log's ids
        by_stage: dict[str, list] = {}
        for item in found:
            by_stage.setdefault(item.stage, []).append(item)
        by_stage["every finding"] = found  # a bigger union
        for items in (items for items in by_stage.values() if len(items) > 1):  # one finding stays as it is
            union = _merge(items, plain, view.ids, unique_ids=True)
            assert union.evidence == plain.sorted_union([item.evidence for item in items]), source
            assert _merge(items, plain, view.ids, unique_ids=False).evidence == union.evidence
            merged += 1
    assert merged >= 3


def test_sorted_union_with_an_id_not_in_the_log_reads_like_a_dict(corpus_facts):
    facts = max(corpus_facts.values(), key=lambda f: len(f.timeline.ids))
    ids = facts.timeline.ids
    assert len(ids) > 100
    order = _LogOrder(facts.timeline.log.arrow("id"))
    many = tuple(ids[::-1][:100].tolist())
    assert order.sorted_union([many, many[:3]]) == tuple(ids[-100:].tolist())
    # an id that is no log row sits at position 0, as a dict over the log gives
    union = order.sorted_union([many, ("L999999999",), (ids[0],)])
    assert union[:2] in ((ids[0], "L999999999"), ("L999999999", ids[0]))
    assert list(union[2:]) == sorted(set(many) - {ids[0]}, key=lambda i: int(i[1:]))


def test_row_actor_ids_by_entity_codes_equal_the_ids_first_seen_first(corpus_dir):
    """``row_actor_ids`` keeps distinct entities by their integer codes: the ids, in order,
    must be those of the triples behind the rows, each once, first seen first. The offline
    story's labels (``ids_by_group`` of the aliases) must give, for many groups at once,
    the aliased ones."""
    from aptnarrate.llm.prompt_context import process_aliases
    from aptnarrate.preprocess.row_index import ids_by_group, row_actor_ids, row_index, triple_entity_ids
    from aptnarrate.pipeline import inspect_input

    rng = np.random.default_rng(8)
    checked = aliased = 0
    for source in sorted(corpus_dir.glob("*.edges.csv"))[:6]:  # edge lists: entity ids of their own
        facts = inspect_input(source)
        index = row_index(facts)
        n = len(facts.timeline.log)
        groups = [np.array([p]) for p in range(n)] + [np.sort(rng.choice(n, size=min(n, 40), replace=False)) for _ in range(20)]
        for positions in groups:
            triples = np.concatenate([index.triples[index.starts[p] : index.starts[p + 1]] for p in positions.tolist()])
            for role in ("subject", "object"):
                expected = list(dict.fromkeys(triple_entity_ids(facts)[role][triples].tolist()))
                assert row_actor_ids(facts, positions, role) == expected, (source, role)
                assert row_actor_ids(facts, positions.tolist(), role) == expected
                checked += len(expected) > 1
        # the story's labels: the aliased ids of many groups of rows at once equal those of
        # ``row_actor_ids`` group by group
        aliases = process_aliases(facts)
        descriptions = facts.timeline.log["description"]
        everyone = rng.permutation(n)
        some = np.sort(rng.choice(n, size=n // 2, replace=False))
        groupings = [  # rows in random groups; by description, every row (whole descriptions) or half; a row cited twice
            (everyone, rng.integers(0, 7, n)), (everyone, descriptions[everyone]), (some, descriptions[some]),
            (np.concatenate([some, some[:5]]), descriptions[np.concatenate([some, some[:5]])]),
        ]  # fmt: skip
        for positions, group_of in groupings:
            n_groups = int(group_of.max()) + 1
            for role in ("subject", "object"):
                at_once = ids_by_group(facts, aliases.order, positions, group_of, n_groups, role)
                for group in range(n_groups):
                    ids = row_actor_ids(facts, positions[group_of == group], role) if (group_of == group).any() else []
                    assert at_once[group] == sorted((i for i in ids if i in aliases.alias_of), key=aliases.order.index), (source, role)
                    aliased += len(at_once[group])
    assert checked >= 10 and aliased >= 10


def test_a_row_event_is_its_descriptions_event_with_the_rows_own_id_position_and_minute():
    """``semantic.row_event`` builds each field itself (``dataclasses.replace`` cost half a
    second of a summary citing 60,000 rows): it equals ``replace`` of the description's
    event, for every row, and fills every field ``RowEvent`` has."""
    from dataclasses import fields, replace

    from aptnarrate.examples import path as example_path
    from aptnarrate.grounding import semantic
    from aptnarrate.pipeline import inspect_input

    facts = inspect_input(example_path("dropper"))
    table = semantic.row_table(facts)
    assert len(table.ids) > 10
    for position in range(len(table.ids)):
        event = semantic.description_event(facts, int(table.log_description[position]))
        expected = replace(event, id=table.ids[position], position=position, minute=int(table.log_minute[position]))
        assert semantic.row_event(facts, position) == expected
    assert [f.name for f in fields(semantic.RowEvent)] == [
        "id", "position", "minute", "subject_kind", "subject_name", "action", "object_kind", "object_name", "event_class", "description",
    ]  # fmt: skip  (a new field must be filled in row_event too)
