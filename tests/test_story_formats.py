"""The attack story in every output format: md, json, html, stix, navigator, csv.

The shipped host example goes through one in-process ``batch --story`` with every format;
the cadets corpus story (the shared ``cadets_batch``) is rendered in-process from its saved
reports. A hostile story (names with markup, table and code delimiters, a formula and bidi
overrides) checks that every format keeps the string literal and inert.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest
from outputs_support import FORMULA, HOSTILE, example_report, hostile_report

from aptnarrate.render.escape import show_invisible

from aptnarrate import cli
from aptnarrate.host.story import Story, build_story
from aptnarrate.models import Report
from aptnarrate.render import FILE_ENDINGS, STORY_RENDERERS

SCHEMA = Path(__file__).parent / "data" / "navigator-layer-4.5.schema.json"
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
ALL = ",".join(STORY_RENDERERS)


@pytest.fixture(scope="module")
def host_batch(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("host-story")
    code = cli.main(["batch", "--example", "host", "-o", str(out), "--story", "--backend", "offline", "--formats", ALL])
    assert code == 0
    return out


def _reports(folder: Path, prefix: str) -> list[tuple[str, Report]]:
    paths = sorted(p for p in folder.glob(f"{prefix}*.json") if p.name.count(".") == 1)
    return [(p.stem, Report.model_validate_json(p.read_text(encoding="utf-8"))) for p in paths]


def _validate_layer(text: str) -> dict:
    import jsonschema

    layer = json.loads(text)
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).validate(layer)
    return layer


def _data_island(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="aptnarrate-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(block)


def _check_story_formats(texts: dict[str, str], story: Story, reports: list[tuple[str, Report]]) -> None:
    """What every story format must hold, whatever the host (the STIX bundle is parsed
    back with ``stix2`` and validated once, in the test below: both take seconds)."""
    names = [name for name, _ in reports]
    assert Story.model_validate_json(texts["json"]) == story
    assert texts["md"] == story.to_markdown()

    objects = json.loads(texts["stix"])["objects"]
    story_report = next(o for o in objects if o["type"] == "report" and o["name"] == story.title)
    subgraph_reports = [o for o in objects if o["type"] == "report" and o is not story_report]
    assert len(subgraph_reports) == len(reports)  # one report per subgraph ...
    assert sorted(story_report["object_refs"]) == sorted(o["id"] for o in subgraph_reports)  # ... that the story refers to
    assert {o["labels"][0] for o in subgraph_reports} == {f"subgraph:{n}" for n in names}
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids))
    known = set(ids)
    for obj in subgraph_reports:  # each subgraph's report refers only to objects in the bundle
        assert set(obj["object_refs"]) <= known

    layer = _validate_layer(texts["navigator"])
    scores = {"low": 33, "moderate": 67, "high": 100}
    for name, report in reports:  # merged by the highest score; comments cite subgraph:row
        for finding in report.stages:
            for technique in finding.techniques:
                entry = next(t for t in layer["techniques"] if t["techniqueID"] == technique)
                assert entry["score"] >= scores[finding.confidence]
    for entry in layer["techniques"]:
        assert re.search(r"\S+:L\d+", entry["comment"]), entry["comment"]
        best = max(scores[f.confidence] for _, r in reports for f in r.stages if entry["techniqueID"] in f.techniques)
        assert entry["score"] == best

    rows = list(csv.reader(io.StringIO(texts["csv"])))
    header, body = rows[0], rows[1:]
    column = header.index("subgraph")
    expected = {(name, entry.value) for name, report in reports for entry in report.iocs}
    assert {(row[column], row[0]) for row in body} == expected

    page = texts["html"]
    assert "default-src 'none'" in page and not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    elements = _data_island(page)["graph"]["elements"]
    parents = [e for e in elements if "subgraph" in e.get("classes", "")]
    assert [p["data"]["name"] for p in parents] == names  # one compound node per subgraph
    children = [e for e in elements if e["data"].get("parent")]
    assert {c["data"]["parent"] for c in children} <= {p["data"]["id"] for p in parents}
    shared = [e for e in elements if e.get("classes") == "shared"]
    node_name = {e["data"]["id"]: (e["data"]["kind"], e["data"]["name"]) for e in children}
    for edge in shared:  # a cross link joins the same entity in two subgraphs
        assert node_name[edge["data"]["source"]] == node_name[edge["data"]["target"]]
    spec = _data_island(page)["spec"]
    assert {m["subgraph"] for m in spec["vconcat"][0]["data"]["values"]} == {n for n, r in reports if r.log}


def test_batch_writes_the_host_example_story_in_every_format(host_batch):
    story = Story.model_validate_json((host_batch / "story.json").read_text(encoding="utf-8"))
    reports = _reports(host_batch, "host_subgraph_")
    texts = {name: (host_batch / f"story{FILE_ENDINGS[name]}").read_text(encoding="utf-8") for name in STORY_RENDERERS}
    _check_story_formats(texts, story, reports)
    # the example's stages share techniques across subgraphs: the layer is not empty
    assert json.loads(texts["navigator"])["techniques"]


def test_stix_story_bundle_passes_the_validator_and_is_deterministic(host_batch):
    from stix2validator import ValidationOptions, validate_string

    text = (host_batch / "story.stix.json").read_text(encoding="utf-8")
    import stix2

    result = validate_string(text, ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    assert len(stix2.parse(text, allow_custom=False).objects) == len(json.loads(text)["objects"])
    story = Story.model_validate_json((host_batch / "story.json").read_text(encoding="utf-8"))
    assert STORY_RENDERERS["stix"](story, _reports(host_batch, "host_subgraph_")) == text


def test_story_command_writes_every_format_the_batch_wrote(host_batch, tmp_path):
    """``story REPORT.json... -o OUT`` picks the format from OUT's ending and gives the
    batch's bytes for the same reports and title."""
    saved = [str(host_batch / f"{name}.json") for name, _ in _reports(host_batch, "host_subgraph_")]
    title = Story.model_validate_json((host_batch / "story.json").read_text(encoding="utf-8")).title
    for name in ("html", "stix", "navigator", "csv"):
        out = host_batch / f"again{FILE_ENDINGS[name]}"  # beside the reports: the same relative links
        assert cli.main(["story", *saved, "--title", title, "--backend", "offline", "-o", str(out)]) == 0
        assert out.read_text(encoding="utf-8") == (host_batch / f"story{FILE_ENDINGS[name]}").read_text(encoding="utf-8"), name


