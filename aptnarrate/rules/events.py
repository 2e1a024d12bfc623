"""The event vocabulary: dataset actions mapped onto the event classes the rules read.

The table is data (``aptnarrate/data/events.yaml``); this module only loads and indexes it.
``event_class("START_OUTBOUND", "flow")`` is ``"network_out"``; an action the table does not
know is ``"unknown"``: the row stays in the log and is reported, it is never dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..data import load_data_yaml

UNKNOWN = "unknown"
_ANY = "*"


@dataclass(frozen=True)
class Vocabulary:
    classes: dict[str, str]  # class -> description
    by_kind: dict[tuple[str, str], str]  # (ACTION, kind) -> class
    by_action: dict[str, str]  # ACTION -> class (mappings without object kinds)
    datasets: dict[str, tuple[str, ...]]  # ACTION -> datasets that emit it
    local_address_actions: frozenset[str] = frozenset()  # flow actions whose address is this host
    accept_actions: frozenset[str] = frozenset()  # the remote end opened the connection
    connect_actions: frozenset[str] = frozenset()  # this process opened it

    def event_class(self, action: str, object_kind: str | None = None) -> str:
        action = (action or "").strip().upper()
        if action.startswith("EVENT_"):
            action = action[len("EVENT_"):]
        if object_kind:
            found = self.by_kind.get((action, object_kind.strip().lower()))
            if found is not None:
                return found
        return self.by_action.get(action, UNKNOWN)


class VocabularyError(ValueError):
    """The vocabulary file is malformed (names the mapping and field)."""


def parse_vocabulary(raw: dict, source: str = "events.yaml") -> Vocabulary:
    if not isinstance(raw, dict) or not isinstance(raw.get("classes"), dict) or not isinstance(raw.get("mappings"), list):
        raise VocabularyError(f"{source}: expected top-level 'classes' (a mapping) and 'mappings' (a list)")
    classes = {str(k): str(v) for k, v in raw["classes"].items()}
    by_kind: dict[tuple[str, str], str] = {}
    by_action: dict[str, str] = {}
    datasets: dict[str, set[str]] = {}
    for number, item in enumerate(raw["mappings"], start=1):
        where = f"{source}: mapping {number}"
        if not isinstance(item, dict) or not isinstance(item.get("actions"), list) or not item["actions"]:
            raise VocabularyError(f"{where}: 'actions' must be a non-empty list")
        cls = item.get("class")
        if cls not in classes:
            raise VocabularyError(f"{where}: class {cls!r} is not declared under 'classes'")
        objects = item.get("objects") or [_ANY]
        for action in item["actions"]:
            action = str(action).upper()
            datasets.setdefault(action, set()).update(item.get("datasets") or ())
            for kind in objects:
                # the first mapping that names an (action, kind) wins
                if kind == _ANY:
                    by_action.setdefault(action, cls)
                else:
                    by_kind.setdefault((action, str(kind).lower()), cls)
    local, accepts, connects = (frozenset(str(a).upper() for a in raw.get(key) or ()) for key in ("local_address_actions", "accept_actions", "connect_actions"))
    return Vocabulary(classes, by_kind, by_action, {a: tuple(sorted(d)) for a, d in datasets.items()}, local, accepts, connects)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return parse_vocabulary(load_data_yaml("events.yaml"))


def event_class(action: str, object_kind: str | None = None) -> str:
    """The event class of ``action`` on an object of canonical ``object_kind``."""
    return vocabulary().event_class(action, object_kind)


def names_this_host(action: str) -> bool:
    """Whether a flow event with ``action`` names the monitored host rather than the remote end."""
    return (action or "").strip().upper() in vocabulary().local_address_actions


def unknown_action_note(triples) -> str | None:
    """One line naming the actions of a triple table the vocabulary does not know, or None.
    Such rows stay in the log and the IoC evidence; no rule reads them."""
    if triples is None or len(triples) == 0:
        return None
    counts = Counter({pair: n for pair, n in _row_counts(triples, ("action", "object_kind")).items() if event_class(*pair) == UNKNOWN})
    if not counts:
        return None
    shown = ", ".join(f"{action} on {kind or 'an unnamed object'}" for (action, kind), _ in counts.most_common(8))
    more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
    return (
        f"actions not in the event vocabulary (kept in the log, read by no rule): {shown}{more}; "
        "see aptnarrate/data/events.yaml to map them"
    )


def unknown_kind_note(triples) -> str | None:
    """One line naming the node types of a triple table that no dataset mapping knows, or
    None. Such a node is kept under its own type word, but no rule reads it as a file,
    process or network peer: a flow under a type word the tool does not know is no
    connection to any rule, so the report must say so rather than look like a quiet host."""
    if triples is None or len(triples) == 0:
        return None
    from ..preprocess.kinds import RAW_KIND

    known = set(RAW_KIND.values())
    counts = Counter()
    for column in ("subject_kind", "object_kind"):
        counts.update({kind: n for (kind,), n in _row_counts(triples, (column,)).items() if kind not in known})
    if not counts:
        return None
    # the type words come from the input (an edge list's type column is free text): shown
    # escaped and cut short
    shown = ", ".join(repr(kind if len(kind) <= 40 else kind[:40] + "\u2026") for kind, _ in counts.most_common(8))
    more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
    return (
        f"node types not in the type vocabulary (kept in the log, read by no rule as a process, file or "
        f"network peer): {shown}{more}; see RAW_KIND in aptnarrate/preprocess/kinds.py for the type words read"
    )


def _row_counts(table, columns: tuple[str, ...]) -> Counter:
    """How many rows of ``table`` hold each tuple of ``columns``' values, the tuples in order
    of first appearance (as ``Counter(zip(*columns))`` counts them, ties in
    ``most_common`` included): counted over value codes, since a large table repeats a few
    actions and types (a 1M-row edge list's 90,000 triples took 60 ms row by row).
    ``table``: ``Columns`` or a DataFrame."""
    from ..arrays import factorize, first_appearances

    key = np.zeros(len(table), dtype=np.int64)
    coded = []
    for column in columns:
        codes, values = factorize(table.arrow(column) if hasattr(table, "arrow") else np.asarray(table[column], dtype=object))
        key = key * len(values) + codes  # mixed radix: the tuple's codes, one number (two columns: < 2**63)
        coded.append((codes, values))
    tuple_codes, _ = factorize(key)
    first = np.flatnonzero(first_appearances(tuple_codes))  # each tuple's first row, in tuple order
    counts = np.bincount(tuple_codes, minlength=len(first)).tolist()
    return Counter(dict(zip(zip(*(values[codes[first]].tolist() for codes, values in coded)), counts)))


def vocabulary_notes(triples) -> tuple[str, ...]:
    """The notes on a triple table's actions and node types that the vocabularies lack."""
    return tuple(note for note in (unknown_action_note(triples), unknown_kind_note(triples)) if note)
