"""``write_text``, the one writer behind ``-o``: links, FIFOs, devices, permissions, interrupts."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from aptnarrate import output
from aptnarrate.errors import UsageError
from aptnarrate.output import write_text


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_file_honours_the_umask(tmp_path, umask_022):
    target = tmp_path / "report.md"
    write_text("hello\n", target)
    assert target.read_text() == "hello\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_an_existing_file_keeps_its_mode(tmp_path, umask_022):
    target = tmp_path / "report.md"
    target.write_text("old")
    target.chmod(0o640)
    write_text("new", target)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_symlink_is_written_through_not_replaced(tmp_path):
    real = tmp_path / "real.md"
    real.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    write_text("new", link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.md", "real.md"]


def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_text("through the pipe\n", fifo)
    reader.join(5)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_a_character_device_is_written_into_not_replaced(tmp_path):
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a private /dev/null
    write_text("discarded", node)
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        write_text("x", tmp_path)


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_an_interrupted_write_leaves_no_temp_file_and_keeps_the_old_file(tmp_path, monkeypatch, failure):
    target = tmp_path / "report.md"
    target.write_text("old")

    def broken_fsync(fd):
        raise failure

    monkeypatch.setattr(output.os, "fsync", broken_fsync)
    with pytest.raises((KeyboardInterrupt, UsageError)):
        write_text("x" * 100_000, target)
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
    assert target.read_text() == "old"


def test_the_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(output.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(output.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    write_text("x", tmp_path / "r.md")
    assert calls[:2] == ["fsync", "replace"]


@pytest.mark.parametrize("name", ["y" * 252 + ".md", "\u00e9" * 125 + ".md"], ids=["255-ascii-bytes", "254-utf8-bytes"])
def test_a_legal_name_near_the_length_limit_is_written(tmp_path, name):
    """The temp file was named ``.NAME.XXXXXXXX.tmp``: for a NAME near 255 bytes that is too
    long to create, so ``-o`` (and a batch input with a long name) failed on a legal name."""
    target = tmp_path / name
    write_text("hello\n", target)
    assert target.read_text(encoding="utf-8") == "hello\n"
    assert sorted(os.listdir(tmp_path)) == [name]  # no temp file left
    assert output.remove_stale_temp_files(tmp_path) == 0
