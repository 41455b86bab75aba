"""Pieces every rules route shares: expert choice by modality, the visual route, abstention."""

from __future__ import annotations

import re

from mimir.agent.planners.base import Decision, PlanView
from mimir.agent.state import Draft, PlannedCall
from mimir.domain import Evidence

SEGMENTATION_EXPERTS = {"MR": "brain_mri_lesion_seg", "CT": "head_ct_haemorrhage_seg"}


def visual(view: PlanView, why: str) -> Decision:
    """Ask the VLM (once); abstain with the reason when none is configured or it failed."""
    args: dict[str, object] = {"question": view.question.stem, "image_indices": list(range(len(view.case.images)))}
    if view.question.closed:
        args["options"] = dict(view.question.options)
    call = PlannedCall(tool="vlm_answer", args=args, purpose="visual judgement")
    done = view.results("vlm_answer")
    if done:
        result = done[-1].result or {}
        letter = result.get("letter")
        text = str(result.get("text") or result.get("answer") or "")
        if view.question.closed and letter not in view.question.options:
            return abstain(f"the VLM's answer named no option ({text[:80]!r})")
        return Draft(letter=letter, text=text or f"{letter}: {view.question.options.get(str(letter), '')}")
    if "vlm_answer" not in view.available or not view.vlm_configured:
        return abstain(f"{why} needs visual judgement and no VLM is configured "
                       "(configure a VLM endpoint, e.g. MIMIR_VLM='[{\"profile\": ..., \"base_url\": ...}]')")
    if view.attempted(call):
        return abstain(f"{why} needs visual judgement and the VLM failed: {view.failed('vlm_answer')[-1].error}")
    return [call]


def abstain(reason: str, evidence: list[Evidence] | None = None) -> Draft:
    """An explicit abstention (with whatever was measured on the way)."""
    return Draft(status="abstained", text=f"I cannot answer this reliably: {reason}.", reason=reason,
                 evidence=evidence or [])


def modality_hint(view: PlanView, index: int) -> str | None:
    """'MR' or 'CT' from the image's metadata, else from the question's wording."""
    modality = (view.case.images[index].modality or "").upper()
    if modality in ("MR", "MRI"):
        return "MR"
    if modality == "CT":
        return "CT"
    text = view.case.question
    mr = re.search(r"\bMRI?\b|\bT1|\bT2|FLAIR|glioma|tumou?r|enhanc", text)
    ct = re.search(r"\bCT\b|ha?emorrhage|bleed|hematoma|haematoma", text, re.I)
    return "MR" if mr and not ct else "CT" if ct and not mr else None
