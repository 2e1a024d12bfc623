"""Node-type vocabulary: the raw type words detectors emit, mapped to canonical entity kinds.

OCR-APT writes DARPA TC3 types in lower case (``subject_process``), OpTC types as plain
words (``process``, ``module``) and NodLink types likewise (``net``). Its own renaming
(``database_config.rename_node_type``) turns TC3 types into short words such as ``fileDir``;
those short words are accepted too, so already-renamed logs parse.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

# raw type word (lower case) -> canonical kind
RAW_KIND: dict[str, str] = {
    # DARPA TC3 (CDM)
    "subject_process": "process",
    "subject_unit": "unit",
    "subject_thread": "thread",
    "file_object_file": "file",
    "file_object_dir": "directory",
    "file_object_unix_socket": "socket",
    "file_object_block": "device",
    "file_object_char": "device",
    "file_object_link": "link",
    "file_object_named_pipe": "pipe",
    "netflowobject": "flow",
    "unnamedpipeobject": "pipe",
    "memoryobject": "memory",
    "srcsink_unknown": "srcsink",
    "srcsinkobject": "srcsink",
    "registrykeyobject": "registry",
    "packetsocketobject": "socket",
    # OCR-APT's renamed TC3 words
    "filedir": "directory",
    "fileblock": "device",
    "filechar": "device",
    "filelink": "link",
    "srcsink": "srcsink",
    "unit": "unit",
    "pipe": "pipe",
    "memory": "memory",
    "socket": "socket",
    # DARPA OpTC
    "process": "process",
    "file": "file",
    "flow": "flow",
    "module": "module",
    "registry": "registry",
    "thread": "thread",
    "shell": "shell",
    "task": "task",
    "host": "host",
    "user_session": "session",
    "service": "service",  # eCAR's SERVICE object (a service installed or started)
    # NodLink
    "net": "flow",
    # canonical words themselves, so already-normalised inputs round-trip
    "directory": "directory",
    "device": "device",
    "link": "link",
    "session": "session",
}

# Action words detectors emit, without their EVENT_ prefix: DARPA CDM's event types
# (TC3 and OCR-APT's edge lists) and OpTC's actions. The description parser uses them to
# tell a real action from an upper-case word inside an attacker-chosen name.
KNOWN_ACTIONS: frozenset[str] = frozenset(
    {
        # CDM EventType
        "ACCEPT", "ADD_OBJECT_ATTRIBUTE", "BIND", "BLIND", "BOOT", "CHANGE_PRINCIPAL",
        "CHECK_FILE_ATTRIBUTES", "CLONE", "CLOSE", "CONNECT", "CORRELATION", "CREATE_OBJECT",
        "CREATE_THREAD", "DUP", "EXECUTE", "EXIT", "FCNTL", "FINIT_MODULE", "FLOWS_TO", "FORK",
        "INIT_MODULE", "LINK", "LOADLIBRARY", "LOGCLEAR", "LOGIN", "LOGOUT", "LSEEK", "MMAP",
        "MODIFY_FILE_ATTRIBUTES", "MODIFY_PROCESS", "MOUNT", "MPROTECT", "OPEN", "OTHER",
        "READ", "READ_SOCKET_PARAMS", "RECVFROM", "RECVMSG", "RENAME", "SENDMSG", "SENDTO",
        "SERVICEINSTALL", "SHM", "SIGNAL", "SPLICE", "STARTSERVICE", "TEE", "TRUNCATE",
        "UMOUNT", "UNIT", "UNLINK", "UPDATE", "VMSPLICE", "WAKEUP", "WRITE", "WRITE_SOCKET_PARAMS",
        # OpTC actions (also with _INBOUND / _OUTBOUND, see is_known_action)
        "ADD", "COMMAND", "CREATE", "DELETE", "EDIT", "GRANT", "INFO", "LOAD", "MESSAGE",
        "MODIFY", "REMOTE_CREATE", "REMOVE", "RENAME", "START", "TERMINATE", "SET",
    }
)


# The three word mappings below are memoised: parsing calls them once per distinct
# description or edge, with a handful of distinct type and action words among them.
# Bounded, since the words come from the input.
_WORD_CACHE = 4096


@lru_cache(maxsize=_WORD_CACHE)
def is_known_action(action: str) -> bool:
    word = canonical_action(action)
    for suffix in ("_INBOUND", "_OUTBOUND"):
        if word.endswith(suffix):
            word = word[: -len(suffix)]
    return word in KNOWN_ACTIONS


# Kinds whose value is not a path: shown as written (flows get their remote address).
NON_PATH_KINDS = frozenset({"flow", "memory", "srcsink", "host", "session"})

_TYPE_WORD = re.compile(r"[^/#]+$")


@lru_cache(maxsize=_WORD_CACHE)
def canonical_kind(raw: str | None) -> str | None:
    """Map a raw type (bare word, URI or CDM constant) to a canonical kind, or None if unknown."""
    if raw is None:
        return None
    word = raw.strip()
    match = _TYPE_WORD.search(word)
    if match:
        word = match.group(0)
    return RAW_KIND.get(word.lower())


@lru_cache(maxsize=_WORD_CACHE)
def canonical_action(raw: str) -> str:
    """``EVENT_OPEN``, ``http://.../EVENT_OPEN`` and ``open`` all become ``OPEN``."""
    word = raw.strip()
    match = _TYPE_WORD.search(word)
    if match:
        word = match.group(0)
    word = word.upper()
    return word[len("EVENT_"):] if word.startswith("EVENT_") else word


