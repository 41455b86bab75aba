"""measure and compare: numbers a reader can check by hand, on real images."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom.data
import pytest
from PIL import Image
from sqlalchemy import select

from mimir.domain import CaseImage
from mimir.memory.db import open_database
from mimir.memory.models import Finding, Patient, ToolRun
from mimir.settings import Settings
from mimir.tools import build_registry
from mimir.tools.analysis.imaging import load_image
from mimir.tools.framework.context import ToolContext
from mimir.tools.framework.errors import ToolArgumentError, ToolCannotHandle
from mimir.tools.framework.runner import ToolRunner
from tests.fixtures.tools_bundles import mni_slice_png, mni_volume


def _runner(settings: Settings, *paths: Path, **kw: object) -> ToolRunner:
    images = [CaseImage(path=str(p)) for p in paths]
    return ToolRunner(build_registry(settings, plugins=False), ToolContext(settings, images=images, **kw))


def _disc(shape: tuple[int, int], centre: tuple[int, int], r: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= r * r


def test_png_mask_area_diameters_components_intensity(settings: Settings, tmp_path: Path) -> None:
    png = mni_slice_png(tmp_path)
    h, w = np.asarray(Image.open(png)).shape
    mask = np.zeros((h, w), np.uint8)
    mask[10:20, 10:30] = 1  # 10 x 20 px rectangle
    mask[60:70, 60:70] = 1  # a second, separate component of label 1
    mask |= (_disc((h, w), (40, 50), 8) * 2).astype(np.uint8)
    mask_path = tmp_path / "mask.png"
    Image.fromarray(mask).save(mask_path)
    out = _runner(settings, png).call("measure", {"image_index": 0, "mask_path": str(mask_path),
                                                  "spacing_mm": [0.5, 0.5]})
    res = out.result
    by = {m.value: m for m in res.measurements}
    assert res.spacing_source == "given spacing_mm" and res.dims == 2
    assert by[1].components == 2 and by[2].components == 1
    assert by[1].area_mm2 == pytest.approx((200 + 100) * 0.25)
    assert by[2].longest_diameter_mm == pytest.approx(8.5, abs=0.6)  # 17 px across at 0.5 mm
    assert by[2].perpendicular_diameter_mm == pytest.approx(by[2].longest_diameter_mm, abs=1.0)
    image = load_image(png).array
    expected = image[np.asarray(Image.open(mask_path)).T == 2].mean()  # MONAI reads PNGs width first
    assert by[2].mean_intensity == pytest.approx(float(expected))


def test_nifti_volume_in_ml_with_header_spacing(settings: Settings, tmp_path: Path) -> None:
    vol = mni_volume(tmp_path)
    img = nib.load(vol)
    mask = np.zeros(img.shape, np.uint8)
    mask[10:13, 10:13, 10:13] = 1
    mask[10:11, 20:25, 15] = 3  # a 5-voxel line in one slice: 30 mm long at 6 mm spacing
    nib.save(nib.Nifti1Image(mask, img.affine), tmp_path / "m.nii.gz")
    runner = _runner(settings, vol)
    res = runner.call("measure", {"image_index": 0, "mask_path": str(tmp_path / "m.nii.gz")}).result
    by = {m.value: m for m in res.measurements}
    assert res.spacing_mm == pytest.approx([6, 6, 6]) and res.spacing_source == "image header"
    assert by[1].volume_ml == pytest.approx(27 * 216 / 1000)
    mask[mask == 1] = 0  # an edited mask file at the same path is measured again, not served from cache
    nib.save(nib.Nifti1Image(mask, img.affine), tmp_path / "m.nii.gz")
    again = runner.call("measure", {"image_index": 0, "mask_path": str(tmp_path / "m.nii.gz")})
    assert not again.cached and [m.value for m in again.result.measurements] == [3]
    assert by[3].longest_diameter_mm == pytest.approx(np.hypot(30, 6), abs=0.01)  # corner to corner
    assert by[3].perpendicular_diameter_mm == pytest.approx(6.0, abs=1.0)  # about one voxel wide


def test_ct_dicom_intensity_is_hu(settings: Settings, tmp_path: Path) -> None:
    ct = tmp_path / "CT_small.dcm"
    shutil.copy(pydicom.data.get_testdata_file("CT_small.dcm"), ct)
    ds = pydicom.dcmread(ct)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    mask = np.zeros((128, 128), np.uint8)
    mask[40:60, 50:90] = 1
    nib.save(nib.Nifti1Image(mask, np.eye(4)), tmp_path / "m.nii.gz")
    res = _runner(settings, ct).call("measure", {"image_index": 0, "mask_path": str(tmp_path / "m.nii.gz")}).result
    assert res.intensity_unit == "HU"
    assert res.spacing_mm == pytest.approx([float(s) for s in ds.PixelSpacing])
    region = load_image(ct).array[mask == 1]
    assert res.measurements[0].mean_intensity == pytest.approx(float(region.mean()))
    assert hu.min() <= res.measurements[0].mean_intensity <= hu.max()


def test_mask_shape_mismatch_names_both_shapes(settings: Settings, tmp_path: Path) -> None:
    vol = mni_volume(tmp_path)
    nib.save(nib.Nifti1Image(np.ones((10, 10, 10), np.uint8), np.eye(4)), tmp_path / "small.nii.gz")
    runner = _runner(settings, vol)
    shape = nib.load(vol).shape
    with pytest.raises(ToolCannotHandle, match=re.escape(f"shape (10, 10, 10) but image mni_t1.nii.gz has shape {shape}")):
        runner.call("measure", {"image_index": 0, "mask_path": str(tmp_path / "small.nii.gz")})
    assert runner.stored_run(1) is None


def test_measure_needs_exactly_one_mask_source(settings: Settings, tmp_path: Path) -> None:
    runner = _runner(settings, mni_slice_png(tmp_path))
    with pytest.raises(ToolArgumentError, match="exactly one of segment_run_id or mask_path"):
        runner.call("measure", {"image_index": 0})
    with pytest.raises(ToolArgumentError, match="Unknown segment_run_id 7"):
        runner.call("measure", {"image_index": 0, "segment_run_id": 7})


def _tp(*values: float, key: str = "sum_diameters_mm") -> list[dict[str, object]]:
    return [{"timepoint": f"t{i}", key: v} for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "category"),
    [
        ((100, 80, 69), "PR"),  # -31 % from baseline
        ((100, 80, 72), "SD"),  # -28 %
        ((100, 90, 108), "PD"),  # +20 % from nadir 90 and +18 mm
        ((10, 12), "SD"),  # +20 % but only 2 mm: not PD
        ((50, 0), "CR"),
    ],
)
def test_recist_categories(settings: Settings, values: tuple[float, ...], category: str) -> None:
    res = _runner(settings).call("compare", {"timepoints": _tp(*values)}).result
    assert res.changes[0].category == category
    assert res.changes[0].absolute_change == pytest.approx(values[-1] - values[0])


def test_volume_category_and_resection(settings: Settings) -> None:
    res = _runner(settings).call("compare", {"timepoints": _tp(10.0, 3.0, key="volume_ml")}).result
    assert (res.changes[0].category, res.changes[0].percent_change) == ("PR", -70.0)
    cases = {0.0: (100.0, "gross-total", "2A"), 1.0: (96.67, "near-total", "2B"), 10.0: (66.67, "partial", "3B")}
    for post, expected in cases.items():
        r = _runner(settings).call("compare", {"timepoints": _tp(30.0, post, key="volume_ml"), "resection": True})
        assert (r.result.resection_extent_pct, r.result.resection_category, r.result.rano_resect_class) == expected


def test_compare_writes_findings_linked_to_its_run(settings: Settings) -> None:
    db = open_database(settings)
    with db.session() as s:
        s.add(Patient(patient_key="P7"))
    with db.session() as s:
        out = _runner(settings, session=s, patient_id="P7").call(
            "compare", {"label": "tumour", "timepoints": _tp(100, 60)}
        )
    with db.session() as s:
        findings = s.scalars(select(Finding)).all()
        assert [(f.label, f.value, f.location, f.tool_run_id) for f in findings] == [
            ("tumour sum_diameters change", -40.0, "PR", out.tool_run_id)
        ]
        assert s.get(ToolRun, out.tool_run_id).tool == "compare"


def test_compare_argument_errors_are_readable(settings: Settings) -> None:
    with pytest.raises(ToolArgumentError, match=r"timepoints: .*at least 2"):
        _runner(settings).call("compare", {"timepoints": _tp(10)})
    with pytest.raises(ToolArgumentError, match="volume_ml must be given for every timepoint"):
        _runner(settings).call("compare", {"timepoints": [{"timepoint": "a", "volume_ml": 1}, {"timepoint": "b"}]})


def test_index_lesion_is_the_largest_connected_lesion_and_foci_are_reported_apart() -> None:
    from mimir.tools.analysis.geometry import index_lesion

    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[10:30, 10:30] = 1  # 400 px lesion ...
    mask[15:25, 15:25] = 2  # ... with a 100 px enhancing core
    mask[50:54, 50:54] = 2  # a separate 16 px enhancing focus
    target = index_lesion(mask, (0.5, 0.5), {1: "non-enhancing lesion", 2: "enhancing tumour"})
    assert target is not None
    assert target.size == 100.0 and target.enhancing_size == 25.0 and target.unit == "mm2"
    assert target.other_components == 1 and target.other_size == 4.0
    assert index_lesion(np.zeros((8, 8), dtype=np.uint8), (1.0, 1.0)) is None


def test_reading_dicom_logs_no_gpu_decoder_notice(caplog: pytest.LogCaptureFixture) -> None:
    """MONAI builds its nvImageCodec reader on every read; without that CUDA extra nothing is logged per image."""
    ct = pydicom.data.get_testdata_file("CT_small.dcm")
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            assert load_image(str(ct)).spatial_shape == (128, 128)
    assert not [r for r in caplog.records if "nvImageCodec" in r.getMessage()]


def _ellipsoid(shape: tuple[int, ...], centre: tuple[float, ...], radii_vox: tuple[float, ...]) -> np.ndarray:
    grid = np.indices(shape, dtype=float)
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii_vox, strict=True)) <= 1.0


def test_volume_mask_gives_three_diameters_3d_components_and_measurability(settings: Settings, tmp_path: Path) -> None:
    vol = mni_volume(tmp_path)  # 6 mm voxels, RAS
    img = nib.load(vol)
    mask = np.zeros(img.shape, np.uint8)
    lesion = _ellipsoid(img.shape, (16, 20, 16), (5, 3, 2))  # 60 x 36 x 24 mm across
    mask[lesion] = 1
    mask[15:18, 19:22, 16] = 2  # an enhancing part inside it
    mask[4, 4, 4] = 1  # a separate 6 mm focus: below the 10 mm limit
    nib.save(nib.Nifti1Image(mask, img.affine), tmp_path / "m.nii.gz")
    res = _runner(settings, vol).call("measure", {"image_index": 0, "mask_path": str(tmp_path / "m.nii.gz")}).result
    target = res.index_lesion
    assert target is not None and target.unit == "mL"
    assert target.size == pytest.approx(int(lesion.sum()) * 0.216, rel=1e-6)
    assert target.label_sizes == {"label 1": pytest.approx((int(lesion.sum()) - 9) * 0.216),
                                  "label 2": pytest.approx(9 * 0.216)}
    assert target.longest_diameter_mm == pytest.approx(66.0, abs=6.0)  # corner to corner of 6 mm voxels
    assert target.perpendicular_diameter_mm == pytest.approx(42.0, abs=7.0)
    assert target.craniocaudal_mm == pytest.approx(30.0, abs=6.0) and target.axial_slices == 5
    assert target.measurable and target.measurable_components == 1 and target.other_components == 1
    assert res.disease == "measurable" and res.assessment.startswith("measurable lesion")
    by = {m.value: m for m in res.measurements}
    assert by[1].components == 2  # the label spans both foci: slices 4 and 14-18
    assert (by[1].axial_slices, by[1].craniocaudal_mm) == (6, pytest.approx(90.0))


def test_small_lesions_read_as_no_measurable_disease(settings: Settings, tmp_path: Path) -> None:
    vol = mni_volume(tmp_path)
    img = nib.load(vol)
    mask = np.zeros(img.shape, np.uint8)
    mask[10, 10:12, 10] = 1  # 6 x 12 mm on one slice
    mask[20, 20, 20:23] = 1  # 6 x 6 mm on three slices
    nib.save(nib.Nifti1Image(mask, img.affine), tmp_path / "m.nii.gz")
    res = _runner(settings, vol).call("measure", {"image_index": 0, "mask_path": str(tmp_path / "m.nii.gz")}).result
    assert res.index_lesion is not None and not res.index_lesion.measurable
    assert res.disease == "non-measurable"
    assert res.assessment.startswith("no measurable lesion (largest focus 0.65 mL")
    empty = tmp_path / "e.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros(img.shape, np.uint8), img.affine), empty)
    none = _runner(settings, vol).call("measure", {"image_index": 0, "mask_path": str(empty)}).result
    assert (none.disease, none.assessment, none.index_lesion) == ("none", "no lesion", None)


def _labelled(*values: float, **extra: float) -> list[dict[str, object]]:
    return [{"timepoint": f"t{i}", "label_volumes_ml": {"enhancing tumour": v, "necrotic core": 1.0, **extra}}
            for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "category"),
    [
        ((10.0, 3.0), "PR"),  # -70 % from baseline (volumetric PR: -65 %)
        ((10.0, 4.0), "SD"),  # -60 %
        ((10.0, 8.0, 11.5), "PD"),  # +44 % from the nadir 8 mL (volumetric PD: +40 %)
        ((10.0, 8.0, 11.0), "SD"),  # +38 % from the nadir
        ((5.0, 0.0), "CR"),
    ],
)
def test_rano2_volumetric_categories(settings: Settings, values: tuple[float, ...], category: str) -> None:
    res = _runner(settings).call("compare", {"timepoints": _labelled(*values), "rano": True}).result
    assert res.rano is not None and (res.rano.category, res.rano.basis) == (category, "volumetric")
    assert res.rano.nadir == min(values[:-1]) and res.rano.quantity == "enhancing tumour volume"
    if category in ("CR", "PR"):
        assert "confirmation" in res.rano.caveats[0]


def test_rano2_bidimensional_and_non_measurable_baseline(settings: Settings) -> None:
    spd = [{"timepoint": f"t{i}", "sum_products_mm2": v} for i, v in enumerate((100.0, 60.0, 76.0))]
    res = _runner(settings).call("compare", {"timepoints": spd, "rano": True}).result
    assert res.rano is not None and (res.rano.category, res.rano.basis) == ("PD", "bidimensional")  # +27 % from 60
    small = _labelled(10.0, 3.0)
    small[0]["measurable"] = False
    res = _runner(settings).call("compare", {"timepoints": small, "rano": True}).result
    assert res.rano is not None and res.rano.category == "SD" and "no measurable disease" in res.rano.caveats[0]
    assert _runner(settings).call("compare", {"timepoints": _labelled(10.0, 3.0)}).result.rano is None  # not asked


def test_per_label_volume_changes_with_nadir(settings: Settings) -> None:
    tps = _labelled(4.0, 2.0, 3.0)
    tps[2]["label_volumes_ml"] = {"enhancing tumour": 3.0, "resection cavity": 5.0}  # no necrosis left, a cavity
    res = _runner(settings).call("compare", {"label": "tumour", "timepoints": tps}).result
    by = {c.quantity: c for c in res.per_label}
    assert set(by) == {"enhancing tumour", "necrotic core", "resection cavity"}
    assert (by["enhancing tumour"].nadir, by["enhancing tumour"].absolute_change) == (2.0, -1.0)
    assert by["enhancing tumour"].percent_change == -25.0 and by["enhancing tumour"].percent_from_nadir == 50.0
    assert (by["necrotic core"].last, by["resection cavity"].baseline, by["resection cavity"].percent_change) == (0.0, 0.0, None)


def test_compare_tells_no_measurable_disease_from_no_lesion(settings: Settings) -> None:
    tps = [{"timepoint": "a", "volume_ml": 12.0, "measurable": True},
           {"timepoint": "b", "volume_ml": 0.3, "measurable": False},
           {"timepoint": "c", "volume_ml": 0.0}]
    res = _runner(settings).call("compare", {"timepoints": tps}).result
    assert res.disease == ["measurable disease", "no measurable disease", "no lesion"]


def test_masks_of_one_image_written_at_once_all_land(tmp_path: Path) -> None:
    """Two questions may segment the same image together: their writes of one mask file must not collide."""
    from concurrent.futures import ThreadPoolExecutor

    from mimir.tools.analysis.imaging import write_mask

    target = tmp_path / "img_0_seg.nii.gz"
    mask = np.zeros((64, 64, 8), np.uint8)
    mask[20:30, 20:30, 2:5] = 1
    with ThreadPoolExecutor(8) as pool:
        written = list(pool.map(lambda _: write_mask(mask, np.eye(4), target), range(32)))
    assert written == [target] * 32
    assert np.array_equal(np.asarray(nib.load(target).dataobj), mask)
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no part files left behind


def test_edge_pixels_hold_every_extreme_corner_of_a_region() -> None:
    """Diameters use only edge pixels' corners: the longest chord is still the widest pair of all corners."""
    from scipy import ndimage
    from scipy.spatial.distance import pdist

    from mimir.tools.analysis.diameters import _corners, edge_pixels, longest_chord

    rng = np.random.default_rng(11)
    for _ in range(60):
        h, w = rng.integers(2, 40, 2)
        region = ndimage.binary_dilation(rng.random((h, w)) < 0.05, iterations=int(rng.integers(0, 4)))
        if not region.any():
            continue
        spacing = (float(rng.uniform(0.4, 1.5)), float(rng.uniform(0.4, 1.5)))
        every = _corners(np.argwhere(region), spacing)
        assert np.isclose(longest_chord(region, spacing)[0], pdist(every).max(), rtol=1e-12)
        edge = {tuple(p) for p in edge_pixels(region)}
        interior = ndimage.binary_erosion(region, structure=ndimage.generate_binary_structure(2, 1))
        assert edge == {tuple(p) for p in np.argwhere(region & ~interior)}


