"""Build the shipped host example (aptnarrate/examples/host/) from the single examples.

One synthetic host, one day (2025-05-14), four flagged subgraphs, as a detector would
flag them: the dropper's delivery and its beaconing as two subgraphs (split at 09:15),
the exfiltration moved to 11:02 the same day, and the nightly package update moved to
03:00 that day (benign). Only dates and times change; every event comes from
aptnarrate/examples (synthetic, written for aptnarrate). Rerun after changing them:

    python bench/make_host_example.py
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "aptnarrate" / "examples"
TARGET = EXAMPLES / "host"
DAY = "2025-05-14"


def _rows(name: str) -> list[tuple[str, str]]:
    with (EXAMPLES / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return [(r["description"], r["timestamp"]) for r in csv.DictReader(handle)]


def _shift(rows, start: str) -> list[tuple[str, str]]:
    first = datetime.fromisoformat(rows[0][1])
    offset = datetime.fromisoformat(start) - first.replace(second=0)
    return [(d, (datetime.fromisoformat(t) + offset).strftime("%Y-%m-%d %H:%M:%S")) for d, t in rows]


def _write(name: str, rows) -> None:
    with (TARGET / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["description", "timestamp"])
        writer.writerows(rows)


def main() -> None:
    TARGET.mkdir(exist_ok=True)
    dropper = _rows("dropper")
    _write("host_subgraph_1", [r for r in dropper if r[1] < f"{DAY} 09:15"])
    _write("host_subgraph_2", [r for r in dropper if r[1] >= f"{DAY} 09:15"])
    _write("host_subgraph_3", _shift(_rows("exfil"), f"{DAY} 11:02:00"))
    _write("host_subgraph_4", _shift(_rows("benign"), f"{DAY} 03:00:00"))


if __name__ == "__main__":
    main()
