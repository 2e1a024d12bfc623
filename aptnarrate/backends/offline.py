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
    """What the entity is (this host, declared internal host, public resolver, unknown public
    address, system binary, unknown file) and, from its strongest reason, why it is listed."""
    why = f" Listed because: {candidate.reasons[0]}." if candidate.reasons else ""
    if candidate.type == "ip" or candidate.kind == "flow":
        feature = set(candidate.features)
        cls, text = facts.address_class(candidate.value)
        if "this-host" in feature:
            what = "This host: the monitored machine's own address, recorded on inbound flows; not a remote indicator."
        elif "public-resolver" in feature:
            what = f"Public DNS resolver ({next((r for r in candidate.reasons if 'resolver' in r), 'well known')})."
        elif cls == "internal":
            what = f"Declared internal host ({text})."
        elif cls == "public":
            what = "Unknown public address: not in a declared internal network; what it serves cannot be told from the log."
        elif cls == "private":
            what = "Private-range host (no internal network declared for it)."
        else:
            what = f"Network endpoint ({text})."
        if "swept" in feature and "/" in candidate.value:
            hosts = [v for v in candidate.full_values if "/" not in v and "->" not in v and ":" not in v] or candidate.full_values
            inside = all(facts.address_class(h)[0] == "internal" for h in hosts)
            return (
                f"Hosts of {candidate.value} ({'declared internal' if inside else 'no internal network declared for them'}) "
                f"reached one after another by one process, the targets of a network sweep: {', '.join(hosts)}."
            )
        return what + why
    entry = lookup(candidate.value, _KB_KIND.get(candidate.type, "file"))
    mechanism = _benign_mechanism(candidate)
    benign = f" Here {mechanism.says}." if mechanism else ""
    if entry is None:
        what = "Unknown program: not a common binary in the knowledge base." if candidate.type == "process" else "Unknown file: not a known system file or binary."
        return what + benign + why
    kind = "System binary" if entry.type == "binary" else "Known " + entry.type
    return f"{kind}: {entry.usage.rstrip('.')} ({entry.category})." + benign + why


def _benign_mechanism(candidate: Candidate):
    """The benign mechanism (data/benign.yaml) that explains this entity's own name, if any."""
    from ..rules.benign import mechanisms
    from ..rules.patterns import Row

    rows = [Row("", "", candidate.value, "process", candidate.kind, tuple(candidate.full_values[:5])), Row(candidate.value, "", "", candidate.kind, "")]
    return next((m for m in mechanisms() if any(m.explains(r) for r in rows)), None)


def ioc_context(candidate: Candidate, facts: Facts) -> IoCClaim:
    reasons = "; ".join(candidate.reasons) if candidate.reasons else "no suspicious feature beyond appearing in the subgraph"
    actions = ", ".join(candidate.actions[:6])
    rationale = f"Rank {candidate.rank} of {len(facts.candidates)} (score {candidate.score:g}): {reasons}."
    if actions:
        rationale += f" Observed: {actions}."
    likelihood = candidate.likelihood
    mechanism = _benign_mechanism(candidate) if candidate.type != "ip" else None
    if mechanism is not None and likelihood != "low":
        # a benign mechanism lowers the likelihood one step and says so; the row stays
        likelihood = "moderate" if likelihood == "high" else "low"
        rationale += f" Likelihood lowered: {mechanism.says}."
    return IoCClaim(
        ioc=candidate.value,
        legitimate_usage=legitimate_usage(candidate, facts),
        likelihood=likelihood,
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
