"""The hand-written TC3 subgraphs' stage claims under perturbations that should not matter
(the OpTC cases are in ``test_judgment_perturbations.py``: two files, so that two workers
share the work)."""

from __future__ import annotations

import pytest

import judgment_perturb as jp


@pytest.mark.parametrize("case", jp.perturbed_cases("tc3"))
def test_hand_written_claims_survive_perturbations(case):
    assert jp.suite_flips(case) == {}
