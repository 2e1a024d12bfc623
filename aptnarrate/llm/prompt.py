"""Build the one chat request a model narrator sends for a subgraph.

Prompts are files in ``prompts/`` (package ``aptnarrate.prompts``) filled with
``string.Template``; a template variable that is not given, or a value given for no
variable, is an error. Everything taken from the input is serialised as JSON lines inside
``<<<DATA name`` ... ``DATA>>>`` fences. ``<`` and ``>`` are written as JSON escapes
(``\\u003c``, ``\\u003e``) and line breaks and invisible characters (zero-width, bidi
controls) are escaped, so a name in the log can neither close a fence, start a line of its
own, nor hide or reorder what the model reads.

The prompt is counted before it is sent. A small log (``STEPWISE_MAX_ROWS``) over
``settings.token_budget`` is compressed step by step (see ``compress``), then details of
candidates outside the IoC table are trimmed. A larger log, or one the steps cannot fit,
is selected instead of compressed (``select-rows``): the rows and candidates are chosen
before anything is rendered, so the time is bounded for any input size. ``BudgetError``
only when the instructions and the IoC-table candidates alone exceed the budget.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from .chat import ChatRequest
from .compress import (
    OTHER_CANDIDATES_SHOWN,
    SELECT_STEP,
    STEPS,
    STEPWISE_MAX_ROWS,
    TIERS,
    compact_ids,
    entries_at,
    event_tokens,
    left_out_lines,
    minute_span,
    row_overhead,
    row_tiers,
    select_rows,
)
from ..preprocess.condense import minute_text
from ..errors import BudgetError, ConfigError
from ..models import APT_STAGES, Candidate, Narration
from ..render.escape import INVISIBLE_CLASS
from .prompt_context import COMPACT, FULL, MINIMAL, BlockLimits
from .tokens import counter

if TYPE_CHECKING:  # pragma: no cover
    from .compress import Entry
    from .config import LLMSettings
    from ..models import ContextInfo
    from ..preprocess.facts import Facts

SCHEMA_NAME = "narration"
PROMPT_VERSION = "v2"  # requests without --context: recorded fixtures replay them byte for byte
PROMPT_VERSION_CONTEXT = "v3"  # requests with a context block (prompts/context.md)
TRIM_STEP = "trim-candidates"
ALL_STEPS = (*STEPS, TRIM_STEP)
# characters JSON leaves raw with ensure_ascii=False that a reader may take as a line break
# or that hide or reorder text (zero-width, bidi controls, C1 controls): written as \uXXXX
_INVISIBLE = re.compile(f"[{INVISIBLE_CLASS}]")


class PromptTemplateError(ConfigError):
    """A prompt template and the variables given to it do not match."""


@dataclass(frozen=True)
class PromptBuild:
    request: ChatRequest
    tokens: int  # messages, plus the schema in structured mode
    token_method: str
    budget: int | None
    steps: tuple[str, ...] = ()  # compression steps applied, in order
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- templates


def load_template(name: str) -> str:
    try:
        return resources.files("aptnarrate.prompts").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptTemplateError(f"prompt template {name!r} not found in aptnarrate.prompts") from None


def fill(text: str, variables: Mapping[str, str], name: str = "<template>") -> str:
    """``text`` with its ``$variables`` replaced; missing or unused variables are errors."""
    template = Template(text)
    if not template.is_valid():
        raise PromptTemplateError(f"prompt template {name} has an invalid placeholder (write $$ for a literal $)")
    wanted = set(template.get_identifiers())
    missing = sorted(wanted - set(variables))
    if missing:
        raise PromptTemplateError(f"prompt template {name} needs variable(s) not given: {', '.join('$' + m for m in missing)}")
    unused = sorted(set(variables) - wanted)
    if unused:
        raise PromptTemplateError(f"variable(s) given but not used by prompt template {name}: {', '.join('$' + u for u in unused)}")
    return template.substitute(variables)


def render_template(name: str, variables: Mapping[str, str] | None = None) -> str:
    return fill(load_template(name), variables or {}, name)


# --------------------------------------------------------------------------- data blocks


def data_line(value: object) -> str:
    """One JSON line that cannot close a ``DATA>>>`` fence or break into two lines."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e")
    return _INVISIBLE.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    point = ord(match.group(0))
    if point > 0xFFFF:  # JSON writes astral characters as a surrogate pair
        point -= 0x10000
        return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"
    return f"\\u{point:04x}"


