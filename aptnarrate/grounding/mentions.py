"""Find the concrete things a piece of prose names: addresses, dates, times, file names,
URLs, domains, hashes, CVE ids, registry keys and ports.

Grounding compares these with the input. The scanners aim at what a narrative states as
fact and must leave ordinary prose alone: ``e.g.``, ``read/write``, ``TCP/IP``, version
numbers and decimals are not file names; ``May`` is a date only before a day number.

Text is normalised before it is scanned (``normalise``), so that a mention cannot hide
from a scanner by its spelling: compatibility forms (fullwidth digits) are folded by NFKC,
digits of other scripts become ASCII, invisible format characters (zero-width spaces, bidi
controls) are removed, and defanged indicators (``203[.]0[.]113[.]99``, ``hxxp://``,
``evil[dot]com``) are refanged. Every scanner is linear in the length of the text: the
text and the names in it are attacker-controlled, so no pattern may backtrack over them.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache

from ..render.escape import INVISIBLE_CLASS

# --------------------------------------------------------------------------- normalising

_INVISIBLE_OR_BREAK = re.compile(f"[{INVISIBLE_CLASS}]")
_FOREIGN_DIGIT = re.compile(r"[^\D0-9]")  # a digit, not 0-9 (a class: scanned for in C)
_DEFANGED_DOT = re.compile(r"\s?[\[({<]\s?(?:\.|dot)\s?[\])}>]\s?|(?<=\d)[\u3002\uff61](?=\d)", re.IGNORECASE)
_DEFANGED_COLON = re.compile(r"[\[({]\s?(:|://|@)\s?[\])}]|\[at\]|\(at\)", re.IGNORECASE)
_DEFANGED_SCHEME = re.compile(r"\b(h)xx(ps?)\b|\b(f)xp\b", re.IGNORECASE)
_WHITESPACE_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029")
# the line-like invisible characters, replaced by a space in one pass before the others are
# removed in a second: two substitutions with fixed replacements run in C, where one that
# chose per match called back into Python for every line break of a long text
_LINE_LIKE_INVISIBLE = re.compile("[" + "".join(sorted(c for c in _WHITESPACE_CONTROLS if _INVISIBLE_OR_BREAK.match(c))) + "]")
# what both defanging patterns need (but _DEFANGED_DOT's ideographic full stop between
# digits): an opening bracket, then a dot, "dot", a colon or "@"/"at"
_MAY_BE_DEFANGED = re.compile(r"[\[({<]\s?(?:\.|dot|:|@|at)", re.IGNORECASE)


@lru_cache(maxsize=16)  # grounding runs every scanner over the same text in turn
def normalise(text: str) -> str:
    """``text`` as the scanners read it: NFKC, ASCII digits, no invisible characters
    (line-like ones become spaces), indicators refanged."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = _FOREIGN_DIGIT.sub(lambda m: str(unicodedata.digit(m.group(0), 0)), text)
    plain = text.isascii()
    if not (plain and text.isprintable()):  # ASCII's invisible characters are its unprintable ones
        text = _INVISIBLE_OR_BREAK.sub("", _LINE_LIKE_INVISIBLE.sub(" ", text))
    if _may_hold(_MAY_BE_DEFANGED, text) or (not plain and ("\u3002" in text or "\uff61" in text)):
        text = _DEFANGED_DOT.sub(".", text)
        text = _DEFANGED_COLON.sub(lambda m: m.group(1) or "@", text)
    if "xx" in text.lower() or "fxp" in text.lower():
        text = _DEFANGED_SCHEME.sub(lambda m: f"{m.group(1)}tt{m.group(2)}" if m.group(1) else f"{m.group(3)}tp", text)
    return text


# Gates: what every match of a scanner's pattern holds, found fast. The patterns begin with
# lookbehinds and are tried at every position of a text; a gate begins with a character
# class or a literal, which the regex engine scans for in C, and most texts lack it.
# A text without its gate is not scanned by that pattern (it could match nothing there).
_USE_GATES = True  # tests turn the gates off to compare with the plain scans


