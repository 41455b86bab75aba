"""The two in-plane diameters of a 2D region, as RANO and RECIST readers draw them.

The longest diameter is the widest pair of the region's pixel corners (only edge pixels' corners
can be extremes, and among them only the vertices of their convex hull). The perpendicular
diameter is the longest unbroken chord inside the region perpendicular to it, found by sampling
lines across the region (see ``perpendicular_width``).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import ConvexHull, QhullError


def _corners(coords: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """Physical corner points of the given pixels (so one pixel measures one pixel wide)."""
    offsets = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    pts = (coords[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    return pts * np.asarray(spacing, dtype=float)


def edge_pixels(region: np.ndarray) -> np.ndarray:
    """Indices (row-major order) of the region's pixels with a side on its edge: the only ones with hull corners.

    A pixel whose four side neighbours are all in the region shares each corner with a neighbour that
    reaches further out, so none of its corners is a vertex of the hull of all corners, nor the
    farthest corner in any direction.
    """
    region = np.asarray(region, dtype=bool)
    inner = region.copy()
    inner[0, :] = inner[-1, :] = False
    inner[:, 0] = inner[:, -1] = False
    inner[1:-1, 1:-1] &= region[:-2, 1:-1] & region[2:, 1:-1] & region[1:-1, :-2] & region[1:-1, 2:]
    return np.argwhere(region & ~inner)


def longest_chord(region: np.ndarray, spacing: tuple[float, float]) -> tuple[float, np.ndarray]:
    """(longest diameter in mm, its unit direction) of a 2D boolean region: the widest pair of hull corners."""
    return _chord(_edge_corners(region, spacing))


def _edge_corners(region: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """The physical corners of the region's edge pixels: where every extreme of the region lies."""
    return _corners(edge_pixels(region), spacing)


def _chord(pts: np.ndarray) -> tuple[float, np.ndarray]:
    if len(pts) == 0:
        return 0.0, np.array([1.0, 0.0])
    try:
        hull = pts[ConvexHull(pts).vertices]
    except QhullError:  # collinear points: a line of pixels
        hull = np.unique(pts, axis=0)
    d = np.linalg.norm(hull[:, None, :] - hull[None, :, :], axis=-1)
    i, j = np.unravel_index(int(np.argmax(d)), d.shape)
    longest = float(d[i, j])
    return longest, (hull[j] - hull[i]) / longest


def perpendicular_width(region: np.ndarray, spacing: tuple[float, float], axis: np.ndarray,
                        pts: np.ndarray | None = None) -> float:
    """The longest chord inside the region perpendicular to ``axis`` (mm), as a reader draws it.

    Lines across the region, perpendicular to the axis, are sampled every quarter pixel (at most
    400 lines of 400 points), and the longest unbroken run of points inside the region is kept.
    ``pts``, when given, are the region's edge corners (``_edge_corners``).
    """
    # the extremes along and across the axis lie on edge pixels' corners
    pts = _edge_corners(region, spacing) if pts is None else pts
    if len(pts) == 0:
        return 0.0
    sp = np.asarray(spacing, dtype=float)
    perp = np.array([-axis[1], axis[0]])
    along, across = pts @ axis, pts @ perp
    step = max(float(sp.min()) / 4, float(np.ptp(along)) / 400, float(np.ptp(across)) / 400)
    ts = np.arange(along.min(), along.max() + step / 2, step)
    ss = np.arange(across.min(), across.max() + step / 2, step)
    # pixel indices of every sample point, one axis at a time, into the region padded with one empty
    # pixel on each side (which takes every index outside the picture); then flat indices
    h, w = region.shape
    padded = np.zeros((h + 2, w + 2), dtype=bool)
    padded[1:-1, 1:-1] = region
    rows = _pixel_index(ts * axis[0], ss * perp[0], float(sp[0]), h)
    rows *= w + 2  # flat index of (row + 1, column + 1), in floats (small whole numbers: exact)
    rows += _pixel_index(ts * axis[1], ss * perp[1], float(sp[1]), w)
    rows += w + 3
    flat = rows.astype(np.intp)
    inside = np.zeros((len(ts), len(ss) + 2), dtype=bool)
    inside[:, 1:-1] = padded.ravel().take(flat)
    # row by row: a run's start, then its end (every row starts and ends outside, so pairs stay in a row)
    where = np.flatnonzero(inside[:, 1:] != inside[:, :-1])
    runs = where[1::2] - where[::2]
    return float(runs.max()) * step if len(runs) else 0.0


def _pixel_index(along: np.ndarray, across: np.ndarray, spacing: float, n: int) -> np.ndarray:
    """Pixel index (-1 to ``n``: one outside each end) of the sample at each ``along + across`` position (mm).

    ``along`` (one per line) and ``across`` (one per sample) are one axis's parts of the positions;
    an index is a whole number held as a float. Outside the picture, -1 and ``n`` stand for any
    index beyond its end (the empty padding around the region).
    """
    position = np.add.outer(along, across)
    if spacing != 1.0:  # dividing by one changes nothing
        np.divide(position, spacing, out=position)
    np.floor(position, out=position)
    return np.clip(position, -1, n, out=position)


def diameters_2d(region: np.ndarray, spacing: tuple[float, float]) -> tuple[float, float]:
    """(longest diameter, longest perpendicular width) of a 2D boolean region, in mm."""
    pts = _edge_corners(region, spacing)
    longest, axis = _chord(pts)
    if longest == 0.0:
        return 0.0, 0.0
    return longest, perpendicular_width(region, spacing, axis, pts)
