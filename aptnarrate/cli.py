"""Command line: parse arguments, call the library, print, map errors to exit codes.

Holds no logic of its own. pandas and openai load inside the commands, so ``--help``
stays fast.

Exit codes: 0 ok, 1 internal error, 2 usage error, 3 input error, 4 configuration error,
5 token budget error, 6 backend error, 7 model output failed validation, 8 batch: some inputs
failed, 9 degraded: written by the offline fallback (--fallback offline), 130 interrupted.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from pathlib import Path

from . import __version__
from .errors import AptNarrateError, UsageError
from .output import write_chunks, write_text
from .render import RENDERERS, render_chunks, resolve_format, shows_log_provenance
from .redact import redact
from .render.escape import show_invisible

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: exit 2 with a one-line message
        self.print_usage(sys.stderr)
        # shown like every message (argparse quotes an invalid choice, but not the words of
        # "unrecognized arguments: ...", which may hold a terminal escape sequence)
        self.exit(EXIT_USAGE, f"aptnarrate: error: {show_invisible(message)}\n")


def say(message: str) -> None:
    """One message on stderr: secrets masked (``redact``), and every control, zero-width or
    bidi character (a name's terminal escape sequence ``ESC ] 0 ; ... BEL``, an override)
    written as a visible escape, so nothing read from an input or a model drives the
    terminal or reorders what it shows. A line break is one of those too: a message is one
    line, so a file named ``x\naptnarrate: 0 failed.csv`` cannot forge a line of its own."""
    print(show_invisible(redact(message)), file=sys.stderr)


def existing_env_file(text: str) -> str:
    """``--env-file``'s value: a file given by name must exist (the default ``.env`` may
    not); a missing one read as no settings would hide a typo behind the defaults. An
    empty value reads no file at all."""
    if text and not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    return text


def env_file(args: argparse.Namespace) -> str:
    """The dotenv file to read: ``--env-file``'s ('' for none), else ``.env`` (read when it exists)."""
    return ".env" if args.env_file is None else args.env_file


def _column(text: str) -> tuple[str, str]:
    role, sep, name = text.partition("=")
    if not sep or not role.strip() or not name.strip():
        raise argparse.ArgumentTypeError(f"expected ROLE=NAME, got {text!r}")
    return role.strip(), name.strip()


def _byte_count(text: str) -> int:
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    number, unit = text.strip().upper().rstrip("IB") or "x", ""
    if number[-1:] in units and number[-1:]:
        number, unit = number[:-1], number[-1]
    try:
        value = int(float(number) * units[unit])
    except (ValueError, KeyError, OverflowError):  # OverflowError: "1e400", "inf", 400 digits
        raise argparse.ArgumentTypeError(f"expected a byte count such as 500M, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive byte count, got {text!r}")
    return value


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", help="subgraph CSV (OCR-APT 'description,timestamp' or an edge list); '-' reads stdin")
    parser.add_argument("--example", metavar="NAME", help="use a shipped example input instead (see 'aptnarrate examples')")
    _add_reading_options(parser)
    parser.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    """How inputs are read: shared by report, inspect and batch."""
    parser.add_argument("--input-format", choices=("auto", "ocrapt", "edges"), default="auto", help="input layout (default: from the header)")
    parser.add_argument("--timezone", default="UTC", metavar="TZ", help="IANA zone to show epoch and offset times in (default: UTC); wall-clock times without a zone are shown as written")
    parser.add_argument("--input-timezone", metavar="TZ", help="IANA zone of wall-clock times written without a zone, to convert them to --timezone (OCR-APT's DARPA TC3 files: America/Toronto)")
    parser.add_argument("--epoch-unit", choices=("auto", "s", "ms", "us", "ns"), default="auto", help="unit of integer epoch timestamps (default: from their magnitude)")
    parser.add_argument("--column", action="append", type=_column, default=[], metavar="ROLE=NAME", help="read column NAME as ROLE (e.g. predicate=event); repeatable")
    parser.add_argument("--strict", action="store_true", help="fail on the first unparseable line instead of skipping it")
    parser.add_argument("--internal-net", action="append", default=[], metavar="CIDR", help="declare a network as internal (e.g. 128.55.12.0/24 for DARPA TC3); repeatable")
    parser.add_argument("--max-input-bytes", type=_byte_count, metavar="N", help="refuse inputs larger than N bytes (suffixes K, M, G; default 1G)")
    parser.add_argument("--profile", metavar="NAME", help="declare a dataset profile's internal networks (darpa-tc3, darpa-optc; see README)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


_FORMAT_HELP = (
    "md: the report in OCR-APT's layout; json: the Report document; html: one self-contained page with "
    "a timeline and an entity graph; stix: a STIX 2.1 bundle; navigator: an ATT&CK Navigator layer; "
    "csv: the IoCs for a SIEM watchlist. Default: from -o's ending (.md .json .html .stix.json .layer.json .csv), else md"
)


def _add_format_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=tuple(RENDERERS), default=None, help=_FORMAT_HELP)
    parser.add_argument("--diagram", action="store_true", help="md only: add a Mermaid diagram of the subgraph's entities")


