#!/usr/bin/env python
"""Rescue: the crews' position posts against the dispatcher's board (issue 20: "the crew's position updates at one
per 10 s from 200 units sustained without slowing the dispatcher's board"), at small scale by default.

Sets up a fresh database (SQLite in ``bench/data/rescue_positions`` unless ``DATABASE_URL`` is set): one store with
its rescue base, ``--units`` tow trucks each with its own crew member, each dispatched to its own case and on its
way. Then, for ``--seconds``, each unit's crew posts its position through the crew's phone page (``POST
/rescue/crew/<case>/`` action=position, the request the phone's script sends; the ETA is recomputed and the slip
check runs) in turn, as fast as one process can (the figure is the sustained rate of a single server process);
every ``--board-every`` posts the dispatcher's board (``GET /rescue/``, htmx part) is rendered. Reports posts per
second, p50/p95/max of a post, and the board's p50/p95 under the stream vs. the board alone before it.

    .venv/bin/python bench/bench_rescue_positions.py                      # 20 units, 20 s
    .venv/bin/python bench/bench_rescue_positions.py --units 200 --seconds 60 --json bench/results/rescue_positions.json

``--processes N`` (N ≥ 1) runs the real load instead of "as fast as one process can": N forked processes (as N
server workers would) share the units, each unit posting at ``--every`` seconds (10: the issue's rate) on its own
schedule, while the main process renders the board once a second. Reports the posts achieved vs due, how late the
posts fell behind their schedule, post p50/p95, and the board's p50/p95 during the stream vs. alone (PostgreSQL: the
processes need their own connections; SQLite would serialise the writers on one file lock).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--board-every", type=int, default=20, help="render the board after this many posts")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--processes", type=int, default=0, help="paced mode: N processes share the units")
    parser.add_argument("--every", type=float, default=10.0, help="paced mode: seconds between one unit's posts")
    args = parser.parse_args()

    data_dir = ROOT / "bench" / "data" / "rescue_positions"
    if not os.environ.get("DATABASE_URL"):
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AFTERSALES_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ.setdefault("AFTERSALES_EVENTS_INLINE", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    from aftersales.common.tests.factories import (
        CustomerFactory,
        DealerGroupFactory,
        StoreFactory,
        VehicleFactory,
        make_staff,
    )
    from aftersales.rescue import services
    from aftersales.rescue.choices import Capability, UnitKind
    from aftersales.staff.roles import sync_roles

    sync_roles()
    rng = random.Random(args.seed)
    base = (22.5431, 114.0579)
    group = DealerGroupFactory(name="Bench Motors")
    store = StoreFactory(group=group, code="bench", name="Bench store")
    manager = make_staff("store_manager", store)
    dispatcher = make_staff("service_advisor", store)
    services.area_save(actor=manager, store=store, base_lat=base[0], base_lng=base[1], speed_kmh=30, hotline="4008001234")
    jobs = []
    t_setup = time.perf_counter()
    for i in range(args.units):
        crew = make_staff("technician", store, first_name=f"C{i}")
        unit = services.unit_save(actor=manager, store=store, name=f"T{i:03d}", kind=UnitKind.TOW_TRUCK,
                                  capabilities=[Capability.FLATBED], crew=[crew],
                                  lat=base[0] + rng.uniform(-0.1, 0.1), lng=base[1] + rng.uniform(-0.1, 0.1))
        owner = CustomerFactory(home_store=store)
        car = VehicleFactory(owner=owner)
        case = services.case_create(actor=dispatcher, store=store, incident="accident", vehicle=car,
                                    lat=round(base[0] + rng.uniform(-0.15, 0.15), 6), lng=round(base[1] + rng.uniform(-0.15, 0.15), 6))
        case = services.case_dispatch(actor=dispatcher, case=case, unit=unit)
        case = services.case_crew_accept(actor=crew, case=case)
        client = Client()
        client.force_login(crew)
        jobs.append((client, case, [float(unit.lat), float(unit.lng)]))
    setup_s = time.perf_counter() - t_setup

    desk = Client()
    desk.force_login(dispatcher)
    board_url = f"/rescue/?store={store.pk}"

    def board() -> float:
        t0 = time.perf_counter()
        response = desk.get(board_url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.status_code
        return (time.perf_counter() - t0) * 1000

    for _ in range(3):
        board()  # warm up
    board_alone = [board() for _ in range(20)]

    if args.processes > 0:
        return paced(args, jobs, board, board_alone, settings)

    post_ms: list[float] = []
    board_loaded: list[float] = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < args.seconds:
        client, case, pos = jobs[i % len(jobs)]
        target = (float(case.lat), float(case.lng))
        pos[0] += (target[0] - pos[0]) * 0.05  # drive towards the car
        pos[1] += (target[1] - pos[1]) * 0.05
        t0 = time.perf_counter()
        response = client.post(f"/rescue/crew/{case.pk}/", {"action": "position", "lat": f"{pos[0]:.6f}", "lng": f"{pos[1]:.6f}"},
                               HTTP_HX_REQUEST="true")
        post_ms.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 204, (response.status_code, response.content[:300])
        i += 1
        if i % args.board_every == 0:
            board_loaded.append(board())
    elapsed = time.perf_counter() - start - sum(board_loaded) / 1000
    rate = len(post_ms) / elapsed
    needed = args.units / 10.0  # one post per unit every 10 s
    result = {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1], "units": args.units,
        "seconds": args.seconds, "setup_seconds": round(setup_s, 1), "posts": len(post_ms),
        "posts_per_second": round(rate, 1), "needed_per_second_at_1_per_10s": needed,
        "units_one_process_can_carry_at_1_per_10s": int(rate * 10),
        "post_ms": {"p50": round(statistics.median(post_ms), 1), "p95": round(pct(post_ms, 95), 1), "max": round(max(post_ms), 1)},
        "board_alone_ms": {"p50": round(statistics.median(board_alone), 1), "p95": round(pct(board_alone, 95), 1)},
        "board_under_posts_ms": {"p50": round(statistics.median(board_loaded), 1) if board_loaded else None,
                                 "p95": round(pct(board_loaded, 95), 1) if board_loaded else None, "n": len(board_loaded)},
    }
    print(json.dumps(result, indent=2))
    print(f"{rate:.1f} position posts/s from one process (needed {needed:.1f}/s for {args.units} units at one per 10 s); "
          f"post p95 {result['post_ms']['p95']} ms; board p95 {result['board_alone_ms']['p95']} ms alone, "
          f"{result['board_under_posts_ms']['p95']} ms under the stream")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def paced(args, jobs, board, board_alone, settings) -> int:
    """N forked processes post every unit's position each ``--every`` s; the board is rendered once a second."""
    import multiprocessing as mp

    from django.db import connections

    connections.close_all()  # each process opens its own connection after the fork
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 2.0

    def worker(k: int) -> None:
        connections.close_all()
        mine = [(j, job) for j, job in enumerate(jobs) if j % args.processes == k]
        schedule = [(start_at + args.every * j / len(jobs), j, job) for j, job in mine]  # spread over the period
        posts, late, failed = [], [], 0
        while schedule:
            schedule.sort(key=lambda row: row[0])
            due, j, (client, case, pos) = schedule.pop(0)
            if due - start_at >= args.seconds:
                continue
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            late.append(max(0.0, time.time() - due) * 1000)
            target = (float(case.lat), float(case.lng))
            pos[0] += (target[0] - pos[0]) * 0.05
            pos[1] += (target[1] - pos[1]) * 0.05
            t0 = time.perf_counter()
            response = client.post(f"/rescue/crew/{case.pk}/", {"action": "position", "lat": f"{pos[0]:.6f}",
                                                                 "lng": f"{pos[1]:.6f}"}, HTTP_HX_REQUEST="true")
            posts.append((time.perf_counter() - t0) * 1000)
            failed += response.status_code != 204
            schedule.append((due + args.every, j, (client, case, pos)))
        queue.put((posts, late, failed, time.time()))
        connections.close_all()

    procs = [ctx.Process(target=worker, args=(k,)) for k in range(args.processes)]
    for proc in procs:
        proc.start()
    while time.time() < start_at:
        time.sleep(0.05)
    board_loaded: list[float] = []
    while time.time() < start_at + args.seconds:
        t0 = time.time()
        board_loaded.append(board())
        time.sleep(max(0.0, 1.0 - (time.time() - t0)))
    post_ms: list[float] = []
    late_ms: list[float] = []
    failed = 0
    finished = start_at
    for _proc in procs:
        posts, late, bad, done_at = queue.get()
        post_ms += posts
        late_ms += late
        failed += bad
        finished = max(finished, done_at)
    took = max(args.seconds, finished - start_at)  # behind schedule, the last due post is sent after the window
    for proc in procs:
        proc.join()
    due = int(args.seconds / args.every * len(jobs))
    result = {
        "mode": "paced", "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1], "units": len(jobs),
        "processes": args.processes, "every_seconds": args.every, "seconds": args.seconds,
        "posts_due": due, "posts_done": len(post_ms), "posts_failed": failed,
        "stream_seconds": round(took, 1), "posts_per_second": round(len(post_ms) / took, 1),
        "post_ms": {"p50": round(statistics.median(post_ms), 1), "p95": round(pct(post_ms, 95), 1), "max": round(max(post_ms), 1)},
        "late_ms": {"p50": round(statistics.median(late_ms), 1), "p95": round(pct(late_ms, 95), 1), "max": round(max(late_ms), 1)},
        "board_alone_ms": {"p50": round(statistics.median(board_alone), 1), "p95": round(pct(board_alone, 95), 1)},
        "board_under_posts_ms": {"p50": round(statistics.median(board_loaded), 1), "p95": round(pct(board_loaded, 95), 1),
                                 "n": len(board_loaded)},
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
