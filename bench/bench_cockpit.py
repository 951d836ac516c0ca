#!/usr/bin/env python
"""The manager's cockpit on the bench data set (issue 18): dashboard with and without the daily rollups, the rollup
rebuild, the reconcile (rollups = raw tables), and the demand forecast's back-test against the seasonal-naive
baseline per store.

    .venv/bin/python bench/generate.py --reset --scale 0.01                 # the data set (quick: 1 %)
    .venv/bin/python bench/bench_cockpit.py [--database-url ...] [-n 20] [--days 365]

1. Rebuilds the rollups of the last ``--days`` days from scratch (``rollups.rollup_days``), timed.
2. Reconciles the last 35 days (recomputes from the raw tables and compares): the differences must be zero.
3. The dashboard (``selectors.dashboard``, month, current period) for one store and for the group, ``-n`` times each,
   raw tables vs rollups: p50/p95 and the number of queries; the figures of both compared.
4. The demand forecast of every store: the back-test MAE/MAPE of the model and of the seasonal-naive baseline for
   repair orders and labour hours, the method used, and the time per store.

With ``--staff-facts`` (issue 18's scorecards): first adds the staff activity the generator does not make (a time
entry on every job of the last ``--days`` + 60 days by a technician of the store, and an answered follow-up on 3 of
5 delivered orders, scores spread 3–10; idempotent, in SQL), then rebuilds the **staff facts** (per advisor,
technician, staff member and service type) of ``--days`` days from scratch, timed; reconciles them against the
raw tables (differences must be zero); times the quarter's scorecards for the group from the facts and raw, and
compares every component. ``--only-staff-facts`` skips the KPI rollups and the dashboard.

Writes bench/results/cockpit.json (``--only-staff-facts``: bench/results/cockpit_staff_facts.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_search_360 import bench_users, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def figures(data: dict) -> dict:
    out = {}
    for r in data["headline"] + [r for _t, rows in data["sections"] for r in rows]:
        out[r["kpi"].code] = (str(r["value"]), str(r["previous"]), [str(v) for _l, v in r["trend"]],
                              [(str(c["value"]), str(c["previous"])) for c in r["stores"]], str(r.get("baseline")), str(r.get("change")))
    out["profit"] = {k: str(round(v, 2)) for k, v in (data["profit"] or {}).items()}
    return out


def time_dashboard(user, store_id, n: int, use_rollups: bool) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aftersales.analytics import selectors

    times, queries, data = [], 0, None
    for _ in range(n):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            data = selectors.dashboard(user=user, store_id=store_id, kind="month", use_rollups=use_rollups)
            times.append((time.perf_counter() - started) * 1000)
        queries = len(ctx.captured_queries)
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(pct(times, 95), 1), "queries": queries,
            "figures": figures(data)}


SEED_TIME_ENTRIES = """
    INSERT INTO workshop_timeentry (store_id, job_id, technician_id, started_at, ended_at, end_reason)
    SELECT o.store_id, j.id, t.user_id, o.opened_at + interval '25 minutes' * (1 + j.id %% 3),
           o.opened_at + interval '25 minutes' * (1 + j.id %% 3) + interval '1 minute' * (30 + j.id %% 150), 'done'
    FROM workshop_repairjob j JOIN workshop_repairorder o ON o.id = j.order_id
    JOIN LATERAL (
        SELECT m.user_id FROM staff_storemembership m JOIN staff_user_groups ug ON ug.user_id = m.user_id
        JOIN auth_group g ON g.id = ug.group_id AND g.name = 'technician'
        WHERE m.store_id = o.store_id ORDER BY (m.user_id * 7919 + j.id) %% 97 LIMIT 1) t ON true
    WHERE o.opened_at >= %s AND o.status <> 'cancelled'
      AND NOT EXISTS (SELECT 1 FROM workshop_timeentry e WHERE e.job_id = j.id)
"""
SEED_FOLLOWUPS = """
    INSERT INTO feedback_followup (store_id, order_id, customer_id, vehicle_id, advisor_id, method, status, delivered_at,
        due_at, overdue_at, attempts, answered_at, score_overall, score_recommend, suggestions, note, created_at)
    SELECT o.store_id, o.id, o.customer_id, o.vehicle_id, o.advisor_id, 'call', 'answered', o.delivered_at,
           o.delivered_at + interval '1 day', o.delivered_at + interval '3 days', 1,
           o.delivered_at + interval '1 minute' * (600 + o.id %% 2000), 3 + o.id %% 8, o.id %% 11, '', '', o.delivered_at
    FROM workshop_repairorder o
    WHERE o.delivered_at >= %s AND o.status IN ('delivered', 'closed') AND o.id %% 5 < 3
      AND NOT EXISTS (SELECT 1 FROM feedback_followup f WHERE f.order_id = o.id)