def test_story_command_refuses_a_format_that_contradicts_the_ending(host_batch, tmp_path, capsys):
    saved = [str(host_batch / f"{name}.json") for name, _ in _reports(host_batch, "host_subgraph_")]
    assert cli.main(["story", *saved, "--backend", "offline", "--format", "md", "-o", str(tmp_path / "x.json")]) == 2
    assert "does not match the output file" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_cadets_story_in_every_format(cadets_batch):
    story = Story.model_validate_json((cadets_batch / "story.json").read_text(encoding="utf-8"))
    reports = _reports(cadets_batch, "cadets_subgraph_")
    assert [n for n, _ in reports] == sorted(s.name for s in story.subgraphs)
    by_story_order = dict(reports)
    reports = [(s.name, by_story_order[s.name]) for s in story.subgraphs]
    texts = {name: render(story, reports) for name, render in STORY_RENDERERS.items()}
    _check_story_formats(texts, story, reports)
    # every IoC of the story table is in the CSV under each subgraph it appears in
    rows = list(csv.reader(io.StringIO(texts["csv"])))
    pairs = {(r[7], r[0]) for r in rows[1:]}
    for ioc in story.iocs:
        for name in ioc.subgraphs:
            assert (name, ioc.value) in pairs


# --------------------------------------------------------------------------- hostile strings


@pytest.fixture(scope="module")
def hostile_story():
    reports = [(f"sub {HOSTILE}", hostile_report()), ("plain", example_report())]
    story = build_story(reports, title=f"Story {HOSTILE}", report_links={reports[0][0]: f"{HOSTILE}.md"})
    return story, reports


def test_no_invisible_character_of_a_subgraph_name_reaches_the_story_page_raw(monkeypatch):
    """The note of a bounded graph names each cut subgraph; it was escaped for HTML only, so
    a name's escape sequence or bidi override reached the page raw."""
    import aptnarrate.render.story as story_module
    from aptnarrate.render.escape import INVISIBLE

    monkeypatch.setattr(story_module, "MAX_NODES_PER_SUBGRAPH", 3)
    monkeypatch.setattr(story_module, "MAX_STORY_GRAPH_NODES", 3)
    reports = [(f"sub\x1b[31m\u202e{i}\u200b", example_report()) for i in range(2)]
    page = STORY_RENDERERS["html"](build_story(reports, title="Story"), reports)
    assert "The graph is bounded" in page
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)
    assert not INVISIBLE.search(markup.replace("\n", "")), INVISIBLE.search(markup.replace("\n", ""))
    assert "sub\\x1b[31m\\u202e0\\u200b" in markup


def test_a_subgraph_named_like_a_url_scheme_links_to_a_relative_path():
    """A batch input named ``javascript:alert(1).csv`` (a legal file name) gets the report link
    ``javascript:alert(1).md``: the Markdown story percent-encoded it, the HTML story wrote it
    as it is, a ``javascript:`` URL (blocked only by the page's policy)."""
    name = "javascript:alert(1)"
    reports = [(name, example_report())]
    story = build_story(reports, title="Story", report_links={name: f"{name}.md"})
    page = STORY_RENDERERS["html"](story, reports)
    targets = re.findall(r'<a href="([^"#][^"]*)"', page)
    assert targets and all(t == "javascript%3Aalert%281%29.md" for t in targets), targets
    assert "](javascript%3Aalert%281%29.md)" in STORY_RENDERERS["md"](story, reports)


