"""Build the one chat request a model narrator sends for a subgraph.

Prompts are files in ``prompts/`` (package ``aptnarrate.prompts``) filled with
``string.Template``; a template variable that is not given, or a value given for no
variable, is an error. Everything taken from the input is serialised as JSON lines inside
``<<<DATA name`` ... ``DATA>>>`` fences. ``<`` and ``>`` are written as JSON escapes
(``\\u003c``, ``\\u003e``) and line breaks are escaped, so a name in the log can neither
close a fence nor start a line of its own.

The prompt is counted before it is sent; over ``settings.token_budget`` the timeline is
compressed step by step (see ``compress``), then details of candidates outside the IoC
table are trimmed, and if even that does not fit, ``BudgetError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from .chat import ChatRequest
from .compress import STEPS, compact_ids, entries_at, minute_span
from .errors import BudgetError, ConfigError
from .models import APT_STAGES, Candidate, Narration
from .tokens import counter

if TYPE_CHECKING:  # pragma: no cover
    from .compress import Entry
    from .config import LLMSettings
    from .facts import Facts

SCHEMA_NAME = "narration"
TRIM_STEP = "trim-candidates"
ALL_STEPS = (*STEPS, TRIM_STEP)
# characters a reader may take as a line break; JSON leaves them raw with ensure_ascii=False
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


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
    for raw, escaped in _LINE_BREAKS.items():
        text = text.replace(raw, escaped)
    return text


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
    minutes = log["minute"].to_numpy()
    from .condense import minute_text

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


def context_blocks(facts: Facts) -> dict[str, str]:
    """The prompt-v2 data blocks (see ``prompt_context``), as JSON lines."""
    from .prompt_context import blocks

    return {name: "\n".join(data_line(item) for item in items) for name, items in blocks(facts).items()}


def render_messages(facts: Facts, settings: LLMSettings, level: int) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """System and task messages with the first ``level`` of ``ALL_STEPS`` applied."""
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
            "overview": overview_line(facts, ALL_STEPS[:level]),
            "timeline": "\n".join(timeline_lines(entries)),
            "candidates": "\n".join(candidate_line(c, trimmed=trim and not c.in_table) for c in facts.candidates),
            "output": output.rstrip("\n"),
            **context_blocks(facts),  # prompt v2: host, glossary, aliases, knowledge, hypotheses
        },
    )
    return (("system", render_template("system.md").rstrip("\n")), ("user", task.rstrip("\n"))), notes


def build_request(facts: Facts, settings: LLMSettings) -> PromptBuild:
    """The request for ``facts``, compressed until it fits ``settings.token_budget``."""
    count = counter()
    schema = narration_schema()
    # in structured mode the schema travels as response_format and costs prompt tokens too
    schema_tokens = count.count(schema) if settings.mode == "structured" else 0
    budget = getattr(settings, "token_budget", None)
    sizes: list[int] = []
    for level in range(len(ALL_STEPS) + 1):
        messages, notes = render_messages(facts, settings, level)
        tokens = count.count_messages(messages) + schema_tokens
        sizes.append(tokens)
        if budget is None or tokens <= budget:
            break
    else:
        raise BudgetError(
            f"the prompt needs {tokens} tokens ({count.method}) even with every compression step "
            f"({', '.join(ALL_STEPS)}); the budget is {budget}",
            hint=f"raise the token budget (APTNARRATE_TOKEN_BUDGET) to at least {tokens}, or use the offline backend",
        )
    request = ChatRequest(
        messages=messages,
        model=settings.model,
        temperature=settings.temperature,
        seed=settings.seed,
        mode=settings.mode,  # type: ignore[arg-type]
        schema_name=SCHEMA_NAME,
        schema=schema,
    )
    summary = f"prompt tokens: {tokens} ({count.method})"
    if budget is not None:
        summary += f", budget {budget}"
    if level:
        summary += f"; full prompt was {sizes[0]}, compressed in {level} step(s)"
    return PromptBuild(
        request=request,
        tokens=tokens,
        token_method=count.method,
        budget=budget,
        steps=ALL_STEPS[:level],
        notes=[summary, *notes],
    )
