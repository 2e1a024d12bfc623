"""Every corpus case, in both formats, becomes a full report whose IoC table holds the
ground-truth IoCs present in its input (skipped when ../shared is absent)."""

from __future__ import annotations

import pytest
from conftest import corpus_manifest, ground_truth_iocs

import aptnarrate

MANIFEST = corpus_manifest()
CASES = [case["id"] for case in MANIFEST["cases"]] if MANIFEST else ["(corpus absent)"]


def _table_section(markdown: str) -> str:
    return markdown.split("## Table of Indicators of Compromise (IoCs)")[1].split("## Chronological Log")[0]


@pytest.mark.parametrize("fmt", ["csv", "edges.csv"])
@pytest.mark.parametrize("case", CASES)
def test_case_report_lists_its_ground_truth_iocs(corpus_dir, case, fmt):
    path = corpus_dir / f"{case}.{fmt}"
    report = aptnarrate.narrate(path, backend="offline", timezone="America/Toronto")
    markdown = report.to_markdown()

    assert markdown.startswith(f"# Attack Report: {case}.")
    assert report.metadata.skipped_count == 0
    expected_log = next(c for c in MANIFEST["cases"] if c["id"] == case)["n_log_rows"]
    # the manifest counts the reference's rows; cadets_11 listed one row twice (see its notes)
    assert abs(len(report.log) - expected_log) <= (1 if case == "cadets_subgraph_11" else 0)
    assert markdown.count("\n| 20") == len(report.log)

    names = {entry.subject_name.casefold() for entry in report.log} | {entry.object_name.casefold() for entry in report.log}
    present = ground_truth_iocs(case.split("_")[0]) & names
    table = _table_section(markdown)
    listed = {ioc.value.casefold() for ioc in report.iocs}
    # a network sweep's targets are one row: the subnet, with its hosts as full values and in its text
    swept = {v.casefold() for ioc in report.iocs if "/" in ioc.value for v in ioc.full_values}
    for ioc in present:
        assert ioc in listed | swept, f"ground-truth IoC {ioc} occurs in {case} but is not in the IoC table"
        if ioc in listed:
            assert any(f"`{entry.value}`" in table for entry in report.iocs if entry.value.casefold() == ioc)
        else:
            assert ioc in table.casefold()
    # grounded by construction: nothing the offline narrator says is dropped
    assert report.metadata.dropped == []


def test_declared_engagement_network_is_never_called_public(corpus_dir):
    report = aptnarrate.narrate(
        corpus_dir / "theia_subgraph_4.csv", backend="offline", internal_networks=["128.55.12.0/24"]
    )
    entry = next(i for i in report.iocs if i.value == "128.55.12.110")
    assert "internal network 128.55.12.0/24" in entry.legitimate_usage
    assert "public" not in (entry.legitimate_usage + entry.rationale).lower()
    assert report.metadata.internal_networks == ["128.55.12.0/24"]
