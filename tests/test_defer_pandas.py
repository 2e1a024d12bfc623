"""The command line's ``report`` and ``inspect`` run without importing pandas (0.23 s of a
1M-row run: pyarrow would import it on its first conversion only to recognise pandas
objects) or ``pyarrow.compute`` (70 ms: ``aptnarrate.compute`` calls the kernels), and give
the same bytes as with them; a path that needs pandas (wall-clock times read in a zone)
still imports it on demand (and pandas imports ``pyarrow.compute``). Only a process of its own can show what it imported: one
subprocess runs every command in turn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli_in_process import run_main

from aptnarrate.examples import path as example_path

DRIVER = """
import json, sys
from aptnarrate import cli
seen = []
for argv in json.loads(sys.argv[1]):
    code = cli.main(argv, own_process=True)
    seen.append([code, "pandas" in sys.modules, "pyarrow.compute" in sys.modules])
print(json.dumps(seen))
"""


def _commands(out: Path) -> list[list[str]]:
    dropper, exfil, macro, benign = (str(example_path(n)) for n in ("dropper", "exfil", "macro", "benign"))
    edges = str(example_path("dropper", "edges"))
    return [
        ["report", dropper, "--backend", "offline", "-o", str(out / "a.md")],
        ["report", edges, "--backend", "offline", "--format", "json", "-o", str(out / "b.json")],
        ["report", exfil, "--backend", "offline", "--format", "html", "-o", str(out / "c.html")],
        ["report", macro, "--backend", "offline", "--format", "stix", "-o", str(out / "d.json")],
        ["report", benign, "--backend", "offline", "--format", "csv", "-o", str(out / "e.csv")],
        ["inspect", benign, "--format", "json", "-o", str(out / "f.json")],
        ["inspect", edges, "-o", str(out / "g.txt")],
        # epoch times shown in a named zone: the zone's own rules (zones.py), no pandas
        ["report", edges, "--backend", "offline", "--timezone", "America/Toronto", "-o", str(out / "i.md")],
        # wall-clock times read in another zone: pandas' zone rules, imported when needed
        ["report", dropper, "--backend", "offline", "--input-timezone", "Europe/Paris", "-o", str(out / "h.md")],
    ]


def test_report_and_inspect_import_no_pandas_nor_arrow_compute_and_write_what_they_write_with_them(tmp_path):
    alone, here = tmp_path / "alone", tmp_path / "here"
    alone.mkdir()
    here.mkdir()
    commands = _commands(alone)
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert [code for code, _, _ in seen] == [0] * len(commands), done.stderr
    assert [pandas for _, pandas, _ in seen] == [False] * (len(commands) - 1) + [True]
    assert [compute for _, _, compute in seen] == [False] * (len(commands) - 1) + [True]
    for argv in _commands(here):  # this process has pandas loaded (the test suite imports it)
        assert run_main(argv)[0] == 0
    for written in sorted(alone.iterdir()):
        assert written.read_bytes() == (here / written.name).read_bytes(), written.name


def test_a_library_caller_keeps_pandas_importable():
    """``defer_pandas`` is the command line's alone: ``main`` without ``own_process`` (what
    a notebook or a test calls) changes nothing in the process."""
    code = (
        "import sys\n"
        "from aptnarrate import cli\n"
        "from aptnarrate.examples import path\n"
        "cli.main(['inspect', str(path('benign')), '-o', '/dev/null'])\n"
        "import pandas\n"
        "print(pandas.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.split()[-1] == "pandas", done.stderr
