"""The built-in YAML files are read from ``aptnarrate/data/parsed_yaml.json`` (PyYAML neither
imported nor run) while it was parsed from their current bytes, and from the YAML otherwise:
the readers see the same objects either way, and the errors of a broken file are PyYAML's and
the rule loader's as before."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import partial

import pytest

from aptnarrate import data
from aptnarrate.data import PARSED_YAML, REGENERATE, build_parsed, data_file, data_yaml_names, encode_parsed, load_data_yaml, parse_yaml, stale_entries
from aptnarrate.examples import path as example_path
from aptnarrate.grounding import mentions, semantic
from aptnarrate.rules import benign, events, lineage, patterns, profiles
from aptnarrate.rules.patterns import RuleFileError

STALE = f"aptnarrate/data/{PARSED_YAML} does not match the YAML files; write it again: {REGENERATE}"


def test_the_shipped_parsed_yaml_is_current():
    assert stale_entries() == [], STALE
    assert data_file(PARSED_YAML).read_text(encoding="utf-8") == encode_parsed(build_parsed()), STALE


def _same_with_types(left, right, where: str = "") -> None:
    """``left == right`` where ``1 == 1.0 == True`` would pass: every value of the same type,
    every mapping's keys in the same order (the readers keep file order)."""
    assert type(left) is type(right), f"{where}: {type(left).__name__} against {type(right).__name__}"
    if isinstance(left, dict):
        assert list(left) == list(right), where
        for key in left:
            _same_with_types(left[key], right[key], f"{where}.{key}")
    elif isinstance(left, list):
        assert len(left) == len(right), where
        for number, (a, b) in enumerate(zip(left, right)):
            _same_with_types(a, b, f"{where}[{number}]")
    else:
        assert left == right, where


@pytest.mark.parametrize("name", data_yaml_names())
def test_parsed_yaml_holds_what_pyyaml_parses(name):
    text = data_file(name).read_text(encoding="utf-8")
    parsed = parse_yaml(text)
    data._check_json_exact(parsed, name)  # no date, set, non-text key: JSON gives it back as it is
    twin = json.loads(data_file(PARSED_YAML).read_bytes())["files"][name]["data"]
    _same_with_types(twin, parsed, name)


def test_every_yaml_file_of_the_package_is_in_parsed_yaml():
    names = set(data_yaml_names())
    assert {"events.yaml", "roles.yaml", "benign.yaml", "profiles.yaml", "stage_support.yaml", "program_names.yaml", "rules/execution.yaml"} <= names
    assert set(json.loads(data_file(PARSED_YAML).read_bytes())["files"]) == names, STALE


def test_values_json_cannot_give_back_are_refused():
    for value in ({1: "a"}, {"when": parse_yaml("2024-01-01")}, {"s": {"a"}}, [float("inf")], (1, 2)):
        with pytest.raises(data.NotJsonExact):
            data._check_json_exact(value, "x.yaml")
    data._check_json_exact({"a": [1, 2.5, True, None, "t", {"b": []}]}, "x.yaml")


# The readers, uncached (``__wrapped__``): their caches, and those built on them, are left alone.
READERS = {
    "vocabulary": events.vocabulary.__wrapped__,
    "mechanisms": benign.mechanisms.__wrapped__,
    "roles": lineage.roles.__wrapped__,
    "profiles": profiles._raw.__wrapped__,
    "support_table": semantic.support_table.__wrapped__,
    "program_knowledge": mentions.program_knowledge.__wrapped__,
    "builtin_rules": patterns.builtin_rules.__wrapped__,
}


def test_the_readers_see_the_same_objects_from_parsed_yaml_as_from_yaml(monkeypatch):
    with monkeypatch.context() as without_pyyaml:
        without_pyyaml.setitem(sys.modules, "yaml", None)  # `import yaml` fails: the twin alone
        from_twin = {name: read() for name, read in READERS.items()}
    with monkeypatch.context() as without_twin:
        without_twin.setattr(data, "_read_parsed", lambda: {})
        from_yaml = {name: read() for name, read in READERS.items()}
    for name in READERS:
        assert from_twin[name] == from_yaml[name], name
    assert len(from_twin["builtin_rules"]) > 20 and len(from_twin["mechanisms"]) > 10


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the data folder that the loader reads instead, with nothing decoded yet."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in (*data_yaml_names(), PARSED_YAML):
        (folder / name).parent.mkdir(exist_ok=True)
        shutil.copyfile(data_file(name), folder / name)
    monkeypatch.setattr(data, "_root", lambda: folder)
    monkeypatch.setattr(data, "_unclaimed", {})
    return folder


