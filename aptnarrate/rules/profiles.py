"""Dataset profiles (``aptnarrate/data/profiles.yaml``): declared, never guessed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..data import load_data_yaml
from ..errors import UsageError


@dataclass(frozen=True)
class DatasetProfile:
    name: str
    description: str
    internal_networks: tuple[str, ...]


@lru_cache(maxsize=1)
def _raw() -> dict:
    return load_data_yaml("profiles.yaml")


def profiles() -> dict[str, DatasetProfile]:
    return {
        name: DatasetProfile(name, str(item.get("description", "")), tuple(str(n) for n in item.get("internal_networks", ())))
        for name, item in _raw()["profiles"].items()
    }


def get_profile(name: str) -> DatasetProfile:
    known = profiles()
    if name not in known:
        raise UsageError(f"unknown --profile {name!r}; expected one of {', '.join(sorted(known))}")
    return known[name]


def public_resolvers() -> dict[str, str]:
    """Address -> operator of well-known public DNS resolvers (a copy: callers may keep it)."""
    return dict(_public_resolvers())


@lru_cache(maxsize=1)
def _public_resolvers() -> dict[str, str]:
    return {str(k): str(v) for k, v in (_raw().get("public_resolvers") or {}).items()}
