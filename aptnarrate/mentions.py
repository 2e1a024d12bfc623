"""Find the concrete things a piece of prose names: addresses, dates, times and file names.

Grounding compares these with the input. The scanners aim at what a narrative states as
fact and must leave ordinary prose alone: ``e.g.``, ``read/write``, ``TCP/IP``, version
numbers and decimals are not file names; ``May`` is a date only before a day number.
"""

from __future__ import annotations

import ipaddress
import re

IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
IPV6 = re.compile(
    r"(?<![\w:.])((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?:\d{1,3}\.){3}\d{1,3}))(?![\w:])"
)
ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/](\d{2})[-/](\d{2})(?!\d)")
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
MONTH_DAY = re.compile(_MONTH + r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?")
DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"\b\.?(?:,?\s+(\d{4})\b)?")
CLOCK = re.compile(
    r"(?<![\d:.])([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d+)?)?(?![\d:])(?:\s*([AaPp])\.?[Mm]\b\.?)?"
)
# a candidate token: no spaces, quotes or brackets
_TOKEN = re.compile(r"[^\s`'\"()\[\]{}<>,;|*]+")
_SHARED_OBJECT = re.compile(r"\.so(?:\.\d+)+$|\.so$", re.IGNORECASE)
_EXTENSION = re.compile(r"^[^.]*[A-Za-z0-9][^.]*(?:\.[^.\s]+)*\.([A-Za-z0-9_~-]{1,8})$")
_ABBREVIATION = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]?$")  # e.g, i.e, U.S, a.m
_SENTENCE_JOIN = re.compile(r"\.[A-Z][a-z]{2,}$")  # "activity.The" (a missing space)
_DOTFILE = re.compile(r"^\.(?=[^.]*[a-z])[A-Za-z0-9_-]{2,}$")  # .bashrc, not .NET or ...
_PATH_START = re.compile(r"^(?:/|~/|\.{1,2}/|[A-Za-z]:\\|\\\\)")


def addresses(text: str) -> list[str]:
    """IPv4 and IPv6 addresses in ``text``, normalised (``ipaddress``'s compressed form)."""
    found = []
    for match in IPV4.finditer(text):
        found.extend(_address(match.group(0)))
    for match in IPV6.finditer(text):
        if match.group(1).count(":") >= 2 and any(c not in ":" for c in match.group(1)):
            found.extend(_address(match.group(1)))
    return found


def _address(text: str) -> list[str]:
    try:
        return [ipaddress.ip_address(text).compressed]
    except ValueError:
        return []


def dates(text: str) -> list[tuple[str, tuple[int, int, int | None]]]:
    """``(as written, (month, day, year or None))`` for every date in ``text``."""
    found = []
    for match in ISO_DATE.finditer(text):
        year, month, day = (int(g) for g in match.groups())
        found.append((match.group(0), (month, day, year)))
    for match in MONTH_DAY.finditer(text):
        month = _MONTHS[match.group(1)[:3].lower()]
        found.append((match.group(0), (month, int(match.group(2)), int(match.group(3)) if match.group(3) else None)))
    for match in DAY_MONTH.finditer(text):
        month = _MONTHS[match.group(2)[:3].lower()]
        found.append((match.group(0), (month, int(match.group(1)), int(match.group(3)) if match.group(3) else None)))
    return found


def clocks(text: str) -> list[tuple[str, str]]:
    """``(as written, "HH:MM" on a 24-hour clock)`` for every time of day in ``text``."""
    found = []
    for match in CLOCK.finditer(text):
        hour, minute, half = int(match.group(1)), match.group(2), match.group(3)
        if half:
            if hour > 12:
                continue
            hour = hour % 12 + (12 if half.lower() == "p" else 0)
        found.append((match.group(0).strip(), f"{hour:02d}:{minute}"))
    return found


def file_names(text: str) -> list[str]:
    """Tokens that read as a file name or path: ``invoice.pdf.sh``, ``libc.so.7``,
    ``/etc/passwd``, ``C:\\Windows\\x.dll``; not ``e.g.``, ``read/write`` or ``2.5``."""
    found = []
    for match in _TOKEN.finditer(text):
        token = match.group(0).rstrip(".:!?").lstrip(":")
        if token.endswith("'s"):
            token = token[:-2]
        if not token or IPV4.fullmatch(token) or CLOCK.fullmatch(token) or ISO_DATE.fullmatch(token):
            continue
        if _is_file_like(token):
            found.append(token)
    return found


def _is_file_like(token: str) -> bool:
    if "://" in token:  # URLs are not file names
        return False
    if _PATH_START.match(token) and len(token) > 1 and any(c.isalnum() for c in token):
        return True
    last = re.split(r"[/\\]", token)[-1]
    if _DOTFILE.match(last):
        return True
    if not last or _ABBREVIATION.match(last) or _SENTENCE_JOIN.search(last):
        return False
    if _SHARED_OBJECT.search(last) and len(last) > 3:
        return True
    match = _EXTENSION.match(last)
    if not match:
        return False
    extension = match.group(1)
    return any(c.isalpha() for c in extension)  # 2.5, v1.2 and 1.0.3 are numbers, not files
