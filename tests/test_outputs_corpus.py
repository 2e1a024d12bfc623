"""Every output format for every corpus case (edge lists, which carry full paths) and for
every shipped example, in-process: each parses back and keeps its guarantees. The corpus
part is skipped when ../shared is absent."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import corpus_manifest

import aptnarrate
from aptnarrate.examples import names as example_names
from aptnarrate.examples import path as example_path
from aptnarrate.render import RENDERERS

SCHEMA = Path(__file__).parent / "data" / "navigator-layer-4.5.schema.json"
MANIFEST = corpus_manifest()


@pytest.fixture(scope="module")
def layer_validator():
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _check_every_format(report, layer_validator) -> dict[str, str]:
    import stix2

    out = {fmt: render(report) for fmt, render in RENDERERS.items()}
    assert out["md"].startswith("# Attack Report: ")
    assert json.loads(out["json"])["input_name"] == report.input_name
    bundle = stix2.parse(out["stix"], allow_custom=False)
    indicators = {o.name for o in bundle.objects if o.type == "indicator"}
    assert {f"{i.type} {i.value}" for i in report.iocs if i.type not in ("ip", "other")} <= indicators
    assert next(o for o in bundle.objects if o.type == "report").name == report.title
    layer_validator.validate(json.loads(out["navigator"]))
    rows = list(csv.DictReader(io.StringIO(out["csv"], newline="")))
    assert {r["value"] for r in rows} == {i.value for i in report.iocs}
    page = out["html"]
    assert "default-src 'none'" in page and page.rstrip().endswith("</html>")
    island = page.split('id="aptnarrate-data">')[1].split("</script>")[0]
    assert json.loads(island)["graph"]["elements"] or not len(report.log)
    return out


@pytest.fixture(scope="module")
def corpus_outputs(corpus_dir, layer_validator):
    outputs = {}
    for case in MANIFEST["cases"]:
        report = aptnarrate.narrate(corpus_dir / f"{case['id']}.edges.csv", backend="offline", timezone="America/Toronto")
        outputs[case["id"]] = _check_every_format(report, layer_validator)
    return outputs


def test_every_corpus_case_renders_in_every_format(corpus_outputs):
    assert len(corpus_outputs) == len(MANIFEST["cases"])


def test_stix_validator_passes_the_largest_bundle_of_each_dataset(corpus_outputs):
    """stix2-validator takes about a second per bundle, so it checks one bundle per dataset
    (the largest); every bundle is parsed back with stix2 above."""
    from stix2validator import ValidationOptions, validate_string

    largest: dict[str, tuple[int, str]] = {}
    for case, out in corpus_outputs.items():
        dataset = case.split("_")[0]
        size = len(json.loads(out["stix"])["objects"])
        if size > largest.get(dataset, (0, ""))[0]:
            largest[dataset] = (size, case)
    for size, case in largest.values():
        result = validate_string(corpus_outputs[case]["stix"], ValidationOptions(version="2.1"))
        assert result.is_valid, case


@pytest.mark.parametrize("name", example_names())
def test_every_example_renders_in_every_format(name, layer_validator):
    from stix2validator import ValidationOptions, validate_string

    report = aptnarrate.narrate(example_path(name, "edges"), backend="offline", timezone="America/Toronto")
    out = _check_every_format(report, layer_validator)
    assert validate_string(out["stix"], ValidationOptions(version="2.1")).is_valid
