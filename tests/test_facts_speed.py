"""The shortcuts ``facts`` takes for speed give the answers of the plain computation.

Candidates are computed per description and per log row, never per event: a candidate
group is one (kind, display name), so it is a function of a description's side, and its
statistics, peers, pattern rows and evidence follow from the descriptions and the log.
Each test below computes the same thing plainly, event by event or row by row, and
compares: on the corpus in both layouts, the shipped examples, and a synthetic log with
the awkward cases (placeholder and unnamed sides, a process acting on itself, one name
under two kinds, more peers than the pattern rows keep).
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from test_facts import write_ocrapt_csv

from aptnarrate import examples
from aptnarrate.pipeline import inspect_input
from aptnarrate.preprocess import facts as facts_module, rank
from aptnarrate.preprocess.condense import NS_PER_MINUTE, NS_PER_SECOND
from aptnarrate.preprocess.facts import PLACEHOLDER_NAMES, _swept_hosts


def _synthetic(tmp_path):
    """Rows no corpus case has all of: a placeholder-named object, unnamed sides, a process
    acting on itself, one name as a process and a file, and a process reading more files
    than ``rank.MAX_PEERS_FOR_PATTERNS`` (the pattern rows keep the first, sorted)."""
    rows = []
    for i in range(rank.MAX_PEERS_FOR_PATTERNS + 15):
        rows.append((f"The subject_process: cat READ the file_object_file: /tmp/f{i:03d}.sh", f"2018-04-06 11:{i % 60:02d}:{i % 7:02d}"))
    rows += [
        ("The subject_process: update.sh EXECUTE the file_object_file: update.sh", "2018-04-06 11:00:01"),
        ("The subject_process: update.sh WRITE the file_object_file: update.sh", "2018-04-06 10:59:59"),
        ("The subject_process: sshd FORK the subject_process: sshd", "2018-04-06 11:00:02"),
        ("The subject_process: sshd FORK the subject_process: sshd", "2018-04-06 11:03:02"),
        ("A subject_process CONNECT the netflowobject: 93.184.216.34", "2018-04-06 11:00:03"),
        ("The subject_process: curl WRITE the file_object_file: ..", "2018-04-06 11:00:04"),
        ("The subject_process: curl CONNECT a netflowobject", "2018-04-06 11:00:05"),
        ("The subject_process: curl CONNECT the netflowobject: 93.184.216.34", "2018-04-06 11:00:05"),
        ("The subject_process: curl CONNECT the netflowobject: 93.184.216.34", "2018-04-06 11:02:05"),
    ]
    return write_ocrapt_csv(tmp_path, rows, "awkward.csv")


@pytest.fixture(scope="module")
def inputs(corpus_dir, tmp_path_factory):
    """(facts, the profiles and pattern rows facts scored) of every input."""
    sources = [_synthetic(tmp_path_factory.mktemp("facts_speed"))]
    for case in examples.names():
        sources += [examples.path(case).with_suffix("").with_suffix(f"{suffix}.csv") for suffix in ("", ".edges")]
    sources += sorted(corpus_dir.glob("*_subgraph_*.csv"))
    captured = {}
    plain_score_all = rank.score_all

    def capture(profiles, networks, events=None):
        captured["profiles"], captured["events"] = profiles, events
        return plain_score_all(profiles, networks, events)

    found = {}
    patch = pytest.MonkeyPatch()
    patch.setattr(facts_module, "score_all", capture)
    try:
        for source in sources:
            captured.clear()
            facts = inspect_input(source)
            found[source.name] = (facts, captured.get("profiles", []), captured.get("events"))
    finally:
        patch.undo()
    assert len(found) > 80
    return found


def _named(name) -> bool:
    return bool(name) and str(name).strip() not in PLACEHOLDER_NAMES


def _plain_profiles(timeline) -> dict[tuple[str, str], dict]:
    """Per (kind, name) group, event by event: distinct (triple, second) per (role, action),
    the first time per (role, action), the distinct minutes, and the peers of each triple."""
    triples = timeline.table.triples
    sides = list(zip(*(triples[c].tolist() for c in ("subject_kind", "subject_name", "action", "object_kind", "object_name"))))
    units = defaultdict(set)
    first: dict = {}
    minutes = defaultdict(set)
    peers_out, peers_in = defaultdict(set), defaultdict(set)
    for sk, sn, action, ok, on in sides:
        if _named(sn):
            peers_out[(sk, sn)].add((action, ok, on))
        if _named(on):
            peers_in[(ok, on)].add((action, sk, sn))
    events = timeline.table.events
    for triple, time in zip(events["triple"].tolist(), events["time"].tolist()):
        sk, sn, action, ok, on = sides[triple]
        for role, kind, name in (("subject", sk, sn), ("object", ok, on)):
            if not _named(name):
                continue
            key = ((kind, name), (role, action))
            units[key].add((triple, time // NS_PER_SECOND))
            first[key] = min(first.get(key, time), time)
            minutes[(kind, name)].add(time // NS_PER_MINUTE)
    found: dict = defaultdict(lambda: {"counts": {}, "first_time": {}})
    for (group, role_action), seen in units.items():
        found[group]["counts"][role_action] = len(seen)
        found[group]["first_time"][role_action] = first[(group, role_action)]
    for group in found:
        found[group].update(minutes=len(minutes[group]), peers_out=peers_out[group], peers_in=peers_in[group])
    return dict(found)


def test_candidate_profiles_equal_a_count_over_every_event(inputs):
    compared = 0
    for name, (facts, profiles, _) in inputs.items():
        expected = _plain_profiles(facts.timeline)
        got = {(p.kind, p.value): p for p, _ in profiles}
        assert set(got) == set(expected), name
        for group, want in expected.items():
            profile = got[group]
            assert profile.counts == want["counts"], (name, group)
            assert profile.first_time == want["first_time"], (name, group)
            assert profile.minutes == want["minutes"], (name, group)
            assert profile.peers_out == want["peers_out"], (name, group)
            assert profile.peers_in == want["peers_in"], (name, group)
            compared += 1
    assert compared > 800


def test_pattern_rows_from_the_descriptions_equal_each_profiles_own_rows(inputs):
    capped = 0
    for name, (_, profiles, events) in inputs.items():
        if not profiles:  # nothing named: nothing scored
            continue
        assert events is not None and len(events) == len(profiles), name
        for (profile, _), rows in zip(profiles, events):
            assert rows == rank._pattern_rows(profile), (name, profile.kind, profile.value)
            capped += len(profile.peers_in) + len(profile.peers_out) > len(rows)
    assert capped > 0  # the cap on rows per candidate is exercised


def test_evidence_equals_the_log_rows_naming_the_candidate(inputs):
    """A candidate's evidence: every log row whose description names one of its entities,
    by display name (a sweep's hosts under their subnet), in log order."""
    for name, (facts, _, _) in inputs.items():
        timeline = facts.timeline
        swept = _swept_hosts(timeline)
        sides = list(zip(*(timeline.descriptions[c].tolist() for c in ("subject_kind", "subject_name", "object_kind", "object_name"))))
        expected = defaultdict(list)
        for log_id, desc in zip(timeline.log["id"].tolist(), timeline.log["description"].tolist()):
            sk, sn, ok, on = sides[desc]
            keys = {swept[n][0] if k == "flow" and n in swept else n for k, n in ((sk, sn), (ok, on)) if _named(n)}
            for key in keys:
                expected[key].append(log_id)
        for record in facts.candidate_records:
            assert record["evidence"] == expected[record["value"]], (name, record["value"])


# --------------------------------------------------------------------------- inspect JSON


def _plain_document(facts) -> str:
    """``inspect --format json`` written plainly: one dict per log row, ``json.dumps``."""
    import json

    from aptnarrate.preprocess.condense import minute_text
    from aptnarrate.render.inspect import _candidates_json, _input_info

    log = facts.timeline.log
    texts = facts.timeline.descriptions["text"].tolist()
    minutes = minute_text(log["minute"]) if len(log) else []
    records = [
        {"id": i, "minute": m, "text": texts[d], "count": c, "rows": r, "first_line": f}
        for i, m, d, c, r, f in zip(
            log["id"].tolist(), minutes, log["description"].tolist(), log["count"].tolist(), log["rows"].tolist(), log["first_line"].tolist()
        )
    ]
    info = json.dumps(_input_info(facts), ensure_ascii=False)
    # one log row per line (the writer streams whole lines)
    timeline = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]" if records else "[]"
    return f'{{"input": {info}, "candidates": {_candidates_json(facts.candidate_records)}, "timeline": {timeline}}}\n'


