"""Command line: parse arguments, call the library, print, map errors to exit codes.

Holds no logic of its own. pandas and openai load inside the commands, so ``--help``
stays fast.

Exit codes: 0 ok, 1 internal error, 2 usage error, 3 input error, 4 configuration error,
5 token budget error, 6 backend error, 7 model output failed validation, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import AptNarrateError, UsageError
from .output import write_text

EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: exit 2 with a one-line message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"aptnarrate: error: {message}\n")


def _column(text: str) -> tuple[str, str]:
    role, sep, name = text.partition("=")
    if not sep or not role.strip() or not name.strip():
        raise argparse.ArgumentTypeError(f"expected ROLE=NAME, got {text!r}")
    return role.strip(), name.strip()


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", help="subgraph CSV (OCR-APT 'description,timestamp' or an edge list); '-' reads stdin")
    parser.add_argument("--example", metavar="NAME", help="use a shipped example input instead (see 'aptnarrate examples')")
    parser.add_argument("--input-format", choices=("auto", "ocrapt", "edges"), default="auto", help="input layout (default: from the header)")
    parser.add_argument("--timezone", default="UTC", metavar="TZ", help="IANA zone to show epoch and offset times in (default: UTC); wall-clock times without a zone are shown as written")
    parser.add_argument("--input-timezone", metavar="TZ", help="IANA zone of wall-clock times written without a zone, to convert them to --timezone (OCR-APT's DARPA TC3 files: America/Toronto)")
    parser.add_argument("--epoch-unit", choices=("auto", "s", "ms", "us", "ns"), default="auto", help="unit of integer epoch timestamps (default: from their magnitude)")
    parser.add_argument("--column", action="append", type=_column, default=[], metavar="ROLE=NAME", help="read column NAME as ROLE (e.g. predicate=event); repeatable")
    parser.add_argument("--strict", action="store_true", help="fail on the first unparseable line instead of skipping it")
    parser.add_argument("--internal-net", action="append", default=[], metavar="CIDR", help="declare a network as internal (e.g. 128.55.12.0/24 for DARPA TC3); repeatable")
    parser.add_argument("--profile", metavar="NAME", help="declare a dataset profile's internal networks (darpa-tc3, darpa-optc; see README)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aptnarrate", description="Attack reports from the anomalous subgraphs of provenance-based intrusion detectors.")
    parser.add_argument("--version", action="version", version=f"aptnarrate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    report = commands.add_parser("report", help="write an attack report for one subgraph", description="Write an attack report (Markdown or JSON) for one subgraph CSV.")
    _add_input_options(report)
    report.add_argument("--format", choices=("md", "json"), default="md", help="md: the report in OCR-APT's layout; json: the Report document")
    report.add_argument("--backend", choices=("auto", "offline", "openai", "replay"), default="auto", help="auto: a model when one is configured (key or base URL), else the offline narrator")
    llm = report.add_argument_group("model options (also from the environment and .env; see README)")
    llm.add_argument("--model", help="model name (env APTNARRATE_MODEL; default gpt-4o-mini)")
    llm.add_argument("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL)")
    llm.add_argument("--mode", choices=("structured", "json"), help="structured: json_schema outputs; json: JSON mode with the schema in the prompt (servers without json_schema)")
    llm.add_argument("--temperature", type=float)
    llm.add_argument("--seed", type=int)
    llm.add_argument("--timeout", type=float, metavar="SECONDS", help="per-request timeout")
    llm.add_argument("--token-budget", type=int, metavar="N", help="maximum prompt tokens")
    llm.add_argument("--max-reasks", type=int, metavar="N", help="validation re-asks after the first answer")
    llm.add_argument("--record", metavar="DIR", help="store every model exchange as JSON in DIR")
    llm.add_argument("--fixtures", metavar="DIR", help="recorded exchanges for --backend replay")
    llm.add_argument("--env-file", default=".env", metavar="PATH", help="dotenv file to read settings from (default: .env)")

    inspect = commands.add_parser("inspect", help="show the condensed timeline and ranked candidate IoCs, no narrative", description="Show the condensed timeline and ranked candidate IoCs of one subgraph, without any narrative.")
    _add_input_options(inspect)
    inspect.add_argument("--format", choices=("table", "json"), default="table")

    render = commands.add_parser("render", help="re-render a saved JSON report", description="Re-render a report saved with 'report --format json' (no model call).")
    render.add_argument("input", help="a JSON report")
    render.add_argument("--format", choices=("md", "json"), default="md")
    render.add_argument("-o", "--output", metavar="OUT")
    render.add_argument("--debug", action="store_true")

    commands.add_parser("examples", help="list the example inputs shipped with aptnarrate")
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

        return example_path(args.example), None
    if not args.input:
        raise UsageError("missing INPUT (a CSV path, '-' for stdin, or --example NAME)")
    if args.input == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    return args.input, None


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
        dotenv=args.env_file,
    )
    result = run(source, options)
    for notice in result.notices:
        print(f"aptnarrate: {notice}", file=sys.stderr)
    usage = result.report.metadata.usage
    if usage is not None:
        cost = f", ~${usage.cost_usd:.4f}" if usage.cost_usd is not None else ""
        print(
            f"aptnarrate: {usage.calls} call(s), {usage.prompt_tokens}+{usage.completion_tokens} tokens, "
            f"{usage.latency_s:.1f} s{cost} ({usage.transport_retries} retries, {usage.reasks} re-asks)",
            file=sys.stderr,
        )
    text = result.report.to_json() if args.format == "json" else result.report.to_markdown()
    write_text(text, args.output)
    return 0


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .pipeline import input_notices, inspect_input
    from .render.inspect import render_inspect_json, render_inspect_table

    source, name = _source(args)
    options = _options(args, name)
    facts = inspect_input(source, options)
    for notice in input_notices(facts, options):
        print(f"aptnarrate: {notice}", file=sys.stderr)
    write_text(render_inspect_json(facts) if args.format == "json" else render_inspect_table(facts), args.output)
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .errors import InputError
    from .render.json import load_report

    try:
        text = Path(args.input).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=args.input) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read report: {exc}", path=args.input) from None
    try:
        report = load_report(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InputError(f"not an aptnarrate JSON report: {where or 'document'}: {first.get('msg')}", path=args.input) from None
    write_text(report.to_json() if args.format == "json" else report.to_markdown(), args.output)
    return 0


def _cmd_examples(args: argparse.Namespace) -> int:
    from .examples import describe, names

    for name in names():
        print(f"{name}\t{describe(name)}")
    return 0


COMMANDS = {"report": _cmd_report, "inspect": _cmd_inspect, "render": _cmd_render, "examples": _cmd_examples}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    debug = getattr(args, "debug", False) or bool(os.environ.get("APTNARRATE_RAISE_ERRORS"))
    try:
        return COMMANDS[args.command](args)
    except AptNarrateError as exc:
        if debug:
            raise
        print(f"aptnarrate: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("aptnarrate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not a user mistake: say so briefly
        if debug:
            raise
        print(f"aptnarrate: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", file=sys.stderr)
        return EXIT_INTERNAL
