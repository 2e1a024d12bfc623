"""Parse the "Chronological Log" section of an OCR-APT report into rows.

Test helper only. The corpus CSVs were rebuilt from exactly these rows, so a correct
ingest + condense of a case must give back the rows this parser reads from its report.
The parser is deliberately independent of ``aptnarrate``: it has its own map from
OCR-APT's renamed type words to our canonical kinds, so a mapping bug in the package
cannot hide behind the same mapping here.

Layouts seen in the reports (all handled, anything else raises ``ReferenceFormatError``):

* markdown tables ``| 2018-04-11 23:06 | A process CLOSE the file: x |`` (time-only cells
  ``| 14:21 | ... |`` take their date from the context), including a three-column
  ``| time | ACTION | name |`` table whose third header names the object type;
* date headers ``### April 11, 2018`` / ``### 2018-04-11``, minute headers ``### 14:21``,
  ``### 2018-04-13 13:59``, ``- **14:27**`` (optionally ``:``) with bullet rows below, and
  ``- **19:47** - text`` / ``- **21:37**: text`` rows carrying their own minute;
* event wording with the subject as ``A process`` / ``The process: x``, a bare name
  (``firefox``), or omitted (``READ the file: x``); objects as ``the file: x``, ``a flow``
  or a bare name after ``ACTION:`` (type inferred); ``(N times)``, backticks, bold, and a
  trailing period.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

# OCR-APT's renamed type words (database_config.rename_node_type) -> aptnarrate's kinds.
REPORT_KIND = {
    "process": "process",
    "file": "file",
    "flow": "flow",
    "filedir": "directory",
    "socket": "socket",
    "pipe": "pipe",
    "filelink": "link",
    "memory": "memory",
    "srcsink": "srcsink",
    "unit": "unit",
    "filechar": "device",
    "fileblock": "device",
    # DARPA OpTC words, as OCR-APT writes them
    "thread": "thread",
    "module": "module",
    "registry": "registry",
    "shell": "shell",
    "task": "task",
    "host": "host",
}


class ReferenceFormatError(ValueError):
    """A log line the parser does not understand (better to fail than to drop a row)."""


@dataclass(frozen=True)
class RefRow:
    """One reference log row. ``subject`` is None where the report omits it.

    Entities are (kind, name) with name ``""`` for an unnamed node.
    """

    minute: str
    subject: tuple[str, str] | None
    action: str
    object: tuple[str, str]
    count: int
    source: str  # the report line, for failure messages


_SECTION = re.compile(r"^#{1,6} .*chronological log", re.IGNORECASE)
_NEXT_SECTION = re.compile(r"^#{1,2} ")
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DATE_WORDS = re.compile(r"^(?P<month>[A-Z][a-z]+) (?P<day>\d{1,2}), (?P<year>\d{4})$")
_DATE_ISO = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})(?: (?P<time>\d{1,2}:\d{2}))?$")
_TIME = re.compile(r"^(?P<time>\d{1,2}:\d{2})$")
_TIME_RANGE = re.compile(r"^\d{1,2}:\d{2}\s*(?:-|\u2013|to)\s*\d{1,2}:\d{2}$")  # "### 12:32 - 12:59"
_TIMED_ROW = re.compile(r"^(?P<time>\d{1,2}:\d{2}):\s+(?P<rest>.+)$")  # "- 12:32: text"
_ELISION = re.compile(r"^\(.*\.\.\.\)$|^\(.*(?:additional|more|others).*\)$", re.IGNORECASE)
_BOLD_MINUTE = re.compile(r"^- \*\*(?P<time>\d{1,2}:\d{2})\*\*:?(?:\s*(?:-|:)?\s*(?P<rest>.*))?$")
_BULLET = re.compile(r"^\s*[-*] (?P<rest>.+)$")
_COUNT = re.compile(r"\s*\((?P<n>\d+) times?\)\.?")  # "(3 times)." ends the sentence
_EVENT = re.compile(
    r"^(?:(?:(?:An?|The) (?P<s_kind>[A-Za-z]+)(?:: (?P<s_name>.+?))?|(?P<s_bare>\S+)) )?"
    r"(?P<action>[A-Z][A-Z0-9_]+)(?P<colon>:)? (?P<object>.+)$"
)
_OBJECT_NAMED = re.compile(r"^the (?P<kind>[A-Za-z]+): (?P<name>.+)$")
_OBJECT_UNNAMED = re.compile(r"^an? (?P<kind>[A-Za-z]+)$")


def log_section(markdown: str) -> list[str]:
    """The lines of the report's chronological-log section (heading excluded)."""
    lines = markdown.splitlines()
    starts = [i for i, line in enumerate(lines) if _SECTION.match(line.strip())]
    if len(starts) != 1:
        raise ReferenceFormatError(f"expected one 'Chronological Log' section, found {len(starts)}")
    section = []
    for line in lines[starts[0] + 1 :]:
        if _NEXT_SECTION.match(line):
            break
        section.append(line)
    return section


