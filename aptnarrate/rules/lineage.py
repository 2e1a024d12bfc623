"""Process lineage: which processes the log shows in an attack chain.

Some evidence is routine by itself and an attack's only in context: one discovery tool run,
``sudo``, a service host reaching a few hosts of its site, an installer writing a Run key.
The rules that read such evidence ask whether its process is in an attack chain: started by
a launcher (an Office application, browser or mail client starting a shell; WMI's provider
host or PsExec's service starting one; an auto-elevating binary's shell), a program the
subgraph wrote and then ran (dropped), a process holding a command-and-control channel, or a
descendant of one of these in the log. The roles are data (``aptnarrate/data/roles.yaml``).

A chain is built over processes: where the input identifies them (an edge list's uuids) a
start links the parent's entity to the child's, so two processes of one name are told apart
(a user's shell beside a macro's; a login shell beside a maintainer script's); a process
whose name the input left empty keeps its id and is known by the program it executes, or its
parent's name (``_unnamed_starts``). A program
executed from a file or dropped and run is known by its name, and OCR-APT's CSV names
processes only (image names, no process ids): there a chain is a set of names, as the
``_BY_NAME`` keys say. ``in_chain`` turns a chain into the descriptions its processes are the
subject of; ``chain_links`` gives the links of a chain's processes behind some rows, so the
rules that read a sweep's or a channel's process (``structural.py``) ask about the process
that swept or holds the channel, not every process of its name, and ``acting_subjects``
gives the exfiltration rule the rows of the senders that are not routine clients.

A build from source (``build_outputs``: a version-control client's checkout, a compiler's
output, and what the programs they wrote write in turn) writes programs that then run; that
is no dropped program, and no downloaded tool unless its writer is in an attack chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..arrays import factorize, first_appearances
from ..data import load_data_yaml
from ..preprocess.knowledge import lookup
from ..preprocess.rank import ATTACK_TOOLS
from .patterns import TASK_SERVICE_HOST, builtin_rule
from ..wording import quoted

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from .stages import LogView

PLACEHOLDERS = frozenset({"", ".", "..", "0", "-", "?"})  # names that name nothing
# archive and compressed files (T1560, Archive Collected Data): what collected data is staged
# in, and what a source package comes as
# (an archive encrypted for its trip is one still: s.tgz.gpg, q3.zip.enc)
ARCHIVE = re.compile(r"\.(zip|7z|rar|tar|tgz|tbz2?|txz|gz|bz2|xz|zst|lz|lzma|cab|arj|cpio)(\.(gpg|pgp|enc|age|aes|asc|crypt))?$", re.I)
_MAX_DEPTH = 16  # generations followed from a chain's start (the log's names may form cycles)


@lru_cache(maxsize=1)
def roles() -> dict[str, Any]:
    raw = load_data_yaml("roles.yaml")
    chain = raw["attack_chain"]
    return {
        "launcher_categories": frozenset(chain["launchers"]["categories"]),
        "launcher_names": frozenset(n.casefold() for n in chain["launchers"]["names"]),
        "child_categories": frozenset(chain["children"]["categories"]),
        "child_names": frozenset(n.casefold() for n in chain["children"].get("names") or ()),
        "child_unknown": bool(chain["children"].get("unknown")),
        "fan_out_categories": frozenset(raw["routine_fan_out"]["categories"]),
        "fan_out_exceptions": frozenset(n.casefold() for n in raw["routine_fan_out"].get("except") or ()),
        "channel_categories": frozenset(raw["routine_channels"]["categories"]),
        "channel_names": frozenset(n.casefold() for n in raw["routine_channels"].get("names") or ()),
        "channel_exceptions": frozenset(n.casefold() for n in raw["routine_channels"].get("except") or ()),
        "session_client_names": frozenset(n.casefold() for n in raw["session_clients"]["names"]),
        "code_runner_names": frozenset(n.casefold() for n in raw["code_runners"]["names"]),
        "code_reader_names": frozenset(n.casefold() for n in raw["code_runners"].get("reads_code") or ()),
        "command_shell_names": frozenset(n.casefold() for n in raw["command_shells"]["names"]),
        "build_categories": frozenset(raw["build_from_source"]["categories"]),
        "build_names": frozenset(n.casefold() for n in raw["build_from_source"].get("names") or ()),
        "build_driver_names": frozenset(n.casefold() for n in raw["build_from_source"].get("drivers") or ()),
        "build_script_names": frozenset(n.casefold() for n in raw["build_from_source"].get("scripts") or ()),
        "routine_writer_categories": frozenset(raw["routine_writers"]["categories"]),
        "log_rotator_names": frozenset(n.casefold() for n in raw["log_rotators"]["names"]),
        "own_file_cleaner_categories": frozenset(raw["own_file_cleaners"]["categories"]),
        "user_application_categories": frozenset(raw["user_applications"]["categories"]),
        "app_store_names": frozenset(n.casefold() for n in raw["application_credential_stores"]["names"]),
        "app_store_reader_categories": frozenset(raw["application_credential_stores"]["readers"]),
        "privileged_loader_names": frozenset(n.casefold() for n in raw["privileged_loaders"]["names"]),
        "planter_categories": frozenset(raw["privileged_loaders"]["planters"]["categories"]),
        "compressor_names": frozenset(n.casefold() for n in raw["compressors"]["names"]),
        "archiver_names": frozenset(n.casefold() for n in raw["archivers"]["names"]),
        "mode_copier_names": frozenset(n.casefold() for n in raw["mode_preserving_copiers"]["names"]),
        "local_copier_names": frozenset(n.casefold() for n in raw["local_copiers"]["names"]),
        "pager_editor_names": frozenset(n.casefold() for n in raw["pagers_and_editors"]["names"]),
        "remote_command_names": frozenset(n.casefold() for n in raw["remote_command_tools"]["names"]),
        "remote_session_host_names": frozenset(n.casefold() for n in raw["remote_session_hosts"]["names"]),
        "process_listing_tool_names": frozenset(n.casefold() for n in raw["process_listing_tools"]["names"]),
        "connectivity_check_names": frozenset(n.casefold() for n in raw["connectivity_checks"]["names"]),
        "domain_controller_client_names": frozenset(n.casefold() for n in raw["domain_controller_clients"]["names"]),
        "archiving_sender_categories": frozenset(raw["archiving_senders"]["categories"]),
        "script_web_server_names": frozenset(n.casefold() for n in raw["script_running_web_servers"]["names"]),
        "web_server_names": frozenset(n.casefold() for n in raw["web_servers"]["names"]),
        "script_agent_categories": frozenset(raw["script_running_agents"]["categories"]),
        "supply_chain_categories": frozenset(raw["supply_chain_hosts"]["categories"]),
        "supply_chain_names": frozenset(n.casefold() for n in raw["supply_chain_hosts"]["names"]),
        "quarantine_categories": frozenset(raw["quarantining_scanners"]["categories"]),
        "quarantine_names": frozenset(n.casefold() for n in raw["quarantining_scanners"]["names"]),
        "com_server_keys": frozenset(n.casefold() for n in raw["com_hijack"]["keys"]),
        "com_hijacker_categories": frozenset(raw["com_hijack"]["writers"]["categories"]),
        "self_update_categories": frozenset(raw["self_updating"]["categories"]),
        "component_categories": {
            writer: frozenset(components) for writer, components in (raw["self_updating"].get("components") or {}).items()
        },
    }


def process_category(name: str) -> str | None:
    return getattr(lookup(name, "process"), "category", None) if name else None


def is_launcher(name: str) -> bool:
    r = roles()
    return name.casefold() in r["launcher_names"] or process_category(name) in r["launcher_categories"]


def chain_child(name: str) -> bool:
    """What a launcher starting counts as an attack chain's step (``attack_chain.children``):
    a shell, script host, interpreter or admin tool, an installer or download tool, or a
    program the knowledge base does not know."""
    r = roles()
    entry = lookup(name, "process")
    if name.casefold() in r["child_names"]:
        return True
    return (entry is None and r["child_unknown"]) or (entry is not None and entry.category in r["child_categories"])


def routine_channel(name: str) -> bool:
    """A process whose ordinary work keeps talking to one server (``routine_channels``)."""
    r = roles()
    folded = name.casefold()
    return folded not in r["channel_exceptions"] and (folded in r["channel_names"] or process_category(name) in r["channel_categories"])


def archiving_sender(name: str) -> bool:
    """A routine channel whose ordinary work archives files and sends them (``archiving_senders``)."""
    return process_category(name) in roles()["archiving_sender_categories"]


# credential stores every networked program reads (user and group lookups, ssh's host and
# public keys): reading them is no sign of data being carried off, unlike shadow or a key
WORLD_READABLE_ACCOUNT_FILES = frozenset({"passwd", "group", "pwd.db", "known_hosts", "authorized_keys"})
# the privilege policies (who may run what as root): root-only and guarded as credentials
# are, but holding no secret; reading one is a look at the privileges, not a theft
PRIVILEGE_POLICIES = frozenset({"sudoers"})


def secret_credential(name: str) -> bool:
    """A credential store that holds secrets (``shadow``, ``id_rsa``, ``SAM``), not an account
    file every networked program reads (``passwd``, ``known_hosts``) nor sudo's policy."""
    entry = lookup(name, "file")
    return entry is not None and entry.category == "credential store" and name.lower() not in WORLD_READABLE_ACCOUNT_FILES | PRIVILEGE_POLICIES


def connectivity_check(name: str) -> bool:
    """A tool that checks this host's network configuration or its path to a host (``connectivity_checks``)."""
    return name.casefold() in roles()["connectivity_check_names"]


def domain_controller_client(name: str) -> bool:
    """A program that talks to domain controllers only (``domain_controller_clients``)."""
    return name.casefold() in roles()["domain_controller_client_names"]


def session_client(name: str) -> bool:
    """A client of remote sessions and copies to another host (``session_clients``)."""
    return name.casefold() in roles()["session_client_names"]


