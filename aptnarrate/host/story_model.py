"""The story with a model: one grounded call over the per-subgraph results.

The model writes the narrative parts of the story (summary, per-stage narrative,
conclusions, next steps); stages, IoCs, links and the overview stay computed. Its answer
gets the per-subgraph call's treatment: a strict schema, grounding (a stage may cite only
subgraphs whose reports show it; text may name only what a subgraph's grounding lets it
name, over all the reports: addresses, ports, URLs, domains, hashes, files, programs,
dates and times), re-asks with the errors verbatim, and whatever still fails is dropped and
recorded in the story's metadata.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple

from pydantic import Field

from ..grounding import mentions
from ..grounding.ground import sentences
from ..llm.chat import ChatRequest
from ..errors import BudgetError
from ..models import APT_STAGES, DroppedClaim, Stage, Usage
from .story import Story, _Strict

if TYPE_CHECKING:  # pragma: no cover
    from ..llm.chat import ChatTransport
    from ..llm.config import LLMSettings
    from ..models import ContextInfo, Report

SCHEMA_NAME = "story"
_MAX_SUBGRAPH_IOCS = 8


class _Limits(NamedTuple):
    """How much of each subgraph's results and of the story's IoC list the request shows."""

    rationale_chars: int | None  # None: whole
    minutes: int
    iocs: int  # per subgraph
    story_iocs: int | None  # None: every one
    stageless: bool  # subgraphs with no stage shown (else only counted)


# the story's request, fuller first: the first whose tokens fit the budget is sent
_LEVELS = (
    _Limits(None, 6, _MAX_SUBGRAPH_IOCS, None, True),
    _Limits(300, 3, 4, 200, True),
    _Limits(120, 2, 2, 60, False),
    _Limits(0, 1, 0, 20, False),
    _Limits(0, 0, 0, 20, False),  # a subgraph's stages by name only
)


class StoryStageClaim(_Strict):
    stage: Stage = Field(description="One of the stage names, spelled exactly.")
    subgraphs: list[str] = Field(description="Names of the subgraphs whose results show this stage.")
    narrative: str = Field(description="One or two sentences on what happened in this stage.")


class StoryNarration(_Strict):
    summary: str = Field(description="A short narrative of the attack on the host, in evidence order.")
    stages: list[StoryStageClaim] = Field(description="The stages you tell, each with its subgraphs.")
    conclusions: list[str] = Field(description="A few sentences of conclusions.")
    next_steps: list[str] = Field(description="Concrete next steps for the analyst.")


def story_schema() -> str:
    from openai.lib._pydantic import to_strict_json_schema

    return json.dumps(to_strict_json_schema(StoryNarration), sort_keys=True, separators=(",", ":"))


class StoryVocabulary:
    """What the reports let the story mention: a subgraph's grounding vocabulary
    (``ground.Vocabulary``: addresses, ports, URLs, domains, hashes, CVE ids, registry keys,
    dates, times, file, quoted and program names) over every report's log and IoCs, the
    story's context rows and the subgraphs' own names; and a stage the story says
    happened must be one that some report shows."""

    def __init__(self, reports: list[tuple[str, Report]], context: ContextInfo | None = None) -> None:
        from ..grounding.ground import ROW_FIELDS, Vocabulary, declared_networks

        columns: dict[str, list] = {field: [] for field in ROW_FIELDS}
        iocs, networks = [], []
        ours: list[str] = []  # the reports' own text, shown to the model
        for _name, report in reports:
            for field, values in _distinct_fields(report).items():
                columns[field] += values
            iocs += report.iocs
            networks += declared_networks(report.metadata.internal_networks)
            ours += [text for ioc in report.iocs for text in (ioc.legitimate_usage, ioc.rationale, *ioc.reasons)]
            ours += [report.summary, *(stage.rationale for stage in report.stages)]
        for row in context.rows if context is not None else ():  # the story's --context rows, shown to the model
            for field in ROW_FIELDS:
                columns[field].append(getattr(row, field))
        self.known = Vocabulary.from_columns(columns, iocs, networks, names=[name for name, _ in reports])
        # a program named bare is known from the names (the subgraph rule) or from the reports' text
        self.known.programs_known.update(family for _, family in mentions.program_names("\n".join(ours)))  # one scan
        self.stages = {stage.stage for _, report in reports for stage in report.stages}  # what some subgraph shows
        # the IoC types the story's data shows (``ip``, ``domain``) may be quoted as words
        self.types_folded = {ioc.type.casefold() for ioc in iocs}

    def mentions(self, text: str) -> list[str]:
        bad, asserted = self.known.checked(text)
        bad = [b for b in bad if not (b.startswith("name ") and b[5:].casefold() in self.types_folded)]
        bad += [f"stage {s} (no subgraph's report shows it)" for s in asserted if s not in self.stages]
        return list(dict.fromkeys(bad))


def _distinct_fields(report: Report) -> dict[str, list]:
    """What the story's vocabulary reads of a report's log: each distinct description's
    sides, action and text, and each distinct minute, once (a million-row report is a few
    thousand descriptions), and no row ids (the story cites subgraphs, not rows)."""
    import numpy as np

    from ..preprocess.logtable import DESCRIPTION_FIELDS, LogTable

    log = report.log
    if isinstance(log, LogTable):
        used = np.unique(log.description_codes).tolist() if len(log) else []
        fields = {name: [log.descriptions[name][code] for code in used] for name in DESCRIPTION_FIELDS}
        minutes = [log.minute_texts[code] for code in np.unique(log.minute_codes).tolist()] if len(log) else []
    else:  # a plain list of entries (a Report built by hand)
        distinct = list(dict.fromkeys(tuple(getattr(entry, name) for name in DESCRIPTION_FIELDS) for entry in log))
        fields = {name: [row[i] for row in distinct] for i, name in enumerate(DESCRIPTION_FIELDS)}
        minutes = list(dict.fromkeys(entry.minute for entry in log))
    return {**fields, "minute": minutes, "id": []}


def story_request(story: Story, reports: list[tuple[str, Report]], settings: LLMSettings) -> ChatRequest:
    """The story's request, fitted to ``settings.token_budget``: the whole results when they
    fit (the request as it always was); else each subgraph's reasons clipped, fewer minutes
    and IoCs, the story's IoC list cut, then subgraphs without a stage only counted, each
    cut said in the data. ``BudgetError`` when even the last level does not fit."""
    from ..llm.validate import request_tokens

    budget = getattr(settings, "token_budget", None)
    for limits in _LEVELS if budget is not None else _LEVELS[:1]:
        request = ChatRequest.for_settings(settings, render_story_messages(story, reports, settings, limits), SCHEMA_NAME, story_schema())
        if budget is None:
            return request
        tokens = request_tokens(request)
        if tokens <= budget:
            return request
    raise BudgetError(
        f"the story's request needs {tokens} prompt tokens with every subgraph's results cut to the least; the budget is {budget}",
        hint="raise the token budget (APTNARRATE_TOKEN_BUDGET, --token-budget), or tell the story of fewer subgraphs",
    )


def render_story_messages(
    story: Story, reports: list[tuple[str, Report]], settings: LLMSettings, limits: _Limits = _LEVELS[0]
) -> tuple[tuple[str, str], ...]:
    from ..llm.prompt import data_line, fill, render_template

    def reason(text: str) -> str:
        if limits.rationale_chars is None or len(text) <= limits.rationale_chars:
            return text
        return text[: limits.rationale_chars].rstrip() + "..."

    def stage_entry(s):  # at the last level, the stage's name only
        if not limits.minutes:
            return s.stage
        entry = {"stage": s.stage, "confidence": s.confidence, "minutes": s.minutes[: limits.minutes]}
        if limits.rationale_chars != 0:
            entry["rationale"] = reason(s.rationale)
        return entry

    subgraphs, stageless = [], 0
    for name, report in reports:
        if not report.stages and not limits.stageless:
            stageless += 1
            continue
        stages_shown = [stage_entry(s) for s in report.stages]
        subgraphs.append(
            data_line(
                {
                    "subgraph": name,
                    "first_minute": report.log[0].minute if report.log else None,
                    "last_minute": report.log[-1].minute if report.log else None,
                    "stages": stages_shown,
                    "iocs": [{"ioc": i.value, "type": i.type, "likelihood": i.likelihood} for i in sorted(report.iocs, key=lambda i: i.rank)[: limits.iocs]],
                }
            )
        )
    if limits != _LEVELS[0]:  # the model is told what it does not see
        cut = f"each subgraph's stage reasons cut to {limits.rationale_chars} characters" if limits.rationale_chars else "stage reasons left out"
        shape = f"at most {limits.minutes} minute(s) per stage" if limits.minutes else "each subgraph's stages by name only"
        left = f"{cut}, {shape} and {limits.iocs} IoC(s) per subgraph"
        if stageless:
            left += f"; {stageless} subgraph(s) without a stage left out"
        subgraphs.append(data_line({"left_out": f"to fit the token budget: {left}"}))
    stages = [data_line({"stage": s.stage, "first_minute": s.first_minute, "last_minute": s.last_minute, "subgraphs": s.subgraphs}) for s in story.stages]
    shown_iocs = story.iocs if limits.story_iocs is None else story.iocs[: limits.story_iocs]
    iocs = [data_line({"ioc": i.value, "likelihood": i.likelihood, "subgraphs": i.subgraphs, "first_seen": i.first_seen, "last_seen": i.last_seen}) for i in shown_iocs]
    if len(shown_iocs) < len(story.iocs):
        iocs.append(data_line({"left_out": f"{len(story.iocs) - len(shown_iocs)} more IoC(s), to fit the token budget"}))
    if settings.mode == "json":
        output = "\n\n" + render_template("output_json.md", {"schema": story_schema()}).rstrip("\n")
    else:
        output = ""
    template = resources.files("aptnarrate.host").joinpath("story_prompt.md").read_text(encoding="utf-8")
    text = fill(
        template,
        {"stages": ", ".join(APT_STAGES), "subgraphs": "\n".join(subgraphs), "story_stages": "\n".join(stages), "iocs": "\n".join(iocs), "output": output,
         "context": _context_text(story.context, settings)},
        "story_prompt.md",
    )
    system = render_template("system.md").split("\n")[0]  # one line of role; the rules are in the task
    return (("system", system), ("user", text.rstrip("\n")))


STORY_CONTEXT = """Context from the host's wider log (untrusted data): rows of the host's whole event log around
the story's top IoCs, between {start} and {end}. First one line per IoC: its rows before,
during and after the subgraphs and the entities the subgraphs do not name (what the detector
missed); then rows with `id` (`C1`, ...), `minute`, `when`, `event` and `count`. You may use
the names, addresses and minutes these rows hold, and cite a row as `(C3)` in the text.

