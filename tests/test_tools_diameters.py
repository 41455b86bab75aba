"""The two diameters: the longest chord is the widest pair of every pixel corner, its axis follows one
stated tie rule, and the perpendicular diameter's faster sampling reports every figure the
straightforward one did."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.distance import pdist

from mimir.tools.analysis import diameters, geometry


def reference_width(region: np.ndarray, spacing: tuple[float, float], axis: np.ndarray, pts: np.ndarray | None = None) -> float:
    """``perpendicular_width`` written plainly: every sample's pixel in its own integer array, the runs of
    inside samples line by line, and each run's ends found from every pixel edge its line crosses."""
    pts = diameters._edge_corners(region, spacing) if pts is None else pts
    if len(pts) == 0:
        return 0.0
    sp = np.asarray(spacing, dtype=float)
    perp = np.array([-axis[1], axis[0]])
    along, across = pts @ axis, pts @ perp
    step = max(float(sp.min()) / 4, float(np.ptp(along)) / 400, float(np.ptp(across)) / 400)
    ts, ss = diameters.centred_samples(along, step), diameters.centred_samples(across, step)
    h, w = region.shape

    def inside(t: float, s: float) -> bool:
        r, c = (int(np.floor((t * axis[k] + s * perp[k]) / sp[k])) for k in (0, 1))
        return 0 <= r < h and 0 <= c < w and bool(region[r, c])

    def edge(t: float, s: float, sign: float) -> float:
        """Where the line leaves the region going ``sign`` from the inside sample ``s``: the first crossed
        pixel edge (within one step) after which the line is outside."""
        crossings = []
        for k in (0, 1):
            if perp[k] == 0:
                continue
            a, b = t * axis[k] + s * perp[k], t * axis[k] + (s + sign * step) * perp[k]
            for m in range(int(np.floor(min(a, b) / sp[k])), int(np.floor(max(a, b) / sp[k])) + 2):
                u = (m * sp[k] - (t * axis[k] + s * perp[k])) / (sign * perp[k])  # distance to the edge m
                if 0 <= u < step:  # a sample on an edge meets it at once going back
                    crossings.append(u)
        crossings = sorted(crossings) + [step]
        for here, there in zip(crossings, crossings[1:], strict=False):
            if not inside(t, s + sign * (here + there) / 2):
                return here
        return step

    padded = np.zeros((h + 2, w + 2), dtype=bool)
    padded[1:-1, 1:-1] = region

    def index(position: np.ndarray, spacing: float, n: int) -> np.ndarray:
        return np.clip(np.floor(position / spacing).astype(np.intp) + 1, 0, n + 1)

    flat = index(ts[:, None] * axis[0] + ss[None, :] * perp[0], sp[0], h) * (w + 2)
    flat += index(ts[:, None] * axis[1] + ss[None, :] * perp[1], sp[1], w)
    flags = np.zeros((len(ts), len(ss) + 2), dtype=bool)
    flags[:, 1:-1] = padded.ravel().take(flat)
    lines, where = np.nonzero(flags[:, 1:] != flags[:, :-1])  # a run's first sample, then one past its last
    runs = where[1::2] - where[::2]
    if not len(runs):
        return 0.0
    return max((ss[end - 1] + edge(ts[line], ss[end - 1], 1.0)) - (ss[start] - edge(ts[line], ss[start], -1.0))
               for line, start, end, n in zip(lines[::2], where[::2], where[1::2], runs, strict=True)
               if n >= runs.max() - 1)