def test_inspect_json_equals_the_document_written_row_by_row(inputs, tmp_path):
    from pathlib import Path

    from aptnarrate.render.inspect import render_inspect_json

    one_row = tmp_path / "one.csv"
    one_row.write_text('description,timestamp\nThe subject_process: a "quoted" \\ name\u202e WRITE the file_object_file: x,2018-04-06 11:00:00\n')
    two_rows = tmp_path / "two.csv"
    two_rows.write_text("description,timestamp\nA subject_process READ a file_object_file,2018-04-06 11:00:00\nA subject_process READ a file_object_file,2018-04-06 11:01:00\n")
    hostile = Path(__file__).resolve().parent / "hostile"
    cases = {path.name: inspect_input(path) for path in (one_row, two_rows, hostile / "control_and_bidi_names.csv", hostile / "markdown_html_names.csv")}
    cases.update({name: facts for name, (facts, _, _) in inputs.items()})
    sizes = set()
    for name, facts in cases.items():
        assert render_inspect_json(facts) == _plain_document(facts), name
        sizes.add(min(len(facts.timeline.log), 3))
    assert sizes == {1, 2, 3}


@pytest.mark.parametrize("block_rows", [1, 2, 5])
def test_inspect_json_joined_in_blocks_equals_the_document_written_row_by_row(inputs, block_rows, monkeypatch):
    """The timeline is joined a block of rows at a time: blocks that end mid-log, on the
    last row, and a last block shorter than the others write the same document."""
    from aptnarrate.render import inspect as inspect_render

    monkeypatch.setattr(inspect_render, "_BLOCK_ROWS", block_rows)
    lengths = set()
    for name, (facts, _, _) in list(inputs.items())[:12]:
        assert inspect_render.render_inspect_json(facts) == _plain_document(facts), (name, block_rows)
        lengths.add(len(facts.timeline.log) % block_rows if block_rows > 1 else 0)
    if block_rows == 5:
        assert len(lengths) > 1  # a short last block and a full one both occur


