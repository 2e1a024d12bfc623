"""Knowledge base of common binaries, libraries and system files, loaded from data.

The data (``data/knowledge.json``) says what a name normally is: a one-line legitimate
usage and a category (shell, discovery tool, system library, credential store...). It is
data, not code, so it can grow without touching the rules. Lookups never interpret the
name they are given; a name from the log is only compared with stored names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# Windows file names are case-insensitive; these endings mark a Windows name.
_WINDOWS_SUFFIXES = (".exe", ".dll", ".sys", ".ocx", ".cpl", ".scr", ".drv", ".evtx", ".dit", ".data", ".btr", ".map", ".ver")  # .data ... .ver: WMI's repository
# libfoo.so, libfoo.so.4, libfoo.so.4.2, libfoo-2.0.so.0, libfoo.4.dylib -> stem
_SHARED_OBJECT = re.compile(r"^(?P<stem>.+?)(?:\.so(?:\.\d+)*|(?:\.\d+)*\.dylib)$")

# a numbered instance of a program: NAME-<n> before the extension (PDQDeployRunner-3.exe)
_NUMBERED = re.compile(r"-\d{1,6}(\.[a-z0-9]{1,4})?$")
# a versioned instance of a program: a dotted version before the extension, or at the end of
# a name without one (AM_Delta_Patch_1.301.1337.0.exe; the shape would also take php-fpm7.4,
# were that entry marked versioned)
_VERSIONED = re.compile(r"[-_.]?v?\d{1,6}(?:\.\d{1,6}){1,4}(\.(?:exe|msi))?$", re.I)
# an SQLite database's journal beside it (places.sqlite-wal, History-journal): the same
# database's data, known as the database is
_SQLITE_JOURNAL = re.compile(r"^(?P<database>.+)-(?:wal|shm|journal)$")
# candidate type -> entry types to search, in order of preference
_SEARCH_ORDER: dict[str, tuple[str, ...]] = {
    "process": ("binary",),
    "file": ("file", "binary", "library"),
    "module": ("library", "binary"),
    "registry": ("registry",),
    "directory": ("file",),
}
_DEFAULT_ORDER = ("file", "binary", "library", "registry")

# categories that describe sensitive or security-relevant files
SENSITIVE_CATEGORIES = frozenset({"credential store", "persistence location", "log file"})


@dataclass(frozen=True)
class KnowledgeEntry:
    name: str  # the stored name that matched
    type: str  # binary | library | file | registry
    category: str
    usage: str
    os: tuple[str, ...]

    @property
    def sensitive(self) -> bool:
        return self.category in SENSITIVE_CATEGORIES


# Linux records a process's name in 15 bytes (TASK_COMM_LEN less its NUL): TC3's processes
# carry Firefox's plugin-container as plugin-containe
COMM_LENGTH = 15


@dataclass(frozen=True)
class _Index:
    exact: dict[tuple[str, str], KnowledgeEntry]  # (type, name) -> entry
    registry: tuple[tuple[str, KnowledgeEntry], ...]  # (lower-case key suffix, entry)
    # the first COMM_LENGTH characters of a longer binary name -> its entry, where one name
    # alone has them
    truncated: dict[str, KnowledgeEntry]
    # (type, name) -> entry, for the entries whose programs run under numbered names too
    # (``"numbered": true``: PDQ Deploy's runner as the service PDQDeployRunner-3.exe)
    numbered: dict[tuple[str, str], KnowledgeEntry]
    # (type, name) -> entry, for the entries whose programs run under versioned names too
    # (``"versioned": true``: Defender's AM_Delta_Patch_1.301.1337.0.exe)
    versioned: dict[tuple[str, str], KnowledgeEntry]


@lru_cache(maxsize=1)
def _index() -> _Index:
    raw = json.loads(resources.files("aptnarrate.data").joinpath("knowledge.json").read_text(encoding="utf-8"))
    exact: dict[tuple[str, str], KnowledgeEntry] = {}
    registry: list[tuple[str, KnowledgeEntry]] = []
    numbered: dict[tuple[str, str], KnowledgeEntry] = {}
    versioned: dict[tuple[str, str], KnowledgeEntry] = {}
    for item in raw["entries"]:
        for name in item["names"]:
            entry = KnowledgeEntry(name, item["type"], item["category"], item["usage"], tuple(item.get("os", ())))
            if item["type"] == "registry":
                registry.append((name.lower(), entry))
                continue
            key = index_key(name)
            exact.setdefault((item["type"], key), entry)  # first entry wins
            if item.get("numbered"):
                numbered.setdefault((item["type"], key), entry)
            if item.get("versioned"):
                versioned.setdefault((item["type"], key), entry)
    prefixes: dict[str, set[str]] = {}
    for (entry_type, key), entry in exact.items():
        if entry_type == "binary" and len(key) > COMM_LENGTH and not key.endswith(_WINDOWS_SUFFIXES):
            prefixes.setdefault(key[:COMM_LENGTH], set()).add(key)
    truncated = {prefix: exact[("binary", next(iter(keys)))] for prefix, keys in prefixes.items() if len(keys) == 1}
    return _Index(exact, tuple(registry), truncated, numbered, versioned)


def binary_names() -> list[str]:
    """Every stored name of a binary (as the index keeps it: Windows names in lower case)."""
    return [name for entry_type, name in _index().exact if entry_type == "binary"]


def index_key(name: str) -> str:
    """The key the index stores and looks up ``name`` under (Windows names in lower case)."""
    return name.lower() if name.lower().endswith(_WINDOWS_SUFFIXES) else name


@lru_cache(maxsize=8192)
def library_stem(name: str) -> str | None:
    """``libbz2.so.4`` -> ``libbz2``; ``None`` when the name is not a shared object.
    Cached, and the pattern runs only on names that can match: rules ask about every name
    many times, and a hostile name can be 100,000 characters long."""
    if ".so" not in name and not name.endswith(".dylib"):
        return None
    match = _SHARED_OBJECT.match(name)
    return match.group("stem") if match else None


def is_library(name: str) -> bool:
    lower = name.lower()
    return library_stem(name) is not None or lower.endswith((".dll", ".ocx", ".sys"))


@lru_cache(maxsize=1 << 17)
def lookup(name: str, kind: str) -> KnowledgeEntry | None:
    """What ``name`` normally is, for an entity of ``kind`` (file, process, module, registry...).
    Cached (entries are frozen): scoring, the pattern and stage rules, grounding and the
    narrators each ask about the same names, a dozen times each. Bounded (the keys are
    input names, kept across a batch's inputs), above the names of a log of tens of
    thousands of processes, files and addresses: at 8,192 entries a log of 60,000 distinct
    names missed on every one of its 550,000 questions (1.9 s)."""
    name = name.strip(" \t\r\n\x0b\x0c")  # ASCII only: "sshd" + U+3000 is no known program
    if not name:
        return None
    index = _index()
    if kind == "registry":
        lower = name.lower().rstrip("\\")
        for suffix, entry in index.registry:
            if lower.endswith(suffix) or f"\\{suffix}\\" in lower:
                return entry
        return None
    key = index_key(name)
    stem = library_stem(name)
    for entry_type in _SEARCH_ORDER.get(kind, _DEFAULT_ORDER):
        entry = index.exact.get((entry_type, key))
        if entry is None and stem is not None:
            entry = index.exact.get((entry_type, stem))
            # libfoo-2.0 style stems: try without the trailing version too
            if entry is None:
                entry = index.exact.get((entry_type, re.sub(r"[-.]\d+(?:\.\d+)*$", "", stem)))
        if entry is not None:
            return entry
    if index.numbered and "-" in key:
        # a numbered instance (NAME-<n>.exe) of a program that runs so
        base = _NUMBERED.sub(r"\1", key)
        for entry_type in _SEARCH_ORDER.get(kind, _DEFAULT_ORDER):
            entry = index.numbered.get((entry_type, base))
            if entry is not None:
                return entry
    if index.versioned and any(c.isdigit() for c in key):
        # a versioned instance of a program that runs so: the version taken out, the
        # extension kept (AM_Delta_Patch_1.301.1337.0.exe is AM_Delta_Patch.exe)
        match = _VERSIONED.search(key)
        if match is not None and match.start() > 0:
            base = key[: match.start()] + (match.group(1) or "")
            for entry_type in _SEARCH_ORDER.get(kind, _DEFAULT_ORDER):
                entry = index.versioned.get((entry_type, base))
                if entry is not None:
                    return entry
    if kind == "file" and key.endswith(("-wal", "-shm", "-journal")):
        journal = _SQLITE_JOURNAL.match(key)
        database = index.exact.get(("file", journal.group("database"))) if journal else None
        if database is not None and database.category == "application data":
            return database
    if kind == "process" and len(key) == COMM_LENGTH:
        # a Linux process's name cut to its 15 bytes, where one known program's begins so
        return index.truncated.get(key)
    return None
