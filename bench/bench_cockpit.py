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

Writes bench/results/cockpit.json.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--period-days", type=int, default=35, help="days whose own (day) period rows are built")
    parser.add_argument("--skip-forecast", action="store_true")
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
