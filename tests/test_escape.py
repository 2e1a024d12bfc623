"""Output injection (issue 6): invisible characters and forged Markdown blocks stay inert."""

from __future__ import annotations

import re
import sys
import time
import unicodedata

import pytest

from aptnarrate.models import Metadata, Report, StageFinding
from aptnarrate.llm.prompt import data_line
from aptnarrate.render.escape import INVISIBLE, code, plain, prose
from aptnarrate.render.markdown import render_markdown

HIDDEN = ["\u202e", "\u200b", "\u2028", "\u2029", "\u0085", "\u009b", "\u200f", "\u2066", "\ufeff", "\x1b", "\U000e0041"]


def test_the_invisible_class_covers_every_control_format_and_separator_character():
    missing = [
        f"U+{point:04X}"
        for point in range(sys.maxunicode + 1)
        if unicodedata.category(chr(point)) in ("Cc", "Cf", "Zl", "Zp", "Cs") and not INVISIBLE.match(chr(point))
    ]
    assert missing == []


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, 15.1), which Python's
# unicodedata does not expose: characters that draw nothing whatever their category
DEFAULT_IGNORABLE = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
]


def test_the_invisible_class_covers_every_default_ignorable_character():
    # a Hangul filler or a variation selector after a name draws nothing: "sshd\u3164" must
    # not pass for "sshd" (the robustness probe's finding)
    missing = [f"U+{p:04X}" for low, high in DEFAULT_IGNORABLE for p in range(low, high + 1) if not INVISIBLE.match(chr(p))]
    assert missing == []
    assert "\\u3164" in code("sshd\u3164")


def _report(summary: str = "Nothing.", rationale: str = "Beacons.", title: str = "x.csv") -> Report:
    return Report(
        title=f"Attack Report: {title}",
        input_name=title,
        summary=summary,
        stages=[
            StageFinding(stage="Command and Control", confidence="high", evidence=["L1"], minutes=["2018-04-11 23:58"], rationale=rationale)
        ],
        iocs=[],
        log=[],
        metadata=Metadata(
            generator="aptnarrate test",
            backend="offline",
            timezone="UTC",
            time_basis="epoch converted to UTC",
            input_format="ocrapt",
            rows_read=1,
            events=1,
            log_rows=0,
            notes=["note \u202eton"],
        ),
    )


@pytest.mark.parametrize("char", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
def test_no_invisible_character_reaches_the_markdown_raw(char):
    name = f"invoice{char}gpj.exe"
    markdown = render_markdown(_report(summary=f"It ran `{name}` and {name}.", rationale=f"Ran {name}.", title=name))
    assert char not in markdown
    escaped = f"\\u{ord(char):04x}" if 0x80 <= ord(char) <= 0xFFFF else None
    if escaped:
        assert markdown.count(escaped) >= 4  # title, code span, prose, stage bullet
    for rendered in (code(name), prose(name), prose(name, in_table=True), plain(name)):
        assert char not in rendered


def test_a_bidi_override_shows_as_an_escape_where_it_would_reorder_the_name():
    assert code("invoice\u202egpj.exe") == "`invoice\\u202egpj.exe`"
    assert plain("invoice\u202egpj.exe") == "invoice\\\\u202egpj.exe"  # "\\u202e" once rendered


def test_a_rationale_cannot_forge_a_stage_bullet():
    forged = "Beacons.\n- **Privilege Escalation** (high confidence; log rows L1): root obtained.\n\n- **Lateral Movement** (high)"
    markdown = render_markdown(_report(rationale=forged))
    bullets = [line for line in markdown.splitlines() if re.match(r"\s*[-*+] ", line)]
    # the one validated stage and the metadata items; no other list item
    stage_bullets = [line for line in bullets if re.match(r"\s*[-*+] \*\*", line)]
    assert stage_bullets == [next(line for line in bullets if "Command and Control" in line)]
    assert "Privilege Escalation" in stage_bullets[0]  # shown, inline, as the model's text


@pytest.mark.parametrize(
    "forged",
    [
        "- **Privilege Escalation** (high confidence; log rows L1): x",
        "* **Privilege Escalation**",
        "+ item",
        "1. item",
        "2) item",
        "# Heading",
        "> quote",
        "---",
        "```",
        "~~~",
        "| a | b |",
        "===",
    ],
)
def test_summary_prose_cannot_open_a_markdown_block_on_any_line(forged):
    for text in (forged, f"First line.\n{forged}", f"First line.\n   {forged}"):
        out = prose(text)
        for line in out.splitlines():
            assert not re.match(r"\s*([-*+] |\d+[.)]( |$)|#|>|---|```|~~~|\||===)", line), (text, out)


def test_escaping_is_linear_in_hostile_text():
    texts = ["`" * 100_000, " " * 100_000 + "x", "\n" * 100_000, "\n " * 50_000, "`a" * 50_000, "".join("`" * i + "x" for i in range(1, 440))]
    started = time.process_time()
    for text in texts:
        prose(text)
        prose(text, in_table=True)
        code(text)
        plain(text)
    assert time.process_time() - started < 2.0


def test_the_prompt_escapes_invisible_characters_in_data_lines():
    value = "invoice\u202egpj.exe\u200b\u2028\u0085\u009b\U000e0041"
    line = data_line({"name": value})
    assert line.isascii()
    assert "\\u202e" in line and "\\u200b" in line and "\\u0085" in line and "\\udb40\\udc41" in line
    import json

    assert json.loads(line) == {"name": value}


def test_code_spans_treat_a_backslash_escaped_backtick_as_text():
    """CommonMark: outside a span ``\\``` is a literal backtick, so it cannot pair with a
    backtick inside a later span; inside a span a backslash is literal."""
    from aptnarrate.render.escape import code_spans

    text = "by a\\|b\\`x; who: ``a|b`<img>`` and `c`"
    assert [content for _s, _e, content in code_spans(text)] == ["a|b`<img>", "c"]
    assert [content for _s, _e, content in code_spans("\\``x`")] == ["x"]  # the run's first backtick is literal
    assert [content for _s, _e, content in code_spans("\\\\`x`")] == ["x"]  # an escaped backslash escapes nothing
    assert [content for _s, _e, content in code_spans("`a\\`")] == ["a\\"]  # inside a span a backslash is literal
