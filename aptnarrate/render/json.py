"""render_json(report) -> str: the Report itself, as JSON (``aptnarrate render`` reads it back).

The log, by far the largest part, is written column-wise: each distinct description,
minute and entity id is serialised once, and the rows are joined in Arrow. The result is
byte-for-byte what pydantic writes for a ``list[LogEntry]`` (tests compare the two).
"""

from __future__ import annotations

import numpy as np

from ..preprocess.logtable import DESCRIPTION_FIELDS, LogTable, join_lists, join_rows, take_text
from ..models import Report


def render_json(report: Report, indent: int | None = 2) -> str:
    log = report.log
    if not isinstance(log, LogTable) or not (indent is None or isinstance(indent, int)):
        return report.model_dump_json(indent=indent) + "\n"
    head = report.model_dump_json(indent=indent, exclude={"log"})
    # "metadata" is the last field: the log goes right before it, at the top level
    key = '"metadata":' if indent is None else "\n" + " " * indent + '"metadata": '
    at = head.rindex(key)
    # one join: the log text is by far the largest piece, and every copy of it counts
    if indent is None:
        at -= 1  # before the comma that precedes "metadata"
        return "".join([head[:at], ',"log":', *log_json_parts(log, None), head[at:], "\n"])
    return "".join([head[:at], "\n" + " " * indent + '"log": ', *log_json_parts(log, indent), ",", head[at:], "\n"])


def load_report(text: str) -> Report:
    """Parse a report written by ``render_json`` (validates the schema)."""
    return Report.model_validate_json(text)


def _dumps(value) -> str:
    from pydantic_core import to_json

    return to_json(value).decode("utf-8")


def log_json(log: LogTable, indent: int | None) -> str:
    """The ``log`` value as pydantic writes a ``list[LogEntry]`` at depth 1 of the report."""
    return "".join(log_json_parts(log, indent))


def log_json_parts(log: LogTable, indent: int | None) -> list[str]:
    """``log_json`` in pieces (to be joined once, with the rest of the document)."""
    if not len(log):
        return ["[]"]
    if indent is None:
        nl = lambda depth: ""  # noqa: E731
        colon = ":"
    else:
        nl = lambda depth: "\n" + " " * (indent * depth)  # noqa: E731
        colon = ": "

    def key(name: str, depth: int = 3, first: bool = False) -> str:
        return ("" if first else ",") + nl(depth) + f'"{name}"{colon}'

    d = log.descriptions
    # per distinct description: the fields between "minute" and "count", and "text" up to "lines"
    before_count = [
        "".join(key(name) + _dumps(value) for name, value in zip(DESCRIPTION_FIELDS[:5], fields)) + key("count")
        for fields in zip(*(d[name] for name in DESCRIPTION_FIELDS[:5]))
    ]
    text_part = [key("text") + _dumps(text) + key("lines") for text in d["text"]]
    minutes = [key("minute") + _dumps(m) for m in log.minute_texts]

    import pyarrow as pa
    import pyarrow.compute as pc

    ids = log.ids
    if pc.any(pc.match_substring_regex(ids, r'["\\\x00-\x1f\x7f]')).as_py():  # pragma: no cover - ids are "L<n>"
        id_text = pa.array([_dumps(x) for x in ids.to_pylist()], pa.large_string())
    else:
        id_text = pc.binary_join_element_wise('"', ids.cast(pa.string()), '"', "")
    item_sep = "," + nl(4)
    lines = join_lists(
        pc.cast(pa.array(log.line_values), pa.string()), log.line_offsets, item_sep, "[]", "[" + nl(4), nl(3) + "]"
    )
    entity = np.asarray([_dumps(x) for x in log.entity_ids], dtype=object)
    subjects = join_lists(pa.array(entity[log.subject_values].tolist(), pa.large_string()) if len(log.subject_values) else pa.array([], pa.large_string()),
                          log.subject_offsets, item_sep, "[]", "[" + nl(4), nl(3) + "]")
    objects = join_lists(pa.array(entity[log.object_values].tolist(), pa.large_string()) if len(log.object_values) else pa.array([], pa.large_string()),
                         log.object_offsets, item_sep, "[]", "[" + nl(4), nl(3) + "]")
    rows = join_rows(
        [
            nl(2) + "{" + key("id", first=True),
            id_text,
            take_text(minutes, log.minute_codes),
            take_text(before_count, log.description_codes),
            pc.cast(pa.array(log.counts), pa.string()),
            take_text(text_part, log.description_codes),
            lines,
            key("subject_ids"),
            subjects,
            key("object_ids"),
            objects,
            nl(2) + "}",
        ],
        separator=",",
    )
    return ["[", rows, nl(1) + "]"]
