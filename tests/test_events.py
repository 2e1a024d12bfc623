"""The event vocabulary (aptnarrate/data/events.yaml): every dataset action has a class."""

from __future__ import annotations

import pandas as pd
import pytest

from aptnarrate.rules.events import UNKNOWN, VocabularyError, event_class, parse_vocabulary, unknown_action_note, unknown_kind_note, vocabulary, vocabulary_notes

OPTC = [
    ("START_OUTBOUND", "flow", "network_out"),
    ("MESSAGE_OUTBOUND", "flow", "network_out"),
    ("OPEN_OUTBOUND", "flow", "network_out"),
    ("MESSAGE_INBOUND", "flow", "network_in"),
    ("OPEN_INBOUND", "flow", "network_in"),
    ("START_INBOUND", "flow", "network_in"),
    ("COMMAND", "shell", "shell_command"),
    ("START", "task", "task_run"),
    ("CREATE", "task", "task_create"),
    ("MODIFY", "task", "task_modify"),
    ("DELETE", "task", "task_delete"),
    ("ADD", "registry", "registry_write"),
    ("EDIT", "registry", "registry_write"),
    ("REMOVE", "registry", "registry_delete"),
    ("REMOTE_CREATE", "thread", "remote_thread"),
    ("CREATE", "process", "process_start"),
    ("CREATE", "file", "file_create"),
    ("LOAD", "module", "module_load"),
    ("READ", "file", "file_read"),
    ("WRITE", "file", "file_write"),
    ("DELETE", "file", "file_delete"),
    ("RENAME", "file", "file_rename"),
    ("MODIFY", "file", "file_write"),
    ("TERMINATE", "process", "process_end"),
    ("OPEN", "process", "process_access"),
]
TC3 = [
    ("CONNECT", "flow", "network_out"),
    ("EVENT_SENDTO", "flow", "network_out"),
    ("ACCEPT", "flow", "network_in"),
    ("RECVFROM", "flow", "network_in"),
    ("CLOSE", "flow", "network_close"),
    ("FORK", "process", "process_start"),
    ("CLONE", "process", "process_start"),
    ("EXECUTE", "file", "execute"),
    ("EXIT", "process", "process_end"),
    ("UNLINK", "file", "file_delete"),
    ("RENAME", "file", "file_rename"),
    ("MODIFY_FILE_ATTRIBUTES", "file", "file_attribute"),
    ("CREATE_OBJECT", "file", "file_create"),
    ("TRUNCATE", "file", "file_truncate"),
    ("LOADLIBRARY", "file", "module_load"),
    ("MMAP", "file", "module_load"),
    ("MMAP", "memory", "other"),
    ("CHANGE_PRINCIPAL", "process", "privilege_change"),
    ("READ", "pipe", "ipc"),
    ("SENDTO", "socket", "ipc"),
    ("MPROTECT", "memory", "memory_protect"),
    ("SERVICEINSTALL", "srcsink", "service_install"),
]
NODLINK = [("EXECVE", "file", "execute"), ("UNLINKAT", "file", "file_delete"), ("CHMOD", "file", "file_attribute"), ("CONNECT", "flow", "network_out")]


@pytest.mark.parametrize("action,kind,expected", OPTC + TC3 + NODLINK)
def test_every_dataset_action_has_its_class(action, kind, expected):
    assert event_class(action, kind) == expected


def test_unknown_actions_are_reported_not_dropped():
    assert event_class("TELEPORT", "file") == UNKNOWN
    triples = pd.DataFrame({"action": ["READ", "TELEPORT", "TELEPORT"], "object_kind": ["file", "file", "flow"]})
    note = unknown_action_note(triples)
    assert "TELEPORT on file" in note and "TELEPORT on flow" in note
    assert unknown_action_note(triples.iloc[:1]) is None


def test_unknown_node_types_are_reported():
    # a flow under a type word the tool does not know reads as no connection to any rule:
    # the user is told, instead of a report that looks like a quiet host (blind probe h11)
    triples = pd.DataFrame({"action": ["CONNECT", "CONNECT"], "subject_kind": ["process", "process"], "object_kind": ["flow", "netflow_object_flow"]})
    note = unknown_kind_note(triples)
    assert "'netflow_object_flow'" in note and "'flow'" not in note
    assert unknown_kind_note(triples.iloc[:1]) is None
    # the type word is the input's: a control character is shown escaped, a long word cut
    hostile = pd.DataFrame({"subject_kind": ["process"], "object_kind": ["\x1b[2Jflow"]})
    assert "\x1b" not in unknown_kind_note(hostile) and "'\\x1b[2Jflow'" in unknown_kind_note(hostile)
    long = pd.DataFrame({"subject_kind": ["process"], "object_kind": ["x" * 5000]})
    assert len(unknown_kind_note(long)) < 300
    assert vocabulary_notes(triples) == (note,)


def test_every_kind_the_vocabulary_reads_is_a_known_node_type():
    # else a log of that kind (OpTC's service objects) would be told its nodes are unread
    from aptnarrate.preprocess.kinds import RAW_KIND

    assert {kind for _action, kind in vocabulary().by_kind} <= set(RAW_KIND.values())


def test_every_class_used_is_declared_and_described():
    vocab = vocabulary()
    used = set(vocab.by_kind.values()) | set(vocab.by_action.values())
    assert used <= set(vocab.classes)
    assert all(vocab.classes[c] for c in used)


def test_a_malformed_vocabulary_names_the_mapping():
    with pytest.raises(VocabularyError, match="mapping 1.*'NOPE'"):
        parse_vocabulary({"classes": {"a": "A"}, "mappings": [{"actions": ["X"], "class": "NOPE"}]})


def test_row_counts_by_codes_equal_counting_rows_in_order():
    """The notes count (action, type) pairs over value codes; the counts and their order
    (``most_common``'s ties) are those of counting the rows one by one."""
    import random
    from collections import Counter

    from aptnarrate.arrays import Columns
    from aptnarrate.rules.events import _row_counts

    rng = random.Random(3)
    words = ["READ", "WRITE", "TELEPORT", "", "x" * 50, "é"]
    for size in (1, 2, 7, 500):
        rows = {"action": [rng.choice(words) for _ in range(size)], "object_kind": [rng.choice(words[:3]) for _ in range(size)]}
        for table in (pd.DataFrame(rows), Columns(rows)):
            counted = _row_counts(table, ("action", "object_kind"))
            expected = Counter(zip(rows["action"], rows["object_kind"]))
            assert list(counted.items()) == list(expected.items())
            assert counted.most_common(3) == expected.most_common(3)
            assert list(_row_counts(table, ("action",)).items()) == [((k,), n) for k, n in Counter(rows["action"]).items()]
