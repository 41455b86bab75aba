"""find_priors and similar_cases on generated demo patients, ingested through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from mimir.demo.build import build_demo
from mimir.demo.render import BuildOptions
from mimir.memory.db import open_database
from mimir.memory.ingest.demo import load_demo
from mimir.memory.models import Study
from mimir.settings import Settings
from mimir.tools.framework.context import ToolContext
from mimir.tools.retrieval import index_access
from mimir.tools.retrieval.tools import PriorsArgs, SimilarArgs, find_priors, similar_cases

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("retrieval-demo")
    build_demo(root / "set", patients=3, seed=7, workers=1, opts=BuildOptions(series=False, nifti=False))
    settings = Settings(data_dir=root / "data", retrieval_image_embedder="none").ensure_dirs()
    db = open_database(settings)
    load_demo(db, root / "set", settings)
    index_access.forget_open_indexes()
    yield settings, db
    index_access.forget_open_indexes()
    db.dispose()


def _latest_mr_follow_up(session) -> Study:
    studies = session.scalars(select(Study).where(Study.modality == "MR").order_by(Study.study_date)).all()
    by_patient: dict[int, list[Study]] = {}
    for st in studies:
        by_patient.setdefault(st.patient_id, []).append(st)
    return max((v for v in by_patient.values() if len(v) >= 2), key=len)[-1]


def test_priors_of_a_follow_up_mri_are_this_patients_earlier_mris(demo):
    settings, db = demo
    with db.session() as s:
        follow_up = _latest_mr_follow_up(s)
        out = find_priors(PriorsArgs(study_uid=follow_up.study_uid), ToolContext(settings=settings, session=s))
        mine = {st.id: st for st in s.scalars(select(Study).where(Study.patient_id == follow_up.patient_id))}
    expected = {i for i, st in mine.items() if st.study_date < follow_up.study_date}
    assert expected and {p.study_id for p in out.priors} == expected  # never later, never another patient
    assert all(p.study_date < follow_up.study_date for p in out.priors)
    first = out.priors[0]
    assert first.same_modality and first.same_body_part and first.image_ids


def test_similar_cases_come_from_other_patients(demo):
    settings, db = demo
    with db.session() as s:
        follow_up = _latest_mr_follow_up(s)
        out = similar_cases(SimilarArgs(study_uid=follow_up.study_uid, k=3), ToolContext(settings=settings, session=s))
        patient_of = dict(s.execute(select(Study.id, Study.patient_id)).tuples().all())
    assert out.cases
    assert all(patient_of[c.study.study_id] != follow_up.patient_id for c in out.cases)
    assert all(c.study.modality == "MR" for c in out.cases)


def test_default_image_vectors_come_from_the_trained_expert_encoder(demo):
    from mimir.tools.experts.embed import DEFAULT_EMBEDDER, embedder_version

    settings, db = demo
    experts = settings.model_copy(update={"retrieval_image_embedder": "experts",
                                          "data_dir": settings.data_dir.parent / "data-experts"}).ensure_dirs()
    bundle = next(d for d in settings.expert_dirs[0].iterdir() if d.name == DEFAULT_EMBEDDER)
    with db.session() as s:
        follow_up = _latest_mr_follow_up(s)
        out = find_priors(PriorsArgs(study_uid=follow_up.study_uid), ToolContext(settings=experts, session=s))
        index = index_access.open_index(experts, s)
    space = index.status.spaces[f"image:expert:{DEFAULT_EMBEDDER}"]
    assert space.version == embedder_version(bundle) and space.vectors > 0
    assert all(p.image_similarity is not None for p in out.priors if p.modality == "MR")
