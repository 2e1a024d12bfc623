"""The offline narrator: deterministic rules, no network, the same Narration an LLM fills.

Stages come from the rule families in :mod:`aptnarrate.stages`; IoC context from the
knowledge base and each candidate's own reasons; the summary is assembled from log
minutes and candidate values only, so every claim it makes exists in the facts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..condense import minute_text
from ..knowledge import lookup
from ..models import APT_STAGES, IoCClaim, Narration, StageClaim
from ..stages import StageEvidence, find_stages
from . import NarrationResult

if TYPE_CHECKING:  # pragma: no cover
    from ..facts import Facts
    from ..models import Candidate

_KB_KIND = {"file": "file", "process": "process", "module": "module", "registry": "registry", "directory": "directory"}
MAX_NAMED_IN_SUMMARY = 4


class OfflineNarrator:
    name = "offline"

    def narrate(self, facts: Facts) -> NarrationResult:
        found = sorted(find_stages(facts), key=lambda s: APT_STAGES.index(s.stage))
        stages = [
            StageClaim(stage=s.stage, confidence=s.confidence, evidence=list(s.evidence), rationale=s.rationale)
            for s in found
        ]
        iocs = [ioc_context(c, facts) for c in facts.table_candidates]
        narration = Narration(stages=stages, iocs=iocs, summary=summarise(facts, found))
        return NarrationResult(narration=narration, backend=self.name, notes=["rule-based narration (offline)"])


def legitimate_usage(candidate: Candidate, facts: Facts) -> str:
    if candidate.type == "ip":
        _, text = facts.address_class(candidate.value)
        return f"Remote network address ({text}); what it legitimately serves cannot be told from the log."
    entry = lookup(candidate.value, _KB_KIND.get(candidate.type, "file"))
    if entry is None:
        return "Not a known system file/binary; its legitimate use cannot be determined from the log."
    return f"{entry.usage.rstrip('.')} ({entry.category})."


def ioc_context(candidate: Candidate, facts: Facts) -> IoCClaim:
    reasons = "; ".join(candidate.reasons) if candidate.reasons else "no suspicious feature beyond appearing in the subgraph"
    actions = ", ".join(candidate.actions[:6])
    rationale = f"Rank {candidate.rank} of {len(facts.candidates)} (score {candidate.score:g}): {reasons}."
    if actions:
        rationale += f" Observed: {actions}."
    return IoCClaim(
        ioc=candidate.value,
        legitimate_usage=legitimate_usage(candidate, facts),
        likelihood=candidate.likelihood,
        rationale=rationale,
    )


def summarise(facts: Facts, stages: list[StageEvidence]) -> str:
    log = facts.timeline.log
    if len(log) == 0:
        return "The subgraph holds no events."
    first, last = minute_text(log["minute"].to_numpy()[[0, -1]])
    window = f"at {first}" if first == last else f"between {first} and {last}"
    total = int(log["count"].sum())
    sentences = [
        f"The flagged subgraph records {len(log)} distinct log entries ({total} event-seconds) {window}."
    ]
    listed = facts.table_candidates
    for cand in listed[:MAX_NAMED_IN_SUMMARY]:
        sentences.append(_candidate_sentence(cand))
    if len(listed) > MAX_NAMED_IN_SUMMARY:
        sentences.append(f"{len(listed) - MAX_NAMED_IN_SUMMARY} further indicators are listed in the table.")
    if not facts.candidates:
        sentences.append("No entity in the log is named, so no indicator can be listed.")
    if stages:
        parts = [f"**{s.stage}** ({s.confidence} confidence: {s.rationale.rstrip('.')})" for s in stages]
        sentences.append("The evidence supports " + "; ".join(parts) + ".")
    # with no stage, the renderer says so under the summary
    return " ".join(sentences)


def _candidate_sentence(cand: Candidate) -> str:
    when = cand.first_seen if cand.first_seen == cand.last_seen else f"{cand.first_seen} to {cand.last_seen}"
    what = ", ".join(cand.actions[:3])
    lead = cand.reasons[0] if cand.reasons else "appears in the subgraph"
    return f"{_code(cand.value)} ({cand.type}, {cand.likelihood} likelihood; {when}): {what}; {lead}."


def _code(value: str) -> str:
    """Inline-code a name from the log unless it contains a backtick (then plain quotes)."""
    return f"`{value}`" if "`" not in value and "\n" not in value else repr(value)
