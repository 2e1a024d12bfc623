"""The stage rules' shortcuts give the answers of the plain per-row computation.

* ``RowTable`` tests each field of a rule or benign mechanism once per distinct value (in C
  for one-valued fields and object paths) instead of once per description: every built-in
  rule and mechanism must mark exactly the descriptions the per-row engine
  (``matching_rules``, ``_selection_matches``) marks, on the corpus and the shipped examples.
* ``LogView.sweeps`` judges sweeps on each flow description's first minute and then takes
  every row of the swept contacts: it must equal ``fanout.sweeps`` over every log row,
  and ``fanout.sweeps`` (one groupby) must equal the per-subject loop it replaced.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from aptnarrate.rules.benign import explaining, mechanisms
from aptnarrate.rules.patterns import Row, RowTable, _compile_rule, _Fields, _selection_matches, builtin_rules, example_row, matching_rules
from aptnarrate.rules.stages import LogView, _LogOrder
from aptnarrate.rules.fanout import SWEEP_MIN_HOSTS, SWEEP_WINDOW_MIN, MINUTE_NS, _ipv4, sweeps


@pytest.fixture(scope="module")
def views(corpus_dir):
    """One LogView per corpus case and shipped example (OCR-APT layout)."""
    from aptnarrate.examples import names, path as example_path
    from aptnarrate.pipeline import inspect_input

    sources = sorted(p for p in corpus_dir.glob("*.csv") if not p.name.endswith(".edges.csv"))
    sources += [example_path(name) for name in names()]
    return {str(source): LogView(inspect_input(source)) for source in sources}


def test_rule_table_marks_what_the_per_row_engine_marks(views):
    rules = [rule for rule in builtin_rules()]
    matched_somewhere = set()
    for source, view in views.items():
        rows = view.pattern_rows
        plain = [matching_rules(row) for row in rows]
        for rule in rules:
            expected = np.array([rule in found for found in plain], dtype=bool)
            assert view.table.rule(rule).tolist() == expected.tolist(), (source, rule.id)
            if expected.any():
                matched_somewhere.add(rule.id)
    assert len(matched_somewhere) >= 3  # the comparison is not vacuous (every rule: the test below)


def test_rule_table_marks_what_each_mechanism_explains(views):
    explained_somewhere = set()
    for source, view in views.items():
        rows = view.pattern_rows
        for mechanism in mechanisms():
            expected = [any(_selection_matches(selection, row) for selection in mechanism.match) for row in rows]
            assert view.table.any_selection(mechanism._selections).tolist() == expected, (source, mechanism.id)
            assert [mechanism.explains(row) for row in rows] == expected, (source, mechanism.id)
            if any(expected):
                explained_somewhere.add(mechanism.id)
        plain = [m for m in mechanisms() if any(any(_selection_matches(s, r) for s in m.match) for r in rows)]
        assert explaining(rows) == plain == explaining(view.table)
    assert len(explained_somewhere) >= 3


def test_subjects_a_mechanism_names_equal_asking_name_by_name(views):
    """``LogView.subjects_named_by`` (one table of the log's process names per view) names
    the processes ``Mechanism.names_subject`` names one by one, for every mechanism; also
    over names the corpus lacks (package managers, updaters, a category's members)."""
    from aptnarrate.examples import path as example_path
    from aptnarrate.pipeline import inspect_input

    extra = LogView(inspect_input(example_path("dropper")))
    extra.subjects = frozenset(
        {"apt", "apt-get", "dpkg", "yum", "rpm", "msiexec.exe", "TrustedInstaller.exe", "svchost.exe", "sshd", "cron", "bash",
         "python3", "MsMpEng.exe", "unattended-upgr", "snapd", "packagekitd", "Update.exe", "", "x" * 300, "a b", "APT"}
    )  # fmt: skip
    named_somewhere = set()
    for source, view in [*views.items(), ("extra names", extra)]:
        for mechanism in mechanisms():
            expected = {name for name in view.subjects if mechanism.names_subject(name)}
            assert view.subjects_named_by(mechanism) == expected, (source, mechanism.id)
            assert view.subjects_named_by(mechanism) == expected  # asked again: the same answer
            if expected:
                named_somewhere.add(mechanism.id)
    assert len(named_somewhere) >= 3, named_somewhere  # not vacuous


def test_rule_table_within_tests_only_those_rows_and_keeps_their_answers(views):
    view = views[sorted(views)[0]]
    rows = view.pattern_rows
    within = np.arange(len(rows)) % 3 == 0
    for rule in builtin_rules():
        full = view.table.rule(rule)
        fresh = RowTable(rows).rule(rule, within)
        assert fresh.tolist() == (full & within).tolist(), rule.id
        # the same table, its first tests now known on every row: selections start from the
        # rows those pass, read within ``within``
        assert view.table.rule(rule, within).tolist() == (full & within).tolist(), rule.id


def test_rule_table_possible_selections_equal_trying_each_event_class(views):
    from aptnarrate.rules.patterns import _is_event_test

    for source, view in list(views.items())[:8]:
        table = RowTable(view.pattern_rows)
        events = set(table._texts("event")[1].tolist())
        selection_sets = [_compile_rule(rule).match for rule in builtin_rules()] + [m._selections for m in mechanisms()]
        for selections in selection_sets:
            expected = tuple(tests for tests in selections if any(all(e in t.wants for t in tests if _is_event_test(t)) for e in events))
            assert table._possible(selections) == expected, source
    # a selection with no event test is possible on any row, and on no row of an empty table
    no_event_test = ((next(t for rule in builtin_rules() for s in _compile_rule(rule).match for t in s if not _is_event_test(t)),),)
    assert RowTable(views[sorted(views)[0]].pattern_rows)._possible(no_event_test) == no_event_test
    assert RowTable([])._possible(no_event_test) == ()


def _awkward_rows() -> list[Row]:
    """Rows that stress the bulk tests: case, names longer than the 4 KiB cut, several and
    empty object paths, placeholders, unknown actions."""
    long_name = "A" * 5000 + ".sh"
    return [
        Row("CRON", "WRITE", "CronTab", "process", "file", ("/VAR/spool/CRON/crontabs/root",)),
        Row("bash", "execute", "NMAP", "process", "file", ("/usr/bin/nmap", "/tmp/NMAP")),
        Row("", "EXECUTE", "", "process", "file", ()),
        Row("sshd", "EVENT_EXECUTE", "sshd", "process", "file", ("/usr/sbin/sshd",)),
        Row("x", "WRITE", long_name, "process", "file", (long_name, "/etc/" + long_name)),
        Row("firefox", "UNLINK", "a.sbstore", "process", "file", ("/home/u/.mozilla/SafeBrowsing/a.sbstore",)),
        Row("svchost.exe", "DELETE", "RES1A2B.tmp", "process", "file", ("C:\\Windows\\Temp\\RES1A2B.tmp",)),
        Row("periodic", "READ", "100.clean-disks", "process", "file", ()),
        Row("tool", "NOT_AN_ACTION", "thing", "process", "widget", ("thing",)),
        Row("python", "CONNECT", "10.0.0.1", "process", "flow", ("10.0.0.9:5555->10.0.0.1:22", "10.0.0.9:5556->10.0.0.1:445")),
    ]


def test_bulk_tests_equal_the_one_row_test_on_awkward_rows_and_rule_examples():
    examples = [example_row(e) for rule in builtin_rules() for e in rule.examples.positive + rule.examples.negative]
    rows = _awkward_rows() + examples
    table = RowTable(rows)
    tests = {test for rule in builtin_rules() for sel in _compile_rule(rule).match + _compile_rule(rule).filter for test in sel}
    tests |= {test for m in mechanisms() for sel in m._selections for test in sel}
    assert any(t.name == "object_path" for t in tests) and any(t.modifier == "re" for t in tests)
    for test in tests:
        expected = [bool(test(_Fields(row))) for row in rows]
        assert table._test(test, np.arange(len(rows))).tolist() == expected, test
    for rule in builtin_rules():
        expected = [rule in matching_rules(row) for row in rows]
        assert table.rule(rule).tolist() == expected, rule.id
        assert any(expected), rule.id  # each rule's positive examples match


def _sweeps_per_subject(rows: pd.DataFrame) -> list[dict]:
    """The per-subject loop ``fanout.sweeps`` ran before it took one groupby."""
    flows = rows[(rows["object_kind"] == "flow") & rows["event"].isin(("network_out", "network_close"))]
    found = []
    for subject, group in flows.groupby("subject_name", sort=True):
        codes, names = pd.factorize(group["object_name"])
        first_minutes = pd.Series(group["minute"].to_numpy()).groupby(codes).min().to_numpy()
        nets: dict[str, dict[str, int]] = {}
        for code, name in enumerate(names):
            ip = _ipv4(name)
            if ip is not None:
                nets.setdefault(str(ipaddress.ip_network(f"{ip}/24", strict=False)), {})[name] = int(first_minutes[code])
        for net, hosts in nets.items():
            if len(hosts) < SWEEP_MIN_HOSTS:
                continue
            firsts = sorted(hosts.values())
            spans = [firsts[i + SWEEP_MIN_HOSTS - 1] - firsts[i] for i in range(len(firsts) - SWEEP_MIN_HOSTS + 1)]
            if min(spans) > SWEEP_WINDOW_MIN * MINUTE_NS:
                continue
            rows_hit = group[group["object_name"].isin(hosts)]
            found.append({"subject": subject, "subnet": net, "hosts": sorted(hosts, key=ipaddress.ip_address), "rows": rows_hit})
    return found


def _plain(found: list[dict], view: LogView | None = None) -> list[tuple]:
    """Each sweep as (subject, subnet, hosts, its rows' ids); ``view``: the sweeps are
    ``view.sweeps``, whose rows are log positions."""
    rows = (lambda s: view.ids[s["positions"]].tolist()) if view is not None else (lambda s: s["rows"]["id"].tolist())
    return [(s["subject"], s["subnet"], tuple(s["hosts"]), tuple(rows(s))) for s in found]


def test_sweeps_from_description_first_contacts_equal_sweeps_over_every_row(views):
    swept = 0
    for source, view in views.items():
        every_row = _plain(_sweeps_per_subject(view.rows.to_pandas()))
        assert _plain(sweeps(view.rows)) == every_row, source
        assert _plain(view.sweeps, view) == every_row, source
        swept += len(every_row)
    assert swept >= 5


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_log_order_reads_like_a_dict_over_the_log(kind):
    ids = ["L1", "L2", "L3", "L2"]  # a repeated id: the last position, as a dict gives
    order = _LogOrder(pa.array(ids, kind))
    assert order.positions(["L3", "L2", "missing", "L1"]) == [2, 3, 0, 0]
    assert order.positions([]) == []


def test_candidates_scored_over_one_rule_table_equal_scoring_each_alone(corpus_dir, monkeypatch):
    """facts scores every candidate's events against the pattern rules in one table
    (``rank.score_all``); the candidates, their scores and reasons equal those of scoring
    each candidate alone with the memoised per-row ``matching_rules``."""
    from aptnarrate.examples import names, path as example_path
    from aptnarrate.pipeline import inspect_input
    from aptnarrate.preprocess import facts as facts_module, rank

    sources = sorted(corpus_dir.glob("*.csv")) + [example_path(name) for name in names()]
    batched = {str(s): inspect_input(s).candidates for s in sources}
    monkeypatch.setattr(facts_module, "score_all", lambda profiles, nets, events=None: [rank.score(p, kind, nets) for p, kind in profiles])
    with_rules = 0
    for source in sources:
        alone = inspect_input(source).candidates
        assert repr(alone) == repr(batched[str(source)]), source
        with_rules += any("rule:" in repr(c) for c in alone)
    assert with_rules >= 3  # pattern rules do score candidates here: the comparison is not vacuous


def test_make_rows_builds_the_rows_row_builds():
    from aptnarrate.rules.patterns import make_rows

    columns = [["bash", "", "a b"], ["EXECUTE", "READ", ""], ["ls", "/etc/passwd", "x"], ["process", "process", "thread"], ["file", "file", "flow"]]
    paths = [("/bin/ls",), (), ("p", "q")]
    for given in (columns, columns + [paths], columns[:3]):
        made, expected = make_rows(*given), list(map(Row, *given))
        assert made == expected and all(type(row) is Row for row in made)
        assert [row._asdict() for row in made] == [row._asdict() for row in expected]
    assert make_rows([], [], []) == []


def test_description_lookups_equal_a_test_of_every_description(views):
    """``desc_where``, ``desc_in`` and the name index (one factorization per column) mark
    what testing each description's value marks, with and without ``within``."""
    for view in views.values():
        n = len(view.pattern_rows)
        within = np.arange(n) % 3 == 0
        for column in ("subject_name", "object_name", "action", "event", "object_kind"):
            values = view.desc[column]
            asked: list = []

            def test(value):
                asked.append(value)
                return len(str(value)) % 2 == 0

            expected = np.array([len(str(v)) % 2 == 0 for v in values], dtype=bool)
            assert np.array_equal(view.desc_where(column, test), expected)
            assert sorted(asked) == sorted(set(values.tolist()))  # each distinct value once
            asked.clear()
            assert np.array_equal(view.desc_where(column, test, within), expected & within)
            assert sorted(asked) == sorted(set(values[within].tolist()))
            assert np.array_equal(view.desc_where(column, test, np.flatnonzero(within)), expected & within)
            some = set(values[::4].tolist()) | {"absent"}
            assert np.array_equal(view.desc_in(column, some), np.isin(values, list(some)))
            assert not view.desc_in(column, ()).any() and len(view.desc_in(column, ())) == n
            for value in list(some)[:5]:
                assert view.positions_named(column, value).tolist() == np.flatnonzero(values == value).tolist()


def test_membership_of_the_triples_keys_equals_a_lookup_per_triple(views):
    """``lineage._member``: a set lookup per distinct key, kept per view, then one gather,
    equals a lookup per triple, asked again with other keys."""
    from aptnarrate.rules.lineage import _member, _subject_keys

    compared = 0
    for source, view in list(views.items())[:12]:
        keys = _subject_keys(view)
        names = view.facts.timeline.table.triples["subject_name"]
        for wanted in (set(keys.tolist()[::3]), {keys[0]} if len(keys) else set(), set()):
            got = _member(view, "_test_subject_key_codes", lambda: keys, wanted)
            assert got.tolist() == [k in wanted for k in keys.tolist()], source
            compared += 1
        picked = set(names.tolist()[::2])
        assert _member(view, "_test_subject_name_codes", lambda: names, picked).tolist() == [n in picked for n in names.tolist()], source
    assert compared >= 12


def test_subnet_24_equals_the_network_ipaddress_builds():
    import random

    from aptnarrate.rules.fanout import subnet_24

    rng = random.Random(5)
    addresses = ["0.0.0.1", "10.0.0.0", "10.0.0.255", "192.168.1.77", "255.255.255.254", "8.8.8.8"]
    addresses += [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(2000)]
    for text in addresses:
        ip = ipaddress.IPv4Address(text)
        assert subnet_24(ip) == str(ipaddress.ip_network(f"{ip}/24", strict=False)), text
