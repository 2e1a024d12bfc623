"""Pydantic models: what a narrator returns, the candidate IoCs we compute, and the Report.

Two families live here:

* ``Narration`` and its parts are what a narrator (the offline rules or an LLM) fills in.
  They must stay compatible with OpenAI strict structured outputs: every field required,
  no non-None defaults, no dict-typed fields, no open ``Any``.
* ``Candidate`` and ``Report`` are ours: computed from the input, never written by a model.
  ``Report`` is the contract every renderer and the JSON output share.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationError, ValidationInfo, field_validator

from .preprocess.logtable import LogTable
from .labels import APT_STAGES, LEVELS, Level, Stage  # OCR-APT's stages, in kill-chain order

SCHEMA_VERSION = "1.1"  # 1.1: StageFinding.found_by_rules

IoCType = Literal["ip", "file", "process", "module", "registry", "directory", "other"]


def same_major_version(value: str, current: str) -> str:
    """A saved document's ``schema_version`` this code reads: the same major version as
    ``current`` (a later minor version only adds fields, which ``_Strict`` refuses anyway)."""
    if not isinstance(value, str) or value.split(".", 1)[0] != current.split(".", 1)[0]:
        raise ValueError(f"schema version {value!r} is not one this aptnarrate reads ({current.split('.')[0]}.x); re-run it with the aptnarrate that wrote it, or regenerate the report")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --------------------------------------------------------------------------- narration


class StageClaim(_Strict):
    """One APT stage the evidence supports."""

    stage: Stage = Field(description="One of the eight APT stage names, spelled exactly.")
    confidence: Level = Field(description="How strongly the cited log rows support this stage.")
    evidence: list[str] = Field(description="Ids of the log rows that support it, e.g. ['L3', 'L7'].")
    rationale: str = Field(description="One or two sentences: why these rows indicate this stage.")

    @field_validator("stage", mode="wrap")
    @classmethod
    def _lenient_stage(cls, value, handler, info: ValidationInfo):
        """The schema sent to a model keeps the strict enum; parsing its answer with
        ``context={"lenient_stages": True}`` keeps a stage name outside the vocabulary, so
        that grounding drops that one claim (and re-asks) instead of failing the answer."""
        try:
            return handler(value)
        except ValidationError:
            if isinstance(value, str) and info.context and info.context.get("lenient_stages"):
                return value[:200]
            raise


class IoCClaim(_Strict):
    """Security context for one candidate IoC."""

    ioc: str = Field(description="The candidate IoC value, copied exactly from the candidate list.")
    legitimate_usage: str = Field(description="What this file, process or address normally is or does.")
    likelihood: Level = Field(description="Likelihood that it is being exploited here.")
    rationale: str = Field(description="Why, citing only facts given for this candidate.")


class Narration(_Strict):
    """What a narrator returns for one subgraph."""

    stages: list[StageClaim] = Field(description="Supported APT stages; empty if none is supported.")
    iocs: list[IoCClaim] = Field(description="Context for the candidate IoCs worth listing.")
    summary: str = Field(description="A short narrative of the attack behaviour, citing times and names.")


# --------------------------------------------------------------------------- computed facts


class Candidate(_Strict):
    """A candidate IoC computed from the input, with the evidence and reasons behind its rank."""

    value: str  # as it appears in the log (basename, remote IP)
    type: IoCType
    kind: str  # canonical entity kind
    full_values: list[str]  # original values (paths, flow strings) behind ``value``
    entity_ids: list[str]
    score: float
    rank: int  # 1 = most suspicious
    likelihood: Level  # the rules' own estimate
    reasons: list[str]  # human-readable, ranked by weight
    features: list[str]  # short tags: executed, written, public-ip, ...
    actions: list[str]  # e.g. "CONNECT x3" (subject or object side)
    evidence: list[str]  # log ids
    first_seen: str  # minute, YYYY-MM-DD HH:MM
    last_seen: str
    in_table: bool  # listed in the report's IoC table


# --------------------------------------------------------------------------- report


class LogEntry(_Strict):
    id: str
    minute: str
    subject_kind: str
    subject_name: str
    action: str
    object_kind: str
    object_name: str
    count: int
    text: str  # OCR-APT's wording, plain text
    lines: list[int]  # input lines behind this row
    subject_ids: list[str]
    object_ids: list[str]


def _log_records(log: LogTable | list[LogEntry]) -> list[LogEntry]:
    return log.to_entries() if isinstance(log, LogTable) else list(log)


# The log as columns (``LogTable``); in JSON and for pydantic it is a ``list[LogEntry]``:
# a list of entries or their dicts is accepted and converted, and it serialises as one.
LogColumn = Annotated[
    LogTable,
    PlainValidator(LogTable.coerce, json_schema_input_type=list[LogEntry]),
    PlainSerializer(_log_records, return_type=list[LogEntry]),
]


class StageFinding(_Strict):
    stage: Stage
    confidence: Level
    evidence: list[str]
    minutes: list[str]
    rationale: str
    tactic: str | None = None  # MITRE ATT&CK tactic id, e.g. "TA0011"
    techniques: list[str] = Field(default_factory=list)  # ATT&CK technique ids, e.g. ["T1071"]
    # whether an offline rule found this stage too: False, the narrator's judgment alone (a
    # model's claim no rule backs, shown as such); None, not recorded (schema 1.0)
    found_by_rules: bool | None = None


class IoCEntry(_Strict):
    value: str
    type: IoCType
    full_values: list[str] = Field(default_factory=list)  # paths, ip:port, keys behind ``value``
    rank: int
    likelihood: Level
    legitimate_usage: str
    rationale: str
    reasons: list[str]  # computed, from the facts
    evidence: list[str]
    first_seen: str
    last_seen: str


class SkippedLineInfo(_Strict):
    line: int
    column: str | None
    reason: str


class DroppedClaim(_Strict):
    """A narrator's claim removed because the data does not support it."""

    kind: Literal["stage", "ioc", "evidence", "summary"]
    item: str
    reason: str