def code_runner(name: str) -> bool:
    """A binary that runs the code it is given (``code_runners``)."""
    return name.casefold() in roles()["code_runner_names"]


def reads_its_code(name: str) -> bool:
    """A code runner that reads its code as a text file named on its command line
    (``code_runners.reads_code``: MSBuild's project, mshta's HTA)."""
    return name.casefold() in roles()["code_reader_names"]


def shell_or_interpreter(name: str) -> bool:
    """A Windows command shell (``command_shells``: cmd, PowerShell) or a process the
    knowledge base knows as a shell or interpreter."""
    return name.casefold() in roles()["command_shell_names"] or process_category(name) in ("shell", "interpreter")


def runs_what_it_reads(name: str) -> bool:
    """A binary that runs the code it is given (``code_runners``), or a shell or interpreter
    (``shell_or_interpreter``): a script or program it reads is one it runs."""
    return name.casefold() in roles()["code_runner_names"] or shell_or_interpreter(name)


def routine_writer(name: str) -> bool:
    """A process whose ordinary work writes, starts and deletes programs (``routine_writers``)."""
    return process_category(name) in roles()["routine_writer_categories"]


def log_rotator(name: str) -> bool:
    """A log rotator (``log_rotators``), whose files are logs whatever their names."""
    return name.casefold() in roles()["log_rotator_names"]


def own_file_cleaner(name: str) -> bool:
    """A process that creates and deletes its own working files (``own_file_cleaners``)."""
    return process_category(name) in roles()["own_file_cleaner_categories"]


def user_application(name: str) -> bool:
    """A browser, mail client, office or desktop application (``user_applications``)."""
    return process_category(name) in roles()["user_application_categories"]


def reads_own_credential_store(reader: str, store: str) -> bool:
    """Whether ``store`` is a credential store that ``reader``, a browser or mail client,
    keeps in its own profile (``application_credential_stores``)."""
    r = roles()
    return store.casefold() in r["app_store_names"] and process_category(reader) in r["app_store_reader_categories"]


def privileged_loader(name: str) -> bool:
    """A program that runs with more privilege than its caller (``privileged_loaders``)."""
    return name.casefold() in roles()["privileged_loader_names"]


def planter(name: str) -> bool:
    """A process that may plant code for a privileged loader: a shell, interpreter, admin
    tool, compiler or linker (``privileged_loaders.planters``, ``build_from_source``)."""
    r = roles()
    return process_category(name) in r["planter_categories"] or name.casefold() in r["build_names"]


def script_running_agent(name: str) -> bool:
    """An agent that writes, runs and removes its own scripts (``script_running_agents``)."""
    return process_category(name) in roles()["script_agent_categories"]


def supply_chain_host(name: str) -> bool:
    """A package manager or build driver that runs packages' or projects' own code as it
    installs or builds them (``supply_chain_hosts``)."""
    r = roles()
    return name.casefold() in r["supply_chain_names"] or process_category(name) in r["supply_chain_categories"]


def quarantining_scanner(name: str) -> bool:
    """An antivirus engine that moves what it detects into quarantine (``quarantining_scanners``)."""
    r = roles()
    return name.casefold() in r["quarantine_names"] or process_category(name) in r["quarantine_categories"]


def web_server(name: str) -> bool:
    """A web server (``web_servers`` in roles.yaml)."""
    return name.casefold() in roles()["web_server_names"]


def script_web_server(name: str) -> bool:
    """A web server that runs a site's scripts (``script_running_web_servers``), under its own
    name or a versioned one the knowledge base resolves to it (Debian's ``php-fpm7.0``)."""
    names = roles()["script_web_server_names"]
    if name.casefold() in names:
        return True
    entry = lookup(name, "process")
    return entry is not None and entry.name.casefold() in names


def compressor(name: str) -> bool:
    """A program that replaces the file it compresses or expands (``compressors``)."""
    return name.casefold() in roles()["compressor_names"]


def archiver(name: str) -> bool:
    """A program that packs the files it reads into the one it writes (``archivers``)."""
    return name.casefold() in roles()["archiver_names"]


def mode_preserving_copier(name: str) -> bool:
    """An extractor or copy tool that restores a file's mode (``mode_preserving_copiers``)."""
    return name.casefold() in roles()["mode_copier_names"]


def build_tool(name: str) -> bool:
    """A compiler, linker or build driver (``build_from_source``: its categories, names and
    drivers)."""
    r = roles()
    folded = name.casefold()
    return folded in r["build_names"] or folded in r["build_driver_names"] or process_category(name) in r["build_categories"]


def local_copier(name: str) -> bool:
    """A tool copying a file already on the host to another name (``local_copiers``)."""
    return name.casefold() in roles()["local_copier_names"]


def pager_or_editor(name: str) -> bool:
    """A pager or text editor, which shows a file to the user (``pagers_and_editors``)."""
    return name.casefold() in roles()["pager_editor_names"]


def remote_command_tool(name: str) -> bool:
    """A tool whose exchange with another host runs a command there (``remote_command_tools``)."""
    return name.casefold() in roles()["remote_command_names"]


def remote_session_host(name: str) -> bool:
    """A process serving a remote session another host opened (``remote_session_hosts``)."""
    return name.casefold() in roles()["remote_session_host_names"]


def routine_fan_out(name: str) -> bool:
    """A process whose ordinary work reaches several hosts of its site (``routine_fan_out``)."""
    r = roles()
    return name.casefold() not in r["fan_out_exceptions"] and process_category(name) in r["fan_out_categories"]


def build_outputs(view: LogView) -> np.ndarray:
    """The descriptions of file writes that are a build from source (``build_from_source``):
    a version-control client's checkout, a compiler's or linker's output, and what the
    programs they wrote write in turn, less those of processes the log shows in an attack
    chain (an implant building its tools)."""
    return _outside_chain(view, "_build_outputs", build_writes)


def _outside_chain(view: LogView, key: str, writes: Callable[[LogView], np.ndarray]) -> np.ndarray:
    """``writes(view)`` less those of processes the log shows in an attack chain, kept
    under ``key``: the chain itself leaves ``writes`` out of its dropped programs, so the
    two are read in this order."""
    return view.derived(key, lambda: writes(view) & ~in_chain(view, attack_chain(view)))


def build_writes(view: LogView) -> np.ndarray:
    """``build_outputs`` before the attack chain is read (the chain's dropped programs leave
    these out)."""
    return view.derived("_build_writes", lambda: _find_build_writes(view))


def _find_build_writes(view: LogView) -> np.ndarray:
    written = _file_writes(view)
    r = roles()
    builders = {n for n in view.values("subject_name", written) if n.casefold() in r["build_names"] or process_category(n) in r["build_categories"]}
    builders -= _compiling_deliveries(view, builders, written)
    drivers = {n for n in view.subjects if n.casefold() in r["build_driver_names"]}
    if drivers:
        started = view.values("subject_name", written & descendant_subjects(view, drivers))
        builders |= {n for n in started if process_category(n) not in ("shell", "interpreter", "network tool")}
    for _ in range(_MAX_DEPTH):
        grown = view.values("object_name", written & view.desc_in("subject_name", builders)) - PLACEHOLDERS
        grown &= view.values("subject_name", written)  # programs they wrote that write in turn
        if grown <= builders:
            break
        builders |= grown
    return (written & view.desc_in("subject_name", builders)) | _unpacked_build_scripts(view, written)


def _unpacked_build_scripts(view: LogView, written: np.ndarray) -> np.ndarray:
    """The ``written`` descriptions of a source package's build script (``build_from_source``
    scripts: a tarball's ./configure) that an extractor wrote after reading an archive: the
    package's own, as a checkout's is (a copy from another host is not unpacked)."""
    names = roles()["build_script_names"]
    extracted = written & view.desc_where("object_name", lambda n: n.casefold() in names, written)
    if not extracted.any():
        return extracted
    extracted &= view.desc_where("subject_name", mode_preserving_copier, extracted)
    reads = view.present & (view.desc["event"] == "file_read") & view.desc_in("subject_name", view.values("subject_name", extracted))
    unpacking = view.values("subject_name", reads & view.desc_where("object_name", lambda n: bool(ARCHIVE.search(n)), reads))
    return extracted & view.desc_in("subject_name", unpacking)


# who writes a source file that, compiled, is a delivery rather than a build: a script
# written by PowerShell or a shell after a download and handed to csc (T1027.004); not
# MSBuild, an admin tool too, whose generated sources (AssemblyInfo.cs) a build compiles
_DELIVERING_CATEGORIES = ("shell", "interpreter", "network tool")


def _compiling_deliveries(view: LogView, builders: set[str], written: np.ndarray) -> set[str]:
    """The ``builders`` that read a file a shell, interpreter or download tool wrote in the
    subgraph (``written``: ``_file_writes``): compiling what was delivered (PowerShell
    writing upd.cs, then csc), not building from source. A build driver's compilers are read
    separately (their sources may be generated by a script of the build)."""
    if not builders:
        return set()
    desc = view.desc
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", builders)
    if not reads.any():
        return set()
    shells = roles()["command_shell_names"]  # Windows' shells are admin tools in the knowledge base
    by_deliverers = written & view.desc_where("subject_name", lambda n: n.casefold() in shells or process_category(n) in _DELIVERING_CATEGORIES, written)
    delivered = view.values("object_name", by_deliverers) - PLACEHOLDERS
    return view.values("subject_name", reads & view.desc_in("object_name", delivered)) if delivered else set()


def self_updates(view: LogView) -> np.ndarray:
    """The descriptions of file writes that are an application updating itself
    (``self_updating``), less those of processes the log shows in an attack chain and
    those of a program that the log then shows in one (a payload under a component's name
    holding a channel or starting a shell is no update)."""

    by_writer = _outside_chain(view, "_self_updates_by_writer", self_update_writes)
    return view.derived("_self_updates", lambda: by_writer & ~view.desc_in("object_name", set(attack_chain(view))))


