"""Structural rules: behaviour a single log row cannot show (sweeps, beacons, sequences).

Each rule reads a :class:`~aptnarrate.rules.stages.LogView` and returns a list of
``StageEvidence``; each names its ATT&CK tactic and techniques. Network shape is judged
before address class: a fan-out sweep is reconnaissance whatever the addresses are.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Callable, Hashable, NamedTuple, TypeVar

import numpy as np

from ..arrays import distinct, factorize
from ..preprocess.knowledge import is_library, library_stem, lookup
from ..preprocess.rank import ATTACK_TOOLS
from ..wording import quoted
from .benign import mechanisms_for
from .events import names_this_host, vocabulary
from .lineage import (
    acting_for_an_attacker, acting_subjects, ancestors_by, archiving_sender, attack_chain, build_outputs, build_writes, self_updates, release_package_writers, package_restorers, service_registration, started_service_hosts, SERVICE_CONTROL_MANAGER, chain_links, code_runner, chain_child, compromised_launchers, descendant_names, descendant_subjects, launchers_by_name, hijacked_loaders, dropped_programs, is_launcher, in_chain, reads_its_code, runs_what_it_reads, merged,
    ARCHIVE, PLACEHOLDERS, command_channels, launchers_above, powershell_rule_rows, powershell_signs, runs_powershell,
    archiver, compressor, own_64_bit_build, quarantining_scanner, shell_or_interpreter, supply_chain_host, script_web_server, web_server, mode_preserving_copier, reads_own_credential_store, roles, own_file_cleaner, process_category, routine_channel, routine_writer, session_client, connectivity_check, domain_controller_client, unknown_programs_started_by, routine_fan_out, user_application, privileged_loader, planter, remote_command_tool, remote_session_host, process_family, script_running_agent, processes_identified, secret_credential, local_copier, build_tool, pager_or_editor, agent_deployed_programs, log_rotator, install_script_thefts, libraries_loaded_after_written, _rows_by_key, _lists_by_key,
)
from .patterns import BACKUP_SUFFIXES, CREDENTIAL_PROCESS, SYSTEM_PROCESSES, TASK_SERVICE_HOST, builtin_rule, root_only_stores, task_definition_name
from .profiles import public_resolvers

if TYPE_CHECKING:  # pragma: no cover
    from .stages import LogView

from .fanout import MINUTE_NS, _ipv4
from .stages import _INSTALLED_CATEGORIES, NET_COMMANDS, StageEvidence, heard_before_opening, net_starts, _in_chain, _inbound_from_another_host, _names, arrival, checks_its_own_elevation, cited, explained_rows, unless_rows

C2_MIN_MINUTES = 3  # outbound exchange with one address in at least this many minutes, or
C2_MIN_TWO_WAY_MINUTES = 2  # sent and received (or sent while shell commands ran) within each of
# this many minutes (minutes, not event-seconds: the same exchange logged twice as densely is
# the same channel)
C2_MIN_MASKED_MINUTES = 2  # outbound minutes that make a channel for a process masquerading as another
STAGED_UPLOAD_MINUTES = 5  # an exchange over within these minutes of its first, after its process read a staged archive, is its upload
C2_MIN_SHARE = 0.5  # of the subject's traffic to non-internal addresses
CHECK_IN_SECONDS = 2  # event-seconds of sending in a minute that a check-in, not an upload, takes
BULK_SECONDS_PER_MINUTE = 6  # a one-way run this dense (a send every 10 s or more often) is a transfer
# the tools that ask a name server a question: what they send leaves through any resolver
DNS_QUERY_TOOLS = frozenset({"nslookup", "nslookup.exe", "dig", "host", "drill"})
EXFIL_MIN_SECONDS = 5  # data seen leaving in fewer distinct seconds is not called exfiltration (unless archived first)
# knowledge-base categories of files that configure the system rather than run as a tool
CONFIGURATION_FILES = frozenset({"persistence location", "credential store"})
# knowledge-base categories of the host's records and data files: a change of their mode or
# times (touch -r on a login record) is tampering or upkeep, not a tool made executable
RECORD_FILES = frozenset({"log file", "login records", "system information file", "application data", "package database"})
# a log by its name (``access.log``, a rotated ``error.log.1``): logrotate creating it anew with
# its mode set arms no program
LOG_NAME = re.compile(r"\.log(\.\d+)?$", re.I)
# knowledge-base categories of software agents whose scripts do their vendor's work (a
# management agent's PowerShell calling WMI is no operator's)
AGENT_CATEGORIES = frozenset({"management agent", "monitoring agent", "security product", "software updater", "package manager", "backup agent"})
# knowledge-base categories of what an operator runs by hand on a host already reached
OPERATOR_TOOLS = frozenset({"shell", "interpreter", "windows admin tool"})
# the knowledge base's category of cryptocurrency miners, whose pool connection is their work
CRYPTOMINER = "cryptominer"
CRYPTOMINER_DRIVER = "cryptominer driver"
# what runs commands it is given (a driven shell, a launcher's payload): shells and interpreters
SHELL_CATEGORIES = frozenset({"shell", "interpreter"})
# one-shot transfer tools: a run moves a file, it holds no channel by sending alone (and
# Windows' own downloaders an intruder runs so: certutil -urlcache, bitsadmin /transfer)
TRANSFER_TOOLS = frozenset({"curl", "wget", "fetch", "curl.exe", "wget.exe", "certutil.exe", "bitsadmin.exe"})
# tools that send whatever they are given over a bare connection
RAW_SOCKET_TOOLS = frozenset({"nc", "ncat", "netcat", "socat", "nc.exe", "ncat.exe"})
# the system's password hashes (as the credential-access-shadow-read rule names them, and
# Windows' account and domain databases)
PASSWORD_HASH_STORES = frozenset({"shadow", "gshadow", "master.passwd", "spwd.db", "sam", "ntds.dit"})
EXECUTABLE = re.compile(r"\.(exe|scr|com|pif|bat|cmd|ps1|psm1|vbs|vbe|jse|hta|jar|sh|bash|py|pl|elf|bin|run|dll|msi|lnk)$", re.I)
SCRIPT_OR_BINARY = re.compile(r"\.(exe|scr|com|bat|cmd|ps1|psm1|vbs|vbe|hta|jar|sh|bash|py|pl|php|rb|elf|bin|run|so|dll)$", re.I)
# a browser's or editor's extension package (Firefox's .xpi, Chromium's .crx, VS Code's
# .vsix): code the application loads, never the user data an exfiltration carries off
EXTENSION_PACKAGE = re.compile(r"\.(xpi|crx|vsix)$", re.I)
# build definitions MSBuild and Visual Studio run (an inline task's C# in a .csproj): code a
# build runs, not a document; its sources stay data
BUILD_PROJECT = re.compile(r"\.(csproj|vbproj|fsproj|vcxproj|proj|targets|props|sln)$", re.I)
# a package manager's manifests and lock files (npm's package.json, Composer's, Cargo's, Go's,
# Maven's) and JavaScript's modules, which npm and Node read to install and run a project:
# code and its metadata, as scripts are, not the user data an exfiltration carries off
PACKAGE_CODE = re.compile(
    r"(^(package(-lock)?\.json|npm-shrinkwrap\.json|yarn\.lock|composer\.(json|lock)|gemfile(\.lock)?|cargo\.(toml|lock)|go\.(mod|sum)|pom\.xml|build\.gradle|pyproject\.toml|pipfile(\.lock)?)$|\.(js|mjs|cjs|node)$)",
    re.I,
)
# files a desktop opens by running what they name (a .desktop launcher, a Windows shortcut)
LAUNCHER_FILE = re.compile(r"\.(desktop|lnk|url|command|jnlp)$", re.I)
# Office's templates (Word's Normal.dotm): what an Office application loads as it starts, not
# a document it carries off
OFFICE_TEMPLATE = re.compile(r"\.(dot|dotx|dotm|xlt|xltx|xltm|pot|potx|potm)$", re.I)
# a program's configuration under a data format's extension (config.json, settings.yaml,
# appsettings.Production.json): what the program reads as it starts, not user data
CONFIGURATION_NAME = re.compile(r"^(app)?(config|settings|preferences)([.-][\w-]+)?\.(json|ya?ml|toml|xml)$", re.I)
# files every process reads as it runs (resources, configuration, caches, traces), never the
# user data an exfiltration carries off: Windows' localized resources (.mui), code pages, ETW
# traces, servicing manifests, drivers; Unix, Windows and Java configuration (.conf, .cfg, .ini, .properties:
# an application's .ini holding saved passwords is a credential store in the knowledge
# base), caches, message catalogs, an interpreter's compiled or library modules (Python's
# .pyc, Perl's .pm: code it loads), logs (and a Windows shortcut, .lnk: it holds a path to a
# file, not the file's data)
SYSTEM_RESOURCE = re.compile(r"\.(mui|nls|etl|mum|manifest|cat|sys|drv|ocx|cpl|ax|tlb|olb|ttf|ttc|fon|pri|rslc|conf|config|cfg|ini|properties|cache|mo|pyc|pyo|pm|log|lnk)$", re.I)
# a site's style sheets (a web server's resources, read to answer requests)
SITE_RESOURCE = re.compile(r"\.css$", re.I)
# keys and certificates (PEM, DER, PKCS#12 bundles, Java key stores, signing requests): a
# mode set on one guards a secret (chmod 600 of a renewed private key), it arms no program
KEY_OR_CERTIFICATE = re.compile(r"\.(pem|key|crt|cer|der|csr|p12|pfx|jks|keystore)$", re.I)
# a configuration file by its extension: a chmod of one (sssd.conf made private) arms nothing
CONFIGURATION_EXTENSION = re.compile(r"\.(conf|cfg|cnf|ini|yaml|yml|toml|json|xml)$", re.I)
# a temporary file or a partial download, by its extension
# a name a log or a shell history has, whatever the knowledge base knows of it
LOG_LIKE = re.compile(r"(\.(log|evtx)(\.\d+)?|_history)$", re.I)
# mktemp(1)'s default names too (tmp.Xy8Dfa0q: GNU and BSD templates)
TEMPORARY_FILE = re.compile(r"\.(tmp|temp|part|partial|crdownload|download)$|^tmp\.[A-Za-z0-9]{6,}$", re.I)
# a lock or process-id file: taken and removed by the program that holds it, never a trace
LOCK_FILE_NAMES = r"lockfile|.+\.(lock|lck|pid)"
LOCK_FILE = re.compile(rf"^({LOCK_FILE_NAMES})$")
# a name a program generates for its data, not one given to a program: a content-addressed
# (hash) cache entry, twelve hex digits or more, Chromium's block-file cache (external entries f_000a1b, block files
# data_0..data_3), a number (Firefox's doomed cache entries, spool and temporary files), a
# UUID (telemetry pings, crash reports, a job's files), LevelDB's numbered manifest, or an
# SQLite database's journal beside it (``History-journal``, ``Cookies-wal``)
DATA_NAME = re.compile(
    r"^([0-9A-Fa-f]{12,}|f_[0-9A-Fa-f]{6}|data_\d|\d+|\{?[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}?|MANIFEST-\d+|.+-(journal|wal|shm)"
    # sendmail's queue files (qf, df, tf, xf and the queue id: qfw3CAb1c9)
    r"|[dqtx]f[0-9A-Za-z]{8,16}"
    # and a lock or process-id file (procmail's lockfile, a daemon's NAME.pid)
    r"|" + LOCK_FILE_NAMES + r")$"
)
# what a compressor writes in place of the file it compressed, and then deletes (gzip, bzip2,
# xz, zstd, lz4, compress): the original is replaced, not hidden
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".lzma")
# a distribution's or a language's package files, which a package manager downloads, installs
# from and removes (Python's wheels, NuGet's, RubyGems' and Rust's packages too)
PACKAGE_FILE = re.compile(r"\.(deb|udeb|rpm|ipk|apk|pkg\.tar\.(zst|xz|gz)|whl|nupkg|gem|crate)$", re.I)
# a cache folder of a browser or application: what it holds is cached content, not programs
CACHE_FOLDER = re.compile(r"(?i)[/\\](cache2|cache|cache_data|inetcache|code cache)[/\\]")
COMPILER_TEMP = re.compile(r"^(?P<stem>.+?)\.(dll|pdb|out|err|tmp|0\.cs|cmdline)$", re.I)


def compiler_stems(names) -> frozenset[str]:
    """The stems of the .NET compiler's command-line files among ``names`` (``r2te1030`` of
    ``r2te1030.cmdline``), folded: the files of such a stem are one compile's temporaries."""
    return frozenset(m.group("stem").casefold() for n in names if str(n).lower().endswith(".cmdline") and (m := COMPILER_TEMP.match(str(n))))


# GCC's driver names its temporaries ``cc`` and six random characters, then the stage's
# suffix (the assembler input ``.s``, an object ``.o``, preprocessed ``.i``, the linker's
# ``.res``, ``.ld``, ``.le``), and removes them when the compile ends
GCC_TEMPORARY = re.compile(r"^cc[A-Za-z0-9]{6}\.(s|o|i|ii|c|res|ld|le)$")


def compiler_temporary(name: str, stems: frozenset[str]) -> bool:
    """Whether ``name`` is a temporary file of one of ``stems`` (``compiler_stems``)."""
    match = COMPILER_TEMP.match(name)
    return match is not None and match.group("stem").casefold() in stems


def this_host_addresses(view: LogView) -> set[str]:
    """Flow addresses seen only with actions that name the monitored host (OpTC inbound)."""
    return view.derived("_this_host", lambda: _this_host_addresses(view))


def _this_host_addresses(view: LogView) -> set[str]:
    desc = view.desc
    flows = (desc["object_kind"] == "flow") & (desc["object_name"] != "") & view.present
    local = view.desc_where("action", names_this_host, flows)
    return set(desc["object_name"][local]) - set(desc["object_name"][flows & ~local])


# --------------------------------------------------------------------------- network shape


def sweep_rule(view: LogView) -> list[StageEvidence]:
    out = []
    for sweep in view.sweeps:
        positions = sweep["positions"]
        links = []
        if routine_fan_out(sweep["subject"]):
            # a service host, browser or updater reaching a few hosts of its site (domain
            # controllers, file servers, DNS) is its ordinary work; a sweep only when the log
            # shows the process that swept (by entity where the input identifies processes:
            # one svchost.exe running PowerShell says nothing of another) in an attack chain
            # or running PowerShell inside it
            links = chain_links(view, acting_for_an_attacker(view), _descriptions(view, positions))
            if not links:
                continue
        who = quoted(sweep["subject"]) if sweep["subject"] else "one process"
        minutes = view.minutes[positions]
        span = (int(minutes.max()) - int(minutes.min())) // MINUTE_NS + 1
        closes = bool((view.desc["event"][view._codes[positions]] == "network_close").any())
        why = ""
        if links:
            why = f" Not its ordinary traffic: the log shows {links[0].how}."
            # the rows that show it are part of the evidence
            positions = np.union1d(positions, view.rows_of(links[0].rows))
        reason = (
            f"Network sweep: {who} reached {len(sweep['hosts'])} hosts of {sweep['subnet']} within {span} minute(s)"
            f"{' and closed each connection' if closes else ''}, the shape of a host or port scan, not of a conversation.{why}"
        )
        out.append(cited(view, positions, stage="Internal Reconnaissance", confidence="high", rationale=reason, tactic="TA0007", techniques=("T1046",)))
    return out


def neighbours_of_this_host(view: LogView, names) -> set[str]:
    """Addresses in the same /16 as an address the log shows to be this host's own: hosts of
    the same site, whatever networks were declared (said so wherever it matters)."""
    local = [ipaddress.ip_network(f"{a}/16", strict=False) for a in this_host_addresses(view) if _ipv4(a)]
    if not local:  # no address of this host in the log: no neighbour, and no name to parse
        return set()
    return {n for n in names if (ip := _ipv4(n)) is not None and any(ip in net for net in local)} - this_host_addresses(view)


def _programs_under_test(view: LogView) -> set[str]:
    """Programs a build from source in the subgraph wrote (``build_writes``, read before the
    attack chain, which rests on the channels: the caller keeps a routine channel only where
    the log shows no attacker acting on it) that the log starts, every one of their starters
    a compiler, linker or build driver (``build_tool``: Visual Studio's devenv.exe running
    the project it built)."""
    desc = view.desc
    built = view.values("object_name", build_writes(view))
    if not built:
        return set()
    starts = view.program_starts & view.desc_in("object_name", built)
    starters: dict[str, set[str]] = {}
    for at in np.flatnonzero(starts).tolist():
        starters.setdefault(desc["object_name"][at], set()).add(desc["subject_name"][at])
    return {program for program, who in starters.items() if all(w and build_tool(w) for w in who)}


def domain_controllers(view: LogView) -> frozenset[str]:
    """The addresses ``domain_controller_clients`` (roles.yaml: LSASS, nltest) send to: this
    host's domain controllers.
    A client's own authentication to another host is its process's traffic, not LSASS's.
    Computed once per view (the Command and Control rule and the pattern rules' public
    connections read it)."""

    def compute() -> frozenset[str]:
        desc = view.desc
        sent = view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow") & (desc["object_name"] != "")
        sent &= view.desc_where("subject_name", domain_controller_client, sent)
        return frozenset(view.values("object_name", sent) - this_host_addresses(view)) if sent.any() else frozenset()

    return view.derived("_domain_controllers", compute)


def _excluded_address(view: LogView, name: str, local: set[str], neighbours: set[str] = frozenset()) -> bool:
    if name in local or name in public_resolvers() or name in neighbours:
        return True
    # private (RFC 1918) addresses are another site's own hosts, as lateral movement and
    # exfiltration read them, declared internal or not
    return view.address_class(name) in ("internal", "private", "loopback", "local")


def _to_outside(view: LogView, described: np.ndarray) -> np.ndarray:
    """Those of the ``described`` descriptions whose object is a named address outside the
    site and not this host's own (``_excluded_address``)."""
    local = this_host_addresses(view)
    return described & view.desc_where("object_name", lambda n: n not in PLACEHOLDERS and not _excluded_address(view, n, local), described)


def _windows_code_runner(name: str) -> bool:
    """A Windows program (``.exe``) that runs the code it is given (``runs_what_it_reads``:
    cmd, PowerShell, the script hosts, mshta, rundll32)."""
    return name.casefold().endswith(".exe") and runs_what_it_reads(name)


def _unknown_windows_program(name: str) -> bool:
    """A Windows program (``.exe``) the knowledge base does not know."""
    return name.casefold().endswith(".exe") and _unknown(name)


def command_and_control(view: LogView) -> list[StageEvidence]:
    """Sustained exchanges with non-internal addresses (computed once per view: process
    lineage reads its channels too)."""
    return list(view.derived("_command_and_control", lambda: _command_and_control(view)))


def _command_and_control(view: LogView) -> list[StageEvidence]:
    desc = view.desc
    flows = (desc["object_kind"] == "flow") & (desc["object_name"] != "") & np.isin(desc["event"], ("network_out", "network_in"))
    flows &= view.present
    if not flows.any():
        return []
    local = this_host_addresses(view)
    # the hosts LSASS or nltest send to are this host's domain controllers (its Kerberos
    # requests, the domain's queries): hosts of the site, whatever networks were declared
    neighbours = neighbours_of_this_host(view, set(desc["object_name"][flows])) | domain_controllers(view)
    swept = {h for s in view.sweeps for h in s["hosts"]}
    excluded = view.desc_where("object_name", lambda n: _excluded_address(view, n, local, neighbours) or n in swept, flows)
    # a Windows program that runs the code it is given (PowerShell, cmd, the script hosts)
    # asking a public resolver itself: Windows programs ask the DNS Client service (in the
    # service host) for names, so such a conversation is weighed as a channel over DNS
    # (T1071.004), not taken for name lookups
    # (and so is a Windows program the knowledge base does not know: known ones that ask
    # resolvers themselves, nslookup, the browsers' own resolvers, stay name lookups)
    excluded &= ~(view.desc_in("object_name", public_resolvers()) & view.desc_where("subject_name", lambda n: _windows_code_runner(n) or _unknown_windows_program(n), flows))
    # a program written and run here keeping a conversation with a host of the site (an
    # implant driven through an internal relay, T1090.001) is weighed too, on a stricter test
    # below: a site host's runner reporting to the console that pushed it is remote execution
    dropped = {process for _, process, _ in dropped_programs(view)}
    site = excluded & view.desc_in("subject_name", dropped - {""}) if dropped else np.zeros_like(excluded)
    if site.any():
        site &= view.desc_where("object_name", lambda n: n not in local and n not in swept and view.address_class(n) in ("internal", "private"), site)
        excluded &= ~site
    remote = flows & ~excluded
    if not remote.any():
        return _loops_without_a_named_peer(view, local, set())
    # each (subject, address) pair numbered once per description, then the sums the tests
    # read per pair from the rows in one vectorised pass; only passing pairs are looked at
    pair_keys: dict[tuple[str, str], int] = {}
    pair_of = np.full(len(remote), -1, dtype=np.int64)
    for described in np.flatnonzero(remote).tolist():
        pair_of[described] = pair_keys.setdefault((desc["subject_name"][described], desc["object_name"][described]), len(pair_keys))
    n = len(pair_keys)
    positions = np.flatnonzero(view.expand(remote))
    pair = pair_of[view._codes[positions]]
    row_event = desc["event"][view._codes[positions]]
    is_sent, is_received = row_event == "network_out", row_event == "network_in"
    # TRACE records a socket's reads and writes against an unnamed source/sink: a process's
    # such messages while it holds its one connection to an address are that connection's
    held_positions, held_pair, held_sent, held_windows, by_unnamed = _unnamed_messages_on_held_connections(view, pair_keys, remote)
    # kept for the rules that weigh data sent (``held_sends``): one attribution per view
    view.derived("_held_messages", lambda: (held_positions, held_pair, held_sent, list(pair_keys)))
    view.derived("_held_windows", lambda: dict(held_windows))
    # the messages given to one of the unnamed processes' several connections by the minute
    # alone show which connection an upload went over, not that the unnamed process (many
    # processes under one name: a browser's tabs among them) keeps a channel
    if by_unnamed.any():
        held_positions, held_pair, held_sent = held_positions[~by_unnamed], held_pair[~by_unnamed], held_sent[~by_unnamed]
    is_held = np.zeros(len(positions), dtype=bool)
    if len(held_positions):
        positions = np.concatenate([positions, held_positions])
        pair = np.concatenate([pair, held_pair])
        is_sent = np.concatenate([is_sent, held_sent])
        is_received = np.concatenate([is_received, ~held_sent])
        is_held = np.concatenate([is_held, np.ones(len(held_positions), dtype=bool)])
    minutes, counts = view.minutes[positions], view.counts[positions]
    held_pairs = np.bincount(pair[is_held], minlength=n) > 0
    pair_count = _sums(pair, counts, n)
    sent_count = _sums(pair[is_sent], counts[is_sent], n)
    received_count = _sums(pair[is_received], counts[is_received], n)
    has_sent = np.bincount(pair[is_sent], minlength=n) > 0
    pair_minutes = _distinct_per_group(pair, minutes, n)
    out_minute_count = _distinct_per_group(pair[is_sent], minutes[is_sent], n)
    named_out_minutes = _distinct_per_group(pair[is_sent & ~is_held], minutes[is_sent & ~is_held], n) if is_held.any() else out_minute_count
    two_way_minutes = _two_way_minutes(pair, minutes, is_sent, is_received, n)
    # a server answering a client: the address's connections accepted, none opened to it
    served = np.bincount(pair_of[_served(view, remote)], minlength=n) > 0
    # and a login server's exchange is the session it serves (sshd's rows of a login the log
    # shows no accept of), which the movement and entry rules weigh, never its channel out
    served |= np.bincount(pair_of[remote & view.desc_in("subject_name", REMOTE_LOGIN_SERVERS)], minlength=n) > 0
    # a script host's LDAP queries to the server it reached right after loading the directory
    # client (``_directory_servers``: PowerView asking the domain controller) are a look
    # around, however long they last, not a channel
    directory = np.bincount(pair_of[_directory_servers(view, remote & (desc["event"] == "network_out"))], minlength=n) > 0
    # a routine client's pair counts only where the log shows the process on it acting for an
    # attacker (by entity where the input identifies processes: an implant's ssh channel is
    # not weighed against a user's ssh session of the same name)
    # a process whose image is an executable of another name that the knowledge base does
    # not know is not what its name says: no routine exemption, and two separate minutes of
    # contact make a channel
    masked = _masquerading(view)
    site_pair = np.bincount(pair_of[site], minlength=n) > 0 if site.any() else np.zeros(n, dtype=bool)
    # each program's start minutes, read in one pass where a site pair needs them
    # (and a download tool's: see below)
    transfer_pairs = any(subject.casefold() in TRANSFER_TOOLS for subject, _ in pair_keys)
    start_minutes = _minutes_by_subject(view, view.program_starts, "object_name") if site_pair.any() or transfer_pairs else {}
    # shells and script hosts an attack chain started (a macro's or an HTA's PowerShell): an
    # operator's stager, whose answered check-ins in two minutes are a channel as a dropped
    # program's are (the chain read without channels: this rule's own result feeds that one)
    # (not a download tool: certutil fetching twice is two transfers, not check-ins)
    stagers = {n for n in attack_chain(view, channels=False) if process_category(n) in OPERATOR_TOOLS and n.casefold() not in TRANSFER_TOOLS}
    # and the process that wrote a known application's release package (Teams' Squirrel
    # Update.exe fetching its release): the application's updater, whatever its name
    updaters = release_package_writers(view)
    # and a known program writing the versioned language packages it fetched (MSBuild's
    # NuGet restore): a build's package fetch
    updaters |= package_restorers(view)
    # and a program built from source in the subgraph that only its IDE or build driver
    # starts: the developer's program under test, talking to the server it is written for
    updaters |= _programs_under_test(view)
    routine = {subject: (routine_channel(subject) or subject in updaters) and subject not in masked for subject in {subject for subject, _ in pair_keys}}
    # a cryptominer's pool connection is its work, whoever dropped it: resource hijacking
    # (T1496), not a channel it takes commands over; a shell it drives over its traffic still
    # makes it one (``_driven_shells``)
    miners = {subject for subject in routine if subject not in masked and process_category(subject) == CRYPTOMINER}
    # or a program the knowledge base does not know that loads a miner's driver (WinRing0,
    # which XMRig loads to tune the CPU): a renamed miner
    miners |= _unknown_programs_loading_miner_drivers(view, {s for s in routine if s not in masked})
    # or one that ends the miners the knowledge base knows (XMRig): a miner killing its
    # competitors before it mines (LemonDuck, Kinsing)
    miners |= _unknown_programs_ending_miners(view, {s for s in routine if s not in masked})
    routine.update(dict.fromkeys(miners, True))
    # an unnamed connection whose close the log records under one routine client's name (a
    # browser, an updater) is that client's: its ordinary traffic, as its named pairs are
    routine_owned = _unnamed_pairs_closed_by_routine_clients(view, pair_keys, masked)
    exempt: dict | None = None
    acting_pair = np.ones(n, dtype=bool)
    if served.any() or any(routine.values()):
        exempt = _acting_clients(view)
        acting_pair = np.bincount(pair_of[remote & in_chain(view, exempt)], minlength=n) > 0
        # a server that is an attack chain's own program (a dropped implant listening for its
        # operator, a bind shell) holds a channel whichever end opened it
        served &= ~acting_pair
        if miners:
            for (subject, _), index in pair_keys.items():
                if subject in miners:
                    acting_pair[index] = False
    # a SYSTEM process code was injected into, which then acted out of its character
    # (``injected_system_process``): its exchange is the injected code's, not the service's
    injected = _injected_system_processes(view)
    injected_into = set(desc["subject_name"][view._codes[injected[1]]].tolist()) if injected is not None else set()
    opened_system = set(desc["object_name"][view._codes[injected[0]]].tolist()) if injected is not None else set()
    # so is a process any other thread was created in by code the knowledge base does not
    # know (the user's Explorer beaconing for the DLL that moved into it, T1055)
    threaded = _threaded_by_unknown_code(view)
    injected_into |= set(threaded)
    # and a process that loaded a library a shell, script host or admin tool wrote in the
    # subgraph (Explorer loading a COM-hijack DLL at the next logon): the planted code's
    planted_in = _loaded_planted_code(view)
    injected_into |= set(planted_in)
    for (subject, _), index in pair_keys.items():
        if subject in injected_into:
            acting_pair[index] = True
    # a web server answering an address that spoke first (OpTC records no accept) serves it,
    # whatever its shell does: the exploited server is no attacker's program, and the
    # requests a web shell's commands ride are the web-shell rules' to weigh
    served |= np.bincount(pair_of[_answered_requests(view, remote)], minlength=n) > 0
    opening = view.desc_in("action", vocabulary().connect_actions)  # connections opened, per description
    # the shell-command rows and their subjects, once (a passing pair reads its subject's)
    command_rows = view.rows_of(desc["event"] == "shell_command")
    command_subjects = desc["subject_name"][view._codes[command_rows]]
    command_minutes: dict[str, set] = {}
    for subject, minute in zip(command_subjects.tolist(), view.minutes[command_rows].tolist()):
        command_minutes.setdefault(subject, set()).add(minute)
    # a routine client (an updater's name) that started a command shell whose commands run in
    # minutes it sends to the address: a shell driven over its traffic, acting for an attacker
    driven = _driven_shells(view, pair_of, remote, routine, command_minutes, command_rows, command_subjects) if any(routine.values()) else {}
    for index in driven:
        acting_pair[index] = True
    # each pair's rows (indices into ``positions``, in order), each subject's replies and
    # commands: grouped once, not found by a pass over all of them per passing pair (a
    # crafted log of thousands of channels would cost their product)
    by_pair = np.argsort(pair, kind="stable")
    pair_bounds = np.searchsorted(pair[by_pair], np.arange(n + 1))
    archive_readers = _archive_readers(view)

    def staged_upload(subject: str, index: int) -> bool:
        """An exchange that begins only once its process has read the staged archive it
        carries (or the pieces cut from it) and is over within minutes: that archive's
        upload, which Data Exfiltration weighs, not a channel (a tunnel's many small
        messages, curl sending the pieces); a channel outlasts its upload."""
        carried_from = archive_readers.get(subject)
        if carried_from is None:
            return False
        mine = by_pair[pair_bounds[index] : pair_bounds[index + 1]]
        return int(minutes[mine].min()) >= carried_from and int(minutes[mine].max()) - int(minutes[mine].min()) < STAGED_UPLOAD_MINUTES * MINUTE_NS

    totals: dict[str, int] = {}
    n_addresses: dict[str, int] = {}
    for (subject, _), index in pair_keys.items():
        n_addresses[subject] = n_addresses.get(subject, 0) + 1
        # (nor do the directory queries, nor an upload of a staged archive to another
        # address: the channel's share is of the rest)
        if (routine[subject] and not acting_pair[index]) or directory[index] or staged_upload(subject, index):
            continue
        totals[subject] = totals.get(subject, 0) + int(pair_count[index])
    out = []
    claimed: set[str] = set()  # processes found holding a channel to a named address
    skipped: dict[str, bool] = {}
    # inbound rows naming this host (OpTC's replies), once
    inbound_here = (desc["object_kind"] == "flow") & (desc["event"] == "network_in") & view.desc_in("object_name", local)
    reply_rows = view.rows_of(inbound_here) if local else command_rows[:0]
    reply_subjects = desc["subject_name"][view._codes[reply_rows]]
    replies_of = _rows_by_key(reply_subjects.tolist(), reply_rows)
    commands_of = _rows_by_key(command_subjects.tolist(), command_rows)
    for key in sorted(pair_keys):
        subject, address = key
        if subject not in skipped:
            entry = lookup(subject, "process") if subject else None
            # a browser talking to many sites is browsing; the IoC table still lists them. A
            # discovery tool's traffic (net, nltest, nslookup asking a domain controller) is
            # its query, run once: the channel, if any, is its caller's
            # (a browser the log shows started by an attack's program, one that planted an
            # extension for it, is weighed address by address: its beacon is the extension's)
            browsing = entry is not None and entry.category == "browser" and n_addresses[subject] >= 3
            if browsing and exempt is not None and subject in exempt:
                browsing = not _started_by_attack_program(view, subject, exempt)
            skipped[subject] = browsing or (entry is not None and entry.category == "discovery tool")
            # a remote command tool's or remote-session host's exchange with a host (PsExec
            # and its service, WinRM's hosts, sc.exe against another host) is the remote
            # execution Lateral Movement weighs, declared network or not, not a channel
            # (the Remote Desktop client is a routine channel, weighed above)
            skipped[subject] |= bool(subject) and ((remote_command_tool(subject) and not routine_channel(subject)) or remote_session_host(subject))
            # so is WMI's provider host's, or the service control manager's, with the host
            # whose request it serves (``Win32_Process.Create``, a service created remotely)
            skipped[subject] |= subject.casefold() in REMOTE_START_SERVICES - TASK_RUNNERS
        index = pair_keys[key]
        # a service host, browser, mail client, updater or SSH client keeps talking to its
        # server: a channel only when the log shows the process on it acting for an attacker
        if skipped[subject] or served[index] or directory[index] or ((routine[subject] or index in routine_owned) and not acting_pair[index]):
            continue
        sent_sum, received_sum = int(sent_count[index]), int(received_count[index])
        if site_pair[index]:
            # with a host of the site: only a conversation in as many minutes as a one-way run
            # asks of an outside address, both ways in each, and in minutes the program was not
            # started in (a tool run again for each query, as an AD query tool asking the domain
            # controller, is no channel)
            mine = by_pair[pair_bounds[index] : pair_bounds[index + 1]]
            talked = set(minutes[mine][is_sent[mine]].tolist()) & set(minutes[mine][is_received[mine]].tolist())
            if len(talked - start_minutes.get(subject, set())) < C2_MIN_MINUTES:
                continue
        if staged_upload(subject, index):
            continue
        # a program the subgraph dropped and ran may rotate through its servers (Emotet's list
        # of tier-one addresses): each address it keeps exchanging with is a channel, whatever
        # share of its traffic it holds
        if (pair_count[index] < C2_MIN_SHARE * totals[subject] and subject not in dropped) or not has_sent[index]:
            continue
        # a download tool's sends alone are a transfer (curl uploading an archive over three
        # minutes): its channel needs answers in as many minutes as a two-way exchange asks
        one_way_enough = subject.casefold() not in TRANSFER_TOOLS
        two_way = int(two_way_minutes[index])
        if not one_way_enough and two_way >= C2_MIN_TWO_WAY_MINUTES and start_minutes.get(subject) and not _ran_what_it_fetched(view, subject):
            # and a two-way minute in which the tool was started anew is that run's one
            # request (a timer's curl fetching the day's message twice): runs, not a channel;
            # unless what it fetched was run (a timer fetching code to run: the operator's)
            mine = by_pair[pair_bounds[index] : pair_bounds[index + 1]]
            talked = set(minutes[mine][is_sent[mine]].tolist()) & set(minutes[mine][is_received[mine]].tolist())
            two_way = len(talked - start_minutes[subject])
        # a process the log does not name, whose messages it records without an address too
        # (TRACE's), is tied to its connection by the minute alone: its exchange needs as many
        # two-way minutes as a one-way run asks (an unnamed apt or git fetch spans two)
        two_way_needed = C2_MIN_TWO_WAY_MINUTES if subject or not held_pairs[index] else C2_MIN_MINUTES
        sustained = (one_way_enough and out_minute_count[index] >= C2_MIN_MINUTES) or two_way >= two_way_needed
        sustained |= subject in masked and out_minute_count[index] >= C2_MIN_MASKED_MINUTES
        # so do a dropped program's (written in this subgraph and run) where the address
        # answers it: an implant checking in on a timer longer than the slice shows twice
        sustained |= subject in dropped and out_minute_count[index] >= C2_MIN_MASKED_MINUTES and received_sum > 0
        # a connection held open with messages the log records unnamed (TRACE's socket reads
        # and writes): a conversation whose replies arrive in other minutes than its sends.
        # Messages in as many minutes as a one-way run asks, sends in two of them and replies
        # make it a channel; one request answered by a long download sends in one minute only
        # (a transfer tool's, as its named sends, only with answers in as many minutes as a
        # two-way exchange asks: curl's upload hears one reply at its end)
        sustained |= (
            bool(held_pairs[index]) and pair_minutes[index] >= C2_MIN_MINUTES and out_minute_count[index] >= C2_MIN_TWO_WAY_MINUTES and received_sum > 0
            and (one_way_enough or two_way_minutes[index] >= C2_MIN_TWO_WAY_MINUTES)
        )
        # or, held open across as many minutes, with messages both ways, while the process
        # started a shell or interpreter: a shell driven over it (TRACE records no commands)
        driven_over_held = set()
        if held_pairs[index] and not sustained and sent_sum > 0 and received_sum > 0:
            start, end = held_windows[subject]
            if end - start >= (C2_MIN_MINUTES - 1) * MINUTE_NS:
                # not a shell that ran a file the process had saved (a mail client's
                # attachment run with sh): that is the file's run, not commands over the connection
                driven_over_held = _shells_started_within(view, subject, start, end)
                driven_over_held -= _shells_running_saved_files(view, subject, driven_over_held)
                sustained = bool(driven_over_held)
        # a held connection's unnamed sends that hear nothing back are a stream (an upload),
        # not a conversation: where the channel rests on them, it needs its replies
        if sustained and held_pairs[index] and received_sum == 0 and named_out_minutes[index] < C2_MIN_MINUTES:
            sustained = False
        if not sustained and subject in stagers and out_minute_count[index] >= C2_MIN_MASKED_MINUTES:
            # answered by the address, or (OpTC) by replies recorded against this host's own
            mine = by_pair[pair_bounds[index] : pair_bounds[index + 1]]
            sustained = received_sum > 0 or bool(np.isin(view.minutes[replies_of.get(subject, reply_rows[:0])], minutes[mine][is_sent[mine]]).any())
        if not sustained and not command_minutes.get(subject):
            continue
        mine = by_pair[pair_bounds[index] : pair_bounds[index + 1]]
        mine_sent, mine_held = is_sent[mine], is_held[mine]
        sent_minutes = minutes[mine][mine_sent]
        here_received = mine[is_received[mine]]
        # commands paired minute by minute with the messages: a remotely driven shell, whose
        # replies OpTC records against this host's own address, not the remote one
        shared = command_minutes.get(subject, set()) & set(sent_minutes.tolist())
        if not sustained and len(shared) < C2_MIN_TWO_WAY_MINUTES:
            continue
        out_minutes = distinct(sent_minutes).tolist()
        per_minute = _sums(np.searchsorted(out_minutes, sent_minutes), counts[mine][mine_sent], len(out_minutes)).tolist()
        # OpTC names the receiver on an inbound flow: the replies read as messages to this
        # host's own address, in the minutes the process sends
        own_replies = replies_of.get(subject, reply_rows[:0])
        replies = own_replies[np.isin(view.minutes[own_replies], sent_minutes)] if local and not received_sum else reply_rows[:0]
        heard = received_sum + int(view.counts[replies].sum())
        # one dense one-way burst is a transfer (exfiltration, when data reached it), not a
        # channel; one that hears back, or whose shell commands run in its minutes, is one
        # (PowerShell Empire's default beacon sends every five seconds). Messages count, not
        # the connections opened for them: a poll that opens a connection for each message
        # (OpTC's START_OUTBOUND beside MESSAGE_OUTBOUND) sends once, not twice
        carried = mine_sent & ~opening[view._codes[positions[mine]]]
        carried_per_minute = _sums(np.searchsorted(out_minutes, minutes[mine][carried]), counts[mine][carried], len(out_minutes)).tolist()
        if len(shared) < C2_MIN_TWO_WAY_MINUTES and _bulk_transfer(out_minutes, carried_per_minute, heard):
            continue
        # so is a one-way stream that hears nothing back from a sender that read an archive
        # the subgraph wrote before it sent (staged data uploaded in pieces): exfiltration's
        # evidence, not a channel's
        # (a single answer, as an upload's closing response, leaves it a stream; so do a few
        # acknowledgements, a quarter of the sends or fewer: a transfer's, not a dialogue's),
        # whatever commands the sender runs in those minutes: the archiver it starts and the
        # archive it removes are the upload's own steps
        # (check-ins, a message or two sent in a minute, answered in as many minutes as a
        # one-way run asks and in most of such minutes, make a dialogue, however much an upload
        # beside them sent; an upload's acknowledgements come in its busy minutes or now and
        # then: rclone's every fourth document)
        heard_set = set(distinct(np.concatenate([minutes[here_received], view.minutes[replies]])).tolist()) if heard else set()
        heard_minutes = len(heard_set)
        light = [minute for minute, count in zip(out_minutes, per_minute) if count <= CHECK_IN_SECONDS]
        answered = sum(1 for minute in light if minute in heard_set)
        dialogue = answered >= C2_MIN_MINUTES and 2 * answered >= len(light)
        one_way = heard_minutes < C2_MIN_TWO_WAY_MINUTES or (heard * 4 < sent_sum and not dialogue)
        staged = _read_by_first_send(subject, _archive_readers(view).get(subject), out_minutes[0])
        # or a file-transfer tool the knowledge base knows that read the user's documents
        # before it sent (rclone copying folders to cloud storage file by file, no archive):
        # an unknown program doing the same may be an implant's channel, and stays one
        staged = staged or (process_category(subject) == "network tool" and _read_by_first_send(subject, _document_readers(view).get(subject), out_minutes[0]))
        if one_way and staged:
            continue
        links = []
        if routine[subject] and index not in driven and subject not in injected_into:
            # by entity where the input identifies processes: the process on THIS channel
            # (asked last, of the few pairs that are channels by shape)
            links = chain_links(view, exempt, _descriptions(view, positions[mine]))
            if not links:
                continue
            # a browser or mail client whose exchange with the address is over by the minute
            # the program it wrote first ran fetched that program: the delivery (Initial
            # Compromise weighs it), not a channel it keeps
            if int(minutes[mine].max()) <= _first_run_of_its_drops(view).get(subject, -1):
                continue
        period = _period(out_minutes)
        who = quoted(subject) if subject else "one process"
        where = "a host of the site's own network, so an internal relay" if site_pair[index] else "not internal"
        reason = (
            f"Sustained exchange between {who} and {quoted(address)} ({where}): {sent_sum} outbound and "
            f"{received_sum} inbound event-seconds over {int(pair_minutes[index])} minute(s)"
        )
        reason += f", beacon-like about every {period} minute(s)." if period else "."
        confidence = "high" if period or (sent_sum >= 5 and received_sum >= 5) else "moderate"
        commands = commands_of.get(subject, command_rows[:0])
        techniques = ["T1071"]
        rows = [positions[mine]]
        if driven_over_held:
            reason += f" {who} started {_names(driven_over_held)} while its connection to {quoted(address)} was open: a shell driven over it."
            techniques.append("T1059")
        if mine_held.any():
            held_minutes = len(distinct(minutes[mine][mine_held]))
            reason += (
                f" Of those, {held_minutes} minute(s) hold messages the log records without an address (a socket's reads and writes, "
                f"as TRACE records them) while {who}'s connection to {quoted(address)} was open, its only connection to an outside address."
            )
            anonymous = int((desc["subject_name"][view._codes[positions[mine][mine_held]]] == "").sum())
            if anonymous:
                reason += f" The log names no process for {anonymous} of those message rows: they are read as this connection's, the only one open in their minutes (or, where several were, the only one whose process read a file in them)."
        if len(replies):
            reply_minutes = len(distinct(view.minutes[replies]))
            reason += f" Inbound messages in {reply_minutes} of those minutes name only this host's own address (the log records a reply against its receiver)."
            rows.append(replies)
        if links:  # kept: it acts for an attacker
            reason += f" Not its ordinary traffic: the log shows {links[0].how}."
            rows.append(view.rows_of(links[0].rows))
        if routine[subject] and subject in injected_into:
            if subject in opened_system:
                open_rows = injected[0][desc["object_name"][view._codes[injected[0]]] == subject]
                what = "injected code into it, after which it acted out of its character (code injected into a privileged process)"
            elif subject in threaded:
                open_rows = threaded[subject]
                what = "created a thread in it, running code the knowledge base does not know there (T1055)"
            else:
                open_rows = planted_in[subject]
                what = f"wrote {_names(set(desc['object_name'][view._codes[open_rows]].tolist()))}, which it loaded: planted code running in it"
            injectors = set(desc["subject_name"][view._codes[open_rows]].tolist()) - {subject}
            reason += f" Not its ordinary traffic: {_names(injectors)} {what}."
            rows.append(open_rows)
        if index in driven:
            shells, shell_rows = driven[index]
            reason += f" Not its ordinary traffic: it started {_names(shells)}, whose shell commands ran in minutes it sent to this address (a shell driven over its traffic)."
            rows.append(shell_rows)
            techniques.append("T1059")
        if subject in masked:
            images = view.values("object_name", masked[subject])
            reason += f" {who} loaded {_names(images)}, an executable of another name that the knowledge base does not know: a renamed or hollowed binary (T1036)."
            rows.append(view.rows_of(masked[subject]))
            techniques.append("T1036")
        if len(shared) >= 2:
            reason += f" Shell commands run in {len(shared)} of the same minutes: a remotely driven command loop."
            techniques.append("T1059.001")
            rows.append(commands[np.isin(view.minutes[commands], list(shared))])
            confidence = "high"
        out.append(cited(view, *rows, stage="Command and Control", confidence=confidence, rationale=reason, tactic="TA0011", techniques=tuple(techniques)))
        claimed.add(subject)
    view.derived("_channel_holders", lambda: frozenset(claimed))
    return out + _loops_without_a_named_peer(view, local, claimed)


def channel_holders(view: LogView) -> frozenset[str]:
    """The processes the Command and Control rule found holding a channel to a named
    outside address."""
    if command_and_control(view):
        return view.derived("_channel_holders", frozenset)
    return frozenset()


def _unnamed_messages_on_held_connections(
    view: LogView, pair_keys: dict[tuple[str, str], int], remote: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, tuple[int, int]], np.ndarray]:
    """The log rows (positions, their pair's index, whether each is a send) of messages a
    process sent or received through an unnamed source/sink (TRACE records a socket's reads
    and writes so) while it held a connection it opened to its only outside address: from
    its first connect to its last close, or to the log's end when it connected again after
    that close. A process with connections to two outside addresses, or none that it opened,
    has no messages attributed: which socket carried them the log does not say. A message
    whose process the log does not name (OCR-APT's TRACE logs often omit it) goes to the
    connection held open in its minute when exactly one is; to none where several are.
    Then each holder's connection window (first and last minute, ns), and last, per row,
    whether it went to one of the unnamed processes' several connections (by the minute
    alone). One pass over each kind of row, a sort of the windows (a crafted log of many such
    processes costs no more)."""
    desc = view.desc
    nothing = (np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([], dtype=bool), {}, np.array([], dtype=bool))
    unnamed = view.present & (desc["object_kind"] == "srcsink") & (desc["object_name"] == "")
    # a message sent or received as the event vocabulary reads the action on a flow (not a
    # connection opened or accepted: only messages are attributed)
    words = vocabulary()
    opening = words.connect_actions | words.accept_actions
    sends = view.desc_where("action", lambda a: a not in opening and words.event_class(a, "flow") == "network_out", unnamed)
    unnamed &= sends | view.desc_where("action", lambda a: a not in opening and words.event_class(a, "flow") == "network_in", unnamed)
    if not unnamed.any():
        return nothing
    pairs_of: dict[str, list[tuple[str, int]]] = {}
    for (subject, address), index in pair_keys.items():
        pairs_of.setdefault(subject, []).append((address, index))
    only = {subject: pairs[0] for subject, pairs in pairs_of.items() if len(pairs) == 1}
    messaging = set(desc["subject_name"][unnamed].tolist())
    if "" in messaging and processes_identified(view):
        # an edge list tells its unnamed processes apart: an unnamed message is one of
        # theirs, not anyone's (its own connection, were it unnamed too, is not weighed here)
        unnamed &= desc["subject_name"] != ""
        messaging.discard("")
    if "" not in messaging:  # every message names its process: only its own connection can carry it
        only = {subject: pair for subject, pair in only.items() if subject in messaging}
    # the log's unnamed processes (one subject name for many) holding connections to several
    # outside addresses: each connection a window of its own, from its first connect to its
    # last close (or that connect's minute), which an unnamed message in a minute it alone
    # covers goes to (an unnamed curl's upload beside unnamed browsing)
    unnamed_windows: dict[tuple[str, str], tuple[int, int]] = {}
    index_of: dict = {}
    if "" in messaging and len(pairs_of.get("", ())) > 1:
        unnamed_windows = _unnamed_connection_windows(view, remote, {address for address, _ in pairs_of[""]})
        index_of.update({("", address): index for address, index in pairs_of[""] if ("", address) in unnamed_windows})
    if not only and not unnamed_windows:
        return nothing
    codes, minutes = view._codes, view.minutes
    windows = _connection_windows(view, remote, {subject: {address} for subject, (address, _) in only.items()}) if only else {}
    if not windows and not unnamed_windows:
        return nothing
    index_of.update({subject: pair[1] for subject, pair in only.items()})
    rows = view.rows_of(unnamed)
    subjects = desc["subject_name"][codes[rows]].tolist()
    row_minutes = minutes[rows]
    holder = [subject if subject in windows and windows[subject][0] <= minute <= windows[subject][1] else None for subject, minute in zip(subjects, row_minutes.tolist())]
    if "" in messaging:
        # a message of no named process: the one window open in its minute, if one alone is.
        # A connection a server accepted is open in its minutes too (a web server's visitors):
        # in its minute the message may be the server's, and goes to no one
        anonymous = np.flatnonzero(np.fromiter((subject == "" for subject in subjects), dtype=bool, count=len(subjects)))
        open_windows: dict = dict(windows)
        open_windows.update(unnamed_windows)
        accepted = _accepted_windows(view)
        open_windows.update(accepted)
        # where several are open, the one holder that read a file in the message's minute (an
        # uploader reading the archive it streams out, chunk by chunk): its message; not in a
        # minute a server accepted a connection in
        readers = _file_readers_by_minute(view, {subject for subject in windows if subject})
        for _, minute in accepted:
            readers.pop(minute, None)

        @lru_cache(maxsize=None)  # once per minute, not per message (a crafted log holds thousands)
        def the_reader(minute: int) -> str | None:
            reading = [s for s in readers.get(minute, ()) if windows[s][0] <= minute <= windows[s][1]]
            return reading[0] if len(reading) == 1 else None
        for position, one in zip(anonymous.tolist(), _the_one_window(open_windows, row_minutes[anonymous])):
            if one is not None and (one in windows or one in unnamed_windows):
                holder[position] = one
            elif one is None and holder[position] is None:
                holder[position] = the_reader(int(row_minutes[position]))
    keep = np.fromiter((h is not None for h in holder), dtype=bool, count=len(rows))
    if not keep.any():
        return nothing
    kept_holders = [h for h in holder if h is not None]
    pairs = np.fromiter((index_of[h] for h in kept_holders), dtype=np.int64, count=len(kept_holders))
    rows = rows[keep]
    # each holder's window by process name (the unnamed process's: the span of its windows used)
    held: dict[str, tuple[int, int]] = {}
    for h in set(kept_holders):
        name, (start, end) = (h[0], unnamed_windows[h]) if isinstance(h, tuple) else (h, windows[h])
        first, last = held.get(name, (start, end))
        held[name] = (min(first, start), max(last, end))
    by_unnamed = np.fromiter((isinstance(h, tuple) for h in kept_holders), dtype=bool, count=len(kept_holders))
    return rows, pairs, sends[codes[rows]], held, by_unnamed


def _file_readers_by_minute(view: LogView, subjects: set[str]) -> dict[int, set[str]]:
    """Each minute (ns) -> the processes of ``subjects`` that read a file in it (one pass)."""
    if not subjects:
        return {}
    desc = view.desc
    reads = view.rows_of(view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file") & view.desc_in("subject_name", subjects))
    found: dict[int, set[str]] = {}
    for subject, minute in zip(desc["subject_name"][view._codes[reads]].tolist(), view.minutes[reads].tolist()):
        found.setdefault(minute, set()).add(subject)
    return found


def _unnamed_connection_windows(view: LogView, remote: np.ndarray, addresses: set[str]) -> dict[tuple[str, str], tuple[int, int]]:
    """Each connection the log's unnamed processes opened to one of ``addresses`` ((``""``,
    address) -> its first connect and its last close after that, or the last connect's
    minute where none follows, ns). A close recorded under another name than theirs counts
    (``_closes_under_another_name``)."""
    desc = view.desc
    unnamed = (desc["subject_name"] == "") & view.desc_in("object_name", addresses)
    closes = view.present & (desc["object_kind"] == "flow") & (desc["event"] == "network_close") & view.desc_in("object_name", addresses)
    spans: dict[str, list[int]] = {}
    for rows, kind in ((view.rows_of(remote & unnamed & view.desc_in("action", vocabulary().connect_actions)), 0),
                       (_closes_under_another_name(view, closes), 1)):
        for minute, address in zip(view.minutes[rows].tolist(), desc["object_name"][view._codes[rows]].tolist()):
            span = spans.setdefault(address, [None, None, None])  # first connect, last connect, last close
            if kind == 0:
                span[0] = minute if span[0] is None else min(span[0], minute)
                span[1] = minute if span[1] is None else max(span[1], minute)
            else:
                span[2] = minute if span[2] is None else max(span[2], minute)
    found = {}
    for address, (first, last_open, last_close) in spans.items():
        if first is not None:
            found[("", address)] = (first, last_close if last_close is not None and last_close >= last_open else last_open)
    return found


def staged_uploaders(view: LogView) -> frozenset[str]:
    """The processes that read an archive (``_archive_readers``) by the minute they first sent
    to an outside address, whose outside exchange hears back in fewer than
    ``C2_MIN_TWO_WAY_MINUTES`` minutes or a quarter as often as it sends or less (a transfer
    with its acknowledgements), and that the Command and Control rule found holding no
    channel: an upload of staged data and nothing more (computed once per view)."""

    def compute() -> frozenset[str]:
        readers = _archive_readers(view)
        if not readers:
            return frozenset()
        holders = channel_holders(view)
        desc = view.desc
        flows = view.present & (desc["object_kind"] == "flow") & (desc["object_name"] != "") & view.desc_in("subject_name", set(readers) - holders)
        flows &= view.desc_where("object_name", lambda n: view.address_class(n) not in ("loopback", "local"), flows)
        # each reader's sends and answers, from one pass over the flow rows (a crafted log of
        # thousands of archive readers costs no more)
        rows = view.rows_of(flows & view.desc_in("event", ("network_out", "network_in")))
        codes = view._codes[rows]
        first_sent: dict[str, int] = {}
        sent: dict[str, int] = {}
        heard: dict[str, int] = {}
        heard_in: dict[str, set[int]] = {}
        for subject, event, minute, count in zip(desc["subject_name"][codes].tolist(), desc["event"][codes].tolist(), view.minutes[rows].tolist(), view.counts[rows].tolist()):
            if event == "network_out":
                first_sent[subject] = min(first_sent.get(subject, minute), minute)
                sent[subject] = sent.get(subject, 0) + count
            else:
                heard[subject] = heard.get(subject, 0) + count
                heard_in.setdefault(subject, set()).add(minute)
        found = {
            subject for subject, first in first_sent.items()
            if _read_by_first_send(subject, readers[subject], first) and (len(heard_in.get(subject, ())) < C2_MIN_TWO_WAY_MINUTES or heard.get(subject, 0) * 4 < sent[subject])
        }
        return frozenset(found)

    return view.derived("_staged_uploaders", compute)


def _read_by_first_send(subject: str, read: int | None, first_send: int) -> bool:
    """Whether ``subject`` read what it uploads (first read at minute ``read``, ns; None:
    never) by the minute it first sent (``first_send``), or, for a file-transfer tool the
    knowledge base knows (``network tool``: rclone, WinSCP), by the minute after: such a tool
    logs in to its storage and lists it before it reads the first file."""
    if read is None:
        return False
    return read <= first_send + (MINUTE_NS if process_category(subject) == "network tool" else 0)


def _accepted_windows(view: LogView) -> dict[tuple[str, int], tuple[int, int]]:
    """The minutes some process accepted a connection in, each a window of its own
    ((``"accepted"``, minute) -> (minute, minute), ns): a connection a server accepted is open
    in them, whoever accepted it (one key per minute, however many accepts it holds)."""
    accepts = _accepted(view) & (view.desc["object_kind"] == "flow")
    if not accepts.any():
        return {}
    return {("accepted", minute): (minute, minute) for minute in distinct(view.minutes[view.rows_of(accepts)]).tolist()}


_K = TypeVar("_K", bound=Hashable)


def _unknown_programs_loading_miner_drivers(view: LogView, subjects: set[str]) -> set[str]:
    """The programs of ``subjects`` the knowledge base does not know that load a driver it
    knows as a cryptominer's."""
    desc = view.desc
    loads = view.present & (desc["event"] == "module_load") & view.desc_in("subject_name", subjects)
    loads &= view.desc_where("object_name", lambda n: getattr(lookup(n, "file"), "category", None) == CRYPTOMINER_DRIVER, loads)
    return {s for s in view.values("subject_name", loads) if _unknown_program(s)}


def _unknown_programs_ending_miners(view: LogView, subjects: set[str]) -> set[str]:
    """The programs of ``subjects`` the knowledge base does not know that end (terminate or
    kill) a process the knowledge base knows as a cryptominer: a miner clearing the host of
    its competitors, as LemonDuck's and Kinsing's do before they mine."""
    desc = view.desc
    ends = view.present & view.desc_in("event", ("process_end", "process_access")) & (desc["object_kind"] == "process") & view.desc_in("subject_name", subjects)
    ends &= view.desc_where("object_name", lambda n: process_category(n) == CRYPTOMINER, ends)
    return {s for s in view.values("subject_name", ends) if _unknown_program(s)}


def _connection_windows(view: LogView, remote: np.ndarray, addresses_of: dict[str, set[str]]) -> dict[str, tuple[int, int]]:
    """Each process of ``addresses_of`` that opened a connection (``remote`` rows) to one of
    its addresses -> its window (first and last minute, ns): from its first such connect to
    its last close of one, or to the log's end when it connected again after that close. A
    close recorded under another name than the connection's (``_closes_under_another_name``:
    "A subject_process CLOSE the netflowobject: A", or a process with no other event on A by
    then) counts for the one process whose addresses hold A."""
    desc, codes, minutes = view.desc, view._codes, view.minutes

    def spans(rows: np.ndarray) -> dict[str, tuple[int, int]]:
        """Per process of ``addresses_of``, the first and last minute of these rows on one of its addresses."""
        found: dict[str, tuple[int, int]] = {}
        for position, subject, address in zip(rows.tolist(), desc["subject_name"][codes[rows]].tolist(), desc["object_name"][codes[rows]].tolist()):
            if address in addresses_of.get(subject, ()):
                minute = int(minutes[position])
                first, last = found.get(subject, (minute, minute))
                found[subject] = (min(first, minute), max(last, minute))
        return found

    opened = spans(view.rows_of(remote & view.desc_in("action", vocabulary().connect_actions)))
    if not opened:
        return {}
    closes = view.present & (desc["object_kind"] == "flow") & (desc["event"] == "network_close")
    closed = spans(view.rows_of(closes))
    holders_of: dict[str, list[str]] = {}
    for subject in opened:
        for address in addresses_of[subject]:
            holders_of.setdefault(address, []).append(subject)
    others_closes = _closes_under_another_name(view, closes & view.desc_in("object_name", holders_of))
    if len(others_closes):
        for position in others_closes.tolist():
            holders = holders_of[desc["object_name"][codes[position]]]
            if len(holders) == 1:
                minute = int(minutes[position])
                first, last = closed.get(holders[0], (minute, minute))
                closed[holders[0]] = (min(first, minute), max(last, minute))
    log_end = int(minutes.max())
    windows = {}
    for subject, (start, last_open) in opened.items():
        last_close = closed.get(subject, (None, None))[1]
        windows[subject] = (start, last_close if last_close is not None and last_close >= last_open else log_end)
    return windows


def _unnamed_pairs_closed_by_routine_clients(view: LogView, pair_keys: dict[tuple[str, str], int], masked) -> set[int]:
    """The unnamed processes' pairs (indices of ``pair_keys``) that are one routine client's
    (``_routine_clients_unnamed_addresses``): TRACE recorded its connect unnamed (an update
    check's, a browser's)."""
    addresses = {address for subject, address in pair_keys if subject == ""}
    return {pair_keys[("", address)] for address in _routine_clients_unnamed_addresses(view, addresses, masked)}


def _routine_clients_unnamed_addresses(view: LogView, addresses: set[str], masked) -> set[str]:
    """Of ``addresses`` (those the log's unnamed process reaches), the ones whose unnamed
    connection is one routine client's (``routine_channel``, not masquerading): the only
    named process that closes it under another name (``_closes_under_another_name``), or
    the only named process that reaches the address at all."""
    if not addresses:
        return set()
    desc = view.desc
    flows = view.present & (desc["object_kind"] == "flow") & view.desc_in("object_name", addresses) & (desc["subject_name"] != "")
    closes = flows & (desc["event"] == "network_close")
    closers: dict[str, set[str]] = {}
    if closes.any():
        rows = _closes_under_another_name(view, closes)
        for subject, address in zip(desc["subject_name"][view._codes[rows]].tolist(), desc["object_name"][view._codes[rows]].tolist()):
            closers.setdefault(address, set()).add(subject)
    # or whose address only one named process reaches, a routine client: TRACE recorded one
    # of that client's connects unnamed (a browser's second connection to the same site)
    reachers: dict[str, set[str]] = {}
    for at in np.flatnonzero(flows & (desc["event"] == "network_out")).tolist():
        reachers.setdefault(desc["object_name"][at], set()).add(desc["subject_name"][at])
    owned = set()
    for address in addresses:
        for names in (closers.get(address), reachers.get(address)):
            if names is not None and len(names) == 1:
                (client,) = names
                if routine_channel(client) and client not in masked:
                    owned.add(address)
    return owned


def _closes_under_another_name(view: LogView, closes: np.ndarray) -> np.ndarray:
    """The rows (positions) of ``closes`` (a description mask of connection closes) recorded
    under another name than the connection's own (``_foreign_closes``)."""
    if not closes.any():
        return np.array([], dtype=np.int64)
    rows = _foreign_closes(view)
    return rows[closes[view._codes[rows]]]


def _foreign_closes(view: LogView) -> np.ndarray:
    """The rows (positions) of the connection closes recorded under another name than the
    connection's own: the log names no process for them, or names one that shows no other
    event with that address by the close's minute (TRACE records a socket's connect unnamed
    and its close under the process's name, or the other way round). Such a close ends the
    connection of the one process that opened one to the address. One pass per view."""

    def compute() -> np.ndarray:
        desc, codes, minutes = view.desc, view._codes, view.minutes
        rows = view.rows_of(view.present & (desc["object_kind"] == "flow") & (desc["event"] == "network_close"))
        named = desc["subject_name"][codes[rows]] != ""
        if not named.any():
            return rows
        addresses = set(desc["object_name"][codes[rows[named]]].tolist())
        others = view.rows_of(view.present & (desc["object_kind"] == "flow") & (desc["event"] != "network_close") & view.desc_in("object_name", addresses))
        first_touch: dict[tuple[str, str], int] = {}
        for key, minute in zip(zip(desc["subject_name"][codes[others]].tolist(), desc["object_name"][codes[others]].tolist()), minutes[others].tolist()):
            first_touch[key] = min(first_touch.get(key, minute), minute)
        keep = ~named
        for at in np.flatnonzero(named).tolist():
            code = codes[rows[at]]
            keep[at] = first_touch.get((desc["subject_name"][code], desc["object_name"][code]), int(minutes[rows[at]]) + 1) > minutes[rows[at]]
        return rows[keep]

    return view.derived("_foreign_closes", compute)


def _the_one_window(windows: dict[_K, tuple[int, int]], minutes: np.ndarray) -> list[_K | None]:
    """For each minute, the key of the one window (first and last minute) open in it, None
    where none or several are: how many cover a minute is those started by then less those
    ended before it, and the one is the window of the latest end among those started. Sorted
    searches, not a pass over the windows per minute (a crafted log holds thousands of each)."""
    if not windows or not len(minutes):
        return [None] * len(minutes)
    keys = sorted(windows, key=lambda k: windows[k][0])
    starts = np.array([windows[k][0] for k in keys], dtype=np.int64)
    ends = np.array([windows[k][1] for k in keys], dtype=np.int64)
    latest_at = _running_argmax(ends)
    sorted_ends = np.sort(ends)
    begun = np.searchsorted(starts, minutes, side="right")
    covering = begun - np.searchsorted(sorted_ends, minutes, side="left")
    found: list[_K | None] = []
    for count, k, minute in zip(covering.tolist(), begun.tolist(), minutes.tolist()):
        one = k > 0 and count == 1 and ends[latest_at[k - 1]] >= minute
        found.append(keys[latest_at[k - 1]] if one else None)
    return found


def _archive_reads_by_held_senders(view: LogView, reading: np.ndarray, staged: set[str], sends: np.ndarray) -> dict[str, str]:
    """Each staged archive (of ``staged``, an ``ARCHIVE`` name) that the log's unnamed process
    read in a minute holding unnamed messages that a sender of ``sends`` sent over its one
    outside connection (``held_sends``) -> that sender (the first, by name)."""
    archives = {n for n in staged if ARCHIVE.search(n)}
    unnamed = reading & (view.desc["subject_name"] == "") & view.desc_in("object_name", archives)
    if not unnamed.any():
        return {}
    senders = view.values("subject_name", sends) - {""}
    minutes_of: dict[int, str] = {}
    for subject, (addresses, positions) in sorted(held_sends(view).items()):
        if subject in senders and len(addresses) == 1:
            for minute in distinct(view.minutes[positions]).tolist():
                minutes_of.setdefault(minute, subject)
    if not minutes_of:
        return {}
    found: dict[str, str] = {}
    rows = view.rows_of(unnamed)
    for name, minute in zip(view.desc["object_name"][view._codes[rows]].tolist(), view.minutes[rows].tolist()):
        if minute in minutes_of:
            found.setdefault(name, minutes_of[minute])
    return found


def held_sends(view: LogView) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Each process holding a connection to its one outside address -> that address and the
    log rows (positions) of the unnamed messages it sent over it
    (``_unnamed_messages_on_held_connections``, as the Command and Control rule attributed
    them: outside is what that rule reads as outside): what a rule that weighs data sent
    reads beside the named sends (TRACE records an upload's writes so). And each process
    holding connections to several outside addresses -> those addresses and the unnamed
    sends of its minutes (``_sends_over_several_connections``): which of its sockets carried
    one the log does not say, so the channel rule weighs none of them, but each left for one
    of those addresses."""

    def compute() -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        command_and_control(view)  # attributes the messages once per view (none: no outside flows)
        held = view.derived("_held_messages", lambda: None)
        if held is None:
            return {}
        positions, pairs, sent, keys = held
        # grouped by one sort, not one pass over the rows per holder (a crafted log holds thousands)
        positions, pairs = positions[sent], pairs[sent]
        order = np.argsort(pairs, kind="stable")
        groups, starts = np.unique(pairs[order], return_index=True)
        found: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
        for index, rows in zip(groups.tolist(), np.split(positions[order], starts[1:])):
            subject, address = keys[index]
            found[subject] = ((address,), rows)
        found.update(_sends_over_several_connections(view, keys, view.derived("_held_windows", dict)))
        return found

    return view.derived("_held_sends", compute)


def _sends_over_several_connections(
    view: LogView, pair_keys: list[tuple[str, str]], held_windows: dict[str, tuple[int, int]]
) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Each process that opened connections to two or more outside addresses (``pair_keys``,
    the channel rule's), no routine channel's, -> those addresses and the log rows of the unnamed sends (TRACE's
    socket writes) of its window, from its first connect to its last close (the log's end when
    it connected again after it): a send naming it, or naming no process where its window is
    the only one open in that minute, the one-address holders' (``held_windows``) counted."""
    several: dict[str, set[str]] = {}
    for subject, address in pair_keys:
        several.setdefault(subject, set()).add(address)
    # not an application whose work holds many connections at once (a browser's tabs, a mail
    # client's accounts: ``routine_channel``), whose reads and sends the exfiltration rule
    # weighs only when the log shows it acting for an attacker
    several = {subject: addresses for subject, addresses in several.items() if subject and len(addresses) >= 2 and not routine_channel(subject)}
    if not several:
        return {}
    desc, codes, minutes = view.desc, view._codes, view.minutes
    words = vocabulary()
    windows = _connection_windows(view, view.present & (desc["object_kind"] == "flow") & view.desc_in("subject_name", several), several)
    if not windows:
        return {}
    unnamed = view.present & (desc["object_kind"] == "srcsink") & (desc["object_name"] == "")
    unnamed &= view.desc_where("action", lambda a: a not in words.connect_actions | words.accept_actions and words.event_class(a, "flow") == "network_out", unnamed)
    if not unnamed.any():
        return {}
    rows = view.rows_of(unnamed)
    subjects = desc["subject_name"][codes[rows]].tolist()
    row_minutes = minutes[rows]
    found: dict[str, list[int]] = {}
    for position, subject, minute in zip(rows.tolist(), subjects, row_minutes.tolist()):
        window = windows.get(subject)
        if window is not None and window[0] <= minute <= window[1]:
            found.setdefault(subject, []).append(position)
    anonymous = np.flatnonzero(np.fromiter((not subject for subject in subjects), dtype=bool, count=len(subjects)))
    if len(anonymous):
        # the one window open in an unnamed send's minute, the one-address holders' counted
        every = {("several", s): w for s, w in windows.items()} | {("one", s): w for s, w in held_windows.items()}
        for position, one in zip(rows[anonymous].tolist(), _the_one_window(every, row_minutes[anonymous])):
            if one is not None and one[0] == "several":
                found.setdefault(one[1], []).append(position)
    return {
        subject: (tuple(sorted(several[subject])), np.array(sorted(positions), dtype=np.int64)) for subject, positions in found.items()
    }


def _minutes_by_pair(view: LogView, described: np.ndarray) -> dict[tuple[str, str], set[int]]:
    """Each (subject, object) of the ``described`` descriptions -> the minutes of its rows."""
    rows = view.rows_of(described)
    codes = view._codes[rows]
    pairs = zip(view.desc["subject_name"][codes].tolist(), view.desc["object_name"][codes].tolist())
    return {pair: set(minutes) for pair, minutes in _lists_by_key(pairs, view.minutes[rows].tolist()).items()}


def _ran_what_it_fetched(view: LogView, tool: str) -> bool:
    """Whether a file ``tool`` wrote was then executed or started as a process, or it wrote
    into a pipe a shell read (``curl URL | sh``): the transfer tools that did, found once per
    view (the channel rule asks for each of a tool's pairs)."""
    return tool in view.derived("_ran_what_they_fetched", lambda: _tools_that_ran_what_they_fetched(view))


def _tools_that_ran_what_they_fetched(view: LogView) -> frozenset[str]:
    desc = view.desc
    tools = view.desc_where("subject_name", lambda n: n.casefold() in TRANSFER_TOOLS, view.present)
    _, piped, read = _fetched_into_a_shell(view, view.present)
    found = set(view.values("subject_name", piped)) if read.any() else set()
    wrote = view.pairs(tools & view.desc_in("event", ("file_write", "file_create")))
    if wrote:
        ran = view.values("object_name", view.present & view.desc_in("event", ("execute", "process_start"))) | set(desc["subject_name"][view.present].tolist())
        found |= {tool for tool, name in wrote if name not in PLACEHOLDERS and name in ran}
    return frozenset(found)


def _minutes_by_subject(view: LogView, described: np.ndarray, column: str = "subject_name") -> dict[str, set[int]]:
    """Each subject of the ``described`` descriptions (or each name in ``column``: the
    programs of starts, by ``object_name``) -> the minutes of its rows."""
    rows = view.rows_of(described)
    names = view.desc[column][view._codes[rows]].tolist()
    return {name: set(minutes) for name, minutes in _lists_by_key(names, view.minutes[rows].tolist()).items()}


def _running_argmax(values: np.ndarray) -> list[int]:
    """For each prefix of ``values``, the position of its largest value (the first such)."""
    listed, found, best = values.tolist(), [], 0
    for i, value in enumerate(listed):
        if value > listed[best]:
            best = i
        found.append(best)
    return found


def _shells_started_within(view: LogView, subject: str, start: int, end: int) -> set[str]:
    """The shells and interpreters ``subject`` started between the minutes ``start`` and
    ``end`` (ns), from every process's such starts gathered once per view."""
    return {name for minute, name in _shell_starts(view).get(subject, ()) if start <= minute <= end}


def _shells_running_saved_files(view: LogView, subject: str, shells: set[str]) -> set[str]:
    """The shells of ``shells`` that read or ran a file ``subject`` wrote (a script it saved)."""
    if not shells:
        return set()
    written, opened = _files_written_and_opened(view)
    mine = written.get(subject)
    return {shell for shell in shells if mine and opened.get(shell, set()) & mine}


def _files_written_and_opened(view: LogView) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Each process -> the files it wrote, and -> the files it read or ran (gathered once per
    view: the channel rule asks per held connection)."""

    def compute():
        desc = view.desc
        files = view.present & (desc["object_kind"] == "file") & (desc["object_name"] != "")
        found = []
        for events in (("file_write", "file_create"), ("file_read", "execute")):
            by: dict[str, set[str]] = {}
            at = files & view.desc_in("event", events)
            for subject, name in zip(desc["subject_name"][at].tolist(), desc["object_name"][at].tolist()):
                by.setdefault(subject, set()).add(name)
            found.append(by)
        return found[0], found[1]

    return view.derived("_files_written_and_opened", compute)


def _shell_starts(view: LogView) -> dict[str, list[tuple[int, str]]]:
    """Each process -> the (minute, name) of every shell or interpreter it started."""

    def compute() -> dict[str, list[tuple[int, str]]]:
        desc = view.desc
        starts = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process")
        starts &= view.desc_where("object_name", lambda n: process_category(n) in SHELL_CATEGORIES, starts)
        found: dict[str, list[tuple[int, str]]] = {}
        rows = view.rows_of(starts)
        codes = view._codes[rows]
        for minute, subject, name in zip(view.minutes[rows].tolist(), desc["subject_name"][codes].tolist(), desc["object_name"][codes].tolist()):
            found.setdefault(subject, []).append((minute, name))
        return found

    return view.derived("_shell_starts", compute)


def _driven_shells(
    view: LogView, pair_of: np.ndarray, remote: np.ndarray, routine: dict[str, bool], command_minutes: dict[str, set],
    command_rows: np.ndarray, command_subjects: np.ndarray,
) -> dict[int, tuple[set[str], np.ndarray]]:
    """Pairs (index -> (the shells, their start and command rows)) of a routine client that
    started a command shell (``_COMMAND_HOSTS``) whose shell commands (``command_rows``, with
    their subjects and each subject's minutes) run in a minute the client sends to the pair's
    address: an updater's name beaconing and running the commands it receives. A
    systems-management agent (``script_running_agent``) running the scripts its server sends
    while it reports to that server is doing its work (``management-agent-scripts``). Where
    the log records no commands, the programs such a shell starts stand for them, in two or
    more minutes the client sends in (a COM surrogate's cmd running net, then nltest, each
    after a check-in); in one, an updater's own installer run through cmd is as likely. One
    pass over the starts and one over the sends."""
    desc = view.desc
    starts = view.present & (desc["object_kind"] == "process") & (desc["event"] == "process_start")
    starts &= view.desc_where("subject_name", lambda s: routine.get(s, False) and not script_running_agent(s), starts)
    starts &= view.desc_where("object_name", lambda o: process_category(o) in _COMMAND_HOSTS, starts)
    if not starts.any():
        return {}
    launches = view.program_starts & view.desc_in("subject_name", view.values("object_name", starts))
    launch_minutes = _minutes_by_subject(view, launches) if launches.any() else {}
    starts &= view.desc_where("object_name", lambda o: o in command_minutes or o in launch_minutes, starts)
    if not starts.any():
        return {}
    shells_of: dict[str, set[str]] = {}
    for at in np.flatnonzero(starts).tolist():
        shells_of.setdefault(desc["subject_name"][at], set()).add(desc["object_name"][at])
    sends = remote & (desc["event"] == "network_out") & view.desc_in("subject_name", shells_of)
    found: dict[int, tuple[set[str], np.ndarray]] = {}
    evidence: dict[tuple[str, frozenset], tuple[np.ndarray, np.ndarray]] = {}  # (client, shells) -> (start rows, command rows)
    positions = np.flatnonzero(view.expand(sends))
    # each (description, minute) once: a client's sends in one minute ask the same question
    codes, minutes = view._codes[positions], view.minutes[positions]
    order = np.lexsort((minutes, codes))
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = (codes[order][1:] != codes[order][:-1]) | (minutes[order][1:] != minutes[order][:-1])
    launched_in: dict[int, tuple[str, dict[int, frozenset]]] = {}  # pair -> (client, minute -> shells that started programs then)
    for code, minute in zip(codes[order][keep].tolist(), minutes[order][keep].tolist()):
        index = int(pair_of[code])
        if index in found:
            continue
        client = desc["subject_name"][code]
        launched = frozenset(sh for sh in shells_of[client] if minute in launch_minutes.get(sh, ()))
        if launched:
            launched_in.setdefault(index, (client, {}))[1][minute] = launched
        shells = frozenset(sh for sh in shells_of[client] if minute in command_minutes.get(sh, ()))
        if shells:
            if (client, shells) not in evidence:
                started = starts & view.desc_in("object_name", shells) & (desc["subject_name"] == client)
                evidence[client, shells] = (view.rows_of(started), command_rows[np.isin(command_subjects, list(shells))])
            start_rows, shell_commands = evidence[client, shells]
            found[index] = (set(shells), np.concatenate([start_rows, shell_commands[view.minutes[shell_commands] == minute]]))
    launch_rows: dict[tuple[str, frozenset], tuple[np.ndarray, np.ndarray]] = {}  # (client, shells) -> (start rows, launch rows), once
    for index, (client, by_minute) in launched_in.items():
        if index in found or len(by_minute) < C2_MIN_TWO_WAY_MINUTES:
            continue
        shells = frozenset().union(*by_minute.values())
        if (client, shells) not in launch_rows:
            launch_rows[client, shells] = (
                view.rows_of(starts & view.desc_in("object_name", shells) & (desc["subject_name"] == client)),
                view.rows_of(launches & view.desc_in("subject_name", shells)),
            )
        started, ran = launch_rows[client, shells]
        found[index] = (set(shells), np.concatenate([started, ran[np.isin(view.minutes[ran], list(by_minute))]]))
    return found


def _masquerading(view: LogView) -> dict[str, np.ndarray]:
    """Processes that load an executable (``.exe``) of another name that the knowledge base
    does not know, each with the descriptions of those loads (``svchost.exe`` loading
    ``cKfGW.exe``). An executable the knowledge base knows (``WMIPRVSE.EXE``, ``CHROME.EXE``)
    is left out: the log's name for a process is sometimes another program's."""
    desc = view.desc
    loads = view.present & (desc["event"] == "module_load") & (desc["subject_name"] != "")
    loads &= view.desc_where("object_name", lambda n: n.casefold().endswith(".exe") and lookup(n, "process") is None, loads)
    found: dict[str, np.ndarray] = {}
    for described in np.flatnonzero(loads).tolist():
        subject = desc["subject_name"][described]
        if desc["object_name"][described].casefold() != subject.casefold():
            found.setdefault(subject, np.zeros(len(loads), dtype=bool))[described] = True
    return found


# processes that run commands as their own work: a shell receiving a session is no sign of an
# implant inside another program
_COMMAND_HOSTS = frozenset({"shell", "windows admin tool", "interpreter"})


def _loops_without_a_named_peer(view: LogView, local: set[str], claimed: set[str]) -> list[StageEvidence]:
    """A process that is no shell but runs PowerShell inside it (a service host an implant
    lives in) and runs shell commands in at least ``C2_MIN_MINUTES`` minutes in which it also
    receives messages that the log records only against this host's own address (OpTC names
    the receiver of an inbound flow): a remotely driven command loop whose far end the log
    does not name. ``claimed``: processes already found holding a channel to a named
    address."""
    if not local:
        return []
    desc = view.desc
    hosts = sorted(
        name for name in runs_powershell(view) - claimed
        if process_category(name) not in _COMMAND_HOSTS
    )
    if not hosts:
        return []
    received = view.present & (desc["object_kind"] == "flow") & (desc["event"] == "network_in") & view.desc_in("object_name", local)
    commands = view.present & (desc["event"] == "shell_command")
    signs = powershell_signs(view)
    # each host's replies, commands and signs, gathered once (not a mask per host)
    reply_all, command_all = view.rows_of(received), view.rows_of(commands)
    replies_of = _rows_by_key(desc["subject_name"][view._codes[reply_all]].tolist(), reply_all)
    commands_of = _rows_by_key(desc["subject_name"][view._codes[command_all]].tolist(), command_all)
    sign_rows = view.rows_of(signs & (desc["event"] != "shell_command"))
    signs_of = _rows_by_key(desc["subject_name"][view._codes[sign_rows]].tolist(), sign_rows)
    out = []
    for subject in hosts:
        reply_rows, command_rows = replies_of.get(subject, reply_all[:0]), commands_of.get(subject, command_all[:0])
        shared = set(view.minutes[reply_rows].tolist()) & set(view.minutes[command_rows].tolist())
        if len(shared) < C2_MIN_MINUTES:
            continue
        shared_minutes = list(shared)
        replies = reply_rows[np.isin(view.minutes[reply_rows], shared_minutes)]
        driven = command_rows[np.isin(view.minutes[command_rows], shared_minutes)]
        shown = signs_of.get(subject, sign_rows[:0])[:3]
        addresses = set(desc["object_name"][view._codes[reply_rows]].tolist())
        reason = (
            f"{quoted(subject)}, which is no shell but runs PowerShell inside it, ran shell commands in {len(shared)} minute(s) "
            f"in which it also received network messages, recorded only against this host's own address {_names(addresses)} "
            "(the log names the receiver of an inbound flow, not its sender): a remotely driven command loop whose far end the log does not name."
        )
        out.append(cited(view, replies, driven, shown, stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1071", "T1059.001")))
    return out


def _started_by_attack_program(view: LogView, name: str, chain) -> bool:
    """Whether a process named ``name`` was started by a program of ``chain`` other than a
    launcher of its own kind (a browser restarted by a dropped setup, not by the browser)."""
    starts = view.program_starts & (view.desc["object_name"] == name)
    starters = view.values("subject_name", starts) - {"", name}
    return any(s in chain for s in starters)


def _first_run_of_its_drops(view: LogView) -> dict[str, int]:
    """Each launcher (a browser, mail client) that wrote a program the subgraph then ran ->
    the first minute one of those programs ran (``dropped_programs``), once per view."""

    def compute() -> dict[str, int]:
        desc = view.desc
        found: dict[str, int] = {}
        writes = view.present & view.desc_in("event", ("file_write", "file_create"))
        for program, _, positions in dropped_programs(view):
            writers = {w for w in desc["subject_name"][positions[writes[positions]]].tolist() if w and is_launcher(w)}
            runs = positions[view.program_starts[positions]]
            if not writers or not len(runs):
                continue
            first = int(view.first_minutes[runs].min())
            for writer in writers:
                found[writer] = min(found.get(writer, first), first)
        return found

    return view.derived("_first_run_of_its_drops", compute)


def _acting_clients(view: LogView):
    """Processes the log shows acting for an attacker, for the rules that the Command and
    Control rule's own result must not feed: an attack chain's (without C2 channels),
    processes running PowerShell inside them, and launchers that started a chain or wrote a
    program that then ran (a compromised browser)."""
    return view.derived("_acting_clients", lambda: merged(compromised_launchers(view), acting_for_an_attacker(view, channels=False)))


def _descriptions(view: LogView, positions: np.ndarray) -> np.ndarray:
    """The descriptions (a mask) of these log rows."""
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    found[view._codes[positions]] = True
    return found


def scripted_credential_access(view: LogView) -> list[StageEvidence]:
    """A process the log shows running PowerShell (commands, its automation library, its
    policy-test files) that opens LSASS: credential dumping from a script host, even under a
    name the credential-access rule trusts (``svchost.exe`` and other Windows hosts open
    LSASS routinely; one running PowerShell is not doing its own work)."""
    lsass = view.desc_in("event", ("process_access", "remote_thread")) & view.desc_where("object_name", lambda n: n.lower() == "lsass.exe")
    lsass &= view.present
    if not lsass.any():
        return []
    signs = powershell_rule_rows(view)
    scripted = view.values("subject_name", signs) - {""}
    opened = lsass & view.desc_in("subject_name", scripted)
    if not opened.any():
        return []
    who = view.values("subject_name", opened)
    reason = f"{_names(who)}, running PowerShell, opened LSASS (lsass.exe): credential dumping from a script host."
    first_signs = [view.rows_of(signs & view.desc_in("subject_name", {w}))[:1] for w in sorted(who)]
    return [cited(view, view.rows_of(opened), *first_signs, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0006", techniques=("T1003.001",))]


def _reads_secrets_unexplained(name: str) -> bool:
    """A program whose reads of other programs' secrets no work of its own explains: one the
    knowledge base does not know, or an interpreter (a script's); backup tools, archivers,
    scanners, agents and debuggers read every file or process as their work."""
    return lookup(name, "process") is None or process_category(name) == "interpreter"


# what a process reads to scrape another's memory through procfs: its map, then its memory
PROCESS_MEMORY_FILES = frozenset({"maps", "mem"})


def process_memory_scraped(view: LogView) -> list[StageEvidence]:
    """A process that reads processes' memory through procfs (their ``maps`` and ``mem``)
    and the password-hash store: cleartext passwords scraped from other programs' memory,
    with the hashes beside them (mimipenguin; T1003.007, T1003.008). Only a program the
    knowledge base does not know, an interpreter, or a process the log shows acting for an
    attacker: debuggers and profilers read memory as their work, and no password store."""
    desc = view.desc
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
    memory = reads & view.desc_in("object_name", PROCESS_MEMORY_FILES)
    hashes = reads & view.desc_in("object_name", root_only_stores())
    if not memory.any() or not hashes.any():
        return []
    # both files of the memory and a password store, by one process
    read_by: dict[str, set[str]] = {}
    for subject, name in view.pairs(memory):
        read_by.setdefault(subject, set()).add(name)
    readers = {n for n, names in read_by.items() if names == PROCESS_MEMORY_FILES} & view.values("subject_name", hashes) - PLACEHOLDERS - {""}
    acting = view.values("subject_name", view.present & in_chain(view, acting_for_an_attacker(view))) if readers else set()
    readers = {n for n in readers if _reads_secrets_unexplained(n) or n in acting}
    if not readers:
        return []
    rows = (memory | hashes) & view.desc_in("subject_name", readers)
    reason = (
        f"{_names(readers)} read processes' memory maps and memory (`maps`, `mem`, through procfs) and the password-hash store "
        f"({_names(view.values('object_name', hashes & view.desc_in('subject_name', readers)))}): cleartext passwords scraped from other programs' memory, "
        "with the hashes beside them."
    )
    return [cited(view, view.rows_of(rows), stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0006", techniques=("T1003.007", "T1003.008"))]


# secret credential stores one process reads, of at least two kinds, that make a sweep of
# them: a program reads its own store (ssh its key, a browser its saved passwords)
HARVEST_MIN_STORES = 3


def credential_harvest(view: LogView) -> list[StageEvidence]:
    """One process reading ``HARVEST_MIN_STORES`` or more secret credential stores (the
    knowledge base's, less the account files every program reads) of two or more kinds
    (its entries: password hashes, SSH keys, browser or file-transfer logins, service
    tokens): a sweep of other programs' secrets (T1555, T1552.001, T1003.008). Only a
    program the knowledge base does not know, an interpreter, a process the log shows
    acting for an attacker, or a copy tool or file viewer that a shell or interpreter such
    an unknown program started ran: backup tools, archivers, scanners and agents read every
    file, secrets among them, as their work. (Secrets the log then shows carried off are the
    exfiltration's: ``stages._without_credentials_carried_off``.)"""
    secret = _secret_reads(view)  # shared with other rules: read, never changed in place
    if not secret.any():
        return []
    acting = in_chain(view, acting_for_an_attacker(view))
    suspect = view.desc_where("subject_name", _reads_secrets_unexplained, secret) | (secret & acting)
    # (or a copy tool or file viewer, picking files, that a shell of such a program started:
    # an implant's shell copying keys one by one; archivers read whole trees as backups do)
    pickers = {n for n in view.values("subject_name", secret) if local_copier(n) or n in FILE_VIEWERS}
    pickers = {n for n in pickers if any(_unknown_program(a) for a in launchers_above(view, n, through=shell_or_interpreter))}
    if pickers:
        suspect |= secret & view.desc_in("subject_name", pickers)
    if not suspect.any():
        return []
    sweepers = _secret_sweepers(view, suspect)
    if not sweepers:
        return []
    # each sweeper's rows from one pass (a crafted log of thousands of sweepers costs no more)
    swept = view.rows_of(suspect & view.desc_in("subject_name", set(sweepers)))
    rows_of = _rows_by_key(view.desc["subject_name"][view._codes[swept]].tolist(), swept)
    out = []
    for reader, stores in sorted(sweepers.items()):
        kinds = {lookup(name, "file").usage for name in stores}  # one usage text per entry of the knowledge base
        rows = rows_of[reader]
        reason = (
            f"{quoted(reader)} read {len(stores)} secret credential stores of {len(kinds)} kinds ({_names(stores)}): "
            "a sweep of other programs' secrets (password hashes, private keys, saved logins), as credential stealers do; a program reads its own."
        )
        out.append(cited(view, rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0006", techniques=("T1555", "T1552.001", "T1003.008")))
    return out


def _secret_sweepers(view: LogView, reads: np.ndarray) -> dict[str, set[str]]:
    """The readers of ``reads`` (descriptions of secret-store reads) that read
    ``HARVEST_MIN_STORES`` or more stores of two or more kinds, each with those stores."""
    by_reader: dict[str, set[str]] = {}
    for reader, name in view.pairs(reads):
        by_reader.setdefault(reader, set()).add(name)
    return {r: stores for r, stores in by_reader.items() if len(stores) >= HARVEST_MIN_STORES and len({lookup(n, "file").usage for n in stores}) >= 2}


def _archive_readers(view: LogView) -> dict[str, int]:
    """Each process that read an archive (``ARCHIVE``), with the first minute (nanoseconds)
    it did (computed once per view): one staged here (written by the reader or by a process
    that does not talk to the network: tar, 7z) or before the slice (no write shown: rclone
    sending 7-Zip volumes), not one another process that talked to the network wrote (a
    download the reader unpacks)."""
    return view.derived("_archive_readers", lambda: _find_archive_readers(view))


def _find_archive_readers(view: LogView) -> dict[str, int]:
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create"))
    talkers = view.values("subject_name", view.present & (desc["object_kind"] == "flow") & view.desc_in("event", ("network_out", "network_in")))
    fetched_by: dict[str, set[str]] = {}  # archive -> the talkers that wrote it
    for at in np.flatnonzero(writes & view.desc_in("subject_name", talkers)).tolist():
        fetched_by.setdefault(desc["object_name"][at], set()).add(desc["subject_name"][at])
    found: dict[str, int] = {}
    first_reads = _archive_first_reads(view)
    for (reader, archive), first in first_reads.items():
        if not fetched_by.get(archive, set()) - {reader}:
            found[reader] = min(first, found.get(reader, first))
    # and the pieces a silent process cut an archive into (split's xaa, xab; an encrypted
    # copy): what reads them reads the archive
    cutters = {reader for reader, _ in first_reads} - talkers - {""}
    if cutters:
        pieces = view.values("object_name", writes & view.desc_in("subject_name", cutters)) - PLACEHOLDERS
        pieces -= {n for n in pieces if ARCHIVE.search(n)}
        reads = view.present & (desc["event"] == "file_read") & view.desc_in("object_name", pieces) & ~view.desc_in("subject_name", cutters)
        for at in np.flatnonzero(reads).tolist():
            reader, minute = desc["subject_name"][at], int(view.first_minutes[at])
            found[reader] = min(minute, found.get(reader, minute))
    return found


# documents a user keeps (office files, PDFs, mail stores): what a transfer tool reading
# several of them before it sends is carrying
DOCUMENT = re.compile(r"\.(docx?|docm|xlsx?|xlsm|pptx?|pdf|odt|ods|odp|rtf|csv|eml|msg|pst|ost|mbox|vsdx?|one)$", re.I)
DOCUMENT_READS_MIN = 3


def _document_readers(view: LogView) -> dict[str, int]:
    """Each process that read ``DOCUMENT_READS_MIN`` or more distinct documents
    (``DOCUMENT``), with the first minute (nanoseconds) it read one (computed once per view)."""

    def compute() -> dict[str, int]:
        desc = view.desc
        reads = view.present & (desc["event"] == "file_read") & (desc["subject_name"] != "")
        reads &= view.desc_where("object_name", lambda n: bool(DOCUMENT.search(n)), reads)
        documents: dict[str, set[str]] = {}
        first: dict[str, int] = {}
        for at in np.flatnonzero(reads).tolist():
            reader, minute = desc["subject_name"][at], int(view.first_minutes[at])
            documents.setdefault(reader, set()).add(desc["object_name"][at])
            first[reader] = min(minute, first.get(reader, minute))
        return {reader: first[reader] for reader, names in documents.items() if len(names) >= DOCUMENT_READS_MIN}

    return view.derived("_document_readers", compute)


def _collected(name: str) -> bool:
    """A file of the kind a collector gathers: a document (``DOCUMENT``), an application's
    data (a mail client's folders, a browser's history) or a secret credential store."""
    if DOCUMENT.search(name):
        return True
    entry = lookup(name, "file")
    return entry is not None and (entry.category == "application data" or (entry.category == "credential store" and secret_credential(name)))


def _staged_files(view: LogView) -> frozenset[str]:
    """Files a process wrote once it had read ``DOCUMENT_READS_MIN`` or more distinct
    collected files (``_collected``), by the minute of its last write of each: what it packed
    them into, an archive under any name (a ``.log``, numbered chunks), not a program or
    script and not one of the files it read (computed once per view)."""

    def compute() -> frozenset[str]:
        desc = view.desc
        reads = view.present & (desc["event"] == "file_read") & (desc["subject_name"] != "")
        reads &= view.desc_where("object_name", _collected, reads)
        if not reads.any():
            return frozenset()
        read_at: dict[str, dict[str, int]] = {}  # reader -> collected file -> first minute read
        for at in np.flatnonzero(reads).tolist():
            seen = read_at.setdefault(desc["subject_name"][at], {})
            name, minute = desc["object_name"][at], int(view.first_minutes[at])
            seen[name] = min(minute, seen.get(name, minute))
        collectors = {reader for reader, seen in read_at.items() if len(seen) >= DOCUMENT_READS_MIN}
        if not collectors:
            return frozenset()
        writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", collectors)
        writes &= ~view.desc_in("object_name", PLACEHOLDERS) & view.desc_where("object_name", lambda n: not SCRIPT_OR_BINARY.search(n), writes)
        # each collector's first-read minutes sorted once: a search per write, not a count
        # over its reads (a crafted collector of thousands of files costs no more)
        read_minutes = {reader: np.sort(np.fromiter(read_at[reader].values(), dtype=np.int64)) for reader in collectors}
        found = set()
        for at in np.flatnonzero(writes).tolist():
            reader, name = desc["subject_name"][at], desc["object_name"][at]
            if name not in read_at[reader] and np.searchsorted(read_minutes[reader], int(view.last_minutes[at]), side="right") >= DOCUMENT_READS_MIN:
                found.add(name)
        return frozenset(found)

    return view.derived("_staged_files", compute)


def _archive_first_reads(view: LogView) -> dict[tuple[str, str], int]:
    """Each (reader, archive) of the archives read in the log (``ARCHIVE``, or a file staged
    under any name, ``_staged_files``), with the first minute (nanoseconds) of the reads
    (computed once per view)."""

    def compute() -> dict[tuple[str, str], int]:
        desc = view.desc
        reads = view.present & (desc["event"] == "file_read")
        staged = _staged_files(view)
        reads &= view.desc_where("object_name", lambda n: bool(ARCHIVE.search(n)) or n in staged, reads)
        first_read: dict[tuple[str, str], int] = {}
        for at in np.flatnonzero(reads).tolist():
            key, minute = (desc["subject_name"][at], desc["object_name"][at]), int(view.first_minutes[at])
            first_read[key] = min(minute, first_read.get(key, minute))
        return first_read

    return view.derived("_archive_first_reads", compute)


def _bulk_transfer(out_minutes: list, per_minute: list[int], received: int) -> bool:
    """One unbroken run of minutes of dense, one-way sending: an upload. A channel (a beacon,
    a remote session) touches its address briefly and repeatedly, or hears back; at minute
    granularity an upload of a few minutes would otherwise read as a beacon every minute.
    Dense in its typical minute (the median of ``per_minute``, the event-seconds sent in each
    of ``out_minutes``): a beacon that ends in one upload burst is still a channel."""
    if len(out_minutes) < 2:
        return False
    unbroken = (out_minutes[-1] - out_minutes[0]) // MINUTE_NS + 1 == len(out_minutes)
    dense = float(np.median(per_minute)) >= BULK_SECONDS_PER_MINUTE
    return unbroken and dense and received * 4 < sum(per_minute)


def _sums(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Integer sums of ``values`` per group 0..n-1."""
    found = np.zeros(n, dtype=np.int64)
    np.add.at(found, groups, values)
    return found


def _distinct_per_group(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """How many distinct ``values`` each group 0..n-1 has."""
    if not len(groups):
        return np.zeros(n, dtype=np.int64)
    value_codes, uniques = factorize(values)
    pairs = distinct(groups.astype(np.int64) * len(uniques) + value_codes)
    return np.bincount(pairs // len(uniques), minlength=n)


def _two_way_minutes(pair: np.ndarray, minutes: np.ndarray, is_sent: np.ndarray, is_received: np.ndarray, n: int) -> np.ndarray:
    """Per pair 0..n-1, how many minutes hold both a send and a receive."""
    if not is_sent.any() or not is_received.any():
        return np.zeros(n, dtype=np.int64)
    minute_codes, uniques = factorize(minutes)
    keys = pair.astype(np.int64) * len(uniques) + minute_codes
    both = np.intersect1d(distinct(keys[is_sent]), distinct(keys[is_received]), assume_unique=True)
    return np.bincount(both // len(uniques), minlength=n)


def _period(minutes: list) -> int | None:
    """The spacing in minutes when contacts recur regularly (at least 3 of them)."""
    if len(minutes) < 3:
        return None
    gaps = np.diff(np.asarray(minutes, dtype=np.int64) // MINUTE_NS)
    return int(np.median(gaps)) if gaps.max() - gaps.min() <= 1 else None


# --------------------------------------------------------------------------- sequences


def _by_routine_writers(view: LogView, within: np.ndarray) -> np.ndarray:
    """The descriptions of ``within`` whose process is a routine writer (``routine_writers``)
    the log does not show in an attack chain: a process under an updater's name running
    PowerShell or holding a channel writes tools, and a macro's beacon under one deleting
    itself covers its tracks."""
    routine = view.pattern_flags(lambda r: routine_writer(r.subject), within)
    return routine & ~in_chain(view, attack_chain(view)) if routine.any() else routine


# Windows Installer: the package manager of Windows packages (.msi)
WINDOWS_INSTALLERS = frozenset({"msiexec.exe"})
# processes whose network traffic is their own service's (name resolution, updates, time)
SERVICE_CATEGORIES = frozenset({"windows system process", "system service"})
# applications that talk to their vendor's service in their own work, never fetching files
# for other programs
VENDOR_SYNC_CATEGORIES = frozenset({"desktop application", "software updater"})


def _operator_tool(name: str) -> bool:
    return process_category(name) in OPERATOR_TOOLS or name.casefold() in TRANSFER_TOOLS


# the processes that run a scheduled task's command: the Task Scheduler's service host
# (svchost.exe, Schedule) and its older engine
TASK_RUNNERS = frozenset({"svchost.exe", "taskeng.exe"})


def _operated_under_a_quiet_program(view: LogView, last_write: int, writers: set[str]) -> set[str]:
    """The programs the knowledge base does not know above ``writers`` (an operator's
    hands: shells, interpreters, transfer tools) whose own way in the log does not show by
    ``last_write`` (no process starting them, no write of their image, no connection they
    accepted), where every other process above is such a hand too and the hands show no way
    in (``_operated_without_a_shown_entry`` with those programs taken as hands): an implant
    already running that the slice shows no channel of, its shell fetching a tool. None
    otherwise."""
    if not writers or "" in writers or not all(_operator_tool(w) for w in writers):
        return set()
    above = ancestors_by(view, writers, last_write)
    quiet = {a for a in above if a and a not in PLACEHOLDERS and not _operator_tool(a) and _unknown_program(a)}
    if not quiet or ancestors_by(view, quiet, last_write):
        return set()
    images = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_in("object_name", quiet)
    if (images & (view.first_minutes <= last_write)).any():
        return set()
    return quiet if _operated_without_a_shown_entry(view, last_write, writers, hands=quiet) else set()


# the process that runs the Background Intelligent Transfer Service's jobs, and the tool
# that queues them from a command line
BITS_SERVICE_HOST = "svchost.exe"
BITS_CLIENTS = frozenset({"bitsadmin.exe"})


def _operated_without_a_shown_entry(view: LogView, last_write: int, writers: set[str], hands: set[str] = frozenset()) -> bool:
    """Whether shells, interpreters, Windows command tools or transfer tools (an operator's
    hands) wrote the programs, last at ``last_write``, and the log shows no way in above them by then: every process it
    shows starting them, or those in turn, is such a tool too (or the Task Scheduler's host
    running a task's command, ``TASK_RUNNERS``), and none of them accepted a
    connection (a server's exploited request, a login). A shell fetching a program is then
    Ingress Tool Transfer, a Command and Control technique, on a host already reached; where
    the log shows the entry (a web server's or a database's child, cron, a macro, a login
    session) the fetch stays the compromise's step. A compiler or linker that such hands
    ran while one of them holds a command-and-control channel (``channel_holders``: a
    reverse shell fetching an exploit's source and building it) is theirs too: its output
    came over that channel."""
    if not writers or "" in writers:
        return False
    # the BITS service's host writes what bitsadmin asked it to fetch: that download is
    # bitsadmin's, weighed by who started bitsadmin
    bits_hosts = {w for w in writers if w.casefold() == BITS_SERVICE_HOST}
    if bits_hosts:
        starts = view.program_starts & (view.first_minutes <= last_write)
        requesters = {n for n in view.values("object_name", starts) if n.casefold() in BITS_CLIENTS}
        if requesters:
            writers = (writers - bits_hosts) | requesters
    if all(_operator_tool(w) for w in writers):
        above = ancestors_by(view, writers, last_write)
    elif all(_operator_tool(w) or build_tool(w) for w in writers):
        above = ancestors_by(view, writers, last_write)
        operators = {n for n in writers | above if _operator_tool(n)}
        if not operators & channel_holders(view):
            return False
        above = {a for a in above if not build_tool(a)}
    else:
        return False
    # an auto-elevating binary an operator's shell hijacked (fodhelper's UAC bypass) is a
    # step on a host already reached, not a way in; nor is the Task Scheduler's host running
    # a task's command (a foothold already in place firing), unless it accepted a connection
    elevators = _uac_bypass_binaries()
    if any(not _operator_tool(a) and a not in hands and a.casefold() not in elevators | TASK_RUNNERS for a in above):
        return False
    accepted = _accepted(view)
    if (accepted & view.desc_in("subject_name", above | writers) & (view.first_minutes <= last_write)).any():
        return False
    # a fetch from an address whose connection a process of the subgraph had accepted (a
    # server's request, then the payload from the same host: Shellshock's CGI shell running
    # wget) shows the way in, whoever the log names above the writer
    desc = view.desc
    flows = view.present & (desc["object_kind"] == "flow") & (desc["object_name"] != "") & (view.first_minutes <= last_write)
    fetched = view.values("object_name", flows & view.desc_in("subject_name", writers))
    requested = view.values("object_name", accepted & flows) if fetched else set()
    if fetched & requested:
        return False
    # so does an interpreter above the writer installing packages (npm writing into
    # node_modules): what a package's install hook fetches and runs came with the package
    # (a supply-chain compromise), not by an operator's hand
    if _installing_packages(view, {a for a in above if process_category(a) == "interpreter"}, last_write):
        return False
    # so does a shell above the writer that read a file another hand saved in the subgraph (a
    # mail client's attachment, a launcher the user opened: the delivered file's run)
    written, opened = _files_written_and_opened(view)
    delivered = {
        name for writer, files in written.items() if not writer or not _operator_tool(writer)
        for name in files if SCRIPT_OR_BINARY.search(name) or LAUNCHER_FILE.search(name)
    }
    return not any(opened.get(n, set()) & delivered for n in above | writers)


# the folders package managers install a project's or a system's dependencies into
PACKAGE_FOLDER = re.compile(r"(?:^|[\\/])(?:node_modules|site-packages|dist-packages|bower_components)[\\/]", re.IGNORECASE)


def _installing_packages(view: LogView, interpreters: set[str], last_write: int) -> bool:
    """Whether one of ``interpreters`` wrote a file into a package folder (``PACKAGE_FOLDER``)
    by ``last_write``: a package manager at work (npm, pip), whose packages' install hooks run
    as its descendants. Read from the log's paths (an edge list without paths shows none)."""
    if not interpreters:
        return False
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", interpreters)
    writes &= view.first_minutes <= last_write
    return any(PACKAGE_FOLDER.search(path) for at in np.flatnonzero(writes).tolist() for path in view.pattern_rows[at].object_paths)


@lru_cache(maxsize=1)
def _uac_bypass_binaries() -> frozenset[str]:
    """The auto-elevating Windows binaries of the UAC-bypass rule (its subjects)."""
    return frozenset(n.casefold() for block in builtin_rule("privilege-escalation-uac-bypass").match for n in block.get("subject") or ())


def _started_by_remote_execution(view: LogView, last_write: int, writers: set[str]) -> set[str]:
    """The remote-execution services (the ``lateral-movement-remote-execution-target`` rule's:
    WMI's provider host, PsExec's service, WinRM's hosts, DCOM's console, the service control
    manager starting a shell) that started, by ``last_write``, a program the ``writers`` are or
    descend from, where the subgraph shows a connection from another host before then; none
    otherwise. By the rule's own matches: the service control manager starts every service,
    and only its starting a shell is remote execution."""
    if not writers or "" in writers:
        return set()
    lineage = ancestors_by(view, writers, last_write) | writers
    desc = view.desc
    starts = view.present & view.desc_in("event", ("process_start", "execute")) & (view.first_minutes <= last_write)
    found: set[str] = set()
    for block in builtin_rule("lateral-movement-remote-execution-target").match:
        events = set(block.get("event") or ())
        if not events & {"process_start", "execute"}:
            continue
        services = {n.casefold() for n in block.get("subject") or ()}
        started = {n.casefold() for n in block.get("object") or ()}
        candidates = starts & view.desc_where("subject_name", lambda n: n.casefold() in services and n in lineage, starts)
        for at in np.flatnonzero(candidates).tolist():
            child = desc["object_name"][at]
            if child in lineage and (not started or child.casefold() in started):
                found.add(desc["subject_name"][at])
    if not found:
        return set()
    inbound = _inbound_from_another_host(view)
    if inbound is None or int(view.minutes[inbound[0]]) > last_write:
        return set()
    return found


def _implants_without_a_shown_entry(view: LogView, last_write: int, writers: set[str]) -> set[str]:
    """``writers`` when every one of them is a named program the knowledge base does not know
    (or a DLL runner, ``code_runner``: an implant's host) that holds a command-and-control
    channel (``channel_holders``) and whose way in the log does not show by ``last_write``:
    no process it shows starting it (but one they started themselves), no write of its
    image, no connection it accepted. Otherwise none."""
    if not writers or "" in writers:
        return set()
    holders_of = channel_holders(view)
    if not writers <= holders_of and all(_operator_tool(w) or w in holders_of for w in writers):
        # an operator's tools (wget under a shell) that such an implant started: walking up
        # from the writers through operator tools only, by name, a channel holder is reached
        # for each (or through a program a holder wrote and ran: the escalation tool whose
        # SYSTEM shell copies the implant); the holders' own way in is weighed as a writer's
        # would be
        dropped = view.values("object_name", view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", holders_of))
        reached: set[str] = writers & holders_of
        for writer in writers - holders_of:
            found = launchers_above(view, writer, through=lambda n: _operator_tool(n) or n in dropped) & holders_of
            if not found:
                return set()
            reached |= found
        return _implants_without_a_shown_entry(view, last_write, reached)
    # (a DLL runner holding the channel is an implant's host: Cobalt Strike's beacon in
    # rundll32.exe)
    if any(lookup(w, "process") is not None and not code_runner(w) for w in writers):
        return set()
    if not writers <= channel_holders(view):
        return set()
    # a program the writers started themselves that started another process of their name
    # (PrintSpoofer starting the implant again as SYSTEM, in the minute of its write) shows
    # no way in above them
    starts = view.present & view.desc_in("event", ("process_start", "execute"))
    if ancestors_by(view, writers, last_write) - view.values("object_name", starts & view.desc_in("subject_name", writers)):
        return set()
    images = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_name", writers)
    if (images & (view.first_minutes <= last_write)).any():
        return set()
    if (_accepted(view) & view.desc_in("subject_name", writers) & (view.first_minutes <= last_write)).any():
        return set()
    return set(writers)


def _written_in_remote_sessions(view: LogView, writers_of: dict[str, set[str]], names: set[str], written: np.ndarray) -> set[str]:
    """Of ``names``, those whose writers are all shells, interpreters, Windows command tools or
    transfer tools that a remote-session host (``remote_session_hosts``: PsExec's service,
    WinRM's hosts) started, or their descendants, by the write: every process the log shows
    starting them, by name, is such a tool, a remote-session host or a Windows process (the
    service control manager starting PsExec's service), and one is a remote-session host. A
    tool the shell of a session another host opened wrote came over that session (T1570)."""
    # grouped by their writers (shells' names are few): one look per group, not per file (a
    # crafted shell writing and running 20,000 scripts)
    groups: dict[frozenset[str], set[str]] = {}
    for name in names:
        writers = writers_of.get(name, set())
        if writers and "" not in writers and all(_operator_tool(w) for w in writers):
            groups.setdefault(frozenset(writers), set()).add(name)
    if not groups or not any(remote_session_host(n) for n in view.subjects):
        return set()
    found = set()
    for writers, group in groups.items():
        last_write = int(view.last_minutes[written & view.desc_in("object_name", group)].max())
        above = ancestors_by(view, set(writers), last_write)
        if not any(remote_session_host(a) for a in above):
            continue
        if all(_operator_tool(a) or remote_session_host(a) or process_category(a) == "windows system process" for a in above):
            found |= group
    return found


# the receiving end of a copy over SSH: scp run by sshd in sink mode, SFTP's server
COPY_SINKS = frozenset({"scp", "sftp-server"})


def _copied_in_over_ssh(view: LogView, writers_of: dict[str, set[str]], names: set[str], written: np.ndarray) -> set[str]:
    """Of ``names``, those only scp or SFTP's server wrote, where the writer opened no
    connection of its own (the receiving end, which sshd starts in sink mode) and the SSH
    server accepted a connection from a host of the site in a minute of the write: a file copied
    in over an SSH session (T1570, T1021.004), whatever process the log names above scp
    (TRACE often leaves sshd's child unnamed)."""
    copied = {n for n in names if writers_of.get(n) and all(w in COPY_SINKS for w in writers_of[n])}
    if not copied:
        return set()
    desc = view.desc
    flows = view.present & (desc["object_kind"] == "flow")
    writers = set().union(*(writers_of[n] for n in copied))
    if (flows & view.desc_in("subject_name", writers) & view.desc_in("action", vocabulary().connect_actions)).any():
        return set()
    # (or, where the slice lacks the accept, the login server hearing from the host: it opens
    # no connections, so what it hears is the session it serves)
    accepted = (_accepted(view) | (desc["event"] == "network_in")) & flows & view.desc_in("subject_name", REMOTE_LOGIN_SERVERS)
    # from a host of the site: a login from outside that drops a program stays Initial
    # Compromise's to weigh
    accepted &= view.desc_where("object_name", lambda n: view.address_class(n) in ("internal", "private"), accepted)
    if not accepted.any():
        return set()
    session_minutes = set(view.minutes[view.rows_of(accepted)].tolist())
    # the copies' writes in one pass (a crafted log of thousands of copies costs no more)
    rows = view.rows_of(written & view.desc_in("object_name", copied))
    return {
        name for name, minute in zip(desc["object_name"][view._codes[rows]].tolist(), view.minutes[rows].tolist())
        if minute in session_minutes or minute - MINUTE_NS in session_minutes
    }


def _pasted_in_remote_desktop(view: LogView, writers_of: dict[str, set[str]], names: set[str], written: np.ndarray) -> tuple[set[str], set[str]]:
    """Of ``names``, those only Explorer wrote, after the start of a remote desktop session
    from a host of the site: the session's clipboard monitor (``rdpclip.exe``) started and a
    connection accepted from an internal or private address. A file pasted in the session's
    Explorer came over its clipboard from the other host (T1570, T1021.001), not from a
    download; from an outside address, a desktop reached from outside, it stays Initial
    Compromise's to weigh. Also the hosts the connections came from."""
    pasted = {n for n in names if writers_of.get(n) and all(w.casefold() == "explorer.exe" for w in writers_of[n])}
    if not pasted:
        return set(), set()
    desc = view.desc
    starts = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process")
    sessions = starts & view.desc_where("object_name", lambda n: n.casefold() == "rdpclip.exe", starts)
    if not sessions.any():
        return set(), set()
    accepted = _accepted(view) & (desc["object_kind"] == "flow")
    accepted &= view.desc_where("object_name", lambda n: view.address_class(n) in ("internal", "private"), accepted)
    if not accepted.any():
        return set(), set()
    session_start = int(view.first_minutes[sessions].min())
    # each pasted file's first write, from one pass over the writes
    first_write: dict[str, int] = {}
    for at in np.flatnonzero(written & view.desc_in("object_name", pasted)).tolist():
        name = desc["object_name"][at]
        first_write[name] = min(first_write.get(name, int(view.first_minutes[at])), int(view.first_minutes[at]))
    found = {n for n, minute in first_write.items() if minute >= session_start}
    return found, view.values("object_name", accepted) if found else set()


def _staged_by_a_silent_program(view: LogView, network: np.ndarray, last_write: int, writers: set[str], talkers: set[str], names: set[str]) -> bool:
    """Whether programs the knowledge base does not know, or local file utilities (``cp``,
    ``dd``, ``unzip``: a copy of a file already here), none of which had talked to the
    network by their last write, wrote ``names`` before any traffic that could carry a file:
    a program already on the host staging another (a dropped exploit's second stage, an
    implant copying itself under a service's name), nothing the log shows arriving. Neither
    the tools' own traffic nor a discovery tool's (``net``, ``nltest`` asking the domain
    controller) carries one. A browser, mail client, server or shell writing a program
    fetched it, whether or not the slice kept its traffic; so may an unknown writer that
    talked before it wrote, unless its traffic is the upload of an archive it staged."""
    if not writers or "" in writers or not all(lookup(w, "process") is None or process_category(w) == "system utility" for w in writers):
        return False
    # a writer whose only traffic is a staged upload (``staged_uploaders``: it read the
    # archive by its first send, and its exchange is one-way) carried nothing in by it,
    # whatever the second of its first send (an implant packing with the 7-Zip it dropped,
    # then uploading the archive in the minute of the drop)
    desc = view.desc
    uploading = writers & staged_uploaders(view)
    if writers & talkers - uploading:
        own = network & view.present & view.desc_in("subject_name", writers)
        if int(view.first_minutes[own].min()) <= last_write:
            return False
    carriers = network & view.present & ~view.desc_in("subject_name", names) & ~view.desc_in("subject_name", uploading)
    carriers &= ~view.desc_where("subject_name", _discovery_tool, carriers)
    if carriers.any():
        # only traffic that could reach the writers carries: their family's by the log's
        # starts, the unnamed process's, or that of a process that wrote a file they read or
        # their own image (a browser's download an unpacker opened, or the downloaded
        # installer itself); a browser's or service host's own traffic beside a silent
        # program brings that program nothing
        read = view.values("object_name", view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", writers))
        saved = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
        # (a download in progress saved under its completed name: Firefox's .part)
        supplied = read | writers
        suppliers = view.values("subject_name", saved & view.desc_where("object_name", lambda n: n in supplied or completed_download(n) in supplied, saved))
        carriers &= view.desc_in("subject_name", process_family(view, writers) | suppliers | {""})
    return not carriers.any() or int(view.first_minutes[carriers].min()) > last_write


def _self_copies_not_run(view: LogView, writers_of: dict[str, set[str]], first_write: dict[str, int], armed: np.ndarray, started: np.ndarray) -> set[str]:
    """The files (of ``writers_of``) only a process of their own name wrote (a program copying
    its own image into place) that nothing shows run after the copy: no arming row in a later
    minute than the first write, and no start of the copy by the program itself. The run the
    log shows in the minute of the copy is the copier's own start (a process writes once it
    runs), which ran the image it copies from, not the copy: no tool arrived and ran."""
    own = {n for n, writers in writers_of.items() if writers and all(w.casefold() == n.casefold() for w in writers)}
    if not own:
        return set()
    name = view.desc["object_name"]
    rows = np.flatnonzero(armed)
    codes = view._codes[rows]
    later = view.minutes[rows] > np.array([first_write.get(n, 0) for n in name[codes].tolist()], dtype=np.int64)
    run = set(name[codes[later]].tolist())
    # the original starting its copy (``X.exe`` CREATE the process ``X.exe``): the copy runs
    subject = view.desc["subject_name"]
    run |= {name[c] for c in set(codes.tolist()) if started[c] and subject[c].casefold() == name[c].casefold()}
    return own - run


def _local_copies(view: LogView, writers_of: dict[str, set[str]], last_write_of: dict[str, int]) -> set[str]:
    """The files (of ``writers_of``: each written file's writers) whose writers are all local
    copy tools (``local_copiers``: cp, mv, install) that had read files by the file's last
    write (``last_write_of``), none of which any process the log shows wrote: copies of files
    already on the host (a root shell putting its payload in place), which the log shows
    nothing bringing, whatever else the traffic carried. Each copier's reads are sorted once
    and searched per file (a crafted log of thousands of copies costs no more)."""
    candidates = {n for n, writers in writers_of.items() if writers and all(local_copier(w) for w in writers)}
    unnamed = _unnamed_copies(view, {n for n, writers in writers_of.items() if writers == {""}})
    if not candidates:
        return unnamed
    desc = view.desc
    copiers = set().union(*(writers_of[n] for n in candidates))
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file") & view.desc_in("subject_name", copiers)
    reads &= ~view.desc_in("object_name", PLACEHOLDERS)
    made = view.values("object_name", view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")))
    by_copier: dict[str, list[tuple[int, bool]]] = {}
    for at in np.flatnonzero(reads).tolist():
        by_copier.setdefault(desc["subject_name"][at], []).append((int(view.first_minutes[at]), desc["object_name"][at] in made))
    sources: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # copier -> read minutes, made sources up to each
    for copier, found in by_copier.items():
        found.sort()
        sources[copier] = (
            np.array([minute for minute, _ in found], dtype=np.int64),
            np.concatenate([[0], np.cumsum([was_made for _, was_made in found])]),
        )
    copies = set()
    for name in candidates:
        read_any = made_any = False
        for writer in writers_of[name]:
            if writer not in sources:
                continue
            minutes, made_before = sources[writer]
            upto = int(np.searchsorted(minutes, last_write_of[name], side="right"))
            read_any |= upto > 0
            made_any |= bool(made_before[upto])
        if read_any and not made_any:
            copies.add(name)
    return copies | unnamed


def _unnamed_copies(view: LogView, names: set[str]) -> set[str]:
    """The files of ``names`` (each written only by a process the log does not name) that
    were written in a minute a process the log does not name read a program already on the
    host (one the knowledge base does not know, not written in the subgraph, under no data
    or library name): TRACE leaves cp's rows unnamed, and the copy of the implant it makes
    arrived with the implant, not over the network."""
    if not names:
        return set()
    desc = view.desc
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file") & (desc["subject_name"] == "")
    made = view.values("object_name", view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")))
    reads &= view.desc_where("object_name", lambda n: n not in made and n not in PLACEHOLDERS and "." not in n.lstrip(".") and _unknown(n), reads)
    if not reads.any():
        return set()
    read_minutes = set(view.minutes[view.rows_of(reads)].tolist())
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & (desc["subject_name"] == "") & view.desc_in("object_name", names)
    found = set()
    for at in view.rows_of(writes).tolist():
        if int(view.minutes[at]) in read_minutes:
            found.add(desc["object_name"][view._codes[at]])
    return found


# the Windows services that start programs for another host: the service control manager
# (a remotely created service), the Task Scheduler's service host (a task created with
# ``schtasks /s``) and WMI's provider host (``Win32_Process.Create``)
REMOTE_START_SERVICES = frozenset({"services.exe", "wmiprvse.exe"}) | TASK_RUNNERS


def _unnamed_share_copies(view: LogView, names: set[str], written: np.ndarray) -> set[str]:
    """Of ``names`` (programs only the log's unnamed process wrote), those a service that
    starts programs for another host (``REMOTE_START_SERVICES``) started, or a remote-session
    host (PsExec's service, WinRM's hosts) or a process the log shows below one did (or a DLL
    runner below one loaded), where
    the log's unnamed process accepted a connection from another host by the minute of the
    write: the kernel's file-sharing server, which OCR-APT's logs may leave unnamed, writing
    what another host copied to an admin share (PsExec's service, a tool its shell then runs,
    a program a remotely created task starts)."""
    if not names:
        return set()
    desc = view.desc
    started = view.present & (desc["event"] == "process_start") & view.desc_in("object_name", names)
    # one walk down from the session hosts, not one up from each starter (a crafted log of
    # thousands of starters costs one pass)
    session_hosts = {n for n in view.subjects if remote_session_host(n)}
    in_session = view.desc_in("subject_name", session_hosts) | descendant_subjects(view, session_hosts) if session_hosts else False
    started &= view.desc_where("subject_name", lambda n: n.casefold() in REMOTE_START_SERVICES, started) | in_session
    # or a library a DLL runner in such a session loads (PsExec's cmd.exe running rundll32 on
    # a DLL copied beside its service): the runner runs it
    loads = view.present & (desc["event"] == "module_load") & view.desc_in("object_name", names) & in_session
    loads &= view.desc_where("subject_name", code_runner, loads)
    names = view.values("object_name", started) | view.values("object_name", loads)
    if not names:
        return set()
    accepted = _accepted(view) & (desc["subject_name"] == "") & (desc["object_kind"] == "flow")
    accepted &= view.desc_where("object_name", lambda a: bool(a) and view.address_class(a) not in ("loopback", "local"), accepted)
    if not accepted.any():
        return set()
    first_accept = int(view.first_minutes[accepted].min())
    # the writes from the first accepted connection on, read once (not a pass per name)
    writes = written & (desc["subject_name"] == "") & view.desc_in("object_name", names) & (view.first_minutes >= first_accept)
    return view.values("object_name", writes)


def vendor_software_unpacked(view: LogView, written: np.ndarray) -> np.ndarray:
    """The ``written`` descriptions of vendor software unpacked from its download
    (``_unpacked_vendor_downloads``), and of a local copy tool putting such a program in
    place (cp or install into a bin folder): an install by hand, for the ingress rule and
    the attack chain's dropped programs alike. So is a package manager's installer a
    transfer tool fetched (rustup's install script saving rustup-init with curl, then
    running it): an install by its vendor's script, where the installer talks to no address
    but those its transfer tool fetched from (a trojaned one calling elsewhere stays)."""
    unpacked = _unpacked_vendor_downloads(view, written)
    if unpacked.any():
        unpacked |= written & view.desc_where("subject_name", local_copier, written) & view.desc_in("object_name", view.values("object_name", unpacked))
    fetched = written & view.desc_where("subject_name", lambda n: n.casefold() in TRANSFER_TOOLS, written)
    fetched &= view.desc_where("object_name", lambda n: process_category(n) == "package manager", fetched)
    if fetched.any():
        flows = view.present & (view.desc["object_kind"] == "flow") & view.desc_in("event", ("network_out", "network_in"))
        reached = lambda names: view.values("object_name", flows & view.desc_in("subject_name", names)) - PLACEHOLDERS  # noqa: E731
        origins = reached(view.values("subject_name", fetched))
        elsewhere = {n for n in view.values("object_name", fetched) if not reached({n}) <= origins}
        fetched &= ~view.desc_in("object_name", elsewhere)
    return unpacked | fetched


def _unpacked_vendor_downloads(view: LogView, written: np.ndarray) -> np.ndarray:
    """The ``written`` descriptions of programs the knowledge base lists as vendor software
    (``_INSTALLED_CATEGORIES``: desktop applications, browsers, office applications, mail
    clients, updaters) that an extractor (``mode_preserving_copier``: tar, unzip) wrote
    after reading an archive a browser downloaded: the user installing software from its
    vendor's tarball. So are the knowledge base's agents (``AGENT_CATEGORIES``: a monitoring
    or backup agent) and the same vendor software unpacked from a release archive a transfer
    tool fetched, one named for the program and its version (``node_exporter-0.15.2.linux-
    amd64.tar.gz`` for ``node_exporter``): an administrator installing it from its releases."""
    desc = view.desc
    vendor = written & view.desc_where("subject_name", mode_preserving_copier, written)
    vendor &= view.desc_where("object_name", lambda n: process_category(n) in _INSTALLED_CATEGORIES | AGENT_CATEGORIES, vendor)
    if not vendor.any():
        return vendor
    saved = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    by_browser = saved & view.desc_where("subject_name", lambda n: process_category(n) == "browser", saved)
    downloads = {completed_download(n).casefold() for n in view.values("object_name", by_browser)}
    downloads = {n for n in downloads if ARCHIVE.search(n)}
    by_transfer = saved & view.desc_where("subject_name", lambda n: n.casefold() in TRANSFER_TOOLS, saved)
    releases = {n.casefold() for n in view.values("object_name", by_transfer) if ARCHIVE.search(n)}
    if not downloads and not releases:
        return np.zeros_like(vendor)
    extractors = view.values("subject_name", vendor)
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", extractors)
    browsed = reads & view.desc_where("object_name", lambda n: n.casefold() in downloads, reads)
    found = vendor & view.desc_in("subject_name", view.values("subject_name", browsed))
    found &= view.desc_where("object_name", lambda n: process_category(n) in _INSTALLED_CATEGORIES, found)
    if not releases:
        return found
    read_by: dict[str, set[str]] = {}  # each extractor's fetched releases, found once
    for at in np.flatnonzero(vendor & ~found).tolist():
        program, extractor = desc["object_name"][at].casefold(), desc["subject_name"][at]
        if extractor not in read_by:
            # read by the extractor or by the decompressor it started (tar's gzip)
            readers = {extractor} | _compressors_started_by(view, {extractor})
            archives = view.values("object_name", view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", readers))
            read_by[extractor] = {a.casefold() for a in archives} & releases
        found[at] = any(_release_of(archive, program) for archive in read_by[extractor])
    return found


def _release_of(archive: str, program: str) -> bool:
    """Whether ``archive`` is named as a release of ``program``: its name, then a version
    (``node_exporter-0.15.2.linux-amd64.tar.gz``, ``restic_0.9.1_linux_amd64.tar.gz``)."""
    return archive.startswith(program) and RELEASE_VERSION.match(archive[len(program):]) is not None


# what follows a program's name in its release archive's: a version (-0.15.2, _v1.2)
RELEASE_VERSION = re.compile(r"[-_.]v?\d+(\.\d+)+")


# minutes before its write in which a program's writer heard from the address that served it
DELIVERY_MINUTES = 1
# starts followed below a delivered program when looking for a channel's holder among its
# descendants: the work a crafted tree can cause stays bounded
DELIVERY_MAX_STARTS = 256
# the writers that fetch programs on their own (an application's update, a user's download):
# an operator's tools (curl, PowerShell), an implant or the file server fetching or receiving
# a tool are steps of an intrusion already under way, not its entry
DELIVERING_CATEGORIES = frozenset({"desktop application", "software updater", "browser", "mail client", "office application"})


def channel_to_the_delivering_server(view: LogView) -> list[StageEvidence]:
    """A program written by a process that, in that minute or the one before, heard from an
    outside address, then started, whose process (or one it starts, or theirs in turn) holds
    a command-and-control channel (the Command and Control rule's finding) to that same
    address: the server that delivered the program drives it afterwards, so the delivery
    was the intrusion's entry (T1195.002, T1105), however routine the writer (an
    application's updater served a hijacked update). The writer is one that fetches programs
    on its own (``DELIVERING_CATEGORIES``). A vendor's update talks to its vendor as ordinary
    traffic, which the channel rule does not take for a channel."""
    channels = command_channels(view)
    if not channels:
        return []
    desc = view.desc
    holders_of: dict[str, set[str]] = {}  # channel address -> holders
    for (holder, _), described in channels.items():  # the descriptions of its outbound rows
        for address in set(desc["object_name"][described].tolist()) - PLACEHOLDERS:
            holders_of.setdefault(address, set()).add(holder)
    heard = view.present & (desc["event"] == "network_in") & (desc["object_kind"] == "flow") & view.desc_in("object_name", holders_of)
    if not heard.any():
        return []
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & (desc["object_kind"] == "file") & ~view.desc_in("object_name", PLACEHOLDERS)
    writes &= view.desc_in("subject_name", {n for n in view.values("subject_name", heard) if n and process_category(n) in DELIVERING_CATEGORIES})
    starts = view.program_starts
    started = view.values("object_name", starts)
    writes &= view.desc_in("object_name", started)
    if not writes.any():
        return []
    # each writer's rows hearing from a channel's address, and each program's tree, once (a
    # crafted log of thousands of programs and messages stays linear)
    heard_rows = view.rows_of(heard)
    heard_by = _rows_by_key(desc["subject_name"][view._codes[heard_rows]].tolist(), heard_rows)
    trees: dict[str, set[str] | None] = {}
    found_rows: list[np.ndarray] = []
    programs, servers = set(), set()
    for at in np.flatnonzero(writes).tolist():
        writer, program, first = desc["subject_name"][at], desc["object_name"][at], int(view.first_minutes[at])
        if program not in trees:
            trees[program] = descendant_names(view, program, DELIVERY_MAX_STARTS)
        tree = trees[program]
        if not tree:
            continue
        rows = heard_by[writer]
        near = rows[(view.minutes[rows] <= first) & (view.minutes[rows] >= first - DELIVERY_MINUTES * MINUTE_NS)]
        # held under the program, not by its writer (an application's own traffic with its server)
        served = {a for a in set(desc["object_name"][view._codes[near]].tolist()) if holders_of[a] & (tree - {writer})}
        if not served:
            continue
        programs.add(program)
        servers |= served
        found_rows.append(near[np.isin(desc["object_name"][view._codes[near]], list(served))])
    if not programs:
        return []
    delivered = writes & view.desc_in("object_name", programs)
    run = starts & view.desc_in("object_name", programs)
    holders = {h for a in servers for h in holders_of[a]}
    reason = (
        f"{_who(view.values('subject_name', delivered))} wrote {_names(programs)} after hearing from {_names(servers)}, and {_names(programs)} was started; "
        f"{_names(holders)}, started under it, then held a channel to that same address: the server that delivered the program drives it, "
        "so the delivery was the way in."
    )
    rows = np.union1d(np.concatenate(found_rows), view.rows_of(delivered | run))
    return [cited(view, rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1195.002", "T1105"))]


def ingress_then_run(view: LogView) -> list[StageEvidence]:
    """A file written, then chmod'ed or executed, in a subgraph with network traffic."""
    desc = view.desc
    event, name = desc["event"], desc["object_name"]
    # the network is flows: a unix socket's messages (docker.sock, devctl) carry no download,
    # nor does a process's traffic with its own host (a Potato's local COM and RPC trick)
    network = view.desc_in("event", ("network_out", "network_in")) & (desc["object_kind"] == "flow")
    network &= ~view.desc_where("object_name", lambda n: view.address_class(n) in ("loopback", "local"), network)
    if not (network & view.present).any():
        return []
    named = ~view.desc_in("object_name", PLACEHOLDERS) & view.desc_in("object_kind", ("file", "link"))
    written = named & view.desc_in("event", ("file_write", "file_create")) & view.present
    routine = _by_routine_writers(view, written)
    routine |= written & build_outputs(view)  # a checkout's configure, a compiler's binary
    routine |= written & self_updates(view)  # Teams' Update.exe writing the new Teams.exe
    # the job-table tools' spool files (crontab writing the user's table, chmod'ed by it): a
    # table the persistence rules weigh, not a tool
    routine |= view.desc_where("subject_name", lambda n: n.casefold() in JOB_TABLE_TOOLS, written)
    # a management agent's package, fetched by BITS and started by the agent
    routine |= written & view.desc_in("object_name", agent_deployed_programs(view))
    # a start-up file or key store written and chmod'ed (rc.local, authorized_keys) is
    # configuration, for the persistence and credential rules to weigh; not a tool
    routine |= view.desc_where("object_name", lambda n: getattr(lookup(n, "file"), "category", None) in CONFIGURATION_FILES, written)
    # what benign mechanisms explain: Windows servicing installing its binaries, a vendor
    # updater's installer, a user's own script written in a text editor
    routine |= explained_rows(view, "Initial Compromise", written & ~routine)
    # an extractor or copy tool restoring the mode of a file it wrote, which never runs in the
    # log, outside an attack chain (an administrator's scp -p and tar of a release)
    copied = written & ~routine & view.desc_where("subject_name", mode_preserving_copier, written & ~routine)
    if copied.any():
        ran = view.values("object_name", view.program_starts)
        # (a script a shell or interpreter reads is one it runs: sh reading sysinfo.sh)
        file_reads = view.present & (desc["event"] == "file_read")
        script_reads = view.desc_where("subject_name", lambda n: bool(n) and runs_what_it_reads(n), file_reads)
        ran |= {n for n in view.values("object_name", script_reads) if SCRIPT_OR_BINARY.search(n)}
        copied &= ~view.desc_in("object_name", ran) & ~in_chain(view, attack_chain(view))
        routine |= copied
    # vendor software a user unpacked from an archive the browser downloaded (VS Code's
    # tarball extracted with tar, then run): an install by hand, not a dropped tool
    routine |= vendor_software_unpacked(view, written & ~routine)
    first_write: dict[str, int] = {}
    for described in np.flatnonzero(written & ~routine).tolist():
        minute = int(view.first_minutes[described])
        if name[described] not in first_write or minute < first_write[name[described]]:
            first_write[name[described]] = minute
    # Windows logs (OpTC) show a program run as a process of that name started, not as an
    # execve of the file
    started = (desc["object_kind"] == "process") & (desc["event"] == "process_start") & ~view.desc_in("object_name", PLACEHOLDERS)
    moded = named & (desc["event"] == "file_attribute")
    moded &= ~view.desc_where("object_name", lambda n: getattr(lookup(n, "file"), "category", None) in RECORD_FILES or bool(KEY_OR_CERTIFICATE.search(n) or LOG_NAME.search(n) or CONFIGURATION_EXTENSION.search(n)), moded)
    # nor a file an SSH client reads, whatever its name: a key written out and made private
    # for `ssh -i` (chmod 600), not a program armed
    if moded.any():
        key_reads = view.present & (desc["event"] == "file_read") & view.desc_where("subject_name", session_client)
        moded &= ~view.desc_in("object_name", view.values("object_name", key_reads))
    # a service setting the mode of a working file it wrote itself (the crash reporter marking
    # a report uploaded) makes no tool: only its run would, which arms the file on its own
    keeping = moded & view.desc_where("subject_name", own_file_cleaner, moded)
    if keeping.any():
        own = view.pairs(written & view.desc_in("subject_name", view.values("subject_name", keeping)))
        moded &= ~(view.pattern_flags(lambda row: (row.subject, row.object) in own, keeping) & ~in_chain(view, acting_for_an_attacker(view)))
    # a DLL runner (rundll32, regsvr32) loading the file runs it, whatever its extension
    run_as_module = (desc["event"] == "module_load") & view.desc_where("subject_name", code_runner, desc["event"] == "module_load")
    arming = (moded | named & (desc["event"] == "execute") | started | run_as_module) & view.desc_in("object_name", first_write)
    threshold = np.array([first_write.get(n, 0) for n in name], dtype=np.int64)
    armed = view.expand(arming) & (view.minutes >= view.expand(threshold))  # written before (or when) armed
    if not armed.any():
        return []
    armed_codes = distinct(view._codes[armed])
    out = []
    # a file the Windows kernel (``System``, home of the SMB server) wrote came from another
    # host over a file share, one a remote-session host (WinRM's) wrote over that session: a
    # tool copied for remote execution (T1570), not a download
    armed_names = set(name[armed_codes])
    writers_of: dict[str, set[str]] = {}  # each written file's writers, from one pass over the writes
    last_write_of: dict[str, int] = {}
    for at in np.flatnonzero(written).tolist():
        if name[at] in armed_names:
            writers_of.setdefault(name[at], set()).add(desc["subject_name"][at])
            last_write_of[name[at]] = max(last_write_of.get(name[at], int(view.last_minutes[at])), int(view.last_minutes[at]))
    # a copy a local copy tool made of a file already on the host (cp of the implant, made
    # setuid) is no download, whatever else the subgraph fetched: weighed per file, before
    # the files are judged together
    armed_names -= _local_copies(view, writers_of, last_write_of)
    armed_names -= _self_copies_not_run(view, writers_of, first_write, armed, started)
    if not armed_names:
        return []
    armed_codes = armed_codes[np.fromiter((n in armed_names for n in name[armed_codes].tolist()), dtype=bool, count=len(armed_codes))]
    by_share = {n for n in armed_names if n in writers_of and all(w.casefold() == "system" for w in writers_of[n])}
    unnamed_share = _unnamed_share_copies(view, {n for n in armed_names - by_share if writers_of.get(n) == {""}}, written)
    by_share |= unnamed_share
    by_session = {n for n in armed_names - by_share if n in writers_of and all(remote_session_host(w) for w in writers_of[n])}
    by_session |= _written_in_remote_sessions(view, writers_of, armed_names - by_share - by_session, written)
    by_session |= _copied_in_over_ssh(view, writers_of, armed_names - by_share - by_session, written)
    by_desktop, desktop_hosts = _pasted_in_remote_desktop(view, writers_of, armed_names - by_share - by_session, written)
    for names in (armed_names - by_share - by_session - by_desktop, by_share, by_session, by_desktop):
        if not names:
            continue
        # a set look-up per code: numpy's isin over object arrays compares every pair
        codes = armed_codes[np.fromiter((n in names for n in name[armed_codes].tolist()), dtype=bool, count=len(armed_codes))]
        hits = view.expand(
            (named & view.desc_in("event", ("file_write", "file_create", "file_attribute", "execute")) | (started & arming) | (run_as_module & arming))
            & view.desc_in("object_name", names)
        )
        how = "made executable (chmod)" if (event[codes] == "file_attribute").all() else "made executable or executed"
        if names is by_share:
            reason = f"Files written by the kernel's file-sharing server (System) and then executed: {_names(names)} (a tool copied from another host for remote execution)."
            if names & unnamed_share:
                reason = (
                    f"Files written by a process the log does not name after it accepted a connection from another host, then started by a service that "
                    f"starts programs for another host (the service control manager, the Task Scheduler, WMI) or in a remote session: {_names(names)} "
                    "(a tool copied from another host over a file share for remote execution, as PsExec's service is)."
                )
            out.append(arrival(view, cited(view, hits, view.rows_of(network)[:3], stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1570", "T1021.002"))))
            continue
        if names is by_desktop:
            reason = (
                f"Files written by Explorer in a remote desktop session from a host of the site (a connection accepted from {_names(desktop_hosts)}, "
                f"the session's clipboard monitor `rdpclip.exe` started) and then executed: {_names(names)} (a tool pasted over the session)."
            )
            out.append(cited(view, hits, view.rows_of(network)[:3], stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1570", "T1021.001")))
            continue
        if names is by_session:
            writers = view.values("subject_name", written & view.desc_in("object_name", names))
            hosts = {w for w in writers if remote_session_host(w)}
            if hosts == writers:
                reason = f"Files written by a remote-session host ({_names(hosts)}) and then executed: {_names(names)} (a tool copied from another host over a remote session)."
            else:
                last_write = int(view.last_minutes[written & view.desc_in("object_name", names)].max())
                # (scp's sink under an SSH login: the login server is the session's host)
                hosts |= {a for a in ancestors_by(view, writers - hosts, last_write) if remote_session_host(a) or a in REMOTE_LOGIN_SERVERS}
                served_by = f"a remote-session host ({_names(hosts)})" if hosts else "a remote login server"
                reason = (
                    f"Files written by {_names(writers - hosts)} in a session {served_by} served, and then "
                    f"executed: {_names(names)} (a tool copied from another host over a remote session)."
                )
            # PsExec's service comes over an SMB admin share, scp over SSH; WinRM's hosts over
            # Windows Remote Management
            if any(h.casefold().startswith("psexesvc") for h in hosts):
                remote = "T1021.002"
            elif hosts & REMOTE_LOGIN_SERVERS or writers & COPY_SINKS:
                remote = "T1021.004"
            else:
                remote = "T1021.006"
            out.append(arrival(view, cited(view, hits, view.rows_of(network)[:3], stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1570", remote))))
            continue
        talkers = view.values("subject_name", network & (desc["subject_name"] != ""))
        writers = view.values("subject_name", written & view.desc_in("object_name", names))
        # traffic that only system services (or vendor applications) outside the tool's family (its writer, what it
        # runs as, their parents and children) make downloads nothing: a service host's
        # lookups at the domain controller beside a shell writing a program. Any other
        # talker may have carried it (an implant whose shell's start the slice lacks), as
        # may an unnamed one, or an unnamed writer
        # (a writer the log does not name carried nothing the traffic shows unless some
        # traffic is unnamed too: its own flows would be)
        unnamed = (network & view.present & (desc["subject_name"] == "")).any()
        # so does a desktop application's or vendor updater's sync with its own cloud
        # (OneDrive, Teams): a file it fetched for another program would be its own write
        # and a browser's browsing, where the writers read nothing a browser saved (a download
        # copied into place would be read): its pages carry no file for PowerShell to write
        # (by the name a download in progress takes when done, read by the writer or the
        # decompressor it started: tar's gzip)
        browsing = {t for t in talkers if process_category(t) == "browser"}
        if browsing:
            saved = view.values("object_name", view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_in("subject_name", browsing))
            saved |= {completed_download(n) for n in saved}
            readers = writers | _compressors_started_by(view, writers)
            if (view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", readers) & view.desc_in("object_name", saved)).any():
                browsing = set()
        services_only = all(process_category(t) in SERVICE_CATEGORIES | VENDOR_SYNC_CATEGORIES or t in browsing for t in talkers)
        if not unnamed and services_only and not talkers & process_family(view, writers | names):
            continue
        last_write = int(view.last_minutes[written & view.desc_in("object_name", names)].max())
        # other processes' traffic that only begins after the last write carried nothing in
        # (curl uploading the archive a dropped 7-Zip made); the writer's own, the program's,
        # or the log's unnamed process's may be the rest of the download the slice shows
        if not unnamed and "" not in writers and not (writers | names) & talkers and not (network & view.present & (view.first_minutes <= last_write)).any():
            continue
        if _staged_by_a_silent_program(view, network, last_write, writers, talkers, names):
            continue
        # most specific: the process that talked to the network is the one that wrote the file
        confidence = "high" if writers & talkers else "moderate"
        reason = f"Files written and then {how} while the subgraph talks over the network: {_names(names)} (a downloaded tool)."
        if writers & talkers and len(writers) == 1:
            reason += f" The writer ({_names(writers & talkers)}) is the process that talked to the network."
        elif writers & talkers:  # several writers: say which of them talked
            reason += f" Of their writers, {_names(writers & talkers)} talked to the network."
        # a build's output counts only because its writer acts for an attacker: say how
        chained = written & build_writes(view) & ~build_outputs(view) & view.desc_in("object_name", names)
        if chained.any():
            reason, path = _in_chain(view, attack_chain(view), view.values("subject_name", chained), reason, chained)
            hits = hits | view.expand(path)
        arrived = _session_from_the_site(view, writers | names)
        if arrived is not None:
            # the session that fetched it came from a host of the site: the intruder was
            # already inside, this host was reached from another (Ingress Tool Transfer is
            # then a step of the intrusion, not its entry)
            server, hosts, accepted = arrived
            reason += (
                f" It was fetched and run in a login session that {quoted(server)} accepted from {_names(hosts)}, a host of the site: "
                "the intruder reached this host from another one, and fetched the tool here."
            )
            out.append(cited(view, hits, accepted, view.rows_of(network)[:3], stage="Lateral Movement", confidence=confidence, rationale=reason, tactic="TA0008", techniques=("T1021.004", "T1105")))
            continue
        entry = cited(view, hits, view.rows_of(network)[:3], stage="Initial Compromise", confidence=confidence, rationale=reason, tactic="TA0001", techniques=("T1105",))
        # a fetch on a host already reached is Ingress Tool Transfer (a Command and Control
        # technique), unless another finding shows the way in, whose step it then is (joining)
        why = None
        # a program writing its own image (an installer copying itself into place) fetched
        # nothing: the others wrote what was fetched
        writers = writers - names or writers
        reached = _started_by_remote_execution(view, last_write, writers)
        implants = set() if reached else _implants_without_a_shown_entry(view, last_write, writers)
        if reached:
            # the way in the log shows is another host's: a remote-execution service started
            # the writer's shell after a connection from another host (the Lateral Movement
            # rule's finding); what that session fetches is a tool brought onto a host reached
            why = (
                f" Its writer runs in a session that {_names(reached)} started after a connection from another host (remote execution): "
                "a tool brought onto a host already reached by lateral movement (Ingress Tool Transfer), not the intrusion's entry."
            )
        elif implants:
            # a program that holds a channel and whose arrival the slice does not show (no
            # process starting it, no write of it, no connection it accepted): the intruder is
            # already in, the fetch is a step of its channel
            who = f"Its writer ({_names(implants)})" if implants == writers else f"Its writers ({_names(writers)}) are or ran under {_names(implants)}, which"
            why = (
                f" {who} holds a command-and-control channel, and the log shows neither its start nor "
                "its arrival: a tool brought over that channel onto a host already reached (Ingress Tool Transfer), not the intrusion's entry."
            )
        elif _operated_without_a_shown_entry(view, last_write, writers):
            # an operator's hand on a host already reached, unless another finding shows the
            # way in (a mail attachment's script that ran the shell): then a step of that entry
            why = (
                f" Its writer ({_names(writers)}) is a shell, interpreter or transfer tool that an operator runs, and the log shows "
                "no way in above it (a server's request, a document, a browser): a tool brought onto a host already reached "
                "(Ingress Tool Transfer), not the intrusion's entry."
            )
        if why is not None:
            transfer = cited(view, hits, view.rows_of(network)[:3], stage="Command and Control", confidence=confidence, rationale=reason + why, tactic="TA0011", techniques=("T1105",))
            out.append(replace(transfer, joining=entry))
            continue
        if _operated_under_a_quiet_program(view, last_write, writers):
            # an implant already running whose channel the slice lacks: beside what the tool
            # was fetched for (the escalation its exploit gives) the fetch is that step; alone
            # it stays the way in the log shows
            out.append(replace(entry, joining=entry))
            continue
        out.append(entry)
    return out


# login servers that take connections from other hosts (their sessions are remote logins)
REMOTE_LOGIN_SERVERS = frozenset({"sshd", "dropbear", "telnetd", "in.telnetd", "rlogind", "xrdp-sesman"})
GUESSING_MIN_ATTEMPTS = 6  # connections accepted from one outside address ...
GUESSING_WINDOW_MINUTES = 10  # ... within this many minutes, then a login shell
GUESSING_LOGIN_MINUTES = 5  # the shell started at most this long after the last attempt


FORWARD_MINUTES = 5  # a session client's accepted connection this close to its traffic to the far end


def session_client_forwarding(view: LogView) -> list[StageEvidence]:
    """An SSH client (``session_clients``) that accepts connections while it talks to an
    address outside the site: it listens for a forwarded port (``ssh -R``/``-L``/``-D``),
    carrying other programs' traffic through its session: protocol tunnelling (T1572). A
    client's own session accepts nothing; its accepts are the forwarding's."""
    desc = view.desc
    accepted = _accepted(view)
    accepted = accepted & view.desc_where("subject_name", session_client, accepted)
    if not accepted.any():
        return []
    local = this_host_addresses(view)
    sends = view.present & (desc["object_kind"] == "flow") & view.desc_in("event", ("network_out", "network_in")) & view.desc_in("subject_name", view.values("subject_name", accepted))
    sends &= view.desc_where("object_name", lambda n: not _excluded_address(view, n, local) and view.address_class(n) in ("public", "unknown"), sends)
    out = []
    for client in sorted(view.values("subject_name", sends)):
        accept_rows = view.rows_of(accepted & (desc["subject_name"] == client))
        far_rows = view.rows_of(sends & (desc["subject_name"] == client))
        far_minutes = np.sort(view.minutes[far_rows])
        # each accept with traffic to the far end within FORWARD_MINUTES of it
        at = np.searchsorted(far_minutes, view.minutes[accept_rows] - FORWARD_MINUTES * MINUTE_NS, side="left")
        near = at < len(far_minutes)
        near[near] = far_minutes[at[near]] <= view.minutes[accept_rows][near] + FORWARD_MINUTES * MINUTE_NS
        if not near.any():
            continue
        ends = view.values("object_name", sends & (desc["subject_name"] == client))
        listens = view.values("object_name", accepted & (desc["subject_name"] == client))
        reason = (
            f"{quoted(client)}, an SSH client, accepted connections ({_names(listens)}) while it talked to {_names(ends)}, outside the site: "
            "a client's own session accepts nothing, so it was listening for a forwarded port, carrying other programs' traffic through its session (protocol tunnelling)."
        )
        out.append(cited(view, accept_rows[near], far_rows[:6], stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1572",)))
    return out


# a remote forward relays on demand: the client connects to this host's own service in this
# many distinct minutes, each as the far end speaks (one local connection may be a user's)
RELAYED_FORWARD_MINUTES = 2


def session_client_relays_a_remote_forward(view: LogView) -> list[StageEvidence]:
    """An SSH client (``session_clients``) that connects to this host's own loopback address
    in ``RELAYED_FORWARD_MINUTES`` or more distinct minutes, in each of which it also heard
    from an address outside the site: a remotely forwarded port (``ssh -R``) whose
    connections the far end opens and the client relays to a service here, giving the far
    end a way in (protocol tunnelling, T1572). A client's own session connects only to the
    host it logs into. One such minute does where the log shows the client acting for an
    attacker, or below a shell a script-running web server started (an exploited web
    application's operator opening the tunnel with the key it fetched)."""
    desc = view.desc
    clients = view.present & view.desc_where("subject_name", session_client, view.present) & (desc["object_kind"] == "flow")
    if not clients.any():
        return []
    connects = clients & view.desc_in("action", vocabulary().connect_actions)
    relays = connects & view.desc_where("object_name", lambda n: view.address_class(n) == "loopback", connects)
    if not relays.any():
        return []
    local = this_host_addresses(view)
    heard = clients & (desc["event"] == "network_in") & view.desc_where("object_name", lambda n: not _excluded_address(view, n, local) and view.address_class(n) in ("public", "unknown"), clients)
    out = []
    acting = None  # computed for the first client that relays in fewer minutes
    logins: set[int] | None = None  # the minutes a login came in over the loopback, likewise
    for client in sorted(view.values("subject_name", relays & view.desc_in("subject_name", view.values("subject_name", heard)))):
        relay_rows = view.rows_of(relays & (desc["subject_name"] == client))
        far_rows = view.rows_of(heard & (desc["subject_name"] == client))
        both = np.isin(view.minutes[relay_rows], view.minutes[far_rows])
        relayed_minutes = len(np.unique(view.minutes[relay_rows[both]]))
        if not relayed_minutes:
            continue
        if relayed_minutes < RELAYED_FORWARD_MINUTES:
            if acting is None:
                acting = in_chain(view, acting_for_an_attacker(view)) | _below_web_server_shells(view)
                logins = _loopback_login_minutes(view)
            # (or where the far end logged in through it: the login server here accepting
            # over the loopback and starting a shell as the client relayed)
            if not (acting & (desc["subject_name"] == client)).any() and not logins & set(view.minutes[relay_rows[both]].tolist()):
                continue
        ends = view.values("object_name", heard & (desc["subject_name"] == client))
        reason = (
            f"{quoted(client)}, an SSH client talking to {_names(ends)}, outside the site, connected to this host's own loopback address in "
            f"{relayed_minutes} minute{'s' if relayed_minutes != 1 else ''} as the far end spoke: a remotely forwarded port relayed to a service here, "
            "which gives the far end a way in (protocol tunnelling)."
        )
        out.append(cited(view, relay_rows[both], far_rows[:6], stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1572",)))
    return out


def _loopback_login_minutes(view: LogView) -> set[int]:
    """The minutes (ns) in which a remote login server (``REMOTE_LOGIN_SERVERS``: sshd)
    accepted a connection from a loopback address and, in that minute or the next, started a
    shell: a login that came in over a tunnel relayed to this host."""
    desc = view.desc
    servers = view.present & view.desc_in("subject_name", {n for n in view.subjects if n.casefold() in REMOTE_LOGIN_SERVERS})
    accepted = servers & _accepted(view) & (desc["object_kind"] == "flow") & view.desc_in("object_name", {a for a in view.values("object_name", servers & (desc["object_kind"] == "flow")) if view.address_class(a) == "loopback"})
    shells = servers & view.program_starts & view.desc_in("object_name", {n for n in view.values("object_name", servers & view.program_starts) if process_category(n) == "shell"})
    if not accepted.any() or not shells.any():
        return set()
    shell_minutes = set(view.minutes[view.rows_of(shells)].tolist())
    return {m for m in view.minutes[view.rows_of(accepted)].tolist() if m in shell_minutes or m + MINUTE_NS in shell_minutes}


RDP_SURVEY_TOOLS = 3  # distinct discovery tools a remote desktop session runs ...
RDP_SURVEY_MINUTES = 15  # ... starting within this long of the session's start


def remote_desktop_session_survey(view: LogView) -> list[StageEvidence]:
    """A remote desktop logon from a host of the site whose session at once surveys the host
    and the domain (T1021.001), or from outside it, the way in (T1133; no accepted address is
    internal or private): a connection accepted from an internal or private address,
    the RDP session's clipboard monitor (``rdpclip.exe``) started, and processes below the
    logon's ``userinit.exe`` (its Explorer, a shell it starts) running ``RDP_SURVEY_TOOLS`` or
    more distinct discovery tools, the first within ``RDP_SURVEY_MINUTES`` of the session's
    start, or a logging tool (wevtutil, auditpol) within them: someone who came from another
    host looking around, or erasing the records of its coming. An administrator's session
    opens consoles and runs a tool or two; the discovery itself is Internal Reconnaissance's."""
    desc = view.desc
    starts = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process")
    sessions = starts & view.desc_where("object_name", lambda n: n.casefold() == "rdpclip.exe", starts)
    if not sessions.any():
        return []
    accepted = _accepted(view) & (desc["object_kind"] == "flow")
    accepted &= view.desc_where("object_name", lambda n: view.address_class(n) not in ("loopback", "local"), accepted)
    inside = accepted & view.desc_where("object_name", lambda n: view.address_class(n) in ("internal", "private"), accepted)
    if inside.any():
        accepted = inside
    if not accepted.any():
        return []
    logons = view.desc_where("subject_name", lambda n: n.casefold() == "userinit.exe", view.present)
    if not logons.any():
        return []
    from ..grounding.semantic import support_table  # the screen's own list of logging tools

    below = descendant_subjects(view, view.values("subject_name", logons))
    tools = starts & below & view.desc_where("object_name", _discovery_tool, starts & below)
    # or the event-log or audit-policy tool (wevtutil, auditpol): the session's first work
    # erasing what the host records
    logging = support_table().logging_tools
    erasers = starts & below & view.desc_where("object_name", lambda n: n.casefold() in logging, starts & below)
    if not tools.any() and not erasers.any():
        return []
    minutes = view.minutes
    session_start = int(minutes[view.rows_of(sessions)].min())
    soon = session_start + RDP_SURVEY_MINUTES * MINUTE_NS
    tool_rows = view.rows_of(tools)
    tool_rows = tool_rows[minutes[tool_rows] >= session_start]
    names = set(desc["object_name"][view._codes[tool_rows]].tolist())
    eraser_rows = view.rows_of(erasers)
    eraser_rows = eraser_rows[(minutes[eraser_rows] >= session_start) & (minutes[eraser_rows] <= soon)]
    surveyed = len(names) >= RDP_SURVEY_TOOLS and int(minutes[tool_rows].min()) <= soon
    if not surveyed and not len(eraser_rows):
        return []
    if not surveyed:  # the logs erased instead
        tool_rows, names = eraser_rows, set(desc["object_name"][view._codes[eraser_rows]].tolist())
    hosts = view.values("object_name", accepted)
    rows = (view.rows_of(accepted)[:3], view.rows_of(sessions)[:1], tool_rows)
    what = f"the discovery tools {_names(names)}" if surveyed else f"the logging tool(s) {_names(names)}, erasing what the host records,"
    if not inside.any():
        # no declared network or private range holds the session's source: a desktop reached
        # from outside is the way in (External Remote Services), as ``stages.arrival`` reads
        # the other sessions opened onto this host
        reason = (
            f"Remote desktop logon from outside the site: a connection accepted from {_names(hosts)} (no internal network declared holds it), "
            f"the RDP session's clipboard monitor (`rdpclip.exe`) started, and the session's processes ran {what} "
            "within minutes: someone who reached this host's desktop from outside at work on it (declare the site's networks if these are its hosts)."
        )
        return [cited(view, *rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1133", "T1021.001"))]
    reason = (
        f"Remote desktop logon from a host of the site: a connection accepted from {_names(hosts)}, the RDP session's clipboard monitor "
        f"(`rdpclip.exe`) started, and the session's processes ran {what} within minutes: "
        "someone who came from another host at work on this one."
    )
    return [cited(view, *rows, stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1021.001",))]


def remote_desktop_through_a_tunnel(view: LogView) -> list[StageEvidence]:
    """A remote desktop session (its clipboard monitor, ``rdpclip.exe``, started) that begins
    while a tunnelling client (the ``command-and-control-tunnel`` rule's: plink, ngrok,
    chisel) holds a command-and-control channel to an address outside the site: the session
    came through the tunnel from outside, Remote Desktop over protocol tunnelling
    (T1021.001, T1572). A session beside no such channel is weighed by the survey rule."""
    desc = view.desc
    starts = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process")
    sessions = starts & view.desc_where("object_name", lambda n: n.casefold() == "rdpclip.exe", starts)
    if not sessions.any():
        return []
    tunnels = view.table.rule(builtin_rule("command-and-control-tunnel")) & view.present & (desc["event"] == "network_out")
    clients = view.values("subject_name", tunnels)
    held = [positions for (who, _), positions in command_channels(view).items() if who in clients]
    if not held:
        return []
    channel = np.zeros(len(view.pattern_rows), dtype=bool)
    channel[np.concatenate(held)] = True
    channel_rows = view.rows_of(channel)
    first, last = int(view.minutes[channel_rows].min()), int(view.minutes[channel_rows].max())
    session_rows = view.rows_of(sessions)
    inside = session_rows[(view.minutes[session_rows] >= first) & (view.minutes[session_rows] <= last)]
    if not len(inside):
        return []
    holders = view.values("subject_name", channel)
    reason = (
        f"Remote desktop session through a tunnel: the RDP session's clipboard monitor (`rdpclip.exe`) started while the tunnelling "
        f"client {_names(holders)} held a channel to an address outside the site: a desktop session reached from outside over the tunnel."
    )
    return [cited(view, inside[:3], channel_rows[:6], stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1021.001", "T1572"))]


def password_guessing_then_login(view: LogView) -> list[StageEvidence]:
    """Password guessing that succeeded (T1110.001, T1078): a remote login server
    (``REMOTE_LOGIN_SERVERS``) accepting ``GUESSING_MIN_ATTEMPTS`` or more connections (in
    distinct seconds) from one address outside the site within ``GUESSING_WINDOW_MINUTES``,
    then, at most ``GUESSING_LOGIN_MINUTES`` after the last of them, starting a shell: the
    guesses went on until one let the attacker in. A user logs in with one connection, and a
    client that reconnects does not get a shell each time. From a host of the site (internal
    or private), the guesses come from a host the intruder already holds: Lateral Movement
    (T1110.001 over T1021.004), not the way in."""
    desc = view.desc
    servers = _login_servers(view)
    if not servers:
        return []
    accepted = _accepted(view) & view.desc_in("subject_name", servers) & (desc["object_kind"] == "flow")
    accepted &= view.desc_where("object_name", lambda n: view.address_class(n) not in ("loopback", "local") and n not in PLACEHOLDERS, accepted)
    if not accepted.any():
        return []
    # (TRACE shows sshd's child running bash as an execute of the file, OpTC as a process start)
    shells = view.program_starts & view.desc_in("subject_name", servers)
    shells &= view.desc_where("object_name", lambda n: process_category(n) == "shell", shells)
    if not shells.any():
        return []
    minutes, counts, names = view.minutes, view.counts, desc["object_name"][view._codes]
    shell_rows = view.rows_of(shells)
    shell_minutes = np.sort(minutes[shell_rows])
    window = GUESSING_WINDOW_MINUTES * MINUTE_NS
    out = []
    accept_rows = view.rows_of(accepted)
    # the rows grouped by address, each group in time order: one sort, not a pass per address
    # (a crafted log may hold tens of thousands of addresses)
    codes, _ = factorize(names[accept_rows])
    order = np.lexsort((minutes[accept_rows], codes))
    accept_rows, codes = accept_rows[order], codes[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for rows in np.split(accept_rows, bounds):
        if int(counts[rows].sum()) < GUESSING_MIN_ATTEMPTS:
            continue
        address = names[rows[0]]
        at, n = minutes[rows], counts[rows].astype(np.int64)
        # the most attempts any window of that many minutes holds, and where it ends
        ends = np.searchsorted(at, at + window, side="right")
        totals = np.cumsum(np.concatenate(([0], n)))
        held = totals[ends] - totals[np.arange(len(at))]
        best = int(np.argmax(held))
        if held[best] < GUESSING_MIN_ATTEMPTS:
            continue
        last = int(at[ends[best] - 1])
        later = shell_minutes[(shell_minutes >= int(at[best])) & (shell_minutes <= last + GUESSING_LOGIN_MINUTES * MINUTE_NS)]
        if not len(later):
            continue
        attempts = rows[best : ends[best]]
        login = shell_rows[(minutes[shell_rows] >= int(at[best])) & (minutes[shell_rows] <= last + GUESSING_LOGIN_MINUTES * MINUTE_NS)]
        # most connections got no shell (failed guesses): a deployment that logs in each time
        # it connects, running its command in a shell, is no guessing
        if 2 * int(counts[login].sum()) > int(held[best]):
            continue
        span = (last - int(at[best])) // MINUTE_NS + 1
        server = _names(view.values("subject_name", accepted & view.desc_in("object_name", {address})))
        site = view.address_class(address) in ("internal", "private")
        reason = (
            f"Password guessing, then a login: {server} accepted {int(held[best])} connections from {quoted(address)} "
            f"({'a host of the site' if site else 'not internal'}) within {span} minute(s), then started a login shell "
            f"({_names(set(desc['object_name'][view._codes[login]].tolist()))}): the guesses went on until one let the attacker in"
            + (", from a host already held." if site else ".")
        )
        if site:
            out.append(cited(view, attempts, login, stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1110.001", "T1021.004")))
        else:
            out.append(cited(view, attempts, login, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1110.001", "T1078")))
    return out


def _session_from_the_site(view: LogView, processes: set[str]) -> tuple[str, set[str], np.ndarray] | None:
    """(server, hosts, rows) when ``processes`` (a downloaded tool's writers and the tool)
    descend from a remote login server (``REMOTE_LOGIN_SERVERS``) every accepted connection
    of which came from a host of the site (internal or private; at least one): the session
    that fetched the tool came from inside."""
    desc = view.desc
    servers = _login_servers(view)
    if not servers:
        return None
    accepted = _accepted(view) & view.desc_in("subject_name", servers) & (desc["object_kind"] == "flow")
    if not accepted.any():
        # or, where the slice lacks the accept, what the login server hears: it opens no
        # connections, so what it hears is the session it serves (as _copied_in_over_ssh)
        accepted = view.present & (desc["event"] == "network_in") & view.desc_in("subject_name", servers) & (desc["object_kind"] == "flow")
    hosts = view.values("object_name", accepted) - PLACEHOLDERS
    if not hosts or any(view.address_class(h) not in ("internal", "private") for h in hosts):
        return None
    below = descendant_subjects(view, servers)
    if not (below & view.desc_in("subject_name", processes)).any():
        return None
    return sorted(view.values("subject_name", accepted))[0], hosts, view.rows_of(accepted)


_CLIENT_TECHNIQUES = {"mail client": ("T1566.001", "T1204.002"), "browser": ("T1189", "T1204.002")}


def install_runs_channel_holder(view: LogView) -> list[StageEvidence]:
    """A process holding a command-and-control channel that a command shell or interpreter
    started below a package manager or a build driver (``supply_chain_hosts`` in
    roles.yaml: pip running a package's setup.py, a build's pre-build event running
    PowerShell): a compromised package or build script running its payload as it is
    installed or built (T1195.001, T1195.002). Such hosts start compilers, scripts and
    installers, never a program that keeps talking to an outside address; a tool of the
    build or the program under test, which the build or the IDE starts itself, is not one."""
    holders = channel_holders(view) - {""}
    if not holders:
        return []
    hosts = {n for n in view.subjects if supply_chain_host(n)}
    if not hosts:
        return []
    # what the hosts started, and theirs in turn: one walk for every holder (a walk up from
    # each holder would cost a crafted log of thousands of them their product)
    below = view.values("subject_name", descendant_subjects(view, hosts)) - hosts
    launchers = launchers_by_name(view)
    runners_of = {}
    for holder in sorted(holders & below):
        # started by a command shell or interpreter below the host: the package's or
        # project's own code run, not a tool of the build or the program under test
        runners = {p for p in launchers.get(holder, ()) if p in below and shell_or_interpreter(p)}
        if runners:
            runners_of[holder] = runners
    if not runners_of:
        return []
    # each name's start rows and each holder's flow rows, gathered in one pass (a mask per
    # holder would cost a crafted log of thousands of them their product)
    desc = view.desc
    start_rows = view.rows_of(view.program_starts & view.desc_in("object_name", set(runners_of) | set().union(*runners_of.values())))
    starts_of = _lists_by_key(desc["object_name"][view._codes[start_rows]].tolist(), start_rows.tolist())
    flow_rows = view.rows_of(view.present & (desc["object_kind"] == "flow") & view.desc_in("subject_name", set(runners_of)))
    flows_of = _lists_by_key(desc["subject_name"][view._codes[flow_rows]].tolist(), flow_rows.tolist())
    out = []
    for holder, runners in runners_of.items():
        rows = np.array(sorted(r for n in runners | {holder} for r in starts_of.get(n, ())), dtype=np.int64)
        reason = (
            f"{quoted(holder)} holds a command-and-control channel and was started by {_names(runners)}, below {_names(hosts)} "
            "(package managers and build drivers run the code of what they install or build): a package's install code or a "
            "build script running its payload (a compromised dependency or project)."
        )
        channel = np.array(flows_of.get(holder, ())[:6], dtype=np.int64)
        out.append(cited(view, rows, channel, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1195.001", "T1195.002")))
    return out


def client_runs_unknown_program(view: LogView) -> list[StageEvidence]:
    """A mail client or browser starting a program the knowledge base does not know: the user
    running a mailed attachment (T1566.001, T1204.002) or what a page delivered (T1189). Its
    known helpers (a crash reporter, a plugin container) are in the knowledge base; shells
    it starts (a mail client's viewer command) are for the attack chain to weigh, not this."""
    starts = unknown_programs_started_by(view, frozenset(_CLIENT_TECHNIQUES))
    if not starts:
        return []
    rows = np.zeros(len(view.pattern_rows), dtype=bool)
    rows[np.concatenate([found for _, _, found in starts])] = True
    pairs = sorted({(parent, child) for parent, child, _ in starts})
    started = "; ".join(f"{quoted(parent)} started {quoted(child)}" for parent, child in pairs[:5])
    more = f"; and {len(pairs) - 5} more" if len(pairs) > 5 else ""
    techniques = sorted({t for parent, _ in pairs for t in _CLIENT_TECHNIQUES[lookup(parent, "process").category]})
    reason = f"A mail client or browser started a program the knowledge base does not know ({started}{more}): an attachment or a delivered file run on this host."
    return [cited(view, view.rows_of(rows), stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=tuple(techniques))]


# the names browsers give a download in progress, renamed to the file's own name when it is
# complete (Firefox's NAME.part, Chrome's NAME.crdownload, Safari's NAME.download, Edge's
# and Internet Explorer's NAME.partial, Opera's NAME.opdownload)
DOWNLOAD_SUFFIXES = (".part", ".crdownload", ".download", ".partial", ".opdownload")


def completed_download(name: str) -> str:
    """The name a download in progress (``DOWNLOAD_SUFFIXES``) takes when complete; other
    names as they are."""
    folded = name.casefold()
    for suffix in DOWNLOAD_SUFFIXES:
        if folded.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def client_drops_executable(view: LogView) -> list[StageEvidence]:
    """A mail client or browser creating an executable the knowledge base does not know."""
    desc = view.desc
    categories = {"mail client": "T1566.001", "browser": "T1189"}
    named_processes = view.values("subject_name", desc["subject_name"] != "") | view.values(
        "object_name", (desc["object_kind"] == "process") & (desc["object_name"] != "")
    )
    kinds = {process_category(n) for n in named_processes}
    # an unnamed writer counts when every named process of the subgraph is such a client
    inferred = bool(named_processes) and kinds <= set(categories)

    def client(name: str) -> str | None:
        category = process_category(name)
        return category if category in categories else None

    created = view.desc_in("event", ("file_create", "file_write")) & ~view.desc_in("object_name", PLACEHOLDERS) & view.present
    composed = view.values("object_name", _clients_own_temporaries(view))
    subjects_of: dict[str, set[str]] = {}
    for described in np.flatnonzero(created).tolist():
        subjects_of.setdefault(desc["object_name"][described], set()).add(desc["subject_name"][described])
    # where the log gives full paths: every one of a name's files in a cache folder (a
    # browser's cache2/entries, Cache_Data, INetCache) is a cache entry, unless it runs
    cached: set[str] = set()
    extensionless = {n for n in subjects_of if "." not in n} - _ran_or_loaded(view)
    if extensionless:
        elsewhere = set()
        for position, values in _object_values(view, created & view.desc_in("object_name", extensionless)).items():
            (cached if all(CACHE_FOLDER.search(v) for v in values) else elsewhere).add(desc["object_name"][position])
        cached -= elsewhere
    # a download an antivirus engine deleted (moved into quarantine) and that nothing ran or
    # loaded was stopped before it could run
    deletions = view.present & (desc["event"] == "file_delete")
    quarantined = view.values("object_name", deletions & view.desc_where("subject_name", quarantining_scanner, deletions)) - _ran_or_loaded(view)
    chosen: list[tuple[str, str, str]] = []  # (name, category, confidence)
    for name in sorted(subjects_of):
        shown = completed_download(name)  # what a download in progress becomes
        if quarantined and (shown in quarantined or name in quarantined):
            continue
        if lookup(shown, "file") is not None or shown.startswith("."):
            continue
        if not (EXECUTABLE.search(shown) or "." not in shown) or DATA_NAME.match(shown) or name in cached:
            continue
        subjects = subjects_of[name]
        # Windows runs a program by its extension: a file with none that only Windows
        # programs wrote (Chrome's "First Run", "Local State") is no executable there
        if "." not in shown and all(s.casefold().endswith(".exe") for s in subjects):
            continue
        # a message the client composes (mutt's mutt-HOST-UID-PID-N): written, read back
        # and deleted by the client itself, never run, is its own working file
        if name in composed:
            continue
        found = {client(s) for s in subjects} - {None}
        if found:
            chosen.append((name, sorted(found)[0], "moderate"))
        elif "" in subjects and inferred:
            chosen.append((name, sorted(kinds - {None})[0], "low"))
    if not chosen:
        return []
    # each name's rows from one pass over the log (a pass per name made a crafted log of
    # thousands of downloads quadratic)
    positions = view.rows_of(created & view.desc_in("object_name", {name for name, _, _ in chosen}))
    rows_of_name: dict[str, list[int]] = {}
    for position, name in zip(positions.tolist(), desc["object_name"][view._codes[positions]].tolist()):
        rows_of_name.setdefault(name, []).append(position)
    inferred_rows = None
    out = []
    for name, category, confidence in chosen:
        shown = completed_download(name)
        what = quoted(name) if shown == name else f"{quoted(name)} (a download in progress, saved as {quoted(shown)} when done)"
        reason = (
            f"A {category} {'probably ' if confidence == 'low' else ''}created {what}, an executable the knowledge base does not "
            f"know (a delivered attachment or download)."
        )
        rows = [np.asarray(rows_of_name[name], dtype=np.int64)]
        if confidence == "low":
            # the writer is inferred from the clients the subgraph names: cite where it names
            # them (their start, else any row of theirs), so the evidence shows what the
            # reason leans on
            if inferred_rows is None:
                clients = {n for n in named_processes if client(n)}
                naming = view.present & (view.desc_in("subject_name", clients) | ((desc["object_kind"] == "process") & view.desc_in("object_name", clients)))
                started = naming & view.desc_in("event", ("process_start", "execute"))
                inferred_rows = view.rows_of(started if started.any() else naming)
            rows = [np.union1d(rows[0], inferred_rows)]
        out.append(cited(view, *rows, stage="Initial Compromise", confidence=confidence, rationale=reason, tactic="TA0001", techniques=(categories[category], "T1105")))
    return out


def _clients_own_temporaries(view: LogView) -> np.ndarray:
    """Descriptions naming a file that one user application (``user_applications``: a mail
    client, a browser) wrote, read back and deleted itself, and that the subgraph never
    ran, loaded or chmod'ed: a message it composed, a temporary copy; by structure, not by
    name (an attacker names files as it likes)."""
    return view.derived("_clients_own_temporaries", lambda: _find_clients_own_temporaries(view))


def _find_clients_own_temporaries(view: LogView) -> np.ndarray:
    desc = view.desc
    subject, name = desc["subject_name"], desc["object_name"]
    files = view.present & (desc["object_kind"] == "file") & ~view.desc_in("object_name", PLACEHOLDERS)
    clients = files & view.desc_where("subject_name", user_application, files)
    found = np.zeros(len(files), dtype=bool)
    if not clients.any():
        return found
    used = view.values("object_name", files & view.desc_in("event", ("execute", "process_start", "file_attribute", "module_load")))
    by_event: dict[str, set[tuple[str, str]]] = {}
    for at in np.flatnonzero(clients).tolist():
        by_event.setdefault(desc["event"][at], set()).add((subject[at], name[at]))
    written = by_event.get("file_write", set()) | by_event.get("file_create", set())
    own = written & by_event.get("file_read", set()) & by_event.get("file_delete", set())
    own = {pair for pair in own if pair[1] not in used}
    if own:
        names = {n for _, n in own}
        found = files & view.desc_in("object_name", names)
    return found


# disk images a mail client or browser delivers like archives: Windows opens them as a folder
DELIVERY_CONTAINER = re.compile(r"\.(iso|img|vhdx?)$", re.I)
# scripts Windows' script hosts run by their extension (JScript and Windows Script Files):
# counted as run only when a script host reads them (a page's .js is no script to run)
HOSTED_SCRIPT = re.compile(r"\.(js|jse|wsf|wsh|vbs|vbe)$", re.I)


def _first_minute_by_subject(view: LogView, described: np.ndarray) -> dict[str, int]:
    """Each subject of the ``described`` descriptions -> the first minute of its rows there."""
    subjects = view.desc["subject_name"]
    first: dict[str, int] = {}
    for at in np.flatnonzero(described).tolist():
        minute = int(view.first_minutes[at])
        first[subjects[at]] = min(minute, first.get(subjects[at], minute))
    return first


def _unknown(name: str) -> bool:
    """Neither a file nor a program the knowledge base knows (a dropped program, a payload)."""
    return lookup(name, "file") is None and lookup(name, "process") is None


def client_archive_extracted_and_run(view: LogView) -> list[StageEvidence]:
    """A program or script taken out of an archive (or disk image) that a mail client or
    browser wrote, and then run: the user opening a mailed or downloaded archive and running
    what it held (T1566.001, T1189; T1204.002). The client writes only the archive, so
    ``client_drops_executable`` never sees the program; the process that read the archive
    and then wrote the program (Explorer, an extractor, PowerShell's Expand-Archive) carries
    it out. A program the knowledge base knows, or one that never runs, claims nothing."""
    desc = view.desc
    event, subject, name = desc["event"], desc["subject_name"], desc["object_name"]
    files = view.present & (desc["object_kind"] == "file") & ~view.desc_in("object_name", PLACEHOLDERS)
    writes = files & view.desc_in("event", ("file_create", "file_write"))
    # a download is written under a temporary name and renamed into place (Chrome's
    # .crdownload): the client's rename writes the archive too
    saved = writes | (files & (event == "file_rename"))
    delivered: dict[str, str] = {}  # archive -> category of the client that wrote it
    for described in np.flatnonzero(saved).tolist():
        category = process_category(subject[described])
        # (a download in progress, Invoice.zip.crdownload, is the archive it becomes: the
        # log may keep only that name, as OCR-APT keeps a rename's source)
        archive = completed_download(name[described])
        if category in _CLIENT_TECHNIQUES and (ARCHIVE.search(archive) or DELIVERY_CONTAINER.search(archive)):
            delivered.setdefault(archive, category)
    if not delivered:
        return []
    reads = files & (event == "file_read") & view.desc_in("object_name", delivered)
    opened = _first_minute_by_subject(view, reads & (subject != ""))  # extractor -> its first read
    if not opened:
        return []
    runnable = view.desc_where("object_name", lambda n: bool(EXECUTABLE.search(n) or HOSTED_SCRIPT.search(n)), writes)
    extracted = runnable & view.desc_in("subject_name", opened)
    extracted &= view.last_minutes >= np.array([opened.get(s, np.iinfo(np.int64).max) for s in subject], dtype=np.int64)
    extracted &= view.desc_where("object_name", _unknown, extracted)
    if not extracted.any():
        return []
    out_names = view.values("object_name", extracted)
    # run: started as a process of its name, executed, or read by a script host or another
    # binary that runs the code it is given (wscript reading the .js; regsvr32 a .dll)
    started = view.present & (((desc["object_kind"] == "process") & (event == "process_start")) | (event == "execute"))
    hosted = files & (event == "file_read") & view.desc_where("subject_name", runs_what_it_reads, files & (event == "file_read"))
    ran = (started | hosted) & view.desc_in("object_name", out_names)
    ran_names = view.values("object_name", ran)
    if not ran_names:
        return []
    archives = sorted(a for a in delivered if (reads & view.named("object_name", a) & view.desc_in("subject_name", opened)).any())
    categories = sorted({delivered[a] for a in archives})
    techniques = sorted({t for c in categories for t in _CLIENT_TECHNIQUES[c]})
    clients = saved & view.desc_where("object_name", lambda n: completed_download(n) in archives, saved)
    clients &= view.desc_where("subject_name", lambda n: process_category(n) in _CLIENT_TECHNIQUES, clients)
    taken_out = extracted & view.desc_in("object_name", ran_names)
    run_rows = ran & view.desc_in("object_name", ran_names)
    who = " or ".join(categories)
    reason = (
        f"A {who} wrote {_names(set(archives))}; {_names(view.values('subject_name', taken_out))} read it and wrote "
        f"{_names(ran_names)}, which then ran: a program or script from a delivered archive, run on this host."
    )
    rows = view.rows_of(clients | (reads & view.desc_in("subject_name", view.values("subject_name", taken_out))) | taken_out | run_rows)
    return [cited(view, rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=tuple(techniques))]


# how long after a delivered disk image is opened a code runner it starts counts as running
# what the image held: the user double-clicks the shortcut in the mounted image at once
IMAGE_RUN_MINUTES = 10


def _client_deliveries(view: LogView, pattern: re.Pattern) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The named file descriptions present, their writes, and the writes by a mail client or
    browser of a file whose name matches ``pattern`` (a disk image, a launcher)."""
    desc = view.desc
    files = view.present & (desc["object_kind"] == "file") & ~view.desc_in("object_name", PLACEHOLDERS)
    writes = files & view.desc_in("event", ("file_create", "file_write"))
    matching = writes & view.desc_where("object_name", lambda n: bool(pattern.search(n)), writes)
    return files, writes, matching & view.desc_where("subject_name", lambda n: process_category(n) in _CLIENT_TECHNIQUES, matching)


def client_image_opened_and_run(view: LogView) -> list[StageEvidence]:
    """Code from a disk image (ISO, IMG, VHD) that a mail client or browser wrote, run: the
    user opens the image (Explorer mounts it: it reads the file) and a shortcut in it starts
    a script host, command shell or DLL runner on a script or library that the image holds
    (T1566.001, T1189; T1553.005, T1204.002). Mounted files are never written, so neither
    ``client_drops_executable`` nor ``client_archive_extracted_and_run`` sees them: counted
    is a process the opener started within ``IMAGE_RUN_MINUTES`` of opening the image that
    runs what it reads (``runs_what_it_reads``) reading, from then on, a program or script
    that no process of the log wrote and the knowledge base does not know."""
    desc = view.desc
    event, subject, name = desc["event"], desc["subject_name"], desc["object_name"]
    files, writes, clients = _client_deliveries(view, DELIVERY_CONTAINER)
    delivered = view.values("object_name", clients)
    if not delivered:
        return []
    opens = files & (event == "file_read") & view.desc_in("object_name", delivered) & (subject != "")
    opened = _first_minute_by_subject(view, opens)  # opener -> its first read of a delivered image
    starts = view.present & (event == "process_start") & view.desc_in("subject_name", opened)
    starts &= view.desc_where("object_name", runs_what_it_reads, starts)
    start_rows = view.expand(starts)
    at = np.flatnonzero(start_rows)
    opened_at = np.array([opened[s] for s in subject[view._codes[at]].tolist()], dtype=np.int64)
    start_rows[at[(view.minutes[at] < opened_at) | (view.minutes[at] > opened_at + IMAGE_RUN_MINUTES * MINUTE_NS)]] = False
    if not start_rows.any():
        return []
    runners = set(name[view._codes[start_rows]].tolist())
    # read as a file, not only loaded: every program loads system libraries the knowledge
    # base does not all name, and a library read is one the runner was pointed at
    code = files & (event == "file_read") & view.desc_in("subject_name", runners)
    code &= ~view.desc_in("object_name", view.values("object_name", writes))
    code &= view.desc_where(
        "object_name",
        lambda n: bool(EXECUTABLE.search(n) or HOSTED_SCRIPT.search(n)) and not n.lower().endswith(".lnk") and _unknown(n),
        code,
    )
    code_rows = view.expand(code) & (view.minutes >= int(view.minutes[start_rows].min()))
    staged_rows = np.zeros(len(code_rows), dtype=bool)
    if not code_rows.any():
        code_rows, staged_rows = _staged_code_loaded(view, runners, writes, start_rows)
    if not code_rows.any():
        return []
    ran = set(name[view._codes[code_rows]].tolist())
    by = set(subject[view._codes[code_rows]].tolist())
    # the opener's programs that ran the code, themselves or through a program they started
    launchers = (by & runners) | view.values("subject_name", view.present & (event == "process_start") & view.desc_in("subject_name", runners) & view.desc_in("object_name", by))
    start_rows &= view.expand(view.desc_in("object_name", launchers))
    categories = sorted({process_category(n) for n in view.values("subject_name", clients)})
    techniques = sorted({t for c in categories for t in _CLIENT_TECHNIQUES[c]} | {"T1553.005"})
    if staged_rows.any():
        stagers = set(subject[view._codes[staged_rows]].tolist())
        ran_how = (
            f"{_names(launchers)}, whose {_names(by)} loaded {_names(ran)}, a library written by {_names(stagers)}, which "
            f"{_names(launchers)} also started: code from the image, decoded and run on this host."
        )
    else:
        ran_how = f"{_names(by)}, which ran {_names(ran)}, a program or script that no process of the log wrote: code from the image, run on this host."
    reason = f"A {' or '.join(categories)} wrote the disk image {_names(delivered)}; {_names(set(opened))} opened it and started " + ran_how
    loads = view.present & (event == "module_load") & view.desc_in("object_name", ran) & view.desc_in("subject_name", by)
    rows = view.expand(clients | opens) | start_rows | code_rows | (view.expand(loads) & (view.minutes >= int(view.minutes[code_rows].min())))
    if staged_rows.any():  # and the launchers starting the stager and the loader
        rows |= staged_rows | view.expand(view.present & (event == "process_start") & view.desc_in("subject_name", launchers) & view.desc_in("object_name", by | stagers))
    return [cited(view, rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=tuple(techniques))]


def _staged_code_loaded(view: LogView, runners: set[str], writes: np.ndarray, start_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``client_image_opened_and_run``: the rows (from the first of ``start_rows``) of a
    program that ``runners`` started and that runs what it reads (regsvr32) loading a
    library another program they started had written (certutil decoding a payload the image
    holds into a ``.dat``), and the rows of those writes."""
    desc = view.desc
    event = desc["event"]
    started = view.values("object_name", view.present & (event == "process_start") & view.desc_in("subject_name", runners))
    none = np.zeros(len(view.minutes), dtype=bool)
    loaders = {p for p in started if runs_what_it_reads(p)}
    if not loaders:
        return none, none
    written = writes & view.desc_in("subject_name", started - loaders)
    loads = view.present & (event == "module_load") & view.desc_in("subject_name", loaders)
    loads &= view.desc_in("object_name", view.values("object_name", written) - PLACEHOLDERS)
    since = int(view.minutes[start_rows].min())
    load_rows = view.expand(loads) & (view.minutes >= since)
    if not load_rows.any():
        return none, none
    staged = written & view.desc_in("object_name", set(desc["object_name"][view._codes[load_rows]].tolist()))
    return load_rows, view.expand(staged) & (view.minutes >= since)


# launchers a desktop opens by running what they name: Linux desktop entries (Exec=) and
# Windows shortcuts; how soon after the opener reads one a shell it starts counts as the
# launcher's doing
LAUNCHER = re.compile(r"\.(desktop|lnk)$", re.I)
LAUNCHER_RUN_MINUTES = 2


def client_launcher_opened(view: LogView) -> list[StageEvidence]:
    """A launcher (a ``.desktop`` entry, a ``.lnk`` shortcut) that a mail client or browser
    wrote, read by another process (the file manager or desktop opening it) which, within
    ``LAUNCHER_RUN_MINUTES`` of that read, starts a shell or interpreter: a delivered
    shortcut run by the user (T1566.001, T1189; T1204.002). A launcher only written, or
    read by a process that starts nothing of the kind, claims nothing here."""
    desc = view.desc
    event, subject, name = desc["event"], desc["subject_name"], desc["object_name"]
    files, _, clients = _client_deliveries(view, LAUNCHER)
    delivered = view.values("object_name", clients)
    if not delivered:
        return []
    writers = view.values("subject_name", clients)
    opens = files & (event == "file_read") & view.desc_in("object_name", delivered) & (subject != "") & ~view.desc_in("subject_name", writers)
    opened = _first_minute_by_subject(view, opens)  # opener -> its first read of a delivered launcher
    if not opened:
        return []
    starts = view.present & (event == "process_start") & (desc["object_kind"] == "process") & view.desc_in("subject_name", opened)
    starts &= view.desc_where("object_name", lambda n: process_category(n) in SHELL_CATEGORIES, starts)
    start_rows = view.expand(starts)
    at = np.flatnonzero(start_rows)
    if not len(at):
        return []
    opened_at = np.array([opened[s] for s in subject[view._codes[at]].tolist()], dtype=np.int64)
    start_rows[at[(view.minutes[at] < opened_at) | (view.minutes[at] > opened_at + LAUNCHER_RUN_MINUTES * MINUTE_NS)]] = False
    if not start_rows.any():
        return []
    openers = set(subject[view._codes[start_rows]].tolist())
    shells = set(name[view._codes[start_rows]].tolist())
    categories = sorted({process_category(n) for n in writers})
    techniques = sorted({t for c in categories for t in _CLIENT_TECHNIQUES[c]})
    reason = (
        f"A {' or '.join(categories)} wrote the launcher {_names(delivered)}; {_names(openers)} opened it and, within "
        f"{LAUNCHER_RUN_MINUTES} minutes, started {_names(shells)}: a delivered shortcut run by the user."
    )
    rows = view.expand(clients | (opens & view.desc_in("subject_name", openers))) | start_rows
    return [cited(view, rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=tuple(techniques))]


# documents that can carry macros (the macro-enabled formats and the legacy binary ones)
MACRO_DOCUMENT = re.compile(r"\.(docm|dotm|xlsm|xltm|xlam|xlsb|pptm|potm|ppsm|doc|dot|xls|xlt|ppt|pps)$", re.I)
# how soon after the document is opened WMI starting a program counts as the macro's doing
MACRO_WMI_MINUTES = 2


def _accepted(view: LogView) -> np.ndarray:
    """The descriptions of connections this host accepted (per the event vocabulary's accept
    actions), computed once per view."""
    return view.derived("_accepted", lambda: view.present & (view.desc["event"] == "network_in") & view.desc_in("action", vocabulary().accept_actions))


def _wmi_provider_starts(view: LogView) -> np.ndarray:
    """The descriptions of WMI's provider host starting a shell, script host, admin tool or
    unknown program (``chain_child``): what a macro's, a subscription's or a remote WMI call
    runs."""
    desc = view.desc
    wmi = view.desc_where("subject_name", lambda n: n.casefold() == "wmiprvse.exe")
    starts = view.present & wmi & (desc["object_kind"] == "process") & (desc["event"] == "process_start")
    return starts & view.desc_where("object_name", lambda n: bool(n) and chain_child(n), starts)


def _login_servers(view: LogView) -> set[str]:
    """The remote login servers (``REMOTE_LOGIN_SERVERS``) the log shows running."""
    return {n for n in view.values("subject_name", view.present) if n.casefold() in REMOTE_LOGIN_SERVERS}


def office_macro_via_wmi(view: LogView) -> list[StageEvidence]:
    """A macro creating its process through WMI (``Win32_Process.Create``), which makes WMI's
    provider host, not Office, its parent (T1566.001, T1204.002, T1047): a document that can
    carry macros, written by a mail client or browser and read by an Office application,
    then, within ``MACRO_WMI_MINUTES`` of that read, ``WmiPrvSE.exe`` starting a shell, script
    host, admin tool or a program the knowledge base does not know, with no connection
    accepted from another host in those minutes (remote WMI is Lateral Movement's to weigh)."""
    desc = view.desc
    event, name = desc["event"], desc["object_name"]
    files = view.present & (desc["object_kind"] == "file") & ~view.desc_in("object_name", PLACEHOLDERS)
    writes = files & view.desc_in("event", ("file_create", "file_write"))
    delivered = writes & view.desc_where("object_name", lambda n: bool(MACRO_DOCUMENT.search(n)), writes)
    delivered &= view.desc_where("subject_name", lambda n: process_category(n) in _CLIENT_TECHNIQUES, delivered)
    if not delivered.any():
        return []
    opened = files & (event == "file_read") & view.desc_in("object_name", view.values("object_name", delivered))
    opened &= view.desc_where("subject_name", lambda n: process_category(n) == "office application", opened)
    if not opened.any():
        return []
    starts = _wmi_provider_starts(view)
    if not starts.any():
        return []
    accepted = _accepted(view)
    open_rows, start_rows, accept_rows = view.rows_of(opened), view.rows_of(starts), view.rows_of(accepted)
    minutes = view.minutes
    first_open = int(minutes[open_rows].min())
    hits = start_rows[(minutes[start_rows] >= first_open) & (minutes[start_rows] <= first_open + MACRO_WMI_MINUTES * MINUTE_NS)]
    # none accepted between the document's opening and the start: before the first accepted
    # connection from then on
    accepted_since = minutes[accept_rows][minutes[accept_rows] >= first_open]
    if len(accepted_since):
        hits = hits[minutes[hits] < accepted_since.min()]
    if not len(hits):
        return []
    documents = view.values("object_name", opened)
    clients = view.values("subject_name", delivered & view.desc_in("object_name", documents))
    categories = sorted({process_category(c) for c in clients})
    techniques = sorted({t for c in categories for t in _CLIENT_TECHNIQUES[c]} | {"T1047"})
    started = set(name[view._codes[hits]].tolist())
    reason = (
        f"A {' or '.join(categories)} wrote {_names(documents)}, a document that can carry macros; {_names(view.values('subject_name', opened))} "
        f"opened it, and within {MACRO_WMI_MINUTES} minutes WMI's provider host started {_names(started)} with no connection from another "
        "host: a macro creating its process through WMI, so that Office is not its parent."
    )
    rows = view.rows_of(delivered & view.desc_in("object_name", documents)), open_rows, hits
    return [cited(view, *rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=tuple(techniques))]


# remote support software (TeamViewer, AnyDesk): a help desk's channel, or an intruder's
REMOTE_ACCESS_TOOL = "remote access tool"


# the Windows kernel's process, home of the SMB server: what another host writes or removes
# over a file share, the log attributes to it
FILE_SHARE_SERVER = "System"


def _history_saved(view: LogView, truncated: np.ndarray) -> np.ndarray:
    """The ``truncated`` descriptions that are a shell saving its history: the shell
    truncating its own history file and writing it in the same minute, every time (bash
    trims the file to its size limit and writes it back as it exits). Emptying it leaves
    it empty (``cat /dev/null >``), or removes it."""
    from ..grounding.semantic import support_table

    desc = view.desc
    histories = support_table().shell_histories  # stage_support.yaml's log_overwrites.shell_histories
    saving = truncated & view.desc_where("object_name", lambda n: n.casefold() in histories, truncated)
    saving &= view.desc_where("subject_name", lambda n: process_category(n) == "shell", saving)
    if not saving.any():
        return saving
    writes = view.present & (desc["event"] == "file_write") & view.desc_in("object_name", view.values("object_name", saving))
    rows = view.rows_of(writes)
    written = set(zip(desc["subject_name"][view._codes[rows]].tolist(), desc["object_name"][view._codes[rows]].tolist(), view.minutes[rows].tolist()))
    rows = view.rows_of(saving)
    unsaved = {
        int(code)
        for code, subject, name, minute in zip(view._codes[rows].tolist(), desc["subject_name"][view._codes[rows]].tolist(), desc["object_name"][view._codes[rows]].tolist(), view.minutes[rows].tolist())
        if (subject, name, minute) not in written
    }
    if unsaved:
        saving[list(unsaved)] = False
    return saving


def covering_tracks(view: LogView) -> list[StageEvidence]:
    """Deleting what the subgraph wrote, executed or chmod'ed, binaries, scripts or logs."""
    desc = view.desc
    named = ~view.desc_in("object_name", PLACEHOLDERS) & view.desc_in("object_kind", ("file", "link"))
    deleted = named & (desc["event"] == "file_delete") & view.present
    truncated = named & (desc["event"] == "file_truncate") & view.present
    truncated &= ~_history_saved(view, truncated)
    if not deleted.any() and not truncated.any():
        return []
    producing = named & view.desc_in("event", ("file_write", "file_create", "execute", "file_attribute"))
    produced = view.values("object_name", producing)
    # a program that ran in the subgraph (a process of its name) deleting its own image: an
    # implant removing itself (a program the knowledge base knows is left to the other tests)
    self_deleting = deleted & (desc["subject_name"] == desc["object_name"])
    self_deleting &= view.desc_where("object_name", _unknown, self_deleting)
    produced = produced | view.values("object_name", self_deleting)
    # or another process deleting it (``rm`` run by the implant's shell): the image of a
    # program the log shows at work, which nothing the knowledge base knows is called
    running = view.values("subject_name", view.present & (desc["subject_name"] != ""))
    produced = produced | {n for n in view.values("object_name", deleted & view.desc_in("object_name", running)) if _unknown(n)}
    stems = compiler_stems(view.values("object_name", view.present))
    # what only a build from source wrote (configure's conftest) is the build's to clean up
    built = build_outputs(view)
    built = view.values("object_name", built) - view.values("object_name", producing & ~built & ~view.desc_in("event", ("execute", "file_attribute")))
    # but a public exploit or credential tool the build made is the attack's own tool, whoever
    # compiled it (upstream44 compiled, run as root, then removed)
    built = {n for n in built if (entry := lookup(n, "process")) is None or entry.category not in ATTACK_TOOLS}
    # and so is one the log shows at an exploit's work (``_exploit_programs``: Dirty COW's
    # race through procfs, a kernel exploit's look at the symbol table), under any name
    if built:
        built -= _exploit_programs(view)
    # both tests are read at the deleted descriptions only
    routine = _by_routine_writers(view, deleted)
    # an application's updater (Teams' Update.exe) removing the packages it downloaded
    routine |= deleted & view.desc_in("subject_name", view.values("subject_name", self_updates(view)))
    # and the updated program removing itself when done (Chrome Cleanup's reporter), and the
    # update program removed once it has run (Zoom deleting the installer it started)
    updates = self_updates(view)
    routine |= deleted & view.desc_in("object_name", view.values("object_name", updates) | view.values("subject_name", updates))
    routine |= _replaced(view, deleted)
    # a program deleting its own previous image, kept under an old name while the updated
    # one took its place (Chrome's old_chrome.exe, app.exe.old), unless in an attack chain
    replaced_images = deleted & view.pattern_flags(lambda r: bool(r.subject) and r.object.casefold() in old_images(r.subject), deleted)
    if replaced_images.any():
        routine |= replaced_images & ~in_chain(view, attack_chain(view))
    # a build's own cleanup (configure removing the test program it compiled and ran, make
    # clean), unless the log shows the build acting for an attacker (an implant's make)
    builders = deleted & view.desc_where("subject_name", build_tool, deleted)
    # (and what a build driver's recipes run: make clean's shell running rm)
    drivers = {n for n in view.subjects if n.casefold() in roles()["build_driver_names"]}
    if drivers:
        builders |= deleted & descendant_subjects(view, drivers)
    if builders.any():
        routine |= builders & ~in_chain(view, acting_for_an_attacker(view))
    # a remote-session host's own program removed (PsExec deleting PSEXESVC.exe as its session
    # ends): the tool's cleanup at every session, whoever opened it (the session itself is
    # weighed as Lateral Movement)
    routine |= deleted & view.desc_where("object_name", remote_session_host, deleted)
    # a launcher removing its own 64-bit build (Sysinternals' tools write NAME64.exe to a
    # temporary folder, run it and delete it at every run), whoever ran the tool
    routine |= deleted & view.pattern_flags(lambda r: bool(r.subject) and own_64_bit_build(r.subject, r.object), deleted)
    # a package file (a wheel, a .deb, an .rpm...) its writer removes once installed: pip and
    # the other installers fetch into a temporary folder and clear it, whoever started them
    packages = deleted & view.desc_where("object_name", lambda n: bool(PACKAGE_FILE.search(n)), deleted)
    if packages.any():
        own = view.pairs(view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", view.values("subject_name", packages)))
        routine |= view.pattern_flags(lambda row: (row.subject, row.object) in own, packages)
    # an agent that runs its own scripts removing one it wrote (an EDR's investigation script),
    # or the kernel's file server (``System``) or the log's unnamed process removing it: a
    # deployment console clearing what its runner wrote, over the admin share
    agent_writes = view.present & view.desc_in("event", ("file_write", "file_create"))
    agent_writes &= view.desc_where("subject_name", script_running_agent, agent_writes)
    if agent_writes.any():
        own = view.pairs(agent_writes)
        agents = deleted & view.desc_where("subject_name", script_running_agent, deleted)
        by_share = deleted & view.desc_in("subject_name", ("", FILE_SHARE_SERVER)) & view.desc_in("object_name", {name for _, name in own})
        cleared = view.pattern_flags(lambda row: (row.subject, row.object) in own, agents) | by_share
        routine |= cleared & ~in_chain(view, acting_for_an_attacker(view))
    # an application's own data (the knowledge base's ``application data``: Mozilla's downloaded
    # update.mar, applied and removed) deleted by a user application or by a process the log
    # does not name, most likely that application, outside an attack chain
    # (whoever wrote it in the subgraph is such a process too: an unknown program's files under
    # a mail client's names stay evidence)
    app_data = deleted & view.desc_where("object_name", _application_data, deleted)
    if app_data.any():
        written_by: dict[str, set[str]] = {}
        for subject, name in zip(desc["subject_name"][producing & view.present].tolist(), desc["object_name"][producing & view.present].tolist()):
            written_by.setdefault(name, set()).add(subject)
        # the unnamed process stands for the application only where the log names no program
        # the knowledge base does not know (an unknown program may be the unnamed one)
        started = view.present & (desc["object_kind"] == "process") & view.desc_in("event", ("process_start", "execute"))
        unnamed_ok = not any(_unknown_program(n) for n in set(view.subjects) | view.values("object_name", started))
        app_own = view.pattern_flags(
            lambda r: all((user_application(w) if w else unnamed_ok) for w in {r.subject} | written_by.get(r.object, set())), app_data
        )
        routine |= app_own & ~in_chain(view, acting_for_an_attacker(view))
    # a copy tool deleting a file it read (robocopy /MOV, mv across file systems): the file
    # moved elsewhere, not removed, unless the log shows the tool acting for an attacker
    movers = deleted & view.desc_where("subject_name", local_copier, deleted)
    if movers.any():
        read = view.pairs(view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", view.values("subject_name", movers)))
        routine |= view.pattern_flags(lambda row: (row.subject, row.object) in read, movers) & ~in_chain(view, acting_for_an_attacker(view))
    # so is a file a copy tool copied before another process deleted it, where the copy stays
    # (cp lx.so libx.so.1, then rm lx.so: mv in two commands)
    # (a move whatever program makes it, where the log keeps the paths: the file stays,
    # elsewhere, whoever moved it)
    routine |= _relocated_before_deletion(view, deleted & ~movers)
    copied = _copied_before_deletion(view, deleted & ~movers)
    if copied.any():
        routine |= copied & ~in_chain(view, acting_for_an_attacker(view))
    # (a staged archive its deleter sent out is no temporary file, whatever name it took:
    # a collector's archive named like Word's ~WRS0001.tmp)
    churn = explained_rows(view, "Covering Tracks", deleted) & ~_sent_archives(view, deleted)

    def counts(name: str) -> bool:
        if compiler_temporary(name, stems) or GCC_TEMPORARY.match(name) or LOCK_FILE.match(name):
            return False  # the .NET compiler's and GCC's own temporary files; a lock released
        if name in built:
            return False
        return name in produced or bool(SCRIPT_OR_BINARY.search(name)) or _is_log(name)

    # a user application (``user_applications`` in roles.yaml) deleting its own working
    # files is its ordinary work; unnamed deleters count as such when every process the
    # subgraph names is one. Its deleted programs, scripts and logs count.
    by_client = deleted & view.desc_where("subject_name", user_application, deleted)
    if _only_clients(view):
        by_client |= deleted & (desc["subject_name"] == "")

    def program_or_log(name: str) -> bool:
        """A program, script or log; a name without an extension the knowledge base does not
        know counts as a program only where the subgraph ran or chmod'ed it (``ran``)."""
        unknown_program = "." not in name and lookup(name, "file") is None and not DATA_NAME.match(name) and name in ran
        return bool(SCRIPT_OR_BINARY.search(name)) or _is_log(name) or unknown_program

    # a system process or service deleting its own working files does the same, unless the
    # log shows it acting for an attacker (a service host running PowerShell). For both, a
    # name without an extension is a program only where the subgraph ran or chmod'ed it: a
    # spool's d00042-001, a backup application's mktemp file are working files
    own_work = deleted & ~by_client & view.desc_where("subject_name", own_file_cleaner, deleted)
    if own_work.any():
        own_work &= ~in_chain(view, acting_for_an_attacker(view))
    ran = frozenset(view.values("object_name", named & view.desc_in("event", ("execute", "file_attribute", "process_start"))))
    counted = view.desc_where("object_name", counts, deleted & ~by_client & ~own_work) | view.desc_where("object_name", program_or_log, by_client | own_work)
    # and any log by its name (`*.log`, `.evtx`, a history) an attack chain's process deleted:
    # a web server's access logs the knowledge base cannot list (IIS's u_ex190925.log); the
    # chain's own, not any PowerShell's (a scheduled retention script purges them too)
    chained = deleted & in_chain(view, attack_chain(view)) if deleted.any() else deleted
    if chained.any():
        counted |= view.desc_where("object_name", lambda n: bool(LOG_LIKE.search(n)), chained)
    # and a file such a process wrote itself, which nothing in the subgraph ran or loaded, is
    # its working file whatever its extension (the compatibility appraiser's telemetry .bin
    # written, sent and removed); a log stays a log
    if own_work.any():
        wrote = view.pairs(view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", view.values("subject_name", own_work)))
        used = _ran_or_loaded(view)
        counted &= ~view.pattern_flags(lambda row: (row.subject, row.object) in wrote and row.object not in used and not _is_log(row.object), own_work)
    # a message a client composed, written, read back and deleted by it and never run, is its
    # working file whatever its name (``_clients_own_temporaries``)
    # a package a package manager installed from (a downloaded .deb after dpkg -i), removed
    # afterwards by a process not acting for an attacker, is tidying, not a trace erased
    # (Windows Installer, msiexec, is Windows' package manager: the .msi it read)
    reads = named & (desc["event"] == "file_read")
    installed_from = view.values("object_name", reads & view.desc_where("subject_name", lambda n: process_category(n) == "package manager" or n.casefold() in WINDOWS_INSTALLERS, reads))
    # or a package file itself (``.deb``, ``.rpm``) where a package manager runs in the
    # subgraph, whichever process the log names for its steps (apt's download method writes
    # it, an unnamed dpkg reads it, apt-get removes what it fetched)
    if any(process_category(n) == "package manager" for n in view.subjects):
        installed_from |= {n for n in view.values("object_name", deleted) if PACKAGE_FILE.search(n)}
    # and a package manager's installer the subgraph ran (rustup-init fetched by the install
    # script, run and removed by it): the install's temporary program
    installed_from |= {n for n in view.values("object_name", deleted & view.desc_in("object_name", ran)) if process_category(n) == "package manager"}
    if installed_from:
        routine |= deleted & view.desc_in("object_name", installed_from) & ~in_chain(view, acting_for_an_attacker(view))
    # a crashed program's core dump (firefox.core, core.4711) deleted once read is no trace
    # of an intrusion: the kernel writes it under the program's name
    counted &= ~view.desc_in("object_name", _core_dumps(view))
    hits = deleted & counted & ~_clients_own_temporaries(view) & ~routine & ~churn & ~_compressed_originals(view, deleted) & ~_own_working_files(view, deleted & ~by_client) & ~_emptied_from_trash(view, deleted) & ~_unused_downloads(view, deleted)
    # (and the login history: wtmp, lastlog, btmp; not utmp, the current sessions, which
    # the system empties at every boot); a log rotator's truncation after it copied the log
    # (logrotate's copytruncate) is its rotation
    logs = truncated & view.desc_where("object_name", lambda n: _is_log(n) or _login_history(n), truncated)
    rotated = logs & view.desc_where("subject_name", log_rotator, logs)
    if rotated.any():
        logs &= ~(rotated & ~in_chain(view, acting_for_an_attacker(view)))
    if not hits.any() and not logs.any():
        return []
    hit_names = view.values("object_name", hits)
    log_names = view.values("object_name", logs)
    names = hit_names | log_names
    context = producing & view.desc_in("object_name", names)
    parts = []
    own = {n for n in hit_names if n in produced}
    if own:
        parts.append(f"files the subgraph itself wrote, ran or chmod'ed were deleted ({_names(own)})")
    other = hit_names - own
    if other:
        parts.append(f"binaries, scripts or logs were deleted ({_names(other)})")
    if log_names:
        parts.append(f"log files were truncated ({_names(log_names)})")
    # a staged archive its deleter sent out first: the sends are cited too (the staging's
    # erasure stands on them, whatever temporary name the archive took)
    sent = hits & _sent_archives(view, deleted)
    sends = view.rows_of(_sends_off_host(view) & view.desc_in("subject_name", view.values("subject_name", sent)))[:3] if sent.any() else np.array([], dtype=np.int64)
    if len(sends):
        parts.append(f"{_names(view.values('object_name', sent))} had been sent out before: staged data carried off and its staging erased")
    techniques = ("T1070.004",) + (("T1070.002",) if any(_is_log(n) for n in names) else ())
    confidence = "high" if len(names) >= 2 or any(_is_log(n) for n in names) else "moderate"
    reason = "; ".join(parts)
    reason = reason[:1].upper() + reason[1:] + "."
    return [cited(view, view.rows_of(hits), view.rows_of(logs), view.rows_of(context), sends, stage="Covering Tracks", confidence=confidence, rationale=reason, tactic="TA0005", techniques=techniques)]


# a file deleted and created again this soon by the same process was replaced, not removed
REPLACED_SECONDS = 60


def _replaced(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of a file that the deleting process wrote or created again
    after each deletion, within ``REPLACED_SECONDS`` (certbot pointing a certificate's link at
    its new version, an atomic replace): an update of the file, outside an attack chain. Not
    a log: a log deleted and created empty is a log wiped. Times are the log rows' own (a
    write earlier in the deletion's minute is no replacement)."""
    desc = view.desc
    candidates = deleted & (desc["subject_name"] != "") & ~view.desc_where("object_name", lambda n: _is_log(n) or bool(LOG_LIKE.search(n)), deleted)
    # nor a program, script or library the log ran or loaded: what ran and was then deleted
    # is weighed as such, however the seconds of one minute order its rows
    candidates &= ~view.desc_in("object_name", _ran_or_loaded(view))
    found = np.zeros(len(deleted), dtype=bool)
    if not candidates.any():
        return found
    again = view.present & view.desc_in("event", ("file_write", "file_create"))
    again &= view.desc_in("object_name", view.values("object_name", candidates))
    if not again.any():
        return found
    log = view.facts.timeline.log
    first_time, last_time = log["first_time"], log["last_time"]
    codes = view._codes
    rewritten: dict[tuple[str, str], list[int]] = {}
    for position in view.rows_of(again).tolist():
        described = codes[position]
        rewritten.setdefault((desc["subject_name"][described], desc["object_name"][described]), []).append(position)
    window = REPLACED_SECONDS * 1_000_000_000
    # each name's write times sorted once: a deletion row asks for the first write after it
    # (a name deleted and written again a million times costs a sort, not a million scans)
    times = {key: np.sort(last_time[positions]) for key, positions in rewritten.items()}
    every: dict[int, bool] = {}  # per deleted description: whether each of its rows was followed by a write
    for position in view.rows_of(candidates).tolist():
        described = int(codes[position])
        later = times.get((desc["subject_name"][described], desc["object_name"][described]))
        at = first_time[position]
        followed = False
        if later is not None:
            after = int(np.searchsorted(later, at, side="right"))
            followed = after < len(later) and later[after] <= at + window
        every[described] = every.get(described, True) and bool(followed)
    found[[described for described, replaced in every.items() if replaced]] = True
    if found.any():
        found &= ~in_chain(view, acting_for_an_attacker(view))
    return found


def old_images(program: str) -> frozenset[str]:
    """The names an update gives a program's previous image while the new one takes its
    place: ``old_NAME``, ``NAME.old``, ``NAME.bak`` and ``STEM.old.EXT`` (case-folded)."""
    name = program.casefold()
    stem, dot, ext = name.rpartition(".")
    names = {f"old_{name}", f"{name}.old", f"{name}.bak"}
    if dot and stem:
        names.add(f"{stem}.old.{ext}")
    return frozenset(names)


def _is_log(name: str) -> bool:
    return getattr(lookup(name, "file"), "category", None) == "log file"


# the names the kernel gives a crashed program's core dump: core, core.<pid>, <program>.core
CORE_DUMP = re.compile(r"^(core(\.\d+)?|.+\.core)$")


def _core_dumps(view: LogView) -> set[str]:
    """Core dumps the log shows written (``CORE_DUMP``) that nothing ran or loaded: a
    crashed program's memory, as the kernel writes it under the crashed process."""
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_where("object_name", lambda n: bool(CORE_DUMP.match(n)), view.present)
    return view.values("object_name", writes) - _ran_or_loaded(view)


# the login records of current sessions, which the system empties at boot
CURRENT_SESSION_RECORDS = frozenset({"utmp", "utx.active"})


def _login_history(name: str) -> bool:
    """A login history file (wtmp, lastlog, btmp): the knowledge base's login records, less
    the current sessions' (``CURRENT_SESSION_RECORDS``)."""
    return getattr(lookup(name, "file"), "category", None) == "login records" and name.casefold() not in CURRENT_SESSION_RECORDS


def _ran_or_loaded(view: LogView) -> set[str]:
    """The file names the log runs, loads or changes the mode of (computed once per view):
    what the deletion tests weigh as a program, not a working file."""
    events = ("execute", "process_start", "module_load", "file_attribute")
    return view.derived("_ran_or_loaded", lambda: frozenset(view.values("object_name", view.present & view.desc_in("event", events))))


def _object_values(view: LogView, descriptions: np.ndarray) -> dict[int, set[str]]:
    """Each of these descriptions (a mask) -> the full values of its objects, triple by
    triple: a description names a file by its base name, which many paths share."""
    timeline = view.facts.timeline
    found: dict[int, set[str]] = {}
    if not len(timeline.triple_description) or not descriptions.any():
        return found
    hit = np.flatnonzero(descriptions[timeline.triple_description])
    values = timeline.table.triples["object_value"][hit].tolist()
    for position, value in zip(timeline.triple_description[hit].tolist(), values):
        found.setdefault(position, set()).add(str(value))
    return found


def _ran_paths(view: LogView) -> dict[str, frozenset[str]]:
    """Each file name the log runs, loads or changes the mode of -> the full paths of what
    ran under it, where every such row gives one (computed once per view): a name that
    also ran without a path may be any file of that name."""

    def compute() -> dict[str, frozenset[str]]:
        events = ("execute", "module_load", "file_attribute")
        ran = view.present & view.desc_in("event", events) & ~view.desc_in("object_kind", ("process",))
        paths: dict[str, set[str]] = {}
        pathless: set[str] = set()
        names = view.desc["object_name"]
        for position, values in _object_values(view, ran).items():
            name = names[position]
            for value in values:
                if _FOLDER.search(value):
                    paths.setdefault(name, set()).add(value)
                else:
                    pathless.add(name)
        return {name: frozenset(found) for name, found in paths.items() if name not in pathless}

    return view.derived("_ran_paths", compute)


_FOLDER = re.compile(r"[/\\][^/\\]")  # a path with a folder, not a bare name


def _other_files_of_ran_names(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions whose files, named as a program that ran, are all shown
    by their full paths to be other files: ``crontab -e``'s copy ``/tmp/crontab.X/crontab``,
    not the ``/usr/bin/crontab`` that ran."""
    found = np.zeros(len(deleted), dtype=bool)
    ran = _ran_paths(view)
    candidates = deleted & view.desc_in("object_name", set(ran))
    names = view.desc["object_name"]
    for position, values in _object_values(view, candidates).items():
        found[position] = all(_FOLDER.search(v) for v in values) and not ran[names[position]].intersection(values)
    return found


def _application_data(name: str) -> bool:
    return getattr(lookup(name, "file"), "category", None) == "application data"


def _first_minutes_where(view: LogView, described: np.ndarray, allowed: dict[str, set[int]]) -> tuple[dict[str, int], list[int]]:
    """Of the rows of the ``described`` descriptions, those in a minute ``allowed`` holds for
    their subject: each object name's first such minute, and the rows (one pass)."""
    desc = view.desc
    first: dict[str, int] = {}
    rows = []
    for position in view.rows_of(described).tolist():
        code = view._codes[position]
        minute = int(view.minutes[position])
        if minute in allowed.get(desc["subject_name"][code], ()):
            name = desc["object_name"][code]
            first[name] = min(first.get(name, minute), minute)
            rows.append(position)
    return first, rows


def _copied_before_deletion(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of a file that a local copy tool (``local_copiers``: cp)
    read, in a minute it wrote another file, by the deletion's minute, where nothing in the
    log deletes that other file: the file moved, in two commands, not erased."""
    desc = view.desc
    found = np.zeros(len(deleted), dtype=bool)
    if not deleted.any():
        return found
    copiers = {n for n in view.subjects if n and local_copier(n)}
    if not copiers:
        return found
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file") & view.desc_in("subject_name", copiers)
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & (desc["object_kind"] == "file") & view.desc_in("subject_name", copiers)
    removed = view.values("object_name", view.present & view.desc_in("event", ("file_delete",)))
    # each copier's minutes with a write of a file that stays, from one pass
    kept_minutes: dict[str, set[int]] = {}
    for position in view.rows_of(writes).tolist():
        code = view._codes[position]
        if desc["object_name"][code] not in removed:
            kept_minutes.setdefault(desc["subject_name"][code], set()).add(int(view.minutes[position]))
    # a file -> the first minute a copier read it as it wrote a copy
    first_copy, _ = _first_minutes_where(view, reads, kept_minutes)
    if not first_copy:
        return found
    for at in np.flatnonzero(deleted & view.desc_in("object_name", set(first_copy))).tolist():
        found[at] = int(view.last_minutes[at]) >= first_copy[desc["object_name"][at]]
    return found


def _relocated_before_deletion(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of a file that its deleter read and, by the deletion's
    minute, wrote under the same name at another path that nothing in the log deletes,
    where the log keeps paths: a file moved in two steps by any program (PowerShell's
    Copy-Item to an archive folder, then Remove-Item), not erased. Where the log keeps only
    names, a write of the same name is no other file."""
    desc = view.desc
    found = np.zeros(len(deleted), dtype=bool)
    deleters = view.values("subject_name", deleted) - PLACEHOLDERS
    if not deleters:
        return found
    removed = {p for at in np.flatnonzero(view.present & (desc["event"] == "file_delete")).tolist() for p in view.pattern_rows[at].object_paths}
    theirs = view.present & view.desc_in("subject_name", deleters) & (desc["object_kind"] == "file")
    read = view.pairs(theirs & (desc["event"] == "file_read"))
    # each (writer, name) -> the paths it wrote under that name and its first minute
    written: dict[tuple[str, str], tuple[set[str], int]] = {}
    for at in np.flatnonzero(theirs & view.desc_in("event", ("file_write", "file_create"))).tolist():
        row = view.pattern_rows[at]
        paths, first = written.get((row.subject, row.object), (set(), int(view.first_minutes[at])))
        written[(row.subject, row.object)] = (paths | set(row.object_paths), min(first, int(view.first_minutes[at])))
    for at in np.flatnonzero(deleted & view.desc_in("subject_name", deleters)).tolist():
        row = view.pattern_rows[at]
        paths, first = written.get((row.subject, row.object), (set(), 0))
        found[at] = (row.subject, row.object) in read and bool(paths - set(row.object_paths) - removed) and first <= int(view.last_minutes[at])
    return found


def _own_working_files(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of a working file that the deleting process itself wrote
    and that never ran, loaded or had its mode changed in the log, outside an attack chain:
    a temporary file (``NAME.tmp``, a partial download) whoever deletes it (pip removing the
    wheels it downloaded), and any other file that is no program, script or log when a
    program the knowledge base knows deletes it (logwatch's perl its mailed report, logrotate
    the logs it rotated), a name without an extension included where it never ran. An
    unknown program's deletions of what it wrote, and a process acting for an attacker
    deleting what it staged, still cover tracks. (A user application's deletions are weighed
    apart, by ``covering_tracks``.)"""
    desc = view.desc

    def working_file(name: str) -> bool:
        return not SCRIPT_OR_BINARY.search(name) and not _is_log(name)

    temporary = deleted & view.desc_where("object_name", working_file, deleted)
    if not temporary.any():
        return temporary
    writes = view.present & view.desc_in("event", ("file_write", "file_create"))
    written = view.pairs(writes)
    run = _ran_or_loaded(view)
    found = np.zeros(len(deleted), dtype=bool)
    # a temporary file counts whoever deletes it (a script's rm removing what its fetch
    # downloaded); any other working file only where its own writer deletes it, or another
    # command of the same script wrote it (a backup job's gzip writing the archive its rm
    # removes once sent), unless that archive went to a public address first
    written_names = {name for _, name in written}
    writers_of: dict[str, set[str]] = {}
    for writer, name in written:
        writers_of.setdefault(name, set()).add(writer)
    other_files = _other_files_of_ran_names(view, temporary)
    fellows: dict[str, set[str]] = {}
    sent_out: set[str] | None = None
    for at in np.flatnonzero(temporary).tolist():
        subject, name = desc["subject_name"][at], desc["object_name"][at]
        if name in run and not other_files[at]:
            continue
        if TEMPORARY_FILE.search(name):
            found[at] = name in written_names
        elif bool(subject) and lookup(subject, "process") is not None:
            if (subject, name) in written:
                found[at] = True
            elif writers_of.get(name):
                if subject not in fellows:
                    # the commands of the shell or program that started the deleter, one the
                    # knowledge base knows (a job's sh): not an unknown program's (an implant's
                    # shell removing what its exploit built)
                    launchers = set(launchers_by_name(view).get(subject, ()))
                    known = bool(launchers) and not any(_unknown_program(n) for n in launchers)
                    fellows[subject] = view.values("subject_name", descendant_subjects(view, launchers)) if known else set()
                if writers_of[name] <= fellows[subject]:
                    sent_out = _archives_sent_out(view) if sent_out is None else sent_out
                    found[at] = name not in sent_out
    if found.any():
        found &= ~in_chain(view, acting_for_an_attacker(view)) | _handed_inputs(view, found) | _scratch_files(view, found)
        found &= ~_sent_archives(view, deleted)
    return found


def _scratch_files(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of a temporary file (``TEMPORARY_FILE``) that its deleter
    alone wrote, within the minute before, and that no other process read: the program's
    own scratch file (a loader's ``_tmp9A3F.tmp``), whoever the program is; what it staged
    for another process, or kept, is no scratch."""
    desc = view.desc
    scratch = deleted & view.desc_where("object_name", lambda n: bool(TEMPORARY_FILE.search(n)), deleted)
    if not scratch.any():
        return scratch
    names = view.values("object_name", scratch)
    touched = view.present & view.desc_in("object_name", names) & view.desc_in("event", ("file_write", "file_create", "file_read", "file_rename"))
    # each name's processes and first minute, from one pass (a crafted log of many processes
    # touching one name costs no more)
    by_name: dict[str, tuple[set[str], int]] = {}
    for at in np.flatnonzero(touched).tolist():
        who, first = by_name.get(desc["object_name"][at], (set(), int(view.first_minutes[at])))
        who.add(desc["subject_name"][at])
        by_name[desc["object_name"][at]] = (who, min(first, int(view.first_minutes[at])))
    found = np.zeros(len(deleted), dtype=bool)
    for at in np.flatnonzero(scratch).tolist():
        subject, (who, first) = desc["subject_name"][at], by_name.get(desc["object_name"][at], (set(), 0))
        if subject and who == {subject}:
            found[at] = int(view.first_minutes[at]) - first <= MINUTE_NS
    return found


def _archives_sent_out(view: LogView) -> set[str]:
    """The archives (``ARCHIVE``) a process read and then sent to a public address after
    (``_public_sends``): staged data carried off, whoever removes it afterwards."""
    public = _public_sends(view)
    if not public.any():
        return set()
    desc = view.desc
    last_sent: dict[str, int] = {}
    for at in np.flatnonzero(public).tolist():
        who = desc["subject_name"][at]
        last_sent[who] = max(last_sent.get(who, 0), int(view.last_minutes[at]))
    sent = {archive for (reader, archive), first in _archive_first_reads(view).items() if reader in last_sent and last_sent[reader] >= first}
    # and an archive's encoded copy a sender read before it sent (certutil writing the cab as
    # base64 for BITS to carry), with the archive it was made from
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file") & view.desc_in("subject_name", set(last_sent))
    carried: set[str] = set()  # files a sender read by its last send, from one pass over the reads
    for at in np.flatnonzero(reads).tolist():
        name = desc["object_name"][at]
        if not ARCHIVE.search(name) and last_sent[desc["subject_name"][at]] >= int(view.first_minutes[at]):
            carried.add(name)
    if carried:
        archive_readers: dict[str, set[str]] = {}
        for reader, archive in _archive_first_reads(view):
            archive_readers.setdefault(reader, set()).add(archive)
        writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_name", carried) & view.desc_in("subject_name", set(archive_readers))
        for writer, copy in view.pairs(writes):
            sent |= {copy} | archive_readers[writer]
    return sent


def _handed_inputs(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of a temporary file (by its name) that its deleter wrote
    and handed to a program it started, which read it and runs nothing it reads: a command's
    input, whoever the shell works for (a shell writing the new table to ``tmp.XXXXXX``,
    ``crontab`` installing it, the shell removing it), the mechanism of the command, not a
    trace erased. What a shell or interpreter it started read is a script it ran."""
    desc = view.desc
    found = np.zeros(len(deleted), dtype=bool)
    temporary = deleted & (desc["subject_name"] != "") & view.desc_where("object_name", lambda n: bool(TEMPORARY_FILE.search(n)), deleted)
    if not temporary.any():
        return found
    names = view.values("object_name", temporary)
    written = view.pairs(view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_name", names))
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("object_name", names)
    readers_of: dict[str, set[str]] = {}
    for reader, name in view.pairs(reads):
        if reader and not runs_what_it_reads(reader):
            readers_of.setdefault(name, set()).add(reader)
    started = view.pairs(view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process"))
    for at in np.flatnonzero(temporary).tolist():
        subject, name = desc["subject_name"][at], desc["object_name"][at]
        found[at] = (subject, name) in written and any((subject, reader) in started for reader in readers_of.get(name, ()) if reader != subject)
    return found


def _sent_archives(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of an archive (or a file staged under any name,
    ``_staged_files``) that its deleter wrote (itself, or through an archiver it started),
    read back and then sent to another host
    (``_sends_off_host``: a public address, or a host of the site it stages on) before the
    deletion: staged data carried off and its staging
    erased, never a working file (a collector zipping documents, uploading and removing the
    zip). One pass over the archive deletions, each asking its own deleter's rows."""
    desc = view.desc
    staged = _staged_files(view)
    archives = deleted & view.desc_where("object_name", lambda n: bool(ARCHIVE.search(n)) or n in staged, deleted)
    found = np.zeros(len(deleted), dtype=bool)
    if not archives.any():
        return found
    public = _sends_off_host(view)
    if not public.any():
        return found
    written = view.pairs(view.present & view.desc_in("event", ("file_write", "file_create")))
    # (or an archiver it started wrote: rar packing for the implant that sends and removes it)
    started_by = launchers_by_name(view)
    written |= {(parent, name) for child, name in written if archiver(child) for parent in started_by.get(child, ())}
    # the first read of each (reader, archive), and one pass over each sender's send minutes
    first_read = _archive_first_reads(view)
    sent: dict[str, tuple[int, int]] = {}
    for at in np.flatnonzero(public).tolist():
        who, first, last = desc["subject_name"][at], int(view.first_minutes[at]), int(view.last_minutes[at])
        low, high = sent.get(who, (first, last))
        sent[who] = (min(low, first), max(high, last))
    for at in np.flatnonzero(archives).tolist():
        key = (desc["subject_name"][at], desc["object_name"][at])
        if not key[0] or key not in written or key not in first_read or key[0] not in sent:
            continue
        low, high = sent[key[0]]
        # sent after it read the archive back, and before (or when) it deleted it
        found[at] = high >= first_read[key] and low <= int(view.last_minutes[at])
    return found


def _unused_downloads(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of a file that a download tool (the knowledge base's
    ``network tool``: wget, curl) wrote and nothing else touched but a pager or editor reading
    it (``pagers_and_editors``) and its deletion, with no process acting for an attacker writing or
    deleting it: a download looked at and thrown away, never used, so no trace erased. A
    tool fetched, run and removed shows its run (or a shell reading it) and stays evidence."""
    desc = view.desc
    found = np.zeros(len(deleted), dtype=bool)
    candidates = deleted & (desc["subject_name"] != "")
    if not candidates.any():
        return found
    touched = view.present & view.desc_in("object_name", view.values("object_name", candidates))
    acting = in_chain(view, acting_for_an_attacker(view))
    writes = touched & view.desc_in("event", ("file_write", "file_create"))
    fetched = writes & view.desc_where("subject_name", lambda n: process_category(n) == "network tool", writes) & ~acting
    viewed = touched & (desc["event"] == "file_read") & view.desc_where("subject_name", pager_or_editor, touched)
    removed = touched & (desc["event"] == "file_delete") & ~acting
    used = touched & ~fetched & ~viewed & ~removed
    names = view.values("object_name", fetched) - view.values("object_name", used)
    if names:
        found = candidates & view.desc_in("object_name", names) & ~acting
    return found


TRASH_RECORD_SUFFIX = ".trashinfo"  # the desktop-trash mechanism of benign.yaml


def _emptied_from_trash(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions whose process keeps the desktop's Trash: one that writes or
    deletes the Trash's records (NAME.trashinfo, one per file the Trash takes in), as a file
    manager moving files there or emptying it does; outside an attack chain. Emptying the
    Trash is housekeeping, not covering tracks. The records' own names are kept by the
    attacker-renaming perturbation (benign.yaml explains them), the files' need not be."""
    handles = view.present & view.desc_in("event", ("file_write", "file_create", "file_delete"))
    handles &= view.desc_where("object_name", lambda n: n.endswith(TRASH_RECORD_SUFFIX), handles)
    found = np.zeros(len(deleted), dtype=bool)
    if not handles.any():
        return found
    keepers = view.values("subject_name", handles) - {""}
    found = deleted & view.desc_in("subject_name", keepers)
    if found.any():
        found &= ~in_chain(view, acting_for_an_attacker(view))
    return found


def _compressed_originals(view: LogView, deleted: np.ndarray) -> np.ndarray:
    """The ``deleted`` descriptions of a file that a compressor replaced: one whose compressed
    copy (NAME.gz, NAME.xz, ...) the deleting process wrote, or one a compressor
    (``compressors`` in roles.yaml) read and then deleted."""
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create"))
    reads = view.present & (desc["event"] == "file_read")
    written, read = view.pairs(writes), view.pairs(reads)
    # each writer of an archive -> the first minute it wrote one
    packed_by: dict[str, int] = {}
    for at in np.flatnonzero(writes & view.desc_where("object_name", lambda n: bool(ARCHIVE.search(n)), writes)).tolist():
        writer = desc["subject_name"][at]
        packed_by[writer] = min(packed_by.get(writer, int(view.first_minutes[at])), int(view.first_minutes[at]))
    found = np.zeros(len(deleted), dtype=bool)
    for described in np.flatnonzero(deleted).tolist():
        subject, name = desc["subject_name"][described], desc["object_name"][described]
        found[described] = any((subject, name + suffix) in written for suffix in COMPRESSED_SUFFIXES) or (
            compressor(subject) and (subject, name) in read
        ) or (
            # or a data file its deleter wrote and, by then, packed into an archive it wrote:
            # a collector zipping its result files and removing the loose ones (zip -m)
            subject in packed_by and (subject, name) in written and packed_by[subject] <= int(view.last_minutes[described])
            and not ARCHIVE.search(name) and not SCRIPT_OR_BINARY.search(name) and not _is_log(name)
        )
    return found


def _only_clients(view: LogView) -> bool:
    """Every process the subgraph names (as subject or process object) is a browser, mail
    client, office or desktop application, and it names at least one."""
    desc = view.desc
    named = view.values("subject_name", desc["subject_name"] != "") | view.values(
        "object_name", (desc["object_kind"] == "process") & (desc["object_name"] != "")
    )
    return bool(named) and all(user_application(n) for n in named)


# the account database, which every tool printing user or group names reads
ACCOUNT_NAME_FILES = frozenset({"passwd", "group"})
RECON_FILES = frozenset(
    {
        "passwd", "group", "hosts", "os-release", "lsb-release", "issue", "redhat-release", "mounts", "mtab", "fstab",
        "cpuinfo", "meminfo", "version", "utx.active", "utx.lastlogin", "utmp", "wtmp", "lastlog", "resolv.conf",
        "services", "kmem", "mem", "environ", "hostname", "machine-id", "arp", "route",
    }
)
# the name resolver's configuration, which every networked program reads
RESOLVER_FILES = frozenset({"resolv.conf", "services", "hosts"})
# files that list the hosts a user reaches (ssh's known hosts): read by anything but the
# session clients, whose own work reads them, a look for other hosts (T1018)
HOST_LISTS = frozenset({"known_hosts", "known_hosts2"})
# the host tables: the hosts file, the ARP table
HOST_TABLES = frozenset({"hosts", "arp"})
# programs that print a file for whoever runs them
FILE_VIEWERS = frozenset({"cat", "less", "more", "head", "tail", "grep", "egrep", "strings"})


# packet-capture libraries: libpcap (and its versioned .so), WinPcap's and Npcap's DLLs
CAPTURE_LIBRARY = re.compile(r"^(libpcap\.so(\.\d+)*|libpcap\.\d+(\.\d+)*\.dylib|wpcap\.dll|packet\.dll)$", re.IGNORECASE)


def network_sniffing(view: LogView) -> list[StageEvidence]:
    """A process that the log shows acting for an attacker, or that holds a
    command-and-control channel (the log's unnamed process too: the Command and Control
    finding is about its rows), loading a packet-capture library and connecting to hosts of
    the site: sniffing and probing the network (T1040). Capture tools and daemons (tcpdump,
    dumpcap, pflogd, IDS sensors) load it as their ordinary work, so outside an attack
    nothing is claimed; without a flow to a host of the site the load shows no
    reconnaissance."""
    desc = view.desc
    capture = view.present & view.desc_where("object_name", lambda n: bool(CAPTURE_LIBRARY.match(n)), view.present)
    if not capture.any():
        return []
    acting = acting_for_an_attacker(view)
    # the processes on the channels' own rows (a finding also cites the rows of the chain
    # that shows why, whose processes hold no channel)
    holders = set()
    network = view.desc_in("event", ("network_out", "network_in"))
    for finding in command_and_control(view):
        codes = view._codes[finding.positions]
        holders |= set(desc["subject_name"][codes[network[codes]]].tolist())
    attacker = in_chain(view, acting) | view.desc_in("subject_name", holders)
    capture &= attacker
    if not capture.any():
        return []
    subjects = view.values("subject_name", capture)
    flows = view.present & (desc["object_kind"] == "flow") & view.desc_in("event", ("network_out", "network_close")) & view.desc_in("subject_name", subjects)
    flows &= attacker
    local = this_host_addresses(view)
    site = flows & view.desc_where("object_name", lambda a: a not in local and view.address_class(a) in ("internal", "private"), flows)
    if not site.any():
        return []
    libraries = view.values("object_name", capture)
    hosts = view.values("object_name", site)
    links = chain_links(view, acting, capture)
    how = f" Not a capture tool's ordinary work: the log shows {links[0].how}." if links else " Not a capture tool's ordinary work: the same process holds a command-and-control channel."
    who = _who(subjects)
    reason = f"{who[:1].upper()}{who[1:]} loaded the packet-capture library {_names(libraries)} and held connections to host(s) of the site {_names(hosts)}: network sniffing and probing (T1040).{how}"
    rows = [view.rows_of(capture), view.rows_of(site)] + ([view.rows_of(links[0].rows)] if links else [])
    return [cited(view, *rows, stage="Internal Reconnaissance", confidence="moderate", rationale=reason, tactic="TA0007", techniques=("T1040",))]


# net.exe (and the net1.exe it runs) also starts and stops services: net start, net stop
SERVICE_COMMANDS = NET_COMMANDS


def _service_control_commands(view: LogView, tools_run: np.ndarray) -> np.ndarray:
    """The ``tools_run`` descriptions of a ``net`` command every run of which falls in a
    minute in which the service control manager starts or stops a service, or one before
    where the net commands reached no other host: net start and net stop (which waits for the
    service, whose end the log may show a minute later), an administrator restarting the
    spooler, not a look around."""
    desc = view.desc
    net = tools_run & view.desc_where("object_name", lambda n: n.casefold() in SERVICE_COMMANDS, tools_run)
    if not net.any():
        return net
    scm = view.present & view.desc_in("event", ("process_start", "process_end")) & (desc["object_kind"] == "process")
    scm &= view.desc_where("subject_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER, scm)
    if not scm.any():
        return np.zeros(len(net), dtype=bool)
    scm_minutes = view.minutes[view.expand(scm)]
    elsewhere = view.expand(net) & ~np.isin(view.minutes, scm_minutes)
    # (a minute before only where the net commands reached no other host: `net user /domain`
    # asks the domain controller, `net stop` only this host's service control manager)
    talked = view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow")
    if not (talked & view.desc_where("subject_name", lambda n: n.casefold() in SERVICE_COMMANDS, talked)).any():
        elsewhere &= ~np.isin(view.minutes + MINUTE_NS, scm_minutes)
    return net & ~_descriptions(view, elsewhere)


# the tools that print who the caller is: what a shell runs to see an escalation worked
IDENTITY_CHECKS = frozenset({"id", "whoami", "whoami.exe"})


def _escalation_own_checks(view: LogView) -> np.ndarray:
    """The descriptions of a program the knowledge base does not know that changes its own
    user identity (``privilege_change``: a local exploit getting root), up to the minute of
    that change, and of an identity check (``IDENTITY_CHECKS``) that a shell it started runs:
    an exploit reading the kernel's version and running dmesg to find its target, then
    checking it is root. What it runs in later minutes is a look around as any other's.
    With a UAC bypass's own check (``_elevated_shell_checks``)."""
    desc = view.desc
    changes = view.present & (desc["event"] == "privilege_change") & view.desc_where("subject_name", _unknown_program, view.present)
    found = _elevated_shell_checks(view)
    if not changes.any():
        return found
    changed_at: dict[str, int] = {}  # each program's first change, in one pass
    for at in np.flatnonzero(changes).tolist():
        program, minute = desc["subject_name"][at], int(view.first_minutes[at])
        changed_at[program] = min(minute, changed_at.get(program, minute))
    escalated = set(changed_at)
    theirs = view.present & view.desc_in("subject_name", escalated)
    for at in np.flatnonzero(theirs).tolist():
        found[at] = int(view.last_minutes[at]) <= changed_at[desc["subject_name"][at]]
    checks = view.program_starts & view.desc_where("object_name", lambda n: n.casefold() in IDENTITY_CHECKS, view.program_starts)
    if checks.any():
        found |= checks & descendant_subjects(view, escalated)
    return found


def _elevated_shell_checks(view: LogView) -> np.ndarray:
    """The descriptions of an identity check (``IDENTITY_CHECKS``: whoami) that an elevated
    shell runs, every row of it from that shell's start minute to the next: a shell an
    auto-elevating binary started (``_uac_bypass_binaries``: fodhelper's hijacked handler
    running PowerShell), or one started with a token taken from a SYSTEM process
    (``token_taken_from_system_process``). The escalation checking that it worked, a step
    the escalation rules claim. By name, so bounded in time: the same shell's whoami before
    the escalation or later is a look."""
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    starts = view.program_starts
    elevators = _uac_bypass_binaries()
    elevated = starts & view.desc_where("subject_name", lambda n: n.casefold() in elevators, starts)
    elevated &= view.desc_where("object_name", shell_or_interpreter, elevated)
    rows = view.rows_of(elevated)
    taken = _token_taken_and_used(view)
    if taken is not None:
        rows = np.concatenate([rows, taken[1]])
    if not len(rows):
        return found
    # each elevated shell's distinct start minutes, sorted: a crafted log may start a shell
    # thousands of times
    started = _lists_by_key(view.desc["object_name"][view._codes[rows]].tolist(), view.minutes[rows].tolist())
    started_at = {name: sorted(set(minutes)) for name, minutes in started.items()}
    # the same shell name started by another process too, from the minute before the
    # elevated one's start to the check (a web shell's cmd beside the elevated one): which of
    # them checked, the log cannot tell by name, so the check is left in
    elevated_descriptions = np.zeros(len(starts), dtype=bool)
    elevated_descriptions[view._codes[rows]] = True
    others = _minutes_by_subject(view, starts & view.desc_in("object_name", set(started_at)) & ~elevated_descriptions, "object_name")
    other_at = {name: sorted(minutes) for name, minutes in others.items()}
    checks = starts & view.desc_in("subject_name", set(started_at))
    checks &= view.desc_where("object_name", lambda n: n.casefold() in IDENTITY_CHECKS, checks)

    def own_check(shell: str, first: int, last: int) -> bool:
        minutes, others = started_at[shell], other_at.get(shell, [])
        # the elevated starts that could cover the check: from a minute before its first row
        for start in minutes[bisect_left(minutes, first - MINUTE_NS) : bisect_right(minutes, first)]:
            if last <= start + MINUTE_NS and bisect_right(others, last) == bisect_left(others, start - MINUTE_NS):
                return True
        return False

    for at in np.flatnonzero(checks).tolist():
        found[at] = own_check(view.desc["subject_name"][at], int(view.first_minutes[at]), int(view.last_minutes[at]))
    return found


def _discovery_tool(name: str) -> bool:
    return process_category(name) == "discovery tool"


# the logon process that runs a user's logon scripts before it starts the shell (Explorer)
LOGON_SCRIPT_RUNNERS = frozenset({"userinit.exe"})


def _logon_script_shells(view: LogView) -> set[str]:
    """The shells and script hosts the logon process (``LOGON_SCRIPT_RUNNERS``) started, when
    no other process started a program of that name in the log: a logon script running (cmd
    on logon.bat), whose commands are the domain's, not a shell a user or intruder opened."""
    # by name, so a cmd Explorer started too is the user's as well
    return _shells_started_only_by(view, lambda n: n.casefold() in LOGON_SCRIPT_RUNNERS)


def _shells_started_only_by(view: LogView, starter: Callable[[str], bool], shell: Callable[[str], bool] = shell_or_interpreter) -> set[str]:
    """The programs that ``shell`` accepts (shells and interpreters) that a process
    ``starter`` accepts started, less those any other process started too (by name)."""
    starts = view.program_starts
    by_them = starts & view.desc_where("subject_name", starter, starts)
    shells = {n for n in view.values("object_name", by_them) if shell(n)}
    if not shells:
        return set()
    others = view.values("object_name", starts & view.desc_in("object_name", shells) & ~by_them)
    return shells - others


# the desktop's own starters of the consoles a user opens: Windows' Explorer and the Linux
# desktops' terminal emulators (under the 15-character names Linux records)
DESKTOP_CONSOLE_STARTERS = frozenset({
    "explorer.exe", "gnome-terminal", "gnome-terminal-", "gnome-terminal-server", "gnome-terminal.real",
    "xterm", "uxterm", "konsole", "xfce4-terminal", "mate-terminal", "lxterminal", "terminator", "tilix", "alacritty", "kitty",
})


def _desktop_console_shells(view: LogView) -> set[str]:
    """The shells and interpreters the desktop started (``DESKTOP_CONSOLE_STARTERS``:
    Explorer, a terminal emulator), when no other process started a program of that name and
    the log shows no inbound connection from another host (a remote desktop's session is
    weighed by its own rules): a user's console on their own desktop, whose checks of the
    host (ipconfig, uname, df, ps) are the user's own work."""
    if _inbound_from_another_host(view) is not None:
        return set()
    return _shells_started_only_by(view, lambda n: n.casefold() in DESKTOP_CONSOLE_STARTERS)


def _site_login_shells(view: LogView) -> set[str]:
    """The shells a login daemon (``LOGIN_PROGRAMS``: sshd) started where every connection it
    accepted came from a host of the declared site networks, when no other process started a
    program of that name in the log: an administrator's session from the site, whose checks
    of the host (id, uname, ps) are their work; a login from anywhere else stays a look."""
    desc = view.desc
    shells = _shells_started_only_by(view, lambda n: n in LOGIN_PROGRAMS, lambda n: process_category(n) == "shell")
    if not shells:
        return set()
    starts = view.program_starts
    daemons = view.values("subject_name", starts & view.desc_in("object_name", shells))
    accepted = view.present & (desc["event"] == "network_in") & (desc["object_kind"] == "flow") & view.desc_in("subject_name", daemons)
    peers = view.values("object_name", accepted) - PLACEHOLDERS
    if not peers or any(view.address_class(p) != "internal" for p in peers):
        return set()
    return shells


def _build_script_shells(view: LogView) -> set[str]:
    """The shells (and interpreters) that read a source package's build script
    (``build_from_source`` scripts: configure) and started a compiler or build driver: the
    script running, whose checks compile and run throw-away programs and ask the platform."""
    desc = view.desc
    names = roles()["build_script_names"]
    reads = view.present & (desc["event"] == "file_read") & view.desc_where("object_name", lambda n: n.casefold() in names)
    readers = {n for n in view.values("subject_name", reads) if process_category(n) in ("shell", "interpreter")}
    if not readers:
        return set()
    runs = view.program_starts & view.desc_in("subject_name", readers)
    return view.values("subject_name", runs & view.desc_where("object_name", build_tool, runs))


def discovery(view: LogView) -> list[StageEvidence]:
    """Several discovery tools, or one with system-information reads."""
    desc = view.desc
    running = view.desc_in("event", ("execute", "process_start"))
    tools_run = running & view.desc_where("object_name", _discovery_tool, running & view.present)
    tools_run &= ~_service_control_commands(view, tools_run)
    # what a benign mechanism explains (a login banner's scripts running uname) is no look
    # of its own, row by row: an administrator's one df beside it makes no second look
    tools_run &= ~explained_rows(view, "Internal Reconnaissance", tools_run)
    # nor is a local exploit's own work: a program the knowledge base does not know that
    # changes its user identity (a kernel exploit getting root) reading the kernel's version
    # and running dmesg to find its target, and the shell it then starts running id to see
    # that it worked (``IDENTITY_CHECKS``): the escalation's steps, which its rules claim
    exploit_checks = checks_its_own_elevation(view)
    tools_run &= ~exploit_checks
    # nor a source package's build script's probes of the platform it builds for (configure
    # running uname, hostname and id between its compiler checks), outside an attack chain
    probing = _build_script_shells(view)
    # nor the domain's logon script (userinit.exe starting cmd on the script from NETLOGON:
    # whoami, ipconfig, hostname and net use for every user), outside an attack chain; the
    # shells a user opens from Explorer are their own
    probing |= _logon_script_shells(view)
    # nor an administrator's login from a host of the site checking the host, nor a user's
    # console on their own desktop
    probing |= _site_login_shells(view) | _desktop_console_shells(view)
    if probing:
        tools_run &= ~(view.desc_in("subject_name", probing) & ~in_chain(view, attack_chain(view)))
    tools = view.values("object_name", tools_run)
    # a tool only other discovery tools start is part of their command (net.exe runs
    # net1.exe for every `net` command): one command, not a second tool
    commands = {t for t in tools if not view.values("subject_name", tools_run & (desc["object_name"] == t)) <= tools}
    # the network's own checks (ipconfig, nslookup, ping, tracert) ask one question between
    # them, whether and how this host reaches the network: one look, a helpdesk's as much as
    # an intruder's
    checks = {t for t in commands if connectivity_check(t)}
    if len(checks) > 1:
        commands = (commands - checks) | {min(checks)}
    info = (desc["event"] == "file_read") & view.desc_in("object_name", RECON_FILES)
    info &= ~explained_rows(view, "Internal Reconnaissance", info & view.present) & ~exploit_checks
    host_lists = (desc["event"] == "file_read") & view.desc_in("object_name", HOST_LISTS)
    info |= host_lists & view.desc_where("subject_name", lambda n: bool(n) and not session_client(n), host_lists)
    # not a file its reader also writes or maps into memory: the target of an exploit's
    # write (Dirty COW mapping the setuid passwd program and writing through its mem file),
    # not information read
    touched = view.present & (view.desc_in("event", ("file_write", "file_create")) | view.desc_in("action", ("MMAP", "MODIFY")))
    if (info & view.desc_in("object_name", view.values("object_name", touched))).any():
        changed = view.pairs(touched)
        info &= ~view.pattern_flags(lambda row: (row.subject, row.object) in changed, info)
    # the account database a discovery tool reads to print names (id and groups reading
    # passwd and group) is that tool's own work, one look with it, not a second one; so is
    # a privilege tool's or login's (sudo, su, sshd checking the account it acts for)
    lookups = info & view.desc_in("object_name", ACCOUNT_NAME_FILES)
    # (and the job scheduler's or its table tool's, finding the user a job runs as)
    lookups &= view.desc_where("subject_name", lambda n: n in tools or n in LOGIN_PROGRAMS or process_category(n) == "privilege tool" or n.casefold() in CRON_DAEMONS | JOB_TABLE_TOOLS, lookups)
    # the resolver's configuration read by a program that talks over the network in the log
    # (curl reading resolv.conf before it connects): its name lookups, not a look around
    resolving = info & view.desc_in("object_name", RESOLVER_FILES)
    if resolving.any():
        flows = view.present & view.desc_in("event", ("network_out", "network_in")) & (desc["object_kind"] == "flow")
        resolving &= view.desc_in("subject_name", view.values("subject_name", flows) - {""})
    files = view.values("object_name", info & ~lookups & ~resolving)
    # or a file viewer printing the hosts this one reaches (ssh's known hosts) and its host
    # table or ARP table: a look for other hosts by hand (T1018)
    viewed = info & view.desc_where("subject_name", lambda n: n in FILE_VIEWERS, info)
    printed = view.values("object_name", viewed)
    listing = bool(printed & HOST_LISTS and printed & HOST_TABLES)
    directory = _directory_queries(view)
    queried = bool(directory.any())
    # and the querying process writing what it found, one file per kind of directory object
    # (BloodHound's collectors: users.json, groups.json, computers.json): the directory taken
    # whole, a second look of its own
    # (or a program the knowledge base does not know, or knows as a discovery tool, that
    # talked to another host: a compiled collector, AdFind or SharpHound, queries over its
    # own LDAP code, loading no client)
    sent = view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow") & (desc["object_name"] != "")
    sent &= view.desc_where("subject_name", lambda n: _unknown_program(n) or _discovery_tool(n), sent)
    sent &= ~view.desc_where("object_name", lambda n: view.address_class(n) in ("loopback", "local"), sent)
    queriers = view.values("subject_name", directory) | view.values("subject_name", sent)
    # (or the shell that started one, writing what it printed into the file it was redirected
    # to: adf.bat's `adfind -f objectcategory=person > ad_users.txt`)
    if queriers:
        launchers = launchers_by_name(view)
        queriers |= {n for q in queriers for n in launchers.get(q, ()) if runs_what_it_reads(n)}
    dumps = _directory_dumps(view, queriers)
    dumped = bool(dumps.any())
    # a dump whose querier asked another host over its own code (AdFind, SharpHound) is
    # both looks, the query and the saving, whoever's console ran it: the directory taken
    # whole is no check of this host
    asked = view.values("object_name", sent) if dumped else set()
    # or discovery tools reaching several hosts within the run (``net view \\HOST`` of one
    # host after another, a share or session census): remote system discovery (T1018,
    # T1135). A drive mapped or a domain controller asked reaches one or two
    reached = _hosts_reached_by_discovery_tools(view)
    enumerated = len(view.values("object_name", reached)) >= DISCOVERY_HOSTS
    # or a look at the hosts this one reaches, then session clients reaching several of them:
    # targets found and used, a complete look for hosts of its own (T1018)
    found_rows, reached_rows = _hosts_found_then_reached(view)
    targeted = bool(len(found_rows))
    looks = len(commands) + listing + queried + dumped + bool(asked) + enumerated
    if not (looks >= 2 or (looks and len(files) >= 2) or targeted):
        return []
    parts = [f"Discovery tools run: {_names(tools)}"] if tools else []
    if listing:
        parts.append(f"{_names(view.values('subject_name', viewed & view.desc_in('object_name', HOST_LISTS | HOST_TABLES)))} printed the hosts this one reaches and its host tables")
    if queried:
        parts.append(f"{_names(view.values('subject_name', directory))} queried the directory through its LDAP client libraries ({_names(view.values('object_name', directory))})")
    if dumped:
        parts.append(f"{_names(view.values('subject_name', dumps))} wrote what it found, a file per kind of directory object ({_names(view.values('object_name', dumps))})")
        if asked:
            parts.append(f"{_names(view.values('subject_name', sent))} asked {_names(asked)} for it over its own code")
    if enumerated:
        parts.append(f"{_names(view.values('subject_name', reached))} reached {len(view.values('object_name', reached))} hosts ({_names(view.values('object_name', reached))}), one after another")
    if targeted:
        readers = set(desc["subject_name"][view._codes[found_rows]].tolist())
        who = " and ".join(([_names(readers - {""})] if readers - {""} else []) + (["the log's unnamed process"] if "" in readers else []))
        lists = set(desc["object_name"][view._codes[found_rows]].tolist())
        hosts = set(desc["object_name"][view._codes[reached_rows]].tolist())
        parts.append(
            f"{who} read the hosts this one reaches ({_names(lists)}), "
            f"and within {DISCOVERY_BEFORE_COPY_MINUTES} minutes session clients reached {len(hosts)} hosts ({_names(hosts)})"
        )
    if files:
        parts.append(f"system information read: {_names(files)}")
    reason = "; ".join(parts) + "."
    reason = reason[:1].upper() + reason[1:]
    techniques = ("T1082", "T1016", "T1049") + (("T1018",) if listing or queried or asked or enumerated or targeted else ()) + (("T1087.002",) if queried or asked else ()) + (("T1135",) if enumerated else ())
    cited_rows = tools_run | info | directory | dumps | (reached if enumerated else False)
    if dumped:  # and the queries the dump's writer sent (LDAP to the domain controller)
        cited_rows |= view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow") & view.desc_in("subject_name", view.values("subject_name", dumps))
    if asked:  # or its querier sent, and the querier's starts
        senders = view.values("subject_name", sent)
        cited_rows |= sent | (running & view.present & view.desc_in("object_name", senders))
    return [cited(view, view.rows_of(cited_rows), found_rows, reached_rows, stage="Internal Reconnaissance", confidence="moderate", rationale=reason, tactic="TA0007", techniques=techniques)]


# distinct hosts session clients must reach after a look at the host lists for the look to
# be taken for finding targets
HOSTS_FOUND_AND_REACHED = 2


def _hosts_found_then_reached(view: LogView) -> tuple[np.ndarray, np.ndarray]:
    """Log rows (positions): reads of a file listing the hosts this one reaches (ssh's known
    hosts, the hosts table) by a process other than a session client (the log's unnamed
    process only in a minute no session client starts or connects in: ssh reads its known
    hosts as it logs in), each followed within ``DISCOVERY_BEFORE_COPY_MINUTES`` by session
    clients connecting to ``HOSTS_FOUND_AND_REACHED`` or more distinct hosts; and those
    connections. A user's ssh reads its own lists; a script that reads them and then logs in
    to one host after another is looking for targets. One sort of the connections."""
    desc = view.desc
    none = np.array([], dtype=np.int64)
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("object_name", HOST_LISTS | HOST_TABLES)
    reads &= ~view.desc_where("subject_name", session_client, reads)
    if not reads.any():
        return none, none
    clients = view.present & view.desc_where("subject_name", session_client)
    connects = clients & (desc["object_kind"] == "flow") & view.desc_in("action", vocabulary().connect_actions) & ~view.desc_in("object_name", PLACEHOLDERS)
    if not connects.any():
        return none, none
    read_rows = view.rows_of(reads)
    unnamed = desc["subject_name"][view._codes[read_rows]] == ""
    if unnamed.any():
        busy = set(view.minutes[view.rows_of(clients & view.desc_in("event", ("process_start", "execute", "network_out")))].tolist())
        busy |= set(view.minutes[view.rows_of(view.present & view.desc_where("object_name", session_client) & view.desc_in("event", ("process_start", "execute")))].tolist())
        keep = ~unnamed | np.fromiter((m not in busy for m in view.minutes[read_rows].tolist()), dtype=bool, count=len(read_rows))
        read_rows = read_rows[keep]
    connect_rows = view.rows_of(connects)
    connect_rows = connect_rows[np.argsort(view.minutes[connect_rows], kind="stable")]
    connect_minutes = view.minutes[connect_rows]
    # each connection's next one to another host (len where none): a window [lo, hi) holds
    # two hosts or more exactly when the first one's next other host lies inside it
    hosts, _ = factorize(desc["object_name"][view._codes[connect_rows]])
    changes = np.append(np.flatnonzero(hosts[1:] != hosts[:-1]) + 1, len(hosts))
    next_other = changes[np.searchsorted(changes, np.arange(len(hosts)), side="right")]
    read_minutes = view.minutes[read_rows]
    lo = np.searchsorted(connect_minutes, read_minutes, side="left")
    hi = np.searchsorted(connect_minutes, read_minutes + DISCOVERY_BEFORE_COPY_MINUTES * MINUTE_NS, side="right")
    hit = (lo < hi) & (next_other[np.minimum(lo, len(hosts) - 1)] < hi)
    if not hit.any():
        return none, none
    # the connections inside any hit's window, marked through one running sum
    cover = np.zeros(len(hosts) + 1, dtype=np.int64)
    np.add.at(cover, lo[hit], 1)
    np.add.at(cover, hi[hit], -1)
    return read_rows[hit], connect_rows[np.cumsum(cover)[:-1] > 0]


# distinct hosts discovery tools must reach to be taken for a census of the site's hosts
DISCOVERY_HOSTS = 3


def _hosts_reached_by_discovery_tools(view: LogView) -> np.ndarray:
    """The descriptions of connections discovery tools opened to other hosts (not this one's
    own addresses or loopback)."""
    desc = view.desc
    out = view.present & (desc["object_kind"] == "flow") & (desc["event"] == "network_out") & (desc["object_name"] != "")
    out &= view.desc_where("subject_name", _discovery_tool, out)
    if not out.any():
        return out
    return out & view.desc_where("object_name", lambda n: view.address_class(n) not in ("loopback", "local"), out)


# ADSI's LDAP provider, and .NET's directory assemblies over it and over the LDAP API (their
# native images too): what a script's directory searcher loads to query Active Directory;
# and the ActiveDirectory PowerShell module's assembly (Get-ADUser, Add-ADGroupMember), which
# asks the domain controller's AD Web Services
DIRECTORY_QUERY_MODULES = frozenset({
    "adsldp.dll", "adsldpc.dll",
    "system.directoryservices.dll", "system.directoryservices.ni.dll",
    "system.directoryservices.protocols.dll", "system.directoryservices.protocols.ni.dll",
    "microsoft.activedirectory.management.dll", "microsoft.activedirectory.management.ni.dll",
})


# a file named for a kind of directory object (20190924112011_users.json, Groups.csv), as the
# collectors that take the directory whole write one per kind
DIRECTORY_DUMP = re.compile(r"(?:^|[_.\- ])(user|group|computer|domain|gpo|ou|container|trust|session|subnet)s?\.(json|csv|xml|txt)$", re.I)
# kinds of directory object written as files that make the directory taken whole
DIRECTORY_DUMP_KINDS = 3


def _directory_dumps(view: LogView, queriers: set[str]) -> np.ndarray:
    """The descriptions of ``queriers`` (processes that queried the directory) writing files
    named for ``DIRECTORY_DUMP_KINDS`` or more kinds of directory object: what they found,
    saved kind by kind."""
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", queriers - {""})
    writes &= view.desc_where("object_name", lambda n: DIRECTORY_DUMP.search(n) is not None, writes)
    kinds = {DIRECTORY_DUMP.search(n).group(1).casefold() for n in view.values("object_name", writes)}
    return writes if len(kinds) >= DIRECTORY_DUMP_KINDS else np.zeros_like(writes)


def _directory_queries(view: LogView) -> np.ndarray:
    """The descriptions of a command shell, script host or interpreter (``runs_what_it_reads``)
    loading a directory client (``DIRECTORY_QUERY_MODULES``): a script querying Active Directory for its computers and
    accounts (PowerView's Get-NetComputer, an ``[adsisearcher]`` one-liner), a look around
    of its own (T1087.002, T1018). The programs that query the directory in their work
    (Group Policy, Outlook, management agents) are no script hosts."""
    loads = view.present & (view.desc["event"] == "module_load")
    loads &= view.desc_where("object_name", lambda n: n.casefold() in DIRECTORY_QUERY_MODULES, loads)
    if not loads.any():
        return loads
    return loads & view.desc_where("subject_name", lambda n: bool(n) and runs_what_it_reads(n), loads)


# distinct discovery commands a web server's shell must run to be taken for a web shell
WEB_SHELL_COMMANDS = 2


def web_server_shell_discovery(view: LogView) -> list[StageEvidence]:
    """A shell that Apache or PHP's server started, or a CGI program it started did, running
    discovery commands, itself or through what it started: a web shell or an injected command
    surveying the host (T1190, T1505.003). These servers start sh for
    CGI scripts and mail(), so their shell alone is routine (``initial-access-web-server-shell``
    leaves them out); CGI scripts do not run id, uname and netstat."""
    running = view.present & view.desc_in("event", ("execute", "process_start"))
    direct = running & view.desc_where("subject_name", script_web_server, running)
    if not direct.any():
        return []
    # or by a CGI program the server started, a program of its own that is no shell or
    # interpreter (apache2 -> status.cgi -> sh: Shellshock's bash CGI script running the
    # injected command)
    cgi = {n for n in view.values("object_name", direct) if n and process_category(n) not in ("shell", "interpreter")}
    by_server = direct | (running & view.desc_in("subject_name", cgi))
    shells = {n for n in view.values("object_name", by_server) if process_category(n) == "shell"}
    if not shells:
        return []
    server_starts = by_server & view.desc_in("object_name", shells)
    # run by that shell or by what it started (sh -> python3 -> bash: a reverse shell the
    # web shell opened), all below the server
    below = descendant_subjects(view, view.values("subject_name", server_starts))
    commands = running & (view.desc_in("subject_name", shells) | below)
    # (or one bare-socket tool, nc or socat: a page's script has no use for a raw connection)
    commands &= view.desc_where("object_name", lambda n: _discovery_tool(n) or n.casefold() in RAW_SOCKET_TOOLS, commands)
    tools = view.values("object_name", commands)
    sockets = {t for t in tools if t.casefold() in RAW_SOCKET_TOOLS}
    if len(tools) < WEB_SHELL_COMMANDS and not sockets:
        return []
    servers = view.values("subject_name", server_starts & direct)
    through = view.values("subject_name", server_starts & ~direct)  # the CGI programs
    if not through:
        by = f"{_names(servers)}, a web server, started"
    elif servers:
        by = f"{_names(servers)}, a web server, and what it started ({_names(through)}) started"
    else:
        by = f"{_names(view.values('subject_name', direct))}, a web server, started {_names(through)}, which started"
    who = "and what the server started" if (commands & ~view.desc_in("subject_name", shells)).any() else "which"
    if sockets:
        listed = f"{_names(tools)}, among them the bare-socket tool {_names(sockets)}" if tools - sockets else f"the bare-socket tool {_names(sockets)}"
        ran = f"ran {listed}: a web shell or a command injected through the server"
    else:
        ran = f"ran the discovery commands {_names(tools)}: a web shell or a command injected through the server surveying the host"
    reason = f"{by} {_names(shells)}, {who} {ran} (CGI scripts and mail() do not)."
    # and the server's start of the CGI programs the shells came through
    cgi_starts = direct & view.desc_in("object_name", through)
    # requests only from hosts of the site (the server's, or its front's): an intruder
    # already inside exploiting the server, movement to this host (T1210), not the way in
    heard = _accepted(view) & (view.desc["object_kind"] == "flow") & view.desc_where("subject_name", lambda n: bool(n) and (web_server(n) or script_web_server(n)))
    senders = view.values("object_name", heard) - PLACEHOLDERS
    if senders and all(view.address_class(a) in ("internal", "private") for a in senders):
        reason = f"{reason[:-1]}, on requests only from hosts of the site ({_names(senders)}): the server exploited from a host already held."
        return [
            cited(view, view.rows_of(server_starts | cgi_starts), view.rows_of(commands), view.rows_of(heard)[-3:], stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1210", "T1505.003"))
        ]
    return [
        cited(view, view.rows_of(server_starts | cgi_starts), view.rows_of(commands), stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1190", "T1505.003"))
    ]


def _below_web_server_shells(view: LogView) -> np.ndarray:
    """The descriptions of the shells a script-running web server (Apache, PHP's workers)
    started and of what runs below them."""
    running = view.program_starts
    direct = running & view.desc_where("subject_name", script_web_server, running)
    shells = {n for n in view.values("object_name", direct) - PLACEHOLDERS if process_category(n) == "shell"}
    if not shells:
        return np.zeros(len(view.desc["subject_name"]), dtype=bool)
    return view.desc_in("subject_name", shells) | descendant_subjects(view, shells)


def web_server_reverse_shell(view: LogView) -> list[StageEvidence]:
    """A shell that Apache or PHP's server started, or that runs a CGI script the server
    executed (``apache2`` executing ``status.cgi``, read by ``bash``), or one a CGI program
    it started did, opening a connection to another host, itself or through a shell it
    started: a reverse shell out of an exploited web application (T1190,
    T1059.004). A shell opens no connections of its own (``/dev/tcp`` does), and CGI scripts
    and ``mail()`` answer the request they were given."""
    desc = view.desc
    running = view.program_starts
    direct = running & view.desc_where("subject_name", script_web_server, running)
    if not direct.any():
        return []
    started = view.values("object_name", direct) - PLACEHOLDERS
    shells = {n for n in started if process_category(n) == "shell"}
    programs = {n for n in started if process_category(n) not in ("shell", "interpreter") and not script_web_server(n)}
    # a CGI program's shell (Shellshock's command), and the shell running a CGI script
    shells |= {n for n in view.values("object_name", running & view.desc_in("subject_name", programs)) if process_category(n) == "shell"}
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("object_name", programs)
    shells |= {n for n in view.values("subject_name", reads) if process_category(n) == "shell"}
    if not shells:
        return []
    below = view.desc_in("subject_name", shells) | descendant_subjects(view, shells)
    connects = view.present & below & (desc["object_kind"] == "flow") & view.desc_in("action", vocabulary().connect_actions)
    # shells only: the log names every sh and python alike, and an interpreter below any sh
    # (cron's job) may be a script's own client; a shell opens no connection of its own
    connects &= view.desc_where("object_name", lambda n: view.address_class(n) not in ("loopback", "local"), connects) & ~view.desc_in("object_name", PLACEHOLDERS)
    # (or a session client the shell started, ssh reaching another host: an operator working
    # through the web shell; CGI scripts and mail() open no SSH sessions)
    sessions = connects & view.desc_where("subject_name", session_client, connects)
    connects &= view.desc_where("subject_name", lambda n: process_category(n) == "shell", connects)
    servers = view.values("subject_name", direct)
    if not connects.any():
        if not sessions.any():
            return []
        connects = sessions
        reason = (
            f"{_names(view.values('subject_name', sessions))}, started below {_names(servers)}'s shell {_names(shells)}, reached "
            f"{_names(view.values('object_name', sessions))}: an operator working through a web shell out of an exploited web application "
            "(CGI scripts and mail() open no SSH sessions)."
        )
        return [cited(view, view.rows_of(direct & view.desc_in("object_name", started & (shells | programs))), view.rows_of(sessions), stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1190", "T1505.003"))]
    callers = view.values("subject_name", connects)
    reason = (
        f"{_names(callers)}, a shell below {_names(servers)}, a web server, opened a connection to {_names(view.values('object_name', connects))}: "
        "a reverse shell out of an exploited web application (a shell opens no connection of its own; CGI scripts and mail() answer the request they were given)."
    )
    return [cited(view, view.rows_of(direct & view.desc_in("object_name", started & (shells | programs))), view.rows_of(connects), stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1190", "T1059.004"))]


def _windows_meet(keys: np.ndarray, starts: np.ndarray, ends: np.ndarray, row_keys: np.ndarray, rows: np.ndarray, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For windows ``[starts[i], ends[i]]`` (ns, whole minutes), each keyed by ``keys[i]``, and ``rows``
    (log positions) keyed by ``row_keys``: which windows hold a row of their key, and which
    rows lie in a window of their key (a mask over ``rows``). One sort and a search per
    window, and a difference array for the rows, so many windows over many rows cost no
    product of the two."""
    hit = np.zeros(len(keys), dtype=bool)
    covered = np.zeros(len(rows), dtype=bool)
    if not len(keys) or not len(rows):
        return hit, covered
    codes, _ = factorize(np.concatenate([np.asarray(row_keys, dtype=object), np.asarray(keys, dtype=object)]))
    row_codes, window_codes = codes[: len(rows)], codes[len(rows) :]
    # by the minute, not the nanosecond: a key's offset times a log's span stays within int64
    at = minutes[rows] // MINUTE_NS
    starts, ends = np.asarray(starts, dtype=np.int64) // MINUTE_NS, np.asarray(ends, dtype=np.int64) // MINUTE_NS
    order = np.lexsort((at, row_codes))  # rows by key, then by minute
    sorted_codes, sorted_at = row_codes[order], at[order]
    # a key's rows occupy one run of the sorted order; search within it by minute, shifted
    # by the key so that one global search serves every key
    span = int(max(sorted_at.max(), ends.max()) - min(sorted_at.min(), starts.min())) + 1
    base = min(int(sorted_at.min()), int(starts.min()))
    flat = sorted_codes.astype(np.int64) * span + (sorted_at - base)
    lo = np.searchsorted(flat, window_codes.astype(np.int64) * span + (starts - base), side="left")
    hi = np.searchsorted(flat, window_codes.astype(np.int64) * span + (ends - base), side="right")
    hit = hi > lo
    diff = np.zeros(len(rows) + 1, dtype=np.int64)
    np.add.at(diff, lo[hit], 1)
    np.add.at(diff, hi[hit], -1)
    covered[order] = np.cumsum(diff)[:-1] > 0
    return hit, covered


# the tools that load a kernel module from its file
MODULE_LOADERS = frozenset({"insmod", "modprobe", "kldload"})


def downloaded_kernel_module_loaded(view: LogView) -> list[StageEvidence]:
    """A kernel module file (``.ko``) written by a download tool or by a process that talked
    to an outside address, then read by a module loader (``MODULE_LOADERS``): code fetched
    from outside loaded into the kernel, a rootkit installing itself (T1547.006, T1105).
    Modules arrive in packages (their managers write them) or are built here (compilers
    write them); none is fetched and loaded by hand."""
    desc = view.desc
    loads = view.present & (desc["event"] == "file_read") & view.desc_where("subject_name", lambda n: n.casefold() in MODULE_LOADERS, view.present)
    loads &= view.desc_where("object_name", lambda n: n.endswith(".ko"), loads)
    if not loads.any():
        return []
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_in("object_name", view.values("object_name", loads))
    flows = view.present & (desc["object_kind"] == "flow")
    talkers = view.values("subject_name", view.desc_where("object_name", lambda a: view.address_class(a) == "public", flows))
    writes &= view.desc_where("subject_name", lambda n: bool(n) and (n.casefold() in TRANSFER_TOOLS or n in talkers) and not routine_writer(n), writes)
    if not writes.any():
        return []
    fetched = view.values("object_name", writes)
    loaded = loads & view.desc_in("object_name", fetched)
    reason = (
        f"{_names(view.values('subject_name', writes))}, talking to an outside address, wrote the kernel module {_names(fetched)}, and "
        f"{_names(view.values('subject_name', loaded))} loaded it: code fetched from outside put into the kernel, as a rootkit installs itself."
    )
    return [cited(view, view.rows_of(writes), view.rows_of(loaded), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1547.006", "T1105"))]


# what an operator types first into a reverse shell, beside the discovery tools: where am I
SHELL_LOOK_AROUND = frozenset({"ls", "pwd", "dir"})


def operator_commands_over_a_channel(view: LogView) -> list[StageEvidence]:
    """``_operator_commands_over_a_channel``, computed once per view (the attack chain reads
    its channels as the Command and Control rule's)."""
    return list(view.derived("_operator_commands_over_a_channel", lambda: _operator_commands_over_a_channel(view)))


def _operator_commands_over_a_channel(view: LogView) -> list[StageEvidence]:
    """An interpreter (python, perl, ruby, node, php) that opened a connection to an outside
    address, started a shell, and whose shell ran a discovery tool, a listing (``ls``,
    ``pwd``), a remote-session or copy client (ssh, scp) or a privilege tool, or any program
    where a bare-socket tool (``RAW_SOCKET_TOOLS``: nc, socat) started it, in minutes the
    interpreter both sent to and heard from that address: a reverse shell, the operator's
    commands in and their output out (T1059, T1071). So is a shell that opened such a
    connection itself (bash's ``/dev/tcp``) and ran those commands. An interpreter's own
    builds run compilers under its shell (pip's setup.py), not discovery; a script's one
    request and its own ``uname`` show no conversation around the commands.

    So is a program that runs the code it is given (``code_runners``: rundll32, mshta) or
    one the subgraph wrote and ran, talking with an outside address it did not accept, where
    it or its shell ran two discovery tools, or a remote-session, remote-command or
    privilege tool, in such minutes, or a program the knowledge base does not know sweeping
    hosts in such a minute: an implant taking its operator's tasks (an installer's one
    ``uname`` is no survey)."""
    desc = view.desc
    flows = view.present & (desc["object_kind"] == "flow")
    outside = view.desc_where("object_name", lambda a: a not in PLACEHOLDERS and view.address_class(a) == "public", flows)
    if not outside.any():
        return []
    # hosts of the site, whatever networks were declared: this host's neighbours, its domain
    # controllers, the directory server a loaded LDAP client queried; and the swept hosts
    site = neighbours_of_this_host(view, view.values("object_name", outside)) | domain_controllers(view) | this_host_addresses(view)
    site |= view.values("object_name", _directory_servers(view, outside & (desc["event"] == "network_out")))
    site |= {h for sweep in view.sweeps for h in sweep["hosts"]}
    outside &= ~view.desc_in("object_name", site)
    opened = outside & view.desc_in("action", vocabulary().connect_actions)
    openers = view.values("subject_name", opened) - {""}
    interpreters = {n for n in openers if process_category(n) == "interpreter" or n.casefold() in RAW_SOCKET_TOOLS}
    shells = {n for n in openers if process_category(n) == "shell"}
    dropped = {process for _, process, _ in dropped_programs(view)} - {""}
    talkers = view.values("subject_name", outside) - interpreters - shells - {""}
    implants = {n for n in talkers if n in dropped or code_runner(n)}
    # a program the knowledge base does not know counts as an implant where it reaches
    # another host or takes privilege (an unknown inventory agent surveys its host too)
    unknown = {n for n in talkers - implants if lookup(n, "process") is None}
    sweepers = {sweep["subject"]: sweep["positions"] for sweep in view.sweeps if sweep["subject"] in unknown}
    starts = view.program_starts
    # only a process that started a program, or swept, can have run an operator's command
    holders = ((interpreters | shells | implants | unknown) & view.values("subject_name", starts)) | set(sweepers)
    if not holders:
        return []
    # every look below is by subject, grouped once: a crafted log of thousands of implants
    # whose shells share one name costs no product of the two
    reach = starts & view.desc_where("object_name", lambda n: session_client(n) or remote_command_tool(n) or process_category(n) == "privilege tool", starts)
    looks = starts & view.desc_where("object_name", lambda n: _discovery_tool(n) or n.casefold() in SHELL_LOOK_AROUND, starts)
    relevant = starts | outside
    by_subject = _lists_by_key(desc["subject_name"][relevant].tolist(), np.flatnonzero(relevant).tolist())
    log_rows = view.rows_of(relevant)
    rows_by_code = _lists_by_key(view._codes[log_rows].tolist(), log_rows.tolist())
    minutes = view.minutes
    accepting = view.desc_in("action", vocabulary().accept_actions)
    profiles: dict[str, dict] = {}

    def profile(name: str) -> dict:
        """What ``name`` started: its shells, and per kind of command (reach, looks, any) the
        minutes they ran in, each with its first rows; the discovery tools' names."""
        found = profiles.get(name)
        if found is None:
            found = profiles[name] = {"children": set(), "reach": {}, "looks": {}, "any": {}, "tools": set()}
            for code in by_subject.get(name, ()):
                if not starts[code]:
                    continue
                child = desc["object_name"][code]
                if shell_or_interpreter(child):
                    found["children"].add(child)
                kinds = ["any"] + (["reach"] if reach[code] else []) + (["looks"] if looks[code] else [])
                if looks[code]:
                    found["tools"].add(child)
                for row in rows_by_code.get(code, ()):
                    for kind in kinds:
                        kept = found[kind].setdefault(int(minutes[row]), [])
                        if len(kept) < 6:
                            kept.append(row)
        return found

    out = []
    for holder in sorted(holders):
        own = profile(holder)
        if holder in sweepers:
            tasked = [{int(m): [] for m in minutes[sweepers[holder]].tolist()}]
        else:
            children = [profile(c) for c in sorted(own["children"] - {holder})]
            if holder in shells:  # its own commands
                tasked = [own["reach"], own["looks"]]
            elif holder in implants | unknown:
                # its own starts count: an implant runs its tools itself as often as through a shell
                sources = [own] + children
                tasked = [p["reach"] for p in sources]
                # (discovery only where two distinct tools ran: a program checking its platform runs one)
                if holder in implants and len(set().union(*(p["tools"] for p in sources))) >= 2:
                    tasked += [p["looks"] for p in sources]
            elif holder.casefold() in RAW_SOCKET_TOOLS:  # a bare-socket tool's shell is nothing but remote commands: nc -e, socat exec:bash
                tasked = [p["any"] for p in children]
            else:
                tasked = [p["reach"] for p in children] + [p["looks"] for p in children]
        if not any(tasked):
            continue
        mine = [code for code in by_subject.get(holder, ()) if outside[code]]
        # an address that opened the connection to it is a client it serves
        if holder in interpreters | shells:
            addresses = {desc["object_name"][c] for c in mine if opened[c]}
        else:
            addresses = {desc["object_name"][c] for c in mine} - {desc["object_name"][c] for c in mine if accepting[c]}
        talked: dict[tuple[str, str], set[int]] = {}
        for code in mine:
            if opened[code] or desc["event"][code] not in ("network_out", "network_in") or desc["object_name"][code] not in addresses:
                continue
            key = (desc["object_name"][code], desc["event"][code])
            talked.setdefault(key, set()).update(int(minutes[row]) for row in rows_by_code.get(code, ()))
        for address in sorted(addresses):
            sent = talked.get((address, "network_out"), set())
            both = sorted(sent & talked.get((address, "network_in"), set()))
            when = [m for m in both if any(m in kind for kind in tasked)]
            if not when:
                continue
            # a code runner's first exchange may be the fetch of the code it runs (a remote
            # scriptlet or DLL: Initial Compromise weighs it): its channel sends in a later minute too
            # (unless its channel is older than the slice: it heard from the address by the
            # minute it first started a program, having opened no connection to it by then)
            if holder in implants and holder not in dropped and len(sent) < C2_MIN_TWO_WAY_MINUTES and not heard_before_opening(view, by_subject.get(holder, ()), [c for c in mine if desc["object_name"][c] == address], starts, opened):
                continue
            pair_rows = np.array(sorted(row for c in mine if desc["object_name"][c] == address for row in rows_by_code.get(c, ())), dtype=np.int64)
            started_rows = np.array(sorted(row for c in by_subject.get(holder, ()) if starts[c] for row in rows_by_code.get(c, ()))[:6], dtype=np.int64)
            if holder in sweepers:
                tasked_rows = sweepers[holder]
            else:
                tasked_rows = np.array(sorted({row for m in when for kind in tasked for row in kind.get(m, ())}), dtype=np.int64)
            objects = set(desc["object_name"][view._codes[tasked_rows]].tolist())
            what = (
                "a shell that opened the connection itself" if holder in shells
                else "an interpreter" if holder in interpreters
                else "a program that runs the code it is given" if code_runner(holder)
                else "a program the subgraph wrote and ran" if holder in dropped
                else "a program the knowledge base does not know, sweeping hosts" if holder in sweepers
                else "a program the knowledge base does not know"
            )
            reason = (
                f"{_names({holder})} ({what}) talked with {_names({address})} (not internal), and "
                + (f"swept {len(objects)} hosts" if holder in sweepers else f"{_names(objects)} ran under it")
                + " in minutes it sent to and heard from that address: "
                + ("a reverse shell, the operator's commands coming in and their output going out." if holder in interpreters | shells else "an implant taking its operator's tasks over that channel.")
            )
            out.append(cited(view, pair_rows[:6], started_rows, tasked_rows[:6], stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1059", "T1071")))
            break
    return out


# an exploited service's shell calls back within minutes of the request
CALLBACK_MINUTES = 5


def server_shell_calls_back(view: LogView) -> list[StageEvidence]:
    """A network service that accepted a connection from an address and, within
    ``CALLBACK_MINUTES``, started a shell (itself, or a process of its name it forked) that,
    itself or through a shell below it, opened a connection back to that same address: the
    request exploited the service and its shell reached back to the sender (T1190,
    T1059.004), a mail server's as well as a web server's (``web_server_reverse_shell``
    weighs those by their CGI programs). Remote login servers are left out: a user's session
    may reach back to the host it came from (scp to the client). From an address outside the
    site it is the way in; from a host of the site, movement to this one (T1210)."""
    desc = view.desc
    accepted = _accepted(view) & (desc["object_kind"] == "flow") & (desc["subject_name"] != "")
    accepted &= ~view.desc_where("subject_name", lambda n: n in REMOTE_LOGIN_SERVERS or process_category(n) == "shell", accepted)
    accepted &= view.desc_where("object_name", lambda a: a not in PLACEHOLDERS and view.address_class(a) not in ("loopback", "local"), accepted)
    if not accepted.any():
        return []
    heard = view.values("subject_name", accepted)
    starts = view.program_starts & view.desc_where("object_name", lambda n: process_category(n) == "shell", view.program_starts)
    # PHP's FastCGI workers (php-cgi, php-fpm) answer what the web server in front of them
    # accepted: one that starts a shell with no connection of its own serves that front's
    fronts = accepted & view.desc_where("subject_name", web_server, accepted)
    behind = {n for n in view.values("subject_name", starts) - heard if script_web_server(n)} if fronts.any() else set()
    starts &= view.desc_in("subject_name", heard | behind)
    if not starts.any():
        return []
    shells = view.values("object_name", starts)
    below = view.desc_in("subject_name", shells) | descendant_subjects(view, shells)
    opened = view.present & below & (desc["object_kind"] == "flow") & view.desc_in("action", vocabulary().connect_actions)
    # (a shell's, or an interpreter's or bare-socket tool's below it: perl -e, python -c or
    # nc over a FIFO opening the reverse shell; any reaching back to the very address the
    # service heard from)
    connects = opened & view.desc_where("subject_name", lambda n: process_category(n) in ("shell", "interpreter") or n.casefold() in RAW_SOCKET_TOOLS, opened)
    connects &= view.desc_in("object_name", view.values("object_name", accepted))
    fetches = _payload_fetches(view, opened)
    if not connects.any() and not fetches.any():
        return []
    minutes = view.minutes
    accept_rows, start_rows, connect_rows, fetch_rows = view.rows_of(accepted), view.rows_of(starts), view.rows_of(connects), view.rows_of(fetches)
    names_at = lambda rows, field: desc[field][view._codes[rows]]  # noqa: E731
    servers, addresses = names_at(accept_rows, "subject_name"), names_at(accept_rows, "object_name")
    if behind:  # the front's connections, once more under each worker behind it
        front_rows = view.rows_of(fronts)
        accept_rows = np.concatenate([accept_rows] + [front_rows] * len(behind))
        servers = np.concatenate([servers] + [np.full(len(front_rows), name, dtype=object) for name in sorted(behind)])
        addresses = names_at(accept_rows, "object_name")
    begin = minutes[accept_rows]
    end = begin + CALLBACK_MINUTES * MINUTE_NS
    shelled, _ = _windows_meet(servers, begin, end, names_at(start_rows, "subject_name"), start_rows, minutes)
    called, _ = _windows_meet(addresses, begin, end, names_at(connect_rows, "object_name"), connect_rows, minutes)
    # or a download tool below the shell fetching from an outside address (the payload the
    # request asked for, however the fetch ended): keyed by the server whose shell it is under
    fetched, _ = _fetches_below(view, servers, begin, end, fetch_rows, starts)
    both = shelled & (called | fetched)
    if not both.any():
        return []
    out = []
    site = [a for a in set(addresses[both].tolist()) if view.address_class(a) in ("internal", "private")]
    from_site = np.isin(addresses, site)
    for inside in (False, True):
        keep = both & (from_site if inside else ~from_site)
        if not keep.any():
            continue
        # the shells and calls back of the windows that hold both
        _, shell_cited = _windows_meet(servers[keep], begin[keep], end[keep], names_at(start_rows, "subject_name"), start_rows, minutes)
        _, back_cited = _windows_meet(addresses[keep], begin[keep], end[keep], names_at(connect_rows, "object_name"), connect_rows, minutes)
        _, fetch_cited = _fetches_below(view, servers[keep & ~called], begin[keep & ~called], end[keep & ~called], fetch_rows, starts)
        senders = set(addresses[keep].tolist())
        rows = np.unique(np.concatenate([accept_rows[keep], start_rows[shell_cited], connect_rows[back_cited], fetch_rows[fetch_cited]]))
        how = (
            "a shell below it, or an interpreter or bare-socket tool the shell ran, opened a connection back to that address: the request exploited the service and its shell reached back to the sender"
            if (keep & called).any()
            else f"below that shell {_names(view.values('subject_name', fetches))} opened a connection to an outside address, reading no file to send: "
            "the request exploited the service and its shell fetched a payload (this service starts no download tool of its own)"
        )
        workers = set(servers[keep].tolist()) & behind
        who = _names(set(servers[keep].tolist()) - workers)
        if workers:  # a worker behind the front: the front accepted, the worker started the shell
            fronting = _names(view.values("subject_name", fronts & view.desc_in("object_name", senders)))
            who = f"{who + ' and ' if who else ''}{_names(workers)}, behind {fronting}, which"
        reason = f"{who} accepted a connection from {_names(senders)} ({'a host of the site' if inside else 'not internal'}), started a shell, and {how}."
        if inside:
            out.append(cited(view, rows, stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1210", "T1059.004")))
        else:
            out.append(cited(view, rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1190", "T1059.004")))
    return out


def _run_resource(name: str) -> bool:
    """A file a program reads to run or to connect (a library, a system resource, a key or
    certificate), not data it could be sending."""
    return bool(SYSTEM_RESOURCE.search(name) or KEY_OR_CERTIFICATE.search(name)) or is_library(name)


def _payload_fetches(view: LogView, opened: np.ndarray) -> np.ndarray:
    """Of ``opened`` (connections opened below a network service's shells), those of a
    download tool (``TRANSFER_TOOLS``) to an outside address, where the tool read no file but
    a library, configuration or certificate (an upload reads what it sends: a database's
    archive command copying its logs out). ``_fetches_below`` leaves out the script web
    servers' (whose CGI programs may fetch)."""
    desc = view.desc
    fetches = opened & view.desc_where("subject_name", lambda n: n.casefold() in TRANSFER_TOOLS, opened)
    fetches &= view.desc_where("object_name", lambda a: a not in PLACEHOLDERS and view.address_class(a) == "public", fetches)
    if not fetches.any():
        return fetches
    tools = view.values("subject_name", fetches)
    reads = view.present & view.desc_in("subject_name", tools) & (desc["event"] == "file_read")
    reads &= view.desc_where("object_name", lambda n: not _run_resource(n), reads)
    return fetches & ~view.desc_in("subject_name", view.values("subject_name", reads))


def _fetches_below(view: LogView, servers: np.ndarray, begin: np.ndarray, end: np.ndarray, fetch_rows: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_windows_meet`` for the payload fetches: which windows (a service's, ``servers[i]``
    from ``begin[i]`` to ``end[i]``) hold a fetch by a download tool the log shows below that
    service's shell (by name, through its starters: ``launchers_above``), and which fetch rows
    lie in such a window. Not below a script web server's (its CGI programs may fetch). One
    pass per download tool's name (a handful), not per service."""
    desc = view.desc
    hit = np.zeros(len(servers), dtype=bool)
    covered = np.zeros(len(fetch_rows), dtype=bool)
    if not len(servers) or not len(fetch_rows):
        return hit, covered
    shelling = {n for n in view.values("subject_name", starts) if not script_web_server(n)}
    tools = desc["subject_name"][view._codes[fetch_rows]]
    for tool in sorted(set(tools.tolist())):
        above = launchers_above(view, tool) & shelling
        windows = np.isin(servers, list(above)) if above else np.zeros(len(servers), dtype=bool)
        mine = tools == tool
        if not windows.any() or not mine.any():
            continue
        keys = np.full(int(windows.sum()), "", dtype=object)
        found, lying = _windows_meet(keys, begin[windows], end[windows], np.full(int(mine.sum()), "", dtype=object), fetch_rows[mine], view.minutes)
        hit[np.flatnonzero(windows)[found]] = True
        covered[np.flatnonzero(mine)[lying]] = True
    return hit, covered


# the file-search tools: what a search finds is a list of paths, for whoever reads it next
FILE_SEARCH_TOOLS = frozenset({"find", "locate", "mlocate", "plocate", "fd", "fdfind"})


def file_search_feeds_collection(view: LogView) -> list[StageEvidence]:
    """A file search (``FILE_SEARCH_TOOLS``: find) whose results feed a collection: the next
    command of its pipeline (``find | xargs cp``), or a process reading the list the search
    wrote (``find > list; tar -T list``), which (itself or what it starts) then reads
    ``DOCUMENT_READS_MIN`` or more documents: files and folders searched for what to take
    (T1083, then T1119). ``find`` alone is what every script runs, and claims nothing."""
    desc = view.desc
    searches = view.present & view.desc_where("subject_name", lambda n: n.casefold() in FILE_SEARCH_TOOLS, view.present)
    if not searches.any():
        return []
    finders = view.values("subject_name", searches)
    piped = _pipeline_partners(view, finders)
    listed = view.values("object_name", searches & view.desc_in("event", ("file_write", "file_create")) & (desc["object_kind"] == "file")) - PLACEHOLDERS
    list_reads = view.present & (desc["event"] == "file_read") & view.desc_in("object_name", listed) & ~view.desc_in("subject_name", finders | {""})
    consumers = set(piped) | view.values("subject_name", list_reads)
    if not consumers:
        return []
    taking = view.desc_in("subject_name", consumers) | descendant_subjects(view, consumers)
    documents = view.present & (desc["event"] == "file_read") & taking & view.desc_where("object_name", lambda n: bool(DOCUMENT.search(n)), view.present & taking)
    taken = view.values("object_name", documents)
    if len(taken) < DOCUMENT_READS_MIN:
        return []
    hand_over = view.present & (desc["object_kind"] == "pipe") & view.desc_in("subject_name", finders | set(piped))
    how = []
    if piped:
        how.append(f"{_names(set(piped))} read its results through a pipe")
    if list_reads.any():
        how.append(f"{_names(view.values('subject_name', list_reads))} read the list it wrote ({_names(view.values('object_name', list_reads))})")
    reason = (
        f"{_names(finders)} searched the file system and {' and '.join(how)}; that reader, or what it started, then read the documents {_names(taken)}: "
        "files searched for what to collect (T1083), not a script's own search."
    )
    return [cited(view, view.rows_of(searches)[:6], view.rows_of(hand_over | list_reads), view.rows_of(documents), stage="Internal Reconnaissance", confidence="moderate", rationale=reason, tactic="TA0007", techniques=("T1083",))]


def planted_server_pages(view: LogView) -> np.ndarray:
    """The descriptions (a mask) of a server-side page (the stage screen's ``web_scripts``
    suffixes: .aspx, .php, .jsp) written by a shell, script host, admin or transfer tool that
    a web server started, directly or through others (IIS's cmd echoing one into
    aspnet_client, its certutil saving a download there): a web shell saved into the site to
    come back to (T1505.003). A CMS installing its plug-ins writes them from its own worker,
    which starts no such tool; an upload the server itself saves and runs at once is the way
    in (``web_shell_planted`` weighs a PHP server's own uploads once used again). Computed
    once per view."""

    def compute() -> np.ndarray:
        from ..grounding.semantic import is_web_script

        writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
        servers = {n for n in view.subjects if web_server(n)}
        if not servers or not writes.any():
            return np.zeros_like(writes)
        writes &= view.desc_where("object_name", is_web_script, writes)
        return writes & descendant_subjects(view, servers) & view.desc_where("subject_name", _operator_tool, writes)

    return view.derived("_planted_server_pages", compute)


def planted_server_page_pairs(facts, view: LogView | None = None) -> frozenset[tuple[str, str]]:
    """(writer, page) of ``planted_server_pages`` for the stage-support screen, kept with
    ``facts``; ``view``: the stage rules' view of them, else one is built."""

    def compute() -> frozenset[tuple[str, str]]:
        from .stages import LogView

        found = view or LogView(facts)
        return frozenset(found.pairs(planted_server_pages(found)))

    return facts.derived("_planted_server_pages", compute)


def server_page_planted(view: LogView) -> list[StageEvidence]:
    """A server-side page written by a tool a web server started (``planted_server_pages``):
    a web shell planted in the site, Maintain Persistence (T1505.003), whether or not the slice
    shows it used."""
    pages = planted_server_pages(view)
    if not pages.any():
        return []
    reason = (
        f"{_who(view.values('subject_name', pages))}, started under a web server, wrote {_names(view.values('object_name', pages))}, a server-side page, "
        "which no tool a web server starts writes as its work: a web shell saved into the site to come back to (T1505.003)."
    )
    return [cited(view, view.rows_of(pages), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1505.003",))]


# minutes in which a web server must read a script it wrote and start a shell to be taken for
# a web shell in use
WEB_SHELL_USES = 2


REVERSE_SHELL_COMMANDS_CITED = 20  # a reverse shell's commands cited where none of them talks itself


def shell_on_an_inherited_connection(view: LogView) -> list[StageEvidence]:
    """A reverse shell (T1059.004 over T1095): a process opens a connection to an outside
    address, and a shell it is or started, or the programs that shell runs, send to or hear
    from that address without opening a connection of their own: the socket handed down to
    the shell (perl's or python's socket duplicated onto sh, bash's /dev/tcp, nc -e, socat
    EXEC), each command's output going back over it. Connections accepted are a server's to
    hand to its workers (inetd, sshd's session); a program opening its own connection (curl
    in a script) owns its exchange. Each description and each process's launchers are read
    once, whatever the number of addresses (a crafted log of thousands costs no product)."""
    desc = view.desc
    local = this_host_addresses(view)
    flows = view.present & (desc["object_kind"] == "flow") & view.desc_in("event", ("network_out", "network_in")) & (desc["object_name"] != "")
    if not flows.any():
        return []
    flows &= view.desc_where("object_name", lambda n: not _excluded_address(view, n, local), flows)
    opening = flows & view.desc_in("action", vocabulary().connect_actions)
    if not opening.any():
        return []
    openers_of: dict[str, set[str]] = {}
    for subject, address in view.pairs(opening):
        if subject:
            openers_of.setdefault(address, set()).add(subject)
    own = view.pairs(opening) | view.pairs(_accepted(view) & (desc["object_kind"] == "flow"))
    # each address's descriptions, by subject, in one pass
    by_address: dict[str, list[tuple[int, str]]] = {}
    for at in np.flatnonzero(flows & view.desc_in("object_name", set(openers_of))).tolist():
        by_address.setdefault(desc["object_name"][at], []).append((at, desc["subject_name"][at]))
    above_of: dict[str, set[str]] = {}
    parents = launchers_by_name(view)

    def above(name: str) -> set[str]:
        found = above_of.get(name)
        if found is None:
            found = above_of[name] = launchers_above(view, name)
        return found

    starts_by_shell: dict[str, dict[str, list[int]]] | None = None
    shells_found = []  # (address, openers, held, shells, exchange descriptions, command descriptions)
    for address in sorted(by_address):
        openers = openers_of[address]
        talkers = {subject for _, subject in by_address[address] if subject and (subject, address) not in own}
        shells, held = set(), set()
        for talker in sorted(talkers):
            # started by an opener, or below one (each launcher's own walk read once)
            if not any(p in openers or above(p) & openers for p in parents.get(talker, ())):
                continue
            # the shell that runs the talker (the talker itself, or what started it), the opener
            # or below it (bash's /dev/tcp: both)
            mine = {n for n in {talker} | set(parents.get(talker, ())) | openers if process_category(n) == "shell" and (n in openers or above(n) & openers)}
            if mine:
                shells |= mine
                held.add(talker)
        if not held:
            continue
        if starts_by_shell is None:
            # each shell's program starts, by program: one shell name (every ``sh``) may run
            # thousands of programs, and an address asks for its own
            starts = view.program_starts & view.desc_where("subject_name", lambda n: process_category(n) == "shell", view.program_starts)
            starts_by_shell = {}
            for at in np.flatnonzero(starts).tolist():
                starts_by_shell.setdefault(desc["subject_name"][at], {}).setdefault(desc["object_name"][at], []).append(at)
        # the commands whose output went back over it; else (the shell alone talking) the
        # shell's first few
        commands = [at for shell in sorted(shells) for program in sorted(held - shells - openers) for at in starts_by_shell.get(shell, {}).get(program, ())]
        if not commands:
            others = (at for shell in sorted(shells) for program, ats in starts_by_shell.get(shell, {}).items() if program not in shells and program not in openers for at in ats)
            commands = list(islice(others, REVERSE_SHELL_COMMANDS_CITED))
        exchange = [at for at, subject in by_address[address] if subject in held | openers]
        if commands:
            shells_found.append((address, openers, held, shells, exchange, commands))
        else:
            # or the shell itself both sending to and hearing from it: an interactive shell
            # on the socket whose commands are its own builtins (none started here)
            own_talk = {desc["event"][at] for at, subject in by_address[address] if subject in held & shells}
            if {"network_out", "network_in"} <= own_talk:
                shells_found.append((address, openers, held, shells, exchange, commands))
    if not shells_found:
        return []
    # the log rows of every description cited, gathered in one pass
    cited_descriptions = np.zeros(len(desc["subject_name"]), dtype=bool)
    for *_, exchange, commands in shells_found:
        cited_descriptions[exchange] = True
        cited_descriptions[commands] = True
    all_rows = view.rows_of(cited_descriptions)
    rows_of = _rows_by_key(view._codes[all_rows].tolist(), all_rows)
    empty = all_rows[:0]

    def rows(descriptions: list[int]) -> np.ndarray:
        return np.sort(np.concatenate([rows_of.get(at, empty) for at in descriptions])) if descriptions else empty

    found = []
    for address, openers, held, shells, exchange, commands in shells_found:
        programs = {desc["object_name"][at] for at in commands}
        talked = f"sent to or heard from that address over no connection of its own while that shell ran {_names(programs)}" if programs else "sent to and heard from that address over no connection of its own"
        reason = (
            f"{_who(openers)} opened a connection to {_names({address})} (not internal), and {_who(held)}, run by the shell {_names(shells)}, the opener or one it started, "
            f"{talked}: the socket handed down to a shell, a reverse shell whose commands and their output go over it."
        )
        found.append(cited(view, rows(exchange), rows(commands), stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1059.004", "T1095")))
    return found


def bind_shell_serves_outside(view: LogView) -> list[StageEvidence]:
    """A bind shell (T1059 over T1095): a bare-socket tool (``RAW_SOCKET_TOOLS``: nc, ncat,
    socat) that accepted a connection from an outside address, started a shell, and both
    heard from and sent to that address: ``ncat -l -e cmd.exe`` driven from outside, each
    command it receives run by the shell and its output sent back. A listener that starts
    no shell (a developer capturing webhook posts into a file) claims nothing."""
    desc = view.desc
    accepted = _accepted(view) & (desc["object_kind"] == "flow")
    accepted = _to_outside(view, accepted & view.desc_where("subject_name", lambda n: n.casefold() in RAW_SOCKET_TOOLS, accepted))
    if not accepted.any():
        return []
    tools = view.values("subject_name", accepted)
    starts = view.program_starts & view.desc_in("subject_name", tools)
    shells = starts & view.desc_where("object_name", shell_or_interpreter, starts)
    if not shells.any():
        return []
    flows = view.present & (desc["object_kind"] == "flow") & view.desc_in("subject_name", view.values("subject_name", shells))
    heard, sent = view.pairs(flows & (desc["event"] == "network_in")), view.pairs(flows & (desc["event"] == "network_out"))
    talked = {(tool, address) for tool, address in view.pairs(accepted) if (tool, address) in heard and (tool, address) in sent}
    if not talked:
        return []
    users = {tool for tool, _ in talked}
    addresses = {address for _, address in talked}
    shells &= view.desc_in("subject_name", users)
    exchange = flows & view.desc_in("subject_name", users) & view.desc_in("object_name", addresses)
    reason = (
        f"{_names(users)}, a bare-socket tool, accepted a connection from {_names(addresses)} (not internal), started "
        f"{_names(view.values('object_name', shells))} and both heard from and sent to that address: a bind shell driven from outside, "
        "each command it receives run by the shell and its output sent back."
    )
    return [cited(view, view.rows_of(shells), view.rows_of(exchange), stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1059", "T1095"))]


# rounds of fetching a file from one outside address and a shell running it that make a
# pull-and-run loop (three: a script run once or twice is an install or a retry)
PULL_AND_RUN_ROUNDS = 3


def fetched_code_run_in_rounds(view: LogView) -> list[StageEvidence]:
    """A pull-and-run beacon (T1105 over T1071): a transfer tool (``TRANSFER_TOOLS``: fetch,
    curl, wget) heard from an outside address and wrote a file that a shell read (ran) in the
    same minute or the next, in ``PULL_AND_RUN_ROUNDS`` or more distinct minutes, the same
    file from the same address each time: a loop pulling its next commands (``while :; do
    fetch -o .t URL; sh .t; sleep 60; done``). A download run once or twice is an install; a
    loop that never runs what it fetches mirrors a file."""
    desc = view.desc
    tools = view.present & view.desc_where("subject_name", lambda n: n.casefold() in TRANSFER_TOOLS, view.present)
    if not tools.any():
        return []
    heard = _to_outside(view, tools & (desc["event"] == "network_in") & (desc["object_kind"] == "flow"))
    writes = tools & (desc["event"] == "file_write") & (desc["object_kind"] == "file") & ~view.desc_in("object_name", PLACEHOLDERS)
    if not heard.any() or not writes.any():
        return []
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("object_name", view.values("object_name", writes))
    reads &= view.desc_where("subject_name", lambda n: process_category(n) == "shell", reads)
    if not reads.any():
        return []
    heard_at = _minutes_by_subject(view, heard, "object_name")  # address -> minutes a transfer tool heard from it
    written_at = _minutes_by_subject(view, writes, "object_name")  # file -> minutes a transfer tool wrote it
    read_at = _minutes_by_subject(view, reads, "object_name")  # file -> minutes a shell read it
    # each minute's addresses, so a file's rounds are counted per address over its own
    # minutes (not a pass over every address for every file: a crafted log of thousands)
    addresses_at: dict[int, list[str]] = {}
    for address, minutes in heard_at.items():
        for minute in minutes:
            addresses_at.setdefault(minute, []).append(address)
    loops = []
    for name, written in sorted(written_at.items()):
        ran = {m for m in written if m in read_at.get(name, ()) or m + MINUTE_NS in read_at.get(name, ())}
        if len(ran) < PULL_AND_RUN_ROUNDS:
            continue
        rounds_by_address: dict[str, set[int]] = {}
        for minute in ran:
            for address in addresses_at.get(minute, ()):
                rounds_by_address.setdefault(address, set()).add(minute)
        loops += [(name, address, rounds) for address, rounds in sorted(rounds_by_address.items()) if len(rounds) >= PULL_AND_RUN_ROUNDS]
    if not loops:
        return []
    names, addresses = {n for n, _, _ in loops}, {a for _, a, _ in loops}
    rounds = max(len(r) for *_, r in loops)
    cited_rows = (heard & view.desc_in("object_name", addresses)) | (writes & view.desc_in("object_name", names)) | (reads & view.desc_in("object_name", names))
    reason = (
        f"{_names(view.values('subject_name', writes & view.desc_in('object_name', names)))} fetched {_names(names)} from {_names(addresses)} (not internal) "
        f"and {_names(view.values('subject_name', reads & view.desc_in('object_name', names)))} ran it, in {rounds} distinct minutes: a loop pulling its next commands from that address."
    )
    return [cited(view, view.rows_of(cited_rows), stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1105", "T1071"))]


# the programs that make a named pipe (a FIFO) in the file system
FIFO_MAKERS = frozenset({"mkfifo", "mknod"})
# how soon after the relay wrote what it heard the shell reads it
FIFO_RELAY_MINUTES = 1


def shell_fed_through_a_fifo(view: LogView) -> list[StageEvidence]:
    """``_fifo_relay``'s reverse shell, Command and Control (T1059.004 over T1095)."""
    relay = _fifo_relay(view)
    return [relay[0]] if relay is not None else []


def _fifo_relay(view: LogView) -> tuple[StageEvidence, set[str]] | None:
    """``_find_fifo_relay``, computed once per view (the pipeline exfiltration rule reads its
    shells): the finding and the shells the relay drives; None where there is none."""
    return view.derived("_fifo_relay", lambda: _find_fifo_relay(view))


def _find_fifo_relay(view: LogView) -> tuple[StageEvidence, set[str]] | None:
    """A reverse shell through a named pipe (T1059.004 over T1095): a shell made a FIFO
    (``FIFO_MAKERS``), and a process that both heard from and sent to an outside address
    wrote into a file that a shell (or cat, printing it into one) then read within
    ``FIFO_RELAY_MINUTES``: ``mkfifo f; sh -i < f 2>&1 | nc HOST PORT > f`` (or openssl
    s_client; ``cat f | sh -i | nc ... > f``), each command the relay
    receives fed to the shell and its output sent back. Where the log names the FIFO
    (mkfifo's own row), only that file counts: a script a download tool saved and a shell
    read is a download, not a relay, and so is what a download tool (curl, wget) writes into
    the pipe."""
    desc = view.desc
    starts = view.program_starts
    makers = starts & view.desc_where("object_name", lambda n: n.casefold() in FIFO_MAKERS, starts)
    makers &= view.desc_where("subject_name", lambda n: process_category(n) == "shell", makers)
    if not makers.any():
        return None
    flows = _to_outside(view, view.present & (desc["object_kind"] == "flow") & (desc["subject_name"] != ""))
    heard, sent = view.pairs(flows & (desc["event"] == "network_in")), view.pairs(flows & (desc["event"] == "network_out"))
    talking = heard & sent  # (relay, address) pairs both ways
    if not talking:
        return None
    # (a download tool fetches what the shell then reads: a script run, not a relay)
    relays = {relay for relay, _ in talking if relay.casefold() not in TRANSFER_TOOLS}
    named = view.values("object_name", view.present & view.desc_where("subject_name", lambda n: n.casefold() in FIFO_MAKERS, view.present) & (desc["object_kind"] == "file"))
    writes = view.present & (desc["event"] == "file_write") & (desc["object_kind"] == "file") & view.desc_in("subject_name", relays)
    if named:
        writes &= view.desc_in("object_name", named)
    if not writes.any():
        return None
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("object_name", view.values("object_name", writes))
    # (the shell itself, or cat printing the pipe into it: ``cat f | sh -i | nc ... > f``)
    reads &= view.desc_where("subject_name", lambda n: process_category(n) == "shell" or n in FILE_VIEWERS, reads)
    if not reads.any():
        return None
    read_rows = view.rows_of(reads)
    write_at = {name: sorted(minutes) for name, minutes in _minutes_by_subject(view, writes, "object_name").items()}
    window = FIFO_RELAY_MINUTES * MINUTE_NS

    def fed_by_a_write(name: str, minute: int) -> bool:  # the last write at or before it, by bisection
        minutes = write_at[name]
        at = bisect_right(minutes, minute)
        return at > 0 and minute - minutes[at - 1] <= window

    fed = np.array([fed_by_a_write(desc["object_name"][code], minute) for code, minute in zip(view._codes[read_rows].tolist(), view.minutes[read_rows].tolist())], dtype=bool)
    if not fed.any():
        return None
    read_rows = read_rows[fed]
    fifos = set(desc["object_name"][view._codes[read_rows]].tolist())
    used = view.values("subject_name", writes & view.desc_in("object_name", fifos))
    addresses = {address for relay, address in talking if relay in used}
    shells = set(desc["subject_name"][view._codes[read_rows]].tolist())
    exchange = flows & view.desc_in("subject_name", used) & view.desc_in("object_name", addresses)
    reason = (
        f"{_names(view.values('subject_name', makers))} made a named pipe ({_names(view.values('object_name', makers))}), and {_names(used)}, which heard from and sent to "
        f"{_names(addresses)} (not internal), wrote what it heard into {_names(fifos)}, which {_names(shells)} read: a shell fed through a FIFO by a network "
        "relay, a reverse shell whose commands and their output go over it."
    )
    rows = np.concatenate([view.rows_of(makers), view.rows_of(writes & view.desc_in("object_name", fifos)), read_rows, view.rows_of(exchange)])
    finding = cited(view, np.unique(rows), stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1059.004", "T1095"))
    # the shells it drives: the one that made the pipe, and those that read it
    return finding, view.values("subject_name", makers) | {n for n in shells if process_category(n) == "shell"}


def system_program_replaced(view: LogView) -> list[StageEvidence]:
    """A local copy tool (``local_copiers``: cp, mv, install) writing over one of the
    system's own programs (the stage screen's ``system_programs``) that lets users in, a
    login program or privilege tool (``LOGIN_PROGRAMS``: sshd, login, su, sudo), in a minute
    it read a file the knowledge base does not know (``sshd.new``), and that program then
    running: a backdoored way in kept running (T1554), Maintain Persistence. A listing tool
    replaced (a rootkit's ps) hides, which the Covering Tracks rule weighs; a package manager
    or a build (make's install) replaces programs in its work, and neither runs a copy tool
    alone."""
    from ..grounding.semantic import is_system_program, support_table  # the screen's own test

    table = support_table()
    desc = view.desc
    if any(process_category(n) == "package manager" or build_tool(n) for n in view.subjects):
        return []
    copiers = {n for n in view.subjects if local_copier(n)}
    if not copiers:
        return []
    files = view.present & (desc["object_kind"] == "file") & view.desc_in("subject_name", copiers)
    writes = files & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    writes &= view.desc_where(
        "object_name",
        lambda n: is_system_program(n, table) and (n in LOGIN_PROGRAMS or process_category(n) == "privilege tool"),
        writes,
    )
    if not writes.any():
        return []
    reads = files & (desc["event"] == "file_read") & view.desc_where("object_name", lambda n: n not in PLACEHOLDERS and lookup(n, "process") is None and lookup(n, "file") is None, files)
    if not reads.any():
        return []
    replaced, write_rows = _first_minutes_where(view, writes, _minutes_by_subject(view, reads))
    # (not a program put back from its own backup: cp sshd.orig sshd)
    sources = view.values("object_name", reads)
    replaced = {n: m for n, m in replaced.items() if not any(n + suffix in sources for suffix in BACKUP_SUFFIXES)}
    if not replaced:
        return []
    runs = view.present & view.desc_in("event", ("execute", "process_start")) & view.desc_in("object_name", set(replaced))
    run_rows = [p for p in view.rows_of(runs).tolist() if int(view.minutes[p]) >= replaced[desc["object_name"][view._codes[p]]]]
    ran = {desc["object_name"][view._codes[p]] for p in run_rows}
    if not ran:
        return []
    write_rows = [p for p in write_rows if desc["object_name"][view._codes[p]] in ran]
    copied = view.values("object_name", reads & view.desc_in("subject_name", {desc["subject_name"][view._codes[p]] for p in write_rows}))
    reason = (
        f"{_names({desc['subject_name'][view._codes[p]] for p in write_rows})} copied {_names(copied)}, a file the knowledge base does not know, "
        f"over {_names(ran)}, a program of the host's own, which then ran: the host's software replaced by a copy brought in, kept running."
    )
    return [cited(view, view.rows_of(reads), np.array(write_rows, dtype=np.int64), np.array(run_rows, dtype=np.int64), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1554",))]


# event-seconds sent (and one fewer heard) that make an attack chain's exchange with one
# outside address a conversation, however few minutes it spans (a download sends once; an
# upload, which reads what it sends, hears acknowledgements); or minutes each way, fewer
# seconds: a check-in in each of two minutes
CHAIN_EXCHANGE_SECONDS = 3
CHAIN_EXCHANGE_MINUTES = 2


def chain_process_converses_outside(view: LogView) -> list[StageEvidence]:
    """A process the log shows in an attack chain (started by a document, browser or mail
    client, a web server's shell, a dropped program; ``attack_chain`` without the channels
    this rule would add) that opened a connection to a public address and both sent to it
    and heard from it in ``CHAIN_EXCHANGE_SECONDS`` or more event-seconds and one fewer,
    reading no file it could be sending, the replies at least a quarter of the sends: a
    staged implant's check-ins (PowerShell Empire's every five seconds), a reverse shell's
    commands and output, Command and Control even within one minute (T1071); or in
    ``CHAIN_EXCHANGE_MINUTES`` or more minutes each way, whatever it reads. The
    sustained-exchange rule asks for minutes; an attack chain's short dialogue is already
    the operator's. Each flow description read once, whatever the number of addresses."""
    desc = view.desc
    flows = view.present & (desc["object_kind"] == "flow") & (desc["object_name"] != "") & (desc["subject_name"] != "")
    flows &= view.desc_in("event", ("network_out", "network_in"))
    if not flows.any():
        return []
    chain = attack_chain(view, channels=False)
    if not chain:
        return []
    flows &= in_chain(view, chain)
    flows &= view.desc_where("object_name", lambda a: view.address_class(a) == "public", flows)
    # a remote-session or copy client's exchange is its login and copy (``ssh`` under the
    # implant's ``scp``), which the lateral movement and tunnel rules weigh
    flows &= ~view.desc_in("subject_name", {n for n in view.subjects if session_client(n)})
    if not flows.any():
        return []
    # not hosts of the site, whatever networks were declared (as the operator-commands rule
    # reads them): this host's neighbours, its domain controllers, directory servers
    site = neighbours_of_this_host(view, view.values("object_name", flows)) | domain_controllers(view) | this_host_addresses(view)
    site |= view.values("object_name", _directory_servers(view, flows & (desc["event"] == "network_out")))
    flows &= ~view.desc_in("object_name", site)
    opened = view.pairs(flows & view.desc_in("action", vocabulary().connect_actions))
    messages = flows & ~view.desc_in("action", vocabulary().connect_actions)
    # each (process, address) -> event-seconds sent and heard, and its descriptions
    tally: dict[tuple[str, str], list] = {}
    counts = np.bincount(view._codes, weights=view.counts, minlength=len(desc["subject_name"]))
    for at in np.flatnonzero(flows).tolist():
        pair = (desc["subject_name"][at], desc["object_name"][at])
        if pair not in opened:
            continue
        entry = tally.setdefault(pair, [0, 0, []])
        entry[2].append(at)
        if messages[at]:
            entry[0 if desc["event"][at] == "network_out" else 1] += int(counts[at])
    # a process that reads files it could be sending (no library, configuration or key) is
    # uploading them: its replies are acknowledgements, however many; its check-ins need
    # minutes (below). One that reads none and sends in CHAIN_EXCHANGE_SECONDS event-seconds,
    # hearing in one fewer, is in a dialogue: an interactive shell's commands and output
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", {p for p, _ in tally})
    readers = {
        subject for subject, name in view.pairs(reads)
        if not (_run_resource(name) or CONFIGURATION_NAME.match(name))
    }

    def exchanged(process: str, sent: int, heard: int) -> bool:
        return process not in readers and sent >= CHAIN_EXCHANGE_SECONDS and heard >= CHAIN_EXCHANGE_SECONDS - 1

    # and the minutes it sent and heard in: two rounds in two minutes are check-ins, where
    # one minute's few exchanges may be a single request's
    # (read only where a pair has too few event-seconds: one more pass over those rows)
    few = {p for p, (sent, heard, _) in tally.items() if not exchanged(p[0], sent, heard) and 4 * heard >= sent}
    minutes_of: dict[tuple[int, bool], set[int]] = {}
    if few:
        message_rows = view.rows_of(messages & view.desc_in("subject_name", {p for p, _ in few}))
        for at, minute in zip(view._codes[message_rows].tolist(), view.minutes[message_rows].tolist()):
            minutes_of.setdefault((at, desc["event"][at] == "network_out"), set()).add(minute)
    conversations = []
    for (process, address), (sent, heard, described) in sorted(tally.items()):
        if 4 * heard < sent:
            continue
        if not exchanged(process, sent, heard):
            sent_in = set().union(*(minutes_of.get((at, True), set()) for at in described))
            heard_in = set().union(*(minutes_of.get((at, False), set()) for at in described))
            if min(len(sent_in), len(heard_in)) < CHAIN_EXCHANGE_MINUTES:
                continue
        # a short dialogue only: an exchange spanning C2_MIN_MINUTES minutes or more is the
        # sustained-exchange rule's to weigh, with its exceptions (a miner's pool); read off
        # each description's first and last minute, not its rows
        span = int(view.last_minutes[described].max()) - int(view.first_minutes[described].min())
        if span < (C2_MIN_MINUTES - 1) * MINUTE_NS:
            conversations.append((process, address, sent, heard, described))
    if not conversations:
        return []
    # the log rows of every description cited, gathered in one pass
    all_rows = view.rows_of(_mask(view, [at for *_, described in conversations for at in described]))
    rows_of = _rows_by_key(view._codes[all_rows].tolist(), all_rows)
    found = []
    for process, address, sent, heard, described in conversations:
        reason = (
            f"{quoted(process)}, which the log shows in an attack chain, opened a connection to {quoted(address)} (not internal) and "
            f"sent to it in {sent} and heard from it in {heard} event-seconds: a conversation with an outside host, an implant's check-ins, however few minutes it spans."
        )
        rows = np.sort(np.concatenate([rows_of[at] for at in described if at in rows_of]))
        found.append(cited(view, rows, stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1071",)))
    return found


def web_shell_planted(view: LogView) -> list[StageEvidence]:
    """A web server that runs a site's scripts (``script_running_web_servers``) writing a
    server-side script (the stage screen's ``web_scripts``: an upload saved as thumb.php), then, in
    ``WEB_SHELL_USES`` or more later minutes, reading that script in a minute it starts a
    shell, whose commands (or what they start) include a discovery tool: a web shell planted
    and used (T1505.003), Maintain Persistence. Where one address's requests reach the server
    in two or more of those minutes, its commands come over the server's own traffic: that
    address drives the web shell, Command and Control (T1505.003, T1071.001). A CMS's compiled
    templates and mail() start no discovery tools."""
    from ..grounding.semantic import is_web_script_written  # the stage screen's own test

    desc = view.desc
    servers = {n for n in view.subjects if script_web_server(n)}
    if not servers:
        return []
    by_server = view.present & view.desc_in("subject_name", servers)
    writes = by_server & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    writes &= view.pattern_flags(lambda row: is_web_script_written(row.subject, row.object), writes)
    if not writes.any():
        return []
    written: dict[str, int] = {}  # each script's first write, in one pass over the writes
    for at in np.flatnonzero(writes).tolist():
        name, minute = desc["object_name"][at], int(view.first_minutes[at])
        written[name] = min(minute, written.get(name, minute))
    shells = by_server & view.program_starts & view.desc_where("object_name", lambda n: process_category(n) == "shell", by_server)
    if not shells.any():
        return []
    shell_minutes = set(view.minutes[view.rows_of(shells)].tolist())
    reads = by_server & (desc["event"] == "file_read") & view.desc_in("object_name", written)
    used = [at for at in view.rows_of(reads).tolist() if int(view.minutes[at]) in shell_minutes and int(view.minutes[at]) > written[desc["object_name"][view._codes[at]]]]
    used_minutes = set(view.minutes[used].tolist()) if used else set()
    if len(used_minutes) < WEB_SHELL_USES:
        return []
    below = descendant_subjects(view, servers)
    commands = view.program_starts & below & view.desc_where("object_name", _discovery_tool, view.program_starts & below)
    command_rows = view.rows_of(commands)
    command_rows = command_rows[np.isin(view.minutes[command_rows], list(used_minutes))]
    if not len(command_rows):
        return []
    shell_rows = view.rows_of(shells)
    shell_rows = shell_rows[np.isin(view.minutes[shell_rows], list(used_minutes))]
    scripts = {desc["object_name"][view._codes[at]] for at in used}
    tools = view.values("object_name", _descriptions(view, command_rows))
    reason = (
        f"{_names(servers)}, a web server, wrote {_names(scripts)}, a server-side script, and in {len(used_minutes)} later minutes read it as it started a shell, "
        f"whose commands included {_names(tools)}: a web shell planted on the server and used (T1505.003)."
    )
    out = [cited(view, view.rows_of(writes & view.desc_in("object_name", scripts)), np.array(used, dtype=np.int64), shell_rows, command_rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1505.003",))]
    # the address whose requests reach the server in two or more of those minutes
    requests = by_server & (desc["object_kind"] == "flow") & (desc["event"] == "network_in") & (desc["object_name"] != "")
    minutes_of: dict[str, set[int]] = {}
    for at in view.rows_of(requests).tolist():
        if int(view.minutes[at]) in used_minutes:
            minutes_of.setdefault(desc["object_name"][view._codes[at]], set()).add(int(view.minutes[at]))
    drivers = {address for address, minutes in minutes_of.items() if len(minutes) >= WEB_SHELL_USES and view.address_class(address) not in ("loopback", "local")}
    if drivers:
        driving = view.rows_of(requests & view.desc_in("object_name", drivers))
        driving = driving[np.isin(view.minutes[driving], list(used_minutes))]
        reason = (
            f"{_names(drivers)} sent requests to {_names(servers)} in {len(minutes_of[min(drivers)])} of the minutes the web shell {_names(scripts)} ran a shell: "
            "commands given over the server's own traffic, a web shell driven from that address (T1505.003)."
        )
        out.append(cited(view, driving, np.array(used, dtype=np.int64), shell_rows, stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1505.003", "T1071.001")))
    return out


# the account files an account tool rewrites when it adds or changes an account (and BSD's
# hashed databases pwd_mkdb builds from them)
ACCOUNT_DATABASE = frozenset({"passwd", "shadow", "group", "gshadow", "master.passwd", "spwd.db", "pwd.db"})


def server_shell_adds_account(view: LogView) -> list[StageEvidence]:
    """A server that starts shells as its work (a mail server's pipe deliveries, Apache's and
    PHP's CGI scripts and mail()) and that served a connection in the subgraph, whose shell
    ran an account tool (``ACCOUNT_TOOLS``: useradd, chpasswd) that rewrote the account
    database: an exploit of the server adding an account to log in with (T1190, then
    T1136.001); or that, itself or what it started, wrote an SSH authorized_keys file: a key
    planted to log in with (T1190; the key file's own rule weighs T1098.004); or ran crontab
    to install a job table (T1190, then T1053.003); or ran su, sudo or doas that changed its
    identity and started a shell (T1190, then root: ``_server_shell_takes_root``). Deliveries
    and CGI scripts never add accounts, keys or jobs, nor open a root shell; an administrator
    does from a login's shell, which no server here started. A script server behind a front web server (php-fpm behind nginx) serves that
    front's connections."""
    desc = view.desc
    running = view.program_starts
    by_server = running & view.desc_where("subject_name", lambda n: bool(n) and (script_web_server(n) or process_category(n) == "mail server"), running)
    by_server &= view.desc_where("object_name", lambda n: process_category(n) == "shell", by_server)
    if not by_server.any():
        return []
    serving = view.present & (desc["object_kind"] == "flow") & (desc["event"] == "network_in")
    servers = view.values("subject_name", by_server) & view.values("subject_name", serving)
    # PHP's FastCGI workers answer what the web server in front of them (nginx) accepted: a
    # script server with no connection of its own serves that front's
    fronting = _accepted(view) & (desc["object_kind"] == "flow")
    fronting &= view.desc_where("subject_name", lambda n: bool(n) and n.casefold() not in REMOTE_LOGIN_SERVERS and process_category(n) not in ("shell", "interpreter"), fronting)
    behind = {n for n in view.values("subject_name", by_server) - servers if script_web_server(n)} if fronting.any() else set()
    heard = serving & view.desc_in("subject_name", servers)
    if behind:
        heard |= fronting
        servers |= behind
    by_server &= view.desc_in("subject_name", servers)
    if not by_server.any():
        return []
    shells = view.values("object_name", by_server)
    below = view.desc_in("subject_name", shells) | descendant_subjects(view, servers)
    out = []
    # or the shell, or what it started, writing an SSH authorized_keys file: a key planted
    # to log in with (T1098.004); no delivery or script manages a user's SSH keys either
    keyed = view.present & below & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    keyed &= view.desc_where("object_name", lambda n: n.casefold() in SSH_KEY_FILES, keyed)
    if keyed.any():
        out.append(_server_shell_entry(view, servers, heard, by_server, keyed, shells, f"which, itself or through what it started, wrote the SSH key file(s) {_names(view.values('object_name', keyed))}"))
    # or running a job-table tool (crontab) that installed a table: a job planted to run
    # again (T1053.003); no delivery or script schedules jobs
    jobs = running & below & view.desc_where("object_name", lambda n: n.casefold() in JOB_TABLE_TOOLS, running)
    if jobs.any():
        installed = view.present & view.desc_in("subject_name", view.values("object_name", jobs)) & view.desc_in("event", ("file_write", "file_create", "file_rename"))
        installed &= ~view.desc_in("object_name", PLACEHOLDERS)
        if installed.any():
            tables = _names(view.values("object_name", installed))
            out.append(_server_shell_entry(view, servers, heard, by_server, jobs, shells, f"which ran {_names(view.values('object_name', jobs))}, installing a job table ({tables})", until=installed))
            # (an at job queued once is the exploit running its command later, not a job
            # planted to run again, unless the job queues itself again)
            lasting = jobs & ~view.desc_in("object_name", one_shot_jobs_not_rearmed(view))
            installed &= view.desc_in("subject_name", view.values("object_name", lasting))
            if installed.any():
                tables = _names(view.values("object_name", installed))
                scheduled = f"{_names(view.values('object_name', lasting))}, run by the shell {_names(servers)} started, installed a job table ({tables}): a job planted to run again."
                out.append(cited(view, view.rows_of(lasting), view.rows_of(installed), stage="Maintain Persistence", confidence="moderate", rationale=scheduled, tactic="TA0003", techniques=("T1053.003",)))
    # or running su, sudo or doas that changed its identity and started a shell: root taken
    # from the server's shell (a password read from the site's configuration, T1078.003)
    out += _server_shell_takes_root(view, servers, heard, by_server, shells, running & below)
    tools = running & below & view.desc_where("object_name", lambda n: n.casefold() in ACCOUNT_TOOLS, running)
    if not tools.any():
        return out
    ran = view.values("object_name", tools)
    changed = view.present & view.desc_in("subject_name", ran) & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    changed &= view.desc_where("object_name", _account_database, changed)
    if not changed.any():
        return out
    files = _names(view.values("object_name", changed))
    account = f"{_names(ran)}, run by the shell {_names(servers)} started, rewrote the account database ({files}): an account added or changed to log in with."
    return out + [
        _server_shell_entry(view, servers, heard, by_server, tools, shells, f"which ran the account tool(s) {_names(ran)}", until=changed),
        cited(view, view.rows_of(tools), view.rows_of(changed), stage="Maintain Persistence", confidence="moderate", rationale=account, tactic="TA0003", techniques=("T1136.001",)),
    ]


# the files sshd reads a user's authorized public keys from
SSH_KEY_FILES = frozenset({"authorized_keys", "authorized_keys2"})


def service_writes_ssh_keys(view: LogView) -> list[StageEvidence]:
    """A network service that accepted a connection from a host other than this one and
    itself wrote (or renamed a file to) an SSH authorized_keys file, up to
    ``CALLBACK_MINUTES`` after: the request made the service write a key to log in with
    (T1190; Redis told to save its database as ``authorized_keys``). No service keeps
    anyone's SSH keys; login servers read them, a user's shell or an account tool writes them."""
    keyed = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    keyed &= view.desc_where("object_name", lambda n: n.casefold() in SSH_KEY_FILES, keyed)
    keyed &= view.desc_where("subject_name", lambda n: bool(n) and n not in PLACEHOLDERS and n.casefold() not in REMOTE_LOGIN_SERVERS and process_category(n) not in ("shell", "interpreter", "privilege tool"), keyed)
    found = _written_on_request(view, keyed) if keyed.any() else None
    if found is not None:
        servers, senders, rows = found
        reason = (
            f"{_names(servers)} accepted a connection from {_names(senders)} and then wrote the SSH key file(s) {_names(view.values('object_name', keyed))} itself: "
            "the request made the service write a key to log in with (no service keeps anyone's SSH keys)."
        )
        return [_entry_by_request(view, rows, senders, reason)]
    # or a shell that an application server run by an interpreter (Jenkins' java, a Node or
    # Python service) started wrote it, as that server heard another host: the request ran a
    # command that planted the key (no build or web application keeps anyone's SSH keys; web
    # and mail servers' shells are weighed by ``server_shell_adds_account``)
    by_shell = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    by_shell &= view.desc_where("object_name", lambda n: n.casefold() in SSH_KEY_FILES, by_shell)
    by_shell &= view.desc_where("subject_name", lambda n: process_category(n) == "shell", by_shell)
    if not by_shell.any():
        return []
    launchers = launchers_by_name(view)
    on_behalf = {
        shell: {n for n in launchers.get(shell, ()) if process_category(n) == "interpreter"}
        for shell in view.values("subject_name", by_shell)
    }
    found = _written_on_request(view, by_shell, on_behalf=on_behalf)
    if found is None:
        return []
    servers, senders, rows = found
    reason = (
        f"{_names(servers)} accepted a connection from {_names(senders)} and then started {_names({shell for shell, by in on_behalf.items() if by & servers})}, which wrote the SSH key file(s) "
        f"{_names(view.values('object_name', by_shell))}: the request ran a command that planted a key to log in with (no application server keeps anyone's SSH keys)."
    )
    return [_entry_by_request(view, rows, senders, reason)]


def _written_on_request(view: LogView, written: np.ndarray, on_behalf: dict[str, set[str]] | None = None) -> tuple[set[str], set[str], np.ndarray] | None:
    """Where a network service that accepted a connection from a host other than this one
    itself made one of the ``written`` descriptions up to ``CALLBACK_MINUTES`` after: the
    services, the hosts they heard and the log rows (the last accepts and the writes); None
    where none did. ``on_behalf``: each writer -> the services it writes for (a shell -> the
    servers that started it), in place of the writer itself."""
    desc = view.desc
    writer_names = view.values("subject_name", written)
    serving = writer_names if on_behalf is None else {s for w in writer_names for s in on_behalf.get(w, ())}
    accepted = _accepted(view) & (desc["object_kind"] == "flow") & view.desc_in("subject_name", serving)
    accepted &= view.desc_where("object_name", lambda a: a not in PLACEHOLDERS and view.address_class(a) not in ("loopback", "local"), accepted)
    if not accepted.any():
        return None
    accept_rows, write_rows = view.rows_of(accepted), view.rows_of(written)
    services, writers = desc["subject_name"][view._codes[accept_rows]], desc["subject_name"][view._codes[write_rows]]
    if on_behalf is not None:  # a write row once per service it was made for
        pairs = [(row, service) for row, writer in zip(write_rows.tolist(), writers.tolist()) for service in sorted(on_behalf.get(writer, ()))]
        write_rows = np.array([row for row, _ in pairs], dtype=np.int64)
        writers = np.array([service for _, service in pairs], dtype=object)
    begin = view.minutes[accept_rows]
    hit, cited_writes = _windows_meet(services, begin, begin + CALLBACK_MINUTES * MINUTE_NS, writers, write_rows, view.minutes)
    if not hit.any():
        return None
    senders = set(desc["object_name"][view._codes[accept_rows[hit]]].tolist())
    return set(services[hit].tolist()), senders, np.concatenate([accept_rows[hit][-3:], write_rows[cited_writes]])


def _entry_by_request(view: LogView, rows: np.ndarray, senders: set[str], reason: str) -> StageEvidence:
    """A service exploited by the request of ``senders``: Lateral Movement where every one is
    a host of the site (T1210), else Initial Compromise (T1190)."""
    if all(view.address_class(a) in ("internal", "private") for a in senders):
        return cited(view, rows, stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1210",))
    return cited(view, rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1190",))


# the run-as tools a shell uses to become another user (root)
SWITCH_USER_TOOLS = frozenset({"su", "sudo", "doas"})


def _server_shell_takes_root(view: LogView, servers: set, heard: np.ndarray, by_server: np.ndarray, shells: set, runs: np.ndarray) -> list[StageEvidence]:
    """``server_shell_adds_account``'s run-as case: among ``runs`` (what the server's shell
    and those below it ran), su, sudo or doas that changed its identity and then started a
    shell: the entry (the server's shell doing what no script does) and the escalation."""
    tools = runs & view.desc_where("object_name", lambda n: n.casefold() in SWITCH_USER_TOOLS, runs)
    if not tools.any():
        return []
    ran = view.values("object_name", tools)
    desc = view.desc
    changed = view.present & view.desc_in("subject_name", ran) & (desc["event"] == "privilege_change")
    root_shells = view.program_starts & view.desc_in("subject_name", ran)
    root_shells &= view.desc_where("object_name", lambda n: process_category(n) == "shell", root_shells)
    if not changed.any() or not root_shells.any():
        return []
    since = int(view.first_minutes[tools].min())
    changed &= view.last_minutes >= since
    root_shells &= view.last_minutes >= since
    if not changed.any() or not root_shells.any():
        return []
    started = _names(view.values("object_name", root_shells))
    escalation = (
        f"{_names(view.values('subject_name', changed))}, run from the shell {_names(servers)} started, changed its user identity and started {started}: "
        "root taken from the server's shell, with a password or rule the shell found."
    )
    return [
        _server_shell_entry(view, servers, heard, by_server, tools, shells, f"which ran {_names(ran)} to become another user"),
        cited(view, view.rows_of(tools), view.rows_of(changed), view.rows_of(root_shells), stage="Privilege Escalation", confidence="moderate", rationale=escalation, tactic="TA0004", techniques=("T1078.003", "T1548.003")),
    ]


def _server_shell_entry(
    view: LogView, servers: set, served: np.ndarray, by_server: np.ndarray, done: np.ndarray, shells: set, what: str, until: np.ndarray | None = None
) -> StageEvidence:
    """``server_shell_adds_account``'s entry: the last connections served (``served``) up to
    what the server's shell did (``done``; or up to ``until``, the change it made), its
    shell's start and that act."""
    first = int(view.first_minutes[done if until is None else until].min())
    heard = view.rows_of(served)
    heard = heard[view.minutes[heard] <= first][-3:]
    reason = (
        f"{_names(servers)}, a server that starts shells only for its deliveries or scripts, served a connection and started {_names(shells)}, "
        f"{what}: no delivery or script does that, an exploit of the server does."
    )
    return cited(view, heard, view.rows_of(by_server), view.rows_of(done), stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1190",))


# the temporary copies the account tools write and rename over the database (chpasswd's
# nshadow, BSD pw's ptmp); passwd+ and the like are the database's names with a suffix
# (FreeBSD's pwd_mkdb builds the hashed databases as spwd.db.tmp and pwd.db.tmp, then renames them)
ACCOUNT_DATABASE_COPIES = frozenset({"nshadow", "npasswd", "ngroup", "ptmp", "spwd.db.tmp", "pwd.db.tmp"})


def _account_database(name: str) -> bool:
    name = name.casefold()
    return name.rstrip("+-") in ACCOUNT_DATABASE or name in ACCOUNT_DATABASE_COPIES


# the security account manager's keys of the built-in accounts, as OpTC keeps them (the last
# component, the relative id): the Administrator's (500) and the Guest's (501), disabled
# until someone enables them
BUILT_IN_ACCOUNT_KEYS = frozenset({"000001f4", "000001f5"})


def net_command_changes_an_account(view: LogView) -> list[StageEvidence]:
    """The net command (``NET_COMMANDS``) started by a command shell or script host, in a
    minute in which the security account manager (inside LSASS) wrote a built-in account's
    key (``BUILT_IN_ACCOUNT_KEYS``): the built-in Administrator or Guest enabled or given a
    password from the command line, a way back in (T1098). Windows' own changes (LAPS
    rotating the administrator's password through Group Policy) run no net command; another
    user's key written beside net may be a logon's or a password change's bookkeeping, and an
    account added or put in the Administrators is ``persistence-windows-account-created``'s."""
    desc = view.desc
    runs = net_starts(view)
    runs &= view.desc_where("subject_name", lambda n: bool(n) and (shell_or_interpreter(n) or n.casefold() in NET_COMMANDS), runs)
    if not runs.any():
        return []
    keys = view.present & (desc["event"] == "registry_write")
    keys &= view.desc_where("subject_name", lambda n: n.casefold() == CREDENTIAL_PROCESS, keys) & view.desc_where("object_name", lambda n: n.casefold() in BUILT_IN_ACCOUNT_KEYS, keys)
    if not keys.any():
        return []
    run_rows, key_rows = view.rows_of(runs), view.rows_of(keys)
    minutes = np.intersect1d(view.minutes[run_rows], view.minutes[key_rows])
    if not len(minutes):
        return []
    run_rows, key_rows = run_rows[np.isin(view.minutes[run_rows], minutes)], key_rows[np.isin(view.minutes[key_rows], minutes)]
    reason = (
        f"{_names(set(desc['subject_name'][view._codes[run_rows]].tolist()))} ran {_names(set(desc['object_name'][view._codes[run_rows]].tolist()))} "
        f"in the minute(s) the security account manager (`{CREDENTIAL_PROCESS}`) wrote the account key(s) {_names(set(desc['object_name'][view._codes[key_rows]].tolist()))}: "
        "a built-in account (the Administrator, the Guest) enabled or given a password from the command line, to log in with again."
    )
    return [cited(view, run_rows, key_rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1098",))]


def account_added_with_escalated_privilege(view: LogView, escalations: list[StageEvidence]) -> list[StageEvidence]:
    """An account tool (``ACCOUNT_TOOLS``) that rewrote the account database, run at or
    after an escalation the subgraph shows (the Privilege Escalation findings that stood
    after the benign mechanisms) by a process an escalation cites or one below it: the
    privilege obtained used to add an account, or give one a password or a group, to log
    in with (T1136.001, T1098). An administrator adding a user with su or sudo shows no
    escalation, and an escalation that adds no account claims nothing more. Called by
    ``stages`` with the escalations it kept, not from ``RULES``. The escalations' processes
    are walked down once, together, from the first escalation's minute (a crafted log's
    thousands of findings cost one walk)."""
    running = view.program_starts
    tools = running & view.desc_where("object_name", lambda n: n.casefold() in ACCOUNT_TOOLS, running)
    if not escalations or not tools.any():
        return []
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    writes &= view.desc_where("object_name", _account_database, writes)
    cited_rows = [item.positions for item in escalations if item.positions is not None and len(item.positions)]
    if not writes.any() or not cited_rows:
        return []
    positions = np.concatenate(cited_rows)
    cites = np.zeros(len(view.pattern_rows), dtype=bool)
    cites[view._codes[positions]] = True
    parents = (view.values("subject_name", cites) | view.values("object_name", cites & (desc["object_kind"] == "process"))) - {""}
    if not parents:
        return []
    since = int(view.minutes[positions].min())
    started_rows = view.rows_of(tools & (view.desc_in("subject_name", parents) | descendant_subjects(view, parents)))
    started_rows = started_rows[view.minutes[started_rows] >= since]
    if not len(started_rows):
        return []
    ran = set(desc["object_name"][view._codes[started_rows]].tolist())
    # the tool, or what it runs to rebuild the databases (FreeBSD's pw runs pwd_mkdb)
    changed_rows = view.rows_of(writes & (view.desc_in("subject_name", ran) | descendant_subjects(view, ran)))
    changed_rows = changed_rows[view.minutes[changed_rows] >= since]
    if not len(changed_rows):
        return []
    codes = view._codes[started_rows]
    # a Linux log also has each tool executing its own image: the starters are the others
    pairs = set(zip(desc["subject_name"][codes].tolist(), desc["object_name"][codes].tolist()))
    starters = {by for by, tool in pairs if by != tool and by}
    run_by = _names(starters) if starters else "the log's unnamed process"
    reason = (
        f"{_names({tool for _, tool in pairs})}, run by {run_by} "
        "at or after the privilege escalation this subgraph shows, "
        f"rewrote the account database ({_names(set(desc['object_name'][view._codes[changed_rows]].tolist()))}): "
        "the privilege obtained used to add or change an account to log in with."
    )
    return [cited(view, started_rows, changed_rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1136.001", "T1098"))]


# what a program learns of its host from the kernel's and the system's own files instead of
# running tools, by kind: a native implant's survey reads /proc and /etc itself (T1082,
# T1057, T1049, T1033). Name-service files (passwd, group, hosts, resolv.conf) are left out:
# every networked program reads them.
SURVEY_FILES = {
    "system information": frozenset({"hostname", "os-release", "lsb-release", "issue", "redhat-release", "version", "machine-id", "cpuinfo", "meminfo"}),
    "running processes": frozenset({"cmdline", "status", "stat", "environ"}),
    "network connections": frozenset({"tcp", "tcp6", "udp", "udp6", "raw", "arp", "route", "ipv6_route", "if_inet6", "fib_trie"}),
    "logged-on users": frozenset({"utmp", "wtmp", "btmp", "lastlog", "utx.active", "utx.lastlogin"}),
}
_SURVEY_KIND = {name: kind for kind, names in SURVEY_FILES.items() for name in names}
# a program reads its own /proc entries once as it starts; another process's, one by one,
# is a process listing
SURVEY_PROCESS_SECONDS = 3
SURVEY_MIN_KINDS = 3


def host_survey_by_reads(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know reading what its host is, which processes
    run and which connections are open (three kinds or more of ``SURVEY_FILES``) without
    running a discovery tool: the survey a native implant makes of /proc and /etc. A known
    program (ps, a monitoring agent, a desktop's system monitor) reads the same as its work."""
    desc = view.desc
    reads = (desc["event"] == "file_read") & (desc["object_kind"] == "file") & view.present
    reads &= view.desc_in("object_name", _SURVEY_KIND.keys())
    if not reads.any():
        return []
    reads &= ~view.desc_in("subject_name", PLACEHOLDERS) & view.desc_where("subject_name", _unknown, reads)
    # each reader's descriptions, grouped in one pass (linear in a crafted log's many readers)
    by_subject: dict[str, list[int]] = {}
    for position in np.flatnonzero(reads).tolist():
        by_subject.setdefault(desc["subject_name"][position], []).append(position)
    seconds: np.ndarray | None = None  # distinct seconds per description, counted once if needed
    found = np.zeros(len(reads), dtype=bool)
    kinds_read: set[str] = set()
    for positions in by_subject.values():
        kinds: dict[str, list[int]] = {}
        for position in positions:
            kinds.setdefault(_SURVEY_KIND[desc["object_name"][position]], []).append(position)
        listing = kinds.get("running processes")
        if listing:
            if seconds is None:
                seconds = np.bincount(view._codes, weights=view.counts, minlength=len(reads))
            if int(seconds[listing].sum()) < SURVEY_PROCESS_SECONDS:
                del kinds["running processes"]
        if len(kinds) >= SURVEY_MIN_KINDS:
            for kind, where in kinds.items():
                found[where] = True
                kinds_read.add(kind)
    if not found.any():
        return []
    order = [kind for kind in SURVEY_FILES if kind in kinds_read]
    reason = (
        f"A program the knowledge base does not know ({_names(view.values('subject_name', found))}) read {', '.join(order)} "
        f"from the system's own files ({_names(view.values('object_name', found))}): a survey of the host, as a native implant makes one."
    )
    return [cited(view, view.rows_of(found), stage="Internal Reconnaissance", confidence="moderate", rationale=reason, tactic="TA0007", techniques=("T1082", "T1057", "T1049", "T1033"))]


# Windows' autostart keys, as OCR-APT's wording leaves them (the last component of the
# name); stage_support.yaml's persistence_locations.registry_keys lists the same
AUTOSTART_KEYS = frozenset({"run", "runonce", "runonceex", "runservices", "runservicesonce"})
# a program the shell starts this soon after reading the keys is one they name
AUTOSTART_MINUTES = 1


def _autostart_key(name: str) -> bool:
    return name.rsplit("\\", 1)[-1].casefold() in AUTOSTART_KEYS


def autostart_launches_attack_program(view: LogView) -> list[StageEvidence]:
    """A program that the logon shell (Explorer) starts just after reading the Run keys, and
    that then reaches a public address while it is unknown to the knowledge base or acts for
    an attacker (PowerShell): a Run-key entry firing at logon (T1547.001). The write of the
    key is the persistence rules' to read; this is the entry seen when it runs. The shell's
    own start-up programs (OneDrive, the security tray icon) are programs the knowledge base
    knows, acting for no one."""
    desc = view.desc
    reads = (desc["object_kind"] == "registry") & (desc["event"] == "registry_read") & view.present
    reads &= view.desc_where("object_name", _autostart_key, reads)
    readers = view.values("subject_name", reads) - PLACEHOLDERS
    if not readers:
        return []
    starts = (desc["object_kind"] == "process") & (desc["event"] == "process_start") & view.present
    starts &= view.desc_in("subject_name", readers) & ~view.desc_in("object_name", PLACEHOLDERS)
    if not starts.any():
        return []
    public = _public_sends(view)
    talkers = view.values("subject_name", public)
    acting = acting_for_an_attacker(view)
    launched = {n for n in view.values("object_name", starts) if n in talkers and (_unknown(n) or n in acting)}
    if not launched:
        return []
    first_read = int(view.first_minutes[np.flatnonzero(reads)].min())
    start_rows = view.expand(starts & view.desc_in("object_name", launched))
    start_rows &= (view.minutes >= first_read) & (view.minutes <= first_read + AUTOSTART_MINUTES * MINUTE_NS)
    if not start_rows.any():
        return []
    started = _descriptions(view, start_rows)
    names = view.values("object_name", started)
    read_rows = view.expand(reads) & (view.minutes <= view.minutes[start_rows].max())
    sends = view.expand(public & view.desc_in("subject_name", names))
    reason = (
        f"{_who(view.values('subject_name', started))} read the autostart keys ({_names(view.values('object_name', reads))}) and then "
        f"started {_names(names)}, which reached {_names(view.values('object_name', public & view.desc_in('subject_name', names)))}: a Run-key entry firing at logon."
    )
    return [cited(view, read_rows, start_rows, np.flatnonzero(sends)[:3], stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1547.001",))]


# a logon's start-up folder is read by the logon shell as it starts: its shortcuts run within
# this long of the shell's start (a shortcut the user opens later is not the folder's)
STARTUP_SHORTCUT_MINUTES = 2


def startup_shortcut_runs_planted_program(view: LogView) -> list[StageEvidence]:
    """A shortcut (``.lnk``) written by a process acting for an attacker, a shell or script
    host (a script's dropper), or a program the knowledge base does not know, that also wrote
    a program; then a logon (``userinit.exe``
    starting the logon shell, ``startup_shortcuts`` in stage_support.yaml) whose shell reads that shortcut and starts
    that program within ``STARTUP_SHORTCUT_MINUTES`` of its own start: a start-up folder entry
    firing at logon (T1547.001). OCR-APT keeps base names, so the folder itself is not seen;
    the logon reading the shortcut and starting what it points to is. An installer's shortcut
    (a program it knows), or one the user opens later in a session, is neither."""
    from ..grounding.semantic import support_table

    table = support_table()
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create"))
    shortcuts = writes & view.desc_where("object_name", lambda n: n.casefold().endswith(table.shortcut_suffixes), writes)
    if not shortcuts.any():
        return []
    acting = in_chain(view, acting_for_an_attacker(view))
    shortcuts &= acting | view.desc_where("subject_name", lambda n: bool(n) and n not in PLACEHOLDERS and (_unknown(n) or runs_what_it_reads(n)), shortcuts)
    writers = view.values("subject_name", shortcuts)
    programs = writes & view.desc_in("subject_name", writers) & view.desc_where("object_name", lambda n: bool(SCRIPT_OR_BINARY.search(n)), writes)
    if not shortcuts.any() or not programs.any():
        return []
    starts = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process")
    logons = starts & view.desc_where("subject_name", lambda n: n.casefold() == "userinit.exe", starts)
    logons &= view.desc_where("object_name", lambda n: n.casefold() in table.logon_shells, logons)
    if not logons.any():
        return []
    shells = view.values("object_name", logons)
    opened = view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", shells) & view.desc_in("object_name", view.values("object_name", shortcuts))
    ran = starts & view.desc_in("subject_name", shells) & view.desc_in("object_name", view.values("object_name", programs))
    if not opened.any() or not ran.any():
        return []
    logon_rows = view.rows_of(logons)
    logon_minutes = np.sort(view.minutes[logon_rows])
    window = STARTUP_SHORTCUT_MINUTES * MINUTE_NS

    def at_a_logon(rows: np.ndarray) -> np.ndarray:
        """The ``rows`` within ``window`` after the latest logon at or before them."""
        after = np.searchsorted(logon_minutes, view.minutes[rows], side="right") - 1
        kept = after >= 0
        kept[kept] = view.minutes[rows[kept]] - logon_minutes[after[kept]] <= window
        return rows[kept]

    open_rows, run_rows = at_a_logon(view.rows_of(opened)), at_a_logon(view.rows_of(ran))
    if not len(open_rows) or not len(run_rows):
        return []
    started = set(desc["object_name"][view._codes[run_rows]].tolist())
    links = set(desc["object_name"][view._codes[open_rows]].tolist())
    planted = shortcuts & view.desc_in("object_name", links)
    reason = (
        f"{_who(view.values('subject_name', planted))} wrote the shortcut {_names(links)} and the program {_names(started)}; at a logon, the logon shell "
        f"({_names(shells)}) read that shortcut and started that program within {STARTUP_SHORTCUT_MINUTES} minutes of its own start: a start-up folder entry firing at logon."
    )
    made = programs & view.desc_in("object_name", started)
    return [cited(view, view.rows_of(planted), view.rows_of(made), logon_rows[:1], open_rows, run_rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1547.001",))]


ADMIN_PORTS = frozenset({22, 23, 135, 139, 445, 3389, 5900, 5985, 5986})
# a shell's traffic to a site host is a session when it spans this many minutes; one burst
# (a message to the domain controller, a report copied to a file server) is a lookup or a
# transfer, not a remote session
LM_SESSION_MINUTES = 2
_PORT = re.compile(r":(\d{1,5})$")


# the WinRM client's libraries: a process that loads one makes WS-Management calls
# (PowerShell remoting's Invoke-Command and Enter-PSSession, winrs), which PowerShell's own
# start-up does not (its WSMan provider's assembly, Microsoft.WSMan.Management, it does load)
WINRM_CLIENT_LIBRARIES = frozenset({"wsmsvc.dll", "wsmauto.dll"})


def _sessions(view: LogView, sent: np.ndarray) -> np.ndarray:
    """The ``sent`` descriptions of a (process, host) pair whose outbound traffic spans
    ``LM_SESSION_MINUTES`` minutes or more, or whose process is a remote command tool
    (``remote_command_tools`` in roles.yaml: WMIC, sc.exe) or loaded the WinRM client
    (``WINRM_CLIENT_LIBRARIES``: a PowerShell remoting session, however short)."""
    desc = view.desc
    minutes = _minutes_by_pair(view, sent)
    loads = view.present & (desc["event"] == "module_load")
    remoting = view.values("subject_name", loads & view.desc_where("object_name", lambda n: n.casefold() in WINRM_CLIENT_LIBRARIES, loads))
    found = np.zeros(len(sent), dtype=bool)
    for described in np.flatnonzero(sent).tolist():
        subject = desc["subject_name"][described]
        found[described] = remote_command_tool(subject) or subject in remoting or len(minutes.get((subject, desc["object_name"][described]), ())) >= LM_SESSION_MINUTES
    return found


# a script host's first traffic to a host this soon after it loaded a directory client is
# its directory queries
DIRECTORY_QUERY_MINUTES = 1


def _directory_servers(view: LogView, sent: np.ndarray) -> np.ndarray:
    """The ``sent`` descriptions of a script host that loaded a directory client
    (``_directory_queries``) to a host it first reached within ``DIRECTORY_QUERY_MINUTES``
    of that load: the domain controller its LDAP queries went to (PowerView's enumeration),
    not a remote session, however long the queries last. A host it reached first at another
    time stays a session's."""
    queries = _directory_queries(view)
    found = np.zeros(len(sent), dtype=bool)
    if not queries.any():
        return found
    desc = view.desc
    first_load: dict[str, int] = {}
    for at in np.flatnonzero(queries).tolist():
        subject = desc["subject_name"][at]
        first_load[subject] = min(first_load.get(subject, int(view.first_minutes[at])), int(view.first_minutes[at]))
    candidates = sent & view.desc_in("subject_name", set(first_load))
    first_contact: dict[tuple[str, str], int] = {}
    for at in np.flatnonzero(candidates).tolist():
        pair = (desc["subject_name"][at], desc["object_name"][at])
        first_contact[pair] = min(first_contact.get(pair, int(view.first_minutes[at])), int(view.first_minutes[at]))
    for at in np.flatnonzero(candidates).tolist():
        subject = desc["subject_name"][at]
        since = first_contact[(subject, desc["object_name"][at])] - first_load[subject]
        found[at] = 0 <= since <= DIRECTORY_QUERY_MINUTES * MINUTE_NS
    return found


# WMI's client library: a script host that loaded it talks WMI (DCOM) to the hosts it reaches
WMI_CLIENT_MODULES = frozenset({"wbemprox.dll"})


def _remote_wmi(view: LogView, sent: np.ndarray) -> np.ndarray:
    """The ``sent`` descriptions of a process the log shows acting for an attacker that
    loaded WMI's client library (``WMI_CLIENT_MODULES``) by the minute of its traffic: WMI
    calls to that host (Invoke-WmiMethod -ComputerName, T1047), however brief the session."""
    desc = view.desc
    loads = view.present & (desc["event"] == "module_load") & view.desc_where("object_name", lambda n: n.casefold() in WMI_CLIENT_MODULES, view.present)
    found = np.zeros(len(sent), dtype=bool)
    if not loads.any():
        return found
    clients = sent & view.desc_in("subject_name", view.values("subject_name", loads))
    clients &= in_chain(view, acting_for_an_attacker(view))
    if not clients.any():
        return found
    first_load: dict[str, int] = {}
    for at in np.flatnonzero(loads).tolist():
        subject = desc["subject_name"][at]
        first_load[subject] = min(first_load.get(subject, int(view.first_minutes[at])), int(view.first_minutes[at]))
    for at in np.flatnonzero(clients).tolist():
        found[at] = int(view.last_minutes[at]) >= first_load.get(desc["subject_name"][at], int(view.last_minutes[at]) + 1)
    return found


def _sweep_probes(view: LogView) -> np.ndarray:
    """Descriptions of a sweep's own probes: its subject reaching one of the hosts it swept
    (one pass over the descriptions of swept hosts, whatever the number of sweeps)."""
    probes = np.zeros(len(view.descriptions), dtype=bool)
    pairs = {(sweep["subject"], host) for sweep in view.sweeps for host in sweep["hosts"]}
    if not pairs:
        return probes
    subjects, objects = view.desc["subject_name"], view.desc["object_name"]
    for at in np.flatnonzero(view.desc_in("object_name", {host for _, host in pairs})).tolist():
        probes[at] = (subjects[at], objects[at]) in pairs
    # a session client (ssh, scp) sending to each host it reached holds sessions there, not
    # probes: its sends stay for the movement rules (which weigh it only in an attack chain)
    if probes.any():
        sends = probes & (view.desc["event"] == "network_out") & ~view.desc_in("action", vocabulary().connect_actions)
        probes &= ~(sends & view.desc_where("subject_name", session_client, sends))
    return probes


# the Remote Desktop client: a remote command tool whose sessions to outside servers are a
# user's (weighed as movement only inside the site)
REMOTE_DESKTOP_CLIENTS = frozenset({"mstsc.exe"})


def lateral_movement(view: LogView) -> list[StageEvidence]:
    """Outbound connections to internal hosts on remote-administration ports (needs ports)."""
    desc = view.desc
    local = this_host_addresses(view)
    outbound = (desc["event"] == "network_out") & (desc["object_kind"] == "flow") & ~view.desc_in("object_name", PLACEHOLDERS | local)
    outbound &= view.present
    inside = outbound & view.desc_where("object_name", lambda n: view.address_class(n) in ("internal", "private"), outbound)

    def admin(name: str) -> bool:
        for value in view.values_of("flow", name):
            match = _PORT.search(value.split("->")[-1].strip())
            if match and int(match.group(1)) in ADMIN_PORTS:
                return True
        return False

    # a sweep's own probes (its process reaching each host it swept) are reconnaissance, not
    # movement; another process reaching a swept host afterwards (WMIC, an SSH client) may be
    probes = _sweep_probes(view)
    hits = inside & view.desc_where("object_name", admin, inside) & ~probes
    out = []
    if hits.any():
        reason = f"Connections to internal hosts on remote-administration ports: {_names(view.values('object_name', hits))}."
        out.append(cited(view, view.rows_of(hits), stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1021",)))
    # a command shell or script host (or a process running shell commands) that talks to a
    # host of the same site: remote execution or a remote session to that host
    neighbours = neighbours_of_this_host(view, view.values("object_name", outbound))
    drivers = view.values("subject_name", desc["event"] == "shell_command") | {
        n for n in view.subjects if process_category(n) in ("shell", "windows admin tool")
    }
    drivers.discard("")
    peer = outbound & view.desc_in("subject_name", drivers) & ~probes
    # a remote command tool (PsExec, WMIC, sc.exe) works on hosts of an administrative
    # domain, declared internal or not: where it reaches one, that is remote execution (not
    # the Remote Desktop client, whose sessions to outside servers are a user's)
    commanding = peer & view.desc_where("subject_name", lambda n: remote_command_tool(n) and n.casefold() not in REMOTE_DESKTOP_CLIENTS, peer)
    commanding &= ~view.desc_where("object_name", lambda n: view.address_class(n) in ("loopback", "local") or n in public_resolvers(), commanding)
    peer &= inside | view.desc_in("object_name", neighbours) | commanding
    if peer.any():
        peer &= ~_directory_servers(view, peer)
        peer &= _sessions(view, peer) | _remote_wmi(view, peer)
        peer &= ~_staged_archive_copies(view, peer)
        peer &= ~_lookups_beside_outside_connections(view, peer)
    if peer.any():
        hosts = view.values("object_name", peer)
        site = " (same /16 as this host's own address)" if hosts & neighbours else ""
        undeclared = hosts - view.values("object_name", peer & (inside | view.desc_in("object_name", neighbours)))
        where = f"internal host(s) {_names(hosts)}{site}"
        if undeclared:
            where = f"host(s) {_names(hosts)} ({_names(undeclared)} through a remote command tool, which reaches hosts of an administrative domain)"
        reason = f"A shell or script host ({_names(view.values('subject_name', peer))}) sent traffic to {where}: a remote session or remote execution."
        rows = view.rows_of(peer)
        if site:
            # the reason leans on this host's own address: cite the first row that shows it
            own = view.rows_of((desc["object_kind"] == "flow") & view.desc_in("object_name", local) & view.present)
            rows = np.union1d(rows, own[:1])
        out.append(cited(view, rows, stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1021",)))
    # an SSH client of an attack chain (an implant's shell running scp or ssh) reaching a host
    # of the site: a user's session is routine (``routine_channels``), an attacker's is not
    clients = outbound & ~peer & ~probes & (inside | view.desc_in("object_name", neighbours))
    clients &= view.desc_where("subject_name", session_client, clients)
    if not clients.any():
        return out
    chain = attack_chain(view)
    chained = clients & in_chain(view, chain)
    if chained.any():
        reason = (
            f"A remote-session client ({_names(view.values('subject_name', chained))}) reached internal host(s) "
            f"{_names(view.values('object_name', chained))}: a remote login or a copy to another host."
        )
        reason, path = _in_chain(view, chain, view.values("subject_name", chained), reason, chained)
        out.append(cited(view, view.rows_of(chained | path), stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1021.004",)))
        return out
    # or one started by the process that started a sweep, reaching a host that sweep reached
    # after it: the sweep found the host, the client logs into it or copies to it
    pivots, sweep_rows = _pivots_after_sweeps(view, clients)
    if pivots.any():
        reason = (
            f"A remote-session client ({_names(view.values('subject_name', pivots))}) reached internal host(s) "
            f"{_names(view.values('object_name', pivots))} after {_names(view.values('subject_name', sweep_rows))}, started by the same "
            "process, had swept them: hosts found by a sweep, then logged into or copied to."
        )
        out.append(cited(view, view.rows_of(pivots | sweep_rows), stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1018", "T1021.004")))
        return out
    # or a copy client sending a program the knowledge base does not know to a host of the
    # site, and a session to that host again soon after: a tool copied over, then run there
    copied = _copied_then_run(view, clients)
    if copied is not None:
        sessions, support = copied
        copies = support & (desc["event"] == "file_read")
        reason = (
            f"{_names(view.values('subject_name', copies))} copied {_copied_what(view, copies)}, while reaching internal host(s) {_names(view.values('object_name', sessions))}, "
            f"and a remote-session client started again within {COPY_THEN_RUN_MINUTES} minutes reached the same host(s): "
            "a tool copied to another host, then run there."
        )
        out.append(cited(view, view.rows_of(sessions | support), stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1570", "T1021.004")))
        return out
    # or a copy client sending such a program to hosts of the site just after the process
    # that started it looked for hosts: a tool spread to the hosts it found
    spread = _copied_after_host_discovery(view, clients)
    if spread is not None:
        sessions, copies, looks = spread
        reason = (
            f"{_names(view.values('subject_name', copies))} copied {_copied_what(view, copies)}, to internal host(s) {_names(view.values('object_name', sessions))}, within "
            f"{DISCOVERY_BEFORE_COPY_MINUTES} minutes after a look for other hosts by the process that started it or a file viewer "
            f"({_names(view.values('object_name', looks))}): a tool copied to the hosts it found."
        )
        out.append(cited(view, view.rows_of(sessions | copies | looks), stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1570", "T1018")))
        return out
    # or one a shell started after another of its commands read out a secret key store
    # (cat id_rsa): a user's client reads its key itself; a key shown by hand before the
    # sessions is a key taken (T1552.004) for the pivot
    dumps = _key_dumps_by_shells(view)
    if dumps is not None:
        shells, dump_rows = dumps
        keyed = clients & descendant_subjects(view, shells)
        keyed &= view.desc_where("subject_name", lambda n: n not in shells, keyed)
        # a client the reader started itself is the reader's own transport (rsync reading
        # the files it backs up, shadow among them, through its ssh), not a pivot
        keyed &= ~descendant_subjects(view, view.values("subject_name", dump_rows))
        if keyed.any() and view.minutes[view.expand(keyed)].max() >= view.minutes[view.expand(dump_rows)].min():
            reason = (
                f"A remote-session client ({_names(view.values('subject_name', keyed))}) reached internal host(s) "
                f"{_names(view.values('object_name', keyed))}, started under {_names(shells)}, which also had "
                f"{_names(view.values('object_name', dump_rows))} read out by {_names(view.values('subject_name', dump_rows))}: "
                "a private key taken by hand, then remote logins or copies to other hosts."
            )
            out.append(cited(view, view.rows_of(keyed | dump_rows), stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1021.004", "T1552.004")))
    return out


def _lookups_beside_outside_connections(view: LogView, peer: np.ndarray) -> np.ndarray:
    """The descriptions of ``peer`` (a process's traffic to hosts of the site) to a host it
    reaches only in minutes in which it also opens a connection to an outside address: its
    name lookups at the site's resolver before each connection (an implant in rundll32
    resolving its server every check-in), not a session there."""
    desc = view.desc
    found = np.zeros(len(peer), dtype=bool)
    connects = view.present & (desc["object_kind"] == "flow") & view.desc_in("action", vocabulary().connect_actions) & view.desc_in("subject_name", view.values("subject_name", peer))
    connects &= view.desc_where("object_name", lambda n: view.address_class(n) in ("public", "unknown") and n not in PLACEHOLDERS, connects)
    if not connects.any():
        return found
    opening = _minutes_by_subject(view, connects)
    reached = _minutes_by_pair(view, peer)
    # (a host of the site, declared or private, reached by a process that is no remote
    # command tool: wmic's and PsExec's traffic is their remote execution)
    lookups = {
        (subject, host) for (subject, host), minutes in reached.items()
        if view.address_class(host) in ("internal", "private") and not remote_command_tool(subject) and minutes <= opening.get(subject, set())
    }
    if lookups:
        found = peer & view.pattern_flags(lambda row: (row.subject, row.object) in lookups, peer)
    return found


def _staged_archive_copies(view: LogView, peer: np.ndarray) -> np.ndarray:
    """The descriptions of ``peer`` (a shell's traffic to hosts of the site) to a host the
    shell first reached in the minute it read an archive it had written itself, or the next:
    the archive it packed copied to a host of the site (internal staging, T1074.002, or a
    backup), not a session there. A program copied over for remote execution is no archive
    the copier packed."""
    desc = view.desc
    found = np.zeros(len(peer), dtype=bool)
    archives = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", view.values("subject_name", peer))
    archives &= view.desc_where("object_name", lambda n: bool(ARCHIVE.search(n)), archives)
    if not archives.any():
        return found
    packed = view.pairs(archives)
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", {s for s, _ in packed})
    reads &= view.pattern_flags(lambda row: (row.subject, row.object) in packed, reads)
    if not reads.any():
        return found
    # each shell's read minutes sorted: a search per host it reached, not a scan of its reads
    read_minutes = {subject: np.array(sorted(minutes), dtype=np.int64) for subject, minutes in _minutes_by_subject(view, reads).items()}
    copied = set()
    for (subject, host), minutes in _minutes_by_pair(view, peer).items():
        read = read_minutes.get(subject)
        first = min(minutes)
        # a read at the first reach's minute or the one before
        if read is not None and np.searchsorted(read, first, side="right") > np.searchsorted(read, first - MINUTE_NS, side="left"):
            copied.add((subject, host))
    if copied:
        found = peer & view.pattern_flags(lambda row: (row.subject, row.object) in copied, peer)
    return found


# copy clients: what they read they send to the host their session reaches
COPY_CLIENTS = frozenset({"scp", "sftp", "rsync", "scp.exe", "sftp.exe", "pscp.exe", "winscp.exe"})
# a session to a host this soon after a program was copied to it runs that program there
COPY_THEN_RUN_MINUTES = 10


def _copied_program(name: str) -> bool:
    """A file name that is a program the knowledge base does not know: no extension, or a
    script's or binary's; not a key or ssh's own files (``secret_credential``)."""
    if not name or name in PLACEHOLDERS or ("." in name.strip(".") and not SCRIPT_OR_BINARY.search(name)):
        return False
    return lookup(name, "file") is None and lookup(name, "process") is None


def _program_copies(view: LogView) -> np.ndarray:
    """The descriptions of a copy client's (``COPY_CLIENTS``) reads of a program the knowledge
    base does not know (``_copied_program``), or of an archive packing one
    (``_archives_packing_programs``): what it sends to the host its session reaches."""
    desc = view.desc
    copies = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
    copies &= view.desc_where("subject_name", lambda n: n.casefold() in COPY_CLIENTS, copies)
    if not copies.any():
        return copies
    packed = _archives_packing_programs(view)
    return copies & view.desc_where("object_name", lambda n: _copied_program(n) or n in packed, copies)


def _copied_what(view: LogView, copies: np.ndarray) -> str:
    """What the ``copies`` (``_program_copies``) read, in words: the programs, and the
    archives with the programs they pack."""
    names = view.values("object_name", copies)
    packed = _archives_packing_programs(view)
    archives = {n for n in names if n in packed and not _copied_program(n)}
    parts = []
    if names - archives:
        parts.append(f"{_names(names - archives)}, a program the knowledge base does not know")
    if archives:
        inside = set().union(*(packed[a] for a in archives))
        parts.append(f"{_names(archives)}, an archive packing {_names(inside)}, a program the knowledge base does not know")
    return " and ".join(parts)


def _archives_packing_programs(view: LogView) -> dict[str, set[str]]:
    """The archives (``ARCHIVE``) a process wrote in the minute it read a program the
    knowledge base does not know (``_copied_program``), or the next, each with those
    programs: a tool packed to be carried elsewhere (tar packing an implant with its
    configuration before scp sends the archive). Once per view, read-only."""
    return view.derived("_archives_packing_programs", lambda: _find_archives_packing_programs(view))


def _find_archives_packing_programs(view: LogView) -> dict[str, set[str]]:
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & (desc["object_kind"] == "file")
    writes &= view.desc_where("object_name", lambda n: bool(ARCHIVE.search(n)), writes)
    if not writes.any():
        return {}
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file") & view.desc_in("subject_name", view.values("subject_name", writes) - {""})
    reads &= view.desc_where("object_name", _copied_program, reads)
    if not reads.any():
        return {}
    read_at = view.rows_of(reads)
    read_at = read_at[np.argsort(view.minutes[read_at], kind="stable")]
    read_by = _rows_by_key(desc["subject_name"][view._codes[read_at]].tolist(), read_at)
    read_minutes = {subject: view.minutes[rows].astype(np.int64) for subject, rows in read_by.items()}
    packed: dict[str, set[str]] = {}
    for position in view.rows_of(writes & view.desc_in("subject_name", set(read_by))).tolist():
        code = view._codes[position]
        subject, minute = desc["subject_name"][code], int(view.minutes[position])
        # the reads at most a minute before the write (sorted searches; a few named, for the
        # wording: a crafted log of many reads costs no more)
        lo = int(np.searchsorted(read_minutes[subject], minute - MINUTE_NS, side="left"))
        hi = int(np.searchsorted(read_minutes[subject], minute, side="right"))
        if hi > lo:
            near = read_by[subject][lo : min(hi, lo + 3)]
            packed.setdefault(desc["object_name"][code], set()).update(desc["object_name"][view._codes[near]].tolist())
    return packed


def _copy_near(copy_minutes: np.ndarray, minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each connection minute, the position of the first copy minute (sorted) at or after
    a minute before it, and whether that copy lies within a minute of it (the log keeps
    minutes: a copy and its session's connection share one, or neighbour)."""
    k = np.searchsorted(copy_minutes, minutes - MINUTE_NS, side="left")
    near = k < len(copy_minutes)
    near[near] = copy_minutes[k[near]] <= minutes[near] + MINUTE_NS
    return k, near


def _copied_then_run(view: LogView, clients: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(the ``clients`` descriptions of the hosts, the copies' reads and the later clients'
    starts) where a copy client (``COPY_CLIENTS``) read a program the knowledge base does
    not know (``_copied_program``) in a minute a session client reached a host of
    ``clients`` (a minute either side: the log keeps minutes), and a session client that no
    copy client started (a new login, not the copy's own transport) started within
    ``COPY_THEN_RUN_MINUTES`` of the copy and reached that host again; None when there is
    none. The copy alone is a file sent (an administrator's build put on a server); the
    login after it is the program run there (T1570, T1021.004)."""
    desc = view.desc
    copies = _program_copies(view) if clients.any() else None
    if copies is None or not copies.any():
        return None
    logins = view.present & view.desc_in("event", ("process_start", "execute"))
    logins &= view.desc_where("object_name", lambda n: session_client(n) and n.casefold() not in COPY_CLIENTS, logins)
    logins &= view.desc_where("subject_name", lambda n: n.casefold() not in COPY_CLIENTS, logins)
    connects = view.desc_where("action", lambda a: a.upper() in vocabulary().connect_actions, clients)
    if not logins.any() or not connects.any():
        return None
    window = COPY_THEN_RUN_MINUTES * MINUTE_NS
    copy_minutes = np.unique(view.minutes[view.rows_of(copies)])
    login_at = view.rows_of(logins)
    order = np.argsort(view.minutes[login_at], kind="stable")
    login_at, login_minutes = login_at[order], view.minutes[login_at[order]]
    at = view.rows_of(connects)
    host_codes, hosts = factorize(desc["object_name"][view._codes[at]])
    minutes = view.minutes[at]
    # each connection's copy: the first copy minute within a minute of it, if any (sorted
    # searches, not a pass over the copies or the logins per host: a crafted log of
    # thousands of copies to thousands of hosts costs no more)
    k, near = _copy_near(copy_minutes, minutes)
    if not near.any():
        return None
    # each host's copies span from the first such copy to the last (the last near each
    # connection: the one at or just before its minute + 1)
    first_copy = np.full(len(hosts), np.iinfo(np.int64).max, dtype=np.int64)
    last_copy = np.full(len(hosts), np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first_copy, host_codes[near], copy_minutes[k[near]])
    latest = np.searchsorted(copy_minutes, minutes + MINUTE_NS, side="right") - 1
    np.maximum.at(last_copy, host_codes[near], copy_minutes[latest[near]])
    # a connection to a copied-to host reached by a login started from the copy on, within
    # COPY_THEN_RUN_MINUTES of the copy and at most that long before the connection
    lo_minute = np.maximum(first_copy[host_codes], minutes - window)
    hi_minute = np.minimum(minutes, last_copy[host_codes] + window)
    lo = np.searchsorted(login_minutes, lo_minute, side="left")
    hi = np.searchsorted(login_minutes, hi_minute, side="right")
    reached = hi > lo
    if not reached.any():
        return None
    found = set(hosts[np.unique(host_codes[reached])].tolist())
    # the logins that reached them: those inside some reaching connection's interval
    marks = np.zeros(len(login_minutes) + 1, dtype=np.int64)
    np.add.at(marks, lo[reached], 1)
    np.add.at(marks, hi[reached], -1)
    used = np.cumsum(marks)[:-1] > 0
    started = np.zeros(len(logins), dtype=bool)
    started[view._codes[login_at[used]]] = True
    return clients & view.desc_in("object_name", found), copies | started


# a copy this soon after its launcher looked for other hosts spreads what it copies to them
DISCOVERY_BEFORE_COPY_MINUTES = 15


def _copied_after_host_discovery(view: LogView, clients: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(the ``clients`` descriptions of the hosts, the copies' reads, the looks for hosts)
    where a copy client (``COPY_CLIENTS``) read a program the knowledge base does not know
    (``_copied_program``) in a minute a session client reached a host of ``clients`` (a
    minute either side), and the process that started the copy client had, at most
    ``DISCOVERY_BEFORE_COPY_MINUTES`` before the first such copy, read a file that lists
    other hosts (ssh's known hosts, the hosts or ARP table) or started a discovery tool
    (arp, ping), or a file viewer printed such a file; None when there is none. An administrator's build copied to a server is a
    file sent; the same copy just after a look for other hosts spreads a tool to the hosts
    found (T1018, T1570)."""
    desc = view.desc
    copies = _program_copies(view) if clients.any() else None
    if copies is None or not copies.any():
        return None
    starts = view.present & view.desc_in("event", ("process_start", "execute"))
    launchers = view.values("subject_name", starts & view.desc_where("object_name", lambda n: n.casefold() in COPY_CLIENTS, starts)) - {""}
    launchers = {n for n in launchers if n.casefold() not in COPY_CLIENTS}
    by_launcher = view.desc_in("subject_name", launchers) & view.present
    looks = by_launcher & (desc["event"] == "file_read") & view.desc_in("object_name", HOST_LISTS | HOST_TABLES)
    looks |= by_launcher & starts & view.desc_where("object_name", _discovery_tool, by_launcher & starts)
    # or a file viewer printing one (`cat /etc/hosts`; TRACE often leaves unnamed the shell
    # that started it)
    looks |= view.present & view.desc_where("subject_name", lambda n: n in FILE_VIEWERS) & (desc["event"] == "file_read") & view.desc_in("object_name", HOST_LISTS | HOST_TABLES)
    if not looks.any():
        return None
    connects = view.desc_where("action", lambda a: a.upper() in vocabulary().connect_actions, clients)
    if not connects.any():
        return None
    copy_minutes = np.unique(view.minutes[view.rows_of(copies)])
    look_minutes = np.sort(view.minutes[view.rows_of(looks)])
    # copies with a look at most DISCOVERY_BEFORE_COPY_MINUTES before them (a sorted search)
    k = np.searchsorted(look_minutes, copy_minutes, side="right") - 1
    after_look = (k >= 0) & (copy_minutes - look_minutes[np.maximum(k, 0)] <= DISCOVERY_BEFORE_COPY_MINUTES * MINUTE_NS)
    copy_minutes = copy_minutes[after_look]
    if not len(copy_minutes):
        return None
    at = view.rows_of(connects)
    minutes = view.minutes[at]
    _, near = _copy_near(copy_minutes, minutes)
    if not near.any():
        return None
    hosts = set(desc["object_name"][view._codes[at[near]]].tolist())
    first_copy = int(copy_minutes[0])
    used_looks = looks & (view.first_minutes >= first_copy - DISCOVERY_BEFORE_COPY_MINUTES * MINUTE_NS) & (view.first_minutes <= int(copy_minutes[-1]))
    return clients & view.desc_in("object_name", hosts), copies, used_looks


def _pivots_after_sweeps(view: LogView, clients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the ``clients`` descriptions, the sweeps' descriptions) where a client reached a
    host a sweep reached, from that minute on, and the sweep's process, or the process that
    started it, also started the client (directly or through its children)."""
    pivots = np.zeros(len(view.descriptions), dtype=bool)
    swept = pivots.copy()
    if not clients.any():
        return pivots, swept
    starts = view.present & (view.desc["event"] == "process_start")
    reached = view.values("object_name", clients)
    for sweep in view.sweeps:
        if reached.isdisjoint(sweep["hosts"]):  # the clients reach none of its hosts
            continue
        probes = view.desc_in("subject_name", {sweep["subject"]}) & view.desc_in("object_name", sweep["hosts"])
        launchers = view.values("subject_name", starts & view.desc_in("object_name", {sweep["subject"]}))
        launchers.discard(sweep["subject"])
        # or the sweeping process itself, where the log does not show what started it (an
        # implant whose shell runs ssh to a host it swept)
        launchers.add(sweep["subject"])
        if not probes.any():
            continue
        found = clients & view.desc_in("object_name", sweep["hosts"]) & descendant_subjects(view, launchers)
        if found.any() and view.minutes[view.expand(found)].max() >= view.minutes[view.expand(probes)].min():
            pivots |= found
            swept |= probes
    return pivots, swept


# what shows or copies a file for whoever runs it: a key read out by hand
KEY_READERS = FILE_VIEWERS | {"cp", "base64", "xxd", "od", "hexdump", "dd"}


def _key_dumps_by_shells(view: LogView) -> tuple[set[str], np.ndarray] | None:
    """(shells, descriptions) where a shell started a file viewer or copier (``KEY_READERS``)
    that read a secret key store (``cat id_rsa``), or None. A program that reads such a store
    in its work (tar archiving ``/etc`` with its shadow, pg_dump reading its ``.pgpass``)
    shows no one the key."""
    reads = _secret_reads(view)
    reads = reads & view.desc_where("subject_name", lambda n: n in KEY_READERS, reads)
    if not reads.any():
        return None
    starts = view.present & view.desc_in("event", ("process_start", "execute"))
    shells = _shells_starting(view, starts, view.values("subject_name", reads))
    if not shells:
        return None
    readers = view.values("object_name", starts & view.desc_in("subject_name", shells))
    dump_rows = reads & view.desc_in("subject_name", readers)
    return (shells, dump_rows) if dump_rows.any() else None


def _secret_reads(view: LogView) -> np.ndarray:
    """The descriptions of a named process reading a secret credential store (shadow, a
    private key; ``secret_credential``), computed once per view."""

    def compute() -> np.ndarray:
        desc = view.desc
        reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
        reads &= view.desc_where("object_name", secret_credential, reads)
        reads &= ~view.desc_in("subject_name", PLACEHOLDERS | {""})
        reads.flags.writeable = False  # shared by several rules: none may change it in place
        return reads

    return view.derived("_secret_reads", compute)


def _shells_starting(view: LogView, starts: np.ndarray, programs: set[str]) -> set[str]:
    """The shells (by name) that ``starts`` show starting one of ``programs``."""
    return {n for n in view.values("subject_name", starts & view.desc_in("object_name", programs)) if process_category(n) == "shell"}


# a task the Task Scheduler registers this soon after it accepted a connection from another
# host, and a program it starts this soon after that, were asked for by that host
REMOTE_TASK_MINUTES = 2
# what a remotely registered task runs to execute an attacker's command or payload
_TASK_PAYLOAD_HOSTS = frozenset({"cmd.exe", "powershell.exe", "pwsh.exe", "rundll32.exe", "mshta.exe", "regsvr32.exe", "wscript.exe", "cscript.exe"})


# a Windows program or library by its extension (not a script: configuration management
# over WinRM, Ansible's, writes and runs PowerShell scripts on every managed host)
WINDOWS_BINARY = re.compile(r"\.(exe|dll|scr|com|sys)$", re.I)


def remote_session_writes_program(view: LogView) -> list[StageEvidence]:
    """A remote-session host (``remote_session_hosts``: WinRM's ``wsmprovhost.exe`` and
    ``winrshost.exe``, PsExec's service) writing a program (by its extension, ``WINDOWS_BINARY``)
    after this host accepted a connection from another: a tool copied onto this host over a
    session another host opened (T1570 over T1021.006), whether or not the slice shows it
    run (``ingress_then_run`` weighs the ones it does)."""
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & (desc["object_kind"] == "file")
    writes &= view.desc_where("subject_name", remote_session_host, writes)
    writes &= view.desc_where("object_name", lambda n: bool(WINDOWS_BINARY.search(n)), writes)
    if not writes.any():
        return []
    inbound = _inbound_from_another_host(view)
    if inbound is None:
        return []
    position, address, _ = inbound
    first = int(view.minutes[position])
    rows = view.rows_of(writes)
    rows = rows[view.minutes[rows] >= first]
    if not len(rows):
        return []
    hosts = set(desc["subject_name"][view._codes[rows]].tolist())
    programs = set(desc["object_name"][view._codes[rows]].tolist())
    reason = (
        f"{_names(hosts)}, which serves a remote session another host opened, wrote {_names(programs)} after this host accepted a "
        f"connection from {quoted(address)}: a tool copied onto this host over that session."
    )
    remote = "T1021.002" if any(h.casefold().startswith("psexesvc") for h in hosts) else "T1021.006"
    return [arrival(view, cited(view, np.array([position], dtype=np.int64), rows, stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1570", remote)))]


def remote_task_target(view: LogView) -> list[StageEvidence]:
    """The target of a scheduled task registered from another host (schtasks /s, Impacket's
    atexec, T1053.005 with T1021): the Task Scheduler's service host accepts an inbound
    connection (at this host's own address, or from one not public), registers a task
    within ``REMOTE_TASK_MINUTES``, and starts a shell, script host, DLL runner or a program
    the knowledge base does not know within as many minutes of that. A task registered locally (an installer, Group Policy, which
    fetches its tasks over its own outbound connections) accepts no such connection."""
    desc = view.desc
    host = view.desc_where("subject_name", lambda n: n.casefold() == "svchost.exe")  # Windows names are case-blind
    # an accepted connection, not a reply to one of its own: OpTC names the receiving end of
    # an inbound flow (this host's own address), so the peer itself may not be in the log
    accepted = view.present & host & (desc["event"] == "network_in") & view.desc_in("action", vocabulary().accept_actions)
    accepted &= ~view.desc_in("object_name", PLACEHOLDERS)
    own = this_host_addresses(view)
    accepted &= view.desc_where("object_name", lambda a: a in own or view.address_class(a) not in ("loopback", "local", "public"), accepted)
    tasks = view.present & host & ((desc["event"] == "task_create") | _task_definitions_written(view))
    if not accepted.any() or not tasks.any():
        return []
    starts = view.present & host & (desc["object_kind"] == "process") & (desc["event"] == "process_start")
    starts &= view.desc_where("object_name", lambda n: n.casefold() in _TASK_PAYLOAD_HOSTS or (bool(n) and lookup(n, "process") is None), starts)
    if not starts.any():
        return []
    accept_rows, task_rows, start_rows = view.rows_of(accepted), view.rows_of(tasks), view.rows_of(starts)
    minutes, window = view.minutes // MINUTE_NS, REMOTE_TASK_MINUTES
    hits: list[np.ndarray] = []
    for task in task_rows.tolist():
        at = minutes[task]
        before = accept_rows[(minutes[accept_rows] <= at) & (minutes[accept_rows] >= at - window)]
        after = start_rows[(minutes[start_rows] >= at) & (minutes[start_rows] <= at + window)]
        if len(before) and len(after):
            hits += [before, np.array([task]), after]
    if not hits:
        return []
    rows = np.unique(np.concatenate(hits))
    in_rows = np.zeros(len(accepted), dtype=bool)
    in_rows[view._codes[rows]] = True
    peers, started = view.values("object_name", in_rows & accepted), view.values("object_name", in_rows & starts)
    reason = (
        f"The Task Scheduler's service host (`svchost.exe`) accepted an inbound connection ({_names(peers)}), registered a task within "
        f"{REMOTE_TASK_MINUTES} minutes and started {_names(started)}: a task registered from another host, this host its target."
    )
    found = [arrival(view, cited(view, rows, stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1053.005", "T1021")))]
    # the task stays registered unless the subgraph removes it (Impacket's atexec deletes its
    # task once it ran: one command, no foothold)
    kept = view.values("object_name", in_rows & tasks & ~unless_rows(view, "removed in the subgraph"))
    if kept:
        reason = (
            f"The task registered from another host ({_names(kept)}) stays registered (the subgraph does not remove it): "
            "it runs its program again on its schedule."
        )
        # the task's rows, and its cache key (TaskCache\\Tree\\NAME) that the service wrote
        keys = view.present & host & (desc["event"] == "registry_write") & view.desc_in("object_name", kept)
        found.append(cited(view, view.rows_of((view.desc_in("object_name", kept) & in_rows) | keys), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1053.005",)))
    return found


def _task_definitions_written(view: LogView) -> np.ndarray:
    """The descriptions of the Task Scheduler's service host (``svchost.exe``) writing a
    task's definition as OpTC's names show it: a file without an extension (System32\\Tasks\\NAME)
    whose name it also writes as a registry key (TaskCache\\Tree\\NAME)."""
    desc = view.desc
    host = view.present & view.desc_where("subject_name", lambda n: n.casefold() == TASK_SERVICE_HOST)
    files = host & view.desc_in("event", ("file_write", "file_create")) & (desc["object_kind"] == "file")
    files &= view.desc_where("object_name", task_definition_name, files)
    if not files.any():
        return files
    keys = {n.casefold() for n in view.values("object_name", host & (desc["event"] == "registry_write"))}
    return files & view.desc_where("object_name", lambda n: n.casefold() in keys, files)


FILE_TRANSFER_SERVER = "file transfer server"  # the knowledge base's category


def _served(view: LogView, descriptions: np.ndarray) -> np.ndarray:
    """Of these flow descriptions, those whose process and address form a pair the
    process only served: the log shows it accepting the address's connections and never
    opening one to it (``accept_actions``, ``connect_actions`` in events.yaml). The Command
    and Control and exfiltration rules read a served client through it."""
    desc = view.desc
    actions = vocabulary()
    flows = (desc["object_kind"] == "flow") & view.present
    accepted = view.pairs(flows & view.desc_in("action", actions.accept_actions))
    if not accepted:
        return np.zeros(len(descriptions), dtype=bool)
    # (a file transfer server opening the data connection back to a client it accepted, FTP's
    # active mode and GridFTP's, still serves it)
    opened = flows & view.desc_in("action", actions.connect_actions)
    opened &= ~view.desc_where("subject_name", lambda n: process_category(n) == FILE_TRANSFER_SERVER, opened)
    served = accepted - view.pairs(opened)
    found = np.zeros(len(descriptions), dtype=bool)
    if served:
        for at in np.flatnonzero(descriptions).tolist():
            found[at] = (desc["subject_name"][at], desc["object_name"][at]) in served
    return found


def _answered_requests(view: LogView, descriptions: np.ndarray) -> np.ndarray:
    """Of these flow descriptions, those of a web server (``web_servers`` in roles.yaml) with
    an address it opened no connection to and that spoke first (its first message from the
    address is no later than its first to it, to the minute): the server answering the
    address's requests. A web shell's commands ride them; the web-shell rules weigh those."""
    desc = view.desc
    found = np.zeros(len(descriptions), dtype=bool)
    mine = descriptions & view.desc_where("subject_name", web_server, descriptions)
    if not mine.any():
        return found
    opened = view.pairs(view.present & (desc["object_kind"] == "flow") & view.desc_in("action", vocabulary().connect_actions))
    first: dict[tuple[str, str, str], int] = {}
    for at in np.flatnonzero(mine).tolist():
        key = (desc["subject_name"][at], desc["object_name"][at], desc["event"][at])
        first[key] = min(first.get(key, int(view.first_minutes[at])), int(view.first_minutes[at]))
    for at in np.flatnonzero(mine).tolist():
        pair = (desc["subject_name"][at], desc["object_name"][at])
        heard = first.get((*pair, "network_in"))
        found[at] = pair not in opened and heard is not None and heard <= first.get((*pair, "network_out"), heard)
    return found


def _who(subjects: set[str]) -> str:
    """Processes by name (``_names`` leaves out the empty one); the log's unnamed ones as such."""
    parts = [_names(subjects), "an unnamed process" if "" in subjects else ""]
    return " and ".join(part for part in parts if part)


def _copy_transports(view: LogView, senders: set[str]) -> dict[str, set[str]]:
    """Each of ``senders`` that a copy client (``COPY_CLIENTS``) or a mail program started ->
    those programs: a copy's transport (scp's ssh) or a message's (mail's sendmail), which
    sends what the copy client or mail program read; started as a process (Windows, TRACE's
    clone) or as a program run (``scp EXECUTE ssh``)."""
    desc = view.desc
    starts = view.program_starts & view.desc_in("object_name", senders)
    starts &= view.desc_where("subject_name", lambda n: n.casefold() in COPY_CLIENTS or process_category(n) == "mail client", starts)
    found: dict[str, set[str]] = {}
    for position in np.flatnonzero(starts).tolist():
        if desc["object_name"][position] != desc["subject_name"][position]:
            found.setdefault(desc["object_name"][position], set()).add(desc["subject_name"][position])
    return found


def _argument_carriers(view: LogView, reading: np.ndarray, staged: set[str], sends: np.ndarray) -> dict[str, set[str]]:
    """Each process behind ``sends`` that a shell, interpreter or admin tool (``OPERATOR_TOOLS``:
    cmd, PowerShell) started in or after the minute it read a file of ``staged`` (collected data staged, encoded or
    split: ``base64 docs.csv > .s1``, then ``dig $chunk.evil.example`` per line) -> those
    shells: the data went out in the started program's arguments (DNS queries, a ping's
    pattern), which the log does not record; the shell's read of it is the sender's."""
    if not staged:
        return {}
    desc = view.desc
    shell_reads = reading & view.desc_in("object_name", staged)
    shell_reads &= view.desc_where("subject_name", lambda n: process_category(n) in OPERATOR_TOOLS, shell_reads)
    if not shell_reads.any():
        return {}
    first_read = _first_minute_by_subject(view, shell_reads)
    senders = view.values("subject_name", sends) - PLACEHOLDERS
    starts = view.program_starts & view.desc_in("subject_name", set(first_read)) & view.desc_in("object_name", senders)
    found: dict[str, set[str]] = {}
    for position in view.rows_of(starts).tolist():
        code = view._codes[position]
        shell, child = desc["subject_name"][code], desc["object_name"][code]
        if child != shell and int(view.minutes[position]) >= first_read[shell]:
            found.setdefault(child, set()).add(shell)
    return found


def _relayed_archives(view: LogView, channel: str, readers: set[str], starts: np.ndarray, reads: np.ndarray, writes: np.ndarray, user_data: Callable[[str], bool]) -> set[str]:
    """The files ``readers`` (``channel`` and the copy clients it is the transport of) read
    that a program ``channel`` started, or one started beside them by the shell or script
    that started them (the archiver, then pscp or scp carrying the archive off; not by the
    desktop, unless ``channel`` is a copy client: a user's own 7-Zip and browser upload), wrote after reading user data (an
    archive, where that program is a user application). ``starts``: the descriptions that
    run a program, as the caller reads them."""
    desc = view.desc
    started = view.values("object_name", starts & (desc["subject_name"] == channel)) - PLACEHOLDERS - {channel}
    # (by the desktop too where the channel is a copy client, WinSCP or scp, not a browser:
    # a user's own archive of documents copied to an outside server is carried off, as
    # analysts read it; a browser's upload is the user's use of a web service)
    copying = session_client(channel)
    parents = {n for n in view.values("subject_name", starts & view.desc_in("object_name", readers)) - PLACEHOLDERS - readers if copying or _operator_tool(n)}
    if parents:
        started |= view.values("object_name", starts & view.desc_in("subject_name", parents)) - PLACEHOLDERS - {channel}
    if not started:
        return set()
    collected = reads & view.desc_in("subject_name", started)
    collectors = view.values("subject_name", collected & view.desc_where("object_name", user_data, collected))
    # a user's application saving a document (Excel opening a mailed workbook, saving the
    # user's edits for the mail client to send back) stages nothing; an archive it writes
    # (Word writing report.zip after reading other documents) is staging
    applications = {c for c in collectors if user_application(c)}
    # (tar's archive is written by the compressor it starts: gzip)
    writers = (collectors - applications) | _compressors_started_by(view, collectors - applications)
    staged = view.values("object_name", writes & view.desc_in("subject_name", writers))
    staged |= {n for n in view.values("object_name", writes & view.desc_in("subject_name", applications)) if ARCHIVE.search(n)}
    if not staged:
        return set()
    # and what carries it on (uuencode or openssl writing the archive out again for the mail
    # or the transfer), whatever its name
    staged |= _restaged(view, reads, writes, staged)
    return view.values("object_name", reads & view.desc_in("subject_name", readers) & view.desc_in("object_name", staged))


def _archive_relays(view: LogView, sends: np.ndarray, writes: np.ndarray, user_data: Callable[[str], bool]) -> np.ndarray:
    """The descriptions of a process behind ``sends`` that is a routine channel (a Windows
    system process, a browser) and started a program which read user data and wrote a file (an archive, where that program is
    a user application) that the channel then
    read: documents handed to an archiver and the archive carried off (T1560, T1041), which
    is none of those processes' ordinary work; a backup agent's is (``archiving_senders``).
    ``writes``: ``exfiltration``'s file writes."""
    desc = view.desc
    channels = {n for n in view.values("subject_name", sends) if routine_channel(n) and not archiving_sender(n)} - PLACEHOLDERS
    if not channels:
        return np.zeros(len(desc["subject_name"]), dtype=bool)
    present = view.present
    starts = present & (desc["event"] == "process_start") & (desc["object_kind"] == "process")
    reads = present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
    writes = writes & present
    relays = set()
    transports = _copy_transports(view, channels)
    for channel in sorted(channels):
        # a copy client's transport (scp's ssh) sends what the copy client read: the copy
        # client reads for it, and its launcher is the channel's
        readers = {channel} | transports.get(channel, set())
        carried = _relayed_archives(view, channel, readers, starts, reads, writes, user_data)
        if not carried:
            # the same, the programs run as TRACE and CADETS show them (a shell executing
            # tar, then scp): an archive of user data copied to an outside address is
            # carried off, whoever packs it (analysts call a user's or a cron job's archive
            # sent outside exfiltration; the same copy to a host of the site is a backup,
            # and ``sends`` holds outside addresses only)
            carried = _relayed_archives(view, channel, readers, view.program_starts, reads, writes, user_data)
        if carried:
            relays.add(channel)
    # or a Windows service host reading an archive that a shell or script host wrote after
    # reading user data, in a minute that shell started a program (bitsadmin): a transfer job
    # handed to a service (BITS carrying the archive off, T1197), whoever started the service
    # (or that a program such a shell started wrote, its archiver: cmd running 7za, then
    # bitsadmin)
    hosts = {c for c in channels - relays if process_category(c) == "windows system process"}
    if hosts:
        by_shells = starts & view.desc_where("subject_name", _operator_tool, starts)
        archivers = view.values("object_name", by_shells) - PLACEHOLDERS - hosts
        collected = reads & (view.desc_where("subject_name", _operator_tool, reads) | view.desc_in("subject_name", archivers))
        collectors = view.values("subject_name", collected & view.desc_where("object_name", user_data, collected))
        archives = {n for n in view.values("object_name", writes & view.desc_in("subject_name", collectors)) if ARCHIVE.search(n)}
        # and what such a shell's programs restaged from an archive, whatever its name
        # (certutil encoding the cab to base64 for the transfer)
        shells_programs = view.desc_where("subject_name", _operator_tool, reads) | view.desc_in("subject_name", archivers)
        archives |= _restaged(view, reads & shells_programs, writes, archives)
        if archives:
            # the shells that collected, or started the program that did
            handing = {c for c in collectors if _operator_tool(c)} | view.values("subject_name", by_shells & view.desc_in("object_name", collectors))
            handed = view.rows_of(starts & view.desc_in("subject_name", handing))
            handed_minutes = set(view.minutes[handed].tolist())
            for host in sorted(hosts):
                picked = view.rows_of(reads & (desc["subject_name"] == host) & view.desc_in("object_name", archives))
                if len(picked) and int(view.minutes[picked].min()) in handed_minutes | {m + MINUTE_NS for m in handed_minutes}:
                    relays.add(host)
    return view.desc_in("subject_name", relays)


# an archive of collected data encrypted, then split, then renamed: each hop a process that
# read the last file and wrote the next
STAGING_HOPS = 3


def _compressors_started_by(view: LogView, parents: set[str]) -> set[str]:
    """The compressors (``compressors`` in roles.yaml: gzip, bzip2, xz) the log shows one of
    ``parents`` starting (a process start, or TRACE's execute of the file by tar's child): an
    archiver's child writing the archive it fills."""
    if not parents:
        return set()
    starts = view.program_starts & view.desc_in("subject_name", parents)
    return {n for n in view.values("object_name", starts) if compressor(n)} - parents


def _pipeline_partners(view: LogView, writers: set[str]) -> dict[str, set[str]]:
    """The processes reading a pipe in a minute one of ``writers`` wrote to one, where a
    process that started that writer started the reader too, each with those writers: the
    next command of a shell pipeline (``tar c docs | nc host``, ``find | xargs cp``), fed
    what the writer produced. The log names no pipe, so the minute and the shared parent
    tie them."""
    found: dict[str, set[str]] = {}
    if not writers:
        return found
    desc = view.desc
    pipes = view.present & (desc["object_kind"] == "pipe")
    wrote = pipes & view.desc_in("action", ("WRITE", "SENDMSG", "SENDTO")) & view.desc_in("subject_name", writers)
    if not wrote.any():
        return found
    launchers = launchers_by_name(view)
    # the writers by (minute, a process that started them): one look-up per reader's row and
    # parent, not a pass over every writer (a crafted log of thousands of pipelines)
    by_minute_and_parent: dict[tuple[int, str], set[str]] = {}
    writer_names = set()
    for position in view.rows_of(wrote).tolist():
        writer, minute = desc["subject_name"][view._codes[position]], int(view.minutes[position])
        writer_names.add(writer)
        for parent in launchers.get(writer, ()):
            by_minute_and_parent.setdefault((minute, parent), set()).add(writer)
    read = pipes & view.desc_in("action", ("READ", "RECVMSG", "RECVFROM")) & ~view.desc_in("subject_name", writer_names | PLACEHOLDERS | {""})
    for position in view.rows_of(read).tolist():
        reader, minute = desc["subject_name"][view._codes[position]], int(view.minutes[position])
        for parent in launchers.get(reader, ()):
            fed = by_minute_and_parent.get((minute, parent))
            if fed:
                found.setdefault(reader, set()).update(fed)
    return found


def _restaged(view: LogView, reading: np.ndarray, writes: np.ndarray, staged: set[str]) -> set[str]:
    """Files that carry a staged archive on (``openssl enc`` of the tarball, ``split`` of it),
    or a hidden staging copy (``.mp``, a copy of the password database, packed by tar):
    written by a process that read a staged archive or copy or a file restaged from one,
    whatever their extension (an encrypted blob may be called ``.bin``), less files the log
    runs as programs."""
    frontier = {name for name in staged if ARCHIVE.search(name) or _hidden_staging_name(name)}
    if not frontier:
        return set()
    ran = view.values("object_name", view.present & view.desc_in("event", ("execute", "process_start", "module_load")))
    found: set[str] = set()
    for _ in range(STAGING_HOPS):
        readers = view.values("subject_name", reading & view.desc_in("object_name", frontier)) - PLACEHOLDERS
        grown = view.values("object_name", writes & view.desc_in("subject_name", readers)) - staged - found - ran - PLACEHOLDERS
        if not grown:
            break
        found |= grown
        frontier = grown
    return found


# minutes with sends before the data was read that make the sender's exchange a channel
# whose pace the sends after the read are measured against
BEACON_PACE_MINUTES = 3


def _beacon_kept_its_pace(view: LogView, before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the sends after the data was first read (``after``, log rows) are a channel
    going on as it went before (``before``): the sender sent in ``BEACON_PACE_MINUTES`` or
    more minutes before the read, and no minute after it holds more send-seconds than the
    busiest minute before. An implant in Explorer checking in every five minutes that goes
    on doing so after Explorer read a document shows nothing of the document leaving;
    carried data shows as a minute busier than its check-ins."""
    before_minutes = view.minutes[before]
    if len(np.unique(before_minutes)) < BEACON_PACE_MINUTES or not after.any():
        return False
    _, per_minute_before = np.unique(before_minutes, return_inverse=True)
    busiest_before = np.bincount(per_minute_before, weights=view.counts[before]).max()
    _, per_minute_after = np.unique(view.minutes[after], return_inverse=True)
    return bool(np.bincount(per_minute_after, weights=view.counts[after]).max() <= busiest_before)


def _hidden_staging_name(name: str) -> bool:
    """A hidden name with no extension that the knowledge base does not know (``.cache-7f3a``,
    not ``.bashrc``): where a collector writing it stages what it collected."""
    stem = name[1:]
    return name.startswith(".") and bool(stem) and "." not in stem and lookup(name, "file") is None and not SCRIPT_OR_BINARY.search(name) and not library_stem(name)


def exfiltration(view: LogView) -> list[StageEvidence]:
    """Data sent to a non-internal address by a process that read user data, or read a file
    (an archive) written by a process that read user data."""
    desc = view.desc
    local = this_host_addresses(view)
    sends = (desc["object_kind"] == "flow") & (desc["event"] == "network_out") & ~view.desc_in("object_name", PLACEHOLDERS | local)
    sends &= view.present
    every_send = sends.copy()
    sends &= view.desc_where("object_name", lambda n: view.address_class(n) in ("public", "unknown") and n not in public_resolvers(), sends)
    # a host in the same /16 as this host's own address is one of the site's, declared or not
    # (as Command and Control and Lateral Movement read it): a copy to the site's file server
    # leaves nothing
    if local and sends.any():
        sends &= ~view.desc_in("object_name", neighbours_of_this_host(view, view.values("object_name", sends)))
    # a DNS query tool's questions leave through whichever resolver it asks, the site's or a
    # public one, which forwards them out: kept while the tool may carry staged data in them
    # (``_argument_carriers``), dropped below where it carries none
    resolver_queries = every_send & ~sends & view.desc_where("subject_name", lambda n: n.casefold() in DNS_QUERY_TOOLS, every_send)
    resolver_queries &= view.desc_where("object_name", lambda n: view.address_class(n) not in ("loopback", "local"), resolver_queries)
    sends |= resolver_queries
    from ..grounding.semantic import is_web_script

    def user_data(name: str) -> bool:
        # a site's server-side scripts and style sheets, which its web server reads to answer
        # requests, are its code and resources
        if name in PLACEHOLDERS or is_web_script(name) or SITE_RESOURCE.search(name):
            return False
        entry = lookup(name, "file")
        if entry is not None and entry.category == "credential store":  # shadow, id_rsa, SAM: no extension
            return secret_credential(name)
        if "." not in name.lstrip("."):  # no extension: a dotfile's leading dot is none (.pinerc)
            return False
        if entry is None:
            return not (SCRIPT_OR_BINARY.search(name) or SYSTEM_RESOURCE.search(name) or OFFICE_TEMPLATE.search(name) or CONFIGURATION_NAME.match(name) or EXTENSION_PACKAGE.search(name) or BUILD_PROJECT.search(name) or PACKAGE_CODE.search(name) or library_stem(name))
        return entry.category == "application data"

    # a file written under a temporary name and renamed into place (zip's zi8Kd2Pq renamed to
    # .thumbs.zip) is written under the name it is renamed to
    writes = view.desc_in("event", ("file_write", "file_create", "file_rename")) & ~view.desc_in("object_name", PLACEHOLDERS)
    # a browser or mail client sending what it read to its server (an upload, a mail with an
    # attachment), or a service host its own files, is its ordinary work unless the log shows
    # it acting for an attacker
    # (by entity where the input identifies processes: a user's ssh beside an implant's)
    if any(routine_channel(n) for n in view.values("subject_name", sends)):
        sender = acting_subjects(view, _acting_clients(view), sends, routine_channel)
        sender |= _archive_relays(view, sends, writes, user_data)
    else:
        sender = view.desc_in("subject_name", view.values("subject_name", sends))
    sends &= sender
    # a server answering its clients (their connections accepted, none opened to them) sends
    # what they asked for: a web server's pages are no exfiltration unless the log shows the
    # server acting for an attacker (a dropped program listening for its operator)
    served = _served(view, sends)
    if served.any():
        sends &= ~(served & ~in_chain(view, _acting_clients(view)))
    if not sends.any():
        return []

    over_several = np.zeros(len(view.minutes), dtype=bool)  # of those, a holder's of several

    def held_rows(sends: np.ndarray) -> np.ndarray:
        """The unnamed sends (TRACE's socket writes) over a connection that one of ``sends``
        opened, its process's only outside one, or over one of its connections to outside
        addresses only (``held_sends``)."""
        rows = np.zeros(len(view.minutes), dtype=bool)
        held = held_sends(view)
        if held:
            pairs = set(zip(desc["subject_name"][sends].tolist(), desc["object_name"][sends].tolist()))
            for subject, (addresses, positions) in held.items():
                if any((subject, address) in pairs for address in addresses):
                    rows[positions] = True
                    over_several[positions] = len(addresses) > 1
        return rows

    # connections opened carry nothing the log shows: data must be seen leaving (a message,
    # a send, a write to the socket) before it is said to be carried off
    if not (sends & ~view.desc_in("action", vocabulary().connect_actions)).any() and not held_rows(sends).any():
        return []

    reading = (desc["event"] == "file_read") & (desc["object_kind"] == "file") & view.present
    reading &= ~_handed_code(view, reading, writes)
    reading &= ~_own_code_read(view, reading)
    data_reads = reading & view.desc_where("object_name", user_data, reading)
    # a file written by a process that had opened LSASS is its memory dumped (comsvcs'
    # MiniDump to debug.bin): secrets, whatever its extension
    # (and a keylogger's store of what it captured: keystrokes, passwords among them; its
    # reads of the input device are the capture itself)
    dumps = _credential_dumps(view, writes) | _captured_input_files(view, writes)
    dump_reads = reading & view.desc_in("object_name", dumps)
    data_reads |= dump_reads
    keystrokes = reading & view.desc_in("subject_name", set(input_captures(view))) & view.desc_where("object_name", lambda n: bool(INPUT_DEVICE.match(n)), reading)
    data_reads |= keystrokes
    # a user application reading application data (a browser its profile, history and
    # extension registry, a mail client its folders) reads its own state, whoever compromised
    # it: what a stealer carries off is the same files read by another program
    # (the log's unnamed process too: a process it does not name reading a browser's history is
    # most likely that browser, and nothing ties it to a stealer)
    app_data = data_reads & view.desc_where("object_name", _application_data, data_reads)
    if app_data.any():
        data_reads &= ~(app_data & view.desc_where("subject_name", lambda n: not n or user_application(n), app_data))
    # a file the log's unnamed process reads that a server of this subgraph (a process that
    # accepted connections) reads too is most likely that server's (a web server's pages)
    unnamed_reads = data_reads & (desc["subject_name"] == "")
    if unnamed_reads.any():
        servers = view.values("subject_name", _accepted(view) & (desc["object_kind"] == "flow")) - {""}
        if servers:
            data_reads &= ~(unnamed_reads & view.desc_in("object_name", view.values("object_name", reading & view.desc_in("subject_name", servers))))
    # so does a browser or mail client reading the credential stores of its own profile
    # (Firefox its certificate database): a stealer reads them from another program
    data_reads &= ~view.pattern_flags(lambda row: reads_own_credential_store(row.subject, row.object), data_reads)
    # a file the reader itself wrote by the minute it first read it (a download read back to
    # unpack it, its own output) is its own product, not data it collected
    # (a dump its own maker reads back to send is still the secrets it holds)
    data_reads &= ~(_own_products(view, data_reads, writes) & ~dump_reads)
    # nor a file the reader writes back, no document, archive or secret (a beacon's own
    # configuration, read at start and updated as it runs): its state, not data collected
    # (or writes the next version of: certbot reading privkey2.pem as it writes privkey3.pem)
    rewritten = view.pairs(writes & view.present & view.desc_in("subject_name", view.values("subject_name", data_reads) - {""}))
    if rewritten:
        renewed = {(subject, key) for subject, name in rewritten if (key := _version_key(name))}
        data_reads &= ~view.pattern_flags(
            lambda row: ((row.subject, row.object) in rewritten or (row.subject, _version_key(row.object)) in renewed)
            and not (DOCUMENT.search(row.object) or ARCHIVE.search(row.object) or secret_credential(row.object)),
            data_reads & ~dump_reads,
        )
    # nor is a file that the process which started the reader wrote for it (PowerShell
    # writing ngrok.yml, then starting ngrok), unless that process read user data itself (a
    # collector handing its archive to an uploader)
    data_reads &= ~_handed_input(view, data_reads, writes)
    # an SSH client reads the user's private key to log in, whoever started it: that key is
    # not what it carries off (what it sends is its session, or the file scp copies)
    key_logins = data_reads & view.desc_where("subject_name", session_client, data_reads)
    if key_logins.any():
        data_reads &= ~(key_logins & view.desc_where("object_name", secret_credential, key_logins))
    # so, most likely, is a key the log's unnamed process reads in a minute a session client
    # starts or connects (TRACE often leaves ssh's own reads unnamed)
    unnamed_keys = data_reads & (desc["subject_name"] == "") & view.desc_where("object_name", secret_credential, data_reads & (desc["subject_name"] == ""))
    if unnamed_keys.any():
        sessions = view.present & (view.desc_where("subject_name", session_client) | view.desc_where("object_name", session_client))
        sessions &= view.desc_in("event", ("process_start", "execute", "network_out"))
        session_minutes = set(view.minutes[view.rows_of(sessions)].tolist())
        if session_minutes:
            key_rows = view.rows_of(unnamed_keys)
            at_login = np.fromiter((m in session_minutes for m in view.minutes[key_rows].tolist()), dtype=bool, count=len(key_rows))
            # a description counts out only where every read of it is at a login
            logins = np.zeros(len(unnamed_keys), dtype=bool)
            logins[distinct(view._codes[key_rows[at_login]])] = True
            logins[distinct(view._codes[key_rows[~at_login]])] = False
            data_reads &= ~logins
    # the data must reach a sender: it read the data itself, or read a file that a reader of
    # the data wrote (staged in an archive); a document opened by one process while another
    # beacons is not exfiltration
    collectors = view.values("subject_name", data_reads)
    # ... or by a database client writing an export (pg_dump, bcp, sqlcmd -o): the rows it
    # pulled from its server are collected data, though no file read shows them
    exporters = {n for n in view.values("subject_name", writes & view.present) - PLACEHOLDERS if process_category(n) == "database client"}
    collectors |= exporters
    # ... or by the compressor a collector started to write its archive (tar's gzip: tar
    # reads the files, its child writes the .tgz)
    collectors |= _compressors_started_by(view, collectors)
    written_by_collectors = view.values("object_name", writes & view.desc_in("subject_name", collectors))
    # what a collector wrote carries the data only if it is data itself (an archive, a copy):
    # a library or program it unpacked from a mailed archive is no staging
    # (or a hidden file of no extension, an archive staged under a dot-name: .cache-7f3a)
    # (or anything else an archiver wrote after reading collected data that is no archive
    # itself, or the compressor it started: its archive, whatever it is called; not what it
    # unpacked from an archive, nor a file the knowledge base knows, such as the shell's history)
    packers = {c for c in collectors if archiver(c) and any(not ARCHIVE.search(n) for n in view.values("object_name", data_reads & view.desc_in("subject_name", {c})))}
    packers |= _compressors_started_by(view, packers)
    packed = {name for name in view.values("object_name", writes & view.desc_in("subject_name", packers)) if lookup(name, "file") is None}
    written_by_collectors = {name for name in written_by_collectors if user_data(name) or _hidden_staging_name(name) or name in packed}
    # (what carries an archive on is staged whatever else made it so: uuencode, which read
    # the tarball, is a collector too)
    restaged = _restaged(view, reading, writes, {n for n in written_by_collectors if n in packed or ARCHIVE.search(n) or _hidden_staging_name(n)})
    written_by_collectors |= restaged
    # a copy's transport (scp's ssh) sends what the copy client read: its reads are the
    # sender's
    transports = _copy_transports(view, view.values("subject_name", sends & sender))
    # (and a program a shell started after it read staged data, its data in the arguments:
    # dig's queries)
    by_arguments = _argument_carriers(view, reading, written_by_collectors, sends & sender)
    for carrier, shells in by_arguments.items():
        transports.setdefault(carrier, set()).update(shells)
    if resolver_queries.any():
        sends &= ~(resolver_queries & ~view.desc_in("subject_name", set(by_arguments)))
    copiers = {c for clients in transports.values() for c in clients}
    if copiers:
        sender = sender | view.desc_in("subject_name", copiers)
    staged_reads = reading & sender & view.desc_in("object_name", written_by_collectors)
    # the log's unnamed process reading a staged archive in a minute that holds a sender's
    # own unnamed messages over its one outside connection (curl reading s.tgz as it uploads
    # it; TRACE leaves both unnamed) reads it for that sender
    held_readers = _archive_reads_by_held_senders(view, reading, written_by_collectors, sends)
    if held_readers:
        staged_reads |= reading & (desc["subject_name"] == "") & view.desc_in("object_name", set(held_readers))
    # the log's unnamed processes (many under one name) reaching several outside addresses:
    # an unnamed read and an unnamed send need not be one process's (a browser's own profile
    # read beside its browsing); only an archive of collected data read and sent ties them
    unnamed_many = len(view.values("object_name", sends & (desc["subject_name"] == ""))) > 1
    if unnamed_many:
        staged_reads &= (desc["subject_name"] != "") | view.desc_where("object_name", lambda n: bool(ARCHIVE.search(n)), staged_reads)
    staged = view.values("object_name", staged_reads)
    direct = data_reads & sender & ~view.desc_in("object_name", staged)
    # a sender fed through a shell pipeline by a process that read the data (tar c docs | nc
    # host): the reader's reads are the sender's
    sending = view.values("subject_name", sends & sender)
    piped = {reader: fed for reader, fed in _pipeline_partners(view, view.values("subject_name", data_reads) - {""}).items() if reader in sending}
    feeders = set().union(*piped.values()) if piped else set()
    if piped:
        direct |= data_reads & view.desc_in("subject_name", feeders)
    if unnamed_many:
        direct &= desc["subject_name"] != ""
    stagers = view.values("subject_name", writes & view.desc_in("object_name", staged))
    collected = data_reads & view.desc_in("subject_name", stagers) & ~sender
    # only what the processes that read the data (or its archive) sent can carry it: the
    # browsing of a browser beside the implant it dropped carries none of the implant's reads
    readers = view.values("subject_name", direct | staged_reads) | set(piped)
    readers |= set(held_readers.values())
    readers |= {transport for transport, clients in transports.items() if clients & readers}
    sends &= view.desc_in("subject_name", readers)
    if not sends.any():
        return []
    unnamed_rows = held_rows(sends)
    send_rows = view.expand(sends) | unnamed_rows
    before_last_send = view.minutes <= view.minutes[send_rows].max()
    direct_rows = view.expand(direct) & before_last_send
    staged_rows = view.expand(staged_reads) & before_last_send
    if not (direct_rows.any() or staged_rows.any()):
        return []
    # what left after the data was first read (to the minute): a beacon's messages before it
    # carried none of it, and a rule that says "after" cites and counts only these
    send_rows = send_rows & (view.minutes >= view.minutes[direct_rows | staged_rows].min())
    # a few sends after plain reads may be a program's own chatter; collected data archived
    # and the archive read back by the sender before it sends is the exfiltration's own shape
    # (T1560, then T1041), whatever the number of messages one archive takes; so is a secret
    # credential store (a private key, shadow) read by the process that then sends, where that
    # process is one the knowledge base does not know or the log shows acting for an attacker:
    # one message carries a key (sudo, sshd and lsass read such files as their ordinary work)
    # (an archive by its name, or one staged under a dot-name of no extension: tar's .t91z)
    # (or whatever an archiver wrote of collected data: rar's ~DF81A3.tmp, and what carries
    # such an archive on: uuencode's copy of it for the mail)
    archived = staged_reads & view.desc_where("object_name", lambda n: bool(ARCHIVE.search(n)) or _hidden_staging_name(n) or n in packed or n in restaged, staged_reads)
    # (and so is a shell or script host that sends packing what it read into an archive before
    # it sends: PowerShell's Compress-Archive, then its upload, which needs no read back)
    own_archives = {n for n in written_by_collectors if ARCHIVE.search(n)}
    packing_senders: set[str] = set()
    if own_archives and direct.any():
        # (a shell, script host or interpreter: a program saving a package it downloaded,
        # Gradle's JVM its distribution's zip, is no packer)
        packing_senders = {n for n in view.values("subject_name", writes & view.present & view.desc_in("object_name", own_archives)) & view.values("subject_name", sends) if _operator_tool(n)}
        archived |= direct & view.desc_in("subject_name", packing_senders)
    # (a database export read back and sent is the same shape: a table collected, then sent)
    if exporters:
        archived |= staged_reads & view.desc_in("object_name", view.values("object_name", writes & view.desc_in("subject_name", exporters)))
    secrets = direct & view.desc_where("object_name", secret_credential, direct)
    if secrets.any():
        unknown = view.desc_where("subject_name", lambda n: lookup(n, "process") is None, secrets)
        # (or a transfer tool reading the password-hash store: curl posting shadow; its own
        # logins read .netrc or a key, never the system's password hashes)
        posted = view.desc_where("subject_name", lambda n: n.casefold() in TRANSFER_TOOLS or n.casefold() in RAW_SOCKET_TOOLS, secrets)
        posted &= view.desc_where("object_name", lambda n: n.casefold() in PASSWORD_HASH_STORES, posted)
        # (or an interpreter that swept several kinds of them, as the credential-sweep rule
        # asks: a script logging in with the one key it reads carries off nothing)
        swept = view.desc_in("subject_name", set(_secret_sweepers(view, secrets & view.desc_where("subject_name", lambda n: process_category(n) == "interpreter", secrets))))
        secrets &= unknown | posted | swept | in_chain(view, acting_for_an_attacker(view))
    # a memory dump of LSASS is no file any program reads as its work: whoever sends it
    # (nor keystrokes a keylogger captured)
    secrets |= direct & (view.desc_in("object_name", dumps) | keystrokes)
    carried_rows = view.expand(archived | secrets) & before_last_send
    carried_then_sent = carried_rows.any() and (send_rows & (view.minutes >= view.minutes[carried_rows].min())).any()
    if not carried_then_sent and int(view.counts[send_rows].sum()) < EXFIL_MIN_SECONDS:
        return []
    # a known program (Explorer an implant was injected into, PowerShell) reading documents,
    # or packing them into an archive, whose channel goes on at its pace shows nothing of them
    # leaving over it (the archive copied to a host of the site is staged, not carried off);
    # a program the knowledge base does not know reading documents is collecting them
    known_readers = all(n and lookup(n, "process") is not None for n in view.values("subject_name", direct | staged_reads))
    if known_readers and _beacon_kept_its_pace(view, (view.expand(sends) | unnamed_rows) & ~send_rows, send_rows):
        return []
    paths = []
    if direct_rows.any():
        read_names = view.values('object_name', direct)
        paths.append(f"{_who(view.values('subject_name', direct))} read {_names(read_names)}")
        if read_names & dumps:
            paths[-1] += f" ({_names(read_names & dumps)}: written by a process that had opened LSASS, its memory dumped)"
    if staged_rows.any():
        how = f"by {_who(stagers)} after reading {_names(view.values('object_name', collected))}" if collected.any() else "after reads of user data"
        paths.append(f"{_who(view.values('subject_name', staged_reads))} read {_names(staged)}, written {how}")
    volume = int(view.counts[send_rows].sum())
    reason = f"Data sent to {_names(view.values('object_name', sends))} in {volume} distinct seconds after " + "; ".join(paths) + "."
    packed_sent = packing_senders & view.values("subject_name", direct)
    if packed_sent:
        reason += f" {_names(packed_sent)} wrote {_names(view.values('object_name', writes & view.present & view.desc_in('subject_name', packed_sent) & view.desc_in('object_name', own_archives)))} of what it read before it sent: an archive packed and carried off by one process."
    carriers = {t for t, clients in transports.items() if clients & readers} & view.values("subject_name", sends)
    argued = {t for t in carriers if by_arguments.get(t, set()) & readers}
    if carriers - argued:
        reason += f" {_names(carriers - argued)} sent it, the transport {_names(set().union(*(transports[t] for t in carriers - argued)))} started for its copy or message."
    if argued:
        reason += (
            f" {_names(argued)} sent it, started by {_names(set().union(*(by_arguments[t] for t in argued)))} after that read: "
            "the data in the started program's arguments (its queries), which the log does not record."
        )
    fed_senders = set(piped) & view.values("subject_name", sends)
    if fed_senders:
        reason += f" {_names(fed_senders)} sent what {_names(set().union(*(piped[s] for s in fed_senders)))} wrote into a pipe it read, started by the same process: a shell pipeline."
    unnamed_sent = send_rows & unnamed_rows
    if (unnamed_sent & ~over_several).any():
        reason += (
            f" In {int(view.counts[unnamed_sent & ~over_several].sum())} of those seconds the log records the messages without an address (a socket's writes, "
            "as TRACE records them) while the sender held its only connection to an outside address: read as that connection's."
        )
    if (unnamed_sent & over_several).any():
        reason += (
            f" In {int(view.counts[unnamed_sent & over_several].sum())} of those seconds the log records the messages without an address "
            "while the sender held connections to several outside addresses and no other process held one: read as sent to one of them."
        )
    reads = direct_rows | staged_rows | (view.expand(collected) & before_last_send)
    # sends the log records only without an address went over the sender's connection: its
    # rows (opened before the data was read) are cited as the flow that carried them
    carrier = np.zeros(len(view.minutes), dtype=bool)
    if not (send_rows & view.expand(sends)).any():
        carrier = view.expand(sends) & (view.minutes <= view.minutes[send_rows].max())
    return [cited(view, send_rows | reads | carrier, stage="Data Exfiltration", confidence="moderate", rationale=reason, tactic="TA0010", techniques=("T1041",))]


def install_script_steals_secrets(view: LogView) -> list[StageEvidence]:
    """A package's install script stealing the user's secrets (``install_script_thefts``:
    an interpreter a package manager started reading a secret credential store and sending
    to an outside address the package manager did not reach): the way in, a typosquatted or
    hijacked package (T1195.002), and the secrets carried off (T1041)."""
    thefts = install_script_thefts(view)
    if not thefts:
        return []
    desc = view.desc
    out = []
    for script, (started_rows, read_rows, send_rows) in sorted(thefts.items()):
        managers = set(desc["subject_name"][view._codes[started_rows]].tolist())
        stolen = set(desc["object_name"][view._codes[read_rows]].tolist())
        where = _names(set(desc["object_name"][view._codes[send_rows]].tolist()))
        way_in = (
            f"{_names({script})}, started below the package manager {_names(managers)}, read {_names(stolen)} and sent to {where}, "
            "an address the package manager did not reach: a package's install script stealing the user's secrets (a typosquatted or hijacked package)."
        )
        carried = f"{_names({script})} read {_names(stolen)}, secrets no install script needs, and sent them to {where}: the user's credentials carried off."
        out.append(cited(view, started_rows, read_rows, send_rows, stage="Initial Compromise", confidence="moderate", rationale=way_in, tactic="TA0001", techniques=("T1195.002",)))
        out.append(cited(view, read_rows, send_rows, stage="Data Exfiltration", confidence="moderate", rationale=carried, tactic="TA0010", techniques=("T1041", "T1552.001")))
    return out


# a pipeline's send this soon after its reader read the secret carries it
PIPELINE_MINUTES = 1


def pipeline_exfiltration(view: LogView) -> list[StageEvidence]:
    """A secret credential store (shadow, master.passwd, a private key) read by one command
    of a shell and sent to a public address, within a minute, by another process the same
    shell started or one of theirs in turn: ``cat master.passwd | mail`` (mail's sendmail
    sends; T1048). The pipe between them leaves no file, so ``exfiltration`` never sees the
    data reach the sender. Counted only for a shell that a program the knowledge base does
    not know started, or that the log shows in an attack chain (an administrator mailing a
    report is neither). Where the log shows the commands as files the shell executed (TRACE,
    CADETS), the reader must be a file viewer or mail program and the sender one that sends
    what it is fed (``_pipe_senders``)."""
    desc = view.desc
    secret = _secret_reads(view)
    if not secret.any():
        return []
    public = _public_sends(view)
    if not public.any():
        return []
    started = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process") & ~view.desc_in("object_name", PLACEHOLDERS)
    # FreeBSD's and Linux's logs show the forked shell executing cat, not a process of that
    # name started: a file viewer (or a mail program reading its message) run so counts as
    # the pipe's first command, its partner then only a program that sends what it is fed
    # (``_pipe_senders``: a shell's wget or ssh in that minute may fetch or log in, and the
    # minute cannot say which ran first)
    viewed = view.program_starts & (desc["event"] == "execute")
    viewed &= view.desc_where("object_name", lambda n: n in FILE_VIEWERS or _mail_or_socket_program(n), viewed)
    starts = started | viewed
    readers = view.values("subject_name", secret)
    # by shell, not by reader: only a few names are shells, however many commands read
    shells = _shells_starting(view, starts, readers)
    found = []
    for shell in sorted(shells):
        by_shell = starts & (desc["subject_name"] == shell)
        launchers = view.values("subject_name", view.program_starts & (desc["object_name"] == shell))
        # (or the shell a reverse shell's FIFO feeds: its commands are the operator's)
        relay = _fifo_relay(view)
        if not (shell in attack_chain(view) or any(_unknown(p) for p in launchers) or (relay is not None and shell in relay[1])):
            continue
        mine = view.values("object_name", by_shell) & readers
        sent = public & descendant_subjects(view, {shell}) & ~view.desc_in("subject_name", mine)
        if not mine & view.values("object_name", by_shell & started):
            sent &= view.desc_in("subject_name", _pipe_senders(view, view.values("subject_name", sent)))
        if not sent.any():
            continue
        reads = secret & view.desc_in("subject_name", mine)
        read_rows = view.expand(reads)
        send_rows = view.expand(sent) & (view.minutes >= view.minutes[read_rows].min())
        send_rows &= view.minutes <= view.minutes[read_rows].max() + PIPELINE_MINUTES * MINUTE_NS
        if not send_rows.any():
            continue
        sent &= _descriptions(view, send_rows)
        senders = view.values("subject_name", sent)
        launched = view.expand(by_shell & view.desc_in("object_name", mine) | starts & view.desc_in("object_name", senders))
        reason = (
            f"{_names({shell})} ran {_names(mine)}, which read {_names(view.values('object_name', reads))}, and {_names(senders)}, "
            f"started under {_names({shell})}, sent to {_names(view.values('object_name', sent))} within a minute: a secret piped out of the host."
        )
        found.append(cited(view, read_rows, launched, send_rows, stage="Data Exfiltration", confidence="moderate", rationale=reason, tactic="TA0010", techniques=("T1048",)))
    return found


def _mail_or_socket_program(name: str) -> bool:
    return process_category(name) in ("mail client", "mail server") or name.casefold() in RAW_SOCKET_TOOLS


def _pipe_senders(view: LogView, senders: set[str]) -> set[str]:
    """Those of ``senders`` that send what a pipe feeds them: a mail program, a bare-socket
    tool, or a transfer tool that wrote no file (``curl -d @-`` posting its input; a wget
    that saved a file fetched it)."""
    wrote = view.values("subject_name", view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", senders))
    return {s for s in senders if _mail_or_socket_program(s) or (s.casefold() in TRANSFER_TOOLS and s not in wrote)}


def _sends_off_host(view: LogView) -> np.ndarray:
    """The descriptions of a send or connection to another host: any address but this host's
    own, a loopback or a link-local one (computed once per view)."""

    def compute() -> np.ndarray:
        desc = view.desc
        sends = view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow")
        sends &= ~view.desc_in("object_name", PLACEHOLDERS | this_host_addresses(view))
        return sends & view.desc_where("object_name", lambda n: view.address_class(n) not in ("loopback", "local", "unknown"), sends)

    return view.derived("_sends_off_host", compute)


def _public_sends(view: LogView) -> np.ndarray:
    """The descriptions of a send or connection to a public address other than this host's
    own (``_sends_off_host`` to a public address; computed once per view)."""

    def compute() -> np.ndarray:
        sends = _sends_off_host(view)
        return sends & view.desc_where("object_name", lambda n: view.address_class(n) == "public", sends)

    return view.derived("_public_sends", compute)


def _credential_dumps(view: LogView, writes: np.ndarray) -> set[str]:
    """The files written, at or after its first access, by a process that opened or read
    LSASS, the process holding the logged-on users' credentials; not by a security product or
    Windows' own processes, which open it as their work (Defender scanning it). And the
    credential hives saved to files (``reg save``: ``credential-access-hive-save``'s files
    and ``credential_hives_saved``'s), the password hashes to crack offline."""
    desc = view.desc
    hives = view.values("object_name", view.present & view.table.rule(builtin_rule("credential-access-hive-save"), view.present))
    for finding in credential_hives_saved(view):
        codes = view._codes[finding.positions]
        hives |= view.values("object_name", _mask(view, codes[desc["object_kind"][codes] == "file"].tolist()))
    hives -= PLACEHOLDERS
    access = view.present & (desc["object_kind"] == "process") & view.desc_in("event", ("process_access", "file_read"))
    access &= view.desc_where("object_name", lambda n: n.casefold() == CREDENTIAL_PROCESS, access)
    if not access.any():
        return hives
    since: dict[str, int] = {}  # each opener's first access, one pass (a crafted log may name thousands)
    for at in np.flatnonzero(access).tolist():
        opener, minute = desc["subject_name"][at], int(view.first_minutes[at])
        if opener not in PLACEHOLDERS and minute < since.get(opener, minute + 1):
            since[opener] = minute
    since = {o: m for o, m in since.items() if process_category(o) not in ("security product", "windows system process")}
    return hives | _files_written_since(view, writes, since)


def _files_written_since(view: LogView, writes: np.ndarray, since: dict[str, int]) -> set[str]:
    """The files ``writes`` shows a process of ``since`` writing at or after its minute there;
    not a named pipe (``\\Device\\NamedPipe\\NAME``, where the log keeps paths), which holds
    nothing at rest: Meterpreter's getsystem pipe is no dump."""
    desc = view.desc
    own = writes & view.present & (desc["object_kind"] == "file") & view.desc_in("subject_name", since)
    if own.any():
        pipes = {at for at, values in _object_values(view, own).items() if values and all(NAMED_PIPE.match(v) for v in values)}
        own[list(pipes)] = False
    return {
        desc["object_name"][at] for at in np.flatnonzero(own).tolist()
        if desc["object_name"][at] not in PLACEHOLDERS and int(view.last_minutes[at]) >= since[desc["subject_name"][at]]
    }


# Windows' named pipes, as a path keeps them
NAMED_PIPE = re.compile(r"^\\(Device\\NamedPipe|\\?\.\\pipe)\\", re.I)


# the kernel's input device nodes: Linux's evdev (/dev/input/event2), FreeBSD's keyboards
INPUT_DEVICE = re.compile(r"^(event\d+|kbd\d*|ukbd\d+|kbdmux\d+|atkbd\d+)$")


def input_captures(view: LogView) -> dict[str, np.ndarray]:
    """Each process the knowledge base does not know, or an interpreter, that read an input
    device node (``INPUT_DEVICE``) in two or more minutes, with the log rows of those reads:
    a keylogger reading keystrokes as they are typed (T1056.001). The X server, the
    compositor and the login manager, which read them as their work, are programs the
    knowledge base knows. Computed once per view (exfiltration reads what they wrote)."""

    def compute() -> dict[str, np.ndarray]:
        desc = view.desc
        reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
        reads &= view.desc_where("object_name", lambda n: bool(INPUT_DEVICE.match(n)), reads)
        reads &= view.desc_where("subject_name", lambda n: bool(n) and n not in PLACEHOLDERS and (lookup(n, "process") is None or process_category(n) == "interpreter"), reads)
        rows = view.rows_of(reads)
        found = {}
        for reader, positions in _rows_by_key(desc["subject_name"][view._codes[rows]].tolist(), rows).items():
            if len(set(view.minutes[positions].tolist())) >= 2:  # a device probe reads it once
                found[reader] = positions
        return found

    return view.derived("_input_captures", compute)


def keystrokes_captured(view: LogView) -> list[StageEvidence]:
    """``input_captures``: credentials typed at the keyboard captured (T1056.001), the
    credential access the paper's stages file under Privilege Escalation."""
    out = []
    for reader, rows in sorted(input_captures(view).items()):
        devices = set(view.desc["object_name"][view._codes[rows]].tolist())
        reason = (
            f"{quoted(reader)}, a program the knowledge base does not know or an interpreter, read the input device(s) {_names(devices)} in "
            f"{len(set(view.minutes[rows].tolist()))} minutes: a keylogger capturing what is typed, passwords among it (the X server and the login manager read them as their work)."
        )
        out.append(cited(view, rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0006", techniques=("T1056.001",)))
    return out


def _captured_input_files(view: LogView, writes: np.ndarray) -> set[str]:
    """The files a keylogger (``input_captures``) wrote once it had read an input device:
    the keystrokes it stored, data whatever its name."""
    captures = input_captures(view)
    if not captures:
        return set()
    since = {reader: int(view.minutes[rows].min()) for reader, rows in captures.items()}
    return _files_written_since(view, writes, since)


def _handed_input(view: LogView, data_reads: np.ndarray, writes: np.ndarray) -> np.ndarray:
    """The ``data_reads`` descriptions of a file written by a process that started the
    reader and read none of ``data_reads`` itself: input handed to the program it started
    (its configuration), not data collected."""
    readers = view.values("subject_name", data_reads) - PLACEHOLDERS
    return _given_by_launchers(view, data_reads, writes, readers, excepted=view.values("subject_name", data_reads))


def _own_products(view: LogView, reads: np.ndarray, writes: np.ndarray) -> np.ndarray:
    """The ``reads`` descriptions of a file that the same process wrote no later than the
    minute it first read it (the order of events within a minute is not kept)."""
    desc = view.desc
    own = reads & view.present
    if not own.any():
        return own
    written = view.pairs(writes) & view.pairs(own)
    if not written:
        return np.zeros(len(reads), dtype=bool)
    candidates = view.desc_in("object_name", {name for _, name in written}) & view.desc_in("subject_name", {subject for subject, _ in written})

    def first(mask: np.ndarray) -> dict[tuple[str, str], int]:
        """Each pair's first minute over the log rows of the descriptions of ``mask``: the
        first of its descriptions' first minutes (one step per description, not per row)."""
        earliest: dict[tuple[str, str], int] = {}
        for code in np.flatnonzero(mask & candidates & view.present).tolist():
            pair = (desc["subject_name"][code], desc["object_name"][code])
            if pair in written:
                minute = view.first_minutes[code]
                earliest[pair] = min(earliest.get(pair, minute), minute)
        return earliest

    wrote, read = first(writes & view.present), first(own)
    found = np.zeros(len(reads), dtype=bool)
    for at in np.flatnonzero(own).tolist():
        pair = (desc["subject_name"][at], desc["object_name"][at])
        found[at] = pair in wrote and pair in read and wrote[pair] <= read[pair]
    return found


def _handed_code(view: LogView, reading: np.ndarray, writes: np.ndarray) -> np.ndarray:
    """The ``reading`` descriptions of a binary that runs the code it is given (``code_runner``)
    reading a file that a process which started it wrote: its code, handed over (Excel
    writing an MSBuild project and starting MSBuild), not data it carries off."""
    runners = {n for n in view.values("subject_name", reading) if n and code_runner(n)}
    handed = _given_by_launchers(view, reading, writes, runners)
    # or, for one that reads its code as a text file (``reads_its_code``), the first file it
    # reads, in the minute it was started, where that is no document, archive or secret: the
    # code named on its command line (MSBuild's project, whatever its extension:
    # vstelemetry.xml)
    readers = {n for n in runners if reads_its_code(n)}
    if readers:
        desc = view.desc
        started_at = _minutes_by_subject(view, view.program_starts & view.desc_in("object_name", readers), "object_name")
        # (and the first minute it acts in: where that comes before any start the log shows,
        # it was already running as the log begins, an instance whose start is not shown)
        for runner, minutes in _minutes_by_subject(view, view.present & view.desc_in("subject_name", readers)).items():
            started_at.setdefault(runner, set()).add(min(minutes))
        own = view.rows_of(reading & view.desc_in("subject_name", set(started_at)))
        first_read: dict[str, tuple[int, int]] = {}  # runner -> (its first read's code, minute), rows in log order
        for code, minute in zip(view._codes[own].tolist(), view.minutes[own].tolist()):
            first_read.setdefault(desc["subject_name"][code], (code, int(minute)))
        for runner, (code, minute) in first_read.items():
            name = desc["object_name"][code]
            if minute in started_at[runner] and not (DOCUMENT.search(name) or ARCHIVE.search(name) or secret_credential(name)):
                handed[code] = True
    return handed


def _own_code_read(view: LogView, reading: np.ndarray) -> np.ndarray:
    """The ``reading`` descriptions of a file that the reading process also loads as a
    module or executes: its code (rundll32 reading the DLL it then loads, whatever the
    file's extension: ``msoshext.dat``), or that is named as such a module with another
    extension (its data), not data it collects."""
    loads = view.present & view.desc_in("event", ("module_load", "execute"))
    if not loads.any() or not reading.any():
        return np.zeros(len(reading), dtype=bool)
    loaded = view.pairs(loads)
    # and a file named as one it loads, another extension (rundll32 loading cfgmgr64.dll and
    # reading cfgmgr64.dat): that module's own data, its configuration or payload
    stems = {(subject, name.rpartition(".")[0].casefold()) for subject, name in loaded if "." in name}
    # and a script any process executed, read by a shell or interpreter: the interpreter the
    # script's first line names, running it (apache2 executing status.cgi, read by bash)
    executed = view.values("object_name", loads & (view.desc["event"] == "execute") & (view.desc["object_kind"] == "file")) - PLACEHOLDERS
    # an unnamed reader may be another process than the unnamed one that loaded it
    return view.pattern_flags(
        lambda row: bool(row.subject)
        and (
            (row.subject, row.object) in loaded
            or ("." in row.object and (row.subject, row.object.rpartition(".")[0].casefold()) in stems)
            or (row.object in executed and process_category(row.subject) in ("shell", "interpreter"))
        ),
        reading,
    )


def _given_by_launchers(view: LogView, reads: np.ndarray, writes: np.ndarray, readers: set[str], excepted: set[str] = frozenset()) -> np.ndarray:
    """The ``reads`` descriptions, by one of ``readers``, of a file that a process which
    started that reader (other than the ``excepted``) wrote."""
    desc = view.desc
    given = np.zeros(len(reads), dtype=bool)
    if not readers:
        return given
    starts = view.present & view.desc_in("event", ("process_start", "execute")) & view.desc_in("object_name", readers)
    if not starts.any():
        return given
    # each reader's launchers and each launcher's writes, gathered once (a pass over every
    # description per reader made a crafted log of thousands of readers quadratic)
    subject, name = desc["subject_name"], desc["object_name"]
    launchers_of: dict[str, set[str]] = {}
    for at in np.flatnonzero(starts).tolist():
        launchers_of.setdefault(name[at], set()).add(subject[at])
    wrote: dict[str, set[str]] = {}
    for at in np.flatnonzero(writes & view.present).tolist():
        wrote.setdefault(subject[at], set()).add(name[at])
    handed: dict[str, set[str]] = {}  # reader -> what its launchers wrote
    for at in np.flatnonzero(reads & view.desc_in("subject_name", readers)).tolist():
        reader = subject[at]
        if reader not in handed:
            launchers = launchers_of.get(reader, set()) - PLACEHOLDERS - excepted
            handed[reader] = set().union(*(wrote.get(launcher, set()) for launcher in launchers))
        given[at] = name[at] in handed[reader]
    return given


def channel_relays_to_site_hosts(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know that holds a command-and-control channel
    opening connections to hosts of the site and exchanging traffic with them (sends and
    answers) in minutes in which it also exchanges with its outside peer: the controller's
    traffic relayed into the site through the implant (an internal proxy, T1090.001),
    reaching other hosts (T1021). A sweep's quick probes are reconnaissance, and name lookups
    at the site's resolver beside its check-ins or queries to the domain controller are no
    sessions."""
    holders = {h for h in channel_holders(view) if h and lookup(h, "process") is None and not routine_channel(h)}
    if not holders:
        return []
    desc = view.desc
    local = this_host_addresses(view)
    flows = view.present & (desc["object_kind"] == "flow") & view.desc_in("subject_name", holders) & ~view.desc_in("object_name", PLACEHOLDERS | local)
    inside = flows & view.desc_where("object_name", lambda n: view.address_class(n) in ("internal", "private"), flows)
    inside &= ~_sweep_probes(view)
    if not inside.any():
        return []
    inside &= ~_directory_servers(view, inside) & ~_lookups_beside_outside_connections(view, inside & (desc["event"] == "network_out"))
    outside = flows & view.desc_where("object_name", lambda n: view.address_class(n) in ("public", "unknown"), flows)
    outside_minutes = _minutes_by_subject(view, outside & view.desc_in("event", ("network_out", "network_in")))
    opened = view.pairs(inside & view.desc_in("action", vocabulary().connect_actions))
    # each opened pair's descriptions, directions and minutes, gathered in one pass over the
    # rows (a crafted implant reaching thousands of hosts costs no more)
    codes_of: dict[tuple[str, str], list[int]] = {}
    directions: dict[tuple[str, str], set[str]] = {}
    minutes_of: dict[tuple[str, str], set[int]] = {}
    rows = view.rows_of(inside & view.desc_in("event", ("network_out", "network_in")))
    for position, code in zip(rows.tolist(), view._codes[rows].tolist()):
        pair = (desc["subject_name"][code], desc["object_name"][code])
        if pair in opened:
            codes_of.setdefault(pair, []).append(code)
            directions.setdefault(pair, set()).add(desc["event"][code])
            minutes_of.setdefault(pair, set()).add(int(view.minutes[position]))
    found = np.zeros(len(inside), dtype=bool)
    kept = {pair for pair in codes_of if len(directions[pair]) == 2 and minutes_of[pair] & outside_minutes.get(pair[0], set())}
    for pair in kept:
        found[codes_of[pair]] = True
    # and the pairs' own connects, cited with their exchange
    if kept:
        connects = inside & view.desc_in("action", vocabulary().connect_actions)
        found |= view.pattern_flags(lambda row: (row.subject, row.object) in kept, connects)
    if not found.any():
        return []
    reason = (
        f"{_names(view.values('subject_name', found))}, a program the knowledge base does not know that holds a command-and-control channel, "
        f"opened connections to host(s) of the site {_names(view.values('object_name', found))} and exchanged traffic with them in the minutes it "
        "exchanged with its outside peer: the controller's traffic relayed into the site through the implant."
    )
    return [cited(view, view.rows_of(found), stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1090.001", "T1021"))]


def own_image_copied_out(view: LogView) -> list[StageEvidence]:
    """A remote-copy client (scp, sftp, ssh; ``session_clients``), or a shell or PowerShell
    in an attack chain (a channel's, a dropped program's), reading a program that runs as a process in the
    subgraph and that the knowledge base does not know (an implant's own image), and those
    readers sending to a host of the site: the implant copied to another host (lateral tool
    transfer, T1570, over SSH, T1021.004, or a PowerShell remoting session's copy). A user's
    copy of a known program, or of a file that never runs here, is not this; nor a shell's
    read outside an attack."""
    desc = view.desc
    clients = view.desc_where("subject_name", session_client, view.present)
    shells = view.desc_where("subject_name", shell_or_interpreter, view.present)
    if shells.any():  # the attack chain's (PowerShell at work is no chain of its own)
        shells &= in_chain(view, attack_chain(view))
    reads = view.present & (desc["event"] == "file_read") & (clients | shells)
    running = view.subjects - {""}
    images = reads & view.desc_where("object_name", lambda n: n in running and lookup(n, "process") is None and not session_client(n), reads)
    if not images.any():
        return []
    # the session clients (scp reads, the ssh it starts sends), or the shell that read it
    senders = clients | (shells & view.desc_in("subject_name", view.values("subject_name", images)))
    sends = view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow") & senders
    # the connections the log does not name while a copy client that read the image runs, from
    # that read to a minute after its last row (TRACE leaves scp's ssh transport unnamed)
    unnamed = view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow") & (desc["subject_name"] == "")
    unnamed_rows = np.zeros(0, dtype=np.int64)
    copying = images & clients
    if unnamed.any() and copying.any():
        copiers = view.values("subject_name", copying)
        start = int(view.first_minutes[copying].min())
        end = int(view.last_minutes[view.present & (view.desc_in("subject_name", copiers) | view.desc_in("object_name", copiers))].max()) + MINUTE_NS
        rows = view.rows_of(unnamed)
        unnamed_rows = rows[(view.minutes[rows] >= start) & (view.minutes[rows] <= end)]
        if len(unnamed_rows):
            held = np.zeros(len(unnamed), dtype=bool)
            held[view._codes[unnamed_rows]] = True
            sends |= held
    neighbours = neighbours_of_this_host(view, view.values("object_name", sends))
    site_hosts = view.desc_where("object_name", lambda a: a in neighbours or view.address_class(a) in ("internal", "private"), sends)
    # a copy client carrying the program's own image to any host is it spreading, wherever
    # that host lies (a worm reaching a host outside the declared site is still moving on);
    # a shell's traffic is anything it does, and counts only toward a host of the site
    site = site_hosts.copy()
    if copying.any():
        site |= sends & ~shells & ~view.desc_where("object_name", lambda a: view.address_class(a) in ("loopback", "local"), sends)
    sends &= site
    if not sends.any():
        return []
    reader = "A remote-copy client" if copying.any() else "An attack chain's shell"
    where = "host(s)" if (sends & ~site_hosts).any() else "host(s) of the site"
    named_senders = view.values("subject_name", sends) - {""}
    who = _names(named_senders) if named_senders else "the process the log does not name while it ran (its transport)"
    if named_senders and "" in view.values("subject_name", sends):
        who += " and the process the log does not name while it ran (its transport)"
    reason = (
        f"{reader} ({_names(view.values('subject_name', images))}) read {_names(view.values('object_name', images))}, "
        f"a program that runs in this subgraph and that the knowledge base does not know, and "
        f"{who} sent to {where} {_names(view.values('object_name', sends))}: a program copying itself to another host."
    )
    # an unnamed description cites its rows in the copy's window only
    cited_rows = view.rows_of(images | (sends & (desc["subject_name"] != "")))
    kept_unnamed = unnamed_rows[np.isin(view._codes[unnamed_rows], np.flatnonzero(sends))] if len(unnamed_rows) else unnamed_rows
    return [cited(view, cited_rows, kept_unnamed, stage="Lateral Movement", confidence="moderate", rationale=reason, tactic="TA0008", techniques=("T1570", "T1021.004"))]


# daemons and system tools that run what their configuration names: udev's rules, logrotate's
# postrotate hooks, cron's tables, systemd's units, a mail server's .forward, NetworkManager's
# dispatcher scripts
TRIGGER_CATEGORIES = frozenset({"system utility", "system service", "mail server"})
# writers whose ordinary work is to install configuration and the programs it names: a
# package's udev rule and helper, an updater's unit file, a desktop application's own
# autostart entry; and the clients that deliver files, whose attachments and downloads are
# Initial Compromise's to weigh
_INSTALLING_CATEGORIES = frozenset({"package manager", "software updater", "container engine", "management agent", "browser", "mail client", "office application", "desktop application"})


# the files a service's ImagePath or ServiceDll names
SERVICE_CODE = re.compile(r"\.(exe|dll|sys)$", re.I)


# minutes from a shell's sc to the service control manager starting the service's program
SELF_SERVICE_MINUTES = 2


def program_installs_itself_as_service(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know whose shell (or admin tool) ran ``sc.exe``
    in a minute in which the service control manager wrote a service key, and which the
    service control manager then started, within ``SELF_SERVICE_MINUTES``: the program
    installed itself as a service to run again at every boot (T1543.003), whether or not the
    subgraph wrote it. Vendors' setups register their services through Windows Installer or
    their own code; a known program's shell running sc is an administrator's."""
    desc = view.desc
    scm = view.desc_where("subject_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER)
    started = view.present & scm & (desc["event"] == "process_start") & (desc["object_kind"] == "process")
    started &= view.desc_where("object_name", lambda n: bool(n) and n not in PLACEHOLDERS and _unknown(n), started)
    if not started.any():
        return []
    sc_runs = view.program_starts & view.desc_where("object_name", lambda n: n.casefold() == "sc.exe", view.program_starts)
    sc_runs &= view.desc_where("subject_name", lambda n: bool(n) and process_category(n) in OPERATOR_TOOLS, sc_runs)
    keys = view.present & scm & (desc["event"] == "registry_write")
    if not sc_runs.any() or not keys.any():
        return []
    key_minutes = set(view.minutes[view.rows_of(keys)].tolist())
    sc_rows = [r for r in view.rows_of(sc_runs).tolist() if int(view.minutes[r]) in key_minutes]
    if not sc_rows:
        return []
    # the service control manager's starts, grouped by program in one pass, each kept only
    # within the window after some sc run (a crafted log may start thousands of programs)
    sc_minutes = np.sort(view.minutes[sc_rows])
    start_rows = view.rows_of(started)
    at = view.minutes[start_rows]
    after = np.searchsorted(sc_minutes, at, side="right") - 1
    near = (after >= 0) & (at - sc_minutes[np.maximum(after, 0)] <= SELF_SERVICE_MINUTES * MINUTE_NS)
    runs_of = _lists_by_key(desc["object_name"][view._codes[start_rows[near]]].tolist(), start_rows[near].tolist())
    key_rows = view.rows_of(keys)
    # the sc runs grouped by the process that ran them, once (not a scan per program)
    sc_by_runner = _lists_by_key([desc["subject_name"][view._codes[r]] for r in sc_rows], sc_rows)
    found = []
    for program in sorted(runs_of):
        below = descendant_names(view, program, 64) or set()
        mine = sorted(r for runner in below & sc_by_runner.keys() for r in sc_by_runner[runner])
        if not mine:
            continue
        first = min(int(view.minutes[r]) for r in mine)
        runs = np.array([r for r in runs_of[program] if first <= int(view.minutes[r]) <= first + SELF_SERVICE_MINUTES * MINUTE_NS], dtype=np.int64)
        if not len(runs):
            continue
        shells = {desc["subject_name"][view._codes[r]] for r in mine}
        reason = (
            f"{quoted(program)}, a program the knowledge base does not know, had {_names(shells)} run `sc.exe` as the service control manager wrote "
            f"a service's key, and the service control manager then started {quoted(program)}: the program installed itself as a service, to run again at every boot."
        )
        cited_keys = key_rows[np.isin(view.minutes[key_rows], view.minutes[np.array(mine, dtype=np.int64)])]
        found.append(cited(view, np.array(mine, dtype=np.int64), cited_keys, runs, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1543.003",)))
    return found


def service_registered_for_written_program(view: LogView) -> list[StageEvidence]:
    """A shell, script host or admin tool (``OPERATOR_TOOLS``) that wrote a program or
    DLL in the subgraph and then started ``sc.exe``, in a minute in which the service control
    manager wrote a registry key (its service key): a service created for the program it
    wrote (``sc create``, T1543.003), started or not. Installers and updaters register their
    services through Windows Installer or their own setup, not a script's sc; a script that
    only queries or restarts services wrote no program. So does a program the knowledge base
    does not know that wrote one and ran sc itself (a dropper registering its service DLL)."""
    desc = view.desc
    sc_runs = view.program_starts & view.desc_where("object_name", lambda n: n.casefold() == "sc.exe", view.program_starts)
    sc_runs &= view.desc_where("subject_name", lambda n: bool(n) and (process_category(n) in OPERATOR_TOOLS or _unknown_program(n)), sc_runs)
    if not sc_runs.any():
        return []
    keys = view.present & (desc["event"] == "registry_write") & view.desc_where("subject_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER)
    if not keys.any():
        return []
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_in("subject_name", view.values("subject_name", sc_runs))
    writes &= view.desc_where("object_name", lambda n: bool(SERVICE_CODE.search(n)), writes)
    if not writes.any():
        return []
    key_minutes = set(view.minutes[view.rows_of(keys)].tolist())
    first_write: dict[str, int] = {}
    for row in view.rows_of(writes).tolist():
        writer = desc["subject_name"][view._codes[row]]
        first_write[writer] = min(first_write.get(writer, int(view.minutes[row])), int(view.minutes[row]))
    sc_rows = view.rows_of(sc_runs)
    keep = np.fromiter(
        (int(m) in key_minutes and desc["subject_name"][c] in first_write and first_write[desc["subject_name"][c]] <= int(m) for c, m in zip(view._codes[sc_rows].tolist(), view.minutes[sc_rows].tolist())),
        dtype=bool, count=len(sc_rows),
    )
    if not keep.any():
        return []
    sc_rows = sc_rows[keep]
    registrars = set(desc["subject_name"][view._codes[sc_rows]].tolist())
    written = writes & view.desc_in("subject_name", registrars)
    key_rows = view.rows_of(keys)
    key_rows = key_rows[np.isin(view.minutes[key_rows], view.minutes[sc_rows])]
    reason = (
        f"{_names(registrars)} wrote {_names(view.values('object_name', written))} and then started sc.exe in the minute(s) the service control manager "
        f"wrote the key(s) {_names(set(desc['object_name'][view._codes[key_rows]].tolist()))}: a service created for the program it wrote."
    )
    return [cited(view, view.rows_of(written)[:3], sc_rows, key_rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1543.003",))]


def service_runs_planted_program(view: LogView) -> list[StageEvidence]:
    """The service control manager (``services.exe``) starting a program the knowledge base
    does not know (or a remote access tool it knows, written by a process acting for an
    attacker) that a process of the subgraph wrote, where no writer is an installer,
    updater, package manager or management agent (by category, or named by a benign
    mechanism that excludes Maintain Persistence), nor Windows' own processes (the file
    server's ``System`` writing what PsExec copied over the network is Lateral Movement's):
    a service pointed at a planted program (``sc create``/``sc config``, T1543.003; the log
    keeps neither the command line nor the service key's path). Where the log shows no
    service registered or changed (no ``sc.exe``, no service installed, the service control
    manager writing no key), the program was put where an existing service's path leads
    (an unquoted path's ``Program.exe``, a service binary writable by users, T1574.009,
    T1574.010): the service runs the writer's code as SYSTEM, Privilege Escalation."""
    desc = view.desc
    event, name = desc["event"], desc["object_name"]
    # writers whose persistence-looking work benign.yaml calls routine (Windows Installer and
    # servicing, updaters: installer-autostart), as the rules' other findings read them
    routine = mechanisms_for("Maintain Persistence")
    manager = view.desc_where("subject_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER)
    starts = view.present & manager & (desc["object_kind"] == "process") & (event == "process_start") & ~view.desc_in("object_name", PLACEHOLDERS)
    # a remote access tool the knowledge base knows counts where a process acting for an
    # attacker wrote it (one a script fetched and installed as a service, T1219); a known
    # updater or installer a downloaded setup wrote is an install
    unknown = view.desc_where("object_name", _unknown, starts)
    known = starts & ~unknown
    remote_tools = known & view.desc_where("object_name", lambda n: process_category(n) == REMOTE_ACCESS_TOOL, known)
    starts &= unknown
    swapped: set[str] = set()
    if known.any():
        written = view.present & view.desc_in("event", ("file_write", "file_create"))
        acting = set(acting_for_an_attacker(view))
        written_by_chain = view.values("object_name", written & view.desc_in("subject_name", acting)) if acting else set()
        starts |= remote_tools & view.desc_in("object_name", written_by_chain)
        # (or any service program the knowledge base knows, written over by a shell, script
        # host or admin tool: the service's binary swapped for the writer's, T1574.010;
        # installers and updaters write them as their work)
        # (not PsExec writing its own service's program, PSEXESVC.exe, as every run of it does,
        # here or against another host)
        own_service = view.desc_where("subject_name", remote_command_tool, written) & view.desc_where("object_name", remote_session_host, written)
        swapped = view.values("object_name", known) & view.values("object_name", written & ~own_service & view.desc_where("subject_name", planter, written))
        starts |= known & view.desc_in("object_name", swapped)
    if not starts.any():
        return []
    writes = view.present & (desc["object_kind"] == "file") & view.desc_in("event", ("file_write", "file_create"))
    writes &= view.desc_in("object_name", view.values("object_name", starts))
    # grouped once by name (a crafted log may start thousands of them)
    writes_by_name = _grouped(np.flatnonzero(writes).tolist(), name)
    starts_by_name = _grouped(np.flatnonzero(starts).tolist(), name)
    found = []
    registered = None  # computed once, for the first planted program
    for program in sorted(writes_by_name):
        program_writes, started = _mask(view, writes_by_name[program]), _mask(view, starts_by_name[program])
        writers = {desc["subject_name"][p] for p in writes_by_name[program]}
        if "" in writers or any(
            process_category(w) in _INSTALLING_CATEGORIES | {"windows system process"} or any(m.names_subject(w) for m in routine) for w in writers
        ):
            continue
        # written before the manager started it (to the minute)
        if int(view.first_minutes[program_writes].min()) > int(view.last_minutes[started].max()):
            continue
        if _unknown(program):
            what = "a program the knowledge base does not know"
        elif program in swapped:
            what = f"a {process_category(program) or 'program'} the knowledge base knows, its program written over by hand"
        else:
            what = f"a {process_category(program) or 'program'} the knowledge base knows, written here by a process acting for an attacker"
        if registered is None:
            registered = bool(service_registration(view).any())
        if registered:
            reason = (
                f"{_names(writers)} wrote {_names({program})}, {what}, and the service control "
                f"manager (`services.exe`) then started it: a service pointed at a planted program."
            )
            found.append(cited(view, view.rows_of(program_writes), view.rows_of(started), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1543.003",)))
        else:
            reason = (
                f"{_names(writers)} wrote {_names({program})}, {what}, and the service control "
                f"manager (`services.exe`) then started it, while the log shows no service registered or changed: the program was put where "
                "an existing service's path leads, and the service ran it with its privileges (a hijacked service path)."
            )
            found.append(cited(view, view.rows_of(program_writes), view.rows_of(started), stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1574.009", "T1574.010")))
    return found


@dataclass(frozen=True)
class _Trigger:
    program: str
    planters: frozenset[str]
    reader: str
    configs: frozenset[str]
    via: frozenset[str]  # who ran the program: the reader, or shells it started
    rows: np.ndarray  # per log row


# WMI's repository (the CIM store where a permanent event subscription is saved)
WMI_REPOSITORY = re.compile(r"(?i)^(objects\.data|index\.btr|mapping\d\.map)$")
# the libraries a process loads to call WMI (COM's WMI proxy, its shared and scripting parts;
# PowerShell's CIM cmdlets through the Management Infrastructure API and WMI's utilities)
WMI_CLIENT_LIBRARIES = frozenset({
    "wbemprox.dll", "wbemcomn.dll", "wbemdisp.dll", "fastprox.dll", "wmiutils.dll", "mi.dll", "miutils.dll",
    "microsoft.management.infrastructure.dll", "microsoft.management.infrastructure.ni.dll",
})
WMI_SAVE_MINUTES = 2  # a repository write this close after the attacker's process loaded WMI's client
WMI_FIRE_QUIET_MINUTES = 5  # no connection accepted from another host this long before the firing


def wmi_subscription_fires(view: LogView) -> list[StageEvidence]:
    """A permanent WMI event subscription saved and firing (T1546.003): a process the log
    shows in an attack chain loads WMI's client libraries, WMI's repository
    (``OBJECTS.DATA``, ``INDEX.BTR``, ``MAPPING*.MAP``) is written within
    ``WMI_SAVE_MINUTES`` of that, and in a later minute WMI's provider host starts a shell,
    script host, admin tool or unknown program with no connection accepted from another host
    in the ``WMI_FIRE_QUIET_MINUTES`` before (its command-line consumer running the payload
    again; remote WMI is Lateral Movement's to weigh). Its script consumer host (scrcons.exe)
    is a pattern rule's."""
    desc = view.desc
    event = desc["event"]
    files = view.present & (desc["object_kind"] == "file")
    saved = files & view.desc_in("event", ("file_write", "file_create"))
    saved &= view.desc_where("object_name", lambda n: bool(WMI_REPOSITORY.match(n)), saved)
    if not saved.any():
        return []
    starts = _wmi_provider_starts(view)
    if not starts.any():
        return []
    loads = view.present & (event == "module_load")
    loads &= view.desc_where("object_name", lambda n: n.casefold() in WMI_CLIENT_LIBRARIES, loads)
    if not loads.any():
        return []
    # an attack chain's process, shown in the chain by then (by name, the firing's own start,
    # WMI's provider host, a launcher, starting PowerShell, would put every PowerShell in
    # it); or a shell or script host that no agent the log shows by then started (a
    # management agent's scripts call WMI): an operator's own PowerShell
    chain = attack_chain(view)
    chained = loads & in_chain(view, chain)
    if chained.any():
        last_load = int(view.last_minutes[chained].max())
        if not any(int(view.first_minutes[link.positions].min()) <= last_load for link in chain_links(view, chain, chained) if len(link.positions)):
            chained[:] = False
    by_hand = loads & ~chained & view.desc_where("subject_name", _operator_tool, loads)
    if by_hand.any():
        last_load = int(view.last_minutes[by_hand].max())
        if any(process_category(a) in AGENT_CATEGORIES for a in ancestors_by(view, view.values("subject_name", by_hand), last_load)):
            by_hand[:] = False
    loads = chained | by_hand
    if not loads.any():
        return []
    minutes = view.minutes
    load_rows, save_rows, start_rows = view.rows_of(loads), view.rows_of(saved), view.rows_of(starts)
    load_minutes = np.sort(minutes[load_rows])
    # each save with a load of WMI's client in the minutes before it
    before = np.searchsorted(load_minutes, minutes[save_rows], side="right")
    near = before > 0
    near[near] = minutes[save_rows][near] - load_minutes[before[near] - 1] <= WMI_SAVE_MINUTES * MINUTE_NS
    save_rows = save_rows[near]
    if not len(save_rows):
        return []
    first_save = int(minutes[save_rows].min())
    fired = start_rows[minutes[start_rows] > first_save]
    accepted = _accepted(view)
    # the first accepted connection at or after each start's quiet window opens, if any, is
    # after the start (one sorted search, not a scan of the accepts per start)
    accepted_minutes = np.sort(minutes[view.rows_of(accepted)])
    fired_minutes = minutes[fired]
    next_accept = np.searchsorted(accepted_minutes, fired_minutes - WMI_FIRE_QUIET_MINUTES * MINUTE_NS, side="left")
    heard = next_accept < len(accepted_minutes)
    heard[heard] = accepted_minutes[next_accept[heard]] <= fired_minutes[heard]
    fired = fired[~heard]
    if not len(fired):
        return []
    started = set(desc["object_name"][view._codes[fired]].tolist())
    loaders = set(desc["subject_name"][view._codes[load_rows]].tolist())
    how = "which the log shows in an attack chain" if chained.any() else "a shell or script host that no agent the log shows started"
    reason = (
        f"WMI event subscription saved and firing: {_names(loaders)}, {how}, loaded WMI's client, "
        f"WMI's repository was written within {WMI_SAVE_MINUTES} minutes, and later WMI's provider host started {_names(started)} "
        f"with no connection from another host in the {WMI_FIRE_QUIET_MINUTES} minutes before: a command-line event consumer running its payload."
    )
    loads_cited = load_rows[np.isin(minutes[load_rows], minutes[save_rows]) | (minutes[load_rows] <= int(minutes[save_rows].max()))]
    return [cited(view, loads_cited[:5], save_rows, fired, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1546.003",))]


# runs of one program by WMI's provider host that make a timer's firings: this many, at
# intervals equal to within a minute, each a few minutes at least
WMI_TIMER_FIRINGS = 3
WMI_TIMER_MIN_MINUTES = 5


def wmi_subscription_fires_on_a_timer(view: LogView) -> list[StageEvidence]:
    """WMI's provider host starting one program (a shell, script host, admin tool or unknown
    program: ``_wmi_provider_starts``) ``WMI_TIMER_FIRINGS`` times or more at even intervals of
    ``WMI_TIMER_MIN_MINUTES`` or more, where the program is one the knowledge base does not
    know or loads a library it does not know (rundll32 running a payload DLL), and the
    subgraph accepts no connection from another host (remote WMI is Lateral Movement's to
    weigh): a permanent event subscription's timer firing its command-line consumer
    (T1546.003), though the slice does not show it saved (``wmi_subscription_fires``). A
    caller asking WMI to start a program does so once, not on the clock."""
    starts = _wmi_provider_starts(view)
    if not starts.any() or (_accepted(view) & (view.desc["object_kind"] == "flow")).any():
        return []
    desc = view.desc
    # each program's run minutes, and the programs that load a library the knowledge base
    # does not know, gathered once (not a pass over every description per program)
    rows = view.rows_of(starts)
    minutes_of = {program: sorted(set(minutes)) for program, minutes in _lists_by_key(desc["object_name"][view._codes[rows]].tolist(), view.minutes[rows].tolist()).items()}
    loads = view.present & (desc["event"] == "module_load") & view.desc_in("subject_name", set(minutes_of))
    loads &= view.desc_where("object_name", lambda n: is_library(n) and lookup(n, "module") is None and lookup(n, "file") is None, loads)
    loaders = view.values("subject_name", loads)
    timed_programs: dict[str, tuple[int, int]] = {}  # program -> (firings, minutes apart)
    for program, minutes in sorted(minutes_of.items()):
        if len(minutes) < WMI_TIMER_FIRINGS:
            continue
        gaps = np.diff(np.array(minutes, dtype=np.int64))
        if gaps.min() < WMI_TIMER_MIN_MINUTES * MINUTE_NS or gaps.max() - gaps.min() > MINUTE_NS:
            continue
        if _unknown(program) or program in loaders:
            timed_programs[program] = (len(minutes), int(np.median(gaps)) // MINUTE_NS)
    if not timed_programs:
        return []
    timed = starts & view.desc_in("object_name", set(timed_programs))
    payloads = loads & view.desc_in("subject_name", set(timed_programs))
    rows = view.rows_of(timed)
    # each program's own firings and interval (several programs' runs pooled would read as one
    # timer firing every minute)
    firings = sorted({n for n, _ in timed_programs.values()})
    intervals = sorted({g for _, g in timed_programs.values()})
    times = f"{firings[0]} times" if len(firings) == 1 else f"{firings[0]} to {firings[-1]} times"
    every = f"every {intervals[0]} minutes" if len(intervals) == 1 else f"every {intervals[0]} to {intervals[-1]} minutes"
    what = _names(set(timed_programs)) + (f" loading {_names(view.values('object_name', payloads))}" if payloads.any() else "")
    each = " each" if len(timed_programs) > 1 else ""
    reason = (
        f"WMI's provider host started {what}{each} {times}, {every}, with no connection from "
        "another host in the subgraph: a WMI event subscription's timer firing its command-line consumer."
    )
    return [cited(view, rows, view.rows_of(payloads), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1546.003",))]


def planted_trigger_runs_program(view: LogView) -> list[StageEvidence]:
    """A program planted together with the configuration that makes a daemon run it, which
    the daemon then reads and runs: event-triggered execution (T1546; a udev rule's RUN, a
    logrotate postrotate hook, a cron table, a systemd unit, a .forward pipe, a profile.d
    script a login shell sources). See ``_triggers``."""
    found = []
    for trigger in _triggers(view):
        how = "itself ran" if trigger.via == {trigger.reader} else "had a shell it started run"
        reason = (
            f"{_names(trigger.planters)} wrote {_names({trigger.program})} and {_names(trigger.configs)}; {_names({trigger.reader})} read "
            f"{_names(trigger.configs)} and then {how} {_names({trigger.program})}: a planted program run by a daemon or login shell that its "
            "planted configuration triggers, not by the process that planted it."
        )
        found.append(cited(view, trigger.rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1546",)))
    return found


def triggered_configurations(facts, view: LogView | None = None) -> frozenset[str]:
    """Files (case-folded names) the log shows acting as persistence locations: planted
    configuration a daemon read before running the program planted with it (``_triggers``),
    for the stage-support screen, which knows other locations by name. Kept with ``facts``;
    ``view``: the stage rules' view of them, else one is built."""

    def compute() -> frozenset[str]:
        from .stages import LogView

        return frozenset(c.casefold() for t in _triggers(view or LogView(facts)) for c in t.configs)

    return facts.derived("_triggered_configurations", compute)


def _triggers(view: LogView) -> list[_Trigger]:
    """Counted: a program the knowledge base does not know, written in the subgraph and then
    run; its planters (its writers and the processes that started them, not installers or
    clients: ``_INSTALLING_CATEGORIES``); another file they wrote, read afterwards by a daemon
    or system tool (``TRIGGER_CATEGORIES``) or a login shell (``_login_shells``) that no
    planter started; and the program run, at
    or after that read, by that daemon or by a shell it started."""
    return view.derived("_planted_triggers", lambda: _find_triggers(view))


def _find_triggers(view: LogView) -> list[_Trigger]:
    # by position lists grouped once per name, not masks per program: a crafted log of tens
    # of thousands of dropped programs must not cost one pass over the descriptions each
    desc = view.desc
    event, subject, name = desc["event"], desc["subject_name"], desc["object_name"]
    files = view.present & (desc["object_kind"] == "file") & ~view.desc_in("object_name", PLACEHOLDERS)
    write_at = np.flatnonzero(files & view.desc_in("event", ("file_write", "file_create"))).tolist()
    run_at = np.flatnonzero(view.present & view.desc_in("event", ("execute", "process_start")) & ~view.desc_in("object_name", PLACEHOLDERS)).tolist()
    read_at = np.flatnonzero(files & (event == "file_read")).tolist()
    # reads by a daemon or system tool, and the planted files they can be (written in the log)
    # and by a login shell, which sources the start-up files it finds (a profile.d script)
    logins = _login_shells(view, run_at)
    trigger_reads = _grouped([p for p in read_at if process_category(subject[p]) in TRIGGER_CATEGORIES or subject[p] in logins], name)
    writes_by_name = _grouped(write_at, name)
    runs_by_name, runs_by_subject = _grouped(run_at, name), _grouped(run_at, subject)
    config_writes_by_subject = _grouped([p for p in write_at if name[p] in trigger_reads], subject)
    programs = sorted(n for n in writes_by_name.keys() & runs_by_name.keys() if _unknown(n))
    found = []
    for program in programs:
        writers = {subject[p] for p in writes_by_name[program]} - PLACEHOLDERS
        writers = {w for w in writers if process_category(w) not in _INSTALLING_CATEGORIES}
        if not writers:
            continue
        starters = {subject[p] for w in writers for p in runs_by_name.get(w, ())} - PLACEHOLDERS
        planters = writers | {s for s in starters if process_category(s) not in _INSTALLING_CATEGORIES}
        planted = [p for planter in sorted(planters) for p in config_writes_by_subject.get(planter, ()) if name[p] != program]
        if not planted:
            continue
        excluded = planters | {name[p] for planter in planters for p in runs_by_subject.get(planter, ())}
        readers: dict[str, list[int]] = {}
        for config in sorted({name[p] for p in planted}):
            for p in trigger_reads[config]:
                if subject[p] not in excluded:
                    readers.setdefault(subject[p], []).append(p)
        # a login shell sources what users and installers put in its start-up files as much
        # as what an intruder does: it counts only for planters that are, or were started
        # by, a program the knowledge base does not know, or that the log shows in an
        # attack chain
        if readers.keys() & logins and not any(
            _unknown(planter) or any(_unknown(subject[p]) for p in runs_by_name.get(planter, ())) or planter in attack_chain(view) for planter in planters
        ):
            readers = {reader: reads for reader, reads in readers.items() if reader not in logins}
        for reader in sorted(readers):
            read = np.array(readers[reader], dtype=np.int64)
            # planted before it was read (to the minute)
            last_read = view.last_minutes[read].max()
            planted_before = [p for p in planted if name[p] in {name[r] for r in read.tolist()} and view.first_minutes[p] <= last_read]
            if not planted_before:
                continue
            before_names = {name[p] for p in planted_before}
            read = read[[name[r] in before_names for r in read.tolist()]]
            shells = {name[p] for p in runs_by_subject.get(reader, ()) if process_category(name[p]) == "shell"}
            ran = [p for p in runs_by_name[program] if subject[p] in {reader} | shells]
            if not ran:
                continue
            ran_rows = view.expand(_mask(view, ran)) & (view.minutes >= int(view.first_minutes[read].min()))
            if not ran_rows.any():
                continue
            via = frozenset(subject[view._codes[ran_rows]].tolist())
            launched = [p for p in runs_by_subject.get(reader, ()) if name[p] in via]
            program_writes = [p for p in writes_by_name[program] if subject[p] in writers]
            rows = view.expand(_mask(view, planted_before + program_writes + read.tolist() + launched)) | ran_rows
            configs = frozenset(name[r] for r in read.tolist())
            found.append(_Trigger(program, frozenset(planters), reader, configs, via, rows))
    return found


# programs that log a user in and start the user's shell, which reads its start-up files
# (Linux keeps a process name to 15 characters: gdm-session-wor)
LOGIN_PROGRAMS = frozenset({"sshd", "login", "su", "gdm-session-worker", "lightdm", "sddm-helper", "xrdp-sesman", "telnetd", "in.telnetd", "rlogind", "dropbear"})


def _login_program(name: str) -> bool:
    folded = name.casefold()
    return folded in LOGIN_PROGRAMS or (len(folded) == 15 and any(p.startswith(folded) for p in LOGIN_PROGRAMS))


def _login_shells(view: LogView, run_at: list[int]) -> set[str]:
    """The shells (by name) that a login program (``LOGIN_PROGRAMS``) starts."""
    desc = view.desc
    return {
        desc["object_name"][p] for p in run_at
        if process_category(desc["object_name"][p]) == "shell" and _login_program(desc["subject_name"][p])
    }


def _grouped(positions: list[int], values: np.ndarray) -> dict[str, list[int]]:
    """The ``positions`` (descriptions) grouped by their value in ``values``, in order."""
    return _lists_by_key([values[p] for p in positions], positions)


def _mask(view: LogView, positions: list[int]) -> np.ndarray:
    """A mask over descriptions, true at ``positions``."""
    found = np.zeros(len(view.pattern_rows), dtype=bool)
    found[positions] = True
    return found


# run-as tools, and the editors and other programs that can start a shell of their own
# (GTFOBins' "sudo" entries): run through sudo, their shell has sudo's privilege. Not those
# that start sh in their ordinary work: pagers (LESSOPEN's lesspipe), man, git (its pager,
# hooks), gdb (it starts the debugged program through a shell), ssh (ProxyCommand), crontab
# (the editor), tar
RUN_AS_TOOLS = frozenset({"sudo", "doas"})
SHELL_ESCAPERS = frozenset({"vi", "vim", "vim.basic", "vim.tiny", "view", "nvim", "ex", "ed", "nano", "pico", "find", "awk", "gawk", "mawk", "env", "ftp", "zip", "nmap"})
# pagers start a shell in their ordinary work (LESSOPEN's lesspipe, man's formatters): theirs
# counts as an escape only where it then does root's work (``_root_work``)
PAGER_ESCAPERS = frozenset({"less", "more", "most", "man"})


def sudo_shell_escape(view: LogView) -> list[StageEvidence]:
    """A program that sudo (or doas) ran, and that can start a shell of its own
    (``SHELL_ESCAPERS``: an editor, find, awk, ...), starting a shell: the escape from a restricted sudo rule to a
    shell with sudo's privilege (T1548.003, GTFOBins). By name: the program's rows after
    sudo ran it; an administrator's sudo of an editor that starts no shell claims nothing."""
    runs = view.present & view.desc_in("event", ("execute", "process_start"))
    through = runs & view.desc_where("subject_name", lambda n: n.casefold() in RUN_AS_TOOLS, runs)
    through &= view.desc_where("object_name", lambda n: n.casefold() in SHELL_ESCAPERS | PAGER_ESCAPERS, through)
    if not through.any():
        return []
    escapers = view.values("object_name", through)
    shells = runs & view.desc_in("subject_name", escapers)
    shells &= view.desc_where("object_name", lambda n: process_category(n) == "shell", shells)
    if not shells.any():
        return []
    # the shell after sudo ran the program: its first run at or after sudo's
    first_through = int(view.first_minutes[through].min())
    shells &= view.first_minutes >= first_through
    pager_shells = shells & view.desc_where("subject_name", lambda n: n.casefold() in PAGER_ESCAPERS, shells)
    work = _root_work(view, view.values("object_name", pager_shells), first_through) if pager_shells.any() else pager_shells
    if not work.any():
        shells &= ~pager_shells
    if not shells.any():
        return []
    reason = (
        f"{_names(view.values('subject_name', through))} ran {_names(view.values('subject_name', shells))}, which then started "
        f"{_names(view.values('object_name', shells))}: a shell escape from a program run with sudo's privilege"
    )
    if work.any():
        reason += f", whose shell went on to root's work or checked who it now is ({_names(view.values('object_name', work))})"
    return [cited(view, view.rows_of(through | shells | work), stage="Privilege Escalation", confidence="moderate", rationale=reason + ".", tactic="TA0004", techniques=("T1548.003",))]


def _root_work(view: LogView, shells: set[str], since: int) -> np.ndarray:
    """The descriptions, from minute ``since`` on, in which ``shells`` (by name) or what
    they start do what only root may: run an account tool, rewrite a file that makes a
    foothold last (``_lasting_target``) or read an account database only root may read; or
    check who they now are (``IDENTITY_CHECKS``: id after the escape), which a pager's
    input preprocessor never asks."""
    below = (view.desc_in("subject_name", shells) | descendant_subjects(view, shells)) & (view.first_minutes >= since)
    runs = view.program_starts & below
    work = runs & view.desc_where("object_name", lambda n: n.casefold() in ACCOUNT_TOOLS | IDENTITY_CHECKS, runs)
    writes = view.present & below & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    work |= writes & view.desc_where("object_name", _lasting_target, writes)
    reads = view.present & below & (view.desc["event"] == "file_read")
    stores = root_only_stores()
    return work | (reads & view.desc_where("object_name", lambda n: n.casefold() in stores, reads))


# what a root shell writes to make a foothold last: the account and sudo files, SSH's
# authorized keys (the knowledge base's persistence locations cover cron's tables and the
# like), and service units
LASTING_FILES = frozenset({"passwd", "shadow", "master.passwd", "sudoers", "authorized_keys", "authorized_keys2", "rc.local"})
LASTING_SUFFIXES = (".service", ".timer", ".socket")
# (FreeBSD's pw: pw useradd, pw usermod)
ACCOUNT_TOOLS = frozenset({"useradd", "adduser", "usermod", "chpasswd", "pw"})


def _lasting_target(name: str) -> bool:
    """A file a root shell writes to make a foothold last (``LASTING_FILES``, a unit's
    ``LASTING_SUFFIXES``, a runlevel link that starts a service at boot, a knowledge-base
    persistence location)."""
    if name in LASTING_FILES or name.endswith(LASTING_SUFFIXES) or RUNLEVEL_LINK.match(name):
        return True
    entry = lookup(name, "file")
    return entry is not None and entry.category == "persistence location"


def run_as_for_an_unknown_program(view: LogView) -> list[StageEvidence]:
    """A run-as tool (sudo, doas) that a program the knowledge base does not know started,
    itself or through a shell it started (an implant's shell), where what the run-as tool
    started then makes something last as root: writes an account or sudo file, authorized
    keys, a service unit, a runlevel link (update-rc.d's S20NAME) or another persistence
    location, or runs an account tool. Root
    obtained for an unknown program's lasting work (a cached sudo ticket or a password fed
    to ``sudo -S``: T1548.003); the persistence itself is Maintain Persistence's. A user's
    terminal runs sudo under a known shell and terminal; an unknown program's shell running
    sudo for nothing lasting claims nothing."""
    found = _run_for_an_unknown_program(view, RUN_AS_TOOLS)
    if found is None:
        return []
    runs, launches, shells, direct, via, tools, since, unnamed = found
    started = runs & view.desc_in("subject_name", tools)
    if not started.any():
        return []
    below = descendant_subjects(view, tools) & (view.first_minutes >= since)
    writes = view.present & below & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    lasting = writes & view.desc_where("object_name", _lasting_target, writes)
    lasting |= runs & below & view.desc_where("object_name", lambda n: n.casefold() in ACCOUNT_TOOLS, runs & below)
    if not lasting.any():
        return []
    callers = []
    if direct.any():
        callers.append(f"{_names(view.values('subject_name', direct))}, a program the knowledge base does not know, ran {_names(view.values('object_name', direct))}")
    if shells.any():
        callers.append(
            f"{_names(view.values('subject_name', launches & view.desc_in('object_name', view.values('subject_name', shells))))}, a program the knowledge base does not know, "
            f"started {_names(view.values('subject_name', shells))}, which ran {_names(view.values('object_name', shells))}"
        )
    if unnamed.any():
        starters = launches & view.desc_where("object_name", lambda n: process_category(n) == "shell", launches)
        callers.append(
            f"{_names(view.values('subject_name', starters))}, a program the knowledge base does not know, started {_names(view.values('object_name', starters))}, "
            f"and the log's unnamed process ran {_names(view.values('object_name', unnamed))} in that minute"
        )
    reason = (
        "; ".join(callers) + f"; what {_names(tools)} started then made something last as root ({_names(view.values('object_name', lasting))}): "
        "root obtained through the run-as tool for an unknown program's work."
    )
    return [cited(view, view.rows_of(launches | via | started), view.rows_of(lasting), stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1548.003",))]


def run_as_plants_a_triggered_program(view: LogView) -> list[StageEvidence]:
    """A run-as tool (sudo, doas) that the log's unnamed process ran, itself or through a
    shell it started (TRACE often leaves the caller's shell unnamed), where what the run-as
    tool started planted a program the knowledge base does not know together with the
    configuration a daemon then read and ran it by (``_triggers``: a systemd unit written and
    enabled, systemd starting the program): root obtained to install an unknown program as
    a service (T1548.003); the persistence itself is Maintain Persistence's. A program known
    by name installed so (a package built and installed with sudo) claims nothing here."""
    found = _run_for_an_unknown_program(view, RUN_AS_TOOLS, caller=lambda n: n == "")
    if found is None:
        return []
    started = found.runs & view.desc_in("subject_name", found.tools)
    below = view.values("subject_name", descendant_subjects(view, found.tools) & (view.first_minutes >= found.since))
    triggers = [trigger for trigger in _triggers(view) if trigger.planters & below]
    if not started.any() or not triggers:
        return []
    how = "ran" if found.direct.any() else f"started {_names(view.values('subject_name', found.shells))}, which ran"
    planted = ", ".join(f"{_names({t.program})} with {_names(t.configs)}, which {_names({t.reader})} read before it ran {_names({t.program})}" for t in triggers)
    reason = (
        f"The log's unnamed process {how} {_names(found.tools)}; what {_names(found.tools)} started planted {planted}: "
        "root obtained through the run-as tool to install a program the knowledge base does not know."
    )
    rows = np.concatenate([view.rows_of(found.launches | found.via | started)] + [t.rows for t in triggers])
    return [cited(view, np.unique(rows), stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1548.003",))]


def run_as_starts_a_dropped_program(view: LogView) -> list[StageEvidence]:
    """A run-as tool (sudo, doas) starting a program this subgraph wrote and ran that the
    knowledge base does not know (``dropped_programs``: not a package's, an updater's or a
    build's output): the dropped code run as root (T1548.003), as a tool copied in over a
    login and then run with sudo. An administrator's sudo runs known programs."""
    runs = view.present & view.desc_in("event", ("execute", "process_start"))
    starts = runs & view.desc_where("subject_name", lambda n: n.casefold() in RUN_AS_TOOLS, runs)
    if not starts.any():
        return []
    dropped = {program: rows for program, _, rows in dropped_programs(view) if lookup(program, "process") is None}
    started = starts & view.desc_in("object_name", set(dropped))
    if not started.any():
        return []
    programs = view.values("object_name", started)
    written = np.zeros(len(view.pattern_rows), dtype=bool)
    for program in programs:
        written[dropped[program]] = True
    written &= view.desc_in("event", ("file_write", "file_create", "file_rename"))
    reason = (
        f"{_names(view.values('subject_name', started))} started {_names(programs)}, which this subgraph wrote "
        f"({_names(view.values('subject_name', written))} wrote it) and which the knowledge base does not know: the dropped program run as root."
    )
    return [cited(view, view.rows_of(started), view.rows_of(written), stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1548.003",))]


# the tools that install a user's job table (crontab(1) writes the spool, at(1) its queue)
JOB_TABLE_TOOLS = frozenset({"crontab", "at", "batch"})
# of those, the ones that queue a job to run once (its queue file is removed when it runs),
# and the programs that run such jobs (FreeBSD's atrun from cron, Linux's atd)
ONE_SHOT_JOB_TOOLS = frozenset({"at", "batch"})
ONE_SHOT_JOB_RUNNERS = frozenset({"atd", "atrun"})


def one_shot_jobs_not_rearmed(view: LogView) -> set[str]:
    """The one-shot job tools (``ONE_SHOT_JOB_TOOLS``: at, batch) the log shows run, none of
    whose runs is below the job runner (``ONE_SHOT_JOB_RUNNERS``): a job queued to run once
    later, deferred execution rather than persistence; a job that queues itself again from
    its own run (atrun's shell running at) comes back, and is. Computed once per view."""
    return view.derived("_one_shot_jobs_not_rearmed", lambda: _find_one_shot_jobs_not_rearmed(view))


def _find_one_shot_jobs_not_rearmed(view: LogView) -> set[str]:
    starts = view.program_starts
    tools = starts & view.desc_where("object_name", lambda n: n.casefold() in ONE_SHOT_JOB_TOOLS, starts)
    if not tools.any():
        return set()
    runners = {n for n in view.subjects if n.casefold() in ONE_SHOT_JOB_RUNNERS}
    if not runners:
        return view.values("object_name", tools)
    # below the runner by name, from the minute it first ran a job on: the log names every
    # sh alike, and the shell that queued the job minutes before it ran is not the job's
    below = tools & (view.desc_in("subject_name", runners) | descendant_subjects(view, runners))
    first_run = int(view.minutes[view.rows_of(view.present & view.desc_in("subject_name", runners))].min())
    rows = view.rows_of(below)
    rearmed = set(view.desc["object_name"][view._codes[rows[view.minutes[rows] >= first_run]]].tolist())
    return view.values("object_name", tools) - rearmed


def job_table_for_an_unknown_program(view: LogView) -> list[StageEvidence]:
    """crontab(1) or at(1) that a program the knowledge base does not know ran, itself or
    through a shell it started (an implant's shell), writing its table (the spool file, or
    a temporary it renames into the spool): a job scheduled by the implant (T1053.003). A
    user's ``crontab -e`` runs under a terminal's or login's shell, which the knowledge base
    knows; the crontab-tool mechanism keeps those."""
    found = _run_for_an_unknown_program(view, JOB_TABLE_TOOLS)
    if found is None:
        return []
    _, launches, shells, direct, via, tools, since, unnamed = found
    # (a job queued to run once is deferred execution, not a job made to come back)
    tools = tools - one_shot_jobs_not_rearmed(view)
    installs = view.present & view.desc_in("subject_name", tools) & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    installs &= (view.desc["object_kind"] == "file") & (view.last_minutes >= since)
    if not installs.any():
        return []
    callers = _names(view.values("subject_name", launches | direct))
    through = _names(view.values("subject_name", shells)) if shells.any() else ""
    if unnamed.any():
        through = (through + " or " if through else "") + f"a shell it started ({_names(view.values('object_name', launches))}; the log's unnamed process ran {_names(view.values('object_name', unnamed))} in that minute)"
    reason = (
        f"{callers}, a program the knowledge base does not know, ran {_names(tools)}"
        f"{' through ' + through if through else ''}, which wrote its table "
        f"({_names(view.values('object_name', installs))}): a job scheduled for an unknown program's work."
    )
    return [cited(view, view.rows_of(launches | via), view.rows_of(installs), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1053.003",))]


# a job table written this soon after a program the subgraph dropped first ran is the drop's
JOB_AFTER_DROP_MINUTES = 10


def job_table_after_a_dropped_program(view: LogView) -> list[StageEvidence]:
    """crontab(1) or at(1) started by a process the log does not name (TRACE leaves the
    shell unnamed) writing its table within ``JOB_AFTER_DROP_MINUTES`` after a program the
    subgraph wrote and ran first ran: the dropped program made to come back (T1053.003), a
    download, run and persist. Outside such a drop the crontab-tool mechanism keeps an
    unnamed crontab's edit a user's."""
    runs = view.present & view.desc_in("event", ("execute", "process_start"))
    tool_runs = runs & (view.desc["subject_name"] == "") & view.desc_where("object_name", lambda n: n.casefold() in JOB_TABLE_TOOLS, runs)
    if not tool_runs.any():
        return []
    dropped = dropped_programs(view)
    if not dropped:
        return []
    ran = np.zeros(len(view.pattern_rows), dtype=bool)
    for _, _, positions in dropped:
        ran[positions] = True
    ran &= runs
    if not ran.any():
        return []
    first_drop = int(view.first_minutes[ran].min())
    tool_runs &= (view.first_minutes >= first_drop) & (view.first_minutes <= first_drop + JOB_AFTER_DROP_MINUTES * MINUTE_NS)
    if not tool_runs.any():
        return []
    tools = view.values("object_name", tool_runs)
    installs = view.present & view.desc_in("subject_name", tools) & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    installs &= (view.desc["object_kind"] == "file") & (view.last_minutes >= int(view.first_minutes[tool_runs].min()))
    if not installs.any():
        return []
    reason = (
        f"{_names(view.values('object_name', ran))}, a program the subgraph wrote and ran, first ran, and within {JOB_AFTER_DROP_MINUTES} minutes "
        f"a process the log does not name ran {_names(tools)}, which wrote its table ({_names(view.values('object_name', installs))}): "
        "a job scheduled after the drop, to bring it back."
    )
    return [cited(view, view.rows_of(ran)[:1], view.rows_of(tool_runs), view.rows_of(installs), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1053.003",))]


class UnknownProgramRuns(NamedTuple):
    """``_run_for_an_unknown_program``'s masks over descriptions, and what both its rules
    read off them: ``via``, every such run of a tool; ``tools``, the tools' names; ``since``,
    the first such run's minute (ns)."""

    runs: np.ndarray  # every process start or execution
    launches: np.ndarray  # the unknown programs' starts of the shells
    shells: np.ndarray  # the shells' runs of the tools after such a start
    direct: np.ndarray  # the unknown programs' own runs of the tools
    via: np.ndarray
    tools: set[str]
    since: int
    unnamed: np.ndarray  # the log's unnamed process's runs of the tools in a minute such a shell started


def _run_for_an_unknown_program(view: LogView, tools: frozenset[str], caller: Callable[[str], bool] | None = None) -> UnknownProgramRuns | None:
    """The runs of the ``tools`` (by folded name) that a program the knowledge base does not
    know made, itself or through a shell it started (an implant's shell; the log's unnamed
    process in a minute it started one); None where there are none. ``caller``: which
    processes count as the caller instead (by name)."""
    caller = caller or _unknown_program
    runs = view.present & view.desc_in("event", ("execute", "process_start"))
    tool_runs = runs & view.desc_where("object_name", lambda n: n.casefold() in tools, runs)
    if not tool_runs.any():
        return None
    direct = tool_runs & view.desc_where("subject_name", caller, tool_runs)
    shells = tool_runs & view.desc_where("subject_name", lambda n: process_category(n) == "shell", tool_runs)
    launches = np.zeros_like(shells)
    if shells.any():
        launches = runs & view.desc_in("object_name", view.values("subject_name", shells))
        launches &= view.desc_where("subject_name", caller, launches)
        # the shells an unknown program started, and the tools they ran after that
        shells &= view.desc_in("subject_name", view.values("object_name", launches))
        if launches.any():
            shells &= view.first_minutes >= int(view.first_minutes[launches].min())
    # or the log's unnamed process, in a minute such a program started a shell (TRACE often
    # leaves that shell's own rows unnamed: upd4te starts sh, and "A subject_process" starts
    # crontab the next second)
    beside = None if caller("") else _unnamed_runs_beside_shell_starts(view, runs, tool_runs & (view.desc["subject_name"] == ""), caller)
    unnamed = np.zeros_like(tool_runs)
    if beside is not None:
        unnamed, shell_starts = beside
        launches = launches | shell_starts
    via = shells | direct | unnamed
    if not via.any():
        return None
    return UnknownProgramRuns(runs, launches, shells, direct, via, view.values("object_name", via), int(view.first_minutes[via].min()), unnamed)


def _unnamed_runs_beside_shell_starts(view: LogView, runs: np.ndarray, unnamed_runs: np.ndarray, caller: Callable[[str], bool]) -> tuple[np.ndarray, np.ndarray] | None:
    """Of ``unnamed_runs`` (descriptions), those with a row in a minute a ``caller`` started a
    shell in, and those shell starts (descriptions with a row in such a minute); None where
    there are none."""
    if not unnamed_runs.any():
        return None
    shell_starts = runs & view.desc_where("object_name", lambda n: process_category(n) == "shell", runs)
    shell_starts &= view.desc_where("subject_name", caller, shell_starts)
    start_rows = view.rows_of(shell_starts)
    rows = view.rows_of(unnamed_runs)
    shared = np.intersect1d(view.minutes[start_rows], view.minutes[rows])
    if not len(shared):
        return None
    found, starts = np.zeros_like(unnamed_runs), np.zeros_like(unnamed_runs)
    found[view._codes[rows[np.isin(view.minutes[rows], shared)]]] = True
    starts[view._codes[start_rows[np.isin(view.minutes[start_rows], shared)]]] = True
    return found, starts


def _unknown_program(name: str) -> bool:
    """A process the log names that the knowledge base does not know."""
    return bool(name) and name not in PLACEHOLDERS and lookup(name, "process") is None


def planted_system_library_loaded(view: LogView) -> list[StageEvidence]:
    """A program that loaded a module a shell, script host or Windows admin tool wrote in the
    subgraph under a Windows system library's name (``hijacked_loaders``: PowerShell writing
    version.dll, which OneDrive.exe loads as it starts at logon): a library planted where
    the program finds it before the system's own, run each time it starts (DLL search-order
    hijacking, T1574.001). Programs that run with more privilege than their caller are
    ``planted_library_loaded``'s."""
    hijacked = {loader: found for loader, found in hijacked_loaders(view).items() if not privileged_loader(loader)}
    if not hijacked:
        return []
    positions = np.unique(np.concatenate([own for _, _, own in hijacked.values()]))
    rows = np.flatnonzero(np.isin(view._codes, positions))  # the log rows of those descriptions
    libraries = {library for library, _, _ in hijacked.values()}
    writers = {writer for _, writer, _ in hijacked.values()}
    reason = (
        f"{_who(writers)} wrote {_names(libraries)}, the name of a Windows system library, and {_names(set(hijacked))} loaded it: "
        "a library planted where a program finds it before the system's own, run each time that program starts (DLL search-order hijacking)."
    )
    return [cited(view, rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1574.001",))]


def planted_library_loaded(view: LogView) -> list[StageEvidence]:
    """A privileged program (``privileged_loaders`` in roles.yaml: setuid programs, services
    running as SYSTEM) loading a library or module that another process wrote in the
    subgraph, where that writer is a shell, interpreter, admin or build tool, runs the
    privileged program itself, or the log shows it acting for an attacker: planted code run with the loader's privilege (PwnKit's GCONV
    module for pkexec, a printer driver DLL for the spooler, a security package for LSASS)."""
    desc = view.desc
    loads = view.present & (desc["event"] == "module_load") & ~view.desc_in("object_name", PLACEHOLDERS)
    # (or a shared object it reads: the dynamic loader reads a library's header before it
    # maps it, and a log may keep only the read)
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
    loads |= view.desc_where("object_name", lambda n: library_stem(n) is not None, reads)
    loads &= view.desc_where("subject_name", privileged_loader, loads)
    if not loads.any():
        return []
    loaded = view.values("object_name", loads)
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_name", loaded)
    writes &= ~view.desc_where("subject_name", privileged_loader, writes)
    if not writes.any():
        return []
    planting = writes & (view.desc_where("subject_name", planter, writes) | in_chain(view, acting_for_an_attacker(view)))
    # a writer that then runs the privileged program itself, whatever it is, plants the code
    # for that run (PwnKit's exploit writes its GCONV module and runs pkexec): a vendor's
    # setup installing a driver leaves the loading to the service's own start
    starts = view.present & view.desc_in("event", ("execute", "process_start"))
    starts &= view.desc_where("object_name", privileged_loader, starts)
    if starts.any():
        planting |= writes & view.desc_in("subject_name", view.values("subject_name", starts) & view.values("subject_name", writes))
        # or whoever wrote it, the log's unnamed process too, where the privileged program was
        # started by a program the knowledge base does not know: an unknown program running
        # pkexec that loads a module the subgraph just wrote is an exploit driving it (PwnKit's
        # GCONV module, written by its shell, which TRACE often leaves unnamed); a package's
        # own scripts are known programs
        by_unknown = starts & view.desc_where("subject_name", lambda n: n not in PLACEHOLDERS and lookup(n, "process") is None, starts)
        if by_unknown.any():
            driven = loads & view.desc_in("subject_name", view.values("object_name", by_unknown))
            planting |= writes & view.desc_in("object_name", view.values("object_name", driven)) & ~view.desc_where("subject_name", routine_writer, writes)
    planted = view.values("object_name", planting) - _preloaded_everywhere(view)
    hits = loads & view.desc_in("object_name", planted)
    if not hits.any():
        return []
    found = []
    registered = _registered_service_hosts(view, hits)
    if registered.any():
        hits &= ~registered
        dlls = view.values("object_name", registered)
        rows = planting & view.desc_in("object_name", dlls)
        reason = (
            f"{_who(view.values('subject_name', rows))} wrote {_names(dlls)}, which a service host the service control manager started "
            f"({_names(view.values('subject_name', registered))}) then loaded, while the log shows a service registered: "
            "a service pointed at a planted DLL, which runs it at every start (whoever registers services already holds the privilege)."
        )
        found.append(cited(view, view.rows_of(rows), view.rows_of(service_registration(view)), view.rows_of(registered), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1543.003",)))
    if not hits.any():
        return found
    loaders, writers = view.values("subject_name", hits), view.values("subject_name", planting & view.desc_in("object_name", view.values("object_name", hits)))
    reason = (
        f"{_names(loaders)}, which runs with more privilege than its caller, loaded {_names(view.values('object_name', hits))}, "
        f"which {_who(writers)} wrote in the subgraph: planted code run with that privilege (a hijacked library or module, an exploited privileged program)."
    )
    return found + [cited(view, view.rows_of(hits), view.rows_of(planting & view.desc_in("object_name", view.values("object_name", hits))), stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1574", "T1068"))]


def _registered_service_hosts(view: LogView, hits: np.ndarray) -> np.ndarray:
    """Of the planted loads ``hits``, those by the service host (``svchost.exe``) where the
    service control manager started it in the subgraph and the log shows a service
    registered or changed (``service_registration``): a service DLL (a svchost service's
    ``ServiceDll``), the loads of a service made to run the code, not of a privileged program
    hijacked into loading it."""
    hosts = hits & view.desc_where("subject_name", lambda n: n.casefold() == TASK_SERVICE_HOST, hits)
    if not hosts.any():
        return hosts
    started = started_service_hosts(view)
    if not started.any() or not service_registration(view).any():
        return np.zeros_like(hits)
    # started at or before the load (to the minute)
    return hosts & (view.last_minutes >= int(view.first_minutes[started].min()))


# a preloaded library reaches every program started: this many unprivileged ones loading it
PRELOAD_SPREAD = 3


def _preloaded_everywhere(view: LogView) -> set[str]:
    """Libraries the dynamic linker's preload list (``ld.so.preload``), written in the
    subgraph and kept (not planted for one privileged run, as an exploit's is), loads into
    every program: those that ``PRELOAD_SPREAD`` or more unprivileged programs load too. A
    privileged program among them loads it as every other does: the list's persistence
    (T1574.006), which its own rule claims, not an escalation through that program."""
    desc = view.desc
    lists = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_where("object_name", lambda n: n.casefold() == "ld.so.preload", view.present)
    lists &= ~unless_rows(view, "planted for a privileged run")
    if not lists.any():
        return set()
    loads = view.present & (desc["event"] == "module_load") & ~view.desc_in("object_name", PLACEHOLDERS)
    unprivileged = loads & ~view.desc_where("subject_name", privileged_loader, loads)
    loaders: dict[str, set[str]] = {}
    for at in np.flatnonzero(unprivileged).tolist():
        loaders.setdefault(desc["object_name"][at], set()).add(desc["subject_name"][at])
    return {library for library, names in loaders.items() if len(names) >= PRELOAD_SPREAD}


# stream editors that edit a file in place by writing a temporary copy and renaming it over
# the original (sed -i, perl -i); the tool that sets a file's times is stage_support.yaml's
# `timestamp_tools`, which the stage-support screen reads too
IN_PLACE_EDITORS = frozenset({"sed", "gsed", "perl"})


TOUCHED_AFTER_WRITE_MINUTES = 10  # a write this close before touch sets its file's times


def persistence_written_then_touched(view: LogView) -> list[StageEvidence]:
    """A file that makes a foothold last (``_lasting_target``: rc.local, a service unit, a
    knowledge-base persistence location) written, and within ``TOUCHED_AFTER_WRITE_MINUTES``
    its times set by ``touch``: a change made by hand and then given other times, not a
    package's installation, whoever wrote it (TRACE often leaves the writer unnamed, where
    the persistence rules read a package's maintainer script): Maintain Persistence. A
    package manager sets its files' times itself. Whether the times were reset to hide the
    change (``touch -r``: T1070.006) the log does not say: no Covering Tracks by itself."""
    from ..grounding.semantic import support_table  # the screen's own list of timestamp tools

    desc = view.desc
    stampers = support_table().timestamp_tools
    files = view.present & (desc["object_kind"] == "file")
    touches = files & (desc["event"] == "file_attribute") & view.desc_where("subject_name", lambda n: n.casefold() in stampers, files)
    if not touches.any():
        return []
    touches &= view.desc_where("object_name", _lasting_target, touches)
    writes = files & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_in("object_name", view.values("object_name", touches))
    writes &= ~view.desc_where("subject_name", lambda n: n.casefold() in stampers or process_category(n) == "package manager", writes)
    if not writes.any():
        return []
    first_written: dict[str, int] = {}
    write_rows = view.rows_of(writes)
    for name, minute in zip(desc["object_name"][view._codes[write_rows]].tolist(), view.minutes[write_rows].tolist()):
        first_written[name] = min(first_written.get(name, minute), minute)
    touch_rows = view.rows_of(touches)
    names = desc["object_name"][view._codes[touch_rows]].tolist()
    soon = np.array([name in first_written and 0 <= minute - first_written[name] <= TOUCHED_AFTER_WRITE_MINUTES * MINUTE_NS
                     for name, minute in zip(names, view.minutes[touch_rows].tolist())], dtype=bool)
    if not soon.any():
        return []
    touch_rows = touch_rows[soon]
    stamped = set(desc["object_name"][view._codes[touch_rows]].tolist())
    write_rows = write_rows[np.isin(desc["object_name"][view._codes[write_rows]], list(stamped))]
    named = set(desc["subject_name"][view._codes[write_rows]].tolist()) - {""}
    writers = _names(named) if named else "The log's unnamed process"
    persisted = (
        f"{writers} wrote {_names(stamped)}, which makes a program start at boot, login or on a schedule, and within "
        f"{TOUCHED_AFTER_WRITE_MINUTES} minutes touch set its times: a change made by hand and given other times, not a package's installation."
    )
    return [cited(view, write_rows, touch_rows, stage="Maintain Persistence", confidence="moderate", rationale=persisted, tactic="TA0003", techniques=("T1037.004",) if "rc.local" in stamped else ("T1543.002",))]


def staged_data_shredded(view: LogView) -> list[StageEvidence]:
    """A secure-delete tool (the stage screen's ``covering_tools``: shred, SDelete) writing
    over an archive that a process read and then sent to a public address
    (``_archives_sent_out``): the staged data destroyed once carried off, so the host keeps
    no copy of what left (T1070.004); or over a program the subgraph wrote and ran (the
    dropper wiped once its implant runs). A user shredding a document of their own sends
    nothing first and runs nothing of it."""
    from ..grounding.semantic import support_table

    tools = support_table().covering_tools
    desc = view.desc
    shredding = view.present & view.desc_in("event", ("file_write", "file_delete", "file_rename")) & (desc["object_kind"] == "file")
    shredding &= view.desc_where("subject_name", lambda n: n.casefold() in tools, shredding)
    if not shredding.any():
        return []
    sent = _archives_sent_out(view)
    # (or a program the subgraph wrote and then ran: the dropper wiped once its implant runs)
    dropped = {program for program, _, _ in dropped_programs(view)}
    shredded = shredding & view.desc_in("object_name", sent | dropped)
    if not shredded.any():
        return []
    # and the tool's other rows on those files' later names (shred renaming its target to
    # zeros before unlinking it), in the same minutes
    minutes = set(view.minutes[view.rows_of(shredded)].tolist())
    rows = view.rows_of(shredding)
    rows = rows[np.fromiter((int(m) in minutes for m in view.minutes[rows].tolist()), dtype=bool, count=len(rows))]
    starts = view.program_starts & view.desc_in("object_name", view.values("subject_name", shredded))
    wiped = view.values("object_name", shredded)
    parts = []
    if wiped & sent:
        parts.append(f"{_names(wiped & sent)}, an archive a process had read and sent to an outside address: the staged data destroyed once carried off")
    if wiped - sent:
        parts.append(f"{_names(wiped - sent)}, a program the subgraph wrote and ran: the attack's own tool destroyed beyond recovery")
    reason = f"{_names(view.values('subject_name', shredded))}, a secure-delete tool, wrote over " + "; and over ".join(parts) + "."
    return [cited(view, view.rows_of(starts), rows, stage="Covering Tracks", confidence="moderate", rationale=reason, tactic="TA0005", techniques=("T1070.004",))]


def logs_edited_or_times_reset(view: LogView) -> list[StageEvidence]:
    """In an attack chain (a channel's shell, a dropped program's): a stream editor reading a
    log and, that minute, writing and renaming a file (``sed -i`` rewriting ``auth.log``
    through its temporary copy: T1070.002), or ``touch`` resetting the times of a program
    that runs in the log (timestomping the implant's image: T1070.006). The same tools
    outside any attack chain are an administrator's."""
    from ..grounding.semantic import support_table  # the screen's own list of timestamp tools

    desc = view.desc
    stampers = support_table().timestamp_tools
    tools = view.desc_where("subject_name", lambda n: n.casefold() in IN_PLACE_EDITORS or n.casefold() in stampers, view.present)
    if not tools.any():
        return []  # no such tool: the attack chain is not needed
    chain = in_chain(view, acting_for_an_attacker(view))
    editors = tools & chain & view.desc_where("subject_name", lambda n: n.casefold() in IN_PLACE_EDITORS, tools)
    # (any log by its name: a web server's access.log the knowledge base cannot list)
    reads = editors & (desc["event"] == "file_read") & view.desc_where("object_name", lambda n: _is_log(n) or bool(LOG_LIKE.search(n)), editors)
    rows = []
    edited: set[str] = set()
    if reads.any():
        renames = view.rows_of(editors & (desc["event"] == "file_rename"))
        writes = view.rows_of(editors & view.desc_in("event", ("file_write", "file_create")))
        # the minutes holding a read, a write and a rename (sets, not a scan per read)
        read_rows = view.rows_of(reads)
        both = np.intersect1d(view.minutes[renames], view.minutes[writes])
        hit = read_rows[np.isin(view.minutes[read_rows], both)]
        if len(hit):
            minutes = view.minutes[hit]
            rows.extend(hit.tolist())
            rows.extend(renames[np.isin(view.minutes[renames], minutes)].tolist())
            rows.extend(writes[np.isin(view.minutes[writes], minutes)].tolist())
            edited = set(desc["object_name"][view._codes[hit]].tolist())
    stamped: set[str] = set()
    touches = tools & chain & (desc["event"] == "file_attribute") & view.desc_where("subject_name", lambda n: n.casefold() in stampers, tools)
    if touches.any():
        programs = view.values("object_name", view.present & (desc["object_kind"] == "process")) | view.values("subject_name", view.present)
        touches &= view.desc_in("object_name", programs - PLACEHOLDERS - {""})
        if touches.any():
            rows.extend(view.rows_of(touches).tolist())
            stamped = view.values("object_name", touches)
    dressed, dressed_rows = _times_copied_onto_new_programs(view, tools & view.desc_where("subject_name", lambda n: n.casefold() in stampers, tools))
    if len(dressed_rows):
        rows.extend(dressed_rows.tolist())
    if not rows:
        return []
    parts, techniques = [], []
    if edited:
        parts.append(f"a stream editor rewrote {_names(edited)} in place (read, then wrote and renamed its temporary copy)")
        techniques.append("T1070.002")
    if stamped:
        parts.append(f"touch reset the times of {_names(stamped)}, a program that runs in the log")
        techniques.append("T1070.006")
    lead = "In an attack chain, " if parts else ""
    if dressed:
        tools_used = set(desc["subject_name"][view._codes[dressed_rows]].tolist()) & {n for n in view.subjects if n.casefold() in stampers}
        parts.append(f"{_names(tools_used)} copied another file's times onto {_names(dressed)}, which the subgraph had just put in place and made executable or loaded (a new program or library dressed in an old one's times)")
        techniques.append("T1070.006")
    reason = lead + "; ".join(parts) + ": its traces edited, not deleted."
    return [cited(view, np.unique(np.array(rows, dtype=np.int64)), stage="Covering Tracks", confidence="moderate", rationale=reason, tactic="TA0005", techniques=tuple(techniques))]


def _times_copied_onto_new_programs(view: LogView, stamping: np.ndarray) -> tuple[set[str], np.ndarray]:
    """Outside any attack chain too: a timestamp tool (``stamping``: its descriptions) that,
    in the minute it changed a file's times, opened another file (``touch -r REFERENCE``),
    where the file was written in the subgraph (not by a build) and another process changed
    its mode (``chmod +x``) or loaded it: a program or library put in place and given an existing file's times
    (T1070.006). A package build's ``touch -r`` stamps what the build wrote. The files and
    the log rows (the copy, the mode change, the touch)."""
    desc = view.desc
    changed = stamping & (desc["event"] == "file_attribute") & (desc["object_kind"] == "file") & ~view.desc_in("object_name", PLACEHOLDERS)
    if not changed.any():
        return set(), np.array([], dtype=np.int64)
    targets = view.values("object_name", changed)
    written = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("object_name", targets) & ~build_writes(view)
    moded = view.present & (desc["event"] == "file_attribute") & view.desc_in("object_name", targets) & ~stamping
    # (or that a process then loaded: a library put in place, a backdoored PAM module)
    moded |= view.present & (desc["event"] == "module_load") & view.desc_in("object_name", targets)
    placed = view.values("object_name", written) & view.values("object_name", moded)
    if not placed:
        return set(), np.array([], dtype=np.int64)
    changed &= view.desc_in("object_name", placed)
    # the reference: another file the same tool touched in that minute
    others = stamping & (desc["object_kind"] == "file") & ~view.desc_in("object_name", placed) & ~view.desc_in("object_name", PLACEHOLDERS)
    by_tool: dict[str, set[int]] = {}
    for row in view.rows_of(others).tolist():
        by_tool.setdefault(desc["subject_name"][view._codes[row]], set()).add(int(view.minutes[row]))
    change_rows = view.rows_of(changed)
    keep = np.fromiter((int(m) in by_tool.get(t, ()) for t, m in zip(desc["subject_name"][view._codes[change_rows]].tolist(), view.minutes[change_rows].tolist())), dtype=bool, count=len(change_rows))
    change_rows = change_rows[keep]
    if not len(change_rows):
        return set(), np.array([], dtype=np.int64)
    dressed = set(desc["object_name"][view._codes[change_rows]].tolist())
    cited_rows = np.concatenate([change_rows, view.rows_of(others), view.rows_of((written | moded) & view.desc_in("object_name", dressed))])
    return dressed, cited_rows


def _how_acting(view: LogView, positions: np.ndarray) -> str:
    """" The log shows HOW." for the first link that shows the processes of these log rows
    acting for an attacker (``chain_links``), or "" where none does."""
    links = chain_links(view, acting_for_an_attacker(view), _descriptions(view, positions))
    return f" The log shows {links[0].how}." if links else ""


# Windows' event-log tool, and the host's own event logs (as the pattern rule
# ``covering-tracks-event-log-cleared`` names them)
EVENT_LOG_TOOL = "wevtutil.exe"
HOST_EVENT_LOG = re.compile(r"(?i)^(security|system|application|setup|windows powershell|.+%4.+)\.evtx$")
# an export of a host event log: its name, then a suffix (the host, a date), `.evtx`
EXPORTED_EVENT_LOG = re.compile(r"(?i)^(security|system|application|setup|windows powershell)[ _.-].+\.evtx$")


def _exported_logs(view: LogView) -> dict[str, int]:
    """Each host event log (``security.evtx``, case-folded) -> the first minute an export of
    it (``EXPORTED_EVENT_LOG``) was written."""
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & (desc["object_kind"] == "file")
    writes &= view.desc_where("object_name", lambda n: bool(EXPORTED_EVENT_LOG.match(n)), writes)
    found: dict[str, int] = {}
    rows = view.rows_of(writes)
    for name, minute in zip(desc["object_name"][view._codes[rows]].tolist(), view.minutes[rows].tolist()):
        log = EXPORTED_EVENT_LOG.match(name).group(1).casefold() + ".evtx"
        found[log] = min(found.get(log, minute), minute)
    return found
EVENT_LOG_SERVICE_HOSTS = frozenset({"svchost.exe"})


def event_logs_cleared_by_the_service(view: LogView) -> list[StageEvidence]:
    """Windows' event-log tool (``wevtutil.exe``) started, and in that minute or the next
    the event-log service (its service host) rewriting the host's own event logs: ``wevtutil
    cl`` asks the service to clear the log, and the service writes it (T1070.001). The
    service writes its logs all day: only right after such a start does its write tell of a
    clearing, by a process the log shows acting for an attacker, or of two or more logs
    (Security, then System) by anyone."""
    desc = view.desc
    starts = view.present & view.desc_in("event", ("process_start", "execute"))
    starts &= view.desc_where("object_name", lambda n: n.casefold() == EVENT_LOG_TOOL, starts)
    if not starts.any():
        return []
    acting = starts & in_chain(view, acting_for_an_attacker(view))
    rewrites = view.present & view.desc_in("event", ("file_write", "file_truncate", "file_delete")) & (desc["object_kind"] == "file")
    rewrites &= view.desc_where("subject_name", lambda n: n.casefold() in EVENT_LOG_SERVICE_HOSTS, rewrites)
    rewrites &= view.desc_where("object_name", lambda n: bool(HOST_EVENT_LOG.match(n)), rewrites)
    if not rewrites.any():
        return []
    start_rows, rewrite_rows = view.rows_of(starts), view.rows_of(rewrites)
    start_minutes = np.unique(view.minutes[start_rows])
    # a rewrite in the minute of a start or the next
    at = np.searchsorted(start_minutes, view.minutes[rewrite_rows] - MINUTE_NS, side="left")
    near = at < len(start_minutes)
    near[near] = start_minutes[at[near]] <= view.minutes[rewrite_rows][near]
    if not near.any():
        return []
    hits = rewrite_rows[near]
    # a log exported first (the service writing a copy named after it, `wevtutil epl` before
    # `wevtutil cl`: Security_HOST_20190925.evtx) by the minute it is rewritten is archived,
    # then cleared: log management, not a trace removed
    archived = _exported_logs(view)
    if archived:
        names = desc["object_name"][view._codes[hits]].tolist()
        keep = np.fromiter((not (n.casefold() in archived and archived[n.casefold()] <= m) for n, m in zip(names, view.minutes[hits].tolist())), dtype=bool, count=len(hits))
        hits = hits[keep]
        if not len(hits):
            return []
    minutes = view.minutes[hits]
    used = start_rows[np.isin(view.minutes[start_rows], np.concatenate([minutes, minutes - MINUTE_NS]))]
    logs = set(desc["object_name"][view._codes[hits]].tolist())
    # outside an attack chain, several logs cleared one after another (Security, then System,
    # then PowerShell's) are a clearing still; one log rewritten may be the service's own work
    attacker = bool((acting[view._codes[used]]).any())
    if not attacker and len({n.casefold() for n in logs}) < 2:
        return []
    who = ", acting for an attacker," if attacker else ""
    reason = (
        f"{_names(view.values('subject_name', _descriptions(view, used)))}{who} ran wevtutil.exe, and in that minute "
        f"or the next the event-log service rewrote {_names(logs)}, the host's own event logs: "
        "logs cleared (wevtutil cl asks the service to clear a log)."
    )
    reason += _how_acting(view, used)
    return [cited(view, used, hits, stage="Covering Tracks", confidence="moderate", rationale=reason, tactic="TA0005", techniques=("T1070.001",))]


def _hidden_unknown(name: str) -> bool:
    """A hidden name (a leading dot) the knowledge base does not know as a program."""
    return name.startswith(".") and name.strip(".") != "" and name not in PLACEHOLDERS and lookup(name, "process") is None


# the daemons that run scheduled jobs, and how soon after one starts a shell that shell's
# start of a program is the job's
CRON_DAEMONS = frozenset({"cron", "crond", "anacron", "atd", "fcron"})
CRON_JOB_MINUTES = 1


def shell_copied_and_armed(view: LogView) -> list[StageEvidence]:
    """A local copy tool (``local_copiers``: cp) reading a Unix command shell's program
    (``shell_copy``: bash) and writing another file in that minute, whose mode is then
    changed (chmod): a copy of the shell made setuid, a root shell left behind to come back
    to (T1548.001). Nobody copies a shell to run it under another name but to keep its
    privileges; a copy a scheduled job makes (a root cron script the intruder edited) is
    that job's escalation, not a backdoor the intruder left."""
    from ..grounding.semantic import is_shell_copied

    desc = view.desc
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
    reads &= view.pattern_flags(lambda row: is_shell_copied(row.subject, row.object), reads)
    if not reads.any():
        return []
    copiers = view.values("subject_name", reads)
    shells = view.values("object_name", reads)
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", copiers) & ~view.desc_in("object_name", PLACEHOLDERS | shells)
    # each copy -> the minute it was first written, in a minute its copier read a shell
    armed_from, copy_rows = _first_minutes_where(view, writes, _minutes_by_subject(view, reads))
    if not armed_from:
        return []
    modes = view.present & (desc["event"] == "file_attribute") & view.desc_in("object_name", set(armed_from))
    mode_rows = [p for p in view.rows_of(modes).tolist() if int(view.minutes[p]) >= armed_from[desc["object_name"][view._codes[p]]]]
    made = {desc["object_name"][view._codes[p]] for p in mode_rows}
    if not made:
        return []
    first = min(armed_from[n] for n in made)
    if ancestors_by(view, copiers, first) & CRON_DAEMONS:
        return []
    copy_rows = [p for p in copy_rows if desc["object_name"][view._codes[p]] in made]
    reason = (
        f"{_names(copiers)} copied the shell {_names(shells)} to {_names(made)}, whose mode was then changed: "
        "a copy of a shell made setuid, a root shell left behind to come back to."
    )
    return [cited(view, view.rows_of(reads), np.array(copy_rows, dtype=np.int64), np.array(mode_rows, dtype=np.int64), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1548.001",))]


def cron_runs_hidden_program(view: LogView) -> list[StageEvidence]:
    """A job scheduler (``CRON_DAEMONS``), or a shell it started within ``CRON_JOB_MINUTES``,
    starting a program whose name is hidden (a leading dot) and that the knowledge base does
    not know: a scheduled job that runs a hidden implant (T1053.003). Users' own jobs run
    their scripts and known programs under ordinary names; the crontab(1) edit that
    installed the table is cited where the log shows it."""
    desc = view.desc
    # a process started, or (TRACE) a file executed: the program's name either way
    starts = view.program_starts
    hidden = starts & view.desc_where("object_name", _hidden_unknown, starts)
    # or an interpreter or shell reading a hidden script it runs (python2.7 reading
    # .ntpsync.py, sh reading .gvfs-sync.sh): the script is the job's program, in each minute
    # the interpreter reads it
    script_reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
    script_reads &= view.desc_where("object_name", lambda n: _hidden_unknown(n) and bool(SCRIPT_OR_BINARY.search(n)), script_reads)
    script_reads &= view.desc_where("subject_name", lambda n: process_category(n) in SHELL_CATEGORIES, script_reads)
    script_minutes: dict[str, set[int]] = {}
    for position in view.rows_of(script_reads).tolist():
        script_minutes.setdefault(desc["subject_name"][view._codes[position]], set()).add(int(view.minutes[position]))
    hidden |= starts & view.desc_in("object_name", script_minutes)
    if not hidden.any():
        return []
    by_daemon = starts & view.desc_where("subject_name", lambda n: n.casefold() in CRON_DAEMONS, starts)
    if not by_daemon.any():
        return []
    daemon_rows = view.rows_of(by_daemon)
    found: dict[str, list[int]] = {}  # a child of a daemon -> the minutes it was started
    for position, child in zip(daemon_rows.tolist(), desc["object_name"][view._codes[daemon_rows]].tolist()):
        found.setdefault(child, []).append(int(view.minutes[position]))
    started_at = {child: np.sort(np.array(minutes, dtype=np.int64)) for child, minutes in found.items()}
    # the same children started by other processes (the log names every sh as one): a later
    # start by another is the nearer parent of what that name runs after it
    others = _minutes_by_subject(view, starts & view.desc_in("object_name", set(found)) & ~by_daemon, "object_name")
    other_at = {child: np.array(sorted(minutes), dtype=np.int64) for child, minutes in others.items()}
    hits = []
    hidden_rows = view.rows_of(hidden)
    children = desc["object_name"][view._codes[hidden_rows]].tolist()
    for position, parent, child in zip(hidden_rows.tolist(), desc["subject_name"][view._codes[hidden_rows]].tolist(), children):
        minute = int(view.minutes[position])
        if child in script_minutes and not _hidden_unknown(child) and minute not in script_minutes[child]:
            continue  # an interpreter run that read no hidden script
        began = started_at.get(parent)
        # the latest start of the parent by a daemon at or before this minute (a search, not a scan)
        at = int(np.searchsorted(began, minute, side="right")) - 1 if began is not None else -1
        if parent.casefold() in CRON_DAEMONS:
            hits.append(position)
        elif at >= 0 and minute - int(began[at]) <= CRON_JOB_MINUTES * MINUTE_NS:
            other = other_at.get(parent)
            later = int(np.searchsorted(other, minute, side="right")) - 1 if other is not None else -1
            if later < 0 or int(other[later]) <= int(began[at]):
                hits.append(position)
    if not hits:
        return []
    hits = np.array(hits, dtype=np.int64)
    programs = set(desc["object_name"][view._codes[hits]].tolist())
    # an interpreter's job is named by its hidden script, whose reads are cited with it
    interpreters = {n for n in programs if n in script_minutes and not _hidden_unknown(n)}
    read_rows = np.zeros(0, dtype=np.int64)
    if interpreters:
        read_rows = view.rows_of(script_reads & view.desc_in("subject_name", interpreters))
        read_rows = read_rows[np.isin(view.minutes[read_rows], view.minutes[hits])]
    first = int(view.minutes[hits].min())
    jobs = daemon_rows[view.minutes[daemon_rows] <= view.minutes[hits].max()]
    jobs = jobs[np.isin(desc["object_name"][view._codes[jobs]], list(set(desc["subject_name"][view._codes[hits]].tolist())))] if len(jobs) else jobs
    installs = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_where("subject_name", lambda n: n in ("crontab", "at", "batch"), view.present)
    install_rows = view.rows_of(installs)
    install_rows = install_rows[view.minutes[install_rows] <= first]
    daemons = {n for n in set(desc["subject_name"][view._codes[np.concatenate([hits, jobs])]].tolist()) if n.casefold() in CRON_DAEMONS}
    # at's runner running a job queued once (no at run below it queues the job again) runs
    # the command later: deferred execution, not a job that comes back
    if daemons and all(n.casefold() in ONE_SHOT_JOB_RUNNERS for n in daemons):
        queued = {n for n in view.values("object_name", view.program_starts) if n.casefold() in ONE_SHOT_JOB_TOOLS}
        if not (queued - one_shot_jobs_not_rearmed(view)):
            return []
    ran = [f"{_names(programs - interpreters)}, a program with a hidden name"] if programs - interpreters else []
    if interpreters:
        scripts = view.values("object_name", _descriptions(view, read_rows))
        ran.append(f"{_names(interpreters)} reading {_names(scripts)}, a script with a hidden name")
    reason = (
        f"{_names(daemons)} ran {' and '.join(ran)} "
        "that the knowledge base does not know, as a scheduled job: a cron job that runs a hidden implant."
    )
    if len(install_rows):
        reason += f" The table was installed in the subgraph ({_names(view.values('object_name', _descriptions(view, install_rows)))})."
    return [cited(view, hits, read_rows, jobs, install_rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1053.003",))]


# a scheduled fetch-and-run seen once may be a one-off; twice, it is the table's job
CRON_FETCH_RUNS = 2


def _fetched_into_a_shell(view: LogView, among: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of the descriptions ``among`` (present), the halves of `curl URL | sh`: a transfer
    tool's (``TRANSFER_TOOLS``) exchange with a public address, its writes to a pipe, and a
    shell's reads of a pipe."""
    desc = view.desc
    among = among & view.present
    tools = view.desc_where("subject_name", lambda n: n.casefold() in TRANSFER_TOOLS, among)
    fetches = tools & view.desc_in("event", ("network_out", "network_in")) & (desc["object_kind"] == "flow")
    fetches &= view.desc_where("object_name", lambda a: view.address_class(a) == "public", fetches)
    piped = tools & (desc["object_kind"] == "pipe")
    piped &= view.desc_where("action", lambda a: "WRITE" in a.upper() or "SEND" in a.upper(), piped)
    read = view.desc_where("subject_name", lambda n: process_category(n) == "shell", among) & (desc["object_kind"] == "pipe")
    read &= view.desc_where("action", lambda a: "READ" in a.upper() or "RECV" in a.upper(), read)
    return fetches, piped, read


def _outside_servers_shells(view: LogView, serving: Callable[[str], bool]) -> tuple[np.ndarray, np.ndarray]:
    """(the connections accepted from public addresses, the starts of shells by the
    processes that accepted them and that ``serving`` keeps): a server's shells."""
    desc = view.desc
    accepts = _accepted(view) & (desc["object_kind"] == "flow")
    accepts &= view.desc_where("object_name", lambda a: view.address_class(a) == "public", accepts)
    servers = {n for n in view.values("subject_name", accepts) - {""} if serving(n)}
    if not servers:
        return accepts, np.zeros_like(accepts)
    starts = view.program_starts & view.desc_in("subject_name", servers)
    return accepts, starts & view.desc_where("object_name", lambda n: process_category(n) == "shell", starts)


def server_shell_runs_fetched_code(view: LogView) -> list[StageEvidence]:
    """A process serving outside addresses (it accepted a connection from a public one: an
    application server, Node.js, a Java or Python service) starting a shell, below which, in
    that minute or the next, a transfer tool (``TRANSFER_TOOLS``) fetches from a public address
    into a pipe a shell reads: ``curl URL | sh`` run through an exploited application (T1190,
    T1105). Servers start shells for their own work (ImageMagick, git); none pipes code
    fetched from outside into one."""
    _, starts = _outside_servers_shells(view, lambda n: process_category(n) != "shell")
    if not starts.any():
        return []
    shells = view.values("object_name", starts)
    fetches, piped, read = _fetched_into_a_shell(view, view.desc_in("subject_name", shells) | descendant_subjects(view, shells))
    if not fetches.any() or not piped.any() or not read.any():
        return []
    start_rows = view.rows_of(starts)
    first = int(view.minutes[start_rows].min())
    parts = [view.rows_of(fetches), view.rows_of(piped), view.rows_of(read)]
    parts = [rows[(view.minutes[rows] >= first) & (view.minutes[rows] <= first + MINUTE_NS)] for rows in parts]
    if not all(len(rows) for rows in parts):
        return []
    reason = (
        f"{_names(view.values('subject_name', starts))}, serving outside addresses, started {_names(shells)}, below which "
        f"{_names(view.values('subject_name', fetches))} fetched from {_names(view.values('object_name', fetches))} (not internal) into a pipe a shell read: "
        "code fetched from outside and run through an exploited application."
    )
    return [cited(view, start_rows, *parts, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1190", "T1105"))]


def dropped_program_calls_home(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know that a download tool, shell or script host
    (``_operator_tool``) wrote after hearing from a public address, and that the subgraph ran,
    opening a connection back to that same address and both sending to and hearing from it:
    the implant calling home to the host that served it (T1071, T1105), however few its
    rounds. A browser's download is left out: a vendor's web installer fetches the rest of
    itself from the server it came from."""
    dropped = {program: name for program, name, _ in dropped_programs(view)}
    if not dropped:
        return []
    desc = view.desc
    flows = view.present & (desc["object_kind"] == "flow")
    flows &= view.desc_where("object_name", lambda a: a not in PLACEHOLDERS and view.address_class(a) == "public", flows)
    if not flows.any():
        return []
    heard = flows & (desc["event"] == "network_in")
    opened, sent, answered = view.pairs(flows & view.desc_in("action", vocabulary().connect_actions)), view.pairs(flows & (desc["event"] == "network_out")), view.pairs(heard)
    # one pass each over the writes, what the writers heard and the programs' own flows (a
    # crafted log may drop thousands of programs)
    written = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_in("object_name", set(dropped))
    first_write: dict[str, dict[str, int]] = {}
    operators: dict[str, bool] = {}  # each writer's category, looked up once
    for row in view.rows_of(written).tolist():
        code = view._codes[row]
        writer = desc["subject_name"][code]
        if writer and writer not in operators:
            operators[writer] = _operator_tool(writer)
        if writer and operators[writer]:
            mine = first_write.setdefault(desc["object_name"][code], {})
            mine[writer] = min(mine.get(writer, int(view.minutes[row])), int(view.minutes[row]))
    if not first_write:
        return []
    heard_by: dict[str, list[tuple[str, int, int]]] = {}
    for row in view.rows_of(heard & view.desc_in("subject_name", {w for ws in first_write.values() for w in ws})).tolist():
        code = view._codes[row]
        heard_by.setdefault(desc["subject_name"][code], []).append((desc["object_name"][code], int(view.minutes[row]), row))
    own_rows: dict[tuple[str, str], list[int]] = {}
    for row in view.rows_of(flows & view.desc_in("subject_name", set(dropped.values()))).tolist():
        code = view._codes[row]
        own_rows.setdefault((desc["subject_name"][code], desc["object_name"][code]), []).append(row)
    out = []
    for program in sorted(first_write):
        name, writers = dropped[program], first_write[program]
        if not _unknown_program(name):
            continue
        served = [(address, row) for writer, first in writers.items() for address, minute, row in heard_by.get(writer, ()) if minute <= first]
        home = {a for a, _ in served if (name, a) in opened and (name, a) in sent and (name, a) in answered}
        if not home:
            continue
        calls = sorted(row for a in home for row in own_rows.get((name, a), ()))
        served_rows = np.array(sorted(row for a, row in served if a in home), dtype=np.int64)
        reason = (
            f"{quoted(name)}, a program the knowledge base does not know, which {_names(set(writers))} wrote after hearing from {_names(home)} and the subgraph ran, "
            f"opened a connection back to {_names(home)} and both sent to and heard from it: the implant calling home to the host that served it."
        )
        out.append(cited(view, served_rows[:3], np.array(calls[:6], dtype=np.int64), stage="Command and Control", confidence="moderate", rationale=reason, tactic="TA0011", techniques=("T1071", "T1105")))
    return out


# distinct discovery tools an application server's shell must run to be taken for commands
# injected through it
SERVER_SHELL_SURVEY_TOOLS = 2


def server_shell_survey(view: LogView) -> list[StageEvidence]:
    """An interpreter or a database server serving outside addresses (it accepted a
    connection from a public one: a Java, Node.js or Python application, PostgreSQL, MySQL;
    not Apache's or PHP's, whose shells ``web_server_shell_discovery`` weighs) starting a
    shell, below which, in that minute or the next, ``SERVER_SHELL_SURVEY_TOOLS`` or more
    distinct discovery tools run: commands injected through the application, or a query's
    ``COPY ... FROM PROGRAM``, surveying the host (T1190, T1059). Applications start shells
    for their own work (ImageMagick, git), a database its archive command, not for id and
    a directory query."""
    desc = view.desc
    # (an application's runtime: an agent answering its server's polls runs its checks
    # through a shell too, and a program the knowledge base does not know that takes
    # connections and runs commands may be the implant itself, a bind shell, not the way in)
    accepts, starts = _outside_servers_shells(view, lambda n: not script_web_server(n) and process_category(n) in ("interpreter", "database server"))
    if not starts.any():
        return []
    shells = view.values("object_name", starts)
    below = view.desc_in("subject_name", shells) | descendant_subjects(view, shells)
    runs = view.program_starts & below
    runs &= view.desc_where("object_name", _discovery_tool, runs)
    if len(view.values("object_name", runs)) < SERVER_SHELL_SURVEY_TOOLS:
        return []
    start_rows = view.rows_of(starts)
    first = int(view.minutes[start_rows].min())
    run_rows = view.rows_of(runs)
    run_rows = run_rows[(view.minutes[run_rows] >= first) & (view.minutes[run_rows] <= first + MINUTE_NS)]
    tools = set(desc["object_name"][view._codes[run_rows]].tolist())
    if len(tools) < SERVER_SHELL_SURVEY_TOOLS:
        return []
    reason = (
        f"{_names(view.values('subject_name', starts))}, serving outside addresses ({_names(view.values('object_name', accepts & view.desc_in('subject_name', view.values('subject_name', starts))))}), "
        f"started {_names(shells)}, below which the discovery tools {_names(tools)} ran in that minute or the next: commands injected through the application surveying the host."
    )
    heard = view.rows_of(accepts & view.desc_in("subject_name", view.values("subject_name", starts)))[:3]
    return [cited(view, heard, start_rows, run_rows, stage="Initial Compromise", confidence="moderate", rationale=reason, tactic="TA0001", techniques=("T1190", "T1059"))]


def cron_job_pipes_remote_code_into_a_shell(view: LogView) -> list[StageEvidence]:
    """A scheduled job that fetches code from outside and runs it, at least
    ``CRON_FETCH_RUNS`` times (T1053.003 with T1105): the job scheduler (``CRON_DAEMONS``)
    starts a shell, and in that minute or the next a transfer tool (``TRANSFER_TOOLS``)
    talks to a public address and writes a pipe that a shell reads: `curl URL | sh` from a
    cron table, however the table got there (crontab(1) is how users schedule their own
    work, so the table's write alone claims nothing). A job that fetches into a file or to
    no shell (a health-check ping, a dynamic DNS update, certbot) is not counted."""
    starts = view.program_starts
    jobs = starts & view.desc_where("subject_name", lambda n: n.casefold() in CRON_DAEMONS, starts)
    jobs &= view.desc_where("object_name", lambda n: process_category(n) == "shell", jobs)
    if not jobs.any():
        return []
    fetches, piped, read = _fetched_into_a_shell(view, view.present)
    if not fetches.any() or not piped.any() or not read.any():
        return []
    minutes = view.minutes
    job_rows = view.rows_of(jobs)
    begin = minutes[job_rows]
    end = begin + MINUTE_NS
    one = np.zeros(len(job_rows), dtype=object)  # every window and row under one key
    parts = [view.rows_of(fetches), view.rows_of(piped), view.rows_of(read)]
    ran = np.ones(len(job_rows), dtype=bool)
    for rows in parts:
        ran &= _windows_meet(one, begin, end, np.zeros(len(rows), dtype=object), rows, minutes)[0]
    runs = set(begin[ran].tolist())
    if len(runs) < CRON_FETCH_RUNS:
        return []
    cited_rows = [job_rows[ran]] + [rows[_windows_meet(one[ran], begin[ran], end[ran], np.zeros(len(rows), dtype=object), rows, minutes)[1]] for rows in parts]
    rows = np.unique(np.concatenate(cited_rows))
    reason = (
        f"The job scheduler ({_names(view.values('subject_name', jobs))}) started a shell in {len(runs)} different minutes, and each time "
        f"{_names(view.values('subject_name', fetches))} fetched from {_names(view.values('object_name', fetches))} (not internal) into a pipe "
        "a shell read: a scheduled job that runs code from outside on every run."
    )
    return [cited(view, rows, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1053.003", "T1105"))]


def cron_reads_planted_table(view: LogView) -> list[StageEvidence]:
    """A job scheduler (``CRON_DAEMONS``) reading a file another process wrote in the
    subgraph, and starting a job within ``CRON_JOB_MINUTES`` of that read: a table written
    straight into its spool (redis made to save its database as /var/spool/cron/crontabs/root,
    T1053.003), under whatever name the log keeps (the user's). Files the knowledge base knows
    are left to the rules that name them (a crontab written, an account added), save that a
    network service writing one on a request is the entry all the same; writers that
    put tables in place as their work are not counted: the crontab and at tools (a user's
    own edit), the scheduler itself, package managers, updaters and management agents."""
    desc = view.desc
    named = view.present & (desc["object_name"] != "") & ~view.desc_in("object_name", PLACEHOLDERS)
    by_daemon = view.desc_where("subject_name", lambda n: n.casefold() in CRON_DAEMONS, view.present)
    if not by_daemon.any():
        return []
    reads = by_daemon & named & (desc["event"] == "file_read")
    jobs = by_daemon & (desc["object_kind"] == "process") & view.desc_in("event", ("process_start", "execute"))
    if not reads.any() or not jobs.any():
        return []
    writes = named & view.desc_in("event", ("file_write", "file_create", "file_rename")) & view.desc_in("object_name", view.values("object_name", reads))
    writes &= view.desc_where(
        "subject_name",
        lambda n: bool(n) and n.casefold() not in CRON_DAEMONS and n not in ("crontab", "at", "batch") and not routine_writer(n) and process_category(n) != "package manager",
        writes,
    )
    if not writes.any():
        return []
    job_rows = view.rows_of(jobs)
    job_minutes = np.sort(view.minutes[job_rows])
    first_write: dict[str, int] = {}
    for at in np.flatnonzero(writes).tolist():
        name = desc["object_name"][at]
        first_write[name] = min(first_write.get(name, int(view.first_minutes[at])), int(view.first_minutes[at]))
    read_rows = view.rows_of(reads & view.desc_in("object_name", first_write))
    hits, tables = [], set()
    for position, name in zip(read_rows.tolist(), desc["object_name"][view._codes[read_rows]].tolist()):
        minute = int(view.minutes[position])
        if minute < first_write[name]:
            continue
        # the scheduler's first job start at or after the read (a search, not a scan)
        at = int(np.searchsorted(job_minutes, minute, side="left"))
        if at < len(job_minutes) and job_minutes[at] - minute <= CRON_JOB_MINUTES * MINUTE_NS:
            hits.append(position)
            tables.add(name)
    if not hits:
        return []
    hits = np.array(hits, dtype=np.int64)
    last_read = int(view.minutes[hits].max())
    started = job_rows[(view.minutes[job_rows] >= int(view.minutes[hits].min())) & (view.minutes[job_rows] <= last_read + CRON_JOB_MINUTES * MINUTE_NS)]
    table_writes = writes & view.desc_in("object_name", tables)
    # a table the knowledge base knows (crontab) is left to the rule that names it; whether a
    # request wrote it is weighed below all the same
    unknown = {t for t in tables if lookup(t, "file") is None}
    found = []
    if unknown:
        unknown_hits = hits[np.isin(desc["object_name"][view._codes[hits]], list(unknown))]
        unknown_writes = table_writes & view.desc_in("object_name", unknown)
        daemons = view.values("subject_name", _descriptions(view, unknown_hits))
        reason = (
            f"{_names(daemons)} read {_names(unknown)}, which {_names(view.values('subject_name', unknown_writes))} wrote in the subgraph, "
            f"and started {_names(view.values('object_name', _descriptions(view, started)))} right after: a job table written into the "
            "scheduler's spool, so that it runs a command on schedule."
        )
        found.append(cited(view, view.rows_of(unknown_writes), unknown_hits, started, stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1053.003",)))
    # a network service writing it on a request (Redis told to save its database as root's
    # crontab): the service exploited, as when it writes an SSH key
    by_request = _written_on_request(view, table_writes)
    if by_request is not None:
        servers, senders, rows = by_request
        entry = (
            f"{_names(servers)} accepted a connection from {_names(senders)} and then wrote {_names(tables)} itself, a job table the scheduler ran: "
            "the request made the service plant a scheduled command (no service writes the scheduler's tables)."
        )
        found.append(_entry_by_request(view, rows, senders, entry))
    return found


# a desktop entry written this close to the hidden program it would start
DESKTOP_ENTRY_MINUTES = 5


def _nearest_gap(a: np.ndarray, b: np.ndarray) -> int:
    """The smallest |x - y| for x in ``a``, y in ``b`` (both non-empty), by a sort and a
    binary search: no matrix of every pair."""
    b = np.sort(b)
    at = np.clip(np.searchsorted(b, a), 1, len(b)) - 1
    gaps = np.abs(a - b[at])
    after = np.minimum(at + 1, len(b) - 1)
    return int(np.minimum(gaps, np.abs(a - b[after])).min())


# a file name's version: the number at the end of its stem (privkey2.pem, state_17.dat)
VERSIONED_NAME = re.compile(r"^(?P<stem>.*[A-Za-z_.-])(?P<version>\d+)(?P<extension>\.[A-Za-z0-9]{1,8})?$")


def _version_key(name: str) -> str | None:
    """The name less its version (``privkey#.pem`` for privkey2.pem and privkey3.pem), for a
    stem of three letters or more; None for a name without one."""
    match = VERSIONED_NAME.match(name)
    if match is None or sum(c.isalpha() for c in match.group("stem")) < 3:
        return None
    return f"{match.group('stem').casefold()}#{(match.group('extension') or '').casefold()}"


def _hidden_program(name: str) -> bool:
    """A name with a leading dot and no extension that the knowledge base does not know as a
    file or a program (``.xsess-sync``): how an implant hides in a home folder."""
    return name.startswith(".") and name.strip(".") != "" and "." not in name[1:] and lookup(name, "file") is None and lookup(name, "process") is None


def _armed_hidden_writes(view: LogView, writers: set[str]) -> np.ndarray:
    """The descriptions of writes, by one of ``writers`` (by name, the unnamed process
    too), of a hidden program (``_hidden_program``) that was then made executable (``chmod``
    acting on it, a change of its mode) or run."""
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & (desc["object_kind"] == "file")
    hidden = writes & view.desc_in("subject_name", writers)
    hidden &= view.desc_where("object_name", _hidden_program, hidden)
    if not hidden.any():
        return hidden
    return hidden & view.desc_in("object_name", view.values("object_name", _arming(view, view.values("object_name", hidden))))


def _armed_copies_of_unknown_programs(view: LogView, writers: set[str]) -> tuple[np.ndarray, set[str]]:
    """The descriptions of writes, by a local copy tool (``local_copier``: cp) among
    ``writers``, of a file copied in a minute that copier read a hidden program
    (``_hidden_program``) or a program that runs in the subgraph and the knowledge base does
    not know (an implant copying its own image under a service's name), the copy then made
    executable or run; and the programs read. A copy of a known program, or of a file that
    never runs here, is an administrator's."""
    desc = view.desc
    copiers = {w for w in writers if local_copier(w)}
    none = np.zeros(len(desc["event"]), dtype=bool)
    if not copiers:
        return none, set()
    by_copiers = view.present & view.desc_in("subject_name", copiers) & (desc["object_kind"] == "file")
    running = view.subjects - PLACEHOLDERS
    reads = by_copiers & (desc["event"] == "file_read")
    reads &= view.desc_where("object_name", lambda n: _hidden_program(n) or (n in running and lookup(n, "process") is None), reads)
    if not reads.any():
        return none, set()
    writes = by_copiers & view.desc_in("event", ("file_write", "file_create")) & ~view.desc_in("object_name", PLACEHOLDERS | view.values("object_name", reads))
    first, _ = _first_minutes_where(view, writes, _minutes_by_subject(view, reads))
    if not first:
        return none, set()
    copies = writes & view.desc_in("object_name", set(first))
    copies &= view.desc_in("object_name", view.values("object_name", _arming(view, set(first))))
    sources = view.values("object_name", reads & view.desc_in("subject_name", view.values("subject_name", copies)))
    return copies, sources


def _arming(view: LogView, names: set[str]) -> np.ndarray:
    """The descriptions making one of the files ``names`` executable (``chmod`` acting on it,
    a change of its mode) or running it."""
    on = view.present & view.desc_in("object_name", names)
    return on & (view.desc_in("subject_name", {"chmod"}) | view.desc_in("event", ("file_attribute", "execute", "process_start")))


def _near_in_time(view: LogView, first: np.ndarray, second: np.ndarray, minutes: int) -> np.ndarray:
    """``first`` | ``second`` (masks over descriptions), kept only for the writers (subject
    names) that have descriptions of both within ``minutes`` of each other, by each
    description's first minute; from one pass over each mask (not one per writer: a crafted
    log of many writers costs no more)."""
    desc = view.desc
    by_writer: dict[str, tuple[list[int], list[int]]] = {}
    for side, mask in enumerate((first, second)):
        for at in np.flatnonzero(mask).tolist():
            by_writer.setdefault(desc["subject_name"][at], ([], []))[side].append(at)
    found = np.zeros(len(first), dtype=bool)
    for one, other in by_writer.values():
        if one and other and _nearest_gap(view.first_minutes[one], view.first_minutes[other]) <= minutes * MINUTE_NS:
            found[one + other] = True
    return found


def desktop_entry_for_hidden_program(view: LogView) -> list[StageEvidence]:
    """A desktop entry (``.desktop``) written by the process (by name, the log's unnamed
    process too) that, within ``DESKTOP_ENTRY_MINUTES``, wrote a program with a hidden name
    (a leading dot) the knowledge base does not know and made it executable or ran it
    (``_armed_hidden_writes``): an autostart entry for a hidden program (T1547.013).
    Installers and applications write desktop entries for their own launchers, which are not
    hidden; the ``persistence-xdg-autostart-acting`` pattern rule weighs entries an attack
    chain writes."""
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & (desc["object_kind"] == "file")
    entries = writes & view.desc_where("object_name", lambda n: n.casefold().endswith(".desktop"), writes)
    if not entries.any():
        return []
    hidden = _armed_hidden_writes(view, view.values("subject_name", entries))
    if not hidden.any():
        return []
    found = _near_in_time(view, entries, hidden, DESKTOP_ENTRY_MINUTES)
    if not found.any():
        return []
    found_entries, found_hidden = found & entries, found & hidden
    armed = _arming(view, view.values("object_name", found_hidden))
    who = _who(view.values("subject_name", found_entries))
    reason = (
        f"{who[:1].upper()}{who[1:]} wrote the desktop entry {_names(view.values('object_name', found_entries))} and, within "
        f"{DESKTOP_ENTRY_MINUTES} minutes, {_names(view.values('object_name', found_hidden))}, a program with a hidden name that the "
        "knowledge base does not know, made executable or run: an entry the desktop session starts at login when it lies in an "
        "autostart folder, for a hidden program."
    )
    return [cited(view, view.rows_of(found_entries | found_hidden | armed), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1547.013",))]


# a SysV runlevel link (S20name, K80name): the service the link starts or stops at boot
RUNLEVEL_LINK = re.compile(r"^[SK]\d\d(?P<service>[A-Za-z][\w.-]*)$")


def init_script_planted_by_unknown_program(view: LogView) -> list[StageEvidence]:
    """A boot service registered for a script planted here: runlevel links (``S20NAME``,
    ``K20NAME``, as update-rc.d, chkconfig and insserv write them) for a service whose script
    ``NAME`` a named process wrote in the subgraph, where that writer is a program the
    knowledge base does not know or was started, directly or further up, by one (an
    implant's shell writing the script and running update-rc.d): its start at every boot
    (T1037.004, T1543.002). OCR-APT keeps basenames, so the script's place (/etc/init.d) is
    read from the links that name it. A package's script, or an administrator's, is written
    by a package manager or under known programs only."""
    desc = view.desc
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & (desc["object_kind"] == "file")
    links = writes & view.desc_where("object_name", lambda n: RUNLEVEL_LINK.match(n) is not None, writes)
    if not links.any():
        return []
    services = {RUNLEVEL_LINK.match(n).group("service") for n in view.values("object_name", links)}
    scripts = writes & view.desc_in("object_name", services) & (desc["subject_name"] != "")

    def planted_by_unknown(writer: str) -> bool:
        if process_category(writer) == "package manager":
            return False
        return _unknown(writer) or any(n not in PLACEHOLDERS and _unknown(n) for n in launchers_above(view, writer))

    scripts &= view.desc_where("subject_name", planted_by_unknown, scripts)
    if not scripts.any():
        return []
    planted = view.values("object_name", scripts)
    links &= view.desc_where("object_name", lambda n: RUNLEVEL_LINK.match(n).group("service") in planted, links)
    writers = view.values("subject_name", scripts)
    above = {n for w in writers for n in launchers_above(view, w) if n not in PLACEHOLDERS and _unknown(n)}
    reason = (
        f"{_who(writers)} wrote {_names(planted)}, and the runlevel links {_names(view.values('object_name', links))} were written for it: "
        f"a script started at every boot, planted by "
        + (f"a process that {_names(above)}, a program the knowledge base does not know, started" if above else "a program the knowledge base does not know")
        + "."
    )
    return [cited(view, view.rows_of(scripts | links), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1037.004", "T1543.002"))]


def _runs_of_writing_tools(view: LogView, tools: frozenset[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """The descriptions starting one of ``tools`` (names, case-folded) that the log shows
    writing, and those tools' writes (a job table, rc.conf); None where there are none."""
    starts = view.present & view.desc_in("event", ("process_start", "execute"))
    starts &= view.desc_where("object_name", lambda n: n.casefold() in tools, starts)
    if not starts.any():
        return None
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    writes &= view.desc_where("subject_name", lambda n: n.casefold() in tools, writes)
    if not writes.any():
        return None
    starts &= view.desc_in("object_name", view.values("subject_name", writes))
    return starts, writes


def _started_near_hidden_programs(view: LogView, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, set[str]] | None:
    """Of ``starts`` (a tool's starts), those whose starter (by name), itself or through a
    program it ran (its ``fetch`` or ``wget`` saving the download), within
    ``DESKTOP_ENTRY_MINUTES`` wrote a program with a hidden name the knowledge base does not
    know that was made executable or run (``_armed_hidden_writes``), or its cp's copy of a
    hidden program or of an unknown program running here (``_armed_copies_of_unknown_programs``);
    and those writes, the copies among all such writes and the programs copied. None where no
    start is. Each description read once, whatever the number of starters."""
    desc = view.desc
    starters = view.values("subject_name", starts)
    # each starter's own programs (by name), from one pass over the program starts
    children: dict[str, set[str]] = {}
    for parent, child in view.pairs(view.program_starts & view.desc_in("subject_name", starters)):
        children.setdefault(parent, set()).add(child)
    writers_of = {starter: {starter} | children.get(starter, set()) for starter in starters}
    writers = set().union(*writers_of.values())
    copies, sources = _armed_copies_of_unknown_programs(view, writers)
    hidden = _armed_hidden_writes(view, writers) | copies
    if not hidden.any():
        return None
    hidden_by_writer: dict[str, list[int]] = {}
    for at in np.flatnonzero(hidden).tolist():
        hidden_by_writer.setdefault(desc["subject_name"][at], []).append(at)
    window = DESKTOP_ENTRY_MINUTES * MINUTE_NS
    found_starts, found_hidden = np.zeros(len(hidden), dtype=bool), np.zeros(len(hidden), dtype=bool)
    for at in np.flatnonzero(starts).tolist():
        minute = int(view.first_minutes[at])
        near = [w for writer in writers_of[desc["subject_name"][at]] for w in hidden_by_writer.get(writer, ()) if abs(int(view.first_minutes[w]) - minute) <= window]
        if near:
            found_starts[at] = True
            found_hidden[near] = True
    if not found_starts.any():
        return None
    return found_starts, found_hidden, copies, sources


def _hidden_programs_text(view: LogView, found_hidden: np.ndarray, copies: np.ndarray, sources: set[str]) -> str:
    """``_started_near_hidden_programs``' programs in words: the hidden ones, and the copies
    with what they were copied from."""
    programs = []
    if (found_hidden & ~copies).any():
        programs.append(f"{_names(view.values('object_name', found_hidden & ~copies))}, a program with a hidden name that the knowledge base does not know")
    if (found_hidden & copies).any():
        programs.append(f"{_names(view.values('object_name', found_hidden & copies))}, copied from {_names(sources)}, a hidden program or one running here that the knowledge base does not know")
    return "; and ".join(programs)


def job_table_for_hidden_program(view: LogView) -> list[StageEvidence]:
    """``crontab`` (or ``at``) started, and installing a table, by a process (by name, the
    log's unnamed process too) that within ``DESKTOP_ENTRY_MINUTES`` wrote a program with a
    hidden name the knowledge base does not know, itself or through a program it ran (its
    ``wget`` saving the download), that was made executable or run, or copied one
    (``_started_near_hidden_programs``): a scheduled job for a hidden program (T1053.003). A
    user's own crontab edit installs jobs for scripts and programs under ordinary names; at
    or batch queuing a job once (``one_shot_jobs_not_rearmed``) defers a run, no more."""
    # (not a one-shot job tool queuing a job once, at or batch that no job re-runs: deferred
    # execution, not a job made to come back)
    runs = _runs_of_writing_tools(view, JOB_TABLE_TOOLS - one_shot_jobs_not_rearmed(view))
    if runs is None:
        return []
    starts, installs = runs
    found = _started_near_hidden_programs(view, starts)
    if found is None:
        return []
    found_starts, found_hidden, copies, sources = found
    tools = view.values("object_name", found_starts)
    installed = installs & view.desc_in("subject_name", tools)
    who = _who(view.values("subject_name", found_starts))
    reason = (
        f"{who[:1].upper()}{who[1:]} ran {_names(tools)}, which installed a job table ({_names(view.values('object_name', installed))}), "
        f"within {DESKTOP_ENTRY_MINUTES} minutes of {_hidden_programs_text(view, found_hidden, copies, sources)}, being written by it or a program it ran and made executable or run: "
        "a scheduled job for a hidden program."
    )
    armed = _arming(view, view.values("object_name", found_hidden))
    return [cited(view, view.rows_of(found_starts | found_hidden | armed | installed), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1053.003",))]


# the init systems' tools that enable a service at boot (their own runs are the
# service-manager-tool mechanism's routine)
BOOT_SERVICE_TOOLS = frozenset({"sysrc", "update-rc.d", "chkconfig", "insserv", "rc-update"})


def boot_service_for_hidden_program(view: LogView) -> list[StageEvidence]:
    """An init system's tool that enables a service at boot (``sysrc``, ``update-rc.d``:
    ``BOOT_SERVICE_TOOLS``) started, and writing its configuration (rc.conf, runlevel links),
    by a process (by name) that within ``DESKTOP_ENTRY_MINUTES`` wrote a program with a hidden
    name the knowledge base does not know, itself or through a program it ran (its ``fetch``
    saving the download), that was made executable or run (``_armed_hidden_writes``), or its
    cp's copy of a hidden program or of an unknown program running here, as an implant copies
    its own image under a service's name (``_armed_copies_of_unknown_programs``): a boot
    service for a hidden or unknown program (T1543.002, T1037.004), as
    ``job_table_for_hidden_program`` reads a job table. An administrator enables services for
    programs under ordinary names that no unknown program's copy made.
    Each description read once, whatever the number of starters."""
    runs = _runs_of_writing_tools(view, BOOT_SERVICE_TOOLS)
    if runs is None:
        return []
    starts, enables = runs
    found = _started_near_hidden_programs(view, starts)
    if found is None:
        return []
    found_starts, found_hidden, copies, sources = found
    tools = view.values("object_name", found_starts)
    enabled = enables & view.desc_in("subject_name", tools)
    who = _who(view.values("subject_name", found_starts))
    reason = (
        f"{who[:1].upper()}{who[1:]} ran {_names(tools)}, which enabled a service at boot ({_names(view.values('object_name', enabled))}), "
        f"within {DESKTOP_ENTRY_MINUTES} minutes of {_hidden_programs_text(view, found_hidden, copies, sources)}, being written by it or a program it ran and made executable or run: "
        "a boot service for a hidden or unknown program."
    )
    armed = _arming(view, view.values("object_name", found_hidden))
    return [cited(view, view.rows_of(found_starts | found_hidden | armed | enabled), stage="Maintain Persistence", confidence="moderate", rationale=reason, tactic="TA0003", techniques=("T1543.002", "T1037.004"))]


# The account databases only root may read, and the programs that read them by their own
# privilege (setuid, or a root daemon), whoever runs them: the pattern rule
# ``credential-access-shadow-read``'s own objects and filter, read from it, not copied


def _password_checkers() -> frozenset[str]:
    rule = builtin_rule("credential-access-shadow-read")
    return frozenset(n.casefold() for block in rule.filter for n in block.get("subject") or ())


# the account databases only root may write (the password, shadow and group files, BSD's
# master password file, sudo's policy), read without the "+" and "-" of the tools' temporary
# and backup copies
ROOT_WRITTEN_ACCOUNT_FILES = (ACCOUNT_DATABASE - {"spwd.db", "pwd.db"}) | {"sudoers"}
# how soon after an unknown program starts a shell that shell's read of a root-only store
# counts as the privilege that program gave it
ROOT_SHELL_MINUTES = 5
# the run-as tools: a shell one starts runs with the privilege it grants (su, pkexec besides
# sudo and doas), whether it follows an exploit's overwrite or is the user's own
RUN_AS_LOGINS = RUN_AS_TOOLS | {"su", "pkexec"}


# the launchers whose programs run with privilege already: the run-as tools, the job
# schedulers and init
ELEVATED_LAUNCHERS = RUN_AS_LOGINS | CRON_DAEMONS | {"systemd", "init"}


def _launched_elevated(view: LogView, program: str) -> bool:
    """Whether a run-as tool, job scheduler or init (``ELEVATED_LAUNCHERS``) is among the
    program's launchers (by name, over the whole log, from one map of launchers): what it
    starts runs with privilege it did not gain."""
    return any(a.casefold() in ELEVATED_LAUNCHERS for a in launchers_above(view, program))


def _exploit_programs(view: LogView) -> set[str]:
    """The programs the knowledge base does not know that the log shows at a local exploit's
    work: reading the kernel's symbol table (``_kernel_symbol_readers``), mapping a file
    and writing their own memory through procfs (``memory_racers``: the Dirty COW race), or
    changing their own user identity (``privilege_change``: root taken)."""
    from .patterns import memory_racers

    found = set(_kernel_symbol_readers(view))
    desc = view.desc
    found |= {n for n in view.values("subject_name", view.present & (desc["event"] == "privilege_change")) if _unknown_program(n)}
    racing = view.present & (((desc["event"] == "file_write") & view.desc_where("object_name", lambda n: n.casefold() == "mem")) | ((desc["event"] == "module_load") & (desc["object_kind"] == "file") & view.desc_in("action", ("MMAP",))))
    if racing.any():
        found |= {subject for subject, _ in memory_racers(view.pattern_rows[at] for at in np.flatnonzero(racing).tolist()) if _unknown_program(subject)}
    return found


def _kernel_symbol_readers(view: LogView) -> set[str]:
    """The programs the knowledge base does not know that read the kernel's symbol table
    (``_kernel_symbol_table``): where a kernel exploit looks up the addresses it overwrites
    (commit_creds), which nothing but debuggers and tracers read."""
    def compute() -> set[str]:
        desc = view.desc
        reads = view.present & (desc["event"] == "file_read")
        reads &= view.desc_where("object_name", _kernel_symbol_table, reads)
        return {n for n in view.values("subject_name", reads) if _unknown_program(n)}

    return view.derived("_kernel_symbol_readers", compute)


def _kernel_symbol_table(name: str) -> bool:
    """The knowledge base's ``kernel symbol table`` (kallsyms), or a build's ``System.map-VERSION``."""
    return name.startswith("System.map-") or getattr(lookup(name, "file"), "category", None) == "kernel symbol table"


def exploit_gives_root_shell(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know starting (or exec'ing into) a shell that,
    itself or through a command it runs (``cat``, ``cp``, ``useradd``), within
    ``ROOT_SHELL_MINUTES`` reads an account database only root may read (``shadow``,
    ``master.passwd``) or writes one only root may write (``ROOT_WRITTEN_ACCOUNT_FILES``): a
    local exploit handing its caller a root shell (T1068). Not where the program itself runs with
    privilege already: a run-as tool (sudo, su, pkexec, doas) or a job scheduler or init
    among its launchers; a run-as tool starting the shell is a known program; a shell that
    reads only world-readable files (``passwd``) shows no privilege."""
    desc = view.desc
    runs = view.present & view.desc_in("event", ("process_start", "execute")) & view.desc_in("object_kind", ("process", "file"))
    starts = runs & view.desc_where("object_name", lambda n: process_category(n) == "shell", runs)
    starts &= view.desc_where("subject_name", lambda n: n not in PLACEHOLDERS and n != "" and lookup(n, "process") is None and process_category(n) != "shell", starts)
    if not starts.any():
        return []
    # the exploit's shape: a shell ran the program (the user's, or an intruder's), which
    # soon started a shell of its own; an implant already running whose start the log does
    # not show may hold root already (its shell reading shadow is credential access)
    run_by_shell = runs & view.desc_in("object_name", view.values("subject_name", starts))
    # or by a process the log does not name (TRACE often leaves the user's shell unnamed),
    # where the program was written in the subgraph (an exploit built or fetched, then run)
    # or read the kernel's symbol table (where a kernel exploit finds what it overwrites)
    shown_exploits = view.values("object_name", view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")))
    shown_exploits |= _kernel_symbol_readers(view)
    unnamed_runs = run_by_shell & (desc["subject_name"] == "") & view.desc_in("object_name", shown_exploits)
    run_by_shell &= view.desc_where("subject_name", lambda n: process_category(n) == "shell", run_by_shell)
    run_by_shell |= unnamed_runs
    first_run: dict[str, int] = {}
    for position, program in zip(view.rows_of(run_by_shell).tolist(), desc["object_name"][view._codes[view.rows_of(run_by_shell)]].tolist()):
        first_run[program] = min(first_run.get(program, int(view.minutes[position])), int(view.minutes[position]))
    starts &= view.desc_in("subject_name", set(first_run))
    if not starts.any():
        return []
    shells = view.values("object_name", starts)
    # the shells' commands (by name: what a shell started or exec'd) read for them; not the
    # programs that read the store by their own privilege (sudo, su, passwd: setuid)
    commands = runs & view.desc_in("subject_name", shells) & ~view.desc_in("object_name", shells | PLACEHOLDERS)
    commands &= ~view.desc_where("object_name", privileged_loader, commands)
    command_of = _rows_by_key(desc["object_name"][view._codes[view.rows_of(commands)]].tolist(), view.rows_of(commands))
    # the account tools read the store as their work (a user's own passwd, setuid, among
    # them): their reads show nothing, but only root's run of one writes the database
    checkers = _password_checkers()
    readers = shells | {n for n in command_of if n.casefold() not in checkers}
    reads = view.present & (desc["event"] == "file_read") & (desc["object_kind"] == "file")
    stores = root_only_stores()
    reads &= view.desc_where("object_name", lambda n: n.casefold() in stores, reads) & view.desc_in("subject_name", readers)
    # or writes an account database only root may write (useradd's passwd+ renamed over
    # passwd: an account added from the shell the exploit gave)
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename")) & (desc["object_kind"] == "file")
    writes &= view.desc_where("object_name", lambda n: n.casefold().rstrip("+-") in ROOT_WRITTEN_ACCOUNT_FILES, writes)
    writes &= view.desc_in("subject_name", shells | set(command_of))
    reads |= writes
    if not reads.any():
        return []
    start_rows, read_rows = view.rows_of(starts), view.rows_of(reads)
    start_minutes = view.minutes[start_rows]
    order = np.argsort(start_minutes, kind="stable")
    start_rows, start_minutes = start_rows[order], start_minutes[order]
    launched: dict[str, bool] = {}

    def launched_elevated(program: str) -> bool:
        """``_launched_elevated``, once per program."""
        if program not in launched:
            launched[program] = _launched_elevated(view, program)
        return launched[program]

    hits_start, hits_read = [], []
    for position in read_rows.tolist():
        minute = int(view.minutes[position])
        # the latest shell start at or before the read, within the window; a command's read
        # counts where the shell ran it at or after that start
        at = int(np.searchsorted(start_minutes, minute, side="right")) - 1
        if at < 0 or minute - int(start_minutes[at]) > ROOT_SHELL_MINUTES * MINUTE_NS:
            continue
        reader = desc["subject_name"][view._codes[position]]
        if reader not in shells and not (view.minutes[command_of.get(reader, start_rows[:0])] >= start_minutes[at]).any():
            continue
        lo = int(np.searchsorted(start_minutes, minute - ROOT_SHELL_MINUTES * MINUTE_NS, side="left"))
        started = start_rows[lo : at + 1]
        started = started[np.fromiter(
            (0 <= int(view.minutes[r]) - first_run[n] <= ROOT_SHELL_MINUTES * MINUTE_NS for r, n in zip(started.tolist(), desc["subject_name"][view._codes[started]].tolist())),
            dtype=bool, count=len(started),
        )]
        if not len(started):
            continue
        exploits = set(desc["subject_name"][view._codes[started]].tolist())
        if any(launched_elevated(e) for e in exploits):
            continue
        hits_read.append(position)
        hits_start.append(started)
    if not hits_read:
        return []
    started, read = np.unique(np.concatenate(hits_start)), np.array(hits_read, dtype=np.int64)
    exploits = set(desc["subject_name"][view._codes[started]].tolist())
    shell_names = set(desc["object_name"][view._codes[started]].tolist())
    wrote = writes[view._codes[read]]
    readers = set(desc["subject_name"][view._codes[read]].tolist()) - shell_names
    via = f" (through {_names(readers)}, which it ran)" if readers else ""
    did = []
    if (~wrote).any():
        did.append(f"read {_names(set(desc['object_name'][view._codes[read[~wrote]]].tolist()))}, an account database only root may read")
    if wrote.any():
        did.append(f"wrote {_names(set(desc['object_name'][view._codes[read[wrote]]].tolist()))}, an account database only root may write")
    reason = (
        f"{_names(exploits)}, a program the knowledge base does not know, started {_names(shell_names)}, which then{via} "
        f"{' and '.join(did)}: a local exploit handing its caller a root shell."
    )
    ran = commands & view.desc_in("object_name", readers)
    return [cited(view, started, read, view.rows_of(ran)[:3], stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1068",))]



def kernel_symbols_then_shell(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know reading the kernel's symbol table
    (``_kernel_symbol_readers``: where a kernel exploit looks up commit_creds and the other
    addresses it overwrites) and, within ``ROOT_SHELL_MINUTES``, starting a shell: a kernel
    exploit handing its caller a root shell (T1068), whatever the shell does next. Not where
    the program already runs with privilege (a run-as tool, a job scheduler or init among its
    launchers); nor where the log does not show the program start (an implant already
    running may hold root already: its shell's reads are credential access). Debuggers and
    tracers, which read the table too, are known programs and start no shell."""
    desc = view.desc
    # shells started by programs the knowledge base does not know, first: most logs have none
    runs = view.present & view.desc_in("event", ("process_start", "execute")) & view.desc_in("object_kind", ("process", "file"))
    starts = runs & view.desc_where("object_name", lambda n: process_category(n) == "shell", runs)
    starts &= view.desc_where("subject_name", lambda n: n not in PLACEHOLDERS and n != "" and _unknown_program(n), starts)
    if not starts.any():
        return []
    readers = _kernel_symbol_readers(view) & view.values("subject_name", starts)
    if not readers:
        return []
    # the program's own start shown: something started or exec'd it
    readers &= view.values("object_name", runs & view.desc_in("object_name", readers) & ~view.desc_in("subject_name", readers))
    if not readers:
        return []
    reads = view.present & (desc["event"] == "file_read") & view.desc_in("subject_name", readers)
    reads &= view.desc_where("object_name", _kernel_symbol_table, reads)
    starts &= view.desc_in("subject_name", readers)
    first_read: dict[str, int] = {}
    read_rows = view.rows_of(reads)
    for position, who in zip(read_rows.tolist(), desc["subject_name"][view._codes[read_rows]].tolist()):
        first_read[who] = min(first_read.get(who, int(view.minutes[position])), int(view.minutes[position]))
    start_rows = view.rows_of(starts)
    keep = np.fromiter(
        (0 <= m - first_read[w] <= ROOT_SHELL_MINUTES * MINUTE_NS for w, m in zip(desc["subject_name"][view._codes[start_rows]].tolist(), view.minutes[start_rows].tolist())),
        dtype=bool, count=len(start_rows),
    )
    start_rows = start_rows[keep]
    exploits = {w for w in set(desc["subject_name"][view._codes[start_rows]].tolist()) if not _launched_elevated(view, w)}
    start_rows = start_rows[np.isin(desc["subject_name"][view._codes[start_rows]], list(exploits))] if exploits else start_rows[:0]
    if not len(start_rows):
        return []
    read_rows = read_rows[np.isin(desc["subject_name"][view._codes[read_rows]], list(exploits))]
    reason = (
        f"{_names(exploits)}, a program the knowledge base does not know, read {_names(set(desc['object_name'][view._codes[read_rows]].tolist()))}, "
        f"the kernel's symbol table, and within {ROOT_SHELL_MINUTES} minutes started {_names(set(desc['object_name'][view._codes[start_rows]].tolist()))}: "
        "a kernel exploit looking up the addresses it overwrites and handing its caller a root shell."
    )
    return [cited(view, read_rows, start_rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1068",))]


def run_as_binary_tampered_then_shell(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know reading or writing the file of a setuid
    run-as tool (``RUN_AS_LOGINS``: su, sudo, pkexec, doas) and then running that tool,
    within ``ROOT_SHELL_MINUTES``, which starts a shell within as many minutes: an exploit
    overwriting the setuid binary's page cache (Dirty Pipe splicing into su) and running it
    for a root shell (T1068). A user runs su from a shell, which never reads su's file
    first; a program a run-as tool, job scheduler or init started (``_launched_elevated``)
    has its privilege already."""
    desc = view.desc
    touched = view.present & view.desc_in("event", ("file_read", "file_write")) & (desc["object_kind"] == "file")
    touched &= view.desc_where("object_name", lambda n: n.casefold() in RUN_AS_LOGINS, touched)
    touched &= view.desc_where("subject_name", lambda n: n not in PLACEHOLDERS and n != "" and _unknown_program(n), touched)
    # not a program a run-as tool, job scheduler or init started: it runs with that
    # privilege already, and running su gains it nothing (as for the other root-shell rules)
    touched &= view.desc_where("subject_name", lambda n: not _launched_elevated(view, n), touched)
    if not touched.any():
        return []
    runs = view.present & view.desc_in("event", ("execute", "process_start")) & view.desc_in("object_kind", ("file", "process"))
    # run by the process that touched its file
    pairs = set(zip(desc["subject_name"][touched].tolist(), desc["object_name"][touched].tolist()))
    runs &= view.pattern_flags(lambda r: (r.subject, r.object) in pairs, runs)
    if not runs.any():
        return []
    tools = view.values("object_name", runs)
    shells = view.present & view.desc_in("event", ("process_start", "execute")) & view.desc_in("subject_name", tools)
    shells &= view.desc_where("object_name", lambda n: process_category(n) == "shell", shells)
    if not shells.any():
        return []
    touch_rows, run_rows, shell_rows = view.rows_of(touched), view.rows_of(runs), view.rows_of(shells)
    window = ROOT_SHELL_MINUTES * MINUTE_NS
    first_touch = int(view.minutes[touch_rows].min())
    run_rows = run_rows[(view.minutes[run_rows] >= first_touch) & (view.minutes[run_rows] - first_touch <= window)]
    if not len(run_rows):
        return []
    first_run = int(view.minutes[run_rows].min())
    shell_rows = shell_rows[(view.minutes[shell_rows] >= first_run) & (view.minutes[shell_rows] - first_run <= window)]
    if not len(shell_rows):
        return []
    exploits = set(desc["subject_name"][view._codes[run_rows]].tolist())
    reason = (
        f"{_names(exploits)}, a program the knowledge base does not know, read or wrote the file of {_names(tools)}, a setuid run-as tool, "
        f"then ran it, and it started {_names(set(desc['object_name'][view._codes[shell_rows]].tolist()))} within {ROOT_SHELL_MINUTES} minutes: "
        "an exploit overwriting the setuid binary (as Dirty Pipe does) and running it for a root shell."
    )
    return [cited(view, touch_rows, run_rows, shell_rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1068",))]


def _opened_while_racing_memory(view: LogView) -> np.ndarray:
    """The descriptions of a program the knowledge base does not know opening or reading an
    account database only root may write (``ROOT_WRITTEN_ACCOUNT_FILES``) in a minute in
    which it writes to memory and changes memory protection again and again (the log's
    memory objects): the race Dirty COW runs on the file's read-only mapping, where the log
    records the mapping as anonymous memory rather than as the file."""
    desc = view.desc
    opens = view.present & (desc["object_kind"] == "file") & (view.desc_in("event", ("file_read",)) | view.desc_in("action", ("OPEN",)))
    opens &= view.desc_where("object_name", lambda n: n.casefold() in ROOT_WRITTEN_ACCOUNT_FILES, opens)
    opens &= view.desc_where("subject_name", _unknown_program, opens)
    if not opens.any():
        return opens
    memory = view.present & (desc["object_kind"] == "memory") & view.desc_in("subject_name", view.values("subject_name", opens))
    writes = memory & ((desc["event"] == "file_write") | view.desc_in("action", ("WRITE",)))
    protects = memory & (desc["event"] == "memory_protect")
    if not writes.any() or not protects.any():
        return np.zeros(len(opens), dtype=bool)
    # (subject, minute) of each memory write, once; then each protection change looked up
    write_rows = view.rows_of(writes)
    wrote = set(zip(desc["subject_name"][view._codes[write_rows]].tolist(), view.minutes[write_rows].tolist()))
    protected = view.rows_of(protects)
    # again and again: in a minute it also wrote, more than once (the race's threads)
    racing = {
        subject
        for subject, minute, count in zip(desc["subject_name"][view._codes[protected]].tolist(), view.minutes[protected].tolist(), view.counts[protected].tolist())
        if count >= RACE_PROTECTS and (subject, minute) in wrote
    }
    return opens & view.desc_in("subject_name", racing)


# memory-protection changes in one minute that make a race: more than one (the log counts seconds)
RACE_PROTECTS = 2


def mapped_account_database_then_root_login(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know mapping into its memory an account
    database only root may write (``ROOT_WRITTEN_ACCOUNT_FILES``: passwd, sudoers), then,
    within ``ROOT_SHELL_MINUTES`` of that, a run-as tool (su, sudo, doas, pkexec) starting a
    shell: the Dirty COW exploit racing writes into the file it mapped read-only (a root
    account without a password added to passwd) and the root login that gives (T1068),
    however the log records the race itself. Programs read these databases through the C
    library; what maps one is racing the page cache (``memory_racers`` reads the race where
    the log names procfs' ``mem``)."""
    desc = view.desc
    maps = view.present & (desc["event"] == "module_load") & (desc["object_kind"] == "file") & view.desc_in("action", ("MMAP",))
    maps &= view.desc_where("object_name", lambda n: n.casefold() in ROOT_WRITTEN_ACCOUNT_FILES, maps)
    maps &= view.desc_where("subject_name", _unknown_program, maps)
    raced = _opened_while_racing_memory(view)
    how = "mapped {} into its memory" if maps.any() else "opened {} while racing writes and protection changes on its memory"
    maps |= raced
    if not maps.any():
        return []
    logins = view.present & view.desc_in("event", ("process_start", "execute")) & view.desc_in("object_kind", ("process", "file"))
    logins &= view.desc_where("subject_name", lambda n: n.casefold() in RUN_AS_LOGINS, logins)
    logins &= view.desc_where("object_name", lambda n: process_category(n) == "shell", logins)
    if not logins.any():
        return []
    map_rows, login_rows = view.rows_of(maps), view.rows_of(logins)
    first_map = int(view.minutes[map_rows].min())
    login_minutes = view.minutes[login_rows].astype(np.int64)
    after = login_rows[(login_minutes >= first_map) & (login_minutes - first_map <= ROOT_SHELL_MINUTES * MINUTE_NS)]
    if not len(after):
        return []
    mappers = view.values("subject_name", maps)
    databases = view.values("object_name", maps)
    tools = set(desc["subject_name"][view._codes[after]].tolist())
    shells = set(desc["object_name"][view._codes[after]].tolist())
    reason = (
        f"{_names(mappers)}, a program the knowledge base does not know, {how.format(_names(databases))}, an account "
        f"database only root may write, and within {ROOT_SHELL_MINUTES} minutes {_names(tools)} started {_names(shells)}: "
        "a kernel exploit overwriting the database through the mapping (as Dirty COW does) and the root login it gives."
    )
    return [cited(view, map_rows, after, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1068",))]


# how soon after the injector opened it the SYSTEM process's shell or outside connection
# counts as the injected code's doing
INJECTION_ACT_MINUTES = 10


# how soon after opening a SYSTEM process a shell it starts runs under the token it took
TOKEN_USE_MINUTES = 2


def _operator_tools_started_soon_after(view: LogView, triggers: np.ndarray, minutes: int) -> tuple[np.ndarray, np.ndarray, set[str]] | None:
    """(the trigger rows, the start rows, the processes) where a process of ``triggers``
    (descriptions: an open of a SYSTEM process, an accept on loopback) started a shell,
    interpreter or admin tool (``OPERATOR_TOOLS``) within ``minutes`` of its first trigger, by
    name; None when none did."""
    desc = view.desc
    starts = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process") & view.desc_in("subject_name", view.values("subject_name", triggers))
    starts &= view.desc_where("object_name", lambda n: process_category(n) in OPERATOR_TOOLS, starts)
    if not starts.any():
        return None
    trigger_rows, start_rows = view.rows_of(triggers), view.rows_of(starts)
    first: dict[str, int] = {}
    for position, who in zip(trigger_rows.tolist(), desc["subject_name"][view._codes[trigger_rows]].tolist()):
        first[who] = min(first.get(who, int(view.minutes[position])), int(view.minutes[position]))
    keep = np.fromiter(
        (
            w in first and first[w] <= m <= first[w] + minutes * MINUTE_NS
            for w, m in zip(desc["subject_name"][view._codes[start_rows]].tolist(), view.minutes[start_rows].tolist())
        ),
        dtype=bool, count=len(start_rows),
    )
    start_rows = start_rows[keep]
    if not len(start_rows):
        return None
    used = set(desc["subject_name"][view._codes[start_rows]].tolist())
    return trigger_rows[np.isin(desc["subject_name"][view._codes[trigger_rows]], list(used))], start_rows, used


def local_server_then_shell(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know, that the log shows acting for an attacker,
    accepting a connection from its own host (loopback: a COM or RPC server of its own that it
    tricks a SYSTEM service into reaching) and, within ``TOKEN_USE_MINUTES``, starting a
    shell, interpreter or admin tool: the Potato family's escalation, a service account's
    impersonation right turned into a SYSTEM token for the process it starts (T1134.001,
    T1068), under whatever name the tool was renamed to. A known server accepts local
    connections as its work; an attack chain's unknown program listening on loopback and
    then starting a shell has no other use."""
    desc = view.desc
    accepts = _accepted(view) & (desc["object_kind"] == "flow")
    accepts &= view.desc_where("object_name", lambda n: view.address_class(n) == "loopback", accepts)
    accepts &= view.desc_where("subject_name", _unknown_program, accepts)
    if not accepts.any():
        return []
    accepts &= in_chain(view, acting_for_an_attacker(view))
    if not accepts.any():
        return []
    found = _operator_tools_started_soon_after(view, accepts, TOKEN_USE_MINUTES)
    if found is None:
        return []
    accept_rows, start_rows, used = found
    reason = (
        f"{_names(used)}, a program the knowledge base does not know, acting for an attacker, accepted a connection from its own host "
        f"({_names(set(desc['object_name'][view._codes[accept_rows]].tolist()))}) and within {TOKEN_USE_MINUTES} minutes started "
        f"{_names(set(desc['object_name'][view._codes[start_rows]].tolist()))}: a local server a SYSTEM service was tricked into "
        "reaching, and a process started with the token it gave (the Potato family's escalation)."
    )
    return [cited(view, accept_rows, start_rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1134.001", "T1068"))]


def token_taken_from_system_process(view: LogView) -> list[StageEvidence]:
    """A process the log shows acting for an attacker (an attack chain's, a channel's
    holder), or a program the knowledge base does not know, opening a Windows process that runs as SYSTEM (``SYSTEM_PROCESSES``: winlogon,
    services) and, within ``TOKEN_USE_MINUTES``, starting a shell, interpreter or admin tool:
    a token duplicated from the privileged process and a process started with it (T1134.002,
    Empire's and Meterpreter's steal_token, getsystem). A process lister opens every process
    (``PROCESS_LIST_MIN`` distinct ones or more) and is left out; so is a process doing
    nothing after the open."""
    found = _token_taken_and_used(view)
    if found is None:
        return []
    desc = view.desc
    open_rows, start_rows, used = found
    acting = view.values("subject_name", in_chain(view, acting_for_an_attacker(view)) & view.desc_in("subject_name", used))
    who = "acting for an attacker" if acting == used else "a program the knowledge base does not know" if not acting else "acting for an attacker or unknown to the knowledge base"
    reason = (
        f"{_names(used)}, {who}, opened {_names(set(desc['object_name'][view._codes[open_rows]].tolist()))}, a process that "
        f"runs as SYSTEM, and within {TOKEN_USE_MINUTES} minutes started {_names(set(desc['object_name'][view._codes[start_rows]].tolist()))}: "
        "a token taken from the privileged process and a process started with it."
    )
    reason += _how_acting(view, open_rows)
    return [cited(view, open_rows, start_rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1134.002",))]


def _token_taken_and_used(view: LogView) -> tuple[np.ndarray, np.ndarray, set[str]] | None:
    """``token_taken_from_system_process``'s opens of the SYSTEM process, the starts that
    used its token (log rows) and the processes that took it; ``None`` where there are none.
    Computed once per view (the identity checks read it too)."""
    return view.derived("_token_taken_and_used", lambda: _find_token_taken_and_used(view))


def _find_token_taken_and_used(view: LogView) -> tuple[np.ndarray, np.ndarray, set[str]] | None:
    from .patterns import PROCESS_LIST_MIN

    desc = view.desc
    opened = view.present & (desc["event"] == "process_access") & (desc["object_kind"] == "process")
    opened &= view.desc_where("object_name", lambda n: n.casefold() in SYSTEM_PROCESSES, opened)
    opened &= view.desc_where("subject_name", lambda n: n not in PLACEHOLDERS, opened)
    if not opened.any():
        return None
    # by a process the log shows acting for an attacker, or by a program the knowledge base
    # does not know (an implant whose arrival the slice does not hold; a known administration
    # tool opening winlogon is a process viewer)
    opened &= in_chain(view, acting_for_an_attacker(view)) | view.desc_where("subject_name", _unknown_program, opened)
    if not opened.any():
        return None
    all_opens = view.present & (desc["event"] == "process_access") & (desc["object_kind"] == "process") & view.desc_in("subject_name", view.values("subject_name", opened))
    targets_of: dict[str, set[str]] = {}
    for at in np.flatnonzero(all_opens).tolist():
        targets_of.setdefault(desc["subject_name"][at], set()).add(desc["object_name"][at])
    takers = {n for n, targets in targets_of.items() if len(targets) < PROCESS_LIST_MIN}
    opened &= view.desc_in("subject_name", takers)
    if not opened.any():
        return None
    return _operator_tools_started_soon_after(view, opened, TOKEN_USE_MINUTES)


def _shells_the_service_manager_started(view: LogView) -> np.ndarray:
    """The descriptions of the service control manager starting a command shell (a
    service whose command is the shell itself)."""
    desc = view.desc
    shells = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process")
    shells &= view.desc_where("subject_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER, shells)
    return shells & view.desc_where("object_name", lambda n: n.casefold() in roles()["command_shell_names"], shells)


# how close together a service's shell writes to a pipe and its server creates and reads it
PIPE_RELAY_MINUTES = 1


def service_shell_feeds_a_pipe(view: LogView) -> list[StageEvidence]:
    r"""A command shell the service control manager started writing to a file that another
    process created and then read, all within ``PIPE_RELAY_MINUTES``: a one-shot service's
    command (``cmd /c echo x > \\.\pipe\NAME``) connecting to a named pipe that the other
    process serves, which takes the connecting client's token, the service's SYSTEM one
    (named-pipe impersonation, getsystem of Meterpreter and Empire; T1134.001). A service's
    script writing its own log or output file creates it itself."""
    desc = view.desc
    shells = _shells_the_service_manager_started(view)
    if not shells.any():
        return []
    started = view.values("object_name", shells)
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & view.desc_in("subject_name", started)
    if not writes.any():
        return []
    # the shell's writes within the relay window of a start by the service control manager
    start_minutes = np.sort(view.minutes[view.rows_of(shells)])
    write_rows = view.rows_of(writes)
    near = np.searchsorted(start_minutes, view.minutes[write_rows] - PIPE_RELAY_MINUTES * MINUTE_NS, side="left")
    in_window = (near < len(start_minutes)) & (start_minutes[np.minimum(near, len(start_minutes) - 1)] <= view.minutes[write_rows])
    write_rows = write_rows[in_window]
    pipes = set(desc["object_name"][view._codes[write_rows]].tolist()) - {""}
    if not pipes:
        return []
    served = view.present & view.desc_in("object_name", pipes) & ~view.desc_in("subject_name", started | {"", SERVICE_CONTROL_MANAGER})
    created = served & view.desc_in("event", ("file_create", "file_write"))
    read = served & (desc["event"] == "file_read")
    # each (server, pipe)'s first creation, and each pipe's first and last write by the shell:
    # one pass each (a crafted log of thousands of pipes costs their number, not its square)
    first_created: dict[tuple[str, str], int] = {}
    for at in np.flatnonzero(created).tolist():
        key = (desc["subject_name"][at], desc["object_name"][at])
        first_created[key] = min(first_created.get(key, int(view.first_minutes[at])), int(view.first_minutes[at]))
    written_span: dict[str, tuple[int, int]] = {}
    for name, minute in zip(desc["object_name"][view._codes[write_rows]].tolist(), view.minutes[write_rows].tolist()):
        low, high = written_span.get(name, (minute, minute))
        written_span[name] = (min(low, minute), max(high, minute))
    window = PIPE_RELAY_MINUTES * MINUTE_NS
    relayed = np.zeros(len(read), dtype=bool)
    who, names = set(), set()
    for at in np.flatnonzero(read).tolist():
        key = (desc["subject_name"][at], desc["object_name"][at])
        if key not in first_created:
            continue
        low, high = written_span[key[1]]
        # created at most a window before the shell wrote to it, read back at most a window after
        created_in_time = low - window <= first_created[key] <= high
        read_in_time = int(view.last_minutes[at]) >= low and int(view.first_minutes[at]) <= high + window
        if created_in_time and read_in_time:
            relayed[at] = True
            who.add(key[0])
            names.add(key[1])
    if not relayed.any():
        return []
    pairs = {(server, name) for server, name in zip(desc["subject_name"][relayed].tolist(), desc["object_name"][relayed].tolist())}
    found = served & view.pattern_flags(lambda row: (row.subject, row.object) in pairs, served)
    found_rows = [view.rows_of(found), write_rows[view.desc_in("object_name", names)[view._codes[write_rows]]]]
    reason = (
        f"{_names(who)} created {_names(names)}; a command shell that the service control manager (`services.exe`) started wrote to it, and "
        f"{_names(who)} read it, within {PIPE_RELAY_MINUTES} minute(s): a one-shot service connecting to a named pipe whose server takes the "
        "service's SYSTEM token (named-pipe impersonation, getsystem)."
    )
    return [cited(view, view.rows_of(shells), *found_rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1134.001",))]


def _any_within(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """For each window [``low``, ``high``] (arrays of one length), whether some of
    ``values`` falls in it: two sorted searches."""
    ordered = np.sort(values)
    return np.searchsorted(ordered, high, side="right") > np.searchsorted(ordered, low, side="left")


def one_shot_shell_service_then_token(view: LogView) -> list[StageEvidence]:
    """The service control manager writing a service's entry and, within
    ``PIPE_RELAY_MINUTES``, starting a command shell as that service, while a process this
    host runs (not a Windows system process, nor the shell) opens a Windows process that runs
    as SYSTEM (``SYSTEM_PROCESSES``: winlogon, services) within ``TOKEN_USE_MINUTES`` of the
    shell's start: a throw-away service whose only command is the shell (``cmd /c echo x >
    \\\\.\\pipe\\NAME``), run so that the opener takes the SYSTEM token it gives (getsystem of
    Meterpreter and Empire; T1134.001, T1543.003), where the log does not show the pipe
    itself. An administrator's or an installer's service runs its own program, not a bare
    shell; a remote one-shot service (PsExec, smbexec) has no local opener taking a token."""
    desc = view.desc
    shells = _shells_the_service_manager_started(view)
    if not shells.any():
        return []
    entries = view.present & (desc["event"] == "registry_write")
    entries &= view.desc_where("subject_name", lambda n: n.casefold() == SERVICE_CONTROL_MANAGER, entries)
    opens = view.present & (desc["event"] == "process_access") & (desc["object_kind"] == "process")
    opens &= view.desc_where("object_name", lambda n: n.casefold() in SYSTEM_PROCESSES, opens)
    shell_names = view.values("object_name", shells)
    opens &= view.desc_where("subject_name", lambda n: n not in PLACEHOLDERS and n not in shell_names and process_category(n) != "windows system process", opens)
    if not (entries.any() and opens.any()):
        return []
    shell_rows, entry_rows, open_rows = view.rows_of(shells), view.rows_of(entries), view.rows_of(opens)
    relay, token = PIPE_RELAY_MINUTES * MINUTE_NS, TOKEN_USE_MINUTES * MINUTE_NS
    # sorted searches, not pairs: a crafted log of thousands of service starts and opens
    # costs their number, not its square
    shell_minutes = view.minutes[shell_rows]
    shell_rows = shell_rows[_any_within(view.minutes[entry_rows], shell_minutes - relay, shell_minutes) & _any_within(view.minutes[open_rows], shell_minutes - token, shell_minutes + token)]
    if not len(shell_rows):
        return []
    shell_minutes = np.sort(view.minutes[shell_rows])
    open_minutes, entry_minutes = view.minutes[open_rows], view.minutes[entry_rows]
    open_rows = open_rows[_any_within(shell_minutes, open_minutes - token, open_minutes + token)]
    entry_rows = entry_rows[_any_within(shell_minutes, entry_minutes, entry_minutes + relay)]
    openers = set(desc["subject_name"][view._codes[open_rows]].tolist())
    reason = (
        f"The service control manager (`services.exe`) wrote a service's entry ({_names(set(desc['object_name'][view._codes[entry_rows]].tolist()))}) "
        f"and within {PIPE_RELAY_MINUTES} minute(s) started {_names(set(desc['object_name'][view._codes[shell_rows]].tolist()))} as that service, "
        f"while {_names(openers)} opened {_names(set(desc['object_name'][view._codes[open_rows]].tolist()))} (running as SYSTEM): "
        "a throw-away service whose only command is a shell, run so that the opener takes the SYSTEM token it gives (named-pipe impersonation, getsystem)."
    )
    return [cited(view, entry_rows, shell_rows, open_rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1134.001", "T1543.003"))]


# an auto-elevating binary's ordinary children: the console host, error reporting, and the
# consoles and settings pages it exists to open (eventvwr's mmc, sdclt's control panel)
_ELEVATOR_OWN_CHILDREN = frozenset({"conhost.exe", "werfault.exe", "mmc.exe", "control.exe", "systemsettings.exe", "systemsettingsadminflows.exe"})
# the handler value UAC bypasses plant (ms-settings, mscfile, exefile... \shell\open\command):
# OCR-APT keeps a key's last component, so the name alone is what the log may show
_HANDLER_VALUE = re.compile(r"(?i)(^|\\)shell\\open\\command$|^command$")


# a hijacked handler is planted just before the binary that reads it runs
HIJACK_RUN_MINUTES = 5


# the registry hives that hold credentials: the local accounts' password hashes (SAM) and
# the cached domain logons and LSA secrets (SECURITY); only SYSTEM may read them
CREDENTIAL_HIVES = frozenset({"sam", "security"})


def _credential_hive_key(name: str) -> bool:
    """A registry key naming a credential hive itself (``HKLM\\SAM`` or, where the log keeps
    a key's last component, ``SAM``), not a key below it."""
    return name.rstrip("\\").rsplit("\\", 1)[-1].casefold() in CREDENTIAL_HIVES


def credential_hives_saved(view: LogView) -> list[StageEvidence]:
    """``_credential_hives_saved``, computed once per view (the exfiltration rule reads its
    files as secrets)."""
    return list(view.derived("_credential_hives_saved", lambda: tuple(_credential_hives_saved(view))))


def _credential_hives_saved(view: LogView) -> list[StageEvidence]:
    """The registry tool (reg.exe), or a program the knowledge base does not know, reading a
    credential hive's key (SAM, SECURITY) and writing a file in that minute: ``reg save
    HKLM\\SAM s.dat``, the hashes taken away to crack offline (T1003.002), whatever the
    file is called (``credential-access-hive-save`` knows the outputs named for a hive). A
    backup product reads the hive files through its own service, not the registry tool."""
    desc = view.desc
    reads = view.present & (desc["event"] == "registry_read")
    reads &= view.desc_where("object_name", _credential_hive_key, reads)
    if not reads.any():
        return []
    reads &= view.desc_where("subject_name", lambda n: n.casefold() == "reg.exe" or _unknown_program(n), reads)
    writes = view.present & view.desc_in("event", ("file_write", "file_create")) & (desc["object_kind"] == "file")
    writes &= view.desc_in("subject_name", view.values("subject_name", reads)) & ~view.desc_in("object_name", PLACEHOLDERS)
    if not writes.any():
        return []
    read_rows, write_rows = view.rows_of(reads), view.rows_of(writes)
    # the same process, in the same minute
    read_at = set(zip(desc["subject_name"][view._codes[read_rows]].tolist(), view.minutes[read_rows].tolist()))
    keep = np.fromiter(
        (pair in read_at for pair in zip(desc["subject_name"][view._codes[write_rows]].tolist(), view.minutes[write_rows].tolist())), dtype=bool, count=len(write_rows)
    )
    if not keep.any():
        return []
    write_rows = write_rows[keep]
    savers = set(desc["subject_name"][view._codes[write_rows]].tolist())
    used = read_rows[np.fromiter((subject in savers for subject in desc["subject_name"][view._codes[read_rows]].tolist()), dtype=bool, count=len(read_rows))]
    hives = set(desc["object_name"][view._codes[used]].tolist())
    files = set(desc["object_name"][view._codes[write_rows]].tolist())
    reason = (
        f"{_names(savers)} read the credential hive(s) {_names(hives)} and in that minute wrote {_names(files)}: "
        "the hives saved to files (reg save), the password hashes taken to be cracked offline."
    )
    return [cited(view, used, write_rows, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0006", techniques=("T1003.002",))]


# the user's environment key, whose windir variable elevated scheduled tasks expand
USER_ENVIRONMENT_KEY = "environment"


def environment_hijacked_task(view: LogView) -> list[StageEvidence]:
    """A UAC bypass through the user's environment (T1548.002): a process, or a tool it
    started (reg.exe), writes the ``Environment`` key (its ``windir`` variable), the same
    process starts ``schtasks.exe`` within ``HIJACK_RUN_MINUTES``, and the Task Scheduler's
    service host then starts a shell: an elevated task (SilentCleanup) that expands
    ``%windir%`` ran the planted command with high integrity. Installers adding to PATH set
    the same key but run no task and start no shell through the task service."""
    desc = view.desc
    env = view.present & (desc["event"] == "registry_write") & view.desc_where("object_name", lambda n: n.casefold() == USER_ENVIRONMENT_KEY, view.present)
    if not env.any():
        return []
    starts = view.program_starts
    writers = view.values("subject_name", env) - PLACEHOLDERS
    # the writer, or the process that started it (reg.exe run by the implant)
    owners = writers | view.values("subject_name", starts & view.desc_in("object_name", writers))
    tasks = starts & view.desc_in("subject_name", owners) & view.desc_where("object_name", lambda n: n.casefold() in ("schtasks.exe", "schtasks"), starts)
    shells = starts & view.desc_where("subject_name", lambda n: n.casefold() == TASK_SERVICE_HOST, starts)
    shells &= view.desc_where("object_name", shell_or_interpreter, shells)
    if not tasks.any() or not shells.any():
        return []
    env_rows, task_rows, shell_rows = view.rows_of(env), view.rows_of(tasks), view.rows_of(shells)
    first = int(view.minutes[env_rows].min())
    window = HIJACK_RUN_MINUTES * MINUTE_NS
    task_rows = task_rows[(view.minutes[task_rows] >= first) & (view.minutes[task_rows] <= first + window)]
    if not len(task_rows):
        return []
    ran = int(view.minutes[task_rows].min())
    shell_rows = shell_rows[(view.minutes[shell_rows] >= ran) & (view.minutes[shell_rows] <= ran + window)]
    if not len(shell_rows):
        return []
    reason = (
        f"{_names(writers)} wrote the user's environment key (`Environment`), {_names(set(desc['subject_name'][view._codes[task_rows]].tolist()))} then ran schtasks, "
        f"and the Task Scheduler's service host started {_names(set(desc['object_name'][view._codes[shell_rows]].tolist()))}: an elevated task expanding the planted "
        "variable ran the attacker's command with its elevation, a UAC bypass."
    )
    return [cited(view, env_rows[:3], task_rows[:3], shell_rows[:3], stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1548.002",))]


def hijacked_auto_elevator(view: LogView) -> list[StageEvidence]:
    """A UAC bypass through a hijacked handler (T1548.002): a process (or a tool it started,
    reg.exe) writes a shell-open handler value (``...\\shell\\open\\command``, or ``command`` where the log keeps only
    a key's last component), starts an auto-elevating binary (fodhelper, computerdefaults,
    sdclt...: ``privilege-escalation-uac-bypass``'s subjects) within
    ``HIJACK_RUN_MINUTES``, and that binary starts a program other than its own children
    (``_ELEVATOR_OWN_CHILDREN``), whatever the program is: the binary ran, elevated, what
    the planted handler named. The rule of the same id claims the binary starting a shell
    by itself; this one reads the planting, so an implant that relaunches itself elevated
    counts too. The binary's settings page opened by a user writes no handler first."""
    desc = view.desc
    elevators = _uac_bypass_binaries()
    runs = view.program_starts & view.desc_where("object_name", lambda n: n.casefold() in elevators, view.program_starts)
    if not runs.any():
        return []
    planted = view.present & (desc["event"] == "registry_write") & view.desc_where("object_name", lambda n: bool(_HANDLER_VALUE.search(n)), view.present)
    if not planted.any():
        return []
    children = view.program_starts & view.desc_where("subject_name", lambda n: n.casefold() in elevators, view.program_starts)
    children &= view.desc_where("object_name", lambda n: n.casefold() not in _ELEVATOR_OWN_CHILDREN and n not in PLACEHOLDERS, children)
    if not children.any():
        return []
    window = HIJACK_RUN_MINUTES * MINUTE_NS
    minutes = view.minutes
    plant_rows, run_rows, child_rows = view.rows_of(planted), view.rows_of(runs), view.rows_of(children)
    subject_of = lambda rows: desc["subject_name"][view._codes[rows]]  # noqa: E731
    object_of = lambda rows: desc["object_name"][view._codes[rows]]  # noqa: E731
    # planted by the process that ran the binary, or by a tool it started (reg.exe): a run's
    # window is searched under each of those names that wrote a handler value
    writers = view.values("subject_name", planted)
    tools_of: dict[str, set[str]] = {}
    for at in np.flatnonzero(view.program_starts & view.desc_in("object_name", writers) & view.desc_in("subject_name", view.values("subject_name", runs))).tolist():
        tools_of.setdefault(desc["subject_name"][at], set()).add(desc["object_name"][at])
    run_of, keys = [], []
    for index, parent in enumerate(subject_of(run_rows).tolist()):
        for key in ({parent} & writers) | tools_of.get(parent, set()):
            run_of.append(index)
            keys.append(key)
    if not keys:
        return []
    run_of = np.array(run_of, dtype=np.int64)
    keys = np.array(keys, dtype=object)
    begin = minutes[run_rows]
    planted_in, _ = _windows_meet(keys, begin[run_of] - window, begin[run_of], subject_of(plant_rows), plant_rows, minutes)
    planted_before = np.zeros(len(run_rows), dtype=bool)
    planted_before[run_of[planted_in]] = True
    started_after, _ = _windows_meet(object_of(run_rows), begin, begin + window, subject_of(child_rows), child_rows, minutes)
    ok = planted_before & started_after
    if not ok.any():
        return []
    run_at = run_rows[ok]
    cited_windows = ok[run_of]
    _, plant_cited = _windows_meet(keys[cited_windows], begin[run_of][cited_windows] - window, begin[run_of][cited_windows], subject_of(plant_rows), plant_rows, minutes)
    _, child_cited = _windows_meet(object_of(run_at), begin[ok], begin[ok] + window, subject_of(child_rows), child_rows, minutes)
    plants, children_rows = plant_rows[plant_cited], child_rows[child_cited]
    reason = (
        f"{_names(set(subject_of(plants).tolist()))} wrote the handler value {_names(set(object_of(plants).tolist()))}, {_names(set(subject_of(run_at).tolist()))} then started the "
        f"auto-elevating {_names(set(object_of(run_at).tolist()))}, which started {_names(set(object_of(children_rows).tolist()))}: "
        "a hijacked handler run with the binary's elevation, a UAC bypass."
    )
    out = [cited(view, plants, run_at, children_rows, stage="Privilege Escalation", confidence="high", rationale=reason, tactic="TA0004", techniques=("T1548.002",))]
    # the handler value removed again once the elevated program ran: the bypass's trace
    # erased (no program removes a handler it registered for its own use minutes before)
    removed = view.present & (desc["event"] == "registry_delete") & view.desc_in("object_name", set(object_of(plants).tolist()))
    removal_rows = view.rows_of(removed)
    removal_rows = removal_rows[minutes[removal_rows] >= int(minutes[run_at].min())]
    if len(removal_rows):
        erased = (
            f"{_names(set(subject_of(removal_rows).tolist()))} removed the handler value {_names(set(object_of(removal_rows).tolist()))} after the auto-elevating "
            f"{_names(set(object_of(run_at).tolist()))} ran through it: the UAC bypass's registry trace erased."
        )
        out.append(cited(view, run_at, removal_rows, stage="Covering Tracks", confidence="moderate", rationale=erased, tactic="TA0005", techniques=("T1070",)))
    return out


def _running_unknown_libraries(view: LogView, subjects: set[str]) -> set[str]:
    """The code runners of ``subjects`` (``code_runner``: rundll32, regsvr32) that load a
    library the knowledge base does not know: a DLL runner runs what it is given."""
    runners = {s for s in subjects if code_runner(s)}
    if not runners:
        return set()
    desc = view.desc
    loads = view.present & (desc["event"] == "module_load") & view.desc_in("subject_name", runners) & ~view.desc_in("object_name", PLACEHOLDERS)
    loads &= view.desc_where("object_name", lambda n: lookup(n, "module") is None, loads)
    return view.values("subject_name", loads)


def _threaded_by_unknown_code(view: LogView) -> dict[str, np.ndarray]:
    """The processes a thread was created in (``remote_thread``) by a program the knowledge
    base does not know, one the subgraph wrote and ran, or a DLL runner running a library
    it does not know, each with the log rows of those threads: the injected code runs
    there, whatever the host process is."""
    desc = view.desc
    threads = view.present & (desc["event"] == "remote_thread") & (desc["object_name"] != "") & ~view.desc_in("object_name", PLACEHOLDERS)
    threads &= view.desc_where("subject_name", lambda n: bool(n) and n not in PLACEHOLDERS, threads)
    if not threads.any():
        return {}
    injectors = view.values("subject_name", threads)
    dropped = {process for _, process, _ in dropped_programs(view)}
    unknown = {n for n in injectors if lookup(n, "process") is None or n in dropped} | _running_unknown_libraries(view, injectors)
    # (not the injector's own name: a thread in another process of its name hides nothing)
    threads &= view.desc_in("subject_name", unknown) & ~view.desc_in("object_name", unknown)
    rows = view.rows_of(threads)
    return _rows_by_key(desc["object_name"][view._codes[rows]].tolist(), rows) if len(rows) else {}


def _loaded_planted_code(view: LogView) -> dict[str, np.ndarray]:
    """The processes that loaded a library (a DLL or shared object) that another process, a
    shell, script host or Windows admin tool (``com_hijack.writers``), wrote in the subgraph
    before the load (``libraries_loaded_after_written``), each with the log rows of that
    write and load."""
    writers = roles()["com_hijacker_categories"]
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    writes &= view.desc_where("subject_name", lambda n: process_category(n) in writers, writes)
    loaders = libraries_loaded_after_written(view, writes)
    if not loaders:
        return {}
    # the rows of every such write and load, gathered once and handed out by description
    involved = np.zeros(len(view.pattern_rows), dtype=bool)
    involved[np.concatenate([codes for _, _, codes in loaders.values()])] = True
    rows = view.rows_of(involved)
    by_code = _rows_by_key(view._codes[rows].tolist(), rows)
    return {loader: np.sort(np.concatenate([by_code[c] for c in codes.tolist()])) for loader, (_, _, codes) in loaders.items()}


def _injector_kind(view: LogView, injectors: set[str], library_hosts: set[str]) -> str:
    """What ``injected_system_process``'s openers are, as its reason says it."""
    if injectors <= library_hosts:
        return "running a library the knowledge base does not know"
    if all(lookup(n, "process") is None for n in injectors):
        return "a program the knowledge base does not know"
    return "a program the knowledge base does not know or one written in this subgraph and run"


def injected_system_process(view: LogView) -> list[StageEvidence]:
    """A program the knowledge base does not know or one the subgraph wrote and ran, whatever
    its name (or a DLL runner running a library it does not know) opening (or starting a thread in) a Windows process that runs as SYSTEM
    (``SYSTEM_PROCESSES``: winlogon, services, the spooler), which within
    ``INJECTION_ACT_MINUTES`` starts a shell or sends to an outside address, neither of which
    it does in its own work: code injected into a privileged process, acting with its
    privilege (T1055). Security products and Windows' own processes open such processes
    routinely (known programs); a SYSTEM process opened but doing nothing out of its
    character claims nothing."""
    found = _injected_system_processes(view)
    if found is None:
        return []
    open_rows, acts, starts, sends, hosts = found
    desc = view.desc
    acting = set(desc["subject_name"][view._codes[acts]].tolist())
    injectors = set(desc["subject_name"][view._codes[open_rows]].tolist())
    started = set(desc["object_name"][view._codes[acts[starts[view._codes[acts]]]]].tolist())
    reached = set(desc["object_name"][view._codes[acts[sends[view._codes[acts]]]]].tolist())
    did = ([f"started {_names(started)}"] if started else []) + ([f"sent to {_names(reached)} (not internal)"] if reached else [])
    reason = (
        f"{_names(injectors)}, {_injector_kind(view, injectors, hosts)}, opened {_names(acting)}, a process that runs as SYSTEM, "
        f"which then {' and '.join(did)}: code injected into a privileged process, acting with its privilege."
    )
    return [cited(view, open_rows, acts, stage="Privilege Escalation", confidence="moderate", rationale=reason, tactic="TA0004", techniques=("T1055",))]


def _injected_system_processes(view: LogView):
    """``injected_system_process``'s evidence, computed once per view (the Command and Control
    rule reads it too: an injected service's outside exchange is the injected code's): the
    openings (log rows) of the SYSTEM processes that then acted out of character, those acts
    (log rows), the start and send descriptions, and the DLL runners among the openers; or
    None."""
    return view.derived("_injected_system_processes", lambda: _find_injected_system_processes(view))


def _find_injected_system_processes(view: LogView):
    desc = view.desc
    opened = view.present & view.desc_in("event", ("process_access", "remote_thread")) & (desc["object_kind"] == "process")
    opened &= view.desc_where("object_name", lambda n: n.casefold() in SYSTEM_PROCESSES, opened)
    # (or a DLL runner, rundll32, that loaded a library the knowledge base does not know: that
    # library's code is what runs)
    hosts = _running_unknown_libraries(view, view.values("subject_name", opened))
    # (or a program the subgraph wrote and ran, whatever name it took: a known installer's
    # name on a file a DLL runner wrote to a public folder is not that installer)
    dropped = {process for _, process, _ in dropped_programs(view)} - {""}
    opened &= view.desc_where("subject_name", lambda n: n not in PLACEHOLDERS and n != "" and (lookup(n, "process") is None or n in hosts or n in dropped), opened)
    if not opened.any():
        return None
    targets = view.values("object_name", opened)
    starts = view.present & (desc["event"] == "process_start") & (desc["object_kind"] == "process") & view.desc_in("subject_name", targets)
    starts &= view.desc_where("object_name", lambda n: process_category(n) in OPERATOR_TOOLS, starts)
    sends = _to_outside(view, view.present & (desc["event"] == "network_out") & (desc["object_kind"] == "flow") & view.desc_in("subject_name", targets))
    acts = view.rows_of(starts | sends)
    if not len(acts):
        return None
    open_rows = view.rows_of(opened)
    first_open = {}
    for position, target in zip(open_rows.tolist(), desc["object_name"][view._codes[open_rows]].tolist()):
        first_open[target] = min(first_open.get(target, view.minutes[position]), view.minutes[position])
    act_targets = desc["subject_name"][view._codes[acts]].tolist()
    keep = np.fromiter(
        (t in first_open and first_open[t] <= m <= first_open[t] + INJECTION_ACT_MINUTES * MINUTE_NS for t, m in zip(act_targets, view.minutes[acts].tolist())),
        dtype=bool, count=len(acts),
    )
    acts = acts[keep]
    if not len(acts):
        return None
    acting = set(desc["subject_name"][view._codes[acts]].tolist())
    open_rows = open_rows[np.isin(desc["object_name"][view._codes[open_rows]], list(acting))]
    return open_rows, acts, starts, sends, hosts


def _fired_in_a_later_process(view: LogView, written: np.ndarray) -> set[str]:
    """The files of ``written`` (descriptions of writes) that a process loads which the log
    starts after the file's last write and by the load (by the minute): the code running in
    a new process. The log's rows, not its descriptions: one Explorer started at the next
    logon says nothing of the one that loaded the code an hour before. One sort of each
    loader's starts, a search per load (a crafted log of thousands of loads and logons costs
    no more)."""
    desc = view.desc
    last_write: dict[str, int] = {}
    for at in np.flatnonzero(written).tolist():
        name = desc["object_name"][at]
        last_write[name] = max(last_write.get(name, 0), int(view.last_minutes[at]))
    loads = view.present & (desc["event"] == "module_load") & view.desc_in("object_name", set(last_write))
    if not loads.any():
        return set()
    starts = view.present & view.desc_in("event", ("process_start", "execute")) & view.desc_in("object_name", view.values("subject_name", loads))
    started: dict[str, list[int]] = {}  # each loader's start minutes, from its start rows
    for at in view.rows_of(starts).tolist():
        started.setdefault(desc["object_name"][view._codes[at]], []).append(int(view.minutes[at]))
    sorted_starts = {name: np.sort(np.array(minutes, dtype=np.int64)) for name, minutes in started.items()}
    fired = set()
    for at in view.rows_of(loads).tolist():
        code = view._codes[at]
        name, loader = desc["object_name"][code], desc["subject_name"][code]
        minutes = sorted_starts.get(loader)
        if name in fired or minutes is None:
            continue
        # the latest start at or before the load, after the code's last write
        latest = np.searchsorted(minutes, int(view.minutes[at]), side="right") - 1
        if latest >= 0 and minutes[latest] > last_write[name]:
            fired.add(name)
    return fired


# what a COM server key may name: a DLL (InprocServer32), a program (LocalServer32)
_COM_SERVER_CODE = (".dll", ".ocx", ".exe")


def planted_com_server(view: LogView) -> list[StageEvidence]:
    """A COM class's server key (``com_hijack.keys`` in roles.yaml: InprocServer32,
    LocalServer32, TreatAs) written by a shell, interpreter or admin tool or a process acting
    for an attacker, where such a process also wrote a DLL or program in the subgraph (or by
    a program the knowledge base does not know that wrote the code too, which a process the
    log starts afterwards loads): a COM
    class hijacked so that the planted code runs whenever a program creates it (T1546.015).
    High confidence when another process then loads what was written. A vendor's installer
    registers its own servers (neither role); regsvr32 registering a DLL an installer wrote
    wrote no code itself."""
    desc = view.desc
    r = roles()
    keys = view.present & (desc["event"] == "registry_write")
    keys &= view.desc_where("object_name", lambda n: n.rsplit("\\", 1)[-1].casefold() in r["com_server_keys"], keys)
    if not keys.any():
        return []

    def hijacker(name: str) -> bool:
        return process_category(name) in r["com_hijacker_categories"]

    acting = in_chain(view, acting_for_an_attacker(view))
    writes = view.present & view.desc_in("event", ("file_write", "file_create", "file_rename"))
    writes &= view.desc_where("object_name", lambda n: n.casefold().endswith(_COM_SERVER_CODE), writes)
    # or a program the knowledge base does not know that wrote both the key and the code,
    # when a process started after that write then loads the code: a dropped program's
    # hijack firing (Explorer loading it at the next logon); a setup registering its shell
    # extension, which the running Explorer loads at once, is an install
    unknown = view.values("subject_name", keys) & view.values("subject_name", writes)
    unknown = {n for n in unknown if n and n not in PLACEHOLDERS and lookup(n, "process") is None}
    if unknown:
        planted = writes & view.desc_in("subject_name", unknown)
        fired = _fired_in_a_later_process(view, planted)
        unknown = view.values("subject_name", planted & view.desc_in("object_name", fired)) if fired else set()
    keys &= view.desc_where("subject_name", hijacker, keys) | acting | view.desc_in("subject_name", unknown)
    writes &= view.desc_where("subject_name", hijacker, writes) | acting | view.desc_in("subject_name", unknown)
    if not keys.any() or not writes.any():
        return []
    writers = view.values("subject_name", writes)
    loads = view.present & (desc["event"] == "module_load") & view.desc_in("object_name", view.values("object_name", writes))
    loads &= ~view.desc_in("subject_name", writers)
    reason = (
        f"{_who(view.values('subject_name', keys))} wrote the COM server key {_names(view.values('object_name', keys))}, and "
        f"{_who(writers)} wrote {_names(view.values('object_name', writes))}: a COM class pointed at planted code, which runs whenever a program creates the class (COM hijacking)."
    )
    rows = [view.rows_of(keys), view.rows_of(writes)]
    if loads.any():
        reason += f" {_who(view.values('subject_name', loads))} then loaded {_names(view.values('object_name', loads))}."
        rows.append(view.rows_of(loads))
    confidence = "high" if loads.any() else "moderate"
    return [cited(view, *rows, stage="Maintain Persistence", confidence=confidence, rationale=reason, tactic="TA0003", techniques=("T1546.015",))]


RULES = (sweep_rule, command_and_control, scripted_credential_access, credential_harvest, process_memory_scraped, planted_library_loaded, planted_system_library_loaded, planted_com_server, ingress_then_run, channel_to_the_delivering_server, session_client_forwarding, session_client_relays_a_remote_forward, install_runs_channel_holder, client_runs_unknown_program, client_drops_executable, client_archive_extracted_and_run, client_image_opened_and_run, client_launcher_opened, office_macro_via_wmi, wmi_subscription_fires, wmi_subscription_fires_on_a_timer, password_guessing_then_login, remote_desktop_session_survey, remote_desktop_through_a_tunnel, web_server_shell_discovery, web_server_reverse_shell, operator_commands_over_a_channel, downloaded_kernel_module_loaded, server_shell_runs_fetched_code, server_shell_survey, dropped_program_calls_home, server_shell_calls_back, web_shell_planted, server_page_planted, shell_on_an_inherited_connection, shell_fed_through_a_fifo, bind_shell_serves_outside, fetched_code_run_in_rounds, chain_process_converses_outside, system_program_replaced, server_shell_adds_account, service_writes_ssh_keys, net_command_changes_an_account, covering_tracks, file_search_feeds_collection, discovery, host_survey_by_reads, network_sniffing, lateral_movement, remote_task_target, remote_session_writes_program, channel_relays_to_site_hosts, own_image_copied_out, sudo_shell_escape, run_as_for_an_unknown_program, run_as_plants_a_triggered_program, run_as_starts_a_dropped_program, job_table_for_an_unknown_program, job_table_after_a_dropped_program, shell_copied_and_armed, cron_runs_hidden_program, cron_reads_planted_table, desktop_entry_for_hidden_program, job_table_for_hidden_program, boot_service_for_hidden_program, cron_job_pipes_remote_code_into_a_shell, init_script_planted_by_unknown_program, staged_data_shredded, logs_edited_or_times_reset, persistence_written_then_touched, event_logs_cleared_by_the_service, exploit_gives_root_shell, kernel_symbols_then_shell, hijacked_auto_elevator, environment_hijacked_task, credential_hives_saved, run_as_binary_tampered_then_shell, mapped_account_database_then_root_login, injected_system_process, token_taken_from_system_process, local_server_then_shell, service_shell_feeds_a_pipe, one_shot_shell_service_then_token, planted_trigger_runs_program, service_runs_planted_program, service_registered_for_written_program, program_installs_itself_as_service, autostart_launches_attack_program, startup_shortcut_runs_planted_program, exfiltration, pipeline_exfiltration, install_script_steals_secrets, keystrokes_captured)
