"""--context: the top IoCs' neighbourhood in a generated host log with planted neighbours."""

from __future__ import annotations

import gzip
import os
import json
import re
import shutil
import shutil as _shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from aptnarrate.cli import main
from aptnarrate.context import ContextOptions
from aptnarrate.render.context import render_context
from aptnarrate.errors import InputError, UsageError
from aptnarrate.examples import path as example_path
from aptnarrate.models import APT_STAGES, ContextInfo, ContextRow, ContextSection
from aptnarrate.pipeline import run
from wide_log import wide_log
from llm_server import clear_model_settings

BACKGROUND_ROWS = 5000


@pytest.fixture(scope="session")
def host_log(tmp_path_factory):
    """The dropper example's edges inside a generated host log, in every accepted layout."""
    root = tmp_path_factory.mktemp("hostlog")
    subgraph = pd.read_csv(example_path("dropper", "edges"), dtype=str, keep_default_na=False)
    table, truth = wide_log(subgraph, BACKGROUND_ROWS)
    pq.write_table(table, root / "log.parquet")
    pacsv.write_csv(table, root / "log.csv")
    with open(root / "log.csv", "rb") as src, gzip.open(root / "log.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    parts = root / "parts"
    parts.mkdir()
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), parts / "a.parquet")
    pq.write_table(table.slice(half), parts / "b.parquet")
    return root, truth


def _report(log, **context):
    return run(example_path("dropper", "edges"), backend="offline", context=ContextOptions(str(log), **context)).report


@pytest.fixture(scope="session")
def parquet_report(host_log):
    root, _ = host_log
    return _report(root / "log.parquet")


@pytest.fixture(scope="session")
def dropper_facts():
    from aptnarrate.pipeline import inspect_input

    return inspect_input(example_path("dropper", "edges"))


def _context(facts, log, **context) -> ContextInfo:
    from aptnarrate.context import extract_context
    from aptnarrate.preprocess.ingest import IngestOptions

    return extract_context(facts, IngestOptions(), ContextOptions(str(log), **context))


def _comparable(context: ContextInfo) -> dict:
    return context.model_dump(exclude={"source", "engine"})


def test_each_top_ioc_gets_its_planted_neighbours_and_nothing_outside_the_window(host_log, parquet_report):
    _, truth = host_log
    context = parquet_report.context
    assert context is not None and context.sections
    types = [s.type for s in context.sections]
    assert set(types) <= {"ip", "process", "file"}
    assert all(types.count(t) <= 3 for t in set(types))  # --context-top default 3 per type
    for section in context.sections:
        planted = truth.inside[section.ioc]
        assert planted <= set(section.neighbours), section.ioc
        assert planted <= set(section.missed_entities), section.ioc  # the subgraph never names them
        assert not truth.outside[section.ioc] & set(section.neighbours), section.ioc
        assert not truth.decoys & set(section.neighbours), section.ioc
        assert section.before + section.after >= 1
        assert set(section.missed_stages) <= set(APT_STAGES)
        assert not set(section.missed_stages) & {s.stage for s in parquet_report.stages}
    cited = {r for s in context.sections for r in s.rows}
    assert cited == {r.id for r in context.rows}
    assert context.rows_read > 0
    assert any(n.startswith(f"context: {context.rows_read} rows read") for n in parquet_report.metadata.notes)


def test_markdown_and_json_carry_the_sections(parquet_report):
    text = parquet_report.to_markdown()
    assert "## Context from the Host's Wider Log" in text
    for section in parquet_report.context.sections:
        assert f"`{section.ioc}`" in text
    from aptnarrate.render.json import load_report

    again = load_report(parquet_report.to_json())
    assert again.context == parquet_report.context


def test_csv_gzip_folder_and_glob_give_the_same_sections(host_log, dropper_facts):
    root, _ = host_log
    expected = _comparable(_context(dropper_facts, root / "log.parquet"))
    assert expected["sections"]
    for log in (root / "log.csv", root / "log.csv.gz", root / "parts", f"{root}/parts/*.parquet"):
        assert _comparable(_context(dropper_facts, log)) == expected, log


def test_the_window_bounds_the_lookup(host_log, dropper_facts):
    root, truth = host_log
    context = _context(dropper_facts, root / "log.parquet", window="1m", top=1)
    for section in context.sections:
        assert not truth.inside[section.ioc] & set(section.neighbours)  # planted 7+ minutes away


def test_zone_less_subgraph_with_input_timezone_finds_the_same_neighbours(host_log, parquet_report):
    # dropper.csv holds the same events as wall-clock times in America/Toronto
    root, _ = host_log
    report = run(
        example_path("dropper"), backend="offline", input_timezone="America/Toronto",
        context=ContextOptions(str(root / "log.parquet")),
    ).report
    by_ioc = {s.ioc: set(s.neighbours) for s in parquet_report.context.sections}
    for section in report.context.sections:
        if section.ioc in by_ioc:
            assert set(section.neighbours) == by_ioc[section.ioc]