def _output_format(args: argparse.Namespace) -> str:
    """The format --format and -o ask for (see render.resolve_format); usage errors here."""
    fmt = resolve_format(args.format, args.output)
    if args.diagram and fmt != "md":
        raise UsageError(f"--diagram applies to Markdown output, not --format {fmt}")
    return fmt


def _render_chunks(report, args: argparse.Namespace):
    """The report in the format the arguments ask for, in pieces ``write_chunks`` streams."""
    return render_chunks(_output_format(args), report, diagram=args.diagram, encoded=True)


def _add_context_options(parser: argparse.ArgumentParser, *, top: bool = True) -> None:
    """``top``: the command picks IoCs to look up (report, batch, story); pivot and ask look up
    the entity or names they are given, so --context-top would do nothing there."""
    group = parser.add_argument_group("context from the host's wider log (see README: Context)")
    group.add_argument("--context", metavar="EVENTS", help="the host's event log as an edge list: a CSV, gzip CSV or Parquet file, a folder or a glob (same --column mapping as the input)")
    if top:
        group.add_argument("--context-top", type=int, default=3, metavar="N", help="look up the N best-ranked addresses, processes and files (default: 3 of each)")
    group.add_argument("--context-window", default="6h", metavar="DURATION", help="how far before and after the subgraph to look (e.g. 30m, 6h, 2d; default: 6h)")
    group.add_argument("--context-engine", metavar="URL", help="an Ibis connection URL of the engine to query (default: DuckDB embedded)")
    group.add_argument("--context-memory-limit", metavar="SIZE", help="DuckDB's memory limit (default: 1GB); larger inputs spill to disk")


