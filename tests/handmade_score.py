"""False claims and misses of the offline judgment over the hand-written cases
(``tests/data/handmade/cases.json``), with and without the dataset profile::

    python tests/handmade_score.py

A stage the offline report states (the rules' claims after grounding) that the analyst's
list lacks is a false claim; one listed and not stated is a miss. Prints one line per case and judgment that differs, then the totals.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import judgment_perturb as jp  # noqa: E402

HANDMADE = jp.HANDMADE


def score() -> tuple[int, int, list[str]]:
    cases = json.loads((HANDMADE / "cases.json").read_text(encoding="utf-8"))["cases"]
    false = missed = 0
    lines = []
    for case in sorted(cases):
        for declared in (False, True):
            entry = cases[case]
            expected = set(entry["stages"] if declared else entry.get("stages_without_profile", entry["stages"]))
            found = set(jp.reported(jp.case_file(HANDMADE, case), jp.profile_networks(case) if declared else ())[0])
            false += len(found - expected)
            missed += len(expected - found)
            if found != expected:
                lines.append(f"{case}\tprofile={declared}\tanalyst={sorted(expected)}\tclaimed={sorted(found)}")
    return false, missed, lines


if __name__ == "__main__":
    false, missed, lines = score()
    print("\n".join(lines))
    print(f"{false} false claim(s), {missed} miss(es) over {len(json.loads((HANDMADE / 'cases.json').read_text())['cases'])} cases x 2 (bare, profile)")
