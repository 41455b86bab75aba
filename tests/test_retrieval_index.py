"""The index is never answered from when it cannot be trusted: each cause is detected and reported."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from mimir.memory.db import open_database
from mimir.memory.models import Patient, Study
from mimir.settings import Settings
from mimir.tools.retrieval import ann
from mimir.tools.retrieval.embedders import MiniLMTextEmbedder
from mimir.tools.retrieval.id_map import Filters
from mimir.tools.retrieval.index import TEXT, RetrievalIndex
from mimir.tools.retrieval.index_access import default_text_embedder
from tests.fixtures.retrieval_timeline import add_study, build_timeline


class RetrainedMiniLM(MiniLMTextEmbedder):
    """The same model announcing a new version, as after a site updates its text model."""

    def __init__(self) -> None:
        super().__init__()
        self.version = self.version + "+retrained"
        self._model = default_text_embedder()._load()  # type: ignore[attr-defined]


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"retrieval_image_embedder": "none"})


@pytest.fixture
def db(settings, tmp_path):
    database = open_database(settings)
    with database.session() as s:
        build_timeline(s, tmp_path / "pictures")
    yield database
    database.dispose()


def _built(settings, db, text=None) -> RetrievalIndex:
    index = RetrievalIndex(settings, text or default_text_embedder())
    with db.session() as s:
        index.build(s)
    index.close()
    return RetrievalIndex(settings, text or default_text_embedder())


def test_fresh_index_loads_ready_and_answers(settings, db):
    index = _built(settings, db)
    with db.session() as s:
        status = index.load_or_rebuild(s)
        assert status.state == "ready" and status.reason is None and not status.stale
        assert status.entries == 11 and status.spaces[TEXT].embedder == "all-MiniLM-L6-v2"
        assert status.spaces[TEXT].dim == 384 and status.spaces[TEXT].kind == "flat"


def test_missing_index_file_is_reported_and_rebuilt(settings, db):
    index = _built(settings, db)
    (settings.index_dir / "text.faiss").unlink()
    with db.session() as s:
        assert index.inspect(s).state == "stale"
        status = index.load_or_rebuild(s)
    assert status.state == "rebuilt" and "text.faiss is missing" in status.reason
    assert (settings.index_dir / "text.faiss").is_file() and status.entries == 11


def test_corrupt_index_file_is_reported_and_rebuilt(settings, db):
    index = _built(settings, db)
    path = settings.index_dir / "text.faiss"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with db.session() as s:
        status = index.load_or_rebuild(s)
    assert status.state == "rebuilt" and "checksum" in status.reason


def test_changed_embedder_version_is_reported_and_rebuilt(settings, db):
    _built(settings, db).close()
    index = RetrievalIndex(settings, RetrainedMiniLM())
    with db.session() as s:
        status = index.load_or_rebuild(s)
    assert status.state == "rebuilt" and "embedder of 'text' changed" in status.reason
    assert status.spaces[TEXT].version.endswith("+retrained")


def test_study_added_after_writing_is_reported_and_indexed(settings, db, tmp_path):
    index = _built(settings, db)
    with db.session() as s:
        patients = {p.patient_key: p for p in s.scalars(select(Patient))}
        new = add_study(s, tmp_path / "pictures", patients,
                        ("P1", date(2024, 1, 1), "MR", "BRAIN", "MRI brain", "Stable.", 4.0, "camera"))
        new_id = new.id
    with db.session() as s:
        status = index.load_or_rebuild(s)
    assert status.state == "updated" and "timeline changed" in status.reason and "studies" in status.reason
    assert status.entries == 12
    hits = index.search(TEXT, index.study_vector(TEXT, new_id), 1, Filters(patient_id=None))
    assert hits[0].row.study_id == new_id


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_removing_a_study_removes_its_vector(settings, db, monkeypatch, kind):
    if kind == "ivf":  # the kind chosen above the flat limit
        monkeypatch.setattr(ann, "FLAT_MAX_VECTORS", 2)
    index = _built(settings, db)
    with db.session() as s:
        index.load_or_rebuild(s)
        assert ann.kind_of(index.spaces[TEXT]) == kind
        gone = s.scalar(select(Study).where(Study.study_date == date(2021, 1, 12)))
        gone_id = gone.id
        query = index.study_vector(TEXT, gone_id)
        s.delete(gone)
    with db.session() as s:
        status = index.load_or_rebuild(s)
    assert status.state == "updated" and "removed 1" in status.reason and status.entries == 10
    assert index.study_vector(TEXT, gone_id) is None
    hits = index.search(TEXT, query, 20, Filters())
    assert len(hits) == 10 and gone_id not in {h.row.study_id for h in hits}
    reopened = RetrievalIndex(settings, default_text_embedder())
    with db.session() as s:
        assert reopened.load_or_rebuild(s).state == "ready"
    assert gone_id not in {h.row.study_id for h in reopened.search(TEXT, query, 20, Filters())}
    if kind == "flat":
        assert reopened.spaces[TEXT].ntotal == 10


def test_filters_apply_inside_the_search(settings, db):
    index = _built(settings, db)
    with db.session() as s:
        index.load_or_rebuild(s)
        follow_up = s.scalar(select(Study).where(Study.study_date == date(2022, 1, 11)))
        query = index.study_vector(TEXT, follow_up.id)
        f = Filters(patient_id=follow_up.patient_id, before=follow_up.study_date, modality="MR", body_part="BRAIN")
        hits = index.search(TEXT, query, 1, f)
        assert len(hits) == 1
        row = hits[0].row
        assert (row.patient_id, row.modality, row.body_part) == (follow_up.patient_id, "MR", "BRAIN")
        assert row.study_date < follow_up.study_date
        others = index.search(TEXT, query, 3, Filters(exclude_patient_id=follow_up.patient_id, modality="CT"))
        assert [h.row.body_part for h in others] == ["CHEST"]
        assert np.isclose(index.search(TEXT, query, 1, Filters())[0].score, 1.0, atol=1e-4)


def test_every_shipped_expert_with_a_modality_gets_an_encoder_also_with_several_modalities(settings: Settings) -> None:
    """A bundle may declare one modality or a list (CR and DX radiographs); both give the index an encoder."""
    import json
    from pathlib import Path

    from mimir.tools.framework.capabilities import canonical_modality
    from mimir.tools.retrieval.embedders import embedder_for, expert_embedders

    found = {e.bundle_dir.name: e.modalities for e in expert_embedders(settings)}  # type: ignore[attr-defined]
    declared: dict[str, list[str]] = {}
    for root in settings.expert_dirs:
        for meta in Path(root).glob("*/configs/metadata.json"):
            m = json.loads(meta.read_text()).get("mimir", {}).get("modality")
            if m and (meta.parent.parent / "models" / "model.pt").is_file():
                declared[meta.parent.parent.name] = [canonical_modality(x) for x in (m if isinstance(m, list) else [m])]
    assert any(len(v) > 1 for v in declared.values())  # the case this test is about is shipped
    covered = {m for mods in found.values() for m in mods}
    assert all(m in covered for mods in declared.values() for m in mods)
    for name, mods in found.items():
        assert list(mods) == list(dict.fromkeys(declared[name]))
    embedders = expert_embedders(settings)
    for code in ("CR", "DX", "MR", "CT", "MG", "OP", "FUNDUS"):  # codes of the images the index sees
        chosen = embedder_for(embedders, code)
        assert chosen is not None and canonical_modality(code) in chosen.modalities, code
