"""The wheel ships every package: pyproject's explicit `packages` list names each package folder.

The list is explicit because setuptools' discovery cannot see `aptnarrate.prompts`, which
`package-dir` maps to the top-level `prompts/` folder; a subpackage missing from the list would
install without its modules and fail only after `pip install .` (the editable install hides it).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_folder_is_listed():
    folders = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "aptnarrate").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    listed = set(_setuptools()["packages"])
    assert folders - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - folders == {"aptnarrate.prompts"}


def test_prompts_package_is_mapped_and_shipped():
    config = _setuptools()
    folder = ROOT / config["package-dir"]["aptnarrate.prompts"]
    assert (folder / "__init__.py").is_file()
    assert "*.md" in config["package-data"]["aptnarrate.prompts"]
    assert list(folder.glob("*.md"))
