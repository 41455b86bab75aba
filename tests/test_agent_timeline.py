"""Questions about a patient's timeline on a freshly built and loaded demo set (oracle experts, slices and volumes).

Seed 4, five patients: two MRI resections followed for three and four visits (prior: stable; baseline,
before surgery: smaller), an MRI that progresses, a CT whose haemorrhage resolves, a fundus patient
with one study.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.agent_demo import oracle_registry, oracle_volume_registry

from mimir.agent.entry import Agent
from mimir.demo.truth import GroundTruth, PatientTruth, classify_change
from mimir.domain import Case, CaseImage
from mimir.settings import Settings

pytestmark = pytest.mark.slow
OPTIONS = "\nA: It has grown\nB: About the same size\nC: It has shrunk"
LETTER = {"progressing": "A", "stable": "B", "improving": "C"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    from mimir.demo.build import BuildOptions, build_demo
    from mimir.memory.db import open_database
    from mimir.memory.ingest.demo import load_demo

    out = tmp_path_factory.mktemp("timeline-demo")
    build_demo(out / "demo", patients=5, seed=4, workers=1, opts=BuildOptions(series=False))
    settings = Settings(data_dir=out / "data").ensure_dirs()
    load_demo(open_database(settings), out / "demo", settings)
    return out / "demo", settings


def _truth(demo: Path) -> list[PatientTruth]:
    return GroundTruth.model_validate_json((demo / "ground_truth.json").read_text()).patients


def _gold(p: PatientTruth, reference: int) -> str:
    change = classify_change(p.visits[reference].whole_ml, p.visits[-1].whole_ml)
    assert change is not None, "the test patients are chosen where the simulation is clear-cut"
    return LETTER[change]


def _compared(answer: object) -> list[str]:
    return sorted(str(e.values["study_date"]) for e in answer.evidence if "study_id" in e.values)  # type: ignore[attr-defined]


@pytest.mark.parametrize("registry", [oracle_registry, oracle_volume_registry], ids=["slices", "volumes"])
def test_prior_and_baseline_follow_the_words(demo: tuple[Path, Settings], registry) -> None:
    folder, settings = demo
    agent = Agent(settings, registry=registry(folder))
    resected = [p for p in _truth(folder) if p.trajectory.startswith("resection") and len(p.visits) >= 3]
    assert len(resected) == 2
    unit = "mm2" if registry is oracle_registry else "mL"
    for p in resected:
        prior = agent.answer(Case(question="How has the tumour changed since the prior study?" + OPTIONS,
                                  patient_id=p.patient_id))
        baseline = agent.answer(Case(question="How has the tumour changed since baseline?" + OPTIONS,
                                     patient_id=p.patient_id))
        assert (prior.letter, baseline.letter) == (_gold(p, -2), _gold(p, 0)) == ("B", "C"), (prior, baseline)
        assert _compared(prior) == sorted(str(v.study_date) for v in p.visits[-2:])
        assert _compared(baseline) == sorted(str(p.visits[i].study_date) for i in (0, -1))
        assert {e.values.get("unit") for e in baseline.evidence if "size" in e.values} == {unit}
        assert all("T1 POST" in e.statement for e in baseline.evidence if "study_id" in e.values)


def test_one_study_patient_has_no_prior(demo: tuple[Path, Settings]) -> None:
    folder, settings = demo
    fundus = next(p for p in _truth(folder) if len(p.visits) == 1)
    answer = Agent(settings, registry=oracle_registry(folder)).answer(
        Case(question="Has the lesion grown since the prior study?\nA: yes\nB: no", patient_id=fundus.patient_id))
    assert answer.status == "abstained" and answer.letter is None and not answer.steps
    assert (answer.abstain_reason or "").startswith("no prior study")


def test_images_of_one_study_are_never_a_change(demo: tuple[Path, Settings]) -> None:
    folder, settings = demo
    p = next(p for p in _truth(folder) if p.trajectory == "progressing")
    two = [str((folder / im.dicom).resolve()) for im in p.visits[-1].images if im.sequence in ("T1", "T1C")]
    agent = Agent(settings, registry=oracle_registry(folder))
    for patient in (p.patient_id, None):  # with the patient named, and found from the images alone
        answer = agent.answer(Case(question="Has the tumour grown since the prior scan?" + OPTIONS, patient_id=patient,
                                   images=[CaseImage(path=x) for x in two]))
        assert answer.status == "abstained" and "of one study" in (answer.abstain_reason or ""), answer
    latest = next(im for im in p.visits[-1].images if im.sequence == "T1C")
    copies = [CaseImage(path=str((folder / x).resolve())) for x in (latest.png, latest.dicom)]
    answer = agent.answer(Case(question="How has the tumour changed from the first image to the second?" + OPTIONS,
                               images=copies))  # a comparison of two named images, answered as a change
    assert answer.status == "abstained" and "from one study" in (answer.abstain_reason or ""), answer
    unlinked = Agent(settings, registry=oracle_registry(folder), timeline=False)
    dated = [CaseImage(path=x, study_date=p.visits[-1].study_date) for x in two]
    answer = unlinked.answer(Case(question="How has the tumour changed over time?" + OPTIONS, images=dated))
    assert answer.status == "abstained" and "from one study" in (answer.abstain_reason or "")


def test_an_upload_is_compared_with_the_prior_from_the_timeline(demo: tuple[Path, Settings]) -> None:
    folder, settings = demo
    p = next(p for p in _truth(folder) if p.trajectory == "progressing")
    latest = next(im for im in p.visits[-1].images if im.sequence == "T1C")
    answer = Agent(settings, registry=oracle_registry(folder)).answer(Case(
        question="Has the tumour grown since the prior scan?" + OPTIONS, patient_id=p.patient_id,
        images=[CaseImage(path=str((folder / latest.dicom).resolve()))]))
    assert answer.letter == _gold(p, -2) == "A"
    assert _compared(answer) == [str(p.visits[-2].study_date)]  # the given image is the current one


def test_chat_asks_which_study_when_a_date_matches_none(demo: tuple[Path, Settings]) -> None:
    folder, settings = demo
    p = next(p for p in _truth(folder) if p.trajectory == "progressing")
    question = "How has the tumour changed between the March 2014 MRI and the latest scan?" + OPTIONS
    agent = Agent(settings, registry=oracle_registry(folder))
    batch = agent.answer(Case(question=question, patient_id=p.patient_id))
    assert batch.status == "abstained" and "March 2014" in (batch.abstain_reason or "")
    events = list(agent.stream(Case(question=question, patient_id=p.patient_id), thread_id="t-ask"))
    asked = events[-1]
    assert asked.kind == "interrupt" and asked.node == "gather"
    dates = [c["studies"][0]["study_date"] for c in asked.data["candidates"]]
    assert dates == [str(v.study_date) for v in p.visits]
    final = list(agent.resume("t-ask", 0))[-1]
    answer = final.data["answer"]
    assert final.kind == "answer" and answer["letter"] == _gold(p, 0)


def test_mimir_ask_patient_json(demo: tuple[Path, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from mimir.agent import cli

    folder, settings = demo
    p = next(p for p in _truth(folder) if p.kind == "ct")
    monkeypatch.setenv("MIMIR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("mimir.tools.build_registry", lambda settings=None, **_: oracle_registry(folder))
    app = typer.Typer()
    cli.register(app)
    app.command("version")(lambda: None)
    result = CliRunner().invoke(app, ["ask", "--patient", p.patient_id, "--json",
                                      "Has the haemorrhage changed since the prior CT?" + OPTIONS], catch_exceptions=False)
    answer = json.loads(result.stdout)
    assert result.exit_code == 0 and answer["letter"] == _gold(p, -2) == "C"
    assert [s["tool"] for s in answer["steps"]] == ["segment", "segment"]  # no sequence check on CT


def test_index_build_then_similar_cases_through_ask(demo: tuple[Path, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    import typer
    from typer.testing import CliRunner

    from mimir.agent import cli
    from mimir.tools.retrieval import cli as index_cli
    from mimir.tools.retrieval.index_access import forget_open_indexes

    folder, settings = demo
    monkeypatch.setenv("MIMIR_DATA_DIR", str(settings.data_dir))
    app = typer.Typer()
    cli.register(app)
    index_cli.register(app)
    built = CliRunner().invoke(app, ["index", "build", "--json"], catch_exceptions=False)
    status = json.loads(built.stdout)
    assert built.exit_code == 0 and status["entries"] == sum(len(p.visits) for p in _truth(folder))  # every study
    assert any("3D" in reason for reason in status["skipped"]), status["skipped"]  # volumes left out, with the reason
    assert sum(s["vectors"] for name, s in status["spaces"].items() if name.startswith("image:")) > 0
    forget_open_indexes()
    p = next(p for p in _truth(folder) if p.trajectory == "progressing")
    asked = CliRunner().invoke(app, ["ask", "--patient", p.patient_id, "--json",
                                     "Have we seen similar cases, and how did they evolve?"], catch_exceptions=False)
    answer = json.loads(asked.stdout)
    assert asked.exit_code == 0 and answer["status"] == "ok", answer
    assert [s["tool"] for s in answer["steps"]] == ["similar_cases"]
    others = {pt.patient_id for pt in _truth(folder)} - {p.patient_id}
    cited = [e for e in answer["evidence"] if e["statement"].startswith("similar case")]
    assert cited and "Cited: study:" in answer["text"] and p.patient_id not in answer["text"]
    assert others and "later:" in cited[0]["statement"]
