"""Output formats (issue 10): format selection, CSV, STIX 2.1, ATT&CK Navigator, HTML and
Markdown additions, each also fed a hostile string that must stay literal and inert."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest
from outputs_support import FORMULA, HOSTILE, example_report, hostile_report

from aptnarrate.rules.attack import stage_tactics
from aptnarrate.cli import main
from aptnarrate.errors import UsageError
from aptnarrate.models import APT_STAGES
from aptnarrate.render import RENDERERS, resolve_format
from aptnarrate.render.csv import neutralise, render_csv
from aptnarrate.render.escape import show_invisible
from aptnarrate.render.html import render_html
from aptnarrate.render.markdown import render_markdown
from aptnarrate.render.navigator import render_navigator
from aptnarrate.render.stix import render_stix

SCHEMA = Path(__file__).parent / "data" / "navigator-layer-4.5.schema.json"
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


# --------------------------------------------------------------------------- format selection


@pytest.mark.parametrize(
    "explicit, output, expected",
    [
        (None, "x.html", "html"),
        (None, "out/x.HTML", "html"),
        (None, "x.json", "json"),
        (None, "x.stix.json", "stix"),
        (None, "x.layer.json", "navigator"),
        (None, "x.csv", "csv"),
        (None, "x.md", "md"),
        (None, None, "md"),
        (None, "-", "md"),
        (None, "report.txt", "md"),
        ("stix", "bundle.json", "stix"),
        ("navigator", "layer.json", "navigator"),
        ("csv", "watchlist.txt", "csv"),
        ("html", None, "html"),
    ],
)
def test_format_follows_the_output_ending(explicit, output, expected):
    assert resolve_format(explicit, output) == expected


@pytest.mark.parametrize(
    "explicit, output",
    [("md", "x.json"), ("json", "x.stix.json"), ("html", "x.csv"), ("stix", "x.layer.json"), ("csv", "x.md"), ("json", ".json.html")],
)
def test_explicit_format_that_contradicts_the_ending_is_a_usage_error(explicit, output):
    with pytest.raises(UsageError) as info:
        resolve_format(explicit, output)
    assert info.value.exit_code == 2 and explicit in str(info.value)


def test_cli_writes_html_for_an_html_name_and_refuses_md_into_json(tmp_path, capsys):
    target = tmp_path / "x.html"
    assert main(["report", "--example", "benign", "--backend", "offline", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", "--example", "benign", "--backend", "offline", "--format", "md", "-o", str(tmp_path / "x.json")]) == 2
    assert "--format md does not match" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
    assert main(["render", str(target), "--format", "csv", "--diagram"]) == 2  # --diagram is Markdown only


def test_render_reproduces_a_direct_run_byte_for_byte_in_every_format(tmp_path):
    """report --format X == render (report --format json) --format X, for every format."""
    saved = tmp_path / "report.json"
    common = ["report", "--example", "exfil", "--backend", "offline"]
    assert main([*common, "--format", "json", "-o", str(saved)]) == 0
    for fmt in RENDERERS:
        direct, rendered = tmp_path / f"direct.{fmt}", tmp_path / f"rendered.{fmt}"
        assert main([*common, "--format", fmt, "-o", str(direct)]) == 0
        assert main(["render", str(saved), "--format", fmt, "-o", str(rendered)]) == 0
        assert direct.read_bytes() == rendered.read_bytes(), fmt
    diagram = tmp_path / "diagram.md"
    assert main(["render", str(saved), "--diagram", "-o", str(diagram)]) == 0
    assert "```mermaid\nflowchart LR" in diagram.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- ATT&CK data


def test_every_stage_maps_to_its_attack_tactic():
    tactics = stage_tactics()
    assert set(tactics) == set(APT_STAGES)
    assert {stage: t.id for stage, t in tactics.items()} == {
        "Initial Compromise": "TA0001",
        "Internal Reconnaissance": "TA0007",
        "Command and Control": "TA0011",
        "Privilege Escalation": "TA0004",
        "Lateral Movement": "TA0008",
        "Maintain Persistence": "TA0003",
        "Data Exfiltration": "TA0010",
        "Covering Tracks": "TA0005",
    }
    assert tactics["Covering Tracks"].name == "Defense Evasion"


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", " =1", "\uff1dcmd",
                                  # after invisible or other blank characters a spreadsheet may skip, and small forms
                                  "\u00a0=1+1", "\u200b=cmd", "\ufeff=cmd", "\u202e=cmd", "\u3000+1", "\ufe66cmd", "\ufe62x", "\ufe63x", "\ufe6bx"])
def test_formula_like_cells_are_neutralised(cell):
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["invoice.pdf.sh", "/tmp/a=b", "10.0.3.7->203.0.113.45:443", ""])
def test_ordinary_cells_are_kept(cell):
    assert neutralise(cell) == cell


def test_csv_lists_every_ioc_with_its_full_values():
    report = example_report()
    rows = list(csv.DictReader(io.StringIO(render_csv(report), newline="")))
    assert {r["value"] for r in rows} == {i.value for i in report.iocs}
    flow = next(r for r in rows if r["type"] == "ip")
    assert "->" in flow["full_value"] and flow["subgraph"] == report.input_name
    assert all(r["likelihood"] in ("low", "moderate", "high") and r["first_seen"] <= r["last_seen"] for r in rows)


def test_csv_keeps_a_hostile_string_literal_and_inert():
    text = render_csv(hostile_report())
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert all(len(row) == len(rows[0]) for row in rows)
    hostile = [row for row in rows if row[0] == HOSTILE]
    assert {row[1] for row in hostile} == {f"/tmp/{HOSTILE}", "'" + FORMULA}  # literal; the formula made text
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


# --------------------------------------------------------------------------- STIX


def _validate_stix(text: str):
    from stix2validator import ValidationOptions, validate_string

    return validate_string(text, ValidationOptions(version="2.1"))


def test_stix_bundle_parses_back_validates_and_is_deterministic():
    import stix2

    report = example_report()
    text = render_stix(report)
    assert render_stix(report) == text
    bundle = stix2.parse(text, allow_custom=False)
    kinds = {o.type for o in bundle.objects}
    assert {"report", "indicator", "attack-pattern", "relationship", "ipv4-addr", "file", "process", "observed-data"} <= kinds
    result = _validate_stix(text)
    assert result.is_valid, [str(e) for o in result.errors for e in [o]]
    external = {r.external_id for o in bundle.objects if o.type == "attack-pattern" for r in o.external_references}
    assert {stage_tactics()[s.stage].id for s in report.stages} <= external
    confidence = {o.name: o.confidence for o in bundle.objects if o.type == "indicator"}
    assert confidence[f"file {report.iocs[0].value}"] == 85
    # full values: the file's directory and the flow's remote address
    directories = {o.path for o in bundle.objects if o.type == "directory"}
    assert "/tmp" in directories
    first_minute = next(iter(report.log)).minute
    assert all(str(o.created).startswith(first_minute[:10]) for o in bundle.objects if hasattr(o, "created"))


def test_stix_carries_technique_ids_when_the_report_has_them():
    import stix2

    report = example_report()
    stages = [report.stages[0].model_copy(update={"techniques": ["T1566.001", "bogus"]}), *report.stages[1:]]
    bundle = stix2.parse(render_stix(report.model_copy(update={"stages": stages})))
    ids = {r.external_id for o in bundle.objects if o.type == "attack-pattern" for r in o.external_references}
    assert "T1566.001" in ids and "bogus" not in ids


def test_stix_keeps_a_hostile_string_literal_and_inert():
    import stix2

    text = render_stix(hostile_report())
    assert not BIDI.search(text) and "<script>" not in text  # ASCII-only JSON
    bundle = stix2.parse(text)
    assert _validate_stix(text).is_valid
    assert f"file {HOSTILE}" in {o.name for o in bundle.objects if o.type == "indicator"}
    # a "/" inside the hostile name splits it as a path would; both pieces are kept literally
    assert "/tmp/<script>alert(1)</script>|`x`\nnext =cmd|' " in {o.path for o in bundle.objects if o.type == "directory"}
    pattern = next(o.pattern for o in bundle.objects if o.type == "indicator" and HOSTILE in o.name)
    assert "\\'" in pattern  # the quote in the name is escaped inside the STIX pattern literal
    report = next(o for o in bundle.objects if o.type == "report")
    assert report.name == f"Attack Report: {HOSTILE}"


# --------------------------------------------------------------------------- Navigator


def _validate_layer(text: str) -> dict:
    import jsonschema

    layer = json.loads(text)
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(layer)
    return layer


def test_navigator_layer_validates_and_scores_techniques_by_confidence():
    report = example_report()
    stages = [report.stages[0].model_copy(update={"techniques": ["T1566.001"]}), *report.stages[1:]]
    layer = _validate_layer(render_navigator(report.model_copy(update={"stages": stages})))
    assert layer["versions"]["layer"] == "4.5" and layer["domain"] == "enterprise-attack"
    technique = next(t for t in layer["techniques"] if t["techniqueID"] == "T1566.001")
    assert technique["tactic"] == "initial-access"
    assert technique["score"] == {"low": 33, "moderate": 67, "high": 100}[report.stages[0].confidence]
    assert report.stages[0].evidence[0] in technique["comment"]
    # every technique the rules attached to a stage is on the layer
    assert {t for s in report.stages[1:] for t in s.techniques} <= {t["techniqueID"] for t in layer["techniques"]}
    listed = {m["name"].split()[0] for m in layer["metadata"]}
    assert {stage_tactics()[s.stage].id for s in report.stages} <= listed


def test_navigator_keeps_a_hostile_string_literal_and_inert():
    report = hostile_report()
    stages = [report.stages[0].model_copy(update={"techniques": ["T1566"]}), *report.stages[1:]]
    text = render_navigator(report.model_copy(update={"stages": stages}))
    assert not BIDI.search(text) and "<script>" not in text
    layer = _validate_layer(text)
    assert HOSTILE in layer["techniques"][0]["comment"] and HOSTILE in layer["name"]


# --------------------------------------------------------------------------- Markdown


def test_markdown_shows_full_values_after_the_short_name():
    text = render_markdown(example_report())
    assert "| `invoice.pdf.sh` (`/tmp/invoice.pdf.sh`) |" in text
    assert "the flow: `203.0.113.45` (`10.0.3.7->203.0.113.45:443`)" in text


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def test_markdown_keeps_a_hostile_string_literal_and_inert():
    text = render_markdown(hostile_report(), diagram=True)
    body, chart = text.split("```mermaid\n")[0], text.split("```mermaid\n")[1].split("\n```")[0]
    outside_code = _CODE_SPAN.sub("", body)
    assert "<" not in outside_code  # markup only as inert code-span text or &lt; entities
    assert "&lt;script&gt;" in body and "``<script>alert(1)</script>\\|`x`\\nnext =cmd\\|" in body
    for line in body.splitlines():
        if line.startswith("| ") and "alert(1)" in line:
            cells = [c for c in re.split(r"(?<!\\)\|", _CODE_SPAN.sub("code", line))]
            assert len(cells) == 4, line  # the pipe in the name does not add a column
    assert "\\nnext" in body  # the newline is shown, not a line break
    # Mermaid: every character that could end a label, a link or the fence is an entity code
    labels = re.findall(r'(?:\["|\(\["|\[/"|\|")(.*?)(?:"\]|"\]\)|"/\]|"\|)', chart)
    assert labels and all(not re.search("[<>|`\"\u202e]", label) for label in labels)
    assert "#60;script#62;" in chart and "#92;n" in chart
    # a bidi override is shown as its escape, never as an entity code Mermaid decodes back
    # to the live character (which made invoice<RLO>gpj.exe read as invoiceexe.jpg)
    assert "#8238;" not in chart and "#92;u202e" in chart
    assert chart.count("\n") == len([l for l in chart.splitlines()]) - 1


def test_markdown_escapes_a_tampered_time_zone():
    # render reads saved JSON: a hand-edited metadata.timezone reached the log's intro raw
    report = example_report()
    zone = "UTC <img src=x onerror=alert(1)>\n# Injected heading\n[click](javascript:alert(1))"
    tampered = report.model_copy(update={"metadata": report.metadata.model_copy(update={"timezone": zone})})
    text = render_markdown(tampered)
    assert "<img" not in text and "\n# Injected heading" not in text
    assert not re.search(r"(?<!\\)\]\(javascript", text)  # the link's bracket escaped: inert text
    assert "Times are in UTC &lt;img" in text


def test_markdown_shows_bidi_controls_visibly():
    assert not BIDI.search(render_markdown(hostile_report()))


# --------------------------------------------------------------------------- HTML


def test_html_is_self_contained_and_forbids_fetching():
    text = render_html(example_report())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    assert csp.startswith("default-src 'none'; script-src 'sha256-") and "unsafe-eval" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    scripts = re.findall(r"<script>(.*?)</script>", text, re.DOTALL)
    assert len(scripts) == 6
    import base64
    import hashlib

    for script in scripts:  # every inline script is allowed by its hash, and only those
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    markup = re.sub(r"<script>.*?</script>", "", text, flags=re.DOTALL)  # the page, less the libraries' code
    assert not re.search(r"<(script|link|img|iframe|object|embed)[^>]*\s(src|href|data)=", markup)
    assert "@import" not in text and "url(" not in text.split("<style>")[1].split("</style>")[0]


def test_html_keeps_a_hostile_string_literal_and_inert():
    text = render_html(hostile_report())
    assert text.count("<script") == 7  # the data block and the six page scripts, nothing injected
    shown = show_invisible(HOSTILE)  # its line break and bidi controls as visible escapes, as in Markdown
    escaped = html.escape(shown, quote=True)
    assert f"<bdi>{escaped}</bdi>" in text and not BIDI.search(text)
    island = text.split('<script type="application/json" id="aptnarrate-data">')[1].split("</script>")[0]
    assert not re.search(r"[<>&]", island) and not BIDI.search(island)
    data = json.loads(island)
    labels = {e["data"].get("name") for e in data["graph"]["elements"]}
    assert shown in labels  # drawn on the canvas as the page's text shows it
    assert "<title>Attack Report: &lt;script&gt;" in text


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u2066", "\x00", "\x1b", "\u2028", "\ufeff", "\U000e0041"])
def test_html_shows_every_invisible_character_of_a_name_as_an_escape(char):
    """A bidi override inside a name reordered it within its <bdi> (``invoice\\u202egpj.exe``
    displayed as ``invoiceexe.jpg``), and zero-width or control characters hid text, in the
    page and on the graph's canvas; Markdown showed them as escapes. Now HTML does too."""
    from aptnarrate.render.escape import INVISIBLE

    name = f"invoice{char}gpj.exe"
    report = example_report()
    first = report.iocs[0]
    log = [e.model_copy(update={"object_name": name}) if e.object_name == first.value else e for e in report.log]
    report = report.model_copy(
        update={"iocs": [first.model_copy(update={"value": name, "full_values": [f"/tmp/{name}"]}), *report.iocs[1:]],
                "log": log, "input_name": name, "title": f"Attack Report: {name}", "summary": f"{report.summary} `{name}` {name}"}
    )
    text = render_html(report)
    page = re.sub(r"<script>.*?</script>", "", text, flags=re.DOTALL)  # the page, less the libraries' code
    assert not INVISIBLE.search(page.replace("\n", ""))
    shown = html.escape(show_invisible(name))
    assert page.count(shown) >= 5  # title, heading, summary (code and prose), IoC table, log
    island = json.loads(text.split('id="aptnarrate-data">')[1].split("</script>")[0])
    assert not INVISIBLE.search(json.dumps(island, ensure_ascii=False).replace("\n", ""))


