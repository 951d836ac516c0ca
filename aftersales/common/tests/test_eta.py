"""The shared ETA helper: great-circle × detour ÷ speed, on floats and on arrays."""

import datetime as dt

import numpy as np

from aftersales.common import eta


def test_great_circle_and_travel_time():
    # Guangzhou Tianhe to Baiyun airport: about 26 km as the crow flies
    km = float(eta.great_circle_km(23.13, 113.33, 23.39, 113.30))
    assert 28 < km < 30
    assert float(eta.travel_minutes(30.0, detour=1.5, speed_kmh=45)) == 60.0
    grid = eta.great_circle_km(np.array([[23.1], [23.2]]), np.array([[113.3], [113.3]]), np.array([[23.1, 23.2]]),
                               np.array([[113.3, 113.3]]))
    assert grid.shape == (2, 2) and grid[0, 0] == 0 and abs(grid[0, 1] - grid[1, 0]) < 1e-9


def test_arrival_whole_minutes():
    start = dt.datetime(2026, 12, 7, 9, 0, 30, tzinfo=dt.UTC)
    assert eta.whole_minutes(0.2) == 1 and eta.whole_minutes(0) == 0
    when = eta.arrival(start, 23.13, 113.33, 23.13, 113.43, detour=1.0, speed_kmh=60)  # ~10.2 km at 60 km/h
    assert when == dt.datetime(2026, 12, 7, 9, 11, tzinfo=dt.UTC)
