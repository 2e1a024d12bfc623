"""render_stix(report) -> str: the report as a STIX 2.1 bundle (built with ``stix2``).

* a ``report`` object with the summary, referring to everything else;
* per listed IoC: cyber observables (ipv4-addr/ipv6-addr, file with its directory,
  process with its image file, windows-registry-key) and an ``indicator`` whose STIX
  pattern ``stix2-patterns`` checks, the exploitation likelihood as its confidence;
* per stage: an ``attack-pattern`` carrying the ATT&CK tactic id (and one per technique
  id the report holds), and ``indicates`` relationships from the indicators whose log
  rows the stage cites.

Deterministic: observables with id-contributing properties get the UUIDv5 ids STIX
defines for them (``stix2`` computes them); every other id (SDOs, relationships, process
observables, which STIX 2.1 requires to be UUIDv4) is a UUID in version-4 layout whose
bits come from SHA-256 of the report's content and the object's key, and every timestamp
comes from the report's log (first and last minute), so the same input gives the same
bundle byte for byte.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import ntpath
import posixpath
import re
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import __version__
from ..rules.attack import technique_url
from ..models import Report
from .views import NARRATOR_ALONE, inert_json, log_rows, stage_attack

# STIX 2.1 confidence scale, appendix "Low/Med/High"
CONFIDENCE = {"low": 15, "moderate": 50, "high": 85}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _seed(report: Report) -> str:
    """SHA-256 of the report's compact JSON (``model_dump_json()``), hashed as the JSON
    renderer streams it: the same bytes without a LogEntry per log row (4.6 s of a 1M-event
    report's bundle)."""
    from .json import render_json_chunks

    digest = hashlib.sha256()
    held = b""
    for chunk in render_json_chunks(report, indent=None, encoded=True):
        digest.update(held)
        held = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
    digest.update(held[:-1] if held.endswith(b"\n") else held)  # the renderer ends the document with a line break
    return digest.hexdigest()


def _zone(report: Report):
    """The zone the report's minutes are written in (UTC for wall-clock times without one)."""
    zone = report.metadata.timezone
    try:
        return ZoneInfo(zone) if zone not in ("as written", "UTC") else timezone.utc
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        return timezone.utc


def _parse_minute(text: str, tz, fallback: datetime) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz).astimezone(timezone.utc)
    except ValueError:
        return fallback


def _times(report: Report, tz) -> tuple[datetime, datetime]:
    """First and last minute of the log as UTC datetimes (the epoch for an empty log)."""
    parsed = [_parse_minute(minute, tz, _EPOCH) for minute in {row.minute for row in log_rows(report)}]  # each minute once
    if not parsed:
        return _EPOCH, _EPOCH
    return min(parsed), max(parsed)


