"""The review screen's renderers without a browser: timeline rows, reasoning cards, reviewer wording."""

from __future__ import annotations

import re
from datetime import date

from mimir.app.cards import thread_html, turns
from mimir.app.schemas import ImageEntry, StudyEntry, Timeline
from mimir.app.timeline_view import comparisons, study_rows, timeline_html
from mimir.app.wording import for_reviewer


def _entry(image_id: int, fmt: str, size: int = 1, seq: str = "FLAIR") -> ImageEntry:
    return ImageEntry(image_id=image_id, series_description=f"AX {seq}", sequence=seq, file_format=fmt,
                      series_size=size, thumbnail_url=f"/api/images/{image_id}/thumbnail")


def _study(sid: int, day: date, first_id: int) -> StudyEntry:
    forms = [_entry(first_id, "dicom", 47), _entry(first_id + 1, "dicom"), _entry(first_id + 2, "png"),
             _entry(first_id + 3, "nifti"), _entry(first_id + 4, "dicom", 47, seq="T1C")]
    return StudyEntry(study_id=sid, study_date=day, modality="MR", description="MRI BRAIN", body_part="BRAIN",
                      images=forms)


TIMELINE = Timeline(patient_key="P1", studies=[_study(1, date(2020, 1, 1), 10), _study(2, date(2020, 4, 1), 20)])


def test_one_row_per_sequence_with_formats_folded() -> None:
    rows = study_rows(TIMELINE)
    assert [len(st.rows) for st in rows] == [2, 2]
    flair = rows[0].rows[0]
    assert flair.view_image.image_id == 10  # the viewer opens the whole series
    assert flair.ask_image.image_id == 11  # questions use the key slice the experts read
    assert flair.form_names() == ["DICOM series, 47 slices", "NIfTI volume", "DICOM key slice", "PNG"]


def test_latest_vs_prior_pairs_the_same_sequence() -> None:
    pairs = {c.label: c for c in comparisons(study_rows(TIMELINE))}
    assert set(pairs) == {"AX FLAIR", "AX T1C"}
    assert (pairs["AX FLAIR"].prior.study_date, pairs["AX FLAIR"].latest.study_date) == (date(2020, 1, 1), date(2020, 4, 1))
    html = timeline_html(TIMELINE, picked=[21])
    assert html.count('class="tl-study"') == 2 and html.index("<th colspan=\"3\">2020-04-01") < html.index("<th colspan=\"3\">2020-01-01")
    assert html.count('aria-pressed="true"') == 1 and 'data-act="compare"' in html


def _review(events: list[dict]) -> dict:
    return {"thread_id": "t", "case": {"question": "Which image is the FLAIR?", "images": [], "patient_id": "P1"},
            "events": events, "started": "2020-01-01T00:00:00"}


CHOOSER = {"kind": "interrupt", "node": "resolve", "data": {
    "mention": "the FLAIR", "reason": "2 images match",
    "candidates": [{"option": 0, "image_indices": [0], "images": [{"index": 0, "image_id": 11, "study_date": "2020-01-01"}]},
                   {"option": 1, "image_indices": [1], "images": [{"index": 1, "image_id": 21, "study_date": "2020-04-01"}]}]}}
CASE = {"kind": "case", "data": {"images": [
    {"index": 0, "image_id": 11, "study_date": "2020-01-01", "modality": "MR", "series": "AX FLAIR"},
    {"index": 1, "image_id": 21, "study_date": "2020-04-01", "modality": "MR", "series": "AX FLAIR"}]}}


def test_the_chooser_shows_each_candidate_with_its_picture_and_date() -> None:
    question = {"kind": "question", "data": {"question": "Which image is the FLAIR?", "images": CASE["data"]["images"]}}
    html = thread_html(_review([question, CASE, CHOOSER]), {}, {})
    buttons = re.findall(r'<button class="choose" data-choice="([^"]+)">(.*?)</button>', html)
    assert [b[0] for b in buttons] == ["[0]", "[1]"]
    assert "/api/images/11/thumbnail" in buttons[0][1] and "2020-01-01" in buttons[0][1]
    assert "/api/images/21/thumbnail" in buttons[1][1] and "2020-04-01" in buttons[1][1]
    # Once the reviewer has chosen, the chooser stays on record but cannot be used again.
    chosen = {"kind": "question", "data": {"choice": [0]}}
    after = thread_html(_review([question, CASE, CHOOSER, chosen]), {}, {})
    assert after.count("disabled") == 2 and "I meant image 1 · 2020-01-01" in after


def test_failed_steps_are_red_with_a_reason_in_words() -> None:
    failed = {"kind": "tool_result", "tool": "vlm_answer", "data": {
        "status": "unavailable", "duration_s": 0.01, "image_indices": [0],
        "error": "no VLM configured: set MIMIR_VLM='[{\"profile\": \"x\"}]' or MIMIR_VLM_LOCAL_MODEL=/models/m"}}
    abstained = {"kind": "answer", "data": {"answer": {"text": "", "status": "abstained",
                                                       "abstain_reason": "vlm_answer: no VLM configured: set MIMIR_VLM=x"}}}
    html = thread_html(_review([failed, abstained]), {}, {})
    assert 'class="card card-step failed"' in html and "not installed" in html
    assert "MIMIR_" not in html and "/models/" not in html
    assert "No vision-language model is set up" in html and "Next:" in html