def _may_hold(gate: re.Pattern[str] | _Words, text: str) -> bool:
    return not _USE_GATES or gate.search(text) is not None


class _Words:
    """A gate of ASCII words found in any case, by substring search of the lower-cased text
    (a regex of alternatives under ``re.IGNORECASE`` is tried at every position). No other
    character case-folds to the letters of the words it is used with (NFKC has folded the
    compatibility forms), so it holds where that regex matches."""

    def __init__(self, *words: str) -> None:
        self.words = words

    def search(self, text: str) -> bool | None:
        low = text.lower()
        return True if any(word in low for word in self.words) else None


# --------------------------------------------------------------------------- addresses

# dotted quads, each part decimal (leading zeros allowed: 203.000.113.099) or 0x-hex
# (an underscore may touch it: Markdown's emphasis, ``_203.0.113.9_``, or a name's separator)
IPV4 = re.compile(r"(?<![A-Za-z0-9.])(?:(?:0x[0-9a-f]{1,2}|\d{1,3})\.){3}(?:0x[0-9a-f]{1,2}|\d{1,3})(?![A-Za-z0-9]|\.\d)", re.IGNORECASE)
# an address written as one integer: 3405803875 or 0xCB007163 (8 to 10 digits, >= 2**24)
IPV4_INTEGER = re.compile(r"(?<![\w.,:/-])(\d{8,10}|0x[0-9a-f]{7,8})(?![\w]|[.,]\d)", re.IGNORECASE)
IPV6 = re.compile(
    r"(?<![\w:.])((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?:\d{1,3}\.){3}\d{1,3}))(?![\w:])"
)
_GATE_DOTTED = re.compile(r"\.\d")  # a dotted quad's second part follows a dot and starts with a digit
_GATE_INTEGER = re.compile(r"\d(?:\d{7}|x[0-9a-f]{7})", re.IGNORECASE)
# an IPv6 match begins with two (hex digits, colon) groups: a colon, up to four hex digits, a
# colon (found from the colons, fast, not tried at every position as IPV6's lookbehind is)
_GATE_IPV6 = re.compile(r":[0-9A-Fa-f]{0,4}:")


def addresses(text: str) -> list[str]:
    """IPv4 and IPv6 addresses in ``text``, normalised (``ipaddress``'s compressed form)."""
    text = normalise(text)
    found = []
    for match in IPV4.finditer(text) if _may_hold(_GATE_DOTTED, text) else ():
        found.extend(_dotted(match.group(0)))
    for match in IPV4_INTEGER.finditer(text) if _may_hold(_GATE_INTEGER, text) else ():
        value = int(match.group(1), 16 if match.group(1)[:2].lower() == "0x" else 10)
        if 1 << 24 <= value < 1 << 32:
            found.append(ipaddress.IPv4Address(value).compressed)
    if text.count(":") < 2 or not _may_hold(_GATE_IPV6, text):  # an IPv6 address has two colons at least
        return found
    for match in IPV6.finditer(text):
        if match.group(1).count(":") >= 2 and any(c not in ":" for c in match.group(1)):
            found.extend(_address(match.group(1)))
    return found


def _dotted(text: str) -> list[str]:
    octets = [int(part, 16) if part[:2].lower() == "0x" else int(part) for part in text.split(".")]
    if any(o > 255 for o in octets):
        return []
    return [".".join(str(o) for o in octets)]


def _address(text: str) -> list[str]:
    try:
        return [ipaddress.ip_address(text).compressed]
    except ValueError:
        return []


_PORT_WORD = re.compile(r"\bports?\s{1,3}(?:number\s{1,3})?(\d{1,5})(?!\d)", re.IGNORECASE)
_PORT_PROTOCOL = re.compile(r"\b(?:tcp|udp)[/:](\d{1,5})(?!\d)", re.IGNORECASE)
_PORT_AFTER_ADDRESS = re.compile(r"(?:(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}|\])\:(\d{1,5})(?![\d:])")
_GATE_PORT_WORD = _Words("port", "tcp", "udp")
_GATE_PORT_AFTER = re.compile(r"[\d\]]:\d")


