"""Training an expert from scratch writes a complete, reproducible bundle; evaluate guards its seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mimir.tools.experts import train as train_mod
from mimir.tools.experts.cli import register
from mimir.tools.experts.evaluate import evaluate_expert
from mimir.tools.experts.train import TrainPlan, train_expert

NAME = "fundus_laterality_classifier"


@pytest.fixture
def tiny_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    plans = dict(train_mod.PLANS)
    plans[NAME] = TrainPlan("classification", samples=6, epochs=1, batch_size=3, sizes=(64,))
    monkeypatch.setattr(train_mod, "PLANS", plans)
    monkeypatch.setattr(train_mod, "FINETUNE_PLANS", {NAME: TrainPlan("classification", samples=3, epochs=1,
                                                                      batch_size=3, sizes=(64,), lr=1e-3)})


@pytest.mark.usefixtures("tiny_plan")
def test_train_writes_a_reproducible_bundle(tmp_path: Path) -> None:
    first = train_expert(NAME, seed=7, out=tmp_path / "a")
    second = train_expert(NAME, seed=7, out=tmp_path / "b")
    other = train_expert(NAME, seed=8, out=tmp_path / "c")
    for part in ("configs/inference.json", "configs/metadata.json", "docs/README.md", "models/model.pt"):
        assert (tmp_path / "a" / part).is_file()
    record = json.loads((tmp_path / "a/models/training.json").read_text())
    assert record["training_seeds"] == [7] and record["plan"]["samples"] == 6
    assert first["model_sha256"] == second["model_sha256"] != other["model_sha256"]


@pytest.mark.usefixtures("tiny_plan")
def test_cached_training_data_trains_the_same_weights_and_is_refused_for_another_seed(tmp_path: Path) -> None:
    cache = tmp_path / "data.npz"
    fresh = train_expert(NAME, seed=7, out=tmp_path / "a")
    written = train_expert(NAME, seed=7, out=tmp_path / "b", cache=cache)
    assert cache.is_file()
    read_back = train_expert(NAME, seed=7, out=tmp_path / "c", cache=cache)
    assert fresh["model_sha256"] == written["model_sha256"] == read_back["model_sha256"]
    with pytest.raises(ValueError, match="holds data drawn for"):
        train_expert(NAME, seed=8, out=tmp_path / "d", cache=cache)


@pytest.mark.usefixtures("tiny_plan")
def test_training_continues_from_a_bundle_and_keeps_its_seeds(tmp_path: Path) -> None:
    import torch

    train_expert(NAME, seed=7, out=tmp_path / "a")
    record = train_expert(NAME, seed=11, out=tmp_path / "b", init=tmp_path / "a")
    assert record["training_seeds"] == [7, 11] and record["plan"]["samples"] == 3
    assert record["started_from"]["model_sha256"] == json.loads((tmp_path / "a/models/training.json").read_text())["model_sha256"]
    start = torch.load(tmp_path / "a/models/model.pt", weights_only=True)
    fresh = train_mod.build_network(tmp_path / "a").state_dict()
    tuned = torch.load(tmp_path / "b/models/model.pt", weights_only=True)
    # one small step from the given weights: far closer to them than to a fresh network
    key = next(k for k, v in start.items() if v.is_floating_point() and v.numel() > 100)
    assert (tuned[key] - start[key]).abs().mean() < 0.2 * (fresh[key] - start[key]).abs().mean()
    with pytest.raises(ValueError, match="Seed 11 was used to train"):
        evaluate_expert(NAME, 11, n=4, bundle=tmp_path / "b")
    with pytest.raises(FileNotFoundError):
        train_expert(NAME, seed=12, out=tmp_path / "c", init=tmp_path / "missing")


@pytest.mark.usefixtures("tiny_plan")
def test_evaluate_refuses_training_seeds_and_runs_the_trained_bundle(tmp_path: Path) -> None:
    train_expert(NAME, seed=7, out=tmp_path)
    with pytest.raises(ValueError, match="Seed 7 was used to train"):
        evaluate_expert(NAME, 7, n=4, bundle=tmp_path)
    report = evaluate_expert(NAME, 9, n=4, bundle=tmp_path)
    assert report.n == 4 and 0.0 <= report.metrics["accuracy"] <= 1.0


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    register(app)
    return app


def test_cli_lists_experts_and_refuses_a_training_seed() -> None:
    runner = CliRunner()
    listed = runner.invoke(_cli(), ["experts", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    names = {row["name"] for row in json.loads(listed.stdout)}
    assert names == set(train_mod.PLANS)
    refused = runner.invoke(_cli(), ["experts", "evaluate", NAME, "--seed", "0", "--json"])
    assert refused.exit_code == 2
    assert "Seed 0 was used to train" in refused.output


def test_cli_resection_figures_refuse_a_training_seed_and_other_experts() -> None:
    runner = CliRunner()
    refused = runner.invoke(_cli(), ["experts", "evaluate", "brain_mri_lesion_seg", "--seed", "1", "--resection", "--json"])
    assert refused.exit_code == 2
    assert "Seed 1 was used to train" in refused.output
    other = runner.invoke(_cli(), ["experts", "evaluate", "head_ct_haemorrhage_seg", "--seed", "99", "--resection"])
    assert other.exit_code == 2
    assert "'head_ct_haemorrhage_seg'" in other.output and "cover brain_mri_lesion_seg" in other.output


@pytest.mark.gpu
@pytest.mark.usefixtures("tiny_plan")
def test_training_on_a_gpu_writes_cpu_loadable_weights(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    record = train_expert(NAME, seed=7, out=tmp_path / "g", device="cuda")
    assert record["device"] == "cuda"
    state = torch.load(tmp_path / "g/models/model.pt", map_location="cpu", weights_only=True)
    assert all(t.device.type == "cpu" for t in state.values())