def test_operator_messages_lose_settings_paths_and_traces() -> None:
    reason, _ = for_reviewer("cannot read /data/storage/ab/c.dcm (set HF_HUB_OFFLINE=1)\nTraceback (most recent call last):\n  x")
    assert reason == "Cannot read a file on the server (set a server setting)"
    reason, step = for_reviewer("no segment expert for a 3D MR image in /x (expert 'e' takes 2D images; v is 3D)")
    assert reason.startswith("This expert reads 2D slices") and "key slice" in step


def test_a_review_saved_without_question_events_is_one_turn() -> None:
    legacy = _review([{"kind": "answer", "data": {"answer": {"text": "Image 1 is FLAIR.", "status": "ok"}}}])
    assert [t.question for t in turns(legacy)] == ["Which image is the FLAIR?"]


def test_a_question_that_stopped_says_so_in_words() -> None:
    from mimir.app.review_view import UNEXPECTED

    stopped = {"kind": "error", "data": {"message": UNEXPECTED}}
    html = thread_html(_review([{"kind": "question", "data": {"question": "Has it grown?"}}, stopped]), {}, {})
    assert 'class="card card-step failed"' in html and "The question stopped" in html and "server; the details" in html
    assert "Traceback" not in html


def test_a_choice_between_studies_shows_each_studys_picture_and_date() -> None:
    between = {"kind": "interrupt", "node": "gather", "data": {
        "mention": "the prior", "reason": "two earlier studies could be meant",
        "candidates": [{"option": 0, "image_indices": [], "label": "MR of 2020-01-01",
                        "studies": [{"study_id": 1, "study_date": "2020-01-01", "modality": "MR", "description": "BRAIN"}]},
                       {"option": 1, "image_indices": [], "label": "MR of 2020-04-01",
                        "studies": [{"study_id": 2, "study_date": "2020-04-01", "modality": "MR", "description": "BRAIN"}]}]}}
    question = {"kind": "question", "data": {"question": "Has it grown since the prior?", "images": []}}
    html = thread_html(_review([question, between]), {}, {1: 10, 2: 20})
    buttons = re.findall(r'<button class="choose" data-choice="([^"]+)">(.*?)</button>', html)
    assert [b[0] for b in buttons] == ["[0]", "[1]"]  # the option number resumes the planner
    assert "/api/images/10/thumbnail" in buttons[0][1] and "2020-01-01 · MR · BRAIN" in buttons[0][1]
    assert "/api/images/20/thumbnail" in buttons[1][1] and "2020-04-01 · MR · BRAIN" in buttons[1][1]


def test_each_expert_step_carries_its_input_check_as_a_badge() -> None:
    """The verdict of the expert's input check: a badge on the step, the reason in words unless typical."""
    def step(run_id: int) -> dict:
        return {"kind": "tool_result", "tool": "segment", "data": {
            "status": "ok", "duration_s": 0.4, "image_indices": [0], "tool_run_id": run_id}}

    runs = {1: {"output": {"expert": "e", "labels_present": ["lesion"],
                           "ood": {"score": 0.84, "verdict": "in", "reason": "like the expert's training images"}}},
            2: {"output": {"expert": "e", "labels_present": ["lesion"],
                           "ood": {"score": 0.03, "verdict": "borderline",
                                   "reason": "intensity histogram unlike training (1.2x its usual range)"}}}}
    html = thread_html(_review([CASE, step(1), step(2)]), runs, {})
    badges = re.findall(r'<span class="ood-badge ood-(\w+)" title="([^"]*)">([^<]*)</span>', html)
    assert badges == [("in", "like the expert&#x27;s training images", "in distribution · score 0.84"),
                      ("borderline", "intensity histogram unlike training (1.2x its usual range)",
                       "borderline input · score 0.03")]
    assert html.count('class="ood-reason"') == 1 and "Input check: intensity histogram unlike training" in html
    assert "ood:" not in html  # the raw field is not listed among the values


def test_a_declined_input_is_badged_out_of_distribution() -> None:
    from mimir.tools.ood.gate import DECLINED

    failed = {"kind": "tool_result", "tool": "segment", "data": {
        "status": "cannot", "duration_s": 0.2, "image_indices": [0],
        "error": f"expert 'head_ct_haemorrhage_seg' {DECLINED} (features far from training images (3.1x its usual "
                 "range); in-distribution score 0.01)"}}
    html = thread_html(_review([CASE, failed]), {}, {})
    assert 'class="card card-step failed"' in html
    badge = re.search(r'<span class="ood-badge ood-out" title="([^"]*)">([^<]*)</span>', html)
    assert badge and badge.group(2) == "out of distribution"
    assert badge.group(1) == "features far from training images (3.1x its usual range)"
