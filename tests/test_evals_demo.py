"""The demo suite goes through the same loader as Med-MIM, and the agent runs on it end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mimir.evals.demo_suite import build_demo_suite, load_suite_folder
from mimir.evals.run import EvalOptions, run_eval
from mimir.evals.runners import RunnerConfig


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    return build_demo_suite(seed=3, patients=1, out=tmp_path_factory.mktemp("demo"))


def test_demo_files_load_with_suite_counts(suite):
    index = json.loads((suite / "suite.json").read_text())
    items = load_suite_folder(suite)
    n = Counter(it.subset for it in items)
    closed = Counter(it.subset for it in items if it.closed)
    for f in index["files"]:
        name = f"{f['ability']}-{f['variant']}"
        assert (n[name], closed[name]) == (f["items"], f["closed"]), name
    assert {it.source for it in items} == {"DEMO"}
    assert all(not it.missing_images for it in items)
    assert {it.ability for it in items} <= {"temporal", "comparison", "coreference", "reasoning"}


@pytest.mark.slow
def test_agent_runs_demo_dicom_items_with_timeline(suite, tmp_path, settings):
    out = tmp_path / "run"
    (out).mkdir()
    (out / suite.name).symlink_to(suite, target_is_directory=True)  # reuse the built suite
    opts = EvalOptions(suite="demo", seed=3, patients=1, runner=RunnerConfig(name="agent"), out=out,
                       subsets=["coreference-dicom"], limit=3, concurrency=1, progress=False)
    summary, records = run_eval(opts, settings)
    assert summary.overall.n == 3 and len(records) == 3
    assert summary.overall.counts["infra_error"] == 0
    assert (out / "data" / ".demo-loaded").is_file()
    assert all(r.runner == "agent" for r in records.values())


def test_suite_of_chosen_kinds_has_its_own_folder_and_only_those_patients(tmp_path):
    folder = build_demo_suite(seed=3, patients=2, out=tmp_path, kinds=("cxr", "mg"))
    assert folder.name == "demo-suite-s3-p2-cxr-mg"
    truth = json.loads((folder / "ground_truth.json").read_text())
    assert [p["kind"] for p in truth["patients"]] == ["cxr", "mg"]
    with pytest.raises(ValueError, match="unknown demo kind"):
        build_demo_suite(seed=3, patients=1, out=tmp_path, kinds=("xray",))  # type: ignore[arg-type]


def test_volume_items_are_staged_under_neutral_names(suite):
    from mimir.evals.staging import staged_input
    from mimir.memory.hashing import file_hash

    items = {it.subset: it for it in load_suite_folder(suite)}
    nifti, series = items["temporal-nifti"], items["temporal-series"]
    with staged_input(nifti) as inp:
        assert [p.name for p in inp.images] == [f"img_{i}.nii.gz" for i in range(len(nifti.images))]
        assert [file_hash(p) for p in inp.images] == [file_hash(p) for p in nifti.resolved]
    with staged_input(series) as inp:
        staged, source = inp.images[0], series.resolved[0]
        assert staged.name == "img_0" and staged.is_dir()
        files = sorted(staged.iterdir())
        assert [f.name for f in files[:2]] == ["0000.dcm", "0001.dcm"]
        assert [file_hash(f) for f in files] == [file_hash(f) for f in sorted(source.iterdir())]
