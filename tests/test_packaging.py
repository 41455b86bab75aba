"""The wheel holds every module and data file of the root folders, under mimir.*, and nothing else.

It builds without setuptools warnings: a data folder inside a package (a MONAI bundle's configs/,
models/ and docs/, the review screen's static/) is declared as a package in pyproject.toml, or
setuptools warns about it in about forty lines per folder.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Repository folder -> installed package prefix.
MAPPING = {
    "mimir": "mimir",
    "agent": "mimir/agent",
    "tools": "mimir/tools",
    "memory": "mimir/memory",
    "prompts": "mimir/prompts",
    "evals": "mimir/evals",
    "app": "mimir/app",
    "results": "mimir/results",
}
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def _tracked_files(folder: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", folder],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    return [Path(p) for p in out if not SKIP_PARTS & set(Path(p).parts)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[zipfile.ZipFile, str]:
    """The wheel, and everything the build printed (verbose, so the build back-end's warnings show)."""
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w", str(out), str(ROOT)],
        check=True, cwd=out, capture_output=True, text=True,
    )
    (whl,) = out.glob("mimir-*.whl")
    return zipfile.ZipFile(whl), build.stdout + build.stderr


@pytest.fixture(scope="module")
def wheel(built: tuple[zipfile.ZipFile, str]) -> zipfile.ZipFile:
    return built[0]


def test_wheel_builds_without_setuptools_warnings(built: tuple[zipfile.ZipFile, str]) -> None:
    log = built[1]
    assert "Package would be ignored" not in log
    assert "is absent from the `packages` configuration" not in log
    assert "Installing '" not in log  # "... as data is deprecated" (older setuptools)


def test_every_folder_with_files_is_a_declared_package() -> None:
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {prefix.replace("/", ".") + "".join("." + part for part in rel.parent.parts[1:])
               for folder, prefix in MAPPING.items() for rel in _tracked_files(folder)}
    assert "mimir.tools.experts.brain_mri_lesion_seg.models" in folders
    assert sorted(folders - set(setup["packages"])) == []


def test_wheel_contains_every_module_and_data_file(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    missing = []
    for folder, prefix in MAPPING.items():
        for rel in _tracked_files(folder):
            inside = prefix + "/" + "/".join(rel.parts[1:])
            if inside not in names:
                missing.append(f"{rel} (expected {inside})")
    assert not missing, "files missing from the wheel:\n" + "\n".join(missing)


def test_wheel_installs_no_stray_top_level_packages(wheel: zipfile.ZipFile) -> None:
    tops = {n.split("/")[0] for n in wheel.namelist() if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"mimir"}, tops


def test_cli_entry_point_declared(wheel: zipfile.ZipFile) -> None:
    (ep,) = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    text = wheel.read(ep).decode()
    assert "mimir = mimir.cli:main" in text
