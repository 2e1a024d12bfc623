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

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from ..preprocess import knowledge
from ..preprocess.condense import NS_PER_MINUTE, minute_text

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts

_EPOCH = datetime(1970, 1, 1)
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
    """Every log row as its own entry, in report order (built once per ``facts``: each
    compression level starts from it). Per-description fields are computed once per
    distinct description, not per row."""
    return list(facts.derived("_timeline_entries", lambda: _build_timeline_entries(facts)))


def _build_timeline_entries(facts: Facts) -> tuple[Entry, ...]:
    timeline = facts.timeline
    desc = timeline.descriptions
    table_files = {c.value for c in facts.candidates if c.in_table and c.type in ("file", "module")}
    records = desc.records()
    per_desc = []
    for row in records:
        library = str(row["object_name"]) if _is_low_signal(row, table_files) else None
        subject = f"the {row['subject_kind']}: {row['subject_name']}" if row["subject_name"] else f"a {row['subject_kind']}"
        per_desc.append((str(row["text"]), subject, library, str(row["action"])))
    log = timeline.log
    entries = []
    for position, (log_id, minute, d, count) in enumerate(
        zip(log["id"].tolist(), log["minute"].tolist(), log["description"].tolist(), log["count"].tolist())
    ):
        text, subject, library, action = per_desc[d]
        entries.append(
            Entry(
                ids=(log_id,),
                first_minute=int(minute),
                last_minute=int(minute),
                event=text,
                count=int(count),
                order=position,
                subject=subject,
                library=library,
                action=action,
            )
        )
    return tuple(entries)


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


