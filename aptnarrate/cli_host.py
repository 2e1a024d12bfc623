"""Command line of the host level: ``batch``, ``story`` and ``eval``. No logic of its own:
parse, call ``aptnarrate.host``, print, return the exit code.

Exit codes beyond cli.py's: 8 some inputs failed (the others were written; reasons on
stderr and in index.md/index.json); 9 degraded: every input was written but at least one
by the offline fallback after the model path failed (``--fallback offline``).
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from .cli import env_file, existing_env_file, not_an_input, raise_interrupt, say
from .errors import InputError, UsageError
from .output import write_text

EXIT_PARTIAL = 8
EXIT_DEGRADED = 9
DEFAULT_CONCURRENCY = 8


def _formats(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of formats, e.g. md,json")
    return list(dict.fromkeys(names))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str, minimum_exclusive: bool = True) -> float:
    """A positive (or, for ``_seconds_or_zero``, non-negative) finite number of seconds:
    ``nan`` and ``inf`` are floats too."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0 or (minimum_exclusive and value == 0):
        raise argparse.ArgumentTypeError(f"expected a {'positive' if minimum_exclusive else 'non-negative'} number of seconds, got {text!r}")
    return value


def _seconds_or_zero(text: str) -> float:
    return _seconds(text, minimum_exclusive=False)


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("auto", "offline", "openai", "replay"), default="auto", help="auto: a model when one is configured (key or base URL), else the offline narrator")
    parser.add_argument("--fallback", choices=("offline",), help="when the model path fails, write the offline report, stamped as degraded (exit 9)")
    llm = parser.add_argument_group("model options (also from the environment and .env; see README)")
    llm.add_argument("--model", help="model name (env APTNARRATE_MODEL; default gpt-4o-mini)")
    llm.add_argument("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL)")
    llm.add_argument("--mode", choices=("structured", "json"), help="structured: json_schema outputs; json: JSON mode with the schema in the prompt (servers without json_schema)")
    llm.add_argument("--temperature", type=float)
    llm.add_argument("--seed", type=int)
    llm.add_argument("--timeout", type=float, metavar="SECONDS", help="wall-clock limit per request, send to last byte (env APTNARRATE_TIMEOUT; default 60)")
    llm.add_argument("--token-budget", type=int, metavar="N", help="maximum prompt tokens (env APTNARRATE_TOKEN_BUDGET; default 12000)")
    llm.add_argument("--max-reasks", type=int, metavar="N", help="validation re-asks after the first answer (env APTNARRATE_MAX_REASKS; default 2)")
    llm.add_argument("--record", metavar="DIR", help="store every model exchange as JSON in DIR")
    llm.add_argument("--fixtures", metavar="DIR", help="recorded exchanges for --backend replay")
    llm.add_argument("--env-file", type=existing_env_file, metavar="PATH", help="dotenv file to read settings from (default: .env, if there is one)")