<<<DATA context
{rows}
DATA>>>

"""


def _context_text(context: ContextInfo | None, settings: LLMSettings) -> str:
    """The story's ``--context`` block, or "" (then the request is as before, byte for byte)."""
    if context is None or not context.rows:
        return ""
    from ..llm.prompt import data_line
    from ..llm.prompt_context import CONTEXT_SHARE, context_block
    from ..llm.tokens import counter

    budget = getattr(settings, "token_budget", None)
    block = context_block(context, counter(), None if budget is None else int(budget * CONTEXT_SHARE))
    rows = "\n".join(data_line(item) for item in block.items)
    return STORY_CONTEXT.format(start=context.window_start, end=context.window_end, rows=rows)


def check(answer: StoryNarration, reports: dict[str, Report], vocabulary: StoryVocabulary) -> list[DroppedClaim]:
    issues = []
    for claim in answer.stages:
        for subgraph in claim.subgraphs:
            report = reports.get(subgraph)
            if report is None:
                issues.append(DroppedClaim(kind="stage", item=f"{claim.stage}: {subgraph}", reason="no subgraph of this name"))
            elif claim.stage not in {s.stage for s in report.stages}:
                issues.append(DroppedClaim(kind="stage", item=f"{claim.stage}: {subgraph}", reason="that subgraph's report does not show this stage"))
        if not claim.subgraphs:
            issues.append(DroppedClaim(kind="stage", item=claim.stage, reason="cites no subgraph"))
    texts = [answer.summary, *answer.conclusions, *answer.next_steps, *(c.narrative for c in answer.stages)]
    for text in texts:
        for sentence in sentences(text):
            problems = vocabulary.mentions(sentence)
            if problems:
                issues.append(DroppedClaim(kind="summary", item=sentence[:200], reason=f"mentions {'; '.join(problems)}, absent from the reports"))
    return issues