def ports(text: str) -> list[tuple[str, int]]:
    """``(as written, port)`` for ``port 4444``, ``TCP/4444`` and ``203.0.113.9:4444``."""
    text = normalise(text)
    found = []
    named = _may_hold(_GATE_PORT_WORD, text)  # both worded patterns need one of its words
    for pattern, held in ((_PORT_WORD, named), (_PORT_PROTOCOL, named), (_PORT_AFTER_ADDRESS, _may_hold(_GATE_PORT_AFTER, text))):
        for match in pattern.finditer(text) if held else ():
            port = int(match.group(1))
            if port <= 65535:
                found.append((match.group(0).strip(), port))
    return found


# --------------------------------------------------------------------------- dates and times

ISO_DATE = re.compile(r"(?<![\d.])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d])")
# 12/04/2018, 12.04.2018, 4-12-2018, 12/04/18: day and month order unknown
NUMERIC_DATE = re.compile(r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/]|[.-]\d)")
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
MONTH_DAY = re.compile(_MONTH + r"\.?\s{1,3}(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s{1,3}(\d{4})\b)?")
DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s{1,3}(?:of\s{1,3})?" + _MONTH + r"\b\.?(?:,?\s{1,3}(\d{4})\b)?")
CLOCK = re.compile(
    r"(?<![\d:.])([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d{1,9})?)?(?![\d:])(?:\s{0,3}([AaPp])\.?[Mm]\b\.?)?"
)
# "11pm", "11 p.m.", "at 9 AM": a time given by its hour
HOUR = re.compile(r"(?<![\w:.])(1[0-2]|0?[1-9])\s?([ap])\.?m\b\.?", re.IGNORECASE)
# ISO and numeric dates: digits, a separator, one or two digits, the same separator, a digit
# (not a lone separator between digits: "T1059.001" and "v1.2" hold no date)
_GATE_DATE = re.compile(r"\d([-/.])\d{1,2}\1\d")
_GATE_MONTH = re.compile(_MONTH)  # as MONTH_DAY and DAY_MONTH read it (case-sensitive)
_GATE_CLOCK = re.compile(r"\d:[0-5]\d")
_GATE_HOUR = re.compile(r"\d\s?[ap]\.?m", re.IGNORECASE)


def dates(text: str) -> list[tuple[str, tuple[int, int, int | None]]]:
    """``(as written, (month, day, year or None))`` for every date in ``text`` whose month
    is certain (ISO dates, month names); see ``numeric_dates`` for 12/04/2018."""
    text = normalise(text)
    found = []
    for match in ISO_DATE.finditer(text) if _may_hold(_GATE_DATE, text) else ():
        year, month, day = int(match.group(1)), int(match.group(3)), int(match.group(4))
        found.append((match.group(0), (month, day, year)))
    if not _may_hold(_GATE_MONTH, text):
        return found
    for match in MONTH_DAY.finditer(text):
        month = _MONTHS[match.group(1)[:3].lower()]
        found.append((match.group(0), (month, int(match.group(2)), int(match.group(3)) if match.group(3) else None)))
    for match in DAY_MONTH.finditer(text):
        month = _MONTHS[match.group(2)[:3].lower()]
        found.append((match.group(0), (month, int(match.group(1)), int(match.group(3)) if match.group(3) else None)))
    return found


def numeric_dates(text: str) -> list[tuple[str, list[tuple[int, int, int]]]]:
    """``(as written, readings)`` for dates such as ``12/04/2018``: month/day and day/month."""
    text = normalise(text)
    found = []
    if not _may_hold(_GATE_DATE, text):
        return found
    for match in NUMERIC_DATE.finditer(text):
        first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        if year < 100:
            year += 2000
        readings = [(m, d, year) for m, d in ((first, second), (second, first)) if 1 <= m <= 12 and 1 <= d <= 31]
        if readings:
            found.append((match.group(0), list(dict.fromkeys(readings))))
    return found


