"""``preprocess.row_index``: the entities behind log rows, shared by the prompt and the
offline story (the per-row shortcuts are compared with plain computations over the corpus
in ``test_narrate_speed``)."""

from __future__ import annotations

import numpy as np

from aptnarrate import examples
from aptnarrate.pipeline import inspect_input
from aptnarrate.preprocess.row_index import entity_codes, ids_by_group, row_actor_ids


def test_ids_by_group_names_only_wanted_ids_that_are_entities_of_the_facts():
    """An id that is not an entity of these facts is found in no group. It was numbered at
    index -1 of the entity codes, so the last entity of the table was reported under its id."""
    facts = inspect_input(examples.path("dropper"))
    positions = np.arange(len(facts.timeline.log))
    last = entity_codes(facts)[1][-1]
    seen = 0
    for role in ("subject", "object"):
        present = [i for i in row_actor_ids(facts, positions, role) if i != last]
        seen += len(present) < len(row_actor_ids(facts, positions, role))
        wanted = ("no-such-entity", *present)
        whole = np.zeros(len(positions), dtype=np.int64)  # one group, every row
        halves = (positions >= len(positions) // 2).astype(np.int64)
        twice = np.concatenate([positions, positions[:3]])  # a row given twice: the per-row path
        assert ids_by_group(facts, wanted, positions, whole, 1, role) == [present], role
        for rows, group_of in ((positions, halves), (twice, np.zeros(len(twice), dtype=np.int64))):
            found = ids_by_group(facts, wanted, rows, group_of, int(group_of.max()) + 1, role)
            assert "no-such-entity" not in sum(found, []), role
    assert seen  # the last entity is behind some row: the check is not vacuous
