"""Benign mechanisms (``aptnarrate/data/benign.yaml``): routine activity that looks like an
attack stage. They lower likelihood and say why in words; they never hide an IoC row."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

import yaml

from .patterns import PatternRule, Row, _selection_matches


@dataclass(frozen=True)
class Mechanism:
    id: str
    says: str
    suppresses: tuple[str, ...]
    match: tuple[dict[str, Any], ...]

    def explains(self, row: Row) -> bool:
        return any(_selection_matches(selection, row) for selection in self.match)


@lru_cache(maxsize=1)
def mechanisms() -> tuple[Mechanism, ...]:
    text = resources.files("aptnarrate.data").joinpath("benign.yaml").read_text(encoding="utf-8")
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    found = []
    for item in raw["mechanisms"]:
        # validate the selections with the pattern rules' own checks
        PatternRule._selections(item["match"])
        found.append(Mechanism(item["id"], item["says"], tuple(item.get("suppresses") or ()), tuple(item["match"])))
    return tuple(found)


def explaining(rows: Iterable[Row]) -> list[Mechanism]:
    """The mechanisms that explain at least one of ``rows``, in file order."""
    rows = list(rows)
    return [m for m in mechanisms() if any(m.explains(r) for r in rows)]