def _context_options(args: argparse.Namespace):
    if not getattr(args, "context", None):
        return None
    from .context import ContextOptions

    return ContextOptions(
        events=args.context,
        top=getattr(args, "context_top", 3),
        window=args.context_window,
        engine=args.context_engine,
        memory_limit=args.context_memory_limit,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aptnarrate", description="Attack reports from the anomalous subgraphs of provenance-based intrusion detectors.")
    parser.add_argument("--version", action="version", version=f"aptnarrate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    report = commands.add_parser("report", help="write an attack report for one subgraph", description="Write an attack report for one subgraph (an OCR-APT CSV or an edge list) as Markdown, JSON, HTML, STIX 2.1, an ATT&CK Navigator layer or CSV (see --format).")
    _add_input_options(report)
    _add_format_options(report)
    from .cli_host import _add_model_options  # shared with batch and story

    _add_model_options(report)
    _add_context_options(report)

    inspect = commands.add_parser("inspect", help="show the condensed timeline and ranked candidate IoCs, no narrative", description="Show the condensed timeline and ranked candidate IoCs of one subgraph, without any narrative.")
    _add_input_options(inspect)
    inspect.add_argument("--format", choices=("table", "json"), default="table", help="table: for reading (default); json: {input, candidates, timeline}, the timeline one log row per line")

    render = commands.add_parser("render", help="re-render a saved JSON report or story", description="Re-render a report saved with 'report --format json', or a story.json saved by batch --story or story (no model call).")
    render.add_argument("input", help="a JSON report, or a saved story.json (its drawn formats need the batch's reports beside it)")
    render.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout; its ending picks the format when --format is not given")
    _add_format_options(render)
    render.add_argument("--debug", action="store_true")

    index = commands.add_parser("index", help="convert a host's event log to Parquet partitioned by day (for --context)", description="Convert a wide event log (CSV, gzip CSV or Parquet files, folders or globs) into Parquet partitioned by day: the recommended layout for --context.")
    index.add_argument("events", nargs="+", metavar="EVENTS", help="event log files, folders or globs")
    index.add_argument("-o", "--output", required=True, metavar="DIR", help="a new or empty folder")
    index.add_argument("--column", action="append", type=_column, default=[], metavar="ROLE=NAME", help="an edge-list column's name in the log, as for --context (e.g. timestamp=time); repeatable")
    index.add_argument("--epoch-unit", choices=("auto", "s", "ms", "us", "ns"), default="auto")
    index.add_argument("--memory-limit", metavar="SIZE", help="DuckDB's memory limit (default: 1GB)")
    index.add_argument("--debug", action="store_true")

    pivot = commands.add_parser("pivot", help="what touched an entity: its rows in a saved report and, with --context, in the wider log", description="The rows about one entity (a file, process or address, as the report names it) from a saved JSON report and, with --context, from the host's wider log. No model.")
    pivot.add_argument("report", metavar="REPORT.json")
    pivot.add_argument("entity", metavar="ENTITY")
    pivot.add_argument("--format", choices=("md", "json"), default="md")
    pivot.add_argument("-o", "--output", metavar="OUT")
    pivot.add_argument("--epoch-unit", choices=("auto", "s", "ms", "us", "ns"), default="auto")
    pivot.add_argument("--input-timezone", metavar="TZ", help="the zone of the report's times when it shows them as written")
    pivot.add_argument("--column", action="append", type=_column, default=[], metavar="ROLE=NAME")
    pivot.add_argument("--debug", action="store_true")
    _add_context_options(pivot, top=False)

    ask = commands.add_parser("ask", help="a follow-up question about a saved report, answered by a model from its rows (every sentence cites rows)", description="Answer a follow-up question from a saved JSON report's rows (and, with --context, the wider log's rows of the entities it names). Needs a model; every sentence cites rows and is grounded like a report. Offline, use 'aptnarrate pivot'.")
    ask.add_argument("report", metavar="REPORT.json")
    ask.add_argument("question", metavar="QUESTION")
    ask.add_argument("--format", choices=("md", "json"), default="md")
    ask.add_argument("-o", "--output", metavar="OUT")
    ask.add_argument("--model")
    ask.add_argument("--base-url")
    ask.add_argument("--mode", choices=("structured", "json"))
    ask.add_argument("--timeout", type=float, metavar="SECONDS")
    ask.add_argument("--max-reasks", type=int, metavar="N")
    ask.add_argument("--token-budget", type=int, metavar="N", help="prompt tokens a request may take (default 12000, APTNARRATE_TOKEN_BUDGET); rows past it are left out")
    ask.add_argument("--env-file", type=existing_env_file, metavar="PATH", help="dotenv file to read settings from (default: .env, if there is one)")
    ask.add_argument("--epoch-unit", choices=("auto", "s", "ms", "us", "ns"), default="auto")
    ask.add_argument("--input-timezone", metavar="TZ")
    ask.add_argument("--column", action="append", type=_column, default=[], metavar="ROLE=NAME")
    ask.add_argument("--debug", action="store_true")
    _add_context_options(ask, top=False)

    commands.add_parser("examples", help="list the example inputs shipped with aptnarrate", description="List the shipped example subgraphs (use one with --example NAME).")
    from .cli_host import add_host_commands

    add_host_commands(commands, _add_reading_options)
    return parser


def _llm_overrides(args: argparse.Namespace) -> dict:
    names = {"model": "model", "base_url": "base_url", "mode": "mode", "temperature": "temperature", "seed": "seed", "timeout": "timeout_s", "token_budget": "token_budget", "max_reasks": "max_reasks"}
    return {key: getattr(args, attr) for attr, key in names.items() if getattr(args, attr, None) is not None}


def _source(args: argparse.Namespace):
    """The input argument as a path, or stdin's bytes, and the name to show."""
    if args.example:
        if args.input:
            raise UsageError("give either INPUT or --example, not both")
        from .examples import path as example_path

        return _not_the_output(example_path(args.example), args), None
    if not args.input:
        raise UsageError("missing INPUT (a CSV path, '-' for stdin, or --example NAME)")
    if args.input == "-":
        from .preprocess.ingest import DEFAULT_MAX_INPUT_BYTES, read_capped

        return read_capped(sys.stdin.buffer, "<stdin>", args.max_input_bytes or DEFAULT_MAX_INPUT_BYTES), "<stdin>"
    return _not_the_output(args.input, args), None


def _not_the_output(source, args: argparse.Namespace):
    """``source``, unless ``-o`` names the same file (``report x.csv -o x.csv`` would replace
    the subgraph with its IoC watchlist): a usage error before anything is read or written."""
    not_an_input([source], getattr(args, "output", None))
    return source


def not_an_input(sources, output) -> None:
    """A usage error when ``output`` (``-o``) is one of the files a command reads (also
    through a link): ``story r.json -o r.json``, ``eval out -o out/r.json`` or ``pivot r.json
    X -o r.json`` replaced a saved report with a document of another kind."""
    if not output or output == "-":
        return
    for source in sources:
        try:
            same = os.path.samefile(source, output)
        except (OSError, ValueError, TypeError):  # no such output yet, or a name the OS cannot take
            same = False
        if same:
            raise UsageError(f"-o {output!r} is the input file: writing it would replace the input", hint="give another output file")


def _options(args: argparse.Namespace, name: str | None, **extra):
    from .pipeline import NarrateOptions

    return NarrateOptions(
        input_format=args.input_format,
        timezone=args.timezone,
        input_timezone=args.input_timezone,
        epoch_unit=args.epoch_unit,
        columns=dict(args.column),
        strict=args.strict,
        internal_networks=tuple(args.internal_net),
        profile=args.profile,
        name=name,
        max_input_bytes=args.max_input_bytes,
        **extra,
    )


def _cmd_report(args: argparse.Namespace) -> int:
    from .pipeline import run

    source, name = _source(args)
    options = _options(
        args,
        name,
        backend=args.backend,
        llm=_llm_overrides(args),
        fixtures=args.fixtures,
        record=args.record,
        dotenv=env_file(args),
        context=_context_options(args),
        fallback=args.fallback,
    )
    fmt = _output_format(args)  # a format/extension mismatch fails before any work
    result = run(source, options, log_provenance_ahead=shows_log_provenance(fmt))
    for notice in result.notices:
        say(f"aptnarrate: {notice}")
    usage = result.report.metadata.usage
    if usage is not None:
        cost = f", ~${usage.cost_usd:.4f}" if usage.cost_usd is not None else ""
        print(
            f"aptnarrate: {usage.calls} call(s), {usage.prompt_tokens}+{usage.completion_tokens} tokens, "
            f"{usage.latency_s:.1f} s{cost} ({usage.transport_retries} retries, {usage.reasks} re-asks)",
            file=sys.stderr,
        )
    write_chunks(_render_chunks(result.report, args), args.output)
    if result.degraded:
        from .cli_host import EXIT_DEGRADED

        return EXIT_DEGRADED
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .pipeline import input_notices, inspect_input
    from .render.inspect import render_inspect_json_chunks, render_inspect_table_chunks

    source, name = _source(args)
    options = _options(args, name)
    facts = inspect_input(source, options)
    for notice in input_notices(facts, options, report=False):
        say(f"aptnarrate: {notice}")
    # streamed: the log's lines reach the output as the bytes Arrow wrote
    render = render_inspect_json_chunks if args.format == "json" else render_inspect_table_chunks
    write_chunks(render(facts, encoded=True), args.output)
    return 0


def _load_saved_report(path: str):
    from pydantic import ValidationError

    from .errors import InputError
    from .render.json import load_report

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read report: {exc}", path=path) from None
    try:
        return load_report(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(f"not an aptnarrate JSON report: {where or 'document'}: {first.get('msg')}", path=path) from None


def _cmd_pivot(args: argparse.Namespace) -> int:
    from .context.pivot import pivot
    from .preprocess.ingest import IngestOptions

    not_an_input([args.report], args.output)
    report = _load_saved_report(args.report)
    ingest = IngestOptions(epoch_unit=args.epoch_unit, input_timezone=args.input_timezone, columns=dict(args.column))
    result = pivot(report, args.entity, _context_options(args), ingest, source=args.report)
    write_text(result.to_json() if args.format == "json" else result.to_markdown(), args.output)
    return 0


def _cmd_ask(args: argparse.Namespace) -> int:
    from .context.ask import ask, model_transport
    from .preprocess.ingest import IngestOptions

    not_an_input([args.report], args.output)
    report = _load_saved_report(args.report)
    transport, settings = model_transport(_llm_overrides(args), env_file(args))
    ingest = IngestOptions(epoch_unit=args.epoch_unit, input_timezone=args.input_timezone, columns=dict(args.column))
    result = ask(report, args.question, transport, settings, _context_options(args), ingest, source=args.report)
    if result.dropped:
        say(f"aptnarrate: dropped {len(result.dropped)} unsupported sentence(s) after {result.reasks} re-ask(s)")
    write_text(result.to_json() if args.format == "json" else result.to_markdown(), args.output)
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .errors import InputError
    from .render.json import load_report, parse_document

    _output_format(args)  # usage errors before reading anything
    try:
        text = Path(args.input).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=args.input) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read report: {exc}", path=args.input) from None
    document = parse_document(text)  # parsed once: a 128 MB report took 2 s more to be parsed twice
    if isinstance(document, dict) and document.get("kind") == "story":  # a saved story.json
        from .cli_host import render_saved_story

        if args.diagram:  # the story's Markdown has no diagram: it was dropped without a word
            raise UsageError("--diagram applies to one report's Markdown, not to a story", hint="render a subgraph's report with --diagram")

        write_text(render_saved_story(Path(args.input), text.removeprefix("\ufeff"), _output_format(args)), args.output)
        return 0
    try:
        report = load_report(text, document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(f"not an aptnarrate JSON report: {where or 'document'}: {first.get('msg')}", path=args.input) from None
    write_chunks(_render_chunks(report, args), args.output)
    return 0


def _progress_bar(done: int, total: int, path: str) -> None:
    width = 30
    filled = width * done // total
    name = Path(path).name[:40]
    end = "\n" if done == total else ""
    print(f"\raptnarrate: index [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files {name!r}", end=end, file=sys.stderr, flush=True)


def _cmd_index(args: argparse.Namespace) -> int:
    from .context.index import index_events

    result = index_events(args.events, args.output, columns=dict(args.column), epoch_unit=args.epoch_unit, memory_limit=args.memory_limit, progress=_progress_bar)
    say(f"aptnarrate: indexed {result.rows} rows from {result.files} file(s) into {len(result.days)} day(s) under {result.output}")
    return 0


def _cmd_examples(args: argparse.Namespace) -> int:
    from .examples import describe, names

    write_text("".join(f"{name}\t{describe(name)}\n" for name in names()), None)  # a failing stdout is a typed error
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .cli_host import cmd_batch

    return cmd_batch(args, _options, _llm_overrides)


def _cmd_story(args: argparse.Namespace) -> int:
    from .cli_host import cmd_story

    return cmd_story(args, _llm_overrides)


def _cmd_eval(args: argparse.Namespace) -> int:
    from .cli_host import cmd_eval

    return cmd_eval(args)


COMMANDS = {"report": _cmd_report, "inspect": _cmd_inspect, "render": _cmd_render, "examples": _cmd_examples, "index": _cmd_index, "pivot": _cmd_pivot, "ask": _cmd_ask}
COMMANDS.update(batch=_cmd_batch, story=_cmd_story, eval=_cmd_eval)


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """The command line. ``own_process``: the process runs this command alone (``console``)
    and may set itself up for it."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if own_process and args.command in ("report", "inspect") and not getattr(args, "context", None):
        from .arrays import defer_pandas

        defer_pandas()  # their work needs none: its import is a fifth of a 1M-row report
    debug = getattr(args, "debug", False) or bool(os.environ.get("APTNARRATE_RAISE_ERRORS"))
    thresholds, collecting = gc.get_threshold(), gc.isenabled()
    # A command allocates millions of objects that live to its end (columns, strings,
    # tables) and almost no cyclic garbage, so the collector's passes over the growing heap
    # are pure cost: 0.3 s of CPU at 1M rows with the default thresholds. ``report`` or
    # ``inspect`` of one input in a process of its own leaves the same garbage at its end
    # whatever the input's size (1,277 and 969 unreachable objects, for a corpus subgraph
    # and for 1M rows alike): no collector at all there (its rarer passes still cost
    # 40-50 ms at 1M rows and 0.9 s at 10M). Rarer passes keep batch's and the host
    # commands' long runs collected.
    if own_process and args.command in ("report", "inspect"):
        gc.disable()
    else:
        gc.set_threshold(100_000, 50, 100)
    previous_term = _interrupt_on_sigterm()
    try:
        _refuse_empty_paths(args)
        return COMMANDS[args.command](args)
    except AptNarrateError as exc:
        if debug:
            _print_traceback()
        say(f"aptnarrate: error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        print("aptnarrate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not a user mistake: say so briefly
        if debug:
            _print_traceback()
        say(f"aptnarrate: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)")
        return EXIT_INTERNAL
    finally:
        gc.set_threshold(*thresholds)
        if collecting:
            gc.enable()
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def raise_interrupt(signum, frame):
    """A signal handler: end the command as Ctrl-C does."""
    raise KeyboardInterrupt


def _interrupt_on_sigterm():
    """SIGTERM ends a command as Ctrl-C does (exit 130, an ``-o`` temp file removed, the old
    file intact) instead of killing the process mid-write. Only from the main thread and
    over the default action (a library caller's own handler stays); returns what to restore."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None
    return signal.signal(signal.SIGTERM, raise_interrupt)


# the arguments that name files or folders, as the user wrote them
_PATH_ARGUMENTS = {
    "input": "INPUT",
    "inputs": "INPUT",
    "events": "EVENTS",
    "reports": "REPORT.json",
    "output": "-o/--output",
    "truth": "--truth",
    "labels": "--labels",
    "context": "--context",
    "record": "--record",
    "fixtures": "--fixtures",
}  # not --env-file: "" there reads no env file


def _refuse_empty_paths(args: argparse.Namespace) -> None:
    """An empty path names nothing: the operating system reads it as the current folder,
    where a batch would write over an index.md or read every CSV."""
    for dest, shown in _PATH_ARGUMENTS.items():
        value = getattr(args, dest, None)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not v.strip() for v in values):
            raise UsageError(f"{shown} is empty: give a file or folder name (or '.' for the current folder)")


def console() -> int:
    """The ``aptnarrate`` command: ``main`` in a process that ends when it returns. What the
    command built is frozen out of the garbage collector first: the interpreter's last full
    collection at exit would walk a large report's millions of objects (about 0.1 s at 1M
    rows) to free memory the ending process gives back anyway.

    numpy's bundled OpenBLAS starts a thread per core when numpy is imported, and each spins
    about 0.1 s of CPU before it sleeps: on two cores, the core Arrow's CSV reader wants
    next. No command does linear algebra, so the process asks for none (a value the user
    set stands); a library caller's process is left as it is."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main(own_process=True)
    gc.freeze()
    return code


def _print_traceback() -> None:
    """--debug: the traceback, secrets masked; the exit code stays the error's own."""
    import traceback

    print(redact(traceback.format_exc()), file=sys.stderr, end="")