def own_64_bit_build(launcher: str, program: str) -> bool:
    """Whether ``program`` is ``launcher``'s own 64-bit build: procdump.exe's procdump64.exe
    (Sysinternals' tools write it to a temporary folder, run it and delete it at every run)."""
    stem = launcher.casefold().removesuffix(".exe")
    return bool(stem) and program.casefold() in (f"{stem}64.exe", f"{stem}64")


def self_update_writes(view: LogView) -> np.ndarray:
    """``self_updates`` before the attack chain is read (its dropped programs leave these
    out): a process that a known application started writing that application's own
    program (Teams' Update.exe writing Teams.exe). Matched by name: the application's
    program is a file of its name, whichever of its processes started the writer."""
    return view.derived("_self_update_writes", lambda: _find_self_update_writes(view) | _own_component_writes(view))


def _file_writes(view: LogView) -> np.ndarray:
    """Writes and creations of files and links (per description, present in the log)."""
    return view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_kind", ("file", "link"))


# Squirrel's package of an application's release (Teams, Slack, Discord, GitHub Desktop):
# NAME-VERSION-full.nupkg or -delta.nupkg, from which its Update.exe writes NAME.exe
SQUIRREL_PACKAGE = re.compile(r"^(?P<application>[^-]+)-[0-9]+(?:\.[0-9]+)*-(?:full|delta)\.nupkg$", re.IGNORECASE)


def _find_self_update_writes(view: LogView) -> np.ndarray:
    written = _file_writes(view)
    categories = roles()["self_update_categories"]
    applications: dict[str, set[str]] = {}  # writer -> the applications it updates (folded)
    for parent_name, child_name, _, _ in _graph(view).edges:
        if parent_name.casefold() != child_name.casefold() and process_category(parent_name) in categories:
            applications.setdefault(child_name, set()).add(parent_name.casefold())
    # an updater that wrote a known application's release package updates that application,
    # whoever the log shows starting it (Explorer starts Teams through Update.exe at logon)
    for writer, program in _release_package_writes(view):
        applications.setdefault(writer, set()).add(program)
    # a process that read a package the application wrote and then writes the application's
    # program applies its update (Firefox saves update.mar; its updater, started once Firefox
    # exits, reads it and writes firefox again), whoever the log shows starting it
    for writer, program in _package_appliers(view, written, categories):
        applications.setdefault(writer, set()).add(program)
    if not applications or not written.any():
        return np.zeros(len(view.pattern_rows), dtype=bool)
    # and its renames of the program (the old one moved aside, the new one into place)
    renamed = view.present & (view.desc["event"] == "file_rename") & (view.desc["object_kind"] == "file")
    writes = (written | renamed) & view.desc_in("subject_name", applications)
    updates = view.pattern_flags(lambda row: row.object.casefold() in applications[row.subject], writes)
    if not updates.any():
        return updates
    # the application writing the update program it then starts (Zoom writing the installer
    # that writes Zoom.exe again) is the same update
    updaters = {name.casefold(): applications[name] for name in view.values("subject_name", updates)}
    fetched = written & view.desc_where("object_name", lambda name: name.casefold() in updaters, written)
    return updates | view.pattern_flags(lambda row: row.subject.casefold() in updaters[row.object.casefold()], fetched)


def release_package_writers(view: LogView) -> set[str]:
    """The processes that wrote a known application's Squirrel release package
    (``SQUIRREL_PACKAGE``): that application's updater, fetching its release."""
    return {writer for writer, _ in _release_package_writes(view)}


# a language package fetched into a project's or user's package cache, named with its
# version: NuGet's newtonsoft.json.12.0.2.nupkg, a Python wheel, a Ruby gem, a Rust crate
LANGUAGE_PACKAGE_SUFFIXES = (".nupkg", ".whl", ".gem", ".crate")
PACKAGE_VERSION = re.compile(r"[-.]v?[0-9]+(?:\.[0-9]+)+")


def is_language_package(name: str) -> bool:
    """Whether ``name`` is a versioned language package (``LANGUAGE_PACKAGE_SUFFIXES``, a
    dotted version in its name); a file name is at most 255 bytes, so a longer one is none."""
    return len(name) <= 255 and name.lower().endswith(LANGUAGE_PACKAGE_SUFFIXES) and PACKAGE_VERSION.search(name) is not None


def package_restorers(view: LogView) -> set[str]:
    """The programs the knowledge base knows that wrote versioned language packages
    (``is_language_package``): a build restoring its project's packages from their registry
    (MSBuild's and dotnet's NuGet restore, pip, gem), whose exchange is that fetch."""
    writes = _file_writes(view)
    writes &= view.desc_where("object_name", is_language_package, writes)
    return {writer for writer in view.values("subject_name", writes) if writer and lookup(writer, "process") is not None}


def _release_package_writes(view: LogView) -> list[tuple[str, str]]:
    """(writer, application's program folded) of each write of a Squirrel release package of
    an application of the ``self_updating`` categories (computed once per view)."""

    def compute() -> list[tuple[str, str]]:
        categories = roles()["self_update_categories"]
        found = []
        for writer, package in _named_writes(view, _file_writes(view), SQUIRREL_PACKAGE):
            program = SQUIRREL_PACKAGE.match(package)["application"] + ".exe"
            if writer and process_category(program) in categories:
                found.append((writer, program.casefold()))
        return found

    return view.derived("_release_package_writes", compute)


def _package_appliers(view: LogView, written: np.ndarray, categories) -> list[tuple[str, str]]:
    """(process, application folded) for each process that read a file an application of
    ``categories`` wrote and writes a file of that application's name."""
    desc = view.desc
    by_applications = written & view.desc_where("subject_name", lambda name: process_category(name) in categories, written)
    if not by_applications.any():
        return []
    writers_of: dict[str, set[str]] = {}
    for at in np.flatnonzero(by_applications).tolist():
        writers_of.setdefault(desc["object_name"][at], set()).add(desc["subject_name"][at].casefold())
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("object_name", writers_of) & (desc["subject_name"] != "")
    read_from: dict[str, set[str]] = {}
    for at in np.flatnonzero(reads).tolist():
        read_from.setdefault(desc["subject_name"][at], set()).update(writers_of[desc["object_name"][at]])
    found = []
    for at in np.flatnonzero(written & view.desc_in("subject_name", read_from)).tolist():
        writer, program = desc["subject_name"][at], desc["object_name"][at].casefold()
        if program in read_from[writer] and program != writer.casefold():
            found.append((writer, program))
    return found


def _named_writes(view: LogView, written: np.ndarray, pattern: re.Pattern) -> list[tuple[str, str]]:
    """(writer, file) of the ``written`` descriptions whose file name ``pattern`` matches."""
    matching = written & view.desc_where("object_name", lambda name: pattern.match(name) is not None, written)
    desc = view.desc
    return [(desc["subject_name"][at], desc["object_name"][at]) for at in np.flatnonzero(matching).tolist()]


def _own_component_writes(view: LogView) -> np.ndarray:
    """An application writing a program the knowledge base lists as one of its own
    components (``self_updating.components``: a browser writing a browser component)."""
    components = roles()["component_categories"]
    writes = _file_writes(view) & view.desc_where("subject_name", lambda name: process_category(name) in components)
    if not writes.any():
        return writes
    return view.pattern_flags(lambda row: process_category(row.object) in components[process_category(row.subject)], writes)


@dataclass(frozen=True)
class Link:
    """How one process of an attack chain got there: ``how`` in words (its path back to the
    chain's start, from the log's rows) and ``rows``, the descriptions that show that path.
    ``stored`` is that mask, or, with ``size`` (the number of descriptions), the positions
    of its descriptions: a chain of thousands of dropped programs keeps a few positions
    each, not a mask over every description each."""

    how: str
    stored: np.ndarray
    size: int = 0

    @property
    def rows(self) -> np.ndarray:
        if not self.size:
            return self.stored
        found = np.zeros(self.size, dtype=bool)
        found[self.stored] = True
        return found

    @property
    def positions(self) -> np.ndarray:
        return self.stored if self.size else np.flatnonzero(self.stored)


_BY_NAME = "\x1f"  # a key that stands for every process of one name (the log names it, no id)


class Chain(dict):
    """An attack chain: each process NAME of it -> the :class:`Link` of the first process of
    that name it reached (for wording), and ``members``, the processes themselves by key:
    an entity id where the input identifies processes (an edge list's uuids), so that two
    processes of one name are told apart, or ``_BY_NAME`` + name where the log links them
    only by name (OCR-APT's CSV; a program executed from a file; a dropped program)."""

    members: dict[str, Link]


@dataclass(frozen=True)
class _Graph:
    """The log's process starts: ``starts``, the descriptions where a named process starts
    or executes another; ``kids``, each parent key's (child key, child name, parent name)
    edges, and each ``_BY_NAME`` key's those of every parent of that name; ``identified``,
    whether any process of the input has an entity id of its own."""

    starts: np.ndarray
    edges: list[tuple[str, str, str, str]]  # (parent name, child name, parent key, child key), sorted
    kids: dict[str, list[tuple[str, str, str]]]
    identified: bool
    # the descriptions of the starts an unnamed process takes part in, per (parent key, child
    # key): its rows name no process, so they are found by entity
    unnamed: dict[tuple[str, str], np.ndarray]
    # started processes whose name the log left empty (their entity keys): known by a name
    # they execute or their parent's, which the chain's words must not give as theirs
    nameless: frozenset[str] = frozenset()
    # the start triples named on both sides (the edges, one per start): read in one pass
    named_starts: _TripleStarts | None = None


def _by_name(keys: np.ndarray) -> np.ndarray:
    """Which keys stand for a name (``_BY_NAME`` + name), not an entity id."""
    return np.fromiter((k.startswith(_BY_NAME) for k in keys.tolist()), dtype=bool, count=len(keys))


