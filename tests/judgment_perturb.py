"""Perturbations that must not change which APT stages the offline rules claim for a subgraph.

Each perturbation rewrites one OCR-APT subgraph CSV (``description,timestamp``) in memory
into another one an analyst would judge the same: renamed benign processes of the same
role, renamed unknown (attacker) files, shifted clocks, other seconds within each minute,
doubled rows, reordered rows, rows of one uncited entity left out. ``claims`` reads either
form through the real pipeline (ingest -> condense -> facts -> rules).

Used by ``tests/test_judgment_robustness.py`` (a few cases, in the suite) and runnable
as a script over the whole corpus, printing every flip::

    python tests/judgment_perturb.py [CORPUS_DIR]

Nothing from the corpus is stored here; names below are generic role names.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from aptnarrate.preprocess.condense import condense
from aptnarrate.preprocess.facts import compute_facts
from aptnarrate.preprocess.ingest import IngestOptions, read_events
from aptnarrate.preprocess.knowledge import lookup
from aptnarrate.preprocess.rank import address_class
from aptnarrate.rules.benign import explaining, mechanisms
from aptnarrate.rules.lineage import SQUIRREL_PACKAGE, is_language_package, PACKAGE_VERSION
from aptnarrate.rules.patterns import BACKUP_SUFFIXES, Row, builtin_rule
from aptnarrate.rules.profiles import get_profile
from aptnarrate.rules.stages import find_stages
from aptnarrate.rules.structural import CONFIGURATION_NAME, DATA_NAME, DIRECTORY_DUMP, DOWNLOAD_SUFFIXES, GCC_TEMPORARY, INPUT_DEVICE, RELEASE_VERSION, RUNLEVEL_LINK, VERSIONED_NAME, _version_key, old_images

# ``The subject_process: thunderbird RENAME the file_object_file: xulstore.json`` /
# ``A subject_process CLOSE a file_object_file``
_DESCRIPTION = re.compile(r"^(?:The (?P<st>\S+): (?P<sn>.*?)|A (?P<sta>\S+)) (?P<action>[A-Z][A-Z0-9_]*) (?:the (?P<ot>\S+): (?P<on>.*)|a (?P<ota>\S+))$")

# benign programs and another program of the same role (what another host might run)
SAME_ROLE = {
    "firefox": "firefox-esr",
    "firefox.exe": "msedge.exe",
    "chrome": "firefox",
    "thunderbird": "icedove",
    "sendmail": "postfix",
    "python3": "perl",
    "python.exe": "python3.exe",
    "powershell.exe": "pwsh.exe",
    "bash": "dash",
    "sh": "bash",
    "conhost.exe": "conhost.exe",
}


def family(case: str) -> str:
    return "optc" if case.startswith(("SysClient", "optc")) else "tc3"


def case_file(folder: Path, case: str) -> Path:
    """A case's log: ``NAME.csv`` (OCR-APT's layout), or ``NAME.edges.csv`` for a case
    written as an edge list only."""
    csv = folder / f"{case}.csv"
    return csv if csv.is_file() else folder / f"{case}.edges.csv"


def profile_networks(case: str) -> tuple[str, ...]:
    return tuple(get_profile("darpa-optc" if family(case) == "optc" else "darpa-tc3").internal_networks)


# the hand-written subgraphs (``cases.json`` says what each is and what an analyst names)
HANDMADE = Path(__file__).parent / "data" / "handmade"
CASES = json.loads((HANDMADE / "cases.json").read_text(encoding="utf-8"))["cases"]


def read_frame(path: Path) -> pd.DataFrame:
    """A subgraph CSV as text columns, as the perturbations rewrite it."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def networks(case: str, declared: bool) -> tuple[str, ...]:
    """The internal networks a run of ``case`` declares: its profile's, or none."""
    return profile_networks(case) if declared else ()


def parse(description: str) -> dict | None:
    m = _DESCRIPTION.match(description)
    if m is None:
        return None
    return {
        "st": m["st"] or m["sta"], "sn": m["sn"], "action": m["action"], "ot": m["ot"] or m["ota"], "on": m["on"],
    }


