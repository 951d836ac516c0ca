#!/usr/bin/env python
"""The daily reminder sweep over every vehicle of the bench data set (bench/generate.py) on PostgreSQL, beside the
same computation done in pandas as an analyst would (read the tables, group, merge, compute), as a ratio.

    .venv/bin/python bench/bench_reminders.py [--database-url ...] [--today YYYY-MM-DD] [--send 1000]

1. ``care_reminder``, the due-date table ``care_vehicledue`` and its state (and the outbox rows of earlier bench
   runs) are emptied, so the sweep is a first run.
2. SQL: ``aftersales.care.services.reminder_sweep(today=..., send=False)``: the due-date table for all vehicles
   (plan, readings → daily distance, last service, first-service and maintenance due dates) built in full, and one
   INSERT ... SELECT ... ON CONFLICT DO NOTHING per reminder type. Target < 60 s for 1,200,000 vehicles.
3. The same sweep again: it must create nothing (idempotent) — timed too. Then ``--touch`` vehicles are saved (a
   day's changes) and the next day is swept: the due-date table is refreshed for the vehicles that changed only,
   and compared with a full computation (they must be equal).
4. pandas: the same due dates and the same "falls due today" rules from the raw tables; the counts per type are
   compared with the SQL sweep's (they must be equal) and the times printed as a ratio.
5. Messages: ``reminders_send_pending`` for ``--send`` reminders (through ``message_enqueue_many``, 1,000 reminders
   per transaction); the rate is printed and the time for all of the day's reminders extrapolated.

Writes bench/results/reminders.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/aftersales_bench"
TARGET_S = 60.0
ZONE = "Asia/Shanghai"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ.setdefault("AFTERSALES_DATA_DIR", str(ROOT / "bench" / "data"))
    os.environ.setdefault("AFTERSALES_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def read(sql: str, params=None):
    import pandas as pd
    from django.db import connection

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas prefers SQLAlchemy; a DBAPI connection is what an analyst has at hand
        return pd.read_sql_query(sql, connection.connection, params=params)


def pandas_sweep(today: dt.date) -> tuple[dict[str, int], dict[str, float]]:
    """The sweep's due dates and today's reminders, computed in pandas from the raw tables."""
    import numpy as np
    import pandas as pd

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    vehicles = read("SELECT id, owner_id, selling_store_id, make, model, purchase_date, current_mileage, created_at, "
                    "insurance_expiry, warranty_end FROM vehicles_vehicle")
    customers = read("SELECT id, home_store_id, anonymised_at, birthday FROM customers_customer")
    readings = read("SELECT vehicle_id, km, read_at FROM vehicles_mileagereading WHERE NOT is_correction")
    orders = read("SELECT id, vehicle_id, opened_at, mileage_in, status FROM workshop_repairorder")
    jobs = read("SELECT order_id, job_type, status FROM workshop_repairjob")
    settings = read("SELECT store_id, default_daily_km, first_service_lead_days, maintenance_lead_days, "
                    "inspection_lead_days, warranty_lead_days FROM care_caresettings")
    times["read"] = time.perf_counter() - t0
    t1 = time.perf_counter()

    def local_date(s):
        return pd.to_datetime(s, utc=True).dt.tz_convert(ZONE).dt.tz_localize(None).dt.normalize()

    day = pd.Timestamp(today)
    v = vehicles.merge(customers[["id", "home_store_id", "anonymised_at"]].rename(columns={"id": "owner_id"}), on="owner_id")
    v = v[v["anonymised_at"].isna()].copy()
    v["store_id"] = v["selling_store_id"].fillna(v["home_store_id"]).astype("int64")
    v = v.merge(settings, on="store_id", how="inner")
    for col in ("purchase_date", "insurance_expiry", "warranty_end"):
        v[col] = pd.to_datetime(v[col])
    r = readings.groupby("vehicle_id").agg(n=("km", "size"), t0=("read_at", "min"), t1=("read_at", "max"),
                                           k0=("km", "min"), k1=("km", "max"))
    maint_orders = jobs.loc[(jobs["job_type"] == "maintenance") & (jobs["status"] != "declined"), "order_id"].unique()
    done = orders[orders["status"].isin(["delivered", "closed"]) & orders["id"].isin(maint_orders)]
    s = done.groupby("vehicle_id").agg(at=("opened_at", "max"), km=("mileage_in", "max"))
    v = v.merge(r, left_on="id", right_index=True, how="left").merge(s, left_on="id", right_index=True, how="left")
    span = (pd.to_datetime(v["t1"], utc=True) - pd.to_datetime(v["t0"], utc=True)).dt.total_seconds() / 86400
    rate = np.where((v["n"] >= 2) & (span >= 1) & (v["k1"] > v["k0"]), (v["k1"] - v["k0"]) / span, v["default_daily_km"])
    base_date = local_date(v["t1"]).fillna(v["purchase_date"]).fillna(local_date(v["created_at"]))
    base_km = v["k1"].fillna(v["current_mileage"])

    def date_at_km(km):
        return base_date + pd.to_timedelta(np.trunc((km - base_km) / rate), unit="D")

    svc = local_date(v["at"])
    # built-in plan (the bench has no maintenance plans): first service 3 months / 5,000 km, then 6 months / 10,000 km
    first_time = v["purchase_date"] + pd.DateOffset(months=3)
    fs_pending = v["purchase_date"].notna() & (svc.isna() | (svc < v["purchase_date"]))
    fs_due = pd.Series(np.minimum(first_time.values, date_at_km(5000).fillna(first_time).values), index=v.index).where(fs_pending)
    elapsed = (pd.to_datetime(v["t1"], utc=True).fillna(pd.to_datetime(v["at"], utc=True))
               - pd.to_datetime(v["at"], utc=True)).dt.total_seconds() / 86400
    svc_km = v["km"].fillna(base_km - np.trunc(elapsed * rate))
    next_time = svc + pd.DateOffset(months=6)
    mt_ok = v["at"].notna() & (v["purchase_date"].isna() | (svc >= v["purchase_date"]))
    mt_due = pd.Series(np.minimum(next_time.values, date_at_km(svc_km + 10000).fillna(next_time).values), index=v.index).where(mt_ok)
    grace = day - pd.Timedelta(days=30)
    lead = pd.to_timedelta(v["first_service_lead_days"], unit="D")
    counts = {
        "first_service": int(((fs_due - lead <= day) & (fs_due >= grace)).sum()),
        "maintenance": int(((mt_due - pd.to_timedelta(v["maintenance_lead_days"], unit="D") <= day) & (mt_due >= grace)).sum()),
    }
    ins = v["insurance_expiry"]
    counts["insurance"] = int(((ins - pd.Timedelta(days=30) <= day) & (ins - pd.Timedelta(days=8) >= day)).sum()
                              + ((ins - pd.Timedelta(days=7) <= day) & (ins >= day)).sum())
    wty = v["warranty_end"]
    counts["warranty"] = int(((wty - pd.to_timedelta(v["warranty_lead_days"], unit="D") <= day) & (wty >= day)).sum())
    p = v[v["purchase_date"].notna()]
    inspection = anniversary = 0
    for k in (0, 1):
        years = today.year + k - p["purchase_date"].dt.year
        y, m, d = p["purchase_date"].dt.year + years, p["purchase_date"].dt.month, p["purchase_date"].dt.day
        leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
        d = d.where(~((m == 2) & (d == 29) & ~leap), 28)
        due = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": d}))
        lead_i = pd.to_timedelta(p["inspection_lead_days"], unit="D")
        inspection += int(((years >= 1) & ((years % 2 == 0) | (years > 10)) & (due - lead_i <= day) & (due >= day)).sum())
        anniversary += int(((years >= 1) & (due == day)).sum())
    counts["inspection"], counts["anniversary"] = inspection, anniversary
    c = customers[customers["anonymised_at"].isna() & customers["birthday"].notna() & customers["home_store_id"].isin(settings["store_id"])]
    counts["birthday"] = int((pd.to_datetime(c["birthday"]).dt.month == today.month).sum())
    times["compute"] = time.perf_counter() - t1
    times["total"] = time.perf_counter() - t0
    return counts, times


def refresh_matches_rebuild(today: dt.date) -> bool:
    """The due-date table as the incremental refresh left it, compared row by row with a full computation."""
    import zoneinfo

    from django.db import connection, transaction

    from aftersales.care import sweep

    cols = ", ".join(sweep.DUE_COLUMNS)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL jit = off")
        cur.execute(f"SET LOCAL work_mem = '{sweep.DUE_WORK_MEM}'")
        cur.execute(f"CREATE TEMP TABLE bench_due AS SELECT {cols} FROM care_vehicledue WHERE false")
        for zone, ids in sweep.zones().items():
            select, params = sweep.due_select(sweep.Dialect(connection.vendor, zoneinfo.ZoneInfo(zone), today), ids)
            cur.execute(f"INSERT INTO bench_due SELECT {cols} FROM ({select}) x", params)
        cur.execute(f"SELECT (SELECT COUNT(*) FROM (SELECT {cols} FROM care_vehicledue EXCEPT ALL SELECT {cols} FROM bench_due) a)"
                    f" + (SELECT COUNT(*) FROM (SELECT {cols} FROM bench_due EXCEPT ALL SELECT {cols} FROM care_vehicledue) b)")
        differ = cur.fetchone()[0]
        cur.execute("DROP TABLE bench_due")
    return differ == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--send", type=int, default=1000, help="reminders whose messages are queued and timed")
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--sql-only", action="store_true", help="only the SQL sweep (first, second, next day)")
    parser.add_argument("--touch", type=int, default=2000, help="vehicles saved between the second run and the next day")
    parser.add_argument("--no-check", action="store_true", help="skip comparing the refreshed due-date table with a rebuild")
    args = parser.parse_args()
    setup_django(args.database_url)
    from django.db import connection
    from django.utils import timezone

    from aftersales.care.services import reminder_sweep, reminders_send_pending
    from aftersales.vehicles.models import Vehicle

    today = args.today or timezone.localdate()
    n_vehicles = Vehicle.objects.count()
    load_start = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was
    print(f"reminder sweep bench: {n_vehicles:,} vehicles, today = {today}, db = {args.database_url}, load {load_start}", flush=True)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM care_reminderevent")
        cur.execute("DELETE FROM care_reminder")
        cur.execute("DELETE FROM care_duetablestate")  # no due-date table yet: the first run builds it
        cur.execute("TRUNCATE care_vehicledue")
        cur.execute("DELETE FROM messaging_message WHERE dedup_key LIKE 'care-reminder:%%'")
    first = reminder_sweep(today=today, send=False)
    second = reminder_sweep(today=today, send=False)
    if args.touch:  # a day's changes: these vehicles were saved since (their due dates are computed again)
        with connection.cursor() as cur:
            cur.execute("UPDATE vehicles_vehicle SET updated_at = now() WHERE mod(id, %s) = 0", [max(1, n_vehicles // args.touch)])
    tomorrow = reminder_sweep(today=today + dt.timedelta(days=1), send=False)
    sql_counts = {str(k): v for k, v in first.created.items() if v or str(k) != "holiday"}
    print(f"SQL sweep, first run : {first.seconds_compute:7.1f} s  {first.total_created:,} reminders  "
          f"(target < {TARGET_S:.0f} s: {'ok' if first.seconds_compute < TARGET_S else 'MISSED'})")
    print(f"SQL sweep, second run: {second.seconds_compute:7.1f} s  {second.total_created:,} new reminders (must be 0)")
    print(f"SQL sweep, next day  : {tomorrow.seconds_compute:7.1f} s  {tomorrow.total_created:,} new reminders (the steady daily run)")
    print(f"   due dates computed: first run {first.vehicles:,} (rebuilt: {first.rebuilt}), second run {second.vehicles:,}, "
          f"next day {tomorrow.vehicles:,} (rebuilt: {tomorrow.rebuilt})")
    print("   seconds per statement (first run): " + ", ".join(f"{k} {v:.1f}" for k, v in first.timings.items()))
    print("   seconds per statement (next day) : " + ", ".join(f"{k} {v:.1f}" for k, v in tomorrow.timings.items()))
    for kind, n in sorted(sql_counts.items()):
        print(f"   {kind:<14} {n:>9,}")
    result = {
        "date": dt.date.today().isoformat(), "today": today.isoformat(), "vehicles": n_vehicles,
        "sql_seconds": round(first.seconds_compute, 2), "sql_second_run_seconds": round(second.seconds_compute, 2),
        "second_run_created": second.total_created, "created": sql_counts, "target_seconds": TARGET_S,
        "next_day_seconds": round(tomorrow.seconds_compute, 2), "next_day_created": tomorrow.total_created,
        "timings_first": {k: round(v, 2) for k, v in first.timings.items()},
        "timings_next_day": {k: round(v, 2) for k, v in tomorrow.timings.items()},
        "due_computed": {"first": first.vehicles, "second": second.vehicles, "next_day": tomorrow.vehicles,
                         "next_day_touched": args.touch},
        "load_average_1min_at_start_and_after_sql": [load_start, round(os.getloadavg()[0], 2)],
    }
    if not args.no_check:
        t = time.perf_counter()
        same_table = refresh_matches_rebuild(today + dt.timedelta(days=1))
        print(f"due-date table after the next day's refresh = a full rebuild: {same_table} ({time.perf_counter() - t:.1f} s to check)")
        result["refresh_matches_rebuild"] = same_table
    if args.sql_only:
        return
    if not args.no_pandas:
        pd_counts, pd_times = pandas_sweep(today)
        same = all(pd_counts.get(k, 0) == sql_counts.get(k, 0) for k in set(pd_counts) | set(sql_counts) if k not in ("holiday", "declined"))
        ratio = pd_times["total"] / first.seconds_compute
        print(f"pandas               : {pd_times['total']:7.1f} s  (read {pd_times['read']:.1f} s + compute {pd_times['compute']:.1f} s)")
        print(f"pandas / SQL         : {ratio:7.2f}x   counts per type identical: {same}")
        if not same:
            for k in sorted(set(pd_counts) | set(sql_counts)):
                print(f"   {k:<14} sql {sql_counts.get(k, 0):>9,}  pandas {pd_counts.get(k, 0):>9,}")
        result.update({"pandas_seconds": round(pd_times["total"], 2), "pandas_read_seconds": round(pd_times["read"], 2),
                       "pandas_compute_seconds": round(pd_times["compute"], 2), "ratio_pandas_over_sql": round(ratio, 2),
                       "pandas_counts": pd_counts, "counts_identical": same})
    if args.send:
        t = time.perf_counter()
        sent = reminders_send_pending(since=today - dt.timedelta(days=30), limit=args.send)
        secs = time.perf_counter() - t
        rate = sent / secs if secs else 0.0
        total = tomorrow.total_created
        print(f"messages             : {sent:,} queued in {secs:.1f} s = {rate:,.0f}/s; a steady day's {total:,} "
              f"would take ~{total / rate if rate else 0:.0f} s (message_enqueue_many, 1,000 reminders per transaction)")
        result.update({"messages_timed": sent, "messages_seconds": round(secs, 2), "messages_per_second": round(rate, 1)})
    out = ROOT / "bench" / "results" / "reminders.json"
    if out.exists():  # the figures measured before the change, kept beside the new ones
        earlier = json.loads(out.read_text())
        result.update({key: earlier[key] for key in ("before_note", "before", "before_rerun") if key in earlier})
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