def _no_parse(text):
    raise AssertionError("parsed from YAML")


def test_an_unchanged_file_is_read_from_parsed_yaml(data_copy):
    assert load_data_yaml("events.yaml", parse=_no_parse) == parse_yaml((data_copy / "events.yaml").read_text(encoding="utf-8"))


def test_an_edited_file_is_parsed_from_its_yaml(data_copy):
    path = data_copy / "profiles.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nedited: true\n", encoding="utf-8")
    loaded = load_data_yaml("profiles.yaml")
    assert loaded["edited"] is True and loaded == parse_yaml(path.read_text(encoding="utf-8"))
    with pytest.raises(AssertionError, match="parsed from YAML"):
        load_data_yaml("profiles.yaml", parse=_no_parse)
    assert "profiles.yaml" in stale_entries()


def test_a_comment_alone_is_an_edit_too(data_copy):
    """The hash is of the bytes: no judgement of what an edit changes."""
    path = data_copy / "rules" / "execution.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "# a note\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="parsed from YAML"):
        load_data_yaml("rules/execution.yaml", parse=_no_parse)


@pytest.mark.parametrize("twin", [None, "{", "[]", json.dumps({"format": 0, "files": {}})])
def test_a_missing_unreadable_or_older_parsed_yaml_means_yaml(data_copy, twin):
    if twin is None:
        (data_copy / PARSED_YAML).unlink()
    else:
        (data_copy / PARSED_YAML).write_text(twin, encoding="utf-8")
    with pytest.raises(AssertionError, match="parsed from YAML"):
        load_data_yaml("events.yaml", parse=_no_parse)
    assert load_data_yaml("events.yaml") == parse_yaml((data_copy / "events.yaml").read_text(encoding="utf-8"))


def test_each_caller_gets_objects_of_its_own(data_copy):
    first = load_data_yaml("profiles.yaml", parse=_no_parse)
    first["profiles"].clear()
    assert load_data_yaml("profiles.yaml", parse=_no_parse) == parse_yaml((data_copy / "profiles.yaml").read_text(encoding="utf-8"))


def test_a_broken_builtin_file_raises_as_before(data_copy):
    yaml = pytest.importorskip("yaml")
    broken = "rules:\n  - id: [unclosed\n"
    (data_copy / "rules" / "zz_broken.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(RuleFileError) as raised:
        patterns.builtin_rules.__wrapped__()
    with pytest.raises(RuleFileError) as before:
        patterns.parse_rule_file(broken, "aptnarrate/data/rules/zz_broken.yaml")
    assert str(raised.value) == str(before.value) and "zz_broken.yaml: not valid YAML" in str(raised.value)
    (data_copy / "events.yaml").write_text("classes: [unclosed\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError):
        events.vocabulary.__wrapped__()


def test_a_users_rule_folder_is_parsed_by_pyyaml(tmp_path):
    (tmp_path / "mine.yaml").write_text("rules:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"mine\.yaml: not valid YAML"):
        patterns.load_rules([tmp_path])


def test_the_rule_loader_passes_its_own_error_for_the_yaml_path(data_copy):
    parse = partial(patterns._parse_rule_yaml, source="aptnarrate/data/rules/execution.yaml")
    (data_copy / "rules" / "execution.yaml").write_text("- [", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"^aptnarrate/data/rules/execution\.yaml: not valid YAML"):
        load_data_yaml("rules/execution.yaml", parse=parse)


DRIVER = """
import json, sys
from aptnarrate import cli
codes = [cli.main(argv, own_process=True) for argv in json.loads(sys.argv[1])]
print(json.dumps([codes, "yaml" in sys.modules]))
"""


def test_report_and_inspect_import_no_yaml(tmp_path):
    dropper = str(example_path("dropper"))
    commands = [
        ["report", dropper, "--backend", "offline", "-o", str(tmp_path / "a.md")],
        ["report", dropper, "--backend", "offline", "--profile", "darpa-tc3", "--format", "json", "-o", str(tmp_path / "b.json")],
        ["inspect", dropper, "--format", "json", "-o", str(tmp_path / "c.json")],
    ]
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    codes, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert codes == [0, 0, 0], done.stderr
    assert imported is False, "a report imported PyYAML: is aptnarrate/data/parsed_yaml.json current?"


def test_the_check_command_says_whether_parsed_yaml_is_current(data_copy, capsys):
    from aptnarrate.data.__main__ import main

    assert main(["--check"]) == 0
    (data_copy / "roles.yaml").write_text("edited: true\n", encoding="utf-8")
    assert main(["--check"]) == 1
    said = capsys.readouterr().err
    assert "roles.yaml" in said and REGENERATE in said