def render(parts: dict) -> str:
    subject = f"The {parts['st']}: {parts['sn']}" if parts["sn"] is not None else f"A {parts['st']}"
    obj = f"the {parts['ot']}: {parts['on']}" if parts["on"] is not None else f"a {parts['ot']}"
    return f"{subject} {parts['action']} {obj}"


def rename(frame: pd.DataFrame, mapping: Callable[[str, str], str]) -> pd.DataFrame:
    """Every subject and object name passed through ``mapping(name, node_type)``."""

    def one(description: str) -> str:
        parts = parse(description)
        if parts is None:
            return description
        if parts["sn"] is not None:
            parts["sn"] = mapping(parts["sn"], parts["st"])
        if parts["on"] is not None:
            parts["on"] = mapping(parts["on"], parts["ot"])
        return render(parts)

    out = frame.copy()
    out["description"] = [one(d) for d in frame["description"]]
    return out


def _kind(node_type: str) -> str:
    t = node_type.lower()
    if "process" in t:
        return "process"
    if "flow" in t:
        return "flow"
    if "module" in t:
        return "module"
    if "registry" in t:
        return "registry"
    return "file"


def _unknown(name: str, node_type: str) -> bool:
    """A name the attacker could have chosen: not an address or a registry key, unknown to
    the knowledge base, and explained by no benign mechanism (a program's own files, such
    as an audit sensor's statistics or PowerShell's policy-test files, keep their names)."""
    kind = _kind(node_type)
    if kind in ("flow", "registry") or address_class(name, ())[0] != "unknown" or not name or name in (".", ".."):
        return False
    # the rules see a path's file name as the object and the path as its path
    if explaining([Row("", "READ", re.split(r"[\\/]", name)[-1], "process", kind, (name,))]):
        return False
    if DATA_NAME.match(name):  # a name a program gives its data (a cache entry), whoever reads it
        return False
    if GCC_TEMPORARY.match(name):  # a name the compiler gives its temporaries, not the attacker
        return False
    if INPUT_DEVICE.match(re.split(r"[\\/]", name)[-1]):  # a device node the kernel names (event2), not the attacker
        return False
    if CONFIGURATION_NAME.match(name):  # a program's configuration (config.json), by its name
        return False
    # a public exploit named after its CVE is known by that shape, as a knowledge-base name
    # is by its name (the privilege-escalation-cve-named-program rule reads it)
    if CVE_NAMED.match(re.split(r"[\\/]", name)[-1]):
        return False
    # a known application's release package (Teams-1.2.00.24753-full.nupkg) is named by the
    # application: the self-update rule reads that relation
    package = SQUIRREL_PACKAGE.match(re.split(r"[\\/]", name)[-1])
    if package and lookup(package["application"] + ".exe", "process") is not None:
        return False
    # the knowledge base knows a file by its base name, as the rules read it: /var/log/auth.log
    # is the system's log, not a name an attacker chose
    base = re.split(r"[\\/]", name)[-1]
    # a known file's backup (passwd.bak) is named by the file it backs up: the rules read
    # that relation, which a name the attacker chose would not keep
    backed_up = next((base[: -len(s)] for s in BACKUP_SUFFIXES if base.casefold().endswith(s) and len(base) > len(s)), None)
    if backed_up and lookup(backed_up, "file") is not None:
        return False
    # so is the next version the account tools write before renaming it into place (passwd+)
    if base.endswith("+") and lookup(base[:-1], "file") is not None:
        return False
    # so is a known program's previous image, kept under an old name by its update
    # (old_chrome.exe): renamed, it would be another program's file
    folded = base.casefold()
    previous = [base[4:]] if folded.startswith("old_") else []
    if ".old." in folded:
        at = folded.rindex(".old.")
        previous.append(base[:at] + base[at + 4 :])
    if any(lookup(p, "process") is not None and folded in old_images(p) for p in previous):
        return False
    # a name a benign mechanism lists (Windows' own maintenance tasks, Schedule Scan) is the
    # system's, known as a knowledge-base name is
    if folded in _MECHANISM_NAMES:
        return False
    # and a known program's release archive (node_exporter-0.15.2.linux-amd64.tar.gz) is named
    # by the program and its version: the install rule reads that relation
    release = RELEASE_NAME.match(base)
    if release and lookup(release.group("program"), "process") is not None:
        return False
    return all(lookup(n, k) is None for n in dict.fromkeys((name, base)) if n for k in (kind, "process", "file"))


