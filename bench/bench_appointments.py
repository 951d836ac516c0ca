#!/usr/bin/env python
"""Appointment availability for a 30-day view, and booking throughput with 4 threads, on PostgreSQL.

Builds (``--reset``: drop, create, migrate) one store: opening periods Mon-Fri 08:30-18:00 + evening 18:00-21:00,
Sat/Sun 09:00-17:00, one closed public holiday in the window; 20 bays (2 priority lane), 40 technicians with
skills and early/late/weekend shifts, 8 service advisors, 4 service types (30/60/90/120 minutes, different
skills), and 2,000 bookings over the next 30 days, allocated with the app's own ``DayPlan.allocate`` (so they are
consistent with capacity: no overlap per bay, technician or advisor) and written with ``bulk_create``.

Then measures, as the brief of issue 4 asks ("availability for a 30-day window ... p95 under 100 ms"):

    window     availability.free_slots_window(store, tomorrow, 30, service_type, advisor)     p95 < 100 ms
    API view   30 x GET /api/appointments/availability?date=...  (what a client needs for 30 days today: the
               endpoint answers one day; reported per request and per 30-request view)
    booking    4 threads book concurrently through services.appointment_book (locks, allocation, messages,
               audit); bookings/s, slot_taken conflicts, and a SQL overlap check: 0 double bookings

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aftersales_appt_bench .venv/bin/python bench/bench_appointments.py --reset
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_appt_bench"
WINDOW_TARGET_MS = 100.0
DAYS = 30
SERVICE_TYPES = [  # code, name, kind, minutes, skill, share of the existing bookings
    ("inspect", "检测", "inspection", 30, "", 0.35),
    ("maint", "保养", "maintenance", 60, "maintenance", 0.40),
    ("engine", "发动机维修", "repair", 90, "engine", 0.15),
    ("ev", "三电检修", "repair", 120, "ev", 0.10),
]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    return s[max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))]  # nearest rank


def reset_database(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ.setdefault("AFTERSALES_DATA_DIR", str(ROOT / "bench" / "data"))
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    import django

    django.setup()


# ---- data set ------------------------------------------------------------------------------------------------------
def build(rng: random.Random, bookings: int) -> dict:
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from aftersales.appointments.availability import Capacity
    from aftersales.appointments.models import Appointment, Bay, ServiceType, TechnicianShift
    from aftersales.common.tests.factories import make_vin
    from aftersales.common.validators import mobile_digits
    from aftersales.customers.models import Customer, CustomerStore
    from aftersales.staff.models import StoreMembership, User
    from aftersales.staff.roles import Role
    from aftersales.stores.models import DealerGroup, Holiday, OpeningPeriod, SlotKind, Store
    from aftersales.vehicles.models import Vehicle

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    t_migrate = time.perf_counter() - t0
    t0 = time.perf_counter()
    with transaction.atomic():
        group = DealerGroup.objects.create(name="预约基准集团")
        store = Store.objects.create(group=group, code="appt", name="天河预约基准店", address="天河路 1 号")
        periods = []
        for wd in range(5):
            periods.append(OpeningPeriod(store=store, weekday=wd, opens=dt.time(8, 30), closes=dt.time(18, 0)))
            periods.append(OpeningPeriod(store=store, weekday=wd, opens=dt.time(18, 0), closes=dt.time(21, 0), kind=SlotKind.EVENING))
        for wd in (5, 6):
            periods.append(OpeningPeriod(store=store, weekday=wd, opens=dt.time(9, 0), closes=dt.time(17, 0), kind=SlotKind.WEEKEND))
        OpeningPeriod.objects.bulk_create(periods)
        first_day = timezone.localdate(timezone.now(), store.zone) + dt.timedelta(days=1)
        holiday = next(first_day + dt.timedelta(days=i) for i in range(10, DAYS) if (first_day + dt.timedelta(days=i)).weekday() < 5)
        Holiday.objects.create(store=store, date=holiday, name="公共假日")
        Bay.objects.bulk_create([Bay(store=store, name=f"B{i + 1:02d}") for i in range(18)]
                                + [Bay(store=store, name=f"P{i + 1}", is_priority=True) for i in range(2)])
        advisors_group = Group.objects.get(name=Role.SERVICE_ADVISOR)
        tech_group = Group.objects.get(name=Role.TECHNICIAN)
        advisors = User.objects.bulk_create([
            User(username=f"appt-adv{i + 1}", display_name=f"顾问{i + 1}", dealer_group=group, password="!") for i in range(8)
        ])
        skill_sets = [["maintenance"], ["maintenance", "engine"], ["maintenance", "ev"], ["engine", "electrical"],
                      ["maintenance", "tyres"], ["ev", "electrical"], ["body", "paint"], ["maintenance", "engine", "ev"]]
        techs = User.objects.bulk_create([
            User(username=f"appt-tech{i + 1}", display_name=f"技师{i + 1}", dealer_group=group, password="!",
                 skills=skill_sets[i % len(skill_sets)]) for i in range(40)
        ])
        StoreMembership.objects.bulk_create([StoreMembership(user=u, store=store, is_primary=True) for u in advisors + techs])
        advisors_group.user_set.add(*advisors)
        tech_group.user_set.add(*techs)
        shifts = []
        for i, tech in enumerate(techs):
            early = i % 2 == 0  # half 08:00-17:00, half 12:00-21:00; 3 of 4 also work one weekend day
            for wd in range(5):
                shifts.append(TechnicianShift(user=tech, store=store, weekday=wd, start=dt.time(8, 0) if early else dt.time(12, 0),
                                              end=dt.time(17, 0) if early else dt.time(21, 0)))
            if i % 4 != 3:
                shifts.append(TechnicianShift(user=tech, store=store, weekday=5 + i % 2, start=dt.time(9, 0), end=dt.time(17, 0)))
        TechnicianShift.objects.bulk_create(shifts)
        kinds = ServiceType.objects.bulk_create([
            ServiceType(store=store, code=c, name_zh=n, name_en=c, kind=k, duration_minutes=m, required_skill=s)
            for c, n, k, m, s, _w in SERVICE_TYPES
        ])
        customers = Customer.objects.bulk_create([
            Customer(group=group, home_store=store, name=f"客户{i}", mobile=f"+86139{i:08d}", mobile_digits=mobile_digits(f"+86139{i:08d}"))
            for i in range(bookings + 400)
        ])
        CustomerStore.objects.bulk_create([CustomerStore(customer=c, store=store) for c in customers])
        vehicles = Vehicle.objects.bulk_create([
            Vehicle(group=group, owner=c, vin=make_vin(rng), plate=f"粤A{i:05d}", make="Toyota", model="Camry")
            for i, c in enumerate(customers)
        ])
    t_setup = time.perf_counter() - t0

    # the existing bookings: the app's allocator on plans that share their busy lists across the 4 service types
    t0 = time.perf_counter()
    caps = {k.pk: Capacity(store, first_day, DAYS, skill=k.required_skill) for k in kinds}
    for day in caps[kinds[0].pk].plans:
        shared = ({}, {}, {})
        for cap in caps.values():
            plan = cap.plans[day]
            plan.busy_bay, plan.busy_tech, plan.busy_adv = shared
    open_days = [d for d, p in caps[kinds[0].pk].plans.items() if p.periods]
    weights = [w for *_x, w in SERVICE_TYPES]
    rows, failed = [], 0
    while len(rows) < bookings and failed < bookings * 20:
        kind = rng.choices(kinds, weights)[0]
        plan = caps[kind.pk].plans[rng.choice(open_days)]
        p_start, p_end = rng.choice(plan.periods)
        length = kind.duration_minutes * 60
        slots = (p_end - p_start - length) // 900
        if slots < 0:
            failed += 1
            continue
        s = p_start + rng.randint(0, slots) * 900
        priority = rng.random() < 0.05
        alloc = plan.allocate(s, s + length, priority=priority)
        if alloc is None:
            failed += 1
            continue
        plan.busy_bay.setdefault(alloc.bay_id, []).append((s, s + length))
        plan.busy_tech.setdefault(alloc.technician_id, []).append((s, s + length))
        plan.busy_adv.setdefault(alloc.advisor_id, []).append((s, s + length))
        i = len(rows)
        rows.append(Appointment(
            store=store, customer=customers[i], vehicle=vehicles[i], service_type=kind, advisor_id=alloc.advisor_id,
            technician_id=alloc.technician_id, bay_id=alloc.bay_id, priority=priority,
            start=dt.datetime.fromtimestamp(s, tz=dt.UTC), end=dt.datetime.fromtimestamp(s + length, tz=dt.UTC),
        ))
    Appointment.objects.bulk_create(rows, batch_size=500)
    t_book = time.perf_counter() - t0
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"data: migrate {t_migrate:.1f} s, store/staff/customers {t_setup:.1f} s, {len(rows)} bookings allocated "
          f"and inserted in {t_book:.1f} s ({failed} random tries refused by the allocator); window {first_day} + {DAYS} days, "
          f"holiday {holiday}")
    return {"bookings": len(rows), "first_day": first_day.isoformat(), "holiday": holiday.isoformat()}


# ---- measurements -------------------------------------------------------------------------------------------------
def timed(call):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        t = time.perf_counter()
        result = call()
        ms = (time.perf_counter() - t) * 1000
    return ms, len(ctx.captured_queries), result


def row(case: str, times: list[float], queries: list[int], target: float | None, extra: str = "") -> dict:
    return {"case": case, "n": len(times), "p50_ms": round(pct(times, 50), 1), "p95_ms": round(pct(times, 95), 1),
            "max_ms": round(max(times), 1), "queries_min": min(queries), "queries_max": max(queries),
            "target_p95_ms": target, "ok": None if target is None else pct(times, 95) < target, "note": extra}


def bench_availability(n: int, rng: random.Random, api_views: int) -> list[dict]:
    from django.test import Client
    from django.utils import timezone

    from aftersales.appointments.availability import free_slots_window, store_advisor_ids
    from aftersales.appointments.models import ServiceType
    from aftersales.staff.models import User
    from aftersales.stores.models import Store

    store = Store.objects.get(code="appt")
    kinds = list(ServiceType.objects.filter(store=store).order_by("duration_minutes"))
    advisors = store_advisor_ids(store)
    first_day = timezone.localdate(timezone.now(), store.zone) + dt.timedelta(days=1)
    cases = [(rng.choice(kinds), rng.choice([None, None, *advisors])) for _ in range(n)]
    out = []
    for kind, adv in cases[:5]:  # warm-up
        free_slots_window(store, first_day, DAYS, kind, adv)
    times, queries, slots = [], [], []
    for kind, adv in cases:
        ms, q, result = timed(lambda k=kind, a=adv: free_slots_window(store, first_day, DAYS, k, a))
        times.append(ms)
        queries.append(q)
        slots.append(sum(len(v) for v in result.values()))
    out.append(row("free_slots_window(30 days)", times, queries, WINDOW_TARGET_MS,
                   f"{min(slots)}-{max(slots)} free starts per window"))
    for label, pick in (("  without advisor", lambda a: a is None), ("  with advisor", lambda a: a is not None)):
        idx = [i for i, (_k, a) in enumerate(cases) if pick(a)]
        if len(idx) > 1:
            out.append(row(label, [times[i] for i in idx], [queries[i] for i in idx], WINDOW_TARGET_MS))
    for kind in kinds:
        idx = [i for i, (k, _a) in enumerate(cases) if k.pk == kind.pk]
        if len(idx) > 1:
            out.append(row(f"  {kind.code} ({kind.duration_minutes} min)", [times[i] for i in idx],
                           [queries[i] for i in idx], WINDOW_TARGET_MS))

    # the API: one day per request, so a 30-day view is 30 requests
    user = User.objects.get(username="appt-adv1")
    client = Client()
    client.force_login(user)
    url = "/api/appointments/availability"
    per_req, per_req_q, per_view, per_view_q, statuses = [], [], [], [], {}
    for v, (kind, adv) in enumerate(cases[: api_views + 2]):
        view_ms, view_q = 0.0, 0
        for d in range(DAYS):
            params = {"date": (first_day + dt.timedelta(days=d)).isoformat(), "service_type_id": kind.pk}
            if adv:
                params["advisor_id"] = adv
            ms, q, resp = timed(lambda p=params: client.get(url, p))
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            if v >= 2:  # the first 2 views are warm-up
                per_req.append(ms)
                per_req_q.append(q)
                view_ms += ms
                view_q += q
        if v >= 2:
            per_view.append(view_ms)
            per_view_q.append(view_q)
    if per_view:
        out.append(row("API GET availability (1 day)", per_req, per_req_q, None, f"statuses {statuses}"))
        out.append(row("API 30-day view (30 GETs)", per_view, per_view_q, WINDOW_TARGET_MS))
    # what a calendar does since: one request for the 30 days (GET /api/appointments/availability/window)
    win, win_q, win_statuses = [], [], {}
    for v, (kind, adv) in enumerate(cases[: max(api_views, 30) + 2]):
        params = {"date": first_day.isoformat(), "days": DAYS, "service_type_id": kind.pk}
        if adv:
            params["advisor_id"] = adv
        ms, q, resp = timed(lambda p=params: client.get(url + "/window", p))
        win_statuses[resp.status_code] = win_statuses.get(resp.status_code, 0) + 1
        if v >= 2:
            win.append(ms)
            win_q.append(q)
    out.append(row("API 30-day window (1 GET)", win, win_q, WINDOW_TARGET_MS, f"statuses {win_statuses}"))
    return out


def bench_booking(threads: int, per_thread: int, rng: random.Random) -> dict:
    from django.db import close_old_connections, connection
    from django.utils import timezone

    from aftersales.appointments.availability import free_slots_window
    from aftersales.appointments.models import Appointment, ServiceType
    from aftersales.appointments.services import appointment_book
    from aftersales.common.errors import Conflict, ValidationFailed
    from aftersales.customers.models import Customer
    from aftersales.staff.models import User
    from aftersales.stores.models import Store

    store = Store.objects.get(code="appt")
    kinds = list(ServiceType.objects.filter(store=store))
    first_day = timezone.localdate(timezone.now(), store.zone) + dt.timedelta(days=1)
    # candidates: free starts of the first 3 open days, so the threads compete for the same capacity
    pool: list[tuple[int, dt.datetime]] = []
    for kind in kinds:
        window = free_slots_window(store, first_day, 7, kind)
        open_days = [d for d in sorted(window) if window[d]][:3]
        pool += [(kind.pk, s) for d in open_days for s in window[d]]
    used = set(Appointment.objects.values_list("customer_id", flat=True))
    free_customers = [(c.pk, c.vehicles.first().pk) for c in Customer.objects.filter(home_store=store).exclude(pk__in=used)
                      .prefetch_related("vehicles").order_by("id")[: threads * per_thread]]
    plans = [[(*rng.choice(pool), *free_customers[t * per_thread + i]) for i in range(per_thread)] for t in range(threads)]
    result: dict = {"ok": 0, "conflict": 0, "invalid": 0, "errors": [], "codes": {}}
    lock = threading.Lock()
    barrier = threading.Barrier(threads)
    advisor_pks = list(User.objects.filter(username__startswith="appt-adv").values_list("pk", flat=True))

    def run(t: int) -> None:
        try:
            actor = User.objects.get(pk=advisor_pks[t % len(advisor_pks)])
            store_t = Store.objects.get(pk=store.pk)
            barrier.wait(timeout=60)
            for kind_id, start, customer_id, vehicle_id in plans[t]:
                try:
                    appointment_book(actor=actor, store=store_t, service_type=kind_id, start=start,
                                     customer=customer_id, vehicle=vehicle_id, channel="portal")
                    key = "ok"
                    code = ""
                except (Conflict, ValidationFailed) as exc:
                    key = "conflict" if exc.code == "slot_taken" else "invalid"
                    code = exc.code
                with lock:
                    result[key] += 1
                    if key == "invalid":
                        result["codes"][code] = result["codes"].get(code, 0) + 1
        except BaseException as exc:  # reported
            with lock:
                result["errors"].append(repr(exc))
        finally:
            connection.close()

    before = Appointment.objects.count()
    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    close_old_connections()
    created = Appointment.objects.count() - before
    overlaps = {}
    with connection.cursor() as cur:
        for col in ("bay_id", "technician_id", "advisor_id"):
            cur.execute(f"""SELECT count(*) FROM appointments_appointment a JOIN appointments_appointment b
                            ON a.{col} = b.{col} AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
                            WHERE a.status IN ('booked', 'arrived') AND b.status IN ('booked', 'arrived')""")
            overlaps[col.removesuffix("_id")] = cur.fetchone()[0]
    attempts = threads * per_thread
    return {"threads": threads, "attempts": attempts, "booked": result["ok"], "created_rows": created,
            "conflicts": result["conflict"], "other_refusals": result["invalid"], "refusal_codes": result["codes"], "errors": result["errors"][:5],
            "seconds": round(elapsed, 2), "bookings_per_s": round(result["ok"] / elapsed, 1),
            "attempts_per_s": round(attempts / elapsed, 1), "overlaps": overlaps,
            "total_bookings": Appointment.objects.filter(status__in=("booked", "arrived")).count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--reset", action="store_true", help="drop, create and migrate the database, build the data")
    parser.add_argument("-n", type=int, default=100, help="availability requests (default 100)")
    parser.add_argument("--api-views", type=int, default=30, help="30-day views through the API (default 30)")
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--per-thread", type=int, default=50)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", action="store_true", help="cProfile one free_slots_window call")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "appointments.json"))
    args = parser.parse_args()
    if args.reset:
        reset_database(args.database_url)
    setup_django(args.database_url)
    rng = random.Random(args.seed)
    data = build(rng, args.bookings) if args.reset else {}

    rows = bench_availability(args.n, rng, args.api_views)
    print(f"\n{'case':<32} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'target p95':>11}  result")
    for r in rows:
        q = f"{r['queries_min']}" if r["queries_min"] == r["queries_max"] else f"{r['queries_min']}-{r['queries_max']}"
        target = f"< {int(r['target_p95_ms'])} ms" if r["target_p95_ms"] else "-"
        verdict = "-" if r["ok"] is None else ("ok" if r["ok"] else "MISSED")
        print(f"{r['case']:<32} {r['n']:>5} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} {q:>8} "
              f"{target:>11}  {verdict} {r['note']}")
    if args.profile:
        import cProfile
        import pstats

        from django.utils import timezone

        from aftersales.appointments.availability import free_slots_window
        from aftersales.appointments.models import ServiceType
        from aftersales.stores.models import Store

        store = Store.objects.get(code="appt")
        kind = ServiceType.objects.get(store=store, code="maint")
        day = timezone.localdate(timezone.now(), store.zone) + dt.timedelta(days=1)
        prof = cProfile.Profile()
        prof.runcall(free_slots_window, store, day, DAYS, kind)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(15)

    booking = bench_booking(args.threads, args.per_thread, rng) if args.threads else {}
    if booking:
        ok = all(v == 0 for v in booking["overlaps"].values()) and not booking["errors"]
        print(f"\nbooking, {booking['threads']} threads x {args.per_thread} attempts (services.appointment_book, "
              f"starts drawn from the free starts of the first 3 open days): {booking['booked']} booked, "
              f"{booking['conflicts']} slot_taken, {booking['other_refusals']} other refusals {booking['refusal_codes']}, errors {booking['errors']}, "
              f"in {booking['seconds']} s = {booking['bookings_per_s']} bookings/s ({booking['attempts_per_s']} attempts/s); "
              f"overlaps per bay/technician/advisor {booking['overlaps']} -> {'ok: no double booking' if ok else 'FAILED'}; "
              f"{booking['total_bookings']} holding bookings now")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "data": data,
                                           "availability": rows, "booking": booking}, indent=1, ensure_ascii=False))
    print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
