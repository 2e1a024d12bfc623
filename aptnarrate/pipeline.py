"""The library's front door: input -> Report, wiring the stages in order.

ingest -> condense -> facts -> narrator (offline rules or a model) -> ground -> assemble.
Nothing here prints; notices for the user come back in ``RunResult.notices``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backends import BACKENDS, NarrationResult
from .errors import BackendError, BudgetError, UsageError, ValidationFailed
from .preprocess.ingest import IngestOptions, check_readable, read_events, read_events_bytes

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .preprocess.facts import Facts
    from .models import Report


@dataclass(frozen=True)
class NarrateOptions:
    """Everything ``narrate`` and the CLI accept. ``llm`` holds overrides for the model
    settings (model, base_url, api_key, mode, temperature, seed, timeout_s, token_budget,
    max_reasks, ...), which otherwise come from the environment and ``.env``."""

    input_format: str = "auto"
    timezone: str = "UTC"
    input_timezone: str | None = None
    epoch_unit: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)
    strict: bool = False
    internal_networks: Sequence[str] = ()
    profile: str | None = None  # a dataset profile (aptnarrate/data/profiles.yaml) adding internal networks
    backend: str = "auto"
    llm: Mapping[str, Any] = field(default_factory=dict)
    fixtures: str | Path | None = None
    record: str | Path | None = None
    dotenv: str | Path | None = ".env"
    name: str | None = None  # how to call an input given as bytes (stdin) or a DataFrame
    context: Any = None  # aptnarrate.context.ContextOptions: the top IoCs in the host's wider log
    fallback: str | None = None  # "offline": write the offline report, stamped, when the model path fails
    cache: bool = False  # keep model answers in the request cache (APTNARRATE_CACHE_DIR)
    max_input_bytes: int | None = None  # None: ingest.DEFAULT_MAX_INPUT_BYTES

    def __post_init__(self) -> None:
        """Arguments a notebook may get wrong, checked (and a few forms normalised) when the
        options are made, so a mistake is a ``UsageError`` naming it, not a TypeError from
        deep inside or, worse, a plausible wrong reading (a string of networks was read
        character by character: "invalid --internal-net value '1'")."""
        for name in ("timezone", "input_format", "epoch_unit", "backend"):
            _expect(name, getattr(self, name), str)
        for name in ("input_timezone", "profile", "name", "fallback"):
            _expect(name, getattr(self, name), str, optional=True)
        if isinstance(self.internal_networks, (str, bytes)):  # one network, not its characters
            object.__setattr__(self, "internal_networks", (_text(self.internal_networks),))
        elif not isinstance(self.internal_networks, (Sequence, set, frozenset)) or not all(isinstance(n, str) for n in self.internal_networks):
            raise UsageError(f"internal_networks takes a list of CIDR strings such as ['10.0.0.0/8'], got {_shown(self.internal_networks)}")
        for name in ("columns", "llm"):
            if not isinstance(getattr(self, name), Mapping):
                example = "{'predicate': 'event_type'}" if name == "columns" else "{'model': 'gpt-4o-mini'}"
                raise UsageError(f"{name} takes a mapping such as {example}, got {_shown(getattr(self, name))}")
        if isinstance(self.context, (str, Path)):  # the CLI's --context EVENTS, with its defaults
            from .context import ContextOptions

            object.__setattr__(self, "context", ContextOptions(str(self.context)))
        elif self.context is not None and not hasattr(self.context, "events"):
            raise UsageError(f"context takes the host's event log (a path or glob) or aptnarrate.context.ContextOptions, got {_shown(self.context)}")
        if self.max_input_bytes is not None and (isinstance(self.max_input_bytes, bool) or not isinstance(self.max_input_bytes, int) or self.max_input_bytes < 1):
            raise UsageError(f"max_input_bytes takes a positive number of bytes, got {_shown(self.max_input_bytes)}")

    def ingest_options(self) -> IngestOptions:
        return IngestOptions(
            input_format=self.input_format,
            timezone=self.timezone,
            input_timezone=self.input_timezone,
            epoch_unit=self.epoch_unit,
            columns=dict(self.columns),
            strict=self.strict,
            **({"max_input_bytes": self.max_input_bytes} if self.max_input_bytes is not None else {}),
        )


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _expect(name: str, value: Any, kind: type, optional: bool = False) -> None:
    if not (isinstance(value, kind) or (optional and value is None)):
        raise UsageError(f"{name} takes a {kind.__name__}{' or None' if optional else ''}, got {_shown(value)}")


def _check_source(source: Any) -> None:
    """One subgraph: a path, its bytes or a DataFrame."""
    import os
    import sys

    pandas = sys.modules.get("pandas")  # a DataFrame's module is loaded already
    if isinstance(source, (str, bytes, os.PathLike)) or (pandas is not None and isinstance(source, pandas.DataFrame)):
        return
    hint = " (for many subgraphs, run 'aptnarrate batch' or aptnarrate.host.batch.Batch)" if isinstance(source, (list, tuple, set)) else ""
    raise UsageError(f"the input takes one subgraph: a path, its bytes or a pandas DataFrame, got {_shown(source)}{hint}")


@dataclass(frozen=True)
class RunResult:
    report: Report
    notices: tuple[str, ...] = ()
    degraded: str | None = None  # why the model path failed when --fallback offline wrote the report


def _options(options: NarrateOptions | None, overrides: Mapping[str, Any]) -> NarrateOptions:
    if options is not None and not isinstance(options, NarrateOptions):
        raise UsageError(f"options takes aptnarrate.NarrateOptions, got {_shown(options)}", hint="or pass the settings as keywords, e.g. narrate(path, backend='offline')")
    base = options or NarrateOptions()
    try:
        return replace(base, **overrides)
    except TypeError as exc:
        raise UsageError(f"unknown option: {exc}") from None


def inspect_input(source: str | Path | bytes | pd.DataFrame, options: NarrateOptions | None = None, **overrides: Any) -> Facts:
    """Ingest, condense and compute facts: the timeline and ranked candidates, no narrative."""
    from .preprocess.condense import condense
    from .preprocess.facts import compute_facts

    _check_source(source)
    opts = _options(options, overrides)
    if isinstance(source, bytes):
        table = read_events_bytes(source, opts.name or "<stdin>", opts.ingest_options())
    else:
        table = read_events(source, opts.ingest_options(), name=opts.name)
    networks = tuple(opts.internal_networks)
    if opts.profile is not None:  # "--profile ''" is an unknown profile, not none
        from .rules.profiles import get_profile

        networks += tuple(n for n in get_profile(opts.profile).internal_networks if n not in networks)
    return compute_facts(condense(table), internal_networks=networks)


def narrate(
    source: str | Path | bytes | pd.DataFrame,
    backend: str | None = None,
    options: NarrateOptions | None = None,
    **overrides: Any,
) -> Report:
    """Turn one subgraph (a CSV path, its bytes, or a DataFrame) into a Report.

    ``backend``: "auto" (a model when one is configured, else offline), "offline",
    "openai" or "replay" (with ``fixtures=DIR``). Keyword options are the fields of
    ``NarrateOptions``; model settings go in ``llm={...}``.
    """
    if backend is not None:
        overrides["backend"] = backend
    return run(source, options, **overrides).report


def run(
    source: str | Path | bytes | pd.DataFrame,
    options: NarrateOptions | None = None,
    *,
    narrator: Any = None,
    extracted_context: Any = None,
    log_provenance_ahead: bool = False,
    **overrides: Any,
) -> RunResult:
    """``narrate`` plus the notices the CLI shows on stderr. ``narrator``: one built by the
    caller and shared between runs (batch); default: the one ``options`` select.
    ``extracted_context``: the ``--context`` part already extracted for this input (the
    Batch API path puts it in the request), so it is not queried twice.
    ``log_provenance_ahead``: the caller will render the log's input lines and entity ids
    (``render.shows_log_provenance``): they are computed on a second thread while the
    narration is grounded (``assemble.compute_log_provenance_ahead``)."""
    from .assemble import Provenance, assemble
    from .backends.offline import OfflineNarrator
    from .grounding.ground import prune, vocabulary_for

    _check_source(source)
    opts = _options(options, overrides)
    if opts.backend not in BACKENDS:
        raise UsageError(f"unknown backend {opts.backend!r}; expected one of {', '.join(BACKENDS)}")
    if opts.fallback not in (None, "offline"):
        raise UsageError(f"unknown fallback {opts.fallback!r}; expected 'offline'")
    warm_up = None
    if narrator is not None:
        notices: list[str] = []
    else:  # before ingest: a config error should not wait for parsing
        narrator, notices = select_narrator(opts)
        if narrator is not None:  # the SDK import and the token vocabulary load while the input is read
            from .backends.openai import warm_up_in_background

            if isinstance(source, (str, Path)):
                check_readable(source)  # a wrong path is reported now, not after the warm-up
            warm_up = warm_up_in_background(narrator.transport)
    try:
        facts = inspect_input(source, opts)
        context = extracted_context
        if context is None and opts.context is not None:
            from .context import extract_context

            # before the narration: a model sees the context rows in its one request and may
            # cite them (C1...); stages the report misses are known only after it (below)
            context = extract_context(facts, opts.ingest_options(), opts.context)
    finally:
        # joined before the request, which needs what it loads anyway (it ran while the
        # input was read): the SDK imported by two threads at once breaks the import
        # system (KeyError: 'openai'); and never left behind (a library caller may fork)
        if warm_up is not None:
            warm_up.join()
    degraded = None
    if narrator is None:
        baseline = OfflineNarrator().narrate(facts)
        result: NarrationResult = baseline
    else:
        # the model's request first: its prompt needs the stage rules (run once, cached on
        # facts), not the offline narration, which is written after the answer
        try:
            result = narrator.narrate(facts, context=context)
        except (BackendError, ValidationFailed, BudgetError) as exc:
            if opts.fallback != "offline":
                raise
            degraded = f"{type(exc).__name__}: {exc}"
            result = _degraded(OfflineNarrator().narrate(facts), degraded)
            notices.append(f"the model path failed ({degraded}); wrote the offline report instead (--fallback offline)")
        baseline = OfflineNarrator().narrate(facts) if not degraded else result
    from .preprocess.memory import release_freed_memory

    release_freed_memory()  # the stage rules' per-row temporaries, before assembling the log
    if log_provenance_ahead:  # after the stage rules: their temporaries and these never meet
        from .assemble import compute_log_provenance_ahead

        compute_log_provenance_ahead(facts)
    vocabulary = vocabulary_for(facts)
    # each narration is grounded once and each drop recorded once
    fallback, baseline_dropped = prune(baseline.narration, facts, vocabulary)
    if result.narration is baseline.narration:
        narration, dropped = fallback, baseline_dropped
    elif result.grounded:
        narration, dropped = result.narration, []
    else:
        narration, dropped = prune(result.narration, facts, vocabulary_for(facts, context))
    if degraded:  # stamped after grounding: the reason names the endpoint, not the data
        stamp = f"Degraded report: the model path failed ({degraded}), so the offline narrator wrote this report."
        narration = narration.model_copy(update={"summary": f"{stamp} {narration.summary}"})
    unknown = _vocabulary_notes(facts)
    provenance = Provenance(
        backend=result.backend,
        model=result.model,
        usage=result.usage,
        notes=tuple(result.notes) + unknown,
        dropped=tuple(result.dropped) + tuple(dropped),
        internal_networks=tuple(str(n) for n in facts.internal_networks),
    )
    notices.extend(input_notices(facts, opts))
    report = assemble(facts, narration, fallback, provenance)
    if context is not None:
        report = attach_context(report, context)
    return RunResult(report=report, notices=tuple(notices), degraded=degraded)


def attach_context(report: Report, context: Any) -> Report:
    """``report`` with its ``--context`` part: each section's missed stages are those its
    rows support and the report does not name; a stage citing context rows (``C1``...)
    also gets their minutes; the metadata counts the rows read."""
    named = {s.stage for s in report.stages}
    sections = [s.model_copy(update={"missed_stages": [m for m in s.missed_stages if m not in named]}) for s in context.sections]
    context = context.model_copy(update={"sections": sections})
    minutes = {row.id: row.minute for row in context.rows}
    stages = [
        s.model_copy(update={"minutes": sorted({*s.minutes, *(minutes[e] for e in s.evidence if e in minutes)})})
        if any(e in minutes for e in s.evidence) else s
        for s in report.stages
    ]
    note = f"context: {context.rows_read} rows read from {context.source} ({context.engine})"
    metadata = report.metadata.model_copy(update={"notes": [*report.metadata.notes, note]})
    return report.model_copy(update={"context": context, "metadata": metadata, "stages": stages})


DEGRADED_BACKEND = "offline (fallback)"


def _degraded(baseline: NarrationResult, reason: str) -> NarrationResult:
    """The offline narration, stamped in its notes with why the model failed."""
    return NarrationResult(
        narration=baseline.narration,
        backend=DEGRADED_BACKEND,
        notes=[f"fallback: {reason}", *baseline.notes],
        dropped=list(baseline.dropped),
    )


def _vocabulary_notes(facts: Facts) -> tuple[str, ...]:
    """``vocabulary_notes`` of the input's triples, once per facts (the report's metadata and
    the command line's notices both read them)."""
    from .rules.events import vocabulary_notes

    return facts.derived("_vocabulary_notes", lambda: vocabulary_notes(facts.timeline.table.triples))