# the literal names the benign mechanisms' selections list, folded
_MECHANISM_NAMES = frozenset(
    str(value).casefold()
    for mechanism in mechanisms()
    for selection in mechanism.match
    for key, values in selection.items()
    if key in ("object", "subject")
    for value in (values if isinstance(values, list) else [values])
)
# a program's release archive: its name, then a version
RELEASE_NAME = re.compile(r"^(?P<program>[A-Za-z][\w+-]*?)" + RELEASE_VERSION.pattern)
CVE_NAMED = re.compile(builtin_rule("privilege-escalation-cve-named-program").match[0]["object|re"])
UNIT_TYPES = frozenset({"service", "socket", "timer", "desktop"})
MKTEMP_NAME = re.compile(r"^tmp\.[A-Za-z0-9]{6,}$")


# the suffixes encryption tools add to the file they encrypt (gpg's .gpg, openssl's .enc)
ENCRYPTION_SUFFIXES = frozenset({"gpg", "pgp", "enc", "age", "aes", "asc", "crypt"})


def _other_name(name: str) -> str:
    """A stable unknown name of the same shape (a leading dot and the extension kept; a
    systemd unit's type, longer than most extensions, is one). A path keeps its folders and
    gets its file name's new name, so a program written as /tmp/x and run as the process x
    is still one program under its new name."""
    folder, slash, base = name.rpartition("/") if "/" in name else name.rpartition("\\")
    if slash and base:
        return folder + slash + _other_name(base)
    stem, dot, ext = name.lstrip(".").rpartition(".")
    # by the stem where there is an extension: files named alike (a library and its data file,
    # cfg.dll and cfg.dat) keep sharing a name, a relation the rules read
    digest = hashlib.sha256((stem if dot and stem else name).encode()).hexdigest()
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in digest[:7])
    if MKTEMP_NAME.match(name):  # mktemp(1)'s shape is the program's, not the name's
        return f"tmp.{letters}X"
    inner = stem.rpartition(".")[2] if "." in stem else ""
    link = RUNLEVEL_LINK.match(name)
    if link:
        # a runlevel link is named by its service's script (S19NAME): renamed with it (the
        # init-script rule reads that relation)
        return name[: link.start("service")] + _other_name(link.group("service"))
    dump = DIRECTORY_DUMP.search(name)
    if dump:
        # a directory collector's output is named by the kind of object it holds
        # (..._users.json): its shape is the tool's, kept as a knowledge-base name is
        return f"{letters}_{dump.group(1)}.{dump.group(2)}"
    if is_language_package(name):
        # a versioned package's shape is its registry's, not a name an attacker picks: the
        # version is kept (the package-restore reading reads it)
        version = list(PACKAGE_VERSION.finditer(name))[-1].group(0)
        return f"{letters}{version}.{ext}"
    if dot and stem and ("." + ext.lower()) in DOWNLOAD_SUFFIXES and inner and len(inner) <= 5:
        # a download in progress is the file it is saved as when done, renamed with it (the
        # install rule reads that relation)
        return _other_name(name[: -len(ext) - 1]) + "." + ext
    if dot and stem and ext.lower() in ENCRYPTION_SUFFIXES and inner and len(inner) <= 5:
        # an archive encrypted for its trip (s.tgz.gpg) is the archive it was made from with
        # the tool's suffix: renamed with it (the exfiltration rule reads that relation)
        return _other_name(name[: -len(ext) - 1]) + "." + ext
    versioned = VERSIONED_NAME.match(name.lstrip(".")) if _version_key(name.lstrip(".")) else None
    if versioned and "." not in versioned.group("stem"):
        # a versioned name keeps its version, renamed by its stem: the versions of one file
        # (privkey2.pem, privkey3.pem) stay versions of one file, a relation the rules read
        letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in hashlib.sha256(versioned.group("stem").encode()).hexdigest()[:7])
        new = f"{letters}{versioned.group('version')}{versioned.group('extension') or ''}"
    elif dot and stem and (len(ext) <= 5 or ext.lower() in UNIT_TYPES):
        new = f"{letters}.{ext}"
    else:
        new = letters
    return ("." if name.startswith(".") else "") + new