class Usage(_Strict):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost_usd: float | None = None
    transport_retries: int = 0
    reasks: int = 0


class Metadata(_Strict):
    generator: str
    backend: str
    model: str | None = None
    timezone: str  # IANA name, or "as written" for wall-clock inputs without a zone
    time_basis: str
    input_format: str
    rows_read: int
    events: int
    log_rows: int
    skipped_count: int = 0
    skipped_lines: list[SkippedLineInfo] = Field(default_factory=list)
    internal_networks: list[str] = Field(default_factory=list)
    candidates_total: int = 0
    candidates_omitted: int = 0  # low-signal candidates left out of the IoC table
    dropped: list[DroppedClaim] = Field(default_factory=list)
    usage: Usage | None = None
    notes: list[str] = Field(default_factory=list)  # compression, token counting, fallbacks


class ContextRow(_Strict):
    """One condensed row of the host's wider log about a top IoC (``C1``...)."""

    id: str
    minute: str
    when: Literal["before", "during", "after"]  # relative to the subgraph's time span
    subject_kind: str
    subject_name: str
    action: str
    object_kind: str
    object_name: str
    count: int
    text: str


class ContextSection(_Strict):
    """What the wider log says about one top IoC, beyond the subgraph."""

    ioc: str
    type: IoCType
    rank: int
    rows: list[str]  # context row ids about this IoC that the subgraph does not hold
    before: int  # how many of them lie before / within / after the subgraph's time span
    during: int
    after: int
    in_subgraph: int  # context rows about it that the subgraph already holds
    neighbours: list[str]  # named entities that touched it in the context rows
    missed_entities: list[str]  # neighbours the subgraph does not name
    missed_stages: list[str]  # stages its context rows support that the report does not name


class ContextInfo(_Strict):
    """The ``--context`` part of a report: where it came from and one section per top IoC."""

    source: str
    engine: str
    window_start: str
    window_end: str
    rows_read: int  # rows the neighbourhood query returned
    rows: list[ContextRow]
    sections: list[ContextSection]
    notes: list[str] = Field(default_factory=list)


class Report(_Strict):
    """The finished report: what ``--format json`` prints and every renderer reads."""

    schema_version: str = SCHEMA_VERSION
    title: str
    input_name: str
    summary: str
    stages: list[StageFinding]
    iocs: list[IoCEntry]
    log: LogColumn  # columns; also a sequence of LogEntry (len, index, iterate)
    metadata: Metadata
    context: ContextInfo | None = None  # with --context: the top IoCs in the host's wider log

    @field_validator("schema_version")
    @classmethod
    def _readable_version(cls, value: str) -> str:
        return same_major_version(value, SCHEMA_VERSION)

    def to_markdown(self) -> str:
        from .render.markdown import render_markdown

        return render_markdown(self)

    def to_json(self, indent: int | None = 2) -> str:
        from .render.json import render_json

        return render_json(self, indent=indent)

    def _repr_markdown_(self) -> str:  # Jupyter
        return self.to_markdown()

    def timeline_frame(self):
        """The chronological log as a pandas DataFrame."""
        return self.log.to_frame()

    def iocs_frame(self):
        """The IoC table as a pandas DataFrame."""
        from .arrays import pandas_module
        pd = pandas_module()

        return pd.DataFrame([entry.model_dump() for entry in self.iocs])
