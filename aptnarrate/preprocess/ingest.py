"""Read an anomalous-subgraph CSV into an :class:`EventTable`.

Two layouts are understood, told apart by the header (``input_format`` overrides):

* ``ocrapt``: OCR-APT's per-subgraph file, ``description,timestamp``, where a description
  reads ``The subject_process: thunderbird RENAME the file_object_file: xulstore.json`` or
  ``A subject_process CLOSE a file_object_file``.
* ``edges``: an edge list, ``subject_uuid,subject_type,subject_attr,predicate,timestamp,
  object_uuid,object_type,object_attr`` (OCR-APT's SPARQL result shape).

Speed comes from parsing each *distinct* description, edge or timestamp once: a subgraph of
a million rows has a few thousand distinct descriptions. Everything attacker-controlled
(names, paths) stays a plain string value; nothing here interprets it.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
import sys
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .. import compute as pc
from ..arrays import Columns, factorize, pandas_module
from ..wording import file_name_text
from ..errors import InputError, UsageError
from .memory import release_freed_memory
from .zones import utc_to_wall
from .kinds import canonical_action, canonical_kind, display_name, is_known_action

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    import pandas as pd

OCRAPT_COLUMNS = ("description", "timestamp")
EDGE_COLUMNS = (
    "subject_uuid",
    "subject_type",
    "subject_attr",
    "predicate",
    "timestamp",
    "object_uuid",
    "object_type",
    "object_attr",
)
FORMATS = ("auto", "ocrapt", "edges")
EPOCH_UNITS = ("auto", "s", "ms", "us", "ns")
# Bigger inputs are refused before they are read: OCR-APT subgraphs are megabytes (a
# million events is ~80 MB), so 1 GiB is >10x any real subgraph while a run stays within
# ~2-3 GiB (standard input is held whole while parsed). --max-input-bytes changes it.
DEFAULT_MAX_INPUT_BYTES = 1 << 30
# the block of the checking pass over an input (and of reads from standard input): 1 MiB
# keeps its buffer and numpy's temporary mask in cache and reused (16 MiB slices took twice
# as long to count newlines in, and each temporary touched fresh pages)
_READ_CHUNK = 1 << 20
# CSV blocks parsed in parallel: 4 MiB keeps both cores busy from a ~10 MB file up, while a
# 1M-row edge list's 8 dictionary columns come in 45 chunks instead of 180 (unifying the
# chunks' dictionaries costs per chunk: 1.03 -> 0.72 s CPU for read + unify, measured)
_BLOCK_SIZE = 4 << 20
MAX_LISTED_SKIPS = 1000  # the metadata lists this many skipped lines; all are counted
WALL_CLOCK_BASIS = "wall-clock times without a zone, shown as written"

TRIPLE_COLUMNS = (
    "subject_id",
    "subject_kind",
    "subject_name",
    "subject_value",
    "action",
    "object_id",
    "object_kind",
    "object_name",
    "object_value",
)

# "The <type>: <name> ACTION the <type>: <name>" / "A <type> ACTION a <type>".
# Names may hold spaces, colons and upper-case words, so a line can have several readings:
# every place where " ACTION the <type>: " (or " ACTION a <type>" at the end) follows the
# subject is a candidate split. See ``_parse_description`` for which one wins.
_SUBJECT_HEAD = re.compile(r"^(?:The (?P<s_type>[A-Za-z_]+) ?: |An? (?P<s_type_bare>[A-Za-z_]+)(?= ))")
# every space where an action and an object's type follow (the rest a lookahead, so that
# candidates may overlap); the space outside it lets the regex engine skip to each space
_SPLIT = re.compile(
    r" (?=(?P<action>[A-Z][A-Z0-9_]*) (?:the (?P<o_type>[A-Za-z_]+) ?: |an? (?P<o_type_bare>[A-Za-z_]+)$))"
)
_SPLIT_LENGTH = re.compile(r" [A-Z][A-Z0-9_]* (?:the [A-Za-z_]+ ?: |an? [A-Za-z_]+$)")
_AWARE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_NUMERIC = r"^\s*-?\d+(\.\d+)?\s*$"
_TEXT = pa.dictionary(pa.int32(), pa.string())
_PLAIN_TIME = r"^\d{4}-[01]\d-[0-3]\d (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d$"
_NON_BLANK = re.compile(rb"\S")


@dataclass(frozen=True)
class SkippedLine:
    """An input line that could not be used. ``text`` is the raw line: untrusted data."""

    line: int
    column: str | None
    reason: str
    text: str = ""


@dataclass(frozen=True)
class IngestOptions:
    input_format: str = "auto"
    timezone: str = "UTC"
    epoch_unit: str = "auto"
    columns: Mapping[str, str] = field(default_factory=dict)  # role -> column name in the file
    strict: bool = False
    input_timezone: str | None = None  # the zone of zone-less wall-clock times, to convert them
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES


@dataclass(frozen=True)
class EventTable:
    """The parsed input.

    Both are ``Columns`` (numpy arrays by name; ``.to_pandas()`` for a DataFrame).
    ``events`` has one row per usable input row: ``line`` (line number in the input file,
    the header being line 1), ``time`` (int64 nanoseconds of the wall-clock time in the
    display zone, as if it were UTC) and ``triple`` (row index into ``triples``).
    ``triples`` has one row per distinct (subject, action, object), see ``TRIPLE_COLUMNS``.
    """

    source: str
    input_format: str
    timezone: str
    time_basis: str
    events: Columns
    triples: Columns
    skipped: tuple[SkippedLine, ...]
    skipped_count: int
    rows_read: int
    # lines whose description has more than one well-formed reading (a name that contains
    # " ACTION the <type>: "): parsed as the last one, listed here so the report can say so
    ambiguous_lines: tuple[int, ...] = ()
    ambiguous_count: int = 0


# --------------------------------------------------------------------------- entry points


def read_events(
    source: str | Path | pd.DataFrame, options: IngestOptions | None = None, name: str | None = None
) -> EventTable:
    """Read a CSV path, or a DataFrame with the same columns, into an EventTable.

    A regular file is never held whole: one pass in blocks checks and counts it (``_scan``),
    then Arrow parses it from the file. Anything else given as a path (a pipe, a device) is
    read into memory first, up to the limit, as standard input is.
    """
    options = options or IngestOptions()
    # pandas is imported only for a DataFrame (which only exists once pandas is)
    pandas = sys.modules.get("pandas")  # None also where ``defer_pandas`` holds it back
    if pandas is not None and isinstance(source, pandas.DataFrame):
        return _from_dataframe(source, options, name or "dataframe")
    path = Path(source)
    with _reading(path):
        with open(path, "rb") as handle:
            size = _regular_size(handle)
            if size is not None:
                parsed = _parse_file(handle, size, str(path), options)
            else:
                data = read_capped(handle, str(path), options.max_input_bytes)
    if size is not None:
        # built outside ``_reading``: an OSError while building is not the input path's fault
        # (it would read "file not found"), and the file is closed once parsed
        return _finish(*parsed, str(path), options)
    # handed over, not passed: the input's bytes (as large as the input) are freed as soon as
    # the CSV reader has parsed them, instead of living through the whole build
    owned = [data]
    del data
    return _read_owned(owned, str(path), options)


def _regular_size(stream) -> int | None:
    """The size of the regular file behind ``stream``; None for anything else."""
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # io.BytesIO and friends have no descriptor
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


@contextmanager
def _reading(path: Path):
    """The OS's errors on opening or reading ``path``, as the InputError a user can act on."""
    try:
        yield
    except FileNotFoundError:
        raise InputError("file not found", path=str(path), hint="check the path") from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a CSV file", path=str(path)) from None
    except PermissionError:
        raise InputError("permission denied", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", path=str(path)) from None


def check_readable(source: str | Path) -> None:
    """Raise the InputError ``read_events`` would for a path it cannot open (missing, a
    folder, no permission), without reading it: callers that start slow work alongside
    the read (the model path's warm-up) check first, so such a mistake is reported at once."""
    path = Path(source)
    with _reading(path):
        with open(path, "rb"):
            pass


def _too_big(name: str, limit: int, size: str) -> InputError:
    return InputError(
        f"input is {size}, more than the limit of {limit} bytes",
        path=name,
        hint="raise --max-input-bytes, or split the input",
    )


def read_capped(stream, name: str, limit: int = DEFAULT_MAX_INPUT_BYTES) -> bytes:
    """All of a binary stream, refusing one over ``limit`` bytes: a regular file by its size
    before reading, anything else (stdin, a pipe, /dev/zero) after at most ``limit + 1`` bytes."""
    size = _regular_size(stream)
    chunks: list[bytes] = []
    if size is not None:
        if size > limit:
            raise _too_big(name, limit, f"{size} bytes")
        data = stream.read(size + 1)  # one read of the known size; +1 sees a file that grew
        if len(data) <= size:
            return data
        chunks.append(data)
    total = sum(len(c) for c in chunks)
    while total <= limit:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise _too_big(name, limit, f"at least {limit + 1} bytes")
    return b"".join(chunks)


def read_events_bytes(data: bytes, name: str, options: IngestOptions | None = None) -> EventTable:
    """Read CSV bytes (a file's contents or standard input); ``name`` is used in messages."""
    return _read_owned([data], name, options)


def _read_owned(owned: list[bytes], name: str, options: IngestOptions | None) -> EventTable:
    """``read_events_bytes`` on the one bytes object in ``owned``, taken out of the list so
    that, when the caller held no other reference, it is freed once parsed."""
    source = _BytesInput(owned.pop())
    options = options or IngestOptions()
    parsed = _parse(source, name, options)
    del source  # parsed: only the records are needed from here on
    return _finish(*parsed, name, options)


def _parse_file(handle, size: int, name: str, options: IngestOptions) -> tuple:
    """``read_events`` on an open regular file of ``size`` bytes, up to ``_finish``: checked
    and counted in one pass of blocks read into one reused buffer, then parsed by Arrow from
    the file itself, so neither the file's bytes nor a copy of them are ever held whole."""
    if size > options.max_input_bytes:
        raise _too_big(name, options.max_input_bytes, f"{size} bytes")
    return _parse(_FileInput(handle, size), name, options)


def _parse(source: _BytesInput | _FileInput, name: str, options: IngestOptions) -> tuple:
    """The steps both inputs share, up to ``_finish``'s arguments: the records (handed over
    in a list, see ``_finish``), their lines, skipped lines, rows read, format and zone."""
    zone = check_options(options)
    scan = _scan(source.blocks(name, options.max_input_bytes))
    scan.start = source.start
    fmt, roles = _check_scan(scan, options, name)
    with source.arrow(scan, name) as native:
        table, bad_rows = _read_csv(native, scan.has_quote, roles, name)
    source.check_unchanged(scan, name)
    records, lines, skipped = _locate_lines(source, scan, table, bad_rows, fmt, roles, name)
    rows_read = table.num_rows
    handed = [records]
    del table, records
    return handed, lines, skipped, rows_read, fmt, zone


class _BytesInput:
    """The input as one bytes object (standard input, a pipe, ``read_events_bytes``)."""

    def __init__(self, data: bytes):
        self.data = data
        self.start = len(_BOM) if data.startswith(_BOM) else 0

    def blocks(self, name: str, limit: int):
        data = self.data
        return (data[i : i + _READ_CHUNK] for i in range(self.start, len(data), _READ_CHUNK))

    @contextmanager
    def arrow(self, scan: _Scan, name: str):
        yield pa.BufferReader(pa.py_buffer(self.data).slice(scan.start))  # the bytes after the mark, without a copy

    def check_unchanged(self, scan: _Scan, name: str) -> None:
        pass  # bytes cannot change

    def text(self, scan: _Scan) -> io.TextIOBase:
        return io.StringIO(str(memoryview(self.data)[scan.start :], "utf-8"), newline="")


class _FileInput:
    """An open regular file, never held whole: scanned in blocks, parsed by Arrow from the
    file, and read again as text from where its scan started where lines must be located."""

    def __init__(self, handle, size: int):
        self.handle, self.size = handle, size
        self.start = len(_BOM) if handle.read(len(_BOM)) == _BOM else 0
        handle.seek(self.start)

    def blocks(self, name: str, limit: int):
        return _file_blocks(self.handle, name, limit)

    @contextmanager
    def arrow(self, scan: _Scan, name: str):
        with _reopened(self.handle, name) as native:
            # exactly the bytes scanned: a file appended to meanwhile is read as it was scanned
            yield native.get_stream(scan.start, scan.size)

    def check_unchanged(self, scan: _Scan, name: str) -> None:
        now = os.fstat(self.handle.fileno()).st_size
        # cut short meanwhile: shorter than what was scanned and than it was before the scan (a
        # file whose size under-reports, 0 on procfs-like filesystems, never shrinks by it)
        if now < scan.start + scan.size and now < self.size:
            raise _changed(name)

    def text(self, scan: _Scan) -> io.TextIOBase:
        self.handle.seek(scan.start)
        return io.TextIOWrapper(io.BufferedReader(_Window(self.handle, scan.size)), encoding="utf-8", newline="")


def _finish(handed: list, lines, skipped, rows_read: int, fmt: str, zone, name: str, options: IngestOptions) -> EventTable:
    """The EventTable from the parsed records, the one item of ``handed``: taken out of
    the list so that no caller's frame keeps them (the parsed table, as large as half the
    file) alive past ``_build``, when the memory they held is given back."""
    records = handed.pop()
    if records is None or len(lines) == 0:
        if skipped:
            raise _all_rejected(skipped, name)
        raise InputError("no events after the header line", path=name, line=1, hint="the file has a header only")
    columns = {role: records.column(role) for role in records.column_names}
    del records
    table = _build(columns, np.asarray(lines, dtype=np.int64), skipped, fmt, name, options, zone, rows_read)
    # the parsed text columns (a quarter of the file's size) are done with; the allocators
    # keep the pages they freed (300 MB at 10M rows) unless asked to give them back
    del columns
    release_freed_memory()
    return table


def _changed(name: str) -> InputError:
    return InputError("the file changed while it was read", path=name, hint="read a copy that is not being written to")


@contextmanager
def _reopened(handle, name: str):
    """The open file as an Arrow file, which Arrow reads without the GIL or Python's bytes.
    Reopened through /proc where there is one, so it is the very file scanned even if its
    path was replaced meanwhile."""
    native = None
    for path in (f"/proc/self/fd/{handle.fileno()}", name):
        try:
            native = pa.OSFile(path)
            break
        except OSError as exc:  # no /proc (macOS), or the path itself cannot be opened
            problem = exc
    if native is None:
        raise InputError(f"cannot read file: {problem}", path=name) from None
    try:
        yield native
    finally:
        native.close()


class _Window(io.RawIOBase):
    """At most ``size`` bytes of a binary stream, from where it stands."""

    def __init__(self, stream, size: int):
        self._stream, self._left = stream, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._stream.readinto(memoryview(buffer)[: min(len(buffer), self._left)])
        self._left -= count
        return count


def _file_blocks(handle, name: str, limit: int):
    """The file from where it stands, in blocks of ``_READ_CHUNK`` bytes read into one reused
    buffer: (buffer, byte count) pairs, the buffer overwritten by the next. A file that
    grows past ``limit`` while it is read is refused."""
    buffer = bytearray(_READ_CHUNK)
    view = memoryview(buffer)
    total = handle.tell()
    while True:
        count = 0
        while count < len(buffer):  # a read may return less than asked before the end
            got = handle.readinto(view[count:])
            if not got:
                break
            count += got
        total += count
        if total > limit:
            raise _too_big(name, limit, f"at least {limit + 1} bytes")
        if count:
            yield buffer, count
        if count < len(buffer):
            return


# --------------------------------------------------------------------------- one pass of checks

_BOM = b"\xef\xbb\xbf"
_HEAD = 4096  # the bytes ``_refuse_non_text`` looks at


@dataclass
class _Scan:
    """What one pass over the input after its byte-order mark found (offsets from there)."""

    start: int = 0  # where the pass started: the byte-order mark's length, or 0
    size: int = 0
    newlines: int = 0
    last_byte: int = -1
    has_quote: bool = False
    non_blank: bool = False  # a byte that is not whitespace anywhere
    head: bytearray = field(default_factory=bytearray)  # the first _HEAD bytes
    header: bytearray = field(default_factory=bytearray)  # the first line, without its newline
    header_end: int = -1  # offset of the first newline
    events_follow: bool = False  # a byte that is not whitespace after the first newline
    bad_utf8: tuple[int, int, int, int] | None = None  # (offset, byte, line, column) of the first


def _scan(blocks) -> _Scan:
    """Every whole-input check and count, block by block: ``blocks`` yields (block, count)
    pairs or plain blocks, a block being bytes or a bytearray (valid up to count) that may
    be reused for the next. UTF-8 is validated across block boundaries; the first invalid
    byte is located by line and column as a whole-file decode would. Stops early after
    an invalid byte, once the head is seen: that is the error to report."""
    scan = _Scan()
    decoder = codecs.getincrementaldecoder("utf-8")()
    last_newline = -1  # offset of the last newline before the current block
    for item in blocks:
        block, count = item if isinstance(item, tuple) else (item, len(item))
        offset = scan.size
        if len(scan.head) < _HEAD:
            scan.head += block[: min(count, _HEAD - len(scan.head))]
        if scan.bad_utf8 is None:
            pending = decoder.getstate()[0]  # an incomplete character's bytes from the block before
            if pending or not (block if count == len(block) else block[:count]).isascii():
                try:
                    decoder.decode(memoryview(block)[:count])
                except UnicodeDecodeError as exc:
                    scan.bad_utf8 = _bad_byte(exc, offset - len(pending), block, offset, scan.newlines, last_newline)
        if not scan.has_quote:
            scan.has_quote = block.find(b'"', 0, count) >= 0
        if not scan.non_blank:
            scan.non_blank = _NON_BLANK.search(block, 0, count) is not None
        if scan.header_end < 0:
            end = block.find(b"\n", 0, count)
            scan.header += block[: count if end < 0 else end]
            if end >= 0:
                scan.header_end = offset + end
        if scan.header_end >= 0 and not scan.events_follow:
            scan.events_follow = _NON_BLANK.search(block, max(0, scan.header_end + 1 - offset), count) is not None
        scan.newlines += _count_newlines(memoryview(block)[:count])
        found = block.rfind(b"\n", 0, count)
        if found >= 0:
            last_newline = offset + found
        scan.size += count
        scan.last_byte = block[count - 1]
        if scan.bad_utf8 is not None and len(scan.head) >= _HEAD:
            return scan
    if scan.bad_utf8 is None:
        pending = decoder.getstate()[0]
        try:
            decoder.decode(b"", final=True)  # a character cut off by the end of the input
        except UnicodeDecodeError as exc:
            scan.bad_utf8 = _bad_byte(exc, scan.size - len(pending), b"", scan.size, scan.newlines, last_newline)
    return scan


def _bad_byte(exc: UnicodeDecodeError, decoded_from: int, block, offset: int, newlines_before: int, last_newline: int):
    """(offset, byte, line, column) of the byte a decode of the input from ``decoded_from``
    failed at; ``block`` starts at ``offset``, after ``newlines_before`` newlines, the last
    at ``last_newline``. Bytes held over from the block before hold no newline (each is
    part of a multi-byte character)."""
    at = decoded_from + exc.start
    within = at - offset
    if within > 0:
        newlines_before += block.count(b"\n", 0, within)
        found = block.rfind(b"\n", 0, within)
        if found >= 0:
            last_newline = offset + found
    return at, exc.object[exc.start], newlines_before + 1, at - last_newline


def _check_scan(scan: _Scan, options: IngestOptions, name: str) -> tuple[str, dict[str, str]]:
    """The scanned input's errors, in the order a user should meet them, then its layout."""
    if not scan.non_blank:
        raise InputError("file is empty", path=name, hint="expected a CSV header line and at least one event")
    _refuse_non_text(bytes(scan.head), name)
    if scan.bad_utf8 is not None:
        _, byte, line, column = scan.bad_utf8
        raise InputError(
            f"undecodable byte 0x{byte:02x}: the file is not UTF-8",
            path=name,
            line=line,
            column=column,
            hint="re-encode it, e.g. iconv -f latin1 -t utf-8",
        )
    header_line = scan.header.decode("utf-8").rstrip("\r")
    try:
        header = next(csv.reader([header_line]), [])
    except csv.Error as exc:  # e.g. bare carriage returns as line ends
        raise InputError(
            f"cannot parse the header: {exc}", path=name, line=1, hint="use \\n or \\r\\n line endings"
        ) from None
    fmt, roles = _detect_format(header, options, name)
    if scan.header_end < 0 or not scan.events_follow:
        raise InputError("no events after the header line", path=name, line=1, hint="the file has a header only")
    return fmt, roles


def _from_dataframe(frame: pd.DataFrame, options: IngestOptions, name: str) -> EventTable:
    zone = check_options(options)
    header = [str(c) for c in frame.columns]
    fmt, roles = _detect_format(header, options, name)
    columns = {}
    for role, column in roles.items():
        values = frame[column].astype("string").to_numpy(dtype=object, na_value="")  # missing = empty field
        columns[role] = pa.chunked_array([pa.array(values, type=pa.string())])
    # a DataFrame has no file lines: number rows as if written with to_csv(index=False)
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    if len(frame) == 0:
        raise InputError("no events: the DataFrame is empty", path=name)
    return _build(columns, lines, [], fmt, name, options, zone, len(frame))


# --------------------------------------------------------------------------- checks


def check_options(options: IngestOptions) -> ZoneInfo:
    """The options' values (format, epoch unit, zones), as usage errors; the output zone."""
    if options.input_format not in FORMATS:
        raise UsageError(f"unknown input format {options.input_format!r}; expected one of {', '.join(FORMATS)}")
    if options.epoch_unit not in EPOCH_UNITS:
        raise UsageError(f"unknown epoch unit {options.epoch_unit!r}; expected one of {', '.join(EPOCH_UNITS)}")
    if options.input_timezone is not None:
        _zone(options.input_timezone)
    return _zone(options.timezone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise UsageError(f"unknown time zone {name!r}", hint="use an IANA name such as UTC or America/Toronto") from None


# magic numbers of what people hand a CSV tool by mistake: say what it is, not "byte 0x8b"
_NOT_CSV = (
    (b"\x1f\x8b", "gzip-compressed", "decompress it first, e.g. gunzip -c FILE | aptnarrate report -"),
    (b"PK\x03\x04", "a zip archive", "extract the CSV first, e.g. unzip -p FILE | aptnarrate report -"),
    (b"BZh", "bzip2-compressed", "decompress it first, e.g. bunzip2 -c FILE | aptnarrate report -"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first, e.g. xz -dc FILE | aptnarrate report -"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first, e.g. zstd -dc FILE | aptnarrate report -"),
    (b"\x7fELF", "an executable (ELF)", "give the subgraph CSV"),
    (b"PAR1", "a Parquet file", "export the subgraph as CSV"),
)


def _refuse_non_text(data: bytes, name: str) -> None:
    for magic, what, hint in _NOT_CSV:
        if data.startswith(magic):
            raise InputError(f"the file is {what}, not a CSV file", path=name, hint=hint)
    head = data[:_HEAD]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 8 and head.count(0) * 3 >= len(head)):
        raise InputError(
            "the file looks like UTF-16 text; aptnarrate reads UTF-8",
            path=name,
            hint="re-encode it, e.g. iconv -f UTF-16 -t UTF-8 FILE > out.csv",
        )


def _detect_format(header: Sequence[str], options: IngestOptions, name: str) -> tuple[str, dict[str, str]]:
    """Pick the layout and map each role to the file's column name."""
    present = {h.strip().lower(): h for h in header}
    mapped = {role: column for role, column in options.columns.items()}
    for role in mapped:
        if role not in OCRAPT_COLUMNS and role not in EDGE_COLUMNS:
            raise UsageError(
                f"unknown column role {role!r} in --column",
                hint=f"roles are {', '.join(dict.fromkeys(OCRAPT_COLUMNS + EDGE_COLUMNS))}",
            )

    def resolve(roles: Sequence[str]) -> dict[str, str] | None:
        found = {}
        for role in roles:
            wanted = mapped.get(role, role).strip().lower()
            if wanted not in present:
                return None
            found[role] = present[wanted]
        return found

    candidates = [options.input_format] if options.input_format != "auto" else ["edges", "ocrapt"]
    for fmt in candidates:
        roles = resolve(EDGE_COLUMNS if fmt == "edges" else OCRAPT_COLUMNS)
        if roles is not None:
            _refuse_shared(roles)
            _refuse_duplicates(header, roles, name)
            return fmt, roles
    shown = ",".join(header) if header else "(nothing)"
    if options.input_format == "auto":
        expected = f"'{','.join(OCRAPT_COLUMNS)}' (OCR-APT) or '{','.join(EDGE_COLUMNS)}' (edge list)"
    else:
        expected = ",".join(EDGE_COLUMNS if options.input_format == "edges" else OCRAPT_COLUMNS)
    hint = "map other column names with --column ROLE=NAME"
    if len(header) == 1 and header[0]:
        for delimiter, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if delimiter in header[0]:
                hint = f"the header is separated by {label}; aptnarrate reads comma-separated files"
                break
    raise InputError(f"unrecognised header {shown[:200]!r}; expected {expected}", path=name, line=1, hint=hint)


def _refuse_shared(roles: dict[str, str]) -> None:
    """Two roles read from one column (``--column timestamp=description``): a usage error."""
    by_column: dict[str, list[str]] = {}
    for role, column in roles.items():
        by_column.setdefault(column, []).append(role)
    for column, shared in by_column.items():
        if len(shared) > 1:
            raise UsageError(
                f"--column maps {' and '.join(shared)} onto the one column {column.strip()!r}",
                hint="each role needs a column of its own",
            )


def _refuse_duplicates(header: Sequence[str], roles: dict[str, str], name: str) -> None:
    """Two columns with one role's name: which one holds the data is a guess, so refuse."""
    for role, column in roles.items():
        wanted = column.strip().lower()
        positions = [i + 1 for i, h in enumerate(header) if h.strip().lower() == wanted]
        if len(positions) > 1:
            raise InputError(
                f"column {column.strip()!r} ({role}) appears more than once: columns "
                + " and ".join(str(p) for p in positions),
                path=name,
                line=1,
                hint="rename or drop the extra column, or map the right one with --column ROLE=NAME",
            )


# --------------------------------------------------------------------------- CSV reading


def _read_csv(source: pa.NativeFile, has_quote: bool, roles: dict[str, str], name: str) -> tuple[pa.Table, list]:
    bad_rows: list = []

    def on_invalid(row) -> str:
        bad_rows.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_SIZE),
            # without a quote character no value can hold a newline, and Arrow then
            # splits the file for its threads far more cheaply
            parse_options=pacsv.ParseOptions(newlines_in_values=has_quote, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(roles.values()),
                # text columns arrive dictionary-encoded: a million rows hold a few thousand
                # distinct values, and encoding while parsing is far cheaper than afterwards
                column_types={
                    column: pa.string() if role == "timestamp" else _TEXT for role, column in roles.items()
                },
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"cannot parse as CSV: {str(exc).splitlines()[0]}", path=name) from None
    return table.rename_columns([_role_of(roles, c) for c in table.column_names]), bad_rows