def benign_renamed(frame: pd.DataFrame) -> pd.DataFrame:
    return rename(frame, lambda n, t: SAME_ROLE.get(n, n))


def attacker_renamed(frame: pd.DataFrame) -> pd.DataFrame:
    # a service's registry key carries the service's name, and a task's cache key its
    # definition file's (TaskCache\Tree\NAME, System32\Tasks\NAME): renaming the one
    # renames the other
    services, files, keys = set(), set(), set()
    for description in frame["description"]:
        parts = parse(description)
        if parts is None or parts["on"] is None:
            continue
        if "service" in (parts["ot"] or "").lower() and _unknown(parts["on"], parts["ot"]):
            services.add(parts["on"])
        elif _kind(parts["ot"]) == "registry":
            keys.add(parts["on"])
        elif _unknown(parts["on"], parts["ot"]):
            files.add(parts["on"])
    services |= files & keys

    def one(name: str, node_type: str) -> str:
        if _kind(node_type) == "registry" and name in services:
            return _other_name(name)
        return _other_name(name) if _unknown(name, node_type) else name

    return rename(frame, one)


def windows_names_recased(frame: pd.DataFrame) -> pd.DataFrame:
    """Windows names in another case (Windows ignores case; logs write both)."""
    windows = re.compile(r"\.(exe|dll|sys|ps1|psm1|evtx)$", re.I)
    return rename(frame, lambda n, t: n.upper() if windows.search(n) else n)


def public_addresses_renamed(frame: pd.DataFrame) -> pd.DataFrame:
    """Each public address moved to another public /16 (its /24 structure and last octet kept)."""

    def one(name: str, node_type: str) -> str:
        if not address_class(name, ())[0] != "unknown":
            return name
        ip = ipaddress.ip_address(name)
        if ip.version != 4 or not ip.is_global:
            return name
        a, b, c, d = str(ip).split(".")
        if any(ip in net for net in _declared_networks()):  # internal under some profile
            return name
        return f"{(int(a) % 50) + 60}.{(int(b) + 17) % 256}.{c}.{d}"

    return rename(frame, one)


def _declared_networks() -> list:
    from aptnarrate.rules.profiles import profiles

    return [ipaddress.ip_network(n) for p in profiles().values() for n in p.internal_networks]


