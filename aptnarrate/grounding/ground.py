"""Grounding: every claim a narrator makes must point at something in the input.

``check`` lists what is unsupported (used to re-ask a model); ``prune`` removes it and
records each removal as a ``DroppedClaim`` so nothing unsupported is ever printed as fact.
"""

from __future__ import annotations

import copy
import json
import re
import weakref
from collections.abc import Mapping, Sequence
from itertools import filterfalse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import mentions
from ..models import APT_STAGES, LEVELS, DroppedClaim, IoCClaim, Narration, StageClaim
from ..render.escape import INVISIBLE, code_spans, show_invisible
from . import semantic  # stage claims must cite events that can support them

if TYPE_CHECKING:  # pragma: no cover
    from ..models import ContextInfo, ContextRow
    from ..preprocess.facts import Facts
    from ..preprocess.rank import Network

_MAX_QUOTED = 300  # a longer code span is not read as one name (its file names still are)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """``text``'s sentences: split after ``.``, ``!`` or ``?`` and whitespace, but never
    inside a code span (a name such as ``evil. Lateral Movement.exe`` is one name, and a
    split inside it left half a name and an unclosed backtick in the summary)."""
    text = text.strip()
    if not text:
        return []
    spans = code_spans(text) if "`" in text else []
    found, start, span = [], 0, 0
    for match in _SENTENCE.finditer(text):
        while span < len(spans) and spans[span][1] <= match.start():
            span += 1
        if span < len(spans) and spans[span][0] < match.start():
            continue  # inside a code span
        found.append(text[start : match.start()])
        start = match.end()
    found.append(text[start:])
    return [sentence for sentence in found if sentence]
_PATH_SPLIT = re.compile(r"[/\\]")
_LOG_RANGE = re.compile(r"L\d+(?:\s*(?:-|\u2013|to)\s*L\d+)?")


@dataclass(frozen=True)
class GroundingIssue:
    kind: str  # stage | ioc | evidence | summary
    item: str
    reason: str

    def message(self) -> str:
        """One line for a re-ask: what is wrong and with what."""
        return f"{self.kind} {self.item!r}: {self.reason}"

    def as_dropped(self) -> DroppedClaim:
        return DroppedClaim(kind=self.kind, item=self.item, reason=self.reason)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _KnownIoC:
    """An IoC as the vocabulary reads it: a ``Candidate`` or a report's ``IoCEntry``."""

    value: str
    type: str
    kind: str
    full_values: tuple[str, ...]

    @classmethod
    def of(cls, item: Any) -> _KnownIoC:
        kind = getattr(item, "kind", None) or _KIND_OF_TYPE.get(item.type, item.type)
        return cls(item.value, item.type, kind, tuple(getattr(item, "full_values", ()) or ()))


_KIND_OF_TYPE = {"ip": "flow"}  # an IoC type's entity kind where the two differ