def add_host_commands(commands, add_reading_options) -> None:
    """Add ``batch``, ``story`` and ``eval`` to the subcommand set of cli.build_parser."""
    batch = commands.add_parser(
        "batch",
        help="one report per subgraph for many inputs, an index, and optionally the attack story",
        description="Write one report per input (files, folders of .csv files, glob patterns) into OUTDIR, "
        "with index.md/index.json and, with --story, the host's attack story. A re-run skips inputs whose "
        "outputs are up to date.",
    )
    batch.add_argument("inputs", nargs="*", metavar="INPUT", help="subgraph CSVs, folders or glob patterns")
    batch.add_argument("--example", metavar="NAME", help="use a shipped set of example subgraphs instead (e.g. 'host')")
    batch.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the reports, index and story")
    batch.add_argument("--formats", type=_formats, default=["md", "json"], metavar="LIST", help="report formats, comma-separated (default: md,json)")
    batch.add_argument("--concurrency", type=_positive, default=DEFAULT_CONCURRENCY, metavar="N", help=f"model requests in flight at once (default: {DEFAULT_CONCURRENCY})")
    batch.add_argument("--story", action="store_true", help="also write the attack story of the host (story.md, story.json, and story.* in every other format of --formats)")
    batch.add_argument("--title", help="title of the story (default: from OUTDIR's name)")
    batch.add_argument("--no-cache", action="store_true", help="neither read nor write the model answer cache (APTNARRATE_CACHE_DIR)")
    batch.add_argument("--force", action="store_true", help="redo every input, even those whose outputs are up to date")
    batch.add_argument("--openai-batch", action="store_true", help="send every input's request through the OpenAI Batch API (half the price; answers within 24 h); an interrupted run resumes from OUTDIR/.aptnarrate/openai-batch.json")
    batch.add_argument("--reask-sync", action="store_true", help="with --openai-batch: re-ask answers that fail validation or grounding synchronously (default: in follow-up Batch API rounds, up to --max-reasks)")
    batch.add_argument("--batch-poll", type=_seconds, default=30.0, metavar="SECONDS", help="with --openai-batch: seconds between status polls (default: 30)")
    batch.add_argument("--batch-max-wait", type=_seconds_or_zero, default=24 * 3600.0, metavar="SECONDS", help="with --openai-batch: give up waiting after this long (default: 24 h); run again to resume")
    add_reading_options(batch)
    _add_model_options(batch)
    _add_context_options(batch)

    story = commands.add_parser(
        "story",
        help="the attack story of a host from saved JSON reports",
        description="Write the host's attack story (stages in evidence order, one IoC table, linked subgraphs, "
        "a chronological overview) from reports saved with --format json or by batch.",
    )
    story.add_argument("reports", nargs="+", metavar="REPORT.json", help="JSON reports, or folders of them (a batch OUTDIR)")
    story.add_argument("--format", choices=("md", "json", "html", "stix", "navigator", "csv"), help="output format (default: from -o's ending, else md)")
    story.add_argument("--title", default="Attack story of the host")
    story.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")
    story.add_argument("--no-cache", action="store_true", help="neither read nor write the model answer cache")
    story.add_argument("--debug", action="store_true", help="show tracebacks")
    story.add_argument("--inputs", metavar="DIR", help="with --context: folder holding the reports' subgraph inputs (default: found through the batch's state, else beside each report)")
    _add_model_options(story)
    _add_context_options(story)

    evaluate = commands.add_parser(
        "eval",
        help="score reports against ground-truth IoCs (and stage labels)",
        description="Score saved JSON reports against ground-truth IoCs in OCR-APT's format "
        '({"ATTACK": {"file": [...], "ip": [...]}}) and, with --labels, stage labels per subgraph.',
    )
    evaluate.add_argument("reports", nargs="+", metavar="REPORT.json", help="JSON reports, or folders of them (a batch OUTDIR)")
    evaluate.add_argument("--truth", required=True, metavar="IOCS.json", help="ground-truth IoCs per attack")
    evaluate.add_argument("--labels", metavar="LABELS.json", help='stage labels: {"<subgraph>": {"supported": [...], "plausible": [...]}}')
    evaluate.add_argument("--host", metavar="NAME", help="name of the host the reports come from (default: from the --truth file name)")
    evaluate.add_argument("--format", choices=("table", "json"), default="table")
    evaluate.add_argument("-o", "--output", metavar="OUT")
    evaluate.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_context_options(parser: argparse.ArgumentParser) -> None:
    from .cli import _add_context_options as add

    add(parser)


def _checked_context_options(args: argparse.Namespace):
    """``--context`` and its settings, checked before any input is read."""
    from .cli import _context_options

    context = _context_options(args)
    if context is not None:
        from .context import parse_window

        parse_window(context.window)
        if context.top < 1:
            raise UsageError(f"--context-top must be at least 1, got {context.top}")
    return context


# --------------------------------------------------------------------------- batch


