"""The package's own data files, and their YAML read without PyYAML.

Every run reads the built-in YAML files (events, roles, benign mechanisms, profiles, stage
support, program names, the pattern rules): PyYAML took some 35 ms to parse them and 15 ms to
import. ``parsed_yaml.json`` holds them parsed, as JSON, which decodes in a few milliseconds.
Its entry for a file records the sha256 of the YAML bytes it was parsed from and is used only
while the file still has those bytes: an edited file is parsed from its YAML, so a stale
``parsed_yaml.json`` costs time, never changes a result. ``python -m aptnarrate.data``
writes it again (``REGENERATE``).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

PARSED_YAML = "parsed_yaml.json"
REGENERATE = "python -m aptnarrate.data"
_FORMAT = 1  # bumped when the layout of parsed_yaml.json changes: an older one is then not read


def parse_yaml(text: str) -> Any:
    """PyYAML's safe parse of ``text`` (its C loader when built), as the data's readers always
    parsed it; PyYAML is imported only here."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _root():
    """The folder of the built-in data (a function, so that tests can point it elsewhere)."""
    return resources.files(__name__)


def data_file(name: str):
    """The built-in data file (or folder) ``name``, relative to this folder."""
    path = _root()
    for part in name.split("/"):
        path = path.joinpath(part)
    return path


def load_data_yaml(name: str, parse: Callable[[str], Any] = parse_yaml) -> Any:
    """The parsed content of the built-in YAML file ``name`` (relative to this folder:
    ``events.yaml``, ``rules/execution.yaml``): from ``parsed_yaml.json`` when its entry was
    parsed from the file's current bytes, else ``parse`` of the file's text (``parse`` may
    raise the caller's own error for text that is no valid YAML). The object returned is the
    caller's own, as a fresh parse would be."""
    path = data_file(name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()  # 136 KB in all: well under 1 ms
    entry = _take_parsed(name)
    if entry is not None and entry.get("sha256") == digest and "data" in entry:
        return entry["data"]
    return parse(path.read_text(encoding="utf-8"))


_lock = threading.Lock()
_unclaimed: dict[str, Any] = {}  # entries of parsed_yaml.json decoded but not yet handed out


def _take_parsed(name: str) -> dict | None:
    """``name``'s entry of ``parsed_yaml.json``, or None. Each decoded entry is handed out
    once, so that no caller sees another's changes to its objects; asking again decodes the
    file again."""
    with _lock:
        if name not in _unclaimed:
            _unclaimed.clear()
            _unclaimed.update(_read_parsed())
        entry = _unclaimed.pop(name, None)
    return entry if isinstance(entry, dict) else None


def _read_parsed() -> dict[str, Any]:
    """The entries of ``parsed_yaml.json`` by file name; none when it is missing, unreadable
    or of another format (every file is then parsed from its YAML)."""
    try:
        twin = json.loads(data_file(PARSED_YAML).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(twin, dict) or twin.get("format") != _FORMAT or not isinstance(twin.get("files"), dict):
        return {}
    return twin["files"]


# --------------------------------------------------------------------------- writing


def data_yaml_names() -> list[str]:
    """Every built-in YAML file, relative to this folder: the ones beside this module and
    the pattern rules (``rules/``), whose folder is read whole."""
    names = []
    for folder, prefix in ((_root(), ""), (data_file("rules"), "rules/")):
        names += sorted(prefix + entry.name for entry in folder.iterdir() if entry.name.endswith((".yaml", ".yml")) and entry.is_file())
    return names


class NotJsonExact(ValueError):
    """A YAML file holds a value JSON would not give back as it is (a date, a set, a
    non-text key, an infinite float)."""


def _check_json_exact(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJsonExact(f"{where}: {value!r} has no JSON form")
        return
    if isinstance(value, list):
        for number, item in enumerate(value):
            _check_json_exact(item, f"{where}[{number}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotJsonExact(f"{where}: key {key!r} is not text (JSON would make it {json.dumps(str(key))})")
            _check_json_exact(item, f"{where}.{key}")
        return
    raise NotJsonExact(f"{where}: {type(value).__name__} {value!r} has no JSON form")


def build_parsed() -> dict[str, Any]:
    """The content of ``parsed_yaml.json`` for the YAML files as they are now. Raises
    ``NotJsonExact`` for a file whose parse JSON cannot hold as it is."""
    files = {}
    for name in data_yaml_names():
        path = data_file(name)
        data = parse_yaml(path.read_text(encoding="utf-8"))  # the text the readers parse
        _check_json_exact(data, name)
        files[name] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "data": data}
    return {"format": _FORMAT, "written_by": REGENERATE, "files": files}


def encode_parsed(twin: dict[str, Any]) -> str:
    # one item a line: a change to a YAML file shows as a readable diff
    return json.dumps(twin, ensure_ascii=False, indent=1) + "\n"


def stale_entries() -> list[str]:
    """The built-in YAML files whose entry in ``parsed_yaml.json`` is missing or was parsed
    from other bytes, and the entries of files that are gone."""
    recorded = {name: entry.get("sha256") if isinstance(entry, dict) else None for name, entry in _read_parsed().items()}
    stale = []
    for name in data_yaml_names():
        if recorded.pop(name, None) != hashlib.sha256(data_file(name).read_bytes()).hexdigest():
            stale.append(name)
    return stale + sorted(f"{name} (no such file)" for name in recorded)