@lru_cache(maxsize=1 << 16)
def _minute(ns: int) -> str:
    """One wall-clock minute (ns) as ``YYYY-MM-DD HH:MM`` (what ``condense.minute_text``
    gives, without a pandas call per value)."""
    return (_EPOCH + timedelta(microseconds=ns // 1000)).strftime("%Y-%m-%d %H:%M")


def minute_span(entry: Entry) -> str:
    first, last = _minute(entry.first_minute), _minute(entry.last_minute)
    if first == last:
        return first
    return f"{first} to {last[11:]}" if first[:10] == last[:10] else f"{first} to {last}"


def compact_ids(ids: list[str] | tuple[str, ...]) -> str:
    """``L1, L2, L3, L7`` -> ``L1-L3, L7`` (runs of three or more consecutive ids)."""
    return ", ".join(id_ranges(ids)[0])


# ids as condense writes them (ASCII digits, within int64): parsed in C (``_numbers``)
_ASCII_ID_LIST = re.compile(r"L[0-9]{1,18}(?: L[0-9]{1,18})*")


def id_ranges(ids: list[str] | tuple[str, ...], limit: int | None = None) -> tuple[list[str], int]:
    """The parts of ``compact_ids(ids)``, the first ``limit`` of them only, and how many
    parts there are in all. Linear in numpy: a rule or an alias can cite 100,000 rows, and
    a prompt shows a dozen ranges of them."""
    if len(ids) > 32:
        joined = " ".join(ids)
        if _ASCII_ID_LIST.fullmatch(joined):
            return _id_ranges_numpy(joined, limit)
    parts = _id_ranges_python(ids)
    return (parts if limit is None else parts[:limit]), len(parts)


def _id_ranges_python(ids) -> list[str]:
    numbers = []
    for log_id in ids:
        if not (log_id.startswith("L") and log_id[1:].isdigit()):
            return list(ids)
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
    return parts


def _id_ranges_numpy(joined: str, limit: int | None) -> tuple[list[str], int]:
    return number_ranges(_sorted_distinct(_numbers(joined)), limit)


def _numbers(joined: str):
    """The numbers of ``L<n>`` ids joined by spaces (``_ASCII_ID_LIST``, checked by the
    caller), parsed in C: numpy's text reader, not one Python int per id."""
    import numpy as np

    return np.fromstring(joined.replace("L", ""), dtype=np.int64, sep=" ")


def _sorted_distinct(numbers):
    """``np.unique(numbers)``; ids cited in report order are that already (no sort needed)."""
    import numpy as np

    if len(numbers) < 2 or bool((numbers[1:] > numbers[:-1]).all()):
        return numbers
    return np.unique(numbers)


def number_ranges(numbers, limit: int | None = None) -> tuple[list[str], int]:
    """``id_ranges`` of the ids ``L<n>`` for ``numbers``, a sorted array without repeats."""
    import numpy as np

    numbers = np.asarray(numbers, dtype=np.int64)
    if not len(numbers):
        return [], 0
    breaks = np.flatnonzero(np.diff(numbers) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [len(numbers)]))  # exclusive
    lengths = ends - starts
    per_run = np.where(lengths >= 3, 1, lengths)  # a run of three or more is one part
    total = int(per_run.sum())
    wanted = total if limit is None else min(limit, total)
    runs = int(np.searchsorted(np.cumsum(per_run), wanted)) + 1 if wanted else 0
    parts: list[str] = []
    for start, end in zip(starts[:runs].tolist(), ends[:runs].tolist()):
        if end - start >= 3:
            parts.append(f"L{numbers[start]}-L{numbers[end - 1]}")
        else:
            parts.extend(f"L{n}" for n in numbers[start:end].tolist())
    return parts[:wanted], total


# --------------------------------------------------------------------------- row selection
#
# For a log too large for the budget whatever the steps above do (a million input rows
# condense to a few hundred thousand log rows), the prompt is decided before anything is
# rendered: each row's token cost comes from its description's (counted once), rows are
# taken in tiers of importance until the budget is met, only the chosen rows are rendered,
# and what was left out is counted per (subject, action, object kind) and per hour.

SELECT_STEP = "select-rows"
# rows at most for the step-by-step path above (it renders every row, one object per row)
STEPWISE_MAX_ROWS = 3000
# candidates outside the IoC table shown (trimmed), best-ranked first; the rest are counted
OTHER_CANDIDATES_SHOWN = 25
TIERS = (
    "first and last sighting of each IoC-table candidate",
    "rows the stage rules cite",
    "rows IoC-table candidates cite",
    "first and last row of each burst (same event in consecutive minutes)",
    "rows other shown candidates cite",
    "other rows",
)


@dataclass(frozen=True)
class RowSelection:
    """The rows a prompt shows, and the lines that count what it leaves out."""

    positions: object  # np.ndarray of log positions, in report order
    left_out_lines: list[str]
    total_rows: int
    notes: list[str]


def event_tokens(texts: list[str], count) -> list[int]:
    """Tokens of each event text as it appears in a timeline line (cached by the counter)."""
    from .prompt import data_line

    return count.count_many(texts, data_line)


def row_overhead(count, n_rows: int) -> int:
    """Tokens of a timeline line apart from its event text (id, minute, count, newline),
    for the longest id; a little above the exact figure on purpose."""
    from .prompt import data_line

    sample = data_line({"id": f"L{max(n_rows, 1)}", "minute": "2018-04-11 23:58", "event": "", "count": 10000})
    return count.count(sample) + 2


def log_positions(ids: list[str] | tuple[str, ...], n_rows: int):
    """Log positions of ids ``L<n>`` (others ignored)."""
    import numpy as np

    if not ids:
        return np.zeros(0, dtype=np.int64)
    joined = " ".join(ids)
    if _ASCII_ID_LIST.fullmatch(joined):  # ours always: parse them all in C, not one by one
        arr = _numbers(joined) - 1
    else:
        arr = np.asarray([int(i[1:]) - 1 for i in ids if i[:1] == "L" and i[1:].isdigit()], dtype=np.int64)
    return arr[(arr >= 0) & (arr < n_rows)]


def rule_evidence(facts: Facts) -> list[str]:
    """Log ids the stage rules cite, computed once per ``facts``."""
    from ..rules.stages import find_stages

    return facts.derived("_rule_evidence", lambda: [log_id for found in find_stages(facts) for log_id in found.evidence])


def burst_boundaries(minutes, descriptions):
    """Mask of rows that start or end a burst: the same description in consecutive minutes."""
    import numpy as np

    n = len(minutes)
    mask = np.zeros(n, dtype=bool)
    if not n:
        return mask
    order = np.lexsort((minutes, descriptions))
    d, m = descriptions[order], minutes[order]
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = (d[1:] != d[:-1]) | (m[1:] - m[:-1] > NS_PER_MINUTE)
    end_run = np.ones(n, dtype=bool)
    end_run[:-1] = new_run[1:]
    mask[order[new_run | end_run]] = True
    return mask


@dataclass(frozen=True)
class RowTiers:
    """Each log row's tier (``TIERS``) and token cost, computed once per prompt."""

    tier: object  # np.ndarray[int8]
    cost: object  # np.ndarray[int64]
    sightings: object  # tier-0 rows, best-ranked candidate first


def row_tiers(facts: Facts, shown_candidates, count) -> RowTiers:
    import numpy as np

    timeline = facts.timeline
    log = timeline.log
    n = len(log)
    desc_codes = log["description"]
    minutes = log["minute"]
    texts = timeline.descriptions["text"].tolist()
    per_desc = np.asarray(event_tokens(texts, count), dtype=np.int64) if texts else np.zeros(0, dtype=np.int64)
    cost = per_desc[desc_codes] + row_overhead(count, n) if n else np.zeros(0, dtype=np.int64)

    tier = np.full(n, len(TIERS) - 1, dtype=np.int8)

    def mark(positions, level: int) -> None:
        if len(positions):
            tier[positions] = np.minimum(tier[positions], level)

    mark(burst_boundaries(minutes, desc_codes).nonzero()[0], 3)
    table = [c for c in shown_candidates if c.in_table]
    others = [c for c in shown_candidates if not c.in_table]
    for c in others:
        mark(log_positions(c.evidence, n), 4)
    for c in table:
        mark(log_positions(c.evidence, n), 2)
    mark(log_positions(rule_evidence(facts), n), 1)
    sightings = log_positions([e for c in table if c.evidence for e in (c.evidence[0], c.evidence[-1])], n)
    mark(sightings, 0)
    return RowTiers(tier=tier, cost=cost, sightings=sightings)


def select_rows(facts: Facts, shown_candidates, count, budget: int, tiers: RowTiers | None = None) -> RowSelection:
    """Choose log rows worth at most ``budget`` tokens, tier by tier (``TIERS``). Within a
    tier that does not fit whole, rows are taken evenly spread over the log (the first
    tier: by candidate rank)."""
    import numpy as np

    tiers = tiers or row_tiers(facts, shown_candidates, count)
    tier, cost, sightings = tiers.tier, tiers.cost, tiers.sightings
    n = len(tier)
    chosen = np.zeros(n, dtype=bool)
    left = budget
    notes = []
    for level, name in enumerate(TIERS):
        members = np.flatnonzero(tier == level)  # in report order
        if not len(members):
            continue
        need = int(cost[members].sum())
        if need <= left:
            chosen[members] = True
            left -= need
            continue
        if level == 0:
            # sightings by candidate rank: the best-ranked candidates' first and last rows first
            _, first = np.unique(sightings, return_index=True)
            pick = sightings[np.sort(first)]
        else:
            # evenly spread over the tier, as many as the mean cost allows
            k = int(left / max(cost[members].mean(), 1))
            pick = members[np.unique(np.linspace(0, len(members) - 1, k).round().astype(np.int64))] if k > 0 else members[:0]
        # then trimmed to fit, in order: a row too large for what is left (a name of 100 KB
        # is ~12,500 tokens) is passed over, not the end of the tier (it hid every row after it)
        fits = np.cumsum(cost[pick]) <= left
        if not fits.all():
            fits[:] = False
            for index, row_cost in enumerate(cost[pick].tolist()):
                if row_cost <= left:
                    fits[index] = True
                    left -= row_cost
        chosen[pick[fits]] = True
        notes.append(f"{SELECT_STEP}: budget reached within tier '{name}'")
        break
    positions = np.flatnonzero(chosen)
    return RowSelection(positions=positions, left_out_lines=[], total_rows=n, notes=notes)


def left_out_lines(facts: Facts, positions, budget: int, count) -> list[str]:
    """Lines that say plainly which rows were not shown: a total, then counts per
    (subject, action, object kind) and per hour, largest first, while ``budget`` lasts."""
    import numpy as np

    from .prompt import data_line

    timeline = facts.timeline
    log = timeline.log
    n = len(log)
    omitted = np.ones(n, dtype=bool)
    omitted[positions] = False
    if not omitted.any():
        return []
    desc = timeline.descriptions
    codes = log["description"][omitted]
    counts = log["count"][omitted]
    minutes = log["minute"][omitted]
    lines = [
        data_line(
            {
                "left_out": f"{int(omitted.sum())} of {n} log rows are not shown (token budget); shown are, in order "
                "of priority: " + "; ".join(TIERS[:-1]) + ". Counts of the rows left out follow; cite only ids shown.",
                "rows": int(omitted.sum()),
                "event_seconds": int(counts.sum()),
            }
        )
    ]
    used = count.count(lines[0]) + 1
    # per (subject, action, object kind): a group code per description, then counts by code
    subject = [f"{k}: {name}" if name else f"a {k}" for k, name in zip(desc["subject_kind"].tolist(), desc["subject_name"].tolist())]
    keys = list(zip(subject, desc["action"].tolist(), desc["object_kind"].tolist()))
    number_of: dict[tuple, int] = {}  # numbered by first appearance
    group_of_desc = np.fromiter((number_of.setdefault(key, len(number_of)) for key in keys), dtype=np.int64, count=len(keys))
    group_keys = list(number_of)
    group = group_of_desc[codes]
    n_groups = len(group_keys)
    rows_per = np.bincount(group, minlength=n_groups)
    seconds_per = np.bincount(group, weights=counts, minlength=n_groups).astype(np.int64)
    first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, group, minutes)
    np.maximum.at(last, group, minutes)
    present = np.flatnonzero(rows_per)
    order = present[np.lexsort((present, -rows_per[present]))]  # most rows first, then first seen
    hour = minutes // (60 * NS_PER_MINUTE)
    hour_values, hour_codes = np.unique(hour, return_inverse=True)
    hour_rows = np.bincount(hour_codes, minlength=len(hour_values))
    by_size = np.argsort(-hour_rows, kind="stable")  # most rows first, earlier hours first among equals
    hour_starts, hour_sizes = hour_values[by_size] * 60 * NS_PER_MINUTE, hour_rows[by_size]
    half = budget // 2
    listed = 0
    for g in order[:2000].tolist():
        subject_text, action, object_kind = group_keys[g]
        first_text, last_text = _minute(int(first[g])), _minute(int(last[g]))
        line = data_line(
            {"left_out_group": {"subject": subject_text, "action": action, "object_kind": object_kind},
             "rows": int(rows_per[g]), "event_seconds": int(seconds_per[g]), "first_minute": first_text, "last_minute": last_text}
        )
        cost = count.count(line) + 1
        if used + cost > half:
            break
        lines.append(line)
        used += cost
        listed += 1
    if listed < len(present):
        lines.append(data_line({"left_out_groups_not_listed": int(len(present) - listed)}))
        used += count.count(lines[-1]) + 1
    hour_text = minute_text(hour_starts) if len(hour_starts) else []
    shown = {}
    for text, size in zip(hour_text, hour_sizes.tolist()):
        shown[text[:13] + ":00"] = int(size)
        if (used + 8 * len(shown)) > budget:
            shown.pop(text[:13] + ":00")
            break
    if shown:
        line = data_line({"left_out_rows_per_hour": dict(sorted(shown.items())),
                          "hours_not_listed": int(len(hour_sizes) - len(shown))})
        lines.append(line)
    return lines
