"""Property-based fuzzing of the whole offline path on random provenance graphs (hypothesis),
bounded so it stays fast.

Each example is an edge list in DARPA OpTC's or TC3's vocabulary, built from processes,
files, flows, registry values and tasks with ordinary and hostile names (backticks, HTML,
bidi controls, Markdown block starts, newlines). Properties: it reports (no error of any
kind) in every format; every stage cites rows of the log; every code span of the summary and
of the stage bullets is a name of the input; the stages do not depend on the rows' order.
(A random-graph run of this kind found rule reasons whose names, written bare, let one
name's backtick pair with another's.)
"""

from __future__ import annotations

import csv
import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aptnarrate import narrate
from aptnarrate.render import render_chunks
from aptnarrate.render.escape import code_spans

HEADER = ["subject_uuid", "subject_type", "subject_attr", "predicate", "timestamp", "object_uuid", "object_type", "object_attr"]
HOSTILE = ["x`y.exe", "<img src=x>.exe", "\u202eexe.txt", "a b.exe", "# heading", "``", "line\nbreak.exe", "|pipe|.dll", "[l](http://x).ps1"]
OPTC = {
    "process": ["explorer.exe", "winword.exe", "outlook.exe", "cmd.exe", "powershell.exe", "svchost.exe", "wmiprvse.exe", "schtasks.exe", "whoami.exe", "lsass.exe", "evil.exe", ""],
    "predicates": ["CREATE", "OPEN", "TERMINATE", "READ", "WRITE", "DELETE", "RENAME", "MODIFY", "LOAD", "START_OUTBOUND", "START_INBOUND", "MESSAGE_OUTBOUND", "MESSAGE_INBOUND", "ADD", "EDIT", "COMMAND", "START"],
    "objects": {
        "FILE": ["C:\\Users\\a\\AppData\\Local\\Temp\\x.ps1", "C:\\Windows\\Temp\\evil.exe", "report.docm", "lsass.dmp"],
        "FLOW": ["10.0.5.21->198.51.100.40:443", "10.0.5.9->10.0.5.21:135", "10.0.5.21->10.0.5.9:445"],
        "REGISTRY": ["HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Up"],
        "MODULE": ["wininet.dll", "samlib.dll"],
        "TASK": ["\\Microsoft\\Updater"],
        "SHELL": ["whoami /all"],
    },
    "process_type": "PROCESS",
}
TC3 = {
    "process": ["sshd", "bash", "sh", "nginx", "firefox", "thunderbird", "sudo", "crontab", "wget", "nc", "whoami", "uname", ""],
    "predicates": ["EVENT_EXECUTE", "EVENT_FORK", "EVENT_READ", "EVENT_WRITE", "EVENT_OPEN", "EVENT_CLOSE", "EVENT_CONNECT", "EVENT_ACCEPT", "EVENT_SENDTO", "EVENT_RECVFROM", "EVENT_UNLINK", "EVENT_RENAME", "EVENT_MODIFY_FILE_ATTRIBUTES", "EVENT_CHANGE_PRINCIPAL"],
    "objects": {
        "FILE_OBJECT_FILE": ["/etc/passwd", "/etc/shadow", "/tmp/vUgefal", "/home/a/.ssh/authorized_keys", "/var/spool/cron/crontabs/root", "/var/log/auth.log"],
        "NETFLOW_OBJECT": ["128.55.12.10:22", "61.167.39.128:80"],
    },
    "process_type": "SUBJECT_PROCESS",
}


@st.composite
def graphs(draw) -> str:
    layout = draw(st.sampled_from([OPTC, TC3]))
    names = layout["process"] + HOSTILE
    processes = draw(st.lists(st.tuples(st.uuids(), st.sampled_from(names)), min_size=1, max_size=8))
    kinds = sorted(layout["objects"])
    objects = {(kind, value): f"{kind}-{i}-{j}" for i, kind in enumerate(kinds) for j, value in enumerate(layout["objects"][kind] + HOSTILE[:3])}
    rows, second = [], 1_570_000_000
    for _ in range(draw(st.integers(1, 60))):
        subject_id, subject_name = draw(st.sampled_from(processes))
        if draw(st.booleans()) and draw(st.booleans()):
            object_id, object_name = draw(st.sampled_from(processes))
            object_kind = layout["process_type"]
        else:
            object_kind = draw(st.sampled_from(kinds))
            object_name = draw(st.sampled_from(layout["objects"][object_kind] + HOSTILE[:3]))
            object_id = objects[(object_kind, object_name)]
        second += draw(st.sampled_from([0, 1, 30, 3600]))
        when = f"{second}000000000" if layout is TC3 else f"2019-09-24T{(second // 3600) % 24:02d}:{(second // 60) % 60:02d}:{second % 60:02d}.000-04:00"
        rows.append([str(subject_id), layout["process_type"], subject_name, draw(st.sampled_from(layout["predicates"])), when, str(object_id), object_kind, object_name])
    return _csv([HEADER] + rows)


def _csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _text(fmt, report) -> str:
    return "".join(c if isinstance(c, str) else bytes(c).decode() for c in render_chunks(fmt, report))


_VISIBLE_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8}))")


def _as_written(span: str) -> str:
    """A code span's name as the input holds it: the visible escapes of invisible characters
    undone (``\\u202e``, ``\\n``) and a table cell's escaped pipe unescaped."""
    span = span.replace("\\n", "\n").replace("\\|", "|")
    return _VISIBLE_ESCAPE.sub(lambda m: chr(int(next(g for g in m.groups() if g), 16)), span)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=graphs(), order=st.randoms(use_true_random=False))
def test_a_random_graph_reports_in_every_format_with_grounded_names_and_order_free_stages(data, order):
    report = narrate(data.encode(), backend="offline", name="g.csv", timezone="America/Toronto", dotenv=None)
    for fmt in ("md", "json", "html", "stix", "navigator", "csv"):
        assert _text(fmt, report)
    ids = {entry.id for entry in report.log}
    assert all(set(stage.evidence) <= ids for stage in report.stages)
    markdown = _text("md", report).split("## Table of Indicators")[0]
    for _, _, span in code_spans(markdown):
        name = _as_written(span.strip(" ") or span)
        assert name in data or name.replace("\\", "\\\\") in data or re.fullmatch(r"[\d.:]+|P\d+", name), name
    header, *rows = list(csv.reader(io.StringIO(data)))
    order.shuffle(rows)
    shuffled = narrate(_csv([header] + rows).encode(), backend="offline", name="g.csv", timezone="America/Toronto", dotenv=None)
    assert sorted((s.stage, s.confidence) for s in shuffled.stages) == sorted((s.stage, s.confidence) for s in report.stages)
