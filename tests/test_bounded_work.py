"""Work that attacker-chosen names can cause stays in proportion to the log: the stage rules
keep per-name state small and find each name's descriptions through an index, not a pass
over every description per name (a crafted log of 20,000 dropped programs took 74 s, 40,000
processes each contacting one host over 120 s; ``bench/bench_crafted.py`` measures the
growth). These tests check the structures, not the clock."""

from __future__ import annotations

import numpy as np

from aptnarrate.rules.lineage import attack_chain
from aptnarrate.rules.stages import LogView

from test_facts import facts_from, proc

N = 300


def _dropped_programs(tmp_path):
    rows = [proc("bash", "CONNECT", "netflowobject", "203.0.113.9", "2025-05-14 09:11:00")]
    for i in range(N):
        stamp = f"2025-05-14 09:{12 + i // 60:02d}:{i % 60:02d}"
        rows.append(proc("bash", "WRITE", "file_object_file", f"f{i}.sh", stamp))
        rows.append(proc("bash", "EXECUTE", "file_object_file", f"f{i}.sh", stamp))
    return LogView(facts_from(tmp_path, rows))


def test_a_dropped_programs_link_keeps_the_positions_of_its_rows_not_a_mask_over_all(tmp_path):
    view = _dropped_programs(tmp_path)
    chain = attack_chain(view)
    dropped = [link for link in chain.values() if link.how.endswith("a program written in this subgraph and run")]
    assert len(dropped) == N
    descriptions = len(view.pattern_rows)
    for link in dropped:
        # a few positions each (its write and its run), and the mask when asked for
        assert link.size == descriptions and len(link.stored) <= 2
        assert link.rows.shape == (descriptions,) and link.rows.sum() == len(link.stored)
        assert np.array_equal(np.flatnonzero(link.rows), link.positions)


def test_the_name_index_finds_what_a_comparison_finds(tmp_path):
    view = _dropped_programs(tmp_path)
    for column in ("subject_name", "object_name"):
        for value in ("bash", "f7.sh", "203.0.113.9", "absent"):
            assert np.array_equal(view.named(column, value), view.desc[column] == value)