def test_html_bounds_a_large_log():
    from aptnarrate.render import html as html_module

    report = example_report()
    original = (html_module.MAX_GRAPH_NODES, html_module.MAX_LOG_ROWS, html_module.MAX_TIMELINE_MARKS)
    try:
        html_module.MAX_GRAPH_NODES, html_module.MAX_LOG_ROWS, html_module.MAX_TIMELINE_MARKS = 5, 20, 10
        text = render_html(report)
    finally:
        html_module.MAX_GRAPH_NODES, html_module.MAX_LOG_ROWS, html_module.MAX_TIMELINE_MARKS = original
    data = json.loads(text.split('id="aptnarrate-data">')[1].split("</script>")[0])
    assert sum(1 for e in data["graph"]["elements"] if "source" not in e["data"]) == 5
    assert "The graph is bounded: showing 5 of" in text
    assert text.count('<tr id="row-') == 20 and f"first 20 of {len(report.log)} log rows" in text
    charts = data["spec"]["vconcat"]
    assert len(charts[0]["data"]["values"]) == 10 and len(charts[1]["data"]["values"]) == 10
    assert "The timeline is bounded:" in text


def test_vendored_libraries_match_their_documented_checksums_and_licences():
    import hashlib

    assets = Path(__file__).resolve().parents[1] / "aptnarrate" / "render" / "assets"
    table = (assets / "VENDORED.md").read_text(encoding="utf-8")
    from aptnarrate.render.html import VENDORED

    for name in VENDORED:
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}`"))
        digest = hashlib.sha256((assets / name).read_bytes()).hexdigest()
        assert f"`{digest}`" in row, name
        licence = re.search(r"\(`(LICENSE-[\w.-]+)`\)", row).group(1)
        assert (assets / licence).is_file()


def test_every_format_handles_an_empty_report():
    import stix2

    from aptnarrate.models import Metadata, Report

    empty = Report(
        title="Attack Report: empty.csv",
        input_name="empty.csv",
        summary="Nothing.",
        stages=[],
        iocs=[],
        log=[],
        metadata=Metadata(
            generator="aptnarrate test", backend="offline", timezone="UTC", time_basis="epoch converted to UTC",
            input_format="ocrapt", rows_read=0, events=0, log_rows=0,
        ),
    )
    out = {fmt: render(empty) for fmt, render in RENDERERS.items()}
    assert out["csv"].splitlines() == [",".join(("value", "full_value", "type", "likelihood", "rank", "first_seen", "last_seen", "subgraph", "reasons", "log_rows"))]
    assert [o.type for o in stix2.parse(out["stix"]).objects] == ["report", "identity"]
    assert _validate_layer(out["navigator"])["techniques"] == []
    assert "No named entity" in out["html"] and "No APT stage" in out["html"]
    assert "flowchart LR" in render_markdown(empty, diagram=True)


@pytest.mark.parametrize(
    ("logged", "key"),
    [
        ("HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater", "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater"),
        ("\\REGISTRY\\MACHINE\\SYSTEM\\CurrentControlSet\\Services\\evil", "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\evil"),
    ],
)
def test_stix_writes_a_registry_key_s_hive_in_full(tmp_path, logged, key):
    # STIX 2.1 forbids the short hive names; the validator failed on the Windows example's Run key
    from stix2validator import ValidationOptions, validate_string

    import aptnarrate
    from aptnarrate.render.stix import render_stix

    path = tmp_path / "reg.edges.csv"
    path.write_text(
        "subject_uuid,subject_type,subject_attr,predicate,timestamp,object_uuid,object_type,object_attr\n"
        + "".join(f'p1,PROCESS,evil.exe,EDIT,2019-09-24 11:32:0{n}.000-04:00,r1,REGISTRY,"{logged}"\n' for n in range(3))
    )
    bundle = render_stix(aptnarrate.narrate(path, backend="offline"))
    keys = [o["key"] for o in json.loads(bundle)["objects"] if o["type"] == "windows-registry-key"]
    assert keys == [key]
    assert validate_string(bundle, ValidationOptions(version="2.1")).is_valid


@pytest.mark.parametrize("name", ["a**b", "x`y`z", "**bold**"])
def test_html_prose_shows_a_names_markup_characters_literally(tmp_path, name):
    # the narrator quotes names as code spans; the page made the name's ** into <strong>
    # (mis-nested across elements, the asterisks eaten) and a backtick ended its code early
    from html.parser import HTMLParser

    from aptnarrate.pipeline import narrate

    path = tmp_path / "case.csv"
    path.write_text(
        "description,timestamp\n"
        + "".join(
            f'"The subject_process: bash {action} the file_object_file: /tmp/{name}",2025-05-14 09:11:0{n}\n'
            for n, action in enumerate(("WRITE", "EXECUTE", "UNLINK"))
        ),
        encoding="utf-8",
    )
    page = render_html(narrate(str(path), backend="offline"))
    assert f"<code><bdi>{html.escape(name)}</bdi></code>" in page
    assert not re.search(r"<code><bdi>[^<]*<strong>", page)

    class Nesting(HTMLParser):
        def __init__(self):
            super().__init__()
            self.open, self.bad = [], 0

        def handle_starttag(self, tag, attrs):
            if tag in ("code", "bdi", "strong", "p", "li", "td"):
                self.open.append(tag)

        def handle_endtag(self, tag):
            if tag in ("code", "bdi", "strong", "p", "li", "td"):
                self.bad += not self.open or self.open.pop() != tag

    checker = Nesting()
    checker.feed(page)
    assert checker.bad == 0
