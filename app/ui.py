"""The Gradio review screen: timeline, image picking, viewer with overlays, streamed chat, plot."""

from __future__ import annotations

import gradio as gr

from mimir.app import pacs
from mimir.app import review_view as rv
from mimir.app.service import ReviewService

CSS = "#chat .message {font-size: 14px} #timeline {max-height: 360px; overflow-y: auto}"


def build_ui(service: ReviewService, cache_ttl_s: int = 3600) -> gr.Blocks:
    """Build the Blocks app; every action goes through ``service`` (the API's code path).

    Gradio's cached copies (rendered pictures, uploads) are deleted after ``cache_ttl_s`` seconds.
    """
    with gr.Blocks(title="mimir case review", analytics_enabled=False,
                   delete_cache=(cache_ttl_s, cache_ttl_s)) as ui:
        thread = gr.State(None)
        gr.Markdown("## mimir · case review\nResearch software on synthetic and user data; not for clinical use.")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                search = gr.Textbox(label="Search patients", elem_id="search")
                patient = gr.Dropdown(choices=rv.patient_choices(service, ""), value=None, label="Patient", elem_id="patient",
                                      filterable=True)
                timeline = gr.Markdown(elem_id="timeline")
                images = gr.CheckboxGroup(choices=[], label="Images for the question (in timeline order)",
                                          elem_id="images")
                reviews = gr.Dropdown(choices=[], label="Earlier reviews of this patient", elem_id="reviews")
                with gr.Accordion("Upload studies", open=False):
                    upload = gr.File(file_count="multiple", label="DICOM (files or zip), NIfTI, PNG/JPEG + manifest")
                    upload_btn = gr.Button("Ingest", elem_id="ingest")
                    upload_status = gr.Markdown(elem_id="upload-status")
                    pull_btn = gr.Button("Pull this patient from the PACS", elem_id="pacs-pull")
            with gr.Column(scale=2):
                gallery = gr.Gallery(label="Selected images", columns=4, height=180, elem_id="gallery")
                with gr.Row():
                    viewer = gr.Image(label="Viewer (mask overlay)", elem_id="viewer", type="pil", height=300)
                    plot = gr.Image(label="Measurements over time", elem_id="plot", type="pil", height=300)
                with gr.Row():
                    overlay_pick = gr.Dropdown(choices=[], label="Overlay", elem_id="overlay-pick")
                    slice_slider = gr.Slider(0, 1, step=1, value=0, label="Slice", elem_id="slice")
                chat = gr.Chatbot(label="Review", elem_id="chat", height=420)
                with gr.Row():
                    question = gr.Textbox(label="Question", elem_id="question", scale=4,
                                          placeholder="Has the lesion progressed since the prior?")
                    ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                choice = gr.Radio(choices=[], label="Which image did you mean?", visible=False, elem_id="choice")
                resume = gr.Button("Continue with this choice", visible=False, elem_id="resume")
                export = gr.DownloadButton("Export review (Markdown)", elem_id="export")
                with gr.Row():
                    dicom = gr.DownloadButton("Export as DICOM (SEG + SR)", elem_id="export-dicom")
                    stow = gr.Checkbox(label="Also store on the PACS", value=False, elem_id="stow")
                dicom_status = gr.Markdown(elem_id="dicom-status")

        ui.load(lambda: gr.update(choices=rv.patient_choices(service, "")), None, patient)
        search.change(lambda q: gr.update(choices=rv.patient_choices(service, q)), search, patient)
        # A new patient starts a new thread: a thread never mixes two patients' questions.
        patient.change(lambda p: (*rv.on_patient(service, p), None, []), patient,
                       [timeline, images, reviews, plot, thread, chat])
        images.change(lambda ids: rv.on_images(service, ids), images, gallery)
        reviews.change(lambda t: rv.on_review(service, t), reviews, [chat, thread])
        upload_btn.click(lambda fs, p, progress=gr.Progress(): rv.on_upload(service, fs, p, progress),
                         [upload, patient], [upload_status, patient])
        outs = [chat, thread, viewer, plot, overlay_pick, slice_slider, choice, resume]
        ask.click(lambda q, ids, p, th, h: (yield from rv.on_ask(service, q, ids, p, th, h)),
                  [question, images, patient, thread, chat], outs)
        resume.click(lambda c, th, h, p: (yield from rv.on_resume(service, c, th, h, p)),
                     [choice, thread, chat, patient], outs)
        overlay_pick.change(lambda o, s: rv.on_overlay(service, o, s), [overlay_pick, slice_slider], viewer)
        slice_slider.release(lambda o, s: rv.on_overlay(service, o, s), [overlay_pick, slice_slider], viewer)
        export.click(lambda th: rv.on_export(service, th), thread, export)
        pull_btn.click(lambda p: pacs.on_pull(service, p), patient, upload_status).then(
            lambda p: rv.on_patient(service, p), patient, [timeline, images, reviews, plot])
        dicom.click(lambda th, st: pacs.on_export_dicom(service, th, st), [thread, stow], [dicom, dicom_status])
    return ui