class Vocabulary:
    """What the input lets a narrator mention: log ids, names, paths, addresses, ports,
    domains, hashes, dates and times. Everything is compared in ``mentions.normalise``d
    form, so a zero-width space or a defanged dot changes nothing."""

    context_rows: dict[str, ContextRow] = {}  # noqa: RUF012 - replaced, never mutated (with_context)

    def __init__(self, facts: Facts) -> None:
        timeline = facts.timeline
        # distinct minutes only: a log has far fewer of them than rows
        minutes = timeline.minute_texts[1] if len(timeline.log) else []
        self._build(
            log_ids=timeline.ids,  # converted once per timeline, shared with the semantic check
            triples=timeline.table.triples,
            event_texts=timeline.descriptions["text"].tolist(),  # a list: iterating pandas' Arrow strings is slow
            minutes=minutes,
            candidates=facts.candidates,
            internal_networks=getattr(facts, "internal_networks", ()),
        )
        # our own text about this input, shown to the model and written by the offline
        # narrator, may name programs as a class ("a tunnelling client (plink, ngrok ...)",
        # "PowerShell activity", "consistent with PowerShell's own script-policy test")
        from ..llm.prompt_context import benign_mechanisms, deletion_mechanisms, glossary
        from ..rules.stages import find_stages  # computed once per facts (cached on them)

        ours = [finding.rationale for finding in find_stages(facts)]
        ours += [record["meaning"] for record in glossary(facts)]  # "OpTC records PowerShell commands"
        ours += [reason for candidate in facts.table_candidates for reason in candidate.reasons]
        named = [c for c in facts.table_candidates if c.type != "ip"]
        ours += [m.says for m in benign_mechanisms(named, facts) if m is not None]
        ours += [m.says for c in named for m in deletion_mechanisms(c, facts)]
        self.programs_known.update(family for _, family in mentions.program_names("\n".join(ours)))  # one scan
        self.facts = facts

    @property
    def facts(self) -> Facts | None:
        """The facts it was built from (None for ``from_rows``): the semantic check reads
        their rows."""
        facts = self._facts
        return facts() if isinstance(facts, weakref.ref) else facts

    @facts.setter
    def facts(self, facts: Facts | None) -> None:
        self._facts = facts

    def _kept_with_facts(self) -> Vocabulary:
        """This vocabulary, referring to its facts weakly: cached on them (``vocabulary_for``),
        a strong reference back made a cycle, which only the cyclic garbage collector frees,
        and seldom (the CLI collects rarely): a report's facts, the per-row tables behind
        its log (350 MB at 10M input rows), outlived the run into the rendering."""
        if self._facts is not None and not isinstance(self._facts, weakref.ref):
            self._facts = weakref.ref(self._facts)
        return self

    @classmethod
    def from_rows(cls, rows: Sequence[Any], candidates: Sequence[Any] = (), internal_networks: Sequence[Any] = ()) -> Vocabulary:
        """The vocabulary of rows already condensed (a saved report's ``LogEntry`` or
        ``ContextRow`` items: ``id``, ``minute`` as ``YYYY-MM-DD HH:MM``, ``text`` and the
        subject and object kinds and names) and of IoCs (``value``, ``type``,
        ``full_values``; ``kind`` when known). It has no ``Facts``: the semantic check,
        which reads a subgraph's own rows, does not apply to it."""
        return cls.from_columns({f: [getattr(r, f) for r in rows] for f in ROW_FIELDS}, candidates, internal_networks)

    @classmethod
    def from_columns(
        cls, columns: Mapping[str, Sequence[Any]], candidates: Sequence[Any] = (), internal_networks: Sequence[Any] = (),
        names: Sequence[str] = (),
    ) -> Vocabulary:
        """``from_rows`` of rows given as columns (each field of ``ROW_FIELDS``, one value
        per row: a saved report's log read by column). ``names``: other names a text may
        use as the input's (a host story's subgraph names)."""
        from ..arrays import Columns

        fields = ("subject_name", "object_name", "subject_kind", "object_kind", "action")
        triples = Columns({f: np.array([str(v) for v in columns[f]], dtype=object) for f in fields})
        triples["subject_value"] = np.full(len(triples), "", dtype=object)
        triples["object_value"] = np.full(len(triples), "", dtype=object)
        vocabulary = cls.__new__(cls)
        vocabulary._build(
            log_ids=list(columns["id"]),
            triples=triples,
            event_texts=list(columns["text"]),
            minutes=sorted(set(columns["minute"])),
            candidates=[_KnownIoC.of(c) for c in candidates],
            internal_networks=internal_networks,
            names=names,
        )
        vocabulary.facts = None
        return vocabulary

    def merged(self, other: Vocabulary) -> Vocabulary:
        """A vocabulary that knows what this one and ``other`` know (a subgraph's and its
        context rows'); the semantic check keeps reading this one's facts."""
        union = copy.copy(self)
        union._log_id_set, union._log_id_values = self.log_ids | other.log_ids, ()
        union._token_verdicts = {}  # the union knows more names: no verdict of either carries over
        union._masked_texts = {}  # nor any masked text
        for name, value in vars(other).items():
            if name in ("_log_id_set", "_log_id_values", "_token_verdicts", "_masked_texts"):
                continue  # set above
            mine = getattr(self, name, None)
            if isinstance(value, set) and isinstance(mine, set):
                setattr(union, name, mine | value)
            elif name == "_split_names":
                heads = {head: list(names) for head, names in mine.items()}
                for head, names in value.items():
                    heads[head] = sorted(set(heads.get(head, [])) | set(names), key=len, reverse=True)
                setattr(union, name, heads)
            elif isinstance(value, dict) and isinstance(mine, dict):
                setattr(union, name, {**value, **mine})
            elif name not in ("_facts", "context_rows"):  # a new kind of attribute: say so, never drop it
                raise TypeError(f"Vocabulary.merged does not know how to unite {name!r} ({type(value).__name__})")
        return union

    @property
    def log_ids(self) -> set[str]:
        """The log row ids, as a set built on first use (the stage claims of a report built
        from facts are checked by position, without it: 200,000 ids cost 30 ms to hash)."""
        if self._log_id_set is None:
            self._log_id_set = set(self._log_id_values)
            self._log_id_values = ()
        return self._log_id_set

    def _build(self, *, log_ids, triples, event_texts, minutes, candidates, internal_networks, names=()) -> None:
        self._log_id_values = log_ids
        self._log_id_set: set[str] | None = None
        self._token_verdicts: dict[str, bool] = {}  # ``_knows_token`` of tokens already judged
        self._masked_texts: dict[str, str] = {}  # ``masked`` of texts already masked
        self.candidates = {c.value for c in candidates}
        self.candidates_folded = {c.value.casefold(): c.value for c in candidates}
        for candidate in candidates:
            self.candidates_folded.setdefault(mentions.normalise(candidate.value).casefold(), candidate.value)
        names = set(names)
        for column in ("subject_name", "object_name", "subject_value", "object_value"):
            names.update(v for v in map(str, set(triples[column].tolist())) if v)
        for candidate in candidates:
            names.add(candidate.value)
            names.update(candidate.full_values)
        # every name normalised in one pass over one text: cheap for many names
        # a name with control or invisible characters may be cited as the prompt shows it
        # (JSON escapes) or as Python or the report write it (\n, \u202e)
        names |= {form for name in names if INVISIBLE.search(name) for form in _escaped_forms(name)}
        raw = sorted(name.replace(_NAME_SEPARATOR, "") for name in names)
        joined = mentions.normalise(_NAME_SEPARATOR.join(raw)) if raw else ""
        normalised = joined.split(_NAME_SEPARATOR) if raw else []
        self.names = set(normalised)
        self.names_folded = {n.casefold() for n in normalised}
        # general knowledge about a candidate (our knowledge base) may name files the input
        # lacks, e.g. "chkgrp reads /etc/group": those may be mentioned as such
        usages = _knowledge_usages(candidates)
        self.names_folded |= {mentions.normalise(t).casefold() for usage in usages for t in mentions.file_names(usage)}
        # a program named bare ("mimikatz", "PowerShell") is known from a name of the input
        # that a word begins with (sshd: "SSH"), a script of its language (x.ps1:
        # "PowerShell") or the knowledge base's text about a candidate ("used by Firefox")
        self.programs_known = programs_in_names(self.names_folded)
        self.programs_known.update(family for _, family in mentions.program_names("\n".join(usages)))
        # a path may be cited by any tail: /usr/lib/libc.so.7 -> lib/libc.so.7, libc.so.7
        self.path_tails = set(self.names_folded)
        for name in self.names_folded:
            self.path_tails.update(_tails(name))
        # addresses and ports come from network entities only: a file named "10.66.66.66"
        # lets a narrator name that file, not claim a connection to that address
        network = set()
        for side in ("subject", "object"):
            rows = np.isin(triples[f"{side}_kind"], list(_NETWORK_KINDS))
            for column in (f"{side}_name", f"{side}_value"):
                network.update(v for v in map(str, set(triples[column][rows].tolist())) if v)
        for candidate in candidates:
            if candidate.type == "ip":
                network.add(candidate.value)
                network.update(candidate.full_values)
        network_text = mentions.normalise(_NAME_SEPARATOR.join(sorted(network)))
        self.addresses = set(mentions.addresses(network_text))
        for internal in internal_networks:
            self.addresses.add(internal.network_address.compressed)
        self.ports = {port for _, port in mentions.ports(network_text)}
        self.domains = set(mentions.domains(joined)) | {host for _, host in mentions.urls(joined)}
        self.urls_folded = {url.casefold() for url, _ in mentions.urls(joined)}
        self.hashes = set(mentions.hashes(joined))
        self.cves = set(mentions.cves(joined))
        # names that the tokeniser would split (spaces, quotes, brackets): found whole in a
        # text before it is tokenised, indexed by their first word for speed
        self._split_names: dict[str, list[str]] = {}
        for name in self.path_tails:
            if _SPLITS_TOKENS.search(name):
                head = _WORDS.split(name, maxsplit=1)[0]
                self._split_names.setdefault(head, []).append(name)
        for listed in self._split_names.values():
            listed.sort(key=len, reverse=True)
        self.kinds = set(triples["subject_kind"].tolist()) | set(triples["object_kind"].tolist())
        self.actions = set(triples["action"].tolist())
        self.events_folded = {t.casefold() for t in event_texts}
        self.minutes = set(minutes)
        days = {(int(d[5:7]), int(d[8:10]), int(d[:4])) for d in {m[:10] for m in minutes}}  # each day parsed once
        self.days = days | {(month, day, None) for month, day, _ in days}
        self.clocks = {m[11:16] for m in minutes}
        self.hours = {m[11:13] for m in minutes}

    def knows_file(self, token: str) -> bool:
        return self._knows_folded(mentions.normalise(token).casefold())

    def _knows_folded(self, folded: str) -> bool:
        return folded in self.names_folded or "/".join(_PATH_SPLIT.split(folded)) in self.path_tails

    def knows_domain(self, domain: str) -> bool:
        """A domain of the input, or a parent of one (``example.org`` for ``mail.example.org``)."""
        if domain in self.domains or domain in self.names_folded:
            return True
        return any(known.endswith("." + domain) for known in self.domains)

    def mentions(self, text: str, programs: bool = True) -> list[str]:
        """Everything concrete in ``text`` that the input lacks: addresses, ports, URLs,
        domains, hashes, CVE ids, registry keys, dates, times, file and quoted names, and
        (with ``programs``) programs named bare. General knowledge about an entity (an IoC's
        legitimate usage: "used by tcpdump") is read without ``programs``: it may name
        programs that are not in the log, as long as it names no file, address or time."""
        masked = self.masked(text)
        return self._absent(masked, masked if programs else "")

    def masked(self, text: str) -> str:
        """``text`` normalised, with the input's names blanked out (see ``_mask_known_names``)."""
        # a narration repeats texts (the IoCs' usages: "Unknown file: not a known system
        # file or binary." ...): each masked once per vocabulary, as tokens are judged once
        # (short ones kept, and at most _MAX_MASKED of them: the text is attacker-controlled)
        known = self._masked_texts
        found = known.get(text)
        if found is None:
            # blanked names collapse to one space: a 100k-character name costs each scanner nothing
            found = _BLANK_RUNS.sub(" ", self._mask_known_names(mentions.normalise(text)))
            if len(text) <= _MAX_MASKED_TEXT:
                if len(known) >= _MAX_MASKED:
                    known.clear()
                known[text] = found
        return found

    def _absent(self, masked: str, program_text: str) -> list[str]:
        """``mentions`` of a ``masked`` text, programs read in ``program_text`` (masked too)."""
        bad: list[str] = []
        for address in mentions.addresses(masked):
            if address not in self.addresses:
                bad.append(f"address {address}")
        for written, port in mentions.ports(masked):
            if port not in self.ports:
                bad.append(f"port {written}")
        url_hosts = set()
        for url, host in mentions.urls(masked):
            url_hosts.add(host)
            if not self._knows_url(url, host):
                bad.append(f"URL {url}")
        domains = set()
        for domain in mentions.domains(masked):
            domains.add(domain)
            if domain not in url_hosts and not self.knows_domain(domain):
                bad.append(f"domain {domain}")
        for digest in mentions.hashes(masked):
            if digest not in self.hashes:
                bad.append(f"hash {digest}")
        for cve in mentions.cves(masked):
            if cve not in self.cves:
                bad.append(f"vulnerability id {cve}")
        for written, below in mentions.registry_keys(masked):
            if below not in self.path_tails:
                bad.append(f"registry key {written}")
        for written, day in mentions.dates(masked):
            if day not in self.days:
                bad.append(f"date {written}")
        for written, readings in mentions.numeric_dates(masked):
            if not any(day in self.days for day in readings):
                bad.append(f"date {written}")
        for written, clock in mentions.clocks(masked):
            if clock not in self.clocks:
                bad.append(f"time {written}")
        for written, hour in mentions.hours(masked):
            if hour not in self.hours:
                bad.append(f"time {written}")
        files = dict.fromkeys(mentions.file_names(masked))  # in text order; each quoted span is looked up in it
        for token in files:
            if token.casefold() in domains or _REGISTRY_ROOT.match(token):
                continue  # checked as a domain or a registry key above
            if not self.knows_file(token):
                bad.append(f"file name {token}")
        # quoted spans are read after the input's names are blanked out: a backtick inside a
        # name must not pair with another name's backticks into a span of prose; spans are
        # read as Markdown does (``code_spans``), so a name fenced by a longer run of
        # backticks (``a`b``, as the narrators write it) is one span, not two half-spans
        for _start, _end, quoted in code_spans(masked):
            token = quoted.strip()
            if not token or "\n" in token or len(token) > _MAX_QUOTED:
                continue
            if token not in files and not self._knows_quoted(token):
                bad.append(f"name {token}")
        quoted_names = set(bad)  # a program already flagged as a quoted name is not flagged twice
        for written, family in dict.fromkeys(mentions.program_names(program_text)) if program_text else ():
            if family not in self.programs_known and f"name {written}" not in quoted_names:
                bad.append(f"program {written}")
        # a mention of a huge name is shown in part: it goes into re-asks and the metadata
        return [b if len(b) <= _MAX_SHOWN else b[:_MAX_SHOWN] + "\u2026" for b in dict.fromkeys(bad)]

    def checked(self, text: str) -> tuple[list[str], list[str]]:
        """``mentions`` of ``text`` and the stages it says happened (``asserted_stages`` of
        it with the input's names blanked out: a name such as ``- **Privilege Escalation**``
        says nothing happened; a stage name the model puts in a code span still does), from
        one masking."""
        masked = self.masked(text)
        return self._absent(masked, masked), asserted_stages(masked)

    def ioc_context_mentions(self, claim: IoCClaim) -> list[str]:
        """``mentions`` of an IoC claim's context: its legitimate usage is general knowledge
        (may name other programs), its rationale speaks of this log."""
        return self.ioc_context_checked(claim)[0]

    def ioc_context_checked(self, claim: IoCClaim) -> tuple[list[str], list[str]]:
        """``checked`` for an IoC claim's context: programs and stages are read in its
        rationale only."""
        usage, rationale = self.masked(claim.legitimate_usage), self.masked(claim.rationale)
        return self._absent(f"{usage} {rationale}", rationale), asserted_stages(rationale)

    def _knows_url(self, url: str, host: str) -> bool:
        if url.casefold() in self.urls_folded or self.knows_file(url):
            return True
        known_host = self.knows_domain(host) or any(a in self.addresses for a in mentions.addresses(host))
        if not known_host:
            return False
        path = url.split("://", 1)[1].partition("/")[2].split("?")[0].split("#")[0].strip("/")
        return not path or self.knows_file(path) or self.knows_file(path.rsplit("/", 1)[-1])

    def _mask_known_names(self, text: str) -> str:
        """``text`` with every name of the input blanked out, so that a true mention of a
        name is not read as something else: ``New Invoice.sh`` not as the unknown
        ``Invoice.sh``, a file named ``1.2.3.4.log`` not as the address 1.2.3.4."""
        text = self._mask_split_names(text)
        # separators and tokens by turns (joined, they are the text again): each distinct
        # token is judged once, and a known one is replaced by as many spaces
        parts = _TOKENS_BETWEEN.split(text)
        tokens = parts[1::2]
        # a narration's texts repeat their words: each token judged once per vocabulary
        # (short ones kept, and at most _MAX_VERDICTS of them: the text is attacker-controlled)
        verdicts = self._token_verdicts
        known = set()
        for raw in set(tokens):
            verdict = verdicts.get(raw)
            if verdict is None:
                verdict = self._knows_token(raw)
                if len(raw) <= _MAX_VERDICT_TOKEN:
                    if len(verdicts) >= _MAX_VERDICTS:
                        verdicts.clear()
                    verdicts[raw] = verdict
            if verdict:
                known.add(raw)
        if not known:
            return text
        parts[1::2] = [" " * len(raw) if raw in known else raw for raw in tokens]
        return "".join(parts)

    def _knows_token(self, raw: str) -> bool:
        """Whether a token of ``mentions.TOKEN``, trimmed as ``file_names`` trims it, is a
        name of the input."""
        token = mentions.trimmed(raw)
        if not token:
            return False
        folded = token.casefold()
        # without a backslash, the "/"-joined form ``_knows_folded`` looks up is the token itself
        return folded in self.names_folded or (folded in self.path_tails if "\\" not in folded else self._knows_folded(folded))

    def _mask_split_names(self, text: str) -> str:
        """``text`` with the known names that the tokeniser would split blanked out."""
        if not self._split_names:
            return text
        folded = text.casefold()
        if len(folded) != len(text):  # a few characters fold to two; then match as written
            folded = text.lower() if len(text.lower()) == len(text) else text
        words = set(_WORDS.split(folded)) | {""}
        chars = list(text)
        for head in words & self._split_names.keys():
            for name in self._split_names[head]:
                start = folded.find(name)
                while start >= 0:
                    end = start + len(name)
                    if _is_boundary(folded, start, end):
                        chars[start:end] = " " * len(name)
                    start = folded.find(name, end)
        return "".join(chars)

    def _knows_quoted(self, token: str) -> bool:
        folded = token.casefold()
        if self.knows_file(token) or folded in self.events_folded or token in self.minutes:
            return True
        if token in self.actions or token in self.kinds or folded in _STAGE_OF_FOLDED or folded in LEVELS:
            return True
        if folded in self.domains or folded in self.urls_folded:
            return True
        if _LOG_RANGE.fullmatch(token):
            return all(ref in self.log_ids for ref in re.findall(r"L\d+", token))
        if token in self.context_rows:  # a context row's id (C7) quoted in the text
            return True
        scanners = (mentions.addresses, mentions.dates, mentions.numeric_dates, mentions.clocks, mentions.hours,
                    mentions.ports, mentions.urls, mentions.domains, mentions.hashes, mentions.cves,
                    mentions.registry_keys)  # fmt: skip
        return any(scan(token) for scan in scanners)  # each checked on its own above


