"""MITRE ATT&CK tactics behind OCR-APT's APT stages, loaded from ``data/attack.json``.

One place for the mapping, so the Markdown, STIX, Navigator and HTML renderers (and the
rules, which may set ``StageFinding.tactic`` themselves) agree on it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

ATTACK_URL = "https://attack.mitre.org"
_TACTIC_ID = re.compile(r"^TA\d{4}$")
_TECHNIQUE_ID = re.compile(r"^T\d{4}(?:\.\d{3})?$")


@dataclass(frozen=True)
class Tactic:
    id: str  # TA0011
    name: str  # Command and Control
    shortname: str  # command-and-control (the kill-chain phase name in STIX and Navigator)

    @property
    def url(self) -> str:
        return f"{ATTACK_URL}/tactics/{self.id}/"


@lru_cache(maxsize=1)
def _data() -> dict:
    text = resources.files("aptnarrate.data").joinpath("attack.json").read_text(encoding="utf-8")
    return json.loads(text)


def attack_version() -> str:
    return _data()["attack_version"]


def stage_tactics() -> dict[str, Tactic]:
    """Every APT stage name -> its ATT&CK tactic."""
    return {
        stage: Tactic(entry["tactic_id"], entry["tactic"], entry["shortname"])
        for stage, entry in _data()["stages"].items()
    }


def tactic_for_stage(stage: str, tactic_id: str | None = None) -> Tactic:
    """The tactic of ``stage``; a valid ``tactic_id`` the report set overrides the default
    (keeping the default's names when the ids agree)."""
    default = stage_tactics()[stage]
    if tactic_id and tactic_id != default.id and _TACTIC_ID.match(tactic_id):
        by_id = {t.id: t for t in stage_tactics().values()}
        return by_id.get(tactic_id, Tactic(tactic_id, tactic_id, default.shortname))
    return default


def is_technique_id(value: str) -> bool:
    return bool(_TECHNIQUE_ID.match(value))


def technique_url(technique_id: str) -> str:
    return f"{ATTACK_URL}/techniques/{technique_id.replace('.', '/')}/"