def input_notices(facts: Facts, opts: NarrateOptions, *, report: bool = True) -> list[str]:
    """What the user should know about how the input was read. ``report``: for a report,
    whose IoC table may leave candidates out (``inspect`` lists every one: no such notice)."""
    table = facts.timeline.table
    notices = []
    if table.timezone == "as written" and opts.timezone != "UTC":
        notices.append(
            f"the timestamps carry no time zone, so they are shown as written; --timezone {opts.timezone} "
            "applies only to epoch times and times with an offset (give --input-timezone to convert them)"
        )
    notices.extend(_vocabulary_notes(facts))
    if table.skipped_count:
        first = table.skipped[0]
        notices.append(
            f"skipped {table.skipped_count} unusable line(s), first line {first.line}: {first.reason} "
            "(listed in the report's metadata; --strict makes this an error)"
        )
    left_out = report and sum(1 for c in facts.candidate_records if c["likelihood"] != "low" and not c["in_table"])
    if left_out:
        from .preprocess.rank import TABLE_MAX

        notices.append(
            f"the IoC table lists the first {TABLE_MAX} candidates in rank order; {left_out} more rated moderate or high "
            "are left out of it (aptnarrate inspect lists every candidate)"
        )
    if table.ambiguous_count:
        notices.append(
            f"{table.ambiguous_count} line(s) could be read more than one way (a name contains "
            f"' ACTION the <type>: '), first line {table.ambiguous_lines[0]}; read with the last action "
            "as the event (check those names)"
        )
    notices.extend(_profile_hints(facts, opts))
    return notices