_BLANK_RUNS = re.compile(r" {2,}")
_TOKENS_BETWEEN = re.compile(f"({mentions.TOKEN.pattern})")  # split: what lies between tokens, and the tokens
_NAME_SEPARATOR = " \ue000 "  # a private-use character: no scanner reads across it
_WORDS = re.compile(r"[\s`'\"()\[\]{}<>,;|*:=]+")
_REGISTRY_ROOT = re.compile(r"(?:HKEY_|HKLM\\|HKCU\\|HKCR\\|HKU\\|HKCC\\|\\?REGISTRY\\)", re.IGNORECASE)
_SPLITS_TOKENS = re.compile(r"[\s`'\"()\[\]{}<>,;|*]")  # what ends a token in mentions.TOKEN
_NETWORK_KINDS = ("flow", "socket")  # canonical kinds (aptnarrate.preprocess.kinds) of network entities
_MAX_SHOWN = 240
_MAX_VERDICTS = 1 << 16  # tokens whose ``_knows_token`` a vocabulary keeps ...
_MAX_VERDICT_TOKEN = 200  # ... of at most this many characters
_MAX_MASKED = 1 << 12  # texts whose ``masked`` a vocabulary keeps ...
_MAX_MASKED_TEXT = 2000  # ... of at most this many characters
_MAX_TAILS = 32  # a path is cited by its last few components, not by every suffix of a huge name


