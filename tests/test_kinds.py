"""Names shown for entities (kinds.display_name)."""

from __future__ import annotations

import pytest

from aptnarrate.preprocess.kinds import display_name


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        # a Windows image path holds spaces in its folders: it is not a command line
        ("C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", "WINWORD.EXE"),
        ("C:\\Program Files (x86)\\Mozilla Firefox\\firefox.exe", "firefox.exe"),
        # command lines name their executable, quoted or not
        ('"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "C:\\Users\\a\\x.docm"', "WINWORD.EXE"),
        ("C:\\Windows\\System32\\cmd.exe /c whoami", "cmd.exe"),
        ('"C:\\Tools\\my tool\\run" -x', "run"),
        ("/usr/bin/python3 /tmp/x.py", "python3"),
        # neither: the value as it is, its last path part
        ("C:\\Tools\\my tool", "my tool"),
        ("svchost.exe", "svchost.exe"),
        ("kworker/0:1 H", "0:1 H"),
    ],
)
def test_a_process_is_named_by_its_executable(value, shown):
    assert display_name("process", value) == shown


def test_a_long_name_without_an_extension_is_read_in_linear_time():
    value = "C:\\" + "a " * 200_000
    assert display_name("process", value) == value.rstrip("/\\").rsplit("\\", 1)[-1]