def _profile_hints(facts: Facts, opts: NarrateOptions) -> list[str]:
    """With no internal network declared, a hint for each dataset profile whose networks hold
    public addresses the log reaches. Never applied: a profile declares one dataset's
    networks, and only the user knows which dataset the log comes from; but without one,
    lateral movement to those hosts is not judged (their addresses read as outside ones)."""
    import ipaddress

    from .preprocess.rank import address_class, parse_networks
    from .rules.profiles import profiles

    if facts.internal_networks or opts.profile is not None:
        return []
    # a private address reads as the site's already
    public = [r["value"] for r in facts.candidate_records if r["type"] == "ip" and address_class(r["value"], ())[0] == "public"]
    hints = []
    for name, profile in sorted(profiles().items()):
        networks = parse_networks(profile.internal_networks)
        inside = sorted({a for a in public if address_class(a, networks)[0] == "internal"}, key=lambda a: ipaddress.ip_address(a.strip().strip("[]")))
        if inside:
            shown = ", ".join(inside[:3]) + (f" and {len(inside) - 3} more" if len(inside) > 3 else "")
            hints.append(
                f"no internal network is declared, and address(es) the log reaches ({shown}) lie in the {name} profile's "
                f"networks ({', '.join(profile.internal_networks)}): if the log comes from that dataset, pass --profile {name} "
                "(without it they read as outside addresses, and lateral movement to them is not judged)"
            )
    return hints


