"""Stage findings: the pattern rules (data) and the structural rules (code) run over one
subgraph's condensed log, merged into at most one finding per APT stage.

Each rule returns a :class:`StageEvidence` (supporting log ids, a confidence, a reason in
words, the ATT&CK tactic and techniques) or nothing. No stage is claimed without log rows
behind it; an empty result ("no stage supported by the evidence") is a valid answer.
Benign mechanisms (``data/benign.yaml``) that explain a subgraph suppress the stages they
list. Names from the log are only compared with names from the data files.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Callable, TypeVar

import numpy as np

from ..arrays import Columns, distinct, factorize
from ..preprocess.condense import minute_text
from ..models import APT_STAGES, LEVELS
from .benign import explaining, mechanisms, mechanisms_for
from .lineage import PLACEHOLDERS, acting_for_an_attacker, attack_chain, chain_links, descendant_subjects, in_chain, process_category, remote_command_tool, remote_session_host
from .events import event_class, names_this_host, vocabulary
from .fanout import MINUTE_NS
from .patterns import CREDENTIAL_PROCESS, PROCESS_LIST_MIN, ROW_UNLESS, TASK_FILE_TOOLS, VIEW_UNLESS, Row, RowTable, make_rows, builtin_rules, process_listing_tools
from ..wording import capped_list, quoted

_T = TypeVar("_T")

if TYPE_CHECKING:  # pragma: no cover
    from ..preprocess.facts import Facts



@dataclass(frozen=True)
class StageEvidence:
    stage: str
    confidence: str
    evidence: tuple[str, ...]
    rationale: str
    tactic: str | None = None
    techniques: tuple[str, ...] = field(default_factory=tuple)
    # the log position of each id of ``evidence`` when the rule knows them (its rows were
    # selected by position): merging and the story read them instead of parsing the ids
    positions: np.ndarray | None = field(default=None, compare=False, repr=False)
    # the same finding under the stage of an entry the log shows elsewhere: what it becomes
    # when another finding claims that stage (a shell's fetch of a tool is Ingress Tool
    # Transfer, Command and Control, on a host already reached; a step of the intrusion's
    # entry where the log shows that entry)
    joining: StageEvidence | None = field(default=None, compare=False, repr=False)


def cited(view: LogView, *rows: np.ndarray, **fields) -> StageEvidence:
    """A finding citing ``rows`` (row masks or positions, in turn) by their log ids."""
    positions = np.concatenate([np.flatnonzero(r) if r.dtype == bool else r for r in rows]) if rows else np.zeros(0, dtype=np.int64)
    return StageEvidence(evidence=tuple(view.ids[positions].tolist()), positions=positions, **fields)


def _joined(timeline) -> Columns:
    """The condensed log joined with its descriptions and each row's event class."""
    log = timeline.log
    codes = log["description"]
    descriptions = timeline.descriptions
    rows = log[["id", "minute", "count", "description"]]
    for column in descriptions.columns:
        rows[column] = descriptions[column][codes]
    rows["event"] = _description_events(descriptions)[codes] if len(codes) else np.array([], dtype=object)
    return rows


def _description_events(descriptions: Columns) -> np.ndarray:
    """Each description's event class, looked up once per distinct (action, object kind)."""
    if not len(descriptions):
        return np.array([], dtype=object)
    # a dict of the few distinct pairs: cheaper than a MultiIndex and its factorize, at any size
    known: dict[tuple[str, str], str] = {}
    pairs = zip(descriptions["action"].tolist(), descriptions["object_kind"].tolist())
    events = [known[pair] if pair in known else known.setdefault(pair, event_class(*pair)) for pair in pairs]
    return np.array(events, dtype=object)


def log_rows(timeline) -> Columns:
    """The condensed log joined with its descriptions, each row's event class and minute text."""
    rows = _joined(timeline)
    joined = {name: rows[name] for name in rows.columns if name != "event"}
    joined["minute_text"] = np.array(minute_text(rows["minute"]), dtype=object)
    joined["event"] = rows["event"]
    return Columns(joined, len(rows))


def _positions_by_code(uniques, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Each distinct value of a factorized column (``factorize``'s distinct values and
    codes) -> the positions that hold it (int64, ascending), values in first-appearance
    order: one stable sort groups the positions, each value's a slice of it (no Python step
    per position, and no array built per question: a rule asking about each of 20,000
    programs a browser started copied the browser's 40,000 positions each time)."""
    uniques = list(uniques)
    if not len(codes):
        return {}
    order = np.argsort(codes, kind="stable").astype(np.int64, copy=False)
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1)).tolist()
    return {value: order[bounds[code] : bounds[code + 1]] for code, value in enumerate(uniques)}


def _description_object_paths(timeline, names: list[str]) -> list[tuple[str, ...]]:
    """Each description's own object paths: the distinct full values of the objects its
    events act on (first appearance), else its object's name. A row's path is what it
    touched, not every path that shares the name: a tool that reads ``...\\winevt\\Logs\\
    Security.evtx`` and writes an export ``E:\\Archive\\Security.evtx`` wrote the export only."""
    from ..preprocess.facts import distinct_by_code

    codes, values = factorize(timeline.table.triples.arrow("object_value"))
    found = distinct_by_code(timeline.triple_description.astype(np.int64, copy=False), codes, np.asarray(values, dtype=object))
    paths = []
    for code, name in enumerate(names):
        own = tuple(v for v in found.get(code, ()) if isinstance(v, str) and v)
        paths.append(own or ((name,) if name else ()))
    return paths