def clocks(text: str) -> list[tuple[str, str]]:
    """``(as written, "HH:MM" on a 24-hour clock)`` for every time of day in ``text``."""
    text = normalise(text)
    found = []
    if ":" not in text or not _may_hold(_GATE_CLOCK, text):  # each scanner skips a text that lacks what every match needs
        return found
    for match in CLOCK.finditer(text):
        hour, minute, half = int(match.group(1)), match.group(2), match.group(3)
        if half:
            if hour > 12:
                continue
            hour = hour % 12 + (12 if half.lower() == "p" else 0)
        found.append((match.group(0).strip(), f"{hour:02d}:{minute}"))
    return found


def hours(text: str) -> list[tuple[str, str]]:
    """``(as written, "HH")`` for times given by the hour alone: ``11pm``, ``9 a.m.``."""
    text = normalise(text)
    if not _may_hold(_GATE_HOUR, text):
        return []
    return [
        (m.group(0).strip(), f"{int(m.group(1)) % 12 + (12 if m.group(2).lower() == 'p' else 0):02d}")
        for m in HOUR.finditer(text)
    ]


# --------------------------------------------------------------------------- web, hashes, ids

URL = re.compile(r"\b(?:https?|ftps?|wss?|smb|file)://[^\s<>\"'`()\[\]{}|\\^]+", re.IGNORECASE)
# common top-level domains that are not also common file extensions (sh, so, py, pl, md stay
# file names: a domain with such an ending is still checked, as a file name)
_TLDS = frozenset(
    "com net org info biz io co me cc tv ru su cn uk de fr nl it es pl br in jp kr ir kp ua us eu ca au "
    "xyz top online site club live app dev cloud tech icu buzz shop store space website pw tk ml ga cf gq "
    "onion example test invalid localhost local lan internal corp home edu gov mil int arpa".split()
)
DOMAIN = re.compile(
    r"(?<![\w.@/\\-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,16}([a-z]{2,24}))(?![\w-]|\.[a-z0-9])",
    re.IGNORECASE,
)
HASH = re.compile(r"(?<![0-9a-z])([0-9a-f]{128}|[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})(?![0-9a-z])", re.IGNORECASE)
# a domain's last label is one of _TLDS (domains() keeps no other), after a dot
_GATE_DOMAIN = re.compile(r"\.(?:" + "|".join(sorted(_TLDS, key=len, reverse=True)) + r")(?![\w-])", re.IGNORECASE)
_GATE_HASH = re.compile(r"[0-9a-fA-F]{32}")  # HASH's digits in either case (no other character folds to them)
CVE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)
REGISTRY_KEY = re.compile(
    r"(?<![\w\\])(HKEY_[A-Z_]{4,30}|HKLM|HKCU|HKCR|HKU|HKCC|\\?REGISTRY\\(?:MACHINE|USER))((?:\\[^\s\\`'\"<>|,;()]+)+)",
    re.IGNORECASE,
)


def urls(text: str) -> list[tuple[str, str]]:
    """``(URL as written, host)``; the host lower-cased, without user, port or brackets."""
    text = normalise(text)
    found = []
    if "://" not in text:
        return found
    for match in URL.finditer(text):
        url = match.group(0).rstrip(".,:;!?")
        rest = url.split("://", 1)[1]
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
        host = authority[1:].split("]", 1)[0] if authority.startswith("[") else authority.rsplit(":", 1)[0]
        found.append((url, host.lower()))
    return found


def domains(text: str) -> list[str]:
    """Domain names with a common top-level domain, lower-cased: ``c2.evil-example.com``."""
    text = normalise(text)
    if not _may_hold(_GATE_DOMAIN, text):
        return []
    return [m.group(1).lower() for m in DOMAIN.finditer(text) if m.group(2).lower() in _TLDS]