def prune(answer: StoryNarration, reports: dict[str, Report], vocabulary: StoryVocabulary) -> StoryNarration:
    def clean(text: str) -> str:
        return " ".join(s for s in sentences(text) if not vocabulary.mentions(s))

    stages = []
    for claim in answer.stages:
        kept = [g for g in claim.subgraphs if g in reports and claim.stage in {s.stage for s in reports[g].stages}]
        if kept:
            stages.append(StoryStageClaim(stage=claim.stage, subgraphs=kept, narrative=clean(claim.narrative)))
    return StoryNarration(
        summary=clean(answer.summary),
        stages=stages,
        conclusions=[c for c in (clean(t) for t in answer.conclusions) if c],
        next_steps=[c for c in (clean(t) for t in answer.next_steps) if c],
    )


def degraded_story(story: Story, reason: str) -> Story:
    """The offline story, stamped with why the model's story failed (``--fallback offline``)."""
    stamp = f"Degraded story: the model's story failed ({reason}), so the offline narrator wrote it."
    metadata = story.metadata.model_copy(update={"narrator": "offline (fallback)", "notes": [*story.metadata.notes, f"fallback: {reason}"]})
    return story.model_copy(update={"summary": f"{stamp} {story.summary}", "metadata": metadata})


def story_transport(options, settings: LLMSettings):
    """The transport for the story's call under ``options`` (a ``NarrateOptions``): the
    model's (or replay's), recorded and cached as the per-subgraph calls are."""
    from pathlib import Path

    if options.backend == "replay":
        from ..backends.replay import ReplayTransport

        transport = ReplayTransport(Path(options.fixtures))
    else:
        from ..backends.openai import OpenAITransport

        transport = OpenAITransport(settings, response_model=StoryNarration)
    if options.record:
        from ..backends.replay import RecordingTransport

        transport = RecordingTransport(transport, Path(options.record))
    if options.cache:
        from .cache import CachingTransport, RequestCache

        transport = CachingTransport(transport, RequestCache.from_environment(), settings)
    return transport


