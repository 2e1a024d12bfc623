"""Shrink the condensed log for a prompt, deterministically, one step at a time.

The prompt shows the timeline as entries. At full detail each entry is one log row. Each
step below is applied on top of the previous ones until the prompt fits its token budget:

1. ``collapse-library``: low-signal library activity (MMAP/OPEN/CLOSE/READ/LOAD of unnamed
   files or shared libraries) by one subject in one minute becomes one entry with counts;
   rows whose file is listed in the IoC table stay as they are.
2. ``merge-minutes``: the same event in consecutive minutes becomes one entry spanning the
   minutes, with the total count.
3. ``drop-uncited``: entries with no row in any candidate's evidence are left out.

No step loses a log id that a candidate cites: collapsed and merged entries list all the
ids behind them, so every candidate's evidence stays citable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from . import knowledge
from .condense import NS_PER_MINUTE, minute_text

if TYPE_CHECKING:  # pragma: no cover
    from .facts import Facts

STEPS = ("collapse-library", "merge-minutes", "drop-uncited")
LOW_SIGNAL_ACTIONS = frozenset({"MMAP", "OPEN", "CLOSE", "READ", "LOAD", "LOADLIBRARY"})
_LIBRARY_KINDS = frozenset({"file", "module"})
_NAMES_SHOWN = 4


@dataclass(frozen=True)
class Entry:
    """One line of the prompt's timeline."""

    ids: tuple[str, ...]
    first_minute: int  # ns
    last_minute: int
    event: str
    count: int
    order: int  # report position of its first row
    subject: str = ""  # set on rows that may be collapsed
    library: str | None = None  # on low-signal library rows: the file name ("" if unnamed)
    action: str = ""


def timeline_entries(facts: Facts) -> list[Entry]:
    """Every log row as its own entry, in report order."""
    timeline = facts.timeline
    desc = timeline.descriptions
    table_files = {c.value for c in facts.candidates if c.in_table and c.type in ("file", "module")}
    entries = []
    log = timeline.log
    for position, (log_id, minute, d, count) in enumerate(
        zip(log["id"], log["minute"].to_numpy(), log["description"].to_numpy(), log["count"].to_numpy())
    ):
        row = desc.iloc[int(d)]
        library = None
        if _is_low_signal(row, table_files):
            library = str(row["object_name"])
        entries.append(
            Entry(
                ids=(str(log_id),),
                first_minute=int(minute),
                last_minute=int(minute),
                event=str(row["text"]),
                count=int(count),
                order=position,
                subject=f"the {row['subject_kind']}: {row['subject_name']}" if row["subject_name"] else f"a {row['subject_kind']}",
                library=library,
                action=str(row["action"]),
            )
        )
    return entries


def _is_low_signal(row, table_files: set[str]) -> bool:
    if row["action"] not in LOW_SIGNAL_ACTIONS or row["object_kind"] not in _LIBRARY_KINDS:
        return False
    name = str(row["object_name"])
    if not name:
        return True
    if name in table_files:
        return False
    if knowledge.is_library(name):
        return True
    entry = knowledge.lookup(name, "module")
    return entry is not None and entry.type == "library"


def collapse_library(entries: list[Entry]) -> tuple[list[Entry], int]:
    """Step 1. Per minute and subject, the low-signal library rows (two or more) become one
    entry at the place of the first. Rows within a minute are ordered by count, not time,
    so gathering them loses no order. Returns the entries and how many rows were folded."""
    groups: dict[tuple[int, str], list[Entry]] = {}
    for entry in entries:
        if entry.library is not None and len(entry.ids) == 1:
            groups.setdefault((entry.first_minute, entry.subject), []).append(entry)
    out: list[Entry] = []
    folded = 0
    for entry in entries:
        group = groups.get((entry.first_minute, entry.subject)) if entry.library is not None else None
        if not group or len(group) < 2:
            out.append(entry)
        elif group[0] is entry:
            out.append(_collapsed(group))
            folded += len(group)
    return out, folded


