"""Many subgraphs in one run: one report per input, an index, optionally the attack story.

Inputs run in one process (imports, the token vocabulary and the model client are paid
once). With a model, ``concurrency`` workers share one ``AsyncOpenAITransport`` that keeps
at most ``concurrency`` requests in flight, wrapped in the request cache. One failing input
never stops the others: its reason is kept in the outcome and the index.

Every file goes through ``output.write_text`` (temp file, fsync, rename), so an interrupted
batch leaves complete files only; temp files of a killed run are removed when the next
run starts. A per-input state file under ``OUTDIR/.aptnarrate/`` records the input's
SHA-256, the settings and the report, so a re-run skips inputs whose outputs are up to
date and still has their reports for the index and the story.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import AptNarrateError, UsageError
from ..output import remove_stale_temp_files, write_text
from ..wording import file_name_text
from .inputs import BatchInput

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Report
    from ..pipeline import NarrateOptions

STATE_DIR = ".aptnarrate"
_MIN_INPUTS_TO_FORK = 6  # below this, forking costs more than it saves
_MAX_PROCESSES = 4
_TICK_S = 0.25  # how often a waiting parent redraws the progress bar
_FORKED_BATCH: Batch | None = None  # the batch a forked worker runs inputs of


def _offline_processes(inputs: int) -> int:
    if inputs < _MIN_INPUTS_TO_FORK or sys.platform != "linux" or os.environ.get("APTNARRATE_BATCH_PROCESSES") == "1":
        return 1
    if threading.active_count() > 1:  # forking a process with other threads running is unsafe
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, _MAX_PROCESSES, inputs))


def _warm_up(model: bool = False) -> None:
    """Import and load what every input needs before forking, so no worker does it again."""
    import pyarrow.csv  # noqa: F401

    from .. import assemble  # noqa: F401
    from ..grounding import ground  # noqa: F401
    from ..preprocess import condense, facts, ingest, knowledge  # noqa: F401
    from ..rules import attack, stages  # noqa: F401
    from ..backends import offline  # noqa: F401
    from ..render import json as _json, markdown  # noqa: F401
    from ..rules import benign, events, lineage, patterns, profiles

    patterns.builtin_rules(), events.vocabulary(), benign.mechanisms(), profiles._raw(), knowledge._index(), attack._data(), lineage.roles()
    if model:  # the prompt's token counter (the vocabulary file takes about 0.5 s to load)
        from ..llm import prompt, tokens  # noqa: F401

        tokens.counter()


def _model_processes(inputs: int, concurrency: int) -> int:
    """Processes for a model batch: as for offline inputs, at most one per request slot."""
    return min(_offline_processes(inputs), concurrency)


def _split_worker(batch: Batch, pending, digest: str, concurrency: int, messages) -> None:
    """A forked process of a model batch: its share of the inputs, with its own transport."""
    import signal

    signal.signal(signal.SIGTERM, _stop_on_term)
    batch.concurrency = concurrency
    batch.on_progress = lambda event, outcome, in_flight: messages.put(("start",)) if event == "start" else None
    batch._share_transport()
    outcomes: dict[int, InputOutcome] = {}

    def report(position: int, outcome: InputOutcome) -> None:
        messages.put(("done", position, outcome))

    try:
        batch._run_threads(pending, digest, outcomes, report)
    except KeyboardInterrupt:  # Ctrl-C reaches every process of the group; the parent reports it
        pass
    finally:
        close = getattr(batch.transport, "close", None)
        if close:
            close()
        inner = getattr(batch, "_async", None)
        sent = inner.sent if inner is not None else getattr(batch.transport, "misses", 0)
        messages.put(("end", sent, getattr(batch.transport, "hits", 0), inner.peak_in_flight if inner is not None else 0))
        messages.close()
        messages.join_thread()


def _stop_on_term(signum, frame):
    raise KeyboardInterrupt


def _forked_one(item: BatchInput, input_hash: str, digest: str) -> InputOutcome:
    assert _FORKED_BATCH is not None
    return _FORKED_BATCH._one(item, input_hash, digest, forked=True)
STATE_FORMAT = 1
TOP_IOCS = 5


@dataclass
class InputOutcome:
    input: BatchInput
    status: str  # written | skipped (up to date) | degraded (offline fallback) | failed
    report: Report | None = None
    reason: str | None = None  # why it failed or degraded
    outputs: list[str] = field(default_factory=list)  # file names in OUTDIR
    notices: list[str] = field(default_factory=list)


@dataclass
class BatchResult:
    outcomes: list[InputOutcome]
    outdir: Path
    notices: list[str] = field(default_factory=list)
    model_calls: int = 0  # requests sent to the model server (cache hits excluded)
    peak_in_flight: int = 0  # most requests that were in flight at once
    cache_hits: int = 0
    story_files: list[str] = field(default_factory=list)
    story_error: str | None = None  # the story could not be written (and why)
    story_degraded: str | None = None  # the model's story failed; the offline story was written

    @property
    def failed(self) -> list[InputOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def degraded(self) -> list[InputOutcome]:
        return [o for o in self.outcomes if o.status == "degraded"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def settings_digest(options: NarrateOptions, formats: Sequence[str], model_settings: Any = None) -> str:
    """What, besides the input's bytes, decides a report: options, formats, model settings,
    aptnarrate's version. The API key is never part of it."""
    described = {
        "version": __version__,
        "formats": list(formats),
        "input_format": options.input_format,
        "timezone": options.timezone,
        "input_timezone": options.input_timezone,
        "epoch_unit": options.epoch_unit,
        "columns": sorted(dict(options.columns).items()),
        "strict": options.strict,
        "internal_networks": list(options.internal_networks),
        "backend": options.backend,
        "fallback": options.fallback,
    }
    if options.context is not None:  # --context: each report gains its context sections
        c = options.context
        described["context"] = [c.events, c.top, c.window, c.engine, c.memory_limit]
    if model_settings is not None:
        described["model"] = {
            key: getattr(model_settings, key, None)
            for key in ("provider", "base_url", "model", "temperature", "seed", "mode", "token_budget", "max_reasks", "azure_deployment")
        }
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Batch:
    """One batch run. ``run()`` returns the outcomes; ``cancel()`` (from a signal handler or
    another thread) stops it after the inputs in progress, whose files are not written."""

    def __init__(
        self,
        inputs: Sequence[BatchInput],
        outdir: str | Path,
        options: NarrateOptions,
        *,
        formats: Sequence[str] = ("md", "json"),
        concurrency: int = 4,
        force: bool = False,
        on_progress: Callable[[str, InputOutcome | None, int], None] | None = None,
        openai_batch: bool = False,
        reask_sync: bool = False,
        batch_poll_s: float = 30.0,
        batch_max_wait_s: float = 24 * 3600.0,
        story: bool = False,
    ) -> None:
        from ..render import renderer

        if not formats:
            raise UsageError("--formats needs at least one format")
        self.renderers = [(name, *renderer(name)) for name in formats]
        if concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        self.inputs = list(inputs)
        self.outdir = Path(outdir)
        self.options = options
        self.formats = list(formats)
        self.concurrency = concurrency
        self.force = force
        self.on_progress = on_progress or (lambda event, outcome, in_flight: None)
        self._cancelled = threading.Event()
        self.transport = None
        self.narrator = None
        self.model_settings = None
        self.notices: list[str] = []
        self.openai_batch = openai_batch  # --openai-batch: every input's request through the Batch API
        self.reask_sync = reask_sync
        self.batch_poll_s = batch_poll_s
        self.batch_max_wait_s = batch_max_wait_s
        self.batch_api_requests = 0  # request lines this run submitted to the Batch API
        self.story = story  # --story: write_story_and_index also writes story.* into OUTDIR

    # ------------------------------------------------------------------ setup

    def _select_narrator(self) -> None:
        """Build one narrator for all inputs (its transport is made concurrent by
        ``_share_transport``, in the process that sends the requests)."""
        from ..pipeline import select_narrator

        narrator, notices = select_narrator(replace(self.options, cache=False))  # the cache wraps the async transport
        self.notices.extend(notices)
        if narrator is None:
            return
        self.model_settings = narrator.settings
        self.narrator = narrator

    def _share_transport(self) -> None:
        """The narrator's transport becomes the async one (at most ``concurrency`` requests in
        flight, shared by the worker threads), wrapped in the cache. It starts a thread, so
        after it this process no longer forks."""
        narrator, opts = self.narrator, self.options
        transport = narrator.transport
        if opts.backend in ("auto", "openai") and not opts.record:
            from ..backends.openai_async import AsyncOpenAITransport

            transport.close()
            transport = AsyncOpenAITransport(narrator.settings, transport.response_model, concurrency=self.concurrency)
        self._async = transport if hasattr(transport, "in_flight") else None
        if opts.cache:
            from .cache import CachingTransport, RequestCache

            transport = CachingTransport(transport, RequestCache.from_environment(), narrator.settings)
        narrator.transport = transport
        self.transport = transport

    def tell_story(self, document, reports, result: BatchResult | None = None):
        """``document`` (the computed story) with its narrative from the model, when the batch
        uses one: one grounded call, through the cache like every other."""
        if self.narrator is None:
            return document
        from .story_model import narrate_story, story_transport

        settings = self.model_settings
        transport = story_transport(self.options, settings)
        try:
            return narrate_story(document, reports, transport, settings)
        finally:
            if result is not None and hasattr(transport, "hits"):  # the story's call counts too
                result.model_calls += transport.misses
                result.cache_hits += transport.hits
            close = getattr(transport, "close", None)
            if close:
                close()

    def in_flight(self) -> int:
        inner = getattr(self, "_async", None)
        return inner.in_flight if inner is not None else 0

    def cancel(self) -> None:
        self._cancelled.set()
        inner = getattr(self, "_async", None)
        if inner is not None:
            inner.cancel_all()

    # ------------------------------------------------------------------ running

    def _refuse_overwriting_inputs(self, story: bool | None = None) -> None:
        """An output that is one of the inputs (OUTDIR the inputs' folder with csv among the
        formats: ``NAME.csv`` the IoC watchlist; ``story.csv`` with ``--story``) would replace
        a subgraph with what was computed from it; refused before anything is written. The
        story's files count only when the story is written (``story``, default ``self.story``)."""
        from ..render import story_renderer

        story = self.story if story is None else story
        inputs = {os.path.realpath(item.path) for item in self.inputs}
        own = ["index.md", "index.json"]
        if story:
            own += [STORY_NAME + story_renderer(name)[1] for name in dict.fromkeys(("md", "json", *self.formats))]
        planned = [(item.name + extension, name) for item in self.inputs for name, _render, extension in self.renderers] + [(f, "the batch's own") for f in own]
        for filename, fmt in planned:
            target = os.path.realpath(self.outdir / filename)
            if target in inputs:
                raise UsageError(
                    f"writing {filename} ({fmt} output) into {self.outdir} would replace the input {target}",
                    hint="write into another folder (-o), or leave csv out of --formats",
                )

    def _output_names(self) -> list[str]:
        """Every file a batch over these inputs may write into OUTDIR, in any format."""
        from ..render import FILE_ENDINGS

        stems = [item.name for item in self.inputs] + [STORY_NAME]
        return ["index.md", "index.json"] + [stem + ending for stem in stems for ending in FILE_ENDINGS.values()]

    def run(self) -> BatchResult:
        self._refuse_overwriting_inputs()
        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {self.outdir}: {exc.strerror or exc}") from None
        for folder, names in ((self.outdir, self._output_names()), (self.outdir / STATE_DIR, None)):
            removed = remove_stale_temp_files(folder, names)  # OUTDIR: only the temp files of our own outputs
            if removed:
                self.notices.append(f"removed {removed} temp file(s) an interrupted run left in {folder}")
        self._select_narrator()
        digest = settings_digest(self.options, self.formats, self.model_settings)
        outcomes: dict[int, InputOutcome] = {}
        pending: list[tuple[int, BatchInput, str]] = []
        for position, item in enumerate(self.inputs):
            try:
                input_hash = _sha256(item.path)
            except OSError as exc:
                outcomes[position] = InputOutcome(item, "failed", reason=f"{item.path}: cannot read: {exc.strerror or exc}")
                self.on_progress("done", outcomes[position], 0)
                continue
            fresh = None if self.force else self._up_to_date(item, input_hash, digest)
            if fresh is not None:
                outcomes[position] = fresh
                self.on_progress("done", fresh, 0)
            else:
                pending.append((position, item, input_hash))
        result = BatchResult(outcomes=[], outdir=self.outdir, notices=self.notices)
        processes = (
            _model_processes(len(pending), self.concurrency)
            if self.narrator is not None and not self.openai_batch and self._forkable_model()
            else 1
        )
        if processes > 1:
            self._run_split(pending, digest, outcomes, processes, result)
        else:
            if self.narrator is not None:
                self._share_transport()
            try:
                if self.openai_batch and self.narrator is not None:
                    self._run_through_batch_api(pending, digest, outcomes)
                else:
                    self._run_pending(pending, digest, outcomes)
            finally:
                if self.transport is not None:
                    close = getattr(self.transport, "close", None)
                    if close:
                        close()
            if self.transport is not None:
                result.cache_hits = getattr(self.transport, "hits", 0)
                inner = getattr(self, "_async", None)
                result.model_calls = inner.sent if inner is not None else getattr(self.transport, "misses", 0)
                result.model_calls += self.batch_api_requests
                result.peak_in_flight = inner.peak_in_flight if inner is not None else 0
        result.outcomes = [outcomes[i] for i in sorted(outcomes)]
        return result

    def _forkable_model(self) -> bool:
        """Only the OpenAI path is split over processes: each builds its own async client."""
        return self.options.backend in ("auto", "openai") and not self.options.record

    def _run_split(self, pending, digest: str, outcomes: dict[int, InputOutcome], processes: int, result: BatchResult) -> None:
        """Model inputs over forked processes, each with its own async transport and worker
        threads and its share of ``concurrency``: a subgraph's local work (ingest, facts,
        rules, grounding: pure Python) holds the GIL, so in one process it takes turns with
        every other input's; split over the cores it overlaps the requests in flight. The
        answer cache is on disk and safe to share; each process writes its own files."""
        import multiprocessing
        import queue as queue_module

        context = multiprocessing.get_context("fork")
        messages = context.Queue()
        close = getattr(self.narrator.transport, "close", None)
        if close:  # the parent's client is not used; each process makes its own
            close()
        _warm_up(model=True)
        shares = [self.concurrency // processes + (1 if n < self.concurrency % processes else 0) for n in range(processes)]
        slices = [pending[n::processes] for n in range(processes)]
        workers = [
            context.Process(target=_split_worker, args=(self, slices[n], digest, shares[n], messages), name=f"aptnarrate-batch-{n}")
            for n in range(processes)
        ]
        for worker in workers:
            worker.start()
        finished = 0
        try:
            while finished < len(workers):
                try:
                    message = messages.get(timeout=_TICK_S)
                except queue_module.Empty:
                    if all(not w.is_alive() for w in workers) and messages.empty():
                        break  # a worker died without reporting (killed): its inputs stay unfinished
                    self.on_progress("tick", None, 0)
                    continue
                kind = message[0]
                if kind == "start":
                    self.on_progress("start", None, 0)
                elif kind == "done":
                    _kind, position, outcome = message
                    outcomes[position] = outcome
                    self.on_progress("done", outcome, 0)
                else:  # "end": the worker's counts
                    _kind, sent, hits, peak = message
                    result.model_calls += sent
                    result.cache_hits += hits
                    result.peak_in_flight += peak  # each process keeps its own share in flight
                    finished += 1
        except BaseException:
            self._cancelled.set()
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()  # SIGTERM: the worker stops like on Ctrl-C, its temp files removed
            for worker in workers:
                worker.join()
            raise
        for worker in workers:
            worker.join()
        for position, item, _hash in pending:
            if position not in outcomes:
                outcomes[position] = InputOutcome(item, "failed", reason="internal error: its worker process ended early")

    def _run_pending(self, pending, digest: str, outcomes: dict[int, InputOutcome]) -> None:
        if not pending:
            return
        workers = self.concurrency if self.narrator is not None else 1
        processes = _offline_processes(len(pending)) if self.narrator is None else 1
        if processes > 1:
            # The first input runs here, before the fork: it loads what every input needs
            # once (rules, vocabulary, knowledge, lazily built tables), so no worker repeats it.
            position, item, input_hash = pending[0]
            outcomes[position] = self._one(item, input_hash, digest)
            self.on_progress("done", outcomes[position], 0)
            self._run_forked(pending[1:], digest, outcomes, processes)
            return
        if workers == 1:
            for position, item, input_hash in pending:
                if self._cancelled.is_set():
                    raise KeyboardInterrupt
                outcomes[position] = self._one(item, input_hash, digest)
                self.on_progress("done", outcomes[position], self.in_flight())
            return
        self._run_threads(pending, digest, outcomes, lambda position, outcome: self.on_progress("done", outcome, self.in_flight()))

    def _run_threads(self, pending, digest: str, outcomes: dict[int, InputOutcome], report) -> None:
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="aptnarrate-batch")
        try:
            futures = {executor.submit(self._one, item, input_hash, digest): position for position, item, input_hash in pending}
            for future in self._as_completed(futures):
                outcomes[futures[future]] = future.result()
                report(futures[future], outcomes[futures[future]])
        except BaseException:
            self.cancel()
            executor.shutdown(wait=True, cancel_futures=True)
            raise
        executor.shutdown(wait=True)
        if self._cancelled.is_set():
            raise KeyboardInterrupt

    def _as_completed(self, futures):
        """``as_completed`` that sends a "tick" progress event while nothing finishes, so the
        bar (drawn here, in the parent, without a thread of its own) stays current."""
        waiting = set(futures)
        while waiting:
            done, waiting = wait(waiting, timeout=_TICK_S, return_when=FIRST_COMPLETED)
            if not done:
                self.on_progress("tick", None, self.in_flight())
            yield from done

    def _run_forked(self, pending, digest: str, outcomes: dict[int, InputOutcome], processes: int) -> None:
        """Offline inputs over forked worker processes (one per core): the offline narrator is
        pure CPU, so threads would only take turns. Forked after the pipeline's modules are
        imported, the workers pay no start-up; each writes its own files atomically."""
        import multiprocessing

        global _FORKED_BATCH
        _warm_up()
        _FORKED_BATCH = self
        pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork"))
        try:
            futures = {pool.submit(_forked_one, item, input_hash, digest): position for position, item, input_hash in pending}
            for future in self._as_completed(futures):
                outcomes[futures[future]] = future.result()
                self.on_progress("done", outcomes[futures[future]], 0)
        except BaseException:
            self._cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            _FORKED_BATCH = None
        pool.shutdown(wait=True)

    def _run_through_batch_api(self, pending, digest: str, outcomes: dict[int, InputOutcome]) -> None:
        """``--openai-batch``: one Batch API request per pending input (context/openai_batch.py),
        validated and grounded there; then each input's report is built from its answer. The
        state file under OUTDIR/.aptnarrate/ lets an interrupted run resume without paying
        twice; it is removed once every input is written."""
        from ..context.openai_batch import BatchJob, narrate_batch
        from ..pipeline import inspect_input

        if not pending:
            return
        jobs, custom_ids, contexts = [], {}, {}
        for _position, item, input_hash in pending:
            try:
                facts = inspect_input(str(item.path), self.options)
                if self.options.context is not None:  # its rows go into the request (prompt v3)
                    from ..context import extract_context

                    contexts[item.name] = extract_context(facts, self.options.ingest_options(), self.options.context)
            except AptNarrateError:
                continue  # _one reports the input's error
            custom_ids[item.name] = f"{item.name}:{input_hash[:16]}:{digest[:8]}"  # a changed input is asked again
            jobs.append(BatchJob(custom_ids[item.name], facts, contexts.get(item.name)))
        state_path = self.outdir / STATE_DIR / "openai-batch.json"
        state_path.parent.mkdir(parents=True, exist_ok=True)
        answered = narrate_batch(
            jobs, self.model_settings, state_path,
            reask=self.narrator.transport if self.reask_sync else None,
            poll_interval_s=self.batch_poll_s, max_wait_s=self.batch_max_wait_s,
        )
        self.batch_api_requests += answered.submitted
        for position, item, input_hash in pending:
            if self._cancelled.is_set():
                raise KeyboardInterrupt
            custom_id = custom_ids.get(item.name)
            narrator = _Answered(answered.results.get(custom_id), answered.failed.get(custom_id, "no Batch API request"))
            outcomes[position] = self._one(item, input_hash, digest, narrator=narrator, context=contexts.get(item.name))
            self.on_progress("done", outcomes[position], 0)
        if all(o.status in ("written", "skipped") for o in outcomes.values()):
            state_path.unlink(missing_ok=True)

    def _one(
        self, item: BatchInput, input_hash: str, digest: str, *, forked: bool = False, narrator: Any = None, context: Any = None
    ) -> InputOutcome:
        from ..pipeline import run

        if self._cancelled.is_set():
            return InputOutcome(item, "failed", reason="cancelled")
        if not forked:
            self.on_progress("start", None, self.in_flight())
        narrator = narrator if narrator is not None else self.narrator
        try:
            result = run(str(item.path), self.options, narrator=narrator, extracted_context=context) if narrator is not None else run(
                str(item.path), self.options, backend="offline"
            )
        except AptNarrateError as exc:
            return InputOutcome(item, "failed", reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - one input's bug must not stop the others
            if self._cancelled.is_set():
                return InputOutcome(item, "failed", reason="cancelled")
            return InputOutcome(item, "failed", reason=f"internal error: {type(exc).__name__}: {exc}")
        if self._cancelled.is_set():  # stopping: write nothing more
            return InputOutcome(item, "failed", reason="cancelled")
        status = "degraded" if result.degraded else "written"
        outcome = InputOutcome(item, status, report=result.report, reason=result.degraded, notices=list(result.notices))
        try:
            report_json = None
            for name, render, extension in self.renderers:
                filename = item.name + extension
                text = render(result.report)
                if name == "json":  # the state file keeps this same document: rendered once
                    report_json = text
                write_text(text, self.outdir / filename)
                outcome.outputs.append(filename)
            if status == "written":  # a degraded report is retried on the next run
                self._save_state(item, input_hash, digest, outcome, report_json)
        except AptNarrateError as exc:
            return InputOutcome(item, "failed", reason=str(exc))
        return outcome

    # ------------------------------------------------------------------ state

    def _state_path(self, item: BatchInput) -> Path:
        return self.outdir / STATE_DIR / f"{item.name}.json"

    def _save_state(self, item: BatchInput, input_hash: str, digest: str, outcome: InputOutcome, report_json: str | None = None) -> None:
        """``report_json``: the report's JSON document when the batch rendered it already."""
        state = {
            "format": STATE_FORMAT,
            "input": str(item.path),
            "input_sha256": input_hash,
            "settings": digest,
            "outputs": outcome.outputs,
            "report": json.loads(report_json if report_json is not None else outcome.report.to_json()),
        }
        # ASCII: an input path holding a byte that is not UTF-8 (a lone surrogate) round-trips
        write_text(json.dumps(state, ensure_ascii=True) + "\n", self._state_path(item))

    def _up_to_date(self, item: BatchInput, input_hash: str, digest: str) -> InputOutcome | None:
        from ..models import Report

        try:
            state = json.loads(self._state_path(item).read_text(encoding="utf-8"))
            if state.get("format") != STATE_FORMAT or state["input_sha256"] != input_hash or state["settings"] != digest:
                return None
            outputs = list(state["outputs"])
            expected = [item.name + extension for _n, _r, extension in self.renderers]
            if outputs != expected or not all((self.outdir / name).is_file() for name in outputs):
                return None
            report = Report.model_validate(state["report"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):  # a damaged state file: redo the input
            return None
        return InputOutcome(item, "skipped", report=report, outputs=outputs)


class _Answered:
    """A narrator that hands the pipeline an answer the Batch API already gave (validated and
    grounded), or raises the reason its line failed, so ``--fallback offline`` applies."""

    def __init__(self, result, failure: str) -> None:
        self.result = result
        self.failure = failure

    def narrate(self, facts, context=None):
        from ..errors import BackendError

        if self.result is None:
            raise BackendError(f"Batch API: {self.failure}")
        return self.result


def outcome_record(outcome: InputOutcome) -> dict:
    """One input's line in index.json."""
    report = outcome.report
    record: dict[str, Any] = {
        "input": file_name_text(str(outcome.input.path)),
        "name": outcome.input.name,
        "status": outcome.status,
        "reason": outcome.reason,
        "outputs": outcome.outputs,
        "verdict": None,
        "stages": [],
        "top_iocs": [],
    }
    if report is not None:
        record["verdict"] = verdict(report)
        record["stages"] = [s.stage for s in report.stages]
        record["top_iocs"] = [i.value for i in sorted(report.iocs, key=lambda i: i.rank)[:TOP_IOCS]]
        record["first_minute"] = report.log[0].minute if report.log else None
        record["last_minute"] = report.log[-1].minute if report.log else None
    return record


def verdict(report: Report) -> str:
    if not report.stages:
        return "benign-looking (no stage supported)"
    high = [s for s in report.stages if s.confidence == "high"]
    return f"suspicious: {len(report.stages)} stage(s)" + (f", {len(high)} with high confidence" if high else "")



STORY_NAME = "story"


def write_story_and_index(result: BatchResult, *, story: bool | None = None, title: str | None = None, batch: Batch | None = None) -> None:
    """The batch's own outputs, written last: the story (when asked: ``story``, default
    ``batch.story``) and the index."""
    from ..errors import BackendError, BudgetError, ValidationFailed
    from .index import render_index_json, render_index_markdown
    from .story import build_story

    if story is None:
        story = batch is not None and batch.story
    if story and batch is not None and not batch.story:  # a story the batch's own check did not plan for
        batch._refuse_overwriting_inputs(story=True)
    if story:
        reports = [(o.input.name, o.report) for o in result.outcomes if o.report is not None]
        if reports:
            links = {o.input.name: next((f for f in o.outputs if f.endswith(".md")), None) for o in result.outcomes}
            document = build_story(reports, title=title or f"Attack story: {result.outdir.resolve().name}", report_links=links)
            if batch is not None and batch.options.context is not None:
                # before the story's model call: its one request shows the context rows
                document = _story_context(document, result, batch)
            try:
                if batch is not None and document is not None:
                    document = batch.tell_story(document, reports, result)
            except (BackendError, ValidationFailed, BudgetError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if batch.options.fallback != "offline":
                    result.story_error = f"the model's story failed: {reason}"
                    document = None
                else:
                    from .story_model import degraded_story

                    result.story_degraded = reason
                    document = degraded_story(document, reason)
            if document is not None:
                write_text(document.to_json(), result.outdir / f"{STORY_NAME}.json")
                write_text(document.to_markdown(), result.outdir / f"{STORY_NAME}.md")
                result.story_files = [f"{STORY_NAME}.md", f"{STORY_NAME}.json"]
                result.story_files += _write_story_formats(document, reports, result.outdir, batch.formats if batch else ())
        else:
            result.story_error = "no report to tell a story from (every input failed)"
    write_text(render_index_json(result), result.outdir / "index.json")
    write_text(render_index_markdown(result), result.outdir / "index.md")


def _write_story_formats(document, reports, outdir: Path, formats) -> list[str]:
    """The story in the batch's other formats (story.html, story.stix.json, ...)."""
    from ..render import story_renderer

    written = []
    for name in formats:
        if name in ("md", "json"):
            continue  # always written above
        render, ending = story_renderer(name)
        write_text(render(document, reports), outdir / f"{STORY_NAME}{ending}")
        written.append(f"{STORY_NAME}{ending}")
    return written


def _story_context(document, result: BatchResult, batch: Batch):
    """The story with its context sections (``--context``): the subgraphs' facts are read
    again from the inputs (reports do not keep them); a failure leaves no story."""
    from ..pipeline import inspect_input
    from .story_context import add_story_context

    try:
        subgraphs = [inspect_input(str(o.input.path), batch.options) for o in result.outcomes if o.report is not None]
        return add_story_context(document, subgraphs, batch.options.ingest_options(), batch.options.context)
    except AptNarrateError as exc:
        result.story_error = f"the story's context failed: {exc}"
        return None