def cmd_batch(args: argparse.Namespace, build_options, llm_overrides) -> int:
    from .host.batch import Batch, write_story_and_index
    from .host.inputs import expand_inputs
    from .host.progress import BatchProgress

    arguments = list(args.inputs)
    if args.example:
        from .examples import host_example_dir

        arguments.append(str(host_example_dir(args.example)))
    if not arguments:
        raise UsageError("missing INPUT (files, folders or glob patterns, or --example host)")
    if args.reask_sync and not args.openai_batch:
        raise UsageError("--reask-sync applies to --openai-batch")
    if args.openai_batch and args.backend in ("offline", "replay"):
        raise UsageError(f"--openai-batch needs a model; --backend {args.backend} makes no request")
    inputs, notices = expand_inputs(arguments, outdir=args.output)
    options = build_options(
        args,
        None,
        backend=args.backend,
        llm=llm_overrides(args),
        fixtures=args.fixtures,
        record=args.record,
        dotenv=env_file(args),
        fallback=args.fallback,
        cache=not args.no_cache,
        context=_checked_context_options(args),
    )
    for notice in notices:
        say(f"aptnarrate: {notice}")
    with BatchProgress(len(inputs)) as progress:
        batch = Batch(
            inputs, args.output, options, formats=args.formats, concurrency=args.concurrency, force=args.force,
            on_progress=progress.update, openai_batch=args.openai_batch, reask_sync=args.reask_sync,
            batch_poll_s=args.batch_poll, batch_max_wait_s=args.batch_max_wait, story=args.story,
        )
        progress.in_flight = batch.in_flight
        previous = signal.signal(signal.SIGTERM, raise_interrupt)  # SIGTERM cleans up like Ctrl-C (also where cli.main left another handler)
        try:
            result = batch.run()
            write_story_and_index(result, title=args.title, batch=batch)
        finally:
            signal.signal(signal.SIGTERM, previous)
    for notice in result.notices:
        say(f"aptnarrate: {notice}")
    counts = {s: sum(1 for o in result.outcomes if o.status == s) for s in ("written", "skipped", "degraded", "failed")}
    line = f"aptnarrate: {len(result.outcomes)} input(s): {counts['written']} written, {counts['skipped']} up to date"
    if counts["degraded"]:
        line += f", {counts['degraded']} degraded"
    line += f", {counts['failed']} failed"
    if batch.narrator is not None:
        line += f"; {result.model_calls} model request(s), {result.cache_hits} answered from the cache"
    say(line + f"; outputs in {args.output}")
    for outcome in result.degraded:
        say(f"aptnarrate: degraded {outcome.input.path}: {outcome.reason}")
    for outcome in result.failed:
        say(f"aptnarrate: failed {outcome.input.path}: {outcome.reason}")
    if result.story_error:
        say(f"aptnarrate: no story: {result.story_error}")
    if result.story_degraded:
        say(f"aptnarrate: degraded story: {result.story_degraded}")
    if result.failed or result.story_error:
        return EXIT_PARTIAL
    if result.degraded or result.story_degraded:
        return EXIT_DEGRADED
    return 0


# --------------------------------------------------------------------------- story


def report_paths(names: list[str]) -> list[str]:
    """The JSON reports named: files as given; a folder (a batch OUTDIR) gives its ``*.json``
    reports, not the index, the story or the other formats' JSON files (STIX, Navigator)."""
    from .render import FILE_ENDINGS

    other_json = tuple(ending for ending in FILE_ENDINGS.values() if ending.endswith(".json") and ending != ".json")
    paths: list[str] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(
                p for p in path.glob("*.json") if p.name not in ("index.json", "story.json") and not p.name.endswith(other_json)
            )
            if not found:
                raise InputError("folder holds no JSON report", path=name)
            paths.extend(str(p) for p in found)
        else:
            paths.append(name)
    unique: dict[str, str] = {}  # a report named twice (a file and its folder, a folder twice) counts once
    for name in paths:
        unique.setdefault(os.path.realpath(name), name)
    return list(unique.values())


def load_reports(paths: list[str]):
    from pydantic import ValidationError

    from .render.json import load_report

    reports = []
    for name in paths:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError("file not found", path=name) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read report: {exc}", path=name) from None
        try:
            reports.append((path, load_report(text)))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise InputError(f"not an aptnarrate JSON report: {where or 'document'}: {first.get('msg')}", path=name) from None
    return reports


def render_saved_story(path: Path, text: str, fmt: str) -> str:
    """A saved story in ``fmt``. Markdown and JSON need only the story; the other formats
    draw each subgraph, so they read the subgraph reports saved beside it (``NAME.json``, as
    ``batch`` writes them)."""
    from pydantic import ValidationError

    from .host.story import Story
    from .render import story_renderer

    try:
        story = Story.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(f"not an aptnarrate story: {where or 'document'}: {first.get('msg')}", path=str(path)) from None
    if fmt == "json":
        return story.to_json()
    if fmt == "md":
        return story.to_markdown()
    odd = next((sub.name for sub in story.subgraphs if not _plain_file_name(sub.name)), None)
    if odd is not None:  # "../../x" would read a report outside the story's folder
        raise InputError(f"subgraph name {odd!r} is not a file name, so its report cannot be beside the story", path=str(path))
    beside = [path.parent / f"{sub.name}.json" for sub in story.subgraphs]
    missing = [str(p) for p in beside if not p.is_file()]
    if missing:
        raise InputError(
            f"--format {fmt} draws every subgraph, but {len(missing)} of their reports are not beside the story "
            f"(first: {missing[0]})",
            path=str(path),
            hint="render from the batch folder, or run 'aptnarrate story REPORT.json... --format " + fmt + "'",
        )
    reports = [(sub.name, report) for sub, (_, report) in zip(story.subgraphs, load_reports([str(p) for p in beside]))]
    render, _ = story_renderer(fmt)
    return render(story, reports)