def parse_reference_log(
    markdown: str, default_date: str, untyped_object_kind: str = "file", prose: list[str] | None = None
) -> list[RefRow]:
    """Rows of the report's log, in report order.

    ``default_date`` (``YYYY-MM-DD``) dates times given without a date (the corpus takes it
    from the report text; the manifest's ``first_minute`` has it). With a ``prose`` list, a
    row the grammar cannot read (the prose of an ``approximate`` case, which the corpus
    builder mapped to events by verb) is appended to it instead of raising. An object given as a bare
    name gets kind ``flow`` for an IP address, a type word's kind for a type word
    (``FORK: process``), otherwise ``untyped_object_kind`` (the host's named object type).
    """
    def row(minute: str, text: str, source: str, kind: str | None) -> None:
        try:
            rows.append(_row(minute, text, source, kind))
        except ReferenceFormatError:
            if prose is None:
                raise
            prose.append(source.strip())

    date = default_date
    minute: str | None = None
    table_object_kind: str | None = None
    rows: list[RefRow] = []
    for raw in log_section(markdown):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue  # separator row
            stamp = _minute_of(cells[0], date)
            if stamp is None:  # header row
                table_object_kind = _kind_word(cells[2]) if len(cells) > 2 else None
                if len(cells) > 2 and table_object_kind is None:
                    raise ReferenceFormatError(f"unknown object column {cells[2]!r}")
                continue
            if len(cells) == 2:
                row(stamp, cells[1], raw, untyped_object_kind)
            else:  # "| time | ACTION | name |": the header names the object type
                row(stamp, f"{cells[1]}: {cells[2]}", raw, table_object_kind)
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            if m := _DATE_WORDS.match(heading):
                date = _date_from_words(m)
                minute = None
            elif m := _DATE_ISO.match(heading):
                date = m["date"]
                minute = f"{date} {_pad(m['time'])}" if m["time"] else None
            elif m := _TIME.match(heading):
                minute = f"{date} {_pad(m['time'])}"
            elif _TIME_RANGE.match(heading):
                minute = None  # a span of minutes: its rows carry their own minute
            else:
                raise ReferenceFormatError(f"unknown heading {raw!r}")
            continue
        if m := _BOLD_MINUTE.match(line):
            minute = f"{date} {_pad(m['time'])}"
            if m["rest"]:
                row(minute, m["rest"], raw, untyped_object_kind)
            continue
        if m := _BULLET.match(line):
            rest = m["rest"].strip()
            if _ELISION.match(rest):
                continue  # "(Additional module loading events...)": the manifest notes the elision
            if timed := _TIMED_ROW.match(rest):
                row(f"{date} {_pad(timed['time'])}", timed["rest"], raw, untyped_object_kind)
                continue
            if minute is None:
                raise ReferenceFormatError(f"row before any minute: {raw!r}")
            row(minute, m["rest"], raw, untyped_object_kind)
            continue
        if rows:
            break  # closing prose after the log
        # introductory prose before the log: nothing to read
    if not rows:
        raise ReferenceFormatError("empty log section")
    return rows


def _row(minute: str, text: str, source: str, untyped_object_kind: str | None) -> RefRow:
    count = 1
    if m := _COUNT.search(text):
        count = int(m["n"])
        text = text[: m.start()] + text[m.end() :]
    text = text.replace("`", "").replace("**", "").strip()
    text = re.sub(r"(?<!\.)\.$", "", text).strip()  # a trailing period, but not a name like ".."
    match = _EVENT.match(text)
    if match is None:
        raise ReferenceFormatError(f"unparseable log row {source!r}")
    if match["s_kind"]:
        kind = _kind_word(match["s_kind"])
        if kind is None:
            raise ReferenceFormatError(f"unknown subject type in {source!r}")
        subject: tuple[str, str] | None = (kind, match["s_name"] or "")
    elif match["s_bare"]:
        subject = ("process", match["s_bare"])  # a bare subject name is a process
    else:
        subject = None
    return RefRow(
        minute,
        subject,
        match["action"],
        _object(match["object"], bool(match["colon"]), source, untyped_object_kind),
        count,
        source.strip(),
    )


def _object(text: str, after_colon: bool, source: str, untyped_object_kind: str | None) -> tuple[str, str]:
    if not after_colon:
        if m := _OBJECT_NAMED.match(text):
            kind = _kind_word(m["kind"])
            if kind is not None:
                return (kind, m["name"].strip())
        if m := _OBJECT_UNNAMED.match(text):
            kind = _kind_word(m["kind"])
            if kind is not None:
                return (kind, "")
        raise ReferenceFormatError(f"unparseable object {text!r} in {source!r}")
    # "ACTION: name": the report left out the object's type
    name = text.strip()
    if _kind_word(name) is not None:
        return (_kind_word(name), "")
    if _is_ip(name):
        return ("flow", name)
    if untyped_object_kind is None:
        raise ReferenceFormatError(f"object type unknown in {source!r}")
    return (untyped_object_kind, name)


def _kind_word(word: str) -> str | None:
    return REPORT_KIND.get(word.strip().lower())


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _minute_of(cell: str, date: str) -> str | None:
    if m := _DATE_ISO.match(cell):
        return f"{m['date']} {_pad(m['time'])}" if m["time"] else None
    if m := _TIME.match(cell):
        return f"{date} {_pad(m['time'])}"
    return None


def _date_from_words(match: re.Match) -> str:
    month = _MONTHS.index(match["month"]) + 1
    return datetime(int(match["year"]), month, int(match["day"])).strftime("%Y-%m-%d")


def _pad(time: str) -> str:
    hours, minutes = time.split(":")
    return f"{int(hours):02d}:{minutes}"
