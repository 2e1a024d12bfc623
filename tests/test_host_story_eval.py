"""The attack story over a host's reports, the story command, and eval."""

from __future__ import annotations

import json
import re

import pytest
from conftest import CORPUS_DIR

from aptnarrate import cli
from aptnarrate.host.evaluate import evaluate
from aptnarrate.render.escape import code, code_spans
from aptnarrate.models import Report
from llm_server import clear_model_settings


def present_truth(reports: list[Report]) -> set[str]:
    truth = json.loads((CORPUS_DIR / "groundtruth" / "cadets_groundTruth_IOCs.json").read_text())
    values = {v.casefold() for attack in truth.values() for vs in attack.values() for v in vs}
    names = {n.casefold() for r in reports for e in r.log for n in (e.subject_name, e.object_name)}
    return values & names


def test_cadets_story_lists_every_present_ground_truth_ioc_with_its_subgraphs(cadets_batch):
    story = json.loads((cadets_batch / "story.json").read_text())
    reports = {p.stem: Report.model_validate_json(p.read_text()) for p in cadets_batch.glob("cadets_*.json")}
    expected = present_truth(list(reports.values()))
    assert expected  # the corpus holds ground-truth IoCs
    # a swept host is listed among its sweep row's full values (the subnet is the row's value)
    listed: dict[str, set[str]] = {}
    for ioc in story["iocs"]:
        assert ioc["first_seen"] <= ioc["last_seen"]
        for v in [ioc["value"], *ioc["full_values"]]:
            listed.setdefault(v.casefold(), set()).update(ioc["subgraphs"])
    assert expected <= set(listed)
    for value in expected:
        subgraphs = {
            name
            for name, r in reports.items()
            if value in {v.casefold() for i in r.iocs for v in [i.value, *i.full_values]}
        }
        assert listed[value] == subgraphs
    markdown = (cadets_batch / "story.md").read_text()
    for value in expected:
        assert value in markdown.casefold()


def test_every_story_stage_points_to_subgraph_evidence(cadets_batch):
    story = json.loads((cadets_batch / "story.json").read_text())
    reports = {p.stem: Report.model_validate_json(p.read_text()) for p in cadets_batch.glob("cadets_*.json")}
    assert story["stages"]
    firsts = [s["first_minute"] for s in story["stages"]]
    assert firsts == sorted(firsts)  # in the order the evidence shows them
    for stage in story["stages"]:
        assert stage["evidence"]
        for item in stage["evidence"]:
            report = reports[item["subgraph"]]
            log_ids = {e.id for e in report.log}
            assert item["log_ids"] and set(item["log_ids"]) <= log_ids
            assert stage["stage"] in {s.stage for s in report.stages}
    for line in story["overview"]:
        assert line["report"] == f"{line['subgraph']}.md"
    benign = {name for name, r in reports.items() if not r.stages}
    assert set(story["benign"]) == benign


def test_story_command_rebuilds_the_story_from_saved_reports(cadets_batch, tmp_path, capsys):
    reports = sorted(str(p) for p in cadets_batch.glob("cadets_*.json"))
    out = tmp_path / "story.json"
    assert cli.main(["story", *reports, "--format", "json", "-o", str(out)]) == 0
    rebuilt, batch = json.loads(out.read_text()), json.loads((cadets_batch / "story.json").read_text())
    assert [i["value"] for i in rebuilt["iocs"]] == [i["value"] for i in batch["iocs"]]
    assert [s["stage"] for s in rebuilt["stages"]] == [s["stage"] for s in batch["stages"]]
    assert cli.main(["story", str(tmp_path / "missing.json")]) == 3