"""


def staff_facts(args, now, today, stores, admin) -> dict:
    """Seed the staff activity, rebuild the staff facts of ``args.days`` days, reconcile, compare the scorecards."""
    from django.db import connection

    from aftersales.analytics import facts, scorecards
    from aftersales.analytics.kpis import Scope
    from aftersales.analytics.models import StaffDailyFact
    from aftersales.analytics.periods import Period

    since = now - dt.timedelta(days=args.days + 60)
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(SEED_TIME_ENTRIES, [since])
        entries = cur.rowcount
        cur.execute(SEED_FOLLOWUPS, [since])
        followups = cur.rowcount
        cur.execute("ANALYZE workshop_timeentry; ANALYZE feedback_followup")
    out: dict = {"seeded": {"time_entries": entries, "followups": followups, "seconds": round(time.perf_counter() - started, 1)}}
    print(f"seeded {entries} time entries, {followups} answered follow-ups", flush=True)

    StaffDailyFact.objects.all().delete()
    started = time.perf_counter()
    written = facts.write_days([today - dt.timedelta(days=i) for i in range(1, args.days + 1)], now=now, stores=stores)
    seconds = time.perf_counter() - started
    out["rebuild"] = {"days": args.days, "store_days": written, "rows": StaffDailyFact.objects.count(), "seconds": round(seconds, 1),
                      "seconds_per_day": round(seconds / args.days, 2)}
    print(f"staff facts: {written} store-days, {out['rebuild']['rows']} rows rebuilt in {out['rebuild']['seconds']} s", flush=True)

    differences: list = []
    started = time.perf_counter()
    last = today - dt.timedelta(days=1)
    missing = facts.reconcile(stores, last - dt.timedelta(days=34), last, now, differences)
    out["reconcile"] = {"days": 35, "differences": len(differences), "missing": missing, "seconds": round(time.perf_counter() - started, 1)}
    print(f"staff facts reconcile: 35 days, {len(differences)} differences, {out['reconcile']['seconds']} s", flush=True)

    quarter = Period.containing("quarter", today - dt.timedelta(days=1))
    scope = Scope(stores, quarter, now, {})
    timings: dict = {}
    cards: dict = {}
    for label, use in (("raw", False), ("facts", True)):
        started = time.perf_counter()
        result = scorecards.scorecards(scope, use_facts=use)
        timings[label] = round((time.perf_counter() - started) * 1000)
        cards[label] = {(c.user.pk, comp.code): (str(comp.actual), str(comp.numerator.quantize(dt_six())), str(comp.denominator.quantize(dt_six())))
                        for c in result for comp in c.components}
    differing = [k for k in cards["raw"] if cards["raw"][k] != cards["facts"].get(k)]
    out["scorecards"] = {"quarter": quarter.start.isoformat(), "people": len({k[0] for k in cards["raw"]}), "raw_ms": timings["raw"],
                         "facts_ms": timings["facts"], "same_figures": not differing, "differing": [list(map(str, k)) for k in differing[:20]]}
    print(f"scorecards (group, quarter): raw {timings['raw']} ms, facts {timings['facts']} ms, same figures: {not differing}")
    return out


class LoadSampler:
    """The machine's 1-minute load average, sampled every 10 s in a thread (the machine is shared)."""

    def __init__(self) -> None:
        import os
        import threading

        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import os

        while not self._stop.wait(10):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict:
        import os

        self._stop.set()
        self.samples.append(os.getloadavg()[0])
        return {"min": min(self.samples), "mean": round(statistics.mean(self.samples), 1), "max": max(self.samples)}


def rebuild(args, now, today, stores) -> dict:
    """Seed the staff activity (as --staff-facts), then time the daily rollups and the staff facts of ``--days`` days
    rebuilt from scratch, each with the load average during it."""
    from django.db import connection

    from aftersales.analytics import facts, rollups
    from aftersales.analytics.models import DailyRollup, StaffDailyFact

    since = now - dt.timedelta(days=args.days + 60)
    with connection.cursor() as cur:
        cur.execute(SEED_TIME_ENTRIES, [since])
        cur.execute(SEED_FOLLOWUPS, [since])
        cur.execute("ANALYZE workshop_timeentry; ANALYZE feedback_followup")
    days = [today - dt.timedelta(days=i) for i in range(1, args.days + 1)]
    out: dict = {"days": args.days}
    DailyRollup.objects.all().delete()
    load = LoadSampler()
    started = time.perf_counter()
    written = rollups.rollup_days(days, now=now, stores=stores)
    out["daily_rollups"] = {"store_days": written, "seconds": round(time.perf_counter() - started, 1), "load_average": load.stop()}
    print(f"daily rollups: {written} store-days in {out['daily_rollups']['seconds']} s, load {out['daily_rollups']['load_average']}", flush=True)
    StaffDailyFact.objects.all().delete()
    load = LoadSampler()
    started = time.perf_counter()
    written = facts.write_days(days, now=now, stores=stores)
    out["staff_facts"] = {"store_days": written, "rows": StaffDailyFact.objects.count(),
                          "seconds": round(time.perf_counter() - started, 1), "load_average": load.stop()}
    print(f"staff facts: {written} store-days in {out['staff_facts']['seconds']} s, load {out['staff_facts']['load_average']}", flush=True)
    out["total_seconds"] = round(out["daily_rollups"]["seconds"] + out["staff_facts"]["seconds"], 1)
    return out


