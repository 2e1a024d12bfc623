"""What the benchmarks share: the generated inputs, and aptnarrate timed as an installed
copy runs, with its modules' bytecode on disk.

pip writes the bytecode when it installs a wheel. An editable checkout never gets it
written under ``PYTHONDONTWRITEBYTECODE=1``, as on the development VM. Every process then
compiles each module again, about 0.15 s at start. The floors' packages (pandas, polars)
come from wheels and have their bytecode already.
"""

from __future__ import annotations

import compileall
from collections.abc import Iterable, Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aptnarrate"
OUT = Path(__file__).resolve().parent / "out"  # bench/generate.py writes here
SUFFIX = {"ocrapt": ".csv", "edges": ".edges.csv"}


def inputs(sizes: Iterable[int], formats: Iterable[str]) -> Iterator[tuple[int, str, Path]]:
    """(rows, format, path) of each generated input, sizes first; one not generated yet is
    named, with the command that makes it, and skipped."""
    formats = list(formats)
    for rows in sizes:
        for fmt in formats:
            path = OUT / f"bench_{rows}{SUFFIX[fmt]}"
            if path.exists():
                yield rows, fmt, path
            else:
                print(f"{rows:>9}  {fmt:<7} missing {path.name}: run bench/generate.py --rows {rows}")


def ensure_bytecode() -> None:
    """Write the checkout's bytecode (py_compile writes it whatever the environment says)."""
    compileall.compile_dir(str(PACKAGE), quiet=1)


def offline_report_stages(table, mark) -> None:
    """The offline report from an ingested ``table``, on fresh objects, calling
    ``mark(stage)`` after each stage: condense, facts, find_stages, narrate, vocabulary,
    prune, assemble, render (Markdown, written to the null device)."""
    import os

    from aptnarrate.assemble import Provenance, assemble
    from aptnarrate.backends.offline import OfflineNarrator
    from aptnarrate.grounding.ground import prune, vocabulary_for
    from aptnarrate.preprocess.condense import condense
    from aptnarrate.preprocess.facts import compute_facts
    from aptnarrate.render.markdown import render_markdown_chunks
    from aptnarrate.rules.stages import find_stages

    timeline = condense(table)
    mark("condense")
    facts = compute_facts(timeline)
    mark("facts")
    find_stages(facts)
    mark("find_stages")
    narration = OfflineNarrator().narrate(facts).narration
    mark("narrate")
    vocabulary = vocabulary_for(facts)
    mark("vocabulary")
    kept, dropped = prune(narration, facts, vocabulary)
    mark("prune")
    provenance = Provenance(backend="offline", model=None, usage=None, notes=(), dropped=tuple(dropped), internal_networks=())
    report = assemble(facts, kept, kept, provenance)
    mark("assemble")
    with open(os.devnull, "w", encoding="utf-8") as out:
        for chunk in render_markdown_chunks(report):
            out.write(chunk if isinstance(chunk, str) else bytes(chunk).decode())
    mark("render")
