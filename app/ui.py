"""The Gradio review screen: timeline, NiiVue viewer, question box, reasoning cards, exports."""

from __future__ import annotations

import gradio as gr

from mimir.app import pacs
from mimir.app import review_view as rv
from mimir.app.review import ReviewService

#: Clicks inside server-rendered HTML reach Python as the element's data-* attributes.
CLICKS = """
element.addEventListener('click', (e) => {
  const b = e.target.closest('[data-act], [data-choice]');
  if (!b || b.disabled) return;
  e.stopPropagation();
  trigger('click', {...b.dataset});
});
"""
VIEWER = """
<div class="mv">
  <div class="mv-bar">
    <button data-mv="prev" title="previous slice (or mouse wheel)">◀ slice</button>
    <button data-mv="next" title="next slice (or mouse wheel)">slice ▶</button>
    <button data-mv="zoom-in">zoom +</button><button data-mv="zoom-out">zoom −</button>
    <button data-mv="reset">reset</button>
    <label>window <select class="mv-preset" title="drag on an image to set window and level">
      <option value="auto">auto</option><option>brain MR</option><option>CT brain</option><option>CT lung</option>
    </select></label>
    <label><input type="checkbox" class="mv-overlay" checked> mask</label>
    <label>opacity <input type="range" class="mv-opacity" min="0" max="100" value="50"></label>
  </div>
  <div class="mv-panes"></div>
  <div class="mv-legend"></div>
  <div class="mv-note">Pick a series in the timeline, or compare the latest study with its prior.</div>
</div>
"""
WIRE_VIEWER = "const go = () => window.mimirViewer ? window.mimirViewer.wire(element) : setTimeout(go, 50); go();"
SHOW = "(s) => { window.__mimirSpec = JSON.parse(s || 'null'); if (window.mimirViewer) window.mimirViewer.show(window.__mimirSpec); }"
HEAD = '<link rel="stylesheet" href="/static/review.css"><script type="module" src="/static/review.js"></script>'


def build_ui(service: ReviewService, cache_ttl_s: int = 3600) -> gr.Blocks:
    """Build the Blocks app; every action goes through ``service`` (the API's code path).

    Gradio's cached copies (rendered pictures, uploads) are deleted after ``cache_ttl_s`` seconds.
    """
    with gr.Blocks(title="mimir case review", analytics_enabled=False, fill_width=True,
                   delete_cache=(cache_ttl_s, cache_ttl_s)) as ui:
        thread = gr.State(None)
        picked = gr.State([])
        gr.HTML("<h2 class=\"title\">mimir · case review <small>research software on synthetic and user data; "
                "not for clinical use</small></h2>", js_on_load=None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=360):
                search = gr.Textbox(label="Search patients", elem_id="search", lines=1)
                patient = gr.Dropdown(choices=rv.patient_choices(service, ""), value=None, label="Patient",
                                      elem_id="patient", filterable=True)
                timeline = gr.HTML(elem_id="timeline", js_on_load=CLICKS, max_height=560, apply_default_css=False)
                reviews = gr.Dropdown(choices=[], label="Earlier reviews of this patient", elem_id="reviews")
                with gr.Accordion("Upload studies", open=False):
                    upload = gr.File(file_count="multiple", label="DICOM (files or zip), NIfTI, PNG/JPEG + manifest")
                    upload_btn = gr.Button("Ingest", elem_id="ingest")
                    upload_status = gr.Markdown(elem_id="upload-status")
                    pull_btn = gr.Button("Pull this patient from the PACS", elem_id="pacs-pull")
            with gr.Column(scale=5):
                gr.HTML(VIEWER, elem_id="viewer", js_on_load=WIRE_VIEWER, apply_default_css=False)
                spec = gr.Textbox(value=rv.NO_VIEW, visible=False, elem_id="viewer-spec")
                chosen = gr.HTML(elem_id="picked", js_on_load=None, apply_default_css=False)
                with gr.Row():
                    question = gr.Textbox(label="Question (Enter asks, Shift+Enter for a new line)", elem_id="question",
                                          scale=5, lines=1, max_lines=6,
                                          placeholder="Has the lesion grown since the prior?")
                    ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                chat = gr.HTML(rv.cards.thread_html(None, {}, {}), elem_id="chat", js_on_load=CLICKS, apply_default_css=False)
                plot = gr.Image(label="Measurements over the visits", elem_id="plot", type="pil", height=320,
                                visible=False)
                with gr.Row():
                    export_md = gr.DownloadButton("Export (Markdown, zip)", elem_id="export", value=None)
                    export_html = gr.DownloadButton("Export (HTML page)", elem_id="export-html", value=None)
                    dicom = gr.DownloadButton("Export as DICOM (SEG + SR)", elem_id="export-dicom")
                    stow = gr.Checkbox(label="Also store on the PACS", value=False, elem_id="stow")
                dicom_status = gr.Markdown(elem_id="dicom-status")

        ui.load(lambda: gr.update(choices=rv.patient_choices(service, "")), None, patient)
        search.change(lambda q: gr.update(choices=rv.patient_choices(service, q)), search, patient)
        # A new patient starts a new thread: a thread never mixes two patients' questions.
        patient.change(lambda p: (*rv.on_patient(service, p), rv.picked_html(service, p, [])), patient,
                       [timeline, picked, reviews, chat, thread, spec, plot, chosen], queue=False)
        spec.change(None, spec, None, js=SHOW)

        def timeline_click(evt: gr.EventData, key: str | None, have: list[int]) -> tuple:
            html, now, view = rv.on_timeline(service, dict(evt._data or {}), key, have)
            return html, now, view, rv.picked_html(service, key, now)

        timeline.click(timeline_click, [patient, picked], [timeline, picked, spec, chosen], queue=False)
        outs = [chat, spec, plot, export_md, export_html, thread, reviews]

        def asked(q: str, have: list[int], key: str | None, th: str | None):  # a generator
            for out in rv.on_ask(service, q, have, key, th):
                yield (*out, "")  # the box is cleared once the question is taken

        for trigger in (ask.click, question.submit):
            trigger(asked, [question, picked, patient, thread], [*outs, question])

        def chose(evt: gr.EventData, th: str | None, key: str | None):  # a generator
            yield from rv.on_choose(service, dict(evt._data or {}), th, key)

        chat.click(chose, [thread, patient], outs)
        reviews.change(lambda t, key: rv.on_review(service, t, key), [reviews, patient], outs[:-1])
        upload_btn.click(lambda fs, p, progress=gr.Progress(): rv.on_upload(service, fs, p, progress),
                         [upload, patient], [upload_status, patient])
        pull_btn.click(lambda p: pacs.on_pull(service, p), patient, upload_status).then(
            lambda p: rv.on_patient(service, p), patient, [timeline, picked, reviews, chat, thread, spec, plot])
        dicom.click(lambda th, st: pacs.on_export_dicom(service, th, st), [thread, stow], [dicom, dicom_status])
    return ui