def dt_six():
    from decimal import Decimal

    return Decimal("0.000001")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--period-days", type=int, default=35, help="days whose own (day) period rows are built")
    parser.add_argument("--skip-forecast", action="store_true")
    parser.add_argument("--staff-facts", action="store_true", help="seed staff activity, rebuild and check the staff facts")
    parser.add_argument("--only-staff-facts", action="store_true", help="only the staff facts (implies --staff-facts)")
    parser.add_argument("--only-rebuild", action="store_true",
                        help="seed the staff activity, then time only the rebuild of --days days of the daily rollups and "
                             "the staff facts (with the load average); writes results/cockpit_rebuild.json")
    args = parser.parse_args()
    setup_django(args.database_url)

    from django.core.cache import cache
    from django.utils import timezone

    from aftersales.analytics import forecast, rollups, selectors
    from aftersales.stores.models import Store

    _advisor, admin = bench_users()
    stores = list(Store.objects.filter(group=admin.dealer_group).order_by("id"))
    now = timezone.now()
    today = now.astimezone(stores[0].zone).date()
    result: dict = {"date": today.isoformat(), "stores": len(stores)}
    if args.only_rebuild:
        result["rebuild"] = rebuild(args, now, today, stores)
        out = ROOT / "bench" / "results" / "cockpit_rebuild.json"
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        print(f"written {out}")
        return
    if args.staff_facts or args.only_staff_facts:
        result["staff_facts"] = staff_facts(args, now, today, stores, admin)
        if args.only_staff_facts:
            out = ROOT / "bench" / "results" / "cockpit_staff_facts.json"
            out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
            print(f"written {out}")
            return

    started = time.perf_counter()
    written = rollups.rollup_days([today - dt.timedelta(days=i) for i in range(1, args.days + 1)], now=now)
    result["rebuild"] = {"days": args.days, "store_days": written, "seconds": round(time.perf_counter() - started, 1)}
    print(f"rollups: {written} store-days rebuilt in {result['rebuild']['seconds']} s", flush=True)

    started = time.perf_counter()
    days = [today - dt.timedelta(days=i) for i in range(0, args.days + 1)]
    periods = rollups.periods_of(days, ("week", "month", "quarter", "year")) + rollups.periods_of(days[:args.period_days], ("day",))
    written = rollups.rollup_periods(periods, now=now)
    result["periods"] = {"periods": len(periods), "rows": written, "seconds": round(time.perf_counter() - started, 1)}
    print(f"period rows: {len(periods)} periods, {written} rows (stores and group) in {result['periods']['seconds']} s")

    started = time.perf_counter()
    run = rollups.reconcile(now=now)
    result["reconcile"] = {"store_days": run.checked, "differences": len(run.differences), "missing": run.missing,
                           "seconds": round(time.perf_counter() - started, 1)}
    print(f"reconcile: {run.checked} store-days, {len(run.differences)} differences, {result['reconcile']['seconds']} s")

    result["dashboard"] = {}
    for label, store_id in (("store", stores[0].pk), ("group", None)):
        raw = time_dashboard(admin, store_id, args.n, use_rollups=False)
        started = time.perf_counter()
        rollups.rollup_current()  # the 5-minute task: the current periods' rows (the raw timing above took minutes)
        result["dashboard"].setdefault("current_refresh_seconds", []).append(round(time.perf_counter() - started, 1))
        rolled = time_dashboard(admin, store_id, args.n, use_rollups=True)
        raw_f, rolled_f = raw.pop("figures"), rolled.pop("figures")
        same = raw_f == rolled_f
        result["dashboard"][label] = {"raw": raw, "rollups": rolled, "same_figures": same,
                                      "differing": {k: [raw_f[k], rolled_f.get(k)] for k in raw_f if raw_f[k] != rolled_f.get(k)}}
        print(f"dashboard {label}: raw p50 {raw['p50_ms']} p95 {raw['p95_ms']} ms, {raw['queries']} queries; "
              f"rollups p50 {rolled['p50_ms']} p95 {rolled['p95_ms']} ms, {rolled['queries']} queries; same figures: {same}")

    result["forecast"] = []
    for store in ([] if args.skip_forecast else stores):
        cache.clear()
        started = time.perf_counter()
        data = selectors.demand_forecast(user=admin, store_id=store.pk, weeks=12, now=now)
        seconds = time.perf_counter() - started
        row = {"store": store.code, "seconds": round(seconds, 2)}
        for s in data["series"][:2]:
            fc: forecast.SeriesForecast = s["f"]
            row[s["name"]] = {
                "method": fc.method, "history_days": fc.history_days,
                "model_mae": round(fc.model.mae, 2) if fc.model else None,
                "model_mape": round(fc.model.mape, 1) if fc.model and fc.model.mape is not None else None,
                "baseline_mae": round(fc.baseline.mae, 2) if fc.baseline else None,
                "baseline_mape": round(fc.baseline.mape, 1) if fc.baseline and fc.baseline.mape is not None else None,
            }
        result["forecast"].append(row)
        print(f"forecast {store.code}: {row['seconds']} s orders {row['orders']} hours {row['hours']}")
    out = ROOT / "bench" / "results" / "cockpit.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
