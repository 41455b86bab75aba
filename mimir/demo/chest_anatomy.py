"""The real chest radiograph the demo's chest patients start from, and each patient's geometry.

The source is pydicom's test file ``RG1_UNCI.dcm`` (from the ``pydicom-data`` package): a real PA
chest CR, 1955 x 1841 pixels, MONOCHROME1, of an adult woman with several round pulmonary nodules
in both lungs (they are in every demo chest: real anatomy, not a simulated finding). It is
inverted to MONOCHROME2 (dense = bright), scaled to [0, 1] by its 0.5 and 99.5 percentiles, cropped
to a square and resampled to ``SOURCE_SIZE``. The lung fields were traced by hand on it as
polygons (``RIGHT_LUNG``, ``LEFT_LUNG``: the patient's right lung is on the image's left).

Every patient gets a deformation of that image (scale, rotation, shift, a smooth warp); every
visit adds positioning jitter and, for AP projections, the geometry of an AP film (a magnified
heart, clavicles projected higher). Everything is drawn on a ``CANVAS`` x ``CANVAS`` grid covering
``FIELD_MM`` millimetres at the patient.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from mimir.demo.anatomy import smooth_field

SOURCE_FILE = "RG1_UNCI.dcm"
SOURCE_SIZE = 1024
#: Rendering grid of every chest image (the DICOM key image); PNGs are reduced to 256.
CANVAS = 512
#: Width of the canvas at the patient, in mm (a 39 cm chest field).
FIELD_MM = 390.0
PIXEL_MM = FIELD_MM / CANVAS

#: Hand-traced lung fields on the source radiograph, (column, row) as fractions of its full size.
RIGHT_LUNG: tuple[tuple[float, float], ...] = (
    (0.30, 0.09), (0.36, 0.10), (0.39, 0.13), (0.40, 0.20), (0.40, 0.30), (0.39, 0.40), (0.38, 0.50),
    (0.37, 0.58), (0.36, 0.65), (0.34, 0.70), (0.30, 0.72), (0.24, 0.73), (0.18, 0.74), (0.12, 0.755),
    (0.08, 0.775), (0.07, 0.74), (0.075, 0.65), (0.085, 0.55), (0.095, 0.45), (0.11, 0.35), (0.135, 0.25),
    (0.17, 0.17), (0.22, 0.115),
)
LEFT_LUNG: tuple[tuple[float, float], ...] = (
    (0.62, 0.08), (0.68, 0.09), (0.74, 0.12), (0.79, 0.17), (0.825, 0.25), (0.845, 0.35), (0.855, 0.45),
    (0.865, 0.55), (0.875, 0.65), (0.885, 0.73), (0.895, 0.79), (0.86, 0.775), (0.82, 0.75), (0.78, 0.745),
    (0.75, 0.74), (0.71, 0.70), (0.66, 0.62), (0.62, 0.54), (0.59, 0.47), (0.575, 0.40), (0.565, 0.33),
    (0.56, 0.26), (0.555, 0.18), (0.565, 0.12), (0.59, 0.09),
)
#: Hila and the heart's centre on the source, (column, row) fractions; heart radius as a fraction of width.
HILA = {"R": (0.36, 0.44), "L": (0.60, 0.42)}
HEART_CENTRE, HEART_RADIUS = (0.50, 0.63), 0.16


@dataclass(frozen=True)
class ChestSource:
    """The source radiograph on a square grid: image in [0, 1] (dense = bright) and lung masks."""

    image: np.ndarray
    lungs: dict[str, np.ndarray]
    row_offset: float  # rows cropped from the top of the original, as a fraction of its height
    row_scale: float  # original height / cropped height


def _load_pixels() -> np.ndarray:
    import pydicom
    from pydicom.data import get_testdata_file

    path = get_testdata_file(SOURCE_FILE)
    if path is None:
        raise FileNotFoundError(f"pydicom's test file {SOURCE_FILE} is missing; install the 'pydicom-data' package")
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array.astype(np.float32)
    return pixels.max() - pixels if ds.PhotometricInterpretation == "MONOCHROME1" else pixels


@functools.cache
def chest_source() -> ChestSource:
    """The real radiograph (cached per process), square-cropped to SOURCE_SIZE, with lung masks."""
    pixels = _load_pixels()
    lo, hi = np.percentile(pixels, [0.5, 99.5])
    pixels = np.clip((pixels - lo) / (hi - lo), 0.0, 1.0)
    rows, cols = pixels.shape
    top = (rows - cols) // 2
    square = pixels[top : top + cols]
    image = np.asarray(Image.fromarray(square).resize((SOURCE_SIZE, SOURCE_SIZE), Image.Resampling.BOX), dtype=np.float32)
    offset, scale = top / rows, rows / cols
    lungs = {side: _polygon(poly, offset, scale) for side, poly in (("R", RIGHT_LUNG), ("L", LEFT_LUNG))}
    return ChestSource(image=image, lungs=lungs, row_offset=offset, row_scale=scale)


def to_source(point: tuple[float, float], offset: float, scale: float) -> tuple[float, float]:
    """A (column, row) fraction of the original radiograph as (row, column) on the square source grid."""
    col, row = point
    return (row - offset) * scale * SOURCE_SIZE, col * SOURCE_SIZE


def _polygon(poly: tuple[tuple[float, float], ...], offset: float, scale: float) -> np.ndarray:
    canvas = Image.new("L", (SOURCE_SIZE, SOURCE_SIZE), 0)
    points = [(c, r) for r, c in (to_source(p, offset, scale) for p in poly)]
    ImageDraw.Draw(canvas).polygon(points, fill=1)
    return np.asarray(canvas, dtype=bool)


@dataclass(frozen=True)
class ChestSubject:
    """One patient's chest on the CANVAS grid: image, lung masks, landmarks (row, column) and a shape field."""

    image: np.ndarray
    lungs: dict[str, np.ndarray]
    hila: dict[str, tuple[float, float]]
    heart: tuple[float, float]
    heart_radius: float
    field: np.ndarray
    fine: np.ndarray
    scapula_width: float


