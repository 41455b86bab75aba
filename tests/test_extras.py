"""A base install (no extras): every module loads, and each optional feature names the extra it needs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.missing_extras import HideExtras, hidden
from typer.testing import CliRunner

from mimir.extras import EXTRAS, MODULE_EXTRAS, MissingExtra, import_extra, require_extra
from mimir.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

#: Runs in a fresh interpreter with the extras hidden; prints {module: null | [exception type, message]}.
IMPORT_ALL = """
import importlib, json, pkgutil, sys
sys.path.insert(0, {tests!r})
from fixtures.missing_extras import hide_extras
hide_extras()
result = {{}}
for package in {packages!r}:
    names = [package] + [f"{{package}}.{{m.name}}" for m in pkgutil.iter_modules(importlib.import_module(package).__path__)
                         if not m.ispkg and m.name != "__main__"]
    for name in names:
        try:
            importlib.import_module(name)
            result[name] = None
        except Exception as e:
            result[name] = [type(e).__name__, str(e), getattr(e, "name", None)]
print(json.dumps(result))
"""


@pytest.fixture
def base_install(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process sees no extra's packages until the test ends."""
    for name in [n for n in sys.modules if hidden(n)]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [HideExtras(list(sys.meta_path))])
    yield


def test_pyproject_extras_are_the_ones_mimir_names() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert set(EXTRAS) | {"all", "test"} == set(extras)
    assert extras["all"] == [f"mimir[{','.join(EXTRAS)}]"]
    base = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for extra, requirements in extras.items():
        if extra not in ("all", "test"):
            assert not [r for r in requirements if r.split(">")[0].split("[")[0].lower() in base], extra


@pytest.mark.slow
def test_every_module_imports_with_the_base_install_alone() -> None:
    packages = [p for p in PYPROJECT["tool"]["setuptools"]["packages"] if "migrations" not in p]
    script = IMPORT_ALL.format(tests=str(ROOT / "tests"), packages=packages)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result) > 150
    failed = {name: err for name, err in result.items() if err is not None}
    for name, (kind, message, missing) in failed.items():
        owner = next((p for p in MODULE_EXTRAS if name == p or name.startswith(p + ".")), None)
        assert owner is not None, f"{name} does not load without extras: {kind}: {message}"
        assert kind in ("ModuleNotFoundError", "MissingExtra") and hidden(missing), (name, message)
        assert missing.split(".")[0] in {m.split(".")[0] for m in EXTRAS[MODULE_EXTRAS[owner]]}, (name, message)
    loaded = [n for n, err in result.items() if err is None]
    assert "mimir.app.cli" in loaded and "mimir.evals.ray_engine" in loaded and "mimir.tools.totalseg" in loaded


def test_missing_extra_message_names_the_extra_and_the_command(base_install: None) -> None:
    with pytest.raises(MissingExtra) as err:
        require_extra("ray", "mimir eval --engine ray")
    assert str(err.value) == ("mimir eval --engine ray needs the 'ray' extra (module 'ray' is not installed): "
                              "pip install 'mimir[ray]'")
    assert isinstance(err.value, ModuleNotFoundError) and err.value.extra == "ray"
    with pytest.raises(MissingExtra, match=r"mimir\[judge\]"):
        import_extra("sacrebleu", "judge", "BLEU")


def test_import_extra_does_not_blame_the_extra_for_a_broken_package(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mimir_test_broken_extra.py").write_text("import mimir_test_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as err:
        import_extra("mimir_test_broken_extra", "ray", "a feature")
    assert not isinstance(err.value, MissingExtra) and err.value.name == "mimir_test_no_such_dependency"


def _cli(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    from mimir.cli import _register_all, app

    monkeypatch.setenv("MIMIR_DATA_DIR", str(tmp_path / "data"))
    _register_all()
    res = CliRunner().invoke(app, args)
    return res.exit_code, res.output + (str(res.exception) if res.exception else "")


@pytest.mark.parametrize(("args", "extra"), [
    (["serve"], "ui"),
    (["serve-vlm", "--model-path", "nowhere"], "serve-vlm"),
    (["demo", "build", "--kinds", "ct", "--patients", "1"], "totalseg"),
])
def test_cli_commands_name_their_extra(args: list[str], extra: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, base_install: None) -> None:
    code, output = _cli(args + ([] if args[0] != "demo" else ["--out", str(tmp_path / "demo")]), tmp_path, monkeypatch)
    assert code != 0
    assert f"mimir[{extra}]" in output
    if args[0] == "demo":
        assert not (tmp_path / "demo").exists()  # refused before anything is written


def test_demo_kinds_without_totalseg_leave_ct_out_by_default(base_install: None,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    from mimir.demo.cli import kinds_here, parse_kinds

    with caplog.at_level(logging.WARNING):
        assert kinds_here(None) == ("mri", "fundus", "cxr", "mg")
    assert "mimir[totalseg]" in caplog.text
    assert kinds_here(parse_kinds("mg, mri")) == ("mg", "mri")
    with pytest.raises(ValueError, match="Unknown demo kind.*xr.*choose from mri, ct"):
        parse_kinds("mri,xr")


def test_ray_engine_names_its_extra(base_install: None, tmp_path: Path) -> None:
    from mimir.evals.ray_engine import run_ray
    from mimir.evals.run_store import RunStore
    from mimir.evals.runners import RunnerConfig

    with pytest.raises(MissingExtra, match=r"mimir\[ray\]"):
        run_ray([], Settings(data_dir=tmp_path), RunnerConfig(name="chance"), RunStore(tmp_path / "run", {}))


def test_postgres_urls_name_their_extra(base_install: None, tmp_path: Path) -> None:
    from mimir.agent.checkpoint import open_checkpointer
    from mimir.memory.db import Database

    url = "postgresql+psycopg://mimir@127.0.0.1:1/mimir"
    with pytest.raises(MissingExtra, match=r"mimir\[postgres\]"):
        Database(url)
    with pytest.raises(MissingExtra, match=r"mimir\[postgres\]"):
        open_checkpointer(Settings(data_dir=tmp_path, database_url=url))


def test_totalsegmentator_tool_says_which_extra_makes_it_available(base_install: None, settings: Settings) -> None:
    from mimir.tools import build_registry

    reason = build_registry(settings, plugins=False).get("totalsegmentator").unavailable_reason(settings)
    assert reason is not None and "pip install 'mimir[totalseg]'" in reason


def test_open_answers_without_the_judge_extra_keep_exact_and_f1_and_say_why(
        base_install: None, caplog: pytest.LogCaptureFixture) -> None:
    from mimir.evals import scoring

    scoring._overlap_metrics_check.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            scores = scoring.open_scores("a round lesion", "round lesion")
            scoring.open_scores("stable", "stable")
    finally:
        scoring._overlap_metrics_check.cache_clear()
    assert scores == {"exact": 1.0, "f1": 1.0}
    assert caplog.text.count("mimir[judge]") == 1


def test_open_answers_with_the_judge_extra_get_rouge_and_bleu() -> None:
    from mimir.evals import scoring

    scoring._overlap_metrics_check.cache_clear()
    assert set(scoring.open_scores("a round lesion", "round lesion")) == {"exact", "f1", "rougeL", "bleu"}
