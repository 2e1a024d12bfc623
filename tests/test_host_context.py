"""--context on the host level: batch (each report gains its context) and the story (a
context section per top IoC across its subgraphs), from a generated wide log with planted
neighbours (tests/wide_log.py)."""

from __future__ import annotations

import json

import pytest

from aptnarrate.cli import main


def _check_neighbours(sections, iocs, truth) -> None:
    """Each section holds its IoC's planted neighbours and none planted outside the window
    (a sweep's row, named after the subnet, is looked up by the hosts it reached)."""
    from aptnarrate.context.extract import pivot_names

    by_value = {c.value: c for c in iocs}
    for section in sections:
        names = pivot_names(by_value[section["ioc"]])
        inside = set().union(*(truth.inside.get(n, set()) for n in names))
        outside = set().union(*(truth.outside.get(n, set()) for n in names))
        assert inside and inside <= set(section["neighbours"]), section["ioc"]
        assert not outside & set(section["neighbours"]), section["ioc"]


@pytest.fixture(scope="session")
def cadets_batch(cadets_host_log, tmp_path_factory):
    """Offline ``batch`` over the cadets subgraphs (saved reports and the batch's state)."""
    edges, log, truth = cadets_host_log
    out = tmp_path_factory.mktemp("cadets-batch")
    assert main(["batch", *map(str, edges), "-o", str(out), "--backend", "offline"]) == 0
    return out, edges, log, truth


def test_cadets_story_gains_a_context_section_per_top_ioc_with_planted_neighbours(cadets_batch, tmp_path):
    """``aptnarrate story REPORT.json... --context EVENTS`` over the saved cadets reports."""
    from aptnarrate.context import top_iocs_across
    from aptnarrate.pipeline import inspect_input

    out, edges, log, truth = cadets_batch
    reports = sorted(str(p) for p in out.glob("*.json") if p.name not in ("index.json", "story.json"))
    target = tmp_path / "story.json"
    assert main(["story", *reports, "--format", "json", "-o", str(target), "--backend", "offline",
                 "--context", str(log), "--context-window", "1h"]) == 0
    story = json.loads(target.read_text(encoding="utf-8"))
    iocs = top_iocs_across([inspect_input(p) for p in edges], 3)
    sections = story["context"]["sections"]
    assert [s["ioc"] for s in sections] == [c.value for c in iocs] and len(iocs) >= 3
    _check_neighbours(sections, iocs, truth)
    assert story["metadata"]["context_rows_read"] == story["context"]["rows_read"] > 0
    from aptnarrate.host.story import Story

    markdown = Story.model_validate(story).to_markdown()
    assert "## Context from the Host's Wider Log" in markdown
    assert f"Context rows read: {story['metadata']['context_rows_read']}" in markdown
    assert all(f"(rank {s['rank']})" in markdown for s in sections)


def test_batch_context_gives_each_report_and_the_story_context_sections(cadets_host_log, tmp_path):
    """``batch --story --context`` (a few cadets subgraphs, to stay fast): every report gets
    its context, the story its own over all of them, and they agree with ``story --context``."""
    edges, log, truth = cadets_host_log
    some = edges[:3]
    out = tmp_path / "out"
    assert main(["batch", *map(str, some), "-o", str(out), "--story", "--backend", "offline",
                 "--context", str(log), "--context-window", "1h"]) == 0
    from aptnarrate.context import ContextOptions
    from aptnarrate.pipeline import run

    for edge in some:  # the same context as ``report --context`` gives the input
        report = json.loads((out / f"{edge.stem}.json").read_text(encoding="utf-8"))
        alone = run(str(edge), backend="offline", context=ContextOptions(str(log), window="1h")).report.context
        assert report["context"] == json.loads(alone.model_dump_json()), edge.name
        assert report["context"]["sections"], edge.name
        assert "## Context from the Host's Wider Log" in (out / f"{edge.stem}.md").read_text(encoding="utf-8")
    story = json.loads((out / "story.json").read_text(encoding="utf-8"))
    from aptnarrate.context import extract_context
    from aptnarrate.preprocess.ingest import IngestOptions
    from aptnarrate.pipeline import inspect_input

    # the story's context is the library's over these subgraphs (planted rows are placed
    # around all cadets subgraphs, so the neighbour check is the full story's test above)
    expected = extract_context([inspect_input(p) for p in some], IngestOptions(), ContextOptions(str(log), window="1h"),
                               tuple(s["stage"] for s in story["stages"]))
    assert story["context"] == json.loads(expected.model_dump_json())
    assert story["context"]["sections"]
    assert story["metadata"]["context_rows_read"] > 0
    assert "## Context from the Host's Wider Log" in (out / "story.md").read_text(encoding="utf-8")
    reports = [str(out / f"{e.stem}.json") for e in some]
    again = tmp_path / "again.json"
    assert main(["story", *reports, "--format", "json", "-o", str(again), "--backend", "offline",
                 "--context", str(log), "--context-window", "1h"]) == 0
    assert json.loads(again.read_text(encoding="utf-8"))["context"] == story["context"]


def test_story_context_without_the_inputs_is_a_usage_error(cadets_batch, tmp_path, capsys):
    out, edges, log, _truth = cadets_batch
    saved = tmp_path / "saved"
    saved.mkdir()
    copy = saved / f"{edges[0].stem}.json"
    copy.write_text((out / copy.name).read_text(encoding="utf-8"), encoding="utf-8")
    code = main(["story", str(copy), "--backend", "offline", "--context", str(log)])
    assert code != 0
    err = capsys.readouterr().err
    assert "cannot find the subgraph input" in err and "--inputs" in err and "Traceback" not in err
    assert main(["story", str(copy), "--backend", "offline", "--context", str(log), "--inputs", str(edges[0].parent),
                 "-o", str(tmp_path / "s.md")]) == 0
    assert "## Context from the Host's Wider Log" in (tmp_path / "s.md").read_text(encoding="utf-8")


def test_batch_bad_context_window_fails_before_reading_inputs(tmp_path, capsys):
    from aptnarrate.examples import host_example_dir

    code = main(["batch", str(host_example_dir("host")), "-o", str(tmp_path / "o"), "--backend", "offline",
                 "--context", str(tmp_path / "log.parquet"), "--context-window", "soon"])
    assert code != 0 and "--context-window" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
