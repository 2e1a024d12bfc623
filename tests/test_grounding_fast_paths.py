"""The grounding's fast paths (issue 8) judge exactly as the plain per-row, per-token code.

Grounding is a security boundary (issue 6): the log ids a claim cites are parsed in one
vectorised pass, the semantic check judges each distinct description once, ``file_names``
skips words that cannot be file names, the known-name mask inlines its lookup, and some
scanners skip a text that lacks a character every match needs. Each is compared here with
the plain computation it replaces (written out below as it was), on the shipped examples,
every corpus case, the corpus' model-written reference reports, the disguised mentions of
``test_grounding_holes`` and random strings of the characters the scanners care about.
"""

from __future__ import annotations

import random
import re

import pytest
from test_grounding_holes import UNGROUNDED

from aptnarrate import examples
from aptnarrate.grounding import mentions, semantic
from aptnarrate.grounding.ground import Vocabulary, _SENTENCE
from aptnarrate.models import APT_STAGES
from aptnarrate.pipeline import inspect_input
from aptnarrate.rules.events import UNKNOWN, event_class
from aptnarrate.rules.stages import find_stages

# --------------------------------------------------------------------------- inputs

EXAMPLES = ("dropper", "exfil", "benign")


@pytest.fixture(scope="module")
def every_facts(corpus_dir):
    """The shipped examples in both layouts and every corpus case (OCR-APT layout)."""
    found = {}
    for case in EXAMPLES:
        for suffix in ("", ".edges"):
            path = examples.path(case).with_suffix("").with_suffix(f"{suffix}.csv")
            found[path.name] = inspect_input(path)
    for path in sorted(corpus_dir.glob("*_subgraph_*.csv")):
        if not path.name.endswith(".edges.csv"):
            found[path.name] = inspect_input(path)
    return found


