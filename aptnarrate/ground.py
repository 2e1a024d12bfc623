"""Grounding: every claim a narrator makes must point at something in the input.

``check`` lists what is unsupported (used to re-ask a model); ``prune`` removes it and
records each removal as a ``DroppedClaim`` so nothing unsupported is ever printed as fact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import mentions
from .models import APT_STAGES, LEVELS, DroppedClaim, IoCClaim, Narration, StageClaim
from . import semantic  # stage claims must cite events that can support them

if TYPE_CHECKING:  # pragma: no cover
    from .facts import Facts

_CODE = re.compile(r"`([^`\n]{1,300})`")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
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


class Vocabulary:
    """What the input lets a narrator mention: log ids, names, paths, addresses, dates, times."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        timeline = facts.timeline
        self.log_ids = set(timeline.log["id"].to_numpy(dtype=object).tolist())
        self.candidates = {c.value for c in facts.candidates}
        self.candidates_folded = {c.value.casefold(): c.value for c in facts.candidates}
        triples = timeline.table.triples
        names: set[str] = set()
        for column in ("subject_name", "object_name", "subject_value", "object_value"):
            names.update(v for v in triples[column].astype(str).unique() if v)
        for candidate in facts.candidates:
            names.add(candidate.value)
            names.update(candidate.full_values)
        self.names = names
        self.names_folded = {n.casefold() for n in names}
        # general knowledge about a candidate (our knowledge base) may name files the input
        # lacks, e.g. "chkgrp reads /etc/group": those may be mentioned as such
        self.names_folded |= {t.casefold() for t in _knowledge_files(facts)}
        # a path may be cited by any tail: /usr/lib/libc.so.7 -> lib/libc.so.7, libc.so.7
        self.path_tails = set(self.names_folded)
        for name in self.names_folded:
            parts = _PATH_SPLIT.split(name)
            for i in range(1, len(parts)):
                tail = "/".join(parts[i:])
                if tail:
                    self.path_tails.add(tail)
        self.addresses: set[str] = set()
        for name in names:
            self.addresses.update(mentions.addresses(name))
        for network in getattr(facts, "internal_networks", ()):
            self.addresses.add(network.network_address.compressed)
        self.kinds = set(triples["subject_kind"].unique()) | set(triples["object_kind"].unique())
        self.actions = set(triples["action"].unique())
        self.events_folded = {t.casefold() for t in timeline.descriptions["text"]}
        from .condense import minute_text

        minutes = minute_text(timeline.log["minute"].to_numpy()) if len(timeline.log) else []
        self.minutes = set(minutes)
        days = {(int(m[5:7]), int(m[8:10]), int(m[:4])) for m in minutes}
        self.days = days | {(month, day, None) for month, day, _ in days}
        self.clocks = {m[11:16] for m in minutes}

    def knows_file(self, token: str) -> bool:
        folded = token.casefold()
        return folded in self.names_folded or "/".join(_PATH_SPLIT.split(folded)) in self.path_tails

    def mentions(self, text: str) -> list[str]:
        """Addresses, dates, times and file or quoted names in ``text`` that the input lacks."""
        bad: list[str] = []
        for address in mentions.addresses(text):
            if address not in self.addresses:
                bad.append(f"address {address}")
        for written, day in mentions.dates(text):
            if day not in self.days:
                bad.append(f"date {written}")
        for written, clock in mentions.clocks(text):
            if clock not in self.clocks:
                bad.append(f"time {written}")
        files = mentions.file_names(text)
        for token in files:
            if not self.knows_file(token):
                bad.append(f"file name {token}")
        for quoted in _CODE.findall(text):
            token = quoted.strip()
            if token not in files and not self._knows_quoted(token):
                bad.append(f"name {token}")
        return list(dict.fromkeys(bad))

    def _knows_quoted(self, token: str) -> bool:
        folded = token.casefold()
        if self.knows_file(token) or folded in self.events_folded or token in self.minutes:
            return True
        if token in self.actions or token in self.kinds or folded in _STAGES_FOLDED or folded in LEVELS:
            return True
        if _LOG_RANGE.fullmatch(token):
            return all(ref in self.log_ids for ref in re.findall(r"L\d+", token))
        if mentions.addresses(token) or mentions.dates(token) or mentions.clocks(token):
            return True  # checked on their own above
        return False


_STAGES_FOLDED = {s.casefold() for s in APT_STAGES}


def _knowledge_files(facts: Facts) -> set[str]:
    from .knowledge import lookup

    found: set[str] = set()
    for candidate in facts.candidates:
        entry = lookup(candidate.value, candidate.kind)
        if entry is not None:
            found.update(mentions.file_names(entry.usage))
    return found


def check(narration: Narration, facts: Facts, vocabulary: Vocabulary | None = None) -> list[GroundingIssue]:
    """Everything in ``narration`` the data does not support."""
    return _review(narration, vocabulary or Vocabulary(facts))[1]


def prune(
    narration: Narration, facts: Facts, vocabulary: Vocabulary | None = None
) -> tuple[Narration, list[DroppedClaim]]:
    """``narration`` without its unsupported claims, and the claims dropped. Pass a
    ``vocabulary`` to reuse one built for the same facts."""
    cleaned, issues = _review(narration, vocabulary or Vocabulary(facts))
    return cleaned, [issue.as_dropped() for issue in issues]


def _review(narration: Narration, vocab: Vocabulary) -> tuple[Narration, list[GroundingIssue]]:
    issues: list[GroundingIssue] = []
    stages: list[StageClaim] = []
    seen_stages: set[str] = set()
    for claim in narration.stages:
        if claim.stage not in APT_STAGES:  # schema-checked, but a Narration can be built unchecked
            issues.append(GroundingIssue("stage", str(claim.stage), "not one of the allowed stage names"))
            continue
        unknown = [e for e in claim.evidence if e not in vocab.log_ids]
        for ref in unknown:
            issues.append(GroundingIssue("evidence", f"{claim.stage}: {ref}", "not a log row id"))
        kept = list(dict.fromkeys(e for e in claim.evidence if e in vocab.log_ids))
        if not kept:
            issues.append(GroundingIssue("stage", claim.stage, "no valid evidence row cited"))
            continue
        if claim.stage in seen_stages:
            issues.append(GroundingIssue("stage", claim.stage, "stage listed twice"))
            continue
        for problem in vocab.mentions(claim.rationale):
            issues.append(GroundingIssue("stage", claim.stage, f"rationale mentions {problem}, absent from the input"))
        seen_stages.add(claim.stage)
        stages.append(claim.model_copy(update={"evidence": kept}))
    stages = semantic.screen(stages, vocab, issues)  # cited rows must hold events that can support the stage

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
        problems = vocab.mentions(claim.legitimate_usage + " " + claim.rationale)
        if problems:
            issues.append(GroundingIssue("ioc", value, f"context mentions {'; '.join(problems)}, absent from the input"))
            continue
        seen_iocs.add(value)
        iocs.append(claim.model_copy(update={"ioc": value}))

    sentences = _SENTENCE.split(narration.summary.strip()) if narration.summary.strip() else []
    kept_sentences = []
    for sentence in sentences:
        problems = vocab.mentions(sentence)
        if problems:
            issues.append(GroundingIssue("summary", sentence[:200], f"mentions {'; '.join(problems)}, absent from the input"))
            continue
        kept_sentences.append(sentence)
    summary = " ".join(kept_sentences)
    cleaned = Narration(stages=stages, iocs=iocs, summary=summary)
    return cleaned, issues