def test_longest_chord_ties_lines_and_many_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tied longest chords take the first pair of sorted corners; lines of pixels are measured; blocks change nothing."""
    from mimir.tools.analysis import diameters
    from mimir.tools.analysis.diameters import diameters_2d, longest_chord, row_end_corners

    def axis(dy: float, dx: float) -> np.ndarray:
        return np.array([dy, dx]) / np.hypot(dy, dx)

    square = np.ones((3, 3), dtype=bool)  # both diagonals tie: the one from corner (0, 0) is taken
    assert longest_chord(square, (1.0, 1.0))[0] == pytest.approx(np.sqrt(18))
    assert np.allclose(longest_chord(square, (1.0, 1.0))[1], axis(1, 1))
    row, column = np.ones((1, 5), dtype=bool), np.ones((5, 1), dtype=bool)  # a line of pixels, either way
    assert np.allclose(longest_chord(row, (1.0, 1.0))[1], axis(1, 5))
    assert np.allclose(longest_chord(column, (2.0, 0.5))[1], axis(10, 0.5))
    assert diameters_2d(row, (1.0, 1.0))[0] == pytest.approx(np.sqrt(26))
    assert longest_chord(np.ones((1, 1), dtype=bool), (0.5, 0.5))[0] == pytest.approx(np.sqrt(0.5))
    assert longest_chord(np.zeros((4, 4), dtype=bool), (1.0, 1.0))[0] == 0.0
    assert diameters_2d(np.zeros((4, 4), dtype=bool), (1.0, 1.0)) == (0.0, 0.0)
    # each row of corners gives its leftmost and rightmost corner, from the pixel rows above and below it
    ring = np.zeros((5, 6), dtype=bool)
    ring[1:4, 1:5], ring[2, 2:4] = True, False
    assert row_end_corners(ring).tolist() == [[1, 1], [1, 5], [2, 1], [2, 5], [3, 1], [3, 5], [4, 1], [4, 5]]
    apart = np.zeros((6, 5), dtype=bool)  # an empty pixel row between two parts
    apart[1, 1] = apart[1, 3] = True
    apart[3:5, 0:2] = True
    assert row_end_corners(apart).tolist() == [[1, 1], [1, 4], [2, 1], [2, 4], [3, 0], [3, 2], [4, 0], [4, 2],
                                               [5, 0], [5, 2]]
    rng = np.random.default_rng(14)
    regions = [rng.random((int(rng.integers(2, 120)), int(rng.integers(2, 120)))) < 0.4 for _ in range(20)]
    whole = [longest_chord(r, (0.7, 1.1)) for r in regions]
    monkeypatch.setattr(diameters, "_BLOCK", 37)  # a few rows of candidates at a time
    for region, (length, direction) in zip(regions, whole, strict=True):
        blocked = longest_chord(region, (0.7, 1.1))
        assert blocked[0] == length and np.array_equal(blocked[1], direction)


def test_one_report_measures_each_region_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index lesion's region, when it is also a label's, is measured once per report: same figures."""
    from mimir.tools.analysis import geometry

    names = {1: "non-enhancing lesion", 2: "enhancing tumour"}
    calls: list[tuple[int, ...]] = []
    measure = geometry._measure_diameters
    monkeypatch.setattr(geometry, "_measure_diameters", lambda r, s: calls.append(r.shape) or measure(r, s))
    rng = np.random.default_rng(15)
    for shape in [(60, 70), (30, 34, 6)]:
        mask = np.zeros(shape, np.uint8)
        mask[tuple(slice(3, 3 + int(rng.integers(12, 20))) for _ in shape)] = 2  # one label, one component
        mask[tuple(slice(s - 3, s) for s in shape)] = 1  # a separate focus of another label
        spacing = tuple(float(s) for s in rng.uniform(0.4, 2.0, len(shape)))
        plain = (geometry.index_lesion(mask, spacing, names), geometry.measure_mask(mask, spacing, names))
        calls.clear()
        memo: geometry.Memo = {}
        assert (geometry.index_lesion(mask, spacing, names, memo), geometry.measure_mask(mask, spacing, names, None, memo)) \
            == plain
        assert len(calls) == 2  # the index lesion (label 2's region) and the focus (label 1's), once each