@pytest.fixture(scope="module")
def texts(corpus_dir):
    """Prose the scanners read: the corpus' reference reports (written by a model), whole and
    sentence by sentence, the disguised mentions, and random strings of the characters that
    the scanners and their shortcuts look at."""
    found = [sentence for sentence, _ in UNGROUNDED]
    for path in sorted(corpus_dir.glob("*.reference.md")):
        report = path.read_text(encoding="utf-8")
        found.append(report)
        found.extend(_SENTENCE.split(report))
    alphabet = list("aAcCeEfFhHkKlLmMpPsSxX0123456789 .:/\\-_`'\"[](){}<>|*~,;@?!#") + [
        "\uff1a", "\uff0e", "\u200b", "\u0661", "\uff11", "://", "hxxp", "HKLM", "CVE-", "port ", "tcp/",
        "10.0.0.1", "::1", "fe80::", "12:30", "2018-04-12", "libc.so.7", "C:\\", "~/", "../",
    ]  # fmt: skip
    rng = random.Random(8)
    found.extend("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(3000))
    return found


# --------------------------------------------------------------------------- log ids


def _plain_positions(facts, ids) -> list[int]:
    """Before: each id parsed on its own, kept when the row at that position has that id."""
    table = facts.timeline.ids
    found = []
    for ident in ids:
        if not ident.startswith("L") or not ident[1:].isdecimal():  # isdigit: "L\u00b9" raised ValueError
            continue
        position = int(ident[1:]) - 1
        if 0 <= position < len(table) and table[position] == ident:
            found.append(position)
    return found


ODD_IDS = ["L0", "L01", "L-1", "L+1", "L 1", " L1", "L1 ", "l1", "L1\n", "L", "", "C1", "L1.0", "L1e2",
           "L\u0661", "L\uff11", "L\u00b9", "L99999999999999999999999", "L9223372036854775808", "LL1"]  # fmt: skip


def test_log_ids_parse_to_the_positions_of_the_plain_per_id_check(every_facts):
    rng = random.Random(8)
    for name, facts in every_facts.items():
        ids = list(facts.timeline.ids)
        n = len(ids)
        cited = ids + ODD_IDS + [f"L{n}", f"L{n + 1}", f"L0{n}"] + ids[:3] * 2
        rng.shuffle(cited)
        # a claim's few ids are checked one by one, a stage's many in one vectorised pass: both
        for given in (cited[:5], cited, cited * (semantic._FEW_IDS // len(cited) + 1)):
            assert semantic.log_positions(facts, given).tolist() == _plain_positions(facts, given), name
        assert semantic.log_positions(facts, ODD_IDS).tolist() == [], name
        assert [r.id for r in semantic.row_events(facts, cited)] == [ids[p] for p in _plain_positions(facts, cited)]


def test_stage_claims_checked_by_position_are_judged_as_by_the_set_of_log_ids(every_facts, monkeypatch):
    """``prune`` reads a stage claim's ids as positions when every one is a log row's (no
    set of the log's ids, no second parse for the semantic check): the claims kept, their
    evidence and every drop must be those of the set lookup."""
    from aptnarrate.backends.offline import OfflineNarrator
    from aptnarrate.grounding import ground
    from aptnarrate.models import Narration, StageClaim

    rng = random.Random(5)
    variants = [  # of a claim's evidence: as given, repeated, reversed, few, sampled, with ids no log row has
        lambda ids: ids, lambda ids: ids * 2, lambda ids: ids[::-1], lambda ids: ids[:3] + ids[:1],
        lambda ids: rng.sample(ids, len(ids) // 2 or 1) * 2, lambda ids: ids + ODD_IDS[:5],
    ]  # fmt: skip
    kept = 0
    for name in [n for n in every_facts if n.split(".")[0] in EXAMPLES] + sorted(every_facts)[:2]:
        facts = every_facts[name]
        offline = OfflineNarrator().narrate(facts).narration
        every_row = [StageClaim(stage=s, confidence="low", evidence=list(facts.timeline.ids), rationale="Rows.") for s in APT_STAGES]
        for variant in variants:
            claims = [c.model_copy(update={"evidence": variant(list(c.evidence))}) for c in offline.stages]
            claims += [c for c in every_row if c.stage not in {s.stage for s in claims}]
            narration = Narration(stages=claims, iocs=offline.iocs[:2], summary="")
            by_position = ground.prune(narration, facts, Vocabulary(facts))
            with monkeypatch.context() as patched:
                patched.setattr(ground, "_cited_positions", lambda vocab, evidence: None)
                by_set = ground.prune(narration, facts, Vocabulary(facts))
            assert by_position[0].model_dump() == by_set[0].model_dump(), name
            assert by_position[1] == by_set[1], name
            kept += len(by_set[0].stages)
    assert kept >= 20


# --------------------------------------------------------------------------- semantic check


def _plain_reason(stage, evidence, facts, fields_of):
    """Before: every cited row built and judged on its own."""
    rows = []
    for position in _plain_positions(facts, evidence):
        fields = fields_of[position]
        rows.append(semantic.RowEvent(id=evidence[0], position=position, minute=0, event_class=event_class(fields["action"], fields["object_kind"]), **fields))
    table = semantic.support_table()
    if not rows or any(r.event_class == UNKNOWN for r in rows):
        return None
    if any(semantic.supports(stage, r, facts, table) for r in rows):
        return None
    needed = ", ".join(semantic._describe(cls, cond) for cls, cond in table.supports.get(stage, ()))
    held = ", ".join(dict.fromkeys(r.event_class for r in rows))
    return f"the cited rows hold no event that can support this stage (it needs one of: {needed}; they hold: {held})"


def test_the_semantic_check_per_description_equals_the_plain_per_row_check(every_facts):
    judged = 0
    columns = ["subject_kind", "subject_name", "action", "object_kind", "object_name"]
    for name, facts in every_facts.items():
        ids = list(facts.timeline.ids)
        described = [{c: str(v) for c, v in row.items()} for row in facts.timeline.descriptions[columns].records()]
        fields_of = [described[code] for code in facts.timeline.log["description"].tolist()]
        by_class: dict[str, list[str]] = {}
        for row in semantic.row_events(facts, ids):
            by_class.setdefault(row.event_class, []).append(row.id)
        cited = [ids, ids * (semantic._FEW_IDS // len(ids) + 1), ids[:1], ids[-3:], ["L0", "C1"] + ids[:2]]
        if name.split(".")[0] in EXAMPLES:  # the stage rules' own citations too (the corpus cases: their classes)
            cited += [list(s.evidence) for s in find_stages(facts)]
        cited += list(by_class.values())
        cited += [a + b for a, b in zip(by_class.values(), list(by_class.values())[1:])]  # two classes mixed
        for evidence in cited:
            for stage in APT_STAGES:
                assert semantic.unsupported_reason(stage, evidence, facts) == _plain_reason(stage, evidence, facts, fields_of), (name, stage)
                judged += 1
    assert judged > 1000


# --------------------------------------------------------------------------- scanners


def _plain_file_names(text: str) -> list[str]:
    found = []
    for match in mentions.TOKEN.finditer(mentions.normalise(text)):
        token = mentions.trimmed(match.group(0))  # the shortcut under test is the scan, not the trimming
        if not token or mentions.IPV4.fullmatch(token) or mentions.CLOCK.fullmatch(token) or mentions.ISO_DATE.fullmatch(token):
            continue
        if mentions.NUMERIC_DATE.fullmatch(token) or mentions.IPV4_INTEGER.fullmatch(token):
            continue
        if mentions._is_file_like(token):
            found.append(token)
    return found


def _plain_ipv6(text: str) -> list[str]:
    text = mentions.normalise(text)
    return [
        a
        for m in mentions.IPV6.finditer(text)
        if m.group(1).count(":") >= 2 and any(c not in ":" for c in m.group(1))
        for a in mentions._address(m.group(1))
    ]


def _plain(pattern: re.Pattern, text: str) -> list[str]:
    return [m.group(0) for m in pattern.finditer(mentions.normalise(text))]


def test_every_scanner_shortcut_finds_what_the_plain_scan_finds(texts):
    for text in texts:
        assert mentions.file_names(text) == _plain_file_names(text), text
        normal = mentions.normalise(text)
        assert [w for w, _ in mentions.clocks(text)] == [m.group(0).strip() for m in mentions.CLOCK.finditer(normal) if not (m.group(3) and int(m.group(1)) > 12)], text
        assert [u for u, _ in mentions.urls(text)] == [u.rstrip(".,:;!?") for u in _plain(mentions.URL, text)], text
        assert mentions.cves(text) == [c.upper() for c in _plain(mentions.CVE, text)], text
        assert [w for w, _ in mentions.registry_keys(text)] == [k.rstrip(".:!?") for k in _plain(mentions.REGISTRY_KEY, text)], text
        ipv6 = _plain_ipv6(text)
        assert mentions.addresses(text)[len(mentions.addresses(text)) - len(ipv6):] == ipv6, text


def _plain_mask(vocab: Vocabulary, text: str) -> str:
    text = vocab._mask_split_names(text)
    chars = list(text)
    for match in mentions.TOKEN.finditer(text):
        token = mentions.trimmed(match.group(0))  # the shortcut under test is the scan, not the trimming
        if token and vocab._knows_folded(token.casefold()):
            chars[match.start() : match.end()] = " " * (match.end() - match.start())
    return "".join(chars)


def test_the_known_name_mask_equals_the_plain_lookup(every_facts, texts):
    for name in ("dropper.csv", "exfil.edges.csv"):
        vocab = Vocabulary(every_facts[name])
        known = sorted(vocab.names)[:200]
        written = [*known, *(k.replace("/", "\\") for k in known), *(k.upper() for k in known), *(f"`{k}`'s" for k in known)]
        samples = texts[:400] + [" ".join(written[i : i + 7]) + "." for i in range(0, len(written), 7)]
        for text in samples:
            assert vocab._mask_known_names(text) == _plain_mask(vocab, text), text


def test_a_merged_vocabulary_judges_the_tokens_afresh(every_facts):
    """The mask keeps each token's verdict per vocabulary: a vocabulary merged with context
    rows knows more names, so no verdict of its parts may carry over."""
    from aptnarrate.grounding.ground import VocabularyRow

    vocab = Vocabulary(every_facts["dropper.csv"])
    text = "then zz-context-only.bin ran"
    assert vocab._mask_known_names(text) == text  # judged (and kept) as unknown
    row = VocabularyRow(id="C1", minute="2018-04-12 10:00", text="t", subject_kind="process", subject_name="x",
                        action="READ", object_kind="file", object_name="zz-context-only.bin")  # fmt: skip
    union = vocab.merged(Vocabulary.from_rows([row]))
    assert "zz-context-only.bin" not in union._mask_known_names(text)
    assert "C1" in union.log_ids and "L1" in union.log_ids and "C1" not in vocab.log_ids


# --------------------------------------------------------------------------- gates

_SCANNERS = ("addresses", "ports", "dates", "numeric_dates", "clocks", "hours", "urls", "domains", "hashes", "cves",
             "registry_keys", "file_names")  # fmt: skip
_GATED = [
    "Apr 12", "on 12th of March, 2018", "Sept. 3 2019", "May", "11 p.m.", "9AM", "at 12 pm.", "3405803875",
    "0xCB007163", "0XcB00716", "evil.com", "a.b.co.uk.", "x.COM-", "x.io/", "port 443", "PORTS  8080", "TCP/80",
    "udp:53", "[::1]:8080", "10.0.0.1:4444", "1.2.3.4", "0x7f.0.0.1", "d41d8cd98f00b204e9800998ecf8427e",
    "D41D8CD98F00B204E9800998ECF8427E0", "hxxp://evil[.]com", "evil(dot)com", "user[at]host", "a{:}b", "x<.>y",
    "\t tab\x7f", "12/04/2018", "2018-04-12 12:30", "4.12.18", "a\u200b[.]b", "\uff11\uff12:\uff13\uff10",
    "fe80::1", "2001:DB8:0:0:8:800:200C:417A", "::ffff:1.2.3.4", "1:2:3.4.5.6", "a: b:c", "Port", "tCp:9", "UDP",
    "\u017f", "\u212a", "\u0130", "PORT\u0130", "p\u00f6rt", "\uff30\uff2f\uff32\uff34 7",
]  # fmt: skip


def _scan_all(texts: list[str]) -> list[list]:
    mentions.normalise.cache_clear()  # the cache must not carry results across the switch
    found = [[mentions.normalise(t)] + [getattr(mentions, name)(t) for name in _SCANNERS] for t in texts]
    mentions.normalise.cache_clear()
    return found


def test_the_scanner_gates_change_no_result(texts, monkeypatch):
    """A gate only spares a scan that would find nothing: every scanner (and ``normalise``,
    whose defanging has one) gives the same with the gates as with every pattern run."""
    rng = random.Random(9)
    pieces = _GATED + [" ", ".", ":", "-", "/", "x", "0", "12", "am", "(", "["]
    samples = texts + _GATED + ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(1000)]
    gated = _scan_all(samples)
    monkeypatch.setattr(mentions, "_USE_GATES", False)
    plain = _scan_all(samples)
    for text, with_gates, without in zip(samples, gated, plain):
        assert with_gates == without, text
    assert sum(1 for found in plain if any(found[1:])) > 500  # the samples do hold mentions


def test_the_foreign_digit_class_is_the_lookahead_pattern_it_replaced():
    before = re.compile(r"(?![0-9])\d")
    every = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF)
    assert mentions._FOREIGN_DIGIT.findall(every) == before.findall(every)
    assert len(before.findall(every)) > 600  # the digits of other scripts
