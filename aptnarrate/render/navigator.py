"""render_navigator(report) -> str: an ATT&CK Navigator layer (layer format 4.5,
Navigator 5.x, domain enterprise-attack).

Navigator scores techniques, not tactics. Each technique id the report holds for a stage
becomes a technique entry under that stage's tactic, scored by the stage's confidence and
commented with the rationale and the log rows it cites. Every supported stage's tactic is
also listed in the layer's metadata (tactic id, confidence, log rows), so a stage without
technique ids is still on record in the layer.
"""

from __future__ import annotations

from ..rules.attack import attack_version
from ..models import Report
from .views import NARRATOR_ALONE, inert_json, stage_attack
from ..wording import capped_list

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
SCORE = {"low": 33, "moderate": 67, "high": 100}
_ROWS_CITED = 30
_COMMENT_CHARS = 2000


def _rows(evidence: list[str]) -> str:
    return capped_list(evidence, _ROWS_CITED)


def render_navigator(report: Report) -> str:
    techniques: dict[tuple[str, str], dict] = {}
    metadata: list[dict] = [{"name": "input", "value": report.input_name}]
    for finding, tactic, technique_ids in stage_attack(report):
        alone = f"; {NARRATOR_ALONE}" if finding.found_by_rules is False else ""
        metadata.append(
            {
                "name": f"{tactic.id} {tactic.name}",
                "value": f"{finding.stage}, {finding.confidence} confidence{alone}; log rows {_rows(finding.evidence)}",
            }
        )
        comment = f"{finding.stage} ({finding.confidence} confidence{alone}): {finding.rationale} Log rows: {_rows(finding.evidence)}."
        for technique in technique_ids:
            key = (technique, tactic.shortname)
            score = SCORE[finding.confidence]
            known = techniques.get(key)
            if known is not None:  # two stages, one technique and tactic: keep the stronger, cite both
                known["score"] = max(known["score"], score)
                known["comment"] = (known["comment"] + " | " + comment)[:_COMMENT_CHARS]
                continue
            techniques[key] = {
                "techniqueID": technique,
                "tactic": tactic.shortname,
                "score": score,
                "comment": comment[:_COMMENT_CHARS],
                "enabled": True,
                "metadata": [{"name": "log rows", "value": _rows(finding.evidence)}],
                "showSubtechniques": False,
            }
    stages = ", ".join(f"{f.stage} ({t.id})" for f, t, _ in stage_attack(report)) or "none"
    description = f"{report.title}. Stages supported by the evidence: {stages}. Scores: confidence (low 33, moderate 67, high 100)."
    return layer_json(f"aptnarrate: {report.input_name}", description, list(techniques.values()), metadata)


def layer_json(name: str, description: str, techniques: list[dict], metadata: list[dict]) -> str:
    """A Navigator layer (format ``LAYER_VERSION``) holding ``techniques``, scored 0-100 by
    confidence; shared by the report and the story."""
    layer = {
        "name": name[:200],
        "versions": {"attack": attack_version(), "navigator": NAVIGATOR_VERSION, "layer": LAYER_VERSION},
        "domain": "enterprise-attack",
        "description": description,
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True},
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": ["#ffe766", "#ff6666"], "minValue": 0, "maxValue": 100},
        "legendItems": [
            {"label": f"{level} confidence", "color": color}
            for level, color in (("low", "#ffe766"), ("moderate", "#ffa666"), ("high", "#ff6666"))
        ],
        "metadata": metadata,
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }
    return inert_json(layer) + "\n"
