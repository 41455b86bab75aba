"""find_priors and similar_cases on a small longitudinal timeline (real MiniLM, real FAISS)."""

from __future__ import annotations

from datetime import date

import pytest

from mimir.domain import CaseImage
from mimir.memory.db import open_database
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolArgumentError
from mimir.tools.framework.registry import Registry
from mimir.tools.retrieval import index_access
from mimir.tools.retrieval.tools import PriorsArgs, SimilarArgs, find_priors, register, similar_cases
from tests.fixtures.retrieval_timeline import build_timeline


@pytest.fixture
def settings(settings):
    """Text vectors only: these tests must not depend on which expert bundles are trained."""
    return settings.model_copy(update={"retrieval_image_embedder": "none"})


@pytest.fixture
def timeline(settings, tmp_path):
    index_access.forget_open_indexes()
    db = open_database(settings)
    with db.session() as s:
        studies = build_timeline(s, tmp_path / "pictures")
    yield db, {k: v.id for k, v in studies.items()}, {k: v.study_uid for k, v in studies.items()}
    index_access.forget_open_indexes()
    db.dispose()


def test_find_priors_returns_earlier_same_region_studies_of_this_patient_first(settings, timeline):
    db, ids, uids = timeline
    with db.session() as s:
        ctx = ToolContext(settings=settings, session=s)
        out = find_priors(PriorsArgs(study_uid=uids[("P1", date(2022, 1, 11))]), ctx)
    got = [p.study_id for p in out.priors]
    p1_before = {ids[k] for k in ids if k[0] == "P1" and k[1] < date(2022, 1, 11)}
    assert set(got) == p1_before  # every earlier P1 study, nothing else
    assert got[:2] == [ids[("P1", date(2021, 1, 12))], ids[("P1", date(2020, 1, 10))]] or \
        set(got[:2]) == {ids[("P1", date(2021, 1, 12))], ids[("P1", date(2020, 1, 10))]}
    assert all(p.same_modality and p.same_body_part for p in out.priors[:2])
    assert not any(p.same_body_part for p in out.priors[2:])
    assert all(p.study_date < date(2022, 1, 11) for p in out.priors)
    volume = next(c for c in out.changes if c.label == "lesion volume")
    assert [st.value for st in volume.steps] == [12.0, 15.5, 19.0]
    assert volume.delta == pytest.approx(7.0)
    assert f"study:{ids[('P1', date(2021, 1, 12))]}" in out.cites
    assert any(c.startswith("image:") for c in out.cites)


def test_find_priors_from_a_case_image_uses_its_study(settings, timeline):
    db, ids, _ = timeline
    with db.session() as s:
        from mimir.memory.models import Image, Series

        image = s.query(Image).join(Series).filter(Series.study_id == ids[("P1", date(2021, 1, 12))]).one()
        ctx = ToolContext(settings=settings, session=s, images=[CaseImage(path=image.storage_path)])
        out = find_priors(PriorsArgs(image_index=0, same_modality_only=True), ctx)
    assert out.study.study_id == ids[("P1", date(2021, 1, 12))]
    assert [p.study_id for p in out.priors] == [ids[("P1", date(2020, 1, 10))], ids[("P1", date(2020, 6, 1))]]


def test_similar_cases_excludes_the_patient_and_shows_later_course(settings, timeline):
    db, ids, uids = timeline
    with db.session() as s:
        ctx = ToolContext(settings=settings, session=s)
        out = similar_cases(SimilarArgs(study_uid=uids[("P1", date(2020, 1, 10))], k=3), ctx)
    p1 = {v for k, v in ids.items() if k[0] == "P1"}
    assert out.cases and not any(c.study.study_id in p1 for c in out.cases)
    assert all(c.study.modality == "MR" for c in out.cases)
    first_visits = {ids[("P2", date(2019, 5, 5))], ids[("P3", date(2021, 3, 3))]}
    case = next(c for c in out.cases if c.study.study_id in first_visits)
    assert case.later and all(later.study_date > case.study.study_date for later in case.later)
    assert case.course and case.course[0].label == "lesion volume" and len(case.course[0].steps) == 2


def test_unknown_study_is_an_argument_error(settings, timeline):
    db, _, _ = timeline
    with db.session() as s, pytest.raises(ToolArgumentError, match="Unknown study_uid 'nope'"):
        find_priors(PriorsArgs(study_uid="nope"), ToolContext(settings=settings, session=s))


def test_tools_register_with_availability(settings, tmp_path):
    reg = Registry("test")
    register(reg)
    assert reg.names() == ["find_priors", "similar_cases"]
    assert "ingest" in (reg.get("find_priors").unavailable_reason(settings) or "")
    open_database(settings).dispose()
    assert reg.get("find_priors").unavailable_reason(settings) is None


def test_image_vectors_join_the_ranking_when_an_image_embedder_is_configured(settings, tmp_path):
    settings = settings.model_copy(update={"retrieval_image_embedder": "thumbnail"})
    index_access.forget_open_indexes()
    db = open_database(settings)
    with db.session() as s:
        studies = build_timeline(s, tmp_path / "pictures")
        uid = studies[("P1", date(2022, 1, 11))].study_uid
    with db.session() as s:
        out = find_priors(PriorsArgs(study_uid=uid), ToolContext(settings=settings, session=s))
    index_access.forget_open_indexes()
    db.dispose()
    by_date = {p.study_date: p for p in out.priors}
    same_picture, other_picture = by_date[date(2021, 1, 12)], by_date[date(2021, 6, 3)]
    assert same_picture.image_similarity is not None and other_picture.image_similarity is not None
    assert same_picture.image_similarity > 0.99 > other_picture.image_similarity