def _member(view: LogView, name: str, values: Callable[[], np.ndarray], wanted: set) -> np.ndarray:
    """Which of the triples' ``values`` (computed once per view, kept as ``name``) are in
    ``wanted``: a set lookup per distinct value, then one gather (rules ask this several
    times a report over tens of thousands of triples)."""
    codes, distinct_values = view.derived(name, lambda: factorize(values()))
    known = np.fromiter((v in wanted for v in distinct_values.tolist()), dtype=bool, count=len(distinct_values))
    return known[codes]


def _side_keys(view: LogView, role: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Each triple's ``role`` (subject or object) as a key: its entity id when the input gave
    one, else ``_BY_NAME`` + its name (an id made from the kind and value stands for a name).
    Decided once per distinct id. ``rows``: only these triples."""
    triples = view.facts.timeline.table.triples[[f"{role}_{column}" for column in ("id", "name", "kind", "value")]]
    if rows is not None:
        triples = triples.take(rows)
    codes, ids = factorize(triples.arrow(f"{role}_id"))
    if not len(ids):
        return np.zeros(0, dtype=object)
    ids = np.asarray(ids, dtype=object)
    first = np.flatnonzero(first_appearances(codes))  # codes are numbered in order of first appearance
    pick = lambda column: triples[f"{role}_{column}"][first]  # noqa: E731
    names, kinds = pick("name"), pick("kind")
    # an unnamed process keeps its entity id (an edge list's uuid); one without an id of its
    # own (OCR-APT's CSV: one node per kind and role) stands for every unnamed process
    derived = (ids == kinds + ":" + pick("value")) | ((names == "") & (ids == kinds + f":<unnamed {role}>"))
    keys = np.where(derived, _BY_NAME + names, ids)
    return keys[codes]


def _subject_keys(view: LogView) -> np.ndarray:
    return view.derived("_subject_keys", lambda: _side_keys(view, "subject"))


def processes_identified(view: LogView) -> bool:
    """Whether the input tells processes apart by an id (an edge list's uuids), not only by
    name: an unnamed process is then one process, not any."""
    return _graph(view).identified


def _graph(view: LogView) -> _Graph:
    return view.derived("_lineage_graph", lambda: _build_graph(view))


def _build_graph(view: LogView) -> _Graph:
    desc = view.desc
    event, subject = desc["event"], desc["subject_name"]
    spawned = (event == "process_start") & (desc["object_kind"] == "process")
    # every start, then those named on both sides: the graph's edges; the unnamed ones
    # among every start are named from their parents (``_unnamed_starts``)
    every_start = view.present & (spawned | (event == "execute"))
    starts = every_start & ~view.desc_in("object_name", PLACEHOLDERS) & (subject != "")
    subject_keys = _subject_keys(view)
    identified = bool(len(subject_keys)) and not all(k.startswith(_BY_NAME) for k in set(subject_keys.tolist()))
    kids: dict[str, list[tuple[str, str, str]]] = {}
    triple_starts = _triple_starts(view, every_start, spawned)
    named = starts[triple_starts.codes]
    # distinct (parent key, parent name, child key, child name), first seen first (ties of the
    # sort below keep that order): one per start, thousands at most
    edges: dict[tuple[str, str, str, str], None] = {}
    if named.any():
        codes = triple_starts.codes[named]
        edges.update(dict.fromkeys(zip(
            triple_starts.parents[named].tolist(), subject[codes].tolist(),
            triple_starts.children[named].tolist(), triple_starts.names[named].tolist(),
        )))  # fmt: skip
    unnamed = _unnamed_starts(view, spawned, triple_starts) if identified else {}
    edges.update(dict.fromkeys(unnamed))
    listed = sorted((p, c, pk, ck) for pk, p, ck, c in edges)
    for parent, parent_name, child, child_name in sorted(edges, key=lambda e: (e[2], e[3], e[0])):
        kids.setdefault(parent, []).append((child, child_name, parent_name))
        if not parent.startswith(_BY_NAME):
            kids.setdefault(_BY_NAME + parent_name, []).append((child, child_name, parent_name))
    named_starts = _TripleStarts(*(column[named] for column in triple_starts)) if len(triple_starts.codes) else triple_starts
    unnamed_codes = {(pk, ck): codes for (pk, _, ck, _), codes in unnamed.items()}
    return _Graph(starts, listed, kids, identified, unnamed_codes, _nameless(unnamed, view), named_starts)


class _TripleStarts(NamedTuple):
    """The triples that start or execute a process: each one's description, the keys
    (``_side_keys``) of its parent and child, and the child's name (``_run_as``: the name
    an executed file's process has)."""

    codes: np.ndarray
    parents: np.ndarray
    children: np.ndarray
    names: np.ndarray


def _triple_starts(view: LogView, starts: np.ndarray, spawned: np.ndarray) -> _TripleStarts:
    """The triples of the descriptions ``starts`` marks. A started process is the object's
    entity; an executed file's program is known by its name."""
    timeline = view.facts.timeline
    at = np.flatnonzero(starts[timeline.triple_description]) if len(timeline.triple_description) else np.zeros(0, dtype=np.int64)
    codes = timeline.triple_description[at]
    if not len(at):
        none = np.zeros(0, dtype=object)
        return _TripleStarts(codes, none, none, none)
    child_names = _run_as(view, view.desc["object_name"][codes])
    children = np.where(spawned[codes], _side_keys(view, "object", at), _BY_NAME + child_names.astype(object))
    return _TripleStarts(codes, _subject_keys(view)[at], children, child_names)


# Linux records a process by its command name, the first 15 characters of the program's file
# name (TASK_COMM_LEN): TC3's ``evolution-calen`` runs the file ``evolution-calendar-factory``
COMM_LENGTH = 15


def _run_as(view: LogView, file_names: np.ndarray) -> np.ndarray:
    """The process names that executed files run as: a file name longer than a command name
    is the 15-character name that some process of the subgraph has, where no process has
    the whole name (Windows records whole image names, and a prefix alone never matches)."""
    long_names = {name for name in file_names.tolist() if len(name) > COMM_LENGTH}
    if not long_names:
        return file_names
    subjects = view.subjects
    renamed = {name: name[:COMM_LENGTH] for name in long_names if name not in subjects and name[:COMM_LENGTH] in subjects}
    if not renamed:
        return file_names
    return np.array([renamed.get(name, name) for name in file_names.tolist()], dtype=object)


def process_family(view: LogView, names: set[str]) -> set[str]:
    """The process names connected to ``names`` by the log's starts, in either direction
    (parents, children, their other children...), ``names`` included, each file name also as
    the name its process runs as. By name: two processes of one name are one member."""
    members = set(names) | set(_run_as(view, np.array(sorted(names), dtype=object)).tolist())
    neighbours: dict[str, set[str]] = {}
    for parent, child, _, _ in _graph(view).edges:
        neighbours.setdefault(parent, set()).add(child)
        neighbours.setdefault(child, set()).add(parent)
    todo = list(members)
    while todo:
        for other in neighbours.get(todo.pop(), ()):
            if other not in members:
                members.add(other)
                todo.append(other)
    return members


def _unnamed_starts(view: LogView, spawned: np.ndarray, triple_starts: _TripleStarts) -> dict[tuple[str, str, str, str], np.ndarray]:
    """Starts an unnamed process with an entity id of its own takes part in (an edge list's
    process whose name the log left empty), as (parent key, parent name, child key, child
    name) -> their descriptions. A process is known by the program it executes (a fork that
    then executes ``sh`` is that shell; its execution of ``sh`` is no start of another), or,
    executing none, by its parent's name (a fork runs its parent's image)."""
    desc = view.desc
    codes, parents, children = triple_starts.codes, triple_starts.parents, triple_starts.children
    if not len(codes):
        return {}
    parent_names, child_names = desc["subject_name"][codes], desc["object_name"][codes]
    unnamed_parent = (parent_names == "") & ~_by_name(parents)
    unnamed_child = spawned[codes] & (child_names == "") & ~_by_name(children)
    involved = np.flatnonzero(unnamed_parent | unnamed_child)
    if not len(involved):
        return {}
    name: dict[str, str] = {}
    for i in involved.tolist():  # what an unnamed process executes names it (first program, by name order)
        if unnamed_parent[i] and not spawned[codes[i]] and child_names[i] not in PLACEHOLDERS:
            if parents[i] not in name or child_names[i] < name[parents[i]]:
                name[parents[i]] = child_names[i]
    for _ in range(_MAX_DEPTH):  # else its parent's
        grown = False
        for i in involved.tolist():
            if unnamed_child[i] and children[i] not in name:
                parent = parent_names[i] or name.get(parents[i], "")
                if parent:
                    name[children[i]], grown = parent, True
        if not grown:
            break
    found: dict[tuple[str, str, str, str], list[int]] = {}
    for i in involved.tolist():
        parent_name = parent_names[i] or name.get(parents[i], "")
        child_name = (child_names[i] or name.get(children[i], "")) if spawned[codes[i]] else child_names[i]
        if not parent_name or not child_name or child_name in PLACEHOLDERS:
            continue
        if not spawned[codes[i]] and unnamed_parent[i] and child_name == parent_name:
            continue  # the program the unnamed process runs as, not another it starts
        found.setdefault((parents[i], parent_name, children[i], child_name), []).append(int(codes[i]))
    # sorted and distinct per start (np.unique per key cost 60 us each, for thousands of keys)
    return {key: np.array(sorted(set(value)), dtype=np.int64) for key, value in found.items()}


def _nameless(unnamed: dict[tuple[str, str, str, str], np.ndarray], view: LogView) -> frozenset[str]:
    """The child keys of ``_unnamed_starts`` whose started process the log left unnamed and
    that are known only by their parent's name (a fork that executes nothing; one that
    executes a program is known by that program, which names it truly)."""
    desc = view.desc
    return frozenset(
        child for (_, parent_name, child, child_name), codes in unnamed.items()
        if child_name == parent_name and not child.startswith(_BY_NAME)
        and (desc["object_name"][codes] == "").all() and (desc["event"][codes] == "process_start").all()
    )


def _edge_positions(view: LogView, parent_key: str, child_key: str, parent: str, child: str) -> np.ndarray:
    """The descriptions (positions) that show one start: by name, or, for an unnamed process,
    by entity. Read off the child's descriptions, not masks over all of them: a rule asks
    for each of thousands of programs a browser started."""
    codes = _graph(view).unnamed.get((parent_key, child_key))
    if codes is not None:
        return np.asarray(codes, dtype=np.int64)
    named = view.positions_named("object_name", child)
    return named[_graph(view).starts[named] & (view.desc["subject_name"][named] == parent)]


def _edge_rows(view: LogView, parent_key: str, child_key: str, parent: str, child: str) -> np.ndarray:
    """``_edge_positions`` as a mask over the descriptions."""
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    found[_edge_positions(view, parent_key, child_key, parent, child)] = True
    return found


def _walk(view: LogView, found: dict[str, Link], names: dict[str, str]) -> None:
    """Adds to ``found`` (key -> Link; ``names``: key -> name) what its processes start in
    the log, and theirs in turn."""
    graph = _graph(view)
    kids = graph.kids
    frontier = sorted(found)
    for _ in range(_MAX_DEPTH):
        grown: dict[str, Link] = {}
        for parent in frontier:
            for child, child_name, parent_name in kids.get(parent, ()):
                if child not in found and child not in grown:
                    link = found[parent]
                    how = f"a process the log does not name, started by {link.how}" if child in graph.nameless else f"{quoted(child_name)} started by {link.how}"
                    grown[child] = Link(how, link.rows | _edge_rows(view, parent, child, parent_name, child_name))
                    names[child] = child_name
        if not grown:
            break
        found.update(grown)
        frontier = sorted(grown)


def _chain(found: dict[str, Link], names: dict[str, str]) -> Chain:
    chain = Chain()
    for key, link in found.items():
        chain.setdefault(names[key], link)
    chain.members = found
    return chain


def in_chain(view: LogView, chain: dict[str, Link]) -> np.ndarray:
    """The descriptions (a mask) whose subject is a process of ``chain``: by entity where the
    input identifies processes, by name where it does not (or ``chain`` is a plain dict of
    names)."""
    members = getattr(chain, "members", None)
    if members is None or not _graph(view).identified:
        return view.desc_in("subject_name", chain)
    return _subjects_in(view, set(members))


def _subjects_in(view: LogView, keys: set[str]) -> np.ndarray:
    """Descriptions with a triple whose subject is one of ``keys`` (a ``_BY_NAME`` key: any
    process of that name)."""
    timeline = view.facts.timeline
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    if not keys or not len(timeline.triple_description):
        return found
    subject_keys = _subject_keys(view)
    by_name = {k[len(_BY_NAME) :] for k in keys if k.startswith(_BY_NAME)}
    hit = _member(view, "_subject_key_codes", lambda: subject_keys, keys)
    if by_name:
        hit |= _member(view, "_subject_name_codes", lambda: timeline.table.triples["subject_name"], by_name)
    found[timeline.triple_description[hit]] = True
    return found


def descendant_subjects(view: LogView, parents: set[str]) -> np.ndarray:
    """The descriptions (a mask) whose subject is a process the log shows a process named in
    ``parents`` starting, or one of theirs in turn (by entity where the input identifies
    processes), less the processes named in ``parents``."""
    kids = _graph(view).kids
    found = {_BY_NAME + p: p for p in parents}
    frontier = sorted(found)
    for _ in range(_MAX_DEPTH):
        grown = {child: name for parent in frontier for child, name, _ in kids.get(parent, ()) if child not in found}
        if not grown:
            break
        found.update(grown)
        frontier = sorted(grown)
    below = {key: name for key, name in found.items() if name not in parents}
    if not _graph(view).identified:
        return view.desc_in("subject_name", set(below.values()))
    return _subjects_in(view, set(below))


def attack_chain(view: LogView, channels: bool = True) -> Chain:
    """Each process name of an attack chain the log shows, with how it got there:
    ``{"cmd.exe": Link("`cmd.exe` started by `WINWORD.EXE`", rows)}``, and the processes
    themselves (``Chain.members``). ``channels``: whether processes holding a
    command-and-control channel start chains (the Command and Control rule itself asks
    without them)."""
    return _chain_and_launchers(view, channels)[0]


def _chain_and_launchers(view: LogView, channels: bool) -> tuple[Chain, Chain]:
    """``attack_chain``, and the launchers that started it (``compromised_launchers``)."""
    key = "_attack_chain" if channels else "_attack_chain_without_channels"
    return view.derived(key, lambda: _find_chain(view, channels))


_ORCHESTRATING = frozenset({"shell", "interpreter", "windows admin tool"})  # knowledge-base categories


def _started_after_a_dropped_program(view: LogView, dropped: list[tuple[str, str, np.ndarray]]) -> dict[str, tuple[Link, str]]:
    """What a shell, interpreter or Windows command tool (cmd.exe, PowerShell: ``_ORCHESTRATING``
    categories) started once it had run a program the subgraph wrote (``dropped``): the same hand that ran the payload (``sh`` running a downloaded miner,
    then ``crontab``) acts for the attacker from then on. Its earlier children stay out of
    it: a log that names processes without ids shows every ``sh`` as one, and a build's
    ``sh`` minutes before the drop is not the intruder's (``{key: (Link, name)}``). One
    pass over the starts: a crafted log's shell runs thousands of dropped programs."""
    graph = _graph(view)
    starts = graph.named_starts
    if not dropped or starts is None or not len(starts.codes):
        return {}
    programs = {process: program for program, process, _ in dropped}
    codes = starts.codes.tolist()
    parent_names = view.desc["subject_name"][starts.codes].tolist()
    first, last = view.first_minutes[starts.codes].tolist(), view.last_minutes[starts.codes].tolist()
    orchestrating = {name: process_category(name) in _ORCHESTRATING for name in set(parent_names)}
    triples = list(zip(starts.parents.tolist(), parent_names, starts.names.tolist(), starts.children.tolist(), codes))
    since: dict[str, tuple[int, str]] = {}  # parent key -> (minute, dropped process) of its first run of one
    for (parent, parent_name, name, _, _), minute in zip(triples, first):
        if name in programs and name != parent_name and orchestrating[parent_name] and minute < since.get(parent, (minute + 1,))[0]:
            since[parent] = (minute, name)
    if not since:
        return {}
    ran: dict[str, list[int]] = {}  # parent key -> descriptions of that run
    later: dict[str, tuple[str, str, str, list[int]]] = {}  # child key -> (name, parent key, parent name, descriptions)
    for (parent, parent_name, name, child, code), minute in zip(triples, last):
        first_run = since.get(parent)
        if first_run is None:
            continue
        if name == first_run[1]:
            ran.setdefault(parent, []).append(code)
        elif minute >= first_run[0] and name not in programs and name not in PLACEHOLDERS:
            later.setdefault(child, (name, parent, parent_name, []))[3].append(code)
    # positions, not masks: a crafted shell may start thousands of programs after its payload
    size = len(view.pattern_rows)
    found: dict[str, tuple[Link, str]] = {}
    for child, (name, parent, parent_name, rows) in later.items():
        how = f"{quoted(name)} started by {quoted(parent_name)} after it ran {quoted(programs[since[parent][1]])}, a program written in this subgraph"
        found[child] = (Link(how, np.unique(np.array(rows + ran[parent], dtype=np.int64)), size), name)
    return found


def _find_chain(view: LogView, channels: bool) -> tuple[Chain, Chain]:
    graph = _graph(view)
    found: dict[str, Link] = {}
    names: dict[str, str] = {}
    compromised: dict[str, Link] = {}  # launchers that started a chain (by key)
    compromised_names: dict[str, str] = {}
    launchers: dict[str, bool] = {}
    for parent_name, child_name, parent, child in graph.edges:
        launcher = launchers.get(parent_name)
        if launcher is None:
            launcher = launchers[parent_name] = is_launcher(parent_name)
        if launcher and child_name != parent_name and chain_child(child_name):
            rows = _edge_rows(view, parent, child, parent_name, child_name)
            if child not in found:
                found[child], names[child] = Link(f"{quoted(child_name)} started by {quoted(parent_name)}", rows), child_name
            if parent not in compromised:
                compromised[parent], compromised_names[parent] = Link(f"{quoted(parent_name)}, which started {quoted(child_name)}", rows), parent_name
    for dropped, process, rows in dropped_programs(view):
        if _BY_NAME + process not in found:
            found[_BY_NAME + process], names[_BY_NAME + process] = Link(f"{quoted(dropped)}, a program written in this subgraph and run", rows, len(view.pattern_rows)), process
    for (channel, member), rows in sorted(command_channels(view).items()) if channels else ():
        if member not in found:
            found[member], names[member] = Link(f"{quoted(channel)}, which holds a command-and-control channel", rows, len(view.pattern_rows)), channel
    _walk(view, found, names)
    # read after the chain's other starts: a process they already reach keeps that path
    later = {key: link for key, link in _started_after_a_dropped_program(view, dropped_programs(view)).items() if key not in found}
    if later:
        for key, (link, name) in later.items():
            found[key], names[key] = link, name
        _walk(view, found, names)
    return _chain(found, names), _chain(compromised, compromised_names)


def launchers_by_name(view: LogView) -> dict[str, frozenset[str]]:
    """Each process name -> the names the log shows starting it, over the whole log
    (computed once per view: a rule asking about thousands of programs reads this map)."""

    def compute() -> dict[str, frozenset[str]]:
        starts = _graph(view).named_starts
        if starts is None or not len(starts.codes):
            return {}
        found: dict[str, set[str]] = {}
        for parent, child in zip(view.desc["subject_name"][starts.codes].tolist(), starts.names.tolist()):
            if parent and parent != child:
                found.setdefault(child, set()).add(parent)
        return {child: frozenset(parents) for child, parents in found.items()}

    return view.derived("_launchers_by_name", compute)


def launchers_above(view: LogView, name: str, through: Callable[[str], bool] | None = None) -> set[str]:
    """Every process name the log shows starting ``name``, or one of those in turn, over the
    whole log (``launchers_by_name``); with ``through``, the walk goes on only above the
    launchers it accepts (an implant's shell: up through operator tools only)."""
    parents = launchers_by_name(view)
    seen: set[str] = set()
    frontier = {name}
    while frontier:
        above = {a for n in frontier for a in parents.get(n, ())} - seen
        seen |= above
        frontier = above if through is None else {a for a in above if through(a)}
    return seen


def ancestors_by(view: LogView, names: set[str], until: int) -> set[str]:
    """The names of the processes the log shows starting one of ``names``, or one of those in
    turn, by the minute ``until`` (nanoseconds): by name, as OCR-APT's CSV names every ``sh``
    as one, so a later start (cron running ``sh`` an hour after) is no parent of earlier work."""
    starts = _graph(view).named_starts
    if starts is None or not len(starts.codes):
        return set()
    in_time = view.first_minutes[starts.codes] <= until
    parents = view.desc["subject_name"][starts.codes][in_time].tolist()
    children = starts.names[in_time].tolist()
    parents_of: dict[str, set[str]] = {}
    for parent, child in zip(parents, children):
        if parent and parent != child:
            parents_of.setdefault(child, set()).add(parent)
    found: set[str] = set()
    frontier = set(names)
    for _ in range(_MAX_DEPTH):
        grown = {p for n in frontier for p in parents_of.get(n, ()) if p not in found and p not in names}
        if not grown:
            break
        found |= grown
        frontier = grown
    return found


def descendant_names(view: LogView, parent: str, limit: int) -> set[str] | None:
    """The names of the processes the log shows a process named ``parent`` starting, or one
    of theirs in turn (by name), with ``parent``; None when the walk meets more than
    ``limit`` starts (a caller weighing a small tree, such as an installer's, reads that as
    no such tree: the work an input can cause stays bounded)."""
    kids = _graph(view).kids
    found, frontier, seen = {parent}, [parent], 0
    for _ in range(_MAX_DEPTH):
        grown = []
        for name in frontier:
            edges = kids.get(_BY_NAME + name, ())
            seen += len(edges)
            if seen > limit:
                return None
            grown += [child for _, child, _ in edges if child and child not in found]
        if not grown:
            break
        found.update(grown)
        frontier = sorted(set(grown))
    return found


def unknown_programs_started_by(view: LogView, categories: frozenset[str]) -> list[tuple[str, str, np.ndarray]]:
    """Each (parent, child, descriptions as positions) where a process of one of ``categories`` (the
    knowledge base's) started a program the knowledge base does not know, not one of its own
    name (a browser's renderer): a mail client running an attachment, a browser running what
    an exploit or the user fetched."""
    found = []
    for parent_name, child_name, parent, child in _graph(view).edges:
        if child_name in PLACEHOLDERS or child_name.casefold() == parent_name.casefold():
            continue
        if process_category(parent_name) in categories and lookup(child_name, "process") is None:
            found.append((parent_name, child_name, _edge_positions(view, parent, child, parent_name, child_name)))
    return found


def compromised_launchers(view: LogView) -> Chain:
    """Launchers the log shows starting an attack chain (a browser that started a shell),
    and writers of the programs dropped and run that are launchers (a browser, a mail client
    that wrote one): such a client is not doing only its ordinary work. By process where the
    input identifies processes (``Chain.members``), as ``attack_chain``."""
    chain, launchers = _chain_and_launchers(view, channels=False)
    found, members = Chain(launchers), dict(launchers.members)
    file_writes = view.present & view.desc_in("event", ("file_write", "file_create"))
    subjects = view.desc["subject_name"]
    for dropped, link in chain.items():
        if link.how.endswith("a program written in this subgraph and run"):
            positions = link.positions
            writes = positions[file_writes[positions]]
            for writer in sorted(w for w in set(subjects[writes].tolist()) if w and is_launcher(w)):
                wrote = Link(f"{quoted(writer)}, which wrote {quoted(dropped)} that then ran", link.stored, link.size)
                found.setdefault(writer, wrote)
                for member in _keys_of(view, writes[subjects[writes] == writer], writer):
                    members.setdefault(member, wrote)
    found.members = members
    return found


def chain_links(view: LogView, chain: dict[str, Link], descriptions: np.ndarray) -> list[Link]:
    """The links of ``chain``'s processes that are the subject of these descriptions (a mask
    over descriptions), each once: by entity where the input identifies processes, by name
    where it does not (or ``chain`` is a plain dict of names)."""
    members = getattr(chain, "members", None)
    if members is None or not _graph(view).identified:
        return [chain[n] for n in sorted(view.values("subject_name", descriptions)) if n in chain]
    found: dict[str, Link] = {}
    for key, name in sorted(_subjects_behind(view, descriptions)):
        link = members.get(key) or members.get(_BY_NAME + name)
        if link is not None:
            found.setdefault(link.how, link)
    return list(found.values())


def acting_subjects(view: LogView, chain: dict[str, Link], descriptions: np.ndarray, routine) -> np.ndarray:
    """The descriptions (a mask) whose subject is a process behind ``descriptions`` that is
    not routine: one whose name ``routine`` does not hold, or one of ``chain`` (acting for an
    attacker). By entity where the input identifies processes (a user's ``ssh`` beside an
    implant's: only the implant's rows), by name where it does not."""
    members = getattr(chain, "members", None)
    if members is None or not _graph(view).identified:
        keep = {n for n in view.values("subject_name", descriptions) if not routine(n) or n in chain}
        return view.desc_in("subject_name", keep)
    keep = {key for key, name in _subjects_behind(view, descriptions) if not routine(name) or key in members or _BY_NAME + name in members}
    return _subjects_in(view, keep)


def _subjects_behind(view: LogView, descriptions: np.ndarray) -> set[tuple[str, str]]:
    """(key, name) of each process that is the subject of a present row of these
    descriptions (a mask over descriptions), where the input identifies processes."""
    timeline = view.facts.timeline
    if not len(timeline.triple_description):
        return set()
    at = descriptions[timeline.triple_description] & view.present[timeline.triple_description]
    keys = _subject_keys(view)[at]
    names = timeline.table.triples["subject_name"][at]
    return set(zip(keys.tolist(), names.tolist()))


def merged(*chains: Chain) -> Chain:
    """One chain of several: names and members, a later chain's entry winning as in a dict
    merge."""
    found, members = Chain(), {}
    for chain in chains:
        found.update(chain)
        members.update(chain.members)
    found.members = members
    return found


def dropped_programs(view: LogView) -> list[tuple[str, str, np.ndarray]]:
    """(program, the name its process has, positions of the descriptions of its writes and
    runs) for each program the subgraph wrote and ran (``_dropped``), computed once per view:
    the attack chain (with and without channels) and the Command and Control rule read them."""

    def compute() -> list[tuple[str, str, np.ndarray]]:
        desc = view.desc
        run = set(desc["object_name"][_graph(view).starts]) | set(desc["subject_name"][view.present])
        return [
            (dropped, _run_as(view, np.array([dropped], dtype=object))[0], rows)
            for dropped, rows in sorted(_dropped(view, run).items())
        ]

    return view.derived("_dropped_programs", compute)


def _dropped(view: LogView, run: set[str]) -> dict[str, np.ndarray]:
    """Programs the subgraph wrote (not a package manager, vendor updater or Windows
    servicing, nor a build from source or an application updating itself, whose ordinary
    work that is) that run as processes in it, each with the positions of the
    descriptions of its writes and its runs."""
    from .stages import explained_rows

    desc = view.desc
    # a file renamed to the name that then runs was put in place under it (an implant moving
    # itself to a new name and starting that copy)
    renamed = view.present & (view.desc["event"] == "file_rename") & (view.desc["object_kind"] == "file")
    written = (_file_writes(view) | renamed) & view.desc_in("object_name", run - PLACEHOLDERS)
    if not written.any():
        return {}
    routine = view.desc_where("subject_name", lambda n: routine_writer(n) or log_rotator(n), written) | build_writes(view)
    routine |= self_update_writes(view)
    # a tool the knowledge base knows unpacking its own 64-bit build and running it (Process
    # Explorer's procexp64.exe): the tool itself at work, not a program brought in
    routine |= view.pattern_flags(lambda r: bool(r.subject) and process_category(r.subject) not in (None, *ATTACK_TOOLS) and own_64_bit_build(r.subject, r.object), written & ~routine)
    # Windows servicing installing its binaries, a vendor updater's installer and the setup
    # program it writes and starts; without the mechanisms' attack-chain exception: the
    # chain is what this helps find
    routine |= explained_rows(view, "Initial Compromise", written & ~routine, attack_exception=False)
    # vendor software a user or administrator unpacked from its download and put in place
    from .structural import vendor_software_unpacked

    routine |= vendor_software_unpacked(view, written & ~routine)
    kept = written & ~routine
    kept &= ~view.desc_in("object_name", agent_deployed_programs(view))
    running = view.program_starts
    found = {}
    for program in sorted(set(desc["object_name"][kept])):
        named = view.positions_named("object_name", program)
        if _only_written_by_itself_running(view, program, named[kept[named]]):
            continue
        runs = named[running[named]]
        if not len(runs):  # runs only as a subject: its earliest row shows it running
            own = view.positions_named("subject_name", program)
            own = own[view.present[own]]
            runs = own[np.argmin(view.first_minutes[own])][None]
            last_run = int(view.last_minutes[own].max())
        else:
            last_run = int(view.last_minutes[runs].max())
        writes = named[kept[named]]
        # written only after its last run: put in place after use (install(1) copying a
        # program just built and tried to its folder), not a program written and then run
        if int(view.first_minutes[writes].min()) > last_run:
            continue
        found[program] = np.union1d(writes, runs)
    return found


def agent_deployed_programs(view: LogView) -> set[str]:
    """Programs a systems-management agent deployed: every start of each is by a management
    agent (Configuration Manager's CcmExec, Intune's), and every write of it by such an agent
    or a Windows system process (the transfer service, BITS in its service host, fetching the
    agent's content from its distribution point): the agent's package run, not a program an
    intruder dropped; computed once per view. An agent the log shows started by an attack is
    weighed by the attack chain itself."""

    def compute() -> set[str]:
        desc = view.desc
        starts = view.program_starts & ~view.desc_in("object_name", PLACEHOLDERS)
        if not starts.any():
            return set()
        agent = view.desc_where("subject_name", lambda n: process_category(n) == "management agent", starts)
        started = view.values("object_name", starts & agent) - view.values("object_name", starts & ~agent)
        if not started:
            return set()
        writes = (_file_writes(view) | (view.present & (desc["event"] == "file_rename") & (desc["object_kind"] == "file"))) & view.desc_in("object_name", started)
        writers_ok = view.desc_where("subject_name", lambda n: process_category(n) in ("management agent", "windows system process"), writes)
        return started - view.values("object_name", writes & ~writers_ok)

    return view.derived("_agent_deployed_programs", compute)


def _only_written_by_itself_running(view: LogView, program: str, writes: np.ndarray) -> bool:
    """Whether every write of a file named ``program`` (``writes``: description positions) is
    by a process of that name already running by then: crontab -e writing its temporary copy
    (also named crontab) is no program dropped and run, only a name shared by chance."""
    desc = view.desc
    if not len(writes) or any(desc["subject_name"][w] != program for w in writes.tolist()):
        return False
    own = view.positions_named("subject_name", program)
    own = own[view.present[own]]
    return bool(len(own)) and int(view.first_minutes[own].min()) <= int(view.first_minutes[writes].min())


def command_channels(view: LogView) -> dict[tuple[str, str], np.ndarray]:
    """Processes the Command and Control rules find holding a channel (a sustained exchange,
    or one an operator's commands ran under: ``operator_commands_over_a_channel``), each (name, key) with
    the descriptions (positions, sorted) of its outbound rows that the finding cites: a few
    positions per channel, not a mask over every description each (a crafted log of
    thousands of channels)."""
    from .structural import command_and_control, operator_commands_over_a_channel

    found: dict[tuple[str, str], list[np.ndarray]] = {}
    desc = view.desc
    for finding in command_and_control(view) + operator_commands_over_a_channel(view):
        if finding.positions is None or not len(finding.positions):
            continue
        codes = view._codes[finding.positions]
        codes = codes[desc["event"][codes] == "network_out"]
        for who in sorted(set(desc["subject_name"][codes]) - {""}):
            own = codes[desc["subject_name"][codes] == who]
            for member in _keys_of(view, own, who):
                found.setdefault((who, member), []).append(own)
    return {key: np.unique(np.concatenate(parts)) for key, parts in found.items()}


def _keys_of(view: LogView, codes: np.ndarray, name: str) -> list[str]:
    """The processes (keys) behind the descriptions ``codes``, all named ``name``."""
    if not _graph(view).identified:
        return [_BY_NAME + name]
    order, bounds = _triples_by_description(view)
    triples = np.concatenate([order[bounds[c] : bounds[c + 1]] for c in np.unique(codes).tolist()]) if len(codes) else order[:0]
    return sorted(set(_subject_keys(view)[triples].tolist()))


def _triples_by_description(view: LogView) -> tuple[np.ndarray, np.ndarray]:
    """The input's triples sorted by their description, and where each description's start:
    description ``c``'s triples are ``order[bounds[c]:bounds[c + 1]]`` (a look-up per
    description, not a pass over every triple per caller)."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        described = view.facts.timeline.triple_description
        order = np.argsort(described, kind="stable")
        return order, np.searchsorted(described[order], np.arange(len(view.pattern_rows) + 1))

    return view.derived("_triples_by_description", compute)


def powershell_rule_rows(view: LogView) -> np.ndarray:
    """Descriptions of the log that the rule ``execution-powershell`` matches."""
    return view.table.rule(builtin_rule("execution-powershell")) & view.present


def powershell_signs(view: LogView) -> np.ndarray:
    """Descriptions showing PowerShell running inside their subject (shell commands, its
    script-policy test files, its automation library loaded), by the rule
    ``execution-powershell``; starting ``powershell.exe`` is not running it inside."""
    return powershell_rule_rows(view) & ~view.desc_in("event", ("process_start", "execute"))


def runs_powershell(view: LogView) -> set[str]:
    """Processes the log shows running PowerShell inside them (``powershell_signs``)."""
    return view.values("subject_name", powershell_signs(view)) - {""}


def hijacked_loaders(view: LogView) -> dict[str, tuple[str, str, np.ndarray]]:
    """Each process (by name) that loaded a module written in the subgraph, by a shell, script
    host or Windows admin tool, under the name of a Windows system library, at or after that
    write: -> (library, writer, positions of the write and load descriptions). A library
    planted where a program finds it before the system's own (DLL search-order hijacking,
    T1574.001); Windows servicing and installers write system libraries, shells do not. What
    counts is the stage screen's own ``planted_libraries`` (stage_support.yaml), which the
    finding's rows must pass. Computed once per view."""
    from ..grounding.semantic import is_planted_library

    def compute() -> dict[str, tuple[str, str, np.ndarray]]:
        loaded = view.values("object_name", view.present & (view.desc["event"] == "module_load"))
        writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_name", loaded)
        # (the screen's test per row only for the writes of loaded modules)
        writes &= view.pattern_flags(lambda row: is_planted_library(row.subject, row.object), writes)
        return libraries_loaded_after_written(view, writes)

    return view.derived("_hijacked_loaders", compute)


def libraries_loaded_after_written(view: LogView, writes: np.ndarray) -> dict[str, tuple[str, str, np.ndarray]]:
    """Each process (by name) that loaded a module one of ``writes`` (descriptions of file
    writes) wrote, at or after that module's first write and not being its writer: ->
    (library, writer, positions of the write and load descriptions), for its first such
    load. One pass over the writes and one over the loads."""
    desc = view.desc
    loads = view.present & (desc["event"] == "module_load") & (desc["subject_name"] != "")
    if not loads.any() or not writes.any():
        return {}
    writes = writes & view.desc_in("object_name", view.values("object_name", loads))
    first_write: dict[str, tuple[int, str, int]] = {}
    for at in np.flatnonzero(writes).tolist():
        name, minute = desc["object_name"][at].casefold(), int(view.first_minutes[at])
        if name not in first_write or minute < first_write[name][0]:
            first_write[name] = (minute, desc["subject_name"][at], at)
    found: dict[str, tuple[str, str, np.ndarray]] = {}
    for at in np.flatnonzero(loads).tolist():
        library, loader = desc["object_name"][at], desc["subject_name"][at]
        planted = first_write.get(library.casefold())
        if planted is None or loader == planted[1] or int(view.last_minutes[at]) < planted[0] or loader in found:
            continue
        found[loader] = (library, planted[1], np.array(sorted({at, planted[2]}), dtype=np.int64))
    return found


# the service control manager, which starts every service (the service host among them)
SERVICE_CONTROL_MANAGER = "services.exe"


def service_registration(view: LogView) -> np.ndarray:
    """The descriptions (a mask) by which the log shows a service registered or changed: a
    service installed, ``sc.exe`` started, the service control manager writing a key (its
    own service key), or any process writing a service's ``ImagePath`` value (the program
    the service runs; only services and drivers have one), as a program installing itself as
    a service does. Not ``sc.exe`` where every row of its own that the log shows starts a
    service (``sc start NAME``) or opens the service control manager, which every sc command
    does: the log keeps no command line, but those rows say what it did."""
    desc = view.desc
    manager = view.desc_where("subject_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER)
    writes = desc["event"] == "registry_write"
    found = view.present & ((desc["event"] == "service_install") | (manager & writes))
    found |= view.present & writes & view.desc_where("object_name", lambda n: n.casefold() == "imagepath")
    sc = view.program_starts & view.desc_where("object_name", lambda n: n.casefold() == "sc.exe", view.program_starts)
    if sc.any():
        own = view.present & view.desc_where("subject_name", lambda n: n.casefold() == "sc.exe", view.present)
        starting = (desc["event"] == "service_start") | ((desc["event"] == "process_access") & view.desc_where("object_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER))
        if own.any() and starting[own].all():
            return found
    return found | sc


def started_service_hosts(view: LogView) -> np.ndarray:
    """The descriptions (present) of the service control manager starting the service host
    (``svchost.exe``)."""
    manager = view.desc_where("subject_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER)
    return view.program_starts & manager & view.desc_where("object_name", lambda n: n.casefold() == TASK_SERVICE_HOST, view.program_starts)


def service_dll_hosts(view: LogView) -> dict[str, tuple[str, str, np.ndarray]]:
    """The service host (``svchost.exe``), where the service control manager started it and
    then it loaded a DLL a shell, script host or admin tool (``planter``) wrote in the
    subgraph, while the log shows a service registered or changed (``service_registration``):
    -> (DLL, writer, positions of the write and load
    descriptions), as ``hijacked_loaders``. A svchost service's ``ServiceDll`` pointed at
    planted code (T1543.003), which then runs inside the host. Computed once per view."""

    def compute() -> dict[str, tuple[str, str, np.ndarray]]:
        desc = view.desc
        hosts = view.desc_where("subject_name", lambda n: n.casefold() == TASK_SERVICE_HOST)
        loads = view.present & hosts & (desc["event"] == "module_load")
        started = started_service_hosts(view)
        if not loads.any() or not started.any():
            return {}
        if not service_registration(view).any():
            return {}
        writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_name", view.values("object_name", loads))
        writes &= view.desc_where("subject_name", planter, writes)
        since = int(view.first_minutes[started].min())
        # each loaded DLL's loads, grouped once (a crafted log may plant thousands)
        loads_of: dict[str, list[int]] = {}
        for at in np.flatnonzero(loads).tolist():
            loads_of.setdefault(desc["object_name"][at], []).append(at)
        for at in np.flatnonzero(writes).tolist():
            library, writer = desc["object_name"][at], desc["subject_name"][at]
            after = max(since, int(view.first_minutes[at]))
            load = next((load for load in loads_of.get(library, ()) if int(view.last_minutes[load]) >= after), None)
            if load is not None:
                return {desc["subject_name"][load]: (library, writer, np.array(sorted({at, load}), dtype=np.int64))}
        return {}

    return view.derived("_service_dll_hosts", compute)


def proxy_loaders(view: LogView) -> dict[str, tuple[str, str, np.ndarray]]:
    """Each process (by name) that a shell, script host or Windows admin tool started and that
    then loaded a module that same process wrote in the subgraph, at or before the load:
    -> (module, starter, positions of the write, start and load descriptions), as
    ``hijacked_loaders``. The module's code runs inside a program of another name (signed
    binary proxy execution, T1218: wscript writing a DLL to Temp and starting wuauclt to load
    it). Installers, updaters and builds write the modules of the programs they start; a
    script does not. Computed once per view."""

    def compute() -> dict[str, tuple[str, str, np.ndarray]]:
        desc = view.desc
        loads = view.present & (desc["event"] == "module_load") & (desc["subject_name"] != "") & ~view.desc_in("object_name", PLACEHOLDERS)
        if not loads.any():
            return {}
        starts = view.program_starts & view.desc_in("object_name", view.values("subject_name", loads))
        # (who writes a module and starts a Windows program to run it, wuauclt or rundll32:
        # scripts and shells, ``_ORCHESTRATING``)
        starts &= view.desc_where("subject_name", lambda n: process_category(n) in _ORCHESTRATING, starts)
        if not starts.any():
            return {}
        writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", view.values("subject_name", starts))
        writes &= view.desc_in("object_name", view.values("object_name", loads))
        # each module's writers (-> first minute, description) and each loader's starters (->
        # a start's description); a load checks the smaller of its two sets (a crafted log of
        # thousands of starts and loads of one program costs no product)
        writers_of: dict[str, dict[str, tuple[int, int]]] = {}
        for at in np.flatnonzero(writes).tolist():
            mine, minute = writers_of.setdefault(desc["object_name"][at].casefold(), {}), int(view.first_minutes[at])
            writer = desc["subject_name"][at]
            if writer not in mine or minute < mine[writer][0]:
                mine[writer] = (minute, at)
        starters_of: dict[str, dict[str, int]] = {}
        for at in np.flatnonzero(starts).tolist():
            starters_of.setdefault(desc["object_name"][at], {}).setdefault(desc["subject_name"][at], at)
        found: dict[str, tuple[str, str, np.ndarray]] = {}
        for at in np.flatnonzero(loads).tolist():
            loader, module = desc["subject_name"][at], desc["object_name"][at]
            if loader in found:
                continue
            writers, starters = writers_of.get(module.casefold(), {}), starters_of.get(loader, {})
            both = [n for n in (starters if len(starters) <= len(writers) else writers) if n in writers and n in starters]
            for starter in sorted(both):
                planted = writers[starter]
                if int(view.last_minutes[at]) >= planted[0]:
                    found[loader] = (module, starter, np.array(sorted({planted[1], starters[starter], at}), dtype=np.int64))
                    break
        return found

    return view.derived("_proxy_loaders", compute)


def install_script_thefts(view: LogView) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each interpreter a package manager started, itself or through a shell (npm's
    ``install.js`` under node, pip's ``setup.py``), that read a secret credential store (a
    private key, another program's token) and then, by the minute, sent to an outside
    address the package manager did not reach: (log rows of the manager's starts of it or
    of its shell, of the reads, of the sends). A package's build reads its own sources and
    reaches its index; no install script reads the user's SSH key. Computed once per view:
    the attack chain and the way-in rule read it."""
    return view.derived("_install_script_thefts", lambda: _find_install_script_thefts(view))


def _find_install_script_thefts(view: LogView) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    from .events import vocabulary

    desc = view.desc
    starts = view.program_starts
    managers = starts & view.desc_where("subject_name", lambda n: process_category(n) == "package manager", starts)
    if not managers.any():
        return {}
    started = view.values("object_name", managers)
    scripts = {n for n in started | view.values("subject_name", descendant_subjects(view, started)) if process_category(n) == "interpreter"}
    reads = view.present & view.desc_in("subject_name", scripts) & (desc["event"] == "file_read")
    reads &= view.desc_where("object_name", secret_credential, reads)
    if not reads.any():
        return {}
    flows = view.present & (desc["object_kind"] == "flow") & (desc["object_name"] != "") & ~view.desc_in("object_name", PLACEHOLDERS)
    index = view.values("object_name", flows & view.desc_in("subject_name", view.values("subject_name", managers)))
    sends = flows & view.desc_in("subject_name", view.values("subject_name", reads)) & (desc["event"] == "network_out")
    sends &= ~view.desc_in("action", vocabulary().connect_actions)
    sends &= view.desc_where("object_name", lambda a: a not in index and view.address_class(a) == "public", sends)
    found = {}
    scripts_sending = view.values("subject_name", sends)
    if not scripts_sending:
        return found
    # each script's rows, and who of the manager's children started it, in one pass each
    read_rows, send_rows, manager_rows = view.rows_of(reads), view.rows_of(sends), view.rows_of(managers)
    reads_of = _rows_by_key(desc["subject_name"][view._codes[read_rows]].tolist(), read_rows)
    sends_of = _rows_by_key(desc["subject_name"][view._codes[send_rows]].tolist(), send_rows)
    below_managers = starts & view.desc_in("subject_name", started) & view.desc_in("object_name", scripts_sending)
    parents_of: dict[str, set[str]] = {}
    for parent, child in zip(desc["subject_name"][below_managers].tolist(), desc["object_name"][below_managers].tolist()):
        parents_of.setdefault(child, set()).add(parent)
    started_by_manager = _rows_by_key(desc["object_name"][view._codes[manager_rows]].tolist(), manager_rows)
    for script in sorted(scripts_sending):
        mine_read, mine_sent = reads_of[script], sends_of[script]
        mine_sent = mine_sent[view.minutes[mine_sent] >= view.minutes[mine_read].min()]
        if not len(mine_sent):
            continue
        # the manager's start of the script, or of the shell that started it
        parents = ({script} | parents_of.get(script, set())) & set(started_by_manager)
        starts_rows = np.sort(np.concatenate([started_by_manager[p] for p in parents])) if parents else manager_rows[:0]
        found[script] = (starts_rows, mine_read, mine_sent)
    return found


def _rows_by_key(keys: list, rows: np.ndarray) -> dict:
    """Each key -> the ``rows`` at the positions where ``keys`` holds it (in order), an array."""
    return {key: np.array(value, dtype=rows.dtype) for key, value in _lists_by_key(keys, rows.tolist()).items()}


def _lists_by_key(keys, items) -> dict:
    """Each key -> the ``items`` at the positions where ``keys`` holds it (in order)."""
    found: dict = {}
    for key, item in zip(keys, items):
        found.setdefault(key, []).append(item)
    return found


def acting_for_an_attacker(view: LogView, channels: bool = True) -> Chain:
    """``attack_chain`` plus the processes running PowerShell inside them (said so, citing
    those rows); computed once per view."""
    return view.derived(f"_acting_for_an_attacker_{channels}", lambda: _acting_for_an_attacker(view, channels))


def _acting_for_an_attacker(view: LogView, channels: bool) -> Chain:
    chain = attack_chain(view, channels)
    found, names = dict(chain.members), {}
    signs = powershell_signs(view)
    # each process's sign descriptions, gathered once (a mask per process made thousands of
    # processes running PowerShell cost their product), kept as positions
    by_name: dict[str, list[int]] = {}
    for at, subject in zip(np.flatnonzero(signs).tolist(), view.desc["subject_name"][signs].tolist()):
        by_name.setdefault(subject, []).append(at)
    size = len(view.pattern_rows)
    for name in sorted(runs_powershell(view)):
        own = np.array(by_name.get(name, ()), dtype=np.int64)
        for member in _keys_of(view, own, name):
            if member not in found:
                found[member], names[member] = Link(f"{quoted(name)} running PowerShell", own, size), name
    # and a program that loaded a library a shell planted under a Windows library's name: the
    # planted code runs inside it (OneDrive.exe loading the version.dll PowerShell wrote); and
    # the service host running a DLL a shell planted and registered as a service; and a
    # program a script started to load the module that script wrote (``proxy_loaders``)
    # and a package's install script stealing the user's secrets (``install_script_thefts``)
    for name, (started_rows, read_rows, send_rows) in sorted(install_script_thefts(view).items()):
        own = np.unique(view._codes[np.concatenate([read_rows, send_rows])])
        for member in _keys_of(view, own, name):
            if member not in found:
                found[member], names[member] = Link(f"{quoted(name)}, a package's install script, reading the user's secrets and sending them to an address its package manager did not reach", own, size), name
    loaded = [
        (how, name, library, writer, own)
        for how, loaders in (("a Windows library's name", hijacked_loaders(view)), ("a service's DLL", service_dll_hosts(view)), ("a module", proxy_loaders(view)))
        for name, (library, writer, own) in sorted(loaders.items())
    ]
    for how, name, library, writer, own in loaded:
        for member in _keys_of(view, own[view.desc["subject_name"][own] == name], name):
            if member not in found:
                found[member], names[member] = Link(f"{quoted(name)}, which loaded {quoted(library)}, {how} {quoted(writer)} wrote in this subgraph", own, size), name
    if not names:
        return chain
    acting = Chain(chain)
    for member, name in names.items():
        acting.setdefault(name, found[member])
    acting.members = found
    return acting
