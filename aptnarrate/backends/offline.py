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
    """A short narrative in the seeds' style: when, what happened in order, what matters."""
    log = facts.timeline.log
    if len(log) == 0:
        return "The subgraph holds no events."
    minutes = dict(zip(log["id"], minute_text(log["minute"].to_numpy())))
    first, last = minutes[log["id"].iloc[0]], minutes[log["id"].iloc[-1]]
    if first == last:
        window = f"On {first[:10]} at {first[11:]}"
    elif first[:10] == last[:10]:
        window = f"On {first[:10]}, between {first[11:]} and {last[11:]}"
    else:
        window = f"Between {first} and {last}"
    total = int(log["count"].sum())
    paragraphs = [
        f"{window}, the flagged subgraph records {len(log)} log entries ({total} event-seconds) "
        f"involving {len(facts.candidates)} named entities."
    ]
    story = []
    for stage in sorted(stages, key=lambda s: (min(minutes[e] for e in s.evidence), APT_STAGES.index(s.stage))):
        when = min(minutes[e] for e in stage.evidence)
        at = when[11:] if when[:10] == first[:10] else when
        rationale = stage.rationale.rstrip(".")
        story.append(
            f"From {at}, {rationale[:1].lower() + rationale[1:]}, consistent with **{stage.stage}** "
            f"({stage.confidence} confidence)."
        )
    if story:
        paragraphs.append(" ".join(story))
    listed = facts.table_candidates
    if listed:
        named = [f"{_code(c.value)} ({c.likelihood})" for c in listed[:MAX_NAMED_IN_SUMMARY]]
        more = len(listed) - len(named)
        tail = f", with {more} more in the table below" if more > 0 else ""
        if all(c.likelihood == "low" for c in listed):
            lead = "The named entities, none of them suspicious on its own, are" if len(named) > 1 else "The only named entity is"
        else:
            lead = "The strongest indicators are" if len(named) > 1 else "The indicator to look at is"
        paragraphs.append(f"{lead} {_join(named)}{tail}.")
        if not stages:
            paragraphs[-1] += " None of the activity matches a rule for an APT stage; it may be benign or need context the subgraph does not hold."
    elif not facts.candidates:
        paragraphs.append("No entity in the log is named, so no indicator can be listed.")
    return "\n\n".join(paragraphs)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _code(value: str) -> str:
    """Inline-code a name from the log unless it contains a backtick (then plain quotes)."""
    return f"`{value}`" if "`" not in value and "\n" not in value else repr(value)
