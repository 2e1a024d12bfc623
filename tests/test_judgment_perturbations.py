"""The hand-written OpTC subgraphs' stage claims under perturbations that should not matter
(see ``test_judgment_robustness.py``; the TC3 cases are in
``test_judgment_perturbations_tc3.py``, so that two workers share the work)."""

from __future__ import annotations

import pytest

import judgment_perturb as jp


@pytest.mark.parametrize("case", jp.perturbed_cases("optc"))
def test_hand_written_claims_survive_perturbations(case):
    assert jp.suite_flips(case) == {}


def test_attacker_renamed_keeps_a_program_and_its_process_one_name():
    """A path keeps its folders and takes its file name's new name: a program written as
    /tmp/.X11-unix/xsyncd and run as the process xsyncd is one program after renaming (the
    whole path renamed apart from the process's name broke that link, and a rule about a
    dropped program lost it)."""
    assert jp._other_name("/tmp/.X11-unix/xsyncd") == "/tmp/.X11-unix/" + jp._other_name("xsyncd")
    assert jp._other_name("C:\\Users\\a\\evil.exe") == "C:\\Users\\a\\" + jp._other_name("evil.exe")
    assert jp._other_name("evil.exe").endswith(".exe") and jp._other_name("evil.exe") != "evil.exe"


def test_suite_perturbations_skip_only_what_they_would_repeat():
    """A perturbation that leaves a case's CSV unchanged is not run again; one that changes
    it is (the TRACE case has no Windows names to recase, but has a benign name)."""
    case = next(c for c in jp.perturbed_cases("tc3"))
    frame = jp.read_frame(jp.HANDMADE / f"{case}.csv")
    assert jp._frame_key(jp.windows_names_recased(frame)) == jp._frame_key(frame)
    assert jp._frame_key(jp.PERTURBATIONS["shift-5h, other-seconds, shuffled"](frame)) != jp._frame_key(frame)
