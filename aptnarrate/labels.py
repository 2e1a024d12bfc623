"""The closed sets of labels a report uses: OCR-APT's eight APT stage names, in kill-chain
order, and the three confidence levels.

A leaf module: what only checks a label (the pattern rules, loaded by ``inspect``) does not
load the report models (``aptnarrate.models``, about 0.15 s of pydantic class building);
``models`` re-exports these names.
"""

from __future__ import annotations

from typing import Literal, get_args

Stage = Literal[
    "Initial Compromise",
    "Internal Reconnaissance",
    "Command and Control",
    "Privilege Escalation",
    "Lateral Movement",
    "Maintain Persistence",
    "Data Exfiltration",
    "Covering Tracks",
]
APT_STAGES: tuple[str, ...] = get_args(Stage)
Level = Literal["low", "moderate", "high"]
LEVELS: tuple[str, ...] = get_args(Level)
