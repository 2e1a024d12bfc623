"""The event vocabulary (aptnarrate/data/events.yaml): every dataset action has a class."""

from __future__ import annotations

import pandas as pd
import pytest

from aptnarrate.rules.events import UNKNOWN, VocabularyError, event_class, parse_vocabulary, unknown_action_note, vocabulary

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


def test_every_class_used_is_declared_and_described():
    vocab = vocabulary()
    used = set(vocab.by_kind.values()) | set(vocab.by_action.values())
    assert used <= set(vocab.classes)
    assert all(vocab.classes[c] for c in used)


def test_a_malformed_vocabulary_names_the_mapping():
    with pytest.raises(VocabularyError, match="mapping 1.*'NOPE'"):
        parse_vocabulary({"classes": {"a": "A"}, "mappings": [{"actions": ["X"], "class": "NOPE"}]})