def _host_of(endpoint: str) -> str:
    """``1.2.3.4:80`` -> ``1.2.3.4``; ``[::1]:80`` -> ``::1``; a bare address stays."""
    endpoint = endpoint.strip()
    if endpoint.startswith("["):
        return endpoint[1:].split("]", 1)[0]
    if endpoint.count(":") == 1:
        return endpoint.split(":", 1)[0]
    return endpoint


def _is_local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def flow_remote(value: str) -> str:
    """The remote address of a flow value.

    Accepts a bare IP, ``ip:port``, ``src:port->dst:port`` (the remote side is the
    destination unless the destination is loopback/unspecified and the source is not)
    and OCR-APT's ``proto,ip`` attribute form.
    """
    text = value.strip()
    if "->" in text:
        src, dst = (_host_of(part) for part in text.split("->", 1))
        return src if _is_local(dst) and not _is_local(src) else dst
    if "," in text:
        text = text.split(",")[1].split("/")[0]
    if " " in text:
        text = text.split(" ")[0]
    return _host_of(text)


# a Windows executable's path ends at its extension, whatever spaces it holds
# ("C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "x.docm")
_WINDOWS_EXECUTABLE = re.compile(r'^"?([A-Za-z]:\\[^"]*?\.(?:exe|com|bat|cmd|scr|pif))(?="|\s|$)', re.IGNORECASE)
_WINDOWS_QUOTED = re.compile(r'^"([A-Za-z]:\\[^"]*)"')


def _executable_of(value: str) -> str:
    """The executable of a process value that may be a command line: a Windows path up to
    its executable extension or closing quote (spaces in folder names included), a POSIX
    path up to the first space; anything else as it is."""
    windows = _WINDOWS_EXECUTABLE.match(value) or _WINDOWS_QUOTED.match(value)
    if windows:
        return windows.group(1)
    if value.startswith("/"):
        return value.split(" ", 1)[0]
    return value


def display_name(kind: str, value: str) -> str:
    """The short name shown in the log: a basename for paths, the remote IP for flows."""
    if kind == "flow":
        return flow_remote(value)
    if kind == "process" and " " in value:
        value = _executable_of(value)
    if kind not in NON_PATH_KINDS:
        stripped = value.rstrip("/\\")
        base = re.split(r"[/\\]", stripped)[-1] if stripped else value
        return base or value
    return value