def _escaped_forms(name: str) -> set[str]:
    return {json.dumps(name, ensure_ascii=False)[1:-1], repr(name)[1:-1], show_invisible(name)}


def _tails(name: str) -> list[str]:
    parts = _PATH_SPLIT.split(name)
    tails = []
    for i in range(max(1, len(parts) - _MAX_TAILS), len(parts)):
        tail = "/".join(parts[i:])
        if tail:
            tails.append(tail)
    return tails


def _is_boundary(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` stands as a whole name, not as part of a longer one."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in "_-./\\":
        return False
    if after.isalnum() or after in "_-/\\":
        return False
    return not (after == "." and end + 1 < len(text) and text[end + 1].isalnum())


_STAGE_OF_FOLDED = {s.casefold(): s for s in APT_STAGES}  # a stage's name in any case -> as spelled


def _knowledge_usages(candidates) -> list[str]:
    """The knowledge base's text about each candidate it knows."""
    from ..preprocess.knowledge import lookup

    found = []
    for candidate in candidates:
        entry = lookup(candidate.value, candidate.kind)
        if entry is not None:
            found.append(entry.usage)
    return found


_NAME_WORDS = re.compile(r"[a-z][a-z0-9]*")


def programs_in_names(names_folded: set[str]) -> set[str]:
    """The program families (``mentions.program_knowledge``) the input's names show: one a
    word of a name begins with (``sshd``, ``python3.8``, ``/var/spool/cron/...``), or one a
    file's extension shows (``x.ps1``: powershell). Linear in the names: each distinct word is
    tried against the families' few lengths, never each family against every name."""
    families, shown_by = mentions.program_knowledge()
    lengths = sorted({len(f) for f in families})
    known: set[str] = set()
    words = {word for name in names_folded for word in _NAME_WORDS.findall(name)}
    for word in words:
        for length in lengths:
            if length > len(word):
                break
            if word[:length] in families:
                known.add(word[:length])
    endings = {"." + name.rsplit(".", 1)[1] for name in names_folded if "." in name}  # one pass over the names
    known.update(program for program, extensions in shown_by.items() if endings.intersection(extensions))
    return known


def vocabulary_for(facts: Facts, context: ContextInfo | None = None) -> Vocabulary:
    """The ``Vocabulary`` of ``facts``, built once and kept with them: a model narrator
    and the pipeline ground against the same facts. With ``context`` (a report's
    ``--context`` part), also what its rows name, and their ids (``with_context``)."""
    cached = facts.derived("_grounding_vocabulary", lambda: Vocabulary(facts)._kept_with_facts())
    if context is None or not context.rows:
        return cached
    kept = facts.derived("_grounding_vocabulary_context", dict)  # for the last context asked
    if kept.get("context") is not context:
        kept.update(context=context, vocabulary=with_context(cached, context))
    return kept["vocabulary"]


ROW_FIELDS = ("id", "minute", "text", "subject_kind", "subject_name", "action", "object_kind", "object_name")


def declared_networks(cidrs: Sequence[str]) -> list[Network]:
    """A saved report's ``internal_networks`` as networks; a value that is no CIDR (a
    hand-edited report) is left out: the report was checked when it was made."""
    import ipaddress

    networks = []
    for text in cidrs:
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            pass
    return networks


@dataclass(frozen=True)
class VocabularyRow:
    """One condensed row for ``Vocabulary.from_rows`` (what ``LogEntry`` and
    ``ContextRow`` hold): its id, minute (``YYYY-MM-DD HH:MM``), event text and sides."""

    id: str
    minute: str
    text: str
    subject_kind: str
    subject_name: str
    action: str
    object_kind: str
    object_name: str


def with_context(vocabulary: Vocabulary, context: ContextInfo) -> Vocabulary:
    """``vocabulary`` extended with a report's context rows (``C1``...): a claim may cite
    them as evidence and mention what they name; the semantic check reads the cited
    context rows like log rows."""
    union = vocabulary.merged(Vocabulary.from_rows(context.rows))
    union.context_rows = {**vocabulary.context_rows, **{row.id: row for row in context.rows}}
    return union


def check(narration: Narration, facts: Facts, vocabulary: Vocabulary | None = None) -> list[GroundingIssue]:
    """Everything in ``narration`` the data does not support."""
    return _review(narration, vocabulary or vocabulary_for(facts))[1]


def prune(
    narration: Narration, facts: Facts, vocabulary: Vocabulary | None = None
) -> tuple[Narration, list[DroppedClaim]]:
    """``narration`` without its unsupported claims, and the claims dropped. Pass a
    ``vocabulary`` to reuse one built for the same facts."""
    cleaned, issues = _review(narration, vocabulary or vocabulary_for(facts))
    return cleaned, [issue.as_dropped() for issue in issues]


_STAGE_NAMES = re.compile("|".join(re.escape(s) for s in sorted(APT_STAGES, key=len, reverse=True)), re.IGNORECASE)
# a clause ends at a semicolon or colon, or turns at a contrastive word: "no lateral
# movement, but data exfiltration" asserts the second
_CLAUSES = re.compile(r"[;:]|\b(?:but|however|although|though|whereas|while|yet)\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:no|not|never|without|nor|neither|none|absent|absence|lacks?|lacking|rules? out|ruled out)\b|n't\b", re.IGNORECASE)
_NOT_A_NEGATION = re.compile(r"\b(?:no doubt|not only|without doubt|no question|not just)\b", re.IGNORECASE)


_STAGE_NAMES_LOWER = tuple(s.lower() for s in APT_STAGES) if all(s.isascii() for s in APT_STAGES) else None


def _may_name_a_stage(text: str) -> bool:
    """Whether ``_STAGE_NAMES`` finds a stage name in ``text``. An ASCII text is searched
    for the lower-cased names by substring (the pattern, under ``re.IGNORECASE``, is tried
    at every position of a long text and matches an ASCII text exactly where its lower case
    holds a lower-cased name); any other text by the pattern."""
    if _STAGE_NAMES_LOWER is not None and text.isascii():
        low = text.lower()
        return any(name in low for name in _STAGE_NAMES_LOWER)
    return _STAGE_NAMES.search(text) is not None


def asserted_stages(sentence: str) -> list[str]:
    """The APT stages a sentence names as having happened: each stage name (as spelled in
    ``APT_STAGES``, any case) in a clause without a negation ("no sign of Lateral
    Movement", "Data Exfiltration is not supported" assert nothing)."""
    text = mentions.normalise(sentence)
    if not _may_name_a_stage(text):
        return []
    found = []
    for clause in _CLAUSES.split(text):
        if not clause:
            continue
        negated = _NEGATION.search(_NOT_A_NEGATION.sub(" ", clause)) is not None
        for match in _STAGE_NAMES.finditer(clause):
            stage = _STAGE_OF_FOLDED[match.group(0).casefold()]
            if not negated and stage not in found:
                found.append(stage)
    return found


def _cited_positions(vocab: Vocabulary, evidence: list[str]):
    """The log positions of ``evidence`` when every id is a row of the facts' log, read off
    the ids (``semantic.log_positions``: one vectorised parse when the log is numbered
    ``L1``..``L<n>``); None when some id is not, or the ids cannot be read so."""
    if vocab.facts is None or vocab.context_rows or not semantic.row_table(vocab.facts).canonical_ids:
        return None
    positions = semantic.log_positions(vocab.facts, evidence)
    return positions if len(positions) == len(evidence) else None


def _review(narration: Narration, vocab: Vocabulary) -> tuple[Narration, list[GroundingIssue]]:
    from ..arrays import distinct

    issues: list[GroundingIssue] = []
    stages: list[StageClaim] = []
    positions_of: list = []  # each kept stage's cited positions when read (``_cited_positions``)
    seen_stages: set[str] = set()
    for claim in narration.stages:
        if claim.stage not in APT_STAGES:  # schema-checked, but a Narration can be built unchecked
            issues.append(GroundingIssue("stage", str(claim.stage), "not one of the allowed stage names"))
            continue
        positions = _cited_positions(vocab, claim.evidence)
        if positions is not None:  # every id a log row's: kept, each once
            unknown = []
            kept = list(claim.evidence) if len(distinct(positions)) == len(positions) else list(dict.fromkeys(claim.evidence))
        else:
            # C-level loops over the ids: a stage may cite 100,000 rows
            unknown = list(filterfalse(vocab.log_ids.__contains__, claim.evidence))
            kept = list(dict.fromkeys(filter(vocab.log_ids.__contains__, claim.evidence) if unknown else claim.evidence))
        what = "not a log row id" if not vocab.context_rows else "not a log row or context row id"
        for ref in unknown:
            issues.append(GroundingIssue("evidence", f"{claim.stage}: {ref}", what))
        if not kept:
            issues.append(GroundingIssue("stage", claim.stage, "no valid evidence row cited"))
            continue
        if claim.stage in seen_stages:
            issues.append(GroundingIssue("stage", claim.stage, "stage listed twice"))
            continue
        problems = vocab.mentions(claim.rationale)
        if problems:  # the rationale is printed: a stage argued from what the input lacks goes
            issues.append(GroundingIssue("stage", claim.stage, f"rationale mentions {'; '.join(problems)}, absent from the input"))
            continue
        seen_stages.add(claim.stage)
        stages.append(claim.model_copy(update={"evidence": kept}))
        positions_of.append(positions)
    stages = semantic.screen(stages, vocab, issues, positions_of)  # cited rows must hold events that can support the stage

    claimed = {claim.stage for claim in stages}  # what the summary and IoC rationales may say happened
    iocs: list[IoCClaim] = []
    seen_iocs: set[str] = set()
    for claim in narration.iocs:
        value = claim.ioc if claim.ioc in vocab.candidates else vocab.candidates_folded.get(claim.ioc.casefold())
        if value is None:
            issues.append(GroundingIssue("ioc", claim.ioc, "not a candidate IoC computed from the input"))
            continue
        if value in seen_iocs:
            issues.append(GroundingIssue("ioc", value, "listed twice"))
            continue
        problems, asserted = vocab.ioc_context_checked(claim)
        if problems:
            issues.append(GroundingIssue("ioc", value, f"context mentions {'; '.join(problems)}, absent from the input"))
            continue
        unclaimed = [stage for stage in asserted if stage not in claimed]
        if unclaimed:  # "the Command and Control server" when no C2 claim stands
            issues.append(GroundingIssue("ioc", value, f"rationale asserts {', '.join(unclaimed)}, which no kept stage claim supports"))
            continue
        seen_iocs.add(value)
        iocs.append(claim.model_copy(update={"ioc": value}))

    kept_sentences = []
    for sentence in sentences(narration.summary):
        problems, asserted = vocab.checked(sentence)
        if problems:
            issues.append(GroundingIssue("summary", sentence[:200], f"mentions {'; '.join(problems)}, absent from the input"))
            continue
        unclaimed = [stage for stage in asserted if stage not in claimed]
        if unclaimed:  # "the attacker then exfiltrated data (Data Exfiltration)" with that claim dropped
            issues.append(GroundingIssue("summary", sentence[:200], f"asserts {', '.join(unclaimed)}, which no kept stage claim supports"))
            continue
        kept_sentences.append(sentence)
    summary = " ".join(kept_sentences)
    cleaned = Narration(stages=stages, iocs=iocs, summary=summary)
    return cleaned, issues