class LogView:
    """The log joined with its descriptions and event classes, plus per-name lookups.

    Most rules read description columns (names, kinds, event classes): ``desc`` holds them
    once per distinct description and ``expand`` turns a mask over descriptions into a mask
    over log rows, so a test over a million-row log costs one pass over a few thousand
    descriptions and one array take. ``rows`` (the joined frame) is built on first use."""

    def __init__(self, facts: Facts) -> None:
        timeline = facts.timeline
        self.descriptions = timeline.descriptions
        log = timeline.log
        self._codes = log["description"]
        self.minutes = log["minute"]
        self.counts = log["count"]
        self.ids = timeline.ids  # object strings, converted once per timeline for all users
        self.facts = facts
        self.candidates = {c.value: c for c in facts.candidates}
        self.desc = {
            column: self.descriptions[column]
            for column in ("subject_kind", "subject_name", "action", "object_kind", "object_name")
        }
        self.desc["event"] = _description_events(self.descriptions)
        self._sweeps = None
        desc = self.desc
        kinds, names = desc["object_kind"].tolist(), desc["object_name"].tolist()
        self.pattern_rows = make_rows(
            desc["subject_name"].tolist(), desc["action"].tolist(), names, desc["subject_kind"].tolist(), kinds, _description_object_paths(timeline, names)
        )
        self.table = RowTable(self.pattern_rows)

    @cached_property
    def rows(self) -> Columns:
        return _joined(self.facts.timeline)

    def derived(self, key: str, compute: Callable[[], _T]) -> _T:
        """What a rule derives from this view and other rules read too (the C2 channels, the
        attack chain), computed once and kept with it, as ``Facts.derived`` does (a None
        it computed too: "none here" is an answer, not a missing one)."""
        if key not in self.__dict__:
            self.__dict__[key] = compute()
        return self.__dict__[key]

    def expand(self, per_description: np.ndarray) -> np.ndarray:
        """A mask (or values) over descriptions, read at each log row."""
        return per_description[self._codes] if len(per_description) else np.zeros(len(self._codes), dtype=per_description.dtype)

    def desc_where(self, column: str, test: Callable[[str], bool], within: np.ndarray | None = None) -> np.ndarray:
        """A mask over descriptions from a test of one column, run once per distinct value
        (only the values of the descriptions ``within``; the others read False)."""
        codes, values, _ = self._coded(column)
        at = codes if within is None else codes[within]
        asked = np.zeros(len(values), dtype=bool)
        asked[at] = True
        flags = np.zeros(len(values), dtype=bool)
        which = np.flatnonzero(asked).tolist()
        flags[which] = [bool(test(values[code])) for code in which]
        if within is None:
            return flags[codes]
        found = np.zeros(len(codes), dtype=bool)
        found[within] = flags[at]
        return found

    def desc_in(self, column: str, values) -> np.ndarray:
        """Descriptions whose ``column`` is one of ``values`` (a mask over descriptions),
        read off the column's codes (``_coded``): a call costs the values asked for and one
        take, not a test of every description (rules ask over a hundred times a report)."""
        codes, distinct_values, code_of = self._coded(column)
        wanted = np.zeros(len(distinct_values), dtype=bool)
        wanted[[code_of[value] for value in set(values) if value in code_of]] = True
        return wanted[codes]

    def _coded(self, column: str) -> tuple[np.ndarray, list, dict]:
        """The description column ``column`` factorized once for every rule that tests it:
        each description's code, the distinct values (first appearance first), and each
        value's code."""

        def compute() -> tuple[np.ndarray, list, dict]:
            codes, uniques = factorize(self.desc[column])
            values = uniques.tolist()
            return codes, values, {value: code for code, value in enumerate(values)}

        return self.derived(f"_coded_{column}", compute)

    def isin(self, column: str, values) -> np.ndarray:
        """Rows whose description ``column`` is one of ``values``."""
        return self.expand(self.desc_in(column, values))

    @property
    def sweeps(self) -> list[dict]:
        if self._sweeps is None:
            self._sweeps = self._find_sweeps()
        return self._sweeps

    def _find_sweeps(self) -> list[dict]:
        """``fanout.sweeps`` over the log: the subjects, subnets and hosts are the
        facts' (``Facts.sweeps``, judged on each flow description's first minute, computed
        once for facts and the rules); each sweep's ``positions`` are then every log row of
        those contacts, in log order."""
        # copies: the sweeps are shared with facts, the positions are this view's
        found = [dict(sweep) for sweep in self.facts.sweeps]
        if not found:
            return found
        desc = self.desc
        flow = (desc["object_kind"] == "flow") & np.isin(desc["event"], ("network_out", "network_close"))
        # a description is one sweep's at most (one subject, and a host is in one subnet), so
        # the rows are grouped by one array of sweep numbers, not a log-wide mask per sweep
        sweep_of = np.full(len(self.pattern_rows), -1, dtype=np.int64)
        objects = desc["object_name"]
        for number, sweep in enumerate(found):
            # the subject's descriptions only (the index): a mask per sweep over every
            # description made thousands of sweeps quadratic
            at = self.positions_named("subject_name", sweep["subject"])
            at = at[flow[at]]
            hosts = set(sweep["hosts"])
            sweep_of[at[np.fromiter((objects[i] in hosts for i in at.tolist()), dtype=bool, count=len(at))]] = number
        row_sweep = self.expand(sweep_of)
        positions = np.flatnonzero(row_sweep >= 0)
        by_sweep = np.argsort(row_sweep[positions], kind="stable")  # each sweep's rows in log order
        bounds = np.searchsorted(row_sweep[positions][by_sweep], np.arange(len(found) + 1))
        for number, sweep in enumerate(found):
            sweep["positions"] = positions[by_sweep[bounds[number] : bounds[number + 1]]]
        return found

    def pattern_mask(self, test: Callable[[Row], bool], where: np.ndarray | None = None) -> np.ndarray:
        """A row mask from a test run once per distinct description. ``where``: a row mask;
        only the descriptions under it are tested (a rule that needs the test for a few
        rows does not pay for every description), and rows outside it read False."""
        if where is None:
            return self.expand(self.pattern_flags(test))
        flags = np.zeros(len(self.pattern_rows), dtype=bool)
        flags[distinct(self._codes[where])] = True
        return self.expand(self.pattern_flags(test, flags)) & where

    def pattern_flags(self, test: Callable[[Row], bool], within: np.ndarray | None = None) -> np.ndarray:
        """A mask over descriptions from a test of each one's pattern row (only those
        ``within``; the others read False)."""
        if within is None:
            return np.array([bool(test(row)) for row in self.pattern_rows], dtype=bool)
        flags = np.zeros(len(self.pattern_rows), dtype=bool)
        for described in np.flatnonzero(within).tolist():
            flags[described] = bool(test(self.pattern_rows[described]))
        return flags

    def named(self, column: str, value: str) -> np.ndarray:
        """The descriptions (a mask) whose ``column`` is ``value``: read off an index built
        once per column, so a rule that asks once per name costs one pass over the
        descriptions in all, not one per name (thousands of dropped programs in a crafted
        log made such loops quadratic)."""
        found = np.zeros(len(self.pattern_rows), dtype=bool)
        found[self.positions_named(column, value)] = True
        return found

    def positions_named(self, column: str, value: str) -> np.ndarray:
        """The positions of the descriptions whose ``column`` is ``value``, in order."""
        found = self._index(column).get(value)
        return found if found is not None else np.array([], dtype=np.int64)

    def _index(self, column: str) -> dict[str, np.ndarray]:
        """Each value of the description column ``column`` -> its positions (built once)."""
        codes, values, _ = self._coded(column)
        return self.derived(f"_index_{column}", lambda: _positions_by_code(values, codes))

    def values(self, column: str, per_description: np.ndarray) -> set:
        """The distinct values of ``column`` at the log rows of these descriptions."""
        return set(self.desc[column][per_description & self.present])

    def pairs(self, per_description: np.ndarray) -> set[tuple[str, str]]:
        """The distinct (subject name, object name) pairs at the log rows of these descriptions."""
        at = per_description & self.present
        return set(zip(self.desc["subject_name"][at].tolist(), self.desc["object_name"][at].tolist()))

    def rows_of(self, per_description: np.ndarray) -> np.ndarray:
        """The log positions of the rows of these descriptions, in log order."""
        return np.flatnonzero(self.expand(per_description))

    @cached_property
    def present(self) -> np.ndarray:
        """Descriptions that some log row has (a set read off descriptions must skip the
        others, as one read off log rows does)."""
        if not len(self._codes):
            return np.zeros(len(self.pattern_rows), dtype=bool)
        return np.bincount(self._codes, minlength=len(self.pattern_rows)) > 0

    @cached_property
    def program_starts(self) -> np.ndarray:
        """Descriptions (present) of a program run: a process started (Windows logs) or a
        file executed (Linux and FreeBSD logs), whose object names the program."""
        desc = self.desc
        return self.present & (((desc["event"] == "process_start") & (desc["object_kind"] == "process")) | (desc["event"] == "execute"))

    @cached_property
    def subjects(self) -> frozenset[str]:
        """The names of the processes that act in the log (the unnamed one left out), read
        once for every rule and mechanism that asks."""
        return frozenset(self.values("subject_name", self.present) - {""})

    @cached_property
    def _subject_table(self) -> tuple[RowTable, list[str]]:
        """``subjects`` (sorted) as rows of a process with no event: the table the benign
        mechanisms' subject tests run over (``subjects_named_by``)."""
        names = sorted(self.subjects)
        return RowTable([Row(name, "", "") for name in names]), names

    def subjects_named_by(self, mechanism) -> frozenset[str]:
        """The ``subjects`` a benign mechanism's selections name (by name or category,
        ``Mechanism.names_subject``), found once per view and mechanism over one table: each
        test runs once per name, in ``RowTable``'s fast paths (asked name by name, a log of
        20,000 distinct processes spent seconds building each name's fields again)."""
        def named() -> frozenset[str]:
            table, names = self._subject_table
            mask = table.any_selection(tuple(tests for tests, _ in mechanism._subject_selections))
            return frozenset(name for name, hit in zip(names, mask.tolist()) if hit)

        return per_mechanism(self, "_subjects_named_by", mechanism, named)

    @cached_property
    def first_minutes(self) -> np.ndarray:
        """Each description's first minute (int64 max when it has no row)."""
        found = np.full(len(self.pattern_rows), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(found, self._codes, self.minutes)
        return found

    @cached_property
    def last_minutes(self) -> np.ndarray:
        """Each description's last minute (int64 min when it has no row)."""
        found = np.full(len(self.pattern_rows), np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(found, self._codes, self.minutes)
        return found

    def values_of(self, kind: str, name: str) -> list[str]:
        cand = self.candidates.get(name)
        return cand.full_values if cand else []

    def address_class(self, name: str) -> str:
        return self.facts.address_class(name)[0]


class _LogOrder:
    """Log ids -> their position in the log (the last one, 0 when absent), as a dict over
    the log would give. The Arrow id column is searched in Arrow (``index_in``), so the
    Python strings of every log row are never hashed. A report merges by it only where the
    log's ids are not each at one position; elsewhere the findings' positions are merged
    (``_merge``)."""

    def __init__(self, log_ids) -> None:
        self._log_ids = log_ids  # an Arrow string array

    def sorted_union(self, evidence: list[tuple[str, ...]]) -> tuple[str, ...]:
        """The distinct ids of ``evidence`` in log order (by ``positions``)."""
        union = list({e for ids in evidence for e in ids})
        position = dict(zip(union, self.positions(union)))
        return tuple(sorted(union, key=position.__getitem__))

    def positions(self, wanted: list[str]) -> list[int]:
        if not wanted:
            return []
        import pyarrow as pa
        from .. import compute as pc

        log_ids = self._log_ids
        which = pc.fill_null(pc.index_in(log_ids, value_set=pa.array(wanted, type=log_ids.type)), -1)
        which = np.asarray(which.to_numpy(zero_copy_only=False), dtype=np.int64)
        rows = np.flatnonzero(which >= 0)
        found = np.zeros(len(wanted), dtype=np.int64)
        np.maximum.at(found, which[rows], rows)
        return found.tolist()


def _merge(items: list[StageEvidence], order: _LogOrder, ids: np.ndarray, unique_ids: bool) -> StageEvidence:
    """One finding per stage: the union of evidence, the strongest confidence, every reason.
    ``unique_ids``: each log id is at one position (as condense numbers them), so the
    union of the items' positions, in order, is the union of their ids in log order."""
    if len(items) == 1:
        return items[0]
    confidence = max((item.confidence for item in items), key=LEVELS.index)
    techniques = tuple(dict.fromkeys(t for item in items for t in item.techniques))
    rationale = " ".join(dict.fromkeys(item.rationale for item in items))
    positions = None
    if unique_ids and all(item.positions is not None for item in items):
        positions = distinct(np.concatenate([item.positions for item in items]))
        evidence = tuple(ids[positions].tolist())
    else:
        evidence = order.sorted_union([item.evidence for item in items])
    return StageEvidence(items[0].stage, confidence, evidence, rationale, items[0].tactic, techniques, positions)


def staged_upload_rows(view: LogView) -> np.ndarray:
    """The descriptions naming, as subject or as the program started, a process whose only
    outside exchange was a staged upload (``structural.staged_uploaders``), for the rules that
    say ``unless: carries only a staged upload``: plink carrying an archive out is the
    exfiltration's transfer, not a tunnel."""
    from .structural import staged_uploaders

    def compute() -> np.ndarray:
        uploaders = staged_uploaders(view)
        if not uploaders:
            return np.zeros(len(view.pattern_rows), dtype=bool)
        starts = view.desc_in("event", ("execute", "process_start"))
        return view.desc_in("subject_name", uploaders) | (starts & view.desc_in("object_name", uploaders))

    return view.derived("_staged_upload_rows", compute)


def pattern_findings(view: LogView) -> list[StageEvidence]:
    found = []
    present = view.present
    for rule in builtin_rules():
        if rule.stage is None:
            continue
        matched = view.table.rule(rule)  # per description
        chain: dict[str, str] = {}
        if rule.lineage is not None and (matched & present).any():
            # routine by itself: counts only for a process the log shows in an attack chain
            # (or, "acting for an attacker", also running PowerShell inside it)
            chain = attack_chain(view) if rule.lineage == "attack chain" else acting_for_an_attacker(view)
            matched = matched & in_chain(view, chain)
        for kind in rule.unless:
            # the process list's rows are weighed below: one acting for an attacker stays
            if kind != "process list" and (matched & present).any():
                matched = matched & ~unless_rows(view, kind)
        acting_listers = None
        if "process list" in rule.unless and (matched & present).any():
            listing = matched & process_list_rows(view)
            if listing.any():  # a process acting for an attacker opening LSASS stays evidence
                acting = acting_for_an_attacker(view)
                # unless it is a tool that can only list (tasklist run by an attacker's shell
                # is discovery, not a dump)
                tools = process_listing_tools()
                only_lists = view.desc_where("subject_name", lambda name: name.casefold() in tools, listing)
                kept = listing & in_chain(view, acting) & ~only_lists
                matched = matched & ~(listing & ~kept)
                if (kept & present).any():
                    acting_listers = acting, kept & present
        inbound = None
        if rule.needs == "connection from another host" and (matched & present).any():
            inbound = _inbound_from_another_host(view)
            if inbound is None:
                continue
        outbound = None
        if rule.needs == "public connection by its process" and (matched & present).any():
            outbound = _public_sends_of(view, view.values("subject_name", matched & present) - {""})
            if not outbound.any() or _holds_channel(view, outbound) or _tasked_over_a_held_channel(view, matched & present, outbound):
                continue
        if not (matched & present).any():
            continue
        hits = view.expand(matched)
        at = matched & present
        names = _names(set(view.desc["object_name"][at]) | set(view.desc["subject_name"][at]))
        reason = f"{rule.title}: {rule.explanation}" + (f" ({names})." if names else ".")
        if chain:
            # the reason leans on the chain: say it, and cite the rows that show it
            reason, path = _in_chain(view, chain, view.values("subject_name", at), reason, at)
            hits = hits | view.expand(path)
        if acting_listers is not None:
            # a process list's access is routine by itself: say why this one stands
            acting, at_list = acting_listers
            listers = view.values("subject_name", at_list)
            reason += f" {_names(listers)} opened {PROCESS_LIST_MIN} or more distinct processes, as a process list such as Task Manager does, which alone claims nothing."
            reason, path = _in_chain(view, acting, listers, reason, at_list)
            hits = hits | view.expand(path)
        if inbound is not None:
            position, address, at_this_host = inbound
            if at_this_host:  # OpTC's inbound flows name the receiver: this host, not the peer
                reason += f" The subgraph shows an inbound connection from another host (received at this host's own address {quoted(address)})."
            else:
                reason += f" The subgraph shows a connection from another host ({quoted(address)})."
            hits = hits.copy()
            hits[position] = True
        if outbound is not None:
            senders, addresses = view.values("subject_name", outbound), view.values("object_name", outbound)
            reason += f" {_names(senders)} also sent to the public address(es) {_names(addresses)}."
            hits = hits | view.expand(outbound)
        finding = cited(view, hits, stage=rule.stage, confidence=rule.confidence, rationale=reason, tactic=rule.tactic, techniques=tuple(rule.techniques))
        found.append(arrival(view, finding) if inbound is not None else finding)
    return found


def process_list_rows(view: LogView) -> np.ndarray:
    """The descriptions of processes opening other processes, by a process list
    (``patterns.process_lists``): its handle on LSASS is one of many, not a dump's
    (``pattern_findings`` keeps those of a process acting for an attacker)."""
    return unless_rows(view, "process list")


def unless_rows(view: LogView, kind: str) -> np.ndarray:
    """The descriptions a rule's ``unless: KIND`` takes out: for the kinds a row can be
    judged by (``patterns.ROW_UNLESS``: a task or service the subgraph also removes, a
    written file it runs as a program, ...), what the kind gathers off the whole subgraph's
    rows, then its test per description; for the others, what the log shows
    (``VIEW_UNLESS_READERS``: ``planted_for_a_privileged_run``, ``staged_upload_rows``, ...).
    Computed once per view."""
    reader = VIEW_UNLESS_READERS.get(kind)
    if reader is not None:
        return reader(view)
    check = ROW_UNLESS[kind]
    return _rows_unless(view, f"_unless_rows:{kind}", check.gather, check.takes_out)


def injects_at_its_own_privilege(view: LogView) -> np.ndarray:
    """The descriptions of threads created in another process by a process the log shows
    opening other processes, none of them one that runs as SYSTEM (``SYSTEM_PROCESSES``) or
    LSASS, for the rules that say ``unless: injects only at its own privilege``: an implant
    moving into a process it started, or into the user's Explorer, hides there (T1055 as
    defense evasion) and gains no privilege; a thread whose target the log does not show
    stays. Computed once per view."""
    from .patterns import CREDENTIAL_PROCESS, SYSTEM_PROCESSES

    def compute() -> np.ndarray:
        desc = view.desc
        threads = view.present & (desc["event"] == "remote_thread") & (desc["subject_name"] != "")
        found = np.zeros(len(threads), dtype=bool)
        if not threads.any():
            return found
        opens = view.present & (desc["event"] == "process_access") & (desc["object_kind"] == "process") & (desc["object_name"] != "")
        opened: dict[str, set[str]] = {}
        for subject, target in zip(desc["subject_name"][opens].tolist(), desc["object_name"][opens].tolist()):
            opened.setdefault(subject, set()).add(target.casefold())
        privileged = SYSTEM_PROCESSES | {CREDENTIAL_PROCESS}
        injectors = {subject for subject, targets in opened.items() if not targets & privileged}
        return threads & view.desc_in("subject_name", injectors) if injectors else found

    return view.derived("_injects_at_its_own_privilege", compute)


# a privileged program started this soon after a write was what the write was for
PRIVILEGED_RUN_MINUTES = 1


def planted_for_a_privileged_run(view: LogView) -> np.ndarray:
    """The descriptions of writes by a process that, in the minute of its write or within
    ``PRIVILEGED_RUN_MINUTES`` after, starts a privileged program (``privileged_loaders``:
    su, pkexec, passwd): what it wrote was for that run (the overlayfs exploit writing
    ld.so.preload so that su loads its library as root), a privilege escalation's step,
    not a change meant to last; computed once per view."""
    from .lineage import privileged_loader

    def compute() -> np.ndarray:
        desc = view.desc
        starts = view.present & view.desc_in("event", ("process_start", "execute"))
        starts &= view.desc_where("object_name", privileged_loader, starts)
        starts &= view.desc_where("subject_name", lambda n: bool(n) and not privileged_loader(n), starts)
        found = np.zeros(len(starts), dtype=bool)
        if not starts.any():
            return found
        started_at: dict[str, list[int]] = {}
        for at in view.rows_of(starts).tolist():
            started_at.setdefault(desc["subject_name"][view._codes[at]], []).append(int(view.minutes[at]))
        sorted_at = {subject: np.sort(np.array(m, dtype=np.int64)) for subject, m in started_at.items()}
        writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_in("subject_name", sorted_at)
        for at in np.flatnonzero(writes).tolist():
            minutes = sorted_at[desc["subject_name"][at]]
            first = int(view.first_minutes[at])
            k = int(np.searchsorted(minutes, first, side="left"))
            found[at] = k < len(minutes) and minutes[k] <= first + PRIVILEGED_RUN_MINUTES * MINUTE_NS
        return found

    return view.derived("_planted_for_a_privileged_run", compute)


# Group Policy's files in SYSVOL that the Group Policy client applies, by what applying them
# writes: the policy's registry values (Registry.pol, and Preferences' Registry.xml), and
# Preferences' scheduled tasks and services
GROUP_POLICY_FILES = {
    "registry_write": frozenset({"registry.pol", "registry.xml"}),
    "task_create": frozenset({"scheduledtasks.xml"}),
    "task_modify": frozenset({"scheduledtasks.xml"}),
    "service_install": frozenset({"services.xml"}),
}
# a write this soon after its writer read the policy file for it is that file applied
GROUP_POLICY_MINUTES = 1


def applied_by_group_policy(view: LogView) -> np.ndarray:
    """The descriptions of registry values, tasks and services written by a process that read
    the Group Policy file for them (``GROUP_POLICY_FILES``) in that minute or up to
    ``GROUP_POLICY_MINUTES`` before: the domain's policy applying the Run values, tasks and
    services it assigns every host (an IT department's BGInfo at logon, its weekly clean-up),
    not a foothold of this host's; computed once per view. A tool started meanwhile
    (``schtasks``, ``reg``) is another row, judged on its own, unless Group Policy's script
    host started it (``_written_by_policy_scripts``)."""

    def compute() -> np.ndarray:
        desc = view.desc
        policy_files = frozenset().union(*GROUP_POLICY_FILES.values())
        reads = view.present & (desc["event"] == "file_read") & view.desc_where("object_name", lambda n: n.casefold() in policy_files)
        found = _written_by_policy_scripts(view)
        if not reads.any():
            return found
        read_at: dict[tuple[str, str], list[int]] = {}  # (reader, file) -> minutes
        for at in view.rows_of(reads).tolist():
            code = view._codes[at]
            read_at.setdefault((desc["subject_name"][code], desc["object_name"][code].casefold()), []).append(int(view.minutes[at]))
        sorted_at = {key: np.sort(np.array(m, dtype=np.int64)) for key, m in read_at.items() if key[0]}
        readers = {reader for reader, _ in sorted_at}
        writes = view.present & view.desc_in("event", tuple(GROUP_POLICY_FILES)) & view.desc_in("subject_name", readers)
        for at in np.flatnonzero(writes).tolist():
            first = int(view.first_minutes[at])
            for name in GROUP_POLICY_FILES[desc["event"][at]]:
                minutes = sorted_at.get((desc["subject_name"][at], name))
                if minutes is None:
                    continue
                k = int(np.searchsorted(minutes, first, side="right"))  # the last read at or before it
                if k > 0 and minutes[k - 1] >= first - GROUP_POLICY_MINUTES * MINUTE_NS:
                    found[at] = True
                    break
        return found

    return view.derived("_applied_by_group_policy", compute)


# Group Policy's script host, which runs the logon, logoff, start-up and shut-down scripts the
# domain assigns (scripts.ini names them)
POLICY_SCRIPT_HOSTS = frozenset({"gpscript.exe"})
POLICY_SCRIPT_LISTS = frozenset({"scripts.ini", "psscripts.ini"})


def _written_by_policy_scripts(view: LogView) -> np.ndarray:
    """The descriptions of registry values, tasks and services written by a process Group
    Policy's script host (``POLICY_SCRIPT_HOSTS``) started, or theirs in turn, where the host
    read the domain's script list (``POLICY_SCRIPT_LISTS``): the logon script's `reg add ...
    Run` for BGInfo, the domain's, not a foothold."""
    desc = view.desc
    hosts = view.present & view.desc_where("subject_name", lambda n: n.casefold() in POLICY_SCRIPT_HOSTS)
    listed = hosts & (desc["event"] == "file_read") & view.desc_where("object_name", lambda n: n.casefold() in POLICY_SCRIPT_LISTS, hosts)
    found = np.zeros(len(desc["event"]), dtype=bool)
    if not listed.any():
        return found
    below = descendant_subjects(view, view.values("subject_name", listed))
    return below & view.present & view.desc_in("event", tuple(GROUP_POLICY_FILES))


# the consoles that manage local accounts (Computer Management, Local Users and Groups),
# whose snap-in files the management console reads as it opens them
ACCOUNT_CONSOLES = frozenset({"compmgmt.msc", "lusrmgr.msc"})
ACCOUNT_CONSOLE_MINUTES = 5  # an account made this soon after the console opened is made in it
# the net command, whose ``net user`` and ``net localgroup`` add, reset and enable accounts
# and put them in groups (net.exe hands the work to net1.exe)
NET_COMMANDS = frozenset({"net.exe", "net1.exe"})


def net_starts(view: LogView) -> np.ndarray:
    """The descriptions (present) of the net command's starts (``NET_COMMANDS``)."""
    return view.program_starts & view.desc_where("object_name", lambda n: n.casefold() in NET_COMMANDS, view.program_starts)


def made_in_the_account_console(view: LogView) -> np.ndarray:
    """The descriptions of the security account manager's (LSASS's) registry writes in the
    minute a local-accounts console (``ACCOUNT_CONSOLES``) was opened or up to
    ``ACCOUNT_CONSOLE_MINUTES`` after, where the log shows no net command started: an
    administrator creating an account or setting a group in Computer Management, not one
    added from a shell; computed once per view."""

    def compute() -> np.ndarray:
        desc = view.desc
        found = np.zeros(len(view.pattern_rows), dtype=bool)
        opened = view.present & (desc["event"] == "file_read") & view.desc_where("object_name", lambda n: n.casefold() in ACCOUNT_CONSOLES)
        if not opened.any():
            return found
        if net_starts(view).any():
            return found
        writes = view.present & (desc["event"] == "registry_write") & view.desc_where("subject_name", lambda n: n.casefold() == CREDENTIAL_PROCESS)
        minutes = np.sort(view.minutes[view.rows_of(opened)])
        for at in np.flatnonzero(writes).tolist():
            first = int(view.first_minutes[at])
            k = int(np.searchsorted(minutes, first, side="right"))  # the last opening at or before it
            found[at] = k > 0 and int(minutes[k - 1]) >= first - ACCOUNT_CONSOLE_MINUTES * MINUTE_NS
        return found

    return view.derived("_made_in_the_account_console", compute)


# how soon after a process listing the dump it serves opens its target
DUMP_AFTER_LISTING_MINUTES = 1


def finds_the_process_it_dumps(view: LogView) -> np.ndarray:
    """The descriptions of a process-listing tool's starts (roles.yaml's) every row of
    which falls in a minute in which, or one before, another program the same process
    started opens LSASS (``CREDENTIAL_PROCESS``): ``tasklist /fi "imagename eq lsass.exe"``
    finding the process id ``rundll32 comsvcs.dll, MiniDump`` needs, the dump's own step
    (the credential rules weigh it), not a look around; computed once per view."""

    def compute() -> np.ndarray:
        desc = view.desc
        found = np.zeros(len(view.pattern_rows), dtype=bool)
        listers = process_listing_tools()
        listings = view.program_starts & view.desc_where("object_name", lambda n: n.casefold() in listers, view.program_starts)
        if not listings.any():
            return found
        opens = view.present & (desc["event"] == "process_access") & view.desc_where("object_name", lambda n: n.casefold() == CREDENTIAL_PROCESS)
        # (a listing opens every process, LSASS among them: no dump of its own)
        opens &= ~view.desc_where("subject_name", lambda n: n.casefold() in listers, opens)
        if not opens.any():
            return found
        window = DUMP_AFTER_LISTING_MINUTES * MINUTE_NS

        def sorted_minutes(rows: np.ndarray, key_column: str) -> dict[str, list[int]]:
            by: dict[str, set[int]] = {}
            for code, minute in zip(view._codes[rows].tolist(), view.minutes[rows].tolist()):
                by.setdefault(desc[key_column][code], set()).add(minute)
            return {key: sorted(minutes) for key, minutes in by.items()}

        def within(minutes: list[int], start: int) -> bool:  # one of ``minutes`` in [start, start + window]
            at = bisect_left(minutes, start)
            return at < len(minutes) and minutes[at] <= start + window

        open_minutes = sorted_minutes(view.rows_of(opens), "subject_name")
        # the minutes each process started a program that opened LSASS then or a minute later
        started = view.rows_of(view.program_starts & view.desc_in("object_name", set(open_minutes)))
        keep = [within(open_minutes[desc["object_name"][code]], minute) for code, minute in zip(view._codes[started].tolist(), view.minutes[started].tolist())]
        dump_at = sorted_minutes(started[np.array(keep, dtype=bool)], "subject_name")
        if not dump_at:
            return found
        found[listings] = True
        listing_rows = view.rows_of(listings)
        for code, minute in zip(view._codes[listing_rows].tolist(), view.minutes[listing_rows].tolist()):
            if not within(dump_at.get(desc["subject_name"][code], []), minute):
                found[code] = False
        return found

    return view.derived("_finds_the_process_it_dumps", compute)


def changes_an_account(view: LogView) -> np.ndarray:
    """The descriptions of the net command's starts (``NET_COMMANDS``) every row of which
    falls in a minute in which the security account manager (inside LSASS) wrote the
    registry: ``net user NAME /add``, ``net localgroup administrators NAME /add``, the
    account's change (which the persistence rules weigh), not a look around; computed once
    per view. A net run in any other minute may be a look (``net group "domain admins"``)."""

    def compute() -> np.ndarray:
        desc = view.desc
        found = np.zeros(len(view.pattern_rows), dtype=bool)
        starts = net_starts(view)
        writes = view.present & (desc["event"] == "registry_write") & view.desc_where("subject_name", lambda n: n.casefold() == CREDENTIAL_PROCESS)
        if not starts.any() or not writes.any():
            return found
        changed = np.unique(view.minutes[view.rows_of(writes)])
        rows = view.rows_of(starts)
        outside = rows[~np.isin(view.minutes[rows], changed)]
        found[starts] = True
        found[view._codes[outside]] = False
        return found

    return view.derived("_changes_an_account", compute)


def connects_for_a_remote_step(view: LogView) -> np.ndarray:
    """The descriptions of starts of a tool whose connections all go to hosts that a remote
    command tool (``remote_command_tools`` in roles.yaml: wmic, sc, schtasks, PsExec) reaches
    in the subgraph: ``net use \\HOST`` opening the session the remote step then uses, the
    movement's preparation, not a look around; computed once per view."""

    def compute() -> np.ndarray:
        desc = view.desc
        flows = view.present & (desc["object_kind"] == "flow") & view.desc_in("event", ("network_out", "network_in")) & ~view.desc_in("object_name", PLACEHOLDERS)
        by_remote_tools = view.desc_where("subject_name", remote_command_tool, flows)
        remote = view.values("object_name", flows & by_remote_tools)
        found = np.zeros(len(flows), dtype=bool)
        if not remote:
            return found
        reached: dict[str, set[str]] = {}
        for tool, address in view.pairs(flows & ~by_remote_tools):
            reached.setdefault(tool, set()).add(address)
        preparing = {tool for tool, addresses in reached.items() if tool and addresses <= remote}
        if preparing:
            found = view.present & view.desc_in("event", ("process_start", "execute")) & view.desc_in("object_name", preparing)
        return found

    return view.derived("_connects_for_a_remote_step", compute)


def checks_its_own_elevation(view: LogView) -> np.ndarray:
    """The descriptions of an escalation's own steps that look like a look around: an
    identity check (whoami, id) a shell runs right after it was elevated, by a UAC bypass, a
    stolen SYSTEM token or a local exploit (``structural._escalation_own_checks``); computed
    once per view."""
    from .structural import _escalation_own_checks

    return view.derived("_checks_its_own_elevation", lambda: _escalation_own_checks(view))


def queued_to_run_once(view: LogView) -> np.ndarray:
    """The descriptions of a one-shot job tool's writes (at, batch: its queue file) where no
    run of it is below the job runner (``structural.one_shot_jobs_not_rearmed``): a job
    queued to run once, deferred execution rather than a job made to come back; computed
    once per view."""
    from .structural import one_shot_jobs_not_rearmed

    def compute() -> np.ndarray:
        once = one_shot_jobs_not_rearmed(view)
        if not once:
            return np.zeros(len(view.pattern_rows), dtype=bool)
        return view.present & view.desc_in("subject_name", once)

    return view.derived("_queued_to_run_once", compute)


def _rows_unless(view: LogView, key: str, gather: Callable, applies: Callable) -> np.ndarray:
    """The descriptions a rule's ``unless`` takes out: what ``gather`` reads off the whole
    subgraph's rows, then ``applies(row, gathered)`` per description; computed once per view."""
    def compute() -> np.ndarray:
        rows = view.pattern_rows
        gathered = gather(rows[i] for i in np.flatnonzero(view.present).tolist())
        if not gathered:
            return np.zeros(len(rows), dtype=bool)
        return view.present & np.fromiter((applies(row, gathered) for row in rows), dtype=bool, count=len(rows))

    return view.derived(key, compute)


# what each ``unless`` kind a row alone cannot judge (``patterns.VIEW_UNLESS``) reads off the log
VIEW_UNLESS_READERS: dict[str, Callable[[LogView], np.ndarray]] = {
    "planted for a privileged run": planted_for_a_privileged_run,
    "carries only a staged upload": staged_upload_rows,
    "applied by Group Policy": applied_by_group_policy,
    "connects for a remote step": connects_for_a_remote_step,
    "injects only at its own privilege": injects_at_its_own_privilege,
    "made in the account console": made_in_the_account_console,
    "changes an account": changes_an_account,
    "finds the process it dumps": finds_the_process_it_dumps,
    "checks its own elevation": checks_its_own_elevation,
    "queued to run once": queued_to_run_once,
}
assert set(VIEW_UNLESS_READERS) == set(VIEW_UNLESS), "every unless kind the log judges has its reader"


def _public_sends_of(view: LogView, subjects: set[str]) -> np.ndarray:
    """The descriptions of ``subjects`` sending to a public address (per description); not
    to this host's domain controllers (``domain_controllers``), hosts of the site whatever
    networks were declared."""
    from .structural import domain_controllers

    desc = view.desc
    sends = view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow") & view.desc_in("subject_name", subjects)
    sends &= view.desc_where("object_name", lambda a: bool(a) and view.address_class(a) == "public", sends)
    if sends.any():
        sends &= ~view.desc_in("object_name", domain_controllers(view))
    return sends


def _holds_channel(view: LogView, sends: np.ndarray) -> bool:
    """Whether ``sends`` make a sustained channel (outbound in as many distinct minutes as
    the Command and Control rule asks), before what the process starts or around it: then
    that is the channel's tasking, not a payload it fetched (a DLL beacon under rundll32
    starting a shell minutes into its beaconing)."""
    from .structural import C2_MIN_MINUTES

    # over the whole slice, not only before the start: a fetch is one exchange, a process
    # that keeps sending in as many minutes holds the channel itself (a DLL implant under
    # rundll32 starting its shell in the first minute of the beaconing the slice shows)
    return len(np.unique(view.minutes[view.rows_of(sends)])) >= C2_MIN_MINUTES


def heard_before_opening(view: LogView, holder_codes, pair_codes, starts: np.ndarray, opened: np.ndarray) -> bool:
    """Whether a process (its descriptions ``holder_codes``) heard from an address (its flow
    descriptions with it, ``pair_codes``) by the minute it first started a program, having
    opened no connection to it by then (``opened``): a channel older than the slice, whose
    tasking the start is, not a fetch of the code it runs (the proxy-execution rule and the
    structural rule for an implant's tasks read it alike)."""
    first = view.first_minutes
    started = [int(first[c]) for c in holder_codes if starts[c]]
    heard = [int(first[c]) for c in pair_codes if view.desc["event"][c] == "network_in" and not opened[c]]
    if not started or not heard:
        return False
    opens = [int(first[c]) for c in pair_codes if opened[c]]
    return min(heard) <= min(started) and not (opens and min(opens) <= min(started))


def _tasked_over_a_held_channel(view: LogView, started: np.ndarray, sends: np.ndarray) -> bool:
    """Whether the processes of ``sends`` (to public addresses) heard from those addresses
    by the minute of the first start ``started`` shows, having opened no connection to them
    by then: a channel older than the slice, whose tasking started the program (a DLL
    beacon under rundll32 told to run cmd), not a payload it fetched and ran."""
    desc = view.desc
    flows = view.present & (desc["object_kind"] == "flow") & view.desc_in("subject_name", view.values("subject_name", sends))
    flows &= view.desc_in("object_name", view.values("object_name", sends))
    opened = flows & view.desc_in("action", vocabulary().connect_actions)
    return heard_before_opening(view, np.flatnonzero(started).tolist(), np.flatnonzero(flows).tolist(), started, opened)


def _inbound_from_another_host(view: LogView) -> tuple[int, str, bool] | None:
    """The first log row of an inbound connection from another host (not a loopback or
    reserved address), its address, and whether that address is this host's own (an action
    that names the receiver, OpTC's inbound flows); None when the subgraph shows none."""
    desc = view.desc
    inbound = view.present & (desc["event"] == "network_in") & (desc["object_kind"] == "flow")
    inbound &= view.desc_where("object_name", lambda a: bool(a) and view.address_class(a) not in ("loopback", "local"), inbound)
    inbound &= ~_replies(view, inbound)
    if not inbound.any():
        return None
    position = int(view.rows_of(inbound)[0])
    code = view._codes[position]
    return position, str(desc["object_name"][code]), names_this_host(str(desc["action"][code]))


def arrival(view: LogView, finding: StageEvidence) -> StageEvidence:
    """A Lateral Movement ``finding`` for a session another host opened onto this one (remote
    execution, a tool copied in over a share or a remote session), restated as Initial
    Compromise when every address the subgraph's connections name lies outside the site
    (``public``: no declared internal network holds it, and it is not private): nothing in
    the log places the session's source at a host of the site, so a remote service reached
    from outside is the way in (T1133), not movement between the site's hosts. Where the
    site's networks are declared and hold an address, or a private address shows, it stays
    movement. The session's own flows are not told apart from the rest: OpTC's inbound
    flows name this host, not the peer, and a share's server answers on the connection."""
    addresses = _flow_addresses(view)
    if finding.stage != "Lateral Movement" or not addresses or any(view.address_class(a) != "public" for a in addresses):
        return finding
    reason = (
        f"{finding.rationale} Every address the subgraph's connections name lies outside the site "
        f"({_names(addresses)}; no internal network declared holds it): a remote service reached from outside, the way in "
        "rather than movement between the site's hosts (declare the site's networks if these are its hosts)."
    )
    techniques = ("T1133",) + tuple(t for t in finding.techniques if t != "T1133")
    return replace(finding, stage="Initial Compromise", tactic="TA0001", techniques=techniques, rationale=reason)


def _flow_addresses(view: LogView) -> set[str]:
    """The addresses the subgraph's network flows name, but loopback and reserved ones
    and placeholders. Computed once per view."""

    def compute() -> set[str]:
        desc = view.desc
        flows = view.present & view.desc_in("event", ("network_in", "network_out")) & (desc["object_kind"] == "flow")
        flows &= view.desc_where("object_name", lambda a: bool(a) and view.address_class(a) not in ("loopback", "local"), flows)
        return view.values("object_name", flows) - PLACEHOLDERS

    return view.derived("_flow_addresses", compute)


def _replies(view: LogView, inbound: np.ndarray) -> np.ndarray:
    """Of the ``inbound`` descriptions, the replies on a process's own outbound connections:
    a message received (not a connection accepted, ``accept_actions``) by a process that
    sent to the same address, or, where the action names this host rather than the peer
    (OpTC's inbound messages), by a process that sends out at all. A beacon's replies show
    no other host reaching this one. A process that serves sessions other hosts open and
    opens none of its own (WMI's provider host, the remote-session hosts of roles.yaml,
    WinRM's and PsExec's) hears no replies: its exchange is the caller's session."""
    desc = view.desc
    accepted = view.desc_in("action", vocabulary().accept_actions)
    sends = view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow")
    if not (inbound & ~accepted).any() or not sends.any():
        return np.zeros(len(inbound), dtype=bool)
    senders = set(desc["subject_name"][sends].tolist())
    sent_to = view.pairs(sends)
    found = np.zeros(len(inbound), dtype=bool)
    for at in np.flatnonzero(inbound & ~accepted).tolist():
        subject = desc["subject_name"][at]
        if subject.casefold() == "wmiprvse.exe" or remote_session_host(subject):
            continue
        found[at] = (subject, desc["object_name"][at]) in sent_to or (subject in senders and names_this_host(str(desc["action"][at])))
    return found


def _in_chain(view: LogView, chain: dict, subjects: set[str], reason: str, descriptions: np.ndarray | None = None) -> tuple[str, np.ndarray]:
    """``reason`` saying how ``subjects`` came to be in the attack chain, and the
    descriptions that show it; an unnamed process's (the rows ``descriptions``) by entity."""
    links = [chain[s] for s in sorted(subjects) if s in chain]
    if "" in subjects and descriptions is not None:
        links += chain_links(view, chain, descriptions & (view.desc["subject_name"] == ""))
    how = capped_list(sorted({link.how for link in links}), 3)
    rows = np.logical_or.reduce([link.rows for link in links]) if links else np.zeros(len(view.pattern_rows), dtype=bool)
    return f"{reason} Its process is part of an attack chain the log shows" + (f" ({how})." if how else "."), rows


def find_stages(facts: Facts) -> list[StageEvidence]:
    """The stage findings of one subgraph (computed once per Facts and reused)."""
    return list(facts.derived("_stage_findings", lambda: tuple(_find_stages(facts))))


def _find_stages(facts: Facts) -> list[StageEvidence]:
    from . import structural

    view = LogView(facts)
    # what grounding reads later from this view, kept with the facts (not the view: it
    # refers back to them, and a cycle would outlive the run until the cyclic collector)
    structural.triggered_configurations(facts, view)
    failing_conditions(facts, view)
    structural.planted_server_page_pairs(facts, view)
    found = pattern_findings(view) + [item for rule in structural.RULES for item in rule(view)]
    found = [item for item in found if item.evidence]
    explained = explaining(view.table)
    suppressing = [mechanism for mechanism in explained if mechanism.suppresses and holds(view, mechanism)]
    found = _without_excluded(view, found, explained)
    found = _joined_to_shown_entries(found)
    found = _without_credentials_carried_off(view, found)
    order = _LogOrder(facts.timeline.log.arrow("id"))
    by_stage: dict[str, list[StageEvidence]] = {}

    def keep(items: list[StageEvidence]) -> None:
        for item in items:
            if item.confidence != "high":
                item = _unless_suppressed(view, item, suppressing)
                if item is None:
                    continue
            by_stage.setdefault(item.stage, []).append(item)

    keep(found)
    # what the escalations that stood were used for: an account added with their privilege
    # (read from them, so after them), under the same benign mechanisms
    used = structural.account_added_with_escalated_privilege(view, by_stage.get("Privilege Escalation", []))
    keep(_without_excluded(view, used, explained) if used else [])
    from ..grounding.semantic import row_table

    # positions stand for the ids only where each id is at one position, "L<position + 1>"
    # (what ``semantic.log_positions`` reads off an id)
    canonical = row_table(facts).canonical_ids
    merged = [_merge(items, order, view.ids, canonical) for items in by_stage.values()]
    # a stage whose rows hold no event that can support it (data/stage_support.yaml: Command
    # and Control needs a network row; a tunnelling client started, with no flow in the
    # subgraph, is not enough) is not claimed: grounding would drop the claim, and the
    # report would list our own rules' finding as unsupported
    from ..grounding.semantic import unsupported_reason

    merged = [m for m in merged if unsupported_reason(m.stage, list(m.evidence), facts, positions=m.positions if canonical else None) is None]
    return sorted(
        (
            StageEvidence(
                m.stage, m.confidence, m.evidence, m.rationale, m.tactic or default_tactic(m.stage), m.techniques,
                m.positions if canonical else None,
            )
            for m in merged
        ),
        key=lambda m: APT_STAGES.index(m.stage),
    )


# a task deleted this soon after it was created ran once, if at all: nothing stays to run at
# the next logon or trigger (an installer's or an attacker's one-shot task, not persistence)
ONE_SHOT_TASK_MINUTES = 2


def one_shot_tasks(view: LogView) -> np.ndarray:
    """The task creations (per description) each of whose rows is followed within
    ``ONE_SHOT_TASK_MINUTES`` by the deletion of a task of the same name (OCR-APT's CSV
    names no task: its one unnamed task node pairs with its own deletions)."""
    desc = view.desc
    creates = view.present & (desc["event"] == "task_create")
    deletes = view.present & (desc["event"] == "task_delete")
    found = np.zeros(len(creates), dtype=bool)
    if not creates.any() or not deletes.any():
        return found
    # each task's deletion minutes and each creation's rows, gathered once (a look per
    # creation over every description made a crafted log of thousands of tasks quadratic)
    deleted_by_task: dict[str, list[int]] = {}
    delete_rows = view.rows_of(deletes)
    for task, minute in zip(desc["object_name"][view._codes[delete_rows]].tolist(), view.minutes[delete_rows].tolist()):
        deleted_by_task.setdefault(task, []).append(minute)
    create_rows = view.rows_of(creates)
    created_by_description: dict[int, list[int]] = {}
    for code, minute in zip(view._codes[create_rows].tolist(), view.minutes[create_rows].tolist()):
        created_by_description.setdefault(code, []).append(minute)
    for described, created in created_by_description.items():
        minutes = deleted_by_task.get(desc["object_name"][described])
        if not minutes:
            continue
        deleted_at = np.sort(np.array(minutes, dtype=np.int64))
        created_at = np.array(created, dtype=np.int64)
        after = np.searchsorted(deleted_at, created_at, side="left")
        within = after < len(deleted_at)
        within[within] = deleted_at[after[within]] <= created_at[within] + ONE_SHOT_TASK_MINUTES * MINUTE_NS
        found[described] = bool(within.all())
    return found


# what a user's software install does in the log: its download run, its files, programs and
# auto-start entries; any other stage's finding among its processes means it is no install
_INSTALL_STAGES = ("Initial Compromise", "Maintain Persistence")
# the programs an install puts in place, which the knowledge base knows as vendor software
_INSTALLED_CATEGORIES = frozenset({"desktop application", "browser", "office application", "mail client", "software updater"})
# what may run in an install: the installed software's programs, Windows Installer and
# Windows' own processes, and programs the knowledge base does not know (its setup programs)
_INSTALL_PROCESS_CATEGORIES = _INSTALLED_CATEGORIES | {"windows system process"}


# the user's desktop shell, which starts the programs the user opens
_USER_SHELLS = frozenset({"explorer.exe"})
# an install is a few programs: more roots or a larger tree than these is no install weighed
# (attacker-controlled names must not make this pass quadratic)
_MAX_INSTALL_ROOTS = 16
_MAX_INSTALL_STARTS = 256


@dataclass(frozen=True)
class SoftwareInstall:
    """A user's software install (``find_installs``): the program run, the browsers
    that delivered it, the vendor programs it put in place, and its descriptions (a mask)."""

    program: str
    browsers: frozenset[str]
    installed: frozenset[str]
    rows: np.ndarray = field(repr=False, compare=False)
    # the files its processes wrote, and the installer downloaded: their deletion by its
    # processes is its own cleanup
    written: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    processes: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    # its download's descriptions (a mask): the browser saving the installer
    delivered: np.ndarray | None = field(default=None, repr=False, compare=False)


def _install_cleanup(view: LogView, item: StageEvidence, processes: set[str] | frozenset[str], written: set[str] | frozenset[str], delivered: np.ndarray | None = None) -> bool:
    """Whether a Covering Tracks finding rests only on an install's own cleanup: every row it
    cites is one of the install's ``processes`` (or of its download, ``delivered``: the
    browser saving the installer), and every deletion among them is of a file they wrote (a
    setup removing the installer it unpacked) or of the installer downloaded."""
    if item.positions is None or not len(item.positions):
        return False
    codes = view._codes[item.positions]
    if delivered is not None:
        codes = codes[~delivered[codes]]
    desc = view.desc
    if not all(subject in processes for subject in set(desc["subject_name"][codes].tolist())):
        return False
    deleted = set(desc["object_name"][codes[desc["event"][codes] == "file_delete"]].tolist())
    return bool(deleted) and deleted <= set(written)


# the programs an installer runs to register the COM libraries it put in place
_COM_REGISTRARS = frozenset({"regsvr32.exe", "regasm.exe"})


def _registers_installed_library(view: LogView, name: str, written: set[str]) -> bool:
    """Whether ``name`` is a COM registrar (``_COM_REGISTRARS``) that loaded a library of
    ``written`` (what an install wrote), and in the log reached no network, started nothing
    and loaded no library but those and Windows' own: its registration, not a script it
    fetched (regsvr32's scrobj.dll running a remote scriptlet)."""
    from ..preprocess.knowledge import lookup

    if name.casefold() not in _COM_REGISTRARS:
        return False
    own = view.present & (view.desc["subject_name"] == name)
    loads = own & (view.desc["event"] == "module_load")
    if not (loads & view.desc_in("object_name", written)).any():
        return False
    other = loads & ~view.desc_in("object_name", written) & view.desc_where("object_name", lambda n: getattr(lookup(n, "module"), "category", None) != "windows system library", loads)
    return not other.any() and _reaches_and_starts_nothing(view, name)


def _reaches_and_starts_nothing(view: LogView, name: str) -> bool:
    """Whether ``name``'s rows hold no traffic and no process start or run."""
    own = view.present & (view.desc["subject_name"] == name)
    return not (own & view.desc_in("event", ("network_out", "network_in", "process_start", "execute"))).any()


# the tools an installed updater runs to register its scheduled tasks and services
_SETUP_TASK_TOOLS = frozenset({"schtasks.exe", "sc.exe"})


def _updaters_task_tool(view: LogView, name: str, names: set[str]) -> bool:
    """Whether ``name`` is a task or service tool (``_SETUP_TASK_TOOLS``) that only the
    install's vendor updaters started (of ``names``, the knowledge base's ``software
    updater``: GoogleUpdate registering its tasks), and that in the log reached no network
    and started nothing: the updater's own registration, part of the install."""
    from .lineage import launchers_by_name, process_category

    if name.casefold() not in _SETUP_TASK_TOOLS:
        return False
    launchers = set(launchers_by_name(view).get(name, ()))
    if not launchers or not launchers <= names or any(process_category(n) != "software updater" for n in launchers):
        return False
    return _reaches_and_starts_nothing(view, name)


def find_installs(view: LogView, found: list[StageEvidence]) -> list[SoftwareInstall]:
    """Users' software installs: a program the knowledge base does not know that a browser
    started, or wrote and another process started (a download the user ran), which with the
    processes it starts writes programs the knowledge base lists as vendor software (desktop
    applications, browsers, office applications, mail clients, updaters), where each of its
    processes is such software, a Windows process or unknown (no shell, interpreter, admin or
    discovery tool) and no finding of another stage (of ``found``) names them. Its processes'
    rows (not those of the browsers, mail clients and Office applications it installs, whose
    later work is their own), the browser writing and starting the program, its start and the
    installed programs' starts are the installation's."""
    from ..preprocess.knowledge import lookup
    from .lineage import PLACEHOLDERS, descendant_names, is_launcher, process_category, unknown_programs_started_by
    from .structural import completed_download

    # the downloads run: programs a browser started, or wrote (or renamed into place, as
    # Chrome's .crdownload) and another process started (the user opening it from the desktop)
    by_browser = view.present & view.desc_where("subject_name", lambda n: process_category(n) == "browser", view.present)
    run = view.present & view.desc_in("event", ("process_start", "execute"))
    downloaded = view.values("object_name", by_browser & view.desc_in("event", ("file_write", "file_create", "file_rename"))) & view.values("object_name", run)
    roots = {child for _, child, _ in unknown_programs_started_by(view, frozenset({"browser"}))}
    # or a program the user opened from the desktop (Explorer started it) whose download the
    # log does not show: the same install, its download outside the subgraph
    roots |= {child for parent, child, _ in unknown_programs_started_by(view, frozenset({"windows system process"})) if parent.casefold() in _USER_SHELLS}
    roots |= {name for name in downloaded if name not in PLACEHOLDERS and lookup(name, "process") is None}
    if not roots:
        return []
    written_events = view.present & view.desc_in("event", ("file_write", "file_create"))
    vendor_writes = view.desc_where("object_name", lambda n: process_category(n) in _INSTALLED_CATEGORIES, written_events)
    vendor_writers = view.values("subject_name", vendor_writes)
    if not vendor_writers:
        return []
    cited = np.zeros(len(view.pattern_rows), dtype=bool)
    cleanups = [item for item in found if item.stage == "Covering Tracks" and item.positions is not None]
    # a channel held by a program the install put in place (Zoom's meeting traffic) is that
    # program's work, unless the install turns out to be none
    channels = [item for item in found if item.stage == "Command and Control" and item.positions is not None]
    for item in found:
        if item.stage not in _INSTALL_STAGES and item.positions is not None and item not in cleanups and item not in channels:
            cited[view._codes[item.positions]] = True
    elsewhere = view.values("subject_name", cited)
    out = []
    for root in sorted(roots)[:_MAX_INSTALL_ROOTS]:
        names = descendant_names(view, root, _MAX_INSTALL_STARTS)
        if names is None or not names & vendor_writers or names & elsewhere:
            continue
        others = {n for n in names if lookup(n, "process") is not None and process_category(n) not in _INSTALL_PROCESS_CATEGORIES}
        installing = {n for n in names if not is_launcher(n)}
        written = view.values("object_name", written_events & view.desc_in("subject_name", installing - others))
        # the download it was run from is the install's too: its updater deleting the
        # installer once done (GoogleUpdate removing ChromeSetup.exe) is its own cleanup
        cleaned = written | {root}
        # save a COM registrar registering a library the install wrote (regsvr32 on Notepad++'s
        # shell extension), or the task tool the installed updater runs to register its tasks
        # (GoogleUpdate's schtasks), which reach no network and start nothing
        if others and not all(_registers_installed_library(view, n, written) or _updaters_task_tool(view, n, names) for n in others):
            continue
        # (and its download in progress, ChromeSetup.exe.part, saved under its name when done)
        delivered = by_browser & view.desc_where("object_name", lambda n: completed_download(n).casefold() == root.casefold(), by_browser)
        # its processes deleting what they did not write is another stage's, not its cleanup
        if any(view.values("subject_name", _descriptions_of(view, item)) & names and not _install_cleanup(view, item, installing, cleaned, delivered) for item in cleanups):
            continue
        installed = {w for w in written if process_category(w) in _INSTALLED_CATEGORIES}
        if any((holders := _holders(view, item)) & names and not holders <= _install_holders(view, item, root, installed) for item in channels):
            continue
        # its download (the browser writing and starting the program), its start, and the
        # installed programs started by whoever starts them (a service manager, the task
        # scheduler, the user)
        started = run & view.desc_in("object_name", written | {root})
        browsers = view.values("subject_name", delivered)
        out.append(SoftwareInstall(root, frozenset(browsers), frozenset(installed), view.desc_in("subject_name", installing) | delivered | started, frozenset(cleaned), frozenset(installing), delivered))
    return out


def _install_holders(view: LogView, item: StageEvidence, root: str, installed: frozenset[str] | set[str]) -> set[str]:
    """The processes whose channel (a Command and Control finding) an install explains: the
    programs it put in place, and the setup program ``root`` itself where every exchange of
    its that the finding cites is over by the minute it wrote its last file (a web
    installer's stub, Spotify's, fetching what it installs)."""
    holders = set(installed)
    if item.positions is None:
        return holders
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", {root})
    if not writes.any():
        return holders
    codes = view._codes[item.positions]
    own = np.isin(desc["event"][codes], ("network_out", "network_in")) & (desc["subject_name"][codes] == root)
    if own.any() and int(view.minutes[item.positions[own]].max()) <= int(view.last_minutes[writes].max()):
        holders.add(root)
    return holders


def _holders(view: LogView, item: StageEvidence) -> set[str]:
    """The named processes whose network rows a Command and Control finding cites."""
    if item.positions is None:
        return set()
    codes = view._codes[item.positions]
    network = np.isin(view.desc["event"][codes], ("network_out", "network_in"))
    return set(view.desc["subject_name"][codes[network]].tolist()) - {""}


def _descriptions_of(view: LogView, item: StageEvidence) -> np.ndarray:
    """The descriptions (a mask) of the rows a finding cites."""
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    if item.positions is not None:
        found[view._codes[item.positions]] = True
    return found


def installs_of(facts: Facts) -> tuple[SoftwareInstall, ...]:
    """The software installs whose findings the stage rules left out for ``facts``
    (``_without_installs``): what the offline summary gives as the benign reading."""
    find_stages(facts)  # records them
    return facts.derived("_software_installs", tuple)


def _without_installs(view: LogView, found: list[StageEvidence]) -> list[StageEvidence]:
    """Findings less the Initial Compromise and Maintain Persistence ones that rest only on
    a user's software install (``find_installs``): rows of the install, and traffic a
    downloaded-tool finding cites as the subgraph talking while it ran. The installs that
    explained a finding are recorded on the facts (``installs_of``)."""
    installs = find_installs(view, found)
    if not installs:
        return found
    rows = np.logical_or.reduce([install.rows for install in installs])
    # and the installed libraries loaded, by whoever loads them (Explorer loading the shell
    # extension 7-Zip's setup wrote and registered, 7-Zip's own programs their codec library):
    # the software in use, as the installed programs' starts are
    loads = view.present & (view.desc["event"] == "module_load")
    rows = rows | (loads & view.desc_in("object_name", set().union(*(install.written for install in installs))))
    traffic = view.present & view.desc_in("event", ("network_in", "network_out"))
    kept, explaining = [], set()
    for item in found:
        if item.stage in _INSTALL_STAGES and item.positions is not None and len(item.positions):
            codes = view._codes[item.positions]
            if rows[codes].any() and (rows | traffic)[codes].all():
                explaining.update(install for install in installs if install.rows[codes].any())
                continue
        if item.stage == "Covering Tracks":
            cleaning = [install for install in installs if _install_cleanup(view, item, install.processes, install.written, install.delivered)]
            if cleaning:
                explaining.update(cleaning)
                continue
        if item.stage == "Command and Control" and item.positions is not None:
            holders = _holders(view, item)
            own = [install for install in installs if holders and holders <= _install_holders(view, item, install.program, install.installed)]
            if own:
                explaining.update(own)
                continue
        kept.append(item)
    if explaining:
        view.facts.derived("_software_installs", lambda: tuple(sorted(explaining, key=lambda i: i.program)))
    return kept


# ATT&CK's credential-access techniques a Privilege Escalation finding may rest on
CREDENTIAL_TECHNIQUES = ("T1003", "T1555", "T1552")


def _without_credentials_carried_off(view: LogView, found: list[StageEvidence]) -> list[StageEvidence]:
    """Findings less the credential-access ones (Privilege Escalation by ``CREDENTIAL_TECHNIQUES``
    alone: a sweep of secret stores, the password-hash store read) each of whose reads of a
    secret credential store a Data Exfiltration finding cites too: secrets packed and carried
    off were collected for that (a stealer's upload, tar bundling keys for nc), and blind
    probes' analysts named the exfiltration alone, every time they wrote that shape; a sweep
    kept on the host stays an escalation."""
    from .lineage import secret_credential

    carried = [item.positions for item in found if item.stage == "Data Exfiltration" and item.positions is not None]
    if not carried:
        return found
    carried_rows = np.unique(np.concatenate(carried))
    desc = view.desc
    kept = []
    for item in found:
        if item.stage == "Privilege Escalation" and item.positions is not None and item.techniques and all(t.startswith(CREDENTIAL_TECHNIQUES) for t in item.techniques):
            codes = view._codes[item.positions]
            secret = (desc["event"][codes] == "file_read") & np.fromiter((secret_credential(n) for n in desc["object_name"][codes].tolist()), dtype=bool, count=len(codes))
            if secret.any() and np.isin(item.positions[secret], carried_rows).all():
                continue
        kept.append(item)
    return kept


def _joined_to_shown_entries(found: list[StageEvidence]) -> list[StageEvidence]:
    """Findings that join the stage of an entry another finding shows (``joining``) take
    that stage when some finding not of that kind claims it; else they keep their own
    stage where another finding claims that one (a tool fetched over a channel the log
    shows) or where no finding claims any stage (the fetch is all the log shows). Beside
    other stages' findings they are left out: a tool fetched on a host already reached is a
    step of what it was fetched for (PrintSpoofer for the escalation, 7-Zip for the
    exfiltration), which those findings tell; blind probes' analysts named no stage for
    such a fetch, five times of five (the IoC table still lists the tool)."""
    shown = {item.stage for item in found if item.joining is None}
    kept = []
    for item in found:
        if item.joining is None:
            kept.append(item)
        elif item.joining.stage in shown:
            kept.append(item.joining)
        elif item.stage in shown or not shown:
            kept.append(item)
    return kept


def _without_excluded(view: LogView, found: list[StageEvidence], explained) -> list[StageEvidence]:
    """Findings less those that rest only on rows a benign mechanism explains and says are
    never evidence for the finding's stage (``excludes`` in ``data/benign.yaml``): the
    antivirus reading files and calling its cloud service is not exfiltration, whatever
    rule read it so; nor is a task deleted right after it was created persistence. A
    finding citing any other row stands, with all its rows."""
    excluding = [m for m in explained if m.excludes and holds(view, m)]
    # a mechanism that covers descendants applies when a process it names is in the log,
    # whether or not that process's own rows match it (a package manager whose maintainer
    # scripts write a service)
    for mechanism in mechanisms():
        if mechanism.descendants and mechanism.excludes and mechanism not in excluding and holds(view, mechanism):
            if view.subjects_named_by(mechanism):
                excluding.append(mechanism)
    found = _without_installs(view, found)
    one_shot = one_shot_tasks(view)
    if not excluding and not one_shot.any():
        return found
    by_stage: dict[str, np.ndarray] = {"Maintain Persistence": one_shot} if one_shot.any() else {}
    # the same, before rows of processes acting for an attacker were taken back out
    unless: dict[str, np.ndarray] = {}
    acting: dict = {}
    for mechanism in excluding:
        rows = view.table.any_selection(mechanism._selections)
        if mechanism.descendants or mechanism.unnamed_beside or mechanism.runners:
            rows = rows | descendant_rows(view, mechanism)
        if mechanism.unless_attack_chain:
            acting = acting_for_an_attacker(view)
            for stage in mechanism.excludes:
                unless[stage] = unless[stage] | rows if stage in unless else rows
            rows = rows & ~in_chain(view, excepted_chain(view, mechanism))
        for stage in mechanism.excludes:
            by_stage[stage] = by_stage[stage] | rows if stage in by_stage else rows
    kept = []
    for item in found:
        mask = by_stage.get(item.stage)
        if mask is None or item.positions is None or not len(item.positions):
            kept.append(item)
            continue
        codes = view._codes[item.positions]
        if mask[codes].all():
            continue
        if item.stage in unless and (mask | unless[item.stage])[codes].all():
            # it stands only because its process acts for an attacker: say so, citing why
            acting_rows = np.zeros(len(view.pattern_rows), dtype=bool)
            acting_rows[codes[~mask[codes]]] = True
            rationale, path = _in_chain(view, acting, view.values("subject_name", acting_rows), item.rationale, acting_rows)
            positions = distinct(np.concatenate([item.positions, view.rows_of(path)]))
            item = replace(item, evidence=tuple(view.ids[positions].tolist()), rationale=rationale, positions=positions)
        kept.append(item)
    return kept


def _unless_suppressed(view: LogView, item: StageEvidence, suppressing) -> StageEvidence | None:
    """``item``, or None where a mechanism the subgraph shows suppresses its stage
    (``suppresses`` in ``data/benign.yaml``: the claim is not made for a subgraph the
    mechanism explains). A mechanism marked ``unless_attack_chain`` suppresses no finding
    that cites rows of a process the log shows acting for an attacker (an implant's
    discovery beside an SSH login): that finding stands, saying why."""
    chain = acting = None  # the first excepting chain, and which of the item's rows are in it
    for mechanism in suppressing:
        if item.stage not in mechanism.suppresses:
            continue
        if not mechanism.unless_attack_chain or item.positions is None or not len(item.positions):
            return None
        excepted = excepted_chain(view, mechanism)
        codes = view._codes[item.positions]
        in_excepted = in_chain(view, excepted)[codes]
        if not in_excepted.any():
            return None
        if chain is None:
            chain, acting = excepted, codes[in_excepted]
    if chain is None:
        return item
    acting_rows = np.zeros(len(view.pattern_rows), dtype=bool)
    acting_rows[acting] = True
    rationale, path = _in_chain(view, chain, view.values("subject_name", acting_rows), item.rationale, acting_rows)
    positions = distinct(np.concatenate([item.positions, view.rows_of(path)]))
    return replace(item, evidence=tuple(view.ids[positions].tolist()), rationale=rationale, positions=positions)


def excepted_chain(view: LogView, mechanism):
    """For a mechanism that explains rows only outside an attack (``unless_attack_chain``),
    the processes whose rows stay evidence: those the log shows acting for an attacker (for
    a mechanism whose work is running scripts and talking to its server, those in an attack
    chain that does not rest on those channels; for one whose work is talking to its server,
    those acting for an attacker other than by holding that channel)."""
    if mechanism.scripts_are_routine:
        return attack_chain(view, channels=False)
    return acting_for_an_attacker(view, channels=not mechanism.channels_are_routine)


def explained_rows(view: LogView, stage: str, within: np.ndarray, *, attack_exception: bool = True) -> np.ndarray:
    """The descriptions of ``within`` that a benign mechanism suppressing or excluding
    ``stage`` explains (data/benign.yaml), as a rule that weighs rows one by one reads them,
    and as ``_without_excluded`` reads the claims: with the rows of the processes it starts
    where it says ``descendants``, less its rows by a process of ``excepted_chain`` where it
    says ``unless_attack_chain``. ``attack_exception=False``: without that exception, for
    the attack-chain finder itself (the chain is what it is finding)."""
    found = np.zeros(len(within), dtype=bool)
    for mechanism in mechanisms_for(stage):
        if not holds(view, mechanism):
            continue
        rows = view.table.any_selection(mechanism._selections, within & ~found)
        if mechanism.descendants or mechanism.unnamed_beside or mechanism.runners:
            rows |= descendant_rows(view, mechanism) & within
        if attack_exception and mechanism.unless_attack_chain and rows.any():
            rows &= ~in_chain(view, excepted_chain(view, mechanism))
        found |= rows
    return found


def holds(view: LogView, mechanism) -> bool:
    """Whether ``mechanism``'s condition on the log holds (``starts_only``: the processes
    it names in ``by`` start at least one program, and only the ones it lists, with what
    those start in turn); True for a mechanism without one."""
    if not mechanism.starts_only_by:
        return True

    def started_only_listed() -> bool:
        from .lineage import descendant_names

        hosts = {name for name in view.subjects if name.casefold() in mechanism.starts_only_by}
        started: set[str] = set()
        for host in hosts:
            below = descendant_names(view, host, _STARTS_ONLY_LIMIT)
            if below is None:  # a tree too big to be a maintenance session's
                return False
            started |= {name.casefold() for name in below if name not in hosts}
        return bool(started) and started <= mechanism.starts_only

    return per_mechanism(view, "_holds", mechanism, started_only_listed)


def failing_conditions(facts: Facts, view: LogView | None = None) -> frozenset[str]:
    """The ids of the benign mechanisms whose condition on the log (``holds``) fails for
    ``facts``: what words about a candidate must not cite either (a PsExec session that
    also ran a shell is no maintenance session). Kept with the facts; ``_find_stages``
    fills it from its own ``view`` (a view is built only where none is given and a
    mechanism has a condition)."""

    def compute() -> frozenset[str]:
        conditional = [m for m in mechanisms() if m.starts_only_by]
        if not conditional:
            return frozenset()
        seen = view if view is not None else LogView(facts)
        return frozenset(m.id for m in conditional if not holds(seen, m))

    return facts.derived("_failing_mechanism_conditions", compute)


# how many starts a session's process tree may hold for ``holds`` to weigh it
_STARTS_ONLY_LIMIT = 64


def descendant_rows(view: LogView, mechanism) -> np.ndarray:
    """The descriptions of the processes that those ``mechanism`` names start in the log
    (and theirs), of the event classes its selections name (``descendants``), of the
    processes that read or run a file its selections match (``runners``; with
    ``descendants``, what they start too), and of the unnamed process beside its rows
    (``unnamed_beside``): computed once per view and
    mechanism (each rule weighing rows asks again; it tests every subject's name), read-only."""

    def rows() -> np.ndarray:
        found = _descendant_rows(view, mechanism)
        found.flags.writeable = False
        return found

    return per_mechanism(view, "_descendant_rows", mechanism, rows)


def per_mechanism(view: LogView, key: str, mechanism, compute: Callable[[], _T]) -> _T:
    """``compute()`` once per view and benign mechanism, kept under ``key``: by the
    mechanism's identity, each entry holding the mechanism (no id is reused while the view
    lives)."""
    known = view.derived(key, dict)
    entry = known.get(id(mechanism))
    if entry is None or entry[0] is not mechanism:
        entry = known[id(mechanism)] = (mechanism, compute())
    return entry[1]


def _descendant_rows(view: LogView, mechanism) -> np.ndarray:
    found = _unnamed_beside(view, mechanism) if mechanism.unnamed_beside else np.zeros(len(view.pattern_rows), dtype=bool)
    runners: set[str] = set()
    if mechanism.runners:  # the processes reading or running what its selections match
        matched = view.present & view.table.any_selection(mechanism._selections) & (view.desc["object_kind"] == "file")
        runners = view.values("subject_name", matched & view.desc_in("event", ("file_read", "execute"))) - {""}
        found |= view.present & view.desc_in("subject_name", runners)
    if not mechanism.descendants:
        return found
    named = set(view.subjects_named_by(mechanism))
    if runners:  # and what they start, in every event class
        found |= descendant_subjects(view, runners)
    by = descendant_subjects(view, named)
    found |= _installed_services(view, named)
    found |= _registered_tasks(view, named, by)
    if not by.any():
        return found
    for _, events in mechanism._subject_selections:
        found |= by & (view.desc_in("event", events) if events else True)
    return found


def _unnamed_beside(view: LogView, mechanism) -> np.ndarray:
    """The descriptions of the log's unnamed process each of whose rows falls in a minute that
    holds a row of ``mechanism``'s own: what its scripts ran where the log leaves the process
    unnamed (TRACE's update-motd scripts running uname and reading lsb-release)."""
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    own = view.present & view.table.any_selection(mechanism._selections)
    unnamed = view.present & (view.desc["subject_name"] == "")
    if not own.any() or not unnamed.any():
        return found
    minutes = np.unique(view.minutes[view.rows_of(own)])
    rows = view.rows_of(unnamed)
    inside = np.isin(view.minutes[rows], minutes)
    found[distinct(view._codes[rows[inside]])] = True
    found[distinct(view._codes[rows[~inside]])] = False
    return found


def _installed_services(view: LogView, installers: set[str]) -> np.ndarray:
    """The service control manager's service installs that are ``installers``' work: the
    programs it starts in the log (a service's program) are all files those processes wrote
    in the subgraph. A service installed beside an installer whose program the installer did
    not write, or with no program started, is not shown to be the installer's."""
    desc = view.desc
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    installs = view.present & (desc["event"] == "service_install")
    if not installers or not installs.any():
        return found
    managers = view.values("subject_name", installs) - {""} - installers
    runs = view.program_starts & view.desc_in("subject_name", managers)
    programs = view.values("object_name", runs) - {""}
    written = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", installers)
    if not programs or not programs <= view.values("object_name", written):
        return found
    return installs & view.desc_in("subject_name", managers)


def _registered_tasks(view: LogView, installers: set[str], below: np.ndarray) -> np.ndarray:
    """The Task Scheduler service's task registrations that are ``installers``' work (they,
    or ``below``, the processes they start): each falls within a minute of their rows, no
    task tool (``TASK_FILE_TOOLS``) shows in the log, and in its minute no process but they,
    the service and Windows' own is active. An installer registering its updater's tasks
    through the scheduler's API leaves only the service's record (OpTC's ``svchost.exe
    CREATE the task``); a script or tool registering one shows beside it."""
    desc = view.desc
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    creates = view.present & (desc["event"] == "task_create") & ~view.desc_in("subject_name", installers) & ~below
    if not installers or not creates.any():
        return found
    tools = view.desc_where("subject_name", lambda n: n.casefold() in TASK_FILE_TOOLS, view.present)
    tools |= view.desc_where("object_name", lambda n: n.casefold() in TASK_FILE_TOOLS, view.present)
    if tools.any():
        return found
    theirs = view.present & (view.desc_in("subject_name", installers) | below)
    services = view.values("subject_name", creates)
    others = view.present & ~theirs & ~view.desc_in("subject_name", services)
    others &= view.desc_where("subject_name", lambda n: process_category(n) != "windows system process", others)
    their_minutes = np.unique(view.minutes[view.rows_of(theirs)])
    other_minutes = np.unique(view.minutes[view.rows_of(others)])
    rows = view.rows_of(creates)
    minutes = view.minutes[rows]
    near = np.isin(minutes, their_minutes) | np.isin(minutes - MINUTE_NS, their_minutes) | np.isin(minutes + MINUTE_NS, their_minutes)
    kept = near & ~np.isin(minutes, other_minutes)
    found[distinct(view._codes[rows[kept]])] = True
    found[distinct(view._codes[rows[~kept]])] = False
    return found


def _names(values) -> str:
    """Up to five names, each a code span as the summary writes it: a name is data, and a
    backtick in one must not pair with another's and turn the prose between them to code."""
    names = sorted({str(v) for v in values if v})
    return capped_list([quoted(name) for name in names[:5]] + names[5:], 5)  # only the shown are quoted


def default_tactic(stage: str) -> str:
    """The ATT&CK tactic id an APT stage stands for when a finding carries none of its own
    (from ``data/attack.json``, the one stage-to-tactic table)."""
    from .attack import stage_tactics

    return stage_tactics()[stage].id