def hashes(text: str) -> list[str]:
    """MD5, SHA-1, SHA-256 and SHA-512 digests (hex), lower-cased."""
    text = normalise(text)
    return [m.group(1).lower() for m in HASH.finditer(text)] if _may_hold(_GATE_HASH, text) else []


def cves(text: str) -> list[str]:
    text = normalise(text)
    return [m.group(0).upper() for m in CVE.finditer(text)] if "-" in text else []


def registry_keys(text: str) -> list[tuple[str, str]]:
    """``(key as written, its path below the hive, lower-cased and "/"-separated)``."""
    found = []
    text = normalise(text)
    if "\\" not in text:  # a key has a path below its hive
        return found
    for match in REGISTRY_KEY.finditer(text):
        written = match.group(0).rstrip(".:!?")
        below = match.group(2).rstrip(".:!?").strip("\\").lower().replace("\\", "/")
        found.append((written, below))
    return found


# --------------------------------------------------------------------------- file names

# a candidate token: no spaces, quotes or brackets
# quotes of every kind end a token ("curly" ones too): a name in quotes is the name
TOKEN = re.compile(r"[^\s`'\"()\[\]{}<>,;|*\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a]+")
_EXTENSION = re.compile(r"[A-Za-z0-9_~-]{1,8}")
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]?")  # e.g, i.e, U.S, a.m
_DOTFILE = re.compile(r"\.(?=[^.]*[a-z])[A-Za-z0-9_-]{2,}")  # .bashrc, not .NET or ...
_PATH_START = re.compile(r"(?:/|~/|\.{1,2}/|[A-Za-z]:\\|\\\\)")
_PATH_SPLIT = re.compile(r"[/\\]")


def file_names(text: str) -> list[str]:
    """Tokens that read as a file name or path: ``invoice.pdf.sh``, ``libc.so.7``,
    ``/etc/passwd``, ``C:\\Windows\\x.dll``; not ``e.g.``, ``read/write`` or ``2.5``."""
    found = []
    # texts repeat their tokens ("T1059.001", "(ATT&CK"): each judged once (short ones
    # kept, and at most _MAX_FILE_TOKENS of them: the text may be attacker-controlled)
    judged = _FILE_TOKENS
    for token in TOKEN.findall(normalise(text)):
        if "." not in token and "/" not in token and "\\" not in token:
            continue  # a file name or path has a dot or a separator (``_is_file_like``); most words have neither
        name = judged.get(token, _UNJUDGED)
        if name is _UNJUDGED:
            name = _file_name(token)
            if len(token) <= _MAX_FILE_TOKEN:
                if len(judged) >= _MAX_FILE_TOKENS:
                    judged.clear()
                judged[token] = name
        if name is not None:
            found.append(name)
    return found


_FILE_TOKENS: dict[str, str | None] = {}  # ``_file_name`` of tokens already judged
_UNJUDGED = object()
_MAX_FILE_TOKENS = 1 << 14
_MAX_FILE_TOKEN = 200


def _file_name(token: str) -> str | None:
    """The file name or path a ``TOKEN`` cites (``trimmed``), or None if it reads as none."""
    token = trimmed(token)
    if not token or IPV4.fullmatch(token) or CLOCK.fullmatch(token) or ISO_DATE.fullmatch(token):
        return None
    if NUMERIC_DATE.fullmatch(token) or IPV4_INTEGER.fullmatch(token):
        return None
    return token if _is_file_like(token) else None


def trimmed(token: str) -> str:
    """A ``TOKEN`` without the punctuation prose puts around a name (closing marks and
    colons, leading colons) and without a possessive ``'s``: the name the token cites."""
    # a trailing backslash is Markdown's escape of what follows (``\\`name\\` ``), not a path's
    token = token.rstrip(".:!?\\").lstrip(":")
    if len(token) > 2 and token[0] == token[-1] == "_" and token[1] != "_":  # Markdown's _emphasis_
        token = token[1:-1]
    return token[:-2] if token.endswith("'s") else token


