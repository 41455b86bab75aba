"""The two in-plane diameters of a 2D region, as RANO and RECIST readers draw them.

The longest diameter is the widest pair of the region's pixel corners: only the vertices of their
convex hull can be its ends, and each is the leftmost or rightmost corner of its row of corners, so
only those two corners of each row are compared (no hull is built). The perpendicular
diameter is the longest unbroken chord inside the region perpendicular to it, found by sampling
lines across the region (see ``perpendicular_width``).
"""

from __future__ import annotations

import math

import numpy as np


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


def _edge_corners(region: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """The physical corners of the region's edge pixels: where every extreme of the region lies."""
    return _corners(edge_pixels(region), spacing)


def longest_chord(region: np.ndarray, spacing: tuple[float, float]) -> tuple[float, np.ndarray]:
    """(longest diameter in mm, its unit direction) of a 2D boolean region: the widest pair of its pixel corners.

    Only the leftmost and rightmost corner of each row of corners are compared (see
    ``row_end_corners``). Where several pairs are exactly the longest (common on a pixel grid), the
    axis is that of the first pair in the order of ``_widest_pair``, the same whatever other corners
    are compared, so the perpendicular diameter does not depend on how the candidates were chosen.

    The longest diameter is that of the earlier convex-hull (Qhull) measurement. The perpendicular
    one can differ from it where several longest chords tie (this rule picks the axis), and where
    the hull measurement drew the same axis the other way round (its direction followed Qhull's
    vertex order): the perpendicular's sample lines start at the axis's lower end, so reversing the
    axis shifts them by part of a step.
    """
    return _chord(row_end_corners(region), spacing)


def row_end_corners(region: np.ndarray) -> np.ndarray:
    """Corner indices (row, column), sorted, of the leftmost and rightmost corner of each row of corners.

    Every vertex of the convex hull of the region's pixel corners is one of them: the leftmost
    corner of a row of corners is a left corner of the leftmost pixel of one of the two pixel rows
    it touches, the rightmost a right corner of the rightmost pixel (two candidates a row).
    """
    region = np.asarray(region, dtype=bool)
    h, w = region.shape
    filled = region.any(axis=1)
    left = np.where(filled, np.argmax(region, axis=1), w + 1)  # w + 1, -1: an empty row
    right = np.where(filled, w - np.argmax(region[:, ::-1], axis=1), -1)  # one past the rightmost pixel
    lo, hi = np.full(h + 1, w + 1), np.full(h + 1, -1)
    lo[:-1], hi[:-1] = left, right  # corner row k touches pixel rows k - 1 and k
    np.minimum(lo[1:], left, out=lo[1:])
    np.maximum(hi[1:], right, out=hi[1:])
    rows = np.flatnonzero(hi >= 0)
    pts = np.empty((2 * len(rows), 2), dtype=np.intp)
    pts[:, 0] = np.repeat(rows, 2)
    pts[0::2, 1], pts[1::2, 1] = lo[rows], hi[rows]  # left < right: sorted by row, then column
    return pts


def _chord(corners: np.ndarray, spacing: tuple[float, float]) -> tuple[float, np.ndarray]:
    """(length, unit direction) of the widest pair of ``corners`` (sorted unique corner indices)."""
    if len(corners) == 0:
        return 0.0, np.array([1.0, 0.0])
    pts = corners * np.asarray(spacing, dtype=float)
    i, j, squared = _widest_pair(pts)
    longest = math.sqrt(squared)
    if longest == 0.0:
        return 0.0, np.array([1.0, 0.0])
    return longest, (pts[j] - pts[i]) / longest


#: Pairs compared at once (rows of candidates times candidates) in ``_widest_pair``.
_BLOCK = 4_000_000


def _widest_pair(pts: np.ndarray) -> tuple[int, int, float]:
    """(i, j, squared distance) of the first pair i < j, in row-major order, among those farthest apart.

    A pair's squared distance is ``(dy * dy) + (dx * dx)`` of its coordinate differences, a
    function of the pair alone, so which pairs tie does not depend on the other points. Many points
    are compared a block of rows at a time.
    """
    n = len(pts)
    step = max(1, _BLOCK // n)
    best, bi, bj = -1.0, 0, 0
    for start in range(0, n, step):
        block = pts[start:start + step]
        dy = block[:, None, 0] - pts[None, :, 0]
        dx = block[:, None, 1] - pts[None, :, 1]
        dy *= dy
        dx *= dx
        dy += dx
        k = int(np.argmax(dy))
        if dy.flat[k] > best:  # strictly: an earlier block's pair wins a tie
            best, (bi, bj) = float(dy.flat[k]), divmod(k, n)
            bi += start
    return bi, bj, best


def perpendicular_width(region: np.ndarray, spacing: tuple[float, float], axis: np.ndarray,
                        pts: np.ndarray | None = None) -> float:
    """The longest chord inside the region perpendicular to ``axis`` (mm), as a reader draws it.

    Lines across the region, perpendicular to the axis, are sampled every quarter pixel (at most
    400 lines of 400 points), and the longest unbroken run of points inside the region is kept.
    The lines and their points lie symmetrically about the middle of the region's extent along and
    across the axis (``centred_samples``), so the axis drawn either way round gives the same points
    and the same figure. ``pts``, when given, are the region's edge corners (``_edge_corners``).
    """
    # the extremes along and across the axis lie on edge pixels' corners
    pts = _edge_corners(region, spacing) if pts is None else pts
    if len(pts) == 0:
        return 0.0
    sp = np.asarray(spacing, dtype=float)
    perp = np.array([-axis[1], axis[0]])
    along, across = pts @ axis, pts @ perp
    step = max(float(sp.min()) / 4, float(np.ptp(along)) / 400, float(np.ptp(across)) / 400)
    ts, ss = centred_samples(along, step), centred_samples(across, step)
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
    starts, ends = where[::2], where[1::2]
    runs = ends - starts
    if not len(runs):
        return 0.0
    # a run of k samples spans between k - 1 and k + 1 steps: only runs one sample short of the most
    # can hold the longest chord; each is measured to where its line crosses the region's edge
    keep = runs >= runs.max() - 1
    per_line = len(ss) + 1
    lines, first, last = starts[keep] // per_line, starts[keep] % per_line, ends[keep] % per_line - 1
    # both ends of every candidate at once: forward from its last sample, back from its first
    t = np.concatenate([ts[lines], ts[lines]])
    s = np.concatenate([ss[last], ss[first]])
    sign = np.repeat([1.0, -1.0], len(lines))
    reach = _edge_distances(padded, sp, axis, perp, step, t, s, sign)
    n = len(lines)
    return float(((s[:n] + reach[:n]) - (s[n:] - reach[n:])).max())


def _edge_distances(padded: np.ndarray, spacing: np.ndarray, axis: np.ndarray, perp: np.ndarray, step: float,
                    t: np.ndarray, s: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Distance (mm) from each inside sample ``t * axis + s * perp`` to the region's edge along ``sign * perp``.

    The line is followed cell by cell (the next pixel edge of either axis first, both at a corner)
    until it enters a pixel outside the region (``padded``: the region with an empty pixel around
    it). The sample's pixel is found exactly as the samples' are, and the same point walked the same
    way gives the same distance whichever way the axis was drawn. The next sample along the line is
    outside, so the edge comes within ``step``.
    """
    cells, nexts, deltas, ahead = [], [], [], []
    for k in (0, 1):
        position = t * axis[k] + s * perp[k]
        index = np.floor(position / spacing[k]) if spacing[k] != 1.0 else np.floor(position)
        cells.append(index.astype(np.intp) + 1)  # in the padded region
        d = sign * perp[k]
        forward = d > 0
        crosses = d != 0  # a line along the other axis meets no edge of this one
        towards = np.where(crosses, d, 1.0)
        nexts.append(np.where(crosses, ((index + forward) * spacing[k] - position) / towards, np.inf))
        deltas.append(np.where(crosses, spacing[k] / np.abs(towards), np.inf))
        ahead.append(np.where(forward, 1, -1))
    out = np.full(len(t), step)
    pending = np.arange(len(t))
    while len(pending):  # each round crosses one edge (two at a corner): a few rounds at most
        crossing = np.minimum(nexts[0], nexts[1])
        row_move, col_move = nexts[0] <= crossing, nexts[1] <= crossing
        cells[0] += ahead[0] * row_move
        cells[1] += ahead[1] * col_move
        left = ~padded[cells[0], cells[1]] | (crossing >= step)  # the latter only by rounding
        out[pending[left]] = np.minimum(crossing[left], step)
        stay = ~left
        pending = pending[stay]
        nexts = [np.where(row_move, nexts[0] + deltas[0], nexts[0])[stay],
                 np.where(col_move, nexts[1] + deltas[1], nexts[1])[stay]]
        cells, deltas, ahead = [c[stay] for c in cells], [d[stay] for d in deltas], [a[stay] for a in ahead]
    return out


def centred_samples(values: np.ndarray, step: float) -> np.ndarray:
    """Positions ``step`` apart across the range of ``values``, symmetric about its middle.

    They reach to within half a step of each end. For ``-values`` they are exactly the negated
    positions (the middle negates exactly, and so do the whole multiples of ``step`` about it).
    """
    low, high = float(values.min()), float(values.max())
    half = int(np.floor((high - low) / 2 / step + 0.5))
    return (low + high) / 2 + np.arange(-half, half + 1) * step


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
    longest, axis = longest_chord(region, spacing)
    if longest == 0.0:
        return 0.0, 0.0
    return longest, perpendicular_width(region, spacing, axis)