def test_eval_scores_iocs_and_stage_labels(cadets_batch, tmp_path, capsys):
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"A": {"file": ["netlog", "not-in-any-input"], "ip": ["53.158.101.118"]}, "B": {"ip": ["128.55.12.10"]}}))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"cadets_subgraph_17": {"supported": ["Command and Control", "Initial Compromise"], "plausible": []}}))
    code = cli.main(["eval", str(cadets_batch), "--truth", str(truth), "--labels", str(labels), "--format", "json", "--host", "cadets"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    reports = [Report.model_validate_json(p.read_text()) for p in cadets_batch.glob("cadets_*.json")]
    table = {i.value for r in reports for i in r.iocs}
    attack_a = next(a for a in result["attacks"] if a["attack"] == "A")
    assert attack_a["truth_iocs"] == 3 and attack_a["present_in_inputs"] == 2  # one is in no input
    assert attack_a["recall"] == sum(v in table for v in ("netlog", "53.158.101.118")) / 2
    assert result["table_values"] == len({v.casefold() for v in table})
    hits = len({v.casefold() for v in table} & {"netlog", "53.158.101.118", "128.55.12.10"})
    assert result["ioc_precision"] == round(hits / result["table_values"], 4)
    claimed = {s.stage for s in Report.model_validate_json((cadets_batch / "cadets_subgraph_17.json").read_text()).stages}
    stages = result["stages"]
    assert stages["labelled_subgraphs"] == 1
    assert stages["stage_recall"] == len(claimed & {"Command and Control", "Initial Compromise"}) / 2
    assert stages["false_claims"] == len(claimed - {"Command and Control", "Initial Compromise"})
    assert cli.main(["eval", str(cadets_batch), "--truth", str(truth)]) == 0
    assert "IoC recall" in capsys.readouterr().out
    labels.write_text(json.dumps({"x": {"supported": ["Recon"]}}))
    assert cli.main(["eval", str(cadets_batch), "--truth", str(truth), "--labels", str(labels)]) == 3


def test_evaluate_counts_dropped_claims_and_handles_no_present_truth():
    from aptnarrate import examples, narrate

    report = narrate(examples.path("benign"), backend="offline")
    result = evaluate([("benign", report)], {"X": {"file": ["absent.bin"]}})
    assert result["ioc_recall"] is None and result["truth_present"] == 0
    assert result["ioc_precision"] == 0.0 and result["dropped_total"] == 0


def test_story_names_are_escaped(tmp_path):
    from aptnarrate import narrate
    from aptnarrate.host.story import build_story

    hostile = tmp_path / "x.csv"
    hostile.write_text(
        "description,timestamp\n"
        "The subject_process: a|b`<img src=x> WRITE the file_object_file: ](http://e.vil),2025-05-14 09:12:03\n"
        "The subject_process: a|b`<img src=x> EXECUTE the file_object_file: ](http://e.vil),2025-05-14 09:12:04\n"
    )
    report = narrate(hostile, backend="offline")
    markdown = build_story([("x](javascript:alert(1))", report)], report_links={"x](javascript:alert(1))": "x](y.md"}).to_markdown()
    # only inside code spans, where Markdown shows it as literal text
    spans = code_spans(markdown)
    for match in re.finditer("<img", markdown):
        assert any(start < match.start() < end for start, end, _ in spans), markdown[match.start() - 60 : match.end() + 20]
    # a link only where we made one (the full value is shown inside a code span: literal text)
    outside_code = markdown.replace(code("](http://e.vil)"), "")
    assert not re.search(r"(?<!\\)\]\((javascript:|http://e\.vil)", outside_code)


def test_story_command_tells_the_story_with_a_model_and_falls_back_when_asked(tmp_path, monkeypatch, capsys):
    from llm_server import FakeLLMServer, ok

    from aptnarrate import examples, narrate

    clear_model_settings(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APTNARRATE_CACHE_DIR", str(tmp_path / "cache"))
    saved = []
    for name in ("dropper", "benign"):
        path = tmp_path / f"{name}.json"
        path.write_text(narrate(examples.path(name), backend="offline").to_json())
        saved.append(str(path))
    server = FakeLLMServer().start()
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "k")
        answer = {"summary": "A dropper ran; the update was routine.", "stages": [{"stage": "Command and Control", "subgraphs": ["dropper"], "narrative": "It beaconed."}], "conclusions": ["One attack."], "next_steps": ["Block the address."]}
        server.enqueue(ok(answer))
        out = tmp_path / "story.json"
        assert cli.main(["story", *saved, "--format", "json", "-o", str(out)]) == 0
        story = json.loads(out.read_text())
        assert story["summary"] == answer["summary"] and story["metadata"]["narrator"] == "openai"
        told = {s["stage"]: s.get("narrative") for s in story["stages"]}
        assert told.get("Command and Control") == "It beaconed."
        # nothing queued any more: every call fails
        assert cli.main(["story", *saved, "--no-cache", "-o", str(out), "--format", "json"]) == 6
        assert cli.main(["story", *saved, "--no-cache", "--fallback", "offline", "-o", str(out), "--format", "json"]) == 9
        assert json.loads(out.read_text())["summary"].startswith("Degraded story")
    finally:
        server.stop()


def test_eval_counts_a_host_listed_in_a_sweep_row_as_listed(tmp_path):
    from aptnarrate import narrate
    from aptnarrate.host.evaluate import evaluate

    rows = ["description,timestamp"]
    for n in range(1, 7):
        rows.append(f"The process: scanner CONNECT the flow: 10.9.8.{n},2025-05-14 09:1{n}:01")
        rows.append(f"The process: scanner CLOSE the flow: 10.9.8.{n},2025-05-14 09:1{n}:02")
    path = tmp_path / "sweep.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = narrate(path, backend="offline")
    assert "10.9.8.3" not in {i.value for i in report.iocs}  # the hosts are one sweep row
    assert any("10.9.8.3" in i.full_values for i in report.iocs)
    (attack,) = evaluate([("sweep", report)], {"A": {"ip": ["10.9.8.3"]}})["attacks"]
    assert (attack["present_in_inputs"], attack["listed"], attack["missed"]) == (1, 1, [])


def test_eval_table_shows_a_line_break_in_a_name_as_an_escape(tmp_path, capsys):
    # a truth file's attack name with a line break forged a row of the table
    from aptnarrate import examples, narrate

    report = tmp_path / "d.json"
    report.write_text(narrate(examples.path("dropper"), backend="offline", dotenv=None).model_dump_json(), encoding="utf-8")
    truth = tmp_path / "t.json"
    truth.write_text(json.dumps({"BSD_3\n  attack FAKE   100.0%": {"file": ["invoice.pdf.sh"], "ip": []}}), encoding="utf-8")
    assert cli.main(["eval", str(report), "--truth", str(truth)]) == 0
    table = capsys.readouterr().out
    assert "\n  attack FAKE" not in table and "BSD_3\\n  attack FAKE" in table
