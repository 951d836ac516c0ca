#!/usr/bin/env python
"""Pickup route plan: a busy store's day — 60 pickups with one-hour windows from 08:30 to 17:00 over a 30 × 30 km
city around the store, 8 drivers on staggered shifts (08:00-16:30, 09:30-18:00) — planned with OR-Tools' routing
solver through the product's own ``mobility.routing.plan_routes`` (the same call ``selectors.route_plan`` makes).

Reports the wall time of a plan (the solver's time limit included), how many trips fit, the driving minutes, and
checks every arrival lies inside its window and its driver's shift.

    .venv/bin/python bench/bench_route_plan.py                # 5 days, 2 s search each
    .venv/bin/python bench/bench_route_plan.py -n 10 --seconds 1 --json bench/results/route_plan.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
os.environ.setdefault("AFTERSALES_DATA_DIR", str(ROOT / "bench" / "data"))
DEPOT = (23.13, 113.33)


def day(rng: random.Random, trips: int, drivers: int) -> tuple[list, list]:
    from aftersales.mobility.routing import Shift, Visit

    visits = []
    for n in range(trips):
        start = rng.randrange(8 * 60 + 30, 16 * 60, 30)
        visits.append(Visit(n, DEPOT[0] + rng.uniform(-0.135, 0.135), DEPOT[1] + rng.uniform(-0.147, 0.147), start, start + 60))
    shifts = [Shift(k, 8 * 60, 16 * 60 + 30) if k % 2 == 0 else Shift(k, 9 * 60 + 30, 18 * 60) for k in range(drivers)]
    return visits, shifts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="days to plan")
    parser.add_argument("--trips", type=int, default=60)
    parser.add_argument("--drivers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0, help="the solver's search time per plan")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    import django

    django.setup()
    from aftersales.mobility.routing import HANDOVER_MINUTES, plan_routes

    rng = random.Random(22)
    walls, fitted, drive = [], [], []
    for _ in range(args.n):
        visits, shifts = day(rng, args.trips, args.drivers)
        t0 = time.perf_counter()
        plan = plan_routes(DEPOT, visits, shifts, seconds=args.seconds)
        walls.append(time.perf_counter() - t0)
        by_key = {v.key: v for v in visits}
        for driver, stops in plan.routes.items():
            shift = shifts[driver]
            for key, at in stops:
                v = by_key[key]
                assert v.earliest <= at <= v.latest, (key, at)
                assert shift.start <= at and at + HANDOVER_MINUTES <= shift.end, (key, at)
        fitted.append(args.trips - len(plan.unplanned))
        drive.append(plan.total_minutes)
    figures = {
        "days": args.n, "trips_per_day": args.trips, "drivers": args.drivers, "search_seconds": args.seconds,
        "wall_s_median": round(statistics.median(walls), 3), "wall_s_max": round(max(walls), 3),
        "trips_planned_min": min(fitted), "trips_planned_median": statistics.median(fitted),
        "drive_minutes_median": statistics.median(drive),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