def select_narrator(opts: NarrateOptions):
    """The narrator for ``opts.backend`` (None = the offline baseline) and any notice."""
    if opts.backend == "offline":
        return None, []
    from .llm.config import load_settings

    dotenv = Path(opts.dotenv) if opts.dotenv else None
    settings = load_settings(opts.llm, dotenv_path=dotenv)
    if opts.backend == "auto" and not settings.is_configured:
        return None, [
            "no LLM configured (set OPENAI_API_KEY or OPENAI_BASE_URL, or pass --backend openai); "
            "using the offline narrator"
        ]
    from .backends.llm import ModelNarrator

    if opts.backend == "replay":
        if not opts.fixtures:
            raise UsageError("--backend replay needs --fixtures DIR")
        from .backends.replay import ReplayTransport

        transport = ReplayTransport(Path(opts.fixtures))
    else:
        settings.require_key()
        from .backends.openai import OpenAITransport
        from .models import Narration

        transport = OpenAITransport(settings, response_model=Narration)
    if opts.record:
        from .backends.replay import RecordingTransport

        transport = RecordingTransport(transport, Path(opts.record))
    if opts.cache:
        from .host.cache import CachingTransport, RequestCache

        transport = CachingTransport(transport, RequestCache.from_environment(), settings)
    return ModelNarrator(transport, settings), []
