"""Small rules of wording shared by the generated texts (rank reasons, offline narration)."""

from __future__ import annotations

from .render.escape import code


def mid_sentence(phrase: str) -> str:
    """``phrase`` continued mid-sentence: its first letter lowercased ("Scheduled task
    created" -> "scheduled task created"), unless its first word is a name or an acronym
    written with other capitals ("PowerShell activity", "LSASS memory read", "SSH key")."""
    first = phrase.split(" ", 1)[0]
    if any(c.isupper() for c in first[1:]):
        return phrase
    return phrase[:1].lower() + phrase[1:]


def quoted(name: str) -> str:
    """A name from the log as narration writes it, a CommonMark code span: fenced by more
    backticks than any run inside it, control and invisible characters written visibly
    (``\\n``), so no name can end its span early, pair with another name's backtick or
    break the line (the grounding reads such spans whole)."""
    return code(name, in_table=False)


def file_name_text(name: str) -> str:
    """A file name or path as text a document can hold: a byte that is not UTF-8 (Python
    keeps it as a lone surrogate, ``\\udcff``) becomes U+FFFD, so JSON, Markdown and the
    other formats can be written (a surrogate made every JSON output an internal error)."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def capped_list(items: list[str], limit: int) -> str:
    """``a, b, c and 4 more``: the first ``limit`` items, comma-separated, and how many are
    left out (the lists of names and log rows a report cites)."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