def _patient_map(rng: np.random.Generator) -> np.ndarray:
    """Source coordinates (2, CANVAS, CANVAS) for each canvas pixel: scale, rotation, shift, smooth warp."""
    ratio = SOURCE_SIZE / CANVAS
    angle = np.deg2rad(rng.uniform(-3.0, 3.0))
    scale = rng.uniform(1.02, 1.12) * (1.0 + rng.uniform(-0.03, 0.03, size=2))
    shift = rng.uniform(-0.02, 0.02, size=2) * SOURCE_SIZE
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], dtype=np.float32)
    centre = (CANVAS - 1) / 2
    grid = np.indices((CANVAS, CANVAS), dtype=np.float32).reshape(2, -1) - centre
    coords = (rot / scale[:, None]) @ grid * ratio + (SOURCE_SIZE - 1) / 2 + shift[:, None]
    coords = coords.reshape(2, CANVAS, CANVAS).astype(np.float32)
    for axis in range(2):
        coords[axis] += 6.0 * smooth_field(rng, (CANVAS, CANVAS), coarse=4)
    return coords


def _landmark(coords: np.ndarray, point: tuple[float, float]) -> tuple[float, float]:
    """The canvas pixel whose source coordinates lie nearest ``point`` (row, column on the source)."""
    d = (coords[0] - point[0]) ** 2 + (coords[1] - point[1]) ** 2
    r, c = np.unravel_index(int(np.argmin(d)), d.shape)
    return float(r), float(c)