def test_story_markdown_and_json_keep_a_hostile_string_inert(hostile_story):
    story, reports = hostile_story
    from aptnarrate.render.escape import code_spans

    md = STORY_RENDERERS["md"](story, reports)
    outside_code, last = [], 0
    for start, end, _ in code_spans(md):
        outside_code.append(md[last:start])
        last = end
    outside_code.append(md[last:])
    assert "<" not in "".join(outside_code).replace("<details>", "").replace("</details>", "").replace("<summary>", "").replace("</summary>", "")
    assert "&lt;script&gt;" in md and not BIDI.search(md)  # markup as entities or inert code-span text
    assert Story.model_validate_json(STORY_RENDERERS["json"](story, reports)).title == f"Story {HOSTILE}"


def test_story_html_keeps_a_hostile_string_literal_and_inert(hostile_story):
    story, reports = hostile_story
    page = STORY_RENDERERS["html"](story, reports)
    assert "<script>alert" not in page  # neither as markup nor inside the JSON block
    shown = show_invisible(HOSTILE)  # its line break and bidi controls as visible escapes, as in Markdown
    assert html.escape(shown, quote=True) in page and not BIDI.search(page)
    data = _data_island(page)
    names = {e["data"].get("name") for e in data["graph"]["elements"]}
    assert f"sub {shown}" in names and shown in names
    assert page.count("<script") == 7  # the data block and the six page scripts


def test_story_stix_keeps_a_hostile_string_literal_and_inert(hostile_story):
    import stix2

    story, reports = hostile_story
    text = STORY_RENDERERS["stix"](story, reports)
    assert not BIDI.search(text) and "<script>" not in text
    bundle = stix2.parse(text, allow_custom=False)
    assert f"Story {HOSTILE}" in {o.name for o in bundle.objects if o.type == "report"}
    assert f"subgraph:sub {HOSTILE}" in {o.labels[0] for o in bundle.objects if o.type == "report" and o.labels and o.labels[0].startswith("subgraph:")}


def test_story_navigator_keeps_a_hostile_string_literal_and_inert(hostile_story):
    story, reports = hostile_story
    text = STORY_RENDERERS["navigator"](story, reports)
    assert not BIDI.search(text) and "<script>" not in text
    layer = _validate_layer(text)
    assert HOSTILE in layer["name"]
    assert any(f"sub {HOSTILE}:L" in t["comment"] for t in layer["techniques"])


def test_story_csv_keeps_a_hostile_string_literal_and_inert(hostile_story):
    story, reports = hostile_story
    rows = list(csv.reader(io.StringIO(STORY_RENDERERS["csv"](story, reports))))
    hostile = [row for row in rows if row[0] == HOSTILE]
    assert hostile and {row[7] for row in hostile} == {f"sub {HOSTILE}"}
    assert "'" + FORMULA in {row[1] for row in hostile}
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_story_and_eval_take_a_batch_folder_with_every_format(host_batch, tmp_path):
    """A batch OUTDIR holds index.json, story.json and STIX/Navigator JSON beside the
    reports; a folder argument reads only the reports (a glob like out/*.json would not)."""
    out = tmp_path / "story.md"
    assert cli.main(["story", str(host_batch), "--backend", "offline", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "## Attack Stages" in text and all(name in text for name, _ in _reports(host_batch, "host_subgraph_"))
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"ATTACK": {"file": ["update.sh"], "ip": []}}))
    assert cli.main(["eval", str(host_batch), "--truth", str(truth), "--format", "json", "-o", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())


def test_render_re_renders_a_saved_story_in_every_format(host_batch, tmp_path, capsys):
    """``render story.json --format X`` gives the batch's bytes: Markdown and JSON from the
    story alone, the drawn formats from the subgraph reports saved beside it."""
    for name in ("md", "json", "html", "stix", "navigator", "csv"):
        out = host_batch / f"rendered{FILE_ENDINGS[name]}"  # beside the reports: the same relative links
        assert cli.main(["render", str(host_batch / "story.json"), "--format", name, "-o", str(out)]) == 0
        assert out.read_text(encoding="utf-8") == (host_batch / f"story{FILE_ENDINGS[name]}").read_text(encoding="utf-8"), name
    alone = tmp_path / "story.json"
    alone.write_text((host_batch / "story.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert cli.main(["render", str(alone), "--format", "md"]) == 0  # needs no report
    capsys.readouterr()
    assert cli.main(["render", str(alone), "--format", "html", "-o", str(tmp_path / "s.html")]) == 3
    assert "not beside the story" in capsys.readouterr().err