def _times(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S")


def _with_times(frame: pd.DataFrame, times: pd.Series) -> pd.DataFrame:
    out = frame.copy()
    out["timestamp"] = times.dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy()
    return out


def shifted(delta: pd.Timedelta) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def shift(frame: pd.DataFrame) -> pd.DataFrame:
        return _with_times(frame, _times(frame) + delta)

    return shift


def to_dst_change(frame: pd.DataFrame) -> pd.DataFrame:
    """The case moved so that it starts 30 minutes before the 2018 autumn DST change of
    North America (2018-11-04 02:00 local): the wall-clock hour 01:00-02:00 repeats."""
    times = _times(frame)
    return _with_times(frame, times + (pd.Timestamp("2018-11-04 01:30:00") - times.min().floor("min")))


def other_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row at another second of its own minute."""
    times = _times(frame)
    rng = np.random.default_rng(7)
    seconds = rng.integers(0, 60, len(times))
    return _with_times(frame, times.dt.floor("min") + pd.to_timedelta(seconds, unit="s"))


def doubled(frame: pd.DataFrame) -> pd.DataFrame:
    """Every row twice (same second)."""
    return pd.concat([frame, frame], ignore_index=True)


def doubled_seconds(frame: pd.DataFrame) -> pd.DataFrame:
    """Every row again at another second of its minute (twice the distinct seconds where
    the minute has room)."""
    times = _times(frame)
    later = times.dt.floor("min") + pd.to_timedelta((times.dt.second + 30) % 60, unit="s")
    return pd.concat([frame, _with_times(frame, later)], ignore_index=True)


def reversed_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[::-1].reset_index(drop=True)


def shuffled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(frac=1.0, random_state=11).reset_index(drop=True)


def composed(*steps: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The perturbations one after another: each must not matter, so neither may all of them."""

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        for step in steps:
            frame = step(frame)
        return frame

    return run


PERTURBATIONS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "benign-renamed": benign_renamed,
    "attacker-renamed": attacker_renamed,
    "public-addresses-renamed": public_addresses_renamed,
    "windows-names-recased": windows_names_recased,
    "shift+3d": shifted(pd.Timedelta(days=3)),
    "shift-5h": shifted(pd.Timedelta(hours=-5)),
    "shift+400d": shifted(pd.Timedelta(days=400)),
    "dst-change": to_dst_change,
    "other-seconds": other_seconds,
    "doubled": doubled,
    "doubled-seconds": doubled_seconds,
    "reversed": reversed_rows,
    "shuffled": shuffled,
    "shift-5h, other-seconds, shuffled": composed(shifted(pd.Timedelta(hours=-5)), other_seconds, shuffled),
    # the names together (the attacker's and the benign renamings touch disjoint names: the
    # one names what the knowledge base does not know, the other maps known names to known
    # names), and the case, the calendar and the density of the seconds together
    "attacker-renamed, benign-renamed, public-addresses-renamed": composed(attacker_renamed, benign_renamed, public_addresses_renamed),
    "windows-names-recased, dst-change, doubled-seconds": composed(windows_names_recased, to_dst_change, doubled_seconds),
}

# a cheaper set for the hand-written cases in the suite (the script runs every perturbation
# on its own): three runs, one for the names, one for the case, the calendar and the density,
# one for the clock, the seconds and the order. A flip names its composite; run ``flips``
# with the single perturbations to tell which of them does it
SUITE_PERTURBATIONS = (
    "attacker-renamed, benign-renamed, public-addresses-renamed",
    "windows-names-recased, dst-change, doubled-seconds",
    "shift-5h, other-seconds, shuffled",
)


def perturbed_cases(case_family: str) -> list[str]:
    """The hand-written cases of one family (``optc`` or ``tc3``) written as OCR-APT CSVs:
    the perturbations rewrite its descriptions, so cases written as edge lists only are not
    perturbed."""
    return sorted(c for c in CASES if family(c) == case_family and (HANDMADE / f"{c}.csv").is_file())


def suite_flips(case: str) -> dict[str, list[str]]:
    """The suite's perturbations of hand-written case ``case`` whose stages (with the dataset
    profile) are not the analyst's: ``{perturbation: stages}``. The unperturbed case is not
    run here: ``test_judgment_robustness`` checks that it gives the analyst's stages, so a
    perturbation that keeps them changes nothing. A perturbation that leaves the CSV as it
    was, or as an earlier one made it, is not run again (the claims would be the same)."""
    frame = read_frame(HANDMADE / f"{case}.csv")
    network_list = networks(case, True)
    base = frozenset(CASES[case]["stages"])
    seen = {_frame_key(frame)}
    found = {}
    for name in SUITE_PERTURBATIONS:
        perturbed = PERTURBATIONS[name](frame)
        key = _frame_key(perturbed)
        if key in seen:
            continue
        seen.add(key)
        stages = claims(perturbed, network_list).stages
        if stages != base:
            found[name] = sorted(stages)
    return found


def _frame_key(frame: pd.DataFrame) -> tuple:
    return tuple(frame.columns), tuple(frame.itertuples(index=False, name=None))


@dataclass(frozen=True)
class Claims:
    stages: frozenset[str]
    cited_names: frozenset[str]  # every subject and object name of a cited row


