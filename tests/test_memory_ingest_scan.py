"""The fast DICOM header reader gives exactly what the pydicom path gives, file by file.

Every real DICOM file that pydicom and pydicom-data ship, plus cut and byte-flipped copies, goes
through both readers; the outcome (record, or skip/fail reason) must be identical.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
from pydicom.data import get_testdata_files

from mimir.memory.hashing import file_hash
from mimir.memory.ingest import dicom, expand_paths
from mimir.memory.ingest.records import BadFile, SkipFile

NOT_DICOM = (".nii", ".nii.gz", ".png", ".jpg", ".jpeg", ".json", ".txt", ".py")


def _outcome(fn, path: Path) -> tuple[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ("ok", fn(path))
        except (SkipFile, BadFile) as e:
            return (type(e).__name__, str(e))
        except (OSError, ValueError) as e:
            return ("error", f"{type(e).__name__}: {e}")


def _dicom_files() -> list[Path]:
    return [p for p in expand_paths(get_testdata_files()) if not p.name.lower().endswith(NOT_DICOM)]


def _both(path: Path) -> tuple[tuple[str, object], tuple[str, object]]:
    slow = _outcome(lambda q: dicom.read_dicom(q, file_hash(q)), path)
    return slow, _outcome(dicom.read_dicom_file, path)


def test_fast_reader_matches_pydicom_on_every_shipped_file() -> None:
    files = _dicom_files()
    assert len(files) > 300  # pydicom + pydicom-data
    fast = 0
    for path in files:
        slow, new = _both(path)
        assert slow == new, f"{path}: pydicom path {slow} != fast path {new}"
        data = path.read_bytes()
        fast += dicom.fast_values(data, len(data)) is not None
    assert fast > 100, "the fast path should take the plain files"


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_reader_matches_pydicom_on_damaged_copies(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    plain = [p for p in _dicom_files() if (d := p.read_bytes()) and dicom.fast_values(d, len(d)) is not None]
    for n, src in enumerate(rng.sample(plain, 40)):
        data = bytearray(src.read_bytes())
        if n % 2:
            data = data[: rng.randrange(132, len(data))]
        else:
            for _ in range(4):
                data[rng.randrange(128, len(data))] = rng.randrange(256)
        path = tmp_path / f"damaged_{n}.dcm"
        path.write_bytes(bytes(data))
        slow, new = _both(path)
        assert slow == new, f"{src.name} damaged: pydicom path {slow} != fast path {new}"