def _plain_file_name(name: str) -> bool:
    """A name batch could have given a subgraph: one file name, no folder in it."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name and Path(name).name == name


def _report_name(path: Path) -> str:
    """A saved report's subgraph name: its file name without ``.json``, as text (a byte that
    is not UTF-8 becomes U+FFFD: the name goes into the story's and eval's JSON)."""
    from .wording import file_name_text

    return file_name_text(path.name[: -len(".json")] if path.name.endswith(".json") else path.name)


def cmd_story(args: argparse.Namespace, llm_overrides) -> int:
    from .errors import BackendError, BudgetError, ValidationFailed
    from .host.story import build_story
    from .pipeline import NarrateOptions, select_narrator

    from .render import resolve_format, story_renderer

    render, _ = story_renderer(resolve_format(args.format, args.output))  # a bad -o fails before any work
    from .host.inputs import unique_names
    from .wording import file_name_text

    paths = report_paths(args.reports)
    not_an_input(paths, args.output)
    loaded = load_reports(paths)
    names = unique_names([p for p, _ in loaded], _report_name)  # one name per subgraph: the story keys on it
    base = Path(args.output).resolve().parent if args.output and args.output != "-" else Path.cwd()
    links = {}
    for (path, _), name in zip(loaded, names):
        markdown = path.with_suffix(".md")
        target = markdown if markdown.is_file() else path
        links[name] = file_name_text(os.path.relpath(target.resolve(), base))  # text for the story's JSON
    reports = list(zip(names, (r for _, r in loaded)))
    story = build_story(reports, title=args.title, report_links=links)
    options = NarrateOptions(
        backend=args.backend, llm=llm_overrides(args), fixtures=args.fixtures, record=args.record,
        dotenv=env_file(args), fallback=args.fallback, cache=not args.no_cache,
    )
    narrator, notices = select_narrator(options)
    for notice in notices:
        say(f"aptnarrate: {notice}")
    code = 0
    context = _checked_context_options(args)
    if context is not None:  # before the model's call: its one request shows the context rows
        from .host.story_context import add_story_context
        from .pipeline import inspect_input

        subgraphs = [inspect_input(str(_subgraph_input(path, report, args.inputs))) for path, report in loaded]
        story = add_story_context(story, subgraphs, NarrateOptions().ingest_options(), context)
    if narrator is not None:
        from .host.story_model import degraded_story, narrate_story, story_transport

        getattr(narrator.transport, "close", lambda: None)()  # the per-subgraph transport is not needed
        transport = story_transport(options, narrator.settings)
        try:
            story = narrate_story(story, reports, transport, narrator.settings)
        except (BackendError, ValidationFailed, BudgetError) as exc:
            if args.fallback != "offline":
                raise
            reason = f"{type(exc).__name__}: {exc}"
            say(f"aptnarrate: the model's story failed ({reason}); wrote the offline story instead")
            story = degraded_story(story, reason)
            code = EXIT_DEGRADED
        finally:
            close = getattr(transport, "close", None)
            if close:
                close()
    write_text(render(story, reports), args.output)
    return code


def _subgraph_input(path: Path, report, inputs: str | None) -> Path:
    """The subgraph file a saved report was made from: named by the batch's state file
    beside it, else ``report.input_name`` in ``--inputs`` or beside the report."""
    import json

    from .host.batch import STATE_DIR

    state = path.parent / STATE_DIR / f"{_report_name(path)}.json"
    try:
        recorded = Path(json.loads(state.read_text(encoding="utf-8"))["input"])
        if recorded.is_file():
            return recorded
    except (OSError, ValueError, KeyError, TypeError):
        pass
    folder = Path(inputs) if inputs else path.parent
    candidate = folder / Path(report.input_name).name
    if candidate.is_file():
        return candidate
    raise UsageError(
        f"{path}: cannot find the subgraph input {report.input_name!r} it was made from, needed for --context",
        hint="pass the folder holding the inputs with --inputs DIR, or run 'aptnarrate batch --story --context'",
    )


# --------------------------------------------------------------------------- eval


def cmd_eval(args: argparse.Namespace) -> int:
    from .host.evaluate import evaluate, load_labels, load_truth, render_eval_json, render_eval_table

    paths = report_paths(args.reports)
    not_an_input([*paths, args.truth, *([args.labels] if args.labels else [])], args.output)
    reports = load_reports(paths)
    truth = load_truth(args.truth)
    labels = load_labels(args.labels) if args.labels else None
    result = evaluate([(_report_name(p), r) for p, r in reports], truth, labels=labels, host=args.host or Path(args.truth).stem)
    write_text(render_eval_json(result) if args.format == "json" else render_eval_table(result), args.output)
    return 0