def masks(seed: int) -> Iterator[tuple[np.ndarray, tuple[float, float]]]:
    """Label masks of many kinds: drawn lesions (brain, CT, mammography), blobs, ellipses, lines, speckle, rings."""
    from mimir.demo.ct import ct_slice_sample
    from mimir.demo.mammo import mammo_sample
    from mimir.demo.synth import mri_slice_sample

    rng = np.random.default_rng(seed)
    spacings = [(1.0, 1.0), (0.5, 0.5), (0.7, 1.3), (float(rng.uniform(0.2, 2)), float(rng.uniform(0.2, 2)))]
    for i in range(60):
        size = int(rng.choice([96, 128, 256]))
        label = mri_slice_sample(rng, size=size, pool=1)[1] if i % 3 else ct_slice_sample(rng, size=size, pool=1)[1]
        yield np.asarray(label, dtype=np.uint8), spacings[i % 4]
    for i in range(10):
        yield np.asarray(mammo_sample(rng, size=256)[1], dtype=np.uint8), spacings[i % 4]
    for i in range(240):
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        yy, xx = np.mgrid[:h, :w]
        kind = i % 6
        if kind == 0:
            region = ndimage.binary_dilation(rng.random((h, w)) < 0.03, iterations=int(rng.integers(0, 6)))
        elif kind == 1:
            angle = rng.uniform(0, np.pi)
            u = (yy - h / 2) * np.cos(angle) + (xx - w / 2) * np.sin(angle)
            v = (xx - w / 2) * np.cos(angle) - (yy - h / 2) * np.sin(angle)
            region = (u / max(h / 2, 1)) ** 2 + (v / max(w / 3, 1)) ** 2 <= 1
        elif kind == 2:
            region = np.zeros((h, w), dtype=bool)
            region[int(rng.integers(0, h)), :] = True  # a line of pixels: no hull
        elif kind == 3:
            region = rng.random((h, w)) < rng.uniform(0.2, 0.9)
        elif kind == 4:
            r = np.hypot(yy - h / 2, xx - w / 2)
            region = (r < max(h, w) / 2) & (r > max(h, w) / 5)  # a ring
        else:
            region = np.ones((h, w), dtype=bool)
            region[h // 3 : 2 * h // 3 + 1, : w // 2] = False  # a C: concave
        mask = (region * rng.integers(1, 3, (h, w))).astype(np.uint8)
        yield np.pad(mask, int(rng.integers(0, 4))), spacings[i % 4]


@pytest.mark.parametrize("seed", [1, 2])
def test_perpendicular_width_and_every_figure_are_those_of_the_reference(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of masks: each region's width equal to the float, and every label's and index lesion's figures too."""
    regions = 0
    for mask, spacing in masks(seed):
        if not mask.any():
            continue
        for region in [mask == v for v in np.unique(mask) if v] + [mask > 0]:
            box = geometry.bounding_box(region)
            pts = diameters._edge_corners(region[box], spacing)
            _, axis = diameters.longest_chord(region[box], spacing)
            assert diameters.perpendicular_width(region[box], spacing, axis, pts) == \
                pytest.approx(reference_width(region[box], spacing, axis, pts), rel=1e-12)
            regions += 1
        labels = {1: "non-enhancing lesion", 2: "enhancing tumour"}
        faster = (geometry.measure_mask(mask, spacing, labels), geometry.index_lesion(mask, spacing, labels))
        with monkeypatch.context() as m:
            m.setattr(diameters, "perpendicular_width", reference_width)  # what diameters_2d calls
            m.setattr(geometry, "perpendicular_width", reference_width)  # what 3D axial diameters call
            assert faster == (geometry.measure_mask(mask, spacing, labels), geometry.index_lesion(mask, spacing, labels))
    assert regions > 400


def widest_edge_corner_pair(region: np.ndarray, spacing: tuple[float, float]) -> tuple[float, np.ndarray]:
    """The longest chord's rule, plainly: over every corner of every edge pixel, sorted (row, then
    column) and unique, the first pair i < j in row-major order whose squared distance
    ``dy * dy + dx * dx`` is the largest; its length and the unit direction from i to j."""
    offsets = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    corners = np.unique((diameters.edge_pixels(region)[:, None, :] + offsets).reshape(-1, 2), axis=0)
    pts = corners * np.asarray(spacing, dtype=float)
    best, first, second = -1.0, 0, 0
    for i in range(len(pts) - 1):
        dy = pts[i + 1:, 0] - pts[i, 0]
        dx = pts[i + 1:, 1] - pts[i, 1]
        squared = dy * dy + dx * dx
        k = int(np.argmax(squared))  # the first of the largest in this row
        if squared[k] > best:  # an earlier row keeps a tie
            best, first, second = float(squared[k]), i, i + 1 + k
    longest = float(np.sqrt(best))
    return longest, (pts[second] - pts[first]) / longest


@pytest.mark.parametrize("seed", [1, 2])
def test_longest_chord_is_the_widest_corner_pair_with_the_stated_tie_rule(seed: int) -> None:
    """Hundreds of masks: the longest chord as long as the widest pair of ALL corners of ALL the region's
    pixels, its axis the stated rule's over every edge corner, and the perpendicular that of the reference."""
    regions = 0
    for mask, spacing in masks(seed):
        for region in [mask == v for v in np.unique(mask) if v] + ([mask > 0] if mask.any() else []):
            local = region[geometry.bounding_box(region)]
            longest, axis = diameters.longest_chord(local, spacing)
            every = np.unique(diameters._corners(np.argwhere(local), spacing), axis=0)
            assert np.isclose(longest, pdist(every).max(), rtol=1e-12, atol=0)
            expected, direction = widest_edge_corner_pair(local, spacing)
            assert longest == expected and np.array_equal(axis, direction), (longest, expected, axis, direction)
            assert diameters.diameters_2d(local, spacing) == \
                (longest, pytest.approx(reference_width(local, spacing, axis), rel=1e-12))
            regions += 1
    assert regions > 800


@pytest.mark.parametrize("seed", [1, 2])
def test_perpendicular_width_does_not_depend_on_which_way_the_axis_points(seed: int) -> None:
    """Hundreds of masks, each region measured across its longest axis, across that axis reversed and
    across a turned axis and its reverse: the same width, to the bit, either way round."""
    rng = np.random.default_rng(seed)
    regions = 0
    for mask, spacing in masks(seed):
        for region in [mask == v for v in np.unique(mask) if v]:
            local = region[geometry.bounding_box(region)]
            _, axis = diameters.longest_chord(local, spacing)
            angle = rng.uniform(0, np.pi)
            turned = np.array([np.cos(angle), np.sin(angle)])
            for direction in (axis, turned):
                assert diameters.perpendicular_width(local, spacing, direction) == \
                    diameters.perpendicular_width(local, spacing, -direction)
            regions += 1
    assert regions > 300


def test_centred_samples_are_symmetric_and_reach_both_ends() -> None:
    """Samples lie about the middle of the range, within half a step of each end, and negate exactly."""
    values = np.array([-3.7, 0.2, 5.05, 1.0])
    samples = diameters.centred_samples(values, 0.25)
    assert np.isclose(samples.mean(), (values.min() + values.max()) / 2)
    assert abs(samples[0] - values.min()) <= 0.125 and abs(samples[-1] - values.max()) <= 0.125
    assert np.allclose(np.diff(samples), 0.25)
    assert np.array_equal(diameters.centred_samples(-values, 0.25), -samples[::-1])
    assert np.array_equal(diameters.centred_samples(np.array([2.0]), 0.5), np.array([2.0]))


@pytest.mark.parametrize(("rows", "cols", "spacing"), [(1, 5, (6.0, 6.0)), (4, 10, (1.0, 1.0)), (7, 3, (0.7, 1.3))])
def test_a_rectangle_s_widths_are_exact_across_any_axis(rows: int, cols: int, spacing: tuple[float, float]) -> None:
    """A rectangle h by w (mm): across its rows' axis it is h wide, across its columns' w, and across
    its diagonal h * d / w where w >= h (d the diagonal): the chord ends on the edges, not on a sample."""
    region = np.ones((rows, cols), dtype=bool)
    h, w = rows * spacing[0], cols * spacing[1]
    assert diameters.perpendicular_width(region, spacing, np.array([0.0, 1.0])) == pytest.approx(h, rel=1e-12)
    assert diameters.perpendicular_width(region, spacing, np.array([1.0, 0.0])) == pytest.approx(w, rel=1e-12)
    longest, axis = diameters.longest_chord(region, spacing)
    assert longest == pytest.approx(np.hypot(h, w), rel=1e-12)
    expected = min(h, w) * longest / max(h, w)
    assert diameters.perpendicular_width(region, spacing, axis) == pytest.approx(expected, rel=1e-9)
