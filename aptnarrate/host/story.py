"""The attack story of a host: one document over the reports of its subgraphs.

Like OCR-APT's comprehensive report, but computed from the per-subgraph reports and
traceable to them: every stage lists the subgraphs and log rows behind it, every IoC the
subgraphs it appears in. ``build_story`` is deterministic (the offline narrator of the
story); ``narrate_story`` (story_model.py) may replace the prose parts with a model's
grounded answer. ``Story`` is the contract; ``render_story_markdown`` is pure.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..models import APT_STAGES, LEVELS, ContextInfo, DroppedClaim, Level, Report, Stage, Usage, same_major_version
from ..render.views import log_columns
from ..wording import quoted

STORY_SCHEMA_VERSION = "1.0"
_MAX_SHARED = 12  # shared entities/minutes listed per link
MAX_LINKS = 250  # linked pairs of subgraphs listed (those sharing the most)
_TOP_SUBGRAPH_IOCS = 3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StorySubgraph(_Strict):
    name: str  # the subgraph's report name (batch output name)
    input_name: str
    report: str | None = None  # relative link to its Markdown report, when there is one
    verdict: str
    stages: list[Stage]
    first_minute: str | None
    last_minute: str | None
    log_rows: int
    top_iocs: list[str]
    summary: str


class StageEvidence(_Strict):
    subgraph: str
    confidence: Level
    log_ids: list[str]
    minutes: list[str]
    rationale: str


class StoryStage(_Strict):
    stage: Stage
    first_minute: str | None
    last_minute: str | None
    subgraphs: list[str]
    techniques: list[str]
    iocs: list[str]  # IoCs of the supporting subgraphs seen at the stage's evidence rows
    evidence: list[StageEvidence]
    narrative: str | None = None  # the model's account of the stage (grounded), if a model told the story


class StoryIoC(_Strict):
    value: str
    type: str
    full_values: list[str] = []  # paths, addresses, a sweep's hosts: the union over the subgraphs
    likelihood: Level  # the highest any subgraph gave it
    subgraphs: list[str]
    first_seen: str
    last_seen: str
    stages: list[Stage]  # stages whose evidence rows involve it, in any subgraph


class SubgraphLink(_Strict):
    subgraphs: list[str]  # two names
    shared_entities: list[str]
    shared_minutes: list[str]


class OverviewLine(_Strict):
    hour: str  # YYYY-MM-DD HH:00
    subgraph: str
    report: str | None
    first_minute: str
    last_minute: str
    log_rows: int
    stages: list[Stage]
    text: str


class StoryMetadata(_Strict):
    generator: str
    narrator: str  # offline | the model backend
    model: str | None = None
    usage: Usage | None = None
    dropped: list[DroppedClaim] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    context_rows_read: int | None = None  # with --context: rows the neighbourhood query returned


class Story(_Strict):
    schema_version: str = STORY_SCHEMA_VERSION
    kind: Literal["story"] = "story"
    title: str
    summary: str
    subgraphs: list[StorySubgraph]
    stages: list[StoryStage]
    iocs: list[StoryIoC]
    links: list[SubgraphLink]
    overview: list[OverviewLine]
    benign: list[str]  # names of subgraphs with no supported stage
    conclusions: list[str]
    next_steps: list[str]
    metadata: StoryMetadata
    context: ContextInfo | None = None  # with --context: the top IoCs across the subgraphs in the wider log

    @field_validator("schema_version")
    @classmethod
    def _readable_version(cls, value: str) -> str:
        return same_major_version(value, STORY_SCHEMA_VERSION)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    def to_markdown(self) -> str:
        from .story_render import render_story_markdown

        return render_story_markdown(self)


# --------------------------------------------------------------------------- building


def _verdict(report: Report) -> str:
    from .batch import verdict

    return verdict(report)


def _max_level(levels) -> Level:
    return max(levels, key=LEVELS.index)


def build_story(
    reports: Sequence[tuple[str, Report]],
    *,
    title: str = "Attack story of the host",
    report_links: dict[str, str] | None = None,
) -> Story:
    """The deterministic story over ``reports`` ((name, report) pairs)."""
    from .. import __version__

    links = report_links or {}
    subgraphs = [_subgraph(name, report, links.get(name)) for name, report in reports]
    stages = _stages(reports)
    iocs = _iocs(reports)
    story_links, linked_pairs = _links(reports)
    overview = _overview(reports, links)
    benign = [s.name for s in subgraphs if not s.stages]
    conclusions, next_steps = _conclusions(subgraphs, stages, iocs, story_links, linked_pairs, _tying_iocs(reports))
    notes = []
    zones = sorted({report.metadata.timezone for _, report in reports})
    if len(zones) > 1:
        # minutes are text in each report's own zone: compared across zones, the order is wrong
        # (shown under the story's notes in every format)
        notes.append(
            f"The reports' times are in different zones ({', '.join(zones)}): the story compares their minutes "
            "as written, so its order across them may be wrong; report the subgraphs again with one --timezone."
        )
    if linked_pairs > len(story_links):
        notes.append(f"links: {linked_pairs} pairs of subgraphs share an entity or a minute; the {len(story_links)} sharing the most are listed")
    return Story(
        title=title,
        summary=_summary(subgraphs, stages, iocs),
        subgraphs=subgraphs,
        stages=stages,
        iocs=iocs,
        links=story_links,
        overview=overview,
        benign=benign,
        conclusions=conclusions,
        next_steps=next_steps,
        metadata=StoryMetadata(generator=f"aptnarrate {__version__}", narrator="offline", notes=notes),
    )


def _subgraph(name: str, report: Report, link: str | None) -> StorySubgraph:
    return StorySubgraph(
        name=name,
        input_name=report.input_name,
        report=link,
        verdict=_verdict(report),
        stages=[s.stage for s in report.stages],
        first_minute=report.log[0].minute if report.log else None,
        last_minute=report.log[-1].minute if report.log else None,
        log_rows=len(report.log),
        top_iocs=[i.value for i in sorted(report.iocs, key=lambda i: i.rank)[:_TOP_SUBGRAPH_IOCS]],
        summary=report.summary,
    )


def _stages(reports) -> list[StoryStage]:
    found: dict[str, list[tuple[str, Report, object]]] = defaultdict(list)
    for name, report in reports:
        for finding in report.stages:
            found[finding.stage].append((name, report, finding))
    stages = []
    for stage, items in found.items():
        minutes = sorted(m for _n, _r, f in items for m in f.minutes)
        techniques = sorted({t for _n, _r, f in items for t in f.techniques})
        iocs: list[str] = []
        for _name, report, finding in items:
            cited = set(finding.evidence)
            for ioc in sorted(report.iocs, key=lambda i: i.rank):
                if cited & set(ioc.evidence) and ioc.value not in iocs:
                    iocs.append(ioc.value)
        evidence = [
            StageEvidence(subgraph=n, confidence=f.confidence, log_ids=list(f.evidence), minutes=list(f.minutes), rationale=f.rationale)
            for n, _r, f in sorted(items, key=lambda x: (x[2].minutes[:1] or ["~"], _natural(x[0])))
        ]
        stages.append(
            StoryStage(
                stage=stage,
                first_minute=minutes[0] if minutes else None,
                last_minute=minutes[-1] if minutes else None,
                subgraphs=list(dict.fromkeys(e.subgraph for e in evidence)),
                techniques=techniques,
                iocs=iocs,
                evidence=evidence,
            )
        )
    # the order the evidence shows them; the kill-chain order breaks ties
    return sorted(stages, key=lambda s: (s.first_minute or "~", APT_STAGES.index(s.stage)))


def _natural(name: str) -> tuple:
    """A sort key that reads the numbers in ``name`` as numbers: ``subgraph_2`` before
    ``subgraph_10``."""
    # a number compares by its length, then its digits: no int() of a 5,000-digit name
    return tuple((0, len(part.lstrip("0")), part.lstrip("0")) if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part)


def _iocs(reports) -> list[StoryIoC]:
    seen: dict[str, dict] = {}
    for name, report in reports:
        for ioc in report.iocs:
            cited = set(ioc.evidence)
            stages = [s.stage for s in report.stages if cited & set(s.evidence)]  # stages citing its rows
            entry = seen.setdefault(
                ioc.value,
                {"type": ioc.type, "levels": [], "subgraphs": {}, "first": ioc.first_seen, "last": ioc.last_seen, "stages": [], "full": {}},
            )
            entry["levels"].append(ioc.likelihood)
            entry["subgraphs"].setdefault(name)  # dicts: in order, each once, without a scan per addition
            entry["first"] = min(entry["first"], ioc.first_seen)
            entry["last"] = max(entry["last"], ioc.last_seen)
            entry["stages"].extend(s for s in stages if s not in entry["stages"])
            for v in ioc.full_values:
                if v != ioc.value:
                    entry["full"].setdefault(v)
    iocs = [
        StoryIoC(
            value=value,
            type=e["type"],
            full_values=list(e["full"]),
            likelihood=_max_level(e["levels"]),
            subgraphs=list(e["subgraphs"]),
            first_seen=e["first"],
            last_seen=e["last"],
            stages=sorted(e["stages"], key=APT_STAGES.index),
        )
        for value, e in seen.items()
    ]
    # most likely first, then most widespread, then earliest
    return sorted(iocs, key=lambda i: (-LEVELS.index(i.likelihood), -len(i.subgraphs), i.first_seen, i.value))


def _named_entities(report: Report) -> set[str]:
    subjects, objects = log_columns(report, "subject_name", "object_name")
    names = set(subjects) | set(objects)
    names.discard("")
    names.discard(None)
    return names


def _known_everywhere(ioc) -> bool:
    """A program or file the knowledge base knows (``svchost.exe``, ``cmd.exe``,
    ``wininet.dll``): every host has it, so its name alone ties nothing to an attack."""
    from ..preprocess.knowledge import lookup

    return ioc.type in ("process", "file", "module", "registry") and lookup(ioc.value, ioc.type) is not None


def _linking_iocs(report: Report, named: set[str]) -> tuple[set[str], set[str]]:
    """The report's IoCs (named in its log) that can link it to another subgraph, as
    (distinctive, suspected). A name the knowledge base does not know (a dropped file, an
    address) is distinctive: it links wherever it is named. One it knows
    (``_known_everywhere``) links two subgraphs only where both rate it above low."""
    distinctive, suspected = set(), set()
    for ioc in report.iocs:
        if ioc.value not in named:
            continue
        if ioc.likelihood != "low":
            suspected.add(ioc.value)
        if not _known_everywhere(ioc):
            distinctive.add(ioc.value)
    return distinctive, suspected


def _tying_iocs(reports) -> set[str]:
    """IoCs that tie the subgraphs whose tables list them to one activity: listed in two
    or more, and distinctive in one of them or suspected in two (``_linking_iocs`` of each
    table, as the links read it)."""
    tables: Counter[str] = Counter()
    suspected: Counter[str] = Counter()
    distinctive: set[str] = set()
    for _name, report in reports:
        listed = {ioc.value for ioc in report.iocs}
        mine, doubted = _linking_iocs(report, listed)
        tables.update(listed)
        suspected.update(doubted)
        distinctive |= mine
    return {value for value, count in tables.items() if count > 1 and (value in distinctive or suspected[value] > 1)}


def _links(reports) -> tuple[list[SubgraphLink], int]:
    """Pairs of subgraphs sharing a linking entity (``_linking_iocs``) or a minute of
    activity: at most ``MAX_LINKS`` of them (those sharing the most entities, then minutes;
    in pair order), and how many pairs share something. Many subgraphs of one busy hour all
    share minutes, so every pair would be listed: 1,000 subgraphs made a 390 MB story.json."""
    import heapq

    # an entity counts when it is a distinctive IoC in one of the two and named in both,
    # or a suspected IoC in both
    named = [_named_entities(report) for _name, report in reports]
    distinctive, suspected = [], []
    for (_name, report), names in zip(reports, named):
        mine, doubted = _linking_iocs(report, names)
        distinctive.append(mine)
        suspected.append(doubted)
    minutes = [set(log_columns(report, "minute")[0]) for _name, report in reports]
    # each set also as a bit mask over the distinct values, so a pair costs a few integer
    # operations instead of set intersections (1,000 subgraphs are 499,500 pairs)
    entity_bits: dict[str, int] = {}
    masks_distinctive = _masks(distinctive, entity_bits)
    masks_suspected = _masks(suspected, entity_bits)
    masks_named = _masks(named, entity_bits)
    masks_minutes = _masks(minutes, {})
    total = 0
    kept: list[tuple[int, int, int, int, int]] = []  # a heap of (entities, minutes, -pair order, a, b)
    order = 0
    for a in range(len(reports)):
        distinctive_a, suspected_a, named_a, minutes_a = masks_distinctive[a], masks_suspected[a], masks_named[a], masks_minutes[a]
        for b in range(a + 1, len(reports)):
            order += 1
            entities = ((distinctive_a & masks_named[b]) | (masks_distinctive[b] & named_a) | (suspected_a & masks_suspected[b])).bit_count()
            shared_minutes = (minutes_a & masks_minutes[b]).bit_count()
            if not (entities or shared_minutes):
                continue
            total += 1
            if len(kept) < MAX_LINKS:
                heapq.heappush(kept, (entities, shared_minutes, -order, a, b))
            elif (entities, shared_minutes, -order) > kept[0][:3]:
                heapq.heapreplace(kept, (entities, shared_minutes, -order, a, b))
    result = []
    for _e, _m, _order, a, b in sorted(kept, key=lambda item: -item[2]):
        shared = sorted((distinctive[a] & named[b]) | (distinctive[b] & named[a]) | (suspected[a] & suspected[b]))
        shared_minutes = sorted(minutes[a] & minutes[b])
        result.append(
            SubgraphLink(subgraphs=[reports[a][0], reports[b][0]], shared_entities=shared[:_MAX_SHARED], shared_minutes=shared_minutes[:_MAX_SHARED])
        )
    return result, total


def _masks(sets, bits: dict[str, int]) -> list[int]:
    """Each set as an integer with one bit per distinct value (numbered in ``bits``, which
    may already number some), built from a byte array: linear in the values."""
    numbered = [[bits.setdefault(value, len(bits)) for value in values] for values in sets]
    size = (len(bits) + 7) // 8
    masks = []
    for positions in numbered:
        array = bytearray(size)
        for position in positions:
            array[position >> 3] |= 1 << (position & 7)
        masks.append(int.from_bytes(array, "little"))
    return masks


def _overview(reports, links: dict[str, str]) -> list[OverviewLine]:
    lines = []
    for name, report in reports:
        ids, minutes, subject_names, actions = log_columns(report, "id", "minute", "subject_name", "action")
        by_hour: dict[str, list[int]] = defaultdict(list)
        for row, minute in enumerate(minutes):
            by_hour[minute[:13] + ":00"].append(row)
        evidence = [(s.stage, set(s.evidence)) for s in report.stages]  # once, not per hour
        for hour, rows in by_hour.items():
            row_ids = {ids[row] for row in rows}
            stages = [stage for stage, cited in evidence if not row_ids.isdisjoint(cited)]
            hour_actions = sorted({actions[row] for row in rows})
            subjects = list(dict.fromkeys(subject_names[row] for row in rows if subject_names[row]))[:3]
            text = f"{len(rows)} log row(s)"
            if subjects:
                text += f" by {', '.join(subjects)}"
            text += f"; actions {', '.join(hour_actions[:6])}{', ...' if len(hour_actions) > 6 else ''}"
            hour_minutes = [minutes[row] for row in rows]
            lines.append(
                OverviewLine(
                    hour=hour,
                    subgraph=name,
                    report=links.get(name),
                    first_minute=min(hour_minutes),
                    last_minute=max(hour_minutes),
                    log_rows=len(rows),
                    stages=stages,
                    text=text,
                )
            )
    return sorted(lines, key=lambda line: (line.first_minute, line.subgraph))


def _summary(subgraphs, stages, iocs) -> str:
    suspicious = [s for s in subgraphs if s.stages]
    minutes = sorted(m for s in subgraphs for m in (s.first_minute, s.last_minute) if m)
    span = f" between {minutes[0]} and {minutes[-1]}" if minutes else ""
    text = f"{len(subgraphs)} flagged subgraph(s){span}; {len(suspicious)} show evidence of an APT stage"
    if stages:
        text += ": " + ", ".join(f"{s.stage} (from {s.first_minute}, {len(s.subgraphs)} subgraph(s))" for s in stages)
    text += f". {len(iocs)} distinct IoC(s) across their tables"
    high = [i.value for i in iocs if i.likelihood == "high"]
    if high:
        text += f", {len(high)} rated high: {', '.join(map(quoted, high[:5]))}{', ...' if len(high) > 5 else ''}"
    return text + "."


_NEXT_STEP = {
    "Initial Compromise": "Find how the first written-then-executed files or first contacts arrived (mail, download, exploited service) and check other hosts for the same delivery.",
    "Internal Reconnaissance": "Check what the discovery commands and reads learned (accounts, keys, network layout) and rotate exposed credentials.",
    "Command and Control": "Block and hunt for the contacted addresses across the network; capture traffic to confirm beaconing.",
    "Privilege Escalation": "Review the principal changes and the binaries involved; patch the exploited component.",
    "Lateral Movement": "Trace the peers contacted from this host and investigate them as possibly compromised.",
    "Maintain Persistence": "Remove the persistence (cron entries, services, startup files) and check for copies elsewhere.",
    "Data Exfiltration": "Establish which files left the host and to where; start the data-breach procedure if they are sensitive.",
    "Covering Tracks": "Recover deleted or renamed files from backups or disk images; treat the host's own logs as possibly tampered.",
}


def _conclusions(
    subgraphs, stages, iocs, links, linked_pairs: int | None = None, tying: set[str] | None = None
) -> tuple[list[str], list[str]]:
    """``tying``: the IoCs that tie subgraphs to one activity (``_tying_iocs``); None: every
    IoC in more than one subgraph's table."""
    conclusions = []
    if not stages:
        conclusions.append("No subgraph shows evidence of an APT stage; the flagged activity looks benign on this evidence.")
    else:
        first, last = stages[0], stages[-1]
        if len(stages) == 1:
            conclusions.append(
                f"The evidence shows 1 stage, {first.stage}, from {first.first_minute} to {first.last_minute} "
                f"({', '.join(map(quoted, first.subgraphs[:3]))})."
            )
        else:
            conclusions.append(
                f"The evidence shows {len(stages)} stages, starting with {first.stage} at {first.first_minute} "
                f"({', '.join(map(quoted, first.subgraphs[:3]))}) and reaching {last.stage} by {last.last_minute}."
            )
        recurring = [i for i in iocs if len(i.subgraphs) > 1]
        spread = [i for i in recurring if tying is None or i.value in tying]
        if spread:
            conclusions.append(
                f"{len(spread)} IoC(s) recur across subgraphs, tying them to one activity: "
                + ", ".join(f"{quoted(i.value)} ({len(i.subgraphs)})" for i in spread[:5])
                + "."
            )
        common = [i for i in recurring if i not in spread]
        if common:
            conclusions.append(
                f"{len(common)} IoC(s) recur as programs or files every host has, rated low in all but at most one "
                "subgraph, which ties nothing on its own: " + ", ".join(f"{quoted(i.value)} ({len(i.subgraphs)})" for i in common[:5]) + "."
            )
    benign = [s.name for s in subgraphs if not s.stages]
    if benign:
        conclusions.append(f"{len(benign)} subgraph(s) look benign on their own evidence (listed apart); they may still be context of the attack.")
    pairs = len(links) if linked_pairs is None else linked_pairs
    if pairs:
        listed = f", the {len(links)} sharing the most" if pairs > len(links) else ""
        conclusions.append(f"{pairs} pair(s) of subgraphs share entities or minutes (see Linked subgraphs{listed}).")
    next_steps = [_NEXT_STEP[s.stage] for s in sorted(stages, key=lambda s: APT_STAGES.index(s.stage))]
    high = [i.value for i in iocs if i.likelihood == "high"]
    if high:
        next_steps.insert(0, f"Triage the high-likelihood IoCs first: {', '.join(map(quoted, high[:8]))}{', ...' if len(high) > 8 else ''}.")
    if benign:
        next_steps.append("Review the benign-looking subgraphs for activity that only makes sense next to the attack (same minutes, same entities).")
    return conclusions, next_steps
