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
    data_only = listed - folders - {"aptnarrate.prompts"}
    # the rest are data folders, listed so setuptools ships them without a warning
    for name in data_only:
        folder = ROOT / name.replace(".", "/")
        assert folder.is_dir() and not list(folder.glob("*.py")), name
        assert _setuptools()["package-data"].get(name), f"{name} ships no data"
    # and every folder holding data inside a package is listed (else: "Package would be ignored")
    data_folders = {
        ".".join(d.relative_to(ROOT).parts)
        for d in (ROOT / "aptnarrate").rglob("*")
        if d.is_dir() and "__pycache__" not in d.parts and not (d / "__init__.py").exists() and any(f.is_file() for f in d.iterdir())
    }
    assert data_folders - listed == set(), "list these data folders in [tool.setuptools] packages"


def test_prompts_package_is_mapped_and_shipped():
    config = _setuptools()
    folder = ROOT / config["package-dir"]["aptnarrate.prompts"]
    assert (folder / "__init__.py").is_file()
    assert "*.md" in config["package-data"]["aptnarrate.prompts"]
    assert list(folder.glob("*.md"))


def test_every_data_file_of_a_package_is_shipped():
    """Each non-Python file tracked in a package folder matches one of that package's
    ``package-data`` globs: ``report.css`` did not (``assets/*.css`` was missing), so
    ``report --format html`` failed with an internal error after ``pip install .`` while the
    editable install, and every test, read it from the source tree."""
    import fnmatch
    import subprocess

    config = _setuptools()
    folders = {name: ROOT / config.get("package-dir", {}).get(name, name.replace(".", "/")) for name in config["packages"]}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.split()
    if not tracked:  # not a git checkout (an sdist): every file under the folders
        tracked = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    missing = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        owners = [(package, folder) for package, folder in folders.items() if folder in path.parents]
        if not owners:
            continue
        package, folder = max(owners, key=lambda owner: len(owner[1].parts))  # the innermost package
        relative = path.relative_to(folder).as_posix()
        globs = config.get("package-data", {}).get(package, [])
        if not any(fnmatch.fnmatchcase(relative, glob) and relative.count("/") == glob.count("/") for glob in globs):
            missing.append(f"{package}: {relative}")
    assert missing == [], "add globs for these to [tool.setuptools.package-data] in pyproject.toml"
