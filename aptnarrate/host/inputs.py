"""Expand batch inputs (files, folders, globs) into distinct subgraph files with output names.

A folder contributes its ``*.csv`` files (not recursive). When a folder holds both
``NAME.csv`` and ``NAME.edges.csv`` they are taken as the same subgraph in two layouts
(as aptnarrate's own examples ship them) and only ``NAME.csv`` is used; so with a glob
that matches both. Files named explicitly are always used. Output names are the file name without ``.csv``; two inputs
with the same name from different folders get the folder name as a prefix.
"""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..wording import capped_list, file_name_text

EDGES_SUFFIX = ".edges.csv"
_GLOB_CHARS = set("*?[")
RESERVED_NAMES = {"index", "story", "openai-batch"}  # the batch's own outputs, and its Batch API state (.aptnarrate/openai-batch.json)


@dataclass(frozen=True)
class BatchInput:
    path: Path
    name: str  # output base name, unique within the batch


def _stem(path: Path) -> str:
    """The output name of an input: its file name without ``.csv``, as text (a byte that is
    not UTF-8 becomes U+FFFD: the name goes into index.json and the story)."""
    return file_name_text(path.name[: -len(".csv")] if path.name.lower().endswith(".csv") else path.name)


def _folder_files(folder: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """(used, skipped as the edge-list twin of a used file, named ``*.csv`` but no regular
    file: a pipe, a socket, a broken link or a folder, which are never read)."""
    regular, odd = [], []
    for p in sorted(p for p in folder.iterdir() if p.name.lower().endswith(".csv")):
        (regular if p.is_file() else odd).append(p)
    return (*_without_twins(regular), odd)


def _without_twins(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """``files`` split into (used, skipped): a ``NAME.edges.csv`` whose ``NAME.csv`` is
    among them, in the same folder, is the same subgraph in its other layout."""
    present = {(p.parent, p.name) for p in files}
    used, twins = [], []
    for p in files:
        if p.name.endswith(EDGES_SUFFIX) and (p.parent, p.name[: -len(EDGES_SUFFIX)] + ".csv") in present:
            twins.append(p)
        else:
            used.append(p)
    return used, twins


def _twins_notice(where: str, twins: list[Path]) -> str:
    return (
        f"{where}: {len(twins)} edge list(s) *.edges.csv beside a NAME.csv of the same name "
        "were taken as the same subgraph and not reported twice (name them explicitly to report them)"
    )


def expand_inputs(arguments: list[str], outdir: str | Path | None = None) -> tuple[list[BatchInput], list[str]]:
    """The inputs named by ``arguments`` in a stable order, and notices for the user.

    ``outdir``: the batch's output folder. What a pattern matches there (the folder itself,
    as ``flagged/*`` does for ``-o flagged/out``, or files in it) is left out: a re-run
    would take the first run's outputs (its IoC watchlists ``NAME.csv``) for inputs."""
    paths: list[Path] = []
    notices: list[str] = []
    output = Path(outdir).resolve() if outdir is not None else None
    for argument in arguments:
        pattern = bool(_GLOB_CHARS & set(argument)) and not Path(argument).exists()  # "a[1].csv" names that file
        candidates = [Path(p) for p in sorted(glob.glob(argument))] if pattern else [Path(argument)]
        if pattern and output is not None:
            outputs = [c for c in candidates if c.resolve() == output or output in c.resolve().parents]
            if outputs:
                candidates = [c for c in candidates if c not in outputs]
                notices.append(f"pattern {argument!r} matches the output folder {str(outdir)!r} or files in it: left out")
                if not candidates:
                    raise InputError("no input matches this pattern outside the output folder", path=argument)
        if not candidates:
            raise InputError("no file matches this pattern", path=argument)
        if pattern:  # a pattern matching both layouts of a subgraph names it once, as a folder does
            matched, twins = _without_twins([c for c in candidates if c.is_file()])
            candidates = [c for c in candidates if not c.is_file() or c in matched]
            if twins:
                notices.append(_twins_notice(f"pattern {argument!r}", twins))
        for candidate in candidates:
            if candidate.is_dir():
                used, twins, odd = _folder_files(candidate)
                odd_text = (
                    f"{len(odd)} entr{'y' if len(odd) == 1 else 'ies'} named *.csv that {'is' if len(odd) == 1 else 'are'} no regular file "
                    f"(a pipe, a broken link, a folder): left out ({capped_list([repr(file_name_text(p.name)) for p in odd], 3)})"
                )
                if odd:
                    notices.append(f"{candidate}: {odd_text}")
                if not used and pattern:  # a folder the pattern happens to match: not an input
                    notices.append(f"pattern {argument!r} matches the folder {str(candidate)!r}, which holds no .csv file: left out")
                    continue
                if not used:
                    # the entries it left out are named: the user sees x.csv in the folder
                    raise InputError("folder holds no .csv file" + (f" that is a regular file; {odd_text}" if odd else ""), path=str(candidate))
                paths.extend(used)
                if twins:
                    notices.append(_twins_notice(str(candidate), twins))
            elif candidate.is_file():
                paths.append(candidate)
            else:
                raise InputError("file not found", path=str(candidate))
    if not paths:
        raise InputError("no .csv file among the inputs", path=" ".join(arguments))
    unique: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return _name(unique), notices


def _name(paths: list[Path]) -> list[BatchInput]:
    return [BatchInput(path=p, name=name) for p, name in zip(paths, unique_names(paths, _stem, RESERVED_NAMES))]


def unique_names(paths: list[Path], stem: Callable[[Path], str], reserved: Collection[str] = ()) -> list[str]:
    """A distinct name per path: its ``stem``; stems that clash get their folder's name in
    front, a name in ``reserved`` (compared ignoring case) gets ``-input`` after it, and a
    name still taken gets ``-2``, ``-3``, ... (two folders of one name)."""
    stems = [stem(p) for p in paths]
    counts = Counter(stems)
    taken: set[str] = set()
    result = []
    for p, base_stem in zip(paths, stems):
        name = f"{p.resolve().parent.name}_{base_stem}" if counts[base_stem] > 1 else base_stem
        if name.lower() in reserved:
            name += "-input"
        base, n = name, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        result.append(name)
    return result
