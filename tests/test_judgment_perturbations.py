"""The hand-written subgraphs' stage claims under perturbations that should not matter
(see ``test_judgment_robustness.py``; apart from it so that two workers share the work)."""

from __future__ import annotations

import pytest

import judgment_perturb as jp
from judgment_perturb import CASES, HANDMADE

# a cheaper set for the hand-written cases (the script runs every perturbation)
SUITE_PERTURBATIONS = (
    "benign-renamed", "attacker-renamed", "public-addresses-renamed", "windows-names-recased", "shift-5h", "dst-change", "other-seconds",
    "doubled-seconds", "shuffled",
)


@pytest.mark.parametrize("case", sorted(c for c in CASES if (HANDMADE / f"{c}.csv").is_file()))
def test_hand_written_claims_survive_perturbations(case):
    # the perturbations rewrite OCR-APT descriptions: cases written as edge lists only are not perturbed
    frame = jp.read_frame(HANDMADE / f"{case}.csv")
    networks = jp.networks(case, True)
    base = jp.claims(frame, networks).stages
    flips = {name: sorted(jp.claims(jp.PERTURBATIONS[name](frame), networks).stages) for name in SUITE_PERTURBATIONS}
    assert {name: stages for name, stages in flips.items() if set(stages) != base} == {}


def test_attacker_renamed_keeps_a_program_and_its_process_one_name():
    """A path keeps its folders and takes its file name's new name: a program written as
    /tmp/.X11-unix/xsyncd and run as the process xsyncd is one program after renaming (the
    whole path renamed apart from the process's name broke that link, and a rule about a
    dropped program lost it)."""
    assert jp._other_name("/tmp/.X11-unix/xsyncd") == "/tmp/.X11-unix/" + jp._other_name("xsyncd")
    assert jp._other_name("C:\\Users\\a\\evil.exe") == "C:\\Users\\a\\" + jp._other_name("evil.exe")
    assert jp._other_name("evil.exe").endswith(".exe") and jp._other_name("evil.exe") != "evil.exe"
