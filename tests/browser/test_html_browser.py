"""The HTML report in a real browser: headless Chromium over the DevTools protocol opens
each page from disk (one browser, two pages) and checks: no console error or exception,
no request leaving the page, the timeline and the graph drawn with a size, a click on an
entity reaching its log rows, a real mouse hover on the timeline showing its rows, a hostile name shown literally, and a screenshot of the two
pictures that is not blank (saved under pytest's tmp dir, path printed).

Skipped, with the reason, where no Chromium is installed (``apt-get install chromium``;
``APTNARRATE_BROWSER`` names another executable).
"""

from __future__ import annotations

import io
import re

import pytest
from outputs_support import HOSTILE, example_report, hostile_report

from aptnarrate.render.escape import show_invisible

from aptnarrate.render.html import render_html

pytest.importorskip("websocket", reason="websocket-client is in the test extra: pip install -e '.[test]'")
from browser.cdp import Browser, find_browser  # noqa: E402

READY = "document.readyState === 'complete' && !!document.body.getAttribute('data-timeline') && !!document.body.getAttribute('data-graph')"
CHECKS = """JSON.stringify((function () {
  function box(selector) {
    var e = document.querySelector(selector); if (!e) return null;
    var r = e.getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height};
  }
  var graph = window.aptnarrateGraph, node = graph && graph.nodes().filter(function (n) { return n.data('rows').length; })[0];
  if (node) node.emit('tap');
  var ioc = document.querySelector('#iocs tbody td code bdi');
  return {
    timeline: document.body.getAttribute('data-timeline'), graph: document.body.getAttribute('data-graph'),
    timelineBox: box('#timeline svg'), graphBox: box('#graph canvas'),
    timelineMarks: document.querySelectorAll('#timeline svg g.mark-rect path, #timeline svg g.mark-symbol path').length,
    graphNodes: graph ? graph.nodes().length : 0,
    positions: graph ? graph.nodes().map(function (n) { var p = n.position(); return n.id() + '@' + Math.round(p.x) + ',' + Math.round(p.y); }).join(' ') : '',
    selection: document.getElementById('selection').textContent,
    highlightedRows: document.querySelectorAll('tr.hit').length,
    clipTop: document.getElementById('timeline-section').getBoundingClientRect().top + scrollY,
    scripts: document.scripts.length, firstIoc: ioc ? ioc.textContent : null, title: document.title
  };
})())"""
CLIP = """JSON.stringify((function () {
  var top = document.getElementById('timeline-section').getBoundingClientRect().top + scrollY;
  var bottom = document.getElementById('graph').getBoundingClientRect().bottom + scrollY;
  return {x: 0, y: top, width: document.documentElement.clientWidth, height: bottom - top};
})())"""
# a real mouse over the first bar of the timeline: its tooltip lists the bar's log rows
HOVER = """JSON.stringify((function () {
  var bar = document.querySelector('#timeline svg g.mark-rect path');
  bar.scrollIntoView({block: 'center'});
  var r = bar.getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 2};
})())"""
TOOLTIP = """JSON.stringify((function () {
  var tip = document.getElementById('vg-tooltip-element');
  return tip ? {visible: tip.classList.contains('visible'), text: tip.textContent} : null;
})())"""


@pytest.fixture(scope="module")
def browser():
    executable = find_browser()
    if executable is None:
        pytest.skip("no Chromium found (install Debian's 'chromium' package or set APTNARRATE_BROWSER)")
    instance = Browser(executable)
    yield instance
    instance.close()


def _not_blank(png: bytes, box: dict, clip_top: float) -> float:
    """The grey-level spread inside ``box`` of the screenshot (0 for a blank region)."""
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(png)).convert("L")
    left, top = int(box["x"]), int(box["y"] - clip_top)
    region = image.crop((left, top, left + int(box["width"]), top + int(box["height"])))
    return ImageStat.Stat(region).stddev[0]