def claims(source: str | Path | pd.DataFrame, networks=(), options: IngestOptions | None = None) -> Claims:
    timeline = condense(read_events(source, options or IngestOptions(), name="perturbed"))
    facts = compute_facts(timeline, internal_networks=networks)
    found = find_stages(facts)
    desc = timeline.descriptions
    codes = timeline.log["description"]
    names: set[str] = set()
    for finding in found:
        if finding.positions is None:
            continue
        rows = desc.take(codes[finding.positions])
        names |= set(rows["subject_name"]) | set(rows["object_name"])
    return Claims(frozenset(f.stage for f in found), frozenset(n for n in names if n))


def find_stages_of(source: str | Path | pd.DataFrame, networks=(), options: IngestOptions | None = None) -> list:
    """The rules' stage findings for ``source``."""
    return find_stages(compute_facts(condense(read_events(source, options or IngestOptions(), name="findings")), internal_networks=networks))


def reported(source: str | Path | pd.DataFrame, networks=(), options: IngestOptions | None = None) -> tuple[frozenset[str], list]:
    """The stages the offline report states (the rules' claims, narrated and grounded) and
    the claims grounding dropped: a rule's claim that grounding drops never reaches the
    analyst, so judgment is scored on what the report says."""
    from aptnarrate.backends.offline import OfflineNarrator
    from aptnarrate.grounding.ground import prune

    timeline = condense(read_events(source, options or IngestOptions(), name="reported"))
    facts = compute_facts(timeline, internal_networks=networks)
    kept, dropped = prune(OfflineNarrator().narrate(facts).narration, facts)
    return frozenset(s.stage for s in kept.stages), dropped


def entity_names(frame: pd.DataFrame) -> list[str]:
    """Named entities by how many rows mention them, most first."""
    counts: dict[str, int] = {}
    for description in frame["description"]:
        parts = parse(description)
        if parts is None:
            continue
        for name in {parts["sn"], parts["on"]} - {None, ""}:
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))


def without_entity(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    keep = [name not in {(p := parse(d)) and p["sn"], p and p["on"]} for d in frame["description"]]
    return frame[np.array(keep, dtype=bool)].reset_index(drop=True)


def flips(
    csv: Path, perturbations=None, drop_entities: int = 2, edges: bool = True, declared: tuple[bool, ...] = (False, True)
) -> list[tuple[str, bool, frozenset, frozenset]]:
    """(perturbation, profile declared, stages before, stages after) for each change;
    ``declared``: with and/or without the dataset profile."""
    case = csv.stem
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    found = []
    for with_profile in declared:
        networks = profile_networks(case) if with_profile else ()
        base = claims(frame, networks)
        variants: dict[str, Callable[[], Claims]] = {}
        for name, perturb in (perturbations or PERTURBATIONS).items():
            variants[name] = lambda perturb=perturb: claims(perturb(frame), networks)
        uncited = [n for n in entity_names(frame) if n not in base.cited_names]
        for name in uncited[:drop_entities]:
            if without_entity(frame, name).empty:
                continue
            variants[f"without:{name}"] = lambda name=name: claims(without_entity(frame, name), networks)
        variants["dst-change, read as America/Toronto"] = lambda: claims(
            to_dst_change(frame), networks, IngestOptions(input_timezone="America/Toronto")
        )
        if edges:
            edge_file = csv.with_name(f"{case}.edges.csv")
            if edge_file.is_file():
                variants["edge-list"] = lambda: claims(edge_file, networks)
        for name, run in variants.items():
            after = run()
            if after.stages != base.stages:
                found.append((name, with_profile, base.stages, after.stages))
    return found


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else Path("/work/shared/corpus")
    total = 0
    for csv in sorted(corpus.glob("*.csv")):
        if csv.name.endswith(".edges.csv"):
            continue
        for name, declared, before, after in flips(csv):
            total += 1
            print(f"{csv.stem}\t{name}\tprofile={declared}\t{sorted(before)} -> {sorted(after)}")
    print(f"{total} flip(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
