"""Damage outlines on a photo, as fractions of the photo (0…1, x to the right, y down); pure, no database.

Two shapes: a rectangle ``{"x", "y", "w", "h"}`` (what the drag tool draws; stored as it always was) and a polygon
``{"points": [[x, y], …]}`` (tapped point by point, or returned by a model). A finding's own ``outline`` is a bare
list of points (the polygon form). A polygon is checked: 3–64 points, every point inside the photo, a real area, and
no edge crossing another (a bow-tie or a folded line outlines nothing); the closing point may repeat the first.
"""

from __future__ import annotations

import math
from typing import Any

MAX_POINTS = 64
MIN_AREA = 0.0001  # a hundredth of a per cent of the photo: anything smaller is a slip of the finger
PLACES = 4


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_cross(p1: tuple[float, float], p2: tuple[float, float], q1: tuple[float, float], q2: tuple[float, float]) -> bool:
    """Do the closed segments p1–p2 and q1–q2 meet (touching counts)?"""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True

    def on(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float], d: float) -> bool:
        return d == 0 and min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    return on(q1, q2, p1, d1) or on(q1, q2, p2, d2) or on(p1, p2, q1, d3) or on(p1, p2, q2, d4)


def polygon_problem(raw: Any) -> tuple[list[list[float]] | None, str]:
    """``(points, "")`` for a good polygon (rounded, without a repeated closing point), else ``(None, why)`` with
    ``why`` one of: "unreadable", "points", "outside", "degenerate"."""
    if not isinstance(raw, list | tuple):
        return None, "unreadable"
    points: list[tuple[float, float]] = []
    outside = False
    for item in raw:
        if not isinstance(item, list | tuple) or len(item) != 2 or any(isinstance(v, bool) for v in item):
            return None, "unreadable"
        try:
            x, y = float(item[0]), float(item[1])
        except (TypeError, ValueError):
            return None, "unreadable"
        if not (math.isfinite(x) and math.isfinite(y)):
            return None, "unreadable"
        if not (0 <= x <= 1 and 0 <= y <= 1):
            outside = True
        points.append((round(x, PLACES), round(y, PLACES)))
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()  # closed by repeating the first point
    if not 3 <= len(points) <= MAX_POINTS:
        return None, "points"
    if outside:
        return None, "outside"
    n = len(points)
    if any(points[i] == points[(i + 1) % n] for i in range(n)):
        return None, "degenerate"
    area = abs(sum(points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1] for i in range(n))) / 2
    if area < MIN_AREA:
        return None, "degenerate"
    for i in range(n):
        a1, a2 = points[i], points[(i + 1) % n]
        for j in range(i + 1, n):
            if j == i or (j + 1) % n == i or j == (i + 1) % n:
                continue  # neighbouring edges share a corner
            if _segments_cross(a1, a2, points[j], points[(j + 1) % n]):
                return None, "degenerate"
    return [[x, y] for x, y in points], ""


def rect_points(shape: dict[str, Any]) -> list[list[float]]:
    """A stored rectangle's four corners (clockwise from the top left)."""
    x, y, w, h = (float(shape[k]) for k in ("x", "y", "w", "h"))
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def shape_points(shape: Any) -> list[list[float]]:
    """Any stored shape (a rectangle, a polygon, or a finding's bare list of points) as its corners; [] when unreadable."""
    try:
        if isinstance(shape, dict) and "points" in shape:
            return [[float(x), float(y)] for x, y in shape["points"]]
        if isinstance(shape, dict):
            return rect_points(shape)
        if isinstance(shape, list):
            return [[float(x), float(y)] for x, y in shape]
    except (KeyError, TypeError, ValueError):
        pass
    return []