def test_group_minutes_from_the_evidence_equal_the_distinct_minutes_of_the_log(inputs):
    """The distinct minutes of each candidate group, counted from its evidence (the log is
    in minute order), equal the count over distinct (group, minute) pairs of the log; a
    log whose minutes decrease is not counted that way (None: the pair count is used)."""
    import numpy as np

    compared = 0
    for name, (facts, _, _) in inputs.items():
        timeline, sides = facts.timeline, facts._sides
        if sides is None or not sides.group_keys:
            continue
        evidence = facts_module._Evidence(timeline, sides)
        minute = timeline.log["minute"]
        got, want = evidence.group_minutes(minute), sides.group_minutes()
        size = max(len(got), len(want))
        assert np.array_equal(np.pad(got, (0, size - len(got))), np.pad(want, (0, size - len(want)))), name
        if len(np.unique(minute)) > 1:
            assert evidence.group_minutes(minute[::-1].copy()) is None, name
            compared += 1
    assert compared > 50


# --------------------------------------------------------------------------- codes and evidence


def _plain_side_codes(frame, column, keep=None):
    """Both sides' strings numbered by first appearance, subjects first, by ``pd.factorize``."""
    import numpy as np
    import pandas as pd

    both = np.concatenate([np.asarray(frame[f"subject_{column}"], dtype=object), np.asarray(frame[f"object_{column}"], dtype=object)])
    codes, uniques = pd.factorize(both if keep is None else both[keep], use_na_sentinel=False)
    return codes, np.asarray(uniques, dtype=object)


def test_side_codes_encoded_in_arrow_equal_a_factorization_of_both_sides(inputs):
    import numpy as np
    import pandas as pd

    compared = 0
    for name, (facts, _, _) in list(inputs.items())[:30]:
        triples = facts.timeline.table.triples
        assert facts_module._arrow_side_codes(triples.arrow("subject_id"), triples.arrow("object_id"), None) is not None, name  # the Arrow path is the one tested
        keep = np.arange(2 * len(triples)) % 3 != 1
        for column in ("kind", "name", "value", "id"):
            for mask in (None, keep):
                codes, uniques = facts_module._side_codes(triples, column, mask)
                want_codes, want_uniques = _plain_side_codes(triples, column, mask)
                assert codes.tolist() == want_codes.tolist(), (name, column)
                assert uniques.tolist() == want_uniques.tolist(), (name, column)
                assert all(type(u) is str for u in uniques.tolist()), (name, column)
                compared += 1
    assert compared > 100


