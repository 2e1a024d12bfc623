"""Wording shared by generated texts."""

from __future__ import annotations

import pytest

from aptnarrate import examples
from aptnarrate.pipeline import inspect_input
from aptnarrate.wording import mid_sentence


@pytest.mark.parametrize(
    ("phrase", "continued"),
    [
        ("Scheduled task created, changed or started", "scheduled task created, changed or started"),
        ("PowerShell activity", "PowerShell activity"),
        ("LSASS memory read", "LSASS memory read"),
        ("A", "a"),
        ("", ""),
    ],
)
def test_mid_sentence_keeps_names_and_acronyms(phrase, continued):
    assert mid_sentence(phrase) == continued


def test_rank_reasons_keep_a_rule_title_s_name_and_end_one_sentence_once():
    reasons = {c.value: c.reasons for c in inspect_input(examples.path("macro", "edges"), timezone="America/Toronto").candidates}
    assert "PowerShell activity (ATT&CK T1059.001)" in reasons["powershell.exe"]
    assert "persistence location: Registry Run key: programs started at every logon" in reasons["MsUpdate"]