def test_mask_files_hold_the_bytes_nibabel_writes() -> None:
    """Masks are written from a header built once per shape and affine: byte for byte nibabel's own file."""
    from mimir.tools.analysis.imaging import nifti_bytes

    rng = np.random.default_rng(12)
    rotated = np.array([[0.0, -1.2, 0.0, 5.0], [0.8, 0.0, 0.0, -3.0], [0.0, 0.0, 3.0, 7.0], [0.0, 0.0, 0.0, 1.0]])
    for shape in [(256, 256), (37, 53), (64, 64, 8), (20, 30, 1)]:
        for affine in [None, np.diag([0.7, -0.9, 2.5, 1.0]), rotated, np.diag([0.5, 0.5, 1.0])]:
            mask = rng.integers(0, 4, shape).astype(np.uint8)
            full = np.eye(4)
            if affine is not None:
                n = min(affine.shape[0] - 1, 3)
                full[:n, :n], full[:n, 3] = affine[:n, :n], affine[:n, -1]
            img = nib.Nifti1Image(mask, full)
            img.set_qform(full, code=1)
            img.set_sform(full, code=1)
            assert nifti_bytes(mask, affine) == img.to_bytes(), (shape, affine)
            assert nifti_bytes(mask.astype(np.int64), affine) == img.to_bytes()