@pytest.mark.parametrize("which", ["hostile", "example"])
def test_html_report_renders_offline_in_chromium(browser, which, tmp_path_factory):
    report = hostile_report() if which == "hostile" else example_report()
    folder = tmp_path_factory.mktemp(f"html-{which}")
    page = folder / "report.html"
    page.write_text(render_html(report), encoding="utf-8")

    result = browser.open(page, READY, CHECKS, clip_js=CLIP, hover_js=HOVER, after_hover_js=TOOLTIP)
    status = result.status

    assert result.console_errors == [] and result.exceptions == []
    assert result.outside_requests() == [], "the page asked for something beyond itself"
    assert status["timeline"] == "rendered" and status["graph"] == "rendered"
    assert status["timelineBox"]["width"] > 300 and status["timelineBox"]["height"] > 150
    assert status["graphBox"]["width"] > 300 and status["graphBox"]["height"] > 300
    assert status["timelineMarks"] > 0 and status["graphNodes"] > 0
    assert "log row(s)" in status["selection"] and status["highlightedRows"] > 0  # a click reaches the log
    hover = status["hover"]
    assert hover and hover["visible"] and re.search(r"L\d+: ", hover["text"]), hover  # hover shows the rows
    assert status["scripts"] == 7  # the data block and the six page scripts: nothing injected ran
    if which == "hostile":
        # shown literally, its line break and bidi controls as the visible escapes Markdown shows
        shown = show_invisible(HOSTILE)
        assert status["firstIoc"] == shown and status["title"] == f"Attack Report: {shown}"

    shot = folder / "timeline-and-graph.png"
    shot.write_bytes(result.screenshot)
    print(f"screenshot: {shot}")
    clip_top = status["clipTop"]  # the screenshot starts at the timeline section
    assert _not_blank(result.screenshot, status["timelineBox"], clip_top) > 10, shot
    assert _not_blank(result.screenshot, status["graphBox"], clip_top) > 5, shot



def test_story_html_renders_offline_in_chromium(browser, tmp_path_factory):
    """The story page of the shipped host example plus a hostile subgraph: the same checks,
    with the timeline across subgraphs and the graph of one compound node per subgraph."""
    from pathlib import Path

    import aptnarrate
    from aptnarrate.examples import host_example_dir
    from aptnarrate.host.story import build_story
    from aptnarrate.render import STORY_RENDERERS

    inputs = sorted(Path(host_example_dir("host")).glob("*.csv"))
    reports = [(p.stem, aptnarrate.narrate(str(p), backend="offline")) for p in inputs]
    reports.append((f"sub {HOSTILE}", hostile_report()))
    story = build_story(reports, title="Story of the example host")
    folder = tmp_path_factory.mktemp("html-story")
    page = folder / "story.html"
    page.write_text(STORY_RENDERERS["html"](story, reports), encoding="utf-8")

    compounds = "JSON.stringify(window.aptnarrateGraph.nodes(':parent').length)"
    result = browser.open(page, READY, CHECKS.replace("title: document.title", f"title: document.title, parents: {compounds}"),
                          clip_js=CLIP, hover_js=HOVER, after_hover_js=TOOLTIP)
    status = result.status
    assert result.console_errors == [] and result.exceptions == []
    assert result.outside_requests() == [], "the page asked for something beyond itself"
    assert status["timeline"] == "rendered" and status["graph"] == "rendered"
    assert status["timelineBox"]["width"] > 300 and status["timelineBox"]["height"] > 150
    assert status["graphBox"]["width"] > 300 and status["graphBox"]["height"] > 300
    assert status["timelineMarks"] > 0 and status["graphNodes"] > len(reports)
    assert int(status["parents"]) == len(reports)  # one compound node per subgraph
    assert "log row(s)" in status["selection"] and status["highlightedRows"] > 0  # a click reaches the log
    hover = status["hover"]
    assert hover and hover["visible"] and re.search(r":L\d+: ", hover["text"]), hover  # rows cited as subgraph:row
    assert status["scripts"] == 7
    # the graph's layout is the same on every load (CoSE starts from a grid, not from
    # coinciding nodes it would push apart at random): a second load puts every node at
    # the same place
    again = browser.open(page, READY, CHECKS).status
    assert again["positions"] == status["positions"] and status["positions"].count("@") == status["graphNodes"]
    shot = folder / "story-timeline-and-graph.png"
    shot.write_bytes(result.screenshot)
    print(f"screenshot: {shot}")
    assert _not_blank(result.screenshot, status["timelineBox"], status["clipTop"]) > 10, shot
    assert _not_blank(result.screenshot, status["graphBox"], status["clipTop"]) > 5, shot
