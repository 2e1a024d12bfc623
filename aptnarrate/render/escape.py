"""Markdown escaping for untrusted text.

Names from the input (process names, file paths) and narrator prose may contain pipes,
backticks, newlines or HTML. Rendered through these helpers they stay inert text: they
cannot break a table row, close a code span, or inject markup.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def _visible_control(char: str) -> str:
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{ord(char):02x}")


def code(value: str, *, in_table: bool = True) -> str:
    """``value`` as an inline code span that no character in it can end early."""
    text = _CONTROL.sub(lambda m: _visible_control(m.group(0)), value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or not text.strip():
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def prose(text: str, *, in_table: bool = False) -> str:
    """Narrator prose: its own ``**bold**`` and `code` spans survive; HTML and table
    breakers do not."""
    parts = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        parts.append(_prose_plain(text[position : match.start()], in_table))
        parts.append(code(match.group(2).strip() or match.group(2), in_table=in_table))
        position = match.end()
    parts.append(_prose_plain(text[position:], in_table))
    return "".join(parts)


def _prose_plain(text: str, in_table: bool) -> str:
    text = _html(text)
    # no links or images (a name like "[x](http://...)" must stay text), and no line that
    # could pose as a heading of the report
    text = text.replace("[", "\\[").replace("]", "\\]")
    text = re.sub(r"(?m)^(\s*)#", r"\1\\#", text)
    if in_table:
        text = re.sub(r"\s*[\r\n]+\s*", " ", text).replace("|", "\\|")
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", lambda m: _visible_control(m.group(0)), text)


def plain(text: str) -> str:
    """Fully escaped text: no markup at all survives (for titles and metadata)."""
    text = _CONTROL.sub(lambda m: _visible_control(m.group(0)), text)
    return _MD_SPECIAL.sub(r"\\\1", _html(text))