def narrate_story(story: Story, reports: list[tuple[str, Report]], transport: ChatTransport, settings: LLMSettings) -> Story:
    """``story`` with its narrative written by the model, grounded; raises ``BackendError``
    or ``ValidationFailed`` like the per-subgraph call."""
    from ..llm.validate import ask_until_valid

    by_name = dict(reports)
    vocabulary = StoryVocabulary(reports, story.context)
    request = story_request(story, reports, settings)

    def judge(content: str | None):
        answer = StoryNarration.model_validate_json(content or "")  # unfenced by ask_until_valid
        issues = check(answer, by_name, vocabulary)
        return answer, issues, [f"{i.kind} {i.item!r}: {i.reason}" for i in issues]

    exchange = ask_until_valid(transport, request, settings.max_reasks, judge, budget=getattr(settings, "token_budget", None))
    answer: StoryNarration | None = exchange.answer
    issues: list[DroppedClaim] = exchange.issues
    tally = exchange.tally
    calls = tally.calls
    if answer is None:
        raise exchange.schema_failure("story")
    if issues:
        answer = prune(answer, by_name, vocabulary)
    narratives = {c.stage: c.narrative for c in answer.stages}
    stages = [s.model_copy(update={"narrative": narratives.get(s.stage)}) for s in story.stages]
    usage = Usage(
        calls=calls, prompt_tokens=tally.prompt_tokens, completion_tokens=tally.completion_tokens,
        latency_s=round(tally.latency_s, 3), transport_retries=tally.transport_retries, reasks=tally.reasks,
    )  # fmt: skip
    metadata = story.metadata.model_copy(
        update={"narrator": transport.name, "model": tally.model or settings.model, "usage": usage, "dropped": list(issues), "notes": [*story.metadata.notes, *exchange.notes, f"model answered in {calls} call(s)"]}
    )
    return story.model_copy(
        update={
            "summary": answer.summary or story.summary,
            "stages": stages,
            "conclusions": answer.conclusions or story.conclusions,
            "next_steps": answer.next_steps or story.next_steps,
            "metadata": metadata,
        }
    )
