"""Shared fixtures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
# /work/shared/corpus next to the repository; never copied into it
CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

if str(TESTS_DIR) not in sys.path:  # lets tests import helpers such as reference_log
    sys.path.insert(0, str(TESTS_DIR))


def corpus_manifest() -> dict | None:
    """The corpus manifest, or None when the shared corpus is absent."""
    manifest = CORPUS_DIR / "manifest.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8"))


def ground_truth_iocs(host: str, corpus: Path = CORPUS_DIR) -> set[str]:
    """The ground-truth IoC values (case-folded) of ``host``, from the files the manifest lists.

    TC3 files are named after the host (``cadets_groundTruth_IOCs.json``); OpTC files after
    the dataset and the host's number (``optc501_...`` for ``SysClient0501``).
    """
    files = {Path(name).name.split("_groundTruth")[0]: corpus / name for name in corpus_manifest()["groundtruth"]}
    path = files.get(host)
    if path is None:
        number = host.rstrip("0123456789")
        digits = host[len(number):]
        matches = [p for prefix, p in files.items() if digits and prefix.endswith(str(int(digits)))]
        if len(matches) != 1:
            raise LookupError(f"no single ground-truth file for host {host!r} among {sorted(files)}")
        path = matches[0]
    names: set[str] = set()
    for attack in json.loads(path.read_text(encoding="utf-8")).values():
        for values in attack.values():
            names.update(v.casefold() for v in values)
    return names


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not (CORPUS_DIR / "manifest.json").is_file():
        pytest.skip(f"shared corpus not found at {CORPUS_DIR} (it lives outside the repository)")
    return CORPUS_DIR


@pytest.fixture(scope="session")
def cadets_batch(tmp_path_factory, corpus_dir):
    """The cadets cases of the corpus through one offline batch with --story (shared by the
    story, eval and story-format tests: the batch takes seconds)."""
    from aptnarrate import cli

    out = tmp_path_factory.mktemp("cadets")
    inputs = sorted(str(p) for p in corpus_dir.glob("cadets_subgraph_*.csv") if not p.name.endswith(".edges.csv"))
    assert cli.main(["batch", *inputs, "-o", str(out), "--story", "--backend", "offline", "--formats", "json,md"]) == 0
    return out


@pytest.fixture(scope="session")
def cadets_host_log(corpus_dir, tmp_path_factory):
    """Every cadets subgraph of the corpus inside one generated host log (tests/wide_log.py)
    with planted neighbours: (edge files, Parquet log, planted truth). Shared by the context
    tests of the library and of the story."""
    import pandas as pd
    import pyarrow.parquet as pq
    from wide_log import wide_log

    manifest = json.loads((corpus_dir / "manifest.json").read_text(encoding="utf-8"))
    edges = [corpus_dir / c["files"]["edges"] for c in manifest["cases"] if c["host"] == "cadets"]
    assert edges
    subgraph = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in edges], ignore_index=True)
    table, truth = wide_log(subgraph, 2000)
    log = tmp_path_factory.mktemp("cadets-host") / "cadets-host.parquet"
    pq.write_table(table, log)
    return edges, log, truth


# --------------------------------------------------------------------------- fault matrix
# Tests of a fault (a provider misbehaving, a hostile model answer) record what they observed
# with ``fault_outcome(name, outcome)``. ``pytest --fault-table FILE`` writes every recorded
# row as the Markdown table the README's fault section shows, so that table comes from a run.

_FAULT_ROWS: dict[str, str] = {}


def pytest_addoption(parser):
    parser.addoption("--fault-table", metavar="FILE", help="write the observed fault outcomes as a Markdown table")


@pytest.fixture
def fault_outcome():
    def record(fault: str, outcome: str) -> None:
        _FAULT_ROWS[fault] = outcome

    return record


def pytest_sessionfinish(session, exitstatus):
    target = session.config.getoption("--fault-table", default=None)
    if target and hasattr(session.config, "workeroutput"):  # an xdist worker: its rows go to the controller
        session.config.workeroutput["fault_rows"] = dict(_FAULT_ROWS)
        return
    if not target or not _FAULT_ROWS:
        return
    lines = ["| Fault | Observed outcome |", "|-------|------------------|"]
    lines += [f"| {fault} | {outcome} |" for fault, outcome in sorted(_FAULT_ROWS.items())]
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist (the default addopts): each worker recorded its own files' faults; without this
    the last worker to finish wrote the table alone (the transport rows without the others)."""
    _FAULT_ROWS.update(getattr(node, "workeroutput", {}).get("fault_rows", {}))