def test_side_codes_of_columns_arrow_cannot_encode_alike_are_factorized(tmp_path):
    """Python-stored strings and columns with a missing value (which Arrow's one encoding
    of both sides does not take) give the same codes as a factorization of both sides."""
    import numpy as np
    import pyarrow as pa

    from aptnarrate.arrays import Columns

    def text(values):
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array

    frames = [
        Columns({"subject_name": text(["a", "b", "a"]), "object_name": text(["c", "a", "d"])}),
        Columns({"subject_name": pa.array(["a", None, "a"]), "object_name": pa.array(["c", "a", None])}),
        Columns({"subject_name": pa.array(["x", "y"]), "object_name": text(["y", "z"])}),
    ]
    for frame in frames:
        for keep in (None, np.array([True, False, True, True, False, True][: 2 * len(frame)])):
            codes, uniques = facts_module._side_codes(frame, "name", keep)
            want_codes, want_uniques = _plain_side_codes(frame, "name", keep)
            assert codes.tolist() == want_codes.tolist()
            assert [u if isinstance(u, str) else None for u in uniques.tolist()] == [u if isinstance(u, str) else None for u in want_uniques.tolist()]


def test_evidence_of_several_groups_is_the_union_of_their_rows_in_log_order(inputs):
    """``_Evidence.ids`` of several groups: a small union is sorted, a large one marked on
    the log; both must be every log row naming one of the groups, once, in log order."""
    import numpy as np

    branches = set()
    for name, (facts, _, _) in inputs.items():
        sides = facts._sides
        if sides is None or len(sides.group_keys) < 3:
            continue
        timeline = facts.timeline
        evidence = facts_module._Evidence(timeline, sides)
        log_desc = timeline.log["description"]
        subject = sides.description_group["subject"][log_desc]
        obj = sides.description_group["object"][log_desc]
        n = len(sides.group_keys)
        for codes in ([0, 1], [n - 1, 0], list(range(n)), list(range(0, n, 2))):
            rows = np.flatnonzero(np.isin(subject, codes) | np.isin(obj, codes))
            assert evidence.ids(codes) == timeline.ids[rows].tolist(), (name, codes)
            branches.add(len(rows) * 8 < len(timeline.ids))
    assert branches == {True, False}  # both the sorted and the marked union are compared


def test_ranked_reasons_are_by_weight_highest_first_ties_in_the_order_added():
    """``Score.ranked_reasons`` sorts the reasons themselves (reverse, by weight): it must
    give the order of the index sort by negated weight, ties (0.0 and -0.0 too) kept."""
    import random

    generator = random.Random(1)
    for _ in range(300):
        score = rank.Score()
        for i in range(generator.randint(0, 12)):
            score.add(generator.choice([0.0, -0.0, 1.0, 1.5, -2.0, 3.0, 2.5]), f"f{i}", f"reason {i}")
        order = sorted(range(len(score.reasons)), key=lambda i: -score.reasons[i][0])
        assert score.ranked_reasons() == [score.reasons[i][1] for i in order]


def test_address_class_is_kept_per_address_and_set_of_networks():
    """``address_class`` answers from a cache: the same address under other declared
    networks (given as a list or a tuple) is classed again, not read from the first answer."""
    internal = rank.parse_networks(["10.1.0.0/16"])
    assert rank.address_class("10.1.2.3", ())[0] == "private"
    assert rank.address_class("10.1.2.3", internal)[0] == "internal"
    assert rank.address_class("10.1.2.3", list(internal)) == rank.address_class("10.1.2.3", internal)
    assert rank.address_class("10.1.2.3", rank.parse_networks(["10.2.0.0/16"]))[0] == "private"
    assert rank.address_class("[::1]", ())[0] == "loopback"
    assert rank.address_class("not an address", internal)[0] == "unknown"


