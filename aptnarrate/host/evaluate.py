"""Score reports against ground truth: IoC recall and precision, stage recall, false claims.

Ground-truth IoCs come in OCR-APT's format, one object per attack::

    {"ATTACK": {"file": ["netlog", ...], "ip": ["53.158.101.118", ...]}}

A ground-truth IoC counts for recall only when it is **present in the inputs**: named by
some row of some report's chronological log (the log is computed from the input, so it
holds every named entity of it). Values match exactly, ignoring case.

* IoC recall (per host and per attack): present ground-truth IoCs listed in at least one
  report's IoC table / present ground-truth IoCs.
* IoC precision (per host): distinct IoC-table values that are ground-truth IoCs / distinct
  IoC-table values; also per row (a value listed by 3 reports counts 3 times).
* Stage labels (optional), one object per subgraph, keyed by report name (the file name
  without ``.json``) or input name::

      {"cadets_subgraph_17": {"supported": ["Command and Control"], "plausible": ["Covering Tracks"]}}

  ``supported``: stages the subgraph's evidence shows; ``plausible``: stages it is fair to
  claim but not required. Stage recall = supported stages claimed / supported stages;
  a false stage claim is a claimed stage in neither list. Subgraphs without a label are
  not scored for stages.
* Ungrounded claims: the claims each report's narrator made that grounding dropped
  (``metadata.dropped``), by kind.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ..models import APT_STAGES, Report
from ..render.escape import show_invisible


def load_truth(path: str | Path) -> dict[str, dict[str, list[str]]]:
    data = _load_json(path)
    if not isinstance(data, dict) or not data:
        raise InputError('expected {"ATTACK": {"file": [...], "ip": [...]}}', path=str(path))
    truth = {}
    for attack, kinds in data.items():
        if not isinstance(kinds, dict) or not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in kinds.values()):
            raise InputError(f'attack {attack!r}: expected {{"file": [...], "ip": [...]}} with lists of strings', path=str(path))
        truth[str(attack)] = {str(k): list(v) for k, v in kinds.items()}
    return truth


def load_labels(path: str | Path) -> dict[str, dict[str, list[str]]]:
    data = _load_json(path)
    if not isinstance(data, dict):
        raise InputError('expected {"<subgraph>": {"supported": [...], "plausible": [...]}}', path=str(path))
    labels = {}
    for name, label in data.items():
        if not isinstance(label, dict) or set(label) - {"supported", "plausible"}:
            raise InputError(f'subgraph {name!r}: expected {{"supported": [...], "plausible": [...]}}', path=str(path))
        for key in ("supported", "plausible"):
            unknown = [s for s in label.get(key, []) if s not in APT_STAGES]
            if unknown:
                raise InputError(f"subgraph {name!r}: unknown stage(s) {unknown} in {key!r}; expected names from {list(APT_STAGES)}", path=str(path))
        labels[str(name)] = {"supported": list(label.get("supported", [])), "plausible": list(label.get("plausible", []))}
    return labels


def _load_json(path: str | Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", path=str(path)) from None
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", path=str(path)) from None
    except RecursionError:
        raise InputError("not JSON this tool reads: nested deeper than the parser's stack", path=str(path)) from None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def evaluate(
    reports: Sequence[tuple[str, Report]],
    truth: dict[str, dict[str, list[str]]],
    *,
    labels: dict[str, dict[str, list[str]]] | None = None,
    host: str = "host",
) -> dict:
    present_names = {name.casefold() for _, r in reports for e in r.log for name in (e.subject_name, e.object_name) if name}
    table_rows = [(name, i.value) for name, r in reports for i in r.iocs]
    table_values = {v.casefold() for _, v in table_rows}
    listed_in: dict[str, list[str]] = {}
    for name, value in table_rows:
        listed_in.setdefault(value.casefold(), []).append(name)
    # a row's full values are listed with it: a sweep's row (the subnet) names every host it reached
    for name, report in reports:
        for ioc in report.iocs:
            for full in ioc.full_values:
                if full.casefold() != ioc.value.casefold() and name not in listed_in.get(full.casefold(), []):
                    listed_in.setdefault(full.casefold(), []).append(name)
    all_truth = {v.casefold() for kinds in truth.values() for values in kinds.values() for v in values}

    attacks = []
    host_present: set[str] = set()
    host_found: set[str] = set()
    for attack, kinds in truth.items():
        values = {v.casefold(): v for vs in kinds.values() for v in vs}
        present = {k for k in values if k in present_names}
        found = {k for k in present if k in listed_in}  # a table value, or a full value of a row
        host_present |= present
        host_found |= found
        attacks.append(
            {
                "attack": attack,
                "truth_iocs": len(values),
                "present_in_inputs": len(present),
                "listed": len(found),
                "recall": _ratio(len(found), len(present)),
                "missed": sorted(values[k] for k in present - found),
                "listed_in": {values[k]: sorted(set(listed_in[k])) for k in sorted(found)},
            }
        )
    true_rows = sum(1 for _, v in table_rows if v.casefold() in all_truth)
    dropped = Counter(d.kind for _, r in reports for d in r.metadata.dropped)
    result = {
        "host": host,
        "reports": len(reports),
        "ioc_recall": _ratio(len(host_found), len(host_present)),
        "truth_present": len(host_present),
        "truth_listed": len(host_found),
        "ioc_precision": _ratio(len(table_values & all_truth), len(table_values)),
        "table_values": len(table_values),
        "ioc_row_precision": _ratio(true_rows, len(table_rows)),
        "table_rows": len(table_rows),
        "attacks": attacks,
        "dropped_claims": dict(sorted(dropped.items())),
        "dropped_total": sum(dropped.values()),
    }
    if labels is not None:
        result["stages"] = _stage_scores(reports, labels)
    return result


def _stage_scores(reports, labels) -> dict:
    per_subgraph = []
    supported_total = claimed_supported = false_total = claimed_total = 0
    for name, report in reports:
        label = labels.get(name) or labels.get(Path(report.input_name).name.removesuffix(".csv"))
        if label is None:
            continue
        claimed = [s.stage for s in report.stages]
        supported, plausible = set(label["supported"]), set(label["plausible"])
        hit = supported & set(claimed)
        false = [s for s in claimed if s not in supported | plausible]
        supported_total += len(supported)
        claimed_supported += len(hit)
        false_total += len(false)
        claimed_total += len(claimed)
        per_subgraph.append(
            {"subgraph": name, "claimed": claimed, "supported": sorted(supported), "recall": _ratio(len(hit), len(supported)), "false_claims": false}
        )
    return {
        "labelled_subgraphs": len(per_subgraph),
        "stage_recall": _ratio(claimed_supported, supported_total),
        "claimed": claimed_total,
        "false_claims": false_total,
        "per_subgraph": per_subgraph,
    }


def render_eval_json(result: dict) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def render_eval_table(result: dict) -> str:
    # names from the inputs and the truth file show every control character (a line break
    # too: it would start a row of its own) and bidi control as an escape
    name = show_invisible
    lines = [
        f"host {name(result['host'])}: {result['reports']} report(s)",
        "",
        f"{'scope':<36} {'IoC recall':>11} {'listed/present':>15} {'precision':>10} {'rows':>6}",
        f"{'host ' + name(result['host']):<36.36} {_pct(result['ioc_recall']):>11} "
        f"{str(result['truth_listed']) + '/' + str(result['truth_present']):>15} {_pct(result['ioc_precision']):>10} {result['table_rows']:>6}",
    ]
    for attack in result["attacks"]:
        lines.append(
            f"{'  attack ' + name(attack['attack']):<36.36} {_pct(attack['recall']):>11} "
            f"{str(attack['listed']) + '/' + str(attack['present_in_inputs']):>15} {'':>10} {'':>6}"
        )
    lines.append("")
    lines.append(
        f"IoC-table precision: {_pct(result['ioc_precision'])} of {result['table_values']} distinct values, "
        f"{_pct(result['ioc_row_precision'])} of {result['table_rows']} rows are ground-truth IoCs"
    )
    for attack in result["attacks"]:
        if attack["missed"]:
            lines.append(f"missed ({name(attack['attack'])}): {', '.join(map(name, attack['missed']))}")
    dropped = ", ".join(f"{k} {v}" for k, v in result["dropped_claims"].items()) or "none"
    lines.append(f"ungrounded claims dropped: {result['dropped_total']} ({dropped})")
    stages = result.get("stages")
    if stages is not None:
        lines.append(
            f"stages: recall {_pct(stages['stage_recall'])} over {stages['labelled_subgraphs']} labelled subgraph(s); "
            f"{stages['false_claims']} false claim(s) of {stages['claimed']} claimed"
        )
        for item in stages["per_subgraph"]:
            if item["false_claims"]:
                lines.append(f"  false claims in {name(item['subgraph'])}: {', '.join(map(name, item['false_claims']))}")
    # a terminal table: names from the inputs and the truth file (a missed IoC, an attack)
    # show their control and bidi characters as escapes, as ``inspect``'s table does
    return show_invisible("\n".join(lines), keep_newlines=True) + "\n"
