"""OCR-APT's eight APT stage names, in kill-chain order.

A leaf module: what only checks a stage name (the pattern rules, loaded by ``inspect``)
does not load the report models (``aptnarrate.models``, about 0.15 s of pydantic class
building); ``models`` re-exports both names.
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
