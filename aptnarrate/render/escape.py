"""Markdown escaping for untrusted text.

Names from the input (process names, file paths) and narrator prose may contain pipes,
backticks, newlines, HTML, or characters a reader cannot see (zero-width spaces, bidi
overrides such as U+202E that make ``invoice\\u202egpj.exe`` display as ``invoiceexe.jpg``,
line and paragraph separators, C1 controls). Rendered through these helpers they stay inert
text: they cannot break a table row, close a code span, start a list item or a heading,
inject markup, or hide or reorder what is displayed. Every invisible character is written
as a visible escape (``\\u202e``). All work here is linear in the length of the text.
"""

from __future__ import annotations

import re

# Every character of the Unicode categories Cc (controls), Cf (format: zero-width, bidi
# controls, soft hyphen, tags), Zl and Zp (line and paragraph separators), lone surrogates,
# the Default_Ignorable_Code_Point characters in none of them (the combining grapheme
# joiner, the Hangul fillers, Khmer's inherent vowels, variation selectors: they draw
# nothing, so ``sshd\u3164`` would pass for ``sshd``) and the blank braille pattern U+2800.
# Not private use (it draws a box or a vendor's glyph; grounding separates names with one). Written out so that importing costs nothing;
# tests/test_escape.py checks it against the running Python's unicodedata.
INVISIBLE_CLASS = (
    "\x00-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\u2800\u3164\ud800-\udfff\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff"
)
INVISIBLE = re.compile(f"[{INVISIBLE_CLASS}]")
_INVISIBLE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-{INVISIBLE_CLASS[2:]}]")
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_BACKTICKS = re.compile(r"`+")
_WHITESPACE = re.compile(r"\s+")
# what opens a Markdown block at the start of a line: headings, quotes, tables, setext
# underlines and ~~~ fences (escaped always: "\#" renders as "#"), bullets ("- ", "* ",
# "+ "), thematic breaks ("---", "* * *") and ordered list items ("1. ", "2) ")
_BLOCK_START = re.compile(
    r"(?m)^([^\S\n]*)(?:([#>|=~])|([-+*])(?=[ \t]|$)|([-*_])(?=(?:[ \t]*[-*_]){2,}[ \t]*$)|(\d{1,9})([.)])(?=[ \t]|$))"
)


def visible(char: str) -> str:
    """One invisible character as the escape a reader sees: ``\\n``, ``\\x1b``, ``\\u202e``."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
    if named:
        return named
    point = ord(char)
    if point < 0x80:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def show_invisible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every invisible character written as a visible escape."""
    pattern = _INVISIBLE_BUT_NEWLINE if keep_newlines else INVISIBLE
    return pattern.sub(lambda m: visible(m.group(0)), text)


def code(value: str, *, in_table: bool = True) -> str:
    """``value`` as an inline code span that no character in it can end early."""
    if value.isascii() and value.isprintable() and "`" not in value and "|" not in value and value.strip():
        # most names: nothing to show, fence, pad or escape (ASCII's invisible characters
        # are exactly those ``isprintable`` rejects), so ``_code`` would return this too
        return f"`{value}`"
    return _code(value, in_table=in_table)


def _code(value: str, *, in_table: bool = True) -> str:
    text = show_invisible(value)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or not text.strip():
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, content)`` of each Markdown code span in ``text``: a run of backticks
    closed by the next run of the same length. As in CommonMark, a backslash before a run
    outside a span makes the run's first backtick literal text (inside a span a backslash
    is literal). One pass over the runs with a cursor per run length, so
    linear even for text made of backticks (a backtracking regex is not)."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    by_length: dict[int, list[int]] = {}  # run indexes of each length, in order
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    cursor: dict[int, int] = {}  # per length: the first of its runs not yet passed
    spans = []
    index = 0
    while index < len(runs):
        start, open_end = runs[index]
        if _escaped(text, start):
            start += 1
        length = open_end - start
        same = by_length.get(length, ())
        at = cursor.get(length, 0)
        while at < len(same) and same[at] <= index:
            at += 1
        cursor[length] = at
        if length and at < len(same):
            closing = same[at]
            close_start, close_end = runs[closing]
            spans.append((start, close_end, text[open_end:close_start]))
            index = closing + 1
        else:
            index += 1
    return spans


def _escaped(text: str, position: int) -> bool:
    """Whether the character at ``position`` follows an odd number of backslashes."""
    count = 0
    while position - count > 0 and text[position - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def prose(text: str, *, in_table: bool = False, single_line: bool = False) -> str:
    """Narrator prose: its own ``**bold**`` and `code` spans survive; HTML, links, table
    breakers, invisible characters and anything that could open a Markdown block (a list
    item, a heading, a quote) do not. ``single_line`` (implied by ``in_table``) turns line
    breaks into spaces, for prose that sits inside a list item or a table cell."""
    one_line = in_table or single_line
    parts = []
    position = 0
    for start, end, content in code_spans(text):
        parts.append(_prose_plain(text[position:start], in_table, one_line))
        inner = content.strip() or content
        parts.append(code(_WHITESPACE.sub(" ", inner) if one_line else inner, in_table=in_table))
        position = end
    parts.append(_prose_plain(text[position:], in_table, one_line))
    out = "".join(parts)
    # on one line the text never starts a line of the document (it follows a list marker
    # or sits in a cell); otherwise no line of it may open a block
    return out if one_line else _BLOCK_START.sub(_escape_block, out)


def _escape_block(match: re.Match[str]) -> str:
    indent, always, bullet, rule, number, delimiter = match.groups()
    if number:
        return f"{indent}{number}\\{delimiter}"
    return f"{indent}\\{always or bullet or rule}"


def _prose_plain(text: str, in_table: bool, one_line: bool) -> str:
    text = _html(text)
    # no links or images (a name like "[x](http://...)" must stay text)
    text = text.replace("[", "\\[").replace("]", "\\]")
    # code spans were taken out before: a backtick left here is unpaired, and a run of
    # three at a line start would open a fence that swallows the rest of the report
    text = text.replace("`", "\\`")
    if one_line and ("\n" in text or "\r" in text):
        # each whitespace run that holds a line break becomes one space (one match per run:
        # linear, unlike a pattern that backtracks over long runs of spaces)
        text = _WHITESPACE.sub(lambda m: " " if _has_break(m.group(0)) else m.group(0), text)
    if in_table:
        text = text.replace("|", "\\|")
    return show_invisible(text, keep_newlines=not one_line)


def _has_break(run: str) -> bool:
    return "\n" in run or "\r" in run  # other separators (U+2028, U+0085) are shown escaped


def plain(text: str) -> str:
    """Fully escaped text: no markup at all survives (for titles and metadata)."""
    text = show_invisible(text)
    return _MD_SPECIAL.sub(r"\\\1", _html(text))