def test_measurements_do_not_depend_on_empty_margins() -> None:
    """Labels are measured inside their bounding box: zeros around a mask change nothing but the centroid's origin."""
    from mimir.tools.analysis.geometry import index_lesion, measure_mask

    rng = np.random.default_rng(13)
    names = {1: "non-enhancing lesion", 2: "enhancing tumour"}
    for trial in range(12):
        shape = (40, 52) if trial % 2 else (30, 34, 6)
        mask = np.zeros(shape, np.uint8)
        for _ in range(3):
            corner = [int(rng.integers(0, s - 4)) for s in shape]
            mask[tuple(slice(c, c + int(rng.integers(2, 9))) for c in corner)] = int(rng.integers(1, 3))
        image = rng.normal(size=shape)
        spacing = tuple(float(s) for s in rng.uniform(0.4, 2.0, len(shape)))
        pad = [(int(rng.integers(0, 20)), int(rng.integers(0, 20))) for _ in shape]
        big, big_image = np.pad(mask, pad), np.pad(image, pad)
        assert measure_mask(big, spacing, names, big_image) == measure_mask(mask, spacing, names, image)
        small, large = index_lesion(mask, spacing, names), index_lesion(big, spacing, names)
        assert small is not None and large is not None
        shift = [p[0] * s for p, s in zip(pad, spacing, strict=False)]
        assert np.allclose(large.centroid_mm, np.add(small.centroid_mm, shift), atol=0.011)
        assert large.model_dump(exclude={"centroid_mm"}) == small.model_dump(exclude={"centroid_mm"})
    assert measure_mask(np.zeros((8, 8), np.uint8), (1.0, 1.0)) == []