def _plain_score_file(p, s) -> None:
    """``rank._score_file`` as it was: one ``Profile.seconds`` per question."""
    from aptnarrate.preprocess.knowledge import is_library, lookup

    entry = lookup(p.value, "module" if p.kind == "module" else "file")
    library = is_library(p.value)
    executed = p.seconds("object", rank.EXECUTES)
    written = p.seconds("object", rank.WRITES)
    if executed:
        s.add(2.0, "executed", f"executed ({rank._times(executed)})")
    if written:
        s.add(1.5, "written", f"written or created ({rank._times(written)})")
    if executed and written:
        first_write, first_exec = p.first("object", rank.WRITES), p.first("object", rank.EXECUTES)
        if first_write is not None and first_exec is not None and first_write <= first_exec:
            s.add(3.0, "written-then-executed", "written, then executed")
    if p.seconds("object", rank.DELETES):
        s.add(2.0, "deleted", "deleted (UNLINK)")
    if p.seconds("object", rank.RENAMES):
        s.add(1.5, "renamed", "renamed or linked")
    if p.seconds("object", rank.ATTRIBUTES):
        s.add(1.5, "chmod", "attributes changed (chmod/chown)")
    if library and p.seconds("object", frozenset({"MMAP"}) | rank.LOADS):
        s.add(0.5, "mapped-library", "memory-mapped or loaded library (low signal on its own)")
    if entry is not None and entry.sensitive:
        s.add(2.0, "sensitive", f"sensitive system file ({entry.category})")
        if written or p.seconds("object", rank.DELETES | rank.RENAMES | rank.ATTRIBUTES):
            s.add(2.0, "sensitive-modified", f"{rank._article(entry.category)} {entry.category} was modified")
    elif entry is not None and entry.type == "binary" and (written or p.seconds("object", rank.DELETES | rank.ATTRIBUTES)):
        s.add(2.0, "binary-modified", f"a known system binary ({entry.category}) was modified")
    if executed and entry is not None and entry.category == "discovery tool":
        s.add(1.0, "discovery-tool", "a discovery tool: reveals system or network information")
    elif executed and entry is not None and entry.category in rank.DUAL_USE:
        s.add(1.0, "dual-use", f"{rank._article(entry.category)} {entry.category}, often used by attackers")
    if any(rank._TEMP_PATH.search(v) for v in p.full_values) or (p.value.startswith(".") and p.value.strip(".")):
        s.add(1.0, "temp-or-hidden", "in a temporary or hidden location")
    if rank._SCRIPT_OR_BINARY.search(p.value):
        s.add(1.0, "script-or-binary", "script or executable by its extension")
    if entry is None:
        s.add(1.0, "unknown-file", "not a known system file or binary")


def test_file_action_sets_are_disjoint():
    """``rank._file_seconds`` adds each action's seconds to one set's slot: an action in two
    sets would be counted for one of them only."""
    sets = rank._FILE_ACTION_SETS
    assert sum(map(len, sets)) == len(set().union(*sets)) == len(rank._FILE_ACTION_SLOT)


def test_file_scores_read_in_one_pass_equal_one_question_per_action_set(inputs):
    """``rank._score_file`` sums a file's seconds per action set in one pass over its counts:
    the same reasons as asking ``Profile.seconds`` per set, for every input's profiles and
    for random counts over every action it asks about (names sensitive, binary, library)."""
    import random

    profiles = [profile for _, found, _ in inputs.values() for profile, _ in found]
    generator = random.Random(7)
    actions = sorted(set().union(*rank._FILE_ACTION_SETS) | {"READ", "EXIT", "CONNECT"})
    names = ["/etc/shadow", "shadow", "ls", "libc.so.6", "kernel32.dll", "/tmp/x.sh", ".hidden", "whoami", "bash", "notes.txt"]
    for _ in range(400):
        pairs = {(generator.choice(["subject", "object"]), generator.choice(actions)) for _ in range(generator.randint(0, 6))}
        name = generator.choice(names)
        profiles.append(
            rank.Profile(
                kind=generator.choice(["file", "module"]),
                value=name,
                full_values=[name],
                counts={pair: generator.choice([0, 1, 3]) for pair in pairs},
                first_time={pair: generator.randint(0, 5) for pair in pairs},
                minutes=1,
            )
        )
    assert any(rank._file_seconds(p)[rank._MAPPED] for p in profiles)
    for profile in profiles:
        fast, plain = rank.Score(), rank.Score()
        rank._score_file(profile, fast)
        _plain_score_file(profile, plain)
        assert (fast.total, fast.reasons, fast.features) == (plain.total, plain.reasons, plain.features), profile