@lru_cache(maxsize=1)
def narration_schema() -> str:
    """The strict JSON schema of ``Narration`` (as OpenAI's SDK sends it), serialised canonically."""
    from openai.lib._pydantic import to_strict_json_schema

    return json.dumps(to_strict_json_schema(Narration), sort_keys=True, separators=(",", ":"))


def timeline_lines(entries: list[Entry]) -> list[str]:
    lines = []
    for entry in entries:
        ident = {"id": entry.ids[0]} if len(entry.ids) == 1 else {"ids": compact_ids(entry.ids)}
        lines.append(data_line({**ident, "minute": minute_span(entry), "event": entry.event, "count": entry.count}))
    return lines


def candidate_line(candidate: Candidate, trimmed: bool = False) -> str:
    item: dict[str, object] = {
        "ioc": candidate.value,
        "type": candidate.type,
        "rank": candidate.rank,
        "in_table": candidate.in_table,
    }
    if not trimmed:
        item.update(
            rule_likelihood=candidate.likelihood,
            features=candidate.features,
            reasons=candidate.reasons,
            actions=candidate.actions,
        )
    item.update(evidence=compact_ids(candidate.evidence), first_seen=candidate.first_seen, last_seen=candidate.last_seen)
    return data_line(item)


def overview_line(facts: Facts, steps: tuple[str, ...]) -> str:
    timeline = facts.timeline
    log = timeline.log
    minutes = log["minute"]
    from ..preprocess.condense import minute_text

    first, last = minute_text([minutes.min(), minutes.max()]) if len(log) else ("", "")
    return data_line(
        {
            "events": int(len(timeline.table.events)),
            "log_rows": int(len(log)),
            "first_minute": first,
            "last_minute": last,
            "timezone": timeline.table.timezone,
            "internal_networks": [str(n) for n in getattr(facts, "internal_networks", ())],
            "candidates": len(facts.candidates),
            "timeline_compression": list(steps) or "none",
        }
    )


# --------------------------------------------------------------------------- request


def context_blocks(facts: Facts, limits: BlockLimits = FULL) -> dict[str, str]:
    """The prompt-v2 data blocks (see ``prompt_context``), as JSON lines."""
    from .prompt_context import blocks

    return {name: "\n".join(data_line(item) for item in items) for name, items in blocks(facts, limits).items()}


@dataclass(frozen=True)
class Selected:
    """A prompt decided before rendering (``select-rows``): its data lines, ready made."""

    timeline: list[str]
    candidates: list[str]
    steps: tuple[str, ...] = (SELECT_STEP,)
    context: BlockLimits = FULL  # COMPACT (then MINIMAL) when the IoC-table candidates nearly fill the budget


def render_messages(
    facts: Facts, settings: LLMSettings, level: int, selected: Selected | None = None, context_text: str = ""
) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """System and task messages with the first ``level`` of ``ALL_STEPS`` applied, or with
    the rows and candidates of ``selected``. ``context_text``: the rendered ``--context``
    block (``context_prompt``), or "" for none: then the task is byte for byte prompt v2."""
    notes: list[str] = []
    trim = False
    if selected is None:
        entries, notes = entries_at(facts, min(level, len(STEPS)))
        trim = level > len(STEPS)
    if trim:
        trimmed = sum(1 for c in facts.candidates if not c.in_table)
        notes.append(f"{TRIM_STEP}: features and reasons of {trimmed} candidates outside the IoC table left out")
    if settings.mode == "json":
        output = render_template("output_json.md", {"schema": narration_schema()})
    else:
        output = render_template("output_structured.md")
    task = render_template(
        "task.md",
        {
            "stages": ", ".join(APT_STAGES),
            "overview": overview_line(facts, ALL_STEPS[:level] if selected is None else selected.steps),
            "timeline": "\n".join(timeline_lines(entries) if selected is None else selected.timeline),
            "candidates": "\n".join(
                (candidate_line(c, trimmed=trim and not c.in_table) for c in facts.candidates)
                if selected is None
                else selected.candidates
            ),
            "output": output.rstrip("\n"),
            # prompt v2: host, glossary, aliases, knowledge, hypotheses
            **context_blocks(facts, FULL if selected is None else selected.context),
            "context": context_text,  # prompt v3: the host's wider log around the top IoCs
        },
    )
    return (("system", render_template("system.md").rstrip("\n")), ("user", task.rstrip("\n"))), notes


