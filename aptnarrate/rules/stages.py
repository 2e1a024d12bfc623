"""Stage findings: the pattern rules (data) and the structural rules (code) run over one
subgraph's condensed log, merged into at most one finding per APT stage.

Each rule returns a :class:`StageEvidence` (supporting log ids, a confidence, a reason in
words, the ATT&CK tactic and techniques) or nothing. No stage is claimed without log rows
behind it; an empty result ("no stage supported by the evidence") is a valid answer.
Benign mechanisms (``data/benign.yaml``) that explain a subgraph suppress the stages they
list. Names from the log are only compared with names from the data files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from ..preprocess.condense import minute_text
from ..models import APT_STAGES, LEVELS
from .benign import explaining
from .events import event_class
from .patterns import Row, builtin_rules, matching_rules

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts



@dataclass(frozen=True)
class StageEvidence:
    stage: str
    confidence: str
    evidence: tuple[str, ...]
    rationale: str
    tactic: str | None = None
    techniques: tuple[str, ...] = field(default_factory=tuple)


def log_rows(timeline) -> pd.DataFrame:
    """The condensed log joined with its descriptions and each row's event class."""
    log = timeline.log
    codes = log["description"].to_numpy()
    descriptions = timeline.descriptions
    # Python strings, not Arrow-backed ones: the rules iterate over these columns, and an
    # Arrow string column hands out its values one slow call at a time
    text_columns = [c for c in descriptions.columns if pd.api.types.is_string_dtype(descriptions[c])]
    desc = descriptions.astype({c: object for c in text_columns}).iloc[codes].reset_index(drop=True)
    head = log[["id", "minute", "count", "description"]].reset_index(drop=True)
    if pd.api.types.is_string_dtype(head["id"]):
        head = head.astype({"id": object})
    rows = pd.concat([head, desc], axis=1)
    rows["minute_text"] = minute_text(rows["minute"].to_numpy())
    events = [event_class(a, k) for a, k in zip(timeline.descriptions["action"], timeline.descriptions["object_kind"])]
    rows["event"] = np.array(events, dtype=object)[codes] if len(codes) else np.array([], dtype=object)
    return rows


class LogView:
    """The log joined with its descriptions and event classes, plus per-name lookups."""

    def __init__(self, facts: Facts) -> None:
        timeline = facts.timeline
        self.rows = log_rows(timeline)
        self.descriptions = timeline.descriptions
        self._codes = timeline.log["description"].to_numpy()
        self.facts = facts
        self.candidates = {c.value: c for c in facts.candidates}
        self._records = self.descriptions.to_dict("records")  # plain dicts: iterrows is slow
        self._sweeps = None
        self.pattern_rows = [self._row(r) for r in self._records]

    @property
    def sweeps(self) -> list[dict]:
        if self._sweeps is None:
            from .structural import sweeps

            self._sweeps = sweeps(self.rows)
        return self._sweeps

    def _row(self, record: dict) -> Row:
        paths = tuple(self.values_of(record["object_kind"], record["object_name"])) or (
            (record["object_name"],) if record["object_name"] else ()
        )
        return Row(record["subject_name"], record["action"], record["object_name"], record["subject_kind"], record["object_kind"], paths)

    def per_description(self, test: Callable[[dict], bool]) -> pd.Series:
        """A row mask from a test run once per distinct description (not per log row)."""
        flags = np.array([bool(test(row)) for row in self._records], dtype=bool)
        return pd.Series(flags[self._codes] if len(flags) else np.zeros(len(self.rows), bool), index=self.rows.index)

    def per_pattern_row(self, test: Callable[[Row], bool], where: np.ndarray | None = None) -> pd.Series:
        """A row mask from a test run once per distinct description. ``where``: a row mask;
        only the descriptions under it are tested (a rule that needs the test for a few
        rows does not pay for every description), and rows outside it read False."""
        if where is None:
            flags = np.array([bool(test(row)) for row in self.pattern_rows], dtype=bool)
        else:
            flags = np.zeros(len(self.pattern_rows), dtype=bool)
            for code in np.unique(self._codes[where]).tolist():
                flags[code] = bool(test(self.pattern_rows[code]))
        mask = flags[self._codes] if len(flags) else np.zeros(len(self.rows), bool)
        return pd.Series(mask if where is None else mask & where, index=self.rows.index)

    def object_test(self, test: Callable[[str], bool]) -> pd.Series:
        return self.per_description(lambda d: bool(d["object_name"]) and test(d["object_name"]))

    def values_of(self, kind: str, name: str) -> list[str]:
        cand = self.candidates.get(name)
        return cand.full_values if cand else []

    def address_class(self, name: str) -> str:
        return self.facts.address_class(name)[0]


def _merge(items: list[StageEvidence], order: dict[str, int]) -> StageEvidence:
    """One finding per stage: the union of evidence, the strongest confidence, every reason."""
    if len(items) == 1:
        return items[0]
    evidence = sorted({e for item in items for e in item.evidence}, key=lambda e: order.get(e, 0))
    confidence = max((item.confidence for item in items), key=LEVELS.index)
    techniques = tuple(dict.fromkeys(t for item in items for t in item.techniques))
    rationale = " ".join(dict.fromkeys(item.rationale for item in items))
    return StageEvidence(items[0].stage, confidence, tuple(evidence), rationale, items[0].tactic, techniques)


def pattern_findings(view: LogView) -> list[StageEvidence]:
    rows = view.rows
    found = []
    for rule in builtin_rules():
        if rule.stage is None:
            continue
        hits = view.per_pattern_row(lambda r, rule=rule: rule in matching_rules(r))
        if not hits.any():
            continue
        names = _names(set(rows.loc[hits, "object_name"]) | set(rows.loc[hits, "subject_name"]))
        reason = f"{rule.title}: {rule.explanation}" + (f" ({names})." if names else ".")
        found.append(
            StageEvidence(rule.stage, rule.confidence, tuple(rows.loc[hits, "id"]), reason, rule.tactic, tuple(rule.techniques))
        )
    return found


def find_stages(facts: Facts) -> list[StageEvidence]:
    """The stage findings of one subgraph (computed once per Facts and reused)."""
    return list(facts.derived("_stage_findings", lambda: tuple(_find_stages(facts))))


def _find_stages(facts: Facts) -> list[StageEvidence]:
    from . import structural

    view = LogView(facts)
    found = pattern_findings(view) + [item for rule in structural.RULES for item in rule(view)]
    found = [item for item in found if item.evidence]
    suppressed = {stage for mechanism in explaining(view.pattern_rows) for stage in mechanism.suppresses}
    order = {log_id: i for i, log_id in enumerate(view.rows["id"])}
    by_stage: dict[str, list[StageEvidence]] = {}
    for item in found:
        if item.stage in suppressed and item.confidence != "high":
            continue
        by_stage.setdefault(item.stage, []).append(item)
    merged = [_merge(items, order) for items in by_stage.values()]
    return sorted(
        (
            StageEvidence(m.stage, m.confidence, m.evidence, m.rationale, m.tactic or default_tactic(m.stage), m.techniques)
            for m in merged
        ),
        key=lambda m: APT_STAGES.index(m.stage),
    )


def _names(values) -> str:
    names = sorted({str(v) for v in values if v})
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def default_tactic(stage: str) -> str:
    """The ATT&CK tactic id an APT stage stands for when a finding carries none of its own
    (from ``data/attack.json``, the one stage-to-tactic table)."""
    from .attack import stage_tactics

    return stage_tactics()[stage].id