def test_column_mapping_applies_to_the_context_log(host_log, parquet_report, tmp_path):
    # the subgraph and the host log share the site's own column names
    root, _ = host_log
    table = pq.read_table(root / "log.parquet")
    pq.write_table(table.rename_columns([c if c != "predicate" else "event_type" for c in table.column_names]), tmp_path / "l.parquet")
    subgraph = pd.read_csv(example_path("dropper", "edges"), dtype=str, keep_default_na=False)
    subgraph.rename(columns={"predicate": "event_type"}).to_csv(tmp_path / "sub.csv", index=False)
    report = run(
        tmp_path / "sub.csv", backend="offline", columns={"predicate": "event_type"},
        context=ContextOptions(str(tmp_path / "l.parquet")),
    ).report
    assert _comparable(report.context) == _comparable(parquet_report.context)


def test_bad_context_inputs_are_typed_errors(host_log, dropper_facts, tmp_path, capsys):
    root, _ = host_log
    with pytest.raises(InputError, match="not found"):
        _context(dropper_facts, tmp_path / "missing.parquet")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _shutil.copy(root / "log.csv", mixed / "a.csv")
    _shutil.copy(root / "log.parquet", mixed / "b.parquet")
    with pytest.raises(InputError, match="mixes CSV and Parquet"):
        _context(dropper_facts, mixed)
    pq.write_table(pa.table({"a": [1]}), tmp_path / "narrow.parquet")
    with pytest.raises(InputError, match="no column 'subject_uuid'"):
        _context(dropper_facts, tmp_path / "narrow.parquet")
    with pytest.raises(UsageError):
        _context(dropper_facts, root / "log.parquet", top=0)
    dropper = str(example_path("dropper", "edges"))
    assert main(["report", dropper, "--backend", "offline", "--context", str(tmp_path / "missing.csv")]) == 3
    assert main(["report", dropper, "--backend", "offline", "--context", str(root / "log.parquet"), "--context-window", "soon"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--context-window" in err


def test_epoch_ranges_read_each_value_in_its_own_unit():
    from aptnarrate.context import query as q

    window = q.make_window(1_747_206_723_485_738_843, 1_747_251_803_111_497_010, 0, "UTC", None)
    assert q.epoch_ranges(window, "ms") == [(1_747_206_723_485, 1_747_251_803_112)]
    ranges = q.epoch_ranges(window, "")  # auto: one range per unit, as ingest reads magnitudes
    assert ranges == [(1_747_206_723, 1_747_251_804), (1_747_206_723_485, 1_747_251_803_112),
                      (1_747_206_723_485_738, 1_747_251_803_111_498), (1_747_206_723_485_738_843, 1_747_251_803_111_497_010)]
    early = q.make_window(0, 10**9 * 86400 * 30, 0, "UTC", None)  # January 1970: ms values below 1e11 read as seconds
    assert all(not (start <= 10**9 <= end) for start, end in q.epoch_ranges(early, "")[1:])


def test_a_log_mixing_epoch_units_finds_the_rows_of_every_unit(host_log, parquet_report, tmp_path):
    # exporters mix seconds and milliseconds; ingest reads each value by its magnitude, and
    # the context query must too, not one unit guessed from a sample for the whole column
    root, truth = host_log
    table = pq.read_table(root / "log.parquet")
    stamps = table.column("timestamp").to_numpy().copy()
    stamps[1::2] //= 10**6  # every other row in milliseconds
    mixed = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", pa.array(stamps))
    pq.write_table(mixed, tmp_path / "mixed.parquet")
    pacsv.write_csv(mixed, tmp_path / "mixed.csv")
    for log in (tmp_path / "mixed.parquet", tmp_path / "mixed.csv"):
        report = _report(log)
        for section in report.context.sections:
            assert truth.inside[section.ioc] <= set(section.neighbours), (log.name, section.ioc)
            assert not truth.outside[section.ioc] & set(section.neighbours), (log.name, section.ioc)


def test_hostile_names_in_context_rows_stay_inert():
    name = "evil`|<script>|\n## Heading"
    row = ContextRow(id="C1", minute="2025-01-01 00:00", when="after", subject_kind="process", subject_name=name,
                     action="WRITE", object_kind="file", object_name="x|y", count=2, text="")
    section = ContextSection(ioc=name, type="file", rank=1, rows=["C1"], before=0, during=0, after=1, in_subgraph=0,
                             neighbours=[name], missed_entities=[name], missed_stages=[])
    info = ContextInfo(source=name, engine="duckdb", window_start="a", window_end="b", rows_read=1, rows=[row], sections=[section])
    text = "\n\n".join(render_context(info))
    assert "<script>" not in re.sub(r"(`+).+?\1", "", text)  # only inside code spans, shown literally
    assert "\n## Heading" not in text
    table_rows = [line for line in text.splitlines() if line.startswith("| C1 ")]
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 3  # pipes escaped: still 4 cells


def test_index_partitions_by_day_and_gives_the_same_context(host_log, dropper_facts, tmp_path, capsys):
    root, _ = host_log
    out = tmp_path / "indexed"
    assert main(["index", str(root / "log.csv.gz"), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1/1 files" in err and "indexed" in err
    days = sorted(p.name for p in out.iterdir())
    assert len(days) > 1 and all(d.startswith("day=") for d in days)
    table = pq.read_table(out)  # hive partitions: the day comes back as a column
    assert table.num_rows == pq.read_metadata(root / "log.parquet").num_rows
    assert pa.types.is_integer(table.schema.field("timestamp").type)
    for day in days:  # every row sits in the folder of its own UTC day
        stamps = pq.read_table(out / day, columns=["timestamp"]).column("timestamp").to_numpy()
        assert set(pd.to_datetime(stamps, unit="ns").strftime("%Y-%m-%d")) == {day[4:]}
    from aptnarrate.context.extract import _days_needed
    from aptnarrate.context.source import resolve_events

    expected = _comparable(_context(dropper_facts, root / "log.parquet"))
    assert _comparable(_context(dropper_facts, out)) == expected
    window = _context(dropper_facts, out)  # the window spans one day: the others are not read
    assert window.window_start[:10] == window.window_end[:10]
    source = resolve_events(str(out))
    from aptnarrate.context import query as q

    first = int(dropper_facts.timeline.table.events["time"].min())
    needed = _days_needed(source, q.make_window(first, first, 0, "UTC", None))
    assert 0 < len(needed.files) < len(source.files)
    assert main(["index", str(root / "log.csv"), "-o", str(out)]) == 2  # not empty: never overwritten (a usage error, as a file for DIR is)


def test_pivot_lists_what_touched_an_entity_from_report_and_wider_log(host_log, parquet_report, tmp_path, capsys):
    root, truth = host_log
    saved = tmp_path / "report.json"
    saved.write_text(parquet_report.to_json(), encoding="utf-8")
    section = parquet_report.context.sections[0]
    assert main(["pivot", str(saved), section.ioc, "--format", "json"]) == 0
    offline = json.loads(capsys.readouterr().out)
    assert {r["source"] for r in offline["rows"]} == {"report", "report context"}
    in_report = [r["id"] for r in offline["rows"] if r["source"] == "report"]
    expected = [e.id for e in parquet_report.log if section.ioc in (e.subject_name, e.object_name)]
    assert in_report == expected and expected
    assert main(["pivot", str(saved), section.ioc, "--context", str(root / "log.parquet"), "--format", "json"]) == 0
    wider = json.loads(capsys.readouterr().out)
    wider_rows = [r for r in wider["rows"] if r["source"] == "wider log"]
    assert wider_rows and all(section.ioc in r["text"] for r in wider_rows)
    assert truth.inside[section.ioc] <= set(wider["neighbours"])
    assert not truth.decoys & set(wider["neighbours"])
    assert main(["pivot", str(saved), "no-such-entity"]) == 0
    assert "No row names it." in capsys.readouterr().out
    assert main(["pivot", str(tmp_path / "missing.json"), "x"]) == 3


@pytest.fixture(scope="module")
def spark_backend():
    """One small local Spark session for the module, tuned to start fast: one core, no UI,
    one shuffle partition, no adaptive planning or whole-stage code generation (planning
    and compiling cost more than they save on a few thousand rows), and a JVM that only
    uses its quick JIT tier and the serial collector."""
    pyspark = pytest.importorskip("pyspark", reason="pyspark not installed (it comes with pip install -e '.[test]')")
    if _shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no java on PATH or JAVA_HOME: PySpark local mode needs Java 17")
    import ibis
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]").appName("aptnarrate-test")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1").config("spark.default.parallelism", "1")
        .config("spark.sql.adaptive.enabled", "false").config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "512m")
        .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield ibis.pyspark.connect(spark), pyspark.__version__
    finally:
        spark.stop()


@pytest.mark.spark
def test_duckdb_and_pyspark_local_mode_give_identical_sections(host_log, dropper_facts, spark_backend):
    """The one Ibis query, unchanged, on Spark: Parquet and CSV give DuckDB's sections."""
    backend, _ = spark_backend
    root, truth = host_log
    for log in (root / "log.parquet", root / "log.csv"):
        on_spark = _context(dropper_facts, log, backend=backend)
        assert on_spark.engine == "pyspark"
        on_duckdb = _context(dropper_facts, log)
        assert on_duckdb.engine.startswith("duckdb")
        assert on_spark.sections and _comparable(on_spark) == _comparable(on_duckdb), log
        for section in on_spark.sections:  # not two equally empty answers: the planted rows came back
            assert truth.inside[section.ioc] <= set(section.neighbours), section.ioc


def test_cadets_story_gains_a_context_section_per_top_ioc(cadets_host_log):
    """Done-when of the context issue on the corpus: every cadets subgraph, as a host story
    sees them, inside one generated host log; each top IoC across them gets a section holding
    its planted neighbours and none planted outside the window."""
    from aptnarrate.context import extract_context, top_iocs_across
    from aptnarrate.context.extract import pivot_names
    from aptnarrate.preprocess.ingest import IngestOptions
    from aptnarrate.pipeline import inspect_input

    edges, log, truth = cadets_host_log
    subgraphs = [inspect_input(p) for p in edges]
    context = extract_context(subgraphs, IngestOptions(), ContextOptions(str(log), window="1h"))
    expected = [c.value for c in top_iocs_across(subgraphs, 3)]
    assert [s.ioc for s in context.sections] == expected and len(expected) >= 3
    by_value = {c.value: c for c in top_iocs_across(subgraphs, 3)}
    for section in context.sections:
        # a sweep's row (named after the subnet) is looked up by the hosts it reached
        names = pivot_names(by_value[section.ioc])
        inside = set().union(*(truth.inside.get(n, set()) for n in names))
        outside = set().union(*(truth.outside.get(n, set()) for n in names))
        assert inside and inside <= set(section.neighbours), section.ioc
        assert not outside & set(section.neighbours), section.ioc
    assert context.rows_read > 0


def test_ask_with_context_cites_wider_log_rows(host_log, parquet_report, tmp_path, monkeypatch, capsys):
    from llm_server import FakeLLMServer, ok

    clear_model_settings(monkeypatch)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    root, truth = host_log
    report = parquet_report.model_copy(update={"context": None})  # only --context can show the planted rows
    saved = tmp_path / "report.json"
    saved.write_text(report.to_json(), encoding="utf-8")
    ioc = parquet_report.context.sections[0].ioc
    planted = sorted(truth.inside[ioc])[0]
    server = FakeLLMServer().start()
    try:
        server.enqueue(ok({"supported": True, "sentences": [
            {"text": f"{planted} also touched {ioc}.", "evidence": ["W1"]},
            {"text": f"{planted} came from 8.8.8.8.", "evidence": ["W1"]},
        ]}), ok({"supported": True, "sentences": [{"text": f"{planted} also touched {ioc}.", "evidence": ["W1"]}]}))
        args = ["ask", str(saved), f"What else touched {ioc}?", "--base-url", server.url, "--env-file", "",
                "--context", str(root / "log.parquet"), "--format", "json"]
        assert main(args) == 0
    finally:
        server.stop()
    out = json.loads(capsys.readouterr().out)
    assert [s["text"] for s in out["sentences"]] == [f"{planted} also touched {ioc}."]
    sent = server.requests[0].body["messages"][1]["content"]
    assert '"id": "W1"' in sent and planted in sent


def test_a_log_file_named_with_glob_characters_is_read_as_that_file(host_log, dropper_facts, tmp_path):
    """A file named ``log[1].parquet`` is that file, given alone or in a folder: neither
    Python's glob nor the engine's (DuckDB expands "[", "*", "?" in any path it reads) may
    turn it into ``log1.parquet``, planted beside it with other rows."""
    root, _ = host_log
    expected = _comparable(_context(dropper_facts, root / "log.parquet"))
    folder = tmp_path / "odd"
    folder.mkdir()
    shutil.copy(root / "log.parquet", folder / "log[1].parquet")
    shutil.copy(root / "parts" / "a.parquet", folder / "log1.parquet")  # half the rows: other sections
    assert _comparable(_context(dropper_facts, folder / "log1.parquet")) != expected
    assert _comparable(_context(dropper_facts, folder / "log[1].parquet")) == expected
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(root / "log.csv", alone / "day*[1].csv")
    assert _comparable(_context(dropper_facts, alone)) == expected


def test_index_reads_a_file_named_with_glob_characters_as_that_file(host_log, tmp_path, capsys):
    root, _ = host_log
    folder = tmp_path / "odd"
    folder.mkdir()
    shutil.copy(root / "log.csv.gz", folder / "log[1].csv.gz")
    pacsv.write_csv(pq.read_table(root / "parts" / "a.parquet"), folder / "log1.csv")  # other rows beside it
    out = tmp_path / "indexed"
    assert main(["index", str(folder / "log[1].csv.gz"), "-o", str(out)]) == 0
    assert pq.read_table(out).num_rows == pq.read_metadata(root / "log.parquet").num_rows
