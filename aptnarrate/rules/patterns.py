"""Pattern rules as data: a small engine over YAML files in the spirit of Sigma and capa.

A rule matches single log rows (a distinct subject, action, object). ``match`` is a list of
selections, any of which may match; a selection is a mapping of fields, all of which must
match; ``filter`` selections remove rows. Fields:

* ``event`` (classes from ``events.yaml``), ``action``, ``subject``, ``object``,
  ``subject_kind``, ``object_kind``, ``object_path`` (any full value behind the object),
  ``subject_category`` / ``object_category`` (the knowledge base's category for the name);
* optional modifiers after ``|``: ``contains``, ``startswith``, ``endswith``, ``re``
  (default: equal); all comparisons ignore case;
* ``object_is_subject: true|false``: whether the object has the subject's own name.

The engine names no technique, dataset or host: the rule files do. Names from the log are
only compared; a ``re`` pattern comes from the rule file, never from the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import UsageError
from ..preprocess.knowledge import lookup
from ..models import Stage
from .events import event_class

FIELDS = ("event", "action", "subject", "object", "subject_kind", "object_kind", "object_path", "subject_category", "object_category")
MODIFIERS = ("equals", "contains", "startswith", "endswith", "re")
_MAX_VALUE = 4096  # names longer than this are compared only by their first 4 KiB


class RuleFileError(UsageError):
    """A rule file is malformed; the message names the file, the rule and the field."""


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = ""
    action: str
    object_kind: str = "file"
    object: str = ""
    subject_kind: str = "process"
    object_path: str = ""


class Examples(BaseModel):
    model_config = ConfigDict(extra="forbid")
    positive: list[Example] = Field(min_length=1)
    negative: list[Example] = Field(min_length=1)


class PatternRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    stage: Stage | None
    tactic: str = Field(pattern=r"^TA\d{4}$")
    techniques: list[str] = Field(min_length=1)
    confidence: Literal["low", "moderate", "high"]
    explanation: str
    benign: str = ""
    match: list[dict[str, Any]] = Field(min_length=1)
    filter: list[dict[str, Any]] = Field(default_factory=list)
    examples: Examples

    @field_validator("techniques")
    @classmethod
    def _technique_ids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"T\d{4}(\.\d{3})?", item):
                raise ValueError(f"{item!r} is not an ATT&CK technique id such as T1059 or T1059.001")
        return value

    @field_validator("match", "filter")
    @classmethod
    def _selections(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for selection in value:
            if not isinstance(selection, dict) or not selection:
                raise ValueError("each selection must be a non-empty mapping of fields")
            for key, expected in selection.items():
                if key == "object_is_subject":
                    if not isinstance(expected, bool):
                        raise ValueError("object_is_subject must be true or false")
                    continue
                name, _, modifier = key.partition("|")
                if name not in FIELDS:
                    raise ValueError(f"unknown field {name!r}; expected one of {', '.join(FIELDS)}")
                if modifier and modifier not in MODIFIERS:
                    raise ValueError(f"unknown modifier {modifier!r} on {name!r}; expected one of {', '.join(MODIFIERS)}")
                values = expected if isinstance(expected, list) else [expected]
                if modifier == "re":
                    for pattern in values:
                        re.compile(str(pattern))
        return value


@dataclass(frozen=True)
class Row:
    """One distinct log event as the rules see it."""

    subject: str
    action: str
    object: str
    subject_kind: str = "process"
    object_kind: str = "file"
    object_paths: tuple[str, ...] = ()

    @property
    def event(self) -> str:
        return event_class(self.action, self.object_kind)


def _values(row: Row, name: str) -> list[str]:
    if name == "event":
        return [row.event]
    if name == "object_path":
        return list(row.object_paths)
    if name == "subject_category":
        entry = lookup(row.subject, "process") if row.subject else None
        return [entry.category] if entry else []
    if name == "object_category":
        kind = {"process": "process", "module": "module", "registry": "registry"}.get(row.object_kind, "file")
        entry = lookup(row.object, kind) if row.object else None
        return [entry.category] if entry else []
    return [getattr(row, name)]


def _field_matches(actual: list[str], modifier: str, expected: list[str]) -> bool:
    for value in actual:
        text = str(value)[:_MAX_VALUE].casefold()
        for want in expected:
            pattern = str(want)
            if modifier == "re":
                if re.search(pattern, str(value)[:_MAX_VALUE]):
                    return True
                continue
            want_text = pattern.casefold()
            if (
                (modifier in ("", "equals") and text == want_text)
                or (modifier == "contains" and want_text in text)
                or (modifier == "startswith" and text.startswith(want_text))
                or (modifier == "endswith" and text.endswith(want_text))
            ):
                return True
    return False


def _selection_matches(selection: dict[str, Any], row: Row) -> bool:
    for key, expected in selection.items():
        if key == "object_is_subject":
            if (row.object.casefold() == row.subject.casefold() and bool(row.object)) != expected:
                return False
            continue
        name, _, modifier = key.partition("|")
        values = expected if isinstance(expected, list) else [expected]
        if not _field_matches(_values(row, name), modifier, values):
            return False
    return True


@lru_cache(maxsize=65536)
def matching_rules(row: Row) -> tuple[PatternRule, ...]:
    """The built-in rules that match ``row`` (memoised: rows repeat across candidates)."""
    return tuple(rule for rule in builtin_rules() if rule_matches(rule, row))


def rule_matches(rule: PatternRule, row: Row) -> bool:
    if not any(_selection_matches(s, row) for s in rule.match):
        return False
    return not any(_selection_matches(s, row) for s in rule.filter)


def example_row(example: Example) -> Row:
    paths = (example.object_path,) if example.object_path else ((example.object,) if example.object else ())
    return Row(example.subject, example.action.upper(), example.object, example.subject_kind, example.object_kind, paths)


# --------------------------------------------------------------------------- loading


def parse_rule_file(text: str, source: str) -> list[PatternRule]:
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{source}: not valid YAML: {exc}") from None
    items = raw.get("rules") if isinstance(raw, dict) and "rules" in raw else [raw]
    if not isinstance(items, list):
        raise RuleFileError(f"{source}: 'rules' must be a list of rules")
    rules = []
    for number, item in enumerate(items, start=1):
        label = item.get("id", f"rule {number}") if isinstance(item, dict) else f"rule {number}"
        try:
            rule = PatternRule.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(rule)"
            raise RuleFileError(f"{source}: rule {label!r}, field {field}: {first['msg']}") from None
        rules.append(rule)
    return rules


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[PatternRule, ...]:
    folder = resources.files("aptnarrate.data").joinpath("rules")
    rules: list[PatternRule] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            rules.extend(parse_rule_file(entry.read_text(encoding="utf-8"), f"aptnarrate/data/rules/{entry.name}"))
    _check_unique(rules)
    return tuple(rules)


def load_rules(extra_dirs: Iterable[str | Path] = ()) -> tuple[PatternRule, ...]:
    """The built-in rules plus every ``*.yaml`` in ``extra_dirs``."""
    rules = list(builtin_rules())
    for folder in extra_dirs:
        for path in sorted(Path(folder).glob("*.y*ml")):
            rules.extend(parse_rule_file(path.read_text(encoding="utf-8"), str(path)))
    _check_unique(rules)
    return tuple(rules)


def _check_unique(rules: list[PatternRule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleFileError(f"rule id {rule.id!r} is defined twice")
        seen.add(rule.id)