def _quote(value: str) -> str:
    """A STIX pattern string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _split_path(full: str) -> tuple[str, str]:
    """(directory, name) of a Windows or POSIX path; directory "" when there is none."""
    module = ntpath if ("\\" in full and "/" not in full) else posixpath
    directory, name = module.split(full)
    return directory, name


def render_stix(report: Report) -> str:
    import stix2

    seed = _seed(report)

    def sid(kind: str, key: str) -> str:
        digest = hashlib.sha256(f"{seed}|{kind}|{key}".encode("utf-8")).digest()
        return f"{kind}--{uuid.UUID(bytes=digest[:16], version=4)}"

    tz = _zone(report)
    first, last = _times(report, tz)
    common = {"created": first, "modified": first}
    identity = stix2.Identity(
        id=sid("identity", "aptnarrate"), name="aptnarrate", identity_class="system",
        description=f"aptnarrate {__version__}, attack reports from provenance-graph detections", **common,
    )
    objects: list = [identity]
    made_by = {"created_by_ref": identity.id, **common}
    indicators_by_row: dict[str, list[str]] = {}

    for entry in report.iocs:
        observables, pattern = _observables(stix2, entry, sid)
        objects.extend(observables)
        if pattern is None:
            continue
        indicator = stix2.Indicator(
            id=sid("indicator", f"{entry.type}|{entry.value}"),
            name=f"{entry.type} {entry.value}",
            description=f"{entry.legitimate_usage} {entry.rationale}".strip() or None,
            indicator_types=["malicious-activity"] if entry.likelihood != "low" else ["anomalous-activity"],
            pattern=pattern,
            pattern_type="stix",
            valid_from=first,
            confidence=CONFIDENCE[entry.likelihood],
            labels=[f"log-row:{r}" for r in entry.evidence[:50]],
            **made_by,
        )
        objects.append(indicator)
        if observables:
            seen_first, seen_last = _parse_minute(entry.first_seen, tz, first), _parse_minute(entry.last_seen, tz, last)
            observed = stix2.ObservedData(
                id=sid("observed-data", f"{entry.type}|{entry.value}"),
                first_observed=seen_first,
                last_observed=max(seen_first, seen_last),
                number_observed=max(1, len(entry.evidence)),
                object_refs=[o.id for o in observables],
                **made_by,
            )
            objects.append(observed)
            objects.append(
                stix2.Relationship(
                    id=sid("relationship", f"{indicator.id}|based-on|{observed.id}"),
                    relationship_type="based-on", source_ref=indicator.id, target_ref=observed.id, **made_by,
                )
            )
        for row in entry.evidence:
            indicators_by_row.setdefault(row, []).append(indicator.id)

    for finding, tactic, techniques in stage_attack(report):
        phase = [{"kill_chain_name": "mitre-attack", "phase_name": tactic.shortname}]
        stage_pattern = stix2.AttackPattern(
            id=sid("attack-pattern", f"stage|{finding.stage}"),
            name=f"{finding.stage} ({tactic.name})",
            description=finding.rationale if finding.found_by_rules is not False else f"{finding.rationale} ({NARRATOR_ALONE[0].upper()}{NARRATOR_ALONE[1:]}.)",
            kill_chain_phases=phase,
            external_references=[{"source_name": "mitre-attack", "external_id": tactic.id, "url": tactic.url}],
            confidence=CONFIDENCE[finding.confidence],
            labels=[f"log-row:{r}" for r in finding.evidence[:50]],
            **made_by,
        )
        objects.append(stage_pattern)
        patterns = [stage_pattern]
        for technique in techniques:
            technique_pattern = stix2.AttackPattern(
                id=sid("attack-pattern", f"technique|{finding.stage}|{technique}"),
                name=f"{technique} ({finding.stage})",
                kill_chain_phases=phase,
                external_references=[
                    {"source_name": "mitre-attack", "external_id": technique, "url": technique_url(technique)}
                ],
                confidence=CONFIDENCE[finding.confidence],
                **made_by,
            )
            objects.append(technique_pattern)
            objects.append(
                stix2.Relationship(
                    id=sid("relationship", f"{technique_pattern.id}|related-to|{stage_pattern.id}"),
                    relationship_type="related-to", source_ref=technique_pattern.id, target_ref=stage_pattern.id,
                    **made_by,
                )
            )
            patterns.append(technique_pattern)
        indicating = sorted({i for row in finding.evidence for i in indicators_by_row.get(row, [])})
        for indicator_id in indicating:
            for pattern in patterns:
                objects.append(
                    stix2.Relationship(
                        id=sid("relationship", f"{indicator_id}|indicates|{pattern.id}"),
                        relationship_type="indicates", source_ref=indicator_id, target_ref=pattern.id, **made_by,
                    )
                )

    refs = [o.id for o in objects]
    summary = stix2.Report(
        id=sid("report", report.input_name),
        name=report.title,
        description=report.summary,
        report_types=["threat-report"],
        published=last,
        object_refs=refs or [identity.id],
        external_references=[{"source_name": "aptnarrate", "description": f"input {report.input_name}"}],
        **made_by,
    )
    bundle = stix2.Bundle(objects=[summary, *objects], id=sid("bundle", "bundle"))
    return inert_json(json.loads(bundle.serialize())) + "\n"


def _observables(stix2, entry, sid) -> tuple[list, str | None]:
    """The cyber observables for one IoC and the STIX pattern that matches it."""
    fulls = entry.full_values or [entry.value]
    if entry.type == "ip":
        out, terms = [], []
        for full in fulls:
            address = _address(full) or _address(entry.value)
            if address is None:
                continue
            kind = "ipv4-addr" if address.version == 4 else "ipv6-addr"
            cls = stix2.IPv4Address if address.version == 4 else stix2.IPv6Address
            obj = cls(value=str(address))
            if obj.id not in {o.id for o in out}:
                out.append(obj)
                terms.append(f"{kind}:value = {_quote(str(address))}")
        return out, ("[" + " OR ".join(terms) + "]") if terms else None
    if entry.type in ("file", "module", "process", "directory"):
        out, terms = [], []
        for full in fulls:
            directory, name = _split_path(full)
            name = name or entry.value
            if entry.type == "directory":
                obj = stix2.Directory(path=full)
                out.append(obj)
                terms.append(f"directory:path = {_quote(full)}")
                continue
            parent = stix2.Directory(path=directory) if directory else None
            file = stix2.File(name=name, parent_directory_ref=parent.id if parent else None)
            out.extend([o for o in (parent, file) if o is not None])
            prefix = "process:image_ref." if entry.type == "process" else "file:"
            term = f"{prefix}name = {_quote(name)}"
            if parent is not None:
                term += f" AND {prefix}parent_directory_ref.path = {_quote(directory)}"
            terms.append(term if len(fulls) == 1 else f"({term})")
            if entry.type == "process":
                out.append(stix2.Process(id=sid("process", f"{entry.value}|{full}"), image_ref=file.id))
        unique = list({o.id: o for o in out}.values())
        return unique, "[" + " OR ".join(terms) + "]"
    if entry.type == "registry":
        keys = [_registry_key(full) for full in fulls]
        out = [stix2.WindowsRegistryKey(key=key) for key in keys]
        terms = [f"windows-registry-key:key = {_quote(key)}" for key in keys]
        return list({o.id: o for o in out}.values()), "[" + " OR ".join(terms) + "]"
    return [], None


# STIX 2.1 wants a registry key's hive written out in full ("HKEY_LOCAL_MACHINE", not
# "HKLM"); logs write the short forms or the kernel's \REGISTRY\MACHINE
_HIVES = {
    "hklm": "HKEY_LOCAL_MACHINE",
    "hkcu": "HKEY_CURRENT_USER",
    "hkcr": "HKEY_CLASSES_ROOT",
    "hku": "HKEY_USERS",
    "hkcc": "HKEY_CURRENT_CONFIG",
    "\\registry\\machine": "HKEY_LOCAL_MACHINE",
    "\\registry\\user": "HKEY_USERS",
}
_HIVE = re.compile("^(?:" + "|".join(map(re.escape, _HIVES)) + r")(?=\\|$)", re.IGNORECASE)


def _registry_key(key: str) -> str:
    """``key`` with its hive written out in full, as STIX requires; other text as it is."""
    return _HIVE.sub(lambda m: _HIVES[m.group(0).lower()], key, count=1)


def _address(text: str):
    """The remote address in an IP, ``ip:port`` or ``a:p->b:p`` flow string."""
    candidate = text.split("->")[-1].strip()
    for value in (candidate, candidate.rsplit(":", 1)[0], candidate.strip("[]"), candidate.rsplit(":", 1)[0].strip("[]")):
        try:
            return ipaddress.ip_address(value)
        except ValueError:
            continue
    return None