def context_prompt(context: ContextInfo, count, budget: int | None) -> tuple[str, list[str]]:
    """The ``--context`` block (prompt v3) for a request of ``budget`` tokens: its rows get
    at most ``CONTEXT_SHARE`` of the budget and the rest are counted; and its notes."""
    from .prompt_context import CONTEXT_SHARE, context_block

    block = context_block(context, count, None if budget is None else int(budget * CONTEXT_SHARE))
    text = render_template(
        "context.md",
        {
            "window_start": context.window_start,
            "window_end": context.window_end,
            "rows": "\n".join(data_line(item) for item in block.items),
        },
    )
    notes = [f"prompt {PROMPT_VERSION_CONTEXT}: {len(block.shown)} context row(s) in the request", *block.notes]
    return text, notes


def build_request(facts: Facts, settings: LLMSettings, context: ContextInfo | None = None) -> PromptBuild:
    """The request for ``facts``, compressed until it fits ``settings.token_budget``. With
    ``context`` (rows of the host's wider log, ``C1``...), the request is prompt v3: the
    context block takes its share of the budget first and the rest is fitted as before."""
    count = counter()
    schema = narration_schema()
    # in structured mode the schema travels as response_format and costs prompt tokens too
    schema_tokens = count.count(schema) if settings.mode == "structured" else 0
    budget = getattr(settings, "token_budget", None)
    context_text, context_notes = context_prompt(context, count, budget) if context is not None and context.rows else ("", [])
    sizes: list[int] = []
    steps: tuple[str, ...] = ()
    fitted = False
    if budget is None or (
        len(facts.timeline.log) <= STEPWISE_MAX_ROWS and estimated_timeline_tokens(facts, count) <= 8 * budget
    ):
        # small logs: render everything, then compress step by step until it fits
        for level in range(len(ALL_STEPS) + 1):
            messages, notes = render_messages(facts, settings, level, context_text=context_text)
            tokens = count.count_messages(messages) + schema_tokens
            sizes.append(tokens)
            if budget is None or tokens <= budget:
                fitted, steps = True, ALL_STEPS[:level]
                break
    if not fitted:
        # large logs (or steps that were not enough): decide the rows, render only those
        messages, notes, tokens, steps, full = _selected_messages(facts, settings, count, schema_tokens, budget, context_text)
        sizes = [sizes[0] if sizes else full]
    request = ChatRequest.for_settings(settings, messages, SCHEMA_NAME, schema)
    summary = f"prompt tokens: {tokens} ({count.method})"
    if budget is not None:
        summary += f", budget {budget}"
    if steps:
        summary += f"; full prompt was {sizes[0]}, compressed in {len(steps)} step(s)"
    return PromptBuild(
        request=request,
        tokens=tokens,
        token_method=count.method,
        budget=budget,
        steps=steps,
        notes=[summary, *notes, *context_notes],
    )


def estimated_timeline_tokens(facts: Facts, count) -> int:
    """The whole timeline's tokens, from per-description costs (no rendering)."""
    import numpy as np

    texts = facts.timeline.descriptions["text"].tolist()
    n_rows = len(facts.timeline.log)
    if not texts:
        return 0
    per_desc = np.asarray(event_tokens(texts, count), dtype=np.int64)
    return int(per_desc[facts.timeline.log["description"]].sum()) + n_rows * row_overhead(count, n_rows)


def _limited_candidate_line(candidate: Candidate, detail: str) -> str:
    """A candidate line for ``select-rows``, at ``detail`` "full" (features, reasons,
    actions), "trimmed" or "minimal" (value, type, rank). Evidence is bounded: its first
    and last log rows and how many rows cite it (a process can be behind 100,000 rows)."""
    item: dict[str, object] = {"ioc": candidate.value, "type": candidate.type, "rank": candidate.rank, "in_table": candidate.in_table}
    if detail == "minimal":
        return data_line(item)
    if detail == "full":
        item.update(rule_likelihood=candidate.likelihood, features=candidate.features, reasons=candidate.reasons, actions=candidate.actions)
    evidence = list(candidate.evidence)
    shown = evidence if len(evidence) <= 2 else [evidence[0], evidence[-1]]
    item.update(evidence=compact_ids(shown), evidence_rows=len(evidence), first_seen=candidate.first_seen, last_seen=candidate.last_seen)
    return data_line(item)