def _distinct(column: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """Each row's code and the distinct values of a text column, plain or dictionary-encoded."""
    codes, values = _distinct_values(column)
    return codes, values.to_pylist()


def _distinct_values(column: pa.ChunkedArray, trim: bool = False) -> tuple[np.ndarray, pa.Array]:
    """``_distinct`` with the distinct values left an Arrow array (numbered by first
    appearance, as pandas' factorize numbers them)."""
    encoded = column.combine_chunks()  # unifies the dictionaries of the CSV blocks
    if not pa.types.is_dictionary(encoded.type):
        encoded = pc.dictionary_encode(encoded)
    # the dictionary's own index type (int32): 4 bytes per input row, not 8
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    values = encoded.dictionary
    if not trim:
        return codes, values
    merged = pc.dictionary_encode(pc.ascii_trim_whitespace(values))  # ASCII only (see ASCII_BLANKS)
    # in the narrowest type that holds the codes: at 10M rows a type or predicate column's
    # codes are then 10 MB instead of 40, and an edge list keeps seven such columns at once
    lookup = merged.indices.to_numpy(zero_copy_only=False).astype(_narrowest_codes(len(merged.dictionary)))
    return lookup[codes], merged.dictionary


def _narrowest_codes(count: int) -> type:
    """The smallest integer type for codes ``0 .. count - 1``."""
    if count <= 1 << 8:
        return np.uint8
    return np.uint16 if count <= 1 << 16 else np.int32


def _role_of(roles: dict[str, str], column: str) -> str:
    return next(role for role, name in roles.items() if name == column)


def _locate_lines(source, scan: _Scan, table: pa.Table, bad_rows: list, fmt: str, roles: dict[str, str], name: str):
    """Line numbers for each record, plus rows recovered or skipped by the CSV reader.

    The fast path holds when every record is one physical line: record i is line i + 2.
    Otherwise (quoted newlines, blank lines, malformed rows) the input is read once more,
    as text, with the csv module to find where each record starts. ``source``: the input
    (``_BytesInput`` or ``_FileInput``), which gives that text.
    """
    n = table.num_rows
    newlines = scan.newlines + (0 if scan.last_byte == 0x0A else 1)
    if not bad_rows and newlines == n + 1:
        return table, np.arange(2, n + 2, dtype=np.int64), []
    try:
        return _slow_locate(source.text(scan), table, fmt, roles, name)
    except UnicodeDecodeError:  # it was valid UTF-8 when scanned
        raise _changed(name) from None


def _count_newlines(data) -> int:
    """``data.count(b"\\n")``, by numpy in slices: bytes.count compares byte by byte, three
    times slower; slices keep the temporary mask small."""
    view = np.frombuffer(data, dtype=np.uint8)
    return sum(int(np.count_nonzero(view[start : start + _READ_CHUNK] == 0x0A)) for start in range(0, len(view), _READ_CHUNK))


def _slow_locate(text: io.TextIOBase, table: pa.Table, fmt: str, roles: dict[str, str], name: str):
    reader = csv.reader(text)
    header = next(reader)
    width = len(header)
    good_lines: list[int] = []
    recovered: dict[str, list] = {role: [] for role in roles}
    recovered_lines: list[int] = []
    skipped: list[SkippedLine] = []
    start = reader.line_num + 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not fields or fields == [""]:
                continue  # blank line: the CSV reader skips it too
            if len(fields) == width:
                good_lines.append(line)
                continue
            raw = ",".join(fields)
            if fmt == "ocrapt" and len(fields) > width and width == 2:
                # an unquoted comma inside a description: the timestamp is the last field
                recovered["description"].append(",".join(fields[: len(fields) - 1]))
                recovered["timestamp"].append(fields[-1])
                recovered_lines.append(line)
                continue
            skipped.append(
                SkippedLine(line, None, f"expected {width} fields, found {len(fields)}", raw[:200])
            )
    except csv.Error as exc:
        raise InputError(f"cannot parse as CSV: {exc}", path=name, line=reader.line_num) from None
    if len(good_lines) != table.num_rows:
        raise InputError(
            f"CSV structure is ambiguous ({table.num_rows} records read, {len(good_lines)} well-formed lines)",
            path=name,
            hint="check quoting: a field with a comma, quote or newline must be quoted",
        )
    if recovered_lines:
        extra = pa.table({role: pa.array(recovered[role], type=pa.string()) for role in table.column_names})
        table = pa.concat_tables([table, extra.cast(table.schema)])
        good_lines.extend(recovered_lines)
    return table, np.asarray(good_lines, dtype=np.int64), skipped


# --------------------------------------------------------------------------- building


def _build(
    columns: dict[str, pa.ChunkedArray],
    lines: np.ndarray,
    skipped: list[SkippedLine],
    fmt: str,
    name: str,
    options: IngestOptions,
    zone: ZoneInfo,
    rows_read: int,
) -> EventTable:
    keep = np.ones(len(lines), dtype=bool)
    rejects: list[tuple[np.ndarray, str, str]] = []  # (mask of rejected rows, column, reason)

    times, time_bad, basis, time_out_of_range = _parse_times(columns["timestamp"], options, zone, lines, name)
    # within int64 nanoseconds, but not the supported range (two reductions when all are inside;
    # an unusable row's placeholder is int64's minimum, so only then the masks)
    if len(times) and (times.min() < FIRST_NS or times.max() > LAST_NS):
        edge = ~time_bad & ((times < FIRST_NS) | (times > LAST_NS))
        if edge.any():
            time_out_of_range, time_bad = time_out_of_range | edge, time_bad | edge
            times = np.where(edge, np.iinfo(np.int64).min, times)  # NaT: never floored or converted
    if time_out_of_range.any():
        rejects.append((time_out_of_range, "timestamp", OUT_OF_RANGE_REASON))
    if time_bad.any():
        rejects.append((time_bad, "timestamp", "unparseable timestamp"))
    if fmt == "ocrapt":
        triple_codes, triples, desc_bad, desc_empty, ambiguous = _parse_descriptions(columns["description"])
        rejects.append((desc_empty, "description", "empty description"))
        rejects.append((desc_bad, "description", "unparseable description"))
        _skip_rejected(rejects, keep, lines, columns, fmt, skipped)
    else:
        edges = _EdgeCodes.key_parts(columns)
        ambiguous = np.zeros(len(lines), dtype=bool)  # an edge list has one field per part
        rejects.append((edges.blank_rows, "predicate", "missing predicate or node type"))
        _skip_rejected(rejects, keep, lines, columns, fmt, skipped)
        # the skipped rows' text is taken: the parsed text columns (a third of the file's
        # size, the timestamps half of it) go as they are turned into codes, before the
        # edges are numbered; ingest's memory peak was there (about 350 MB less at 10M rows)
        edges.encode_rest(columns)
        triple_codes, triples = edges.triples()
        del edges
    skipped.sort(key=lambda s: s.line)

    if basis == WALL_CLOCK_BASIS and options.input_timezone:
        times = _wall_to_wall(times, _zone(options.input_timezone), zone)
        basis = f"wall-clock times in {options.input_timezone}, converted to {options.timezone}"
    if options.strict and skipped:
        first = skipped[0]
        raise InputError(
            f"{first.reason}: {first.text[:120]!r}" + (f" ({len(skipped)} bad lines in all)" if len(skipped) > 1 else ""),
            path=name,
            line=first.line,
            column=first.column,
            hint="fix the line, or drop --strict to skip bad lines",
        )
    if not keep.any():
        raise _all_rejected(skipped, name)

    # copy=False: the arrays are fresh, and consolidating them into one block copies 16 MB
    # per million rows
    ambiguous_kept = np.flatnonzero(ambiguous & keep)
    ambiguous_lines = tuple(int(x) for x in lines[ambiguous_kept[:MAX_LISTED_SKIPS]])
    # per-row columns are copied only when rows were dropped (at 10M rows each is 40-80 MB)
    kept = (lambda column: column) if keep.all() else (lambda column: column[keep])
    events = Columns({"line": kept(lines), "time": kept(times), "triple": kept(triple_codes).astype(np.int32, copy=False)})
    del times, triple_codes
    line = events["line"]
    if len(line) > 1 and not (line[1:] >= line[:-1]).all():
        events = events.take(np.argsort(line, kind="stable"))
    used = np.flatnonzero(np.bincount(events["triple"], minlength=len(triples)))
    if len(used) != len(triples):  # drop triples only bad rows referred to, renumber densely
        remap = np.full(len(triples), -1, dtype=np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        events["triple"] = remap[events["triple"]]
        triples = triples.take(used)
    return EventTable(
        source=file_name_text(name),  # the input's name as text: a byte that is not UTF-8 would break every JSON output
        input_format=fmt,
        timezone=options.timezone if basis != WALL_CLOCK_BASIS else "as written",
        time_basis=basis,
        events=events,
        triples=triples,
        skipped=tuple(skipped[:MAX_LISTED_SKIPS]),
        skipped_count=len(skipped),
        rows_read=rows_read,
        ambiguous_lines=ambiguous_lines,
        ambiguous_count=len(ambiguous_kept),
    )


# what to do about a whole file rejected for one reason: the format, said once
_REJECTED_HINTS = {
    "unparseable description": "OCR-APT's wording is 'The <type>: <name> ACTION the <type>: <name>', with the ACTION in capitals: READ, not read",
}


def _all_rejected(skipped: list[SkippedLine], name: str) -> InputError:
    first = skipped[0]
    return InputError(
        f"no usable event: every data line was rejected ({len(skipped)} line(s)); first: {first.reason}",
        path=name,
        line=first.line,
        column=first.column,
        hint=_REJECTED_HINTS.get(first.reason),
    )


def _skip_rejected(
    rejects: list[tuple[np.ndarray, str, str]], keep: np.ndarray, lines: np.ndarray,
    columns: dict[str, pa.ChunkedArray], fmt: str, skipped: list[SkippedLine],
) -> None:
    """Clear ``keep`` at each rejected row and add its skipped line, with the first reason
    in ``rejects`` order that holds for it and the row's text as read."""
    reasons: dict[int, tuple[str, str]] = {}
    for mask, column, reason in rejects:
        if not mask.any():
            continue
        for row in np.flatnonzero(mask & keep):
            reasons[int(row)] = (column, reason)
        keep &= ~mask
    raw_text = _raw_texts(columns, fmt)
    for row, (column, reason) in reasons.items():
        skipped.append(SkippedLine(int(lines[row]), column, reason, raw_text(row)[:200]))


def _raw_texts(columns: dict[str, pa.ChunkedArray], fmt: str):
    order = OCRAPT_COLUMNS if fmt == "ocrapt" else EDGE_COLUMNS

    def text(row: int) -> str:
        return ",".join(str(columns[role][row].as_py() or "") for role in order)

    return text


# --------------------------------------------------------------------------- timestamps

_EPOCH_SCALE = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
# the unit each magnitude class of ``_EPOCH_CLASS_BOUNDS`` stands for, and its scale
_CLASS_UNITS = EPOCH_UNITS[1:]
_CLASS_SCALE = np.array([_EPOCH_SCALE[unit] for unit in _CLASS_UNITS], dtype=np.int64)
_MAX_EPOCH_NS = 9_200_000_000_000_000_000
_EPOCH_CLASS_BOUNDS = np.array([10**11, 10**14, 10**17], dtype=np.int64)
# times are int64 nanoseconds (pandas' datetime64[ns]): 1677-09-21 .. 2262-04-11
# the supported range keeps about two days from each end: a time in the first minute has
# no minute to floor to (it wrapped round to 2262), and converting a wall-clock time from
# one zone to another moves it by up to 26 hours (Etc/GMT+12 to Pacific/Kiritimati)
FIRST_NS = int(np.datetime64("1677-09-23", "ns").astype(np.int64))
LAST_NS = int(np.datetime64("2262-04-09T23:59:59.999999999", "ns").astype(np.int64))
OUT_OF_RANGE_REASON = "timestamp outside the supported range 1677-09-23 .. 2262-04-09"


def _within_range(local: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parsed times (any datetime64 unit) as nanoseconds, with those outside int64
    nanoseconds set to NaT and flagged: pandas 3 parses '9999-12-31' at a coarser unit,
    and converting it to nanoseconds would raise."""
    pd = pandas_module()

    first, last = pd.Timestamp.min, pd.Timestamp.max
    outside = (local.notna() & ((local < first) | (local > last))).to_numpy()
    if outside.any():
        local = local.where(~outside)
    return local.astype("datetime64[ns]"), outside


def _parse_times(
    raw: pa.ChunkedArray, options: IngestOptions, zone: ZoneInfo, lines: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
    """Wall-clock nanoseconds in the display zone, a mask of unusable rows, the basis, and
    the mask of those rows that are unusable because they fall outside the range."""
    clean = _clean_times(raw, options, zone)
    if clean is not None:
        return clean
    stripped = pc.utf8_trim_whitespace(raw)
    empty = pc.equal(pc.utf8_length(stripped), 0).to_numpy(zero_copy_only=False)
    numeric = pc.match_substring_regex(stripped, _NUMERIC).to_numpy(zero_copy_only=False)
    nonempty = int((~empty).sum())
    if nonempty and numeric.sum() * 2 >= nonempty:
        times, bad, out_of_range, units = _epoch_times(stripped, numeric, options, zone)
        return times, bad, _epoch_basis(options, units), out_of_range
    codes_array = pc.dictionary_encode(stripped.combine_chunks())
    codes = codes_array.indices.to_numpy(zero_copy_only=False)
    dictionary = codes_array.dictionary
    aware = pc.match_substring_regex(dictionary, _AWARE.pattern).to_numpy(zero_copy_only=False)
    values = np.full(len(dictionary), np.iinfo(np.int64).min, dtype=np.int64)
    zone_less = ~aware & (pc.utf8_length(dictionary).to_numpy() > 0)
    if aware.any() and zone_less.any() and options.input_timezone is None:
        aware_rows = np.flatnonzero(aware[codes])
        naive_rows = np.flatnonzero(~aware[codes] & ~empty)
        raise InputError(
            "timestamps mix times with and without a UTC offset "
            f"(line {lines[naive_rows[0]]} has none, line {lines[aware_rows[0]]} has one)",
            path=name,
            column="timestamp",
            hint="give every timestamp an offset, or none, or name the zone the times without one were written in with --input-timezone",
        )
    if aware.any():
        pd = pandas_module()  # only here: times with a UTC offset

        # read apart: pandas would take a zone-less time among zoned ones for UTC
        local = pd.Series(np.full(len(dictionary), np.datetime64("NaT"), dtype="datetime64[ns]"))
        outside = np.zeros(len(dictionary), dtype=bool)
        uniques = pd.Series(pc.filter(dictionary, pa.array(aware)).to_pylist(), dtype=object)
        parsed = pd.to_datetime(uniques, format="ISO8601", errors="coerce", utc=True)
        # range check before converting the zone: near the edges the conversion overflows
        utc, outside[aware] = _within_range(parsed.dt.tz_localize(None))
        local[aware] = utc.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None).to_numpy()
        basis = f"converted to {options.timezone}"
        if zone_less.any():  # with --input-timezone: each time read by its own form
            wall, outside[~aware] = _naive_times(pc.filter(dictionary, pa.array(~aware)))
            wall_ns = wall.to_numpy().astype(np.int64)
            known = wall.notna().to_numpy()
            wall_ns[known] = _wall_to_wall(wall_ns[known], _zone(options.input_timezone), zone)
            local[~aware] = wall_ns.view("datetime64[ns]")
            basis = f"times with an offset, and wall-clock times in {options.input_timezone}, converted to {options.timezone}"
    else:
        local, outside = _naive_times(dictionary)
        basis = WALL_CLOCK_BASIS
    ok = local.notna().to_numpy()
    values[ok] = local[ok].astype("datetime64[ns]").astype(np.int64).to_numpy()
    times = values[codes]
    bad = ~ok[codes] | empty
    return times, bad, basis, outside[codes] & ~empty


def _clean_times(raw: pa.ChunkedArray, options: IngestOptions, zone: ZoneInfo):
    """The common, clean columns in one strict vectorised cast: all integer epochs, or all
    zone-less ISO 8601 times. Anything else (blanks, spaces, offsets, bad dates) returns
    None and takes the careful path, which reports each bad line."""
    # each cast is tried on the first value first: a column whose first value does not cast
    # fails as a whole, and Arrow does not stop at the first failure (33 ms at 1M rows)
    try:
        pc.cast(raw.slice(0, 1), pa.int64())
        as_int = pc.cast(raw, pa.int64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        everything = np.ones(len(raw), dtype=bool)
        times, bad, out_of_range, units = _epoch_times(raw, everything, options, zone, as_int=as_int)
        return times, bad, _epoch_basis(options, units), out_of_range
    try:
        pc.cast(raw.slice(0, 1), pa.timestamp("ns"))
        stamps = pc.cast(raw, pa.timestamp("ns"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    times = pc.cast(stamps, pa.int64()).to_numpy()
    none = np.zeros(len(times), dtype=bool)
    return times, none, WALL_CLOCK_BASIS, none


def _naive_times(dictionary: pa.Array) -> pd.Series:
    """Distinct zone-less timestamps -> datetime64 (NaT where unparseable).

    OCR-APT's ``YYYY-MM-DD HH:MM:SS`` goes through Arrow's strict cast (it rejects Feb 30);
    anything else, or a batch with an invalid date, through pandas' ISO 8601 parser.
    """
    pd = pandas_module()  # (a Series of datetime64, for the callers' NaT handling)

    plain = pc.match_substring_regex(dictionary, _PLAIN_TIME).to_numpy(zero_copy_only=False)
    local = pd.Series(np.full(len(dictionary), np.datetime64("NaT"), dtype="datetime64[ns]"))
    slow = ~plain
    try:
        fast = pc.cast(pc.filter(dictionary, pa.array(plain)), pa.timestamp("ns"))
        local[plain] = fast.to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        slow[:] = True
    outside = np.zeros(len(dictionary), dtype=bool)
    if slow.any():
        parsed, rest_outside = _within_range(_zone_less_iso(pc.filter(dictionary, pa.array(slow))))
        local[slow] = parsed.to_numpy()
        outside[slow] = rest_outside
    return local, outside


# a sign after the time of day starts: an offset (a zone-less ISO 8601 time has none there)
_SIGN_AFTER_TIME = r"[Tt ]\d[^+-]*[+-]"


def _zone_less_iso(values: pa.Array) -> pd.Series:
    """pandas' ISO 8601 reading of times without a UTC offset (NaT where unparseable). A value
    with an offset in a form ``_AWARE`` does not take ("+1", "-1:15") is unparseable: pandas
    would read it as an instant, which neither mixes with wall-clock times nor converts."""
    pd = pandas_module()

    texts = pd.Series(values.to_pylist(), dtype=object)
    texts[pc.match_substring_regex(values, _SIGN_AFTER_TIME).to_numpy(zero_copy_only=False)] = None
    # a time is digits: pandas reads the words "now" and "today" as the clock's current time
    texts[~pc.match_substring_regex(values, r"^\s*\d").to_numpy(zero_copy_only=False)] = None
    try:
        parsed = pd.to_datetime(texts, format="ISO8601", errors="coerce")
    except ValueError:  # offsets the pattern missed, differing: no value is trusted
        parsed = None
    if parsed is None or isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return pd.Series(np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]"))
    return parsed


def _epoch_times(
    stripped: pa.ChunkedArray,
    numeric: np.ndarray,
    options: IngestOptions,
    zone: ZoneInfo,
    as_int: np.ndarray | None = None,
):
    """Epoch values (integer or fractional text) -> wall-clock ns; ``as_int`` skips parsing
    when the caller already cast a clean integer column."""
    bad = ~numeric
    fraction = None  # billionths of the unit
    try:
        if as_int is None:
            filled = pc.if_else(pa.array(numeric), stripped, pa.scalar("0"))
            as_int = pc.cast(filled, pa.int64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # fractional (1523505481.372) or past int64: parse the parts exactly
        parts = pc.extract_regex(filled, r"^\s*(?P<whole>-?\d+)(?:\.(?P<frac>\d*))?\s*$")
        whole = pc.struct_field(parts, [0])
        huge = pc.greater_equal(pc.abs(pc.cast(whole, pa.float64())), 9.2e18)
        huge_rows = huge.to_numpy(zero_copy_only=False)
        bad = bad | huge_rows
        whole = pc.if_else(huge, pa.scalar("0"), whole)
        digits = pc.utf8_slice_codeunits(pc.utf8_rpad(pc.struct_field(parts, [1]), 9, "0"), 0, 9)
        as_int = pc.cast(whole, pa.int64()).to_numpy(zero_copy_only=False)
        fraction = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
        fraction = np.where(pc.starts_with(whole, "-").to_numpy(zero_copy_only=False), -fraction, fraction)
    unit = options.epoch_unit
    if unit == "auto":
        # per value, by magnitude: the units are 1000x apart, so for any time from 1973 to
        # 2286 the digit count alone tells them apart, and a column mixing seconds and
        # milliseconds (exporters do that) is read right row by row
        # (the class is how many of the bounds 1e11, 1e14, 1e17 the magnitude reaches)
        usable = numeric & ~bad
        single = _one_epoch_class(as_int)
        if single is not None:  # the usual column, one unit: one scale, no per-row arrays
            scale = _CLASS_SCALE[single]
            used = [single] if usable.any() else [0]
        else:
            classes = np.searchsorted(_EPOCH_CLASS_BOUNDS, np.abs(as_int), side="right")
            scale = _CLASS_SCALE[classes]
            used = np.flatnonzero(np.bincount(classes[usable], minlength=4)) if usable.any() else np.array([0])
            del classes
        units = tuple(_CLASS_UNITS[c] for c in used)
    else:
        scale = _EPOCH_SCALE[unit]  # a scalar: a per-row array of it is 8 bytes a row for nothing
        units = (unit,)
    limit = _MAX_EPOCH_NS // scale  # beyond it nanoseconds overflow int64 (past year 2261)
    out_of_range = (as_int > limit) | (as_int < -limit)
    if fraction is not None:
        out_of_range = out_of_range | huge_rows
    out_of_range &= numeric
    if out_of_range.any():
        bad = bad | out_of_range
        as_int = np.where(out_of_range, 0, as_int)
    utc_ns = as_int * scale
    if fraction is not None:
        utc_ns = utc_ns + fraction * scale // 10**9
    return _utc_to_wall(utc_ns, zone), bad, out_of_range, units


def _one_epoch_class(as_int: np.ndarray) -> int | None:
    """The magnitude class every value falls in, from the column's extremes (the class
    grows with the magnitude); None when they differ or int64's minimum (whose magnitude
    numpy wraps) is among them. At 10M rows the per-row class and scale arrays it spares
    were 160 MB of the peak."""
    if len(as_int) == 0:
        return None
    low, high = int(as_int.min()), int(as_int.max())
    if low == np.iinfo(np.int64).min:
        return None
    if low >= 0:
        least, most = low, high
    elif high <= 0:
        least, most = -high, -low
    else:
        least, most = 0, max(-low, high)
    classes = np.searchsorted(_EPOCH_CLASS_BOUNDS, np.array([least, most], dtype=np.int64), side="right")
    return int(classes[0]) if classes[0] == classes[1] else None


def _epoch_basis(options: IngestOptions, units: tuple[str, ...]) -> str:
    basis = f"epoch converted to {options.timezone}"
    if len(units) > 1:
        basis += f" (units inferred per value: {', '.join(units)})"
    return basis


def _wall_to_wall(wall_ns: np.ndarray, source: ZoneInfo, target: ZoneInfo) -> np.ndarray:
    """Zone-less wall-clock times read in ``source`` -> wall clock in ``target``, a chunk
    at a time.

    In the hour a clock falls back, a time is read as its first (daylight-saving)
    occurrence; a time skipped when the clock springs forward is moved forward.
    """

    pd = pandas_module()  # zone rules per value: only when a zone is named

    def convert(chunk: np.ndarray) -> np.ndarray:
        stamps = pd.DatetimeIndex(chunk.view("datetime64[ns]"))
        aware = stamps.tz_localize(source, ambiguous=np.ones(len(stamps), dtype=bool), nonexistent="shift_forward")
        return aware.tz_convert(target).tz_localize(None).asi8

    return _convert_in_chunks(wall_ns, convert)


def _utc_to_wall(utc_ns: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """UTC instants -> wall-clock nanoseconds in ``zone``, written over ``utc_ns`` (a fresh
    array of the caller's) a chunk at a time."""
    if zone.key == "UTC":
        return utc_ns
    return utc_to_wall(utc_ns, zone)  # the zone's rules per distinct day, not pandas (see zones.py)


_CONVERT_CHUNK = 1 << 20  # values converted at a time: pandas' temporaries stay small


def _convert_in_chunks(ns: np.ndarray, convert) -> np.ndarray:
    """``convert`` of ``ns`` (int64 nanoseconds) a chunk at a time, written over ``ns``
    where it is writable (else into one new array): converting 10M values at once held
    four arrays of them (the copy, the transition positions, the result and its copy)."""
    out = ns if ns.flags.writeable else np.empty_like(ns)
    for start in range(0, len(ns), _CONVERT_CHUNK):
        out[start : start + _CONVERT_CHUNK] = convert(ns[start : start + _CONVERT_CHUNK])
    return out


# --------------------------------------------------------------------------- descriptions


def _parse_descriptions(raw: pa.ChunkedArray):
    codes, uniques = _distinct(raw)
    readings = [_read_description(text) for text in uniques]
    parsed: list[tuple | None] = [None if r is None else r[0] for r in readings]
    ambiguous_u = np.array([r is not None and r[1] for r in readings], dtype=bool)
    empty_u = np.array([not (t or "").strip() for t in uniques], dtype=bool)
    bad_u = np.array([p is None for p in parsed], dtype=bool) & ~empty_u
    good = [p for p in parsed if p is not None]
    # different spellings of one event ("the file: x" / "the file : x") share a triple;
    # a dict of the tuples numbers them by first appearance, as factorizing a MultiIndex
    # did, without its fixed cost per call (the tuples are all of strings)
    first_of: dict[tuple, int] = {}
    triple_codes_u = np.fromiter((first_of.setdefault(p, len(first_of)) for p in good), dtype=np.int64, count=len(good))
    unique_to_triple = np.full(len(uniques), 0, dtype=np.int32)
    unique_to_triple[[i for i, p in enumerate(parsed) if p is not None]] = triple_codes_u
    texts = list(zip(*first_of)) if good else [()] * len(TRIPLE_COLUMNS)
    triples = Columns({name: _object_array(values) for name, values in zip(TRIPLE_COLUMNS, texts)}, len(first_of))

    def per_row(mask_u: np.ndarray) -> np.ndarray:
        # most inputs have no bad, empty or ambiguous description: no gather over the rows
        return mask_u[codes] if mask_u.any() else np.zeros(len(codes), dtype=bool)

    return unique_to_triple[codes], triples, per_row(bad_u), per_row(empty_u), per_row(ambiguous_u)


def _object_array(values) -> np.ndarray:
    """A tuple of strings as a 1-D object array (``np.array`` of a sequence of equal-length
    strings would still be 1-D, but of a fixed-width unicode dtype)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _parse_description(text: str | None) -> tuple | None:
    parsed = _read_description(text)
    return None if parsed is None else parsed[0]


# what a CSV writer pads a field or a description's parts with; a name may end in any other
# blank (a no-break or ideographic space after ``ls`` is another file, which trimming made
# the system's: a robustness probe's finding)
ASCII_BLANKS = " \t\r\n\x0b\x0c"


def _read_description(text: str | None) -> tuple[tuple, bool] | None:
    """(triple, ambiguous) for one description, or None when no reading fits.

    Of the candidate readings, the one whose subject type, action and object type are all
    known words wins; among several such, the last split (the object is the last part):
    a process named ``backup READ the file_object_file: notes.txt`` that writes
    ``/etc/shadow`` is then logged as writing shadow, not as reading notes.txt. Several
    fully-known readings leave the line ``ambiguous`` (counted, see ``EventTable``).
    Without any fully-known reading, the first split is taken, as a plain reader would.
    """
    if not text:
        return None
    text = text.strip(ASCII_BLANKS)
    head = _SUBJECT_HEAD.match(text)
    if head is None:
        return None
    bare_subject = head.group("s_type_bare") is not None
    s_type = head.group("s_type") or head.group("s_type_bare")
    subject_known = canonical_kind(s_type) is not None
    first = chosen = None
    known = 0
    for split in _SPLIT.finditer(text, head.end()):
        start = split.start()
        if bare_subject and start != head.end():
            break  # "A <type>" has no name: the action follows at once
        if not bare_subject and start <= head.end():
            continue  # a named subject needs a name
        candidate = (start, split)
        first = first or candidate
        o_type = split.group("o_type") or split.group("o_type_bare")
        if subject_known and canonical_kind(o_type) is not None and is_known_action(split.group("action")):
            known += 1
            chosen = candidate
    chosen = chosen or first
    if chosen is None:
        return None
    start, split = chosen
    end = _SPLIT_LENGTH.match(text, start).end()
    subject = _entity(s_type, None if bare_subject else text[head.end() : start], "subject")
    o_type = split.group("o_type") or split.group("o_type_bare")
    o_name = text[end:] if split.group("o_type") is not None else None
    obj = _entity(o_type, o_name, "object")
    return (*subject, canonical_action(split.group("action")), *obj), known > 1


@lru_cache(maxsize=1 << 14)  # a node recurs in many descriptions and edges
def _entity(raw_type: str, value: str | None, role: str) -> tuple[str, str, str, str]:
    """(id, kind, display name, full value); unnamed nodes get one id per kind and role."""
    kind = canonical_kind(raw_type) or raw_type.strip().lower()
    value = (value or "").strip(ASCII_BLANKS)
    if not value or value.lower() in ("nan", "none"):
        return (f"{kind}:<unnamed {role}>", kind, "", "")
    return (f"{kind}:{value}", kind, display_name(kind, value), value)


# --------------------------------------------------------------------------- edge lists


_KEY_PARTS = ("predicate", "subject_type", "object_type")  # a row lacking one of these is skipped


@dataclass
class _EdgeCodes:
    """An edge list's text columns as codes: each role's row codes into its distinct
    (trimmed) values, and the rows lacking a predicate or a node type. Work per row is
    integer arithmetic on dictionary codes; Python touches only each distinct (type,
    attr) node value and each distinct predicate."""

    codes: dict[str, np.ndarray]
    dictionaries: dict[str, pa.Array]
    blank_rows: np.ndarray

    @classmethod
    def key_parts(cls, columns: dict[str, pa.ChunkedArray]) -> _EdgeCodes:
        """The parts an edge cannot lack, as codes, and the rows that lack one; the other
        columns are left as they are (``encode_rest``)."""
        edges = cls({}, {}, np.zeros(0, dtype=bool))
        for role in _KEY_PARTS:
            edges._encode(role, columns[role])
        filled = [
            pc.greater(pc.binary_length(edges.dictionaries[role]), 0).to_numpy(zero_copy_only=False)[edges.codes[role]]
            for role in _KEY_PARTS
        ]
        edges.blank_rows = ~np.logical_and.reduce(filled)
        return edges

    def encode_rest(self, columns: dict[str, pa.ChunkedArray]) -> None:
        """Every other column as codes; ``columns`` is emptied as it goes (each text column
        freed once encoded: the caller has taken what it needed of the text)."""
        columns.pop("timestamp", None)
        for role in _KEY_PARTS:
            columns.pop(role, None)
        release_freed_memory()
        for role in EDGE_COLUMNS:
            if role in columns:
                self._encode(role, columns.pop(role))
        columns.clear()
        release_freed_memory()

    def _encode(self, role: str, column: pa.ChunkedArray) -> None:
        self.codes[role], self.dictionaries[role] = _distinct_values(column, trim=True)

    def triples(self) -> tuple[np.ndarray, Columns]:
        """Codes of each row's distinct edge, and the triples table (a 1M-row edge list has
        ~90k distinct edges: their text columns are gathered by Arrow from the distinct
        values; building them from Python strings cost 0.1 s). An edge with a blank part
        has blank texts: its rows are skipped."""
        role_codes, dictionaries = self.codes, self.dictionaries
        key, span = None, 1
        for role in EDGE_COLUMNS:
            if role == "timestamp":
                continue
            width = len(dictionaries[role]) + 1
            if key is None:
                key, span = role_codes[role].astype(np.int64), width
                continue
            if span * width >= 1 << 62:  # keep the packed key within int64: renumber first
                key, uniques = factorize(key)
                span = len(uniques)
            key *= width  # in place: no temporary of 8 bytes per row per column
            key += role_codes[role]
            span *= width
        codes, _ = factorize(key)
        del key  # 8 bytes a row, not needed past here
        # factorize numbers edges by first appearance, so an edge is new where codes rise
        new = np.empty(len(codes), dtype=bool)
        new[:1] = True
        new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
        first = np.flatnonzero(new)

        def per_edge(values: list[str] | pa.Array, value_codes: np.ndarray) -> pa.Array:
            """Each distinct edge's value: a gather from the distinct values."""
            if not isinstance(values, pa.Array):
                values = pa.array(values, type=pa.string())
            return pc.take(values, pa.array(value_codes))

        def entities(role: str) -> list[pa.Array]:
            types, attrs = dictionaries[f"{role}_type"].to_pylist(), dictionaries[f"{role}_attr"].to_pylist()
            pair, pairs = factorize(
                role_codes[f"{role}_type"][first].astype(np.int64) * (len(attrs) + 1) + role_codes[f"{role}_attr"][first]
            )
            parsed = [
                _entity(types[p // (len(attrs) + 1)], attrs[p % (len(attrs) + 1)], role) for p in pairs.tolist()
            ]
            fields = [per_edge([e[i] for e in parsed], pair) for i in range(4)]
            uuids = per_edge(dictionaries[f"{role}_uuid"], role_codes[f"{role}_uuid"][first])
            fields[0] = pc.if_else(pc.not_equal(uuids, ""), uuids, fields[0])
            return fields

        bad_keys = self.blank_rows[first]
        actions = [canonical_action(p) for p in dictionaries["predicate"].to_pylist()]
        subject, obj = entities("subject"), entities("object")
        values = [*subject, per_edge(actions, role_codes["predicate"][first]), *obj]
        if bad_keys.any():
            blank = pa.array(bad_keys)
            values = [pc.if_else(blank, "", column) for column in values]
        # kept as Arrow strings: a column becomes Python strings only when something reads it
        triples = Columns(dict(zip(TRIPLE_COLUMNS, values)), len(first))
        return codes, triples