def chest_subject(rng: np.random.Generator) -> ChestSubject:
    """A new patient: the real radiograph deformed, with its lung masks and landmarks on the canvas."""
    src = chest_source()
    coords = _patient_map(rng)
    image = ndimage.map_coordinates(src.image, coords, order=1, mode="nearest").astype(np.float32)
    lungs = {s: ndimage.map_coordinates(m.astype(np.float32), coords, order=1) > 0.5 for s, m in src.lungs.items()}
    place = functools.partial(to_source, offset=src.row_offset, scale=src.row_scale)
    hila = {s: _landmark(coords, place(p)) for s, p in HILA.items()}
    heart = _landmark(coords, place(HEART_CENTRE))
    step = float(np.mean(np.abs(np.diff(coords[1], axis=1))))  # source pixels per canvas pixel
    radius = HEART_RADIUS * SOURCE_SIZE / step
    return ChestSubject(image=image, lungs=lungs, hila=hila, heart=heart, heart_radius=radius,
                        field=smooth_field(rng, (CANVAS, CANVAS), coarse=12), fine=_fine_texture(rng), scapula_width=float(rng.uniform(0.10, 0.14)))


def _fine_texture(rng: np.random.Generator) -> np.ndarray:
    """Fine random texture in about [-1, 1] (reticular and patchy opacities)."""
    noise = ndimage.gaussian_filter(rng.standard_normal((CANVAS, CANVAS)).astype(np.float32), 2.0)
    return np.clip(noise / (2.0 * float(noise.std())), -1.0, 1.0)


def visit_map(rng: np.random.Generator, subject: ChestSubject, view: str) -> np.ndarray:
    """Patient-canvas coordinates (2, CANVAS, CANVAS) of each pixel of one visit's image.

    Positioning differs a little at every visit (rotation up to 1.5 degrees, shift and scale up to
    1.5 %). An AP film also magnifies the heart (15-25 % around its centre, fading out over 1.5 heart
    radii) and projects the clavicles and apices higher (12-20 pixels at the top, fading by mid-chest).
    """
    angle = np.deg2rad(rng.uniform(-1.5, 1.5))
    scale = 1.0 + rng.uniform(-0.015, 0.015)
    shift = rng.uniform(-0.015, 0.015, size=2) * CANVAS
    centre = (CANVAS - 1) / 2
    grid = np.indices((CANVAS, CANVAS), dtype=np.float32)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], dtype=np.float32)
    flat = grid.reshape(2, -1) - centre
    coords = ((rot / scale) @ flat + centre + shift[:, None]).reshape(2, CANVAS, CANVAS)
    if view == "AP":
        hr, hc = subject.heart
        dr, dc = grid[0] - hr, grid[1] - hc
        dist = np.sqrt(dr**2 + dc**2) / (1.5 * subject.heart_radius)
        grow = rng.uniform(0.15, 0.25) * np.exp(-(dist**2) * 1.5)
        coords[0] -= dr * grow / (1 + grow)
        coords[1] -= dc * grow / (1 + grow)
        lift = rng.uniform(12.0, 20.0) * np.exp(-((grid[0] / (0.35 * CANVAS)) ** 2))
        coords[0] += lift
    return coords.astype(np.float32)


def scapula_shadows(subject: ChestSubject, rng: np.random.Generator) -> np.ndarray:
    """Density of the scapulae projected over the upper lateral lung fields, as on an AP film."""
    rows, cols = np.indices((CANVAS, CANVAS), dtype=np.float32) / CANVAS
    out = np.zeros((CANVAS, CANVAS), dtype=np.float32)
    for side, mask in subject.lungs.items():
        cc = np.nonzero(mask.any(axis=0))[0]
        wall = (cc.min() if side == "R" else cc.max()) / CANVAS
        width = subject.scapula_width * rng.uniform(0.9, 1.1)
        medial = wall + width * (1.0 - 0.5 * rows) * (1 if side == "R" else -1)
        inside = (cols - medial) * (1 if side == "R" else -1) < 0
        band = inside & (rows > 0.10) & (rows < 0.52)
        out += band * 0.35 * np.clip((0.52 - rows) / 0.08, 0, 1) * np.clip((rows - 0.10) / 0.04, 0, 1)
    return ndimage.gaussian_filter(out, 1.5)