def _is_file_like(token: str) -> bool:
    # procedural, not one regex: a pattern like ``[^.]*[A-Za-z0-9][^.]*`` backtracks
    # quadratically over a long name
    if "://" in token:  # URLs are checked as URLs
        return False
    if token[0] == "/" and token[1:].isdigit():  # a network's prefix length ("this host's /16"), not a path
        return False
    if _PATH_START.match(token) and len(token) > 1 and any(c.isalnum() for c in token):
        return True
    last = _PATH_SPLIT.split(token)[-1]
    if _DOTFILE.fullmatch(last):
        return True
    if not last or _ABBREVIATION.fullmatch(last) or _joins_sentences(last):
        return False
    parts = last.split(".")
    if len(parts) < 2:
        return False
    if _shared_object(parts) and len(last) > 3:
        return True
    first, middle, extension = parts[0], parts[1:-1], parts[-1]
    if not any(c.isalnum() and c.isascii() for c in first) or not all(middle):
        return False
    if not _EXTENSION.fullmatch(extension):
        return False
    return any(c.isalpha() for c in extension)  # 2.5, v1.2 and 1.0.3 are numbers, not files


def _shared_object(parts: list[str]) -> bool:
    """``libc.so`` or ``libc.so.7`` (a library with its version numbers)."""
    for index in range(len(parts) - 1, 0, -1):
        if parts[index].lower() == "so":
            return all(p.isdigit() and p.isascii() for p in parts[index + 1 :])
        if not (parts[index].isdigit() and parts[index].isascii()):
            return False
    return False


def _joins_sentences(last: str) -> bool:
    """``activity.The``: two sentences without the space between them."""
    head, _, tail = last.rpartition(".")
    return bool(head) and len(tail) >= 3 and tail[0].isupper() and tail[1:].isalpha() and tail[1:].islower()


# --------------------------------------------------------------------------- program names

# a plain word, not part of a file name or path (``svchost.exe``, ``/bin/sh`` and
# ``__PSScriptPolicyTest_`` are the file-name scanner's) nor of a longer word
_PROGRAM_WORD = re.compile(r"(?<![A-Za-z0-9_./\\])[A-Za-z][A-Za-z0-9]*(?![A-Za-z0-9_]|\.[A-Za-z0-9])")


@lru_cache(maxsize=1 << 12)  # a narration repeats its words; bounded: the text is the model's
def program_family(word: str) -> str:
    """The family a program's name is compared by: lower case, trailing digits and an
    ``.exe`` dropped (``Python3`` -> ``python``, ``rundll32.exe`` -> ``rundll``)."""
    word = word.lower()
    if word.endswith(".exe"):
        word = word[:-4]
    return word.rstrip("0123456789")


@lru_cache(maxsize=1)
def program_knowledge() -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """The program families looked for bare (``data/program_names.yaml``: the knowledge
    base's one-word binaries but its prose words, short names, attacker tools), and the
    file extensions that show a program (``.py``: python)."""
    from ..data import load_data_yaml
    from ..preprocess.knowledge import binary_names

    spec = load_data_yaml("program_names.yaml")
    plain = re.compile(r"[a-z][a-z0-9]*")
    families = {program_family(name) for name in binary_names() if plain.fullmatch(name.lower().removesuffix(".exe"))}
    families = {f for f in families if len(f) >= 3} - set(spec["prose_words"])
    families |= set(spec["short_names"]) | set(spec["tools"]) | set(spec["shown_by_extension"])
    extensions = {name: tuple(ext.lower() for ext in exts) for name, exts in spec["shown_by_extension"].items()}
    return frozenset(families), extensions


def program_names(text: str) -> list[tuple[str, str]]:
    """``(as written, family)`` for each program named bare in ``text`` (``mimikatz``,
    ``PowerShell``, ``netcat``): see ``data/program_names.yaml``."""
    families = program_knowledge()[0]
    found = []
    for word in _PROGRAM_WORD.findall(normalise(text)):  # the words (no groups), no match objects
        family = program_family(word)
        if family in families:
            found.append((word, family))
    return found