# the share of the budget the timeline (rows, and the counts of the rows left out) keeps
# when the candidate block must shrink to make room for it
TIMELINE_FLOOR = 0.05


def _selected_messages(facts: Facts, settings: LLMSettings, count, schema_tokens: int, budget: int, context_text: str = ""):
    """The ``select-rows`` prompt: every IoC-table candidate, the best-ranked others up to
    ``OTHER_CANDIDATES_SHOWN``, and the log rows ``compress.select_rows`` picks for what
    the budget leaves, with counts of everything left out. Rendered once or a few times
    (never the whole log); ``BudgetError`` only when the instructions and the IoC-table
    candidates (with their first and last sightings) do not fit."""

    table = [c for c in facts.candidates if c.in_table]
    others = [c for c in facts.candidates if not c.in_table]
    shown_others = others[:OTHER_CANDIDATES_SHOWN]
    n_rows = len(facts.timeline.log)
    # the whole prompt's size, estimated from per-description costs, for the notes
    texts = facts.timeline.descriptions["text"].tolist()
    full = estimated_timeline_tokens(facts, count)

    rendered: dict[tuple[int, str], str] = {}  # each candidate line rendered once per detail, not per attempt

    def line_of(position: int, candidate: Candidate, detail: str) -> str:
        key = (position, detail)
        if key not in rendered:
            rendered[key] = _limited_candidate_line(candidate, detail)
        return rendered[key]

    def candidate_lines(full: int, trimmed: int, others_shown, compact: bool = False) -> list[str]:
        detailed = table if not compact else table[: full + trimmed]
        lines = [
            line_of(i, c, "full" if i < full else "trimmed" if i < full + trimmed else "minimal")
            for i, c in enumerate(detailed)
        ]
        if compact:  # the rest of the table as bare values, grouped by type, in rank order
            rest = table[len(detailed) :]
            by_type: dict[str, list[str]] = {}
            for c in rest:
                by_type.setdefault(c.type, []).append(c.value)
            for ioc_type, values in by_type.items():
                for start in range(0, len(values), 50):
                    lines.append(data_line({"in_table_iocs": values[start : start + 50], "type": ioc_type}))
        lines += [line_of(len(table) + i, c, "trimmed") for i, c in enumerate(others_shown)]
        left = len(others) - len(others_shown)
        if left:
            lines.append(data_line({"left_out_candidates": left, "note": "lower-ranked candidates outside the IoC table are not shown (token budget)"}))
        if full + trimmed < len(table):
            lines.append(data_line({"note": f"IoC-table candidates ranked below {full + trimmed} are listed without details (token budget)"}))
        return lines

    # the richest candidate block that leaves at least 40 % of the budget for log rows,
    # else the smallest one that leaves the timeline its floor (IoC-table candidates are
    # never left out, only their details: best-ranked keep theirs longest); only when none
    # does, the context blocks in their compact form (their size then no longer grows with
    # the input); when not even those leave the floor, the smallest block that fits at all
    everyone = len(table)
    attempts = [
        (everyone, 0, shown_others, False, FULL), (everyone, 0, shown_others[:5], False, FULL),
        (everyone, 0, [], False, FULL), (10, everyone, [], False, FULL), (10, 20, [], False, FULL),
        (5, 0, [], False, FULL), (0, 0, [], False, FULL), (5, 0, [], True, FULL), (0, 0, [], True, FULL),
        (5, 0, [], True, COMPACT), (0, 0, [], True, COMPACT), (5, 0, [], True, MINIMAL), (0, 0, [], True, MINIMAL),
    ]  # fmt: skip
    fitting = None  # the last block that leaves the timeline its floor: the smallest
    squeezed = None  # the last that fits at all, for when none leaves the floor
    needed = "?"  # what the last (smallest) block tried needs, for the error: its tokens, or a floor of them
    for full_n, trimmed_n, others_shown, compact, context in attempts:
        if context is not FULL and fitting is not None:  # the richest context form that leaves the floor
            break
        cands = candidate_lines(full_n, trimmed_n, others_shown, compact)
        # exact counts add up over lines (see ``count_by_lines``), so the lines' own counts
        # are a floor of the whole prompt's: a block over the budget by them alone is passed
        # over unrendered (the richest blocks of a huge table, 90k tokens at 1M rows)
        if count.exact and (floor := sum(map(count.count_by_lines, cands))) >= budget:  # its parts counted once, for the render too
            needed = f"more than {floor}"  # every block over the budget by its lines alone (a tiny budget)
            continue
        base, _ = render_messages(facts, settings, 0, Selected(timeline=[], candidates=cands, context=context), context_text)
        base_tokens = count.count_messages(base) + schema_tokens
        needed = base_tokens
        attempt = (full_n, trimmed_n, others_shown, cands, base_tokens, context)
        if base_tokens < budget:
            squeezed = attempt
        if base_tokens <= budget * (1 - TIMELINE_FLOOR):
            fitting = attempt
        if base_tokens <= 0.6 * budget:
            break
    fitting = fitting or squeezed
    if fitting is None:
        raise BudgetError(
            f"the prompt needs {needed} tokens ({count.method}) for the instructions and the "
            f"{len(table)} IoC-table candidates alone; the budget is {budget}",
            hint=(
                f"raise the token budget (APTNARRATE_TOKEN_BUDGET) to at least {needed + 500}, or use the offline backend"
                if isinstance(needed, int)
                else "raise the token budget (APTNARRATE_TOKEN_BUDGET), or use the offline backend"
            ),
        )
    full_n, trimmed_n, others_shown, cands, base_tokens, context = fitting
    trim_table = full_n < len(table)
    remaining = budget - base_tokens
    reserve = min(max(remaining // 5, 0), 1500)  # for the counts of what is left out
    rows_budget = remaining - reserve - 16
    log = facts.timeline.log
    ids, minutes, descs, counts = log["id"], log["minute"], log["description"], log["count"]
    tiers = row_tiers(facts, [*table, *others_shown], count)
    for _ in range(6):
        selection = select_rows(facts, [*table, *others_shown], count, max(rows_budget, 0), tiers)
        positions = selection.positions
        minute_texts = minute_text(minutes[positions]) if len(positions) else []
        rows = [
            data_line({"id": ids[p], "minute": m, "event": texts[descs[p]], "count": int(counts[p])})
            for p, m in zip(positions.tolist(), minute_texts)
        ]
        rows += left_out_lines(facts, positions, reserve, count)
        selected = Selected(timeline=rows, candidates=cands, context=context)
        messages, _ = render_messages(facts, settings, 0, selected, context_text)
        tokens = count.count_messages(messages) + schema_tokens
        if tokens <= budget:
            break
        rows_budget -= (tokens - budget) + 32
    else:  # pragma: no cover - each round removes at least the overshoot
        raise BudgetError(f"the prompt needs {tokens} tokens ({count.method}); the budget is {budget}")
    notes = [
        f"{SELECT_STEP}: {len(positions)} of {n_rows} log rows shown (chosen before rendering: "
        + "; ".join(TIERS[:-1]) + "); the rows left out are counted per (subject, action, object kind) and per hour",
        *selection.notes,
    ]
    if len(others) > len(others_shown):
        notes.append(f"{SELECT_STEP}: {len(others) - len(others_shown)} lower-ranked candidates outside the IoC table left out")
    if trim_table:
        which = f"ranked below {full_n}" if full_n else "(all)"
        shape = "; the rest listed by value only, grouped by type" if len(fitting) and any(
            line.startswith('{"in_table_iocs"') for line in cands
        ) else ""
        notes.append(f"{TRIM_STEP}: features and reasons of IoC-table candidates {which} left out{shape}")
    if context is COMPACT:
        notes.append(
            f"{SELECT_STEP}: host, alias, knowledge and rule-hypothesis blocks in their compact form "
            "(fewer row references, rule reasons cut at a sentence end)"
        )
    elif context is MINIMAL:
        notes.append(
            f"{SELECT_STEP}: host, alias, knowledge and rule-hypothesis blocks in their minimal form "
            "(aliases and knowledge records counted only, two row references and the start of each rule reason)"
        )
    steps = (SELECT_STEP, TRIM_STEP) if trim_table else (SELECT_STEP,)
    return messages, notes, tokens, steps, full