def _collapsed(run: list[Entry]) -> Entry:
    actions: dict[str, int] = {}
    names: list[str] = []
    unnamed = 0
    for entry in run:
        actions[entry.action] = actions.get(entry.action, 0) + entry.count
        if entry.library:
            if entry.library not in names:
                names.append(entry.library)
        else:
            unnamed += 1
    counts = ", ".join(f"{action} x{n}" for action, n in sorted(actions.items()))
    shown = names[:_NAMES_SHOWN]
    files = ", ".join(shown) + (f", and {len(names) - len(shown)} more" if len(names) > len(shown) else "")
    what = []
    if names:
        what.append(f"{len(names)} library files ({files})")
    if unnamed:
        what.append("unnamed files")
    event = f"[collapsed: {len(run)} low-signal rows] {run[0].subject.capitalize()} {counts} on {' and '.join(what)}"
    return Entry(
        ids=tuple(i for e in run for i in e.ids),
        first_minute=min(e.first_minute for e in run),
        last_minute=max(e.last_minute for e in run),
        event=event,
        count=sum(e.count for e in run),
        order=run[0].order,
    )


def merge_minutes(entries: list[Entry]) -> tuple[list[Entry], int]:
    """Step 2. The same event in consecutive minutes -> one entry. Returns entries merged away."""
    by_event: dict[str, list[Entry]] = {}
    for entry in entries:
        by_event.setdefault(entry.event, []).append(entry)
    out: list[Entry] = []
    merged_away = 0
    for group in by_event.values():
        group.sort(key=lambda e: (e.first_minute, e.order))
        current = group[0]
        for entry in group[1:]:
            if entry.first_minute - current.last_minute <= NS_PER_MINUTE:
                current = replace(
                    current,
                    ids=current.ids + entry.ids,
                    last_minute=max(current.last_minute, entry.last_minute),
                    count=current.count + entry.count,
                )
                merged_away += 1
            else:
                out.append(current)
                current = entry
        out.append(current)
    out.sort(key=lambda e: e.order)
    return out, merged_away


def drop_uncited(entries: list[Entry], facts: Facts) -> tuple[list[Entry], int]:
    """Step 3. Keeps entries with at least one row a candidate cites. Returns rows dropped."""
    cited = {log_id for c in facts.candidates for log_id in c.evidence}
    kept = [e for e in entries if any(i in cited for i in e.ids)]
    dropped = sum(len(e.ids) for e in entries) - sum(len(e.ids) for e in kept)
    return kept, dropped


def entries_at(facts: Facts, level: int) -> tuple[list[Entry], list[str]]:
    """The timeline with the first ``level`` steps applied, and a note for each step."""
    entries = timeline_entries(facts)
    notes: list[str] = []
    if level >= 1:
        entries, n = collapse_library(entries)
        notes.append(f"collapse-library: {n} low-signal library rows folded into summary lines")
    if level >= 2:
        entries, n = merge_minutes(entries)
        notes.append(f"merge-minutes: {n} rows merged into the same event in the previous minute")
    if level >= 3:
        entries, n = drop_uncited(entries, facts)
        notes.append(f"drop-uncited: {n} log rows cited by no candidate left out")
    return entries, notes


def minute_span(entry: Entry) -> str:
    first, last = minute_text([entry.first_minute, entry.last_minute])
    if first == last:
        return first
    return f"{first} to {last[11:]}" if first[:10] == last[:10] else f"{first} to {last}"


def compact_ids(ids: list[str] | tuple[str, ...]) -> str:
    """``L1, L2, L3, L7`` -> ``L1-L3, L7`` (runs of three or more consecutive ids)."""
    numbers = []
    for log_id in ids:
        if not (log_id.startswith("L") and log_id[1:].isdigit()):
            return ", ".join(ids)
        numbers.append(int(log_id[1:]))
    numbers = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"L{numbers[i]}-L{numbers[j]}")
        else:
            parts.extend(f"L{n}" for n in numbers[i : j + 1])
        i = j + 1
    return ", ".join(parts)
